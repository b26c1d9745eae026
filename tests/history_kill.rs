//! kill -9 at any moment never empties or tears the REPL history: with a full history (100
//! entries, where rustyline rewrote the file in place on every command), the REPL runs commands
//! on a pseudo-terminal and is killed at pseudo-random moments, while another thread reads the
//! file the whole time. Every state seen, during the run and after each kill, is a whole file.
#![cfg(target_os = "linux")]

mod common;
use common::Sandbox;
use rexpect::session::spawn_command;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ENTRIES: usize = 100;

/// What is wrong with a history file's text, if anything.
fn damage(text: &str) -> Option<String> {
    let mut lines = text.lines();
    if lines.next() != Some("#V2") {
        return Some(format!("no header: {:?}", text.get(..40)));
    }
    if !text.ends_with('\n') {
        return Some("torn: no final newline".into());
    }
    let entries: Vec<&str> = lines.collect();
    if entries.len() < ENTRIES {
        return Some(format!("{} entries, {ENTRIES} before", entries.len()));
    }
    entries
        .iter()
        .find(|l| !(l.starts_with("eval ") || l.starts_with("old ")))
        .map(|l| format!("corrupt entry {l:?}"))
}

/// PIDs of the h7sh processes this test started (its children named h7sh).
fn h7sh_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1);
        if head.ends_with("(h7sh") && ppid == Some(me.as_str()) {
            pids.extend(
                head.split_whitespace()
                    .next()
                    .and_then(|p| p.parse::<i32>().ok()),
            );
        }
    }
    pids
}

fn kill9(pid: i32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

#[test]
fn kill_9_never_empties_or_tears_the_history() {
    let sb = Sandbox::new();
    let history = sb.dir.path().join("data/h7sh/history.txt");
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    let mut full = String::from("#V2\n");
    for i in 0..ENTRIES {
        full.push_str(&format!("old {i}\n"));
    }
    std::fs::write(&history, &full).unwrap();

    // The observer: reads the file as fast as it can while the REPL writes it.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let observer = {
        let (stop, seen, path) = (stop.clone(), seen.clone(), history.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Some(d) = std::fs::read_to_string(&path).ok().and_then(|t| damage(&t)) {
                    seen.lock().unwrap().push(d);
                }
                reads += 1;
            }
            reads
        })
    };

    // Pseudo-random kill moments (a fixed sequence, so that a failure repeats).
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..8 {
        let mut cmd = sb.cmd(&["--sim"]);
        cmd.env("TERM", "xterm");
        let mut p = spawn_command(cmd, Some(30_000)).expect("spawn h7sh in a pty");
        p.exp_string("]> ").expect("prompt");
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..30 {
            p.send_line(&format!("eval {}", round * 100 + i)).unwrap();
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 400));
        for pid in h7sh_children() {
            kill9(pid);
        }
        drop(p);
        let text = std::fs::read_to_string(&history).expect("the history file is still there");
        assert_eq!(damage(&text), None, "after the kill of round {round}");
        assert_temp_files_are_cleaned_later(history.parent().unwrap());
    }
    let last = std::fs::read_to_string(&history).unwrap();
    assert!(last.contains("\neval "), "commands were saved: {last}");
    stop.store(true, Ordering::Relaxed);
    let reads = observer.join().unwrap();
    let seen = seen.lock().unwrap();
    assert!(reads > 100, "the observer read the file {reads} times");
    assert!(
        seen.is_empty(),
        "damaged states seen: {:?}",
        &seen[..seen.len().min(5)]
    );
}

/// A killed writer may leave its `.history.txt.tmp-PID`; the next write removes it, so at most
/// the last killed run's one is there.
fn assert_temp_files_are_cleaned_later(dir: &Path) {
    let temps = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .count();
    assert!(temps <= 1, "{temps} temp files piled up");
}
