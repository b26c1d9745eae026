//! DBGMCU (RM0399 §61.5.8): identity and the debug-in-low-power control. One device, reachable at
//! 0x5C001000 from AP0/AP3 and at 0xE00E1000 from AP2.

use crate::h7::facts::dbgmcu;

#[derive(Debug, Clone)]
pub struct Dbgmcu {
    /// DBGMCU_CR. Reset by power-on only, not by a system reset (it lives in the debug domain).
    pub cr: u32,
    /// Other registers of the block (APBxFZ freeze bits...): plain.
    plain: std::collections::BTreeMap<u64, u32>,
}

/// Writable bits of DBGMCU_CR (RM0399 §61.5.8).
const CR_MASK: u32 = dbgmcu::DBGSLEEP_D1
    | dbgmcu::DBGSTOP_D1
    | dbgmcu::DBGSTBY_D1
    | dbgmcu::DBGSLEEP_D2
    | dbgmcu::DBGSTOP_D2
    | dbgmcu::DBGSTBY_D2
    | dbgmcu::DBGSTOP_D3
    | dbgmcu::DBGSTBY_D3
    | dbgmcu::TRACECLKEN
    | dbgmcu::D1DBGCKEN
    | dbgmcu::D3DBGCKEN
    | dbgmcu::TRGOEN;

impl Dbgmcu {
    pub fn new(cr: u32) -> Self {
        Self {
            cr: cr & CR_MASK,
            plain: Default::default(),
        }
    }

    /// IDC value: REV_ID [31:16], DEV_ID [11:0].
    pub fn idc() -> u32 {
        (dbgmcu::REV_ID_V << 16) | dbgmcu::DEV_ID_H745_H755
    }

    /// Read of an offset inside the 4 KiB block (CoreSight IDs are answered by the chip).
    pub fn read(&self, off: u64) -> u32 {
        match off {
            dbgmcu::IDC => Self::idc(),
            dbgmcu::CR => self.cr,
            _ => self.plain.get(&off).copied().unwrap_or(0),
        }
    }

    pub fn write(&mut self, off: u64, value: u32) {
        match off {
            dbgmcu::IDC => {}
            dbgmcu::CR => self.cr = value & CR_MASK,
            _ => {
                self.plain.insert(off, value);
            }
        }
    }

    pub fn has(&self, bit: u32) -> bool {
        self.cr & bit != 0
    }
}
