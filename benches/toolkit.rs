//! Wire cost of the toolkit on the virtual board (`cargo bench --bench toolkit`): DAP
//! transactions and probe round trips of `doctor`, `ob` and `show RCC` (from `sim stats`), next
//! to the number of 32-bit words read and the contiguous runs they form. Batching must keep
//! round trips close to the number of runs, not the number of registers.
//!
//! Uses ST's SVD when `H7SH_SVD` is set (for `show RCC`), h7sh's built-in register set otherwise;
//! `doctor` and `ob` do not depend on the SVD.

use clap::Parser;
use h7sh::session::{Outcome, Session};

fn session(scenario: &str) -> Session {
    let cli = h7sh::cli::Cli::parse_from(["h7sh", "--sim", scenario, "--json"]);
    h7sh::cli::connect(&cli).expect("virtual board")
}

fn stats(s: &mut Session) -> (u64, u64, u64) {
    match s.run_line("sim stats").expect("sim stats").pop() {
        Some(Outcome::SimStats { stats, .. }) => {
            let reads: u64 = stats["per_ap"]
                .as_array()
                .map(|aps| aps.iter().filter_map(|a| a["reads"].as_u64()).sum())
                .unwrap_or(0);
            (
                stats["transactions"].as_u64().unwrap_or(0),
                stats["round_trips"].as_u64().unwrap_or(0),
                reads,
            )
        }
        other => panic!("sim stats: {other:?}"),
    }
}

/// Contiguous runs of word addresses (aliases at the same address share a run).
fn runs(mut addresses: Vec<u64>) -> usize {
    addresses.sort_unstable();
    addresses.dedup();
    let mut n = 0;
    let mut prev: Option<u64> = None;
    for a in addresses {
        if prev != Some(a.wrapping_sub(4)) {
            n += 1;
        }
        prev = Some(a);
    }
    n
}

fn measure(scenario: &str, cmd: &str) {
    let mut s = session(scenario);
    // Settle the firmware handshakes first, and attach AP3 (so `doctor` measures a re-attach).
    let _ = s.run_line("sim wait 50; status");
    s.run_line("sim stats reset").expect("reset stats");
    let out = s.run_line(cmd).expect(cmd);
    let (transactions, round_trips, ap_reads) = stats(&mut s);
    let (registers, contiguous) = match out.last() {
        Some(Outcome::Peripheral { registers, .. }) => (
            registers.len().to_string(),
            runs(registers.iter().map(|r| r.address).collect()).to_string(),
        ),
        Some(Outcome::Toolkit(_)) if cmd == "ob" => {
            // ob reads OPTCR..BOOT4_PRG and bank 2's PRAR..WPSN: two blocks.
            let regs = h7sh::h7::ob::ObReg::ALL.len() * 2 + 1;
            (regs.to_string(), "2".to_string())
        }
        _ => ("-".into(), "-".into()),
    };
    println!(
        "{scenario:<16} {cmd:<8} {transactions:>12} {round_trips:>11} {ap_reads:>10} {registers:>10} {contiguous:>6}"
    );
}

fn main() {
    println!(
        "{:<16} {:<8} {:>12} {:>11} {:>10} {:>10} {:>6}",
        "scenario", "command", "transactions", "round trips", "AP reads", "registers", "runs"
    );
    for scenario in ["nucleo-h755zi-q", "bcm4-off"] {
        for cmd in ["doctor", "ob", "show RCC"] {
            measure(scenario, cmd);
        }
    }
}
