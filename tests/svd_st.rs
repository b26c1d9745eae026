//! ST SVDs (from `H7SH_SVD_DIR`): every file loads, and every defect listed in
//! `../shared/svd/README.md` is fixed after patching.

use std::path::PathBuf;
use std::sync::Arc;

use h7sh::svd::{load, Access, Device, LoadOptions, ModifiedWrite, Resolved};

const PARTS: [&str; 4] = ["STM32H745", "STM32H747", "STM32H755", "STM32H757"];

fn svd_dir(test: &str) -> Option<PathBuf> {
    h7sh::svd::testing::st_svd_dir_or_skip(test)
}

fn opts(file: PathBuf) -> LoadOptions {
    LoadOptions {
        svd: Some(file),
        use_cache: false,
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    }
}

fn h755(test: &str) -> Option<(Arc<Device>, Arc<Device>)> {
    let dir = svd_dir(test)?;
    let v = load(&opts(dir.join("STM32H755_CM7.svd"))).expect("STM32H755 loads");
    Some((v.cm7, v.cm4))
}

fn field(d: &Device, name: &str) -> (u64, u32, u32, Access) {
    match d.resolve(name) {
        Ok(Resolved::Field(f)) => {
            let r = d.register(f.reg);
            let fl = d.field(f);
            (r.address, fl.lsb, fl.width, fl.access)
        }
        other => panic!("{name}: {other:?}"),
    }
}

fn reg_addr(d: &Device, name: &str) -> u64 {
    match d.resolve(name) {
        Ok(Resolved::Register(r)) => d.register(r).address,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn all_eight_files_load_with_both_views() {
    let Some(dir) = svd_dir("all_eight_files_load_with_both_views") else {
        return;
    };
    for part in PARTS {
        let v = load(&opts(dir.join(format!("{part}_CM7.svd")))).expect(part);
        assert_eq!(v.cm7.cpu.as_deref(), Some("CM7"), "{part}");
        assert_eq!(
            v.cm4.cpu.as_deref(),
            Some("CM4"),
            "{part}: CM4 file picked beside CM7"
        );
        assert!(v.cm7.register_count() > 3000, "{part}");
        assert!(v.cm7.patches.iter().any(|p| p.contains("stm32h7-dualcore")));
        // And each file works as the explicit CM4 view and on its own.
        let v4 = load(&opts(dir.join(format!("{part}_CM4.svd")))).expect(part);
        assert!(v4.cm7.resolve("FLASH.OPTSR_PRG.BCM4").is_ok(), "{part}");
        assert!(v.source_line.contains(&format!("{part}_CM7.svd")));
        // One short line (issue 10 item 13): file, patches, where it came from.
        assert!(
            v.source_line.contains("+1 patch") && !v.source_line.contains('\n'),
            "{}",
            v.source_line
        );
    }
}

#[test]
fn flash_is_named_flash_and_lookup_ignores_case() {
    let Some((d, _)) = h755("flash_is_named_flash_and_lookup_ignores_case") else {
        return;
    };
    let Ok(Resolved::Peripheral(p)) = d.resolve("flash") else {
        panic!()
    };
    assert_eq!(d.peripheral(p).name, "FLASH");
    assert_eq!(d.resolve("Flash"), d.resolve("FLASH"));
}

#[test]
fn optsr_dual_core_bits() {
    let Some((d, d4)) = h755("optsr_dual_core_bits") else {
        return;
    };
    for dev in [&d, &d4] {
        assert_eq!(
            field(dev, "FLASH.OPTSR_CUR.BCM4"),
            (0x5200201C, 22, 1, Access::ReadOnly)
        );
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.BCM7").1, 23);
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.NRST_STOP_D2").1, 24);
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.NRST_STBY_D2").1, 25);
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.IWDG2_SW").1, 5);
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.IWDG1_SW").1, 4);
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.OPT_BUSY").1, 0);
        assert_eq!(field(dev, "FLASH.OPTSR_CUR.OPTCHANGEERR").1, 30);
        assert_eq!(
            field(dev, "FLASH.OPTSR_PRG.BCM4"),
            (0x52002020, 22, 1, Access::ReadWrite)
        );
        assert_eq!(field(dev, "FLASH.OPTSR_PRG.BCM7").1, 23);
        assert_eq!(field(dev, "FLASH.OPTSR_PRG.NRST_STOP_D2").1, 24);
        assert_eq!(field(dev, "FLASH.OPTSR_PRG.NRST_STBY_D2").1, 25);
        assert_eq!(field(dev, "FLASH.OPTSR_PRG.IWDG2_SW").1, 5);
    }
}

#[test]
fn boot_address_registers_per_core() {
    let Some((d, _)) = h755("boot_address_registers_per_core") else {
        return;
    };
    assert_eq!(reg_addr(&d, "FLASH.BOOT7_CUR"), 0x52002040);
    assert_eq!(reg_addr(&d, "FLASH.BOOT7_PRG"), 0x52002044);
    assert_eq!(reg_addr(&d, "FLASH.BOOT4_CUR"), 0x52002048);
    assert_eq!(reg_addr(&d, "FLASH.BOOT4_PRG"), 0x5200204C);
    assert_eq!(
        field(&d, "FLASH.BOOT7_PRG.BCM7_ADD0"),
        (0x52002044, 0, 16, Access::ReadWrite)
    );
    assert_eq!(field(&d, "FLASH.BOOT7_PRG.BCM7_ADD1").1, 16);
    assert_eq!(
        field(&d, "FLASH.BOOT4_CUR.BCM4_ADD0"),
        (0x52002048, 0, 16, Access::ReadOnly)
    );
    assert_eq!(
        field(&d, "FLASH.BOOT4_PRG.BCM4_ADD1"),
        (0x5200204C, 16, 16, Access::ReadWrite)
    );
    assert!(
        d.resolve("FLASH.BOOT_CURR").is_err(),
        "single-core layout removed"
    );
    assert!(
        d.resolve("FLASH.BOOT_PRGR").is_err(),
        "single-core layout removed"
    );
}

#[test]
fn prar_prg2_offset() {
    let Some((d, _)) = h755("prar_prg2_offset") else {
        return;
    };
    assert_eq!(reg_addr(&d, "FLASH.PRAR_PRG2"), 0x5200212C);
    assert_eq!(reg_addr(&d, "FLASH.PRAR_PRG1"), 0x5200202C);
}

#[test]
fn rcc_gcr_boot_bits() {
    let Some((d, _)) = h755("rcc_gcr_boot_bits") else {
        return;
    };
    assert_eq!(
        field(&d, "RCC.GCR.WW1RSC"),
        (0x580244A0, 0, 1, Access::ReadWrite)
    );
    assert_eq!(field(&d, "RCC.GCR.WW2RSC").1, 1);
    assert_eq!(field(&d, "RCC.GCR.BOOT_C1").1, 2);
    assert_eq!(field(&d, "RCC.GCR.BOOT_C2").1, 3);
}

#[test]
fn pwr_cpu2cr() {
    let Some((d, _)) = h755("pwr_cpu2cr") else {
        return;
    };
    assert_eq!(reg_addr(&d, "PWR.CPU2CR"), 0x58024814);
    for (f, bit) in [
        ("PDDS_D1", 0),
        ("PDDS_D2", 1),
        ("PDDS_D3", 2),
        ("STOPF", 5),
        ("SBF", 6),
        ("SBF_D1", 7),
        ("SBF_D2", 8),
    ] {
        assert_eq!(field(&d, &format!("PWR.CPU2CR.{f}")).1, bit, "{f}");
    }
}

#[test]
fn dbgmcu_cr_rm_names() {
    let Some((d, _)) = h755("dbgmcu_cr_rm_names") else {
        return;
    };
    for (f, bit) in [
        ("DBGSLEEP_D1", 0),
        ("DBGSTOP_D1", 1),
        ("DBGSTBY_D1", 2),
        ("DBGSLEEP_D2", 3),
        ("DBGSTOP_D2", 4),
        ("DBGSTBY_D2", 5),
        ("DBGSTOP_D3", 7),
        ("DBGSTBY_D3", 8),
        ("TRACECLKEN", 20),
        ("D1DBGCKEN", 21),
        ("D3DBGCKEN", 22),
        ("TRGOEN", 28),
    ] {
        let (addr, lsb, ..) = field(&d, &format!("DBGMCU.CR.{f}"));
        assert_eq!((addr, lsb), (0x5C001004, bit), "{f}");
    }
    assert!(
        d.resolve("DBGMCU.CR.DBGSTPD2").is_err(),
        "ST abbreviation replaced"
    );
}

#[test]
fn hsem_prefix_alias() {
    let Some((d, _)) = h755("hsem_prefix_alias") else {
        return;
    };
    let r = d.resolve("HSEM.HSEM_R0").unwrap();
    assert_eq!(d.resolve("HSEM.R0").unwrap(), r);
    assert_eq!(d.resolve("HSEM_R0").unwrap(), r);
    assert_eq!(reg_addr(&d, "hsem_r0"), 0x58026400);
    // RLRn reads take the semaphore: marked as a read side effect.
    let Ok(Resolved::Register(rl)) = d.resolve("HSEM.RLR5") else {
        panic!()
    };
    assert!(d.register(rl).read_side_effect);
}

#[test]
fn cortex_m_block_present() {
    let Some((d, d4)) = h755("cortex_m_block_present") else {
        return;
    };
    for dev in [&d, &d4] {
        assert_eq!(reg_addr(dev, "DCB.DHCSR"), 0xE000EDF0);
        assert_eq!(reg_addr(dev, "SCB.CPUID"), 0xE000ED00);
        assert_eq!(reg_addr(dev, "SCB.AIRCR"), 0xE000ED0C);
        assert_eq!(reg_addr(dev, "DCB.DEMCR"), 0xE000EDFC);
        assert_eq!(field(dev, "DCB.DEMCR.TRCENA").1, 24);
        assert_eq!(reg_addr(dev, "NVIC.ISER[1]"), 0xE000E104);
        assert_eq!(reg_addr(dev, "DWT.COMP[2]"), 0xE0001040);
        assert_eq!(reg_addr(dev, "FPB.FP_CTRL"), 0xE0002000);
        let Ok(Resolved::Field(f)) = dev.resolve("DCB.DHCSR.S_RESET_ST") else {
            panic!()
        };
        assert!(dev.field(f).read_side_effect);
    }
}

#[test]
fn bring_up_enums() {
    let Some((d, _)) = h755("bring_up_enums") else {
        return;
    };
    let en = |name: &str, v: &str| match d.resolve(name) {
        Ok(Resolved::Field(f)) => d.enum_value(f, v),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(en("FLASH.OPTSR_CUR.BCM4", "Enabled"), Some(1));
    assert_eq!(en("FLASH.OPTSR_PRG.BCM4", "disabled"), Some(0));
    assert_eq!(en("FLASH.OPTSR_PRG.BCM7", "ENABLED"), Some(1));
    assert_eq!(en("FLASH.OPTSR_PRG.RDP", "Level0"), Some(0xAA));
    assert_eq!(en("FLASH.OPTSR_PRG.RDP", "Level2"), Some(0xCC));
    assert_eq!(
        en("FLASH.OPTSR_PRG.RDP", "Level1"),
        None,
        "level 1 = any other value"
    );
    assert_eq!(en("RCC.GCR.BOOT_C2", "Force"), Some(1));
    assert_eq!(en("RCC.GCR.BOOT_C1", "NoForce"), Some(0));
    assert_eq!(en("DBGMCU.CR.DBGSTOP_D2", "Enabled"), Some(1));
    assert_eq!(en("FLASH.OPTSR_PRG.NRST_STOP_D2", "NoReset"), Some(1));
    assert_eq!(en("FLASH.OPTSR_PRG.IWDG2_SW", "Software"), Some(1));
    assert_eq!(en("FLASH.OPTSR_PRG.IWDG1_SW", "Hardware"), Some(0));
    assert_eq!(en("SYSCFG.UR1.BCM4", "Enabled"), Some(1));
    assert_eq!(en("HSEM.HSEM_R3.LOCK", "Locked"), Some(1));
}

#[test]
fn option_control_bits() {
    let Some((d, _)) = h755("option_control_bits") else {
        return;
    };
    assert_eq!(field(&d, "FLASH.OPTCR.OPTLOCK").1, 0);
    assert_eq!(field(&d, "FLASH.OPTCR.OPTSTART").1, 1);
    assert_eq!(field(&d, "FLASH.OPTCR.MER").1, 4);
    assert_eq!(field(&d, "FLASH.OPTCR.OPTCHANGEERRIE").1, 30);
    assert_eq!(field(&d, "FLASH.OPTCR.SWAP_BANK").1, 31);
    let (addr, lsb, _, acc) = field(&d, "FLASH.OPTCCR.CLR_OPTCHANGEERR");
    assert_eq!((addr, lsb, acc), (0x52002024, 30, Access::WriteOnly));
    let Ok(Resolved::Field(f)) = d.resolve("FLASH_OPTCCR.CLR_OPTCHANGEERR") else {
        panic!()
    };
    assert_eq!(d.field(f).modified_write, ModifiedWrite::OneToClear);
}

#[test]
fn cache_round_trip_keeps_both_views() {
    let Some(dir) = svd_dir("cache_round_trip_keeps_both_views") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let mut o = opts(dir.join("STM32H755_CM7.svd"));
    o.use_cache = true;
    o.cache_dir = Some(cache.path().to_path_buf());
    let fresh = load(&o).unwrap();
    assert!(!fresh.from_cache);
    let cached = load(&o).unwrap();
    assert!(cached.from_cache, "{}", cached.source_line);
    assert_eq!(cached.cm4.cpu.as_deref(), Some("CM4"));
    assert_eq!(cached.cm7.cpu.as_deref(), Some("CM7"));
    assert!(cached.cm7.peripherals == fresh.cm7.peripherals);
    assert!(cached.cm4.peripherals == fresh.cm4.peripherals);
    assert!(cached.cm7.peripherals != cached.cm4.peripherals);
    assert_eq!(
        cached.cm4.resolve("FLASH_OPTSR_PRG.BCM4"),
        fresh.cm4.resolve("FLASH_OPTSR_PRG.BCM4")
    );
}
