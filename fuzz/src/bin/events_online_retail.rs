//! Fuzz target `events_online_retail`: see `shelftalk_fuzz::ingest` for what it checks.
fn main() {
    use shelftalk::ingest::EventFormat;
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::ingest::check_events(data, EventFormat::OnlineRetail);
    });
}
