//! The STM32H7 toolkit commands: `ob`, `ob set`, `doctor`, `report`, `snap`, `diff`.
//!
//! Chip knowledge lives in `h7` (`ob`: the option-byte table and programming engine, `doctor`:
//! the findings, `ap3`: why AP3 does not answer, `report`: bit names); this file reads the chip
//! through the session's target and turns results into outcomes.

use super::{Outcome, RegisterValue, Session, ShellError, Skipped};
use crate::fsutil;
use crate::h7::doctor::{self, Cm4Access, Finding, Readings};
use crate::h7::facts::{dbgmcu, flash, ob_fields, pwr, rcc, scs};
use crate::h7::ob::{
    self, Danger, FieldResult, ObBus, ObChange, ObFieldValue, ObRegValue, Requested, Step,
};
use crate::h7::report as rep;
use crate::lang::{Command, Value};
use crate::render::Style;
use crate::svd::{RegId, Resolved};
use crate::target::{ApIndex, CoreId, ReadRun, Target, TargetError, Width};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One row of the report's boot-state table: AP, name, address, decoded bits.
type BootStateRow = (ApIndex, &'static str, u64, &'static [(u32, &'static str)]);

/// Peripherals `snap`/`diff` take when none are named: the bring-up ones.
pub const DEFAULT_SNAP_PERIPHERALS: [&str; 6] = ["FLASH", "RCC", "PWR", "DBGMCU", "SYSCFG", "HSEM"];

/// CLI flag that allows RDP level 2.
pub const FLAG_RDP2: &str = "--i-understand-rdp2-is-permanent";
/// CLI flag that allows the other dangerous option-byte changes.
pub const FLAG_DANGEROUS: &str = "--allow-dangerous-option-bytes";

/// A snapshot of peripheral state (`snap`).
#[derive(Debug, Clone)]
struct Snapshot {
    ap: ApIndex,
    peripherals: Vec<String>,
    registers: Vec<RegisterValue>,
}

/// One snapshot in `snap list`.
#[derive(Debug, Clone, Serialize)]
pub struct SnapInfo {
    pub name: String,
    pub ap: u8,
    pub peripherals: Vec<String>,
    pub registers: usize,
}

/// A snapshot as `snap save` writes it: the raw register values, decoded again against the SVD
/// of whoever runs `diff FILE`.
#[derive(Debug, Serialize, serde::Deserialize)]
struct SnapshotFile {
    /// Format marker and version.
    h7sh_snapshot: u32,
    name: String,
    ap: u8,
    peripherals: Vec<String>,
    registers: Vec<SavedRegister>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct SavedRegister {
    name: String,
    address: u64,
    value: u64,
}

const SNAPSHOT_FILE_VERSION: u32 = 1;

/// What the toolkit keeps between commands (snapshots, the OPT_BUSY timeout).
#[derive(Debug)]
pub struct ToolkitState {
    snapshots: BTreeMap<String, Snapshot>,
    ob_timeout_ms: u64,
}

impl Default for ToolkitState {
    fn default() -> Self {
        ToolkitState {
            snapshots: BTreeMap::new(),
            ob_timeout_ms: ob_fields::OPT_BUSY_TIMEOUT_MS,
        }
    }
}

/// `ob`: every option byte, current and pending.
#[derive(Debug, Clone, Serialize)]
pub struct ObOutcome {
    pub optcr: u32,
    pub locked: bool,
    pub opt_busy: bool,
    pub optchangeerr: bool,
    /// Some PRG register differs from CUR: written, not programmed yet.
    pub pending: bool,
    pub fields: Vec<ObFieldValue>,
    pub registers: Vec<ObRegValue>,
}

/// `ob set`: the change, and what was done.
#[derive(Debug, Clone, Serialize)]
pub struct ObSetOutcome {
    pub changes: Vec<ObChange>,
    pub warnings: Vec<String>,
    /// Dangerous changes allowed by their flag.
    pub forced: Vec<Danger>,
    pub dry_run: bool,
    /// Fields asked for with their CUR value whose pending PRG value was written back.
    pub discarded: Vec<ObChange>,
    /// The option bytes were programmed (every requested field read back with its new value).
    pub programmed: bool,
    /// Each requested field as read back from its CUR register after programming.
    pub fields: Vec<FieldResult>,
    pub relocked: bool,
    pub reset_needed: bool,
    pub steps: Vec<Step>,
    /// The user answered no at the confirmation: nothing was written (not an error).
    pub cancelled: bool,
}

/// `doctor`.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorOutcome {
    pub healthy: bool,
    pub findings: Vec<Finding>,
    /// What could not be read (port and reason).
    pub unreadable: Vec<String>,
}

/// One field that changed between a snapshot and now.
#[derive(Debug, Clone, Serialize)]
pub struct FieldChange {
    pub name: String,
    pub lsb: u32,
    pub width: u32,
    pub before: u64,
    pub after: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_enum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_enum: Option<String>,
}

/// One register that changed.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterChange {
    pub name: String,
    pub address: u64,
    pub before: u64,
    pub after: u64,
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToolkitOutcome {
    Ob(ObOutcome),
    ObSet(ObSetOutcome),
    Doctor(DoctorOutcome),
    Report {
        markdown: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
    },
    Snap {
        name: String,
        ap: u8,
        peripherals: Vec<String>,
        registers: usize,
        skipped: Vec<Skipped>,
    },
    SnapList {
        snapshots: Vec<SnapInfo>,
    },
    SnapSaved {
        name: String,
        file: String,
        registers: usize,
    },
    Diff {
        name: String,
        peripherals: Vec<String>,
        compared: usize,
        changed: Vec<RegisterChange>,
        /// Registers of the snapshot that could not be read again.
        missing: Vec<String>,
    },
}

fn hex_width(v: u64, width: u32) -> String {
    if width <= 4 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

impl ToolkitOutcome {
    /// Text form.
    pub fn text(&self, s: &Style) -> String {
        let mut out = String::new();
        match self {
            ToolkitOutcome::Ob(o) => ob_text(&mut out, o, s),
            ToolkitOutcome::ObSet(o) => ob_set_text(&mut out, o, s),
            ToolkitOutcome::Doctor(d) => doctor_text(&mut out, d, s),
            ToolkitOutcome::Report { markdown, file } => match file {
                Some(f) => {
                    let _ = writeln!(out, "report written to {f} ({} bytes)", markdown.len());
                }
                None => out.push_str(markdown),
            },
            ToolkitOutcome::Snap {
                name,
                ap,
                peripherals,
                registers,
                skipped,
            } => {
                let _ = writeln!(
                    out,
                    "snapshot `{name}`: {registers} registers of {} through AP{ap}",
                    peripherals.join(", ")
                );
                skipped_text(&mut out, skipped, s);
            }
            ToolkitOutcome::SnapList { snapshots } => {
                if snapshots.is_empty() {
                    let _ = writeln!(out, "no snapshots yet: take one with `snap NAME`");
                }
                for i in snapshots {
                    let _ = writeln!(
                        out,
                        "{:<12} AP{}  {:>4} registers  {}",
                        i.name,
                        i.ap,
                        i.registers,
                        i.peripherals.join(", ")
                    );
                }
            }
            ToolkitOutcome::SnapSaved {
                name,
                file,
                registers,
            } => {
                let _ = writeln!(
                    out,
                    "snapshot `{name}` ({registers} registers) saved to {file}; compare with \
                     `diff {file}`"
                );
            }
            ToolkitOutcome::Diff {
                name,
                peripherals,
                compared,
                changed,
                missing,
            } => {
                let _ = writeln!(
                    out,
                    "diff `{name}` ({}): {} of {compared} registers changed",
                    peripherals.join(", "),
                    changed.len()
                );
                for r in changed {
                    let _ = writeln!(
                        out,
                        "{}{}{} @ {:#010x}: {:#010x} -> {}{:#010x}{}",
                        s.name, r.name, s.reset, r.address, r.before, s.changed, r.after, s.reset
                    );
                    for f in &r.fields {
                        let short = f.name.rsplit('.').next().unwrap_or(&f.name);
                        let bits = if f.width == 1 {
                            format!("[{}]", f.lsb)
                        } else {
                            format!("[{}:{}]", f.lsb + f.width - 1, f.lsb)
                        };
                        let en = |e: &Option<String>| {
                            e.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
                        };
                        let _ = writeln!(
                            out,
                            "  {bits:>8} {short:<16} {}{} -> {}{}",
                            hex_width(f.before, f.width),
                            en(&f.before_enum),
                            hex_width(f.after, f.width),
                            en(&f.after_enum)
                        );
                    }
                }
                for m in missing {
                    let _ = writeln!(out, "  {}not read again: {m}{}", s.dim, s.reset);
                }
            }
        }
        out
    }
}

/// Skipped registers grouped by reason (a few names each).
fn skipped_text(out: &mut String, skipped: &[Skipped], s: &Style) {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for sk in skipped {
        match reasons.iter_mut().find(|(r, _)| *r == sk.reason) {
            Some((_, names)) => names.push(&sk.name),
            None => reasons.push((&sk.reason, vec![&sk.name])),
        }
    }
    for (reason, names) in reasons {
        let more = if names.len() > 4 {
            format!(" and {} more", names.len() - 4)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}skipped ({reason}): {}{more}{}",
            s.dim,
            names.iter().take(4).copied().collect::<Vec<_>>().join(", "),
            s.reset
        );
    }
}

fn ob_text(out: &mut String, o: &ObOutcome, s: &Style) {
    let _ = writeln!(
        out,
        "option bytes (FLASH @ {:#010x}): OPTCR = {:#010x} ({}), OPT_BUSY = {}, OPTCHANGEERR = {}",
        flash::BASE,
        o.optcr,
        if o.locked { "locked" } else { "UNLOCKED" },
        u8::from(o.opt_busy),
        u8::from(o.optchangeerr)
    );
    let _ = writeln!(
        out,
        "  {:<17} {:<5} {:>7}  {:<26} {:<26} ACTS",
        "FIELD", "REG", "BITS", "CUR (in force)", "PRG (to program)"
    );
    for f in &o.fields {
        let field = ob::field(f.name);
        let fmt = |v: u32| match field {
            Some(fd) => ob::format_value(fd, v),
            None => format!("{v:#x}"),
        };
        let bits = if f.width == 1 {
            format!("[{}]", f.lsb)
        } else {
            format!("[{}:{}]", f.lsb + f.width - 1, f.lsb)
        };
        let mark = if f.pending {
            format!("{}*{}", s.changed, s.reset)
        } else {
            " ".into()
        };
        let _ = writeln!(
            out,
            "{mark} {}{:<17}{} {:<5} {bits:>7}  {}{:<26}{} {:<26} {}{}{}",
            s.name,
            f.name,
            s.reset,
            f.register,
            s.value,
            fmt(f.cur),
            s.reset,
            fmt(f.prg),
            s.dim,
            f.effect.text(),
            s.reset
        );
    }
    if o.pending {
        let _ = writeln!(
            out,
            "* PRG differs from CUR: written but not programmed (no OPTSTART yet); `ob set` \
             programs, a reset reloads PRG from CUR"
        );
    }
    let _ = writeln!(
        out,
        "{}fields marked `at next reset` act only after a reset once programmed{}",
        s.dim, s.reset
    );
}

fn ob_set_text(out: &mut String, o: &ObSetOutcome, s: &Style) {
    if o.cancelled {
        let _ = writeln!(out, "cancelled: nothing was written");
        return;
    }
    if o.changes.is_empty() && o.discarded.is_empty() {
        let _ = writeln!(
            out,
            "nothing to change: the option bytes already hold these values"
        );
        return;
    }
    for c in &o.changes {
        let _ = writeln!(
            out,
            "  {}{:<17}{} {} -> {}{}{}  ({})",
            s.name,
            c.name,
            s.reset,
            c.before_text,
            s.changed,
            c.after_text,
            s.reset,
            c.effect.text()
        );
    }
    for c in &o.discarded {
        let _ = writeln!(
            out,
            "  {}{:<17}{} pending {} discarded: PRG set back to {}",
            s.name, c.name, s.reset, c.before_text, c.after_text
        );
    }
    for w in &o.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    for d in &o.forced {
        let _ = writeln!(out, "  {}forced:{} {}", s.error, s.reset, d.text());
    }
    if o.dry_run {
        let _ = writeln!(out, "dry run: the sequence would be");
    }
    for st in &o.steps {
        let _ = writeln!(out, "  {}{}{}", s.dim, st.text(), s.reset);
    }
    if o.programmed {
        // Only reached relocked: a failed relock is an error (`ob_set_failure`).
        let _ = writeln!(out, "option bytes programmed and verified; OPTCR relocked");
        if o.reset_needed {
            let _ = writeln!(
                out,
                "reset needed: run `reset` for the change to take effect"
            );
        }
    }
}

fn doctor_text(out: &mut String, d: &DoctorOutcome, s: &Style) {
    if d.healthy {
        let _ = writeln!(
            out,
            "healthy: no known problem found (option bytes, boot state, both cores, supply, AP3)"
        );
    }
    for f in &d.findings {
        let _ = writeln!(
            out,
            "{}{}{} {}{}{}: {}",
            if f.severity == doctor::Severity::Error {
                s.error
            } else {
                s.changed
            },
            f.severity.text(),
            s.reset,
            s.name,
            f.id,
            s.reset,
            f.summary
        );
        let ev = f
            .evidence
            .0
            .iter()
            .map(|(n, v)| format!("{n} = {v:#010x}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "  evidence: {ev}");
        let _ = writeln!(out, "  fix:      {}", f.fix.join("; "));
        let _ = writeln!(out, "  {}{}{}", s.dim, f.note, s.reset);
    }
    for u in &d.unreadable {
        let _ = writeln!(out, "  {}not read: {u}{}", s.dim, s.reset);
    }
}

/// The option-byte engine's view of the session: AP0, the session clock and Ctrl-C.
struct SessionBus<'a> {
    target: &'a mut Target,
    board: Option<&'a dyn super::VirtualBoard>,
    wall: std::time::Instant,
    interrupt: &'a std::sync::atomic::AtomicBool,
}

impl ObBus for SessionBus<'_> {
    type Error = TargetError;
    fn read_blocks(&mut self, blocks: &[(u64, usize)]) -> Result<Vec<Vec<u32>>, TargetError> {
        let runs: Vec<ReadRun> = blocks
            .iter()
            .map(|&(addr, count)| ReadRun {
                addr,
                width: Width::U32,
                count,
            })
            .collect();
        // A few words: not worth stopping half-way on Ctrl-C.
        let values = self.target.read_runs(ApIndex::CM7, &runs, &|| false)?;
        Ok(values.unwrap_or_default())
    }
    fn write(&mut self, address: u64, value: u32) -> Result<(), TargetError> {
        self.target.write32(ApIndex::CM7, address, value)
    }
    fn now_ms(&mut self) -> f64 {
        match self.board {
            Some(b) => b.now_nanos() as f64 / 1e6,
            None => self.wall.elapsed().as_secs_f64() * 1e3,
        }
    }
    fn pause_ms(&mut self, ms: u64) {
        match self.board {
            Some(b) => b.wait_ms(ms),
            None => std::thread::sleep(std::time::Duration::from_millis(ms)),
        }
    }
    fn recover(&mut self) {
        // A failed reconnect shows in the next attempt's error.
        let _ = self.target.reconnect();
    }
    fn interrupted(&mut self) -> bool {
        self.interrupt
            .swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

/// The error of an `ob set` that did not end programmed, verified and relocked: what is on the
/// chip, field by field, and whether OPTCR is locked.
fn ob_set_failure(report: &ob::ProgramReport) -> ShellError {
    let mut message = match (&report.failure, report.programmed) {
        (_, true) if !report.relocked => "ob set: the option bytes ARE programmed and verified, \
                                          but OPTCR could NOT be relocked"
            .to_string(),
        (Some(f), true) => format!(
            "ob set: {}; the read-back shows the option bytes programmed and verified",
            f.text()
        ),
        (None, true) => "ob set: programmed and verified".to_string(),
        (Some(f), false) => format!("ob set failed: {}", f.text()),
        (None, false) => "ob set failed: the option bytes do not read back as asked".to_string(),
    };
    message.push_str("\n  on the chip now:");
    for f in &report.fields {
        let _ = write!(message, "\n    {}", f.text());
    }
    let _ = write!(
        message,
        "\n    OPTCR: {}",
        if report.relocked {
            "relocked (OPTLOCK = 1, read back)".to_string()
        } else {
            format!(
                "UNLOCKED (OPTLOCK not read back as 1 after {} attempts)",
                ob::RELOCK_ATTEMPTS
            )
        }
    );
    message.push_str("\n  steps:");
    for st in &report.steps {
        let _ = write!(message, "\n    {}", st.text());
    }
    let hint = if report.relocked {
        report
            .failure
            .as_ref()
            .map_or("compare CUR and PRG with `ob`", |f| f.hint())
            .to_string()
    } else {
        "OPTCR stays unlocked until the next reset, so a stray write can change the option \
         bytes: check the link (`info`), then `write FLASH_OPTCR.OPTLOCK 1` (or `reset`) and \
         check with `ob`"
            .to_string()
    };
    ShellError::refused(message, hint)
}

/// The refusal of a plan that would commit PRG values nobody asked for.
fn pending_refusal(plan: &ob::ObPlan, list: &[(String, Value)]) -> ShellError {
    let mut message = String::from(
        "refused: PRG registers hold option-byte values this `ob set` did not ask for, and \
         OPTSTART programs every PRG register, so they would be committed too:",
    );
    for c in &plan.pending {
        let _ = write!(
            message,
            "\n  {:<17} CUR {} -> PRG {} (pending in {})",
            c.name, c.before_text, c.after_text, c.register
        );
    }
    let asked = list.iter().map(|(n, v)| match v {
        Value::Number(x) => format!("{n}={x:#x}"),
        Value::Symbol(s) => format!("{n}={s}"),
    });
    let back: Vec<String> = asked
        .chain(
            plan.pending
                .iter()
                .map(|c| format!("{}={:#x}", c.name, c.before)),
        )
        .collect();
    ShellError::refused(
        message,
        format!(
            "nothing was written. To drop them, add them back at their current value: \
             `ob set {}` (or `reset`: a reset reloads PRG from CUR); to program them, name \
             them with their value in this `ob set`, so they are checked and confirmed like any \
             change",
            back.join(" ")
        ),
    )
}

fn requested(v: &Value) -> Requested {
    match v {
        Value::Number(n) => Requested::Number(*n),
        Value::Symbol(s) => Requested::Name(s.clone()),
    }
}

impl Session {
    pub(super) fn execute_toolkit(&mut self, cmd: &Command) -> Result<Outcome, ShellError> {
        let o = match cmd {
            Command::Ob => ToolkitOutcome::Ob(self.ob()?),
            Command::ObSet(list) => ToolkitOutcome::ObSet(self.ob_set(list)?),
            Command::Doctor => ToolkitOutcome::Doctor(self.doctor()),
            Command::Report(file) => self.report(file.as_deref())?,
            Command::Snap { name, peripherals } => self.snap(name, peripherals)?,
            Command::SnapList => self.snap_list(),
            Command::SnapSave { file, name } => self.snap_save(file, name.as_deref())?,
            Command::Diff { name, peripherals } => self.diff(name, peripherals)?,
            other => {
                return Err(ShellError::Unsupported {
                    message: format!("`{}` is not a toolkit command", other.to_line()),
                    hint: "see `help`".into(),
                })
            }
        };
        Ok(Outcome::Toolkit(o))
    }

    /// How long `ob set` waits for OPT_BUSY to clear (session clock: virtual on the virtual
    /// board). Default `ob_fields::OPT_BUSY_TIMEOUT_MS`.
    pub fn set_ob_timeout_ms(&mut self, ms: u64) {
        self.toolkit.ob_timeout_ms = ms;
    }

    fn ob_bus(&mut self) -> SessionBus<'_> {
        SessionBus {
            target: &mut self.target,
            board: self.board.as_deref(),
            wall: std::time::Instant::now(),
            interrupt: &self.interrupt,
        }
    }

    fn read_ob_words(&mut self) -> Result<ob::ObWords, ShellError> {
        Ok(ob::read(&mut self.ob_bus())?)
    }

    fn ob(&mut self) -> Result<ObOutcome, ShellError> {
        let w = self.read_ob_words()?;
        let (registers, fields) = ob::decode(&w);
        Ok(ObOutcome {
            optcr: w.optcr,
            locked: w.locked(),
            opt_busy: w.opt_busy(),
            optchangeerr: w.optchangeerr(),
            pending: fields.iter().any(|f| f.pending),
            fields,
            registers,
        })
    }

    fn ob_set(&mut self, list: &[(String, Value)]) -> Result<ObSetOutcome, ShellError> {
        let words = self.read_ob_words()?;
        let requests: Vec<(String, Requested)> = list
            .iter()
            .map(|(n, v)| (n.clone(), requested(v)))
            .collect();
        let plan = ob::plan(&words, &requests).map_err(|e| ShellError::BadValue {
            message: e.message,
            hint: e.hint,
        })?;
        if !plan.pending.is_empty() {
            return Err(pending_refusal(&plan, list));
        }
        for d in &plan.dangers {
            let (allowed, flag) = if d.permanent() {
                (self.options.allow_rdp2, FLAG_RDP2)
            } else {
                (self.options.allow_dangerous_ob, FLAG_DANGEROUS)
            };
            if !allowed {
                return Err(ShellError::refused(
                    format!("refused: {}", d.text()),
                    format!("nothing was written; if you really mean it, start h7sh with {flag}"),
                ));
            }
        }
        let mut outcome = ObSetOutcome {
            changes: plan.changes.clone(),
            warnings: plan.warnings.clone(),
            forced: plan.dangers.clone(),
            dry_run: self.options.dry_run,
            discarded: plan.discarded.clone(),
            programmed: false,
            fields: Vec::new(),
            relocked: words.locked(),
            reset_needed: plan.reset_needed,
            steps: Vec::new(),
            cancelled: false,
        };
        if plan.changes.is_empty() && plan.discarded.is_empty() {
            return Ok(outcome);
        }
        if self.options.dry_run {
            outcome.steps = ob::dry_run_steps(&plan, &words);
            return Ok(outcome);
        }
        if !self.confirm_ob_change(&plan)? {
            outcome.cancelled = true;
            return Ok(outcome);
        }
        // From the unlock to the relock, Ctrl-C must not kill the process (in `-c` mode it
        // would): it sets the session flag, which the engine reads before OPTSTART only.
        crate::script::install_ctrlc(self.interrupt_flag());
        let timeout = self.toolkit.ob_timeout_ms;
        let report = ob::program(&mut self.ob_bus(), &plan, timeout);
        outcome.programmed = report.programmed;
        outcome.relocked = report.relocked;
        outcome.fields = report.fields.clone();
        match (&report.failure, report.relocked, report.programmed) {
            (None, true, _) => {}
            // A transient wire fault; the read-back shows the change is there.
            (Some(f @ ob::ObFailure::Bus { .. }), true, true) => outcome.warnings.push(format!(
                "{} during the sequence, but every field reads back programmed",
                f.text()
            )),
            _ => return Err(ob_set_failure(&report)),
        }
        outcome.steps = report.steps;
        Ok(outcome)
    }

    /// Interactive sessions ask (false: the user said no); `-c` and scripts need `--yes`.
    fn confirm_ob_change(&mut self, plan: &ob::ObPlan) -> Result<bool, ShellError> {
        if self.options.yes {
            return Ok(true);
        }
        let mut question = String::from("program the option bytes:\n");
        for c in &plan.changes {
            let _ = writeln!(
                question,
                "  {} {} -> {} ({})",
                c.name,
                c.before_text,
                c.after_text,
                c.effect.text()
            );
        }
        for c in &plan.discarded {
            let _ = writeln!(
                question,
                "  {} pending {} discarded (PRG back to {})",
                c.name, c.before_text, c.after_text
            );
        }
        for w in &plan.warnings {
            let _ = writeln!(question, "  warning: {w}");
        }
        question.push_str("go ahead?");
        if let Some(confirm) = self.confirm.as_mut() {
            // Answering no is a choice, not a failure (exit status 0, as `rm -i` does).
            return Ok(confirm(&question));
        }
        Err(ShellError::refused(
            "`ob set` changes non-volatile option bytes and needs a confirmation",
            "add --yes to confirm (or --dry-run to see the sequence); nothing was written",
        ))
    }

    // ---- doctor --------------------------------------------------------------------------------

    fn doctor_readings(&mut self) -> (Readings, Vec<String>) {
        let mut unreadable = Vec::new();
        let t = &mut self.target;
        let mut block = |ap: ApIndex, addr: u64, n: usize, what: &str| -> Option<Vec<u32>> {
            match t.read(ap, addr, Width::U32, n) {
                Ok(v) if v.len() == n => Some(v),
                Ok(_) => None,
                Err(e) => {
                    unreadable.push(format!("{what} through AP{}: {e}", ap.get()));
                    None
                }
            }
        };
        // FLASH OPTSR_CUR .. BOOT4_CUR in one block.
        let n_flash = ((flash::BOOT4_CUR - flash::OPTSR_CUR) / 4 + 1) as usize;
        let fl = block(
            ApIndex::CM7,
            flash::BASE + flash::OPTSR_CUR,
            n_flash,
            "FLASH option bytes",
        );
        let fw = |off: u64| {
            fl.as_ref()
                .and_then(|v| v.get(((off - flash::OPTSR_CUR) / 4) as usize).copied())
        };
        let rcc_cr = block(ApIndex::CM7, rcc::BASE + rcc::CR, 1, "RCC_CR").map(|v| v[0]);
        let rcc_gcr = block(ApIndex::CM7, rcc::BASE + rcc::GCR, 1, "RCC_GCR").map(|v| v[0]);
        let rcc_rsr = block(ApIndex::CM7, rcc::BASE + rcc::RSR, 1, "RCC_RSR").map(|v| v[0]);
        let n_pwr = ((pwr::CR3 - pwr::CSR1) / 4 + 1) as usize;
        let pw = block(ApIndex::CM7, pwr::BASE + pwr::CSR1, n_pwr, "PWR_CSR1..CR3");
        // DBGMCU IDC and CR, then APB4FZ1..2, through AP2, else at its CM7 system-bus address
        // (an ST-LINK below V2J28 reaches AP0 only); two blocks, so that a fault on the freeze
        // registers cannot cost IDC and CR.
        let mut dbgmcu_block = |off: u64, n: usize, what: &str| {
            block(ApIndex::APB_D, dbgmcu::BASE_APBD + off, n, what).or_else(|| {
                block(
                    ApIndex::CM7,
                    dbgmcu::BASE_SYSBUS + off,
                    n,
                    &format!("{what} through AP0"),
                )
            })
        };
        let dbg = dbgmcu_block(dbgmcu::IDC, 2, "DBGMCU");
        let fz = dbgmcu_block(dbgmcu::APB4FZ1, 2, "DBGMCU_APB4FZ1..2");
        let cm7_cpuid = block(ApIndex::CM7, scs::CPUID, 1, "CM7 CPUID").map(|v| v[0]);
        let cm7_dhcsr = block(ApIndex::CM7, scs::DHCSR, 1, "CM7 DHCSR").map(|v| v[0]);
        let optsr = fw(flash::OPTSR_CUR);
        let boot7 = fw(flash::BOOT7_CUR);
        let boot4 = fw(flash::BOOT4_CUR);
        // At RDP level 1 the debugger cannot read flash: the vector tables are not asked for.
        let rdp1 = optsr.is_some_and(|v| {
            let rdp = crate::h7::ob::get(v, flash::optsr::RDP);
            rdp != flash::RDP_LEVEL0 && rdp != flash::RDP_LEVEL2
        });
        let mut vector = |boot: Option<u32>, what: &str| -> Option<[u32; 2]> {
            let a = doctor::boot_address(boot?);
            if rdp1 || !doctor::boot_address_in_flash(a) {
                return None;
            }
            block(ApIndex::CM7, a, 2, what).map(|v| [v[0], v[1]])
        };
        let cm7_vector = vector(boot7, "CM7 vector table");
        let cm4_vector = vector(boot4, "CM4 vector table");
        // AP3: attach afresh so the answer reflects the chip now; a failure is h7::ap3's diagnosis.
        self.target.invalidate();
        let cm4 = match self.target.core_status(CoreId::Cm4) {
            Ok(s) => Cm4Access::Dhcsr(s.dhcsr),
            Err(TargetError::Ap3Unreachable { cause, .. }) => match self.target.ap3_status() {
                Err(d) => Cm4Access::Unreachable(d.clone()),
                Ok(_) => Cm4Access::Unknown(cause),
            },
            // The probe cannot open AP3: a cause found through AP0 is still the chip's; without
            // one, the CM4 is merely out of this probe's reach, not a finding.
            Err(e @ TargetError::ProbeFirmware { .. }) => {
                unreadable.push(format!("CM4 DHCSR through AP3: {e}"));
                match self.target.ap3_status() {
                    Err(d) if d.id != "ap3-unreachable-unknown" => {
                        Cm4Access::Unreachable(d.clone())
                    }
                    _ => Cm4Access::Unknown(e.to_string()),
                }
            }
            Err(e) => {
                unreadable.push(format!("CM4 DHCSR through AP3: {e}"));
                Cm4Access::Unknown(e.to_string())
            }
        };
        let readings = Readings {
            optsr_cur: optsr,
            boot7_cur: boot7,
            boot4_cur: boot4,
            rcc_cr,
            rcc_gcr,
            pwr_csr1: pw.as_ref().map(|v| v[0]),
            pwr_cr3: pw.as_ref().and_then(|v| v.last().copied()),
            dbgmcu_idc: dbg.as_ref().map(|v| v[0]),
            dbgmcu_cr: dbg.as_ref().map(|v| v[1]),
            dbgmcu_apb4fz: fz.map(|v| [v[0], v[1]]),
            rcc_rsr,
            cm7_cpuid,
            cm7_dhcsr,
            cm4,
            cm7_vector,
            cm4_vector,
        };
        (readings, unreadable)
    }

    fn doctor(&mut self) -> DoctorOutcome {
        let (readings, unreadable) = self.doctor_readings();
        let findings = doctor::diagnose(&readings);
        DoctorOutcome {
            healthy: findings.is_empty(),
            findings,
            unreadable,
        }
    }

    // ---- report --------------------------------------------------------------------------------

    /// Before a user-named file is written: anything but a regular file (after symlinks) is
    /// refused, an existing file is replaced only after a question or with `--yes`.
    pub(super) fn check_overwrite(&mut self, path: &Path, what: &str) -> Result<(), ShellError> {
        let target = fsutil::resolve(path).map_err(|e| ShellError::Io {
            message: format!("cannot write {}: {e}", path.display()),
            hint: "give the name of a regular file, or of a new one".into(),
        })?;
        let Some(size) = target.existing else {
            return Ok(());
        };
        if self.options.yes {
            return Ok(());
        }
        let via = if target.path != path {
            format!(" (through the symlink {})", path.display())
        } else {
            String::new()
        };
        let question = format!(
            "{}{via} exists ({size} bytes): replace it with the {what}?",
            target.path.display()
        );
        if let Some(confirm) = self.confirm.as_mut() {
            if confirm(&question) {
                return Ok(());
            }
            return Err(ShellError::refused(
                format!("{} not replaced", path.display()),
                "nothing was written; give another file name",
            ));
        }
        Err(ShellError::refused(
            format!(
                "{}{via} exists ({size} bytes): not replaced",
                target.path.display()
            ),
            "add --yes to replace it, or give another file name; nothing was written",
        ))
    }

    fn report(&mut self, file: Option<&str>) -> Result<ToolkitOutcome, ShellError> {
        if let Some(path) = file {
            self.check_overwrite(Path::new(path), "report")?;
        }
        let markdown = self.report_markdown();
        if let Some(path) = file {
            fsutil::write_atomic(Path::new(path), markdown.as_bytes()).map_err(|e| {
                ShellError::Io {
                    message: format!("cannot write {path}: {e}"),
                    hint: "check the folder exists and is writable".into(),
                }
            })?;
        }
        Ok(ToolkitOutcome::Report {
            markdown,
            file: file.map(str::to_string),
        })
    }

    fn report_markdown(&mut self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "## h7sh report\n");
        let _ = writeln!(md, "- h7sh {}", env!("CARGO_PKG_VERSION"));
        match self.board() {
            Some(b) => {
                let _ = writeln!(md, "- virtual board, scenario `{}`", b.scenario());
            }
            None => {
                let _ = writeln!(md, "- probe: {}", self.target.probe_name());
            }
        }
        let _ = writeln!(md, "- connection: {}", self.connection);
        let _ = writeln!(md, "- {}", self.views.source_line);
        let id = self.target.identity().clone();
        let _ = writeln!(md, "\n### Chip\n");
        let mut rows = vec![
            vec!["DPIDR".to_string(), format!("{:#010x}", id.dpidr)],
            vec!["chip".into(), id.chip.clone()],
        ];
        let idc = self
            .target
            .read32(ApIndex::APB_D, dbgmcu::BASE_APBD + dbgmcu::IDC)
            .ok()
            .or(id.dbgmcu_idc);
        rows.push(vec![
            "DBGMCU_IDC".into(),
            idc.map(|v| format!("{v:#010x} ({})", rep::idc_text(v)))
                .unwrap_or_else(|| "not readable through AP2".into()),
        ]);
        let cm7 = self.target.read32(ApIndex::CM7, scs::CPUID);
        rows.push(vec![
            "CM7 CPUID (AP0)".into(),
            match cm7 {
                Ok(v) => rep::cpuid_text(v),
                Err(e) => format!("not readable: {e}"),
            },
        ]);
        let cm4 = self.target.read32(ApIndex::CM4, scs::CPUID);
        rows.push(vec![
            "CM4 CPUID (AP3)".into(),
            match cm4 {
                Ok(v) => rep::cpuid_text(v),
                Err(e) => format!("not readable: {e}"),
            },
        ]);
        md.push_str(&rep::md_table(&["what", "value"], &rows));

        let _ = writeln!(md, "\n### Cores\n");
        if let Outcome::Status { cores } = self.status() {
            let rows: Vec<Vec<String>> = cores
                .iter()
                .map(|c| match &c.status {
                    Some(s) => vec![
                        c.core.to_string(),
                        format!("AP{}", c.ap),
                        s.state.name().to_string(),
                        format!("DHCSR {:#010x}", s.dhcsr),
                    ],
                    None => vec![
                        c.core.to_string(),
                        format!("AP{}", c.ap),
                        "unreachable".into(),
                        c.error.clone().unwrap_or_default(),
                    ],
                })
                .collect();
            md.push_str(&rep::md_table(&["core", "AP", "state", "detail"], &rows));
        }

        let _ = writeln!(md, "\n### Option bytes\n");
        match self.ob() {
            Ok(o) => {
                let _ = writeln!(
                    md,
                    "OPTCR = {:#010x} ({}), OPT_BUSY = {}, OPTCHANGEERR = {}\n",
                    o.optcr,
                    if o.locked { "locked" } else { "unlocked" },
                    u8::from(o.opt_busy),
                    u8::from(o.optchangeerr)
                );
                let rows: Vec<Vec<String>> = o
                    .registers
                    .iter()
                    .map(|r| {
                        vec![
                            r.cur_name.to_string(),
                            format!("{:#010x}", r.cur),
                            r.prg_name.to_string(),
                            format!("{:#010x}", r.prg),
                        ]
                    })
                    .collect();
                md.push_str(&rep::md_table(&["CUR", "value", "PRG", "value"], &rows));
                md.push('\n');
                let rows: Vec<Vec<String>> = o
                    .fields
                    .iter()
                    .map(|f| {
                        let fmt = |v| {
                            ob::field(f.name)
                                .map(|fd| ob::format_value(fd, v))
                                .unwrap_or_default()
                        };
                        vec![
                            f.name.to_string(),
                            fmt(f.cur),
                            format!(
                                "{}{}",
                                fmt(f.prg),
                                if f.pending { " (pending)" } else { "" }
                            ),
                            f.effect.text().to_string(),
                        ]
                    })
                    .collect();
                md.push_str(&rep::md_table(&["field", "CUR", "PRG", "acts"], &rows));
            }
            Err(e) => {
                let _ = writeln!(md, "not readable: {e}");
            }
        }

        let _ = writeln!(md, "\n### DBGMCU, RCC and PWR boot state\n");
        // What decides the boot state, read in this order (DBGMCU through AP2, the rest AP0).
        let boot_state: [BootStateRow; 8] = [
            (
                ApIndex::APB_D,
                "DBGMCU_CR (AP2)",
                dbgmcu::BASE_APBD + dbgmcu::CR,
                rep::DBGMCU_CR_BITS,
            ),
            (
                ApIndex::CM7,
                "RCC_CR",
                rcc::BASE + rcc::CR,
                rep::RCC_CR_BITS,
            ),
            (
                ApIndex::CM7,
                "RCC_GCR",
                rcc::BASE + rcc::GCR,
                rep::RCC_GCR_BITS,
            ),
            (
                ApIndex::CM7,
                "RCC_RSR",
                rcc::BASE + rcc::RSR,
                rep::RCC_RSR_BITS,
            ),
            (
                ApIndex::CM7,
                "PWR_CR3",
                pwr::BASE + pwr::CR3,
                rep::PWR_CR3_BITS,
            ),
            (
                ApIndex::CM7,
                "PWR_CSR1",
                pwr::BASE + pwr::CSR1,
                rep::PWR_CSR1_BITS,
            ),
            (
                ApIndex::CM7,
                "PWR_CPUCR",
                pwr::BASE + pwr::CPUCR,
                rep::PWR_CPUCR_BITS,
            ),
            (
                ApIndex::CM7,
                "PWR_CPU2CR",
                pwr::BASE + pwr::CPU2CR,
                rep::PWR_CPUCR_BITS,
            ),
        ];
        let rows: Vec<Vec<String>> = boot_state
            .iter()
            .map(
                |&(ap, name, addr, bits)| match self.target.read32(ap, addr) {
                    Ok(v) => vec![
                        name.to_string(),
                        format!("{v:#010x}"),
                        rep::bits_text(v, bits),
                    ],
                    Err(e) => vec![name.to_string(), "-".into(), format!("not readable: {e}")],
                },
            )
            .collect();
        md.push_str(&rep::md_table(&["register", "value", "bits"], &rows));

        let _ = writeln!(md, "\n### AP scan\n");
        let aps = self.target.scan();
        let rows: Vec<Vec<String>> = aps
            .iter()
            .map(|a| {
                vec![
                    format!("AP{}", a.ap),
                    a.idr
                        .map(|v| format!("{v:#010x}"))
                        .unwrap_or_else(|| "-".into()),
                    a.kind.clone(),
                    a.base
                        .map(|v| format!("{v:#010x}"))
                        .unwrap_or_else(|| "-".into()),
                    a.cpuid.map(rep::cpuid_text).unwrap_or_else(|| "-".into()),
                    a.rom
                        .iter()
                        .map(|r| format!("{} @ {:#010x}", r.name, r.address))
                        .collect::<Vec<_>>()
                        .join(", "),
                    a.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        md.push_str(&rep::md_table(
            &["AP", "IDR", "kind", "BASE", "CPUID", "ROM table", "error"],
            &rows,
        ));

        let _ = writeln!(md, "\n### doctor\n");
        let d = self.doctor();
        if d.healthy {
            let _ = writeln!(md, "healthy: no known problem found");
        }
        for f in &d.findings {
            let _ = writeln!(md, "- **{}** `{}`: {}", f.severity.text(), f.id, f.summary);
            let ev = f
                .evidence
                .0
                .iter()
                .map(|(n, v)| format!("`{n}` = `{v:#010x}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(md, "  - evidence: {ev}");
            let _ = writeln!(md, "  - fix: `{}` ({})", f.fix.join("; "), f.note);
        }
        for u in &d.unreadable {
            let _ = writeln!(md, "- not read: {u}");
        }

        if let Some(script) = self.recorded_script() {
            let _ = writeln!(
                md,
                "\n### Recorded script\n\n```\n{}\n```",
                script.trim_end()
            );
        }
        md
    }

    // ---- snap / diff ---------------------------------------------------------------------------

    /// The AP a snapshot reads through: AP3 (CM4 view) when selected, AP0 otherwise.
    fn snap_ap(&self) -> ApIndex {
        if self.ap == ApIndex::CM4 {
            ApIndex::CM4
        } else {
            ApIndex::CM7
        }
    }

    /// Resolves peripheral names; with none, the default bring-up set (those the SVD has).
    fn snap_peripherals(
        &self,
        ap: ApIndex,
        names: &[String],
    ) -> Result<Vec<(String, Vec<RegId>)>, ShellError> {
        let dev = self.device_arc(ap);
        let wanted: Vec<(String, bool)> = if names.is_empty() {
            DEFAULT_SNAP_PERIPHERALS
                .iter()
                .map(|n| (n.to_string(), false))
                .collect()
        } else {
            names.iter().map(|n| (n.clone(), true)).collect()
        };
        let mut out = Vec::new();
        for (name, required) in wanted {
            match dev.resolve(&name) {
                Ok(Resolved::Peripheral(p)) => {
                    let periph = dev.peripheral(p);
                    let ids = (0..periph.registers.len() as u32)
                        .map(|reg| RegId { periph: p, reg })
                        .collect();
                    if !out.iter().any(|(n, _)| *n == periph.name) {
                        out.push((periph.name.clone(), ids));
                    }
                }
                Ok(_) if required => {
                    return Err(ShellError::bad_value(
                        format!("`{name}` is not a peripheral"),
                        "snap takes peripheral names, e.g. `snap boot RCC PWR`",
                    ))
                }
                Err(e) if required => return Err(e.into()),
                _ => {}
            }
        }
        Ok(out)
    }

    /// Reads the registers of peripherals through `ap` (batched), one peripheral at a time so
    /// that one unreadable peripheral does not lose the others.
    fn read_peripherals(
        &mut self,
        ap: ApIndex,
        periphs: &[(String, Vec<RegId>)],
    ) -> Result<(Vec<RegisterValue>, Vec<Skipped>), ShellError> {
        let dev = self.device_arc(ap);
        let saved = self.ap;
        self.ap = ap;
        let mut regs = Vec::new();
        let mut skipped = Vec::new();
        let mut result = Ok(());
        for (name, ids) in periphs {
            match self.read_registers(&dev, ids) {
                Ok((r, s)) => {
                    regs.extend(r);
                    skipped.extend(s);
                }
                Err(ShellError::Interrupted) => {
                    result = Err(ShellError::Interrupted);
                    break;
                }
                Err(e) => skipped.push(Skipped {
                    name: name.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        self.ap = saved;
        result.map(|_| (regs, skipped))
    }

    fn snap(&mut self, name: &str, peripherals: &[String]) -> Result<ToolkitOutcome, ShellError> {
        let ap = self.snap_ap();
        let periphs = self.snap_peripherals(ap, peripherals)?;
        let (registers, skipped) = self.read_peripherals(ap, &periphs)?;
        let names: Vec<String> = periphs.iter().map(|(n, _)| n.clone()).collect();
        let count = registers.len();
        self.toolkit.snapshots.insert(
            name.to_string(),
            Snapshot {
                ap,
                peripherals: names.clone(),
                registers,
            },
        );
        Ok(ToolkitOutcome::Snap {
            name: name.to_string(),
            ap: ap.get(),
            peripherals: names,
            registers: count,
            skipped,
        })
    }

    fn snap_list(&mut self) -> ToolkitOutcome {
        ToolkitOutcome::SnapList {
            snapshots: self
                .toolkit
                .snapshots
                .iter()
                .map(|(name, s)| SnapInfo {
                    name: name.clone(),
                    ap: s.ap.get(),
                    peripherals: s.peripherals.clone(),
                    registers: s.registers.len(),
                })
                .collect(),
        }
    }

    fn snap_save(&mut self, file: &str, name: Option<&str>) -> Result<ToolkitOutcome, ShellError> {
        let names: Vec<String> = self.toolkit.snapshots.keys().cloned().collect();
        let name = match (name, names.as_slice()) {
            (Some(n), _) => n.to_string(),
            (None, [only]) => only.clone(),
            (None, []) => {
                return Err(ShellError::bad_value(
                    "no snapshot to save",
                    "take one first: `snap NAME`, then `snap save FILE`",
                ))
            }
            (None, _) => {
                return Err(ShellError::bad_value(
                    "several snapshots: which one?",
                    format!("`snap save {file} NAME`, NAME one of {}", names.join(", ")),
                ))
            }
        };
        let Some(snap) = self.toolkit.snapshots.get(&name) else {
            return Err(ShellError::bad_value(
                format!("no snapshot named `{name}`"),
                format!("`snap list` shows them; take one with `snap {name}`"),
            ));
        };
        let saved = SnapshotFile {
            h7sh_snapshot: SNAPSHOT_FILE_VERSION,
            name: name.clone(),
            ap: snap.ap.get(),
            peripherals: snap.peripherals.clone(),
            registers: snap
                .registers
                .iter()
                .map(|r| SavedRegister {
                    name: r.name.clone(),
                    address: r.address,
                    value: r.value,
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&saved).map_err(|e| ShellError::Io {
            message: format!("snapshot `{name}` could not be encoded: {e}"),
            hint: "nothing was written".into(),
        })?;
        text.push('\n');
        crate::fsutil::write_atomic(std::path::Path::new(file), text.as_bytes()).map_err(|e| {
            ShellError::Io {
                message: format!("cannot write {file}: {e}"),
                hint: "check the folder exists and is writable; nothing was written".into(),
            }
        })?;
        Ok(ToolkitOutcome::SnapSaved {
            name,
            file: file.to_string(),
            registers: saved.registers.len(),
        })
    }

    /// A snapshot saved by `snap save`, its registers decoded against this session's SVD.
    fn load_snapshot(&mut self, file: &str) -> Result<Snapshot, ShellError> {
        let path = std::path::Path::new(file);
        let text = crate::files::read_to_string(path, crate::files::Kind::Script).map_err(|e| {
            ShellError::Io {
                message: format!("cannot read snapshot file {file}: {e}"),
                hint: "give a file written by `snap save`".into(),
            }
        })?;
        let saved: SnapshotFile = serde_json::from_str(&text)
            .ok()
            .filter(|s: &SnapshotFile| s.h7sh_snapshot == SNAPSHOT_FILE_VERSION)
            .ok_or_else(|| {
                ShellError::bad_value(
                    format!("{file} is not an h7sh snapshot (version {SNAPSHOT_FILE_VERSION})"),
                    "give a file written by `snap save FILE`",
                )
            })?;
        let ap = ApIndex::new(u64::from(saved.ap))?;
        let dev = self.device();
        let mut registers = Vec::with_capacity(saved.registers.len());
        // Decoding marks values as "last read"; these were not read now.
        let last_read = self.last_values.clone();
        for r in &saved.registers {
            // A register this SVD does not know is left out: `diff` reports it as missing.
            if let Ok(Resolved::Register(id)) = dev.resolve(&r.name) {
                registers.push(self.decode(&dev, id, r.address, r.value));
            }
        }
        self.last_values = last_read;
        Ok(Snapshot {
            ap,
            peripherals: saved.peripherals,
            registers,
        })
    }

    fn diff(&mut self, name: &str, peripherals: &[String]) -> Result<ToolkitOutcome, ShellError> {
        let from_file =
            !self.toolkit.snapshots.contains_key(name) && std::path::Path::new(name).is_file();
        let snap = if from_file {
            Some(self.load_snapshot(name)?)
        } else {
            self.toolkit.snapshots.get(name).cloned()
        };
        let Some(snap) = snap else {
            let known: Vec<&String> = self.toolkit.snapshots.keys().collect();
            return Err(ShellError::bad_value(
                format!("no snapshot named `{name}`"),
                if known.is_empty() {
                    format!("take one first: `snap {name}`")
                } else {
                    format!(
                        "snapshots: {}",
                        known
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            ));
        };
        let chosen: Vec<String> = if peripherals.is_empty() {
            snap.peripherals.clone()
        } else {
            let mut v = Vec::new();
            for p in peripherals {
                match snap.peripherals.iter().find(|s| s.eq_ignore_ascii_case(p)) {
                    Some(s) => v.push(s.clone()),
                    None => {
                        return Err(ShellError::bad_value(
                            format!("snapshot `{name}` has no {p}"),
                            format!("it holds {}", snap.peripherals.join(", ")),
                        ))
                    }
                }
            }
            v
        };
        let periphs = self.snap_peripherals(snap.ap, &chosen)?;
        let (now, _) = self.read_peripherals(snap.ap, &periphs)?;
        let in_chosen = |reg: &str| {
            chosen
                .iter()
                .any(|p| reg.split('.').next() == Some(p.as_str()))
        };
        let mut changed = Vec::new();
        let mut missing = Vec::new();
        let mut compared = 0;
        for old in snap.registers.iter().filter(|r| in_chosen(&r.name)) {
            let Some(new) = now.iter().find(|r| r.name == old.name) else {
                missing.push(old.name.clone());
                continue;
            };
            compared += 1;
            if new.value == old.value {
                continue;
            }
            let fields = old
                .fields
                .iter()
                .zip(&new.fields)
                .filter(|(a, b)| a.value != b.value)
                .map(|(a, b)| FieldChange {
                    name: b.name.clone(),
                    lsb: b.lsb,
                    width: b.width,
                    before: a.value,
                    after: b.value,
                    before_enum: a.enum_name.clone(),
                    after_enum: b.enum_name.clone(),
                })
                .collect();
            changed.push(RegisterChange {
                name: new.name.clone(),
                address: new.address,
                before: old.value,
                after: new.value,
                fields,
            });
        }
        Ok(ToolkitOutcome::Diff {
            name: name.to_string(),
            peripherals: chosen,
            compared,
            changed,
            missing,
        })
    }
}
