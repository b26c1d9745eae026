//! Per-core Cortex-M debug model: the SCS debug registers, the register file behind DCRSR/DCRDR,
//! halting and stepping, reset and lockup (ARMv7-M C1.6 "Debug system registers", B3.2 "System
//! control space"). The core never executes Thumb code: while it runs, its firmware behaviour
//! (see `firmware.rs`) decides what the registers show.

use std::collections::BTreeMap;

use super::regs::{Aircr, Dcrsr, Dhcsr};
use super::rom::{self, CoreKind};
use crate::h7::facts::{cpuid, rom as romf, scs, scs::regsel, scs_ext as x};

/// Why a core cannot run right now, independent of debug halting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Running (or halted, asleep, locked up: see the other flags).
    None,
    /// NRST asserted: held in reset.
    Reset,
    /// Not booted: BCMx = 0 and the other core has not set RCC_GCR.BOOT_Cx.
    Gated,
}

/// What a debug-register write asks the chip to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreEffect {
    None,
    /// AIRCR.SYSRESETREQ: reset the whole system.
    SystemReset,
    /// AIRCR.VECTRESET: reset this core only.
    CoreReset,
    /// The core entered debug state.
    Halted,
}

/// One Cortex-M core as its debugger sees it.
#[derive(Debug, Clone)]
pub struct Core {
    pub kind: CoreKind,
    pub hold: Hold,
    /// r0..r12, (13 unused: SP is MSP or PSP), lr, pc (debug return address).
    pub r: [u32; 16],
    pub xpsr: u32,
    pub msp: u32,
    pub psp: u32,
    /// CONTROL[31:24], FAULTMASK[23:16], BASEPRI[15:8], PRIMASK[7:0] (regsel 20).
    pub special: u32,
    pub fpscr: u32,
    pub s: [u32; 32],
    pub halted: bool,
    pub lockup: bool,
    pub sleeping: bool,
    /// Sleep is a deep sleep (SLEEPDEEP: Stop of the core's domain).
    pub deep_sleep: bool,
    /// Retired instructions since DHCSR was last read.
    pub retire_st: bool,
    /// The core was reset since DHCSR was last read.
    reset_st: bool,
    regrdy: bool,
    /// Resuming enters lockup: halted by vector catch on an unusable reset vector.
    lockup_on_resume: bool,
    dhcsr_ctl: u32,
    dcrdr: u32,
    demcr: u32,
    prigroup: u32,
    pub vtor: u32,
    cfsr: u32,
    hfsr: u32,
    dfsr: u32,
    fp_ctrl: u32,
    dwt_ctrl: u32,
    plain: BTreeMap<u32, u32>,
}

/// Control bits of DHCSR kept from a write.
const DHCSR_CTL: u32 = scs::C_DEBUGEN | scs::C_HALT | scs::C_STEP | scs::C_MASKINTS;
/// CONTROL.SPSEL inside the regsel-20 word.
const SPSEL: u32 = 1 << 25;

impl Core {
    pub fn new(kind: CoreKind) -> Self {
        Self {
            kind,
            hold: Hold::None,
            r: [0; 16],
            xpsr: x::XPSR_RESET,
            msp: 0,
            psp: 0,
            special: 0,
            fpscr: 0,
            s: [0; 32],
            halted: false,
            lockup: false,
            sleeping: false,
            deep_sleep: false,
            retire_st: false,
            reset_st: true,
            regrdy: false,
            lockup_on_resume: false,
            dhcsr_ctl: 0,
            dcrdr: 0,
            demcr: 0,
            prigroup: 0,
            vtor: 0,
            cfsr: 0,
            hfsr: 0,
            dfsr: 0,
            fp_ctrl: Self::fp_ctrl_reset(kind),
            dwt_ctrl: x::DWT_CTRL_RESET,
            plain: BTreeMap::new(),
        }
    }

    fn fp_ctrl_reset(kind: CoreKind) -> u32 {
        match kind {
            CoreKind::Cm7 => x::FP_CTRL_CM7,
            CoreKind::Cm4 => x::FP_CTRL_CM4,
        }
    }

    /// Power-on reset: the debug logic too (DHCSR, DEMCR, DWT, FPB) (ARMv7-M C1.6).
    pub fn power_on_reset(&mut self) {
        *self = Self::new(self.kind);
    }

    /// Local (core) reset: processor state only; debug registers survive (ARMv7-M B1.5.5).
    pub fn core_reset(&mut self) {
        self.r = [0; 16];
        self.r[14] = 0xFFFF_FFFF;
        self.xpsr = x::XPSR_RESET;
        self.msp = 0;
        self.psp = 0;
        self.special = 0;
        self.fpscr = 0;
        self.s = [0; 32];
        self.halted = false;
        self.lockup = false;
        self.sleeping = false;
        self.deep_sleep = false;
        self.lockup_on_resume = false;
        self.reset_st = true;
        self.regrdy = false;
        self.cfsr = 0;
        self.hfsr = 0;
        self.prigroup = 0;
        self.plain.retain(|a, _| !Self::is_scs_system_reg(*a));
    }

    /// SCS registers (other than debug ones) that a reset returns to 0 (SHCSR, SCR, CCR...).
    fn is_scs_system_reg(addr: u32) -> bool {
        (0xE000_ED00..0xE000_ED90).contains(&addr) || (0xE000_E100..0xE000_E500).contains(&addr)
    }

    pub fn debugen(&self) -> bool {
        self.dhcsr_ctl & scs::C_DEBUGEN != 0
    }

    /// True when the core's firmware may advance.
    pub fn running(&self) -> bool {
        self.hold == Hold::None && !self.halted && !self.lockup
    }

    /// Leave reset: take SP/PC from the vector table at `boot_addr`. `usable` = false when the
    /// reset vector cannot be executed (erased flash, no Thumb bit, nothing mapped).
    /// Returns true when the core halted on the way (vector catch or a pending C_HALT).
    pub fn start(&mut self, boot_addr: u32, sp: u32, pc: u32, usable: bool) -> bool {
        self.vtor = boot_addr;
        self.msp = sp & !3;
        self.r[15] = pc & !1;
        self.xpsr = x::XPSR_RESET;
        self.hold = Hold::None;
        let catch = self.debugen()
            && (self.demcr & scs::VC_CORERESET != 0 || self.dhcsr_ctl & scs::C_HALT != 0);
        if catch {
            self.halted = true;
            self.dhcsr_ctl |= scs::C_HALT;
            self.dfsr |= x::DFSR_VCATCH | x::DFSR_HALTED;
            self.lockup_on_resume = !usable;
            return true;
        }
        if !usable {
            self.enter_lockup(pc);
        }
        false
    }

    /// Lockup after an unusable reset vector (ARMv7-M B1.5.15).
    pub fn enter_lockup(&mut self, bad_pc: u32) {
        self.lockup = true;
        self.sleeping = false;
        self.hfsr |= x::HFSR_FORCED;
        if bad_pc & 1 == 0 {
            self.cfsr |= x::CFSR_INVSTATE;
        } else {
            self.hfsr |= x::HFSR_VECTTBL;
        }
        self.r[15] = x::LOCKUP_PC;
    }

    /// Enter debug state (C_HALT): wakes a sleeping core, and takes a locked-up core out of
    /// lockup (ARMv7-M B1.5.15: entry to Debug state exits Lockup); resuming at the lockup
    /// address locks it up again.
    pub fn halt(&mut self) {
        if self.lockup {
            self.lockup = false;
            self.lockup_on_resume = true;
        }
        if !self.halted {
            self.halted = true;
            self.sleeping = false;
            self.deep_sleep = false;
            self.dfsr |= x::DFSR_HALTED;
        }
    }

    fn resume(&mut self) {
        self.halted = false;
        if self.lockup_on_resume {
            self.lockup_on_resume = false;
            let pc = self.r[15] | 1;
            self.enter_lockup(pc);
        }
    }

    /// DHCSR as read (ARMv7-M C1.6.2); the sticky bits clear when `side_effects`.
    fn dhcsr(&mut self, side_effects: bool) -> u32 {
        let ctl = Dhcsr(self.dhcsr_ctl);
        let mut v = Dhcsr(0);
        v.set_c_debugen(ctl.c_debugen());
        v.set_c_step(ctl.c_step());
        v.set_c_maskints(ctl.c_maskints());
        v.set_c_halt(self.halted);
        v.set_s_halt(self.halted);
        v.set_s_regrdy(self.regrdy);
        v.set_s_sleep(self.sleeping);
        v.set_s_lockup(self.lockup);
        v.set_s_retire_st(self.retire_st);
        v.set_s_reset_st(self.reset_st || self.hold == Hold::Reset);
        if side_effects {
            self.retire_st = false;
            self.reset_st = false;
        }
        v.0
    }

    fn write_dhcsr(&mut self, value: u32) -> CoreEffect {
        let w = Dhcsr(value);
        if u32::from(w.dbgkey()) << 16 != scs::DHCSR_DBGKEY {
            return CoreEffect::None;
        }
        if !w.c_debugen() {
            // Clearing C_DEBUGEN leaves debug state (ARMv7-M C1.6.2).
            self.dhcsr_ctl = 0;
            if self.halted {
                self.resume();
            }
            return CoreEffect::None;
        }
        self.dhcsr_ctl = value & DHCSR_CTL;
        if self.hold != Hold::None {
            // Acts when the core leaves reset / is released.
            return CoreEffect::None;
        }
        if w.c_halt() {
            let was = self.halted;
            self.halt();
            if !was {
                return CoreEffect::Halted;
            }
        } else if self.halted {
            if w.c_step() {
                // One "instruction": a 16-bit Thumb instruction at PC.
                self.r[15] = self.r[15].wrapping_add(2);
                self.retire_st = true;
                self.dfsr |= x::DFSR_HALTED;
            } else {
                self.resume();
            }
        }
        CoreEffect::None
    }

    /// Register file access by DCRSR REGSEL; `None` for a reserved selector.
    fn reg_mut(&mut self, sel: u32) -> Option<&mut u32> {
        let spsel = self.special & SPSEL != 0;
        Some(match sel {
            0..=12 | regsel::LR | regsel::PC => &mut self.r[sel as usize],
            regsel::SP if spsel => &mut self.psp,
            regsel::SP => &mut self.msp,
            regsel::XPSR => &mut self.xpsr,
            regsel::MSP => &mut self.msp,
            regsel::PSP => &mut self.psp,
            regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK => &mut self.special,
            regsel::FPSCR => &mut self.fpscr,
            s if (regsel::S0..regsel::S0 + 32).contains(&s) => {
                &mut self.s[(s - regsel::S0) as usize]
            }
            _ => return None,
        })
    }

    /// Register by DCRSR REGSEL, for the shell and tests.
    pub fn reg(&self, sel: u32) -> Option<u32> {
        let mut c = self.clone();
        c.reg_mut(sel).map(|r| *r)
    }

    fn write_dcrsr(&mut self, value: u32) {
        // Transfers happen only in debug state (ARMv7-M C1.6.3); they complete at once.
        if !self.halted {
            return;
        }
        let w = Dcrsr(value);
        let data = self.dcrdr;
        if let Some(r) = self.reg_mut(u32::from(w.regsel())) {
            if w.regwnr() {
                *r = data;
            } else {
                let v = *r;
                self.dcrdr = v;
            }
        }
        self.regrdy = true;
    }

    /// DWT and ITM with DEMCR.TRCENA = 0: disabled (ARMv7-M C1.6.5); every register of theirs,
    /// the CoreSight IDs included, reads as zero and ignores writes, as pyOCD found on a
    /// Cortex-M4 (PR #279: it sets TRCENA before reading ROM tables). Unverified on the CM7.
    fn trace_disabled(&self, block: u64) -> bool {
        let etm = self.kind == CoreKind::Cm7 && block == crate::h7::facts::coresight::ETM_CM7;
        (block == romf::DWT || block == romf::ITM || etm) && self.demcr & scs::TRCENA == 0
    }

    /// Read of PPB address `addr` (word aligned).
    pub fn read(&mut self, addr: u32, side_effects: bool) -> u32 {
        let a = u64::from(addr);
        let block = a & !0xFFF;
        if self.trace_disabled(block) {
            return 0;
        }
        if let Some(id) = rom::ppb_component(self.kind, block) {
            if rom::is_id_offset(a & 0xFFF) {
                return id.register(a & 0xFFF).unwrap_or(0);
            }
        }
        if block == romf::CORE_ROM {
            return rom::RomTable::Core(self.kind).read(a & 0xFFF);
        }
        match a {
            scs::CPUID => match self.kind {
                CoreKind::Cm7 => cpuid::CM7,
                CoreKind::Cm4 => cpuid::CM4,
            },
            x::MVFR0 => match self.kind {
                CoreKind::Cm7 => x::MVFR0_CM7,
                CoreKind::Cm4 => x::MVFR0_CM4,
            },
            scs::VTOR => self.vtor,
            scs::AIRCR => x::AIRCR_VECTKEYSTAT | self.prigroup,
            scs::CFSR => self.cfsr,
            scs::HFSR => self.hfsr,
            scs::DFSR => self.dfsr,
            scs::DHCSR => self.dhcsr(side_effects),
            scs::DCRSR => 0,
            scs::DCRDR => self.dcrdr,
            scs::DEMCR => self.demcr,
            x::DWT_CTRL => self.dwt_ctrl,
            x::FP_CTRL => self.fp_ctrl,
            _ => self.plain.get(&addr).copied().unwrap_or(0),
        }
    }

    /// Write of PPB address `addr` (word aligned).
    pub fn write(&mut self, addr: u32, value: u32) -> CoreEffect {
        let a = u64::from(addr);
        let block = a & !0xFFF;
        if (rom::ppb_component(self.kind, block).is_some() && rom::is_id_offset(a & 0xFFF))
            || block == romf::CORE_ROM
        {
            return CoreEffect::None;
        }
        if self.trace_disabled(block) {
            return CoreEffect::None;
        }
        match a {
            scs::CPUID | x::MVFR0 => {}
            scs::DCRSR => self.write_dcrsr(value),
            scs::VTOR => self.vtor = value & !0x7F,
            scs::AIRCR => {
                let w = Aircr(value);
                if u32::from(w.vectkey()) << 16 == scs::AIRCR_VECTKEY {
                    self.prigroup = value & x::AIRCR_PRIGROUP_MASK;
                    if w.sysresetreq() {
                        return CoreEffect::SystemReset;
                    }
                    if w.vectreset() {
                        return CoreEffect::CoreReset;
                    }
                }
            }
            // Fault status registers are write-one-to-clear.
            scs::CFSR => self.cfsr &= !value,
            scs::HFSR => self.hfsr &= !value,
            scs::DFSR => self.dfsr &= !value,
            scs::DHCSR => return self.write_dhcsr(value),
            scs::DCRDR => self.dcrdr = value,
            scs::DEMCR => self.demcr = value,
            x::DWT_CTRL => {
                self.dwt_ctrl = (x::DWT_CTRL_RESET & 0xF000_0000) | (value & 0x0FFF_FFFF)
            }
            x::FP_CTRL => {
                if value & x::FP_CTRL_KEY != 0 {
                    self.fp_ctrl =
                        (self.fp_ctrl & !x::FP_CTRL_ENABLE) | (value & x::FP_CTRL_ENABLE);
                }
            }
            _ => {
                if value == 0 {
                    self.plain.remove(&addr);
                } else {
                    self.plain.insert(addr, value);
                }
            }
        }
        CoreEffect::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dh(v: u32) -> u32 {
        scs::DHCSR_DBGKEY | v
    }

    #[test]
    fn halt_step_resume() {
        let mut c = Core::new(CoreKind::Cm7);
        c.start(0x0800_0000, 0x2002_0000, 0x0800_02C1, true);
        assert_eq!(c.write(scs::DHCSR as u32, scs::C_HALT), CoreEffect::None);
        assert!(!c.halted, "write without DBGKEY is ignored");
        assert_eq!(
            c.write(scs::DHCSR as u32, dh(scs::C_DEBUGEN | scs::C_HALT)),
            CoreEffect::Halted
        );
        let pc = c.r[15];
        c.write(scs::DHCSR as u32, dh(scs::C_DEBUGEN | scs::C_STEP));
        assert!(c.halted);
        assert_eq!(c.r[15], pc + 2);
        c.write(scs::DHCSR as u32, dh(scs::C_DEBUGEN));
        assert!(!c.halted);
    }
}
