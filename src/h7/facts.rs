//! Addresses, bit positions and identity values of the dual-core STM32H7 (H745/H747/H755/H757).
//!
//! Sources: RM0399 (reference manual), ARM DDI0403 (ARMv7-M), ARM IHI0031 (ADIv5), and
//! `shared/design/STM32H7-DUALCORE.md`. Values marked `(approx)` are best knowledge and live
//! only here so they can be corrected from a real board.

/// Access port numbers of the SWJ-DP (RM0399 §61.4, probe-rs STM32H7_Series.yaml).
pub mod ap {
    /// AHB-AP of the Cortex-M7.
    pub const CM7: u8 = 0;
    /// AHB-AP into the D3 domain.
    pub const D3: u8 = 1;
    /// APB-AP on the system debug bus (APB-D).
    pub const APB_D: u8 = 2;
    /// AHB-AP of the Cortex-M4 (lives in D2).
    pub const CM4: u8 = 3;
    /// Number of APs on the DP.
    pub const COUNT: u8 = 4;
}

/// Debug port identity (RM0399 §61.4.2).
pub mod dp {
    /// SW-DP DPIDR (DPv2).
    pub const DPIDR_SWD: u32 = 0x6BA0_2477;
    /// JTAG-DP IDCODE.
    pub const IDCODE_JTAG: u32 = 0x6BA0_0477;
    /// TARGETID, part number 0x450 (approx).
    pub const TARGETID: u32 = 0x0450_0041;
}

/// The JTAG scan chain (RM0399 "JTAG TAP connection"; OpenOCD `target/stm32h7x.cfg`):
/// TDI -> boundary-scan TAP -> JTAG-DP -> TDO, so a scan meets the DP first.
pub mod jtag {
    /// JTAG-DP instruction register length.
    pub const DP_IR_LEN: u8 = 4;
    /// Boundary-scan TAP instruction register length.
    pub const BS_IR_LEN: u8 = 5;
    /// Boundary-scan TAP IDCODE: version 0, part 0x6450, ST (0x020) (OpenOCD stm32h7x.cfg
    /// `_BSTAPID 0x06450041`).
    pub const BS_IDCODE: u32 = 0x0645_0041;
    /// What each IR captures: 0b...01, as IEEE 1149.1 requires (ADIv5.2 B3.2.1 for the DP).
    pub const DP_IR_CAPTURE: u8 = 0b0001;
    pub const BS_IR_CAPTURE: u8 = 0b0_0001;
    /// JTAG-DP instructions (ADIv5.2 B3.2.1); any other value selects BYPASS.
    pub const IR_ABORT: u8 = 0b1000;
    pub const IR_DPACC: u8 = 0b1010;
    pub const IR_APACC: u8 = 0b1011;
    pub const IR_IDCODE: u8 = 0b1110;
    pub const IR_BYPASS: u8 = 0b1111;
    /// Boundary-scan TAP instructions (IEEE 1149.1; ST's BSDL files for STM32 parts use
    /// IDCODE 00001). The boundary register itself (EXTEST, SAMPLE) is not modelled.
    pub const BS_IR_IDCODE: u8 = 0b0_0001;
    pub const BS_IR_BYPASS: u8 = 0b1_1111;
    /// DPACC/APACC/ABORT scan length: RnW, A[3:2], 32 data bits (ADIv5.2 B3.3).
    pub const ACC_LEN: u8 = 35;
    /// ACK in bits [2:0] of a captured DPACC/APACC: OK/FAULT and WAIT (B3.3.2).
    pub const ACK_OK_FAULT: u8 = 0b010;
    pub const ACK_WAIT: u8 = 0b001;
}

/// CPUID values (ARMv7-M B3.2.3).
pub mod cpuid {
    /// Cortex-M7 r1p1.
    pub const CM7: u32 = 0x411F_C271;
    /// Cortex-M4 r0p1.
    pub const CM4: u32 = 0x410F_C241;
    /// PARTNO field of a Cortex-M7.
    pub const PARTNO_CM7: u32 = 0xC27;
    /// PARTNO field of a Cortex-M4.
    pub const PARTNO_CM4: u32 = 0xC24;
}

/// Cortex-M system control and debug registers (ARMv7-M C1.6, B3.2).
pub mod scs {
    pub const CPUID: u64 = 0xE000_ED00;
    pub const ICSR: u64 = 0xE000_ED04;
    pub const VTOR: u64 = 0xE000_ED08;
    pub const AIRCR: u64 = 0xE000_ED0C;
    pub const AIRCR_VECTKEY: u32 = 0x05FA << 16;
    pub const AIRCR_VECTRESET: u32 = 1 << 0;
    pub const AIRCR_SYSRESETREQ: u32 = 1 << 2;
    pub const CFSR: u64 = 0xE000_ED28;
    pub const HFSR: u64 = 0xE000_ED2C;
    pub const DFSR: u64 = 0xE000_ED30;
    pub const DHCSR: u64 = 0xE000_EDF0;
    pub const DHCSR_DBGKEY: u32 = 0xA05F << 16;
    pub const C_DEBUGEN: u32 = 1 << 0;
    pub const C_HALT: u32 = 1 << 1;
    pub const C_STEP: u32 = 1 << 2;
    pub const C_MASKINTS: u32 = 1 << 3;
    pub const S_REGRDY: u32 = 1 << 16;
    pub const S_HALT: u32 = 1 << 17;
    pub const S_SLEEP: u32 = 1 << 18;
    pub const S_LOCKUP: u32 = 1 << 19;
    pub const S_RETIRE_ST: u32 = 1 << 24;
    pub const S_RESET_ST: u32 = 1 << 25;
    pub const DCRSR: u64 = 0xE000_EDF4;
    pub const DCRSR_REGWNR: u32 = 1 << 16;
    pub const DCRDR: u64 = 0xE000_EDF8;
    pub const DEMCR: u64 = 0xE000_EDFC;
    pub const VC_CORERESET: u32 = 1 << 0;
    pub const TRCENA: u32 = 1 << 24;
    /// DCRSR REGSEL values (ARMv7-M C1.6.3).
    pub mod regsel {
        pub const R0: u32 = 0;
        pub const SP: u32 = 13;
        pub const LR: u32 = 14;
        pub const PC: u32 = 15; // DebugReturnAddress
        pub const XPSR: u32 = 16;
        pub const MSP: u32 = 17;
        pub const PSP: u32 = 18;
        /// CONTROL[31:24], FAULTMASK[23:16], BASEPRI[15:8], PRIMASK[7:0].
        pub const CONTROL_FAULTMASK_BASEPRI_PRIMASK: u32 = 20;
        pub const FPSCR: u32 = 33;
        pub const S0: u32 = 64;
    }
}

/// CoreSight / ROM tables (approx, from the facts doc).
pub mod rom {
    /// ST ROM table seen through AP0.
    pub const ST_ROM_AP0: u64 = 0xE00F_E000;
    /// Core ROM table (CM7 on AP0, CM4 on AP3).
    pub const CORE_ROM: u64 = 0xE00F_F000;
    /// System ROM table on the APB-D (AP2).
    pub const SYS_ROM_APBD: u64 = 0xE00E_0000;
    pub const SCS: u64 = 0xE000_E000;
    pub const DWT: u64 = 0xE000_1000;
    pub const FPB: u64 = 0xE000_2000;
    pub const ITM: u64 = 0xE000_0000;
    /// CIDR0..3 of a ROM table (class 1).
    pub const ROM_CIDR: [u32; 4] = [0x0D, 0x10, 0x05, 0xB1];
}

/// DBGMCU (RM0399 §61.5.8).
pub mod dbgmcu {
    /// Base on the system bus (AP0/AP3).
    pub const BASE_SYSBUS: u64 = 0x5C00_1000;
    /// Base through the APB-D (AP2).
    pub const BASE_APBD: u64 = 0xE00E_1000;
    pub const IDC: u64 = 0x00;
    pub const CR: u64 = 0x04;
    pub const DEV_ID_H745_H755: u32 = 0x450;
    /// Revision V.
    pub const REV_ID_V: u32 = 0x2003;
    /// Revision Y.
    pub const REV_ID_Y: u32 = 0x1003;
    pub const DBGSLEEP_D1: u32 = 1 << 0;
    pub const DBGSTOP_D1: u32 = 1 << 1;
    pub const DBGSTBY_D1: u32 = 1 << 2;
    pub const DBGSLEEP_D2: u32 = 1 << 3;
    pub const DBGSTOP_D2: u32 = 1 << 4;
    pub const DBGSTBY_D2: u32 = 1 << 5;
    pub const DBGSTOP_D3: u32 = 1 << 7;
    pub const DBGSTBY_D3: u32 = 1 << 8;
    pub const TRACECLKEN: u32 = 1 << 20;
    pub const D1DBGCKEN: u32 = 1 << 21;
    pub const D3DBGCKEN: u32 = 1 << 22;
    pub const TRGOEN: u32 = 1 << 28;
    /// What probe-rs's STM32H7 sequence writes on attach (measured).
    pub const PROBE_RS_ATTACH_CR: u32 = 0x0070_003F;
    /// APB4 peripherals frozen while CPU1 (FZ1) / CPU2 (FZ2) is halted; DBG_WDGLSD1/2 freeze
    /// IWDG1/IWDG2 (OpenOCD's stm32h7x.cfg sets both at examine).
    pub const APB4FZ1: u64 = 0x54;
    pub const APB4FZ2: u64 = 0x58;
    pub const FZ_WDGLSD1: u32 = 1 << 18;
    pub const FZ_WDGLSD2: u32 = 1 << 19;
}

/// Window watchdogs (RM0399 §47): WWDG1 for CPU1 (APB3, D1), WWDG2 for CPU2 (APB1, D2).
pub mod wwdg {
    pub const WWDG1: u64 = 0x5000_3000;
    pub const WWDG2: u64 = 0x4000_2C00;
    pub const SIZE: u64 = 0x400;
    pub const CR: u64 = 0x00;
    pub const CFR: u64 = 0x04;
    pub const SR: u64 = 0x08;
    pub const CR_WDGA: u32 = 1 << 7;
    pub const CFR_EWI: u32 = 1 << 9;
    pub const CFR_WDGTB_SHIFT: u32 = 11;
    /// CR and CFR after reset: T = W = 0x7F.
    pub const RESET_7F: u32 = 0x7F;
    /// One counter step at WDGTB = 0: 4096 PCLK cycles at the reset clock (HSI 64 MHz), 64 µs.
    pub const STEP_NANOS_TB0: u64 = 64_000;
    /// DBGMCU freeze bits: APB3FZx.DBG_WWDG1, APB1LFZx.DBG_WWDG2 (stm32h7x.cfg).
    pub const APB3FZ1: u64 = 0x34;
    pub const APB3FZ2: u64 = 0x38;
    pub const APB1LFZ1: u64 = 0x3C;
    pub const APB1LFZ2: u64 = 0x40;
    pub const FZ_WWDG1: u32 = 1 << 6;
    pub const FZ_WWDG2: u32 = 1 << 11;
}

/// Independent watchdogs (RM0399 §45): IWDG1 for CPU1, IWDG2 for CPU2, both in D3.
pub mod iwdg {
    pub const IWDG1: u64 = 0x5800_4800;
    pub const IWDG2: u64 = 0x5800_4C00;
    pub const SIZE: u64 = 0x400;
    pub const KR: u64 = 0x00;
    pub const PR: u64 = 0x04;
    pub const RLR: u64 = 0x08;
    pub const SR: u64 = 0x0C;
    pub const WINR: u64 = 0x10;
    pub const KEY_START: u32 = 0xCCCC;
    pub const KEY_REFRESH: u32 = 0xAAAA;
    pub const KEY_UNLOCK: u32 = 0x5555;
    /// Reload and window after reset: the longest timeout.
    pub const RLR_RESET: u32 = 0xFFF;
    /// One counter step at PR = 0: /4 of the 32 kHz LSI (512 ms for 4096 steps).
    pub const STEP_NANOS_PR0: u64 = 125_000;
}

/// Embedded flash controller, option bytes (RM0399 §4.9).
pub mod flash {
    pub const BASE: u64 = 0x5200_2000;
    pub const KEYR1: u64 = 0x04;
    pub const OPTKEYR: u64 = 0x08;
    pub const OPTKEY1: u32 = 0x0819_2A3B;
    pub const OPTKEY2: u32 = 0x4C5D_6E7F;
    pub const CR1: u64 = 0x0C;
    pub const SR1: u64 = 0x10;
    pub const CCR1: u64 = 0x14;
    /// KEYRx unlock keys for CRx (RM0399 §4.5.1).
    pub const KEY1: u32 = 0x4567_0123;
    pub const KEY2: u32 = 0xCDEF_89AB;
    pub const OPTCR: u64 = 0x18;
    pub const OPTCR_OPTLOCK: u32 = 1 << 0;
    pub const OPTCR_OPTSTART: u32 = 1 << 1;
    pub const OPTCR_MER: u32 = 1 << 4;
    pub const OPTCR_OPTCHANGEERRIE: u32 = 1 << 30;
    pub const OPTCR_SWAP_BANK: u32 = 1 << 31;
    pub const OPTSR_CUR: u64 = 0x1C;
    pub const OPTSR_PRG: u64 = 0x20;
    pub const OPTCCR: u64 = 0x24;
    pub const CLR_OPTCHANGEERR: u32 = 1 << 30;
    pub const PRAR_CUR1: u64 = 0x28;
    pub const PRAR_PRG1: u64 = 0x2C;
    pub const SCAR_CUR1: u64 = 0x30;
    pub const SCAR_PRG1: u64 = 0x34;
    pub const WPSN_CUR1R: u64 = 0x38;
    pub const WPSN_PRG1R: u64 = 0x3C;
    pub const BOOT7_CUR: u64 = 0x40;
    pub const BOOT7_PRG: u64 = 0x44;
    pub const BOOT4_CUR: u64 = 0x48;
    pub const BOOT4_PRG: u64 = 0x4C;
    /// Bank 2 copies of PRAR/SCAR/WPSN are at +0x100.
    pub const BANK2_OFFSET: u64 = 0x100;

    /// OPTSR bit fields: (lsb, width).
    pub mod optsr {
        pub const OPT_BUSY: (u32, u32) = (0, 1);
        pub const BOR_LEV: (u32, u32) = (2, 2);
        pub const IWDG1_SW: (u32, u32) = (4, 1);
        pub const IWDG2_SW: (u32, u32) = (5, 1);
        pub const NRST_STOP_D1: (u32, u32) = (6, 1);
        pub const NRST_STBY_D1: (u32, u32) = (7, 1);
        pub const RDP: (u32, u32) = (8, 8);
        pub const FZ_IWDG_STOP: (u32, u32) = (17, 1);
        pub const FZ_IWDG_SDBY: (u32, u32) = (18, 1);
        pub const ST_RAM_SIZE: (u32, u32) = (19, 2);
        pub const SECURITY: (u32, u32) = (21, 1);
        pub const BCM4: (u32, u32) = (22, 1);
        pub const BCM7: (u32, u32) = (23, 1);
        pub const NRST_STOP_D2: (u32, u32) = (24, 1);
        pub const NRST_STBY_D2: (u32, u32) = (25, 1);
        pub const IO_HSLV: (u32, u32) = (29, 1);
        pub const OPTCHANGEERR: (u32, u32) = (30, 1);
        pub const SWAP_BANK_OPT: (u32, u32) = (31, 1);
    }
    /// RDP values.
    pub const RDP_LEVEL0: u32 = 0xAA;
    pub const RDP_LEVEL2: u32 = 0xCC;
    /// Factory OPTSR: RDP level 0, BCM4 = BCM7 = 1, IWDGx software, NRST_* = 1, BOR off (approx).
    pub const OPTSR_FACTORY: u32 = 0x03C6_AAF0;
    /// Factory BOOT7: BCM7_ADD0 = 0x0800 (0x08000000), BCM7_ADD1 = 0x1FF0 (system memory).
    pub const BOOT7_FACTORY: u32 = 0x1FF0_0800;
    /// Factory BOOT4: BCM4_ADD0 = 0x0810 (0x08100000), BCM4_ADD1 = 0x1000 (0x10000000) (approx).
    pub const BOOT4_FACTORY: u32 = 0x1000_0810;
    /// Boot address fields hold address >> 16.
    pub const BOOT_ADDR_SHIFT: u32 = 16;
}

/// Memory map of the dual-core parts (RM0399 §2.3).
pub mod mem {
    pub const ITCM: (u64, u64) = (0x0000_0000, 64 * 1024);
    pub const FLASH_BANK1: (u64, u64) = (0x0800_0000, 1024 * 1024);
    pub const FLASH_BANK2: (u64, u64) = (0x0810_0000, 1024 * 1024);
    pub const SYSTEM_MEMORY: (u64, u64) = (0x1FF0_0000, 128 * 1024);
    pub const DTCM: (u64, u64) = (0x2000_0000, 128 * 1024);
    pub const AXI_SRAM: (u64, u64) = (0x2400_0000, 512 * 1024);
    pub const SRAM1: (u64, u64) = (0x3000_0000, 128 * 1024);
    pub const SRAM2: (u64, u64) = (0x3002_0000, 128 * 1024);
    pub const SRAM3: (u64, u64) = (0x3004_0000, 32 * 1024);
    pub const SRAM4: (u64, u64) = (0x3800_0000, 64 * 1024);
    pub const BACKUP_SRAM: (u64, u64) = (0x3880_0000, 4 * 1024);
    pub const PERIPHERALS: (u64, u64) = (0x4000_0000, 0x2000_0000);
    /// Private peripheral bus of each core.
    pub const PPB: (u64, u64) = (0xE000_0000, 0x0010_0000);
}

/// RCC (RM0399 §9.7).
pub mod rcc {
    pub const BASE: u64 = 0x5802_4400;
    pub const CR: u64 = 0x00;
    pub const CR_HSION: u32 = 1 << 0;
    pub const CR_HSIRDY: u32 = 1 << 2;
    pub const CR_D1CKRDY: u32 = 1 << 14;
    pub const CR_D2CKRDY: u32 = 1 << 15;
    pub const GCR: u64 = 0xA0;
    pub const GCR_WW1RSC: u32 = 1 << 0;
    pub const GCR_WW2RSC: u32 = 1 << 1;
    pub const GCR_BOOT_C1: u32 = 1 << 2;
    pub const GCR_BOOT_C2: u32 = 1 << 3;
    /// Reset status, the accessing core's copy; C1_RSR and C2_RSR are each core's own copy
    /// (RCC_C1 block at +0x130, RCC_C2 block at +0x190: stm32h755xx.h `RCC_C1_BASE`,
    /// `RCC_C2_BASE`). Dual-core layout (stm32h755xx.h `RCC_RSR_*`).
    pub const RSR: u64 = 0xD0;
    pub const C1_RSR: u64 = 0x130;
    pub const C2_RSR: u64 = 0x190;
    pub const RSR_RMVF: u32 = 1 << 16;
    pub const RSR_C1RSTF: u32 = 1 << 17;
    pub const RSR_C2RSTF: u32 = 1 << 18;
    pub const RSR_D1RSTF: u32 = 1 << 19;
    pub const RSR_D2RSTF: u32 = 1 << 20;
    pub const RSR_BORRSTF: u32 = 1 << 21;
    pub const RSR_PINRSTF: u32 = 1 << 22;
    pub const RSR_PORRSTF: u32 = 1 << 23;
    pub const RSR_SFT1RSTF: u32 = 1 << 24;
    pub const RSR_SFT2RSTF: u32 = 1 << 25;
    pub const RSR_IWDG1RSTF: u32 = 1 << 26;
    pub const RSR_IWDG2RSTF: u32 = 1 << 27;
    pub const RSR_WWDG1RSTF: u32 = 1 << 28;
    pub const RSR_WWDG2RSTF: u32 = 1 << 29;
    pub const RSR_LPWR1RSTF: u32 = 1 << 30;
    pub const RSR_LPWR2RSTF: u32 = 1 << 31;
}

/// PWR (RM0399 §7.8).
pub mod pwr {
    pub const BASE: u64 = 0x5802_4800;
    pub const CR1: u64 = 0x00;
    pub const CSR1: u64 = 0x04;
    pub const CSR1_ACTVOSRDY: u32 = 1 << 13;
    pub const CR3: u64 = 0x0C;
    pub const CR3_BYPASS: u32 = 1 << 0;
    pub const CR3_LDOEN: u32 = 1 << 1;
    pub const CR3_SDEN: u32 = 1 << 2;
    pub const CPUCR: u64 = 0x10;
    pub const CPU2CR: u64 = 0x14;
    pub const CPUCR_PDDS_D1: u32 = 1 << 0;
    pub const CPUCR_PDDS_D2: u32 = 1 << 1;
    pub const CPUCR_PDDS_D3: u32 = 1 << 2;
    /// HOLD2F in CPU1CR / HOLD1F in CPU2CR: the other CPU woke with hold (RM0399 §7.8.5-6).
    pub const CPUCR_HOLDF: u32 = 1 << 4;
    pub const CPUCR_STOPF: u32 = 1 << 5;
    pub const CPUCR_SBF: u32 = 1 << 6;
    pub const CPUCR_SBF_D1: u32 = 1 << 7;
    pub const CPUCR_SBF_D2: u32 = 1 << 8;
}

/// Hardware semaphores (RM0399 §11.4).
pub mod hsem {
    pub const BASE: u64 = 0x5802_6400;
    pub const COUNT: u32 = 32;
    /// R[n] at +4n: LOCK 31, COREID [11:8], PROCID [7:0].
    pub const R0: u64 = 0x00;
    /// RLR[n] at +0x80 + 4n: one-step lock by reading.
    pub const RLR0: u64 = 0x80;
    pub const C1IER: u64 = 0x100;
    pub const C1ICR: u64 = 0x104;
    pub const C1ISR: u64 = 0x108;
    pub const C1MISR: u64 = 0x10C;
    pub const C2IER: u64 = 0x110;
    pub const C2ICR: u64 = 0x114;
    pub const C2ISR: u64 = 0x118;
    pub const C2MISR: u64 = 0x11C;
    pub const CR: u64 = 0x140;
    pub const KEYR: u64 = 0x144;
    pub const LOCK: u32 = 1 << 31;
    pub const COREID_SHIFT: u32 = 8;
    pub const COREID_CM7: u32 = 3;
    pub const COREID_CM4: u32 = 1;
}

/// SYSCFG user-register mirrors of the option bytes (RM0399 §12.3).
pub mod syscfg {
    pub const BASE: u64 = 0x5800_0400;
    /// UR0 at +0x300, URn at +0x300 + 4n, n = 0..=17.
    pub const UR0: u64 = 0x300;
    pub const UR_COUNT: u32 = 18;
    /// UR1: BCM4 bit 0, BCM7 bit 16.
    pub const UR1_BCM4: u32 = 1 << 0;
    pub const UR1_BCM7: u32 = 1 << 16;
}

/// MEM-AP register reset values beyond identity (identity: [`ap_id`]) (ADIv5.2 C2.6.4).
pub mod ap_regs {
    /// CSW reset value of an AHB-AP: Prot = 0b0000011 (privileged data), DeviceEn (approx).
    pub const CSW_RESET_AHB: u32 = 0x0300_0040;
    /// CSW reset value of the APB-AP: DbgSwEnable, DeviceEn, Size fixed at 32 bits (the APB-AP
    /// implements word accesses only, ADIv5.2 C2.6.4) (approx).
    pub const CSW_RESET_APB: u32 = 0x8000_0042;
}

/// Debug port details beyond identity (ADIv5.2 B2.2).
pub mod dp_regs {
    /// DLPIDR: PROTVSN = 1 (SWD protocol version 2), TINSTANCE = 0 (ADIv5.2 B2.2.4).
    pub const DLPIDR: u32 = 0x0000_0001;
    /// EVENTSTAT with no event requiring attention (ADIv5.2 B2.2.5: EA is active low, so 1)
    /// (approx: the virtual board raises no events).
    pub const EVENTSTAT_IDLE: u32 = 0x0000_0001;
}

/// The wire between probe and chip, as the virtual board times it.
pub mod wire {
    /// Clock cycles of one SWD transaction: 8 request + 1 turnaround + 3 ACK + 33 data/parity
    /// + 1 turnaround + 2 idle (ADIv5.2 B4.2) = 48 cycles.
    pub const SWD_TRANSACTION_CYCLES: u64 = 48;
    /// Default SWCLK: 4 MHz, what ST-LINK/V3 and probe-rs use by default for SWD; one
    /// transaction then takes 12 µs.
    pub const DEFAULT_CLOCK_KHZ: u32 = 4_000;
    /// USB identity under which the virtual board's probe is listed: pid.codes' test PID
    /// 1209:0001, reserved for testing and never assigned to a shipping product.
    pub const SIM_PROBE_VID: u16 = 0x1209;
    pub const SIM_PROBE_PID: u16 = 0x0001;
    /// Serial number of the virtual probe.
    pub const SIM_PROBE_SERIAL: &str = "sim";
    /// Name the virtual probe reports (CMSIS-DAP v2 personality; the others add theirs).
    pub const SIM_PROBE_NAME: &str = "h7sh virtual board";
    pub const SIM_PROBE_NAME_V1: &str = "h7sh virtual board (CMSIS-DAP v1)";
    pub const SIM_PROBE_NAME_STLINK_V2: &str = "h7sh virtual board (ST-LINK/V2)";
    pub const SIM_PROBE_NAME_STLINK_V3: &str = "h7sh virtual board (STLINK-V3)";
    /// probe-rs's J-Link driver names every J-Link "J-Link".
    pub const SIM_PROBE_NAME_JLINK: &str = "h7sh virtual board (J-Link)";
    /// WAIT retries the probe performs before giving up: probe-rs configures CMSIS-DAP probes
    /// with `wait_retry = 0xFFFF` (cmsisdap::attach); the ST-LINK firmware retries likewise.
    pub const WAIT_RETRIES: u32 = 0xFFFF;
    /// Target voltage the virtual probe reports (a NUCLEO-H755ZI-Q runs at 3.3 V).
    pub const TARGET_VOLTAGE: f32 = 3.3;
}

/// Further Cortex-M system registers read by debuggers (ARMv7-M B3.2, C1.8, C1.11).
pub mod scs_ext {
    /// Media and FP feature register 0 (ARMv7-M B4.1.2): FPU present and precision.
    pub const MVFR0: u64 = 0xE000_EF40;
    /// Cortex-M7 with double-precision FPU (STM32H7 CM7).
    pub const MVFR0_CM7: u32 = 0x1011_0221;
    /// Cortex-M4F, single precision (STM32H7 CM4).
    pub const MVFR0_CM4: u32 = 0x1011_0021;
    /// AIRCR reads VECTKEYSTAT 0xFA05 in [31:16] (ARMv7-M B3.2.6).
    pub const AIRCR_VECTKEYSTAT: u32 = 0xFA05 << 16;
    /// AIRCR PRIGROUP [10:8].
    pub const AIRCR_PRIGROUP_MASK: u32 = 0x7 << 8;
    /// DFSR bits (ARMv7-M C1.6.1): HALTED 0, BKPT 1, DWTTRAP 2, VCATCH 3, EXTERNAL 4.
    pub const DFSR_HALTED: u32 = 1 << 0;
    pub const DFSR_VCATCH: u32 = 1 << 3;
    /// HFSR (ARMv7-M B3.2.16): VECTTBL 1, FORCED 30, DEBUGEVT 31.
    pub const HFSR_VECTTBL: u32 = 1 << 1;
    pub const HFSR_FORCED: u32 = 1 << 30;
    /// CFSR.UFSR INVSTATE (bit 17 of CFSR): execution with the Thumb bit clear.
    pub const CFSR_INVSTATE: u32 = 1 << 17;
    /// xPSR after reset: Thumb bit set (ARMv7-M B1.5.5).
    pub const XPSR_RESET: u32 = 1 << 24;
    /// PC value of a core in lockup (ARMv7-M B1.5.15).
    pub const LOCKUP_PC: u32 = 0xEFFF_FFFE;
    /// DWT_CTRL (ARMv7-M C1.8.7): NUMCOMP [31:28] read-only; 4 comparators on CM4 and CM7.
    pub const DWT_CTRL: u64 = 0xE000_1000;
    pub const DWT_CTRL_RESET: u32 = 0x4000_0000;
    /// FP_CTRL (ARMv7-M C1.11.3): REV [31:28], NUM_CODE [14:12,7:4], NUM_LIT [11:8], KEY 1, ENABLE 0.
    pub const FP_CTRL: u64 = 0xE000_2000;
    /// CM7: FPB v2 (REV = 1), 8 code and 1 literal comparators (approx).
    pub const FP_CTRL_CM7: u32 = 0x1000_0180;
    /// CM4: FPB v1, 6 code and 2 literal comparators.
    pub const FP_CTRL_CM4: u32 = 0x0000_0260;
    pub const FP_CTRL_KEY: u32 = 1 << 1;
    pub const FP_CTRL_ENABLE: u32 = 1 << 0;
}

/// Access port identification (ADIv5 C2.6.5 IDR, C2.6.1 BASE, probe-rs `ap/registers.rs`).
pub mod ap_id {
    /// AHB-AP (AHB3 MEM-AP, ARM, revision 8): AP0, AP1, AP3 of the STM32H7.
    pub const IDR_AHB_AP: u32 = 0x8477_0001;
    /// APB-AP (APB2/3 MEM-AP, ARM, revision 5): AP2.
    pub const IDR_APB_AP: u32 = 0x5477_0002;
    /// AP3 is the Cortex-M4's own AHB-AP (AHB3 MEM-AP, ARM, revision 2, variant 1: the
    /// Cortex-M3/M4 style AP), not a copy of AP0: IDR as probe-rs and pyOCD logs of H745/H755
    /// parts show it (issue 12 item 5).
    pub const IDR_AHB_AP_CM4: u32 = 0x2477_0011;
    /// TAR auto-increment wraps inside this block: 1 KiB on the CoreSight AHB-APs (ADIv5.2
    /// C2.2.3's minimum), 4 KiB on the Cortex-M4's AP (its TRM: the auto-increment is 4 KiB).
    pub const AUTOINC_WRAP: u32 = 0x3FF;
    pub const AUTOINC_WRAP_CM4: u32 = 0xFFF;
    /// BASE of AP0 (CM7): ST ROM table, format 1, present.
    pub const BASE_AP0: u32 = 0xE00F_E003;
    /// BASE of AP1 (D3): no debug components (format 1, not present) (approx).
    pub const BASE_AP1: u32 = 0x0000_0002;
    /// BASE of AP2 (APB-D): system ROM table.
    pub const BASE_AP2: u32 = 0xE00E_0003;
    /// BASE of AP3 (CM4): CM4 ROM table.
    pub const BASE_AP3: u32 = 0xE00F_F003;
    /// CFG of a MEM-AP: little endian, 32-bit addresses, no large data.
    pub const CFG: u32 = 0x0000_0000;
}

/// CoreSight component identification (ARM IHI0029 B2.2, ADIv5 D1.2): part numbers and devtypes.
pub mod coresight {
    /// JEP106 of ARM Ltd: continuation 4, identity 0x3B.
    pub const JEP106_ARM: (u8, u8) = (4, 0x3B);
    /// JEP106 of STMicroelectronics: continuation 0, identity 0x20.
    pub const JEP106_ST: (u8, u8) = (0, 0x20);
    /// CIDR1 class field: ROM table (class 1), CoreSight (class 9), generic IP (class 0xE).
    pub const CLASS_ROM: u8 = 0x1;
    pub const CLASS_CORESIGHT: u8 = 0x9;
    pub const CLASS_GENERIC_IP: u8 = 0xE;
    pub const CLASS_SYSTEM: u8 = 0xF;
    /// Part numbers (probe-rs `romtable.rs` part table; approx for the ST parts).
    pub const PART_ST_ROM: u16 = 0x450;
    pub const PART_CM7_ROM: u16 = 0x4C7;
    pub const PART_CM4_ROM: u16 = 0x4C4;
    pub const PART_SCS: u16 = 0x00C;
    pub const PART_ITM: u16 = 0x001;
    pub const PART_DWT: u16 = 0x002;
    pub const PART_FPB_CM4: u16 = 0x003;
    pub const PART_FPB_CM7: u16 = 0x00E;
    pub const PART_SYS_ROM: u16 = 0x450;
    pub const PART_DBGMCU: u16 = 0x450;
    pub const PART_SWO: u16 = 0x914;
    pub const PART_FUNNEL: u16 = 0x908;
    pub const PART_TPIU: u16 = 0x912;
    pub const DEVTYPE_SWO: u8 = 0x11;
    pub const DEVTYPE_FUNNEL: u8 = 0x12;
    pub const DEVTYPE_TPIU: u8 = 0x11;
    /// APB-D component addresses (RM0399 §61.2, probe-rs `vendor/st/sequences/stm32h7.rs`).
    pub const SWO: u64 = 0xE00E_3000;
    pub const SWO_FUNNEL: u64 = 0xE00E_4000;
    pub const CS_FUNNEL: u64 = 0xE00F_3000;
    pub const TPIU: u64 = 0xE00F_5000;
    /// The second system ROM table on the APB-D and the components it lists (pyOCD #1368).
    pub const SYS_ROM2: u64 = 0xE00F_0000;
    pub const PART_SYS_ROM2: u16 = 0x001;
    pub const CTI_APBD: u64 = 0xE00F_1000;
    pub const ETF: u64 = 0xE00F_4000;
    /// The CM7's ETM and CTI, listed by the ST ROM table on AP0 (pyOCD #1499, #1404).
    pub const ETM_CM7: u64 = 0xE004_1000;
    pub const CTI_CM7: u64 = 0xE004_3000;
    /// The Cortex-M TPIU slot of a core ROM table (listed not present on the STM32H7).
    pub const TPIU_CORE: u64 = 0xE004_0000;
    pub const PART_ETM_CM7: u16 = 0x975;
    pub const PART_CTI: u16 = 0x906;
    pub const PART_ETF: u16 = 0x961;
    pub const DEVTYPE_ETM: u8 = 0x13;
    pub const DEVTYPE_CTI: u8 = 0x14;
    pub const DEVTYPE_ETF: u8 = 0x32;
    /// DEVARCH of the CM7 ETM: architect ARM (0x23B), present, ARCHID 0x4A13 (ETMv4).
    pub const DEVARCH_ETM_CM7: u32 = 0x4770_4A13;
    /// Offsets inside a 4 KiB component: MEMTYPE/DEVTYPE, DEVARCH, PIDR4..7, PIDR0..3, CIDR0..3.
    pub const DEVTYPE: u64 = 0xFCC;
    pub const DEVARCH: u64 = 0xFBC;
    pub const PIDR4: u64 = 0xFD0;
    pub const PIDR0: u64 = 0xFE0;
    pub const CIDR0: u64 = 0xFF0;
    /// ROM table MEMTYPE.SYSMEM: system memory present on the bus.
    pub const MEMTYPE_SYSMEM: u32 = 1;
}

/// Extra RCC bits (RM0399 §9.7.2 RCC_CR): oscillator enable → ready pairs.
pub mod rcc_ext {
    /// (ON bit, RDY bit) pairs of RCC_CR: HSI, CSI, HSI48, HSE, PLL1, PLL2, PLL3.
    pub const CR_ON_RDY: [(u32, u32); 7] = [
        (1 << 0, 1 << 2),
        (1 << 7, 1 << 8),
        (1 << 12, 1 << 13),
        (1 << 16, 1 << 17),
        (1 << 24, 1 << 25),
        (1 << 26, 1 << 27),
        (1 << 28, 1 << 29),
    ];
    /// RCC_CR after reset: HSION, HSIRDY, HSIDIV = 0, D1CKRDY, D2CKRDY (RM0399 §9.7.2, approx).
    pub const CR_RESET: u32 = (1 << 0) | (1 << 2);
    /// Size of the RCC register block.
    pub const SIZE: u64 = 0x400;
}

/// Extra PWR bits (RM0399 §7.8).
pub mod pwr_ext {
    /// PWR_CPUCR / PWR_CPU2CR CSSF bit 9: clear the STOPF/SBF/HOLDxF flags.
    pub const CPUCR_CSSF: u32 = 1 << 9;
    /// HOLD2 in CPU1CR / HOLD1 in CPU2CR: keep the other CPU on hold when the system exits
    /// Stop; RUN_D3: keep D3 in Run (RM0399 §7.7.8, §7.8.5-6).
    pub const CPUCR_HOLD: u32 = 1 << 10;
    pub const CPUCR_RUN_D3: u32 = 1 << 11;
    /// PWR_CR3 after power-on: SDEN = 1, LDOEN = 1 (RM0399 §7.8.4; supply not yet configured).
    pub const CR3_RESET: u32 = (1 << 1) | (1 << 2);
    /// The supply configuration bits of CR3 (write-once after power-on).
    pub const CR3_SUPPLY_MASK: u32 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (0x3 << 4);
    pub const SIZE: u64 = 0x400;
}

/// Extra HSEM facts (RM0399 §11.4).
pub mod hsem_ext {
    /// R[n] PROCID field [7:0].
    pub const PROCID_MASK: u32 = 0xFF;
    /// COREID field [11:8].
    pub const COREID_MASK: u32 = 0xF << 8;
    /// HSEM_CR / HSEM_KEYR KEY field [31:16].
    pub const KEY_SHIFT: u32 = 16;
    pub const SIZE: u64 = 0x400;
    /// COREID a debugger carries through AP1 (D3 AHB-AP): not a CPU (approx).
    pub const COREID_DEBUG_D3: u32 = 0;
}

/// SYSCFG user registers: field positions (RM0399 §12.3.x, approx for UR5..UR17).
pub mod syscfg_ur {
    pub const SIZE: u64 = 0x400;
    /// UR0: BKS bit 0 (bank swap), RDP [23:16].
    pub const UR0_RDP_SHIFT: u32 = 16;
    /// UR2: BORH [1:0], BCM7_ADD0 [31:16].
    /// UR3: BCM7_ADD1 [15:0], BCM4_ADD0 [31:16].
    /// UR4: BCM4_ADD1 [15:0], MEPAD_1 bit 16.
    /// UR5: MESAD_1 bit 0, WRPSN_1 [23:16].
    /// UR6: PA_BEG_1 [11:0], PA_END_1 [27:16].  UR7: SA_BEG_1 [11:0], SA_END_1 [27:16].
    /// UR8: MEPAD_2 bit 0, MESAD_2 bit 16.  UR9: WRPSN_2 [7:0], PA_BEG_2 [27:16].
    /// UR10: PA_END_2 [11:0], SA_BEG_2 [27:16].  UR11: SA_END_2 [11:0], IWDG1M bit 16.
    /// UR12: SECURE bit 16.  UR13: SDRS [1:0], D1SBRST bit 16.  UR14: D1STPRST bit 0,
    /// D1STBYRST bit 16.  UR15: FZIWDGSTB bit 16.  UR16: FZIWDGSTP bit 0, PKP bit 16.
    /// UR17: IO_HSLV bit 0.
    pub const HALF_SHIFT: u32 = 16;
}

/// Option-byte protection registers (RM0399 §4.9.13..): PRAR, SCAR, WPSN fields.
pub mod flash_prot {
    /// PRAR: PROT_AREA_START [11:0], PROT_AREA_END [27:16], DMEP bit 31.
    pub const AREA_START_MASK: u32 = 0xFFF;
    pub const AREA_END_SHIFT: u32 = 16;
    pub const DM_BIT: u32 = 1 << 31;
    /// Factory PRAR: empty area (START > END), no DMEP (approx: 0x000000FF).
    pub const PRAR_FACTORY: u32 = 0x0000_00FF;
    /// Factory SCAR: empty secure area (approx: 0x000000FF).
    pub const SCAR_FACTORY: u32 = 0x0000_00FF;
    /// Factory WPSN: all sectors unprotected (WRPSn = 0xFF).
    pub const WPSN_FACTORY: u32 = 0x0000_00FF;
    /// OPTCR reset value: OPTLOCK = 1.
    pub const OPTCR_RESET: u32 = 1 << 0;
}

/// Memory-map extras (RM0399 §2.3).
pub mod mem_ext {
    /// SRAM1..3 as the CM4 sees them at 0x10000000 (alias of 0x30000000).
    pub const CM4_SRAM_ALIAS: (u64, u64) = (0x1000_0000, 288 * 1024);
    /// D3 peripherals (AHB4/APB4) reached through AP1 (approx end).
    pub const D3_PERIPHERALS: (u64, u64) = (0x5800_0000, 0x0003_0000);
    /// Flash sector size: erase granularity (RM0399 §4.3.4).
    pub const FLASH_SECTOR: u64 = 128 * 1024;
    /// Device electronic signature in system memory (RM0399 §61, ST's `stm32h755xx.h`
    /// `UID_BASE`, `FLASHSIZE_BASE`): the 96-bit unique ID and the flash size in KiB (16 bits).
    pub const UID_BASE: u64 = 0x1FF1_E800;
    pub const FLASHSIZE_BASE: u64 = 0x1FF1_E880;
    /// 2 MiB parts (H745/H755 xI, H747/H757 xI).
    pub const FLASHSIZE_KIB: u32 = 0x0800;
    /// The virtual part's unique ID words (any part has its own; these follow the format of
    /// RM0399 §61.1: X/Y wafer coordinates, then wafer number and lot number in ASCII).
    pub const UID_WORDS: [u32; 3] = [0x0035_0041, 0x3233_5111, 0x3830_3533];
}

/// Option-byte fields beyond OPTSR (RM0399 §4.9.14..§4.9.19): (lsb, width) of the boot-address,
/// protection-area and write-protection fields, and the values the toolkit checks against.
pub mod ob_fields {
    /// FLASH_BOOT7_CUR/PRG: BCM7_ADD0 [15:0], BCM7_ADD1 [31:16] (RM0399 §4.9.20).
    pub const BCM7_ADD0: (u32, u32) = (0, 16);
    pub const BCM7_ADD1: (u32, u32) = (16, 16);
    /// FLASH_BOOT4_CUR/PRG: BCM4_ADD0 [15:0], BCM4_ADD1 [31:16] (RM0399 §4.9.22).
    pub const BCM4_ADD0: (u32, u32) = (0, 16);
    pub const BCM4_ADD1: (u32, u32) = (16, 16);
    /// FLASH_PRAR_CUR/PRG: PROT_AREA_START [11:0], PROT_AREA_END [27:16], DMEP bit 31
    /// (RM0399 §4.9.14). Areas are counted in 256-byte units from the bank start.
    pub const PROT_AREA_START: (u32, u32) = (0, 12);
    pub const PROT_AREA_END: (u32, u32) = (16, 12);
    pub const DMEP: (u32, u32) = (31, 1);
    /// FLASH_SCAR_CUR/PRG: SEC_AREA_START [11:0], SEC_AREA_END [27:16], DMES bit 31 (RM0399 §4.9.16).
    pub const SEC_AREA_START: (u32, u32) = (0, 12);
    pub const SEC_AREA_END: (u32, u32) = (16, 12);
    pub const DMES: (u32, u32) = (31, 1);
    /// FLASH_WPSN_CUR/PRG: WRPSN [7:0], one bit per sector, 0 = write protected (RM0399 §4.9.18).
    pub const WRPSN: (u32, u32) = (0, 8);
    /// BOR_LEV values (RM0399 §4.9.9): 0 off, 1 level 1 (2.1 V), 2 level 2 (2.4 V), 3 level 3 (2.7 V).
    pub const BOR_LEV_NAMES: [&str; 4] = ["BOR_OFF", "BOR_LEVEL1", "BOR_LEVEL2", "BOR_LEVEL3"];
    /// ST_RAM_SIZE values (RM0399 §4.9.9): ST secure-library RAM reservation.
    pub const ST_RAM_SIZE_NAMES: [&str; 4] = ["2KB", "4KB", "8KB", "16KB"];
    /// An RDP byte that is neither level 0 nor level 2: the canonical level-1 value (approx: any
    /// value other than 0xAA and 0xCC is level 1; ST tools write 0xBB).
    pub const RDP_LEVEL1_CANONICAL: u32 = 0xBB;
    /// Offset of the last option-byte register of bank 1 (BOOT4_PRG) + 4: FLASH +0x1C..+0x50 is
    /// one contiguous block (OPTSR_CUR..BOOT4_PRG), bank 2's PRAR..WPSN one more (+0x128..+0x140).
    pub const BANK1_BLOCK: (u64, u64) = (0x1C, 0x50);
    pub const BANK2_BLOCK: (u64, u64) = (0x128, 0x140);
    /// Virtual/real time `ob set` waits for OPT_BUSY to clear before giving up (RM0399 §4.4.3
    /// gives no figure; a change takes a few ms on silicon, an RDP regression with mass erase up to
    /// several seconds (approx)).
    pub const OPT_BUSY_TIMEOUT_MS: u64 = 5_000;
}

/// Extra RCC/PWR/DBGMCU facts read by `doctor` and `report` (RM0399 §7.8, §9.7, §61.5.8).
pub mod boot_state {
    /// PWR_CR3 SMPS/LDO fields beyond BYPASS/LDOEN/SDEN: SMPSEXTHP bit 3, SMPSLEVEL [5:4]
    /// (RM0399 §7.8.4).
    pub const CR3_SMPSEXTHP: u32 = 1 << 3;
    pub const CR3_SMPSLEVEL_SHIFT: u32 = 4;
    /// Flash as a boot target: bank 1 and bank 2 (RM0399 §2.3). Boot addresses are valid in
    /// flash, system memory, or RAM (ITCM, DTCM, AXI SRAM, SRAM1..4) (RM0399 §4.9.20 note).
    pub const BOOT_FLASH: (u64, u64) = (0x0800_0000, 2 * 1024 * 1024);
    /// An erased flash word.
    pub const ERASED_WORD: u32 = 0xFFFF_FFFF;
}
