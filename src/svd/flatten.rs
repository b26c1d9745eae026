//! svd-rs device → h7sh model.
//!
//! Why not `svd_parser::expand`: it names array members `ISER0` and flattens clusters to
//! `CL_REG`, losing the `ISER[0]` / `CL[2].REG` spelling users type. So this walker follows
//! the same derivation rules (using svd-parser's public `derive_*` helpers on its `Index`) and
//! expands arrays and clusters itself, straight into the flat model (no intermediate clone of
//! the whole device).

use std::borrow::Cow;
use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use svd_parser::expand::{
    derive_cluster, derive_enumerated_values, derive_field, derive_peripheral, derive_register,
    BlockPath, Index, RegisterPath,
};
use svd_rs::{self as svd, DeriveFrom, DimElement, MaybeArray, RegisterCluster};

use super::bounds::{MAX_DERIVE_CHAIN, MAX_DIM, MAX_FIELDS, MAX_REGISTERS};
use super::model::{Access, EnumValue, Field, ModifiedWrite, Peripheral, Register};

/// Registers and fields expanded so far (arrays multiply: a device is refused past
/// [`MAX_REGISTERS`] / [`MAX_FIELDS`] instead of filling memory).
#[derive(Default)]
struct Budget {
    registers: usize,
    fields: usize,
}

impl Budget {
    fn take(&mut self, name: &str, fields: usize) -> Result<()> {
        self.registers += 1;
        self.fields += fields;
        if self.registers > MAX_REGISTERS {
            bail!("the device expands to more than {MAX_REGISTERS} registers (at {name})");
        }
        if self.fields > MAX_FIELDS {
            bail!("the device expands to more than {MAX_FIELDS} fields (at {name})");
        }
        Ok(())
    }
}

/// Follows a derivedFrom chain starting at `first` through `base_of` (name → what that one
/// derives from, `None` when it derives from nothing or is unknown here); refuses a chain
/// longer than [`MAX_DERIVE_CHAIN`] or a cycle (svd-parser resolves chains recursively).
fn check_chain<'a>(
    what: &str,
    name: &str,
    first: &'a str,
    base_of: impl Fn(&str) -> Option<Option<&'a str>>,
) -> Result<()> {
    let mut next = Some(first);
    let mut hops = 0;
    while let Some(d) = next {
        hops += 1;
        if hops > MAX_DERIVE_CHAIN {
            bail!(
                "{what} {name}: its derivedFrom chain is longer than {MAX_DERIVE_CHAIN} \
                 (or loops back; reached {d})"
            );
        }
        next = base_of(d).flatten();
    }
    Ok(())
}

/// A register's size and its fields' bits, checked: h7sh's values are 64-bit.
fn check_register(name: &str, size: u32, fields: &[Field]) -> Result<()> {
    if size == 0 || size > 64 {
        bail!("register {name}: size {size} bits; registers of 1 to 64 bits are supported");
    }
    for f in fields {
        if f.width == 0 || u64::from(f.lsb) + u64::from(f.width) > u64::from(size) {
            bail!(
                "field {name}.{}: bits {}..{} do not lie inside the {size}-bit register",
                f.name,
                f.lsb,
                u64::from(f.lsb) + u64::from(f.width)
            );
        }
    }
    Ok(())
}

fn access(a: Option<svd::Access>, default: Access) -> Access {
    match a {
        None => default,
        Some(svd::Access::ReadOnly) => Access::ReadOnly,
        Some(svd::Access::WriteOnly) => Access::WriteOnly,
        Some(svd::Access::ReadWrite) => Access::ReadWrite,
        Some(svd::Access::WriteOnce) => Access::WriteOnce,
        Some(svd::Access::ReadWriteOnce) => Access::ReadWriteOnce,
    }
}

fn modified_write(m: Option<svd::ModifiedWriteValues>) -> ModifiedWrite {
    use svd::ModifiedWriteValues as M;
    match m {
        None | Some(M::Modify) => ModifiedWrite::Modify,
        Some(M::OneToClear) => ModifiedWrite::OneToClear,
        Some(M::OneToSet) => ModifiedWrite::OneToSet,
        Some(M::OneToToggle) => ModifiedWrite::OneToToggle,
        Some(M::ZeroToClear) => ModifiedWrite::ZeroToClear,
        Some(M::ZeroToSet) => ModifiedWrite::ZeroToSet,
        Some(M::ZeroToToggle) => ModifiedWrite::ZeroToToggle,
        Some(M::Clear) => ModifiedWrite::Clear,
        Some(M::Set) => ModifiedWrite::Set,
    }
}

/// Collapse SVD whitespace (descriptions are wrapped over several lines in ST's files).
fn clean(s: Option<&String>) -> String {
    let Some(s) = s else {
        return String::new();
    };
    // One pass over the bytes: only ASCII whitespace is dropped or turned into one space, so
    // the result stays valid UTF-8.
    let mut out = Vec::with_capacity(s.len());
    let mut space = false;
    for &c in s.as_bytes() {
        if c.is_ascii_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(b' ');
                space = false;
            }
            out.push(c);
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// svd-parser's derivation index, built only if some element needs it (building it for
/// ST's files costs more than the rest of the flattening).
struct LazyIndex<'a> {
    dev: &'a svd::Device,
    cell: std::cell::OnceCell<Index<'a>>,
}

impl<'a> LazyIndex<'a> {
    fn get(&self) -> &Index<'a> {
        self.cell.get_or_init(|| Index::create(self.dev))
    }
}

/// Names and offsets of the members of a possibly-array element.
/// `NAME[%s]` becomes `NAME[i]`; any other `%s` is replaced by the index text.
/// Refuses arrays above [`MAX_DIM`] members (a patch can set `dim` after the text was checked).
fn members<'a>(name: &'a str, dim: Option<&DimElement>) -> Result<Vec<(Cow<'a, str>, u64)>> {
    if let Some(d) = dim {
        let n = d
            .dim_index
            .as_ref()
            .map_or(u64::from(d.dim), |v| v.len() as u64);
        if n > MAX_DIM || u64::from(d.dim) > MAX_DIM {
            bail!("array {name} has {n} members, more than the limit of {MAX_DIM}");
        }
    }
    Ok(match dim {
        None => vec![(Cow::Borrowed(name), 0)],
        Some(d) => d
            .indexes()
            .enumerate()
            .map(|(i, idx)| {
                let idx = format!("{idx}");
                let n = if name.contains("[%s]") {
                    name.replace("[%s]", &format!("[{idx}]"))
                } else {
                    name.replace("%s", &idx)
                };
                (
                    Cow::Owned(n),
                    (i as u64).wrapping_mul(u64::from(d.dim_increment)),
                )
            })
            .collect(),
    })
}

fn dim_of<T>(m: &MaybeArray<T>) -> Option<&DimElement> {
    match m {
        MaybeArray::Single(_) => None,
        MaybeArray::Array(_, d) => Some(d),
    }
}

/// Smallest device flattened on two threads (below this, thread start-up is not repaid).
const PARALLEL_MIN_REGISTERS: usize = 1000;

/// Flatten every peripheral of `dev` (derivedFrom resolved, arrays and clusters expanded).
/// `dev` must already have had `expand_properties` applied.
///
/// Peripherals flatten independently (each only reads `dev`), so a large device is done in
/// two halves on two threads: on ST's files this is a fifth of a cold load otherwise.
pub(crate) fn flatten(dev: &svd::Device) -> Result<Vec<Peripheral>> {
    let weight = |p: &svd::Peripheral| 1 + p.registers.as_ref().map_or(0, Vec::len);
    let total: usize = dev.peripherals.iter().map(weight).sum();
    let n = dev.peripherals.len();
    if total < PARALLEL_MIN_REGISTERS
        || std::thread::available_parallelism().map_or(1, |c| c.get()) < 2
    {
        return flatten_range(dev, 0..n);
    }
    let mut acc = 0;
    let mid = dev
        .peripherals
        .iter()
        .position(|p| {
            acc += weight(p);
            acc * 2 >= total
        })
        .map_or(n, |i| i + 1);
    let (first, second) = std::thread::scope(|s| {
        let h = s.spawn(|| flatten_range(dev, mid..n));
        let first = flatten_range(dev, 0..mid);
        // A panicked thread (not expected): do its half here.
        let second = h.join().unwrap_or_else(|_| flatten_range(dev, mid..n));
        (first, second)
    });
    let mut out = first?;
    out.extend(second?);
    Ok(out)
}

/// Flatten the peripherals `range` of `dev`.
fn flatten_range(dev: &svd::Device, range: std::ops::Range<usize>) -> Result<Vec<Peripheral>> {
    let index = LazyIndex {
        dev,
        cell: std::cell::OnceCell::new(),
    };
    let map: HashMap<&str, &svd::Peripheral> = dev
        .peripherals
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let by_name = |n: &str| map.get(n).copied();
    let mut budget = Budget::default();
    let mut out = Vec::with_capacity(range.len());
    for p in &dev.peripherals[range] {
        if let Some(d) = &p.derived_from {
            check_chain("peripheral", &p.name, d, |n| {
                by_name(n).map(|b| b.derived_from.as_deref())
            })?;
        }
        // A derived peripheral without registers of its own walks its base's registers at its
        // own address (no copy); the base's path serves later derivation lookups, as in
        // svd-parser's expand. Anything fancier goes through svd-parser's derive_peripheral.
        let mut base = p;
        let mut hops = 0;
        while let (Some(d), None) = (&base.derived_from, &base.registers) {
            match by_name(d) {
                Some(b) if hops < 16 => base = b,
                _ => break,
            }
            hops += 1;
        }
        let owned;
        let (pref, regs, path) = if p.derived_from.is_none() || base.derived_from.is_none() {
            (p, base.registers.as_ref(), BlockPath::new(&base.name))
        } else {
            let mut c = p.clone();
            c.derived_from = None;
            let d = p.derived_from.as_deref().unwrap_or_default();
            let path = derive_peripheral(&mut c, d, index.get())?;
            owned = c;
            (
                &owned,
                owned.registers.as_ref(),
                path.unwrap_or_else(|| BlockPath::new(&p.name)),
            )
        };
        let description = clean(pref.description.as_ref().or(base.description.as_ref()));
        let group = pref.group_name.clone().or_else(|| base.group_name.clone());
        for (pname, poff) in members(&pref.name, dim_of(pref))? {
            let addr = pref.base_address.wrapping_add(poff);
            let mut registers = Vec::new();
            if let Some(rcs) = regs {
                walk(&mut registers, rcs, addr, "", &path, &index, &mut budget)
                    .with_context(|| format!("peripheral {pname}"))?;
            }
            out.push(Peripheral {
                name: pname.into_owned(),
                base: addr,
                description: description.clone(),
                group: group.clone(),
                registers,
            });
        }
    }
    Ok(out)
}

fn walk(
    out: &mut Vec<Register>,
    rcs: &[RegisterCluster],
    base: u64,
    prefix: &str,
    path: &BlockPath,
    index: &LazyIndex,
    budget: &mut Budget,
) -> Result<()> {
    // Siblings by name, built only if one of them is derived: what derivedFrom names first.
    let siblings = std::cell::OnceCell::new();
    let sibling = |n: &str| -> Option<&RegisterCluster> {
        siblings
            .get_or_init(|| {
                let mut m = HashMap::new();
                for x in rcs {
                    let name = match x {
                        RegisterCluster::Register(r) => r.name.as_str(),
                        RegisterCluster::Cluster(c) => c.name.as_str(),
                    };
                    m.entry(name).or_insert(x);
                }
                m
            })
            .get(n)
            .copied()
    };
    fn derived_of(x: &RegisterCluster) -> Option<&str> {
        match x {
            RegisterCluster::Register(r) => r.derived_from.as_deref(),
            RegisterCluster::Cluster(c) => c.derived_from.as_deref(),
        }
    }
    for rc in rcs {
        if let Some(d) = derived_of(rc) {
            let (what, name) = match rc {
                RegisterCluster::Register(r) => ("register", &r.name),
                RegisterCluster::Cluster(c) => ("cluster", &c.name),
            };
            check_chain(what, &format!("{prefix}{name}"), d, |n| {
                sibling(n).map(derived_of)
            })?;
        }
        match rc {
            RegisterCluster::Register(r) => {
                let owned;
                let (r, rpath) = match &r.derived_from {
                    Some(d) => {
                        // Common case (h7sh's PWR.CPU2CR): a plain sibling register.
                        let sibling = match sibling(d) {
                            Some(RegisterCluster::Register(s)) if s.derived_from.is_none() => {
                                Some(s)
                            }
                            _ => None,
                        };
                        let mut c = r.clone();
                        c.derived_from = None;
                        let rp = match sibling {
                            Some(s) => {
                                c = c.derive_from(s);
                                Some(path.new_register(d))
                            }
                            None => derive_register(&mut c, d, path, index.get())?,
                        };
                        owned = c;
                        (&owned, rp.unwrap_or_else(|| path.new_register(&r.name)))
                    }
                    None => (r, path.new_register(&r.name)),
                };
                let size = r.properties.size.unwrap_or(32);
                let acc = access(r.properties.access, Access::ReadWrite);
                let mut fields = Some(fields_of(r, &rpath, index, acc)?);
                check_register(
                    &format!("{prefix}{}", r.name),
                    size,
                    fields.as_deref().unwrap_or_default(),
                )?;
                let description = clean(r.description.as_ref());
                let read_side_effect =
                    r.read_action.is_some() || fields.iter().flatten().any(|f| f.read_side_effect);
                let ms = members(&r.name, dim_of(r))?;
                let last = ms.len().saturating_sub(1);
                for (k, (name, off)) in ms.into_iter().enumerate() {
                    // Move the field list into the last member, clone it for the others.
                    let n_fields = fields.as_ref().map_or(0, Vec::len);
                    budget.take(&format!("{prefix}{name}"), n_fields)?;
                    let fl = if k == last {
                        fields.take().unwrap_or_default()
                    } else {
                        fields.clone().unwrap_or_default()
                    };
                    out.push(Register {
                        name: format!("{prefix}{name}"),
                        // Wrapping: a crafted SVD must not panic the shell.
                        address: base
                            .wrapping_add(u64::from(r.address_offset))
                            .wrapping_add(off),
                        size,
                        access: acc,
                        reset_value: r.properties.reset_value.unwrap_or(0),
                        read_side_effect,
                        description: description.clone(),
                        fields: fl,
                    });
                }
            }
            RegisterCluster::Cluster(c) => {
                let owned;
                let (c, cpath) = match &c.derived_from {
                    Some(d) => {
                        let mut cc = c.clone();
                        cc.derived_from = None;
                        let cp = derive_cluster(&mut cc, d, path, index.get())?;
                        owned = cc;
                        (&owned, cp.unwrap_or_else(|| path.new_cluster(&c.name)))
                    }
                    None => (c, path.new_cluster(&c.name)),
                };
                for (name, off) in members(&c.name, dim_of(c))? {
                    let p = format!("{prefix}{name}.");
                    walk(
                        out,
                        &c.children,
                        base.wrapping_add(u64::from(c.address_offset))
                            .wrapping_add(off),
                        &p,
                        &cpath,
                        index,
                        budget,
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn fields_of(
    r: &svd::RegisterInfo,
    rpath: &RegisterPath,
    index: &LazyIndex,
    reg_access: Access,
) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    let Some(fields) = &r.fields else {
        return Ok(out);
    };
    let by_name: HashMap<&str, &svd::Field> = if fields.iter().any(|f| f.derived_from.is_some()) {
        fields.iter().map(|f| (f.name.as_str(), f)).collect()
    } else {
        HashMap::new()
    };
    for f in fields {
        if let Some(d) = &f.derived_from {
            check_chain("field", &format!("{}.{}", r.name, f.name), d, |n| {
                by_name.get(n).map(|b| b.derived_from.as_deref())
            })?;
        }
        let owned;
        let (f, fpath) = match &f.derived_from {
            Some(d) => {
                let mut c = f.clone();
                c.derived_from = None;
                let fp = derive_field(&mut c, d, rpath, index.get())?;
                owned = c;
                (&owned, fp.unwrap_or_else(|| rpath.new_field(&f.name)))
            }
            None => (f, rpath.new_field(&f.name)),
        };
        let mut enums: Vec<EnumValue> = Vec::new();
        for ev in &f.enumerated_values {
            let owned_ev;
            let ev = match &ev.derived_from {
                Some(d) => {
                    let mut c = ev.clone();
                    c.derived_from = None;
                    derive_enumerated_values(&mut c, d, &fpath, index.get())?;
                    owned_ev = c;
                    &owned_ev
                }
                None => ev,
            };
            // Read and write sets are merged; the same name twice is one value.
            for v in &ev.values {
                let Some(value) = v.value else { continue };
                if !enums.iter().any(|e| e.name == v.name) {
                    enums.push(EnumValue {
                        name: v.name.clone(),
                        value,
                        description: clean(v.description.as_ref()),
                    });
                }
            }
        }
        let description = clean(f.description.as_ref());
        for (name, off) in members(&f.name, dim_of(f))? {
            out.push(Field {
                name: name.into_owned(),
                lsb: f
                    .bit_range
                    .offset
                    .saturating_add(u32::try_from(off).unwrap_or(u32::MAX)),
                width: f.bit_range.width,
                // A field without access inherits its register's.
                access: access(f.access, reg_access),
                modified_write: modified_write(f.modified_write_values),
                read_side_effect: f.read_action.is_some(),
                description: description.clone(),
                enums: enums.clone(),
            });
        }
    }
    // Bit order, whatever order the file (or a patch's `_add`) lists them in.
    out.sort_by_key(|f| f.lsb);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_whitespace() {
        let c = |s: &str| clean(Some(&s.to_string()));
        assert_eq!(
            c("  Flash\n      option  \tbytes µs \r\n"),
            "Flash option bytes µs"
        );
        assert_eq!(c("tidy text"), "tidy text");
        assert_eq!(c(" \n "), "");
        assert_eq!(clean(None), "");
    }

    /// The two-thread flattening gives the one-thread result (needs `H7SH_SVD_DIR`: only ST's
    /// files are large enough to be split).
    #[test]
    fn parallel_flatten_matches_sequential() {
        let Some(dir) =
            crate::svd::testing::st_svd_dir_or_skip("parallel_flatten_matches_sequential")
        else {
            return;
        };
        let text = std::fs::read_to_string(dir.join("STM32H755_CM7.svd")).expect("read ST SVD");
        let mut dev = crate::svd::parse_svd(&text, std::path::Path::new("ST")).expect("parse");
        svd_parser::expand_properties(&mut dev);
        let n = dev.peripherals.len();
        let sequential = flatten_range(&dev, 0..n).unwrap();
        assert!(
            sequential.iter().map(|p| p.registers.len()).sum::<usize>() >= PARALLEL_MIN_REGISTERS
        );
        assert_eq!(flatten(&dev).unwrap(), sequential);
    }
}
