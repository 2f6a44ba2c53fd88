//! Fuzz target `model_manifest`: see `shelftalk_fuzz::content` for what it checks.
fn main() {
    let files = shelftalk_fuzz::content::Manifests::new();
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::content::check_manifest(&files, data);
    });
}
