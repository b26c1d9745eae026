//! Counters of wire traffic: DAP transactions and probe round trips, per port.

use std::fmt;

use crate::h7::facts;

/// Where a transaction or round trip went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortId {
    /// A debug port register.
    Dp,
    /// An access port register, by APSEL.
    Ap(u8),
}

/// Counters of one port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortCounters {
    /// Register accesses on the wire (one SWD packet each), whatever their answer.
    pub transactions: u64,
    /// Of those, reads.
    pub reads: u64,
    /// Of those, writes.
    pub writes: u64,
    /// Answers WAIT.
    pub waits: u64,
    /// Answers FAULT.
    pub faults: u64,
    /// Requests that got no ACK.
    pub no_acks: u64,
    /// Probe round trips (one USB exchange each on a real probe) addressed to this port.
    pub round_trips: u64,
}

impl PortCounters {
    fn add(&mut self, other: &PortCounters) {
        self.transactions += other.transactions;
        self.reads += other.reads;
        self.writes += other.writes;
        self.waits += other.waits;
        self.faults += other.faults;
        self.no_acks += other.no_acks;
        self.round_trips += other.round_trips;
    }
}

/// Wire statistics of the virtual board (`sim stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimStats {
    /// AP0 (CM7), AP1 (D3), AP2 (APB-D), AP3 (CM4).
    pub per_ap: [PortCounters; facts::ap::COUNT as usize],
    /// Accesses to APs that do not exist (APSEL >= 4, e.g. the AP scan's probe of AP4).
    pub other_ap: PortCounters,
    /// The debug port's own registers; also the round trips that address no register (line
    /// sequences, pins, attach, host status).
    pub dp: PortCounters,
    /// All probe round trips.
    pub round_trips: u64,
    /// All DAP transactions.
    pub transactions: u64,
}

impl SimStats {
    /// The counters of `port`.
    pub fn port(&self, port: PortId) -> &PortCounters {
        match port {
            PortId::Dp => &self.dp,
            PortId::Ap(n) => self.per_ap.get(usize::from(n)).unwrap_or(&self.other_ap),
        }
    }

    pub(crate) fn port_mut(&mut self, port: PortId) -> &mut PortCounters {
        match port {
            PortId::Dp => &mut self.dp,
            PortId::Ap(n) => self
                .per_ap
                .get_mut(usize::from(n))
                .unwrap_or(&mut self.other_ap),
        }
    }

    /// Sum over all ports.
    pub fn total(&self) -> PortCounters {
        let mut t = self.dp;
        for ap in &self.per_ap {
            t.add(ap);
        }
        t.add(&self.other_ap);
        t
    }
}

const AP_NAMES: [&str; facts::ap::COUNT as usize] = ["AP0 CM7", "AP1 D3", "AP2 APB-D", "AP3 CM4"];

impl fmt::Display for SimStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>12} {:>10} {:>10} {:>8} {:>8} {:>8} {:>11}",
            "port", "transactions", "reads", "writes", "WAIT", "FAULT", "no-ACK", "round trips"
        )?;
        let rows = std::iter::once(("DP", &self.dp))
            .chain(AP_NAMES.iter().copied().zip(self.per_ap.iter()))
            .chain(std::iter::once(("other AP", &self.other_ap)));
        let total = self.total();
        for (name, c) in rows.chain(std::iter::once(("total", &total))) {
            writeln!(
                f,
                "{:<10} {:>12} {:>10} {:>10} {:>8} {:>8} {:>8} {:>11}",
                name,
                c.transactions,
                c.reads,
                c.writes,
                c.waits,
                c.faults,
                c.no_acks,
                c.round_trips
            )?;
        }
        Ok(())
    }
}
