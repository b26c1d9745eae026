//! Every feature under every probe personality of the virtual board: the forum scenarios give
//! the same findings and diagnoses through CMSIS-DAP (v1 and v2), ST-LINK (V2, V3) and J-Link,
//! and an honest, specific answer where the probe cannot (ST-LINK V2J27: AP0 only).

use clap::Parser;
use h7sh::session::{Outcome, Session, ShellError};
use h7sh::sim::probe::ProbeKind;
use std::path::Path;

const FORUM: [&str; 4] = ["bcm4-off", "cm4-stop-no-dbg", "cm4-bad-boot", "rdp1"];

fn session_with(scenario: &str, kind: ProbeKind, flags: &[&str]) -> Result<Session, ShellError> {
    let mut argv: Vec<String> = [
        "h7sh",
        "--sim",
        scenario,
        "--sim-probe",
        kind.name(),
        "--json",
    ]
    .map(String::from)
    .to_vec();
    if let Some(dir) = h7sh::svd::testing::st_svd_dir() {
        argv.push("--svd".into());
        argv.push(dir.join("STM32H755_CM7.svd").to_string_lossy().into_owned());
    }
    argv.extend(flags.iter().map(|f| f.to_string()));
    h7sh::cli::connect(&h7sh::cli::Cli::parse_from(argv))
}

fn session(scenario: &str, kind: ProbeKind) -> Session {
    session_with(scenario, kind, &[])
        .unwrap_or_else(|e| panic!("connect {scenario} with {kind}: {e}"))
}

fn doctor_ids(s: &mut Session) -> Vec<String> {
    let out = s.run_line("doctor").expect("doctor");
    let json = serde_json::to_value(&out).unwrap();
    let mut ids: Vec<String> = json[0]["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn word(s: &mut Session, cmd: &str) -> u32 {
    match s.run_line(cmd).expect(cmd).pop() {
        Some(Outcome::Memory { values, .. }) => values[0],
        other => panic!("{cmd}: {other:?}"),
    }
}

fn words(s: &mut Session, cmd: &str) -> Vec<u32> {
    match s.run_line(cmd).expect(cmd).pop() {
        Some(Outcome::Memory { values, .. }) => values,
        other => panic!("{cmd}: {other:?}"),
    }
}

/// The CM4 CPUID read: Ok(value) or the error's (kind, message, hint).
fn cm4_cpuid(s: &mut Session) -> Result<u32, (String, String, String)> {
    s.run_line("core cm4").ok();
    let r = match s.run_line("read 0xE000ED00") {
        Ok(mut out) => match out.pop() {
            Some(Outcome::Memory { values, .. }) => Ok(values[0]),
            other => panic!("{other:?}"),
        },
        Err(e) => Err((e.kind().to_string(), e.to_string(), e.hint())),
    };
    s.run_line("core cm7").unwrap();
    r
}

#[test]
fn forum_scenarios_give_the_same_doctor_findings_and_cm4_diagnosis_on_every_probe() {
    for scenario in FORUM {
        let mut reference = session(scenario, ProbeKind::CmsisDap);
        let want_ids = doctor_ids(&mut reference);
        let want_cm4 = cm4_cpuid(&mut reference);
        for kind in ProbeKind::ALL {
            let mut s = session(scenario, kind);
            assert_eq!(doctor_ids(&mut s), want_ids, "{scenario} doctor on {kind}");
            let got = cm4_cpuid(&mut s);
            if kind == ProbeKind::StlinkV2J27 {
                // AP3 out of the firmware's reach: the firmware message, and the same cause
                // found through AP0.
                let (gk, gm, gh) = got.clone().unwrap_err();
                assert_eq!(gk, "probe-firmware", "{scenario} on {kind}: {gm}");
                assert!(gh.contains("V2J28"), "{gh}");
                if let Err((_, wm, _)) = &want_cm4 {
                    let cause = wm.split(": ").last().unwrap();
                    assert!(gh.contains(cause), "{scenario}: `{gh}` lacks `{cause}`");
                }
            } else {
                assert_eq!(got, want_cm4, "{scenario} CM4 CPUID on {kind}");
            }
        }
    }
}

#[test]
fn shipped_scripts_give_the_same_result_on_every_probe_that_reaches_ap3() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    for (script, scenario, args) in [
        ("boot-state.rhai", "cm4-bad-boot", vec![]),
        ("forum-bcm4-off.rhai", "bcm4-off", vec![]),
        (
            "dual-core-bringup.rhai",
            "cm4-stop-no-dbg",
            vec!["fix".to_string()],
        ),
    ] {
        let run = |kind| {
            let mut s = session_with(scenario, kind, &["--yes"]).unwrap();
            let r = h7sh::script::run_file(&mut s, &dir.join(script), &args)
                .map_err(|e| (e.kind(), e.to_string()));
            // Whether each core is reachable (running and sleeping differ with how much time
            // a probe's traffic lets pass, as on the bench).
            let status = h7sh::script::eval(
                &mut s,
                "let st = status(); [st.cm7.state != \"unreachable\", st.cm4.state != \"unreachable\"]",
            )
            .unwrap();
            (r, status)
        };
        let want = run(ProbeKind::CmsisDap);
        for kind in ProbeKind::ALL {
            if kind == ProbeKind::StlinkV2J27 {
                continue;
            }
            assert_eq!(run(kind), want, "{script} on {scenario} with {kind}");
        }
    }
}

#[test]
fn connect_under_reset_catches_the_cm7_at_its_reset_vector_on_every_probe() {
    for kind in ProbeKind::ALL {
        let mut s = session_with("nucleo-h755zi-q", kind, &["--connect-under-reset"]).unwrap();
        let changes = s.target().connect_changes.join("\n");
        assert!(
            changes.contains("halted at its reset vector"),
            "{kind}: changes `{changes}`, notes {:?}",
            s.target().connect_notes
        );
        // Halted, by the vector catch, at the reset handler; the catch is cleared again.
        assert_eq!(
            word(&mut s, "read 0xE000EDF0") & (1 << 17),
            1 << 17,
            "{kind}"
        );
        assert_eq!(word(&mut s, "read 0xE000ED30") & (1 << 3), 1 << 3, "{kind}");
        assert_eq!(
            word(&mut s, "read 0xE000EDFC") & 1,
            0,
            "{kind}: VC_CORERESET"
        );
        let vector = word(&mut s, "read 0x08000004") & !1;
        let pc = match s.run_line("reg pc").unwrap().pop() {
            Some(o) => serde_json::to_value(&o).unwrap()["value"].as_u64().unwrap() as u32,
            None => panic!(),
        };
        assert_eq!(pc, vector, "{kind}");
    }
}

#[test]
fn apb_ap_accesses_smaller_than_a_word_are_refused_alike() {
    for kind in ProbeKind::ALL {
        if kind == ProbeKind::StlinkV2J27 {
            continue;
        }
        let mut s = session("nucleo-h755zi-q", kind);
        s.run_line("ap 2").unwrap();
        for cmd in [
            "read 0xE00E1004/b",
            "read 0xE00E1004/h",
            "write 0xE00E1004/b 0x30",
        ] {
            let e = s.run_line(cmd).expect_err(cmd);
            assert_eq!(e.kind(), "bad-value", "{kind} `{cmd}`: {e}");
            assert!(e.to_string().contains("32-bit"), "{e}");
        }
        assert_eq!(word(&mut s, "read 0xE00E1000") & 0xFFF, 0x450, "{kind}");
    }
}

#[test]
fn long_halfword_reads_come_from_the_right_addresses_on_every_probe() {
    let want = words(
        &mut session("nucleo-h755zi-q", ProbeKind::CmsisDap),
        "read 0x08000000/h 100",
    );
    assert_eq!(want.len(), 100);
    for kind in ProbeKind::ALL {
        let got = words(
            &mut session("nucleo-h755zi-q", kind),
            "read 0x08000000/h 100",
        );
        assert_eq!(got, want, "{kind}");
    }
}

#[test]
fn st_link_faults_and_waits_are_access_errors_not_a_lost_probe() {
    for kind in [ProbeKind::StlinkV2, ProbeKind::StlinkV3] {
        let mut s = session("rdp1", kind);
        // RDP 1 with a debugger: flash reads fault.
        let e = s
            .run_line("read 0x08000000")
            .expect_err("flash under RDP 1");
        assert_eq!(e.kind(), "access", "{kind}: {e}");
        assert!(e.to_string().contains("SwdApFault"), "{e}");
        // The probe still answers afterwards.
        assert_eq!(word(&mut s, "read 0xE000ED00") >> 4 & 0xFFF, 0xC27);
    }
}

#[test]
fn an_unplugged_probe_is_lost_with_its_cause_on_every_probe() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("unplug.toml");
    std::fs::write(
        &scenario,
        "name = \"unplug\"\n[faults]\nunplug_after = 300\n",
    )
    .unwrap();
    for kind in ProbeKind::ALL {
        let mut s = session(scenario.to_str().unwrap(), kind);
        let e = (0..400)
            .find_map(|_| s.run_line("read 0xE000ED00").err())
            .unwrap_or_else(|| panic!("{kind}: never unplugged"));
        assert_eq!(e.kind(), "probe-lost", "{kind}: {e}");
        assert!(e.to_string().contains("unplugged"), "{kind}: {e}");
    }
}

#[test]
fn a_silent_debug_port_says_what_the_probe_knows_of_the_target_voltage() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("silent.toml");
    std::fs::write(
        &scenario,
        "name = \"silent\"\n[faults]\nno_ack_burst = { after = 0, count = 1000000 }\n",
    )
    .unwrap();
    for kind in ProbeKind::ALL {
        let e = session_with(scenario.to_str().unwrap(), kind, &[])
            .err()
            .unwrap_or_else(|| panic!("{kind}: connected to a silent port"));
        assert_eq!(e.kind(), "debug-port", "{kind}: {e}");
        let text = e.to_string();
        match kind {
            ProbeKind::CmsisDap | ProbeKind::CmsisDapV1 => {
                assert!(
                    text.contains("does not measure the target voltage"),
                    "{text}"
                )
            }
            _ => assert!(text.contains("target voltage 3.30 V"), "{kind}: {text}"),
        }
    }
}

#[test]
fn the_board_reconnects_after_a_power_cycle_on_every_probe() {
    for kind in ProbeKind::ALL {
        let mut s = session("nucleo-h755zi-q", kind);
        s.run_line("sim power-cycle").unwrap();
        assert_eq!(
            word(&mut s, "read 0xE000ED00") >> 4 & 0xFFF,
            0xC27,
            "{kind} after a power cycle"
        );
    }
}

#[test]
fn step_and_core_reset_work_the_same_on_every_probe() {
    for kind in ProbeKind::ALL {
        let mut s = session("nucleo-h755zi-q", kind);
        s.run_line("halt").unwrap();
        s.run_line("step")
            .unwrap_or_else(|e| panic!("{kind} step: {e}"));
        // C_MASKINTS is clear again after the step, the core still halted.
        let dhcsr = word(&mut s, "read 0xE000EDF0");
        assert_eq!(dhcsr & (1 << 17), 1 << 17, "{kind}");
        assert_eq!(dhcsr & (1 << 3), 0, "{kind}: C_MASKINTS left set");
        s.run_line("reset core halt")
            .unwrap_or_else(|e| panic!("{kind} reset core halt: {e}"));
        assert_eq!(
            word(&mut s, "read 0xE000EDF0") & (1 << 17),
            1 << 17,
            "{kind}"
        );
        assert_eq!(
            word(&mut s, "read 0xE000EDFC") & 1,
            0,
            "{kind}: catch cleared"
        );
        s.run_line("reset core")
            .unwrap_or_else(|e| panic!("{kind} reset core: {e}"));
        assert_eq!(
            word(&mut s, "read 0xE000EDF0") & (1 << 17),
            0,
            "{kind}: runs"
        );
    }
}

#[test]
fn connect_under_reset_says_why_when_there_is_nothing_to_catch() {
    let dir = tempfile::tempdir().unwrap();
    let off = dir.path().join("cm7-off.toml");
    std::fs::write(&off, "name = \"cm7-off\"\n[option_bytes]\nBCM7 = 0\n").unwrap();
    let erased = dir.path().join("cm7-erased.toml");
    std::fs::write(
        &erased,
        "name = \"cm7-erased\"\n[option_bytes]\nBCM7_ADD0 = 0x0808\n",
    )
    .unwrap();
    for kind in [ProbeKind::CmsisDap, ProbeKind::StlinkV3, ProbeKind::Jlink] {
        let mut s = session_with(off.to_str().unwrap(), kind, &["--connect-under-reset"]).unwrap();
        let notes = s.target().connect_notes.join("\n");
        assert!(s.target().connect_changes.is_empty(), "{kind}");
        assert!(
            notes.contains("did not catch the CM7") && notes.contains("not booted"),
            "{kind}: {notes}"
        );

        let mut s =
            session_with(erased.to_str().unwrap(), kind, &["--connect-under-reset"]).unwrap();
        let notes = s.target().connect_notes.join("\n");
        assert!(
            notes.contains("vector table") && notes.contains("erased"),
            "{kind}: {notes}"
        );
    }
}

/// A faulting address on a live AP3 is an access error, as on AP0, not a dead AP3 (issue 10).
#[test]
fn a_bus_fault_through_a_healthy_ap3_is_an_access_error_on_every_probe() {
    for kind in ProbeKind::ALL {
        if kind == ProbeKind::StlinkV2J27 {
            continue;
        }
        let mut s = session("nucleo-h755zi-q", kind);
        s.run_line("core cm4").unwrap();
        let e = s.run_line("read 0x90000000").expect_err("unmapped");
        assert_eq!(e.kind(), "access", "{kind}: {e}");
        assert_eq!(
            word(&mut s, "read 0xE000ED00") >> 4 & 0xFFF,
            0xC24,
            "{kind}"
        );
    }
}

/// A link that drops mid-session (a run of no-ACKs that outlasts a reconnect) comes back with
/// `reconnect` on every probe: a failed reconnect keeps the probe, the next access says the link
/// is down and how to bring it back, and a later `reconnect` attaches.
#[test]
fn reconnect_retries_after_a_failed_reconnect_on_every_probe() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ProbeKind::ALL {
        // probe-rs retries a silent DP about 1000 times per attach on CMSIS-DAP and J-Link; an
        // ST-LINK's firmware gives up after the first unanswered DPIDR read.
        let count = if kind.name().starts_with("stlink") {
            20
        } else {
            1500
        };
        let scenario = dir.path().join(format!("glitch-{kind}.toml"));
        std::fs::write(
            &scenario,
            format!(
                "name = \"glitch\"\n[faults]\nno_ack_burst = {{ after = 300, count = {count} }}\n"
            ),
        )
        .unwrap();
        let mut s = session(scenario.to_str().unwrap(), kind);
        let lost = (0..300).find_map(|_| s.run_line("read 0xE000ED00").err());
        let lost = lost.unwrap_or_else(|| panic!("{kind}: the burst never came"));
        assert_eq!(lost.kind(), "debug-port", "{kind}: {lost}");
        let (mut failed, mut back) = (0, false);
        for _ in 0..40 {
            match s.run_line("reconnect") {
                Ok(_) => {
                    back = true;
                    break;
                }
                Err(e) => {
                    failed += 1;
                    assert_eq!(e.kind(), "debug-port", "{kind}: {e}");
                    assert!(e.hint().contains("`reconnect`"), "{kind}: {}", e.hint());
                    let next = s.run_line("read 0xE000ED00").unwrap_err().to_string();
                    assert!(next.contains("`reconnect` tries again"), "{kind}: {next}");
                }
            }
        }
        assert!(failed > 0, "{kind}: no reconnect met the burst");
        assert!(back, "{kind}: still down after 40 reconnects");
        assert_eq!(
            word(&mut s, "read 0xE000ED00") >> 4 & 0xFFF,
            0xC27,
            "{kind}"
        );
    }
}
