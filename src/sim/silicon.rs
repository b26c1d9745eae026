//! Behaviours of the chip that public sources do not settle. The model picks the most likely
//! answer; a scenario's `[silicon]` table flips it, so a user who knows better (or holds a part
//! that behaves otherwise) can make the virtual board fail as theirs does. Each setting lists its
//! choices, the model's default and why (docs/sim.md, "Fidelity").

use std::collections::BTreeMap;

/// How a bus access that cannot complete is answered on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusAnswer {
    /// The transfer completes: reads return 0, writes vanish.
    Zeros,
    /// The AP reports an error: the probe sees FAULT (STICKYERR).
    Fault,
    /// The transfer never completes: the probe sees WAIT until it aborts (ABORT.DAPABORT).
    Wait,
}

impl BusAnswer {
    const CHOICES: &'static [&'static str] = &["zeros", "fault", "wait"];

    fn parse(v: &str) -> Option<BusAnswer> {
        match v {
            "zeros" => Some(BusAnswer::Zeros),
            "fault" => Some(BusAnswer::Fault),
            "wait" => Some(BusAnswer::Wait),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BusAnswer::Zeros => "zeros",
            BusAnswer::Fault => "fault",
            BusAnswer::Wait => "wait",
        }
    }
}

/// What a PWR_CR3 supply configuration that does not match the board does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupplyMismatch {
    /// VCORE collapses: the chip locks up and the debug port stops answering until a power-on
    /// reset (ST's recovery: BOOT0 = 1, power cycle, erase).
    Lockup,
    /// The firmware spins waiting for ACTVOSRDY; the debug port keeps answering.
    Stuck,
}

/// Which core runs when the option bytes boot neither (BCM4 = BCM7 = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BothOff {
    Cm7,
    None,
}

/// The `[silicon]` settings of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silicon {
    /// AP3 while D2 is in Stop/Standby without DBGSTOP_D2/DBGSTBY_D2.
    pub unclocked_ap: BusAnswer,
    /// AP0/AP3 while their core is gated by BCM7/BCM4 = 0.
    pub gated_ap: BusAnswer,
    /// System-bus accesses through AP0, AP1, AP3 while NRST is held (the PPB still answers).
    pub nrst_bus: BusAnswer,
    /// Trace components on AP2 (SWO, funnels, TPIU) with DBGMCU_CR.D1DBGCKEN/D3DBGCKEN = 0.
    pub trace_clock_off: BusAnswer,
    /// Which core boots with BCM4 = BCM7 = 0.
    pub both_boot_off: BothOff,
    /// RCC_CR.D2CKRDY stays 1 while the CM4 is in D2 Stop with DBGMCU_CR.DBGSTOP_D2 = 1.
    pub d2ckrdy_in_debug_stop: bool,
    /// RDP level 1: once a debugger powers the debug port up, the flash is locked for the CPUs
    /// too until a power-on reset.
    pub rdp1_debug_lock: bool,
    /// A supply configuration that does not match the board.
    pub supply_mismatch: SupplyMismatch,
}

impl Default for Silicon {
    fn default() -> Self {
        Silicon {
            unclocked_ap: BusAnswer::Fault,
            gated_ap: BusAnswer::Zeros,
            nrst_bus: BusAnswer::Fault,
            trace_clock_off: BusAnswer::Zeros,
            both_boot_off: BothOff::Cm7,
            d2ckrdy_in_debug_stop: false,
            rdp1_debug_lock: true,
            supply_mismatch: SupplyMismatch::Lockup,
        }
    }
}

/// One `[silicon]` key: its choices and what it decides.
pub struct Setting {
    pub key: &'static str,
    pub choices: &'static [&'static str],
    pub question: &'static str,
}

/// Every `[silicon]` key.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "unclocked_ap",
        choices: BusAnswer::CHOICES,
        question: "what AP3 answers while D2 is in Stop/Standby without its DBGMCU debug bit",
    },
    Setting {
        key: "gated_ap",
        choices: BusAnswer::CHOICES,
        question: "what AP0/AP3 answer while their core is gated by BCM7/BCM4 = 0",
    },
    Setting {
        key: "nrst_bus",
        choices: BusAnswer::CHOICES,
        question: "what a system-bus access through AP0/AP1/AP3 answers while NRST is held",
    },
    Setting {
        key: "trace_clock_off",
        choices: BusAnswer::CHOICES,
        question: "what the trace components on AP2 answer with D1DBGCKEN/D3DBGCKEN = 0",
    },
    Setting {
        key: "both_boot_off",
        choices: &["cm7", "none"],
        question: "which core boots when BCM4 = BCM7 = 0",
    },
    Setting {
        key: "d2ckrdy_in_debug_stop",
        choices: &["false", "true"],
        question: "whether RCC_CR.D2CKRDY stays 1 in D2 Stop when DBGSTOP_D2 = 1",
    },
    Setting {
        key: "rdp1_debug_lock",
        choices: &["true", "false"],
        question: "whether a debug connection at RDP level 1 locks the flash for the CPUs",
    },
    Setting {
        key: "supply_mismatch",
        choices: &["lockup", "stuck"],
        question: "whether a supply configuration that does not match the board loses the \
                   debug port",
    },
];

impl Silicon {
    /// The settings a `[silicon]` table names, over the defaults. Errors are (key, reason).
    pub fn from_table(table: &BTreeMap<String, toml::Value>) -> Result<Silicon, (String, String)> {
        let mut s = Silicon::default();
        for (key, value) in table {
            let full = format!("silicon.{key}");
            let Some(setting) = SETTINGS.iter().find(|st| st.key == key) else {
                let known: Vec<_> = SETTINGS.iter().map(|st| st.key).collect();
                return Err((
                    full,
                    format!("unknown key, expected one of {}", known.join(", ")),
                ));
            };
            let text = match value {
                toml::Value::String(v) => v.clone(),
                toml::Value::Boolean(b) => b.to_string(),
                other => other.to_string(),
            };
            let bad = || {
                (
                    full.clone(),
                    format!("`{text}`: expected {}", setting.choices.join(" or ")),
                )
            };
            if !setting.choices.contains(&text.as_str()) {
                return Err(bad());
            }
            match key.as_str() {
                "unclocked_ap" => s.unclocked_ap = BusAnswer::parse(&text).ok_or_else(bad)?,
                "gated_ap" => s.gated_ap = BusAnswer::parse(&text).ok_or_else(bad)?,
                "nrst_bus" => s.nrst_bus = BusAnswer::parse(&text).ok_or_else(bad)?,
                "trace_clock_off" => s.trace_clock_off = BusAnswer::parse(&text).ok_or_else(bad)?,
                "both_boot_off" => {
                    s.both_boot_off = if text == "cm7" {
                        BothOff::Cm7
                    } else {
                        BothOff::None
                    }
                }
                "d2ckrdy_in_debug_stop" => s.d2ckrdy_in_debug_stop = text == "true",
                "rdp1_debug_lock" => s.rdp1_debug_lock = text == "true",
                "supply_mismatch" => {
                    s.supply_mismatch = if text == "lockup" {
                        SupplyMismatch::Lockup
                    } else {
                        SupplyMismatch::Stuck
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(s)
    }

    /// The settings that differ from the model's defaults, as `key = value`.
    pub fn overrides(&self) -> Vec<String> {
        let d = Silicon::default();
        let mut out = Vec::new();
        let mut bus = |key: &str, v: BusAnswer, dv: BusAnswer| {
            if v != dv {
                out.push(format!("{key} = \"{}\"", v.name()));
            }
        };
        bus("unclocked_ap", self.unclocked_ap, d.unclocked_ap);
        bus("gated_ap", self.gated_ap, d.gated_ap);
        bus("nrst_bus", self.nrst_bus, d.nrst_bus);
        bus("trace_clock_off", self.trace_clock_off, d.trace_clock_off);
        if self.both_boot_off != d.both_boot_off {
            out.push("both_boot_off = \"none\"".into());
        }
        if self.d2ckrdy_in_debug_stop != d.d2ckrdy_in_debug_stop {
            out.push(format!(
                "d2ckrdy_in_debug_stop = {}",
                self.d2ckrdy_in_debug_stop
            ));
        }
        if self.rdp1_debug_lock != d.rdp1_debug_lock {
            out.push(format!("rdp1_debug_lock = {}", self.rdp1_debug_lock));
        }
        if self.supply_mismatch != d.supply_mismatch {
            out.push("supply_mismatch = \"stuck\"".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn every_key_parses_and_reads_back_as_an_override() {
        let s = Silicon::from_table(&table(
            "unclocked_ap = \"wait\"\ngated_ap = \"fault\"\nnrst_bus = \"zeros\"\n\
             trace_clock_off = \"fault\"\nboth_boot_off = \"none\"\n\
             d2ckrdy_in_debug_stop = true\nrdp1_debug_lock = false\n\
             supply_mismatch = \"stuck\"\n",
        ))
        .unwrap();
        assert_eq!(s.unclocked_ap, BusAnswer::Wait);
        assert_eq!(s.gated_ap, BusAnswer::Fault);
        assert_eq!(s.nrst_bus, BusAnswer::Zeros);
        assert_eq!(s.trace_clock_off, BusAnswer::Fault);
        assert_eq!(s.both_boot_off, BothOff::None);
        assert!(s.d2ckrdy_in_debug_stop);
        assert!(!s.rdp1_debug_lock);
        assert_eq!(s.supply_mismatch, SupplyMismatch::Stuck);
        assert_eq!(s.overrides().len(), SETTINGS.len());
        assert!(Silicon::default().overrides().is_empty());
    }

    #[test]
    fn unknown_keys_and_values_name_the_key_and_the_choices() {
        let (key, reason) = Silicon::from_table(&table("nrst_bus = \"maybe\"")).unwrap_err();
        assert_eq!(key, "silicon.nrst_bus");
        assert!(reason.contains("zeros or fault or wait"), "{reason}");
        let (key, reason) = Silicon::from_table(&table("nrst = \"fault\"")).unwrap_err();
        assert_eq!(key, "silicon.nrst");
        assert!(reason.contains("nrst_bus"), "{reason}");
        let (_, reason) = Silicon::from_table(&table("rdp1_debug_lock = 1")).unwrap_err();
        assert!(reason.contains("true or false"), "{reason}");
    }
}
