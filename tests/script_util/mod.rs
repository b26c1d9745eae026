//! Helpers for the scripting tests: a session on the virtual board inside the test process,
//! and scripts written to a temporary folder.
#![allow(dead_code)]

use clap::Parser;
use h7sh::session::{Session, ShellError};
use std::path::{Path, PathBuf};

/// The repository's `scripts/` folder.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// `h7sh --sim SCENARIO` as a library session (ST's SVD when `H7SH_SVD_DIR` is set).
pub fn session(scenario: &str) -> Session {
    let mut argv = vec![
        "h7sh".to_string(),
        "--sim".into(),
        scenario.into(),
        "--json".into(),
    ];
    match h7sh::svd::testing::st_svd_dir() {
        Some(dir) => {
            argv.push("--svd".into());
            argv.push(dir.join("STM32H755_CM7.svd").to_string_lossy().into_owned());
        }
        None => {
            eprintln!("no ST SVD in H7SH_SVD_DIR: running against h7sh's built-in register set")
        }
    }
    let cli = h7sh::cli::Cli::parse_from(argv);
    let mut s = h7sh::cli::connect(&cli).expect("connect to the virtual board");
    // The --json flag only keeps connect quiet; scripts' shell() output is text in these tests.
    s.options.json = false;
    s
}

/// A script in a fresh temporary folder.
pub struct Script {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Script {
    pub fn new(name: &str, source: &str) -> Script {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, source).expect("write script");
        Script { dir, path }
    }

    /// Another file beside the script.
    pub fn add(&self, name: &str, source: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, source).expect("write file");
        p
    }

    pub fn run(&self, s: &mut Session, args: &[&str]) -> Result<serde_json::Value, ShellError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        h7sh::script::run_file(s, &self.path, &args)
    }
}

/// Runs `source` as a script on `s` and returns its final value.
pub fn run(s: &mut Session, source: &str) -> Result<serde_json::Value, ShellError> {
    Script::new("t.rhai", source).run(s, &[])
}

/// Same, and the script must succeed.
pub fn ok(s: &mut Session, source: &str) -> serde_json::Value {
    run(s, source).unwrap_or_else(|e| panic!("script failed: {e}\n  hint: {}", e.hint()))
}

/// A register, field or address value read directly through the session.
pub fn value(s: &mut Session, name: &str) -> u64 {
    let t = h7sh::lang::parse_target(name).expect("target");
    s.read_value(&t).expect("read").1
}
