//! HQ's per-day roll-up: the sums every report, the fleet priors and the dashboard read, kept up
//! to date at ingest so that no report scans raw cells. One definition of its tables and queries,
//! used by both backends ([`SqliteHq`](super::store::SqliteHq), [`PgHq`](super::pg::PgHq)); the
//! SQL below is the dialect both accept (`$n` parameters, `CAST`, `INSERT … AS r … ON CONFLICT`).
//!
//! Two levels, both keyed by day:
//! - `rollup_kiosk_day`: (day, store, kiosk, sku, style, segment, content kind, arm) — every dimension
//!   a report can group by, so it answers any report. It is the permanent record of what was
//!   counted: raw cells are deleted after the raw-batch retention (see [`super::retention`]), the
//!   roll-up never.
//! - `rollup_store_day`: (day, store, style, segment, content kind, arm) — the same sums without
//!   kiosk and SKU, a few hundred times smaller for a fleet (a store's kiosks and products fold
//!   into one row per day and context). Every report that groups by neither kiosk nor SKU reads
//!   it ([`Level::for_dims`]): totals, store × day, style, segment × style, the priors, the
//!   dashboard.
//!
//! Invariants:
//! - Both levels are updated in the ingest transaction, from the cells just stored for the batch
//!   ([`Level::add_sql`]: `INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE` adding to the
//!   stored sums; SQLite reads them back from `cells`, PostgreSQL takes them from the cell
//!   insert's `RETURNING` in the same statement). A batch's cells are stored once (its id is deduplicated in the same
//!   transaction), so each is added to the roll-up exactly once; a refused or rolled-back batch
//!   adds nothing. Upserts visit keys in key order, so concurrent ingests on PostgreSQL that touch
//!   the same store-day rows lock them in one order and cannot deadlock on each other.
//! - The migration that created the roll-up filled it from the raw cells stored before (the same
//!   grouping), so the roll-up always equals a recomputation from every cell ever accepted.
//! - Integer sums cannot wrap. They are signed 64-bit on both backends, and the addition is
//!   checked by the database: PostgreSQL's `bigint` addition and `numeric → bigint` cast raise
//!   "out of range", SQLite's integer `sum()` raises "integer overflow" and an overflowing `+`
//!   turns into a REAL that a `STRICT` integer column refuses. Either way the ingest transaction
//!   fails and stores nothing; no sum is ever silently wrong. In practice the bound is far away:
//!   HQ's ingest validation caps every count of a cell (at most about 10^6 per count, and never
//!   above `wire::MAX_NUMBER`), so one roll-up row needs more than 9 × 10^12 maximal batches for
//!   the same kiosk, day and key before it could reach `i64::MAX` — centuries at any ingest rate
//!   HQ reaches.
//! - The inverse-propensity sums are floating point (`REAL` / `double precision`); they are added
//!   per batch and then per group, so their last bits may differ from a sum over raw cells taken
//!   in another order (reports round them to 6 decimals). Whole counts are exact.

use super::store::Dim;

/// The summed columns, in [`GroupRow`](super::store::GroupRow) order: sessions, the nine counts
/// (as [`Cell::numbers`](crate::feedback::cells::Cell::numbers)), then the three
/// inverse-propensity sums.
pub const SUM_COLUMNS: [&str; 13] = [
    "sessions",
    "impressions",
    "taps",
    "thumbs_up",
    "thumbs_down",
    "whys",
    "opt_outs",
    "dwells",
    "dwell_ms",
    "conversions",
    "ipw_impressions",
    "ipw_taps",
    "ipw_conversions",
];

/// How many of [`SUM_COLUMNS`] are whole numbers (the rest are floating point).
pub const WHOLE_COLUMNS: usize = 10;

/// A roll-up table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Every dimension: `rollup_kiosk_day`.
    KioskDay,
    /// Without kiosk and SKU: `rollup_store_day`.
    StoreDay,
}

impl Level {
    pub const ALL: [Level; 2] = [Level::KioskDay, Level::StoreDay];

    pub fn table(self) -> &'static str {
        match self {
            Self::KioskDay => "rollup_kiosk_day",
            Self::StoreDay => "rollup_store_day",
        }
    }

    /// The key columns (the table's primary key, day first).
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Self::KioskDay => &[
                "day",
                "store_id",
                "kiosk_id",
                "sku",
                "style",
                "segment",
                "content_kind",
                "arm",
            ],
            Self::StoreDay => &["day", "store_id", "style", "segment", "content_kind", "arm"],
        }
    }

    /// The smallest table that has every dimension of `dims`.
    pub fn for_dims(dims: &[Dim]) -> Level {
        if dims
            .iter()
            .all(|d| Self::StoreDay.key().contains(&d.column()))
        {
            Self::StoreDay
        } else {
            Self::KioskDay
        }
    }

    /// Adds the cells of batch `$1` (already in `cells`) to this table's sums.
    pub fn add_batch_sql(self) -> String {
        self.add_sql("cells WHERE batch_id = $1")
    }

    /// Adds the cells `from` yields (a table with the `cells` columns and its filter, or a
    /// common table expression) to this table's sums.
    pub fn add_sql(self, from: &str) -> String {
        let key = self.key().join(", ");
        let sums: Vec<String> = SUM_COLUMNS.iter().map(|c| format!("sum({c})")).collect();
        let add: Vec<String> = SUM_COLUMNS
            .iter()
            .map(|c| format!("{c} = r.{c} + excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO {table} AS r ({key}, {cols})
             SELECT {key}, {sums} FROM {from}
             GROUP BY {key} ORDER BY {key}
             ON CONFLICT ({key}) DO UPDATE SET {add}",
            table = self.table(),
            cols = SUM_COLUMNS.join(", "),
            sums = sums.join(", "),
            add = add.join(", "),
        )
    }
}

/// The report query: sums over `$1 <= day <= $2` grouped (and ordered) by `dims`, read from the
/// smallest roll-up that has them. Columns: the dimensions, then [`SUM_COLUMNS`] (whole sums as
/// `BIGINT`, the rest as `DOUBLE PRECISION`; zero over no rows).
pub fn grouped_sql(dims: &[Dim]) -> String {
    let cols: Vec<&str> = dims.iter().map(|d| d.column()).collect();
    let select = if cols.is_empty() {
        String::new()
    } else {
        format!("{}, ", cols.join(", "))
    };
    let group = if cols.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {0} ORDER BY {0}", cols.join(", "))
    };
    let sums: Vec<String> = SUM_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ty = if i < WHOLE_COLUMNS {
                "BIGINT"
            } else {
                "DOUBLE PRECISION"
            };
            format!("CAST(coalesce(sum({c}), 0) AS {ty})")
        })
        .collect();
    format!(
        "SELECT {select}{sums} FROM {table} WHERE day >= $1 AND day <= $2 {group}",
        sums = sums.join(", "),
        table = Level::for_dims(dims).table(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_the_smallest_roll_up_that_has_their_dimensions() {
        assert_eq!(Level::for_dims(&[]), Level::StoreDay);
        assert_eq!(Level::for_dims(&[Dim::Store, Dim::Day]), Level::StoreDay);
        assert_eq!(
            Level::for_dims(&[Dim::Segment, Dim::Style, Dim::ContentKind]),
            Level::StoreDay
        );
        assert_eq!(Level::for_dims(&[Dim::Style, Dim::Kiosk]), Level::KioskDay);
        assert_eq!(Level::for_dims(&[Dim::Sku]), Level::KioskDay);
        // Every dimension is a key column of the kiosk-day table.
        for d in Dim::ALL {
            assert!(Level::KioskDay.key().contains(&d.column()), "{d:?}");
        }
        let sql = grouped_sql(&[Dim::Store, Dim::Day]);
        assert!(sql.contains("FROM rollup_store_day"), "{sql}");
        assert!(
            sql.contains("GROUP BY store_id, day ORDER BY store_id, day"),
            "{sql}"
        );
    }
}
