//! The built-in register set: the facts of ST's SVDs for the eight dual-core views
//! (STM32H745/747/755/757, CM7 and CM4), after h7sh's patches — peripherals, registers,
//! fields, enumerated values, access and reset values; no description text.
//!
//! Plain data, shared by `svd` (which turns a view into a `Device`) and `sim` (which answers
//! unmodelled registers with their reset values), so this module parses no SVD. The data
//! is generated from ST's files by `cargo run --example gen-regset` into `svd/regset.bin`
//! (postcard) and embedded; `docs/svd.md` says how. Views share everything they describe
//! identically: enumerated value lists, field lists, register blocks and peripherals are
//! each stored once, so eight views cost little more than one.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The generated set, embedded.
pub const BLOB: &[u8] = include_bytes!("../svd/regset.bin");

/// Bump when the shape below changes; the generator writes it, the loader checks it.
pub const FORMAT: u32 = 1;

/// An enumerated value of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnumValue<'a> {
    pub name: &'a str,
    pub value: u64,
}

/// A bit field. `access` and `modified_write` are the codes of [`ACCESS`] and
/// [`MODIFIED_WRITE`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field<'a> {
    pub name: &'a str,
    pub lsb: u32,
    pub width: u32,
    pub access: u8,
    pub modified_write: u8,
    pub read_side_effect: bool,
    /// Index into [`RegSet::enum_sets`].
    pub enums: u32,
}

/// A register, at `offset` from its peripheral's base.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Register<'a> {
    pub name: &'a str,
    pub offset: u64,
    /// Size in bits.
    pub size: u32,
    pub access: u8,
    pub reset_value: u64,
    pub read_side_effect: bool,
    /// Index into [`RegSet::field_sets`].
    pub fields: u32,
}

/// A peripheral: name, base and its register block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peripheral<'a> {
    pub name: &'a str,
    pub base: u64,
    pub group: Option<&'a str>,
    /// Index into [`RegSet::blocks`].
    pub block: u32,
}

/// One device view (one part, one core).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View<'a> {
    /// SVD device name, `STM32H755_CM7`.
    pub name: &'a str,
    /// `CM7` or `CM4`.
    pub cpu: Option<&'a str>,
    /// Patches the facts were taken after.
    #[serde(borrow)]
    pub patches: Vec<&'a str>,
    /// Indices into [`RegSet::peripherals`], in the SVD's order.
    pub peripherals: Vec<u32>,
}

/// The whole set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegSet<'a> {
    pub format: u32,
    /// What the facts were generated from (file names and their SHA-256), for humans.
    pub source: &'a str,
    #[serde(borrow)]
    pub enum_sets: Vec<Vec<EnumValue<'a>>>,
    #[serde(borrow)]
    pub field_sets: Vec<Vec<Field<'a>>>,
    #[serde(borrow)]
    pub blocks: Vec<Vec<Register<'a>>>,
    #[serde(borrow)]
    pub peripherals: Vec<Peripheral<'a>>,
    #[serde(borrow)]
    pub views: Vec<View<'a>>,
}

/// Access codes (CMSIS-SVD spelling), index = code.
pub const ACCESS: [&str; 5] = [
    "read-only",
    "write-only",
    "read-write",
    "writeOnce",
    "read-writeOnce",
];

/// `modifiedWriteValues` codes, index = code.
pub const MODIFIED_WRITE: [&str; 9] = [
    "modify",
    "oneToClear",
    "oneToSet",
    "oneToToggle",
    "zeroToClear",
    "zeroToSet",
    "zeroToToggle",
    "clear",
    "set",
];

/// The four parts, in the order the generator writes their views (CM7, then CM4, each).
pub const PARTS: [&str; 4] = ["STM32H745", "STM32H747", "STM32H755", "STM32H757"];

/// The part of the virtual board and the default when nothing names one (NUCLEO-H755ZI-Q).
pub const DEFAULT_PART: &str = "STM32H755";

impl<'a> RegSet<'a> {
    /// Decode a generated set; `None` if it does not decode or has another format.
    pub fn decode(bytes: &'a [u8]) -> Option<Self> {
        let set: RegSet<'a> = postcard::from_bytes(bytes).ok()?;
        (set.format == FORMAT && set.is_consistent()).then_some(set)
    }

    /// Every index points inside its table and every code is known, so users of a decoded
    /// set may index without checks.
    fn is_consistent(&self) -> bool {
        let enums_ok = |i: u32| (i as usize) < self.enum_sets.len();
        self.field_sets.iter().flatten().all(|f| {
            enums_ok(f.enums)
                && usize::from(f.access) < ACCESS.len()
                && usize::from(f.modified_write) < MODIFIED_WRITE.len()
        }) && self.blocks.iter().flatten().all(|r| {
            (r.fields as usize) < self.field_sets.len() && usize::from(r.access) < ACCESS.len()
        }) && self
            .peripherals
            .iter()
            .all(|p| (p.block as usize) < self.blocks.len())
            && self
                .views
                .iter()
                .flat_map(|v| &v.peripherals)
                .all(|&p| (p as usize) < self.peripherals.len())
    }

    /// The view of `part` (a name starting with one of [`PARTS`], any case, such as
    /// probe-rs's `STM32H747XIHx`) for `cpu` (`CM7` or `CM4`).
    pub fn view(&self, part: &str, cpu: &str) -> Option<&View<'a>> {
        let name = format!("{}_{}", part_of(part)?, cpu).to_ascii_uppercase();
        self.views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(&name))
    }

    /// Every register of a view: (absolute address, size in bits, reset value).
    pub fn registers_of<'s>(
        &'s self,
        view: &'s View<'a>,
    ) -> impl Iterator<Item = (u64, u32, u64)> + 's {
        view.peripherals.iter().flat_map(move |&p| {
            let p = &self.peripherals[p as usize];
            self.blocks[p.block as usize]
                .iter()
                .map(move |r| (p.base.wrapping_add(r.offset), r.size, r.reset_value))
        })
    }
}

/// The one of [`PARTS`] that `name` starts with (case-insensitive).
pub fn part_of(name: &str) -> Option<&'static str> {
    let upper = name.trim().to_ascii_uppercase();
    PARTS.iter().copied().find(|p| upper.starts_with(p))
}

/// The embedded set, decoded once. `None` only if the embedded file is damaged, which the
/// tests rule out.
pub fn builtin() -> Option<&'static RegSet<'static>> {
    static CELL: OnceLock<Option<RegSet<'static>>> = OnceLock::new();
    CELL.get_or_init(|| RegSet::decode(BLOB)).as_ref()
}

/// Reset values of the 32-bit words of a view's registers, sorted by word address: what a
/// bus that does not model a register answers after reset. Registers narrower than a word
/// fill their byte lanes; where two registers overlap, the first in the view wins.
pub fn reset_words(part: &str, cpu: &str) -> Vec<(u32, u32)> {
    let Some(set) = builtin() else {
        return Vec::new();
    };
    let Some(view) = set.view(part, cpu) else {
        return Vec::new();
    };
    // word address -> (value, lanes already set)
    let mut words: std::collections::BTreeMap<u32, (u32, u32)> = Default::default();
    for (addr, size, reset) in set.registers_of(view) {
        let bytes = u64::from(size.div_ceil(8)).clamp(1, 4);
        for i in 0..bytes {
            let Ok(a) = u32::try_from(addr + i) else {
                continue;
            };
            let lane = 8 * (a & 3);
            let byte = ((reset >> (8 * i)) & 0xFF) as u32;
            let e = words.entry(a & !3).or_default();
            if e.1 & (0xFF << lane) == 0 {
                e.0 |= byte << lane;
                e.1 |= 0xFF << lane;
            }
        }
    }
    words.into_iter().map(|(a, (v, _))| (a, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_set_decodes_with_all_eight_views() {
        let set = builtin().expect("svd/regset.bin decodes");
        for part in PARTS {
            for cpu in ["CM7", "CM4"] {
                let v = set.view(part, cpu).expect("view");
                assert_eq!(v.cpu, Some(cpu));
                assert!(v.peripherals.len() > 100, "{part} {cpu}");
            }
        }
        assert!(set.view("STM32H743", "CM7").is_none());
        assert_eq!(
            set.view("stm32h747xihx", "cm4").unwrap().name,
            "STM32H747_CM4"
        );
    }

    #[test]
    fn damaged_sets_are_refused() {
        assert!(RegSet::decode(&BLOB[..BLOB.len() / 2]).is_none());
        assert!(RegSet::decode(b"").is_none());
        let mut set = RegSet::decode(BLOB).unwrap();
        set.views[0].peripherals.push(u32::MAX);
        let bytes = postcard::to_stdvec(&set).unwrap();
        assert!(RegSet::decode(&bytes).is_none());
    }

    #[test]
    fn reset_words_hold_gpio_reset_values() {
        let w = reset_words(DEFAULT_PART, "CM7");
        let at = |a: u32| w.binary_search_by_key(&a, |e| e.0).ok().map(|i| w[i].1);
        // GPIOA MODER, OSPEEDR, PUPDR as ST's SVD gives them.
        assert_eq!(at(0x5802_0000), Some(0xABFF_FFFF));
        assert_eq!(at(0x5802_0008), Some(0x0C00_0000));
        assert_eq!(at(0x5802_000C), Some(0x1210_0000));
        assert!(w.windows(2).all(|p| p[0].0 < p[1].0));
    }
}
