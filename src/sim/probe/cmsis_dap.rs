//! The CMSIS-DAP personalities (v2 bulk and v1 HID): `DebugProbe` + `RawDapAccess`, as probe-rs's
//! `probe/cmsisdap/mod.rs` drives a CMSIS-DAP probe:
//! - Register writes are queued and go out with the next register read, in one DAP_Transfer:
//!   one round trip (one USB exchange on a real probe) for the writes and the read, as probe-rs's
//!   `batch_add` / `process_batch` do; a batch of writes alone goes out when it fills a packet
//!   (`(packet_size - 3) / 5` writes), on `raw_flush`, before a block transfer and on detach.
//!   A block transfer is cut into packets of `(packet_size - 6) / 4` words, one round trip each
//!   (v2: 512-byte packets, 126 words; v1 HID: 64 bytes, 14 words). SWJ sequences and pins do not
//!   send the batch first (probe-rs 0.32 has that call commented out).
//! - Attaching is DAP_Connect + SWJ clock + transfer and SWD configuration + host status (five
//!   round trips). DAP_Connect drives nRESET high (ARM's reference firmware, PORT_SWD_SETUP), so
//!   a reset asserted by `target_reset_assert` before attaching is released by the attach; pins
//!   driven through `swj_pins` connect first (probe-rs `connect_if_needed`) and so stay as set.
//! - No target voltage: probe-rs's CMSIS-DAP driver does not read it (`None`).
//! - Posted reads are the probe's business, as in CMSIS-DAP firmware: an AP read is followed by
//!   a read of RDBUFF (a block of n AP reads by one), and a write by a RDBUFF read that checks
//!   its ACK ("check last write"); probe-rs at this level sees the real values.
//! - WAIT is retried up to `facts::wire::WAIT_RETRIES` times (probe-rs configures CMSIS-DAP with
//!   `wait_retry = 0xFFFF`); if it persists the driver writes ABORT.DAPABORT and reports
//!   `DapError::WaitResponse`.
//! - FAULT: the driver reads CTRL/STAT and, if STICKYERR is set, clears it with
//!   ABORT.STKERRCLR (cmsisdap `handle_sticky_err`), then reports `DapError::FaultResponse`.
//! - No ACK: `DapError::NoAcknowledge`, no retry.
//! - Unplugged probe: `DebugProbeError::Usb` (an I/O error of kind `NotConnected`), wrapped in
//!   `ArmError::Probe` on the DAP calls, as a USB transfer to a vanished device fails.

use std::sync::Arc;

use bitvec::vec::BitVec;

use super::JtagQueue;
use probe_rs::architecture::arm::sequences::ArmDebugSequence;
use probe_rs::architecture::arm::{
    ArmCommunicationInterface, ArmDebugInterface, ArmError, DapError, DapProbe, RawDapAccess,
    RegisterAddress,
};
use probe_rs::probe::{
    AutoImplementJtagAccess, DebugProbe, DebugProbeError, JtagAccess, JtagDriverState, RawJtagIo,
    WireProtocol,
};
use probe_rs::CoreStatus;

use crate::h7::facts::wire;
use crate::sim::board::{lock, Board, LinkError, SharedBoard, PIN_NRESET};
use crate::sim::dap::regs::{dp_addr, Abort, Ctrl};
use crate::sim::dap::{jtag, Ack, Port, PortId, Request, WireMode};

fn transport(protocol: WireProtocol) -> WireMode {
    match protocol {
        WireProtocol::Swd => WireMode::Swd,
        WireProtocol::Jtag => WireMode::Jtag,
    }
}

fn link_err(e: LinkError) -> ArmError {
    ArmError::Probe(e.into())
}

/// USB packet size of a CMSIS-DAP v2 probe (bulk endpoint; DAPLink and most v2 firmware).
const PACKET_SIZE_V2: usize = 512;
/// USB packet size of a CMSIS-DAP v1 probe (HID report).
const PACKET_SIZE_V1: usize = 64;

/// The virtual CMSIS-DAP probe over a shared board.
#[derive(Debug)]
pub struct SimProbe {
    board: SharedBoard,
    speed_khz: u32,
    protocol: WireProtocol,
    packet_size: usize,
    name: &'static str,
    /// DAP_Connect done (probe-rs `CmsisDap::connected`).
    connected: bool,
    /// Register writes not sent yet (probe-rs `CmsisDap::batch`).
    batch: Vec<(RegisterAddress, u32)>,
    /// probe-rs's JTAG driver state (the TAP state the host believes in, the chain).
    jtag_state: JtagDriverState,
    /// JTAG clocks not sent yet and TDO bits not read yet.
    jtag: JtagQueue,
}

impl SimProbe {
    /// A CMSIS-DAP v2 probe connected to `board`, speaking SWD at the default clock.
    pub fn new(board: SharedBoard) -> Self {
        Self::with_packet_size(board, PACKET_SIZE_V2, wire::SIM_PROBE_NAME)
    }

    /// A CMSIS-DAP v1 (HID) probe: same protocol, 64-byte packets.
    pub fn new_v1(board: SharedBoard) -> Self {
        Self::with_packet_size(board, PACKET_SIZE_V1, wire::SIM_PROBE_NAME_V1)
    }

    fn with_packet_size(board: SharedBoard, packet_size: usize, name: &'static str) -> Self {
        let speed_khz = {
            let mut b = lock(&board);
            b.dap_mut().set_transport(WireMode::Swd);
            b.dap().clock_khz()
        };
        Self {
            board,
            speed_khz,
            protocol: WireProtocol::Swd,
            packet_size,
            name,
            connected: false,
            batch: Vec::new(),
            jtag_state: JtagDriverState::default(),
            jtag: JtagQueue::default(),
        }
    }

    /// Writes that fit one DAP_Transfer packet (probe-rs `batch_add`'s `max_writes`).
    fn max_batch_writes(&self) -> usize {
        (self.packet_size - 3) / 5
    }

    /// One DAP_Transfer: the queued writes, then `read` if any, in one round trip. The transfer
    /// stops at the first failure, as the firmware does; the writes after it are dropped.
    fn process_batch(&mut self, read: Option<RegisterAddress>) -> Result<Option<u32>, ArmError> {
        let writes = std::mem::take(&mut self.batch);
        let Some(first) = read.or_else(|| writes.first().map(|w| w.0)) else {
            return Ok(None);
        };
        let mut b = self.round_trip(Some(first)).map_err(link_err)?;
        for (address, value) in &writes {
            let a = address.a2_and_3();
            let req = match request_port(*address) {
                Port::Ap => Request::ap_write(a, *value),
                Port::Dp => Request::dp_write(a, *value),
            };
            exchange(&mut b, req)?;
        }
        match read {
            Some(address) if address.is_ap() => {
                exchange(&mut b, Request::ap_read(address.a2_and_3()))?;
                exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL)).map(Some)
            }
            Some(address) => exchange(&mut b, Request::dp_read(address.a2_and_3())).map(Some),
            None => {
                // "Check last write": a posted write's own fault shows on the next request.
                exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
                Ok(None)
            }
        }
    }

    /// Words of one DAP_TransferBlock (probe-rs: packet size less 6 bytes of header).
    fn block_words(&self) -> usize {
        (self.packet_size - 6) / 4
    }

    /// DAP_Connect when not yet connected: the port pins become outputs and nRESET is driven
    /// high (released), as ARM's reference firmware does in PORT_SWD_SETUP.
    fn connect_if_needed(&mut self) -> Result<(), LinkError> {
        if self.connected {
            return Ok(());
        }
        let mut b = self.round_trip(None)?;
        b.swj_pins(PIN_NRESET, PIN_NRESET)?;
        drop(b);
        self.connected = true;
        Ok(())
    }

    /// The board this probe talks to.
    pub fn board(&self) -> &SharedBoard {
        &self.board
    }
}

/// One request with the probe's WAIT retries and error handling (cmsisdap `process_batch`).
fn exchange(b: &mut Board, req: Request) -> Result<u32, ArmError> {
    for _ in 0..=wire::WAIT_RETRIES {
        let resp = b.transfer(req).map_err(link_err)?;
        match resp.ack {
            Ack::Ok => return Ok(resp.data),
            Ack::Wait => continue,
            Ack::Fault => {
                handle_sticky_err(b)?;
                return Err(DapError::FaultResponse.into());
            }
            Ack::NoAck => return Err(DapError::NoAcknowledge.into()),
        }
    }
    let mut abort = Abort(0);
    abort.set_dapabort(true);
    b.note_round_trip(PortId::Dp);
    b.transfer(Request::dp_write(dp_addr::DPIDR_ABORT, abort.0))
        .map_err(link_err)?;
    Err(DapError::WaitResponse.into())
}

/// Read CTRL/STAT; if STICKYERR is set (or the read faults), clear it through ABORT. Each is its
/// own round trip, as in cmsisdap `handle_sticky_err`.
fn handle_sticky_err(b: &mut Board) -> Result<(), ArmError> {
    b.note_round_trip(PortId::Dp);
    let resp = b
        .transfer(Request::dp_read(dp_addr::BANKED_4))
        .map_err(link_err)?;
    let clear = match resp.ack {
        Ack::Ok => Ctrl(resp.data).stickyerr(),
        Ack::Fault => true,
        Ack::Wait => return Err(DapError::WaitResponse.into()),
        Ack::NoAck => return Err(DapError::NoAcknowledge.into()),
    };
    if clear {
        let mut abort = Abort(0);
        abort.set_stkerrclr(true);
        b.note_round_trip(PortId::Dp);
        let resp = b
            .transfer(Request::dp_write(dp_addr::DPIDR_ABORT, abort.0))
            .map_err(link_err)?;
        match resp.ack {
            Ack::Ok => {}
            Ack::Wait => return Err(DapError::WaitResponse.into()),
            Ack::Fault => return Err(DapError::FaultResponse.into()),
            Ack::NoAck => return Err(DapError::NoAcknowledge.into()),
        }
    }
    Ok(())
}

fn request_port(address: RegisterAddress) -> Port {
    if address.is_ap() {
        Port::Ap
    } else {
        Port::Dp
    }
}

impl SimProbe {
    fn guard(&self) -> std::sync::MutexGuard<'_, Board> {
        lock(&self.board)
    }

    /// Start a round trip: check the link and count it against the addressed port.
    fn round_trip(
        &self,
        address: Option<RegisterAddress>,
    ) -> Result<std::sync::MutexGuard<'_, Board>, LinkError> {
        let mut b = self.guard();
        b.link()?;
        let port = match address {
            Some(a) => b.dap().port_of(request_port(a)),
            None => PortId::Dp,
        };
        b.note_round_trip(port);
        Ok(b)
    }
}

impl DebugProbe for SimProbe {
    fn get_name(&self) -> &str {
        self.name
    }

    fn speed_khz(&self) -> u32 {
        self.speed_khz
    }

    fn set_speed(&mut self, speed_khz: u32) -> Result<u32, DebugProbeError> {
        if speed_khz == 0 {
            return Err(DebugProbeError::UnsupportedSpeed(speed_khz));
        }
        self.guard().dap_mut().set_clock_khz(speed_khz);
        self.speed_khz = speed_khz;
        Ok(speed_khz)
    }

    fn attach(&mut self) -> Result<(), DebugProbeError> {
        // probe-rs `CmsisDap::attach`: DAP_Connect (if needed), DAP_SWJ_Clock,
        // DAP_TransferConfigure, DAP_SWD_Configure, DAP_HostStatus: no wire traffic but the
        // pins DAP_Connect drives.
        self.connect_if_needed()?;
        for _ in 0..4 {
            drop(self.round_trip(None)?);
        }
        Ok(())
    }

    fn detach(&mut self) -> Result<(), probe_rs::Error> {
        // The batch first, then DAP_Disconnect and DAP_HostStatus.
        self.process_batch(None).map_err(probe_rs::Error::from)?;
        for _ in 0..2 {
            drop(self.round_trip(None).map_err(DebugProbeError::from)?);
        }
        self.connected = false;
        Ok(())
    }

    fn target_reset(&mut self) -> Result<(), DebugProbeError> {
        // DAP_ResetTarget: a 1 ms NRST pulse.
        let mut b = self.round_trip(None)?;
        b.set_reset_pin(true)?;
        b.wait_ms(1);
        b.set_reset_pin(false)?;
        Ok(())
    }

    fn target_reset_assert(&mut self) -> Result<(), DebugProbeError> {
        self.round_trip(None)?.set_reset_pin(true)?;
        Ok(())
    }

    fn target_reset_deassert(&mut self) -> Result<(), DebugProbeError> {
        self.round_trip(None)?.set_reset_pin(false)?;
        Ok(())
    }

    fn select_protocol(&mut self, protocol: WireProtocol) -> Result<(), DebugProbeError> {
        match protocol {
            // The SWJ-DP speaks both; in JTAG the firmware runs each transfer through the
            // scan chain (`Dap::transfer`).
            WireProtocol::Swd | WireProtocol::Jtag => {
                self.protocol = protocol;
                self.guard().dap_mut().set_transport(transport(protocol));
                Ok(())
            }
        }
    }

    fn active_protocol(&self) -> Option<WireProtocol> {
        Some(self.protocol)
    }

    fn has_arm_interface(&self) -> bool {
        true
    }

    fn try_get_arm_debug_interface<'probe>(
        self: Box<Self>,
        sequence: Arc<dyn ArmDebugSequence>,
    ) -> Result<Box<dyn ArmDebugInterface + 'probe>, (Box<dyn DebugProbe>, ArmError)> {
        Ok(ArmCommunicationInterface::create(self, sequence, false))
    }

    fn into_probe(self: Box<Self>) -> Box<dyn DebugProbe> {
        self
    }

    fn try_as_dap_probe(&mut self) -> Option<&mut dyn DapProbe> {
        Some(self)
    }

    fn try_as_jtag_probe(&mut self) -> Option<&mut dyn JtagAccess> {
        Some(self)
    }

    fn get_target_voltage(&mut self) -> Result<Option<f32>, DebugProbeError> {
        // probe-rs's CMSIS-DAP driver keeps the trait's default: no voltage reading.
        Ok(None)
    }
}

impl RawDapAccess for SimProbe {
    fn raw_read_register(&mut self, address: RegisterAddress) -> Result<u32, ArmError> {
        self.process_batch(Some(address))?
            .ok_or_else(|| DebugProbeError::Other("the read returned no data".into()).into())
    }

    fn raw_read_block(
        &mut self,
        address: RegisterAddress,
        values: &mut [u32],
    ) -> Result<(), ArmError> {
        self.process_batch(None)?;
        if values.is_empty() {
            return Ok(());
        }
        let words = self.block_words();
        for chunk in values.chunks_mut(words) {
            // One DAP_TransferBlock per packet.
            let mut b = self.round_trip(Some(address)).map_err(link_err)?;
            let a = address.a2_and_3();
            if address.is_ap() {
                // n posted AP reads: each ACK carries the previous value; RDBUFF has the last.
                exchange(&mut b, Request::ap_read(a))?;
                for i in 1..chunk.len() {
                    chunk[i - 1] = exchange(&mut b, Request::ap_read(a))?;
                }
                if let Some(last) = chunk.last_mut() {
                    *last = exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
                }
            } else {
                for v in chunk.iter_mut() {
                    *v = exchange(&mut b, Request::dp_read(a))?;
                }
            }
        }
        Ok(())
    }

    fn raw_write_register(&mut self, address: RegisterAddress, value: u32) -> Result<(), ArmError> {
        self.batch.push((address, value));
        if self.batch.len() >= self.max_batch_writes() {
            self.process_batch(None)?;
        }
        Ok(())
    }

    fn raw_write_block(
        &mut self,
        address: RegisterAddress,
        values: &[u32],
    ) -> Result<(), ArmError> {
        self.process_batch(None)?;
        if values.is_empty() {
            return Ok(());
        }
        let a = address.a2_and_3();
        let port = request_port(address);
        for chunk in values.chunks(self.block_words()) {
            let mut b = self.round_trip(Some(address)).map_err(link_err)?;
            for &v in chunk {
                let req = match port {
                    Port::Ap => Request::ap_write(a, v),
                    Port::Dp => Request::dp_write(a, v),
                };
                exchange(&mut b, req)?;
            }
            // CMSIS-DAP "check last write": a posted write's own fault shows on the next request.
            exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
        }
        Ok(())
    }

    fn raw_flush(&mut self) -> Result<(), ArmError> {
        self.process_batch(None).map(|_| ())
    }

    fn jtag_sequence(&mut self, cycles: u8, tms: bool, tdi: u64) -> Result<(), DebugProbeError> {
        self.connect_if_needed()?;
        self.round_trip(None)?.jtag_sequence(cycles, tms, tdi)?;
        Ok(())
    }

    fn configure_jtag(&mut self, skip_scan: bool) -> Result<(), DebugProbeError> {
        // probe-rs `CmsisDap::configure_jtag`: the IR lengths from a reset scan of the chain
        // (none when told to skip it: this driver knows no expected chain), then
        // DAP_JTAG_Configure. DAP_Transfer then addresses TAP 0 (`chain_params.index`).
        let ir_lengths = if skip_scan {
            Vec::new()
        } else {
            self.jtag_reset_scan()?
        };
        self.round_trip(None)?
            .dap_mut()
            .configure_jtag(&ir_lengths, self.jtag_state.chain_params.index);
        Ok(())
    }

    fn swj_sequence(&mut self, bit_len: u8, bits: u64) -> Result<(), DebugProbeError> {
        self.connect_if_needed()?;
        self.round_trip(None)?.swj_sequence(bit_len, bits)?;
        Ok(())
    }

    fn swj_pins(
        &mut self,
        pin_out: u32,
        pin_select: u32,
        _pin_wait: u32,
    ) -> Result<u32, DebugProbeError> {
        self.connect_if_needed()?;
        let pins = self
            .round_trip(None)?
            .swj_pins(pin_out as u8, pin_select as u8)?;
        Ok(u32::from(pins))
    }

    fn into_probe(self: Box<Self>) -> Box<dyn DebugProbe> {
        self
    }

    fn core_status_notification(&mut self, _state: CoreStatus) -> Result<(), DebugProbeError> {
        // DAP_HostStatus (a LED on a real probe): one round trip, no wire traffic.
        drop(self.round_trip(None)?);
        Ok(())
    }
}

impl DapProbe for SimProbe {}

/// DAP_JTAG_Sequence, as probe-rs's CMSIS-DAP driver builds them (`cmsisdap/mod.rs`).
impl SimProbe {
    /// One DAP_JTAG_Sequence command: one round trip; TDO of every clock.
    fn jtag_sequences(&mut self, clocks: &[jtag::Bit]) -> Result<Vec<bool>, DebugProbeError> {
        self.connect_if_needed()?;
        Ok(self.round_trip(None)?.jtag_clock(clocks)?)
    }

    /// `jtag_scan`'s DR then IR scan and the return to Run-Test/Idle: the IR lengths of the
    /// TAPs found, TDO side first.
    fn jtag_reset_scan(&mut self) -> Result<Vec<u8>, DebugProbeError> {
        let to_reset = [(true, false); 6];
        let bad = |what: &str| DebugProbeError::Other(format!("JTAG {what} scan chain is broken"));
        // Shift-DR: Idle, Select-DR, Capture-DR, Shift-DR.
        self.jtag_sequences(&to_reset)?;
        self.jtag_sequences(&[
            (false, false),
            (true, false),
            (false, false),
            (false, false),
        ])?;
        let dr = self.jtag_scan_inner()?.ok_or_else(|| bad("DR"))?;
        // Shift-IR: Idle, Select-DR, Select-IR, Capture-IR, Shift-IR.
        self.jtag_sequences(&to_reset)?;
        self.jtag_sequences(&[
            (false, false),
            (true, false),
            (true, false),
            (false, false),
            (false, false),
        ])?;
        let ir = self.jtag_scan_inner()?.ok_or_else(|| bad("IR"))?;
        self.jtag_sequences(&to_reset)?;
        self.jtag_sequences(&[(false, false)])?;
        let taps = jtag::idcodes_from_dr(&dr);
        jtag::ir_lengths_from_ir(&ir, taps.len()).ok_or_else(|| bad("IR"))
    }

    /// `jtag_scan_inner`: 128 zeros then 128 ones through the register (one round trip each);
    /// the register's length is where the first one comes out, its contents the bits before.
    fn jtag_scan_inner(&mut self) -> Result<Option<Vec<bool>>, DebugProbeError> {
        const MAX_LENGTH: usize = 128;
        let zeros = self.jtag_sequences(&[(false, false); MAX_LENGTH])?;
        let ones = self.jtag_sequences(&[(false, true); MAX_LENGTH])?;
        Ok(match ones.iter().position(|b| *b) {
            Some(n) if n > 0 && !zeros[n..].iter().any(|b| *b) => Some(zeros[..n].to_vec()),
            _ => None,
        })
    }
}

/// Bit-level JTAG, as probe-rs's CMSIS-DAP driver offers it (`cmsisdap/commands/jtag`): bits are
/// collected and sent as DAP_JTAG_Sequence commands when the captured bits are read or a packet
/// is full.
impl RawJtagIo for SimProbe {
    fn state_mut(&mut self) -> &mut JtagDriverState {
        &mut self.jtag_state
    }

    fn state(&self) -> &JtagDriverState {
        &self.jtag_state
    }

    fn shift_bit(&mut self, tms: bool, tdi: bool, capture: bool) -> Result<(), DebugProbeError> {
        self.jtag_state.state.update(tms);
        // A sequence byte carries 8 clocks; a packet holds about packet_size - 2 of them.
        if self
            .jtag
            .push(tms, tdi, capture, (self.packet_size - 2) * 8 / 2)
        {
            self.flush_jtag()?;
        }
        Ok(())
    }

    fn read_captured_bits(&mut self) -> Result<BitVec, DebugProbeError> {
        self.flush_jtag()?;
        Ok(self.jtag.take_captured())
    }
}

impl SimProbe {
    fn flush_jtag(&mut self) -> Result<(), DebugProbeError> {
        if let Some(clocks) = self.jtag.clocks() {
            let tdo = self.jtag_sequences(&clocks)?;
            self.jtag.sent(tdo);
        }
        Ok(())
    }
}

impl AutoImplementJtagAccess for SimProbe {}
