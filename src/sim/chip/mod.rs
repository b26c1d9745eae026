//! The chip behind the access ports: memory maps per AP, peripherals (modelled ones with their
//! RM0399 semantics, every other one a plain register), both Cortex-M debug models, firmware
//! behaviours and virtual time. See `docs/sim.md`.

pub mod cortex;
pub mod countdown;
pub mod dbgmcu;
pub mod error;
pub mod firmware;
pub mod flash;
pub mod flash_bank;
pub mod hsem;
pub mod iwdg;
pub mod memory;
pub mod pwr;
pub mod rcc;
pub mod regs;
pub mod rom;
pub mod syscfg;
pub mod wwdg;

use std::path::{Path, PathBuf};

pub use cortex::Hold;
pub use error::SimError;
pub use firmware::{Firmware, FwState};
pub use pwr::Supply;

use self::cortex::{Core, CoreEffect};
use self::dbgmcu::Dbgmcu;
use self::firmware::FwRun;
use self::flash::{FlashCtrl, FlashEffect, ObChange, OptionBytes, RdpLevel};
use self::flash_bank::{FlashBank, FlashData, BANK_SIZE};
use self::hsem::Hsem;
use self::iwdg::Iwdg;
use self::memory::{PlainRegs, SparseMem};
use self::pwr::Pwr;
use self::rcc::{Rcc, ResetCause, RsrView};
use self::rom::{CoreKind, RomTable};
use self::wwdg::Wwdg;
use crate::h7::facts::{
    ap, ap_id, coresight as cs, dbgmcu as dbg, flash as fl, hsem as hs, hsem_ext, iwdg as wd, mem,
    mem_ext, pwr as pw, pwr_ext, rcc as rc, rcc_ext, rom as romf, syscfg as sc, syscfg_ur,
    wwdg as ww,
};
use crate::sim::bus::{ApPower, Bus, BusError, Size};
use crate::sim::faults::FaultPlan;
use crate::sim::scenario::Scenario;
use crate::sim::silicon::{BothOff, BusAnswer, SupplyMismatch};
use crate::sim::state::NvState;

/// Index of the CM7 in per-core arrays.
pub const CM7: usize = 0;
/// Index of the CM4 in per-core arrays.
pub const CM4: usize = 1;

/// Granularity of virtual time: firmware and timers act on multiples of this, whatever the
/// chunking of `advance` calls, so runs are deterministic.
pub const TICK_NANOS: u64 = 1_000;

/// IDR of access port `ap` (ADIv5 C2.6.5); 0 for an AP that does not exist.
pub fn ap_idr(ap: u8) -> u32 {
    match ap {
        ap::CM7 | ap::D3 => ap_id::IDR_AHB_AP,
        ap::CM4 => ap_id::IDR_AHB_AP_CM4,
        ap::APB_D => ap_id::IDR_APB_AP,
        _ => 0,
    }
}

/// BASE register of access port `ap` (ADIv5 C2.6.1); 0 for an AP that does not exist.
pub fn ap_base(ap: u8) -> u32 {
    match ap {
        ap::CM7 => ap_id::BASE_AP0,
        ap::D3 => ap_id::BASE_AP1,
        ap::APB_D => ap_id::BASE_AP2,
        ap::CM4 => ap_id::BASE_AP3,
        _ => 0,
    }
}

/// CFG register of access port `ap` (ADIv5 C2.6.2).
pub fn ap_cfg(_ap: u8) -> u32 {
    ap_id::CFG
}

/// Power state of domain D2 (RM0399 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum D2Mode {
    Run,
    Stop,
    Standby,
}

/// Summary of one core for `sim status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreStatus {
    pub firmware: Firmware,
    /// Firmware state name (see docs/sim.md).
    pub state: &'static str,
    pub pc: u32,
    pub hold: Hold,
    pub halted: bool,
    pub lockup: bool,
    pub sleeping: bool,
    pub ap_power: ApPower,
}

/// Where an access lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Volatile RAM at this physical address.
    Ram(u32),
    /// Backup SRAM (RAM, but read-protected by RDP level 1).
    Backup(u32),
    /// Flash at this offset from the bank 1 base.
    Flash(u32),
    /// System memory (read-only).
    SysMem,
    /// Peripheral register space at this address.
    Periph(u32),
    /// Private peripheral bus of core `usize`.
    Ppb(usize, u32),
    /// ST ROM table through AP0.
    StRom(u32),
    /// APB-D component space through AP2.
    ApbD(u32),
}

fn within(addr: u32, (base, len): (u64, u64)) -> bool {
    let a = u64::from(addr);
    a >= base && a < base + len
}

/// The virtual STM32H755 (dual core). Implements [`Bus`] for the DAP model.
pub struct Chip {
    scenario: Scenario,
    now: u64,
    next_tick: u64,
    nv: NvState,
    state_file: Option<PathBuf>,
    save_error: Option<SimError>,
    ram: SparseMem,
    plain: PlainRegs,
    apbd_plain: PlainRegs,
    flash_ctrl: FlashCtrl,
    rcc: Rcc,
    pwr: Pwr,
    dbgmcu: Dbgmcu,
    hsem: Hsem,
    cores: [Core; 2],
    fw: [FwRun; 2],
    nrst: bool,
    /// A debugger requested debug power since the last power-on (RDP level 1 remembers it
    /// until a power-on reset, RM0399 §4.5.3).
    debugger_seen: bool,
    /// PWR_CR3 selected a supply the board does not have: VCORE collapsed, the chip is locked
    /// up and its debug port silent until a power-on reset.
    supply_lost: bool,
    /// The BOOT0 pin (a board jumper, kept across power cycles).
    boot0: bool,
    /// D2 entered Standby (the CM4 restarts when it wakes).
    d2_standby: bool,
    /// D2 is powered off: it entered Standby with DBGMCU_CR.DBGSTBY_D2 = 0, so AP3 has nothing
    /// behind it and the CM4's debug logic is lost, whatever DBGMCU says until D2 wakes.
    d2_off: bool,
    /// IWDG1 (CM7) and IWDG2 (CM4).
    iwdg: [Iwdg; 2],
    /// WWDG1 (CM7) and WWDG2 (CM4).
    wwdg: [Wwdg; 2],
    /// The flash interface of bank 1 and bank 2.
    banks: [FlashBank; 2],
    /// Flash words programmed since the state file was last written (it is written when the
    /// bank is locked again, an erase completes or the option bytes change).
    flash_unsaved: bool,
}

impl Chip {
    /// A board in the scenario's factory state, powered on, without persistence.
    pub fn new(scenario: &Scenario) -> Result<Chip, SimError> {
        Ok(Self::from_nv(
            scenario,
            NvState::from_scenario(scenario),
            None,
        ))
    }

    /// A board whose non-volatile state lives in `path`: loaded when the file exists (a corrupt
    /// file is an error), created from the scenario otherwise; rewritten atomically whenever the
    /// non-volatile state changes.
    pub fn with_state_file(scenario: &Scenario, path: &Path) -> Result<Chip, SimError> {
        let (nv, fresh) = match NvState::load(path)? {
            Some(nv) => (nv, false),
            None => (NvState::from_scenario(scenario), true),
        };
        let mut chip = Self::from_nv(scenario, nv, Some(path.to_path_buf()));
        if fresh {
            chip.nv.save(path)?;
        }
        Ok(chip)
    }

    fn from_nv(scenario: &Scenario, nv: NvState, state_file: Option<PathBuf>) -> Chip {
        let fw = |c: &crate::sim::scenario::CoreConfig, base| {
            FwRun::new(c.firmware, base, c.supply_config)
        };
        let mut chip = Chip {
            scenario: scenario.clone(),
            now: 0,
            next_tick: TICK_NANOS,
            flash_ctrl: FlashCtrl::after_reset(&nv.ob),
            nv,
            state_file,
            save_error: None,
            ram: SparseMem::new(0),
            plain: PlainRegs::with_reset_values(memory::board_reset_words()),
            apbd_plain: PlainRegs::default(),
            rcc: Rcc::new(),
            pwr: Pwr::new(scenario.supply),
            dbgmcu: Dbgmcu::new(scenario.dbgmcu_cr),
            hsem: Hsem::new(),
            cores: [Core::new(CoreKind::Cm7), Core::new(CoreKind::Cm4)],
            fw: [
                fw(&scenario.cm7, 0x0800_0000),
                fw(&scenario.cm4, 0x0810_0000),
            ],
            nrst: false,
            debugger_seen: false,
            supply_lost: false,
            boot0: scenario.boot0,
            d2_standby: false,
            d2_off: false,
            iwdg: [Iwdg::default(), Iwdg::default()],
            wwdg: [Wwdg::default(), Wwdg::default()],
            banks: [FlashBank::after_reset(), FlashBank::after_reset()],
            flash_unsaved: false,
        };
        chip.power_on();
        chip
    }

    // ----- board-level accessors for the shell's `sim` command -----

    /// The scenario this board was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Scenario name.
    pub fn scenario_name(&self) -> &str {
        &self.scenario.name
    }

    /// Wire faults the DAP model should inject.
    pub fn fault_plan(&self) -> FaultPlan {
        self.scenario.faults.clone()
    }

    /// Advance virtual time by `ms` milliseconds (`sim wait MS`).
    pub fn wait_ms(&mut self, ms: u64) {
        self.advance(ms.saturating_mul(1_000_000));
    }

    /// Status of core `core` (`CM7` = 0, `CM4` = 1); `None` for another index.
    pub fn core_status(&self, core: usize) -> Option<CoreStatus> {
        let c = self.cores.get(core)?;
        let f = self.fw[core];
        Some(CoreStatus {
            firmware: f.firmware,
            state: f.state.name(),
            pc: c.r[15],
            hold: c.hold,
            halted: c.halted,
            lockup: c.lockup,
            sleeping: c.sleeping,
            ap_power: self.ap_power(if core == CM7 { ap::CM7 } else { ap::CM4 }),
        })
    }

    /// Firmware state of core `core`.
    pub fn firmware_state(&self, core: usize) -> Option<FwState> {
        self.fw.get(core).map(|f| f.state)
    }

    /// A core register by DCRSR REGSEL, as the debugger would read it when halted.
    pub fn core_register(&self, core: usize, regsel: u32) -> Option<u32> {
        self.cores.get(core)?.reg(regsel)
    }

    /// Power state of D2.
    pub fn d2_mode(&self) -> D2Mode {
        let c = &self.cores[CM4];
        if c.hold == Hold::None && c.sleeping && c.deep_sleep && !c.halted {
            let pdds = self.pwr.read(pw::CPU2CR).unwrap_or(0) & pw::CPUCR_PDDS_D2 != 0;
            if pdds {
                D2Mode::Standby
            } else {
                D2Mode::Stop
            }
        } else {
            D2Mode::Run
        }
    }

    /// Current option bytes (what OPTSR_CUR etc. show).
    pub fn option_bytes(&self) -> OptionBytes {
        self.nv.ob
    }

    /// The last error saving the state file, if any (saving never panics or aborts an access).
    pub fn state_error(&self) -> Option<&SimError> {
        self.save_error.as_ref()
    }

    /// The state file, if the board has one.
    pub fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// True while NRST is asserted.
    pub fn reset_pin(&self) -> bool {
        self.nrst
    }

    // ----- reset and power -----

    fn power_on(&mut self) {
        self.debugger_seen = false;
        self.supply_lost = false;
        self.d2_standby = false;
        self.d2_off = false;
        self.now = 0;
        self.next_tick = TICK_NANOS;
        self.ram.clear();
        self.plain.clear();
        self.apbd_plain.clear();
        self.rcc = Rcc::new();
        self.pwr = Pwr::new(self.scenario.supply);
        self.dbgmcu = Dbgmcu::new(self.scenario.dbgmcu_cr);
        for c in &mut self.cores {
            c.power_on_reset();
        }
        self.rcc.power_on();
        self.reset_system(None);
    }

    /// System reset (RM0399 §9.4.2): both cores, the peripherals; option bytes reloaded.
    fn reset_system(&mut self, cause: Option<ResetCause>) {
        // A system reset resets D2 too: whatever Standby left is gone.
        self.d2_standby = false;
        self.d2_off = false;
        self.flash_ctrl = FlashCtrl::after_reset(&self.nv.ob);
        self.banks = [FlashBank::after_reset(), FlashBank::after_reset()];
        if self.flash_unsaved {
            self.save_nv();
        }
        if let Some(cause) = cause {
            self.rcc.reset(cause);
        }
        self.pwr.reset();
        self.hsem = Hsem::new();
        // Hardware watchdogs (IWDGx_SW = 0) start counting at every reset.
        let ob = self.nv.ob;
        self.iwdg = [CM7, CM4].map(|i| Iwdg::after_reset(!ob.iwdg_sw(i == CM7)));
        self.wwdg = [Wwdg::default(), Wwdg::default()];
        self.plain.clear();
        for c in &mut self.cores {
            c.core_reset();
        }
        if self.nrst {
            for c in &mut self.cores {
                c.hold = Hold::Reset;
            }
            return;
        }
        let ob = self.nv.ob;
        // With both boot options off the CM7 boots anyway, unless the scenario says otherwise
        // (`[silicon] both_boot_off`: RM0399 does not say).
        let bcm7 = ob.bcm7() || (!ob.bcm4() && self.scenario.silicon.both_boot_off == BothOff::Cm7);
        for (i, boots) in [(CM7, bcm7), (CM4, ob.bcm4())] {
            if boots {
                self.start_core(i);
            } else {
                self.cores[i].hold = Hold::Gated;
                self.fw[i] = FwRun::new(
                    self.fw[i].firmware,
                    self.boot_addr(i),
                    self.fw[i].supply_config,
                );
            }
        }
    }

    fn boot_addr(&self, i: usize) -> u32 {
        let ob = &self.nv.ob;
        match (i == CM7, self.boot0) {
            (true, false) => ob.cm7_boot_addr(),
            (true, true) => ob.cm7_boot_addr1(),
            (false, false) => ob.cm4_boot_addr(),
            (false, true) => ob.cm4_boot_addr1(),
        }
    }

    /// The BOOT0 pin: 1 boots each core from its BCMx_ADD1 address at the next reset.
    pub fn set_boot0(&mut self, high: bool) {
        self.boot0 = high;
    }

    /// The BOOT0 pin level.
    pub fn boot0(&self) -> bool {
        self.boot0
    }

    /// After a PWR_CR3 write: a supply configuration the board cannot feed locks the chip up
    /// and silences its debug port (ST's knowledge base; `[silicon] supply_mismatch`).
    fn check_supply(&mut self) {
        if !self.pwr.actvosrdy() && self.scenario.silicon.supply_mismatch == SupplyMismatch::Lockup
        {
            self.supply_lost = true;
        }
    }

    /// The CM4 entered D2 Standby. Without DBGSTBY_D2 the domain powers off: the CM4's debug
    /// logic is lost (DHCSR, DEMCR, breakpoints) and AP3 goes silent.
    fn enter_d2_standby(&mut self) {
        self.d2_standby = true;
        if !self.dbgmcu.has(dbg::DBGSTBY_D2) {
            self.d2_off = true;
            self.wwdg[CM4] = Wwdg::default();
            let c = &mut self.cores[CM4];
            let (pc, sp) = (c.r[15], c.msp);
            c.power_on_reset();
            // What the debugger would see if it could look: the core stays where it slept.
            c.r[15] = pc;
            c.msp = sp;
            c.sleeping = true;
            c.deep_sleep = true;
        }
    }

    /// D2 wakes from Standby: the domain powers on, the CM4 restarts from its boot address
    /// (debug registers kept only if DBGSTBY_D2 kept D2 powered), PWR's SBF_D2 and RCC's
    /// D2RSTF say so.
    fn wake_d2_from_standby(&mut self) {
        self.d2_standby = false;
        self.d2_off = false;
        // The domain's power-on resets its peripherals, WWDG2 included.
        self.wwdg[CM4] = Wwdg::default();
        self.pwr.set_sbf_d2();
        self.rcc.note_partial_reset(rc::RSR_D2RSTF | rc::RSR_C2RSTF);
        self.core_reset(CM4);
    }

    /// The firmware core `i` runs from `base`: ST's bootloader in system memory, the
    /// scenario's behaviour elsewhere.
    fn firmware_at(&self, i: usize, base: u32) -> Firmware {
        if within(base, mem::SYSTEM_MEMORY) {
            Firmware::Idle
        } else if i == CM7 {
            self.scenario.cm7.firmware
        } else {
            self.scenario.cm4.firmware
        }
    }

    /// Release core `i` from reset: vector fetch, firmware from the start.
    fn start_core(&mut self, i: usize) {
        let base = self.boot_addr(i);
        let ap = Self::core_ap(i);
        let fetch = |chip: &Chip, a: u32| chip.fetch(ap, a);
        let sp = fetch(self, base);
        let pc = fetch(self, base.wrapping_add(4));
        let usable = match (sp, pc) {
            (Some(_), Some(pc)) => {
                pc & 1 == 1 && pc != u32::MAX && self.fetch(ap, pc & !1).is_some()
            }
            _ => false,
        };
        let firmware = self.firmware_at(i, base);
        self.fw[i] = FwRun::new(firmware, base, self.fw[i].supply_config);
        self.cores[i].start(base, sp.unwrap_or(0), pc.unwrap_or(u32::MAX), usable);
    }

    fn core_ap(i: usize) -> u8 {
        if i == CM7 {
            ap::CM7
        } else {
            ap::CM4
        }
    }

    /// A word as the core itself fetches it (no debugger RDP rules); `None` = bus fault.
    fn fetch(&self, ap: u8, addr: u32) -> Option<u32> {
        match self.decode(ap, addr).ok()? {
            Target::Ram(a) | Target::Backup(a) => Some(self.ram.read(a, 4)),
            Target::Flash(_) if self.flash_locked_for_cpus() => None,
            Target::Flash(off) => Some(self.nv.flash.read(off, 4)),
            Target::SysMem => self.system_memory_word(ap, addr & !3).ok(),
            _ => None,
        }
    }

    /// A reset of core `i` alone (VECTRESET, its window watchdog, D2 leaving Standby): it
    /// restarts from its boot address, unless NRST holds it in reset.
    fn core_reset(&mut self, i: usize) {
        self.cores[i].core_reset();
        if self.nrst {
            self.cores[i].hold = Hold::Reset;
            return;
        }
        self.start_core(i);
    }

    // ----- address decoding -----

    fn decode(&self, ap_n: u8, addr: u32) -> Result<Target, BusError> {
        let ram_regions = [
            mem::AXI_SRAM,
            mem::SRAM1,
            mem::SRAM2,
            mem::SRAM3,
            mem::SRAM4,
        ];
        let shared = |addr: u32| -> Option<Target> {
            if ram_regions.iter().any(|r| within(addr, *r)) {
                Some(Target::Ram(addr))
            } else if within(addr, mem::BACKUP_SRAM) {
                Some(Target::Backup(addr))
            } else if within(addr, mem::FLASH_BANK1) || within(addr, mem::FLASH_BANK2) {
                Some(Target::Flash(addr - mem::FLASH_BANK1.0 as u32))
            } else if within(addr, mem::SYSTEM_MEMORY) {
                Some(Target::SysMem)
            } else if within(addr, mem::PERIPHERALS) {
                Some(Target::Periph(addr))
            } else {
                None
            }
        };
        let t = match ap_n {
            ap::CM7 => {
                if within(addr, mem::ITCM) || within(addr, mem::DTCM) {
                    Some(Target::Ram(addr))
                } else if within(addr, (romf::ST_ROM_AP0, 0x1000)) {
                    Some(Target::StRom(addr))
                } else if within(addr, mem::PPB) {
                    Some(Target::Ppb(CM7, addr))
                } else {
                    shared(addr)
                }
            }
            ap::CM4 => {
                if within(addr, mem_ext::CM4_SRAM_ALIAS) {
                    let off = addr - mem_ext::CM4_SRAM_ALIAS.0 as u32;
                    Some(Target::Ram(mem::SRAM1.0 as u32 + off))
                } else if within(addr, mem::PPB) {
                    Some(Target::Ppb(CM4, addr))
                } else {
                    shared(addr)
                }
            }
            ap::D3 => {
                if within(addr, mem::SRAM4) {
                    Some(Target::Ram(addr))
                } else if within(addr, mem::BACKUP_SRAM) {
                    Some(Target::Backup(addr))
                } else if within(addr, mem_ext::D3_PERIPHERALS) {
                    Some(Target::Periph(addr))
                } else {
                    None
                }
            }
            ap::APB_D => {
                let block = u64::from(addr & !0xFFF);
                let known = [
                    romf::SYS_ROM_APBD,
                    dbg::BASE_APBD,
                    cs::SWO,
                    cs::SWO_FUNNEL,
                    cs::SYS_ROM2,
                    cs::CTI_APBD,
                    cs::CS_FUNNEL,
                    cs::ETF,
                    cs::TPIU,
                ];
                known.contains(&block).then_some(Target::ApbD(addr))
            }
            _ => None,
        };
        t.ok_or(BusError::Unmapped(addr))
    }

    /// A word of system memory: the device electronic signature (unique ID, flash size) where
    /// silicon has it, zeros for the rest (ST's bootloader code is not modelled). The CM4 cannot
    /// read the flash-size register (a bus error, as reported on H745/H755 parts; docs/sim.md).
    fn system_memory_word(&self, ap_n: u8, word_addr: u32) -> Result<u32, BusError> {
        let uid = mem_ext::UID_BASE as u32;
        let flash_size = mem_ext::FLASHSIZE_BASE as u32;
        let vectors = mem::SYSTEM_MEMORY.0 as u32;
        if let Some(i) = word_addr.checked_sub(vectors).map(|o| (o / 4) as usize) {
            if let Some(w) = firmware::bootloader::VECTOR.get(i) {
                return Ok(*w);
            }
        }
        if word_addr == flash_size {
            if ap_n == ap::CM4 {
                return Err(BusError::Refused(word_addr));
            }
            return Ok(mem_ext::FLASHSIZE_KIB);
        }
        match word_addr.checked_sub(uid).map(|o| (o / 4) as usize) {
            Some(i) if i < mem_ext::UID_WORDS.len() => Ok(mem_ext::UID_WORDS[i]),
            _ => Ok(0),
        }
    }

    /// Whose copy of the reset flags RCC_RSR shows to a debugger access: AP3 enters through
    /// the CM4's bus, AP0 and AP1 count as the CM7's side (unverified for AP1).
    fn rsr_view(ap_n: u8) -> RsrView {
        if ap_n == ap::CM4 {
            RsrView::Cm4
        } else {
            RsrView::Cm7
        }
    }

    fn coreid(ap_n: u8) -> u32 {
        match ap_n {
            ap::CM7 => hs::COREID_CM7,
            ap::CM4 => hs::COREID_CM4,
            _ => hsem_ext::COREID_DEBUG_D3,
        }
    }

    /// RCC_CR.D2CKRDY (and what the firmware waits on).
    fn d2_clock_ready(&self) -> bool {
        match self.d2_mode() {
            D2Mode::Run => true,
            D2Mode::Stop => {
                self.scenario.silicon.d2ckrdy_in_debug_stop && self.dbgmcu.has(dbg::DBGSTOP_D2)
            }
            D2Mode::Standby => false,
        }
    }

    fn rdp_blocks_debug(&self) -> bool {
        self.nv.ob.rdp() == RdpLevel::L1
    }

    /// RDP level 1 with a debugger seen since power-on: the flash answers neither the debugger
    /// nor the CPUs (RM0399 §4.5.3), so the firmware stops at its next fetch and a reset cannot
    /// bring it back; only a power-on reset without the probe does.
    fn flash_locked_for_cpus(&self) -> bool {
        self.debugger_seen && self.rdp_blocks_debug() && self.scenario.silicon.rdp1_debug_lock
    }

    /// A running core whose next fetch is from locked flash, if any.
    fn core_fetching_locked_flash(&self) -> Option<usize> {
        if !self.flash_locked_for_cpus() {
            return None;
        }
        [CM7, CM4].into_iter().find(|&i| {
            let c = &self.cores[i];
            let in_flash = within(c.r[15], mem::FLASH_BANK1) || within(c.r[15], mem::FLASH_BANK2);
            c.running() && !c.sleeping && in_flash
        })
    }

    /// The fetch from locked flash faults, and so does the HardFault vector fetch: lockup.
    fn lock_up_on_locked_flash(&mut self) {
        while let Some(i) = self.core_fetching_locked_flash() {
            let hardfault_vector = self.cores[i].vtor.wrapping_add(12);
            let handler = self
                .nv
                .flash
                .read(hardfault_vector.wrapping_sub(mem::FLASH_BANK1.0 as u32), 4);
            self.set_state(i, FwState::LockedUp);
            self.cores[i].enter_lockup(handler | 1);
        }
    }

    /// Trace components on AP2 without their debug clock (DBGMCU_CR.D3DBGCKEN for SWO and its
    /// funnel, D1DBGCKEN for the CTI, CoreSight funnel, ETF and TPIU of the second system ROM
    /// table; the split follows the address map, unverified). ROM tables and DBGMCU always
    /// answer.
    fn trace_unclocked(&self, block: u64) -> bool {
        let needs = if block == cs::SWO || block == cs::SWO_FUNNEL {
            dbg::D3DBGCKEN
        } else if [cs::CTI_APBD, cs::CS_FUNNEL, cs::ETF, cs::TPIU].contains(&block) {
            dbg::D1DBGCKEN
        } else {
            return false;
        };
        !self.dbgmcu.has(needs)
    }

    // ----- word-wide device access -----

    fn dev_read(&mut self, ap_n: u8, t: Target, side_effects: bool) -> u32 {
        match t {
            Target::Periph(a) => self.periph_read(ap_n, a, side_effects),
            Target::Ppb(i, a) => self.cores[i].read(a, side_effects),
            Target::StRom(a) => RomTable::StAp0.read(u64::from(a & 0xFFF)),
            Target::ApbD(a) => {
                let block = u64::from(a & !0xFFF);
                let off = u64::from(a & 0xFFF);
                if block == romf::SYS_ROM_APBD {
                    RomTable::System.read(off)
                } else if block == cs::SYS_ROM2 {
                    RomTable::System2.read(off)
                } else if let Some(v) = rom::apbd_component(block)
                    .filter(|_| rom::is_id_offset(off))
                    .and_then(|id| id.register(off))
                {
                    v
                } else if block == dbg::BASE_APBD {
                    self.dbgmcu.read(off)
                } else {
                    self.apbd_plain.read(a)
                }
            }
            Target::Ram(_) | Target::Backup(_) | Target::Flash(_) | Target::SysMem => 0,
        }
    }

    fn dev_write(&mut self, ap_n: u8, t: Target, value: u32) {
        match t {
            Target::Periph(a) => self.periph_write(ap_n, a, value),
            Target::Ppb(i, a) => match self.cores[i].write(a, value) {
                CoreEffect::None | CoreEffect::Halted => {}
                CoreEffect::SystemReset => {
                    self.reset_system(Some(ResetCause::Software { cm7: i == CM7 }))
                }
                CoreEffect::CoreReset => self.core_reset(i),
            },
            Target::StRom(_) => {}
            Target::ApbD(a) => {
                let block = u64::from(a & !0xFFF);
                let off = u64::from(a & 0xFFF);
                if block == romf::SYS_ROM_APBD
                    || block == cs::SYS_ROM2
                    || (rom::apbd_component(block).is_some() && rom::is_id_offset(off))
                {
                } else if block == dbg::BASE_APBD {
                    self.dbgmcu.write(off, value);
                } else {
                    self.apbd_plain.write(a, value);
                }
            }
            Target::Ram(_) | Target::Backup(_) | Target::Flash(_) | Target::SysMem => {}
        }
    }

    fn periph_read(&mut self, ap_n: u8, a: u32, side_effects: bool) -> u32 {
        let addr = u64::from(a);
        let off_in =
            |base: u64, size: u64| (addr >= base && addr < base + size).then(|| addr - base);
        let modelled = if let Some((k, reg)) = off_in(fl::BASE, 0x1000).and_then(flash_bank_reg) {
            self.banks[k].read(reg)
        } else if let Some(off) = off_in(fl::BASE, 0x1000) {
            self.flash_ctrl.read(off, &self.nv.ob)
        } else if let Some(off) = off_in(rc::BASE, rcc_ext::SIZE) {
            self.rcc
                .read(off, Self::rsr_view(ap_n), true, self.d2_clock_ready())
        } else if let Some(off) = off_in(pw::BASE, pwr_ext::SIZE) {
            self.pwr.read(off)
        } else if let Some(off) = off_in(hs::BASE, hsem_ext::SIZE) {
            Some(self.hsem.read(off, Self::coreid(ap_n), side_effects))
        } else if let Some(off) = off_in(wd::IWDG1, wd::SIZE) {
            self.iwdg[CM7].read(off)
        } else if let Some(off) = off_in(wd::IWDG2, wd::SIZE) {
            self.iwdg[CM4].read(off)
        } else if let Some(off) = off_in(ww::WWDG1, ww::SIZE) {
            self.wwdg[CM7].read(off)
        } else if let Some(off) = off_in(ww::WWDG2, ww::SIZE) {
            self.wwdg[CM4].read(off)
        } else if let Some(off) = off_in(sc::BASE, syscfg_ur::SIZE) {
            syscfg::ur_index(off).and_then(|n| syscfg::user_register(n, &self.nv.ob))
        } else {
            off_in(dbg::BASE_SYSBUS, 0x1000).map(|off| {
                rom::apbd_component(dbg::BASE_APBD)
                    .filter(|_| rom::is_id_offset(off))
                    .and_then(|id| id.register(off))
                    .unwrap_or_else(|| self.dbgmcu.read(off))
            })
        };
        modelled.unwrap_or_else(|| self.plain.read(a))
    }

    fn periph_write(&mut self, ap_n: u8, a: u32, value: u32) {
        let addr = u64::from(a);
        let off_in =
            |base: u64, size: u64| (addr >= base && addr < base + size).then(|| addr - base);
        let handled = if let Some((k, reg)) = off_in(fl::BASE, 0x1000).and_then(flash_bank_reg) {
            let wpsn = self.nv.ob.wpsn[k];
            let protected = move |n: u32| wpsn & (1 << n) == 0;
            let now = self.now;
            match self.banks[k].write(reg, value, now, &protected) {
                Some(data) => {
                    if let Some(d) = data {
                        self.apply_flash_data(k, d);
                    }
                    if reg == fl::CR1 && value & flash_bank::cr::LOCK != 0 && self.flash_unsaved {
                        self.save_nv();
                    }
                    true
                }
                None => false,
            }
        } else if let Some(off) = off_in(fl::BASE, 0x1000) {
            match self.flash_ctrl.write(off, value, self.now, &self.nv.ob) {
                Some(FlashEffect::MassErase) => {
                    self.nv.flash.clear();
                    self.save_nv();
                    true
                }
                Some(FlashEffect::None) => true,
                None => false,
            }
        } else if let Some(off) = off_in(rc::BASE, rcc_ext::SIZE) {
            match self.rcc.write(off, Self::rsr_view(ap_n), value) {
                Some(e) => {
                    if e.boot_c1 && self.cores[CM7].hold == Hold::Gated {
                        self.start_core(CM7);
                    }
                    if e.boot_c2 && self.cores[CM4].hold == Hold::Gated {
                        self.start_core(CM4);
                    }
                    true
                }
                None => false,
            }
        } else if let Some(off) = off_in(pw::BASE, pwr_ext::SIZE) {
            let handled = self.pwr.write(off, value).is_some();
            self.check_supply();
            handled
        } else if let Some(off) = off_in(hs::BASE, hsem_ext::SIZE) {
            self.hsem.write(off, value, Self::coreid(ap_n));
            true
        } else if let Some(off) = off_in(wd::IWDG1, wd::SIZE) {
            self.iwdg[CM7].write(off, value).is_some()
        } else if let Some(off) = off_in(wd::IWDG2, wd::SIZE) {
            self.iwdg[CM4].write(off, value).is_some()
        } else if let Some((k, off)) = off_in(ww::WWDG1, ww::SIZE)
            .map(|o| (CM7, o))
            .or_else(|| off_in(ww::WWDG2, ww::SIZE).map(|o| (CM4, o)))
        {
            match self.wwdg[k].write(off, value) {
                Some(true) => {
                    self.wwdg_reset(k);
                    true
                }
                Some(false) => true,
                None => false,
            }
        } else if let Some(off) = off_in(sc::BASE, syscfg_ur::SIZE) {
            // UR registers are read-only mirrors.
            syscfg::ur_index(off).is_some()
        } else if let Some(off) = off_in(dbg::BASE_SYSBUS, 0x1000) {
            if !rom::is_id_offset(off) {
                self.dbgmcu.write(off, value);
            }
            true
        } else {
            false
        };
        if !handled {
            self.plain.write(a, value);
        }
    }

    // ----- non-volatile state -----

    fn apply_option_bytes(&mut self, new: OptionBytes, change: ObChange) {
        self.nv.ob = new;
        if change.mass_erase {
            self.nv.flash.clear();
        }
        if new.rdp() == RdpLevel::L2 {
            // RM0399 §4.5.3: level 2 disables the debug port for good.
            self.nv.debug_disabled = true;
        }
        self.save_nv();
    }

    /// A flash word programmed (its bits can only go from 1 to 0: NOR flash) or a range erased
    /// in bank `k`.
    fn apply_flash_data(&mut self, k: usize, d: FlashData) {
        let base = k as u32 * BANK_SIZE;
        match d {
            FlashData::Program { offset, bytes } => {
                for (i, b) in bytes.iter().enumerate() {
                    let at = base + offset + i as u32;
                    let old = self.nv.flash.read_u8(at);
                    self.nv.flash.write_u8(at, old & b);
                }
                self.flash_unsaved = true;
            }
            FlashData::Erase { offset, len } => {
                self.nv.flash.clear_range(base + offset, len);
                self.save_nv();
            }
        }
    }

    fn save_nv(&mut self) {
        self.flash_unsaved = false;
        if let Some(path) = &self.state_file {
            match self.nv.save(path) {
                Ok(()) => self.save_error = None,
                Err(e) => self.save_error = Some(e),
            }
        }
    }

    // ----- time -----

    /// A watchdog stands still while a halted core's DBGMCU freeze bit for it is set: IWDGk in
    /// APB4FZ1/2 (DBG_WDGLSD1/2), WWDG1 in APB3FZ1/2, WWDG2 in APB1LFZ1/2 (the bits OpenOCD's
    /// stm32h7x.cfg sets). `k`: CM7 = watchdog 1, CM4 = watchdog 2.
    fn watchdog_frozen(&self, k: usize, window: bool) -> bool {
        // NRST holds the watchdogs in reset with everything else; WWDG2 runs on D2's APB clock,
        // which stops in D2 Stop and Standby.
        if self.nrst || (window && k == CM4 && (self.d2_off || self.d2_mode() != D2Mode::Run)) {
            return true;
        }
        let (regs, bit) = match (window, k == CM7) {
            (false, true) => ([dbg::APB4FZ1, dbg::APB4FZ2], dbg::FZ_WDGLSD1),
            (false, false) => ([dbg::APB4FZ1, dbg::APB4FZ2], dbg::FZ_WDGLSD2),
            (true, true) => ([ww::APB3FZ1, ww::APB3FZ2], ww::FZ_WWDG1),
            (true, false) => ([ww::APB1LFZ1, ww::APB1LFZ2], ww::FZ_WWDG2),
        };
        [CM7, CM4]
            .into_iter()
            .zip(regs)
            .any(|(core, fz)| self.cores[core].halted && self.dbgmcu.read(fz) & bit != 0)
    }

    /// Ticks until the first running watchdog acts (at least 1), if one runs. On every
    /// advance of time: a stopped watchdog costs no freeze lookup.
    fn watchdog_ticks_left(&self) -> Option<u64> {
        let independent = (0..2).filter_map(|k| {
            let left = self.iwdg[k].nanos_left()?;
            (!self.watchdog_frozen(k, false)).then_some(left)
        });
        let window = (0..2).filter_map(|k| {
            let left = self.wwdg[k].nanos_left()?;
            (!self.watchdog_frozen(k, true)).then_some(left)
        });
        independent
            .chain(window)
            .map(|n| n.div_ceil(TICK_NANOS).max(1))
            .min()
    }

    /// `nanos` of watchdog time; an IWDG at its end of count resets the system, a WWDG its CPU
    /// or the system. After a system reset the rest of the time is the new system's.
    fn advance_watchdogs(&mut self, nanos: u64) {
        for k in [CM7, CM4] {
            let iwdg = self.iwdg[k].running() && !self.watchdog_frozen(k, false);
            if iwdg && self.iwdg[k].advance(nanos) {
                self.reset_system(Some(ResetCause::Iwdg { cm7: k == CM7 }));
                return;
            }
            let wwdg = self.wwdg[k].running() && !self.watchdog_frozen(k, true);
            if wwdg && self.wwdg[k].advance(nanos) && self.wwdg_reset(k) {
                return;
            }
        }
    }

    /// WWDG `k` fired: RCC_GCR.WWxRSC = 1 resets the system (true), 0 only its CPU and the
    /// watchdog (RM0399 §46.2).
    fn wwdg_reset(&mut self, k: usize) -> bool {
        let cm7 = k == CM7;
        if self.rcc.wwdg_resets_system(cm7) {
            self.reset_system(Some(ResetCause::Wwdg { cm7 }));
            return true;
        }
        let (flag, core) = if cm7 {
            (rc::RSR_WWDG1RSTF, rc::RSR_C1RSTF)
        } else {
            (rc::RSR_WWDG2RSTF, rc::RSR_C2RSTF)
        };
        self.rcc.note_partial_reset(flag | core);
        self.wwdg[k] = Wwdg::default();
        if k == CM4 {
            self.d2_standby = false;
            self.d2_off = false;
        }
        self.core_reset(k);
        false
    }

    fn tick(&mut self) {
        if let Some((new, change)) = self.flash_ctrl.poll(self.now, &self.nv.ob) {
            self.apply_option_bytes(new, change);
        }
        for k in 0..2 {
            if let Some(Some(d)) = self.banks[k].poll(self.now) {
                self.apply_flash_data(k, d);
            }
        }
        if self.supply_lost {
            return;
        }
        self.advance_watchdogs(TICK_NANOS);
        self.lock_up_on_locked_flash();
        for i in [CM7, CM4] {
            if self.cores[i].running() {
                self.firmware_step(i, TICK_NANOS);
                let c = &mut self.cores[i];
                if !c.sleeping && !c.lockup {
                    c.retire_st = true;
                }
            }
        }
    }

    /// True when no tick can change anything but loop counters until the next bus access.
    fn quiescent(&self) -> bool {
        let flash_busy = self.flash_ctrl.busy() || self.banks.iter().any(FlashBank::busy);
        if self.supply_lost {
            return !flash_busy;
        }
        !flash_busy
            && self.core_fetching_locked_flash().is_none()
            && (0..2).all(|i| {
                let c = &self.cores[i];
                if !c.running() {
                    return true;
                }
                match self.fw[i].state {
                    FwState::Idle
                    | FwState::MainLoop
                    | FwState::ErrorHandler { .. }
                    | FwState::SupplyStuck
                    | FwState::LockedUp => true,
                    FwState::WfiSleep => c.sleeping,
                    FwState::InStop => c.sleeping && self.hsem.misr(i) & 1 == 0,
                    _ => false,
                }
            })
    }

    /// The effect of `n` ticks in a quiescent state (fewer than any running watchdog needs).
    fn bulk_ticks(&mut self, n: u64) {
        if self.supply_lost {
            // Nothing runs: as `tick`, which does nothing then either.
            return;
        }
        self.advance_watchdogs(n * TICK_NANOS);
        for i in [CM7, CM4] {
            let c = &mut self.cores[i];
            if !c.running() {
                continue;
            }
            if matches!(self.fw[i].state, FwState::Idle | FwState::MainLoop) {
                c.r[4] = c.r[4].wrapping_add(n as u32);
            }
            if !c.sleeping && !c.lockup {
                c.retire_st = true;
            }
        }
    }

    /// Bus access checks common to reads and writes.
    fn access(&self, ap_n: u8, addr: u32, size: Size) -> Result<Option<Target>, BusError> {
        if self.nv.debug_disabled || ap_n >= ap::COUNT {
            return Err(BusError::Refused(addr));
        }
        match self.ap_power(ap_n) {
            ApPower::Up => {}
            ApPower::Gated => return Ok(None),
            ApPower::Unclocked => return Err(BusError::Refused(addr)),
            ApPower::Stalled => return Err(BusError::Stalled(addr)),
        }
        if !addr.is_multiple_of(size.bytes()) {
            return Err(BusError::Refused(addr));
        }
        let t = self.decode(ap_n, addr)?;
        let answer = match t {
            Target::ApbD(a) => self
                .trace_unclocked(u64::from(a & !0xFFF))
                .then_some(self.scenario.silicon.trace_clock_off),
            // NRST holds the AXI/AHB masters and slaves in reset; the cores' debug logic (PPB,
            // ROM tables) and the APB-D stay up (OpenOCD reads DBGMCU through AP2 for that).
            Target::Ppb(..) | Target::StRom(_) => None,
            _ if self.nrst => Some(self.scenario.silicon.nrst_bus),
            _ => None,
        };
        match answer {
            None => Ok(Some(t)),
            Some(BusAnswer::Zeros) => Ok(None),
            Some(BusAnswer::Fault) => Err(BusError::Refused(addr)),
            Some(BusAnswer::Wait) => Err(BusError::Stalled(addr)),
        }
    }
}

/// A FLASH register offset that belongs to a bank's interface: (bank, its bank-1 offset).
fn flash_bank_reg(off: u64) -> Option<(usize, u64)> {
    let (k, reg) = if off >= fl::BANK2_OFFSET {
        (1, off - fl::BANK2_OFFSET)
    } else {
        (0, off)
    };
    matches!(reg, fl::KEYR1 | fl::CR1 | fl::SR1 | fl::CCR1).then_some((k, reg))
}

fn lane(addr: u32, size: Size) -> (u32, u32) {
    let shift = 8 * (addr & 3);
    let mask = match size {
        Size::U8 => 0xFF,
        Size::U16 => 0xFFFF,
        Size::U32 => u32::MAX,
    };
    (shift, mask)
}

impl Bus for Chip {
    fn read(&mut self, ap_n: u8, addr: u32, size: Size) -> Result<u32, BusError> {
        let Some(t) = self.access(ap_n, addr, size)? else {
            return Ok(0);
        };
        let n = size.bytes();
        match t {
            Target::Ram(a) => Ok(self.ram.read(a, n)),
            Target::Backup(a) if !self.rdp_blocks_debug() => Ok(self.ram.read(a, n)),
            Target::Flash(off) if !self.rdp_blocks_debug() => Ok(self.nv.flash.read(off, n)),
            Target::Backup(_) | Target::Flash(_) => Err(BusError::Refused(addr)),
            Target::SysMem => {
                let word = self.system_memory_word(ap_n, addr & !3)?;
                let (shift, mask) = lane(addr, size);
                Ok((word >> shift) & mask)
            }
            dev => {
                let word_t = match dev {
                    Target::Periph(a) => Target::Periph(a & !3),
                    Target::Ppb(i, a) => Target::Ppb(i, a & !3),
                    Target::StRom(a) => Target::StRom(a & !3),
                    Target::ApbD(a) => Target::ApbD(a & !3),
                    other => other,
                };
                let w = self.dev_read(ap_n, word_t, true);
                let (shift, mask) = lane(addr, size);
                Ok((w >> shift) & mask)
            }
        }
    }

    fn write(&mut self, ap_n: u8, addr: u32, size: Size, value: u32) -> Result<(), BusError> {
        let Some(t) = self.access(ap_n, addr, size)? else {
            return Ok(());
        };
        let n = size.bytes();
        match t {
            Target::Ram(a) | Target::Backup(a) => {
                self.ram.write(a, n, value);
                Ok(())
            }
            // Flash takes writes only inside a programming sequence of its bank's interface.
            Target::Flash(_) if self.rdp_blocks_debug() => Err(BusError::Refused(addr)),
            Target::Flash(off) => {
                let k = (off / BANK_SIZE) as usize;
                let wpsn = self.nv.ob.wpsn[k.min(1)];
                let protected = move |s: u32| wpsn & (1 << s) == 0;
                let now = self.now;
                match self.banks[k.min(1)].data_write(off % BANK_SIZE, n, value, now, &protected) {
                    Ok(Some(d)) => {
                        self.apply_flash_data(k, d);
                        Ok(())
                    }
                    Ok(None) => Ok(()),
                    Err(_) => Err(BusError::Refused(addr)),
                }
            }
            Target::SysMem => Err(BusError::Refused(addr)),
            dev => {
                let word_t = match dev {
                    Target::Periph(a) => Target::Periph(a & !3),
                    Target::Ppb(i, a) => Target::Ppb(i, a & !3),
                    Target::StRom(a) => Target::StRom(a & !3),
                    Target::ApbD(a) => Target::ApbD(a & !3),
                    other => other,
                };
                let (shift, mask) = lane(addr, size);
                let word = if size == Size::U32 {
                    value
                } else {
                    // Sub-word write: merge into the current register value (no read side effects).
                    let cur = self.dev_read(ap_n, word_t, false);
                    (cur & !(mask << shift)) | ((value & mask) << shift)
                };
                self.dev_write(ap_n, word_t, word);
                Ok(())
            }
        }
    }

    fn ap_power(&self, ap_n: u8) -> ApPower {
        let as_power = |answer: BusAnswer| match answer {
            BusAnswer::Zeros => ApPower::Gated,
            BusAnswer::Fault => ApPower::Unclocked,
            BusAnswer::Wait => ApPower::Stalled,
        };
        let silicon = self.scenario.silicon;
        match ap_n {
            ap::CM7 if self.cores[CM7].hold == Hold::Gated => as_power(silicon.gated_ap),
            ap::CM4 => {
                if self.cores[CM4].hold == Hold::Gated {
                    return as_power(silicon.gated_ap);
                }
                if self.d2_off {
                    return as_power(silicon.unclocked_ap);
                }
                match self.d2_mode() {
                    D2Mode::Stop if !self.dbgmcu.has(dbg::DBGSTOP_D2) => {
                        as_power(silicon.unclocked_ap)
                    }
                    D2Mode::Standby if !self.dbgmcu.has(dbg::DBGSTBY_D2) => {
                        as_power(silicon.unclocked_ap)
                    }
                    _ => ApPower::Up,
                }
            }
            n if n < ap::COUNT => ApPower::Up,
            _ => ApPower::Unclocked,
        }
    }

    fn debug_power_request(&mut self, requested: bool) {
        if requested {
            self.debugger_seen = true;
            self.lock_up_on_locked_flash();
        }
    }

    fn debug_port_disabled(&self) -> bool {
        self.nv.debug_disabled || self.supply_lost
    }

    fn advance(&mut self, nanos: u64) {
        let end = self.now.saturating_add(nanos);
        while self.next_tick <= end {
            if self.quiescent() {
                // Nothing can change until a bus access or a watchdog's end of count: jump over
                // the ticks up to whichever comes first, with exactly the effects stepping would
                // have had (determinism).
                let ticks = (end - self.next_tick) / TICK_NANOS + 1;
                let watchdog = self
                    .watchdog_ticks_left()
                    .filter(|_| !self.supply_lost)
                    .unwrap_or(u64::MAX);
                let n = ticks.min(watchdog - 1);
                if n > 0 {
                    self.bulk_ticks(n);
                    let last = self
                        .next_tick
                        .saturating_add((n - 1).saturating_mul(TICK_NANOS));
                    self.next_tick = last.saturating_add(TICK_NANOS);
                    if n == ticks {
                        break;
                    }
                    self.now = last;
                    continue;
                }
            }
            self.now = self.next_tick;
            self.next_tick = self.next_tick.saturating_add(TICK_NANOS);
            self.tick();
            if self.now == u64::MAX {
                break;
            }
        }
        self.now = end;
    }

    fn set_reset_pin(&mut self, asserted: bool) {
        if asserted == self.nrst {
            return;
        }
        self.nrst = asserted;
        if asserted {
            for c in &mut self.cores {
                c.hold = Hold::Reset;
                c.halted = false;
                c.sleeping = false;
                c.deep_sleep = false;
            }
        } else {
            self.reset_system(Some(ResetCause::Pin));
        }
    }

    fn power_cycle(&mut self) {
        // NRST is the board's (probe line, reset button): held through the power cycle, the
        // cores come up in reset.
        self.power_on();
    }

    fn now_nanos(&self) -> u64 {
        self.now
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
