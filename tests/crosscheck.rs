//! Every register address and bit the virtual board models (h7::facts), checked against ST's own
//! SVD in H7SH_SVD_DIR, unpatched. Where ST's file is wrong or silent (its README lists the
//! defects), the entry is checked against h7sh's patched view instead, and the raw file is checked
//! to really lack it, so a fixed upstream file makes this test say so.

use h7sh::h7::facts::{dbgmcu, flash, hsem, pwr, rcc, syscfg};
use std::collections::HashMap;
use svd_parser::svd::{Device, MaybeArray};

/// (peripheral, register) -> (address, fields name -> (lsb, width)).
type Map = HashMap<(String, String), (u64, HashMap<String, (u32, u32)>)>;

fn raw_st_map() -> Option<Map> {
    let dir = h7sh::svd::testing::st_svd_dir_or_skip("the cross-check against ST's SVD")?;
    let xml = std::fs::read_to_string(dir.join("STM32H755_CM7.svd")).expect("read ST SVD");
    let mut cfg = svd_parser::Config::default();
    cfg.expand = true;
    let dev: Device = svd_parser::parse_with_config(&xml, &cfg).expect("parse ST SVD");
    let mut map = Map::new();
    for p in &dev.peripherals {
        for r in p.all_registers() {
            let MaybeArray::Single(r) = r else { continue };
            let fields = r
                .fields()
                .map(|f| {
                    (
                        f.name.to_ascii_uppercase(),
                        (f.bit_range.offset, f.bit_range.width),
                    )
                })
                .collect();
            map.insert(
                (p.name.to_ascii_uppercase(), r.name.to_ascii_uppercase()),
                (p.base_address + u64::from(r.address_offset), fields),
            );
        }
    }
    Some(map)
}

fn bits(mask: u32) -> (u32, u32) {
    (mask.trailing_zeros(), mask.count_ones())
}

struct Check {
    periph: &'static str,
    reg: &'static str,
    address: u64,
    fields: Vec<(&'static str, (u32, u32))>,
}

fn c(
    periph: &'static str,
    reg: &'static str,
    address: u64,
    fields: Vec<(&'static str, (u32, u32))>,
) -> Check {
    Check {
        periph,
        reg,
        address,
        fields,
    }
}

fn present_in_st() -> Vec<Check> {
    use flash::optsr as o;
    vec![
        c("FLASH", "OPTKEYR", flash::BASE + flash::OPTKEYR, vec![]),
        c(
            "FLASH",
            "OPTCR",
            flash::BASE + flash::OPTCR,
            vec![
                ("OPTLOCK", bits(flash::OPTCR_OPTLOCK)),
                ("OPTSTART", bits(flash::OPTCR_OPTSTART)),
                ("MER", bits(flash::OPTCR_MER)),
                ("OPTCHANGEERRIE", bits(flash::OPTCR_OPTCHANGEERRIE)),
                ("SWAP_BANK", bits(flash::OPTCR_SWAP_BANK)),
            ],
        ),
        c(
            "FLASH",
            "OPTSR_CUR",
            flash::BASE + flash::OPTSR_CUR,
            vec![
                ("OPT_BUSY", o::OPT_BUSY),
                ("BOR_LEV", o::BOR_LEV),
                // ST spells RM0399's IWDG1_SW as IWDG1_HW, same bit.
                ("IWDG1_HW", o::IWDG1_SW),
                ("NRST_STOP_D1", o::NRST_STOP_D1),
                ("NRST_STBY_D1", o::NRST_STBY_D1),
                ("RDP", o::RDP),
                ("FZ_IWDG_STOP", o::FZ_IWDG_STOP),
                ("FZ_IWDG_SDBY", o::FZ_IWDG_SDBY),
                ("ST_RAM_SIZE", o::ST_RAM_SIZE),
                ("SECURITY", o::SECURITY),
                ("IO_HSLV", o::IO_HSLV),
                ("OPTCHANGEERR", o::OPTCHANGEERR),
                ("SWAP_BANK_OPT", o::SWAP_BANK_OPT),
            ],
        ),
        c(
            "FLASH",
            "OPTSR_PRG",
            flash::BASE + flash::OPTSR_PRG,
            vec![("RDP", o::RDP), ("SWAP_BANK_OPT", o::SWAP_BANK_OPT)],
        ),
        c(
            "FLASH",
            "OPTCCR",
            flash::BASE + flash::OPTCCR,
            vec![("CLR_OPTCHANGEERR", bits(flash::CLR_OPTCHANGEERR))],
        ),
        c("FLASH", "PRAR_CUR1", flash::BASE + flash::PRAR_CUR1, vec![]),
        c("FLASH", "PRAR_PRG1", flash::BASE + flash::PRAR_PRG1, vec![]),
        c("FLASH", "SCAR_CUR1", flash::BASE + flash::SCAR_CUR1, vec![]),
        c("FLASH", "SCAR_PRG1", flash::BASE + flash::SCAR_PRG1, vec![]),
        c(
            "FLASH",
            "WPSN_CUR1R",
            flash::BASE + flash::WPSN_CUR1R,
            vec![],
        ),
        c(
            "FLASH",
            "WPSN_PRG1R",
            flash::BASE + flash::WPSN_PRG1R,
            vec![],
        ),
        c(
            "RCC",
            "CR",
            rcc::BASE + rcc::CR,
            vec![
                ("HSION", bits(rcc::CR_HSION)),
                ("HSIRDY", bits(rcc::CR_HSIRDY)),
                ("D1CKRDY", bits(rcc::CR_D1CKRDY)),
                ("D2CKRDY", bits(rcc::CR_D2CKRDY)),
            ],
        ),
        c(
            "RCC",
            "GCR",
            rcc::BASE + rcc::GCR,
            vec![("WW1RSC", bits(rcc::GCR_WW1RSC))],
        ),
        c(
            "RCC",
            "RSR",
            rcc::BASE + rcc::RSR,
            vec![
                ("RMVF", bits(rcc::RSR_RMVF)),
                ("IWDG1RSTF", bits(rcc::RSR_IWDG1RSTF)),
                ("WWDG1RSTF", bits(rcc::RSR_WWDG1RSTF)),
                ("D1RSTF", bits(rcc::RSR_D1RSTF)),
                ("D2RSTF", bits(rcc::RSR_D2RSTF)),
                ("BORRSTF", bits(rcc::RSR_BORRSTF)),
                ("PINRSTF", bits(rcc::RSR_PINRSTF)),
                ("PORRSTF", bits(rcc::RSR_PORRSTF)),
            ],
        ),
        c("RCC", "C1_RSR", rcc::BASE + rcc::C1_RSR, vec![]),
        c("PWR", "CR1", pwr::BASE + pwr::CR1, vec![]),
        c(
            "PWR",
            "CSR1",
            pwr::BASE + pwr::CSR1,
            vec![("ACTVOSRDY", bits(pwr::CSR1_ACTVOSRDY))],
        ),
        c(
            "PWR",
            "CR3",
            pwr::BASE + pwr::CR3,
            vec![
                ("BYPASS", bits(pwr::CR3_BYPASS)),
                ("LDOEN", bits(pwr::CR3_LDOEN)),
                ("SDEN", bits(pwr::CR3_SDEN)),
            ],
        ),
        c(
            "PWR",
            "CPUCR",
            pwr::BASE + pwr::CPUCR,
            vec![
                ("PDDS_D1", bits(pwr::CPUCR_PDDS_D1)),
                ("PDDS_D2", bits(pwr::CPUCR_PDDS_D2)),
                ("PDDS_D3", bits(pwr::CPUCR_PDDS_D3)),
                ("STOPF", bits(pwr::CPUCR_STOPF)),
                ("SBF", bits(pwr::CPUCR_SBF)),
                ("SBF_D1", bits(pwr::CPUCR_SBF_D1)),
                ("SBF_D2", bits(pwr::CPUCR_SBF_D2)),
            ],
        ),
        c(
            "DBGMCU",
            "IDC",
            dbgmcu::BASE_SYSBUS + dbgmcu::IDC,
            vec![("DEV_ID", (0, 12)), ("REV_ID", (16, 16))],
        ),
        // ST names the low-power bits differently (a README defect), at the same positions.
        c(
            "DBGMCU",
            "CR",
            dbgmcu::BASE_SYSBUS + dbgmcu::CR,
            vec![
                ("DBGSLPD1", bits(dbgmcu::DBGSLEEP_D1)),
                ("DBGSTPD1", bits(dbgmcu::DBGSTOP_D1)),
                ("DBGSTBD1", bits(dbgmcu::DBGSTBY_D1)),
                ("DBGSLPD2", bits(dbgmcu::DBGSLEEP_D2)),
                ("DBGSTPD2", bits(dbgmcu::DBGSTOP_D2)),
                ("DBGSTBD2", bits(dbgmcu::DBGSTBY_D2)),
                ("TRACECLKEN", bits(dbgmcu::TRACECLKEN)),
                ("D1DBGCKEN", bits(dbgmcu::D1DBGCKEN)),
                ("D3DBGCKEN", bits(dbgmcu::D3DBGCKEN)),
                ("TRGOEN", bits(dbgmcu::TRGOEN)),
            ],
        ),
        c(
            "HSEM",
            "HSEM_R0",
            hsem::BASE + hsem::R0,
            vec![
                ("LOCK", bits(hsem::LOCK)),
                ("COREID", (hsem::COREID_SHIFT, 4)),
                ("PROCID", (0, 8)),
            ],
        ),
        c("HSEM", "HSEM_RLR0", hsem::BASE + hsem::RLR0, vec![]),
        c("HSEM", "HSEM_C1IER", hsem::BASE + hsem::C1IER, vec![]),
        c("HSEM", "HSEM_C1ICR", hsem::BASE + hsem::C1ICR, vec![]),
        c("HSEM", "HSEM_C1ISR", hsem::BASE + hsem::C1ISR, vec![]),
        c("HSEM", "HSEM_C1MISR", hsem::BASE + hsem::C1MISR, vec![]),
        c("HSEM", "HSEM_C2IER", hsem::BASE + hsem::C2IER, vec![]),
        c("HSEM", "HSEM_C2ICR", hsem::BASE + hsem::C2ICR, vec![]),
        c("HSEM", "HSEM_C2ISR", hsem::BASE + hsem::C2ISR, vec![]),
        c("HSEM", "HSEM_C2MISR", hsem::BASE + hsem::C2MISR, vec![]),
        c("HSEM", "HSEM_CR", hsem::BASE + hsem::CR, vec![]),
        c("HSEM", "HSEM_KEYR", hsem::BASE + hsem::KEYR, vec![]),
        c("SYSCFG", "UR0", syscfg::BASE + syscfg::UR0, vec![]),
        c(
            "SYSCFG",
            "UR1",
            syscfg::BASE + syscfg::UR0 + 4,
            vec![
                ("BCM4", bits(syscfg::UR1_BCM4)),
                ("BCM7", bits(syscfg::UR1_BCM7)),
            ],
        ),
    ]
}

#[test]
fn facts_agree_with_st_svd_where_st_has_them() {
    let Some(map) = raw_st_map() else { return };
    let mut problems = Vec::new();
    for chk in present_in_st() {
        // ST spells the flash peripheral `Flash` (a README defect); the map is upper-cased.
        let key = (chk.periph.to_string(), chk.reg.to_string());
        let Some((addr, fields)) = map.get(&key) else {
            problems.push(format!("{}.{} not in ST's SVD", chk.periph, chk.reg));
            continue;
        };
        if *addr != chk.address {
            problems.push(format!(
                "{}.{}: facts {:#x}, ST {:#x}",
                chk.periph, chk.reg, chk.address, addr
            ));
        }
        for (name, want) in &chk.fields {
            match fields.get(*name) {
                Some(got) if got == want => {}
                Some(got) => problems.push(format!(
                    "{}.{}.{name}: facts {want:?}, ST {got:?}",
                    chk.periph, chk.reg
                )),
                None => problems.push(format!("{}.{}.{name} not in ST's SVD", chk.periph, chk.reg)),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn known_st_defects_are_absent_raw_and_fixed_by_our_patches() {
    let Some(map) = raw_st_map() else { return };
    use flash::optsr as o;
    let get = |p: &str, r: &str| map.get(&(p.to_string(), r.to_string()));
    // Dual-core OPTSR bits: absent in ST's file.
    let optsr = &get("FLASH", "OPTSR_CUR").expect("OPTSR_CUR").1;
    for name in ["BCM4", "BCM7", "NRST_STOP_D2", "NRST_STBY_D2", "IWDG2_SW"] {
        assert!(
            !optsr.contains_key(name),
            "ST's SVD now has OPTSR_CUR.{name}: drop the patch"
        );
    }
    assert!(
        get("FLASH", "BOOT4_CUR").is_none(),
        "ST's SVD now has BOOT4_CUR"
    );
    assert!(
        get("PWR", "CPU2CR").is_none(),
        "ST's SVD now has PWR_CPU2CR"
    );
    assert!(!get("RCC", "GCR").unwrap().1.contains_key("BOOT_C2"));
    // Per-core reset flags: ST has the single-core layout and no C2_RSR.
    assert!(get("RCC", "RSR").unwrap().1.contains_key("CPURSTF"));
    assert!(
        get("RCC", "C2_RSR").is_none(),
        "ST's SVD now has RCC_C2_RSR"
    );

    // The patched view has each of them where facts.rs puts them.
    let views = h7sh::svd::load(&h7sh::svd::LoadOptions {
        svd: Some(
            h7sh::svd::testing::st_svd_dir()
                .expect("raw_st_map found it")
                .join("STM32H755_CM7.svd"),
        ),
        use_cache: false,
        ..Default::default()
    })
    .expect("load patched ST SVD");
    let dev = &views.cm7;
    let field = |name: &str| -> (u64, u32, u32) {
        match dev.resolve(name).unwrap_or_else(|e| panic!("{name}: {e}")) {
            h7sh::svd::Resolved::Field(f) => {
                let fl = dev.field(f);
                (dev.register(f.reg).address, fl.lsb, fl.width)
            }
            other => panic!("{name} is not a field: {other:?}"),
        }
    };
    let cur = flash::BASE + flash::OPTSR_CUR;
    for (name, (lsb, w)) in [
        ("BCM4", o::BCM4),
        ("BCM7", o::BCM7),
        ("NRST_STOP_D2", o::NRST_STOP_D2),
        ("NRST_STBY_D2", o::NRST_STBY_D2),
        ("IWDG2_SW", o::IWDG2_SW),
    ] {
        assert_eq!(
            field(&format!("FLASH_OPTSR_CUR.{name}")),
            (cur, lsb, w),
            "{name}"
        );
    }
    assert_eq!(
        field("FLASH_BOOT4_PRG.BCM4_ADD0"),
        (flash::BASE + flash::BOOT4_PRG, 0, 16)
    );
    assert_eq!(
        field("FLASH_BOOT7_CUR.BCM7_ADD0"),
        (flash::BASE + flash::BOOT7_CUR, 0, 16)
    );
    assert_eq!(field("RCC_GCR.BOOT_C2"), (rcc::BASE + rcc::GCR, 3, 1));
    assert_eq!(field("RCC_GCR.BOOT_C1"), (rcc::BASE + rcc::GCR, 2, 1));
    for reg in ["RSR", "C1_RSR", "C2_RSR"] {
        let at = rcc::BASE
            + match reg {
                "RSR" => rcc::RSR,
                "C1_RSR" => rcc::C1_RSR,
                _ => rcc::C2_RSR,
            };
        for (name, mask) in [
            ("C1RSTF", rcc::RSR_C1RSTF),
            ("C2RSTF", rcc::RSR_C2RSTF),
            ("SFT1RSTF", rcc::RSR_SFT1RSTF),
            ("SFT2RSTF", rcc::RSR_SFT2RSTF),
            ("IWDG1RSTF", rcc::RSR_IWDG1RSTF),
            ("IWDG2RSTF", rcc::RSR_IWDG2RSTF),
            ("WWDG1RSTF", rcc::RSR_WWDG1RSTF),
            ("WWDG2RSTF", rcc::RSR_WWDG2RSTF),
            ("LPWR1RSTF", rcc::RSR_LPWR1RSTF),
            ("LPWR2RSTF", rcc::RSR_LPWR2RSTF),
        ] {
            assert_eq!(
                field(&format!("RCC_{reg}.{name}")),
                (at, mask.trailing_zeros(), 1),
                "RCC_{reg}.{name}"
            );
        }
    }
    assert_eq!(field("PWR_CPU2CR.PDDS_D2"), (pwr::BASE + pwr::CPU2CR, 1, 1));
    assert_eq!(
        field("DBGMCU_CR.DBGSTOP_D2"),
        (dbgmcu::BASE_SYSBUS + dbgmcu::CR, 4, 1)
    );
    assert_eq!(
        field("DBGMCU_CR.DBGSTBY_D2"),
        (dbgmcu::BASE_SYSBUS + dbgmcu::CR, 5, 1)
    );
}
