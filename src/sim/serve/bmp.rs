//! The Black Magic Probe remote protocol over TCP, as probe-rs 0.32's BMP driver opens it when a
//! selector's serial is `host:port` (`probe/blackmagic/mod.rs`), answered as BMP firmware v2.0
//! answers it (`src/remote.c`): remote protocol version 4 with the ADIv5 accelerator, so probe-rs
//! takes its ADIv5 path (`blackmagic/arm.rs`: DP, AP and memory accesses run by the firmware).
//!
//! Packets are `!` ... `#` (a `+` outside a packet resets the parser); answers are `&K` (OK),
//! `&E` (error), `&P` (parameter error) or `&N` (not supported), then a hex number, hex bytes or
//! a string, then `#`. As the firmware does:
//! - DP/AP reads answer their 32-bit value as bytes in memory order (probe-rs swaps them back);
//!   an AP read or write first writes SELECT with the AP number and the register's bank (so a
//!   DP bank a client selected earlier is reset to 0, as on a real BMP); an AP read is the read
//!   and the RDBUFF read that returns it; WAIT is retried, then reported;
//! - FAULT is answered by ABORT (every sticky flag cleared) and the request tried again, WAIT
//!   tried again, for 250 ms; what still fails is `&E` with 0x03 | ACK << 8
//!   (`REMOTE_ERROR_FAULT`; ACK 2 WAIT, 4 FAULT, 7 no answer);
//! - memory reads and writes (`Am`/`AM`) set CSW with the access size, TAR at each 1 KiB
//!   boundary and stream DRW, with the AP number the packet carries (probe-rs 0.32 always sends
//!   AP 0 there; h7sh does not use those packets, it drives CSW/TAR/DRW itself);
//! - `So`/`SO` clock bits onto SWDIO (line resets, JTAG-to-SWD); `Si`/`SI` read the line, which
//!   outside a packet nobody drives (pull-up: ones);
//! - JTAG: `JS` selects JTAG, `JR` resets the TAPs, `JN`, `JT`, `JC`, `Jd`/`JD` clock the scan
//!   chain bit by bit, `HJ` tells the firmware where the DP sits in the chain, after which the
//!   ADIv5 packets go through DPACC/APACC scans.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;

use crate::h7::facts::wire;
use crate::sim::board::{lock, Board, ClientId, SharedBoard};
use crate::sim::dap::jtag::{self, TapState};
use crate::sim::dap::regs::{dp_addr, Abort};
use crate::sim::dap::{Ack, Dap, PortId, Request, WireMode};

/// The longest packet the firmware takes (`BLACK_MAGIC_REMOTE_SIZE_MAX` in probe-rs).
const MAX_PACKET: usize = 1024;
/// The remote protocol version served (`REMOTE_HL_VERSION` of BMP v2.0).
const HL_VERSION: u64 = 4;
/// `REMOTE_ACCEL_ADIV5`.
const ACCEL_ADIV5: u64 = 1;
/// `REMOTE_ERROR_*` codes (`REMOTE_ERROR_EXCEPTION`, 4, is for ACK values the wire model
/// never produces).
const ERROR_UNRECOGNISED: u64 = 1;
const ERROR_WRONGLEN: u64 = 2;
const ERROR_FAULT: u64 = 3;
/// SWD ACK values the firmware reports in a fault (`SWDP_ACK_WAIT`, `SWDP_ACK_FAULT`).
const ACK_WAIT: u64 = 2;
const ACK_FAULT: u64 = 4;
/// `SWDP_ACK_NO_RESPONSE`: the line stayed high.
const ACK_NO_RESPONSE: u64 = 7;
/// The identity the firmware gives in its handshake.
const IDENT: &str = "Black Magic Probe (h7sh virtual STM32H755 board) v2.0.0";

/// One answer.
enum Reply {
    Num(u64),
    Bytes(Vec<u8>),
    Text(String),
    Error(u64),
    ParamError,
    NotSupported,
}

impl Reply {
    fn encode(&self) -> String {
        match self {
            Reply::Num(n) => format!("&K{n:x}#"),
            Reply::Bytes(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("&K{hex}#")
            }
            Reply::Text(s) => format!("&K{s}#"),
            Reply::Error(code) => format!("&E{code:x}#"),
            Reply::ParamError => "&P0#".to_string(),
            Reply::NotSupported => "&N0#".to_string(),
        }
    }
}

/// Why an ADIv5 operation stopped: the ACK that ended it.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Fault,
    Wait,
    NoAck,
}

impl Stop {
    fn reply(self) -> Reply {
        match self {
            Stop::Fault => Reply::Error(ERROR_FAULT | (ACK_FAULT << 8)),
            Stop::Wait => Reply::Error(ERROR_FAULT | (ACK_WAIT << 8)),
            Stop::NoAck => Reply::Error(ERROR_FAULT | (ACK_NO_RESPONSE << 8)),
        }
    }
}

/// Serve one connection until the client goes away or sends a packet no BMP would take.
pub fn serve(stream: TcpStream, board: &SharedBoard, id: ClientId) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut packet: Option<Vec<u8>> = None;
    let mut swd = SwdWire::default();
    let mut byte = [0u8; 1];
    loop {
        if reader.read(&mut byte)? == 0 {
            return Ok(());
        }
        match (byte[0], packet.as_mut()) {
            (b'!', _) => packet = Some(Vec::new()),
            (b'+', _) => packet = None,
            (b'#', Some(p)) => {
                let reply = handle(board, id, &mut swd, p);
                packet = None;
                writer.write_all(reply.encode().as_bytes())?;
            }
            (b, Some(p)) => {
                if p.len() >= MAX_PACKET {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "BMP packet longer than 1024 bytes: connection closed",
                    ));
                }
                p.push(b);
            }
            // Bytes between packets (a GDB-style ack, spaces): ignored as the firmware does.
            (_, None) => {}
        }
    }
}

/// Hex digits at `at..at + n` (all the rest when `n` is None) as a number.
fn hex(p: &[u8], at: usize, n: Option<usize>) -> Option<u64> {
    let end = n.map_or(p.len(), |n| at + n);
    let digits = p.get(at..end)?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn handle(board: &SharedBoard, id: ClientId, swd_wire: &mut SwdWire, p: &[u8]) -> Reply {
    let (Some(&kind), Some(&cmd)) = (p.first(), p.get(1)) else {
        return Reply::Error(ERROR_WRONGLEN);
    };
    let mut b = lock(board);
    if kind != b'S' {
        // Another kind of command: bits the host left on the line were idle bits.
        b.with_client(id, |dap, bus| swd_wire.flush(dap, bus));
    }
    match (kind, cmd) {
        (b'G', b'A') => Reply::Text(IDENT.to_string()),
        (b'G', b'V') => Reply::Text(format!("{:.1}V", wire::TARGET_VOLTAGE)),
        (b'G', b'Z') => {
            b.client_srst(id, p.get(2) == Some(&b'1'));
            Reply::Num(0)
        }
        (b'G', b'z') => Reply::Num(u64::from(b.nrst_low())),
        (b'G', b'F') => match hex(p, 2, Some(8)) {
            Some(hz) => {
                let khz = ((hz / 1000) as u32).max(1);
                b.with_client(id, |dap, _| dap.set_clock_khz(khz));
                Reply::Num(0)
            }
            None => Reply::Error(ERROR_WRONGLEN),
        },
        (b'G', b'f') => {
            let hz = b
                .with_client(id, |dap, _| dap.clock_khz())
                .saturating_mul(1000);
            Reply::Bytes(hz.to_le_bytes().to_vec())
        }
        (b'G', b'E') => Reply::Num(0),
        (b'G', b'P' | b'p') => Reply::NotSupported,
        (b'H', b'C') => Reply::Num(HL_VERSION),
        (b'H', b'A') => Reply::Num(ACCEL_ADIV5),
        (b'H', b'J') => add_jtag_device(&mut b, id, p),
        (b'S', _) => swd(&mut b, id, swd_wire, p),
        (b'J', _) => jtag_packet(&mut b, id, p),
        (b'A', _) => adiv5(&mut b, id, p),
        _ => Reply::Error(ERROR_UNRECOGNISED),
    }
}

fn swd(b: &mut Board, id: ClientId, wire_state: &mut SwdWire, p: &[u8]) -> Reply {
    match p[1] {
        b'S' => {
            *wire_state = SwdWire::default();
            b.with_client(id, |dap, _| dap.set_transport(WireMode::Swd));
            Reply::Num(0)
        }
        b'o' | b'O' => {
            let (Some(n), Some(bits)) = (hex(p, 2, Some(2)), hex(p, 4, None)) else {
                return Reply::Error(ERROR_WRONGLEN);
            };
            let n = n.min(32) as usize;
            let mut out: Vec<bool> = (0..n).map(|k| bits >> k & 1 == 1).collect();
            if p[1] == b'O' {
                // The firmware appends the parity bit.
                out.push(out.iter().filter(|b| **b).count() % 2 == 1);
            }
            b.with_client(id, |dap, bus| {
                dap.note_round_trip(PortId::Dp);
                wire_state.output(dap, bus, &out);
            });
            Reply::Num(0)
        }
        b'i' | b'I' => {
            let Some(n) = hex(p, 2, Some(2)) else {
                return Reply::Error(ERROR_WRONGLEN);
            };
            let n = n.min(32) as usize;
            let bits = b.with_client(id, |dap, bus| {
                dap.note_round_trip(PortId::Dp);
                wire_state.input(dap, bus, n + usize::from(p[1] == b'I'))
            });
            let value = bits[..n]
                .iter()
                .enumerate()
                .fold(0u64, |v, (k, bit)| v | (u64::from(*bit) << k));
            if p[1] == b'I' {
                let parity_ok = (value.count_ones() % 2 == 1) == bits[n];
                if !parity_ok {
                    return Reply::ParamError;
                }
            }
            Reply::Num(value)
        }
        _ => Reply::Error(ERROR_UNRECOGNISED),
    }
}

/// The SWD wire as a BMP clocks it one command at a time (`swdptap_seq_out` / `seq_in`): the
/// firmware inserts one turnaround clock whenever the direction changes, so a packet's header
/// ends the host bits before an `Si`, whose bits are the ACK, the read data and parity; a write's
/// data comes in the next `So`, after the ACK had to be given (`Dap::predict_write_ack`).
#[derive(Debug, Default)]
struct SwdWire {
    /// Host bits not given to the line yet (the last 8 may be a packet header).
    pending: Vec<bool>,
    /// The target's levels for the next input cycles (ACK, data, parity).
    driving: std::collections::VecDeque<bool>,
    /// A write whose ACK was OK: its data phase comes next.
    write: Option<Request>,
    /// The data-phase bits of that write received so far.
    data: Vec<bool>,
    /// The host last clocked input (so the next output starts with a turnaround).
    input: bool,
}

impl SwdWire {
    /// Host output bits.
    fn output(&mut self, dap: &mut Dap, bus: &mut dyn crate::sim::bus::Bus, bits: &[bool]) {
        let mut bits = bits;
        if self.input {
            // Turnaround: the target stops driving; nobody samples this clock.
            self.input = false;
            self.driving.clear();
        }
        if let Some(req) = self.write {
            // The write's data phase, 32 bits and parity, possibly over several commands.
            let take = (33 - self.data.len()).min(bits.len());
            self.data.extend_from_slice(&bits[..take]);
            bits = &bits[take..];
            if self.data.len() == 33 {
                self.write = None;
                let d = std::mem::take(&mut self.data);
                let value = (0..32).fold(0u32, |v, k| v | (u32::from(d[k]) << k));
                if (value.count_ones() % 2 == 1) == d[32] {
                    let req = Request {
                        rw: crate::sim::dap::Rw::Write(value),
                        ..req
                    };
                    dap.transfer(bus, req);
                } else {
                    dap.write_parity_error();
                }
            }
        }
        self.pending.extend_from_slice(bits);
        // All but a possible header go to the line now (line resets, select sequences).
        let keep = self.pending.len().min(8);
        let idle: Vec<bool> = self.pending.drain(..self.pending.len() - keep).collect();
        feed(dap, bus, &idle);
    }

    /// `n` input cycles: what the target drives, ones where nobody does.
    fn input(&mut self, dap: &mut Dap, bus: &mut dyn crate::sim::bus::Bus, n: usize) -> Vec<bool> {
        if !self.input {
            self.input = true;
            self.start_packet(dap, bus);
        }
        (0..n)
            .map(|_| self.driving.pop_front().unwrap_or(true))
            .collect()
    }

    /// The host turned the line around after its output: if those bits ended with a request
    /// header, the target answers it (ACK, and a read's data and parity).
    fn start_packet(&mut self, dap: &mut Dap, bus: &mut dyn crate::sim::bus::Bus) {
        let header = self.pending.len() == 8 && {
            let h = &self.pending;
            h[0] && !h[6] && h[7] && (h[1] ^ h[2] ^ h[3] ^ h[4]) == h[5]
        };
        if !header {
            let idle = std::mem::take(&mut self.pending);
            feed(dap, bus, &idle);
            return;
        }
        let h = std::mem::take(&mut self.pending);
        let addr = (u8::from(h[4]) << 3) | (u8::from(h[3]) << 2);
        let port = if h[1] {
            crate::sim::dap::Port::Ap
        } else {
            crate::sim::dap::Port::Dp
        };
        let ack_bits = |ack: Ack| -> [bool; 3] {
            match ack {
                Ack::Ok => [true, false, false],
                Ack::Wait => [false, true, false],
                Ack::Fault => [false, false, true],
                Ack::NoAck => [true, true, true],
            }
        };
        if h[2] {
            let resp = dap.transfer(
                bus,
                Request {
                    port,
                    addr,
                    rw: crate::sim::dap::Rw::Read,
                },
            );
            self.driving.extend(ack_bits(resp.ack));
            if resp.ack == Ack::Ok {
                self.driving
                    .extend((0..32).map(|k| resp.data >> k & 1 == 1));
                self.driving.push_back(resp.data.count_ones() % 2 == 1);
            }
        } else {
            let req = Request {
                port,
                addr,
                rw: crate::sim::dap::Rw::Write(0),
            };
            let ack = dap.predict_write_ack(bus, req);
            self.driving.extend(ack_bits(ack));
            if ack == Ack::Ok {
                self.write = Some(req);
            } else if ack != Ack::NoAck {
                // The refused write still counts on the wire, as `transfer` counts it.
                dap.transfer(bus, req);
            }
        }
    }

    /// Bits left on the line go to it as idle bits.
    fn flush(&mut self, dap: &mut Dap, bus: &mut dyn crate::sim::bus::Bus) {
        let idle = std::mem::take(&mut self.pending);
        feed(dap, bus, &idle);
        self.write = None;
        self.data.clear();
    }
}

/// Host bits outside packets: the SWJ line (line resets, select sequences).
fn feed(dap: &mut Dap, bus: &mut dyn crate::sim::bus::Bus, bits: &[bool]) {
    for chunk in bits.chunks(64) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u64, |v, (k, b)| v | (u64::from(*b) << k));
        dap.swj_sequence(bus, chunk.len() as u8, word);
    }
}

fn jtag_packet(b: &mut Board, id: ClientId, p: &[u8]) -> Reply {
    match p[1] {
        b'S' => {
            b.with_client(id, |dap, _| dap.set_transport(WireMode::Jtag));
            Reply::Num(0)
        }
        b'R' => {
            // jtagtap_reset: TMS high for the TAPs' Test-Logic-Reset (no nTRST on a BMP).
            b.with_client(id, |dap, bus| dap.jtag_sequence(bus, 8, true, 0));
            Reply::Num(0)
        }
        b'N' => {
            if p.len() != 4 {
                return Reply::Error(ERROR_WRONGLEN);
            }
            let (tms, tdi) = (p[2] == b'1', p[3] == b'1');
            let tdo = b.with_client(id, |dap, bus| {
                let tdo = dap.jtag_tdo(bus);
                dap.jtag_clock(bus, &[(tms, tdi)]);
                tdo
            });
            Reply::Num(u64::from(tdo))
        }
        b'T' => {
            let (Some(n), Some(bits)) = (hex(p, 2, Some(2)), hex(p, 4, None)) else {
                return Reply::Error(ERROR_WRONGLEN);
            };
            let clocks: Vec<jtag::Bit> = (0..n.min(64))
                .map(|k| (bits >> k & 1 == 1, false))
                .collect();
            b.with_client(id, |dap, bus| dap.jtag_clock(bus, &clocks));
            Reply::Num(0)
        }
        b'C' => {
            let (Some(tms), Some(tdi), Some(n)) = (p.get(2), p.get(3), hex(p, 4, Some(8))) else {
                return Reply::Error(ERROR_WRONGLEN);
            };
            let clocks = vec![(*tms != b'0', *tdi != b'0'); n.min(1 << 16) as usize];
            b.with_client(id, |dap, bus| dap.jtag_clock(bus, &clocks));
            Reply::Num(0)
        }
        b'd' | b'D' => {
            let (Some(n), Some(bits)) = (hex(p, 2, Some(2)), hex(p, 4, None)) else {
                return Reply::Error(ERROR_WRONGLEN);
            };
            let n = n.min(64);
            let last_tms = p[1] == b'D';
            let clocks: Vec<jtag::Bit> = (0..n)
                .map(|k| (last_tms && k + 1 == n, bits >> k & 1 == 1))
                .collect();
            let tdo = b.with_client(id, |dap, bus| dap.jtag_clock(bus, &clocks));
            let out = tdo
                .iter()
                .enumerate()
                .fold(0u64, |v, (k, bit)| v | (u64::from(*bit) << k));
            Reply::Num(out)
        }
        _ => Reply::Error(ERROR_UNRECOGNISED),
    }
}

/// `HJ`: where the DP sits in the chain (index, DR pre/post scan, IR length, IR pre/post scan).
fn add_jtag_device(b: &mut Board, id: ClientId, p: &[u8]) -> Reply {
    let field = |k: usize| hex(p, 2 + 2 * k, Some(2));
    let (Some(_index), Some(dr_pre), Some(dr_post), Some(ir_len), Some(ir_pre), Some(ir_post)) =
        (field(0), field(1), field(2), field(3), field(4), field(5))
    else {
        return Reply::Error(ERROR_WRONGLEN);
    };
    let engine = jtag::Engine::with_scan(
        ir_len as u8,
        ir_pre as usize,
        ir_post as usize,
        dr_pre as usize,
        dr_post as usize,
    );
    b.with_client(id, |dap, bus| {
        dap.set_engine(engine);
        if dap.tap_state() == TapState::Reset {
            // The firmware's scans start from Run-Test/Idle.
            dap.jtag_sequence(bus, 1, false, 0);
        }
    });
    Reply::Num(0)
}

/// One DP/AP transaction as BMP firmware's `firmware_swdp_low_access` runs it: FAULT is answered
/// by an ABORT clearing every sticky flag and the request is tried again, WAIT is tried again,
/// for 250 ms (of the board's time); then WAIT ends with DAPABORT and either is reported. No ACK
/// is reported at once. (So a faulting AP read comes back as 0 without an error: its FAULT shows
/// on the RDBUFF read, which succeeds once the flag is cleared, as on a real BMP.)
fn exchange(dap: &mut Dap, bus: &mut dyn crate::sim::bus::Bus, req: Request) -> Result<u32, Stop> {
    let deadline = bus.now_nanos().saturating_add(LOW_ACCESS_TIMEOUT_NANOS);
    loop {
        let resp = dap.transfer(bus, req);
        let expired = bus.now_nanos() >= deadline;
        match resp.ack {
            Ack::Ok => return Ok(resp.data),
            Ack::NoAck => return Err(Stop::NoAck),
            Ack::Fault if expired => return Err(Stop::Fault),
            Ack::Fault => {
                let mut abort = Abort(0);
                abort.set_stkcmpclr(true);
                abort.set_stkerrclr(true);
                abort.set_wderrclr(true);
                abort.set_orunerrclr(true);
                dap.transfer(bus, Request::dp_write(dp_addr::DPIDR_ABORT, abort.0));
            }
            Ack::Wait if expired => {
                let mut abort = Abort(0);
                abort.set_dapabort(true);
                dap.transfer(bus, Request::dp_write(dp_addr::DPIDR_ABORT, abort.0));
                return Err(Stop::Wait);
            }
            Ack::Wait => {}
        }
    }
}

/// The firmware's retry window for one low-level access (`platform_timeout_set(&timeout, 250)`).
const LOW_ACCESS_TIMEOUT_NANOS: u64 = 250_000_000;

fn le_word(v: u32) -> Reply {
    Reply::Bytes(v.to_le_bytes().to_vec())
}

/// `A` packets: DP reads, raw accesses, AP registers, memory.
fn adiv5(b: &mut Board, id: ClientId, p: &[u8]) -> Reply {
    if p.len() < 8 {
        return Reply::ParamError;
    }
    let (Some(apsel), Some(addr)) = (hex(p, 4, Some(2)), hex(p, 6, Some(4))) else {
        return Reply::ParamError;
    };
    let apsel = apsel as u32;
    let addr = addr as u16;
    let select = move |reg: u16| {
        Request::dp_write(
            dp_addr::RESEND_SELECT,
            (apsel << 24) | u32::from(reg & 0xF0),
        )
    };
    let cmd = p[1];
    b.with_client(id, |dap, bus| {
        let port = if cmd == b'd' || cmd == b'R' && addr & 0x100 == 0 {
            PortId::Dp
        } else {
            PortId::Ap(apsel as u8)
        };
        dap.note_round_trip(port);
        let result: Result<Reply, Stop> = (|| match cmd {
            b'd' => {
                let v = exchange(dap, bus, Request::dp_read(addr as u8))?;
                Ok(le_word(v))
            }
            b'R' => {
                // The AP-select field carries RnW; one packet on the wire, its data as it comes.
                let Some(value) = hex(p, 10, Some(8)) else {
                    return Ok(Reply::ParamError);
                };
                let read = apsel != 0;
                let req = match (addr & 0x100 != 0, read) {
                    (true, true) => Request::ap_read(addr as u8),
                    (true, false) => Request::ap_write(addr as u8, value as u32),
                    (false, true) => Request::dp_read(addr as u8),
                    (false, false) => Request::dp_write(addr as u8, value as u32),
                };
                Ok(le_word(exchange(dap, bus, req)?))
            }
            b'a' => {
                exchange(dap, bus, select(addr))?;
                exchange(dap, bus, Request::ap_read(addr as u8))?;
                let v = exchange(dap, bus, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
                Ok(le_word(v))
            }
            b'A' => {
                let Some(value) = hex(p, 10, Some(8)) else {
                    return Ok(Reply::ParamError);
                };
                exchange(dap, bus, select(addr))?;
                exchange(dap, bus, Request::ap_write(addr as u8, value as u32))?;
                Ok(Reply::Num(0))
            }
            b'm' => mem_read(dap, bus, apsel, p),
            b'M' => mem_write(dap, bus, apsel, p),
            _ => Ok(Reply::Error(ERROR_UNRECOGNISED)),
        })();
        result.unwrap_or_else(Stop::reply)
    })
}

/// MEM-AP register offsets.
const CSW: u8 = 0x00;
const TAR: u8 = 0x04;
const DRW: u8 = 0x0C;

/// `Am`: index, AP, CSW (8), address (16), length (8).
fn mem_read(
    dap: &mut Dap,
    bus: &mut dyn crate::sim::bus::Bus,
    apsel: u32,
    p: &[u8],
) -> Result<Reply, Stop> {
    let (Some(csw), Some(address), Some(len)) = (
        hex(p, 6, Some(8)),
        hex(p, 14, Some(16)),
        hex(p, 30, Some(8)),
    ) else {
        return Ok(Reply::ParamError);
    };
    if len as usize > MAX_PACKET || address > u64::from(u32::MAX) {
        return Ok(Reply::ParamError);
    }
    let align = alignment(address as u32, len as u32);
    let mut out = Vec::with_capacity(len as usize);
    mem_setup(dap, bus, apsel, csw as u32, align)?;
    // In u64: a read may run up to the top of the address space.
    let mut at = address;
    while at < address + len {
        let tar = at as u32;
        if at == address || tar & 0x3FF == 0 {
            exchange(dap, bus, Request::ap_write(TAR, tar))?;
        }
        exchange(dap, bus, Request::ap_read(DRW))?;
        let word = exchange(dap, bus, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
        let lane = (tar & 3) * 8;
        for k in 0..align {
            out.push((word >> (lane + 8 * k)) as u8);
        }
        at += u64::from(align);
    }
    Ok(Reply::Bytes(out))
}

/// `AM`: index, AP, CSW (8), alignment (2), address (16), length (8), data.
fn mem_write(
    dap: &mut Dap,
    bus: &mut dyn crate::sim::bus::Bus,
    apsel: u32,
    p: &[u8],
) -> Result<Reply, Stop> {
    let (Some(csw), Some(align), Some(address), Some(len)) = (
        hex(p, 6, Some(8)),
        hex(p, 14, Some(2)),
        hex(p, 16, Some(16)),
        hex(p, 32, Some(8)),
    ) else {
        return Ok(Reply::ParamError);
    };
    let align = 1u32 << align.min(2);
    let data: Option<Vec<u8>> = (0..len as usize)
        .map(|k| hex(p, 40 + 2 * k, Some(2)).map(|v| v as u8))
        .collect();
    let Some(data) = data else {
        return Ok(Reply::ParamError);
    };
    if !(len as u32).is_multiple_of(align) || address > u64::from(u32::MAX) {
        return Ok(Reply::ParamError);
    }
    let address = address as u32;
    mem_setup(dap, bus, apsel, csw as u32, align)?;
    for (k, chunk) in data.chunks(align as usize).enumerate() {
        let at = address.wrapping_add(k as u32 * align);
        if k == 0 || at & 0x3FF == 0 {
            exchange(dap, bus, Request::ap_write(TAR, at))?;
        }
        let lane = (at & 3) * 8;
        let word = chunk.iter().enumerate().fold(0u32, |w, (i, byte)| {
            w | (u32::from(*byte) << (lane + 8 * i as u32))
        });
        exchange(dap, bus, Request::ap_write(DRW, word))?;
    }
    // The last write's own ACK shows on the next request.
    exchange(dap, bus, Request::dp_read(dp_addr::RDBUFF_TARGETSEL))?;
    Ok(Reply::Num(0))
}

/// SELECT for the AP, then CSW with the access size (`adiv5_mem_access_setup`).
fn mem_setup(
    dap: &mut Dap,
    bus: &mut dyn crate::sim::bus::Bus,
    apsel: u32,
    csw: u32,
    align: u32,
) -> Result<(), Stop> {
    exchange(
        dap,
        bus,
        Request::dp_write(dp_addr::RESEND_SELECT, apsel << 24),
    )?;
    exchange(dap, bus, Request::ap_write(CSW, csw_with_size(csw, align)))?;
    Ok(())
}

/// The widest access both the address and the length allow (the firmware's `MIN_ALIGN`).
fn alignment(address: u32, len: u32) -> u32 {
    match (address | len) & 3 {
        0 => 4,
        2 => 2,
        _ => 1,
    }
}

/// CSW with Size set for `bytes` and single auto-increment.
fn csw_with_size(csw: u32, bytes: u32) -> u32 {
    let size = match bytes {
        1 => 0,
        2 => 1,
        _ => 2,
    };
    (csw & !0x37) | size | (1 << 4)
}
