//! Which SVD to use when the user gave none. Order (first hit wins):
//! `$H7SH_SVD`, the config file's `svd = "PATH"`, the data dir's `svd/` folder, the install
//! folders of STM32CubeIDE / STM32CubeProgrammer / Keil STM32H7xx_DFP (a fixed, bounded list
//! of patterns, see `docs/svd.md`), and finally the built-in register set.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::error::SvdError;
use super::LoadOptions;

/// Where the SVD in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvdOrigin {
    /// `--svd FILE` ([`LoadOptions::svd`]).
    Explicit,
    /// The `H7SH_SVD` environment variable.
    Env,
    /// `svd = "PATH"` in the config file.
    Config(PathBuf),
    /// The data directory's `svd/` folder.
    DataDir(PathBuf),
    /// A vendor tool's install folder (label such as "STM32CubeIDE").
    Vendor(&'static str),
    /// No SVD found: the built-in register set (`svd/regset.bin`).
    Builtin,
}

impl SvdOrigin {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Explicit => "given with --svd".into(),
            Self::Env => "from $H7SH_SVD".into(),
            Self::Config(p) => format!("from config {}", p.display()),
            Self::DataDir(p) => format!("found in {}", p.display()),
            Self::Vendor(l) => format!("found in the {l} install"),
            Self::Builtin => "no ST SVD found".into(),
        }
    }
}

/// Result of discovery.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) cm7: Option<PathBuf>,
    pub(crate) cm4: Option<PathBuf>,
    pub(crate) origin: SvdOrigin,
    /// Patches listed in the config file (`svd_patches`).
    pub(crate) config_patches: Vec<PathBuf>,
}

#[derive(Default)]
struct ConfigFile {
    path: PathBuf,
    svd: Option<PathBuf>,
    svd_cm4: Option<PathBuf>,
    patches: Vec<PathBuf>,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "h7sh")
}

pub(crate) fn default_config_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().to_path_buf())
}
pub(crate) fn default_data_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().to_path_buf())
}
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.cache_dir().join("svd"))
}

fn read_config(dir: &Path) -> Result<Option<ConfigFile>, SvdError> {
    let path = dir.join("config.toml");
    let text = match crate::files::read_to_string(&path, crate::files::Kind::Config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SvdError::Io { path, source: e }),
    };
    let err = |message: String| SvdError::Config {
        path: path.clone(),
        message,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.to_string()))?;
    // A key h7sh does not read is an error, not silence: `speed = 4000` would otherwise look
    // honoured.
    if let Some(key) = table
        .keys()
        .find(|k| !["svd", "svd_cm4", "svd_patches"].contains(&k.as_str()))
    {
        let instead = match key.as_str() {
            "speed" => "; the wire speed is `--speed KHZ` on the command line",
            "protocol" => "; the wire protocol is `--protocol swd|jtag` on the command line",
            "probe" => "; the probe is `--probe VID:PID[:SERIAL]` on the command line",
            _ => "",
        };
        return Err(err(format!(
            "unknown key `{key}`: h7sh reads only `svd`, `svd_cm4` and `svd_patches` from its \
             config file{instead}"
        )));
    }
    // Relative paths in the config are relative to the config file's folder.
    let rel = |s: &str| {
        let p = PathBuf::from(s);
        if p.is_absolute() {
            p
        } else {
            dir.join(p)
        }
    };
    let get_path = |k: &str| -> Result<Option<PathBuf>, SvdError> {
        match table.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(rel(s))),
            Some(_) => Err(err(format!("`{k}` must be a string path"))),
        }
    };
    let svd = get_path("svd")?;
    let svd_cm4 = get_path("svd_cm4")?;
    let patches = match table.get("svd_patches") {
        None => Vec::new(),
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(rel)
                    .ok_or_else(|| err("`svd_patches` must be a list of string paths".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(err("`svd_patches` must be a list of string paths".into())),
    };
    Ok(Some(ConfigFile {
        path,
        svd,
        svd_cm4,
        patches,
    }))
}

/// `STM32H7x5_CM7.svd` / `STM32H7x7_CM7.svd`, any case.
fn is_dualcore_cm7_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let b = n.as_bytes();
    n.len() == "STM32H755_CM7.SVD".len()
        && n.starts_with("STM32H7")
        && b[7].is_ascii_digit()
        && matches!(b[8], b'5' | b'7')
        && n.ends_with("_CM7.SVD")
}

/// Newest matching `_CM7.svd` in `dir` (ties: first by name).
fn newest_in(dir: &Path) -> Option<PathBuf> {
    let mut best: Option<(SystemTime, String, PathBuf)> = None;
    for e in fs::read_dir(dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_dualcore_cm7_name(&name) {
            continue;
        }
        let t = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let better = match &best {
            None => true,
            Some((bt, bn, _)) => t > *bt || (t == *bt && name < *bn),
        };
        if better {
            best = Some((t, name, e.path()));
        }
    }
    best.map(|b| b.2)
}

/// Expand a pattern whose components may contain one `*` each, one directory level at a
/// time (bounded: no recursion beyond the pattern's depth, at most 64 matches per level).
fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        let c = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        if let Some((pre, post)) = c.split_once('*') {
            for dir in &current {
                let Ok(rd) = fs::read_dir(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                }) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| {
                        n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post)
                    })
                    .collect();
                // Newest version folders sort last by name: try them first.
                names.sort();
                names.reverse();
                names.truncate(64);
                next.extend(names.into_iter().map(|n| dir.join(n)));
            }
        } else {
            next = current.iter().map(|d| d.join(comp.as_os_str())).collect();
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current
}

/// Vendor install folders holding ST's SVDs, per OS: (label, folder pattern).
pub fn vendor_patterns(home: Option<&Path>) -> Vec<(&'static str, PathBuf)> {
    const IDE_SVD: &str =
        "plugins/com.st.stm32cube.ide.mcu.productdb.debug_*/resources/cmsis/STMicroelectronics_CMSIS_SVD";
    const KEIL: &str = "Keil/STM32H7xx_DFP/*/CMSIS/SVD";
    let mut v: Vec<(&'static str, PathBuf)> = Vec::new();
    let h = |rel: &str| home.map(|h| h.join(rel));
    if cfg!(target_os = "linux") {
        v.push((
            "STM32CubeIDE",
            PathBuf::from("/opt/st/stm32cubeide_*").join(IDE_SVD),
        ));
        if let Some(p) = h("st/stm32cubeide_*") {
            v.push(("STM32CubeIDE", p.join(IDE_SVD)));
        }
        v.push((
            "STM32CubeProgrammer",
            PathBuf::from("/usr/local/STMicroelectronics/STM32Cube/STM32CubeProgrammer/SVD"),
        ));
        if let Some(p) = h("STMicroelectronics/STM32Cube/STM32CubeProgrammer/SVD") {
            v.push(("STM32CubeProgrammer", p));
        }
        if let Some(p) = h(".cache/arm/packs") {
            v.push(("Keil STM32H7xx_DFP pack", p.join(KEIL)));
        }
        if let Some(p) = h(".arm/Packs") {
            v.push(("Keil STM32H7xx_DFP pack", p.join(KEIL)));
        }
    } else if cfg!(target_os = "macos") {
        v.push((
            "STM32CubeIDE",
            PathBuf::from("/Applications/STM32CubeIDE.app/Contents/Eclipse").join(IDE_SVD),
        ));
        v.push((
            "STM32CubeProgrammer",
            PathBuf::from("/Applications/STMicroelectronics/STM32Cube/STM32CubeProgrammer/STM32CubeProgrammer.app/Contents/MacOs/SVD"),
        ));
        if let Some(p) = h("Library/Arm/Packs") {
            v.push(("Keil STM32H7xx_DFP pack", p.join(KEIL)));
        }
        if let Some(p) = h(".cache/arm/packs") {
            v.push(("Keil STM32H7xx_DFP pack", p.join(KEIL)));
        }
    } else if cfg!(windows) {
        v.push((
            "STM32CubeIDE",
            PathBuf::from("C:\\ST\\STM32CubeIDE_*\\STM32CubeIDE").join(IDE_SVD),
        ));
        v.push((
            "STM32CubeProgrammer",
            PathBuf::from(
                "C:\\Program Files\\STMicroelectronics\\STM32Cube\\STM32CubeProgrammer\\SVD",
            ),
        ));
        if let Some(p) = h("AppData\\Local\\Arm\\Packs") {
            v.push(("Keil STM32H7xx_DFP pack", p.join(KEIL)));
        }
        v.push((
            "Keil MDK",
            PathBuf::from("C:\\Keil_v5\\ARM\\PACK").join(KEIL),
        ));
    }
    v
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

/// `X_CM4.svd` beside `X_CM7.svd` (same case style), if it exists.
pub(crate) fn sibling_cm4(cm7: &Path) -> Option<PathBuf> {
    let name = cm7.file_name()?.to_str()?;
    let upper = name.to_ascii_uppercase();
    let i = upper.rfind("_CM7")?;
    // Keep the file's own case for `_CM`/`_cm`; only the digit changes.
    let cm4 = format!("{}4{}", name.get(..i + 3)?, name.get(i + 4..)?);
    let p = cm7.with_file_name(cm4);
    p.is_file().then_some(p)
}

pub(crate) fn choose(opts: &LoadOptions) -> Result<Choice, SvdError> {
    let config_dir = opts.config_dir.clone().or_else(default_config_dir);
    let config = match &config_dir {
        Some(d) => read_config(d)?,
        None => None,
    };
    let config_patches = config
        .as_ref()
        .map(|c| c.patches.clone())
        .unwrap_or_default();
    let pick = |cm7: PathBuf, cm4: Option<PathBuf>, origin: SvdOrigin| Choice {
        cm4: cm4.or_else(|| sibling_cm4(&cm7)),
        cm7: Some(cm7),
        origin,
        config_patches: Vec::new(),
    };
    let mut choice = if let Some(p) = &opts.svd {
        pick(p.clone(), opts.svd_cm4.clone(), SvdOrigin::Explicit)
    } else if let Some(p) = opts
        .use_env
        .then(|| std::env::var_os("H7SH_SVD"))
        .flatten()
        .filter(|v| !v.is_empty())
    {
        pick(PathBuf::from(p), opts.svd_cm4.clone(), SvdOrigin::Env)
    } else if let Some(c) = config.as_ref().filter(|c| c.svd.is_some()) {
        let cm4 = opts.svd_cm4.clone().or_else(|| c.svd_cm4.clone());
        pick(
            c.svd.clone().unwrap_or_default(),
            cm4,
            SvdOrigin::Config(c.path.clone()),
        )
    } else if let Some((dir, p)) = opts
        .data_dir
        .clone()
        .or_else(default_data_dir)
        .map(|d| d.join("svd"))
        .and_then(|d| newest_in(&d).map(|p| (d, p)))
    {
        pick(p, opts.svd_cm4.clone(), SvdOrigin::DataDir(dir))
    } else if let Some((label, p)) = opts
        .search_vendor_dirs
        .then(|| {
            let home = home_dir();
            vendor_patterns(home.as_deref())
                .into_iter()
                .find_map(|(label, pat)| {
                    expand_glob(&pat)
                        .iter()
                        .find_map(|d| newest_in(d))
                        .map(|p| (label, p))
                })
        })
        .flatten()
    {
        pick(p, opts.svd_cm4.clone(), SvdOrigin::Vendor(label))
    } else {
        Choice {
            cm7: None,
            cm4: None,
            origin: SvdOrigin::Builtin,
            config_patches: Vec::new(),
        }
    };
    choice.config_patches = config_patches;
    Ok(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dualcore_cm7_name("STM32H755_CM7.svd"));
        assert!(is_dualcore_cm7_name("stm32h747_cm7.SVD"));
        assert!(!is_dualcore_cm7_name("STM32H743.svd"));
        assert!(!is_dualcore_cm7_name("STM32H755_CM4.svd"));
    }

    #[test]
    fn sibling() {
        let d = tempfile::tempdir().unwrap();
        let cm7 = d.path().join("STM32H755_CM7.svd");
        assert_eq!(sibling_cm4(&cm7), None);
        fs::write(d.path().join("STM32H755_CM4.svd"), "x").unwrap();
        assert_eq!(sibling_cm4(&cm7), Some(d.path().join("STM32H755_CM4.svd")));
    }

    #[test]
    fn globs_are_bounded_and_tolerate_missing_dirs() {
        let d = tempfile::tempdir().unwrap();
        for v in ["1.0", "2.0"] {
            fs::create_dir_all(
                d.path()
                    .join("Keil/STM32H7xx_DFP")
                    .join(v)
                    .join("CMSIS/SVD"),
            )
            .unwrap();
        }
        let found = expand_glob(&d.path().join("Keil/STM32H7xx_DFP/*/CMSIS/SVD"));
        assert_eq!(found.len(), 2);
        assert!(found[0].to_string_lossy().contains("2.0"));
        assert!(expand_glob(Path::new("/nonexistent/*/x")).is_empty());
    }
}
