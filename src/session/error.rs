//! The one error type a command can end with, each with a kind and a hint.

use crate::lang::ParseError;
use crate::svd::{ResolveError, SvdError};
use crate::target::TargetError;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("{0}")]
    Svd(#[from] SvdError),
    /// A request the shell refuses to carry out as asked (read-only, too wide, side effect...).
    #[error("{message}")]
    Refused { message: String, hint: String },
    /// A value or argument that does not fit.
    #[error("{message}")]
    BadValue { message: String, hint: String },
    #[error("interrupted")]
    Interrupted,
    #[error("{message}")]
    Unsupported { message: String, hint: String },
    #[error("{message}")]
    Io { message: String, hint: String },
    /// A script stopped (its message starts with `file:line:col:`); `kind` is the kind of the
    /// error inside the script (e.g. `ap3-unreachable`) or a script kind (`script`, `limit`...).
    #[error("{message}")]
    Script {
        message: String,
        hint: String,
        kind: &'static str,
    },
}

impl ShellError {
    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> ShellError {
        ShellError::Refused {
            message: message.into(),
            hint: hint.into(),
        }
    }
    pub fn bad_value(message: impl Into<String>, hint: impl Into<String>) -> ShellError {
        ShellError::BadValue {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Machine-readable category (`kind` of the JSON error object).
    pub fn kind(&self) -> &'static str {
        match self {
            ShellError::Parse(_) => "parse",
            ShellError::Resolve(_) => "unknown-name",
            ShellError::Target(e) => e.kind(),
            ShellError::Svd(_) => "svd",
            ShellError::Refused { .. } => "refused",
            ShellError::BadValue { .. } => "bad-value",
            ShellError::Interrupted => "interrupted",
            ShellError::Unsupported { .. } => "unsupported",
            ShellError::Io { .. } => "io",
            ShellError::Script { kind, .. } => kind,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            ShellError::Parse(e) => e.hint.clone(),
            ShellError::Resolve(e) => e.hint(),
            ShellError::Target(e) => e.hint(),
            ShellError::Svd(e) => e.hint(),
            ShellError::Refused { hint, .. }
            | ShellError::BadValue { hint, .. }
            | ShellError::Unsupported { hint, .. }
            | ShellError::Io { hint, .. }
            | ShellError::Script { hint, .. } => hint.clone(),
            ShellError::Interrupted => {
                "the command stopped between two accesses; nothing was left half-written".into()
            }
        }
    }
}
