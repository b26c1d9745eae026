//! h7sh: a debug shell for dual-core STM32H7 parts (H745/H747/H755/H757).
//!
//! See `docs/ARCHITECTURE.md` for how the modules fit together.
pub mod cli;
pub mod files;
pub mod fsutil;
pub mod h7;
pub mod lang;
pub mod memory;
pub mod regset;
pub mod render;
pub mod repl;
pub mod script;
pub mod session;
pub mod sim;
pub mod svd;
pub mod target;
