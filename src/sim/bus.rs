//! The seam between the debug port model (`dap`) and the chip behind it (`chip`).
//!
//! The DP/AP model turns DAP register transactions into bus accesses on one access port; the chip
//! answers them with its memory map, peripherals and core debug logic. Keeping this seam small is
//! what lets a second front end (remote_bitbang, pyOCD remote probe) drive the same board.

/// Width of one bus access (AHB/APB transfer size, CSW.Size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Size {
    U8,
    U16,
    U32,
}

impl Size {
    /// Number of bytes of one access.
    pub fn bytes(self) -> u32 {
        match self {
            Size::U8 => 1,
            Size::U16 => 2,
            Size::U32 => 4,
        }
    }
}

/// Why a bus access failed. The AP reports any of these as a sticky error (CTRL/STAT.STICKYERR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// Nothing is mapped at that address in this AP's view.
    #[error("bus fault: nothing mapped at {0:#010x}")]
    Unmapped(u32),
    /// The address is mapped but refuses this access (size, alignment, write to ROM, RDP...).
    #[error("bus fault: access refused at {0:#010x}")]
    Refused(u32),
    /// The bus never completes the transfer (a master held in reset): the AP stays busy and the
    /// probe sees WAIT until it aborts.
    #[error("bus stalled at {0:#010x}")]
    Stalled(u32),
}

/// How an access port answers right now, as decided by the chip's power and clock state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApPower {
    /// Clocked and powered: transactions complete normally.
    Up,
    /// The core behind it is held (not booted): the AP answers, but every bus read returns zero
    /// and writes are ignored (what ST-LINK and OpenOCD see as CPUID 0 / invalid ROM table).
    Gated,
    /// No debug clock in its domain (e.g. D2 in DStop with DBGSTOP_D2 = 0): bus transactions
    /// fault; the AP register file itself still answers.
    Unclocked,
    /// As `Unclocked`, but a bus transaction never completes: WAIT until the probe aborts
    /// (a `[silicon]` choice: `unclocked_ap = "wait"`).
    Stalled,
}

/// The chip behind the access ports.
pub trait Bus: Send {
    /// One read of `size` at `addr` through access port `ap`.
    fn read(&mut self, ap: u8, addr: u32, size: Size) -> Result<u32, BusError>;
    /// One write of `size` at `addr` through access port `ap` (value in the low bits).
    fn write(&mut self, ap: u8, addr: u32, size: Size, value: u32) -> Result<(), BusError>;
    /// How access port `ap` answers right now.
    fn ap_power(&self, ap: u8) -> ApPower;
    /// True once the debug port is disabled for good (RDP level 2).
    fn debug_port_disabled(&self) -> bool;
    /// Advance virtual time; the DAP model calls this for every transaction it serves.
    fn advance(&mut self, nanos: u64);
    /// Drive the NRST pin (probe reset line).
    fn set_reset_pin(&mut self, asserted: bool);
    /// The debugger requested (or dropped) debug power, CTRL/STAT.CDBGPWRUPREQ: how the chip
    /// knows a debugger is connected (RDP level 1 reacts to it).
    fn debug_power_request(&mut self, _requested: bool) {}
    /// Remove and restore power (`sim power-cycle`): volatile state lost, option bytes reloaded.
    fn power_cycle(&mut self);
    /// Virtual time since power-on, in nanoseconds.
    fn now_nanos(&self) -> u64;
    /// Downcast for board-level controls the DAP model does not need (state file, scenario).
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}
