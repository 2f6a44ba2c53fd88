//! The default model's trimmed vocabulary (`models/derive.py`, README § The language model)
//! against the published one, on the text the kiosk reads: the prompt packs, both demo catalogs,
//! the Chinese fixture catalog and, when present, the shared real data.
//!
//! The trim's invariant: text of the kiosk's scripts tokenizes to the same pieces with both
//! files, so prompts reach the model as they did. A character the trim leaves out shows here as
//! different pieces (byte tokens where the published vocabulary has a token: `<0x0A>` for a
//! newline in the trim's first draft); the test names the file, line and both tokenizations.
//! Both files are found in `models/` (`models/fetch.sh` keeps the published file beside the
//! trimmed one); without either, the test says loudly that it skipped, and fails under
//! `SHELFTALK_REQUIRE_MODEL=1`. Only the vocabularies are loaded.
#![cfg(feature = "llama")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::PathBuf;

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use shelftalk::copy::Manifest;

mod common;
use common::root;

/// The tokens `text` tokenizes to, with the engine's flags (BOS as for a prefix), each as its
/// text in the vocabulary: a byte token is `<0x0A>`, not the newline token `\n`, though both
/// decode to the same byte.
fn pieces(model: &LlamaModel, text: &str) -> Vec<String> {
    let vocab = model.vocab();
    vocab
        .tokenize(text.as_bytes(), true, false)
        .into_iter()
        .map(|t| {
            vocab
                .text(t)
                .map_or_else(|| format!("#{}", t.0), |s| s.to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn text_the_kiosk_reads_tokenizes_as_the_published_vocabulary_does() {
    let Some(trimmed) = common::model() else {
        return;
    };
    let manifest = Manifest::builtin().unwrap();
    let published_name = manifest
        .source
        .published
        .expect("the shipped manifest names the published file")
        .file;
    let published = root().join("models").join(&published_name);
    if !published.exists() {
        assert!(
            std::env::var("SHELFTALK_REQUIRE_MODEL").as_deref() != Ok("1"),
            "the published model {} is missing (run models/fetch.sh)",
            published.display()
        );
        eprintln!(
            "\n*** SKIPPED: the published model {} is missing (run models/fetch.sh) ***\n",
            published.display()
        );
        return;
    }
    let backend = LlamaBackend::init().unwrap();
    let params = LlamaModelParams::default().with_vocab_only(true);
    let trimmed = LlamaModel::load_from_file(&backend, &trimmed, &params).unwrap();
    let published = LlamaModel::load_from_file(&backend, &published, &params).unwrap();
    assert!(
        trimmed.vocab().n_tokens() < published.vocab().n_tokens(),
        "the model is not trimmed"
    );

    let mut files: Vec<PathBuf> = [
        "prompt-packs/default.toml",
        "prompt-packs/zh-CN.toml",
        "demo/catalog.csv",
        "demo/zh-CN/catalog.csv",
        "tests/fixtures/zh_catalog.csv",
    ]
    .iter()
    .map(|f| root().join(f))
    .collect();
    let real = common::real_data_dir();
    let shared = ["flipkart_catalog_700.csv", "online_retail_2011-12-05.csv"];
    files.extend(shared.iter().map(|f| real.join(f)).filter(|p| p.exists()));

    let mut tokens = 0usize;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Each line with its newline, as prompts carry them, and the prompt packs whole.
        let mut texts: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n + 1, format!("{l}\n")))
            .collect();
        if file.extension().is_some_and(|e| e == "toml") {
            texts.push((0, text.clone()));
        }
        for (line, text) in texts {
            let want = pieces(&published, &text);
            let got = pieces(&trimmed, &text);
            assert_eq!(
                got,
                want,
                "{}:{line}: {text:?} tokenizes differently with the trimmed vocabulary",
                file.display()
            );
            tokens += want.len();
        }
    }
    println!(
        "{tokens} tokens from {} files, the same pieces with both vocabularies",
        files.len()
    );
    assert!(tokens > 10_000, "{tokens}");
}
