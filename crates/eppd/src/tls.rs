//! TLS: the server configuration (TLS 1.2 and 1.3 only, client certificate required and
//! verified against the configured CA bundle and CRLs) and the pinned-certificate fingerprint.

use std::path::Path;
use std::sync::Arc;

use registry_core::registrar::CertFingerprint;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read PEM file {path}: {reason}")]
    Pem { path: String, reason: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: String },
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificate verifier refused: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn pem_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.display().to_string(),
        });
    }
    Ok(certs)
}

/// Builds the rustls server configuration from the PEM files named in the configuration.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = load_certs(&tls.cert_chain)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| pem_err(&tls.key, e))?;
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&tls.client_ca)? {
        roots.add(ca)?;
    }
    let mut crls = Vec::new();
    for path in &tls.crls {
        for crl in
            CertificateRevocationListDer::pem_file_iter(path).map_err(|e| pem_err(path, e))?
        {
            crls.push(crl.map_err(|e| pem_err(path, e))?);
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// The protocol version (`TLSv1.2`, `TLSv1.3`) and cipher suite (IANA name) of an
/// established connection.
pub fn negotiated(conn: &rustls::ServerConnection) -> (Option<String>, Option<String>) {
    let protocol = conn.protocol_version().map(|v| match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        other => format!("{other:?}"),
    });
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| iana_suite_name(s.suite()));
    (protocol, suite)
}

/// rustls names suites as IANA does, except that TLS 1.3 suites lose their `TLS_` prefix
/// (`TLS13_AES_128_GCM_SHA256`); operators write the IANA names (`TLS_AES_128_GCM_SHA256`).
fn iana_suite_name(suite: rustls::CipherSuite) -> String {
    let name = format!("{suite:?}");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// SHA-256 of a DER certificate: what registrars pin.
pub fn fingerprint(cert: &CertificateDer<'_>) -> CertFingerprint {
    CertFingerprint::from_bytes(Sha256::digest(cert.as_ref()).into())
}
