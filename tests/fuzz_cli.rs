//! Fuzz target: the command line (lexer, parser, and executing what parses on the virtual
//! board). Generated lines mix command names, hostile tokens and random text; nothing may
//! panic, every error must carry a hint. Bounded: a few hundred cases (seconds).

mod hostile_util;

use hostile_util::{fuzz_session, HOSTILE_TOKENS};
use proptest::prelude::*;
use std::cell::RefCell;

fn word() -> impl Strategy<Value = String> {
    let names: Vec<String> = h7sh::lang::commands()
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    prop_oneof![
        3 => proptest::sample::select(names),
        3 => proptest::sample::select(HOSTILE_TOKENS).prop_map(String::from),
        2 => any::<u64>().prop_map(|n| format!("{n:#x}")),
        2 => "[ -~]{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(16).collect()),
        1 => (1usize..3000).prop_map(|n| "[".repeat(n)),
    ]
}

/// Arguments commands take: names, values, keywords, operators.
const PLAUSIBLE: &[&str] = &[
    "RCC_CR",
    "RCC_CR.HSION",
    "DBGMCU.CR",
    "FLASH",
    "GPIOA",
    "0x58024400",
    "0x24000000",
    "1",
    "0",
    "4",
    "16",
    "==",
    "!=",
    "&",
    "timeout",
    "10",
    "cm7",
    "cm4",
    "system",
    "core",
    "stats",
    "wait",
    "BCM4=1",
    "RDP=0xCC",
    "RCC*",
    "*",
    "reset",
    "ap",
    "3",
];

fn statement() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = h7sh::lang::commands().iter().map(|c| c.name).collect();
    let arg = prop_oneof![
        8 => proptest::sample::select(PLAUSIBLE).prop_map(String::from),
        2 => word(),
    ];
    (
        proptest::sample::select(names),
        proptest::collection::vec(arg, 0..4),
    )
        .prop_map(|(n, args)| {
            std::iter::once(n.to_string())
                .chain(args)
                .collect::<Vec<_>>()
                .join(" ")
        })
}

fn line() -> impl Strategy<Value = String> {
    let part = prop_oneof![6 => statement(), 1 => word()];
    proptest::collection::vec((part, prop_oneof![Just(";"), Just("\n")]), 0..4)
        .prop_map(|ws| ws.into_iter().map(|(w, sep)| w + sep).collect())
}

/// Commands that write files or end the session are not executed.
fn executable(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or_default();
    !matches!(
        h7sh::lang::lookup(first).map(|c| c.name),
        Some("record" | "report" | "run" | "quit")
    )
}

proptest! {
    #![proptest_config(hostile_util::fuzz_config(512))]

    #[test]
    fn parsing_never_panics(input in line()) {
        if let Err(e) = h7sh::lang::parse(&input) {
            prop_assert!(!e.hint.is_empty(), "no hint for {:?}: {}", input, e.message);
            prop_assert!(e.line >= 1 && e.column >= 1);
        }
    }
}

thread_local! {
    static SESSION: RefCell<Option<h7sh::session::Session>> = const { RefCell::new(None) };
}

proptest! {
    #![proptest_config(hostile_util::fuzz_config(256))]

    #[test]
    fn executing_what_parses_never_panics(input in line()) {
        let Ok(commands) = h7sh::lang::parse(&input) else { return Ok(()) };
        SESSION.with(|cell| {
            let mut cell = cell.borrow_mut();
            let s = cell.get_or_insert_with(fuzz_session);
            for cmd in commands {
                let line = cmd.to_line();
                if !executable(&line) {
                    continue;
                }
                // The canonical form parses back to the same command.
                let again = h7sh::lang::parse(&line).expect("to_line parses back");
                assert_eq!(again, vec![cmd.clone()], "{line}");
                if let Err(e) = s.execute(&cmd) {
                    assert!(!e.hint().is_empty() || matches!(e, h7sh::session::ShellError::Interrupted), "no hint for `{line}`: {e}");
                }
            }
        });
    }
}

/// Found by `executing_what_parses_never_panics`: a script error from rhai itself (an unknown
/// variable) came with no hint.
#[test]
fn rhai_errors_in_eval_carry_a_hint() {
    let mut s = hostile_util::fuzz_session();
    for line in ["eval system != RCC_CR", "eval throw 3", "eval [1][5]"] {
        let cmd = h7sh::lang::parse(line).unwrap().remove(0);
        let e = s.execute(&cmd).expect_err(line);
        assert!(!e.hint().is_empty(), "no hint for `{line}`: {e}");
    }
}
