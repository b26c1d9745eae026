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

use super::model::Device;

/// Bump when the model's serialized shape changes without a version change (development).
const FORMAT: u32 = 1;
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
        // Lengths separate the parts so moving bytes between them changes the key.
        h.update(&(svd.len() as u64).to_le_bytes());
        h.update(svd);
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

#[derive(Serialize)]
struct HeaderRef<'a> {
    magic: [u8; 8],
    key: CacheKey,
    device: &'a Device,
}

#[derive(Deserialize)]
struct Header {
    magic: [u8; 8],
    key: CacheKey,
    device: Device,
}

/// Cached device for `key`, if a valid one exists.
pub(crate) fn read(dir: &Path, key: CacheKey) -> Option<Device> {
    let bytes = fs::read(dir.join(key.file_name())).ok()?;
    let h: Header = postcard::from_bytes(&bytes).ok()?;
    (h.magic == *MAGIC && h.key == key).then_some(h.device)
}

/// Store `device` under `key`; failures are ignored (an unwritable cache is no cache).
pub(crate) fn write(dir: &Path, key: CacheKey, device: &Device) -> Option<PathBuf> {
    let bytes = postcard::to_stdvec(&HeaderRef {
        magic: *MAGIC,
        key,
        device,
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
