//! OpenOCD's `remote_bitbang` (OpenOCD 0.12 `src/jtag/drivers/remote_bitbang.c`, protocol in
//! its `doc/manual/jtag/drivers/remote_bitbang.txt`): one ASCII byte per pin operation.
//!
//! - `0`..`7`: drive TCK, TMS, TDI (bits 2, 1, 0). A rising TCK clocks the board's scan chain.
//! - `R`: answer `0` or `1`, the TDO the chain presents now (before the next rising edge).
//! - `r` `s` `t` `u`: TRST and SRST, `'r' + 2*trst + srst`, 1 meaning asserted. TRST resets the
//!   TAPs, SRST pulls NRST low (shared with the probe and the board's button, open drain).
//! - `B` `b`: the LED; `Q`: the client quits.
//!
//! Anything else closes the connection (the protocol has no error reply). Bytes are taken in the
//! chunks the client writes (OpenOCD buffers a whole scan), each chunk under one hold of the
//! board, so scans of the shell and of other clients do not interleave with it.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::sim::board::{lock, ClientId, SharedBoard};

/// How many bytes one read takes at most (OpenOCD's buffer is 4096).
const CHUNK: usize = 4096;

/// The pins a client drives, kept between chunks.
#[derive(Debug, Default)]
struct Pins {
    tck: bool,
}

/// What the connection does after a chunk.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    More,
    Quit,
    /// A byte that is not part of the protocol.
    Garbage(u8),
}

/// Serve one connection until the client quits, sends garbage or goes away.
pub fn serve(mut stream: TcpStream, board: &SharedBoard, id: ClientId) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut pins = Pins::default();
    let mut buf = vec![0u8; CHUNK];
    let mut out = Vec::new();
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let next = run(&buf[..n], &mut pins, board, id, &mut out);
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        match next {
            Next::More => {}
            Next::Quit => return Ok(()),
            Next::Garbage(b) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("remote_bitbang: byte {b:#04x} is not a command; connection closed"),
                ))
            }
        }
    }
}

/// Run one chunk of commands on the board; TDO answers go to `out`.
fn run(
    bytes: &[u8],
    pins: &mut Pins,
    board: &SharedBoard,
    id: ClientId,
    out: &mut Vec<u8>,
) -> Next {
    let mut b = lock(board);
    for &byte in bytes {
        match byte {
            b'0'..=b'7' => {
                let v = byte - b'0';
                let (tck, tms, tdi) = (v & 4 != 0, v & 2 != 0, v & 1 != 0);
                if tck && !pins.tck {
                    b.with_client(id, |dap, bus| dap.jtag_clock(bus, &[(tms, tdi)]));
                }
                pins.tck = tck;
            }
            b'R' => {
                let tdo = b.with_client(id, |dap, bus| dap.jtag_tdo(bus));
                out.push(if tdo { b'1' } else { b'0' });
            }
            b'r'..=b'u' => {
                let v = byte - b'r';
                if v & 2 != 0 {
                    b.with_client(id, |dap, _| dap.jtag_trst());
                }
                b.client_srst(id, v & 1 != 0);
            }
            b'B' | b'b' => {}
            b'Q' => return Next::Quit,
            other => return Next::Garbage(other),
        }
    }
    Next::More
}
