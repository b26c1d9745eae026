//! The virtual board answers as silicon does (issue 12), checked through the shell on every
//! probe personality.

use clap::Parser;
use h7sh::session::{Outcome, Session};
use h7sh::sim::probe::ProbeKind;

mod common;

fn session(kind: ProbeKind) -> Session {
    common::sim_session("nucleo-h755zi-q", kind)
}

fn values(s: &mut Session, cmd: &str) -> Vec<u32> {
    match s
        .run_line(cmd)
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
        .pop()
    {
        Some(Outcome::Memory { values, .. }) => values,
        Some(Outcome::Register(r)) => vec![r.value as u32],
        Some(Outcome::Field(f)) => vec![f.value as u32],
        other => panic!("{cmd}: {other:?}"),
    }
}

/// Item 9: the device electronic signature in system memory (RM0399 §61, `FLASHSIZE_BASE`,
/// `UID_BASE` of ST's header): the flash size reads 0x0800 (KiB) through the CM7, the unique ID
/// is three non-zero words, and the CM4 cannot read the flash-size register.
#[test]
fn the_device_signature_reads_as_on_silicon() {
    for kind in ProbeKind::ALL {
        let mut s = session(kind);
        assert_eq!(values(&mut s, "read 0x1FF1E880/h"), [0x0800], "{kind}");
        let uid = values(&mut s, "read 0x1FF1E800 3");
        assert!(uid.iter().all(|w| *w != 0), "{kind}: {uid:x?}");
        if kind == ProbeKind::StlinkV2J27 {
            continue; // AP0 only on that firmware.
        }
        s.run_line("core cm4").unwrap();
        assert_eq!(
            values(&mut s, "read 0x1FF1E800 3"),
            uid,
            "{kind}: same UID for the CM4"
        );
        let e = s.run_line("read 0x1FF1E880").unwrap_err();
        assert_eq!(e.kind(), "access", "{kind}: {e}");
    }
}

fn session_on(scenario: &str, kind: ProbeKind) -> Session {
    common::sim_session(scenario, kind)
}

/// A scenario file: the factory board plus `body`.
fn scenario_file(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = \"{name}\"\n{body}")).unwrap();
    path.display().to_string()
}

fn text(s: &mut Session, cmd: &str) -> String {
    s.run_line(cmd)
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
        .iter()
        .map(|o| h7sh::render::text(o, &h7sh::render::Style::PLAIN))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The IDs of `doctor`'s findings.
fn findings(s: &mut Session) -> Vec<String> {
    let out = s.run_line("doctor").expect("doctor");
    let json = serde_json::to_value(&out).unwrap();
    json[0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// Item 1: at RDP level 1 the debugger's connection locks the flash for the cores too
/// (RM0399 §4.5.3): both lock up, a reset does not bring the firmware back, a power cycle runs
/// it only until the probe attaches again, and `doctor` says so. With `rdp1_debug_lock = false`
/// the kinder behaviour (only debugger reads refused) comes back.
#[test]
fn rdp1_with_a_debugger_locks_the_flash_for_the_cores() {
    for kind in ProbeKind::ALL {
        // ST-LINK firmware older than J28 shows the CM7 only.
        let cores = if kind == ProbeKind::StlinkV2J27 { 1 } else { 2 };
        let mut s = session_on("rdp1", kind);
        let status = text(&mut s, "status");
        assert_eq!(status.matches("lockup").count(), cores, "{kind}: {status}");
        assert!(
            findings(&mut s).contains(&"rdp1-debug-lock".to_string()),
            "{kind}"
        );
        let status = text(&mut s, "reset; status");
        assert_eq!(
            status.matches("lockup").count(),
            cores,
            "{kind} after reset: {status}"
        );
        let status = text(&mut s, "sim power-cycle; status");
        assert_eq!(
            status.matches("lockup").count(),
            cores,
            "{kind} after a power cycle with the probe attached: {status}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let kind_model = scenario_file(
        &dir,
        "rdp1-no-lock",
        "[option_bytes]\nRDP = 0xBB\n[silicon]\nrdp1_debug_lock = false\n",
    );
    let mut s = session_on(&kind_model, ProbeKind::CmsisDap);
    let status = text(&mut s, "status");
    assert!(!status.contains("lockup"), "{status}");
    assert_eq!(findings(&mut s), ["rdp-level1"]);
}

/// Item 3: while NRST is held the AXI/AHB answers no debugger: DBGMCU through AP0 fails, the
/// same register through AP2 and the CM7's debug registers (PPB) answer; on a probe that reads
/// the pin back the error names NRST. `nrst_bus` makes the failed access a WAIT or zeros.
#[test]
fn nrst_held_blocks_the_system_bus_but_not_ap2_or_the_ppb() {
    for kind in ProbeKind::ALL {
        let mut s = session_on("nucleo-h755zi-q", kind);
        let idc = values(&mut s, "read DBGMCU_IDC");
        s.run_line("sim nrst hold").unwrap();
        let e = s.run_line("read DBGMCU_IDC").unwrap_err();
        assert_eq!(e.kind(), "access", "{kind}: {e}");
        if kind == ProbeKind::CmsisDap || kind == ProbeKind::CmsisDapV1 {
            assert!(e.to_string().contains("NRST is low"), "{kind}: {e}");
        } else {
            assert!(
                e.hint().contains("NRST is held low"),
                "{kind}: {}",
                e.hint()
            );
        }
        let dhcsr = values(&mut s, "read 0xE000EDF0")[0];
        assert_ne!(dhcsr & (1 << 25), 0, "{kind}: S_RESET_ST while held");
        if kind != ProbeKind::StlinkV2J27 {
            s.run_line("ap 2").unwrap();
            assert_eq!(values(&mut s, "read 0xE00E1000"), idc, "{kind} through AP2");
            s.run_line("ap 0").unwrap();
        }
        s.run_line("sim nrst release").unwrap();
        assert_eq!(values(&mut s, "read DBGMCU_IDC"), idc, "{kind} released");
    }
    let dir = tempfile::tempdir().unwrap();
    let zeros = scenario_file(&dir, "nrst-zeros", "[silicon]\nnrst_bus = \"zeros\"\n");
    let mut s = session_on(&zeros, ProbeKind::CmsisDap);
    s.run_line("sim nrst hold").unwrap();
    assert_eq!(values(&mut s, "read DBGMCU_IDC"), [0]);
    let wait = scenario_file(&dir, "nrst-wait", "[silicon]\nnrst_bus = \"wait\"\n");
    let mut s = session_on(&wait, ProbeKind::CmsisDap);
    s.run_line("sim nrst hold").unwrap();
    s.run_line("sim stats reset").unwrap();
    let e = s.run_line("read DBGMCU_IDC").unwrap_err();
    assert_eq!(e.kind(), "access", "{e}");
    let stats = match s.run_line("sim stats").unwrap().pop() {
        Some(Outcome::SimStats { stats, .. }) => stats,
        other => panic!("{other:?}"),
    };
    assert!(
        stats["per_ap"][0]["waits"].as_u64().unwrap_or(0) > 0,
        "the stalled AXI answers WAIT: {stats}"
    );
    // Connect under reset still catches the CM7: the PPB answers while NRST is low.
    s.run_line("sim nrst release").unwrap();
    assert_eq!(values(&mut s, "read DBGMCU_IDC")[0] & 0xFFF, 0x450);
}

/// Item 4: trace components on AP2 answer only with their DBGMCU clock enables, DWT and ITM
/// only with DEMCR.TRCENA (their ID registers always).
#[test]
fn trace_components_need_their_clocks() {
    for kind in ProbeKind::ALL {
        if kind == ProbeKind::StlinkV2J27 {
            continue; // AP0 only on that firmware.
        }
        let mut s = session_on("nucleo-h755zi-q", kind);
        s.run_line("ap 2").unwrap();
        // SWO PIDR0 (D3 debug clock) and TPIU PIDR0 (D1 debug clock).
        assert_eq!(
            values(&mut s, "read 0xE00E3FE0"),
            [0],
            "{kind}: SWO unclocked"
        );
        assert_eq!(
            values(&mut s, "read 0xE00F5FE0"),
            [0],
            "{kind}: TPIU unclocked"
        );
        s.run_line("write 0xE00E1004 0x00600000").unwrap(); // D1DBGCKEN | D3DBGCKEN
        assert_eq!(
            values(&mut s, "read 0xE00E3FE0"),
            [0x14],
            "{kind}: SWO part 0x914"
        );
        assert_eq!(
            values(&mut s, "read 0xE00F5FE0"),
            [0x12],
            "{kind}: TPIU part 0x912"
        );
        s.run_line("ap 0").unwrap();
        assert_eq!(
            values(&mut s, "read 0xE0001000"),
            [0],
            "{kind}: DWT_CTRL, TRCENA = 0"
        );
        assert_eq!(
            values(&mut s, "read 0xE0001FE0"),
            [0x02],
            "{kind}: DWT PIDR0 answers"
        );
        s.run_line("write 0xE000EDFC 0x01000000").unwrap(); // DEMCR.TRCENA
        assert_eq!(
            values(&mut s, "read 0xE0001000")[0] >> 28,
            4,
            "{kind}: NUMCOMP"
        );
    }
}

/// Item 8: each core has its own copy of the reset flags, with the dual-core layout: a
/// SYSRESETREQ from the CM4 sets SFT2RSTF; RMVF from the CM7's side clears the CM7's copy only.
#[test]
fn reset_flags_are_per_core() {
    const C1RSTF: u32 = 1 << 17;
    const C2RSTF: u32 = 1 << 18;
    const PORRSTF: u32 = 1 << 23;
    const SFT1RSTF: u32 = 1 << 24;
    const SFT2RSTF: u32 = 1 << 25;
    const RMVF: u32 = 1 << 16;
    for kind in ProbeKind::ALL {
        if kind == ProbeKind::StlinkV2J27 {
            continue; // AP0 only on that firmware.
        }
        let mut s = session_on("nucleo-h755zi-q", kind);
        let c1 = values(&mut s, "read 0x58024530")[0];
        assert_eq!(
            c1 & (PORRSTF | C1RSTF | C2RSTF),
            PORRSTF | C1RSTF | C2RSTF,
            "{kind}"
        );
        s.run_line(&format!("write 0x580244D0 {RMVF:#x}")).unwrap(); // RSR, the CM7's side
        assert_eq!(
            values(&mut s, "read 0x58024530"),
            [0],
            "{kind}: C1_RSR cleared"
        );
        assert_eq!(
            values(&mut s, "read 0x58024590"),
            [c1],
            "{kind}: C2_RSR kept"
        );
        s.run_line("core cm4").unwrap();
        // SYSRESETREQ through the CM4's AIRCR (VECTKEY 0x05FA).
        s.run_line("write 0xE000ED0C 0x05FA0004").unwrap();
        s.run_line("core cm7").unwrap();
        let c1 = values(&mut s, "read 0x58024530")[0];
        assert_eq!(
            c1 & (SFT1RSTF | SFT2RSTF),
            SFT2RSTF,
            "{kind}: the CM4 asked"
        );
        s.run_line("core cm4").unwrap();
        // RCC_RSR through AP3 is the CM4's copy: it still holds the power-on flags.
        assert_ne!(values(&mut s, "read 0x580244D0")[0] & PORRSTF, 0, "{kind}");
    }
}

/// `[silicon]` settings that keep the kinder (or the other) answer: AP3 stalls instead of
/// faulting with D2 in Stop and still gets its diagnosis; both cores stay off with
/// BCM4 = BCM7 = 0; D2CKRDY stays 1 in a debug Stop.
#[test]
fn silicon_settings_change_what_the_board_answers() {
    let dir = tempfile::tempdir().unwrap();
    let stall = scenario_file(
        &dir,
        "stop-wait",
        "[cores.cm7]\nfirmware = \"idle\"\n[silicon]\nunclocked_ap = \"wait\"\n",
    );
    for kind in ProbeKind::ALL {
        if kind == ProbeKind::StlinkV2J27 {
            continue;
        }
        let mut s = session_on(&stall, kind);
        s.run_line("sim wait 1").unwrap();
        let e = s.run_line("core cm4; read 0xE000ED00").unwrap_err();
        assert_eq!(e.kind(), "ap3-unreachable", "{kind}: {e}");
        assert!(e.to_string().contains("Stop"), "{kind}: {e}");
        assert_eq!(findings(&mut s), ["d2-stop-debug-off"], "{kind}");
    }
    let none = scenario_file(
        &dir,
        "both-off",
        "[option_bytes]\nBCM4 = 0\nBCM7 = 0\n[silicon]\nboth_boot_off = \"none\"\n",
    );
    let mut s = session_on(&none, ProbeKind::CmsisDap);
    assert_eq!(values(&mut s, "read 0xE000ED00"), [0], "CM7 gated: CPUID 0");
    let ready = scenario_file(
        &dir,
        "stop-ready",
        "[cores.cm7]\nfirmware = \"idle\"\n[dbgmcu]\ncr = 0x10\n\
         [silicon]\nd2ckrdy_in_debug_stop = true\n",
    );
    let mut s = session_on(&ready, ProbeKind::CmsisDap);
    s.run_line("sim wait 1").unwrap();
    assert!(text(&mut s, "status").contains("cm4"));
    assert_eq!(values(&mut s, "read RCC_CR.D2CKRDY"), [1]);
}

/// A `[silicon]` key or value the model does not know is an error naming it and the choices.
#[test]
fn unknown_silicon_settings_are_refused_with_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    for (body, expect) in [
        (
            "[silicon]\nnrst_bus = \"maybe\"\n",
            "zeros or fault or wait",
        ),
        ("[silicon]\nnrst = \"fault\"\n", "nrst_bus"),
    ] {
        let path = scenario_file(&dir, "bad", body);
        let cli = h7sh::cli::Cli::parse_from(["h7sh", "--sim", &path, "--no-svd-cache"]);
        let e = h7sh::cli::connect(&cli).err().expect("refused");
        let msg = format!("{e} {}", e.hint());
        assert!(msg.contains("silicon."), "{msg}");
        assert!(msg.contains(expect), "{msg}");
    }
}
