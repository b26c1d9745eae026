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
    pub const RSR: u64 = 0xD0;
    pub const C1_RSR: u64 = 0x130;
    pub const C2_RSR: u64 = 0x1D0;
    pub const RSR_RMVF: u32 = 1 << 16;
    pub const RSR_CPURSTF: u32 = 1 << 17;
    pub const RSR_D1RSTF: u32 = 1 << 19;
    pub const RSR_D2RSTF: u32 = 1 << 20;
    pub const RSR_BORRSTF: u32 = 1 << 21;
    pub const RSR_PINRSTF: u32 = 1 << 22;
    pub const RSR_PORRSTF: u32 = 1 << 23;
    pub const RSR_SFTRSTF: u32 = 1 << 24;
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

/// Identity registers of the four access ports (ADIv5.2 C2.6: IDR, BASE, CFG). IDR values are
/// what OpenOCD's `dap info` shows on an STM32H745 (approx): JEP106 designer ARM (0x23B), class
/// MEM-AP (0b1000), TYPE 1 = AMBA AHB3 / TYPE 2 = AMBA APB2/3 (the codes probe-rs's `ApType`
/// classifies as `AmbaAhb3` / `AmbaApb2Apb3` memory APs).
pub mod ap_regs {
    /// IDR of AP0, the Cortex-M7 AHB-AP (revision 8, AHB3).
    pub const IDR_CM7: u32 = 0x8477_0001;
    /// IDR of AP1, the D3-domain AHB-AP (approx: same part as AP0).
    pub const IDR_D3: u32 = 0x8477_0001;
    /// IDR of AP2, the APB-AP on the APB-D (revision 5, APB2/3).
    pub const IDR_APB_D: u32 = 0x5477_0002;
    /// IDR of AP3, the Cortex-M4 AHB-AP (revision 2, variant 1, AHB3).
    pub const IDR_CM4: u32 = 0x2477_0011;
    /// BASE.P: a debug entry is present (ADIv5.2 C2.6.1).
    pub const BASE_PRESENT: u32 = 1 << 0;
    /// BASE.Format: ADIv5 format (ADIv5.2 C2.6.1).
    pub const BASE_FORMAT_ADIV5: u32 = 1 << 1;
    /// BASE of AP0: ST ROM table, present, ADIv5 format.
    pub const BASE_CM7: u32 = super::rom::ST_ROM_AP0 as u32 | BASE_PRESENT | BASE_FORMAT_ADIV5;
    /// BASE of AP1: no debug entry (ADIv5 format, P = 0) (approx).
    pub const BASE_D3: u32 = BASE_FORMAT_ADIV5;
    /// BASE of AP2: system ROM table on the APB-D.
    pub const BASE_APB_D: u32 = super::rom::SYS_ROM_APBD as u32 | BASE_PRESENT | BASE_FORMAT_ADIV5;
    /// BASE of AP3: CM4 ROM table.
    pub const BASE_CM4: u32 = super::rom::CORE_ROM as u32 | BASE_PRESENT | BASE_FORMAT_ADIV5;
    /// CFG of every AP: little endian, no large address / large data extension.
    pub const CFG: u32 = 0;
    /// CSW reset value of an AHB-AP: Prot = 0b0000011 (privileged data), DeviceEn (approx).
    pub const CSW_RESET_AHB: u32 = 0x0300_0040;
    /// CSW reset value of the APB-AP: DbgSwEnable, DeviceEn (approx).
    pub const CSW_RESET_APB: u32 = 0x8000_0040;
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
    /// Name the virtual probe reports.
    pub const SIM_PROBE_NAME: &str = "h7sh virtual board";
    /// WAIT retries the probe performs before giving up: probe-rs configures CMSIS-DAP probes
    /// with `wait_retry = 0xFFFF` (cmsisdap::attach); the ST-LINK firmware retries likewise.
    pub const WAIT_RETRIES: u32 = 0xFFFF;
    /// Target voltage the virtual probe reports (a NUCLEO-H755ZI-Q runs at 3.3 V).
    pub const TARGET_VOLTAGE: f32 = 3.3;
}
