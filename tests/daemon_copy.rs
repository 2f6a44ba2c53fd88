//! The daemon's copy against the real model, the real binary and a real SQLite file: copy cached
//! per product × segment × style and warmed while idle; model and prompt-pack updates — a broken
//! candidate is refused and the old content keeps serving, a good one is switched in atomically
//! and a running daemon takes it up only between sessions; copy nobody waits for any more (a
//! session that left the screen, warm-up when a shopper arrives) is cancelled in flight. Every
//! update here is release-signed
//! (`tests/signed_content.rs` covers the refusals of unsigned and wrongly signed ones).
//!
//! The engine's wall-clock budget is raised here: these tests check what is served, not how fast
//! (the benchmarks measure that), and must not depend on the machine's load.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shelftalk::config::Config;
use shelftalk::content::{self, signed};
use shelftalk::copy::service::CopyOrder;
use shelftalk::copy::{Manifest, PromptPack};
use shelftalk::crypto::release::ReleaseKey;
use shelftalk::daemon::copier::{Job, LoadState};
use shelftalk::daemon::Daemon;
use shelftalk::ui::kiosk::{Input, RequestId, SessionId};
use shelftalk::vocab::{SegmentKey, Style};

mod common;
use common::model;

/// This binary's release key pair: the private key file and the public key (hex), which every
/// kiosk here trusts.
fn release() -> &'static (PathBuf, String) {
    static KEY: OnceLock<(PathBuf, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let made = ReleaseKey::generate(&dir.join("release"), &shelftalk::crypto::rng()).unwrap();
        (made.private_file, made.public_key)
    })
}

/// Signs `file` (of `kind`) with [`release`]'s key into `<file>.sig`.
fn sign(file: &Path, kind: signed::Kind) {
    let key = ReleaseKey::load(&release().0).unwrap();
    let sig = signed::sign(&key, kind, &std::fs::read(file).unwrap());
    std::fs::write(signed::signature_path(file), sig.render()).unwrap();
}

fn shelftalk(data: &Path, model: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", model)
        .env("SHELFTALK_RELEASE_KEYS", &release().1)
        .env("SHELFTALK_HQ_URL", "http://127.0.0.1:9")
        .env("SHELFTALK_ENGINE_BUDGET_MS", BUDGET_MS)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

const BUDGET_MS: &str = "30000";

/// The config the in-process daemon runs with.
fn config(data: &Path, model: &Path) -> Config {
    let mut config = Config {
        data_dir: data.to_path_buf(),
        model_path: model.to_path_buf(),
        hq_url: "http://127.0.0.1:9".into(),
        release_keys: vec![release().1.clone()],
        experiment: shelftalk::experiment::ExperimentConfig::off(),
        ..Config::default()
    };
    config.engine.budget_ms = BUDGET_MS.parse().unwrap();
    config
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A manifest for `size`/`sha256` under `name`, otherwise the shipped one.
fn write_manifest(path: &Path, name: &str, size: u64, sha256: &str) {
    let mut m = Manifest::builtin().unwrap();
    m.name = name.into();
    m.size = size;
    m.sha256 = sha256.into();
    std::fs::write(path, toml::to_string(&m).unwrap()).unwrap();
}

fn installed(data: &Path) -> usize {
    std::fs::read_dir(data.join("content/models")).map_or(0, |d| d.count())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn broken_updates_are_refused_and_good_ones_switch_between_sessions() {
    let Some(fixture) = Fixture::new(&["catalog"]) else {
        return;
    };
    let tmp = &fixture.tmp;
    let (data, model) = (fixture.data.clone(), fixture.model.clone());

    // A truncated model under the real model's manifest: the hash check refuses it.
    let real = Manifest::builtin().unwrap();
    let truncated = tmp.path().join("truncated.gguf");
    std::fs::write(&truncated, &std::fs::read(&model).unwrap()[..1 << 20]).unwrap();
    let manifest = tmp.path().join("manifest.toml");
    write_manifest(&manifest, "gemma-truncated", real.size, &real.sha256);
    sign(&manifest, signed::Kind::Model);
    let update = |gguf: &Path, extra: &[&str]| {
        let (gguf, manifest) = (gguf.display().to_string(), manifest.display().to_string());
        let mut args = vec!["update", "model", "--gguf", &gguf, "--manifest", &manifest];
        args.extend_from_slice(extra);
        shelftalk(&data, &model, &args)
    };
    let refused = update(&truncated, &[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("bytes, the manifest says"),
        "{}",
        text(&refused)
    );
    assert_eq!(installed(&data), 0, "nothing of the candidate is left");

    // Garbage with a matching manifest: verified, but it does not load; refused, nothing kept.
    let garbage = tmp.path().join("garbage.gguf");
    let bytes = b"GGUF but not really a model".repeat(1000);
    std::fs::write(&garbage, &bytes).unwrap();
    write_manifest(
        &manifest,
        "gemma-garbage",
        bytes.len() as u64,
        &sha256_hex(&bytes),
    );
    sign(&manifest, signed::Kind::Model);
    let refused = update(&garbage, &[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("update refused, the active content keeps serving"),
        "{}",
        text(&refused)
    );
    assert_eq!(installed(&data), 0);
    let config = config(&data, &model);
    assert_eq!(content::pointer(&config).unwrap().generation, 0);
    assert!(shelftalk(&data, &model, &["selftest"]).status.success());

    // The real model under a new name: checked, switched, and what selftest now checks.
    write_manifest(&manifest, "gemma-3-270m-canary", real.size, &real.sha256);
    sign(&manifest, signed::Kind::Model);
    let switched = update(&model, &["--json"]);
    assert!(switched.status.success(), "{}", text(&switched));
    let v: serde_json::Value = serde_json::from_slice(&switched.stdout).unwrap();
    assert_eq!(v["generation"], 1);
    assert_eq!(v["model"], "gemma-3-270m-canary");
    let health = shelftalk(&data, &model, &["selftest"]);
    assert!(health.status.success(), "{}", text(&health));
    assert!(
        text(&health).contains("gemma-3-270m-canary"),
        "{}",
        text(&health)
    );

    // A running daemon: a pack update lands only once no session is on screen.
    let (answers, _screen) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config.clone(), None, answers).unwrap();
    wait_for("the model", || {
        daemon.copier().load_state() == LoadState::Ready
    });
    assert_eq!(daemon.copier().model().2, 1);
    daemon.copier().set_session(Some(SessionId(7)));

    let mut pack = PromptPack::builtin().unwrap();
    pack.version = "2026.12.0-canary".into();
    let pack_file = tmp.path().join("pack.toml");
    std::fs::write(&pack_file, toml::to_string(&pack).unwrap()).unwrap();
    sign(&pack_file, signed::Kind::Pack);
    let out = shelftalk(
        &data,
        &model,
        &["update", "pack", pack_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(content::pointer(&config).unwrap().generation, 2);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        daemon.copier().model().2,
        1,
        "no switch while a session is on screen"
    );
    daemon.copier().set_session(None);
    wait_for("the switch", || daemon.copier().model().2 == 2);
    assert_eq!(daemon.copier().model().0, "gemma-3-270m-canary");
    daemon.stop();
}

fn copy_done(
    screen: &mut tokio::sync::mpsc::UnboundedReceiver<Input>,
    request: RequestId,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "no CopyDone for {request:?}");
        match screen.try_recv() {
            Ok(Input::CopyDone {
                request: r, text, ..
            }) if r == request => return text,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A data dir with keys and the demo `catalog` and/or `events` imported.
fn set_up(data: &Path, model: &Path, imports: &[&str]) {
    assert!(shelftalk(data, model, &["keys", "init"]).status.success());
    for kind in imports {
        let file = format!("demo/{kind}.csv");
        let out = shelftalk(data, model, &["import", kind, &file]);
        assert!(out.status.success(), "{}", text(&out));
    }
}

/// A fresh data dir with the demo `imports` done ([`set_up`]), the model, and this binary's
/// one-model-at-a-time lock; `None` without the model.
struct Fixture {
    tmp: tempfile::TempDir,
    data: PathBuf,
    model: PathBuf,
    _one: std::sync::MutexGuard<'static, ()>,
}

impl Fixture {
    /// A daemon on this data dir and model, its config first changed by `set`, with its model
    /// loaded ([`ready_daemon`]).
    fn daemon(
        &self,
        set: impl FnOnce(&mut Config),
    ) -> (
        std::sync::Arc<Daemon>,
        tokio::sync::mpsc::UnboundedReceiver<Input>,
    ) {
        let mut config = config(&self.data, &self.model);
        set(&mut config);
        ready_daemon(config)
    }

    fn new(imports: &[&str]) -> Option<Self> {
        let model = model()?;
        let one = common::one_model_at_a_time();
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        set_up(&data, &model, imports);
        Some(Self {
            tmp,
            data,
            model,
            _one: one,
        })
    }
}

fn cached_rows(data: &Path) -> i64 {
    let conn = rusqlite::Connection::open(data.join("shelftalk.db")).unwrap();
    conn.query_row("SELECT count(*) FROM copy_cache", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_daemon_caches_copy_and_warms_the_cache_while_idle() {
    let Some(fixture) = Fixture::new(&["catalog", "events"]) else {
        return;
    };
    let data = fixture.data.clone();
    let (daemon, mut screen) = fixture.daemon(|c| {
        c.copy_warm_top = 1;
        c.copy_warm_segments = 0;
    });
    let copier = daemon.copier();
    // Idle: the plan (the most viewed product × `all` × every style) runs; model copy that
    // passed the guardrails is cached (a blurb that fell back to a template is not).
    wait_for("the warm-up", || copier.warmed() == 4);
    let warmed = cached_rows(&data);
    assert!((1..=4).contains(&warmed), "{warmed} warm entries cached");
    assert_eq!(copier.warm_again(), Some(4));

    // A session's requests: model copy for a new segment is generated and cached, and the same
    // request again is a hit.
    copier.set_session(Some(SessionId(1)));
    let product = products(&data)
        .into_iter()
        .find(|p| p.sku == "FW-RUN-0001")
        .unwrap();
    let mut request = 0;
    let mut ask = |style: Style| {
        request += 1;
        let segment = "footwear/high".parse().unwrap();
        copier.submit(vec![job(
            SessionId(1),
            request,
            &product,
            segment,
            style,
            3,
        )]);
        (
            copy_done(&mut screen, RequestId(request)),
            copier.content().last().unwrap().source.clone(),
        )
    };
    let (style, fresh) = Style::ALL
        .into_iter()
        .map(|style| (style, ask(style)))
        .find(|(_, (_, source))| source == "model")
        .expect("model copy for at least one style");
    let (hit, source) = ask(style);
    assert_eq!((hit, source.as_str()), (fresh.0, "cache"));
    assert_eq!(cached_rows(&data), warmed + 1);
    let rate = copier.cache_hit_rate().unwrap();
    assert!(rate > 0.0 && rate <= 0.5, "{rate}");
    assert!(
        copier.content().iter().all(|c| c.sku == "FW-RUN-0001"),
        "warm-up copy is not in the Content log"
    );
    daemon.stop();
}

/// A daemon on `config` with its model loaded, and the screen's end of its answers.
fn ready_daemon(
    config: Config,
) -> (
    std::sync::Arc<Daemon>,
    tokio::sync::mpsc::UnboundedReceiver<Input>,
) {
    let (answers, screen) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config, None, answers).unwrap();
    wait_for("the model", || {
        daemon.copier().load_state() == LoadState::Ready
    });
    (daemon, screen)
}

/// The catalog imported into `data`.
fn products(data: &Path) -> Vec<shelftalk::catalog::Product> {
    shelftalk::store::catalog::all(&rusqlite::Connection::open(data.join("shelftalk.db")).unwrap())
        .unwrap()
}

/// A screen job for `product`, asked now, with no deadline, for a shopper who is no brand fan.
fn job(
    session: SessionId,
    request: u64,
    product: &shelftalk::catalog::Product,
    segment: SegmentKey,
    style: Style,
    seed: u32,
) -> Job {
    Job {
        session,
        request: RequestId(request),
        order: CopyOrder {
            product: product.clone(),
            segment,
            brand_fan: false,
            style,
            seed,
        },
        asked: Instant::now(),
        deadline: None,
    }
}

/// The serving engine's counters.
fn engine_stats(daemon: &Daemon) -> shelftalk::copy::engine::EngineStats {
    let model = daemon.copier().desk().model().unwrap();
    model.service.engine().unwrap().stats()
}

/// A session's three picks sent as one group are written together (one batch for the engine, not
/// one after another): each pick's first token reaches the screen while another pick is still
/// being written, and each ends with exactly one `CopyDone`. Written one after another, the last
/// pick would start only when both others were done. (Not "all three before the first is
/// done": a pick opening with its price shows nothing until the number is complete, and another
/// pick's copy may be done in five tokens by then: "Trail jacket, good for hiking.")
#[test]
fn a_sessions_picks_stream_together() {
    let Some(fixture) = Fixture::new(&["catalog"]) else {
        return;
    };
    let data = fixture.data.clone();
    let (daemon, mut screen) = fixture.daemon(|c| {
        c.copy_cache_ttl_secs = 0;
    });
    let copier = daemon.copier();
    let products = products(&data);
    let session = SessionId(7);
    copier.set_session(Some(session));
    let asked = Instant::now();
    let group: Vec<Job> = [Style::Concise, Style::Playful, Style::Value]
        .into_iter()
        .zip(products.iter().step_by(5))
        .enumerate()
        .map(|(i, (style, product))| Job {
            asked,
            ..job(
                session,
                100 + i as u64,
                product,
                SegmentKey::all(),
                style,
                11,
            )
        })
        .collect();
    let requests: Vec<RequestId> = group.iter().map(|j| j.request).collect();
    copier.submit(group);

    // The picks whose first token reached the screen while another pick was not yet done.
    let mut started_beside_another = std::collections::HashSet::new();
    let mut streaming = std::collections::HashSet::new();
    let mut done = std::collections::HashMap::new();
    // What the screen received, in order, for the failure message.
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while done.len() < requests.len() {
        assert!(Instant::now() < deadline, "answered only {done:?}");
        match screen.try_recv() {
            Ok(Input::CopyToken { request, text }) => {
                seen.push(format!("{}: token {text:?}", request.0));
                if streaming.insert(request)
                    && requests
                        .iter()
                        .any(|r| *r != request && !done.contains_key(r))
                {
                    started_beside_another.insert(request);
                }
            }
            Ok(Input::CopyDone { request, text, .. }) => {
                seen.push(format!("{}: done {text:?}", request.0));
                assert!(done.insert(request, text).is_none(), "{request:?} twice");
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    assert_eq!(
        started_beside_another,
        requests.iter().copied().collect(),
        "every pick starts streaming while another is being written; the screen received:\n{}",
        seen.join("\n")
    );
    assert!(done.values().all(|t| !t.is_empty()));
    let content = copier.content();
    assert_eq!(content.len(), 3);
    assert!(content.iter().all(|c| c.source == "model"), "{content:?}");
    daemon.stop();
}

/// A shopper who leaves while their picks are being written costs the next shopper nothing: the
/// moment the screen's session changes, the group in flight is cancelled at its next token (the
/// engine counts three cancelled requests), none of its jobs is answered, nothing of it is
/// logged or cached, and the next session's copy is written.
#[test]
fn a_group_whose_session_leaves_the_screen_is_cancelled() {
    let Some(fixture) = Fixture::new(&["catalog"]) else {
        return;
    };
    let data = fixture.data.clone();
    let (daemon, mut screen) = fixture.daemon(|c| {
        // No warm-up: every engine request and cache row here is the screen's.
        c.copy_warm_top = 0;
    });
    let copier = daemon.copier();
    let products = products(&data);
    let job = |session, request, product| {
        job(
            session,
            request,
            product,
            SegmentKey::all(),
            Style::Playful,
            5,
        )
    };
    let engine = || engine_stats(&daemon);
    let (first, second) = (SessionId(21), SessionId(22));
    copier.set_session(Some(first));
    let before = engine();
    let rows_before = cached_rows(&data);
    copier.submit(
        products
            .iter()
            .step_by(7)
            .take(3)
            .enumerate()
            .map(|(i, p)| job(first, 200 + i as u64, p))
            .collect(),
    );
    // The first session's copy is streaming: the shopper walks away, the next one scans.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the first session's copy never streamed"
        );
        match screen.try_recv() {
            Ok(Input::CopyToken { .. }) => break,
            Ok(Input::CopyDone { request, .. }) => panic!("{request:?} complete before a token"),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    copier.set_session(Some(second));
    copier.submit(vec![job(second, 300, &products[1])]);
    let text = copy_done(&mut screen, RequestId(300));
    assert!(!text.is_empty());

    assert_eq!(
        copier.withdrawn(),
        3,
        "all three of the first session's jobs"
    );
    wait_for("the engine to end the three sequences", || {
        engine().cancelled - before.cancelled == 3
    });
    let after = engine();
    // The second session's one job: one attempt, or two after a guardrail retry.
    let completed = after.completed - before.completed;
    assert!((1..=2).contains(&completed), "{after:?}");
    while let Ok(input) = screen.try_recv() {
        if let Input::CopyDone { request, .. } = input {
            panic!("{request:?} of the session that left was answered");
        }
    }
    let content = copier.content();
    assert_eq!(
        content.len(),
        1,
        "only the second session's copy: {content:?}"
    );
    assert_eq!(content[0].sku, products[1].sku);
    let cached = cached_rows(&data) - rows_before;
    let from_model = i64::from(content[0].source == "model");
    assert_eq!(
        cached, from_model,
        "only the second session's model copy is cached"
    );
    daemon.stop();
}

/// A shopper who arrives while the idle worker warms the cache does not wait for the warm-up
/// blurb: it is cancelled at its next token, not cached, and the shopper's copy is written.
#[test]
fn a_shopper_arriving_cancels_the_warm_up_blurb_in_flight() {
    let Some(fixture) = Fixture::new(&["catalog", "events"]) else {
        return;
    };
    let data = fixture.data.clone();
    let (daemon, mut screen) = fixture.daemon(|c| {
        c.copy_warm_top = 1;
        c.copy_warm_segments = 0;
    });
    let copier = daemon.copier();
    let engine = || engine_stats(&daemon);
    // The first warm-up blurb has reached the engine (its suffix takes a few hundred ms to
    // decode, its copy a second or more): a shopper scans.
    let deadline = Instant::now() + Duration::from_secs(60);
    while engine().requests == 0 {
        assert!(Instant::now() < deadline, "no warm-up began");
        std::thread::sleep(Duration::from_millis(2));
    }
    let session = SessionId(31);
    copier.set_session(Some(session));
    let product = products(&data).swap_remove(3);
    let segment = "footwear/high".parse().unwrap();
    copier.submit(vec![job(
        session,
        400,
        &product,
        segment,
        Style::Concise,
        9,
    )]);
    assert!(!copy_done(&mut screen, RequestId(400)).is_empty());
    wait_for("the engine to end the warm-up blurb", || {
        engine().cancelled == 1
    });
    let stats = engine();
    assert_eq!(stats.cancelled, 1, "the warm-up blurb only: {stats:?}");
    assert_eq!(copier.warmed(), 1, "one warm-up blurb began");
    let content = copier.content();
    assert_eq!(content.len(), 1, "{content:?}");
    assert_eq!(
        cached_rows(&data),
        i64::from(content[0].source == "model"),
        "the cancelled blurb was not cached"
    );
    daemon.stop();
}
