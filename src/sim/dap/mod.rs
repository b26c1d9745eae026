//! ADIv5 debug port (SWJ-DP, DPv2) and the four MEM-APs of the dual-core STM32H7.
//!
//! This model knows nothing about probe-rs: it answers DP/AP register transactions as they
//! appear on the wire ([`Dap::transfer`]) plus the raw line sequences ([`Dap::swj_sequence`]),
//! so any front end (the probe-rs driver in `sim::probe`, a remote_bitbang or pyOCD remote probe
//! server later) can drive it. Behind the APs sits the chip, reached through [`Bus`].
//!
//! Wire semantics follow ARM IHI0031 (ADIv5.2):
//! - AP reads are posted (B4.2.1): the ACK of an AP read carries the result of the previous AP
//!   read; the real value comes from the next AP read or from RDBUFF.
//! - A failed AP transaction (bus error) sets CTRL/STAT.STICKYERR; while a sticky flag is set,
//!   every request except DPIDR/CTRL/STAT/RESEND reads and ABORT/TARGETSEL writes answers FAULT
//!   (B4.2.4), until ABORT clears the flag.
//! - After a line reset the SW-DP answers nothing but a DPIDR read (B4.3.3).
//! - Debug port disabled (RDP level 2): no ACK, ever.
//!
//! Timing: every transaction advances the chip's virtual time by one SWD packet at the current
//! clock (48 cycles, 12 µs at 4 MHz: `facts::wire`), every raw line bit by one clock.

pub mod jtag;
pub mod regs;
pub mod stats;
pub mod swd_bits;

use crate::h7::facts;
use crate::sim::bus::{ApPower, Bus, BusError, Size};
use crate::sim::faults::{FaultPlan, WaitBurst};

use regs::{addr_inc, ap_addr, csw_size, dp_addr, dp_bank, Abort, Csw, Ctrl, Select};
pub use stats::{PortCounters, PortId, SimStats};

/// Which port a request addresses (the APnDP bit of an SWD request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    Dp,
    Ap,
}

/// Read or write, with the value to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rw {
    Read,
    Write(u32),
}

/// One DAP register transaction: an SWD request packet (APnDP, RnW, A[3:2]) with its data.
///
/// `addr` holds A[3:2] as a byte address (0x0, 0x4, 0x8, 0xC); other bits are ignored. The AP
/// register bank and the AP itself come from SELECT, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub port: Port,
    pub addr: u8,
    pub rw: Rw,
}

impl Request {
    /// Read DP register at A[3:2] = `addr`.
    pub fn dp_read(addr: u8) -> Self {
        Self {
            port: Port::Dp,
            addr: addr & 0xC,
            rw: Rw::Read,
        }
    }
    /// Write DP register at A[3:2] = `addr`.
    pub fn dp_write(addr: u8, value: u32) -> Self {
        Self {
            port: Port::Dp,
            addr: addr & 0xC,
            rw: Rw::Write(value),
        }
    }
    /// Read AP register at A[3:2] = `addr` of the bank and AP selected by SELECT.
    pub fn ap_read(addr: u8) -> Self {
        Self {
            port: Port::Ap,
            addr: addr & 0xC,
            rw: Rw::Read,
        }
    }
    /// Write AP register at A[3:2] = `addr` of the bank and AP selected by SELECT.
    pub fn ap_write(addr: u8, value: u32) -> Self {
        Self {
            port: Port::Ap,
            addr: addr & 0xC,
            rw: Rw::Write(value),
        }
    }
    fn is_write(&self) -> bool {
        matches!(self.rw, Rw::Write(_))
    }
}

/// The target's acknowledge of a request (ADIv5.2 B4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ack {
    Ok,
    Wait,
    Fault,
    /// Nothing drove the line during the ACK phase.
    NoAck,
}

/// The answer to one [`Request`]: the ACK and, for an OK read, the data phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    pub ack: Ack,
    /// Read data (0 for writes and for answers other than OK).
    pub data: u32,
}

impl Response {
    fn ok(data: u32) -> Self {
        Self { ack: Ack::Ok, data }
    }
    fn ack(ack: Ack) -> Self {
        Self { ack, data: 0 }
    }
}

/// Which protocol the SWJ-DP currently speaks (ADIv5.2 B5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireMode {
    /// JTAG, the SWJ-DP's state after power-on.
    Jtag,
    /// SWD, after the JTAG-to-SWD switch sequence.
    Swd,
}

/// SWJ-DP select sequences, sent LSB first after at least 50 clocks with SWDIO/TMS high
/// (ADIv5.2 B5.2.2).
mod swj {
    /// JTAG-to-SWD.
    pub const JTAG_TO_SWD: u16 = 0xE79E;
    /// SWD-to-JTAG.
    pub const SWD_TO_JTAG: u16 = 0xE73C;
    /// Clocks with SWDIO high that make a line reset (B4.3.3).
    pub const LINE_RESET_ONES: u32 = 50;
}

/// Line-level state: which protocol is active and whether a line reset happened.
#[derive(Debug, Clone)]
struct Line {
    mode: WireMode,
    /// SWD after a line reset: only a DPIDR read is answered.
    awaiting_dpidr: bool,
    /// Consecutive clocks with SWDIO/TMS high.
    ones: u32,
    /// Bits collected after a run of >= 50 ones, looking for a select sequence.
    collecting: Option<(u16, u8)>,
}

impl Line {
    fn power_on() -> Self {
        Self {
            mode: WireMode::Jtag,
            awaiting_dpidr: false,
            ones: 0,
            collecting: None,
        }
    }

    fn feed(&mut self, bit: bool) {
        if let Some((value, count)) = self.collecting.as_mut() {
            *value |= u16::from(bit) << *count;
            *count += 1;
            if *count == 16 {
                match *value {
                    swj::JTAG_TO_SWD => {
                        self.mode = WireMode::Swd;
                        // SWD needs a line reset and a DPIDR read before anything else.
                        self.awaiting_dpidr = true;
                    }
                    swj::SWD_TO_JTAG => {
                        self.mode = WireMode::Jtag;
                        self.awaiting_dpidr = false;
                    }
                    // Other patterns (dormant entry, alert, activation codes) are not modelled:
                    // the port stays in its current protocol.
                    _ => {}
                }
                self.collecting = None;
            }
        }
        if bit {
            self.ones = self.ones.saturating_add(1);
            if self.ones == swj::LINE_RESET_ONES && self.mode == WireMode::Swd {
                self.awaiting_dpidr = true;
            }
        } else {
            if self.ones >= swj::LINE_RESET_ONES && self.collecting.is_none() {
                // This zero is bit 0 of a possible select sequence.
                self.collecting = Some((0, 1));
            }
            self.ones = 0;
        }
    }
}

/// The kind of memory bus behind a MEM-AP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApKind {
    /// AHB: 8/16/32-bit transfers.
    Ahb,
    /// APB: 32-bit transfers only (CSW.Size reads as word and cannot be changed).
    Apb,
}

/// One MEM-AP's register file (ADIv5.2 C2.6).
#[derive(Debug, Clone)]
struct MemAp {
    kind: ApKind,
    idr: u32,
    /// TAR bits that count in auto-increment (the rest stay: a run wraps inside the block).
    wrap: u32,
    base: u32,
    /// CSW as written (the read-only bits are computed at read time).
    csw: Csw,
    tar: u32,
}

impl MemAp {
    fn new(ap: u8) -> Self {
        use facts::{ap_id as id, ap_regs as r};
        let (kind, idr, base) = match ap {
            facts::ap::CM7 => (ApKind::Ahb, id::IDR_AHB_AP, id::BASE_AP0),
            facts::ap::D3 => (ApKind::Ahb, id::IDR_AHB_AP, id::BASE_AP1),
            facts::ap::APB_D => (ApKind::Apb, id::IDR_APB_AP, id::BASE_AP2),
            _ => (ApKind::Ahb, id::IDR_AHB_AP_CM4, id::BASE_AP3),
        };
        let wrap = if ap == facts::ap::CM4 {
            id::AUTOINC_WRAP_CM4
        } else {
            id::AUTOINC_WRAP
        };
        let csw = match kind {
            ApKind::Ahb => Csw(r::CSW_RESET_AHB & !Csw::READ_ONLY),
            ApKind::Apb => Csw(r::CSW_RESET_APB & !Csw::READ_ONLY),
        };
        Self {
            kind,
            idr,
            wrap,
            base,
            csw,
            tar: 0,
        }
    }

    /// CSW write: reserved Size/AddrInc encodings leave the field unchanged (the field does not
    /// implement them), read-only bits are ignored.
    fn write_csw(&mut self, value: u32) {
        let mut new = Csw(value & !Csw::READ_ONLY);
        let size_ok = match self.kind {
            ApKind::Ahb => matches!(
                new.size(),
                csw_size::BYTE | csw_size::HALFWORD | csw_size::WORD
            ),
            ApKind::Apb => false,
        };
        if !size_ok {
            new.set_size(self.csw.size());
        }
        if !matches!(
            new.addr_inc(),
            addr_inc::OFF | addr_inc::SINGLE | addr_inc::PACKED
        ) {
            new.set_addr_inc(self.csw.addr_inc());
        }
        self.csw = new;
    }

    fn size(&self) -> Size {
        if self.kind == ApKind::Apb {
            return Size::U32; // the APB-AP only does word transfers (ADIv5.2 C2.6.4)
        }
        match self.csw.size() {
            csw_size::BYTE => Size::U8,
            csw_size::HALFWORD => Size::U16,
            _ => Size::U32,
        }
    }

    /// Auto-increment: only the low TAR bits count (`wrap`), so a run wraps inside its block
    /// (ADIv5.2 C2.2.3: the boundary is at least 1 KiB; 1 KiB on AP0-AP2, 4 KiB on AP3).
    fn advance_tar(&mut self, bytes: u32) {
        self.tar = (self.tar & !self.wrap) | (self.tar.wrapping_add(bytes) & self.wrap);
    }
}

/// Outcome of one bus transfer through a MEM-AP.
type BusResult = Result<u32, ()>;

/// The SWJ-DP with its four MEM-APs.
#[derive(Debug, Clone)]
pub struct Dap {
    line: Line,
    /// The protocol the front end's probe speaks; the SWJ-DP answers only if it speaks it too.
    transport: WireMode,
    ctrl: Ctrl,
    select: Select,
    dlcr: u32,
    /// Result of the last AP read (posted reads), returned by RDBUFF and the next AP read.
    rdbuff: u32,
    /// Data of the last OK read, returned by RESEND.
    last_read: u32,
    aps: [MemAp; facts::ap::COUNT as usize],
    faults: FaultPlan,
    /// Transactions since the probe connection was opened (the fault plan's clock).
    since_open: u64,
    clock_khz: u32,
    stats: SimStats,
    /// An AP transfer is stuck on its bus: AP accesses and RDBUFF answer WAIT until
    /// ABORT.DAPABORT (ADIv5.2 B4.2.3).
    stalled: bool,
    /// The JTAG scan chain (both TAPs), clocked bit by bit in JTAG mode.
    chain: jtag::Chain,
    /// JTAG-DP: the last completed transaction's answer, captured by the next scan.
    jtag_result: Response,
    /// JTAG-DP: a transaction that answered WAIT, retried at each Capture-DR until it completes
    /// or ABORT.DAPABORT drops it.
    jtag_pending: Option<Request>,
    /// JTAG-DP: this scan captured WAIT, so its Update-DR is ignored (ADIv5.2 B3.3.2).
    jtag_drop_update: bool,
    /// The probe firmware's JTAG engine (CMSIS-DAP and ST-LINK run the scans themselves).
    engine: jtag::Engine,
}

/// How a transaction reached the DP: an SWD packet, or a JTAG-DP scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Packet,
    Scan,
}

impl Default for Dap {
    fn default() -> Self {
        Self::new()
    }
}

impl Dap {
    /// A DAP in its power-on state, with no faults planned.
    pub fn new() -> Self {
        Self {
            line: Line::power_on(),
            transport: WireMode::Swd,
            ctrl: Ctrl(0),
            select: Select(0),
            dlcr: 0,
            rdbuff: 0,
            last_read: 0,
            aps: std::array::from_fn(|n| MemAp::new(n as u8)),
            faults: FaultPlan::default(),
            since_open: 0,
            clock_khz: facts::wire::DEFAULT_CLOCK_KHZ,
            stats: SimStats::default(),
            stalled: false,
            chain: jtag::Chain::new(),
            jtag_result: Response::ok(0),
            jtag_pending: None,
            jtag_drop_update: false,
            engine: jtag::Engine::default(),
        }
    }

    /// Power-on reset of the debug domain (`sim power-cycle`): registers back to reset values.
    /// Counters, the fault plan and the clock are properties of the probe connection and stay.
    pub fn power_on_reset(&mut self) {
        let keep = (
            std::mem::take(&mut self.faults),
            self.since_open,
            self.clock_khz,
            self.stats,
            self.transport,
            std::mem::take(&mut self.engine),
        );
        *self = Self::new();
        (
            self.faults,
            self.since_open,
            self.clock_khz,
            self.stats,
            self.transport,
            self.engine,
        ) = keep;
        self.engine.forget_ir();
    }

    /// Install the wire faults to apply (WAIT and no-ACK bursts; unplugging is the board's).
    pub fn set_fault_plan(&mut self, plan: FaultPlan) {
        self.faults = plan;
    }

    /// Transactions served since the connection was opened.
    pub fn transactions_since_open(&self) -> u64 {
        self.since_open
    }

    /// Restart the fault plan's transaction count (a new probe connection).
    pub fn restart_connection_count(&mut self) {
        self.since_open = 0;
    }

    /// SWCLK frequency used to time transactions.
    pub fn clock_khz(&self) -> u32 {
        self.clock_khz
    }

    /// Set SWCLK (0 is taken as 1 kHz).
    pub fn set_clock_khz(&mut self, khz: u32) {
        self.clock_khz = khz.max(1);
    }

    /// Virtual duration of one SWD transaction at the current clock.
    pub fn transaction_nanos(&self) -> u64 {
        self.cycles_nanos(facts::wire::SWD_TRANSACTION_CYCLES)
    }

    fn cycles_nanos(&self, cycles: u64) -> u64 {
        cycles.saturating_mul(1_000_000) / u64::from(self.clock_khz.max(1))
    }

    /// The wire counters.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// Zero the wire counters.
    pub fn reset_stats(&mut self) {
        self.stats = SimStats::default();
    }

    /// Count one probe round trip addressed to `port`.
    pub fn note_round_trip(&mut self, port: PortId) {
        // A firmware's DAP_Transfer starts with no instruction loaded (CMSIS-DAP: `ir = 0`).
        self.engine.forget_ir();
        self.stats.round_trips += 1;
        self.stats.port_mut(port).round_trips += 1;
    }

    /// The AP that AP requests go to now (SELECT.APSEL).
    pub fn selected_ap(&self) -> u8 {
        self.select.apsel() as u8
    }

    /// The protocol the SWJ-DP speaks now.
    pub fn wire_mode(&self) -> WireMode {
        self.line.mode
    }

    /// The protocol the probe uses for transfers (SWD unless told otherwise). Transfers in a
    /// protocol the SWJ-DP is not speaking get no ACK: after power-on the port speaks JTAG, so
    /// an SWD probe must send the JTAG-to-SWD sequence first (ADIv5.2 B5.2).
    pub fn set_transport(&mut self, transport: WireMode) {
        self.transport = transport;
    }

    /// The port a request would reach, for counting.
    pub fn port_of(&self, port: Port) -> PortId {
        match port {
            Port::Dp => PortId::Dp,
            Port::Ap => PortId::Ap(self.selected_ap()),
        }
    }

    /// Clock `bit_len` bits (LSB first) onto SWDIO/TMS: line resets and the SWJ select
    /// sequences act on the port (ADIv5.2 B5.2). Dormant-state sequences are not modelled.
    pub fn swj_sequence(&mut self, bus: &mut dyn Bus, bit_len: u8, bits: u64) {
        let len = bit_len.min(64);
        // SWDIO is TMS: in JTAG mode the same bits move the TAPs (TDI held high).
        let clocks: Vec<jtag::Bit> = (0..len).map(|i| ((bits >> i) & 1 == 1, true)).collect();
        self.jtag_clock(bus, &clocks);
    }

    /// A line reset: 50 clocks with SWDIO high, then two idle clocks.
    pub fn line_reset(&mut self, bus: &mut dyn Bus) {
        self.swj_sequence(bus, 52, (1 << 50) - 1);
    }

    /// Clock `cycles` JTAG cycles with TMS held at `tms` and TDI from `tdi` (LSB first).
    pub fn jtag_sequence(&mut self, bus: &mut dyn Bus, cycles: u8, tms: bool, tdi: u64) {
        let clocks: Vec<jtag::Bit> = (0..cycles.min(64))
            .map(|i| (tms, (tdi >> i) & 1 == 1))
            .collect();
        self.jtag_clock(bus, &clocks);
    }

    /// Clock TMS/TDI pairs; returns TDO as sampled at each clock. TMS also goes to the SWJ
    /// select-sequence detector; the TAPs move only while the SWJ-DP speaks JTAG and the debug
    /// port is alive (otherwise TDO floats high).
    pub fn jtag_clock(&mut self, bus: &mut dyn Bus, clocks: &[jtag::Bit]) -> Vec<bool> {
        let tdo = clocks
            .iter()
            .map(|&(tms, tdi)| self.clock_bit(bus, tms, tdi))
            .collect();
        bus.advance(self.cycles_nanos(clocks.len() as u64));
        tdo
    }

    /// TDO as a probe samples it before the next clock (remote_bitbang's `R`).
    pub fn jtag_tdo(&self, bus: &dyn Bus) -> bool {
        if self.line.mode != WireMode::Jtag || bus.debug_port_disabled() {
            return true;
        }
        self.chain.tdo()
    }

    /// nTRST: both TAPs to Test-Logic-Reset (the SWJ-DP keeps its protocol).
    pub fn jtag_trst(&mut self) {
        self.chain.reset();
    }

    /// The JTAG TAPs' controller state.
    pub fn tap_state(&self) -> jtag::TapState {
        self.chain.state()
    }

    /// Configure the probe firmware's JTAG engine (DAP_JTAG_Configure): the chain's IR lengths,
    /// TDO side first, and the TAP that DAP transactions address.
    pub fn configure_jtag(&mut self, ir_lengths: &[u8], index: usize) {
        self.set_engine(jtag::Engine::with_chain(ir_lengths, index));
    }

    /// Configure the probe firmware's JTAG engine with the DP's place in the chain.
    pub fn set_engine(&mut self, engine: jtag::Engine) {
        self.engine = engine;
    }

    fn clock_bit(&mut self, bus: &mut dyn Bus, tms: bool, tdi: bool) -> bool {
        let before = self.line.mode;
        self.line.feed(tms);
        if before != WireMode::Jtag {
            if self.line.mode == WireMode::Jtag {
                // Switched to JTAG by this bit: the TAPs start in Test-Logic-Reset.
                self.chain.reset();
            }
            return true;
        }
        if bus.debug_port_disabled() {
            return true;
        }
        let (tdo, event) = self.chain.clock(tms, tdi);
        match event {
            Some(jtag::Event::Capture) => {
                let bits = self.jtag_capture(bus);
                self.chain.load_capture(bits);
            }
            Some(jtag::Event::Update { ir, dr }) => self.jtag_update(bus, ir, dr),
            None => {}
        }
        tdo
    }

    /// Capture-DR of DPACC/APACC/ABORT: the previous transaction's ACK and read result, or
    /// WAIT while it is still in progress (retried here, as the DP retries it internally).
    fn jtag_capture(&mut self, bus: &mut dyn Bus) -> u64 {
        use facts::jtag::{ACK_OK_FAULT, ACK_WAIT};
        if let Some(req) = self.jtag_pending {
            let resp = self.execute(bus, req, Via::Scan);
            if resp.ack == Ack::Wait {
                self.jtag_drop_update = true;
                return u64::from(ACK_WAIT);
            }
            self.jtag_pending = None;
            self.jtag_result = resp;
        }
        self.jtag_drop_update = false;
        match self.jtag_result.ack {
            // Nothing answered (a wire fault): TDO stays high.
            Ack::NoAck => (1 << facts::jtag::ACC_LEN) - 1,
            _ => u64::from(ACK_OK_FAULT) | (u64::from(self.jtag_result.data) << 3),
        }
    }

    /// Update-DR of DPACC/APACC/ABORT: start the transaction scanned in.
    fn jtag_update(&mut self, bus: &mut dyn Bus, ir: u8, dr: u64) {
        let data = (dr >> 3) as u32;
        if ir == facts::jtag::IR_ABORT {
            // ABORT is taken even while a transaction waits: it is how a debugger ends one.
            self.execute(
                bus,
                Request::dp_write(dp_addr::DPIDR_ABORT, data),
                Via::Scan,
            );
            if Abort(data).dapabort() {
                self.jtag_pending = None;
                self.jtag_drop_update = false;
            }
            return;
        }
        if self.jtag_drop_update {
            return;
        }
        let port = if ir == facts::jtag::IR_APACC {
            Port::Ap
        } else {
            Port::Dp
        };
        let addr = ((dr >> 1) & 3) as u8 * 4;
        let rw = if dr & 1 == 1 {
            Rw::Read
        } else {
            Rw::Write(data)
        };
        let req = Request { port, addr, rw };
        let resp = self.execute(bus, req, Via::Scan);
        if resp.ack == Ack::Wait {
            self.jtag_pending = Some(req);
        } else {
            self.jtag_result = resp;
        }
    }

    /// One DAP_Transfer item as a JTAG firmware runs it (CMSIS-DAP `DAP_JTAG_Transfer`): an IR
    /// scan when the instruction changes, then the DR scan, whose capture is the previous
    /// transaction's answer. So an AP read returns the previous AP read's data, as an SWD AP read
    /// does, and a DP read is fetched by a following RDBUFF scan. OK/FAULT reads as OK: a failed
    /// access shows only in CTRL/STAT.STICKYERR, as on a real JTAG-DP.
    fn engine_transfer(&mut self, bus: &mut dyn Bus, req: Request) -> Response {
        use facts::jtag::{IR_ABORT, IR_APACC, IR_DPACC};
        if !self.engine.configured() {
            // No TAP configured (DAP_JTAG_Configure never sent): the firmware does nothing.
            return Response::ack(Ack::NoAck);
        }
        let is_abort = req.port == Port::Dp && req.addr == dp_addr::DPIDR_ABORT && req.is_write();
        let ir = match req.port {
            Port::Ap => IR_APACC,
            Port::Dp if is_abort => IR_ABORT,
            Port::Dp => IR_DPACC,
        };
        let first = self.engine_scan(bus, ir, req);
        if is_abort {
            return Response::ok(0);
        }
        let dp_read = req.port == Port::Dp && !req.is_write();
        if dp_read && req.addr != dp_addr::RDBUFF_TARGETSEL && first.ack == Ack::Ok {
            return self.engine_scan(bus, IR_DPACC, Request::dp_read(dp_addr::RDBUFF_TARGETSEL));
        }
        first
    }

    fn engine_scan(&mut self, bus: &mut dyn Bus, ir: u8, req: Request) -> Response {
        let (read, data) = match req.rw {
            Rw::Read => (true, 0),
            Rw::Write(v) => (false, v),
        };
        let mut clocks = self.engine.ir_scan(ir);
        let (dr, start) = self.engine.dr_scan(jtag::acc_payload(read, req.addr, data));
        let offset = clocks.len();
        clocks.extend(dr);
        let tdo = self.jtag_clock(bus, &clocks);
        let captured = jtag::captured(&tdo, offset + start);
        match (captured & 7) as u8 {
            facts::jtag::ACK_OK_FAULT => Response::ok((captured >> 3) as u32),
            facts::jtag::ACK_WAIT => Response::ack(Ack::Wait),
            _ => Response::ack(Ack::NoAck),
        }
    }

    /// Serve one DAP register transaction: an SWD packet, or on a JTAG probe one DAP_Transfer
    /// item run through the scan chain by the probe's firmware.
    pub fn transfer(&mut self, bus: &mut dyn Bus, req: Request) -> Response {
        if self.transport == WireMode::Jtag {
            return self.engine_transfer(bus, req);
        }
        bus.advance(self.transaction_nanos());
        self.execute(bus, req, Via::Packet)
    }

    /// One transaction at the DP, counted.
    fn execute(&mut self, bus: &mut dyn Bus, req: Request, via: Via) -> Response {
        let n = self.since_open;
        self.since_open += 1;

        let port = self.port_of(req.port);
        let resp = self.serve(bus, req, n, via);

        if matches!(resp.ack, Ack::Wait | Ack::Fault) && self.ctrl.orundetect() {
            // Overrun detection: a WAIT or FAULT sets STICKYORUN (ADIv5.2 B2.2.2).
            self.ctrl.set_stickyorun(true);
        }
        if resp.ack == Ack::Ok && !req.is_write() {
            self.last_read = resp.data;
        }

        self.stats.transactions += 1;
        let c = self.stats.port_mut(port);
        c.transactions += 1;
        if req.is_write() {
            c.writes += 1;
        } else {
            c.reads += 1;
        }
        match resp.ack {
            Ack::Ok => {}
            Ack::Wait => c.waits += 1,
            Ack::Fault => c.faults += 1,
            Ack::NoAck => c.no_acks += 1,
        }
        resp
    }

    fn serve(&mut self, bus: &mut dyn Bus, req: Request, n: u64, via: Via) -> Response {
        if bus.debug_port_disabled() {
            return Response::ack(Ack::NoAck);
        }
        if in_burst(self.faults.no_ack_burst, n) {
            return Response::ack(Ack::NoAck);
        }
        if in_burst(self.faults.wait_burst, n) {
            return Response::ack(Ack::Wait);
        }
        if via == Via::Packet && self.line.mode != WireMode::Swd {
            // The port listens for the other protocol.
            return Response::ack(Ack::NoAck);
        }
        let is_dpidr_read =
            req.port == Port::Dp && req.addr == dp_addr::DPIDR_ABORT && !req.is_write();
        if self.line.mode == WireMode::Swd && self.line.awaiting_dpidr {
            if !is_dpidr_read {
                return Response::ack(Ack::NoAck);
            }
            self.line.awaiting_dpidr = false;
        }
        // A sticky flag makes the SW-DP refuse most requests; a JTAG-DP goes on with DP
        // accesses (that is how CTRL/STAT's flags get cleared) and drops AP transactions
        // (ADIv5.2 B2.2.2, B4.2.4).
        let refused = match via {
            Via::Packet => !Self::answers_while_sticky(req),
            Via::Scan => req.port == Port::Ap,
        };
        if self.ctrl.any_sticky() && refused {
            return Response::ack(Ack::Fault);
        }
        // On a JTAG-DP a stuck AP shows as WAIT in the next scan's capture (`jtag_capture`).
        let waits_for_the_ap = req.port == Port::Ap
            || (via == Via::Packet
                && req.addr & 0xC == dp_addr::RDBUFF_TARGETSEL
                && !req.is_write());
        if self.stalled && waits_for_the_ap {
            return Response::ack(Ack::Wait);
        }
        match req.port {
            Port::Dp => {
                let requested = self.ctrl.cdbgpwrupreq();
                let resp = self.dp_access(req.addr & 0xC, req.rw);
                if self.ctrl.cdbgpwrupreq() != requested {
                    bus.debug_power_request(!requested);
                }
                resp
            }
            Port::Ap => {
                let resp = self.ap_access(bus, req.addr & 0xC, req.rw);
                match (via, resp.ack, req.rw) {
                    // A JTAG-DP returns an AP read's own data in the next capture: no posting.
                    (Via::Scan, Ack::Ok, Rw::Read) => Response::ok(self.rdbuff),
                    _ => resp,
                }
            }
        }
    }

    /// The ACK an SWD write would get, before its data phase is clocked: a probe that clocks
    /// bits one command at a time (a Black Magic Probe's `Si` for the ACK, then `So` for the
    /// data) needs it before the data exist. The same checks `serve` makes first.
    pub fn predict_write_ack(&self, bus: &dyn Bus, req: Request) -> Ack {
        let n = self.since_open;
        if bus.debug_port_disabled() || in_burst(self.faults.no_ack_burst, n) {
            Ack::NoAck
        } else if in_burst(self.faults.wait_burst, n) {
            Ack::Wait
        } else if self.line.mode != WireMode::Swd || self.line.awaiting_dpidr {
            Ack::NoAck
        } else if self.ctrl.any_sticky() && !Self::answers_while_sticky(req) {
            Ack::Fault
        } else if self.stalled && req.port == Port::Ap {
            Ack::Wait
        } else {
            Ack::Ok
        }
    }

    /// An SWD write whose data phase failed its parity check: the SW-DP drops the write and
    /// sets CTRL/STAT.WDATAERR (ADIv5.2 B4.2.2).
    pub fn write_parity_error(&mut self) {
        self.ctrl.set_wdataerr(true);
    }

    /// Requests the SW-DP still answers OK with a sticky flag set (ADIv5.2 B4.2.4).
    fn answers_while_sticky(req: Request) -> bool {
        match (req.port, req.addr & 0xC, req.rw) {
            (Port::Dp, dp_addr::DPIDR_ABORT, _) => true, // DPIDR read, ABORT write
            (Port::Dp, dp_addr::BANKED_4, Rw::Read) => true, // CTRL/STAT (and its bank)
            (Port::Dp, dp_addr::RESEND_SELECT, Rw::Read) => true, // RESEND
            _ => false,
        }
    }

    fn dp_access(&mut self, addr: u8, rw: Rw) -> Response {
        match (addr, rw) {
            (dp_addr::DPIDR_ABORT, Rw::Read) => Response::ok(facts::dp::DPIDR_SWD),
            (dp_addr::DPIDR_ABORT, Rw::Write(v)) => {
                self.abort(Abort(v));
                Response::ok(0)
            }
            (dp_addr::BANKED_4, Rw::Read) => Response::ok(match self.select.dpbanksel() {
                dp_bank::CTRL_STAT => self.ctrl_stat(),
                dp_bank::DLCR => self.dlcr,
                dp_bank::TARGETID => facts::dp::TARGETID,
                dp_bank::DLPIDR => facts::dp_regs::DLPIDR,
                dp_bank::EVENTSTAT => facts::dp_regs::EVENTSTAT_IDLE,
                _ => 0, // reserved banks are RES0 in DPv2
            }),
            (dp_addr::BANKED_4, Rw::Write(v)) => {
                match self.select.dpbanksel() {
                    dp_bank::CTRL_STAT => self.write_ctrl(v),
                    // DLCR: only TURNROUND [9:8] is writable; the model ignores its effect.
                    dp_bank::DLCR => self.dlcr = v & 0x300,
                    _ => {} // read-only or reserved
                }
                Response::ok(0)
            }
            (dp_addr::RESEND_SELECT, Rw::Read) => Response::ok(self.last_read),
            (dp_addr::RESEND_SELECT, Rw::Write(v)) => {
                self.select = Select(v);
                Response::ok(0)
            }
            // On a JTAG-DP, RDBUFF reads as zero with no side effect: reading it is how a
            // debugger clocks out the previous result (ADIv5.2 B2.2.9).
            (dp_addr::RDBUFF_TARGETSEL, Rw::Read) if self.line.mode == WireMode::Jtag => {
                Response::ok(0)
            }
            (dp_addr::RDBUFF_TARGETSEL, Rw::Read) => {
                self.ctrl.set_readok(true);
                Response::ok(self.rdbuff)
            }
            // TARGETSEL is never acknowledged (ADIv5.2 B4.3.4); this DP is not multidrop.
            _ => Response::ack(Ack::NoAck),
        }
    }

    fn ctrl_stat(&self) -> u32 {
        let mut c = self.ctrl;
        // The power controller grants requests at once: the chip is powered whenever it
        // answers at all.
        c.set_cdbgpwrupack(c.cdbgpwrupreq());
        c.set_csyspwrupack(c.csyspwrupreq());
        c.set_cdbgrstack(c.cdbgrstreq());
        c.0
    }

    fn write_ctrl(&mut self, v: u32) {
        let keep = self.ctrl.0 & !Ctrl::WRITABLE;
        let mut c = Ctrl(keep | (v & Ctrl::WRITABLE));
        if self.line.mode == WireMode::Jtag {
            // JTAG-DP: sticky flags are write-one-to-clear.
            c.0 &= !(v & Ctrl::STICKY);
        }
        self.ctrl = c;
    }

    fn abort(&mut self, a: Abort) {
        if a.dapabort() {
            // The stuck transfer is abandoned; the AP answers again (and stalls again on the
            // next transfer to a bus that still does not complete).
            self.stalled = false;
        }
        if self.line.mode == WireMode::Jtag {
            // On a JTAG-DP only DAPABORT exists; the flag clears are SW-DP only (ADIv5.2
            // B2.2.1): JTAG clears sticky flags by writing ones to CTRL/STAT.
            return;
        }
        if a.stkcmpclr() {
            self.ctrl.set_stickycmp(false);
        }
        if a.stkerrclr() {
            self.ctrl.set_stickyerr(false);
        }
        if a.wderrclr() {
            self.ctrl.set_wdataerr(false);
        }
        if a.orunerrclr() {
            self.ctrl.set_stickyorun(false);
        }
    }

    fn ap_access(&mut self, bus: &mut dyn Bus, addr: u8, rw: Rw) -> Response {
        let apsel = self.select.apsel();
        let reg = ((self.select.apbanksel() << 4) as u8) | addr;
        let Some(idx) = usize::try_from(apsel).ok().filter(|&i| i < self.aps.len()) else {
            // No AP at this APSEL: reads as zero (IDR = 0 ends an AP scan), writes ignored.
            return self.post_read_or_ack(rw, Ok(0));
        };
        let ap = idx as u8;
        let result: BusResult = match (reg, rw) {
            (ap_addr::CSW, Rw::Read) => Ok(self.csw_value(bus, ap)),
            (ap_addr::CSW, Rw::Write(v)) => {
                self.aps[idx].write_csw(v);
                Ok(0)
            }
            (ap_addr::TAR, Rw::Read) => Ok(self.aps[idx].tar),
            (ap_addr::TAR, Rw::Write(v)) => {
                self.aps[idx].tar = v;
                Ok(0)
            }
            (ap_addr::DRW, _) => self.drw(bus, ap, rw),
            (ap_addr::BD0..=ap_addr::BD3, _) => {
                let a = &self.aps[idx];
                let address = (a.tar & !0xF) | u32::from(reg & 0xC);
                let size = a.size();
                self.mem(bus, ap, address, size, rw)
            }
            (ap_addr::CFG, Rw::Read) => Ok(facts::ap_id::CFG),
            (ap_addr::BASE, Rw::Read) => Ok(self.aps[idx].base),
            (ap_addr::IDR, Rw::Read) => Ok(self.aps[idx].idr),
            // TAR[63:32], MBT, BASE[63:32], reserved: RAZ/WI; writes to read-only ignored.
            (_, Rw::Read) => Ok(0),
            (_, Rw::Write(_)) => Ok(0),
        };
        if self.stalled {
            return Response::ack(Ack::Wait);
        }
        self.post_read_or_ack(rw, result)
    }

    /// AP reads are posted: the ACK carries the previous result; this one goes to RDBUFF. A
    /// failed transfer still ACKs OK (the ACK comes first) and sets STICKYERR.
    fn post_read_or_ack(&mut self, rw: Rw, result: BusResult) -> Response {
        let value = match result {
            Ok(v) => v,
            Err(()) => {
                self.ctrl.set_stickyerr(true);
                self.ctrl.set_readok(false);
                0
            }
        };
        match rw {
            Rw::Read => {
                let previous = std::mem::replace(&mut self.rdbuff, value);
                if result.is_ok() {
                    self.ctrl.set_readok(true);
                }
                Response::ok(previous)
            }
            Rw::Write(_) => Response::ok(0),
        }
    }

    fn csw_value(&self, bus: &dyn Bus, ap: u8) -> u32 {
        let a = &self.aps[usize::from(ap)];
        let mut csw = a.csw;
        // DeviceEn = 0 while the AP's domain has no debug clock: transfers cannot be issued.
        csw.set_device_en(!matches!(
            bus.ap_power(ap),
            ApPower::Unclocked | ApPower::Stalled
        ));
        csw.set_tr_in_prog(false);
        if a.kind == ApKind::Apb {
            csw.set_size(csw_size::WORD);
        }
        csw.0
    }

    /// A DRW access at TAR, then auto-increment.
    fn drw(&mut self, bus: &mut dyn Bus, ap: u8, rw: Rw) -> BusResult {
        let idx = usize::from(ap);
        let size = self.aps[idx].size();
        let tar = self.aps[idx].tar;
        match self.aps[idx].csw.addr_inc() {
            addr_inc::PACKED if size != Size::U32 => {
                // Packed: as many transfers as fit from TAR to the end of its word, each in its
                // own byte lanes (ADIv5.2 C2.2.7); TAR then moves on by the bytes moved.
                let step = size.bytes();
                let mut address = tar;
                let mut word = 0u32;
                let mut result = Ok(());
                while result.is_ok() && (address & 3) + step <= 4 {
                    match self.mem(bus, ap, address, size, rw) {
                        Ok(lanes) => word |= lanes,
                        Err(()) => result = Err(()),
                    }
                    address = address.wrapping_add(step);
                    if address & 3 == 0 {
                        break;
                    }
                }
                self.aps[idx].advance_tar(address.wrapping_sub(tar));
                result.map(|()| word)
            }
            addr_inc::OFF => self.mem(bus, ap, tar, size, rw),
            _ => {
                let r = self.mem(bus, ap, tar, size, rw);
                self.aps[idx].advance_tar(size.bytes());
                r
            }
        }
    }

    /// One bus transfer of `size` at `address`, data in its byte lanes of the 32-bit DRW
    /// (ADIv5.2 C2.2.6: a byte at address A travels in lane A[1:0], a halfword in lanes
    /// A[1]*2..A[1]*2+1). Word and halfword transfers are aligned down as an AHB-Lite master
    /// drives HADDR.
    fn mem(&mut self, bus: &mut dyn Bus, ap: u8, address: u32, size: Size, rw: Rw) -> BusResult {
        if !self.ctrl.csyspwrupreq() || !self.ctrl.cdbgpwrupreq() {
            // System or debug domain not powered up: the AP cannot reach its bus.
            return Err(());
        }
        let (aligned, shift) = match size {
            Size::U8 => (address, 8 * (address & 3)),
            Size::U16 => (address & !1, 8 * (address & 2)),
            Size::U32 => (address & !3, 0),
        };
        let mask = match size {
            Size::U8 => 0xFF,
            Size::U16 => 0xFFFF,
            Size::U32 => u32::MAX,
        };
        match bus.ap_power(ap) {
            ApPower::Up => {
                let result = match rw {
                    Rw::Read => bus.read(ap, aligned, size).map(|v| (v & mask) << shift),
                    Rw::Write(data) => bus
                        .write(ap, aligned, size, (data >> shift) & mask)
                        .map(|()| 0),
                };
                match result {
                    Ok(v) => Ok(v),
                    Err(BusError::Stalled(_)) => {
                        self.stalled = true;
                        Ok(0)
                    }
                    Err(_) => Err(()),
                }
            }
            // The core behind the AP is held: reads return zero, writes vanish, all ACK OK.
            ApPower::Gated => Ok(0),
            // No debug clock in the AP's domain (CSW.DeviceEn = 0): the transfer is not issued
            // and the AP reports an error, so the probe sees FAULT (ST-LINK: SWD_AP_FAULT).
            ApPower::Unclocked => Err(()),
            // No clock and no error either: the transfer waits for a clock that never comes.
            ApPower::Stalled => {
                self.stalled = true;
                Ok(0)
            }
        }
    }
}

fn in_burst(burst: Option<WaitBurst>, n: u64) -> bool {
    burst.is_some_and(|b| n >= b.after && n - b.after < b.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::testbus::TestBus;

    fn connected() -> (Dap, TestBus) {
        let mut dap = Dap::new();
        let mut bus = TestBus::new();
        // As probe-rs's debug_port_setup: 51 ones, the select sequence right after, line reset.
        dap.swj_sequence(&mut bus, 51, (1 << 51) - 1);
        dap.swj_sequence(&mut bus, 16, u64::from(swj::JTAG_TO_SWD));
        dap.line_reset(&mut bus);
        assert_eq!(
            dap.transfer(&mut bus, Request::dp_read(0)),
            Response::ok(facts::dp::DPIDR_SWD)
        );
        (dap, bus)
    }

    #[test]
    fn line_reset_requires_dpidr_read_first() {
        let (mut dap, mut bus) = connected();
        dap.line_reset(&mut bus);
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(4)).ack, Ack::NoAck);
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(0)).ack, Ack::Ok);
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(4)).ack, Ack::Ok);
    }

    #[test]
    fn swd_to_jtag_and_back() {
        let (mut dap, mut bus) = connected();
        dap.swj_sequence(&mut bus, 51, (1 << 51) - 1);
        dap.swj_sequence(&mut bus, 16, u64::from(swj::SWD_TO_JTAG));
        assert_eq!(dap.wire_mode(), WireMode::Jtag);
        // An SWD probe now gets nothing; a JTAG one gets answers, with no line-reset gating.
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(0)).ack, Ack::NoAck);
        dap.set_transport(WireMode::Jtag);
        // The firmware's engine knows no chain until DAP_JTAG_Configure.
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(4)).ack, Ack::NoAck);
        jtag_idle(&mut dap, &mut bus);
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(4)).ack, Ack::Ok);
        dap.swj_sequence(&mut bus, 51, (1 << 51) - 1);
        dap.swj_sequence(&mut bus, 16, u64::from(swj::JTAG_TO_SWD));
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(0)).ack, Ack::NoAck);
    }

    /// As probe-rs's JTAG debug_port_setup: TAPs to Test-Logic-Reset, then Run-Test/Idle, and
    /// the engine configured for the chain (DP nearest TDO).
    fn jtag_idle(dap: &mut Dap, bus: &mut TestBus) {
        dap.swj_sequence(bus, 6, 0x3F);
        dap.jtag_sequence(bus, 1, false, 1);
        dap.configure_jtag(&[facts::jtag::DP_IR_LEN, facts::jtag::BS_IR_LEN], 0);
    }

    /// A DAP in JTAG mode after power-on, ready for DAP_Transfer items.
    fn jtag_connected() -> (Dap, TestBus) {
        let mut dap = Dap::new();
        let mut bus = TestBus::new();
        dap.set_transport(WireMode::Jtag);
        jtag_idle(&mut dap, &mut bus);
        dap.transfer(&mut bus, Request::dp_write(8, 0));
        dap.transfer(&mut bus, Request::dp_write(4, 0x5000_0000));
        (dap, bus)
    }

    #[test]
    fn jtag_dp_reads_come_back_through_the_scans() {
        let (mut dap, mut bus) = jtag_connected();
        assert_eq!(
            dap.transfer(&mut bus, Request::dp_read(0)),
            Response::ok(facts::dp::DPIDR_SWD)
        );
        assert_eq!(dap.tap_state(), jtag::TapState::Idle);
        // An AP read returns the previous AP read (as SWD posting does); RDBUFF the last one.
        bus.poke(0x2400_0000, &[1, 0, 0, 0, 2, 0, 0, 0]);
        dap.transfer(&mut bus, Request::ap_write(0x0, 0x2300_0052));
        dap.transfer(&mut bus, Request::ap_write(0x4, 0x2400_0000));
        dap.transfer(&mut bus, Request::ap_read(0xC));
        assert_eq!(dap.transfer(&mut bus, Request::ap_read(0xC)).data, 1);
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(0xC)).data, 2);
    }

    #[test]
    fn jtag_faults_show_only_in_ctrl_stat_and_clear_by_writing_ones() {
        let (mut dap, mut bus) = jtag_connected();
        bus.set_ap_power(0, ApPower::Unclocked);
        dap.transfer(&mut bus, Request::ap_write(0x4, 0x2400_0000));
        dap.transfer(&mut bus, Request::ap_read(0xC));
        // OK/FAULT: no FAULT ACK on a JTAG-DP, the data is zero.
        assert_eq!(
            dap.transfer(&mut bus, Request::dp_read(0xC)),
            Response::ok(0)
        );
        let ctrl = dap.transfer(&mut bus, Request::dp_read(4)).data;
        assert!(Ctrl(ctrl).stickyerr());
        // ABORT's STKERRCLR is SW-DP only: the flag stays.
        let mut abort = Abort(0);
        abort.set_stkerrclr(true);
        dap.transfer(&mut bus, Request::dp_write(0, abort.0));
        assert!(Ctrl(dap.transfer(&mut bus, Request::dp_read(4)).data).stickyerr());
        // Meanwhile AP transactions are dropped, even on a healthy AP.
        bus.set_ap_power(0, ApPower::Up);
        dap.transfer(&mut bus, Request::ap_read(0xC));
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(0xC)).data, 0);
        // Writing ones to CTRL/STAT's sticky bits clears them.
        dap.transfer(&mut bus, Request::dp_write(4, ctrl));
        assert!(!Ctrl(dap.transfer(&mut bus, Request::dp_read(4)).data).stickyerr());
    }

    #[test]
    fn a_stuck_ap_answers_wait_in_the_next_scan_until_dapabort() {
        let (mut dap, mut bus) = jtag_connected();
        bus.set_ap_power(0, ApPower::Stalled);
        dap.transfer(&mut bus, Request::ap_write(0x4, 0x2400_0000));
        dap.transfer(&mut bus, Request::ap_read(0xC));
        for _ in 0..3 {
            assert_eq!(dap.transfer(&mut bus, Request::dp_read(0xC)).ack, Ack::Wait);
        }
        let mut abort = Abort(0);
        abort.set_dapabort(true);
        dap.transfer(&mut bus, Request::dp_write(0, abort.0));
        bus.set_ap_power(0, ApPower::Up);
        assert_eq!(dap.transfer(&mut bus, Request::dp_read(0)).ack, Ack::Ok);
    }

    #[test]
    fn select_sequence_must_follow_the_ones_directly() {
        let mut dap = Dap::new();
        let mut bus = TestBus::new();
        dap.line_reset(&mut bus); // ends with two idle zeros
        dap.swj_sequence(&mut bus, 16, u64::from(swj::JTAG_TO_SWD));
        assert_eq!(dap.wire_mode(), WireMode::Jtag);
    }

    #[test]
    fn time_advances_per_transaction() {
        let (mut dap, mut bus) = connected();
        let t0 = bus.now_nanos();
        dap.transfer(&mut bus, Request::dp_read(0));
        assert_eq!(bus.now_nanos() - t0, 12_000);
        dap.set_clock_khz(1_000);
        dap.transfer(&mut bus, Request::dp_read(0));
        assert_eq!(bus.now_nanos() - t0, 12_000 + 48_000);
    }

    #[test]
    fn packed_byte_transfers_fill_all_lanes() {
        let (mut dap, mut bus) = connected();
        bus.poke(
            0x2000_0000,
            &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88],
        );
        dap.transfer(&mut bus, Request::dp_write(4, 0x5000_0000));
        dap.transfer(&mut bus, Request::dp_write(8, 0));
        dap.transfer(&mut bus, Request::ap_write(0, 0x20)); // Size 8, packed
        dap.transfer(&mut bus, Request::ap_write(4, 0x2000_0000));
        dap.transfer(&mut bus, Request::ap_read(0xC));
        dap.transfer(&mut bus, Request::ap_read(0xC));
        let first = dap.transfer(&mut bus, Request::dp_read(0xC));
        assert_eq!(first.data, 0x8877_6655);
        assert_eq!(dap.last_read, 0x8877_6655);
        dap.transfer(&mut bus, Request::ap_read(4));
        assert_eq!(
            dap.transfer(&mut bus, Request::dp_read(0xC)).data,
            0x2000_0008
        );
    }

    #[test]
    fn reserved_csw_size_is_ignored_and_apb_is_word_only() {
        let (mut dap, mut bus) = connected();
        dap.transfer(&mut bus, Request::dp_write(8, 0));
        dap.transfer(&mut bus, Request::ap_write(0, 0x0000_0012));
        dap.transfer(&mut bus, Request::ap_write(0, 0x0000_0017));
        dap.transfer(&mut bus, Request::ap_read(0));
        let csw = dap.transfer(&mut bus, Request::dp_read(0xC)).data;
        assert_eq!(csw & 7, csw_size::WORD, "previous size kept");
        assert_eq!((csw >> 4) & 3, addr_inc::SINGLE);
        dap.transfer(&mut bus, Request::dp_write(8, 0x0200_0000));
        dap.transfer(&mut bus, Request::ap_write(0, 0));
        dap.transfer(&mut bus, Request::ap_read(0));
        let csw = dap.transfer(&mut bus, Request::dp_read(0xC)).data;
        assert_eq!(csw & 7, csw_size::WORD);
    }
}
