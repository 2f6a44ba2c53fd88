//! shelftalk: on-device personalised shelf-talker copy for retail kiosks.
//!
//! See the README for the module map; each module's docs state its invariants.

pub mod bench;
pub mod catalog;
pub mod config;
pub mod crypto;
pub mod event;
pub mod profile;
pub mod store;
pub mod ui;
