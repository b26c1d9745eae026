//! SWD at the bit level: the target's side of the SWDIO line, for probes that clock every bit
//! themselves (J-Link's HW_JTAG3 command under probe-rs's SWD polyfill).
//!
//! The host drives SWDIO on output cycles; on input cycles the target drives it (the ACK, read
//! data and parity) or nobody does and the pull-up reads 1. A packet (ADIv5.2 B4.2) is a
//! request of 8 host bits (start 1, APnDP, RnW, A2, A3, parity, stop 0, park 1), a turnaround,
//! a 3-bit ACK, then 32 data bits and parity (with a turnaround before a write's data or after
//! a read's). Host bits that are not part of a packet go to the SWJ line model (line resets,
//! JTAG-to-SWD). A whole sequence is known before it is clocked, so a write's data are taken
//! from its data phase before the DAP model answers its ACK.

use super::{Ack, Port, Request, Response, Rw};

/// One cycle of a sequence: the host drives a bit, or samples the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    Out(bool),
    In,
}

/// Cycles of a packet after its 8 request bits: turnaround, ACK, 32 data, parity, turnaround.
pub const PACKET_TAIL: usize = 38;

/// The target behind the line: serves decoded packets, takes the host bits outside packets.
pub trait SwdTarget {
    fn packet(&mut self, req: Request) -> Response;
    fn idle_bit(&mut self, bit: bool);
}

/// What the line carries on each cycle of `cycles`, as the target and the pull-up leave it.
pub fn clock(cycles: &[Cycle], target: &mut dyn SwdTarget) -> Vec<bool> {
    let mut level: Vec<bool> = cycles
        .iter()
        .map(|c| match c {
            Cycle::Out(b) => *b,
            Cycle::In => true,
        })
        .collect();
    let mut i = 0;
    while i < cycles.len() {
        match cycles[i] {
            Cycle::Out(true) => {
                if let Some(req) = request_at(cycles, i) {
                    let resp = target.packet(req);
                    drive_response(&mut level, i, req, resp);
                    i += 8 + PACKET_TAIL;
                    continue;
                }
                target.idle_bit(true);
            }
            Cycle::Out(false) => target.idle_bit(false),
            Cycle::In => {}
        }
        i += 1;
    }
    level
}

/// The request whose start bit is at `i`, if the 8 host bits there form a valid header and the
/// packet's cycles follow (its write data taken from the data phase).
fn request_at(cycles: &[Cycle], i: usize) -> Option<Request> {
    let bits: Vec<bool> = cycles
        .get(i..i + 8)?
        .iter()
        .map(|c| match c {
            Cycle::Out(b) => Some(*b),
            Cycle::In => None,
        })
        .collect::<Option<_>>()?;
    let [start, apndp, rnw, a2, a3, parity, stop, park] = bits[..] else {
        return None;
    };
    if !start || stop || !park || (apndp ^ rnw ^ a2 ^ a3) != parity {
        return None;
    }
    if cycles.len() < i + 8 + PACKET_TAIL {
        return None;
    }
    let addr = (u8::from(a3) << 3) | (u8::from(a2) << 2);
    let port = if apndp { Port::Ap } else { Port::Dp };
    let rw = if rnw {
        Rw::Read
    } else {
        // Write data: after turnaround, ACK and a second turnaround.
        let mut value = 0u32;
        for (k, c) in cycles[i + 13..i + 45].iter().enumerate() {
            if let Cycle::Out(true) = c {
                value |= 1 << k;
            }
        }
        Rw::Write(value)
    };
    Some(Request { port, addr, rw })
}

/// The target drives the ACK (and a read's data and parity) into the line levels of a packet
/// starting at `i`. No ACK leaves the pull-up's ones.
fn drive_response(level: &mut [bool], i: usize, req: Request, resp: Response) {
    let ack = match resp.ack {
        Ack::Ok => [true, false, false],
        Ack::Wait => [false, true, false],
        Ack::Fault => [false, false, true],
        Ack::NoAck => return,
    };
    level[i + 9..i + 12].copy_from_slice(&ack);
    if resp.ack == Ack::Ok && req.rw == Rw::Read {
        for k in 0..32 {
            level[i + 12 + k] = resp.data & (1 << k) != 0;
        }
        level[i + 44] = resp.data.count_ones() % 2 == 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every packet with `resp` and records what it saw.
    struct Recorder {
        resp: Response,
        packets: Vec<Request>,
        idle: Vec<bool>,
    }

    impl Recorder {
        fn new(ack: Ack, data: u32) -> Self {
            Self {
                resp: Response { ack, data },
                packets: Vec::new(),
                idle: Vec::new(),
            }
        }
    }

    impl SwdTarget for Recorder {
        fn packet(&mut self, req: Request) -> Response {
            self.packets.push(req);
            self.resp
        }
        fn idle_bit(&mut self, bit: bool) {
            self.idle.push(bit);
        }
    }

    fn header(port: Port, read: bool, addr: u8) -> Vec<Cycle> {
        let ap = port == Port::Ap;
        let (a2, a3) = (addr & 4 != 0, addr & 8 != 0);
        [true, ap, read, a2, a3, ap ^ read ^ a2 ^ a3, false, true]
            .into_iter()
            .map(Cycle::Out)
            .collect()
    }

    #[test]
    fn a_read_packet_carries_ack_data_and_parity() {
        let mut cycles = header(Port::Dp, true, 0);
        cycles.extend(std::iter::repeat_n(Cycle::In, PACKET_TAIL));
        let mut t = Recorder::new(Ack::Ok, 0x6BA0_2477);
        let level = clock(&cycles, &mut t);
        assert!(t.idle.is_empty());
        assert_eq!(t.packets, vec![Request::dp_read(0)]);
        assert_eq!(&level[9..12], &[true, false, false]);
        let data = (0..32).fold(0u32, |v, k| v | (u32::from(level[12 + k]) << k));
        assert_eq!(data, 0x6BA0_2477);
        assert_eq!(level[44], 0x6BA0_2477u32.count_ones() % 2 == 1);
    }

    #[test]
    fn a_write_takes_its_data_phase_and_idle_bits_go_to_the_line() {
        let value = 0x5000_0000u32;
        let mut cycles = vec![Cycle::Out(true), Cycle::Out(true)];
        cycles.extend(header(Port::Dp, false, 4));
        cycles.extend([Cycle::In; 5]);
        cycles.extend((0..32).map(|k| Cycle::Out(value & (1 << k) != 0)));
        cycles.push(Cycle::Out(value.count_ones() % 2 == 1));
        cycles.push(Cycle::Out(false));
        let mut t = Recorder::new(Ack::Wait, 0);
        let level = clock(&cycles, &mut t);
        // The two leading ones are not a header (bad parity, stop bit 1): they go to the line.
        assert_eq!(t.idle, vec![true, true, false]);
        assert_eq!(t.packets, vec![Request::dp_write(4, value)]);
        assert_eq!(&level[11..14], &[false, true, false]);
    }

    #[test]
    fn no_ack_reads_as_the_pull_up() {
        let mut cycles = header(Port::Ap, true, 0xC);
        cycles.extend(std::iter::repeat_n(Cycle::In, PACKET_TAIL));
        let level = clock(&cycles, &mut Recorder::new(Ack::NoAck, 0));
        assert!(level[8..].iter().all(|b| *b));
    }
}
