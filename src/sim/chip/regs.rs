//! Typed views of the debug and HSEM registers the chip decodes, in the style of probe-rs
//! `ap/registers.rs`. Bit positions agree with `h7::facts` (checked by the tests below).

use bitfield::bitfield;

bitfield! {
    /// DHCSR, Debug Halting Control and Status Register, 0xE000EDF0 (ARMv7-M C1.6.2).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct Dhcsr(u32);
    impl Debug;
    /// Write: must be 0xA05F for the write to take effect.
    pub u16, dbgkey, set_dbgkey: 31, 16;
    /// Sticky: the core was reset since the last read.
    pub s_reset_st, set_s_reset_st: 25;
    /// Sticky: an instruction retired since the last read.
    pub s_retire_st, set_s_retire_st: 24;
    pub s_lockup, set_s_lockup: 19;
    pub s_sleep, set_s_sleep: 18;
    pub s_halt, set_s_halt: 17;
    /// A DCRSR transfer completed.
    pub s_regrdy, set_s_regrdy: 16;
    pub c_maskints, set_c_maskints: 3;
    pub c_step, set_c_step: 2;
    pub c_halt, set_c_halt: 1;
    pub c_debugen, set_c_debugen: 0;
}

bitfield! {
    /// DCRSR, Debug Core Register Selector Register, 0xE000EDF4 (ARMv7-M C1.6.3).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct Dcrsr(u32);
    impl Debug;
    /// 1 = write DCRDR to the register, 0 = read the register into DCRDR.
    pub regwnr, set_regwnr: 16;
    pub u8, regsel, set_regsel: 6, 0;
}

bitfield! {
    /// AIRCR, Application Interrupt and Reset Control Register, 0xE000ED0C (ARMv7-M B3.2.6).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct Aircr(u32);
    impl Debug;
    /// Write: 0x05FA; read: 0xFA05.
    pub u16, vectkey, set_vectkey: 31, 16;
    pub u8, prigroup, set_prigroup: 10, 8;
    pub sysresetreq, set_sysresetreq: 2;
    pub vectclractive, set_vectclractive: 1;
    pub vectreset, set_vectreset: 0;
}

bitfield! {
    /// HSEM_Rx, semaphore x register (RM0399 §11.4.1).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct HsemR(u32);
    impl Debug;
    pub lock, set_lock: 31;
    pub u8, coreid, set_coreid: 11, 8;
    pub u8, procid, set_procid: 7, 0;
}

bitfield! {
    /// Entry of a class 0x1 ROM table (ADIv5 D3.4.2).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct RomEntry(u32);
    impl Debug;
    /// Signed offset of the component from the table, in 4 KiB units.
    pub u32, offset, set_offset: 31, 12;
    /// 1 = 32-bit format.
    pub format, set_format: 1;
    pub present, set_present: 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h7::facts::{hsem, scs};

    #[test]
    fn agree_with_facts() {
        let mut d = Dhcsr(0);
        d.set_s_reset_st(true);
        d.set_s_lockup(true);
        d.set_c_halt(true);
        assert_eq!(d.0, scs::S_RESET_ST | scs::S_LOCKUP | scs::C_HALT);
        d.set_dbgkey(0xA05F);
        assert_eq!(d.0 & 0xFFFF_0000, scs::DHCSR_DBGKEY);
        let mut r = HsemR(0);
        r.set_lock(true);
        r.set_coreid(3);
        assert_eq!(r.0, hsem::LOCK | (hsem::COREID_CM7 << hsem::COREID_SHIFT));
        let mut a = Aircr(0);
        a.set_vectkey(0x05FA);
        a.set_sysresetreq(true);
        assert_eq!(a.0, scs::AIRCR_VECTKEY | scs::AIRCR_SYSRESETREQ);
        let mut c = Dcrsr(0);
        c.set_regwnr(true);
        assert_eq!(c.0, scs::DCRSR_REGWNR);
    }
}
