//! Line lexer: splits one line into statements (commands) made of tokens.
//!
//! Rules: whitespace separates words; `;` separates commands; `#` outside
//! quotes starts a comment running to the end of the line; `"..."` (with
//! `\"` and `\\` escapes, any other backslash kept literally) and `'...'`
//! (no escapes) are quoted words. A command whose first argument kind is
//! [`ArgKind::Text`](super::ArgKind::Text) (e.g. `eval`) takes the rest of
//! the line raw, including any `;` and `#`.

use nom::bytes::complete::{take_while, take_while1};
use nom::{IResult, Parser};

use super::{ArgKind, ParseError};

/// One word of a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// Unquoted / unescaped text.
    pub text: String,
    /// Whether the word was written in quotes.
    pub quoted: bool,
    /// 1-based column (in characters) of the first character of the word.
    pub col: usize,
}

/// One command as written on a line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub tokens: Vec<Token>,
    /// Raw rest of the line (and its column) for `Text` commands such as `eval`.
    pub raw: Option<(String, usize)>,
    /// 1-based column just after the last token (where a missing argument goes).
    pub end_col: usize,
    pub line: usize,
}

pub(crate) fn is_word_end(c: char) -> bool {
    c.is_whitespace() || c == ';' || c == '#'
}

fn spaces(i: &str) -> IResult<&str, &str> {
    take_while(char::is_whitespace).parse(i)
}

fn bare_word(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| !is_word_end(c)).parse(i)
}

/// Parses a quoted word starting at the opening quote. Returns the remaining
/// input and the unescaped text, or `None` if the closing quote is missing.
pub(crate) fn quoted(input: &str) -> Option<(&str, String)> {
    let mut it = input.char_indices();
    let (_, q) = it.next()?;
    let mut out = String::new();
    while let Some((i, c)) = it.next() {
        if c == q {
            return Some((&input[i + c.len_utf8()..], out));
        }
        if q == '"' && c == '\\' {
            match it.next() {
                Some((_, e)) if e == '"' || e == '\\' => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            }
            continue;
        }
        out.push(c);
    }
    None
}

/// True if the command named `word` takes the raw rest of the line.
pub(crate) fn takes_raw_rest(word: &str) -> bool {
    super::lookup(word).is_some_and(|s| s.args.first() == Some(&ArgKind::Text))
}

/// Longest command line accepted, in bytes (a typed or scripted command is far shorter; this
/// keeps a runaway generated line from costing memory and time).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Column numbers of positions in one line, counted incrementally: the lexer asks at
/// positions that only move forward, so a line costs one pass (it was counted from the start
/// of the line at every token: quadratic).
struct Columns<'a> {
    line: &'a str,
    byte: usize,
    col: usize,
}

impl Columns<'_> {
    /// 1-based column (in characters) where `rest`, a suffix of the line, starts.
    fn of(&mut self, rest: &str) -> usize {
        let at = self.line.len() - rest.len();
        if at >= self.byte {
            self.col += self.line[self.byte..at].chars().count();
        } else {
            self.col = self.line[..at].chars().count();
        }
        self.byte = at;
        self.col + 1
    }
}

/// Splits one line (without its newline) into statements.
pub(crate) fn split_line(line: &str, line_no: usize) -> Result<Vec<Statement>, ParseError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(ParseError::new(
            format!(
                "the line is {} bytes long, more than the limit of {MAX_LINE_BYTES}",
                line.len()
            ),
            "split it into several lines (commands can be separated by newlines)",
            1,
            line_no,
        ));
    }
    let mut cols = Columns {
        line,
        byte: 0,
        col: 0,
    };
    let mut col_of = |rest: &str| cols.of(rest);
    let mut stmts = Vec::new();
    let mut cur: Option<Statement> = None;
    let mut rest = line;
    loop {
        // `spaces` never fails (take_while accepts empty input).
        if let Ok((r, _)) = spaces(rest) {
            rest = r;
        }
        let Some(c) = rest.chars().next() else { break };
        match c {
            '#' => break,
            ';' => {
                if let Some(s) = cur.take() {
                    stmts.push(s);
                }
                rest = &rest[1..];
            }
            '"' | '\'' => {
                let col = col_of(rest);
                let Some((r, text)) = quoted(rest) else {
                    return Err(ParseError::new(
                        "unterminated quoted string",
                        format!("add a closing `{c}` at the end of the word"),
                        col,
                        line_no,
                    ));
                };
                if let Some(n) = r.chars().next() {
                    if !is_word_end(n) {
                        return Err(ParseError::new(
                            format!("unexpected `{n}` right after a quoted string"),
                            "put a space between arguments, or quote the whole word",
                            col_of(r),
                            line_no,
                        ));
                    }
                }
                rest = r;
                let stmt = cur.get_or_insert_with(|| Statement {
                    tokens: Vec::new(),
                    raw: None,
                    end_col: col,
                    line: line_no,
                });
                stmt.tokens.push(Token {
                    text,
                    quoted: true,
                    col,
                });
                stmt.end_col = col_of(rest);
            }
            _ => {
                let col = col_of(rest);
                let Ok((r, word)) = bare_word(rest) else {
                    // Unreachable in practice: `c` is not a word end here.
                    break;
                };
                rest = r;
                let first = cur.is_none();
                let stmt = cur.get_or_insert_with(|| Statement {
                    tokens: Vec::new(),
                    raw: None,
                    end_col: col,
                    line: line_no,
                });
                stmt.tokens.push(Token {
                    text: word.to_string(),
                    quoted: false,
                    col,
                });
                stmt.end_col = col_of(rest);
                if first && takes_raw_rest(word) {
                    let trimmed = rest.trim_start();
                    let raw_col = col_of(trimmed);
                    let raw = trimmed.trim_end();
                    if !raw.is_empty() {
                        stmt.raw = Some((raw.to_string(), raw_col));
                    }
                    break;
                }
            }
        }
    }
    if let Some(s) = cur {
        stmts.push(s);
    }
    Ok(stmts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<Vec<String>> {
        split_line(line, 1)
            .unwrap()
            .into_iter()
            .map(|s| s.tokens.into_iter().map(|t| t.text).collect())
            .collect()
    }

    #[test]
    fn splits_words_separators_and_comments() {
        assert_eq!(
            texts("read a ; w b 1;;halt # comment; step"),
            vec![vec!["read", "a"], vec!["w", "b", "1"], vec!["halt"]]
        );
        assert!(texts("   # only a comment").is_empty());
        assert!(texts("").is_empty());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            texts(r#"run "a b.rhai" 'x;y#z' "q\"\\\d""#),
            vec![vec!["run", "a b.rhai", "x;y#z", "q\"\\\\d"]]
        );
        let s = split_line("run 'é' x", 1).unwrap();
        assert_eq!(s[0].tokens[2].col, 9);
        assert_eq!(s[0].end_col, 10);
    }

    #[test]
    fn eval_takes_raw_rest() {
        let s = split_line("  EVAL  let x = #{a: 1}; x.a  ", 3).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].raw, Some(("let x = #{a: 1}; x.a".to_string(), 9)));
        assert_eq!(s[0].line, 3);
    }

    #[test]
    fn unterminated_quote_points_at_quote() {
        let e = split_line("run \"abc", 2).unwrap_err();
        assert_eq!((e.column, e.line), (5, 2));
        assert!(e.message.contains("unterminated"));
        let e = split_line("run \"abc\"def", 1).unwrap_err();
        assert_eq!(e.column, 10);
    }

    #[test]
    fn long_lines_are_refused_and_columns_stay_right() {
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        let e = split_line(&long, 4).unwrap_err();
        assert!(e.message.contains("more than the limit"), "{}", e.message);
        assert_eq!(e.line, 4);
        // Columns count characters, across many tokens of mixed widths.
        let line = "é ".repeat(1000);
        let s = split_line(&line, 1).unwrap();
        assert_eq!(s[0].tokens[999].col, 1999);
        let e = split_line(&(line + "\"x"), 1).unwrap_err();
        assert_eq!(e.column, 2001);
    }
}
