//! SYSCFG user registers UR0..UR17: read-only mirrors of the current option bytes (RM0399 §12.3).

use super::flash::{field_get, OptionBytes};
use crate::h7::facts::{flash as f, flash_prot as prot, syscfg, syscfg_ur as ur};

/// Value of URn for the given option bytes; `None` when `n` is out of range.
pub fn user_register(n: u32, ob: &OptionBytes) -> Option<u32> {
    let o = |fld| field_get(ob.optsr, fld);
    let h = ur::HALF_SHIFT;
    let start = |w: u32| w & prot::AREA_START_MASK;
    let end = |w: u32| (w >> prot::AREA_END_SHIFT) & prot::AREA_START_MASK;
    let dm = |w: u32| u32::from(w & prot::DM_BIT != 0);
    let v = match n {
        0 => o(f::optsr::SWAP_BANK_OPT) | (o(f::optsr::RDP) << ur::UR0_RDP_SHIFT),
        1 => o(f::optsr::BCM4) | (o(f::optsr::BCM7) << h),
        2 => o(f::optsr::BOR_LEV) | ((ob.boot7 & 0xFFFF) << h),
        3 => (ob.boot7 >> h) | ((ob.boot4 & 0xFFFF) << h),
        4 => (ob.boot4 >> h) | (dm(ob.prar[0]) << h),
        5 => dm(ob.scar[0]) | ((ob.wpsn[0] & 0xFF) << h),
        6 => start(ob.prar[0]) | (end(ob.prar[0]) << h),
        7 => start(ob.scar[0]) | (end(ob.scar[0]) << h),
        8 => dm(ob.prar[1]) | (dm(ob.scar[1]) << h),
        9 => (ob.wpsn[1] & 0xFF) | (start(ob.prar[1]) << h),
        10 => end(ob.prar[1]) | (start(ob.scar[1]) << h),
        11 => end(ob.scar[1]) | (o(f::optsr::IWDG1_SW) << h),
        12 => o(f::optsr::SECURITY) << h,
        13 => o(f::optsr::ST_RAM_SIZE),
        14 => o(f::optsr::NRST_STOP_D1) | (o(f::optsr::NRST_STBY_D1) << h),
        15 => o(f::optsr::FZ_IWDG_SDBY) << h,
        16 => o(f::optsr::FZ_IWDG_STOP),
        17 => o(f::optsr::IO_HSLV),
        _ => return None,
    };
    Some(v)
}

/// UR index of a SYSCFG offset, if it is one of UR0..UR17.
pub fn ur_index(off: u64) -> Option<u32> {
    let last = syscfg::UR0 + 4 * u64::from(syscfg::UR_COUNT);
    (syscfg::UR0..last)
        .contains(&off)
        .then(|| ((off - syscfg::UR0) / 4) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ur1_mirrors_bcm_bits() {
        let ob = OptionBytes::default();
        assert_eq!(
            user_register(1, &ob),
            Some(syscfg::UR1_BCM4 | syscfg::UR1_BCM7)
        );
        assert_eq!(user_register(2, &ob).map(|v| v >> 16), Some(0x0800));
        assert_eq!(user_register(18, &ob), None);
    }
}
