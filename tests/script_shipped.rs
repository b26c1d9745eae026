//! The shipped scripts (`scripts/*.rhai`) on the virtual-board scenarios they are meant for,
//! checking the board's end state through the session afterwards, and their output through the
//! binary.

mod common;
mod script_util;
use h7sh::session::{Session, ShellError};
use script_util::*;
use serde_json::{json, Value};

fn shipped(s: &mut Session, name: &str, args: &[&str]) -> Result<Value, ShellError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    h7sh::script::run_file(s, &scripts_dir().join(name), &args)
}

/// (cm7 state, cm4 state) as `status()` gives them.
fn states(s: &mut Session) -> (String, String) {
    let v = h7sh::script::eval(s, "let st = status(); [st.cm7.state, st.cm4.state]").unwrap();
    (
        v[0].as_str().unwrap().to_string(),
        v[1].as_str().unwrap().to_string(),
    )
}

fn halted_both(s: &mut Session) {
    assert_eq!(states(s), ("halted".into(), "halted".into()));
}

const BRINGUP: &str = "dual-core-bringup.rhai";

#[test]
fn bringup_on_the_factory_board_reports_dbgmcu_and_fixes_it() {
    let mut s = session("nucleo-h755zi-q");
    let e = shipped(&mut s, BRINGUP, &[]).unwrap_err();
    assert_eq!(e.kind(), "script-failed");
    assert!(e.to_string().contains("1 problem(s) found"), "{e}");
    assert!(e.hint().contains("fix"), "{}", e.hint());
    assert_eq!(
        value(&mut s, "DBGMCU.CR") & 0x3F,
        0,
        "nothing fixed without `fix`"
    );
    halted_both(&mut s);

    let mut s = session("nucleo-h755zi-q");
    shipped(&mut s, BRINGUP, &["fix"]).unwrap();
    assert_eq!(value(&mut s, "DBGMCU.CR") & 0x3F, 0x3F);
    assert_eq!(value(&mut s, "FLASH.OPTSR_CUR.BCM4"), 1);
    halted_both(&mut s);
}

#[test]
fn bringup_on_bcm4_off_releases_the_cm4_and_fixes_bcm4_with_fix() {
    let mut s = session("bcm4-off");
    let e = shipped(&mut s, BRINGUP, &[]).unwrap_err();
    assert!(e.to_string().contains("2 problem(s) found"), "{e}");
    // Not fixed, but released for this session: BOOT_C2, and both cores halted.
    assert_eq!(value(&mut s, "FLASH.OPTSR_CUR.BCM4"), 0);
    assert_eq!(value(&mut s, "RCC.GCR.BOOT_C2"), 1);
    halted_both(&mut s);

    let mut s = session("bcm4-off");
    shipped(&mut s, BRINGUP, &["fix"]).unwrap();
    assert_eq!(value(&mut s, "FLASH.OPTSR_CUR.BCM4"), 1);
    assert_eq!(value(&mut s, "FLASH.OPTSR_PRG.BCM4"), 1);
    assert_eq!(
        value(&mut s, "FLASH.OPTCR.OPTLOCK"),
        1,
        "option bytes locked again"
    );
    assert_eq!(
        value(&mut s, "RCC.GCR.BOOT_C2"),
        0,
        "booted by BCM4 after the reset"
    );
    halted_both(&mut s);
}

#[test]
fn bringup_on_cm4_stop_no_dbg_sets_the_low_power_debug_bits() {
    let mut s = session("cm4-stop-no-dbg");
    let e = shipped(&mut s, BRINGUP, &[]).unwrap_err();
    assert!(e.to_string().contains("2 problem(s) found"), "{e}");
    assert_eq!(states(&mut s), ("halted".into(), "unreachable".into()));

    let mut s = session("cm4-stop-no-dbg");
    shipped(&mut s, BRINGUP, &["fix"]).unwrap();
    assert_eq!(value(&mut s, "DBGMCU.CR") & 0x3F, 0x3F);
    halted_both(&mut s);
}

#[test]
fn bringup_on_cm4_bad_boot_moves_the_boot_address_to_the_image() {
    let mut s = session("cm4-bad-boot");
    let e = shipped(&mut s, BRINGUP, &[]).unwrap_err();
    assert!(e.to_string().contains("2 problem(s) found"), "{e}");
    assert_eq!(value(&mut s, "FLASH.BOOT4_CUR.BCM4_ADD0"), 0x0818);
    // The halt took the CM4 out of lockup (ARMv7-M: Debug state exits Lockup).
    assert_eq!(states(&mut s).1, "halted");

    let mut s = session("cm4-bad-boot");
    shipped(&mut s, BRINGUP, &["fix"]).unwrap();
    assert_eq!(value(&mut s, "FLASH.BOOT4_CUR.BCM4_ADD0"), 0x0810);
    halted_both(&mut s);
}

#[test]
fn bringup_on_rdp1_never_touches_read_protection() {
    let mut s = session("rdp1");
    shipped(&mut s, BRINGUP, &["fix"]).unwrap();
    assert_eq!(value(&mut s, "FLASH.OPTSR_CUR.RDP"), 0xBB);
    assert_eq!(value(&mut s, "FLASH.OPTSR_PRG.RDP"), 0xBB);
    halted_both(&mut s);
}

#[test]
fn cm4_wake_hsem_wakes_the_sleeping_cm4() {
    let mut s = session("cm4-stop-no-dbg");
    assert_eq!(value(&mut s, "RCC.CR.D2CKRDY"), 0);
    shipped(&mut s, "cm4-wake-hsem.rhai", &[]).unwrap();
    assert_eq!(value(&mut s, "RCC.CR.D2CKRDY"), 1);
    assert_eq!(value(&mut s, "HSEM.R0"), 0, "semaphore released");
    assert_eq!(states(&mut s).1, "running");

    // Already awake: nothing to wake, still succeeds and leaves the semaphore free.
    let mut s = session("nucleo-h755zi-q");
    shipped(&mut s, "cm4-wake-hsem.rhai", &["0", "10"]).unwrap();
    assert_eq!(value(&mut s, "HSEM.R0"), 0);

    let e = shipped(&mut s, "cm4-wake-hsem.rhai", &["40"]).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    // A semaphore someone holds is not stolen.
    h7sh::script::eval(&mut s, r#"write_fields("HSEM.R3", #{LOCK: 1, COREID: 3})"#).unwrap();
    let e = shipped(&mut s, "cm4-wake-hsem.rhai", &["3"]).unwrap_err();
    assert!(e.to_string().contains("already taken"), "{e}");
}

#[test]
fn boot_state_reads_and_changes_nothing() {
    for scenario in [
        "nucleo-h755zi-q",
        "bcm4-off",
        "cm4-stop-no-dbg",
        "cm4-bad-boot",
        "rdp1",
    ] {
        let mut s = session(scenario);
        let before = h7sh::script::eval(
            &mut s,
            r#"[read("RCC.GCR"), read("DBGMCU.CR"), read("FLASH.OPTSR_CUR"), read("HSEM.R0")]"#,
        )
        .unwrap();
        shipped(&mut s, "boot-state.rhai", &[]).unwrap_or_else(|e| panic!("{scenario}: {e}"));
        let after = h7sh::script::eval(
            &mut s,
            r#"[read("RCC.GCR"), read("DBGMCU.CR"), read("FLASH.OPTSR_CUR"), read("HSEM.R0")]"#,
        )
        .unwrap();
        assert_eq!(before, after, "{scenario}");
    }
}

#[test]
fn boot_state_output_names_the_causes() {
    let sb = common::Sandbox::new();
    let script = scripts_dir().join("boot-state.rhai");
    let o = sb.run(&["--sim", "cm4-bad-boot", script.to_str().unwrap()]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert!(
        out.contains("BOOT_CM4_ADD0 = 0x08180000 (BOOT0 = 0): SP 0xffffffff, reset 0xffffffff  (erased flash!)"),
        "{out}"
    );
    assert!(out.contains("cm4: lockup"), "{out}");
    let o = sb.run(&["--sim", "bcm4-off", script.to_str().unwrap()]);
    let out = common::stdout(&o);
    assert!(out.contains("BCM4 = 0  (Cortex-M4 gated)"), "{out}");
    assert!(out.contains("cm4: unreachable"), "{out}");
}

#[test]
fn forum_thread_reproduces_and_solves_on_bcm4_off() {
    let mut s = session("bcm4-off");
    shipped(&mut s, "forum-bcm4-off.rhai", &[]).unwrap();
    assert_eq!(value(&mut s, "FLASH.OPTSR_CUR.BCM4"), 0);
    assert_eq!(value(&mut s, "RCC.GCR.BOOT_C2"), 1);
    assert_eq!(states(&mut s).1, "running");

    let mut s = session("bcm4-off");
    shipped(&mut s, "forum-bcm4-off.rhai", &["fix"]).unwrap();
    assert_eq!(value(&mut s, "FLASH.OPTSR_CUR.BCM4"), 1);
    assert_eq!(value(&mut s, "RCC.GCR.BOOT_C2"), 0);
    assert_eq!(states(&mut s).1, "running");

    let mut s = session("nucleo-h755zi-q");
    let e = shipped(&mut s, "forum-bcm4-off.rhai", &[]).unwrap_err();
    assert!(
        e.to_string().contains("not in the state of the thread"),
        "{e}"
    );
}

#[test]
fn forum_thread_output_shows_the_symptom_and_the_fix() {
    let sb = common::Sandbox::new();
    let script = scripts_dir().join("forum-bcm4-off.rhai");
    let o = sb.run(&["--sim", "bcm4-off", script.to_str().unwrap()]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let symptom = out
        .find("error: AP3 (Cortex-M4) is unreachable")
        .expect(&out);
    let cause = out
        .find("FLASH.OPTSR_CUR.BCM4 [22] @ 0x5200201c = 0")
        .expect(&out);
    let fixed = out.find("0xe000ed00: 0x410fc241").expect(&out);
    assert!(symptom < cause && cause < fixed, "{out}");
}

#[test]
fn every_shipped_script_has_a_header_with_what_it_does_and_its_arguments() {
    let mut n = 0;
    for entry in std::fs::read_dir(scripts_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(text.starts_with(&format!("// {name}: ")), "{name}");
        assert!(
            text.contains("// Arguments"),
            "{name} has no Arguments section"
        );
        assert!(text.contains("// Example: h7sh "), "{name} has no example");
        // It compiles.
        let e = rhai::Engine::new().compile(&text);
        assert!(e.is_ok(), "{name}: {e:?}");
    }
    assert!(n >= 4, "{n} scripts");
    let _ = json!(null);
}
