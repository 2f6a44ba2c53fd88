//! Terminal input for the screens: a reader thread polls crossterm for events and hands decoded
//! keys and resizes to the async loop.
//!
//! Invariants:
//! - The thread polls with a short timeout, so [`KeyReader::stop`] ends it within one poll.
//! - Only events [`crate::ui::term::decode`] understands are passed on.
//! - The screen loops read it as an [`EventSource`], like any other source of keys.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::ui::term::{decode, EventSource, TermEvent};

const POLL: Duration = Duration::from_millis(50);

/// Decoded terminal events from a background thread.
pub struct KeyReader {
    rx: mpsc::UnboundedReceiver<TermEvent>,
    stop: Arc<AtomicBool>,
}

impl KeyReader {
    pub fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("shelftalk-keys".into())
            .spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    match crossterm::event::poll(POLL) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(_) => break,
                    }
                    let Ok(event) = crossterm::event::read() else {
                        break;
                    };
                    if let Some(decoded) = decode(&event) {
                        if tx.send(decoded).is_err() {
                            break;
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot read the keyboard");
        }
        Self { rx, stop }
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl EventSource for KeyReader {
    /// The next event; `None` when the terminal is gone.
    fn next_event(&mut self) -> impl Future<Output = Option<TermEvent>> + Send {
        self.rx.recv()
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop();
    }
}
