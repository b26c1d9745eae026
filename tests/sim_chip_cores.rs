//! Cortex-M debug model and firmware behaviours of the virtual chip, through the Bus trait.

use h7sh::h7::facts::{ap, dbgmcu, hsem, pwr, rcc, scs};
use h7sh::sim::bus::{ApPower, Bus, Size};
use h7sh::sim::chip::firmware::{pc, reason, TEMPLATE_TIMEOUT_NANOS};
use h7sh::sim::chip::{Chip, FwState, CM4, CM7};
use h7sh::sim::scenario::Scenario;

mod chip_util;
use chip_util::{chip, r, w};
fn dhcsr(c: &mut Chip, ap: u8, bits: u32) {
    w(c, ap, scs::DHCSR, scs::DHCSR_DBGKEY | bits);
}
fn read_reg(c: &mut Chip, ap: u8, sel: u32) -> u32 {
    w(c, ap, scs::DCRSR, sel);
    assert_ne!(r(c, ap, scs::DHCSR) & scs::S_REGRDY, 0);
    r(c, ap, scs::DCRDR)
}
fn write_reg(c: &mut Chip, ap: u8, sel: u32, v: u32) {
    w(c, ap, scs::DCRDR, v);
    w(c, ap, scs::DCRSR, sel | scs::DCRSR_REGWNR);
    assert_ne!(r(c, ap, scs::DHCSR) & scs::S_REGRDY, 0);
}

#[test]
fn halt_step_resume_over_ap0() {
    let mut c = chip("nucleo-h755zi-q");
    c.wait_ms(1);
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_HALT);
    let v = r(&mut c, ap::CM7, scs::DHCSR);
    assert_ne!(v & scs::S_HALT, 0);
    assert_ne!(r(&mut c, ap::CM7, scs::DFSR) & 1, 0, "DFSR.HALTED");
    let pc0 = read_reg(&mut c, ap::CM7, 15);
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_STEP);
    let v = r(&mut c, ap::CM7, scs::DHCSR);
    assert_ne!(v & scs::S_RETIRE_ST, 0);
    assert_ne!(v & scs::S_HALT, 0, "halted again after the step");
    assert_eq!(read_reg(&mut c, ap::CM7, 15), pc0 + 2);
    // A halted core's firmware does not advance.
    let state = c.firmware_state(CM7);
    c.wait_ms(50);
    assert_eq!(c.firmware_state(CM7), state);
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN);
    assert_eq!(r(&mut c, ap::CM7, scs::DHCSR) & scs::S_HALT, 0);
    // Without DBGKEY nothing happens.
    w(&mut c, ap::CM7, scs::DHCSR, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(r(&mut c, ap::CM7, scs::DHCSR) & scs::S_HALT, 0);
}

#[test]
fn register_file_round_trip_every_class() {
    let mut c = chip("nucleo-h755zi-q");
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_HALT);
    let sels: Vec<u32> = (0..=18).chain([20, 33]).chain(64..96).collect();
    for &s in &sels {
        write_reg(&mut c, ap::CM7, s, 0x1000_0000 + s * 4);
    }
    for &s in &sels {
        let want = 0x1000_0000 + s * 4;
        let got = read_reg(&mut c, ap::CM7, s);
        match s {
            // SP is the current stack pointer: MSP (17) was written after it.
            13 => assert_eq!(got, 0x1000_0000 + 17 * 4),
            17 => assert_eq!(got, want),
            _ => assert_eq!(got, want, "regsel {s}"),
        }
    }
    // Transfers need debug state: S_REGRDY stays clear while running.
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN);
    w(&mut c, ap::CM4, scs::DCRSR, 0);
    assert_eq!(r(&mut c, ap::CM4, scs::DHCSR) & scs::S_REGRDY, 0);
}

#[test]
fn reset_st_sticky_then_cleared_and_vector_catch() {
    let mut c = chip("nucleo-h755zi-q");
    assert_ne!(r(&mut c, ap::CM7, scs::DHCSR) & scs::S_RESET_ST, 0);
    assert_eq!(
        r(&mut c, ap::CM7, scs::DHCSR) & scs::S_RESET_ST,
        0,
        "cleared on read"
    );
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN);
    w(&mut c, ap::CM7, scs::DEMCR, scs::VC_CORERESET | scs::TRCENA);
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    let v = r(&mut c, ap::CM7, scs::DHCSR);
    assert_ne!(v & scs::S_RESET_ST, 0);
    assert_ne!(v & scs::S_HALT, 0, "VC_CORERESET halts at the reset vector");
    assert_eq!(read_reg(&mut c, ap::CM7, 15), 0x0800_02C0);
    assert_eq!(read_reg(&mut c, ap::CM7, 13), 0x2002_0000);
    assert_eq!(
        r(&mut c, ap::CM7, scs::DEMCR),
        scs::VC_CORERESET | scs::TRCENA,
        "survives system reset"
    );
    c.wait_ms(30);
    assert_eq!(c.core_status(CM7).unwrap().state, "boot");
}

#[test]
fn vector_catch_on_erased_flash_then_lockup_on_resume() {
    let mut c = chip("cm4-bad-boot");
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN);
    w(&mut c, ap::CM4, scs::DEMCR, scs::VC_CORERESET);
    w(
        &mut c,
        ap::CM4,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    let v = r(&mut c, ap::CM4, scs::DHCSR);
    assert_ne!(v & scs::S_HALT, 0);
    assert_eq!(v & scs::S_LOCKUP, 0);
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN);
    assert_ne!(r(&mut c, ap::CM4, scs::DHCSR) & scs::S_LOCKUP, 0);
    assert_ne!(r(&mut c, ap::CM4, scs::HFSR), 0);
}

#[test]
fn template_handshake_reaches_main_loop() {
    let mut c = chip("nucleo-h755zi-q");
    c.advance(100_000);
    assert_eq!(c.firmware_state(CM4), Some(FwState::InStop));
    assert_eq!(
        c.ap_power(ap::CM4),
        ApPower::Unclocked,
        "DBGMCU_CR = 0 at power-on"
    );
    c.wait_ms(5);
    assert_eq!(c.firmware_state(CM7), Some(FwState::MainLoop));
    assert_eq!(c.firmware_state(CM4), Some(FwState::MainLoop));
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up);
    assert_ne!(r(&mut c, ap::CM7, rcc::BASE + rcc::CR) & rcc::CR_D2CKRDY, 0);
    assert_ne!(
        r(&mut c, ap::CM7, pwr::BASE + pwr::CSR1) & pwr::CSR1_ACTVOSRDY,
        0
    );
    assert_eq!(
        r(&mut c, ap::CM7, pwr::BASE + pwr::CR3) & 0x7,
        pwr::CR3_SDEN
    );
    assert_ne!(
        r(&mut c, ap::CM7, pwr::BASE + pwr::CPU2CR) & pwr::CPUCR_STOPF,
        0
    );
    // HSEM 0 was released: the CM4 cleared its notification.
    assert_eq!(r(&mut c, ap::CM7, hsem::BASE + hsem::R0), 0);
    assert_eq!(r(&mut c, ap::CM7, hsem::BASE + hsem::C2ISR) & 1, 0);
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(read_reg(&mut c, ap::CM7, 15), 0x0800_0000 + pc::MAIN_LOOP);
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(read_reg(&mut c, ap::CM4, 15), 0x0810_0000 + pc::MAIN_LOOP);
}

#[test]
fn halting_cm4_before_it_stops_sends_cm7_to_error_handler() {
    let mut c = chip("nucleo-h755zi-q");
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN | scs::C_HALT);
    c.advance(TEMPLATE_TIMEOUT_NANOS - 100_000);
    assert!(matches!(
        c.firmware_state(CM7),
        Some(FwState::WaitD2Stop { .. })
    ));
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(
        read_reg(&mut c, ap::CM7, 15),
        0x0800_0000 + pc::CM7_WAIT_D2_STOP
    );
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN);
    c.wait_ms(1);
    assert_eq!(
        c.firmware_state(CM7),
        Some(FwState::ErrorHandler {
            reason: reason::CM4_NEVER_STOPPED
        })
    );
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(
        read_reg(&mut c, ap::CM7, 15),
        0x0800_0000 + pc::ERROR_HANDLER
    );
    assert_eq!(read_reg(&mut c, ap::CM7, 0), reason::CM4_NEVER_STOPPED);
    assert_eq!(read_reg(&mut c, ap::CM7, 20) & 1, 1, "PRIMASK set");
}

#[test]
fn bcm4_off_cm7_times_out() {
    let mut c = chip("bcm4-off");
    c.wait_ms(20);
    assert_eq!(c.core_status(CM7).unwrap().state, "error-handler");
    assert_eq!(c.core_status(CM4).unwrap().state, "boot");
}

/// A supply configuration the board cannot feed: by default the chip locks up and its debug port
/// goes silent until a power cycle (NRST does not help); with `supply_mismatch = "stuck"` the
/// CM7 template spins on ACTVOSRDY instead and the debug port stays up.
#[test]
fn wrong_supply_config_locks_the_chip_or_sticks_the_cm7() {
    let text = "name = \"ldo-board\"\n[board]\nsupply = \"ldo\"\n";
    let s = Scenario::from_toml_str(text, "test", None).unwrap();
    let mut c = Chip::new(&s).unwrap();
    assert!(!c.debug_port_disabled());
    c.wait_ms(20);
    assert!(c.debug_port_disabled(), "VCORE collapsed: no debug port");
    c.set_reset_pin(true);
    c.set_reset_pin(false);
    assert!(c.debug_port_disabled(), "NRST does not clear it");
    c.set_reset_pin(true);
    c.power_cycle();
    assert!(
        !c.debug_port_disabled(),
        "held in reset through a power cycle"
    );

    let stuck = format!("{text}[silicon]\nsupply_mismatch = \"stuck\"\n");
    let s = Scenario::from_toml_str(&stuck, "test", None).unwrap();
    let mut c = Chip::new(&s).unwrap();
    c.wait_ms(20);
    assert!(!c.debug_port_disabled());
    assert_eq!(c.firmware_state(CM7), Some(FwState::SupplyStuck));
    assert_eq!(
        r(&mut c, ap::CM7, pwr::BASE + pwr::CSR1) & pwr::CSR1_ACTVOSRDY,
        0
    );
}

#[test]
fn setting_dbgstop_d2_reaches_the_stopped_cm4_and_halting_wakes_it() {
    let mut c = chip("cm4-stop-no-dbg");
    c.wait_ms(1);
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::PROBE_RS_ATTACH_CR,
    );
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(
        read_reg(&mut c, ap::CM4, 15),
        0x0810_0000 + pc::CM4_AFTER_WFE
    );
    assert_ne!(
        r(&mut c, ap::CM7, rcc::BASE + rcc::CR) & rcc::CR_D2CKRDY,
        0,
        "D2 left Stop"
    );
    dhcsr(&mut c, ap::CM4, scs::C_DEBUGEN);
    c.wait_ms(1);
    assert_eq!(c.firmware_state(CM4), Some(FwState::MainLoop));
}

#[test]
fn hsem_through_the_aps_and_notification() {
    let mut c = chip("cm4-stop-no-dbg");
    let r1 = hsem::BASE + 4;
    // 2-step lock by the debugger on AP0 carries COREID 3.
    w(&mut c, ap::CM7, r1, hsem::LOCK | (3 << 8) | 9);
    assert_eq!(r(&mut c, ap::CM7, r1), hsem::LOCK | (3 << 8) | 9);
    // Unlock through the D3 AP (not the owner) is refused.
    w(&mut c, ap::D3, r1, 9);
    assert_eq!(r(&mut c, ap::CM7, r1) & hsem::LOCK, hsem::LOCK);
    // 1-step lock of semaphore 2 by reading RLR.
    assert_eq!(
        r(&mut c, ap::CM7, hsem::BASE + hsem::RLR0 + 8),
        hsem::LOCK | (3 << 8)
    );
    // Releasing semaphore 0 wakes the stopped CM4 (it enabled C2IER bit 0).
    c.wait_ms(1);
    assert_eq!(c.firmware_state(CM4), Some(FwState::InStop));
    assert_eq!(r(&mut c, ap::CM7, hsem::BASE + hsem::C2IER) & 1, 1);
    assert_eq!(
        r(&mut c, ap::CM7, hsem::BASE + hsem::RLR0),
        hsem::LOCK | (3 << 8)
    );
    w(&mut c, ap::CM7, hsem::BASE + hsem::R0, 3 << 8);
    assert_eq!(r(&mut c, ap::CM7, hsem::BASE + hsem::C2MISR) & 1, 1);
    c.wait_ms(1);
    assert_eq!(c.firmware_state(CM4), Some(FwState::MainLoop));
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up);
}

#[test]
fn sleep_and_lockup_firmwares() {
    let text = r#"
[cores.cm7]
firmware = "wfi-sleep"
[cores.cm4]
firmware = "lockup"
"#;
    let s = Scenario::from_toml_str(text, "test", None).unwrap();
    let mut c = Chip::new(&s).unwrap();
    c.wait_ms(1);
    assert_ne!(r(&mut c, ap::CM7, scs::DHCSR) & scs::S_SLEEP, 0);
    assert_ne!(r(&mut c, ap::CM4, scs::DHCSR) & scs::S_LOCKUP, 0);
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up, "WFI sleep is not D2 Stop");
    dhcsr(&mut c, ap::CM7, scs::C_DEBUGEN | scs::C_HALT);
    assert_eq!(r(&mut c, ap::CM7, scs::DHCSR) & scs::S_SLEEP, 0);
}

#[test]
fn vectreset_resets_one_core() {
    let mut c = chip("nucleo-h755zi-q");
    c.wait_ms(5);
    w(
        &mut c,
        ap::CM4,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_VECTRESET,
    );
    assert_eq!(c.core_status(CM4).unwrap().state, "boot");
    assert_eq!(c.core_status(CM7).unwrap().state, "main-loop");
}

#[test]
fn deterministic_regardless_of_chunking() {
    let run = |chunk: u64| {
        let mut c = chip("nucleo-h755zi-q");
        let mut log = Vec::new();
        for _ in 0..(12_000_000 / chunk) {
            c.advance(chunk);
            log.push(c.read(ap::CM7, (rcc::BASE + rcc::CR) as u32, Size::U32));
        }
        (c.core_status(CM7), c.core_status(CM4), c.now_nanos(), log)
    };
    let a = run(3_000);
    let b = run(3_000);
    assert_eq!(a, b);
    let coarse = run(1_000_000);
    assert_eq!((a.0, a.1, a.2), (coarse.0, coarse.1, coarse.2));
}

/// Issue 12 item 7: D2 Standby powers the domain off (DBGSTBY_D2 = 0): AP3 goes silent, the
/// CM4's debug registers are lost, and setting DBGSTBY_D2 then does not bring a powered-off
/// domain back; the wake-up (the CM7 template releasing HSEM 0) restarts the CM4 from its boot
/// address with SBF_D2 and D2RSTF set. With DBGSTBY_D2 set before it goes down, D2 stays
/// powered and the debug state survives the restart.
#[test]
fn d2_standby_powers_the_cm4_off_and_its_wake_up_reboots_it() {
    let mut c = chip("cm4-d2-standby");
    // While the CM4 boots (30 µs), its DEMCR is set through AP3.
    w(&mut c, ap::CM4, scs::DEMCR, scs::TRCENA);
    assert_eq!(r(&mut c, ap::CM4, scs::DEMCR), scs::TRCENA);
    c.advance(60_000);
    assert_eq!(c.d2_mode(), h7sh::sim::chip::D2Mode::Standby);
    assert_eq!(c.ap_power(ap::CM4), ApPower::Unclocked);
    let cpu2cr = pwr::BASE + pwr::CPU2CR;
    assert_ne!(r(&mut c, ap::CM7, cpu2cr) & pwr::CPUCR_PDDS_D2, 0);
    // A powered-off domain stays off whatever DBGMCU says now.
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::DBGSTOP_D2 | dbgmcu::DBGSTBY_D2,
    );
    assert_eq!(c.ap_power(ap::CM4), ApPower::Unclocked);
    // The CM7 template wakes D2 (HSEM 0); the CM4 restarts and goes down again, this time
    // with DBGSTBY_D2 set: D2 stays powered.
    c.wait_ms(5);
    assert_eq!(c.firmware_state(CM7), Some(FwState::MainLoop));
    assert_eq!(c.firmware_state(CM4), Some(FwState::InStop));
    assert_eq!(c.ap_power(ap::CM4), ApPower::Up);
    assert_ne!(r(&mut c, ap::CM7, cpu2cr) & pwr::CPUCR_SBF_D2, 0, "SBF_D2");
    let rsr = r(&mut c, ap::CM7, rcc::BASE + rcc::C2_RSR);
    assert_ne!(rsr & rcc::RSR_D2RSTF, 0, "D2RSTF");
    assert_eq!(
        r(&mut c, ap::CM4, scs::DEMCR) & scs::TRCENA,
        0,
        "the CM4's debug registers were lost with D2's power"
    );
    // Debug state set now survives: D2 stays powered through this Standby.
    w(&mut c, ap::CM4, scs::DEMCR, scs::TRCENA);
    c.wait_ms(1);
    assert_eq!(r(&mut c, ap::CM4, scs::DEMCR), scs::TRCENA);
}

/// Issue 12 item 12: the PWR hold bits (HOLD2 in CPU1CR, HOLD1 in CPU2CR) and RUN_D3 read back as
/// written, CSSF clears the HOLDxF flags with the others; HOLD acts only when the system exits
/// Stop (both CPUs in CStop), so the CM4 woken from D2 Stop while the CM7 runs is not held
/// (RM0399 Table 43, "Run mode").
#[test]
fn pwr_hold_bits_read_back_and_hold_only_after_system_stop() {
    let mut c = chip("nucleo-h755zi-q");
    let cpucr = pwr::BASE + pwr::CPUCR;
    let cpu2cr = pwr::BASE + pwr::CPU2CR;
    let hold = 1 << 10;
    let run_d3 = 1 << 11;
    w(&mut c, ap::CM7, cpucr, hold | run_d3);
    w(&mut c, ap::CM7, cpu2cr, hold);
    assert_eq!(r(&mut c, ap::CM7, cpucr) & (hold | run_d3), hold | run_d3);
    assert_eq!(r(&mut c, ap::CM7, cpu2cr) & hold, hold);
    // The template's handshake: the CM4 wakes from D2 Stop and runs despite HOLD2.
    c.wait_ms(5);
    assert_eq!(c.firmware_state(CM4), Some(FwState::MainLoop));
    assert_eq!(
        r(&mut c, ap::CM7, cpucr) & (1 << 4),
        0,
        "no HOLD2F: no system Stop"
    );
    // CSSF clears the flags (STOPF here), keeps the controls.
    assert_ne!(r(&mut c, ap::CM7, cpu2cr) & pwr::CPUCR_STOPF, 0);
    w(&mut c, ap::CM7, cpu2cr, hold | (1 << 9));
    assert_eq!(r(&mut c, ap::CM7, cpu2cr), hold);
}

/// A system reset resets D2: a domain left powered off by Standby comes back with the CM4, even
/// when nothing wakes it (the CM7 idles here).
#[test]
fn a_system_reset_brings_a_powered_off_d2_back() {
    let text = "name = \"standby-idle\"\n[cores.cm7]\nfirmware = \"idle\"\n\
                [cores.cm4]\nfirmware = \"st-template-cm4-standby\"\n";
    let s = Scenario::from_toml_str(text, "test", None).unwrap();
    let mut c = Chip::new(&s).unwrap();
    c.advance(100_000);
    assert_eq!(c.ap_power(ap::CM4), ApPower::Unclocked);
    w(
        &mut c,
        ap::APB_D,
        dbgmcu::BASE_APBD + dbgmcu::CR,
        dbgmcu::DBGSTOP_D2 | dbgmcu::DBGSTBY_D2,
    );
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ,
    );
    assert_eq!(
        c.ap_power(ap::CM4),
        ApPower::Up,
        "D2 powered again by the reset"
    );
    c.advance(100_000);
    assert_eq!(c.firmware_state(CM4), Some(FwState::InStop));
    assert_eq!(
        c.ap_power(ap::CM4),
        ApPower::Up,
        "back in Standby, kept powered by DBGSTBY_D2"
    );
}

/// NRST holds the watchdogs in reset with the cores: a hardware IWDG1 does not fire while the
/// reset button is held, and a core reset (VECTRESET through the PPB, which still answers) does
/// not let the core run under NRST.
#[test]
fn nrst_holds_the_watchdogs_and_the_cores() {
    let mut c = chip("iwdg-reset-loop");
    w(&mut c, ap::CM7, rcc::BASE + rcc::RSR, rcc::RSR_RMVF);
    c.set_reset_pin(true);
    c.wait_ms(2000);
    c.set_reset_pin(false);
    assert_eq!(
        r(&mut c, ap::CM7, rcc::BASE + rcc::RSR) & rcc::RSR_IWDG1RSTF,
        0,
        "no watchdog reset under NRST"
    );
    c.set_reset_pin(true);
    w(
        &mut c,
        ap::CM7,
        scs::AIRCR,
        scs::AIRCR_VECTKEY | scs::AIRCR_VECTRESET,
    );
    assert_eq!(
        c.core_status(CM7).unwrap().hold,
        h7sh::sim::chip::Hold::Reset
    );
    c.set_reset_pin(false);
}
