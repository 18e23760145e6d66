//! RSA keys: partners' public keys (server side) and private keys (client side).

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::der::{self, KeyShape};
use crate::signature::SignatureError;

/// The smallest RSA modulus accepted (SNAP-NOTES: refuse RSA under 2048 bits).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus the verifier supports.
pub const MAX_RSA_BITS: usize = 8192;

/// Why a key was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Neither PEM, bare Base64 of DER, nor DER of a key.
    #[error("the key is not readable as PEM, Base64 or DER")]
    Unreadable,
    /// A PEM block of another kind (e.g. a certificate, or a private key where a public
    /// one was expected).
    #[error("unexpected PEM block \"{label}\"")]
    UnexpectedPem {
        /// The block's label, e.g. `CERTIFICATE`.
        label: String,
    },
    /// A well-formed key for another algorithm (EC, Ed25519…).
    #[error("the key is not RSA")]
    NotRsa,
    /// An RSA key under [`MIN_RSA_BITS`].
    #[error("RSA key of {bits} bits is under the 2048-bit minimum")]
    TooSmall {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA key over [`MAX_RSA_BITS`].
    #[error("RSA key of {bits} bits is over the 8192-bit maximum")]
    TooLarge {
        /// The modulus size.
        bits: usize,
    },
    /// Looked like an RSA key but failed the cryptographic library's checks.
    #[error("the RSA key is invalid")]
    Invalid,
    /// Generating a key pair failed.
    #[error("RSA key generation failed")]
    Generation,
}

/// A partner's RSA public key, parsed once and ready to verify SHA256withRSA signatures.
#[derive(Clone)]
pub struct RsaPublicKey {
    verifier: ParsedPublicKey,
    spki_der: Box<[u8]>,
    bits: usize,
}

impl RsaPublicKey {
    /// Reads PEM SPKI (`BEGIN PUBLIC KEY`), PEM PKCS#1 (`BEGIN RSA PUBLIC KEY`), bare Base64
    /// of either DER (whitespace allowed), or the DER bytes themselves. Refuses non-RSA keys
    /// and keys under 2048 bits.
    pub fn parse(input: &[u8]) -> Result<Self, KeyError> {
        let der = match read_armour(input)? {
            Armour::Pem(block) => match block.tag() {
                "PUBLIC KEY" | "RSA PUBLIC KEY" => block.into_contents(),
                other => {
                    return Err(KeyError::UnexpectedPem {
                        label: other.to_owned(),
                    });
                }
            },
            Armour::Der(der) => der,
        };
        Self::from_der(&der)
    }

    /// Builds the key from SPKI or PKCS#1 DER.
    fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let bits = check_shape(der::public_key_shape(der))?;
        let verifier = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .map_err(|_| KeyError::Invalid)?;
        let spki: PublicKeyX509Der<'static> = verifier.as_der().map_err(|_| KeyError::Invalid)?;
        Ok(Self {
            verifier,
            spki_der: spki.as_ref().into(),
            bits,
        })
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The key as PEM SPKI (`BEGIN PUBLIC KEY`, LF line endings): the canonical stored form.
    pub fn to_spki_pem(&self) -> String {
        to_pem("PUBLIC KEY", &self.spki_der)
    }

    /// The key as SPKI DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Verifies a Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> Result<(), SignatureError> {
        let signature = crate::signature::decode_signature(signature_b64)?;
        self.verify_raw(message, &signature)
    }

    /// Verifies a raw RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        self.verifier
            .verify_sig(message, signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// An RSA private key for signing, as a partner's SDK holds it.
pub struct RsaPrivateKey {
    key_pair: RsaKeyPair,
    public: RsaPublicKey,
}

impl RsaPrivateKey {
    /// Reads PEM PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`); refuses
    /// non-RSA keys and keys under 2048 bits.
    pub fn parse_pem(input: &[u8]) -> Result<Self, KeyError> {
        let block = pem::parse(input).map_err(|_| KeyError::Unreadable)?;
        let der = block.contents();
        let key_pair = match block.tag() {
            "PRIVATE KEY" => {
                check_shape(der::pkcs8_private_key_shape(der))?;
                RsaKeyPair::from_pkcs8(der)
            }
            "RSA PRIVATE KEY" => {
                check_shape(der::pkcs1_private_key_shape(der))?;
                RsaKeyPair::from_der(der)
            }
            "EC PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                return Err(KeyError::NotRsa);
            }
            other => {
                return Err(KeyError::UnexpectedPem {
                    label: other.to_owned(),
                });
            }
        }
        .map_err(|_| KeyError::Invalid)?;
        Self::from_key_pair(key_pair)
    }

    /// Generates a fresh RSA-2048 key pair.
    pub fn generate() -> Result<Self, KeyError> {
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
        Self::from_key_pair(key_pair)
    }

    fn from_key_pair(key_pair: RsaKeyPair) -> Result<Self, KeyError> {
        let public = RsaPublicKey::from_der(key_pair.public_key().as_ref())?;
        Ok(Self { key_pair, public })
    }

    /// The key as PEM PKCS#8 (`BEGIN PRIVATE KEY`, LF line endings).
    pub fn to_pkcs8_pem(&self) -> String {
        let der: Pkcs8V1Der<'static> = self
            .key_pair
            .as_der()
            .expect("a key aws-lc accepted serialises to PKCS#8");
        to_pem("PRIVATE KEY", der.as_ref())
    }

    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits
    }

    /// Base64 of the SHA256withRSA (RSASSA-PKCS1-v1_5) signature of `message`.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        STANDARD.encode(self.sign_raw(message))
    }

    /// The raw SHA256withRSA (RSASSA-PKCS1-v1_5) signature of `message`.
    pub fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        // PKCS#1 v1.5 padding is deterministic: the random source is never drawn from.
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("signing with a validated key into a modulus-sized buffer succeeds");
        signature
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("bits", &self.public.bits)
            .finish_non_exhaustive()
    }
}

/// How a key blob arrived.
enum Armour {
    Pem(pem::Pem),
    Der(Vec<u8>),
}

fn read_armour(input: &[u8]) -> Result<Armour, KeyError> {
    let trimmed = input.trim_ascii();
    if trimmed.starts_with(b"-----BEGIN") {
        return pem::parse(trimmed)
            .map(Armour::Pem)
            .map_err(|_| KeyError::Unreadable);
    }
    // DER starts with a SEQUENCE tag (0x30, ASCII '0'); Base64 of DER starts with 'M'.
    if input.first() == Some(&0x30) {
        return Ok(Armour::Der(input.to_vec()));
    }
    let compact: Vec<u8> = trimmed
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| STANDARD_NO_PAD.decode(&compact))
        .map(Armour::Der)
        .map_err(|_| KeyError::Unreadable)
}

fn check_shape(shape: Option<KeyShape>) -> Result<usize, KeyError> {
    match shape.ok_or(KeyError::Unreadable)? {
        KeyShape::NotRsa => Err(KeyError::NotRsa),
        KeyShape::Rsa { bits } if bits < MIN_RSA_BITS => Err(KeyError::TooSmall { bits }),
        KeyShape::Rsa { bits } if bits > MAX_RSA_BITS => Err(KeyError::TooLarge { bits }),
        KeyShape::Rsa { bits } => Ok(bits),
    }
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der), config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};

    fn testdata(name: &str) -> Vec<u8> {
        let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn bare_base64_of_pem(name: &str) -> Vec<u8> {
        let block = pem::parse(testdata(name)).unwrap();
        let b64 = STANDARD.encode(block.contents());
        // Wrapped at 64 columns, as people paste it.
        b64.as_bytes()
            .chunks(64)
            .flat_map(|line| line.iter().copied().chain(*b"\n"))
            .collect()
    }

    #[test]
    fn the_partner_public_key_reads_in_every_accepted_form() {
        let spki = RsaPublicKey::parse(&testdata("partner-public.pem")).unwrap();
        assert_eq!(spki.bits(), 2048);
        let forms = [
            testdata("partner-public-pkcs1.pem"),
            bare_base64_of_pem("partner-public.pem"),
            bare_base64_of_pem("partner-public-pkcs1.pem"),
            pem::parse(testdata("partner-public.pem"))
                .unwrap()
                .into_contents(),
            pem::parse(testdata("partner-public-pkcs1.pem"))
                .unwrap()
                .into_contents(),
        ];
        for form in forms {
            let key = RsaPublicKey::parse(&form).unwrap();
            assert_eq!(key.bits(), 2048);
            assert_eq!(key.to_spki_pem(), spki.to_spki_pem());
        }
    }

    #[test]
    fn the_canonical_pem_reads_back_as_the_same_key() {
        let key = RsaPublicKey::parse(&testdata("partner-public.pem")).unwrap();
        let pem = key.to_spki_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(!pem.contains('\r'));
        let again = RsaPublicKey::parse(pem.as_bytes()).unwrap();
        assert_eq!(again.spki_der(), key.spki_der());
        let original = pem::parse(testdata("partner-public.pem")).unwrap();
        assert_eq!(key.spki_der(), original.contents());
    }

    #[test]
    fn a_1024_bit_public_key_is_refused_with_its_size() {
        let err = RsaPublicKey::parse(&testdata("weak-1024-public.pem")).unwrap_err();
        assert!(matches!(err, KeyError::TooSmall { bits: 1024 }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "RSA key of 1024 bits is under the 2048-bit minimum"
        );
    }

    #[test]
    fn a_1024_bit_private_key_is_refused_with_its_size() {
        let err = RsaPrivateKey::parse_pem(&testdata("weak-1024-private.pem")).unwrap_err();
        assert!(matches!(err, KeyError::TooSmall { bits: 1024 }), "{err:?}");
    }

    #[test]
    fn ec_keys_are_refused_as_not_rsa() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
        let public_pem = to_pem("PUBLIC KEY", spki.as_ref());
        let err = RsaPublicKey::parse(public_pem.as_bytes()).unwrap_err();
        assert!(matches!(err, KeyError::NotRsa), "{err:?}");
        assert_eq!(err.to_string(), "the key is not RSA");
        assert!(matches!(
            RsaPublicKey::parse(spki.as_ref()),
            Err(KeyError::NotRsa)
        ));
        let private_pem = to_pem("PRIVATE KEY", pkcs8.as_ref());
        assert!(matches!(
            RsaPrivateKey::parse_pem(private_pem.as_bytes()),
            Err(KeyError::NotRsa)
        ));
    }

    #[test]
    fn garbage_is_refused() {
        for junk in [
            &b""[..],
            b"not a key",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            b"\x30\x03\x02\x01\x05",
            b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
        ] {
            assert!(RsaPublicKey::parse(junk).is_err(), "{junk:?}");
        }
        assert!(RsaPrivateKey::parse_pem(b"garbage").is_err());
    }

    #[test]
    fn a_private_key_where_a_public_one_belongs_is_refused() {
        let err = RsaPublicKey::parse(&testdata("partner-private.pem")).unwrap_err();
        assert!(matches!(err, KeyError::UnexpectedPem { .. }), "{err:?}");
        assert_eq!(err.to_string(), "unexpected PEM block \"PRIVATE KEY\"");
    }

    #[test]
    fn both_private_key_encodings_hold_the_partner_public_key() {
        let public = RsaPublicKey::parse(&testdata("partner-public.pem")).unwrap();
        for name in ["partner-private.pem", "partner-private-pkcs1.pem"] {
            let key = RsaPrivateKey::parse_pem(&testdata(name)).unwrap();
            assert_eq!(key.public_key().spki_der(), public.spki_der(), "{name}");
            assert_eq!(key.bits(), 2048);
        }
    }

    #[test]
    fn a_generated_key_round_trips_through_pkcs8_and_verifies_its_signatures() {
        let key = RsaPrivateKey::generate().unwrap();
        let again = RsaPrivateKey::parse_pem(key.to_pkcs8_pem().as_bytes()).unwrap();
        let signature = again.sign_base64(b"message");
        assert_eq!(signature.len(), 344);
        assert_eq!(key.public_key().verify(b"message", &signature), Ok(()));
        assert_eq!(
            key.public_key().verify(b"massage", &signature),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let key = RsaPrivateKey::parse_pem(&testdata("partner-private.pem")).unwrap();
        assert_eq!(format!("{key:?}"), "RsaPrivateKey { bits: 2048, .. }");
        assert_eq!(
            format!("{:?}", key.public_key()),
            "RsaPublicKey { bits: 2048, .. }"
        );
    }
}
