//! Name resolution: a table of name forms and what each must resolve to, and of bad inputs
//! and the error each gives. Runs on the built-in register set always, and on ST's
//! STM32H755_CM7.svd when `H7SH_SVD_DIR` is set.

use std::sync::Arc;

use h7sh::svd::{load, load_builtin, Device, LoadOptions, ResolveError, Resolved};

/// (input, canonical name it must resolve to)
const FORMS: &[(&str, &str)] = &[
    ("FLASH", "FLASH"),
    ("flash", "FLASH"),
    ("Flash", "FLASH"),
    ("FLASH.OPTSR_CUR", "FLASH.OPTSR_CUR"),
    ("FLASH_OPTSR_CUR", "FLASH.OPTSR_CUR"),
    ("flash_optsr_cur", "FLASH.OPTSR_CUR"),
    ("FLASH.OPTSR_CUR.BCM4", "FLASH.OPTSR_CUR.BCM4"),
    ("FLASH_OPTSR_CUR.BCM4", "FLASH.OPTSR_CUR.BCM4"),
    ("flash_optsr_cur.bcm4", "FLASH.OPTSR_CUR.BCM4"),
    ("Flash.OptSr_Prg.Bcm7", "FLASH.OPTSR_PRG.BCM7"),
    ("  FLASH.OPTSR_PRG.BCM4  ", "FLASH.OPTSR_PRG.BCM4"),
    ("FLASH_BOOT4_PRG.BCM4_ADD0", "FLASH.BOOT4_PRG.BCM4_ADD0"),
    ("RCC_GCR.BOOT_C2", "RCC.GCR.BOOT_C2"),
    ("rcc.gcr.boot_c1", "RCC.GCR.BOOT_C1"),
    ("RCC_CR.D2CKRDY", "RCC.CR.D2CKRDY"),
    ("DBGMCU_CR.DBGSTOP_D2", "DBGMCU.CR.DBGSTOP_D2"),
    ("PWR_CPU2CR", "PWR.CPU2CR"),
    ("PWR.CPU2CR.SBF_D2", "PWR.CPU2CR.SBF_D2"),
    ("SYSCFG_UR1.BCM4", "SYSCFG.UR1.BCM4"),
    ("DCB.DHCSR", "DCB.DHCSR"),
    ("DCB_DHCSR.S_LOCKUP", "DCB.DHCSR.S_LOCKUP"),
    ("SCB_AIRCR.SYSRESETREQ", "SCB.AIRCR.SYSRESETREQ"),
    ("NVIC.ISER[0]", "NVIC.ISER[0]"),
    ("nvic_iser[7]", "NVIC.ISER[7]"),
    ("NVIC.IPR[59].PRI_3", "NVIC.IPR[59].PRI_3"),
    ("DWT.FUNCTION[3].MATCHED", "DWT.FUNCTION[3].MATCHED"),
    ("FPB.FP_COMP[7]", "FPB.FP_COMP[7]"),
];

/// HSEM registers: ST calls them HSEM_R0, the built-in set R0; both spellings must work.
const HSEM_FORMS: &[&str] = &["HSEM_R0", "hsem_r0", "HSEM.R0", "hsem.r0"];

fn check_forms(d: &Device) {
    for (input, want) in FORMS {
        match d.resolve(input) {
            Ok(r) => assert_eq!(d.canonical_name(r), *want, "{input}"),
            Err(e) => panic!("{input}: {e} ({})", e.hint()),
        }
    }
    let first = d.resolve(HSEM_FORMS[0]).expect("HSEM_R0");
    assert!(matches!(first, Resolved::Register(_)));
    for f in HSEM_FORMS {
        assert_eq!(d.resolve(f).expect(f), first, "{f}");
    }
    let Resolved::Register(id) = first else {
        unreachable!()
    };
    assert_eq!(d.register(id).address, 0x58026400);
    let lock = d.resolve("HSEM_R0.LOCK").expect("HSEM_R0.LOCK");
    assert!(matches!(lock, Resolved::Field(_)));
}

fn check_errors(d: &Device) {
    assert_eq!(d.resolve(""), Err(ResolveError::Empty));
    assert_eq!(d.resolve("   "), Err(ResolveError::Empty));
    assert!(matches!(
        d.resolve("FLASH OPTSR"),
        Err(ResolveError::Invalid { .. })
    ));
    assert!(matches!(
        d.resolve("§$%&/()"),
        Err(ResolveError::Invalid { .. })
    ));
    assert!(matches!(
        d.resolve("...."),
        Err(ResolveError::Unknown { .. })
    ));
    assert!(matches!(
        d.resolve("FLASH.OPTSR_CUR.BCM4.X"),
        Err(ResolveError::Unknown { .. })
    ));
    // Typos get "did you mean".
    for (typo, want) in [
        ("FLASH.OPTSR_CURR.BCM4", "FLASH.OPTSR_CUR.BCM4"),
        ("FLASH.OPTSR_CUR.BMC4", "FLASH.OPTSR_CUR.BCM4"),
        ("FLASH_OPTSR_PGR", "FLASH_OPTSR_PRG"),
        ("RCC_GCR.BOOT_C", "RCC_GCR.BOOT_C1"),
        ("DBGMCU.CR.DBGSTOP_D", "DBGMCU.CR.DBGSTOP_D1"),
        ("FLSH", "FLASH"),
    ] {
        match d.resolve(typo) {
            Err(e @ ResolveError::Unknown { .. }) => {
                let ResolveError::Unknown { suggestions, .. } = &e else {
                    unreachable!()
                };
                assert!(
                    suggestions.iter().any(|s| s.eq_ignore_ascii_case(want)),
                    "{typo}: {suggestions:?}"
                );
                assert!(e.hint().contains("did you mean"), "{typo}");
            }
            other => panic!("{typo}: {other:?}"),
        }
    }
    // Nothing close: no suggestion, but still a hint.
    match d.resolve("QQQQQQQQQQQQQQQ") {
        Err(e @ ResolveError::Unknown { .. }) => assert!(!e.hint().is_empty()),
        other => panic!("{other:?}"),
    }
    // Long garbage must not take long or panic.
    let long = "A_".repeat(5000);
    assert!(d.resolve(&long).is_err());
}

fn check_misc(d: &Device) {
    // Address to name.
    let id = d.name_at(0x5200201C).expect("OPTSR_CUR address");
    assert_eq!(d.canonical_name(Resolved::Register(id)), "FLASH.OPTSR_CUR");
    let id = d.name_at(0xE000EDF0).expect("DHCSR address");
    assert_eq!(d.canonical_name(Resolved::Register(id)), "DCB.DHCSR");
    assert_eq!(d.name_at(0xFFFF_FFF0), None);
    // find
    let hits = d.find("optsr*bcm4");
    let names: Vec<String> = hits.iter().map(|&r| d.canonical_name(r)).collect();
    assert!(
        names.contains(&"FLASH.OPTSR_CUR.BCM4".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"FLASH.OPTSR_PRG.BCM4".to_string()),
        "{names:?}"
    );
    assert!(d.find("zzzzqqq").is_empty());
    // Completion: both notations, sorted, bounded.
    let c = d.complete("FLASH_OPTSR_CUR.BC");
    assert_eq!(c, vec!["FLASH_OPTSR_CUR.BCM4", "FLASH_OPTSR_CUR.BCM7"]);
    let c = d.complete("flash.optsr");
    assert!(c.contains(&"FLASH.OPTSR_CUR".to_string()), "{c:?}");
    assert!(c.contains(&"FLASH.OPTSR_PRG".to_string()), "{c:?}");
    let c = d.complete("RCC");
    assert!(c.contains(&"RCC.GCR".to_string()) && c.contains(&"RCC_GCR".to_string()));
    for p in ["", "R", "rcc", "FLASH_OPTSR_CUR.BC", "x.y.z.", "["] {
        let c = d.complete(p);
        assert!(c.len() <= h7sh::svd::COMPLETION_LIMIT);
        let mut sorted = c.clone();
        sorted.sort_by_key(|s| s.to_ascii_lowercase());
        assert_eq!(c, sorted, "{p:?} sorted");
    }
    // Enum lookup.
    let Ok(Resolved::Field(f)) = d.resolve("FLASH.OPTSR_PRG.BCM4") else {
        panic!()
    };
    assert_eq!(d.enum_value(f, "enabled"), Some(1));
    assert_eq!(d.enum_value(f, "nonsense"), None);
}

#[test]
fn builtin_set_resolves_bring_up_names() {
    let v = load_builtin();
    assert_eq!(v.cm7.name, "STM32H755_CM7");
    assert!(v.source_line.contains("built-in"));
    assert!(v.source_line.contains("--svd FILE"));
    for d in [&v.cm7, &v.cm4] {
        check_forms(d);
        check_errors(d);
        check_misc(d);
        // Facts only: `find` has no descriptions to search.
        assert!(d.find("boot enable").is_empty());
    }
    assert_eq!(v.cm4.cpu.as_deref(), Some("CM4"));
}

fn st() -> Option<Arc<Device>> {
    let dir = h7sh::svd::testing::st_svd_dir_or_skip("the ST name tests")?;
    let v = load(&LoadOptions {
        svd: Some(dir.join("STM32H755_CM7.svd")),
        use_cache: false,
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    })
    .expect("load");
    Some(v.cm7)
}

#[test]
fn st_svd_resolves_the_same_names() {
    let Some(d) = st() else { return };
    check_forms(&d);
    check_errors(&d);
    check_misc(&d);
    assert!(
        !d.find("boot enable").is_empty(),
        "descriptions are searched"
    );
    // ST-only spellings.
    for (input, want) in [
        ("HSEM.HSEM_R0", "HSEM.HSEM_R0"),
        ("HSEM_HSEM_R0", "HSEM.HSEM_R0"),
        ("hsem.c1ier", "HSEM.HSEM_C1IER"),
        ("HSEM_C1IER", "HSEM.HSEM_C1IER"),
        ("GPIOA.MODER", "GPIOA.MODER"),
        ("GPIOB_ODR.OD5", "GPIOB.ODR.OD5"),
        ("gpiok_afrl", "GPIOK.AFRL"),
        ("USART1_CR1.UE", "USART1.CR1.UE"),
    ] {
        let r = d.resolve(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(d.canonical_name(r), want, "{input}");
    }
}

#[test]
fn ambiguous_and_clusters_from_a_small_svd() {
    // A device whose `_` spellings clash, with a cluster array and a register array.
    let dir = tempfile::tempdir().unwrap();
    let svd = dir.path().join("T_CM7.svd");
    std::fs::write(&svd, SMALL_SVD).unwrap();
    let v = load(&LoadOptions {
        svd: Some(svd),
        use_cache: false,
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    })
    .expect("load");
    let d = &v.cm7;
    match d.resolve("A_B_C") {
        Err(e @ ResolveError::Ambiguous { .. }) => {
            let ResolveError::Ambiguous { candidates, .. } = &e else {
                unreachable!()
            };
            assert_eq!(candidates, &vec!["A.B_C".to_string(), "A_B.C".to_string()]);
            assert!(e.hint().contains("A.B_C"));
        }
        other => panic!("{other:?}"),
    }
    // Dotted forms are exact.
    assert_eq!(d.canonical_name(d.resolve("a.b_c").unwrap()), "A.B_C");
    assert_eq!(d.canonical_name(d.resolve("a_b.c").unwrap()), "A_B.C");
    // Field only exists in one of the two: resolved.
    assert_eq!(
        d.canonical_name(d.resolve("A_B_C.ONLY").unwrap()),
        "A.B_C.ONLY"
    );
    // Cluster arrays and register arrays.
    for (input, want, addr) in [
        (
            "P.CL[2].REG",
            "P.CL[2].REG",
            0x1000_0000u64 + 0x100 + 2 * 0x10 + 4,
        ),
        ("p_cl[0].reg", "P.CL[0].REG", 0x1000_0104),
        ("P.AFR[1]", "P.AFR[1]", 0x1000_0024),
        ("P_AFR[0].AFSEL0", "P.AFR[0].AFSEL0", 0x1000_0020),
        ("P.AFR[1].AFSEL7", "P.AFR[1].AFSEL7", 0x1000_0024),
    ] {
        let r = d.resolve(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(d.canonical_name(r), want);
        let reg = match r {
            Resolved::Register(id) => d.register(id),
            Resolved::Field(f) => d.register(f.reg),
            Resolved::Peripheral(_) => panic!(),
        };
        assert_eq!(reg.address, addr, "{input}");
    }
    let Ok(Resolved::Field(f)) = d.resolve("P.AFR[1].AFSEL7") else {
        panic!()
    };
    assert_eq!(d.field(f).lsb, 28);
    assert!(d.resolve("P.CL[3].REG").is_err());
    // Completion into a cluster.
    assert_eq!(d.complete("p.cl[1]."), vec!["P.CL[1].REG"]);
    // The Cortex-M block is merged here too.
    assert!(d.resolve("DCB.DHCSR").is_ok());
    // Derived peripheral.
    assert_eq!(
        d.canonical_name(d.resolve("Q.CL[1].REG").unwrap()),
        "Q.CL[1].REG"
    );
}

const SMALL_SVD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1">
  <name>TEST</name>
  <version>1</version>
  <description>test</description>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <size>32</size>
  <resetValue>0</resetValue>
  <resetMask>0xFFFFFFFF</resetMask>
  <peripherals>
    <peripheral>
      <name>A</name>
      <baseAddress>0x20000000</baseAddress>
      <registers>
        <register><name>B_C</name><description>x</description><addressOffset>0</addressOffset>
          <fields><field><name>ONLY</name><bitOffset>0</bitOffset><bitWidth>1</bitWidth></field></fields>
        </register>
      </registers>
    </peripheral>
    <peripheral>
      <name>A_B</name>
      <baseAddress>0x30000000</baseAddress>
      <registers>
        <register><name>C</name><description>y</description><addressOffset>0</addressOffset></register>
      </registers>
    </peripheral>
    <peripheral>
      <name>P</name>
      <baseAddress>0x10000000</baseAddress>
      <registers>
        <register>
          <dim>2</dim><dimIncrement>4</dimIncrement>
          <name>AFR[%s]</name><description>alternate function</description><addressOffset>0x20</addressOffset>
          <fields>
            <field><dim>8</dim><dimIncrement>4</dimIncrement><name>AFSEL%s</name><bitOffset>0</bitOffset><bitWidth>4</bitWidth></field>
          </fields>
        </register>
        <cluster>
          <dim>3</dim><dimIncrement>0x10</dimIncrement>
          <name>CL[%s]</name><description>cluster</description><addressOffset>0x100</addressOffset>
          <register><name>REG</name><description>in cluster</description><addressOffset>4</addressOffset></register>
        </cluster>
      </registers>
    </peripheral>
    <peripheral derivedFrom="P">
      <name>Q</name>
      <baseAddress>0x11000000</baseAddress>
    </peripheral>
  </peripherals>
</device>
"#;
