//! Command-line interface: flags (each defined once, `--help` generated from them), connecting,
//! and the three ways to run: REPL, `-c` command lists, scripts.

use crate::render::{self, Style};
use crate::session::{Outcome, Session, SessionOptions, ShellError, VirtualBoard};
use crate::sim::board::{lock, Board, SharedBoard};
use crate::sim::chip::{error::SimError, Chip};
use crate::sim::probe::ProbeKind;
use crate::sim::scenario::Scenario;
use crate::sim::serve;
use crate::svd::{self, LoadOptions};
use crate::target::{self, ConnectOptions, Target};
use clap::{Parser, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The default virtual-board scenario.
pub const DEFAULT_SCENARIO: &str = "nucleo-h755zi-q";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Protocol {
    Swd,
    Jtag,
}

/// h7sh: debug shell for dual-core STM32H7 (H745/H747/H755/H757).
///
/// Reads and writes registers by name from ST's SVD (patched), keeps working when the Cortex-M4's
/// AP3 is dead and tells why, and runs on a built-in virtual board (--sim).
#[derive(Debug, Parser)]
#[command(name = "h7sh", version, about, long_about = None)]
pub struct Cli {
    /// Use the virtual board: a built-in scenario name or a scenario .toml file
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = DEFAULT_SCENARIO)]
    pub sim: Option<String>,
    /// Probe personality of the virtual board: cmsis-dap (default), cmsis-dap-v1, stlink-v2-j27,
    /// stlink-v2, stlink-v3, jlink (overrides the scenario's `[probe] kind`; implies --sim)
    #[arg(long, value_name = "KIND", value_parser = parse_probe_kind)]
    pub sim_probe: Option<ProbeKind>,
    /// Keep the virtual board's non-volatile state (flash, option bytes) in FILE across runs
    #[arg(long, value_name = "FILE", requires = "sim")]
    pub sim_state: Option<PathBuf>,
    /// Start the virtual board with its BOOT0 jumper set: each core boots from BCMx_ADD1
    /// (factory: the CM7 into ST's bootloader), the way out of a firmware that kills the debug
    /// port at boot (implies --sim)
    #[arg(long)]
    pub sim_boot0: bool,
    /// Serve the virtual board to other debuggers while the shell runs:
    /// pyocd=[HOST:]PORT (pyOCD's remote probe), bitbang=[HOST:]PORT (OpenOCD's remote_bitbang),
    /// bmp=[HOST:]PORT (Black Magic Probe remote protocol, for probe-rs's BMP driver),
    /// comma-separated; loopback unless a host is named (docs/serve.md; implies --sim)
    #[arg(long, value_name = "SPEC")]
    pub serve: Option<String>,
    /// Probe selector VID:PID[:SERIAL] (hex), e.g. 0483:374e
    #[arg(long, value_name = "SEL")]
    pub probe: Option<String>,
    /// probe-rs target name (e.g. STM32H755ZITx); default: detect through DBGMCU_IDC
    #[arg(long, value_name = "NAME")]
    pub chip: Option<String>,
    /// SWD/JTAG clock in kHz
    #[arg(long, value_name = "KHZ")]
    pub speed: Option<u32>,
    /// Wire protocol
    #[arg(long, value_enum)]
    pub protocol: Option<Protocol>,
    /// Hold NRST while connecting, catch the CM7 at its reset vector, then release
    #[arg(long)]
    pub connect_under_reset: bool,
    /// Let probe-rs's STM32H7 sequence set DBGMCU_CR debug-in-low-power bits (changes chip state)
    #[arg(long)]
    pub debug_low_power: bool,
    /// List debug probes (and the virtual board) and exit
    #[arg(long)]
    pub list_probes: bool,
    /// List the virtual board's built-in scenarios and exit
    #[arg(long)]
    pub list_scenarios: bool,
    /// SVD file for the CM7 view (default: discovery, see README)
    #[arg(long, value_name = "FILE")]
    pub svd: Option<PathBuf>,
    /// SVD file for the CM4 view (default: the _CM4.svd beside --svd)
    #[arg(long, value_name = "FILE")]
    pub svd_cm4: Option<PathBuf>,
    /// Extra svdtools YAML patch, applied after h7sh's own (repeatable)
    #[arg(long, value_name = "FILE")]
    pub svd_patch: Vec<PathBuf>,
    /// Do not use or write the parsed-SVD cache
    #[arg(long)]
    pub no_svd_cache: bool,
    /// Run commands (separated by `;` or newlines) and exit; stops at the first error (exit 1)
    #[arg(short = 'c', long = "command", value_name = "CMDS")]
    pub command: Vec<String>,
    /// Run a file of h7sh commands (one or more per line, as typed) and exit, as pyOCD's -x;
    /// stops at the first error (exit 1)
    #[arg(short = 'x', long = "execute", value_name = "FILE")]
    pub execute: Option<PathBuf>,
    /// Access port to start on (0 CM7, 1 D3, 2 APB-D, 3 CM4)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub ap: u64,
    /// One JSON object per command on stdout; errors as JSON on stderr
    #[arg(long)]
    pub json: bool,
    /// Do not print the SVD line at start (errors and connect notes still print)
    #[arg(short, long)]
    pub quiet: bool,
    /// In the shell, print long output directly instead of through $PAGER (less)
    #[arg(long)]
    pub no_pager: bool,
    /// Answer yes to every confirmation
    #[arg(long)]
    pub yes: bool,
    /// Show the writes commands would make, and make none
    #[arg(long)]
    pub dry_run: bool,
    /// Read registers with read side effects without asking
    #[arg(long)]
    pub force: bool,
    /// Let `ob set` program RDP level 2: debug disabled FOR EVER (with --yes, never asked again)
    #[arg(long)]
    pub i_understand_rdp2_is_permanent: bool,
    /// Let `ob set` turn off both cores' boot, or point a boot address outside flash and RAM
    #[arg(long)]
    pub allow_dangerous_option_bytes: bool,
    /// Stop a script after SECS seconds (between two operations, or inside a wait or sleep)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Most operations a script may run (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = crate::script::DEFAULT_MAX_OPERATIONS)]
    pub max_operations: u64,
    /// Deepest nesting of function calls in a script (at most 2000)
    #[arg(long, value_name = "N", default_value_t = crate::script::DEFAULT_MAX_CALL_DEPTH as u64,
          value_parser = clap::value_parser!(u64).range(1..=crate::script::MAX_CALL_DEPTH_CEILING as u64))]
    pub max_call_depth: u64,
    /// Longest string a script may build, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = crate::script::DEFAULT_MAX_STRING_SIZE)]
    pub max_string_size: usize,
    /// Most elements in one array or map of a script
    #[arg(long, value_name = "N", default_value_t = crate::script::DEFAULT_MAX_ARRAY_SIZE)]
    pub max_array_size: usize,
    /// Most heap memory a script may use in total, in bytes (0 = no limit)
    #[arg(long, value_name = "BYTES", default_value_t = crate::script::DEFAULT_MAX_MEMORY)]
    pub max_memory: usize,
    /// Script to run (.rhai) and its arguments
    #[arg(value_name = "SCRIPT.rhai [ARGS...]", trailing_var_arg = true)]
    pub script: Vec<String>,
}

fn parse_probe_kind(s: &str) -> Result<ProbeKind, String> {
    ProbeKind::parse(s)
}

/// What `main` returns: the process exit code.
pub fn main_with(mut cli: Cli) -> i32 {
    if (cli.sim_probe.is_some() || cli.sim_boot0 || cli.serve.is_some()) && cli.sim.is_none() {
        cli.sim = Some(DEFAULT_SCENARIO.to_string());
    }
    // `h7sh --sim demo.rhai`: a .rhai after --sim is the script, on the default board.
    if let Some(s) = &cli.sim {
        if s.ends_with(".rhai") {
            cli.script.insert(0, s.clone());
            cli.sim = Some(DEFAULT_SCENARIO.to_string());
        }
    }
    let style = if cli.json {
        Style::PLAIN
    } else {
        Style::detect(std::io::stdout().is_terminal())
    };
    let err_style = if cli.json {
        Style::PLAIN
    } else {
        Style::detect(std::io::stderr().is_terminal())
    };
    let report = |e: &ShellError| {
        if cli.json {
            eprintln!("{}", render::error_json(e));
        } else {
            eprint!("{}", render::error_text(e, &err_style));
        }
    };
    if cli.list_scenarios {
        for (name, description) in Scenario::builtin_names() {
            println!("{name:<18} {description}");
        }
        return 0;
    }
    if cli.list_probes {
        register_virtual_probe();
        for (name, sel) in target::list_probes() {
            println!("{sel:<24} {name}");
        }
        return 0;
    }
    if let Some(e) = misplaced_option(&cli) {
        report(&e);
        return 1;
    }
    if let Some(script) = cli.script.first() {
        // Before connecting: a wrong path should not wait for a probe first.
        if let Err(e) = crate::files::check(Path::new(script), crate::files::Kind::Script) {
            report(&ShellError::Io {
                message: format!("cannot read script {script}: {e}"),
                hint: "give the path of a .rhai file".into(),
            });
            return 1;
        }
        // `h7sh cmds.txt`: a file of h7sh commands is run as one, as with -x.
        if cli.script.len() == 1 && crate::session::command_file(Path::new(script)).is_some() {
            cli.execute = Some(PathBuf::from(cli.script.remove(0)));
        }
    }
    if let Some(scenario) = &cli.sim {
        // `h7sh --sim cmds.txt`: a command file where a scenario was expected.
        let path = Path::new(scenario);
        if !scenario.ends_with(".toml")
            && path.is_file()
            && crate::session::command_file(path).is_some()
        {
            report(&ShellError::BadValue {
                message: format!("`{scenario}` is a file of h7sh commands, not a scenario"),
                hint: format!(
                    "run it on the virtual board with `h7sh --sim -x {scenario}`; scenarios are \
                     .toml files or built-in names (`h7sh --list-scenarios`)"
                ),
            });
            return 1;
        }
    }
    let executed = match &cli.execute {
        None => None,
        Some(path) => match crate::files::read_to_string(path, crate::files::Kind::Script) {
            Ok(text) => Some(text),
            Err(e) => {
                report(&ShellError::Io {
                    message: format!("cannot read command file {}: {e}", path.display()),
                    hint: "give the path of a file of h7sh commands".into(),
                });
                return 1;
            }
        },
    };
    let mut session = match connect(&cli) {
        Ok(s) => s,
        Err(e) => {
            report(&e);
            return 1;
        }
    };
    session.set_script_limits(crate::script::limits_from(&cli));
    if !cli.script.is_empty() {
        return match crate::script::run_cli(&mut session, &cli.script) {
            Ok(()) => 0,
            Err(e) => {
                report(&e);
                1
            }
        };
    }
    if let Some(input) = executed {
        return match run_commands(&mut session, &input, cli.json, &style) {
            Ok(()) => 0,
            Err(e) => {
                report(&e);
                1
            }
        };
    }
    if !cli.command.is_empty() {
        let input = cli.command.join("\n");
        return match run_commands(&mut session, &input, cli.json, &style) {
            Ok(()) => 0,
            Err(e) => {
                report(&e);
                1
            }
        };
    }
    if std::io::stdin().is_terminal() {
        let pager = !cli.no_pager && std::io::stdout().is_terminal();
        if let Err(e) = crate::repl::run(&mut session, style, pager) {
            eprintln!("error: {e}");
            return 1;
        }
        0
    } else {
        // Commands piped on stdin run like -c, each line as soon as it arrives.
        match run_lines(&mut session, std::io::stdin().lock(), cli.json, &style) {
            Ok(()) => 0,
            Err(e) => {
                report(&e);
                1
            }
        }
    }
}

/// Runs a command list, printing each outcome; stops at the first error.
pub fn run_commands(
    session: &mut Session,
    input: &str,
    json: bool,
    style: &Style,
) -> Result<(), ShellError> {
    let commands = crate::lang::parse(input)?;
    run_parsed(session, &commands, json, style).map(|_| ())
}

/// Runs commands, printing each outcome; `Ok(true)` once one of them is `quit`.
fn run_parsed(
    session: &mut Session,
    commands: &[crate::lang::Command],
    json: bool,
    style: &Style,
) -> Result<bool, ShellError> {
    for cmd in commands {
        match session.execute(cmd)? {
            Outcome::Quit => return Ok(true),
            o if json => println!("{}", render::json(&o)),
            o => print!("{}", render::text(&o, style)),
        }
    }
    Ok(false)
}

/// Runs the commands of `input` line by line as they are read (a pipe that stays open runs
/// each line at once); stops at the first error, which a line that is not UTF-8 or is too
/// long also is. A line is read with a bound, so an endless one costs no memory.
pub fn run_lines(
    session: &mut Session,
    mut input: impl std::io::BufRead,
    json: bool,
    style: &Style,
) -> Result<(), ShellError> {
    use crate::lang::{ParseError, MAX_LINE_BYTES};
    use std::io::{BufRead as _, Read as _};
    let mut buf = Vec::new();
    for line_no in 1.. {
        buf.clear();
        // Past the limit by two (a `\r\n`), so that a longer line is seen as one.
        let n = (&mut input)
            .take(MAX_LINE_BYTES as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| ShellError::Io {
                message: format!("cannot read stdin: {e}"),
                hint: "pipe commands as text, one or more per line".into(),
            })?;
        if n == 0 {
            break;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = if line.len() > MAX_LINE_BYTES {
            // The lexer refuses it for its length; a cut character does not matter.
            String::from_utf8_lossy(line)
        } else {
            match std::str::from_utf8(line) {
                Ok(t) => std::borrow::Cow::Borrowed(t),
                Err(e) => {
                    let column = String::from_utf8_lossy(&line[..e.valid_up_to()])
                        .chars()
                        .count()
                        + 1;
                    return Err(ParseError::new(
                        format!("line {line_no} of stdin is not UTF-8 text"),
                        "commands are UTF-8 text; the lines before this one ran",
                        column,
                        line_no,
                    )
                    .into());
                }
            }
        };
        let commands = crate::lang::parse_line(&text, line_no)?;
        if run_parsed(session, &commands, json, style)? {
            break;
        }
    }
    Ok(())
}

/// Loads the SVD views and connects to the probe or the virtual board.
pub fn connect(cli: &Cli) -> Result<Session, ShellError> {
    let views = svd::load(&LoadOptions {
        svd: cli.svd.clone(),
        svd_cm4: cli.svd_cm4.clone(),
        patches: cli.svd_patch.clone(),
        use_cache: !cli.no_svd_cache,
        part: cli.chip.clone(),
        ..LoadOptions::default()
    })?;
    if !cli.json && !cli.quiet {
        eprintln!("{}", views.source_line);
    }
    let opts = ConnectOptions {
        probe: cli.probe.clone(),
        chip: cli.chip.clone(),
        speed_khz: cli.speed,
        protocol: cli.protocol.map(|p| match p {
            Protocol::Swd => probe_rs::probe::WireProtocol::Swd,
            Protocol::Jtag => probe_rs::probe::WireProtocol::Jtag,
        }),
        connect_under_reset: cli.connect_under_reset,
        enable_low_power_debug: cli.debug_low_power,
    };
    let (target, board, connection) = match &cli.sim {
        Some(scenario) => {
            let (board, description) = open_virtual_board(
                scenario,
                cli.sim_state.as_deref(),
                cli.sim_probe,
                cli.sim_boot0,
            )?;
            let kind = lock(&board).probe_kind();
            let probe = kind.open(board.clone());
            let clock = Box::new(BoardClock(board.clone()));
            let handle: Box<dyn VirtualBoard> = Box::new(BoardHandle {
                board,
                listening: std::sync::Mutex::new(Vec::new()),
            });
            (
                Target::open_with_clock(probe, &opts, clock)?,
                Some(handle),
                description,
            )
        }
        None => {
            let t = Target::open_probe(&opts)?;
            let name = t.probe_name().to_string();
            (t, None, name)
        }
    };
    if !cli.json {
        for line in &target.connect_changes {
            eprintln!("connect changed: {line}");
        }
        for line in &target.connect_notes {
            eprintln!("note: {line}");
        }
    }
    let options = SessionOptions {
        json: cli.json,
        yes: cli.yes,
        dry_run: cli.dry_run,
        force: cli.force,
        allow_rdp2: cli.i_understand_rdp2_is_permanent,
        allow_dangerous_ob: cli.allow_dangerous_option_bytes,
    };
    if let (Some(spec), Some(handle)) = (&cli.serve, &board) {
        // Before the first command, so that a client can attach while a script runs.
        for line in handle.serve(spec)? {
            if !cli.json {
                eprintln!("{line}");
            }
        }
    }
    let mut session = Session::new(target, board, views, options, connection);
    if cli.ap != 0 {
        session.execute(&crate::lang::Command::Ap(Some(cli.ap)))?;
    }
    Ok(session)
}

impl From<SimError> for ShellError {
    fn from(e: SimError) -> ShellError {
        ShellError::Io {
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

/// Builds the virtual board of a scenario (a built-in name or a .toml path), with its
/// non-volatile state kept in `state` when given.
pub fn open_virtual_board(
    scenario: &str,
    state: Option<&Path>,
    probe: Option<ProbeKind>,
    boot0: bool,
) -> Result<(SharedBoard, String), SimError> {
    let mut sc = Scenario::load(scenario)?;
    sc.boot0 |= boot0;
    let kind = probe.unwrap_or(sc.probe);
    let chip = match state {
        Some(path) => Chip::with_state_file(&sc, path)?,
        None => Chip::new(&sc)?,
    };
    let faults = chip.fault_plan();
    let description = format!(
        "h7sh virtual board, scenario {}, probe {} ({})",
        chip.scenario_name(),
        kind,
        kind.description()
    );
    Ok((
        Board::new(Box::new(chip), faults)
            .with_probe_kind(kind)
            .into_shared(),
        description,
    ))
}

/// Lists the virtual board with the real probes (probe-rs's plugin API); opening it from the
/// list gives the default scenario.
pub fn register_virtual_probe() {
    crate::sim::probe::register_probe_driver(|| {
        open_virtual_board(DEFAULT_SCENARIO, None, None, false)
            .map(|(b, _)| b)
            .map_err(|e| e.to_string())
    });
}

/// The virtual board's time, for the target's core-control deadlines.
pub struct BoardClock(pub SharedBoard);

impl target::TargetClock for BoardClock {
    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(lock(&self.0).now_nanos())
    }
    fn sleep(&self, d: std::time::Duration) {
        lock(&self.0).wait_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }
}

/// The shell's handle on the virtual board while probe-rs owns the probe driver, with the
/// listeners that serve it to other debuggers.
struct BoardHandle {
    board: SharedBoard,
    listening: std::sync::Mutex<Vec<serve::Listening>>,
}

impl VirtualBoard for BoardHandle {
    fn stats(&self) -> (serde_json::Value, String) {
        let (stats, kind) = {
            let b = lock(&self.board);
            (b.stats(), b.probe_kind())
        };
        let mut json = serde_json::to_value(stats).unwrap_or_default();
        if let Some(map) = json.as_object_mut() {
            map.insert("probe".into(), kind.name().into());
        }
        let clients = lock(&self.board).client_stats();
        let mut text = format!("probe: {kind} ({})\n{stats}", kind.description());
        let mut listed = Vec::new();
        for (name, connections, open, s) in clients {
            let state = if open { ", one open" } else { "" };
            text.push_str(&format!(
                "\nclient {name} ({connections} connection{}{state})\n{s}",
                if connections == 1 { "" } else { "s" }
            ));
            listed.push(serde_json::json!({
                "name": name,
                "connections": connections,
                "open": open,
                "stats": s,
            }));
        }
        if let Some(map) = json.as_object_mut() {
            map.insert("clients".into(), listed.into());
        }
        (json, text)
    }
    fn reset_stats(&self) {
        lock(&self.board).reset_stats();
    }
    fn power_cycle(&self) {
        lock(&self.board).power_cycle();
    }
    fn wait_ms(&self, ms: u64) {
        lock(&self.board).wait_ms(ms);
    }
    fn now_nanos(&self) -> u64 {
        lock(&self.board).now_nanos()
    }
    fn scenario(&self) -> String {
        lock(&self.board)
            .chip_mut::<Chip>()
            .map(|c| c.scenario_name().to_string())
            .unwrap_or_default()
    }
    fn hold_reset_button(&self, held: bool) -> bool {
        let mut b = lock(&self.board);
        b.hold_reset_button(held);
        b.reset_state().1
    }
    fn reset_state(&self) -> (bool, bool) {
        lock(&self.board).reset_state()
    }
    fn boot0(&self, high: Option<bool>) -> bool {
        let mut b = lock(&self.board);
        let Some(chip) = b.chip_mut::<Chip>() else {
            return false;
        };
        if let Some(h) = high {
            chip.set_boot0(h);
        }
        chip.boot0()
    }
    fn serve(&self, spec: &str) -> Result<Vec<String>, ShellError> {
        let bad = |e: serve::ServeError| ShellError::BadValue {
            hint: e.hint(),
            message: e.to_string(),
        };
        let endpoints = serve::parse_spec(spec).map_err(bad)?;
        let mut lines = Vec::new();
        for ep in &endpoints {
            let listening = serve::start(&self.board, ep).map_err(bad)?;
            lines.push(listening.how_to_connect());
            self.listening
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(listening);
        }
        Ok(lines)
    }
    fn serving(&self) -> Vec<String> {
        self.listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(serve::Listening::how_to_connect)
            .collect()
    }
}

/// An h7sh option written after the script, where it would go to the script as an argument
/// (`h7sh x.rhai --sim`): say so instead of connecting without it.
fn misplaced_option(cli: &Cli) -> Option<ShellError> {
    use clap::CommandFactory;
    let command = Cli::command();
    let ours = |word: &str| {
        let long = word.strip_prefix("--")?.split('=').next()?;
        command
            .get_arguments()
            .any(|a| a.get_long() == Some(long))
            .then(|| format!("--{long}"))
    };
    let flag = cli.script.iter().skip(1).find_map(|w| ours(w))?;
    let script = &cli.script[0];
    Some(ShellError::BadValue {
        message: format!(
            "`{flag}` comes after the script {script}, so it would be passed to the script"
        ),
        hint: format!("put h7sh's options before the script: `h7sh {flag} ... {script}`"),
    })
}
