//! Scripting with Rhai: `h7sh FILE.rhai [ARGS]`, `run FILE [ARGS]`, `eval EXPR`, and the
//! recordings `record FILE` writes.
//!
//! A script is a thin layer over the session: every API function (`api.rs`) is one
//! `Session::execute` (or `Session::read_value`) call, so a script does what the same commands
//! do in the REPL. Sandbox: Rhai's engine has no file, network or process access; the only file
//! a script can reach is another script in its own folder through `import` (`resolver.rs`);
//! operations, call depth, string and array sizes are limited ([`Limits`]); Ctrl-C and
//! `--timeout` stop a script between two operations, so never inside a shell command (a field
//! write is one command: its read-modify-write is never left half done).

pub mod api;
mod bind;
pub mod convert;
pub mod record;
mod resolver;

use crate::session::{Session, ShellError};
use api::Failure;
use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Resource limits of a script (command-line flags `--max-operations`, `--max-call-depth`,
/// `--max-string-size`, `--max-array-size`, `--timeout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations (0 = unlimited).
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Elements in one array or map.
    pub max_array_size: usize,
    /// Wall-clock time of one script run.
    pub timeout: Option<Duration>,
    /// Heap bytes a script run may add to what the shell held when it started (0 = no limit).
    pub max_memory: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_operations: DEFAULT_MAX_OPERATIONS,
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            max_string_size: DEFAULT_MAX_STRING_SIZE,
            max_array_size: DEFAULT_MAX_ARRAY_SIZE,
            timeout: None,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

/// Default of `--max-operations`: some seconds of pure computation.
pub const DEFAULT_MAX_OPERATIONS: u64 = 100_000_000;
/// Default of `--max-call-depth`.
pub const DEFAULT_MAX_CALL_DEPTH: usize = 128;
/// Highest `--max-call-depth` accepted (the script thread's stack is sized for it).
pub const MAX_CALL_DEPTH_CEILING: usize = 2_000;
/// Default of `--max-string-size` (16 MiB).
pub const DEFAULT_MAX_STRING_SIZE: usize = 16 << 20;
/// Default of `--max-array-size`. Rhai re-measures an array after each push, so a runaway
/// push loop costs O(n²): keep the default where that stays in seconds.
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1 << 16;
/// Default of `--max-memory` (1 GiB). The bound it gives: the heap a script adds is checked
/// before every operation, and one operation allocates at most one string of
/// `--max-string-size` or one array/map of `--max-array-size` elements, so the total stays
/// below this plus one such object.
pub const DEFAULT_MAX_MEMORY: usize = 1 << 30;
/// Heap held when the outermost running script started (nested `run`s count from it too).
static MEMORY_BASELINE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Nested `run` levels (a script running a script...).
pub const MAX_RUN_NESTING: u32 = 8;
/// Stack of the thread that evaluates a script (deep recursion must hit the call-depth limit,
/// never the end of the stack).
const SCRIPT_STACK: usize = 512 << 20;

/// The file a path names inside a script's folder (no absolute paths, no `..`, no symlink
/// out), for `run` inside a script: a `.rhai` script only, since a script's value is handed
/// back to the script that ran it (any other file would be read out through it).
pub fn confine(root: &Path, file: &str) -> Result<PathBuf, String> {
    if Path::new(file).extension().is_none_or(|e| e != "rhai") {
        return Err(format!("`{file}` is not a .rhai script"));
    }
    let path = resolver::confine(root, file, "")?;
    // The name checked above may be a symlink to another kind of file.
    if path.extension().is_none_or(|e| e != "rhai") {
        return Err(format!(
            "`{file}` leads to a file that is not a .rhai script"
        ));
    }
    Ok(path)
}

/// Writes script output (print, shell()) to stdout at once.
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Makes Ctrl-C set `flag` (once per process; the REPL installs the same kind of handler on the
/// same session flag, whichever comes first wins and both do the same thing).
pub fn install_ctrlc(flag: Arc<AtomicBool>) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    });
}

/// The limits the command-line flags ask for.
pub fn limits_from(cli: &crate::cli::Cli) -> Limits {
    Limits {
        max_operations: cli.max_operations,
        max_call_depth: (cli.max_call_depth as usize).min(MAX_CALL_DEPTH_CEILING),
        max_string_size: cli.max_string_size,
        max_array_size: cli.max_array_size,
        max_memory: cli.max_memory,
        timeout: cli
            .timeout
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| Duration::from_secs_f64(t.min(1e9))),
    }
}

/// `h7sh FILE.rhai ARGS...` from the command line.
pub fn run_cli(session: &mut Session, script: &[String]) -> Result<(), ShellError> {
    let Some((file, args)) = script.split_first() else {
        return Ok(());
    };
    install_ctrlc(session.interrupt_flag());
    run_file(session, Path::new(file), args).map(|_| ())
}

/// Runs a script file with its arguments; returns its final value as JSON.
pub fn run_file(
    session: &mut Session,
    path: &Path,
    args: &[String],
) -> Result<serde_json::Value, ShellError> {
    let display = path.display().to_string();
    let source = crate::files::read_to_string(path, crate::files::Kind::Script).map_err(|e| {
        ShellError::Io {
            message: format!("cannot read script {display}: {e}"),
            hint: "give the path of a .rhai file".into(),
        }
    })?;
    let root = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    evaluate(
        session,
        &source,
        &display,
        Some(root),
        path.canonicalize().ok(),
        args,
    )
}

/// `eval EXPR`: one expression (or a few statements) against the session.
pub fn eval(session: &mut Session, expr: &str) -> Result<serde_json::Value, ShellError> {
    evaluate(session, expr, "eval", None, None, &[])
}

fn evaluate(
    session: &mut Session,
    source: &str,
    name: &str,
    root: Option<PathBuf>,
    file: Option<PathBuf>,
    args: &[String],
) -> Result<serde_json::Value, ShellError> {
    if session.script_depth() >= MAX_RUN_NESTING {
        return Err(ShellError::refused(
            format!("scripts are nested {MAX_RUN_NESTING} deep"),
            "a script runs another one through `run` at most this deep; use import for libraries",
        ));
    }
    let limits = session.script_limits().clone();
    let json = session.options.json;
    let interrupt = session.interrupt_flag();
    // Only the outermost script forgets an earlier Ctrl-C: a nested `run` must not swallow one.
    let outermost = session.script_depth() == 0;
    if outermost {
        interrupt.store(false, Ordering::SeqCst);
        MEMORY_BASELINE.store(crate::memory::live_bytes(), Ordering::SeqCst);
    }
    let argv: rhai::Array = args.iter().map(|a| Dynamic::from(a.clone())).collect();
    let engine = build_engine(
        &limits,
        root.clone(),
        file,
        interrupt.clone(),
        json,
        argv.clone(),
    );
    let mut ast = engine
        .compile(source)
        .map_err(|e| to_shell_error(EvalAltResult::from(e), name, &limits))?;
    ast.set_source(name);

    session.script_enter(root);
    // The outermost script's deadline also stops a long shell call (a wait, a sleep): those
    // check the interrupt flag between their steps, as they do for Ctrl-C.
    let watchdog = match limits.timeout {
        Some(t) if outermost => Some(Watchdog::start(t, interrupt.clone())),
        _ => None,
    };
    let result = {
        let run = |s: &mut Session| -> Result<serde_json::Value, Box<EvalAltResult>> {
            let _bound = bind::bind(s);
            let mut scope = Scope::new();
            scope.push_constant("args", argv);
            let v = engine.eval_ast_with_scope::<Dynamic>(&mut scope, &ast)?;
            Ok(convert::dynamic_to_json(&v))
        };
        std::thread::scope(|sc| {
            let spawned = std::thread::Builder::new()
                .name("h7sh-script".into())
                .stack_size(SCRIPT_STACK)
                .spawn_scoped(sc, || run(&mut *session));
            match spawned {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(EvalAltResult::ErrorRuntime(
                        Dynamic::from(Failure {
                            message: "the script engine failed (internal error)".into(),
                            hint: "please report it with the script".into(),
                            kind: "internal",
                        }),
                        Position::NONE,
                    )
                    .into())
                }),
                Err(_) => Err(EvalAltResult::ErrorRuntime(
                    Dynamic::from(Failure {
                        message: "cannot start the script thread".into(),
                        hint: "the system is out of threads or memory".into(),
                        kind: "io",
                    }),
                    Position::NONE,
                )
                .into()),
            }
        })
    };
    session.script_leave();
    let timed_out = watchdog.is_some_and(Watchdog::stop);
    if outermost {
        interrupt.store(false, Ordering::SeqCst);
    }
    result.map_err(|e| {
        let e = if timed_out {
            // Stopped by the deadline inside a shell call: say so, not "Ctrl-C".
            EvalAltResult::ErrorTerminated(Dynamic::from("timeout".to_string()), e.position())
        } else {
            *e
        };
        to_shell_error(e, name, &limits)
    })
}

/// Sets the interrupt flag once a script's time is up, and again every few milliseconds
/// after (a shell call that saw it clears it; a script that catches that error must still
/// stop).
struct Watchdog {
    stop: std::sync::mpsc::Sender<()>,
    fired: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Watchdog {
    fn start(timeout: Duration, interrupt: Arc<AtomicBool>) -> Watchdog {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let flag = fired.clone();
        let thread = std::thread::spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            let mut wait = timeout;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                flag.store(true, Ordering::SeqCst);
                interrupt.store(true, Ordering::SeqCst);
                wait = Duration::from_millis(20);
            }
        });
        Watchdog {
            stop,
            fired,
            thread,
        }
    }

    /// Stops the watchdog; whether the deadline passed.
    fn stop(self) -> bool {
        drop(self.stop);
        let _ = self.thread.join();
        self.fired.load(Ordering::SeqCst)
    }
}

fn build_engine(
    limits: &Limits,
    root: Option<PathBuf>,
    file: Option<PathBuf>,
    interrupt: Arc<AtomicBool>,
    json: bool,
    args: rhai::Array,
) -> Engine {
    let mut e = Engine::new();
    e.set_max_operations(limits.max_operations);
    e.set_max_call_levels(limits.max_call_depth.min(MAX_CALL_DEPTH_CEILING));
    e.set_max_string_size(limits.max_string_size);
    e.set_max_array_size(limits.max_array_size);
    e.set_max_map_size(limits.max_array_size);
    e.set_module_resolver(resolver::Sandboxed::new(root, file));
    let deadline = limits.timeout.map(|t| Instant::now() + t);
    let max_memory = limits.max_memory;
    e.on_progress(move |ops| {
        if interrupt.load(Ordering::SeqCst) {
            return Some(Dynamic::from("interrupted".to_string()));
        }
        if max_memory > 0
            && crate::memory::live_bytes()
                > MEMORY_BASELINE
                    .load(Ordering::Relaxed)
                    .saturating_add(max_memory)
        {
            return Some(Dynamic::from("memory".to_string()));
        }
        if let Some(d) = deadline {
            if ops & 0xFF == 0 && Instant::now() >= d {
                return Some(Dynamic::from("timeout".to_string()));
            }
        }
        None
    });
    e.on_print(move |s| {
        if json {
            out(&format!(
                "{}\n",
                serde_json::json!({ "type": "print", "text": s })
            ));
        } else {
            out(&format!("{s}\n"));
        }
    });
    e.on_debug(|s, src, pos| {
        eprintln!("{}: {s}", location(src.unwrap_or("script"), pos));
    });
    api::register(&mut e, args);
    e
}

fn location(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        (Some(l), None) => format!("{file}:{l}"),
        _ => file.to_string(),
    }
}

/// What a script stopped by Ctrl-C left behind.
const INTERRUPTED_HINT: &str = "the script stopped between two operations: each shell command \
    it ran either completed or wrote nothing (no half-done read-modify-write)";

/// A script error as a shell error whose message starts with `file:line:col:`.
pub fn to_shell_error(err: EvalAltResult, file: &str, limits: &Limits) -> ShellError {
    let mut file = file.to_string();
    let mut err = err;
    // The innermost error is the one to show; keep the file it happened in.
    loop {
        match err {
            EvalAltResult::ErrorInModule(name, inner, _) => {
                file = name;
                err = *inner;
            }
            EvalAltResult::ErrorInFunctionCall(_, src, inner, _) => {
                if !src.is_empty() {
                    file = src;
                }
                err = *inner;
            }
            _ => break,
        }
    }
    let pos = err.take_position();
    let at = location(&file, pos);
    let (message, hint, kind): (String, String, &'static str) = match err {
        EvalAltResult::ErrorRuntime(d, _) if d.is::<Failure>() => {
            let f = d.cast::<Failure>();
            if f.kind == "interrupted" {
                // Ctrl-C seen by a shell command (between two of its accesses).
                (
                    "interrupted (Ctrl-C)".into(),
                    INTERRUPTED_HINT.into(),
                    f.kind,
                )
            } else {
                (f.message, f.hint, f.kind)
            }
        }
        EvalAltResult::ErrorRuntime(d, _) => (
            d.to_string(),
            "the script threw this value itself (`throw`); catch it with try/catch, or use \
             fail(msg, hint) to stop with a hint"
                .into(),
            "script-failed",
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == "timeout" => (
            format!(
                "the script ran longer than --timeout {} s",
                limits.timeout.map(|t| t.as_secs_f64()).unwrap_or(0.0)
            ),
            "it stopped between two operations: every shell command it ran is complete \
             (no half-done read-modify-write); raise --timeout if it needs longer"
                .into(),
            "timeout",
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == "memory" => (
            format!(
                "the script's values grew past its memory limit of {} MiB",
                limits.max_memory >> 20
            ),
            "keep fewer or smaller values alive (strings, arrays, maps), or raise the limit \
             with --max-memory BYTES (0 = none)"
                .into(),
            "limit",
        ),
        EvalAltResult::ErrorTerminated(..) => (
            "interrupted (Ctrl-C)".into(),
            INTERRUPTED_HINT.into(),
            "interrupted",
        ),
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!(
                "the script exceeded its limit of {} operations (endless loop?)",
                limits.max_operations
            ),
            "raise the limit with --max-operations N (0 = none), or bound the loop".into(),
            "limit",
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            format!(
                "the script exceeded its call depth of {} (endless recursion?)",
                limits.max_call_depth.min(MAX_CALL_DEPTH_CEILING)
            ),
            format!("raise the limit with --max-call-depth N (at most {MAX_CALL_DEPTH_CEILING})"),
            "limit",
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            format!("{what} exceeds the script's limit"),
            format!(
                "strings are limited to {} bytes (--max-string-size), arrays and maps to {} \
                 elements (--max-array-size)",
                limits.max_string_size, limits.max_array_size
            ),
            "limit",
        ),
        EvalAltResult::ErrorParsing(p, _) => (
            format!("syntax error: {p}"),
            "see https://rhai.rs/book/ for the language; the shell functions are in \
             docs/scripting.md"
                .into(),
            "script-syntax",
        ),
        EvalAltResult::ErrorModuleNotFound(m, _) => (
            format!("module `{m}` not found"),
            "import takes a path relative to the script's own folder, without `..`, e.g. \
             import \"lib/common\" as common;"
                .into(),
            "script-import",
        ),
        EvalAltResult::ErrorFunctionNotFound(f, _) => (
            format!("unknown function {f}"),
            "the shell functions and their arguments are listed in docs/scripting.md".into(),
            "script",
        ),
        EvalAltResult::ErrorVariableNotFound(v, _) => (
            format!("variable `{v}` not found"),
            "declare it with `let` first; register and field names are strings in scripts: \
             read(\"RCC_CR\"), not read(RCC_CR)"
                .into(),
            "script",
        ),
        other => (
            other.to_string(),
            "the script's line and column are above; the language is described at \
             https://rhai.rs/book/ and the shell functions in docs/scripting.md"
                .into(),
            "script",
        ),
    };
    ShellError::Script {
        message: format!("{at}: {message}"),
        hint,
        kind,
    }
}
