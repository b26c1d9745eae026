//! The virtual board's bring-up stories, end to end through the binary.

mod common;
use common::*;

/// The full option-byte sequence through the FLASH registers, by name.
const PROGRAM_BCM4: &str = "write FLASH_OPTKEYR 0x08192A3B; write FLASH_OPTKEYR 0x4C5D6E7F; \
     write FLASH_OPTSR_PRG.BCM4 1; write FLASH_OPTCR.OPTSTART 1; \
     wait FLASH_OPTSR_CUR.OPT_BUSY == 0 timeout 1000; write FLASH_OPTCR.OPTLOCK 1";

#[test]
fn bcm4_off_fixed_with_option_bytes_then_cm4_halts_after_reset() {
    let cmds = format!(
        "read FLASH_OPTSR_CUR.BCM4; {PROGRAM_BCM4}; read FLASH_OPTSR_CUR.BCM4; \
         reset system; core cm4; halt; status"
    );
    let (code, out, err) = sim("bcm4-off", &cmds);
    assert_eq!(code, 0, "{err}\n{out}");
    let reads: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("FLASH.OPTSR_CUR.BCM4"))
        .collect();
    assert!(reads[0].contains("= 0"), "{reads:?}");
    assert!(reads[1].contains("= 1"), "{reads:?}");
    assert!(out.contains("cm4 halt: halted"), "{out}");
}

#[test]
fn option_bytes_act_only_at_the_next_reset() {
    let cmds = format!("{PROGRAM_BCM4}; core cm4; read 0xE000ED00");
    let (code, _, err) = sim("bcm4-off", &cmds);
    assert_eq!(code, 1, "BCM4 must not release the CM4 before a reset");
    assert!(err.contains("AP3"), "{err}");
}

#[test]
fn wrong_option_key_locks_optcr_until_reset() {
    let (code, out, err) = sim(
        "bcm4-off",
        "write FLASH_OPTKEYR 0x12345678; write FLASH_OPTKEYR 0x08192A3B; write FLASH_OPTKEYR 0x4C5D6E7F; \
         read FLASH_OPTCR.OPTLOCK; reset system; write FLASH_OPTKEYR 0x08192A3B; \
         write FLASH_OPTKEYR 0x4C5D6E7F; read FLASH_OPTCR.OPTLOCK",
    );
    assert_eq!(code, 0, "{err}");
    let locks: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("FLASH.OPTCR.OPTLOCK"))
        .collect();
    assert!(
        locks[0].contains("= 1"),
        "still locked after a wrong key: {locks:?}"
    );
    assert!(locks[1].contains("= 0"), "unlocked after reset: {locks:?}");
}

#[test]
fn rdp_level2_kills_the_debug_port_for_good() {
    let sb = Sandbox::new();
    let state = sb.dir.path().join("board.state");
    let state = state.to_str().unwrap();
    let program = "write FLASH_OPTKEYR 0x08192A3B; write FLASH_OPTKEYR 0x4C5D6E7F; \
         write FLASH_OPTSR_PRG.RDP 0xCC; write FLASH_OPTCR.OPTSTART 1; sim wait 100";
    let o = sb.run(&["--sim", "--sim-state", state, "-c", program]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.run(&["--sim", "--sim-state", state, "-c", "info"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("debug port"), "{err}");
    assert!(
        err.contains("RDP level 2"),
        "hint names the likely cause: {err}"
    );
}

#[test]
fn sim_state_keeps_option_bytes_across_runs() {
    let sb = Sandbox::new();
    let state = sb.dir.path().join("board.state");
    let state = state.to_str().unwrap();
    let o = sb.run(&[
        "--sim",
        "bcm4-off",
        "--sim-state",
        state,
        "-c",
        PROGRAM_BCM4,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.run(&[
        "--sim",
        "bcm4-off",
        "--sim-state",
        state,
        "-c",
        "core cm4; read 0xE000ED00",
    ]);
    assert!(o.status.success(), "BCM4 = 1 was kept: {}", stderr(&o));
    assert!(stdout(&o).contains("0x410fc241"));
    let o = sb.run(&["--sim", "bcm4-off", "-c", "core cm4; read 0xE000ED00"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "without the state file the scenario starts over"
    );
}

#[test]
fn cm4_stop_no_dbg_handshake_runs_once_d2_debug_is_on() {
    // With the D2 debug clock on, AP3 answers although the CM4 sits in D2 Stop.
    let (code, out, err) = sim(
        "cm4-stop-no-dbg",
        "read RCC_CR.D2CKRDY; ap 2; write DBGMCU_CR.DBGSTOP_D2 1; ap 3; status; read 0xE000ED00",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("RCC.CR.D2CKRDY [15] @ 0x58024400 = 0"),
        "{out}"
    );
    assert!(out.contains("0x410fc241"), "{out}");
}

#[test]
fn template_handshake_wakes_the_cm4_on_the_factory_board() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "sim wait 5; read RCC_CR.D2CKRDY; read HSEM_C2ISR; core cm4; halt; reg pc",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("RCC.CR.D2CKRDY [15] @ 0x58024400 = 1"),
        "CM4 woke, D2 clock back: {out}"
    );
    // The CM4 runs its main loop at boot address + 0x600 (docs/sim.md).
    assert!(out.contains("cm4 pc = 0x08100600"), "{out}");
}

#[test]
fn unplugged_probe_mid_block_read_is_a_clear_error() {
    let sb = Sandbox::new();
    let scenario = sb.dir.path().join("unplug.toml");
    std::fs::write(
        &scenario,
        "name = \"unplug\"\n[faults]\nunplug_after = 120\n",
    )
    .unwrap();
    let o = sb.run(&[
        "--sim",
        scenario.to_str().unwrap(),
        "-c",
        "read 0x24000000 4096",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("probe"), "{err}");
    assert!(err.contains("hint"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unknown_scenario_key_is_named() {
    let sb = Sandbox::new();
    let scenario = sb.dir.path().join("bad.toml");
    std::fs::write(&scenario, "[option_bytes]\nBCM5 = 1\n").unwrap();
    let o = sb.run(&["--sim", scenario.to_str().unwrap(), "-c", "info"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("BCM5"), "{}", stderr(&o));
}

#[test]
fn power_cycle_reconnects_and_reloads_option_bytes() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "write 0x24000000 0x12345678; sim power-cycle; read 0x24000000; ap 2; read DBGMCU_IDC.DEV_ID",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0x24000000: 0x00000000"), "RAM cleared: {out}");
    assert!(
        out.contains("DBGMCU.IDC.DEV_ID [11:0] @ 0xe00e1000 = 0x450"),
        "{out}"
    );
}

#[test]
fn a_locked_up_cm4_can_be_halted_and_locks_up_again_on_resume() {
    let (code, out, err) = sim(
        "cm4-bad-boot",
        "core cm4; status; halt; reg pc; resume; status",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cm4 (AP3): lockup"), "{out}");
    assert!(out.contains("cm4 halt: halted"), "{out}");
    assert!(out.contains("cm4 pc = 0xeffffffe"), "{out}");
    assert!(out.contains("cm4 resume: lockup"), "{out}");
}
