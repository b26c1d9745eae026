//! Completion context: what is being completed at the cursor.

use super::commands::{lookup, ArgKind};
use super::lex::takes_raw_rest;

/// What kind of word the cursor is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionKind {
    /// The first word of a command.
    CommandName,
    /// An argument of the given kind (from the command table).
    Arg(ArgKind),
    /// The value part of `NAME=VALUE` (`write REG FIELD=<here>`,
    /// `ob set NAME=<here>`): enumerated value names of `name`.
    AssignmentValue { name: String },
    /// Nothing to complete (comment, `eval` text, unknown command, too many arguments).
    Nothing,
}

/// Result of [`completion_context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionContext {
    /// Byte offset in the line where the word being completed starts
    /// (for a quoted word: the opening quote; for `NAME=VALUE`: after `=`).
    pub start: usize,
    /// The (unquoted) text of that word up to the cursor.
    pub word: String,
    pub kind: CompletionKind,
    /// Canonical name of the command being typed, if known.
    pub command: Option<&'static str>,
    /// Complete words between the command name and the current word
    /// (e.g. the register of `write REG F=`, or `stats` for `sim stats`).
    pub args: Vec<String>,
}

/// Tells what is being completed in `line` with the cursor at byte offset
/// `pos` (clamped to the line and to a character boundary).
pub fn completion_context(line: &str, pos: usize) -> CompletionContext {
    let mut pos = pos.min(line.len());
    while !line.is_char_boundary(pos) {
        pos -= 1;
    }
    let prefix = &line[..pos];
    let nothing = |start: usize, word: String| CompletionContext {
        start,
        word,
        kind: CompletionKind::Nothing,
        command: None,
        args: Vec::new(),
    };

    let mut words: Vec<String> = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    let mut quote: Option<char> = None;
    let mut chars = prefix.char_indices();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            let w = &mut cur.get_or_insert((i, String::new())).1;
            if c == q {
                quote = None;
            } else if q == '"' && c == '\\' {
                match chars.next() {
                    Some((_, e)) if e == '"' || e == '\\' => w.push(e),
                    Some((_, e)) => {
                        w.push('\\');
                        w.push(e);
                    }
                    None => w.push('\\'),
                }
            } else {
                w.push(c);
            }
            continue;
        }
        if c.is_whitespace() || c == ';' {
            if let Some((_, w)) = cur.take() {
                words.push(w);
                if words.len() == 1 && takes_raw_rest(&words[0]) {
                    return nothing(pos, String::new());
                }
            }
            if c == ';' {
                words.clear();
            }
            continue;
        }
        if c == '#' {
            return nothing(pos, String::new());
        }
        if (c == '"' || c == '\'') && cur.is_none() {
            quote = Some(c);
            cur = Some((i, String::new()));
            continue;
        }
        cur.get_or_insert((i, String::new())).1.push(c);
    }
    let (start, word) = cur.unwrap_or((pos, String::new()));
    if words.is_empty() {
        return CompletionContext {
            start,
            word,
            kind: CompletionKind::CommandName,
            command: None,
            args: Vec::new(),
        };
    }
    let Some(top) = lookup(&words[0]) else {
        return nothing(start, word);
    };
    let args: Vec<String> = words[1..].to_vec();
    let mut spec = top;
    let mut p = args.len();
    if !spec.subcommands.is_empty() && !args.is_empty() {
        match spec.subcommand(&args[0]) {
            Some(sub) => {
                spec = sub;
                p -= 1;
            }
            None => return nothing(start, word),
        }
    }
    let kind = match spec.args.get(p) {
        Some(k) => Some(*k),
        None if spec.repeat_last => spec.args.last().copied(),
        None => None,
    };
    let mut ctx = CompletionContext {
        start,
        word,
        kind: CompletionKind::Nothing,
        command: Some(top.name),
        args,
    };
    match kind {
        None => {}
        Some(ArgKind::FieldAssignments) if ctx.word.contains('=') => {
            let eq = ctx.word.find('=').unwrap_or(0);
            let name = ctx.word[..eq].to_string();
            ctx.word = ctx.word[eq + 1..].to_string();
            ctx.start += eq + 1;
            ctx.kind = CompletionKind::AssignmentValue { name };
        }
        Some(k) => ctx.kind = CompletionKind::Arg(k),
    }
    ctx
}
