//! The kiosk database's whole schema, in one place: every table of every module, as the list of
//! migrations that builds it.
//!
//! Invariants:
//! - Migrations are append-only: index `i` moves a database from version `i` to `i + 1`, and a
//!   migration that has shipped is never edited (a change is a new migration).
//! - The modules that own the tables (`store`'s repositories, `feedback`, `copy::cache`) read and
//!   write them; nothing here imports those modules, so `store` sits below all of them.

/// Schema migrations; index `i` moves the database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: catalog, store statistics, shoppers and their sealed rows, quarantine, imports, meta.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
     CREATE TABLE products (
        sku TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        brand TEXT,
        category TEXT NOT NULL,
        price_minor INTEGER NOT NULL CHECK (price_minor > 0),
        list_price_minor INTEGER,
        description TEXT NOT NULL,
        tags TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('catalog', 'event')),
        updated_at INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX products_by_brand ON products(brand);
     CREATE TABLE product_stats (
        sku TEXT NOT NULL,
        day INTEGER NOT NULL,
        views INTEGER NOT NULL DEFAULT 0,
        carts INTEGER NOT NULL DEFAULT 0,
        purchases INTEGER NOT NULL DEFAULT 0,
        returns INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (sku, day)
     ) STRICT, WITHOUT ROWID;
     CREATE TABLE shoppers (
        id BLOB PRIMARY KEY CHECK (length(id) = 16),
        lookup BLOB NOT NULL UNIQUE CHECK (length(lookup) = 32),
        wrapped_key BLOB NOT NULL,
        kek_id INTEGER NOT NULL,
        consent_personalise INTEGER NOT NULL,
        consent_analytics INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX shoppers_by_last_seen ON shoppers(last_seen);
     CREATE TABLE shopper_rows (
        id INTEGER PRIMARY KEY,
        shopper_id BLOB NOT NULL REFERENCES shoppers(id) ON DELETE CASCADE,
        kind INTEGER NOT NULL,
        fingerprint BLOB UNIQUE,
        sealed BLOB NOT NULL
     ) STRICT;
     CREATE INDEX shopper_rows_by_shopper ON shopper_rows(shopper_id, kind);
     CREATE TABLE seen_rows (fingerprint BLOB PRIMARY KEY) STRICT, WITHOUT ROWID;
     CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        file TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        line INTEGER NOT NULL,
        field TEXT NOT NULL,
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        excerpt TEXT NOT NULL,
        at INTEGER NOT NULL,
        UNIQUE (file_sha256, line, field, rule)
     ) STRICT;
     CREATE TABLE imports (
        sha256 TEXT NOT NULL,
        kind TEXT NOT NULL,
        file TEXT NOT NULL,
        at INTEGER NOT NULL,
        report TEXT NOT NULL,
        PRIMARY KEY (sha256, kind)
     ) STRICT;",
    // v2 — feedback: impressions, ledger, outbox, fleet priors (see `feedback`).
    FEEDBACK,
    // v3 — the copy cache (see `copy::cache`).
    COPY_CACHE,
    // v4 — erasure that sticks and consent with its terms (see `store::privacy`).
    PRIVACY,
    // v5 — purchases attributed per shopper (see `feedback::record_purchase_by`).
    ATTRIBUTION,
    // v6 — the copy cache keyed by the product facts too (see `copy::cache`).
    COPY_CACHE_FACTS,
    // v7 — the experiment arm of every impression and its probability (see `experiment`).
    ARMS,
];

/// v2: the kiosk-side tables of feedback (see `feedback`).
const FEEDBACK: &str = "
CREATE TABLE feedback_impressions (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    session BLOB NOT NULL CHECK (length(session) = 16),
    sku TEXT NOT NULL,
    style TEXT NOT NULL,
    propensity REAL NOT NULL CHECK (propensity > 0 AND propensity <= 1),
    segment TEXT NOT NULL,
    content_kind TEXT NOT NULL,
    tapped INTEGER NOT NULL DEFAULT 0,
    thumbs_up INTEGER NOT NULL DEFAULT 0,
    thumbs_down INTEGER NOT NULL DEFAULT 0,
    whys INTEGER NOT NULL DEFAULT 0,
    opt_outs INTEGER NOT NULL DEFAULT 0,
    dwells INTEGER NOT NULL DEFAULT 0,
    dwell_ms INTEGER NOT NULL DEFAULT 0,
    converted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX feedback_impressions_by_session ON feedback_impressions(session, sku, style, at);
CREATE INDEX feedback_impressions_by_sku ON feedback_impressions(sku, at);
CREATE INDEX feedback_impressions_by_at ON feedback_impressions(at);
CREATE TABLE feedback_ledger (
    bucket TEXT PRIMARY KEY CHECK (bucket IN ('recorded', 'withheld', 'acknowledged', 'dropped')),
    batches INTEGER NOT NULL DEFAULT 0,
    impressions INTEGER NOT NULL DEFAULT 0,
    taps INTEGER NOT NULL DEFAULT 0,
    thumbs_up INTEGER NOT NULL DEFAULT 0,
    thumbs_down INTEGER NOT NULL DEFAULT 0,
    whys INTEGER NOT NULL DEFAULT 0,
    opt_outs INTEGER NOT NULL DEFAULT 0,
    dwells INTEGER NOT NULL DEFAULT 0,
    dwell_ms INTEGER NOT NULL DEFAULT 0,
    conversions INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
INSERT INTO feedback_ledger (bucket) VALUES ('recorded'), ('withheld'), ('acknowledged'), ('dropped');
CREATE TABLE feedback_outbox (
    seq INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    document BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    cells INTEGER NOT NULL,
    totals TEXT NOT NULL,
    maybe_delivered INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE TABLE feedback_priors (
    segment TEXT NOT NULL,
    style TEXT NOT NULL,
    alpha REAL NOT NULL CHECK (alpha > 0),
    beta REAL NOT NULL CHECK (beta > 0),
    pulled_at INTEGER NOT NULL,
    PRIMARY KEY (segment, style)
) STRICT, WITHOUT ROWID;
";

/// v3: generated copy kept by everything that determines it (see `copy::cache`).
const COPY_CACHE: &str = "CREATE TABLE copy_cache (
    model TEXT NOT NULL,
    pack TEXT NOT NULL,
    style TEXT NOT NULL,
    sku TEXT NOT NULL,
    segment TEXT NOT NULL,
    text TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (model, pack, style, sku, segment)
) STRICT, WITHOUT ROWID;
CREATE INDEX copy_cache_by_expiry ON copy_cache(expires_at);";

/// v6: the copy cache key gains a fingerprint of the product facts the prompt used (see
/// `copy::cache::fingerprint`), so copy stating an old price is never looked up again. Entries
/// written before it are dropped: the cache only holds copy that can be written again.
const COPY_CACHE_FACTS: &str = "DROP TABLE copy_cache;
CREATE TABLE copy_cache (
    model TEXT NOT NULL,
    pack TEXT NOT NULL,
    style TEXT NOT NULL,
    sku TEXT NOT NULL,
    segment TEXT NOT NULL,
    facts TEXT NOT NULL,
    text TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (model, pack, style, sku, segment, facts)
) STRICT, WITHOUT ROWID;
CREATE INDEX copy_cache_by_expiry ON copy_cache(expires_at);
CREATE INDEX copy_cache_by_sku ON copy_cache(sku, facts);";

/// v4: the suppression list (lookup tokens of erased shoppers, never the number) and the
/// consent log (when, under which terms, from where; erased with the shopper).
const PRIVACY: &str = "CREATE TABLE suppressed (
    lookup BLOB PRIMARY KEY CHECK (length(lookup) = 32),
    day INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE consent_log (
    id INTEGER PRIMARY KEY,
    shopper_id BLOB NOT NULL REFERENCES shoppers(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    terms TEXT NOT NULL,
    personalise INTEGER NOT NULL,
    analytics INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('import', 'enrol', 'kiosk'))
) STRICT;
CREATE INDEX consent_log_by_shopper ON consent_log(shopper_id, at);";

/// v5: the attribution tag of the shopper an impression was shown to (when known and they allow
/// analytics); deleted with the impression when its day closes.
const ATTRIBUTION: &str = "ALTER TABLE feedback_impressions ADD COLUMN shopper BLOB
    CHECK (shopper IS NULL OR length(shopper) = 16);
CREATE INDEX feedback_impressions_by_shopper ON feedback_impressions(shopper, sku, at)
    WHERE shopper IS NOT NULL;";

/// v7: the experiment arm an impression was shown in (`holdout`, `personalised` or
/// `experiment:arm`) and the probability of that arm; impressions before arms existed were all
/// personalised.
const ARMS: &str =
    "ALTER TABLE feedback_impressions ADD COLUMN arm TEXT NOT NULL DEFAULT 'personalised';
ALTER TABLE feedback_impressions ADD COLUMN arm_propensity REAL NOT NULL DEFAULT 1.0
    CHECK (arm_propensity > 0 AND arm_propensity <= 1);";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The schema a fresh database gets, pinned: a change shows up here and needs a migration.
    #[test]
    fn schema_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::Store::open(&dir.path().join("k.db")).unwrap();
        let mut stmt = store
            .conn()
            .prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} {}: {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        insta::assert_snapshot!(rows.join("\n"));
    }
}
