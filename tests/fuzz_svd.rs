//! Fuzz target: SVD files. Generated devices have random sizes, widths, offsets, arrays,
//! nested clusters and derivedFrom links (including cycles and dangling ones), and some get
//! hostile text spliced in; loading must give a device or an error with a hint, never a
//! panic, an abort or an unbounded allocation. Bounded: 256 cases (a few seconds).

mod hostile_util;

use hostile_util::{device, Env};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Reg {
    size: Option<u64>,
    offset: u32,
    derived: Option<usize>,
    dim: Option<(u64, String)>,
    fields: Vec<(u64, u64)>,
    clusters: usize,
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..80,
        1 => any::<u64>(),
        1 => Just(u64::from(u32::MAX)),
        1 => Just(262_136u64),
    ]
}

fn reg() -> impl Strategy<Value = Reg> {
    (
        proptest::option::of(number()),
        any::<u32>(),
        proptest::option::of(0usize..6),
        proptest::option::of((
            number(),
            prop_oneof![
                Just(String::new()),
                Just("0-4294967295".to_string()),
                Just("A,B,C".to_string()),
                "[0-9]{1,3}-[0-9]{1,12}",
            ],
        )),
        proptest::collection::vec((number(), number()), 0..4),
        prop_oneof![4 => Just(0usize), 1 => 0usize..80],
    )
        .prop_map(|(size, offset, derived, dim, fields, clusters)| Reg {
            size,
            offset,
            derived,
            dim,
            fields,
            clusters,
        })
}

fn render(periphs: &[(Option<usize>, Vec<Reg>)]) -> String {
    let mut out = String::new();
    for (p, (derived, regs)) in periphs.iter().enumerate() {
        let attr = derived.map_or(String::new(), |d| format!(" derivedFrom=\"P{d}\""));
        out.push_str(&format!(
            "<peripheral{attr}><name>P{p}</name><baseAddress>{:#x}</baseAddress><registers>",
            0x4000_0000u64 + p as u64 * 0x400
        ));
        for (r, reg) in regs.iter().enumerate() {
            let attr = reg
                .derived
                .map_or(String::new(), |d| format!(" derivedFrom=\"R{d}\""));
            let (name, dim) = match &reg.dim {
                Some((n, idx)) if !idx.is_empty() => (
                    format!("R{r}%s"),
                    format!(
                        "<dim>{n}</dim><dimIncrement>4</dimIncrement><dimIndex>{idx}</dimIndex>"
                    ),
                ),
                Some((n, _)) => (
                    format!("R{r}[%s]"),
                    format!("<dim>{n}</dim><dimIncrement>4</dimIncrement>"),
                ),
                None => (format!("R{r}"), String::new()),
            };
            let size = reg
                .size
                .map_or(String::new(), |s| format!("<size>{s}</size>"));
            let fields: String = reg
                .fields
                .iter()
                .enumerate()
                .map(|(i, (o, w))| {
                    format!("<field><name>F{i}</name><bitOffset>{o}</bitOffset><bitWidth>{w}</bitWidth></field>")
                })
                .collect();
            let mut x = format!(
                "<register{attr}>{dim}<name>{name}</name><addressOffset>{:#x}</addressOffset>{size}<fields>{fields}</fields></register>",
                reg.offset
            );
            for c in 0..reg.clusters {
                x = format!(
                    "<cluster><name>C{c}</name><addressOffset>0</addressOffset>{x}</cluster>"
                );
            }
            out.push_str(&x);
        }
        out.push_str("</registers></peripheral>\n");
    }
    out
}

/// Text spliced into a generated file at a random place.
const SPLICE: &[&str] = &[
    "<x><x><x><x><x><x><x><x>",
    "<!DOCTYPE d [<!ENTITY a \"aa\">]>",
    "&a;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "\u{0}",
    "é\u{202e}",
    "</peripheral>",
    "<dim>99999999999</dim>",
    "<size>0</size>",
    "'\"",
];

proptest! {
    #![proptest_config(hostile_util::fuzz_config(256))]

    #[test]
    fn loading_any_svd_never_panics(
        periphs in proptest::collection::vec(
            (proptest::option::of(0usize..8), proptest::collection::vec(reg(), 0..6)),
            1..8,
        ),
        splice in proptest::option::of((any::<proptest::sample::Index>(), proptest::sample::select(SPLICE))),
    ) {
        let mut text = device(&render(&periphs));
        if let Some((at, s)) = splice {
            let mut i = at.index(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text.insert_str(i, s);
        }
        let env = Env::new();
        match env.load(Some(&text), &[]) {
            Ok(v) => {
                // Whatever loaded is within the model's bounds.
                for p in &v.cm7.peripherals {
                    for r in &p.registers {
                        prop_assert!((1..=64).contains(&r.size), "{} size {}", r.name, r.size);
                        for f in &r.fields {
                            prop_assert!(f.lsb + f.width <= r.size, "{}.{}", r.name, f.name);
                        }
                    }
                }
            }
            Err(e) => prop_assert!(!e.hint().is_empty()),
        }
    }
}
