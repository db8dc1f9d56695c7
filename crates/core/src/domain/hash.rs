use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// SHA-256 over a certificate's DER, as uppercase hex: what the Entra Connect
/// cmdlets take as `-CertificateSHA256Hash`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateHash(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a certificate SHA-256 hash: expected 64 hexadecimal digits (any case, colons allowed), found {found}"
)]
pub struct HashParseError {
    input: String,
    found: String,
}

impl CertificateHash {
    pub fn of_der(der: &[u8]) -> Self {
        Self(hex::encode_upper(Sha256::digest(der)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first and last few digits, for narrow tables.
    pub fn short(&self) -> String {
        format!("{}…{}", &self.0[..8], &self.0[56..])
    }
}

impl FromStr for CertificateHash {
    type Err = HashParseError;

    fn from_str(input: &str) -> Result<Self, HashParseError> {
        let digits: String = input.trim().chars().filter(|c| *c != ':').collect();
        let error = |found: String| HashParseError {
            input: input.to_string(),
            found,
        };
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(error(format!("the character {bad:?}")));
        }
        if digits.len() != 64 {
            return Err(error(format!("{} digits", digits.len())));
        }
        Ok(Self(digits.to_ascii_uppercase()))
    }
}

impl fmt::Display for CertificateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CertificateHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for CertificateHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_case_and_colons() {
        let lower = "ab".repeat(32);
        let colons = vec!["Ab"; 32].join(":");
        let a: CertificateHash = lower.parse().unwrap();
        let b: CertificateHash = colons.parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "AB".repeat(32));
    }

    #[test]
    fn refuses_wrong_length_and_non_hex() {
        let short = "AB".repeat(31);
        let err = short.parse::<CertificateHash>().unwrap_err();
        assert!(err.to_string().contains("found 62 digits"), "{err}");
        let bad = format!("{}ZZ", "AB".repeat(31));
        let err = bad.parse::<CertificateHash>().unwrap_err();
        assert!(err.to_string().contains("the character 'Z'"), "{err}");
    }

    #[test]
    fn hash_of_der_is_uppercase_sha256() {
        // SHA-256 of the empty string, a published test vector.
        assert_eq!(
            CertificateHash::of_der(b"").as_str(),
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
        );
    }
}
