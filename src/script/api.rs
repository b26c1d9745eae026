//! The script API: every function is registered here, in one place, and each one is one
//! session call (`Session::execute` with a `lang::Command`, or `Session::read_value`), so a
//! script does exactly what the same commands typed in the REPL do.
//!
//! Adding a function for a new shell command (`ob()`, `doctor()`, `snap()`...): build the
//! `Command`, call [`exec`], convert the outcome with [`outcome_value`] or by hand, and add one
//! line to the table in `docs/scripting.md`.

use super::bind;
use super::convert::{
    address_of, count_of, json_to_dynamic, outcome_to_dynamic, target_of, value_of,
};
use crate::lang::{self, AccessSize, Command, CoreName, SimCommand, Target, WaitOp};
use crate::render::{self, Style};
use crate::session::{Outcome, Session, ShellError};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position, INT};
use std::sync::atomic::Ordering;

/// A shell error travelling through Rhai (`EvalAltResult::ErrorRuntime` carries it).
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub hint: String,
    pub kind: &'static str,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type R<T> = Result<T, Box<EvalAltResult>>;

fn raise(message: String, hint: String, kind: &'static str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(
        Dynamic::from(Failure {
            message,
            hint,
            kind,
        }),
        Position::NONE,
    )
    .into()
}

/// A shell error as a script error.
pub fn shell_failure(e: ShellError) -> Box<EvalAltResult> {
    raise(e.to_string(), e.hint(), e.kind())
}

/// Runs `f` on the bound session, turning its error into a script error.
pub fn with_session<T>(f: impl FnOnce(&mut Session) -> Result<T, ShellError>) -> R<T> {
    match bind::with(f) {
        Ok(r) => r.map_err(shell_failure),
        Err(bind::NotBound) => Err(raise(
            "no shell session is bound to this script".into(),
            "shell functions run inside `h7sh FILE.rhai`, `run FILE` or `eval EXPR`".into(),
            "script",
        )),
    }
}

/// Runs one command through `Session::execute`.
pub fn exec(cmd: Command) -> R<Outcome> {
    with_session(|s| s.execute(&cmd))
}

/// An outcome as the map `sh()` returns (JSON form plus `text`).
pub fn outcome_value(o: &Outcome, json: bool) -> Dynamic {
    let text = if json {
        format!("{}\n", render::json(o))
    } else {
        render::text(o, &Style::PLAIN)
    };
    outcome_to_dynamic(o, text)
}

fn bad(message: impl Into<String>, hint: impl Into<String>) -> Box<EvalAltResult> {
    shell_failure(ShellError::bad_value(message, hint))
}

fn int(v: u64) -> INT {
    v as INT
}

/// Commands a script may not run through `sh()`: they end the shell or write files.
fn check_script_command(cmd: &Command) -> Result<(), ShellError> {
    match cmd {
        Command::Quit => Err(ShellError::refused(
            "`quit` cannot be used in a script",
            "end the script with `return`, or stop it with fail(\"why\")",
        )),
        Command::Report(Some(file)) => Err(ShellError::refused(
            format!("scripts cannot write files (report {file})"),
            "run `report` without a file to get the report as a value",
        )),
        _ => Ok(()),
    }
}

/// `sh(line)` and `shell(line)`: any shell command(s); one result map, or an array for several.
fn sh(line: &str, print: bool) -> R<Dynamic> {
    let cmds = lang::parse(line).map_err(|e| shell_failure(e.into()))?;
    with_session(|s| {
        let mut results = Vec::with_capacity(cmds.len());
        for cmd in &cmds {
            check_script_command(cmd)?;
            let o = s.execute(cmd)?;
            let d = outcome_value(&o, s.options.json);
            if print {
                if let Some(t) = d.read_lock::<Map>().and_then(|m| m.get("text").cloned()) {
                    super::out(&t.to_string());
                }
            }
            results.push(d);
        }
        Ok(if results.len() == 1 {
            results.pop().unwrap_or(Dynamic::UNIT)
        } else {
            Dynamic::from_array(results)
        })
    })
}

/// Targets parsed from strings, by their text (scripts read the same names in loops).
const TARGET_CACHE_SIZE: usize = 256;

thread_local! {
    static TARGETS: std::cell::RefCell<std::collections::HashMap<String, Target>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn parsed_target(text: &str) -> Result<Target, ShellError> {
    if let Some(t) = TARGETS.with(|c| c.borrow().get(text).cloned()) {
        return Ok(t);
    }
    let t = lang::parse_target(text.trim())?;
    TARGETS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= TARGET_CACHE_SIZE {
            c.clear();
        }
        c.insert(text.to_string(), t.clone());
    });
    Ok(t)
}

fn read_name(target: &str) -> R<INT> {
    let t = parsed_target(target).map_err(shell_failure)?;
    with_session(|s| s.read_value(&t)).map(|(_, v)| int(v))
}

fn read_address(addr: INT) -> R<INT> {
    let t = target_of(&Dynamic::from_int(addr)).map_err(shell_failure)?;
    with_session(|s| s.read_value(&t)).map(|(_, v)| int(v))
}

fn fields(name: &str) -> R<Map> {
    let o = exec(Command::Read {
        target: Target::Name(name.to_string()),
        count: None,
    })?;
    match o {
        Outcome::Register(r) => Ok(r
            .fields
            .iter()
            .map(|f| {
                let short = f.name.rsplit('.').next().unwrap_or(&f.name);
                (short.into(), Dynamic::from_int(int(f.value)))
            })
            .collect()),
        _ => Err(bad(
            format!("`{name}` is not a register"),
            "fields() takes a register (read a field with read())",
        )),
    }
}

fn write(target: Dynamic, value: Dynamic) -> R<()> {
    let target = target_of(&target).map_err(shell_failure)?;
    let value = value_of(&value).map_err(shell_failure)?;
    exec(Command::Write { target, value }).map(|_| ())
}

fn write_fields(register: &str, fields: Map) -> R<()> {
    if fields.is_empty() {
        return Err(bad(
            "no fields given",
            "e.g. write_fields(\"RCC.GCR\", #{BOOT_C2: 1})",
        ));
    }
    let mut list = Vec::with_capacity(fields.len());
    for (k, v) in &fields {
        list.push((k.to_string(), value_of(v).map_err(shell_failure)?));
    }
    exec(Command::WriteFields {
        register: register.to_string(),
        fields: list,
    })
    .map(|_| ())
}

fn mem(addr: INT, count: INT, size: AccessSize) -> R<Array> {
    let target = address_of(addr, size).map_err(shell_failure)?;
    let count = count_of(count, "count").map_err(shell_failure)?;
    match exec(Command::Read {
        target,
        count: Some(count),
    })? {
        Outcome::Memory { values, .. } => Ok(values
            .into_iter()
            .map(|v| Dynamic::from_int(INT::from(v)))
            .collect()),
        _ => Ok(Array::new()),
    }
}

fn write_mem(addr: INT, value: INT, size: AccessSize) -> R<()> {
    let target = address_of(addr, size).map_err(shell_failure)?;
    let value = value_of(&Dynamic::from_int(value)).map_err(shell_failure)?;
    exec(Command::Write { target, value }).map(|_| ())
}

fn core_state(cmd: Command) -> R<Map> {
    let o = exec(cmd)?;
    let json = serde_json::to_value(&o).unwrap_or_default();
    let status = json.get("status").cloned().unwrap_or_default();
    Ok(json_to_dynamic(&status)
        .try_cast::<Map>()
        .unwrap_or_default())
}

fn reset(kind: &str) -> R<Map> {
    let line = format!("reset {kind}");
    let cmds = lang::parse(&line).map_err(|e| shell_failure(e.into()))?;
    let [cmd @ Command::Reset { .. }] = cmds.as_slice() else {
        return Err(bad(
            format!("`{kind}` is not a kind of reset"),
            "reset(), reset(\"system\"), reset(\"core\"), reset(\"system halt\"), reset(\"core halt\")",
        ));
    };
    let o = exec(cmd.clone())?;
    let json = serde_json::to_value(&o).unwrap_or_default();
    Ok(json_to_dynamic(&json).try_cast::<Map>().unwrap_or_default())
}

/// `status()`: `#{cm7: #{state, dhcsr, ...}, cm4: #{...}}`; an unreachable core has
/// `state: "unreachable"`, `error` and `hint`.
fn status() -> R<Map> {
    let Outcome::Status { cores } = exec(Command::Status)? else {
        return Ok(Map::new());
    };
    let mut out = Map::new();
    for c in cores {
        let mut m = match &c.status {
            Some(s) => json_to_dynamic(&serde_json::to_value(s).unwrap_or_default())
                .try_cast::<Map>()
                .unwrap_or_default(),
            None => {
                let mut m = Map::new();
                m.insert("state".into(), Dynamic::from("unreachable".to_string()));
                m
            }
        };
        m.insert("core".into(), Dynamic::from(c.core.to_string()));
        m.insert("ap".into(), Dynamic::from_int(INT::from(c.ap)));
        m.insert("reachable".into(), Dynamic::from_bool(c.status.is_some()));
        if let Some(e) = c.error {
            m.insert("error".into(), Dynamic::from(e));
        }
        if let Some(h) = c.hint {
            m.insert("hint".into(), Dynamic::from(h));
        }
        out.insert(c.core.into(), Dynamic::from_map(m));
    }
    Ok(out)
}

fn regs() -> R<Map> {
    match exec(Command::Regs)? {
        Outcome::Registers { registers, .. } => Ok(registers
            .into_iter()
            .map(|(n, v)| (n.into(), Dynamic::from_int(INT::from(v))))
            .collect()),
        _ => Ok(Map::new()),
    }
}

fn reg(name: &str) -> R<INT> {
    match exec(Command::Reg {
        name: name.to_string(),
        value: None,
    })? {
        Outcome::CoreRegister { value, .. } => Ok(value as INT),
        _ => Ok(0),
    }
}

fn set_reg(name: &str, value: INT) -> R<()> {
    let value = value_of(&Dynamic::from_int(value)).map_err(shell_failure)?;
    exec(Command::Reg {
        name: name.to_string(),
        value: Some(value),
    })
    .map(|_| ())
}

fn wait(target: Dynamic, op: &str, value: Dynamic, timeout_ms: INT) -> R<INT> {
    let target = target_of(&target).map_err(shell_failure)?;
    let value = value_of(&value).map_err(shell_failure)?;
    let op = WaitOp::ALL
        .iter()
        .find(|(s, _)| *s == op.trim())
        .map(|(_, o)| *o)
        .ok_or_else(|| {
            bad(
                format!("`{op}` is not a comparison"),
                "use ==, !=, <, >, <=, >= or &",
            )
        })?;
    let timeout_ms = count_of(timeout_ms, "timeout").map_err(shell_failure)?;
    match exec(Command::Wait {
        target,
        op,
        value,
        timeout_ms: Some(timeout_ms),
    })? {
        Outcome::Waited { value, .. } => Ok(int(value)),
        _ => Ok(0),
    }
}

fn sleep(ms: INT) -> R<()> {
    let ms = count_of(ms, "sleep time").map_err(shell_failure)?;
    with_session(|s| {
        if s.board().is_some() {
            // Virtual time: the same script gives the same result every run.
            lang::check_sim_wait(ms)
                .map_err(|(message, hint)| ShellError::bad_value(message, hint))?;
            s.execute(&Command::Sim(SimCommand::Wait { ms }))?;
            return Ok(());
        }
        let flag = s.interrupt_flag();
        let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
        loop {
            if flag.load(Ordering::SeqCst) {
                return Err(ShellError::Interrupted);
            }
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(std::time::Duration::from_millis(10)));
        }
    })
}

fn select_core(name: &str) -> R<String> {
    let core = match name.trim().to_ascii_lowercase().as_str() {
        "cm7" | "m7" => CoreName::Cm7,
        "cm4" | "m4" => CoreName::Cm4,
        _ => {
            return Err(bad(
                format!("`{name}` is not a core"),
                "core(\"cm7\") or core(\"cm4\")",
            ))
        }
    };
    exec(Command::Core(Some(core)))?;
    current_core()
}

fn current_core() -> R<String> {
    with_session(|s| {
        Ok(s.selected_ap()
            .core()
            .map(|c| c.name().to_string())
            .unwrap_or_default())
    })
}

fn select_ap(n: INT) -> R<INT> {
    let n = count_of(n, "AP").map_err(shell_failure)?;
    exec(Command::Ap(Some(n)))?;
    current_ap()
}

fn current_ap() -> R<INT> {
    with_session(|s| Ok(INT::from(s.selected_ap().get())))
}

fn fail(message: &str, hint: &str) -> R<()> {
    Err(raise(
        message.to_string(),
        hint.to_string(),
        "script-failed",
    ))
}

/// Registers the whole API on `engine`; `args` are the script's arguments.
pub fn register(engine: &mut Engine, args: Array) {
    // Selection.
    engine.register_fn("ap", current_ap);
    engine.register_fn("ap", select_ap);
    engine.register_fn("core", current_core);
    engine.register_fn("core", select_core);
    // Registers, fields, memory.
    engine.register_fn("read", read_name);
    engine.register_fn("read", read_address);
    engine.register_fn("fields", fields);
    engine.register_fn("write", write);
    engine.register_fn("write_fields", write_fields);
    engine.register_fn("mem8", |a: INT, n: INT| mem(a, n, AccessSize::U8));
    engine.register_fn("mem16", |a: INT, n: INT| mem(a, n, AccessSize::U16));
    engine.register_fn("mem32", |a: INT, n: INT| mem(a, n, AccessSize::U32));
    engine.register_fn("write8", |a: INT, v: INT| write_mem(a, v, AccessSize::U8));
    engine.register_fn("write16", |a: INT, v: INT| write_mem(a, v, AccessSize::U16));
    engine.register_fn("write32", |a: INT, v: INT| write_mem(a, v, AccessSize::U32));
    // Cores.
    engine.register_fn("halt", || core_state(Command::Halt));
    engine.register_fn("resume", || core_state(Command::Resume));
    engine.register_fn("step", || core_state(Command::Step(1)));
    engine.register_fn("reset", || reset("system"));
    engine.register_fn("reset", reset);
    engine.register_fn("status", status);
    engine.register_fn("regs", regs);
    engine.register_fn("reg", reg);
    engine.register_fn("set_reg", set_reg);
    // Time.
    engine.register_fn("wait", |t: Dynamic, v: Dynamic, ms: INT| {
        wait(t, "==", v, ms)
    });
    engine.register_fn("wait", wait);
    engine.register_fn("sleep", sleep);
    // Any shell command.
    engine.register_fn("sh", |line: &str| sh(line, false));
    engine.register_fn("shell", |line: &str| sh(line, true));
    // The script itself.
    engine.register_fn("args", move || args.clone());
    engine.register_fn("fail", |m: &str| fail(m, ""));
    engine.register_fn("fail", fail);
    engine.register_fn("warn", |m: &str| eprintln!("warning: {m}"));
    engine.register_fn("hex", |v: INT| format!("{:#010x}", v));
    engine.register_fn("is_virtual", || with_session(|s| Ok(s.board().is_some())));
    engine.register_fn("scenario", || {
        with_session(|s| Ok(s.board().map(|b| b.scenario()).unwrap_or_default()))
    });
    engine.register_fn("identity", || -> R<Map> {
        with_session(|s| {
            let snap = super::record::snapshot(s);
            let json = serde_json::to_value(&snap).unwrap_or_default();
            Ok(json_to_dynamic(&json).try_cast::<Map>().unwrap_or_default())
        })
    });
    // Errors caught with try/catch: `catch (e) { print(e.message); print(e.hint); }`.
    engine
        .register_type_with_name::<Failure>("Failure")
        .register_get("message", |f: &mut Failure| f.message.clone())
        .register_get("hint", |f: &mut Failure| f.hint.clone())
        .register_get("kind", |f: &mut Failure| f.kind.to_string())
        .register_fn("to_string", |f: &mut Failure| f.message.clone())
        .register_fn("to_debug", |f: &mut Failure| {
            format!("{} (hint: {})", f.message, f.hint)
        });
    // The STM32H7 toolkit: each is the shell command of the same name, returning its outcome
    // as a map (the JSON form plus `text`).
    engine.register_fn("ob", || toolkit(Command::Ob));
    engine.register_fn("ob_set", ob_set);
    engine.register_fn("doctor", || toolkit(Command::Doctor));
    engine.register_fn("snap", |name: &str| snap_or_diff(name, Array::new(), true));
    engine.register_fn("snap", |name: &str, p: Array| snap_or_diff(name, p, true));
    engine.register_fn("diff", |name: &str| snap_or_diff(name, Array::new(), false));
    engine.register_fn("diff", |name: &str, p: Array| snap_or_diff(name, p, false));
}

fn toolkit(cmd: Command) -> R<Dynamic> {
    with_session(|s| {
        let o = s.execute(&cmd)?;
        Ok(outcome_value(&o, s.options.json))
    })
}

/// `ob_set(#{BCM4: 1, BCM4_ADD0: 0x0810})`: `ob set` with the same validation and confirmation
/// (scripts need --yes, as `-c` does).
fn ob_set(fields: Map) -> R<Dynamic> {
    if fields.is_empty() {
        return Err(bad("no option bytes given", "e.g. ob_set(#{BCM4: 1})"));
    }
    let mut list = Vec::with_capacity(fields.len());
    for (k, v) in &fields {
        list.push((k.to_string(), value_of(v).map_err(shell_failure)?));
    }
    toolkit(Command::ObSet(list))
}

fn snap_or_diff(name: &str, peripherals: Array, snap: bool) -> R<Dynamic> {
    let peripherals = peripherals.iter().map(|p| p.to_string()).collect();
    let name = name.to_string();
    toolkit(if snap {
        Command::Snap { name, peripherals }
    } else {
        Command::Diff { name, peripherals }
    })
}
