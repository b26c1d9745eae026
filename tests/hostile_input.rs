//! Hostile inputs through the binary, as a user gives them (issue 9): stdin, scripts, files
//! the user names, limits of time and memory. Each of these used to hang, abort, leak a file
//! or run out of memory.

mod hostile_util;

use hostile_util::{text, Env};

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn stdin_runs_line_by_line_and_a_non_utf8_line_is_a_json_error_for_that_line() {
    let env = Env::new();
    let o = env.run(
        &["--sim", "--json"],
        b"sim wait 1\n\xff\xfe bad\nsim wait 2\n",
    );
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert_eq!(code(&o), 1);
    // The line before ran; the one after did not (stops at the first error, as -c does).
    assert!(
        out.contains("advanced by 1 ms") && !out.contains("by 2 ms"),
        "{out}"
    );
    let e: serde_json::Value = serde_json::from_str(err.trim()).expect("error as JSON");
    assert_eq!(e["error"], "line 2 of stdin is not UTF-8 text", "{err}");
}

#[test]
fn a_megabyte_line_on_stdin_is_refused_at_once() {
    let env = Env::new();
    let mut line = b"echo ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 1 << 20));
    line.extend(b"\nsim wait 1\n");
    let o = env.run(&["--sim"], &line);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("more than the limit of 1048576"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_script_runs_only_rhai_files_and_never_returns_another_files_content() {
    let env = Env::new();
    env.write("secret.txt", "the secret\n");
    env.write("s.rhai", r#"sh("run secret.txt")"#);
    let o = env.run(&["--sim", "s.rhai"], b"");
    assert_eq!(code(&o), 1);
    let all = text(&o.stdout) + text(&o.stderr).as_str();
    assert!(all.contains("`secret.txt` is not a .rhai script"), "{all}");
    assert!(!all.contains("the secret"), "{all}");
}

#[test]
fn import_cycles_are_errors_not_aborts() {
    let env = Env::new();
    env.write("me.rhai", "import \"me\" as me; 1");
    env.write("a.rhai", "import \"b\" as b; 1");
    env.write("b.rhai", "import \"a\" as a; 1");
    for (script, cycle) in [
        ("me.rhai", "import cycle: me.rhai -> me.rhai"),
        ("a.rhai", "import cycle: a.rhai -> b.rhai -> a.rhai"),
    ] {
        let o = env.run(&["--sim", script], b"");
        assert_eq!(code(&o), 1, "{script}");
        assert!(text(&o.stderr).contains(cycle), "{}", text(&o.stderr));
    }
}

#[test]
fn timeout_stops_a_script_inside_one_long_call() {
    let env = Env::new();
    env.write("w.rhai", r#"wait("RCC_CR", 12345, 100000000000)"#);
    // Caught and retried: the deadline still ends it.
    env.write(
        "c.rhai",
        r#"loop { try { wait("RCC_CR", 12345, 100000000) } catch (e) { } }"#,
    );
    for script in ["w.rhai", "c.rhai"] {
        let o = env.run(&["--sim", "--timeout", "1", script], b"");
        assert_eq!(code(&o), 1, "{script}");
        assert!(
            text(&o.stderr).contains("ran longer than --timeout 1 s"),
            "{script}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn endless_virtual_waits_are_refused() {
    let env = Env::new();
    let o = env.run(&["--sim", "-c", "sim wait 18446744073709551615"], b"");
    assert_eq!(code(&o), 1);
    assert!(text(&o.stderr).contains("longer than the limit of 3600000 ms"));
    env.write("s.rhai", "sleep(100000000000)");
    env.write("w.rhai", r#"sh("sim wait 100000000000")"#);
    for script in ["s.rhai", "w.rhai"] {
        let o = env.run(&["--sim", script], b"");
        assert_eq!(code(&o), 1, "{script}");
        assert!(
            text(&o.stderr).contains("longer than the limit of 3600000 ms"),
            "{script}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn script_memory_is_bounded_in_total() {
    let env = Env::new();
    // Each string is within --max-string-size; together they are not within --max-memory.
    env.write(
        "m.rhai",
        r#"let m = #{}; for i in 0..100 { let s = "y"; s.pad(4000000, "z"); m[`k${i}`] = s; } m.len()"#,
    );
    let o = env.run(
        &[
            "--sim",
            "--max-memory",
            "50000000",
            "--max-string-size",
            "1000000000",
            "m.rhai",
        ],
        b"",
    );
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("grew past its memory limit of 47 MiB"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn special_files_named_by_the_user_are_refused() {
    let env = Env::new();
    let o = env.run(&["--sim", "-c", "run /dev/zero"], b"");
    assert_eq!(code(&o), 1);
    assert!(text(&o.stderr).contains("a device: a script must be a regular file"));
    // As the script, refused before connecting (no probe needed to say so).
    let o = env.run(&["/dev/zero"], b"");
    assert_eq!(code(&o), 1);
    assert!(text(&o.stderr).contains("a device: a script must be a regular file"));
    let o = env.run(&["--sim", "/dev/zero"], b"");
    assert!(text(&o.stderr).contains("a device: a scenario file must be a regular file"));
    let o = env.run(
        &["--sim", "--sim-state", "/dev/zero", "-c", "sim wait 1"],
        b"",
    );
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("a device: a state file must be a regular file"),
        "{}",
        text(&o.stderr)
    );
    let o = env.run(&["--svd", "/dev/zero", "--sim", "-c", "sim wait 1"], b"");
    assert!(text(&o.stderr).contains("a device: a SVD file must be a regular file"));
    // A FIFO would block the read for ever.
    let fifo = env.path("fifo.rhai");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let o = env.run(&["--sim", "fifo.rhai"], b"");
        assert!(
            text(&o.stderr).contains("a FIFO (named pipe)"),
            "{}",
            text(&o.stderr)
        );
    }
}

#[test]
fn scenario_images_are_bounded_and_a_huge_fill_is_refused_before_allocation() {
    let env = Env::new();
    env.write(
        "zero.toml",
        "name = \"z\"\n[[flash.image]]\naddress = 0x08000000\nfile = \"/dev/zero\"\n",
    );
    let o = env.run(&["--sim", "zero.toml", "-c", "sim wait 1"], b"");
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("a flash image must be a regular file"),
        "{}",
        text(&o.stderr)
    );
    env.write(
        "fill.toml",
        "name = \"f\"\n[[flash.image]]\naddress = 0x08000000\nfill = 0xAB\nlength = 4294967295\n",
    );
    let o = env.run(&["--sim", "fill.toml", "-c", "sim wait 1"], b"");
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("4294967295 bytes at 0x08000000 do not fit in flash"),
        "{}",
        text(&o.stderr)
    );
}
