//! National clouds and the endpoints to use, with command-line overrides.

use super::EntraError;
use url::Url;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Public,
    Usgov,
    China,
}

impl Cloud {
    fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::Usgov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    fn graph_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://graph.microsoft.com/v1.0",
            Cloud::Usgov => "https://graph.microsoft.us/v1.0",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/v1.0",
        }
    }
}

/// Where to sign in and where Graph is, checked to be https (or loopback http).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authority_host: Url,
    pub graph_url: Url,
}

impl Endpoints {
    pub fn new(
        cloud: Cloud,
        authority_host: Option<&str>,
        graph_url: Option<&str>,
    ) -> Result<Self, EntraError> {
        Ok(Endpoints {
            authority_host: checked_url(authority_host.unwrap_or(cloud.authority_host()))?,
            graph_url: checked_url(graph_url.unwrap_or(cloud.graph_url()))?,
        })
    }
}

/// Parses `text` and refuses plain http anywhere but loopback.
pub fn checked_url(text: &str) -> Result<Url, EntraError> {
    let url = Url::parse(text.trim_end_matches('/'))
        .map_err(|e| EntraError::Config(format!("{text:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(EntraError::InsecureEndpoint(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_clouds_have_their_own_hosts() {
        let gov = Endpoints::new(Cloud::Usgov, None, None).unwrap();
        assert_eq!(
            gov.authority_host.as_str(),
            "https://login.microsoftonline.us/"
        );
        let china = Endpoints::new(Cloud::China, None, None).unwrap();
        assert_eq!(
            china.graph_url.as_str(),
            "https://microsoftgraph.chinacloudapi.cn/v1.0"
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(checked_url("http://127.0.0.1:8080").is_ok());
        assert!(checked_url("http://localhost:1").is_ok());
        assert!(checked_url("http://[::1]:1").is_ok());
        let err = checked_url("http://login.example.com").unwrap_err();
        assert!(matches!(err, EntraError::InsecureEndpoint(_)), "{err}");
        assert!(checked_url("ftp://127.0.0.1").is_err());
        let overridden = Endpoints::new(Cloud::Public, Some("http://127.0.0.1:9/"), None).unwrap();
        assert_eq!(overridden.authority_host.as_str(), "http://127.0.0.1:9/");
    }
}
