//! The shell as a user meets it: `h7sh --sim ... -c ...`, text and JSON, good and bad input.

mod common;
use common::*;

#[test]
fn reads_bcm4_by_reference_manual_name() {
    let (code, out, err) = sim("nucleo-h755zi-q", "read FLASH_OPTSR_CUR.BCM4");
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.contains("FLASH.OPTSR_CUR.BCM4"), "{out}");
    assert!(out.contains("[22]"), "{out}");
    assert!(out.contains("= 1"), "{out}");
}

#[test]
fn json_field_and_register_reads() {
    let (code, objs, err) = sim_json("nucleo-h755zi-q", "read FLASH_OPTSR_CUR.BCM4; read RCC.GCR");
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["name"], "FLASH.OPTSR_CUR.BCM4");
    assert_eq!(objs[0]["address"], 0x5200_201C_u64);
    assert_eq!(objs[0]["value"], 1);
    assert_eq!(objs[1]["name"], "RCC.GCR");
    let fields = objs[1]["fields"].as_array().expect("fields");
    assert!(
        fields.iter().any(|f| f["name"] == "RCC.GCR.BOOT_C2"),
        "{fields:?}"
    );
}

#[test]
fn bcm4_off_ap0_works_ap3_fails_with_the_cause() {
    let (code, out, err) = sim("bcm4-off", "read FLASH_OPTSR_CUR.BCM4");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("= 0"), "{out}");
    let (code, _, err) = sim("bcm4-off", "core cm4; read 0xE000ED00");
    assert_eq!(code, 1);
    assert!(err.contains("AP3"), "{err}");
    assert!(err.contains("BCM4 option byte is 0"), "{err}");
    assert!(
        err.contains("BOOT_C2"),
        "hint must say how to fix it: {err}"
    );
}

#[test]
fn bcm4_off_json_error_has_kind_and_hint() {
    let (code, _, err) = sim_json("bcm4-off", "ap 3; read 0xE000ED00");
    assert_eq!(code, 1);
    let e: serde_json::Value =
        serde_json::from_str(err.lines().last().unwrap()).expect("JSON error");
    assert_eq!(e["kind"], "ap3-unreachable");
    assert!(e["hint"].as_str().unwrap().contains("BOOT_C2"));
}

#[test]
fn releasing_cm4_with_boot_c2_makes_ap3_answer() {
    let (code, out, err) = sim("bcm4-off", "write RCC_GCR.BOOT_C2 1; ap 3; read 0xE000ED00");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0x410fc241"), "{out}");
}

#[test]
fn field_write_is_read_modify_write() {
    let (code, objs, err) = sim_json(
        "bcm4-off",
        "read RCC.GCR; write RCC.GCR.BOOT_C2 1; read RCC.GCR",
    );
    assert_eq!(code, 0, "{err}");
    let before = objs[0]["value"].as_u64().unwrap();
    let w = &objs[1]["writes"][0];
    assert_eq!(w["old"].as_u64().unwrap(), before);
    assert_eq!(w["new"].as_u64().unwrap(), before | 1 << 3);
    assert_eq!(objs[2]["value"].as_u64().unwrap() & 1 << 3, 1 << 3);
}

#[test]
fn enumerated_value_names_are_accepted() {
    let (code, objs, err) = sim_json(
        "nucleo-h755zi-q",
        "write DBGMCU_CR.DBGSTOP_D2 Enabled; read DBGMCU_CR.DBGSTOP_D2",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(objs[1]["value"], 1);
}

#[test]
fn dry_run_writes_nothing() {
    let sb = Sandbox::new();
    let o = sb.run(&[
        "--sim",
        "--dry-run",
        "--json",
        "-c",
        "write RCC_GCR.BOOT_C2 1; read RCC_GCR.BOOT_C2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["dry_run"], true);
    assert_eq!(lines[1]["value"], 0, "dry run must not write");
}

#[test]
fn read_only_and_too_wide_writes_are_refused() {
    let (code, _, err) = sim("nucleo-h755zi-q", "write FLASH_OPTSR_CUR.BCM4 0");
    assert_eq!(code, 1);
    assert!(err.contains("read-only"), "{err}");
    let (code, _, err) = sim("nucleo-h755zi-q", "write RCC_GCR.BOOT_C2 2");
    assert_eq!(code, 1);
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn unknown_name_suggests() {
    let (code, _, err) = sim("nucleo-h755zi-q", "read FLASH_OPTSR_CUR.BCM5");
    assert_eq!(code, 1);
    assert!(err.contains("unknown name"), "{err}");
    assert!(
        err.contains("BCM4") || err.contains("did you mean"),
        "{err}"
    );
}

#[test]
fn bad_number_is_a_parse_error() {
    let (code, _, err) = sim("nucleo-h755zi-q", "read 0xZZ");
    assert_eq!(code, 1);
    assert!(err.contains("hint"), "{err}");
}

#[test]
fn command_list_stops_at_first_error() {
    let (code, out, _) = sim(
        "nucleo-h755zi-q",
        "read RCC_CR; read NOPE_REG; read RCC_GCR",
    );
    assert_eq!(code, 1);
    assert!(out.contains("RCC.CR"));
    assert!(
        !out.contains("RCC.GCR"),
        "must stop at the first error: {out}"
    );
}

#[test]
fn show_decodes_every_register() {
    let (code, out, err) = sim("nucleo-h755zi-q", "show PWR");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("PWR.CR3"), "{out}");
    assert!(out.contains("PWR.CPU2CR"), "{out}");
}

#[test]
fn cm7_halt_step_resume_and_registers() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "halt; reg r0 0x1234; reg r0; step; regs; resume; status",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cm7 halt: halted"), "{out}");
    assert!(out.contains("r0 = 0x00001234"), "{out}");
    assert!(out.contains("cm7 resume"), "{out}");
    assert!(out.contains("cm4 (AP3)"), "{out}");
}

#[test]
fn system_reset_with_halt_stops_both_cores() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "core cm4; status; reset system halt; status",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("halted at reset vector: cm7, cm4"), "{out}");
}

#[test]
fn ap2_reaches_dbgmcu_and_fixes_d2_stop() {
    let (code, _, err) = sim("cm4-stop-no-dbg", "ap 3; read 0xE000ED00");
    assert_eq!(code, 1);
    assert!(err.contains("D2"), "{err}");
    let (code, out, err) = sim(
        "cm4-stop-no-dbg",
        "ap 2; write DBGMCU_CR.DBGSTOP_D2 1; ap 3; read 0xE000ED00",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0xe00e1004"),
        "AP2 write goes to the APB-D address: {out}"
    );
    assert!(out.contains("0x410fc241"), "{out}");
}

#[test]
fn info_scans_the_aps() {
    let (code, out, err) = sim("nucleo-h755zi-q", "info");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("DPIDR:      0x6ba02477"), "{out}");
    assert!(out.contains("DEV_ID 0x450"), "{out}");
    assert!(out.contains("AP3"), "{out}");
    assert!(out.contains("SCS"), "{out}");
}

#[test]
fn sim_stats_counts_transactions() {
    let (code, objs, err) = sim_json("nucleo-h755zi-q", "sim stats reset; read RCC_CR; sim stats");
    assert_eq!(code, 0, "{err}");
    let text = objs[2]["text"].as_str().unwrap();
    assert!(!text.is_empty());
}

#[test]
fn no_probe_suggests_the_virtual_board() {
    let sb = Sandbox::new();
    let o = sb.run(&["-c", "info"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--sim"), "{}", stderr(&o));
}

#[test]
fn list_scenarios_names_the_built_ins() {
    let sb = Sandbox::new();
    let o = sb.run(&["--list-scenarios"]);
    let out = stdout(&o);
    for name in [
        "nucleo-h755zi-q",
        "bcm4-off",
        "cm4-stop-no-dbg",
        "cm4-bad-boot",
        "rdp1",
    ] {
        assert!(out.contains(name), "{out}");
    }
}

#[test]
fn unknown_scenario_is_a_clear_error() {
    let (code, _, err) = sim("no-such-board", "info");
    assert_eq!(code, 1);
    assert!(err.contains("no-such-board"), "{err}");
}

#[test]
fn field_write_never_writes_one_into_other_write_one_to_clear_fields() {
    // After a halt DFSR.HALTED = 1; writing DFSR.BKPT must not clear HALTED by writing it back.
    let (code, objs, err) = sim_json(
        "nucleo-h755zi-q",
        "halt; read SCB.DFSR.HALTED; write SCB.DFSR.BKPT 1",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(objs[1]["value"], 1);
    let w = &objs[2]["writes"][0];
    assert_eq!(w["old"].as_u64().unwrap() & 1, 1);
    assert_eq!(
        w["new"].as_u64().unwrap(),
        0b10,
        "only BKPT written as 1: {w}"
    );
}

#[test]
fn reads_with_side_effects_need_force() {
    let (code, _, err) = sim("nucleo-h755zi-q", "read HSEM_RLR0");
    assert_eq!(code, 1);
    assert!(err.contains("side effect"), "{err}");
    assert!(err.contains("--force"), "{err}");
    let sb = Sandbox::new();
    let o = sb.run(&[
        "--sim",
        "--force",
        "--json",
        "-c",
        "read HSEM_RLR0; read HSEM_R0.LOCK",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[1]["value"], 1,
        "the forced read really locked semaphore 0"
    );
}

#[test]
fn every_command_answers_in_text_and_json() {
    let cmds = "ap; ap 2; ap 0; core; core cm7; read RCC_CR; read RCC_CR.HSION; read 0x58024400 2; \
         read 0x58024400/h; read 0x58024400/b 3; write 0x30000000 0x1234; write 0x30000000/b 0x56; \
         write RCC_GCR WW1RSC=1 WW2RSC=1; show PWR CR3 CSR1; find D2CKRDY; info; status; halt; step; \
         regs; reg pc; reg r1 7; resume; reset core; reset system; reset system halt; resume; \
         wait RCC_CR.HSIRDY == 1 timeout 10; sim stats; sim wait 1; help; help read";
    let (code, out, err) = sim("nucleo-h755zi-q", cmds);
    assert_eq!(code, 0, "{err}\n{out}");
    let (code, objs, err) = sim_json("nucleo-h755zi-q", cmds);
    assert_eq!(code, 0, "{err}");
    let n = h7sh::lang::parse(cmds).unwrap().len();
    assert_eq!(objs.len(), n, "one JSON object per command");
    for o in &objs {
        assert!(o["type"].is_string(), "{o}");
    }
}

#[test]
fn connecting_changes_nothing_and_halts_nothing() {
    let (code, out, err) = sim("cm4-stop-no-dbg", "ap 2; read DBGMCU_CR; core cm7; status");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("DBGMCU.CR @ 0xe00e1004 = 0x00000000"),
        "DBGMCU_CR left as found: {out}"
    );
    assert!(out.contains("cm7 (AP0): running"), "{out}");
    assert!(!err.contains("connect changed"), "{err}");
}

#[test]
fn debug_low_power_option_sets_dbgmcu_and_says_so() {
    let sb = Sandbox::new();
    let o = sb.run(&[
        "--sim",
        "cm4-stop-no-dbg",
        "--debug-low-power",
        "-c",
        "ap 3; read 0xE000ED00",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("DBGMCU_CR 0x00000000 -> 0x0070003f"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("0x410fc241"),
        "D2 debug clock on, AP3 answers"
    );
}

#[test]
fn list_probes_shows_the_virtual_board() {
    let sb = Sandbox::new();
    let o = sb.run(&["--list-probes"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("h7sh virtual board"), "{}", stdout(&o));
}
