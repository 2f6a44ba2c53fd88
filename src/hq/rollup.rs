//! HQ's per-day roll-up: the sums every report, the fleet priors and the dashboard read, kept up
//! to date at ingest so that no report scans raw cells. One definition of its tables, of how a
//! batch's cells fold into its rows ([`Level::batch_rows`]) and of its queries, used by both
//! backends ([`SqliteHq`](super::store::SqliteHq), [`PgHq`](super::pg::PgHq)); the SQL below is
//! the dialect both accept (`$n` parameters, `CAST`, `INSERT … AS r … ON CONFLICT`).
//!
//! Two levels, both keyed by day:
//! - `rollup_kiosk_day`: (day, store, kiosk, sku, style, segment, content kind, arm) — every dimension
//!   a report can group by, so it answers any report. It is the permanent record of what was
//!   counted: raw batch documents are emptied after the retention (see [`super::retention`]),
//!   the roll-up never.
//! - `rollup_store_day`: (day, store, style, segment, content kind, arm) — the same sums without
//!   kiosk and SKU, a few hundred times smaller for a fleet (a store's kiosks and products fold
//!   into one row per day and context). Every report that groups by neither kiosk nor SKU reads
//!   it ([`Level::for_dims`]): totals, store × day, style, segment × style, the priors, the
//!   dashboard.
//!
//! Invariants:
//! - Both levels are updated in the ingest transaction with the batch's cells summed per row
//!   ([`Level::batch_rows`], pure: one row per key, in key order, whole sums checked) and added
//!   to the stored sums by an upsert ([`Level::upsert_sql`]: `ON CONFLICT DO UPDATE` adding;
//!   PostgreSQL takes the same rows as arrays in one statement). A batch is stored once (its id
//!   is deduplicated in the same transaction), so each cell is added to the roll-up exactly
//!   once; a refused or rolled-back batch adds nothing. Upserts visit rows in key order (the
//!   batch's store and kiosk are one value each, so [`BatchKey`]'s order is the table's), so
//!   concurrent ingests on PostgreSQL that touch the same store-day rows lock them in one order
//!   and cannot deadlock on each other.
//! - The roll-up always equals a recomputation from every batch document ever accepted (the
//!   migration that created it filled it from the raw cells stored before).
//! - Integer sums cannot wrap. A batch's own sums are checked in [`Level::batch_rows`] (a batch
//!   whose sum leaves `i64` is refused as [`Overflow`]); the addition to the stored sums is
//!   signed 64-bit on both backends and checked by the database: PostgreSQL's `bigint` addition
//!   raises "out of range", and on SQLite an overflowing `+` turns into a REAL that a `STRICT`
//!   integer column refuses. Either way the ingest transaction fails and stores nothing; no sum
//!   is ever silently wrong. In practice the bound is far away: HQ's ingest validation caps
//!   every count of a cell (at most about 10^6 per count, and never above `wire::MAX_NUMBER`),
//!   so one roll-up row needs more than 9 × 10^12 maximal batches for the same kiosk, day and
//!   key before it could reach `i64::MAX` — centuries at any ingest rate HQ reaches.
//! - The inverse-propensity sums are floating point (`REAL` / `double precision`); they are added
//!   per batch and then per group, so their last bits may differ from a sum over raw cells taken
//!   in another order (reports round them to 6 decimals). Whole counts are exact.

use std::collections::BTreeMap;

use super::store::Dim;
use super::HqError;
use crate::feedback::cells::Cell;

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

    /// The key columns that vary inside one batch (all but `store_id` and `kiosk_id`, which are
    /// the batch's), in key order: `day` then text columns, as [`BatchKey::text`] names them.
    pub fn batch_key(self) -> impl Iterator<Item = &'static str> {
        self.key()
            .iter()
            .copied()
            .filter(|c| *c != "store_id" && *c != "kiosk_id")
    }

    /// A batch's cells summed per row of this table, one entry per key, in key order.
    pub fn batch_rows(self, cells: &[Cell]) -> Result<Vec<(BatchKey<'_>, Sums)>, Overflow> {
        let mut rows: BTreeMap<BatchKey<'_>, Sums> = BTreeMap::new();
        for cell in cells {
            let key = BatchKey {
                day: cell.day.0,
                sku: (self == Self::KioskDay).then_some(cell.sku.as_str()),
                style: &cell.style,
                segment: &cell.segment,
                content_kind: &cell.content_kind,
                arm: &cell.arm,
            };
            rows.entry(key).or_default().add(cell)?;
        }
        Ok(rows.into_iter().collect())
    }

    /// Adds one row (parameters: the key columns in key order, then [`SUM_COLUMNS`]) to this
    /// table's sums. Built once per level (every ingest asks for it).
    pub fn upsert_sql(self) -> &'static str {
        // `ALL` is in declaration order, so a level's discriminant is its place in it.
        static SQL: std::sync::LazyLock<[String; 2]> =
            std::sync::LazyLock::new(|| Level::ALL.map(Level::build_upsert_sql));
        &SQL[self as usize]
    }

    fn build_upsert_sql(self) -> String {
        let params: Vec<String> = (1..=self.key().len() + SUM_COLUMNS.len())
            .map(|i| format!("${i}"))
            .collect();
        format!(
            "INSERT INTO {table} AS r ({key}, {cols}) VALUES ({params}) {add}",
            table = self.table(),
            key = self.key().join(", "),
            cols = SUM_COLUMNS.join(", "),
            params = params.join(", "),
            add = self.on_conflict_add(),
        )
    }

    /// `ON CONFLICT (key) DO UPDATE` adding the new row's sums to the stored ones (the target
    /// aliased `r`).
    pub fn on_conflict_add(self) -> String {
        let add: Vec<String> = SUM_COLUMNS
            .iter()
            .map(|c| format!("{c} = r.{c} + excluded.{c}"))
            .collect();
        format!(
            "ON CONFLICT ({}) DO UPDATE SET {}",
            self.key().join(", "),
            add.join(", ")
        )
    }
}

/// The key of one roll-up row of a batch, without the batch's store and kiosk; fields in the
/// table's key order, so the derived order is the table's (`sku` is `None` at the store-day
/// level). Text compares byte-wise, as the `"C"` collation of HQ's PostgreSQL columns and
/// SQLite's default do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BatchKey<'a> {
    pub day: i64,
    pub sku: Option<&'a str>,
    pub style: &'a str,
    pub segment: &'a str,
    pub content_kind: &'a str,
    pub arm: &'a str,
}

impl<'a> BatchKey<'a> {
    /// The value of a text key column ([`Level::batch_key`] but `day`).
    pub fn text(&self, column: &str) -> &'a str {
        match column {
            "sku" => self.sku.unwrap_or(""),
            "style" => self.style,
            "segment" => self.segment,
            "content_kind" => self.content_kind,
            "arm" => self.arm,
            _ => "",
        }
    }
}

/// The sums of one roll-up row, in [`SUM_COLUMNS`] order: the whole ones, then the
/// inverse-propensity ones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub whole: [i64; WHOLE_COLUMNS],
    pub ipw: [f64; 3],
}

impl Sums {
    fn add(&mut self, cell: &Cell) -> Result<(), Overflow> {
        for (i, (sum, v)) in self.whole.iter_mut().zip(cell.numbers()).enumerate() {
            *sum = i64::try_from(v)
                .ok()
                .and_then(|v| sum.checked_add(v))
                .ok_or(Overflow(SUM_COLUMNS[i]))?;
        }
        let ipw = [cell.ipw.impressions, cell.ipw.taps, cell.ipw.conversions];
        for (sum, v) in self.ipw.iter_mut().zip(ipw) {
            *sum += v;
        }
        Ok(())
    }
}

/// A batch's own sum of a whole column (named) does not fit a signed 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow(pub &'static str);

impl From<Overflow> for HqError {
    fn from(o: Overflow) -> Self {
        HqError::Number {
            what: o.0,
            value: "(a batch's sum)".into(),
        }
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
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::feedback::cells::{Counts, Day, Ipw};

    #[test]
    fn each_level_upserts_into_its_own_table() {
        for (i, level) in Level::ALL.into_iter().enumerate() {
            assert_eq!(level as usize, i);
            let sql = level.upsert_sql();
            assert!(
                sql.contains(&format!("INSERT INTO {} ", level.table())),
                "{sql}"
            );
            assert_eq!(sql, level.build_upsert_sql());
        }
    }

    fn cell(day: i64, sku: &str, style: &str, impressions: u64) -> Cell {
        Cell {
            day: Day(day),
            sku: sku.into(),
            style: style.into(),
            segment: "all".into(),
            content_kind: "blurb".into(),
            arm: "personalised".into(),
            sessions: 5,
            counts: Counts {
                impressions,
                taps: 1,
                ..Counts::default()
            },
            ipw: Ipw {
                impressions: 0.5,
                ..Ipw::default()
            },
        }
    }

    #[test]
    fn a_batch_folds_into_one_row_per_key_in_key_order() {
        let cells = [
            cell(2, "b", "value", 10),
            cell(1, "z", "value", 1),
            cell(2, "a", "value", 3),
            cell(2, "b", "value", 5),
            cell(2, "B", "concise", 7),
        ];
        let kiosk = Level::KioskDay.batch_rows(&cells).unwrap();
        let keys: Vec<(i64, &str, &str)> = kiosk
            .iter()
            .map(|(k, _)| (k.day, k.text("sku"), k.style))
            .collect();
        // Byte order: "B" < "a" < "b".
        assert_eq!(
            keys,
            [
                (1, "z", "value"),
                (2, "B", "concise"),
                (2, "a", "value"),
                (2, "b", "value")
            ]
        );
        let b = &kiosk[3].1;
        assert_eq!(b.whole[..3], [10, 15, 2]);
        assert_eq!(b.ipw, [1.0, 0.0, 0.0]);
        // Without the SKU, day 2's value cells are one row.
        let store = Level::StoreDay.batch_rows(&cells).unwrap();
        let rows: Vec<(i64, &str, i64)> = store
            .iter()
            .map(|(k, s)| (k.day, k.style, s.whole[1]))
            .collect();
        assert_eq!(rows, [(1, "value", 1), (2, "concise", 7), (2, "value", 18)]);
        assert!(store.iter().all(|(k, _)| k.sku.is_none()));
        assert_eq!(
            Level::KioskDay.batch_key().collect::<Vec<_>>(),
            ["day", "sku", "style", "segment", "content_kind", "arm"]
        );
        assert_eq!(
            Level::StoreDay.batch_key().collect::<Vec<_>>(),
            ["day", "style", "segment", "content_kind", "arm"]
        );
    }

    #[test]
    fn a_batch_sum_past_i64_is_refused_not_wrapped() {
        let big = cell(1, "a", "value", i64::MAX as u64);
        assert!(Level::StoreDay
            .batch_rows(std::slice::from_ref(&big))
            .is_ok());
        let two = [big.clone(), cell(1, "b", "value", 1)];
        assert!(Level::KioskDay.batch_rows(&two).is_ok(), "two rows");
        assert_eq!(
            Level::StoreDay.batch_rows(&two).err(),
            Some(Overflow("impressions"))
        );
        let past = cell(1, "a", "value", i64::MAX as u64 + 1);
        assert_eq!(
            Level::KioskDay.batch_rows(&[past]).err(),
            Some(Overflow("impressions"))
        );
    }

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
