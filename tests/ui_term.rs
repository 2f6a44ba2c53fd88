//! The terminal guard's panic hook chains to the hook that was there before.

#![allow(clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use shelftalk::ui::term::install_panic_hook;

#[test]
fn panic_hook_chains_to_the_previous_hook_and_installs_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    std::panic::set_hook(Box::new(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    }));
    install_panic_hook();
    install_panic_hook();
    let result = std::panic::catch_unwind(|| std::panic::panic_any("boom"));
    assert!(result.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(std::panic::take_hook());
}
