//! HQ over TLS (rustls with the ring provider): the certificate and key files `hq serve
//! --tls-cert FILE --tls-key FILE` names, and a listener that hands axum finished TLS
//! connections.
//!
//! Invariants:
//! - The files are PEM: the certificate file holds HQ's certificate first, then any
//!   intermediates; the key file one private key (PKCS#8, PKCS#1 or SEC1) that must match the
//!   certificate. Every refusal names the file and what is wrong with it (missing, not PEM, no
//!   key, key does not match the certificate) before HQ listens.
//! - Handshakes run concurrently, each in its own task bounded by [`HANDSHAKE_TIMEOUT`]: a client
//!   that fails its handshake or never finishes it costs only its own connection, never the
//!   server or other clients. Failures are logged at debug level without the peer's address.
//! - Dropping the listener (HQ shutting down) stops its accept task.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The longest a client may take over its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for axum to accept them.
const QUEUE: usize = 64;

/// Why HQ's certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS {what} file {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not what it should be; `reason` says what was expected.
    #[error("TLS {what} file {path}: {reason}")]
    Content {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "TLS key file {key} does not match the certificate in {cert} (the key is not the \
         certificate's)"
    )]
    Mismatch { key: PathBuf, cert: PathBuf },
    #[error("TLS certificate {cert} with key {key} cannot be used: {source}")]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Loads HQ's certificate chain and private key (PEM files) into a rustls server config.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let content = |what, path: &Path, reason: String| TlsError::Content {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&read("certificate", cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| content("certificate", cert, format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(content(
            "certificate",
            cert,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let private = PrivateKeyDer::from_pem_slice(&read("key", key)?).map_err(|e| {
        content(
            "key",
            key,
            format!("holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let unusable = |source| TlsError::Unusable {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        source,
    };
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unusable)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::Mismatch {
                    key: key.to_path_buf(),
                    cert: cert.to_path_buf(),
                }
            }
            e => unusable(e),
        })?;
    Ok(Arc::new(config))
}

/// A TCP listener whose connections axum receives after their TLS handshake.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, std::net::SocketAddr)>,
    local: std::net::SocketAddr,
    accepting: tokio::task::AbortHandle,
}

impl TlsListener {
    /// Starts accepting on `listener` (must be called inside a tokio runtime).
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = tokio::sync::mpsc::channel(QUEUE);
        let accepting = tokio::spawn(async move {
            let mut listener = listener;
            loop {
                // axum's accept: retries (and logs) errors of the listening socket itself.
                let (tcp, addr) = axum::serve::Listener::accept(&mut listener).await;
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            // Closed only when HQ is shutting down: the connection is dropped.
                            let _ = tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        })
        .abort_handle();
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task loops forever; it ends only when aborted by our own drop.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
