//! Typed target errors, each with a hint a user can act on.

use probe_rs::architecture::arm::{ArmError, DapError};
use probe_rs::probe::stlink::StlinkError;
use probe_rs::probe::DebugProbeError;

/// What went wrong talking to the chip.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no debug probe found")]
    NoProbe,
    #[error("cannot open probe `{selector}`: {message}")]
    ProbeOpen { selector: String, message: String },
    #[error("invalid probe selector `{0}`")]
    BadSelector(String),
    #[error("the probe stopped answering: {0}")]
    ProbeLost(String),
    #[error("the debug port does not answer: {0}")]
    DebugPort(String),
    /// The probe's firmware cannot do what was asked (old ST-LINK firmware).
    #[error("{what}: the probe's firmware is too old (probe-rs needs {needed} or later)")]
    ProbeFirmware {
        what: String,
        needed: String,
        /// What h7sh still found out through the ports the firmware reaches.
        finding: Option<String>,
    },
    /// The probe cannot do this at all (e.g. raw SWJ sequences on an ST-LINK).
    #[error("{what} is not supported by this probe")]
    ProbeUnsupported { what: String },
    #[error("AP{ap} access at {addr:#010x} failed: {message}")]
    Access { ap: u8, addr: u64, message: String },
    /// An access through AP0/AP1/AP3 failed while the probe reads NRST low.
    #[error("AP{ap} access at {addr:#010x} failed: NRST is low, the chip is in reset and its AXI/AHB answers no debugger")]
    InReset { ap: u8, addr: u64 },
    #[error("AP3 (Cortex-M4) is unreachable: {cause}")]
    Ap3Unreachable { cause: String, hint: String },
    #[error("AP{0} does not exist on this chip (0 CM7, 1 D3, 2 APB-D, 3 CM4)")]
    NoSuchAp(u8),
    #[error("AP{0} has no Cortex-M core behind it")]
    NoCore(u8),
    #[error("the core on AP{0} is not halted")]
    NotHalted(u8),
    #[error("timed out: {0}")]
    Timeout(String),
    /// `wait`: the condition did not hold in time (not a core that failed to answer).
    #[error("timed out: {0}")]
    ConditionTimeout(String),
    #[error("unknown core register `{0}`")]
    UnknownCoreRegister(String),
    #[error("unknown chip `{0}`")]
    UnknownChip(String),
    #[error("AP{ap} is an APB-AP: it makes 32-bit accesses only, not {bits}-bit")]
    ApWidth { ap: u8, bits: u32 },
    #[error("address {addr:#x} is not aligned to {size} bytes")]
    Unaligned { addr: u64, size: u32 },
}

impl TargetError {
    /// A short machine-readable category (the `kind` of a JSON error).
    pub fn kind(&self) -> &'static str {
        match self {
            TargetError::NoProbe | TargetError::ProbeOpen { .. } | TargetError::BadSelector(_) => {
                "probe"
            }
            TargetError::ProbeLost(_) => "probe-lost",
            TargetError::DebugPort(_) => "debug-port",
            TargetError::ProbeFirmware { .. } => "probe-firmware",
            TargetError::ProbeUnsupported { .. } => "probe-unsupported",
            TargetError::Access { .. } | TargetError::InReset { .. } => "access",
            TargetError::Ap3Unreachable { .. } => "ap3-unreachable",
            TargetError::NoSuchAp(_) | TargetError::NoCore(_) => "ap",
            TargetError::NotHalted(_) => "not-halted",
            TargetError::Timeout(_) | TargetError::ConditionTimeout(_) => "timeout",
            TargetError::UnknownCoreRegister(_) => "unknown-name",
            TargetError::UnknownChip(_) => "chip",
            TargetError::Unaligned { .. } | TargetError::ApWidth { .. } => "bad-value",
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            TargetError::NoProbe => {
                "plug in an ST-LINK/CMSIS-DAP/J-Link probe, check `h7sh --list-probes`, \
                 or try the virtual board: `h7sh --sim`"
                    .into()
            }
            TargetError::ProbeOpen { .. } => {
                "check the cable and permissions (udev rules), list probes with \
                 `h7sh --list-probes`, or use `h7sh --sim`"
                    .into()
            }
            TargetError::BadSelector(_) => {
                "a selector is VID:PID or VID:PID:SERIAL in hex, e.g. 0483:374e".into()
            }
            TargetError::ProbeLost(_) => {
                "check the USB cable and the board's power, then start h7sh again; \
                 nothing was written after the failure"
                    .into()
            }
            TargetError::DebugPort(_) => {
                "check the SWD wiring and target power, then `reconnect`; try \
                 --connect-under-reset. If the board is powered and even that gets no answer: \
                 firmware whose PWR_CR3 supply configuration (SMPS/LDO) does not match the board \
                 locks the STM32H7 up at boot and silences its debug port until a power cycle; \
                 set BOOT0 = 1 (the bootloader leaves PWR_CR3 alone; virtual board: \
                 --sim-boot0), power-cycle, connect, erase the flash (`ob set RDP` cannot; \
                 OPTCR.MER can), BOOT0 = 0. If RDP level 2 was programmed the debug port is \
                 disabled for good"
                    .into()
            }
            TargetError::ProbeFirmware {
                needed, finding, ..
            } => {
                let update = format!(
                    "update the ST-LINK firmware to {needed} or later (STM32CubeProgrammer: \
                     Firmware upgrade, or ST's STSW-LINK007 updater)"
                );
                match finding {
                    Some(f) => format!("{update}; meanwhile, through AP0: {f}"),
                    None => update,
                }
            }
            TargetError::ProbeUnsupported { .. } => {
                "use a CMSIS-DAP or J-Link probe for this, or the virtual board".into()
            }
            TargetError::Access { ap, addr, .. } => {
                let (flash, size) = crate::h7::facts::boot_state::BOOT_FLASH;
                if (flash..flash + size).contains(addr) {
                    "flash reads fault under RDP level 1 (`doctor` checks it); flash is written \
                     only through the FLASH interface (unlock, PG, 256-bit words), never by a \
                     plain bus write"
                        .into()
                } else {
                    let reset = if *ap == 2 {
                        ""
                    } else {
                        "; while NRST is held low the whole AXI/AHB faults (the cores' debug \
                         registers and AP2 still answer)"
                    };
                    format!(
                        "the address is unmapped, protected or not clocked in the view of \
                         AP{ap} (a peripheral whose RCC clock enable is 0 faults){reset}; `find` \
                         gives register addresses"
                    )
                }
            }
            TargetError::InReset { .. } => {
                "something holds NRST low (the reset button, a probe's reset line, a supervisor): \
                 release it (`sim nrst release` on the virtual board); meanwhile the cores' debug \
                 registers (`status`) and AP2 (`ap 2`, DBGMCU at 0xE00E1000) still answer"
                    .into()
            }
            TargetError::Ap3Unreachable { hint, .. } => hint.clone(),
            TargetError::NoSuchAp(_) => {
                "use `ap 0` (CM7), `ap 1` (D3), `ap 2` (APB-D) or `ap 3` (CM4)".into()
            }
            TargetError::NoCore(_) => {
                "select a core first: `core cm7` (AP0) or `core cm4` (AP3)".into()
            }
            TargetError::NotHalted(_) => "halt the core first: `halt`".into(),
            TargetError::Timeout(_) => {
                "the core may be in reset, in low power or locked up: see `status`".into()
            }
            TargetError::ConditionTimeout(_) => {
                "nothing changed it in time: wait longer with `timeout MS`, or check what should \
                 change it (`status` shows whether the cores run; `doctor` checks the boot state)"
                    .into()
            }
            TargetError::UnknownCoreRegister(_) => {
                "core registers: r0-r12, sp, lr, pc, xpsr, msp, psp, control, primask, basepri, \
                 faultmask, fpscr, s0-s31, d0-d15"
                    .into()
            }
            TargetError::UnknownChip(_) => {
                "dual-core parts: STM32H745ZITx, STM32H747XIHx, STM32H755ZITx, \
                 STM32H757XIHx (probe-rs target names)"
                    .into()
            }
            TargetError::ApWidth { .. } => {
                "read or write whole words through AP2 (`/w`), or reach the same register \
                 through AP0 (`core cm7`) where byte and halfword accesses exist"
                    .into()
            }
            TargetError::Unaligned { size, .. } => {
                format!(
                    "use an address that is a multiple of {size}, or a smaller size suffix (/b)"
                )
            }
        }
    }
}

/// The error and every cause under it, joined: probe-rs's outer messages alone ("An error which
/// is specific to the debug probe in use occurred") say nothing a user can act on.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cur = e.source();
    }
    text
}

/// Firmware versions probe-rs needs for an ST-LINK feature, by the number it reports.
fn stlink_version(min: u8) -> String {
    format!("V2J{min}")
}

/// A probe error outside any memory access (pins, attach).
pub(crate) fn probe_error(err: DebugProbeError) -> TargetError {
    classify_probe(0, 0, err)
}

/// Classifies a probe error of an access through `ap` at `addr`, per probe driver: probe-rs
/// wraps every ST-LINK failure as `ProbeSpecific(StlinkError)`, faults and WAIT included; only
/// a failing USB link is a lost probe.
fn classify_probe(ap: u8, addr: u64, err: DebugProbeError) -> TargetError {
    let stlink = match &err {
        DebugProbeError::ProbeSpecific(inner) => inner.downcast_ref::<StlinkError>(),
        DebugProbeError::CommandNotSupportedByProbe { command_name } => {
            return TargetError::ProbeUnsupported {
                what: format!("`{command_name}`"),
            }
        }
        _ => None,
    };
    let Some(st) = stlink else {
        if let DebugProbeError::ProbeSpecific(inner) = &err {
            if let Some(e) = bmp_remote_error(ap, addr, &inner.to_string()) {
                return e;
            }
        }
        return TargetError::ProbeLost(chain(&err));
    };
    match st {
        StlinkError::CommandFailed(status) => {
            // `Status` is private to probe-rs; its Debug name is the ST-LINK status.
            let name = format!("{status:?}");
            if name.contains("Fault") {
                TargetError::Access {
                    ap,
                    addr,
                    message: format!(
                        "the bus access faulted (ST-LINK status {name}: unmapped, protected or \
                         unclocked)"
                    ),
                }
            } else if name.contains("Wait") {
                TargetError::Access {
                    ap,
                    addr,
                    message: format!(
                        "the access port kept answering WAIT (ST-LINK status {name}, 13 tries over \
                         about 0.8 s)"
                    ),
                }
            } else if name.starts_with("SwdDp") || name.contains("Idcode") {
                TargetError::DebugPort(format!(
                    "no valid answer on the wire during an AP{ap} access (ST-LINK status {name})"
                ))
            } else {
                TargetError::Access {
                    ap,
                    addr,
                    message: format!("the ST-LINK reported {name}"),
                }
            }
        }
        StlinkError::ProbeFirmwareOutdated(min) => TargetError::ProbeFirmware {
            what: format!(
                "the ST-LINK cannot reach AP{ap} (probe-rs opens AP0 only on this firmware)"
            ),
            needed: stlink_version(*min),
            finding: None,
        },
        StlinkError::BanksNotAllowedOnDPRegister => TargetError::ProbeFirmware {
            what: "the ST-LINK cannot read banked DP registers".into(),
            needed: "V2J32".into(),
            finding: None,
        },
        StlinkError::UnalignedAddress => TargetError::Unaligned { addr, size: 4 },
        _ => TargetError::ProbeLost(chain(&err)),
    }
}

/// A Black Magic Probe's answer to an ADIv5 request, as probe-rs 0.32 reports it (its
/// `RemoteError` is private; its text is `Remote error with result {:016x}`): BMP firmware
/// (`remote.c`) answers `REMOTE_ERROR_FAULT` (3) with the SWD ACK in bits 8-15 (FAULT 4, WAIT
/// 2, no answer 7) for a failed access, `REMOTE_ERROR_EXCEPTION` (4) for an invalid ACK. None
/// for anything else (a USB failure stays a lost probe).
fn bmp_remote_error(ap: u8, addr: u64, text: &str) -> Option<TargetError> {
    let code = u64::from_str_radix(text.strip_prefix("Remote error with result ")?, 16).ok()?;
    let ack = (code >> 8) & 0xFF;
    Some(match (code & 0xFF, ack) {
        (3, 4) => TargetError::Access {
            ap,
            addr,
            message: "the bus access faulted (Black Magic Probe: FAULT ACK; unmapped, \
                      protected or unclocked)"
                .into(),
        },
        (3, 2) => TargetError::Access {
            ap,
            addr,
            message: "the access port kept answering WAIT (Black Magic Probe)".into(),
        },
        (3, 7) => TargetError::DebugPort(format!(
            "no answer on the wire during an AP{ap} access (Black Magic Probe: no ACK)"
        )),
        (4, _) => TargetError::DebugPort(format!(
            "no valid answer on the wire during an AP{ap} access (Black Magic Probe exception \
             {ack})"
        )),
        _ => return None,
    })
}

/// What a failed attach says: the ST-LINK's status by name (probe-rs's text for it is generic),
/// else probe-rs's chain of causes.
pub(crate) fn attach_failure(err: &probe_rs::Error) -> String {
    if let probe_rs::Error::Probe(DebugProbeError::ProbeSpecific(inner)) = err {
        if let Some(StlinkError::CommandFailed(status)) = inner.downcast_ref::<StlinkError>() {
            return format!(
                "the ST-LINK could not connect to the debug port (ST-LINK status {status:?})"
            );
        }
    }
    chain(err)
}

/// Classifies a probe-rs error of an access through `ap` at `addr`.
pub(crate) fn classify(ap: u8, addr: u64, err: ArmError) -> TargetError {
    match err {
        ArmError::Probe(e) => classify_probe(ap, addr, e),
        ArmError::ApDoesNotExist(_) => TargetError::NoSuchAp(ap),
        ArmError::Dap(DapError::NoAcknowledge) | ArmError::Dap(DapError::Protocol(_)) => {
            TargetError::DebugPort(format!("no answer on the wire during an AP{ap} access"))
        }
        ArmError::DebugPort(e) => TargetError::DebugPort(e.to_string()),
        ArmError::MemoryNotAligned(_) => TargetError::Unaligned { addr, size: 4 },
        other => TargetError::Access {
            ap,
            addr,
            message: describe_arm_error(&other),
        },
    }
}

/// A readable one-liner for a probe-rs ARM error: its innermost cause, which is what happened on
/// the wire (probe-rs's outer layers only repeat which AP and register were involved, which the
/// caller's message already says).
pub(crate) fn describe_arm_error(err: &ArmError) -> String {
    let mut last: &dyn std::error::Error = err;
    while let Some(s) = last.source() {
        last = s;
    }
    let text = last.to_string();
    match text.as_str() {
        "Target device responded with a FAULT response to the request." => {
            "the bus access faulted (FAULT answer: unmapped, protected or unclocked)".into()
        }
        "Target device did not respond to request." => "no answer from the target (no ACK)".into(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text probe-rs 0.32 gives a BMP's `&E403#` (`RemoteError::Error`'s Display).
    #[test]
    fn black_magic_probe_errors_are_classified_by_their_ack() {
        let text = |code: u64| format!("Remote error with result {code:016x}");
        assert!(matches!(
            bmp_remote_error(3, 0xE000_ED00, &text(0x403)),
            Some(TargetError::Access { ap: 3, .. })
        ));
        let wait = bmp_remote_error(0, 0, &text(0x203)).unwrap();
        assert!(wait.to_string().contains("WAIT"), "{wait}");
        assert!(matches!(
            bmp_remote_error(0, 0, &text(0x104)),
            Some(TargetError::DebugPort(_))
        ));
        assert!(bmp_remote_error(0, 0, "Probe error broken pipe").is_none());
        assert!(bmp_remote_error(0, 0, &text(0x1)).is_none());
    }
}
