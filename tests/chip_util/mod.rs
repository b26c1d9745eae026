//! Helpers for the virtual-chip tests: a built-in scenario's chip and 32-bit access through
//! the Bus trait.
#![allow(dead_code)]

use h7sh::sim::bus::{Bus, Size};
use h7sh::sim::chip::Chip;
use h7sh::sim::scenario::Scenario;

pub fn chip(name: &str) -> Chip {
    Chip::new(&Scenario::builtin(name).expect("built-in")).expect("chip")
}

pub fn r(c: &mut Chip, ap: u8, addr: u64) -> u32 {
    c.read(ap, addr as u32, Size::U32).expect("read")
}

pub fn w(c: &mut Chip, ap: u8, addr: u64, v: u32) {
    c.write(ap, addr as u32, Size::U32, v).expect("write")
}
