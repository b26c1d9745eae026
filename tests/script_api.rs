//! Every script API function against the virtual board, through the library (the script's
//! final value comes back as JSON; the board's state is checked through the session after).

mod script_util;
use script_util::*;
use serde_json::json;

#[test]
fn ap_and_core_select_like_the_shell() {
    let mut s = session("nucleo-h755zi-q");
    let v = ok(
        &mut s,
        r#"[ap(), ap(2), ap(), core(), core("cm4"), ap(), core(), ap(0), core()]"#,
    );
    assert_eq!(v, json!([0, 2, 2, "", "cm4", 3, "cm4", 0, "cm7"]));
    // The selection outlives the script, like a command typed at the prompt.
    ok(&mut s, r#"core("cm4")"#);
    assert_eq!(s.selected_ap().get(), 3);
    let e = run(&mut s, "ap(7)").unwrap_err();
    assert!(e.to_string().contains("t.rhai:1:1:"), "{e}");
}

#[test]
fn read_names_fields_and_addresses() {
    let mut s = session("nucleo-h755zi-q");
    let v = ok(
        &mut s,
        r#"[read("RCC.CR.D2CKRDY"), read("RCC_GCR"), read(0xE000ED00), read("0xE000ED00"),
           read("FLASH_OPTSR_CUR.BCM4")]"#,
    );
    assert_eq!(v, json!([1, 0, 0x411F_C271u32, 0x411F_C271u32, 1]));
    let v = ok(&mut s, r#"read("DBGMCU.IDC") & 0xFFF"#);
    assert_eq!(v, json!(0x450));
    let e = run(&mut s, r#"read("NOPE.X")"#).unwrap_err();
    assert_eq!(e.kind(), "unknown-name");
    assert!(e.to_string().contains("t.rhai:1:1: "), "{e}");
    assert!(!e.hint().is_empty());
    let e = run(&mut s, "read(-4)").unwrap_err();
    assert_eq!(e.kind(), "bad-value", "{e}");
}

#[test]
fn fields_is_a_map_of_field_values() {
    let mut s = session("bcm4-off");
    let v = ok(&mut s, r#"fields("FLASH.OPTSR_CUR")"#);
    assert_eq!(v["BCM4"], json!(0));
    assert_eq!(v["BCM7"], json!(1));
    assert_eq!(v["RDP"], json!(0xAA));
    let e = run(&mut s, r#"fields("RCC.CR.D2CKRDY")"#).unwrap_err();
    assert!(e.to_string().contains("not a register"), "{e}");
}

#[test]
fn write_and_write_fields_change_the_chip() {
    let mut s = session("nucleo-h755zi-q");
    ok(
        &mut s,
        r#"write("RCC.GCR.BOOT_C2", 1); write("RCC_GCR.BOOT_C1", "Force");"#,
    );
    assert_eq!(value(&mut s, "RCC.GCR") & 0xC, 0xC);
    ok(
        &mut s,
        r#"write_fields("DBGMCU.CR", #{DBGSTOP_D2: 1, DBGSTBY_D2: true})"#,
    );
    assert_eq!(value(&mut s, "DBGMCU.CR"), 0x30);
    ok(&mut s, r#"write("DBGMCU.CR", 0x3F)"#);
    assert_eq!(value(&mut s, "DBGMCU.CR"), 0x3F);
    // Refusals come back as script errors with the shell's kind and hint.
    let e = run(&mut s, r#"write("DBGMCU.IDC", 0)"#).unwrap_err();
    assert_eq!(e.kind(), "refused", "{e}");
    let e = run(&mut s, r#"write("RCC.GCR.BOOT_C2", 2)"#).unwrap_err();
    assert_eq!(e.kind(), "bad-value", "{e}");
    let e = run(&mut s, r#"write_fields("RCC.GCR", #{})"#).unwrap_err();
    assert_eq!(e.kind(), "bad-value", "{e}");
}

#[test]
fn memory_reads_and_writes_by_width() {
    let mut s = session("nucleo-h755zi-q");
    let v = ok(
        &mut s,
        "[mem32(0x08000000, 2), mem16(0x08000000, 2), mem8(0x08000000, 4)]",
    );
    assert_eq!(
        v,
        json!([
            [0x2002_0000u32, 0x0800_02C1u32],
            [0, 0x2002],
            [0, 0, 2, 0x20]
        ])
    );
    let v = ok(
        &mut s,
        "write32(0x24000000, 0x12345678); write16(0x24000004, 0xBEEF); write8(0x24000006, 0x5A);
         mem32(0x24000000, 2)",
    );
    assert_eq!(v, json!([0x1234_5678u32, 0x005A_BEEFu32]));
    assert_eq!(value(&mut s, "0x24000000"), 0x1234_5678);
    let e = run(&mut s, "write8(0x24000000, 0x100)").unwrap_err();
    assert_eq!(e.kind(), "bad-value", "{e}");
    let e = run(&mut s, "mem32(0x24000000, -1)").unwrap_err();
    assert_eq!(e.kind(), "bad-value", "{e}");
}

#[test]
fn halt_step_resume_and_core_registers() {
    let mut s = session("nucleo-h755zi-q");
    let v = ok(
        &mut s,
        r#"let h = halt(); set_reg("r0", 0x1234); let r = regs();
           [h.state, reg("r0"), r.r0, r.pc == reg("pc"), step().state, resume().state]"#,
    );
    assert_eq!(
        v,
        json!(["halted", 0x1234, 0x1234, true, "halted", "running"])
    );
    let v = ok(&mut s, r#"status().cm7.state"#);
    assert_eq!(v, json!("running"));
    let e = run(&mut s, r#"ap(2); halt()"#).unwrap_err();
    assert!(e.to_string().contains("t.rhai:1:8"), "{e}");
}

#[test]
fn reset_kinds() {
    let mut s = session("nucleo-h755zi-q");
    let v = ok(
        &mut s,
        r#"let r = reset("system halt"); [r.kind, r.halt, status().cm7.state]"#,
    );
    assert_eq!(v, json!(["system", true, "halted"]));
    let v = ok(&mut s, r#"resume(); reset().kind"#);
    assert_eq!(v, json!("system"));
    let e = run(&mut s, r#"reset("sideways")"#).unwrap_err();
    assert!(e.to_string().contains("sideways"), "{e}");
}

#[test]
fn status_reports_unreachable_cores_with_the_cause() {
    let mut s = session("bcm4-off");
    let v = ok(&mut s, "status()");
    assert_eq!(v["cm7"]["reachable"], json!(true));
    assert_eq!(v["cm7"]["state"], json!("running"));
    assert_eq!(v["cm4"]["reachable"], json!(false));
    assert_eq!(v["cm4"]["state"], json!("unreachable"));
    assert!(v["cm4"]["error"].as_str().unwrap().contains("BCM4"), "{v}");
    assert!(
        v["cm4"]["hint"].as_str().unwrap().contains("BOOT_C2"),
        "{v}"
    );
}

#[test]
fn wait_and_sleep_use_virtual_time() {
    let mut s = session("cm4-stop-no-dbg");
    let t0 = s.board().expect("virtual board").now_nanos();
    ok(&mut s, "sleep(250)");
    let t1 = s.board().expect("virtual board").now_nanos();
    assert!(t1 - t0 >= 250_000_000, "{t0} -> {t1}");
    let v = ok(&mut s, r#"wait("RCC.CR.D1CKRDY", 1, 10)"#);
    assert_eq!(v, json!(1));
    let v = ok(&mut s, r#"wait("RCC.CR", "&", 0x4000, 10)"#);
    assert_eq!(v.as_i64().unwrap() & 0x4000, 0x4000);
    let e = run(&mut s, r#"wait("RCC.CR.D2CKRDY", 1, 5)"#).unwrap_err();
    assert_eq!(e.kind(), "timeout", "{e}");
    let e = run(&mut s, r#"wait("RCC.CR.D2CKRDY", "=~", 1, 5)"#).unwrap_err();
    assert!(e.to_string().contains("=~"), "{e}");
}

#[test]
fn sh_runs_any_command_and_returns_its_outcome() {
    let mut s = session("nucleo-h755zi-q");
    let v = ok(&mut s, r#"sh("read RCC.CR.D2CKRDY")"#);
    assert_eq!(v["type"], json!("field"));
    assert_eq!(v["value"], json!(1));
    assert!(
        v["text"].as_str().unwrap().contains("RCC.CR.D2CKRDY [15]"),
        "{v}"
    );
    let v = ok(&mut s, r#"sh("ap 3; read 0xE000ED00")"#);
    assert_eq!(v[1]["values"], json!([0x410F_C241u32]));
    assert_eq!(s.selected_ap().get(), 3);
    let v = ok(&mut s, r#"shell("find BOOT_C2").hits.len() > 0"#);
    assert_eq!(v, json!(true));
    let e = run(&mut s, r#"sh("quit")"#).unwrap_err();
    assert_eq!(e.kind(), "refused", "{e}");
    let e = run(&mut s, r#"sh("read (")"#).unwrap_err();
    assert_eq!(e.kind(), "parse", "{e}");
}

#[test]
fn args_print_fail_identity_and_helpers() {
    let mut s = session("bcm4-off");
    let sc = Script::new(
        "a.rhai",
        r#"[args, args(), args.len(), hex(255), is_virtual(), scenario()]"#,
    );
    let v = sc.run(&mut s, &["fix", "two words"]).unwrap();
    assert_eq!(
        v,
        json!([
            ["fix", "two words"],
            ["fix", "two words"],
            2,
            "0x000000ff",
            true,
            "bcm4-off"
        ])
    );
    let v = ok(&mut s, r#"print("hello"); identity()"#);
    assert_eq!(v["optsr_cur"], json!(0x0386_AAF0u32));
    assert_eq!(v["boot4_cur"], json!(0x1000_0810u32));
    let e = run(&mut s, "\n  fail(\"no good\", \"do this\")").unwrap_err();
    assert_eq!(e.kind(), "script-failed");
    assert!(e.to_string().ends_with("t.rhai:2:3: no good"), "{e}");
    assert_eq!(e.hint(), "do this");
}

#[test]
fn errors_can_be_caught_with_their_message_hint_and_kind() {
    let mut s = session("bcm4-off");
    let v = ok(
        &mut s,
        r#"let r = "no error";
           try { core("cm4"); read(0xE000ED00); }
           catch (e) { r = [e.kind, e.message.contains("BCM4"), e.hint.contains("BOOT_C2")]; }
           r"#,
    );
    assert_eq!(v, json!(["ap3-unreachable", true, true]));
}

#[test]
fn eval_runs_one_expression_through_the_session() {
    let mut s = session("nucleo-h755zi-q");
    let v = h7sh::script::eval(&mut s, r#"read("RCC.CR.D2CKRDY") + 41"#).unwrap();
    assert_eq!(v, json!(42));
    let o = s
        .execute(&h7sh::lang::Command::Eval(r#"hex(read("RCC.GCR"))"#.into()))
        .unwrap();
    assert_eq!(
        h7sh::render::text(&o, &h7sh::render::Style::PLAIN),
        "0x00000000\n"
    );
    // No folder to import from.
    let e = h7sh::script::eval(&mut s, r#"import "x" as x; 1"#).unwrap_err();
    assert_eq!(e.kind(), "sandbox", "{e}");
}

#[test]
fn run_nests_scripts_from_the_same_folder_only() {
    let mut s = session("nucleo-h755zi-q");
    let sc = Script::new("outer.rhai", r#"sh("run inner.rhai 5"); read("DBGMCU.CR")"#);
    sc.add("inner.rhai", r#"write("DBGMCU.CR", parse_int(args[0]))"#);
    assert_eq!(sc.run(&mut s, &[]).unwrap(), json!(5));
    let sc = Script::new("outer.rhai", r#"sh("run ../inner.rhai")"#);
    let e = sc.run(&mut s, &[]).unwrap_err();
    assert_eq!(e.kind(), "refused", "{e}");
    let sc = Script::new("self.rhai", r#"sh("run self.rhai")"#);
    let e = sc.run(&mut s, &[]).unwrap_err();
    assert!(e.to_string().contains("nested"), "{e}");
    assert_eq!(s.script_depth(), 0);
}

/// Ctrl-C (the session's interrupt flag, as the signal handler sets it) stops a script whatever
/// the moment it arrives: inside a shell command or between two of them. A lost one lets the
/// loop run to its end and return its count.
#[test]
fn an_interrupt_at_any_moment_stops_the_script() {
    let mut s = session("nucleo-h755zi-q");
    let flag = s.interrupt_flag();
    let base = std::time::Instant::now();
    let mut checked = 0;
    for i in 0..60u64 {
        let flag = flag.clone();
        let pressed = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_micros(3_000 + i * 499));
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            base.elapsed()
        });
        let started = base.elapsed();
        let r = run(
            &mut s,
            r#"let n = 0;
               while n < 20000 { write_fields("DBGMCU.CR", #{DBGSTOP_D2: n % 2}); n += 1; }
               n"#,
        );
        let pressed_at = pressed.join().unwrap();
        // A press before the script started (a loaded machine can delay the start past the
        // presser's sleep) is cleared by the script's start, by design: only presses well
        // inside the run are checked.
        if pressed_at < started + std::time::Duration::from_millis(1) {
            continue;
        }
        checked += 1;
        match r {
            Err(e) => assert_eq!(e.kind(), "interrupted", "try {i}: {e}"),
            Ok(v) => panic!("try {i}: the interrupt was lost, the loop ran to {v}"),
        }
    }
    assert!(
        checked >= 30,
        "only {checked} of 60 presses landed inside a run"
    );
}
