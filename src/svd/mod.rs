//! Register descriptions: loading ST's SVDs (or the built-in register set, [`builtin`]),
//! patching them, and the name/address index the rest of h7sh uses.
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

mod bounds;
#[doc(hidden)]
pub mod builtin;
mod cache;
mod discover;
mod error;
mod flatten;
mod index;
mod model;
mod patch;
mod split;
#[doc(hidden)]
pub mod testing;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use svd_parser::ValidateLevel;

pub use discover::{vendor_patterns, SvdOrigin};
pub use error::{ResolveError, SvdError};
pub use index::{COMPLETION_LIMIT, SUGGESTION_LIMIT};
pub use model::{
    Access, Device, EnumValue, Field, FieldId, ModifiedWrite, Peripheral, RegId, Register, Resolved,
};

/// Name of the built-in register set (`svd/regset.bin`, see [`crate::regset`]) in messages.
pub const BUILTIN_SVD_NAME: &str = "built-in register set (svd/regset.bin)";
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
    /// The part (`STM32H747`, or a probe-rs name such as `STM32H747XIHx`) whose views the
    /// built-in register set gives when no ST SVD is found. `None` or another name:
    /// [`crate::regset::DEFAULT_PART`] (the virtual board's STM32H755).
    pub part: Option<String>,
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
            part: None,
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
    // Before svd-parser, which recurses over nesting and expands dimIndex eagerly.
    bounds::check(text).map_err(|r| SvdError::Malformed {
        path: path.to_path_buf(),
        line: Some(r.line),
        message: r.message,
    })?;
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
        && sp
            .chunks
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case("flash"))
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
    let rest: Vec<&split::Chunk> = sp
        .chunks
        .iter()
        .zip(&sel)
        .filter(|p| !*p.1)
        .map(|p| p.0)
        .collect();
    let picked: Vec<&split::Chunk> = sp
        .chunks
        .iter()
        .zip(&sel)
        .filter(|p| *p.1)
        .map(|p| p.0)
        .collect();
    let (a, b) = split::halves(&rest);
    // Each thread builds its own document: copying and squeezing the text is work too.
    let joined = std::thread::scope(|s| {
        let hb = s.spawn(|| parse_svd(&split::document(&sp, b.iter().copied()), path));
        let hp = (!picked.is_empty()).then(|| {
            s.spawn(|| {
                let mut dev = parse_svd(&split::document(&sp, picked.iter().copied()), path)?;
                if let Some(o) = &ours {
                    patch::apply(&mut dev, o)?;
                }
                Ok::<_, SvdError>(dev)
            })
        });
        let ra = parse_svd(&split::document(&sp, a.iter().copied()), path);
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
    let (mut dev, ours) = parse_and_patch_ours(text, path)?;
    let mut applied: Vec<String> = ours.into_iter().collect();
    patch::merge_cortex_m(&mut dev, cortex_m()?);
    for p in user {
        patch::apply(&mut dev, p)?;
        applied.push(p.name.display().to_string());
    }
    svd_parser::expand_properties(&mut dev);
    let peripherals = flatten::flatten(&dev).map_err(|e| malformed(path, &e))?;
    let name = std::mem::take(&mut dev.name);
    let cpu = dev.cpu.take().map(|c| c.name);
    // Freeing ST's whole parsed tree takes as long as indexing: do it beside, not before.
    // (If no thread can be started, the closure and the tree are dropped here.)
    let _ = std::thread::Builder::new()
        .name("h7sh-svd-drop".into())
        .spawn(move || drop(dev));
    let mut d = Device::new(name, cpu, peripherals);
    d.patches = applied;
    Ok(d)
}

/// The CM4 view from the CM7 one, when the CM4 file differs only in its header, in
/// interrupts (not part of the model) and in a few peripherals (true of ST's files: `<cpu>`,
/// a few interrupt numbers and RAMECC2).
/// Identical peripherals are shared (`Arc`) and only the differing ones are parsed.
/// `None`: the files differ in ways this shortcut does not handle; build the view fully.
fn derive_cm4(
    cm7: &Device,
    t7: &str,
    t4: &str,
    path4: &Path,
    user: &[patch::Patch],
) -> Option<Result<Device, SvdError>> {
    let s7 = split::split(t7)?;
    let s4 = split::split(t4)?;
    if s7.chunks.len() != s4.chunks.len()
        || patch::is_st_dualcore_name(s7.device_name) != patch::is_st_dualcore_name(s4.device_name)
    {
        return None;
    }
    let mut diff = Vec::new();
    for (i, (a, b)) in s7.chunks.iter().zip(&s4.chunks).enumerate() {
        if a.name != b.name || a.derived_from != b.derived_from {
            return None;
        }
        if a.text != b.text
            && split::without_interrupts(a.text) != split::without_interrupts(b.text)
        {
            diff.push(i);
        }
    }
    // Device-level defaults shape every register: they must agree. (svd-parser wants at
    // least one peripheral in a document: take the first.)
    let h7 = parse_svd(&split::document(&s7, s7.chunks.iter().take(1)), path4).ok()?;
    let h4 = match parse_svd(&split::document(&s4, s4.chunks.iter().take(1)), path4) {
        Ok(h) => h,
        Err(_) => return Some(parse_svd(t4, path4).and_then(|_| Err(malformed_generic(path4)))),
    };
    if h7.default_register_properties != h4.default_register_properties
        || h7.address_unit_bits != h4.address_unit_bits
        || h7.width != h4.width
    {
        return None;
    }
    // h7sh's patch only reaches its selection S: if a differing peripheral is in S, S is
    // re-parsed from the CM4 text and re-patched (as the parallel parse does). User patches
    // run on the whole device, so none may reach anything replaced here.
    let ours = if cm7.patches.iter().any(|p| p == patch::DUALCORE_PATCH_NAME) {
        Some(patch::dualcore_patch().ok()?)
    } else {
        None
    };
    let list: Vec<(&str, Option<&str>)> =
        s4.chunks.iter().map(|c| (c.name, c.derived_from)).collect();
    let sel = match &ours {
        Some(o) => patch::select(&list, &patch::specs_of(o)?),
        None => vec![false; list.len()],
    };
    let repatch = diff.iter().any(|&i| sel[i]);
    // Differing peripherals outside S, with everything they derive from or that derives
    // from them (derivedFrom is resolved within the parsed part).
    let plain_names: Vec<String> = diff
        .iter()
        .filter(|&&i| !sel[i])
        .map(|&i| s4.chunks[i].name.to_string())
        .collect();
    let plain_sel = if plain_names.is_empty() {
        vec![false; list.len()]
    } else {
        patch::select(&list, &plain_names)
    };
    if plain_sel.iter().zip(&sel).any(|(p, s)| *p && *s) {
        return None;
    }
    let plain: Vec<usize> = (0..list.len()).filter(|&i| plain_sel[i]).collect();
    let mut user_specs = Vec::new();
    for u in user {
        user_specs.extend(patch::specs_of(u)?);
    }
    let replaced = plain
        .iter()
        .copied()
        .chain((0..sel.len()).filter(|&i| repatch && sel[i]));
    for i in replaced {
        let c = &s4.chunks[i];
        if user_specs.iter().any(|s| patch::spec_matches(s, c.name)) {
            return None;
        }
    }
    let parse_part = |doc: String,
                      patch_with: Option<&patch::Patch>|
     -> Result<Vec<Peripheral>, SvdError> {
        // Re-report parse errors with the file's own line numbers.
        let mut d = parse_svd(&doc, path4).map_err(|e| parse_svd(t4, path4).err().unwrap_or(e))?;
        if let Some(p) = patch_with {
            patch::apply(&mut d, p)?;
        }
        svd_parser::expand_properties(&mut d);
        flatten::flatten(&d).map_err(|e| malformed(path4, &e))
    };
    let mut fresh: Vec<Peripheral> = Vec::new();
    if !plain.is_empty() {
        let doc = split::document(&s4, plain.iter().map(|&i| &s4.chunks[i]));
        match parse_part(doc, None) {
            // Peripheral arrays would expand to several: not handled here.
            Ok(f) if f.len() == plain.len() => fresh.extend(f),
            Ok(_) => return None,
            Err(e) => return Some(Err(e)),
        }
    }
    if repatch {
        let doc = split::document(
            &s4,
            (0..sel.len()).filter(|&i| sel[i]).map(|i| &s4.chunks[i]),
        );
        match parse_part(doc, ours.as_ref()) {
            Ok(f) => fresh.extend(f),
            Err(e) => return Some(Err(e)),
        }
    }
    let mut peripherals = cm7.peripherals.clone();
    for p in fresh {
        let mut at = cm7
            .peripherals
            .iter()
            .enumerate()
            .filter(|(_, q)| q.name == p.name);
        let (pos, _) = at.next()?;
        if at.next().is_some() {
            return None;
        }
        peripherals[pos] = Arc::new(p);
    }
    let mut dev = Device::from_shared(h4.name, h4.cpu.map(|c| c.name), peripherals);
    dev.patches = cm7.patches.clone();
    Some(Ok(dev))
}

fn malformed_generic(path: &Path) -> SvdError {
    SvdError::Malformed {
        path: path.to_path_buf(),
        line: None,
        message: "the device header cannot be parsed".into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, SvdError> {
    crate::files::read(path, crate::files::Kind::Svd).map_err(|source| SvdError::Io {
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

/// The built-in register set for both cores, of [`crate::regset::DEFAULT_PART`]. Cannot
/// fail: the embedded set is tested.
pub fn load_builtin() -> DeviceViews {
    builtin_views(None, SvdOrigin::Builtin, &[]).unwrap_or_else(|_| {
        // Unreachable in a tested build; an empty device keeps the shell usable regardless.
        let empty = Arc::new(Device::new("STM32H7-empty".into(), None, Vec::new()));
        DeviceViews {
            cm7: empty.clone(),
            cm4: empty,
            source_line: format!("SVD: none (the {BUILTIN_SVD_NAME} is damaged); {PICK_ANOTHER}"),
            from_cache: false,
            origin: SvdOrigin::Builtin,
            cm7_path: None,
            cm4_path: None,
        }
    })
}

/// The built-in views of the part `part` names (default: the virtual board's), with the
/// user's patches applied.
fn builtin_views(
    part: Option<&str>,
    origin: SvdOrigin,
    user: &[patch::Patch],
) -> Result<DeviceViews, SvdError> {
    let part = part
        .and_then(crate::regset::part_of)
        .unwrap_or(crate::regset::DEFAULT_PART);
    let (mut cm7, mut cm4) = builtin::views(part)?;
    if !user.is_empty() {
        cm7 = builtin::patched(&cm7, user)?;
        cm4 = builtin::patched(&cm4, user)?;
    }
    let n = cm7.patches.len();
    // One short line (`-q` silences it); docs/svd.md says how to pick another.
    let source_line = format!(
        "SVD: built-in {part} (+{n} patch{}; {}: no descriptions, --svd FILE adds them)",
        plural(n),
        origin.describe()
    );
    Ok(DeviceViews {
        cm7: Arc::new(cm7),
        cm4: Arc::new(cm4),
        source_line,
        from_cache: false,
        origin,
        cm7_path: None,
        cm4_path: None,
    })
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
            crate::files::read(p, crate::files::Kind::Patch).map_err(|e| SvdError::Patch {
                patch: p.clone(),
                message: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    let load_user = || -> Result<Vec<patch::Patch>, SvdError> {
        user_paths
            .iter()
            .map(|p| patch::load_patch_file(p))
            .collect()
    };

    let Some(cm7_path) = choice.cm7.clone() else {
        let user = load_user()?;
        return builtin_views(opts.part.as_deref(), choice.origin, &user);
    };
    let cm4_path = choice.cm4.clone().unwrap_or_else(|| cm7_path.clone());
    let same = cm4_path == cm7_path;

    let mut key_parts: Vec<&[u8]> = vec![patch::DUALCORE_PATCH.as_bytes()];
    key_parts.extend(user_bytes.iter().map(Vec::as_slice));
    let cache_dir = if opts.use_cache {
        opts.cache_dir.clone().or_else(discover::default_cache_dir)
    } else {
        None
    };
    // Each view on its own thread: read the SVD, hash it, read and decode its cache entry
    // (the CM4 entry is applied to the CM7 view afterwards). This is most of a warm start.
    type ViewInput = Result<(Vec<u8>, cache::CacheKey, Option<cache::Stored>), SvdError>;
    let prepare = |path: &Path| -> ViewInput {
        let bytes = read(path)?;
        let key = cache::CacheKey::compute(&bytes, &key_parts);
        let stored = cache_dir
            .as_deref()
            .and_then(|d| cache::read_stored(d, key));
        Ok((bytes, key, stored))
    };
    let (r7, r4) = std::thread::scope(|s| {
        let h4 = (!same).then(|| s.spawn(|| prepare(&cm4_path)));
        let r7 = prepare(&cm7_path);
        (r7, h4.map(|h| h.join()))
    });
    let (cm7_bytes, key7, stored7) = r7?;
    let (cm4_bytes, key4, stored4) = match r4 {
        None => (None, None, None),
        Some(Ok(r)) => {
            let (b, k, st) = r?;
            (Some(b), Some(k), st)
        }
        // The reading thread panicked (not expected): read again here, without the cache.
        Some(Err(_)) => {
            let b = read(&cm4_path)?;
            let k = cache::CacheKey::compute(&b, &key_parts);
            (Some(b), Some(k), None)
        }
    };
    let mut cm7 = stored7.and_then(|st| cache::resolve(st, None));
    let mut cm4 = match (&cm7, stored4) {
        (Some(base), Some(st)) => cache::resolve(st, Some((key7, base))),
        _ => None,
    };
    let from_cache = cm7.is_some() && (same || cm4.is_some());

    if !from_cache {
        let user = load_user()?;
        let cm7_text = utf8(&cm7_bytes, &cm7_path)?;
        let d7 = match cm7.take() {
            Some(d) => d,
            None => {
                let d = build_view(cm7_text, &cm7_path, &user)?;
                if let Some(dir) = &cache_dir {
                    cache::write(dir, key7, &d, None);
                }
                d
            }
        };
        if let (Some(b4), Some(k4)) = (cm4_bytes.as_deref(), key4) {
            let t4 = utf8(b4, &cm4_path)?;
            let d4 = match derive_cm4(&d7, cm7_text, t4, &cm4_path, &user) {
                Some(r) => r?,
                None => build_view(t4, &cm4_path, &user)?,
            };
            if let Some(dir) = &cache_dir {
                cache::write(dir, k4, &d4, Some((key7, &d7)));
            }
            cm4 = Some(d4);
        }
        cm7 = Some(d7);
    }
    // Built or read from the cache above; the error arm only keeps this panic-free.
    let Some(cm7) = cm7.map(Arc::new) else {
        return Err(SvdError::Malformed {
            path: cm7_path,
            line: None,
            message: "internal error: no device view".into(),
        });
    };
    let cm4 = match cm4 {
        Some(d) if !same => Arc::new(d),
        _ => cm7.clone(),
    };

    let n = cm7.patches.len();
    let cm4_note = if same {
        String::new()
    } else {
        format!(
            ", CM4: {}",
            cm4_path.file_name().map_or_else(
                || cm4_path.display().to_string(),
                |f| f.to_string_lossy().into_owned()
            )
        )
    };
    let source_line = format!(
        "SVD: {}{cm4_note} (+{n} patch{}, {}, {})",
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
        let Some(dir) = testing::st_svd_dir_or_skip("parallel_parse_matches_sequential") else {
            return;
        };
        let path = dir.join("STM32H747_CM4.svd");
        let text = std::fs::read_to_string(&path).unwrap();
        let (par, ours) = parse_parallel(&text, &path)
            .expect("ST file splits")
            .unwrap();
        assert!(ours.is_some());
        let mut seq = parse_svd(&text, &path).unwrap();
        patch::apply(&mut seq, &patch::dualcore_patch().unwrap()).unwrap();
        let names = |d: &svd_rs::Device| {
            d.peripherals
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&par), names(&seq));
        assert_eq!(par.cpu, seq.cpu);
        assert_eq!(par.name, seq.name);
        let flat = |mut d: svd_rs::Device| {
            svd_parser::expand_properties(&mut d);
            flatten::flatten(&d).unwrap()
        };
        assert!(flat(par) == flat(seq));
    }

    /// The CM4 view derived from the CM7 one must equal the fully built CM4 view.
    #[test]
    fn derived_cm4_matches_full_build() {
        let Some(dir) = testing::st_svd_dir_or_skip("derived_cm4_matches_full_build") else {
            return;
        };
        let (p7, p4) = (dir.join("STM32H755_CM7.svd"), dir.join("STM32H755_CM4.svd"));
        let t7 = std::fs::read_to_string(&p7).unwrap();
        let t4 = std::fs::read_to_string(&p4).unwrap();
        let d7 = build_view(&t7, &p7, &[]).unwrap();
        let derived = derive_cm4(&d7, &t7, &t4, &p4, &[])
            .expect("applies")
            .unwrap();
        let full = build_view(&t4, &p4, &[]).unwrap();
        assert_eq!(derived.name, full.name);
        assert_eq!(derived.cpu.as_deref(), Some("CM4"));
        assert_eq!(derived.cpu, full.cpu);
        assert_eq!(derived.patches, full.patches);
        assert!(derived.peripherals == full.peripherals);
        // And the two views really differ somewhere (RAMECC2), shared elsewhere.
        assert!(d7.peripherals != full.peripherals);
        let shared = derived
            .peripherals
            .iter()
            .zip(&d7.peripherals)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert!(shared * 10 >= d7.peripherals.len() * 8, "{shared} shared");
    }

    #[test]
    fn builtin_loads() {
        let v = load_builtin();
        assert!(v.cm7.peripherals.len() >= 100);
        assert!(v.cm7.resolve("GPIOA_MODER").is_ok());
        assert!(v.cm7.resolve("FLASH.OPTSR_CUR.BCM4").is_ok());
        assert!(v.cm7.resolve("DCB.DHCSR.S_RESET_ST").is_ok());
    }
}
