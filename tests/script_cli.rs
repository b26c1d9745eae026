//! Scripts as a user runs them: `h7sh --sim FILE.rhai ARGS`, `run`, `eval`, `record`, the
//! sandbox and its limits, errors with `file:line:col` and exit codes.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn a_script_prints_and_exits_0() {
    let sb = Sandbox::new();
    let f = write(
        sb.dir.path(),
        "hello.rhai",
        r#"print(`D2CKRDY = ${read("RCC.CR.D2CKRDY")}, args ${args}`); shell("read RCC.GCR.BOOT_C2");"#,
    );
    let o = sb.run(&["--sim", f.to_str().unwrap(), "one", "two"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "D2CKRDY = 1, args [\"one\", \"two\"]\n\
         RCC.GCR.BOOT_C2 [3] @ 0x580244a0 = 0 (NoForce)\n"
    );
    // `--sim SCENARIO FILE` works the same.
    let o = sb.run(&["--sim", "bcm4-off", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn an_error_stops_the_script_with_file_line_col_message_hint_and_exit_1() {
    let sb = Sandbox::new();
    let f = write(
        sb.dir.path(),
        "bad.rhai",
        "print(\"before\");\nlet x = 1;\n    core(\"cm4\"); read(0xE000ED00);\nprint(\"after\");\n",
    );
    let o = sb.run(&["--sim", "bcm4-off", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "before\n");
    let err = stderr(&o);
    let shown = format!(
        "error: {}:3:18: AP3 (Cortex-M4) is unreachable",
        f.display()
    );
    assert!(err.contains(&shown), "{err}");
    assert!(
        err.contains("  hint: `ob set BCM4=1; reset`: ")
            && err.contains(
                "to release the CM4 once, without changing option bytes: `write RCC_GCR.BOOT_C2 1`"
            ),
        "{err}"
    );
}

#[test]
fn json_mode_errors_are_json_objects_and_prints_are_json_lines() {
    let sb = Sandbox::new();
    let f = write(
        sb.dir.path(),
        "j.rhai",
        "print(\"hi\");\nshell(\"read RCC.CR.D2CKRDY\");\nfail(\"stop here\", \"because\");",
    );
    let o = sb.run(&["--sim", "--json", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0], serde_json::json!({"type": "print", "text": "hi"}));
    assert_eq!(lines[1]["type"], "field");
    assert_eq!(lines[1]["value"], 1);
    let e: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(e["kind"], "script-failed");
    assert_eq!(e["hint"], "because");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .ends_with("j.rhai:3:1: stop here"),
        "{e}"
    );
}

#[test]
fn syntax_errors_and_unknown_functions_point_at_the_place() {
    let sb = Sandbox::new();
    let f = write(sb.dir.path(), "syn.rhai", "let a = 1;\nlet b = (a +;\n");
    let o = sb.run(&["--sim", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("syn.rhai:2:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("syntax error"), "{}", stderr(&o));
    let f = write(sb.dir.path(), "fn.rhai", "\nreed(\"RCC.CR\");");
    let o = sb.run(&["--sim", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("fn.rhai:2:1: unknown function reed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_missing_script_is_an_io_error() {
    let sb = Sandbox::new();
    let o = sb.run(&["--sim", "/nonexistent/x.rhai"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("cannot read script /nonexistent/x.rhai"),
        "{}",
        stderr(&o)
    );
}

// ---- sandbox -----------------------------------------------------------------------------

#[test]
fn sandbox_no_file_access() {
    let sb = Sandbox::new();
    let dir = sb.dir.path().join("proj");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    write(sb.dir.path(), "secret.rhai", "fn x() { 42 }");
    write(&dir.join("lib"), "util.rhai", "fn twice(x) { x * 2 }");
    let ok = write(
        &dir,
        "ok.rhai",
        "import \"lib/util\" as u; print(u::twice(21));",
    );
    let o = sb.run(&["--sim", ok.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    for (name, text, expect) in [
        (
            "up.rhai",
            "import \"../secret\" as s;",
            "outside the script's folder",
        ),
        (
            "abs.rhai",
            "import \"/etc/passwd\" as s;",
            "outside the script's folder",
        ),
        (
            "ext.rhai",
            "import \"lib/util.txt\" as s;",
            "not a .rhai script",
        ),
        (
            "open.rhai",
            "let f = open_file(\"/etc/passwd\");",
            "unknown function open_file",
        ),
        (
            "rec.rhai",
            "sh(\"record /tmp/h7sh-x.rhai\");",
            "scripts cannot write files",
        ),
        (
            "run.rhai",
            "sh(\"run ../secret.rhai\");",
            "outside the script's folder",
        ),
        ("sys.rhai", "system(\"ls\");", "unknown function system"),
    ] {
        let f = write(&dir, name, text);
        let o = sb.run(&["--sim", f.to_str().unwrap()]);
        assert_eq!(code(&o), 1, "{name}");
        assert!(stderr(&o).contains(expect), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{name}:1:")),
            "{name}: {}",
            stderr(&o)
        );
    }
    assert!(!Path::new("/tmp/h7sh-x.rhai").exists());
}

#[test]
fn sandbox_endless_loop_is_stopped_by_the_operation_limit_and_by_timeout() {
    let sb = Sandbox::new();
    let f = write(sb.dir.path(), "loop.rhai", "let n = 0;\nloop { n += 1; }");
    let o = sb.run(&["--sim", "--max-operations", "100000", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("loop.rhai:2:"), "{err}");
    assert!(
        err.contains("exceeded its limit of 100000 operations"),
        "{err}"
    );
    assert!(err.contains("--max-operations"), "{err}");

    let start = std::time::Instant::now();
    let o = sb.run(&[
        "--sim",
        "--max-operations",
        "0",
        "--timeout",
        "0.5",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(start.elapsed().as_secs() < 20);
    assert!(
        stderr(&o).contains("ran longer than --timeout 0.5 s"),
        "{}",
        stderr(&o)
    );
    // A loop of shell calls is stopped the same way.
    let f = write(
        sb.dir.path(),
        "reads.rhai",
        "loop { read(\"RCC.CR.D2CKRDY\"); }",
    );
    let o = sb.run(&["--sim", "--timeout", "0.5", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("--timeout"), "{}", stderr(&o));
}

#[test]
fn sandbox_deep_recursion_is_stopped_by_the_call_depth_limit() {
    let sb = Sandbox::new();
    let f = write(
        sb.dir.path(),
        "rec.rhai",
        "fn down(n) { down(n + 1) }\ndown(0);",
    );
    let o = sb.run(&["--sim", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("exceeded its call depth of 128"), "{err}");
    assert!(err.contains("--max-call-depth"), "{err}");
    // The ceiling is reachable without overflowing the real stack.
    let o = sb.run(&["--sim", "--max-call-depth", "2000", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("call depth of 2000"), "{}", stderr(&o));
    let o = sb.run(&["--sim", "--max-call-depth", "5000", f.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "clap refuses it");
    let f = write(
        sb.dir.path(),
        "deep.rhai",
        "fn d(n) { if n == 0 { 0 } else { 1 + d(n - 1) } }\nprint(d(100));",
    );
    let o = sb.run(&["--sim", f.to_str().unwrap()]);
    assert_eq!(stdout(&o), "100\n", "{}", stderr(&o));
}

#[test]
fn sandbox_huge_strings_and_arrays_are_stopped_by_the_size_limits() {
    let sb = Sandbox::new();
    let f = write(
        sb.dir.path(),
        "str.rhai",
        "let s = \"x\";\nloop { s += s; }",
    );
    let o = sb.run(&["--sim", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("str.rhai:2:"), "{err}");
    assert!(
        err.contains("Length of string exceeds the script's limit"),
        "{err}"
    );
    assert!(err.contains("16777216 bytes (--max-string-size)"), "{err}");
    let o = sb.run(&["--sim", "--max-string-size", "1000", f.to_str().unwrap()]);
    assert!(
        stderr(&o).contains("limited to 1000 bytes"),
        "{}",
        stderr(&o)
    );
    let f = write(
        sb.dir.path(),
        "arr.rhai",
        "let a = [];\nloop { a.push(0); }",
    );
    let o = sb.run(&["--sim", "--max-array-size", "5000", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("Size of array"), "{}", stderr(&o));
    // A memory read larger than the array limit is refused the same way.
    let f = write(sb.dir.path(), "mem.rhai", "mem32(0x24000000, 100);");
    let o = sb.run(&["--sim", "--max-array-size", "50", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

// ---- run and eval in -c ---------------------------------------------------------------------

#[test]
fn run_and_eval_in_command_lists() {
    let sb = Sandbox::new();
    let f = write(
        sb.dir.path(),
        "r.rhai",
        "print(`got ${args}`); write(\"RCC.GCR.BOOT_C2\", 1);",
    );
    let cmds = format!(
        "run {} a \"b c\"; read RCC.GCR.BOOT_C2\neval read(\"RCC.GCR.BOOT_C2\") + 1",
        f.display()
    );
    let (c, out, err) = sim("bcm4-off", &cmds);
    assert_eq!(c, 0, "{err}");
    assert_eq!(
        out,
        "got [\"a\", \"b c\"]\nRCC.GCR.BOOT_C2 [3] @ 0x580244a0 = 1 (Force)\n2\n"
    );
    let (c, _, err) = sim("nucleo-h755zi-q", "eval fail(\"x\")\nread RCC.CR");
    assert_eq!(c, 1);
    assert!(err.contains("error: eval:1:1: x"), "{err}");
    let (c, objs, _) = sim_json("nucleo-h755zi-q", "eval 6 * 7");
    assert_eq!(c, 0);
    assert_eq!(objs[0]["type"], "script-value");
    assert_eq!(objs[0]["value"], 42);
}

// ---- record ---------------------------------------------------------------------------------

fn replay_check(scenario: &str, body: &str) {
    let sb = Sandbox::new();
    let rec = sb.dir.path().join("session.rhai");
    let cmds = format!("record {}\n{body}\nrecord stop", rec.display());
    let o = sb.run(&["--sim", scenario, "-c", &cmds]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let live = stdout(&o);
    let mut lines: Vec<&str> = live.lines().collect();
    assert!(lines[0].starts_with("recording to "), "{live}");
    assert!(lines.last().unwrap().starts_with("recorded "), "{live}");
    lines.remove(0);
    lines.pop();
    let live_body = lines.iter().map(|l| format!("{l}\n")).collect::<String>();

    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(text.starts_with("// Recorded by h7sh "), "{text}");
    assert!(
        text.contains(&format!("// Virtual-board scenario: {scenario}")),
        "{text}"
    );
    assert!(text.contains("DBGMCU_IDC 0x"), "{text}");
    assert!(text.contains("CM7 CPUID 0x411fc271"), "{text}");
    assert!(
        text.contains("// Option bytes at the start: FLASH_OPTSR_CUR 0x"),
        "{text}"
    );

    let o = sb.run(&["--sim", scenario, rec.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        live_body,
        "replay differs from the live session"
    );
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn record_then_replay_gives_identical_output() {
    replay_check(
        "nucleo-h755zi-q",
        "read RCC.CR.D2CKRDY; core cm4; halt; regs; reg pc; resume; status; ap 0\n\
         read RCC.GCR; write RCC_GCR.BOOT_C2 1; read RCC.GCR; show RCC CR GCR; sim wait 3\n\
         find BOOT_C; wait RCC.CR.D2CKRDY == 1 timeout 10; read 0x08000000 4; help read\n\
         eval hex(read(\"RCC.GCR\"))",
    );
    replay_check(
        "bcm4-off",
        "read FLASH_OPTSR_CUR.BCM4; status; write RCC_GCR.BOOT_C2 1; core cm4\n\
         read 0xE000ED00; halt; reg pc; status",
    );
}

#[test]
fn record_keeps_only_what_succeeded_and_warns_on_another_board() {
    let sb = Sandbox::new();
    let rec = sb.dir.path().join("r.rhai");
    let cmds = format!(
        "record {}\nread RCC.CR.D2CKRDY\ncore cm4\nread 0xE000ED00",
        rec.display()
    );
    // The failing command ends the -c list; the file already holds what succeeded.
    let o = sb.run(&["--sim", "bcm4-off", "-c", &cmds]);
    assert_eq!(code(&o), 1);
    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(
        text.contains("shell(\"read RCC.CR.D2CKRDY\");\nshell(\"core cm4\");\n"),
        "{text}"
    );
    assert!(!text.contains("0xE000ED00"), "{text}");
    // Replayed on a board with other option bytes: a warning on stderr, same commands.
    let o = sb.run(&["--sim", "nucleo-h755zi-q", rec.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: the option bytes differ from the recording's"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn record_errors() {
    let sb = Sandbox::new();
    let (c, _, err) = sim("nucleo-h755zi-q", "record stop");
    assert_eq!(c, 1);
    assert!(err.contains("not recording"), "{err}");
    let a = sb.dir.path().join("a.rhai");
    let cmds = format!("record {0}; record {0}", a.display());
    let (c, _, err) = sim("nucleo-h755zi-q", &cmds);
    assert_eq!(c, 1);
    assert!(err.contains("already recording"), "{err}");
    let (c, _, err) = sim("nucleo-h755zi-q", "record /nonexistent/dir/x.rhai");
    assert_eq!(c, 1);
    assert!(
        err.contains("cannot write /nonexistent/dir/x.rhai"),
        "{err}"
    );
}
