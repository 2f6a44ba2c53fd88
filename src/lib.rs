//! shelftalk: on-device personalised shelf-talker copy for retail kiosks.
//!
//! See the README for the module map; each module's docs state its invariants.
//!
//! These docs are for the appliance's maintainers: a public item's docs name the private
//! constants and helpers that decide it (`ZH_MONEY_CUES`, `mixed_hash`). Read them with
//! `cargo doc --document-private-items`, where those links resolve.
#![allow(rustdoc::private_intra_doc_links)]

pub mod audit;
pub mod bench;
pub mod catalog;
pub mod config;
pub mod content;
pub mod control;
pub mod copy;
pub mod crypto;
pub mod daemon;
pub mod event;
pub mod experiment;
pub mod feedback;
pub mod health;
pub mod hq;
pub mod i18n;
pub mod import;
pub mod ingest;
pub mod locale;
pub mod notify;
pub mod numbers;
pub mod personalise;
pub mod profile;
pub mod provision;
pub mod recommend;
pub mod redact;
pub mod store;
pub mod sync;
pub mod ui;
pub mod unprivileged;
pub mod vocab;
pub mod wire;
