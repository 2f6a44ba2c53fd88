//! Shopper profiles: enrolment, consent, opening a shopper's sealed data, erasure by
//! crypto-shredding, the retention sweep and key-encryption-key rotation.
//!
//! Invariants:
//! - A loyalty number enters this module only to be turned into a [`LookupToken`]; it is never
//!   stored, logged or returned. Log lines name shoppers by [`ShopperId::short`].
//! - Plaintext shopper data exists only in memory, after [`open_events`] (features are derived from the opened events, in memory).
//! - Erasure deletes the shopper's wrapped data key and rows in one transaction, checkpoints the
//!   WAL (with `secure_delete` on, freed pages are zeroed), and then rotates the KEK (at once, or
//!   once a day with `erase_rotation = "daily"`) so that a copy of the database taken before the
//!   erasure cannot be opened for that shopper with the key files that remain.
//! - Rotation re-wraps data keys only, in one transaction; sealed rows are untouched. See
//!   `crypto::keyfiles` for the file protocol that makes an interrupted rotation harmless;
//!   `tests/store_crash.rs` kills `keys rotate` at each step (`rotate.*` in `store::fault`) and
//!   opens every profile with the key files left on disk.
//! - One writer of keys at a time, in any process: rotation (also erasure's and the sweep's) and
//!   settling an interrupted rotation hold the key directory's exclusive lock from before they
//!   re-read the keyring from disk until the new KEK file is in place, so a second writer works
//!   on the first one's result. A new KEK's id must be unused by the key files and by every
//!   stored wrapped key ([`ProfileError::DuplicateKekId`]).
//! - A vault's keyring is never used stale, though other processes rotate (the CLI, another
//!   vault): *wrapping* a new data key ([`Vault::enroll`], imports via
//!   [`Vault::keys_for_wrapping`]) holds the shared lock from a check of the KEK ids on disk
//!   (two header reads; a reload when they differ) until its transaction committed, so no key is
//!   wrapped under a KEK a rotation already retired, and a rotation waits for that commit and
//!   re-wraps the new key too. *Unwrapping* ([`Vault::unwrap_key`]) that meets a KEK id the vault
//!   has not loaded — ids only grow and are never reused, so someone rotated since the vault
//!   loaded its keys or since the row was read — takes the shared lock, under which no rotation
//!   is under way anywhere and the key files and stored wrapped keys agree, reloads the keyring
//!   if its ids differ from the files' and unwraps the key as stored now. The happy path costs
//!   nothing; a long-running daemon keeps serving shoppers across a CLI rotation.
//! - Write transactions that read first begin `IMMEDIATE` (enrolment, rotation), so a concurrent
//!   writer makes them wait for the busy timeout instead of failing at once.
//! - The key lock is always taken before a database transaction begins, never inside one, so the
//!   lock and SQLite's write lock cannot wait for each other.

use std::sync::{Arc, Mutex};

use ring::rand::SecureRandom;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::config::{Config, EraseRotation};
use crate::crypto::keyfiles::{ExclusiveLock, KeyDir, KeyError, Keyring, SharedLock};
use crate::crypto::{self, CryptoError, DataKey, LookupToken, RowKind, ShopperId};
use crate::event::{Event, EventKind};
use crate::store::privacy::{self, ConsentEntry, ConsentSource};
use crate::store::shoppers::{self, Consent, ShopperRecord};
use crate::store::{fault, Store, StoreError};
use crate::vocab::LoyaltyNumber;

const META_ROTATION_DUE: &str = "kek_rotation_due";
const META_LAST_ROTATION_DAY: &str = "kek_last_rotation_day";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("shopper data: {0}")]
    Crypto(#[from] CryptoError),
    #[error("shopper data is not the JSON it should be: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no shopper is enrolled with that loyalty number")]
    UnknownShopper,
    #[error(
        "this shopper asked to be erased; they are enrolled again only when they ask to join \
         again (`shopper enroll --rejoin`)"
    )]
    Suppressed,
    #[error("feedback rows: {0}")]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error("cannot write the export to {path} (an existing file is never overwritten): {source}")]
    Export {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("unknown consent {0:?}; expected a comma-separated list of personalise, analytics")]
    BadConsent(String),
    #[error(
        "refusing to rotate to key-encryption key {id}: data keys in the store are wrapped under a \
         key with that id already (were the key files restored from an older copy?)"
    )]
    DuplicateKekId { id: u32 },
}

/// Parses `personalise,analytics` (either, both, or `none`).
pub fn parse_consent(text: &str) -> Result<Consent, ProfileError> {
    let mut consent = Consent::default();
    for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match part {
            "personalise" | "personalize" => consent.personalise = true,
            "analytics" => consent.analytics = true,
            "none" => {}
            other => return Err(ProfileError::BadConsent(other.to_string())),
        }
    }
    Ok(consent)
}

/// The store together with the keys that open it.
pub struct Vault {
    pub store: Store,
    /// The keyring as last loaded; replaced (never changed in place) when it turns out stale.
    keys: Mutex<Arc<Keyring>>,
    key_dir: KeyDir,
    rng: ring::rand::SystemRandom,
    erase_rotation: EraseRotation,
    /// The terms version stored with every consent given or changed.
    consent_terms: String,
    /// Consent of shoppers an import creates (config `import_consent`).
    pub import_consent: Consent,
    /// How long after an impression a purchase still counts as its conversion.
    pub conversion_window_secs: u64,
}

/// A shopper whose data key has been unwrapped.
#[derive(Debug)]
pub struct OpenShopper {
    pub record: ShopperRecord,
    pub key: DataKey,
}

/// What `shopper show` prints: never the loyalty number or token.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub shopper: String,
    pub consent: Consent,
    pub created_day: String,
    pub last_seen_day: String,
    pub events: EventCounts,
    pub visits: u32,
    pub recency_days: Option<f64>,
    /// The coarse segment key used for copy caching and aggregation.
    pub segment: String,
    pub interests: Vec<String>,
    pub preferred_brands: Vec<String>,
    pub price_band: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct EventCounts {
    pub views: u32,
    pub carts: u32,
    pub purchases: u32,
    pub returns: u32,
}

/// Everything the kiosk holds about one shopper, opened (access and portability requests):
/// written by `shopper export` to a file only its owner can read.
#[derive(Debug, Clone, Serialize)]
pub struct ShopperExport {
    /// The shopper's id on this kiosk (short form), never the loyalty number.
    pub shopper: String,
    pub consent: Consent,
    /// Every consent given or changed: when, under which terms, from where.
    pub consent_log: Vec<ConsentEntry>,
    pub created_day: String,
    pub last_seen_day: String,
    /// The recommender's view of the shopper (as `shopper show` prints it).
    pub summary: Summary,
    /// Every behaviour event stored for the shopper, decrypted, oldest first.
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RotationReport {
    pub from_kek: u32,
    pub to_kek: u32,
    pub rewrapped: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EraseReport {
    pub shopper: String,
    pub rows_deleted: u64,
    pub rotation: Option<RotationReport>,
    pub rotation_deferred: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub erased: usize,
    pub rotation: Option<RotationReport>,
}

impl Vault {
    /// Opens the database and loads the keys named by `config`, settling any interrupted
    /// rotation.
    pub fn open(config: &Config) -> Result<Self, ProfileError> {
        let key_dir = KeyDir::new(config.key_dir());
        let keys = key_dir.load()?;
        let store = Store::open(&config.db_path())?;
        let mut vault = Self {
            store,
            keys: Mutex::new(Arc::new(keys)),
            key_dir,
            rng: crypto::rng(),
            erase_rotation: config.erase_rotation,
            consent_terms: config.consent_terms.clone(),
            import_consent: config.import_consent,
            conversion_window_secs: config.conversion_window_secs,
        };
        vault.settle_rotation()?;
        Ok(vault)
    }

    pub fn rng(&self) -> &dyn SecureRandom {
        &self.rng
    }

    pub fn token(&self, loyalty: &LoyaltyNumber) -> LookupToken {
        self.keys().pepper.loyalty_token(loyalty)
    }

    /// The keyring as loaded: the pepper and device key (which never change) and the KEKs as
    /// they were at the last load. To wrap a data key use [`Vault::keys_for_wrapping`]; to
    /// unwrap one, [`Vault::unwrap_key`].
    pub fn keys(&self) -> Arc<Keyring> {
        Arc::clone(
            &self
                .keys
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn set_keys(&self, keys: Keyring) {
        *self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
    }

    /// The current keyring for wrapping new data keys, with the key directory's shared lock: the
    /// KEK ids on disk are checked (and the keyring reloaded if another process rotated). Keep
    /// the lock until the transaction that stores the wrapped keys has committed — a rotation
    /// waits for it and then re-wraps those keys too. Take it before the transaction begins.
    pub fn keys_for_wrapping(&self) -> Result<(SharedLock, Arc<Keyring>), ProfileError> {
        let lock = self.key_dir.lock_shared()?;
        let keys = self.current_keys(&lock)?;
        Ok((lock, keys))
    }

    /// The keyring as the key files hold it, reloaded when its KEK ids differ from theirs.
    fn current_keys(&self, lock: &SharedLock) -> Result<Arc<Keyring>, ProfileError> {
        let keys = self.keys();
        if keys.kek_ids() == self.key_dir.kek_ids(lock)? {
            return Ok(keys);
        }
        tracing::info!("key files changed by another process; keyring reloaded");
        self.set_keys(self.key_dir.load_locked(lock)?);
        Ok(self.keys())
    }

    /// Unwraps a shopper's data key. A key wrapped under a KEK this vault has not loaded means
    /// someone rotated since the vault loaded its keys, or since `record` was read: then, under
    /// the shared lock — no rotation is under way anywhere, so the key files and the stored
    /// wrapped keys agree — the keyring is brought up to date and the key unwrapped as stored
    /// now (re-wrapping never changes the data key itself).
    pub fn unwrap_key(&self, record: &ShopperRecord) -> Result<DataKey, ProfileError> {
        match unwrap_key(&self.keys(), record) {
            Err(ProfileError::Crypto(CryptoError::UnknownKek(_))) => {}
            done => return done,
        }
        let lock = self.key_dir.lock_shared()?;
        let keys = self.current_keys(&lock)?;
        let wrapped = shoppers::wrapped_key(self.store.conn(), &record.id)?
            .ok_or(ProfileError::UnknownShopper)?;
        drop(lock);
        let kek_id = wrapped.kek_id()?;
        let kek = keys
            .kek_by_id(kek_id)
            .ok_or(CryptoError::UnknownKek(kek_id))?;
        Ok(kek.unwrap_key(&record.id, &wrapped)?)
    }

    /// Enrols a shopper (or updates the consent of an enrolled one), logging the consent with
    /// the configured terms version. Returns whether it was new. A shopper who asked to be
    /// erased is refused ([`ProfileError::Suppressed`]) unless `rejoin`: they asked to join
    /// again, which takes their token off the suppression list.
    pub fn enroll(
        &mut self,
        loyalty: &LoyaltyNumber,
        consent: Consent,
        rejoin: bool,
        now: i64,
    ) -> Result<(ShopperId, bool), ProfileError> {
        // Held until the commit: a new shopper's data key is wrapped under the current KEK.
        let (_held, keys) = self.keys_for_wrapping()?;
        let token = keys.pepper.loyalty_token(loyalty);
        let tx = write_transaction(&mut self.store)?;
        if rejoin && privacy::lift(&tx, &token)? {
            tracing::info!("an erased shopper joined again");
        }
        let (open, created) = get_or_create(&tx, &keys, &self.rng, &token, consent, now)?;
        if !created {
            shoppers::set_consent(&tx, &open.record.id, consent)?;
            shoppers::touch(&tx, &open.record.id, now)?;
        }
        privacy::log_consent(
            &tx,
            &open.record.id,
            consent,
            &self.consent_terms,
            ConsentSource::Enrol,
            now,
        )?;
        tx.commit().map_err(StoreError::from)?;
        tracing::info!(shopper = %open.record.id.short(), created, "shopper enrolled");
        Ok((open.record.id, created))
    }

    /// Finds and opens a shopper by loyalty number.
    pub fn find(&self, loyalty: &LoyaltyNumber) -> Result<Option<OpenShopper>, ProfileError> {
        let token = self.token(loyalty);
        let Some(record) = shoppers::find(self.store.conn(), &token)? else {
            return Ok(None);
        };
        let key = self.unwrap_key(&record)?;
        Ok(Some(OpenShopper { record, key }))
    }

    /// Changes a shopper's consent and logs it (when, terms version, from where).
    pub fn set_consent(
        &self,
        shopper: &OpenShopper,
        consent: Consent,
        source: ConsentSource,
        now: i64,
    ) -> Result<(), ProfileError> {
        let conn = self.store.conn();
        shoppers::set_consent(conn, &shopper.record.id, consent)?;
        privacy::log_consent(
            conn,
            &shopper.record.id,
            consent,
            &self.consent_terms,
            source,
            now,
        )?;
        Ok(())
    }

    /// The terms version consent is given under (config `consent_terms`).
    pub fn consent_terms(&self) -> &str {
        &self.consent_terms
    }

    /// The summary `shopper show` prints: consent, activity counts and the recommender's coarse
    /// features of this shopper (segment, interests, brands, price band).
    pub fn summary(
        &self,
        shopper: &OpenShopper,
        now: i64,
        cfg: &crate::recommend::FeatureConfig,
    ) -> Result<Summary, ProfileError> {
        let events = open_events(self.store.conn(), shopper)?;
        let mut counts = EventCounts::default();
        for e in &events {
            match e.kind {
                EventKind::View => counts.views += 1,
                EventKind::Cart => counts.carts += 1,
                EventKind::Purchase => counts.purchases += 1,
                EventKind::Return => counts.returns += 1,
            }
        }
        let catalog =
            crate::recommend::CatalogIndex::new(crate::store::catalog::all(self.store.conn())?);
        let features = crate::recommend::extract(&events, &catalog, now, cfg);
        let segment = features.segment();
        Ok(Summary {
            shopper: shopper.record.id.short(),
            consent: shopper.record.consent,
            created_day: day_string(shopper.record.created_at),
            last_seen_day: day_string(shopper.record.last_seen),
            events: counts,
            visits: features.visits,
            recency_days: features.recency_days,
            segment: segment.to_string(),
            interests: features.interests(),
            preferred_brands: features.top_brands(),
            price_band: segment.band().map(|b| b.as_str().to_string()),
        })
    }

    /// Everything this kiosk holds about `shopper`, opened.
    pub fn export(
        &self,
        shopper: &OpenShopper,
        now: i64,
        cfg: &crate::recommend::FeatureConfig,
    ) -> Result<ShopperExport, ProfileError> {
        let conn = self.store.conn();
        let mut events = open_events(conn, shopper)?;
        events.sort_by_key(|e| e.at);
        Ok(ShopperExport {
            shopper: shopper.record.id.short(),
            consent: shopper.record.consent,
            consent_log: privacy::consent_log(conn, &shopper.record.id)?,
            created_day: day_string(shopper.record.created_at),
            last_seen_day: day_string(shopper.record.last_seen),
            summary: self.summary(shopper, now, cfg)?,
            events,
        })
    }

    /// Crypto-shreds the shopper with this loyalty number.
    pub fn erase(
        &mut self,
        loyalty: &LoyaltyNumber,
        now: i64,
    ) -> Result<EraseReport, ProfileError> {
        let token = self.token(loyalty);
        let record =
            shoppers::find(self.store.conn(), &token)?.ok_or(ProfileError::UnknownShopper)?;
        // The shopper asked to be forgotten: no later import or enrolment brings them back.
        let rows_deleted = self.erase_ids(&[record.id], Some(&token), now)?;
        let (rotation, rotation_deferred) = self.rotate_after_erase(now)?;
        tracing::info!(shopper = %record.id.short(), rows_deleted, "shopper erased");
        Ok(EraseReport {
            shopper: record.id.short(),
            rows_deleted,
            rotation,
            rotation_deferred,
        })
    }

    /// Erases every shopper unseen for `retention_days`, then performs a due KEK rotation.
    pub fn sweep(&mut self, now: i64, retention_days: u32) -> Result<SweepReport, ProfileError> {
        let before = now - i64::from(retention_days) * 86_400;
        let ids = shoppers::unseen_since(self.store.conn(), before)?;
        if !ids.is_empty() {
            self.erase_ids(&ids, None, now)?;
        }
        let (rotation, _) = if ids.is_empty() && self.store.meta(META_ROTATION_DUE)?.is_none() {
            (None, false)
        } else {
            self.rotate_after_erase(now)?
        };
        tracing::info!(erased = ids.len(), retention_days, "retention sweep");
        Ok(SweepReport {
            erased: ids.len(),
            rotation,
        })
    }

    /// Deletes shoppers and their rows; `suppress` goes on the suppression list in the same
    /// transaction (an erasure request, not the retention sweep).
    fn erase_ids(
        &mut self,
        ids: &[ShopperId],
        suppress: Option<&LookupToken>,
        now: i64,
    ) -> Result<u64, ProfileError> {
        let keys = self.keys();
        let tx = self
            .store
            .conn_mut()
            .transaction()
            .map_err(StoreError::from)?;
        if let Some(token) = suppress {
            privacy::suppress(&tx, token, now)?;
        }
        let mut rows = 0u64;
        for id in ids {
            crate::feedback::forget_shopper(&tx, &keys.pepper.attribution_tag(id))?;
            rows += tx
                .query_row(
                    "SELECT count(*) FROM shopper_rows WHERE shopper_id = ?1",
                    [&id.0[..]],
                    |r| r.get::<_, u64>(0),
                )
                .map_err(StoreError::from)?;
            shoppers::delete(&tx, id)?;
        }
        tx.commit().map_err(StoreError::from)?;
        self.store.checkpoint()?;
        Ok(rows)
    }

    /// Rotates now, or (daily mode) marks a rotation due and performs it if none ran today. The
    /// decision is taken under the exclusive key lock, so two erasures decide one after the other.
    fn rotate_after_erase(
        &mut self,
        now: i64,
    ) -> Result<(Option<RotationReport>, bool), ProfileError> {
        let lock = self.key_dir.lock_exclusive()?;
        let today = now.div_euclid(86_400);
        if self.erase_rotation == EraseRotation::Daily {
            let last: Option<i64> = self
                .store
                .meta(META_LAST_ROTATION_DAY)?
                .and_then(|v| v.parse().ok());
            if last == Some(today) {
                self.store.set_meta(META_ROTATION_DUE, "1")?;
                return Ok((None, true));
            }
        }
        let report = self.rotate_locked(&lock)?;
        self.store
            .set_meta(META_LAST_ROTATION_DAY, &today.to_string())?;
        self.store.delete_meta(META_ROTATION_DUE)?;
        Ok((Some(report), false))
    }

    /// Makes a new KEK, re-wraps every data key with it in one transaction, then retires the old
    /// KEK. Sealed rows are not rewritten. Holds the key directory's exclusive lock throughout and
    /// works on the keyring as the files hold it then (another process may have rotated since
    /// this vault loaded its keys).
    pub fn rotate(&mut self) -> Result<RotationReport, ProfileError> {
        let lock = self.key_dir.lock_exclusive()?;
        self.rotate_locked(&lock)
    }

    fn rotate_locked(&mut self, lock: &ExclusiveLock) -> Result<RotationReport, ProfileError> {
        self.settle_locked(lock)?;
        let keys = self.keys();
        let from_kek = keys.kek.id();
        let resumed = keys.next_kek.is_some();
        let next = self.key_dir.begin_rotation(lock, &keys.kek, &self.rng)?;
        let to_kek = next.id();
        // A fresh KEK's id names no stored key: else two keys would answer to one id.
        if !resumed && shoppers::count_by_kek(self.store.conn(), to_kek)? > 0 {
            self.key_dir.abandon_rotation(lock)?;
            return Err(ProfileError::DuplicateKekId { id: to_kek });
        }
        fault::point("rotate.begun");
        let rewrapped = {
            let tx = write_transaction(&mut self.store)?;
            let n = rewrap_all(&tx, &keys, &next, &self.rng)?;
            fault::point("rotate.rewrapped");
            tx.commit().map_err(StoreError::from)?;
            n
        };
        self.store.checkpoint()?;
        fault::point("rotate.committed");
        self.key_dir.finish_rotation(lock)?;
        self.set_keys(self.key_dir.load_locked(lock)?);
        tracing::info!(from_kek, to_kek, rewrapped, "key-encryption key rotated");
        Ok(RotationReport {
            from_kek,
            to_kek,
            rewrapped,
        })
    }

    /// Completes or abandons a rotation a crash interrupted (both KEK files present), under the
    /// exclusive lock: a rotation under way in another process is never mistaken for one.
    fn settle_rotation(&mut self) -> Result<(), ProfileError> {
        if self.keys().next_kek.is_none() {
            return Ok(());
        }
        let lock = self.key_dir.lock_exclusive()?;
        self.settle_locked(&lock)
    }

    /// [`Vault::settle_rotation`] with the lock held; reloads the keyring from disk first.
    fn settle_locked(&mut self, lock: &ExclusiveLock) -> Result<(), ProfileError> {
        self.set_keys(self.key_dir.load_locked(lock)?);
        let keys = self.keys();
        let Some(next) = &keys.next_kek else {
            return Ok(());
        };
        let conn = self.store.conn();
        if shoppers::count_by_kek(conn, keys.kek.id())? == 0 {
            tracing::warn!(kek = next.id(), "completing an interrupted key rotation");
            self.key_dir.finish_rotation(lock)?;
        } else if shoppers::count_by_kek(conn, next.id())? == 0 {
            tracing::warn!(kek = next.id(), "abandoning an interrupted key rotation");
            self.key_dir.abandon_rotation(lock)?;
        } else {
            return Ok(()); // Mixed state cannot come from one transaction; keep both keys.
        }
        self.set_keys(self.key_dir.load_locked(lock)?);
        Ok(())
    }
}

/// A transaction that reads before it writes, begun `IMMEDIATE`: it takes SQLite's write lock at
/// once, waiting (busy timeout) while another connection — the daemon's, another process's —
/// writes. A deferred one would hold a read snapshot and then fail at once with `SQLITE_BUSY` on
/// its first write, since waiting could not make that snapshot current.
fn write_transaction(store: &mut Store) -> Result<rusqlite::Transaction<'_>, ProfileError> {
    Ok(store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(StoreError::from)?)
}

/// Re-wraps every data key under `next`; the caller commits.
pub fn rewrap_all(
    conn: &Connection,
    keys: &Keyring,
    next: &crypto::Kek,
    rng: &dyn SecureRandom,
) -> Result<usize, ProfileError> {
    let all = shoppers::wrapped_keys(conn)?;
    for (id, wrapped) in &all {
        let kek = keys
            .kek_by_id(wrapped.kek_id()?)
            .or_else(|| (next.id() == wrapped.kek_id().ok()?).then_some(next))
            .ok_or(CryptoError::UnknownKek(wrapped.kek_id()?))?;
        let dek = kek.unwrap_key(id, wrapped)?;
        shoppers::update_wrapped_key(conn, id, &next.wrap(id, &dek, rng)?)?;
    }
    Ok(all.len())
}

/// Finds the shopper with `token` or creates one with a fresh data key; a token on the
/// suppression list (an erased shopper) is never created again: [`ProfileError::Suppressed`].
pub fn get_or_create(
    conn: &Connection,
    keys: &Keyring,
    rng: &dyn SecureRandom,
    token: &LookupToken,
    consent: Consent,
    now: i64,
) -> Result<(OpenShopper, bool), ProfileError> {
    if let Some(record) = shoppers::find(conn, token)? {
        let key = unwrap_key(keys, &record)?;
        return Ok((OpenShopper { record, key }, false));
    }
    if privacy::is_suppressed(conn, token)? {
        return Err(ProfileError::Suppressed);
    }
    let id = ShopperId::random(rng)?;
    let key = DataKey::generate(rng)?;
    let record = ShopperRecord {
        id,
        wrapped_key: keys.kek.wrap(&id, &key, rng)?,
        consent,
        created_at: now,
        last_seen: now,
    };
    shoppers::insert(conn, token, &record)?;
    Ok((OpenShopper { record, key }, true))
}

pub fn unwrap_key(keys: &Keyring, record: &ShopperRecord) -> Result<DataKey, ProfileError> {
    let kek_id = record.wrapped_key.kek_id()?;
    let kek = keys
        .kek_by_id(kek_id)
        .ok_or(CryptoError::UnknownKek(kek_id))?;
    Ok(kek.unwrap_key(&record.id, &record.wrapped_key)?)
}

/// Seals and stores one event of `shopper`; `false` if a row with this fingerprint exists.
pub fn store_event(
    conn: &Connection,
    shopper: &OpenShopper,
    event: &Event,
    fingerprint: Option<&[u8; 32]>,
    rng: &dyn SecureRandom,
) -> Result<bool, ProfileError> {
    let sealed = seal_event(shopper, event, rng)?;
    Ok(shoppers::insert_row(
        conn,
        &shopper.record.id,
        RowKind::Event,
        fingerprint,
        &sealed,
    )?)
}

/// Seals one event of `shopper` (its JSON form, under the shopper's data key with a fresh random
/// nonce) without storing it: bulk import seals as rows arrive and inserts them per chunk.
pub fn seal_event(
    shopper: &OpenShopper,
    event: &Event,
    rng: &dyn SecureRandom,
) -> Result<crypto::SealedBlob, ProfileError> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(event)?);
    Ok(crypto::seal(
        &shopper.key,
        &shopper.record.id,
        RowKind::Event,
        &json,
        rng,
    )?)
}

/// Opens every event row of `shopper`, oldest first.
pub fn open_events(conn: &Connection, shopper: &OpenShopper) -> Result<Vec<Event>, ProfileError> {
    shoppers::rows(conn, &shopper.record.id, RowKind::Event)?
        .iter()
        .map(|blob| {
            let plain = crypto::open(&shopper.key, &shopper.record.id, RowKind::Event, blob)?;
            serde_json::from_slice(&plain).map_err(ProfileError::Json)
        })
        .collect()
}

/// Writes an export as JSON to a new file readable by its owner only (mode 0600, created that
/// way, never widened later); an existing file is not overwritten.
pub fn write_export(path: &std::path::Path, export: &ShopperExport) -> Result<(), ProfileError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let json = serde_json::to_vec_pretty(export)?;
    let io = |source| ProfileError::Export {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)
}

/// `YYYY-MM-DD` of a unix timestamp (UTC).
pub fn day_string(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Why an audited technician action failed: the action itself, or recording it.
#[derive(Debug, thiserror::Error)]
pub enum AuditedError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

impl Vault {
    /// [`Vault::rotate`], recorded in `audit` as `actor`'s `rotate_keys` (key ids and a count).
    pub fn rotate_audited(
        &mut self,
        audit: &crate::audit::AuditLog,
        actor: &str,
        now: i64,
    ) -> Result<RotationReport, AuditedError> {
        let r = self.rotate()?;
        audit.append(
            now,
            actor,
            "rotate_keys",
            &format!(
                "kek {} -> {}, {} data keys re-wrapped",
                r.from_kek, r.to_kek, r.rewrapped
            ),
        )?;
        Ok(r)
    }

    /// [`Vault::erase`], recorded in `audit` as `actor`'s `erase_shopper` (the short shopper id
    /// and a row count, never the loyalty number).
    pub fn erase_audited(
        &mut self,
        loyalty: &LoyaltyNumber,
        audit: &crate::audit::AuditLog,
        actor: &str,
        now: i64,
    ) -> Result<EraseReport, AuditedError> {
        let r = self.erase(loyalty, now)?;
        audit.append(
            now,
            actor,
            "erase_shopper",
            &format!("shopper {} erased, {} rows", r.shopper, r.rows_deleted),
        )?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn consent_parsing() {
        assert_eq!(
            parse_consent("personalise,analytics").unwrap(),
            Consent {
                personalise: true,
                analytics: true
            }
        );
        assert_eq!(parse_consent("none").unwrap(), Consent::default());
        assert_eq!(parse_consent("").unwrap(), Consent::default());
        assert!(matches!(
            parse_consent("marketing"),
            Err(ProfileError::BadConsent(_))
        ));
    }
}
