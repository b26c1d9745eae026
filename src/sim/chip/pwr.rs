//! PWR: supply configuration, voltage-scaling ready flag and the per-CPU low-power flags
//! (RM0399 §7.8). Other PWR registers are plain registers of the chip.

use crate::h7::facts::{pwr, pwr_ext};

/// How the board feeds VCORE: the Nucleo-H755ZI-Q is an SMPS board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Supply {
    Smps,
    Ldo,
}

impl Supply {
    /// True when a PWR_CR3 supply configuration works on this board (RM0399 §7.4, Table 39).
    pub fn accepts(self, cr3: u32) -> bool {
        let ldo = cr3 & pwr::CR3_LDOEN != 0;
        let smps = cr3 & pwr::CR3_SDEN != 0;
        let bypass = cr3 & pwr::CR3_BYPASS != 0;
        match self {
            // Direct SMPS, or SMPS feeding the LDO.
            Supply::Smps => smps && !bypass,
            // LDO only: SMPS must be off (its pins are not wired on an LDO board).
            Supply::Ldo => ldo && !smps && !bypass,
        }
    }

    /// The PWR_CR3 value a correct firmware writes for this supply.
    pub fn cr3_config(self) -> u32 {
        match self {
            Supply::Smps => pwr::CR3_SDEN,
            Supply::Ldo => pwr::CR3_LDOEN,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pwr {
    supply: Supply,
    cr3: u32,
    /// CR3 supply bits are write-once after power-on (RM0399 §7.8.4).
    supply_written: bool,
    cpucr: u32,
    cpu2cr: u32,
}

/// Which CPU's flags (CPUCR = CM7, CPU2CR = CM4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuFlags {
    Cm7,
    Cm4,
}

impl Pwr {
    pub fn new(supply: Supply) -> Self {
        Self {
            supply,
            cr3: pwr_ext::CR3_RESET,
            supply_written: false,
            cpucr: 0,
            cpu2cr: 0,
        }
    }

    /// System reset: CR3 keeps its supply configuration (reset by power-on only).
    pub fn reset(&mut self) {
        self.cpucr = 0;
        self.cpu2cr = 0;
    }

    pub fn supply(&self) -> Supply {
        self.supply
    }

    /// ACTVOSRDY: the supply is configured in a way that works on this board. Before the first
    /// write the power-on default is taken as working (approx).
    pub fn actvosrdy(&self) -> bool {
        !self.supply_written || self.supply.accepts(self.cr3)
    }

    /// D2 left Standby: SBF_D2 in both CPUs' flag registers (RM0399 §7.8.6).
    pub fn set_sbf_d2(&mut self) {
        self.cpucr |= pwr::CPUCR_SBF_D2;
        self.cpu2cr |= pwr::CPUCR_SBF_D2;
    }

    /// A core entered Stop: set its STOPF (RM0399 §7.8.6).
    pub fn set_stopf(&mut self, cpu: CpuFlags) {
        match cpu {
            CpuFlags::Cm7 => self.cpucr |= pwr::CPUCR_STOPF,
            CpuFlags::Cm4 => self.cpu2cr |= pwr::CPUCR_STOPF,
        }
    }

    pub fn read(&self, off: u64) -> Option<u32> {
        match off {
            pwr::CSR1 => Some(if self.actvosrdy() {
                pwr::CSR1_ACTVOSRDY
            } else {
                0
            }),
            pwr::CR3 => Some(self.cr3),
            pwr::CPUCR => Some(self.cpucr),
            pwr::CPU2CR => Some(self.cpu2cr),
            _ => None,
        }
    }

    pub fn write(&mut self, off: u64, value: u32) -> Option<()> {
        let flags = pwr::CPUCR_HOLDF
            | pwr::CPUCR_STOPF
            | pwr::CPUCR_SBF
            | pwr::CPUCR_SBF_D1
            | pwr::CPUCR_SBF_D2;
        // HOLDn acts when the system exits Stop, which needs both CPUs in CStop: the modelled
        // firmware never puts the CM7 there, so HOLDn has nothing to act on (as on silicon when
        // "the system does not enter Stop mode", RM0399 §7.7.8); RUN_D3 likewise.
        let ctl = pwr::CPUCR_PDDS_D1
            | pwr::CPUCR_PDDS_D2
            | pwr::CPUCR_PDDS_D3
            | pwr_ext::CPUCR_HOLD
            | pwr_ext::CPUCR_RUN_D3;
        let cpu = |reg: &mut u32| {
            let keep = if value & pwr_ext::CPUCR_CSSF != 0 {
                0
            } else {
                *reg & flags
            };
            *reg = (value & ctl) | keep;
        };
        match off {
            pwr::CSR1 => {}
            pwr::CR3 => {
                let m = pwr_ext::CR3_SUPPLY_MASK;
                if self.supply_written {
                    self.cr3 = (self.cr3 & m) | (value & !m);
                } else {
                    self.cr3 = value;
                    self.supply_written = true;
                }
            }
            pwr::CPUCR => cpu(&mut self.cpucr),
            pwr::CPU2CR => cpu(&mut self.cpu2cr),
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supply_is_write_once_and_checked_against_the_board() {
        let mut p = Pwr::new(Supply::Smps);
        assert!(p.actvosrdy(), "power-on default works");
        p.write(pwr::CR3, Supply::Ldo.cr3_config());
        assert!(!p.actvosrdy());
        p.write(pwr::CR3, Supply::Smps.cr3_config());
        assert!(!p.actvosrdy(), "write-once until power-on");
        let mut p = Pwr::new(Supply::Ldo);
        p.write(pwr::CR3, Supply::Ldo.cr3_config());
        assert!(p.actvosrdy());
    }

    #[test]
    fn stop_flags_clear_with_cssf() {
        let mut p = Pwr::new(Supply::Smps);
        p.set_stopf(CpuFlags::Cm4);
        assert_eq!(p.read(pwr::CPU2CR), Some(pwr::CPUCR_STOPF));
        assert_eq!(p.read(pwr::CPUCR), Some(0));
        p.write(pwr::CPU2CR, pwr::CPUCR_PDDS_D2);
        assert_eq!(
            p.read(pwr::CPU2CR),
            Some(pwr::CPUCR_STOPF | pwr::CPUCR_PDDS_D2)
        );
        p.write(pwr::CPU2CR, pwr_ext::CPUCR_CSSF);
        assert_eq!(p.read(pwr::CPU2CR), Some(0));
    }
}
