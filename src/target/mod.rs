//! The only way to the chip: probe-rs, over a real probe or the virtual board.
//!
//! Connecting needs only the debug port. probe-rs's `Probe::attach("STM32H755ZITx")` starts debug
//! on every core and fails as a whole when AP3 is dead, so h7sh drives probe-rs's
//! `ArmDebugInterface` itself: memory access per AP through probe-rs's MEM-AP code, core control
//! through the ARMv7-M debug registers, and AP3 attached on first use, its failure diagnosed.
//! Nothing here knows SVD names.

mod core;
mod error;
mod memap;
mod scan;
mod sequence;

pub use self::core::{CoreRegister, CoreState, CoreStatus, TargetClock, WallClock, CORE_REGISTERS};
pub use error::TargetError;
pub use scan::{ApInfo, RomEntry};

use crate::h7::ap3::{self, Ap3Diagnosis};
use crate::h7::facts::{ap, cpuid, dbgmcu, scs};
use error::classify;
use probe_rs::architecture::arm::dp::DpAddress;
use probe_rs::architecture::arm::memory::ArmMemoryInterface;
use probe_rs::architecture::arm::sequences::ArmDebugSequence;
use probe_rs::architecture::arm::{ArmDebugInterface, ArmError, DapError, FullyQualifiedApAddress};
use probe_rs::probe::{DebugProbe, DebugProbeSelector, Probe, WireProtocol};
use probe_rs::vendor::st::sequences::stm32h7::{Stm32h7, Stm32h7Line};
use std::sync::Arc;

/// An access port number, range-checked against the chip's four APs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ApIndex(u8);

impl ApIndex {
    pub const CM7: ApIndex = ApIndex(ap::CM7);
    pub const D3: ApIndex = ApIndex(ap::D3);
    pub const APB_D: ApIndex = ApIndex(ap::APB_D);
    pub const CM4: ApIndex = ApIndex(ap::CM4);

    pub fn new(n: u64) -> Result<ApIndex, TargetError> {
        if n < u64::from(ap::COUNT) {
            Ok(ApIndex(n as u8))
        } else {
            Err(TargetError::NoSuchAp(n.min(255) as u8))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
    /// The Cortex-M core behind this AP, if any.
    pub fn core(self) -> Option<CoreId> {
        match self.0 {
            ap::CM7 => Some(CoreId::Cm7),
            ap::CM4 => Some(CoreId::Cm4),
            _ => None,
        }
    }
    /// What the AP reaches, for prompts and `ap`.
    pub fn label(self) -> &'static str {
        match self.0 {
            ap::CM7 => "cm7",
            ap::D3 => "d3",
            ap::APB_D => "apb-d",
            _ => "cm4",
        }
    }
}

impl std::fmt::Display for ApIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AP{}", self.0)
    }
}

/// One of the two cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CoreId {
    Cm7,
    Cm4,
}

impl CoreId {
    pub fn ap(self) -> ApIndex {
        match self {
            CoreId::Cm7 => ApIndex::CM7,
            CoreId::Cm4 => ApIndex::CM4,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            CoreId::Cm7 => "cm7",
            CoreId::Cm4 => "cm4",
        }
    }
    fn expected_partno(self) -> u32 {
        match self {
            CoreId::Cm7 => cpuid::PARTNO_CM7,
            CoreId::Cm4 => cpuid::PARTNO_CM4,
        }
    }
}

/// Access width of a memory read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Width {
    U8,
    U16,
    U32,
}

impl Width {
    pub fn bytes(self) -> u32 {
        match self {
            Width::U8 => 1,
            Width::U16 => 2,
            Width::U32 => 4,
        }
    }
}

/// How to reach the chip.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// VID:PID[:serial]; None = the only probe attached.
    pub probe: Option<String>,
    /// probe-rs target name, checked against probe-rs's registry; None = detect through DBGMCU.
    pub chip: Option<String>,
    pub speed_khz: Option<u32>,
    pub protocol: Option<WireProtocol>,
    pub connect_under_reset: bool,
    /// Run probe-rs's STM32H7 debug-component setup (sets DBGMCU_CR low-power debug bits).
    pub enable_low_power_debug: bool,
}

/// Identity read at connect time.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChipIdentity {
    pub dpidr: u32,
    /// DBGMCU_IDC through AP2.
    pub dbgmcu_idc: Option<u32>,
    pub cm7_cpuid: Option<u32>,
    /// Filled when AP3 is first attached.
    pub cm4_cpuid: Option<u32>,
    /// Probe-rs target name given with --chip, or the detected family.
    pub chip: String,
}

impl ChipIdentity {
    pub fn dev_id(&self) -> Option<u32> {
        self.dbgmcu_idc.map(|v| v & 0xFFF)
    }
    pub fn rev_id(&self) -> Option<u32> {
        self.dbgmcu_idc.map(|v| v >> 16)
    }
}

/// State of the lazy AP3 attach.
#[derive(Debug, Clone)]
enum Ap3State {
    NotTried,
    Attached,
    Failed(Ap3Diagnosis),
}

/// How the probe talks to the chip, as set up at connect (for `info`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WireInfo {
    /// `swd` or `jtag`.
    pub protocol: &'static str,
    /// The clock the probe runs at (a probe rounds a requested speed to one it has).
    pub speed_khz: u32,
    /// The target voltage the probe measured at connect; None if it cannot measure it.
    pub target_voltage: Option<f32>,
    /// On JTAG, the TAPs the probe's driver found at connect, TDO side first ("0x6BA00477
    /// (ARM Ltd), IR 4"); empty on SWD and on probes whose firmware runs JTAG itself (ST-LINK).
    pub jtag_chain: Vec<String>,
}

/// A connection to the chip through probe-rs.
pub struct Target {
    /// None only after a reconnect failed; `detached` then holds the probe for the next try.
    iface: Option<Box<dyn ArmDebugInterface>>,
    /// The probe and why the link went down, kept when a reconnect could not attach (a
    /// glitch, a board still powering up), so that `reconnect` can try again instead of
    /// needing h7sh restarted; the reason goes into the errors of accesses until then.
    detached: Option<(Probe, String)>,
    /// Per AP (0..=3): its CSW as last written, so an access need not reopen the AP (raw-DAP
    /// probes only; an ST-LINK's firmware keeps its own).
    ap_states: [Option<memap::ApState>; 4],
    /// The debug-port start probe-rs runs on this interface (it keeps the DPIDR it read).
    dp_start: Arc<sequence::H7Sequence>,
    /// Connected with `--connect-under-reset` (hints do not suggest it again).
    connected_under_reset: bool,
    wire: WireInfo,
    probe_name: String,
    /// The probe gives raw DAP access (CMSIS-DAP, J-Link); an ST-LINK runs memory commands in
    /// its firmware instead, with its own limits (halfword blocks, see `read_block`).
    raw_dap: bool,
    /// probe-rs's Black Magic Probe driver: AP writes may go out byte-swapped (`memap`).
    bmp: bool,
    identity: ChipIdentity,
    ap3: Ap3State,
    /// Where core-control deadlines are measured.
    clock: Box<dyn TargetClock>,
    /// What connecting changed on the chip (printed at connect).
    pub connect_changes: Vec<String>,
    /// Notes from connecting (e.g. CM7 not booted).
    pub connect_notes: Vec<String>,
}

fn fq(ap: ApIndex) -> FullyQualifiedApAddress {
    FullyQualifiedApAddress::v1_with_default_dp(ap.get())
}

/// Lists real probes (and anything registered with probe-rs's plugin API, such as the virtual
/// board's driver) as `(identifier, selector)`.
pub fn list_probes() -> Vec<(String, String)> {
    probe_rs::probe::list::Lister::new()
        .list_all()
        .into_iter()
        .map(|p| {
            let sel = match &p.serial_number {
                Some(s) => format!("{:04x}:{:04x}:{s}", p.vendor_id, p.product_id),
                None => format!("{:04x}:{:04x}", p.vendor_id, p.product_id),
            };
            (p.identifier.clone(), sel)
        })
        .collect()
}

impl Target {
    /// Opens a real probe through probe-rs's lister.
    pub fn open_probe(opts: &ConnectOptions) -> Result<Target, TargetError> {
        let lister = probe_rs::probe::list::Lister::new();
        let probe = match &opts.probe {
            Some(sel) => {
                let selector: DebugProbeSelector = sel
                    .parse()
                    .map_err(|_| TargetError::BadSelector(sel.clone()))?;
                lister.open(selector).map_err(|e| TargetError::ProbeOpen {
                    selector: sel.clone(),
                    message: e.to_string(),
                })?
            }
            None => {
                let probes = lister.list_all();
                let real: Vec<_> = probes
                    .iter()
                    .filter(|p| !p.identifier.contains("h7sh virtual board"))
                    .collect();
                let first = real.first().ok_or(TargetError::NoProbe)?;
                first.open().map_err(|e| TargetError::ProbeOpen {
                    selector: first.identifier.clone(),
                    message: e.to_string(),
                })?
            }
        };
        Target::connect(probe, opts, Box::new(WallClock::default()))
    }

    /// Connects through an already created probe driver (the virtual board, or a test probe).
    pub fn open_with(
        probe: Box<dyn DebugProbe>,
        opts: &ConnectOptions,
    ) -> Result<Target, TargetError> {
        Target::open_with_clock(probe, opts, Box::new(WallClock::default()))
    }

    /// As [`Target::open_with`], with core-control deadlines measured on `clock` from the start
    /// (the virtual board's time, so a connect under reset repeats exactly).
    pub fn open_with_clock(
        probe: Box<dyn DebugProbe>,
        opts: &ConnectOptions,
        clock: Box<dyn TargetClock>,
    ) -> Result<Target, TargetError> {
        Target::connect(Probe::from_specific_probe(probe), opts, clock)
    }

    fn connect(
        mut probe: Probe,
        opts: &ConnectOptions,
        clock: Box<dyn TargetClock>,
    ) -> Result<Target, TargetError> {
        let probe_name = probe.get_name();
        let open_err = |e: probe_rs::probe::DebugProbeError| TargetError::ProbeOpen {
            selector: probe_name.clone(),
            message: error::chain(&e),
        };
        match opts.protocol {
            Some(p) => probe.select_protocol(p).map_err(open_err)?,
            // A driver with no protocol of its own (Black Magic Probe) cannot attach: SWD, as
            // ST's tools default to on the STM32H7.
            None if probe.protocol().is_none() => {
                probe.select_protocol(WireProtocol::Swd).map_err(open_err)?
            }
            None => {}
        }
        if let Some(khz) = opts.speed_khz {
            probe.set_speed(khz).map_err(open_err)?;
        }
        let wire = WireInfo {
            protocol: match probe.protocol() {
                Some(WireProtocol::Jtag) => "jtag",
                _ => "swd",
            },
            speed_khz: probe.speed_khz(),
            target_voltage: probe.get_target_voltage().ok().flatten(),
            jtag_chain: Vec::new(),
        };
        let chip = match &opts.chip {
            Some(name) => {
                let t = probe_rs::config::Registry::from_builtin_families()
                    .get_target_by_name(name)
                    .map_err(|_| TargetError::UnknownChip(name.clone()))?;
                t.name.clone()
            }
            None => "STM32H7 dual-core (detected through DBGMCU_IDC)".to_string(),
        };
        let Opened {
            iface,
            dp_start,
            jtag_chain,
            speed_khz,
        } = open_interface(probe, opts.connect_under_reset).map_err(|(_, e)| e)?;
        let wire = WireInfo {
            jtag_chain,
            speed_khz,
            ..wire
        };
        let raw_dap = iface.try_dap_probe().is_some();
        let bmp = probe_name == BMP_DRIVER_NAME;
        let mut target = Target {
            iface: Some(iface),
            detached: None,
            ap_states: [None; 4],
            dp_start,
            connected_under_reset: opts.connect_under_reset,
            wire,
            probe_name,
            raw_dap,
            bmp,
            identity: ChipIdentity {
                chip,
                ..Default::default()
            },
            ap3: Ap3State::NotTried,
            clock,
            connect_changes: Vec::new(),
            connect_notes: Vec::new(),
        };
        target.identity.dpidr = match target.read_dpidr() {
            Ok(v) => v,
            Err(e) => return Err(target.no_target(e)),
        };
        if opts.connect_under_reset {
            target.halt_at_reset_and_release()?;
        }
        // DBGMCU_IDC, valid when DEV_ID is not 0. On raw-DAP probes through AP0 first, at its
        // system-bus address (as OpenOCD's stm32h7x flash driver reads it; AP0 is opened for the
        // CPUID anyway), then through AP2 at its APB-D address, which answers when the AXI does
        // not (NRST held, D1 in Standby, the CM7 gated). An ST-LINK is asked through AP2 first:
        // old firmware refuses APs other than 0 without wire traffic, and that is worth a note.
        let order = if target.raw_dap {
            [ApIndex::CM7, ApIndex::APB_D]
        } else {
            [ApIndex::APB_D, ApIndex::CM7]
        };
        for ap in order {
            let base = if ap == ApIndex::APB_D {
                dbgmcu::BASE_APBD
            } else {
                dbgmcu::BASE_SYSBUS
            };
            match target.read32(ap, base + dbgmcu::IDC) {
                Ok(idc) if idc & 0xFFF != 0 => {
                    target.identity.dbgmcu_idc = Some(idc);
                    break;
                }
                Ok(_) => {}
                Err(e @ TargetError::ProbeFirmware { .. }) => target.connect_notes.push(format!(
                    "{e}; only AP0 (CM7) answers: h7sh reads DBGMCU and diagnoses the CM4 \
                     through AP0. {}",
                    e.hint()
                )),
                Err(_) => {}
            }
        }
        match target.identity.dev_id() {
            Some(dbgmcu::DEV_ID_H745_H755) => {}
            Some(other) => target.connect_notes.push(format!(
                "DBGMCU_IDC.DEV_ID = {other:#05x}: not a dual-core STM32H7 (expected 0x450); \
                 AP numbers may differ"
            )),
            None => target
                .connect_notes
                .push("DBGMCU_IDC could not be read through AP2 nor AP0".to_string()),
        }
        match target.read32(ApIndex::CM7, scs::CPUID) {
            Ok(0) => target.connect_notes.push(
                "CM7 CPUID reads 0 through AP0: the Cortex-M7 is not booted (BCM7 = 0?); \
                 AP2 and AP3 may still answer"
                    .to_string(),
            ),
            Ok(v) => target.identity.cm7_cpuid = Some(v),
            Err(e) => target
                .connect_notes
                .push(format!("AP0 (CM7) does not answer: {e}")),
        }
        if opts.enable_low_power_debug {
            target.enable_low_power_debug()?;
        }
        Ok(target)
    }

    /// The probe-rs interface; gone only after a failed reconnect.
    fn iface(&mut self) -> Result<&mut Box<dyn ArmDebugInterface>, TargetError> {
        match &mut self.iface {
            Some(iface) => Ok(iface),
            None => Err(link_error(&self.detached)),
        }
    }

    /// Turns a failure to reach the debug port into an error that says whether the target has
    /// power, as far as the probe can tell.
    fn no_target(&mut self, err: TargetError) -> TargetError {
        let TargetError::DebugPort(message) = err else {
            return err;
        };
        // The voltage is the probe's, not the interface's: close the interface and keep the
        // probe for the next `reconnect`.
        let mut voltage = None;
        if let Some(iface) = self.iface.take() {
            let mut probe = iface.close();
            voltage = probe.get_target_voltage().ok().flatten();
            self.detached = Some((probe, message.clone()));
        }
        TargetError::DebugPort(format!("{message}; {}", voltage_text(voltage)))
    }

    fn read_dpidr(&mut self) -> Result<u32, TargetError> {
        use probe_rs::architecture::arm::dp::DpRegister;
        let describe = |e: ArmError| TargetError::DebugPort(error::describe_arm_error(&e));
        // Selecting the port runs probe-rs's setup and h7sh's start (once per interface),
        // which reads DPIDR; ST-LINK firmware connects by itself and runs no sequence.
        self.iface()?
            .select_debug_port(DpAddress::Default)
            .map_err(describe)?;
        if let Some(dpidr) = self.dp_start.dpidr() {
            return Ok(dpidr);
        }
        self.iface()?
            .read_raw_dp_register(
                DpAddress::Default,
                probe_rs::architecture::arm::dp::DPIDR::ADDRESS,
            )
            .map_err(|e| TargetError::DebugPort(error::describe_arm_error(&e)))
    }

    /// Under reset: catch the CM7 at its reset vector, release NRST, and check that the core
    /// really stopped there (DHCSR.S_HALT, DFSR.VCATCH, PC = the reset vector); the reset catch
    /// is cleared again. A catch that did not happen is said, with why, as a connect note.
    fn halt_at_reset_and_release(&mut self) -> Result<(), TargetError> {
        self.forget_ap_states();
        let cm7 = ApIndex::CM7;
        // CMSIS-DAP's DAP_Connect and J-Link's attach drive nRESET high: assert it again now
        // that the debug port is up (an ST-LINK kept it low; asserting twice is harmless).
        self.iface()?
            .swj_pins(0, NRESET_PIN, 0)
            .map_err(error::probe_error)?;
        let demcr = self.read32(cm7, scs::DEMCR)?;
        self.write32(
            cm7,
            scs::DHCSR,
            scs::DHCSR_DBGKEY | scs::C_DEBUGEN | scs::C_HALT,
        )?;
        self.write32(cm7, scs::DEMCR, demcr | scs::VC_CORERESET)?;
        self.write32(cm7, scs::DFSR, DFSR_ALL)?;
        self.iface()?
            .swj_pins(NRESET_PIN, NRESET_PIN, 0)
            .map_err(error::probe_error)?;
        let waited = self.wait_core(
            CoreId::Cm7,
            "the release of NRST",
            RESET_CATCH_TIMEOUT,
            |s| s.state == CoreState::Halted,
        );
        // The catch is cleared whatever happened (it was set for this connect only).
        self.write32(cm7, scs::DEMCR, demcr)?;
        let why_not = match waited {
            Err(TargetError::Timeout(_)) => Some(match self.read32(cm7, scs::CPUID) {
                Ok(0) => "the CM7 is not booted (its CPUID reads 0: BCM7 = 0?), so there is no \
                          core to catch; `doctor` names the option byte"
                    .to_string(),
                _ => "the CM7 is not halted after NRST was released (its DHCSR says it runs): \
                      the probe may have released NRST before the catch was armed, or the reset \
                      line is not wired to NRST"
                    .to_string(),
            }),
            Err(e) => return Err(e),
            Ok(_) => {
                let dfsr = self.read32(cm7, scs::DFSR)?;
                let pc = self.read_core_reg(CoreId::Cm7, CoreRegister::by_name("pc")?)?;
                let vtor = self.read32(cm7, scs::VTOR)?;
                let vector = self.read32(cm7, u64::from(vtor) + 4)? & !1;
                if dfsr & DFSR_VCATCH == 0 {
                    Some(format!(
                        "the CM7 halted, but not on the reset catch (DFSR = {dfsr:#x}, PC = \
                         {pc:#010x})"
                    ))
                } else if pc != vector {
                    Some(format!(
                        "the CM7 halted on the reset catch at PC = {pc:#010x}, not at the reset \
                         vector {vector:#010x} of the table at VTOR = {vtor:#010x}"
                    ))
                } else {
                    self.connect_changes.push(format!(
                        "CM7 halted at its reset vector {pc:#010x} (connect under reset: \
                         DFSR.VCATCH, reset catch cleared)"
                    ));
                    if vector == ERASED_VECTOR {
                        self.connect_notes.push(format!(
                            "the CM7's vector table at VTOR = {vtor:#010x} is erased (reset vector \
                             0xffffffff): there is no firmware at its boot address; `doctor` says \
                             more"
                        ));
                    }
                    None
                }
            }
        };
        if let Some(why) = why_not {
            self.connect_notes
                .push(format!("connect under reset did not catch the CM7: {why}"));
        }
        Ok(())
    }

    /// probe-rs's own STM32H7 debug-component setup, with what it changed reported.
    fn enable_low_power_debug(&mut self) -> Result<(), TargetError> {
        let addr = dbgmcu::BASE_APBD + dbgmcu::CR;
        let before = self.read32(ApIndex::APB_D, addr)?;
        let seq = Stm32h7::create(Stm32h7Line::H7);
        self.with_mem(ApIndex::APB_D, addr, |m| {
            seq.enable_debug_components(m, true)
        })?;
        let after = self.read32(ApIndex::APB_D, addr)?;
        if before != after {
            self.connect_changes.push(format!(
                "DBGMCU_CR {before:#010x} -> {after:#010x} (debug in low-power modes, via AP2)"
            ));
        }
        Ok(())
    }

    /// Protocol, clock and target voltage as set up at connect.
    pub fn wire(&self) -> &WireInfo {
        &self.wire
    }

    pub fn probe_name(&self) -> &str {
        &self.probe_name
    }

    pub fn identity(&self) -> &ChipIdentity {
        &self.identity
    }

    /// Forget what is known about AP3 (after a reset or power cycle the CM4 may have changed).
    pub fn invalidate(&mut self) {
        self.ap3 = Ap3State::NotTried;
        self.ap_states[ApIndex::CM4.get() as usize] = None;
    }

    /// Forget the APs' remembered CSWs: the next access through each opens it afresh.
    pub(crate) fn forget_ap_states(&mut self) {
        self.ap_states = [None; 4];
    }

    /// Connects the debug port again (after the target lost power or the link dropped): the
    /// interface is closed and the probe attached afresh, as every probe supports
    /// (probe-rs's `reinitialize` does nothing on an ST-LINK).
    pub fn reconnect(&mut self) -> Result<(), TargetError> {
        self.invalidate();
        self.forget_ap_states();
        let probe = match (self.iface.take(), self.detached.take()) {
            (Some(iface), _) => iface.close(),
            (None, Some((probe, _))) => probe,
            (None, None) => return Err(link_error(&None)),
        };
        match open_interface(probe, false) {
            Ok(Opened {
                iface, dp_start, ..
            }) => {
                self.iface = Some(iface);
                self.dp_start = dp_start;
            }
            Err((probe, e)) => {
                self.detached = Some((probe, e.to_string()));
                return Err(e);
            }
        }
        // probe-rs clears the sticky flags only when it powers the DP up; after a lost link the
        // DP stayed powered, and a STICKYERR left from the failure would fault the next access.
        self.clear_sticky_errors()?;
        self.identity.dpidr = match self.read_dpidr() {
            Ok(v) => v,
            Err(e) => return Err(self.no_target(e)),
        };
        Ok(())
    }

    /// ABORT with every sticky-flag clear (STKCMPCLR, STKERRCLR, WDERRCLR, ORUNERRCLR). On a
    /// JTAG-DP those ABORT bits are reserved (ADIv5.2 B2.2.1; probe-rs's JTAG ABORT sends only
    /// DAPABORT anyway): the flags are write-one-to-clear in CTRL/STAT, written back with the
    /// power-up requests it holds.
    fn clear_sticky_errors(&mut self) -> Result<(), TargetError> {
        use probe_rs::architecture::arm::dp::{Abort, Ctrl, DpRegister};
        if self.wire.protocol == "jtag" {
            const STICKY: u32 = (1 << 1) | (1 << 4) | (1 << 5);
            let ctrl = self.dp_read(0x4)?;
            let result = self.iface()?.write_raw_dp_register(
                DpAddress::Default,
                Ctrl::ADDRESS,
                ctrl | STICKY,
            );
            return result.map_err(|e| {
                self.no_target(TargetError::DebugPort(error::describe_arm_error(&e)))
            });
        }
        let mut abort = Abort(0);
        abort.set_stkcmpclr(true);
        abort.set_stkerrclr(true);
        abort.set_wderrclr(true);
        abort.set_orunerrclr(true);
        let result =
            self.iface()?
                .write_raw_dp_register(DpAddress::Default, Abort::ADDRESS, abort.into());
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.no_target(TargetError::DebugPort(error::describe_arm_error(&e)))),
        }
    }

    /// Runs `f` on probe-rs's memory interface of `ap`, attaching AP3 first if needed.
    fn with_mem<R>(
        &mut self,
        ap: ApIndex,
        addr: u64,
        f: impl FnOnce(&mut dyn ArmMemoryInterface) -> Result<R, ArmError>,
    ) -> Result<R, TargetError> {
        if ap == ApIndex::CM4 {
            self.ensure_ap3()?;
        }
        let result = self.raw_with_mem(ap, addr, f);
        if ap == ApIndex::CM4 {
            if let Err(TargetError::Access { .. }) = &result {
                // AP3 still answers as a Cortex-M4: the address faulted, as it would on AP0.
                let cpuid = self.raw_with_mem(ap, scs::CPUID, |m| m.read_word_32(scs::CPUID));
                if matches!(cpuid, Ok(v) if (v >> 4) & 0xFFF == CoreId::Cm4.expected_partno()) {
                    return result;
                }
                // A failure after a good attach: the CM4 may have gone to Stop or been reset.
                let diagnosis = self.diagnose_ap3(None);
                let err = ap3_error(&diagnosis);
                self.ap3 = Ap3State::Failed(diagnosis);
                return Err(err);
            }
        }
        result
    }

    fn raw_with_mem<R>(
        &mut self,
        ap: ApIndex,
        addr: u64,
        f: impl FnOnce(&mut dyn ArmMemoryInterface) -> Result<R, ArmError>,
    ) -> Result<R, TargetError> {
        let classified = |e| classify(ap.get(), addr, e);
        let Some(iface) = self.iface.as_mut() else {
            return Err(link_error(&self.detached));
        };
        let result = if self.raw_dap {
            let state = &mut self.ap_states[ap.get() as usize];
            memap::CachedMemAp::open(&mut **iface, fq(ap), state, self.bmp)
                .and_then(|mut mem| f(&mut mem))
                .map_err(classified)
        } else {
            iface
                .memory_interface(&fq(ap))
                .and_then(|mut mem| f(&mut *mem))
                .map_err(classified)
        };
        let result = match result {
            Ok(v) if self.raw_dap && self.wire.protocol == "jtag" => {
                self.jtag_sticky_check(ap).map(|()| v).map_err(|e| match e {
                    None => classify(ap.get(), addr, ArmError::Dap(DapError::FaultResponse)),
                    Some(e) => e,
                })
            }
            other => other,
        };
        // AP0/AP1 failures ask the probe for NRST; AP3's go through the AP3 diagnosis, which
        // tells a chip in reset from its evidence (no extra round trip on every dead AP3).
        match result {
            Err(TargetError::Access { ap, addr, .. })
                if (ap == ApIndex::CM7.get() || ap == ApIndex::D3.get()) && self.nrst_low() =>
            {
                Err(TargetError::InReset { ap, addr })
            }
            other => other,
        }
    }

    /// On a JTAG-DP a failed access still answers OK/FAULT, and CMSIS-DAP firmware reports that
    /// as OK (ARM's `JTAG_Transfer`), so probe-rs's CMSIS-DAP driver returns zeros; only
    /// CTRL/STAT.STICKYERR tells, and while it is set every AP access is dropped. So after each
    /// access on a raw-DAP JTAG probe, as OpenOCD's JTAG-DP does after each run: read CTRL/STAT,
    /// and if STICKYERR is set clear it and fail the access (`Err(None)`).
    fn jtag_sticky_check(&mut self, ap: ApIndex) -> Result<(), Option<TargetError>> {
        const STICKYERR: u32 = 1 << 5;
        let ctrl = self.dp_read(0x4).map_err(Some)?;
        if ctrl & STICKYERR == 0 {
            return Ok(());
        }
        self.ap_states[ap.get() as usize] = None;
        self.clear_sticky_errors().map_err(Some)?;
        Err(None)
    }

    /// NRST as the probe reads it back (CMSIS-DAP's DAP_SWJ_Pins); false when it cannot tell
    /// (J-Link answers all ones, ST-LINK has no such command).
    fn nrst_low(&mut self) -> bool {
        let Some(iface) = self.iface.as_mut() else {
            return false;
        };
        match iface.swj_pins(0, 0, 0) {
            Ok(u32::MAX) | Err(_) => false,
            Ok(pins) => pins & NRESET_PIN == 0,
        }
    }

    /// Attaches AP3 on first use: its CPUID must read as a Cortex-M4.
    fn ensure_ap3(&mut self) -> Result<(), TargetError> {
        if let Ap3State::Attached = self.ap3 {
            return Ok(());
        }
        let cpuid = self.raw_with_mem(ApIndex::CM4, scs::CPUID, |m| m.read_word_32(scs::CPUID));
        match cpuid {
            Ok(v) if (v >> 4) & 0xFFF == CoreId::Cm4.expected_partno() => {
                self.identity.cm4_cpuid = Some(v);
                self.ap3 = Ap3State::Attached;
                Ok(())
            }
            Err(e @ TargetError::ProbeLost(_)) => Err(e),
            Err(TargetError::ProbeFirmware { what, needed, .. }) => {
                // The probe cannot open AP3 at all: say so, and what AP0 still tells.
                let d = self.diagnose_ap3(None);
                let finding = Some(format!("{} (fix: {})", d.cause, d.hint));
                self.ap3 = Ap3State::Failed(d);
                Err(TargetError::ProbeFirmware {
                    what,
                    needed,
                    finding,
                })
            }
            other => {
                self.ap_states[ApIndex::CM4.get() as usize] = None;
                let diagnosis = self.diagnose_ap3(other.ok());
                let err = ap3_error(&diagnosis);
                self.ap3 = Ap3State::Failed(diagnosis);
                Err(err)
            }
        }
    }

    /// Reads the chip state that decides whether AP3 answers, through AP0 and AP2.
    pub fn diagnose_ap3(&mut self, cm4_cpuid: Option<u32>) -> Ap3Diagnosis {
        let mut evidence = ap3::gather(&mut |ap, addr| {
            let ap = ApIndex::new(u64::from(ap)).ok()?;
            self.raw_with_mem(ap, addr, |m| m.read_word_32(addr)).ok()
        });
        evidence.cm4_cpuid = cm4_cpuid;
        evidence.connected_under_reset = self.connected_under_reset;
        ap3::diagnose(evidence)
    }

    /// Whether AP3 has been attached, failed (with the diagnosis) or not tried yet.
    pub fn ap3_status(&self) -> Result<bool, &Ap3Diagnosis> {
        match &self.ap3 {
            Ap3State::Attached => Ok(true),
            Ap3State::NotTried => Ok(false),
            Ap3State::Failed(d) => Err(d),
        }
    }

    pub fn read32(&mut self, ap: ApIndex, addr: u64) -> Result<u32, TargetError> {
        check_align(addr, Width::U32)?;
        self.with_mem(ap, addr, |m| m.read_word_32(addr))
    }

    pub fn write32(&mut self, ap: ApIndex, addr: u64, value: u32) -> Result<(), TargetError> {
        check_align(addr, Width::U32)?;
        self.with_mem(ap, addr, |m| {
            m.write_word_32(addr, value)?;
            m.flush()
        })
    }

    /// Reads `count` items of `width` starting at `addr`, in block transfers.
    pub fn read(
        &mut self,
        ap: ApIndex,
        addr: u64,
        width: Width,
        count: usize,
    ) -> Result<Vec<u32>, TargetError> {
        check_width(ap, width)?;
        check_align(addr, width)?;
        let raw_dap = self.raw_dap;
        self.with_mem(ap, addr, |m| read_block(m, addr, width, count, raw_dap))
    }

    /// Several block reads through one opening of the AP's memory interface: opening it
    /// costs probe-rs about ten round trips (AP IDR, CFG, CSW...), a run only two.
    /// `stop` is asked before each run; `Ok(None)` means it said stop (nothing half-read is
    /// returned). Errors name the address of the run that failed.
    pub fn read_runs(
        &mut self,
        ap: ApIndex,
        runs: &[ReadRun],
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<Vec<u32>>>, TargetError> {
        for r in runs {
            check_width(ap, r.width)?;
            check_align(r.addr, r.width)?;
        }
        let raw_dap = self.raw_dap;
        let Some(first) = runs.first() else {
            return Ok(Some(Vec::new()));
        };
        let at = std::cell::Cell::new(first.addr);
        let result = self.with_mem(ap, first.addr, |m| {
            let mut out = Vec::with_capacity(runs.len());
            for r in runs {
                if stop() {
                    return Ok(None);
                }
                at.set(r.addr);
                out.push(read_block(m, r.addr, r.width, r.count, raw_dap)?);
            }
            Ok(Some(out))
        });
        result.map_err(|e| match e {
            TargetError::Access { ap, message, .. } => TargetError::Access {
                ap,
                addr: at.get(),
                message,
            },
            TargetError::Unaligned { size, .. } => TargetError::Unaligned {
                addr: at.get(),
                size,
            },
            other => other,
        })
    }

    /// Writes one item of `width`.
    pub fn write(
        &mut self,
        ap: ApIndex,
        addr: u64,
        width: Width,
        value: u32,
    ) -> Result<(), TargetError> {
        check_width(ap, width)?;
        check_align(addr, width)?;
        self.with_mem(ap, addr, |m| {
            match width {
                Width::U32 => m.write_word_32(addr, value)?,
                Width::U16 => m.write_word_16(addr, value as u16)?,
                Width::U8 => m.write_word_8(addr, value as u8)?,
            }
            m.flush()
        })
    }

    /// Raw DP register read (address with bank in bits [7:4]).
    pub fn dp_read(&mut self, addr: u8) -> Result<u32, TargetError> {
        let reg = probe_rs::architecture::arm::dp::DpRegisterAddress {
            bank: if addr >> 4 == 0 {
                None
            } else {
                Some(addr >> 4)
            },
            address: addr & 0xF,
        };
        self.iface()?
            .read_raw_dp_register(DpAddress::Default, reg)
            .map_err(|e| TargetError::DebugPort(error::describe_arm_error(&e)))
    }

    /// Raw AP register read (e.g. 0xFC = IDR, 0xF8 = BASE, 0x00 = CSW).
    pub fn ap_reg_read(&mut self, ap: ApIndex, addr: u8) -> Result<u32, TargetError> {
        self.iface()?
            .read_raw_ap_register(&fq(ap), u64::from(addr))
            .map_err(|e| classify(ap.get(), u64::from(addr), e))
    }
}

/// The name probe-rs 0.32's Black Magic Probe driver gives its probes.
const BMP_DRIVER_NAME: &str = "Black Magic probe";

/// nRESET in the pin byte of `swj_pins` (CMSIS-DAP DAP_SWJ_Pins bit 7).
const NRESET_PIN: u32 = 1 << 7;
/// DFSR: every reason bit, written to clear them (write-one-to-clear, ARMv7-M C1.6.1).
const DFSR_ALL: u32 = 0x1F;
const DFSR_VCATCH: u32 = 1 << 3;
/// An erased reset vector (0xFFFFFFFF) with the Thumb bit cleared.
const ERASED_VECTOR: u32 = 0xFFFF_FFFE;
/// How long a core may take to come out of reset and halt on the reset catch.
const RESET_CATCH_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// What the probe says of the target's supply, for "no target" errors.
fn voltage_text(volts: Option<f32>) -> String {
    match volts {
        Some(v) if v < 1.0 => format!(
            "target voltage {v:.2} V: the board looks unpowered (or VTref is not wired to the probe)"
        ),
        Some(v) => format!("target voltage {v:.2} V: the board is powered"),
        None => "this probe does not measure the target voltage".to_string(),
    }
}

/// What an access says while there is no interface: the link is down since a reconnect failed
/// (the probe kept for the next one), or the probe is gone.
fn link_error(detached: &Option<(Probe, String)>) -> TargetError {
    match detached {
        Some((_, why)) => TargetError::DebugPort(format!(
            "the link is down since the last reconnect failed ({why}); `reconnect` tries again"
        )),
        None => TargetError::ProbeLost("the probe was closed and could not be reopened".into()),
    }
}

/// Opens probe-rs's interface on `probe`: attach, then the default sequence's DP power-up.
/// Under reset NRST is asserted first, as probe-rs does it (through the DAP pins when the probe
/// has them, since CMSIS-DAP's connect would otherwise release it). On failure the probe comes
/// back (when probe-rs returns it) so that a reconnect can try again.
/// The attached probe's ARM interface and the debug-port start it will run.
struct Opened {
    iface: Box<dyn ArmDebugInterface>,
    dp_start: Arc<sequence::H7Sequence>,
    /// What `jtag_chain` found.
    jtag_chain: Vec<String>,
    /// The clock after attaching (a J-Link attached with no speed set picks 400 kHz).
    speed_khz: u32,
}

fn open_interface(mut probe: Probe, under_reset: bool) -> Result<Opened, (Probe, TargetError)> {
    if under_reset {
        let asserted = match probe.try_as_dap_probe() {
            Some(dap) => dap.swj_pins(0, NRESET_PIN, 0).map(|_| ()),
            None => probe.target_reset_assert(),
        };
        if let Err(e) = asserted {
            return Err((probe, error::probe_error(e)));
        }
    }
    if let Err(e) = probe.attach_to_unspecified() {
        let volts = probe.get_target_voltage().ok().flatten();
        let err = TargetError::DebugPort(format!(
            "{}; {}",
            error::attach_failure(&e),
            voltage_text(volts)
        ));
        return Err((probe, err));
    }
    let jtag_chain = jtag_chain(&mut probe);
    let speed_khz = probe.speed_khz();
    let dp_start = Arc::new(sequence::H7Sequence::default());
    let sequence: Arc<dyn ArmDebugSequence> = dp_start.clone();
    probe
        .try_into_arm_debug_interface(sequence)
        .map(|iface| Opened {
            iface,
            dp_start,
            jtag_chain,
            speed_khz,
        })
        .map_err(|(mut probe, e)| {
            let volts = probe.get_target_voltage().ok().flatten();
            let err = TargetError::DebugPort(format!(
                "{}; {}",
                error::describe_arm_error(&e),
                voltage_text(volts)
            ));
            (probe, err)
        })
}

/// The JTAG chain as the probe's driver scans it (J-Link scans it when attaching; a CMSIS-DAP
/// probe scans it now, through DAP_JTAG_Sequence), described TAP by TAP. Nothing on SWD, on
/// probes without bit-level JTAG (ST-LINK), or when the scan fails (the chip left in SWD mode
/// by an earlier session: probe-rs's JTAG setup switches it back when the interface opens).
fn jtag_chain(probe: &mut Probe) -> Vec<String> {
    if probe.protocol() != Some(WireProtocol::Jtag) {
        return Vec::new();
    }
    let Some(jtag) = probe.try_as_jtag_probe() else {
        return Vec::new();
    };
    match jtag.scan_chain() {
        Ok(chain) => chain
            .iter()
            .map(|tap| {
                let id = tap
                    .name
                    .as_deref()
                    .unwrap_or("no IDCODE (BYPASS after reset)");
                match tap.ir_len {
                    Some(n) => format!("{id}, IR {n}"),
                    None => id.to_string(),
                }
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn ap3_error(d: &Ap3Diagnosis) -> TargetError {
    TargetError::Ap3Unreachable {
        cause: d.cause.clone(),
        hint: d.hint.clone(),
    }
}

/// One block read of [`Target::read_runs`]: `count` items of `width` from `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRun {
    pub addr: u64,
    pub width: Width,
    pub count: usize,
}

/// Halfwords an ST-LINK block read may carry: probe-rs 0.32 cuts longer ones into chunks of 32
/// (V2) or 64 (V3) but advances the address by the halfword count, so every chunk after the
/// first comes from the wrong address. h7sh sends chunks of at most 32 itself.
const STLINK_HALFWORD_CHUNK: usize = 32;

fn read_block(
    m: &mut dyn ArmMemoryInterface,
    addr: u64,
    width: Width,
    count: usize,
    raw_dap: bool,
) -> Result<Vec<u32>, ArmError> {
    match width {
        Width::U32 => {
            let mut buf = vec![0u32; count];
            m.read_32(addr, &mut buf)?;
            Ok(buf)
        }
        Width::U16 => {
            let mut buf = vec![0u16; count];
            let chunk = if raw_dap {
                count.max(1)
            } else {
                STLINK_HALFWORD_CHUNK
            };
            for (i, part) in buf.chunks_mut(chunk).enumerate() {
                m.read_16(addr + (i * chunk * 2) as u64, part)?;
            }
            Ok(buf.into_iter().map(u32::from).collect())
        }
        Width::U8 => {
            let mut buf = vec![0u8; count];
            m.read_8(addr, &mut buf)?;
            Ok(buf.into_iter().map(u32::from).collect())
        }
    }
}

/// AP2 is an APB-AP: 32-bit accesses only. CMSIS-DAP and J-Link (probe-rs's MEM-AP code) refuse
/// smaller ones, an ST-LINK's firmware sends them and reads the wrong byte lanes: h7sh refuses
/// them itself so every probe answers alike.
fn check_width(ap: ApIndex, width: Width) -> Result<(), TargetError> {
    if ap == ApIndex::APB_D && width != Width::U32 {
        return Err(TargetError::ApWidth {
            ap: ap.get(),
            bits: width.bytes() * 8,
        });
    }
    Ok(())
}

fn check_align(addr: u64, width: Width) -> Result<(), TargetError> {
    let size = width.bytes();
    if !addr.is_multiple_of(u64::from(size)) {
        return Err(TargetError::Unaligned { addr, size });
    }
    Ok(())
}
