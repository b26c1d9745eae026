//! h7sh's own device model: flat, serde-serialisable, independent of svd-rs.
//!
//! Shape: a [`Device`] holds [`Peripheral`]s, each holds [`Register`]s (arrays and clusters
//! already expanded, with names such as `ISER[0]` or `CL[2].REG`), each holds [`Field`]s with
//! their [`EnumValue`]s. Everything else in the program refers to registers and fields through
//! the typed handles [`RegId`] and [`FieldId`], obtained from [`Device::resolve`] or
//! [`Device::name_at`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::index::NameIndex;

/// Serde for `Vec<Arc<Peripheral>>` without serde's `rc` feature (plain sequence).
mod shared_vec {
    use super::{Arc, Peripheral};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[Arc<Peripheral>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|p| &**p))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Arc<Peripheral>>, D::Error> {
        Ok(Vec::<Peripheral>::deserialize(d)?
            .into_iter()
            .map(Arc::new)
            .collect())
    }
}

/// Access rights of a register or field (CMSIS-SVD `access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Access {
    ReadOnly,
    WriteOnly,
    ReadWrite,
    WriteOnce,
    ReadWriteOnce,
}

impl Access {
    /// A debugger may read it.
    pub fn is_readable(self) -> bool {
        matches!(self, Self::ReadOnly | Self::ReadWrite | Self::ReadWriteOnce)
    }
    /// A debugger may write it.
    pub fn is_writable(self) -> bool {
        !matches!(self, Self::ReadOnly)
    }
    /// The SVD spelling (`read-write`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WriteOnly => "write-only",
            Self::ReadWrite => "read-write",
            Self::WriteOnce => "writeOnce",
            Self::ReadWriteOnce => "read-writeOnce",
        }
    }
}

/// What a write does to the bits (CMSIS-SVD `modifiedWriteValues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModifiedWrite {
    Modify,
    OneToClear,
    OneToSet,
    OneToToggle,
    ZeroToClear,
    ZeroToSet,
    ZeroToToggle,
    Clear,
    Set,
}

/// A named value of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    pub name: String,
    pub value: u64,
    pub description: String,
}

/// A bit field of a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits (≥ 1).
    pub width: u32,
    pub access: Access,
    pub modified_write: ModifiedWrite,
    /// Reading changes the hardware state (`readAction` present).
    pub read_side_effect: bool,
    pub description: String,
    pub enums: Vec<EnumValue>,
}

impl Field {
    /// Mask of the field in register position.
    pub fn mask(&self) -> u64 {
        let ones = if self.width >= 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        };
        ones.checked_shl(self.lsb).unwrap_or(0)
    }
    /// Highest bit.
    pub fn msb(&self) -> u32 {
        self.lsb + self.width.saturating_sub(1)
    }
}

/// A register with its absolute address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// Name inside the peripheral: `OPTSR_CUR`, `ISER[0]`, `CL[2].REG`.
    pub name: String,
    pub address: u64,
    /// Size in bits.
    pub size: u32,
    pub access: Access,
    pub reset_value: u64,
    /// Reading the register changes hardware state (some field has a `readAction`).
    pub read_side_effect: bool,
    pub description: String,
    pub fields: Vec<Field>,
}

/// A peripheral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peripheral {
    /// Name as patched (`FLASH`, not ST's `Flash`).
    pub name: String,
    pub base: u64,
    pub description: String,
    pub group: Option<String>,
    pub registers: Vec<Register>,
}

/// Handle of a register: peripheral index and register index in that peripheral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegId {
    pub periph: u32,
    pub reg: u32,
}

/// Handle of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FieldId {
    pub reg: RegId,
    pub field: u32,
}

/// What a name resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resolved {
    Peripheral(u32),
    Register(RegId),
    Field(FieldId),
}

/// One device view (one core): the peripherals plus a name and address index.
///
/// Built by [`super::load`] / [`super::load_builtin`]; immutable afterwards. Peripherals are
/// behind `Arc` so the two core views share every peripheral their SVDs describe identically
/// (ST's CM4 file differs from the CM7 one in a single register).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    /// SVD device name (`STM32H755_CM7`).
    pub name: String,
    /// CPU name from the SVD (`CM7`, `CM4`), if given.
    pub cpu: Option<String>,
    #[serde(with = "shared_vec")]
    pub peripherals: Vec<Arc<Peripheral>>,
    /// Patches applied, in order (h7sh's own first).
    pub patches: Vec<String>,
    pub(crate) index: NameIndex,
}

impl Device {
    /// Build a device and its index from flattened peripherals.
    pub fn new(name: String, cpu: Option<String>, peripherals: Vec<Peripheral>) -> Self {
        Self::from_shared(name, cpu, peripherals.into_iter().map(Arc::new).collect())
    }

    /// Build a device and its index from (possibly shared) peripherals.
    pub fn from_shared(
        name: String,
        cpu: Option<String>,
        peripherals: Vec<Arc<Peripheral>>,
    ) -> Self {
        let index = NameIndex::build(&peripherals);
        Self {
            name,
            cpu,
            peripherals,
            patches: Vec::new(),
            index,
        }
    }

    /// [`Device::from_shared`], taking `like`'s index when it would come out the same (the
    /// same peripheral names, register names, addresses and sizes, in the same order, as for
    /// two core views that differ in a reset value): sorting the index is much of the cost of
    /// a view built without the cache.
    pub(crate) fn from_shared_like(
        name: String,
        cpu: Option<String>,
        peripherals: Vec<Arc<Peripheral>>,
        like: &Device,
    ) -> Self {
        let same_keys = |a: &Arc<Peripheral>, b: &Arc<Peripheral>| {
            Arc::ptr_eq(a, b)
                || (a.name == b.name
                    && a.registers.len() == b.registers.len()
                    && a.registers.iter().zip(&b.registers).all(|(r, s)| {
                        r.name == s.name && r.address == s.address && r.size == s.size
                    }))
        };
        if peripherals.len() != like.peripherals.len()
            || !peripherals
                .iter()
                .zip(&like.peripherals)
                .all(|(a, b)| same_keys(a, b))
        {
            return Self::from_shared(name, cpu, peripherals);
        }
        Self {
            name,
            cpu,
            peripherals,
            patches: Vec::new(),
            index: like.index.clone(),
        }
    }

    /// Peripheral by index. Panics only for an index that did not come from this device.
    pub fn peripheral(&self, i: u32) -> &Peripheral {
        &self.peripherals[i as usize]
    }
    /// Register by handle. Panics only for a handle that did not come from this device.
    pub fn register(&self, id: RegId) -> &Register {
        &self.peripherals[id.periph as usize].registers[id.reg as usize]
    }
    /// Field by handle. Panics only for a handle that did not come from this device.
    pub fn field(&self, id: FieldId) -> &Field {
        &self.register(id.reg).fields[id.field as usize]
    }
    /// Checked variant of [`Device::register`].
    pub fn get_register(&self, id: RegId) -> Option<&Register> {
        self.peripherals
            .get(id.periph as usize)?
            .registers
            .get(id.reg as usize)
    }
    /// Checked variant of [`Device::field`].
    pub fn get_field(&self, id: FieldId) -> Option<&Field> {
        self.get_register(id.reg)?.fields.get(id.field as usize)
    }

    /// Number of registers in all peripherals.
    pub fn register_count(&self) -> usize {
        self.peripherals.iter().map(|p| p.registers.len()).sum()
    }
    /// Number of fields in all registers.
    pub fn field_count(&self) -> usize {
        self.peripherals
            .iter()
            .flat_map(|p| &p.registers)
            .map(|r| r.fields.len())
            .sum()
    }

    /// `PERIPH`, `PERIPH.REG` or `PERIPH.REG.FIELD`, with the names as patched.
    /// Returns `"?"` parts for handles that did not come from this device.
    pub fn canonical_name(&self, r: Resolved) -> String {
        let pname = |i: u32| {
            self.peripherals
                .get(i as usize)
                .map_or("?", |p| p.name.as_str())
        };
        match r {
            Resolved::Peripheral(p) => pname(p).to_string(),
            Resolved::Register(id) => match self.get_register(id) {
                Some(reg) => format!("{}.{}", pname(id.periph), reg.name),
                None => format!("{}.?", pname(id.periph)),
            },
            Resolved::Field(id) => match (self.get_register(id.reg), self.get_field(id)) {
                (Some(reg), Some(f)) => format!("{}.{}.{}", pname(id.reg.periph), reg.name, f.name),
                _ => format!("{}.?.?", pname(id.reg.periph)),
            },
        }
    }

    /// Register at `address` (exact start address first, else the register covering it).
    pub fn name_at(&self, address: u64) -> Option<RegId> {
        self.index.name_at(address)
    }

    /// Value of the enumerated value `name` (case-insensitive) of a field.
    pub fn enum_value(&self, f: FieldId, name: &str) -> Option<u64> {
        let field = self.get_field(f)?;
        let name = name.trim();
        field
            .enums
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| e.value)
    }

    /// Name of the enumerated value of `value` in a field, if any.
    pub fn enum_name(&self, f: FieldId, value: u64) -> Option<&str> {
        self.get_field(f)?
            .enums
            .iter()
            .find(|e| e.value == value)
            .map(|e| e.name.as_str())
    }

    /// Case-insensitive search in names and descriptions. `*` in the pattern matches any run
    /// of characters; the pattern may match anywhere (no anchoring). Results come in model
    /// order: each peripheral, then its registers, then their fields. An empty pattern matches
    /// everything.
    pub fn find(&self, pattern: &str) -> Vec<Resolved> {
        let pat = pattern.trim().to_ascii_lowercase();
        let parts: Vec<&str> = pat.split('*').filter(|s| !s.is_empty()).collect();
        let hit = |s: &str| glob_contains(&s.to_ascii_lowercase(), &parts);
        let mut out = Vec::new();
        for (pi, p) in self.peripherals.iter().enumerate() {
            let pi = pi as u32;
            if hit(&p.name) || hit(&p.description) {
                out.push(Resolved::Peripheral(pi));
            }
            for (ri, r) in p.registers.iter().enumerate() {
                let rid = RegId {
                    periph: pi,
                    reg: ri as u32,
                };
                let full = format!("{}.{}", p.name, r.name);
                let rm = format!("{}_{}", p.name, r.name);
                if hit(&full) || hit(&rm) || hit(&r.description) {
                    out.push(Resolved::Register(rid));
                }
                for (fi, f) in r.fields.iter().enumerate() {
                    let ff = format!("{full}.{}", f.name);
                    let rf = format!("{rm}.{}", f.name);
                    if hit(&ff) || hit(&rf) || hit(&f.description) {
                        out.push(Resolved::Field(FieldId {
                            reg: rid,
                            field: fi as u32,
                        }));
                    }
                }
            }
        }
        out
    }
}

/// `parts` occur in `text` in order (the glob `*p1*p2*...*`).
fn glob_contains(text: &str, parts: &[&str]) -> bool {
    let mut rest = text;
    for p in parts {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_contains("flash.optsr_cur.bcm4", &["optsr", "bcm"]));
        assert!(!glob_contains("flash.optsr_cur.bcm4", &["bcm", "optsr"]));
        assert!(glob_contains("anything", &[]));
    }

    #[test]
    fn masks() {
        let f = Field {
            name: "X".into(),
            lsb: 8,
            width: 8,
            access: Access::ReadWrite,
            modified_write: ModifiedWrite::Modify,
            read_side_effect: false,
            description: String::new(),
            enums: vec![],
        };
        assert_eq!(f.mask(), 0xFF00);
        assert_eq!(f.msb(), 15);
    }
}
