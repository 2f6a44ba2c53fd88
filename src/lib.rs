//! shelftalk: on-device personalised shelf-talker copy for retail kiosks.
//!
//! See the README for the module map; each module's docs state its invariants.

pub mod catalog;
pub mod event;
pub mod recommend;
