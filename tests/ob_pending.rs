//! `ob set` never commits what it was not asked for, and always ends relocked and truthful:
//! PRG values left pending by a raw write are refused (RDP level 2 above all), and a one-off
//! wire fault anywhere in the sequence neither leaves OPTCR unlocked nor misreports what the
//! chip holds. One session per case, so the chip can be read after the command.

use clap::Parser;
use h7sh::session::{Outcome, Session};

const OPTCR: u64 = 0x5200_2018;
const OPTSR_CUR: u64 = 0x5200_201C;
const OPTSR_PRG: u64 = 0x5200_2020;
const BOOT7_CUR: u64 = 0x5200_2040;
const RDP_SHIFT: u32 = 8;
const BCM4_BIT: u32 = 22;

fn session(scenario: &str, flags: &[&str]) -> Session {
    let mut args = vec!["h7sh", "--sim", scenario, "--no-svd-cache"];
    args.extend_from_slice(flags);
    let cli = h7sh::cli::Cli::parse_from(args);
    h7sh::cli::connect(&cli).expect("connect to the virtual board")
}

fn word(s: &mut Session, addr: u64) -> u32 {
    let cmd = format!("read {addr:#x}");
    match s.run_line(&cmd).expect(&cmd).pop() {
        Some(Outcome::Memory { values, .. }) => values[0],
        other => panic!("{cmd}: {other:?}"),
    }
}

/// `word` after a wire fault: the link is brought back first (as `info` would).
fn word_after_fault(s: &mut Session, addr: u64) -> u32 {
    for _ in 0..3 {
        let _ = s.run_line("reconnect");
        if let Ok(Some(Outcome::Memory { values, .. })) =
            s.run_line(&format!("read {addr:#x}")).map(|mut v| v.pop())
        {
            return values[0];
        }
    }
    panic!("{addr:#x} unreadable after reconnecting")
}

fn rdp(w: u32) -> u32 {
    (w >> RDP_SHIFT) & 0xFF
}

/// What a raw write (or an `ob set` that failed before OPTSTART) leaves: RDP = 0xCC in
/// OPTSR_PRG, not programmed, OPTCR locked again.
fn leave_rdp2_pending(s: &mut Session) {
    s.run_line(
        "write 0x52002008 0x08192A3B; write 0x52002008 0x4C5D6E7F; \
         write FLASH_OPTSR_PRG.RDP 0xCC; write FLASH_OPTCR.OPTLOCK 1",
    )
    .expect("raw PRG write");
    assert_eq!(rdp(word(s, OPTSR_PRG)), 0xCC);
    assert_eq!(rdp(word(s, OPTSR_CUR)), 0xAA);
    assert_eq!(word(s, OPTCR) & 1, 1);
}

#[test]
fn a_pending_rdp2_is_refused_by_an_unrelated_ob_set_even_with_the_rdp2_flag() {
    for flags in [
        &["--yes"][..],
        &["--yes", "--i-understand-rdp2-is-permanent"],
    ] {
        let mut s = session("nucleo-h755zi-q", flags);
        leave_rdp2_pending(&mut s);
        let boot7 = word(&mut s, BOOT7_CUR);
        let e = s
            .run_line("ob set BCM7_ADD0=0x0810")
            .expect_err("a pending RDP 2 must be refused");
        let text = e.to_string();
        assert_eq!(e.kind(), "refused", "{flags:?}: {text}");
        assert!(text.contains("RDP"), "{text}");
        assert!(text.contains("0xcc (Level2)"), "{text}");
        assert!(e.hint().contains("RDP=0xaa"), "{}", e.hint());
        assert_eq!(
            rdp(word(&mut s, OPTSR_CUR)),
            0xAA,
            "{flags:?}: RDP committed"
        );
        assert_eq!(
            word(&mut s, BOOT7_CUR),
            boot7,
            "{flags:?}: nothing programmed"
        );
        assert_eq!(word(&mut s, OPTCR) & 1, 1, "{flags:?}: OPTCR left unlocked");
    }
}

#[test]
fn naming_the_pending_field_at_its_current_value_discards_it() {
    let mut s = session("nucleo-h755zi-q", &["--yes"]);
    leave_rdp2_pending(&mut s);
    let out = s
        .run_line("ob set BCM7_ADD0=0x0810 RDP=0xAA")
        .expect("the pending value is named back");
    let text = format!("{out:?}");
    assert!(text.contains("discarded"), "{text}");
    assert_eq!(rdp(word(&mut s, OPTSR_CUR)), 0xAA);
    assert_eq!(
        rdp(word(&mut s, OPTSR_PRG)),
        0xAA,
        "pending RDP 2 written back"
    );
    assert_eq!(word(&mut s, BOOT7_CUR) & 0xFFFF, 0x0810);
    assert_eq!(word(&mut s, OPTCR) & 1, 1);
    // Nothing pending any more: an unrelated change goes through.
    s.run_line("ob set BCM7_ADD1=0x0800")
        .expect("no pending value left");
}

#[test]
fn naming_a_pending_rdp2_still_needs_the_permanent_flag() {
    let mut s = session("nucleo-h755zi-q", &["--yes"]);
    leave_rdp2_pending(&mut s);
    let e = s
        .run_line("ob set RDP=0xCC")
        .expect_err("RDP 2 needs the flag");
    assert!(e.hint().contains("--i-understand-rdp2-is-permanent"), "{e}");
    assert_eq!(rdp(word(&mut s, OPTSR_CUR)), 0xAA);
}

/// A scenario file whose wire drops the ACK of transaction `n` (once).
fn no_ack_once(dir: &std::path::Path, n: u64) -> String {
    let path = dir.join(format!("noack-{n}.toml"));
    std::fs::write(
        &path,
        format!("[faults]\nno_ack_burst = {{ after = {n}, count = 1 }}\n"),
    )
    .unwrap();
    path.display().to_string()
}

/// Every transaction of `ob set BCM4=0` in turn gets no ACK. Afterwards OPTCR must be locked
/// (the relock is retried), a success must mean BCM4 is programmed, and an error must say what
/// the chip holds: "programmed and verified" exactly when CUR shows the new value.
#[test]
fn a_one_off_no_ack_anywhere_leaves_optcr_locked_and_the_outcome_true() {
    let dir = tempfile::tempdir().unwrap();
    // Connecting takes about 60 transactions, the whole `ob set` about 430 more.
    let (mut ok, mut failed) = (0, 0);
    for n in (60..=500).step_by(2) {
        let scenario = no_ack_once(dir.path(), n);
        let mut s = session(&scenario, &["--yes"]);
        let result = s.run_line("ob set BCM4=0");
        let cur = word_after_fault(&mut s, OPTSR_CUR);
        let bcm4_programmed = (cur >> BCM4_BIT) & 1 == 0;
        assert_eq!(
            word_after_fault(&mut s, OPTCR) & 1,
            1,
            "no-ACK at {n}: OPTCR left unlocked ({result:?})"
        );
        match result {
            Ok(_) => {
                ok += 1;
                assert!(bcm4_programmed, "no-ACK at {n}: success but BCM4 = 1");
            }
            Err(e) => {
                failed += 1;
                let text = e.to_string();
                if !text.contains("on the chip now") {
                    // Failed while reading the option bytes, before any write.
                    assert!(!bcm4_programmed, "no-ACK at {n}: {text}");
                    continue;
                }
                assert_eq!(
                    text.contains("BCM4: programmed and verified"),
                    bcm4_programmed,
                    "no-ACK at {n}: the error misstates BCM4: {text}"
                );
                assert!(text.contains("OPTCR: relocked"), "no-ACK at {n}: {text}");
            }
        }
    }
    assert!(
        ok > 0 && failed > 0,
        "the window covers both: {ok} ok, {failed} failed"
    );
}

/// Ctrl-C during `ob set` (the session flag, as the SIGINT handler sets it): the engine stops
/// before OPTSTART, writes the PRG registers back and relocks, so nothing is left pending.
#[test]
fn ctrl_c_stops_before_optstart_and_leaves_nothing_pending_or_unlocked() {
    let mut s = session("nucleo-h755zi-q", &["--yes"]);
    let (cur, prg) = (word(&mut s, OPTSR_CUR), word(&mut s, OPTSR_PRG));
    s.interrupt_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let e = s.run_line("ob set BCM4=0").expect_err("interrupted");
    let text = e.to_string();
    assert!(text.contains("interrupted before OPTSTART"), "{text}");
    assert!(text.contains("BCM4: NOT programmed"), "{text}");
    assert!(text.contains("OPTCR: relocked"), "{text}");
    assert_eq!(word(&mut s, OPTSR_CUR), cur);
    assert_eq!(word(&mut s, OPTSR_PRG), prg, "PRG written back");
    assert_eq!(word(&mut s, OPTCR) & 1, 1);
    s.run_line("ob set BCM7_ADD0=0x0810")
        .expect("nothing pending afterwards");
}
