//! `record FILE`: the session's commands as a runnable script that prints what the session
//! printed (each command becomes `shell("...")`), under a header that says where it was made.

use crate::h7::facts::flash;
use crate::lang::Command;
use crate::session::Session;
use crate::target::{ApIndex, Width};
use std::path::Path;

/// A Rhai string literal for `s`.
pub fn rhai_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The statement that re-runs `cmd` and prints what the shell printed for it.
pub fn statement(cmd: &Command) -> String {
    format!("shell({});\n", rhai_string(&cmd.to_line()))
}

/// `YYYY-MM-DD HH:MM:SS UTC` of now.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn hex(v: Option<u32>) -> String {
    v.map(|v| format!("{v:#010x}"))
        .unwrap_or_else(|| "not read".into())
}

/// Chip identity and option bytes, as a recording's header states them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    pub chip: String,
    pub dpidr: u32,
    pub dbgmcu_idc: Option<u32>,
    pub cm7_cpuid: Option<u32>,
    pub cm4_cpuid: Option<u32>,
    pub optsr_cur: Option<u32>,
    pub boot7_cur: Option<u32>,
    pub boot4_cur: Option<u32>,
}

/// Reads the snapshot: identity from the connection, option bytes through AP0 directly (not
/// through `execute`, so the session's change marks stay as they were). A recording's replay
/// starts with `identity()`, which makes the same reads, so that both runs make the same debug
/// traffic (the virtual board's time advances with it) and print the same.
pub fn snapshot(session: &mut Session) -> Snapshot {
    let id = session.target().identity().clone();
    let mut ob = |off: u64| {
        session
            .target()
            .read(ApIndex::CM7, flash::BASE + off, Width::U32, 1)
            .ok()
            .and_then(|v| v.first().copied())
    };
    let optsr_cur = ob(flash::OPTSR_CUR);
    let boot7_cur = ob(flash::BOOT7_CUR);
    let boot4_cur = ob(flash::BOOT4_CUR);
    Snapshot {
        chip: id.chip,
        dpidr: id.dpidr,
        dbgmcu_idc: id.dbgmcu_idc,
        cm7_cpuid: id.cm7_cpuid,
        cm4_cpuid: id.cm4_cpuid,
        optsr_cur,
        boot7_cur,
        boot4_cur,
    }
}

fn opt(v: Option<u32>) -> String {
    v.map(|v| format!("{v:#010x}"))
        .unwrap_or_else(|| "()".into())
}

/// The header comment (version, date, connection, chip identity, option bytes) and the
/// preamble that checks the chip is the same when the recording is replayed.
pub fn header(session: &mut Session, file: &Path) -> String {
    let scenario = session.board().map(|b| b.scenario());
    let connection = session.connection().to_string();
    let snap = snapshot(session);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let run = match &scenario {
        Some(s) => format!("h7sh --sim {s} {name}"),
        None => format!("h7sh --probe VID:PID {name}"),
    };
    let mut h = String::new();
    h.push_str(&format!(
        "// Recorded by h7sh {} on {}.\n",
        env!("CARGO_PKG_VERSION"),
        utc_now()
    ));
    h.push_str(&format!("// Connection: {connection}\n"));
    if let Some(s) = &scenario {
        h.push_str(&format!("// Virtual-board scenario: {s}\n"));
    }
    h.push_str(&format!(
        "// Chip: {} (DPIDR {:#010x}), DBGMCU_IDC {}, CM7 CPUID {}, CM4 CPUID {}\n",
        if snap.chip.is_empty() {
            "?"
        } else {
            &snap.chip
        },
        snap.dpidr,
        hex(snap.dbgmcu_idc),
        hex(snap.cm7_cpuid),
        match snap.cm4_cpuid {
            Some(v) => format!("{v:#010x}"),
            None => "not read (AP3 not attached yet)".into(),
        }
    ));
    h.push_str(&format!(
        "// Option bytes at the start: FLASH_OPTSR_CUR {}, FLASH_BOOT7_CUR {}, FLASH_BOOT4_CUR {}\n",
        hex(snap.optsr_cur),
        hex(snap.boot7_cur),
        hex(snap.boot4_cur)
    ));
    h.push_str(&format!("// Replay: {run}\n"));
    h.push_str(
        "// Each shell(...) line re-runs one command and prints what the session printed.\n\n",
    );
    h.push_str(&format!(
        "// Same chip and option bytes as when recorded? (the same reads; a warning on stderr if not)\n\
         let chip = identity();\n\
         if chip.optsr_cur != {} || chip.boot7_cur != {} || chip.boot4_cur != {} {{\n\
         \x20   warn(\"the option bytes differ from the recording's: results may differ\");\n\
         }}\n\n",
        opt(snap.optsr_cur),
        opt(snap.boot7_cur),
        opt(snap.boot4_cur)
    ));
    h
}

/// Writes `text` to `path` atomically, the way every h7sh file is written (`crate::fsutil`:
/// symlinks followed, special files refused, the mode kept).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    crate::fsutil::write_atomic(path, text.as_bytes()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_for_rhai() {
        assert_eq!(rhai_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(rhai_string("x\ny"), r#""x\ny""#);
    }

    #[test]
    fn date_has_the_right_shape() {
        let d = utc_now();
        assert_eq!(d.len(), "2026-01-01 00:00:00 UTC".len(), "{d}");
        assert!(d.starts_with("20"), "{d}");
    }
}
