//! Non-volatile state of the virtual board (flash contents, option bytes, the "debug port disabled
//! for ever" flag), kept in a `--sim-state FILE` across runs like a real board between sessions.
//!
//! File format: magic `H7SHNV` + format version byte pair, a postcard body (option bytes, flag, the
//! non-erased 4 KiB flash pages only), then a CRC-32 of everything before it. Saving goes through
//! `crate::fsutil` (temp file beside the target, fsync, rename; symlinks followed, special files
//! refused), so a killed process leaves either the old or the new file, never a torn one.
//!
//! Several sessions may share one file. Each save is a read-modify-write under the file's lock
//! that applies only what this session changed since it last loaded or saved (its `base`): an
//! option-byte register it changed, a 4 KiB flash page it changed (erasing counts), the
//! debug-disabled flag once set; everything else is taken from the file as it is now, so the
//! other sessions' updates stay. The merged state becomes this session's state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::sim::chip::flash::OptionBytes;
use crate::sim::chip::memory::SparseMem;
use crate::sim::chip::SimError;
use crate::sim::scenario::Scenario;

const MAGIC: &[u8; 8] = b"H7SHNV\x00\x01";

/// What survives a power cycle.
#[derive(Debug, Clone)]
pub struct NvState {
    /// Both flash banks, offset 0 = 0x08000000; erased bytes read 0xFF.
    pub flash: SparseMem,
    /// The option bytes (current values).
    pub ob: OptionBytes,
    /// RDP level 2 was programmed: the debug port is disabled for good.
    pub debug_disabled: bool,
    /// The state as last loaded or saved: what differs from it is this session's change.
    base: Box<Base>,
}

#[derive(Debug, Clone)]
struct Base {
    flash: SparseMem,
    ob: OptionBytes,
    debug_disabled: bool,
}

impl PartialEq for NvState {
    /// The state itself; where it came from (`base`) does not count.
    fn eq(&self, other: &Self) -> bool {
        self.flash == other.flash
            && self.ob == other.ob
            && self.debug_disabled == other.debug_disabled
    }
}
impl Eq for NvState {}

fn ob_words(ob: &OptionBytes) -> [u32; 9] {
    [
        ob.optsr, ob.boot7, ob.boot4, ob.prar[0], ob.prar[1], ob.scar[0], ob.scar[1], ob.wpsn[0],
        ob.wpsn[1],
    ]
}

fn ob_from_words(w: [u32; 9]) -> OptionBytes {
    OptionBytes {
        optsr: w[0],
        boot7: w[1],
        boot4: w[2],
        prar: [w[3], w[4]],
        scar: [w[5], w[6]],
        wpsn: [w[7], w[8]],
    }
}

fn pages(m: &SparseMem) -> BTreeMap<u32, &[u8]> {
    m.dirty_pages().collect()
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
    fn new(flash: SparseMem, ob: OptionBytes, debug_disabled: bool) -> Self {
        Self {
            base: Box::new(Base {
                flash: flash.clone(),
                ob,
                debug_disabled,
            }),
            flash,
            ob,
            debug_disabled,
        }
    }

    /// The factory state a scenario describes.
    pub fn from_scenario(s: &Scenario) -> Self {
        Self::new(
            s.flash.clone(),
            s.option_bytes,
            s.option_bytes.rdp() == crate::sim::chip::flash::RdpLevel::L2,
        )
    }

    /// `disk` with this session's changes since `base` applied (see the module doc).
    fn merged_onto(&self, disk: &NvState) -> NvState {
        let (mine, base, theirs) = (
            ob_words(&self.ob),
            ob_words(&self.base.ob),
            ob_words(&disk.ob),
        );
        let ob = ob_from_words(std::array::from_fn(|i| {
            if mine[i] != base[i] {
                mine[i]
            } else {
                theirs[i]
            }
        }));
        let (mine, base, theirs) = (
            pages(&self.flash),
            pages(&self.base.flash),
            pages(&disk.flash),
        );
        let mut flash = SparseMem::new(0xFF);
        let addresses: std::collections::BTreeSet<u32> = mine
            .keys()
            .chain(base.keys())
            .chain(theirs.keys())
            .copied()
            .collect();
        for a in addresses {
            let page = if mine.get(&a) != base.get(&a) {
                mine.get(&a)
            } else {
                theirs.get(&a)
            };
            if let Some(p) = page {
                flash.write_bytes(a, p);
            }
        }
        let debug_disabled =
            disk.debug_disabled || (self.debug_disabled && !self.base.debug_disabled);
        NvState::new(flash, ob, debug_disabled)
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
        Ok(Self::new(flash, disk.ob, disk.debug_disabled))
    }

    /// Load from `path`; `Ok(None)` when the file does not exist. Special files are refused and
    /// the size is bounded (a FIFO or `/dev/zero` would never end).
    pub fn load(path: &Path) -> Result<Option<Self>, SimError> {
        let bytes = crate::files::read_if_exists(path, crate::files::Kind::State).map_err(|e| {
            SimError::StateIo {
                path: path.to_path_buf(),
                source: e,
            }
        })?;
        bytes.map(|b| Self::decode(&b, path)).transpose()
    }

    /// Merges this session's changes into the file under its lock and writes the result
    /// atomically (see the module doc); this state becomes the merged one.
    pub fn save(&mut self, path: &Path) -> Result<(), SimError> {
        let io = |e| SimError::StateIo {
            path: path.to_path_buf(),
            source: e,
        };
        let _lock = crate::fsutil::lock(path).map_err(io)?;
        let merged = match Self::load(path)? {
            Some(disk) => self.merged_onto(&disk),
            None => NvState::new(self.flash.clone(), self.ob, self.debug_disabled),
        };
        crate::fsutil::write_atomic(path, &merged.encode()).map_err(io)?;
        *self = merged;
        Ok(())
    }
}

/// The temp file this process uses while saving `path` (beside it, so the rename is atomic).
pub fn temp_path(path: &Path) -> PathBuf {
    crate::fsutil::temp_path_for(path, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
