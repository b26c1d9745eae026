//! The interactive loop: rustyline with completion from the SVD index and the command table,
//! history saved after every command, Ctrl-C that cancels without leaving the shell.

use crate::lang::{self, ArgKind, CompletionKind};
use crate::render::{self, Style};
use crate::session::{Outcome, Session};
use crate::svd::{Device, Resolved};
use crate::target::CORE_REGISTERS;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{DefaultHistory, SearchDirection};
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Completion, hints and prompt colour for rustyline.
pub struct ShellHelper {
    pub device: Arc<Device>,
    files: FilenameCompleter,
    /// Lines that failed in this session: the history hint never offers them (Up still
    /// recalls them, to be fixed).
    pub failed: std::collections::HashSet<String>,
    pub style: Style,
}

impl ShellHelper {
    pub fn new(device: Arc<Device>, style: Style) -> ShellHelper {
        ShellHelper {
            device,
            files: FilenameCompleter::new(),
            failed: std::collections::HashSet::new(),
            style,
        }
    }

    /// Enumerated-value names of `field` starting with `lower` (lower-cased prefix).
    fn enum_candidates(&self, field: &str, lower: &str) -> Vec<String> {
        match self.device.resolve(field) {
            Ok(Resolved::Field(f)) => self
                .device
                .field(f)
                .enums
                .iter()
                .filter(|e| e.name.to_ascii_lowercase().starts_with(lower))
                .map(|e| e.name.clone())
                .collect(),
            _ => vec![],
        }
    }

    /// Candidates for the word under the cursor: `(start, candidates)`.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let ctx = lang::completion_context(line, pos);
        let word = ctx.word.as_str();
        let lower = word.to_ascii_lowercase();
        let starts = |s: &&str| s.to_ascii_lowercase().starts_with(&lower);
        let list: Vec<String> = match &ctx.kind {
            CompletionKind::CommandName | CompletionKind::Arg(ArgKind::CommandName) => {
                let mut v: Vec<String> = lang::commands()
                    .iter()
                    .map(|c| c.name)
                    .filter(starts)
                    .map(String::from)
                    .collect();
                v.sort();
                v
            }
            CompletionKind::Arg(ArgKind::Name | ArgKind::Target) => self.device.complete(word),
            CompletionKind::Arg(ArgKind::Peripheral) => self
                .device
                .complete(word)
                .into_iter()
                .filter(|n| !n.contains('.'))
                .collect(),
            CompletionKind::Arg(ArgKind::Value) => {
                // Enumerated values of the field named just before the value.
                match ctx.args.first() {
                    Some(field) => self.enum_candidates(field, &lower),
                    None => vec![],
                }
            }
            CompletionKind::Arg(ArgKind::FieldAssignments) if ctx.command == Some("ob") => {
                // `ob set NAME=VALUE`: the option-byte fields by their RM0399 names.
                crate::h7::ob::FIELDS
                    .iter()
                    .map(|f| f.name)
                    .filter(|n| n.to_ascii_lowercase().starts_with(&lower))
                    .map(|n| format!("{n}="))
                    .collect()
            }
            CompletionKind::AssignmentValue { name } if ctx.command == Some("ob") => {
                match crate::h7::ob::FIELDS
                    .iter()
                    .find(|f| f.name.eq_ignore_ascii_case(name))
                {
                    Some(f) => f
                        .values
                        .iter()
                        .map(|(_, n)| *n)
                        .filter(|n| n.to_ascii_lowercase().starts_with(&lower))
                        .map(String::from)
                        .collect(),
                    None => vec![],
                }
            }
            CompletionKind::Arg(ArgKind::FieldAssignments) => {
                // Field names of the register given as the first argument.
                let Some(reg) = ctx.args.first() else {
                    return (ctx.start, vec![]);
                };
                // `write FIELD VALUE` shares the position: offer the field's values.
                let id = match self.device.resolve(reg) {
                    Ok(Resolved::Register(id)) => id,
                    Ok(Resolved::Field(_)) => {
                        return (ctx.start, self.enum_candidates(reg, &lower))
                    }
                    _ => return (ctx.start, vec![]),
                };
                self.device
                    .register(id)
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .filter(starts)
                    .map(|n| format!("{n}="))
                    .collect()
            }
            CompletionKind::AssignmentValue { name } => match ctx.args.first() {
                Some(reg) => self.enum_candidates(&format!("{reg}.{name}"), &lower),
                None => vec![],
            },
            CompletionKind::Arg(ArgKind::CoreReg) => CORE_REGISTERS
                .iter()
                .map(|r| r.name)
                .filter(starts)
                .map(String::from)
                .collect(),
            CompletionKind::Arg(ArgKind::Keywords(k)) => {
                k.iter().copied().filter(starts).map(String::from).collect()
            }
            _ => vec![],
        };
        (ctx.start, list)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let c = lang::completion_context(line, pos);
        if let CompletionKind::Arg(ArgKind::File) = c.kind {
            return self.files.complete(line, pos, ctx);
        }
        let (start, list) = self.candidates(line, pos);
        Ok((
            start,
            list.into_iter()
                .map(|s| Pair {
                    display: s.clone(),
                    replacement: s,
                })
                .collect(),
        ))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
    /// The newest history entry that extends `line` and did not fail (rustyline's
    /// HistoryHinter, minus the failed lines).
    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        if line.is_empty() || pos < line.len() {
            return None;
        }
        let history = ctx.history();
        let mut start = if ctx.history_index() == history.len() {
            ctx.history_index().checked_sub(1)?
        } else {
            ctx.history_index()
        };
        loop {
            let found = history
                .starts_with(line, start, SearchDirection::Reverse)
                .ok()??;
            if found.entry != line && !self.failed.contains(found.entry.as_ref()) {
                return Some(found.entry[pos..].to_owned());
            }
            start = found.idx.checked_sub(1)?;
        }
    }
}

impl Highlighter for ShellHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.style.dim.is_empty() {
            Cow::Borrowed(hint)
        } else {
            Cow::Owned(format!("{}{hint}{}", self.style.dim, self.style.reset))
        }
    }
}

impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Where the history lives: `$H7SH_DATA_DIR` or the directories data dir.
pub fn history_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("H7SH_DATA_DIR") {
        return Some(PathBuf::from(dir).join("history.txt"));
    }
    directories::ProjectDirs::from("", "", "h7sh").map(|d| d.data_dir().join("history.txt"))
}

/// rustyline's history file header: entries follow one a line, `\\` and `\n` escaped.
const HISTORY_HEADER: &str = "#V2";
/// Appends `entry` to the history file and keeps its last `max` entries. rustyline's own
/// `append_history` truncates the file and writes it again in place, so a kill in between left
/// it empty; this is a read-modify-write under the file's lock (other sessions append too),
/// written whole through `fsutil` (temp file, fsync, rename): a kill leaves the old or the new
/// file. The format is rustyline's (`load_history` reads it).
pub fn append_history(path: &std::path::Path, entry: &str, max: usize) -> std::io::Result<()> {
    let _lock = crate::fsutil::lock(path)?;
    let old = crate::files::read_if_exists(path, crate::files::Kind::History)?;
    if old.is_none() {
        private_file(path)?;
    }
    let old = String::from_utf8_lossy(old.as_deref().unwrap_or_default()).into_owned();
    let mut lines: Vec<&str> = old
        .lines()
        .filter(|l| *l != HISTORY_HEADER && !l.is_empty())
        .collect();
    let escaped = entry.replace('\\', "\\\\").replace('\n', "\\n");
    lines.push(&escaped);
    let keep = &lines[lines.len().saturating_sub(max.max(1))..];
    let mut text = String::with_capacity(old.len() + escaped.len() + 8);
    text.push_str(HISTORY_HEADER);
    text.push('\n');
    for l in keep {
        text.push_str(l);
        text.push('\n');
    }
    crate::fsutil::write_atomic(path, text.as_bytes()).map(|_| ())
}

/// Creates `path` empty and readable by its owner only (the history holds what was typed);
/// later writes keep the mode.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Runs the REPL until `quit` or Ctrl-D.
pub fn run(session: &mut Session, style: Style, pager: bool) -> anyhow::Result<()> {
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let max_history = config.max_history_size();
    let mut rl: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    rl.set_helper(Some(ShellHelper::new(
        session.device_arc(session.selected_ap()),
        style,
    )));
    let history = history_path();
    let mut history_ok = true;
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.load_history(path);
    }
    let interrupt = session.interrupt_flag();
    // Ctrl-C while a command runs: ask it to stop between two accesses.
    let _ = ctrlc::set_handler(move || interrupt.store(true, Ordering::SeqCst));
    // Questions (option-byte changes, reads with side effects) are asked on the terminal.
    session.set_confirm(Box::new(|question: &str| {
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }));
    let mut current_ap = session.selected_ap();
    // What Enter on an empty line runs, as in gdb and J-Link Commander: `step` again, or the
    // next page of a memory read; nothing after any other command.
    let mut repeat: Option<String> = None;
    session.refresh_state();
    loop {
        let prompt = format!("h7sh [{}]> ", session.prompt_state());
        match rl.readline(&prompt) {
            Ok(typed) => {
                let repeated = typed.trim().is_empty();
                let line = match (&repeat, repeated) {
                    (_, false) => typed,
                    (Some(r), true) => r.clone(),
                    (None, true) => continue,
                };
                repeat = None;
                let added = !repeated && rl.add_history_entry(line.as_str()).unwrap_or(false);
                if let (Some(path), true) = (&history, added) {
                    // Saved after every command so that a crash loses nothing.
                    if let Err(e) = append_history(path, &line, max_history) {
                        if history_ok {
                            eprintln!("warning: history not saved to {}: {e}", path.display());
                            history_ok = false;
                        }
                    }
                }
                let mut quit = false;
                session.clear_interrupt();
                let mut failed = true;
                match lang::parse(&line) {
                    Err(e) => eprint!("{}", render::error_text(&e.into(), &style)),
                    Ok(cmds) => {
                        failed = false;
                        for cmd in &cmds {
                            match session.execute(cmd) {
                                Ok(Outcome::Quit) => quit = true,
                                Ok(o) => page(&render::text(&o, &style), pager),
                                Err(e) => {
                                    eprint!("{}", render::error_text(&e, &style));
                                    failed = true;
                                    break;
                                }
                            }
                        }
                        if !failed {
                            repeat = repeat_of(&cmds);
                        }
                    }
                }
                if let Some(h) = rl.helper_mut() {
                    if failed {
                        h.failed.insert(line.clone());
                    } else {
                        h.failed.remove(&line);
                    }
                }
                if quit {
                    break;
                }
                session.refresh_state();
                if session.selected_ap() != current_ap {
                    current_ap = session.selected_ap();
                    if let Some(h) = rl.helper_mut() {
                        h.device = session.device_arc(current_ap);
                    }
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// What Enter on an empty line runs after `cmds`: the same `step`, or a memory read's next
/// page (the same count from the address after it); None for anything else.
pub fn repeat_of(cmds: &[lang::Command]) -> Option<String> {
    use lang::{Command, Target};
    match cmds {
        [Command::Step(_)] => Some(cmds[0].to_line()),
        [Command::Read {
            target: Target::Address { addr, size },
            count,
        }] => {
            let bytes = u64::from(size.map_or(4, |s| s.bytes()));
            let items = count.unwrap_or(1);
            let next = Command::Read {
                target: Target::Address {
                    addr: addr.checked_add(bytes.checked_mul(items)?)?,
                    size: *size,
                },
                count: *count,
            };
            Some(next.to_line())
        }
        _ => None,
    }
}

/// Output longer than this goes through the pager (which shows it at once and quits when it
/// fits the screen: `less -F`).
const PAGER_MIN_LINES: usize = 24;

/// Prints `text`, through `$PAGER` (default `less` with `LESS=FRX`, as git does) when it is
/// long and `pager` is on; `PAGER=cat` or `--no-pager` turns it off. A pager that cannot be
/// started is no error: the text is printed.
fn page(text: &str, pager: bool) {
    use std::io::Write;
    if !pager || text.lines().count() <= PAGER_MIN_LINES {
        print!("{text}");
        return;
    }
    let program = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less".to_string());
    let mut words = program.split_whitespace();
    let Some(exe) = words.next() else {
        print!("{text}");
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(words).stdin(std::process::Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        cmd.env("LESS", "FRX");
    }
    let _ = std::io::stdout().flush();
    match cmd.spawn() {
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                // The user quitting the pager early closes the pipe: not an error.
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
        }
        Err(_) => print!("{text}"),
    }
}
