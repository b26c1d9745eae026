//! RCC: the registers with behaviour (RM0399 §9.7): CR ready flags, GCR boot bits, RSR reset flags.
//! Every other RCC register is a plain register of the chip.

use crate::h7::facts::{rcc, rcc_ext};

/// Why the last reset happened, for RCC_RSR (RM0399 §9.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCause {
    PowerOn,
    Pin,
    Software,
}

#[derive(Debug, Clone)]
pub struct Rcc {
    cr: u32,
    gcr: u32,
    rsr: u32,
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
            rsr: 0,
        }
    }

    /// System reset: registers back to reset values, the reset flags accumulate (RM0399 §9.4.4).
    pub fn reset(&mut self, cause: ResetCause) {
        self.cr = rcc_ext::CR_RESET;
        self.gcr = 0;
        self.rsr |= match cause {
            ResetCause::PowerOn => {
                rcc::RSR_PORRSTF
                    | rcc::RSR_BORRSTF
                    | rcc::RSR_PINRSTF
                    | rcc::RSR_D1RSTF
                    | rcc::RSR_D2RSTF
                    | rcc::RSR_CPURSTF
            }
            ResetCause::Pin => rcc::RSR_PINRSTF | rcc::RSR_CPURSTF,
            ResetCause::Software => rcc::RSR_SFTRSTF | rcc::RSR_PINRSTF | rcc::RSR_CPURSTF,
        };
    }

    /// Power loss: the flags are cleared before the power-on flags are set.
    pub fn power_on(&mut self) {
        self.rsr = 0;
        self.reset(ResetCause::PowerOn);
    }

    /// Read of an RCC offset; `None` = plain register.
    pub fn read(&self, off: u64, d1_ready: bool, d2_ready: bool) -> Option<u32> {
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
            rcc::RSR | rcc::C1_RSR | rcc::C2_RSR => Some(self.rsr),
            _ => None,
        }
    }

    /// Write of an RCC offset; `None` = plain register.
    pub fn write(&mut self, off: u64, value: u32) -> Option<GcrEffect> {
        match off {
            rcc::CR => {
                let ro = rcc_ext::CR_ON_RDY.iter().fold(0, |m, (_, r)| m | r)
                    | rcc::CR_D1CKRDY
                    | rcc::CR_D2CKRDY;
                self.cr = value & !ro;
                Some(GcrEffect::default())
            }
            rcc::GCR => {
                // BOOT_C1/BOOT_C2 are set-only until the next reset (RM0399 §9.7.29).
                let keep = self.gcr & (rcc::GCR_BOOT_C1 | rcc::GCR_BOOT_C2);
                self.gcr = (value
                    & (rcc::GCR_WW1RSC | rcc::GCR_WW2RSC | rcc::GCR_BOOT_C1 | rcc::GCR_BOOT_C2))
                    | keep;
                Some(GcrEffect {
                    boot_c1: self.gcr & rcc::GCR_BOOT_C1 != 0,
                    boot_c2: self.gcr & rcc::GCR_BOOT_C2 != 0,
                })
            }
            rcc::RSR | rcc::C1_RSR | rcc::C2_RSR => {
                if value & rcc::RSR_RMVF != 0 {
                    self.rsr = 0;
                }
                Some(GcrEffect::default())
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

    #[test]
    fn ready_flags_follow_enables_and_domains() {
        let mut r = Rcc::new();
        let cr = r.read(rcc::CR, true, false).unwrap();
        assert_eq!(
            cr & (rcc::CR_HSION | rcc::CR_HSIRDY),
            rcc::CR_HSION | rcc::CR_HSIRDY
        );
        assert_eq!(cr & rcc::CR_D2CKRDY, 0);
        r.write(rcc::CR, rcc::CR_D2CKRDY); // read-only bit, HSI off
        assert_eq!(r.read(rcc::CR, true, true).unwrap() & rcc::CR_HSIRDY, 0);
        assert_ne!(r.read(rcc::CR, true, true).unwrap() & rcc::CR_D2CKRDY, 0);
    }

    #[test]
    fn reset_flags_and_boot_bits() {
        let mut r = Rcc::new();
        r.power_on();
        assert_ne!(r.read(rcc::RSR, true, true).unwrap() & rcc::RSR_PORRSTF, 0);
        r.write(rcc::RSR, rcc::RSR_RMVF);
        assert_eq!(r.read(rcc::C2_RSR, true, true), Some(0));
        r.reset(ResetCause::Software);
        assert_ne!(r.read(rcc::RSR, true, true).unwrap() & rcc::RSR_SFTRSTF, 0);
        let e = r.write(rcc::GCR, rcc::GCR_BOOT_C2).unwrap();
        assert!(e.boot_c2 && !e.boot_c1);
        let e = r.write(rcc::GCR, 0).unwrap();
        assert!(e.boot_c2, "BOOT_C2 stays set until reset");
    }
}
