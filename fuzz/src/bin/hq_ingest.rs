//! Fuzz target `hq_ingest`: see `shelftalk_fuzz::hq` for what it checks.
fn main() {
    let hq = shelftalk_fuzz::hq::Hq::new();
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::hq::check_request(&hq, data);
    });
}
