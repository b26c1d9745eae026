//! Files h7sh writes for the user (`record FILE`, `report FILE`, `--sim-state FILE`): special
//! files are refused and stay what they are, symlinks are followed and kept, an existing file is
//! replaced only with `--yes` (or after a question), its mode stays, and two sessions on one
//! state file keep each other's updates.

mod chip_util;
mod common;

use chip_util::{r, w};
use common::*;
use h7sh::h7::facts::{ap, flash as fl};
use h7sh::sim::chip::Chip;
use h7sh::sim::scenario::Scenario;
use h7sh::sim::state::NvState;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn record_and_report_refuse_a_fifo_and_leave_it_a_fifo() {
    let sb = Sandbox::new();
    let fifo = sb.dir.path().join("pipe");
    mkfifo(&fifo);
    let name = fifo.display().to_string();
    for cmd in [format!("record {name}"), format!("report {name}")] {
        let o = sb.run(&["--sim", "--yes", "-c", &cmd]);
        assert_eq!(code(&o), 1, "{cmd}: {}", stdout(&o));
        assert!(stderr(&o).contains("a FIFO"), "{cmd}: {}", stderr(&o));
        let t = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(t.is_fifo(), "{cmd} replaced the FIFO");
    }
}

#[test]
fn an_existing_file_is_replaced_only_with_yes_and_keeps_its_mode() {
    let sb = Sandbox::new();
    let file = sb.dir.path().join("notes.txt");
    std::fs::write(&file, "my notes\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let name = file.display().to_string();
    for cmd in [format!("record {name}"), format!("report {name}")] {
        let o = sb.run(&["--sim", "-c", &cmd]);
        assert_eq!(code(&o), 1, "{cmd}");
        let err = stderr(&o);
        assert!(
            err.contains("exists") && err.contains("--yes"),
            "{cmd}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "my notes\n");
    }
    let o = sb.run(&[
        "--sim",
        "--yes",
        "-c",
        &format!("record {name}; info; record stop"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("shell(\"info\")"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the mode of the replaced file stays");
}

#[test]
fn a_symlink_is_followed_and_stays_a_symlink() {
    let sb = Sandbox::new();
    let real = sb.dir.path().join("real.md");
    let link = sb.dir.path().join("link.md");
    std::os::unix::fs::symlink("real.md", &link).unwrap();
    let o = sb.run(&["--sim", "-c", &format!("report {}", link.display())]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("## h7sh report"));
}

#[test]
fn sim_state_through_a_symlink_writes_the_target() {
    let sb = Sandbox::new();
    let real = sb.dir.path().join("board.state");
    let link = sb.dir.path().join("link.state");
    std::os::unix::fs::symlink("board.state", &link).unwrap();
    let state = link.display().to_string();
    let o = sb.run(&[
        "--sim",
        "--sim-state",
        &state,
        "--yes",
        "-c",
        "ob set BCM4=0",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let nv = NvState::load(&real)
        .unwrap()
        .expect("written through the link");
    assert!(!nv.ob.bcm4());
}

#[test]
fn a_fifo_as_state_file_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("state");
    mkfifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    // Opening a FIFO for reading blocks until a writer comes: the old code never returned.
    std::thread::spawn(move || tx.send(NvState::load(&path).map(|s| s.is_some())));
    let result = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("NvState::load returns on a FIFO");
    let e = result.expect_err("a FIFO is not a state file");
    assert!(e.to_string().contains("a FIFO"), "{e}");
}

/// Program OPTSR_PRG or BOOT4_PRG := f(PRG) through the key sequence and wait for it.
fn program(c: &mut Chip, prg: u64, f: impl Fn(u32) -> u32) {
    w(c, ap::CM7, fl::BASE + fl::OPTKEYR, fl::OPTKEY1);
    w(c, ap::CM7, fl::BASE + fl::OPTKEYR, fl::OPTKEY2);
    let v = r(c, ap::CM7, fl::BASE + prg);
    w(c, ap::CM7, fl::BASE + prg, f(v));
    w(c, ap::CM7, fl::BASE + fl::OPTCR, fl::OPTCR_OPTSTART);
    c.wait_ms(10);
}

#[test]
fn two_sessions_on_one_state_file_keep_each_others_updates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("board.state");
    let s = Scenario::builtin("nucleo-h755zi-q").unwrap();
    // Left by a killed run (PIDs above the kernel's maximum never run): cleaned by a save.
    let stale = dir.path().join(".board.state.tmp-4999999");
    std::fs::write(&stale, b"half a state").unwrap();
    let mut a = Chip::with_state_file(&s, &file).unwrap();
    assert!(!stale.exists(), "a dead process's temp file is removed");
    let mut b = Chip::with_state_file(&s, &file).unwrap();
    // A turns BCM4 off; B, which loaded the file before, then moves the CM4 boot address.
    program(&mut a, fl::OPTSR_PRG, |v| v & !(1 << 22));
    assert!(a.state_error().is_none());
    program(&mut b, fl::BOOT4_PRG, |v| (v & !0xFFFF) | 0x0800);
    assert!(b.state_error().is_none());
    let nv = NvState::load(&file).unwrap().unwrap();
    assert!(!nv.ob.bcm4(), "A's change was lost by B's save");
    assert_eq!(nv.ob.cm4_boot_addr(), 0x0800_0000, "B's change");
    // A saves again (BCM4 back on): B's boot address stays.
    program(&mut a, fl::OPTSR_PRG, |v| v | (1 << 22));
    let nv = NvState::load(&file).unwrap().unwrap();
    assert_eq!(
        nv.ob.cm4_boot_addr(),
        0x0800_0000,
        "B's change was lost by A's save"
    );
    assert!(nv.ob.bcm4(), "A's second change");
    assert!(
        !dir.path()
            .read_dir()
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".tmp-")),
        "no temp file left"
    );
}
