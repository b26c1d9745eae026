//! The J-Link personality: what probe-rs 0.32's `probe/jlink/mod.rs` presents.
//!
//! A J-Link clocks SWD bit by bit (its HW_JTAG3 command, one USB exchange per sequence) and
//! probe-rs builds every DAP transfer on it with its own SWD polyfill
//! (`architecture/arm/traits/polyfill.rs`): that same polyfill runs here over the board's line,
//! so WAIT retries (1000, with growing idle cycles), sticky-error clearing, overrun detection
//! and the errors (`ArmError::Dap(DapError::...)`) are probe-rs's own. As probe-rs's driver:
//! - attaching selects SWD, reads the firmware and hardware versions and VTref, then sends
//!   HW_RESET1 and HW_TRST1: nRESET is released, whatever was asserted before;
//! - `swj_pins` drives nRESET, SWCLK and SWDIO but cannot read them back (all ones), and
//!   refuses nTRST, TDI and TDO;
//! - the sampled SWDIO leads by one clock (J-Link samples on the falling edge), which the
//!   polyfill expects;
//! - speeds above the probe's maximum (12 MHz, a J-Link BASE V9) are refused.
//!
//! - JTAG: every TCK is clocked into the board's scan chain (HW_JTAG3, one USB exchange per
//!   504-bit chunk or when captured bits are read, as probe-rs's `flush_jtag`), and probe-rs's
//!   JTAG polyfill builds the DPACC/APACC scans; attaching pulses nTRST and scans the chain
//!   (`select_target(0)`), so TAP 0 is the JTAG-DP.

use std::sync::{Arc, MutexGuard};

use bitvec::vec::BitVec;

use super::JtagQueue;
use probe_rs::architecture::arm::sequences::ArmDebugSequence;
use probe_rs::architecture::arm::{
    ArmCommunicationInterface, ArmDebugInterface, ArmError, DapProbe,
};
use probe_rs::probe::{
    AutoImplementJtagAccess, DebugProbe, DebugProbeError, IoSequenceItem, JtagAccess,
    JtagDriverState, RawJtagIo, RawSwdIo, SwdSettings, WireProtocol,
};

use crate::h7::facts::wire;
use crate::sim::board::{lock, Board, LinkError, SharedBoard, PIN_NRESET};
use crate::sim::dap::swd_bits::{self, Cycle, SwdTarget};
use crate::sim::dap::{PortId, Request, Response, WireMode};

/// probe-rs attaches a J-Link at 400 kHz when no speed was set.
const DEFAULT_KHZ: u32 = 400;
/// Fastest SWD clock of the modelled J-Link.
const MAX_KHZ: u32 = 12_000;
/// Pins `swj_pins` cannot drive on a J-Link (probe-rs: nTRST, TDI, TDO).
const UNSUPPORTED_PINS: u32 = (1 << 5) | (1 << 2) | (1 << 3);
/// TCK cycles per HW_JTAG3 exchange (probe-rs `jtag_chunk_size` for J-Links other than EDU).
const JTAG_CHUNK: usize = 504;

/// probe-rs reports a vanished J-Link as `JlinkError::Usb`, a type private to probe-rs: the
/// personality gives the generic USB error instead (both are a lost probe to h7sh).
fn usb_lost(e: LinkError) -> DebugProbeError {
    e.into()
}

/// The virtual J-Link.
#[derive(Debug)]
pub struct SimJlink {
    board: SharedBoard,
    speed_khz: u32,
    swd_settings: SwdSettings,
    protocol: WireProtocol,
    jtag_state: JtagDriverState,
    /// TCK cycles not sent yet and TDO bits not read yet.
    jtag: JtagQueue,
}

impl SimJlink {
    pub fn new(board: SharedBoard) -> Self {
        lock(&board).dap_mut().set_transport(WireMode::Swd);
        Self {
            board,
            speed_khz: 0,
            swd_settings: SwdSettings::default(),
            protocol: WireProtocol::Swd,
            jtag_state: JtagDriverState::default(),
            jtag: JtagQueue::default(),
        }
    }

    /// One USB command.
    fn usb(&self) -> Result<MutexGuard<'_, Board>, DebugProbeError> {
        let mut b = lock(&self.board);
        b.link().map_err(usb_lost)?;
        b.note_round_trip(PortId::Dp);
        Ok(b)
    }

    fn set_reset(&mut self, high: bool) -> Result<(), DebugProbeError> {
        self.usb()?.set_reset_pin(!high).map_err(usb_lost)
    }
}

/// The board's line as the J-Link clocks it: packets to the DAP model, other bits to the SWJ
/// line model; the first link failure is kept.
struct Line<'a> {
    board: &'a mut Board,
    lost: Option<LinkError>,
    /// The port of the sequence's first packet: the round trip is counted against it.
    first_port: Option<PortId>,
}

impl SwdTarget for Line<'_> {
    fn packet(&mut self, req: Request) -> Response {
        if self.first_port.is_none() {
            self.first_port = Some(self.board.dap().port_of(req.port));
        }
        match self.board.transfer(req) {
            Ok(r) => r,
            Err(e) => {
                self.lost.get_or_insert(e);
                Response {
                    ack: crate::sim::dap::Ack::NoAck,
                    data: 0,
                }
            }
        }
    }

    fn idle_bit(&mut self, bit: bool) {
        if let Err(e) = self.board.swj_sequence(1, u64::from(bit)) {
            self.lost.get_or_insert(e);
        }
    }
}

impl DebugProbe for SimJlink {
    fn get_name(&self) -> &str {
        wire::SIM_PROBE_NAME_JLINK
    }

    fn speed_khz(&self) -> u32 {
        self.speed_khz
    }

    fn set_speed(&mut self, speed_khz: u32) -> Result<u32, DebugProbeError> {
        if speed_khz == 0 || speed_khz >= 0xFFFF || speed_khz > MAX_KHZ {
            return Err(DebugProbeError::UnsupportedSpeed(speed_khz));
        }
        // GET_SPEEDS then SET_SPEED.
        drop(self.usb()?);
        self.usb()?.dap_mut().set_clock_khz(speed_khz);
        self.speed_khz = speed_khz;
        Ok(speed_khz)
    }

    fn attach(&mut self) -> Result<(), DebugProbeError> {
        // SELECT_IF SWD, GET_FW_VERSION, GET_HW_VERSION, GET_STATE (VTref).
        for _ in 0..3 {
            drop(self.usb()?);
        }
        self.get_target_voltage()?;
        if self.protocol == WireProtocol::Jtag {
            // RESET_TRST, then the chain scan and TAP 0 (probe-rs `JLink::attach`).
            self.usb()?.jtag_trst().map_err(usb_lost)?;
            self.select_target(0)?;
        }
        // HW_RESET1 then HW_TRST1: nRESET released.
        self.set_reset(true)?;
        drop(self.usb()?);
        if self.speed_khz == 0 {
            self.set_speed(DEFAULT_KHZ)?;
        }
        Ok(())
    }

    fn detach(&mut self) -> Result<(), probe_rs::Error> {
        Ok(())
    }

    fn target_reset(&mut self) -> Result<(), DebugProbeError> {
        // RESET_TARGET: the probe pulses nRESET.
        let mut b = self.usb()?;
        b.set_reset_pin(true).map_err(usb_lost)?;
        b.wait_ms(1);
        b.set_reset_pin(false).map_err(usb_lost)
    }

    fn target_reset_assert(&mut self) -> Result<(), DebugProbeError> {
        self.set_reset(false)
    }

    fn target_reset_deassert(&mut self) -> Result<(), DebugProbeError> {
        self.set_reset(true)
    }

    fn select_protocol(&mut self, protocol: WireProtocol) -> Result<(), DebugProbeError> {
        // Both go over the line bit by bit; the DAP model's packet transport stays SWD.
        self.protocol = protocol;
        Ok(())
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
        // As probe-rs's J-Link: the generic interface with overrun detection on.
        Ok(ArmCommunicationInterface::create(self, sequence, true))
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
        drop(self.usb()?);
        Ok(Some(wire::TARGET_VOLTAGE))
    }
}

impl RawSwdIo for SimJlink {
    fn swd_io<S>(&mut self, swdio: S) -> Result<Vec<bool>, DebugProbeError>
    where
        S: IntoIterator<Item = IoSequenceItem>,
    {
        let cycles: Vec<Cycle> = swdio
            .into_iter()
            .map(|item| match item {
                IoSequenceItem::Output(b) => Cycle::Out(b),
                IoSequenceItem::Input => Cycle::In,
            })
            .collect();
        // One HW_JTAG3 exchange, counted against the port its first packet addresses.
        let mut b = lock(&self.board);
        b.link().map_err(usb_lost)?;
        let mut line = Line {
            board: &mut b,
            lost: None,
            first_port: None,
        };
        let level = swd_bits::clock(&cycles, &mut line);
        let (lost, port) = (line.lost, line.first_port);
        b.note_round_trip(port.unwrap_or(PortId::Dp));
        if let Some(e) = lost {
            return Err(usb_lost(e));
        }
        // The J-Link samples one clock late: each sample holds the next cycle's level.
        Ok((0..level.len())
            .map(|k| level[(k + 1).min(level.len() - 1)])
            .collect())
    }

    fn swj_pins(
        &mut self,
        pin_out: u32,
        pin_select: u32,
        pin_wait: u32,
    ) -> Result<u32, DebugProbeError> {
        if pin_select & UNSUPPORTED_PINS != 0 {
            return Err(DebugProbeError::CommandNotSupportedByProbe {
                command_name: "swj_pins",
            });
        }
        // SWCLK and SWDIO levels are the probe's own business; only nRESET reaches the chip.
        if pin_select & u32::from(PIN_NRESET) != 0 {
            self.set_reset(pin_out & u32::from(PIN_NRESET) != 0)?;
        }
        lock(&self.board).wait_nanos(u64::from(pin_wait) * 1000);
        Ok(0xFFFF_FFFF)
    }

    fn swd_settings(&self) -> &SwdSettings {
        &self.swd_settings
    }
}

impl RawJtagIo for SimJlink {
    fn state_mut(&mut self) -> &mut JtagDriverState {
        &mut self.jtag_state
    }

    fn state(&self) -> &JtagDriverState {
        &self.jtag_state
    }

    fn shift_bit(&mut self, tms: bool, tdi: bool, capture: bool) -> Result<(), DebugProbeError> {
        self.jtag_state.state.update(tms);
        if self.jtag.push(tms, tdi, capture, JTAG_CHUNK) {
            self.flush_jtag()?;
        }
        Ok(())
    }

    fn read_captured_bits(&mut self) -> Result<BitVec, DebugProbeError> {
        self.flush_jtag()?;
        Ok(self.jtag.take_captured())
    }
}

impl SimJlink {
    /// One HW_JTAG3 exchange with the pending cycles.
    fn flush_jtag(&mut self) -> Result<(), DebugProbeError> {
        if let Some(clocks) = self.jtag.clocks() {
            let tdo = self.usb()?.jtag_clock(&clocks).map_err(usb_lost)?;
            self.jtag.sent(tdo);
        }
        Ok(())
    }
}

impl AutoImplementJtagAccess for SimJlink {}
impl DapProbe for SimJlink {}
