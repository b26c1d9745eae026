//! Scenarios: TOML descriptions of a board state (option bytes, firmware per core, DBGMCU, flash
//! images, supply, wire faults). A scenario starts from the factory state of a NUCLEO-H755ZI-Q and
//! overrides only what it names. Keys are documented in `docs/sim.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::files::Kind;
use crate::h7::facts::{flash as fl, flash_prot as prot, mem};
use crate::sim::chip::flash::{field_set, OptionBytes};
use crate::sim::chip::memory::SparseMem;
use crate::sim::chip::{Firmware, SimError, Supply};
use crate::sim::faults::{FaultPlan, WaitBurst};
use crate::sim::probe::ProbeKind;
use crate::sim::silicon::Silicon;

/// Per-core settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreConfig {
    pub firmware: Firmware,
    /// What the firmware writes to PWR_CR3 (only the CM7 template writes it).
    pub supply_config: Supply,
}

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub supply: Supply,
    /// The BOOT0 pin (a jumper): 1 boots each core from its BCMx_ADD1 address.
    pub boot0: bool,
    pub option_bytes: OptionBytes,
    pub cm7: CoreConfig,
    pub cm4: CoreConfig,
    pub dbgmcu_cr: u32,
    /// Flash contents, offset 0 = 0x08000000.
    pub flash: SparseMem,
    pub faults: FaultPlan,
    /// The probe personality (`[probe] kind`); `--sim-probe` overrides it.
    pub probe: ProbeKind,
    /// Behaviours public sources do not settle (`[silicon]`).
    pub silicon: Silicon,
}

/// Built-in scenarios: (name, one-line description, TOML).
const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "nucleo-h755zi-q",
        "factory NUCLEO-H755ZI-Q: BCM4 = BCM7 = 1, ST dual-core template on both cores",
        include_str!("scenarios/nucleo-h755zi-q.toml"),
    ),
    (
        "bcm4-off",
        "BCM4 = 0: the CM4 is gated (AP3 reads zeros), the CM7 template times out",
        include_str!("scenarios/bcm4-off.toml"),
    ),
    (
        "cm4-stop-no-dbg",
        "CM4 in D2 Stop, DBGMCU_CR = 0, nobody wakes it: AP3 unclocked, D2CKRDY = 0",
        include_str!("scenarios/cm4-stop-no-dbg.toml"),
    ),
    (
        "cm4-bad-boot",
        "BCM4_ADD0 = 0x0818 points at erased flash: the CM4 locks up",
        include_str!("scenarios/cm4-bad-boot.toml"),
    ),
    (
        "rdp1",
        "RDP level 1: the debugger's connection locks the flash for both cores",
        include_str!("scenarios/rdp1.toml"),
    ),
    (
        "cm4-d2-standby",
        "CM4 firmware enters D2 Standby: D2 off, AP3 silent, each wake-up reboots the CM4",
        include_str!("scenarios/cm4-d2-standby.toml"),
    ),
    (
        "iwdg-reset-loop",
        "IWDG1 is a hardware watchdog the firmware never refreshes: a system reset every 512 ms",
        include_str!("scenarios/iwdg-reset-loop.toml"),
    ),
    (
        "ldo-on-smps",
        "firmware selects the LDO on the SMPS board: the chip locks up at boot, no debug port",
        include_str!("scenarios/ldo-on-smps.toml"),
    ),
];

const NAMES: [(&str, &str); 8] = [
    (BUILTIN[0].0, BUILTIN[0].1),
    (BUILTIN[1].0, BUILTIN[1].1),
    (BUILTIN[2].0, BUILTIN[2].1),
    (BUILTIN[3].0, BUILTIN[3].1),
    (BUILTIN[4].0, BUILTIN[4].1),
    (BUILTIN[5].0, BUILTIN[5].1),
    (BUILTIN[6].0, BUILTIN[6].1),
    (BUILTIN[7].0, BUILTIN[7].1),
];

/// Factory vector tables of the template images (approx: SP at the top of DTCM / of SRAM1-3 as
/// the CM4 sees it, reset handler at +0x2C0). (address, words).
pub const FACTORY_VECTORS: [(u32, [u32; 4]); 2] = [
    (
        0x0800_0000,
        [0x2002_0000, 0x0800_02C1, 0x0800_0701, 0x0800_0701],
    ),
    (
        0x0810_0000,
        [0x1004_8000, 0x0810_02C1, 0x0810_0701, 0x0810_0701],
    ),
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    description: Option<String>,
    board: Option<RawBoard>,
    option_bytes: Option<BTreeMap<String, toml::Value>>,
    cores: Option<RawCores>,
    dbgmcu: Option<RawDbgmcu>,
    flash: Option<RawFlash>,
    faults: Option<RawFaults>,
    probe: Option<RawProbe>,
    silicon: Option<BTreeMap<String, toml::Value>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    kind: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoard {
    supply: Option<String>,
    boot0: Option<u8>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCores {
    cm7: Option<RawCore>,
    cm4: Option<RawCore>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCore {
    firmware: Option<String>,
    supply_config: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDbgmcu {
    cr: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlash {
    /// Start from the factory images (default true) or from fully erased flash.
    factory: Option<bool>,
    image: Option<Vec<RawImage>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    address: Option<u32>,
    file: Option<String>,
    hex: Option<String>,
    fill: Option<u8>,
    length: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    unplug_after: Option<u64>,
    wait_burst: Option<RawBurst>,
    no_ack_burst: Option<RawBurst>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBurst {
    after: u64,
    count: u64,
}

/// Where an option-byte key lives.
#[derive(Clone, Copy)]
enum ObLoc {
    Optsr((u32, u32)),
    Boot7(u32),
    Boot4(u32),
    Prar(usize, (u32, u32)),
    Scar(usize, (u32, u32)),
    Wpsn(usize),
}

/// Every option-byte key a scenario may set, with RM0399 names (§4.9.8-§4.9.19).
fn ob_keys() -> Vec<(&'static str, ObLoc)> {
    use fl::optsr as o;
    let start = (0, 12);
    let end = (prot::AREA_END_SHIFT, 12);
    let dm = (31, 1);
    vec![
        ("BOR_LEV", ObLoc::Optsr(o::BOR_LEV)),
        ("IWDG1_SW", ObLoc::Optsr(o::IWDG1_SW)),
        ("IWDG2_SW", ObLoc::Optsr(o::IWDG2_SW)),
        ("NRST_STOP_D1", ObLoc::Optsr(o::NRST_STOP_D1)),
        ("NRST_STBY_D1", ObLoc::Optsr(o::NRST_STBY_D1)),
        ("RDP", ObLoc::Optsr(o::RDP)),
        ("FZ_IWDG_STOP", ObLoc::Optsr(o::FZ_IWDG_STOP)),
        ("FZ_IWDG_SDBY", ObLoc::Optsr(o::FZ_IWDG_SDBY)),
        ("ST_RAM_SIZE", ObLoc::Optsr(o::ST_RAM_SIZE)),
        ("SECURITY", ObLoc::Optsr(o::SECURITY)),
        ("BCM4", ObLoc::Optsr(o::BCM4)),
        ("BCM7", ObLoc::Optsr(o::BCM7)),
        ("NRST_STOP_D2", ObLoc::Optsr(o::NRST_STOP_D2)),
        ("NRST_STBY_D2", ObLoc::Optsr(o::NRST_STBY_D2)),
        ("IO_HSLV", ObLoc::Optsr(o::IO_HSLV)),
        ("SWAP_BANK_OPT", ObLoc::Optsr(o::SWAP_BANK_OPT)),
        ("BCM7_ADD0", ObLoc::Boot7(0)),
        ("BCM7_ADD1", ObLoc::Boot7(16)),
        ("BCM4_ADD0", ObLoc::Boot4(0)),
        ("BCM4_ADD1", ObLoc::Boot4(16)),
        ("PROT_AREA_START1", ObLoc::Prar(0, start)),
        ("PROT_AREA_END1", ObLoc::Prar(0, end)),
        ("DMEP1", ObLoc::Prar(0, dm)),
        ("PROT_AREA_START2", ObLoc::Prar(1, start)),
        ("PROT_AREA_END2", ObLoc::Prar(1, end)),
        ("DMEP2", ObLoc::Prar(1, dm)),
        ("SEC_AREA_START1", ObLoc::Scar(0, start)),
        ("SEC_AREA_END1", ObLoc::Scar(0, end)),
        ("DMES1", ObLoc::Scar(0, dm)),
        ("SEC_AREA_START2", ObLoc::Scar(1, start)),
        ("SEC_AREA_END2", ObLoc::Scar(1, end)),
        ("DMES2", ObLoc::Scar(1, dm)),
        ("WRPSN1", ObLoc::Wpsn(0)),
        ("WRPSN2", ObLoc::Wpsn(1)),
    ]
}

fn parse_supply(v: &str) -> Option<Supply> {
    match v {
        "smps" => Some(Supply::Smps),
        "ldo" => Some(Supply::Ldo),
        _ => None,
    }
}

fn parse_firmware(v: &str) -> Option<Firmware> {
    [
        Firmware::Idle,
        Firmware::StTemplateCm7,
        Firmware::StTemplateCm4,
        Firmware::StTemplateCm4Standby,
        Firmware::Lockup,
        Firmware::WfiSleep,
    ]
    .into_iter()
    .find(|f| f.name() == v)
}

impl Scenario {
    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Option<Scenario> {
        let (_, _, text) = BUILTIN.iter().find(|(n, _, _)| *n == name)?;
        Self::from_toml_str(text, &format!("built-in `{name}`"), None).ok()
    }

    /// Names of the built-in scenarios with one-line descriptions; the first is the default.
    pub fn builtin_names() -> &'static [(&'static str, &'static str)] {
        &NAMES
    }

    /// The default scenario (`nucleo-h755zi-q`).
    pub fn default_name() -> &'static str {
        BUILTIN[0].0
    }

    /// A built-in name, or a path to a `.toml` file.
    pub fn load(name_or_path: &str) -> Result<Scenario, SimError> {
        if let Some(s) = Self::builtin(name_or_path) {
            return Ok(s);
        }
        let path = Path::new(name_or_path);
        if !name_or_path.ends_with(".toml") && !path.exists() {
            return Err(SimError::UnknownScenario {
                name: name_or_path.to_string(),
            });
        }
        let text = crate::files::read_to_string(path, Kind::Scenario).map_err(|e| {
            SimError::ScenarioRead {
                path: path.to_path_buf(),
                source: e,
            }
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_toml_str(&text, &path.display().to_string(), Some(&base))
    }

    /// Parse scenario text; `origin` names it in errors, `base_dir` resolves image paths.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        base_dir: Option<&Path>,
    ) -> Result<Scenario, SimError> {
        let raw: Raw = toml::from_str(text).map_err(|e| SimError::ScenarioParse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let bad = |key: &str, reason: String| SimError::BadValue {
            origin: origin.to_string(),
            key: key.to_string(),
            reason,
        };

        let boot0 = match raw.board.as_ref().and_then(|b| b.boot0) {
            None | Some(0) => false,
            Some(1) => true,
            Some(v) => return Err(bad("board.boot0", format!("{v}: expected 0 or 1"))),
        };
        let supply = match raw.board.and_then(|b| b.supply) {
            None => Supply::Smps,
            Some(s) => parse_supply(&s).ok_or_else(|| {
                bad(
                    "board.supply",
                    format!("`{s}`: expected \"smps\" or \"ldo\""),
                )
            })?,
        };

        let mut ob = OptionBytes::default();
        let keys = ob_keys();
        for (key, value) in raw.option_bytes.unwrap_or_default() {
            let full = format!("option_bytes.{key}");
            let Some((_, loc)) = keys.iter().find(|(k, _)| *k == key) else {
                let known: Vec<_> = keys.iter().map(|(k, _)| *k).collect();
                return Err(SimError::ScenarioParse {
                    origin: origin.to_string(),
                    message: format!("unknown key `{full}`, expected one of {}", known.join(", ")),
                });
            };
            let width = match loc {
                ObLoc::Optsr((_, w)) | ObLoc::Prar(_, (_, w)) | ObLoc::Scar(_, (_, w)) => *w,
                ObLoc::Boot7(_) | ObLoc::Boot4(_) => 16,
                ObLoc::Wpsn(_) => 8,
            };
            let v = value
                .as_integer()
                .ok_or_else(|| bad(&full, format!("`{value}` is not an integer")))?;
            if v < 0 || v >= (1i64 << width) {
                return Err(bad(&full, format!("{v:#x} does not fit in {width} bit(s)")));
            }
            let v = v as u32;
            match *loc {
                ObLoc::Optsr(f) => ob.optsr = field_set(ob.optsr, f, v),
                ObLoc::Boot7(sh) => ob.boot7 = field_set(ob.boot7, (sh, 16), v),
                ObLoc::Boot4(sh) => ob.boot4 = field_set(ob.boot4, (sh, 16), v),
                ObLoc::Prar(b, f) => ob.prar[b] = field_set(ob.prar[b], f, v),
                ObLoc::Scar(b, f) => ob.scar[b] = field_set(ob.scar[b], f, v),
                ObLoc::Wpsn(b) => ob.wpsn[b] = field_set(ob.wpsn[b], (0, 8), v),
            }
        }

        let core = |raw: Option<RawCore>, which: &str, default: Firmware| {
            let mut c = CoreConfig {
                firmware: default,
                supply_config: Supply::Smps,
            };
            if let Some(r) = raw {
                if let Some(f) = r.firmware {
                    c.firmware = parse_firmware(&f).ok_or_else(|| {
                        bad(
                            &format!("cores.{which}.firmware"),
                            format!("`{f}`: expected idle, st-template-cm7, st-template-cm4, st-template-cm4-standby, lockup or wfi-sleep"),
                        )
                    })?;
                }
                if let Some(s) = r.supply_config {
                    c.supply_config = parse_supply(&s).ok_or_else(|| {
                        bad(
                            &format!("cores.{which}.supply_config"),
                            format!("`{s}`: expected \"smps\" or \"ldo\""),
                        )
                    })?;
                }
            }
            Ok::<_, SimError>(c)
        };
        let (cm7_raw, cm4_raw) = match raw.cores {
            Some(c) => (c.cm7, c.cm4),
            None => (None, None),
        };
        let cm7 = core(cm7_raw, "cm7", Firmware::StTemplateCm7)?;
        let cm4 = core(cm4_raw, "cm4", Firmware::StTemplateCm4)?;

        let mut flash = SparseMem::new(0xFF);
        let raw_flash = raw.flash.unwrap_or(RawFlash {
            factory: None,
            image: None,
        });
        if raw_flash.factory.unwrap_or(true) {
            for (addr, words) in FACTORY_VECTORS {
                for (i, w) in words.iter().enumerate() {
                    flash.write(addr - mem::FLASH_BANK1.0 as u32 + 4 * i as u32, 4, *w);
                }
            }
        }
        for (n, img) in raw_flash.image.unwrap_or_default().into_iter().enumerate() {
            load_image(&mut flash, img, n, origin, base_dir)?;
        }

        let faults = raw
            .faults
            .map(|f| FaultPlan {
                unplug_after: f.unplug_after,
                wait_burst: f.wait_burst.map(|b| WaitBurst {
                    after: b.after,
                    count: b.count,
                }),
                no_ack_burst: f.no_ack_burst.map(|b| WaitBurst {
                    after: b.after,
                    count: b.count,
                }),
            })
            .unwrap_or_default();

        let probe = match raw.probe.and_then(|p| p.kind) {
            None => ProbeKind::default(),
            Some(k) => ProbeKind::parse(&k).map_err(|reason| bad("probe.kind", reason))?,
        };

        let silicon = match &raw.silicon {
            None => Silicon::default(),
            Some(t) => Silicon::from_table(t).map_err(|(key, reason)| bad(&key, reason))?,
        };

        Ok(Scenario {
            name: raw.name.unwrap_or_else(|| origin.to_string()),
            description: raw.description.unwrap_or_default(),
            supply,
            boot0,
            option_bytes: ob,
            cm7,
            cm4,
            dbgmcu_cr: raw.dbgmcu.and_then(|d| d.cr).unwrap_or(0),
            flash,
            faults,
            probe,
            silicon,
        })
    }
}

const FLASH_SIZE: u64 = mem::FLASH_BANK1.1 + mem::FLASH_BANK2.1;

/// Place one `[[flash.image]]` into `flash`.
fn load_image(
    flash: &mut SparseMem,
    img: RawImage,
    n: usize,
    origin: &str,
    base_dir: Option<&Path>,
) -> Result<(), SimError> {
    let key = format!("flash.image[{n}]");
    let bad = |reason: String| SimError::BadValue {
        origin: origin.to_string(),
        key: key.clone(),
        reason,
    };
    let resolve = |p: &str| -> PathBuf {
        match base_dir {
            Some(d) => d.join(p),
            None => PathBuf::from(p),
        }
    };
    // The flash offset of `len` bytes at `addr`, checked before anything is allocated.
    let offset_in_flash =
        |addr: u64, len: u64, path: &Path| match addr.checked_sub(mem::FLASH_BANK1.0) {
            Some(off) if off.saturating_add(len) <= FLASH_SIZE => Ok(off as u32),
            _ => Err(SimError::FlashImage {
                path: path.to_path_buf(),
                message: format!(
                    "{len} bytes at {addr:#010x} do not fit in flash (0x08000000..0x08200000)"
                ),
            }),
        };
    let place = |flash: &mut SparseMem, addr: u64, data: &[u8], path: &Path| {
        let off = offset_in_flash(addr, data.len() as u64, path)?;
        flash.write_bytes(off, data);
        Ok(())
    };
    match (&img.file, &img.hex, img.fill) {
        (Some(file), None, None) => {
            let addr = img
                .address
                .ok_or_else(|| bad("`file` needs `address`".into()))?;
            if img.length.is_some() {
                return Err(bad("`length` goes with `fill`, not `file`".into()));
            }
            let path = resolve(file);
            let data =
                crate::files::read(&path, Kind::Image).map_err(|e| SimError::FlashImage {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            place(flash, u64::from(addr), &data, &path)
        }
        (None, Some(hex), None) => {
            if img.address.is_some() || img.length.is_some() {
                return Err(bad(
                    "an Intel HEX image carries its own addresses: drop `address`/`length`".into(),
                ));
            }
            let path = resolve(hex);
            let text = crate::files::read_to_string(&path, Kind::Image).map_err(|e| {
                SimError::FlashImage {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
            let mut upper: u64 = 0;
            for rec in ihex::Reader::new(&text) {
                let rec = rec.map_err(|e| SimError::FlashImage {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                match rec {
                    ihex::Record::Data { offset, value } => {
                        place(flash, upper + u64::from(offset), &value, &path)?
                    }
                    ihex::Record::ExtendedLinearAddress(hi) => upper = u64::from(hi) << 16,
                    ihex::Record::ExtendedSegmentAddress(seg) => upper = u64::from(seg) << 4,
                    ihex::Record::EndOfFile => break,
                    _ => {}
                }
            }
            Ok(())
        }
        (None, None, Some(fill)) => {
            let addr = img
                .address
                .ok_or_else(|| bad("`fill` needs `address`".into()))?;
            let len = img
                .length
                .ok_or_else(|| bad("`fill` needs `length`".into()))?;
            offset_in_flash(u64::from(addr), u64::from(len), Path::new(origin))?;
            let data = vec![fill; len as usize];
            place(flash, u64::from(addr), &data, Path::new(origin))
        }
        _ => Err(bad("give exactly one of `file`, `hex` or `fill`".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_descriptions_match() {
        for (name, desc) in Scenario::builtin_names() {
            let (_, _, text) = BUILTIN.iter().find(|(n, _, _)| n == name).unwrap();
            let s = Scenario::from_toml_str(text, name, None).expect(name);
            assert_eq!(s.name, *name);
            assert_eq!(s.description, *desc);
        }
    }
}
