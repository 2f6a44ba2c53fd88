//! Certificates generated for a test (rcgen): a CA, and a server certificate for 127.0.0.1 and
//! localhost signed by it, written as PEM files.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The files of a generated CA and server certificate.
pub struct TestPki {
    /// The CA's certificate: what a kiosk pins (`hq_ca_file`).
    pub ca_file: PathBuf,
    /// The server's certificate (signed by the CA) and its private key (PKCS#8).
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestPki {
    /// A fresh CA named `name` and a server certificate for 127.0.0.1 and localhost, in `dir`.
    /// A self-signed server certificate for 127.0.0.1 and localhost, in `dir`; `ca_file` is that
    /// certificate itself (what a kiosk pins when HQ's certificate is its own CA).
    pub fn self_signed(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        let pki = TestPki {
            ca_file: dir.join("cert.pem"),
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
        };
        std::fs::write(&pki.cert_file, made.cert.pem()).unwrap();
        std::fs::write(&pki.key_file, made.signing_key.serialize_pem()).unwrap();
        pki
    }

    pub fn generate(dir: &Path, name: &str) -> TestPki {
        std::fs::create_dir_all(dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, format!("shelftalk test CA {name}"));
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate().unwrap();
        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, format!("shelftalk test {name}"));
        let cert = server.signed_by(&key, &issuer).unwrap();

        let pki = TestPki {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
        };
        std::fs::write(&pki.ca_file, ca_cert.pem()).unwrap();
        std::fs::write(&pki.cert_file, cert.pem()).unwrap();
        std::fs::write(&pki.key_file, key.serialize_pem()).unwrap();
        pki
    }
}
