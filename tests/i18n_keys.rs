//! The message ids the code names and the ids the catalogs have are the same set: every
//! `kiosk-…`, `console-…`, `reason-…` or `price-…` string literal under `src/` is a message of the
//! `en` catalog (so no screen shows a bare id), and every message of the catalog is named
//! somewhere in the code (no dead strings to translate). `src/i18n.rs`'s own tests check that
//! every locale has the same ids as `en`.

use std::collections::BTreeSet;
use std::path::Path;

const PREFIXES: [&str; 4] = ["kiosk-", "console-", "reason-", "price-"];

fn catalog_ids() -> BTreeSet<String> {
    let text = std::fs::read_to_string("locales/en/shelftalk.ftl").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_once(" ="))
        .map(|(id, _)| id.trim().to_owned())
        .collect()
}

/// String literals of the form `"<prefix>[a-z][a-z0-9-]*"` in every `.rs` file under `dir`.
fn ids_in_code(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            ids_in_code(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for literal in text.split('"').skip(1).step_by(2) {
                // `kiosk-01` is a kiosk's id, not a message: message ids start with a word.
                let is_id = PREFIXES.iter().any(|p| {
                    literal
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()))
                }) && literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !literal.ends_with('-');
                if is_id {
                    out.insert(literal.to_owned());
                }
            }
        }
    }
}

#[test]
fn code_and_catalog_name_the_same_messages() {
    let catalog = catalog_ids();
    assert!(catalog.len() > 50, "catalog not read: {catalog:?}");
    let mut code = BTreeSet::new();
    ids_in_code(Path::new("src"), &mut code);
    let unknown: Vec<_> = code.difference(&catalog).collect();
    let unused: Vec<_> = catalog.difference(&code).collect();
    assert!(
        unknown.is_empty(),
        "ids in the code but not in the catalog: {unknown:?}"
    );
    assert!(
        unused.is_empty(),
        "ids in the catalog no code names: {unused:?}"
    );
}
