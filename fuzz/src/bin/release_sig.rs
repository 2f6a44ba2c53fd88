//! Fuzz target `release_sig`: see `shelftalk_fuzz::content` for what it checks.
fn main() {
    let sigs = shelftalk_fuzz::content::Signatures::new();
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::content::check_signature(&sigs, data);
    });
}
