//! How long a new certificate is valid.

use super::{DEFAULT_CERTIFICATE_DAYS, InputError, MAX_CERTIFICATE_DAYS};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Validity of a new certificate, in days: 1 to `MAX_CERTIFICATE_DAYS`.
///
/// Serialized as a number; deserialized from a number or a string, both
/// through `FromStr`, so a bad value gives the same message either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateDays(u32);

impl CertificateDays {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for CertificateDays {
    fn default() -> Self {
        Self(DEFAULT_CERTIFICATE_DAYS)
    }
}

impl TryFrom<u32> for CertificateDays {
    type Error = InputError;

    fn try_from(days: u32) -> Result<Self, InputError> {
        if (1..=MAX_CERTIFICATE_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(InputError::CertificateDays {
                input: days.to_string(),
            })
        }
    }
}

impl FromStr for CertificateDays {
    type Err = InputError;

    fn from_str(input: &str) -> Result<Self, InputError> {
        let text = input.trim();
        // Digits only: `u32::from_str` would also take a leading `+`.
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::CertificateDays {
                input: text.to_string(),
            });
        }
        text.parse::<u32>()
            .map_err(|_| InputError::CertificateDays {
                input: text.to_string(),
            })
            .and_then(Self::try_from)
    }
}

impl fmt::Display for CertificateDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for CertificateDays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for CertificateDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Days;

        impl serde::de::Visitor<'_> for Days {
            type Value = CertificateDays;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number of days from 1 to {MAX_CERTIFICATE_DAYS}")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<CertificateDays, E> {
                text.parse().map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, days: u64) -> Result<CertificateDays, E> {
                self.visit_str(&days.to_string())
            }

            fn visit_i64<E: serde::de::Error>(self, days: i64) -> Result<CertificateDays, E> {
                self.visit_str(&days.to_string())
            }

            fn visit_f64<E: serde::de::Error>(self, days: f64) -> Result<CertificateDays, E> {
                self.visit_str(&days.to_string())
            }
        }

        deserializer.deserialize_any(Days)
    }
}
