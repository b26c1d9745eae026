//! The virtual STM32H7 dual-core board: a probe driver beneath probe-rs.
//!
//! Layers, wire first: `probe` (probe-rs front end: DebugProbe + RawDapAccess) over `dap` (ADIv5
//! DP and the four APs) over `bus` (the seam) over `chip` (memory maps, peripherals, cores,
//! firmware behaviours, time).

pub mod board;
pub mod bus;
pub mod chip;
pub mod dap;
pub mod faults;
pub mod probe;
pub mod scenario;
pub mod serve;
pub mod silicon;
pub mod state;
#[doc(hidden)]
pub mod testbus;
