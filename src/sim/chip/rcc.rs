//! RCC: the registers with behaviour (RM0399 §9.7): CR ready flags, GCR boot bits, RSR reset flags.
//! Every other RCC register is a plain register of the chip.

use crate::h7::facts::{rcc, rcc_ext};

/// Why the last reset happened, for the reset flags (RM0399 §9.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCause {
    PowerOn,
    Pin,
    /// SYSRESETREQ from the CM7 (true) or the CM4 (false).
    Software {
        cm7: bool,
    },
    /// IWDG1 (true) or IWDG2 (false) reached 0.
    Iwdg {
        cm7: bool,
    },
    /// WWDG1 (true) or WWDG2 (false) with RCC_GCR.WWxRSC = 1: a system reset.
    Wwdg {
        cm7: bool,
    },
    /// D2 entered Stop/Standby with NRST_STOP_D2/NRST_STBY_D2 = 0 ("illegal" low-power entry
    /// of CPU2; CPU1 for D1).
    LowPower {
        cm7: bool,
    },
}

impl ResetCause {
    /// The flags a system reset from this cause sets: both cores are reset (C1RSTF, C2RSTF);
    /// an internal reset also drives NRST low, so PINRSTF comes with it (RM0399 §9.4.2).
    fn flags(self) -> u32 {
        let cores = rcc::RSR_C1RSTF | rcc::RSR_C2RSTF;
        match self {
            ResetCause::PowerOn => {
                rcc::RSR_PORRSTF
                    | rcc::RSR_BORRSTF
                    | rcc::RSR_PINRSTF
                    | rcc::RSR_D1RSTF
                    | rcc::RSR_D2RSTF
                    | cores
            }
            ResetCause::Pin => rcc::RSR_PINRSTF | cores,
            ResetCause::Software { cm7: true } => rcc::RSR_SFT1RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::Software { cm7: false } => rcc::RSR_SFT2RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::Iwdg { cm7: true } => rcc::RSR_IWDG1RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::Iwdg { cm7: false } => rcc::RSR_IWDG2RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::Wwdg { cm7: true } => rcc::RSR_WWDG1RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::Wwdg { cm7: false } => rcc::RSR_WWDG2RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::LowPower { cm7: true } => rcc::RSR_LPWR1RSTF | rcc::RSR_PINRSTF | cores,
            ResetCause::LowPower { cm7: false } => rcc::RSR_LPWR2RSTF | rcc::RSR_PINRSTF | cores,
        }
    }
}

/// Which core's copy of the reset flags an access reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsrView {
    Cm7,
    Cm4,
}

#[derive(Debug, Clone)]
pub struct Rcc {
    cr: u32,
    gcr: u32,
    /// The reset flags, one copy per core: each core clears its own with RMVF.
    rsr: [u32; 2],
}

/// What a write asks the chip to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GcrEffect {
    pub boot_c1: bool,
    pub boot_c2: bool,
}

impl Rcc {
    pub fn new() -> Self {
        Self {
            cr: rcc_ext::CR_RESET,
            gcr: 0,
            rsr: [0; 2],
        }
    }

    /// System reset: registers back to reset values, the reset flags accumulate (RM0399 §9.4.4).
    pub fn reset(&mut self, cause: ResetCause) {
        self.cr = rcc_ext::CR_RESET;
        self.gcr = 0;
        for copy in &mut self.rsr {
            *copy |= cause.flags();
        }
    }

    /// A reset short of a system reset (D2 out of Standby, one CPU by its window watchdog):
    /// its flags, in both copies.
    pub fn note_partial_reset(&mut self, flags: u32) {
        for copy in &mut self.rsr {
            *copy |= flags;
        }
    }

    /// RCC_GCR.WW1RSC (CM7) / WW2RSC (CM4): a window-watchdog reset resets the system.
    pub fn wwdg_resets_system(&self, cm7: bool) -> bool {
        let bit = if cm7 {
            rcc::GCR_WW1RSC
        } else {
            rcc::GCR_WW2RSC
        };
        self.gcr & bit != 0
    }

    /// Power loss: the flags are cleared before the power-on flags are set.
    pub fn power_on(&mut self) {
        self.rsr = [0; 2];
        self.reset(ResetCause::PowerOn);
    }

    /// The copy of the reset flags at `off` for an access from `view`'s side.
    fn rsr_copy(off: u64, view: RsrView) -> Option<usize> {
        match (off, view) {
            (rcc::C1_RSR, _) | (rcc::RSR, RsrView::Cm7) => Some(0),
            (rcc::C2_RSR, _) | (rcc::RSR, RsrView::Cm4) => Some(1),
            _ => None,
        }
    }

    /// Read of an RCC offset from `view`'s side; `None` = plain register.
    pub fn read(&self, off: u64, view: RsrView, d1_ready: bool, d2_ready: bool) -> Option<u32> {
        if let Some(copy) = Self::rsr_copy(off, view) {
            return Some(self.rsr[copy]);
        }
        match off {
            rcc::CR => {
                let mut v = self.cr;
                for (on, rdy) in rcc_ext::CR_ON_RDY {
                    // Oscillators and PLLs lock at once in virtual time.
                    if v & on != 0 {
                        v |= rdy;
                    }
                }
                if d1_ready {
                    v |= rcc::CR_D1CKRDY;
                }
                if d2_ready {
                    v |= rcc::CR_D2CKRDY;
                }
                Some(v)
            }
            rcc::GCR => Some(self.gcr),
            _ => None,
        }
    }

    /// Write of an RCC offset from `view`'s side; `None` = plain register.
    pub fn write(&mut self, off: u64, view: RsrView, value: u32) -> Option<GcrEffect> {
        if let Some(copy) = Self::rsr_copy(off, view) {
            // RMVF clears this core's flags only (RM0399 §9.7.42).
            if value & rcc::RSR_RMVF != 0 {
                self.rsr[copy] = 0;
            }
            return Some(GcrEffect::default());
        }
        match off {
            rcc::CR => {
                let ro = rcc_ext::CR_ON_RDY.iter().fold(0, |m, (_, r)| m | r)
                    | rcc::CR_D1CKRDY
                    | rcc::CR_D2CKRDY;
                self.cr = value & !ro;
                Some(GcrEffect::default())
            }
            rcc::GCR => {
                // BOOT_C1/BOOT_C2 and WW1RSC/WW2RSC are set-only until the next system reset
                // (RM0399 §9.7.29: set by software, cleared by hardware at a system reset).
                let keep = self.gcr
                    & (rcc::GCR_BOOT_C1 | rcc::GCR_BOOT_C2 | rcc::GCR_WW1RSC | rcc::GCR_WW2RSC);
                self.gcr = (value
                    & (rcc::GCR_WW1RSC | rcc::GCR_WW2RSC | rcc::GCR_BOOT_C1 | rcc::GCR_BOOT_C2))
                    | keep;
                Some(GcrEffect {
                    boot_c1: self.gcr & rcc::GCR_BOOT_C1 != 0,
                    boot_c2: self.gcr & rcc::GCR_BOOT_C2 != 0,
                })
            }
            _ => None,
        }
    }
}

impl Default for Rcc {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM7: RsrView = RsrView::Cm7;
    const CM4: RsrView = RsrView::Cm4;

    #[test]
    fn ready_flags_follow_enables_and_domains() {
        let mut r = Rcc::new();
        let cr = r.read(rcc::CR, CM7, true, false).unwrap();
        assert_eq!(
            cr & (rcc::CR_HSION | rcc::CR_HSIRDY),
            rcc::CR_HSION | rcc::CR_HSIRDY
        );
        assert_eq!(cr & rcc::CR_D2CKRDY, 0);
        r.write(rcc::CR, CM7, rcc::CR_D2CKRDY); // read-only bit, HSI off
        let cr = r.read(rcc::CR, CM7, true, true).unwrap();
        assert_eq!(cr & rcc::CR_HSIRDY, 0);
        assert_ne!(cr & rcc::CR_D2CKRDY, 0);
    }

    #[test]
    fn each_core_has_its_own_reset_flags() {
        let mut r = Rcc::new();
        r.power_on();
        let por = r.read(rcc::C1_RSR, CM4, true, true).unwrap();
        assert_eq!(
            por & (rcc::RSR_PORRSTF | rcc::RSR_C1RSTF | rcc::RSR_C2RSTF),
            rcc::RSR_PORRSTF | rcc::RSR_C1RSTF | rcc::RSR_C2RSTF
        );
        // RMVF through RSR from the CM7's side clears the CM7's copy only.
        r.write(rcc::RSR, CM7, rcc::RSR_RMVF);
        assert_eq!(r.read(rcc::C1_RSR, CM4, true, true), Some(0));
        assert_eq!(r.read(rcc::RSR, CM4, true, true), Some(por));
        assert_eq!(r.read(rcc::C2_RSR, CM7, true, true), Some(por));
        r.reset(ResetCause::Software { cm7: false });
        let cm7 = r.read(rcc::RSR, CM7, true, true).unwrap();
        assert_eq!(
            cm7,
            rcc::RSR_SFT2RSTF | rcc::RSR_PINRSTF | rcc::RSR_C1RSTF | rcc::RSR_C2RSTF
        );
        assert_eq!(r.read(rcc::C2_RSR, CM7, true, true), Some(por | cm7));
        // The old single-core offset 0x1D0 is no reset-status register.
        assert_eq!(r.read(0x1D0, CM7, true, true), None);
    }

    #[test]
    fn boot_and_window_watchdog_scope_bits_are_set_only() {
        let mut r = Rcc::new();
        r.write(rcc::GCR, CM7, rcc::GCR_WW1RSC);
        r.write(rcc::GCR, CM7, 0);
        assert!(r.wwdg_resets_system(true), "WW1RSC stays set until reset");
        assert!(!r.wwdg_resets_system(false));
        let e = r.write(rcc::GCR, CM7, rcc::GCR_BOOT_C2).unwrap();
        assert!(e.boot_c2 && !e.boot_c1);
        let e = r.write(rcc::GCR, CM7, 0).unwrap();
        assert!(e.boot_c2, "BOOT_C2 stays set until reset");
        r.reset(ResetCause::Pin);
        assert!(!r.wwdg_resets_system(true), "cleared by a system reset");
    }
}
