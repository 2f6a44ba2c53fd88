//! Fuzz target `import_catalog`: see `shelftalk_fuzz::import` for what it checks.
fn main() {
    let kiosk = shelftalk_fuzz::import::Kiosk::new();
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::import::check_catalog_import(&kiosk, data);
    });
}
