//! The virtual probe driven by probe-rs itself, over the flat test bus.

use probe_rs::architecture::arm::dp::DpAddress;
use probe_rs::architecture::arm::sequences::DefaultArmSequence;
use probe_rs::architecture::arm::{ArmDebugInterface, ArmError, DapError, FullyQualifiedApAddress};
use probe_rs::probe::{DebugProbeError, Probe};

use h7sh::sim::board::{lock, Board, SharedBoard};
use h7sh::sim::bus::ApPower;
use h7sh::sim::faults::{FaultPlan, WaitBurst};
use h7sh::sim::probe::SimProbe;
use h7sh::sim::testbus::TestBus;

fn board(faults: FaultPlan) -> SharedBoard {
    Board::new(Box::new(TestBus::new()), faults).into_shared()
}

fn interface(board: &SharedBoard) -> Box<dyn ArmDebugInterface> {
    let mut probe = Probe::from_specific_probe(Box::new(SimProbe::new(board.clone())));
    assert_eq!(probe.get_name(), "h7sh virtual board");
    probe.attach_to_unspecified().expect("attach");
    match probe.try_into_arm_debug_interface(DefaultArmSequence::create()) {
        Ok(i) => i,
        Err((_, e)) => panic!("no ARM interface: {e}"),
    }
}

/// The DAP-level cause inside probe-rs's wrapped errors (AccessPort { RegisterRead { .. } }).
fn dap_cause(e: &ArmError) -> Option<DapError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(d) = err.downcast_ref::<DapError>() {
            return Some(*d);
        }
        cur = err.source();
    }
    None
}

/// The I/O error kind of a probe USB failure inside probe-rs's wrapped errors.
fn usb_cause(e: &ArmError) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(DebugProbeError::Usb(io)) = err.downcast_ref::<DebugProbeError>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

const AP0: FullyQualifiedApAddress = FullyQualifiedApAddress::v1_with_default_dp(0);

#[test]
fn access_ports_are_found() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let aps = i.access_ports(DpAddress::Default).expect("access ports");
    let found: Vec<u8> = aps.iter().map(|a| a.ap_v1().unwrap()).collect();
    assert_eq!(found, [0, 1, 2, 3]);
}

#[test]
fn memory_8_16_32_and_blocks_across_1k() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let mut m = i.memory_interface(&AP0).expect("memory interface");

    m.write_word_32(0x2000_0000, 0xDEAD_BEEF).unwrap();
    assert_eq!(m.read_word_32(0x2000_0000).unwrap(), 0xDEAD_BEEF);
    assert_eq!(m.read_word_8(0x2000_0001).unwrap(), 0xBE);
    assert_eq!(m.read_word_16(0x2000_0002).unwrap(), 0xDEAD);
    m.write_word_8(0x2000_0003, 0x12).unwrap();
    m.write_word_16(0x2000_0000, 0x3456).unwrap();
    assert_eq!(m.read_word_32(0x2000_0000).unwrap(), 0x12AD_3456);

    // 600 words from 0x2400_0300 cross two 1 KiB boundaries: probe-rs rewrites TAR there, and
    // the data must land where it says.
    let words: Vec<u32> = (0..600u32)
        .map(|n| n.wrapping_mul(0x0101_0101) ^ 0xA5)
        .collect();
    m.write_32(0x2400_0300, &words).unwrap();
    let mut back = vec![0u32; words.len()];
    m.read_32(0x2400_0300, &mut back).unwrap();
    assert_eq!(back, words);

    let bytes: Vec<u8> = (0..1500u32).map(|n| (n * 7) as u8).collect();
    m.write_8(0x2400_1FFD, &bytes).unwrap();
    let mut back = vec![0u8; bytes.len()];
    m.read_8(0x2400_1FFD, &mut back).unwrap();
    assert_eq!(back, bytes);

    let halves: Vec<u16> = (0..700u16).map(|n| n ^ 0x5A5A).collect();
    m.write_16(0x2000_03FE, &halves).unwrap();
    let mut back = vec![0u16; halves.len()];
    m.read_16(0x2000_03FE, &mut back).unwrap();
    assert_eq!(back, halves);
    drop(m);
    drop(i);

    let mut guard = lock(&b);
    let bus = guard.chip_mut::<TestBus>().unwrap();
    assert_eq!(bus.peek(0x2400_0400, 4), words[64].to_le_bytes());
}

#[test]
fn sticky_error_surfaces_then_next_read_works() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let mut m = i.memory_interface(&AP0).unwrap();
    m.write_word_32(0x2000_0010, 0x600D_F00D).unwrap();
    lock(&b).reset_stats();
    let err = m.read_word_32(0x1000_0000).unwrap_err();
    assert_eq!(
        dap_cause(&err),
        Some(DapError::FaultResponse),
        "unmapped read: {err:?}"
    );
    // The driver cleared STICKYERR (as cmsisdap does), so the next access just works.
    assert_eq!(m.read_word_32(0x2000_0010).unwrap(), 0x600D_F00D);
    let s = lock(&b).stats();
    assert_eq!(s.per_ap[0].faults, 0, "the FAULT came on the RDBUFF read");
    assert!(s.dp.faults >= 1);
}

#[test]
fn gated_ap_reads_zero_and_unclocked_ap_faults() {
    let b = board(FaultPlan::default());
    {
        let mut g = lock(&b);
        let bus = g.chip_mut::<TestBus>().unwrap();
        bus.poke(0x2000_0000, &[1, 2, 3, 4]);
        bus.set_ap_power(3, ApPower::Gated);
        bus.set_ap_power(1, ApPower::Unclocked);
    }
    let mut i = interface(&b);
    let ap3 = FullyQualifiedApAddress::v1_with_default_dp(3);
    let ap1 = FullyQualifiedApAddress::v1_with_default_dp(1);
    {
        let mut m = i.memory_interface(&ap3).unwrap();
        assert_eq!(m.read_word_32(0x2000_0000).unwrap(), 0);
    }
    {
        // The AP's registers answer, so probe-rs builds the interface; transfers fault.
        let mut m = i.memory_interface(&ap1).unwrap();
        let err = m.read_word_32(0x2000_0000).unwrap_err();
        assert_eq!(dap_cause(&err), Some(DapError::FaultResponse), "{err:?}");
    }
    let mut m = i.memory_interface(&AP0).unwrap();
    assert_eq!(m.read_word_32(0x2000_0000).unwrap(), 0x0403_0201);
}

#[test]
fn wait_burst_is_retried_by_the_probe() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let mut m = i.memory_interface(&AP0).unwrap();
    m.write_word_32(0x2000_0020, 77).unwrap();
    {
        let mut g = lock(&b);
        g.set_faults(FaultPlan {
            wait_burst: Some(WaitBurst {
                after: 2,
                count: 50,
            }),
            ..FaultPlan::default()
        });
        g.reset_stats();
    }
    assert_eq!(m.read_word_32(0x2000_0020).unwrap(), 77);
    drop(m);
    drop(i);
    let s = lock(&b).stats();
    assert_eq!(s.total().waits, 50);
}

#[test]
fn unplug_turns_into_usb_errors() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let mut m = i.memory_interface(&AP0).unwrap();
    m.write_word_32(0x2000_0030, 5).unwrap();
    lock(&b).set_faults(FaultPlan {
        unplug_after: Some(3),
        ..FaultPlan::default()
    });
    let mut errors = 0;
    for _ in 0..4 {
        match m.read_word_32(0x2000_0030) {
            Ok(v) => assert_eq!(v, 5),
            Err(e) => {
                assert_eq!(
                    usb_cause(&e),
                    Some(std::io::ErrorKind::NotConnected),
                    "{e:?}"
                );
                errors += 1;
            }
        }
    }
    assert!(errors >= 3, "every call after the unplug fails");
    assert!(lock(&b).is_unplugged());
}

#[test]
fn rdp2_debug_port_gives_no_target() {
    let b = board(FaultPlan::default());
    lock(&b)
        .chip_mut::<TestBus>()
        .unwrap()
        .set_debug_port_disabled(true);
    let mut i = interface(&b);
    let err = i.access_ports(DpAddress::Default).unwrap_err();
    assert!(
        matches!(err, ArmError::NoTargetResponse { .. }),
        "RDP2: {err:?}"
    );
}

#[test]
fn round_trips_and_transactions_of_one_read() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let mut m = i.memory_interface(&AP0).unwrap();
    m.read_word_32(0x2000_0000).unwrap();
    lock(&b).reset_stats();
    m.read_word_32(0x2000_0004).unwrap();
    // Before dropping the interface: its drop powers the debug port down (more traffic).
    let s = lock(&b).stats();
    // TAR write, DRW read and its RDBUFF in one DAP_Transfer (probe-rs queues the write and
    // sends it with the read): 1 round trip, 3 transactions.
    assert_eq!(s.round_trips, 1, "{s}");
    assert_eq!(s.transactions, 3, "{s}");
    assert_eq!(s.per_ap[0].round_trips, 1);
}

#[test]
fn no_ack_burst_surfaces_once() {
    let b = board(FaultPlan::default());
    let mut i = interface(&b);
    let mut m = i.memory_interface(&AP0).unwrap();
    m.write_word_32(0x2000_0040, 9).unwrap();
    // The write is queued until flushed (probe-rs's CMSIS-DAP batch): send it before the burst.
    m.flush().unwrap();
    lock(&b).set_faults(FaultPlan {
        no_ack_burst: Some(WaitBurst { after: 1, count: 1 }),
        ..FaultPlan::default()
    });
    let err = m.read_word_32(0x2000_0040).unwrap_err();
    assert_eq!(dap_cause(&err), Some(DapError::NoAcknowledge), "{err:?}");
    assert_eq!(m.read_word_32(0x2000_0040).unwrap(), 9);
}

#[test]
fn jtag_protocol_is_accepted() {
    let b = board(FaultPlan::default());
    let mut probe = Probe::from_specific_probe(Box::new(SimProbe::new(b.clone())));
    probe
        .select_protocol(probe_rs::probe::WireProtocol::Jtag)
        .unwrap();
    probe.attach_to_unspecified().unwrap();
    let mut i = match probe.try_into_arm_debug_interface(DefaultArmSequence::create()) {
        Ok(i) => i,
        Err((_, e)) => panic!("{e}"),
    };
    assert_eq!(i.access_ports(DpAddress::Default).unwrap().len(), 4);
    let mut m = i.memory_interface(&AP0).unwrap();
    m.write_word_32(0x2000_0000, 0xC0FFEE).unwrap();
    assert_eq!(m.read_word_32(0x2000_0000).unwrap(), 0xC0FFEE);
}

#[test]
fn reset_pin_and_speed() {
    let b = board(FaultPlan::default());
    let mut probe = Probe::from_specific_probe(Box::new(SimProbe::new(b.clone())));
    assert_eq!(probe.speed_khz(), 4_000);
    assert_eq!(probe.set_speed(1_000).unwrap(), 1_000);
    assert_eq!(lock(&b).dap().transaction_nanos(), 48_000);
    probe.target_reset_assert().unwrap();
    assert!(lock(&b).chip_mut::<TestBus>().unwrap().reset_pin());
    probe.target_reset_deassert().unwrap();
    assert!(!lock(&b).chip_mut::<TestBus>().unwrap().reset_pin());
    let t = lock(&b).now_nanos();
    probe.target_reset().unwrap();
    assert!(!lock(&b).chip_mut::<TestBus>().unwrap().reset_pin());
    assert!(lock(&b).now_nanos() - t >= 1_000_000, "1 ms NRST pulse");
}
