//! Option bytes of the dual-core STM32H7 as data: one table of fields (RM0399 §4.9), their
//! decoding, the validation of a change, and the programming sequence (RM0399 §4.4.3
//! "Option byte modification"): unlock, write *_PRG, OPTSTART, wait OPT_BUSY, check
//! OPTCHANGEERR, verify *_CUR, relock — relocking on every failure path too.
//!
//! Everything is driven by address from `facts`; SVD names are not needed. The bus is a trait
//! so that the engine runs on any transport (the session's AP0, a test double).

use super::facts::{flash, mem, ob_fields as obf};
use serde::Serialize;

/// Mask of a (lsb, width) field.
pub const fn mask((lsb, width): (u32, u32)) -> u32 {
    (((1u64 << width) - 1) as u32) << lsb
}

/// Value of a (lsb, width) field of `word`.
pub const fn get(word: u32, f: (u32, u32)) -> u32 {
    (word & mask(f)) >> f.0
}

/// `word` with field `f` set to `value` (truncated to the field).
pub const fn set(word: u32, f: (u32, u32), value: u32) -> u32 {
    (word & !mask(f)) | ((value << f.0) & mask(f))
}

/// The option-byte registers, each a CUR (in force) / PRG (to program) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ObReg {
    Optsr,
    Boot7,
    Boot4,
    Prar1,
    Scar1,
    Wpsn1,
    Prar2,
    Scar2,
    Wpsn2,
}

impl ObReg {
    pub const ALL: [ObReg; 9] = [
        ObReg::Optsr,
        ObReg::Boot7,
        ObReg::Boot4,
        ObReg::Prar1,
        ObReg::Scar1,
        ObReg::Wpsn1,
        ObReg::Prar2,
        ObReg::Scar2,
        ObReg::Wpsn2,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// Offsets from the FLASH base of (CUR, PRG) (RM0399 §4.9).
    pub fn offsets(self) -> (u64, u64) {
        let b2 = flash::BANK2_OFFSET;
        match self {
            ObReg::Optsr => (flash::OPTSR_CUR, flash::OPTSR_PRG),
            ObReg::Boot7 => (flash::BOOT7_CUR, flash::BOOT7_PRG),
            ObReg::Boot4 => (flash::BOOT4_CUR, flash::BOOT4_PRG),
            ObReg::Prar1 => (flash::PRAR_CUR1, flash::PRAR_PRG1),
            ObReg::Scar1 => (flash::SCAR_CUR1, flash::SCAR_PRG1),
            ObReg::Wpsn1 => (flash::WPSN_CUR1R, flash::WPSN_PRG1R),
            ObReg::Prar2 => (flash::PRAR_CUR1 + b2, flash::PRAR_PRG1 + b2),
            ObReg::Scar2 => (flash::SCAR_CUR1 + b2, flash::SCAR_PRG1 + b2),
            ObReg::Wpsn2 => (flash::WPSN_CUR1R + b2, flash::WPSN_PRG1R + b2),
        }
    }

    pub fn cur_address(self) -> u64 {
        flash::BASE + self.offsets().0
    }

    pub fn prg_address(self) -> u64 {
        flash::BASE + self.offsets().1
    }

    /// RM0399 register names (CUR, PRG).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            ObReg::Optsr => ("FLASH_OPTSR_CUR", "FLASH_OPTSR_PRG"),
            ObReg::Boot7 => ("FLASH_BOOT7_CUR", "FLASH_BOOT7_PRG"),
            ObReg::Boot4 => ("FLASH_BOOT4_CUR", "FLASH_BOOT4_PRG"),
            ObReg::Prar1 => ("FLASH_PRAR_CUR1", "FLASH_PRAR_PRG1"),
            ObReg::Scar1 => ("FLASH_SCAR_CUR1", "FLASH_SCAR_PRG1"),
            ObReg::Wpsn1 => ("FLASH_WPSN_CUR1R", "FLASH_WPSN_PRG1R"),
            ObReg::Prar2 => ("FLASH_PRAR_CUR2", "FLASH_PRAR_PRG2"),
            ObReg::Scar2 => ("FLASH_SCAR_CUR2", "FLASH_SCAR_PRG2"),
            ObReg::Wpsn2 => ("FLASH_WPSN_CUR2R", "FLASH_WPSN_PRG2R"),
        }
    }

    /// The bits of the register that option-byte fields cover (status and reserved bits are
    /// left out of comparisons).
    pub fn field_mask(self) -> u32 {
        FIELDS
            .iter()
            .filter(|f| f.reg == self)
            .fold(0, |m, f| m | mask(f.bits))
    }

    /// Short name used in tables (`OPTSR`, `BOOT4`, `PRAR1`...).
    pub fn short(self) -> &'static str {
        match self {
            ObReg::Optsr => "OPTSR",
            ObReg::Boot7 => "BOOT7",
            ObReg::Boot4 => "BOOT4",
            ObReg::Prar1 => "PRAR1",
            ObReg::Scar1 => "SCAR1",
            ObReg::Wpsn1 => "WPSN1",
            ObReg::Prar2 => "PRAR2",
            ObReg::Scar2 => "SCAR2",
            ObReg::Wpsn2 => "WPSN2",
        }
    }
}

/// When a programmed option takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// As soon as OPTSTART completes.
    Immediate,
    /// At the next system reset (boot options are sampled by the boot logic).
    NextReset,
}

impl Effect {
    pub fn text(self) -> &'static str {
        match self {
            Effect::Immediate => "immediately",
            Effect::NextReset => "at next reset",
        }
    }
}

/// Extra validation of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// RDP: 0xCC (level 2) is permanent.
    Rdp,
    /// A boot address (address >> 16): must point into flash, system memory or RAM.
    BootAddress,
    /// SECURITY = 1 enables secure access mode; going back needs an RDP regression (RM0399 §4.5.5).
    Security,
}

/// One option-byte field.
#[derive(Debug, Clone, Copy)]
pub struct ObField {
    /// RM0399 name (what `ob set NAME=VALUE` takes).
    pub name: &'static str,
    pub reg: ObReg,
    /// (lsb, width).
    pub bits: (u32, u32),
    /// Enumerated values (value, RM0399-style name).
    pub values: &'static [(u32, &'static str)],
    pub effect: Effect,
    pub check: Check,
    pub description: &'static str,
}

impl ObField {
    /// Enumerated name of a value (RDP: any value other than 0xAA/0xCC is level 1).
    pub fn value_name(&self, v: u32) -> Option<&'static str> {
        if let Some((_, n)) = self.values.iter().find(|(x, _)| *x == v) {
            return Some(n);
        }
        if self.check == Check::Rdp {
            return Some("Level1");
        }
        None
    }

    /// Value of an enumerated name (case-insensitive).
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.values
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(v, _)| *v)
    }

    pub fn max(&self) -> u32 {
        mask((0, self.bits.1))
    }
}

const DIS_EN: &[(u32, &str)] = &[(0, "Disabled"), (1, "Enabled")];
const HW_SW: &[(u32, &str)] = &[(0, "Hardware"), (1, "Software")];
const RST: &[(u32, &str)] = &[(0, "Reset"), (1, "NoReset")];
const FREEZE: &[(u32, &str)] = &[(0, "Frozen"), (1, "Running")];
const RDP: &[(u32, &str)] = &[
    (flash::RDP_LEVEL0, "Level0"),
    (obf::RDP_LEVEL1_CANONICAL, "Level1"),
    (flash::RDP_LEVEL2, "Level2"),
];
const BOR: &[(u32, &str)] = &[
    (0, obf::BOR_LEV_NAMES[0]),
    (1, obf::BOR_LEV_NAMES[1]),
    (2, obf::BOR_LEV_NAMES[2]),
    (3, obf::BOR_LEV_NAMES[3]),
];
const RAM: &[(u32, &str)] = &[
    (0, obf::ST_RAM_SIZE_NAMES[0]),
    (1, obf::ST_RAM_SIZE_NAMES[1]),
    (2, obf::ST_RAM_SIZE_NAMES[2]),
    (3, obf::ST_RAM_SIZE_NAMES[3]),
];
const SWAP: &[(u32, &str)] = &[(0, "NotSwapped"), (1, "Swapped")];
const KEEP: &[(u32, &str)] = &[(0, "Erased"), (1, "Kept")];

macro_rules! field {
    ($name:literal, $reg:ident, $bits:expr, $values:expr, $effect:ident, $check:ident, $desc:literal) => {
        ObField {
            name: $name,
            reg: ObReg::$reg,
            bits: $bits,
            values: $values,
            effect: Effect::$effect,
            check: Check::$check,
            description: $desc,
        }
    };
}

use super::facts::flash::optsr as o;

/// Every option-byte field of the dual-core parts (RM0399 §4.9.9..§4.9.23). The effect column
/// follows RM0399 §4.4.3: boot and watchdog options are sampled at reset (approx for
/// NRST_*, IO_HSLV and BOR_LEV, which act once OPTSTART completes).
pub static FIELDS: &[ObField] = &[
    field!(
        "RDP",
        Optsr,
        o::RDP,
        RDP,
        Immediate,
        Rdp,
        "readout protection level (0xAA level 0, 0xCC level 2 = permanent, other = level 1)"
    ),
    field!(
        "BCM7",
        Optsr,
        o::BCM7,
        DIS_EN,
        NextReset,
        None,
        "Cortex-M7 boots after reset (0: gated until RCC_GCR.BOOT_C1)"
    ),
    field!(
        "BCM4",
        Optsr,
        o::BCM4,
        DIS_EN,
        NextReset,
        None,
        "Cortex-M4 boots after reset (0: gated until RCC_GCR.BOOT_C2)"
    ),
    field!(
        "BCM7_ADD0",
        Boot7,
        obf::BCM7_ADD0,
        &[],
        NextReset,
        BootAddress,
        "CM7 boot address when BOOT0 = 0 (address >> 16)"
    ),
    field!(
        "BCM7_ADD1",
        Boot7,
        obf::BCM7_ADD1,
        &[],
        NextReset,
        BootAddress,
        "CM7 boot address when BOOT0 = 1 (address >> 16)"
    ),
    field!(
        "BCM4_ADD0",
        Boot4,
        obf::BCM4_ADD0,
        &[],
        NextReset,
        BootAddress,
        "CM4 boot address when BOOT0 = 0 (address >> 16)"
    ),
    field!(
        "BCM4_ADD1",
        Boot4,
        obf::BCM4_ADD1,
        &[],
        NextReset,
        BootAddress,
        "CM4 boot address when BOOT0 = 1 (address >> 16)"
    ),
    field!(
        "BOR_LEV",
        Optsr,
        o::BOR_LEV,
        BOR,
        Immediate,
        None,
        "brownout reset threshold"
    ),
    field!(
        "IWDG1_SW",
        Optsr,
        o::IWDG1_SW,
        HW_SW,
        NextReset,
        None,
        "IWDG1 (CM7) started by hardware or by software"
    ),
    field!(
        "IWDG2_SW",
        Optsr,
        o::IWDG2_SW,
        HW_SW,
        NextReset,
        None,
        "IWDG2 (CM4) started by hardware or by software"
    ),
    field!(
        "NRST_STOP_D1",
        Optsr,
        o::NRST_STOP_D1,
        RST,
        Immediate,
        None,
        "D1 entering Stop: reset (0) or not (1)"
    ),
    field!(
        "NRST_STBY_D1",
        Optsr,
        o::NRST_STBY_D1,
        RST,
        Immediate,
        None,
        "D1 entering Standby: reset (0) or not (1)"
    ),
    field!(
        "NRST_STOP_D2",
        Optsr,
        o::NRST_STOP_D2,
        RST,
        Immediate,
        None,
        "D2 entering Stop: reset (0) or not (1)"
    ),
    field!(
        "NRST_STBY_D2",
        Optsr,
        o::NRST_STBY_D2,
        RST,
        Immediate,
        None,
        "D2 entering Standby: reset (0) or not (1)"
    ),
    field!(
        "FZ_IWDG_STOP",
        Optsr,
        o::FZ_IWDG_STOP,
        FREEZE,
        NextReset,
        None,
        "independent watchdogs in Stop: frozen (0) or running (1)"
    ),
    field!(
        "FZ_IWDG_SDBY",
        Optsr,
        o::FZ_IWDG_SDBY,
        FREEZE,
        NextReset,
        None,
        "independent watchdogs in Standby: frozen (0) or running (1)"
    ),
    field!(
        "ST_RAM_SIZE",
        Optsr,
        o::ST_RAM_SIZE,
        RAM,
        NextReset,
        None,
        "RAM reserved for ST secure libraries"
    ),
    field!(
        "SECURITY",
        Optsr,
        o::SECURITY,
        DIS_EN,
        NextReset,
        Security,
        "secure access mode"
    ),
    field!(
        "IO_HSLV",
        Optsr,
        o::IO_HSLV,
        DIS_EN,
        Immediate,
        None,
        "I/O high speed at low voltage (only below 2.7 V)"
    ),
    field!(
        "SWAP_BANK_OPT",
        Optsr,
        o::SWAP_BANK_OPT,
        SWAP,
        NextReset,
        None,
        "flash bank 1 and bank 2 addresses swapped"
    ),
    field!(
        "PROT_AREA_START1",
        Prar1,
        obf::PROT_AREA_START,
        &[],
        Immediate,
        None,
        "bank 1 PCROP area start (256-byte units)"
    ),
    field!(
        "PROT_AREA_END1",
        Prar1,
        obf::PROT_AREA_END,
        &[],
        Immediate,
        None,
        "bank 1 PCROP area end (256-byte units)"
    ),
    field!(
        "DMEP1",
        Prar1,
        obf::DMEP,
        KEEP,
        Immediate,
        None,
        "bank 1 PCROP area erased on RDP regression"
    ),
    field!(
        "SEC_AREA_START1",
        Scar1,
        obf::SEC_AREA_START,
        &[],
        Immediate,
        None,
        "bank 1 secure area start (256-byte units)"
    ),
    field!(
        "SEC_AREA_END1",
        Scar1,
        obf::SEC_AREA_END,
        &[],
        Immediate,
        None,
        "bank 1 secure area end (256-byte units)"
    ),
    field!(
        "DMES1",
        Scar1,
        obf::DMES,
        KEEP,
        Immediate,
        None,
        "bank 1 secure area erased on RDP regression"
    ),
    field!(
        "WRPSN1",
        Wpsn1,
        obf::WRPSN,
        &[],
        Immediate,
        None,
        "bank 1 sector write protection (bit n = 0: sector n protected)"
    ),
    field!(
        "PROT_AREA_START2",
        Prar2,
        obf::PROT_AREA_START,
        &[],
        Immediate,
        None,
        "bank 2 PCROP area start (256-byte units)"
    ),
    field!(
        "PROT_AREA_END2",
        Prar2,
        obf::PROT_AREA_END,
        &[],
        Immediate,
        None,
        "bank 2 PCROP area end (256-byte units)"
    ),
    field!(
        "DMEP2",
        Prar2,
        obf::DMEP,
        KEEP,
        Immediate,
        None,
        "bank 2 PCROP area erased on RDP regression"
    ),
    field!(
        "SEC_AREA_START2",
        Scar2,
        obf::SEC_AREA_START,
        &[],
        Immediate,
        None,
        "bank 2 secure area start (256-byte units)"
    ),
    field!(
        "SEC_AREA_END2",
        Scar2,
        obf::SEC_AREA_END,
        &[],
        Immediate,
        None,
        "bank 2 secure area end (256-byte units)"
    ),
    field!(
        "DMES2",
        Scar2,
        obf::DMES,
        KEEP,
        Immediate,
        None,
        "bank 2 secure area erased on RDP regression"
    ),
    field!(
        "WRPSN2",
        Wpsn2,
        obf::WRPSN,
        &[],
        Immediate,
        None,
        "bank 2 sector write protection (bit n = 0: sector n protected)"
    ),
];

/// A field by its RM0399 name (case-insensitive; `FLASH_OPTSR_PRG.BCM4` style accepted too).
pub fn field(name: &str) -> Option<&'static ObField> {
    let short = name.rsplit('.').next().unwrap_or(name);
    FIELDS.iter().find(|f| f.name.eq_ignore_ascii_case(short))
}

/// The raw words of all option-byte registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ObWords {
    pub cur: [u32; 9],
    pub prg: [u32; 9],
    pub optcr: u32,
}

impl ObWords {
    pub fn cur(&self, reg: ObReg) -> u32 {
        self.cur[reg.index()]
    }
    pub fn prg(&self, reg: ObReg) -> u32 {
        self.prg[reg.index()]
    }
    pub fn cur_field(&self, f: &ObField) -> u32 {
        get(self.cur(f.reg), f.bits)
    }
    pub fn prg_field(&self, f: &ObField) -> u32 {
        get(self.prg(f.reg), f.bits)
    }
    pub fn opt_busy(&self) -> bool {
        get(self.cur(ObReg::Optsr), o::OPT_BUSY) != 0
    }
    pub fn optchangeerr(&self) -> bool {
        get(self.cur(ObReg::Optsr), o::OPTCHANGEERR) != 0
    }
    pub fn locked(&self) -> bool {
        self.optcr & flash::OPTCR_OPTLOCK != 0
    }
}

/// One decoded field, current and pending side by side.
#[derive(Debug, Clone, Serialize)]
pub struct ObFieldValue {
    pub name: &'static str,
    pub register: &'static str,
    pub lsb: u32,
    pub width: u32,
    pub cur: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cur_name: Option<&'static str>,
    pub prg: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prg_name: Option<&'static str>,
    /// PRG differs from CUR: written but not yet programmed (no OPTSTART yet).
    pub pending: bool,
    pub effect: Effect,
    pub description: &'static str,
}

/// One option-byte register pair.
#[derive(Debug, Clone, Serialize)]
pub struct ObRegValue {
    pub cur_name: &'static str,
    pub cur_address: u64,
    pub cur: u32,
    pub prg_name: &'static str,
    pub prg_address: u64,
    pub prg: u32,
}

/// Formats a field value (hex for wide fields, boot addresses as addresses).
pub fn format_value(f: &ObField, v: u32) -> String {
    let mut s = if f.bits.1 > 4 {
        format!("{v:#x}")
    } else {
        v.to_string()
    };
    if f.check == Check::BootAddress {
        s.push_str(&format!(" ({:#010x})", v << flash::BOOT_ADDR_SHIFT));
    } else if let Some(n) = f.value_name(v) {
        s.push_str(&format!(" ({n})"));
    }
    s
}

/// Decodes all fields.
pub fn decode(words: &ObWords) -> (Vec<ObRegValue>, Vec<ObFieldValue>) {
    let regs = ObReg::ALL
        .iter()
        .map(|&r| ObRegValue {
            cur_name: r.names().0,
            cur_address: r.cur_address(),
            cur: words.cur(r),
            prg_name: r.names().1,
            prg_address: r.prg_address(),
            prg: words.prg(r),
        })
        .collect();
    let fields = FIELDS
        .iter()
        .map(|f| {
            let cur = words.cur_field(f);
            let prg = words.prg_field(f);
            ObFieldValue {
                name: f.name,
                register: f.reg.short(),
                lsb: f.bits.0,
                width: f.bits.1,
                cur,
                cur_name: f.value_name(cur),
                prg,
                prg_name: f.value_name(prg),
                pending: cur != prg,
                effect: f.effect,
                description: f.description,
            }
        })
        .collect();
    (regs, fields)
}

/// A request value: a number or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    Number(u64),
    Name(String),
}

/// Why a change is refused unless explicitly forced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Danger {
    /// RDP level 2: the debug port is disabled for ever. Needs the permanent-change flag.
    RdpLevel2,
    /// BCM4 = 0 and BCM7 = 0: no core boots after reset.
    NoCoreBoots,
    /// A boot address outside flash, system memory and RAM.
    BootAddressOutside { field: &'static str, address: u64 },
    /// SECURITY = 1: secure access mode, undone only through an RDP regression.
    SecurityOn,
}

impl Danger {
    pub fn text(&self) -> String {
        match self {
            Danger::RdpLevel2 => "RDP = 0xCC is level 2: the debug port and the bootloader are \
                                  disabled FOR EVER, the chip can never be debugged or reprogrammed \
                                  through SWD again"
                .into(),
            Danger::NoCoreBoots => "BCM4 = 0 and BCM7 = 0: no core boots after reset; only a \
                                    connect-under-reset and option-byte change brings the board back"
                .into(),
            Danger::BootAddressOutside { field, address } => format!(
                "{field} = {address:#010x} is outside flash, system memory and RAM: the core \
                 fetches its vector table from nowhere and locks up"
            ),
            Danger::SecurityOn => "SECURITY = 1 enables secure access mode; it can only be \
                                   cleared again through an RDP regression (mass erase)"
                .into(),
        }
    }

    /// Whether this danger is the permanent one (needs the RDP 2 flag, not the general one).
    pub fn permanent(&self) -> bool {
        matches!(self, Danger::RdpLevel2)
    }
}

/// One field change of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct ObChange {
    pub name: &'static str,
    pub register: &'static str,
    pub before: u32,
    pub before_text: String,
    pub after: u32,
    pub after_text: String,
    pub effect: Effect,
}

/// A validated change: the new PRG words and what they change.
#[derive(Debug, Clone, Serialize)]
pub struct ObPlan {
    pub changes: Vec<ObChange>,
    /// Fields not asked for whose PRG value differs from CUR (`before` = CUR, `after` = PRG):
    /// OPTSTART programs every PRG register, so these would be committed too. A plan with any
    /// must not be run.
    pub pending: Vec<ObChange>,
    /// Fields asked for with their CUR value while PRG held another one (`before` = the
    /// pending PRG value, `after` = CUR): the pending value is written back to CUR.
    pub discarded: Vec<ObChange>,
    /// (register, CUR word, new PRG word) of each register to write: those that change and
    /// those whose PRG holds something else.
    #[serde(skip)]
    pub writes: Vec<(ObReg, u32, u32)>,
    /// Every PRG word as it must read just before OPTSTART.
    #[serde(skip)]
    pub prg: [u32; 9],
    pub dangers: Vec<Danger>,
    pub warnings: Vec<String>,
    /// A reset is needed before some change acts.
    pub reset_needed: bool,
}

/// A request that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub message: String,
    pub hint: String,
}

fn plan_err(message: impl Into<String>, hint: impl Into<String>) -> PlanError {
    PlanError {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Whether `address` is a sensible boot address: flash, system memory or RAM.
pub fn boot_address_ok(address: u64) -> bool {
    [
        mem::FLASH_BANK1,
        mem::FLASH_BANK2,
        mem::SYSTEM_MEMORY,
        mem::ITCM,
        mem::DTCM,
        mem::AXI_SRAM,
        mem::SRAM1,
        mem::SRAM2,
        mem::SRAM3,
        mem::SRAM4,
        super::facts::mem_ext::CM4_SRAM_ALIAS,
    ]
    .iter()
    .any(|&(base, size)| (base..base + size).contains(&address))
}

fn resolve_value(f: &ObField, v: &Requested) -> Result<u32, PlanError> {
    let names = || {
        let mut n: Vec<&str> = f.values.iter().map(|(_, n)| *n).collect();
        if n.is_empty() {
            "a number".to_string()
        } else {
            n.push("or a number");
            n.join(", ")
        }
    };
    let n = match v {
        Requested::Name(s) => match f.value_of(s) {
            Some(v) => u64::from(v),
            None => match s.to_ascii_lowercase().as_str() {
                "on" | "true" if f.bits.1 == 1 => 1,
                "off" | "false" if f.bits.1 == 1 => 0,
                _ => {
                    return Err(plan_err(
                        format!("`{s}` is not a value of {}", f.name),
                        format!("{} takes {}", f.name, names()),
                    ))
                }
            },
        },
        Requested::Number(n) => *n,
    };
    // Boot addresses may be given as full addresses (0x08100000) as well as fields (0x0810).
    let n = if f.check == Check::BootAddress && n > u64::from(f.max()) {
        if n & 0xFFFF == 0 && n >> 16 <= u64::from(f.max()) {
            n >> flash::BOOT_ADDR_SHIFT
        } else {
            return Err(plan_err(
                format!("{n:#x} is not a boot address {} can hold", f.name),
                "boot addresses are 64 KiB aligned: give 0x08100000 or the field value 0x0810",
            ));
        }
    } else {
        n
    };
    if n > u64::from(f.max()) {
        return Err(plan_err(
            format!(
                "{n:#x} does not fit in {} ({} bit{})",
                f.name,
                f.bits.1,
                if f.bits.1 == 1 { "" } else { "s" }
            ),
            format!("{} takes 0..={:#x}; nothing was written", f.name, f.max()),
        ));
    }
    Ok(n as u32)
}

fn change(f: &ObField, before: u32, after: u32) -> ObChange {
    ObChange {
        name: f.name,
        register: f.reg.short(),
        before,
        before_text: format_value(f, before),
        after,
        after_text: format_value(f, after),
        effect: f.effect,
    }
}

/// Validates `NAME=VALUE` requests against the current option bytes and builds the plan.
/// The new PRG words start from CUR, so only the requested fields change.
pub fn plan(words: &ObWords, requests: &[(String, Requested)]) -> Result<ObPlan, PlanError> {
    if requests.is_empty() {
        return Err(plan_err(
            "nothing to set",
            "give one or more NAME=VALUE, e.g. `ob set BCM4=1`; `ob` lists the names",
        ));
    }
    let mut new = words.cur;
    let mut seen: Vec<&'static str> = Vec::new();
    let mut changes = Vec::new();
    let mut discarded = Vec::new();
    let mut dangers = Vec::new();
    let mut warnings = Vec::new();
    for (name, value) in requests {
        let f = field(name).ok_or_else(|| {
            plan_err(
                format!("`{name}` is not an option byte"),
                format!(
                    "option bytes: {}",
                    FIELDS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        if seen.contains(&f.name) {
            return Err(plan_err(
                format!("{} is given twice", f.name),
                "give each option byte once",
            ));
        }
        seen.push(f.name);
        let v = resolve_value(f, value)?;
        let before = words.cur_field(f);
        new[f.reg.index()] = set(new[f.reg.index()], f.bits, v);
        match f.check {
            Check::Rdp if v == flash::RDP_LEVEL2 && before != v => dangers.push(Danger::RdpLevel2),
            Check::Rdp if v == flash::RDP_LEVEL0 && before != flash::RDP_LEVEL0 => warnings.push(
                "RDP level 1 -> level 0 mass-erases both flash banks (and the PCROP/secure \
                     areas marked for erase)"
                    .into(),
            ),
            Check::Rdp if before == flash::RDP_LEVEL2 => {
                return Err(plan_err(
                    "RDP is at level 2: option bytes can no longer be changed",
                    "level 2 is final (RM0399 §4.5.3)",
                ))
            }
            Check::Rdp if v != flash::RDP_LEVEL0 && before == flash::RDP_LEVEL0 => warnings.push(
                "RDP level 1: the debugger can no longer read flash; going back to level 0 \
                 mass-erases it"
                    .into(),
            ),
            Check::BootAddress => {
                let address = u64::from(v) << flash::BOOT_ADDR_SHIFT;
                if !boot_address_ok(address) && before != v {
                    dangers.push(Danger::BootAddressOutside {
                        field: f.name,
                        address,
                    });
                }
            }
            Check::Security if v == 1 && before == 0 => dangers.push(Danger::SecurityOn),
            _ => {}
        }
        if before != v {
            changes.push(change(f, before, v));
        } else if words.prg_field(f) != v {
            discarded.push(change(f, words.prg_field(f), v));
        }
    }
    let pending = FIELDS
        .iter()
        .filter(|f| !seen.contains(&f.name) && words.prg_field(f) != words.cur_field(f))
        .map(|f| change(f, words.cur_field(f), words.prg_field(f)))
        .collect();
    let optsr = new[ObReg::Optsr.index()];
    let touches_bcm = seen.contains(&"BCM4") || seen.contains(&"BCM7");
    if touches_bcm && get(optsr, o::BCM4) == 0 && get(optsr, o::BCM7) == 0 {
        dangers.push(Danger::NoCoreBoots);
    }
    let writes = ObReg::ALL
        .iter()
        .filter(|&&r| {
            new[r.index()] != words.cur(r) || (new[r.index()] ^ words.prg(r)) & r.field_mask() != 0
        })
        .map(|&r| (r, words.cur(r), new[r.index()]))
        .collect();
    let reset_needed = changes.iter().any(|c| c.effect == Effect::NextReset);
    Ok(ObPlan {
        changes,
        pending,
        discarded,
        writes,
        prg: new,
        dangers,
        warnings,
        reset_needed,
    })
}

/// What the engine needs from the transport: 32-bit access by address (through AP0) and a clock
/// (virtual on the virtual board, wall time on a real probe).
pub trait ObBus {
    type Error: std::fmt::Display;
    /// Block reads of `(address, words)`, in one go where the transport can (each opening of
    /// an AP's memory interface costs round trips).
    fn read_blocks(&mut self, blocks: &[(u64, usize)]) -> Result<Vec<Vec<u32>>, Self::Error>;
    fn write(&mut self, address: u64, value: u32) -> Result<(), Self::Error>;
    fn now_ms(&mut self) -> f64;
    fn pause_ms(&mut self, ms: u64);
    /// Ctrl-C was pressed: checked once, before OPTSTART (after it, the sequence must finish).
    fn interrupted(&mut self) -> bool {
        false
    }
    /// Brings the link back after a failed access (a wire fault can leave the debug port in an
    /// error state that every later access trips over); the retries of the relock use it.
    fn recover(&mut self) {}
}

/// Reads every option-byte register in two block reads (bank 1 block, bank 2 block) and OPTCR.
pub fn read<B: ObBus>(bus: &mut B) -> Result<ObWords, B::Error> {
    let (s1, e1) = obf::BANK1_BLOCK;
    let (s2, e2) = obf::BANK2_BLOCK;
    // OPTCR sits just before OPTSR_CUR: one block from OPTCR covers both.
    let start = flash::OPTCR.min(s1);
    let mut blocks = bus
        .read_blocks(&[
            (flash::BASE + start, ((e1 - start) / 4) as usize),
            (flash::BASE + s2, ((e2 - s2) / 4) as usize),
        ])?
        .into_iter();
    let b1 = blocks.next().unwrap_or_default();
    let b2 = blocks.next().unwrap_or_default();
    let word = |off: u64| -> u32 {
        if (start..e1).contains(&off) {
            b1.get(((off - start) / 4) as usize).copied().unwrap_or(0)
        } else if (s2..e2).contains(&off) {
            b2.get(((off - s2) / 4) as usize).copied().unwrap_or(0)
        } else {
            0
        }
    };
    let mut w = ObWords {
        optcr: word(flash::OPTCR),
        ..ObWords::default()
    };
    for r in ObReg::ALL {
        let (c, p) = r.offsets();
        w.cur[r.index()] = word(c);
        w.prg[r.index()] = word(p);
    }
    Ok(w)
}

/// One step of the programming sequence, as run (or as it would run with --dry-run).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u32>,
}

impl Step {
    fn write(action: impl Into<String>, address: u64, value: u32) -> Step {
        Step {
            action: action.into(),
            address: Some(address),
            value: Some(value),
        }
    }
    fn note(action: impl Into<String>) -> Step {
        Step {
            action: action.into(),
            address: None,
            value: None,
        }
    }
    pub fn text(&self) -> String {
        match (self.address, self.value) {
            (Some(a), Some(v)) => format!("{:<44} {a:#010x} <- {v:#010x}", self.action),
            _ => self.action.clone(),
        }
    }
}

/// How programming failed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ObFailure {
    /// A bus access failed.
    Bus { message: String },
    /// OPT_BUSY was already set before starting.
    Busy,
    /// OPTCR stayed locked after the key sequence (a wrong key was written since reset).
    Locked,
    /// OPT_BUSY did not clear in time.
    Timeout { ms: u64 },
    /// The controller refused the change (OPTSR_CUR.OPTCHANGEERR).
    ChangeError,
    /// *_CUR does not hold the requested value afterwards.
    Verify {
        field: &'static str,
        expected: u32,
        found: u32,
    },
    /// A PRG register did not read back as planned just before OPTSTART (something else wrote
    /// it): OPTSTART was not given.
    PrgMismatch {
        register: &'static str,
        expected: u32,
        found: u32,
    },
    /// Ctrl-C before OPTSTART: nothing was programmed.
    Interrupted,
}

impl ObFailure {
    pub fn text(&self) -> String {
        match self {
            ObFailure::Bus { message } => format!("a bus access failed: {message}"),
            ObFailure::Busy => "OPTSR_CUR.OPT_BUSY is already set: another option-byte \
                                change is in progress"
                .into(),
            ObFailure::Locked => {
                "FLASH_OPTCR stayed locked after the OPTKEYR key sequence: a wrong \
                                  key was written since the last reset, which locks OPTCR until \
                                  the next reset"
                    .into()
            }
            ObFailure::Timeout { ms } => {
                format!("OPTSR_CUR.OPT_BUSY did not clear within {ms} ms")
            }
            ObFailure::ChangeError => "the flash controller refused the change \
                                       (OPTSR_CUR.OPTCHANGEERR = 1)"
                .into(),
            ObFailure::Verify {
                field,
                expected,
                found,
            } => format!(
                "{field} reads {found:#x} in the CUR register after programming, expected \
                 {expected:#x}"
            ),
            ObFailure::PrgMismatch {
                register,
                expected,
                found,
            } => format!(
                "{register} read {found:#010x} before OPTSTART, expected {expected:#010x} \
                 (something else wrote it): OPTSTART was not given, nothing was programmed, \
                 the PRG registers were written back"
            ),
            ObFailure::Interrupted => "interrupted before OPTSTART: nothing was programmed".into(),
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            ObFailure::Bus { .. } => "check the connection (`info`) and try again",
            ObFailure::Busy => "wait for it: `wait FLASH_OPTSR_CUR.OPT_BUSY == 0`, then retry",
            ObFailure::Locked => {
                "reset the chip (`reset`) to clear the key lock, then run `ob set` again"
            }
            ObFailure::Timeout { .. } => {
                "the change may still complete: check with `ob` after a moment; \
                 `wait FLASH_OPTSR_CUR.OPT_BUSY == 0 timeout 10000`"
            }
            ObFailure::ChangeError => {
                "the error flag was cleared; at RDP level 2 nothing can change, otherwise \
                 check the values with `ob` and retry"
            }
            ObFailure::Verify { .. } => "compare CUR and PRG with `ob`; a reset may be needed",
            ObFailure::PrgMismatch { .. } => {
                "firmware may be writing the option bytes: halt the cores (`halt`), check with \
                 `ob` and retry"
            }
            ObFailure::Interrupted => "run `ob set` again when ready",
        }
    }
}

/// What one requested field holds after the sequence, read back from its CUR register.
#[derive(Debug, Clone, Serialize)]
pub struct FieldResult {
    pub name: &'static str,
    pub expected: u32,
    /// `None`: the CUR register could not be read back.
    pub found: Option<u32>,
    /// CUR holds the requested value.
    pub verified: bool,
}

impl FieldResult {
    pub fn text(&self) -> String {
        let fmt = |v| field(self.name).map_or(format!("{v:#x}"), |f| format_value(f, v));
        match self.found {
            Some(v) if self.verified => {
                format!("{}: programmed and verified (CUR = {})", self.name, fmt(v))
            }
            Some(v) => format!(
                "{}: NOT programmed (CUR = {}, asked {})",
                self.name,
                fmt(v),
                fmt(self.expected)
            ),
            None => format!(
                "{}: unknown (CUR could not be read back or was still programming; asked {})",
                self.name,
                fmt(self.expected)
            ),
        }
    }
}

/// Result of the programming sequence (success or failure), with every step taken.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    pub steps: Vec<Step>,
    /// OPTCR.OPTLOCK read back as 1 at the end.
    pub relocked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<ObFailure>,
    /// Each requested field as read back afterwards.
    pub fields: Vec<FieldResult>,
    /// Every requested field reads back with its new value.
    pub programmed: bool,
    /// Option bytes read back after the sequence.
    pub after: Option<ObWords>,
}

/// How many times the relock (and the read-back) is tried before giving up: a one-off wire
/// fault must not leave OPTCR unlocked.
pub const RELOCK_ATTEMPTS: u32 = 5;

/// The sequence `program` would run on the chip as it is now (`words`): the same writes, with
/// the same values, in the same order, and its checks as notes (`--dry-run`).
pub fn dry_run_steps(plan: &ObPlan, words: &ObWords) -> Vec<Step> {
    let reg = |off: u64| flash::BASE + off;
    let mut steps = Vec::new();
    if words.optchangeerr() {
        steps.push(Step::write(
            "clear a stale OPTCHANGEERR: FLASH_OPTCCR.CLR_OPTCHANGEERR",
            reg(flash::OPTCCR),
            flash::CLR_OPTCHANGEERR,
        ));
    }
    if words.locked() {
        steps.push(Step::write(
            "unlock: FLASH_OPTKEYR = key 1",
            reg(flash::OPTKEYR),
            flash::OPTKEY1,
        ));
        steps.push(Step::write(
            "unlock: FLASH_OPTKEYR = key 2",
            reg(flash::OPTKEYR),
            flash::OPTKEY2,
        ));
    }
    for (r, _, new) in &plan.writes {
        steps.push(Step::write(
            format!("write {}", r.names().1),
            r.prg_address(),
            *new,
        ));
    }
    steps.push(Step::note(PRG_CHECK_NOTE));
    steps.push(Step::write(
        "FLASH_OPTCR.OPTSTART = 1",
        reg(flash::OPTCR),
        flash::OPTCR_OPTSTART,
    ));
    steps.push(Step::note("wait while FLASH_OPTSR_CUR.OPT_BUSY = 1"));
    steps.push(Step::note(
        "if FLASH_OPTSR_CUR.OPTCHANGEERR = 1: clear it (FLASH_OPTCCR.CLR_OPTCHANGEERR) and stop",
    ));
    steps.push(Step::write(
        "relock: FLASH_OPTCR.OPTLOCK = 1",
        reg(flash::OPTCR),
        optcr_keep(words.optcr) | flash::OPTCR_OPTLOCK,
    ));
    steps.push(Step::note("OPTCR is locked (read back)"));
    steps.push(Step::note(
        "verify: the *_CUR registers hold the new values",
    ));
    steps
}

/// OPTCR bits that must be written back as they are (not OPTLOCK/OPTSTART/MER).
fn optcr_keep(optcr: u32) -> u32 {
    optcr & (flash::OPTCR_OPTCHANGEERRIE | flash::OPTCR_SWAP_BANK)
}

const PRG_CHECK_NOTE: &str =
    "check every *_PRG register holds exactly the plan (nothing else pending), else no OPTSTART";

struct Run<'a, B: ObBus> {
    bus: &'a mut B,
    steps: Vec<Step>,
    /// Some PRG register was written.
    wrote_prg: bool,
    /// OPTSTART was written.
    started: bool,
}

impl<B: ObBus> Run<'_, B> {
    fn read1(&mut self, off: u64) -> Result<u32, ObFailure> {
        let v = self
            .bus
            .read_blocks(&[(flash::BASE + off, 1)])
            .map_err(|e| ObFailure::Bus {
                message: e.to_string(),
            })?;
        Ok(v.first().and_then(|b| b.first()).copied().unwrap_or(0))
    }
    fn write(&mut self, action: impl Into<String>, off: u64, value: u32) -> Result<(), ObFailure> {
        self.steps
            .push(Step::write(action, flash::BASE + off, value));
        self.bus
            .write(flash::BASE + off, value)
            .map_err(|e| ObFailure::Bus {
                message: e.to_string(),
            })
    }

    fn sequence(&mut self, plan: &ObPlan, timeout_ms: u64) -> Result<(), ObFailure> {
        let optsr = self.read1(flash::OPTSR_CUR)?;
        if get(optsr, o::OPT_BUSY) != 0 {
            return Err(ObFailure::Busy);
        }
        if get(optsr, o::OPTCHANGEERR) != 0 {
            self.write(
                "clear a stale OPTCHANGEERR: FLASH_OPTCCR.CLR_OPTCHANGEERR",
                flash::OPTCCR,
                flash::CLR_OPTCHANGEERR,
            )?;
        }
        let mut optcr = self.read1(flash::OPTCR)?;
        if optcr & flash::OPTCR_OPTLOCK != 0 {
            self.write(
                "unlock: FLASH_OPTKEYR = key 1",
                flash::OPTKEYR,
                flash::OPTKEY1,
            )?;
            self.write(
                "unlock: FLASH_OPTKEYR = key 2",
                flash::OPTKEYR,
                flash::OPTKEY2,
            )?;
            optcr = self.read1(flash::OPTCR)?;
            if optcr & flash::OPTCR_OPTLOCK != 0 {
                return Err(ObFailure::Locked);
            }
        }
        for (r, _, new) in &plan.writes {
            self.wrote_prg = true;
            self.write(format!("write {}", r.names().1), r.offsets().1, *new)?;
        }
        // OPTSTART programs every PRG register: only what was planned (and checked) may be there.
        self.steps.push(Step::note(PRG_CHECK_NOTE));
        let now = read(self.bus).map_err(|e| ObFailure::Bus {
            message: e.to_string(),
        })?;
        for r in ObReg::ALL {
            let (expected, found) = (plan.prg[r.index()], now.prg(r));
            if (expected ^ found) & r.field_mask() != 0 {
                return Err(ObFailure::PrgMismatch {
                    register: r.names().1,
                    expected,
                    found,
                });
            }
        }
        let rdp = field("RDP").map(|f| now.prg_field(f));
        if rdp == Some(flash::RDP_LEVEL2) && !plan.dangers.contains(&Danger::RdpLevel2) {
            // Unreachable through `plan` (a CUR of level 2 refuses every change); kept as the
            // last line of defence for the one change that cannot be undone.
            return Err(ObFailure::PrgMismatch {
                register: "FLASH_OPTSR_PRG",
                expected: plan.prg[ObReg::Optsr.index()],
                found: now.prg(ObReg::Optsr),
            });
        }
        if self.bus.interrupted() {
            return Err(ObFailure::Interrupted);
        }
        self.started = true;
        self.write(
            "FLASH_OPTCR.OPTSTART = 1",
            flash::OPTCR,
            optcr_keep(optcr) | flash::OPTCR_OPTSTART,
        )?;
        self.steps
            .push(Step::note("wait while FLASH_OPTSR_CUR.OPT_BUSY = 1"));
        let start = self.bus.now_ms();
        let optsr = loop {
            let v = self.read1(flash::OPTSR_CUR)?;
            if get(v, o::OPT_BUSY) == 0 {
                let took = self.bus.now_ms() - start;
                self.steps
                    .push(Step::note(format!("OPT_BUSY cleared after {took:.1} ms")));
                break v;
            }
            if self.bus.now_ms() - start >= timeout_ms as f64 {
                return Err(ObFailure::Timeout { ms: timeout_ms });
            }
            self.bus.pause_ms(1);
        };
        if get(optsr, o::OPTCHANGEERR) != 0 {
            self.write(
                "clear OPTCHANGEERR: FLASH_OPTCCR.CLR_OPTCHANGEERR",
                flash::OPTCCR,
                flash::CLR_OPTCHANGEERR,
            )?;
            return Err(ObFailure::ChangeError);
        }
        Ok(())
    }

    /// Sets OPTLOCK until it reads back as set, at most `RELOCK_ATTEMPTS` writes.
    fn relock(&mut self) -> bool {
        let mut writes = 0;
        loop {
            match self.read1(flash::OPTCR) {
                Ok(v) if v & flash::OPTCR_OPTLOCK != 0 => {
                    self.steps.push(Step::note("OPTCR is locked (read back)"));
                    return true;
                }
                Ok(_) | Err(_) if writes == RELOCK_ATTEMPTS => return false,
                Ok(optcr) => {
                    writes += 1;
                    if let Err(e) = self.write(
                        "relock: FLASH_OPTCR.OPTLOCK = 1",
                        flash::OPTCR,
                        optcr_keep(optcr) | flash::OPTCR_OPTLOCK,
                    ) {
                        self.steps
                            .push(Step::note(format!("relock write failed: {}", e.text())));
                    }
                }
                Err(e) => {
                    writes += 1;
                    self.steps
                        .push(Step::note(format!("OPTCR read failed: {}", e.text())));
                    self.bus.recover();
                }
            }
            self.bus.pause_ms(1);
        }
    }

    /// The option bytes read back once OPT_BUSY has cleared (a sequence that failed while
    /// waiting may still be programming), bus errors retried like the relock.
    fn read_back(&mut self, timeout_ms: u64) -> Option<ObWords> {
        let start = self.bus.now_ms();
        let mut errors = 0;
        loop {
            match read(self.bus) {
                Ok(w) if !w.opt_busy() => return Some(w),
                Ok(_) if self.bus.now_ms() - start >= timeout_ms as f64 => {
                    self.steps.push(Step::note(format!(
                        "OPT_BUSY still set {timeout_ms} ms after the sequence: CUR not final"
                    )));
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    errors += 1;
                    self.steps.push(Step::note(format!(
                        "read-back {errors} of the option bytes failed: {e}"
                    )));
                    if errors == RELOCK_ATTEMPTS {
                        return None;
                    }
                    self.bus.recover();
                }
            }
            self.bus.pause_ms(1);
        }
    }
}

/// Runs the whole programming sequence of `plan`; relocks OPTCR whatever happens and reads
/// back what each requested field holds, so the report says what is on the chip.
pub fn program<B: ObBus>(bus: &mut B, plan: &ObPlan, timeout_ms: u64) -> ProgramReport {
    let mut run = Run {
        bus,
        steps: Vec::new(),
        wrote_prg: false,
        started: false,
    };
    let mut failure = run.sequence(plan, timeout_ms).err();
    if failure.is_some() && run.wrote_prg && !run.started {
        // Stopped before OPTSTART: put the PRG registers back, or the next OPTSTART (anyone's)
        // would program this half-done change.
        for (r, cur, _) in &plan.writes {
            let _ = run.write(format!("restore {}", r.names().1), r.offsets().1, *cur);
        }
    }
    let relocked = run.relock();
    let after = run.read_back(timeout_ms);
    let fields: Vec<FieldResult> = plan
        .changes
        .iter()
        .filter_map(|c| Some((field(c.name)?, c.after)))
        .map(|(f, expected)| {
            let found = after.as_ref().map(|w| w.cur_field(f));
            FieldResult {
                name: f.name,
                expected,
                found,
                verified: found == Some(expected),
            }
        })
        .collect();
    let programmed = after.is_some() && fields.iter().all(|f| f.verified);
    if failure.is_none() {
        failure = match fields.iter().find(|f| !f.verified) {
            Some(FieldResult {
                name,
                expected,
                found: Some(found),
                ..
            }) => Some(ObFailure::Verify {
                field: name,
                expected: *expected,
                found: *found,
            }),
            _ if after.is_none() => Some(ObFailure::Bus {
                message: "the option bytes could not be read back".into(),
            }),
            _ => None,
        };
    }
    if programmed {
        run.steps.push(Step::note(
            "verified: the *_CUR registers hold the new values",
        ));
    }
    ProgramReport {
        steps: run.steps,
        relocked,
        failure,
        fields,
        programmed,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory() -> ObWords {
        let mut w = ObWords::default();
        w.cur[ObReg::Optsr.index()] = flash::OPTSR_FACTORY & !1;
        w.cur[ObReg::Boot7.index()] = flash::BOOT7_FACTORY;
        w.cur[ObReg::Boot4.index()] = flash::BOOT4_FACTORY;
        w.prg = w.cur;
        w.optcr = 1;
        w
    }

    fn req(n: &str, v: u64) -> (String, Requested) {
        (n.into(), Requested::Number(v))
    }

    #[test]
    fn every_field_is_inside_its_register_and_names_are_unique() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert!(f.bits.0 + f.bits.1 <= 32, "{}", f.name);
            assert!(
                FIELDS[i + 1..].iter().all(|g| g.name != f.name),
                "{}",
                f.name
            );
            for (v, _) in f.values {
                assert!(*v <= f.max(), "{}", f.name);
            }
        }
    }

    #[test]
    fn plan_bcm4_off_changes_one_bit() {
        let p = plan(&factory(), &[req("bcm4", 0)]).unwrap();
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.writes.len(), 1);
        let (r, old, new) = p.writes[0];
        assert_eq!(r, ObReg::Optsr);
        assert_eq!(old ^ new, 1 << 22);
        assert!(p.reset_needed);
        assert!(p.dangers.is_empty());
    }

    #[test]
    fn dangerous_changes_are_flagged() {
        let w = factory();
        let p = plan(&w, &[req("RDP", 0xCC)]).unwrap();
        assert_eq!(p.dangers, vec![Danger::RdpLevel2]);
        let p = plan(&w, &[req("BCM4", 0), req("BCM7", 0)]).unwrap();
        assert_eq!(p.dangers, vec![Danger::NoCoreBoots]);
        let p = plan(&w, &[req("BCM4_ADD0", 0x4000)]).unwrap();
        assert!(matches!(
            p.dangers[0],
            Danger::BootAddressOutside {
                address: 0x4000_0000,
                ..
            }
        ));
        let p = plan(&w, &[req("BCM4_ADD0", 0x0810_0000)]).unwrap();
        assert!(p.changes.is_empty(), "same value given as an address");
        assert!(plan(&w, &[req("BCM4", 2)]).is_err());
        assert!(plan(&w, &[req("NOPE", 2)]).is_err());
        assert!(plan(&w, &[req("BCM4", 1), req("BCM4", 0)]).is_err());
        assert!(plan(&w, &[req("BCM4_ADD0", 0x0810_1000)]).is_err());
    }

    #[test]
    fn names_are_accepted() {
        let p = plan(
            &factory(),
            &[
                ("RDP".into(), Requested::Name("level1".into())),
                ("BOR_LEV".into(), Requested::Name("BOR_LEVEL2".into())),
                ("NRST_STOP_D2".into(), Requested::Name("off".into())),
            ],
        )
        .unwrap();
        assert_eq!(p.changes.len(), 3);
        assert_eq!(p.changes[0].after, 0xBB);
        assert_eq!(p.changes[1].after, 2);
        assert_eq!(p.changes[2].after, 0);
    }
}
