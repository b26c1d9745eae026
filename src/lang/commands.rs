//! The command table and the per-command argument parsers.

use super::lex::{Statement, Token};
use super::value::{self, NUMBER_HINT};
use super::{
    AccessSize, Command, CoreName, ParseError, ResetKind, SimCommand, Target, Value, WaitOp,
};

/// What an argument position takes; used by completion and documented in `help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ArgKind {
    /// A register or field name (`GPIOA.MODER.MODE0`).
    Name,
    /// A register/field name or an address with optional size suffix.
    Target,
    /// A value: number or enumerated-value name.
    Value,
    /// An address.
    Address,
    /// A plain number.
    Number,
    /// A file path.
    File,
    /// One of fixed keywords (also used for sub-command names).
    Keywords(&'static [&'static str]),
    /// The raw rest of the line (`eval`). Only valid as the first argument.
    Text,
    /// `FIELD=VALUE` pairs (fields of the register named just before, or
    /// option-byte names for `ob set`).
    FieldAssignments,
    /// A peripheral name (`GPIOA`).
    Peripheral,
    /// A core register (`r0`, `sp`, `pc`, `xpsr`, `s0`, `fpscr`, ...).
    CoreReg,
    /// A command name (`help CMD`).
    CommandName,
    /// A free-form word (pattern, snapshot name, script argument).
    Word,
}

/// Parser of a command's arguments (the command word is already consumed).
pub type ArgParser = fn(&mut Args) -> Result<Command, ParseError>;

/// One entry of the command table.
#[derive(Debug)]
pub struct CommandSpec {
    /// Canonical name (lower case).
    pub name: &'static str,
    /// Other accepted spellings (lower case).
    pub aliases: &'static [&'static str],
    /// Usage line, e.g. `read|r TARGET [COUNT]`.
    pub synopsis: &'static str,
    /// One-line summary for the `help` overview.
    pub summary: &'static str,
    /// Long help for `help CMD`.
    pub help: &'static str,
    /// Kind of each argument position, for completion.
    pub args: &'static [ArgKind],
    /// The last entry of `args` repeats (`show PERIPH [REG...]`).
    pub repeat_last: bool,
    /// Sub-commands (`sim stats`, `ob set`); their names are also listed as
    /// `Keywords` in `args[0]` of the parent.
    pub subcommands: &'static [CommandSpec],
    /// Argument parser.
    pub parse: ArgParser,
}

impl CommandSpec {
    /// True if `word` is this command's name or an alias (case-insensitive).
    pub fn matches(&self, word: &str) -> bool {
        self.name.eq_ignore_ascii_case(word)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
    }

    /// Finds a sub-command by name or alias.
    pub fn subcommand(&self, word: &str) -> Option<&'static CommandSpec> {
        self.subcommands.iter().find(|s| s.matches(word))
    }
}

/// The remaining words of one command, with helpers that produce
/// consistent errors (naming the argument and showing the usage line).
#[derive(Debug)]
pub struct Args {
    tokens: Vec<Token>,
    pos: usize,
    line: usize,
    end_col: usize,
    raw: Option<(String, usize)>,
    cmd: String,
    /// The command word as typed, lower case (an alias such as `mdw` changes the meaning).
    typed: String,
    usage: &'static str,
    spec: &'static CommandSpec,
}

fn keyword_list(kws: &[&str]) -> String {
    kws.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Args {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn take(&mut self, what: &str) -> Result<Token, ParseError> {
        match self.tokens.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => Err(self.missing(what)),
        }
    }

    /// Moves an error from a word-relative column to the input position.
    fn at(&self, tok: &Token, e: ParseError) -> ParseError {
        ParseError {
            column: tok.col + usize::from(tok.quoted) + e.column - 1,
            line: self.line,
            ..e
        }
    }

    /// True when no words remain.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// The next word's text, if any.
    pub fn peek_text(&self) -> Option<&str> {
        self.peek().map(|t| t.text.as_str())
    }

    /// Error for a missing argument `what`.
    pub fn missing(&self, what: &str) -> ParseError {
        ParseError::new(
            format!("missing {what} for `{}`", self.cmd),
            format!("usage: {}", self.usage),
            self.end_col,
            self.line,
        )
    }

    /// Consumes the next word if it is (unquoted) one of `kws`, case-insensitively.
    pub fn keyword(&mut self, kws: &[&'static str]) -> Option<&'static str> {
        let t = self.peek()?;
        if t.quoted {
            return None;
        }
        let k = kws.iter().find(|k| k.eq_ignore_ascii_case(&t.text))?;
        self.pos += 1;
        Some(k)
    }

    /// Optional keyword argument: absent is `None`, anything else but one
    /// of `kws` is an error naming `what`.
    pub fn opt_keyword_strict(
        &mut self,
        what: &str,
        kws: &[&'static str],
    ) -> Result<Option<&'static str>, ParseError> {
        let Some(t) = self.peek().cloned() else {
            return Ok(None);
        };
        match self.keyword(kws) {
            Some(k) => Ok(Some(k)),
            None => Err(ParseError::new(
                format!("unknown {what} `{}` for `{}`", t.text, self.cmd),
                format!(
                    "expected one of {}; usage: {}",
                    keyword_list(kws),
                    self.usage
                ),
                t.col,
                self.line,
            )),
        }
    }

    /// A required free-form word (quoted or not).
    pub fn word(&mut self, what: &str) -> Result<String, ParseError> {
        Ok(self.take(what)?.text)
    }

    /// An optional free-form word.
    pub fn opt_word(&mut self) -> Option<String> {
        let t = self.peek()?.text.clone();
        self.pos += 1;
        Some(t)
    }

    /// All remaining words.
    pub fn rest_words(&mut self) -> Vec<String> {
        let out = self.tokens[self.pos..]
            .iter()
            .map(|t| t.text.clone())
            .collect();
        self.pos = self.tokens.len();
        out
    }

    /// A required number.
    pub fn number(&mut self, what: &str) -> Result<u64, ParseError> {
        let t = self.take(what)?;
        if !t.text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return Err(ParseError::new(
                format!(
                    "{what} for `{}` must be a number, found `{}`",
                    self.cmd, t.text
                ),
                NUMBER_HINT,
                t.col,
                self.line,
            ));
        }
        value::parse_number(&t.text).map_err(|e| self.at(&t, e))
    }

    /// An optional number.
    pub fn opt_number(&mut self, what: &str) -> Result<Option<u64>, ParseError> {
        if self.is_empty() {
            Ok(None)
        } else {
            self.number(what).map(Some)
        }
    }

    /// A required value (number or enumerated-value name).
    pub fn value(&mut self, what: &str) -> Result<Value, ParseError> {
        let t = self.take(what)?;
        value::parse_value(&t.text).map_err(|e| self.at(&t, e))
    }

    /// A required target (name or address with optional size suffix).
    pub fn target(&mut self, what: &str) -> Result<Target, ParseError> {
        let t = self.take(what)?;
        if let Some((i, op)) = WaitOp::ALL
            .iter()
            .map(|(s, _)| *s)
            .chain(std::iter::once("="))
            .filter_map(|s| t.text.find(s).map(|i| (i, s)))
            .min_by_key(|(i, s)| (*i, usize::MAX - s.len()))
        {
            if i > 0 && !t.text.contains('/') {
                return Err(ParseError::new(
                    format!("unexpected `{op}` in `{}`", t.text),
                    if op == "=" {
                        format!(
                            "give the register first, then FIELD=VALUE pairs; usage: {}",
                            self.usage
                        )
                    } else {
                        format!(
                            "separate operators and values with spaces; usage: {}",
                            self.usage
                        )
                    },
                    t.col + t.text[..i].chars().count(),
                    self.line,
                ));
            }
        }
        value::parse_target(&t.text).map_err(|e| self.at(&t, e))
    }

    /// A required register/field/peripheral name.
    pub fn name(&mut self, what: &str) -> Result<String, ParseError> {
        let t = self.take(what)?;
        value::check_name(&t.text).map_err(|e| self.at(&t, e))?;
        Ok(t.text)
    }

    /// All remaining words, each checked as a name.
    pub fn rest_names(&mut self, what: &str) -> Result<Vec<String>, ParseError> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(self.name(what)?);
        }
        Ok(out)
    }

    /// True if the next word looks like `NAME=VALUE`.
    pub fn next_is_assignment(&self) -> bool {
        self.peek()
            .is_some_and(|t| !t.quoted && t.text.contains('='))
    }

    /// A required `NAME=VALUE` pair.
    pub fn assignment(&mut self, what: &str) -> Result<(String, Value), ParseError> {
        let t = self.take(what)?;
        let Some((name, val)) = t.text.split_once('=') else {
            return Err(ParseError::new(
                format!("expected {what}, found `{}`", t.text),
                format!("write NAME=VALUE without spaces; usage: {}", self.usage),
                t.col,
                self.line,
            ));
        };
        if name.is_empty() {
            return Err(ParseError::new(
                format!("missing name before `=` in `{}`", t.text),
                format!("write NAME=VALUE without spaces; usage: {}", self.usage),
                t.col,
                self.line,
            ));
        }
        if val.is_empty() {
            return Err(ParseError::new(
                format!("missing value after `=` in `{}`", t.text),
                format!("write NAME=VALUE without spaces; usage: {}", self.usage),
                t.col + t.text.chars().count(),
                self.line,
            ));
        }
        value::check_name(name).map_err(|e| self.at(&t, e))?;
        let shift = name.chars().count() + 1;
        let v = value::parse_value(val).map_err(|e| {
            self.at(
                &t,
                ParseError {
                    column: e.column + shift,
                    ..e
                },
            )
        })?;
        Ok((name.to_string(), v))
    }

    /// One or more `NAME=VALUE` pairs up to the end of the command.
    pub fn assignments(&mut self, what: &str) -> Result<Vec<(String, Value)>, ParseError> {
        let mut out = vec![self.assignment(what)?];
        while !self.is_empty() {
            out.push(self.assignment(what)?);
        }
        Ok(out)
    }

    /// The raw rest of the line (only for commands whose first arg is `Text`).
    pub fn raw_text(&mut self, what: &str) -> Result<String, ParseError> {
        match self.raw.take() {
            Some((s, _)) => Ok(s),
            None => Err(self.missing(what)),
        }
    }

    /// Dispatches to a sub-command of the current command (`sim stats`).
    pub fn subcommand(&mut self) -> Result<Command, ParseError> {
        let names: Vec<&str> = self.spec.subcommands.iter().map(|s| s.name).collect();
        let t = self.take("sub-command")?;
        let Some(sub) = self.spec.subcommand(&t.text).filter(|_| !t.quoted) else {
            return Err(ParseError::new(
                format!("unknown sub-command `{}` for `{}`", t.text, self.cmd),
                format!(
                    "expected one of {}; usage: {}",
                    keyword_list(&names),
                    self.usage
                ),
                t.col,
                self.line,
            ));
        };
        self.cmd = format!("{} {}", self.cmd, sub.name);
        self.usage = sub.synopsis;
        self.spec = sub;
        (sub.parse)(self)
    }

    /// Errors if words remain.
    pub fn finish(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(ParseError::new(
                format!(
                    "unexpected `{}` after the arguments of `{}`",
                    t.text, self.cmd
                ),
                format!("usage: {}; separate commands with `;`", self.usage),
                t.col,
                self.line,
            )),
        }
    }
}

/// Parses one lexed statement.
pub(crate) fn parse_statement(stmt: Statement) -> Result<Command, ParseError> {
    let mut tokens = stmt.tokens;
    let first = tokens.remove(0);
    let spec = match lookup(&first.text) {
        Some(s) if !first.quoted => s,
        _ => {
            let hint = match suggest(&first.text) {
                Some(s) => format!("did you mean `{s}`? type `help` for the list"),
                None => "type `help` for the list of commands".to_string(),
            };
            return Err(ParseError::new(
                format!("unknown command `{}`", first.text),
                hint,
                first.col,
                stmt.line,
            ));
        }
    };
    let mut args = Args {
        tokens,
        pos: 0,
        line: stmt.line,
        end_col: stmt.end_col,
        raw: stmt.raw,
        cmd: spec.name.to_string(),
        typed: first.text.to_lowercase(),
        usage: spec.synopsis,
        spec,
    };
    let cmd = (spec.parse)(&mut args)?;
    args.finish()?;
    Ok(cmd)
}

/// The one command table, in `help` order.
pub fn commands() -> &'static [CommandSpec] {
    COMMANDS
}

/// Finds a command by name or alias, case-insensitively.
pub fn lookup(word: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|s| s.matches(word))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest command name or alias to a mistyped word (edit distance over names
/// and aliases, at most 2 and less than the word's length; ties go to the
/// earlier table entry).
pub fn suggest(word: &str) -> Option<&'static str> {
    if word.chars().count() > 40 {
        return None;
    }
    let w = word.to_lowercase();
    // A typo of a reading command must not be answered with a writing one (`mdw` is not `w`):
    // writing commands are proposed only for words that start like one.
    let looks_like_write = w.starts_with('w') || w.starts_with("mw");
    let mut best: Option<(usize, &'static str)> = None;
    for spec in COMMANDS {
        if spec.name == "write" && !looks_like_write {
            continue;
        }
        for cand in std::iter::once(&spec.name).chain(spec.aliases.iter()) {
            let d = edit_distance(&w, cand);
            if d <= 2 && d < w.chars().count() && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, cand));
            }
        }
    }
    best.map(|(_, n)| n)
}

/// `help` (overview table) and `help CMD` (long help).
pub fn help_text(cmd: Option<&str>) -> Result<String, ParseError> {
    let Some(word) = cmd else {
        let width = COMMANDS.iter().map(|s| s.synopsis.len()).max().unwrap_or(0);
        let mut out = String::from(
            "Commands (case-insensitive; separate with `;` or newlines; `#` starts a comment):\n",
        );
        for s in COMMANDS {
            out.push_str(&format!("  {:<width$}  {}\n", s.synopsis, s.summary));
        }
        out.push_str("Type `help CMD` for details.\n");
        return Ok(out);
    };
    let mut words = word.split_whitespace();
    let first = words.next().unwrap_or(word);
    if let (Some(parent), Some(sub_word)) = (lookup(first), words.next()) {
        let Some(sub) = parent.subcommands.iter().find(|s| s.matches(sub_word)) else {
            let subs: Vec<&str> = parent.subcommands.iter().map(|s| s.name).collect();
            return Err(ParseError::new(
                format!("`{}` has no sub-command `{sub_word}`", parent.name),
                if subs.is_empty() {
                    format!("`help {}` describes it", parent.name)
                } else {
                    format!("its sub-commands: {}", subs.join(", "))
                },
                1,
                1,
            ));
        };
        return Ok(format!(
            "usage: {}\n\n{}\n\n{}\n",
            sub.synopsis, sub.summary, sub.help
        ));
    }
    let Some(spec) = lookup(word) else {
        let hint = match suggest(word) {
            Some(s) => format!("did you mean `{s}`? type `help` for the list"),
            None => "type `help` for the list of commands".to_string(),
        };
        return Err(ParseError::new(
            format!("no help for unknown command `{word}`"),
            hint,
            1,
            1,
        ));
    };
    let mut out = format!(
        "usage: {}\n\n{}\n\n{}\n",
        spec.synopsis, spec.summary, spec.help
    );
    if !spec.aliases.is_empty() {
        out.push_str(&format!("\naliases: {}\n", spec.aliases.join(", ")));
    }
    if !spec.subcommands.is_empty() {
        out.push_str("\nsub-commands:\n");
        for sub in spec.subcommands {
            out.push_str(&format!("  {}\n      {}\n", sub.synopsis, sub.summary));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Argument parsers

/// AP labels `ap` accepts besides numbers (what `ap` lists), as `core` accepts AP numbers.
const AP_LABELS: [(&str, u64); 5] = [("cm7", 0), ("d3", 1), ("apb-d", 2), ("apbd", 2), ("cm4", 3)];

fn p_ap(a: &mut Args) -> Result<Command, ParseError> {
    if let Some(word) = a.keyword(&AP_LABELS.map(|(l, _)| l)) {
        let n = AP_LABELS.iter().find(|(l, _)| *l == word).map(|(_, n)| *n);
        return Ok(Command::Ap(n));
    }
    Ok(Command::Ap(a.opt_number("N")?))
}

fn p_core(a: &mut Args) -> Result<Command, ParseError> {
    let numeric = a
        .tokens
        .get(a.pos)
        .is_some_and(|t| !t.quoted && value::parse_number(&t.text).is_ok());
    if !numeric {
        return Ok(Command::Core(
            match a.opt_keyword_strict("core", &["cm7", "cm4"])? {
                Some("cm7") => Some(CoreName::Cm7),
                Some(_) => Some(CoreName::Cm4),
                None => None,
            },
        ));
    }
    let col = a.tokens.get(a.pos).map(|t| t.col);
    match a.opt_number("core")? {
        None => Ok(Command::Core(None)),
        Some(0) => Ok(Command::Core(Some(CoreName::Cm7))),
        Some(3) => Ok(Command::Core(Some(CoreName::Cm4))),
        Some(n) => Err(ParseError::new(
            format!("AP{n} has no core"),
            "the cores are `core cm7` (AP0) and `core cm4` (AP3); `ap N` selects any AP",
            col.unwrap_or(0),
            a.line,
        )),
    }
}

/// Peers' memory commands as aliases of `read`/`write`: OpenOCD's `mdw ADDR [COUNT]` and
/// `mww ADDR VALUE`, pyOCD's `read32 ADDR [LEN]` (LEN in bytes, as pyOCD counts it) and
/// `write32 ADDR VALUE`, with their 16- and 8-bit forms.
const SIZED_ALIASES: [(&str, AccessSize, bool); 12] = [
    ("mdw", AccessSize::U32, false),
    ("mdh", AccessSize::U16, false),
    ("mdb", AccessSize::U8, false),
    ("read32", AccessSize::U32, true),
    ("read16", AccessSize::U16, true),
    ("read8", AccessSize::U8, true),
    ("mww", AccessSize::U32, false),
    ("mwh", AccessSize::U16, false),
    ("mwb", AccessSize::U8, false),
    ("write32", AccessSize::U32, false),
    ("write16", AccessSize::U16, false),
    ("write8", AccessSize::U8, false),
];

/// The target of a sized alias: an address, at the alias's size.
fn sized_target(
    a: &mut Args,
    target: Target,
) -> Result<(Target, Option<(AccessSize, bool)>), ParseError> {
    let Some(&(alias, size, bytes)) = SIZED_ALIASES.iter().find(|(n, _, _)| *n == a.typed) else {
        return Ok((target, None));
    };
    let col = a.tokens[a.pos - 1].col;
    match target {
        Target::Address { addr, size: None } => Ok((
            Target::Address {
                addr,
                size: Some(size),
            },
            Some((size, bytes)),
        )),
        Target::Address { size: Some(s), .. } if s == size => Ok((target, Some((size, bytes)))),
        Target::Address { .. } => Err(ParseError::new(
            format!("`{alias}` makes {}-bit accesses", size.bytes() * 8),
            "drop the size suffix, or use `read`/`write` with it".to_string(),
            col,
            a.line,
        )),
        Target::Name(n) => Err(ParseError::new(
            format!("`{alias}` takes an address, not the name `{n}`"),
            format!("use `read {n}` / `write {n} VALUE` for registers by name"),
            col,
            a.line,
        )),
    }
}

fn p_read(a: &mut Args) -> Result<Command, ParseError> {
    let target = a.target("TARGET")?;
    let (target, sized) = sized_target(a, target)?;
    let col = a.tokens.get(a.pos).map(|t| t.col);
    let count = a.opt_number("COUNT")?;
    let count = match (sized, count) {
        (Some((size, true)), Some(len)) => {
            let bytes = u64::from(size.bytes());
            if len == 0 || len % bytes != 0 {
                return Err(ParseError::new(
                    format!("LEN {len} is not a whole number of {bytes}-byte items"),
                    format!(
                        "`{}` counts LEN in bytes, as pyOCD does (e.g. {} for 4 items); \
                         `read ADDR COUNT` counts items",
                        a.typed,
                        4 * bytes
                    ),
                    col.unwrap_or(0),
                    a.line,
                ));
            }
            Some(len / bytes)
        }
        (_, count) => count,
    };
    Ok(Command::Read { target, count })
}

fn p_write(a: &mut Args) -> Result<Command, ParseError> {
    let target = a.target("TARGET")?;
    let (target, _) = sized_target(a, target)?;
    if a.next_is_assignment() {
        let register = match target {
            Target::Name(n) => n,
            Target::Address { .. } => {
                let col = a.tokens[a.pos - 1].col;
                return Err(ParseError::new(
                    "field assignments need a register name, not an address",
                    "use `write REG FIELD=VALUE ...` with a register name, or `write ADDRESS VALUE`",
                    col,
                    a.line,
                ));
            }
        };
        let fields = a.assignments("FIELD=VALUE")?;
        return Ok(Command::WriteFields { register, fields });
    }
    let value = a.value("VALUE")?;
    Ok(Command::Write { target, value })
}

fn p_show(a: &mut Args) -> Result<Command, ParseError> {
    let peripheral = a.name("PERIPH")?;
    let registers = a.rest_names("REG")?;
    Ok(Command::Show {
        peripheral,
        registers,
    })
}

fn p_find(a: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Find(a.word("PATTERN")?))
}

fn p_info(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Info)
}
fn p_status(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Status)
}
fn p_reconnect(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Reconnect)
}
fn p_halt(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Halt)
}
fn p_resume(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Resume)
}
fn p_step(a: &mut Args) -> Result<Command, ParseError> {
    let col = a.tokens.get(a.pos).map_or(0, |t| t.col);
    match a.opt_number("N")? {
        None => Ok(Command::Step(1)),
        Some(n @ 1..=MAX_STEPS) => Ok(Command::Step(n)),
        Some(n) => Err(ParseError::new(
            format!("cannot step {n} instructions"),
            format!("N is 1 to {MAX_STEPS}; to run freely use `resume`, then `halt`"),
            col,
            a.line,
        )),
    }
}

/// Most instructions one `step N` makes (each is a few probe round trips; Ctrl-C stops it).
pub const MAX_STEPS: u64 = 100_000;
fn p_regs(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Regs)
}
fn p_quit(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Quit)
}
fn p_doctor(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Doctor)
}

fn p_reset(a: &mut Args) -> Result<Command, ParseError> {
    let kind = match a.keyword(&["core", "system"]) {
        Some("core") => ResetKind::Core,
        _ => ResetKind::System,
    };
    let halt = a.keyword(&["halt"]).is_some();
    Ok(Command::Reset { kind, halt })
}

fn p_reg(a: &mut Args) -> Result<Command, ParseError> {
    let name = a.name("NAME")?;
    let value = if a.is_empty() {
        None
    } else {
        Some(a.value("VALUE")?)
    };
    Ok(Command::Reg { name, value })
}

fn p_help(a: &mut Args) -> Result<Command, ParseError> {
    // `help ob set`: a command and one of its sub-commands, kept as one topic.
    let topic = a.opt_word().map(|cmd| match a.opt_word() {
        Some(sub) => format!("{cmd} {sub}"),
        None => cmd,
    });
    Ok(Command::Help(topic))
}

fn p_sim(a: &mut Args) -> Result<Command, ParseError> {
    a.subcommand()
}
fn p_sim_stats(a: &mut Args) -> Result<Command, ParseError> {
    let reset = a.keyword(&["reset"]).is_some();
    Ok(Command::Sim(SimCommand::Stats { reset }))
}
fn p_sim_power_cycle(_: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Sim(SimCommand::PowerCycle))
}
fn p_sim_boot0(a: &mut Args) -> Result<Command, ParseError> {
    let high = a
        .opt_keyword_strict("BOOT0 level", &["0", "1"])?
        .map(|k| k == "1");
    Ok(Command::Sim(SimCommand::Boot0(high)))
}
fn p_sim_nrst(a: &mut Args) -> Result<Command, ParseError> {
    let held = a
        .opt_keyword_strict("NRST action", &["hold", "release"])?
        .map(|k| k == "hold");
    Ok(Command::Sim(SimCommand::Nrst(held)))
}
fn p_sim_serve(a: &mut Args) -> Result<Command, ParseError> {
    // `pyocd=5555,bitbang=3335` or the same items separated by spaces.
    let words = a.rest_words();
    Ok(Command::Sim(SimCommand::Serve(
        (!words.is_empty()).then(|| words.join(",")),
    )))
}
fn p_sim_wait(a: &mut Args) -> Result<Command, ParseError> {
    let col = a.peek().map_or(a.end_col, |t| t.col);
    let ms = a.number("MS")?;
    check_sim_wait(ms).map_err(|(message, hint)| ParseError::new(message, hint, col, a.line))?;
    Ok(Command::Sim(SimCommand::Wait { ms }))
}

/// Longest virtual wait of one `sim wait` (or `sleep()` on the virtual board), in ms. Virtual
/// time still costs real time to simulate (about 0.1 s per virtual hour when the chip is
/// idle), so an unbounded wait would never return.
pub const MAX_SIM_WAIT_MS: u64 = 3_600_000;

/// Why a virtual wait of `ms` is refused: (message, hint).
pub fn check_sim_wait(ms: u64) -> Result<(), (String, String)> {
    if ms > MAX_SIM_WAIT_MS {
        return Err((
            format!("a virtual wait of {ms} ms is longer than the limit of {MAX_SIM_WAIT_MS} ms (one hour)"),
            "wait in several steps if the board really must run that long".into(),
        ));
    }
    Ok(())
}

fn p_ob(a: &mut Args) -> Result<Command, ParseError> {
    if a.is_empty() {
        Ok(Command::Ob)
    } else {
        a.subcommand()
    }
}
fn p_ob_set(a: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::ObSet(a.assignments("NAME=VALUE")?))
}

fn p_report(a: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Report(a.opt_word()))
}

fn p_wait(a: &mut Args) -> Result<Command, ParseError> {
    let target = a.target("TARGET")?;
    let t = a.take("OP")?;
    let Some(op) = WaitOp::ALL
        .iter()
        .find(|(s, _)| *s == t.text && !t.quoted)
        .map(|(_, op)| *op)
    else {
        return Err(ParseError::new(
            format!("unknown comparison `{}` for `wait`", t.text),
            format!("use one of == != < > <= >= &; usage: {}", a.usage),
            t.col,
            a.line,
        ));
    };
    let value = a.value("VALUE")?;
    let timeout_ms = if a.keyword(&["timeout"]).is_some() {
        Some(a.number("MS")?)
    } else {
        None
    };
    Ok(Command::Wait {
        target,
        op,
        value,
        timeout_ms,
    })
}

fn p_snap(a: &mut Args) -> Result<Command, ParseError> {
    // `list` and `save` unquoted are sub-commands; `snap "list"` names a snapshot `list`.
    if a.keyword(&["list"]).is_some() {
        return Ok(Command::SnapList);
    }
    if a.keyword(&["save"]).is_some() {
        let file = a.word("FILE")?;
        let name = a.opt_word();
        return Ok(Command::SnapSave { file, name });
    }
    let name = a.word("NAME")?;
    let peripherals = a.rest_names("PERIPH")?;
    Ok(Command::Snap { name, peripherals })
}

fn p_diff(a: &mut Args) -> Result<Command, ParseError> {
    let name = a.word("NAME")?;
    let peripherals = a.rest_names("PERIPH")?;
    Ok(Command::Diff { name, peripherals })
}

fn p_run(a: &mut Args) -> Result<Command, ParseError> {
    let file = a.word("FILE")?;
    let args = a.rest_words();
    Ok(Command::Run { file, args })
}

fn p_eval(a: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Eval(a.raw_text("EXPR")?))
}

fn p_record(a: &mut Args) -> Result<Command, ParseError> {
    if a.keyword(&["stop"]).is_some() {
        return Ok(Command::Record(None));
    }
    Ok(Command::Record(Some(a.word("FILE")?)))
}

// ---------------------------------------------------------------------------
// The table

const SIM_SUBS: &[&str] = &["stats", "power-cycle", "wait", "nrst", "boot0", "serve"];
const WAIT_OPS: &[&str] = &["==", "!=", "<", ">", "<=", ">=", "&"];

static SIM_COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "stats",
        aliases: &[],
        synopsis: "sim stats [reset]",
        summary: "show (or reset) virtual-board access statistics",
        help: "Shows counters of the simulated board (reads, writes, faults). `reset` clears them.",
        args: &[ArgKind::Keywords(&["reset"])],
        repeat_last: false,
        subcommands: &[],
        parse: p_sim_stats,
    },
    CommandSpec {
        name: "power-cycle",
        aliases: &[],
        synopsis: "sim power-cycle",
        summary: "power-cycle the virtual board",
        help: "Removes and restores power on the simulated board: RAM is lost, option bytes and flash are kept.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_sim_power_cycle,
    },
    CommandSpec {
        name: "wait",
        aliases: &[],
        synopsis: "sim wait MS",
        summary: "advance simulated time by MS milliseconds",
        help: "Lets the simulated board run for MS milliseconds of virtual time.",
        args: &[ArgKind::Number],
        repeat_last: false,
        subcommands: &[],
        parse: p_sim_wait,
    },
    CommandSpec {
        name: "nrst",
        aliases: &[],
        synopsis: "sim nrst [hold|release]",
        summary: "hold or release the board's reset button",
        help: "Holds NRST low as the board's reset button does (the probe's own reset line is \
               separate: either one holds the chip in reset), or releases it (a system reset, \
               PINRSTF). While NRST is held the AXI/AHB answers no debugger (AP0, AP1, AP3 \
               memory); the cores' debug registers and AP2 still do. Without an argument, \
               says whether it is held.",
        args: &[ArgKind::Keywords(&["hold", "release"])],
        repeat_last: false,
        subcommands: &[],
        parse: p_sim_nrst,
    },
    CommandSpec {
        name: "boot0",
        aliases: &[],
        synopsis: "sim boot0 [0|1]",
        summary: "set the board's BOOT0 jumper",
        help: "BOOT0 = 1 boots each core from its BCMx_ADD1 address at the next reset or power \
               cycle (factory: the CM7 into ST's bootloader, which never touches PWR_CR3: the \
               way back from a wrong supply configuration). Kept across power cycles. Without \
               an argument, shows it.",
        args: &[ArgKind::Keywords(&["0", "1"])],
        repeat_last: false,
        subcommands: &[],
        parse: p_sim_boot0,
    },
    CommandSpec {
        name: "serve",
        aliases: &[],
        synopsis: "sim serve [pyocd[=[HOST:]PORT]] [bitbang[=[HOST:]PORT]] [bmp[=[HOST:]PORT]]",
        summary: "serve the virtual board to pyOCD, OpenOCD and probe-rs's BMP driver",
        help: "Listens for debuggers h7sh did not write, on the same board as this shell: \
               `pyocd` speaks pyOCD's remote probe protocol (`pyocd commander -u \
               remote:127.0.0.1:5555 -t cortex_m`), `bitbang` OpenOCD's remote_bitbang \
               (JTAG; `adapter driver remote_bitbang; remote_bitbang port 3335; transport \
               select jtag`, then `-f target/stm32h7x.cfg`), `bmp` the Black Magic Probe \
               remote protocol (`h7sh --probe 1d50:6018:127.0.0.1:2000`, or any probe-rs \
               tool given that selector). Loopback unless a host is named; port 0 takes a \
               free one. Each client has its own debug-port context (SELECT, CSW, TAR, TAP \
               state); memory, cores and NRST are shared, so a write by one is read by the \
               others. `sim stats` counts each client apart. Without an argument, lists the \
               listeners. Docs: docs/serve.md.",
        args: &[ArgKind::Keywords(&["pyocd", "bitbang", "bmp"])],
        repeat_last: false,
        subcommands: &[],
        parse: p_sim_serve,
    },
];

static OB_COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "set",
    aliases: &[],
    synopsis: "ob set NAME=VALUE...",
    summary: "program option bytes",
    help: "Programs option bytes by their RM0399 names, e.g. `ob set BOR_LEV=2 IWDG1_SW=1`.",
    args: &[ArgKind::FieldAssignments],
    repeat_last: true,
    subcommands: &[],
    parse: p_ob_set,
}];

static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ap",
        aliases: &[],
        synopsis: "ap [N|cm7|d3|apb-d|cm4]",
        summary: "show or select the access port",
        help: "Without N, lists the access ports and marks the selected one. With N (or its \
               label), selects it: 0 `cm7` = CM7 AHB-AP, 1 `d3` = D3 AHB-AP, 2 `apb-d` = APB-AP \
               (ROM table, DBGMCU, trace), 3 `cm4` = CM4 AHB-AP.",
        args: &[ArgKind::Keywords(&["cm7", "d3", "apb-d", "cm4"])],
        repeat_last: false,
        subcommands: &[],
        parse: p_ap,
    },
    CommandSpec {
        name: "core",
        aliases: &[],
        synopsis: "core [cm7|cm4|0|3]",
        summary: "show or select the core (and its access port)",
        help: "Without argument, shows the selected core (the selected AP's line). `core cm7` (or \
               `core 0`) selects AP0, `core cm4` (or `core 3`) selects AP3.",
        args: &[ArgKind::Keywords(&["cm7", "cm4"])],
        repeat_last: false,
        subcommands: &[],
        parse: p_core,
    },
    CommandSpec {
        name: "read",
        aliases: &["r", "mdw", "mdh", "mdb", "read32", "read16", "read8"],
        synopsis: "read|r TARGET [COUNT]",
        summary: "read a register, field or memory",
        help: "TARGET is a name (PERIPH.REG.FIELD, PERIPH_REG, GPIOA.AFR[1], P.CL[2].REG) or an \
               address with an optional access size: /b (8-bit), /h (16-bit), /w (32-bit), \
               e.g. `read 0x08000000/w 4`. COUNT reads that many consecutive items. OpenOCD's \
               `mdw|mdh|mdb ADDR [COUNT]` and pyOCD's `read32|read16|read8 ADDR [LEN]` (LEN in \
               bytes, as in pyOCD) read memory at their size.",
        args: &[ArgKind::Target, ArgKind::Number],
        repeat_last: false,
        subcommands: &[],
        parse: p_read,
    },
    CommandSpec {
        name: "write",
        aliases: &["w", "mww", "mwh", "mwb", "write32", "write16", "write8"],
        synopsis: "write|w TARGET VALUE | write|w REG FIELD=VALUE...",
        summary: "write a register, field or memory",
        help: "`write TARGET VALUE` writes a register, field or address. `write REG F1=V1 F2=V2` \
               updates several fields in one read-modify-write. VALUE is a number (42, 0x2A, \
               0b101010, 0o52, `_` separators) or an enumerated value name such as Enabled. \
               OpenOCD's `mww|mwh|mwb ADDR VALUE` and pyOCD's `write32|write16|write8 ADDR \
               VALUE` write memory at their size.",
        args: &[ArgKind::Target, ArgKind::FieldAssignments],
        repeat_last: true,
        subcommands: &[],
        parse: p_write,
    },
    CommandSpec {
        name: "show",
        aliases: &[],
        synopsis: "show PERIPH [REG...]",
        summary: "decode a peripheral's registers and fields",
        help: "Reads and decodes all registers of PERIPH, or only the listed ones.",
        args: &[ArgKind::Peripheral, ArgKind::Name],
        repeat_last: true,
        subcommands: &[],
        parse: p_show,
    },
    CommandSpec {
        name: "find",
        aliases: &[],
        synopsis: "find PATTERN",
        summary: "search peripheral, register and field names",
        help: "Lists names matching PATTERN (case-insensitive substring; quote it if it has spaces).",
        args: &[ArgKind::Word],
        repeat_last: false,
        subcommands: &[],
        parse: p_find,
    },
    CommandSpec {
        name: "info",
        aliases: &[],
        synopsis: "info",
        summary: "show chip, probe and session information",
        help: "Shows the probe and connection, the loaded SVD, the chip's identity (DPIDR, \
               DBGMCU_IDC) and each access port with its ROM table and core (CPUID).",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_info,
    },
    CommandSpec {
        name: "status",
        aliases: &[],
        synopsis: "status",
        summary: "show the run state of both cores",
        help: "Shows whether each core is running, halted, sleeping or held in reset.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_status,
    },
    CommandSpec {
        name: "reconnect",
        aliases: &[],
        synopsis: "reconnect",
        summary: "attach to the debug port again after a lost link",
        help: "Closes the link to the chip and attaches again, as after a power cycle, a reset \
               that dropped the debug port, or a glitch on the wire. The probe stays open: \
               when the target does not answer yet, run it again once the board is back. AP3 \
               (CM4) is attached again on its next use.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_reconnect,
    },
    CommandSpec {
        name: "halt",
        aliases: &["h"],
        synopsis: "halt|h",
        summary: "halt the selected core",
        help: "Halts the selected core and shows its PC.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_halt,
    },
    CommandSpec {
        name: "resume",
        aliases: &["g", "go", "c", "continue"],
        synopsis: "resume|go|g|continue|c",
        summary: "resume the selected core",
        help: "Lets the selected core run.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_resume,
    },
    CommandSpec {
        name: "step",
        aliases: &["s"],
        synopsis: "step|s [N]",
        summary: "single-step the selected core",
        help: "Executes one instruction (or N) on the (halted) selected core and shows the new \
               PC. In the shell, Enter on an empty line after `step` steps again.",
        args: &[ArgKind::Number],
        repeat_last: false,
        subcommands: &[],
        parse: p_step,
    },
    CommandSpec {
        name: "reset",
        aliases: &[],
        synopsis: "reset [core|system] [halt]",
        summary: "reset the core or the whole system",
        help: "`reset` alone is a system reset (like OpenOCD's `monitor reset`). `reset core` \
               resets only the selected core. `halt` stops the core at the reset vector.",
        args: &[
            ArgKind::Keywords(&["core", "system", "halt"]),
            ArgKind::Keywords(&["halt"]),
        ],
        repeat_last: false,
        subcommands: &[],
        parse: p_reset,
    },
    CommandSpec {
        name: "regs",
        aliases: &[],
        synopsis: "regs",
        summary: "show the core registers",
        help: "Shows r0-r12, sp, lr, pc, xpsr and the special registers of the selected (halted) core.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_regs,
    },
    CommandSpec {
        name: "reg",
        aliases: &[],
        synopsis: "reg NAME [VALUE]",
        summary: "read or write one core register",
        help: "NAME is a core register: r0..r12, sp, lr, pc, xpsr, msp, psp, control, primask, \
               s0..s31, fpscr. With VALUE, writes it (core must be halted).",
        args: &[ArgKind::CoreReg, ArgKind::Value],
        repeat_last: false,
        subcommands: &[],
        parse: p_reg,
    },
    CommandSpec {
        name: "sim",
        aliases: &[],
        synopsis: "sim stats [reset] | sim power-cycle | sim wait MS | sim nrst [hold|release] | sim boot0 [0|1] | sim serve [SPEC]",
        summary: "control the virtual board",
        help: "Commands that only make sense on the simulated board.",
        args: &[ArgKind::Keywords(SIM_SUBS)],
        repeat_last: false,
        subcommands: SIM_COMMANDS,
        parse: p_sim,
    },
    CommandSpec {
        name: "ob",
        aliases: &[],
        synopsis: "ob | ob set NAME=VALUE...",
        summary: "show or program option bytes",
        help: "`ob` shows the option bytes; `ob set NAME=VALUE ...` programs them (RM0399 names).",
        args: &[ArgKind::Keywords(&["set"])],
        repeat_last: false,
        subcommands: OB_COMMANDS,
        parse: p_ob,
    },
    CommandSpec {
        name: "doctor",
        aliases: &[],
        synopsis: "doctor",
        summary: "diagnose common setup problems",
        help: "Checks probe, connection, power domains, option bytes and clocks and explains what looks wrong.",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_doctor,
    },
    CommandSpec {
        name: "report",
        aliases: &[],
        synopsis: "report [FILE]",
        summary: "write a diagnostic report",
        help: "Collects status, option bytes and key registers; prints them or writes them to FILE.",
        args: &[ArgKind::File],
        repeat_last: false,
        subcommands: &[],
        parse: p_report,
    },
    CommandSpec {
        name: "wait",
        aliases: &[],
        synopsis: "wait TARGET OP VALUE [timeout MS]",
        summary: "poll until a register/field/address satisfies a condition",
        help: "OP is one of == != < > <= >= & (`&`: any of the VALUE bits set). \
               Example: `wait RCC.CR.HSERDY == 1 timeout 500`.",
        args: &[
            ArgKind::Target,
            ArgKind::Keywords(WAIT_OPS),
            ArgKind::Value,
            ArgKind::Keywords(&["timeout"]),
            ArgKind::Number,
        ],
        repeat_last: false,
        subcommands: &[],
        parse: p_wait,
    },
    CommandSpec {
        name: "snap",
        aliases: &[],
        synopsis: "snap NAME [PERIPH...] | snap list | snap save FILE [NAME]",
        summary: "save a snapshot of peripheral registers",
        help: "Saves the registers of the listed peripherals under NAME for `diff` (default: \
               FLASH, RCC, PWR, DBGMCU, SYSCFG and HSEM, the ones that decide how the cores boot). \
               `snap list` lists the snapshots of this session; `snap save FILE [NAME]` writes one \
               to a JSON file (NAME may be left out when there is one), which `diff FILE` compares \
               with later, on this board or another: a baseline to post with a forum question.",
        args: &[ArgKind::Word, ArgKind::Peripheral],
        repeat_last: true,
        subcommands: &[],
        parse: p_snap,
    },
    CommandSpec {
        name: "diff",
        aliases: &[],
        synopsis: "diff NAME|FILE [PERIPH...]",
        summary: "compare registers with a snapshot",
        help: "Shows registers and fields that changed since `snap NAME`, or since the snapshot \
               saved in FILE by `snap save FILE`.",
        args: &[ArgKind::Word, ArgKind::Peripheral],
        repeat_last: true,
        subcommands: &[],
        parse: p_diff,
    },
    CommandSpec {
        name: "run",
        aliases: &[],
        synopsis: "run FILE [ARGS...]",
        summary: "run a script",
        help: "Runs a Rhai script file; ARGS are words or quoted strings passed to it. A file \
               that is not .rhai and holds h7sh commands runs them, line by line, as typed.",
        args: &[ArgKind::File, ArgKind::Word],
        repeat_last: true,
        subcommands: &[],
        parse: p_run,
    },
    CommandSpec {
        name: "eval",
        aliases: &[],
        synopsis: "eval EXPR",
        summary: "evaluate a script expression",
        help: "The rest of the line, including `;` and `#`, is passed to the scripting engine.",
        args: &[ArgKind::Text],
        repeat_last: false,
        subcommands: &[],
        parse: p_eval,
    },
    CommandSpec {
        name: "record",
        aliases: &[],
        synopsis: "record FILE | record stop",
        summary: "record commands to a script file",
        help: "Writes every following command that succeeds, in canonical form, to FILE \
               (replacing it; failed commands are left out so the script replays cleanly) \
               until `record stop`. \
               Quote a file literally named stop: `record \"stop\"`.",
        args: &[ArgKind::File],
        repeat_last: false,
        subcommands: &[],
        parse: p_record,
    },
    CommandSpec {
        name: "help",
        aliases: &["?"],
        synopsis: "help [CMD]",
        summary: "list commands or show help for one",
        help: "`help` lists all commands; `help CMD` shows the details of one.",
        args: &[ArgKind::CommandName],
        repeat_last: false,
        subcommands: &[],
        parse: p_help,
    },
    CommandSpec {
        name: "quit",
        aliases: &["exit", "q"],
        synopsis: "quit|exit|q",
        summary: "leave h7sh",
        help: "Leaves the shell (stops a running `record` first).",
        args: &[],
        repeat_last: false,
        subcommands: &[],
        parse: p_quit,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for s in commands() {
            for w in std::iter::once(&s.name).chain(s.aliases.iter()) {
                assert!(seen.insert(*w), "duplicate command word {w}");
                assert_eq!(*w, w.to_lowercase());
            }
            assert!(s.synopsis.starts_with(s.name), "{}", s.synopsis);
            assert!(!s.summary.is_empty() && !s.help.is_empty());
            if s.repeat_last {
                assert!(!s.args.is_empty());
            }
            for (i, a) in s.args.iter().enumerate() {
                if *a == ArgKind::Text {
                    assert_eq!(i, 0, "Text must be the first argument of {}", s.name);
                }
            }
            if !s.subcommands.is_empty() {
                let ArgKind::Keywords(kws) = s.args[0] else {
                    panic!("{}: args[0] must list sub-commands", s.name)
                };
                for sub in s.subcommands {
                    assert!(kws.contains(&sub.name), "{} missing {}", s.name, sub.name);
                    assert!(sub
                        .synopsis
                        .starts_with(&format!("{} {}", s.name, sub.name)));
                }
            }
        }
    }

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("rdd", "read"), 2);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(suggest("rdd"), Some("read"));
        assert_eq!(suggest("HALTT"), Some("halt"));
        assert_eq!(suggest("stauts"), Some("status"));
        assert_eq!(suggest("xyzzy"), None);
        assert_eq!(suggest("exti"), Some("exit"));
    }
}
