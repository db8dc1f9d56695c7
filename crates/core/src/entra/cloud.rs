//! National clouds and the endpoints to use, with command-line overrides.

use super::EntraError;
use crate::domain::{Cloud, EndpointUrl};
use url::Url;

fn default_authority_host(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Public => "https://login.microsoftonline.com",
        Cloud::Usgov => "https://login.microsoftonline.us",
        Cloud::China => "https://login.chinacloudapi.cn",
    }
}

fn default_graph_url(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Public => "https://graph.microsoft.com/v1.0",
        Cloud::Usgov => "https://graph.microsoft.us/v1.0",
        Cloud::China => "https://microsoftgraph.chinacloudapi.cn/v1.0",
    }
}

/// Where to sign in and where Graph is, checked to be https (or loopback http).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authority_host: Url,
    pub graph_url: Url,
}

impl Endpoints {
    /// The cloud's endpoints, or the overrides given (already validated).
    pub fn new(
        cloud: Cloud,
        authority_host: Option<&EndpointUrl>,
        graph_url: Option<&EndpointUrl>,
    ) -> Result<Self, EntraError> {
        let pick = |given: Option<&EndpointUrl>, default: &str| match given {
            Some(url) => Ok(url.as_url().clone()),
            None => checked_url(default),
        };
        Ok(Endpoints {
            authority_host: pick(authority_host, default_authority_host(cloud))?,
            graph_url: pick(graph_url, default_graph_url(cloud))?,
        })
    }
}

/// Parses a URL an endpoint gave (discovery) with the same rules as one the
/// administrator gives: https, or plain http only on loopback.
pub(crate) fn checked_url(text: &str) -> Result<Url, EntraError> {
    let url: EndpointUrl = text
        .parse()
        .map_err(|_| EntraError::InsecureEndpoint(text.to_string()))?;
    Ok(url.as_url().clone())
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
        let local: EndpointUrl = "http://127.0.0.1:9/".parse().unwrap();
        let overridden = Endpoints::new(Cloud::Public, Some(&local), None).unwrap();
        assert_eq!(overridden.authority_host.as_str(), "http://127.0.0.1:9/");
    }
}
