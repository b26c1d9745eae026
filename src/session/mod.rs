//! The one execution path: every command, from the REPL, `-c` or a script, goes through
//! `Session::execute`. It resolves names in the device view of the selected AP, talks to the chip
//! only through `target`, and returns plain data (`Outcome`) for `render`.

mod error;
mod outcome;
mod scripting;
mod toolkit;

pub use error::ShellError;
pub use outcome::*;
pub use scripting::command_file;
pub use toolkit::{ObSetOutcome, ToolkitOutcome};

use crate::h7::facts::dbgmcu;
use crate::lang::{
    self, AccessSize, Command, CoreName, ResetKind, SimCommand, Target as Tgt, Value, WaitOp,
};
use crate::svd::{Access, Device, DeviceViews, FieldId, ModifiedWrite, RegId, Resolved};
use crate::target::{
    ApIndex, CoreId, CoreRegister, CoreState, ReadRun, Target, TargetError, Width,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Controls of the virtual board that the shell's `sim` command needs; implemented by the
/// virtual board's handle so the session does not depend on its internals.
pub trait VirtualBoard: Send {
    /// Counters as JSON and as a text table.
    fn stats(&self) -> (serde_json::Value, String);
    fn reset_stats(&self);
    fn power_cycle(&self);
    /// Advance virtual time.
    fn wait_ms(&self, ms: u64);
    fn now_nanos(&self) -> u64;
    /// Scenario name, for prompts and reports.
    fn scenario(&self) -> String;
    /// Hold (true) or release the board's reset button; returns whether NRST is low now.
    fn hold_reset_button(&self, held: bool) -> bool;
    /// Whether the board's reset button is held, and whether NRST is low (button or probe).
    fn reset_state(&self) -> (bool, bool);
    /// Set the BOOT0 pin (Some) and return its level.
    fn boot0(&self, high: Option<bool>) -> bool;
    /// Start serving the board per `spec` (`pyocd=5555,bitbang=3335`): one line per listener,
    /// saying how to connect.
    fn serve(&self, spec: &str) -> Result<Vec<String>, ShellError>;
    /// The listeners running, as `serve` described them.
    fn serving(&self) -> Vec<String>;
}

/// Global switches of a session (CLI flags).
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub json: bool,
    /// Confirm every question with yes (`--yes`).
    pub yes: bool,
    /// Show the writes a command would make and make none.
    pub dry_run: bool,
    /// Allow reads with side effects without asking.
    pub force: bool,
    /// `ob set` may program RDP level 2 (`--i-understand-rdp2-is-permanent`).
    pub allow_rdp2: bool,
    /// `ob set` may make the other refused changes (`--allow-dangerous-option-bytes`).
    pub allow_dangerous_ob: bool,
}

/// Asks the user a yes/no question (interactive sessions only).
pub type Confirm = Box<dyn FnMut(&str) -> bool + Send>;

/// A connected shell session.
pub struct Session {
    target: Target,
    board: Option<Box<dyn VirtualBoard>>,
    views: DeviceViews,
    ap: ApIndex,
    pub options: SessionOptions,
    confirm: Option<Confirm>,
    /// Last value read per (AP, address), to mark changed fields.
    last_values: HashMap<(u8, u64), u64>,
    /// Last known run state per core, for the prompt.
    known_state: HashMap<CoreId, CoreState>,
    interrupt: Arc<AtomicBool>,
    connection: String,
    /// State of the STM32H7 toolkit commands (`session/toolkit.rs`).
    #[allow(dead_code)]
    toolkit: toolkit::ToolkitState,
    /// State of scripting and recording (`session/scripting.rs`).
    #[allow(dead_code)]
    scripting: scripting::ScriptState,
}

/// Time between two polls of `wait` on a real probe.
const WAIT_POLL_MS: u64 = 1;
/// Virtual time simulated between two checks for Ctrl-C in `sim wait`.
const SIM_WAIT_SLICE_MS: u64 = 10;
/// Default timeout of `wait`.
const WAIT_DEFAULT_TIMEOUT_MS: u64 = 1000;
/// What AP2 (APB-D) sees of the system bus: DBGMCU only, at another address.
const APBD_DBGMCU_WINDOW: u64 = 0x1000;

impl Session {
    pub fn new(
        target: Target,
        board: Option<Box<dyn VirtualBoard>>,
        views: DeviceViews,
        options: SessionOptions,
        connection: String,
    ) -> Session {
        Session {
            target,
            board,
            views,
            ap: ApIndex::CM7,
            options,
            confirm: None,
            last_values: HashMap::new(),
            known_state: HashMap::new(),
            interrupt: Arc::new(AtomicBool::new(false)),
            connection,
            toolkit: toolkit::ToolkitState::default(),
            scripting: scripting::ScriptState::default(),
        }
    }

    /// Installs the question asker of an interactive session.
    pub fn set_confirm(&mut self, confirm: Confirm) {
        self.confirm = Some(confirm);
    }

    /// The flag Ctrl-C sets; commands stop between two accesses when it is set.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    pub fn target(&mut self) -> &mut Target {
        &mut self.target
    }
    pub fn views(&self) -> &DeviceViews {
        &self.views
    }
    pub fn selected_ap(&self) -> ApIndex {
        self.ap
    }
    pub fn connection(&self) -> &str {
        &self.connection
    }
    pub fn board(&self) -> Option<&dyn VirtualBoard> {
        self.board.as_deref()
    }

    /// The device view of an AP: the CM4 view on AP3, the CM7 view elsewhere.
    pub fn device_for(&self, ap: ApIndex) -> &Device {
        if ap == ApIndex::CM4 {
            &self.views.cm4
        } else {
            &self.views.cm7
        }
    }

    /// Shared handle on the device view of an AP (for completion).
    pub fn device_arc(&self, ap: ApIndex) -> Arc<Device> {
        if ap == ApIndex::CM4 {
            self.views.cm4.clone()
        } else {
            self.views.cm7.clone()
        }
    }

    fn device(&self) -> Arc<Device> {
        self.device_arc(self.ap)
    }

    /// `h7sh [ap3 cm4 halted]` for the prompt.
    pub fn prompt_state(&self) -> String {
        let mut s = format!("ap{} {}", self.ap.get(), self.ap.label());
        if let Some(core) = self.ap.core() {
            if let Some(state) = self.known_state.get(&core) {
                s.push(' ');
                s.push_str(state.name());
            }
        }
        s
    }

    /// Refreshes the prompt's core state (one DHCSR read of the selected core, if it answers).
    pub fn refresh_state(&mut self) {
        if let Some(core) = self.ap.core() {
            if core == CoreId::Cm4 && !matches!(self.target.ap3_status(), Ok(true)) {
                self.known_state.remove(&core);
                return;
            }
            match self.target.core_status(core) {
                Ok(s) => {
                    self.known_state.insert(core, s.state);
                }
                Err(_) => {
                    self.known_state.remove(&core);
                }
            }
        }
    }

    /// Parses and runs a whole input (several commands); stops at the first error.
    pub fn run_line(&mut self, line: &str) -> Result<Vec<Outcome>, ShellError> {
        let commands = lang::parse(line)?;
        let mut out = Vec::new();
        for cmd in &commands {
            out.push(self.execute(cmd)?);
        }
        Ok(out)
    }

    fn check_interrupt(&self) -> Result<(), ShellError> {
        if self.interrupt.swap(false, Ordering::SeqCst) {
            return Err(ShellError::Interrupted);
        }
        Ok(())
    }

    /// Forgets a Ctrl-C pressed while nothing ran; front ends call it before each line they
    /// run. `execute` does not: inside a script a Ctrl-C arriving between two commands must
    /// survive until the script engine sees it.
    pub fn clear_interrupt(&self) {
        self.interrupt.store(false, Ordering::SeqCst);
    }

    /// Runs one command (and lets an active recording see it).
    pub fn execute(&mut self, cmd: &Command) -> Result<Outcome, ShellError> {
        let result = self.dispatch(cmd);
        self.after_execute(cmd, &result);
        result
    }

    fn dispatch(&mut self, cmd: &Command) -> Result<Outcome, ShellError> {
        match cmd {
            Command::Ap(None) => Ok(self.ap_outcome(true)),
            Command::Core(None) => Ok(self.ap_outcome(false)),
            Command::Ap(Some(n)) => {
                self.ap = ApIndex::new(*n)?;
                Ok(self.ap_outcome(false))
            }
            Command::Core(Some(c)) => {
                self.ap = match c {
                    CoreName::Cm7 => ApIndex::CM7,
                    CoreName::Cm4 => ApIndex::CM4,
                };
                Ok(self.ap_outcome(false))
            }
            Command::Read { target, count } => self.read(target, *count),
            Command::Write { target, value } => self.write(target, value),
            Command::WriteFields { register, fields } => self.write_fields(register, fields),
            Command::Show {
                peripheral,
                registers,
            } => self.show(peripheral, registers),
            Command::Find(pattern) => Ok(self.find(pattern)),
            Command::Info => Ok(self.info()),
            Command::Status => Ok(self.status()),
            Command::Reconnect => self.reconnect(),
            Command::Halt => self.core_action("halt"),
            Command::Resume => self.core_action("resume"),
            Command::Step(n) => self.step_n(*n),
            Command::Reset { kind, halt } => self.reset(*kind, *halt),
            Command::Regs => self.regs(),
            Command::Reg { name, value } => self.reg(name, value.as_ref()),
            Command::Help(topic) => Ok(Outcome::Help {
                text: lang::help_text(topic.as_deref())?,
            }),
            Command::Quit => Ok(Outcome::Quit),
            Command::Sim(sim) => self.sim(sim),
            Command::Wait {
                target,
                op,
                value,
                timeout_ms,
            } => self.wait(target, *op, value, *timeout_ms),
            Command::Ob
            | Command::ObSet(_)
            | Command::Doctor
            | Command::Report(_)
            | Command::Snap { .. }
            | Command::SnapList
            | Command::SnapSave { .. }
            | Command::Diff { .. } => self.execute_toolkit(cmd),
            Command::Run { .. } | Command::Eval(_) | Command::Record(_) => {
                self.execute_scripting(cmd)
            }
        }
    }

    fn ap_outcome(&self, list: bool) -> Outcome {
        const DESCRIPTIONS: [&str; 4] = [
            "Cortex-M7 AHB-AP (CM7 system bus and PPB)",
            "D3 domain AHB-AP",
            "APB-D: system ROM table, DBGMCU at 0xE00E1000, trace",
            "Cortex-M4 AHB-AP (CM4 system bus and PPB, in D2)",
        ];
        let aps = (0..4u8)
            .map(|n| {
                let ap = ApIndex::new(u64::from(n)).unwrap_or(ApIndex::CM7);
                ApEntry {
                    ap: n,
                    label: ap.label(),
                    description: DESCRIPTIONS[n as usize],
                    selected: ap == self.ap,
                }
            })
            .collect();
        Outcome::Ap {
            selected: self.ap.get(),
            list,
            aps,
        }
    }

    /// The address a register of the SVD has through the selected AP.
    fn bus_address(&self, address: u64) -> Result<u64, ShellError> {
        if self.ap != ApIndex::APB_D {
            return Ok(address);
        }
        let base = dbgmcu::BASE_SYSBUS;
        if (base..base + APBD_DBGMCU_WINDOW).contains(&address) {
            return Ok(dbgmcu::BASE_APBD + (address - base));
        }
        Err(ShellError::refused(
            format!("{address:#010x} is not reachable through AP2 (APB-D)"),
            "AP2 reaches DBGMCU (DBGMCU_* names map to 0xE00E1000) and the debug components; \
             use `ap 0` (CM7) or `ap 3` (CM4) for the system bus",
        ))
    }

    fn resolve(&self, name: &str) -> Result<(Arc<Device>, Resolved), ShellError> {
        let dev = self.device();
        let r = dev.resolve(name)?;
        Ok((dev, r))
    }

    // ---- reads -------------------------------------------------------------------------------

    fn read(&mut self, target: &Tgt, count: Option<u64>) -> Result<Outcome, ShellError> {
        match target {
            Tgt::Address { addr, size } => {
                let width = width_of(*size);
                let count = count.unwrap_or(1);
                if count == 0 || count > 1 << 20 {
                    return Err(ShellError::bad_value(
                        format!("COUNT {count} is out of range"),
                        "read 1 to 1048576 items at a time",
                    ));
                }
                let values = self.target.read(self.ap, *addr, width, count as usize)?;
                Ok(Outcome::Memory {
                    ap: self.ap.get(),
                    address: *addr,
                    size: width.bytes(),
                    values,
                })
            }
            Tgt::Name(name) if lang::split_name_offset(name).is_some() => {
                let addr = self.name_offset_address(name)?;
                self.read(&Tgt::Address { addr, size: None }, count)
            }
            Tgt::Name(name) => {
                let (dev, r) = self.resolve(name)?;
                if let Some(count) = count {
                    let hint = match r {
                        Resolved::Register(id) => {
                            let reg = dev.register(id);
                            match self.bus_address(reg.address) {
                                Ok(a) => format!(
                                    "read {count} items from its address: `read {a:#010x} {count}`, \
                                     or the whole peripheral with `show`"
                                ),
                                Err(_) => "read several items with an address".to_string(),
                            }
                        }
                        _ => "read several items with an address: `read ADDRESS COUNT`".to_string(),
                    };
                    return Err(ShellError::bad_value(
                        "COUNT applies to addresses, not to register names",
                        hint,
                    ));
                }
                match r {
                    Resolved::Peripheral(p) => Err(ShellError::bad_value(
                        format!("`{}` is a peripheral", dev.peripheral(p).name),
                        format!(
                            "show all its registers with `show {}`",
                            dev.peripheral(p).name
                        ),
                    )),
                    Resolved::Register(id) => Ok(Outcome::Register(self.read_register(&dev, id)?)),
                    Resolved::Field(fid) => {
                        let reg = self.read_register(&dev, fid.reg)?;
                        let field = &dev.field(fid).name;
                        let fv = reg
                            .fields
                            .into_iter()
                            .find(|f| f.name.rsplit('.').next() == Some(field.as_str()))
                            .ok_or_else(|| {
                                ShellError::refused(
                                    format!("field {field} cannot be read"),
                                    "it is write-only",
                                )
                            })?;
                        Ok(Outcome::Field(fv))
                    }
                }
            }
        }
    }

    /// Asks (or refuses) before a read that changes chip state.
    fn allow_side_effect_read(&mut self, what: &str) -> Result<(), ShellError> {
        if self.options.force || self.options.yes {
            return Ok(());
        }
        let question = format!("reading {what} changes chip state (read side effect); read it?");
        if let Some(confirm) = self.confirm.as_mut() {
            if confirm(&question) {
                return Ok(());
            }
        }
        Err(ShellError::refused(
            format!("reading {what} has a side effect"),
            "add --force (or answer yes at the prompt) to read it anyway",
        ))
    }

    fn reg_width(size: u32) -> Width {
        match size {
            8 => Width::U8,
            16 => Width::U16,
            _ => Width::U32,
        }
    }

    fn read_register(&mut self, dev: &Device, id: RegId) -> Result<RegisterValue, ShellError> {
        let reg = dev.register(id);
        let name = dev.canonical_name(Resolved::Register(id));
        if !reg.access.is_readable() {
            return Err(ShellError::refused(
                format!("{name} is write-only"),
                "write it with `write NAME VALUE`; its value cannot be read back",
            ));
        }
        if reg.read_side_effect || reg.fields.iter().any(|f| f.read_side_effect) {
            self.allow_side_effect_read(&name)?;
        }
        let addr = self.bus_address(reg.address)?;
        let width = Self::reg_width(reg.size);
        let value = u64::from(self.target.read(self.ap, addr, width, 1)?[0]);
        Ok(self.decode(dev, id, addr, value))
    }

    /// Decodes a register value and records it for change marking.
    fn decode(&mut self, dev: &Device, id: RegId, address: u64, value: u64) -> RegisterValue {
        let reg = dev.register(id);
        let key = (self.ap.get(), address);
        let previous = self.last_values.insert(key, value).filter(|p| *p != value);
        let name = dev.canonical_name(Resolved::Register(id));
        let fields = reg
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let fid = FieldId {
                    reg: id,
                    field: i as u32,
                };
                let v = (value >> f.lsb) & f.mask() >> f.lsb;
                let changed = previous
                    .map(|p| (p >> f.lsb) & f.mask() >> f.lsb != v)
                    .unwrap_or(false);
                FieldValue {
                    name: format!("{name}.{}", f.name),
                    address,
                    lsb: f.lsb,
                    width: f.width,
                    value: v,
                    enum_name: dev.enum_name(fid, v).map(str::to_string),
                    access: f.access.as_str(),
                    changed,
                }
            })
            .collect();
        RegisterValue {
            name,
            address,
            ap: self.ap.get(),
            size: reg.size,
            value,
            access: reg.access.as_str(),
            previous,
            fields,
        }
    }

    fn show(&mut self, peripheral: &str, registers: &[String]) -> Result<Outcome, ShellError> {
        let dev = self.device();
        let p = match dev.resolve(peripheral)? {
            Resolved::Peripheral(p) => p,
            _ => {
                return Err(ShellError::bad_value(
                    format!("`{peripheral}` is not a peripheral"),
                    "`show` takes a peripheral (e.g. `show RCC`), `read` takes a register",
                ))
            }
        };
        let periph = dev.peripheral(p);
        let mut ids: Vec<RegId> = Vec::new();
        if registers.is_empty() {
            ids.extend((0..periph.registers.len() as u32).map(|reg| RegId { periph: p, reg }));
        } else {
            for r in registers {
                let full = format!("{}.{r}", periph.name);
                match dev.resolve(&full)? {
                    Resolved::Register(id) => ids.push(id),
                    _ => {
                        return Err(ShellError::bad_value(
                            format!("`{r}` is not a register of {}", periph.name),
                            format!("list them with `show {}`", periph.name),
                        ))
                    }
                }
            }
        }
        let (values, skipped) = self.read_registers(&dev, &ids)?;
        Ok(Outcome::Peripheral {
            name: periph.name.clone(),
            base: periph.base,
            registers: values,
            skipped,
        })
    }

    /// Reads many registers, batching contiguous readable 32-bit ones into block reads;
    /// registers with read side effects are skipped unless forced.
    pub fn read_registers(
        &mut self,
        dev: &Device,
        ids: &[RegId],
    ) -> Result<(Vec<RegisterValue>, Vec<Skipped>), ShellError> {
        let mut skipped = Vec::new();
        let mut plan: Vec<(RegId, u64)> = Vec::new();
        for &id in ids {
            let reg = dev.register(id);
            let name = dev.canonical_name(Resolved::Register(id));
            if !reg.access.is_readable() {
                skipped.push(Skipped {
                    name,
                    reason: "write-only".into(),
                });
            } else if (reg.read_side_effect || reg.fields.iter().any(|f| f.read_side_effect))
                && !self.options.force
            {
                skipped.push(Skipped {
                    name,
                    reason: "read side effect (use --force)".into(),
                });
            } else {
                match self.bus_address(reg.address) {
                    Ok(a) => plan.push((id, a)),
                    Err(e) => skipped.push(Skipped {
                        name,
                        reason: e.to_string(),
                    }),
                }
            }
        }
        plan.sort_by_key(|(_, a)| *a);
        // Group the plan into block reads: contiguous 32-bit registers share one (aliases
        // share a word); anything else is read alone at its width.
        let mut runs: Vec<ReadRun> = Vec::new();
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        let mut i = 0;
        while i < plan.len() {
            let (id, start) = plan[i];
            let size = dev.register(id).size;
            let mut j = i + 1;
            let mut end = start + 4;
            if size == 32 && start % 4 == 0 {
                while j < plan.len()
                    && dev.register(plan[j].0).size == 32
                    && (plan[j].1 == end || plan[j].1 + 4 == end)
                {
                    if plan[j].1 == end {
                        end += 4;
                    }
                    j += 1;
                }
                runs.push(ReadRun {
                    addr: start,
                    width: Width::U32,
                    count: ((end - start) / 4) as usize,
                });
            } else {
                runs.push(ReadRun {
                    addr: start,
                    width: Self::reg_width(size),
                    count: 1,
                });
            }
            groups.push(i..j);
            i = j;
        }
        // Runs a few reserved words apart become one block read (one round trip instead of two
        // each), as SVD peripheral views read a register block whole; a word that is any
        // register of the peripheral (one skipped for its read side effect too) is never read.
        let registers: std::collections::HashSet<u64> = ids
            .iter()
            .map(|id| id.periph)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .flat_map(|p| dev.peripheral(p).registers.iter())
            .filter_map(|r| self.bus_address(r.address).ok())
            .collect();
        let (merged_runs, merged_groups) =
            merge_reserved_gaps(&runs, &groups, |a| !registers.contains(&a));
        // All runs through one opening of the memory interface; Ctrl-C between two runs.
        let interrupt = self.interrupt.clone();
        let stop = move || interrupt.swap(false, Ordering::SeqCst);
        let read = match self.target.read_runs(self.ap, &merged_runs, &stop) {
            Ok(v) => {
                runs = merged_runs;
                groups = merged_groups;
                Ok(v)
            }
            // A reserved word that faults (not on STM32H7 as far as known): the exact runs
            // then, which also name the register that faults if one does.
            Err(TargetError::Access { .. }) if merged_runs.len() < runs.len() => {
                self.target.read_runs(self.ap, &runs, &stop)
            }
            Err(e) => Err(e),
        };
        let Some(values) = read? else {
            return Err(ShellError::Interrupted);
        };
        let mut out = Vec::with_capacity(plan.len());
        for ((run, group), words) in runs.iter().zip(groups).zip(values) {
            for &(id, a) in &plan[group] {
                let index = ((a - run.addr) / 4) as usize;
                let v = words.get(index).copied().unwrap_or(0);
                out.push(self.decode(dev, id, a, u64::from(v)));
            }
        }
        Ok((out, skipped))
    }

    fn find(&self, pattern: &str) -> Outcome {
        let dev = self.device();
        let hits = dev
            .find(pattern)
            .into_iter()
            .map(|r| {
                let (kind, address, description) = match r {
                    Resolved::Peripheral(p) => (
                        "peripheral",
                        dev.peripheral(p).base,
                        dev.peripheral(p).description.clone(),
                    ),
                    Resolved::Register(id) => (
                        "register",
                        dev.register(id).address,
                        dev.register(id).description.clone(),
                    ),
                    Resolved::Field(f) => (
                        "field",
                        dev.register(f.reg).address,
                        dev.field(f).description.clone(),
                    ),
                };
                Found {
                    name: dev.canonical_name(r),
                    kind,
                    address,
                    description,
                }
            })
            .collect();
        // The built-in set is facts only: say where the descriptions are.
        let note = (self.views.origin == crate::svd::SvdOrigin::Builtin).then(|| {
            "names only: descriptions need ST's SVD file (--svd FILE or H7SH_SVD; see docs/svd.md)"
                .to_string()
        });
        Outcome::Found {
            pattern: pattern.to_string(),
            hits,
            note,
        }
    }

    // ---- writes ------------------------------------------------------------------------------

    fn value_of(
        &self,
        dev: &Device,
        field: Option<FieldId>,
        value: &Value,
    ) -> Result<u64, ShellError> {
        match value {
            Value::Number(n) => Ok(*n),
            Value::Symbol(s) => {
                if let Some(f) = field {
                    if let Some(v) = dev.enum_value(f, s) {
                        return Ok(v);
                    }
                }
                match s.to_ascii_lowercase().as_str() {
                    "true" | "on" => return Ok(1),
                    "false" | "off" => return Ok(0),
                    _ => {}
                }
                let names: Vec<String> = field
                    .map(|f| dev.field(f).enums.iter().map(|e| e.name.clone()).collect())
                    .unwrap_or_default();
                Err(ShellError::bad_value(
                    format!(
                        "`{s}` is not a value of {}",
                        field
                            .map(|f| dev.canonical_name(Resolved::Field(f)))
                            .unwrap_or_else(|| "this target".into())
                    ),
                    if names.is_empty() {
                        "give a number (42, 0x2A, 0b101010)".to_string()
                    } else {
                        format!("values: {}, or a number", names.join(", "))
                    },
                ))
            }
        }
    }

    fn write(&mut self, target: &Tgt, value: &Value) -> Result<Outcome, ShellError> {
        match target {
            Tgt::Address { addr, size } => {
                let width = width_of(*size);
                let Value::Number(v) = value else {
                    return Err(ShellError::bad_value(
                        "a raw address takes a number",
                        "e.g. `write 0x30000000 0x1234`",
                    ));
                };
                let max = if width.bytes() == 4 {
                    u64::from(u32::MAX)
                } else {
                    (1u64 << (8 * width.bytes())) - 1
                };
                if *v > max {
                    return Err(ShellError::bad_value(
                        format!("{v:#x} does not fit in {} bits", 8 * width.bytes()),
                        "use a wider size suffix (/w) or a smaller value",
                    ));
                }
                let op = WriteOp {
                    address: *addr,
                    ap: self.ap.get(),
                    size: width.bytes() * 8,
                    old: None,
                    new: *v,
                    readback: None,
                    not_taken: Vec::new(),
                };
                if !self.options.dry_run {
                    self.target.write(self.ap, *addr, width, *v as u32)?;
                }
                Ok(Outcome::Written {
                    target: format!("{addr:#010x}"),
                    writes: vec![op],
                    dry_run: self.options.dry_run,
                })
            }
            Tgt::Name(name) if lang::split_name_offset(name).is_some() => {
                let addr = self.name_offset_address(name)?;
                self.write(&Tgt::Address { addr, size: None }, value)
            }
            Tgt::Name(name) => {
                let (dev, r) = self.resolve(name)?;
                match r {
                    Resolved::Peripheral(p) => Err(ShellError::bad_value(
                        format!(
                            "`{}` is a peripheral; write a register or field",
                            dev.peripheral(p).name
                        ),
                        "e.g. `write RCC.GCR.BOOT_C2 1`",
                    )),
                    Resolved::Register(id) => {
                        let v = self.value_of(&dev, None, value)?;
                        self.write_register_value(&dev, id, v)
                    }
                    Resolved::Field(fid) => {
                        let v = self.value_of(&dev, Some(fid), value)?;
                        self.write_fields_resolved(&dev, fid.reg, &[(fid, v)])
                    }
                }
            }
        }
    }

    /// The address of `NAME+OFFSET` (a peripheral's base or a register's address, through
    /// the selected AP), as OpenOCD and gdb expressions take symbols.
    fn name_offset_address(&mut self, text: &str) -> Result<u64, ShellError> {
        let (name, offset) = lang::split_name_offset(text).unwrap_or((text, ""));
        let offset = lang::parse_offset(offset)?;
        let (dev, r) = self.resolve(name)?;
        let base = match r {
            Resolved::Peripheral(p) => dev.peripheral(p).base,
            Resolved::Register(id) => dev.register(id).address,
            Resolved::Field(f) => {
                return Err(ShellError::bad_value(
                    format!("`{name}` is a field; an offset needs a register or peripheral"),
                    format!(
                        "e.g. `read {}+4`",
                        dev.canonical_name(Resolved::Register(f.reg))
                    ),
                ))
            }
        };
        let base = self.bus_address(base)?;
        u64::try_from(i128::from(base) + offset).map_err(|_| {
            ShellError::bad_value(
                format!("`{text}` is below address 0"),
                "addresses are unsigned",
            )
        })
    }

    fn write_register_value(
        &mut self,
        dev: &Device,
        id: RegId,
        value: u64,
    ) -> Result<Outcome, ShellError> {
        let reg = dev.register(id);
        let name = dev.canonical_name(Resolved::Register(id));
        if !reg.access.is_writable() {
            return Err(ShellError::refused(
                format!("{name} is read-only"),
                read_only_hint(&name),
            ));
        }
        if reg.size < 64 && value >> reg.size != 0 {
            return Err(ShellError::bad_value(
                format!("{value:#x} does not fit in {name} ({} bits)", reg.size),
                "nothing was written",
            ));
        }
        let addr = self.bus_address(reg.address)?;
        let mut op = WriteOp {
            address: addr,
            ap: self.ap.get(),
            size: reg.size,
            old: None,
            new: value,
            readback: None,
            not_taken: Vec::new(),
        };
        if !self.options.dry_run {
            self.target
                .write(self.ap, addr, Self::reg_width(reg.size), value as u32)?;
            let all: Vec<FieldId> = (0..reg.fields.len() as u32)
                .map(|field| FieldId { reg: id, field })
                .collect();
            self.check_readback(dev, id, &all, &mut op)?;
        }
        Ok(Outcome::Written {
            target: name,
            writes: vec![op],
            dry_run: self.options.dry_run,
        })
    }

    fn write_fields(
        &mut self,
        register: &str,
        fields: &[(String, Value)],
    ) -> Result<Outcome, ShellError> {
        let (dev, r) = self.resolve(register)?;
        let Resolved::Register(id) = r else {
            return Err(ShellError::bad_value(
                format!("`{register}` is not a register"),
                "write several fields as `write REG F1=V1 F2=V2`",
            ));
        };
        let reg_name = dev.canonical_name(r);
        let mut resolved = Vec::with_capacity(fields.len());
        for (fname, value) in fields {
            let fr = dev.resolve(&format!("{reg_name}.{fname}"))?;
            let Resolved::Field(fid) = fr else {
                return Err(ShellError::bad_value(
                    format!("`{fname}` is not a field of {reg_name}"),
                    format!("see `read {reg_name}`"),
                ));
            };
            let v = self.value_of(&dev, Some(fid), value)?;
            resolved.push((fid, v));
        }
        self.write_fields_resolved(&dev, id, &resolved)
    }

    /// One read-modify-write of several fields, respecting modifiedWriteValues: bits of other
    /// fields that a write would act on (write-1-to-clear, ...) are written as their no-op value.
    fn write_fields_resolved(
        &mut self,
        dev: &Device,
        id: RegId,
        fields: &[(FieldId, u64)],
    ) -> Result<Outcome, ShellError> {
        let reg = dev.register(id);
        let reg_name = dev.canonical_name(Resolved::Register(id));
        for &(fid, v) in fields {
            let f = dev.field(fid);
            let fname = dev.canonical_name(Resolved::Field(fid));
            if !f.access.is_writable() || !reg.access.is_writable() {
                return Err(ShellError::refused(
                    format!("{fname} is read-only"),
                    read_only_hint(&fname),
                ));
            }
            if f.width < 64 && v >> f.width != 0 {
                return Err(ShellError::bad_value(
                    format!(
                        "{v:#x} does not fit in {fname} ({} bit{})",
                        f.width,
                        if f.width == 1 { "" } else { "s" }
                    ),
                    format!(
                        "{fname} takes 0..={:#x}; nothing was written",
                        (1u64 << f.width) - 1
                    ),
                ));
            }
        }
        let addr = self.bus_address(reg.address)?;
        let width = Self::reg_width(reg.size);
        let old = if reg.access.is_readable() {
            if reg.read_side_effect || reg.fields.iter().any(|f| f.read_side_effect) {
                self.allow_side_effect_read(&reg_name)?;
            }
            u64::from(self.target.read(self.ap, addr, width, 1)?[0])
        } else {
            reg.reset_value
        };
        let touched: u64 = fields
            .iter()
            .fold(0, |m, &(fid, _)| m | dev.field(fid).mask());
        let mut new = old;
        for f in &reg.fields {
            let mask = f.mask();
            if touched & mask != 0 {
                continue;
            }
            // Leave untouched fields as they are, except those a written value would act on.
            new = match f.modified_write {
                ModifiedWrite::OneToClear
                | ModifiedWrite::OneToSet
                | ModifiedWrite::OneToToggle => new & !mask,
                ModifiedWrite::ZeroToClear
                | ModifiedWrite::ZeroToSet
                | ModifiedWrite::ZeroToToggle => new | mask,
                // A write-only field reads as junk: write its no-op value 0.
                _ if f.access == Access::WriteOnly => new & !mask,
                _ => new,
            };
        }
        for &(fid, v) in fields {
            let f = dev.field(fid);
            new = (new & !f.mask()) | ((v << f.lsb) & f.mask());
        }
        let mut op = WriteOp {
            address: addr,
            ap: self.ap.get(),
            size: reg.size,
            old: Some(old),
            new,
            readback: None,
            not_taken: Vec::new(),
        };
        if !self.options.dry_run {
            self.check_interrupt()?;
            self.target.write(self.ap, addr, width, new as u32)?;
            let written: Vec<FieldId> = fields.iter().map(|&(fid, _)| fid).collect();
            self.check_readback(dev, id, &written, &mut op)?;
        }
        let target = if fields.len() == 1 {
            dev.canonical_name(Resolved::Field(fields[0].0))
        } else {
            reg_name
        };
        Ok(Outcome::Written {
            target,
            writes: vec![op],
            dry_run: self.options.dry_run,
        })
    }

    /// Reads a written register back (as pyOCD's `wreg -r` does) and names the fields of
    /// `written` that do not hold what was written: silicon that ignores a write (a read-only
    /// CUR register, a set-only bit, a self-clearing start bit) must not look like success.
    /// Fields whose writes act rather than store (write-1-to-clear...) and write-only ones are
    /// not compared; registers with read side effects are not read back.
    fn check_readback(
        &mut self,
        dev: &Device,
        id: RegId,
        written: &[FieldId],
        op: &mut WriteOp,
    ) -> Result<(), ShellError> {
        let reg = dev.register(id);
        if !reg.access.is_readable()
            || reg.read_side_effect
            || reg.fields.iter().any(|f| f.read_side_effect)
        {
            return Ok(());
        }
        // Fields that hold what is written (a set-only one holds a 1, and keeps it when 0 is
        // written: exactly the surprise to report).
        let stores = |f: &crate::svd::Field| {
            matches!(
                f.modified_write,
                ModifiedWrite::Modify | ModifiedWrite::OneToSet | ModifiedWrite::ZeroToClear
            ) && f.access.is_readable()
        };
        let width = Self::reg_width(reg.size);
        let back = u64::from(self.target.read(self.ap, op.address, width, 1)?[0]);
        let mut not_taken = Vec::new();
        if reg.fields.is_empty() {
            if back != op.new {
                not_taken.push("bits".to_string());
            }
        } else {
            for &fid in written {
                let f = dev.field(fid);
                if stores(f) && (back ^ op.new) & f.mask() != 0 {
                    not_taken.push(f.name.clone());
                }
            }
        }
        if !not_taken.is_empty() {
            op.readback = Some(back);
            op.not_taken = not_taken;
        }
        Ok(())
    }

    // ---- cores -------------------------------------------------------------------------------

    fn selected_core(&self) -> Result<CoreId, ShellError> {
        self.ap
            .core()
            .ok_or_else(|| TargetError::NoCore(self.ap.get()).into())
    }

    /// `step N`: N single steps, Ctrl-C between two; the outcome is the last one's.
    fn step_n(&mut self, n: u64) -> Result<Outcome, ShellError> {
        let mut last = self.core_action("step")?;
        for _ in 1..n {
            self.check_interrupt()?;
            last = self.core_action("step")?;
        }
        Ok(last)
    }

    fn core_action(&mut self, action: &'static str) -> Result<Outcome, ShellError> {
        let core = self.selected_core()?;
        if self.options.dry_run {
            return Err(ShellError::refused(
                format!("`{action}` changes the core state"),
                "drop --dry-run to run it",
            ));
        }
        let status = match action {
            "halt" => self.target.halt(core)?,
            "resume" => self.target.resume(core)?,
            _ => self.target.step(core)?,
        };
        self.known_state.insert(core, status.state);
        // Where it stopped, as J-Link Commander and pyOCD show on halt and step.
        let pc = match (action, status.state) {
            ("halt" | "step", CoreState::Halted) => self
                .target
                .read_core_reg(core, CoreRegister::by_name("pc")?)
                .ok(),
            _ => None,
        };
        Ok(Outcome::Core { action, status, pc })
    }

    fn reset(&mut self, kind: ResetKind, halt: bool) -> Result<Outcome, ShellError> {
        if self.options.dry_run {
            return Err(ShellError::refused(
                "`reset` changes the chip state",
                "drop --dry-run to run it",
            ));
        }
        self.known_state.clear();
        self.last_values.clear();
        match kind {
            ResetKind::Core => {
                let core = self.selected_core()?;
                self.target.reset_core(core, halt)?;
                Ok(Outcome::Reset {
                    kind: "core",
                    halt,
                    halted: if halt { vec![core.name()] } else { vec![] },
                })
            }
            ResetKind::System => {
                let armed = self.target.reset_system(halt)?;
                Ok(Outcome::Reset {
                    kind: "system",
                    halt,
                    halted: armed.iter().map(|c| c.name()).collect(),
                })
            }
        }
    }

    fn regs(&mut self) -> Result<Outcome, ShellError> {
        let core = self.selected_core()?;
        let regs = self.target.read_all_core_regs(core)?;
        Ok(Outcome::Registers {
            core: core.name(),
            registers: regs.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        })
    }

    fn reg(&mut self, name: &str, value: Option<&Value>) -> Result<Outcome, ShellError> {
        let core = self.selected_core()?;
        // d0-d15: the FPU's double view, s(2n) low word and s(2n+1) high word (ARMv7-M A2.5.3).
        let lower = name.to_ascii_lowercase();
        let double = lower
            .strip_prefix('d')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n < 16);
        let regs = match double {
            Some(n) => vec![
                CoreRegister::by_name(&format!("s{}", 2 * n))?,
                CoreRegister::by_name(&format!("s{}", 2 * n + 1))?,
            ],
            None => vec![CoreRegister::by_name(name)?],
        };
        let single = regs[0].name.starts_with('s') && regs[0].name[1..].parse::<u32>().is_ok();
        let shown_name = match double {
            Some(n) => format!("d{n}"),
            None => regs[0].name.to_string(),
        };
        let float_of = |v: u64| -> Option<f64> {
            if double.is_some() {
                Some(f64::from_bits(v))
            } else if single {
                Some(f64::from(f32::from_bits(v as u32)))
            } else {
                None
            }
        };
        let bits = match value {
            None => {
                let mut v = 0u64;
                for (i, r) in regs.iter().enumerate() {
                    v |= u64::from(self.target.read_core_reg(core, *r)?) << (32 * i);
                }
                return Ok(Outcome::CoreRegister {
                    core: core.name(),
                    name: shown_name,
                    value: v,
                    float: float_of(v),
                    written: false,
                });
            }
            Some(Value::Number(v)) => {
                let max = if double.is_some() {
                    u64::MAX
                } else {
                    u64::from(u32::MAX)
                };
                if *v > max {
                    return Err(ShellError::bad_value(
                        format!("{v:#x} does not fit in {shown_name}"),
                        "core registers are 32-bit (d0-d15: 64-bit)",
                    ));
                }
                *v
            }
            Some(Value::Symbol(s)) if crate::lang::is_float(s) && (single || double.is_some()) => {
                let f: f64 = s.parse().map_err(|_| {
                    ShellError::bad_value(format!("`{s}` is not a number"), "e.g. `reg s0 1.5`")
                })?;
                if double.is_some() {
                    f.to_bits()
                } else {
                    u64::from((f as f32).to_bits())
                }
            }
            Some(Value::Symbol(s)) => {
                return Err(ShellError::bad_value(
                    format!("`{s}` is not a number"),
                    if crate::lang::is_float(s) {
                        "floats go to the FPU registers s0-s31 and d0-d15; e.g. `reg s0 1.5`"
                    } else {
                        "e.g. `reg pc 0x08000400`"
                    },
                ))
            }
        };
        if !self.options.dry_run {
            for (i, r) in regs.iter().enumerate() {
                self.target
                    .write_core_reg(core, *r, (bits >> (32 * i)) as u32)?;
            }
        }
        Ok(Outcome::CoreRegister {
            core: core.name(),
            name: shown_name,
            value: bits,
            float: float_of(bits),
            written: !self.options.dry_run,
        })
    }

    fn status(&mut self) -> Outcome {
        let mut cores = Vec::new();
        for core in [CoreId::Cm7, CoreId::Cm4] {
            match self.target.core_status(core) {
                Ok(s) => {
                    self.known_state.insert(core, s.state);
                    cores.push(CoreReport {
                        core: core.name(),
                        ap: core.ap().get(),
                        status: Some(s),
                        error: None,
                        hint: None,
                    })
                }
                Err(e) => {
                    self.known_state.remove(&core);
                    cores.push(CoreReport {
                        core: core.name(),
                        ap: core.ap().get(),
                        status: None,
                        error: Some(e.to_string()),
                        hint: Some(e.hint()),
                    })
                }
            }
        }
        Outcome::Status { cores }
    }

    fn info(&mut self) -> Outcome {
        let aps = self.target.scan();
        Outcome::Info {
            probe: self.target.probe_name().to_string(),
            connection: self.connection.clone(),
            wire: self.target.wire().clone(),
            svd: self.views.source_line.clone(),
            identity: self.target.identity().clone(),
            aps,
        }
    }

    /// Attach again; what was known of the chip's state may no longer hold.
    fn reconnect(&mut self) -> Result<Outcome, ShellError> {
        self.known_state.clear();
        self.last_values.clear();
        self.target.reconnect()?;
        Ok(Outcome::Message {
            text: format!(
                "reconnected through {} (DPIDR {:#010x}); AP3 is attached again on its next use",
                self.target.probe_name(),
                self.target.identity().dpidr
            ),
        })
    }

    // ---- virtual board and waiting -----------------------------------------------------------

    fn sim(&mut self, cmd: &SimCommand) -> Result<Outcome, ShellError> {
        let Some(board) = self.board.as_ref() else {
            return Err(ShellError::Unsupported {
                message: "`sim` commands need the virtual board".into(),
                hint: "start h7sh with --sim".into(),
            });
        };
        match cmd {
            SimCommand::Stats { reset } => {
                let (stats, text) = board.stats();
                if *reset {
                    board.reset_stats();
                }
                Ok(Outcome::SimStats { stats, text })
            }
            SimCommand::Boot0(high) => {
                let level = board.boot0(*high);
                let text = match (high, level) {
                    (None, true) => "BOOT0 = 1: the cores boot from BCM7_ADD1/BCM4_ADD1",
                    (None, false) => "BOOT0 = 0: the cores boot from BCM7_ADD0/BCM4_ADD0",
                    (Some(_), true) => {
                        "BOOT0 = 1: at the next reset or power cycle the cores boot from \
                         BCM7_ADD1/BCM4_ADD1 (factory: the CM7 into ST's bootloader)"
                    }
                    (Some(_), false) => {
                        "BOOT0 = 0: at the next reset or power cycle the cores boot from \
                         BCM7_ADD0/BCM4_ADD0"
                    }
                };
                Ok(Outcome::Message { text: text.into() })
            }
            SimCommand::Nrst(None) => {
                let (button, low) = board.reset_state();
                let text = match (button, low) {
                    (true, _) => "NRST is held low by the reset button (`sim nrst release`)",
                    (false, true) => "NRST is held low by the probe",
                    (false, false) => "NRST is released",
                };
                Ok(Outcome::Message { text: text.into() })
            }
            SimCommand::Nrst(Some(held)) => {
                let low = board.hold_reset_button(*held);
                // The cores restart (or are held): what was known of AP3 may not hold.
                self.target.invalidate();
                let text = match (*held, low) {
                    (true, _) => {
                        "NRST held low: both cores in reset; the AXI/AHB answers no debugger \
                         (AP0/AP1/AP3 memory), the cores' debug registers and AP2 still do"
                    }
                    (false, true) => "reset button released; the probe still holds NRST low",
                    (false, false) => "NRST released: system reset (RCC_RSR.PINRSTF)",
                };
                Ok(Outcome::Message { text: text.into() })
            }
            SimCommand::Serve(spec) => {
                let lines = match spec {
                    Some(spec) => board.serve(spec)?,
                    None => board.serving(),
                };
                let text = if lines.is_empty() {
                    "not serving; `sim serve pyocd bitbang bmp` starts all three on their default ports"
                        .to_string()
                } else {
                    lines.join("\n")
                };
                Ok(Outcome::Message { text })
            }
            SimCommand::PowerCycle => {
                board.power_cycle();
                self.reconnect()?;
                Ok(Outcome::Message {
                    text: "virtual board power-cycled (option bytes reloaded, RAM cleared)".into(),
                })
            }
            SimCommand::Wait { ms } => {
                // In slices, so that Ctrl-C stops a long wait.
                let mut left = *ms;
                while left > 0 {
                    let slice = left.min(SIM_WAIT_SLICE_MS);
                    board.wait_ms(slice);
                    left -= slice;
                    if left > 0 && self.interrupt.swap(false, Ordering::SeqCst) {
                        return Err(ShellError::Interrupted);
                    }
                }
                Ok(Outcome::Message {
                    text: format!("virtual time advanced by {ms} ms"),
                })
            }
        }
    }

    /// Milliseconds on the session's clock: virtual time on the virtual board (so that waits
    /// give the same result every run), wall time on a real probe.
    fn clock_ms(&self, start: &std::time::Instant) -> f64 {
        match &self.board {
            Some(b) => b.now_nanos() as f64 / 1e6,
            None => start.elapsed().as_secs_f64() * 1e3,
        }
    }

    /// Reads a register, field or address as one number (for `wait` and scripts).
    pub fn read_value(&mut self, target: &Tgt) -> Result<(String, u64), ShellError> {
        match self.read(target, None)? {
            Outcome::Register(r) => Ok((r.name, r.value)),
            Outcome::Field(f) => Ok((f.name, f.value)),
            Outcome::Memory {
                address, values, ..
            } => Ok((format!("{address:#010x}"), u64::from(values[0]))),
            _ => Err(ShellError::bad_value(
                "not a value",
                "name a register, a field or an address",
            )),
        }
    }

    fn wait(
        &mut self,
        target: &Tgt,
        op: WaitOp,
        value: &Value,
        timeout_ms: Option<u64>,
    ) -> Result<Outcome, ShellError> {
        let expected = match (target, value) {
            (Tgt::Name(n), v) => {
                let (dev, r) = self.resolve(n)?;
                let fid = if let Resolved::Field(f) = r {
                    Some(f)
                } else {
                    None
                };
                self.value_of(&dev, fid, v)?
            }
            (_, Value::Number(n)) => *n,
            (_, Value::Symbol(s)) => {
                return Err(ShellError::bad_value(
                    format!("`{s}` is not a number"),
                    "compare an address with a number",
                ))
            }
        };
        let timeout = timeout_ms.unwrap_or(WAIT_DEFAULT_TIMEOUT_MS) as f64;
        let wall = std::time::Instant::now();
        let start = self.clock_ms(&wall);
        loop {
            self.check_interrupt()?;
            let (name, current) = self.read_value(target)?;
            let ok = match op {
                WaitOp::Eq => current == expected,
                WaitOp::Ne => current != expected,
                WaitOp::Lt => current < expected,
                WaitOp::Gt => current > expected,
                WaitOp::Le => current <= expected,
                WaitOp::Ge => current >= expected,
                WaitOp::And => current & expected != 0,
            };
            let elapsed = self.clock_ms(&wall) - start;
            if ok {
                return Ok(Outcome::Waited {
                    target: name,
                    value: current,
                    elapsed_ms: elapsed,
                });
            }
            if elapsed >= timeout {
                return Err(TargetError::ConditionTimeout(format!(
                    "{name} {} {expected:#x} not reached within {timeout} ms (last value {current:#x})",
                    op.as_str()
                ))
                .into());
            }
            match &self.board {
                Some(b) => b.wait_ms(WAIT_POLL_MS),
                None => std::thread::sleep(std::time::Duration::from_millis(WAIT_POLL_MS)),
            }
        }
    }
}

fn width_of(size: Option<AccessSize>) -> Width {
    match size {
        Some(AccessSize::U8) => Width::U8,
        Some(AccessSize::U16) => Width::U16,
        Some(AccessSize::U32) | None => Width::U32,
    }
}

/// Reserved words a block read may span to join two runs: reading them costs wire time (about
/// 12 µs a word at 4 MHz SWD), joining saves a USB round trip (125 µs or more).
const MAX_GAP_WORDS: u64 = 8;

/// Joins consecutive 32-bit runs separated by at most [`MAX_GAP_WORDS`] words that are all
/// `reserved`; `groups` (the plan entries of each run) are joined alongside.
fn merge_reserved_gaps(
    runs: &[ReadRun],
    groups: &[std::ops::Range<usize>],
    reserved: impl Fn(u64) -> bool,
) -> (Vec<ReadRun>, Vec<std::ops::Range<usize>>) {
    let mut out_runs: Vec<ReadRun> = Vec::with_capacity(runs.len());
    let mut out_groups: Vec<std::ops::Range<usize>> = Vec::with_capacity(groups.len());
    for (run, group) in runs.iter().zip(groups) {
        if let (Some(last), Some(last_group)) = (out_runs.last_mut(), out_groups.last_mut()) {
            let end = last.addr + 4 * last.count as u64;
            let joinable = last.width == Width::U32
                && run.width == Width::U32
                && run.addr >= end
                && (run.addr - end) / 4 <= MAX_GAP_WORDS
                && (end..run.addr).step_by(4).all(&reserved);
            if joinable {
                last.count = ((run.addr - last.addr) / 4) as usize + run.count;
                last_group.end = group.end;
                continue;
            }
        }
        out_runs.push(*run);
        out_groups.push(group.clone());
    }
    (out_runs, out_groups)
}

/// What to do instead of writing a read-only register or field: option bytes change through
/// `ob set`, flash status flags through their clear register; otherwise nothing to add.
fn read_only_hint(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let field = upper.rsplit('.').next().unwrap_or(&upper).to_string();
    if upper.starts_with("FLASH.") && upper.contains("_CUR") {
        let example = if upper.matches('.').count() == 2 {
            format!("`ob set {field}=VALUE`")
        } else {
            "`ob set NAME=VALUE` (see `ob`)".to_string()
        };
        format!("nothing was written; current option bytes change only by programming: {example}")
    } else if upper.starts_with("FLASH.SR") {
        "nothing was written; flash status flags clear through FLASH_CCR1/CCR2 (write 1 to \
         the CLR_ bit)"
            .to_string()
    } else {
        "nothing was written".to_string()
    }
}
