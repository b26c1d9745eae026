//! On-disk cache of parsed, patched, indexed devices (postcard).
//!
//! One file per device view, named after its key: a hash of the SVD bytes, every patch's
//! bytes, the embedded h7sh SVDs and the program version. A file that does not decode, or
//! whose stored key differs, is ignored (and overwritten by the rebuilt device). Any I/O
//! failure only means "no cache".

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use std::sync::Arc;

use super::index::NameIndex;
use super::model::{Device, Peripheral};

/// Bump when the model's serialized shape changes without a version change (development).
const FORMAT: u32 = 2;
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

/// The decoded cache entry for `key` (a diff entry is not yet applied to its base).
pub(crate) fn read_stored(dir: &Path, key: CacheKey) -> Option<Stored> {
    let bytes = fs::read(dir.join(key.file_name())).ok()?;
    let h: Header = postcard::from_bytes(&bytes).ok()?;
    (h.magic == *MAGIC && h.key == key).then_some(h.stored)
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
    let bytes = postcard::to_stdvec(&HeaderRef {
        magic: *MAGIC,
        key,
        stored,
    })
    .ok()?;
    fs::create_dir_all(dir).ok()?;
    let path = dir.join(key.file_name());
    // Write then rename, so a reader never sees half a file.
    let tmp = dir.join(format!("{}.{}.tmp", key.file_name(), std::process::id()));
    let res = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        fs::rename(&tmp, &path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
        return None;
    }
    Some(path)
}

/// Path of the cache file for `key` (for tests and diagnostics).
pub(crate) fn path_for(dir: &Path, key: CacheKey) -> PathBuf {
    dir.join(key.file_name())
}
