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
    common::sim_values(s, cmd)
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
            [0],
            "{kind}: DWT PIDR0, TRCENA = 0"
        );
        // `info` sets TRCENA for its ROM-table walk (as pyOCD does) and puts DEMCR back.
        let info = text(&mut s, "info");
        assert!(
            info.contains("DWT") && info.contains("ITM"),
            "{kind}: {info}"
        );
        assert_eq!(
            values(&mut s, "read 0xE000EDFC")[0] & (1 << 24),
            0,
            "{kind}: DEMCR as it was"
        );
        s.run_line("write 0xE000EDFC 0x01000000").unwrap(); // DEMCR.TRCENA
        assert_eq!(
            values(&mut s, "read 0xE0001FE0"),
            [0x02],
            "{kind}: DWT PIDR0 with TRCENA"
        );
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

/// Item 2: firmware that selects a supply the board does not have locks the chip up at boot and
/// silences the debug port, connect under reset included; the error names the supply
/// configuration and ST's recovery, which works: BOOT0 = 1 (the bootloader leaves PWR_CR3
/// alone), connect, mass-erase, BOOT0 = 0, power cycle: the debug port answers again.
#[test]
fn a_wrong_supply_configuration_loses_the_debug_port_until_boot0_and_an_erase() {
    use clap::Parser;
    for kind in ProbeKind::ALL {
        for under_reset in [false, true] {
            let mut args = vec!["h7sh", "--sim", "ldo-on-smps", "--sim-probe", kind.name()];
            if under_reset {
                args.push("--connect-under-reset");
            }
            let cli = h7sh::cli::Cli::parse_from(args);
            let e = h7sh::cli::connect(&cli).err().expect("no debug port");
            assert_eq!(e.kind(), "debug-port", "{kind}: {e}");
            let hint = e.hint();
            assert!(
                hint.contains("PWR_CR3 supply configuration"),
                "{kind}: {hint}"
            );
            assert!(hint.contains("BOOT0 = 1"), "{kind}: {hint}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("board.state");
    let connect = |boot0: bool| {
        let state = state.display().to_string();
        let mut args = vec!["h7sh", "--sim", "ldo-on-smps", "--sim-state", &state];
        if boot0 {
            args.push("--sim-boot0");
        }
        h7sh::cli::connect(&h7sh::cli::Cli::parse_from(args))
    };
    let mut s = connect(true).expect("BOOT0 = 1: the bootloader runs, the debug port answers");
    assert_eq!(values(&mut s, "read PWR_CSR1.ACTVOSRDY"), [1]);
    // Mass erase through the option-byte controller (OPTKEYR, OPTCR.MER).
    for cmd in [
        "write FLASH_OPTKEYR 0x08192A3B",
        "write FLASH_OPTKEYR 0x4C5D6E7F",
        "write FLASH_OPTCR.MER 1",
        "sim wait 10",
    ] {
        s.run_line(cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
    assert_eq!(values(&mut s, "read 0x08000000 2"), [u32::MAX, u32::MAX]);
    drop(s);
    let mut s = connect(false).expect("BOOT0 = 0, erased flash: nothing kills the supply");
    assert_eq!(findings(&mut s)[0], "cm7-boot-address-erased");
}

/// Item 13: IWDG1 made a hardware watchdog (IWDG1_SW = 0) runs from reset and resets the system
/// at its end of count (512 ms at reset), a halted core included, unless DBGMCU_APB4FZ1 freezes
/// it while the CM7 is halted; NRST_STOP_D2 = 0 turns the CM4's D2 Stop into a reset
/// (LPWR2RSTF). Through the shell on every probe.
#[test]
fn hardware_watchdogs_and_low_power_reset_options_act() {
    const IWDG1RSTF: u32 = 1 << 26;
    const LPWR2RSTF: u32 = 1 << 31;
    const RMVF: u32 = 1 << 16;
    for kind in ProbeKind::ALL {
        let mut s = session_on("iwdg-reset-loop", kind);
        s.run_line(&format!("write 0x580244D0 {RMVF:#x}")).unwrap();
        s.run_line("halt").unwrap();
        let pc = values(&mut s, "reg pc")[0];
        s.run_line("sim wait 400").unwrap();
        assert_eq!(
            values(&mut s, "read 0x580244D0")[0] & IWDG1RSTF,
            0,
            "{kind}: not yet"
        );
        s.run_line("sim wait 200").unwrap();
        assert_ne!(
            values(&mut s, "read 0x580244D0")[0] & IWDG1RSTF,
            0,
            "{kind}: the watchdog reset the chip under the halted CM7"
        );
        // Frozen while the CM7 is halted: the halt lasts.
        s.run_line(&format!("write 0x580244D0 {RMVF:#x}")).unwrap();
        s.run_line("write 0x5C001054 0x000C0000").unwrap(); // APB4FZ1: DBG_WDGLSD1 | 2
        s.run_line("halt").unwrap();
        let pc = values(&mut s, "reg pc").first().copied().unwrap_or(pc);
        s.run_line("sim wait 2000").unwrap();
        assert_eq!(
            values(&mut s, "read 0x580244D0")[0] & IWDG1RSTF,
            0,
            "{kind}"
        );
        assert_eq!(
            values(&mut s, "reg pc"),
            [pc],
            "{kind}: still halted where it was"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let stop_resets = scenario_file(&dir, "stop-resets", "[option_bytes]\nNRST_STOP_D2 = 0\n");
    let mut s = session_on(&stop_resets, ProbeKind::CmsisDap);
    assert_ne!(
        values(&mut s, "read 0x58024530")[0] & LPWR2RSTF,
        0,
        "the CM4 entering D2 Stop reset the system"
    );
}

/// Item 10: the flash interface as ST's HAL drives it. FLASH_CR1 is locked at reset; KEYR1 key 1
/// then key 2 unlocks it, a wrong key locks it until the next reset; with PG set, eight 32-bit
/// writes program one 256-bit flash word (bits only go from 1 to 0); a write without PG is a bus
/// error with PGSERR; a sector erase (SER, SNB, START) keeps BSY for about a second and leaves
/// 0xFF; a write-protected sector gives WRPERR. On every probe.
#[test]
fn the_flash_interface_programs_and_erases_as_the_hal_drives_it() {
    const KEYR1: u32 = 0x5200_2004;
    const CR1: u32 = 0x5200_200C;
    const SR1: u32 = 0x5200_2010;
    const CCR1: u32 = 0x5200_2014;
    const WORD: u32 = 0x0804_0000; // sector 2 of bank 1
    let write = |s: &mut Session, addr: u32, value: u32| {
        s.run_line(&format!("write {addr:#010x} {value:#010x}"))
            .unwrap_or_else(|e| panic!("write {addr:#x}: {e}"));
    };
    for kind in ProbeKind::ALL {
        let mut s = session(kind);
        assert_ne!(
            values(&mut s, &format!("read {CR1:#x}"))[0] & 1,
            0,
            "{kind}: LOCK1"
        );
        // A write to flash outside a programming sequence: a bus error and PGSERR.
        let e = s.run_line(&format!("write {WORD:#x} 0")).unwrap_err();
        assert_eq!(e.kind(), "access", "{kind}: {e}");
        assert_ne!(
            values(&mut s, &format!("read {SR1:#x}"))[0] & (1 << 18),
            0,
            "{kind}"
        );
        write(&mut s, CCR1, 0x1FEF_0000);
        write(&mut s, KEYR1, 0x4567_0123);
        write(&mut s, KEYR1, 0xCDEF_89AB);
        assert_eq!(
            values(&mut s, &format!("read {CR1:#x}"))[0] & 1,
            0,
            "{kind}: unlocked"
        );
        write(&mut s, CR1, 0x32); // PG, PSIZE 64 bits
        for i in 0..8 {
            write(&mut s, WORD + 4 * i, 0x1000_0000 + i);
        }
        s.run_line("sim wait 1").unwrap();
        let words = values(&mut s, &format!("read {WORD:#x} 9"));
        assert_eq!(
            words[7], 0x1000_0007,
            "{kind}: the flash word was programmed"
        );
        assert_eq!(words[8], u32::MAX, "{kind}: the next word is still erased");
        assert_ne!(
            values(&mut s, &format!("read {SR1:#x}"))[0] & (1 << 16),
            0,
            "{kind}: EOP"
        );
        // Sector 2 erase: about a second of BSY.
        write(&mut s, CR1, 0x234); // SER, SNB = 2, PSIZE
        write(&mut s, CR1, 0x2B4); // + START
        assert_ne!(
            values(&mut s, &format!("read {SR1:#x}"))[0] & 1,
            0,
            "{kind}: BSY"
        );
        s.run_line("sim wait 1100").unwrap();
        assert_eq!(
            values(&mut s, &format!("read {SR1:#x}"))[0] & 1,
            0,
            "{kind}: done"
        );
        assert_eq!(
            values(&mut s, &format!("read {WORD:#x}")),
            [u32::MAX],
            "{kind}"
        );
        write(&mut s, CR1, 1); // LOCK
        assert_ne!(
            values(&mut s, &format!("read {CR1:#x}"))[0] & 1,
            0,
            "{kind}: relocked"
        );
        // A wrong key locks CR1 until the next reset.
        write(&mut s, KEYR1, 0x1234_5678);
        write(&mut s, KEYR1, 0x4567_0123);
        write(&mut s, KEYR1, 0xCDEF_89AB);
        assert_ne!(
            values(&mut s, &format!("read {CR1:#x}"))[0] & 1,
            0,
            "{kind}: blocked"
        );
        s.run_line("reset").unwrap();
        write(&mut s, KEYR1, 0x4567_0123);
        write(&mut s, KEYR1, 0xCDEF_89AB);
        assert_eq!(
            values(&mut s, &format!("read {CR1:#x}"))[0] & 1,
            0,
            "{kind}: after reset"
        );
    }
    // Write protection: sector 2 of bank 1 protected (WRPSN1 bit 2 = 0).
    let dir = tempfile::tempdir().unwrap();
    let wrp = scenario_file(&dir, "wrp", "[option_bytes]\nWRPSN1 = 0xFB\n");
    let mut s = session_on(&wrp, ProbeKind::CmsisDap);
    write(&mut s, KEYR1, 0x4567_0123);
    write(&mut s, KEYR1, 0xCDEF_89AB);
    write(&mut s, CR1, 0x2B4);
    assert_ne!(
        values(&mut s, &format!("read {SR1:#x}"))[0] & (1 << 17),
        0,
        "WRPERR"
    );
    assert_eq!(
        values(&mut s, &format!("read {SR1:#x}"))[0] & 1,
        0,
        "nothing started"
    );
}

/// Item 13: a window watchdog resets its own CPU when RCC_GCR.WWxRSC = 0 and the system when it
/// is 1 (RM0399 §46.2): WWDG1 started by the debugger fires after 0x40 steps of 64 µs.
#[test]
fn a_window_watchdog_resets_its_cpu_or_the_system_as_rcc_gcr_says() {
    const WWDG1RSTF: u32 = 1 << 28;
    const PINRSTF: u32 = 1 << 22;
    const RMVF: u32 = 1 << 16;
    const S_RESET_ST: u32 = 1 << 25;
    for kind in ProbeKind::ALL {
        for system in [false, true] {
            let mut s = session(kind);
            s.run_line("sim wait 10").unwrap(); // the template handshake is done
            s.run_line(&format!("write 0x580244D0 {RMVF:#x}")).unwrap();
            if system {
                s.run_line("write 0x580244A0 1").unwrap(); // RCC_GCR.WW1RSC
            }
            let cm4 = kind != ProbeKind::StlinkV2J27;
            if cm4 {
                s.run_line("core cm4; read 0xE000EDF0; core cm7").unwrap();
            }
            s.run_line("read 0xE000EDF0").unwrap();
            s.run_line("write 0x50003000 0xFF").unwrap(); // WDGA, T = 0x7F
            s.run_line("sim wait 10").unwrap();
            let rsr = values(&mut s, "read 0x580244D0")[0];
            assert_ne!(rsr & WWDG1RSTF, 0, "{kind}: WWDG1 fired");
            assert_eq!(
                rsr & PINRSTF != 0,
                system,
                "{kind}: system reset = {system}"
            );
            assert_ne!(
                values(&mut s, "read 0xE000EDF0")[0] & S_RESET_ST,
                0,
                "{kind}"
            );
            if cm4 {
                s.run_line("core cm4").unwrap();
                let cm4_reset = values(&mut s, "read 0xE000EDF0")[0] & S_RESET_ST != 0;
                assert_eq!(cm4_reset, system, "{kind}: the CM4 reset only with WW1RSC");
            }
        }
    }
}

/// Item 6: `info` walks the ROM tables as they are on real parts (pyOCD's listings of H745
/// parts): the ST table lists the CM7's ETM and CTI beside the CM7 table, the APB-D system table
/// nests a second table with the CTI, CoreSight funnel, ETF and TPIU, and DBGMCU is no entry.
#[test]
fn info_walks_the_rom_tables_of_real_parts() {
    for kind in ProbeKind::ALL {
        if kind == ProbeKind::StlinkV2J27 {
            continue; // AP0 only on that firmware.
        }
        let mut s = session(kind);
        s.run_line("write 0x5C001004 0x00600000").unwrap(); // D1DBGCKEN | D3DBGCKEN
        let info = text(&mut s, "info");
        for line in [
            "0xe0041000 ETM (Cortex-M7)",
            "0xe0043000 CTI",
            "0xe00f0000 ROM table",
            "0xe00f1000 CTI",
            "0xe00f3000 CoreSight funnel",
            "0xe00f4000 ETF",
            "0xe00f5000 TPIU",
            "0xe00e3000 SWO",
        ] {
            assert!(info.contains(line), "{kind}: no `{line}` in\n{info}");
        }
        assert!(!info.contains("DBGMCU\n"), "{kind}: DBGMCU listed:\n{info}");
        assert!(
            !info.contains("0xe00f2000"),
            "{kind}: a not-present entry walked"
        );
    }
}

/// A session over JTAG: `scenario` through the probe personality `kind`.
fn jtag_session(scenario: &str, kind: ProbeKind) -> Session {
    common::sim_session_with(scenario, kind, &["--protocol", "jtag"])
}

/// The personalities whose probe-rs driver does JTAG through DAP_Transfer (CMSIS-DAP, the
/// firmware clocking the chain) or bit by bit (J-Link, probe-rs's JTAG polyfill).
const JTAG_KINDS: [ProbeKind; 3] = [ProbeKind::CmsisDap, ProbeKind::CmsisDapV1, ProbeKind::Jlink];

/// Item 14: the chain holds two TAPs, the JTAG-DP (IR 4, IDCODE 0x6BA00477) nearest TDO and the
/// boundary-scan TAP (IR 5, IDCODE 0x06450041), as probe-rs's scan finds them; every register
/// then reads as over SWD, although each transaction now goes through DPACC/APACC scans.
#[test]
fn jtag_sees_two_taps_and_reads_what_swd_reads() {
    for kind in JTAG_KINDS {
        let mut s = jtag_session("nucleo-h755zi-q", kind);
        let info = serde_json::to_value(s.run_line("info").unwrap()).unwrap();
        let wire = &info[0]["wire"];
        assert_eq!(wire["protocol"], "jtag", "{kind}");
        let chain: Vec<&str> = wire["jtag_chain"]
            .as_array()
            .unwrap_or_else(|| panic!("{kind}: {wire}"))
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(chain.len(), 2, "{kind}: {chain:?}");
        assert!(
            chain[0].starts_with("0x6BA00477") && chain[0].ends_with("IR 4"),
            "{kind}: {chain:?}"
        );
        assert!(
            chain[1].starts_with("0x06450041") && chain[1].ends_with("IR 5"),
            "{kind}: {chain:?}"
        );
        let text = text(&mut s, "info");
        assert!(text.contains("JTAG TAP 1: 0x06450041"), "{kind}: {text}");

        let mut swd = session(kind);
        for cmd in [
            "read DBGMCU_IDC",
            "read FLASH_OPTSR_CUR",
            "read 0x1FF1E800 3",
            "read 0xE000ED00",
        ] {
            assert_eq!(values(&mut s, cmd), values(&mut swd, cmd), "{kind}: {cmd}");
        }
        s.run_line("core cm4").unwrap();
        assert_eq!(values(&mut s, "read 0xE000ED00"), [0x410F_C241], "{kind}");
        // Writes go through too.
        s.run_line("write 0x24000000 0x1234ABCD").unwrap();
        assert_eq!(values(&mut s, "read 0x24000000"), [0x1234_ABCD], "{kind}");
    }
}

/// On a JTAG-DP a faulting access answers OK/FAULT (CMSIS-DAP firmware reports it as OK), sets
/// STICKYERR, and then every AP transaction is dropped until CTRL/STAT is written (ABORT's
/// clear bits are SW-DP only). h7sh checks CTRL/STAT after each access, so a dead AP3 is still
/// diagnosed, and AP0 keeps answering afterwards.
#[test]
fn jtag_faults_are_found_through_ctrl_stat_and_cleared() {
    for kind in JTAG_KINDS {
        let mut s = jtag_session("cm4-stop-no-dbg", kind);
        assert_eq!(findings(&mut s)[0], "d2-stop-debug-off", "{kind}");
        s.run_line("core cm4").unwrap();
        let e = s.run_line("read 0xE000ED00").unwrap_err();
        assert!(e.to_string().contains("D2"), "{kind}: {e}");
        s.run_line("core cm7").unwrap();
        assert_eq!(values(&mut s, "read 0xE000ED00"), [0x411F_C271], "{kind}");
        // An unmapped address on AP0 is an access error, not zeros.
        let e = s.run_line("read 0x60000000").unwrap_err();
        assert_eq!(e.kind(), "access", "{kind}: {e}");
        assert_eq!(
            values(&mut s, "read DBGMCU_IDC")[0] & 0xFFF,
            0x450,
            "{kind}"
        );
    }
}
