//! Errors of the virtual board, each with a hint a user can act on.

use std::path::PathBuf;

/// What went wrong creating or persisting the virtual board.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A name that is neither a built-in scenario nor a `.toml` file.
    #[error("unknown scenario `{name}`")]
    UnknownScenario { name: String },
    /// A scenario file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    ScenarioRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A scenario file is not valid TOML or has an unknown key (the message names it).
    #[error("scenario {origin}: {message}")]
    ScenarioParse { origin: String, message: String },
    /// A key has a value outside its range.
    #[error("scenario {origin}: bad value for `{key}`: {reason}")]
    BadValue {
        origin: String,
        key: String,
        reason: String,
    },
    /// A flash image could not be read or does not fit in flash.
    #[error("flash image {path}: {message}")]
    FlashImage { path: PathBuf, message: String },
    /// The state file could not be read or written.
    #[error("state file {path}: {source}")]
    StateIo {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state file exists but is not a valid h7sh state file.
    #[error("state file {path} is corrupt: {reason}")]
    StateCorrupt { path: PathBuf, reason: String },
}

impl SimError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            SimError::UnknownScenario { .. } => format!(
                "use one of the built-in scenarios ({}) or a path to a .toml file",
                crate::sim::scenario::Scenario::builtin_names()
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SimError::ScenarioRead { .. } => "check the path and that the file is readable".into(),
            SimError::ScenarioParse { .. } => {
                "fix the named key or line; docs/sim.md lists every scenario key".into()
            }
            SimError::BadValue { .. } => {
                "use a value that fits the field (RM0399 option-byte widths); see docs/sim.md".into()
            }
            SimError::FlashImage { .. } => {
                "paths are relative to the scenario file; images must lie inside 0x08000000..0x08200000"
                    .into()
            }
            SimError::StateIo { .. } => {
                "check that the directory of the state file exists and is writable".into()
            }
            SimError::StateCorrupt { .. } => {
                "the file was not written by h7sh or is damaged; move it away to start from the scenario's factory state"
                    .into()
            }
        }
    }
}
