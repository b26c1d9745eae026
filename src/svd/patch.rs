//! Applying svdtools YAML patches, and merging the Cortex-M system/debug block.
//!
//! svdtools' library exposes patching only as `process_reader` (SVD text in, SVD text out).
//! Running that over ST's whole 4 MB file would mean encoding and re-parsing it, which costs
//! more than the whole load budget. So only the peripherals a patch names (plus anything they
//! derive from or that derives from them) go through svdtools, as a small SVD; the patched
//! peripherals replace the originals. Patches using features whose reach cannot be computed
//! from their keys (`_copy`, brace globs, unknown device-level keys) fall back to patching the
//! whole device: slower, same result.

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
pub(crate) fn load_patch_file(path: &Path) -> Result<Patch, SvdError> {
    // svdtools unwraps the first YAML document; check there is one so bad input gives an
    // error instead of a panic.
    let text = std::fs::read_to_string(path).map_err(|e| patch_err(path, e.to_string()))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| patch_err(path, e.to_string()))?;
    match docs.first() {
        Some(Yaml::Hash(_)) => {}
        Some(_) => return Err(patch_err(path, "the top level must be a mapping")),
        None => return Err(patch_err(path, "empty YAML document")),
    }
    if path.to_str().is_none() {
        return Err(patch_err(path, "patch path is not valid UTF-8"));
    }
    let yaml = svdtools::patch::load_patch(path).map_err(|e| patch_err(path, format!("{e:#}")))?;
    Ok(Patch {
        name: path.to_path_buf(),
        yaml,
    })
}

/// Whether h7sh's dual-core patch is meant for this device (ST STM32H745/747/755/757).
pub(crate) fn is_st_dualcore(dev: &svd::Device) -> bool {
    let n = dev.name.to_ascii_uppercase();
    let b = n.as_bytes();
    n.starts_with("STM32H7")
        && b.len() >= 9
        && matches!(b[7], b'4' | b'5')
        && matches!(b[8], b'5' | b'7')
        && dev.peripherals.iter().any(|p| p.name.eq_ignore_ascii_case("flash"))
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

/// Peripheral name specs a patch touches, or `None` if its reach cannot be bounded.
fn peripheral_specs(root: &Hash) -> Option<Vec<String>> {
    let mut specs = Vec::new();
    let push_str_or_list = |v: &Yaml, specs: &mut Vec<String>| -> Option<()> {
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
    };
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

fn spec_matches(spec: &str, name: &str) -> bool {
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
    // The peripherals the patch names, closed under derivedFrom in both directions.
    let n = dev.peripherals.len();
    let mut sel: Vec<bool> = dev
        .peripherals
        .iter()
        .map(|p| specs.iter().any(|s| spec_matches(s, &p.name)))
        .collect();
    loop {
        let mut changed = false;
        for i in 0..n {
            let Some(base) = dev.peripherals[i].derived_from.as_deref() else {
                continue;
            };
            if let Some(j) = dev.peripherals.iter().position(|p| p.name == base) {
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
    let first = sel.iter().position(|&s| s).unwrap_or(n);
    let all = std::mem::take(&mut dev.peripherals);
    let (picked, rest): (Vec<_>, Vec<_>) = all
        .into_iter()
        .zip(sel.iter().copied())
        .partition(|(_, s)| *s);
    dev.peripherals = picked.into_iter().map(|(p, _)| p).collect();
    let rest: Vec<svd::Peripheral> = rest.into_iter().map(|(p, _)| p).collect();
    // Patch the small device; on error put the originals back so `dev` stays whole.
    let result = apply_whole(dev, patch);
    let mut patched = std::mem::take(&mut dev.peripherals);
    let mut merged = rest;
    let at = first.min(merged.len());
    merged.splice(at..at, patched.drain(..));
    dev.peripherals = merged;
    result
}

/// Run svdtools over all of `dev` (encode, patch, parse back).
fn apply_whole(dev: &mut svd::Device, patch: &Patch) -> Result<(), SvdError> {
    let name = &patch.name;
    let xml = svd_encoder::encode(dev).map_err(|e| patch_err(name, e.to_string()))?;
    let cfg = svdtools::patch::Config::default();
    let enc = svdtools::patch::EncoderConfig::default();
    let mut out = svdtools::patch::process_reader(xml.as_bytes(), &patch.yaml, &enc, &cfg)
        .map_err(|e| patch_err(name, format!("{e:#}")))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut out, &mut text).map_err(|e| patch_err(name, e.to_string()))?;
    let parsed = svd_parser::parse_with_config(
        &text,
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
