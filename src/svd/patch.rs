//! Applying svdtools YAML patches, and merging the Cortex-M system/debug block.
//!
//! svdtools' library exposes patching only as `process_reader` (SVD text in, SVD text out).
//! Running that over ST's whole 4 MB file would mean encoding and re-parsing it, which costs
//! more than the whole load budget. So only the peripherals a patch names (plus anything they
//! derive from or that derives from them) go through svdtools, as a small SVD; the patched
//! peripherals replace the originals. Inside them, registers and fields the patch does not
//! name wait aside too (svdtools compiles a glob for every name it compares against a spec).
//! Patches using features whose reach cannot be computed from their keys (`_copy`, brace
//! globs, unknown device-level keys) fall back to patching the whole device: slower, same
//! result.

use std::path::{Path, PathBuf};

use svd_parser::ValidateLevel;
use svd_rs as svd;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

use super::error::SvdError;

/// h7sh's own patch for ST's dual-core STM32H7 SVDs.
pub(crate) const DUALCORE_PATCH: &str = include_str!("../../svd/patches/stm32h7-dualcore.yaml");
/// Name shown for it in messages.
pub(crate) const DUALCORE_PATCH_NAME: &str = "svd/patches/stm32h7-dualcore.yaml (built in)";
/// Cortex-M system and debug block, merged into every device.
pub(crate) const CORTEX_M_SVD: &str = include_str!("../../svd/cortex-m.svd");

/// A patch ready to apply: its YAML and the name used in errors.
pub(crate) struct Patch {
    pub(crate) name: PathBuf,
    pub(crate) yaml: Yaml,
}

fn patch_err(name: &Path, message: impl Into<String>) -> SvdError {
    SvdError::Patch {
        patch: name.to_path_buf(),
        message: message.into(),
    }
}

/// Parse h7sh's built-in dual-core patch.
pub(crate) fn dualcore_patch() -> Result<Patch, SvdError> {
    patch_from_str(DUALCORE_PATCH, Path::new(DUALCORE_PATCH_NAME))
}

/// Parse a patch from text (no `_include` support: those need a file; see [`load_patch_file`]).
pub(crate) fn patch_from_str(text: &str, name: &Path) -> Result<Patch, SvdError> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| patch_err(name, e.to_string()))?;
    let mut yaml = docs
        .into_iter()
        .next()
        .ok_or_else(|| patch_err(name, "empty YAML document"))?;
    match &mut yaml {
        Yaml::Hash(h) => {
            h.insert(
                Yaml::String("_path".into()),
                Yaml::String(name.display().to_string()),
            );
        }
        _ => return Err(patch_err(name, "the top level must be a mapping")),
    }
    Ok(Patch {
        name: name.to_path_buf(),
        yaml,
    })
}

/// Load a user patch file with svdtools (resolves `_include`).
///
/// svdtools trusts its input: it unwraps the first document, follows `_include` without
/// looking for cycles (a file including itself overflows the stack), expands YAML aliases by
/// copying (a "billion laughs" file fills memory) and panics on an invalid glob. So the file
/// and everything it includes are checked first ([`check_tree`]), and every glob of the
/// merged patch is compiled before svdtools sees it ([`check_globs`]).
pub(crate) fn load_patch_file(path: &Path) -> Result<Patch, SvdError> {
    if path.to_str().is_none() {
        return Err(patch_err(path, "patch path is not valid UTF-8"));
    }
    let mut files = 0;
    check_tree(path, &mut Vec::new(), &mut files)?;
    let yaml = svdtools::patch::load_patch(path).map_err(|e| patch_err(path, format!("{e:#}")))?;
    check_globs(&yaml, "").map_err(|m| patch_err(path, m))?;
    Ok(Patch {
        name: path.to_path_buf(),
        yaml,
    })
}

/// Deepest nesting of YAML collections in a patch (svdtools' own go 6 deep).
const MAX_YAML_DEPTH: usize = 64;
/// Most YAML nodes a patch file stands for once its aliases are expanded.
const MAX_YAML_NODES: u64 = 1_000_000;
/// Deepest chain of `_include`s.
const MAX_INCLUDE_DEPTH: usize = 16;
/// Most patch files one patch brings in (itself and every include).
const MAX_INCLUDE_FILES: usize = 256;

/// Checks `path` and, recursively, the files it includes: each a bounded regular file, one
/// YAML mapping of bounded depth and expanded size, no include cycle. `chain`: the files
/// including this one, outermost first.
fn check_tree(path: &Path, chain: &mut Vec<PathBuf>, files: &mut usize) -> Result<(), SvdError> {
    let top = chain.first().cloned().unwrap_or_else(|| path.to_path_buf());
    let err = |m: String| patch_err(&top, m);
    let canon = path
        .canonicalize()
        .map_err(|e| err(format!("cannot open {}: {e}", path.display())))?;
    if chain.contains(&canon) {
        let names: Vec<String> = chain
            .iter()
            .chain([&canon])
            .map(|p| p.display().to_string())
            .collect();
        return Err(err(format!("`_include` cycle: {}", names.join(" -> "))));
    }
    if chain.len() >= MAX_INCLUDE_DEPTH {
        return Err(err(format!(
            "`_include`s nested more than {MAX_INCLUDE_DEPTH} deep (at {})",
            path.display()
        )));
    }
    *files += 1;
    if *files > MAX_INCLUDE_FILES {
        return Err(err(format!(
            "more than {MAX_INCLUDE_FILES} patch files included"
        )));
    }
    let text = crate::files::read_to_string(path, crate::files::Kind::Patch)
        .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    check_yaml_shape(&text).map_err(|m| err(format!("{}: {m}", path.display())))?;
    // Only now is it safe to build the tree.
    let docs =
        YamlLoader::load_from_str(&text).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let hash = match docs.first() {
        Some(Yaml::Hash(h)) => h,
        Some(_) => {
            return Err(err(format!(
                "{}: the top level must be a mapping",
                path.display()
            )))
        }
        None if chain.is_empty() => return Err(err("empty YAML document".into())),
        // svdtools skips an empty included file.
        None => return Ok(()),
    };
    // `_include` at the top and in peripheral-level mappings, as svdtools reads them.
    let mut includes = Vec::new();
    let mut collect = |h: &Hash| match h.get(&Yaml::String("_include".into())) {
        Some(Yaml::String(s)) => includes.push(s.clone()),
        Some(Yaml::Array(a)) => {
            includes.extend(a.iter().filter_map(|x| x.as_str()).map(String::from))
        }
        _ => {}
    };
    collect(hash);
    for (k, v) in hash {
        if let (Some(k), Yaml::Hash(h)) = (k.as_str(), v) {
            if !k.starts_with('_') {
                collect(h);
            }
        }
    }
    let dir = canon.parent().map(Path::to_path_buf).unwrap_or_default();
    chain.push(canon);
    for inc in includes {
        check_tree(&dir.join(&inc), chain, files)?;
    }
    chain.pop();
    Ok(())
}

/// Checks the nesting depth and the alias-expanded size of a YAML text from its parse events,
/// without building the tree (building it is what expands the aliases).
fn check_yaml_shape(text: &str) -> Result<(), String> {
    use std::collections::HashMap;
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::Marker;

    #[derive(Default)]
    struct Shape {
        /// Expanded size of each open collection so far, and its anchor.
        open: Vec<(u64, usize)>,
        anchors: HashMap<usize, u64>,
        total: u64,
        error: Option<String>,
    }
    impl Shape {
        fn node(&mut self, size: u64, anchor: usize) {
            if anchor != 0 {
                self.anchors.insert(anchor, size);
            }
            match self.open.last_mut() {
                Some((n, _)) => *n = n.saturating_add(size),
                None => self.total = self.total.saturating_add(size),
            }
        }
    }
    impl MarkedEventReceiver for Shape {
        fn on_event(&mut self, ev: Event, mark: Marker) {
            if self.error.is_some() {
                return;
            }
            match ev {
                Event::SequenceStart(a, _) | Event::MappingStart(a, _) => {
                    self.open.push((1, a));
                    if self.open.len() > MAX_YAML_DEPTH {
                        self.error = Some(format!(
                            "line {}: collections nested more than {MAX_YAML_DEPTH} deep",
                            mark.line()
                        ));
                    }
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    if let Some((n, a)) = self.open.pop() {
                        self.node(n, a);
                    }
                }
                Event::Scalar(_, _, a, _) => self.node(1, a),
                Event::Alias(id) => {
                    let n = self.anchors.get(&id).copied().unwrap_or(1);
                    self.node(n, 0);
                }
                _ => {}
            }
            let open: u64 = self.open.iter().map(|(n, _)| *n).sum();
            if self.error.is_none() && self.total.saturating_add(open) > MAX_YAML_NODES {
                self.error = Some(format!(
                    "line {}: the aliases expand to more than {MAX_YAML_NODES} YAML nodes",
                    mark.line()
                ));
            }
        }
    }
    let mut shape = Shape::default();
    Parser::new_from_str(text)
        .load(&mut shape, true)
        .map_err(|e| e.to_string())?;
    shape.error.map_or(Ok(()), Err)
}

/// Compiles every name pattern of a patch the way svdtools will (it unwraps the result):
/// the keys of its mappings and the names listed under `_delete`, `_strip`, `_strip_end` and
/// `_clear`. `at` names where in the patch, for the message.
fn check_globs(y: &Yaml, at: &str) -> Result<(), String> {
    let check = |spec: &str, at: &str| -> Result<(), String> {
        let parts: Vec<&str> = if spec.contains('{') {
            vec![spec]
        } else {
            spec.split(',').collect()
        };
        for p in parts {
            globset::GlobBuilder::new(p)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("{at}: `{spec}` is not a valid name pattern: {e}"))?;
        }
        Ok(())
    };
    match y {
        Yaml::Hash(h) => {
            for (k, v) in h {
                let key = k.as_str().unwrap_or_default();
                let here = if at.is_empty() {
                    key.to_string()
                } else {
                    format!("{at}.{key}")
                };
                if !key.starts_with('_') {
                    check(key, &here)?;
                }
                if matches!(key, "_delete" | "_strip" | "_strip_end" | "_clear") {
                    match v {
                        Yaml::String(s) => check(s, &here)?,
                        Yaml::Array(a) => {
                            for s in a.iter().filter_map(Yaml::as_str) {
                                check(s, &here)?;
                            }
                        }
                        _ => {}
                    }
                }
                check_globs(v, &here)?;
            }
        }
        Yaml::Array(a) => {
            for v in a {
                check_globs(v, at)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether h7sh's dual-core patch is meant for this device (ST STM32H745/747/755/757).
pub(crate) fn is_st_dualcore(dev: &svd::Device) -> bool {
    is_st_dualcore_name(&dev.name)
        && dev
            .peripherals
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case("flash"))
}

/// Device name of an ST STM32H745/747/755/757 SVD.
pub(crate) fn is_st_dualcore_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let b = n.as_bytes();
    n.starts_with("STM32H7")
        && b.len() >= 9
        && matches!(b[7], b'4' | b'5')
        && matches!(b[8], b'5' | b'7')
}

/// Device-level keys of `_modify` that are not peripheral names.
const DEVICE_PROPS: &[&str] = &[
    "cpu",
    "vendor",
    "vendorID",
    "name",
    "series",
    "version",
    "description",
    "licenseText",
    "headerSystemFilename",
    "headerDefinitionsPrefix",
    "addressUnitBits",
    "width",
    "size",
    "access",
    "protection",
    "resetValue",
    "resetMask",
];

/// Appends a YAML name or list of names to `specs`; `None` for any other shape.
fn push_str_or_list(v: &Yaml, specs: &mut Vec<String>) -> Option<()> {
    match v {
        Yaml::String(s) => specs.push(s.clone()),
        Yaml::Array(a) => {
            for x in a {
                specs.push(x.as_str()?.to_string());
            }
        }
        _ => return None,
    }
    Some(())
}

/// Peripheral name specs a patch touches, or `None` if its reach cannot be bounded.
fn peripheral_specs(root: &Hash) -> Option<Vec<String>> {
    let mut specs = Vec::new();
    for (k, v) in root {
        let k = k.as_str()?;
        match k {
            "_svd" | "_path" | "_include" => {}
            "_delete" | "_clear_fields" => push_str_or_list(v, &mut specs)?,
            "_modify" => {
                for (mk, mv) in v.as_hash()? {
                    let mk = mk.as_str()?;
                    if mk == "_peripherals" {
                        for (pk, _) in mv.as_hash()? {
                            specs.push(pk.as_str()?.to_string());
                        }
                    } else if !DEVICE_PROPS.contains(&mk) {
                        specs.push(mk.to_string());
                    }
                }
            }
            "_add" => {
                for (ak, av) in v.as_hash()? {
                    specs.push(ak.as_str()?.to_string());
                    if let Some(d) = av.as_hash().and_then(|h| {
                        h.get(&Yaml::String("derivedFrom".into()))
                            .and_then(|x| x.as_str())
                    }) {
                        specs.push(d.to_string());
                    }
                }
            }
            "_derive" => {
                for (dk, dv) in v.as_hash()? {
                    specs.push(dk.as_str()?.to_string());
                    match dv {
                        Yaml::String(s) => specs.push(s.clone()),
                        Yaml::Hash(h) => {
                            specs.push(h.get(&Yaml::String("_from".into()))?.as_str()?.to_string())
                        }
                        _ => return None,
                    }
                }
            }
            "_rebase" => {
                for (rk, rv) in v.as_hash()? {
                    specs.push(rk.as_str()?.to_string());
                    specs.push(rv.as_str()?.to_string());
                }
            }
            k if k.starts_with('_') => return None,
            k => specs.push(k.to_string()),
        }
    }
    // Brace and class globs are possible in svdtools specs but not worth re-implementing.
    if specs.iter().any(|s| s.contains(['{', '[', '\\'])) {
        return None;
    }
    Some(specs)
}

/// Simple glob (`*`, `?`), case-insensitive. Over-matching is harmless here: it only adds
/// peripherals to the set sent through svdtools.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    match (pat.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pat[1..], name) || (!name.is_empty() && glob_match(pat, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pat[1..], &name[1..]),
        (Some(p), Some(n)) if p.eq_ignore_ascii_case(n) => glob_match(&pat[1..], &name[1..]),
        _ => false,
    }
}

pub(crate) fn spec_matches(spec: &str, name: &str) -> bool {
    // `?~SPEC`: svdtools' "ignore if nothing matches" marker, not part of the glob.
    let spec = spec.strip_prefix("?~").unwrap_or(spec);
    spec.split(',')
        .map(str::trim)
        .any(|s| glob_match(s.as_bytes(), name.as_bytes()))
}

/// Apply one patch to `dev` (unexpanded).
pub(crate) fn apply(dev: &mut svd::Device, patch: &Patch) -> Result<(), SvdError> {
    let root = patch
        .yaml
        .as_hash()
        .ok_or_else(|| patch_err(&patch.name, "the top level must be a mapping"))?;
    let Some(specs) = peripheral_specs(root) else {
        return apply_whole(dev, patch);
    };
    let n = dev.peripherals.len();
    let list: Vec<(&str, Option<&str>)> = dev
        .peripherals
        .iter()
        .map(|p| (p.name.as_str(), p.derived_from.as_deref()))
        .collect();
    let sel = select(&list, &specs);
    let first = sel.iter().position(|&s| s).unwrap_or(n);
    let all = std::mem::take(&mut dev.peripherals);
    let mut picked = Vec::new();
    let mut rest = Vec::new();
    // Registers of picked peripherals that the patch cannot touch wait aside, keyed by the
    // name the peripheral has after patching; so do the fields it cannot touch in the
    // registers it does (svdtools compiles a glob per field and spec: fields are its cost).
    let mut aside: Vec<(String, Vec<svd::RegisterCluster>)> = Vec::new();
    let mut fields_aside: Vec<(String, FieldsAside)> = Vec::new();
    for (mut p, s) in all.into_iter().zip(sel.iter().copied()) {
        if !s {
            rest.push(p);
            continue;
        }
        let original = p.name.clone();
        let pname = final_name(root, &original);
        let names = [original.as_str(), pname.as_str()];
        if let (Some(rspecs), Some(regs)) = (register_specs_for(root, names), p.registers.as_mut())
        {
            let kept = prune_registers(regs, &rspecs);
            for rc in regs.iter_mut() {
                if let svd::RegisterCluster::Register(r) = rc {
                    if let Some(f) = prune_fields(root, names, r) {
                        fields_aside.push((pname.clone(), f));
                    }
                }
            }
            if !kept.is_empty() {
                aside.push((pname, kept));
            }
        }
        picked.push(p);
    }
    dev.peripherals = picked;
    // Patch the small device; on error put the originals back so `dev` stays whole.
    let result = apply_whole(dev, patch);
    let mut patched = std::mem::take(&mut dev.peripherals);
    for (pname, f) in fields_aside {
        // A register the patch deleted takes its untouched fields with it.
        let reg = patched
            .iter_mut()
            .filter(|p| p.name == pname)
            .flat_map(|p| p.registers.iter_mut().flatten())
            .find_map(|rc| match rc {
                svd::RegisterCluster::Register(r) if r.name == f.register => Some(r),
                _ => None,
            });
        if let Some(r) = reg {
            f.restore(r);
        }
    }
    for (name, regs) in aside {
        // A peripheral the patch deleted takes its untouched registers with it.
        if let Some(p) = patched.iter_mut().find(|p| p.name == name) {
            let list = p.registers.get_or_insert_with(Vec::new);
            list.extend(regs);
            list.sort_by_key(|rc| match rc {
                svd::RegisterCluster::Register(r) => r.address_offset,
                svd::RegisterCluster::Cluster(c) => c.address_offset,
            });
        }
    }
    let mut merged = rest;
    let at = first.min(merged.len());
    merged.splice(at..at, patched.drain(..));
    dev.peripherals = merged;
    match result {
        Ok(()) => Ok(()),
        // svdtools' message came from the pruned device: its "present fields" would list only
        // what was sent. The device is whole again: patch it whole to report its own error.
        Err(_) => apply_whole(dev, patch),
    }
}

/// Peripheral properties `_modify` may set inside a peripheral (not register names).
const PERIPHERAL_PROPS: &[&str] = &[
    "name",
    "displayName",
    "description",
    "groupName",
    "baseAddress",
    "addressBlock",
    "addressBlocks",
    "derivedFrom",
    "version",
    "prependToName",
    "appendToName",
    "headerStructName",
    "alternatePeripheral",
    "size",
    "access",
    "resetValue",
    "resetMask",
    "protection",
];

/// `v` (a name, a list of names or a map of names to names) names `pname`.
fn mentions(v: &Yaml, pname: &str) -> bool {
    let hit = |y: &Yaml| y.as_str().is_some_and(|x| spec_matches(x, pname));
    match v {
        Yaml::Hash(h) => h.iter().any(|(a, b)| hit(a) || hit(b)),
        Yaml::Array(l) => l.iter().any(hit),
        other => hit(other),
    }
}

/// A peripheral's name before and after the patch's device-level `_modify`: the patch's
/// keys may use either.
type PeripheralNames<'a> = [&'a str; 2];

fn names_match(spec: &str, names: PeripheralNames) -> bool {
    names.iter().any(|n| spec_matches(spec, n))
}

/// Register specs the patch applies to a peripheral, or `None` if all its registers must go
/// through svdtools (commands whose reach is not bounded by names).
fn register_specs_for(root: &Hash, names: PeripheralNames) -> Option<Vec<String>> {
    let mut specs = Vec::new();
    for (k, v) in root {
        let k = k.as_str()?;
        match k {
            // Moves or rewrites whole register sets.
            "_rebase" | "_clear_fields" | "_derive" if names.iter().any(|n| mentions(v, n)) => {
                return None
            }
            k if k.starts_with('_') => {}
            k if names_match(k, names) => specs.extend(register_specs(v.as_hash()?)?),
            _ => {}
        }
    }
    Some(specs)
}

fn register_specs(h: &Hash) -> Option<Vec<String>> {
    let mut specs = Vec::new();
    for (k, v) in h {
        let k = k.as_str()?;
        match k {
            "_path" | "_include" => {}
            "_delete" => match v {
                Yaml::Hash(d) => {
                    for (dk, dv) in d {
                        match dk.as_str()? {
                            "_registers" => push_str_or_list(dv, &mut specs)?,
                            "_interrupts" => {}
                            _ => return None,
                        }
                    }
                }
                v => push_str_or_list(v, &mut specs)?,
            },
            "_modify" => {
                for (mk, mv) in v.as_hash()? {
                    match mk.as_str()? {
                        "_registers" => {
                            for (rk, _) in mv.as_hash()? {
                                specs.push(rk.as_str()?.to_string());
                            }
                        }
                        "_interrupts" => {}
                        m if m.starts_with('_') => return None,
                        m if PERIPHERAL_PROPS.contains(&m) => {}
                        m => specs.push(m.to_string()),
                    }
                }
            }
            "_add" | "_derive" => {
                for (ak, av) in v.as_hash()? {
                    match ak.as_str()? {
                        "_interrupts" => {}
                        a if a.starts_with('_') => return None,
                        a => specs.push(a.to_string()),
                    }
                    let from = match av {
                        Yaml::String(s) => Some(s.as_str()),
                        Yaml::Hash(x) => x
                            .get(&Yaml::String("derivedFrom".into()))
                            .or_else(|| x.get(&Yaml::String("_from".into())))
                            .and_then(Yaml::as_str),
                        _ => None,
                    };
                    if let Some(f) = from {
                        specs.push(f.to_string());
                    }
                }
            }
            k if k.starts_with('_') => return None,
            k => specs.push(k.to_string()),
        }
    }
    if specs.iter().any(|s| s.contains(['{', '[', '\\', '.'])) {
        return None;
    }
    Some(specs)
}

/// Keep in `regs` the registers matching `specs` (closed under derivedFrom, clusters always
/// kept); return the others.
fn prune_registers(
    regs: &mut Vec<svd::RegisterCluster>,
    specs: &[String],
) -> Vec<svd::RegisterCluster> {
    let name_of = |rc: &svd::RegisterCluster| match rc {
        svd::RegisterCluster::Register(r) => (r.name.clone(), r.derived_from.clone(), false),
        svd::RegisterCluster::Cluster(c) => (c.name.clone(), c.derived_from.clone(), true),
    };
    let info: Vec<_> = regs.iter().map(name_of).collect();
    let mut keep: Vec<bool> = info
        .iter()
        .map(|(n, _, cluster)| *cluster || specs.iter().any(|s| spec_matches(s, n)))
        .collect();
    loop {
        let mut changed = false;
        for i in 0..info.len() {
            let Some(base) = info[i].1.as_deref() else {
                continue;
            };
            if let Some(j) = info.iter().position(|x| x.0 == base) {
                if keep[i] != keep[j] {
                    keep[i] = true;
                    keep[j] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let all = std::mem::take(regs);
    let mut aside = Vec::new();
    for (rc, k) in all.into_iter().zip(keep) {
        if k {
            regs.push(rc);
        } else {
            aside.push(rc);
        }
    }
    aside
}

/// Fields of one register set aside while svdtools patches the others.
struct FieldsAside {
    register: String,
    /// Original position of every field: `Ok(field)` set aside, `Err(())` sent to svdtools.
    slots: Vec<Result<svd::Field, ()>>,
}

impl FieldsAside {
    /// Put the fields back where they were. svdtools edits the fields it was sent in place
    /// and appends the ones it adds, so the patched list is the sent fields, in order, then
    /// the added ones: the same list as patching all fields would give.
    fn restore(self, r: &mut svd::RegisterInfo) {
        let mut patched = r.fields.take().unwrap_or_default().into_iter();
        let mut out = Vec::with_capacity(self.slots.len() + patched.len());
        for slot in self.slots {
            match slot {
                Ok(f) => out.push(f),
                Err(()) => out.extend(patched.next()),
            }
        }
        out.extend(patched);
        r.fields = Some(out);
    }
}

/// Field-level keys of a register patch that only edit the fields they name.
const FIELD_SCOPED_KEYS: &[&str] = &["_modify", "_add", "_clear"];

/// Field specs of register `rname` of a peripheral in the patch, or `None` when the patch may
/// reach fields by anything else than their names (then all fields are sent).
fn field_specs_for(root: &Hash, names: PeripheralNames, rname: &str) -> Option<Vec<String>> {
    let mut specs = Vec::new();
    for (pk, pv) in root {
        let pk = pk.as_str()?;
        if pk.starts_with('_') || !names_match(pk, names) {
            continue;
        }
        for (rk, rv) in pv.as_hash()? {
            let rk = rk.as_str()?;
            match rk {
                "_path" | "_include" | "_delete" | "_add" => {}
                // A register renamed by the peripheral's `_modify` is not found again by name.
                "_modify" => {
                    for (mk, mv) in rv.as_hash()? {
                        if mk.as_str().is_some_and(|m| spec_matches(m, rname))
                            && mv.as_hash()?.contains_key(&Yaml::String("name".into()))
                        {
                            return None;
                        }
                    }
                }
                k if k.starts_with('_') => return None,
                k if spec_matches(k, rname) => {
                    for (fk, fv) in rv.as_hash()? {
                        match fk.as_str()? {
                            k if FIELD_SCOPED_KEYS.contains(&k) => match fv {
                                Yaml::Hash(h) => {
                                    for (name, _) in h {
                                        specs.push(name.as_str()?.to_string());
                                    }
                                }
                                v => push_str_or_list(v, &mut specs)?,
                            },
                            // Deletes shift positions; everything else renames, merges,
                            // splits or derives by other names.
                            k if k.starts_with('_') => return None,
                            k => {
                                // An enum derived by name looks through all fields.
                                if fv.as_hash().is_some_and(|h| {
                                    h.contains_key(&Yaml::String("_derivedFrom".into()))
                                }) {
                                    return None;
                                }
                                specs.push(k.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if specs.iter().any(|s| s.contains(['{', '[', '\\', '.'])) {
        return None;
    }
    Some(specs)
}

/// Keep in `r` only the fields the patch names; return the others with their positions.
fn prune_fields(
    root: &Hash,
    names: PeripheralNames,
    r: &mut svd::RegisterInfo,
) -> Option<FieldsAside> {
    let fields = r.fields.as_ref()?;
    if fields.iter().any(|f| f.derived_from.is_some()) {
        return None;
    }
    let specs = field_specs_for(root, names, &r.name)?;
    let keep: Vec<bool> = fields
        .iter()
        .map(|f| specs.iter().any(|s| spec_matches(s, &f.name)))
        .collect();
    if keep.iter().all(|&k| k) {
        return None;
    }
    let mut slots = Vec::with_capacity(keep.len());
    let mut sent = Vec::new();
    for (f, k) in r.fields.take()?.into_iter().zip(keep) {
        if k {
            sent.push(f);
            slots.push(Err(()));
        } else {
            slots.push(Ok(f));
        }
    }
    r.fields = Some(sent);
    Some(FieldsAside {
        register: r.name.clone(),
        slots,
    })
}

/// Name of peripheral `pname` after the patch's device-level `_modify`.
fn final_name(root: &Hash, pname: &str) -> String {
    let modify = root
        .get(&Yaml::String("_modify".into()))
        .and_then(Yaml::as_hash);
    let mut name = pname.to_string();
    if let Some(m) = modify {
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            if DEVICE_PROPS.contains(&k) || k == "_peripherals" || !spec_matches(k, pname) {
                continue;
            }
            if let Some(n) = v
                .as_hash()
                .and_then(|h| h.get(&Yaml::String("name".into())))
                .and_then(Yaml::as_str)
            {
                name = n.to_string();
            }
        }
    }
    name
}

/// Which peripherals (name, derivedFrom) a patch with these specs needs: the ones it names,
/// closed under derivedFrom in both directions.
pub(crate) fn select(list: &[(&str, Option<&str>)], specs: &[String]) -> Vec<bool> {
    let mut sel: Vec<bool> = list
        .iter()
        .map(|(name, _)| specs.iter().any(|s| spec_matches(s, name)))
        .collect();
    loop {
        let mut changed = false;
        for i in 0..list.len() {
            let Some(base) = list[i].1 else {
                continue;
            };
            if let Some(j) = list.iter().position(|p| p.0 == base) {
                if sel[i] != sel[j] {
                    sel[i] = true;
                    sel[j] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    sel
}

/// Peripheral specs of a patch, `None` if its reach is unbounded.
pub(crate) fn specs_of(patch: &Patch) -> Option<Vec<String>> {
    peripheral_specs(patch.yaml.as_hash()?)
}

/// Run svdtools over all of `dev` (encode, patch, parse back).
fn apply_whole(dev: &mut svd::Device, patch: &Patch) -> Result<(), SvdError> {
    let name = &patch.name;
    let encoded = svd_encoder::encode(dev).map_err(|e| patch_err(name, e.to_string()))?;
    // The encoder indents: parsing that costs svdtools and us more than squeezing it.
    let xml = super::split::squeezed(&encoded);
    let mut cfg = svdtools::patch::Config::default();
    // Copies, not derivedFrom links between identical enums: svdtools' search for an
    // identical enum to derive from scans the device once per added enum.
    cfg.enum_derive = svdtools::patch::EnumAutoDerive::None;
    let enc = svdtools::patch::EncoderConfig::default();
    let mut out = svdtools::patch::process_reader(xml.as_bytes(), &patch.yaml, &enc, &cfg)
        .map_err(|e| patch_err(name, format!("{e:#}")))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut out, &mut text)
        .map_err(|e| patch_err(name, e.to_string()))?;
    let parsed = svd_parser::parse_with_config(
        &super::split::squeezed(&text),
        &svd_parser::Config::default().validate_level(ValidateLevel::Disabled),
    )
    .map_err(|e| patch_err(name, format!("patched SVD does not parse: {e:#}")))?;
    *dev = parsed;
    Ok(())
}

/// Add the Cortex-M system/debug peripherals to `dev`, except those it already has.
pub(crate) fn merge_cortex_m(dev: &mut svd::Device, core: &svd::Device) {
    for p in &core.peripherals {
        if !dev
            .peripherals
            .iter()
            .any(|q| q.name.eq_ignore_ascii_case(&p.name))
        {
            dev.peripherals.push(p.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(spec_matches("Flash", "FLASH"));
        assert!(spec_matches("GPIO*", "GPIOA"));
        assert!(spec_matches("A,B?", "B1"));
        assert!(!spec_matches("GPIO?", "GPIOAB"));
        assert!(spec_matches("?~GPIOA", "GPIOA"));
    }

    /// A small device: peripheral `Per` (renamed `P` by the patch) with one register whose
    /// fields A..E the patch partly names.
    const SMALL: &str = r#"<device><name>D</name><addressUnitBits>8</addressUnitBits>
      <width>32</width><size>32</size><resetValue>0</resetValue><resetMask>0xFFFFFFFF</resetMask>
      <peripherals><peripheral><name>Per</name><baseAddress>0x40000000</baseAddress>
      <registers>
        <register><name>R</name><addressOffset>0</addressOffset><fields>
          <field><name>A</name><bitOffset>0</bitOffset><bitWidth>1</bitWidth></field>
          <field><name>B</name><bitOffset>1</bitOffset><bitWidth>1</bitWidth></field>
          <field><name>C</name><bitOffset>2</bitOffset><bitWidth>1</bitWidth></field>
          <field><name>D</name><bitOffset>3</bitOffset><bitWidth>1</bitWidth></field>
          <field><name>E</name><bitOffset>4</bitOffset><bitWidth>1</bitWidth></field>
        </fields></register>
        <register><name>S</name><addressOffset>4</addressOffset></register>
      </registers></peripheral></peripherals></device>"#;

    fn small_patch(yaml: &str) -> Patch {
        patch_from_str(yaml, Path::new("t.yaml")).unwrap()
    }

    /// Pruned patching gives exactly what svdtools gives on the whole device: same fields, in
    /// the same order (fields put aside return to their places, added ones come last).
    #[test]
    fn pruned_patching_matches_whole_device_patching() {
        let yamls = [
            "_modify: {Per: {name: P}}\nP:\n  R:\n    _modify: {B: {name: B2}}\n    _add: {F: {bitOffset: 5, bitWidth: 1}}\n    D:\n      Off: [0, off]\n      On: [1, on]\n",
            "Per:\n  R:\n    ?~C: {X: [1, x]}\n    ?~NOPE: {Y: [1, y]}\n",
            "Per:\n  R:\n    _delete: [B]\n    E: {Z: [0, z]}\n",
            "Per:\n  R:\n    \"A,E\": {Lo: [0, lo], Hi: [1, hi]}\n",
        ];
        for y in yamls {
            let patch = small_patch(y);
            let parsed = crate::svd::parse_svd(SMALL, Path::new("small.svd")).unwrap();
            let mut pruned = parsed.clone();
            apply(&mut pruned, &patch).unwrap();
            let mut whole = parsed;
            apply_whole(&mut whole, &patch).unwrap();
            assert_eq!(pruned, whole, "{y}");
        }
    }

    fn normalized(mut d: svd::Device) -> svd::Device {
        d.peripherals.sort_by(|a, b| a.name.cmp(&b.name));
        for p in &mut d.peripherals {
            if let Some(regs) = p.registers.as_mut() {
                regs.sort_by_key(|rc| match rc {
                    svd::RegisterCluster::Register(r) => (r.address_offset, r.name.clone()),
                    svd::RegisterCluster::Cluster(c) => (c.address_offset, c.name.clone()),
                });
            }
        }
        d
    }

    /// A failing patch reports what svdtools says of the whole register (every field present),
    /// and leaves the device as it was.
    #[test]
    fn pruned_patching_errors_name_every_present_field() {
        let patch = small_patch("Per:\n  R:\n    NOPE: {X: [1, x]}\n");
        let parsed = crate::svd::parse_svd(SMALL, Path::new("small.svd")).unwrap();
        let mut dev = parsed.clone();
        let err = apply(&mut dev, &patch).unwrap_err().to_string();
        assert!(err.contains("Present fields: A, B, C, D, E"), "{err}");
        assert_eq!(dev, parsed);
    }

    /// The same on ST's CM7 and CM4 files with h7sh's own patch (needs `H7SH_SVD_DIR`).
    #[test]
    fn pruned_patching_matches_whole_device_patching_on_st_files() {
        let Some(dir) = crate::svd::testing::st_svd_dir_or_skip(
            "pruned_patching_matches_whole_device_patching_on_st_files",
        ) else {
            return;
        };
        let ours = dualcore_patch().unwrap();
        for f in ["STM32H755_CM7.svd", "STM32H745_CM4.svd"] {
            let text = std::fs::read_to_string(Path::new(&dir).join(f)).unwrap();
            let parsed = crate::svd::parse_svd(&text, Path::new(f)).unwrap();
            let mut pruned = parsed.clone();
            apply(&mut pruned, &ours).unwrap();
            let mut whole = parsed;
            apply_whole(&mut whole, &ours).unwrap();
            // Registers put aside return in address order, and patched peripherals together
            // at the first one's place: orders carry no meaning, contents must be identical.
            assert_eq!(normalized(pruned), normalized(whole), "{f}");
        }
    }

    #[test]
    fn our_patch_is_bounded() {
        let p = dualcore_patch().unwrap();
        let specs = peripheral_specs(p.yaml.as_hash().unwrap()).unwrap();
        for name in ["Flash", "FLASH", "RCC", "PWR", "DBGMCU", "SYSCFG", "HSEM"] {
            assert!(specs.iter().any(|s| spec_matches(s, name)), "{name}");
        }
    }
}
