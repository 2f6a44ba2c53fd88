//! Importers against the real files in `SHELFTALK_REAL_DATA` (default `../shared/data/`; the
//! test needing them skips loudly without them, see `common::real_data`), hostile inputs, and a
//! grep of the raw database files for planted personal data.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use shelftalk::catalog::Minor;
use shelftalk::config::Config;
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::import::{self, Outcome};
use shelftalk::ingest::{CatalogFormat, EventFormat, Rules};
use shelftalk::profile::{self, Vault};
use shelftalk::store::{catalog, quarantine};
use shelftalk::vocab::LoyaltyNumber;

mod common;

const NOW: i64 = 1_795_000_000; // 2026-11-18

/// The shared real data directory when all three files are there (see `common::real_data`).
fn real_data() -> Option<PathBuf> {
    for file in [
        "flipkart_catalog_700.csv",
        "rees46_events_10k.csv",
        "online_retail_2011-12-05.csv",
    ] {
        common::real_data(file)?;
    }
    Some(common::real_data_dir())
}

fn vault(dir: &Path) -> (Config, Vault) {
    let config = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    let v = Vault::open(&config).unwrap();
    (config, v)
}

fn rules() -> Rules {
    Rules {
        max_price: Minor(100_000_000),
        now: NOW,
        ..Rules::default()
    }
}

fn events(v: &mut Vault, path: &Path) -> Outcome {
    import::events(
        v,
        path,
        EventFormat::Auto,
        &rules(),
        NOW,
        &ProgressBar::hidden(),
    )
    .unwrap()
}

fn catalog_import(v: &mut Vault, path: &Path) -> Outcome {
    import::catalog(
        v,
        path,
        CatalogFormat::Auto,
        &rules(),
        NOW,
        &ProgressBar::hidden(),
    )
    .unwrap()
}

fn counts(o: &Outcome) -> Vec<(String, u64)> {
    o.report
        .rules
        .iter()
        .map(|(k, v)| (k.clone(), v.count))
        .collect()
}

#[test]
fn real_files_import_with_pinned_quality_counts() {
    let Some(data) = real_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut v) = vault(tmp.path());

    let flipkart = catalog_import(&mut v, &data.join("flipkart_catalog_700.csv"));
    assert_eq!(
        (flipkart.report.accepted, flipkart.report.quarantined),
        (699, 1)
    );
    assert_eq!(counts(&flipkart), vec![("missing_field".into(), 1)]);
    assert_eq!(catalog::count(v.store.conn()).unwrap(), 699);

    let rees = events(&mut v, &data.join("rees46_events_10k.csv"));
    assert_eq!((rees.report.accepted, rees.report.quarantined), (9984, 15));
    assert_eq!(
        counts(&rees),
        vec![("absurd_price".into(), 11), ("duplicate".into(), 4)]
    );
    assert_eq!(rees.shoppers_new, 2864);

    let retail = events(&mut v, &data.join("online_retail_2011-12-05.csv"));
    assert_eq!(
        (retail.report.accepted, retail.report.quarantined),
        (5265, 66)
    );
    assert_eq!(
        counts(&retail),
        vec![
            ("absurd_price".into(), 5),
            ("duplicate".into(), 39),
            ("inconsistent_quantity".into(), 3),
            ("non_product_line".into(), 19)
        ]
    );

    // Quarantined rows are listed with their line numbers.
    let listed = quarantine::list(v.store.conn(), None, 1000).unwrap();
    assert_eq!(listed.len(), 1 + 15 + 66);
    assert!(listed.iter().all(|q| q.line >= 2));
    // Physical lines (Flipkart descriptions span several lines and end in CRLF).
    assert!(listed
        .iter()
        .any(|q| q.file.ends_with("flipkart_catalog_700.csv")
            && q.line == 4
            && q.field == "discounted_price"));
    assert!(listed
        .iter()
        .any(|q| q.file.ends_with("online_retail_2011-12-05.csv")
            && q.line == 167
            && q.rule == "non_product_line"));

    // Cancellations became returns; the customer's events open again from the sealed rows.
    let shopper = v
        .find(&LoyaltyNumber::parse("14075").unwrap())
        .unwrap()
        .expect("customer 14075 enrolled by the import");
    let evs = profile::open_events(v.store.conn(), &shopper).unwrap();
    assert!(!evs.is_empty());

    // Re-importing changes nothing.
    let before = v.store.summary().unwrap();
    for f in ["rees46_events_10k.csv", "online_retail_2011-12-05.csv"] {
        assert!(events(&mut v, &data.join(f)).already_imported);
    }
    assert!(catalog_import(&mut v, &data.join("flipkart_catalog_700.csv")).already_imported);
    let after = v.store.summary().unwrap();
    assert_eq!(
        (
            before.products,
            before.shoppers,
            before.sealed_rows,
            before.quarantined_rows
        ),
        (
            after.products,
            after.shoppers,
            after.sealed_rows,
            after.quarantined_rows
        )
    );
}

#[test]
fn overlapping_files_store_each_event_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut v) = vault(tmp.path());
    let a = tmp.path().join("a.jsonl");
    let b = tmp.path().join("b.jsonl");
    let line = |i: u32| {
        format!("{{\"at\":1790000000,\"kind\":\"purchase\",\"sku\":\"S{i}\",\"customer\":\"LC{i:08}\",\"price\":2.5}}\n")
    };
    std::fs::write(&a, (0..10).map(line).collect::<String>()).unwrap();
    std::fs::write(&b, (5..15).map(line).collect::<String>()).unwrap();
    assert_eq!(events(&mut v, &a).events_new, 10);
    let second = events(&mut v, &b);
    assert!(!second.already_imported);
    assert_eq!(
        second.events_new, 5,
        "the 5 shared rows are recognised by fingerprint"
    );
    let stats = catalog::stats_since(v.store.conn(), i64::MIN).unwrap();
    assert_eq!(stats.iter().map(|(_, s)| s.purchases).sum::<u64>(), 15);
}

#[test]
fn hostile_inputs_are_quarantined_or_refused_and_keep_earlier_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut v) = vault(tmp.path());
    let good = tmp.path().join("good.csv");
    std::fs::write(
        &good,
        "sku,name,brand,category,price,list_price,description\nG1,Good Lamp,Lumo,Home > Lighting,19.99,,Warm light\n",
    )
    .unwrap();
    catalog_import(&mut v, &good);

    // Truncated CSV: the last record's quote never closes.
    let truncated = tmp.path().join("truncated.csv");
    std::fs::write(
        &truncated,
        "sku,name,brand,category,price,list_price,description\nT1,Kettle,Boil,Home,25,,fine\nT2,\"Broken,Boil,Home,9,,cut off here",
    )
    .unwrap();
    let o = catalog_import(&mut v, &truncated);
    assert_eq!(o.report.accepted, 1);
    assert_eq!(o.report.quarantined, 1);

    // Invalid UTF-8 in one row: that row only.
    let mut bytes = b"sku,name,brand,category,price,list_price,description\nU1,Mug,Clay,Kitchen,5,,ok\nU2,Bad \xff\xfe name,Clay,Kitchen,5,,x\nU3,Bowl,Clay,Kitchen,6,,ok\n".to_vec();
    let utf8 = tmp.path().join("utf8.csv");
    std::fs::write(&utf8, &bytes).unwrap();
    let o = catalog_import(&mut v, &utf8);
    assert_eq!((o.report.accepted, o.report.count("invalid_utf8")), (2, 1));

    // A 10 MB field.
    bytes = b"sku,name,brand,category,price,list_price,description\nH1,Huge,Big,Misc,5,,".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    bytes.extend(b"\nH2,Small,Big,Misc,5,,fine\n");
    let huge = tmp.path().join("huge.csv");
    std::fs::write(&huge, &bytes).unwrap();
    let o = catalog_import(&mut v, &huge);
    assert_eq!(
        (o.report.accepted, o.report.count("oversized_field")),
        (1, 1)
    );

    // JSON lines with wrong types.
    let json = tmp.path().join("types.jsonl");
    std::fs::write(
        &json,
        "{\"at\":\"2026-01-01T00:00:00Z\",\"kind\":\"view\",\"sku\":\"G1\",\"quantity\":\"many\"}\n{\"at\":[1],\"kind\":\"view\",\"sku\":\"G1\"}\n{\"at\":\"2026-01-01T00:00:00Z\",\"kind\":\"view\",\"sku\":\"G1\"}\n",
    )
    .unwrap();
    let o = events(&mut v, &json);
    assert_eq!((o.report.accepted, o.report.quarantined), (1, 2));

    // Empty file and a directory: clear errors naming the path, nothing changes.
    let empty = tmp.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let err = import::catalog(
        &mut v,
        &empty,
        CatalogFormat::Auto,
        &rules(),
        NOW,
        &ProgressBar::hidden(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("empty.csv") && err.to_string().contains("empty"),
        "{err}"
    );
    let err = import::events(
        &mut v,
        tmp.path(),
        EventFormat::Auto,
        &rules(),
        NOW,
        &ProgressBar::hidden(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not a regular file")
            || err.to_string().contains("Is a directory"),
        "{err}"
    );

    // Everything imported before the hostile files is intact.
    let g1 = catalog::get(v.store.conn(), "G1").unwrap().unwrap();
    assert_eq!(g1.name, "Good Lamp");
    for sku in ["T1", "U1", "U3", "H2"] {
        assert!(catalog::exists(v.store.conn(), sku).unwrap(), "{sku}");
    }
}

#[test]
fn planted_personal_data_never_reaches_the_database_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, mut v) = vault(tmp.path());
    let loyalty = "LC77112233";
    let email = "jane.planted@example.org";
    let phone = "+44 20 7946 0321";
    let file = tmp.path().join("planted.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"at\":1790000000,\"kind\":\"purchase\",\"sku\":\"P1\",\"price\":3,\"customer\":\"{loyalty}\",\"email\":\"{email}\",\"phone\":\"{phone}\"}}\n\
             {{\"at\":1790000100,\"kind\":\"view\",\"sku\":\"P2\",\"price\":4,\"customer\":\"{email}\"}}\n\
             {{\"at\":1790000200,\"kind\":\"view\",\"sku\":\"P3\",\"price\":5,\"customer\":\"{phone}\"}}\n\
             {{\"at\":\"not a time\",\"kind\":\"view\",\"sku\":\"P4\",\"customer\":\"{loyalty}\",\"note\":\"{email} {phone}\"}}\n\
             {{\"at\":1790000300,\"kind\":\"view\",\"sku\":\"{loyalty} {email}\"}}\n"
        ),
    )
    .unwrap();
    let o = events(&mut v, &file);
    assert_eq!(o.shoppers_new, 3);
    assert!(v
        .find(&LoyaltyNumber::parse(loyalty).unwrap())
        .unwrap()
        .is_some());

    // The connection is still open: -wal and -shm exist and are checked too.
    let db = config.db_path();
    let mut checked = 0;
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        checked += 1;
        for needle in [
            loyalty,
            "77112233",
            email,
            "jane.planted",
            phone,
            "7946 0321",
            "79460321",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} found in {}",
                path.display()
            );
        }
    }
    assert!(checked >= 2, "database and WAL were grepped");
}

/// The `import_catalog` fuzz target's invariant (`fuzz/`): a product reads back from the store
/// as it was accepted, also when a category part held `>` (the store's path separator) or the
/// name was nothing but invisible characters (then it is quarantined, not stored nameless).
#[test]
fn accepted_products_read_back_from_the_store_as_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut v) = vault(tmp.path());
    let file = tmp.path().join("flipkart.csv");
    std::fs::write(
        &file,
        "uniq_id,product_name,product_category_tree,pid,retail_price,discounted_price,description,brand\n\
         1,Lamp,\"[\"\"A > B >> C\"\"]\",P1,10,5,d,b\n\
         2,\u{7f}\u{200b},\"[\"\"A\"\"]\",P2,10,5,d,b\n",
    )
    .unwrap();
    let o = catalog_import(&mut v, &file);
    assert_eq!((o.report.accepted, o.report.count("missing_field")), (1, 1));
    let stored = catalog::get(v.store.conn(), "P1").unwrap().unwrap();
    assert_eq!(stored.category, vec!["A", "B", "C"]);
    assert!(catalog::get(v.store.conn(), "P2").unwrap().is_none());
}
