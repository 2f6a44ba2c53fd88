//! Content a kiosk takes up: prompt packs (`PromptPack::parse` and the prompt builder), model
//! manifests (`Manifest::parse` and `verify`) and release signature files
//! (`content::signed::verify`).
//!
//! Invariants:
//! - prompt pack: a pack that parses has every style with an example, writes out and parses
//!   back as itself, and builds prompts without panicking whose shape it cannot change: per
//!   style exactly one `Product:` and one `Copy:` label per example in the prefix, no prompt
//!   marker anywhere, and a request's suffix identical to the one the built-in pack gives (the
//!   suffix comes from the product facts and audience alone);
//! - manifest: a manifest that parses has a 64-hex-digit sha256, writes out and parses back as
//!   itself, and `verify` of a file answers by size first, then hash;
//! - signature file: `verify` accepts exactly the one valid signature (right format, kind, a
//!   trusted key, the signature's bytes) and refuses everything else with a typed error.

use std::path::{Path, PathBuf};

use shelftalk::catalog::{Minor, Product};
use shelftalk::content::signed::{self, Kind};
use shelftalk::copy::manifest::ManifestError;
use shelftalk::copy::prompt::PROMPT_MARKERS;
use shelftalk::copy::{Audience, Currency, Manifest, ProductFacts, PromptBuilder, PromptPack};
use shelftalk::crypto::release::{ReleaseKey, ReleasePublicKey};
use shelftalk::vocab::{PriceBand, SegmentKey, Style};

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn request_product() -> Product {
    Product {
        sku: "FW-RUN-0001".into(),
        name: "Northpine Kite Running Shoe Sand".into(),
        brand: Some("Northpine".into()),
        category: vec!["Footwear".into(), "Running Shoes".into()],
        price: Minor(15_299),
        list_price: Some(Minor(19_999)),
        description: "Essential running shoe with reflective heel tabs.".into(),
        tags: vec!["footwear".into(), "running".into()],
    }
}

/// The prompt-pack target.
pub fn check_prompt_pack(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(pack) = PromptPack::parse(text, Path::new("fuzz.toml")) else {
        return;
    };
    for style in Style::ALL {
        let spec = pack
            .styles
            .get(&style)
            .expect("a parsed pack has every style");
        assert!(!spec.examples.is_empty(), "a style without examples");
    }
    assert_eq!(pack.id(), format!("{}@{}", pack.name, pack.version));
    let written = toml::to_string(&pack).expect("a pack serialises");
    let again = PromptPack::parse(&written, Path::new("again.toml"))
        .unwrap_or_else(|e| panic!("a pack written out does not parse: {e}\n{written}"));
    assert_eq!(again, pack, "a pack written out parses differently");

    let currency = Currency::default();
    let builder = PromptBuilder::new(&pack, &currency);
    let builtin = PromptBuilder::new(&PromptPack::builtin().expect("builtin"), &currency);
    let facts = ProductFacts::new(&request_product(), &currency);
    let segment = SegmentKey::new("footwear", Some(PriceBand::Mid));
    for style in Style::ALL {
        let audience = Audience {
            segment: &segment,
            brand_fan: true,
        };
        let prompt = builder.prompt(&facts, audience, style);
        let examples = pack.styles[&style].examples.len();
        assert_eq!(
            count(&prompt.prefix, "Product:"),
            examples,
            "{style}: `Product:` labels in the prefix vs examples:\n{}",
            prompt.prefix
        );
        assert_eq!(
            count(&prompt.prefix, "Copy:"),
            examples,
            "{style}: `Copy:` labels in the prefix vs examples:\n{}",
            prompt.prefix
        );
        let full = prompt.full();
        for marker in PROMPT_MARKERS {
            assert!(
                !full.contains(marker),
                "{style}: prompt marker {marker:?} in the prompt:\n{full}"
            );
        }
        let reference = builtin.prompt(&facts, audience, style);
        assert_eq!(
            prompt.suffix, reference.suffix,
            "the pack changed a request's suffix"
        );
    }
}

/// Model manifests and a small "model" file to verify them against.
pub struct Manifests {
    _dir: tempfile::TempDir,
    model: PathBuf,
    model_bytes: &'static [u8],
}

impl Manifests {
    pub fn new() -> Self {
        let dir = crate::import::scratch_dir();
        let model = dir.path().join("model.gguf");
        let model_bytes: &'static [u8] = b"GGUF fuzz model";
        std::fs::write(&model, model_bytes).expect("model");
        Self {
            _dir: dir,
            model,
            model_bytes,
        }
    }
}

impl Default for Manifests {
    fn default() -> Self {
        Self::new()
    }
}

/// The model-manifest target.
pub fn check_manifest(files: &Manifests, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text, Path::new("fuzz.toml")) else {
        return;
    };
    assert_eq!(manifest.sha256.len(), 64, "sha256 of the wrong length");
    assert!(manifest.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    let written = toml::to_string(&manifest).expect("a manifest serialises");
    let again = Manifest::parse(&written, Path::new("again.toml"))
        .unwrap_or_else(|e| panic!("a manifest written out does not parse: {e}\n{written}"));
    assert_eq!(again, manifest, "a manifest written out parses differently");
    let len = files.model_bytes.len() as u64;
    let sha = shelftalk::crypto::hex(
        ring::digest::digest(&ring::digest::SHA256, files.model_bytes).as_ref(),
    );
    match manifest.verify(&files.model) {
        Ok(()) => assert!(manifest.size == len && manifest.sha256.eq_ignore_ascii_case(&sha)),
        Err(ManifestError::WrongSize {
            expected, actual, ..
        }) => assert!(expected == manifest.size && actual == len && expected != len),
        Err(ManifestError::WrongHash { .. }) => {
            assert!(manifest.size == len && !manifest.sha256.eq_ignore_ascii_case(&sha))
        }
        Err(e) => panic!("unexpected verify error: {e}"),
    }
}

/// The bytes whose signature the signature target checks (fixed, so the committed seed with
/// their valid signature stays valid; only the signature file is fuzzed).
pub const SIGNED_PACK: &str = "name = \"fuzz\"\nversion = \"1\"\n";

/// A release key (the test Ed25519 key of `tests/feedback_wire.rs`) and a signature file path.
pub struct Signatures {
    _dir: tempfile::TempDir,
    sig_path: PathBuf,
    trusted: Vec<ReleasePublicKey>,
    /// The one valid signature of [`SIGNED_PACK`] (bytes).
    golden: Vec<u8>,
}

impl Signatures {
    pub fn new() -> Self {
        let dir = crate::import::scratch_dir();
        let key_path = dir.path().join("release.pk8");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_path)
                .expect("key file");
            f.write_all(&shelftalk::crypto::from_hex(crate::hq::TEST_PKCS8).expect("hex"))
                .expect("write key");
        }
        let key = ReleaseKey::load(&key_path).expect("release key");
        let file = signed::sign(&key, Kind::Pack, SIGNED_PACK.as_bytes());
        let golden = shelftalk::crypto::from_hex(&file.signature).expect("hex");
        Self {
            sig_path: dir.path().join("pack.toml.sig"),
            _dir: dir,
            trusted: vec![key.public()],
            golden,
        }
    }

    /// The valid signature file of [`SIGNED_PACK`] (a seed).
    pub fn golden_file(&self) -> String {
        signed::SignatureFile {
            format: signed::FORMAT.into(),
            kind: Kind::Pack,
            key: self.trusted[0].to_string(),
            signature: shelftalk::crypto::hex(&self.golden),
        }
        .render()
    }
}

impl Default for Signatures {
    fn default() -> Self {
        Self::new()
    }
}

/// The release-signature target. The first input byte chooses the kind checked (even: pack,
/// odd: model), the rest is the signature file.
pub fn check_signature(s: &Signatures, data: &[u8]) {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let kind = if mode % 2 == 0 {
        Kind::Pack
    } else {
        Kind::Model
    };
    std::fs::write(&s.sig_path, file).expect("write");
    let result = signed::verify(
        &s.trusted,
        kind,
        Path::new("pack.toml"),
        SIGNED_PACK.as_bytes(),
        &s.sig_path,
    );
    // What the file says, read independently.
    let parsed: Option<signed::SignatureFile> = std::str::from_utf8(file)
        .ok()
        .filter(|_| file.len() <= 4096)
        .and_then(|t| toml::from_str(t).ok());
    let valid = parsed.as_ref().is_some_and(|p| {
        p.format == signed::FORMAT
            && p.kind == Kind::Pack
            && kind == Kind::Pack
            && ReleasePublicKey::parse(&p.key).is_ok_and(|k| s.trusted.contains(&k))
            && shelftalk::crypto::from_hex(&p.signature).as_deref() == Some(&s.golden[..])
    });
    match result {
        Ok(verified) => {
            assert!(valid, "accepted a signature that is not the valid one");
            assert_eq!(verified.key, s.trusted[0]);
            assert_eq!(verified.signature_text.as_bytes(), file);
        }
        Err(e) => {
            assert!(!valid, "refused the valid signature: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
}
