//! Analyst access, on both backends, against the real HQ on 127.0.0.1: tokens expire, are listed
//! (never the token or its hash) and revoked; an expired or revoked token is answered like an
//! unknown one; the dashboard signs in through a form that sets an HttpOnly, SameSite=Strict
//! session cookie, never through `?token=`; the session works for the analyst GET endpoints, ends
//! at logout and with its token's revocation; cross-origin sign-ins are refused; an empty report
//! parameter is a 400, not "no filter".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use shelftalk::hq::store::token_digest;
use shelftalk::hq::{self, HqError, ServeOptions};
use sync_support::{Backend, Hq};

const DAY: i64 = 86_400;

fn http() -> reqwest::Client {
    shelftalk::crypto::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn status(http: &reqwest::Client, hq: &Hq, path: &str, token: &str) -> u16 {
    http.get(format!("{}{path}", hq.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The server's clock, moved by the test.
fn clock(start: i64) -> (Arc<AtomicI64>, ServeOptions) {
    let now = Arc::new(AtomicI64::new(start));
    let read = Arc::clone(&now);
    let opts = ServeOptions {
        clock: Arc::new(move || read.load(Ordering::SeqCst)),
        ..ServeOptions::default()
    };
    (now, opts)
}

async fn tokens_expire_and_are_revoked(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let start = 1_800_000_000;
    let (now, opts) = clock(start);
    let Some(hq) = Hq::start_on_with(backend, tmp.path(), module_path!(), opts).await else {
        return;
    };
    let http = http();
    let store = hq.store.as_ref();
    let short = hq::create_token(store, "short", start, 1).unwrap();
    let long = hq::create_token(store, "long", start, 30).unwrap();
    // A name is one live token at a time.
    assert!(matches!(
        hq::create_token(store, "long", start, 5),
        Err(HqError::TokenNameTaken(name)) if name == "long"
    ));
    for path in ["/v1/kiosks", "/v1/reports/feedback", "/v1/priors", "/"] {
        assert_eq!(status(&http, &hq, path, &short).await, 200, "{path}");
    }

    // A day and a second later the short one is refused, with the answer an unknown one gets.
    now.store(start + DAY + 1, Ordering::SeqCst);
    let expired = http
        .get(format!("{}/v1/kiosks", hq.url))
        .bearer_auth(&short)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status().as_u16(), 401);
    let expired = expired.text().await.unwrap();
    let unknown = http
        .get(format!("{}/v1/kiosks", hq.url))
        .bearer_auth("st_0000")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(expired, unknown);
    assert_eq!(status(&http, &hq, "/v1/kiosks", &long).await, 200);
    // Its name is free again once it expired.
    let again = hq::create_token(store, "short", start + DAY + 1, 1).unwrap();
    assert_eq!(status(&http, &hq, "/v1/kiosks", &again).await, 200);

    // Revoked: refused at once; revoking again finds nothing live.
    assert_eq!(store.revoke_token("long", start + DAY + 2).unwrap(), 1);
    assert_eq!(status(&http, &hq, "/v1/kiosks", &long).await, 401);
    assert_eq!(store.revoke_token("long", start + DAY + 3).unwrap(), 0);

    // Listed by name, with dates; the test token from the harness is there too.
    let list = store.tokens().unwrap();
    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["long", "short", "short", "test"]);
    assert_eq!(list[0].revoked_at, Some(start + DAY + 2));
    assert_eq!(list[0].expires_at, start + 30 * DAY);
    assert_eq!(list[0].last_used_at, Some(start + DAY + 1));
    assert_eq!(list[1].expires_at, start + DAY);
    assert_eq!(list[1].revoked_at, None);
    assert_eq!(list[2].created_at, start + DAY + 1);

    // The command line says the same, and never prints a token or a digest.
    let out = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .args(["hq", "token", "list", "--json"])
        .args(hq.db_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["tokens"].as_array().unwrap().len(), 4);
    for secret in [&short, &long, &again, &hq.token] {
        assert!(!text.contains(secret.as_str()), "{text}");
        let digest = shelftalk::crypto::hex(&token_digest(secret));
        assert!(!text.contains(&digest), "{text}");
    }
    let revoke = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_shelftalk"))
            .args(["hq", "token", "revoke", name])
            .args(hq.db_args())
            .output()
            .unwrap()
    };
    let out = revoke("short");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status(&http, &hq, "/v1/kiosks", &again).await, 401);
    let out = revoke("nobody");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no live token named \"nobody\""));
    hq.stop().await;
}

on_both_backends!(tokens_expire_and_are_revoked);

/// The `Set-Cookie` of a response, and the session value it sets.
fn cookie(resp: &reqwest::Response) -> (String, String) {
    let set = resp
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .expect("a Set-Cookie")
        .to_str()
        .unwrap()
        .to_string();
    let value = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("shelftalk_session=")
        .unwrap()
        .to_string();
    (set, value)
}

async fn dashboard_signs_in_with_a_session_cookie(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let http = http();
    let login = |body: String, origin: Option<&str>| {
        let mut req = http
            .post(format!("{}/login", hq.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };

    // Without a session: the login form, 401; a token in the URL changes nothing.
    for path in ["/", &format!("/?token={}", hq.token)] {
        let r = http.get(format!("{}{path}", hq.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("<form method=\"post\" action=\"/login\">"),
            "{page}"
        );
        assert!(page.contains("type=\"password\" name=\"token\""), "{page}");
    }

    // A wrong token: the form again with a message, no cookie.
    let r = login("token=st_wrong".into(), None).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get(reqwest::header::SET_COOKIE).is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Unknown, expired or revoked token."));

    // From another site: refused before the token is looked at.
    let host = hq.url.strip_prefix("http://").unwrap();
    let r = login(format!("token={}", hq.token), Some("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get(reqwest::header::SET_COOKIE).is_none());

    // The right token from HQ's own page: a session cookie with the right attributes.
    let r = login(
        format!("token={}", hq.token),
        Some(&format!("http://{host}")),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/");
    let (set, session) = cookie(&r);
    let attributes: Vec<&str> = set.split(';').skip(1).map(str::trim).collect();
    for want in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&want), "{set}");
    }
    assert!(!attributes.contains(&"Secure"), "plain HTTP here: {set}");
    assert!(
        attributes.iter().any(|a| a.starts_with("Max-Age=")),
        "{set}"
    );
    assert_eq!(session.len(), 64, "{set}");
    assert!(
        !set.contains(&hq.token),
        "the cookie is a session, not the token"
    );

    // The session opens the dashboard and the analyst GET endpoints.
    let with_cookie = |path: &str| {
        http.get(format!("{}{path}", hq.url))
            .header("cookie", format!("theme=dark; shelftalk_session={session}"))
            .send()
    };
    for path in ["/", "/v1/kiosks", "/v1/reports/feedback", "/v1/priors"] {
        assert_eq!(
            with_cookie(path).await.unwrap().status().as_u16(),
            200,
            "{path}"
        );
    }
    let page = with_cookie("/").await.unwrap().text().await.unwrap();
    assert!(page.contains("CTR by style"), "{page}");
    // A made-up session is refused.
    let r = http
        .get(format!("{}/v1/kiosks", hq.url))
        .header("cookie", format!("shelftalk_session={}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // Logout ends it server-side and clears the cookie.
    let r = http
        .post(format!("{}/logout", hq.url))
        .header("cookie", format!("shelftalk_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (cleared, value) = cookie(&r);
    assert!(
        value.is_empty() && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(
        with_cookie("/v1/kiosks").await.unwrap().status().as_u16(),
        401
    );

    // A new session ends with its token's revocation.
    let r = login(format!("token={}", hq.token), None).await.unwrap();
    let (_, session) = cookie(&r);
    let check = || {
        http.get(format!("{}/v1/kiosks", hq.url))
            .header("cookie", format!("shelftalk_session={session}"))
            .send()
    };
    assert_eq!(check().await.unwrap().status().as_u16(), 200);
    assert_eq!(hq.store.revoke_token("test", 0).unwrap(), 1);
    assert_eq!(check().await.unwrap().status().as_u16(), 401);
    hq.stop().await;
}

on_both_backends!(dashboard_signs_in_with_a_session_cookie);

async fn report_parameters_are_typed(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let http = http();
    for (query, want) in [
        ("", 200),
        ("?to=2024-10-06&from=2024-10-01", 200),
        ("?group_by=store,style&format=csv", 200),
        ("?group_by=", 200),
        ("?to=", 400),
        ("?from=", 400),
        ("?format=", 400),
        ("?format=xml", 400),
        ("?group_by=shoe", 400),
        ("?from=2024-02-30", 400),
    ] {
        let path = format!("/v1/reports/feedback{query}");
        assert_eq!(status(&http, &hq, &path, &hq.token).await, want, "{query}");
    }
    // Without credentials the query is not even read: 401 first.
    let r = http
        .get(format!("{}/v1/reports/feedback?to=", hq.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .get(format!("{}/v1/reports/feedback?group_by=", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["group_by"], serde_json::json!([]));
    hq.stop().await;
}

on_both_backends!(report_parameters_are_typed);
