//! The ST-LINK personalities (V2 with old and current firmware, V3): what probe-rs 0.32's
//! `probe/stlink/mod.rs` presents over an ST-LINK, with the ST-LINK firmware's side played on the
//! board model.
//!
//! An ST-LINK is not a raw DAP probe: its firmware runs whole memory and DAP-register commands
//! and probe-rs sees only their USB status. So, as probe-rs's `StlinkArmDebug`:
//! - `try_get_arm_debug_interface` ignores the debug sequence (the firmware powers the DP up on
//!   JTAG_ENTER2) and gives an `ArmDebugInterface` with no `DapProbe`;
//! - every failure is `DebugProbeError::ProbeSpecific(StlinkError::...)`: a faulting access is
//!   `CommandFailed(SwdApFault)`, WAIT `CommandFailed(SwdApWait / SwdDpWait)` after probe-rs's
//!   13 tries with exponential back-off (100 µs << try, about 0.8 s, here in virtual time), a
//!   vanished USB device `StlinkError::Usb`;
//! - firmware gates: below V2J28 every AP other than AP0 is `ProbeFirmwareOutdated(28)`; banked
//!   DP registers need V2J32 (`BanksNotAllowedOnDPRegister`);
//! - a memory command is two USB exchanges (the command, then JTAG_GETLASTRWSTATUS2), a DAP
//!   register access one, opening an AP (JTAG_INIT_AP) one, the first time only;
//! - `swj_sequence` is not supported, `swj_pins` drives nRESET only and reads back all ones,
//!   `reinitialize` does nothing, attach does not touch nRESET;
//! - halfword block reads are cut into chunks of 32 (V2) / 64 (V3) halfwords but the chunk's
//!   address advances by the halfword count, not the byte count: a read longer than one chunk
//!   comes back from the wrong addresses, as with probe-rs 0.32 on a real ST-LINK.
//!
//! The firmware's own behaviour on the wire: it selects the AP, sets CSW (keeping the bits it
//! found at JTAG_INIT_AP) and TAR, streams posted DRW accesses re-writing TAR at each 1 KiB
//! boundary, and after a WAIT, FAULT or no-ACK reports the status and clears the DP with ABORT.
//! ST does not document whether the firmware retries WAIT itself; the model does not.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, MutexGuard};

use probe_rs::architecture::arm::ap::{v1::access_port_is_valid, CSW};
use probe_rs::architecture::arm::dp::{DpAddress, DpRegisterAddress};
use probe_rs::architecture::arm::memory::ArmMemoryInterface;
use probe_rs::architecture::arm::sequences::ArmDebugSequence;
use probe_rs::architecture::arm::{
    valid_32bit_arm_address, ArmDebugInterface, ArmError, DapAccess, DapProbe,
    FullyQualifiedApAddress, SwdSequence, SwoAccess, SwoConfig,
};
use probe_rs::probe::stlink::StlinkError;
use probe_rs::probe::{DebugProbe, DebugProbeError, Probe, WireProtocol};
use probe_rs::MemoryInterface;

use crate::h7::facts::wire;
use crate::sim::board::{lock, Board, LinkError, SharedBoard, PIN_NRESET};
use crate::sim::dap::regs::{dp_addr, Abort};
use crate::sim::dap::{Ack, Port, PortId, Request, WireMode};

/// ST-LINK status codes (probe-rs `stlink::constants::Status`, from ST's firmware).
mod status {
    pub const OK: u8 = 0x80;
    pub const SWD_AP_WAIT: u8 = 0x10;
    pub const SWD_AP_FAULT: u8 = 0x11;
    pub const SWD_AP_ERROR: u8 = 0x12;
    pub const SWD_DP_WAIT: u8 = 0x14;
    pub const SWD_DP_FAULT: u8 = 0x15;
    pub const SWD_DP_ERROR: u8 = 0x16;
}

/// probe-rs `StLink::MIN_JTAG_VERSION_MULTI_AP`.
const MIN_VERSION_MULTI_AP: u8 = 28;
/// probe-rs `StLink::MIN_JTAG_VERSION_DP_BANK_SEL` (V2 only).
const MIN_VERSION_DP_BANK_SEL: u8 = 32;
/// probe-rs `retry_on_wait`: tries of a command answered WAIT.
const WAIT_TRIES: u32 = 13;
/// probe-rs `STLINK_MAX_READ_LEN`.
const MAX_READ_LEN: usize = 6144;
/// probe-rs `STLINK_MAX_WRITE_LEN`.
const MAX_WRITE_LEN: usize = 0xFFFC;
/// The ST-LINK/V2's SWD clocks (probe-rs `SwdFrequencyToDelayCount`), in kHz.
const V2_SWD_KHZ: [u32; 12] = [
    4600, 1800, 1200, 950, 650, 480, 400, 360, 240, 150, 125, 100,
];
/// The STLINK-V3's SWD clocks as its GET_COM_FREQ lists them (ST UM2448), in kHz.
const V3_SWD_KHZ: [u32; 7] = [24000, 8000, 3300, 1000, 200, 50, 5];

/// The USB status of a failed command, as probe-rs reports it.
fn failed(code: u8) -> StlinkError {
    // `Status` sits in a private module of probe-rs; its `From<u8>` is public.
    StlinkError::CommandFailed(code.into())
}

fn usb_lost(e: LinkError) -> StlinkError {
    StlinkError::Usb(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        e.to_string(),
    ))
}

/// probe-rs `is_wait_error`.
fn is_wait(e: &StlinkError) -> bool {
    matches!(e, StlinkError::CommandFailed(s)
        if *s == status::SWD_AP_WAIT.into() || *s == status::SWD_DP_WAIT.into())
}

/// The firmware's failure on the wire: a status code, or the USB link itself.
enum FwError {
    Status(u8),
    Link(LinkError),
}

impl From<LinkError> for FwError {
    fn from(e: LinkError) -> Self {
        FwError::Link(e)
    }
}

/// One SWD transaction by the firmware: OK gives the data, anything else its status code.
fn wire_op(b: &mut Board, req: Request) -> Result<u32, FwError> {
    let resp = b.transfer(req)?;
    let ap = req.port == Port::Ap;
    match resp.ack {
        Ack::Ok => Ok(resp.data),
        Ack::Wait if ap => Err(FwError::Status(status::SWD_AP_WAIT)),
        Ack::Wait => Err(FwError::Status(status::SWD_DP_WAIT)),
        Ack::Fault if ap => Err(FwError::Status(status::SWD_AP_FAULT)),
        Ack::Fault => Err(FwError::Status(status::SWD_DP_FAULT)),
        Ack::NoAck if ap => Err(FwError::Status(status::SWD_AP_ERROR)),
        Ack::NoAck => Err(FwError::Status(status::SWD_DP_ERROR)),
    }
}

/// The RDBUFF read that ends an AP access answers for that access: its FAULT or WAIT is the AP's
/// (the firmware reports SWD_AP_FAULT for a posted read that faulted).
fn ap_result(b: &mut Board) -> Result<u32, FwError> {
    wire_op(b, Request::dp_read(dp_addr::RDBUFF_TARGETSEL)).map_err(|e| match e {
        FwError::Status(status::SWD_DP_FAULT) => FwError::Status(status::SWD_AP_FAULT),
        FwError::Status(status::SWD_DP_WAIT) => FwError::Status(status::SWD_AP_WAIT),
        other => other,
    })
}

/// After a failed command the firmware leaves the DP clean for the next one: ABORT with
/// DAPABORT and every sticky-flag clear.
fn recover(b: &mut Board) {
    let mut abort = Abort(0);
    abort.set_dapabort(true);
    abort.set_stkcmpclr(true);
    abort.set_stkerrclr(true);
    abort.set_wderrclr(true);
    abort.set_orunerrclr(true);
    let _ = b.transfer(Request::dp_write(dp_addr::DPIDR_ABORT, abort.0));
}

/// Width of a memory command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    B8 = 1,
    B16 = 2,
    B32 = 4,
}

impl Width {
    fn csw_size(self) -> u32 {
        match self {
            Width::B8 => 0,
            Width::B16 => 1,
            Width::B32 => 2,
        }
    }
}

/// The virtual ST-LINK (before `try_get_arm_debug_interface`).
#[derive(Debug)]
pub struct SimStlink {
    board: SharedBoard,
    hw_version: u8,
    jtag_version: u8,
    protocol: WireProtocol,
    speed_khz: u32,
    /// APs opened with JTAG_INIT_AP (probe-rs `StLink::opened_aps`), with the CSW found then.
    opened_aps: BTreeMap<u8, u32>,
}

impl SimStlink {
    /// An ST-LINK of hardware version `hw_version` (2 or 3) with firmware `J<jtag_version>`.
    pub fn new(board: SharedBoard, hw_version: u8, jtag_version: u8) -> Self {
        {
            let mut b = lock(&board);
            b.dap_mut().set_transport(WireMode::Swd);
        }
        // probe-rs's initial SWD speed (V2); a V3 reports its own current clock (1 MHz here).
        let speed_khz = if hw_version >= 3 { 1000 } else { 1800 };
        Self {
            board,
            hw_version,
            jtag_version,
            protocol: WireProtocol::Swd,
            speed_khz,
            opened_aps: BTreeMap::new(),
        }
    }

    /// One USB exchange with the probe, counted against `port`.
    fn usb(&self, port: PortId) -> Result<MutexGuard<'_, Board>, StlinkError> {
        let mut b = lock(&self.board);
        b.link().map_err(usb_lost)?;
        b.note_round_trip(port);
        Ok(b)
    }

    /// A firmware command that answers with a status (JTAG_COMMAND ...): run `f` on the board.
    fn command<R>(
        &self,
        port: PortId,
        f: impl FnOnce(&mut Board) -> Result<R, FwError>,
    ) -> Result<R, StlinkError> {
        let mut b = self.usb(port)?;
        match f(&mut b) {
            Ok(r) => Ok(r),
            Err(FwError::Link(e)) => Err(usb_lost(e)),
            Err(FwError::Status(code)) => {
                recover(&mut b);
                Err(failed(code))
            }
        }
    }

    /// probe-rs `retry_on_wait`: up to 13 tries, sleeping 100 µs << try between them (virtual
    /// time here).
    fn retry_on_wait<R>(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<R, StlinkError>,
    ) -> Result<R, StlinkError> {
        let mut last = None;
        for attempt in 0..WAIT_TRIES {
            match f(self) {
                Ok(r) => return Ok(r),
                Err(e) if is_wait(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
            lock(&self.board).wait_nanos(100_000u64 << attempt);
        }
        Err(last.unwrap_or_else(|| failed(status::SWD_AP_WAIT)))
    }

    fn supports_multi_ap(&self) -> bool {
        self.hw_version >= 3 || self.jtag_version >= MIN_VERSION_MULTI_AP
    }

    fn supports_dp_bank_selection(&self) -> bool {
        self.hw_version >= 3 || self.jtag_version >= MIN_VERSION_DP_BANK_SEL
    }

    /// probe-rs `StLink::select_ap`: the firmware gate, then JTAG_INIT_AP the first time.
    fn select_ap(&mut self, ap: u8) -> Result<(), DebugProbeError> {
        if !self.supports_multi_ap() {
            if ap != 0 {
                return Err(StlinkError::ProbeFirmwareOutdated(MIN_VERSION_MULTI_AP).into());
            }
            // Old firmware: AP0 is implicit; its CSW is whatever the firmware set.
            self.opened_aps.entry(0).or_insert(0x2300_0000);
            return Ok(());
        }
        if !self.opened_aps.contains_key(&ap) {
            let csw = self.retry_on_wait(|s| {
                s.command(PortId::Ap(ap), |b| {
                    wire_op(
                        b,
                        Request::dp_write(dp_addr::RESEND_SELECT, u32::from(ap) << 24),
                    )?;
                    wire_op(b, Request::ap_read(0x0))?;
                    ap_result(b)
                })
            })?;
            self.opened_aps.insert(ap, csw);
        }
        Ok(())
    }

    /// JTAG_READ_DAP_REG: `port` 0xFFFF is the DP (`addr` with the bank in bits 7:4).
    fn read_dap_register(&mut self, port: u16, addr: u8) -> Result<u32, DebugProbeError> {
        let counted = Self::counted_port(port);
        Ok(self.retry_on_wait(|s| {
            s.command(counted, |b| match port {
                0xFFFF => dp_banked(b, addr, |b| wire_op(b, Request::dp_read(addr & 0xC))),
                ap => {
                    let select = (u32::from(ap) << 24) | u32::from(addr & 0xF0);
                    wire_op(b, Request::dp_write(dp_addr::RESEND_SELECT, select))?;
                    wire_op(b, Request::ap_read(addr & 0xC))?;
                    ap_result(b)
                }
            })
        })?)
    }

    /// JTAG_WRITE_DAP_REG.
    fn write_dap_register(
        &mut self,
        port: u16,
        addr: u8,
        value: u32,
    ) -> Result<(), DebugProbeError> {
        let counted = Self::counted_port(port);
        Ok(self.retry_on_wait(|s| {
            s.command(counted, |b| match port {
                0xFFFF => dp_banked(b, addr, |b| {
                    wire_op(b, Request::dp_write(addr & 0xC, value)).map(|_| ())
                }),
                ap => {
                    let select = (u32::from(ap) << 24) | u32::from(addr & 0xF0);
                    wire_op(b, Request::dp_write(dp_addr::RESEND_SELECT, select))?;
                    wire_op(b, Request::ap_write(addr & 0xC, value))?;
                    ap_result(b).map(|_| ())
                }
            })
        })?)
    }

    fn counted_port(port: u16) -> PortId {
        match port {
            0xFFFF => PortId::Dp,
            ap => PortId::Ap(ap as u8),
        }
    }

    /// A memory command (JTAG_READMEM_* / JTAG_WRITEMEM_*) then JTAG_GETLASTRWSTATUS2, retried
    /// on WAIT as probe-rs does. `data` is read into or written from, little-endian.
    fn mem_command(
        &mut self,
        ap: u8,
        address: u32,
        width: Width,
        data: &mut [u8],
        write: bool,
    ) -> Result<(), DebugProbeError> {
        if data.is_empty() {
            return Ok(());
        }
        self.select_ap(ap)?;
        if width != Width::B8 && !address.is_multiple_of(width as u32) {
            return Err(StlinkError::UnalignedAddress.into());
        }
        let csw = self.opened_aps.get(&ap).copied().unwrap_or(0);
        Ok(self.retry_on_wait(|s| {
            // The command: the firmware runs it whatever happens and keeps the status.
            let outcome = {
                let mut b = s.usb(PortId::Ap(ap))?;
                let r = stream(&mut b, ap, csw, address, width, data, write);
                if r.is_err() {
                    recover(&mut b);
                }
                r
            };
            // The firmware keeps the command's status for JTAG_GETLASTRWSTATUS2, the second
            // exchange, which is where probe-rs learns it.
            let rw_status = match outcome {
                Ok(()) => status::OK,
                Err(FwError::Link(e)) => return Err(usb_lost(e)),
                Err(FwError::Status(code)) => code,
            };
            drop(s.usb(PortId::Ap(ap))?);
            match rw_status {
                status::OK => Ok(()),
                code => Err(failed(code)),
            }
        })?)
    }
}

/// Runs a DP access at a banked address: SELECT.DPBANKSEL set around it.
fn dp_banked<R>(
    b: &mut Board,
    addr: u8,
    f: impl FnOnce(&mut Board) -> Result<R, FwError>,
) -> Result<R, FwError> {
    let bank = u32::from(addr >> 4);
    if bank == 0 {
        return f(b);
    }
    let apsel = u32::from(b.dap().selected_ap()) << 24;
    wire_op(b, Request::dp_write(dp_addr::RESEND_SELECT, apsel | bank))?;
    let r = f(b);
    wire_op(b, Request::dp_write(dp_addr::RESEND_SELECT, apsel))?;
    r
}

/// The firmware's memory transfer on the wire: SELECT, CSW, TAR, posted DRW accesses with TAR
/// re-written at every 1 KiB boundary (the auto-increment wrap), RDBUFF last.
fn stream(
    b: &mut Board,
    ap: u8,
    csw: u32,
    address: u32,
    width: Width,
    data: &mut [u8],
    write: bool,
) -> Result<(), FwError> {
    const DRW: u8 = 0xC;
    const TAR: u8 = 0x4;
    let size = width as usize;
    wire_op(
        b,
        Request::dp_write(dp_addr::RESEND_SELECT, u32::from(ap) << 24),
    )?;
    // Size, single auto-increment; the other bits as the AP had them.
    let csw = (csw & !0x37) | 0x10 | width.csw_size();
    wire_op(b, Request::ap_write(0x0, csw))?;
    let items = data.len() / size;
    let mut pending: Option<usize> = None;
    for i in 0..items {
        let addr = address.wrapping_add((i * size) as u32);
        if i == 0 || addr.is_multiple_of(1024) {
            if let Some(p) = pending.take() {
                let v = ap_result(b)?;
                put_lane(data, p, size, address, v);
            }
            wire_op(b, Request::ap_write(TAR, addr))?;
        }
        if write {
            let mut v = 0u32;
            for k in 0..size {
                v |= u32::from(data[i * size + k]) << (8 * k);
            }
            let lane = (addr & 3) * 8;
            wire_op(b, Request::ap_write(DRW, v << lane))?;
        } else {
            let v = wire_op(b, Request::ap_read(DRW))?;
            if let Some(p) = pending.replace(i) {
                put_lane(data, p, size, address, v);
            }
        }
    }
    let v = ap_result(b)?;
    if let Some(p) = pending {
        put_lane(data, p, size, address, v);
    }
    Ok(())
}

/// Stores item `i` of a read from the byte lanes its address selects.
fn put_lane(data: &mut [u8], i: usize, size: usize, base: u32, word: u32) {
    let addr = base.wrapping_add((i * size) as u32);
    let lane = if size == 4 { 0 } else { (addr & 3) * 8 };
    let v = word >> lane;
    for k in 0..size {
        data[i * size + k] = (v >> (8 * k)) as u8;
    }
}

impl DebugProbe for SimStlink {
    fn get_name(&self) -> &str {
        if self.hw_version >= 3 {
            wire::SIM_PROBE_NAME_STLINK_V3
        } else {
            wire::SIM_PROBE_NAME_STLINK_V2
        }
    }

    fn speed_khz(&self) -> u32 {
        self.speed_khz
    }

    fn set_speed(&mut self, speed_khz: u32) -> Result<u32, DebugProbeError> {
        // V2: the fastest delay setting at or below the request; V3: the fastest listed
        // frequency at or below it (probe-rs `StLink::set_speed`).
        let table: &[u32] = if self.hw_version >= 3 {
            &V3_SWD_KHZ
        } else {
            &V2_SWD_KHZ
        };
        let actual = table
            .iter()
            .copied()
            .filter(|k| *k <= speed_khz)
            .max()
            .ok_or(DebugProbeError::UnsupportedSpeed(speed_khz))?;
        // V3 lists the frequencies (GET_COM_FREQ) before setting one.
        if self.hw_version >= 3 {
            drop(self.usb(PortId::Dp)?);
        }
        self.usb(PortId::Dp)?.dap_mut().set_clock_khz(actual);
        self.speed_khz = actual;
        Ok(actual)
    }

    fn attach(&mut self) -> Result<(), DebugProbeError> {
        // GET_CURRENT_MODE, GET_TARGET_VOLTAGE, then JTAG_ENTER2 SWD: the firmware's connect
        // (line reset, JTAG-to-SWD, DPIDR, power-up request and its acknowledge).
        drop(self.usb(PortId::Dp)?);
        self.get_target_voltage()?;
        self.command(PortId::Dp, |b| {
            b.swj_sequence(51, (1 << 51) - 1)?;
            b.swj_sequence(16, 0xE79E)?;
            b.swj_sequence(51, (1 << 51) - 1)?;
            b.swj_sequence(2, 0)?;
            wire_op(b, Request::dp_read(dp_addr::DPIDR_ABORT))?;
            wire_op(b, Request::dp_write(dp_addr::DPIDR_ABORT, 0x1E))?;
            wire_op(b, Request::dp_write(dp_addr::RESEND_SELECT, 0))?;
            wire_op(b, Request::dp_write(dp_addr::BANKED_4, 0x5000_0000))?;
            for _ in 0..100 {
                if wire_op(b, Request::dp_read(dp_addr::BANKED_4))? & 0xA000_0000 == 0xA000_0000 {
                    return Ok(());
                }
            }
            Err(FwError::Status(status::SWD_DP_ERROR))
        })?;
        self.opened_aps.clear();
        self.set_speed(self.speed_khz)?;
        Ok(())
    }

    fn detach(&mut self) -> Result<(), probe_rs::Error> {
        // GET_CURRENT_MODE and JTAG_EXIT.
        for _ in 0..2 {
            drop(self.usb(PortId::Dp).map_err(DebugProbeError::from)?);
        }
        Ok(())
    }

    fn target_reset(&mut self) -> Result<(), DebugProbeError> {
        // JTAG_DRIVE_NRST_PULSE.
        let mut b = self.usb(PortId::Dp)?;
        b.set_reset_pin(true).map_err(usb_lost)?;
        b.wait_ms(1);
        b.set_reset_pin(false).map_err(usb_lost)?;
        Ok(())
    }

    fn target_reset_assert(&mut self) -> Result<(), DebugProbeError> {
        self.usb(PortId::Dp)?
            .set_reset_pin(true)
            .map_err(usb_lost)?;
        Ok(())
    }

    fn target_reset_deassert(&mut self) -> Result<(), DebugProbeError> {
        self.usb(PortId::Dp)?
            .set_reset_pin(false)
            .map_err(usb_lost)?;
        Ok(())
    }

    fn select_protocol(&mut self, protocol: WireProtocol) -> Result<(), DebugProbeError> {
        match protocol {
            WireProtocol::Swd => {
                self.protocol = protocol;
                Ok(())
            }
            // The virtual ST-LINK speaks SWD only; JTAG is not modelled for it.
            WireProtocol::Jtag => Err(DebugProbeError::UnsupportedProtocol(protocol)),
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
        _sequence: Arc<dyn ArmDebugSequence>,
    ) -> Result<Box<dyn ArmDebugInterface + 'probe>, (Box<dyn DebugProbe>, ArmError)> {
        Ok(Box::new(SimStlinkArmDebug {
            probe: self,
            connected_to_dp: false,
            access_ports: BTreeSet::new(),
        }))
    }

    fn into_probe(self: Box<Self>) -> Box<dyn DebugProbe> {
        self
    }

    fn get_target_voltage(&mut self) -> Result<Option<f32>, DebugProbeError> {
        drop(self.usb(PortId::Dp)?);
        Ok(Some(wire::TARGET_VOLTAGE))
    }
}

/// probe-rs `StLink::swj_pins`: only nRESET, and the pins cannot be read back.
fn stlink_swj_pins(
    probe: &mut SimStlink,
    pin_out: u32,
    pin_select: u32,
    pin_wait: u32,
) -> Result<u32, DebugProbeError> {
    if pin_select != u32::from(PIN_NRESET) {
        return Err(DebugProbeError::CommandNotSupportedByProbe {
            command_name: "swj_pins",
        });
    }
    if pin_out & u32::from(PIN_NRESET) != 0 {
        probe.target_reset_deassert()?;
    } else {
        probe.target_reset_assert()?;
    }
    lock(&probe.board).wait_nanos(u64::from(pin_wait) * 1000);
    Ok(0xFFFF_FFFF)
}

/// probe-rs `StlinkArmDebug`.
#[derive(Debug)]
pub struct SimStlinkArmDebug {
    probe: Box<SimStlink>,
    connected_to_dp: bool,
    access_ports: BTreeSet<FullyQualifiedApAddress>,
}

impl SimStlinkArmDebug {
    fn select_dp(&mut self, dp: DpAddress) -> Result<(), ArmError> {
        if dp != DpAddress::Default {
            return Err(DebugProbeError::from(StlinkError::MultidropNotSupported).into());
        }
        if !self.connected_to_dp {
            self.connected_to_dp = true;
            // probe-rs `valid_access_ports`: IDRs from AP0 up to the first that fails or is 0.
            let mut aps = BTreeSet::new();
            for n in 0..=255u8 {
                let ap = FullyQualifiedApAddress::v1_with_dp(DpAddress::Default, n);
                if access_port_is_valid(self, &ap).is_none() {
                    break;
                }
                aps.insert(ap);
            }
            self.access_ports = aps;
        }
        Ok(())
    }
}

impl DapAccess for SimStlinkArmDebug {
    fn read_raw_dp_register(
        &mut self,
        dp: DpAddress,
        address: DpRegisterAddress,
    ) -> Result<u32, ArmError> {
        self.select_dp(dp)?;
        let bank = address.bank.unwrap_or(0);
        if bank != 0 && !self.probe.supports_dp_bank_selection() {
            return Err(DebugProbeError::from(StlinkError::BanksNotAllowedOnDPRegister).into());
        }
        Ok(self
            .probe
            .read_dap_register(0xFFFF, (bank << 4) | address.address)?)
    }

    fn write_raw_dp_register(
        &mut self,
        dp: DpAddress,
        address: DpRegisterAddress,
        value: u32,
    ) -> Result<(), ArmError> {
        self.select_dp(dp)?;
        let bank = address.bank.unwrap_or(0);
        if bank != 0 && !self.probe.supports_dp_bank_selection() {
            return Err(DebugProbeError::from(StlinkError::BanksNotAllowedOnDPRegister).into());
        }
        Ok(self
            .probe
            .write_dap_register(0xFFFF, (bank << 4) | address.address, value)?)
    }

    fn read_raw_ap_register(
        &mut self,
        ap: &FullyQualifiedApAddress,
        address: u64,
    ) -> Result<u32, ArmError> {
        if ap.ap().is_v2() {
            return Err(ArmError::NotImplemented(
                "ST-Link does not yet support APv2",
            ));
        }
        self.select_dp(ap.dp())?;
        let n = ap.ap_v1()?;
        self.probe.select_ap(n)?;
        Ok(self
            .probe
            .read_dap_register(u16::from(n), (address & 0xFF) as u8)?)
    }

    fn write_raw_ap_register(
        &mut self,
        ap: &FullyQualifiedApAddress,
        address: u64,
        value: u32,
    ) -> Result<(), ArmError> {
        if ap.ap().is_v2() {
            return Err(ArmError::NotImplemented(
                "ST-Link does not yet support APv2",
            ));
        }
        self.select_dp(ap.dp())?;
        let n = ap.ap_v1()?;
        self.probe.select_ap(n)?;
        Ok(self
            .probe
            .write_dap_register(u16::from(n), (address & 0xFF) as u8, value)?)
    }

    fn try_dap_probe(&self) -> Option<&dyn DapProbe> {
        None
    }

    fn try_dap_probe_mut(&mut self) -> Option<&mut dyn DapProbe> {
        None
    }
}

impl SwdSequence for SimStlinkArmDebug {
    fn swj_sequence(&mut self, _bit_len: u8, _bits: u64) -> Result<(), DebugProbeError> {
        Err(DebugProbeError::CommandNotSupportedByProbe {
            command_name: "swj_sequence",
        })
    }

    fn swj_pins(
        &mut self,
        pin_out: u32,
        pin_select: u32,
        pin_wait: u32,
    ) -> Result<u32, DebugProbeError> {
        stlink_swj_pins(&mut self.probe, pin_out, pin_select, pin_wait)
    }
}

impl SwoAccess for SimStlinkArmDebug {
    fn enable_swo(&mut self, _config: &SwoConfig) -> Result<(), ArmError> {
        Err(ArmError::NotImplemented("SWO on the virtual ST-LINK"))
    }

    fn disable_swo(&mut self) -> Result<(), ArmError> {
        Ok(())
    }

    fn read_swo_timeout(&mut self, _timeout: std::time::Duration) -> Result<Vec<u8>, ArmError> {
        Ok(Vec::new())
    }
}

impl ArmDebugInterface for SimStlinkArmDebug {
    fn reinitialize(&mut self) -> Result<(), ArmError> {
        // probe-rs's StlinkArmDebug does nothing here.
        Ok(())
    }

    fn access_ports(
        &mut self,
        dp: DpAddress,
    ) -> Result<BTreeSet<FullyQualifiedApAddress>, ArmError> {
        self.select_dp(dp)?;
        Ok(self.access_ports.clone())
    }

    fn close(self: Box<Self>) -> Probe {
        Probe::from_specific_probe(self.probe)
    }

    fn select_debug_port(&mut self, dp: DpAddress) -> Result<(), ArmError> {
        self.select_dp(dp)
    }

    fn current_debug_port(&self) -> Option<DpAddress> {
        self.connected_to_dp.then_some(DpAddress::Default)
    }

    fn memory_interface(
        &mut self,
        access_port: &FullyQualifiedApAddress,
    ) -> Result<Box<dyn ArmMemoryInterface + '_>, ArmError> {
        // probe-rs `MemoryAp::new`: the IDR must be non-zero.
        let idr = self.read_raw_ap_register(access_port, 0xFC)?;
        if idr == 0 {
            return Err(ArmError::ApDoesNotExist(access_port.clone()));
        }
        let ap = access_port.ap_v1()?;
        Ok(Box::new(SimStlinkMemory {
            iface: self,
            address: access_port.clone(),
            ap,
        }))
    }
}

/// probe-rs `StLinkMemoryInterface`.
#[derive(Debug)]
struct SimStlinkMemory<'a> {
    iface: &'a mut SimStlinkArmDebug,
    address: FullyQualifiedApAddress,
    ap: u8,
}

impl SimStlinkMemory<'_> {
    fn probe(&mut self) -> &mut SimStlink {
        &mut self.iface.probe
    }
}

impl SwdSequence for SimStlinkMemory<'_> {
    fn swj_sequence(&mut self, bit_len: u8, bits: u64) -> Result<(), DebugProbeError> {
        self.iface.swj_sequence(bit_len, bits)
    }

    fn swj_pins(
        &mut self,
        pin_out: u32,
        pin_select: u32,
        pin_wait: u32,
    ) -> Result<u32, DebugProbeError> {
        self.iface.swj_pins(pin_out, pin_select, pin_wait)
    }
}

impl SimStlinkMemory<'_> {
    /// Memory commands over `bytes`, `chunk` bytes each, the n-th at `address + n * step`
    /// (probe-rs's chunking per width, including its address steps).
    fn chunked(
        &mut self,
        address: u64,
        width: Width,
        bytes: &mut [u8],
        chunk: usize,
        step: usize,
        write: bool,
    ) -> Result<(), ArmError> {
        let address = valid_32bit_arm_address(address)?;
        let ap = self.ap;
        for (index, part) in bytes.chunks_mut(chunk).enumerate() {
            let at = address.wrapping_add((index * step) as u32);
            self.probe().mem_command(ap, at, width, part, write)?;
        }
        Ok(())
    }

    fn is_v2(&self) -> bool {
        self.iface.probe.hw_version < 3
    }
}

impl MemoryInterface<ArmError> for SimStlinkMemory<'_> {
    fn supports_native_64bit_access(&mut self) -> bool {
        false
    }

    fn read_64(&mut self, address: u64, data: &mut [u64]) -> Result<(), ArmError> {
        // probe-rs: one 8-byte 32-bit read per doubleword.
        let mut bytes = vec![0u8; data.len() * 8];
        self.chunked(address, Width::B32, &mut bytes, 8, 8, false)?;
        for (d, b) in data.iter_mut().zip(bytes.chunks_exact(8)) {
            *d = u64::from_le_bytes(b.try_into().unwrap_or_default());
        }
        Ok(())
    }

    fn read_32(&mut self, address: u64, data: &mut [u32]) -> Result<(), ArmError> {
        let mut bytes = vec![0u8; data.len() * 4];
        self.chunked(
            address,
            Width::B32,
            &mut bytes,
            MAX_READ_LEN,
            MAX_READ_LEN,
            false,
        )?;
        for (d, b) in data.iter_mut().zip(bytes.chunks_exact(4)) {
            *d = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }

    fn read_16(&mut self, address: u64, data: &mut [u16]) -> Result<(), ArmError> {
        let halfwords = if self.is_v2() { 32 } else { 64 };
        let mut bytes = vec![0u8; data.len() * 2];
        // probe-rs 0.32 advances by `index * chunk_size` bytes, not halfwords: kept, so the
        // personality returns what a real ST-LINK returns through probe-rs.
        self.chunked(
            address,
            Width::B16,
            &mut bytes,
            2 * halfwords,
            halfwords,
            false,
        )?;
        for (d, b) in data.iter_mut().zip(bytes.chunks_exact(2)) {
            *d = u16::from_le_bytes([b[0], b[1]]);
        }
        Ok(())
    }

    fn read_8(&mut self, address: u64, data: &mut [u8]) -> Result<(), ArmError> {
        let chunk = if self.is_v2() { 64 } else { 128 };
        self.chunked(address, Width::B8, data, chunk, chunk, false)
    }

    fn write_64(&mut self, address: u64, data: &[u64]) -> Result<(), ArmError> {
        let words: Vec<u32> = data
            .iter()
            .flat_map(|d| [*d as u32, (*d >> 32) as u32])
            .collect();
        self.write_32(address, &words)
    }

    fn write_32(&mut self, address: u64, data: &[u32]) -> Result<(), ArmError> {
        let mut bytes: Vec<u8> = data.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.chunked(
            address,
            Width::B32,
            &mut bytes,
            MAX_WRITE_LEN,
            MAX_WRITE_LEN,
            true,
        )
    }

    fn write_16(&mut self, address: u64, data: &[u16]) -> Result<(), ArmError> {
        let chunk = if self.is_v2() { 32 } else { 256 };
        let mut bytes: Vec<u8> = data.iter().flat_map(|w| w.to_le_bytes()).collect();
        // probe-rs 0.32 advances by `index * STLINK_MAX_WRITE_LEN`: kept, as for read_16.
        self.chunked(address, Width::B16, &mut bytes, chunk, MAX_WRITE_LEN, true)
    }

    fn write_8(&mut self, address: u64, data: &[u8]) -> Result<(), ArmError> {
        let chunk = if self.is_v2() { 64 } else { 512 };
        let mut bytes = data.to_vec();
        if bytes.len() < chunk {
            return self.chunked(address, Width::B8, &mut bytes, chunk, chunk, true);
        }
        // probe-rs: bytes up to the first word boundary, whole words as 32-bit writes, the rest.
        let head = ((4 - address % 4) % 4) as usize;
        let words = (bytes.len() - head) / 4 * 4;
        let (first, rest) = bytes.split_at_mut(head);
        let (middle, last) = rest.split_at_mut(words);
        self.chunked(address, Width::B8, first, chunk, chunk, true)?;
        let at = address + head as u64;
        self.chunked(at, Width::B32, middle, MAX_WRITE_LEN, MAX_WRITE_LEN, true)?;
        self.chunked(at + words as u64, Width::B8, last, chunk, chunk, true)
    }

    fn supports_8bit_transfers(&self) -> Result<bool, ArmError> {
        Ok(true)
    }

    fn flush(&mut self) -> Result<(), ArmError> {
        Ok(())
    }
}

impl ArmMemoryInterface for SimStlinkMemory<'_> {
    fn fully_qualified_address(&self) -> FullyQualifiedApAddress {
        self.address.clone()
    }

    fn base_address(&mut self) -> Result<u64, ArmError> {
        let address = self.address.clone();
        let base = self.iface.read_raw_ap_register(&address, 0xF8)?;
        Ok(u64::from(base & 0xFFFF_F000))
    }

    fn get_arm_debug_interface(&mut self) -> Result<&mut dyn ArmDebugInterface, DebugProbeError> {
        Ok(self.iface)
    }

    fn generic_status(&mut self) -> Result<CSW, ArmError> {
        let address = self.address.clone();
        let csw = self.iface.read_raw_ap_register(&address, 0x00)?;
        Ok(CSW::try_from(csw)?)
    }
}
