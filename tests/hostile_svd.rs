//! Hostile SVDs and patches (issue 9): each used to panic, overflow the stack, or take
//! gigabytes or seconds; each must now be refused with an error naming the limit and where.

mod hostile_util;

use hostile_util::{device, field, load_error, peripheral, register, Env};

fn plain_register(name: &str, offset: u32) -> String {
    register(name, offset, "", &field("F", 0, 1))
}

#[test]
fn register_size_above_64_bits_is_refused_not_a_render_panic() {
    let env = Env::new();
    let svd = device(&peripheral(
        "P",
        0x4000_0000,
        &register("WIDE", 0, "<size>262136</size>", &field("F", 0, 1)),
    ));
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(e.contains("register WIDE: size 262136 bits"), "{e}");
}

#[test]
fn huge_field_width_and_field_outside_its_register_are_refused() {
    let env = Env::new();
    let svd = device(&peripheral(
        "P",
        0x4000_0000,
        &register("R", 0, "", &field("HUGE", 0, 4_000_000_000)),
    ));
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(e.contains("field R.HUGE"), "{e}");
    // Bit 63 of a 32-bit register: was accepted, and a write to it "wrote 0x8000000000000000".
    let svd = device(&peripheral(
        "P",
        0x4000_0000,
        &register("R", 0, "", &field("TOP", 63, 1)),
    ));
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(
        e.contains("field R.TOP: bits 63..64 do not lie inside the 32-bit register"),
        "{e}"
    );
}

#[test]
fn deep_xml_nesting_is_refused_before_parsing() {
    let env = Env::new();
    let deep = format!("{}{}", "<x>".repeat(30_000), "</x>".repeat(30_000));
    let svd = device(&format!(
        "<peripheral><name>P</name><baseAddress>0</baseAddress><description>{deep}</description></peripheral>"
    ));
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(e.contains("nested more than 64 deep (at <x>)"), "{e}");
    assert!(e.contains("line 12"), "{e}");
}

#[test]
fn ten_thousand_nested_clusters_are_refused() {
    let env = Env::new();
    let mut inner = plain_register("R", 0);
    for i in 0..10_000 {
        inner =
            format!("<cluster><name>C{i}</name><addressOffset>0</addressOffset>{inner}</cluster>");
    }
    let svd = device(&peripheral("P", 0x4000_0000, &inner));
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(e.contains("elements nested more than 64 deep"), "{e}");
}

#[test]
fn long_peripheral_derivation_chains_are_refused_short_ones_work() {
    let env = Env::new();
    let chain = |n: usize| {
        let mut s = peripheral("P0", 0x4000_0000, &plain_register("R", 0));
        for i in 1..n {
            s.push_str(&format!(
                "<peripheral derivedFrom=\"P{}\"><name>P{i}</name><baseAddress>{:#x}</baseAddress></peripheral>\n",
                i - 1,
                0x4000_0000 + i * 0x400
            ));
        }
        device(&s)
    };
    let e = load_error(env.load(Some(&chain(3_000)), &[]));
    assert!(e.contains("derivedFrom chain is longer than 32"), "{e}");
    let views = env.load(Some(&chain(20)), &[]).unwrap();
    assert!(views.cm7.resolve("P19.R.F").is_ok());
}

#[test]
fn long_register_derivation_chains_are_refused() {
    let env = Env::new();
    let mut regs = plain_register("R0", 0);
    for i in 1..10_000u32 {
        regs.push_str(&format!(
            "<register derivedFrom=\"R{}\"><name>R{i}</name><addressOffset>{:#x}</addressOffset></register>",
            i - 1,
            i * 4
        ));
    }
    let svd = device(&peripheral("P", 0x4000_0000, &regs));
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(
        e.contains("register R33: its derivedFrom chain is longer than 32"),
        "{e}"
    );
}

#[test]
fn huge_arrays_are_refused_before_allocation() {
    let env = Env::new();
    for (dim, index) in [("4294967296", "0-4294967295"), ("10000000", "")] {
        let index = if index.is_empty() {
            String::new()
        } else {
            format!("<dimIndex>{index}</dimIndex>")
        };
        let svd = device(&peripheral(
            "P",
            0x4000_0000,
            &register(
                "R%s",
                0,
                &format!("<dim>{dim}</dim><dimIncrement>4</dimIncrement>{index}"),
                &field("F", 0, 1),
            ),
        ));
        let e = load_error(env.load(Some(&svd), &[]));
        assert!(e.contains("more than the limit of 65536"), "{e}");
    }
}

#[test]
fn xml_entities_are_refused() {
    let env = Env::new();
    let svd = device("").replacen(
        "<device",
        "<!DOCTYPE device [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>\n<device",
        1,
    );
    let e = load_error(env.load(Some(&svd), &[]));
    assert!(e.contains("entities"), "{e}");
}

#[test]
fn an_invalid_glob_in_a_user_patch_is_an_error_not_a_panic() {
    let env = Env::new();
    let p = env.write("bad.yaml", "\"[\":\n  _modify:\n    description: x\n");
    let e = load_error(env.load(None, &[p]));
    assert!(e.contains("`[` is not a valid name pattern"), "{e}");
    let p = env.write("bad2.yaml", "FLASH:\n  _delete: [\"ACR,[z\"]\n");
    let e = load_error(env.load(None, &[p]));
    assert!(e.contains("FLASH._delete: `ACR,[z`"), "{e}");
}

#[test]
fn include_cycles_are_refused() {
    let env = Env::new();
    let p = env.write("self.yaml", "_include: [self.yaml]\n");
    let e = load_error(env.load(None, &[p]));
    assert!(e.contains("`_include` cycle"), "{e}");
    env.write("a.yaml", "_include: [b.yaml]\n");
    env.write("b.yaml", "FLASH:\n  _include: [a.yaml]\n");
    let e = load_error(env.load(None, &[env.path("a.yaml")]));
    assert!(e.contains("a.yaml -> ") && e.contains("b.yaml -> "), "{e}");
    // A diamond is not a cycle.
    env.write("d.yaml", "_modify:\n  FLASH:\n    description: from d\n");
    env.write("l.yaml", "_include: [d.yaml]\n");
    env.write("r.yaml", "_include: [d.yaml]\n");
    let top = env.write("top.yaml", "_include: [l.yaml, r.yaml]\n");
    env.load(None, &[top]).unwrap();
}

#[test]
fn yaml_alias_bombs_and_deep_yaml_are_refused() {
    let env = Env::new();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    // 10^7 nodes once expanded: past the limit, yet small enough that the old code survived it.
    for i in 1..7 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    let p = env.write("bomb.yaml", &bomb);
    let e = load_error(env.load(None, &[p]));
    assert!(e.contains("aliases expand to more than 1000000"), "{e}");
    let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let p = env.write("deep.yaml", deep);
    let e = load_error(env.load(None, &[p]));
    assert!(
        e.contains("nested more than 64 deep") || e.contains("recursion limit exceeded"),
        "{e}"
    );
}

#[test]
fn special_and_oversized_svd_and_patch_files_are_refused() {
    let env = Env::new();
    let mut o = env.opts();
    o.svd = Some("/dev/zero".into());
    let e = load_error(h7sh::svd::load(&o));
    assert!(
        e.contains("a device: a SVD file must be a regular file"),
        "{e}"
    );
    let mut o = env.opts();
    o.patches = vec![env.dir.path().to_path_buf()];
    let e = load_error(h7sh::svd::load(&o));
    assert!(e.contains("directory"), "{e}");
    // The config file's `svd = "/dev/zero"`.
    env.write("config/config.toml", "svd = \"/dev/zero\"\n");
    let e = load_error(h7sh::svd::load(&env.opts()));
    assert!(e.contains("/dev/zero") && e.contains("device"), "{e}");
}
