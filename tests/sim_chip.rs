//! The virtual chip through the Bus trait: memory maps, plain peripherals, option bytes, boot.

use h7sh::h7::facts::{ap, dbgmcu, flash as fl, mem, rcc, scs, syscfg};
use h7sh::sim::bus::{ApPower, Bus, BusError, Size};
use h7sh::sim::chip::{ap_base, ap_idr, Chip, CM4, CM7};

mod chip_util;
use chip_util::{chip, r, w};

const OPTCR: u64 = fl::BASE + fl::OPTCR;
const OPTSR_CUR: u64 = fl::BASE + fl::OPTSR_CUR;
const OPTSR_PRG: u64 = fl::BASE + fl::OPTSR_PRG;
const OPTKEYR: u64 = fl::BASE + fl::OPTKEYR;
const BCM4: u32 = 1 << 22;
const OPT_BUSY: u32 = 1;
const OPTCHANGEERR: u32 = 1 << 30;

fn unlock(c: &mut Chip) {
    w(c, ap::CM7, OPTKEYR, fl::OPTKEY1);
    w(c, ap::CM7, OPTKEYR, fl::OPTKEY2);
}

#[test]
fn ram_per_ap_views() {
    let mut c = chip("nucleo-h755zi-q");
    // ITCM/DTCM only through AP0.
    w(&mut c, ap::CM7, mem::DTCM.0, 0x1234_5678);
    assert_eq!(r(&mut c, ap::CM7, mem::DTCM.0), 0x1234_5678);
    assert_eq!(
        c.read(ap::CM4, mem::DTCM.0 as u32, Size::U32),
        Err(BusError::Unmapped(mem::DTCM.0 as u32))
    );
    // Unwritten RAM reads zero; AXI SRAM is shared by AP0 and AP3.
    assert_eq!(r(&mut c, ap::CM7, mem::AXI_SRAM.0 + 0x100), 0);
    w(&mut c, ap::CM7, mem::AXI_SRAM.0 + 0x100, 0xCAFE_F00D);
    // Let the template run so AP3 is reachable: the CM4 is in D2 Stop, so give it DBGSTOP_D2.
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::PROBE_RS_ATTACH_CR,
    );
    assert_eq!(r(&mut c, ap::CM4, mem::AXI_SRAM.0 + 0x100), 0xCAFE_F00D);
    // SRAM1 through the CM4's 0x10000000 alias.
    w(&mut c, ap::CM4, 0x1000_0010, 0xAB);
    assert_eq!(r(&mut c, ap::CM7, mem::SRAM1.0 + 0x10), 0xAB);
    // SRAM4 through the D3 AP; AP1 sees no AXI SRAM.
    w(&mut c, ap::D3, mem::SRAM4.0, 7);
    assert_eq!(r(&mut c, ap::CM7, mem::SRAM4.0), 7);
    assert!(matches!(
        c.read(ap::D3, mem::AXI_SRAM.0 as u32, Size::U32),
        Err(BusError::Unmapped(_))
    ));
    // Byte and halfword lanes.
    c.write(ap::CM7, 0x2400_0001, Size::U8, 0x5A).unwrap();
    c.write(ap::CM7, 0x2400_0002, Size::U16, 0xBEEF).unwrap();
    assert_eq!(r(&mut c, ap::CM7, 0x2400_0000), 0xBEEF_5A00);
    assert_eq!(c.read(ap::CM7, 0x2400_0002, Size::U16), Ok(0xBEEF));
    // Misaligned and unmapped.
    assert!(matches!(
        c.read(ap::CM7, 0x2400_0001, Size::U32),
        Err(BusError::Refused(_))
    ));
    assert_eq!(
        c.read(ap::CM7, 0x9000_0000, Size::U32),
        Err(BusError::Unmapped(0x9000_0000))
    );
    assert!(c.read(ap::APB_D, 0x2400_0000, Size::U32).is_err());
    assert!(c.read(4, 0, Size::U32).is_err());
}

#[test]
fn flash_reads_and_refuses_writes() {
    let mut c = chip("nucleo-h755zi-q");
    assert_eq!(r(&mut c, ap::CM7, 0x0800_0000), 0x2002_0000);
    assert_eq!(r(&mut c, ap::CM7, 0x0800_0004), 0x0800_02C1);
    assert_eq!(r(&mut c, ap::CM7, 0x0804_0000), 0xFFFF_FFFF);
    assert_eq!(
        c.write(ap::CM7, 0x0800_0000, Size::U32, 0),
        Err(BusError::Refused(0x0800_0000))
    );
}

#[test]
fn plain_peripheral_registers() {
    let mut c = chip("nucleo-h755zi-q");
    let gpioa_odr = 0x5802_0014;
    assert_eq!(r(&mut c, ap::CM7, gpioa_odr), 0);
    w(&mut c, ap::CM7, gpioa_odr, 0xA5A5);
    assert_eq!(r(&mut c, ap::CM7, gpioa_odr), 0xA5A5);
    assert_eq!(
        r(&mut c, ap::D3, gpioa_odr),
        0xA5A5,
        "same peripheral through AP1"
    );
    c.write(ap::CM7, gpioa_odr as u32 + 1, Size::U8, 0xFF)
        .unwrap();
    assert_eq!(r(&mut c, ap::CM7, gpioa_odr), 0xFFA5);
    // A system reset clears peripheral registers.
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    assert_eq!(r(&mut c, ap::CM7, gpioa_odr), 0);
}

#[test]
fn ap_identity_and_rom_tables() {
    let mut c = chip("nucleo-h755zi-q");
    assert_eq!(ap_idr(0), 0x8477_0001);
    assert_eq!(ap_idr(2), 0x5477_0002);
    assert_eq!(ap_base(0) & !0xFFF, 0xE00F_E000);
    // AP0: ST ROM → CM7 ROM → SCS.
    let st = 0xE00F_E000u64;
    assert_eq!(r(&mut c, ap::CM7, st + 0xFF4), 0x10, "class 1 ROM table");
    let e = r(&mut c, ap::CM7, st);
    let core_rom = (st as u32).wrapping_add(e & 0xFFFF_F000);
    assert_eq!(core_rom, 0xE00F_F000);
    // Then the CM7's ETM (part 0x975) and CTI (0x906), as pyOCD lists real H745 parts.
    let target = |c: &mut Chip, ap: u8, table: u64, i: u64| {
        let e = r(c, ap, table + 4 * i);
        ((table as u32).wrapping_add(e & 0xFFFF_F000), e & 1 == 1)
    };
    assert_eq!(target(&mut c, ap::CM7, st, 1), (0xE004_1000, true));
    assert_eq!(target(&mut c, ap::CM7, st, 2), (0xE004_3000, true));
    assert_eq!(r(&mut c, ap::CM7, st + 12), 0, "end of table");
    assert_eq!(r(&mut c, ap::CM7, 0xE004_3FE0), 0x06, "CTI part 0x906");
    assert_eq!(
        r(&mut c, ap::CM7, 0xE004_1FE0),
        0,
        "ETM silent without TRCENA"
    );
    w(&mut c, ap::CM7, scs::DEMCR, scs::TRCENA);
    assert_eq!(r(&mut c, ap::CM7, 0xE004_1FE0), 0x75, "ETM part 0x975");
    assert_eq!(r(&mut c, ap::CM7, 0xE004_1FBC), 0x4770_4A13, "ETM DEVARCH");
    let e = r(&mut c, ap::CM7, u64::from(core_rom));
    assert_eq!(core_rom.wrapping_add(e & 0xFFFF_F000), 0xE000_E000);
    // The core table's TPIU and ETM slots are listed not present.
    let core = u64::from(core_rom);
    assert_eq!(target(&mut c, ap::CM7, core, 4), (0xE004_0000, false));
    assert_eq!(target(&mut c, ap::CM7, core, 5), (0xE004_1000, false));
    assert_eq!(r(&mut c, ap::CM7, 0xE000_EFE0), 0x0C, "SCS part number");
    assert_eq!(r(&mut c, ap::CM7, 0xE000_EFF4), 0xE0, "SCS is generic IP");
    // AP2: the system ROM table lists SWO, its funnel and a second table (CTI, CoreSight funnel,
    // ETF, TPIU, not-present entries); DBGMCU is no entry. The trace components identify once
    // their debug clocks are on (D1DBGCKEN, D3DBGCKEN), and read zeros before.
    let sys = 0xE00E_0000;
    assert_eq!(target(&mut c, ap::APB_D, sys, 0), (0xE00E_3000, true));
    assert_eq!(target(&mut c, ap::APB_D, sys, 2), (0xE00F_0000, true));
    let sys2 = 0xE00F_0000;
    assert_eq!(target(&mut c, ap::APB_D, sys2, 1), (0xE00F_2000, false));
    assert_eq!(target(&mut c, ap::APB_D, sys2, 3), (0xE00F_4000, true));
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_3FE0), 0);
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::D1DBGCKEN | dbgmcu::D3DBGCKEN,
    );
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_3FE0), 0x08);
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_3FE4) & 0xF, 0x9);
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_3FCC), 0x12);
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_4FE0), 0x61, "ETF part 0x961");
    // TPIU registers are plain, IDs read-only.
    w(&mut c, ap::APB_D, 0xE00F_5010, 3);
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_5010), 3);
    w(&mut c, ap::APB_D, 0xE00F_5FE0, 0);
    assert_eq!(r(&mut c, ap::APB_D, 0xE00F_5FE0), 0x12);
}

#[test]
fn dbgmcu_same_device_on_two_buses() {
    let mut c = chip("nucleo-h755zi-q");
    assert_eq!(
        r(&mut c, ap::APB_D, dbgmcu::BASE_APBD + dbgmcu::IDC),
        0x2003_0450
    );
    assert_eq!(
        r(&mut c, ap::CM7, dbgmcu::BASE_SYSBUS + dbgmcu::IDC),
        0x2003_0450
    );
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::PROBE_RS_ATTACH_CR,
    );
    assert_eq!(
        r(&mut c, ap::CM7, dbgmcu::BASE_SYSBUS + dbgmcu::CR),
        dbgmcu::PROBE_RS_ATTACH_CR
    );
}

#[test]
fn option_bytes_program_and_act_at_reset() {
    let mut c = chip("bcm4-off");
    assert_eq!(r(&mut c, ap::CM7, OPTSR_CUR) & BCM4, 0);
    // PRG writes are ignored while locked.
    let prg = r(&mut c, ap::CM7, OPTSR_PRG);
    w(&mut c, ap::CM7, OPTSR_PRG, prg | BCM4);
    assert_eq!(r(&mut c, ap::CM7, OPTSR_PRG) & BCM4, 0);
    unlock(&mut c);
    assert_eq!(r(&mut c, ap::CM7, OPTCR) & fl::OPTCR_OPTLOCK, 0);
    w(&mut c, ap::CM7, OPTSR_PRG, prg | BCM4);
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_OPTSTART);
    assert_eq!(r(&mut c, ap::CM7, OPTSR_CUR) & OPT_BUSY, OPT_BUSY);
    c.wait_ms(1);
    assert_eq!(
        r(&mut c, ap::CM7, OPTSR_CUR) & OPT_BUSY,
        OPT_BUSY,
        "still busy"
    );
    assert_eq!(r(&mut c, ap::CM7, OPTSR_CUR) & BCM4, 0);
    c.wait_ms(10);
    let cur = r(&mut c, ap::CM7, OPTSR_CUR);
    assert_eq!(cur & (OPT_BUSY | OPTCHANGEERR), 0);
    assert_eq!(cur & BCM4, BCM4);
    let ur1 = syscfg::BASE + syscfg::UR0 + 4;
    assert_eq!(r(&mut c, ap::CM7, ur1) & syscfg::UR1_BCM4, syscfg::UR1_BCM4);
    // Acts only at the next reset: the CM4 is still gated.
    assert_eq!(c.ap_power(ap::CM4), ApPower::Gated);
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    assert_ne!(c.ap_power(ap::CM4), ApPower::Gated);
    // SYSRESETREQ from the CM7: SFT1RSTF in both cores' copies.
    assert_eq!(
        r(&mut c, ap::CM7, rcc::BASE + rcc::RSR) & rcc::RSR_SFT1RSTF,
        rcc::RSR_SFT1RSTF
    );
    w(&mut c, ap::CM7, rcc::BASE + rcc::RSR, rcc::RSR_RMVF);
    assert_eq!(r(&mut c, ap::CM7, rcc::BASE + rcc::RSR), 0);
    assert_ne!(
        r(&mut c, ap::CM7, rcc::BASE + rcc::C2_RSR) & rcc::RSR_SFT1RSTF,
        0,
        "RMVF from the CM7's side leaves the CM4's copy"
    );
    assert_eq!(r(&mut c, ap::CM4, scs::CPUID), 0x410F_C241);
}

#[test]
fn wrong_key_locks_until_reset() {
    let mut c = chip("nucleo-h755zi-q");
    w(&mut c, ap::CM7, OPTKEYR, fl::OPTKEY2); // wrong order
    w(&mut c, ap::CM7, OPTKEYR, fl::OPTKEY1);
    w(&mut c, ap::CM7, OPTKEYR, fl::OPTKEY2);
    assert_eq!(
        r(&mut c, ap::CM7, OPTCR) & fl::OPTCR_OPTLOCK,
        fl::OPTCR_OPTLOCK
    );
    // OPTSTART while locked: OPTCHANGEERR, cleared through OPTCCR.
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_OPTSTART);
    assert_eq!(r(&mut c, ap::CM7, OPTSR_CUR) & OPTCHANGEERR, OPTCHANGEERR);
    w(&mut c, ap::CM7, fl::BASE + fl::OPTCCR, fl::CLR_OPTCHANGEERR);
    assert_eq!(r(&mut c, ap::CM7, OPTSR_CUR) & OPTCHANGEERR, 0);
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    unlock(&mut c);
    assert_eq!(r(&mut c, ap::CM7, OPTCR) & fl::OPTCR_OPTLOCK, 0);
    // Relock by OPTLOCK.
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_OPTLOCK);
    assert_eq!(
        r(&mut c, ap::CM7, OPTCR) & fl::OPTCR_OPTLOCK,
        fl::OPTCR_OPTLOCK
    );
}

#[test]
fn boot_address_acts_at_next_reset() {
    let mut c = chip("nucleo-h755zi-q");
    unlock(&mut c);
    let boot4 = fl::BASE + fl::BOOT4_PRG;
    let v = r(&mut c, ap::CM7, boot4);
    w(&mut c, ap::CM7, boot4, (v & 0xFFFF_0000) | 0x0818);
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_OPTSTART);
    c.wait_ms(10);
    assert_eq!(
        r(&mut c, ap::CM7, fl::BASE + fl::BOOT4_CUR) & 0xFFFF,
        0x0818
    );
    assert!(!c.core_status(CM4).unwrap().lockup);
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    assert!(c.core_status(CM4).unwrap().lockup);
}

#[test]
fn rdp_level1_refuses_flash_and_regression_mass_erases() {
    let mut c = chip("rdp1");
    assert_eq!(
        c.read(ap::CM7, 0x0800_0000, Size::U32),
        Err(BusError::Refused(0x0800_0000))
    );
    assert!(c
        .read(ap::CM7, mem::BACKUP_SRAM.0 as u32, Size::U32)
        .is_err());
    assert!(c.read(ap::CM7, mem::AXI_SRAM.0 as u32, Size::U32).is_ok());
    unlock(&mut c);
    let prg = r(&mut c, ap::CM7, OPTSR_PRG);
    w(
        &mut c,
        ap::CM7,
        OPTSR_PRG,
        (prg & !0xFF00) | (fl::RDP_LEVEL0 << 8),
    );
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_OPTSTART);
    // The regression erases both banks first: seconds, with OPT_BUSY set all along.
    c.wait_ms(10);
    assert_ne!(
        r(&mut c, ap::CM7, fl::BASE + fl::OPTSR_CUR) & 1,
        0,
        "OPT_BUSY"
    );
    c.wait_ms(2000);
    assert_eq!(r(&mut c, ap::CM7, fl::BASE + fl::OPTSR_CUR) & 1, 0);
    assert_eq!(r(&mut c, ap::CM7, 0x0800_0000), 0xFFFF_FFFF, "mass-erased");
}

#[test]
fn rdp_level2_disables_debug_for_good() {
    let mut c = chip("nucleo-h755zi-q");
    unlock(&mut c);
    let prg = r(&mut c, ap::CM7, OPTSR_PRG);
    w(
        &mut c,
        ap::CM7,
        OPTSR_PRG,
        (prg & !0xFF00) | (fl::RDP_LEVEL2 << 8),
    );
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_OPTSTART);
    assert!(!c.debug_port_disabled());
    c.wait_ms(10);
    assert!(c.debug_port_disabled());
    assert!(c.read(ap::CM7, 0x2400_0000, Size::U32).is_err());
    c.power_cycle();
    assert!(c.debug_port_disabled());
}

#[test]
fn mer_mass_erases() {
    let mut c = chip("nucleo-h755zi-q");
    unlock(&mut c);
    w(&mut c, ap::CM7, OPTCR, fl::OPTCR_MER);
    assert_eq!(r(&mut c, ap::CM7, 0x0800_0000), 0xFFFF_FFFF);
}

#[test]
fn bcm4_off_gated_until_boot_c2() {
    let mut c = chip("bcm4-off");
    assert_eq!(c.ap_power(ap::CM4), ApPower::Gated);
    assert_eq!(r(&mut c, ap::CM4, scs::CPUID), 0, "gated AP reads zeros");
    assert_eq!(c.ap_power(ap::CM7), ApPower::Up);
    let gcr = rcc::BASE + rcc::GCR;
    w(&mut c, ap::CM7, gcr, rcc::GCR_BOOT_C2);
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up);
    assert_eq!(r(&mut c, ap::CM4, scs::CPUID), 0x410F_C241);
    assert_eq!(r(&mut c, ap::CM7, scs::CPUID), 0x411F_C271);
}

#[test]
fn cm4_stop_without_dbgstop_is_unclocked() {
    let mut c = chip("cm4-stop-no-dbg");
    c.wait_ms(1);
    assert_eq!(c.ap_power(ap::CM4), ApPower::Unclocked);
    assert!(c.read(ap::CM4, scs::CPUID as u32, Size::U32).is_err());
    assert_eq!(r(&mut c, ap::CM7, rcc::BASE + rcc::CR) & rcc::CR_D2CKRDY, 0);
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::DBGSTOP_D2,
    );
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up);
    assert_eq!(r(&mut c, ap::CM4, scs::CPUID), 0x410F_C241);
    assert_eq!(
        r(&mut c, ap::CM7, rcc::BASE + rcc::CR) & rcc::CR_D2CKRDY,
        0,
        "D2 still stopped"
    );
    let dh = r(&mut c, ap::CM4, scs::DHCSR);
    assert_ne!(dh & scs::S_SLEEP, 0);
    assert_eq!(c.core_status(CM7).unwrap().state, "idle");
}

#[test]
fn cm4_bad_boot_locks_up() {
    let mut c = chip("cm4-bad-boot");
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up);
    let dh = r(&mut c, ap::CM4, scs::DHCSR);
    assert_ne!(dh & scs::S_LOCKUP, 0);
    assert_eq!(r(&mut c, ap::CM4, scs::CPUID), 0x410F_C241);
}

#[test]
fn nrst_holds_both_cores() {
    let mut c = chip("nucleo-h755zi-q");
    c.set_reset_pin(true);
    c.wait_ms(20);
    assert_eq!(c.core_status(CM7).unwrap().state, "boot");
    let dh = r(&mut c, ap::CM7, scs::DHCSR);
    assert_ne!(dh & scs::S_RESET_ST, 0);
    // Connect under reset: vector catch, then release.
    w(
        &mut c,
        ap::CM7,
        scs::DHCSR,
        scs::DHCSR_DBGKEY | scs::C_DEBUGEN,
    );
    w(&mut c, ap::CM7, scs::DEMCR, scs::VC_CORERESET);
    c.set_reset_pin(false);
    let dh = r(&mut c, ap::CM7, scs::DHCSR);
    assert_ne!(dh & scs::S_HALT, 0);
    assert_eq!(
        r(&mut c, ap::CM7, rcc::BASE + rcc::RSR) & rcc::RSR_PINRSTF,
        rcc::RSR_PINRSTF
    );
}
