//! The virtual board answers as silicon does (issue 12), checked through the shell on every
//! probe personality.

use clap::Parser;
use h7sh::session::{Outcome, Session};
use h7sh::sim::probe::ProbeKind;

fn session(kind: ProbeKind) -> Session {
    let cli = h7sh::cli::Cli::parse_from([
        "h7sh",
        "--sim",
        "nucleo-h755zi-q",
        "--sim-probe",
        kind.name(),
        "--no-svd-cache",
    ]);
    h7sh::cli::connect(&cli).unwrap_or_else(|e| panic!("connect with {kind}: {e}"))
}

fn values(s: &mut Session, cmd: &str) -> Vec<u32> {
    match s
        .run_line(cmd)
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
        .pop()
    {
        Some(Outcome::Memory { values, .. }) => values,
        other => panic!("{cmd}: {other:?}"),
    }
}

/// Item 9: the device electronic signature in system memory (RM0399 §61, `FLASHSIZE_BASE`,
/// `UID_BASE` of ST's header): the flash size reads 0x0800 (KiB) through the CM7, the unique ID
/// is three non-zero words, and the CM4 cannot read the flash-size register.
#[test]
fn the_device_signature_reads_as_on_silicon() {
    for kind in ProbeKind::ALL {
        let mut s = session(kind);
        assert_eq!(values(&mut s, "read 0x1FF1E880/h"), [0x0800], "{kind}");
        let uid = values(&mut s, "read 0x1FF1E800 3");
        assert!(uid.iter().all(|w| *w != 0), "{kind}: {uid:x?}");
        if kind == ProbeKind::StlinkV2J27 {
            continue; // AP0 only on that firmware.
        }
        s.run_line("core cm4").unwrap();
        assert_eq!(
            values(&mut s, "read 0x1FF1E800 3"),
            uid,
            "{kind}: same UID for the CM4"
        );
        let e = s.run_line("read 0x1FF1E880").unwrap_err();
        assert_eq!(e.kind(), "access", "{kind}: {e}");
    }
}
