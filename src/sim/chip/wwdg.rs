//! Window watchdogs WWDG1 (CPU1) and WWDG2 (CPU2) (RM0399 §47): a 7-bit down-counter on the
//! APB clock, started by CR.WDGA (which only a reset clears). It resets when T6 falls (T goes
//! from 0x40 to 0x3F) or when CR is written while T is above the window W. What the reset resets
//! is RCC_GCR.WWxRSC's choice: the watchdog's own CPU, or the system.

use crate::h7::facts::wwdg as k;

#[derive(Debug, Clone)]
pub struct Wwdg {
    running: bool,
    t: u32,
    w: u32,
    cfr: u32,
    part: u64,
}

impl Default for Wwdg {
    fn default() -> Self {
        Wwdg {
            running: false,
            t: k::RESET_7F,
            w: k::RESET_7F,
            cfr: k::RESET_7F,
            part: 0,
        }
    }
}

impl Wwdg {
    fn step_nanos(&self) -> u64 {
        k::STEP_NANOS_TB0 << ((self.cfr >> k::CFR_WDGTB_SHIFT) & 0x7)
    }

    /// Time until T6 falls, if it runs.
    pub fn nanos_left(&self) -> Option<u64> {
        let steps = u64::from(self.t.saturating_sub(0x3F));
        self.running
            .then(|| (steps * self.step_nanos()).saturating_sub(self.part))
    }

    /// `nanos` of APB time; true when the watchdog resets.
    pub fn advance(&mut self, nanos: u64) -> bool {
        if !self.running {
            return false;
        }
        self.part += nanos;
        let step = self.step_nanos();
        let steps = self.part / step;
        self.part %= step;
        let to_reset = u64::from(self.t.saturating_sub(0x3F));
        if steps >= to_reset {
            self.t = 0x3F;
            return true;
        }
        self.t -= steps as u32;
        false
    }

    pub fn read(&self, off: u64) -> Option<u32> {
        match off {
            k::CR => Some(self.t | if self.running { k::CR_WDGA } else { 0 }),
            k::CFR => Some(self.cfr),
            // EWIF: the early-wakeup interrupt is not modelled.
            k::SR => Some(0),
            _ => None,
        }
    }

    /// A register write; true when it makes the watchdog reset (refreshed outside the window or
    /// T6 written as 0 while running).
    pub fn write(&mut self, off: u64, value: u32) -> Option<bool> {
        match off {
            k::CR => {
                let t = value & 0x7F;
                if self.running && self.t > self.w {
                    // Refreshed before the window opened.
                    return Some(true);
                }
                self.running |= value & k::CR_WDGA != 0;
                self.t = t;
                self.part = 0;
                Some(self.running && t & 0x40 == 0)
            }
            k::CFR => {
                // A new WDGTB: the running step starts again at the new rate.
                self.cfr = value & 0x3FFF;
                self.w = value & 0x7F;
                self.part = 0;
                Some(false)
            }
            k::SR => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_to_t6_and_refuses_early_refresh() {
        let mut w = Wwdg::default();
        assert!(!w.advance(1_000_000_000), "stopped until WDGA");
        assert_eq!(w.write(k::CR, k::CR_WDGA | 0x7F), Some(false));
        assert_eq!(w.nanos_left(), Some(0x40 * 64_000));
        assert!(!w.advance(0x3F * 64_000));
        assert!(w.advance(64_000), "T6 falls");
        // A window of 0x50: refreshing while T > 0x50 resets.
        let mut w = Wwdg::default();
        w.write(k::CFR, 0x50);
        w.write(k::CR, k::CR_WDGA | 0x7F);
        assert_eq!(w.write(k::CR, 0x7F), Some(true));
    }
}
