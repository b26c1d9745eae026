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
    // An interactive answer of no: cancelled, nothing written, and not an error (issue 10
    // item 15: a choice, exit status 0).
    s.set_confirm(Box::new(|q: &str| {
        assert!(q.contains("BCM4 0 (Disabled) -> 1 (Enabled)"), "{q}");
        false
    }));
    let out = s
        .run_line("ob set BCM4=1")
        .expect("declining is not an error");
    match out.last() {
        Some(h7sh::session::Outcome::Toolkit(h7sh::session::ToolkitOutcome::ObSet(o))) => {
            assert!(o.cancelled && !o.programmed, "{o:?}");
        }
        other => panic!("{other:?}"),
    }
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

/// Round trips of the last command, from the virtual board's counters.
fn round_trips_of(s: &mut Session, cmd: &str) -> (Vec<Outcome>, u64) {
    s.run_line("sim wait 50; status; sim stats reset")
        .expect("settle");
    let out = s.run_line(cmd).expect(cmd);
    match s.run_line("sim stats").expect("sim stats").pop() {
        Some(Outcome::SimStats { stats, .. }) => (out, stats["round_trips"].as_u64().unwrap()),
        other => panic!("sim stats: {other:?}"),
    }
}

/// Batched reads open the AP's memory interface once per command: about two round trips per
/// contiguous run plus a fixed opening cost, not ten per run (what reopening it per block
/// costs).
#[test]
fn batched_reads_cost_round_trips_per_run_not_per_block() {
    let mut s = session("nucleo-h755zi-q", &[]);
    let (out, rt) = round_trips_of(&mut s, "show RCC");
    let Some(Outcome::Peripheral { registers, .. }) = out.last() else {
        panic!("show RCC: {out:?}");
    };
    let mut words: Vec<u64> = registers.iter().map(|r| r.address).collect();
    words.sort_unstable();
    words.dedup();
    let runs = 1 + words.windows(2).filter(|w| w[1] != w[0] + 4).count() as u64;
    assert!(runs >= 2, "{runs} runs");
    assert!(
        rt <= 2 * runs + 12,
        "show RCC: {rt} round trips for {runs} runs"
    );
    // `ob`: two blocks (bank 1 with OPTCR, bank 2).
    let (_, rt) = round_trips_of(&mut s, "ob");
    assert!(rt <= 2 * 2 + 12, "ob: {rt} round trips");
}

/// `Target::read_runs`: a fault names the run that faulted, and a stop request returns nothing
/// half-read.
#[test]
fn read_runs_reports_the_faulting_run_and_stops_when_asked() {
    use h7sh::target::{ApIndex, ReadRun, TargetError, Width};
    let mut s = session("nucleo-h755zi-q", &[]);
    let good = ReadRun {
        addr: 0x5C00_1000, // DBGMCU_IDC
        width: Width::U32,
        count: 2,
    };
    let bad = ReadRun {
        addr: 0x6000_0000, // FMC bank 1: nothing there
        width: Width::U32,
        count: 1,
    };
    let v = s
        .target()
        .read_runs(ApIndex::CM7, &[good, good], &|| false)
        .unwrap()
        .unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0][0] & 0xFFF, 0x450);
    assert_eq!(v[0], v[1]);
    match s.target().read_runs(ApIndex::CM7, &[good, bad], &|| false) {
        Err(TargetError::Access { addr, .. }) => assert_eq!(addr, 0x6000_0000),
        other => panic!("{other:?}"),
    }
    // The interface works again afterwards, and a stop request is honoured before any run.
    assert!(s
        .target()
        .read_runs(ApIndex::CM7, &[good], &|| true)
        .unwrap()
        .is_none());
    assert_eq!(
        s.target().read32(ApIndex::CM7, 0x5C00_1000).unwrap() & 0xFFF,
        0x450
    );
}
