//! TLS of the peer channel: each node's own certificate, pinned by its SHA-256 in the trust directory.
//!
//! There is no CA: the signed directory is the one trust anchor. The handshake proves that each
//! side holds the key of the certificate it shows. A client accepts, inside the handshake, only the
//! certificate the directory pins for the peer it calls, so nothing of a request reaches anyone
//! else. A server looks its client's certificate up in the directory before it reads a request,
//! so that an unknown client gets a problem+json answer rather than a bare TLS alert.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::node::SetupError;
use crate::seal::keys::write_private;
use crate::seal::sha256_hex;

/// A node's TLS certificate and private key.
pub struct TlsIdentity {
    pub certificate: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    /// Reads a PEM certificate and a PKCS#8 PEM key.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, SetupError> {
        crate::files::check_private(key_path).map_err(SetupError::Exposed)?;
        let certificate = CertificateDer::from(read_pem(cert_path, "CERTIFICATE")?);
        let key = PrivateKeyDer::try_from(read_pem(key_path, "PRIVATE KEY")?)
            .map_err(|e| SetupError::Tls(format!("{}: {e}", key_path.display())))?;
        Ok(Self { certificate, key })
    }

    /// SHA-256 (hex) of the certificate, as the directory lists it.
    pub fn fingerprint(&self) -> String {
        sha256_hex(&self.certificate)
    }
}

/// Creates a self-signed P-256 certificate for node `code` (key with mode 0600); returns its fingerprint.
pub fn generate_identity(cert_path: &Path, key_path: &Path, code: &str) -> Result<String, SetupError> {
    let failed = |e: rcgen::Error| SetupError::Tls(e.to_string());
    let names = vec![format!("{code}.hunyu.invalid"), "localhost".into(), "127.0.0.1".into()];
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, code);
    params.not_after = rcgen::date_time_ymd(2099, 12, 31);
    let certificate = params.self_signed(&key).map_err(failed)?;
    write_private(key_path, key.serialize_pem().as_bytes()).map_err(|e| SetupError::Tls(e.to_string()))?;
    crate::files::write_private(cert_path, certificate.pem().as_bytes())
        .map_err(|e| SetupError::Tls(format!("{}: {e}", cert_path.display())))?;
    Ok(sha256_hex(certificate.der()))
}

/// SHA-256 (hex) of the certificate in a PEM file (for enrolment in the directory).
pub fn fingerprint_of(cert_path: &Path) -> Result<String, SetupError> {
    Ok(sha256_hex(&read_pem(cert_path, "CERTIFICATE")?))
}

fn read_pem(path: &Path, tag: &str) -> Result<Vec<u8>, SetupError> {
    let failed = |message: String| SetupError::Tls(format!("{}: {message}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let block = pem::parse(text).map_err(|e| failed(e.to_string()))?;
    if block.tag() != tag {
        return Err(failed(format!("expected a PEM {tag} block")));
    }
    Ok(block.into_contents())
}

/// Makes ring the process-wide rustls provider (reqwest asks for one); a second call changes nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS settings of the peer listener: a client certificate is asked for and its handshake
/// signature checked; the directory decides, per request, whose it is.
pub fn server_config(identity: &TlsIdentity) -> Result<rustls::ServerConfig, SetupError> {
    let provider = provider();
    let verifier = Arc::new(AnyProvenKey { algorithms: provider.signature_verification_algorithms });
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .map_err(|e| SetupError::Tls(e.to_string()))
}

/// The TLS settings of the API listener when it serves HTTPS: no client certificate is asked
/// for (callers authenticate with API keys).
pub fn api_server_config(cert_path: &Path, key_path: &Path) -> Result<rustls::ServerConfig, SetupError> {
    crate::files::check_private(key_path).map_err(SetupError::Exposed)?;
    let text =
        std::fs::read_to_string(cert_path).map_err(|e| SetupError::Tls(format!("{}: {e}", cert_path.display())))?;
    let chain: Vec<CertificateDer<'static>> = pem::parse_many(text)
        .map_err(|e| SetupError::Tls(format!("{}: {e}", cert_path.display())))?
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| CertificateDer::from(block.into_contents()))
        .collect();
    let key = PrivateKeyDer::try_from(read_pem(key_path, "PRIVATE KEY")?)
        .map_err(|e| SetupError::Tls(format!("{}: {e}", key_path.display())))?;
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| SetupError::Tls(format!("{}: {e}", cert_path.display())))
}

/// The TLS settings of calls to one peer: this node's certificate as client identity, and only
/// the server certificate whose SHA-256 (hex) is `pin` accepted.
pub fn client_config(identity: &TlsIdentity, pin: &str) -> Result<rustls::ClientConfig, SetupError> {
    let provider = provider();
    let verifier =
        Arc::new(Pinned { pin: pin.to_ascii_lowercase(), algorithms: provider.signature_verification_algorithms });
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .map_err(|e| SetupError::Tls(e.to_string()))
}

/// The handshake-signature checks both verifier traits ask for: the provider's own.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}

/// Accepts any client certificate whose holder proves its key in the handshake; which node it is
/// the peer listener asks the directory, per request.
#[derive(Debug)]
struct AnyProvenKey {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyProvenKey {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        // A request without a certificate gets a problem+json answer, not a handshake failure.
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Accepts only the server certificate the directory pins for the peer called, whose holder
/// proves its key in the handshake.
#[derive(Debug)]
struct Pinned {
    /// SHA-256 (lower-case hex) of the DER certificate.
    pin: String,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if sha256_hex(end_entity) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    handshake_signatures!();
}
