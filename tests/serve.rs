//! The virtual board served to debuggers h7sh did not write (issue 13): real OpenOCD 0.12 over
//! remote_bitbang and real pyOCD 0.46 over its remote probe protocol, next to the shell's own
//! session on the same board. Each test says `skipped:` when its client is not installed
//! (`.ci/run` installs both).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use h7sh::session::{Outcome, Session};
use h7sh::sim::probe::ProbeKind;

mod common;

/// `name` on PATH, or a visible skip line.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        println!(
            "skipped: `{name}` is not installed (.ci/run installs it: pip install pyocd==0.46.0, \
             apt-get install openocd)"
        );
    }
    found
}

fn message(s: &mut Session, cmd: &str) -> String {
    match s
        .run_line(cmd)
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
        .pop()
    {
        Some(Outcome::Message { text }) => text,
        other => panic!("{cmd}: {other:?}"),
    }
}

/// Serve `frontend` on a free loopback port; the address it listens on.
fn serve(s: &mut Session, frontend: &str) -> String {
    let text = message(s, &format!("sim serve {frontend}=0"));
    let addr = text
        .split("listening on ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {text}"));
    addr.to_string()
}

fn values(s: &mut Session, cmd: &str) -> Vec<u32> {
    common::sim_values(s, cmd)
}

/// OpenOCD with the board as a remote_bitbang adapter and ST's stm32h7x.cfg in dual-core mode;
/// its whole output.
fn openocd(openocd: &PathBuf, addr: &str, commands: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let out = Command::new(openocd)
        .args([
            "-c",
            &format!(
                "adapter driver remote_bitbang; remote_bitbang host {host}; \
                 remote_bitbang port {port}; transport select jtag"
            ),
            "-c",
            "set DUAL_CORE 1",
            "-f",
            "target/stm32h7x.cfg",
            "-c",
            "gdb_port disabled; tcl_port disabled; telnet_port disabled",
            "-c",
            commands,
        ])
        .output()
        .expect("run openocd");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// pyOCD's commander on the board's remote probe; its whole output.
fn pyocd(pyocd: &PathBuf, addr: &str, commands: &[&str]) -> String {
    let mut cmd = Command::new(pyocd);
    cmd.args([
        "commander",
        "-u",
        &format!("remote:{addr}"),
        "-t",
        "cortex_m",
    ]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    let out = cmd.output().expect("run pyocd");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn openocd_finds_the_chain_and_both_cores_and_halts_them() {
    let Some(bin) = tool("openocd") else { return };
    for kind in [ProbeKind::CmsisDap, ProbeKind::StlinkV3] {
        let mut s = common::sim_session("nucleo-h755zi-q", kind);
        let addr = serve(&mut s, "bitbang");
        let out = openocd(
            &bin,
            &addr,
            "init; targets stm32h7x.cpu0; halt; targets stm32h7x.cpu1; halt; \
             mww 0x30040000 0x5eed0123; shutdown",
        );
        for want in [
            "tap/device found: 0x6ba00477",
            "tap/device found: 0x06450041",
            "Cortex-M7 r1p1 processor detected",
            "Cortex-M4 r0p1 processor detected",
        ] {
            assert!(out.contains(want), "{kind}: no `{want}` in:\n{out}");
        }
        assert_eq!(
            out.matches("halted due to debug-request").count(),
            2,
            "{kind}:\n{out}"
        );
        // What OpenOCD did is what the shell sees: both cores halted, its write in SRAM3, and
        // the DBGMCU_CR bits its stm32h7x.cfg sets at examine.
        let status = serde_json::to_value(s.run_line("status").unwrap()).unwrap();
        let text = status.to_string();
        assert_eq!(text.matches("\"halted\"").count(), 2, "{kind}: {text}");
        assert_eq!(values(&mut s, "read 0x30040000"), [0x5EED_0123], "{kind}");
        assert_eq!(
            values(&mut s, "read DBGMCU_CR")[0] & 0x0060_003F,
            0x0060_003F
        );
        // Per-client counters.
        let stats = serde_json::to_value(s.run_line("sim stats").unwrap()).unwrap();
        let client = &stats[0]["stats"]["clients"][0];
        assert!(
            client["name"].as_str().unwrap().starts_with("bitbang"),
            "{stats}"
        );
        assert!(
            client["stats"]["transactions"].as_u64().unwrap() > 100,
            "{stats}"
        );
    }
}

#[test]
fn openocd_reports_the_forum_symptom_on_bcm4_off() {
    let Some(bin) = tool("openocd") else { return };
    let mut s = common::sim_session("bcm4-off", ProbeKind::CmsisDap);
    let addr = serve(&mut s, "bitbang");
    let out = openocd(&bin, &addr, "init; shutdown");
    assert!(out.contains("Cortex-M7 r1p1 processor detected"), "{out}");
    assert!(
        out.contains("[stm32h7x.cpu1] Cortex-M PARTNO 0x0 is unrecognized"),
        "{out}"
    );
    // The shell, on the same board, says why.
    let e = s
        .run_line("core cm4")
        .and_then(|_| s.run_line("read 0xE000ED00"));
    assert!(e.unwrap_err().to_string().contains("BCM4"));
}

#[test]
fn pyocd_finds_both_cores_halts_them_and_shares_memory_with_the_shell() {
    let Some(bin) = tool("pyocd") else { return };
    let mut s = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    s.run_line("write 0x24000000 0xCAFEF00D").unwrap();
    let addr = serve(&mut s, "pyocd");
    let out = pyocd(
        &bin,
        &addr,
        &[
            "show aps",
            "show cores",
            "halt",
            "reg pc",
            "read32 0x24000000 4",
            "write32 0x24000010 0x12345678",
            "core 1",
            "halt",
            "reg pc",
        ],
    );
    assert!(
        out.contains("Cortex-M7") && out.contains("Cortex-M4"),
        "{out}"
    );
    for ap in ["#0: AHB-AP", "#1: AHB-AP", "#2: APB-AP", "#3: AHB-AP"] {
        assert!(out.contains(ap), "{ap}:\n{out}");
    }
    assert_eq!(
        out.matches("Successfully halted device").count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("cafef00d"),
        "the shell's write, read by pyOCD:\n{out}"
    );
    assert!(out.contains("pc = 0x08100"), "the CM4's PC:\n{out}");
    assert_eq!(values(&mut s, "read 0x24000010"), [0x1234_5678]);
    let status = serde_json::to_value(s.run_line("status").unwrap()).unwrap();
    assert_eq!(
        status.to_string().matches("\"halted\"").count(),
        2,
        "{status}"
    );
}

#[test]
fn pyocd_sees_only_the_cm7_in_the_seed_scenarios() {
    let Some(bin) = tool("pyocd") else { return };
    for (scenario, why) in [
        ("bcm4-off", ""),
        // AP3's CSW.DeviceEn = 0 while D2 sleeps without its debug clock.
        (
            "cm4-stop-no-dbg",
            "Skipping CoreSight discovery for AHB-AP#3 because it is disabled",
        ),
    ] {
        let mut s = common::sim_session(scenario, ProbeKind::CmsisDap);
        let addr = serve(&mut s, "pyocd");
        let out = pyocd(&bin, &addr, &["show cores"]);
        assert!(out.contains("Cortex-M7"), "{scenario}: {out}");
        assert!(!out.contains("Cortex-M4"), "{scenario}: {out}");
        assert!(out.contains(why), "{scenario}: {out}");
    }
}

/// `pyocd gdbserver` over the remote probe serves GDB: registers and memory of the CM7.
#[test]
fn pyocd_gdbserver_serves_gdb() {
    let (Some(py), Some(gdb)) = (tool("pyocd"), tool("gdb-multiarch")) else {
        return;
    };
    let mut s = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    let addr = serve(&mut s, "pyocd");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new(py)
        .args([
            "gdbserver",
            "-u",
            &format!("remote:{addr}"),
            "-t",
            "cortex_m",
        ])
        .args(["-p", &port.to_string(), "-T", "0", "--persist"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let mut listening = false;
    while err.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains(&format!("GDB server listening on port {port}")) {
            listening = true;
            break;
        }
        line.clear();
    }
    assert!(listening, "pyocd gdbserver did not start: {line}");
    let out = Command::new(gdb)
        .args(["-batch", "-nx", "-ex", "set architecture armv7e-m"])
        .args(["-ex", &format!("target remote 127.0.0.1:{port}")])
        .args([
            "-ex",
            "info registers pc sp",
            "-ex",
            "x/2xw 0x08000000",
            "-ex",
            "detach",
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0x8000600"), "the CM7's PC:\n{text}");
    assert!(
        text.contains("0x20020000\t0x080002c1"),
        "the vector table:\n{text}"
    );
}

/// The binary as a user meets it: `--serve` prints where it listens, the shell keeps reading
/// commands, and `sim stats` counts the client apart.
#[test]
fn the_binary_serves_while_the_shell_runs() {
    let Some(bin) = tool("pyocd") else { return };
    let sb = common::Sandbox::new();
    let mut child = sb
        .cmd(&["--sim", "--serve", "pyocd=127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.split("listening on ").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
            break;
        }
        line.clear();
    }
    let addr = addr.expect("a listening line");
    let out = pyocd(&bin, &addr, &["read32 0x08000000 8"]);
    assert!(out.contains("20020000"), "{out}");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"sim stats\n").unwrap();
    drop(stdin);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        stdout.contains(&format!("client pyocd {addr} (1 connection)")),
        "{stdout}"
    );
}

/// Garbage, a flood and a vanished client end their own connection only: the shell and the
/// next client carry on.
#[test]
fn bad_clients_lose_their_connection_and_nothing_else() {
    let mut s = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    let bitbang = serve(&mut s, "bitbang");
    let py = serve(&mut s, "pyocd");

    // remote_bitbang: a byte outside the protocol closes the connection.
    let mut c = TcpStream::connect(&bitbang).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"0101R\x00R").unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert_eq!(got, b"1", "one TDO answer, then closed");

    // pyOCD: a malformed line gets an error reply, the connection goes on.
    let c = TcpStream::connect(&py).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut w = c.try_clone().unwrap();
    let mut r = BufReader::new(c);
    let mut ask = |line: &str| {
        w.write_all(line.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        let mut reply = String::new();
        r.read_line(&mut reply).unwrap();
        serde_json::from_str::<serde_json::Value>(&reply).unwrap()
    };
    assert_eq!(ask("{not json")["status"], 1);
    assert_eq!(
        ask(r#"{"id": 7, "request": "fly"}"#)["error"],
        "unknown request type"
    );
    let r1 = ask(r#"{"id": 8, "request": "read_dp", "arguments": [0]}"#);
    assert_eq!(r1["status"], 10, "not connected yet: {r1}");
    assert_eq!(
        ask(r#"{"id": 9, "request": "connect", "arguments": ["SWD"]}"#)["status"],
        0
    );
    // The port still speaks JTAG (power-on): pyOCD's own switch would come first.
    assert_eq!(
        ask(r#"{"id": 10, "request": "read_dp", "arguments": [0]}"#)["status"],
        10
    );
    let swd = ask(r#"{"id": 11, "request": "swj_sequence", "arguments": [51, 2251799813685247]}"#);
    assert_eq!(swd["status"], 0, "{swd}");
    ask(r#"{"id": 12, "request": "swj_sequence", "arguments": [16, 59294]}"#);
    ask(r#"{"id": 13, "request": "swj_sequence", "arguments": [51, 2251799813685247]}"#);
    ask(r#"{"id": 14, "request": "swj_sequence", "arguments": [8, 0]}"#);
    let dpidr = ask(r#"{"id": 15, "request": "read_dp", "arguments": [0]}"#);
    assert_eq!(dpidr["result"], 0x6BA0_2477, "{dpidr}");
    assert_eq!(dpidr["id"], 15);

    // A flood: a line longer than any request closes the connection.
    let mut flood = TcpStream::connect(&py).unwrap();
    flood
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let big = vec![b'x'; 1 << 20];
    let _ = flood.write_all(&big);
    let _ = flood.write_all(&big);
    let mut rest = Vec::new();
    let _ = flood.read_to_end(&mut rest);
    assert!(rest.is_empty(), "no reply to a flood");

    // A client that vanishes mid-request.
    let mut gone = TcpStream::connect(&py).unwrap();
    gone.write_all(br#"{"id": 1, "request": "hel"#).unwrap();
    drop(gone);

    // The shell is unharmed and the board still serves.
    assert_eq!(values(&mut s, "read DBGMCU_IDC")[0] & 0xFFF, 0x450);
    let again = ask(r#"{"id": 16, "request": "read_dp", "arguments": [4]}"#);
    assert_eq!(again["status"], 0, "{again}");
}

#[test]
fn serve_specs_are_checked() {
    let mut s = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    let e = s.run_line("sim serve gdb=1234").unwrap_err();
    assert!(e.to_string().contains("unknown front end `gdb`"), "{e}");
    assert!(e.hint().contains("pyocd"), "{}", e.hint());
    let e = s.run_line("sim serve bitbang=localhost").unwrap_err();
    assert!(e.to_string().contains("bad address"), "{e}");
    let addr = serve(&mut s, "bitbang");
    let port = addr.rsplit_once(':').unwrap().1;
    let e = s
        .run_line(&format!("sim serve bitbang={port}"))
        .unwrap_err();
    assert!(e.to_string().contains("cannot listen"), "{e}");
    assert!(message(&mut s, "sim serve").contains(&addr));
}

/// h7sh's own session through probe-rs's real Black Magic Probe driver
/// (`--probe 1d50:6018:HOST:PORT`) on the board served over the BMP remote protocol.
fn bmp_session(addr: &str, more: &[&str]) -> Session {
    use clap::Parser;
    let selector = format!("1d50:6018:{addr}");
    let mut args = vec!["h7sh", "--probe", &selector, "--no-svd-cache"];
    args.extend_from_slice(more);
    let cli = h7sh::cli::Cli::parse_from(args);
    h7sh::cli::connect(&cli).unwrap_or_else(|e| panic!("connect through the BMP driver: {e}"))
}

fn findings(s: &mut Session) -> Vec<String> {
    let json = serde_json::to_value(s.run_line("doctor").unwrap()).unwrap();
    json[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// Everything h7sh does on `--sim` gives the same answer through probe-rs's Black Magic Probe
/// driver: identity, both cores, the seed scenarios' diagnoses, halting, memory both ways, JTAG.
#[test]
fn probe_rs_black_magic_probe_driver_runs_h7sh_end_to_end() {
    for scenario in [
        "nucleo-h755zi-q",
        "bcm4-off",
        "cm4-stop-no-dbg",
        "cm4-bad-boot",
    ] {
        let mut direct = common::sim_session(scenario, ProbeKind::CmsisDap);
        let want = findings(&mut direct);
        let mut board = common::sim_session(scenario, ProbeKind::CmsisDap);
        let addr = serve(&mut board, "bmp");
        let mut b = bmp_session(&addr, &[]);
        assert_eq!(findings(&mut b), want, "{scenario}");
        assert_eq!(
            values(&mut b, "read DBGMCU_IDC"),
            values(&mut direct, "read DBGMCU_IDC"),
            "{scenario}"
        );
    }
    let mut board = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    let addr = serve(&mut board, "bmp");
    let mut b = bmp_session(&addr, &[]);
    let info = serde_json::to_value(b.run_line("info").unwrap()).unwrap();
    assert_eq!(info[0]["identity"]["cm4_cpuid"], 0x410F_C241, "{info}");
    b.run_line("write 0x24000020 0xB1AC4A61").unwrap();
    assert_eq!(values(&mut board, "read 0x24000020"), [0xB1AC_4A61]);
    board.run_line("write 0x24000024 0x0BADCAFE").unwrap();
    assert_eq!(values(&mut b, "read 0x24000024"), [0x0BAD_CAFE]);
    b.run_line("core cm4").unwrap();
    b.run_line("halt").unwrap();
    let status = serde_json::to_value(board.run_line("status").unwrap()).unwrap();
    assert_eq!(
        status.to_string().matches("\"halted\"").count(),
        1,
        "{status}"
    );
    // The first thread's fix, through the BMP: the option byte programmed, the reset, healthy.
    let mut board = common::sim_session("bcm4-off", ProbeKind::CmsisDap);
    let addr = serve(&mut board, "bmp");
    let mut b = bmp_session(&addr, &["--yes"]);
    b.run_line("ob set BCM4=1").unwrap();
    b.run_line("reset").unwrap();
    assert!(findings(&mut b).is_empty());
    assert_eq!(values(&mut board, "read FLASH_OPTSR_CUR.BCM4"), [1]);
    // JTAG through the same driver: the chain scan (JN/Jd bit by bit), then DPACC/APACC.
    let mut board = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    let addr = serve(&mut board, "bmp");
    let mut j = bmp_session(&addr, &["--protocol", "jtag"]);
    let info = serde_json::to_value(j.run_line("info").unwrap()).unwrap();
    assert_eq!(
        info[0]["wire"]["jtag_chain"].as_array().map(Vec::len),
        Some(2),
        "{info}"
    );
    j.run_line("core cm4").unwrap();
    assert_eq!(values(&mut j, "read 0xE000ED00"), [0x410F_C241]);
}

/// The BMP remote protocol answered as BMP firmware answers it, byte for byte.
#[test]
fn the_bmp_server_answers_as_the_firmware_does() {
    let mut s = common::sim_session("nucleo-h755zi-q", ProbeKind::CmsisDap);
    let addr = serve(&mut s, "bmp");
    let c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut w = c.try_clone().unwrap();
    let mut r = BufReader::new(c);
    let mut ask = |packet: &str| {
        w.write_all(packet.as_bytes()).unwrap();
        let mut reply = Vec::new();
        r.read_until(b'#', &mut reply).unwrap();
        String::from_utf8(reply).unwrap()
    };
    assert!(ask("+#!GA#").starts_with("&KBlack Magic Probe"));
    assert_eq!(ask("!HC#"), "&K4#");
    assert_eq!(ask("!HA#"), "&K1#", "the ADIv5 accelerator");
    assert_eq!(ask("!SS#"), "&K0#");
    // Line reset, JTAG-to-SWD, line reset, idle: bits on SWDIO.
    for p in [
        "!So20ffffffff#",
        "!So137ffff#",
        "!So10e79e#",
        "!So20ffffffff#",
        "!So137ffff#",
        "!So080#",
    ] {
        assert_eq!(ask(p), "&K0#", "{p}");
    }
    // DPIDR through the firmware: its value in memory byte order.
    assert_eq!(ask("!Ad00ff0000#"), "&K7724a06b#");
    // Power-up, then AP0's IDR.
    assert_eq!(ask("!AR0000000450000000#"), "&K00000000#");
    assert_eq!(ask("!Aa000001fc#"), "&K01007784#");
    // A write to an unmapped address through AP0 and its read: the firmware clears the sticky
    // flag and retries, so the read comes back as 0 with no error, as on a real BMP.
    assert_eq!(
        ask("!Am0000a2000052000000006000000000000004#"),
        "&K00000000#"
    );
    // Garbage packets are errors, not the end of the connection.
    assert_eq!(ask("!Zz#"), "&E1#");
    assert_eq!(ask("!Ad00#"), "&P0#");
    assert_eq!(ask("!Ad00ff0000#"), "&K7724a06b#");
    // A read running off the top of the address space wraps, as TAR does.
    assert!(ask("!Am0000a200005200000000fffffffc00000008#").starts_with("&K"));
    // A packet longer than the firmware's buffer ends the connection; the shell is unharmed.
    w.write_all(b"!").unwrap();
    let _ = w.write_all(&[b'A'; 2048]);
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(values(&mut s, "read DBGMCU_IDC")[0] & 0xFFF, 0x450);
}
