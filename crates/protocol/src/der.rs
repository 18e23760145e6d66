//! Just enough DER reading to classify key blobs (SPKI, PKCS#1, PKCS#8) and measure an RSA
//! modulus before handing the bytes to aws-lc, which does the real validation. Knowing the
//! algorithm and size first lets errors say "not RSA" or "1024 bits" instead of "rejected".

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// 1.2.840.113549.1.1.1, rsaEncryption.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// What a DER blob turned out to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyShape {
    /// An RSA key whose modulus has this many bits.
    Rsa { bits: usize },
    /// A well-formed SPKI or PKCS#8 for another algorithm.
    NotRsa,
}

/// Reads one TLV; returns (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = tlv(input)?;
    (tag == want).then_some((contents, rest))
}

/// The bit length of a DER INTEGER's magnitude.
fn integer_bits(contents: &[u8]) -> usize {
    let trimmed = match contents.iter().position(|&b| b != 0) {
        Some(i) => &contents[i..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
}

/// `AlgorithmIdentifier` contents → is it rsaEncryption?
fn is_rsa_algorithm(algorithm: &[u8]) -> Option<bool> {
    let (oid, _) = expect(algorithm, OID)?;
    Some(oid == RSA_ENCRYPTION)
}

/// Classifies a public key: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 `RSAPublicKey`.
pub(crate) fn public_key_shape(der: &[u8]) -> Option<KeyShape> {
    let (outer, trailing) = expect(der, SEQUENCE)?;
    if !trailing.is_empty() {
        return None;
    }
    // PKCS#1: SEQUENCE { INTEGER n, INTEGER e }.
    if let Some((n, rest)) = expect(outer, INTEGER) {
        let (_, rest) = expect(rest, INTEGER)?;
        return rest.is_empty().then(|| KeyShape::Rsa {
            bits: integer_bits(n),
        });
    }
    // SPKI: SEQUENCE { AlgorithmIdentifier, BIT STRING { RSAPublicKey } }.
    let (algorithm, rest) = expect(outer, SEQUENCE)?;
    let (bits, rest) = expect(rest, BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    if !is_rsa_algorithm(algorithm)? {
        return Some(KeyShape::NotRsa);
    }
    let (&unused, inner) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    match public_key_shape(inner)? {
        rsa @ KeyShape::Rsa { .. } => Some(rsa),
        KeyShape::NotRsa => None,
    }
}

/// Classifies a PKCS#1 `RSAPrivateKey`: SEQUENCE { INTEGER version, INTEGER n, … }.
pub(crate) fn pkcs1_private_key_shape(der: &[u8]) -> Option<KeyShape> {
    let (outer, _) = expect(der, SEQUENCE)?;
    let (_, rest) = expect(outer, INTEGER)?;
    let (n, _) = expect(rest, INTEGER)?;
    Some(KeyShape::Rsa {
        bits: integer_bits(n),
    })
}

/// Classifies a PKCS#8 `PrivateKeyInfo`: SEQUENCE { INTEGER, AlgorithmIdentifier, OCTET STRING }.
pub(crate) fn pkcs8_private_key_shape(der: &[u8]) -> Option<KeyShape> {
    let (outer, _) = expect(der, SEQUENCE)?;
    let (_, rest) = expect(outer, INTEGER)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (inner, _) = expect(rest, OCTET_STRING)?;
    if !is_rsa_algorithm(algorithm)? {
        return Some(KeyShape::NotRsa);
    }
    pkcs1_private_key_shape(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_bits_ignore_the_sign_padding_byte() {
        assert_eq!(integer_bits(&[0x00, 0x80]), 8);
        assert_eq!(integer_bits(&[0x01, 0x00]), 9);
        assert_eq!(integer_bits(&[0x00]), 0);
    }

    #[test]
    fn truncated_or_trailing_der_is_not_a_key() {
        assert_eq!(public_key_shape(&[]), None);
        assert_eq!(public_key_shape(&[0x30, 0x05, 0x02, 0x01]), None);
        assert_eq!(
            public_key_shape(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
        assert_eq!(
            public_key_shape(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00]),
            None
        );
        assert_eq!(
            public_key_shape(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03]),
            Some(KeyShape::Rsa { bits: 3 })
        );
    }
}
