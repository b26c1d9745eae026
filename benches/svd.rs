//! `cargo bench --bench svd`: load, cache, resolve and completion timings on
//! STM32H755_CM7.svd (+ its CM4 file) with h7sh's patches, against the project's targets.
//! SVDs come from `H7SH_SVD_DIR` (else `../shared/svd` beside the checkout).
//! The start from the built-in register set needs no SVD file and always runs.
//! Peak memory is measured in a child process (VmHWM of /proc/self/status, Linux only).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use h7sh::svd::{load, LoadOptions};

fn svd_dir() -> Option<PathBuf> {
    if let Some(d) = h7sh::svd::testing::st_svd_dir() {
        return Some(d);
    }
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/svd");
    d.join("STM32H755_CM7.svd").is_file().then_some(d)
}

fn opts(dir: &std::path::Path, cache: Option<PathBuf>, both: bool) -> LoadOptions {
    let cm7 = dir.join("STM32H755_CM7.svd");
    LoadOptions {
        svd_cm4: (!both).then(|| cm7.clone()),
        svd: Some(cm7),
        use_cache: cache.is_some(),
        cache_dir: cache,
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    }
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (Linux).
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`; utime and stime are the 12th and 13th of those, in ticks.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration that matters.
    Some(Duration::from_millis(ticks * 10))
}

/// Best and median wall time of `n` runs of `f`, and mean CPU time per run.
fn time<F: FnMut()>(n: usize, mut f: F) -> (Duration, Duration, Option<Duration>) {
    let c0 = cpu_time();
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    let cpu = c0.zip(cpu_time()).map(|(a, b)| (b - a) / n as u32);
    v.sort();
    (v[0], v[n / 2], cpu)
}

fn report(
    what: &str,
    (best, median, cpu): (Duration, Duration, Option<Duration>),
    target: Duration,
) {
    // The machine may be shared: judge on the best run, show the median and CPU time too.
    let verdict = if best <= target { "ok" } else { "OVER" };
    let cpu = cpu.map_or(String::from("n/a"), |c| format!("{c:.2?}"));
    println!(
        "{what:<46} best {best:>10.3?}  median {median:>10.3?}  cpu/run {cpu:>6}  target <= {target:?}  {verdict}"
    );
}

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Start from the built-in register set (no ST file found anywhere): the budget is the
/// cache start's.
fn bench_builtin() {
    let none = std::env::temp_dir().join(format!("h7sh-svd-none-{}", std::process::id()));
    let opts = LoadOptions {
        use_cache: false,
        config_dir: Some(none.join("config")),
        data_dir: Some(none.join("data")),
        use_env: false,
        search_vendor_dirs: false,
        ..LoadOptions::default()
    };
    // Decoded once per process (then kept): timed on its own, to add to the start below.
    report(
        "decode of the embedded set (once per process)",
        time(11, || {
            black_box(h7sh::regset::RegSet::decode(h7sh::regset::BLOB).expect("decodes"));
        }),
        Duration::from_millis(10),
    );
    let mut keep = Vec::new();
    report(
        "start from the built-in set, CM7 + CM4 views",
        time(11, || {
            let v = load(&opts).expect("load");
            assert!(v.cm7_path.is_none());
            keep.push(v);
        }),
        Duration::from_millis(10),
    );
}

fn main() {
    let Some(dir) = svd_dir() else {
        bench_builtin();
        println!("no ST SVD files (set H7SH_SVD_DIR): skipping the other svd cases");
        return;
    };
    // Child mode: load both views cold and report the peak resident set.
    if std::env::var_os("H7SH_BENCH_MEM_CHILD").is_some() {
        let v = load(&opts(&dir, None, true)).expect("load");
        black_box(&v);
        println!("{}", vm_hwm_kib().unwrap_or(0));
        return;
    }

    // Profiling aid: only the cache start, many times.
    if std::env::var_os("H7SH_BENCH_ONLY_CACHE").is_some() {
        let cache = std::env::temp_dir().join(format!("h7sh-svd-prof-{}", std::process::id()));
        load(&opts(&dir, Some(cache.clone()), true)).expect("load");
        for _ in 0..200 {
            black_box(load(&opts(&dir, Some(cache.clone()), true)).expect("load"));
        }
        let _ = std::fs::remove_dir_all(&cache);
        return;
    }
    // Profiling aid: only the cold load of the CM7 view, many times.
    if std::env::var_os("H7SH_BENCH_ONLY_COLD").is_some() {
        for _ in 0..30 {
            black_box(load(&opts(&dir, None, false)).expect("load"));
        }
        return;
    }
    println!("svd bench on {}", dir.join("STM32H755_CM7.svd").display());
    println!(
        "(best = fastest run; the machine may be shared, so median and CPU time are shown too)"
    );
    let mut keep = Vec::new();
    report(
        "cold load + patch + index, CM7 view",
        time(7, || {
            keep.push(load(&opts(&dir, None, false)).expect("load"));
        }),
        Duration::from_millis(80),
    );
    keep.clear();
    report(
        "cold load + patch + index, CM7 + CM4 views",
        time(5, || {
            keep.push(load(&opts(&dir, None, true)).expect("load"));
        }),
        Duration::from_millis(80),
    );
    drop(keep);

    let cache = std::env::temp_dir().join(format!("h7sh-svd-bench-{}", std::process::id()));
    let v = load(&opts(&dir, Some(cache.clone()), true)).expect("load");
    assert!(!v.from_cache);
    // Start time excludes tearing the views down again: keep them until timing is over.
    let mut keep = Vec::new();
    report(
        "start from cache, CM7 + CM4 views",
        time(11, || {
            let v = load(&opts(&dir, Some(cache.clone()), true)).expect("load");
            assert!(v.from_cache);
            keep.push(v);
        }),
        Duration::from_millis(10),
    );
    drop(keep);
    let _ = std::fs::remove_dir_all(&cache);
    bench_builtin();

    let d = v.cm7.clone();
    let names = [
        "FLASH.OPTSR_CUR.BCM4",
        "FLASH_OPTSR_PRG.BCM7",
        "rcc_gcr.boot_c2",
        "DBGMCU_CR.DBGSTOP_D2",
        "HSEM_R0",
        "PWR.CPU2CR",
        "DCB.DHCSR.S_RESET_ST",
        "NVIC.ISER[3]",
        "GPIOA.MODER",
        "USART1_CR1.UE",
    ];
    for n in names {
        d.resolve(n).expect(n);
    }
    let iters = 20_000;
    let (best, median, cpu) = time(5, || {
        for _ in 0..iters {
            for n in names {
                black_box(d.resolve(black_box(n)).ok());
            }
        }
    });
    let per = |t: Duration| t / (iters * names.len() as u32);
    report(
        "name resolution (mean per name)",
        (per(best), per(median), cpu.map(per)),
        Duration::from_micros(2),
    );

    let prefixes = [
        "",
        "R",
        "RCC",
        "FLASH",
        "FLASH_OPTSR_CUR.BC",
        "gpio",
        "DMA1_S",
        "hsem.",
    ];
    let mut worst = (Duration::ZERO, Duration::ZERO, "");
    for p in prefixes {
        let (b, m, _) = time(21, || {
            black_box(d.complete(black_box(p)));
        });
        if b > worst.0 {
            worst = (b, m, p);
        }
    }
    report(
        &format!("completion, worst prefix {:?}", worst.2),
        (worst.0, worst.1, None),
        Duration::from_millis(1),
    );
    let (b, m, _) = time(5, || {
        black_box(d.resolve("FLASH.OPTSR_CURR.BCM4").err());
    });
    println!(
        "{:<48} best {b:>10.3?}  median {m:>10.3?}  (no target)",
        "unknown name with suggestions"
    );

    match std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .env("H7SH_BENCH_MEM_CHILD", "1")
            .env("H7SH_SVD_DIR", &dir)
            .output()
    }) {
        Ok(out) => {
            let kib: u64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0);
            if kib == 0 {
                println!("peak memory: not measurable here (no /proc/self/status)");
            } else {
                let mb = kib as f64 / 1024.0;
                let verdict = if mb <= 80.0 { "ok" } else { "OVER" };
                println!(
                    "{:<48} {mb:>8.1} MiB (VmHWM, cold load)  target <= 80 MB  {verdict}",
                    "peak memory, CM7 + CM4 views"
                );
            }
        }
        Err(e) => println!("peak memory: cannot run child process: {e}"),
    }
}
