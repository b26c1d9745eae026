//! ROM tables and CoreSight identification registers (ARM IHI0029 "CoreSight Architecture" B2,
//! ADIv5 D3 "Class 0x1 ROM tables"), laid out as on the STM32H7 dual-core (RM0399 §61.2).

use super::regs::RomEntry;
use crate::h7::facts::{coresight as cs, dbgmcu, rom};

/// Identity of one 4 KiB CoreSight component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentId {
    /// CIDR1.CLASS.
    pub class: u8,
    /// PIDR PART_0/PART_1.
    pub part: u16,
    /// JEP106 (continuation, identity) of the designer.
    pub jep106: (u8, u8),
    /// DEVTYPE (or MEMTYPE of a ROM table) at 0xFCC.
    pub devtype: u32,
    /// DEVARCH at 0xFBC (0 where the component has none).
    pub devarch: u32,
}

impl ComponentId {
    const fn arm(class: u8, part: u16, devtype: u32) -> Self {
        Self {
            class,
            part,
            jep106: cs::JEP106_ARM,
            devtype,
            devarch: 0,
        }
    }
    const fn st(class: u8, part: u16, devtype: u32) -> Self {
        Self {
            class,
            part,
            jep106: cs::JEP106_ST,
            devtype,
            devarch: 0,
        }
    }

    /// The identification register at `off` (0xFCC..0xFFC) of the component, or `None` when
    /// `off` is not an ID register.
    pub fn register(&self, off: u64) -> Option<u32> {
        let (cc, id) = self.jep106;
        let v = match off {
            cs::DEVTYPE => self.devtype,
            cs::DEVARCH => self.devarch,
            o if (cs::PIDR4..cs::PIDR0).contains(&o) => {
                if o == cs::PIDR4 {
                    u32::from(cc & 0xF)
                } else {
                    0
                }
            }
            o if o == cs::PIDR0 => u32::from(self.part & 0xFF),
            o if o == cs::PIDR0 + 4 => {
                u32::from((self.part >> 8) & 0xF) | (u32::from(id & 0xF) << 4)
            }
            // PIDR2: JEP106 id [6:4], JEDEC bit 3.
            o if o == cs::PIDR0 + 8 => u32::from((id >> 4) & 0x7) | 0x8,
            o if o == cs::PIDR0 + 12 => 0,
            o if (cs::CIDR0..cs::CIDR0 + 16).contains(&o) => {
                let i = ((o - cs::CIDR0) / 4) as usize;
                if i == 1 {
                    u32::from(self.class) << 4
                } else {
                    rom::ROM_CIDR[i]
                }
            }
            _ => return None,
        };
        Some(v)
    }
}

/// True when `off` (inside a 4 KiB block) is one of the read-only ID registers.
pub fn is_id_offset(off: u64) -> bool {
    off == cs::DEVTYPE || off == cs::DEVARCH || (cs::PIDR4..0x1000).contains(&off)
}

/// Which core a PPB belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreKind {
    Cm7,
    Cm4,
}

/// A ROM table of the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RomTable {
    /// ST ROM table at 0xE00FE000 through AP0.
    StAp0,
    /// Core ROM table at 0xE00FF000 (CM7 through AP0, CM4 through AP3).
    Core(CoreKind),
    /// System ROM table at 0xE00E0000 through AP2.
    System,
    /// The second system ROM table at 0xE00F0000 through AP2, listed by the first.
    System2,
}

/// One ROM table entry: a component's address, and whether the entry says it is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry(u64, bool);

impl RomTable {
    pub fn base(self) -> u64 {
        match self {
            RomTable::StAp0 => rom::ST_ROM_AP0,
            RomTable::Core(_) => rom::CORE_ROM,
            RomTable::System => rom::SYS_ROM_APBD,
            RomTable::System2 => cs::SYS_ROM2,
        }
    }

    /// Entries of the table, in order (the topology of real H745/H755 parts as pyOCD lists it:
    /// issues #1499 and #1404 for AP0, #1368 (H730) for the second system table; the Cortex-M
    /// TRMs' core tables with their TPIU and ETM slots not present). DBGMCU is not an entry.
    fn entries(self) -> &'static [Entry] {
        match self {
            RomTable::StAp0 => &[
                Entry(rom::CORE_ROM, true),
                Entry(cs::ETM_CM7, true),
                Entry(cs::CTI_CM7, true),
            ],
            RomTable::Core(_) => &[
                Entry(rom::SCS, true),
                Entry(rom::DWT, true),
                Entry(rom::FPB, true),
                Entry(rom::ITM, true),
                Entry(cs::TPIU_CORE, false),
                Entry(cs::ETM_CM7, false),
            ],
            RomTable::System => &[
                Entry(cs::SWO, true),
                Entry(cs::SWO_FUNNEL, true),
                Entry(cs::SYS_ROM2, true),
            ],
            RomTable::System2 => &[
                Entry(cs::CTI_APBD, true),
                Entry(cs::SYS_ROM2 + 0x2000, false),
                Entry(cs::CS_FUNNEL, true),
                Entry(cs::ETF, true),
                Entry(cs::TPIU, true),
                Entry(cs::SYS_ROM2 + 0x6000, false),
                Entry(cs::SYS_ROM2 + 0x7000, false),
                Entry(cs::SYS_ROM2 + 0x8000, false),
            ],
        }
    }

    pub fn id(self) -> ComponentId {
        match self {
            RomTable::StAp0 => ComponentId::st(cs::CLASS_ROM, cs::PART_ST_ROM, cs::MEMTYPE_SYSMEM),
            RomTable::Core(CoreKind::Cm7) => {
                ComponentId::arm(cs::CLASS_ROM, cs::PART_CM7_ROM, cs::MEMTYPE_SYSMEM)
            }
            RomTable::Core(CoreKind::Cm4) => {
                ComponentId::arm(cs::CLASS_ROM, cs::PART_CM4_ROM, cs::MEMTYPE_SYSMEM)
            }
            RomTable::System => ComponentId::st(cs::CLASS_ROM, cs::PART_SYS_ROM, 0),
            RomTable::System2 => ComponentId::st(cs::CLASS_ROM, cs::PART_SYS_ROM2, 0),
        }
    }

    /// Read of offset `off` inside the table.
    pub fn read(self, off: u64) -> u32 {
        if let Some(v) = self.id().register(off) {
            return v;
        }
        let i = (off / 4) as usize;
        match self.entries().get(i) {
            Some(&Entry(t, present)) if off.is_multiple_of(4) => {
                let mut e = RomEntry(0);
                e.set_offset((t.wrapping_sub(self.base()) as u32) >> 12);
                e.set_format(true);
                e.set_present(present);
                e.0
            }
            // All-zero entry ends the table; everything else reads as zero.
            _ => 0,
        }
    }
}

/// Identity of a core PPB component at 4 KiB block `block`, if any.
pub fn ppb_component(core: CoreKind, block: u64) -> Option<ComponentId> {
    let c = cs::CLASS_GENERIC_IP;
    let id = match block {
        rom::SCS => ComponentId::arm(c, cs::PART_SCS, 0),
        rom::DWT => ComponentId::arm(c, cs::PART_DWT, 0),
        rom::ITM => ComponentId::arm(c, cs::PART_ITM, 0),
        rom::FPB => ComponentId::arm(
            c,
            match core {
                CoreKind::Cm7 => cs::PART_FPB_CM7,
                CoreKind::Cm4 => cs::PART_FPB_CM4,
            },
            0,
        ),
        // The CM7's ETM and CTI (on its external PPB; the CM4 has none listed).
        cs::ETM_CM7 if core == CoreKind::Cm7 => ComponentId {
            devarch: cs::DEVARCH_ETM_CM7,
            ..ComponentId::arm(
                cs::CLASS_CORESIGHT,
                cs::PART_ETM_CM7,
                u32::from(cs::DEVTYPE_ETM),
            )
        },
        cs::CTI_CM7 if core == CoreKind::Cm7 => cti(),
        _ => return None,
    };
    Some(id)
}

fn cti() -> ComponentId {
    ComponentId::arm(
        cs::CLASS_CORESIGHT,
        cs::PART_CTI,
        u32::from(cs::DEVTYPE_CTI),
    )
}

/// Identity of an APB-D component at 4 KiB block `block`, if any.
pub fn apbd_component(block: u64) -> Option<ComponentId> {
    let id = match block {
        dbgmcu::BASE_APBD => ComponentId::st(cs::CLASS_SYSTEM, cs::PART_DBGMCU, 0),
        cs::SWO => ComponentId::arm(
            cs::CLASS_CORESIGHT,
            cs::PART_SWO,
            u32::from(cs::DEVTYPE_SWO),
        ),
        cs::SWO_FUNNEL | cs::CS_FUNNEL => ComponentId::arm(
            cs::CLASS_CORESIGHT,
            cs::PART_FUNNEL,
            u32::from(cs::DEVTYPE_FUNNEL),
        ),
        cs::TPIU => ComponentId::arm(
            cs::CLASS_CORESIGHT,
            cs::PART_TPIU,
            u32::from(cs::DEVTYPE_TPIU),
        ),
        cs::CTI_APBD => cti(),
        cs::ETF => ComponentId::arm(
            cs::CLASS_CORESIGHT,
            cs::PART_ETF,
            u32::from(cs::DEVTYPE_ETF),
        ),
        _ => return None,
    };
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_rom_points_at_scs() {
        let t = RomTable::Core(CoreKind::Cm7);
        let e = t.read(0);
        let target = (rom::CORE_ROM as u32).wrapping_add(e & 0xFFFF_F000);
        assert_eq!(u64::from(target), rom::SCS);
        // The TPIU slot is listed not present (bit 0 clear, format bit set), then the ETM's,
        // then the end of the table.
        assert_eq!(t.read(16) & 3, 2);
        assert_eq!(t.read(24), 0);
        assert_eq!(t.read(0xFF4), 0x10);
        assert_eq!(t.read(0xFFC), 0xB1);
    }
}
