//! Wire cost (issue 11): what a command costs in probe round trips, measured by the virtual
//! board's counters, and the per-AP state h7sh keeps to get there, dropped whenever it may no
//! longer hold. Round trips are counted, not timed: these figures are deterministic.

use h7sh::session::{Outcome, Session};
use h7sh::sim::probe::ProbeKind;

mod common;

fn session(scenario: &str, kind: ProbeKind) -> Session {
    common::sim_session(scenario, kind)
}

/// Round trips since the counters were last reset, and reset them.
fn round_trips(s: &mut Session) -> u64 {
    let rt = match s.run_line("sim stats reset").expect("sim stats").pop() {
        Some(Outcome::SimStats { stats, .. }) => stats["round_trips"].as_u64().unwrap(),
        other => panic!("sim stats: {other:?}"),
    };
    rt
}

/// Round trips of `cmd` (after `warm`, which is not counted).
fn cost(s: &mut Session, warm: &str, cmd: &str) -> u64 {
    if !warm.is_empty() {
        s.run_line(warm).unwrap_or_else(|e| panic!("{warm}: {e}"));
    }
    round_trips(s);
    s.run_line(cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
    round_trips(s)
}

fn values(s: &mut Session, cmd: &str) -> Vec<u32> {
    common::sim_values(s, cmd)
}

fn raw_dap(kind: ProbeKind) -> bool {
    !kind.name().starts_with("stlink")
}

#[test]
fn a_single_register_read_costs_at_most_two_round_trips() {
    for kind in ProbeKind::ALL {
        let mut s = session("nucleo-h755zi-q", kind);
        let rt = cost(&mut s, "read FLASH_OPTSR_CUR", "read FLASH_OPTSR_CUR");
        // An ST-LINK runs the read in its firmware: the command, its status, and the AP
        // opening probe-rs makes for every memory interface (h7sh cannot keep that one).
        let limit = if raw_dap(kind) { 2 } else { 3 };
        assert!(rt <= limit, "{kind}: a register read took {rt} round trips");
        if kind == ProbeKind::CmsisDap {
            assert_eq!(
                rt, 1,
                "CMSIS-DAP: TAR write and DRW read in one DAP_Transfer"
            );
        }
    }
}

/// The targets on the default personality (CMSIS-DAP v2).
#[test]
fn commands_stay_within_their_round_trip_budgets_on_cmsis_dap() {
    let kind = ProbeKind::CmsisDap;
    let mut s = session("bcm4-off", kind);
    let rt = cost(&mut s, "read RCC_GCR", "write RCC_GCR.BOOT_C2 1");
    assert!(rt <= 3, "field write: {rt}");
    let mut s = session("nucleo-h755zi-q", kind);
    // Connecting: probe-rs's attach, line reset and DPIDR take 11, h7sh's debug-port start 2,
    // probe-rs's checks after it 2; then AP0 opened (IDR, CSW), DBGMCU_IDC and the CPUID.
    let rt = round_trips(&mut s);
    assert!(rt <= 20, "connect: {rt}");
    let rt = cost(&mut s, "", "ob");
    assert!(rt <= 4, "ob: {rt}");
    let rt = cost(&mut s, "", "show RCC");
    assert!(rt <= 13, "show RCC (13 runs of registers): {rt}");
    for scenario in [
        "nucleo-h755zi-q",
        "bcm4-off",
        "cm4-stop-no-dbg",
        "cm4-bad-boot",
        "rdp1",
        "cm4-d2-standby",
        "iwdg-reset-loop",
    ] {
        let mut s = session(scenario, kind);
        let rt = cost(&mut s, "", "doctor");
        assert!(rt <= 30, "doctor on {scenario}: {rt}");
    }
    let mut s = session("nucleo-h755zi-q", kind);
    let n = 1000;
    let rt = cost(
        &mut s,
        "read FLASH_OPTSR_CUR",
        &format!("eval for i in 0..{n} {{ read(\"FLASH_OPTSR_CUR\"); }}"),
    );
    assert!(
        rt * 10 <= 11 * n,
        "script loop: {rt} round trips for {n} reads"
    );
}

/// What h7sh remembers of an AP (its CSW) must never make an access go to the wrong AP, at the
/// wrong size or after the AP was reset: each event that may change it is followed by reads
/// whose values are known, on every probe.
#[test]
fn remembered_ap_state_is_dropped_whenever_it_may_no_longer_hold() {
    for kind in ProbeKind::ALL {
        let mut s = session("nucleo-h755zi-q", kind);
        // ST-LINK firmware below V2J28 reaches AP0 only: DBGMCU_IDC through AP0 there.
        let idc_read = if kind == ProbeKind::StlinkV2J27 {
            "ap 0; read 0x5C001000"
        } else {
            "ap 2; read 0xE00E1000"
        };
        let idc = values(&mut s, idc_read)[0];
        s.run_line("ap 0; write 0x24000000 0x11223344").unwrap();
        let check = |s: &mut Session, when: &str| {
            assert_eq!(
                values(s, "read 0x24000002/h"),
                [0x1122],
                "{kind} {when}: halfword"
            );
            assert_eq!(
                values(s, "read 0x24000001/b"),
                [0x33],
                "{kind} {when}: byte"
            );
            assert_eq!(
                values(s, "read 0x24000000"),
                [0x1122_3344],
                "{kind} {when}: word"
            );
        };
        check(&mut s, "after the write");
        // Another AP in between (SELECT changes; each AP has its own CSW).
        assert_eq!(values(&mut s, idc_read), [idc], "{kind} AP2");
        s.run_line("ap 0").unwrap();
        check(&mut s, "after an AP switch");
        // A halfword write, then a word read: the size must follow each access.
        s.run_line("write 0x24000000/h 0x3344").unwrap();
        check(&mut s, "after a halfword write");
        s.run_line("reset system").unwrap();
        check(&mut s, "after a system reset");
        s.run_line("reset core").unwrap();
        check(&mut s, "after a core reset");
        let fault = s.run_line("read 0x60000000").unwrap_err();
        assert_eq!(fault.kind(), "access", "{kind}: {fault}");
        check(&mut s, "after a FAULT (sticky error cleared)");
        s.run_line("reconnect").unwrap();
        check(&mut s, "after a reconnect");
        s.run_line("sim power-cycle").unwrap();
        assert_eq!(
            values(&mut s, "read 0x24000000"),
            [0],
            "{kind}: RAM after power"
        );
        s.run_line("write 0x24000000 0x11223344").unwrap();
        check(&mut s, "after a power cycle");
        assert_eq!(values(&mut s, idc_read), [idc], "{kind} AP2 at the end");
    }
}
