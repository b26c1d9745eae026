//! Chip knowledge for the paste-ready report: names of the boot-state bits (DBGMCU, RCC, PWR)
//! and revision names, from `facts`, plus small Markdown helpers. Works without any SVD.

use super::facts::{boot_state, dbgmcu, pwr, rcc};

/// (bit mask, RM0399 name) of the DBGMCU_CR bits that matter for dual-core debug (RM0399 §61.5.8).
pub const DBGMCU_CR_BITS: &[(u32, &str)] = &[
    (dbgmcu::DBGSLEEP_D1, "DBGSLEEP_D1"),
    (dbgmcu::DBGSTOP_D1, "DBGSTOP_D1"),
    (dbgmcu::DBGSTBY_D1, "DBGSTBY_D1"),
    (dbgmcu::DBGSLEEP_D2, "DBGSLEEP_D2"),
    (dbgmcu::DBGSTOP_D2, "DBGSTOP_D2"),
    (dbgmcu::DBGSTBY_D2, "DBGSTBY_D2"),
    (dbgmcu::DBGSTOP_D3, "DBGSTOP_D3"),
    (dbgmcu::DBGSTBY_D3, "DBGSTBY_D3"),
    (dbgmcu::TRACECLKEN, "TRACECLKEN"),
    (dbgmcu::D1DBGCKEN, "D1DBGCKEN"),
    (dbgmcu::D3DBGCKEN, "D3DBGCKEN"),
    (dbgmcu::TRGOEN, "TRGOEN"),
];

/// RCC_CR bits of the boot handshake (RM0399 §9.7.2).
pub const RCC_CR_BITS: &[(u32, &str)] = &[
    (rcc::CR_HSION, "HSION"),
    (rcc::CR_HSIRDY, "HSIRDY"),
    (rcc::CR_D1CKRDY, "D1CKRDY"),
    (rcc::CR_D2CKRDY, "D2CKRDY"),
];

/// RCC_GCR bits (RM0399 §9.7.x).
pub const RCC_GCR_BITS: &[(u32, &str)] = &[
    (rcc::GCR_WW1RSC, "WW1RSC"),
    (rcc::GCR_WW2RSC, "WW2RSC"),
    (rcc::GCR_BOOT_C1, "BOOT_C1"),
    (rcc::GCR_BOOT_C2, "BOOT_C2"),
];

/// RCC_RSR reset flags (RM0399 §9.7.x).
pub const RCC_RSR_BITS: &[(u32, &str)] = &[
    (rcc::RSR_C1RSTF, "C1RSTF"),
    (rcc::RSR_C2RSTF, "C2RSTF"),
    (rcc::RSR_D1RSTF, "D1RSTF"),
    (rcc::RSR_D2RSTF, "D2RSTF"),
    (rcc::RSR_BORRSTF, "BORRSTF"),
    (rcc::RSR_PINRSTF, "PINRSTF"),
    (rcc::RSR_PORRSTF, "PORRSTF"),
    (rcc::RSR_SFT1RSTF, "SFT1RSTF"),
    (rcc::RSR_SFT2RSTF, "SFT2RSTF"),
    (rcc::RSR_IWDG1RSTF, "IWDG1RSTF"),
    (rcc::RSR_IWDG2RSTF, "IWDG2RSTF"),
    (rcc::RSR_WWDG1RSTF, "WWDG1RSTF"),
    (rcc::RSR_WWDG2RSTF, "WWDG2RSTF"),
    (rcc::RSR_LPWR1RSTF, "LPWR1RSTF"),
    (rcc::RSR_LPWR2RSTF, "LPWR2RSTF"),
];

/// PWR_CR3 supply bits (RM0399 §7.8.4).
pub const PWR_CR3_BITS: &[(u32, &str)] = &[
    (pwr::CR3_BYPASS, "BYPASS"),
    (pwr::CR3_LDOEN, "LDOEN"),
    (pwr::CR3_SDEN, "SDEN"),
    (boot_state::CR3_SMPSEXTHP, "SMPSEXTHP"),
];

/// PWR_CSR1 (RM0399 §7.8.3).
pub const PWR_CSR1_BITS: &[(u32, &str)] = &[(pwr::CSR1_ACTVOSRDY, "ACTVOSRDY")];

/// PWR_CPUCR / PWR_CPU2CR (RM0399 §7.8.5).
pub const PWR_CPUCR_BITS: &[(u32, &str)] = &[
    (pwr::CPUCR_PDDS_D1, "PDDS_D1"),
    (pwr::CPUCR_PDDS_D2, "PDDS_D2"),
    (pwr::CPUCR_PDDS_D3, "PDDS_D3"),
    (pwr::CPUCR_STOPF, "STOPF"),
    (pwr::CPUCR_SBF, "SBF"),
    (pwr::CPUCR_SBF_D1, "SBF_D1"),
    (pwr::CPUCR_SBF_D2, "SBF_D2"),
];

/// `NAME=1 NAME=0 ...` for every named bit.
pub fn bits_text(value: u32, bits: &[(u32, &str)]) -> String {
    bits.iter()
        .map(|(m, n)| format!("{n}={}", u32::from(value & m != 0)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Device and revision names from DBGMCU_IDC.
pub fn idc_text(idc: u32) -> String {
    let dev = idc & 0xFFF;
    let rev = idc >> 16;
    let dev_name = if dev == dbgmcu::DEV_ID_H745_H755 {
        "STM32H745/H747/H755/H757 (dual-core)"
    } else {
        "not a dual-core STM32H7"
    };
    let rev_name = match rev {
        dbgmcu::REV_ID_Y => "rev Y",
        dbgmcu::REV_ID_V => "rev V",
        _ => "unknown revision",
    };
    format!("DEV_ID {dev:#05x} {dev_name}, REV_ID {rev:#06x} {rev_name}")
}

/// Core name and revision from a CPUID value.
pub fn cpuid_text(cpuid: u32) -> String {
    let partno = (cpuid >> 4) & 0xFFF;
    let variant = (cpuid >> 20) & 0xF;
    let revision = cpuid & 0xF;
    let core = match partno {
        super::facts::cpuid::PARTNO_CM7 => "Cortex-M7",
        super::facts::cpuid::PARTNO_CM4 => "Cortex-M4",
        0 => "no core answers (CPUID 0)",
        _ => "unknown core",
    };
    format!("{cpuid:#010x} {core} r{variant}p{revision}")
}

/// A Markdown table; cells have `|` escaped.
pub fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::new();
    out.push_str(&format!(
        "| {} |\n|{}|\n",
        header.join(" | "),
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    ));
    for r in rows {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            bits_text(dbgmcu::DBGSTOP_D2, &DBGMCU_CR_BITS[3..6]),
            "DBGSLEEP_D2=0 DBGSTOP_D2=1 DBGSTBY_D2=0"
        );
        assert!(idc_text(0x2003_6450).contains("rev V"));
        assert!(cpuid_text(0x410F_C241).contains("Cortex-M4 r0p1"));
        assert!(md_table(&["a", "b"], &[vec!["x|y".into(), "z".into()]]).contains("x\\|y"));
    }
}
