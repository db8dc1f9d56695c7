//! A user's sign-in as Entra answers it: the ID token when `openid` is
//! asked, `client_info` when the client asks for it, a refresh token with
//! `offline_access` and the `refresh_token` grant; the `organizations` and
//! `common` authorities; the Graph host as a resource; discovery's shape.

use crate::harness::tenant::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_connect::sandbox::SandboxHandle;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OIDC_GRAPH_SCOPE: &str =
    "https://graph.microsoft.com/User.Read openid profile offline_access";

/// A password grant as MSAL sends it: OpenID scopes and `client_info=1`.
async fn msal_style_password_grant(sb: &SandboxHandle, name: &str, scope: &str) -> Value {
    let user = sb.user(name).expect("seeded user");
    let (status, body) = token_request(
        sb,
        &[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", &user.upn),
            ("password", &user.password),
            ("scope", scope),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh(sb: &SandboxHandle, client_id: &str, refresh_token: &str) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            ("scope", OIDC_GRAPH_SCOPE),
            ("client_info", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn openid_scopes_earn_an_id_token_client_info_and_a_refresh_token() {
    let sb = start().await;
    let body = msal_style_password_grant(&sb, "hybrid.admin", OIDC_GRAPH_SCOPE).await;
    let access = claims(body["access_token"].as_str().unwrap());
    let id_token = body["id_token"].as_str().expect("an ID token with openid");
    let id = claims(id_token);
    let upn = sb.user("hybrid.admin").unwrap().upn.clone();
    assert_eq!(id["aud"], GRAPH_CLI, "the ID token is for the client: {id}");
    assert_eq!(id["iss"], format!("{}/v2.0", sb.authority()));
    assert_eq!(id["tid"], sb.tenant_id.as_str());
    assert_eq!(id["oid"], access["oid"]);
    assert_eq!(id["preferred_username"], upn.as_str());
    assert_eq!(id["name"], "Hybrid Identity Admin");
    assert_eq!(id["ver"], "2.0");
    assert!(id["iat"].as_i64().unwrap() <= id["exp"].as_i64().unwrap() - 3000);
    // Pairwise: not the object id, and not the access token's subject.
    assert_ne!(id["sub"], id["oid"]);

    // Signed with the tenant's published key, as a client verifies it.
    let jwks = get_json(&sb, &format!("{}/discovery/v2.0/keys", sb.authority())).await;
    let key = &jwks["keys"][0];
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[GRAPH_CLI]);
    jsonwebtoken::decode::<Value>(id_token, &decoding, &validation)
        .expect("the ID token verifies with the tenant's key");

    let info: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(body["client_info"].as_str().expect("client_info"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info, json!({ "uid": access["oid"], "utid": sb.tenant_id }));
    assert!(
        body["refresh_token"].as_str().is_some_and(|t| t.len() > 40),
        "{body}"
    );
}

#[tokio::test]
async fn without_openid_scopes_there_is_only_an_access_token() {
    let sb = start().await;
    let user = sb.user("hybrid.admin").unwrap();
    let (status, body) = password_grant(
        &sb,
        &user.upn,
        &user.password,
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for absent in ["id_token", "refresh_token", "client_info"] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    // `openid` alone: an ID token without the profile's claims, and no refresh token.
    let body = msal_style_password_grant(&sb, "hybrid.admin", "User.Read openid").await;
    let id = claims(body["id_token"].as_str().unwrap());
    assert!(id.get("preferred_username").is_none(), "{id}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn a_refresh_token_renews_for_its_own_client_and_rotates() {
    let sb = start().await;
    let first = msal_style_password_grant(&sb, "hybrid.admin", OIDC_GRAPH_SCOPE).await;
    let refresh_token = first["refresh_token"].as_str().unwrap();

    let (status, renewed) = refresh(&sb, GRAPH_CLI, refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let renewed_token = renewed["refresh_token"]
        .as_str()
        .expect("a new refresh token");
    assert_ne!(renewed_token, refresh_token, "refresh tokens rotate");
    let access = claims(renewed["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], sb.user("hybrid.admin").unwrap().upn.as_str());
    assert_eq!(access["scp"], "User.Read");
    assert!(renewed["id_token"].is_string(), "{renewed}");

    // Not resource-bound: the same refresh token serves another consented
    // resource (the sync service) for the same client.
    let (status, other) = token_request(
        &sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", GRAPH_CLI),
            ("refresh_token", renewed_token),
            (
                "scope",
                &format!("{SYNC_APP_ID}/user_impersonation offline_access"),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    assert_eq!(
        claims(other["access_token"].as_str().unwrap())["aud"],
        SYNC_APP_ID
    );

    // Another client may not use it.
    let (status, body) = refresh(&sb, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", renewed_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_grant"), 70000)
    );

    // What this tenant never issued.
    let (status, body) = refresh(&sb, GRAPH_CLI, "1.not-a-refresh-token").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 9002313);
}

/// Signs `upn` in with `password` as MSAL would; the refresh token.
async fn refresh_token_of(sb: &SandboxHandle, upn: &str, password: &str) -> String {
    let (status, signed_in) = token_request(
        sb,
        &[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", upn),
            ("password", password),
            ("scope", OIDC_GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    signed_in["refresh_token"].as_str().unwrap().to_string()
}

/// Asserts that `refresh_token` no longer renews: AADSTS50173.
async fn assert_revoked(sb: &SandboxHandle, refresh_token: &str, why: &str) {
    let (status, body) = refresh(sb, GRAPH_CLI, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_grant"), 50173),
        "{why}"
    );
}

#[tokio::test]
async fn a_session_ends_with_a_new_password_a_revocation_or_the_user() {
    let sb = start().await;
    // A user the test creates, so that what it does touches no seeded account.
    let admin = user_token(&sb, "user.admin").await;
    let upn = format!("leaver@{}", sb.tenant_domain);
    let (status, created) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(json!({
            "accountEnabled": true, "displayName": "Leaver", "mailNickname": "leaver",
            "userPrincipalName": upn,
            "passwordProfile": { "password": "Sandbox-Pass-1", "forceChangePasswordNextSignIn": false },
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/users/{}", created["id"].as_str().unwrap());

    let first = refresh_token_of(&sb, &upn, "Sandbox-Pass-1").await;
    let (status, body) = refresh(&sb, GRAPH_CLI, &first).await;
    assert_eq!(status, StatusCode::OK, "the session stands: {body}");
    // An administrator sets a new password.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({ "passwordProfile": { "password": "Sandbox-Pass-2", "forceChangePasswordNextSignIn": false } })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_revoked(&sb, &first, "after a new password").await;

    // The user revokes their own sessions.
    let second = refresh_token_of(&sb, &upn, "Sandbox-Pass-2").await;
    let (status, own) = password_grant(&sb, &upn, "Sandbox-Pass-2", GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let own = own["access_token"].as_str().unwrap();
    let (status, body) = graph(&sb, own, Method::POST, "/me/revokeSignInSessions", None).await;
    assert_eq!(
        (status, &body["value"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    assert_revoked(&sb, &second, "after revokeSignInSessions").await;
    let (_, user) = graph(&sb, &admin, Method::GET, &path, None).await;
    assert!(
        user["signInSessionsValidFromDateTime"].is_string(),
        "{user}"
    );

    // Someone else's sessions need a role that may update users.
    let third = refresh_token_of(&sb, &upn, "Sandbox-Pass-2").await;
    let plain = user_token(&sb, "plain.user").await;
    let revoke = format!("{path}/revokeSignInSessions");
    let (status, body) = graph(&sb, &plain, Method::POST, &revoke, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = refresh(&sb, GRAPH_CLI, &third).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a refused revocation revokes nothing"
    );

    let (status, body) = graph(&sb, &admin, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_revoked(&sb, &third, "after the user is deleted").await;
}

#[tokio::test]
async fn organizations_and_common_serve_user_sign_ins_but_not_client_credentials() {
    let sb = start().await;
    let user = sb.user("hybrid.admin").unwrap();
    for authority in ["organizations", "common"] {
        let endpoint = format!("{}/{authority}/oauth2/v2.0/token", sb.authority_host);
        let (status, body) = post_form(
            &endpoint,
            &[
                ("grant_type", "password"),
                ("client_id", GRAPH_CLI),
                ("username", &user.upn),
                ("password", &user.password),
                ("scope", OIDC_GRAPH_SCOPE),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{authority}: {body}");
        // The user's own tenant issues the tokens.
        let id = claims(body["id_token"].as_str().unwrap());
        assert_eq!(id["iss"], format!("{}/v2.0", sb.authority()), "{authority}");

        let (status, code) = post_form(
            &format!("{}/{authority}/oauth2/v2.0/devicecode", sb.authority_host),
            &[("client_id", GRAPH_CLI), ("scope", OIDC_GRAPH_SCOPE)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{authority}: {code}");

        let discovery = get_json(
            &sb,
            &format!(
                "{}/{authority}/v2.0/.well-known/openid-configuration",
                sb.authority_host
            ),
        )
        .await;
        assert_eq!(
            discovery["issuer"],
            format!("{}/{{tenantid}}/v2.0", sb.authority_host)
        );
        assert_eq!(discovery["token_endpoint"], endpoint);

        // Client credentials name no tenant there: AADSTS50059.
        let cert = TestCert::new();
        let app = register_app(&sb, &cert).await;
        let (status, body) = post_form(
            &endpoint,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &cert.assertion(&sb, &app.app_id)),
                ("scope", SYNC_SCOPE),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(aadsts(&body), 50059, "{authority}");
    }
    // A tenant's own single-tenant client is refused there: AADSTS50194.
    let admin = user_token(&sb, "global.admin").await;
    let (status, app) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "Own console client" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let (status, body) = post_form(
        &format!("{}/common/oauth2/v2.0/devicecode", sb.authority_host),
        &[
            ("client_id", app["appId"].as_str().unwrap()),
            ("scope", OIDC_GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 50194);
}

#[tokio::test]
async fn the_graph_host_itself_names_graph_as_a_resource() {
    let sb = start().await;
    let user = sb.user("hybrid.admin").unwrap();
    // How a client derives Graph's scope from the URL it calls, in any
    // cloud: its scheme and host name, without the port.
    let host = sb.authority_host.rsplit_once(':').unwrap().0.to_string();
    let (status, body) =
        password_grant(&sb, &user.upn, &user.password, &format!("{host}/.default")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["aud"], host.as_str());
    let (status, me) = graph(&sb, token, Method::GET, "/me", None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "Graph accepts its host as audience: {me}"
    );
    assert_eq!(me["userPrincipalName"], user.upn.as_str());

    // With a port it names no resource, as in Entra; nor does another host.
    for other in [sb.authority_host.clone(), "http://192.0.2.1".to_string()] {
        let scope = format!("{other}/.default");
        let (status, body) = password_grant(&sb, &user.upn, &user.password, &scope).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{scope}: {body}");
        assert_eq!(aadsts(&body), 500011);
    }
}

#[tokio::test]
async fn discovery_lists_what_entra_lists() {
    let sb = start().await;
    let discovery = get_json(
        &sb,
        &format!("{}/v2.0/.well-known/openid-configuration", sb.authority()),
    )
    .await;
    assert_eq!(
        discovery["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ])
    );
    assert_eq!(discovery["issuer"], format!("{}/v2.0", sb.authority()));
    // Entra's document has no grant list.
    assert!(
        discovery.get("grant_types_supported").is_none(),
        "{discovery}"
    );

    // Home realm discovery, which MSAL asks before a password grant.
    let realm = get_json(
        &sb,
        &format!(
            "{}/common/userrealm/{}?api-version=1.0",
            sb.authority_host,
            sb.user("hybrid.admin").unwrap().upn
        ),
    )
    .await;
    assert_eq!(realm["account_type"], "Managed", "{realm}");
}
