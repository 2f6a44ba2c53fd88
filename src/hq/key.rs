//! HQ's own Ed25519 key: it signs every answer a kiosk acts on (batch and audit head
//! acknowledgements, the fleet priors; see [`crate::wire`]), and kiosks verify them against the
//! public key they were provisioned with (`hq_public_key`).
//!
//! The key file (`hq keys init --key-file FILE`) is PKCS#8 v2 in ring's format, as the kiosk's
//! `device.pk8`, mode 0600 and never overwritten; loading refuses a file group or others can
//! access. It is written and read by the kiosk's key-file code ([`crate::crypto::keyfiles`]).
//!
//! Invariants: the private key leaves this module only as signatures and prints as `***`.

use std::path::Path;

use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::crypto::keyfiles::{create_ed25519, load_ed25519, KeyError};
use crate::crypto::{hex, CryptoError};

/// HQ's answer-signing key.
pub struct HqKey(Ed25519KeyPair);

impl std::fmt::Debug for HqKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HqKey(public={}, ***)", self.public_hex())
    }
}

impl HqKey {
    /// Creates a new key file at `path` (mode 0600); refuses ([`KeyError::Exists`]) when the file
    /// exists, leaving it as it was.
    pub fn create(path: &Path, rng: &dyn SecureRandom) -> Result<Self, KeyError> {
        create_ed25519(path, rng).map(Self)
    }

    /// Loads the key file `path` (its permissions checked first).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        load_ed25519(path).map(Self)
    }

    /// A key that lives only in memory (tests, benchmarks): kiosks trust it only for as long as
    /// this process serves.
    pub fn ephemeral(rng: &dyn SecureRandom) -> Result<Self, KeyError> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| CryptoError::Random)?;
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .map(Self)
            .map_err(|_| KeyError::Crypto(CryptoError::BadKey("generated Ed25519 key")))
    }

    /// The public key (32 bytes).
    pub fn public_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.0.public_key().as_ref());
        key
    }

    /// The public key as kiosks are provisioned with it (`hq_public_key`): 64 hex digits.
    pub fn public_hex(&self) -> String {
        hex(self.0.public_key().as_ref())
    }

    /// The key pair the [`crate::wire`] answer signatures are made with.
    pub fn signer(&self) -> &Ed25519KeyPair {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn create_writes_0600_never_overwrites_and_load_reads_it_back() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("hq.pk8");
        let key = HqKey::create(&path, &crate::crypto::rng()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(HqKey::load(&path).unwrap().public_hex(), key.public_hex());
        assert_eq!(key.public_hex().len(), 64);
        assert!(format!("{key:?}").ends_with(", ***)"));

        let before = std::fs::read(&path).unwrap();
        let again = HqKey::create(&path, &crate::crypto::rng()).unwrap_err();
        assert!(matches!(again, KeyError::Exists(_)), "{again}");
        assert_eq!(std::fs::read(&path).unwrap(), before);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = HqKey::load(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");

        let junk = tmp.path().join("junk.pk8");
        std::fs::write(&junk, b"not a key").unwrap();
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = HqKey::load(&junk).unwrap_err();
        assert!(
            err.to_string().contains("junk.pk8") && err.to_string().contains("Ed25519"),
            "{err}"
        );
    }
}
