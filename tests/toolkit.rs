//! The STM32H7 toolkit as a user meets it: `doctor`, `ob`, `ob set`, `report`, `wait`,
//! `snap`/`diff` through `h7sh --sim SCENARIO -c ...`, text and JSON.

mod common;
use common::*;
use serde_json::Value;

/// Every built-in scenario and THE finding it must yield (None = healthy).
const EXPECTED: [(&str, Option<&str>); 7] = [
    ("nucleo-h755zi-q", None),
    ("bcm4-off", Some("cm4-not-booted")),
    ("cm4-stop-no-dbg", Some("d2-stop-debug-off")),
    ("cm4-bad-boot", Some("cm4-boot-address-erased")),
    // Silicon: at level 1 the debugger's connection locks the flash for the cores too.
    ("rdp1", Some("rdp1-debug-lock")),
    ("cm4-d2-standby", Some("d2-standby")),
    ("iwdg-reset-loop", Some("iwdg-hardware")),
];

const ALL_IDS: [&str; 15] = [
    "cm4-not-booted",
    "cm7-not-booted",
    "d2-stop-debug-off",
    "d2-standby",
    "iwdg-hardware",
    "cm4-lockup",
    "cm7-lockup",
    "cm4-boot-address-erased",
    "cm7-boot-address-erased",
    "rdp-level1",
    "rdp1-debug-lock",
    "supply-config",
    "ap3-unreachable-unknown",
    "cm4-boot-pending-reset",
    "healthy",
];

fn sim_args(args: &[&str]) -> (i32, String, String) {
    let sb = Sandbox::new();
    let o = sb.run(args);
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn last_error(err: &str) -> Value {
    serde_json::from_str(err.lines().last().expect("an error line")).expect("JSON error")
}

#[test]
fn doctor_text_names_exactly_the_expected_finding_of_each_scenario() {
    for (scenario, expected) in EXPECTED {
        let (code, out, err) = sim(scenario, "doctor");
        assert_eq!(code, 0, "{scenario}: {err}");
        let headlines: Vec<&str> = out
            .lines()
            .filter(|l| {
                l.starts_with("error ") || l.starts_with("warning ") || l.starts_with("info ")
            })
            .collect();
        match expected {
            None => {
                assert!(out.starts_with("healthy"), "{scenario}: {out}");
                assert!(headlines.is_empty(), "{scenario}: {out}");
            }
            Some(id) => {
                assert_eq!(headlines.len(), 1, "{scenario}: {out}");
                assert!(headlines[0].contains(id), "{scenario}: {out}");
                assert!(out.contains("evidence: "), "{scenario}: {out}");
                assert!(out.contains("fix: "), "{scenario}: {out}");
                for other in ALL_IDS.iter().filter(|o| *o != &id) {
                    assert!(!out.contains(&format!(" {other}:")), "{scenario}: {out}");
                }
            }
        }
    }
}

#[test]
fn doctor_json_has_id_severity_evidence_fix() {
    for (scenario, expected) in EXPECTED {
        let (code, objs, err) = sim_json(scenario, "doctor");
        assert_eq!(code, 0, "{scenario}: {err}");
        assert_eq!(objs.len(), 1);
        let d = &objs[0];
        assert_eq!(d["type"], "doctor");
        let findings = d["findings"].as_array().expect("findings");
        match expected {
            None => {
                assert!(findings.is_empty(), "{scenario}: {d}");
                assert_eq!(d["healthy"], true);
            }
            Some(id) => {
                assert_eq!(findings.len(), 1, "{scenario}: {d}");
                let f = &findings[0];
                assert_eq!(f["id"], id);
                assert!(matches!(f["severity"].as_str(), Some("error" | "warning")));
                let ev = f["evidence"].as_object().expect("evidence object");
                assert!(!ev.is_empty());
                assert!(ev.values().all(Value::is_u64), "{ev:?}");
                let fix = f["fix"].as_array().expect("fix array");
                assert!(!fix.is_empty() && fix.iter().all(Value::is_string));
                assert_eq!(d["healthy"], false);
            }
        }
    }
}

#[test]
fn doctor_evidence_holds_the_registers_that_prove_it() {
    let (_, objs, _) = sim_json("bcm4-off", "doctor");
    let ev = &objs[0]["findings"][0]["evidence"];
    assert_eq!(
        ev["FLASH_OPTSR_CUR"].as_u64().unwrap() & 1 << 22,
        0,
        "BCM4 = 0"
    );
    assert_eq!(ev["RCC_GCR"].as_u64().unwrap() & 1 << 3, 0, "BOOT_C2 = 0");
    let (_, objs, _) = sim_json("cm4-stop-no-dbg", "doctor");
    let ev = &objs[0]["findings"][0]["evidence"];
    assert_eq!(ev["RCC_CR"].as_u64().unwrap() & 1 << 15, 0, "D2CKRDY = 0");
    assert_eq!(ev["DBGMCU_CR"].as_u64().unwrap() & 0x30, 0);
    let (_, objs, _) = sim_json("cm4-bad-boot", "doctor");
    let ev = &objs[0]["findings"][0]["evidence"];
    assert_eq!(ev["FLASH_BOOT4_CUR"].as_u64().unwrap() & 0xFFFF, 0x0818);
    assert_eq!(ev["[0x08180000] initial SP"], 0xFFFF_FFFF_u64);
    assert_ne!(
        ev["CM4_DHCSR"].as_u64().unwrap() & 1 << 19,
        0,
        "the lockup is part of the evidence"
    );
}

/// The fix commands a finding gives do fix it: run them, then doctor is healthy.
#[test]
fn doctor_fix_commands_fix_the_board() {
    for scenario in [
        "bcm4-off",
        "cm4-stop-no-dbg",
        "cm4-bad-boot",
        "cm4-d2-standby",
        "iwdg-reset-loop",
    ] {
        let (_, objs, _) = sim_json(scenario, "doctor");
        let fix: Vec<String> = objs[0]["findings"][0]["fix"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let cmds = format!("{}; doctor", fix.join("; "));
        let (code, out, err) = sim_args(&["--sim", scenario, "--yes", "--json", "-c", &cmds]);
        assert_eq!(code, 0, "{scenario}: {cmds}: {err}");
        let last = json_lines(&out).pop().unwrap();
        assert_eq!(last["healthy"], true, "{scenario} after `{cmds}`: {last}");
    }
    // RDP 1 -> 0 mass-erases: the protection is gone (the erased flash is then reported).
    let (code, out, err) = sim_args(&[
        "--sim",
        "rdp1",
        "--yes",
        "--json",
        "-c",
        "ob set RDP=Level0; doctor",
    ]);
    assert_eq!(code, 0, "{err}");
    let last = json_lines(&out).pop().unwrap();
    let ids: Vec<&str> = last["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"rdp-level1"), "{ids:?}");
    assert!(ids.contains(&"cm7-boot-address-erased"), "{ids:?}");
}

/// A supply mismatch that leaves the debug port up (`supply_mismatch = "stuck"`: by default the
/// chip locks up and the debug port is lost, `fidelity.rs`): doctor names it first.
#[test]
fn doctor_finds_a_supply_mismatch_first() {
    let sb = Sandbox::new();
    let path = sb.dir.path().join("ldo.toml");
    std::fs::write(
        &path,
        "name = \"ldo-smps\"\ndescription = \"LDO board, SMPS firmware\"\n[board]\nsupply = \"ldo\"\n\
         [cores.cm7]\nfirmware = \"st-template-cm7\"\nsupply_config = \"smps\"\n\
         [cores.cm4]\nfirmware = \"st-template-cm4\"\n[silicon]\nsupply_mismatch = \"stuck\"\n",
    )
    .unwrap();
    let o = sb.run(&["--sim", path.to_str().unwrap(), "--json", "-c", "doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = json_lines(&stdout(&o)).pop().unwrap();
    let f = &d["findings"][0];
    assert_eq!(f["id"], "supply-config", "{d}");
    assert_eq!(f["evidence"]["PWR_CSR1"].as_u64().unwrap() & 1 << 13, 0);
    assert_eq!(
        f["evidence"]["PWR_CR3"].as_u64().unwrap() & 0x7,
        0x4,
        "SDEN only"
    );
}

// ---- ob ------------------------------------------------------------------------------------

#[test]
fn ob_shows_every_field_current_and_pending() {
    let (code, out, err) = sim("bcm4-off", "ob");
    assert_eq!(code, 0, "{err}");
    for name in [
        "RDP",
        "BCM4",
        "BCM7",
        "BCM4_ADD0",
        "BCM7_ADD0",
        "BCM4_ADD1",
        "NRST_STOP_D2",
        "BOR_LEV",
        "IWDG1_SW",
        "SWAP_BANK_OPT",
        "PROT_AREA_START1",
        "SEC_AREA_END2",
        "WRPSN1",
        "WRPSN2",
    ] {
        assert!(out.contains(name), "{name}: {out}");
    }
    let bcm4 = out.lines().find(|l| l.contains(" BCM4 ")).unwrap();
    assert!(bcm4.contains("0 (Disabled)"), "{bcm4}");
    assert!(bcm4.contains("at next reset"), "{bcm4}");
    assert!(out.contains("0xaa (Level0)"), "{out}");
    assert!(out.contains("0x810 (0x08100000)"), "{out}");
    assert!(out.contains("(locked)"), "{out}");
}

#[test]
fn ob_json_fields_and_registers() {
    let (code, objs, err) = sim_json("cm4-bad-boot", "ob");
    assert_eq!(code, 0, "{err}");
    let o = &objs[0];
    assert_eq!(o["type"], "ob");
    assert_eq!(o["locked"], true);
    let fields = o["fields"].as_array().unwrap();
    let f = fields.iter().find(|f| f["name"] == "BCM4_ADD0").unwrap();
    assert_eq!(f["cur"], 0x0818);
    assert_eq!(f["prg"], 0x0818);
    assert_eq!(f["pending"], false);
    assert_eq!(f["effect"], "next-reset");
    let regs = o["registers"].as_array().unwrap();
    assert_eq!(regs.len(), 9);
    assert_eq!(regs[0]["cur_name"], "FLASH_OPTSR_CUR");
    assert_eq!(regs[0]["cur_address"], 0x5200_201C_u64);
}

#[test]
fn ob_pending_shows_prg_written_but_not_programmed() {
    let cmds = "write 0x52002008 0x08192A3B; write 0x52002008 0x4C5D6E7F; \
                write 0x52002020 0x0386aaf0; ob";
    let (code, objs, err) = sim_json("nucleo-h755zi-q", cmds);
    assert_eq!(code, 0, "{err}");
    let o = objs.last().unwrap();
    assert_eq!(o["pending"], true);
    assert_eq!(o["locked"], false);
    let f = o["fields"].as_array().unwrap();
    let bcm4 = f.iter().find(|f| f["name"] == "BCM4").unwrap();
    assert_eq!(
        (bcm4["cur"].as_u64(), bcm4["prg"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(bcm4["pending"], true);
}

#[test]
fn ob_works_without_any_svd_names() {
    // An SVD that knows nothing of FLASH: `ob` drives the hardware by address.
    let sb = Sandbox::new();
    let svd = sb.dir.path().join("empty.svd");
    std::fs::write(
        &svd,
        r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1"><name>EMPTY</name><version>1</version><description>none</description>
<addressUnitBits>8</addressUnitBits><width>32</width><size>32</size><access>read-write</access>
<resetValue>0</resetValue><resetMask>0xFFFFFFFF</resetMask>
<peripherals><peripheral><name>DUMMY</name><baseAddress>0x40000000</baseAddress>
<addressBlock><offset>0</offset><size>0x400</size><usage>registers</usage></addressBlock>
<registers><register><name>R0</name><addressOffset>0</addressOffset></register></registers>
</peripheral></peripherals></device>"#,
    )
    .unwrap();
    let o = sb.run(&[
        "--sim",
        "bcm4-off",
        "--svd",
        svd.to_str().unwrap(),
        "--svd-cm4",
        svd.to_str().unwrap(),
        "--no-svd-cache",
        "--yes",
        "--json",
        "-c",
        "ob; ob set BCM4=1; doctor; reset; doctor",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let objs = json_lines(&stdout(&o));
    let bcm4 = |o: &Value| {
        o["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "BCM4")
            .unwrap()["cur"]
            .as_u64()
    };
    assert_eq!(bcm4(&objs[0]), Some(0));
    assert_eq!(objs[1]["programmed"], true);
    assert_eq!(
        objs[2]["findings"][0]["id"], "cm4-boot-pending-reset",
        "programmed, not reset yet"
    );
    assert_eq!(objs[4]["healthy"], true, "after the reset");
}

// ---- ob set --------------------------------------------------------------------------------

#[test]
fn ob_set_success_programs_verifies_relocks() {
    let (code, out, err) = sim_args(&[
        "--sim",
        "nucleo-h755zi-q",
        "--yes",
        "--json",
        "-c",
        "ob set BCM4=0 NRST_STOP_D2=Reset BCM4_ADD0=0x08000000; ob",
    ]);
    assert_eq!(code, 0, "{err}");
    let objs = json_lines(&out);
    let s = &objs[0];
    assert_eq!(s["type"], "ob-set");
    assert_eq!(s["programmed"], true);
    assert_eq!(s["relocked"], true);
    assert_eq!(s["reset_needed"], true);
    let changes = s["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[0]["name"], "BCM4");
    assert_eq!(
        (changes[0]["before"].as_u64(), changes[0]["after"].as_u64()),
        (Some(1), Some(0))
    );
    let steps: Vec<&str> = s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    let pos = |p: &str| {
        steps
            .iter()
            .position(|s| s.contains(p))
            .unwrap_or_else(|| panic!("{p}: {steps:?}"))
    };
    assert!(pos("key 1") < pos("key 2"));
    assert!(pos("key 2") < pos("FLASH_OPTSR_PRG"));
    assert!(pos("FLASH_BOOT4_PRG") < pos("OPTSTART"));
    assert!(pos("OPTSTART") < pos("OPT_BUSY cleared"));
    assert!(pos("OPT_BUSY cleared") < pos("relock"));
    assert!(pos("relock") < pos("verified"));
    let ob = &objs[1];
    assert_eq!(ob["locked"], true);
    assert_eq!(ob["pending"], false);
    let f = |n: &str| {
        ob["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()["cur"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(f("BCM4"), 0);
    assert_eq!(f("NRST_STOP_D2"), 0);
    assert_eq!(f("BCM4_ADD0"), 0x0800);
    assert_eq!(f("BCM7"), 1, "untouched");
}

#[test]
fn ob_set_text_shows_before_after_and_reset_needed() {
    let (code, out, err) = sim_args(&["--sim", "bcm4-off", "--yes", "-c", "ob set BCM4=Enabled"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("BCM4"), "{out}");
    assert!(out.contains("0 (Disabled) -> 1 (Enabled)"), "{out}");
    assert!(out.contains("relocked"), "{out}");
    assert!(out.contains("reset needed"), "{out}");
}

#[test]
fn ob_set_without_yes_is_refused_in_command_mode() {
    let (code, objs, err) = sim_json("bcm4-off", "ob set BCM4=1");
    assert_eq!(code, 1);
    assert!(objs.is_empty());
    let e = last_error(&err);
    assert_eq!(e["kind"], "refused");
    assert!(e["hint"].as_str().unwrap().contains("--yes"), "{e}");
}

#[test]
fn ob_set_dry_run_shows_the_sequence_and_writes_nothing() {
    let (code, out, err) = sim_args(&[
        "--sim",
        "bcm4-off",
        "--dry-run",
        "--json",
        "-c",
        "ob set BCM4=1; ob",
    ]);
    assert_eq!(code, 0, "{err}");
    let objs = json_lines(&out);
    assert_eq!(objs[0]["dry_run"], true);
    assert_eq!(objs[0]["programmed"], false);
    let steps = objs[0]["steps"].as_array().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["action"].as_str().unwrap().contains("OPTSTART")));
    assert!(steps
        .iter()
        .any(|s| s["action"].as_str().unwrap().contains("relock")));
    let bcm4 = objs[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "BCM4")
        .unwrap()
        .clone();
    assert_eq!(
        (bcm4["cur"].as_u64(), bcm4["prg"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(objs[1]["locked"], true);
}

#[test]
fn ob_set_refusals_name_their_flag() {
    for (scenario, set, flag) in [
        (
            "nucleo-h755zi-q",
            "ob set RDP=0xCC",
            "--i-understand-rdp2-is-permanent",
        ),
        (
            "nucleo-h755zi-q",
            "ob set RDP=Level2",
            "--i-understand-rdp2-is-permanent",
        ),
        (
            "nucleo-h755zi-q",
            "ob set BCM4=0 BCM7=0",
            "--allow-dangerous-option-bytes",
        ),
        (
            "bcm4-off",
            "ob set BCM7=0",
            "--allow-dangerous-option-bytes",
        ),
        (
            "nucleo-h755zi-q",
            "ob set BCM4_ADD0=0x4000",
            "--allow-dangerous-option-bytes",
        ),
        (
            "nucleo-h755zi-q",
            "ob set BCM7_ADD0=0x60000000",
            "--allow-dangerous-option-bytes",
        ),
    ] {
        let (code, _, err) = sim_args(&["--sim", scenario, "--yes", "--json", "-c", set]);
        assert_eq!(code, 1, "{scenario}: {set}");
        let e = last_error(&err);
        assert_eq!(e["kind"], "refused", "{e}");
        assert!(e["hint"].as_str().unwrap().contains(flag), "{set}: {e}");
        assert!(
            e["hint"].as_str().unwrap().contains("nothing was written"),
            "{e}"
        );
    }
    // The general flag does not allow RDP level 2.
    let (code, _, err) = sim_args(&[
        "--sim",
        "nucleo-h755zi-q",
        "--yes",
        "--allow-dangerous-option-bytes",
        "-c",
        "ob set RDP=0xCC",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--i-understand-rdp2-is-permanent"), "{err}");
    // With its flag a dangerous change goes through.
    let (code, out, err) = sim_args(&[
        "--sim",
        "nucleo-h755zi-q",
        "--yes",
        "--allow-dangerous-option-bytes",
        "--json",
        "-c",
        "ob set BCM4_ADD0=0x4000",
    ]);
    assert_eq!(code, 0, "{err}");
    let o = json_lines(&out).pop().unwrap();
    assert_eq!(o["programmed"], true);
    assert_eq!(o["forced"][0]["kind"], "boot-address-outside");
}

#[test]
fn ob_set_bad_input_is_a_bad_value() {
    for set in [
        "ob set BCM4=2",
        "ob set NOPE=1",
        "ob set BCM4=1 BCM4=0",
        "ob set RDP=Level9",
        "ob set BCM4_ADD0=0x08101000",
        "ob set OPT_BUSY=1",
    ] {
        let (code, _, err) = sim_args(&["--sim", "nucleo-h755zi-q", "--yes", "--json", "-c", set]);
        assert_eq!(code, 1, "{set}");
        assert_eq!(last_error(&err)["kind"], "bad-value", "{set}: {err}");
    }
}

#[test]
fn ob_set_wrong_key_fails_and_says_so() {
    let (code, _, err) = sim_args(&[
        "--sim",
        "bcm4-off",
        "--yes",
        "-c",
        "write 0x52002008 0x12345678; ob set BCM4=1",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("wrong key"), "{err}");
    assert!(err.contains("relocked"), "{err}");
    assert!(err.contains("reset"), "hint: {err}");
}

// ---- report --------------------------------------------------------------------------------

#[test]
fn report_is_paste_ready_markdown_with_everything() {
    let (code, out, err) = sim("bcm4-off", "report");
    assert_eq!(code, 0, "{err}");
    for needle in [
        "## h7sh report",
        concat!("h7sh ", env!("CARGO_PKG_VERSION")),
        "scenario `bcm4-off`",
        "DPIDR | 0x6ba02477",
        "DEV_ID 0x450",
        "rev V",
        "Cortex-M7 r1p1",
        "### Option bytes",
        "| FLASH_OPTSR_CUR | 0x0386aaf0 |",
        "| BCM4 | 0 (Disabled) |",
        "DBGMCU_CR (AP2)",
        "DBGSTOP_D2=0",
        "RCC_GCR",
        "BOOT_C2=0",
        "PWR_CR3",
        "ACTVOSRDY=1",
        "### AP scan",
        "| AP2 | 0x54770002 | MEM-AP APB",
        "### doctor",
        "`cm4-not-booted`",
    ] {
        assert!(out.contains(needle), "missing `{needle}`:\n{out}");
    }
}

#[test]
fn report_file_is_written() {
    let sb = Sandbox::new();
    let path = sb.dir.path().join("report.md");
    let o = sb.run(&[
        "--sim",
        "cm4-bad-boot",
        "-c",
        &format!("report {}", path.display()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("report written to"), "{}", stdout(&o));
    let md = std::fs::read_to_string(&path).unwrap();
    assert!(md.contains("cm4-boot-address-erased"), "{md}");
    assert!(md.contains("healthy") || md.contains("### doctor"));
}

// ---- wait ----------------------------------------------------------------------------------

#[test]
fn wait_sees_opt_busy_clear_on_virtual_time() {
    let cmds = "write 0x52002008 0x08192A3B; write 0x52002008 0x4C5D6E7F; \
                write 0x52002018 0x2; read FLASH_OPTSR_CUR.OPT_BUSY; \
                wait FLASH_OPTSR_CUR.OPT_BUSY == 0 timeout 50";
    let (code, objs, err) = sim_json("nucleo-h755zi-q", cmds);
    assert_eq!(code, 0, "{err}");
    assert_eq!(objs[3]["value"], 1, "busy right after OPTSTART");
    let w = objs.last().unwrap();
    assert_eq!(w["type"], "waited");
    assert_eq!(w["value"], 0);
    let ms = w["elapsed_ms"].as_f64().unwrap();
    assert!(ms > 1.0 && ms < 50.0, "{ms}");
}

#[test]
fn wait_times_out_with_the_last_value() {
    let (code, _, err) = sim_json("cm4-stop-no-dbg", "wait RCC_CR.D2CKRDY == 1 timeout 20");
    assert_eq!(code, 1);
    let e = last_error(&err);
    assert_eq!(e["kind"], "timeout");
    assert!(e["error"].as_str().unwrap().contains("20 ms"), "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("last value 0x0"),
        "{e}"
    );
}

// ---- snap / diff ---------------------------------------------------------------------------

#[test]
fn snap_diff_across_a_reset_field_by_field() {
    let (code, objs, err) = sim_json("nucleo-h755zi-q", "snap s; reset; diff s");
    assert_eq!(code, 0, "{err}");
    let snap = &objs[0];
    assert_eq!(snap["type"], "snap");
    let periphs: Vec<&str> = snap["peripherals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for p in ["FLASH", "RCC", "PWR", "DBGMCU", "SYSCFG"] {
        assert!(
            periphs.iter().any(|q| q.eq_ignore_ascii_case(p)),
            "{periphs:?}"
        );
    }
    assert!(snap["registers"].as_u64().unwrap() > 50);
    let diff = &objs[2];
    assert_eq!(diff["type"], "diff");
    let changed = diff["changed"].as_array().unwrap();
    let rsr = changed
        .iter()
        .find(|r| r["name"] == "RCC.RSR")
        .unwrap_or_else(|| panic!("{diff}"));
    let f = rsr["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "RCC.RSR.SFT1RSTF")
        .unwrap();
    assert_eq!(
        (f["before"].as_u64(), f["after"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn snap_diff_between_a_bad_and_a_good_boot() {
    let (code, out, err) = sim(
        "bcm4-off",
        "snap bad RCC FLASH; write RCC_GCR.BOOT_C2 1; diff bad RCC; diff bad FLASH",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("RCC.GCR"), "{out}");
    let changed = |field: &str, change: &str| {
        out.lines()
            .any(|l| l.contains(field) && l.trim_end().ends_with(change))
    };
    // What else changed depends on how far the two cores' templates got meanwhile (the CM4 to
    // its WFE, the CM7 on to its clock set-up): only the write itself is certain.
    assert!(changed("BOOT_C2", "0 (NoForce) -> 1 (Force)"), "{out}");
    assert!(out.contains("diff `bad` (FLASH): 0 of"), "{out}");
}

#[test]
fn snap_skips_side_effect_registers_unless_forced() {
    let (code, objs, err) = sim_json("nucleo-h755zi-q", "snap h HSEM");
    assert_eq!(code, 0, "{err}");
    let skipped = objs[0]["skipped"].as_array().unwrap();
    if skipped.is_empty() {
        // The built-in register set may not mark RLR reads; ST's SVD (patched) does.
        return;
    }
    assert!(skipped
        .iter()
        .any(|s| s["reason"].as_str().unwrap().contains("side effect")));
    let sb = Sandbox::new();
    let o = sb.run(&[
        "--sim",
        "nucleo-h755zi-q",
        "--force",
        "--json",
        "-c",
        "snap h HSEM",
    ]);
    let objs = json_lines(&stdout(&o));
    assert!(!objs[0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["reason"].as_str().unwrap().contains("side effect")));
}

#[test]
fn diff_errors_are_helpful() {
    let (code, _, err) = sim_json("nucleo-h755zi-q", "diff nope");
    assert_eq!(code, 1);
    assert!(last_error(&err)["hint"]
        .as_str()
        .unwrap()
        .contains("snap nope"));
    let (code, _, err) = sim_json("nucleo-h755zi-q", "snap a RCC; diff a PWR");
    assert_eq!(code, 1);
    assert!(last_error(&err)["hint"].as_str().unwrap().contains("RCC"));
    let (code, _, _) = sim_json("nucleo-h755zi-q", "snap a NOSUCHPERIPH");
    assert_eq!(code, 1);
}
