//! The AP scan of `info`: IDR, class, BASE and the ROM table components behind each AP.

use super::{ApIndex, Target, TargetError};
use crate::h7::facts::{ap, scs};

/// AP register offsets (ADIv5 C2.6).
const AP_IDR: u8 = 0xFC;
const AP_BASE: u8 = 0xF8;
const AP_CFG: u8 = 0xF4;
/// CoreSight component identification registers (ADIv5 D1.2).
const CIDR0: u64 = 0xFF0;
const PIDR0: u64 = 0xFE0;
const PIDR4: u64 = 0xFD0;
/// Entries of a class-1 ROM table; a deeper scan is never needed on these parts.
const MAX_ROM_ENTRIES: usize = 32;

/// One component found in a ROM table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RomEntry {
    pub address: u64,
    pub cidr: u32,
    pub pidr: u64,
    /// Component class from CIDR1[7:4] (1 = ROM table, 9 = CoreSight, 0xE = generic IP).
    pub class: u32,
    pub name: String,
}

/// What one AP answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApInfo {
    pub ap: u8,
    pub idr: Option<u32>,
    pub kind: String,
    pub base: Option<u32>,
    pub cfg: Option<u32>,
    pub cpuid: Option<u32>,
    pub core: Option<&'static str>,
    pub rom: Vec<RomEntry>,
    /// Why this AP could not be scanned further, if it could not.
    pub error: Option<String>,
}

fn ap_kind(idr: u32) -> String {
    // IDR: CLASS [16:13] (8 = MEM-AP), TYPE [3:0] (1 AHB3, 2 APB2/3, 4 AXI, 5 AHB5...).
    let class = (idr >> 13) & 0xF;
    let ty = idr & 0xF;
    match (class, ty) {
        (_, _) if idr == 0 => "absent".into(),
        (8, 1) => "MEM-AP AHB".into(),
        (8, 2) => "MEM-AP APB".into(),
        (8, 4) => "MEM-AP AXI".into(),
        (8, 5) => "MEM-AP AHB5".into(),
        (8, 6) => "MEM-AP APB4".into(),
        (8, t) => format!("MEM-AP type {t}"),
        (c, t) => format!("class {c} type {t}"),
    }
}

/// CIDR with the class nibble masked: every CoreSight ID block has this preamble.
const CIDR_PREAMBLE: (u32, u32) = (0xFFFF_0FFF, 0xB105_000D);

fn component_name(cidr: u32, pidr: u64, class: u32, address: u64) -> String {
    use crate::h7::facts::{coresight as cs, dbgmcu};
    if cidr & CIDR_PREAMBLE.0 != CIDR_PREAMBLE.1 && address != dbgmcu::BASE_APBD {
        // The STM32H7's trace components answer only with their debug clock on.
        let clock = if address == cs::SWO || address == cs::SWO_FUNNEL {
            Some("D3DBGCKEN")
        } else if [cs::CTI_APBD, cs::CS_FUNNEL, cs::ETF, cs::TPIU].contains(&address) {
            Some("D1DBGCKEN")
        } else {
            None
        };
        return match clock {
            Some(bit) => {
                format!("no CoreSight ID (CIDR {cidr:#010x}): trace clock off? set DBGMCU_CR.{bit}")
            }
            None => format!("no CoreSight ID (CIDR {cidr:#010x})"),
        };
    }
    let part = pidr & 0xFFF;
    let designer = ((pidr >> 32) & 0xF) << 7 | ((pidr >> 12) & 0x7F);
    let arm = designer == 0x23B; // JEP106: continuation 4, identity 0x3B
    match (arm, part, class) {
        (_, _, 1) => "ROM table".into(),
        (true, 0x00C, _) => "SCS (Cortex-M)".into(),
        (true, 0x002, _) | (true, 0x00A, _) => "DWT".into(),
        (true, 0x003 | 0x00B | 0x00D | 0x00E, _) => "FPB".into(),
        (true, 0x001, _) => "ITM".into(),
        (true, 0x908, _) => "CoreSight funnel".into(),
        (true, 0x975, _) => "ETM (Cortex-M7)".into(),
        (true, 0x906, _) => "CTI".into(),
        (true, 0x961, _) => "ETF".into(),
        (true, 0x912, _) | (true, 0x9A9, _) => "TPIU".into(),
        (true, 0x914, _) => "SWO".into(),
        _ if address == crate::h7::facts::dbgmcu::BASE_APBD => "DBGMCU".into(),
        _ => format!("component part {part:#05x}"),
    }
}

impl Target {
    fn read_id_block(&mut self, apx: ApIndex, base: u64) -> Result<(u32, u64), TargetError> {
        let c = self.read(apx, base + CIDR0, super::Width::U32, 4)?;
        let p = self.read(apx, base + PIDR0, super::Width::U32, 4)?;
        let p4 = self.read32(apx, base + PIDR4)?;
        let cidr = c
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | (v & 0xFF) << (8 * i));
        let pidr = p
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, v)| acc | u64::from(v & 0xFF) << (8 * i))
            | u64::from(p4 & 0xFF) << 32;
        Ok((cidr, pidr))
    }

    /// Scans one AP: its registers, then (when it answers) the ROM table behind BASE.
    pub fn scan_ap(&mut self, apx: ApIndex) -> ApInfo {
        let mut info = ApInfo {
            ap: apx.get(),
            idr: None,
            kind: "no answer".into(),
            base: None,
            cfg: None,
            cpuid: None,
            core: apx.core().map(|c| c.name()),
            rom: Vec::new(),
            error: None,
        };
        match self.ap_reg_read(apx, AP_IDR) {
            Ok(idr) => {
                info.idr = Some(idr);
                info.kind = ap_kind(idr);
            }
            Err(e) => {
                info.error = Some(e.to_string());
                return info;
            }
        }
        info.base = self.ap_reg_read(apx, AP_BASE).ok();
        info.cfg = self.ap_reg_read(apx, AP_CFG).ok();
        if apx.core().is_some() {
            match self.read32(apx, scs::CPUID) {
                Ok(v) => info.cpuid = Some(v),
                Err(e) => {
                    info.error = Some(e.to_string());
                    return info;
                }
            }
        }
        let Some(base) = info.base.filter(|b| b & 1 == 1) else {
            info.error
                .get_or_insert_with(|| "BASE says no debug entry".into());
            return info;
        };
        // DWT and ITM answer their IDs only with DEMCR.TRCENA set: set it for the walk, as pyOCD
        // does, and put DEMCR back as it was (a write that fails leaves them unidentified).
        let demcr = if apx.core().is_some() {
            self.read32(apx, scs::DEMCR)
                .ok()
                .filter(|d| d & scs::TRCENA == 0)
        } else {
            None
        };
        if let Some(d) = demcr {
            let _ = self.write32(apx, scs::DEMCR, d | scs::TRCENA);
        }
        if let Err(e) = self.walk_rom(apx, u64::from(base & 0xFFFF_F000), 0, &mut info.rom) {
            info.error = Some(e.to_string());
        }
        if let Some(d) = demcr {
            let _ = self.write32(apx, scs::DEMCR, d);
        }
        info
    }

    fn walk_rom(
        &mut self,
        apx: ApIndex,
        table: u64,
        depth: u32,
        out: &mut Vec<RomEntry>,
    ) -> Result<(), TargetError> {
        let (cidr, pidr) = self.read_id_block(apx, table)?;
        let class = (cidr >> 12) & 0xF;
        out.push(RomEntry {
            address: table,
            cidr,
            pidr,
            class,
            name: component_name(cidr, pidr, class, table),
        });
        if class != 1 || depth > 3 {
            return Ok(());
        }
        let entries = self.read(apx, table, super::Width::U32, MAX_ROM_ENTRIES)?;
        for entry in entries {
            if entry == 0 {
                break;
            }
            if entry & 1 == 0 {
                continue; // not present
            }
            let offset = (entry & 0xFFFF_F000) as i32 as i64;
            let addr = (table as i64 + offset) as u64 & 0xFFFF_FFFF;
            // A component whose ID block faults (real H745 tables have one, pyOCD #1404) is
            // listed as such and the walk goes on with the next entry.
            if let Err(e) = self.walk_rom(apx, addr, depth + 1, out) {
                if matches!(e, TargetError::ProbeLost(_)) {
                    return Err(e);
                }
                if out.last().is_none_or(|last| last.address != addr) {
                    out.push(RomEntry {
                        address: addr,
                        cidr: 0,
                        pidr: 0,
                        class: 0,
                        name: format!("not readable ({e})"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Scans every AP of the chip.
    pub fn scan(&mut self) -> Vec<ApInfo> {
        (0..ap::COUNT).map(|n| self.scan_ap(ApIndex(n))).collect()
    }
}
