//! JTAG at the bit level: the STM32H7's two-TAP scan chain, and what a probe's firmware clocks
//! into it for one DAP register transaction.
//!
//! The chain (RM0399 "JTAG TAP connection"; OpenOCD `target/stm32h7x.cfg` declares the DP TAP
//! first, the boundary-scan TAP second): TDI -> boundary-scan TAP (IR 5 bits, IDCODE 0x06450041)
//! -> JTAG-DP (IR 4 bits, IDCODE 0x6BA00477) -> TDO. A scan therefore meets the DP first: it is
//! TAP 0 for probe-rs and CMSIS-DAP (`ir_before` counts the TAPs on the TDO side).
//!
//! Both TAPs follow the IEEE 1149.1 state machine; Test-Logic-Reset loads IDCODE into both IRs.
//! TDO is driven only in Shift-IR/Shift-DR; otherwise it floats high. The JTAG-DP's scan
//! registers (ADIv5.2 B3): DPACC/APACC/ABORT are 35 bits (RnW in bit 0, A[3:2] in bits 2:1, data
//! in 34:3). A transaction starts at Update-DR; the next scan's Capture-DR loads its ACK (OK/FAULT
//! 0b010 or WAIT 0b001) and read result. If it is still in progress then, WAIT is captured and
//! that scan's own request is dropped (B3.3.2). There is no FAULT ACK: a failed access sets
//! CTRL/STAT.STICKYERR, which only a CTRL/STAT read shows.
//!
//! [`Chain`] is the pure shift-register and state-machine part; the DAP (`super::Dap`) serves
//! the DPACC/APACC captures and updates it reports ([`Event`]). [`Engine`] is the other side:
//! the scans a CMSIS-DAP or ST-LINK firmware clocks for one DAP_Transfer item.

use crate::h7::facts::{dp, jtag as j};

/// IEEE 1149.1 TAP controller states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapState {
    Reset,
    Idle,
    SelectDr,
    CaptureDr,
    ShiftDr,
    Exit1Dr,
    PauseDr,
    Exit2Dr,
    UpdateDr,
    SelectIr,
    CaptureIr,
    ShiftIr,
    Exit1Ir,
    PauseIr,
    Exit2Ir,
    UpdateIr,
}

impl TapState {
    /// The state after one TCK rising edge with `tms`.
    pub fn next(self, tms: bool) -> Self {
        use TapState::*;
        match (self, tms) {
            (Reset, true) => Reset,
            (Reset, false) => Idle,
            (Idle, true) => SelectDr,
            (Idle, false) => Idle,
            (SelectDr, true) => SelectIr,
            (SelectDr, false) => CaptureDr,
            (CaptureDr | ShiftDr, true) => Exit1Dr,
            (CaptureDr | ShiftDr, false) => ShiftDr,
            (Exit1Dr | Exit2Dr, true) => UpdateDr,
            (Exit1Dr | PauseDr, false) => PauseDr,
            (PauseDr, true) => Exit2Dr,
            (Exit2Dr, false) => ShiftDr,
            (UpdateDr | UpdateIr, true) => SelectDr,
            (UpdateDr | UpdateIr, false) => Idle,
            (SelectIr, true) => Reset,
            (SelectIr, false) => CaptureIr,
            (CaptureIr | ShiftIr, true) => Exit1Ir,
            (CaptureIr | ShiftIr, false) => ShiftIr,
            (Exit1Ir | Exit2Ir, true) => UpdateIr,
            (Exit1Ir | PauseIr, false) => PauseIr,
            (PauseIr, true) => Exit2Ir,
            (Exit2Ir, false) => ShiftIr,
        }
    }
}

/// A shift register of up to 64 bits: bit 0 is next out (towards TDO), new bits enter at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ShiftReg {
    bits: u64,
    len: u8,
}

impl ShiftReg {
    fn new(bits: u64, len: u8) -> Self {
        Self { bits, len }
    }

    /// One shift: returns the bit that leaves at the bottom.
    fn shift(&mut self, input: bool) -> bool {
        let out = self.bits & 1 == 1;
        self.bits = (self.bits >> 1) | (u64::from(input) << (self.len - 1));
        out
    }
}

/// What the DAP must do at a clock edge of the DP TAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Capture-DR with DPACC, APACC or ABORT selected: the DAP supplies the 35 captured bits
    /// ([`Chain::load_capture`]).
    Capture,
    /// Update-DR with DPACC, APACC or ABORT selected: the request scanned in.
    Update { ir: u8, dr: u64 },
}

/// The two TAPs of the chain, at the bit level.
#[derive(Debug, Clone)]
pub struct Chain {
    state: TapState,
    dp_ir: u8,
    bs_ir: u8,
    dp_shift: ShiftReg,
    bs_shift: ShiftReg,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// Both TAPs in Test-Logic-Reset.
    pub fn new() -> Self {
        Self {
            state: TapState::Reset,
            dp_ir: j::IR_IDCODE,
            bs_ir: j::BS_IR_IDCODE,
            dp_shift: ShiftReg::new(0, 1),
            bs_shift: ShiftReg::new(0, 1),
        }
    }

    /// The TAP controllers' state.
    pub fn state(&self) -> TapState {
        self.state
    }

    /// TRST (or the SWJ-DP switching to JTAG): both TAPs to Test-Logic-Reset.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// TDO before the next clock: the chain's last bit while shifting, else floating high.
    pub fn tdo(&self) -> bool {
        match self.state {
            TapState::ShiftDr | TapState::ShiftIr => self.dp_shift.bits & 1 == 1,
            _ => true,
        }
    }

    /// The instruction the DP TAP holds.
    pub fn dp_instruction(&self) -> u8 {
        self.dp_ir
    }

    /// One TCK cycle: TDO as sampled before the rising edge, and the DP event of this edge.
    pub fn clock(&mut self, tms: bool, tdi: bool) -> (bool, Option<Event>) {
        let tdo = match self.state {
            TapState::ShiftDr | TapState::ShiftIr => {
                let middle = self.bs_shift.shift(tdi);
                self.dp_shift.shift(middle)
            }
            // Not shifting: TDO is not driven and the board's pull-up wins.
            _ => true,
        };
        self.state = self.state.next(tms);
        let event = match self.state {
            TapState::Reset => {
                self.dp_ir = j::IR_IDCODE;
                self.bs_ir = j::BS_IR_IDCODE;
                None
            }
            TapState::CaptureIr => {
                self.dp_shift = ShiftReg::new(u64::from(j::DP_IR_CAPTURE), j::DP_IR_LEN);
                self.bs_shift = ShiftReg::new(u64::from(j::BS_IR_CAPTURE), j::BS_IR_LEN);
                None
            }
            TapState::UpdateIr => {
                self.dp_ir = (self.dp_shift.bits & 0xF) as u8;
                self.bs_ir = (self.bs_shift.bits & 0x1F) as u8;
                None
            }
            TapState::CaptureDr => {
                self.bs_shift = match self.bs_ir {
                    j::BS_IR_IDCODE => ShiftReg::new(u64::from(j::BS_IDCODE), 32),
                    // BYPASS, and the boundary register this model does not have.
                    _ => ShiftReg::new(0, 1),
                };
                match self.dp_ir {
                    j::IR_DPACC | j::IR_APACC | j::IR_ABORT => Some(Event::Capture),
                    j::IR_IDCODE => {
                        self.dp_shift = ShiftReg::new(u64::from(dp::IDCODE_JTAG), 32);
                        None
                    }
                    _ => {
                        self.dp_shift = ShiftReg::new(0, 1);
                        None
                    }
                }
            }
            TapState::UpdateDr => match self.dp_ir {
                ir @ (j::IR_DPACC | j::IR_APACC | j::IR_ABORT) => Some(Event::Update {
                    ir,
                    dr: self.dp_shift.bits,
                }),
                _ => None,
            },
            _ => None,
        };
        (tdo, event)
    }

    /// The 35 bits a DPACC/APACC/ABORT Capture-DR loads (after [`Event::Capture`]).
    pub fn load_capture(&mut self, bits: u64) {
        self.dp_shift = ShiftReg::new(bits, j::ACC_LEN);
    }
}

/// A DPACC/APACC scan's 35 bits for a request: RnW, A[3:2], data.
pub fn acc_payload(read: bool, addr: u8, data: u32) -> u64 {
    u64::from(read) | (u64::from((addr >> 2) & 3) << 1) | (u64::from(data) << 3)
}

/// The scans a probe's firmware clocks for one DAP register transaction, from Run-Test/Idle back
/// to Run-Test/Idle, with the other TAPs in BYPASS (CMSIS-DAP `JTAG_IR` / `JTAG_Transfer`, BMP
/// `jtag_dev_write_ir` / `jtag_dev_shift_dr`).
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// A TAP to talk to is known (DAP_JTAG_Configure, BMP `HJ`); nothing is clocked before.
    configured: bool,
    /// The DP TAP's IR length, and the IR bits of the TAPs on its TDO side (pre) and TDI side
    /// (post), which get BYPASS (all ones).
    ir_len: u8,
    ir_pre: usize,
    ir_post: usize,
    /// The bypass bits on either side in a DR scan.
    dr_pre: usize,
    dr_post: usize,
    /// The instruction last scanned into that TAP (so an unchanged one is not scanned again).
    ir: Option<u8>,
}

/// One clock of an engine scan: TMS, TDI.
pub type Bit = (bool, bool);

impl Engine {
    /// An engine for a chain of TAPs with these IR lengths (TDO side first), talking to TAP
    /// `index`; unconfigured when `index` is not in the chain.
    pub fn with_chain(ir_lengths: &[u8], index: usize) -> Self {
        let Some(&ir_len) = ir_lengths.get(index) else {
            return Self::default();
        };
        let sum = |l: &[u8]| l.iter().map(|&n| usize::from(n)).sum::<usize>();
        Self::with_scan(
            ir_len,
            sum(&ir_lengths[..index]),
            sum(&ir_lengths[index + 1..]),
            index,
            ir_lengths.len() - index - 1,
        )
    }

    /// An engine told the TAP's place directly (BMP `HJ`: IR length, IR and DR pre/post scan).
    pub fn with_scan(
        ir_len: u8,
        ir_pre: usize,
        ir_post: usize,
        dr_pre: usize,
        dr_post: usize,
    ) -> Self {
        Self {
            configured: ir_len > 0,
            ir_len,
            ir_pre,
            ir_post,
            dr_pre,
            dr_post,
            ir: None,
        }
    }

    /// The engine has a TAP to talk to.
    pub fn configured(&self) -> bool {
        self.configured
    }

    /// Forget which instruction is loaded (after a TAP reset or a raw sequence).
    pub fn forget_ir(&mut self) {
        self.ir = None;
    }

    /// The bits of an IR scan loading `ir` into the selected TAP (others get BYPASS, all ones),
    /// or none when it is already loaded.
    pub fn ir_scan(&mut self, ir: u8) -> Vec<Bit> {
        if self.ir == Some(ir) {
            return Vec::new();
        }
        self.ir = Some(ir);
        let mut data = vec![true; self.ir_pre];
        data.extend((0..self.ir_len).map(|k| ir >> k & 1 == 1));
        data.extend(std::iter::repeat_n(true, self.ir_post));
        // Idle -> Select-DR -> Select-IR -> Capture-IR -> Shift-IR.
        let mut bits = vec![(true, false), (true, false), (false, false), (false, false)];
        scan_tail(&mut bits, &data);
        bits
    }

    /// The bits of a DR scan of `payload` (35 bits) through the selected TAP, and where its
    /// captured bits start in the TDO stream.
    pub fn dr_scan(&self, payload: u64) -> (Vec<Bit>, usize) {
        let mut data = vec![false; self.dr_pre];
        data.extend((0..j::ACC_LEN).map(|k| payload >> k & 1 == 1));
        data.extend(std::iter::repeat_n(false, self.dr_post));
        // Idle -> Select-DR -> Capture-DR -> Shift-DR.
        let mut bits = vec![(true, false), (false, false), (false, false)];
        let start = bits.len() + self.dr_pre;
        scan_tail(&mut bits, &data);
        (bits, start)
    }
}

/// Shift `data` (the last bit with TMS high, to Exit1), then Update and back to Idle.
fn scan_tail(bits: &mut Vec<Bit>, data: &[bool]) {
    let last = data.len().saturating_sub(1);
    bits.extend(data.iter().enumerate().map(|(k, &d)| (k == last, d)));
    bits.extend([(true, false), (false, false)]);
}

/// The 35 captured bits of a DR scan, from the TDO stream of [`Engine::dr_scan`].
pub fn captured(tdo: &[bool], start: usize) -> u64 {
    (0..u64::from(j::ACC_LEN)).fold(0, |v, k| {
        v | (u64::from(tdo.get(start + k as usize).copied().unwrap_or(true)) << k)
    })
}

/// IDCODEs of a DR chain captured after Test-Logic-Reset, TDO side first: a TAP with an IDCODE
/// shifts out 32 bits starting with a 1, a TAP in BYPASS one 0 (IEEE 1149.1 12.1.1). `None` for a
/// bypass TAP. Stops at the first all-ones word (nothing more in the chain).
pub fn idcodes_from_dr(bits: &[bool]) -> Vec<Option<u32>> {
    let mut taps = Vec::new();
    let mut k = 0;
    while k < bits.len() {
        if !bits[k] {
            taps.push(None);
            k += 1;
            continue;
        }
        if k + 32 > bits.len() {
            break;
        }
        let id = (0..32).fold(0u32, |v, i| v | (u32::from(bits[k + i]) << i));
        if id == u32::MAX {
            break;
        }
        taps.push(Some(id));
        k += 32;
    }
    taps
}

/// IR lengths from the bits of an IR chain captured after Test-Logic-Reset (exactly the chain's
/// length), for `n_taps` TAPs: each IR captures ...01 (IEEE 1149.1 7.1.1), so a TAP's bits start
/// with a 1; the last TAP takes the rest.
pub fn ir_lengths_from_ir(bits: &[bool], n_taps: usize) -> Option<Vec<u8>> {
    let starts: Vec<usize> = bits
        .iter()
        .enumerate()
        .filter(|(_, b)| **b)
        .map(|(k, _)| k)
        .take(n_taps)
        .collect();
    if n_taps == 0 || starts.len() < n_taps || starts[0] != 0 {
        return None;
    }
    let ends = starts[1..].iter().copied().chain([bits.len()]);
    Some(
        starts
            .iter()
            .zip(ends)
            .map(|(s, e)| (e - s) as u8)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clock `bits` through `chain` with no DAP behind it (DPACC captures read as zeros).
    fn run(chain: &mut Chain, bits: &[Bit]) -> Vec<bool> {
        bits.iter()
            .map(|&(tms, tdi)| {
                let (tdo, event) = chain.clock(tms, tdi);
                if event == Some(Event::Capture) {
                    chain.load_capture(0);
                }
                tdo
            })
            .collect()
    }

    /// Reset, then Shift-DR; then `n` bits of `tdi`.
    fn shift_dr(n: usize, tdi: bool) -> Vec<Bit> {
        let mut bits = vec![(true, false); 5];
        bits.extend([
            (false, false),
            (true, false),
            (false, false),
            (false, false),
        ]);
        bits.extend(std::iter::repeat_n((false, tdi), n));
        bits
    }

    #[test]
    fn the_reset_dr_scan_shows_the_dp_idcode_then_the_boundary_scan_idcode() {
        let mut chain = Chain::new();
        let bits = shift_dr(128, true);
        let tdo = run(&mut chain, &bits);
        let out = &tdo[9..];
        assert_eq!(
            idcodes_from_dr(out),
            vec![Some(dp::IDCODE_JTAG), Some(j::BS_IDCODE)]
        );
        // After both registers the ones shifted in come out.
        assert!(out[64..].iter().all(|b| *b));
    }

    #[test]
    fn the_ir_scan_captures_0001_then_00001_and_lengths_are_4_and_5() {
        let mut chain = Chain::new();
        let mut bits = vec![(true, false); 5];
        bits.extend([
            (false, false),
            (true, false),
            (true, false),
            (false, false),
            (false, false),
        ]);
        bits.extend(std::iter::repeat_n((false, true), 20));
        let tdo = run(&mut chain, &bits);
        let out = &tdo[10..];
        assert_eq!(
            &out[..9],
            &[true, false, false, false, true, false, false, false, false]
        );
        let first_fill = 9;
        assert_eq!(ir_lengths_from_ir(&out[..first_fill], 2), Some(vec![4, 5]));
    }

    #[test]
    fn bypass_in_both_taps_gives_two_zero_bits() {
        let mut chain = Chain::new();
        let mut engine = Engine::with_chain(&[4, 5], 0);
        // Reset then Idle, then load BYPASS in the DP (the boundary-scan TAP gets BYPASS too).
        let mut bits = vec![(true, false); 5];
        bits.push((false, false));
        bits.extend(engine.ir_scan(j::IR_BYPASS));
        run(&mut chain, &bits);
        assert_eq!(chain.dp_instruction(), j::IR_BYPASS);
        let mut scan = vec![(true, false), (false, false), (false, false)];
        scan.extend(std::iter::repeat_n((false, true), 6));
        let tdo = run(&mut chain, &scan);
        assert_eq!(&tdo[3..], &[false, false, true, true, true, true]);
    }

    #[test]
    fn an_engine_dr_scan_updates_the_dp_with_the_payload() {
        let mut chain = Chain::new();
        let mut engine = Engine::with_chain(&[4, 5], 0);
        let mut bits = vec![(true, false); 5];
        bits.push((false, false));
        bits.extend(engine.ir_scan(j::IR_DPACC));
        run(&mut chain, &bits);
        let payload = acc_payload(false, 0x8, 0x0100_00F0);
        let (scan, _) = engine.dr_scan(payload);
        let mut updates = Vec::new();
        for (tms, tdi) in scan {
            match chain.clock(tms, tdi).1 {
                Some(Event::Capture) => chain.load_capture(0),
                Some(Event::Update { ir, dr }) => updates.push((ir, dr)),
                None => {}
            }
        }
        assert_eq!(updates, vec![(j::IR_DPACC, payload)]);
        assert_eq!(chain.state(), TapState::Idle);
        // An unchanged instruction is not scanned again.
        assert!(engine.ir_scan(j::IR_DPACC).is_empty());
    }

    #[test]
    fn every_state_is_left_for_reset_by_five_tms_highs() {
        use TapState::*;
        for s in [
            Reset, Idle, SelectDr, CaptureDr, ShiftDr, Exit1Dr, PauseDr, Exit2Dr, UpdateDr,
            SelectIr, CaptureIr, ShiftIr, Exit1Ir, PauseIr, Exit2Ir, UpdateIr,
        ] {
            let end = (0..5).fold(s, |s, _| s.next(true));
            assert_eq!(end, Reset, "from {s:?}");
        }
    }
}
