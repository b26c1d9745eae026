//! Completion candidates from the index and the command table (what Tab offers in the REPL).

use h7sh::render::Style;
use h7sh::repl::ShellHelper;

fn helper() -> ShellHelper {
    ShellHelper::new(h7sh::svd::load_builtin().cm7, Style::PLAIN)
}

fn candidates(line: &str) -> Vec<String> {
    helper().candidates(line, line.len()).1
}

#[test]
fn command_names() {
    let c = candidates("re");
    assert!(
        c.contains(&"read".to_string()) && c.contains(&"reset".to_string()),
        "{c:?}"
    );
}

#[test]
fn register_and_field_names_in_both_notations() {
    let c = candidates("read FLASH_OPTSR_CUR.BC");
    assert!(c.iter().any(|n| n.ends_with("BCM4")), "{c:?}");
    let c = candidates("read RCC.G");
    assert!(c.iter().any(|n| n == "RCC.GCR"), "{c:?}");
}

#[test]
fn enumerated_values_after_a_field() {
    let c = candidates("write DBGMCU_CR.DBGSTOP_D2 En");
    assert_eq!(c, vec!["Enabled".to_string()]);
}

#[test]
fn field_assignments_and_their_values() {
    let c = candidates("write RCC_GCR BOOT_");
    assert!(c.contains(&"BOOT_C2=".to_string()), "{c:?}");
    let c = candidates("write FLASH_OPTSR_PRG BCM4=");
    assert!(
        c.contains(&"Enabled".to_string()) && c.contains(&"Disabled".to_string()),
        "{c:?}"
    );
}

#[test]
fn core_registers_and_keywords() {
    assert!(candidates("reg p").contains(&"pc".to_string()));
    assert!(candidates("core c").contains(&"cm4".to_string()));
}
