//! Reading files the user names (scripts, SVDs, patches, scenarios, flash images, state and
//! config files): one helper, so every such read refuses special files and is bounded.
//!
//! A FIFO would block the shell for ever, `/dev/zero` would fill memory, a directory gives an
//! obscure error: only regular files (symlinks followed) are read, at most [`Kind::limit`]
//! bytes of each kind. The errors are `std::io::Error`s whose text names the file kind and the
//! limit, so every caller's existing error type carries them unchanged.

use std::io::{self, Read};
use std::path::Path;

/// What a file is for; sets its size limit and how errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `.rhai` script (`h7sh FILE.rhai`, `run FILE`, `import`).
    Script,
    /// A CMSIS-SVD file (ST's largest H7 file is about 4 MB).
    Svd,
    /// An svdtools YAML patch (or a file it includes).
    Patch,
    /// A virtual-board scenario (`--sim FILE.toml`).
    Scenario,
    /// A flash image named by a scenario (raw binary or Intel HEX of the 2 MiB flash).
    Image,
    /// The virtual board's state file (`--sim-state`): flash pages and option bytes.
    State,
    /// h7sh's config file.
    Config,
    /// The REPL history file.
    History,
    /// An entry of h7sh's parsed-SVD cache.
    SvdCache,
}

impl Kind {
    /// Largest file of this kind that is read, in bytes.
    pub const fn limit(self) -> u64 {
        match self {
            Kind::Script => 4 << 20,
            Kind::Svd => 64 << 20,
            Kind::Patch => 4 << 20,
            Kind::Scenario => 1 << 20,
            // Intel HEX of the whole 2 MiB flash is about 5.6 MiB.
            Kind::Image => 8 << 20,
            // Every flash page plus the option bytes, with room to spare.
            Kind::State => 8 << 20,
            Kind::Config => 1 << 20,
            Kind::History => 16 << 20,
            Kind::SvdCache => 256 << 20,
        }
    }

    /// How messages name it.
    pub const fn what(self) -> &'static str {
        match self {
            Kind::Script => "script",
            Kind::Svd => "SVD file",
            Kind::Patch => "SVD patch",
            Kind::Scenario => "scenario file",
            Kind::Image => "flash image",
            Kind::State => "state file",
            Kind::Config => "config file",
            Kind::History => "history file",
            Kind::SvdCache => "SVD cache entry",
        }
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a file that is not a regular file is, for the error.
fn special_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

fn not_regular(kind: Kind, t: std::fs::FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is {}: a {} must be a regular file",
            special_kind(t),
            kind.what()
        ),
    )
}

fn too_large(kind: Kind) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "it is larger than the {} limit of a {}",
            mib(kind.limit()),
            kind.what()
        ),
    )
}

/// Whether `path` is a regular file within the limit of its kind, without reading it (to
/// refuse a bad file before slow work such as connecting to a probe).
pub fn check(path: &Path, kind: Kind) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(kind, meta.file_type()));
    }
    if meta.len() > kind.limit() {
        return Err(too_large(kind));
    }
    Ok(())
}

/// The bytes of the regular file at `path`, at most `kind.limit()` of them.
pub fn read(path: &Path, kind: Kind) -> io::Result<Vec<u8>> {
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    check(path, kind)?;
    let file = std::fs::File::open(path)?;
    // Checked again on the open file, in case the path was swapped in between.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(kind, meta.file_type()));
    }
    if meta.len() > kind.limit() {
        return Err(too_large(kind));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte past the limit tells a file that grew while being read.
    file.take(kind.limit() + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > kind.limit() {
        return Err(too_large(kind));
    }
    Ok(bytes)
}

/// [`read`], with a file that does not exist as `None`.
pub fn read_if_exists(path: &Path, kind: Kind) -> io::Result<Option<Vec<u8>>> {
    match read(path, kind) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The text of the regular file at `path` (UTF-8), at most `kind.limit()` bytes.
pub fn read_to_string(path: &Path, kind: Kind) -> io::Result<String> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is not UTF-8 text (line {line}, byte {at})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.rhai");
        std::fs::write(&f, "print(1);").unwrap();
        assert_eq!(read_to_string(&f, Kind::Script).unwrap(), "print(1);");
        let e = read(dir.path(), Kind::Script).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        #[cfg(unix)]
        {
            let e = read(Path::new("/dev/zero"), Kind::Svd)
                .unwrap_err()
                .to_string();
            assert!(e.contains("device") && e.contains("SVD file"), "{e}");
        }
        std::fs::write(&f, vec![b' '; (Kind::Scenario.limit() + 1) as usize]).unwrap();
        let e = read(&f, Kind::Scenario).unwrap_err().to_string();
        assert!(e.contains("1 MiB limit of a scenario file"), "{e}");
        std::fs::write(&f, b"ok\n\xff").unwrap();
        let e = read_to_string(&f, Kind::Script).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
