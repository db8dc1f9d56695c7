//! The answers file: everything the wizard asks, so an onboarding can run
//! unattended (`wizard --answers FILE`) and the wizard can save what was chosen.

use super::CertificateHash;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// Tenant id or verified domain.
    pub tenant: String,
    /// public (default), usgov or china.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// The Hybrid Identity Administrator who signs in.
    pub upn: String,
    #[serde(default)]
    pub sign_in: SignInAnswer,
    pub method: MethodAnswer,
    /// BYOC and BYOA: the certificate in the key store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<CertificateHash>,
    /// BYOA: the application (client) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_app_id: Option<String>,
    #[serde(default)]
    pub password_writeback: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInAnswer {
    #[default]
    DeviceCode,
    /// The password is read from standard input, never from the file.
    Password,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodAnswer {
    #[default]
    Managed,
    Byoc,
    Byoa,
}

impl Answers {
    /// Parses and checks that the method has what it needs.
    pub fn parse(text: &str) -> Result<Answers, String> {
        let answers: Answers = toml::from_str(text).map_err(|e| e.to_string())?;
        match answers.method {
            MethodAnswer::Managed => {}
            MethodAnswer::Byoc if answers.certificate_sha256.is_none() => {
                return Err("method = \"byoc\" needs certificate_sha256".into());
            }
            MethodAnswer::Byoa
                if answers.certificate_sha256.is_none() || answers.application_app_id.is_none() =>
            {
                return Err(
                    "method = \"byoa\" needs certificate_sha256 and application_app_id".into(),
                );
            }
            _ => {}
        }
        Ok(answers)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses_and_round_trips() {
        let answers = Answers::parse(include_str!("../../assets/answers-managed.toml")).unwrap();
        assert_eq!(answers.method, MethodAnswer::Managed);
        assert_eq!(answers.sign_in, SignInAnswer::DeviceCode);
        assert_eq!(Answers::parse(&answers.to_toml()).unwrap(), answers);
    }

    #[test]
    fn a_method_missing_its_inputs_is_refused() {
        let err = Answers::parse(
            "tenant = \"t\"\nupn = \"a@b\"\nmethod = \"byoa\"\ncertificate_sha256 = \"AB\"",
        )
        .unwrap_err();
        assert!(err.contains("expected 64 hexadecimal digits"), "{err}");
        let hash = "AB".repeat(32);
        let err = Answers::parse(&format!(
            "tenant = \"t\"\nupn = \"a@b\"\nmethod = \"byoa\"\ncertificate_sha256 = \"{hash}\""
        ))
        .unwrap_err();
        assert_eq!(
            err,
            "method = \"byoa\" needs certificate_sha256 and application_app_id"
        );
        let err =
            Answers::parse("tenant = \"t\"\nupn = \"a@b\"\nmethod = \"managed\"\npassword = \"x\"")
                .unwrap_err();
        assert!(err.contains("unknown field `password`"), "{err}");
    }
}
