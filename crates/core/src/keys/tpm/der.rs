//! The DER of the TPM key's public half, for the certificate: the TPM gives
//! the RSA modulus and exponent as numbers.

/// An RSA public key as the TPM gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RsaPublic {
    /// Big-endian, unsigned.
    pub(super) modulus: Vec<u8>,
    pub(super) exponent: u32,
}

impl RsaPublic {
    /// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    pub(super) fn der(&self) -> Vec<u8> {
        let mut body = unsigned_integer(&self.modulus);
        body.extend(unsigned_integer(&self.exponent.to_be_bytes()));
        let mut out = vec![0x30];
        out.extend(length(body.len()));
        out.extend(body);
        out
    }
}

/// A DER length: one byte up to 127, else 0x80 + the number of big-endian
/// bytes that follow.
pub(super) fn length(length: usize) -> Vec<u8> {
    match u8::try_from(length) {
        Ok(short) if short <= 0x7f => vec![short],
        _ => {
            let bytes: Vec<u8> = length
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            let mut out = vec![0x80 | bytes.len() as u8];
            out.extend(bytes);
            out
        }
    }
}

/// A DER INTEGER of an unsigned big-endian number: leading zeros dropped,
/// one zero put back when the high bit is set (else it would read negative).
pub(super) fn unsigned_integer(big_endian: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    let mut value = match trimmed.first() {
        None => vec![0],
        Some(first) if first & 0x80 != 0 => [&[0u8][..], &trimmed].concat(),
        Some(_) => trimmed,
    };
    let mut out = vec![0x02];
    out.extend(length(value.len()));
    out.append(&mut value);
    out
}
