//! Firmware behaviours: what a running core does, as a state machine driven by virtual time.
//! Cores do not execute Thumb code; each state shows a documented PC (relative to the core's boot
//! address) so `regs` tells where the firmware is.

use super::{Chip, CM4, CM7};
use crate::h7::facts::{hsem, pwr, rcc};
use crate::sim::chip::pwr::Supply;
use crate::sim::chip::rcc::RsrView;

/// Virtual time of reset handler + SystemInit before the firmware's main work (approx).
pub const BOOT_NANOS: u64 = 20_000;
/// CM4 template: time from reset to its WFE (HSEM notification set-up) (approx).
pub const CM4_BOOT_NANOS: u64 = 30_000;
/// ST template timeout counter (`timeout = 0xFFFF` in main.c of the CM7).
pub const TEMPLATE_TIMEOUT_LOOPS: u64 = 0xFFFF;
/// Virtual time of one iteration of the template's wait loop at the 64 MHz reset clock (approx).
pub const TEMPLATE_LOOP_NANOS: u64 = 150;
/// The template's timeout in virtual time (≈ 9.8 ms).
pub const TEMPLATE_TIMEOUT_NANOS: u64 = TEMPLATE_TIMEOUT_LOOPS * TEMPLATE_LOOP_NANOS;
/// Time SystemClock_Config takes once the supply is ready (PLL lock etc.) (approx).
pub const CLOCK_CONFIG_NANOS: u64 = 200_000;

/// PCs of the firmware states, as offsets from the core's boot address.
/// ST's system bootloader as the model sees it at 0x1FF0_0000 (its code is not public: approx).
/// A core booting there idles in the bootloader and, unlike application firmware, never
/// touches PWR_CR3: the way out of a wrong supply configuration.
pub mod bootloader {
    /// Initial SP (in AXI SRAM) and reset vector (Thumb) of its vector table.
    pub const VECTOR: [u32; 2] = [0x2400_4000, 0x1FF0_0201];
}

pub mod pc {
    pub const IDLE_LOOP: u32 = 0x200;
    pub const WFI_SLEEP: u32 = 0x210;
    pub const CM7_WAIT_D2_STOP: u32 = 0x300;
    pub const CM7_CONFIG_CLOCKS: u32 = 0x400;
    pub const CM7_SUPPLY_STUCK: u32 = 0x410;
    pub const CM7_WAKE_CM4: u32 = 0x480;
    pub const CM7_WAIT_D2_READY: u32 = 0x500;
    pub const MAIN_LOOP: u32 = 0x600;
    pub const ERROR_HANDLER: u32 = 0x700;
    pub const CM4_ENTER_STOP: u32 = 0x300;
    pub const CM4_AFTER_WFE: u32 = 0x310;
}

/// Error_Handler reason codes, left in r0.
pub mod reason {
    /// The CM4 never reached D2 Stop (D2CKRDY stayed 1).
    pub const CM4_NEVER_STOPPED: u32 = 1;
    /// The CM4 never woke up (D2CKRDY stayed 0 after HSEM 0 was released).
    pub const CM4_NEVER_WOKE: u32 = 2;
}

/// A firmware behaviour, as named in scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Firmware {
    /// Runs and does nothing.
    Idle,
    /// The CM7 half of the ST dual-core template.
    StTemplateCm7,
    /// The CM4 half of the ST dual-core template.
    StTemplateCm4,
    /// The CM4 half of the template with D2 Standby instead of Stop
    /// (`HAL_PWREx_EnterSTANDBYMode(PWR_D2_DOMAIN)`: PDDS_D2 = 1 before the WFE).
    StTemplateCm4Standby,
    /// Locks up right after boot.
    Lockup,
    /// Sleeps in WFI.
    WfiSleep,
}

impl Firmware {
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Idle => "idle",
            Firmware::StTemplateCm7 => "st-template-cm7",
            Firmware::StTemplateCm4 => "st-template-cm4",
            Firmware::StTemplateCm4Standby => "st-template-cm4-standby",
            Firmware::Lockup => "lockup",
            Firmware::WfiSleep => "wfi-sleep",
        }
    }
}

/// Where a firmware is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwState {
    /// Reset handler / SystemInit; `left` nanos of work remain.
    Boot {
        left: u64,
    },
    Idle,
    WfiSleep,
    /// CM7 template: waiting for D2CKRDY = 0.
    WaitD2Stop {
        timeout_left: u64,
    },
    /// CM7 template: SystemClock_Config, `left` nanos once ACTVOSRDY is set.
    ConfigClocks {
        left: u64,
    },
    /// CM7 template: ACTVOSRDY never set (wrong supply configuration): spins for ever.
    SupplyStuck,
    /// CM7 template: take and release HSEM 0.
    WakeCm4,
    /// CM7 template: waiting for D2CKRDY = 1.
    WaitD2Ready {
        timeout_left: u64,
    },
    /// Main loop of either template, or of `idle`.
    MainLoop,
    /// CM7 template: Error_Handler (interrupts off, r0 = reason).
    ErrorHandler {
        reason: u32,
    },
    /// CM4 template: in WFE with D2 Stop requested.
    InStop,
    /// `lockup`: the core has locked up.
    LockedUp,
}

impl FwState {
    pub fn name(self) -> &'static str {
        match self {
            FwState::Boot { .. } => "boot",
            FwState::Idle => "idle",
            FwState::WfiSleep => "wfi-sleep",
            FwState::WaitD2Stop { .. } => "wait-d2-stop",
            FwState::ConfigClocks { .. } => "config-clocks",
            FwState::SupplyStuck => "supply-stuck",
            FwState::WakeCm4 => "wake-cm4",
            FwState::WaitD2Ready { .. } => "wait-d2-ready",
            FwState::MainLoop => "main-loop",
            FwState::ErrorHandler { .. } => "error-handler",
            FwState::InStop => "d2-stop",
            FwState::LockedUp => "lockup",
        }
    }

    /// PC offset from the boot address shown while in this state (`None` = keep the reset PC).
    fn pc_offset(self, fw: Firmware) -> Option<u32> {
        Some(match self {
            FwState::Boot { .. } | FwState::LockedUp => return None,
            FwState::Idle => pc::IDLE_LOOP,
            FwState::WfiSleep => pc::WFI_SLEEP,
            FwState::WaitD2Stop { .. } => pc::CM7_WAIT_D2_STOP,
            FwState::ConfigClocks { .. } => pc::CM7_CONFIG_CLOCKS,
            FwState::SupplyStuck => pc::CM7_SUPPLY_STUCK,
            FwState::WakeCm4 => pc::CM7_WAKE_CM4,
            FwState::WaitD2Ready { .. } => pc::CM7_WAIT_D2_READY,
            FwState::MainLoop => pc::MAIN_LOOP,
            FwState::ErrorHandler { .. } => pc::ERROR_HANDLER,
            FwState::InStop
                if matches!(fw, Firmware::StTemplateCm4 | Firmware::StTemplateCm4Standby) =>
            {
                pc::CM4_AFTER_WFE
            }
            FwState::InStop => pc::CM4_ENTER_STOP,
        })
    }
}

/// A firmware running on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FwRun {
    pub firmware: Firmware,
    pub state: FwState,
    /// Boot address of the core: PCs are relative to it.
    pub base: u32,
    /// What the firmware writes to PWR_CR3 (CM7 template).
    pub supply_config: Supply,
}

impl FwRun {
    pub fn new(firmware: Firmware, base: u32, supply_config: Supply) -> Self {
        let left = match firmware {
            Firmware::StTemplateCm4 => CM4_BOOT_NANOS,
            _ => BOOT_NANOS,
        };
        Self {
            firmware,
            state: FwState::Boot { left },
            base,
            supply_config,
        }
    }
}

impl Chip {
    pub(super) fn set_state(&mut self, i: usize, state: FwState) {
        let fw = &mut self.fw[i];
        fw.state = state;
        if let Some(off) = state.pc_offset(fw.firmware) {
            self.cores[i].r[15] = fw.base.wrapping_add(off);
        }
    }

    /// One tick of the firmware of core `i` (only called while the core runs).
    pub(super) fn firmware_step(&mut self, i: usize, dt: u64) {
        let run = self.fw[i];
        let coreid = if i == CM7 {
            hsem::COREID_CM7
        } else {
            hsem::COREID_CM4
        };
        match run.state {
            FwState::Boot { left } if left > dt => {
                self.fw[i].state = FwState::Boot { left: left - dt };
            }
            FwState::Boot { .. } => match run.firmware {
                Firmware::Idle => self.set_state(i, FwState::Idle),
                Firmware::WfiSleep => self.set_state(i, FwState::WfiSleep),
                Firmware::Lockup => {
                    self.set_state(i, FwState::LockedUp);
                    let pc = run.base.wrapping_add(pc::IDLE_LOOP);
                    self.cores[i].enter_lockup(pc);
                }
                Firmware::StTemplateCm7 => self.set_state(
                    i,
                    FwState::WaitD2Stop {
                        timeout_left: TEMPLATE_TIMEOUT_NANOS,
                    },
                ),
                Firmware::StTemplateCm4 | Firmware::StTemplateCm4Standby => {
                    // HAL_HSEM_ActivateNotification(HSEM 0), then
                    // HAL_PWREx_EnterSTOPMode(..., PWR_STOPENTRY_WFE, PWR_D2_DOMAIN), or
                    // EnterSTANDBYMode(PWR_D2_DOMAIN), which sets PDDS_D2 first.
                    let (ier, _) = Self::hsem_regs(i);
                    let cur = self.hsem.read(ier, coreid, false);
                    self.hsem.write(ier, cur | 1, coreid);
                    if run.firmware == Firmware::StTemplateCm4Standby {
                        let cr = self.pwr.read(pwr::CPU2CR).unwrap_or(0);
                        self.pwr.write(pwr::CPU2CR, cr | pwr::CPUCR_PDDS_D2);
                    }
                    if self.enter_deep_sleep(i) {
                        self.set_state(i, FwState::InStop);
                    }
                }
            },
            FwState::Idle | FwState::MainLoop => {
                self.cores[i].r[4] = self.cores[i].r[4].wrapping_add(1);
            }
            FwState::WfiSleep => {
                // WFI in a loop: after a debug halt/resume it goes back to sleep.
                self.cores[i].sleeping = true;
                self.cores[i].deep_sleep = false;
            }
            FwState::WaitD2Stop { timeout_left } => {
                if !self.d2_clock_ready() {
                    // The template now configures the supply (PWR_CR3 write-once).
                    let cr3 = run.supply_config.cr3_config();
                    self.pwr.write(pwr::CR3, cr3);
                    self.check_supply();
                    self.set_state(
                        i,
                        FwState::ConfigClocks {
                            left: CLOCK_CONFIG_NANOS,
                        },
                    );
                } else if timeout_left <= dt {
                    self.error_handler(i, reason::CM4_NEVER_STOPPED);
                } else {
                    self.fw[i].state = FwState::WaitD2Stop {
                        timeout_left: timeout_left - dt,
                    };
                }
            }
            FwState::ConfigClocks { left } => {
                if !self.pwr.actvosrdy() {
                    self.set_state(i, FwState::SupplyStuck);
                } else if left > dt {
                    self.fw[i].state = FwState::ConfigClocks { left: left - dt };
                } else {
                    // PLL on: RCC_CR.PLL1ON.
                    let cr = self
                        .rcc
                        .read(rcc::CR, RsrView::Cm7, true, true)
                        .unwrap_or(0);
                    self.rcc.write(rcc::CR, RsrView::Cm7, cr | (1 << 24));
                    self.set_state(i, FwState::WakeCm4);
                }
            }
            FwState::SupplyStuck => {}
            FwState::WakeCm4 => {
                // HAL_HSEM_FastTake(0) (one-step lock) then HAL_HSEM_Release(0, 0).
                self.hsem.read(hsem::RLR0, coreid, true);
                self.hsem
                    .write(hsem::R0, coreid << hsem::COREID_SHIFT, coreid);
                self.set_state(
                    i,
                    FwState::WaitD2Ready {
                        timeout_left: TEMPLATE_TIMEOUT_NANOS,
                    },
                );
            }
            FwState::WaitD2Ready { timeout_left } => {
                if self.d2_clock_ready() {
                    self.set_state(i, FwState::MainLoop);
                } else if timeout_left <= dt {
                    self.error_handler(i, reason::CM4_NEVER_WOKE);
                } else {
                    self.fw[i].state = FwState::WaitD2Ready {
                        timeout_left: timeout_left - dt,
                    };
                }
            }
            FwState::ErrorHandler { .. } | FwState::LockedUp => {}
            FwState::InStop => {
                let (_, icr) = Self::hsem_regs(i);
                let notified = self.hsem.misr(i) & 1 != 0;
                if notified && i == CM4 && self.d2_standby {
                    // D2 leaves Standby through a power-on of the domain: the CM4 restarts
                    // from its boot address (RM0399 §7.4: SBF_D2, D2RSTF).
                    self.hsem.write(icr, 1, coreid);
                    self.wake_d2_from_standby();
                } else if notified || !self.cores[i].sleeping {
                    // Woken (HSEM notification, or a debug halt): clear the flag, run.
                    self.cores[i].sleeping = false;
                    self.cores[i].deep_sleep = false;
                    self.d2_standby = false;
                    self.hsem.write(icr, 1, coreid);
                    self.set_state(i, FwState::MainLoop);
                }
            }
        }
    }

    /// (IER, ICR) of the HSEM interrupt line of core `i`.
    fn hsem_regs(i: usize) -> (u64, u64) {
        if i == CM4 {
            (hsem::C2IER, hsem::C2ICR)
        } else {
            (hsem::C1IER, hsem::C1ICR)
        }
    }

    /// WFE with SLEEPDEEP. False when the option bytes make D2's low-power entry a reset
    /// (NRST_STOP_D2 / NRST_STBY_D2 = 0) and the system reset instead.
    fn enter_deep_sleep(&mut self, i: usize) -> bool {
        if i == CM4 {
            let standby = self.pwr.read(pwr::CPU2CR).unwrap_or(0) & pwr::CPUCR_PDDS_D2 != 0;
            if !self.nv.ob.d2_low_power_allowed(standby) {
                self.reset_system(Some(super::rcc::ResetCause::LowPower { cm7: false }));
                return false;
            }
        }
        let c = &mut self.cores[i];
        c.sleeping = true;
        c.deep_sleep = true;
        self.pwr.set_stopf(if i == CM4 {
            super::pwr::CpuFlags::Cm4
        } else {
            super::pwr::CpuFlags::Cm7
        });
        if i == CM4 && self.d2_mode() == super::D2Mode::Standby {
            self.enter_d2_standby();
        }
        true
    }

    fn error_handler(&mut self, i: usize, why: u32) {
        self.set_state(i, FwState::ErrorHandler { reason: why });
        let c = &mut self.cores[i];
        c.r[0] = why;
        c.special |= 1; // __disable_irq(): PRIMASK = 1
    }
}
