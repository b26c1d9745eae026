//! A flat-memory [`Bus`] for the DAP model's own tests.
//!
//! Test fixture only: the product's chip lives in `sim::chip`. It is public (and hidden from the
//! docs) so that integration tests in `tests/` can build a board without the chip.

use std::any::Any;

use super::bus::{ApPower, Bus, BusError, Size};
use crate::h7::facts;

/// RAM regions every AP sees: (base, length).
const REGIONS: [(u64, u64); 2] = [facts::mem::DTCM, facts::mem::AXI_SRAM];

/// Flat little-endian memory at the DTCM and AXI SRAM addresses, the same through every AP;
/// everything else is unmapped (bus fault).
#[derive(Debug, Clone)]
pub struct TestBus {
    regions: Vec<(u32, Vec<u8>)>,
    power: [ApPower; facts::ap::COUNT as usize],
    dp_disabled: bool,
    reset_pin: bool,
    now: u64,
    power_cycles: u32,
    /// Every bus access seen: (ap, address, size, write value).
    pub log: Vec<(u8, u32, Size, Option<u32>)>,
}

impl Default for TestBus {
    fn default() -> Self {
        Self::new()
    }
}

impl TestBus {
    /// Zeroed RAM, all APs up.
    pub fn new() -> Self {
        Self {
            regions: REGIONS
                .iter()
                .map(|&(base, len)| (base as u32, vec![0; len as usize]))
                .collect(),
            power: [ApPower::Up; facts::ap::COUNT as usize],
            dp_disabled: false,
            reset_pin: false,
            now: 0,
            power_cycles: 0,
            log: Vec::new(),
        }
    }

    /// Set how `ap` answers.
    pub fn set_ap_power(&mut self, ap: u8, power: ApPower) {
        if let Some(p) = self.power.get_mut(usize::from(ap)) {
            *p = power;
        }
    }

    /// Disable (or re-enable) the debug port, as RDP level 2 does.
    pub fn set_debug_port_disabled(&mut self, disabled: bool) {
        self.dp_disabled = disabled;
    }

    /// Whether NRST is asserted now.
    pub fn reset_pin(&self) -> bool {
        self.reset_pin
    }

    /// How many times power was cycled.
    pub fn power_cycles(&self) -> u32 {
        self.power_cycles
    }

    fn slot(&mut self, addr: u32, len: u32) -> Option<&mut [u8]> {
        self.regions.iter_mut().find_map(|(base, mem)| {
            let off = addr.checked_sub(*base)? as usize;
            mem.get_mut(off..off.checked_add(len as usize)?)
        })
    }

    /// Write bytes directly (no bus access); out-of-range bytes are skipped.
    pub fn poke(&mut self, addr: u32, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(s) = self.slot(addr.wrapping_add(i as u32), 1) {
                s[0] = *b;
            }
        }
    }

    /// Read bytes directly (no bus access); unmapped bytes read as zero.
    pub fn peek(&mut self, addr: u32, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| {
                self.slot(addr.wrapping_add(i as u32), 1)
                    .map_or(0, |s| s[0])
            })
            .collect()
    }
}

impl Bus for TestBus {
    fn read(&mut self, ap: u8, addr: u32, size: Size) -> Result<u32, BusError> {
        self.log.push((ap, addr, size, None));
        let n = size.bytes();
        let s = self.slot(addr, n).ok_or(BusError::Unmapped(addr))?;
        let mut v = [0u8; 4];
        v[..n as usize].copy_from_slice(s);
        Ok(u32::from_le_bytes(v))
    }

    fn write(&mut self, ap: u8, addr: u32, size: Size, value: u32) -> Result<(), BusError> {
        self.log.push((ap, addr, size, Some(value)));
        let n = size.bytes() as usize;
        let s = self.slot(addr, n as u32).ok_or(BusError::Unmapped(addr))?;
        s.copy_from_slice(&value.to_le_bytes()[..n]);
        Ok(())
    }

    fn ap_power(&self, ap: u8) -> ApPower {
        self.power
            .get(usize::from(ap))
            .copied()
            .unwrap_or(ApPower::Up)
    }

    fn debug_port_disabled(&self) -> bool {
        self.dp_disabled
    }

    fn advance(&mut self, nanos: u64) {
        self.now = self.now.saturating_add(nanos);
    }

    fn set_reset_pin(&mut self, asserted: bool) {
        self.reset_pin = asserted;
    }

    fn power_cycle(&mut self) {
        self.power_cycles += 1;
        for (_, mem) in &mut self.regions {
            mem.fill(0);
        }
    }

    fn now_nanos(&self) -> u64 {
        self.now
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
