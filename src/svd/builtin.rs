//! The built-in register set as device views, and how it is made from ST's files.
//!
//! [`crate::regset`] holds the facts (generated, embedded); this module turns one part's two
//! views into [`Device`]s, and builds the facts from ST's SVDs through the very pipeline
//! [`super::load`] runs (parse, h7sh's patch, Cortex-M block, flatten), so the built-in set
//! is what loading ST's file gives, minus the description text.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::regset::{self, RegSet};

use super::error::SvdError;
use super::model::{Access, Device, EnumValue, Field, ModifiedWrite, Peripheral, Register};

const ACCESS: [Access; 5] = [
    Access::ReadOnly,
    Access::WriteOnly,
    Access::ReadWrite,
    Access::WriteOnce,
    Access::ReadWriteOnce,
];

const MODIFIED_WRITE: [ModifiedWrite; 9] = [
    ModifiedWrite::Modify,
    ModifiedWrite::OneToClear,
    ModifiedWrite::OneToSet,
    ModifiedWrite::OneToToggle,
    ModifiedWrite::ZeroToClear,
    ModifiedWrite::ZeroToSet,
    ModifiedWrite::ZeroToToggle,
    ModifiedWrite::Clear,
    ModifiedWrite::Set,
];

fn access_code(a: Access) -> u8 {
    ACCESS.iter().position(|&x| x == a).unwrap_or(2) as u8
}

fn modified_write_code(m: ModifiedWrite) -> u8 {
    MODIFIED_WRITE.iter().position(|&x| x == m).unwrap_or(0) as u8
}

fn damaged() -> SvdError {
    SvdError::Malformed {
        path: super::BUILTIN_SVD_NAME.into(),
        line: None,
        message: "the embedded register set does not decode (a damaged build)".into(),
    }
}

/// The CM7 and CM4 views of `part` (one of [`regset::PARTS`]); peripherals the two views
/// describe identically are shared.
pub(crate) fn views(part: &str) -> Result<(Device, Device), SvdError> {
    let set = regset::builtin().ok_or_else(damaged)?;
    let mut made: HashMap<u32, Arc<Peripheral>> = HashMap::new();
    let mut view = |cpu: &str, like: Option<&Device>| -> Result<Device, SvdError> {
        let v = set.view(part, cpu).ok_or_else(damaged)?;
        let peripherals = v
            .peripherals
            .iter()
            .map(|&i| {
                made.entry(i)
                    .or_insert_with(|| Arc::new(peripheral(set, i)))
                    .clone()
            })
            .collect();
        let (name, cpu) = (v.name.to_string(), v.cpu.map(str::to_string));
        let mut d = match like {
            Some(l) => Device::from_shared_like(name, cpu, peripherals, l),
            None => Device::from_shared(name, cpu, peripherals),
        };
        d.patches = v.patches.iter().map(|p| p.to_string()).collect();
        Ok(d)
    };
    let cm7 = view("CM7", None)?;
    let cm4 = view("CM4", Some(&cm7))?;
    Ok((cm7, cm4))
}

/// Peripheral `i` of a decoded set (indices were checked by [`RegSet::decode`]).
fn peripheral(set: &RegSet<'_>, i: u32) -> Peripheral {
    let p = &set.peripherals[i as usize];
    let registers = set.blocks[p.block as usize]
        .iter()
        .map(|r| Register {
            name: r.name.to_string(),
            address: p.base.wrapping_add(r.offset),
            size: r.size,
            access: ACCESS[usize::from(r.access)],
            reset_value: r.reset_value,
            read_side_effect: r.read_side_effect,
            description: String::new(),
            fields: set.field_sets[r.fields as usize]
                .iter()
                .map(|f| Field {
                    name: f.name.to_string(),
                    lsb: f.lsb,
                    width: f.width,
                    access: ACCESS[usize::from(f.access)],
                    modified_write: MODIFIED_WRITE[usize::from(f.modified_write)],
                    read_side_effect: f.read_side_effect,
                    description: String::new(),
                    enums: set.enum_sets[f.enums as usize]
                        .iter()
                        .map(|e| EnumValue {
                            name: e.name.to_string(),
                            value: e.value,
                            description: String::new(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Peripheral {
        name: p.name.to_string(),
        base: p.base,
        description: String::new(),
        group: p.group.map(str::to_string),
        registers,
    }
}

/// A view as an svd-rs device (arrays stay expanded, names as they are), so user patches
/// can run on the built-in set through the same svdtools path as on ST's files; flattening
/// it gives the view back (tested).
pub(crate) fn to_svd(d: &Device) -> Result<svd_rs::Device, SvdError> {
    use svd_parser::ValidateLevel::Disabled;
    use svd_rs as svd;
    let bad = |e: svd::SvdError| SvdError::Malformed {
        path: super::BUILTIN_SVD_NAME.into(),
        line: None,
        message: format!("cannot express the built-in set as SVD: {e}"),
    };
    let access = |a: Access| match a {
        Access::ReadOnly => svd::Access::ReadOnly,
        Access::WriteOnly => svd::Access::WriteOnly,
        Access::ReadWrite => svd::Access::ReadWrite,
        Access::WriteOnce => svd::Access::WriteOnce,
        Access::ReadWriteOnce => svd::Access::ReadWriteOnce,
    };
    let modified = |m: ModifiedWrite| {
        use svd::ModifiedWriteValues as M;
        match m {
            ModifiedWrite::Modify => None,
            ModifiedWrite::OneToClear => Some(M::OneToClear),
            ModifiedWrite::OneToSet => Some(M::OneToSet),
            ModifiedWrite::OneToToggle => Some(M::OneToToggle),
            ModifiedWrite::ZeroToClear => Some(M::ZeroToClear),
            ModifiedWrite::ZeroToSet => Some(M::ZeroToSet),
            ModifiedWrite::ZeroToToggle => Some(M::ZeroToToggle),
            ModifiedWrite::Clear => Some(M::Clear),
            ModifiedWrite::Set => Some(M::Set),
        }
    };
    let side_effect = |on: bool| on.then_some(svd::ReadAction::Modify);
    let mut peripherals = Vec::with_capacity(d.peripherals.len());
    for p in &d.peripherals {
        let mut registers = Vec::with_capacity(p.registers.len());
        for r in &p.registers {
            let mut fields = Vec::with_capacity(r.fields.len());
            for f in &r.fields {
                let mut b = svd::FieldInfo::builder()
                    .name(f.name.clone())
                    .bit_range(svd::BitRange::from_offset_width(f.lsb, f.width))
                    .access(Some(access(f.access)))
                    .modified_write_values(modified(f.modified_write))
                    .read_action(side_effect(f.read_side_effect));
                if !f.enums.is_empty() {
                    let values = f
                        .enums
                        .iter()
                        .map(|e| {
                            svd::EnumeratedValue::builder()
                                .name(e.name.clone())
                                .value(Some(e.value))
                                .build(Disabled)
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(bad)?;
                    b = b.enumerated_values(vec![svd::EnumeratedValues::builder()
                        .values(values)
                        .build(Disabled)
                        .map_err(bad)?]);
                }
                fields.push(svd::Field::Single(b.build(Disabled).map_err(bad)?));
            }
            // A register-level readAction only where no field carries the side effect.
            let own_effect = r.read_side_effect && !r.fields.iter().any(|f| f.read_side_effect);
            let info = svd::RegisterInfo::builder()
                .name(r.name.clone())
                .address_offset(r.address.wrapping_sub(p.base) as u32)
                .size(Some(r.size))
                .access(Some(access(r.access)))
                .reset_value(Some(r.reset_value))
                .read_action(side_effect(own_effect))
                .fields((!fields.is_empty()).then_some(fields))
                .build(Disabled)
                .map_err(bad)?;
            registers.push(svd::RegisterCluster::Register(svd::Register::Single(info)));
        }
        let info = svd::PeripheralInfo::builder()
            .name(p.name.clone())
            .base_address(p.base)
            .group_name(p.group.clone())
            .registers(Some(registers))
            .build(Disabled)
            .map_err(bad)?;
        peripherals.push(svd::Peripheral::Single(info));
    }
    svd::Device::builder()
        .name(d.name.clone())
        .peripherals(peripherals)
        .build(Disabled)
        .map_err(bad)
}

/// `d` with the user's patches applied (through its SVD form, as on ST's files).
pub(crate) fn patched(d: &Device, user: &[super::patch::Patch]) -> Result<Device, SvdError> {
    let mut dev = to_svd(d)?;
    let mut applied = d.patches.clone();
    for p in user {
        super::patch::apply(&mut dev, p)?;
        applied.push(p.name.display().to_string());
    }
    svd_parser::expand_properties(&mut dev);
    let peripherals = super::flatten::flatten(&dev)
        .map_err(|e| super::malformed(Path::new(super::BUILTIN_SVD_NAME), &e))?;
    let mut out = Device::new(d.name.clone(), d.cpu.clone(), peripherals);
    out.patches = applied;
    Ok(out)
}

/// The facts of a device's peripherals: the same with every description emptied (what the
/// built-in set keeps).
pub fn facts(d: &Device) -> Vec<Peripheral> {
    d.peripherals
        .iter()
        .map(|p| {
            let mut p = (**p).clone();
            p.description.clear();
            for r in &mut p.registers {
                r.description.clear();
                for f in &mut r.fields {
                    f.description.clear();
                    for e in &mut f.enums {
                        e.description.clear();
                    }
                }
            }
            p
        })
        .collect()
}

/// ST's eight views (each part's CM7 then CM4 view, in [`regset::PARTS`] order), loaded
/// from `dir` exactly as [`super::load`] builds them, without user patches or the cache.
pub fn st_views(dir: &Path) -> Result<Vec<Device>, SvdError> {
    let mut out = Vec::new();
    for part in regset::PARTS {
        let p7 = dir.join(format!("{part}_CM7.svd"));
        let p4 = dir.join(format!("{part}_CM4.svd"));
        let b7 = super::read(&p7)?;
        let b4 = super::read(&p4)?;
        let t7 = super::utf8(&b7, &p7)?;
        let t4 = super::utf8(&b4, &p4)?;
        let d7 = super::build_view(t7, &p7, &[])?;
        let d4 = match super::derive_cm4(&d7, t7, t4, &p4, &[]) {
            Some(r) => r?,
            None => super::build_view(t4, &p4, &[])?,
        };
        out.push(d7);
        out.push(d4);
    }
    Ok(out)
}

/// Interns values, returning each one's index in first-seen order.
struct Table<T> {
    items: Vec<T>,
    index: HashMap<T, u32>,
}

impl<T: Clone + Eq + std::hash::Hash> Table<T> {
    fn new() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
    fn intern(&mut self, item: T) -> u32 {
        if let Some(&i) = self.index.get(&item) {
            return i;
        }
        let i = self.items.len() as u32;
        self.items.push(item.clone());
        self.index.insert(item, i);
        i
    }
}

/// The generated file for `views` (postcard; see [`crate::regset`]). `source` says what they
/// were built from. Deterministic: the same views give the same bytes.
pub fn encode(views: &[Device], source: &str) -> Vec<u8> {
    let mut enum_sets: Table<Vec<regset::EnumValue<'_>>> = Table::new();
    let mut field_sets: Table<Vec<regset::Field<'_>>> = Table::new();
    let mut blocks: Table<Vec<regset::Register<'_>>> = Table::new();
    let mut peripherals: Table<regset::Peripheral<'_>> = Table::new();
    // The empty list first, so "no enumerated values" is index 0.
    enum_sets.intern(Vec::new());
    let mut out_views = Vec::new();
    for d in views {
        let mut list = Vec::new();
        for p in &d.peripherals {
            let regs: Vec<regset::Register<'_>> = p
                .registers
                .iter()
                .map(|r| {
                    let fields: Vec<regset::Field<'_>> = r
                        .fields
                        .iter()
                        .map(|f| regset::Field {
                            name: &f.name,
                            lsb: f.lsb,
                            width: f.width,
                            access: access_code(f.access),
                            modified_write: modified_write_code(f.modified_write),
                            read_side_effect: f.read_side_effect,
                            enums: enum_sets.intern(
                                f.enums
                                    .iter()
                                    .map(|e| regset::EnumValue {
                                        name: &e.name,
                                        value: e.value,
                                    })
                                    .collect(),
                            ),
                        })
                        .collect();
                    regset::Register {
                        name: &r.name,
                        offset: r.address.wrapping_sub(p.base),
                        size: r.size,
                        access: access_code(r.access),
                        reset_value: r.reset_value,
                        read_side_effect: r.read_side_effect,
                        fields: field_sets.intern(fields),
                    }
                })
                .collect();
            let block = blocks.intern(regs);
            list.push(peripherals.intern(regset::Peripheral {
                name: &p.name,
                base: p.base,
                group: p.group.as_deref(),
                block,
            }));
        }
        out_views.push(regset::View {
            name: &d.name,
            cpu: d.cpu.as_deref(),
            patches: d.patches.iter().map(String::as_str).collect(),
            peripherals: list,
        });
    }
    let set = RegSet {
        format: regset::FORMAT,
        source,
        enum_sets: enum_sets.items,
        field_sets: field_sets.items,
        blocks: blocks.items,
        peripherals: peripherals.items,
        views: out_views,
    };
    // Serialising plain data into a Vec cannot fail.
    postcard::to_stdvec(&set).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_the_plain_table() {
        for (i, a) in ACCESS.iter().enumerate() {
            assert_eq!(usize::from(access_code(*a)), i);
            assert_eq!(a.as_str(), regset::ACCESS[i]);
        }
        for (i, m) in MODIFIED_WRITE.iter().enumerate() {
            assert_eq!(usize::from(modified_write_code(*m)), i);
        }
    }

    #[test]
    fn every_part_has_two_views_sharing_peripherals() {
        for part in regset::PARTS {
            let (cm7, cm4) = views(part).unwrap();
            assert_eq!(cm7.cpu.as_deref(), Some("CM7"));
            assert_eq!(cm4.cpu.as_deref(), Some("CM4"));
            assert!(cm7.resolve("GPIOA_MODER").is_ok(), "{part}");
            let shared = cm7
                .peripherals
                .iter()
                .zip(&cm4.peripherals)
                .filter(|(a, b)| Arc::ptr_eq(a, b))
                .count();
            assert!(shared * 10 >= cm7.peripherals.len() * 9, "{part}: {shared}");
            // The CM4 view took the CM7 index: it must be the one its own peripherals give.
            let own = Device::from_shared(String::new(), None, cm4.peripherals.clone());
            assert!(cm4.index == own.index, "{part}");
        }
    }

    #[test]
    fn svd_form_flattens_back_to_the_same_view() {
        let (cm7, _) = views(regset::DEFAULT_PART).unwrap();
        let mut dev = to_svd(&cm7).unwrap();
        svd_parser::expand_properties(&mut dev);
        let back = super::super::flatten::flatten(&dev).unwrap();
        let want = facts(&cm7);
        assert_eq!(back.len(), want.len());
        for (b, w) in back.iter().zip(&want) {
            assert!(b == w, "{}", w.name);
        }
    }

    #[test]
    fn encoding_round_trips() {
        let (cm7, cm4) = views(regset::DEFAULT_PART).unwrap();
        let bytes = encode(&[cm7.clone(), cm4], "test");
        let set = RegSet::decode(&bytes).unwrap();
        assert_eq!(set.views.len(), 2);
        assert_eq!(set.source, "test");
        let back = set.views[0]
            .peripherals
            .iter()
            .map(|&i| peripheral(&set, i))
            .collect::<Vec<_>>();
        assert!(back == facts(&cm7));
    }
}
