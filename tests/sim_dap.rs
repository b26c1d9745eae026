//! The DAP model on the wire, over the flat test bus.

use h7sh::h7::facts;
use h7sh::sim::board::Board;
use h7sh::sim::bus::ApPower;
use h7sh::sim::dap::{Ack, Dap, PortId, Request, Response};
use h7sh::sim::faults::{FaultPlan, WaitBurst};
use h7sh::sim::testbus::TestBus;

const CTRL: u8 = 0x4;
const SELECT: u8 = 0x8;
const RDBUFF: u8 = 0xC;
const ABORT: u8 = 0x0;
const CSW: u8 = 0x0;
const TAR: u8 = 0x4;
const DRW: u8 = 0xC;

const STICKYERR: u32 = 1 << 5;
const PWRUP_REQ: u32 = (1 << 28) | (1 << 30);
const PWRUP_ACK: u32 = (1 << 29) | (1 << 31);
/// CSW: Size 32, AddrInc single.
const CSW_WORD_INC: u32 = 0x12;

struct Wire {
    dap: Dap,
    bus: TestBus,
}

impl Wire {
    /// JTAG-to-SWD switch, line reset, DPIDR read: what probe-rs's debug_port_setup sends.
    fn connect() -> Self {
        let mut w = Wire {
            dap: Dap::new(),
            bus: TestBus::new(),
        };
        w.dap.swj_sequence(&mut w.bus, 51, (1 << 51) - 1);
        w.dap.swj_sequence(&mut w.bus, 16, 0xE79E);
        w.dap.line_reset(&mut w.bus);
        assert_eq!(w.dp_read(0), facts::dp::DPIDR_SWD);
        w
    }

    fn powered() -> Self {
        let mut w = Self::connect();
        w.ok(Request::dp_write(CTRL, PWRUP_REQ));
        w
    }

    fn t(&mut self, req: Request) -> Response {
        self.dap.transfer(&mut self.bus, req)
    }

    fn ok(&mut self, req: Request) -> u32 {
        let r = self.t(req);
        assert_eq!(r.ack, Ack::Ok, "{req:?}");
        r.data
    }

    fn dp_read(&mut self, a: u8) -> u32 {
        self.ok(Request::dp_read(a))
    }

    fn select(&mut self, ap: u32, bank: u32, dpbank: u32) {
        self.ok(Request::dp_write(SELECT, (ap << 24) | (bank << 4) | dpbank));
    }

    /// A posted AP read completed through RDBUFF.
    fn ap_read(&mut self, a: u8) -> u32 {
        self.ok(Request::ap_read(a));
        self.dp_read(RDBUFF)
    }

    fn ap_write(&mut self, a: u8, v: u32) {
        self.ok(Request::ap_write(a, v));
    }
}

#[test]
fn power_up_handshake() {
    let mut w = Wire::connect();
    assert_eq!(w.dp_read(CTRL) & PWRUP_ACK, 0);
    w.ok(Request::dp_write(CTRL, PWRUP_REQ));
    assert_eq!(w.dp_read(CTRL) & PWRUP_ACK, PWRUP_ACK);
    w.ok(Request::dp_write(CTRL, 0));
    assert_eq!(w.dp_read(CTRL) & PWRUP_ACK, 0);
}

#[test]
fn dpidr_targetid_and_dp_banks() {
    let mut w = Wire::connect();
    assert_eq!(w.dp_read(0), 0x6BA0_2477);
    w.select(0, 0, 2);
    assert_eq!(w.dp_read(CTRL), facts::dp::TARGETID);
    w.select(0, 0, 3);
    assert_eq!(w.dp_read(CTRL), facts::dp_regs::DLPIDR);
    w.select(0, 0, 1);
    w.ok(Request::dp_write(CTRL, 0xFFFF_FFFF));
    assert_eq!(w.dp_read(CTRL), 0x300, "DLCR keeps TURNROUND only");
    w.select(0, 0, 0);
    w.ok(Request::dp_write(CTRL, PWRUP_REQ));
    let ctrl = w.dp_read(CTRL);
    assert_eq!(ctrl & PWRUP_ACK, PWRUP_ACK);
    // RESEND repeats the last read.
    assert_eq!(w.dp_read(0x8), ctrl);
}

#[test]
fn ap_identity_and_banking() {
    let mut w = Wire::powered();
    let expect = [
        (0x8477_0001, 0xE00F_E003), // AHB-AP, ST ROM table
        (0x8477_0001, 0x0000_0002), // AHB-AP, no debug entry
        (0x5477_0002, 0xE00E_0003), // APB-AP, system ROM table
        (0x2477_0011, 0xE00F_F003), // the CM4's own AHB-AP, CM4 ROM table
    ];
    for (ap, (idr, base)) in expect.into_iter().enumerate() {
        w.select(ap as u32, 0xF, 0);
        assert_eq!(w.ap_read(0xC), idr, "IDR of AP{ap}");
        assert_eq!(w.ap_read(0x8), base, "BASE of AP{ap}");
        assert_eq!(w.ap_read(0x4), 0, "CFG of AP{ap}");
        assert_eq!(w.ap_read(0x0), 0, "BASE[63:32] of AP{ap}");
    }
    // No AP4: IDR reads zero, which ends an AP scan.
    w.select(4, 0xF, 0);
    assert_eq!(w.ap_read(0xC), 0);
}

#[test]
fn posted_reads_return_previous_value() {
    let mut w = Wire::powered();
    w.bus
        .poke(0x2000_0000, &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    w.select(0, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x2000_0000);
    w.ok(Request::ap_read(DRW)); // stale
    assert_eq!(w.ok(Request::ap_read(DRW)), 1);
    assert_eq!(w.ok(Request::ap_read(DRW)), 2);
    assert_eq!(w.dp_read(RDBUFF), 3);
    assert_eq!(w.dp_read(RDBUFF), 3, "RDBUFF has no side effect");
}

#[test]
fn sticky_error_after_unmapped_access_until_abort() {
    let mut w = Wire::powered();
    w.select(0, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x1000_0000); // unmapped in the test bus
    assert_eq!(w.t(Request::ap_read(DRW)).ack, Ack::Ok, "posted: ACK first");
    assert_eq!(w.t(Request::dp_read(RDBUFF)).ack, Ack::Fault);
    assert_ne!(w.dp_read(CTRL) & STICKYERR, 0);
    // Every AP access now faults, and so do SELECT writes; DPIDR and CTRL/STAT still answer.
    assert_eq!(w.t(Request::ap_read(CSW)).ack, Ack::Fault);
    assert_eq!(w.t(Request::ap_write(TAR, 0x2000_0000)).ack, Ack::Fault);
    assert_eq!(w.t(Request::dp_write(SELECT, 0)).ack, Ack::Fault);
    assert_eq!(w.dp_read(0), facts::dp::DPIDR_SWD);
    // ABORT.STKERRCLR clears it.
    w.ok(Request::dp_write(ABORT, 1 << 2));
    assert_eq!(w.dp_read(CTRL) & STICKYERR, 0);
    w.ap_write(TAR, 0x2000_0000);
    assert_eq!(w.ap_read(DRW), 0);
}

#[test]
fn write_fault_shows_on_next_request() {
    let mut w = Wire::powered();
    w.select(0, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x6000_0000);
    assert_eq!(w.t(Request::ap_write(DRW, 5)).ack, Ack::Ok);
    assert_eq!(w.t(Request::dp_read(RDBUFF)).ack, Ack::Fault);
}

#[test]
fn auto_increment_wraps_at_1k() {
    let mut w = Wire::powered();
    w.select(0, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x2000_03F8);
    for v in [0xA, 0xB, 0xC] {
        w.ap_write(DRW, v);
    }
    // Only TAR[9:0] counts: 0x3F8, 0x3FC, then back to 0x000 of the same 1 KiB block.
    assert_eq!(w.ap_read(TAR), 0x2000_0004);
    assert_eq!(w.bus.peek(0x2000_03F8, 8), [0xA, 0, 0, 0, 0xB, 0, 0, 0]);
    assert_eq!(w.bus.peek(0x2000_0000, 4), [0xC, 0, 0, 0]);
    assert_eq!(w.bus.peek(0x2000_0400, 4), [0, 0, 0, 0]);
    // AddrInc off: TAR stays.
    w.ap_write(CSW, 0x02);
    w.ap_write(DRW, 1);
    w.ap_write(DRW, 2);
    assert_eq!(w.ap_read(TAR), 0x2000_0004);
}

/// Issue 12 item 5: AP3 (the Cortex-M4's AP) auto-increments through a 4 KiB block, so a run
/// crosses a 1 KiB boundary that wraps on AP0.
#[test]
fn ap3_auto_increment_wraps_at_4k() {
    let mut w = Wire::powered();
    w.select(3, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x2000_03FC);
    for v in [0xA, 0xB] {
        w.ap_write(DRW, v);
    }
    assert_eq!(w.ap_read(TAR), 0x2000_0404);
    assert_eq!(w.bus.peek(0x2000_0400, 4), [0xB, 0, 0, 0]);
    w.ap_write(TAR, 0x2000_0FFC);
    w.ap_write(DRW, 0xC);
    assert_eq!(w.ap_read(TAR), 0x2000_0000, "wraps at the 4 KiB boundary");
}

#[test]
fn byte_and_halfword_lanes() {
    let mut w = Wire::powered();
    w.bus.poke(0x2000_0100, &[0x11, 0x22, 0x33, 0x44]);
    w.select(0, 0, 0);
    // 8-bit reads: byte at A sits in lane A[1:0].
    w.ap_write(CSW, 0x10);
    for (i, b) in [0x11u32, 0x22, 0x33, 0x44].into_iter().enumerate() {
        w.ap_write(TAR, 0x2000_0100 + i as u32);
        assert_eq!(w.ap_read(DRW), b << (8 * i), "byte {i}");
    }
    // 16-bit: halfword at A sits in lanes A[1]*2.
    w.ap_write(CSW, 0x11);
    w.ap_write(TAR, 0x2000_0102);
    assert_eq!(w.ap_read(DRW), 0x4433_0000);
    assert_eq!(w.ap_read(TAR), 0x2000_0104, "incremented by 2");
    // 8-bit write takes its lane, other bytes untouched.
    w.ap_write(CSW, 0x10);
    w.ap_write(TAR, 0x2000_0101);
    w.ap_write(DRW, 0xAABB_CCDD);
    assert_eq!(w.bus.peek(0x2000_0100, 4), [0x11, 0xCC, 0x33, 0x44]);
    // 16-bit write into the upper halfword.
    w.ap_write(CSW, 0x11);
    w.ap_write(TAR, 0x2000_0102);
    w.ap_write(DRW, 0xBEEF_0000);
    assert_eq!(w.bus.peek(0x2000_0100, 4), [0x11, 0xCC, 0xEF, 0xBE]);
}

#[test]
fn banked_data_registers() {
    let mut w = Wire::powered();
    w.bus.poke(
        0x2000_0200,
        &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0],
    );
    w.select(0, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x2000_0208); // BDn use TAR[31:4]
    w.select(0, 1, 0);
    for n in 0..4u8 {
        assert_eq!(w.ap_read(n * 4), u32::from(n) + 1, "BD{n}");
    }
    w.ap_write(0xC, 0x99);
    assert_eq!(w.bus.peek(0x2000_020C, 1), [0x99]);
    w.select(0, 0, 0);
    assert_eq!(w.ap_read(TAR), 0x2000_0208, "BD accesses do not increment");
}

#[test]
fn gated_and_unclocked_aps() {
    let mut w = Wire::powered();
    w.bus.poke(0x2000_0000, &[0x55; 4]);
    w.bus.set_ap_power(3, ApPower::Gated);
    w.select(3, 0, 0);
    w.ap_write(CSW, CSW_WORD_INC);
    w.ap_write(TAR, 0x2000_0000);
    assert_eq!(w.ap_read(DRW), 0, "gated: reads zero");
    w.ap_write(TAR, 0x2000_0000);
    w.ap_write(DRW, 0x1234_5678);
    assert_eq!(w.dp_read(RDBUFF), 0);
    assert_eq!(
        w.bus.peek(0x2000_0000, 4),
        [0x55; 4],
        "gated: write dropped"
    );

    w.bus.set_ap_power(3, ApPower::Unclocked);
    // The register file still answers; DeviceEn drops.
    w.select(3, 0xF, 0);
    assert_eq!(w.ap_read(0xC), facts::ap_id::IDR_AHB_AP_CM4);
    w.select(3, 0, 0);
    assert_eq!(w.ap_read(CSW) & (1 << 6), 0, "DeviceEn = 0");
    w.ok(Request::ap_read(DRW));
    assert_eq!(w.t(Request::dp_read(RDBUFF)).ack, Ack::Fault);
    assert!(
        w.bus.log.iter().all(|&(ap, ..)| ap != 3),
        "nothing reached the bus"
    );
}

#[test]
fn debug_port_disabled_gives_no_ack() {
    let mut w = Wire::powered();
    w.bus.set_debug_port_disabled(true);
    assert_eq!(w.t(Request::dp_read(0)).ack, Ack::NoAck);
    assert_eq!(w.t(Request::ap_read(0)).ack, Ack::NoAck);
    assert_eq!(w.t(Request::dp_write(ABORT, 0x1E)).ack, Ack::NoAck);
}

#[test]
fn without_power_up_bus_accesses_fail() {
    let mut w = Wire::connect();
    w.select(0, 0, 0);
    w.ap_write(TAR, 0x2000_0000);
    w.ok(Request::ap_read(DRW));
    assert_eq!(w.t(Request::dp_read(RDBUFF)).ack, Ack::Fault);
}

#[test]
fn wait_and_no_ack_bursts() {
    let mut w = Wire::connect();
    let base = w.dap.transactions_since_open();
    w.dap.set_fault_plan(FaultPlan {
        wait_burst: Some(WaitBurst {
            after: base + 1,
            count: 2,
        }),
        no_ack_burst: Some(WaitBurst {
            after: base + 4,
            count: 1,
        }),
        unplug_after: None,
    });
    let acks: Vec<Ack> = (0..6).map(|_| w.t(Request::dp_read(0)).ack).collect();
    assert_eq!(
        acks,
        [Ack::Ok, Ack::Wait, Ack::Wait, Ack::Ok, Ack::NoAck, Ack::Ok]
    );
    let dp = w.dap.stats().port(PortId::Dp);
    assert_eq!((dp.waits, dp.no_acks), (2, 1));
}

#[test]
fn overrun_detect_makes_wait_sticky() {
    let mut w = Wire::connect();
    w.ok(Request::dp_write(CTRL, 1)); // ORUNDETECT
    let n = w.dap.transactions_since_open();
    w.dap.set_fault_plan(FaultPlan {
        wait_burst: Some(WaitBurst { after: n, count: 1 }),
        ..FaultPlan::default()
    });
    assert_eq!(w.t(Request::dp_read(0)).ack, Ack::Wait);
    assert_eq!(w.t(Request::dp_read(RDBUFF)).ack, Ack::Fault);
    assert_ne!(w.dp_read(CTRL) & (1 << 1), 0, "STICKYORUN");
    w.ok(Request::dp_write(ABORT, 1 << 4));
    assert_eq!(w.t(Request::dp_read(RDBUFF)).ack, Ack::Ok);
}

#[test]
fn stats_count_transactions_per_port() {
    let mut w = Wire::powered();
    w.dap.reset_stats();
    w.select(3, 0xF, 0); // DP write
    w.ap_read(0xC); // AP3 read + DP read
    w.select(2, 0xF, 0);
    w.ap_read(0xC);
    let s = *w.dap.stats();
    assert_eq!(s.transactions, 6);
    assert_eq!(s.dp.transactions, 4);
    assert_eq!(s.per_ap[3].reads, 1);
    assert_eq!(s.per_ap[2].reads, 1);
    assert_eq!(s.per_ap[0].transactions, 0);
    let table = s.to_string();
    assert!(table.contains("AP3 CM4"), "{table}");
    assert!(table.lines().last().unwrap().starts_with("total"));
}

#[test]
fn board_unplug_and_power_cycle() {
    let mut b = Board::new(
        Box::new(TestBus::new()),
        FaultPlan {
            unplug_after: Some(2),
            ..FaultPlan::default()
        },
    );
    assert!(b.transfer(Request::dp_read(0)).is_ok());
    assert!(b.transfer(Request::dp_read(0)).is_ok());
    assert!(b.transfer(Request::dp_read(0)).is_err());
    assert!(b.set_reset_pin(true).is_err());
    b.replug();
    // Over JTAG (the port's power-on protocol): TAPs to Run-Test/Idle, the firmware told the
    // chain (DP nearest TDO).
    let jtag_idle = |b: &mut Board| {
        b.jtag_sequence(6, true, 0).unwrap();
        b.jtag_sequence(1, false, 0).unwrap();
    };
    b.dap_mut().set_transport(h7sh::sim::dap::WireMode::Jtag);
    b.dap_mut().configure_jtag(&[4, 5], 0);
    jtag_idle(&mut b);
    b.transfer(Request::dp_write(CTRL, PWRUP_REQ)).unwrap();
    assert_eq!(
        b.transfer(Request::dp_read(CTRL)).unwrap().data & PWRUP_ACK,
        PWRUP_ACK
    );
    b.power_cycle();
    // Debug domain back to power-on (TAPs in Test-Logic-Reset): no power-up ACK.
    jtag_idle(&mut b);
    let ctrl = b.transfer(Request::dp_read(CTRL)).unwrap();
    assert_eq!(ctrl.ack, Ack::Ok);
    assert_eq!(ctrl.data & PWRUP_ACK, 0);
    // The transfer refused while unplugged never reached the wire; over JTAG a DP read is two
    // scans (the read, then RDBUFF to fetch it): 2 + 1 + 2 + 2.
    assert_eq!(b.stats().transactions, 7);
}

#[test]
fn power_cycle_drops_an_swd_connection() {
    let mut b = Board::new(Box::new(TestBus::new()), FaultPlan::default());
    b.swj_sequence(51, (1 << 51) - 1).unwrap();
    b.swj_sequence(16, 0xE79E).unwrap();
    b.swj_sequence(52, (1 << 50) - 1).unwrap();
    assert_eq!(b.transfer(Request::dp_read(0)).unwrap().ack, Ack::Ok);
    b.power_cycle();
    // Back in JTAG: SWD packets go unanswered until the probe switches the port again.
    assert_eq!(b.transfer(Request::dp_read(0)).unwrap().ack, Ack::NoAck);
}
