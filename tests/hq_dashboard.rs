//! HQ's dashboard in a real browser: HQ on loopback with a simulated fleet of known lift
//! (`sync_support::fleet`), opened in headless Chromium driven over the DevTools protocol. The
//! test signs in through the login form (the token typed into the page, never in a URL), reads
//! the numbers the page shows (`data-metric`) and checks them against the API's answers for the
//! same range, fetched by the same browser session; then changes the date range in the form and
//! checks the numbers change and still equal the API's. It also checks the page fits a phone's
//! width without horizontal scrolling, and saves screenshots (laptop and phone) into the test's
//! temporary directory, or into `docs/` with `SHELFTALK_UPDATE_SCREENSHOTS=1` (the README's).
//!
//! Needs `chromium` (Debian; installed by `scripts/install-deps.sh`): the test is skipped without
//! it unless `SHELFTALK_REQUIRE_BROWSER=1` (CI sets it), when it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

#[macro_use]
mod sync_support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use shelftalk::feedback::cells::Day;
use sync_support::fleet::{self, FleetSpec};
use sync_support::Hq;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn required() -> bool {
    std::env::var("SHELFTALK_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Headless Chromium with its DevTools endpoint; killed on drop.
struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: String,
    /// Events read while waiting for an answer.
    events: Vec<Value>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn start(binary: &Path, profile: &Path) -> Browser {
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // Ready when it prints its DevTools address.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed its DevTools address within 60 s");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("DevTools WebSocket");
        if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
            tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut b = Browser {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
        };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = b.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("a DevTools message within 60 s") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => continue,
            }
        }
    }

    /// Sends a command (to the page once attached) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let m = self.read();
            if m["id"] == json!(id) {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    /// Waits for the page's next load event (after `action`).
    fn loaded_after(&mut self, action: impl FnOnce(&mut Self)) {
        self.events.clear();
        action(self);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self
                .events
                .drain(..)
                .any(|e| e["method"] == "Page.loadEventFired")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not load within 60 s"
            );
            let m = self.read();
            self.events.push(m);
        }
    }

    fn navigate(&mut self, url: &str) {
        self.loaded_after(|b| {
            b.call("Page.navigate", json!({ "url": url }));
        });
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }
}

/// The numbers the page shows: `data-metric` → text (per-store ones keyed `store-impressions:ID`).
const METRICS: &str = r#"JSON.stringify(Object.fromEntries(
    [...document.querySelectorAll('[data-metric]')].map(e =>
        [e.dataset.store ? e.dataset.metric + ':' + e.dataset.store : e.dataset.metric,
         e.textContent.trim()])))"#;

fn metrics(b: &mut Browser) -> Value {
    serde_json::from_str(b.eval(METRICS).as_str().unwrap()).unwrap()
}

/// The API's answers for `range` (`from=…&to=…`), fetched by the page's own session.
fn api(b: &mut Browser, range: &str) -> (Value, Value) {
    let get = |path: String| {
        format!("fetch('{path}').then(r => {{ if (!r.ok) throw r.status; return r.json(); }})")
    };
    let report = b.eval(&get(format!("/v1/reports/feedback?group_by=store&{range}")));
    let lift = b.eval(&get(format!("/v1/reports/lift?{range}")));
    (report, lift)
}

/// The numbers in a cell's text, in order (`+0.0200 [+0.0120, +0.0280]` → three).
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .filter_map(|t| t.parse::<f64>().ok())
        .collect()
}

/// The page shows the API's numbers for the same range.
fn assert_page_matches_api(page: &Value, report: &Value, lift: &Value) {
    let totals = &report["totals"];
    for key in ["impressions", "taps", "conversions"] {
        assert_eq!(
            page[key].as_str().unwrap(),
            totals[key].to_string(),
            "{key}: page {page} api {totals}"
        );
    }
    for row in report["rows"].as_array().unwrap() {
        let store = row["store"].as_str().unwrap();
        assert_eq!(
            page[format!("store-impressions:{store}")].as_str().unwrap(),
            row["impressions"].to_string()
        );
    }
    let c = &lift["comparisons"][0];
    assert_eq!(c["name"], "personalisation");
    for metric in ["ctr", "cvr"] {
        let shown = numbers(page[format!("lift-{metric}-absolute")].as_str().unwrap());
        let a = &c[metric]["absolute"];
        let want: Vec<f64> = ["estimate", "low", "high"]
            .iter()
            .map(|k| a[k].as_f64().unwrap())
            .collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        for (s, w) in shown.iter().zip(&want) {
            assert!(
                (s - w).abs() <= 5e-5,
                "{metric} absolute lift: page {shown:?}, api {want:?}"
            );
        }
        let verdict = page[format!("lift-{metric}-verdict")].as_str().unwrap();
        let api_verdict = c[metric]["verdict"].as_str().unwrap().replace('_', " ");
        let expected = match api_verdict.as_str() {
            "insufficient data" => "not enough data yet",
            other => other,
        };
        assert_eq!(verdict, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_apis_numbers_and_its_range_changes_them() {
    let Some(binary) = chromium() else {
        assert!(
            !required(),
            "chromium is not installed; SHELFTALK_REQUIRE_BROWSER=1 requires it"
        );
        eprintln!("skipped: chromium is not installed (scripts/install-deps.sh installs it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let hq = Hq::start(tmp.path()).await;
    let today = Day::of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    // Two weeks up to yesterday: inside the dashboard's default four weeks.
    let spec = FleetSpec::with_lift(Day(today.0 - 1));
    fleet::seed(hq.store.as_ref(), &spec);
    let (url, token) = (hq.url.clone(), hq.token.clone());
    let profile = tmp.path().join("chromium-profile");
    let shots = if std::env::var("SHELFTALK_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs")
    } else {
        tmp.path().to_path_buf()
    };
    tokio::task::spawn_blocking(move || {
        let mut b = Browser::start(&binary, &profile);
        // Signed out: the login form. Sign in by typing the token into it.
        b.navigate(&format!("{url}/"));
        assert_eq!(
            b.eval("document.querySelectorAll('input[name=token]').length"),
            json!(1)
        );
        let typed = format!(
            "document.querySelector('input[name=token]').value = {}; \
             document.querySelector('form').submit();",
            json!(token)
        );
        b.loaded_after(|b| {
            b.eval(&typed);
        });
        assert!(
            b.eval("location.href").as_str().unwrap().ends_with('/'),
            "no token in the URL"
        );
        assert!(
            b.eval("document.cookie").as_str().unwrap().is_empty(),
            "HttpOnly"
        );

        // The default range: the last four weeks, which hold the whole simulated fortnight.
        let page = metrics(&mut b);
        let from = b.eval("document.querySelector('input[name=from]').value");
        let to = b.eval("document.querySelector('input[name=to]').value");
        assert_eq!(to.as_str().unwrap(), today.to_string());
        let range = format!(
            "from={}&to={}",
            from.as_str().unwrap(),
            to.as_str().unwrap()
        );
        let (report, lift) = api(&mut b, &range);
        assert_page_matches_api(&page, &report, &lift);
        assert_eq!(page["lift-ctr-verdict"], "better", "{page}");
        assert!(
            b.eval("document.querySelectorAll('svg').length")
                .as_u64()
                .unwrap()
                >= 6
        );
        b.screenshot(&shots.join("hq-dashboard.png"));

        // The last three days only: the form's range changes every number.
        let last = Day(spec.last_day.0 - 2);
        let submit = format!(
            "document.querySelector('input[name=from]').value = '{last}'; \
             document.querySelector('#range').submit();"
        );
        b.loaded_after(|b| {
            b.eval(&submit);
        });
        let narrowed = metrics(&mut b);
        assert_ne!(narrowed["impressions"], page["impressions"], "{narrowed}");
        let (report, lift) = api(&mut b, &format!("from={last}&to={today}"));
        assert_page_matches_api(&narrowed, &report, &lift);
        assert_eq!(
            report["totals"]["impressions"].as_u64().unwrap(),
            3 * spec.impressions * (spec.stores * spec.kiosks_per_store) as u64
        );

        // A phone: nothing wider than the screen (wide tables scroll inside their box).
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
        );
        b.navigate(&format!("{url}/?from={last}&to={today}"));
        let width = b
            .eval("document.documentElement.scrollWidth")
            .as_u64()
            .unwrap();
        assert!(
            width <= 390,
            "the page is {width} px wide on a 390 px phone"
        );
        b.screenshot(&shots.join("hq-dashboard-phone.png"));
    })
    .await
    .unwrap();
    hq.stop().await;
}
