//! Where tests and benches find ST's SVD files (never part of the repository, see
//! `docs/svd.md`): the folder named by `H7SH_SVD_DIR`, when it really holds them. A fresh
//! clone has no such folder, so tests that need the files skip, and say so on the terminal.

use std::io::Write;
use std::path::PathBuf;

/// A file every folder of ST's dual-core SVDs holds.
const PROBE_FILE: &str = "STM32H755_CM7.svd";

/// `$H7SH_SVD_DIR` when it is set and holds ST's files; `None` otherwise (quietly).
pub fn st_svd_dir() -> Option<PathBuf> {
    std::env::var_os("H7SH_SVD_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .filter(|d| d.join(PROBE_FILE).is_file())
}

/// [`st_svd_dir`], or one `skipped: ...` line naming `what` when the files are absent.
/// Written to the process's stderr directly (in one piece): the test harness captures `eprintln!` of
/// passing tests, and a skipped check must be visible.
pub fn st_svd_dir_or_skip(what: &str) -> Option<PathBuf> {
    let dir = st_svd_dir();
    if dir.is_none() {
        let why = match std::env::var_os("H7SH_SVD_DIR").filter(|d| !d.is_empty()) {
            Some(d) => format!("{} holds no {PROBE_FILE}", PathBuf::from(d).display()),
            None => "H7SH_SVD_DIR is not set".to_string(),
        };
        // One write, so tests running in parallel do not interleave inside the line.
        let line = format!(
            "skipped: {what} needs ST's SVD files ({why}); set H7SH_SVD_DIR to their folder\n"
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    dir
}
