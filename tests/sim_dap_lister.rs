//! The virtual probe registered as a probe-rs plugin: listed beside real probes, opened by
//! selector.

use h7sh::sim::board::{lock, Board, SharedBoard};
use h7sh::sim::faults::FaultPlan;
use h7sh::sim::probe::{register_probe_driver, SimProbeFactory};
use h7sh::sim::testbus::TestBus;
use probe_rs::probe::list::Lister;
use probe_rs::probe::{DebugProbeError, DebugProbeSelector, ProbeCreationError, ProbeFactory};
use std::sync::{Mutex, OnceLock};

/// The shell's side of the hook: build a board and keep a clone.
static OPENED: OnceLock<Mutex<Vec<SharedBoard>>> = OnceLock::new();

fn open_board() -> Result<SharedBoard, String> {
    let board = Board::new(Box::new(TestBus::new()), FaultPlan::default()).into_shared();
    OPENED
        .get_or_init(Default::default)
        .lock()
        .map_err(|e| e.to_string())?
        .push(board.clone());
    Ok(board)
}

#[test]
fn listed_and_opened_through_probe_rs() {
    assert!(register_probe_driver(open_board));
    assert!(
        !register_probe_driver(open_board),
        "second registration is a no-op"
    );

    let lister = Lister::new();
    let sims: Vec<_> = lister
        .list_all()
        .into_iter()
        .filter(|p| p.is_probe_type::<SimProbeFactory>())
        .collect();
    assert_eq!(sims.len(), 1, "listed once");
    let info = &sims[0];
    assert_eq!(info.identifier, "h7sh virtual board");
    assert_eq!((info.vendor_id, info.product_id), (0x1209, 0x0001));
    assert_eq!(info.serial_number.as_deref(), Some("sim"));
    assert!(info
        .to_string()
        .starts_with("h7sh virtual board -- 1209:0001:sim"));

    let selector: DebugProbeSelector = "1209:0001:sim".parse().unwrap();
    let mut probe = lister.open(selector).expect("open by selector");
    assert_eq!(probe.get_name(), "h7sh virtual board");
    probe.attach_to_unspecified().unwrap();
    // The default personality is a CMSIS-DAP, whose probe-rs driver reads no target voltage.
    assert_eq!(probe.get_target_voltage().unwrap(), None);

    let opened = OPENED.get().unwrap().lock().unwrap();
    assert_eq!(opened.len(), 1);
    assert!(lock(&opened[0]).stats().round_trips >= 2);

    drop(opened);
    assert!(info.open().is_ok());
    let other: DebugProbeSelector = "1209:0002".parse().unwrap();
    let err = ProbeFactory::open(&SimProbeFactory, &other).unwrap_err();
    assert!(
        matches!(
            err,
            DebugProbeError::ProbeCouldNotBeCreated(ProbeCreationError::NotFound)
        ),
        "{err:?}"
    );
}
