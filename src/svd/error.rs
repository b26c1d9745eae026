//! Errors of the `svd` module. Every variant carries a hint a user can act on.

use std::path::PathBuf;

/// A name that did not resolve to exactly one peripheral, register or field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no register name given")]
    Empty,
    #[error("`{name}` is not a register name: {reason}")]
    Invalid { name: String, reason: String },
    #[error("unknown name `{name}`")]
    Unknown {
        name: String,
        /// "Did you mean" candidates, best first (may be empty).
        suggestions: Vec<String>,
    },
    #[error("`{name}` is ambiguous: {}", candidates.join(", "))]
    Ambiguous {
        name: String,
        /// Canonical names (`PERIPH.REG[.FIELD]`) of every match, sorted.
        candidates: Vec<String>,
    },
}

impl ResolveError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Empty => {
                "give a name such as FLASH.OPTSR_CUR.BCM4 or FLASH_OPTSR_CUR.BCM4".into()
            }
            Self::Invalid { .. } => {
                "names use letters, digits, `_`, `.` and `[n]` (e.g. RCC_GCR.BOOT_C2, NVIC.ISER[0])"
                    .into()
            }
            Self::Unknown { suggestions, .. } if !suggestions.is_empty() => {
                format!("did you mean {}?", suggestions.join(", "))
            }
            Self::Unknown { .. } => {
                "use `find PATTERN` to search names and descriptions, or Tab to complete".into()
            }
            Self::Ambiguous { candidates, .. } => {
                format!("write the dotted name: {}", candidates.join(" or "))
            }
        }
    }
}

/// Failure to load an SVD, a patch or the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SvdError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed SVD {}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Malformed {
        path: PathBuf,
        /// Line of the error when svd-parser reports one.
        line: Option<u32>,
        message: String,
    },
    #[error("SVD patch {} failed: {message}", patch.display())]
    Patch { patch: PathBuf, message: String },
    #[error("config file {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
}

impl SvdError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Io { .. } => {
                "check the path; pick another SVD with --svd FILE or H7SH_SVD, or omit it to use the built-in register set".into()
            }
            Self::Malformed { .. } => {
                "the file is not a valid CMSIS-SVD: use ST's STM32H7x5/x7 _CM7.svd (STM32CubeIDE, STM32CubeProgrammer or the Keil pack ship it)".into()
            }
            Self::Patch { .. } => {
                "fix or remove that patch file (svdtools YAML format: https://github.com/rust-embedded/svdtools)".into()
            }
            Self::Config { .. } => {
                "the config file takes `svd = \"PATH\"`, optional `svd_cm4 = \"PATH\"` and `svd_patches = [\"PATH\", ...]`".into()
            }
        }
    }
}
