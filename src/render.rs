//! Outcomes as text (for people) or JSON (one object per command, for programs).

use crate::session::{FieldValue, Outcome, RegisterValue, ShellError};
use std::fmt::Write as _;

/// Colours for a terminal; all empty when colour is off (NO_COLOR, not a TTY, --json).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub name: &'static str,
    pub value: &'static str,
    pub changed: &'static str,
    pub dim: &'static str,
    pub error: &'static str,
    pub reset: &'static str,
}

impl Style {
    pub const PLAIN: Style = Style {
        name: "",
        value: "",
        changed: "",
        dim: "",
        error: "",
        reset: "",
    };
    pub const COLOR: Style = Style {
        name: "\x1b[1m",
        value: "\x1b[36m",
        changed: "\x1b[33m",
        dim: "\x1b[2m",
        error: "\x1b[31m",
        reset: "\x1b[0m",
    };

    /// Colour only on a terminal and when NO_COLOR is unset (no-color.org).
    pub fn detect(is_tty: bool) -> Style {
        if is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) {
            Style::COLOR
        } else {
            Style::PLAIN
        }
    }
}

fn bits(f: &FieldValue) -> String {
    if f.width == 1 {
        format!("[{}]", f.lsb)
    } else {
        format!("[{}:{}]", f.lsb + f.width - 1, f.lsb)
    }
}

fn hex(value: u64, size_bits: u32) -> String {
    // Values are 64-bit: a wider size (only from a malformed SVD) must not ask the formatter
    // for a width it refuses (it panics past 65535).
    let digits = (size_bits.min(64).div_ceil(4)).max(1) as usize;
    format!("{value:#0width$x}", width = digits + 2)
}

/// A field's value as every view shows it (one decoration): decimal up to 4 bits, hex above,
/// then the enumerated name in parentheses: `1 (Enabled)`, `0xaa (Level0)`.
fn field_value(f: &FieldValue, s: &Style) -> String {
    let value = if f.width > 4 {
        hex(f.value, f.width)
    } else {
        f.value.to_string()
    };
    let enum_part = f
        .enum_name
        .as_ref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    format!("{}{value}{}{enum_part}", s.value, s.reset)
}

fn field_line(out: &mut String, f: &FieldValue, s: &Style) {
    let short = f.name.rsplit('.').next().unwrap_or(&f.name);
    let mark = if f.changed {
        format!("{}*{}", s.changed, s.reset)
    } else {
        " ".into()
    };
    // Only an unusual access is worth a word (most fields are read-write).
    let access = if f.access == "read-write" {
        String::new()
    } else {
        format!(" {}{}{}", s.dim, f.access, s.reset)
    };
    let _ = writeln!(
        out,
        "  {mark}{:>8} {}{short:<16}{} = {}{access}",
        bits(f),
        s.name,
        s.reset,
        field_value(f, s),
    );
}

fn register_text(out: &mut String, r: &RegisterValue, s: &Style) {
    let changed = match r.previous {
        Some(p) => format!("  {}(was {}){}", s.changed, hex(p, r.size), s.reset),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{}{}{} @ {:#010x} = {}{}{}{changed}",
        s.name,
        r.name,
        s.reset,
        r.address,
        s.value,
        hex(r.value, r.size),
        s.reset
    );
    for f in &r.fields {
        field_line(out, f, s);
    }
}

/// Text form of an outcome (ends with a newline unless empty).
pub fn text(o: &Outcome, s: &Style) -> String {
    let mut out = String::new();
    match o {
        Outcome::Register(r) => register_text(&mut out, r, s),
        Outcome::Field(f) => {
            let _ = writeln!(
                out,
                "{}{}{} {} @ {:#010x} = {}",
                s.name,
                f.name,
                s.reset,
                bits(f),
                f.address,
                field_value(f, s)
            );
        }
        Outcome::Memory {
            address,
            size,
            values,
            ..
        } => {
            memory_text(&mut out, *address, *size, values);
        }
        Outcome::Written {
            target,
            writes,
            dry_run,
        } => {
            for w in writes {
                let verb = if *dry_run { "would write" } else { "wrote" };
                let old = w
                    .old
                    .map(|o| format!(" (was {})", hex(o, w.size)))
                    .unwrap_or_default();
                let back = match w.readback {
                    Some(b) => format!(
                        "; reads back {}: {} did not take the written value (read-only, \
                         set-only or self-clearing in silicon)",
                        hex(b, w.size),
                        w.not_taken.join(", ")
                    ),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{target}: {verb} {} to {:#010x} via AP{}{old}{back}",
                    hex(w.new, w.size),
                    w.address,
                    w.ap
                );
            }
        }
        Outcome::Ap { aps, list, .. } => {
            for a in aps.iter().filter(|a| *list || a.selected) {
                let mark = if a.selected { "*" } else { " " };
                let _ = writeln!(out, "{mark} AP{} {:<6} {}", a.ap, a.label, a.description);
            }
        }
        Outcome::Peripheral {
            name,
            base,
            registers,
            skipped,
        } => {
            let _ = writeln!(out, "{}{name}{} @ {base:#010x}", s.name, s.reset);
            for r in registers {
                register_text(&mut out, r, s);
            }
            for k in skipped {
                let _ = writeln!(out, "{}skipped {}: {}{}", s.dim, k.name, k.reason, s.reset);
            }
        }
        Outcome::Found {
            pattern,
            hits,
            note,
        } => {
            if hits.is_empty() {
                let _ = writeln!(out, "nothing matches `{pattern}`");
            }

            for h in hits {
                let desc: String = h
                    .description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = writeln!(
                    out,
                    "{:<40} {:<10} {:#010x}  {}{desc}{}",
                    h.name, h.kind, h.address, s.dim, s.reset
                );
            }
            if let Some(n) = note {
                let _ = writeln!(out, "{}note: {n}{}", s.dim, s.reset);
            }
        }
        Outcome::Info {
            probe,
            connection,
            wire,
            svd,
            identity,
            aps,
        } => {
            let _ = writeln!(out, "probe:      {probe}");
            let _ = writeln!(out, "connection: {connection}");
            let volts = match wire.target_voltage {
                Some(v) => format!("target voltage {v:.2} V"),
                None => "target voltage not measured by this probe".to_string(),
            };
            let _ = writeln!(
                out,
                "wire:       {} at {} kHz, {volts}",
                wire.protocol.to_uppercase(),
                wire.speed_khz
            );
            for (n, tap) in wire.jtag_chain.iter().enumerate() {
                let _ = writeln!(out, "JTAG TAP {n}: {tap}");
            }
            let _ = writeln!(out, "svd:        {svd}");
            let _ = writeln!(out, "chip:       {}", identity.chip);
            let _ = writeln!(out, "DPIDR:      {:#010x}", identity.dpidr);
            match identity.dbgmcu_idc {
                Some(idc) => {
                    let _ = writeln!(
                        out,
                        "DBGMCU_IDC: {idc:#010x} (DEV_ID {:#05x}, REV_ID {:#06x})",
                        idc & 0xFFF,
                        idc >> 16
                    );
                }
                None => {
                    let _ = writeln!(out, "DBGMCU_IDC: unreadable");
                }
            }
            for a in aps {
                let idr = a
                    .idr
                    .map(|v| format!("{v:#010x}"))
                    .unwrap_or_else(|| "-".into());
                let base = a
                    .base
                    .map(|v| format!("{v:#010x}"))
                    .unwrap_or_else(|| "-".into());
                let core = match (a.core, a.cpuid) {
                    (Some(c), Some(id)) => format!(" {c} CPUID {id:#010x}"),
                    (Some(c), None) => format!(" {c}"),
                    _ => String::new(),
                };
                let _ = writeln!(out, "AP{} {:<12} IDR {idr} BASE {base}{core}", a.ap, a.kind);
                for e in &a.rom {
                    let _ = writeln!(out, "    {:#010x} {}", e.address, e.name);
                }
                if let Some(err) = &a.error {
                    let _ = writeln!(out, "    {}! {err}{}", s.error, s.reset);
                }
            }
        }
        Outcome::Status { cores } => {
            for c in cores {
                match (&c.status, &c.error) {
                    (Some(st), _) => {
                        let mut flags = Vec::new();
                        if st.reset_since_last_read {
                            flags.push("reset since last read");
                        }
                        if !st.debug_enabled {
                            flags.push("debug not enabled");
                        }
                        let flags = if flags.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", flags.join(", "))
                        };
                        let _ = writeln!(
                            out,
                            "{} (AP{}): {}{}{}{flags}  DHCSR {:#010x}",
                            c.core,
                            c.ap,
                            s.value,
                            st.state.name(),
                            s.reset,
                            st.dhcsr
                        );
                    }
                    (None, Some(err)) => {
                        let _ = writeln!(
                            out,
                            "{} (AP{}): {}unreachable{}: {err}",
                            c.core, c.ap, s.error, s.reset
                        );
                        if let Some(h) = &c.hint {
                            let _ = writeln!(out, "    hint: {h}");
                        }
                    }
                    (None, None) => {}
                }
            }
        }
        Outcome::Core { action, status, pc } => {
            let at = pc
                .map(|pc| format!(" at PC {pc:#010x}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {action}: {}{at}",
                status.core.name(),
                status.state.name()
            );
        }
        Outcome::Registers { core, registers } => {
            let _ = writeln!(out, "{core} registers:");
            for chunk in registers.chunks(4) {
                let line: Vec<String> = chunk
                    .iter()
                    .map(|(n, v)| format!("{n:>9} = {v:#010x}"))
                    .collect();
                let _ = writeln!(out, "{}", line.join("  "));
            }
        }
        Outcome::CoreRegister {
            core,
            name,
            value,
            float,
            written,
        } => {
            let verb = if *written { "set" } else { "=" };
            let width = if name.starts_with('d') { 18 } else { 10 };
            let as_float = float.map(|f| format!(" ({f})")).unwrap_or_default();
            let _ = writeln!(out, "{core} {name} {verb} {value:#0width$x}{as_float}");
        }
        Outcome::Reset { kind, halt, halted } => {
            let h = if *halt {
                format!(", halted at reset vector: {}", halted.join(", "))
            } else {
                String::new()
            };
            let _ = writeln!(out, "{kind} reset done{h}");
        }
        Outcome::Waited {
            target,
            value,
            elapsed_ms,
        } => {
            let _ = writeln!(out, "{target} = {value:#x} after {elapsed_ms:.3} ms");
        }
        Outcome::Help { text } => {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        Outcome::SimStats { text, .. } => {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        Outcome::Message { text } => {
            let _ = writeln!(out, "{text}");
        }
        Outcome::Quit => {}
        Outcome::Toolkit(t) => out.push_str(&t.text(s)),
        Outcome::Script(t) => out.push_str(&t.text(s)),
    }
    out
}

/// JSON form of an outcome: one object on one line.
pub fn json(o: &Outcome) -> String {
    serde_json::to_string(o).unwrap_or_else(|e| format!("{{\"type\":\"error\",\"error\":\"{e}\"}}"))
}

/// Text form of an error with its hint.
pub fn error_text(e: &ShellError, s: &Style) -> String {
    let hint = e.hint();
    if hint.is_empty() {
        format!("{}error:{} {e}\n", s.error, s.reset)
    } else {
        format!("{}error:{} {e}\n  hint: {hint}\n", s.error, s.reset)
    }
}

/// JSON form of an error: `{"error", "hint", "kind"}`.
pub fn error_json(e: &ShellError) -> String {
    serde_json::json!({ "error": e.to_string(), "hint": e.hint(), "kind": e.kind() }).to_string()
}

/// A memory dump as `hexdump -C` shows one: 16 bytes a line, items in the access size, the
/// bytes as ASCII when more than one item was read, and a run of lines equal to the one before
/// collapsed into `*` (the last line always shown, so the end address is visible).
fn memory_text(out: &mut String, address: u64, size: u32, values: &[u32]) {
    let per_line = (16 / size as usize).max(1);
    let ascii = values.len() > 1;
    let lines: Vec<&[u32]> = values.chunks(per_line).collect();
    let mut collapsed = false;
    for (i, chunk) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        if i > 0 && !last && *chunk == lines[i - 1] && chunk.len() == per_line {
            if !collapsed {
                let _ = writeln!(out, "*");
                collapsed = true;
            }
            continue;
        }
        collapsed = false;
        let a = address + (i * per_line) as u64 * u64::from(size);
        let words: Vec<String> = chunk.iter().map(|v| hex(u64::from(*v), size * 8)).collect();
        if !ascii {
            let _ = writeln!(out, "{a:#010x}: {}", words.join(" "));
            continue;
        }
        let text: String = chunk
            .iter()
            .flat_map(|v| v.to_le_bytes().into_iter().take(size as usize))
            .map(|b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect();
        // Pad short last lines so the ASCII column lines up.
        let width = per_line * (2 + 2 * size as usize) + per_line - 1;
        let _ = writeln!(out, "{a:#010x}: {:<width$}  |{text}|", words.join(" "));
    }
}
