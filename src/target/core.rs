//! Core control through the ARMv7-M debug registers (DHCSR, DCRSR, DCRDR, DEMCR, AIRCR), the way
//! every debugger does it, so that each core is handled on its own AP and a dead AP3 never gets in
//! the way of the CM7 (ARM DDI0403 C1.6).

use std::time::{Duration, Instant};

use super::{ApIndex, CoreId, Target, TargetError};
use crate::h7::facts::scs::{self, regsel};

/// How long a halt (C_HALT, a vector catch) may take.
const HALT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one instruction step or one core-register transfer may take.
const STEP_TIMEOUT: Duration = Duration::from_millis(100);
/// How long a core may stay in reset after VECTRESET or SYSRESETREQ (the STM32H7's reset
/// pulse is at least 20 µs; its option-byte load after a system reset takes longer).
const RESET_TIMEOUT: Duration = Duration::from_millis(1000);
/// Pause between two DHCSR polls.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Where core-control deadlines are measured: wall time with a real probe, the virtual board's
/// own time on the virtual board (so that its runs repeat exactly).
pub trait TargetClock: Send + Sync {
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration);
}

/// Wall time.
pub struct WallClock(Instant);

impl Default for WallClock {
    fn default() -> Self {
        WallClock(Instant::now())
    }
}

impl TargetClock for WallClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Errors a core may give while it is being reset: its bus or AP answers FAULT or WAIT for a
/// moment (and AP3 looks unreachable) until the reset is over.
fn in_reset_window(e: &TargetError) -> bool {
    matches!(
        e,
        TargetError::Access { .. } | TargetError::Ap3Unreachable { .. }
    )
}

/// Run state of a core, from DHCSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoreState {
    Running,
    Halted,
    Sleeping,
    Lockup,
    /// Held in reset (S_RESET_ST set and not yet running).
    Reset,
}

impl CoreState {
    pub fn name(self) -> &'static str {
        match self {
            CoreState::Running => "running",
            CoreState::Halted => "halted",
            CoreState::Sleeping => "sleeping",
            CoreState::Lockup => "lockup",
            CoreState::Reset => "reset",
        }
    }
}

/// DHCSR decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CoreStatus {
    pub core: CoreId,
    pub dhcsr: u32,
    pub state: CoreState,
    pub debug_enabled: bool,
    /// S_RESET_ST: the core has been reset since DHCSR was last read (sticky, cleared by this read).
    pub reset_since_last_read: bool,
    /// S_RETIRE_ST: an instruction retired since the last read.
    pub retired_since_last_read: bool,
}

impl CoreStatus {
    fn decode(core: CoreId, dhcsr: u32) -> CoreStatus {
        // Debug state wins: a halt takes a locked-up core out of lockup.
        let state = if dhcsr & scs::S_HALT != 0 {
            CoreState::Halted
        } else if dhcsr & scs::S_LOCKUP != 0 {
            CoreState::Lockup
        } else if dhcsr & scs::S_SLEEP != 0 {
            CoreState::Sleeping
        } else {
            CoreState::Running
        };
        CoreStatus {
            core,
            dhcsr,
            state,
            debug_enabled: dhcsr & scs::C_DEBUGEN != 0,
            reset_since_last_read: dhcsr & scs::S_RESET_ST != 0,
            retired_since_last_read: dhcsr & scs::S_RETIRE_ST != 0,
        }
    }
}

/// A core register as DCRSR selects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreRegister {
    pub name: &'static str,
    pub regsel: u32,
    /// For the packed CONTROL/FAULTMASK/BASEPRI/PRIMASK word: (lsb, width) inside it.
    pub part: Option<(u32, u32)>,
}

macro_rules! reg {
    ($name:expr, $sel:expr) => {
        CoreRegister {
            name: $name,
            regsel: $sel,
            part: None,
        }
    };
    ($name:expr, $sel:expr, $lsb:expr, $w:expr) => {
        CoreRegister {
            name: $name,
            regsel: $sel,
            part: Some(($lsb, $w)),
        }
    };
}

const PACKED: u32 = regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK;

/// The core registers of `regs`, in display order (ARMv7-M C1.6.3 DCRSR REGSEL).
pub const CORE_REGISTERS: &[CoreRegister] = &[
    reg!("r0", 0),
    reg!("r1", 1),
    reg!("r2", 2),
    reg!("r3", 3),
    reg!("r4", 4),
    reg!("r5", 5),
    reg!("r6", 6),
    reg!("r7", 7),
    reg!("r8", 8),
    reg!("r9", 9),
    reg!("r10", 10),
    reg!("r11", 11),
    reg!("r12", 12),
    reg!("sp", regsel::SP),
    reg!("lr", regsel::LR),
    reg!("pc", regsel::PC),
    reg!("xpsr", regsel::XPSR),
    reg!("msp", regsel::MSP),
    reg!("psp", regsel::PSP),
    reg!("primask", PACKED, 0, 1),
    reg!("basepri", PACKED, 8, 8),
    reg!("faultmask", PACKED, 16, 1),
    reg!("control", PACKED, 24, 3),
    reg!("fpscr", regsel::FPSCR),
    reg!("s0", 64),
    reg!("s1", 65),
    reg!("s2", 66),
    reg!("s3", 67),
    reg!("s4", 68),
    reg!("s5", 69),
    reg!("s6", 70),
    reg!("s7", 71),
    reg!("s8", 72),
    reg!("s9", 73),
    reg!("s10", 74),
    reg!("s11", 75),
    reg!("s12", 76),
    reg!("s13", 77),
    reg!("s14", 78),
    reg!("s15", 79),
    reg!("s16", 80),
    reg!("s17", 81),
    reg!("s18", 82),
    reg!("s19", 83),
    reg!("s20", 84),
    reg!("s21", 85),
    reg!("s22", 86),
    reg!("s23", 87),
    reg!("s24", 88),
    reg!("s25", 89),
    reg!("s26", 90),
    reg!("s27", 91),
    reg!("s28", 92),
    reg!("s29", 93),
    reg!("s30", 94),
    reg!("s31", 95),
];

impl CoreRegister {
    /// Looks a register up by name (case-insensitive; r13/r14/r15 are sp/lr/pc).
    pub fn by_name(name: &str) -> Result<CoreRegister, TargetError> {
        let lower = name.to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "r13" => "sp",
            "r14" => "lr",
            "r15" => "pc",
            "psr" => "xpsr",
            other => other,
        };
        CORE_REGISTERS
            .iter()
            .find(|r| r.name == canonical)
            .copied()
            .ok_or_else(|| TargetError::UnknownCoreRegister(name.to_string()))
    }
}

impl Target {
    fn core_ap(core: CoreId) -> ApIndex {
        core.ap()
    }

    /// DHCSR decoded (reading it clears the sticky S_RESET_ST / S_RETIRE_ST).
    pub fn core_status(&mut self, core: CoreId) -> Result<CoreStatus, TargetError> {
        let dhcsr = self.read32(Self::core_ap(core), scs::DHCSR)?;
        Ok(CoreStatus::decode(core, dhcsr))
    }

    fn write_dhcsr(&mut self, core: CoreId, control: u32) -> Result<(), TargetError> {
        self.write32(
            Self::core_ap(core),
            scs::DHCSR,
            scs::DHCSR_DBGKEY | scs::C_DEBUGEN | control,
        )
    }

    /// Polls DHCSR until `done` holds or `timeout` passes on the target's clock. With
    /// `reset_window`, FAULT/WAIT answers (a core in reset) are polled through, not returned.
    fn poll_core(
        &mut self,
        core: CoreId,
        what: &str,
        timeout: Duration,
        reset_window: bool,
        done: impl Fn(&CoreStatus) -> bool,
    ) -> Result<CoreStatus, TargetError> {
        let deadline = self.clock.now() + timeout;
        loop {
            match self.core_status(core) {
                Ok(s) if done(&s) => return Ok(s),
                Ok(_) => {}
                Err(e) if reset_window && in_reset_window(&e) => {}
                Err(e) => return Err(e),
            }
            if self.clock.now() >= deadline {
                return Err(TargetError::Timeout(format!(
                    "{} did not {what} within {} ms",
                    core.name(),
                    timeout.as_millis()
                )));
            }
            self.clock.sleep(POLL_INTERVAL);
        }
    }

    /// Waits for the core to halt after `what`.
    pub(super) fn wait_core(
        &mut self,
        core: CoreId,
        what: &str,
        timeout: Duration,
        done: impl Fn(&CoreStatus) -> bool,
    ) -> Result<CoreStatus, TargetError> {
        self.poll_core(core, &format!("halt after {what}"), timeout, true, done)
    }

    fn wait_halted(&mut self, core: CoreId, what: &str) -> Result<CoreStatus, TargetError> {
        self.poll_core(
            core,
            &format!("halt after {what}"),
            HALT_TIMEOUT,
            false,
            |s| s.state == CoreState::Halted,
        )
    }

    /// Halts the core and waits for S_HALT.
    pub fn halt(&mut self, core: CoreId) -> Result<CoreStatus, TargetError> {
        self.write_dhcsr(core, scs::C_HALT)?;
        self.wait_halted(core, "C_HALT")
    }

    /// Resumes a halted core.
    pub fn resume(&mut self, core: CoreId) -> Result<CoreStatus, TargetError> {
        self.write_dhcsr(core, 0)?;
        self.core_status(core)
    }

    /// Executes one instruction with interrupts masked, as probe-rs does.
    pub fn step(&mut self, core: CoreId) -> Result<CoreStatus, TargetError> {
        let status = self.core_status(core)?;
        if status.state != CoreState::Halted {
            return Err(TargetError::NotHalted(core.ap().get()));
        }
        // C_MASKINTS may change only while halted (ARMv7-M C1.6.3: UNPREDICTABLE otherwise):
        // set it with C_HALT still 1, then step with it unchanged.
        self.write_dhcsr(core, scs::C_HALT | scs::C_MASKINTS)?;
        self.write_dhcsr(core, scs::C_STEP | scs::C_MASKINTS)?;
        let status = self.poll_core(core, "halt after a step", STEP_TIMEOUT, false, |s| {
            s.state == CoreState::Halted
        })?;
        // Clear C_MASKINTS, still halted, so a later resume runs with interrupts.
        self.write_dhcsr(core, scs::C_HALT)?;
        Ok(status)
    }

    /// Resets one core through its AIRCR.VECTRESET (the core, not the system). VECTRESET is
    /// defined only in Debug state (ARMv7-M B3.2.6), so the core is halted first; with `halt`,
    /// DEMCR.VC_CORERESET catches it at the reset vector (the catch is cleared afterwards),
    /// without, it runs from there. FAULT/WAIT answers while it resets are waited through.
    pub fn reset_core(&mut self, core: CoreId, halt: bool) -> Result<(), TargetError> {
        let ap = Self::core_ap(core);
        self.halt(core)?;
        let demcr = self.read32(ap, scs::DEMCR)?;
        self.write32(ap, scs::DEMCR, demcr | scs::VC_CORERESET)?;
        // Read DHCSR once so its sticky S_RESET_ST is clear before the reset.
        self.core_status(core)?;
        match self.write32(ap, scs::AIRCR, scs::AIRCR_VECTKEY | scs::AIRCR_VECTRESET) {
            Err(e) if !in_reset_window(&e) => return Err(e),
            _ => {}
        }
        // The APs keep their CSW through a reset (they are in the debug domain); opening them
        // again after one costs a few round trips and assumes nothing.
        self.forget_ap_states();
        let outcome = self.poll_core(
            core,
            "halt at its reset vector after VECTRESET",
            RESET_TIMEOUT,
            true,
            |s| s.state == CoreState::Halted && s.reset_since_last_read,
        );
        self.write32(ap, scs::DEMCR, demcr & !scs::VC_CORERESET)?;
        outcome?;
        if !halt {
            self.write_dhcsr(core, 0)?;
        }
        Ok(())
    }

    /// System reset through AIRCR.SYSRESETREQ of the CM7 (or the CM4 when the CM7 does not
    /// answer); with `halt`, every reachable core is caught at its reset vector.
    /// Returns the cores that were armed to halt.
    pub fn reset_system(&mut self, halt: bool) -> Result<Vec<CoreId>, TargetError> {
        let mut armed = Vec::new();
        for core in [CoreId::Cm7, CoreId::Cm4] {
            let ap = Self::core_ap(core);
            let Ok(demcr) = self.read32(ap, scs::DEMCR) else {
                continue;
            };
            let demcr = if halt {
                demcr | scs::VC_CORERESET
            } else {
                demcr & !scs::VC_CORERESET
            };
            if self.write32(ap, scs::DEMCR, demcr).is_ok() && halt {
                // Vector catch only acts with C_DEBUGEN set.
                let keep_halt = self
                    .core_status(core)
                    .map(|s| s.state == CoreState::Halted)
                    .unwrap_or(false);
                let _ = self.write_dhcsr(core, if keep_halt { scs::C_HALT } else { 0 });
                armed.push(core);
            }
        }
        let via = if self
            .read32(ApIndex::CM7, scs::CPUID)
            .map(|v| v != 0)
            .unwrap_or(false)
        {
            CoreId::Cm7
        } else {
            CoreId::Cm4
        };
        // The write's answer may be lost as the reset starts: a FAULT/WAIT then is the reset.
        match self.write32(
            Self::core_ap(via),
            scs::AIRCR,
            scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
        ) {
            Err(e) if !in_reset_window(&e) => return Err(e),
            _ => {}
        }
        self.invalidate();
        self.forget_ap_states();
        if halt {
            for core in &armed {
                self.wait_core(
                    *core,
                    "system reset with vector catch",
                    RESET_TIMEOUT,
                    |s| s.state == CoreState::Halted,
                )?;
            }
        }
        Ok(armed)
    }

    fn wait_regrdy(&mut self, core: CoreId) -> Result<(), TargetError> {
        let deadline = self.clock.now() + STEP_TIMEOUT;
        loop {
            if self.read32(Self::core_ap(core), scs::DHCSR)? & scs::S_REGRDY != 0 {
                return Ok(());
            }
            if self.clock.now() >= deadline {
                break;
            }
            self.clock.sleep(POLL_INTERVAL);
        }
        Err(TargetError::Timeout(format!(
            "{} register transfer (S_REGRDY)",
            core.name()
        )))
    }

    fn require_halted(&mut self, core: CoreId) -> Result<(), TargetError> {
        if self.core_status(core)?.state != CoreState::Halted {
            return Err(TargetError::NotHalted(core.ap().get()));
        }
        Ok(())
    }

    fn read_regsel(&mut self, core: CoreId, sel: u32) -> Result<u32, TargetError> {
        let ap = Self::core_ap(core);
        self.write32(ap, scs::DCRSR, sel)?;
        self.wait_regrdy(core)?;
        self.read32(ap, scs::DCRDR)
    }

    fn write_regsel(&mut self, core: CoreId, sel: u32, value: u32) -> Result<(), TargetError> {
        let ap = Self::core_ap(core);
        self.write32(ap, scs::DCRDR, value)?;
        self.write32(ap, scs::DCRSR, sel | scs::DCRSR_REGWNR)?;
        self.wait_regrdy(core)
    }

    /// Reads one core register of a halted core.
    pub fn read_core_reg(&mut self, core: CoreId, reg: CoreRegister) -> Result<u32, TargetError> {
        self.require_halted(core)?;
        let raw = self.read_regsel(core, reg.regsel)?;
        Ok(match reg.part {
            Some((lsb, width)) => (raw >> lsb) & ((1u32 << width) - 1),
            None => raw,
        })
    }

    /// Writes one core register of a halted core.
    pub fn write_core_reg(
        &mut self,
        core: CoreId,
        reg: CoreRegister,
        value: u32,
    ) -> Result<(), TargetError> {
        self.require_halted(core)?;
        let value = match reg.part {
            Some((lsb, width)) => {
                let mask = ((1u32 << width) - 1) << lsb;
                let raw = self.read_regsel(core, reg.regsel)?;
                (raw & !mask) | ((value << lsb) & mask)
            }
            None => value,
        };
        self.write_regsel(core, reg.regsel, value)
    }

    /// All core registers of a halted core, in display order.
    pub fn read_all_core_regs(
        &mut self,
        core: CoreId,
    ) -> Result<Vec<(&'static str, u32)>, TargetError> {
        self.require_halted(core)?;
        let mut out = Vec::with_capacity(CORE_REGISTERS.len());
        let mut packed = None;
        for reg in CORE_REGISTERS {
            let raw = if reg.regsel == PACKED {
                match packed {
                    Some(v) => v,
                    None => {
                        let v = self.read_regsel(core, PACKED)?;
                        packed = Some(v);
                        v
                    }
                }
            } else {
                self.read_regsel(core, reg.regsel)?
            };
            let value = match reg.part {
                Some((lsb, width)) => (raw >> lsb) & ((1u32 << width) - 1),
                None => raw,
            };
            out.push((reg.name, value));
        }
        Ok(out)
    }
}
