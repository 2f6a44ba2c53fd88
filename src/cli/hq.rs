//! `hq`: the HQ server and its administration, on HQ's own database file.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;

use shelftalk::feedback::cells::Day;
use shelftalk::hq;
use shelftalk::hq::key::HqKey;
use shelftalk::hq::store::{self, Dim, HqDatabase, HqStore};

use super::args::{HqCmd, HqDb, HqKeysCmd, HqTokenCmd};
use super::output::{self, emit, Render};
use super::{now, runtime};

#[derive(Serialize)]
struct Enrolled {
    kiosk: String,
    store: String,
    enrolled: bool,
}

impl Render for Enrolled {
    fn human(&self) -> String {
        format!("kiosk {} enrolled for store {}", self.kiosk, self.store)
    }
}

/// A new analyst token: printed once, stored only as a hash.
#[derive(Serialize)]
struct Token {
    name: String,
    token: String,
    expires_at: i64,
}

impl Render for Token {
    fn human(&self) -> String {
        self.token.clone()
    }
}

/// HQ's signing key: where it is and its public key, which kiosks are provisioned with.
#[derive(Serialize)]
struct HqPublicKey {
    key_file: std::path::PathBuf,
    public_key: String,
    #[serde(skip)]
    created: bool,
}

impl Render for HqPublicKey {
    fn human(&self) -> String {
        if self.created {
            format!(
                "HQ signing key created in {}\npublic key (provision kiosks with \
                 --hq-public-key): {}",
                self.key_file.display(),
                self.public_key
            )
        } else {
            self.public_key.clone()
        }
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC` (the number itself when out of range).
fn when(at: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| at.to_string())
}

/// `hq token list`: names and dates, never a token or its hash.
#[derive(Serialize)]
struct Tokens {
    tokens: Vec<store::TokenInfo>,
    #[serde(skip)]
    now: i64,
}

impl Render for Tokens {
    fn human(&self) -> String {
        if self.tokens.is_empty() {
            return "no tokens (hq token create --name NAME)".into();
        }
        let mut out = format!(
            "{:<20} {:<20} {:<20} {:<28} last used",
            "name", "created", "expires", "state"
        );
        for t in &self.tokens {
            let state = match t.revoked_at {
                Some(at) => format!("revoked {}", when(at)),
                None if t.expires_at <= self.now => "expired".into(),
                None => "live".into(),
            };
            out.push_str(&format!(
                "\n{:<20} {:<20} {:<20} {:<28} {}",
                t.name,
                when(t.created_at),
                when(t.expires_at),
                state,
                t.last_used_at.map_or_else(|| "never".into(), when)
            ));
        }
        out
    }
}

/// A feedback report: HQ's JSON document, or CSV as the text.
#[derive(Serialize)]
#[serde(transparent)]
struct Report {
    json: serde_json::Value,
    #[serde(skip)]
    csv: String,
}

impl Render for Report {
    fn human(&self) -> String {
        self.csv.strip_suffix('\n').unwrap_or(&self.csv).to_string()
    }
}

/// The database `--db` or `--database-url` (or `SHELFTALK_HQ_DATABASE_URL`) names: exactly one.
fn database(db: &HqDb) -> Result<HqDatabase> {
    match (&db.db, &db.database_url) {
        (Some(path), None) => Ok(HqDatabase::Sqlite(path.clone())),
        (None, Some(url)) => Ok(HqDatabase::Postgres(url.clone())),
        (Some(_), Some(_)) => anyhow::bail!(
            "both --db FILE and --database-url (or SHELFTALK_HQ_DATABASE_URL) are set; HQ uses \
             one database: give one of them"
        ),
        (None, None) => anyhow::bail!(
            "HQ needs a database: --db FILE (SQLite) or --database-url postgres://… (or \
             SHELFTALK_HQ_DATABASE_URL)"
        ),
    }
}

fn open(db: &HqDb) -> Result<Arc<dyn HqStore>> {
    let which = database(db)?;
    store::open(&which).with_context(|| match &which {
        HqDatabase::Sqlite(path) => format!("opening HQ database {}", path.display()),
        HqDatabase::Postgres(_) => "opening HQ's PostgreSQL database".to_string(),
    })
}

/// A `--from`/`--to` day.
fn day(name: &str, v: Option<String>) -> Result<Option<Day>> {
    v.map(|s| Day::parse(&s).with_context(|| format!("--{name} must be YYYY-MM-DD, got {s:?}")))
        .transpose()
}

pub fn run(cmd: HqCmd) -> Result<()> {
    match cmd {
        HqCmd::Serve {
            listen,
            db,
            max_body,
            kiosk_rate,
            kiosk_burst,
            key_file,
            tls_cert,
            tls_key,
            raw_retention_days,
        } => {
            let answer_key = HqKey::load(&key_file).context("loading HQ's signing key")?;
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => Some(hq::tls::server_config(cert, key)?),
                _ => None,
            };
            let store = open(&db)?;
            runtime()?.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                output::note(&format!(
                    "shelftalk HQ listening on {}://{} (answers signed by {})",
                    if tls.is_some() { "https" } else { "http" },
                    listener.local_addr()?,
                    answer_key.public_hex()
                ));
                let opts = hq::ServeOptions {
                    max_body,
                    kiosk_rate: (kiosk_rate > 0).then_some(hq::limit::RateLimit {
                        per_minute: kiosk_rate,
                        burst: kiosk_burst,
                    }),
                    answer_key: Some(Arc::new(answer_key)),
                    // Over TLS the dashboard's session cookie is never sent in clear.
                    secure_cookies: tls.is_some(),
                    tls,
                    ..hq::ServeOptions::default()
                };
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let sweeper = tokio::spawn(hq::retention::run(
                    Arc::clone(&store),
                    raw_retention_days,
                    Arc::clone(&opts.clock),
                    hq::retention::SWEEP_EVERY,
                    async {
                        let _ = stopped.await;
                    },
                ));
                let served = hq::serve(listener, store, opts, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
                let _ = stop.send(());
                let _ = sweeper.await;
                served?;
                Ok(())
            })
        }
        HqCmd::Keys(HqKeysCmd::Init { key_file, out }) => {
            let key = HqKey::create(&key_file, &shelftalk::crypto::rng())?;
            let shown = HqPublicKey {
                public_key: key.public_hex(),
                key_file,
                created: true,
            };
            emit(out.json, &shown)
        }
        HqCmd::Keys(HqKeysCmd::ShowPublic { key_file, out }) => {
            let key = HqKey::load(&key_file)?;
            let shown = HqPublicKey {
                public_key: key.public_hex(),
                key_file,
                created: false,
            };
            emit(out.json, &shown)
        }
        HqCmd::Enroll {
            db,
            kiosk,
            store,
            pubkey,
            out,
        } => {
            let key = hq::parse_public_key(&pubkey)?;
            open(&db)?.enroll(&kiosk, &store, &key, now())?;
            let enrolled = Enrolled {
                kiosk,
                store,
                enrolled: true,
            };
            emit(out.json, &enrolled)
        }
        HqCmd::Disable { db, kiosk } => {
            open(&db)?.set_enabled(&kiosk, false)?;
            output::line(&format!("kiosk {kiosk} disabled"))
        }
        HqCmd::Enable { db, kiosk } => {
            open(&db)?.set_enabled(&kiosk, true)?;
            output::line(&format!("kiosk {kiosk} enabled"))
        }
        HqCmd::AuditAck { db, kiosk } => {
            let n = open(&db)?.acknowledge_audit_alarms(&kiosk, now())?;
            output::line(&format!("kiosk {kiosk}: {n} audit alarm(s) acknowledged"))
        }
        HqCmd::Token(HqTokenCmd::Create {
            db,
            name,
            expires_in_days,
            out,
        }) => {
            let now = now();
            let token = hq::create_token(open(&db)?.as_ref(), &name, now, expires_in_days)?;
            let expires_at = hq::token_expiry(now, expires_in_days);
            output::note(&format!(
                "token {name:?} expires {}; it is shown only now",
                when(expires_at)
            ));
            emit(
                out.json,
                &Token {
                    name,
                    token,
                    expires_at,
                },
            )
        }
        HqCmd::Token(HqTokenCmd::List { db, out }) => {
            let tokens = open(&db)?.tokens()?;
            emit(out.json, &Tokens { tokens, now: now() })
        }
        HqCmd::Token(HqTokenCmd::Revoke { db, name }) => {
            match open(&db)?.revoke_token(&name, now())? {
                0 => anyhow::bail!("no live token named {name:?} (hq token list)"),
                n => output::line(&format!("token {name:?} revoked ({n})")),
            }
        }
        HqCmd::Report {
            db,
            from,
            to,
            lift: Some(by),
            format,
            ..
        } => {
            let by = hq::lift::LiftBy::parse(&by).unwrap_or_default();
            let doc = hq::lift::build(open(&db)?.as_ref(), day("from", from)?, day("to", to)?, by)?;
            let report = Report {
                json: serde_json::to_value(&doc)?,
                csv: hq::lift::to_csv(&doc)?,
            };
            emit(format == "json", &report)
        }
        HqCmd::Report {
            db,
            from,
            to,
            group_by,
            format,
            lift: None,
        } => {
            let dims = Dim::parse_list(&group_by)?;
            let report = hq::report::build(
                open(&db)?.as_ref(),
                day("from", from)?,
                day("to", to)?,
                &dims,
            )?;
            let report = Report {
                json: report.to_json(),
                csv: report.to_csv()?,
            };
            emit(format == "json", &report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_hqs_json_document_or_its_csv_without_a_doubled_newline() {
        let report = Report {
            json: serde_json::json!({ "rows": [] }),
            csv: "style,impressions\nconcise,3\n".to_string(),
        };
        assert_eq!(
            serde_json::to_string(&report).ok().as_deref(),
            Some(r#"{"rows":[]}"#)
        );
        assert_eq!(report.human(), "style,impressions\nconcise,3");
    }
}
