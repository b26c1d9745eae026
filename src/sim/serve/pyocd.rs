//! pyOCD's remote probe protocol (pyOCD 0.46 `pyocd/probe/tcp_probe_server.py` and
//! `tcp_client_probe.py`): one JSON request a line, `{"id", "request", "arguments"}`, one JSON
//! response a line, `{"id", "status", "error" | "result"}`.
//!
//! The board answers as the probe behind pyOCD's own server would: a CMSIS-DAP-like probe that
//! takes DP/AP register accesses. AP reads are posted on the wire, so each `read_ap` is the AP
//! read and the RDBUFF read that returns it; each write is followed by an RDBUFF read that checks
//! it ("check last write"). WAIT is retried as CMSIS-DAP firmware does, then the transfer is
//! aborted (DAPABORT) and reported as a timeout; FAULT and no ACK are reported with pyOCD's
//! status codes, which its client turns into `TransferFaultError` / `TransferError`.
//! Capabilities: `SWJ_SEQUENCE` (pyOCD switches the port to SWD itself) and
//! `BANKED_DP_REGISTERS`; AP selection and DP banks are pyOCD's (it writes SELECT). No memory
//! interface is offered, so pyOCD's own MEM-AP code drives CSW, TAR and DRW. `lock`/`unlock` are
//! accepted and do nothing more: every request is already one indivisible transaction.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::{json, Value};

use crate::h7::facts::{jtag as j, wire};
use crate::sim::board::{lock, ClientId, SharedBoard};
use crate::sim::dap::jtag::TapState;
use crate::sim::dap::regs::{dp_addr, Abort};
use crate::sim::dap::{Ack, Port, PortId, Request, Rw, WireMode};

/// pyOCD's protocol version (`PROTOCOL_VERSION`).
const PROTOCOL_VERSION: i64 = 1;
/// Longest request line taken; longer ones end the connection (a flood, not pyOCD).
const MAX_LINE: u64 = 1 << 20;

/// pyOCD's status codes (`DebugProbeRequestHandler.StatusCode`).
mod status {
    pub const GENERAL_ERROR: i64 = 1;
    pub const TRANSFER_ERROR: i64 = 10;
    pub const TRANSFER_TIMEOUT: i64 = 11;
    pub const TRANSFER_FAULT: i64 = 12;
}

/// A failed request: pyOCD status code and message.
struct Failure(i64, String);

fn general(message: impl Into<String>) -> Failure {
    Failure(status::GENERAL_ERROR, message.into())
}

/// One connection's state.
struct Conn {
    board: SharedBoard,
    id: ClientId,
    /// The protocol of `connect`, None before it.
    protocol: Option<WireMode>,
}

/// Serve one connection until the client closes it, or sends a line too long to be pyOCD's.
pub fn serve(stream: TcpStream, board: &SharedBoard, id: ClientId) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut conn = Conn {
        board: board.clone(),
        id,
        protocol: None,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") && n as u64 == MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "pyOCD request longer than 1 MiB: connection closed",
            ));
        }
        let response = conn.respond(&line);
        writer.write_all(response.to_string().as_bytes())?;
        writer.write_all(b"\n")?;
    }
}

impl Conn {
    /// The response line for one request line.
    fn respond(&mut self, line: &[u8]) -> Value {
        let request: Value = match serde_json::from_slice(line) {
            Ok(v @ Value::Object(_)) => v,
            _ => return error(Value::from(-1), general("invalid request format")),
        };
        let Some(id) = request.get("id").cloned() else {
            return error(Value::from(-1), general("missing request ID"));
        };
        let Some(name) = request.get("request").and_then(Value::as_str) else {
            return error(id, general("missing request field"));
        };
        let args = match request.get("arguments") {
            None => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return error(id, general("invalid request arguments format")),
        };
        match self.handle(name, &args) {
            Ok(Value::Null) => json!({"id": id, "status": 0}),
            Ok(result) => json!({"id": id, "status": 0, "result": result}),
            Err(f) => error(id, f),
        }
    }

    fn handle(&mut self, name: &str, args: &[Value]) -> Result<Value, Failure> {
        let count = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(general("malformed request; invalid number of arguments"))
            }
        };
        let int = |k: usize| -> Result<u64, Failure> {
            args.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| general(format!("argument {k} of `{name}` must be an integer")))
        };
        match name {
            "hello" => {
                count(1)?;
                match args[0].as_i64() {
                    Some(PROTOCOL_VERSION) => Ok(Value::Null),
                    _ => Err(general(format!(
                        "client requested unsupported protocol version {} (expected {PROTOCOL_VERSION})",
                        args[0]
                    ))),
                }
            }
            "readprop" => {
                count(1)?;
                self.property(args[0].as_str().unwrap_or(""))
            }
            "open" | "close" | "lock" | "unlock" | "flush" | "disconnect" => {
                count(0)?;
                if name == "disconnect" {
                    self.protocol = None;
                }
                Ok(Value::Null)
            }
            "connect" => {
                count(1)?;
                let mode = match args[0].as_str() {
                    Some("DEFAULT" | "SWD") => WireMode::Swd,
                    Some("JTAG") => WireMode::Jtag,
                    _ => return Err(general(format!("invalid protocol name {}", args[0]))),
                };
                self.protocol = Some(mode);
                let mut b = lock(&self.board);
                b.with_client(self.id, |dap, _| {
                    dap.set_transport(mode);
                    // A CMSIS-DAP configured for the STM32H7 chain: the DP is TAP 0.
                    dap.configure_jtag(&[j::DP_IR_LEN, j::BS_IR_LEN], 0);
                });
                Ok(Value::Null)
            }
            "swj_sequence" => {
                count(2)?;
                let (len, bits) = (int(0)?, args[1].clone());
                self.swj_sequence(len, &bits)
            }
            "set_clock" => {
                count(1)?;
                let hz = args[0]
                    .as_f64()
                    .ok_or_else(|| general("set_clock needs a frequency"))?;
                let khz = (hz / 1000.0).clamp(1.0, f64::from(u32::MAX)) as u32;
                lock(&self.board).with_client(self.id, |dap, _| dap.set_clock_khz(khz));
                Ok(Value::Null)
            }
            "reset" => {
                count(0)?;
                let mut b = lock(&self.board);
                b.client_srst(self.id, true);
                b.wait_ms(1);
                b.client_srst(self.id, false);
                Ok(Value::Null)
            }
            "assert_reset" => {
                count(1)?;
                let asserted = args[0]
                    .as_bool()
                    .ok_or_else(|| general("assert_reset needs true or false"))?;
                lock(&self.board).client_srst(self.id, asserted);
                Ok(Value::Null)
            }
            "is_reset_asserted" => {
                count(0)?;
                Ok(Value::Bool(lock(&self.board).nrst_low()))
            }
            "read_dp" => {
                count(1)?;
                let addr = int(0)?;
                self.transfers(&[Request::dp_read(addr as u8)])
                    .map(|v| json!(v[0]))
            }
            "write_dp" => {
                count(2)?;
                let req = Request::dp_write(int(0)? as u8, int(1)? as u32);
                self.transfers(&[req]).map(|_| Value::Null)
            }
            "read_ap" => {
                count(1)?;
                let addr = int(0)? as u8;
                self.transfers(&[Request::ap_read(addr)])
                    .map(|v| json!(v[0]))
            }
            "write_ap" => {
                count(2)?;
                let req = Request::ap_write(int(0)? as u8, int(1)? as u32);
                self.transfers(&[req]).map(|_| Value::Null)
            }
            "read_ap_multiple" => {
                count(2)?;
                let (addr, n) = (int(0)? as u8, int(1)?);
                if n > 1 << 16 {
                    return Err(general("read_ap_multiple: at most 65536 reads"));
                }
                let reqs = vec![Request::ap_read(addr); n as usize];
                self.transfers(&reqs).map(|v| json!(v))
            }
            "write_ap_multiple" => {
                count(2)?;
                let addr = int(0)? as u8;
                let values = args[1]
                    .as_array()
                    .ok_or_else(|| general("write_ap_multiple needs a list of values"))?;
                let reqs = values
                    .iter()
                    .map(|v| {
                        v.as_u64()
                            .map(|v| Request::ap_write(addr, v as u32))
                            .ok_or_else(|| general("write_ap_multiple: values must be integers"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.transfers(&reqs).map(|_| Value::Null)
            }
            "get_memory_interface_for_ap" => {
                count(2)?;
                // None: pyOCD drives the MEM-AP registers itself.
                Ok(Value::Null)
            }
            "has_swo" => Ok(Value::Bool(false)),
            "swo_start" | "swo_stop" | "swo_read" | "swd_sequence" | "jtag_sequence"
            | "read_mem" | "write_mem" | "read_block32" | "write_block32" | "read_block8"
            | "write_block8" => Err(general(format!(
                "`{name}` is not offered by this probe (see its capabilities)"
            ))),
            _ => Err(general("unknown request type")),
        }
    }

    fn property(&self, name: &str) -> Result<Value, Failure> {
        Ok(match name {
            "vendor_name" => json!("h7sh"),
            "product_name" => json!("virtual STM32H755 board"),
            "supported_wire_protocols" => json!(["DEFAULT", "SWD", "JTAG"]),
            "wire_protocol" => match self.protocol {
                Some(WireMode::Swd) => json!("SWD"),
                Some(WireMode::Jtag) => json!("JTAG"),
                None => Value::Null,
            },
            "capabilities" => json!(["SWJ_SEQUENCE", "BANKED_DP_REGISTERS"]),
            _ => return Err(general(format!("unknown property name '{name}' requested"))),
        })
    }

    /// `bits` is an integer of up to `len` bits, LSB first (JSON numbers may exceed 64 bits as
    /// Python sends them; such a sequence goes out 64 bits at a time from its decimal text).
    fn swj_sequence(&mut self, len: u64, bits: &Value) -> Result<Value, Failure> {
        if len > 1024 {
            return Err(general("swj_sequence: at most 1024 bits"));
        }
        // pyOCD sends at most 64 bits unless it uses dormant-state sequences (off by default,
        // `dap_swj_use_dormant`); a wider integer arrives as a float and is refused rather than
        // sent wrong. Bits beyond the integer's 64 are zeros.
        let bits = bits
            .as_u64()
            .ok_or_else(|| general("swj_sequence needs an integer of at most 64 bits"))?;
        let mut b = lock(&self.board);
        let jtag = self.protocol == Some(WireMode::Jtag);
        b.with_client(self.id, |dap, bus| {
            let mut left = len;
            let mut word = bits;
            while left > 0 {
                let n = left.min(64) as u8;
                dap.swj_sequence(bus, n, word);
                left -= u64::from(n);
                word = 0;
            }
            if jtag && dap.tap_state() == TapState::Reset {
                // The firmware's DAP_Transfer scans start from Run-Test/Idle.
                dap.jtag_sequence(bus, 1, false, 0);
            }
            dap.note_round_trip(PortId::Dp);
        });
        Ok(Value::Null)
    }

    /// Run `reqs` as one DAP_Transfer: AP reads fetched through RDBUFF, writes checked by a final
    /// RDBUFF read. The values of the reads, in order.
    fn transfers(&mut self, reqs: &[Request]) -> Result<Vec<u32>, Failure> {
        if self.protocol.is_none() {
            return Err(Failure(status::TRANSFER_ERROR, "not connected".into()));
        }
        let mut b = lock(&self.board);
        b.with_client(self.id, |dap, bus| {
            let first = reqs
                .first()
                .map(|r| dap.port_of(r.port))
                .unwrap_or(PortId::Dp);
            dap.note_round_trip(first);
            let mut out = Vec::new();
            let mut exchange = |req: Request| -> Result<u32, Failure> {
                for _ in 0..=wire::WAIT_RETRIES {
                    let resp = dap.transfer(bus, req);
                    match resp.ack {
                        Ack::Ok => return Ok(resp.data),
                        Ack::Wait => continue,
                        Ack::Fault => {
                            return Err(Failure(status::TRANSFER_FAULT, "FAULT ACK".into()))
                        }
                        Ack::NoAck => return Err(Failure(status::TRANSFER_ERROR, "no ACK".into())),
                    }
                }
                let mut abort = Abort(0);
                abort.set_dapabort(true);
                dap.transfer(bus, Request::dp_write(dp_addr::DPIDR_ABORT, abort.0));
                Err(Failure(
                    status::TRANSFER_TIMEOUT,
                    "WAIT ACK until the retries ran out".into(),
                ))
            };
            let rdbuff = Request::dp_read(dp_addr::RDBUFF_TARGETSEL);
            for req in reqs {
                match (req.port, req.rw) {
                    (Port::Ap, Rw::Read) => {
                        exchange(*req)?;
                        out.push(exchange(rdbuff)?);
                    }
                    (Port::Dp, Rw::Read) => out.push(exchange(*req)?),
                    _ => {
                        exchange(*req)?;
                    }
                }
            }
            if reqs.iter().any(|r| matches!(r.rw, Rw::Write(_))) {
                exchange(rdbuff)?;
            }
            Ok(out)
        })
    }
}

/// An error response.
fn error(id: Value, f: Failure) -> Value {
    json!({"id": id, "status": f.0, "error": f.1})
}
