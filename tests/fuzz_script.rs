//! Fuzz target: the script API. Generated Rhai programs call the shell functions with hostile
//! arguments (extreme integers, odd strings, deep arrays and maps, wrong types), loop, recurse
//! and build large values, under small limits; each run must end with a value or an error
//! with a hint, never a panic, an abort or a hang. Bounded: 192 cases.

mod hostile_util;

use hostile_util::{fuzz_session, HOSTILE_TOKENS};
use proptest::prelude::*;
use std::cell::RefCell;

const FUNCTIONS: &[(&str, usize)] = &[
    ("read", 1),
    ("fields", 1),
    ("write", 2),
    ("write_fields", 2),
    ("mem8", 2),
    ("mem32", 2),
    ("write32", 2),
    ("wait", 3),
    ("wait", 4),
    ("sleep", 1),
    ("sh", 1),
    ("shell", 1),
    ("core", 1),
    ("ap", 1),
    ("reg", 1),
    ("set_reg", 2),
    ("hex", 1),
    ("ob_set", 1),
    ("snap", 1),
    ("diff", 2),
    ("fail", 1),
    ("status", 0),
    ("regs", 0),
    ("identity", 0),
    ("halt", 0),
    ("step", 0),
];

fn arg() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        (0i64..100_000).prop_map(|n| n.to_string()),
        proptest::sample::select(HOSTILE_TOKENS).prop_map(|t| format!("{t:?}")),
        Just("\"sim wait 100000000000\"".to_string()),
        Just("\"run x.rhai\"".to_string()),
        Just("\"record /tmp/x\"".to_string()),
        Just("#{BCM4: 1, RDP: 0xCC}".to_string()),
        Just("()".to_string()),
        Just("1.5".to_string()),
        (1usize..300).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
    ];
    leaf.boxed()
}

fn call() -> impl Strategy<Value = String> {
    proptest::sample::select(FUNCTIONS).prop_flat_map(|(f, n)| {
        proptest::collection::vec(arg(), n)
            .prop_map(move |args| format!("{f}({})", args.join(", ")))
    })
}

fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => call().prop_map(|c| format!("try {{ {c}; }} catch (e) {{ e.message; }}")),
        2 => call().prop_map(|c| format!("{c};")),
        1 => Just("let s = \"y\"; s.pad(2000000, \"z\"); let a = []; loop { a.push(s); }".to_string()),
        1 => Just("fn f(n) { f(n + 1) } f(0);".to_string()),
        1 => Just("loop { }".to_string()),
        1 => Just("let m = #{}; for i in 0..100000 { m[`${i}`] = i; }".to_string()),
    ]
}

thread_local! {
    static SESSION: RefCell<Option<h7sh::session::Session>> = const { RefCell::new(None) };
}

proptest! {
    #![proptest_config(hostile_util::fuzz_config(192))]

    #[test]
    fn any_script_ends_with_a_value_or_an_error(body in proptest::collection::vec(statement(), 1..6)) {
        let source = body.join("\n");
        SESSION.with(|cell| {
            let mut cell = cell.borrow_mut();
            let s = cell.get_or_insert_with(fuzz_session);
            if let Err(e) = h7sh::script::eval(s, &source) {
                assert!(!e.to_string().is_empty(), "{source}");
            }
            assert_eq!(s.script_depth(), 0, "{source}");
        });
    }
}
