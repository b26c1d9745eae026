//! STM32H7 dual-core knowledge shared by the virtual board, the target layer and the toolkit.
//!
//! `facts` is the one table of addresses and bits (RM0399 / ARMv7-M / ADIv5); nothing else in the
//! crate writes these numbers inline. `ob` is the option-byte table and programming engine,
//! `doctor` names known boot-state problems from register readings, `report` formats the
//! paste-ready Markdown report.

pub mod ap3;
pub mod doctor;
pub mod facts;
pub mod ob;
pub mod report;
