//! `doctor`: names the known option-byte and boot-state problems of the dual-core STM32H7 from
//! the registers read through whatever answers (AP0, AP2, AP3). Pure logic over the readings;
//! the session does the reads. The AP3 part is `h7::ap3`'s diagnosis, reused as is.
//!
//! One finding per cause (facts doc, "Known causes"). Where a cause and its symptom would both
//! show (an erased CM4 boot address makes the CM4 lock up), the cause is THE finding and the
//! symptom is part of its evidence: `cm4-lockup` is reported only when the boot vector looks
//! valid.

use super::ap3::Ap3Diagnosis;
use super::facts::{boot_state, dbgmcu, flash, pwr, rcc, scs};
use super::ob::get;
use serde::ser::SerializeMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn text(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Register name -> value, in the order read (serialized as a JSON object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence(pub Vec<(String, u64)>);

impl Evidence {
    pub fn add(&mut self, name: impl Into<String>, value: Option<u32>) {
        if let Some(v) = value {
            let name = name.into();
            if !self.0.iter().any(|(n, _)| *n == name) {
                self.0.push((name, u64::from(v)));
            }
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable id (`cm4-not-booted`, ...).
    pub id: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub evidence: Evidence,
    /// Shell commands that fix it, in order.
    pub fix: Vec<String>,
    /// What the fix does, or what else to do.
    pub note: String,
}

/// How the CM4 answered through AP3.
#[derive(Debug, Clone)]
pub enum Cm4Access {
    /// AP3 answered: DHCSR.
    Dhcsr(u32),
    /// AP3 attach failed: the diagnosis of `h7::ap3`.
    Unreachable(Ap3Diagnosis),
    /// Not tried (AP0 does not answer either, or a probe error).
    Unknown(String),
}

/// Everything `doctor` read. `None` = could not be read.
#[derive(Debug, Clone)]
pub struct Readings {
    pub optsr_cur: Option<u32>,
    pub boot7_cur: Option<u32>,
    pub boot4_cur: Option<u32>,
    pub rcc_cr: Option<u32>,
    pub rcc_gcr: Option<u32>,
    pub pwr_csr1: Option<u32>,
    pub pwr_cr3: Option<u32>,
    /// Through AP2.
    pub dbgmcu_idc: Option<u32>,
    pub dbgmcu_cr: Option<u32>,
    /// DBGMCU_APB4FZ1 and APB4FZ2: the watchdogs' freeze while a core is halted.
    pub dbgmcu_apb4fz: Option<[u32; 2]>,
    /// RCC_RSR as the CM7 side reads it (the reset flags).
    pub rcc_rsr: Option<u32>,
    pub cm7_cpuid: Option<u32>,
    pub cm7_dhcsr: Option<u32>,
    pub cm4: Cm4Access,
    /// Initial SP and reset vector at the CM7 / CM4 boot address (through AP0), when in flash.
    pub cm7_vector: Option<[u32; 2]>,
    pub cm4_vector: Option<[u32; 2]>,
}

/// The CM7 / CM4 boot address 0 from BOOTx_CUR.
pub fn boot_address(boot_cur: u32) -> u64 {
    u64::from(boot_cur & 0xFFFF) << flash::BOOT_ADDR_SHIFT
}

/// Whether a boot address is in flash (where an erased vector table can be read through AP0).
pub fn boot_address_in_flash(address: u64) -> bool {
    let (base, size) = boot_state::BOOT_FLASH;
    (base..base + size).contains(&address)
}

fn erased(v: Option<[u32; 2]>) -> bool {
    matches!(v, Some([sp, pc]) if sp == boot_state::ERASED_WORD || pc == boot_state::ERASED_WORD)
}

fn flag(v: Option<u32>, mask: u32) -> Option<bool> {
    v.map(|v| v & mask != 0)
}

struct Core {
    name: &'static str,
    bcm: (u32, u32),
    bcm_name: &'static str,
    boot_bit: u32,
    boot_bit_name: &'static str,
    boot_reg: &'static str,
    add0: &'static str,
}

const CM7: Core = Core {
    name: "CM7",
    bcm: flash::optsr::BCM7,
    bcm_name: "BCM7",
    boot_bit: rcc::GCR_BOOT_C1,
    boot_bit_name: "BOOT_C1",
    boot_reg: "FLASH_BOOT7_CUR",
    add0: "BCM7_ADD0",
};
const CM4: Core = Core {
    name: "CM4",
    bcm: flash::optsr::BCM4,
    bcm_name: "BCM4",
    boot_bit: rcc::GCR_BOOT_C2,
    boot_bit_name: "BOOT_C2",
    boot_reg: "FLASH_BOOT4_CUR",
    add0: "BCM4_ADD0",
};

/// The evidence of an AP3 diagnosis, named as registers.
pub fn ap3_evidence(d: &Ap3Diagnosis) -> Evidence {
    let e = &d.evidence;
    let mut ev = Evidence::default();
    ev.add("FLASH_OPTSR_CUR", e.flash_optsr_cur);
    ev.add("FLASH_BOOT4_CUR", e.flash_boot4_cur);
    ev.add("RCC_GCR", e.rcc_gcr);
    ev.add("RCC_CR", e.rcc_cr);
    ev.add("DBGMCU_CR", e.dbgmcu_cr);
    ev.add("PWR_CPU2CR", e.pwr_cpu2cr);
    ev.add("CM4_CPUID", e.cm4_cpuid);
    ev
}

fn not_booted(r: &Readings, core: &Core, cpuid_zero: bool) -> Option<Finding> {
    let bcm = r.optsr_cur.map(|v| get(v, core.bcm));
    let boot = flag(r.rcc_gcr, core.boot_bit);
    if bcm != Some(0) || boot != Some(false) {
        return None;
    }
    let mut ev = Evidence::default();
    ev.add("FLASH_OPTSR_CUR", r.optsr_cur);
    ev.add("RCC_GCR", r.rcc_gcr);
    if cpuid_zero {
        ev.add(format!("{}_CPUID", core.name), Some(0));
    }
    Some(Finding {
        id: if core.name == "CM7" {
            "cm7-not-booted"
        } else {
            "cm4-not-booted"
        },
        severity: Severity::Error,
        summary: format!(
            "the {} is not booted: {} option byte is 0 and RCC_GCR.{} is 0",
            core.name, core.bcm_name, core.boot_bit_name
        ),
        evidence: ev,
        fix: vec![format!("ob set {}=1", core.bcm_name), "reset".into()],
        note: format!(
            "programs the boot option for good (acts at the reset); to release the {} once: \
             `write RCC_GCR.{} 1`",
            core.name, core.boot_bit_name
        ),
    })
}

fn boot_erased(r: &Readings, core: &Core, vector: Option<[u32; 2]>) -> Option<Finding> {
    let boot_cur = if core.name == "CM7" {
        r.boot7_cur
    } else {
        r.boot4_cur
    }?;
    let bcm = r.optsr_cur.map(|v| get(v, core.bcm));
    let boot = flag(r.rcc_gcr, core.boot_bit);
    // Only when the core is meant to run.
    if bcm != Some(1) && boot != Some(true) {
        return None;
    }
    if !erased(vector) {
        return None;
    }
    let address = boot_address(boot_cur);
    let [sp, pc] = vector?;
    let mut ev = Evidence::default();
    ev.add(core.boot_reg, Some(boot_cur));
    ev.add(format!("[{address:#010x}] initial SP"), Some(sp));
    ev.add(format!("[{:#010x}] reset vector", address + 4), Some(pc));
    let dhcsr = if core.name == "CM7" {
        r.cm7_dhcsr
    } else if let Cm4Access::Dhcsr(d) = r.cm4 {
        Some(d)
    } else {
        None
    };
    ev.add(format!("{}_DHCSR", core.name), dhcsr);
    let lockup = flag(dhcsr, scs::S_LOCKUP) == Some(true);
    let (default_addr, id) = if core.name == "CM7" {
        (flash::BOOT7_FACTORY & 0xFFFF, "cm7-boot-address-erased")
    } else {
        (flash::BOOT4_FACTORY & 0xFFFF, "cm4-boot-address-erased")
    };
    Some(Finding {
        id,
        severity: Severity::Error,
        summary: format!(
            "the {} boot address {address:#010x} ({} = {:#06x}) points at erased flash{}",
            core.name,
            core.add0,
            boot_cur & 0xFFFF,
            if lockup {
                "; the core is in lockup (DHCSR.S_LOCKUP = 1)"
            } else {
                ""
            }
        ),
        evidence: ev,
        fix: vec![
            format!("ob set {}={default_addr:#06x}", core.add0),
            "reset".into(),
        ],
        note: format!(
            "points the {} back at the address the ST template links it to ({:#010x}); or \
             program an image at {address:#010x}",
            core.name,
            u64::from(default_addr) << flash::BOOT_ADDR_SHIFT
        ),
    })
}

fn lockup(core: &Core, dhcsr: Option<u32>, boot_cur: Option<u32>) -> Option<Finding> {
    if flag(dhcsr, scs::S_LOCKUP) != Some(true) {
        return None;
    }
    let mut ev = Evidence::default();
    ev.add(format!("{}_DHCSR", core.name), dhcsr);
    ev.add(core.boot_reg, boot_cur);
    let core_arg = core.name.to_ascii_lowercase();
    Some(Finding {
        id: if core.name == "CM7" {
            "cm7-lockup"
        } else {
            "cm4-lockup"
        },
        severity: Severity::Error,
        summary: format!(
            "the {} is in lockup (DHCSR.S_LOCKUP = 1): a fault inside a fault handler, or an \
             invalid vector table",
            core.name
        ),
        evidence: ev,
        fix: vec![
            format!("core {core_arg}"),
            "reset core halt".into(),
            "regs".into(),
        ],
        note: "catches the core at its reset vector to step into the fault; check the vector \
               table at the boot address (`ob`) and the fault status (CFSR 0xE000ED28, HFSR \
               0xE000ED2C)"
            .into(),
    })
}

/// IWDG1/IWDG2 made hardware watchdogs by their option byte (IWDGx_SW = 0) run from every reset:
/// a firmware that never refreshes them resets the chip in a loop, and a core halted longer than
/// the timeout is reset unless DBGMCU freezes them (the ST community thread "STM32H755 IWDG1
/// hardware watchdog in a continuous reboot"). An error once RCC_RSR shows the reset, a warning
/// while they would not stand still for a halted core.
fn hardware_watchdogs(r: &Readings) -> Option<Finding> {
    let optsr = r.optsr_cur?;
    let watchdogs = [
        (
            "IWDG1",
            flash::optsr::IWDG1_SW,
            rcc::RSR_IWDG1RSTF,
            dbgmcu::FZ_WDGLSD1,
        ),
        (
            "IWDG2",
            flash::optsr::IWDG2_SW,
            rcc::RSR_IWDG2RSTF,
            dbgmcu::FZ_WDGLSD2,
        ),
    ];
    let mut hardware = Vec::new();
    let mut fired = false;
    let mut unfrozen = false;
    for (name, sw, rstf, fz) in watchdogs {
        if get(optsr, sw) != 0 {
            continue;
        }
        hardware.push(name);
        fired |= r.rcc_rsr.is_some_and(|v| v & rstf != 0);
        unfrozen |= r
            .dbgmcu_apb4fz
            .is_some_and(|f| f.iter().any(|v| v & fz == 0));
    }
    if hardware.is_empty() || !(fired || unfrozen) {
        return None;
    }
    let mut ev = Evidence::default();
    ev.add("FLASH_OPTSR_CUR", r.optsr_cur);
    ev.add("RCC_RSR", r.rcc_rsr);
    ev.add("DBGMCU_APB4FZ1", r.dbgmcu_apb4fz.map(|f| f[0]));
    ev.add("DBGMCU_APB4FZ2", r.dbgmcu_apb4fz.map(|f| f[1]));
    let names = hardware.join(" and ");
    let what = if fired {
        "and has already reset the chip (RCC_RSR.IWDGxRSTF)"
    } else {
        "and keeps counting while a core is halted (DBGMCU_APB4FZx.DBG_WDGLSDx = 0): a halt \
         longer than its timeout (512 ms at reset) ends in a system reset"
    };
    Some(Finding {
        id: "iwdg-hardware",
        severity: if fired {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: format!(
            "{names} run{} from every reset (option byte IWDGx_SW = 0: hardware watchdog) {what}",
            if hardware.len() == 1 { "s" } else { "" }
        ),
        evidence: ev,
        fix: hardware
            .iter()
            .map(|n| format!("ob set {n}_SW=1"))
            .chain(["reset".to_string()])
            .collect(),
        note: "makes it a software watchdog, started by the firmware only (its firmware must \
               then start it); to keep the hardware watchdog and still halt the cores, freeze \
               it while they are halted, as OpenOCD does: `write DBGMCU_APB4FZ1 DBG_WDGLSD1=1 \
               DBG_WDGLSD2=1; write DBGMCU_APB4FZ2 DBG_WDGLSD1=1 DBG_WDGLSD2=1`; a reset loop \
               too fast to connect: --connect-under-reset or BOOT0 = 1"
            .into(),
    })
}

/// All findings from the readings, most severe first.
pub fn diagnose(r: &Readings) -> Vec<Finding> {
    let mut out = Vec::new();
    // The supply first: when it is wrong, everything else is a symptom.
    if let (Some(csr1), Some(cr3)) = (r.pwr_csr1, r.pwr_cr3) {
        if csr1 & pwr::CSR1_ACTVOSRDY == 0 {
            let mut ev = Evidence::default();
            ev.add("PWR_CR3", Some(cr3));
            ev.add("PWR_CSR1", Some(csr1));
            let supply = match (cr3 & pwr::CR3_SDEN != 0, cr3 & pwr::CR3_LDOEN != 0) {
                (true, true) => "SMPS feeding the LDO",
                (true, false) => "direct SMPS",
                (false, true) => "LDO",
                (false, false) => "no regulator (bypass)",
            };
            out.push(Finding {
                id: "supply-config",
                severity: Severity::Error,
                summary: format!(
                    "the supply configuration does not match the board: PWR_CR3 selects {supply} \
                     and PWR_CSR1.ACTVOSRDY = 0 (voltage scaling never became ready)"
                ),
                evidence: ev,
                fix: vec!["reset system halt".into(), "status".into()],
                note: "PWR_CR3 is write-once after power-on: power-cycle, connect with \
                       --connect-under-reset, and flash firmware whose SystemClock_Config uses \
                       the board's supply (NUCLEO-H755ZI-Q: PWR_DIRECT_SMPS_SUPPLY)"
                    .into(),
            });
        }
    }
    let cm7_cpuid_zero = r.cm7_cpuid == Some(0);
    if let Some(f) = not_booted(r, &CM7, cm7_cpuid_zero) {
        out.push(f);
    }
    // The CM4: AP3 unreachable is diagnosed by h7::ap3 (cm4-not-booted, d2-stop-debug-off,
    // ap3-unreachable-unknown).
    let mut ap3_unknown = None;
    match &r.cm4 {
        Cm4Access::Unreachable(d) => {
            let (fix, note) = crate::h7::ap3::fix(d.id, d.evidence.connected_under_reset);
            let finding = Finding {
                id: d.id,
                severity: Severity::Error,
                summary: format!("AP3 (Cortex-M4) is unreachable: {}", d.cause),
                evidence: ap3_evidence(d),
                fix,
                note,
            };
            if d.id == "ap3-unreachable-unknown" {
                ap3_unknown = Some(finding);
            } else {
                out.push(finding);
            }
        }
        Cm4Access::Dhcsr(_) | Cm4Access::Unknown(_) => {}
    }
    let cm4_dhcsr = match r.cm4 {
        Cm4Access::Dhcsr(d) => Some(d),
        _ => None,
    };
    let rdp1 = r
        .optsr_cur
        .map(|v| get(v, flash::optsr::RDP))
        .filter(|rdp| *rdp != flash::RDP_LEVEL0 && *rdp != flash::RDP_LEVEL2);
    let locked_up = [r.cm7_dhcsr, cm4_dhcsr].map(|d| flag(d, scs::S_LOCKUP) == Some(true));
    if let (Some(rdp), true) = (rdp1, locked_up.contains(&true)) {
        // RM0399 §4.5.3: at level 1 a debug connection locks the flash for the CPUs too, until
        // a power-on reset; the lockups are that, not the firmware.
        let mut ev = Evidence::default();
        ev.add("FLASH_OPTSR_CUR", r.optsr_cur);
        ev.add("CM7_DHCSR", r.cm7_dhcsr);
        ev.add("CM4_DHCSR", cm4_dhcsr);
        out.push(Finding {
            id: "rdp1-debug-lock",
            severity: Severity::Error,
            summary: format!(
                "readout protection level 1 (RDP = {rdp:#04x}) with a debugger connected: the \
                 flash is locked for the cores too, so they locked up at their next flash fetch \
                 (DHCSR.S_LOCKUP); a reset does not bring the firmware back"
            ),
            evidence: ev,
            fix: vec!["ob set RDP=Level0".into()],
            note: "to run the firmware as it is, power-cycle without the probe (the lock lasts \
                   until a power-on reset and returns as soon as a debugger attaches); going back \
                   to level 0 MASS-ERASES both flash banks, reprogram the firmware afterwards"
                .into(),
        });
        return finish(out, None);
    }
    match boot_erased(r, &CM7, r.cm7_vector) {
        Some(f) => out.push(f),
        None => out.extend(lockup(&CM7, r.cm7_dhcsr, r.boot7_cur)),
    }
    match boot_erased(r, &CM4, r.cm4_vector) {
        Some(f) => out.push(f),
        None => out.extend(lockup(&CM4, cm4_dhcsr, r.boot4_cur)),
    }
    out.extend(hardware_watchdogs(r));
    if let Some(rdp) = rdp1 {
        let mut ev = Evidence::default();
        ev.add("FLASH_OPTSR_CUR", r.optsr_cur);
        out.push(Finding {
            id: "rdp-level1",
            severity: Severity::Warning,
            summary: format!(
                "readout protection level 1 (RDP = {rdp:#04x}): the debugger connects but flash \
                 reads are refused"
            ),
            evidence: ev,
            fix: vec!["ob set RDP=Level0".into()],
            note: "going back to level 0 MASS-ERASES both flash banks; reprogram the firmware \
                   afterwards"
                .into(),
        });
    }
    finish(out, ap3_unknown)
}

/// `out` most severe first, with the unexplained-AP3 finding only when nothing else explains it.
fn finish(mut out: Vec<Finding>, ap3_unknown: Option<Finding>) -> Vec<Finding> {
    if let Some(f) = ap3_unknown {
        if !out.iter().any(|f| f.severity == Severity::Error) {
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.severity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h7::ap3;

    fn healthy() -> Readings {
        Readings {
            optsr_cur: Some(flash::OPTSR_FACTORY),
            boot7_cur: Some(flash::BOOT7_FACTORY),
            boot4_cur: Some(flash::BOOT4_FACTORY),
            rcc_cr: Some(rcc::CR_D1CKRDY | rcc::CR_D2CKRDY),
            rcc_gcr: Some(0),
            pwr_csr1: Some(pwr::CSR1_ACTVOSRDY),
            pwr_cr3: Some(pwr::CR3_SDEN),
            dbgmcu_idc: Some(0x2003_6450),
            dbgmcu_cr: Some(0),
            dbgmcu_apb4fz: Some([0, 0]),
            rcc_rsr: Some(rcc::RSR_PORRSTF | rcc::RSR_PINRSTF),
            cm7_cpuid: Some(crate::h7::facts::cpuid::CM7),
            cm7_dhcsr: Some(0x0100_0000),
            cm4: Cm4Access::Dhcsr(0x0100_0000),
            cm7_vector: Some([0x2002_0000, 0x0800_0299]),
            cm4_vector: Some([0x1004_8000, 0x0810_0299]),
        }
    }

    #[test]
    fn healthy_has_no_findings() {
        assert!(diagnose(&healthy()).is_empty());
    }

    #[test]
    fn erased_boot_is_the_finding_not_the_lockup() {
        let mut r = healthy();
        r.cm4 = Cm4Access::Dhcsr(scs::S_LOCKUP | scs::C_DEBUGEN);
        r.cm4_vector = Some([u32::MAX, u32::MAX]);
        let f = diagnose(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "cm4-boot-address-erased");
        r.cm4_vector = Some([0x1004_8000, 0x0810_0299]);
        let f = diagnose(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "cm4-lockup");
    }

    #[test]
    fn unknown_ap3_only_when_nothing_explains_it() {
        let mut r = healthy();
        let d = ap3::diagnose(ap3::Ap3Evidence {
            flash_optsr_cur: r.optsr_cur,
            rcc_cr: r.rcc_cr,
            rcc_gcr: r.rcc_gcr,
            dbgmcu_cr: Some(0x30),
            ..Default::default()
        });
        assert_eq!(d.id, "ap3-unreachable-unknown");
        r.cm4 = Cm4Access::Unreachable(d);
        assert_eq!(diagnose(&r)[0].id, "ap3-unreachable-unknown");
        r.pwr_csr1 = Some(0);
        let f = diagnose(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "supply-config");
    }

    #[test]
    fn cm7_not_booted() {
        let mut r = healthy();
        r.optsr_cur = r.optsr_cur.map(|v| v & !(1 << 23));
        r.cm7_cpuid = Some(0);
        let f = diagnose(&r);
        assert_eq!(f[0].id, "cm7-not-booted");
        assert_eq!(f.len(), 1);
    }
}
