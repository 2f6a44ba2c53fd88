//! Signed content against the real binary: the publisher's `release keygen` / `release sign`,
//! a kiosk provisioned to trust one release key, and `update` refusing unsigned, wrongly signed
//! (another key), tampered-after-signing and unconfigured (no trusted key) updates before
//! anything is written — the active content pointer unchanged — and taking up a signed one.
//!
//! Only `a_signed_pack_is_taken_up` loads the model (the install check's test generation); the
//! refusals happen before any model is touched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use shelftalk::copy::{Manifest, PromptPack};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_shelftalk");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_HQ_URL", "http://127.0.0.1:9")
        .env("SHELFTALK_ENGINE_BUDGET_MS", "30000")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::run_with_stdin(cmd, "")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", text(&out));
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

/// `release keygen --out DIR`: the private key file and the public key.
fn keygen(dir: &Path) -> (PathBuf, String) {
    let out = ok(run(
        &[
            "release",
            "keygen",
            "--out",
            dir.to_str().unwrap(),
            "--json",
        ],
        &[],
    ));
    let v = json(&out);
    (
        PathBuf::from(v["private_file"].as_str().unwrap()),
        v["public_key"].as_str().unwrap().to_string(),
    )
}

/// A kiosk provisioned in `tmp/data`, trusting the release key in `release_pub` (a file).
struct Kiosk {
    data: PathBuf,
    config: PathBuf,
}

impl Kiosk {
    fn provision(tmp: &Path, release_pub: &Path) -> Self {
        let data = tmp.join("data");
        let pin = tmp.join("pin");
        std::fs::write(&pin, "246810\n").unwrap();
        ok(run(
            &[
                "--data-dir",
                data.to_str().unwrap(),
                "provision",
                "--plain-keys",
                "--store",
                "s1",
                "--kiosk",
                "k1",
                "--pin-file",
                pin.to_str().unwrap(),
                "--release-key",
                release_pub.to_str().unwrap(),
            ],
            &[],
        ));
        let config = data.join("kiosk.toml");
        Self { data, config }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all, env)
    }

    /// `status --json`'s content: generation and pack served.
    fn serving(&self) -> (u64, String) {
        let v = json(&ok(self.run(&["status", "--json"], &[])));
        let c = &v["content"];
        assert!(c["error"].is_null(), "{v}");
        (
            c["generation"].as_u64().unwrap(),
            c["pack"].as_str().unwrap().to_string(),
        )
    }

    /// `update pack FILE [extra…]`, which must be refused with `expect` in its message and leave
    /// nothing installed and the pointer where it was.
    fn refused(&self, args: &[&str], env: &[(&str, &str)], expect: &[&str]) {
        let before = self.serving();
        let installed = std::fs::read_dir(self.data.join("content")).map_or(0, |d| d.count());
        let out = self.run(args, env);
        assert!(!out.status.success(), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("update refused, the active content keeps serving"),
            "{err}"
        );
        for want in expect {
            assert!(err.contains(want), "{want:?} not in: {err}");
        }
        assert_eq!(self.serving(), before, "the active content is unchanged");
        assert_eq!(
            std::fs::read_dir(self.data.join("content")).map_or(0, |d| d.count()),
            installed,
            "nothing written"
        );
    }
}

/// The built-in pack under another version, written to `path`.
fn write_pack(path: &Path, version: &str) -> String {
    let mut pack = PromptPack::builtin().unwrap();
    pack.version = version.into();
    std::fs::write(path, toml::to_string(&pack).unwrap()).unwrap();
    pack.id()
}

fn sign_pack(key: &Path, pack: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "release",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--pack",
        pack.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, &[])
}

#[test]
fn release_keygen_writes_a_private_key_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("publisher");
    let (private, public) = keygen(&dir);
    assert_eq!(public.len(), 64);
    let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pub_file = std::fs::read_to_string(dir.join("release.pub")).unwrap();
    assert_eq!(pub_file.trim(), public);
    let before = std::fs::read(&private).unwrap();
    let again = run(&["release", "keygen", "--out", dir.to_str().unwrap()], &[]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("refusing to overwrite existing key file"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read(&private).unwrap(), before);
    // The human form says how kiosks trust it.
    let human = ok(run(
        &[
            "release",
            "keygen",
            "--out",
            tmp.path().join("b").to_str().unwrap(),
        ],
        &[],
    ));
    assert!(text(&human).contains("release_keys"), "{}", text(&human));
}

#[test]
fn unsigned_wrongly_signed_and_tampered_updates_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(&tmp.path().join("publisher"));
    let (other_key, other_public) = keygen(&tmp.path().join("someone-else"));
    let kiosk = Kiosk::provision(tmp.path(), &tmp.path().join("publisher/release.pub"));

    // The config names the trusted key; provisioning again with it changes nothing.
    let shown = json(&ok(kiosk.run(&["config", "--json"], &[])));
    assert_eq!(shown["release_keys"], serde_json::json!([public]));
    assert_eq!(kiosk.serving().0, 0);

    let pack = tmp.path().join("pack.toml");
    let pack_arg = pack.to_str().unwrap();
    write_pack(&pack, "2027.1.0");
    let update = ["update", "pack", pack_arg];

    // Unsigned.
    kiosk.refused(
        &update,
        &[],
        &["pack.toml", "is not signed", "pack.toml.sig"],
    );

    // Signed by a key the kiosk does not trust.
    let signed = ok(sign_pack(&other_key, &pack, &["--json"]));
    let v = json(&signed);
    assert_eq!(v["key"], other_public.as_str());
    assert_eq!(v["signature_file"], format!("{pack_arg}.sig"));
    kiosk.refused(
        &update,
        &[],
        &["pack.toml", "does not trust", &other_public],
    );

    // Signed by the trusted key, then altered.
    ok(sign_pack(&key, &pack, &[]));
    let original = std::fs::read_to_string(&pack).unwrap();
    std::fs::write(&pack, original.replace("Style: concise", "Style: loud")).unwrap();
    kiosk.refused(&update, &[], &["pack.toml", "altered after signing"]);
    std::fs::write(&pack, &original).unwrap();

    // Another pack's signature named with --sig.
    let second = tmp.path().join("second.toml");
    write_pack(&second, "2027.2.0");
    ok(sign_pack(&key, &second, &[]));
    let second_sig = format!("{}.sig", second.display());
    kiosk.refused(
        &["update", "pack", pack_arg, "--sig", &second_sig],
        &[],
        &["altered after signing"],
    );

    // A pack's signature does not sign a model manifest.
    let gguf = tmp.path().join("tiny.gguf");
    std::fs::write(&gguf, b"GGUF tiny").unwrap();
    let mut manifest = Manifest::builtin().unwrap();
    manifest.size = 9;
    manifest.sha256 = ring::digest::digest(&ring::digest::SHA256, b"GGUF tiny")
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let manifest_file = tmp.path().join("tiny.toml");
    std::fs::write(&manifest_file, toml::to_string(&manifest).unwrap()).unwrap();
    let model_update = [
        "update",
        "model",
        "--gguf",
        gguf.to_str().unwrap(),
        "--manifest",
        manifest_file.to_str().unwrap(),
    ];
    let mut with_pack_sig = model_update.to_vec();
    with_pack_sig.extend_from_slice(&["--sig", &second_sig]);
    kiosk.refused(&with_pack_sig, &[], &["signs a prompt pack"]);
    // A model signed by the untrusted key: refused before the GGUF is copied.
    let signed_model = run(
        &[
            "release",
            "sign",
            "--key",
            other_key.to_str().unwrap(),
            "--gguf",
            gguf.to_str().unwrap(),
            "--manifest",
            manifest_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(text(&ok(signed_model)).contains("tiny.toml.sig"));
    kiosk.refused(&model_update, &[], &["tiny.toml", "does not trust"]);
    // The publisher refuses to sign a manifest that does not describe the GGUF.
    std::fs::write(&gguf, b"GGUF TINY").unwrap();
    let mismatch = run(
        &[
            "release",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--gguf",
            gguf.to_str().unwrap(),
            "--manifest",
            manifest_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!mismatch.status.success());
    assert!(text(&mismatch).contains("tiny.gguf"), "{}", text(&mismatch));

    // A kiosk that trusts no release key refuses every update, saying how to configure one.
    kiosk.refused(
        &update,
        &[("SHELFTALK_RELEASE_KEYS", "")],
        &["trusts no release key", "release_keys", "--release-key"],
    );
    // A malformed key in the config is an error naming the key.
    let bad = kiosk.run(&["config"], &[("SHELFTALK_RELEASE_KEYS", "abc")]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("`release_keys`"), "{}", text(&bad));
}

#[test]
fn provision_adds_release_keys_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, first) = keygen(&tmp.path().join("p1"));
    let (_, second) = keygen(&tmp.path().join("p2"));
    let kiosk = Kiosk::provision(tmp.path(), &tmp.path().join("p1/release.pub"));
    let again = |key: &str| {
        let out = ok(run(
            &[
                "--data-dir",
                kiosk.data.to_str().unwrap(),
                "provision",
                "--plain-keys",
                "--store",
                "s1",
                "--kiosk",
                "k1",
                "--release-key",
                key,
                "--json",
            ],
            &[],
        ));
        json(&out)["changed"].as_bool().unwrap()
    };
    assert!(!again(&first), "the same key again changes nothing");
    // A second key (rotation at the publisher) is added beside the first, given as hex.
    assert!(again(&second.to_uppercase()));
    let shown = json(&ok(kiosk.run(&["config", "--json"], &[])));
    assert_eq!(shown["release_keys"], serde_json::json!([first, second]));
    let bad = run(
        &[
            "--data-dir",
            kiosk.data.to_str().unwrap(),
            "provision",
            "--plain-keys",
            "--store",
            "s1",
            "--kiosk",
            "k1",
            "--release-key",
            "/no/such/release.pub",
        ],
        &[],
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("/no/such/release.pub"),
        "{}",
        text(&bad)
    );
}

#[test]
fn a_signed_pack_is_taken_up() {
    let Some(model) = common::model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(&tmp.path().join("publisher"));
    let kiosk = Kiosk::provision(tmp.path(), &tmp.path().join("publisher/release.pub"));
    let model_env = [("SHELFTALK_MODEL_PATH", model.to_str().unwrap())];
    ok(kiosk.run(&["import", "catalog", "demo/catalog.csv"], &[]));

    let pack = tmp.path().join("summer.toml");
    let id = write_pack(&pack, "2027.6.0");
    ok(sign_pack(&key, &pack, &[]));
    let out = ok(kiosk.run(
        &["update", "pack", pack.to_str().unwrap(), "--json"],
        &model_env,
    ));
    let v = json(&out);
    assert_eq!(v["generation"], 1);
    assert_eq!(v["pack"], id.as_str());
    assert_eq!(v["signed_by"], public.as_str());
    assert_eq!(kiosk.serving(), (1, id.clone()));
    let v = json(&ok(kiosk.run(&["status", "--json"], &[])));
    assert_eq!(v["content"]["pack_signed_by"], public.as_str());
    assert!(
        v["content"]["model_signed_by"].is_null(),
        "the built-in model"
    );
    let installed = kiosk.data.join(format!("content/packs/{id}.toml"));
    assert!(installed.exists());
    assert!(kiosk
        .data
        .join(format!("content/packs/{id}.toml.sig"))
        .exists());

    // The installed pack altered in place is no longer served: status says why.
    let text_before = std::fs::read_to_string(&installed).unwrap();
    std::fs::write(&installed, text_before.replace("concise", "sloppy")).unwrap();
    let v = json(&ok(kiosk.run(&["status", "--json"], &[])));
    let error = v["content"]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{id}.toml")) && error.contains("altered after signing"),
        "{error}"
    );
    std::fs::write(&installed, text_before).unwrap();
    assert_eq!(kiosk.serving(), (1, id));
}
