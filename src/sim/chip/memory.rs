//! Sparse byte-addressed storage: pages are allocated on the first write that changes them, so a
//! board with 2 MiB of flash and 1 MiB of RAM costs almost nothing until it is used.

use std::collections::BTreeMap;

/// Page size of the sparse store.
pub const PAGE: u32 = 4096;

/// A sparse memory whose unwritten bytes read as `fill` (0 for RAM, 0xFF for erased flash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseMem {
    fill: u8,
    pages: BTreeMap<u32, Box<[u8]>>,
}

impl SparseMem {
    pub fn new(fill: u8) -> Self {
        Self {
            fill,
            pages: BTreeMap::new(),
        }
    }

    pub fn read_u8(&self, addr: u32) -> u8 {
        match self.pages.get(&(addr / PAGE)) {
            Some(p) => p[(addr % PAGE) as usize],
            None => self.fill,
        }
    }

    pub fn write_u8(&mut self, addr: u32, value: u8) {
        let fill = self.fill;
        if value == fill && !self.pages.contains_key(&(addr / PAGE)) {
            return;
        }
        let page = self
            .pages
            .entry(addr / PAGE)
            .or_insert_with(|| vec![fill; PAGE as usize].into_boxed_slice());
        page[(addr % PAGE) as usize] = value;
    }

    /// Little-endian read of `bytes` (1, 2 or 4) at `addr`.
    pub fn read(&self, addr: u32, bytes: u32) -> u32 {
        (0..bytes).fold(0u32, |acc, i| {
            acc | (u32::from(self.read_u8(addr.wrapping_add(i))) << (8 * i))
        })
    }

    /// Little-endian write of the low `bytes` of `value` at `addr`.
    pub fn write(&mut self, addr: u32, bytes: u32, value: u32) {
        for i in 0..bytes {
            self.write_u8(addr.wrapping_add(i), (value >> (8 * i)) as u8);
        }
    }

    pub fn write_bytes(&mut self, addr: u32, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            self.write_u8(addr.wrapping_add(i as u32), *b);
        }
    }

    /// Forget everything: every byte reads as `fill` again (power loss, mass erase).
    pub fn clear(&mut self) {
        self.pages.clear();
    }

    /// Pages that hold anything other than `fill`, for compact persistence.
    pub fn dirty_pages(&self) -> impl Iterator<Item = (u32, &[u8])> {
        let fill = self.fill;
        self.pages
            .iter()
            .filter(move |(_, p)| p.iter().any(|b| *b != fill))
            .map(|(n, p)| (n * PAGE, &p[..]))
    }
}

/// Plain registers: word-addressed, read back what was written, 0 after reset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainRegs {
    words: BTreeMap<u32, u32>,
}

impl PlainRegs {
    pub fn read(&self, word_addr: u32) -> u32 {
        self.words.get(&word_addr).copied().unwrap_or(0)
    }

    pub fn write(&mut self, word_addr: u32, value: u32) {
        if value == 0 {
            self.words.remove(&word_addr);
        } else {
            self.words.insert(word_addr, value);
        }
    }

    pub fn clear(&mut self) {
        self.words.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_reads_fill_and_round_trips() {
        let mut m = SparseMem::new(0xFF);
        assert_eq!(m.read(0x1234, 4), 0xFFFF_FFFF);
        m.write(0x0FFE, 4, 0x1122_3344); // crosses a page boundary
        assert_eq!(m.read(0x0FFE, 4), 0x1122_3344);
        assert_eq!(m.read(0x0FFF, 2), 0x2233);
        assert_eq!(m.dirty_pages().count(), 2);
        m.clear();
        assert_eq!(m.read(0x0FFE, 4), 0xFFFF_FFFF);
    }

    #[test]
    fn writing_fill_does_not_allocate() {
        let mut m = SparseMem::new(0);
        m.write(0x100, 4, 0);
        assert_eq!(m.dirty_pages().count(), 0);
    }
}
