//! The proxy every request to Entra goes through, read from the environment
//! as curl reads it: `https_proxy` (then `HTTPS_PROXY`) for HTTPS,
//! `http_proxy` (lower case only) for plain HTTP, `all_proxy` (then
//! `ALL_PROXY`) for either when its own is unset, and `no_proxy` (then
//! `NO_PROXY`) for the hosts reached directly. The lower case name wins, as
//! in curl; an empty value counts as unset. Credentials in a proxy URL are
//! sent as Basic authentication and shown nowhere: a proxy is always named by
//! its redacted form.

use super::EntraError;
use hyper_util::client::proxy::matcher::Matcher;
use url::Url;

/// A proxy URL, which may carry a user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(Url);

impl ProxyUrl {
    /// The URL with its password replaced by `***`: how a proxy is shown.
    pub fn redacted(&self) -> String {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            // A URL with a password has a host, so this cannot fail.
            let _ = shown.set_password(Some("***"));
        }
        shown.as_str().trim_end_matches('/').to_string()
    }
}

/// Never the password, even in a `{:?}`.
impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// How requests leave this machine.
#[derive(Debug, Clone, Default)]
pub struct ProxySettings {
    https: Option<ProxyUrl>,
    http: Option<ProxyUrl>,
    /// The `no_proxy` list as given: hosts, domains, IP addresses and ranges.
    no_proxy: Option<String>,
}

/// Where a request to one URL goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Direct,
    /// Through the proxy (its redacted URL).
    Through(String),
}

impl ProxySettings {
    /// The settings of this process's environment.
    pub fn from_env() -> Result<ProxySettings, EntraError> {
        ProxySettings::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings `var` gives (a variable's value by its name).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<ProxySettings, EntraError> {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|name| {
                var(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (*name, value))
            })
        };
        let all = first(&["all_proxy", "ALL_PROXY"]);
        let https = first(&["https_proxy", "HTTPS_PROXY"]).or_else(|| all.clone());
        let http = first(&["http_proxy"]).or(all);
        Ok(ProxySettings {
            https: https.map(parse).transpose()?,
            http: http.map(parse).transpose()?,
            no_proxy: first(&["no_proxy", "NO_PROXY"]).map(|(_, list)| list),
        })
    }

    /// Where a request to `url` goes: the rules reqwest applies to the
    /// requests themselves (hyper-util's matcher), asked directly.
    pub fn route(&self, url: &Url) -> Route {
        let matcher = Matcher::builder()
            .https(
                self.https
                    .as_ref()
                    .map(|p| p.0.to_string())
                    .unwrap_or_default(),
            )
            .http(
                self.http
                    .as_ref()
                    .map(|p| p.0.to_string())
                    .unwrap_or_default(),
            )
            .no(self.no_proxy.clone().unwrap_or_default())
            .build();
        let proxied = url
            .as_str()
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| matcher.intercept(&uri))
            .is_some();
        let proxy = match url.scheme() {
            "https" => &self.https,
            _ => &self.http,
        };
        match (proxied, proxy) {
            (true, Some(proxy)) => Route::Through(proxy.redacted()),
            _ => Route::Direct,
        }
    }

    fn no_proxy(&self) -> Option<reqwest::NoProxy> {
        self.no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string)
    }

    /// `builder` sending requests through these proxies (and no other: the
    /// environment is read here, once, as curl reads it).
    pub(super) fn apply(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, EntraError> {
        builder = builder.no_proxy();
        let add = |builder: reqwest::ClientBuilder,
                   proxy: &Option<ProxyUrl>,
                   make: fn(Url) -> reqwest::Result<reqwest::Proxy>| {
            let Some(proxy) = proxy else {
                return Ok(builder);
            };
            let made = make(proxy.0.clone()).map_err(|_| {
                EntraError::Config(format!("the proxy {} cannot be used", proxy.redacted()))
            })?;
            Ok::<_, EntraError>(builder.proxy(made.no_proxy(self.no_proxy())))
        };
        builder = add(builder, &self.https, reqwest::Proxy::https)?;
        add(builder, &self.http, reqwest::Proxy::http)
    }
}

/// A proxy variable's value as a URL; a bare `host:port` is taken as
/// `http://host:port`, as curl takes it.
fn parse((name, value): (&'static str, String)) -> Result<ProxyUrl, EntraError> {
    let value = value.trim();
    let with_scheme = match value.contains("://") {
        true => value.to_string(),
        false => format!("http://{value}"),
    };
    match Url::parse(&with_scheme) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(ProxyUrl(url))
        }
        // The value may hold a password: the error names the variable only.
        _ => Err(EntraError::Config(format!(
            "{name} is not a proxy URL (http://[user:password@]host:port); unset it or correct it"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<ProxySettings, EntraError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxySettings::from_vars(|name| vars.get(name).cloned())
    }

    fn route(settings: &ProxySettings, url: &str) -> Route {
        settings.route(&Url::parse(url).unwrap())
    }

    #[test]
    fn the_lower_case_name_wins_and_http_proxy_is_read_in_lower_case_only() {
        let both = settings(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "http://ignored:3128"),
        ])
        .unwrap();
        assert_eq!(
            route(&both, "https://login.microsoftonline.com/x"),
            Route::Through("http://lower:3128".into())
        );
        assert_eq!(route(&both, "http://127.0.0.1:8080/"), Route::Direct);
        let all = settings(&[("ALL_PROXY", "proxy.corp:8080")]).unwrap();
        assert_eq!(
            route(&all, "https://graph.microsoft.com/v1.0"),
            Route::Through("http://proxy.corp:8080".into())
        );
        assert_eq!(
            route(&all, "http://127.0.0.1:1/"),
            Route::Through("http://proxy.corp:8080".into())
        );
        let empty = settings(&[("https_proxy", ""), ("HTTPS_PROXY", "http://upper:1")]).unwrap();
        assert_eq!(
            route(&empty, "https://a.b/"),
            Route::Through("http://upper:1".into()),
            "an empty value counts as unset"
        );
    }

    #[test]
    fn no_proxy_names_hosts_domains_and_ranges() {
        let proxied = settings(&[
            ("https_proxy", "http://proxy:3128"),
            (
                "NO_PROXY",
                "graph.microsoft.com, .corp.example, 10.0.0.0/8, ::1",
            ),
        ])
        .unwrap();
        for direct in [
            "https://graph.microsoft.com/v1.0",
            "https://a.corp.example/",
            "https://corp.example/",
            "https://10.1.2.3/",
            "https://[::1]:8443/",
        ] {
            assert_eq!(route(&proxied, direct), Route::Direct, "{direct}");
        }
        for through in [
            "https://login.microsoftonline.com/",
            "https://notcorp.example/",
            "https://11.0.0.1/",
        ] {
            assert_ne!(route(&proxied, through), Route::Direct, "{through}");
        }
        let everything = settings(&[("https_proxy", "http://p:1"), ("no_proxy", "*")]).unwrap();
        assert_eq!(route(&everything, "https://x.y/"), Route::Direct);
    }

    #[test]
    fn a_proxy_password_is_never_shown() {
        let secret = "s3cr3t-proxy-pass";
        let with_password = settings(&[(
            "https_proxy",
            &format!("http://proxyuser:{secret}@proxy:3128"),
        )])
        .unwrap();
        let shown = format!(
            "{with_password:?} {:?}",
            route(&with_password, "https://login.microsoftonline.com/")
        );
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("http://proxyuser:***@proxy:3128"), "{shown}");
        let bad = settings(&[("https_proxy", &format!("http://u:{secret}@"))]).unwrap_err();
        assert!(!bad.to_string().contains(secret), "{bad}");
        assert!(bad.to_string().contains("https_proxy"), "{bad}");
    }
}
