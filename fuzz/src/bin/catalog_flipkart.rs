//! Fuzz target `catalog_flipkart`: see `shelftalk_fuzz::ingest` for what it checks.
fn main() {
    use shelftalk::ingest::CatalogFormat;
    afl::fuzz!(|data: &[u8]| {
        shelftalk_fuzz::ingest::check_catalog(data, CatalogFormat::Flipkart);
    });
}
