//! Micro-measures of the virtual board under probe-rs (`cargo bench --bench sim`):
//! - the DAP transactions, round trips and virtual wire time of probe-rs's full attach to an
//!   STM32H755ZITx in scenario `nucleo-h755zi-q`;
//! - the mean host time of one 32-bit read through probe-rs's memory interface (AP0).

use std::time::Instant;

use probe_rs::architecture::arm::sequences::DefaultArmSequence;
use probe_rs::architecture::arm::FullyQualifiedApAddress;
use probe_rs::probe::Probe;
use probe_rs::Permissions;

use h7sh::h7::facts::{mem, scs};
use h7sh::sim::board::{lock, Board, SharedBoard};
use h7sh::sim::chip::Chip;
use h7sh::sim::probe::SimProbe;
use h7sh::sim::scenario::Scenario;

const READS: u32 = 20_000;

fn board() -> SharedBoard {
    let sc = Scenario::builtin("nucleo-h755zi-q").expect("built-in scenario");
    let chip = Chip::new(&sc).expect("chip");
    let faults = chip.fault_plan();
    let b = Board::new(Box::new(chip), faults).into_shared();
    lock(&b).wait_ms(50);
    b
}

fn full_attach() {
    let b = board();
    let probe = Probe::from_specific_probe(Box::new(SimProbe::new(b.clone())));
    lock(&b).reset_stats();
    let t0_virtual = lock(&b).now_nanos();
    let start = Instant::now();
    let session = probe.attach("STM32H755ZITx", Permissions::default());
    let host = start.elapsed();
    let (stats, virtual_ns) = {
        let g = lock(&b);
        (g.stats(), g.now_nanos() - t0_virtual)
    };
    println!(
        "full probe-rs attach (nucleo-h755zi-q): {} ({} DAP transactions, {} round trips, \
         {:.2} ms virtual, {:.2} ms host)",
        if session.is_ok() { "ok" } else { "FAILED" },
        stats.transactions,
        stats.round_trips,
        virtual_ns as f64 / 1e6,
        host.as_secs_f64() * 1e3
    );
    print!("{stats}");
}

fn read_32_latency() {
    let b = board();
    let mut probe = Probe::from_specific_probe(Box::new(SimProbe::new(b.clone())));
    if let Err(e) = probe.attach_to_unspecified() {
        println!("attach failed: {e}");
        return;
    }
    let mut iface = match probe.try_into_arm_debug_interface(DefaultArmSequence::create()) {
        Ok(i) => i,
        Err((_, e)) => {
            println!("no ARM interface: {e}");
            return;
        }
    };
    let mut m = match iface.memory_interface(&FullyQualifiedApAddress::v1_with_default_dp(0)) {
        Ok(m) => m,
        Err(e) => {
            println!("no memory interface: {e}");
            return;
        }
    };
    let addr = mem::AXI_SRAM.0;
    // Warm-up, and one read to count its wire cost.
    let _ = m.read_word_32(scs::CPUID);
    lock(&b).reset_stats();
    let _ = m.read_word_32(addr);
    let one = lock(&b).stats();

    time_reads("read_word_32 through probe-rs", &one, addr, |a| {
        m.read_word_32(a)
    });
}

/// Times `READS` 32-bit reads over 1 KiB from `addr` and prints the host time per read next
/// to the wire cost of one (`one`).
fn time_reads<E: std::fmt::Display>(
    what: &str,
    one: &h7sh::sim::dap::SimStats,
    addr: u64,
    mut read: impl FnMut(u64) -> Result<u32, E>,
) {
    let start = Instant::now();
    let mut acc = 0u32;
    for i in 0..READS {
        match read(addr + u64::from(i % 256) * 4) {
            Ok(v) => acc = acc.wrapping_add(v),
            Err(e) => {
                println!("read failed: {e}");
                return;
            }
        }
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(READS);
    println!(
        "{what} over the virtual board: {per:.2} µs host per read \
         (mean of {READS}; {} transactions, {} round trips each; checksum {acc:#x})",
        one.transactions, one.round_trips
    );
}

/// h7sh's own connect (DP only, no halt, DBGMCU untouched) and its per-command 32-bit read,
/// which opens probe-rs's memory interface of the AP each time.
fn h7sh_connect_and_read() {
    use h7sh::target::{ApIndex, ConnectOptions, Target};
    let b = board();
    lock(&b).reset_stats();
    let start = Instant::now();
    let target = Target::open_with(
        Box::new(SimProbe::new(b.clone())),
        &ConnectOptions::default(),
    );
    let host = start.elapsed();
    let stats = lock(&b).stats();
    let mut target = match target {
        Ok(t) => t,
        Err(e) => {
            println!("h7sh connect failed: {e}");
            return;
        }
    };
    println!(
        "h7sh connect (nucleo-h755zi-q): {} DAP transactions, {} round trips, {:.2} ms host",
        stats.transactions,
        stats.round_trips,
        host.as_secs_f64() * 1e3
    );
    print!("{stats}");
    lock(&b).reset_stats();
    let addr = mem::AXI_SRAM.0;
    let _ = target.read32(ApIndex::CM7, addr);
    let one = lock(&b).stats();
    time_reads("h7sh Target::read32", &one, addr, |a| {
        target.read32(ApIndex::CM7, a)
    });
}

fn main() {
    full_attach();
    read_32_latency();
    h7sh_connect_and_read();
}
