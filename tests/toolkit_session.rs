//! `ob set` failure paths, checked on one session (so the chip state after a failed command can
//! be read): refusals leave the option bytes untouched, a wrong key and an OPT_BUSY timeout
//! leave OPTCR locked.

mod common;
use clap::Parser;
use h7sh::session::{Outcome, Session};

const OPTCR: &str = "read 0x52002018";
const OPTSR_CUR: &str = "read 0x5200201C";
const OPTSR_PRG: &str = "read 0x52002020";
const BOOT4_PRG: &str = "read 0x5200204C";

fn session(scenario: &str, flags: &[&str]) -> Session {
    let mut args = vec!["h7sh", "--sim", scenario, "--no-svd-cache"];
    let svd = common::st_svd().map(|p| p.display().to_string());
    if let Some(svd) = &svd {
        args.push("--svd");
        args.push(svd);
    }
    args.extend_from_slice(flags);
    let cli = h7sh::cli::Cli::parse_from(args);
    h7sh::cli::connect(&cli).expect("connect to the virtual board")
}

fn word(s: &mut Session, cmd: &str) -> u32 {
    match s.run_line(cmd).expect(cmd).pop() {
        Some(Outcome::Memory { values, .. }) => values[0],
        other => panic!("{cmd}: {other:?}"),
    }
}

/// (OPTSR_CUR without status bits, OPTSR_PRG, BOOT4_PRG, OPTCR)
fn state(s: &mut Session) -> (u32, u32, u32, u32) {
    (
        word(s, OPTSR_CUR) & !(1 | 1 << 30),
        word(s, OPTSR_PRG),
        word(s, BOOT4_PRG),
        word(s, OPTCR),
    )
}

#[test]
fn refusals_leave_the_option_bytes_untouched() {
    let mut s = session("nucleo-h755zi-q", &["--yes"]);
    let before = state(&mut s);
    assert_eq!(before.3 & 1, 1, "OPTCR locked at start");
    for cmd in [
        "ob set RDP=0xCC",
        "ob set BCM4=0 BCM7=0",
        "ob set BCM7_ADD0=0x4000",
        "ob set BCM4=2",
        "ob set NOPE=1",
    ] {
        let e = s.run_line(cmd).expect_err(cmd);
        assert!(matches!(e.kind(), "refused" | "bad-value"), "{cmd}: {e}");
        assert_eq!(state(&mut s), before, "after `{cmd}`");
    }
}

#[test]
fn no_confirmation_means_nothing_written() {
    let mut s = session("bcm4-off", &[]);
    let before = state(&mut s);
    let e = s.run_line("ob set BCM4=1").expect_err("needs --yes");
    assert!(e.hint().contains("--yes"), "{}", e.hint());
    assert_eq!(state(&mut s), before);
    // An interactive answer of no: cancelled, nothing written.
    s.set_confirm(Box::new(|q: &str| {
        assert!(q.contains("BCM4 0 (Disabled) -> 1 (Enabled)"), "{q}");
        false
    }));
    let e = s.run_line("ob set BCM4=1").expect_err("declined");
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert_eq!(state(&mut s), before);
    // Yes: programmed.
    s.set_confirm(Box::new(|_| true));
    s.run_line("ob set BCM4=1").expect("confirmed");
    assert_ne!(word(&mut s, OPTSR_CUR) & 1 << 22, 0);
}

#[test]
fn wrong_key_fails_relocked_and_unchanged() {
    let mut s = session("bcm4-off", &["--yes"]);
    let before = state(&mut s);
    s.run_line("write 0x52002008 0x12345678").unwrap();
    let e = s.run_line("ob set BCM4=1").expect_err("OPTCR key-locked");
    assert!(e.to_string().contains("wrong key"), "{e}");
    assert!(e.to_string().contains("relocked"), "{e}");
    let after = state(&mut s);
    assert_eq!(after, before, "nothing programmed, OPTCR locked");
    // A reset clears the key lock: then it works.
    s.run_line("reset").unwrap();
    s.run_line("ob set BCM4=1").expect("after reset");
    assert_ne!(word(&mut s, OPTSR_CUR) & 1 << 22, 0);
    assert_eq!(word(&mut s, OPTCR) & 1, 1, "relocked after success");
}

#[test]
fn opt_busy_timeout_fails_and_relocks() {
    let mut s = session("bcm4-off", &["--yes"]);
    // OPT_BUSY lasts a few virtual ms on the virtual board: a 1 ms budget runs out.
    s.set_ob_timeout_ms(1);
    let e = s.run_line("ob set BCM4=1").expect_err("timeout");
    assert_eq!(e.kind(), "refused");
    assert!(
        e.to_string().contains("OPT_BUSY did not clear within 1 ms"),
        "{e}"
    );
    assert!(e.to_string().contains("relocked"), "{e}");
    assert!(e.hint().contains("may still complete"), "{}", e.hint());
    assert_eq!(word(&mut s, OPTCR) & 1, 1, "OPTCR relocked");
    // The change itself completes on the chip once OPT_BUSY clears.
    s.run_line("wait FLASH_OPTSR_CUR.OPT_BUSY == 0 timeout 100")
        .unwrap();
    assert_ne!(word(&mut s, OPTSR_CUR) & 1 << 22, 0);
}

#[test]
fn change_error_is_cleared_and_reported() {
    // OPTSTART while locked raises OPTCHANGEERR; `ob set` clears the stale flag before starting.
    let mut s = session("bcm4-off", &["--yes"]);
    s.run_line("write 0x52002018 0x2").unwrap();
    assert_ne!(word(&mut s, OPTSR_CUR) & 1 << 30, 0, "OPTCHANGEERR set");
    let out = s.run_line("ob set BCM4=1").expect("programs");
    let text = h7sh::render::json(&out[0]);
    assert!(text.contains("stale OPTCHANGEERR"), "{text}");
    assert_eq!(word(&mut s, OPTSR_CUR) & 1 << 30, 0, "cleared");
    assert_ne!(word(&mut s, OPTSR_CUR) & 1 << 22, 0);
}
