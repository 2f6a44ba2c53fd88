//! Fuzz target `prompt_pack`: see `shelftalk_fuzz::content` for what it checks.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::content::check_prompt_pack(data);
    });
}
