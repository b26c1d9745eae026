//! The h7sh command language: grammar, [`Command`] type, command table,
//! `help` text and completion context.
//!
//! This module does no I/O and resolves nothing: register, field,
//! peripheral and enumerated-value names stay strings / [`Value::Symbol`]s
//! for the session to resolve.
//!
//! # Syntax
//! * Commands are separated by `;` or newlines; blank input is no command.
//! * `#` outside quotes starts a comment running to the end of the line.
//! * Keywords (command names, aliases, sub-commands such as `sim stats`,
//!   `reset system halt`, `wait ... timeout`) are case-insensitive.
//! * Words may be quoted: `"a b"` (escapes `\"` and `\\`; other backslashes
//!   stay literal, so `"C:\dir"` works) or `'a b'` (no escapes).
//! * `eval` takes the rest of its line raw, including `;` and `#`.
//!
//! # Adding a command
//! Add one [`CommandSpec`] entry to the table in `commands.rs` (name,
//! aliases, synopsis, summary, help, argument kinds for completion and a
//! `parse` function using the [`Args`] helpers), plus a [`Command`] variant
//! and its arm in [`Command::to_line`]. `help`, completion, unknown-command
//! suggestions and the parser all read the same table.

mod commands;
mod complete;
mod lex;
mod value;

pub use commands::{
    check_sim_wait, commands, help_text, lookup, suggest, ArgKind, ArgParser, Args, CommandSpec,
    MAX_SIM_WAIT_MS,
};
pub use complete::{completion_context, CompletionContext, CompletionKind};
pub use lex::MAX_LINE_BYTES;
pub use value::{
    check_name, is_float, is_identifier, parse_number, parse_offset, parse_target, parse_value,
    split_name_offset,
};

use serde::Serialize;

/// Width of a memory access selected with an address suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AccessSize {
    /// `/b`: 8-bit.
    U8,
    /// `/h`: 16-bit.
    U16,
    /// `/w`: 32-bit.
    U32,
}

impl AccessSize {
    /// The suffix letter (`b`, `h` or `w`).
    pub fn suffix(self) -> char {
        match self {
            AccessSize::U8 => 'b',
            AccessSize::U16 => 'h',
            AccessSize::U32 => 'w',
        }
    }

    /// Bytes per item.
    pub fn bytes(self) -> u32 {
        match self {
            AccessSize::U8 => 1,
            AccessSize::U16 => 2,
            AccessSize::U32 => 4,
        }
    }
}

/// A value to write or compare: a number, or a symbol (enumerated-value
/// name such as `Enabled`, or `true`/`false`) that the session resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Value {
    Number(u64),
    Symbol(String),
}

/// What to read / write / wait on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Target {
    /// Register or field name, unresolved (`GPIOA.MODER.MODE0`, `RCC_CR`, `GPIOA.AFR[1]`).
    Name(String),
    /// Absolute address with an optional access size (`0x08000000/w`).
    Address { addr: u64, size: Option<AccessSize> },
}

/// A core of the dual-core part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CoreName {
    Cm7,
    Cm4,
}

/// Kind of reset. The default (`reset` alone) is [`ResetKind::System`],
/// like OpenOCD's `monitor reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResetKind {
    Core,
    System,
}

/// Comparison used by `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WaitOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `&`: true when `(current & value) != 0`.
    And,
}

impl WaitOp {
    /// All operators with their spelling.
    pub const ALL: &'static [(&'static str, WaitOp)] = &[
        ("==", WaitOp::Eq),
        ("!=", WaitOp::Ne),
        ("<=", WaitOp::Le),
        (">=", WaitOp::Ge),
        ("<", WaitOp::Lt),
        (">", WaitOp::Gt),
        ("&", WaitOp::And),
    ];

    /// The operator's spelling.
    pub fn as_str(self) -> &'static str {
        WaitOp::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(s, _)| *s)
            .unwrap_or("==")
    }
}

/// `sim ...` sub-commands (virtual board only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SimCommand {
    Stats {
        reset: bool,
    },
    PowerCycle,
    Wait {
        ms: u64,
    },
    /// `sim nrst [hold|release]`: the board's reset button (None: show it).
    Nrst(Option<bool>),
    /// `sim boot0 [0|1]`: the BOOT0 jumper (None: show it).
    Boot0(Option<bool>),
    /// `sim serve [SPEC]`: serve the board to pyOCD / OpenOCD (None: list the listeners).
    Serve(Option<String>),
}

/// One parsed command. Names are unresolved strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Command {
    /// `ap [N]`: show (None) or select an access port; range checked by the session.
    Ap(Option<u64>),
    /// `core [cm7|cm4]`.
    Core(Option<CoreName>),
    Read {
        target: Target,
        count: Option<u64>,
    },
    Write {
        target: Target,
        value: Value,
    },
    /// `write REG F1=V1 F2=V2`: one read-modify-write.
    WriteFields {
        register: String,
        fields: Vec<(String, Value)>,
    },
    Show {
        peripheral: String,
        registers: Vec<String>,
    },
    Find(String),
    Info,
    Status,
    Reconnect,
    Halt,
    Resume,
    /// `step [N]`: N instructions (1 when not given).
    Step(u64),
    Reset {
        kind: ResetKind,
        halt: bool,
    },
    Regs,
    Reg {
        name: String,
        value: Option<Value>,
    },
    Help(Option<String>),
    Quit,
    Sim(SimCommand),
    Ob,
    ObSet(Vec<(String, Value)>),
    Doctor,
    Report(Option<String>),
    Wait {
        target: Target,
        op: WaitOp,
        value: Value,
        timeout_ms: Option<u64>,
    },
    Snap {
        name: String,
        peripherals: Vec<String>,
    },
    /// `snap list`.
    SnapList,
    /// `snap save FILE [NAME]`: a snapshot to a file (the only one when NAME is not given).
    SnapSave {
        file: String,
        name: Option<String>,
    },
    Diff {
        name: String,
        peripherals: Vec<String>,
    },
    Run {
        file: String,
        args: Vec<String>,
    },
    /// `eval EXPR`: the raw rest of the line.
    Eval(String),
    /// `record FILE`; `None` is `record stop`.
    Record(Option<String>),
}

/// A parse error. `Display` is the message; `hint` says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub hint: String,
    /// 1-based column, in characters, within the line.
    pub column: usize,
    /// 1-based line within the parsed input.
    pub line: usize,
}

impl ParseError {
    /// Builds an error.
    pub fn new(
        message: impl Into<String>,
        hint: impl Into<String>,
        column: usize,
        line: usize,
    ) -> Self {
        ParseError {
            message: message.into(),
            hint: hint.into(),
            column,
            line,
        }
    }
}

/// Parses a whole input (one or many lines) into commands.
pub fn parse(input: &str) -> Result<Vec<Command>, ParseError> {
    let mut out = Vec::new();
    for (idx, raw_line) in input.split('\n').enumerate() {
        out.extend(parse_line(raw_line, idx + 1)?);
    }
    Ok(out)
}

/// Parses one line (a trailing `\r` is dropped) into commands; `line_no` numbers it in errors.
pub fn parse_line(line: &str, line_no: usize) -> Result<Vec<Command>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    lex::split_line(line, line_no)?
        .into_iter()
        .map(commands::parse_statement)
        .collect()
}

/// Quotes a word if needed so that the lexer reads it back unchanged.
pub fn quote(word: &str) -> String {
    let needs =
        word.is_empty() || word.starts_with(['"', '\'']) || word.chars().any(lex::is_word_end);
    if !needs {
        return word.to_string();
    }
    let mut s = String::with_capacity(word.len() + 2);
    s.push('"');
    for c in word.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(n) if *n < 10 => write!(f, "{n}"),
            Value::Number(n) => write!(f, "0x{n:X}"),
            Value::Symbol(s) => f.write_str(s),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Name(n) => f.write_str(n),
            Target::Address { addr, size } => {
                write!(f, "0x{addr:08X}")?;
                if let Some(s) = size {
                    write!(f, "/{}", s.suffix())?;
                }
                Ok(())
            }
        }
    }
}

fn assignments(list: &[(String, Value)]) -> String {
    list.iter()
        .map(|(n, v)| format!(" {n}={v}"))
        .collect::<String>()
}

fn words(list: &[String]) -> String {
    list.iter().map(|w| format!(" {}", quote(w))).collect()
}

impl Command {
    /// Canonical text form. For every command produced by [`parse`],
    /// `parse(&c.to_line()) == Ok(vec![c])`. Numbers are written in hex
    /// (values, addresses) or decimal (counts, ports, milliseconds).
    pub fn to_line(&self) -> String {
        match self {
            Command::Ap(None) => "ap".into(),
            Command::Ap(Some(n)) => format!("ap {n}"),
            Command::Core(None) => "core".into(),
            Command::Core(Some(CoreName::Cm7)) => "core cm7".into(),
            Command::Core(Some(CoreName::Cm4)) => "core cm4".into(),
            Command::Read { target, count } => match count {
                None => format!("read {target}"),
                Some(c) => format!("read {target} {c}"),
            },
            Command::Write { target, value } => format!("write {target} {value}"),
            Command::WriteFields { register, fields } => {
                format!("write {register}{}", assignments(fields))
            }
            Command::Show {
                peripheral,
                registers,
            } => format!("show {peripheral}{}", words(registers)),
            Command::Find(p) => format!("find {}", quote(p)),
            Command::Info => "info".into(),
            Command::Status => "status".into(),
            Command::Reconnect => "reconnect".into(),
            Command::Halt => "halt".into(),
            Command::Resume => "resume".into(),
            Command::Step(1) => "step".into(),
            Command::Step(n) => format!("step {n}"),
            Command::Reset { kind, halt } => {
                let k = match kind {
                    ResetKind::Core => "core",
                    ResetKind::System => "system",
                };
                if *halt {
                    format!("reset {k} halt")
                } else {
                    format!("reset {k}")
                }
            }
            Command::Regs => "regs".into(),
            Command::Reg { name, value } => match value {
                None => format!("reg {name}"),
                Some(v) => format!("reg {name} {v}"),
            },
            Command::Help(None) => "help".into(),
            Command::Help(Some(c)) => format!("help {}", quote(c)),
            Command::Quit => "quit".into(),
            Command::Sim(SimCommand::Stats { reset: false }) => "sim stats".into(),
            Command::Sim(SimCommand::Stats { reset: true }) => "sim stats reset".into(),
            Command::Sim(SimCommand::PowerCycle) => "sim power-cycle".into(),
            Command::Sim(SimCommand::Wait { ms }) => format!("sim wait {ms}"),
            Command::Sim(SimCommand::Nrst(None)) => "sim nrst".into(),
            Command::Sim(SimCommand::Nrst(Some(true))) => "sim nrst hold".into(),
            Command::Sim(SimCommand::Nrst(Some(false))) => "sim nrst release".into(),
            Command::Sim(SimCommand::Boot0(None)) => "sim boot0".into(),
            Command::Sim(SimCommand::Boot0(Some(high))) => format!("sim boot0 {}", u8::from(*high)),
            Command::Sim(SimCommand::Serve(None)) => "sim serve".into(),
            Command::Sim(SimCommand::Serve(Some(spec))) => format!("sim serve {spec}"),
            Command::Ob => "ob".into(),
            Command::ObSet(list) => format!("ob set{}", assignments(list)),
            Command::Doctor => "doctor".into(),
            Command::Report(None) => "report".into(),
            Command::Report(Some(f)) => format!("report {}", quote(f)),
            Command::Wait {
                target,
                op,
                value,
                timeout_ms,
            } => {
                let mut s = format!("wait {target} {} {value}", op.as_str());
                if let Some(t) = timeout_ms {
                    s.push_str(&format!(" timeout {t}"));
                }
                s
            }
            Command::Snap { name, peripherals } => {
                format!("snap {}{}", quote(name), words(peripherals))
            }
            Command::SnapList => "snap list".into(),
            Command::SnapSave { file, name } => match name {
                Some(n) => format!("snap save {} {}", quote(file), quote(n)),
                None => format!("snap save {}", quote(file)),
            },
            Command::Diff { name, peripherals } => {
                format!("diff {}{}", quote(name), words(peripherals))
            }
            Command::Run { file, args } => format!("run {}{}", quote(file), words(args)),
            Command::Eval(e) => format!("eval {e}"),
            Command::Record(None) => "record stop".into(),
            Command::Record(Some(f)) if f.eq_ignore_ascii_case("stop") => {
                format!("record \"{f}\"")
            }
            Command::Record(Some(f)) => format!("record {}", quote(f)),
        }
    }
}
