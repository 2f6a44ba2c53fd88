//! Crash safety: a child `shelftalk sync now` is killed with SIGKILL at random points 20 times
//! while it syncs a backlog to the real HQ; a final clean sync then leaves HQ's totals exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sync_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shelftalk::feedback::cells::Counts;
use sync_support::{kiosk, simulate, status, Hq};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_nothing_and_counts_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let hq = Hq::start(tmp.path()).await;
    let (config, keys) = kiosk(tmp.path(), "kiosk-crash", &hq.url);
    hq.enroll(&config, &keys);
    // The child uses the real clock, so the simulated days are closed before the real now.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    simulate(&config, 2000, 3, now, 10);
    let cfg = tmp.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "store_id = \"{}\"\nkiosk_id = \"{}\"\ndata_dir = \"{}\"\nhq_url = \"{}\"\n\
             batch_max_cells = 1\noutbox_max_batches = 100000\nk_anonymity = 2\n",
            config.store_id,
            config.kiosk_id,
            config.data_dir.display(),
            hq.url
        ),
    )
    .unwrap();
    let sync_now = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
        c.args(["--config", cfg.to_str().unwrap(), "sync", "now", "--json"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    };

    let mut rng = StdRng::seed_from_u64(20);
    let mut killed = 0;
    // Upper bound of the kill point; shrinks whenever a child finished first, so that on a fast
    // machine the kills still land mid-run.
    let mut latest_ms = 120u64;
    for _ in 0..20 {
        let mut child = sync_now()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The kill point, not a readiness wait.
        tokio::time::sleep(Duration::from_millis(rng.random_range(2..latest_ms.max(3)))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        } else {
            latest_ms = (latest_ms * 2 / 3).max(3);
        }
        child.wait().unwrap();
        let s = status(&config);
        // Whatever HQ holds, the kiosk has either acknowledged or still holds in its outbox.
        let at_hq = hq.totals();
        assert!(at_hq.impressions >= s.acknowledged.counts.impressions);
        assert!(
            at_hq.impressions <= s.acknowledged.counts.impressions + s.outbox.counts.impressions
        );
    }
    assert!(
        killed >= 10,
        "only {killed} of 20 children were killed mid-run"
    );

    let out = sync_now().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(&config);
    assert_eq!(s.outbox.batches, 0);
    assert_eq!(s.pending, Counts::default());
    assert_eq!(
        hq.totals(),
        s.acknowledged.counts,
        "nothing lost, nothing twice"
    );
    let mut expected = s.withheld;
    expected += s.acknowledged.counts;
    assert_eq!(s.recorded, expected);
    hq.stop().await;
}
