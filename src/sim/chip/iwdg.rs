//! Independent watchdogs IWDG1 (CPU1) and IWDG2 (CPU2) (RM0399 §45): a 12-bit down-counter on
//! the 32 kHz LSI. Started by the key 0xCCCC, or at every reset when the option byte
//! IWDGx_SW = 0 (hardware watchdog); refreshed by 0xAAAA; PR and RLR writable after 0x5555.
//! Reaching 0 resets the system (RCC_RSR.IWDGxRSTF). Frozen while a halted core's
//! DBGMCU_APB4FZx.DBG_WDGLSDx says so.

use super::countdown::Countdown;
use crate::h7::facts::iwdg as k;

#[derive(Debug, Clone, Default)]
pub struct Iwdg {
    running: bool,
    unlocked: bool,
    pr: u32,
    rlr: u32,
    counter: Countdown,
}

impl Iwdg {
    /// After a system reset: stopped, unless the option byte makes it a hardware watchdog.
    pub fn after_reset(hardware: bool) -> Self {
        let mut w = Iwdg {
            rlr: k::RLR_RESET,
            ..Default::default()
        };
        if hardware {
            w.start();
        }
        w
    }

    fn start(&mut self) {
        self.running = true;
        self.counter.load(self.rlr);
    }

    pub fn running(&self) -> bool {
        self.running
    }

    fn step_nanos(&self) -> u64 {
        k::STEP_NANOS_PR0 << self.pr.min(6)
    }

    /// Time until the counter reaches 0, if it runs.
    pub fn nanos_left(&self) -> Option<u64> {
        self.running
            .then(|| self.counter.nanos_to(0, self.step_nanos()))
    }

    /// `nanos` of LSI time; true when the counter reached 0 (the watchdog resets the system).
    pub fn advance(&mut self, nanos: u64) -> bool {
        self.running && self.counter.advance(0, self.step_nanos(), nanos)
    }

    pub fn read(&self, off: u64) -> Option<u32> {
        match off {
            k::KR => Some(0),
            k::PR => Some(self.pr),
            k::RLR => Some(self.rlr),
            // PVU/RVU/WVU: updates complete at once here.
            k::SR => Some(0),
            k::WINR => Some(k::RLR_RESET),
            _ => None,
        }
    }

    pub fn write(&mut self, off: u64, value: u32) -> Option<()> {
        match off {
            k::KR => {
                let key = value & 0xFFFF;
                self.unlocked = key == k::KEY_UNLOCK;
                match key {
                    k::KEY_START => self.start(),
                    k::KEY_REFRESH => self.counter.load(self.rlr),
                    _ => {}
                }
            }
            k::PR if self.unlocked => {
                // The running step starts again at the new rate.
                self.pr = value & 0x7;
                self.counter.restart_step();
            }
            k::RLR if self.unlocked => self.rlr = value & 0xFFF,
            k::PR | k::RLR | k::SR | k::WINR => {}
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_on_the_lsi_and_fires_at_zero() {
        let mut w = Iwdg::after_reset(false);
        assert!(!w.advance(10_000_000_000), "stopped until started");
        w.write(k::KR, k::KEY_START);
        assert_eq!(w.nanos_left(), Some(4095 * 125_000));
        assert!(!w.advance(500_000_000));
        w.write(k::KR, k::KEY_REFRESH);
        assert!(!w.advance(500_000_000), "refreshed: 511.875 ms again");
        assert!(w.advance(20_000_000));
        // PR and RLR only after the unlock key.
        let mut w = Iwdg::after_reset(true);
        w.write(k::RLR, 10);
        assert_eq!(w.read(k::RLR), Some(k::RLR_RESET));
        w.write(k::KR, k::KEY_UNLOCK);
        w.write(k::RLR, 10);
        w.write(k::KR, k::KEY_REFRESH);
        assert_eq!(w.nanos_left(), Some(10 * 125_000));
        assert!(w.advance(1_250_000));
    }

    #[test]
    fn a_faster_prescaler_mid_step_starts_the_step_again() {
        let mut w = Iwdg::after_reset(true);
        w.write(k::KR, k::KEY_UNLOCK);
        w.write(k::PR, 6);
        w.write(k::RLR, 1);
        w.write(k::KR, k::KEY_REFRESH);
        assert!(!w.advance(7_000_000), "part of one /256 step");
        w.write(k::KR, k::KEY_UNLOCK);
        w.write(k::PR, 0);
        assert_eq!(w.nanos_left(), Some(125_000));
    }
}
