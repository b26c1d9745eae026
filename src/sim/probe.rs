//! probe-rs 0.32 probe driver for the virtual board: `DebugProbe` + `RawDapAccess`.
//!
//! It behaves like a CMSIS-DAP probe driven by probe-rs (`probe/cmsisdap/mod.rs`), since that is
//! the reference implementation of `RawDapAccess`:
//! - One call = one round trip (one USB exchange on a real probe).
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

use std::fmt;
use std::sync::{Arc, OnceLock};

use probe_rs::architecture::arm::sequences::ArmDebugSequence;
use probe_rs::architecture::arm::{
    ArmCommunicationInterface, ArmDebugInterface, ArmError, DapError, DapProbe, RawDapAccess,
    RegisterAddress,
};
use probe_rs::probe::list::ProbeListItem;
use probe_rs::probe::{
    DebugProbe, DebugProbeError, DebugProbeInfo, DebugProbeSelector, ProbeCreationError,
    ProbeFactory, WireProtocol,
};
use probe_rs::CoreStatus;

use super::board::{lock, Board, LinkError, SharedBoard};
use super::dap::regs::{dp_addr, Abort, Ctrl};
use super::dap::{Ack, PortId, Request, WireMode};
use crate::h7::facts::wire;

impl From<LinkError> for DebugProbeError {
    fn from(e: LinkError) -> Self {
        DebugProbeError::Usb(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            e.to_string(),
        ))
    }
}

fn transport(protocol: WireProtocol) -> WireMode {
    match protocol {
        WireProtocol::Swd => WireMode::Swd,
        WireProtocol::Jtag => WireMode::Jtag,
    }
}

fn link_err(e: LinkError) -> ArmError {
    ArmError::Probe(e.into())
}

/// The virtual probe over a shared board.
#[derive(Debug)]
pub struct SimProbe {
    board: SharedBoard,
    speed_khz: u32,
    protocol: WireProtocol,
}

impl SimProbe {
    /// A probe connected to `board`, speaking SWD at the default clock.
    pub fn new(board: SharedBoard) -> Self {
        let speed_khz = {
            let mut b = lock(&board);
            b.dap_mut().set_transport(WireMode::Swd);
            b.dap().clock_khz()
        };
        Self {
            board,
            speed_khz,
            protocol: WireProtocol::Swd,
        }
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

fn request_port(address: RegisterAddress) -> super::dap::Port {
    if address.is_ap() {
        super::dap::Port::Ap
    } else {
        super::dap::Port::Dp
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
        wire::SIM_PROBE_NAME
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
        // A CMSIS-DAP attach is DAP_Connect + configuration: probe-side only, no wire traffic.
        drop(self.round_trip(None)?);
        Ok(())
    }

    fn detach(&mut self) -> Result<(), probe_rs::Error> {
        drop(self.round_trip(None).map_err(DebugProbeError::from)?);
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
            // The SWJ-DP speaks both; the DAP model answers DPACC/APACC the same way.
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

    fn get_target_voltage(&mut self) -> Result<Option<f32>, DebugProbeError> {
        drop(self.round_trip(None)?);
        Ok(Some(wire::TARGET_VOLTAGE))
    }
}

impl RawDapAccess for SimProbe {
    fn raw_read_register(&mut self, address: RegisterAddress) -> Result<u32, ArmError> {
        let mut b = self.round_trip(Some(address)).map_err(link_err)?;
        let a = address.a2_and_3();
        if address.is_ap() {
            exchange(&mut b, Request::ap_read(a))?;
            exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))
        } else {
            exchange(&mut b, Request::dp_read(a))
        }
    }

    fn raw_read_block(
        &mut self,
        address: RegisterAddress,
        values: &mut [u32],
    ) -> Result<(), ArmError> {
        if values.is_empty() {
            return Ok(());
        }
        let mut b = self.round_trip(Some(address)).map_err(link_err)?;
        let a = address.a2_and_3();
        if address.is_ap() {
            // n posted AP reads: each ACK carries the previous value; RDBUFF has the last.
            exchange(&mut b, Request::ap_read(a))?;
            for i in 1..values.len() {
                values[i - 1] = exchange(&mut b, Request::ap_read(a))?;
            }
            if let Some(last) = values.last_mut() {
                *last = exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
            }
        } else {
            for v in values.iter_mut() {
                *v = exchange(&mut b, Request::dp_read(a))?;
            }
        }
        Ok(())
    }

    fn raw_write_register(&mut self, address: RegisterAddress, value: u32) -> Result<(), ArmError> {
        self.raw_write_block(address, &[value])
    }

    fn raw_write_block(
        &mut self,
        address: RegisterAddress,
        values: &[u32],
    ) -> Result<(), ArmError> {
        if values.is_empty() {
            return Ok(());
        }
        let mut b = self.round_trip(Some(address)).map_err(link_err)?;
        let a = address.a2_and_3();
        let port = request_port(address);
        for &v in values {
            let req = match port {
                super::dap::Port::Ap => Request::ap_write(a, v),
                super::dap::Port::Dp => Request::dp_write(a, v),
            };
            exchange(&mut b, req)?;
        }
        // CMSIS-DAP "check last write": a posted write's own fault shows on the next request.
        exchange(&mut b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
        Ok(())
    }

    fn raw_flush(&mut self) -> Result<(), ArmError> {
        // Nothing is batched: every call has been sent already.
        Ok(())
    }

    fn jtag_sequence(&mut self, cycles: u8, _tms: bool, _tdi: u64) -> Result<(), DebugProbeError> {
        self.round_trip(None)?.jtag_sequence(cycles)?;
        Ok(())
    }

    fn swj_sequence(&mut self, bit_len: u8, bits: u64) -> Result<(), DebugProbeError> {
        self.round_trip(None)?.swj_sequence(bit_len, bits)?;
        Ok(())
    }

    fn swj_pins(
        &mut self,
        pin_out: u32,
        pin_select: u32,
        _pin_wait: u32,
    ) -> Result<u32, DebugProbeError> {
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

/// Opens a board for the probe factory (the shell registers one: it knows the scenario).
pub type BoardOpener = dyn Fn() -> Result<SharedBoard, String> + Send + Sync;

static OPENER: OnceLock<Box<BoardOpener>> = OnceLock::new();
static FACTORY: SimProbeFactory = SimProbeFactory;

/// probe-rs probe factory listing the virtual board beside real probes, as
/// `h7sh virtual board -- 1209:0001:sim`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimProbeFactory;

impl fmt::Display for SimProbeFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(wire::SIM_PROBE_NAME)
    }
}

impl SimProbeFactory {
    /// The listing entry of the virtual probe.
    pub fn info() -> DebugProbeInfo {
        DebugProbeInfo::new(
            wire::SIM_PROBE_NAME,
            wire::SIM_PROBE_VID,
            wire::SIM_PROBE_PID,
            Some(wire::SIM_PROBE_SERIAL.to_string()),
            &FACTORY,
            None,
            false,
        )
    }
}

impl ProbeFactory for SimProbeFactory {
    fn open(&self, selector: &DebugProbeSelector) -> Result<Box<dyn DebugProbe>, DebugProbeError> {
        if !selector.matches_probe(&Self::info()) {
            return Err(ProbeCreationError::NotFound.into());
        }
        let opener = OPENER.get().ok_or(ProbeCreationError::Other(
            "the h7sh virtual board has no chip constructor registered",
        ))?;
        let board = opener().map_err(DebugProbeError::Other)?;
        Ok(Box::new(SimProbe::new(board)))
    }

    fn list_probes(&self) -> Vec<ProbeListItem> {
        vec![ProbeListItem::accessible(Self::info())]
    }
}

/// Register the virtual probe with probe-rs (`probe_rs::plugin::register_plugin`), so that
/// `Lister::list_all()` shows it and opening it builds a board through `open_board`.
///
/// Only the first call registers (probe-rs would otherwise list the probe twice); it returns
/// whether this call did.
pub fn register_probe_driver(
    open_board: impl Fn() -> Result<SharedBoard, String> + Send + Sync + 'static,
) -> bool {
    if OPENER.set(Box::new(open_board)).is_err() {
        return false;
    }
    probe_rs::plugin::register_plugin(probe_rs::plugin::Plugin {
        probe_drivers: &[&FACTORY],
        ..Default::default()
    });
    true
}
