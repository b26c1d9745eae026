//! The SVD cache is checked, not trusted: a flipped byte anywhere in an entry, or a zeroed
//! body, is discarded and rebuilt, never loaded as a device with a wrong address or none.

use h7sh::svd::{cache_file_for, load, LoadOptions, Resolved};
use std::fs;

const RCC_GCR: u64 = 0x5802_44A0;

fn gcr_address(d: &h7sh::svd::Device) -> u64 {
    match d.resolve("RCC_GCR") {
        Ok(Resolved::Register(id)) => d.register(id).address,
        other => panic!("RCC_GCR: {other:?}"),
    }
}

#[test]
fn a_damaged_cache_entry_is_discarded_and_rebuilt() {
    // The cache holds parsed ST files (the built-in set needs none).
    let Some(st) = h7sh::svd::testing::st_svd_dir_or_skip("the SVD cache integrity test") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let svd = st.join("STM32H755_CM7.svd");
    let opts = LoadOptions {
        svd: Some(svd.clone()),
        cache_dir: Some(dir.path().join("cache")),
        config_dir: Some(dir.path().join("config")),
        data_dir: Some(dir.path().join("data")),
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    };
    assert!(!load(&opts).unwrap().from_cache);
    let entry = cache_file_for(&dir.path().join("cache"), &svd, &[]).unwrap();
    let good = fs::read(&entry).unwrap();
    let cached = load(&opts).unwrap();
    assert!(cached.from_cache);
    assert_eq!(gcr_address(&cached.cm7), RCC_GCR);

    // One flipped bit at 16 places spread over the whole entry (each rebuild parses ST's file).
    let step = (good.len() / 16).max(1);
    for at in (0..good.len()).step_by(step) {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        fs::write(&entry, &bad).unwrap();
        let l = load(&opts).unwrap();
        assert!(!l.from_cache, "byte {at} of {} flipped: loaded", good.len());
        assert_eq!(gcr_address(&l.cm7), RCC_GCR, "byte {at}");
        assert_eq!(fs::read(&entry).unwrap(), good, "rebuilt after byte {at}");
    }

    // Everything after the magic zeroed.
    let mut zero = good.clone();
    zero[8..].fill(0);
    fs::write(&entry, &zero).unwrap();
    let l = load(&opts).unwrap();
    assert!(!l.from_cache, "a zeroed body loaded");
    assert_eq!(gcr_address(&l.cm7), RCC_GCR);
    assert!(
        load(&opts).unwrap().from_cache,
        "the rebuilt entry is used again"
    );
}
