//! The toolkit's script functions: ob(), ob_set(), doctor(), snap(), diff().

mod common;
use common::*;

#[test]
fn toolkit_functions_from_a_script() {
    let sb = Sandbox::new();
    let script = sb.dir.path().join("tk.rhai");
    std::fs::write(
        &script,
        r#"
let d = doctor();
print(`finding ${d.findings[0].id}`);
snap("before", ["RCC"]);
write("RCC_GCR.BOOT_C2", 1);
let df = diff("before", ["RCC"]);
if !df.text.contains("BOOT_C2") { fail("diff misses BOOT_C2"); }
ob_set(#{BCM4: 1});
print(`BCM4 now ${read("FLASH_OPTSR_CUR.BCM4")}`);
let o = ob();
if !o.text.contains("BCM4") { fail("ob misses BCM4"); }
"#,
    )
    .unwrap();
    let o = sb.run(&["--sim", "bcm4-off", "--yes", script.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("finding cm4-not-booted"), "{out}");
    assert!(out.contains("BCM4 now 1"), "{out}");
}

#[test]
fn ob_set_from_a_script_needs_yes() {
    let sb = Sandbox::new();
    let script = sb.dir.path().join("ob.rhai");
    std::fs::write(&script, "ob_set(#{BCM4: 1});\n").unwrap();
    let o = sb.run(&["--sim", "bcm4-off", script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ob.rhai:1:"),
        "error has file:line:col: {}",
        stderr(&o)
    );
}

#[test]
fn readme_scripting_example_runs_as_documented() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("// fix-cm4.rhai").expect("example in README");
    let end = start + readme[start..].find("```").expect("end of example");
    let sb = Sandbox::new();
    let script = sb.dir.path().join("fix-cm4.rhai");
    std::fs::write(&script, &readme[start..end]).unwrap();
    let o = sb.run(&["--sim", "bcm4-off", "--yes", script.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("CM4 CPUID 0x410fc241, running"),
        "{}",
        stdout(&o)
    );
}
