//! `import` for scripts: only other `.rhai` files inside the importing script's own folder,
//! read through the bounded file reader, with import cycles and deep chains refused (each
//! nested import evaluates on the stack: a script importing itself used to overflow it).

use super::api::Failure;
use crate::files::{self, Kind};
use rhai::{Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Deepest chain of imports (a script importing one that imports another...).
pub const MAX_IMPORT_DEPTH: usize = 32;

/// A file resolver rooted at the script's folder that refuses every path leaving it.
pub struct Sandboxed {
    root: Option<PathBuf>,
    state: Mutex<ImportState>,
}

#[derive(Default)]
struct ImportState {
    /// Files being imported, outermost first (a file found here again is a cycle).
    loading: Vec<PathBuf>,
    /// Modules already evaluated (a module imported twice is evaluated once, as Rhai's own
    /// file resolver does).
    done: HashMap<PathBuf, Shared<Module>>,
}

impl Sandboxed {
    /// `root`: the running script's folder; `None` (for `eval`) refuses every import.
    /// `script`: the running script's file (canonical), the first link of any import cycle.
    pub fn new(root: Option<PathBuf>, script: Option<PathBuf>) -> Sandboxed {
        Sandboxed {
            root,
            state: Mutex::new(ImportState {
                loading: script.into_iter().collect(),
                done: HashMap::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ImportState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn refuse(message: String, pos: Position) -> Box<EvalAltResult> {
    fail(
        message,
        "scripts can import other scripts from their own folder only (a relative path \
         without `..`); they cannot read other files",
        "sandbox",
        pos,
    )
}

fn fail(message: String, hint: &str, kind: &'static str, pos: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(
        Dynamic::from(Failure {
            message,
            hint: hint.into(),
            kind,
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
        let Some(root) = &self.root else {
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
        {
            let mut st = self.state();
            if let Some(m) = st.done.get(&file) {
                return Ok(m.clone());
            }
            if let Some(at) = st.loading.iter().position(|f| *f == file) {
                let chain: Vec<String> = st.loading[at..]
                    .iter()
                    .chain([&file])
                    .map(|f| {
                        f.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect();
                return Err(fail(
                    format!("import cycle: {}", chain.join(" -> ")),
                    "a script cannot import itself, directly or through others: move what \
                     both need into a third file",
                    "script-import",
                    pos,
                ));
            }
            if st.loading.len() > MAX_IMPORT_DEPTH {
                return Err(fail(
                    format!("imports are nested more than {MAX_IMPORT_DEPTH} deep"),
                    "flatten the chain of imports",
                    "script-import",
                    pos,
                ));
            }
            st.loading.push(file.clone());
        }
        let result = self.load(engine, path, &file, pos);
        let mut st = self.state();
        st.loading.pop();
        if let Ok(m) = &result {
            st.done.insert(file, m.clone());
        }
        result
    }
}

impl Sandboxed {
    fn load(
        &self,
        engine: &Engine,
        path: &str,
        file: &Path,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let in_module = |e: Box<EvalAltResult>| -> Box<EvalAltResult> {
            EvalAltResult::ErrorInModule(path.to_string(), e, pos).into()
        };
        let text = files::read_to_string(file, Kind::Script).map_err(|e| {
            fail(
                format!("cannot import `{path}`: {e}"),
                "import .rhai scripts from the script's own folder",
                "script-import",
                pos,
            )
        })?;
        let mut ast = engine.compile(&text).map_err(|e| in_module(e.into()))?;
        ast.set_source(path);
        Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map(Shared::new)
            .map_err(in_module)
    }
}
