//! The answers file: everything the wizard asks, so an onboarding can run
//! unattended (`wizard --answers FILE`) and the wizard can save what was chosen.

use super::{AppId, CertificateHash, Cloud, EndpointUrl, Tenant, Upn, named_enum};
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

named_enum! {
    /// How the administrator signs in.
    #[derive(Default)]
    #[serde(rename_all = "kebab-case")]
    pub enum SignInAnswer {
        #[default]
        DeviceCode => "device-code",
        /// The password is read from standard input, never from the file.
        Password => "password",
        /// The authorization code flow in a browser, for tenants that block
        /// the device code flow.
        Browser => "browser",
    }
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

/// The keys an answers file may hold and what each takes: what a refusal
/// says instead of quoting the file (a line may hold a password put there by
/// mistake, and refusals go to the terminal and to logs).
const KEYS: [(&str, &str); 11] = [
    (
        "tenant",
        "a tenant id or verified domain, e.g. \"contoso.onmicrosoft.com\"",
    ),
    ("cloud", "\"public\", \"usgov\" or \"china\""),
    (
        "authority_host",
        "an https URL (http only on loopback), e.g. \"https://login.microsoftonline.com\"",
    ),
    (
        "graph_url",
        "an https URL (http only on loopback), e.g. \"https://graph.microsoft.com/v1.0\"",
    ),
    ("ca_cert", "the path of a PEM root certificate"),
    (
        "upn",
        "a user principal name, e.g. \"admin@contoso.onmicrosoft.com\"",
    ),
    (
        "sign_in",
        "\"device-code\" or \"password\" (the password is read from standard input, never from the file)",
    ),
    ("method", "\"managed\", \"byoc\" or \"byoa\""),
    (
        "certificate_sha256",
        "64 hexadecimal digits (a certificate's SHA-256 hash)",
    ),
    ("application_app_id", "an application (client) id, a GUID"),
    ("password_writeback", "true or false"),
];

impl Answers {
    /// Parses and checks that the method has what it needs. A refusal names
    /// the line and key and what was expected, never what the file holds.
    pub fn parse(text: &str) -> Result<Answers, String> {
        // Syntax first, on its own: the TOML parser's descriptions are fixed
        // text, while a refusal of a value may quote the value.
        toml::from_str::<toml::Table>(text).map_err(|e| refusal(text, &e, Refused::Syntax))?;
        let answers: Answers =
            toml::from_str(text).map_err(|e| refusal(text, &e, Refused::Content))?;
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

/// Which pass of [`Answers::parse`] refused the file.
#[derive(Clone, Copy)]
enum Refused {
    Syntax,
    Content,
}

/// What is wrong with an answers file, said without any of its text but
/// its keys: "line 4 (key `password`): unknown key; …".
fn refusal(text: &str, error: &toml::de::Error, pass: Refused) -> String {
    let message = error.message();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .and_then(|name| KEYS.iter().find(|(key, _)| *key == name));
    if let (Refused::Content, Some((key, expected))) = (pass, missing) {
        return format!("key `{key}` is missing; give {expected}");
    }
    let line = error.span().map(|span| line_number(text, span.start));
    let key = line.and_then(|line| key_on_line(text, line));
    let problem = match pass {
        Refused::Syntax => format!("not valid TOML ({message})"),
        Refused::Content if message.starts_with("unknown field") => {
            let keys: Vec<String> = KEYS.iter().map(|(key, _)| format!("`{key}`")).collect();
            format!("unknown key; the keys are {}", keys.join(", "))
        }
        Refused::Content => match KEYS.iter().find(|(name, _)| Some(*name) == key) {
            Some((_, expected)) => format!("not valid; expected {expected}"),
            None => "not valid here".to_string(),
        },
    };
    match (line, key) {
        (Some(line), Some(key)) => format!("line {line} (key `{key}`): {problem}"),
        (Some(line), None) => format!("line {line}: {problem}"),
        (None, _) => problem,
    }
}

/// The line (from 1) that byte `offset` of `text` is on.
fn line_number(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().filter(|byte| **byte == b'\n').count() + 1
}

/// The bare key that line `line` of `text` assigns (`key = …`) or opens as a
/// table (`[key]`), if it is one; nothing else of the line.
fn key_on_line(text: &str, line: usize) -> Option<&str> {
    let content = text.lines().nth(line - 1)?.trim();
    let key = match content.strip_prefix('[') {
        Some(header) => header.trim_start_matches('[').split(']').next()?,
        None => content.split('=').next()?,
    }
    .trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    (!key.is_empty() && key.chars().all(bare)).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses_and_round_trips() {
        let answers =
            Answers::parse(include_str!("../../../../assets/answers-managed.toml")).unwrap();
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
        assert!(
            err.contains("line 4 (key `password`): unknown key"),
            "{err}"
        );
    }

    const START: &str =
        "tenant = \"contoso.onmicrosoft.com\"\nupn = \"a@contoso.onmicrosoft.com\"\n";

    /// A refusal names the line and key and never what the file holds there.
    #[test]
    fn a_refusal_never_quotes_the_file() {
        let secret = "Sup3r-Secret-Passw0rd";
        for (body, expected) in [
            (
                format!("method = \"managed\"\npassword = \"{secret}\""),
                "line 4 (key `password`): unknown key; the keys are `tenant`, ",
            ),
            (
                format!("method = \"managed\"\n[extra]\nx = \"{secret}\""),
                "line 4 (key `extra`): unknown key",
            ),
            (
                format!("method = \"managed\"\npassword_writeback = \"{secret}\""),
                "line 4 (key `password_writeback`): not valid; expected true or false",
            ),
            (
                format!("method = \"{secret}\""),
                "line 3 (key `method`): not valid; expected \"managed\", \"byoc\" or \"byoa\"",
            ),
            (
                format!("method = \"managed\"\npassword = \"{secret}"),
                "line 4 (key `password`): not valid TOML (",
            ),
            (
                format!("method = \"managed\"\n{secret} \"x\""),
                "line 4: not valid TOML (",
            ),
        ] {
            let err = Answers::parse(&format!("{START}{body}")).unwrap_err();
            assert!(err.starts_with(expected), "{err}");
            assert!(!err.contains(secret), "{err}");
        }
        let err = Answers::parse("tenant = \"contoso.onmicrosoft.com\"\nmethod = \"managed\"")
            .unwrap_err();
        assert!(
            err.starts_with("key `upn` is missing; give a user principal name"),
            "{err}"
        );
    }

    #[test]
    fn every_key_is_described() {
        let answers = Answers {
            tenant: "contoso.onmicrosoft.com".parse().unwrap(),
            cloud: Some(Cloud::Public),
            authority_host: Some("https://login.microsoftonline.com".parse().unwrap()),
            graph_url: Some("https://graph.microsoft.com/v1.0".parse().unwrap()),
            ca_cert: Some("ca.pem".into()),
            upn: "a@contoso.onmicrosoft.com".parse().unwrap(),
            sign_in: SignInAnswer::Password,
            method: MethodAnswer::Byoa,
            certificate_sha256: Some("AB".repeat(32).parse().unwrap()),
            application_app_id: Some("00000000-0000-0000-0000-000000000001".parse().unwrap()),
            password_writeback: true,
        };
        let table: toml::Table = toml::from_str(&answers.to_toml().unwrap()).unwrap();
        let mut written: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut described: Vec<&str> = KEYS.iter().map(|(key, _)| *key).collect();
        written.sort_unstable();
        described.sort_unstable();
        assert_eq!(written, described);
    }
}
