//! Fuzz target: scenario TOML files (`--sim FILE.toml`). Generated scenarios combine the real
//! keys with hostile values (huge, negative and odd numbers, special files, long strings,
//! unknown keys, wrong types); loading one and building its chip must give a board or an
//! error with a hint. Bounded: 512 cases per test.

mod hostile_util;

use h7sh::sim::chip::Chip;
use h7sh::sim::scenario::Scenario;
use hostile_util::Env;
use proptest::prelude::*;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("4294967295".to_string()),
        Just("0x08000000".to_string()),
        Just("0x081FFFF0".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("true".to_string()),
        Just("\"/dev/zero\"".to_string()),
        Just("\"img.bin\"".to_string()),
        Just("\"img.hex\"".to_string()),
        Just("\"missing.bin\"".to_string()),
        Just("\"st-template-cm7\"".to_string()),
        Just("\"\u{202e}é\"".to_string()),
        (0usize..5000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        Just("[1, 2, 3]".to_string()),
        (1usize..200).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
    ]
}

/// (table, keys) pairs of the scenario format, plus one that does not exist.
const TABLES: &[(&str, &[&str])] = &[
    ("", &["name", "description"]),
    ("board", &["supply", "boot0"]),
    (
        "option_bytes",
        &["BCM4", "BCM7", "RDP", "BOOT_CM4_ADD0", "NOPE"],
    ),
    ("cores.cm7", &["firmware", "supply_config"]),
    ("cores.cm4", &["firmware"]),
    ("dbgmcu", &["cr"]),
    ("flash", &["factory"]),
    (
        "[flash.image]",
        &["address", "file", "hex", "fill", "length"],
    ),
    ("faults", &["unplug_after"]),
    ("faults.wait_burst", &["after", "count"]),
    (
        "silicon",
        &[
            "nrst_bus",
            "unclocked_ap",
            "rdp1_debug_lock",
            "supply_mismatch",
            "nope",
        ],
    ),
    ("bogus", &["x"]),
];

fn scenario() -> impl Strategy<Value = String> {
    let entry = (0..TABLES.len()).prop_flat_map(|t| {
        let keys = TABLES[t].1;
        (
            Just(t),
            proptest::collection::vec((0..keys.len(), value()), 0..4),
        )
    });
    proptest::collection::vec(entry, 0..6).prop_map(|tables| {
        let mut s = String::new();
        let mut seen = std::collections::HashSet::new();
        for (t, kvs) in tables {
            let (name, keys) = TABLES[t];
            let array = name.starts_with('[');
            if !array && !seen.insert(t) {
                continue;
            }
            if !name.is_empty() {
                s.push_str(&format!("[{name}]\n"));
            } else if !s.is_empty() {
                continue;
            }
            let mut used = std::collections::HashSet::new();
            for (k, v) in kvs {
                if used.insert(k) {
                    s.push_str(&format!("{} = {v}\n", keys[k]));
                }
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(hostile_util::fuzz_config(512))]

    #[test]
    fn loading_any_scenario_never_panics(text in scenario()) {
        let env = Env::new();
        env.write("img.bin", [0xA5u8; 64]);
        env.write("img.hex", ":0400000008000000F4\n:00000001FF\n");
        let path = env.write("s.toml", &text);
        match Scenario::load(path.to_str().unwrap()) {
            Ok(sc) => {
                if let Err(e) = Chip::new(&sc) {
                    prop_assert!(!e.hint().is_empty());
                }
            }
            Err(e) => prop_assert!(!e.hint().is_empty()),
        }
    }

    #[test]
    fn any_bytes_as_a_scenario_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = Scenario::from_toml_str(&text, "fuzz", None) {
            prop_assert!(!e.hint().is_empty());
        }
    }
}
