use super::endpoint::redact_userinfo;
use super::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

const GUID: &str = "11111111-2222-3333-4444-555555555555";

/// The FromStr message, and the messages serde_json and toml give for the
/// same text as a string value.
fn messages<T>(text: &str) -> (String, String, String)
where
    T: FromStr<Err = InputError> + DeserializeOwned + fmt::Debug,
{
    let direct = text.parse::<T>().unwrap_err().to_string();
    let json = serde_json::from_str::<T>(&serde_json::to_string(text).unwrap())
        .unwrap_err()
        .to_string();
    #[derive(Deserialize, Debug)]
    #[serde(bound = "T: DeserializeOwned")]
    struct Wrapper<T> {
        #[allow(dead_code)]
        value: T,
    }
    let toml_text = format!("value = {}", serde_json::to_string(text).unwrap());
    let toml = toml::from_str::<Wrapper<T>>(&toml_text)
        .unwrap_err()
        .to_string();
    (direct, json, toml)
}

fn assert_serde_same_message<T>(text: &str)
where
    T: FromStr<Err = InputError> + DeserializeOwned + fmt::Debug,
{
    let (direct, json, toml) = messages::<T>(text);
    assert!(
        json.starts_with(&direct),
        "json: {json}\nexpected: {direct}"
    );
    assert!(toml.contains(&direct), "toml: {toml}\nexpected: {direct}");
}

fn round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
}

// --- Upn ---------------------------------------------------------------

#[test]
fn upn_accepts_ordinary_names() {
    for text in [
        "admin@contoso.onmicrosoft.com",
        "first.last@contoso.com",
        "o'brien+sync@sub.contoso.co.uk",
        "a!#$%&*/=?^_`{|}~-b@x-y.example",
        "  padded@contoso.com\t",
    ] {
        let upn: Upn = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(upn.as_str(), text.trim());
        assert_eq!(upn.to_string(), text.trim());
    }
}

#[test]
fn upn_keeps_case_and_gives_domain() {
    let upn: Upn = "Admin@Contoso.OnMicrosoft.com".parse().unwrap();
    assert_eq!(upn.as_str(), "Admin@Contoso.OnMicrosoft.com");
    assert_eq!(upn.domain(), "Contoso.OnMicrosoft.com");
}

#[test]
fn upn_message_names_the_form() {
    let error = "not an upn".parse::<Upn>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"not an upn\" is not a user principal name: expected name@domain, such as admin@contoso.onmicrosoft.com"
    );
    assert_eq!(
        error,
        InputError::Upn {
            input: "not an upn".into()
        }
    );
}

#[test]
fn upn_refuses_malformed() {
    for text in [
        "",
        "   ",
        "not an upn",
        "a@b",
        "admin",
        "@contoso.com",
        "admin@",
        "admin@@contoso.com",
        "a@b@contoso.com",
        "ad min@contoso.com",
        "admin@conto so.com",
        ".admin@contoso.com",
        "admin.@contoso.com",
        "ad..min@contoso.com",
        "ad\"min@contoso.com",
        "ad(min)@contoso.com",
        "adé@contoso.com",
        "admin@-contoso.com",
        "admin@contoso-.com",
        "admin@contoso..com",
        "admin@.contoso.com",
        "admin@contoso.com.",
        "admin@contoso_x.com",
        "admin@10.0.0.1",
        "admin@[10.0.0.1]",
    ] {
        assert!(text.parse::<Upn>().is_err(), "{text:?} was accepted");
    }
}

#[test]
fn upn_length_limit() {
    let domain = "contoso.com";
    let at_limit = format!("{}@{domain}", "a".repeat(Upn::MAX_LEN - 1 - domain.len()));
    assert_eq!(at_limit.len(), 256);
    assert!(at_limit.parse::<Upn>().is_ok());
    let over = format!("a{at_limit}");
    assert!(over.parse::<Upn>().is_err());
    let long_label = format!("admin@{}.com", "a".repeat(64));
    assert!(long_label.parse::<Upn>().is_err());
}

#[test]
fn upn_serde() {
    let upn: Upn = "admin@contoso.onmicrosoft.com".parse().unwrap();
    assert_eq!(
        serde_json::to_string(&upn).unwrap(),
        "\"admin@contoso.onmicrosoft.com\""
    );
    round_trip(&upn);
    assert_serde_same_message::<Upn>("not an upn");
    assert_serde_same_message::<Upn>("a@b");
}

// --- Tenant ------------------------------------------------------------

#[test]
fn tenant_guid_normalized() {
    let tenant: Tenant = "  AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE ".parse().unwrap();
    assert_eq!(tenant.as_str(), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    assert!(tenant.is_guid());
    let mixed: Tenant = "aAaAaAaA-bbbb-CCCC-dddd-EeEeEeEeEeEe".parse().unwrap();
    assert_eq!(mixed, tenant);
}

#[test]
fn tenant_domain_normalized() {
    let tenant: Tenant = "Contoso.OnMicrosoft.COM".parse().unwrap();
    assert_eq!(tenant.as_str(), "contoso.onmicrosoft.com");
    assert_eq!(tenant.to_string(), "contoso.onmicrosoft.com");
    assert!(!tenant.is_guid());
    for text in [
        "contoso.com",
        "x-y.example",
        "a.b",
        "123contoso.com",
        "xn--bcher-kva.example",
    ] {
        let tenant: Tenant = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(!tenant.is_guid());
    }
}

#[test]
fn tenant_refuses_malformed() {
    for text in [
        "",
        "bad tenant!",
        "contoso",
        "contoso.",
        ".contoso.com",
        "contoso..com",
        "-contoso.com",
        "contoso-.com",
        "con_toso.com",
        "contoso.com/",
        "https://contoso.com",
        "10.0.0.1",
        "{11111111-2222-3333-4444-555555555555}",
        "11111111-2222-3333-4444-55555555555",
        "11111111-2222-3333-4444-55555555555g",
        "111111112222333344445555555555555555",
    ] {
        assert!(
            matches!(text.parse::<Tenant>(), Err(InputError::Tenant { .. })),
            "{text:?} was not refused as a tenant"
        );
    }
    let error = "bad tenant!".parse::<Tenant>().unwrap_err().to_string();
    assert!(error.starts_with("\"bad tenant!\" is not a tenant: expected the tenant id"));
    assert!(error.contains("contoso.onmicrosoft.com"));
}

#[test]
fn tenant_length_limits() {
    let label = "a".repeat(63);
    assert!(format!("{label}.com").parse::<Tenant>().is_ok());
    assert!(format!("a{label}.com").parse::<Tenant>().is_err());
    // 4 labels of 63 and a dot each: 255 characters.
    let long = [label.as_str(); 4].join(".");
    assert!(long.len() > 253);
    assert!(long.parse::<Tenant>().is_err());
    let fits = format!("{}.{}.{}.{}", label, label, label, "a".repeat(61));
    assert_eq!(fits.len(), 253);
    assert!(fits.parse::<Tenant>().is_ok());
}

#[test]
fn tenant_refuses_aliases() {
    for text in [
        "common",
        "organizations",
        "consumers",
        " Common ",
        "ORGANIZATIONS",
    ] {
        let error = text.parse::<Tenant>().unwrap_err();
        assert_eq!(
            error,
            InputError::TenantAlias {
                input: text.trim().to_string()
            }
        );
        let message = error.to_string();
        assert!(message.contains("one tenant"), "{message}");
        assert!(message.contains("tenant id"), "{message}");
    }
}

#[test]
fn tenant_serde() {
    let tenant: Tenant = GUID.parse().unwrap();
    assert_eq!(
        serde_json::to_string(&tenant).unwrap(),
        format!("\"{GUID}\"")
    );
    round_trip(&tenant);
    let upper: Tenant = serde_json::from_str("\"CONTOSO.COM\"").unwrap();
    assert_eq!(upper.as_str(), "contoso.com");
    assert_serde_same_message::<Tenant>("bad tenant!");
    assert_serde_same_message::<Tenant>("common");
}

// --- AppId -------------------------------------------------------------

#[test]
fn app_id_accepts_guid_lowercased() {
    let id: AppId = GUID.parse().unwrap();
    assert_eq!(id.as_str(), GUID);
    let upper: AppId = " 6BF85CFA-AC8A-4BE5-B5DE-425A0D0DC016 ".parse().unwrap();
    assert_eq!(upper.as_str(), "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016");
    assert_eq!(upper.to_string(), "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016");
}

#[test]
fn app_id_refuses_non_guids() {
    for text in [
        "",
        "contoso.com",
        "{11111111-2222-3333-4444-555555555555}",
        "11111111222233334444555555555555",
        "11111111-2222-3333-4444-5555555555555",
        "1111111-12222-3333-4444-555555555555",
        "11111111-2222-3333-4444-55555555555z",
        "11111111_2222_3333_4444_555555555555",
    ] {
        assert!(text.parse::<AppId>().is_err(), "{text:?} was accepted");
    }
    assert_eq!(
        "nope".parse::<AppId>().unwrap_err().to_string(),
        "\"nope\" is not an application id: expected the application (client) id, a GUID such as 11111111-2222-3333-4444-555555555555"
    );
}

#[test]
fn app_id_serde() {
    let id: AppId = GUID.parse().unwrap();
    round_trip(&id);
    assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{GUID}\""));
    assert_serde_same_message::<AppId>("nope");
}

// --- EndpointUrl -------------------------------------------------------

#[test]
fn endpoint_accepts_https_and_loopback_http() {
    for (text, normal) in [
        (
            "https://login.microsoftonline.com",
            "https://login.microsoftonline.com/",
        ),
        (
            "https://graph.microsoft.com/v1.0",
            "https://graph.microsoft.com/v1.0",
        ),
        (
            "HTTPS://Login.Example.COM:8443/",
            "https://login.example.com:8443/",
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("http://127.9.8.7/", "http://127.9.8.7/"),
        ("http://[::1]:3000", "http://[::1]:3000/"),
        ("http://localhost:8080/token", "http://localhost:8080/token"),
        ("http://LOCALHOST", "http://localhost/"),
        ("https://10.0.0.1", "https://10.0.0.1/"),
        (
            "  https://login.microsoftonline.com  ",
            "https://login.microsoftonline.com/",
        ),
    ] {
        let url: EndpointUrl = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(url.as_str(), normal);
        assert_eq!(url.to_string(), normal);
        assert_eq!(url.as_url().as_str(), normal);
    }
}

#[test]
fn endpoint_refuses_plain_http_elsewhere() {
    for text in [
        "http://10.0.0.1",
        "http://login.microsoftonline.com",
        "http://[::2]",
        "http://localhost.contoso.com",
    ] {
        let error = text.parse::<EndpointUrl>().unwrap_err();
        assert!(
            matches!(error, InputError::UrlInsecure { .. }),
            "{text}: {error:?}"
        );
        assert!(error.to_string().contains("https is required"), "{error}");
    }
    assert_eq!(
        "http://10.0.0.1"
            .parse::<EndpointUrl>()
            .unwrap_err()
            .to_string(),
        "\"http://10.0.0.1\" uses plain http to 10.0.0.1: https is required (plain http is allowed only to a loopback host: 127.0.0.1, ::1 or localhost)"
    );
}

#[test]
fn endpoint_refuses_other_schemes() {
    for text in [
        "ftp://x",
        "file:///etc/passwd",
        "mailto:a@contoso.com",
        "wss://x.example",
    ] {
        let error = text.parse::<EndpointUrl>().unwrap_err();
        assert!(
            matches!(error, InputError::UrlScheme { .. }),
            "{text}: {error:?}"
        );
    }
    assert_eq!(
        "ftp://x".parse::<EndpointUrl>().unwrap_err().to_string(),
        "\"ftp://x\" has the scheme \"ftp\": expected an https URL such as https://login.microsoftonline.com (plain http only to a loopback host, such as http://127.0.0.1:8080)"
    );
}

#[test]
fn endpoint_refuses_malformed() {
    for text in [
        "",
        "login.microsoftonline.com",
        "/relative/path",
        "https://",
        "https://bad host.example",
        "https://[::1",
    ] {
        let error = text.parse::<EndpointUrl>().unwrap_err();
        assert!(
            matches!(error, InputError::UrlSyntax { .. }),
            "{text}: {error:?}"
        );
        assert!(
            error.to_string().contains("expected an https URL"),
            "{error}"
        );
    }
}

#[test]
fn endpoint_refuses_query_and_fragment() {
    let query = "https://login.example.com/?x=1".parse::<EndpointUrl>();
    assert!(matches!(
        query,
        Err(InputError::UrlQueryOrFragment { part: "query", .. })
    ));
    let empty_query = "https://login.example.com/?".parse::<EndpointUrl>();
    assert!(matches!(
        empty_query,
        Err(InputError::UrlQueryOrFragment { part: "query", .. })
    ));
    let fragment = "https://login.example.com/#top".parse::<EndpointUrl>();
    assert!(matches!(
        fragment,
        Err(InputError::UrlQueryOrFragment {
            part: "fragment",
            ..
        })
    ));
    assert!(fragment.unwrap_err().to_string().contains("has a fragment"));
}

#[test]
fn endpoint_refuses_credentials_without_echoing_them() {
    for text in [
        "https://user:hunter2@login.example.com",
        "https://user@login.example.com",
        "https://:hunter2@login.example.com",
        "ftp://user:hunter2@x",
        "http://user:hunter2@10.0.0.1",
    ] {
        let error = text.parse::<EndpointUrl>().unwrap_err();
        assert!(
            matches!(error, InputError::UrlCredentials { .. }),
            "{text}: {error:?}"
        );
        let message = error.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!message.contains("user@"), "{message}");
        assert!(
            message.starts_with("\"") && message[1..].contains("://***@"),
            "{message}"
        );
        assert!(
            message.contains("remove the user:password@ part"),
            "{message}"
        );
    }
    // Even when the URL is malformed for another reason.
    let message = "https://user:hunter2@bad host"
        .parse::<EndpointUrl>()
        .unwrap_err()
        .to_string();
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn redaction() {
    assert_eq!(redact_userinfo("https://a:b@h/p@q"), "https://***@h/p@q");
    assert_eq!(redact_userinfo("https://h/p@q"), "https://h/p@q");
    assert_eq!(redact_userinfo("a:b@h"), "***@h");
    assert_eq!(redact_userinfo("https://a@b:c@h"), "https://***@h");
    assert_eq!(redact_userinfo("https://admin:p#ss@h"), "https://***@h");
    assert_eq!(
        redact_userinfo("https://admin:p/s?s@h/x"),
        "https://***@h/x"
    );
}

#[test]
fn endpoint_serde() {
    let url: EndpointUrl = "https://login.microsoftonline.com".parse().unwrap();
    assert_eq!(
        serde_json::to_string(&url).unwrap(),
        "\"https://login.microsoftonline.com/\""
    );
    round_trip(&url);
    assert_serde_same_message::<EndpointUrl>("http://10.0.0.1");
    assert_serde_same_message::<EndpointUrl>("ftp://x");
    assert_serde_same_message::<EndpointUrl>("not a url");
}

// --- CertificateDays ---------------------------------------------------

#[test]
fn days_range() {
    assert_eq!("1".parse::<CertificateDays>().unwrap().get(), 1);
    assert_eq!(" 730 ".parse::<CertificateDays>().unwrap().get(), 730);
    assert_eq!("180".parse::<CertificateDays>().unwrap().to_string(), "180");
    assert_eq!(CertificateDays::default().get(), DEFAULT_CERTIFICATE_DAYS);
    assert_eq!(CertificateDays::default().get(), 180);
    assert_eq!(CertificateDays::try_from(730).unwrap().get(), 730);
    assert!(CertificateDays::try_from(0).is_err());
    assert!(CertificateDays::try_from(MAX_CERTIFICATE_DAYS + 1).is_err());
}

#[test]
fn days_refuses_out_of_range_and_non_numbers() {
    for text in [
        "0",
        "731",
        "-1",
        "+5",
        "",
        "ten",
        "1.5",
        "1e2",
        "99999999999999999999",
    ] {
        let error = text.parse::<CertificateDays>().unwrap_err();
        assert_eq!(
            error,
            InputError::CertificateDays {
                input: text.to_string()
            }
        );
    }
    assert_eq!(
        "731".parse::<CertificateDays>().unwrap_err().to_string(),
        "\"731\" is not a certificate validity: expected a whole number of days from 1 to 730 (the default is 180)"
    );
    assert_eq!(
        CertificateDays::try_from(0).unwrap_err(),
        "0".parse::<CertificateDays>().unwrap_err()
    );
}

#[test]
fn days_serde() {
    let days: CertificateDays = "365".parse().unwrap();
    assert_eq!(serde_json::to_string(&days).unwrap(), "365");
    round_trip(&days);
    assert_eq!(
        serde_json::from_str::<CertificateDays>("\"90\"")
            .unwrap()
            .get(),
        90
    );
    assert_serde_same_message::<CertificateDays>("0");
    assert_serde_same_message::<CertificateDays>("731");
    assert_serde_same_message::<CertificateDays>("ten");

    // Numbers give the same message as the text of the number.
    let direct = "731".parse::<CertificateDays>().unwrap_err().to_string();
    for json in ["731", "\"731\""] {
        let message = serde_json::from_str::<CertificateDays>(json)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with(&direct), "{message}");
    }
    let negative = serde_json::from_str::<CertificateDays>("-1")
        .unwrap_err()
        .to_string();
    assert!(negative.starts_with(&"-1".parse::<CertificateDays>().unwrap_err().to_string()));

    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct File {
        days: CertificateDays,
    }
    let file: File = toml::from_str("days = 365").unwrap();
    assert_eq!(file.days.get(), 365);
    assert_eq!(toml::to_string(&file).unwrap().trim(), "days = 365");
    let message = toml::from_str::<File>("days = 0").unwrap_err().to_string();
    assert!(message.contains(&"0".parse::<CertificateDays>().unwrap_err().to_string()));
    let message = toml::from_str::<File>("days = 1.5")
        .unwrap_err()
        .to_string();
    assert!(message.contains(&"1.5".parse::<CertificateDays>().unwrap_err().to_string()));
}

// --- Shared ------------------------------------------------------------

#[test]
fn types_work_as_clap_value_parsers() {
    fn parse<T: FromStr<Err = InputError>>(text: &str) -> Result<T, String> {
        text.parse::<T>().map_err(|e| e.to_string())
    }
    // clap's value_parser! picks FromStr when Err: Error + Send + Sync + 'static.
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<InputError>();
    assert!(parse::<Upn>("admin@contoso.onmicrosoft.com").is_ok());
    assert!(parse::<Tenant>(GUID).is_ok());
    assert!(parse::<AppId>(GUID).is_ok());
    assert!(parse::<EndpointUrl>("https://login.microsoftonline.com").is_ok());
    assert!(parse::<CertificateDays>("180").is_ok());
}
