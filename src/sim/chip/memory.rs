//! Sparse byte-addressed storage: pages are allocated on the first write that changes them, so a
//! board with 2 MiB of flash and 1 MiB of RAM costs almost nothing until it is used.

use std::collections::BTreeMap;
use std::sync::OnceLock;

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

    /// Every byte of `[start, start + len)` reads as `fill` again (a page-aligned range: a flash
    /// sector or bank erase).
    pub fn clear_range(&mut self, start: u32, len: u32) {
        let (first, end) = (start / PAGE, start.saturating_add(len).div_ceil(PAGE));
        self.pages.retain(|n, _| *n < first || *n >= end);
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

/// Reset values of the virtual board's registers (its STM32H755, CM7 view of the built-in
/// register set), sorted by word address. Built once.
pub fn board_reset_words() -> &'static [(u32, u32)] {
    static CELL: OnceLock<Vec<(u32, u32)>> = OnceLock::new();
    CELL.get_or_init(|| crate::regset::reset_words(crate::regset::DEFAULT_PART, "CM7"))
}

/// Plain registers: word-addressed, read back what was written, their reset value after
/// reset (from a table of word address -> reset value; 0 where it has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainRegs {
    /// Words written since reset, where they differ from the reset value.
    words: BTreeMap<u32, u32>,
    reset: &'static [(u32, u32)],
}

impl PlainRegs {
    /// Registers whose reset values are `reset` (sorted by word address).
    pub fn with_reset_values(reset: &'static [(u32, u32)]) -> Self {
        Self {
            words: BTreeMap::new(),
            reset,
        }
    }

    fn reset_value(&self, word_addr: u32) -> u32 {
        self.reset
            .binary_search_by_key(&word_addr, |e| e.0)
            .map_or(0, |i| self.reset[i].1)
    }

    pub fn read(&self, word_addr: u32) -> u32 {
        self.words
            .get(&word_addr)
            .copied()
            .unwrap_or_else(|| self.reset_value(word_addr))
    }

    pub fn write(&mut self, word_addr: u32, value: u32) {
        if value == self.reset_value(word_addr) {
            self.words.remove(&word_addr);
        } else {
            self.words.insert(word_addr, value);
        }
    }

    /// Reset: every register reads its reset value again.
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

    #[test]
    fn plain_registers_start_at_their_reset_values() {
        static RESET: [(u32, u32); 2] = [(0x100, 0xABFF_FFFF), (0x104, 0x0C00_0000)];
        let mut r = PlainRegs::with_reset_values(&RESET);
        assert_eq!(r.read(0x100), 0xABFF_FFFF);
        assert_eq!(r.read(0x108), 0);
        r.write(0x100, 0);
        r.write(0x108, 5);
        assert_eq!((r.read(0x100), r.read(0x108)), (0, 5));
        r.clear();
        assert_eq!((r.read(0x100), r.read(0x108)), (0xABFF_FFFF, 0));
    }

    #[test]
    fn the_board_table_holds_gpioa_moder() {
        let r = PlainRegs::with_reset_values(board_reset_words());
        assert_eq!(r.read(0x5802_0000), 0xABFF_FFFF);
    }
}
