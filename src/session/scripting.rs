//! `run`, `eval` and `record`, and the hook that lets a recording see every command.
//! The scripting engine itself is `crate::script`.

use super::{Outcome, Session, ShellError};
use crate::lang::Command;
use crate::render::Style;
use crate::script::{self, record, Limits};
use std::path::{Path, PathBuf};

/// Scripting state kept by the session: limits, the scripts running, the active recording.
#[derive(Debug, Default)]
pub struct ScriptState {
    limits: Limits,
    /// Folders of the scripts running (innermost last); `None` for `eval`.
    roots: Vec<Option<PathBuf>>,
    recorder: Option<Recorder>,
}

#[derive(Debug)]
struct Recorder {
    path: PathBuf,
    header: String,
    body: String,
    commands: usize,
    /// The last write failed (said once).
    warned: bool,
}

impl Recorder {
    fn text(&self) -> String {
        format!("{}{}", self.header, self.body)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        record::write_atomic(&self.path, &self.text())
    }
}

/// Outcomes of the scripting commands.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ScriptOutcome {
    /// `run FILE`: the script's output was printed while it ran; `value` is its final value.
    ScriptRun {
        file: String,
        value: serde_json::Value,
    },
    /// `eval EXPR`.
    ScriptValue {
        expr: String,
        value: serde_json::Value,
        text: String,
    },
    /// `record FILE` (active) and `record stop`.
    Recording {
        file: String,
        active: bool,
        commands: usize,
    },
}

impl ScriptOutcome {
    /// Text form.
    pub fn text(&self, _style: &Style) -> String {
        match self {
            ScriptOutcome::ScriptRun { .. } => String::new(),
            ScriptOutcome::ScriptValue { text, .. } => format!("{text}\n"),
            ScriptOutcome::Recording {
                file, active: true, ..
            } => format!("recording to {file} (`record stop` to finish)\n"),
            ScriptOutcome::Recording { file, commands, .. } => format!(
                "recorded {commands} command{} to {file}\n",
                if *commands == 1 { "" } else { "s" }
            ),
        }
    }
}

impl Session {
    pub(super) fn execute_scripting(&mut self, cmd: &Command) -> Result<Outcome, ShellError> {
        match cmd {
            Command::Run { file, args } => {
                let path = self.script_path(file)?;
                // A file of h7sh commands (not .rhai): each line runs as typed, through the
                // script engine's `shell(...)` so output and Ctrl-C behave as in a script.
                if let Some(commands) = command_file(&path) {
                    if !args.is_empty() {
                        return Err(ShellError::bad_value(
                            format!("{file} is a file of h7sh commands: it takes no arguments"),
                            "arguments go to .rhai scripts",
                        ));
                    }
                    let source: String = commands.iter().map(script::record::statement).collect();
                    script::install_ctrlc(self.interrupt_flag());
                    script::eval(self, &source)?;
                    return Ok(Outcome::Script(ScriptOutcome::ScriptRun {
                        file: file.clone(),
                        value: serde_json::Value::Null,
                    }));
                }
                // From here on Ctrl-C stops scripts between two operations (the REPL has its
                // own handler on the same flag).
                script::install_ctrlc(self.interrupt_flag());
                let value = script::run_file(self, &path, args)?;
                Ok(Outcome::Script(ScriptOutcome::ScriptRun {
                    file: file.clone(),
                    value,
                }))
            }
            Command::Eval(expr) => {
                let value = script::eval(self, expr)?;
                let text = match &value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "()".into(),
                    v => v.to_string(),
                };
                Ok(Outcome::Script(ScriptOutcome::ScriptValue {
                    expr: expr.clone(),
                    value,
                    text,
                }))
            }
            Command::Record(Some(file)) => self.record_start(file),
            Command::Record(None) => self.record_stop(),
            _ => Err(ShellError::Unsupported {
                message: format!("`{}` is not a scripting command", cmd.to_line()),
                hint: "see `help`".into(),
            }),
        }
    }

    /// The file `run FILE` names: as given at the prompt, inside the script's folder in a script.
    fn script_path(&self, file: &str) -> Result<PathBuf, ShellError> {
        match self.scripting.roots.last() {
            None => Ok(PathBuf::from(file)),
            Some(None) => Err(ShellError::refused(
                format!("`run {file}` inside eval: eval has no folder to run scripts from"),
                "run scripts from the prompt or from another script",
            )),
            Some(Some(root)) => {
                script_resolver_confine(root, file).map_err(|m| ShellError::Refused {
                    message: m,
                    hint: "a script can run other scripts from its own folder only (a relative \
                           path without `..`)"
                        .into(),
                })
            }
        }
    }

    fn record_start(&mut self, file: &str) -> Result<Outcome, ShellError> {
        if !self.scripting.roots.is_empty() {
            return Err(ShellError::refused(
                "scripts cannot write files (record)",
                "start the recording at the prompt or in -c",
            ));
        }
        if let Some(r) = &self.scripting.recorder {
            return Err(ShellError::refused(
                format!("already recording to {}", r.path.display()),
                "finish it with `record stop` first",
            ));
        }
        let path = PathBuf::from(file);
        self.check_overwrite(&path, "recording")?;
        let header = record::header(self, &path);
        let mut r = Recorder {
            path,
            header,
            body: String::new(),
            commands: 0,
            warned: false,
        };
        r.flush().map_err(|e| ShellError::Io {
            message: format!("cannot write {file}: {e}"),
            hint: "record to a file in a folder you can write".into(),
        })?;
        self.scripting.recorder = Some(r);
        Ok(Outcome::Script(ScriptOutcome::Recording {
            file: file.to_string(),
            active: true,
            commands: 0,
        }))
    }

    fn record_stop(&mut self) -> Result<Outcome, ShellError> {
        if !self.scripting.roots.is_empty() {
            return Err(ShellError::refused(
                "scripts cannot stop a recording",
                "run `record stop` at the prompt or in -c",
            ));
        }
        let Some(mut r) = self.scripting.recorder.take() else {
            return Err(ShellError::refused(
                "not recording",
                "start a recording with `record FILE`",
            ));
        };
        r.flush().map_err(|e| ShellError::Io {
            message: format!("cannot write {}: {e}", r.path.display()),
            hint: "the recording so far is lost; check the folder's permissions".into(),
        })?;
        Ok(Outcome::Script(ScriptOutcome::Recording {
            file: r.path.display().to_string(),
            active: false,
            commands: r.commands,
        }))
    }

    /// Called after every command with its result (a recording appends it).
    pub(super) fn after_execute(&mut self, cmd: &Command, result: &Result<Outcome, ShellError>) {
        // Only what the user typed: not the commands of a script that is running.
        if !self.scripting.roots.is_empty() || result.is_err() {
            return;
        }
        if matches!(cmd, Command::Record(_) | Command::Quit) {
            return;
        }
        let Some(r) = self.scripting.recorder.as_mut() else {
            return;
        };
        r.body.push_str(&record::statement(cmd));
        r.commands += 1;
        // Written after every command, so that a crash loses nothing.
        if let Err(e) = r.flush() {
            if !r.warned {
                eprintln!("warning: recording not saved to {}: {e}", r.path.display());
                r.warned = true;
            }
        }
    }

    /// The script recorded so far, if a recording is active (for `report`).
    pub fn recorded_script(&self) -> Option<String> {
        self.scripting.recorder.as_ref().map(Recorder::text)
    }

    /// Limits for the scripts this session runs (`--max-operations`...).
    pub fn set_script_limits(&mut self, limits: Limits) {
        self.scripting.limits = limits;
    }

    pub fn script_limits(&self) -> &Limits {
        &self.scripting.limits
    }

    /// How many scripts are running (nested `run`).
    pub fn script_depth(&self) -> u32 {
        self.scripting.roots.len() as u32
    }

    /// A script starts (its folder; `None` for eval).
    pub(crate) fn script_enter(&mut self, root: Option<PathBuf>) {
        self.scripting.roots.push(root);
    }

    /// The innermost script ended.
    pub(crate) fn script_leave(&mut self) {
        self.scripting.roots.pop();
    }
}

fn script_resolver_confine(root: &Path, file: &str) -> Result<PathBuf, String> {
    script::confine(root, file)
}

/// The commands of `path` when it is a file of h7sh commands: not `.rhai`, readable, and every
/// line parses as commands (a Rhai script does not).
pub fn command_file(path: &std::path::Path) -> Option<Vec<Command>> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rhai"))
    {
        return None;
    }
    let text = crate::files::read_to_string(path, crate::files::Kind::Script).ok()?;
    let commands = crate::lang::parse(&text).ok()?;
    (!commands.is_empty()).then_some(commands)
}
