//! No stale price, ever: copy cached for a product is never served after the catalog changes the
//! product's price. Drives the CLI with the real model: warm the cache for a demo product,
//! re-import the catalog with a new price, and check what `copy --json` serves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::Path;
use std::process::Command;

use shelftalk::catalog::{Minor, Product};
use shelftalk::copy::bench::false_price;
use shelftalk::copy::Currency;

mod common;
use common::model;

const SKU: &str = "FW-RUN-0001";
const OLD_ROW: &str =
    "FW-RUN-0001,Northpine Kite Running Shoe Sand,Northpine,Footwear > Running Shoes,152.99,,";
const NEW_ROW: &str =
    "FW-RUN-0001,Northpine Kite Running Shoe Sand,Northpine,Footwear > Running Shoes,139.99,,";

fn shelftalk(data: &Path, model: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", model)
        // What is served is under test, not speed: no budget stop on a loaded machine.
        .env("SHELFTALK_ENGINE_BUDGET_MS", "30000")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if args.contains(&"--json") {
        serde_json::from_slice(&out.stdout).unwrap()
    } else {
        serde_json::Value::Null
    }
}

fn copy(data: &Path, model: &Path, style: &str, seed: &str) -> serde_json::Value {
    shelftalk(
        data,
        model,
        &[
            "copy", "--sku", SKU, "--style", style, "--seed", seed, "--json",
        ],
    )
}

/// The demo's store currency (firmware-config/kiosk.toml).
fn usd() -> Currency {
    Currency {
        code: "USD".into(),
        symbol: "$".into(),
        aliases: vec!["USD".into(), "dollar".into(), "dollars".into()],
    }
}

fn product(price: i64) -> Product {
    Product {
        sku: SKU.into(),
        name: "Northpine Kite Running Shoe Sand".into(),
        brand: Some("Northpine".into()),
        category: vec!["Footwear".into(), "Running Shoes".into()],
        price: Minor(price),
        list_price: None,
        description: String::new(),
        tags: vec![],
    }
}

#[test]
fn a_new_price_is_served_after_the_catalog_changes_it() {
    let Some(model) = model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    shelftalk(&data, &model, &["keys", "init"]);
    shelftalk(&data, &model, &["import", "catalog", "demo/catalog.csv"]);

    // Warm the cache: model copy for some style and seed, then the same request from the cache.
    let styles = ["concise", "playful", "premium", "value"];
    let warmed = styles
        .iter()
        .flat_map(|style| ["42", "7", "1234"].map(move |seed| (*style, seed)))
        .find_map(|(style, seed)| {
            let first = copy(&data, &model, style, seed);
            (first["source"] == "model").then_some((style, seed, first))
        });
    let Some((style, seed, first)) = warmed else {
        panic!("the model never wrote passing copy for {SKU}; nothing to cache");
    };
    let hit = copy(&data, &model, style, seed);
    assert_eq!(hit["source"], "cache", "{hit}");
    assert_eq!(hit["text"], first["text"]);
    eprintln!("warmed ({style}, seed {seed}): {}", first["text"]);

    // Re-import the catalog with a new price for the product.
    let demo = std::fs::read_to_string(common::root().join("demo/catalog.csv")).unwrap();
    assert!(demo.contains(OLD_ROW));
    let changed = tmp.path().join("catalog.csv");
    std::fs::write(&changed, demo.replace(OLD_ROW, NEW_ROW)).unwrap();
    let import = shelftalk(
        &data,
        &model,
        &["import", "catalog", changed.to_str().unwrap(), "--json"],
    );
    assert_eq!(import["products_written"], 1, "{import}");

    // What is served now never shows the old price, and any price it states is the new one.
    let new = product(13999);
    let mut stated_new_price = false;
    let requests = std::iter::once((style, seed)).chain(styles.iter().map(|s| (*s, "42")));
    for (i, (style, seed)) in requests.enumerate() {
        let out = copy(&data, &model, style, seed);
        let text = out["text"].as_str().unwrap();
        eprintln!(
            "after the change ({style}, seed {seed}, {}): {text}",
            out["source"]
        );
        if i == 0 {
            assert_ne!(out["source"], "cache", "the warmed entry was served: {out}");
        }
        assert!(!text.contains("152.99"), "old price served: {out}");
        assert_eq!(out["verdict"]["verdict"], "pass", "{out}");
        assert_eq!(false_price(text, &new, &usd()), None, "{out}");
        stated_new_price |= text.contains("$139.99");
    }
    assert!(stated_new_price, "no served copy stated the new price");
}

/// Without a model the template states the new price at once: the catalog change reached the
/// copy path (no model needed, so this runs everywhere).
#[test]
fn template_copy_states_the_new_price_after_the_change() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let missing = tmp.path().join("no-model.gguf");
    shelftalk(&data, &missing, &["keys", "init"]);
    shelftalk(&data, &missing, &["import", "catalog", "demo/catalog.csv"]);
    let before = copy(&data, &missing, "value", "42");
    assert_eq!(before["source"], "template", "{before}");
    assert!(before["text"].as_str().unwrap().contains("$152.99"));
    let demo = std::fs::read_to_string(common::root().join("demo/catalog.csv")).unwrap();
    let changed = tmp.path().join("catalog.csv");
    std::fs::write(&changed, demo.replace(OLD_ROW, NEW_ROW)).unwrap();
    shelftalk(
        &data,
        &missing,
        &["import", "catalog", changed.to_str().unwrap()],
    );
    for style in ["concise", "playful", "premium", "value"] {
        let out = copy(&data, &missing, style, "42");
        let text = out["text"].as_str().unwrap();
        assert!(
            text.contains("$139.99") && !text.contains("152.99"),
            "{out}"
        );
        assert_eq!(false_price(text, &product(13999), &usd()), None, "{out}");
    }
}
