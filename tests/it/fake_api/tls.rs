//! Test certificates and the rustls server config: a CA per server (rcgen, ring) that signs a
//! leaf for IP 127.0.0.1 and DNS localhost, plus one foreign CA that signs nothing we serve.
//! rustls refuses a CA certificate used as the server certificate, hence the two levels.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

pub(super) struct Certs {
    pub(super) ca_pem: String,
    pub(super) server: Arc<rustls::ServerConfig>,
}

fn new_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("generate a CA key");
    CertifiedIssuer::self_signed(params, key).expect("self-sign the CA")
}

/// A fresh CA and a server certificate signed by it.
pub(super) fn generate() -> Certs {
    let ca = new_ca("jupyterflow fake API CA");
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into().expect("a valid DNS name")),
    ];
    params
        .distinguished_name
        .push(DnType::CommonName, "fake-kube-apiserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().expect("generate the server key");
    let leaf = params
        .signed_by(&key, &ca)
        .expect("sign the server certificate");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("a matching certificate and key");
    // HTTP/1.1 only: clients that offer h2 (kubectl) fall back to it.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Certs {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// A CA that signed no certificate any fake server uses.
pub(super) fn foreign_ca_pem() -> String {
    static FOREIGN: OnceLock<String> = OnceLock::new();
    FOREIGN
        .get_or_init(|| new_ca("jupyterflow foreign CA").pem())
        .clone()
}
