//! Fuzz target: svdtools YAML patches (`--svd-patch FILE`). Generated patches use glob-like
//! names (valid and not), the svdtools commands, nested `_include`s between a few files
//! (cycles included), anchors and aliases, and deep nesting; applying one to the built-in
//! register set must give a device or an error with a hint. Bounded: 192 cases.

mod hostile_util;

use hostile_util::Env;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "FLASH",
    "RCC",
    "RCC*",
    "GPIO?",
    "DBGMCU",
    "{RCC,FLASH}",
    "[",
    "[a-",
    "a{b",
    "*",
    "\\",
    "é",
    "\u{202e}",
    "PWR,[",
    "FLASH_*",
    "CR",
    "ACR",
    "OPTSR_*",
    "BCM4",
];
fn name() -> impl Strategy<Value = String> {
    let present = &["FLASH", "RCC", "PWR", "DBGMCU", "RCC*", "CR", "ACR"][..];
    prop_oneof![
        2 => proptest::sample::select(present),
        1 => proptest::sample::select(NAMES),
    ]
    .prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\")))
}

fn small() -> impl Strategy<Value = String> {
    prop_oneof![3 => (0i64..70).prop_map(|n| n.to_string()), 1 => any::<i64>().prop_map(|n| n.to_string())]
}

/// One svdtools command of a peripheral (or register) section.
fn command() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (name(), small()).prop_map(|(n, v)| format!("_modify: {{{n}: {{description: \"d\", size: {v}}}}}")),
        4 => (name(), name()).prop_map(|(a, b)| format!("_delete: [{a}, {b}]")),
        4 => name().prop_map(|n| format!("_strip: {n}")),
        4 => (name(), small(), small()).prop_map(|(n, o, w)| {
            format!("_add: {{{n}: {{description: \"d\", bitOffset: {o}, bitWidth: {w}, addressOffset: {o}}}}}")
        }),
        4 => (name(), small(), small()).prop_map(|(n, o, w)| {
            format!("{n}: {{_modify: {{{n}: {{bitOffset: {o}, bitWidth: {w}}}}}}}")
        }),
        1 => (1usize..300).prop_map(|n| format!("_delete: {}x{}", "[".repeat(n), "]".repeat(n))),
    ]
}

fn file() -> impl Strategy<Value = String> {
    let section = (name(), proptest::collection::vec(command(), 0..4));
    (
        proptest::collection::vec(section, 1..4),
        proptest::option::weighted(
            0.25,
            proptest::sample::select(&["inc0.yaml", "inc1.yaml", "top.yaml"][..]),
        ),
        proptest::option::weighted(0.2, 1usize..12),
    )
        .prop_map(|(sections, include, aliases)| {
            let mut s = String::new();
            if let Some(f) = include {
                s.push_str(&format!("_include: [{f}]\n"));
            }
            let mut seen = std::collections::HashSet::new();
            for (n, cmds) in sections {
                if !seen.insert(n.clone()) {
                    continue;
                }
                s.push_str(&format!("{n}:\n"));
                let mut used = std::collections::HashSet::new();
                for c in cmds {
                    let key = c.split(':').next().unwrap_or_default().to_string();
                    if used.insert(key) {
                        s.push_str(&format!("  {c}\n"));
                    }
                }
            }
            // Aliases of aliases: each level ten times the one before.
            if let Some(levels) = aliases {
                s.push_str("DBGMCU:\n  _delete: &a0 [CR, CR, CR, CR, CR, CR, CR, CR, CR, CR]\n");
                for i in 1..levels {
                    s.push_str(&format!(
                        "DBGMCU{i}:\n  _delete: &a{i} [{}]\n",
                        vec![format!("*a{}", i - 1); 10].join(", ")
                    ));
                }
            }
            s
        })
}

proptest! {
    #![proptest_config(hostile_util::fuzz_config(192))]

    #[test]
    fn applying_any_patch_never_panics(top in file(), inc0 in file(), inc1 in file()) {
        let env = Env::new();
        env.write("inc0.yaml", &inc0);
        env.write("inc1.yaml", &inc1);
        let p = env.write("top.yaml", &top);
        if let Err(e) = env.load(None, &[p]) {
            prop_assert!(!e.hint().is_empty());
        }
    }
}
