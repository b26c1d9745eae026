//! probe-rs's full attach to an STM32H755ZITx over the virtual board (chip + DAP + probe).

use std::time::Duration;

use probe_rs::probe::Probe;
use probe_rs::{MemoryInterface, Permissions, RegisterId};

use h7sh::h7::facts::{cpuid, scs};
use h7sh::sim::board::{lock, Board, SharedBoard};
use h7sh::sim::chip::Chip;
use h7sh::sim::probe::SimProbe;
use h7sh::sim::scenario::Scenario;

const TARGET: &str = "STM32H755ZITx";
const TIMEOUT: Duration = Duration::from_millis(500);

fn open(scenario: &str) -> (SharedBoard, Probe) {
    let sc = Scenario::builtin(scenario).expect("built-in scenario");
    let chip = Chip::new(&sc).expect("chip");
    let faults = chip.fault_plan();
    let board = Board::new(Box::new(chip), faults).into_shared();
    let probe = Probe::from_specific_probe(Box::new(SimProbe::new(board.clone())));
    (board, probe)
}

#[test]
fn full_attach_both_cores() {
    let (board, probe) = open("nucleo-h755zi-q");
    lock(&board).wait_ms(50); // let both firmwares boot
    lock(&board).reset_stats();
    let mut session = probe
        .attach(TARGET, Permissions::default())
        .expect("full attach to STM32H755ZITx");
    let stats = lock(&board).stats();
    println!("full probe-rs attach, nucleo-h755zi-q:\n{stats}");
    assert!(stats.transactions > 0);
    assert!(stats.per_ap[0].transactions > 0 && stats.per_ap[3].transactions > 0);

    for (core, expected) in [(0, cpuid::CM7), (1, cpuid::CM4)] {
        let mut c = session.core(core).expect("core");
        assert_eq!(
            c.read_word_32(scs::CPUID).unwrap(),
            expected,
            "CPUID core {core}"
        );

        c.halt(TIMEOUT).expect("halt");
        assert!(c.core_halted().unwrap());
        let pc_id: RegisterId = c.program_counter().into();
        let pc: u32 = c.read_core_reg(pc_id).unwrap();
        c.step().expect("step");
        assert!(c.core_halted().unwrap());
        let pc2: u32 = c.read_core_reg(pc_id).unwrap();
        assert_ne!(pc, pc2, "step moves the PC of core {core}");

        // Core registers round-trip through DCRSR/DCRDR.
        let r0: RegisterId = c.registers().core_register(0).into();
        c.write_core_reg(r0, 0x1234_5678u32).unwrap();
        let back: u32 = c.read_core_reg(r0).unwrap();
        assert_eq!(back, 0x1234_5678);

        c.run().expect("run");
        assert!(!c.core_halted().unwrap());
    }

    // System reset with vector catch on both cores: both come out of reset halted.
    {
        let mut cm4 = session.core(1).unwrap();
        let demcr = cm4.read_word_32(scs::DEMCR).unwrap();
        cm4.write_word_32(scs::DEMCR, demcr | scs::VC_CORERESET)
            .unwrap();
    }
    session
        .core(0)
        .unwrap()
        .reset_and_halt(TIMEOUT)
        .expect("reset and halt CM7");
    assert!(session.core(0).unwrap().core_halted().unwrap());
    let mut cm4 = session.core(1).unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !cm4.core_halted().unwrap() && std::time::Instant::now() < deadline {}
    assert!(cm4.core_halted().unwrap(), "CM4 halted by its vector catch");
}

#[test]
fn full_attach_fails_with_bcm4_off() {
    let (board, probe) = open("bcm4-off");
    lock(&board).wait_ms(50);
    lock(&board).reset_stats();
    let result = probe.attach(TARGET, Permissions::default());
    let stats = lock(&board).stats();
    println!("full probe-rs attach, bcm4-off:\n{stats}");
    // probe-rs starts debug on every core of the target: a gated CM4 fails the whole attach.
    match result {
        Ok(_) => panic!("attach must fail with the CM4 gated"),
        Err(e) => println!("bcm4-off attach error: {e:?}"),
    }
}
