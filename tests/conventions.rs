//! What users of OpenOCD, pyOCD and J-Link Commander bring (issue 10, items 5, 8 and 9): the
//! peers' command forms work and mean what they mean there, `ap` and `core` take each other's
//! forms, halt and step say where the core stopped, a typo of a reading command is never answered
//! with a writing one, and every example in the help texts is a valid command.

mod common;
use common::*;

#[test]
fn ap_takes_labels_and_core_takes_ap_numbers_and_core_alone_shows_one_line() {
    let (code, out, err) = sim("nucleo-h755zi-q", "ap cm4; core; core 0; ap apb-d; ap");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("* AP3 cm4"), "{out}");
    assert_eq!(
        lines[1], lines[0],
        "`core` shows the selected core's line only: {out}"
    );
    assert!(lines[2].starts_with("* AP0 cm7"), "{out}");
    assert!(lines[3].starts_with("* AP2 apb-d"), "{out}");
    assert_eq!(lines.len(), 4 + 4, "`ap` alone lists the four APs: {out}");
    let (code, _, err) = sim("nucleo-h755zi-q", "core 2");
    assert_eq!(code, 1);
    assert!(err.contains("AP2 has no core"), "{err}");
}

#[test]
fn openocd_and_pyocd_memory_commands_access_memory_at_their_size() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "mww 0x24000000 0x11223344; mdh 0x24000002; mdb 0x24000001; mdw 0x24000000; \
         write16 0x24000000 0xBEEF; read32 0x24000000 8; read8 0x24000003",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0x24000002: 0x1122\n"), "{out}");
    assert!(out.contains("0x24000001: 0x33\n"), "{out}");
    assert!(out.contains("0x24000000: 0x11223344\n"), "{out}");
    // pyOCD's LEN is in bytes: 8 bytes are two words.
    assert!(out.contains("0x24000000: 0x1122beef 0x00000000"), "{out}");
    assert!(out.contains("0x24000003: 0x11\n"), "{out}");
}

#[test]
fn halt_and_step_say_where_the_core_stopped_under_the_peers_short_names() {
    let (code, out, err) = sim("nucleo-h755zi-q", "h; s; s; g; status");
    assert_eq!(code, 0, "{err}");
    let pcs: Vec<u32> = out
        .lines()
        .filter_map(|l| l.split("at PC ").nth(1))
        .map(|pc| u32::from_str_radix(pc.trim_start_matches("0x"), 16).unwrap())
        .collect();
    assert_eq!(pcs.len(), 3, "halt and two steps each give the PC: {out}");
    assert!(
        pcs[1] > pcs[0] && pcs[2] > pcs[1],
        "steps advance the PC: {pcs:x?}"
    );
    assert!(out.contains("cm7 resume: running"), "{out}");
}

#[test]
fn the_pc_is_in_the_json_of_halt_and_absent_from_resume() {
    let (code, objs, err) = sim_json("nucleo-h755zi-q", "halt; resume");
    assert_eq!(code, 0, "{err}");
    assert!(objs[0]["pc"].as_u64().is_some(), "{:?}", objs[0]);
    assert!(objs[1].get("pc").is_none(), "{:?}", objs[1]);
}

#[test]
fn a_typo_of_a_reading_command_is_never_answered_with_a_writing_one() {
    for typo in ["mdx", "mdd", "md", "rd", "reed", "rad", "mdq", "dump"] {
        if let Some(s) = h7sh::lang::suggest(typo) {
            let spec = h7sh::lang::lookup(s).unwrap();
            assert_ne!(spec.name, "write", "`{typo}` was answered with `{s}`");
        }
    }
    assert_eq!(h7sh::lang::suggest("wirte"), Some("write"));
    assert_eq!(h7sh::lang::suggest("mwx"), Some("mww"));
}

#[test]
fn help_describes_sub_commands() {
    let (code, out, err) = sim("nucleo-h755zi-q", "help ob set");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("usage: ob set NAME=VALUE"), "{out}");
    let (code, _, err) = sim("nucleo-h755zi-q", "help ob frob");
    assert_eq!(code, 1);
    assert!(err.contains("its sub-commands: set"), "{err}");
}

/// Every command quoted in a help text (`...` starting with a command name) parses: the help
/// cannot drift from the grammar.
#[test]
fn every_example_in_the_help_texts_parses() {
    let mut checked = 0;
    let mut specs: Vec<&h7sh::lang::CommandSpec> = h7sh::lang::commands().iter().collect();
    let subs: Vec<&h7sh::lang::CommandSpec> =
        specs.iter().flat_map(|s| s.subcommands.iter()).collect();
    specs.extend(subs);
    for spec in specs {
        for (i, example) in spec.help.split('`').enumerate() {
            let first = example.split_whitespace().next().unwrap_or("");
            // Odd pieces are inside backticks; only those that start with a command are examples
            // (others are names, values or flags).
            if i % 2 == 0 || h7sh::lang::lookup(first).is_none() || !example.contains(' ') {
                continue;
            }
            // Placeholders in upper case (`write TARGET VALUE`) are usage, not examples.
            if example
                .split_whitespace()
                .skip(1)
                .any(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '.'))
            {
                continue;
            }
            h7sh::lang::parse(example)
                .unwrap_or_else(|e| panic!("help of `{}`: `{example}`: {e}", spec.name));
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} examples found");
}

/// Issue 10 item 2: a write that silicon ignores is never reported as done. Read-only registers
/// ST marks read-write are refused with what to do instead; a write that does not read back
/// (set-only BOOT_C2) says so, in text and JSON; a write that took says nothing more.
#[test]
fn writes_that_do_not_take_effect_are_refused_or_reported() {
    let (code, _, err) = sim("nucleo-h755zi-q", "write FLASH_OPTSR_CUR.RDP 0xBB");
    assert_eq!(code, 1);
    assert!(err.contains("FLASH.OPTSR_CUR.RDP is read-only"), "{err}");
    assert!(err.contains("`ob set RDP=VALUE`"), "{err}");
    let (code, _, err) = sim("nucleo-h755zi-q", "write FLASH_SR1 0");
    assert_eq!(code, 1);
    assert!(err.contains("FLASH_CCR1"), "{err}");
    let (code, _, err) = sim("nucleo-h755zi-q", "read FLASH_OPTKEYR");
    assert_eq!(code, 1);
    assert!(err.contains("write-only"), "{err}");

    let (code, out, err) = sim(
        "bcm4-off",
        "write RCC_GCR.BOOT_C2 1; write RCC_GCR.BOOT_C2 0; write RCC_CR.HSION 1",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(!lines[0].contains("reads back"), "{out}");
    assert!(
        lines[1].contains("reads back 0x00000008: BOOT_C2 did not take the written value"),
        "{out}"
    );
    assert!(!lines[2].contains("reads back"), "{out}");

    let (code, objs, err) = sim_json(
        "bcm4-off",
        "write RCC_GCR.BOOT_C2 1; write RCC_GCR.BOOT_C2 0",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        objs[0]["writes"][0].get("readback").is_none(),
        "{:?}",
        objs[0]
    );
    assert_eq!(objs[1]["writes"][0]["readback"], 8, "{:?}", objs[1]);
    assert_eq!(
        objs[1]["writes"][0]["not_taken"][0], "BOOT_C2",
        "{:?}",
        objs[1]
    );
}

/// Issue 10 item 4: hints follow from the command and the state, and never suggest what was
/// already done or what does not exist.
#[test]
fn hints_follow_the_command_and_the_state() {
    let hint_of = |scenario: &str, flags: &[&str], cmds: &str| {
        let mut args = vec!["--sim", scenario, "--json"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["-c", cmds]);
        let o = Sandbox::new().run(&args);
        let err = stderr(&o);
        let e: serde_json::Value = serde_json::from_str(err.lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{cmds}: no JSON error ({e}): {err}"));
        e["hint"].as_str().unwrap().to_string()
    };
    let h = hint_of("nucleo-h755zi-q", &[], "read FLASH_OPTSR_CUR 2");
    assert!(h.contains("`read 0x5200201c 2`"), "{h}");
    let h = hint_of("nucleo-h755zi-q", &[], "write 0x08000000 0");
    assert!(h.contains("FLASH interface"), "{h}");
    let h = hint_of("nucleo-h755zi-q", &[], "read 0x60000000");
    assert!(!h.contains("`ap` lists"), "`ap` lists no memory map: {h}");
    assert!(h.contains("not clocked"), "{h}");
    let h = hint_of(
        "nucleo-h755zi-q",
        &[],
        "wait RCC_CR.D2CKRDY == 0 timeout 100",
    );
    assert!(h.contains("timeout MS"), "{h}");
    assert!(
        !h.contains("locked up"),
        "a register wait is not a core timeout: {h}"
    );
    let h = hint_of("cm4-stop-no-dbg", &[], "core cm4; read 0xE000ED00");
    assert!(h.contains("--connect-under-reset"), "{h}");
    let h = hint_of(
        "cm4-stop-no-dbg",
        &["--connect-under-reset"],
        "core cm4; read 0xE000ED00",
    );
    assert!(
        !h.contains("--connect-under-reset"),
        "already connected under reset: {h}"
    );
}

/// Issue 10 item 3: one fix per cause. The AP3 error's hint starts with exactly the commands
/// `doctor` gives for the same cause (one text, defined once in `h7::ap3`), each pasteable.
#[test]
fn the_ap3_error_and_doctor_give_the_same_fix() {
    for scenario in ["bcm4-off", "cm4-stop-no-dbg"] {
        let (_, _, err) = sim_json(scenario, "core cm4; read 0xE000ED00");
        let e: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
        let hint = e["hint"].as_str().unwrap();
        let (code, objs, err) = sim_json(scenario, "doctor");
        assert_eq!(code, 0, "{err}");
        let finding = objs[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["summary"].as_str().unwrap().contains("AP3"))
            .unwrap_or_else(|| panic!("{scenario}: no AP3 finding: {:?}", objs[0]));
        let fix: Vec<&str> = finding["fix"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            hint.starts_with(&format!("`{}`", fix.join("; "))),
            "{scenario}: hint {hint:?} vs doctor {fix:?}"
        );
        for command in fix {
            h7sh::lang::parse(command).unwrap_or_else(|e| panic!("{command}: {e}"));
        }
    }
}

/// Issue 10 items 7 and 13: `--speed` is honoured under `--sim` (the virtual probe rounds it
/// as the real one does) and `info` shows the protocol, clock and target voltage.
#[test]
fn info_shows_the_wire_as_set_up() {
    let cases = [
        (
            "cmsis-dap",
            "1800",
            "SWD at 1800 kHz, target voltage not measured",
        ),
        (
            "stlink-v3",
            "1800",
            "SWD at 1000 kHz, target voltage 3.30 V",
        ),
        (
            "stlink-v2",
            "1800",
            "SWD at 1800 kHz, target voltage 3.30 V",
        ),
        ("jlink", "2000", "SWD at 2000 kHz, target voltage 3.30 V"),
    ];
    for (kind, speed, wire) in cases {
        let o = Sandbox::new().run(&[
            "--sim",
            "nucleo-h755zi-q",
            "--sim-probe",
            kind,
            "--speed",
            speed,
            "-c",
            "info",
        ]);
        let out = stdout(&o);
        assert!(
            out.contains(&format!("wire:       {wire}")),
            "{kind}: {out}"
        );
    }
}

/// Issue 10 item 13: the SVD line is one short line, and `-q` leaves it out.
#[test]
fn the_svd_line_is_short_and_q_silences_it() {
    let o = Sandbox::new().run(&["--sim", "nucleo-h755zi-q", "-c", "read RCC_CR"]);
    let err = stderr(&o);
    let line = err.lines().find(|l| l.starts_with("SVD: ")).unwrap();
    // Short apart from the SVD's path (as long as the user's folders make it).
    let (_, rest) = line.split_once(" (").unwrap();
    assert!(rest.chars().count() <= 80, "{line}");
    assert!(!line.contains("pick another"), "{line}");
    let o = Sandbox::new().run(&["--sim", "nucleo-h755zi-q", "-q", "-c", "read RCC_CR"]);
    assert!(o.status.success());
    assert!(!stderr(&o).contains("SVD: "), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("RCC.CR @ 0x58024400"),
        "{}",
        stdout(&o)
    );
}

/// Issue 10 item 14: command files run with `-x FILE` (pyOCD's convention) or as `h7sh FILE`;
/// a command file given where a scenario goes, and h7sh options written after a script, get
/// errors that say what was meant.
#[test]
fn command_files_and_misplaced_arguments() {
    let sb = Sandbox::new();
    let cmds = sb.dir.path().join("bringup.txt");
    std::fs::write(
        &cmds,
        "# a forum repro\nread RCC_GCR.BOOT_C2\nwrite RCC_GCR.BOOT_C2 1\n",
    )
    .unwrap();
    let cmds = cmds.to_str().unwrap();
    let o = sb.run(&["--sim", "bcm4-off", "-x", cmds]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("RCC.GCR.BOOT_C2: wrote"),
        "{}",
        stdout(&o)
    );

    let o = sb.run(&["--sim", cmds]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is a file of h7sh commands, not a scenario"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&format!("h7sh --sim -x {cmds}")),
        "{}",
        stderr(&o)
    );

    let script = sb.dir.path().join("x.rhai");
    std::fs::write(&script, "print(\"hi\");\n").unwrap();
    let script = script.to_str().unwrap();
    let o = sb.run(&[script, "--sim"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`--sim` comes after the script"),
        "{}",
        stderr(&o)
    );
    // Arguments that are not h7sh options still go to the script.
    let o = sb.run(&["--sim", script, "hello"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Issue 10 item 6: `--dry-run` of `ob set` lists exactly the writes the real run makes, same
/// addresses, values and order.
#[test]
fn the_dry_run_of_ob_set_lists_the_writes_of_the_real_run() {
    let writes = |scenario: &str, mode: &str, cmd: &str| -> Vec<(u64, u64)> {
        let o = Sandbox::new().run(&["--sim", scenario, "--json", mode, "-c", cmd]);
        assert!(o.status.success(), "{cmd} {mode}: {}", stderr(&o));
        let v: serde_json::Value =
            serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| Some((s["address"].as_u64()?, s["value"].as_u64()?)))
            .collect()
    };
    for (scenario, cmd) in [
        ("bcm4-off", "ob set BCM4=1"),
        ("nucleo-h755zi-q", "ob set BOR_LEV=2 IWDG1_SW=0"),
        ("cm4-bad-boot", "ob set BCM4_ADD0=0x0810"),
    ] {
        let dry = writes(scenario, "--dry-run", cmd);
        let real = writes(scenario, "--yes", cmd);
        assert!(!dry.is_empty(), "{scenario}: {cmd}: no writes listed");
        assert_eq!(dry, real, "{scenario}: {cmd}");
    }
    // And in the real run's order: relock, then verify.
    let o = Sandbox::new().run(&["--sim", "bcm4-off", "--dry-run", "-c", "ob set BCM4=1"]);
    let out = stdout(&o);
    let relock = out.find("relock: FLASH_OPTCR.OPTLOCK").unwrap();
    let verify = out.find("verify: the *_CUR").unwrap();
    assert!(relock < verify, "{out}");
}

#[test]
fn what_enter_repeats() {
    use h7sh::repl::repeat_of;
    let parse = |l: &str| h7sh::lang::parse(l).unwrap();
    assert_eq!(repeat_of(&parse("step 3")).as_deref(), Some("step 3"));
    assert_eq!(
        repeat_of(&parse("read 0x24000000/h 4")).as_deref(),
        Some("read 0x24000008/h 4")
    );
    assert_eq!(
        repeat_of(&parse("mdw 0x24000000")).as_deref(),
        Some("read 0x24000004/w")
    );
    assert_eq!(repeat_of(&parse("read RCC_CR")), None);
    assert_eq!(repeat_of(&parse("write 0x24000000 1")), None);
    assert_eq!(repeat_of(&parse("step; step")), None);
}

/// Issue 10 item 11: numbers take sums and differences and k/M size suffixes; FPU registers take
/// and show floats, and d0-d15 are the double view of s0-s31.
#[test]
fn number_expressions_suffixes_and_floats() {
    use h7sh::lang::parse_number;
    assert_eq!(parse_number("0x24000000+4").unwrap(), 0x2400_0004);
    assert_eq!(parse_number("0x08100000-4k").unwrap(), 0x0810_0000 - 4096);
    assert_eq!(parse_number("1M").unwrap(), 1 << 20);
    assert_eq!(parse_number("0x1_0000+0x10-0b100").unwrap(), 0x1_000c);
    // A hex number is not suffixed: `0x1b`, `0xE` stay hex digits.
    assert_eq!(parse_number("0x1b").unwrap(), 0x1b);
    let e = parse_number("0x100-0x200").unwrap_err();
    assert!(e.message.contains("below 0"), "{e:?}");
    let e = parse_number("4+zz").unwrap_err();
    assert_eq!(e.column, 3, "{e:?}");
    assert!(parse_number("-4").is_err());

    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "halt; reg s0 1.5; reg s0; reg d1 -2.25; reg s3; mdw 0x24000000+0x10-4",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cm7 s0 = 0x3fc00000 (1.5)"), "{out}");
    assert!(
        out.contains("cm7 d1 set 0xc002000000000000 (-2.25)"),
        "{out}"
    );
    assert!(
        out.contains("cm7 s3 = 0xc0020000"),
        "the high word of d1: {out}"
    );
    assert!(out.contains("0x2400000c:"), "{out}");
    let (code, _, err) = sim("nucleo-h755zi-q", "halt; reg r0 1.5");
    assert_eq!(code, 1);
    assert!(err.contains("floats go to the FPU registers"), "{err}");
}

/// Issue 10 item 12: a memory dump reads like `hexdump -C`: an ASCII column, and repeated
/// lines collapsed into `*` (the last line kept).
#[test]
fn memory_dumps_have_an_ascii_column_and_collapse_repeats() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "mww 0x24000000 0x6c6c6548; mww 0x24000004 0x0a6f; read 0x24000000 32",
    );
    assert_eq!(code, 0, "{err}");
    let dump: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        dump[0],
        "0x24000000: 0x6c6c6548 0x00000a6f 0x00000000 0x00000000  |Hello...........|"
    );
    assert!(dump[1].starts_with("0x24000010: "), "{out}");
    assert_eq!(dump[2], "*", "{out}");
    assert!(dump[3].starts_with("0x24000070: "), "{out}");
    assert_eq!(dump.len(), 4, "{out}");
}

/// Issue 10 item 15: snapshots are listed, saved to a file, and compared from that file in
/// another session (a baseline to post with a forum question).
#[test]
fn snapshots_are_listed_saved_and_compared_from_a_file() {
    let sb = Sandbox::new();
    let file = sb.dir.path().join("base.json");
    let file = file.to_str().unwrap();
    let o = sb.run(&[
        "--sim",
        "bcm4-off",
        "-c",
        &format!("snap list; snap bad RCC FLASH; snap list; snap save {file}"),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.contains("no snapshots yet"), "{out}");
    assert!(out.contains("bad          AP0"), "{out}");
    assert!(out.contains(&format!("saved to {file}")), "{out}");
    // Another board: the option byte that differs is the finding.
    let o = sb.run(&[
        "--sim",
        "nucleo-h755zi-q",
        "--json",
        "-c",
        &format!("diff {file} FLASH"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let changed: Vec<&str> = v["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(changed.contains(&"FLASH.OPTSR_CUR"), "{v}");
    // Errors say what to do.
    let (code, _, err) = sim("bcm4-off", "snap save x.json");
    assert_eq!(code, 1);
    assert!(err.contains("snap NAME"), "{err}");
    let (code, _, err) = sim("bcm4-off", "snap a RCC; snap b PWR; snap save x.json");
    assert_eq!(code, 1);
    assert!(err.contains("NAME one of a, b"), "{err}");
    let junk = sb.dir.path().join("junk.json");
    std::fs::write(&junk, "{\"x\": 1}").unwrap();
    let o = sb.run(&["--sim", "-c", &format!("diff {}", junk.display())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not an h7sh snapshot"),
        "{}",
        stderr(&o)
    );
}

/// Issue 10 item 11: names are addresses in expressions, through the selected AP.
#[test]
fn names_with_offsets_are_addresses() {
    let (code, out, err) = sim(
        "nucleo-h755zi-q",
        "read RCC+0x10; read RCC_CR+4 2; read FLASH_OPTSR_CUR-4; ap 2; read DBGMCU+0",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0x58024410: "), "{out}");
    assert!(out.contains("0x58024404: 0x40000000 "), "{out}");
    assert!(out.contains("0x52002018: "), "{out}");
    assert!(
        out.contains("0xe00e1000: 0x20030450"),
        "AP2's view of DBGMCU: {out}"
    );
    let (code, _, err) = sim("nucleo-h755zi-q", "read RCC_CR.HSION+4");
    assert_eq!(code, 1);
    assert!(err.contains("is a field"), "{err}");
    assert!(h7sh::lang::parse("read RCC+zz").is_err());
}

/// Issue 10 item 14: `run FILE` runs a file of h7sh commands when it is not Rhai.
#[test]
fn run_takes_a_command_file_too() {
    let sb = Sandbox::new();
    let cmds = sb.dir.path().join("repro.txt");
    std::fs::write(
        &cmds,
        "# repro\nread RCC_GCR.BOOT_C2\nwrite RCC_GCR.BOOT_C2 1\n",
    )
    .unwrap();
    let o = sb.run(&[
        "--sim",
        "bcm4-off",
        "-c",
        &format!("run {}; read RCC_GCR.BOOT_C2", cmds.display()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("RCC.GCR.BOOT_C2 [3] @ 0x580244a0 = 0 (NoForce)"),
        "{out}"
    );
    assert!(
        out.contains("RCC.GCR.BOOT_C2 [3] @ 0x580244a0 = 1 (Force)"),
        "{out}"
    );
}
