//! Window watchdogs WWDG1 (CPU1) and WWDG2 (CPU2) (RM0399 §47): a 7-bit down-counter on the
//! APB clock, started by CR.WDGA (which only a reset clears). It resets when T6 falls (T goes
//! from 0x40 to 0x3F) or when CR is written while T is above the window W. What the reset resets
//! is RCC_GCR.WWxRSC's choice: the watchdog's own CPU, or the system.

use super::countdown::Countdown;
use crate::h7::facts::wwdg as k;

/// T6 falling: the counter reaching 0x3F resets.
const T_RESET: u32 = 0x3F;

#[derive(Debug, Clone)]
pub struct Wwdg {
    running: bool,
    /// CR.T.
    t: Countdown,
    w: u32,
    cfr: u32,
}

impl Default for Wwdg {
    fn default() -> Self {
        let mut t = Countdown::default();
        t.load(k::RESET_7F);
        Wwdg {
            running: false,
            t,
            w: k::RESET_7F,
            cfr: k::RESET_7F,
        }
    }
}

impl Wwdg {
    pub fn running(&self) -> bool {
        self.running
    }

    fn step_nanos(&self) -> u64 {
        k::STEP_NANOS_TB0 << ((self.cfr >> k::CFR_WDGTB_SHIFT) & 0x7)
    }

    /// Time until T6 falls, if it runs.
    pub fn nanos_left(&self) -> Option<u64> {
        self.running
            .then(|| self.t.nanos_to(T_RESET, self.step_nanos()))
    }

    /// `nanos` of APB time; true when the watchdog resets.
    pub fn advance(&mut self, nanos: u64) -> bool {
        self.running && self.t.advance(T_RESET, self.step_nanos(), nanos)
    }

    pub fn read(&self, off: u64) -> Option<u32> {
        match off {
            k::CR => Some(self.t.value | if self.running { k::CR_WDGA } else { 0 }),
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
                if self.running && self.t.value > self.w {
                    // Refreshed before the window opened.
                    return Some(true);
                }
                self.running |= value & k::CR_WDGA != 0;
                self.t.load(t);
                Some(self.running && t & 0x40 == 0)
            }
            k::CFR => {
                // A new WDGTB: the running step starts again at the new rate.
                self.cfr = value & 0x3FFF;
                self.w = value & 0x7F;
                self.t.restart_step();
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
