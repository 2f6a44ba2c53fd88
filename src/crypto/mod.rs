//! Cryptography for shopper data, built on ring.
//!
//! Envelope encryption: every shopper has a random 256-bit [`DataKey`]; it is stored only
//! *wrapped* ([`WrappedKey`]) by the kiosk's key-encryption key ([`Kek`]). Shopper rows are
//! [`SealedBlob`]s: ChaCha20-Poly1305 under the shopper's data key with a random 96-bit nonce and
//! associated data binding the shopper id, the row kind and the schema version, so a blob cannot be
//! moved to another shopper or another kind of row and still open.
//!
//! Why ChaCha20-Poly1305 rather than AES-256-GCM: the kiosks are ARM boards whose cores often lack
//! the ARMv8 crypto extensions (the Raspberry Pi 4's Cortex-A72 among them), where constant-time
//! software AES is several times slower than ChaCha20. On this x86 machine with AES-NI the two are
//! within a small factor; `shelftalk bench store` prints both side by side.
//!
//! Invariants:
//! - Plaintext and ciphertext are different types. [`SealedBlob`] and [`WrappedKey`] can only be
//!   produced by sealing/wrapping or by reading bytes back from the store; the store accepts only
//!   them for shopper tables.
//! - Key material ([`DataKey`], [`Kek`], [`Pepper`]) is never `Serialize`, prints as `***` and is
//!   zeroised on drop (ring's internal key schedules are short-lived and rebuilt per use).
//! - Formats are versioned by their first byte and pinned by golden tests:
//!   sealed blob = `01 | nonce(12) | ciphertext | tag(16)`;
//!   wrapped key = `01 | kek_id (u32 BE) | nonce(12) | ciphertext(32) | tag(16)` (65 bytes).
//!
//! Submodules: [`keyfiles`], the kiosk's key directory; [`release`], the publisher's Ed25519
//! release key and the release public keys a kiosk trusts for content updates.

pub mod creds;
pub mod keyfiles;
pub mod release;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::vocab::LoyaltyNumber;

/// Length of every symmetric key here.
pub const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const SEAL_VERSION: u8 = 1;
const WRAP_VERSION: u8 = 1;
/// Byte length of a [`WrappedKey`].
pub const WRAPPED_LEN: usize = 1 + 4 + NONCE_LEN + KEY_LEN + TAG_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the system random number generator failed")]
    Random,
    #[error("sealed value is malformed ({0})")]
    Malformed(&'static str),
    #[error("sealed value does not open: wrong key, wrong shopper or row kind, or tampered")]
    Open,
    #[error("wrapped key was made with key-encryption key {0}, which this kiosk does not hold")]
    UnknownKek(u32),
    #[error("invalid key material: {0}")]
    BadKey(&'static str),
}

/// A shopper's random id (16 bytes). Not secret, but never derived from the loyalty number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShopperId(pub [u8; 16]);

impl ShopperId {
    pub fn random(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut id = [0u8; 16];
        rng.fill(&mut id).map_err(|_| CryptoError::Random)?;
        Ok(Self(id))
    }

    /// Short hex form for logs and audit lines (never the loyalty number).
    pub fn short(&self) -> String {
        hex(&self.0[..6])
    }
}

/// What a sealed shopper row holds; part of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RowKind {
    /// One behaviour event (`event::Event`, JSON).
    Event = 1,
    /// The shopper's derived profile features (JSON).
    Features = 2,
}

impl RowKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Event),
            2 => Some(Self::Features),
            _ => None,
        }
    }
}

/// Schema version of the plaintext inside sealed rows; part of the associated data.
pub const ROW_SCHEMA_VERSION: u16 = 1;

/// A shopper's data key. Plaintext key material: zeroised on drop, never printed.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(***)")
    }
}

impl DataKey {
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(k.as_mut()).map_err(|_| CryptoError::Random)?;
        Ok(Self(k))
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        aead_key(self.0.as_ref())
    }
}

/// The key-encryption key with its id. Plaintext key material: zeroised on drop, never printed.
pub struct Kek {
    id: u32,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek(id={}, ***)", self.id)
    }
}

impl Kek {
    pub fn generate(id: u32, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(key.as_mut()).map_err(|_| CryptoError::Random)?;
        Ok(Self { id, key })
    }

    pub fn from_bytes(id: u32, bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::BadKey("key-encryption key must be 32 bytes"));
        }
        key.copy_from_slice(bytes);
        Ok(Self { id, key })
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.key.as_ref()
    }

    /// Wraps `dek` for shopper `owner`.
    pub fn wrap(
        &self,
        owner: &ShopperId,
        dek: &DataKey,
        rng: &dyn SecureRandom,
    ) -> Result<WrappedKey, CryptoError> {
        self.wrap_with_nonce(owner, dek, random_nonce(rng)?)
    }

    fn wrap_with_nonce(
        &self,
        owner: &ShopperId,
        dek: &DataKey,
        nonce: [u8; NONCE_LEN],
    ) -> Result<WrappedKey, CryptoError> {
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_VERSION);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        let mut body = dek.0.to_vec();
        aead_key(self.key.as_ref())?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(owner)),
                &mut body,
            )
            .map_err(|_| CryptoError::Open)?;
        out.extend_from_slice(&body);
        body.iter_mut().for_each(|b| *b = 0);
        Ok(WrappedKey(out))
    }

    /// Unwraps a data key that this KEK wrapped for `owner`.
    pub fn unwrap_key(
        &self,
        owner: &ShopperId,
        wrapped: &WrappedKey,
    ) -> Result<DataKey, CryptoError> {
        let kek_id = wrapped.kek_id()?;
        if kek_id != self.id {
            return Err(CryptoError::UnknownKek(kek_id));
        }
        let bytes = &wrapped.0;
        let nonce: [u8; NONCE_LEN] = bytes[5..5 + NONCE_LEN]
            .try_into()
            .map_err(|_| CryptoError::Malformed("nonce"))?;
        let mut body = Zeroizing::new(bytes[5 + NONCE_LEN..].to_vec());
        let plain = aead_key(self.key.as_ref())?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(owner)),
                body.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Open)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if plain.len() != KEY_LEN {
            return Err(CryptoError::Malformed("wrapped key length"));
        }
        key.copy_from_slice(plain);
        Ok(DataKey(key))
    }
}

/// A data key wrapped by a KEK: `01 | kek_id | nonce | ciphertext | tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey(Vec<u8>);

impl WrappedKey {
    /// Accepts bytes read back from the store; checks only the shape.
    pub fn from_stored(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        if bytes.len() != WRAPPED_LEN {
            return Err(CryptoError::Malformed("wrapped key length"));
        }
        if bytes[0] != WRAP_VERSION {
            return Err(CryptoError::Malformed("wrapped key version"));
        }
        Ok(Self(bytes))
    }

    pub fn kek_id(&self) -> Result<u32, CryptoError> {
        let id: [u8; 4] = self.0[1..5]
            .try_into()
            .map_err(|_| CryptoError::Malformed("kek id"))?;
        Ok(u32::from_be_bytes(id))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// An AEAD-sealed shopper row: `01 | nonce | ciphertext | tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlob(Vec<u8>);

impl SealedBlob {
    /// Accepts bytes read back from the store; checks only the shape.
    pub fn from_stored(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed("sealed value too short"));
        }
        if bytes[0] != SEAL_VERSION {
            return Err(CryptoError::Malformed("sealed value version"));
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

fn seal_aad(owner: &ShopperId, kind: RowKind) -> [u8; 36] {
    let mut aad = [0u8; 36];
    aad[..17].copy_from_slice(b"shelftalk/seal/v1");
    aad[17..33].copy_from_slice(&owner.0);
    aad[33] = kind as u8;
    aad[34..36].copy_from_slice(&ROW_SCHEMA_VERSION.to_be_bytes());
    aad
}

fn wrap_aad(owner: &ShopperId) -> [u8; 32] {
    let mut aad = [0u8; 32];
    aad[..16].copy_from_slice(b"shelftalk/dek/v1");
    aad[16..].copy_from_slice(&owner.0);
    aad
}

fn aead_key(bytes: &[u8]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::BadKey("AEAD key"))
}

fn random_nonce(rng: &dyn SecureRandom) -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    Ok(nonce)
}

/// Seals `plaintext` as a row of `kind` for `owner`.
pub fn seal(
    dek: &DataKey,
    owner: &ShopperId,
    kind: RowKind,
    plaintext: &[u8],
    rng: &dyn SecureRandom,
) -> Result<SealedBlob, CryptoError> {
    seal_with_nonce(dek, owner, kind, plaintext, random_nonce(rng)?)
}

fn seal_with_nonce(
    dek: &DataKey,
    owner: &ShopperId,
    kind: RowKind,
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<SealedBlob, CryptoError> {
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = dek
        .aead()?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(seal_aad(owner, kind)),
            &mut out[1 + NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Open)?;
    out.extend_from_slice(tag.as_ref());
    Ok(SealedBlob(out))
}

/// Opens a row sealed by [`seal`] for the same shopper and kind. The plaintext is zeroised on drop.
pub fn open(
    dek: &DataKey,
    owner: &ShopperId,
    kind: RowKind,
    sealed: &SealedBlob,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = sealed.0[1..1 + NONCE_LEN]
        .try_into()
        .map_err(|_| CryptoError::Malformed("nonce"))?;
    let mut body = Zeroizing::new(sealed.0[1 + NONCE_LEN..].to_vec());
    let len = dek
        .aead()?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(seal_aad(owner, kind)),
            body.as_mut_slice(),
        )
        .map_err(|_| CryptoError::Open)?
        .len();
    body.truncate(len);
    Ok(body)
}

/// The HMAC pepper for lookup tokens and row fingerprints. Zeroised on drop, never printed.
pub struct Pepper(hmac::Key);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(***)")
    }
}

impl Pepper {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::BadKey("pepper must be 32 bytes"));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    /// The lookup token of a loyalty number: HMAC-SHA256(pepper, "loyalty\0" ‖ number in its
    /// normal form, see [`LoyaltyNumber`]). The number itself is never stored; the token cannot
    /// be reversed without the pepper.
    pub fn loyalty_token(&self, loyalty: &LoyaltyNumber) -> LookupToken {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"loyalty\0");
        ctx.update(loyalty.expose().as_bytes());
        LookupToken(tag32(ctx.sign()))
    }

    /// The attribution tag of a shopper: a keyed 16-byte digest of their id that links the
    /// kiosk impressions shown to them with their till purchases while a feedback day is open.
    /// It never leaves the kiosk and is deleted with the day's rows (or at erasure).
    pub fn attribution_tag(&self, id: &ShopperId) -> AttributionTag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"attribution\0");
        ctx.update(&id.0);
        let tag = ctx.sign();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        AttributionTag(out)
    }

    /// Proof that its holder can read this kiosk's key directory, answering a control-socket
    /// challenge: HMAC-SHA256(pepper, "control-cli\0" ‖ challenge). Never stored.
    pub fn control_proof(&self, challenge: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"control-cli\0");
        ctx.update(challenge);
        tag32(ctx.sign())
    }

    /// Checks a [`Pepper::control_proof`] in constant time.
    pub fn verify_control_proof(&self, challenge: &[u8], proof: &[u8]) -> bool {
        let mut message = b"control-cli\0".to_vec();
        message.extend_from_slice(challenge);
        hmac::verify(&self.0, &message, proof).is_ok()
    }

    /// A keyed fingerprint of an imported row, for de-duplication without revealing content.
    pub fn fingerprint(&self, domain: &[u8], canonical: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(domain);
        ctx.update(b"\0");
        ctx.update(canonical);
        tag32(ctx.sign())
    }
}

fn tag32(tag: hmac::Tag) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&tag.as_ref()[..32]);
    out
}

/// A shopper's attribution tag ([`Pepper::attribution_tag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributionTag(pub [u8; 16]);

/// HMAC token under which a shopper is found by loyalty number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LookupToken(pub [u8; 32]);

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses lower- or upper-case hex; `None` unless every character is a hex digit and the length
/// is even.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Process-wide secure random source.
pub fn rng() -> SystemRandom {
    SystemRandom::new()
}

/// Installs ring as rustls' process-wide crypto provider (once; later calls are no-ops). Every
/// TLS client and server of the process (HQ sync, HQ itself) uses it.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn fixed_dek() -> DataKey {
        DataKey(Zeroizing::new([7u8; KEY_LEN]))
    }

    /// Pinned sealed-blob bytes: changing them breaks every kiosk database in the field. Both
    /// goldens were cross-checked against an independent ChaCha20-Poly1305 (Python `cryptography`).
    const SEALED_GOLDEN: &str =
        "0142424242424242424242424255500d9ec32fe5f1bc107dc445b541655f388863055bc42c7d9cf9fc";
    /// Pinned wrapped-key bytes.
    const WRAPPED_GOLDEN: &str = "0100000003242424242424242424242424633dd7c96b6518ede791a3f82784b444b20c4e3845b1a65dbdc894208d9bd1fcc816f7eb76b87f16f161f8776efbef8a";

    const ALICE: ShopperId = ShopperId([1u8; 16]);
    const BOB: ShopperId = ShopperId([2u8; 16]);

    #[test]
    fn sealed_blob_format_is_pinned() {
        let sealed = seal_with_nonce(
            &fixed_dek(),
            &ALICE,
            RowKind::Event,
            b"{\"sku\":\"A1\"}",
            [0x42; NONCE_LEN],
        )
        .unwrap();
        assert_eq!(hex(sealed.as_bytes()), SEALED_GOLDEN);
    }

    #[test]
    fn wrapped_key_format_is_pinned() {
        let kek = Kek::from_bytes(3, &[9u8; KEY_LEN]).unwrap();
        let wrapped = kek
            .wrap_with_nonce(&ALICE, &fixed_dek(), [0x24; NONCE_LEN])
            .unwrap();
        assert_eq!(wrapped.as_bytes().len(), WRAPPED_LEN);
        assert_eq!(hex(wrapped.as_bytes()), WRAPPED_GOLDEN);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            from_hex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            vec![0, 1, 0xab, 0xff]
        );
        assert_eq!(from_hex("ABcd").unwrap(), vec![0xab, 0xcd]);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
        assert!(from_hex("é1").is_none());
    }

    #[test]
    fn key_types_do_not_print_secrets() {
        assert_eq!(format!("{:?}", fixed_dek()), "DataKey(***)");
        let kek = Kek::from_bytes(3, &[9u8; KEY_LEN]).unwrap();
        assert_eq!(format!("{kek:?}"), "Kek(id=3, ***)");
        assert_eq!(
            format!("{:?}", Pepper::from_bytes(&[1; 32]).unwrap()),
            "Pepper(***)"
        );
    }

    #[test]
    fn unwrap_refuses_other_kek_and_other_owner() {
        let rng = rng();
        let kek = Kek::generate(1, &rng).unwrap();
        let other_same_id = Kek::generate(1, &rng).unwrap();
        let next = Kek::generate(2, &rng).unwrap();
        let wrapped = kek.wrap(&ALICE, &fixed_dek(), &rng).unwrap();
        assert!(kek.unwrap_key(&ALICE, &wrapped).is_ok());
        assert_eq!(
            kek.unwrap_key(&BOB, &wrapped).unwrap_err(),
            CryptoError::Open
        );
        assert_eq!(
            other_same_id.unwrap_key(&ALICE, &wrapped).unwrap_err(),
            CryptoError::Open
        );
        assert_eq!(
            next.unwrap_key(&ALICE, &wrapped).unwrap_err(),
            CryptoError::UnknownKek(1)
        );
    }

    #[test]
    fn loyalty_tokens_are_keyed_and_normalised() {
        let a = Pepper::from_bytes(&[1; 32]).unwrap();
        let b = Pepper::from_bytes(&[2; 32]).unwrap();
        let n = |s: &str| LoyaltyNumber::parse(s).unwrap();
        assert_eq!(
            a.loyalty_token(&n("LC1234")),
            a.loyalty_token(&n(" lc1234\n"))
        );
        assert_ne!(a.loyalty_token(&n("LC1234")), b.loyalty_token(&n("LC1234")));
        assert_ne!(a.loyalty_token(&n("LC1234")), a.loyalty_token(&n("LC1235")));
    }

    proptest! {
        #[test]
        fn open_of_seal_is_identity(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let rng = rng();
            let dek = DataKey::generate(&rng).unwrap();
            let sealed = seal(&dek, &ALICE, RowKind::Features, &data, &rng).unwrap();
            let opened = open(&dek, &ALICE, RowKind::Features, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), &data[..]);
        }

        #[test]
        fn any_flipped_byte_fails_to_open(data in proptest::collection::vec(any::<u8>(), 0..64), pos in any::<usize>(), bit in 0u8..8) {
            let rng = rng();
            let dek = DataKey::generate(&rng).unwrap();
            let sealed = seal(&dek, &ALICE, RowKind::Event, &data, &rng).unwrap();
            let mut bytes = sealed.as_bytes().to_vec();
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
            let opened = SealedBlob::from_stored(bytes).and_then(|b| open(&dek, &ALICE, RowKind::Event, &b));
            prop_assert!(opened.is_err());
        }

        #[test]
        fn moved_blobs_fail_to_open(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let rng = rng();
            let dek = DataKey::generate(&rng).unwrap();
            let sealed = seal(&dek, &ALICE, RowKind::Event, &data, &rng).unwrap();
            prop_assert_eq!(open(&dek, &BOB, RowKind::Event, &sealed).unwrap_err(), CryptoError::Open);
            prop_assert_eq!(open(&dek, &ALICE, RowKind::Features, &sealed).unwrap_err(), CryptoError::Open);
        }

        #[test]
        fn wrapped_keys_round_trip_and_resist_flips(pos in any::<usize>(), bit in 0u8..8) {
            let rng = rng();
            let kek = Kek::generate(5, &rng).unwrap();
            let dek = DataKey::generate(&rng).unwrap();
            let wrapped = kek.wrap(&ALICE, &dek, &rng).unwrap();
            let back = kek.unwrap_key(&ALICE, &wrapped).unwrap();
            prop_assert_eq!(back.0.as_ref(), dek.0.as_ref());
            let mut bytes = wrapped.as_bytes().to_vec();
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
            let res = WrappedKey::from_stored(bytes).and_then(|w| kek.unwrap_key(&ALICE, &w));
            prop_assert!(res.is_err());
        }
    }
}
