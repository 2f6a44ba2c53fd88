//! `hq`: the HQ server and its administration, on HQ's own database file.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;

use shelftalk::feedback::cells::Day;
use shelftalk::hq;
use shelftalk::hq::store::{self, Dim, HqDatabase, HqStore};

use super::args::{HqCmd, HqDb, HqTokenCmd};
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
}

impl Render for Token {
    fn human(&self) -> String {
        self.token.clone()
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
            raw_retention_days,
        } => {
            let store = open(&db)?;
            runtime()?.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                output::note(&format!(
                    "shelftalk HQ listening on http://{}",
                    listener.local_addr()?
                ));
                let opts = hq::ServeOptions {
                    max_body,
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
        HqCmd::Token(HqTokenCmd::Create { db, name, out }) => {
            let token = hq::create_token(open(&db)?.as_ref(), &name, now())?;
            emit(out.json, &Token { name, token })
        }
        HqCmd::Report {
            db,
            from,
            to,
            group_by,
            format,
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
