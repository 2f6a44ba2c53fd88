//! The running daemon takes up a catalog import without a restart: after `import catalog` with a
//! new price and a new product, the daemon refits its store models between sessions, and the copy
//! it serves states the new price, never the old one. Real daemon on a demo data dir, the real
//! CLI for the import; no model (template copy states the price as the catalog has it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use shelftalk::config::Config;
use shelftalk::copy::service::CopyOrder;
use shelftalk::daemon::{demo, Daemon};
use shelftalk::vocab::{SegmentKey, Style};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_import_reaches_the_running_daemon() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("kiosk");
    let base = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let setup = demo::prepare(&base, &root.join("demo")).unwrap();
    let mut config = Config::load(Some(&setup.config_file), Vec::new()).unwrap();
    // These tests check the personalised path: no holdout.
    config.experiment = shelftalk::experiment::ExperimentConfig::off();
    config.data_dir = data.clone();
    config.model_path = data.join("no-model.gguf");
    let (answers, _rx) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config, Some(setup.config_file.clone()), answers).unwrap();
    let price = |d: &Daemon, sku: &str| d.model().product(sku).map(|p| p.price.display());
    assert_eq!(price(&daemon, "FW-RUN-0001").as_deref(), Some("152.99"));
    assert!(!daemon.refresh_models().unwrap(), "nothing imported yet");

    // The store's new price list: a new price and a new product.
    let catalog = std::fs::read_to_string(root.join("demo/catalog.csv")).unwrap();
    let mut changed = catalog.replace(
        "152.99,,Essential running shoe",
        "139.99,,Essential running shoe",
    );
    changed.push_str("FW-RUN-9999,Northpine Kite Racer,Northpine,Footwear > Running Shoes,99.00,,A light racing flat.\n");
    assert_ne!(changed, catalog);
    let file = tmp.path().join("catalog-new.csv");
    std::fs::write(&file, changed).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(root)
        .arg("--config")
        .arg(&setup.config_file)
        .arg("--data-dir")
        .arg(&data)
        .args(["import", "catalog"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Between sessions the daemon refits (its periodic task calls exactly this).
    let d = Arc::clone(&daemon);
    assert!(tokio::task::spawn_blocking(move || d.refresh_models())
        .await
        .unwrap()
        .unwrap());
    assert_eq!(price(&daemon, "FW-RUN-0001").as_deref(), Some("139.99"));
    assert_eq!(price(&daemon, "FW-RUN-9999").as_deref(), Some("99"));

    // What the screen would be served for the product now states the new price only.
    let product = daemon.model().product("FW-RUN-0001").cloned().unwrap();
    for style in Style::ALL {
        let text = daemon.copier().desk().template(&CopyOrder {
            product: product.clone(),
            segment: SegmentKey::all(),
            brand_fan: false,
            style,
            seed: 1,
        });
        assert!(text.contains("139.99"), "{style}: {text}");
        assert!(!text.contains("152.99"), "{style}: old price in {text}");
    }
    let stopper = Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
}
