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

/// Issue 10 item 16: `ob set` completes the option-byte field names and their values.
#[test]
fn ob_set_completes_option_byte_fields_and_values() {
    let c = candidates("ob set BC");
    assert!(c.contains(&"BCM4=".to_string()), "{c:?}");
    assert!(c.contains(&"BCM7=".to_string()), "{c:?}");
    let c = candidates("ob set BCM4=E");
    assert!(c.iter().any(|v| v.starts_with('E')), "{c:?}");
}

/// Issue 10 item 16: the history hint skips lines that failed in this session.
#[test]
fn the_history_hint_never_offers_a_failed_line() {
    use rustyline::hint::Hinter;
    use rustyline::history::{DefaultHistory, History};
    let mut history = DefaultHistory::new();
    history.add("read RCC_GCR.BOOT_C2").unwrap();
    history.add("read RCC_GCRX").unwrap();
    let ctx = rustyline::Context::new(&history);
    let mut h = helper();
    assert_eq!(h.hint("read RCC_GC", 11, &ctx).as_deref(), Some("RX"));
    h.failed.insert("read RCC_GCRX".into());
    assert_eq!(
        h.hint("read RCC_GC", 11, &ctx).as_deref(),
        Some("R.BOOT_C2")
    );
    h.failed.insert("read RCC_GCR.BOOT_C2".into());
    assert_eq!(h.hint("read RCC_GC", 11, &ctx), None);
}
