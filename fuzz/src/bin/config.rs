//! Fuzz target `config`: see `shelftalk_fuzz::config` for what it checks.
fn main() {
    let files = shelftalk_fuzz::config::Files::new();
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::config::check_config(&files, data);
    });
}
