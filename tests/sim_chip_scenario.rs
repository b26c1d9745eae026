//! Scenarios (TOML) and the non-volatile state file of the virtual chip.

use h7sh::h7::facts::{ap, flash as fl};
use h7sh::sim::bus::{ApPower, Bus, Size};
use h7sh::sim::chip::{Chip, Firmware, SimError, CM4};
use h7sh::sim::faults::{FaultPlan, WaitBurst};
use h7sh::sim::scenario::Scenario;
use h7sh::sim::state::{temp_path, NvState};

fn r(c: &mut Chip, addr: u64) -> u32 {
    c.read(ap::CM7, addr as u32, Size::U32).expect("read")
}
fn w(c: &mut Chip, addr: u64, v: u32) {
    c.write(ap::CM7, addr as u32, Size::U32, v).expect("write")
}
fn parse(text: &str) -> Result<Scenario, SimError> {
    Scenario::from_toml_str(text, "test.toml", None)
}

/// Program OPTSR_PRG := f(OPTSR_PRG) and wait for it to complete.
fn program_optsr(c: &mut Chip, f: impl Fn(u32) -> u32) {
    w(c, fl::BASE + fl::OPTKEYR, fl::OPTKEY1);
    w(c, fl::BASE + fl::OPTKEYR, fl::OPTKEY2);
    let v = r(c, fl::BASE + fl::OPTSR_PRG);
    w(c, fl::BASE + fl::OPTSR_PRG, f(v));
    w(c, fl::BASE + fl::OPTCR, fl::OPTCR_OPTSTART);
    c.wait_ms(10);
}

#[test]
fn every_builtin_loads_and_builds() {
    assert_eq!(Scenario::default_name(), "nucleo-h755zi-q");
    assert_eq!(Scenario::builtin_names().len(), 8);
    for (name, desc) in Scenario::builtin_names() {
        assert!(!desc.is_empty());
        let s = Scenario::load(name).expect(name);
        let mut c = Chip::new(&s).expect(name);
        assert_eq!(c.scenario_name(), *name);
        c.wait_ms(20);
        assert_eq!(c.fault_plan(), FaultPlan::default());
    }
    let s = Scenario::builtin("cm4-bad-boot").unwrap();
    assert_eq!(s.option_bytes.cm4_boot_addr(), 0x0818_0000);
    assert_eq!(s.cm4.firmware, Firmware::StTemplateCm4);
}

#[test]
fn unknown_scenario_has_a_hint() {
    let e = Scenario::load("no-such-board").unwrap_err();
    assert!(matches!(e, SimError::UnknownScenario { .. }));
    assert!(e.hint().contains("nucleo-h755zi-q"));
    let e = Scenario::load("/nonexistent/dir/x.toml").unwrap_err();
    assert!(matches!(e, SimError::ScenarioRead { .. }));
    assert!(!e.hint().is_empty());
}

#[test]
fn unknown_keys_are_named() {
    for (text, key) in [
        ("colour = 1", "colour"),
        ("[board]\nvoltage = 3", "voltage"),
        ("[option_bytes]\nBCM5 = 1", "BCM5"),
        ("[cores.cm7]\nfirmwre = \"idle\"", "firmwre"),
        ("[cores.cm9]\nfirmware = \"idle\"", "cm9"),
        ("[faults]\nunplug = 3", "unplug"),
        ("[[flash.image]]\naddress = 0x08000000\nbytes = 3", "bytes"),
    ] {
        let e = parse(text).unwrap_err();
        assert!(matches!(e, SimError::ScenarioParse { .. }), "{text}: {e}");
        assert!(e.to_string().contains(key), "{text}: {e}");
        assert!(!e.hint().is_empty());
    }
}

#[test]
fn bad_values_are_named() {
    for (text, key) in [
        ("[option_bytes]\nRDP = 0x1FF", "option_bytes.RDP"),
        ("[option_bytes]\nBCM4 = 2", "option_bytes.BCM4"),
        (
            "[option_bytes]\nBCM4_ADD0 = \"x\"",
            "option_bytes.BCM4_ADD0",
        ),
        ("[cores.cm4]\nfirmware = \"linux\"", "cores.cm4.firmware"),
        ("[board]\nsupply = \"battery\"", "board.supply"),
        ("[[flash.image]]\naddress = 0x08000000", "flash.image[0]"),
    ] {
        let e = parse(text).unwrap_err();
        assert!(matches!(e, SimError::BadValue { .. }), "{text}: {e}");
        assert!(e.to_string().contains(key), "{text}: {e}");
    }
    // A type error from serde still points at the key's line.
    let e = parse("[dbgmcu]\ncr = \"all\"").unwrap_err();
    assert!(e.to_string().contains("cr"), "{e}");
}

#[test]
fn option_bytes_dbgmcu_supply_and_faults() {
    let s = parse(
        r#"
name = "custom"
description = "test"
[board]
supply = "ldo"
[option_bytes]
BCM7 = 0
BCM4 = 1
NRST_STOP_D2 = 0
IWDG2_SW = 0
RDP = 0xAA
BCM7_ADD1 = 0x2000
WRPSN2 = 0x0F
DMEP1 = 1
[cores.cm7]
firmware = "idle"
supply_config = "ldo"
[dbgmcu]
cr = 0x3F
[faults]
unplug_after = 100
wait_burst = { after = 10, count = 3 }
no_ack_burst = { after = 20, count = 1 }
"#,
    )
    .unwrap();
    assert!(!s.option_bytes.bcm7());
    assert_eq!(s.option_bytes.boot7 >> 16, 0x2000);
    assert_eq!(s.option_bytes.wpsn[1], 0x0F);
    assert_eq!(s.option_bytes.prar[0] >> 31, 1);
    assert_eq!(s.option_bytes.optsr & (1 << 24), 0);
    assert_eq!(s.dbgmcu_cr, 0x3F);
    assert_eq!(
        s.faults,
        FaultPlan {
            unplug_after: Some(100),
            wait_burst: Some(WaitBurst {
                after: 10,
                count: 3
            }),
            no_ack_burst: Some(WaitBurst {
                after: 20,
                count: 1
            }),
        }
    );
    let mut c = Chip::new(&s).unwrap();
    assert_eq!(c.ap_power(ap::CM7), ApPower::Gated, "BCM7 = 0: CM7 gated");
    assert_eq!(c.fault_plan().unplug_after, Some(100));
    assert_eq!(c.read(ap::APB_D, 0xE00E_1004, Size::U32), Ok(0x3F));
}

#[test]
fn flash_images_bin_hex_fill() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fw.bin"), [1u8, 2, 3, 4, 5]).unwrap();
    let hex = ihex::create_object_file_representation(&[
        ihex::Record::ExtendedLinearAddress(0x0810),
        ihex::Record::Data {
            offset: 0x0400,
            value: vec![0xDE, 0xAD, 0xBE, 0xEF],
        },
        ihex::Record::EndOfFile,
    ])
    .unwrap();
    std::fs::write(dir.path().join("fw.hex"), hex).unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
[flash]
factory = false
[[flash.image]]
address = 0x08000100
file = "fw.bin"
[[flash.image]]
hex = "fw.hex"
[[flash.image]]
address = 0x08020000
fill = 0x00
length = 16
"#,
    )
    .unwrap();
    let s = Scenario::load(path.to_str().unwrap()).unwrap();
    let mut c = Chip::new(&s).unwrap();
    assert_eq!(
        r(&mut c, 0x0800_0000),
        0xFFFF_FFFF,
        "factory = false: erased"
    );
    assert_eq!(r(&mut c, 0x0800_0100), 0x0403_0201);
    assert_eq!(r(&mut c, 0x0800_0104) & 0xFF, 5);
    assert_eq!(r(&mut c, 0x0810_0400), 0xEFBE_ADDE);
    assert_eq!(r(&mut c, 0x0802_000C), 0);
    assert_eq!(r(&mut c, 0x0802_0010), 0xFFFF_FFFF);
    // Erased vector tables: both cores lock up (the CM7 boots because BCM7 = 1).
    assert!(c.core_status(CM4).unwrap().lockup);

    std::fs::write(
        &path,
        "[[flash.image]]\naddress = 0x081FFFFE\nfill = 1\nlength = 4\n",
    )
    .unwrap();
    let e = Scenario::load(path.to_str().unwrap()).unwrap_err();
    assert!(matches!(e, SimError::FlashImage { .. }), "{e}");
    std::fs::write(
        &path,
        "[[flash.image]]\naddress = 0x08000000\nfile = \"missing.bin\"\n",
    )
    .unwrap();
    let e = Scenario::load(path.to_str().unwrap()).unwrap_err();
    assert!(e.to_string().contains("missing.bin"), "{e}");
}

#[test]
fn state_file_round_trip_and_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("board.state");
    let s = Scenario::builtin("bcm4-off").unwrap();
    {
        let mut c = Chip::with_state_file(&s, &file).unwrap();
        assert!(file.exists(), "created from the scenario");
        assert_eq!(c.ap_power(ap::CM4), ApPower::Gated);
        program_optsr(&mut c, |v| v | (1 << 22));
        assert!(c.state_error().is_none());
    }
    // A new session on the same board: BCM4 = 1 survived, the CM4 boots.
    let c = Chip::with_state_file(&s, &file).unwrap();
    assert!(c.option_bytes().bcm4());
    assert_ne!(c.ap_power(ap::CM4), ApPower::Gated);
    // The encoding round-trips exactly.
    let nv = NvState::load(&file).unwrap().unwrap();
    assert_eq!(NvState::decode(&nv.encode(), &file).unwrap(), nv);
    assert!(
        nv.flash.dirty_pages().count() <= 2,
        "only non-erased pages are stored"
    );
}

#[test]
fn rdp2_is_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("board.state");
    let s = Scenario::builtin("nucleo-h755zi-q").unwrap();
    {
        let mut c = Chip::with_state_file(&s, &file).unwrap();
        program_optsr(&mut c, |v| (v & !0xFF00) | (fl::RDP_LEVEL2 << 8));
        assert!(c.debug_port_disabled());
    }
    let c = Chip::with_state_file(&s, &file).unwrap();
    assert!(c.debug_port_disabled());
}

#[test]
fn corrupt_state_is_an_error_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("board.state");
    let s = Scenario::builtin("nucleo-h755zi-q").unwrap();
    drop(Chip::with_state_file(&s, &file).unwrap());
    let good = std::fs::read(&file).unwrap();
    // Truncated file.
    std::fs::write(&file, &good[..good.len() - 3]).unwrap();
    let e = Chip::with_state_file(&s, &file).err().unwrap();
    assert!(matches!(e, SimError::StateCorrupt { .. }), "{e}");
    assert!(e.hint().contains("move it away"));
    assert_eq!(
        std::fs::read(&file).unwrap().len(),
        good.len() - 3,
        "left alone"
    );
    // Garbage.
    std::fs::write(&file, b"hello world, not a state").unwrap();
    assert!(matches!(
        Chip::with_state_file(&s, &file).err().unwrap(),
        SimError::StateCorrupt { .. }
    ));
    // One flipped byte in the body.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    std::fs::write(&file, &bad).unwrap();
    assert!(Chip::with_state_file(&s, &file).is_err());
}

#[test]
fn leftover_temp_file_does_not_corrupt_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("board.state");
    let s = Scenario::builtin("bcm4-off").unwrap();
    drop(Chip::with_state_file(&s, &file).unwrap());
    let before = std::fs::read(&file).unwrap();
    // A previous process died mid-save: a partial temp file sits next to the real one.
    let tmp = temp_path(&file);
    std::fs::write(&tmp, &before[..before.len() / 2]).unwrap();
    std::fs::write(dir.path().join(".board.state.tmp-1"), b"junk").unwrap();
    let mut c = Chip::with_state_file(&s, &file).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // The next save replaces the temp file and leaves a valid real file.
    program_optsr(&mut c, |v| v | (1 << 22));
    assert!(c.state_error().is_none());
    assert!(!tmp.exists());
    assert!(NvState::load(&file).unwrap().unwrap().ob.bcm4());
}

#[test]
fn state_save_errors_are_reported_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub").join("board.state");
    let s = Scenario::builtin("nucleo-h755zi-q").unwrap();
    let e = Chip::with_state_file(&s, &file).err().unwrap();
    assert!(matches!(e, SimError::StateIo { .. }));
    // Directory removed under a running board: the save error is remembered.
    let file = dir.path().join("gone").join("board.state");
    std::fs::create_dir(dir.path().join("gone")).unwrap();
    let mut c = Chip::with_state_file(&s, &file).unwrap();
    std::fs::remove_dir_all(dir.path().join("gone")).unwrap();
    program_optsr(&mut c, |v| v & !(1 << 22));
    assert!(matches!(c.state_error(), Some(SimError::StateIo { .. })));
}
