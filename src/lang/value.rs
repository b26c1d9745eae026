//! Numbers, values, register/field names and targets.
//!
//! All functions here report errors with 1-based columns relative to the
//! start of the string they were given (line 1); the command parser shifts
//! them to the position of the word in the input.

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_while};
use nom::character::complete::{char, digit1, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::separated_list1;
use nom::sequence::{delimited, pair};
use nom::{IResult, Parser};

use super::{AccessSize, ParseError, Target, Value};

/// Hint shown for malformed numbers.
pub const NUMBER_HINT: &str =
    "numbers look like 42, 0x2A, 0b10_1010 or 0o52 (`_` may separate digits, e.g. 0x0800_0000)";
/// Hint shown for malformed values.
pub const VALUE_HINT: &str =
    "a value is a number (42, 0x2A, 0b101010, 0o52, `_` separators allowed) \
     or an enumerated value name such as Enabled or Level0";
/// Hint shown for malformed register / field names.
pub const NAME_HINT: &str =
    "names look like GPIOA.MODER.MODE0, RCC_CR, GPIOA.AFR[1] or P.CL[2].REG; \
     addresses start with a digit (0x5800_0000/w)";
/// Hint shown for a bad access-size suffix.
pub const SIZE_HINT: &str = "use /b (8-bit), /h (16-bit) or /w (32-bit), e.g. 0x5C001000/w";

fn err(message: impl Into<String>, hint: impl Into<String>, column: usize) -> ParseError {
    ParseError::new(message, hint, column, 1)
}

fn ident(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        satisfy(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

fn segment(i: &str) -> IResult<&str, &str> {
    recognize(pair(ident, opt(delimited(char('['), digit1, char(']'))))).parse(i)
}

fn dotted_name(i: &str) -> IResult<&str, &str> {
    recognize(separated_list1(char('.'), segment)).parse(i)
}

fn radix_prefix(i: &str) -> IResult<&str, &str> {
    alt((tag_no_case("0x"), tag_no_case("0b"), tag_no_case("0o"))).parse(i)
}

/// Length in characters of the part of `s` before `rest`.
fn chars_before(s: &str, rest: &str) -> usize {
    s[..s.len() - rest.len()].chars().count()
}

/// True if `s` is a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_identifier(s: &str) -> bool {
    matches!(ident(s), Ok(("", _)))
}

/// Checks the register/field name grammar: `SEG(.SEG)*` where
/// `SEG = IDENT([DIGITS])?`, e.g. `GPIOA.AFR[1]`, `P.CL[2].REG`, `RCC_CR`.
pub fn check_name(s: &str) -> Result<(), ParseError> {
    match dotted_name(s) {
        Ok(("", _)) => Ok(()),
        Ok((rest, _)) => {
            let c = rest.chars().next().unwrap_or(' ');
            let col = chars_before(s, rest) + 1;
            let message = if c == '.' || c == '[' {
                format!("incomplete name `{s}`: `{c}` must be followed by a name or index")
            } else {
                format!("unexpected `{c}` in name `{s}`")
            };
            Err(err(message, NAME_HINT, col))
        }
        Err(_) => {
            let c = s.chars().next().unwrap_or(' ');
            Err(err(
                format!("`{s}` is not a valid name (starts with `{c}`)"),
                NAME_HINT,
                1,
            ))
        }
    }
}

fn negative(s: &str) -> ParseError {
    let hint = match parse_number(&s[1..]) {
        Ok(n) if n <= u64::from(u32::MAX) => format!(
            "values are unsigned; to store -{n} write its 32-bit two's complement 0x{:08X}",
            (n as u32).wrapping_neg()
        ),
        _ => "values are unsigned; write the two's complement in hex instead".to_string(),
    };
    err(format!("negative number `{s}` is not allowed"), hint, 1)
}

/// Parses an unsigned number: decimal, `0x` hex, `0b` binary or `0o` octal, with optional `_`
/// separators and a size suffix `k` (×1024) or `M` (×1024²) on a decimal number (`4k`, `1M`),
/// and sums and differences of those (`0x24000000+4`, `0x08100000-4k`), as OpenOCD's and
/// gdb's expressions allow. Values beyond `u64`, and results below 0, are an error.
pub fn parse_number(s: &str) -> Result<u64, ParseError> {
    // Terms start after a `+` or `-` that follows a digit or suffix (`0x1-2`), never at the
    // start (a leading `-` is a negative number, refused by the first term).
    let mut terms: Vec<(usize, char)> = vec![(0, '+')];
    for (i, c) in s.char_indices().skip(1) {
        if c == '+' || c == '-' {
            terms.push((i + 1, c));
        }
    }
    if terms.len() == 1 {
        return parse_term(s);
    }
    let mut acc: u64 = 0;
    for (n, &(start, op)) in terms.iter().enumerate() {
        let end = terms.get(n + 1).map_or(s.len(), |t| t.0 - 1);
        let term = &s[start..end];
        let v = parse_term(term).map_err(|mut e| {
            e.column += s[..start].chars().count();
            e
        })?;
        acc = match op {
            '+' => acc.checked_add(v).ok_or_else(|| {
                err(
                    format!("`{s}` is too large (the maximum is 0xFFFF_FFFF_FFFF_FFFF)"),
                    "values must fit in 64 bits",
                    1,
                )
            })?,
            _ => acc.checked_sub(v).ok_or_else(|| {
                err(
                    format!("`{s}` is below 0"),
                    "addresses and values are unsigned",
                    1,
                )
            })?,
        };
    }
    Ok(acc)
}

/// One term of [`parse_number`]: a number with an optional `k`/`M` suffix (decimal only: `b`
/// and the hex digits are no suffixes).
fn parse_term(s: &str) -> Result<u64, ParseError> {
    let (digits, scale) = match s.strip_suffix(['k', 'K']) {
        Some(d) if radix_prefix(d).is_err() => (d, 1024u64),
        _ => match s.strip_suffix('M') {
            Some(d) if radix_prefix(d).is_err() => (d, 1024 * 1024),
            _ => (s, 1),
        },
    };
    let v = parse_plain_number(digits)?;
    v.checked_mul(scale).ok_or_else(|| {
        err(
            format!("number `{s}` is too large (the maximum is 0xFFFF_FFFF_FFFF_FFFF)"),
            "values must fit in 64 bits",
            1,
        )
    })
}

/// A number without suffix or expression.
fn parse_plain_number(s: &str) -> Result<u64, ParseError> {
    if s.is_empty() {
        return Err(err("expected a number", NUMBER_HINT, 1));
    }
    if s.starts_with('-') {
        return Err(negative(s));
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(err(
            format!("expected a number, found `{s}`"),
            NUMBER_HINT,
            1,
        ));
    }
    let (digits, prefix, radix, kind) = match radix_prefix(s) {
        Ok((rest, p)) => {
            let (radix, kind) = match p.as_bytes()[1].to_ascii_lowercase() {
                b'x' => (16, "hexadecimal"),
                b'b' => (2, "binary"),
                _ => (8, "octal"),
            };
            (rest, p, radix, kind)
        }
        Err(_) => (s, "", 10, "decimal"),
    };
    let mut acc: u64 = 0;
    let mut any = false;
    for (i, c) in digits.char_indices() {
        if c == '_' {
            continue;
        }
        let col = prefix.len() + digits[..i].chars().count() + 1;
        let Some(d) = c.to_digit(radix) else {
            return Err(err(
                format!("invalid digit `{c}` in {kind} number `{s}`"),
                NUMBER_HINT,
                col,
            ));
        };
        any = true;
        acc = acc
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or_else(|| {
                err(
                    format!("number `{s}` is too large (the maximum is 0xFFFF_FFFF_FFFF_FFFF)"),
                    "values must fit in 64 bits",
                    1,
                )
            })?;
    }
    if !any {
        return Err(err(
            format!("missing digits after `{prefix}`"),
            NUMBER_HINT,
            prefix.len() + 1,
        ));
    }
    Ok(acc)
}

/// Parses a value: a number (see [`parse_number`]) or an enumerated-value
/// name (an identifier such as `Enabled`, `Level0`, `true`), kept as a
/// [`Value::Symbol`] for the session to resolve.
pub fn parse_value(s: &str) -> Result<Value, ParseError> {
    if s.is_empty() {
        return Err(err("expected a value", VALUE_HINT, 1));
    }
    if is_float(s) {
        // Kept as written: only FPU registers take floats (`reg s0 1.5`); the session says so
        // anywhere else.
        return Ok(Value::Symbol(s.to_string()));
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.starts_with('-') {
        return parse_number(s).map(Value::Number);
    }
    match ident(s) {
        Ok(("", _)) => Ok(Value::Symbol(s.to_string())),
        Ok((rest, _)) => {
            let c = rest.chars().next().unwrap_or(' ');
            Err(err(
                format!("unexpected `{c}` in value `{s}`"),
                VALUE_HINT,
                chars_before(s, rest) + 1,
            ))
        }
        Err(_) => Err(err(format!("invalid value `{s}`"), VALUE_HINT, 1)),
    }
}

/// Parses a target: an address with an optional `/b`, `/h` or `/w` access
/// size suffix (`0x08000000/w`), or a register/field name (`GPIOA.AFR[1]`).
pub fn parse_target(s: &str) -> Result<Target, ParseError> {
    if s.is_empty() {
        return Err(err("expected a register name or an address", NAME_HINT, 1));
    }
    if s.starts_with('-') {
        return Err(negative(s));
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        let (num, suffix) = match s.split_once('/') {
            Some((n, suf)) => (n, Some(suf)),
            None => (s, None),
        };
        let addr = parse_number(num)?;
        let size = match suffix {
            None => None,
            Some(suf) => Some(match suf.to_ascii_lowercase().as_str() {
                "b" => AccessSize::U8,
                "h" => AccessSize::U16,
                "w" => AccessSize::U32,
                _ => {
                    return Err(err(
                        format!("unknown access size `/{suf}`"),
                        SIZE_HINT,
                        num.chars().count() + 1,
                    ))
                }
            }),
        };
        return Ok(Target::Address { addr, size });
    }
    // `RCC+0x10`, `FLASH_OPTSR_CUR-4`: a name as an address, with an offset (the session
    // resolves the name; the text stays as typed).
    if let Some((name, offset)) = split_name_offset(s) {
        check_name(name)?;
        parse_offset(offset).map_err(|mut e| {
            e.column += name.chars().count();
            e
        })?;
        return Ok(Target::Name(s.to_string()));
    }
    check_name(s)?;
    Ok(Target::Name(s.to_string()))
}

/// `NAME+EXPR` or `NAME-EXPR` split at the first `+`/`-` (names have neither) when a number
/// follows it (`GPIO-A` stays a misspelt name).
pub fn split_name_offset(s: &str) -> Option<(&str, &str)> {
    let i = s.find(['+', '-'])?;
    let next = s[i + 1..].chars().next()?;
    (i > 0 && next.is_ascii_digit()).then(|| s.split_at(i))
}

/// A signed offset `+4`, `-0x10`, `+0x10-4`: the sum of its terms, each with its sign.
pub fn parse_offset(s: &str) -> Result<i128, ParseError> {
    let mut total: i128 = 0;
    let mut rest = s;
    let mut column = 1;
    while let Some(sign) = rest.chars().next() {
        let body = &rest[1..];
        let end = body.find(['+', '-']).unwrap_or(body.len());
        let term = &body[..end];
        let v = parse_term(term).map_err(|mut e| {
            e.column += column;
            e
        })?;
        total = if sign == '-' {
            total - i128::from(v)
        } else {
            total + i128::from(v)
        };
        column += 1 + term.chars().count();
        rest = &body[end..];
    }
    Ok(total)
}

/// A decimal floating-point literal (`1.5`, `-0.25`, `1e-3`, `2.5E+2`): a `.` or an exponent,
/// so plain integers stay numbers.
pub fn is_float(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    body.starts_with(|c: char| c.is_ascii_digit())
        && !body.starts_with("0x")
        && !body.starts_with("0X")
        && (body.contains('.') || body.contains(['e', 'E']))
        && body.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_forms() {
        for (s, v) in [
            ("0", 0),
            ("42", 42),
            ("0x2A", 42),
            ("0X2a", 42),
            ("0b10_1010", 42),
            ("0B101010", 42),
            ("0o52", 42),
            ("0x0800_0000", 0x0800_0000),
            ("1_000", 1000),
            ("007", 7),
            ("18446744073709551615", u64::MAX),
            ("0xFFFF_FFFF_FFFF_FFFF", u64::MAX),
        ] {
            assert_eq!(parse_number(s), Ok(v), "{s}");
        }
    }

    #[test]
    fn number_errors() {
        for (s, msg, col) in [
            ("0xZZ", "invalid digit `Z` in hexadecimal", 3),
            ("12abc", "invalid digit `a` in decimal", 3),
            ("0b102", "invalid digit `2` in binary", 5),
            ("0o8", "invalid digit `8` in octal", 3),
            ("0x", "missing digits after `0x`", 3),
            ("0x__", "missing digits", 3),
            ("18446744073709551616", "too large", 1),
            ("0x1_0000_0000_0000_0000", "too large", 1),
            ("-5", "negative", 1),
            ("abc", "expected a number", 1),
            ("", "expected a number", 1),
        ] {
            let e = parse_number(s).unwrap_err();
            assert!(e.message.contains(msg), "{s}: {}", e.message);
            assert_eq!(e.column, col, "{s}");
            assert!(!e.hint.is_empty());
        }
        assert!(parse_number("-5").unwrap_err().hint.contains("0xFFFFFFFB"));
    }

    #[test]
    fn values() {
        assert_eq!(parse_value("0x10"), Ok(Value::Number(16)));
        assert_eq!(parse_value("Enabled"), Ok(Value::Symbol("Enabled".into())));
        assert_eq!(parse_value("true"), Ok(Value::Symbol("true".into())));
        assert_eq!(parse_value("_x1"), Ok(Value::Symbol("_x1".into())));
        let e = parse_value("Ena-bled").unwrap_err();
        assert_eq!(e.column, 4);
        assert!(parse_value("é")
            .unwrap_err()
            .message
            .contains("invalid value"));
        assert!(parse_value("").is_err());
        assert!(is_identifier("Level0") && is_identifier("_a1"));
        assert!(!is_identifier("0a") && !is_identifier("a.b") && !is_identifier(""));
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("0x08000000/w"),
            Ok(Target::Address {
                addr: 0x0800_0000,
                size: Some(AccessSize::U32)
            })
        );
        assert_eq!(
            parse_target("0x5C001000/B"),
            Ok(Target::Address {
                addr: 0x5C00_1000,
                size: Some(AccessSize::U8)
            })
        );
        assert_eq!(
            parse_target("4096/h"),
            Ok(Target::Address {
                addr: 4096,
                size: Some(AccessSize::U16)
            })
        );
        for n in [
            "GPIOA.AFR[1]",
            "P.CL[2].REG",
            "RCC_CR",
            "RCC.CR.HSION",
            "_a",
        ] {
            assert_eq!(parse_target(n), Ok(Target::Name(n.into())));
        }
        let e = parse_target("0x10/q").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(e.hint.contains("/b") && e.hint.contains("/h") && e.hint.contains("/w"));
        assert_eq!(parse_target("GPIOA.").unwrap_err().column, 6);
        assert_eq!(parse_target("GPIOA.AFR[x]").unwrap_err().column, 10);
        assert_eq!(parse_target("GPIO-A").unwrap_err().column, 5);
        assert!(parse_target(".A").is_err());
    }
}
