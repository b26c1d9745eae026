//! Why is AP3 (the Cortex-M4) unreachable? Reads the chip state that decides it through the
//! ports that still answer (AP0 and AP2) and names the cause, following the known causes of the
//! facts doc (`shared/design/STM32H7-DUALCORE.md`, "Known causes").

use super::facts::{ap, dbgmcu, flash, pwr, rcc};

/// The registers read for a diagnosis (None = could not be read).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ap3Evidence {
    pub flash_optsr_cur: Option<u32>,
    pub flash_boot4_cur: Option<u32>,
    pub rcc_gcr: Option<u32>,
    pub rcc_cr: Option<u32>,
    pub dbgmcu_cr: Option<u32>,
    /// PWR_CPU2CR: PDDS_D2 says whether D2's deep sleep is Standby (powered off) or Stop.
    pub pwr_cpu2cr: Option<u32>,
    /// CPUID as read through AP3 (0 on a gated core).
    pub cm4_cpuid: Option<u32>,
    /// The session connected under reset already: the hints do not suggest it again.
    pub connected_under_reset: bool,
}

/// A named cause with the text a user needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ap3Diagnosis {
    /// Stable id, shared with `doctor` findings.
    pub id: &'static str,
    pub cause: String,
    pub hint: String,
    pub evidence: Ap3Evidence,
}

fn bit(value: u32, (lsb, width): (u32, u32)) -> u32 {
    (value >> lsb) & ((1u32 << width) - 1)
}

/// Gathers the evidence with `read(ap, address)`, which returns None when the read fails.
pub fn gather(read: &mut dyn FnMut(u8, u64) -> Option<u32>) -> Ap3Evidence {
    Ap3Evidence {
        flash_optsr_cur: read(ap::CM7, flash::BASE + flash::OPTSR_CUR),
        flash_boot4_cur: read(ap::CM7, flash::BASE + flash::BOOT4_CUR),
        rcc_gcr: read(ap::CM7, rcc::BASE + rcc::GCR),
        rcc_cr: read(ap::CM7, rcc::BASE + rcc::CR),
        // Through AP2 as OpenOCD reads it; through AP0 at its system-bus address when AP2 does
        // not answer (an ST-LINK below V2J28 reaches AP0 only).
        dbgmcu_cr: read(ap::APB_D, dbgmcu::BASE_APBD + dbgmcu::CR)
            .or_else(|| read(ap::CM7, dbgmcu::BASE_SYSBUS + dbgmcu::CR)),
        pwr_cpu2cr: read(ap::CM7, pwr::BASE + pwr::CPU2CR),
        cm4_cpuid: None,
        connected_under_reset: false,
    }
}

/// Names the cause from the evidence.
pub fn diagnose(evidence: Ap3Evidence) -> Ap3Diagnosis {
    let bcm4 = evidence.flash_optsr_cur.map(|v| bit(v, flash::optsr::BCM4));
    let boot_c2 = evidence.rcc_gcr.map(|v| (v & rcc::GCR_BOOT_C2 != 0) as u32);
    let d2ckrdy = evidence.rcc_cr.map(|v| (v & rcc::CR_D2CKRDY != 0) as u32);
    let dbg_d2 = evidence
        .dbgmcu_cr
        .map(|v| v & (dbgmcu::DBGSTOP_D2 | dbgmcu::DBGSTBY_D2));
    let standby = evidence
        .pwr_cpu2cr
        .is_some_and(|v| v & pwr::CPUCR_PDDS_D2 != 0);
    let system_bus_silent = evidence.flash_optsr_cur.is_none()
        && evidence.rcc_cr.is_none()
        && evidence.rcc_gcr.is_none()
        && evidence.dbgmcu_cr.is_some();
    let (id, cause) = if system_bus_silent {
        // AP2 answers but nothing on the CM7's system bus does: the chip is in reset (NRST held
        // low: OpenOCD's stm32h7x.cfg, "the AXI is unavailable while SRST is asserted").
        (
            "chip-in-reset",
            "the CM7's system bus does not answer either (FLASH and RCC unreadable through AP0) \
             while the debug APB (AP2) does: the chip is held in reset, NRST low"
                .to_string(),
        )
    } else if bcm4 == Some(0) && boot_c2 == Some(0) {
        (
            "cm4-not-booted",
            "the CM4 is not booted: BCM4 option byte is 0 and RCC_GCR.BOOT_C2 is 0".to_string(),
        )
    } else if bcm4 == Some(1)
        && boot_c2 == Some(0)
        && d2ckrdy == Some(1)
        && evidence.cm4_cpuid == Some(0)
    {
        // BCM4 reads 1 but the CM4 is still gated: BCM4 was programmed since the last reset
        // (boot options are sampled at reset, RM0399 §4.4.3).
        (
            "cm4-boot-pending-reset",
            "the CM4 is not booted although BCM4 = 1: the option byte was programmed after the \
             last reset (CPUID reads 0 through AP3, RCC_GCR.BOOT_C2 = 0, D2 clock running)"
                .to_string(),
        )
    } else if d2ckrdy == Some(0) && standby {
        // Whatever DBGMCU says now: D2 powered off if DBGSTBY_D2 was 0 when it went down.
        (
            "d2-standby",
            "the D2 domain is in Standby (PWR_CPU2CR.PDDS_D2 = 1, RCC_CR.D2CKRDY = 0): powered \
             off unless DBGMCU_CR.DBGSTBY_D2 was set when it went down, so AP3 has nothing \
             behind it; when D2 wakes the CM4 restarts from its boot address (PWR_CPU2CR.SBF_D2)"
                .to_string(),
        )
    } else if d2ckrdy == Some(0) && dbg_d2 == Some(0) {
        (
            "d2-stop-debug-off",
            "the D2 domain is in Stop/Standby (RCC_CR.D2CKRDY = 0) and DBGMCU_CR.DBGSTOP_D2/DBGSTBY_D2 \
             are 0, so AP3 has no debug clock"
                .to_string(),
        )
    } else {
        let mut seen = Vec::new();
        if let Some(v) = bcm4 {
            seen.push(format!("BCM4 = {v}"));
        }
        if let Some(v) = boot_c2 {
            seen.push(format!("BOOT_C2 = {v}"));
        }
        if let Some(v) = d2ckrdy {
            seen.push(format!("D2CKRDY = {v}"));
        }
        if let Some(v) = evidence.dbgmcu_cr {
            seen.push(format!("DBGMCU_CR = {v:#010x}"));
        }
        let seen = if seen.is_empty() {
            "AP0 and AP2 could not be read either".to_string()
        } else {
            seen.join(", ")
        };
        (
            "ap3-unreachable-unknown",
            format!("no known cause found ({seen})"),
        )
    };
    let hint = hint(id, evidence.connected_under_reset);
    Ap3Diagnosis {
        id,
        cause,
        hint,
        evidence,
    }
}

/// The fix of an AP3 cause: commands a user can paste, and what they do. The one text per
/// cause: the AP3 error's hint, `doctor` and `report` all use it.
pub fn fix(id: &str, connected_under_reset: bool) -> (Vec<String>, String) {
    let or_under_reset = if connected_under_reset {
        ""
    } else {
        "; or connect with --connect-under-reset"
    };
    match id {
        "cm4-not-booted" => (
            vec!["ob set BCM4=1".into(), "reset".into()],
            "programs the CM4 boot option for good (acts at the reset); to release the CM4 \
             once, without changing option bytes: `write RCC_GCR.BOOT_C2 1`"
                .into(),
        ),
        "cm4-boot-pending-reset" => (
            vec!["reset".into()],
            "the boot logic samples BCM4 at reset; to release the CM4 without a reset: \
             `write RCC_GCR.BOOT_C2 1`"
                .into(),
        ),
        "d2-stop-debug-off" => (
            // Through AP0 (DBGMCU at 0x5C001000 on the CM7's bus), so the fix also works on
            // probes that reach AP0 only (ST-LINK/V2 below V2J28).
            vec!["write DBGMCU_CR DBGSTOP_D2=1 DBGSTBY_D2=1".into()],
            format!(
                "keeps the D2 debug clock on while the CM4 is in Stop/Standby (what IDEs do \
                 with \"debug in low-power modes\"; a field write that keeps DBGMCU_CR's other \
                 bits); works from AP0 on every probe{or_under_reset}"
            ),
        ),
        "chip-in-reset" => (
            vec!["status".into()],
            "shows the cores held in reset (DHCSR.S_RESET_ST); release NRST — the reset button, \
             the probe's reset line or a supervisor holding it (`sim nrst release` on the virtual \
             board) — and the CM4 answers again"
                .into(),
        ),
        "d2-standby" => (
            vec![
                "write DBGMCU_CR DBGSTOP_D2=1 DBGSTBY_D2=1".into(),
                "reset".into(),
            ],
            format!(
                "with DBGSTBY_D2 set D2 stays powered through Standby, so AP3 and the CM4's debug \
                 state survive it (the CM4 still restarts from its boot address when D2 wakes); \
                 the domain that is off now comes back only at a wake-up (for the ST template: \
                 the CM7 releasing HSEM 0), hence the reset; or make the CM4 firmware use Stop \
                 (HAL_PWREx_EnterSTOPMode) while debugging{or_under_reset}"
            ),
        ),
        _ => (
            vec!["info".into(), "status".into()],
            format!(
                "no known cause matched: check the CM4 boot address (`ob`) and the supply \
                 configuration (PWR_CR3){}, and post `report` output",
                if connected_under_reset {
                    "; `reset system halt` catches both cores at their reset vectors"
                } else {
                    "; try --connect-under-reset"
                }
            ),
        ),
    }
}

/// The hint of an AP3 error: the fix's commands, then what they do.
fn hint(id: &str, connected_under_reset: bool) -> String {
    let (commands, note) = fix(id, connected_under_reset);
    format!("`{}`: {note}", commands.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NRST held: AP0's system bus is silent, AP2 answers; that is the cause, not "unknown".
    #[test]
    fn a_silent_system_bus_with_ap2_answering_is_a_chip_in_reset() {
        let d = diagnose(Ap3Evidence {
            dbgmcu_cr: Some(0),
            ..Default::default()
        });
        assert_eq!(d.id, "chip-in-reset");
        assert!(d.hint.contains("NRST"), "{}", d.hint);
        // Nothing readable at all is still unknown.
        assert_eq!(
            diagnose(Ap3Evidence::default()).id,
            "ap3-unreachable-unknown"
        );
    }
}
