//! Typed DP and MEM-AP registers (ARM IHI0031, ADIv5.2).
//!
//! Each register is a newtype over its raw `u32` with named accessors for its fields; the doc
//! comment names the section of the specification it comes from.

/// Getter and setter for a one-bit field.
macro_rules! bit {
    ($(#[$m:meta])* $get:ident, $set:ident, $bit:expr) => {
        $(#[$m])*
        pub fn $get(self) -> bool {
            (self.0 >> $bit) & 1 == 1
        }
        #[doc = concat!("Sets `", stringify!($get), "`.")]
        pub fn $set(&mut self, value: bool) {
            if value {
                self.0 |= 1 << $bit;
            } else {
                self.0 &= !(1 << $bit);
            }
        }
    };
}

/// Getter and setter for a multi-bit field `[msb:lsb]`.
macro_rules! field {
    ($(#[$m:meta])* $get:ident, $set:ident, $msb:expr, $lsb:expr) => {
        $(#[$m])*
        pub fn $get(self) -> u32 {
            (self.0 >> $lsb) & Self::mask($msb, $lsb)
        }
        #[doc = concat!("Sets `", stringify!($get), "` (extra high bits are dropped).")]
        pub fn $set(&mut self, value: u32) {
            let mask = Self::mask($msb, $lsb);
            self.0 = (self.0 & !(mask << $lsb)) | ((value & mask) << $lsb);
        }
    };
}

macro_rules! register {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name(pub u32);

        impl $name {
            #[allow(dead_code)] // only registers with multi-bit fields use it
            const fn mask(msb: u32, lsb: u32) -> u32 {
                if msb - lsb >= 31 {
                    u32::MAX
                } else {
                    (1 << (msb - lsb + 1)) - 1
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Debug port
// ---------------------------------------------------------------------------------------------

/// DP register addresses `A[3:2]` (ADIv5.2 B2.2, table B2-1, DPv2).
pub mod dp_addr {
    /// Read: DPIDR. Write: ABORT.
    pub const DPIDR_ABORT: u8 = 0x0;
    /// CTRL/STAT, DLCR, TARGETID, DLPIDR, EVENTSTAT, by SELECT.DPBANKSEL.
    pub const BANKED_4: u8 = 0x4;
    /// Read: RESEND. Write: SELECT.
    pub const RESEND_SELECT: u8 = 0x8;
    /// Read: RDBUFF. Write: TARGETSEL.
    pub const RDBUFF_TARGETSEL: u8 = 0xC;
}

/// DPBANKSEL values for the register at 0x4 (ADIv5.2 B2.2.9, table B2-11).
pub mod dp_bank {
    pub const CTRL_STAT: u32 = 0;
    pub const DLCR: u32 = 1;
    pub const TARGETID: u32 = 2;
    pub const DLPIDR: u32 = 3;
    pub const EVENTSTAT: u32 = 4;
}

register!(
    /// ABORT, the AP Abort register (ADIv5.2 B2.2.1). Write-only; each bit is an action.
    Abort
);
impl Abort {
    bit!(
        /// DAPABORT: abort the current AP transaction (clears a transaction stuck in WAIT).
        dapabort, set_dapabort, 0
    );
    bit!(
        /// STKCMPCLR: clear CTRL/STAT.STICKYCMP.
        stkcmpclr, set_stkcmpclr, 1
    );
    bit!(
        /// STKERRCLR: clear CTRL/STAT.STICKYERR.
        stkerrclr, set_stkerrclr, 2
    );
    bit!(
        /// WDERRCLR: clear CTRL/STAT.WDATAERR.
        wderrclr, set_wderrclr, 3
    );
    bit!(
        /// ORUNERRCLR: clear CTRL/STAT.STICKYORUN.
        orunerrclr, set_orunerrclr, 4
    );
}

register!(
    /// CTRL/STAT, the Control/Status register (ADIv5.2 B2.2.2).
    ///
    /// On a SW-DP the sticky flags are read-only here and cleared through ABORT; on a JTAG-DP
    /// they are write-one-to-clear.
    Ctrl
);
impl Ctrl {
    bit!(
        /// ORUNDETECT: overrun detection (WAIT/FAULT answers set STICKYORUN).
        orundetect, set_orundetect, 0
    );
    bit!(
        /// STICKYORUN: an overrun happened.
        stickyorun, set_stickyorun, 1
    );
    field!(
        /// TRNMODE: transfer mode (0 = normal; pushed verify/compare are not modelled).
        trnmode, set_trnmode, 3, 2
    );
    bit!(
        /// STICKYCMP: a pushed compare matched.
        stickycmp, set_stickycmp, 4
    );
    bit!(
        /// STICKYERR: an AP transaction failed (bus error).
        stickyerr, set_stickyerr, 5
    );
    bit!(
        /// READOK: the last AP read or RDBUFF read was OK.
        readok, set_readok, 6
    );
    bit!(
        /// WDATAERR: write data parity/framing error (SWD).
        wdataerr, set_wdataerr, 7
    );
    field!(
        /// MASKLANE: byte lanes of a pushed compare.
        masklane, set_masklane, 11, 8
    );
    field!(
        /// TRNCNT: transaction counter.
        trncnt, set_trncnt, 23, 12
    );
    bit!(
        /// CDBGRSTREQ: debug reset request.
        cdbgrstreq, set_cdbgrstreq, 26
    );
    bit!(
        /// CDBGRSTACK: debug reset acknowledge.
        cdbgrstack, set_cdbgrstack, 27
    );
    bit!(
        /// CDBGPWRUPREQ: debug power-up request.
        cdbgpwrupreq, set_cdbgpwrupreq, 28
    );
    bit!(
        /// CDBGPWRUPACK: debug power-up acknowledge.
        cdbgpwrupack, set_cdbgpwrupack, 29
    );
    bit!(
        /// CSYSPWRUPREQ: system power-up request.
        csyspwrupreq, set_csyspwrupreq, 30
    );
    bit!(
        /// CSYSPWRUPACK: system power-up acknowledge.
        csyspwrupack, set_csyspwrupack, 31
    );

    /// The bits a debugger may write on a SW-DP (everything but the status and ACK bits).
    pub const WRITABLE: u32 = 0x5000_0000 // CSYSPWRUPREQ, CDBGPWRUPREQ
        | 0x0400_0000 // CDBGRSTREQ
        | 0x00FF_F000 // TRNCNT
        | 0x0000_0F00 // MASKLANE
        | 0x0000_000C // TRNMODE
        | 0x0000_0001; // ORUNDETECT

    /// The sticky flags (write-one-to-clear on a JTAG-DP).
    pub const STICKY: u32 = 0x0000_00B2; // WDATAERR, STICKYERR, STICKYCMP, STICKYORUN

    /// True when any flag that makes the DP answer FAULT is set (ADIv5.2 B4.2.4).
    pub fn any_sticky(self) -> bool {
        self.stickyerr() || self.stickycmp() || self.stickyorun() || self.wdataerr()
    }
}

register!(
    /// SELECT, the AP Select register of DPv1/DPv2 (ADIv5.2 B2.2.9).
    Select
);
impl Select {
    field!(
        /// APSEL: the AP that AP accesses go to.
        apsel, set_apsel, 31, 24
    );
    field!(
        /// APBANKSEL: bits [7:4] of the AP register address.
        apbanksel, set_apbanksel, 7, 4
    );
    field!(
        /// DPBANKSEL: which register appears at DP address 0x4.
        dpbanksel, set_dpbanksel, 3, 0
    );
}

// ---------------------------------------------------------------------------------------------
// MEM-AP
// ---------------------------------------------------------------------------------------------

/// MEM-AP register addresses, `APBANKSEL << 4 | A[3:2]` (ADIv5.2 C2.6, table C2-6).
pub mod ap_addr {
    pub const CSW: u8 = 0x00;
    pub const TAR: u8 = 0x04;
    /// TAR[63:32], large physical address extension only (RAZ/WI here).
    pub const TAR_HI: u8 = 0x08;
    pub const DRW: u8 = 0x0C;
    pub const BD0: u8 = 0x10;
    pub const BD3: u8 = 0x1C;
    /// Memory Barrier Transfer (barrier extension not implemented: RAZ/WI).
    pub const MBT: u8 = 0x20;
    /// BASE[63:32], large physical address extension only (RAZ).
    pub const BASE_HI: u8 = 0xF0;
    pub const CFG: u8 = 0xF4;
    pub const BASE: u8 = 0xF8;
    pub const IDR: u8 = 0xFC;
}

/// CSW.Size encodings (ADIv5.2 C2.6.4).
pub mod csw_size {
    pub const BYTE: u32 = 0b000;
    pub const HALFWORD: u32 = 0b001;
    pub const WORD: u32 = 0b010;
}

/// CSW.AddrInc encodings (ADIv5.2 C2.6.4).
pub mod addr_inc {
    pub const OFF: u32 = 0b00;
    pub const SINGLE: u32 = 0b01;
    pub const PACKED: u32 = 0b10;
}

register!(
    /// CSW, the MEM-AP Control/Status Word (ADIv5.2 C2.6.4).
    Csw
);
impl Csw {
    field!(
        /// Size: access size of DRW/BD transfers (see [`csw_size`]).
        size, set_size, 2, 0
    );
    field!(
        /// AddrInc: TAR auto-increment mode (see [`addr_inc`]).
        addr_inc, set_addr_inc, 5, 4
    );
    bit!(
        /// DeviceEn: the AP may issue transactions (read-only).
        device_en, set_device_en, 6
    );
    bit!(
        /// TrInProg: a transfer is in progress (read-only).
        tr_in_prog, set_tr_in_prog, 7
    );
    field!(
        /// Mode: basic (0) or barrier support.
        mode, set_mode, 11, 8
    );
    field!(
        /// Type: bus-specific transfer type.
        kind, set_kind, 14, 12
    );
    bit!(
        /// SPIDEN: secure debug enabled (read-only).
        spiden, set_spiden, 23
    );
    field!(
        /// Prot: bus protection (HPROT/PPROT) bits, bus-specific.
        prot, set_prot, 30, 24
    );
    bit!(
        /// DbgSwEnable: debug software access enable.
        dbg_sw_enable, set_dbg_sw_enable, 31
    );

    /// Bits the AP computes itself; writes to them are ignored.
    pub const READ_ONLY: u32 = (1 << 6) | (1 << 7) | (1 << 23);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut s = Select(0);
        s.set_apsel(3);
        s.set_apbanksel(0xF);
        s.set_dpbanksel(2);
        assert_eq!(s.0, 0x0300_00F2);
        assert_eq!((s.apsel(), s.apbanksel(), s.dpbanksel()), (3, 0xF, 2));

        let mut c = Ctrl(0);
        c.set_cdbgpwrupreq(true);
        c.set_csyspwrupreq(true);
        assert_eq!(c.0, 0x5000_0000);
        c.set_trncnt(0xFFFF_FFFF);
        assert_eq!(c.trncnt(), 0xFFF);

        let mut w = Csw(0);
        w.set_size(csw_size::HALFWORD);
        w.set_addr_inc(addr_inc::PACKED);
        w.set_prot(0x7F);
        assert_eq!(w.0, 0x7F00_0021);
        let mut a = Abort(0);
        a.set_stkerrclr(true);
        assert_eq!(a.0, 0x4);
    }
}
