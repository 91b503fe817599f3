//! Client assertions for certificate sign-in: the JWT that Microsoft's identity platform takes in
//! place of a client secret (`alg` RS256, `x5t` = base64url SHA-1 thumbprint of the certificate's
//! DER; claims `aud` = token endpoint, `iss` = `sub` = client id, `jti`, `nbf`, `iat`, `exp`),
//! signed with the private key from a PEM file. Also reads the `exp` claim of a bearer token.
//! No HTTP here: `auth` sends the assertion.

use std::{fmt::Write as _, path::Path};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    digest,
    rand::{SecureRandom, SystemRandom},
    signature::{RSA_PKCS1_SHA256, RsaKeyPair},
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use serde_json::{Value, json};

/// How long an assertion is valid: Microsoft suggests minutes, not hours.
const ASSERTION_LIFETIME_SECS: u64 = 600;

pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `x5t`: base64url of the SHA-1 digest of the certificate's DER encoding.
pub fn x5t(cert_der: &[u8]) -> String {
    base64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert_der).as_ref())
}

/// A certificate and its RSA private key, ready to sign assertions.
pub struct Certificate {
    key: RsaKeyPair,
    x5t: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads a PEM file holding the certificate (the first one whose public key matches the
    /// key, if it holds a chain) and an unencrypted RSA private key (PKCS#8 or PKCS#1).
    pub fn from_pem_file(path: &Path) -> Result<Certificate, String> {
        let what = path.display();
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {what}: {e}"))?;
        let key_der = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
            format!(
                "{what}: no unencrypted private key (PKCS#8 `PRIVATE KEY` or `RSA PRIVATE KEY`); \
                 PFX files and encrypted keys are not supported (openssl pkcs12 -nodes converts them)"
            )
        })?;
        let key = match &key_der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(format!("{what}: the private key is not an RSA key")),
        }
        .map_err(|e| format!("{what}: unusable RSA private key: {e}"))?;
        let public = key.public().as_ref().to_vec();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{what}: malformed certificate: {e:?}"))?;
        if certs.is_empty() {
            return Err(format!("{what}: no certificate (`BEGIN CERTIFICATE`)"));
        }
        // The certificate's SubjectPublicKeyInfo holds the RSAPublicKey DER verbatim.
        let cert = certs
            .iter()
            .find(|c| memchr::memmem::find(c.as_ref(), &public).is_some())
            .ok_or_else(|| format!("{what}: no certificate matches the private key"))?;
        Ok(Certificate {
            x5t: x5t(cert.as_ref()),
            key,
            rng: SystemRandom::new(),
        })
    }

    /// A signed assertion for `audience` (the token endpoint) and `client_id`, valid from `now`
    /// (seconds since the epoch).
    pub fn assertion(&self, audience: &str, client_id: &str, now: u64) -> Result<String, String> {
        let mut jti = [0u8; 16];
        self.rng
            .fill(&mut jti)
            .map_err(|_| "no random numbers for the assertion id".to_owned())?;
        jti[6] = (jti[6] & 0x0f) | 0x40;
        jti[8] = (jti[8] & 0x3f) | 0x80;
        let hex = jti.iter().fold(String::new(), |mut h, b| {
            let _ = write!(h, "{b:02x}");
            h
        });
        let jti = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        );
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti,
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "cannot sign the client assertion".to_owned())?;
        Ok(format!("{signing_input}.{}", base64url(&sig)))
    }
}

/// The `exp` claim (seconds since the epoch) of a JWT bearer token, if it is one.
pub fn jwt_expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("exp")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x5t_is_base64url_of_the_sha1_digest() {
        // Microsoft's documented example: thumbprint 84E05C1D...5534 is x5t hOBcHZi846VCHSJbFAs26Go9VTQ.
        let digest: Vec<u8> = (0..20)
            .map(|i| {
                u8::from_str_radix(
                    &"84E05C1D98BCE3A5421D225B140B36E86A3D5534"[i * 2..i * 2 + 2],
                    16,
                )
                .unwrap()
            })
            .collect();
        assert_eq!(base64url(&digest), "hOBcHZi846VCHSJbFAs26Go9VTQ");
        assert_eq!(x5t(b"abc"), "qZk-NkcGgWq6PiVxeFDCbJzQ2J0");
    }

    #[test]
    fn reads_the_expiry_of_a_jwt() {
        let t = format!(
            "{}.{}.sig",
            base64url(br#"{"alg":"none"}"#),
            base64url(br#"{"exp":1800000000,"aud":"x"}"#)
        );
        assert_eq!(jwt_expiry(&t), Some(1_800_000_000));
        assert_eq!(jwt_expiry("opaque-token"), None);
    }

    #[test]
    fn rejects_files_without_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pem");
        std::fs::write(
            &p,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = Certificate::from_pem_file(&p).unwrap_err();
        assert!(e.contains("no unencrypted private key"), "{e}");
        assert!(Certificate::from_pem_file(&dir.path().join("missing.pem")).is_err());
    }
}
