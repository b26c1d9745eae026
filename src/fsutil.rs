//! Writing files safely, the one way every writer of h7sh uses (recordings, reports, the virtual
//! board's state file, the SVD cache, the REPL history).
//!
//! A rename is atomic and leaves the old or the new file after a kill, but it replaces whatever
//! sits at the path: a device node, a FIFO, a symlink, the mode of the file. So:
//! - the path is resolved through symlinks first (the target is written, the link stays);
//! - only a regular file (or nothing) may be replaced; device nodes, FIFOs, sockets and
//!   directories are refused;
//! - the temp file `.NAME.tmp-PID` sits beside the target (same file system), is fsynced, takes
//!   the target's mode, then is renamed over it; stale temp files of dead processes are removed
//!   on the way;
//! - read-modify-write updates (state file, history) run under [`lock`], an advisory lock on a
//!   `.NAME.lock` file beside the target that is never renamed (a lock on the target itself would
//!   be lost with its inode at the rename).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Symlinks followed at most (as the kernel's ELOOP limit).
const MAX_LINKS: usize = 40;

/// The file a path names after following symlinks, and whether it exists already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Where the bytes go (the last symlink's target, or the path itself).
    pub path: PathBuf,
    /// Size of the existing regular file; `None` when nothing is there yet.
    pub existing: Option<u64>,
}

fn kind_name(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Follows `path` through symlinks; refuses anything but a regular file or a missing one.
pub fn resolve(path: &Path) -> io::Result<Resolved> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            Ok(m) if m.file_type().is_file() => {
                return Ok(Resolved {
                    path: p,
                    existing: Some(m.len()),
                })
            }
            Ok(m) => {
                let via = if p == path {
                    String::new()
                } else {
                    format!(" (through the symlink {})", path.display())
                };
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is {}{via}: only regular files are written",
                        p.display(),
                        kind_name(&m.file_type())
                    ),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Resolved {
                    path: p,
                    existing: None,
                })
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}: more than {MAX_LINKS} symlinks (a loop?)",
            path.display()
        ),
    ))
}

fn dir_and_name(path: &Path) -> (PathBuf, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    (dir, name)
}

/// The temp file a process with `pid` writes while replacing `path`.
pub fn temp_path_for(path: &Path, pid: u32) -> PathBuf {
    let (dir, name) = dir_and_name(path);
    dir.join(format!(".{name}.tmp-{pid}"))
}

/// Whether process `pid` runs. Where this cannot be told (no /proc), it is assumed to run, so
/// that a live writer's temp file is never removed.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes `.NAME.tmp-PID` files beside `path` whose process is gone (left by killed runs).
pub fn clean_stale_temps(path: &Path) {
    let (dir, name) = dir_and_name(path);
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_alive(pid) && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `path` atomically (see the module doc); returns the file written (the
/// symlink's target when `path` is one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let target = resolve(path)?;
    let dest = target.path;
    clean_stale_temps(&dest);
    let tmp = temp_path_for(&dest, std::process::id());
    // Ours from an earlier write that failed half-way: nobody else writes this name.
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        if target.existing.is_some() {
            if let Ok(m) = fs::metadata(&dest) {
                f.set_permissions(m.permissions())?;
            }
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &dest)?;
        // Make the rename itself durable (best effort: not every platform can open a folder).
        let (dir, _) = dir_and_name(&dest);
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(dest.clone())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// An exclusive advisory lock for read-modify-write updates of `path`; released on drop (and by
/// the kernel when the process dies).
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Takes the lock of `path` (blocking while another process holds it).
pub fn lock(path: &Path) -> io::Result<Lock> {
    let dest = resolve(path)?.path;
    let (dir, name) = dir_and_name(&dest);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(format!(".{name}.lock")))?;
    file.lock()?;
    Ok(Lock { file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_is_followed_and_kept_and_the_mode_stays() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        fs::write(&real, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
            let link = dir.path().join("link.txt");
            std::os::unix::fs::symlink("real.txt", &link).unwrap();
            assert_eq!(write_atomic(&link, b"new").unwrap(), real);
            assert!(fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(fs::read_to_string(&real).unwrap(), "new");
            let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
    }

    #[test]
    fn directories_and_loops_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        #[cfg(unix)]
        {
            let a = dir.path().join("a");
            std::os::unix::fs::symlink("a", &a).unwrap();
            let e = write_atomic(&a, b"x").unwrap_err();
            assert!(e.to_string().contains("symlinks"), "{e}");
        }
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.bin");
        // PIDs above the kernel's maximum (4194304) never run.
        let dead = temp_path_for(&file, 4_999_999);
        let mine = temp_path_for(&file, std::process::id());
        let other = dir.path().join(".other.bin.tmp-4999999");
        for p in [&dead, &other] {
            fs::write(p, "junk").unwrap();
        }
        write_atomic(&file, b"data").unwrap();
        assert!(!dead.exists() || !Path::new("/proc/self").exists());
        assert!(!mine.exists());
        assert!(other.exists(), "another file's temp is not ours to remove");
        assert_eq!(fs::read(&file).unwrap(), b"data");
    }
}
