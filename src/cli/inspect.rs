//! Read-only looks at the kiosk: `config`, `status`, `quarantine list`, `audit verify`,
//! `selftest`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use shelftalk::audit::{AuditLog, Verified};
use shelftalk::config::Config;
use shelftalk::content;
use shelftalk::store::{self, quarantine::Entry};

use super::args::{AuditCmd, JsonFlag, QuarantineCmd};
use super::open_store;
use super::output::{emit, Render};

impl Render for Config {
    fn human(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("(cannot render: {e})"))
    }
}

/// The database summary with the database's path (for the text only) and the content served.
#[derive(Serialize)]
struct Status {
    #[serde(flatten)]
    summary: store::Summary,
    #[serde(skip)]
    path: PathBuf,
    content: ContentStatus,
}

/// The content the kiosk serves (`content/active.toml`), or why it cannot be served.
#[derive(Serialize)]
#[serde(untagged)]
enum ContentStatus {
    Serving {
        generation: u64,
        model: String,
        pack: String,
        /// The release key (hex) that signed the installed model / pack; `None` = built in.
        model_signed_by: Option<String>,
        pack_signed_by: Option<String>,
    },
    Unusable {
        error: String,
    },
}

impl ContentStatus {
    fn of(config: &Config) -> Self {
        match content::active(config) {
            Ok(c) => Self::Serving {
                generation: c.generation,
                model: c.manifest.name,
                pack: c.pack.id(),
                model_signed_by: c.model_signed_by.map(|k| k.to_string()),
                pack_signed_by: c.pack_signed_by.map(|k| k.to_string()),
            },
            Err(e) => Self::Unusable {
                error: e.to_string(),
            },
        }
    }

    fn human(&self) -> String {
        match self {
            Self::Serving {
                generation,
                model,
                pack,
                model_signed_by,
                pack_signed_by,
            } => {
                let by = |key: &Option<String>| match key {
                    Some(k) => format!("signed by release key {k}"),
                    None => "built in".to_string(),
                };
                format!(
                    "content generation {generation}:\n    model {model} ({})\n    prompt pack {pack} ({})",
                    by(model_signed_by),
                    by(pack_signed_by)
                )
            }
            Self::Unusable { error } => format!("content unusable: {error}"),
        }
    }
}

impl Render for Status {
    fn human(&self) -> String {
        let s = &self.summary;
        format!(
            "database {} (schema v{}, {:.1} MB)\n  products: {} ({} created from behaviour events)\n  \
             shoppers: {} with {} sealed rows\n  quarantined rows: {} over {} imports\n{}",
            self.path.display(),
            s.schema_version,
            s.db_bytes as f64 / 1e6,
            s.products,
            s.products_from_events,
            s.shoppers,
            s.sealed_rows,
            s.quarantined_rows,
            s.imports,
            self.content.human()
        )
    }
}

/// Quarantined rows (a JSON array).
#[derive(Serialize)]
#[serde(transparent)]
struct Quarantined(Vec<Entry>);

impl Render for Quarantined {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "no quarantined rows".to_string();
        }
        self.0
            .iter()
            .map(|q| {
                format!(
                    "{}:{} [{}] {}: {} | {}",
                    q.file, q.line, q.rule, q.field, q.reason, q.excerpt
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Render for Verified {
    fn human(&self) -> String {
        format!(
            "audit log intact: {} entries, head {}",
            self.entries, self.head
        )
    }
}

impl Render for shelftalk::health::Report {
    fn human(&self) -> String {
        self.render()
    }
}

/// `shelftalk config`: the effective configuration, secrets redacted.
pub fn config(config: &Config, out: JsonFlag) -> Result<()> {
    emit(out.json, &config.redacted())
}

/// `shelftalk status`.
pub fn status(config: &Config, out: JsonFlag) -> Result<()> {
    let store = open_store(config)?;
    let status = Status {
        summary: store.summary()?,
        path: store.path().to_path_buf(),
        content: ContentStatus::of(config),
    };
    emit(out.json, &status)
}

/// `shelftalk quarantine list`.
pub fn quarantine(config: &Config, cmd: QuarantineCmd) -> Result<()> {
    let QuarantineCmd::List { rule, limit, out } = cmd;
    let store = open_store(config)?;
    let rows = store::quarantine::list(store.conn(), rule.as_deref(), limit)?;
    emit(out.json, &Quarantined(rows))
}

/// `shelftalk audit verify [--head SEQ:HASH]`.
pub fn audit(config: &Config, cmd: AuditCmd) -> Result<()> {
    let AuditCmd::Verify { head, out } = cmd;
    let log = AuditLog::in_dir(&config.data_dir);
    let verified = log.verify()?;
    if let Some(head) = head {
        let (seq, hash) = head
            .split_once(':')
            .and_then(|(s, h)| Some((s.trim().parse::<u64>().ok()?, h.trim())))
            .with_context(|| format!("--head must be SEQ:HASH, got {head:?}"))?;
        if !log.holds(seq, hash)? {
            bail!(
                "audit log {} does not hold the head seq {seq} ({hash}): it was rewritten after \
                 that head was reported",
                log.path().display()
            );
        }
    }
    emit(out.json, &verified)
}

/// `shelftalk selftest`: fails unless healthy.
pub fn selftest(config: &Config, out: JsonFlag) -> Result<()> {
    let report = shelftalk::health::run(config);
    emit(out.json, &report)?;
    if !report.healthy {
        bail!("selftest failed");
    }
    Ok(())
}
