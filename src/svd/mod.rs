//! Register descriptions: loading ST's SVDs (or the built-in register set), patching them,
//! and the name/address index the rest of h7sh uses.
//!
//! Pipeline of one device view (one core):
//! 1. parse the SVD with svd-parser (no validation; ST's files fail strict checks);
//! 2. for ST STM32H745/747/755/757 files, apply h7sh's patch `svd/patches/stm32h7-dualcore.yaml`
//!    with svdtools (see [`patch`] for how that stays fast);
//! 3. merge the Cortex-M system/debug block `svd/cortex-m.svd` (ST's files lack it);
//! 4. apply user patches (config `svd_patches`, then [`LoadOptions::patches`]), in order;
//! 5. resolve derivedFrom, expand arrays/clusters and flatten into the h7sh [`Device`] model,
//!    with its index;
//! 6. store it in the cache (postcard) keyed by a hash of every input.
//!
//! See `docs/svd.md` for discovery paths, the cache and patches.

mod cache;
mod discover;
mod error;
mod flatten;
mod index;
mod model;
mod patch;
mod split;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use svd_parser::ValidateLevel;

pub use discover::{vendor_patterns, SvdOrigin};
pub use error::{ResolveError, SvdError};
pub use index::{COMPLETION_LIMIT, SUGGESTION_LIMIT};
pub use model::{
    Access, Device, EnumValue, Field, FieldId, ModifiedWrite, Peripheral, RegId, Register,
    Resolved,
};

/// h7sh's built-in register set (bring-up registers of the dual-core STM32H7), used when no
/// ST SVD is found.
pub const BUILTIN_SVD: &str = include_str!("../../svd/h7sh-builtin.svd");
/// Name of the built-in register set in messages.
pub const BUILTIN_SVD_NAME: &str = "svd/h7sh-builtin.svd (built in)";
/// h7sh's patch for ST's dual-core SVDs (svdtools YAML).
pub const DUALCORE_PATCH: &str = patch::DUALCORE_PATCH;
/// Cortex-M system and debug block merged into every device.
pub const CORTEX_M_SVD: &str = patch::CORTEX_M_SVD;

const PICK_ANOTHER: &str = "pick another with --svd FILE or H7SH_SVD";

/// How to find and load the SVDs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// SVD of the Cortex-M7 view (`--svd FILE`). `None`: discover (see [`load`]).
    pub svd: Option<PathBuf>,
    /// SVD of the Cortex-M4 view. `None`: the `_CM4.svd` beside the CM7 file, else the CM7
    /// file itself.
    pub svd_cm4: Option<PathBuf>,
    /// User patches (svdtools YAML), applied after h7sh's own, in order.
    pub patches: Vec<PathBuf>,
    /// Use the on-disk cache (`--no-svd-cache` sets this to false).
    pub use_cache: bool,
    /// Cache folder. `None`: the platform cache dir + `svd/`.
    pub cache_dir: Option<PathBuf>,
    /// Folder of `config.toml`. `None`: the platform config dir.
    pub config_dir: Option<PathBuf>,
    /// Data folder whose `svd/` subfolder is searched. `None`: the platform data dir.
    pub data_dir: Option<PathBuf>,
    /// Consult `$H7SH_SVD` (tests turn this off).
    pub use_env: bool,
    /// Search the STM32CubeIDE / STM32CubeProgrammer / Keil install folders.
    pub search_vendor_dirs: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            svd: None,
            svd_cm4: None,
            patches: Vec::new(),
            use_cache: true,
            cache_dir: None,
            config_dir: None,
            data_dir: None,
            use_env: true,
            search_vendor_dirs: true,
        }
    }
}

/// The two device views (one per core) and where they came from.
#[derive(Debug, Clone)]
pub struct DeviceViews {
    pub cm7: Arc<Device>,
    pub cm4: Arc<Device>,
    /// One line for the user: which SVD is in use and how to pick another.
    pub source_line: String,
    /// Every view came from the cache.
    pub from_cache: bool,
    pub origin: SvdOrigin,
    /// SVD files in use (`None` for the built-in set).
    pub cm7_path: Option<PathBuf>,
    pub cm4_path: Option<PathBuf>,
}

fn malformed(path: &Path, err: &anyhow::Error) -> SvdError {
    let message = format!("{err:#}");
    SvdError::Malformed {
        path: path.to_path_buf(),
        line: line_of(&message),
        message,
    }
}

/// First `at LINE:COL` in an svd-parser / roxmltree message.
fn line_of(msg: &str) -> Option<u32> {
    msg.match_indices("at ").find_map(|(i, _)| {
        let rest = &msg[i + 3..];
        let (l, c) = rest.split_once(':')?;
        let col_digits = c.bytes().take_while(u8::is_ascii_digit).count();
        (col_digits > 0).then(|| l.parse().ok()).flatten()
    })
}

fn parse_svd(text: &str, path: &Path) -> Result<svd_rs::Device, SvdError> {
    let cfg = svd_parser::Config::default()
        .validate_level(ValidateLevel::Disabled)
        .expand(false);
    svd_parser::parse_with_config(text, &cfg).map_err(|e| malformed(path, &e))
}

fn cortex_m() -> Result<&'static svd_rs::Device, SvdError> {
    static CELL: OnceLock<Result<svd_rs::Device, String>> = OnceLock::new();
    CELL.get_or_init(|| {
        parse_svd(CORTEX_M_SVD, Path::new("svd/cortex-m.svd")).map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|message| SvdError::Malformed {
        path: PathBuf::from("svd/cortex-m.svd (built in)"),
        line: None,
        message: message.clone(),
    })
}

/// Parse `text` and apply h7sh's dual-core patch if the device is one of ours. Returns the
/// device and the patch's name if it was applied.
fn parse_and_patch_ours(
    text: &str,
    path: &Path,
) -> Result<(svd_rs::Device, Option<String>), SvdError> {
    if let Some(r) = parse_parallel(text, path) {
        return r;
    }
    let mut dev = parse_svd(text, path)?;
    if patch::is_st_dualcore(&dev) {
        let ours = patch::dualcore_patch()?;
        patch::apply(&mut dev, &ours)?;
        return Ok((dev, Some(ours.name.display().to_string())));
    }
    Ok((dev, None))
}

/// The same as the sequential path of [`parse_and_patch_ours`], on three threads (see
/// [`split`]). `None`: not applicable, use the sequential path.
fn parse_parallel(
    text: &str,
    path: &Path,
) -> Option<Result<(svd_rs::Device, Option<String>), SvdError>> {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let sp = split::split(text)?;
    let ours = if patch::is_st_dualcore_name(sp.device_name)
        && sp.chunks.iter().any(|c| c.name.eq_ignore_ascii_case("flash"))
    {
        match patch::dualcore_patch() {
            Ok(p) => Some(p),
            Err(e) => return Some(Err(e)),
        }
    } else {
        None
    };
    let sel = match &ours {
        Some(p) => {
            let specs = patch::specs_of(p)?;
            let list: Vec<(&str, Option<&str>)> =
                sp.chunks.iter().map(|c| (c.name, c.derived_from)).collect();
            patch::select(&list, &specs)
        }
        None => vec![false; sp.chunks.len()],
    };
    let patched_at = sel.iter().position(|&s| s).unwrap_or(0);
    let rest: Vec<&split::Chunk> = sp.chunks.iter().zip(&sel).filter(|p| !*p.1).map(|p| p.0).collect();
    let picked: Vec<&split::Chunk> = sp.chunks.iter().zip(&sel).filter(|p| *p.1).map(|p| p.0).collect();
    let (a, b) = split::halves(&rest);
    let doc_a = split::document(&sp, a.iter().copied());
    let doc_b = split::document(&sp, b.iter().copied());
    let doc_p = (!picked.is_empty()).then(|| split::document(&sp, picked.iter().copied()));
    let joined = std::thread::scope(|s| {
        let hb = s.spawn(|| parse_svd(&doc_b, path));
        let hp = doc_p.as_ref().map(|d| {
            s.spawn(|| {
                let mut dev = parse_svd(d, path)?;
                if let Some(o) = &ours {
                    patch::apply(&mut dev, o)?;
                }
                Ok::<_, SvdError>(dev)
            })
        });
        let ra = parse_svd(&doc_a, path);
        let rb = hb.join().ok()?;
        let rp = match hp {
            Some(h) => Some(h.join().ok()?),
            None => None,
        };
        Some((ra, rb, rp))
    });
    // A thread panicked (not expected): the sequential path decides.
    let (ra, rb, rp) = joined?;
    let reparse = |e: SvdError| match e {
        // Report parse errors with the whole file's line numbers.
        SvdError::Malformed { .. } => parse_svd(text, path).err().unwrap_or(e),
        other => other,
    };
    let result = (|| {
        let mut base = ra.map_err(reparse)?;
        let other = rb.map_err(reparse)?;
        let part_a = std::mem::take(&mut base.peripherals);
        let patched = match rp {
            Some(r) => {
                let mut p = r.map_err(reparse)?;
                let list = std::mem::take(&mut p.peripherals);
                // The patched device carries any device-level change the patch made.
                base = p;
                list
            }
            None => Vec::new(),
        };
        let dev = split::merge(base, vec![part_a, other.peripherals], patched_at, patched);
        Ok((dev, ours.as_ref().map(|o| o.name.display().to_string())))
    })();
    Some(result)
}

/// Parse, patch, merge, flatten and index one SVD.
fn build_view(text: &str, path: &Path, user: &[patch::Patch]) -> Result<Device, SvdError> {
    let t0 = std::time::Instant::now();
    let prof = std::env::var_os("H7SH_PROF").is_some();
    let (mut dev, ours) = parse_and_patch_ours(text, path)?;
    if prof {
        eprintln!("parse+ours {:?}", t0.elapsed());
    }
    let mut applied: Vec<String> = ours.into_iter().collect();
    patch::merge_cortex_m(&mut dev, cortex_m()?);
    for p in user {
        patch::apply(&mut dev, p)?;
        applied.push(p.name.display().to_string());
    }
    svd_parser::expand_properties(&mut dev);
    let peripherals = flatten::flatten(&dev).map_err(|e| malformed(path, &e))?;
    if prof {
        eprintln!("flat {:?}", t0.elapsed());
    }
    let mut d = Device::new(dev.name, dev.cpu.map(|c| c.name), peripherals);
    if prof {
        eprintln!("indexed {:?}", t0.elapsed());
    }
    d.patches = applied;
    Ok(d)
}

fn read(path: &Path) -> Result<Vec<u8>, SvdError> {
    std::fs::read(path).map_err(|source| SvdError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn utf8<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, SvdError> {
    std::str::from_utf8(bytes).map_err(|e| SvdError::Malformed {
        path: path.to_path_buf(),
        line: Some(
            1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u32,
        ),
        message: format!("not UTF-8 text: {e}"),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "es"
    }
}

/// The built-in register set for both cores. Cannot fail: the embedded SVDs are tested.
pub fn load_builtin() -> DeviceViews {
    let cm7 = build_view(BUILTIN_SVD, Path::new(BUILTIN_SVD_NAME), &[])
        // Unreachable in a tested build; an empty device keeps the shell usable regardless.
        .unwrap_or_else(|_| Device::new("STM32H7x5-h7sh-builtin".into(), None, Vec::new()));
    builtin_views(cm7, SvdOrigin::Builtin)
}

fn builtin_views(cm7: Device, origin: SvdOrigin) -> DeviceViews {
    let mut cm4 = cm7.clone();
    cm4.cpu = Some("CM4".into());
    let n = cm7.patches.len();
    let source_line = if n == 0 {
        format!("SVD: built-in bring-up register set ({}); {PICK_ANOTHER}", origin.describe())
    } else {
        format!(
            "SVD: built-in bring-up register set (+{n} patch{}, {}); {PICK_ANOTHER}",
            plural(n),
            origin.describe()
        )
    };
    DeviceViews {
        cm7: Arc::new(cm7),
        cm4: Arc::new(cm4),
        source_line,
        from_cache: false,
        origin,
        cm7_path: None,
        cm4_path: None,
    }
}

/// Find, load, patch and index the SVDs for both cores.
///
/// Which CM7 file: [`LoadOptions::svd`], else `$H7SH_SVD`, else `svd` in the config file,
/// else the newest STM32H7x5/x7 `_CM7.svd` in the data dir's `svd/`, else the first found in
/// the vendor install folders ([`vendor_patterns`]), else the built-in register set.
pub fn load(opts: &LoadOptions) -> Result<DeviceViews, SvdError> {
    let choice = discover::choose(opts)?;
    let mut user_paths = choice.config_patches.clone();
    user_paths.extend(opts.patches.iter().cloned());
    let user_bytes: Vec<Vec<u8>> = user_paths
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| SvdError::Patch {
                patch: p.clone(),
                message: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    let load_user = || -> Result<Vec<patch::Patch>, SvdError> {
        user_paths.iter().map(|p| patch::load_patch_file(p)).collect()
    };

    let Some(cm7_path) = choice.cm7.clone() else {
        let user = load_user()?;
        let cm7 = build_view(BUILTIN_SVD, Path::new(BUILTIN_SVD_NAME), &user)?;
        return Ok(builtin_views(cm7, choice.origin));
    };
    let cm4_path = choice.cm4.clone().unwrap_or_else(|| cm7_path.clone());
    let same = cm4_path == cm7_path;

    let cm7_bytes = read(&cm7_path)?;
    let cm4_bytes = if same { None } else { Some(read(&cm4_path)?) };
    let mut key_parts: Vec<&[u8]> = vec![patch::DUALCORE_PATCH.as_bytes()];
    key_parts.extend(user_bytes.iter().map(Vec::as_slice));
    let key7 = cache::CacheKey::compute(&cm7_bytes, &key_parts);
    let key4 = cm4_bytes
        .as_deref()
        .map(|b| cache::CacheKey::compute(b, &key_parts));

    let cache_dir = if opts.use_cache {
        opts.cache_dir.clone().or_else(discover::default_cache_dir)
    } else {
        None
    };
    let cached = |k: cache::CacheKey| cache_dir.as_deref().and_then(|d| cache::read(d, k));
    let mut cm7 = cached(key7);
    let mut cm4 = key4.and_then(cached);
    let from_cache = cm7.is_some() && (same || cm4.is_some());

    if !from_cache {
        let user = load_user()?;
        let cm7_text = utf8(&cm7_bytes, &cm7_path)?;
        let cm4_text = cm4_bytes.as_deref().map(|b| utf8(b, &cm4_path)).transpose()?;
        // Both views missing: build them on two threads (ST's files are 4 MB each).
        let (r7, r4) = std::thread::scope(|s| {
            let h4 = match (cm4.is_none(), cm4_text) {
                (true, Some(t)) => Some(s.spawn(|| build_view(t, &cm4_path, &user))),
                _ => None,
            };
            let r7 = match cm7.take() {
                Some(d) => Ok(d),
                None => build_view(cm7_text, &cm7_path, &user),
            };
            let r4 = h4.map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(SvdError::Malformed {
                        path: cm4_path.clone(),
                        line: None,
                        message: "internal error while loading".into(),
                    })
                })
            });
            (r7, r4)
        });
        let d7 = r7?;
        if let Some(dir) = &cache_dir {
            cache::write(dir, key7, &d7);
        }
        cm7 = Some(d7);
        if let Some(r4) = r4 {
            let d4 = r4?;
            if let (Some(dir), Some(k)) = (&cache_dir, key4) {
                cache::write(dir, k, &d4);
            }
            cm4 = Some(d4);
        }
    }
    // Built or read from the cache above; the error arm only keeps this panic-free.
    let Some(cm7) = cm7.map(Arc::new) else {
        return Err(SvdError::Malformed {
            path: cm7_path,
            line: None,
            message: "internal error: no device view".into(),
        });
    };
    let cm4 = if same {
        cm7.clone()
    } else {
        match cm4 {
            Some(d) => Arc::new(d),
            None => cm7.clone(),
        }
    };

    let n = cm7.patches.len();
    let cm4_note = if same {
        String::new()
    } else {
        format!(
            ", CM4: {}",
            cm4_path
                .file_name()
                .map_or_else(|| cm4_path.display().to_string(), |f| f.to_string_lossy().into_owned())
        )
    };
    let source_line = format!(
        "SVD: {}{cm4_note} (+{n} patch{}, {}, {}); {PICK_ANOTHER}",
        cm7_path.display(),
        plural(n),
        if from_cache { "from cache" } else { "parsed" },
        choice.origin.describe(),
    );
    Ok(DeviceViews {
        cm7,
        cm4,
        source_line,
        from_cache,
        origin: choice.origin,
        cm7_path: Some(cm7_path),
        cm4_path: Some(cm4_path),
    })
}

/// Path of the cache file that [`load`] uses for an SVD with the given patches (diagnostics
/// and tests).
pub fn cache_file_for(
    cache_dir: &Path,
    svd: &Path,
    patches: &[PathBuf],
) -> Result<PathBuf, SvdError> {
    let bytes = read(svd)?;
    let user: Vec<Vec<u8>> = patches.iter().map(|p| read(p)).collect::<Result<_, _>>()?;
    let mut parts: Vec<&[u8]> = vec![patch::DUALCORE_PATCH.as_bytes()];
    parts.extend(user.iter().map(Vec::as_slice));
    Ok(cache::path_for(
        cache_dir,
        cache::CacheKey::compute(&bytes, &parts),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_found() {
        assert_eq!(line_of("unexpected end of stream at 12:3"), Some(12));
        assert_eq!(line_of("Parsing field `X` at 7:10: bad"), Some(7));
        assert_eq!(line_of("no position here"), None);
    }

    /// The parallel split parse must give exactly the sequential result.
    #[test]
    fn parallel_parse_matches_sequential() {
        let Some(dir) = std::env::var_os("H7SH_SVD_DIR").filter(|d| !d.is_empty()) else {
            println!("H7SH_SVD_DIR not set: skipping parallel_parse_matches_sequential");
            return;
        };
        let path = PathBuf::from(dir).join("STM32H747_CM4.svd");
        let text = std::fs::read_to_string(&path).unwrap();
        let (par, ours) = parse_parallel(&text, &path)
            .expect("ST file splits")
            .unwrap();
        assert!(ours.is_some());
        let mut seq = parse_svd(&text, &path).unwrap();
        patch::apply(&mut seq, &patch::dualcore_patch().unwrap()).unwrap();
        let names = |d: &svd_rs::Device| d.peripherals.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&par), names(&seq));
        assert_eq!(par.cpu, seq.cpu);
        assert_eq!(par.name, seq.name);
        let flat = |mut d: svd_rs::Device| {
            svd_parser::expand_properties(&mut d);
            flatten::flatten(&d).unwrap()
        };
        assert!(flat(par) == flat(seq));
    }

    #[test]
    fn builtin_loads() {
        let v = load_builtin();
        assert!(v.cm7.peripherals.len() >= 6);
        assert!(v.cm7.resolve("FLASH.OPTSR_CUR.BCM4").is_ok());
        assert!(v.cm7.resolve("DCB.DHCSR.S_RESET_ST").is_ok());
    }
}
