//! The flash interface of each bank (RM0399 §4.3, §4.9.3-4.9.6): KEYRx unlocks CRx (key 1 then
//! key 2; anything else locks it until the next reset), PGx programs 256-bit flash words through
//! a write buffer of eight 32-bit words, SERx + SNBx + STARTx erases a 128 KiB sector, BERx +
//! STARTx the bank; SRx shows BSY/QW/WBNE, EOP and the errors (WRPERR, PGSERR, STRBERR,
//! INCERR), CCRx clears them. The data itself lives in the chip's non-volatile flash.

use super::flash::KeyState as Key;
use crate::h7::facts::{flash as f, mem_ext};

/// CRx bits (RM0399 §4.9.4).
pub mod cr {
    pub const LOCK: u32 = 1 << 0;
    pub const PG: u32 = 1 << 1;
    pub const SER: u32 = 1 << 2;
    pub const BER: u32 = 1 << 3;
    pub const PSIZE: u32 = 0x3 << 4;
    pub const FW: u32 = 1 << 6;
    pub const START: u32 = 1 << 7;
    pub const SNB_SHIFT: u32 = 8;
    pub const SNB: u32 = 0x7 << SNB_SHIFT;
    /// After reset: locked, PSIZE = 64 bits (RM0399 §4.9.4: 0x0000_0031).
    pub const RESET: u32 = 0x0000_0031;
}

/// SRx bits (RM0399 §4.9.5); the error and EOP bits are cleared through CCRx at the same place.
pub mod sr {
    pub const BSY: u32 = 1 << 0;
    pub const WBNE: u32 = 1 << 1;
    pub const QW: u32 = 1 << 2;
    pub const EOP: u32 = 1 << 16;
    pub const WRPERR: u32 = 1 << 17;
    pub const PGSERR: u32 = 1 << 18;
    pub const STRBERR: u32 = 1 << 19;
    pub const INCERR: u32 = 1 << 21;
    pub const OPERR: u32 = 1 << 22;
    /// The flags CCRx clears (EOP and the errors, bits 16-27 but 20).
    pub const CLEARABLE: u32 = 0x0FEF_0000;
}

/// One 256-bit flash word (RM0399 §4.3.9: the programming granularity).
pub const FLASH_WORD: u32 = 32;
/// Bytes per bank.
pub const BANK_SIZE: u32 = 1024 * 1024;
/// Time to program one flash word (approx: datasheet t_prog 256-bit, typical).
pub const PROGRAM_NANOS: u64 = 16_000;
/// Time to erase one 128 KiB sector (approx: datasheet t_ERASE128KB, typical).
pub const SECTOR_ERASE_NANOS: u64 = 1_000_000_000;
/// Time to erase a bank (approx: datasheet t_ME per bank, typical).
pub const BANK_ERASE_NANOS: u64 = 2_000_000_000;

/// An operation that finishes at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Program,
    EraseSector(u32),
    EraseBank,
}

/// A data write the interface refused (a bus error); the SRx flag it set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub u32);

/// What the chip must do to the flash data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlashData {
    /// Program this flash word (offset in the bank, 32 bytes; unwritten bytes 0xFF).
    Program { offset: u32, bytes: [u8; 32] },
    /// Erase `len` bytes at `offset` in the bank.
    Erase { offset: u32, len: u32 },
}

/// One bank's flash interface.
#[derive(Debug, Clone)]
pub struct FlashBank {
    key: Key,
    cr: u32,
    flags: u32,
    busy: Option<(u64, Op)>,
    /// The flash word being filled: its offset in the bank and the bytes written so far.
    buffer: Option<(u32, [Option<u8>; 32])>,
}

impl Default for FlashBank {
    fn default() -> Self {
        Self::after_reset()
    }
}

impl FlashBank {
    pub fn after_reset() -> Self {
        FlashBank {
            key: Key::Locked,
            cr: cr::RESET & !cr::LOCK,
            flags: 0,
            busy: None,
            buffer: None,
        }
    }

    fn unlocked(&self) -> bool {
        self.key == Key::Unlocked
    }

    pub fn busy(&self) -> bool {
        self.busy.is_some()
    }

    pub fn read(&self, reg: u64) -> Option<u32> {
        Some(match reg {
            f::KEYR1 | f::CCR1 => 0,
            f::CR1 => self.cr | if self.unlocked() { 0 } else { cr::LOCK },
            f::SR1 => {
                let mut v = self.flags;
                if self.busy() {
                    v |= sr::BSY | sr::QW;
                }
                if self.buffer.is_some() {
                    v |= sr::WBNE;
                }
                v
            }
            _ => return None,
        })
    }

    /// A register write at `now`; `sector_protected(n)` says whether WPSN protects sector n.
    /// Returns the flash data change to make now (a force-written word).
    pub fn write(
        &mut self,
        reg: u64,
        value: u32,
        now: u64,
        sector_protected: &dyn Fn(u32) -> bool,
    ) -> Option<Option<FlashData>> {
        match reg {
            f::KEYR1 => {
                self.key = self.key.feed(value, (f::KEY1, f::KEY2));
            }
            f::CCR1 => self.flags &= !(value & sr::CLEARABLE),
            f::CR1 => {
                if !self.unlocked() {
                    return Some(None);
                }
                if value & cr::LOCK != 0 {
                    self.key = self.key.relock();
                }
                // LOCK, FW and START act and read back 0; the rest is kept (the interrupt
                // enables and CRC_EN included).
                self.cr = value & !(cr::LOCK | cr::FW | cr::START);
                if value & cr::FW != 0 {
                    return Some(self.force_write(now));
                }
                if value & cr::START != 0 && !self.busy() {
                    self.start_erase(now, sector_protected);
                }
            }
            _ => return None,
        }
        Some(None)
    }

    fn start_erase(&mut self, now: u64, sector_protected: &dyn Fn(u32) -> bool) {
        if self.cr & cr::BER != 0 {
            if (0..8).any(sector_protected) {
                self.flags |= sr::WRPERR;
                return;
            }
            self.busy = Some((now + BANK_ERASE_NANOS, Op::EraseBank));
        } else if self.cr & cr::SER != 0 {
            let n = (self.cr & cr::SNB) >> cr::SNB_SHIFT;
            if sector_protected(n) {
                self.flags |= sr::WRPERR;
                return;
            }
            self.busy = Some((now + SECTOR_ERASE_NANOS, Op::EraseSector(n)));
        } else {
            // START without SER or BER: an inconsistent sequence.
            self.flags |= sr::PGSERR;
        }
    }

    /// FW: program the partly filled buffer now (unwritten bytes stay erased).
    fn force_write(&mut self, now: u64) -> Option<FlashData> {
        let (offset, bytes) = self.buffer.take()?;
        self.busy = Some((now + PROGRAM_NANOS, Op::Program));
        Some(FlashData::Program {
            offset,
            bytes: bytes.map(|b| b.unwrap_or(0xFF)),
        })
    }

    /// A bus write of `data` (`n` bytes) at `offset` in this bank. Ok(Some) when it completes a
    /// flash word to program; Err when the interface refuses it (a bus error, with the flag set).
    pub fn data_write(
        &mut self,
        offset: u32,
        n: u32,
        data: u32,
        now: u64,
        sector_protected: &dyn Fn(u32) -> bool,
    ) -> Result<Option<FlashData>, Refused> {
        let refuse = |bank: &mut Self, flag: u32| {
            bank.flags |= flag;
            bank.buffer = None;
            Err(Refused(flag))
        };
        let erasing = matches!(self.busy, Some((_, Op::EraseSector(_) | Op::EraseBank)));
        if !self.unlocked() || self.cr & cr::PG == 0 || erasing {
            // A write to flash outside a programming sequence (RM0399 §4.3.9); during an erase
            // silicon stalls the write until the erase ends: the model refuses it (approx).
            self.flags |= sr::PGSERR;
            return Err(Refused(sr::PGSERR));
        }
        if sector_protected(offset / mem_ext::FLASH_SECTOR as u32) {
            return refuse(self, sr::WRPERR);
        }
        let word = offset & !(FLASH_WORD - 1);
        let (base, bytes) = self.buffer.get_or_insert((word, [None; 32]));
        if *base != word {
            // Writes to another flash word before this one is complete (RM0399 §4.3.9).
            return refuse(self, sr::INCERR);
        }
        for i in 0..n {
            let at = ((offset + i) % FLASH_WORD) as usize;
            if bytes[at].is_some() {
                // The same byte twice in one flash word.
                return refuse(self, sr::STRBERR);
            }
            bytes[at] = Some((data >> (8 * i)) as u8);
        }
        if bytes.iter().all(Option::is_some) {
            return Ok(self.force_write(now));
        }
        Ok(None)
    }

    /// Finish the running operation once its time has come: the erase to apply, if any.
    pub fn poll(&mut self, now: u64) -> Option<Option<FlashData>> {
        let (until, op) = self.busy?;
        if now < until {
            return None;
        }
        self.busy = None;
        self.flags |= sr::EOP;
        Some(match op {
            Op::Program => None,
            Op::EraseSector(n) => Some(FlashData::Erase {
                offset: n * mem_ext::FLASH_SECTOR as u32,
                len: mem_ext::FLASH_SECTOR as u32,
            }),
            Op::EraseBank => Some(FlashData::Erase {
                offset: 0,
                len: BANK_SIZE,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: u32) -> bool {
        false
    }

    fn unlocked() -> FlashBank {
        let mut b = FlashBank::after_reset();
        b.write(f::KEYR1, f::KEY1, 0, &none);
        b.write(f::KEYR1, f::KEY2, 0, &none);
        b
    }

    #[test]
    fn locked_at_reset_and_a_wrong_key_blocks_until_reset() {
        let mut b = FlashBank::after_reset();
        assert_eq!(b.read(f::CR1), Some(cr::RESET));
        b.write(f::KEYR1, f::KEY2, 0, &none);
        b.write(f::KEYR1, f::KEY1, 0, &none);
        b.write(f::KEYR1, f::KEY2, 0, &none);
        assert_ne!(b.read(f::CR1).unwrap() & cr::LOCK, 0);
        assert_eq!(unlocked().read(f::CR1).unwrap() & cr::LOCK, 0);
    }

    #[test]
    fn a_flash_word_programs_when_its_32_bytes_are_written() {
        let mut b = unlocked();
        assert_eq!(
            b.data_write(0, 4, 1, 0, &none),
            Err(Refused(sr::PGSERR)),
            "PG = 0"
        );
        assert_ne!(b.read(f::SR1).unwrap() & sr::PGSERR, 0);
        b.write(f::CCR1, sr::CLEARABLE, 0, &none);
        b.write(f::CR1, cr::PG, 0, &none);
        for i in 0..7 {
            assert_eq!(b.data_write(0x40 + 4 * i, 4, i, 0, &none), Ok(None));
        }
        assert_ne!(b.read(f::SR1).unwrap() & sr::WBNE, 0);
        let Ok(Some(FlashData::Program { offset, bytes })) = b.data_write(0x5C, 4, 7, 10, &none)
        else {
            panic!("the eighth word programs")
        };
        assert_eq!((offset, bytes[28]), (0x40, 7));
        assert_ne!(b.read(f::SR1).unwrap() & sr::QW, 0);
        assert_eq!(b.poll(10 + PROGRAM_NANOS), Some(None));
        assert_ne!(b.read(f::SR1).unwrap() & sr::EOP, 0);
        // Another flash word before this one is full: INCERR.
        b.data_write(0x80, 4, 0, 0, &none).unwrap();
        assert_eq!(b.data_write(0xA0, 4, 0, 0, &none), Err(Refused(sr::INCERR)));
        assert_ne!(b.read(f::SR1).unwrap() & sr::INCERR, 0);
    }

    #[test]
    fn sector_erase_takes_time_and_respects_write_protection() {
        let mut b = unlocked();
        let protect_2 = |n: u32| n == 2;
        b.write(
            f::CR1,
            cr::SER | (2 << cr::SNB_SHIFT) | cr::START,
            0,
            &protect_2,
        );
        assert_ne!(b.read(f::SR1).unwrap() & sr::WRPERR, 0);
        b.write(
            f::CR1,
            cr::SER | (3 << cr::SNB_SHIFT) | cr::START,
            0,
            &protect_2,
        );
        assert!(b.busy());
        assert_eq!(b.poll(SECTOR_ERASE_NANOS - 1), None);
        assert_eq!(
            b.data_write(0, 4, 0, 10, &protect_2),
            Err(Refused(sr::PGSERR)),
            "no programming while the sector erases"
        );
        assert_eq!(
            b.poll(SECTOR_ERASE_NANOS),
            Some(Some(FlashData::Erase {
                offset: 3 * 128 * 1024,
                len: 128 * 1024
            }))
        );
    }
}
