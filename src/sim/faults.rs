//! Faults injected on the wire, as named by a scenario's `[faults]` table.
//!
//! The chip parses them (they come with the scenario); the DAP model applies them, counting
//! DAP transactions from power-on of the probe connection.

/// A plan of wire faults.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultPlan {
    /// After this many DAP transactions the probe is unplugged: every later transaction fails
    /// as a probe that has gone away (USB error), until the board is opened again.
    pub unplug_after: Option<u64>,
    /// A burst of WAIT answers: starting at transaction `after`, `count` transactions answer WAIT.
    pub wait_burst: Option<WaitBurst>,
    /// Starting at transaction `after`, `count` transactions get no ACK (line protocol error).
    pub no_ack_burst: Option<WaitBurst>,
}

/// A run of consecutive transactions that get an abnormal answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WaitBurst {
    pub after: u64,
    pub count: u64,
}
