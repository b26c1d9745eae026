//! Generates the built-in register set `svd/regset.bin` from ST's SVD files:
//!
//! ```sh
//! cargo run --example gen-regset -- ../shared/svd svd/regset.bin
//! ```
//!
//! Each of the eight views (STM32H745/747/755/757, CM7 and CM4) is loaded the way h7sh loads
//! it (h7sh's patches and the Cortex-M block applied), its facts kept (no description text)
//! and written as postcard (format in `src/regset.rs`). The test
//! `svd_builtin::builtin_set_equals_patched_st_files` checks the result against ST's files.

use std::path::PathBuf;
use std::process::ExitCode;

use source::source_line;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: cargo run --example gen-regset -- SVD_DIR OUT_FILE");
        eprintln!("  hint: SVD_DIR holds ST's STM32H745/747/755/757 _CM7.svd and _CM4.svd");
        return ExitCode::FAILURE;
    };
    let (dir, out) = (PathBuf::from(dir), PathBuf::from(out));
    let views = match h7sh::svd::builtin::st_views(&dir) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}\n  hint: {}", e.hint());
            return ExitCode::FAILURE;
        }
    };
    let bytes = h7sh::svd::builtin::encode(&views, &source_line(&dir));
    if let Err(e) = std::fs::write(&out, &bytes) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let regs: usize = views.iter().map(|d| d.register_count()).sum();
    let fields: usize = views.iter().map(|d| d.field_count()).sum();
    println!(
        "{}: {} bytes, {} views, {regs} registers and {fields} fields in all",
        out.display(),
        bytes.len(),
        views.len()
    );
    ExitCode::SUCCESS
}

mod source {
    use std::path::Path;

    /// The source files by name and xxh3-128 of their bytes, so a set can be traced to the
    /// exact files it came from (ST's folder pins SHA-256 in its SHA256SUMS; xxh3 is what h7sh
    /// already links).
    pub fn source_line(dir: &Path) -> String {
        h7sh::regset::PARTS
            .iter()
            .flat_map(|p| [format!("{p}_CM7.svd"), format!("{p}_CM4.svd")])
            .map(|f| {
                let h = std::fs::read(dir.join(&f))
                    .map(|b| format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&b)))
                    .unwrap_or_else(|_| "unreadable".into());
                format!("{f} xxh3:{h}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
