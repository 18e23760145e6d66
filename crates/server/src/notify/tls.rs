//! TLS for `https` callbacks: rustls on the aws-lc-rs provider, Mozilla's root certificates
//! (bundled: the server's host may have none) plus the operator's `notify-ca-file`. No
//! certificate check is ever skipped.

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// Why `notify-ca-file` cannot be used; `Display` is the one line the CLI prints.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// The file cannot be read.
    #[error("notify-ca-file {path}: cannot read it")]
    Unreadable {
        /// The file named.
        path: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The file holds no PEM certificate, or a broken one.
    #[error("notify-ca-file {path}: {why}")]
    Invalid {
        /// The file named.
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

/// Reads the PEM certificates of a `notify-ca-file` and checks each is a usable trust anchor.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let shown = path.display().to_string();
    let invalid = |why: String| CaFileError::Invalid {
        path: shown.clone(),
        why,
    };
    let pem = std::fs::read(path).map_err(|source| CaFileError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("not PEM certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(invalid("holds no BEGIN CERTIFICATE block".to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for (i, certificate) in certificates.iter().enumerate() {
        roots
            .add(certificate.clone())
            .map_err(|e| invalid(format!("certificate {} is not usable: {e}", i + 1)))?;
    }
    Ok(certificates)
}

/// The client configuration every `https` attempt uses: bundled roots plus `extra`.
pub(crate) fn client_config(
    extra: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for certificate in extra {
        roots.add(certificate.clone())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/tls")
            .join(name)
    }

    #[test]
    fn the_test_ca_is_read_and_trusted_beside_the_bundled_roots() {
        let certificates = read_ca_file(&testdata("ca.pem")).unwrap();
        assert_eq!(certificates.len(), 1);
        assert!(client_config(&certificates).is_ok());
    }

    #[test]
    fn a_missing_file_a_key_or_garbage_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();
        for path in [
            dir.path().join("missing.pem"),
            garbage,
            empty,
            testdata("server-key.pem"),
        ] {
            let error = read_ca_file(&path).unwrap_err().to_string();
            assert!(error.starts_with("notify-ca-file "), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
