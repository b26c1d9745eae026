//! Embedded flash controller: the option-byte half (RM0399 §4.4.x "option byte modification",
//! §4.9 registers). Programming and erasing the banks through FLASH_KEYRx/CRx is `flash_bank`.

use crate::h7::facts::{flash as f, flash_prot as prot};

/// Virtual time an option-byte change keeps OPTSR_CUR.OPT_BUSY set (approx: a few ms on silicon).
pub const OPT_PROGRAM_NANOS: u64 = 4_000_000;
/// Option-byte change with an RDP 1 -> 0 regression: both banks are mass-erased first (approx:
/// the datasheet's bank erase time, banks in parallel).
pub const RDP_REGRESSION_NANOS: u64 = super::flash_bank::BANK_ERASE_NANOS;

/// Mask of a (lsb, width) field.
pub const fn field_mask((lsb, width): (u32, u32)) -> u32 {
    (((1u64 << width) - 1) as u32) << lsb
}

/// Value of a (lsb, width) field of `reg`.
pub const fn field_get(reg: u32, field: (u32, u32)) -> u32 {
    (reg & field_mask(field)) >> field.0
}

/// `reg` with field replaced by `value` (truncated to the field width).
pub const fn field_set(reg: u32, field: (u32, u32), value: u32) -> u32 {
    (reg & !field_mask(field)) | ((value << field.0) & field_mask(field))
}

/// Bits of OPTSR that are status, not option bytes (OPT_BUSY, OPTCHANGEERR).
const OPTSR_STATUS: u32 = field_mask(f::optsr::OPT_BUSY) | field_mask(f::optsr::OPTCHANGEERR);

/// RDP protection level decoded from the RDP byte (RM0399 §4.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdpLevel {
    L0,
    L1,
    L2,
}

impl RdpLevel {
    pub fn from_byte(rdp: u32) -> Self {
        match rdp {
            f::RDP_LEVEL0 => RdpLevel::L0,
            f::RDP_LEVEL2 => RdpLevel::L2,
            _ => RdpLevel::L1,
        }
    }
}

/// The non-volatile option bytes, as OPTSR/BOOTx/PRAR/SCAR/WPSN words (CUR layout, status bits 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OptionBytes {
    pub optsr: u32,
    pub boot7: u32,
    pub boot4: u32,
    /// Index 0 = bank 1, 1 = bank 2.
    pub prar: [u32; 2],
    pub scar: [u32; 2],
    pub wpsn: [u32; 2],
}

impl Default for OptionBytes {
    fn default() -> Self {
        Self {
            optsr: f::OPTSR_FACTORY & !OPTSR_STATUS,
            boot7: f::BOOT7_FACTORY,
            boot4: f::BOOT4_FACTORY,
            prar: [prot::PRAR_FACTORY; 2],
            scar: [prot::SCAR_FACTORY; 2],
            wpsn: [prot::WPSN_FACTORY; 2],
        }
    }
}

impl OptionBytes {
    pub fn get(&self, field: (u32, u32)) -> u32 {
        field_get(self.optsr, field)
    }
    pub fn rdp(&self) -> RdpLevel {
        RdpLevel::from_byte(self.get(f::optsr::RDP))
    }
    pub fn bcm4(&self) -> bool {
        self.get(f::optsr::BCM4) != 0
    }
    pub fn bcm7(&self) -> bool {
        self.get(f::optsr::BCM7) != 0
    }
    /// CM7 boot address 0 (BCM7_ADD0 << 16).
    pub fn cm7_boot_addr(&self) -> u32 {
        (self.boot7 & 0xFFFF) << f::BOOT_ADDR_SHIFT
    }
    /// CM4 boot address 0 (BCM4_ADD0 << 16).
    pub fn cm4_boot_addr(&self) -> u32 {
        (self.boot4 & 0xFFFF) << f::BOOT_ADDR_SHIFT
    }
    /// IWDG1 (CM7) / IWDG2 (CM4) in software mode: started by firmware only; 0 = hardware
    /// watchdog, running from every reset.
    pub fn iwdg_sw(&self, cm7: bool) -> bool {
        self.get(if cm7 {
            f::optsr::IWDG1_SW
        } else {
            f::optsr::IWDG2_SW
        }) != 0
    }
    /// NRST_STOP_D2 / NRST_STBY_D2: 0 = D2 entering Stop / Standby resets instead.
    pub fn d2_low_power_allowed(&self, standby: bool) -> bool {
        self.get(if standby {
            f::optsr::NRST_STBY_D2
        } else {
            f::optsr::NRST_STOP_D2
        }) != 0
    }
    /// CM7 boot address 1, used with BOOT0 = 1 (BCM7_ADD1 << 16).
    pub fn cm7_boot_addr1(&self) -> u32 {
        (self.boot7 >> 16) << f::BOOT_ADDR_SHIFT
    }
    /// CM4 boot address 1, used with BOOT0 = 1 (BCM4_ADD1 << 16).
    pub fn cm4_boot_addr1(&self) -> u32 {
        (self.boot4 >> 16) << f::BOOT_ADDR_SHIFT
    }
}

/// A key-register unlock sequence (OPTKEYR for OPTCR, KEYRx for CRx: RM0399 §4.5.1-4.5.2):
/// key 1 then key 2 unlocks; a wrong key or order locks until the next reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Locked, waiting for key 1.
    Locked,
    /// Key 1 seen, waiting for key 2.
    GotKey1,
    /// The protected register is unlocked.
    Unlocked,
    /// A wrong key or order: locked until the next reset.
    Blocked,
}

impl KeyState {
    /// The state after `value` is written to the key register.
    pub fn feed(self, value: u32, (key1, key2): (u32, u32)) -> KeyState {
        match self {
            KeyState::Locked if value == key1 => KeyState::GotKey1,
            KeyState::GotKey1 if value == key2 => KeyState::Unlocked,
            KeyState::Unlocked => KeyState::Unlocked,
            _ => KeyState::Blocked,
        }
    }

    /// Writing LOCK relocks (a blocked register stays blocked).
    pub fn relock(self) -> KeyState {
        match self {
            KeyState::Blocked => KeyState::Blocked,
            _ => KeyState::Locked,
        }
    }
}

/// What finishing an option-byte change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObChange {
    /// RDP went from level 1 back to level 0: both banks were mass-erased.
    pub mass_erase: bool,
}

/// Volatile state of the option-byte controller.
#[derive(Debug, Clone)]
pub struct FlashCtrl {
    key: KeyState,
    optcr: u32,
    prg: OptionBytes,
    changeerr: bool,
    busy_until: Option<u64>,
}

/// Outcome of a write the chip must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashEffect {
    None,
    /// OPTCR.MER while unlocked: erase both banks now.
    MassErase,
}

impl FlashCtrl {
    /// Controller state after a reset: PRG registers loaded from the current option bytes.
    pub fn after_reset(cur: &OptionBytes) -> Self {
        Self {
            key: KeyState::Locked,
            optcr: prot::OPTCR_RESET,
            prg: *cur,
            changeerr: false,
            busy_until: None,
        }
    }

    fn unlocked(&self) -> bool {
        self.key == KeyState::Unlocked
    }

    pub fn busy(&self) -> bool {
        self.busy_until.is_some()
    }

    /// Read of a FLASH register offset this model owns; `None` = not modelled (plain register).
    pub fn read(&self, off: u64, cur: &OptionBytes) -> Option<u32> {
        let bank = |base: u64| bank_of(off, base);
        let v = match off {
            f::OPTKEYR => 0,
            f::OPTCR => {
                let busy = if self.busy() { f::OPTCR_OPTSTART } else { 0 };
                let lock = if self.unlocked() { 0 } else { f::OPTCR_OPTLOCK };
                (self.optcr & !(f::OPTCR_OPTLOCK | f::OPTCR_OPTSTART)) | lock | busy
            }
            f::OPTSR_CUR => {
                let mut v = cur.optsr & !OPTSR_STATUS;
                if self.busy() {
                    v |= field_mask(f::optsr::OPT_BUSY);
                }
                if self.changeerr {
                    v |= field_mask(f::optsr::OPTCHANGEERR);
                }
                v
            }
            f::OPTSR_PRG => self.prg.optsr,
            f::OPTCCR => 0,
            f::BOOT7_CUR => cur.boot7,
            f::BOOT7_PRG => self.prg.boot7,
            f::BOOT4_CUR => cur.boot4,
            f::BOOT4_PRG => self.prg.boot4,
            _ => {
                if let Some(b) = bank(f::PRAR_CUR1) {
                    cur.prar[b]
                } else if let Some(b) = bank(f::PRAR_PRG1) {
                    self.prg.prar[b]
                } else if let Some(b) = bank(f::SCAR_CUR1) {
                    cur.scar[b]
                } else if let Some(b) = bank(f::SCAR_PRG1) {
                    self.prg.scar[b]
                } else if let Some(b) = bank(f::WPSN_CUR1R) {
                    cur.wpsn[b]
                } else if let Some(b) = bank(f::WPSN_PRG1R) {
                    self.prg.wpsn[b]
                } else {
                    return None;
                }
            }
        };
        Some(v)
    }

    /// Write of a FLASH register offset; returns `None` when the offset is not modelled.
    pub fn write(
        &mut self,
        off: u64,
        value: u32,
        now: u64,
        cur: &OptionBytes,
    ) -> Option<FlashEffect> {
        let prg_ok = self.unlocked() && !self.busy();
        let bank = |base: u64| bank_of(off, base);
        match off {
            f::OPTKEYR => {
                // RM0399 §4.5.2: key 1 then key 2; anything else locks OPTCR until reset.
                self.key = self.key.feed(value, (f::OPTKEY1, f::OPTKEY2));
            }
            f::OPTCR => {
                if !self.unlocked() {
                    // Locked: only OPTSTART has an effect, an error (RM0399 §4.9.7).
                    if value & f::OPTCR_OPTSTART != 0 {
                        self.changeerr = true;
                    }
                    return Some(FlashEffect::None);
                }
                if value & f::OPTCR_OPTLOCK != 0 {
                    self.key = self.key.relock();
                }
                self.optcr = value & (f::OPTCR_OPTCHANGEERRIE | f::OPTCR_SWAP_BANK);
                if value & f::OPTCR_MER != 0 && !self.busy() {
                    return Some(FlashEffect::MassErase);
                }
                if value & f::OPTCR_OPTSTART != 0 && !self.busy() {
                    if Self::change_valid(cur, &self.prg) {
                        // RDP 1 -> 0 erases both banks first: seconds, not milliseconds.
                        let regression =
                            cur.rdp() == RdpLevel::L1 && self.prg.rdp() == RdpLevel::L0;
                        let nanos = if regression {
                            RDP_REGRESSION_NANOS
                        } else {
                            OPT_PROGRAM_NANOS
                        };
                        self.busy_until = Some(now.saturating_add(nanos));
                    } else {
                        self.changeerr = true;
                    }
                }
            }
            f::OPTCCR => {
                if value & f::CLR_OPTCHANGEERR != 0 {
                    self.changeerr = false;
                }
            }
            f::OPTSR_PRG if prg_ok => self.prg.optsr = value & !OPTSR_STATUS,
            f::BOOT7_PRG if prg_ok => self.prg.boot7 = value,
            f::BOOT4_PRG if prg_ok => self.prg.boot4 = value,
            f::OPTSR_PRG | f::BOOT7_PRG | f::BOOT4_PRG => {}
            f::OPTSR_CUR | f::BOOT7_CUR | f::BOOT4_CUR => {}
            _ => {
                if let Some(b) = bank(f::PRAR_PRG1) {
                    if prg_ok {
                        self.prg.prar[b] = value;
                    }
                } else if let Some(b) = bank(f::SCAR_PRG1) {
                    if prg_ok {
                        self.prg.scar[b] = value;
                    }
                } else if let Some(b) = bank(f::WPSN_PRG1R) {
                    if prg_ok {
                        self.prg.wpsn[b] = value;
                    }
                } else if bank(f::PRAR_CUR1).is_some()
                    || bank(f::SCAR_CUR1).is_some()
                    || bank(f::WPSN_CUR1R).is_some()
                {
                    // *_CUR are read-only.
                } else {
                    return None;
                }
            }
        }
        Some(FlashEffect::None)
    }

    /// RM0399 §4.5.3: level 2 is final; nothing may change once there.
    fn change_valid(cur: &OptionBytes, prg: &OptionBytes) -> bool {
        !(cur.rdp() == RdpLevel::L2 && prg != cur)
    }

    /// Finish a pending change once its time has come: returns the new option bytes.
    pub fn poll(&mut self, now: u64, cur: &OptionBytes) -> Option<(OptionBytes, ObChange)> {
        let until = self.busy_until?;
        if now < until {
            return None;
        }
        self.busy_until = None;
        let mut new = self.prg;
        let mass_erase = cur.rdp() == RdpLevel::L1 && new.rdp() == RdpLevel::L0;
        if mass_erase {
            // The regression also resets the protections (RM0399 §4.5.3, approx).
            new.prar = [prot::PRAR_FACTORY; 2];
            new.scar = [prot::SCAR_FACTORY; 2];
            new.wpsn = [prot::WPSN_FACTORY; 2];
            self.prg = new;
        }
        Some((new, ObChange { mass_erase }))
    }
}

/// Which bank a per-bank register offset addresses: bank 1 at `base`, bank 2 at
/// `base + BANK2_OFFSET` (RM0399 §4.9: PRAR/SCAR/WPSN are repeated per bank).
fn bank_of(off: u64, base: u64) -> Option<usize> {
    if off == base {
        Some(0)
    } else if off == base + f::BANK2_OFFSET {
        Some(1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let r = field_set(0, f::optsr::RDP, 0xCC);
        assert_eq!(field_get(r, f::optsr::RDP), 0xCC);
        assert_eq!(field_mask(f::optsr::BCM4), 1 << 22);
    }

    #[test]
    fn factory_option_bytes() {
        let ob = OptionBytes::default();
        assert!(ob.bcm4() && ob.bcm7());
        assert_eq!(ob.rdp(), RdpLevel::L0);
        assert_eq!(ob.cm7_boot_addr(), 0x0800_0000);
        assert_eq!(ob.cm4_boot_addr(), 0x0810_0000);
    }
}
