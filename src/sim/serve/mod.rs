//! The virtual board served to debuggers h7sh did not write (`--serve`, `sim serve`): OpenOCD
//! through `remote_bitbang` (bit-level JTAG into the board's scan chain), pyOCD through its
//! remote probe protocol (DP/AP registers as JSON lines) and probe-rs's Black Magic Probe driver
//! through the BMP remote protocol, alongside the shell's own session.
//!
//! One board, one lock: each request (a pyOCD line, a chunk of bitbang bytes) runs while its
//! connection holds the board, so transactions of the shell and of every client are serialised
//! as a shared probe serialises them. Each front end has its own debug-port context
//! (`Board::add_client`): its SWJ protocol, TAP state, SELECT, CSW and TAR are its own, as a
//! shared probe's firmware keeps them per client, while the chip, its memory, the cores and NRST
//! are one. `sim stats` counts each front end's traffic apart.
//!
//! Each listener runs on a thread of its own, each connection too; a listener takes a bounded
//! number of connections at once (one for remote_bitbang, whose client owns the TAP), and a
//! connection that sends something outside its protocol is closed. Listening is on the loopback
//! address unless the user names another.

pub mod bitbang;
pub mod bmp;
pub mod pyocd;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::sim::board::{lock, ClientId, SharedBoard};

/// A front end the board can be served through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    /// pyOCD's remote probe protocol (`pyocd ... -u remote:HOST:PORT`).
    Pyocd,
    /// OpenOCD's remote_bitbang (`adapter driver remote_bitbang`).
    Bitbang,
    /// The Black Magic Probe remote protocol (probe-rs: `--probe 1d50:6018:HOST:PORT`).
    Bmp,
}

impl Frontend {
    pub const ALL: [Frontend; 3] = [Frontend::Pyocd, Frontend::Bitbang, Frontend::Bmp];

    /// The name in `--serve NAME=ADDR`.
    pub fn name(self) -> &'static str {
        match self {
            Frontend::Pyocd => "pyocd",
            Frontend::Bitbang => "bitbang",
            Frontend::Bmp => "bmp",
        }
    }

    /// The port used when only the name is given: pyOCD's `DEFAULT_PORT`, and the port the
    /// h7sh docs use for remote_bitbang.
    pub fn default_port(self) -> u16 {
        match self {
            Frontend::Pyocd => 5555,
            Frontend::Bitbang => 3335,
            Frontend::Bmp => 2000,
        }
    }

    /// Connections served at once.
    fn max_connections(self) -> usize {
        match self {
            Frontend::Pyocd => 4,
            Frontend::Bitbang | Frontend::Bmp => 1,
        }
    }

    fn parse(name: &str) -> Option<Frontend> {
        Frontend::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One `NAME[=ADDR]` of a serve spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub frontend: Frontend,
    /// `HOST:PORT` to bind (loopback unless named).
    pub addr: String,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("unknown front end `{0}`")]
    UnknownFrontend(String),
    #[error("bad address `{addr}` for {frontend}: {why}")]
    BadAddress {
        frontend: &'static str,
        addr: String,
        why: String,
    },
    #[error("cannot listen on {addr} for {frontend}: {source}")]
    Listen {
        frontend: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("nothing to serve")]
    Empty,
}

impl ServeError {
    pub fn hint(&self) -> String {
        match self {
            ServeError::UnknownFrontend(_) | ServeError::Empty | ServeError::BadAddress { .. } => {
                "name front ends as NAME[=[HOST:]PORT], comma-separated: \
                 `pyocd=127.0.0.1:5555,bitbang=3335,bmp=2000` (pyocd, bitbang, bmp; loopback \
                 when no host)"
                    .into()
            }
            ServeError::Listen { .. } => {
                "pick a free port (`bitbang=0` takes any free one and prints it)".into()
            }
        }
    }
}

/// Parse `pyocd=127.0.0.1:5555,bitbang=3335,...`.
pub fn parse_spec(spec: &str) -> Result<Vec<Endpoint>, ServeError> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, addr) = match item.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (item, None),
        };
        let frontend =
            Frontend::parse(name).ok_or_else(|| ServeError::UnknownFrontend(name.to_string()))?;
        let bad = |why: &str| ServeError::BadAddress {
            frontend: frontend.name(),
            addr: addr.unwrap_or("").to_string(),
            why: why.to_string(),
        };
        let addr = match addr {
            None => format!("127.0.0.1:{}", frontend.default_port()),
            Some(a) if a.parse::<u16>().is_ok() => format!("127.0.0.1:{a}"),
            Some(a) => match a.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    a.to_string()
                }
                _ => return Err(bad("expected PORT or HOST:PORT")),
            },
        };
        out.push(Endpoint { frontend, addr });
    }
    if out.is_empty() {
        return Err(ServeError::Empty);
    }
    Ok(out)
}

/// A listener that is running.
#[derive(Debug, Clone)]
pub struct Listening {
    pub frontend: Frontend,
    /// The bound address (a port 0 resolved).
    pub local: SocketAddr,
}

impl Listening {
    /// How a user connects a client to it.
    pub fn how_to_connect(&self) -> String {
        let a = self.local;
        match self.frontend {
            Frontend::Pyocd => {
                format!("pyocd: listening on {a} (pyocd commander -u remote:{a} -t cortex_m)")
            }
            Frontend::Bitbang => format!(
                "bitbang: listening on {a} (openocd -c \"adapter driver remote_bitbang; \
                 remote_bitbang host {}; remote_bitbang port {}; transport select jtag\" -c \
                 \"set DUAL_CORE 1\" -f target/stm32h7x.cfg)",
                a.ip(),
                a.port()
            ),
            Frontend::Bmp => format!(
                "bmp: listening on {a} (h7sh --probe 1d50:6018:{a}; probe-rs's Black Magic \
                 Probe driver)"
            ),
        }
    }
}

/// Bind `ep` and serve `board` on it from a thread of its own.
pub fn start(board: &SharedBoard, ep: &Endpoint) -> Result<Listening, ServeError> {
    let listen_err = |source| ServeError::Listen {
        frontend: ep.frontend.name(),
        addr: ep.addr.clone(),
        source,
    };
    let listener = TcpListener::bind(&ep.addr).map_err(listen_err)?;
    let local = listener.local_addr().map_err(listen_err)?;
    let id = lock(board).add_client(&format!("{} {local}", ep.frontend.name()));
    let frontend = ep.frontend;
    let board = board.clone();
    std::thread::Builder::new()
        .name(format!("serve-{}", frontend.name()))
        .spawn(move || accept_loop(listener, board, id, frontend))
        .map_err(listen_err)?;
    Ok(Listening { frontend, local })
}

fn accept_loop(listener: TcpListener, board: SharedBoard, id: ClientId, frontend: Frontend) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if active.load(Ordering::SeqCst) >= frontend.max_connections() {
            // Busy: the client sees its connection closed at once.
            drop(stream);
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (board, active) = (board.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("serve-{}-conn", frontend.name()))
            .spawn(move || {
                lock(&board).client_connected(id, true);
                // A client that goes away or breaks the protocol only ends its connection.
                let _ = serve_connection(stream, &board, id, frontend);
                lock(&board).client_connected(id, false);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // No thread for it: the stream was moved into the failed closure and is closed.
        }
    }
}

fn serve_connection(
    stream: TcpStream,
    board: &SharedBoard,
    id: ClientId,
    frontend: Frontend,
) -> std::io::Result<()> {
    match frontend {
        Frontend::Pyocd => pyocd::serve(stream, board, id),
        Frontend::Bitbang => bitbang::serve(stream, board, id),
        Frontend::Bmp => bmp::serve(stream, board, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_loopback_defaults() {
        let eps = parse_spec("pyocd, bitbang=4444 ,pyocd=0.0.0.0:1").unwrap();
        assert_eq!(
            eps,
            vec![
                Endpoint {
                    frontend: Frontend::Pyocd,
                    addr: "127.0.0.1:5555".into()
                },
                Endpoint {
                    frontend: Frontend::Bitbang,
                    addr: "127.0.0.1:4444".into()
                },
                Endpoint {
                    frontend: Frontend::Pyocd,
                    addr: "0.0.0.0:1".into()
                },
            ]
        );
        assert!(matches!(
            parse_spec("gdb=1"),
            Err(ServeError::UnknownFrontend(n)) if n == "gdb"
        ));
        assert!(matches!(
            parse_spec("bitbang=host"),
            Err(ServeError::BadAddress { .. })
        ));
        assert!(matches!(parse_spec(" , "), Err(ServeError::Empty)));
    }
}
