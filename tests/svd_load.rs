//! Loading: cache behaviour, discovery order, malformed SVDs and bad patches.

use std::fs;
use std::path::PathBuf;

use h7sh::svd::{cache_file_for, load, LoadOptions, Resolved, SvdError, SvdOrigin};

/// A small SVD: enough to exercise the pipeline without ST's 4 MB files.
const MINI: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1">
  <name>MINI_CM7</name>
  <version>1</version>
  <description>mini</description>
  <cpu><name>CM7</name><revision>r0p0</revision><endian>little</endian><mpuPresent>true</mpuPresent><fpuPresent>true</fpuPresent><nvicPrioBits>4</nvicPrioBits><vendorSystickConfig>false</vendorSystickConfig></cpu>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <size>32</size>
  <resetValue>0</resetValue>
  <resetMask>0xFFFFFFFF</resetMask>
  <peripherals>
    <peripheral>
      <name>TIM1</name>
      <baseAddress>0x40010000</baseAddress>
      <registers>
        <register><name>CR1</name><description>control</description><addressOffset>0</addressOffset>
          <fields><field><name>CEN</name><bitOffset>0</bitOffset><bitWidth>1</bitWidth></field></fields>
        </register>
      </registers>
    </peripheral>
  </peripherals>
</device>
"#;

const USER_PATCH: &str = r#"
TIM1:
  CR1:
    _add:
      UDIS:
        description: "Update disable"
        bitOffset: 1
        bitWidth: 1
    CEN:
      Off: [0, "Counter disabled"]
      On: [1, "Counter enabled"]
"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn write(&self, p: &str, text: &str) -> PathBuf {
        let path = self.path(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }
    /// Options isolated from the user's machine (no env, no vendor dirs, temp dirs).
    fn opts(&self) -> LoadOptions {
        LoadOptions {
            cache_dir: Some(self.path("cache")),
            config_dir: Some(self.path("config")),
            data_dir: Some(self.path("data")),
            use_env: false,
            search_vendor_dirs: false,
            ..LoadOptions::default()
        }
    }
}

fn field_exists(d: &h7sh::svd::Device, name: &str) -> bool {
    matches!(d.resolve(name), Ok(Resolved::Field(_)))
}

#[test]
fn second_load_comes_from_cache_and_corrupt_cache_is_rebuilt() {
    let env = Env::new();
    let svd = env.write("MINI_CM7.svd", MINI);
    let mut o = env.opts();
    o.svd = Some(svd.clone());
    let first = load(&o).unwrap();
    assert!(!first.from_cache);
    assert!(first.source_line.contains("parsed"));
    let second = load(&o).unwrap();
    assert!(second.from_cache, "{}", second.source_line);
    assert!(second.source_line.contains("from cache"));
    assert_eq!(
        first
            .cm7
            .canonical_name(first.cm7.resolve("tim1_cr1.cen").unwrap()),
        second
            .cm7
            .canonical_name(second.cm7.resolve("tim1_cr1.cen").unwrap())
    );
    // Corrupt the cache file: ignored, rebuilt, and the rebuilt one is used next time.
    let cache_file = cache_file_for(&env.path("cache"), &svd, &[]).unwrap();
    assert!(cache_file.is_file());
    fs::write(&cache_file, b"garbage that is not postcard").unwrap();
    let third = load(&o).unwrap();
    assert!(!third.from_cache);
    assert!(third.cm7.resolve("TIM1.CR1.CEN").is_ok());
    assert!(load(&o).unwrap().from_cache);
    // Truncated cache file: same.
    let bytes = fs::read(&cache_file).unwrap();
    fs::write(&cache_file, &bytes[..bytes.len() / 2]).unwrap();
    assert!(!load(&o).unwrap().from_cache);
    // use_cache = false never reads it.
    o.use_cache = false;
    assert!(!load(&o).unwrap().from_cache);
}

#[test]
fn changed_svd_or_patch_is_not_stale() {
    let env = Env::new();
    let svd = env.write("MINI_CM7.svd", MINI);
    let patch = env.write(
        "p.yaml",
        "TIM1:\n  CR1:\n    _add:\n      ARPE:\n        bitOffset: 7\n        bitWidth: 1\n",
    );
    let mut o = env.opts();
    o.svd = Some(svd.clone());
    o.patches = vec![patch.clone()];
    let v = load(&o).unwrap();
    assert!(field_exists(&v.cm7, "TIM1.CR1.ARPE"));
    assert!(load(&o).unwrap().from_cache);
    // Change the patch: the cached device must not be reused.
    fs::write(&patch, USER_PATCH).unwrap();
    let v = load(&o).unwrap();
    assert!(!v.from_cache);
    assert!(!field_exists(&v.cm7, "TIM1.CR1.ARPE"));
    assert!(field_exists(&v.cm7, "TIM1.CR1.UDIS"));
    // Change the SVD: same.
    fs::write(&svd, MINI.replace("0x40010000", "0x40020000")).unwrap();
    let v = load(&o).unwrap();
    assert!(!v.from_cache);
    let Ok(Resolved::Register(r)) = v.cm7.resolve("TIM1.CR1") else {
        panic!()
    };
    assert_eq!(v.cm7.register(r).address, 0x40020000);
}

#[test]
fn unwritable_cache_dir_is_no_cache() {
    let env = Env::new();
    let svd = env.write("MINI_CM7.svd", MINI);
    // A file where the cache dir should be: cannot create the folder.
    let blocker = env.write("blocker", "x");
    let mut o = env.opts();
    o.svd = Some(svd);
    o.cache_dir = Some(blocker.join("cache"));
    assert!(!load(&o).unwrap().from_cache);
    assert!(!load(&o).unwrap().from_cache);
}

#[test]
fn user_patches_apply_after_ours_with_enums() {
    let env = Env::new();
    let svd = env.write("MINI_CM7.svd", MINI);
    let patch = env.write("user.yaml", USER_PATCH);
    let mut o = env.opts();
    o.svd = Some(svd);
    o.patches = vec![patch];
    let v = load(&o).unwrap();
    let Ok(Resolved::Field(f)) = v.cm7.resolve("TIM1_CR1.CEN") else {
        panic!()
    };
    assert_eq!(v.cm7.enum_value(f, "on"), Some(1));
    assert!(v.source_line.contains("+1 patch,"), "{}", v.source_line);
}

#[test]
fn malformed_svd_names_the_file_and_line() {
    let env = Env::new();
    // An XML syntax error on line 3: svd-parser (roxmltree) reports the position.
    let bad = env.write(
        "BROKEN_CM7.svd",
        "<device>\n  <name>X</name>\n  <peripherals attr=>\n  </peripherals>\n</device>\n",
    );
    let mut o = env.opts();
    o.svd = Some(bad.clone());
    match load(&o) {
        Err(e @ SvdError::Malformed { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("BROKEN_CM7.svd"), "{msg}");
            let SvdError::Malformed { line, .. } = &e else {
                unreachable!()
            };
            assert_eq!(*line, Some(3), "{msg}");
            assert!(msg.contains("line 3"), "{msg}");
            assert!(!e.hint().is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Unclosed document: no position from the parser, the file is still named.
    let unclosed = env.write(
        "UNCLOSED.svd",
        "<device>\n  <name>X</name>\n  <peripherals>\n",
    );
    o.svd = Some(unclosed);
    match load(&o) {
        Err(e @ SvdError::Malformed { .. }) => assert!(e.to_string().contains("UNCLOSED.svd")),
        other => panic!("{other:?}"),
    }
    // Well-formed XML that is not a valid SVD (bad number).
    let invalid = env.write(
        "INVALID.svd",
        &MINI.replace("<bitWidth>1</bitWidth>", "<bitWidth>one</bitWidth>"),
    );
    o.svd = Some(invalid);
    match load(&o) {
        Err(e @ SvdError::Malformed { .. }) => {
            let SvdError::Malformed { line, .. } = &e else {
                unreachable!()
            };
            assert!(e.to_string().contains("INVALID.svd"), "{e}");
            assert!(line.is_some(), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Not an SVD at all.
    let junk = env.write("junk.svd", "this is not xml");
    o.svd = Some(junk);
    assert!(matches!(load(&o), Err(SvdError::Malformed { .. })));
    // Binary garbage.
    let bin = env.path("bin.svd");
    fs::write(&bin, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    o.svd = Some(bin);
    assert!(matches!(load(&o), Err(SvdError::Malformed { .. })));
    // Missing file.
    o.svd = Some(env.path("missing.svd"));
    match load(&o) {
        Err(e @ SvdError::Io { .. }) => assert!(e.to_string().contains("missing.svd")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_patch_names_the_patch() {
    let env = Env::new();
    let svd = env.write("MINI_CM7.svd", MINI);
    for (name, text) in [
        ("syntax.yaml", "TIM1: [unclosed"),
        ("scalar.yaml", "just a string"),
        ("empty.yaml", ""),
        ("unknown.yaml", "NOSUCH:\n  CR1:\n    X: [0, \"x\"]\n"),
        (
            "badfield.yaml",
            "TIM1:\n  CR1:\n    _modify:\n      NOSUCHFIELD:\n        name: Y\n",
        ),
    ] {
        let patch = env.write(name, text);
        let mut o = env.opts();
        o.svd = Some(svd.clone());
        o.patches = vec![patch];
        match load(&o) {
            Err(e @ SvdError::Patch { .. }) => {
                assert!(e.to_string().contains(name), "{name}: {e}");
                assert!(!e.hint().is_empty());
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let mut o = env.opts();
    o.svd = Some(svd);
    o.patches = vec![env.path("missing.yaml")];
    assert!(matches!(load(&o), Err(SvdError::Patch { .. })));
}

#[test]
fn discovery_order_config_data_dir_builtin() {
    let env = Env::new();
    // Nothing anywhere: built-in.
    let v = load(&env.opts()).unwrap();
    assert_eq!(v.origin, SvdOrigin::Builtin);
    assert!(v.source_line.contains("built-in"), "{}", v.source_line);
    assert!(v.cm7.resolve("FLASH.OPTSR_CUR.BCM4").is_ok());

    // Data dir: newest STM32H7x5/x7 _CM7.svd, with its _CM4 sibling.
    let data_svd = env.write(
        "data/svd/STM32H755_CM7.svd",
        &MINI.replace("MINI_CM7", "STM32H755_CM7_FAKE"),
    );
    env.write(
        "data/svd/STM32H755_CM4.svd",
        &MINI
            .replace("MINI_CM7", "STM32H755_CM4_FAKE")
            .replace("<name>CM7</name>", "<name>CM4</name>"),
    );
    env.write("data/svd/unrelated.svd", "not read");
    let v = load(&env.opts()).unwrap();
    assert!(matches!(v.origin, SvdOrigin::DataDir(_)), "{:?}", v.origin);
    assert_eq!(v.cm7_path.as_deref(), Some(data_svd.as_path()));
    assert_eq!(v.cm4.cpu.as_deref(), Some("CM4"));
    assert!(
        v.source_line.contains("STM32H755_CM4.svd"),
        "{}",
        v.source_line
    );

    // Config file wins over the data dir; relative paths are relative to the config dir.
    env.write("config/mine.svd", &MINI.replace("MINI_CM7", "FROM_CONFIG"));
    env.write("config/config.toml", "svd = \"mine.svd\"\n");
    let v = load(&env.opts()).unwrap();
    assert!(matches!(v.origin, SvdOrigin::Config(_)));
    assert_eq!(v.cm7.name, "FROM_CONFIG");
    // No _CM4 sibling: the CM7 file serves both views.
    assert_eq!(v.cm4.name, "FROM_CONFIG");

    // Explicit file wins over everything.
    let explicit = env.write("explicit.svd", &MINI.replace("MINI_CM7", "EXPLICIT"));
    let mut o = env.opts();
    o.svd = Some(explicit);
    let v = load(&o).unwrap();
    assert_eq!(v.origin, SvdOrigin::Explicit);
    assert_eq!(v.cm7.name, "EXPLICIT");

    // A broken config file is an error that names it.
    env.write("config/config.toml", "svd = [1, 2]\n");
    match load(&env.opts()) {
        Err(e @ SvdError::Config { .. }) => assert!(e.to_string().contains("config.toml")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn explicit_cm4_file() {
    let env = Env::new();
    let cm7 = env.write("a.svd", &MINI.replace("MINI_CM7", "A"));
    let cm4 = env.write(
        "b.svd",
        &MINI
            .replace("MINI_CM7", "B")
            .replace("<name>CM7</name>", "<name>CM4</name>"),
    );
    let mut o = env.opts();
    o.svd = Some(cm7);
    o.svd_cm4 = Some(cm4);
    let v = load(&o).unwrap();
    assert_eq!((v.cm7.name.as_str(), v.cm4.name.as_str()), ("A", "B"));
    let again = load(&o).unwrap();
    assert!(again.from_cache);
    assert_eq!(again.cm4.name, "B");
}

/// Issue 10 item 7: a config key h7sh does not read is an error that says where the setting
/// goes, never silently ignored.
#[test]
fn an_unknown_config_key_is_an_error_that_says_where_it_goes() {
    let env = Env::new();
    env.write("config/config.toml", "speed = 4000\n");
    let e = load(&env.opts()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("unknown key `speed`"), "{text}");
    assert!(text.contains("--speed KHZ"), "{text}");
    env.write("config/config.toml", "svd_patches = []\n");
    assert!(load(&env.opts()).is_ok());
}
