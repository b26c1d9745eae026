//! Name and address index of a [`Device`].
//!
//! Why a sorted table rather than a HashMap: one sorted array serves exact lookup (binary
//! search, well under 2 µs), prefix completion (a contiguous range) and the on-disk cache
//! (two strings and a plain vector deserialize with three allocations, no rehashing).
//!
//! Every peripheral is entered under its name, every register under its dot name
//! `PERIPH.REG` and its reference-manual name `PERIPH_REG`. Registers whose name repeats the
//! peripheral prefix (ST's `HSEM.HSEM_R0`) are also entered without it (`HSEM.R0`, and
//! `HSEM_R0` which is then the RM name). Fields are not entered: `X.FIELD` resolves `X` as a
//! register and then looks the field up among its (few) fields, which keeps the table ten
//! times smaller (faster to build, to cache and to load). Keys are ASCII-lowercased, so all
//! lookups are case-insensitive.

use serde::{Deserialize, Serialize};

use super::error::ResolveError;
use super::model::{Device, FieldId, Peripheral, RegId, Resolved};

/// How many names [`Device::complete`] returns at most.
pub const COMPLETION_LIMIT: usize = 256;
/// How many "did you mean" suggestions a [`ResolveError::Unknown`] carries at most.
pub const SUGGESTION_LIMIT: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    start: u32,
    len: u32,
    target: Resolved,
    /// 0: the SVD's own dot name; 1: derived spelling (RM `_` form, prefix alias). On a key
    /// clash a rank-0 entry wins; clashes among equal ranks are ambiguous.
    rank: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct AddrEntry {
    address: u64,
    /// Size in bytes (≥ 1).
    bytes: u32,
    id: RegId,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NameIndex {
    /// Lowercased keys, concatenated.
    keys: String,
    /// Same keys in display case, same offsets.
    display: String,
    /// Sorted by key.
    entries: Vec<Entry>,
    /// Sorted by address.
    addrs: Vec<AddrEntry>,
}

struct Builder {
    display: String,
    entries: Vec<Entry>,
}

impl Builder {
    fn add(&mut self, parts: &[&str], target: Resolved, rank: u8) {
        let start = self.display.len();
        for p in parts {
            self.display.push_str(p);
        }
        self.entries.push(Entry {
            start: start as u32,
            len: (self.display.len() - start) as u32,
            target,
            rank,
        });
    }
}

/// `reg` without a leading `periph_` (case-insensitive), if it has one and something is left.
fn strip_periph_prefix<'a>(periph: &str, reg: &'a str) -> Option<&'a str> {
    let n = periph.len();
    if reg.len() > n + 1
        && reg.is_char_boundary(n)
        && reg[..n].eq_ignore_ascii_case(periph)
        && reg.as_bytes()[n] == b'_'
    {
        Some(&reg[n + 1..])
    } else {
        None
    }
}

impl NameIndex {
    pub(crate) fn build(peripherals: &[std::sync::Arc<Peripheral>]) -> Self {
        let mut b = Builder {
            display: String::with_capacity(4 << 20),
            entries: Vec::with_capacity(128 * 1024),
        };
        let mut addrs = Vec::new();
        for (pi, p) in peripherals.iter().enumerate() {
            let pi = pi as u32;
            let pn = p.name.as_str();
            b.add(&[pn], Resolved::Peripheral(pi), 0);
            for (ri, r) in p.registers.iter().enumerate() {
                let rid = RegId {
                    periph: pi,
                    reg: ri as u32,
                };
                addrs.push(AddrEntry {
                    address: r.address,
                    bytes: (r.size / 8).max(1),
                    id: rid,
                });
                let rn = r.name.as_str();
                let alias = strip_periph_prefix(pn, rn);
                let reg = Resolved::Register(rid);
                b.add(&[pn, ".", rn], reg, 0);
                b.add(&[pn, "_", rn], reg, 1);
                if let Some(a) = alias {
                    b.add(&[pn, ".", a], reg, 1);
                    // `PERIPH_alias` is the register's own name (`HSEM_R0`).
                    b.add(&[pn, "_", a], reg, 1);
                }
            }
        }
        let keys = b.display.to_ascii_lowercase();
        let mut entries = b.entries;
        let key = |e: &Entry| &keys.as_bytes()[e.start as usize..(e.start + e.len) as usize];
        entries.sort_unstable_by(|a, b| {
            key(a)
                .cmp(key(b))
                .then(a.rank.cmp(&b.rank))
                .then(a.target.cmp(&b.target))
        });
        // Same key and same target twice (e.g. a register literally named `PERIPH_X` and the
        // alias of another spelling) carries no information: keep one.
        entries.dedup_by(|a, b| a.target == b.target && key(a) == key(b));
        addrs.sort_unstable_by(|a, b| a.address.cmp(&b.address).then(a.id.cmp(&b.id)));
        Self {
            keys,
            display: b.display,
            entries,
            addrs,
        }
    }

    fn key(&self, e: &Entry) -> &str {
        &self.keys[e.start as usize..(e.start + e.len) as usize]
    }
    fn display(&self, e: &Entry) -> &str {
        &self.display[e.start as usize..(e.start + e.len) as usize]
    }

    /// Entries whose key equals `k` (lowercase).
    fn equal_range(&self, k: &str) -> &[Entry] {
        let lo = self.entries.partition_point(|e| self.key(e) < k);
        let hi = lo + self.entries[lo..].partition_point(|e| self.key(e) == k);
        &self.entries[lo..hi]
    }

    /// Index of the first entry whose key is ≥ `k`.
    fn lower_bound(&self, k: &str) -> usize {
        self.entries.partition_point(|e| self.key(e) < k)
    }

    pub(crate) fn name_at(&self, address: u64) -> Option<RegId> {
        let i = self.addrs.partition_point(|a| a.address < address);
        if let Some(a) = self.addrs.get(i) {
            if a.address == address {
                return Some(a.id);
            }
        }
        // Not a start address: a register covering it starts just below (registers are at most
        // 8 bytes wide, so looking back a few entries is enough).
        self.addrs[..i]
            .iter()
            .rev()
            .take(8)
            .find(|a| address < a.address.saturating_add(u64::from(a.bytes)))
            .map(|a| a.id)
    }
}

/// Characters allowed in a register name typed by a user.
fn valid_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')
}

/// Levenshtein distance of `a` and `b` if it is ≤ `limit` (cost bounded by the band check).
fn bounded_distance(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= limit).then_some(d)
}

fn distance_limit(len: usize) -> usize {
    match len {
        0..=4 => 1,
        5..=10 => 2,
        _ => 3,
    }
}

impl Device {
    /// Best-rank targets of an exact key.
    fn lookup(&self, lower: &str) -> Vec<Resolved> {
        let hits = self.index.equal_range(lower);
        let Some(first) = hits.first() else {
            return Vec::new();
        };
        // Entries are sorted by rank within a key: keep only the best rank.
        hits.iter()
            .filter(|e| e.rank == first.rank)
            .map(|e| e.target)
            .collect()
    }

    /// Fields named `leaf` (case-insensitive) in the registers `left` resolves to, best rank
    /// of `left` first.
    fn lookup_field(&self, left: &str, leaf: &str) -> Vec<Resolved> {
        let hits = self.index.equal_range(left);
        let mut out = Vec::new();
        let mut rank = None;
        for e in hits {
            let Resolved::Register(rid) = e.target else {
                continue;
            };
            if rank.is_some_and(|r| r != e.rank) {
                // A better-ranked spelling already gave a field.
                if !out.is_empty() {
                    break;
                }
            }
            let Some(reg) = self.get_register(rid) else {
                continue;
            };
            for (fi, f) in reg.fields.iter().enumerate() {
                if f.name.eq_ignore_ascii_case(leaf) {
                    let r = Resolved::Field(FieldId {
                        reg: rid,
                        field: fi as u32,
                    });
                    if !out.contains(&r) {
                        out.push(r);
                    }
                    rank = Some(e.rank);
                }
            }
        }
        out
    }

    /// Resolve a user-typed name, case-insensitively: `PERIPH`, `PERIPH.REG`,
    /// `PERIPH.REG.FIELD`, or the reference-manual spelling `PERIPH_REG` / `PERIPH_REG.FIELD`.
    /// Array and cluster members are written `AFR[1]`, `CL[2].REG`.
    pub fn resolve(&self, name: &str) -> Result<Resolved, ResolveError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ResolveError::Empty);
        }
        if let Some(c) = name.chars().find(|&c| !valid_name_char(c)) {
            return Err(ResolveError::Invalid {
                name: name.to_string(),
                reason: format!("character {c:?} cannot appear in a register name"),
            });
        }
        // Lowercase on the stack for ordinary names (valid names are ASCII): resolution is
        // a hot path of the shell and this keeps it allocation-free.
        let mut buf = [0u8; 96];
        let heap;
        let lower: &str = match buf.get_mut(..name.len()) {
            Some(b) => {
                b.copy_from_slice(name.as_bytes());
                b.make_ascii_lowercase();
                match std::str::from_utf8(b) {
                    Ok(s) => s,
                    Err(_) => {
                        heap = name.to_ascii_lowercase();
                        &heap
                    }
                }
            }
            None => {
                heap = name.to_ascii_lowercase();
                &heap
            }
        };
        // Fast path: exactly one best-ranked entry (entries are sorted by rank within a key).
        let hits = self.index.equal_range(lower);
        if let Some(first) = hits.first() {
            if hits.get(1).is_none_or(|e| e.rank != first.rank) {
                return Ok(first.target);
            }
        }
        let mut best = self.lookup(lower);
        if best.is_empty() {
            if let Some(dot) = lower.rfind('.') {
                best = self.lookup_field(&lower[..dot], &lower[dot + 1..]);
            }
        }
        match best.len() {
            0 => Err(ResolveError::Unknown {
                name: name.to_string(),
                suggestions: self.suggest(lower),
            }),
            1 => Ok(best[0]),
            _ => {
                let mut candidates: Vec<String> =
                    best.iter().map(|&r| self.canonical_name(r)).collect();
                candidates.sort();
                candidates.dedup();
                Err(ResolveError::Ambiguous {
                    name: name.to_string(),
                    candidates,
                })
            }
        }
    }

    /// Scored candidates for `leaf` among the fields of the registers `left` names.
    fn field_candidates(
        &self,
        left_display: &str,
        targets: &[Resolved],
        leaf: &str,
        lim: usize,
        out: &mut Vec<(usize, String)>,
    ) {
        for t in targets {
            let Resolved::Register(rid) = *t else {
                continue;
            };
            let Some(reg) = self.get_register(rid) else {
                continue;
            };
            for f in &reg.fields {
                let lf = f.name.to_ascii_lowercase();
                if let Some(d) = bounded_distance(leaf.as_bytes(), lf.as_bytes(), lim) {
                    out.push((d, format!("{left_display}.{}", f.name)));
                }
            }
        }
    }

    /// Keys of the same depth as `lower` within the edit-distance limit.
    fn global_candidates(&self, lower: &str) -> Vec<(usize, &str, &str)> {
        let idx = &self.index;
        let depth = lower.matches('.').count();
        let lim = distance_limit(lower.len());
        let mut v = Vec::new();
        for e in &idx.entries {
            let k = idx.key(e);
            if k.len().abs_diff(lower.len()) > lim || k.matches('.').count() != depth {
                continue;
            }
            if let Some(d) = bounded_distance(lower.as_bytes(), k.as_bytes(), lim) {
                v.push((d, k, idx.display(e)));
            }
        }
        v.sort_unstable();
        v
    }

    /// "Did you mean" candidates for an unknown lowercase name, best first.
    fn suggest(&self, lower: &str) -> Vec<String> {
        let idx = &self.index;
        let mut scored: Vec<(usize, String)> = Vec::new();
        if let Some(dot) = lower.rfind('.') {
            let (left, leaf) = (&lower[..dot], &lower[dot + 1..]);
            let leaf_lim = distance_limit(lower.len()).min((leaf.len() / 2).max(1));
            let left_hits = idx.equal_range(left);
            if let Some(first) = left_hits.first() {
                // The parent is known: only its children are candidates.
                let targets: Vec<Resolved> = left_hits.iter().map(|e| e.target).collect();
                self.field_candidates(idx.display(first), &targets, leaf, leaf_lim, &mut scored);
                let parent = &lower[..=dot];
                let lo = idx.lower_bound(parent);
                for e in idx.entries[lo..]
                    .iter()
                    .take_while(|e| idx.key(e).starts_with(parent))
                {
                    let rest = &idx.key(e)[parent.len()..];
                    if let Some(d) = bounded_distance(leaf.as_bytes(), rest.as_bytes(), leaf_lim) {
                        scored.push((d, idx.display(e).to_string()));
                    }
                }
            } else {
                // Unknown parent: correct it, then look for the field in the corrections.
                for (d, k, disp) in self
                    .global_candidates(left)
                    .into_iter()
                    .take(SUGGESTION_LIMIT)
                {
                    let targets = self.lookup(k);
                    let mut fields = Vec::new();
                    self.field_candidates(disp, &targets, leaf, leaf_lim, &mut fields);
                    scored.extend(fields.into_iter().map(|(fd, s)| (d + fd, s)));
                }
            }
        }
        if scored.is_empty() {
            scored = self
                .global_candidates(lower)
                .into_iter()
                .map(|(d, _, disp)| (d, disp.to_string()))
                .collect();
        }
        scored.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, s) in scored {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                out.push(s);
                if out.len() == SUGGESTION_LIMIT {
                    break;
                }
            }
        }
        out
    }

    /// Completions of `prefix` (case-insensitive), in both notations, sorted
    /// (case-insensitively), at most [`COMPLETION_LIMIT`]. Each candidate stops at the next
    /// `.` after the prefix, so `FLASH` offers `FLASH.OPTCR`, `FLASH_OPTCR`, ... and
    /// `FLASH.OPTCR.` offers the fields.
    pub fn complete(&self, prefix: &str) -> Vec<String> {
        let idx = &self.index;
        let lower = prefix.trim_start().to_ascii_lowercase();
        let plen = lower.len();
        let mut out: Vec<String> = Vec::new();
        // Fields: the part before the last '.' names a register.
        if let Some(dot) = lower.rfind('.') {
            let (left, leaf) = (&lower[..dot], &lower[dot + 1..]);
            let hits = idx.equal_range(left);
            if let Some(first) = hits.first() {
                let disp = idx.display(first);
                for e in hits {
                    let Resolved::Register(rid) = e.target else {
                        continue;
                    };
                    let Some(reg) = self.get_register(rid) else {
                        continue;
                    };
                    for f in &reg.fields {
                        let lf = f.name.to_ascii_lowercase();
                        if lf.starts_with(leaf) {
                            out.push(format!("{disp}.{}", f.name));
                        }
                    }
                }
            }
        }
        let fields = out.len();
        let mut i = idx.lower_bound(&lower);
        while let Some(e) = idx.entries.get(i) {
            let key = idx.key(e);
            // Index entries come in order, so the first COMPLETION_LIMIT are all that can
            // survive the final sort and truncation.
            if !key.starts_with(&lower) || out.len() - fields >= COMPLETION_LIMIT {
                break;
            }
            // Cut at the first '.' at least one character past the prefix.
            let cut = key
                .get(plen + 1..)
                .and_then(|rest| rest.find('.'))
                .map_or(key.len(), |p| plen + 1 + p);
            let shown = &idx.display(e)[..cut];
            // `RCC.GCR` (a register) and `RCC.GCR.X` cut to `RCC.GCR` give the same text.
            if !out.last().is_some_and(|l| l.eq_ignore_ascii_case(shown)) {
                out.push(shown.to_string());
            }
            // Skip every key sharing this truncated stem (they are contiguous): the next key
            // that differs is ≥ stem + '/' ('/' follows '.'), or is the stem's extension by a
            // non-'.' character.
            let stem = &key[..cut];
            if cut == key.len() {
                i += 1;
                // Equal keys (several targets) would repeat the same text.
                while idx.entries.get(i).is_some_and(|n| idx.key(n) == stem) {
                    i += 1;
                }
            } else {
                let mut bound = String::with_capacity(cut + 1);
                bound.push_str(stem);
                bound.push('/');
                i = idx.lower_bound(&bound);
            }
        }
        out.sort_by_cached_key(|s| s.to_ascii_lowercase());
        out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        out.truncate(COMPLETION_LIMIT);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svd::model::{Access, Field, ModifiedWrite, Register};

    fn field(name: &str, lsb: u32) -> Field {
        Field {
            name: name.into(),
            lsb,
            width: 1,
            access: Access::ReadWrite,
            modified_write: ModifiedWrite::Modify,
            read_side_effect: false,
            description: format!("{name} bit"),
            enums: vec![],
        }
    }
    fn reg(name: &str, address: u64, fields: Vec<Field>) -> Register {
        Register {
            name: name.into(),
            address,
            size: 32,
            access: Access::ReadWrite,
            reset_value: 0,
            read_side_effect: false,
            description: String::new(),
            fields,
        }
    }
    fn periph(name: &str, base: u64, registers: Vec<Register>) -> Peripheral {
        Peripheral {
            name: name.into(),
            base,
            description: String::new(),
            group: None,
            registers,
        }
    }
    fn device() -> Device {
        Device::new(
            "T".into(),
            None,
            vec![
                periph(
                    "RCC",
                    0x1000,
                    vec![reg("GCR", 0x10A0, vec![field("BOOT_C2", 3)])],
                ),
                periph("RCC_GCR", 0x2000, vec![reg("X", 0x2000, vec![])]),
                periph("A_B", 0x3000, vec![reg("C", 0x3000, vec![])]),
                periph("A", 0x4000, vec![reg("B_C", 0x4000, vec![])]),
                periph(
                    "HSEM",
                    0x5000,
                    vec![reg("HSEM_R0", 0x5000, vec![field("LOCK", 31)])],
                ),
            ],
        )
    }

    #[test]
    fn real_name_wins_and_ambiguity_is_reported() {
        let d = device();
        // `RCC_GCR` is a real peripheral and the RM spelling of RCC.GCR: the real one wins.
        assert_eq!(d.resolve("rcc_gcr").unwrap(), Resolved::Peripheral(1));
        assert!(matches!(
            d.resolve("rcc_gcr.boot_c2").unwrap(),
            Resolved::Field(_)
        ));
        // `A_B_C` is A_B.C or A.B_C, both derived spellings.
        match d.resolve("A_B_C") {
            Err(ResolveError::Ambiguous { candidates, .. }) => {
                assert_eq!(candidates, vec!["A.B_C".to_string(), "A_B.C".to_string()])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prefix_alias() {
        let d = device();
        let r = d.resolve("HSEM.HSEM_R0").unwrap();
        assert_eq!(d.resolve("hsem.r0").unwrap(), r);
        assert_eq!(d.resolve("HSEM_R0").unwrap(), r);
        assert!(matches!(d.resolve("hsem_r0.lock"), Ok(Resolved::Field(_))));
    }

    #[test]
    fn completion_cuts_at_dots() {
        let d = device();
        let c = d.complete("RCC");
        assert_eq!(c, vec!["RCC", "RCC.GCR", "RCC_GCR", "RCC_GCR_X"]);
        assert_eq!(d.complete("rcc.gcr."), vec!["RCC.GCR.BOOT_C2"]);
        assert!(d.complete("zzz").is_empty());
    }

    #[test]
    fn addresses() {
        let d = device();
        let id = d.name_at(0x10A0).unwrap();
        assert_eq!(d.canonical_name(Resolved::Register(id)), "RCC.GCR");
        assert_eq!(d.name_at(0x10A2), Some(id));
        assert_eq!(d.name_at(0x10A4), None);
    }

    #[test]
    fn distance() {
        assert_eq!(bounded_distance(b"optsr", b"optsr", 1), Some(0));
        assert_eq!(bounded_distance(b"optsr", b"opstr", 2), Some(2));
        assert_eq!(bounded_distance(b"abc", b"xyzabc", 2), None);
    }
}
