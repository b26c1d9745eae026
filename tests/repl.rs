//! The REPL driven through a pseudo-terminal, as a user types it.

mod common;
use common::Sandbox;
use rexpect::session::{spawn_command, PtySession};

const TIMEOUT_MS: u64 = 30_000;

fn start(sb: &Sandbox, scenario: &str) -> PtySession {
    let mut cmd = sb.cmd(&["--sim", scenario]);
    cmd.env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn h7sh in a pty");
    prompt(&mut p);
    p
}

/// Waits for the prompt, then for rustyline to switch the terminal to raw mode (switching
/// discards what was typed ahead, as on a real terminal).
fn prompt(p: &mut PtySession) {
    p.exp_string("]> ").expect("prompt");
    std::thread::sleep(std::time::Duration::from_millis(300));
}

#[test]
fn tab_completes_option_byte_fields() {
    let sb = Sandbox::new();
    let mut p = start(&sb, "nucleo-h755zi-q");
    p.send("read FLASH_OPTSR_CUR.BC").unwrap();
    p.flush().unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("BCM").expect("common prefix completed");
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("FLASH_OPTSR_CUR.BCM7")
        .expect("candidates listed");
    p.send("4\r").unwrap();
    p.flush().unwrap();
    p.exp_string("FLASH.OPTSR_CUR.BCM4 [22]")
        .expect("completed name reads");
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn history_is_kept_across_two_runs() {
    let sb = Sandbox::new();
    let mut p = start(&sb, "nucleo-h755zi-q");
    p.send_line("read RCC_GCR.BOOT_C2").unwrap();
    p.exp_string("RCC.GCR.BOOT_C2 [3]").unwrap();
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    let history =
        std::fs::read_to_string(sb.dir.path().join("data/h7sh/history.txt")).expect("history file");
    assert!(history.contains("read RCC_GCR.BOOT_C2"), "{history}");

    let mut p = start(&sb, "nucleo-h755zi-q");
    p.send("\x1b[A").unwrap();
    p.flush().unwrap(); // Up arrow recalls the previous run's command
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("RCC.GCR.BOOT_C2 [3]")
        .expect("recalled command ran");
    // Ctrl-D typed before the next prompt would be discarded with the type-ahead.
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn ctrl_c_stops_a_running_command_and_keeps_the_shell() {
    let sb = Sandbox::new();
    let mut p = start(&sb, "nucleo-h755zi-q");
    // D2CKRDY stays 1 on the factory board: this polls for a day of virtual time.
    p.send_line("wait RCC_CR.D2CKRDY == 0 timeout 86400000")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send_control('c').unwrap();
    p.exp_string("interrupted").expect("command stopped");
    prompt(&mut p);
    p.send_line("read RCC_CR.D2CKRDY").unwrap();
    p.exp_string("RCC.CR.D2CKRDY").expect("shell still usable");
    prompt(&mut p);
    // Ctrl-C on a half-typed line cancels the line only.
    p.send("read NOTHING").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    prompt(&mut p);
    p.send_line("status").unwrap();
    p.exp_string("cm7 (AP0)").unwrap();
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn unwritable_history_gives_one_warning_not_a_failure() {
    let sb = Sandbox::new();
    let blocked = sb.dir.path().join("not-a-dir");
    std::fs::write(&blocked, b"file in the way").unwrap();
    let mut cmd = sb.cmd(&["--sim"]);
    cmd.env("H7SH_DATA_DIR", &blocked).env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).unwrap();
    prompt(&mut p);
    p.send_line("read RCC_CR.D2CKRDY").unwrap();
    p.exp_string("warning: history not saved")
        .expect("one warning");
    p.exp_string("RCC.CR.D2CKRDY")
        .expect("the command still ran");
    prompt(&mut p);
    p.send_line("read RCC_CR.D1CKRDY").unwrap();
    let (before, _) = p.exp_regex("RCC.CR.D1CKRDY").unwrap();
    assert!(!before.contains("warning"), "warned twice: {before}");
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn side_effect_read_asks_first() {
    let sb = Sandbox::new();
    let mut p = start(&sb, "nucleo-h755zi-q");
    p.send_line("read HSEM_RLR1").unwrap();
    p.exp_string("[y/N]").expect("asked");
    p.send_line("n").unwrap();
    p.exp_string("has a side effect").expect("refused on no");
    prompt(&mut p);
    p.send_line("read HSEM_RLR1").unwrap();
    p.exp_string("[y/N]").expect("asked again");
    p.send_line("y").unwrap();
    // HSEM.HSEM_RLR1 in ST's SVD, HSEM.RLR1 in the built-in register set.
    p.exp_string("RLR1 @ 0x58026484").expect("read on yes");
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

/// Issue 10 item 10: Enter on an empty line repeats `step` and pages a memory read, as gdb and
/// J-Link Commander do; after other commands it does nothing.
#[test]
fn enter_repeats_step_and_pages_memory() {
    let sb = Sandbox::new();
    let mut p = start(&sb, "nucleo-h755zi-q");
    p.send_line("halt").unwrap();
    p.exp_string("cm7 halt: halted at PC ").unwrap();
    prompt(&mut p);
    p.send_line("step").unwrap();
    let (_, first) = p
        .exp_regex(r"cm7 step: halted at PC 0x[0-9a-f]{8}")
        .unwrap();
    prompt(&mut p);
    p.send_line("").unwrap();
    let (_, second) = p
        .exp_regex(r"cm7 step: halted at PC 0x[0-9a-f]{8}")
        .unwrap();
    assert_ne!(first, second, "Enter stepped again");
    prompt(&mut p);
    p.send_line("read 0x24000000 2").unwrap();
    p.exp_string("0x24000000:").unwrap();
    prompt(&mut p);
    p.send_line("").unwrap();
    p.exp_string("0x24000008:").expect("the next page");
    prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

/// Issue 10 item 12: long output goes through $PAGER in the shell (here a pager that marks each
/// line), short output and `--no-pager` print directly.
#[test]
fn long_output_goes_through_the_pager() {
    for (flags, paged) in [(&[][..], true), (&["--no-pager"][..], false)] {
        let sb = Sandbox::new();
        let mut args = vec!["--sim", "nucleo-h755zi-q"];
        args.extend_from_slice(flags);
        let mut cmd = sb.cmd(&args);
        cmd.env("TERM", "xterm").env("PAGER", "sed s/^/PAGED:/");
        let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn h7sh in a pty");
        prompt(&mut p);
        p.send_line("read RCC_GCR.BOOT_C2").unwrap();
        p.exp_string("RCC.GCR.BOOT_C2 [3]").unwrap();
        prompt(&mut p);
        p.send_line("show RCC").unwrap();
        if paged {
            p.exp_string("PAGED:RCC.CR @ 0x58024400")
                .expect("show RCC paged");
        } else {
            let before = p.exp_string("RCC.CR @ 0x58024400").unwrap();
            assert!(!before.ends_with("PAGED:"), "--no-pager");
        }
        prompt(&mut p);
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }
}
