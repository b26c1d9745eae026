//! `run`, `eval` and `record`, and the hook that lets a recording see every command.
//! (Being built: see issue 4.)

use super::{Outcome, Session, ShellError};
use crate::lang::Command;
use crate::render::Style;

/// Scripting state kept by the session (the active recording).
#[derive(Debug, Default)]
pub struct ScriptState {}

/// Outcomes of the scripting commands.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ScriptOutcome {}

impl ScriptOutcome {
    /// Text form.
    pub fn text(&self, _style: &Style) -> String {
        match *self {}
    }
}

impl Session {
    pub(super) fn execute_scripting(&mut self, cmd: &Command) -> Result<Outcome, ShellError> {
        Err(ShellError::Unsupported {
            message: format!("`{}` is not available in this build yet", cmd.to_line()),
            hint: "run commands with -c \"...\" meanwhile".into(),
        })
    }

    /// Called after every command with its result (a recording appends it).
    pub(super) fn after_execute(&mut self, _cmd: &Command, _result: &Result<Outcome, ShellError>) {}

    /// The script recorded so far, if a recording is active (for `report`).
    pub fn recorded_script(&self) -> Option<String> {
        None
    }
}
