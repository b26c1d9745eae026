//! Helpers for tests that run the h7sh binary the way a user does.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// ST's SVD for the CM7 view when `H7SH_SVD_DIR` holds ST's files; otherwise the built-in
/// register set is used (and said so).
pub fn st_svd() -> Option<PathBuf> {
    match h7sh::svd::testing::st_svd_dir() {
        Some(dir) => Some(dir.join("STM32H755_CM7.svd")),
        None => {
            eprintln!("no ST SVD in H7SH_SVD_DIR: running against h7sh's built-in register set");
            None
        }
    }
}

/// A sandbox for one run: its own data, config and cache folders.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `h7sh ARGS` with HOME and the XDG folders inside the sandbox.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_h7sh"));
        let root = self.dir.path();
        c.env("HOME", root)
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            // One SVD cache for all tests: it is keyed by contents, so sharing it is safe.
            .env(
                "XDG_CACHE_HOME",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/svd-cache"),
            )
            .env("H7SH_DATA_DIR", root.join("data/h7sh"))
            .env_remove("H7SH_SVD")
            .env("NO_COLOR", "1");
        if let Some(svd) = st_svd() {
            c.env("H7SH_SVD", svd);
        }
        c.args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run h7sh")
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `h7sh --sim SCENARIO -c CMDS` and returns (exit code, stdout, stderr).
pub fn sim(scenario: &str, cmds: &str) -> (i32, String, String) {
    let sb = Sandbox::new();
    let o = sb.run(&["--sim", scenario, "-c", cmds]);
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

/// Same with --json: stdout parsed as one JSON object per line.
pub fn sim_json(scenario: &str, cmds: &str) -> (i32, Vec<serde_json::Value>, String) {
    let sb = Sandbox::new();
    let o = sb.run(&["--sim", scenario, "--json", "-c", cmds]);
    let objs = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (o.status.code().unwrap_or(-1), objs, stderr(&o))
}

/// An in-process session on the virtual board: `scenario` (a built-in name or a `.toml` path)
/// seen through the probe personality `kind`.
pub fn sim_session(scenario: &str, kind: h7sh::sim::probe::ProbeKind) -> h7sh::session::Session {
    sim_session_with(scenario, kind, &[])
}

/// Same with more command-line options (`--protocol jtag`, ...).
pub fn sim_session_with(
    scenario: &str,
    kind: h7sh::sim::probe::ProbeKind,
    more: &[&str],
) -> h7sh::session::Session {
    use clap::Parser;
    let mut args = vec![
        "h7sh",
        "--sim",
        scenario,
        "--sim-probe",
        kind.name(),
        "--no-svd-cache",
    ];
    args.extend_from_slice(more);
    let cli = h7sh::cli::Cli::parse_from(args);
    h7sh::cli::connect(&cli).unwrap_or_else(|e| panic!("connect {scenario} with {kind}: {e}"))
}

/// The values a command printed (memory words, a register, a field or a core register), or a
/// panic naming the command.
pub fn sim_values(s: &mut h7sh::session::Session, cmd: &str) -> Vec<u32> {
    use h7sh::session::Outcome;
    match s
        .run_line(cmd)
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
        .pop()
    {
        Some(Outcome::Memory { values, .. }) => values,
        Some(Outcome::Register(r)) => vec![r.value as u32],
        Some(Outcome::Field(f)) => vec![f.value as u32],
        Some(Outcome::CoreRegister { value, .. }) => vec![value as u32],
        other => panic!("{cmd}: {other:?}"),
    }
}
