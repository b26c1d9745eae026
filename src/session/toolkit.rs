//! The STM32H7 toolkit commands: `ob`, `ob set`, `doctor`, `report`, `snap`, `diff`.
//! (Being built: see issue 5.)

use super::{Outcome, Session, ShellError};
use crate::lang::Command;
use crate::render::Style;

/// What the toolkit keeps between commands (snapshots).
#[derive(Debug, Default)]
pub struct ToolkitState {}

/// Outcomes of the toolkit commands.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToolkitOutcome {}

impl ToolkitOutcome {
    /// Text form.
    pub fn text(&self, _style: &Style) -> String {
        match *self {}
    }
}

impl Session {
    pub(super) fn execute_toolkit(&mut self, cmd: &Command) -> Result<Outcome, ShellError> {
        Err(ShellError::Unsupported {
            message: format!("`{}` is not available in this build yet", cmd.to_line()),
            hint: "read the option bytes with `show FLASH` meanwhile".into(),
        })
    }
}
