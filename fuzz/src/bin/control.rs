//! Fuzz target `control`: see `shelftalk_fuzz::control` for what it checks.
fn main() {
    let control = shelftalk_fuzz::control::Control::new();
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::control::check_session(&control, data);
    });
}
