//! The built-in register set (`svd/regset.bin`): what h7sh uses without ST's files, checked
//! against ST's patched files when `H7SH_SVD_DIR` has them.

use std::fs;

use h7sh::regset::PARTS;
use h7sh::svd::builtin::{facts, st_views};
use h7sh::svd::{load, Device, LoadOptions, Resolved, SvdError, SvdOrigin};

/// Options that find no ST file anywhere (temp folders, no env, no vendor installs).
fn nothing_found(tmp: &tempfile::TempDir) -> LoadOptions {
    LoadOptions {
        cache_dir: Some(tmp.path().join("cache")),
        config_dir: Some(tmp.path().join("config")),
        data_dir: Some(tmp.path().join("data")),
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    }
}

fn builtin(part: &str) -> (std::sync::Arc<Device>, std::sync::Arc<Device>) {
    let tmp = tempfile::tempdir().unwrap();
    let v = load(&LoadOptions {
        part: Some(part.into()),
        ..nothing_found(&tmp)
    })
    .expect("built-in set loads");
    assert_eq!(v.origin, SvdOrigin::Builtin);
    (v.cm7, v.cm4)
}

/// The first difference between two fact lists, named, for a readable failure.
fn first_difference(a: &[h7sh::svd::Peripheral], b: &[h7sh::svd::Peripheral]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} peripherals vs {}", a.len(), b.len()));
    }
    for (p, q) in a.iter().zip(b) {
        if p.registers.len() != q.registers.len() {
            return Some(format!("{}: register counts differ", p.name));
        }
        for (r, s) in p.registers.iter().zip(&q.registers) {
            if r != s {
                return Some(format!("{}.{}: {r:?}\n  vs {s:?}", p.name, r.name));
            }
        }
        if p != q {
            return Some(format!("{}: {p:?}\n  vs {q:?}", p.name));
        }
    }
    None
}

#[test]
fn builtin_set_equals_patched_st_files() {
    let Some(dir) = h7sh::svd::testing::st_svd_dir_or_skip("builtin_set_equals_patched_st_files")
    else {
        return;
    };
    let st = st_views(&dir).expect("ST's files load");
    assert_eq!(st.len(), 8);
    for (i, part) in PARTS.iter().enumerate() {
        let (cm7, cm4) = builtin(part);
        for (ours, theirs) in [(&cm7, &st[2 * i]), (&cm4, &st[2 * i + 1])] {
            assert_eq!(ours.name, theirs.name);
            assert_eq!(ours.cpu, theirs.cpu);
            assert_eq!(ours.patches, theirs.patches);
            if let Some(d) = first_difference(&facts(ours), &facts(theirs)) {
                panic!(
                    "{}: the built-in set differs from the patched ST file: {d}\n  hint: \
                     regenerate it: cargo run --example gen-regset -- {} svd/regset.bin",
                    ours.name,
                    dir.display()
                );
            }
        }
    }
}

#[test]
fn default_without_st_files_is_the_h755_with_every_peripheral() {
    let tmp = tempfile::tempdir().unwrap();
    let v = load(&nothing_found(&tmp)).unwrap();
    assert_eq!(v.origin, SvdOrigin::Builtin);
    assert!(v.cm7_path.is_none());
    assert!(
        v.source_line.contains("built-in STM32H755 ") && v.source_line.contains("no descriptions"),
        "{}",
        v.source_line
    );
    assert_eq!(v.cm7.name, "STM32H755_CM7");
    assert_eq!(v.cm4.name, "STM32H755_CM4");
    assert!(v.cm7.peripherals.len() > 120);
    let Ok(Resolved::Register(r)) = v.cm7.resolve("GPIOA_MODER") else {
        panic!("GPIOA_MODER resolves")
    };
    let reg = v.cm7.register(r);
    assert_eq!((reg.address, reg.reset_value), (0x5802_0000, 0xABFF_FFFF));
    // h7sh's patch is in the facts, and so is the Cortex-M block.
    let Ok(Resolved::Field(f)) = v.cm7.resolve("FLASH_OPTSR_CUR.BCM4") else {
        panic!("BCM4 resolves")
    };
    assert_eq!(v.cm7.enum_value(f, "Enabled"), Some(1));
    assert!(v.cm7.resolve("DCB.DHCSR.S_RESET_ST").is_ok());
    assert!(v.cm7.resolve("PWR.CPU2CR").is_ok());
}

#[test]
fn the_part_follows_the_chip_name() {
    // ST's files give CRYP and HASH to the H755 and H757 only.
    for (chip, crypto) in [
        ("STM32H745ZITx", false),
        ("stm32h747xihx", false),
        ("STM32H755", true),
        ("STM32H757XIHx", true),
    ] {
        let (cm7, cm4) = builtin(chip);
        let part = chip[..9].to_ascii_uppercase();
        assert_eq!(cm7.name, format!("{part}_CM7"));
        assert_eq!(cm4.name, format!("{part}_CM4"));
        assert_eq!(cm7.resolve("CRYP").is_ok(), crypto, "{chip} CRYP");
        assert_eq!(cm7.resolve("HASH").is_ok(), crypto, "{chip} HASH");
    }
    // Not a dual-core part: the virtual board's.
    assert_eq!(builtin("STM32H743ZITx").0.name, "STM32H755_CM7");
}

#[test]
fn user_patches_apply_to_the_builtin_set() {
    let tmp = tempfile::tempdir().unwrap();
    let patch = tmp.path().join("mine.yaml");
    fs::write(
        &patch,
        "GPIOA:\n  MODER:\n    MODE0:\n      Analog: [3, analog mode]\n      Output: [1, output]\n",
    )
    .unwrap();
    let v = load(&LoadOptions {
        patches: vec![patch.clone()],
        ..nothing_found(&tmp)
    })
    .expect("the patch applies");
    assert_eq!(v.origin, SvdOrigin::Builtin);
    assert!(v.source_line.contains("+2 patches"), "{}", v.source_line);
    for d in [&v.cm7, &v.cm4] {
        let Ok(Resolved::Field(f)) = d.resolve("GPIOA_MODER.MODE0") else {
            panic!("MODE0")
        };
        assert_eq!(d.enum_value(f, "analog"), Some(3));
        assert_eq!(d.enum_name(f, 1), Some("Output"));
        assert_eq!(d.patches.last(), Some(&patch.display().to_string()));
        // Everything else is as built in.
        assert!(d.resolve("FLASH_OPTSR_CUR.BCM4").is_ok());
        assert!(d.peripherals.len() > 120);
    }
    // A patch that does not apply is an error naming it.
    fs::write(&patch, "NOPE:\n  _modify:\n    X: {description: y}\n").unwrap();
    let err = load(&LoadOptions {
        patches: vec![patch.clone()],
        ..nothing_found(&tmp)
    });
    assert!(
        matches!(&err, Err(SvdError::Patch { patch: p, .. }) if *p == patch),
        "{err:?}"
    );
}

mod common;

#[test]
fn the_virtual_board_answers_unmodelled_registers_with_reset_values() {
    // GPIOA is not modelled: its registers read their reset values, and keep what is written.
    let (code, out, err) = common::sim(
        "nucleo-h755zi-q",
        "read GPIOA_MODER; read GPIOA_OSPEEDR; write GPIOA_MODER.MODE0 1; read 0x58020000",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("GPIOA.MODER @ 0x58020000 = 0xabffffff"),
        "{out}"
    );
    assert!(
        out.contains("GPIOA.OSPEEDR @ 0x58020008 = 0x0c000000"),
        "{out}"
    );
    assert!(out.contains("0x58020000: 0xabfffffd"), "{out}");
}

#[test]
fn find_says_where_descriptions_are_on_the_builtin_set() {
    let sb = common::Sandbox::new();
    let o = sb
        .cmd(&["--sim", "-c", "find GPIOA_MODER.MODE1"])
        .env_remove("H7SH_SVD")
        .output()
        .unwrap();
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(err.contains("SVD: built-in STM32H755 "), "{err}");
    assert!(out.contains("GPIOA.MODER.MODE1 "), "{out}");
    assert!(out.contains("descriptions need ST's SVD file"), "{out}");
}
