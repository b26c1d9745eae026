//! What a command produced: plain data, rendered as text or JSON by `render`.

use crate::target::{ApInfo, ChipIdentity, CoreStatus};
use serde::Serialize;

/// One decoded field of a register read.
#[derive(Debug, Clone, Serialize)]
pub struct FieldValue {
    /// Canonical PERIPH.REG.FIELD.
    pub name: String,
    pub address: u64,
    pub lsb: u32,
    pub width: u32,
    pub value: u64,
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_name: Option<String>,
    pub access: &'static str,
    /// Changed since the previous read of this register in this session.
    pub changed: bool,
}

/// A register read, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterValue {
    /// Canonical PERIPH.REG.
    pub name: String,
    pub address: u64,
    pub ap: u8,
    pub size: u32,
    pub value: u64,
    pub access: &'static str,
    /// Value of the previous read of this register, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<u64>,
    pub fields: Vec<FieldValue>,
}

/// A register `show` left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// One bus write a command made (or would make, with --dry-run).
#[derive(Debug, Clone, Serialize)]
pub struct WriteOp {
    pub address: u64,
    pub ap: u8,
    pub size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<u64>,
    pub new: u64,
    /// The register read back after the write, when it differs from what was written in the
    /// bits that should hold it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readback: Option<u64>,
    /// Fields (or `bits`) that do not read back as written: read-only, set-only or
    /// self-clearing in silicon whatever the SVD says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_taken: Vec<String>,
}

/// A `find` hit.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub name: String,
    pub kind: &'static str,
    pub address: u64,
    pub description: String,
}

/// One core in `status`.
#[derive(Debug, Clone, Serialize)]
pub struct CoreReport {
    pub core: &'static str,
    pub ap: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CoreStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// An access port as `ap` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ApEntry {
    pub ap: u8,
    pub label: &'static str,
    pub description: &'static str,
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Outcome {
    Register(RegisterValue),
    Field(FieldValue),
    Memory {
        ap: u8,
        address: u64,
        size: u32,
        values: Vec<u32>,
    },
    Written {
        target: String,
        writes: Vec<WriteOp>,
        dry_run: bool,
    },
    Ap {
        selected: u8,
        /// The whole table was asked for (`ap`), not a selection (`ap 3`).
        list: bool,
        aps: Vec<ApEntry>,
    },
    Peripheral {
        name: String,
        base: u64,
        registers: Vec<RegisterValue>,
        skipped: Vec<Skipped>,
    },
    Found {
        pattern: String,
        hits: Vec<Found>,
        /// Why descriptions are missing (the built-in register set has none).
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Info {
        probe: String,
        connection: String,
        wire: crate::target::WireInfo,
        svd: String,
        identity: ChipIdentity,
        aps: Vec<ApInfo>,
    },
    Status {
        cores: Vec<CoreReport>,
    },
    Core {
        action: &'static str,
        status: CoreStatus,
        /// The PC where a halt or step left the core (None if it did not stop or the register
        /// transfer failed).
        #[serde(skip_serializing_if = "Option::is_none")]
        pc: Option<u32>,
    },
    Registers {
        core: &'static str,
        registers: Vec<(String, u32)>,
    },
    CoreRegister {
        core: &'static str,
        name: String,
        /// 32 bits, or 64 for d0-d15.
        value: u64,
        /// The value as a float, for the FPU registers s0-s31 (f32) and d0-d15 (f64).
        #[serde(skip_serializing_if = "Option::is_none")]
        float: Option<f64>,
        written: bool,
    },
    Reset {
        kind: &'static str,
        halt: bool,
        halted: Vec<&'static str>,
    },
    Waited {
        target: String,
        value: u64,
        elapsed_ms: f64,
    },
    Help {
        text: String,
    },
    SimStats {
        stats: serde_json::Value,
        text: String,
    },
    Message {
        text: String,
    },
    Quit,
    /// Outcomes of the STM32H7 toolkit commands (`ob`, `doctor`, `report`, `snap`, `diff`).
    #[serde(untagged)]
    Toolkit(super::toolkit::ToolkitOutcome),
    /// Outcomes of `run`, `eval`, `record`.
    #[serde(untagged)]
    Script(super::scripting::ScriptOutcome),
}
