//! The house has no circles and no upward arrows: every `crate::…` path in a top-level module of
//! the library names a module in the same row of the README's module table or a row below it,
//! and the import graph has no cycle. Also the privacy walls: nothing in `feedback`, `sync`,
//! `wire` or `hq` reaches `profile`, and nothing in `hq` or `wire` reaches `copy`, directly or
//! through any module they import.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The README's module table, top to bottom: one `Vec` of module names per row.
fn layers() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let table = readme
        .split("## Modules")
        .nth(1)
        .expect("README has a `## Modules` section");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1))
        .map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(|m| m.trim_end_matches(".rs").trim_end_matches('/').to_string())
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect()
}

/// Module names after `crate::` in `text` (comments removed), including `crate::{a, b::c}`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(item.trim()));
                        item.clear();
                    }
                    c if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            out.insert(ident(item.trim()));
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Top-level library module → the top-level modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(ROOT).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if matches!(top.as_str(), "main" | "lib" | "cli") {
                continue; // the binary and the crate root sit above everything
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let deps = g.entry(top.clone()).or_default();
            deps.extend(crate_paths(&text).into_iter().filter(|m| *m != top));
        }
    }
    g
}

fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for d in g.get(&m).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn the_paths_parser_sees_groups_and_nesting() {
    let found = crate_paths(
        "use crate::a::B;\nuse crate::{c, d::{E, F}, g as h};\n// crate::commented\nlet x = crate::i::j();",
    );
    assert_eq!(
        found,
        ["a", "c", "d", "g", "i"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn no_module_imports_one_above_it_and_there_is_no_circle() {
    let layers = layers();
    let row: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let g = graph();
    let mut problems = Vec::new();
    for (module, deps) in &g {
        let Some(&mine) = row.get(module.as_str()) else {
            problems.push(format!(
                "`{module}` is missing from the README's module table"
            ));
            continue;
        };
        for dep in deps {
            match row.get(dep.as_str()) {
                None => problems.push(format!("`{module}` names `{dep}`, not in the module table")),
                Some(&theirs) if theirs < mine => problems.push(format!(
                    "`{module}` (row {mine}) imports `{dep}` (row {theirs}), which is above it"
                )),
                Some(_) => {}
            }
        }
        if reaches(&g, module).contains(module) {
            problems.push(format!("`{module}` is on a circle of imports"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn privacy_walls_hold() {
    let g = graph();
    for module in ["feedback", "sync", "wire", "hq"] {
        let r = reaches(&g, module);
        assert!(
            !r.contains("profile"),
            "`{module}` reaches `profile`: {r:?}"
        );
    }
    for module in ["hq", "wire"] {
        let r = reaches(&g, module);
        assert!(!r.contains("copy"), "`{module}` reaches `copy`: {r:?}");
        assert!(!r.contains("sync"), "`{module}` reaches `sync`: {r:?}");
    }
}
