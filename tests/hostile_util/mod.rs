//! Builders of hostile inputs shared by the hostile_* regression tests and the fuzz_* targets.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use h7sh::svd::{load, DeviceViews, LoadOptions, SvdError};

/// An SVD device around `peripherals` (the XML of `<peripheral>` elements).
pub fn device(peripherals: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1">
  <name>HOSTILE</name>
  <version>1</version>
  <description>hostile</description>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <size>32</size>
  <resetValue>0</resetValue>
  <resetMask>0xFFFFFFFF</resetMask>
  <peripherals>
{peripherals}
  </peripherals>
</device>
"#
    )
}

/// A peripheral named `name` at `base`, with `registers` (the XML inside `<registers>`).
pub fn peripheral(name: &str, base: u32, registers: &str) -> String {
    format!(
        "<peripheral><name>{name}</name><baseAddress>{base:#x}</baseAddress>\
         <registers>{registers}</registers></peripheral>\n"
    )
}

/// A register with one field.
pub fn register(name: &str, offset: u32, extra: &str, fields: &str) -> String {
    format!(
        "<register><name>{name}</name><addressOffset>{offset:#x}</addressOffset>{extra}\
         <fields>{fields}</fields></register>"
    )
}

pub fn field(name: &str, offset: u64, width: u64) -> String {
    format!("<field><name>{name}</name><bitOffset>{offset}</bitOffset><bitWidth>{width}</bitWidth></field>")
}

/// A folder of files for one test, and load options isolated from the user's machine.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn write(&self, p: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
    pub fn opts(&self) -> LoadOptions {
        LoadOptions {
            use_cache: false,
            config_dir: Some(self.path("config")),
            data_dir: Some(self.path("data")),
            use_env: false,
            search_vendor_dirs: false,
            ..LoadOptions::default()
        }
    }
    /// Loads `svd` (a text, or the built-in set when `None`) with the given patch files.
    pub fn load(&self, svd: Option<&str>, patches: &[PathBuf]) -> Result<DeviceViews, SvdError> {
        let mut o = self.opts();
        o.svd = svd.map(|t| self.write("dev.svd", t));
        o.patches = patches.to_vec();
        load(&o)
    }
    /// `h7sh ARGS` run in this folder with stdin from `input`, isolated from the user's files.
    pub fn run(&self, args: &[&str], input: &[u8]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_h7sh"));
        let root = self.dir.path();
        c.current_dir(root)
            .env("HOME", root)
            .env("XDG_DATA_HOME", root.join("xdg-data"))
            .env("XDG_CONFIG_HOME", root.join("xdg-config"))
            .env("XDG_CACHE_HOME", root.join("xdg-cache"))
            .env("H7SH_DATA_DIR", root.join("xdg-data/h7sh"))
            .env_remove("H7SH_SVD")
            .env("NO_COLOR", "1")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("run h7sh");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        // Written beside, so that a child that stops reading cannot block the test.
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait h7sh");
        let _ = writer.join();
        out
    }
}

/// The error text of a failed load (its message and hint).
pub fn load_error(r: Result<DeviceViews, SvdError>) -> String {
    match r {
        Ok(v) => panic!("loaded: {}", v.source_line),
        Err(e) => format!("{e} (hint: {})", e.hint()),
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `h7sh --sim` as a library session on the built-in register set, with script limits small
/// enough for fuzzing (a generated endless loop ends in a fraction of a second).
pub fn fuzz_session() -> h7sh::session::Session {
    use clap::Parser;
    let cli = h7sh::cli::Cli::parse_from(["h7sh", "--sim", "--json", "--no-svd-cache"]);
    let mut s = h7sh::cli::connect(&cli).expect("connect to the virtual board");
    s.options.json = false;
    s.set_script_limits(h7sh::script::Limits {
        max_operations: 200_000,
        max_call_depth: 64,
        max_string_size: 1 << 20,
        max_array_size: 4096,
        timeout: Some(std::time::Duration::from_secs(2)),
        max_memory: 256 << 20,
    });
    s
}

/// Tokens that have broken parsers before: huge and odd numbers, quotes, separators,
/// unicode that changes width or direction, NUL, glob and XML specials.
pub const HOSTILE_TOKENS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "0x",
    "0xFFFFFFFFFFFFFFFFF",
    "1e308",
    "-1",
    "0b102",
    "\"",
    "'",
    "\"\\",
    ";",
    "#",
    "[",
    "]",
    "{",
    "[%s]",
    "**",
    "é",
    "\u{202e}",
    "\u{0}",
    "🦀",
    "\u{FEFF}",
    "a.b.c.d.e",
    "RCC_CR.HSION",
    "FLASH.OPTSR_PRG.RDP",
    "DBGMCU.CR",
    "0x58024400",
    "<x>",
    "&a;",
];

/// The fuzzers' configuration: `cases` cases from a fixed seed, so CI runs the same inputs every
/// time (a failure there is a regression, not luck); `PROPTEST_RNG_SEED=N` explores others.
pub fn fuzz_config(cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let mut c = Config {
        cases,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(0x4837_5348);
    }
    c
}
