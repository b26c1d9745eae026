//! `import` for scripts: only other `.rhai` files inside the importing script's own folder.

use super::api::Failure;
use rhai::module_resolvers::FileModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};
use std::path::{Component, Path, PathBuf};

/// A file resolver rooted at the script's folder that refuses every path leaving it.
pub struct Sandboxed {
    root: Option<PathBuf>,
    inner: Option<FileModuleResolver>,
}

impl Sandboxed {
    /// `root`: the running script's folder; `None` (for `eval`) refuses every import.
    pub fn new(root: Option<PathBuf>) -> Sandboxed {
        let inner = root.clone().map(FileModuleResolver::new_with_path);
        Sandboxed { root, inner }
    }
}

fn refuse(message: String, pos: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(
        Dynamic::from(Failure {
            message,
            hint: "scripts can import other scripts from their own folder only (a relative path \
                   without `..`); they cannot read other files"
                .into(),
            kind: "sandbox",
        }),
        pos,
    )
    .into()
}

/// The file an import path names inside `root`, or why it is refused.
pub fn confine(root: &Path, path: &str, extension: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if path.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("`{path}` is outside the script's folder"));
    }
    let mut full = root.join(p);
    if full.extension().is_none() && !extension.is_empty() {
        full.set_extension(extension);
    }
    let canon_root = root
        .canonicalize()
        .map_err(|e| format!("cannot open the script's folder: {e}"))?;
    let canon = full
        .canonicalize()
        .map_err(|_| format!("`{path}` not found in {}", root.display()))?;
    if !canon.starts_with(&canon_root) {
        return Err(format!("`{path}` leads outside the script's folder"));
    }
    Ok(canon)
}

impl ModuleResolver for Sandboxed {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let (Some(root), Some(inner)) = (&self.root, &self.inner) else {
            return Err(refuse(
                format!("`import \"{path}\"`: this code has no folder to import from"),
                pos,
            ));
        };
        if Path::new(path).extension().is_some_and(|e| e != "rhai") {
            return Err(refuse(format!("`{path}` is not a .rhai script"), pos));
        }
        let file = confine(root, path, "rhai").map_err(|m| {
            if m.contains("not found") {
                EvalAltResult::ErrorModuleNotFound(path.to_string(), pos).into()
            } else {
                refuse(m, pos)
            }
        })?;
        inner.resolve(engine, None, &file.to_string_lossy(), pos)
    }
}
