//! TLS for the control plane: certificates from PEM files or a self-signed
//! one kept in the data folder. Handshakes run in each connection's own task
//! (`listen`), so a slow client cannot hold up others.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: String },
    #[error("the certificate and key do not fit together: {0}")]
    Config(String),
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(String),
}

/// A loaded certificate, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    /// SHA-256 of the leaf certificate (DER, hex): what sticks pin.
    pub pin: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

pub fn certificate_pin(certificate: &[u8]) -> String {
    hex::encode(Sha256::digest(certificate))
}

impl Tls {
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let read_error = |path: &Path, e: &dyn std::fmt::Display| TlsError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| read_error(cert, &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| read_error(cert, &e))?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read_error(key, &e))?;
        Tls::from_parts(chain, key, cert)
    }

    fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_path: &Path,
    ) -> Result<Tls, TlsError> {
        let leaf = chain.first().ok_or_else(|| TlsError::NoCertificate {
            path: cert_path.display().to_string(),
        })?;
        let pin = certificate_pin(leaf.as_ref());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            pin,
        })
    }

    /// A self-signed certificate for `names`, made once and kept in
    /// `dir/tls-cert.pem` and `dir/tls-key.pem` (0600) so its pin stays the
    /// same across restarts.
    pub fn self_signed(dir: &Path, names: &[String]) -> Result<Tls, TlsError> {
        let cert_path = dir.join("tls-cert.pem");
        let key_path = dir.join("tls-key.pem");
        if !cert_path.exists() || !key_path.exists() {
            let certified = rcgen::generate_simple_self_signed(names.to_vec())
                .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
            write_private(&key_path, certified.signing_key.serialize_pem().as_bytes())
                .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
            std::fs::write(&cert_path, certified.cert.pem())
                .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
        }
        Tls::from_pem_files(&cert_path, &key_path)
    }

    /// Completes the TLS handshake of an accepted connection (the caller
    /// bounds how long it may take).
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.acceptor.accept(tcp).await
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}
