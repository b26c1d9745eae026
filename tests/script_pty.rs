//! Ctrl-C in the middle of a script, typed on a pseudo-terminal: the script stops between two
//! operations with a clear message, exit code 1 from the command line, back to the prompt in
//! the REPL with the board in a consistent state (no half-done read-modify-write).
//!
//! The terminal is util-linux `script`, which runs h7sh on a new pty and copies its stdin to it:
//! a 0x03 byte written there is turned into SIGINT by the pty's line discipline, exactly as
//! when a user presses Ctrl-C.
#![cfg(unix)]

mod common;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Toggles two fields together in one read-modify-write per turn, forever.
const LOOP: &str = r#"print("started");
let i = 0;
loop {
    i += 1;
    let v = i % 2;
    write_fields("DBGMCU.CR", #{DBGSTOP_D2: v, DBGSTBY_D2: v});
    read("RCC.CR.D2CKRDY");
}
"#;

struct Pty {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<String>>,
}

impl Pty {
    /// `h7sh ARGS` on a pseudo-terminal, or None when `script` is not installed.
    fn spawn(sb: &common::Sandbox, args: &[&str]) -> Option<Pty> {
        let h7sh = sb.cmd(args);
        // `exec`: `script` runs the line through $SHELL; a shell that stays as parent (dash
        // does) would itself be killed by the SIGINT and `script` would report 130.
        let mut line = format!("exec {}", shell_quote(h7sh.get_program().to_str().unwrap()));
        for a in h7sh.get_args() {
            line.push(' ');
            line.push_str(&shell_quote(a.to_str().unwrap()));
        }
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-q", "-f", "-e", "-c", &line, "/dev/null"]);
        for (k, v) in h7sh.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = match cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("util-linux `script` not available ({e}): pty test skipped");
                return None;
            }
        };
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Some(Pty { child, stdin, out })
    }

    /// Waits until the output after `from` contains `needle`; returns the offset after it.
    fn expect(&self, needle: &str, from: usize) -> usize {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let out = self.out.lock().unwrap();
                if let Some(i) = out.get(from..).and_then(|s| s.find(needle)) {
                    return from + i + needle.len();
                }
                if Instant::now() > end {
                    panic!("`{needle}` not seen; output so far:\n{out}");
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn exit_code(&mut self) -> i32 {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("h7sh did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pty {
    /// A failed test must not leave h7sh spinning: killing `script` closes the pty, and the
    /// kernel hangs h7sh up.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn ctrl_c_stops_a_script_run_from_the_command_line() {
    let sb = common::Sandbox::new();
    let f = sb.dir.path().join("loop.rhai");
    std::fs::write(&f, LOOP).unwrap();
    let Some(mut p) = Pty::spawn(&sb, &["--sim", f.to_str().unwrap()]) else {
        return;
    };
    let at = p.expect("started", 0);
    std::thread::sleep(Duration::from_millis(300));
    p.send(b"\x03");
    let at = p.expect("loop.rhai:", at);
    let at = p.expect("interrupted (Ctrl-C)", at);
    p.expect("no half-done read-modify-write", at);
    assert_eq!(p.exit_code(), 1);
}

#[test]
fn ctrl_c_stops_run_in_the_repl_and_leaves_the_board_consistent() {
    let sb = common::Sandbox::new();
    let f = sb.dir.path().join("loop.rhai");
    std::fs::write(&f, LOOP).unwrap();
    let Some(mut p) = Pty::spawn(&sb, &["--sim"]) else {
        return;
    };
    let at = p.expect("]> ", 0);
    p.send(format!("run {}\r", f.display()).as_bytes());
    let at = p.expect("started", at);
    std::thread::sleep(Duration::from_millis(300));
    p.send(b"\x03");
    let at = p.expect("interrupted (Ctrl-C)", at);
    let at = p.expect("]> ", at);
    // Both fields were always written together: they are equal whatever the moment of ^C.
    p.send(b"eval let c = fields(\"DBGMCU.CR\"); `consistent=${c.DBGSTOP_D2 == c.DBGSTBY_D2}`\r");
    let at = p.expect("consistent=true", at);
    // The shell still works after the interruption.
    p.send(b"eval 6 * 7\r");
    p.expect("42", at);
    p.send(b"quit\r");
    assert_eq!(p.exit_code(), 0);
}
