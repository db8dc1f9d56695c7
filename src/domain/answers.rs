//! The answers file: everything the wizard asks, so an onboarding can run
//! unattended (`wizard --answers FILE`) and the wizard can save what was chosen.

use super::{AppId, CertificateHash, Cloud, EndpointUrl, Tenant, Upn};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where to reach Entra (never a secret), as the administrator gave it on the
/// command line, in an answers file or in the wizard. A field left out comes
/// from the connection remembered, then from the cloud's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInputs {
    pub tenant: Option<Tenant>,
    pub cloud: Option<Cloud>,
    pub authority_host: Option<EndpointUrl>,
    pub graph_url: Option<EndpointUrl>,
    pub ca_cert: Option<PathBuf>,
}

impl ConnectionInputs {
    /// These inputs, with what they leave out taken from `fallback`.
    pub fn or(self, fallback: ConnectionInputs) -> ConnectionInputs {
        ConnectionInputs {
            tenant: self.tenant.or(fallback.tenant),
            cloud: self.cloud.or(fallback.cloud),
            authority_host: self.authority_host.or(fallback.authority_host),
            graph_url: self.graph_url.or(fallback.graph_url),
            ca_cert: self.ca_cert.or(fallback.ca_cert),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// Tenant id or verified domain.
    pub tenant: Tenant,
    /// public (default), usgov or china.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<EndpointUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<EndpointUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// The Hybrid Identity Administrator who signs in.
    pub upn: Upn,
    #[serde(default)]
    pub sign_in: SignInAnswer,
    pub method: MethodAnswer,
    /// BYOC and BYOA: the certificate in the key store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<CertificateHash>,
    /// BYOA: the application (client) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_app_id: Option<AppId>,
    #[serde(default)]
    pub password_writeback: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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

/// The three ways to get an application credential, with what each needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Method {
    /// A new certificate and application, both looked after by this tool.
    Managed,
    /// Bring Your Own Certificate: this tool registers the application with it.
    Byoc(CertificateHash),
    /// Bring Your Own Application: an existing application and its certificate.
    Byoa {
        app_id: AppId,
        certificate: CertificateHash,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    #[error("method = \"byoc\" needs certificate_sha256")]
    ByocWithoutCertificate,
    #[error("method = \"byoa\" needs certificate_sha256 and application_app_id")]
    ByoaIncomplete,
}

impl Method {
    /// The one rule every front end (command line, answers file, wizard)
    /// turns a choice into a method with.
    pub fn from_choice(
        choice: MethodAnswer,
        certificate: Option<CertificateHash>,
        app_id: Option<AppId>,
    ) -> Result<Method, MethodError> {
        match (choice, certificate, app_id) {
            (MethodAnswer::Managed, _, _) => Ok(Method::Managed),
            (MethodAnswer::Byoc, Some(hash), _) => Ok(Method::Byoc(hash)),
            (MethodAnswer::Byoc, None, _) => Err(MethodError::ByocWithoutCertificate),
            (MethodAnswer::Byoa, Some(certificate), Some(app_id)) => Ok(Method::Byoa {
                app_id,
                certificate,
            }),
            (MethodAnswer::Byoa, _, _) => Err(MethodError::ByoaIncomplete),
        }
    }
}

impl Answers {
    /// Parses and checks that the method has what it needs.
    pub fn parse(text: &str) -> Result<Answers, String> {
        let answers: Answers = toml::from_str(text).map_err(|e| e.to_string())?;
        answers.method().map_err(|e| e.to_string())?;
        Ok(answers)
    }

    pub fn connection(&self) -> ConnectionInputs {
        ConnectionInputs {
            tenant: Some(self.tenant.clone()),
            cloud: self.cloud,
            authority_host: self.authority_host.clone(),
            graph_url: self.graph_url.clone(),
            ca_cert: self.ca_cert.clone(),
        }
    }

    pub fn method(&self) -> Result<Method, MethodError> {
        Method::from_choice(
            self.method,
            self.certificate_sha256.clone(),
            self.application_app_id.clone(),
        )
    }

    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| e.to_string())
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
        assert_eq!(
            Answers::parse(&answers.to_toml().unwrap()).unwrap(),
            answers
        );
    }

    #[test]
    fn a_method_missing_its_inputs_is_refused() {
        let err = Answers::parse(
            "tenant = \"contoso.onmicrosoft.com\"\nupn = \"a@contoso.onmicrosoft.com\"\nmethod = \"byoa\"\ncertificate_sha256 = \"AB\"",
        )
        .unwrap_err();
        assert!(err.contains("expected 64 hexadecimal digits"), "{err}");
        let hash = "AB".repeat(32);
        let err = Answers::parse(&format!(
            "tenant = \"contoso.onmicrosoft.com\"\nupn = \"a@contoso.onmicrosoft.com\"\nmethod = \"byoa\"\ncertificate_sha256 = \"{hash}\""
        ))
        .unwrap_err();
        assert_eq!(
            err,
            "method = \"byoa\" needs certificate_sha256 and application_app_id"
        );
        let err =
            Answers::parse("tenant = \"contoso.onmicrosoft.com\"\nupn = \"a@contoso.onmicrosoft.com\"\nmethod = \"managed\"\npassword = \"x\"")
                .unwrap_err();
        assert!(err.contains("unknown field `password`"), "{err}");
    }
}
