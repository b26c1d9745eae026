//! Ctrl-C in the middle of a script, typed on a pseudo-terminal: the script stops between two
//! operations with a clear message, exit code 1 from the command line, back to the prompt in
//! the REPL with the board in a consistent state (no half-done read-modify-write).
#![cfg(unix)]

mod common;
use rexpect::process::WaitStatus;
use rexpect::session::spawn_command;

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

#[test]
fn ctrl_c_stops_a_script_run_from_the_command_line() {
    let sb = common::Sandbox::new();
    let f = sb.dir.path().join("loop.rhai");
    std::fs::write(&f, LOOP).unwrap();
    let cmd = sb.cmd(&["--sim", f.to_str().unwrap()]);
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn in a pty");
    p.exp_string("started").expect("script started");
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send_control('c').expect("send ^C");
    p.exp_string("loop.rhai:").expect("location");
    p.exp_string("interrupted (Ctrl-C)")
        .expect("interruption message");
    p.exp_string("no half-done read-modify-write")
        .expect("hint");
    match p.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => assert_eq!(code, 1),
        other => panic!("h7sh did not exit normally: {other:?}"),
    }
}

#[test]
fn ctrl_c_stops_run_in_the_repl_and_leaves_the_board_consistent() {
    let sb = common::Sandbox::new();
    let f = sb.dir.path().join("loop.rhai");
    std::fs::write(&f, LOOP).unwrap();
    let cmd = sb.cmd(&["--sim"]);
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn in a pty");
    p.exp_string("]> ").expect("prompt");
    p.send_line(&format!("run {}", f.display())).unwrap();
    p.exp_string("started").expect("script started");
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send_control('c').expect("send ^C");
    p.exp_string("interrupted (Ctrl-C)")
        .expect("interruption message");
    p.exp_string("]> ").expect("back at the prompt");
    // Both fields were always written together: they are equal whatever the moment of ^C.
    p.send_line(
        r#"eval let c = fields("DBGMCU.CR"); `consistent=${c.DBGSTOP_D2 == c.DBGSTBY_D2}`"#,
    )
    .unwrap();
    p.exp_string("consistent=true").expect("consistent state");
    // The shell still works, and the session's counters show the script ran many turns.
    p.send_line("eval 6 * 7").unwrap();
    p.exp_string("42").expect("eval after the interruption");
    p.send_line("quit").unwrap();
    p.exp_eof().expect("exit");
}
