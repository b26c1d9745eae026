//! A MEM-AP whose CSW h7sh remembers between commands, for probes that give raw DAP access
//! (CMSIS-DAP, J-Link).
//!
//! probe-rs's `memory_interface` opens the AP afresh on every call: it reads IDR, CSW and CFG,
//! writes CSW and reads nothing back until the access (three round trips before it: probe-rs's
//! CMSIS-DAP batch flushes at every read). h7sh opens the AHB-APs and APB-APs of the STM32H7
//! itself: IDR for the kind, CSW for its read-only bits, and the CSW probe-rs would write
//! (`amba_ahb3.rs`, `amba_apb2_apb3.rs`) goes out with the first access (two round trips; other
//! AP kinds are opened by probe-rs). An access then writes CSW only when its size differs from
//! the last one written, and TAR, and reads or writes DRW: the writes queue in probe-rs's batch
//! behind the read, so a single read is one DAP transfer, one round trip (as pyOCD and OpenOCD
//! do it).
//!
//! What is remembered is dropped ([`ApState`] set back to `None`) whenever it may no longer hold:
//! after any failed access (a FAULT or WAIT leaves sticky flags and probe-rs's ABORT; a lost link
//! may have powered the DP down), a reconnect, a reset h7sh makes and connect under reset. A
//! power cycle of the board resets the DP, which shows as a failed access first.

use probe_rs::architecture::arm::ap::{ApRegister, CSW, DRW, IDR, TAR};
use probe_rs::architecture::arm::memory::ArmMemoryInterface;
use probe_rs::architecture::arm::{ArmDebugInterface, ArmError, FullyQualifiedApAddress};
use probe_rs::probe::DebugProbeError;
use probe_rs::MemoryInterface;

/// CSW.Size (bits 2:0) and CSW.AddrInc (bits 5:4), the only fields an access changes.
const CSW_SIZE_MASK: u32 = 0x7;
const CSW_ADDRINC_SINGLE: u32 = 1 << 4;
const CSW_ADDRINC_MASK: u32 = 0x3 << 4;
/// TAR auto-increment is guaranteed only within a 1 KiB block (ADIv5.2 C2.2.2).
const AUTOINC_BLOCK: u64 = 1024;
/// CSW.DeviceEn: the AP can make transfers now (clear while its bus is off, e.g. AP3 with the
/// CM4 gated or D2 without a debug clock).
const CSW_DEVICE_EN: u32 = 1 << 6;

/// What h7sh knows of one AP's registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApState {
    /// What the CSW register holds (as read at open, then as last written).
    pub csw: u32,
    /// The CSW an access starts from: probe-rs's choice of protection and master bits; the
    /// access sets size and auto-increment.
    pub base: u32,
    /// An APB-AP: 32-bit accesses only.
    pub only_32bit: bool,
    /// The driver byte-swaps AP register writes on the way out (probe-rs 0.32's Black Magic
    /// Probe driver sends `value.to_be()` in its protocol-3/4 AP writes, which BMP firmware
    /// parses as a number): h7sh swaps them first, so the AP gets the value meant.
    pub swap_writes: bool,
}

impl ApState {
    /// A value as it must be handed to the driver for the AP to receive `value`.
    fn wire(&self, value: u32) -> u32 {
        if self.swap_writes {
            value.swap_bytes()
        } else {
            value
        }
    }
}

/// Whether AP writes arrive byte-swapped: TAR (every bit writable on these MEM-APs) written
/// with a pattern and read back. An access error leaves the question for the next open.
fn writes_swapped(
    iface: &mut dyn ArmDebugInterface,
    ap: &FullyQualifiedApAddress,
) -> Result<bool, ArmError> {
    const PATTERN: u32 = 0x0000_0104;
    iface.write_raw_ap_register(ap, TAR::ADDRESS, PATTERN)?;
    Ok(iface.read_raw_ap_register(ap, TAR::ADDRESS)? == PATTERN.swap_bytes())
}

/// IDR.TYPE of the MEM-APs h7sh opens itself (ADIv5.2 C2.6.5).
const IDR_TYPE_AHB3: u32 = 0x1;
const IDR_TYPE_APB2_APB3: u32 = 0x2;
/// AHB-AP CSW bits probe-rs sets (`amba_ahb3.rs`): DbgSwEnable, MasterType, HPROT Cacheable,
/// Privileged and Data; HNONSEC is set when SPIDEN is clear.
const AHB3_CSW_SET: u32 = (1 << 31) | (1 << 29) | (1 << 27) | (1 << 25) | (1 << 24);
const AHB3_CSW_HNONSEC: u32 = 1 << 30;
const AHB3_CSW_SPIDEN: u32 = 1 << 23;
/// APB-AP CSW bit probe-rs sets (`amba_apb2_apb3.rs`): DbgSwEnable.
const APB_CSW_DBGSWENABLE: u32 = 1 << 31;

/// The CSW base and 32-bit-only flag for an AP of kind `idr` whose CSW reads `csw`, as probe-rs
/// would set them; None for kinds h7sh leaves to probe-rs.
fn own_open(idr: u32, csw: u32) -> Option<(u32, bool)> {
    let kind = idr & 0xF;
    let mem_ap_class = (idr >> 13) & 0xF == 0x8;
    if !mem_ap_class {
        return None;
    }
    let base = (csw & !(CSW_SIZE_MASK | CSW_ADDRINC_MASK)) | CSW_ADDRINC_SINGLE;
    match kind {
        IDR_TYPE_AHB3 => {
            let hnonsec = if csw & AHB3_CSW_SPIDEN == 0 {
                AHB3_CSW_HNONSEC
            } else {
                0
            };
            let base = (base & !AHB3_CSW_HNONSEC) | AHB3_CSW_SET | hnonsec;
            Some((base | Size::U32 as u32, false))
        }
        IDR_TYPE_APB2_APB3 => Some((base | APB_CSW_DBGSWENABLE | Size::U32 as u32, true)),
        _ => None,
    }
}

/// Access size in CSW.Size encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    U8 = 0,
    U16 = 1,
    U32 = 2,
}

impl Size {
    fn bytes(self) -> u64 {
        1 << self as u64
    }
}

/// probe-rs's memory interface over the remembered state of one AP.
pub(crate) struct CachedMemAp<'a> {
    iface: &'a mut dyn ArmDebugInterface,
    ap: FullyQualifiedApAddress,
    state: &'a mut Option<ApState>,
    /// Forget the state after this access: the AP's bus was off when it was opened, so what it
    /// read back may not be what it holds once the bus comes up.
    transient: bool,
}

impl Drop for CachedMemAp<'_> {
    fn drop(&mut self) {
        if self.transient {
            *self.state = None;
        }
    }
}

impl<'a> CachedMemAp<'a> {
    /// The AP's memory interface; the first time (or after the state was dropped) the AP is
    /// opened: IDR and CSW read, the CSW base chosen as probe-rs would (by probe-rs itself for
    /// AP kinds other than AHB3 and APB2/3).
    /// With `check_write_order`, the opening also finds whether the driver byte-swaps AP
    /// writes (a TAR write read back).
    pub(crate) fn open(
        iface: &'a mut dyn ArmDebugInterface,
        ap: FullyQualifiedApAddress,
        state: &'a mut Option<ApState>,
        check_write_order: bool,
    ) -> Result<Self, ArmError> {
        let mut transient = false;
        if state.is_none() {
            let idr = iface.read_raw_ap_register(&ap, IDR::ADDRESS)?;
            let csw = iface.read_raw_ap_register(&ap, CSW::ADDRESS)?;
            let opened = match own_open(idr, csw) {
                Some((base, only_32bit)) => ApState {
                    csw,
                    base,
                    only_32bit,
                    swap_writes: check_write_order && writes_swapped(iface, &ap)?,
                },
                None => {
                    // probe-rs refuses what is not a MEM-AP (WrongApType), as before.
                    let only_32bit = {
                        let mem = iface.memory_interface(&ap)?;
                        !mem.supports_8bit_transfers()?
                    };
                    let csw = iface.read_raw_ap_register(&ap, CSW::ADDRESS)?;
                    ApState {
                        csw,
                        base: csw,
                        only_32bit,
                        swap_writes: check_write_order && writes_swapped(iface, &ap)?,
                    }
                }
            };
            transient = opened.csw & CSW_DEVICE_EN == 0;
            *state = Some(opened);
        }
        Ok(CachedMemAp {
            iface,
            ap,
            state,
            transient,
        })
    }

    fn state(&mut self) -> Result<&mut ApState, ArmError> {
        self.state
            .as_mut()
            .ok_or_else(|| ArmError::Other("the AP's state was dropped".into()))
    }

    /// Runs an access; any failure drops what is remembered of this AP.
    fn guarded<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, ArmError>,
    ) -> Result<R, ArmError> {
        let result = f(self);
        if result.is_err() {
            *self.state = None;
        }
        result
    }

    /// CSW for `size` with auto-increment on, written only when it differs from the last.
    fn set_size(&mut self, size: Size) -> Result<(), ArmError> {
        let state = self.state()?;
        if state.only_32bit && size != Size::U32 {
            return Err(ArmError::UnsupportedTransferWidth(
                size.bytes() as usize * 8,
            ));
        }
        let csw =
            (state.base & !(CSW_SIZE_MASK | CSW_ADDRINC_MASK)) | size as u32 | CSW_ADDRINC_SINGLE;
        if csw != state.csw {
            let wire = state.wire(csw);
            self.iface
                .write_raw_ap_register(&self.ap, CSW::ADDRESS, wire)?;
            // Kept only once the write is on its way; a failure drops the state anyway.
            self.state()?.csw = csw;
        }
        Ok(())
    }

    fn set_tar(&mut self, address: u64) -> Result<(), ArmError> {
        let tar = u32::try_from(address).map_err(|_| ArmError::OutOfBounds)?;
        let wire = self.state()?.wire(tar);
        self.iface
            .write_raw_ap_register(&self.ap, TAR::ADDRESS, wire)
    }

    /// Checks `address`'s alignment and sets CSW for `size`; returns, for each auto-increment
    /// block the `count` items from `address` span, its first address and its items' range.
    fn blocks(
        &mut self,
        address: u64,
        size: Size,
        count: usize,
    ) -> Result<Vec<(u64, std::ops::Range<usize>)>, ArmError> {
        let step = size.bytes();
        if !address.is_multiple_of(step) {
            return Err(ArmError::alignment_error(address, step as usize));
        }
        self.set_size(size)?;
        let mut blocks = Vec::new();
        let (mut addr, mut done) = (address, 0);
        while done < count {
            let room = ((AUTOINC_BLOCK - addr % AUTOINC_BLOCK) / step) as usize;
            let n = room.min(count - done);
            blocks.push((addr, done..done + n));
            addr += step * n as u64;
            done += n;
        }
        Ok(blocks)
    }

    /// `out.len()` DRW reads from `address` on, each as a 32-bit word with the item in its lane:
    /// one TAR write and one block per 1 KiB auto-increment block (a single read when one item).
    fn read_items(&mut self, address: u64, size: Size, out: &mut [u32]) -> Result<(), ArmError> {
        for (addr, range) in self.blocks(address, size, out.len())? {
            self.set_tar(addr)?;
            match &mut out[range] {
                [only] => *only = self.iface.read_raw_ap_register(&self.ap, DRW::ADDRESS)?,
                chunk => self
                    .iface
                    .read_raw_ap_register_repeated(&self.ap, DRW::ADDRESS, chunk)?,
            }
        }
        Ok(())
    }

    /// `values` (each already in its byte lane) to DRW from `address` on.
    fn write_items(&mut self, address: u64, size: Size, values: &[u32]) -> Result<(), ArmError> {
        let state = self.state()?;
        let values: Vec<u32> = values.iter().map(|v| state.wire(*v)).collect();
        for (addr, range) in self.blocks(address, size, values.len())? {
            self.set_tar(addr)?;
            match &values[range] {
                [only] => self
                    .iface
                    .write_raw_ap_register(&self.ap, DRW::ADDRESS, *only)?,
                chunk => {
                    self.iface
                        .write_raw_ap_register_repeated(&self.ap, DRW::ADDRESS, chunk)?
                }
            }
        }
        Ok(())
    }
}

/// The byte lane of the item at `address` in a DRW word (ADIv5.2 C2.2.6: data is on the lanes of
/// the address, not shifted down).
fn lane_shift(address: u64) -> u32 {
    ((address & 3) * 8) as u32
}

impl MemoryInterface<ArmError> for CachedMemAp<'_> {
    fn supports_native_64bit_access(&mut self) -> bool {
        false
    }

    fn read_64(&mut self, address: u64, data: &mut [u64]) -> Result<(), ArmError> {
        let mut words = vec![0u32; data.len() * 2];
        self.read_32(address, &mut words)?;
        for (d, w) in data.iter_mut().zip(words.chunks_exact(2)) {
            *d = u64::from(w[0]) | (u64::from(w[1]) << 32);
        }
        Ok(())
    }

    fn read_32(&mut self, address: u64, data: &mut [u32]) -> Result<(), ArmError> {
        self.guarded(|m| m.read_items(address, Size::U32, data))
    }

    fn read_16(&mut self, address: u64, data: &mut [u16]) -> Result<(), ArmError> {
        let mut words = vec![0u32; data.len()];
        self.guarded(|m| m.read_items(address, Size::U16, &mut words))?;
        for (i, (d, w)) in data.iter_mut().zip(words).enumerate() {
            *d = (w >> lane_shift(address + 2 * i as u64)) as u16;
        }
        Ok(())
    }

    fn read_8(&mut self, address: u64, data: &mut [u8]) -> Result<(), ArmError> {
        let mut words = vec![0u32; data.len()];
        self.guarded(|m| m.read_items(address, Size::U8, &mut words))?;
        for (i, (d, w)) in data.iter_mut().zip(words).enumerate() {
            *d = (w >> lane_shift(address + i as u64)) as u8;
        }
        Ok(())
    }

    fn write_64(&mut self, address: u64, data: &[u64]) -> Result<(), ArmError> {
        let words: Vec<u32> = data
            .iter()
            .flat_map(|d| [*d as u32, (*d >> 32) as u32])
            .collect();
        self.write_32(address, &words)
    }

    fn write_32(&mut self, address: u64, data: &[u32]) -> Result<(), ArmError> {
        self.guarded(|m| m.write_items(address, Size::U32, data))
    }

    fn write_16(&mut self, address: u64, data: &[u16]) -> Result<(), ArmError> {
        let lanes: Vec<u32> = (0..data.len())
            .map(|i| u32::from(data[i]) << lane_shift(address + 2 * i as u64))
            .collect();
        self.guarded(|m| m.write_items(address, Size::U16, &lanes))
    }

    fn write_8(&mut self, address: u64, data: &[u8]) -> Result<(), ArmError> {
        let lanes: Vec<u32> = (0..data.len())
            .map(|i| u32::from(data[i]) << lane_shift(address + i as u64))
            .collect();
        self.guarded(|m| m.write_items(address, Size::U8, &lanes))
    }

    fn supports_8bit_transfers(&self) -> Result<bool, ArmError> {
        Ok(self.state.is_some_and(|s| !s.only_32bit))
    }

    fn flush(&mut self) -> Result<(), ArmError> {
        self.guarded(|m| m.iface.flush())
    }
}

impl ArmMemoryInterface for CachedMemAp<'_> {
    fn fully_qualified_address(&self) -> FullyQualifiedApAddress {
        self.ap.clone()
    }

    fn base_address(&mut self) -> Result<u64, ArmError> {
        let ap = self.ap.clone();
        self.iface.memory_interface(&ap)?.base_address()
    }

    fn get_arm_debug_interface(&mut self) -> Result<&mut dyn ArmDebugInterface, DebugProbeError> {
        Ok(&mut *self.iface)
    }

    fn generic_status(&mut self) -> Result<CSW, ArmError> {
        let raw = self.iface.read_raw_ap_register(&self.ap, CSW::ADDRESS)?;
        CSW::try_from(raw).map_err(ArmError::RegisterParse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CSWs probe-rs 0.32 writes when it opens the STM32H7's APs (read on the virtual
    /// board's wire: AHB-AP reset CSW 0x03000040 -> 0xEB000052 once the size is set, APB-AP
    /// 0x80000042 -> 0x80000052).
    #[test]
    fn the_csw_is_the_one_probe_rs_would_write() {
        let ahb = own_open(0x8477_0001, 0x0300_0040).unwrap();
        assert_eq!(ahb, (0xEB00_0052, false));
        let cm4_ahb = own_open(0x2477_0011, 0x0300_0040).unwrap();
        assert_eq!(cm4_ahb, (0xEB00_0052, false));
        let apb = own_open(0x5477_0002, 0x8000_0042).unwrap();
        assert_eq!(apb, (0x8000_0052, true));
        // SPIDEN set: HNONSEC cleared, as probe-rs does.
        assert_eq!(own_open(0x8477_0001, 0x0380_0040).unwrap().0, 0xAB80_0052);
        // Not a MEM-AP (a JTAG-AP, class 0), or a kind h7sh leaves to probe-rs (AXI).
        assert_eq!(own_open(0x0477_0000, 0), None);
        assert_eq!(own_open(0x8477_0004, 0x0300_0040), None);
    }

    #[test]
    fn items_sit_on_the_lanes_of_their_address() {
        assert_eq!(lane_shift(0x2000_0000), 0);
        assert_eq!(lane_shift(0x2000_0002), 16);
        assert_eq!(lane_shift(0x2000_0003), 24);
    }
}
