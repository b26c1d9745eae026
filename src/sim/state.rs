//! Non-volatile state of the virtual board (flash contents, option bytes, the "debug port disabled
//! for ever" flag), kept in a `--sim-state FILE` across runs like a real board between sessions.
//!
//! File format: magic `H7SHNV` + format version byte pair, a postcard body (option bytes, flag, the
//! non-erased 4 KiB flash pages only), then a CRC-32 of everything before it. Saving writes a temp
//! file in the same directory, fsyncs it and renames it over the real file, so a killed process
//! leaves either the old or the new file, never a torn one.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::sim::chip::flash::OptionBytes;
use crate::sim::chip::memory::SparseMem;
use crate::sim::chip::SimError;
use crate::sim::scenario::Scenario;

const MAGIC: &[u8; 8] = b"H7SHNV\x00\x01";

/// What survives a power cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvState {
    /// Both flash banks, offset 0 = 0x08000000; erased bytes read 0xFF.
    pub flash: SparseMem,
    /// The option bytes (current values).
    pub ob: OptionBytes,
    /// RDP level 2 was programmed: the debug port is disabled for good.
    pub debug_disabled: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Disk {
    ob: OptionBytes,
    debug_disabled: bool,
    pages: Vec<(u32, Vec<u8>)>,
}

/// CRC-32 (IEEE 802.3, reflected), bitwise: the file is small and written rarely.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

impl NvState {
    /// The factory state a scenario describes.
    pub fn from_scenario(s: &Scenario) -> Self {
        Self {
            flash: s.flash.clone(),
            ob: s.option_bytes,
            debug_disabled: s.option_bytes.rdp() == crate::sim::chip::flash::RdpLevel::L2,
        }
    }

    /// Serialised file contents.
    pub fn encode(&self) -> Vec<u8> {
        let disk = Disk {
            ob: self.ob,
            debug_disabled: self.debug_disabled,
            pages: self
                .flash
                .dirty_pages()
                .map(|(a, p)| (a, p.to_vec()))
                .collect(),
        };
        let mut out = MAGIC.to_vec();
        // Serialising plain data into a Vec cannot fail; an empty body would fail the CRC check.
        out.extend(postcard::to_stdvec(&disk).unwrap_or_default());
        let crc = crc32(&out);
        out.extend(crc.to_le_bytes());
        out
    }

    /// Parse file contents; `path` only names the file in errors.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self, SimError> {
        let corrupt = |reason: &str| SimError::StateCorrupt {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not an h7sh state file (bad magic)"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32(body) != crc {
            return Err(corrupt("checksum mismatch (truncated or damaged)"));
        }
        let disk: Disk = postcard::from_bytes(&body[MAGIC.len()..])
            .map_err(|e| corrupt(&format!("undecodable body: {e}")))?;
        let mut flash = SparseMem::new(0xFF);
        for (addr, page) in disk.pages {
            let end = u64::from(addr) + page.len() as u64;
            if end > crate::h7::facts::mem::FLASH_BANK1.1 + crate::h7::facts::mem::FLASH_BANK2.1 {
                return Err(corrupt("flash page outside the flash banks"));
            }
            flash.write_bytes(addr, &page);
        }
        Ok(Self {
            flash,
            ob: disk.ob,
            debug_disabled: disk.debug_disabled,
        })
    }

    /// Load from `path`; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, SimError> {
        match crate::files::read(path, crate::files::Kind::State) {
            Ok(bytes) => Self::decode(&bytes, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SimError::StateIo {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    /// Write atomically: temp file in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), SimError> {
        let io = |e| SimError::StateIo {
            path: path.to_path_buf(),
            source: e,
        };
        let tmp = temp_path(path);
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.encode())?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename itself durable (best effort: not every platform can).
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }
}

/// The temp file used while saving `path` (same directory, so the rename is atomic).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sim-state".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
