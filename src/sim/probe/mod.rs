//! probe-rs 0.32 probe drivers for the virtual board, one per probe personality.
//!
//! A personality presents to probe-rs, and so to h7sh, exactly what probe-rs's own driver for that
//! probe presents: the same traits (generic `RawDapAccess` for CMSIS-DAP, bit-level `RawSwdIo`
//! under probe-rs's own SWD polyfill for J-Link, a whole `ArmDebugInterface` of USB memory
//! commands for ST-LINK), the same error types and variants, WAIT retries, what attaching does to
//! nRESET, pin read-back, firmware gates, target voltage and speed rounding. All of them drive
//! the one board model (`sim::dap` over `sim::chip`): a personality is a layer, not a second
//! model. `sim stats` counts round trips the way each probe spends them (one USB exchange each).
//!
//! Sources: probe-rs 0.32 `probe/cmsisdap/mod.rs`, `probe/jlink/mod.rs`,
//! `probe/stlink/mod.rs`, `architecture/arm/traits/polyfill.rs` (cited per item in
//! `docs/probes.md`).

mod cmsis_dap;
mod jlink;
mod stlink;

use std::fmt;
use std::sync::OnceLock;

use probe_rs::probe::list::ProbeListItem;
use probe_rs::probe::{
    DebugProbe, DebugProbeError, DebugProbeInfo, DebugProbeSelector, ProbeCreationError,
    ProbeFactory,
};

use super::board::{lock, LinkError, SharedBoard};
use crate::h7::facts::wire;

use bitvec::vec::BitVec;

use super::dap::jtag;

pub use cmsis_dap::SimProbe;
pub use jlink::SimJlink;
pub use stlink::SimStlink;

impl From<LinkError> for DebugProbeError {
    fn from(e: LinkError) -> Self {
        DebugProbeError::Usb(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            e.to_string(),
        ))
    }
}

/// Which real probe the virtual board's driver behaves as (`--sim-probe`, scenario
/// `[probe] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// CMSIS-DAP v2 (USB bulk, 512-byte packets), e.g. a DAPLink or a Pico debug probe.
    #[default]
    CmsisDap,
    /// CMSIS-DAP v1 (USB HID, 64-byte packets), e.g. older DAPLink and LPC-Link firmware.
    CmsisDapV1,
    /// ST-LINK/V2 with firmware V2J27: probe-rs opens it but refuses every AP other than AP0.
    StlinkV2J27,
    /// ST-LINK/V2 with current firmware (V2J45S7): every AP, banked DP registers.
    StlinkV2,
    /// STLINK-V3E with the firmware of the NUCLEO-H755ZI-Q forum thread (V3J16M7).
    StlinkV3,
    /// SEGGER J-Link (SWD through J-Link's bit-level I/O under probe-rs's SWD polyfill).
    Jlink,
}

impl ProbeKind {
    /// Every personality, for listings and for tests that run under each.
    pub const ALL: [ProbeKind; 6] = [
        ProbeKind::CmsisDap,
        ProbeKind::CmsisDapV1,
        ProbeKind::StlinkV2J27,
        ProbeKind::StlinkV2,
        ProbeKind::StlinkV3,
        ProbeKind::Jlink,
    ];

    /// The name used on the command line and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::CmsisDap => "cmsis-dap",
            ProbeKind::CmsisDapV1 => "cmsis-dap-v1",
            ProbeKind::StlinkV2J27 => "stlink-v2-j27",
            ProbeKind::StlinkV2 => "stlink-v2",
            ProbeKind::StlinkV3 => "stlink-v3",
            ProbeKind::Jlink => "jlink",
        }
    }

    /// What a user holding it would call it.
    pub fn description(self) -> &'static str {
        match self {
            ProbeKind::CmsisDap => "CMSIS-DAP v2 (bulk, 512-byte packets)",
            ProbeKind::CmsisDapV1 => "CMSIS-DAP v1 (HID, 64-byte packets)",
            ProbeKind::StlinkV2J27 => "ST-LINK/V2, firmware V2J27 (AP0 only in probe-rs)",
            ProbeKind::StlinkV2 => "ST-LINK/V2, firmware V2J45S7",
            ProbeKind::StlinkV3 => "STLINK-V3E, firmware V3J16M7",
            ProbeKind::Jlink => "SEGGER J-Link BASE V9 (SWD, full-speed USB)",
        }
    }

    /// Host-to-probe latency of one USB exchange, charged to the board's clock per round trip:
    /// the chip runs on while the host waits for the probe (high-speed bulk, CMSIS-DAP v2 and
    /// STLINK-V3: one 125 µs microframe; full-speed, HID reports, ST-LINK/V2 and J-Link BASE:
    /// one 1 ms frame).
    pub fn round_trip_nanos(self) -> u64 {
        match self {
            ProbeKind::CmsisDap | ProbeKind::StlinkV3 => 125_000,
            ProbeKind::CmsisDapV1
            | ProbeKind::StlinkV2J27
            | ProbeKind::StlinkV2
            | ProbeKind::Jlink => 1_000_000,
        }
    }

    /// Parses a personality name; the error lists the valid ones.
    pub fn parse(name: &str) -> Result<ProbeKind, String> {
        let lower = name.trim().to_ascii_lowercase();
        ProbeKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| {
                format!(
                    "unknown probe kind `{name}`; valid: {}",
                    ProbeKind::ALL.map(|k| k.name()).join(", ")
                )
            })
    }

    /// A probe-rs driver of this personality connected to `board`.
    pub fn open(self, board: SharedBoard) -> Box<dyn DebugProbe> {
        match self {
            ProbeKind::CmsisDap => Box::new(SimProbe::new(board)),
            ProbeKind::CmsisDapV1 => Box::new(SimProbe::new_v1(board)),
            ProbeKind::StlinkV2J27 => Box::new(SimStlink::new(board, 2, 27)),
            ProbeKind::StlinkV2 => Box::new(SimStlink::new(board, 2, 45)),
            ProbeKind::StlinkV3 => Box::new(SimStlink::new(board, 3, 16)),
            ProbeKind::Jlink => Box::new(SimJlink::new(board)),
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
        let kind = lock(&board).probe_kind();
        Ok(kind.open(board))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_name_and_reject_others_with_the_list() {
        for k in ProbeKind::ALL {
            assert_eq!(ProbeKind::parse(k.name()), Ok(k));
            assert_eq!(ProbeKind::parse(&k.name().to_uppercase()), Ok(k));
        }
        let err = ProbeKind::parse("stlink-v4").unwrap_err();
        assert!(
            err.contains("stlink-v2-j27") && err.contains("jlink"),
            "{err}"
        );
    }
}

/// The TCK cycles a bit-level JTAG driver has queued and the TDO bits it captured: probe-rs's
/// J-Link and CMSIS-DAP drivers collect clocks and send them in one USB exchange.
#[derive(Debug, Default)]
pub(crate) struct JtagQueue {
    pending: Vec<(jtag::Bit, bool)>,
    captured: BitVec,
}

impl JtagQueue {
    /// Queue one clock; true when `limit` clocks wait (time to send them).
    pub(crate) fn push(&mut self, tms: bool, tdi: bool, capture: bool, limit: usize) -> bool {
        self.pending.push(((tms, tdi), capture));
        self.pending.len() >= limit
    }

    /// The clocks to send now, or None when nothing waits.
    pub(crate) fn clocks(&self) -> Option<Vec<jtag::Bit>> {
        (!self.pending.is_empty()).then(|| self.pending.iter().map(|(c, _)| *c).collect())
    }

    /// The queued clocks were sent and gave `tdo`: keep the bits asked for.
    pub(crate) fn sent(&mut self, tdo: Vec<bool>) {
        for (bit, (_, capture)) in tdo.into_iter().zip(self.pending.drain(..)) {
            if capture {
                self.captured.push(bit);
            }
        }
    }

    /// The captured bits, handed over once.
    pub(crate) fn take_captured(&mut self) -> BitVec {
        std::mem::take(&mut self.captured)
    }
}
