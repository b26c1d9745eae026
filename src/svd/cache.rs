//! On-disk cache of parsed, patched, indexed devices (postcard).
//!
//! One file per device view, named after its key: a hash of the SVD bytes, every patch's
//! bytes, the embedded h7sh SVDs and the program version. The file is `MAGIC`, the xxh3-128
//! checksum of the body, then the body (postcard): a flipped byte could otherwise still decode
//! into a device with a wrong address. An entry whose checksum, decoding or stored key does
//! not match is discarded with a one-line note and rebuilt. Any I/O failure only means "no
//! cache". Entries are written through `crate::fsutil` (fsync, then rename).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use std::sync::Arc;

use super::index::NameIndex;
use super::model::{Device, Peripheral};

/// Bump when the model's serialized shape or content changes without a version change (4: fields
/// in bit order).
const FORMAT: u32 = 4;
/// Bytes before the body: magic and checksum.
const PREFIX: usize = 8 + 16;
const MAGIC: &[u8; 8] = b"H7SHSVD\0";

/// Hash identifying one device view's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CacheKey(pub(crate) u128);

impl CacheKey {
    pub(crate) fn compute(svd: &[u8], patches: &[&[u8]]) -> Self {
        let mut h = Xxh3::new();
        h.update(MAGIC);
        h.update(&FORMAT.to_le_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(super::patch::CORTEX_M_SVD.as_bytes());
        // The big input is hashed one-shot (faster than streaming), then mixed in with its
        // length; lengths separate the parts so moving bytes between them changes the key.
        h.update(&(svd.len() as u64).to_le_bytes());
        h.update(&xxhash_rust::xxh3::xxh3_128(svd).to_le_bytes());
        for p in patches {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Self(h.digest128())
    }

    fn file_name(self) -> String {
        format!("{:032x}.h7svd", self.0)
    }
}

/// What a cache file holds: a whole device, or (for the CM4 view) the CM7 view's key plus
/// the peripherals that differ, so the shared ones are decoded once.
#[derive(Serialize)]
enum StoredRef<'a> {
    Full(&'a Device),
    Diff {
        base: CacheKey,
        name: &'a str,
        cpu: Option<&'a str>,
        patches: &'a [String],
        len: u32,
        replaced: Vec<(u32, &'a Peripheral)>,
        index: &'a NameIndex,
    },
}

/// Owned mirror of [`StoredRef`] (same postcard layout).
#[derive(Deserialize)]
pub(crate) enum Stored {
    Full(Device),
    Diff {
        base: CacheKey,
        name: String,
        cpu: Option<String>,
        patches: Vec<String>,
        len: u32,
        replaced: Vec<(u32, Peripheral)>,
        index: NameIndex,
    },
}

#[derive(Serialize)]
struct HeaderRef<'a> {
    magic: [u8; 8],
    key: CacheKey,
    stored: StoredRef<'a>,
}

#[derive(Deserialize)]
struct Header {
    magic: [u8; 8],
    key: CacheKey,
    stored: Stored,
}

/// The decoded cache entry for `key` (a diff entry is not yet applied to its base); a damaged
/// entry is removed, with a note on stderr, so that it is rebuilt.
pub(crate) fn read_stored(dir: &Path, key: CacheKey) -> Option<Stored> {
    let path = dir.join(key.file_name());
    let bytes = crate::files::read_if_exists(&path, crate::files::Kind::SvdCache).ok()??;
    match decode(&bytes, key) {
        Ok(stored) => Some(stored),
        Err(reason) => {
            eprintln!(
                "note: SVD cache entry {} is damaged ({reason}): discarded, rebuilding it",
                path.display()
            );
            let _ = fs::remove_file(&path);
            None
        }
    }
}

fn decode(bytes: &[u8], key: CacheKey) -> Result<Stored, &'static str> {
    if bytes.len() < PREFIX || bytes[..8] != *MAGIC {
        return Err("not an h7sh cache entry");
    }
    let (sum, body) = bytes[8..].split_at(16);
    if xxhash_rust::xxh3::xxh3_128(body).to_le_bytes() != sum {
        return Err("checksum mismatch");
    }
    let h: Header = postcard::from_bytes(body).map_err(|_| "undecodable body")?;
    if h.magic != *MAGIC || h.key != key {
        return Err("written for other inputs");
    }
    Ok(h.stored)
}

/// The device of a cache entry; a diff entry is applied to `base` (its key must match).
pub(crate) fn resolve(stored: Stored, base: Option<(CacheKey, &Device)>) -> Option<Device> {
    match stored {
        Stored::Full(d) => Some(d),
        Stored::Diff {
            base: bkey,
            name,
            cpu,
            patches,
            len,
            replaced,
            index,
        } => {
            let (want, b) = base?;
            if bkey != want || b.peripherals.len() != len as usize {
                return None;
            }
            let mut peripherals = b.peripherals.clone();
            for (i, p) in replaced {
                *peripherals.get_mut(i as usize)? = Arc::new(p);
            }
            Some(Device {
                name,
                cpu,
                peripherals,
                patches,
                index,
            })
        }
    }
}

/// Store `device` under `key`; failures are ignored (an unwritable cache is no cache).
/// With `base`, only the peripherals that differ from it are stored.
pub(crate) fn write(
    dir: &Path,
    key: CacheKey,
    device: &Device,
    base: Option<(CacheKey, &Device)>,
) -> Option<PathBuf> {
    let stored = match base {
        Some((bkey, b)) if b.peripherals.len() == device.peripherals.len() => {
            let replaced: Vec<(u32, &Peripheral)> = device
                .peripherals
                .iter()
                .zip(&b.peripherals)
                .enumerate()
                .filter(|(_, (p, q))| !Arc::ptr_eq(p, q) && p != q)
                .map(|(i, (p, _))| (i as u32, &**p))
                .collect();
            if replaced.len() * 2 < device.peripherals.len() {
                StoredRef::Diff {
                    base: bkey,
                    name: &device.name,
                    cpu: device.cpu.as_deref(),
                    patches: &device.patches,
                    len: device.peripherals.len() as u32,
                    replaced,
                    index: &device.index,
                }
            } else {
                StoredRef::Full(device)
            }
        }
        _ => StoredRef::Full(device),
    };
    let body = postcard::to_stdvec(&HeaderRef {
        magic: *MAGIC,
        key,
        stored,
    })
    .ok()?;
    let mut bytes = Vec::with_capacity(PREFIX + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    fs::create_dir_all(dir).ok()?;
    crate::fsutil::write_atomic(&dir.join(key.file_name()), &bytes).ok()
}

/// Path of the cache file for `key` (for tests and diagnostics).
pub(crate) fn path_for(dir: &Path, key: CacheKey) -> PathBuf {
    dir.join(key.file_name())
}
