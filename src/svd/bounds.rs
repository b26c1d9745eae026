//! Bounds on what an SVD may ask of the loader, checked before svd-parser sees the text.
//!
//! svd-parser and the flattener recurse over nested elements and expand arrays eagerly, so a
//! crafted file could overflow the stack (30,000 nested elements, 10,000 nested clusters) or
//! ask for any amount of memory (`<dimIndex>0-4294967295</dimIndex>` is a vector of four
//! billion strings). One linear pass over the XML text refuses these with an error naming the
//! limit, the element and its line. The limits are far above any real SVD (ST's H7 files nest
//! 10 deep, hold about 200,000 elements and their largest array has 128 members).

/// Deepest element nesting (a cluster costs two levels: `<cluster>` and its register).
pub(crate) const MAX_DEPTH: usize = 64;
/// Most elements in one file.
pub(crate) const MAX_ELEMENTS: usize = 4_000_000;
/// Most members of one array (`<dim>`, or the members `<dimIndex>` lists).
pub(crate) const MAX_DIM: u64 = 65_536;
/// Longest derivedFrom chain (a peripheral derived from a derived one...).
pub(crate) const MAX_DERIVE_CHAIN: usize = 32;
/// Most registers a device expands to (all arrays expanded); ST's largest has about 12,000.
pub(crate) const MAX_REGISTERS: usize = 500_000;
/// Most fields a device expands to; ST's largest has about 70,000.
pub(crate) const MAX_FIELDS: usize = 4_000_000;

/// Why a text is refused, and the 1-based line it happened on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) line: u32,
    pub(crate) message: String,
}

fn line_at(text: &[u8], pos: usize) -> u32 {
    1 + memchr::memchr_iter(b'\n', &text[..pos.min(text.len())]).count() as u32
}

/// Checks nesting, element count, entity declarations and array sizes of an SVD text.
pub(crate) fn check(text: &str) -> Result<(), Refused> {
    let b = text.as_bytes();
    let refuse = |pos: usize, message: String| Refused {
        line: line_at(b, pos),
        message,
    };
    let find = |from: usize, pat: &[u8]| memchr::memmem::find(&b[from..], pat).map(|i| from + i);
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let at = i + off;
        let rest = &b[at..];
        let skip_past = |pat: &[u8]| find(at, pat).map(|e| e + pat.len());
        let next = if rest.starts_with(b"<!--") {
            skip_past(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_past(b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_past(b"?>")
        } else if rest.starts_with(b"<!") {
            // A DOCTYPE. Entities could expand without bound; SVDs never declare any.
            let end = skip_past(b">");
            let decl = &b[at..end.unwrap_or(b.len())];
            if memchr::memmem::find(decl, b"<!ENTITY").is_some()
                || (rest.starts_with(b"<!DOCTYPE") && decl.contains(&b'['))
            {
                return Err(refuse(
                    at,
                    "the file declares XML entities (a DOCTYPE with an internal subset); \
                     CMSIS-SVD files have none, and h7sh does not expand them"
                        .into(),
                ));
            }
            end
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            skip_past(b">")
        } else {
            // A start tag: its end is the first `>` outside quoted attribute values.
            let mut j = at + 1;
            let mut quote = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (None, b'"' | b'\'') => quote = Some(b[j]),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= b.len() {
                // Unterminated: svd-parser reports it with its own words.
                return Ok(());
            }
            let name_end = b[at + 1..j]
                .iter()
                .position(|c| c.is_ascii_whitespace() || *c == b'/')
                .map_or(j, |p| at + 1 + p);
            let name = &text[at + 1..name_end];
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(refuse(
                    at,
                    format!("more than {MAX_ELEMENTS} elements (at <{name}>)"),
                ));
            }
            if b[j - 1] != b'/' {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(refuse(
                        at,
                        format!("elements nested more than {MAX_DEPTH} deep (at <{name}>)"),
                    ));
                }
                if name == "dim" || name == "dimIndex" {
                    let end = memchr::memchr(b'<', &b[j + 1..]).map_or(b.len(), |e| j + 1 + e);
                    let value = text[j + 1..end].trim();
                    if let Some(n) = members(name, value) {
                        if n > MAX_DIM {
                            return Err(refuse(
                                at,
                                format!(
                                    "<{name}>{}</{name}> asks for {n} array members, more \
                                     than the limit of {MAX_DIM}",
                                    short(value)
                                ),
                            ));
                        }
                    }
                }
            }
            Some(j + 1)
        };
        match next {
            Some(n) => i = n,
            // Unterminated comment or tag: svd-parser reports it.
            None => return Ok(()),
        }
    }
    Ok(())
}

/// The first characters of a value, for a message.
fn short(value: &str) -> String {
    if value.chars().count() > 40 {
        format!("{}...", value.chars().take(40).collect::<String>())
    } else {
        value.to_string()
    }
}

/// How many members a `<dim>` value or a `<dimIndex>` range asks for (`None`: not a number
/// or range; svd-parser judges it).
fn members(name: &str, value: &str) -> Option<u64> {
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            // A number too long for u64 is certainly too large.
            None if s.len() > 19 && s.bytes().all(|c| c.is_ascii_digit()) => Some(u64::MAX),
            None => s.parse().ok(),
        }
    };
    if name == "dim" {
        return number(value);
    }
    if value.contains(',') {
        return Some(value.split(',').count() as u64);
    }
    let (a, z) = value.split_once('-')?;
    Some(number(z)?.saturating_sub(number(a)?).saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_deep_nesting_huge_arrays_and_entities() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        let e = check(&deep).unwrap_err();
        assert!(e.message.contains("nested more than 64"), "{}", e.message);
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert_eq!(check(&ok), Ok(()));
        let e = check("<r>\n<dimIndex>0-4294967295</dimIndex></r>").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("4294967296 array members"),
            "{}",
            e.message
        );
        let e = check("<dim>10000000</dim>").unwrap_err();
        assert!(e.message.contains("limit of 65536"), "{}", e.message);
        assert_eq!(check("<dim>0x10</dim><dimIndex>A,B,C</dimIndex>"), Ok(()));
        let e = check("<!DOCTYPE d [<!ENTITY a \"aaaa\">]><d>&a;</d>").unwrap_err();
        assert!(e.message.contains("entities"), "{}", e.message);
        // Self-closing tags, comments and `>` inside attributes do not nest.
        let flat = "<a x='>'/><!-- <b> --><?xml?>".repeat(MAX_DEPTH + 5);
        assert_eq!(check(&flat), Ok(()));
    }
}
