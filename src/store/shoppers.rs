//! Repository of shoppers and their sealed rows.
//!
//! Invariants: nothing here sees a loyalty number or plaintext. A shopper is found by its
//! [`LookupToken`]; its rows are [`SealedBlob`]s; its data key only as a [`WrappedKey`].
//! Deleting a shopper deletes its rows (`ON DELETE CASCADE`).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;
use crate::crypto::{CryptoError, LookupToken, RowKind, SealedBlob, ShopperId, WrappedKey};

/// What a shopper agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Consent {
    /// Personalised picks and copy.
    pub personalise: bool,
    /// Counting their interactions in (anonymised) analytics.
    pub analytics: bool,
}

/// A stored shopper, without any plaintext personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopperRecord {
    pub id: ShopperId,
    pub wrapped_key: WrappedKey,
    pub consent: Consent,
    pub created_at: i64,
    pub last_seen: i64,
}

const COLUMNS: &str =
    "id, wrapped_key, consent_personalise, consent_analytics, created_at, last_seen";

fn shopper_id(bytes: Vec<u8>) -> Result<ShopperId, StoreError> {
    bytes
        .try_into()
        .map(ShopperId)
        .map_err(|_| StoreError::Corrupt("shopper id is not 16 bytes"))
}

/// Maps a stored key or blob that does not parse to [`StoreError::Sealed`], keeping the cause.
fn sealed(what: &'static str) -> impl Fn(CryptoError) -> StoreError {
    move |source| StoreError::Sealed { what, source }
}

/// A `shoppers` row as SQLite returns it, before its blobs are checked.
type RawShopper = (Vec<u8>, Vec<u8>, bool, bool, i64, i64);

fn from_row(row: &Row<'_>) -> rusqlite::Result<RawShopper> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn record(raw: RawShopper) -> Result<ShopperRecord, StoreError> {
    let (id, wrapped, personalise, analytics, created_at, last_seen) = raw;
    Ok(ShopperRecord {
        id: shopper_id(id)?,
        wrapped_key: WrappedKey::from_stored(wrapped).map_err(sealed("wrapped key"))?,
        consent: Consent {
            personalise,
            analytics,
        },
        created_at,
        last_seen,
    })
}

pub fn find(conn: &Connection, token: &LookupToken) -> Result<Option<ShopperRecord>, StoreError> {
    let raw = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM shoppers WHERE lookup = ?1"))?
        .query_row([&token.0[..]], from_row)
        .optional()?;
    raw.map(record).transpose()
}

pub fn insert(
    conn: &Connection,
    token: &LookupToken,
    rec: &ShopperRecord,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO shoppers (id, lookup, wrapped_key, kek_id, consent_personalise,
                               consent_analytics, created_at, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        &rec.id.0[..],
        &token.0[..],
        rec.wrapped_key.as_bytes(),
        rec.wrapped_key.kek_id().map_err(sealed("wrapped key"))?,
        rec.consent.personalise,
        rec.consent.analytics,
        rec.created_at,
        rec.last_seen,
    ])?;
    Ok(())
}

pub fn set_consent(conn: &Connection, id: &ShopperId, consent: Consent) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE shoppers SET consent_personalise = ?2, consent_analytics = ?3 WHERE id = ?1",
        params![&id.0[..], consent.personalise, consent.analytics],
    )?;
    Ok(())
}

/// Moves `last_seen` forward to `at` (never backwards).
pub fn touch(conn: &Connection, id: &ShopperId, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE shoppers SET last_seen = max(last_seen, ?2) WHERE id = ?1")?
        .execute(params![&id.0[..], at])?;
    Ok(())
}

/// Stores a sealed row; with a fingerprint, a row already stored under it is left alone and
/// `false` returned.
pub fn insert_row(
    conn: &Connection,
    id: &ShopperId,
    kind: RowKind,
    fingerprint: Option<&[u8; 32]>,
    sealed: &SealedBlob,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO shopper_rows (shopper_id, kind, fingerprint, sealed)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT(fingerprint) DO NOTHING",
        )?
        .execute(params![
            &id.0[..],
            kind as u8,
            fingerprint.map(|f| &f[..]),
            sealed.as_bytes()
        ])?;
    Ok(n == 1)
}

/// True when a row with this fingerprint is stored.
pub fn has_fingerprint(conn: &Connection, fingerprint: &[u8; 32]) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM shopper_rows WHERE fingerprint = ?1")?
        .exists([&fingerprint[..]])?)
}

/// Replaces the shopper's single row of `kind` (used for derived features).
pub fn replace_row(
    conn: &Connection,
    id: &ShopperId,
    kind: RowKind,
    sealed: &SealedBlob,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM shopper_rows WHERE shopper_id = ?1 AND kind = ?2")?
        .execute(params![&id.0[..], kind as u8])?;
    insert_row(conn, id, kind, None, sealed)?;
    Ok(())
}

/// Every sealed row of `kind` of one shopper, oldest first.
pub fn rows(
    conn: &Connection,
    id: &ShopperId,
    kind: RowKind,
) -> Result<Vec<SealedBlob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sealed FROM shopper_rows WHERE shopper_id = ?1 AND kind = ?2 ORDER BY id",
    )?;
    let blobs = stmt
        .query_map(params![&id.0[..], kind as u8], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    blobs
        .into_iter()
        .map(|b| SealedBlob::from_stored(b).map_err(sealed("sealed row")))
        .collect()
}

/// Deletes the shopper, its wrapped key and all its rows. Returns whether it existed.
pub fn delete(conn: &Connection, id: &ShopperId) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM shoppers WHERE id = ?1", [&id.0[..]])? == 1)
}

/// Every shopper's id and wrapped key (for key rotation).
pub fn wrapped_keys(conn: &Connection) -> Result<Vec<(ShopperId, WrappedKey)>, StoreError> {
    let mut stmt = conn.prepare("SELECT id, wrapped_key FROM shoppers")?;
    let raw = stmt
        .query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(id, w)| {
            Ok((
                shopper_id(id)?,
                WrappedKey::from_stored(w).map_err(sealed("wrapped key"))?,
            ))
        })
        .collect()
}

/// One shopper's wrapped key as stored now (`None` once they are erased).
pub fn wrapped_key(conn: &Connection, id: &ShopperId) -> Result<Option<WrappedKey>, StoreError> {
    let raw: Option<Vec<u8>> = conn
        .prepare_cached("SELECT wrapped_key FROM shoppers WHERE id = ?1")?
        .query_row([&id.0[..]], |r| r.get(0))
        .optional()?;
    raw.map(|w| WrappedKey::from_stored(w).map_err(sealed("wrapped key")))
        .transpose()
}

pub fn update_wrapped_key(
    conn: &Connection,
    id: &ShopperId,
    wrapped: &WrappedKey,
) -> Result<(), StoreError> {
    let kek_id = wrapped.kek_id().map_err(sealed("wrapped key"))?;
    conn.prepare_cached("UPDATE shoppers SET wrapped_key = ?2, kek_id = ?3 WHERE id = ?1")?
        .execute(params![&id.0[..], wrapped.as_bytes(), kek_id])?;
    Ok(())
}

/// Number of shoppers whose data key is wrapped by KEK `kek_id`.
pub fn count_by_kek(conn: &Connection, kek_id: u32) -> Result<u64, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM shoppers WHERE kek_id = ?1",
        [kek_id],
        |r| r.get(0),
    )?)
}

/// Ids of shoppers not seen since `before` (unix seconds).
pub fn unseen_since(conn: &Connection, before: i64) -> Result<Vec<ShopperId>, StoreError> {
    let mut stmt = conn.prepare("SELECT id FROM shoppers WHERE last_seen < ?1")?;
    let ids = stmt
        .query_map([before], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    ids.into_iter().map(shopper_id).collect()
}

/// (shoppers, sealed rows) counts.
pub fn counts(conn: &Connection) -> Result<(u64, u64), StoreError> {
    Ok((
        conn.query_row("SELECT count(*) FROM shoppers", [], |r| r.get(0))?,
        conn.query_row("SELECT count(*) FROM shopper_rows", [], |r| r.get(0))?,
    ))
}

/// Records a fingerprint of an imported row that has no shopper (store-level only); returns
/// `false` if it was seen before.
pub fn mark_seen(conn: &Connection, fingerprint: &[u8; 32]) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("INSERT INTO seen_rows (fingerprint) VALUES (?1) ON CONFLICT DO NOTHING")?
        .execute([&fingerprint[..]])?
        == 1)
}
