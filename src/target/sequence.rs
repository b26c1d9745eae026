//! The debug-port start h7sh gives probe-rs: the same steps as probe-rs's default
//! `debug_port_start`, with the writes queued behind the reads they precede, and the DPIDR it
//! reads kept for the shell (so connect does not read it a third time).
//!
//! probe-rs's default reads DPIDR, then CTRL/STAT, writes ABORT, and, when the port is powered
//! down, writes the power-up request, flushes, polls CTRL/STAT, writes it again and reads it once
//! more: each read and the flush is a probe round trip (about eight). This one does what pyOCD's
//! `DebugPort.power_up_debug` and OpenOCD's `dap_dp_init` do: clear the sticky errors, write the
//! power-up request, and read CTRL/STAT until both acknowledges are set: two round trips when the
//! port powers up at once. Everything else (setup, line reset, reset sequences) is probe-rs's.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use probe_rs::architecture::arm::dp::{
    Abort, Ctrl, DebugPortError, DpAccess, DpAddress, SelectV1, DPIDR,
};
use probe_rs::architecture::arm::sequences::ArmDebugSequence;
use probe_rs::architecture::arm::{ArmError, DapAccess, DapError};

/// How long the port may take to acknowledge the power-up request (probe-rs's default: 1 s).
const POWER_UP_TIMEOUT: Duration = Duration::from_secs(1);

/// probe-rs's default sequence with h7sh's debug-port start.
#[derive(Debug, Default)]
pub(crate) struct H7Sequence {
    /// DPIDR as read at the last debug-port start (0 before any).
    dpidr: AtomicU32,
}

impl H7Sequence {
    /// DPIDR as the last debug-port start read it; None if no start ran.
    pub(crate) fn dpidr(&self) -> Option<u32> {
        match self.dpidr.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v),
        }
    }
}

impl ArmDebugSequence for H7Sequence {
    fn debug_port_start(
        &self,
        interface: &mut dyn DapAccess,
        dp: DpAddress,
    ) -> Result<(), ArmError> {
        interface.write_dp_register(dp, SelectV1(0))?;
        let dpidr: DPIDR = interface.read_dp_register(dp)?;
        self.dpidr.store(dpidr.0, Ordering::Relaxed);

        let dpv0 = dpidr.version() == 0 || dpidr.designer() == 0;
        let mut abort = Abort(0);
        abort.set_dapabort(true);
        if !dpv0 {
            abort.set_orunerrclr(true);
            abort.set_wderrclr(true);
            abort.set_stkerrclr(true);
            abort.set_stkcmpclr(true);
        }
        interface.write_dp_register(dp, abort)?;
        if dpv0 {
            // DPv0 clears its sticky flags by writing them to CTRL/STAT (W1C).
            interface.write_dp_register(dp, Ctrl(0x32))?;
        }

        let mut request = Ctrl(0);
        request.set_cdbgpwrupreq(true);
        request.set_csyspwrupreq(true);
        if !dpidr.min() {
            // Normal transfer mode, all byte lanes (unpredictable on a MINDP).
            request.set_mask_lane(0b1111);
        }
        interface.write_dp_register(dp, request.clone())?;

        let start = Instant::now();
        loop {
            match interface.read_dp_register::<Ctrl>(dp) {
                Ok(ctrl) if ctrl.csyspwrupack() && ctrl.cdbgpwrupack() => return Ok(()),
                Ok(_) => {}
                Err(e @ ArmError::Dap(DapError::NoAcknowledge)) => {
                    // As probe-rs's default: a port that NACKs while powering up gets a line
                    // reset and the request again.
                    let Some(probe) = interface.try_dap_probe_mut() else {
                        return Err(e);
                    };
                    self.debug_port_connect(probe, dp)?;
                    interface.write_dp_register(dp, request.clone())?;
                }
                Err(e) => return Err(e),
            }
            if start.elapsed() >= POWER_UP_TIMEOUT {
                return Err(DebugPortError::TargetPowerUpFailed.into());
            }
        }
    }
}
