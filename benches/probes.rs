//! Wire cost of h7sh's commands under each probe personality of the virtual board
//! (`cargo bench --bench probes`): probe round trips (one USB exchange each on a real probe) and
//! DAP transactions, from `sim stats`. Deterministic: the board's time is virtual. The table in
//! `docs/probes.md` is this output.

use clap::Parser;
use h7sh::session::{Outcome, Session};
use h7sh::sim::probe::ProbeKind;

fn session(scenario: &str, kind: ProbeKind) -> Session {
    let cli = h7sh::cli::Cli::parse_from([
        "h7sh",
        "--sim",
        scenario,
        "--sim-probe",
        kind.name(),
        "--json",
    ]);
    h7sh::cli::connect(&cli).expect("virtual board")
}

/// (round trips, transactions) since the last reset of the counters, then reset them.
fn take(s: &mut Session) -> (u64, u64) {
    let r = match s.run_line("sim stats").expect("sim stats").pop() {
        Some(Outcome::SimStats { stats, .. }) => (
            stats["round_trips"].as_u64().unwrap_or(0),
            stats["transactions"].as_u64().unwrap_or(0),
        ),
        other => panic!("sim stats: {other:?}"),
    };
    s.run_line("sim stats reset").expect("reset stats");
    r
}

/// Round trips per `read()` of a Rhai loop of `n` reads, and the loop's host-side rate.
fn script_loop(kind: ProbeKind, n: u32) -> (f64, f64) {
    let mut s = session("nucleo-h755zi-q", kind);
    let _ = s.run_line("read FLASH_OPTSR_CUR");
    take(&mut s);
    let script = format!("eval for i in 0..{n} {{ read(\"FLASH_OPTSR_CUR\"); }}");
    let start = std::time::Instant::now();
    s.run_line(&script).expect("script loop");
    let secs = start.elapsed().as_secs_f64();
    let (rt, _) = take(&mut s);
    (rt as f64 / f64::from(n), f64::from(n) / secs)
}

fn main() {
    let commands: Vec<(String, &str, Vec<&str>)> = [
        (
            "read FLASH_OPTSR_CUR (2nd)",
            "nucleo-h755zi-q",
            vec!["read FLASH_OPTSR_CUR"],
        ),
        (
            "write RCC_GCR.BOOT_C2 1",
            "bcm4-off",
            vec!["write RCC_GCR.BOOT_C2 1"],
        ),
        (
            "core cm4; read CPUID",
            "nucleo-h755zi-q",
            vec!["core cm4", "read 0xE000ED00"],
        ),
        ("ob", "nucleo-h755zi-q", vec!["ob"]),
        ("show RCC", "nucleo-h755zi-q", vec!["show RCC"]),
        ("status", "nucleo-h755zi-q", vec!["status"]),
    ]
    .into_iter()
    .map(|(l, sc, c)| (l.to_string(), sc, c))
    .chain(
        [
            "nucleo-h755zi-q",
            "bcm4-off",
            "cm4-stop-no-dbg",
            "cm4-bad-boot",
            "rdp1",
            "cm4-d2-standby",
        ]
        .into_iter()
        .map(|sc| (format!("doctor ({sc})"), sc, vec!["doctor"])),
    )
    .collect();
    print!("{:<30}", "round trips / transactions");
    for k in ProbeKind::ALL {
        print!(" {:>15}", k.name());
    }
    println!();
    print!("{:<30}", "connect");
    for k in ProbeKind::ALL {
        let mut s = session("nucleo-h755zi-q", k);
        let (rt, tr) = take(&mut s);
        print!(" {:>15}", format!("{rt} / {tr}"));
    }
    println!();
    for (label, scenario, lines) in commands {
        let label = label.as_str();
        print!("{label:<30}");
        for k in ProbeKind::ALL {
            let mut s = session(scenario, k);
            // The first read of a register opens AP state; measure the second.
            if label.contains("(2nd)") {
                for l in &lines {
                    let _ = s.run_line(l);
                }
            }
            take(&mut s);
            let mut failed = false;
            for l in &lines {
                failed |= s.run_line(l).is_err();
            }
            let (rt, tr) = take(&mut s);
            let cell = if failed {
                format!("{rt} / {tr} err")
            } else {
                format!("{rt} / {tr}")
            };
            print!(" {cell:>15}");
        }
        println!();
    }
    let n = 10_000;
    print!("{:<30}", format!("Rhai loop of {n} read()"));
    let mut rates = Vec::new();
    for k in ProbeKind::ALL {
        let (per_read, rate) = script_loop(k, n);
        rates.push(rate);
        print!(" {:>15}", format!("{per_read:.2} / read"));
    }
    println!();
    print!("{:<30}", "  host rate, reads/s");
    for rate in rates {
        print!(" {:>15}", format!("{rate:.0}"));
    }
    println!();
}
