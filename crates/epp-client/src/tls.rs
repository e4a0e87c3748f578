//! The TLS client configuration: trust only the registry's CA, present the registrar's client
//! certificate (RFC 5734 section 9 wants mutual authentication), TLS 1.3 or 1.2, ring.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::ClientError;

/// A client certificate chain and its key.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads a PEM chain and a PEM key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, ClientError> {
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| ClientError::Files {
            path: key.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Identity {
            chain: read_certs(cert)?,
            key: key_der,
        })
    }
}

/// Every certificate in a PEM file; none is an error.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let files = |reason: String| ClientError::Files {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| files(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| files(e.to_string()))?;
    if certs.is_empty() {
        return Err(files("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// The configuration from PEM files: trust only `ca`, present `cert`/`key`.
pub fn client_config(
    cert: &Path,
    key: &Path,
    ca: &Path,
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let identity = Identity::from_pem_files(cert, key)?;
    let roots = read_certs(ca)?;
    client_config_der(Some(identity), roots).map_err(|e| match e {
        // Name the file a bad certificate came from.
        ClientError::Files { reason, .. } => ClientError::Files {
            path: cert.display().to_string(),
            reason,
        },
        ClientError::Tls(reason) if reason.starts_with("CA certificate") => ClientError::Files {
            path: ca.display().to_string(),
            reason,
        },
        other => other,
    })
}

/// The configuration from DER values. Without an identity the client offers no certificate
/// (tests use this to check that a server refuses such clients).
pub fn client_config_der(
    identity: Option<Identity>,
    ca: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots
            .add(c)
            .map_err(|e| ClientError::Tls(format!("CA certificate: {e}")))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain, id.key)
            .map_err(|e| ClientError::Files {
                path: "client certificate".into(),
                reason: e.to_string(),
            })?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The crypto provider every configuration here uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Puts a TLS failure into words an operator can act on.
pub fn explain(err: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C};
    match err {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not issued by the CA in the --ca file (unknown CA)".into()
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired".into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "the server's certificate does not carry the name we connected to (use --server-name)"
            .into(),
        rustls::Error::InvalidCertificate(other) => {
            format!("the server's certificate is not acceptable: {other:?}")
        }
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::CertificateRequired
            | A::AccessDenied
            | A::DecryptError,
        ) => format!(
            "the server did not accept our client certificate ({err}); is it issued by the \
             registry's CA, unexpired and not revoked?"
        ),
        other => other.to_string(),
    }
}
