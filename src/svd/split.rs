//! Parallel parsing of large SVDs.
//!
//! Why: svd-parser is single-threaded and ST's 4 MB files take most of the cold-load budget;
//! h7sh's own patch (svdtools) adds a fifth to that. Peripherals are independent
//! XML elements, so the text is cut at `<peripheral>` boundaries into documents that share
//! the device header: two halves of the untouched peripherals are parsed on two threads while
//! a third parses the few peripherals h7sh's patch touches and patches them. The result is
//! the same device as a sequential parse + patch (tested). Anything unexpected in the text
//! (a `<peripheral` we cannot delimit, text between peripherals) makes the caller fall back
//! to the sequential path, and any parse error is re-reported by a whole-file parse so line
//! numbers refer to the user's file.

use svd_rs as svd;

/// Smallest file worth splitting (below this, thread start-up is not repaid).
const MIN_SPLIT_BYTES: usize = 256 * 1024;

/// One `<peripheral>` element of the text.
pub(crate) struct Chunk<'a> {
    pub(crate) text: &'a str,
    pub(crate) name: &'a str,
    pub(crate) derived_from: Option<&'a str>,
}

pub(crate) struct Split<'a> {
    /// Everything up to and including `<peripherals>`.
    pub(crate) head: &'a str,
    pub(crate) chunks: Vec<Chunk<'a>>,
    /// From `</peripherals>` to the end.
    pub(crate) tail: &'a str,
    /// `<name>` of the device.
    pub(crate) device_name: &'a str,
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = a + s[a..].find(close)?;
    Some(s[a..b].trim())
}

/// Skip whitespace and XML comments; `None` if anything else is there.
fn only_blank(mut s: &str) -> bool {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return true;
        }
        match s
            .strip_prefix("<!--")
            .and_then(|r| r.find("-->").map(|i| &r[i + 3..]))
        {
            Some(rest) => s = rest,
            None => return false,
        }
    }
}

/// Cut `text` at peripheral boundaries, or `None` if it does not look like a plain SVD.
pub(crate) fn split(text: &str) -> Option<Split<'_>> {
    if text.len() < MIN_SPLIT_BYTES || text.contains("<![CDATA[") {
        return None;
    }
    let open = text.find("<peripherals>")? + "<peripherals>".len();
    let close = text.rfind("</peripherals>")?;
    if close < open {
        return None;
    }
    let head = &text[..open];
    let device_name = between(head.get(head.find("<device")?..)?, "<name>", "</name>")?;
    let body = &text[open..close];
    let mut chunks = Vec::new();
    let mut pos = 0;
    while let Some(i) = body[pos..].find("<peripheral") {
        let start = pos + i;
        if !only_blank(&body[pos..start]) {
            return None;
        }
        let after = body.as_bytes().get(start + "<peripheral".len())?;
        if !matches!(after, b'>' | b' ' | b'\t' | b'\n' | b'\r') {
            return None;
        }
        let end = start + body[start..].find("</peripheral>")? + "</peripheral>".len();
        let el = &body[start..end];
        let tag_end = el.find('>')?;
        let tag = &el[..tag_end];
        let derived_from = match tag.find("derivedFrom=") {
            Some(i) => {
                let rest = &tag[i + "derivedFrom=".len()..];
                let q = rest.chars().next()?;
                if q != '"' && q != '\'' {
                    return None;
                }
                let r = &rest[1..];
                Some(r[..r.find(q)?].trim())
            }
            None => None,
        };
        // The peripheral's own <name> comes before its registers.
        let inner = &el[tag_end..];
        let before_regs = &inner[..inner.find("<registers").unwrap_or(inner.len())];
        let name = between(before_regs, "<name>", "</name>")?;
        chunks.push(Chunk {
            text: el,
            name,
            derived_from,
        });
        pos = end;
    }
    if !only_blank(&body[pos..]) || chunks.is_empty() {
        return None;
    }
    Some(Split {
        head,
        chunks,
        tail: &text[close..],
        device_name,
    })
}

/// `text` without its `<interrupt>` elements (h7sh's model has no interrupts, so two
/// peripherals that differ only there give the same model).
pub(crate) fn without_interrupts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<interrupt>") {
        out.push_str(&rest[..i]);
        match rest[i..].find("</interrupt>") {
            Some(j) => rest = &rest[i + j + "</interrupt>".len()..],
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Appends `text` to `out` without the whitespace between a `>` and the next `<`.
///
/// Why: a third of ST's files is indentation, and roxmltree keeps every run of it as a text
/// node that svd-parser then steps over: parsing the squeezed text takes about 40% less time
/// and gives the same device (tested). Only whitespace-only text between two tags goes, so
/// no name, value or description changes (callers skip CDATA, where it could matter).
pub(crate) fn push_squeezed(out: &mut String, text: &str) {
    let b = text.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while let Some(k) = memchr::memchr(b'>', &b[at..]) {
        let after = at + k + 1;
        let mut next = after;
        while next < b.len() && matches!(b[next], b' ' | b'\n' | b'\r' | b'\t') {
            next += 1;
        }
        if next > after && b.get(next) == Some(&b'<') {
            out.push_str(&text[copied..after]);
            copied = next;
        }
        at = next;
    }
    out.push_str(&text[copied..]);
}

/// `text` squeezed (see [`push_squeezed`]).
pub(crate) fn squeezed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_squeezed(&mut out, text);
    out
}

/// A document made of the header, some chunks and the tail, squeezed (see [`push_squeezed`]).
pub(crate) fn document<'a>(
    split: &Split<'a>,
    chunks: impl Iterator<Item = &'a Chunk<'a>>,
) -> String {
    let mut s = String::with_capacity(split.head.len() + split.tail.len() + 1024);
    push_squeezed(&mut s, split.head);
    for c in chunks {
        push_squeezed(&mut s, c.text);
    }
    push_squeezed(&mut s, split.tail);
    s
}

/// Split `items` (by text size) into two halves keeping order.
pub(crate) fn halves<'a, 'b>(
    items: &'b [&'a Chunk<'a>],
) -> (&'b [&'a Chunk<'a>], &'b [&'a Chunk<'a>]) {
    let total: usize = items.iter().map(|c| c.text.len()).sum();
    let mut acc = 0;
    let mut at = items.len();
    for (i, c) in items.iter().enumerate() {
        if acc * 2 >= total {
            at = i;
            break;
        }
        acc += c.text.len();
    }
    items.split_at(at)
}

/// Peripherals of `parts` (each the result of parsing one document), with `patched`
/// inserted where the first of its peripherals stood (as [`super::patch::apply`] does).
pub(crate) fn merge(
    mut base: svd::Device,
    parts: Vec<Vec<svd::Peripheral>>,
    patched_at: usize,
    patched: Vec<svd::Peripheral>,
) -> svd::Device {
    let mut all: Vec<svd::Peripheral> = parts.into_iter().flatten().collect();
    let at = patched_at.min(all.len());
    all.splice(at..at, patched);
    base.peripherals = all;
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeezing_drops_only_whitespace_between_tags() {
        let mut out = String::new();
        push_squeezed(
            &mut out,
            "<a>\n  <b> x y </b>\r\n\t<c>  </c> <d>text\n  more</d>\n  tail",
        );
        assert_eq!(out, "<a><b> x y </b><c></c><d>text\n  more</d>\n  tail");
        let mut out = String::from("keep ");
        push_squeezed(&mut out, "  lead<x/>");
        assert_eq!(out, "keep   lead<x/>");
    }

    #[test]
    fn interrupts_are_ignored() {
        let a = "<p><name>H</name><interrupt><name>X</name></interrupt><r/></p>";
        let b = "<p><name>H</name><interrupt><name>Y</name><value>2</value></interrupt><r/></p>";
        assert_eq!(without_interrupts(a), without_interrupts(b));
        assert_eq!(without_interrupts(a), "<p><name>H</name><r/></p>");
        assert_eq!(without_interrupts("<interrupt>open"), "<interrupt>open");
    }

    #[test]
    fn refuses_odd_input() {
        assert!(split("<device/>").is_none());
        let pad = " ".repeat(MIN_SPLIT_BYTES);
        let text = format!(
            "<device><name>D</name><peripherals>junk<peripheral><name>A</name></peripheral></peripherals></device>{pad}"
        );
        assert!(split(&text).is_none());
        let text = format!(
            "<device><name>D</name><peripherals><!-- c --><peripheral derivedFrom=\"B\"><name>A</name></peripheral>\n<peripheral><name>B</name><registers/></peripheral></peripherals></device>{pad}"
        );
        let s = split(&text).unwrap();
        assert_eq!(s.device_name, "D");
        assert_eq!(s.chunks.len(), 2);
        assert_eq!(s.chunks[0].derived_from, Some("B"));
        assert_eq!(s.chunks[1].name, "B");
    }
}
