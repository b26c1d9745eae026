//! The virtual board: the DAP model, the chip behind it, and the probe connection's faults.
//!
//! The probe driver (`sim::probe`) and the shell share one board through [`SharedBoard`]: probe-rs
//! owns the probe, the shell keeps a clone for `sim stats`, `sim power-cycle`, waiting, and
//! chip-level controls.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::bus::Bus;
use super::dap::{jtag, Dap, PortId, Request, Response, SimStats};
use super::faults::FaultPlan;
use super::probe::ProbeKind;

/// A board shared between the probe driver and the shell.
pub type SharedBoard = Arc<Mutex<Board>>;

/// Lock a shared board, recovering it if a holder panicked (the board's state stays usable).
pub fn lock(board: &SharedBoard) -> MutexGuard<'_, Board> {
    board
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why the link to the board failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The probe was unplugged (fault plan `unplug_after`).
    #[error("the virtual probe was unplugged (fault plan: unplug after {after} transactions)")]
    Unplugged { after: u64 },
}

/// The virtual board.
pub struct Board {
    dap: Dap,
    chip: Box<dyn Bus>,
    faults: FaultPlan,
    unplugged: bool,
    /// Probe pin levels as CMSIS-DAP `DAP_SWJ_Pins` reports them (bit 7 nRESET, ...).
    pins: u8,
    /// The board's reset button is held (`sim nrst hold`).
    reset_button: bool,
    /// The probe personality drivers of this board present.
    probe_kind: ProbeKind,
    /// Debuggers served over the network (`sim serve`), each with its own debug-port context.
    clients: Vec<Client>,
}

/// A served debugger's side of the board: its own DP/AP register context and wire state (SWJ
/// protocol, TAP state, SELECT, CSW, TAR), as a shared probe's firmware keeps one per client,
/// in front of the one chip. The chip, its memory and NRST are shared with everyone.
#[derive(Debug)]
struct Client {
    name: String,
    dap: Dap,
    /// The client asserts SRST (NRST).
    srst: bool,
    /// Connections it served, and whether one is open now.
    connections: u64,
    open: bool,
}

/// A served debugger's handle on the board (`Board::add_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientId(usize);

impl fmt::Debug for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Board")
            .field("dap", &self.dap)
            .field("faults", &self.faults)
            .field("unplugged", &self.unplugged)
            .field("now_nanos", &self.chip.now_nanos())
            .finish_non_exhaustive()
    }
}

/// nRESET in the pin byte of `DAP_SWJ_Pins` (probe-rs `Pins`).
pub const PIN_NRESET: u8 = 1 << 7;

impl Board {
    /// A board around `chip`, with the wire faults of `faults`, freshly connected.
    pub fn new(chip: Box<dyn Bus>, faults: FaultPlan) -> Self {
        let mut dap = Dap::new();
        dap.set_fault_plan(faults.clone());
        Self {
            dap,
            chip,
            faults,
            unplugged: false,
            // All lines idle high; nRESET released.
            pins: 0xFF,
            reset_button: false,
            probe_kind: ProbeKind::default(),
            clients: Vec::new(),
        }
    }

    /// A served debugger (`name`, e.g. "bitbang 127.0.0.1:3335"): its own debug-port context,
    /// at power-on state (JTAG, powered down), on this chip.
    pub fn add_client(&mut self, name: &str) -> ClientId {
        let mut dap = Dap::new();
        dap.set_clock_khz(self.dap.clock_khz());
        self.clients.push(Client {
            name: name.to_string(),
            dap,
            srst: false,
            connections: 0,
            open: false,
        });
        ClientId(self.clients.len() - 1)
    }

    /// A connection of `id` opened (true) or closed; a closed one lets go of SRST.
    pub fn client_connected(&mut self, id: ClientId, open: bool) {
        let c = &mut self.clients[id.0];
        c.open = open;
        if open {
            c.connections += 1;
        } else if c.srst {
            c.srst = false;
            self.drive_nrst();
        }
    }

    /// Run `f` on client `id`'s debug-port context and the chip: one transaction (or one
    /// batch of clocks) while the caller holds the board, as a shared probe serialises them.
    pub fn with_client<R>(
        &mut self,
        id: ClientId,
        f: impl FnOnce(&mut Dap, &mut dyn Bus) -> R,
    ) -> R {
        f(&mut self.clients[id.0].dap, &mut *self.chip)
    }

    /// Client `id` asserts (true) or releases SRST; NRST is low while anyone pulls it.
    pub fn client_srst(&mut self, id: ClientId, asserted: bool) {
        self.clients[id.0].srst = asserted;
        self.drive_nrst();
    }

    /// Whether NRST is low now (probe, button or any client).
    pub fn nrst_low(&self) -> bool {
        self.reset_state().1
    }

    /// Each client: its name, connections served, whether one is open, its wire counters.
    pub fn client_stats(&self) -> Vec<(String, u64, bool, SimStats)> {
        self.clients
            .iter()
            .map(|c| (c.name.clone(), c.connections, c.open, *c.dap.stats()))
            .collect()
    }

    /// The same board seen through another probe personality.
    pub fn with_probe_kind(mut self, kind: ProbeKind) -> Self {
        self.probe_kind = kind;
        self
    }

    /// The probe personality of this board's drivers.
    pub fn probe_kind(&self) -> ProbeKind {
        self.probe_kind
    }

    /// Wrap in the shared handle.
    pub fn into_shared(self) -> SharedBoard {
        Arc::new(Mutex::new(self))
    }

    /// One DAP transaction over the probe connection.
    pub fn transfer(&mut self, req: Request) -> Result<Response, LinkError> {
        self.link()?;
        Ok(self.dap.transfer(&mut *self.chip, req))
    }

    /// Raw SWJ bits (line reset, protocol switch).
    pub fn swj_sequence(&mut self, bit_len: u8, bits: u64) -> Result<(), LinkError> {
        self.link()?;
        self.dap.swj_sequence(&mut *self.chip, bit_len, bits);
        Ok(())
    }

    /// Raw JTAG cycles: TMS held, TDI from `tdi`.
    pub fn jtag_sequence(&mut self, cycles: u8, tms: bool, tdi: u64) -> Result<(), LinkError> {
        self.link()?;
        self.dap.jtag_sequence(&mut *self.chip, cycles, tms, tdi);
        Ok(())
    }

    /// JTAG clocks (TMS, TDI) with TDO sampled at each.
    pub fn jtag_clock(&mut self, clocks: &[jtag::Bit]) -> Result<Vec<bool>, LinkError> {
        self.link()?;
        Ok(self.dap.jtag_clock(&mut *self.chip, clocks))
    }

    /// Pulse nTRST.
    pub fn jtag_trst(&mut self) -> Result<(), LinkError> {
        self.link()?;
        self.dap.jtag_trst();
        Ok(())
    }

    /// Drive the probe's pins (`DAP_SWJ_Pins`): only nRESET reaches the chip. Returns the pin
    /// levels after the change.
    pub fn swj_pins(&mut self, out: u8, select: u8) -> Result<u8, LinkError> {
        self.link()?;
        self.pins = (self.pins & !select) | (out & select);
        if select & PIN_NRESET != 0 {
            self.drive_nrst();
        }
        // The pin reads low while anything pulls it low (open drain).
        Ok(if self.reset_button {
            self.pins & !PIN_NRESET
        } else {
            self.pins
        })
    }

    /// NRST is open drain: low while the probe, a served client or the reset button pulls it.
    fn drive_nrst(&mut self) {
        let low = self.reset_state().1;
        self.chip.set_reset_pin(low);
    }

    /// Press and hold (true) or release the board's reset button (`sim nrst`).
    pub fn hold_reset_button(&mut self, held: bool) {
        self.reset_button = held;
        self.drive_nrst();
    }

    /// (the reset button is held, NRST is low).
    pub fn reset_state(&self) -> (bool, bool) {
        let low =
            self.pins & PIN_NRESET == 0 || self.reset_button || self.clients.iter().any(|c| c.srst);
        (self.reset_button, low)
    }

    /// Assert or release NRST.
    pub fn set_reset_pin(&mut self, asserted: bool) -> Result<(), LinkError> {
        let out = if asserted { 0 } else { PIN_NRESET };
        self.swj_pins(out, PIN_NRESET).map(|_| ())
    }

    /// Fails once the probe has been unplugged; unplugs it when the plan says so.
    pub fn link(&mut self) -> Result<(), LinkError> {
        if let Some(after) = self.faults.unplug_after {
            if self.unplugged || self.dap.transactions_since_open() >= after {
                self.unplugged = true;
                return Err(LinkError::Unplugged { after });
            }
        }
        Ok(())
    }

    /// True once the probe has been unplugged by the fault plan.
    pub fn is_unplugged(&self) -> bool {
        self.unplugged
    }

    /// Plug the probe back in: the connection count restarts and the unplug fault, having
    /// happened, is disarmed (WAIT/no-ACK bursts stay, counted from the new connection).
    pub fn replug(&mut self) {
        self.unplugged = false;
        self.faults.unplug_after = None;
        self.dap.restart_connection_count();
    }

    /// The wire faults in force.
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }

    /// Replace the wire faults; counting restarts from this connection's next transaction.
    pub fn set_faults(&mut self, faults: FaultPlan) {
        self.unplugged = false;
        self.dap.set_fault_plan(faults.clone());
        self.dap.restart_connection_count();
        self.faults = faults;
    }

    /// Wire counters.
    pub fn stats(&self) -> SimStats {
        *self.dap.stats()
    }

    /// Zero the wire counters.
    pub fn reset_stats(&mut self) {
        self.dap.reset_stats();
        for c in &mut self.clients {
            c.dap.reset_stats();
        }
    }

    /// Count one probe round trip (one USB exchange on a real probe) addressed to `port`; the
    /// chip runs on for the exchange's USB latency, as it does while a real host waits.
    pub fn note_round_trip(&mut self, port: PortId) {
        self.dap.note_round_trip(port);
        self.chip.advance(self.probe_kind.round_trip_nanos());
    }

    /// Remove and restore target power: the chip reloads, the debug port returns to its
    /// power-on state (JTAG, powered down), so an SWD probe gets no ACK until it reconnects
    /// (line reset, JTAG-to-SWD, DPIDR). The probe stays plugged in.
    pub fn power_cycle(&mut self) {
        self.chip.power_cycle();
        self.dap.power_on_reset();
        for c in &mut self.clients {
            c.dap.power_on_reset();
        }
    }

    /// Let `ms` milliseconds of virtual time pass with no debugger traffic.
    pub fn wait_ms(&mut self, ms: u64) {
        self.wait_nanos(ms.saturating_mul(1_000_000));
    }

    /// Let `nanos` of virtual time pass (a probe's host-side back-off, a pin settling time).
    pub fn wait_nanos(&mut self, nanos: u64) {
        self.chip.advance(nanos);
    }

    /// Virtual time since power-on.
    pub fn now_nanos(&self) -> u64 {
        self.chip.now_nanos()
    }

    /// The chip, as the seam sees it.
    pub fn chip(&mut self) -> &mut dyn Bus {
        &mut *self.chip
    }

    /// The chip as its concrete type, for board-level controls (state file, scenario).
    pub fn chip_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.chip.as_any_mut().downcast_mut::<T>()
    }

    /// The DAP model.
    pub fn dap(&self) -> &Dap {
        &self.dap
    }

    /// The DAP model, mutable (clock, counters).
    pub fn dap_mut(&mut self) -> &mut Dap {
        &mut self.dap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::WaitBurst;
    use crate::sim::testbus::TestBus;

    #[test]
    fn unplug_after_n_transactions() {
        let plan = FaultPlan {
            unplug_after: Some(3),
            ..FaultPlan::default()
        };
        let mut b = Board::new(Box::new(TestBus::new()), plan);
        for _ in 0..3 {
            assert!(b.transfer(Request::dp_read(0)).is_ok());
        }
        assert_eq!(
            b.transfer(Request::dp_read(0)),
            Err(LinkError::Unplugged { after: 3 })
        );
        assert!(b.swj_sequence(8, 0xFF).is_err());
        assert!(b.is_unplugged());
        b.replug();
        assert!(b.transfer(Request::dp_read(0)).is_ok());
    }

    #[test]
    fn pins_drive_nrst_and_chip_downcasts() {
        let mut b = Board::new(Box::new(TestBus::new()), FaultPlan::default());
        b.set_reset_pin(true).unwrap();
        assert!(b.chip_mut::<TestBus>().unwrap().reset_pin());
        assert_eq!(
            b.swj_pins(PIN_NRESET, PIN_NRESET).unwrap() & PIN_NRESET,
            PIN_NRESET
        );
        assert!(!b.chip_mut::<TestBus>().unwrap().reset_pin());
        let t = b.now_nanos();
        b.wait_ms(2);
        assert_eq!(b.now_nanos() - t, 2_000_000);
        b.power_cycle();
        assert_eq!(b.chip_mut::<TestBus>().unwrap().power_cycles(), 1);
        assert!(b.chip_mut::<String>().is_none());
    }

    #[test]
    fn set_faults_restarts_count() {
        let mut b = Board::new(Box::new(TestBus::new()), FaultPlan::default());
        b.transfer(Request::dp_read(0)).unwrap();
        b.set_faults(FaultPlan {
            wait_burst: Some(WaitBurst { after: 0, count: 1 }),
            ..FaultPlan::default()
        });
        assert_eq!(b.dap().transactions_since_open(), 0);
    }
}
