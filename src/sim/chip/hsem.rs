//! Hardware semaphores (RM0399 §11). The master of an access carries its COREID: the CM7 (and a
//! debugger on AP0) is 3, the CM4 (and a debugger on AP3) is 1.

use super::regs::HsemR;
use crate::h7::facts::{hsem, hsem_ext};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sem {
    locked: bool,
    coreid: u32,
    procid: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Hsem {
    sems: [Sem; hsem::COUNT as usize],
    /// Interrupt enable / status per core: index 0 = C1 (CM7), 1 = C2 (CM4).
    ier: [u32; 2],
    isr: [u32; 2],
    keyr: u32,
}

impl Hsem {
    pub fn new() -> Self {
        Self::default()
    }

    fn r_value(s: &Sem) -> u32 {
        let mut r = HsemR(0);
        if s.locked {
            r.set_lock(true);
            r.set_coreid(s.coreid as u8);
            r.set_procid(s.procid as u8);
        }
        r.0
    }

    fn release(&mut self, n: usize) {
        self.sems[n] = Sem::default();
        // A freed semaphore raises its status bit for every core; IER selects who is told.
        for isr in &mut self.isr {
            *isr |= 1 << n;
        }
    }

    /// Masked status of core `c` (0 = C1/CM7, 1 = C2/CM4): pending notifications.
    pub fn misr(&self, c: usize) -> u32 {
        self.isr[c] & self.ier[c]
    }

    /// True when semaphore `n` is locked.
    pub fn is_locked(&self, n: usize) -> bool {
        self.sems.get(n).is_some_and(|s| s.locked)
    }

    /// Read at `off` by a master with `coreid`. `side_effects` = false for a read that only
    /// merges a sub-word write (RLR must not lock then).
    pub fn read(&mut self, off: u64, coreid: u32, side_effects: bool) -> u32 {
        let n = |base: u64| ((off - base) / 4) as usize;
        match off {
            o if o < hsem::RLR0 => Self::r_value(&self.sems[n(hsem::R0)]),
            o if o < hsem::RLR0 + 4 * u64::from(hsem::COUNT) => {
                let i = n(hsem::RLR0);
                if side_effects && !self.sems[i].locked {
                    // One-step lock (RM0399 §11.3.5): the read locks with PROCID 0.
                    self.sems[i] = Sem {
                        locked: true,
                        coreid,
                        procid: 0,
                    };
                }
                Self::r_value(&self.sems[i])
            }
            hsem::C1IER => self.ier[0],
            hsem::C1ISR => self.isr[0],
            hsem::C1MISR => self.misr(0),
            hsem::C2IER => self.ier[1],
            hsem::C2ISR => self.isr[1],
            hsem::C2MISR => self.misr(1),
            hsem::KEYR => self.keyr,
            _ => 0,
        }
    }

    pub fn write(&mut self, off: u64, value: u32, coreid: u32) {
        let w = HsemR(value);
        let w_core = u32::from(w.coreid());
        let w_proc = u32::from(w.procid());
        match off {
            o if o < hsem::RLR0 => {
                let i = (o / 4) as usize;
                // The written COREID must be the master's own (RM0399 §11.3.4).
                if w_core != coreid {
                    return;
                }
                let s = self.sems[i];
                if w.lock() {
                    if !s.locked {
                        self.sems[i] = Sem {
                            locked: true,
                            coreid,
                            procid: w_proc,
                        };
                    }
                } else if s.locked && s.coreid == coreid && s.procid == w_proc {
                    self.release(i);
                }
            }
            hsem::C1IER => self.ier[0] = value,
            hsem::C1ICR => self.isr[0] &= !value,
            hsem::C2IER => self.ier[1] = value,
            hsem::C2ICR => self.isr[1] &= !value,
            // Clear all semaphores of COREID when KEY matches KEYR (RM0399 §11.4.9).
            hsem::CR if value >> hsem_ext::KEY_SHIFT == self.keyr >> hsem_ext::KEY_SHIFT => {
                for i in 0..self.sems.len() {
                    if self.sems[i].locked && self.sems[i].coreid == w_core {
                        self.release(i);
                    }
                }
            }
            hsem::KEYR => self.keyr = value & (0xFFFF << hsem_ext::KEY_SHIFT),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const CM7: u32 = hsem::COREID_CM7;
    const CM4: u32 = hsem::COREID_CM4;

    #[test]
    fn two_step_lock_and_wrong_core_unlock() {
        let mut h = Hsem::new();
        h.write(4, hsem::LOCK | (CM7 << 8) | 5, CM7);
        assert_eq!(h.read(4, CM7, true), hsem::LOCK | (CM7 << 8) | 5);
        // The CM4 cannot take or free it.
        h.write(4, (CM4 << 8) | 5, CM4);
        assert!(h.is_locked(1));
        h.write(4, (CM7 << 8) | 4, CM7); // wrong PROCID
        assert!(h.is_locked(1));
        h.write(hsem::C2IER, 1 << 1, CM4);
        h.write(4, (CM7 << 8) | 5, CM7);
        assert!(!h.is_locked(1));
        assert_eq!(h.misr(1), 1 << 1);
        assert_eq!(h.misr(0), 0);
    }

    #[test]
    fn one_step_lock_and_clear_all() {
        let mut h = Hsem::new();
        assert_eq!(h.read(hsem::RLR0 + 8, CM4, true), hsem::LOCK | (CM4 << 8));
        assert_eq!(h.read(hsem::RLR0 + 8, CM7, true), hsem::LOCK | (CM4 << 8));
        h.write(hsem::KEYR, 0x1234 << 16, CM4);
        h.write(hsem::CR, (0x1111 << 16) | (CM4 << 8), CM4);
        assert!(h.is_locked(2));
        h.write(hsem::CR, (0x1234 << 16) | (CM4 << 8), CM4);
        assert!(!h.is_locked(2));
    }
}
