//! Graph's request rules for resource bodies, from the documented
//! properties of each resource type: `@odata.*` annotations are ignored at
//! every level (Microsoft's SDKs write `@odata.type` into every object), a
//! property the type does not declare is refused, and every declared
//! property is accepted, stored and returned. One table per type lists its
//! documented properties and what the sandbox does with each: models it
//! (the handler's typed body reads it), computes it (read-only: ignored in
//! writes), or keeps it as the JSON it was sent and echoes it back.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/resources/application, serviceprincipal, user (v1.0 properties)
//! - graph/api/resources/keycredential, passwordcredential,
//!   requiredresourceaccess, resourceaccess, apiapplication, permissionscope,
//!   preauthorizedapplication, webapplication, implicitgrantsettings,
//!   spaapplication, publicclientapplication, approle, optionalclaims,
//!   optionalclaim, informationalurl, parentalcontrolsettings, addin,
//!   keyvalue, verifiedpublisher, passwordprofile, samlsinglesignonsettings
//! - graph/errors (400 Request_BadRequest for an undeclared property in a
//!   body; 400 Request_UnsupportedQuery for one in `$select`)

use crate::errors::GraphError;
use axum::http::StatusCode;
use serde_json::{Map, Value};

/// What a property holds, as far as checking and defaults go.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// A primitive (or a stream): returned as null until set.
    Scalar,
    /// A collection of primitives: returned as `[]` until set.
    Scalars,
    /// A complex type the sandbox does not check inside (annotations are
    /// still stripped from it).
    Opaque,
    /// A collection of a complex type the sandbox does not check inside.
    Opaques,
    Object(&'static ComplexType),
    Objects(&'static ComplexType),
}

/// What the sandbox does with a property of a resource sent in a write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// The sandbox models it: the handler's typed body reads it.
    Modelled,
    /// Read-only or derived by the sandbox: ignored in writes.
    Computed,
    /// Kept as the JSON sent, and returned as it was.
    Kept,
}

#[derive(Clone, Copy)]
pub(crate) struct Property {
    pub name: &'static str,
    pub shape: Shape,
    pub stored: Stored,
}

pub(crate) struct ComplexType {
    /// The type's name as Graph's messages give it (`application`, `keyCredential`).
    pub name: &'static str,
    pub properties: &'static [Property],
}

pub(crate) const fn modelled(name: &'static str, shape: Shape) -> Property {
    Property {
        name,
        shape,
        stored: Stored::Modelled,
    }
}

pub(crate) const fn computed(name: &'static str, shape: Shape) -> Property {
    Property {
        name,
        shape,
        stored: Stored::Computed,
    }
}

pub(crate) const fn kept(name: &'static str, shape: Shape) -> Property {
    Property {
        name,
        shape,
        stored: Stored::Kept,
    }
}

use Shape::{Object, Objects, Opaque, Opaques, Scalar, Scalars};

/// Nested types are stored whole with their parent: every property is "kept".
const fn nested(name: &'static str, properties: &'static [Property]) -> ComplexType {
    ComplexType { name, properties }
}

pub(crate) const KEY_CREDENTIAL: ComplexType = nested(
    "keyCredential",
    &[
        kept("customKeyIdentifier", Scalar),
        kept("displayName", Scalar),
        kept("endDateTime", Scalar),
        kept("key", Scalar),
        kept("keyId", Scalar),
        kept("startDateTime", Scalar),
        kept("type", Scalar),
        kept("usage", Scalar),
    ],
);

const PASSWORD_CREDENTIAL: ComplexType = nested(
    "passwordCredential",
    &[
        kept("customKeyIdentifier", Scalar),
        kept("displayName", Scalar),
        kept("endDateTime", Scalar),
        kept("hint", Scalar),
        kept("keyId", Scalar),
        kept("secretText", Scalar),
        kept("startDateTime", Scalar),
    ],
);

const RESOURCE_ACCESS: ComplexType = nested(
    "resourceAccess",
    &[kept("id", Scalar), kept("type", Scalar)],
);

const REQUIRED_RESOURCE_ACCESS: ComplexType = nested(
    "requiredResourceAccess",
    &[
        kept("resourceAppId", Scalar),
        kept("resourceAccess", Objects(&RESOURCE_ACCESS)),
    ],
);

const PERMISSION_SCOPE: ComplexType = nested(
    "permissionScope",
    &[
        kept("adminConsentDescription", Scalar),
        kept("adminConsentDisplayName", Scalar),
        kept("id", Scalar),
        kept("isEnabled", Scalar),
        kept("origin", Scalar),
        kept("type", Scalar),
        kept("userConsentDescription", Scalar),
        kept("userConsentDisplayName", Scalar),
        kept("value", Scalar),
    ],
);

const PRE_AUTHORIZED_APPLICATION: ComplexType = nested(
    "preAuthorizedApplication",
    &[
        kept("appId", Scalar),
        kept("delegatedPermissionIds", Scalars),
    ],
);

const API_APPLICATION: ComplexType = nested(
    "apiApplication",
    &[
        kept("acceptMappedClaims", Scalar),
        kept("knownClientApplications", Scalars),
        kept("oauth2PermissionScopes", Objects(&PERMISSION_SCOPE)),
        kept(
            "preAuthorizedApplications",
            Objects(&PRE_AUTHORIZED_APPLICATION),
        ),
        kept("requestedAccessTokenVersion", Scalar),
    ],
);

const IMPLICIT_GRANT_SETTINGS: ComplexType = nested(
    "implicitGrantSettings",
    &[
        kept("enableAccessTokenIssuance", Scalar),
        kept("enableIdTokenIssuance", Scalar),
    ],
);

const REDIRECT_URI_SETTINGS: ComplexType = nested(
    "redirectUriSettings",
    &[kept("uri", Scalar), kept("index", Scalar)],
);

const WEB_APPLICATION: ComplexType = nested(
    "webApplication",
    &[
        kept("homePageUrl", Scalar),
        kept("implicitGrantSettings", Object(&IMPLICIT_GRANT_SETTINGS)),
        kept("logoutUrl", Scalar),
        kept("redirectUris", Scalars),
        kept("redirectUriSettings", Objects(&REDIRECT_URI_SETTINGS)),
    ],
);

const SPA_APPLICATION: ComplexType = nested("spaApplication", &[kept("redirectUris", Scalars)]);

const PUBLIC_CLIENT_APPLICATION: ComplexType =
    nested("publicClientApplication", &[kept("redirectUris", Scalars)]);

const APP_ROLE: ComplexType = nested(
    "appRole",
    &[
        kept("allowedMemberTypes", Scalars),
        kept("description", Scalar),
        kept("displayName", Scalar),
        kept("id", Scalar),
        kept("isEnabled", Scalar),
        kept("origin", Scalar),
        kept("value", Scalar),
    ],
);

const OPTIONAL_CLAIM: ComplexType = nested(
    "optionalClaim",
    &[
        kept("additionalProperties", Scalars),
        kept("essential", Scalar),
        kept("name", Scalar),
        kept("source", Scalar),
    ],
);

const OPTIONAL_CLAIMS: ComplexType = nested(
    "optionalClaims",
    &[
        kept("accessToken", Objects(&OPTIONAL_CLAIM)),
        kept("idToken", Objects(&OPTIONAL_CLAIM)),
        kept("saml2Token", Objects(&OPTIONAL_CLAIM)),
    ],
);

const INFORMATIONAL_URL: ComplexType = nested(
    "informationalUrl",
    &[
        kept("logoUrl", Scalar),
        kept("marketingUrl", Scalar),
        kept("privacyStatementUrl", Scalar),
        kept("supportUrl", Scalar),
        kept("termsOfServiceUrl", Scalar),
    ],
);

const PARENTAL_CONTROL_SETTINGS: ComplexType = nested(
    "parentalControlSettings",
    &[
        kept("countriesBlockedForMinors", Scalars),
        kept("legalAgeGroupRule", Scalar),
    ],
);

const KEY_VALUE: ComplexType = nested("keyValue", &[kept("key", Scalar), kept("value", Scalar)]);

const ADD_IN: ComplexType = nested(
    "addIn",
    &[
        kept("id", Scalar),
        kept("properties", Objects(&KEY_VALUE)),
        kept("type", Scalar),
    ],
);

const VERIFIED_PUBLISHER: ComplexType = nested(
    "verifiedPublisher",
    &[
        kept("addedDateTime", Scalar),
        kept("displayName", Scalar),
        kept("verifiedPublisherId", Scalar),
    ],
);

const PASSWORD_PROFILE: ComplexType = nested(
    "passwordProfile",
    &[
        kept("forceChangePasswordNextSignIn", Scalar),
        kept("forceChangePasswordNextSignInWithMfa", Scalar),
        kept("password", Scalar),
    ],
);

const SAML_SINGLE_SIGN_ON_SETTINGS: ComplexType =
    nested("samlSingleSignOnSettings", &[kept("relayState", Scalar)]);

/// The properties every directory object has.
const ID: Property = computed("id", Scalar);
const DELETED: Property = computed("deletedDateTime", Scalar);

pub(crate) const APPLICATION: ComplexType = ComplexType {
    name: "application",
    properties: &[
        kept("addIns", Objects(&ADD_IN)),
        kept("api", Object(&API_APPLICATION)),
        computed("appId", Scalar),
        kept("applicationTemplateId", Scalar),
        kept("appRoles", Objects(&APP_ROLE)),
        kept("authenticationBehaviors", Opaque),
        kept("certification", Opaque),
        computed("createdDateTime", Scalar),
        kept("defaultRedirectUri", Scalar),
        DELETED,
        kept("description", Scalar),
        computed("disabledByMicrosoftStatus", Scalar),
        modelled("displayName", Scalar),
        kept("groupMembershipClaims", Scalar),
        ID,
        kept("identifierUris", Scalars),
        kept("info", Object(&INFORMATIONAL_URL)),
        kept("isDeviceOnlyAuthSupported", Scalar),
        kept("isFallbackPublicClient", Scalar),
        modelled("keyCredentials", Objects(&KEY_CREDENTIAL)),
        kept("logo", Scalar),
        kept("nativeAuthenticationApisEnabled", Scalar),
        kept("notes", Scalar),
        kept("oauth2RequirePostResponse", Scalar),
        kept("optionalClaims", Object(&OPTIONAL_CLAIMS)),
        kept(
            "parentalControlSettings",
            Object(&PARENTAL_CONTROL_SETTINGS),
        ),
        modelled("passwordCredentials", Objects(&PASSWORD_CREDENTIAL)),
        kept("publicClient", Object(&PUBLIC_CLIENT_APPLICATION)),
        computed("publisherDomain", Scalar),
        kept("requestSignatureVerification", Opaque),
        modelled("requiredResourceAccess", Objects(&REQUIRED_RESOURCE_ACCESS)),
        computed("samlMetadataUrl", Scalar),
        kept("serviceManagementReference", Scalar),
        kept("servicePrincipalLockConfiguration", Opaque),
        modelled("signInAudience", Scalar),
        kept("spa", Object(&SPA_APPLICATION)),
        kept("tags", Scalars),
        kept("tokenEncryptionKeyId", Scalar),
        modelled("uniqueName", Scalar),
        computed("verifiedPublisher", Object(&VERIFIED_PUBLISHER)),
        kept("web", Object(&WEB_APPLICATION)),
    ],
};

pub(crate) const SERVICE_PRINCIPAL: ComplexType = ComplexType {
    name: "servicePrincipal",
    properties: &[
        kept("accountEnabled", Scalar),
        kept("addIns", Objects(&ADD_IN)),
        kept("alternativeNames", Scalars),
        kept("appDescription", Scalar),
        computed("appDisplayName", Scalar),
        modelled("appId", Scalar),
        kept("applicationTemplateId", Scalar),
        computed("appOwnerOrganizationId", Scalar),
        kept("appRoleAssignmentRequired", Scalar),
        // Copied from the application (its own, or Microsoft's for a
        // first-party resource): derived, not written here.
        computed("appRoles", Objects(&APP_ROLE)),
        computed("createdDateTime", Scalar),
        kept("customSecurityAttributes", Opaque),
        DELETED,
        kept("description", Scalar),
        computed("disabledByMicrosoftStatus", Scalar),
        modelled("displayName", Scalar),
        kept("homepage", Scalar),
        ID,
        kept("info", Object(&INFORMATIONAL_URL)),
        kept("keyCredentials", Objects(&KEY_CREDENTIAL)),
        kept("loginUrl", Scalar),
        kept("logoutUrl", Scalar),
        kept("notes", Scalar),
        kept("notificationEmailAddresses", Scalars),
        computed("oauth2PermissionScopes", Objects(&PERMISSION_SCOPE)),
        kept("passwordCredentials", Objects(&PASSWORD_CREDENTIAL)),
        kept("preferredSingleSignOnMode", Scalar),
        kept("preferredTokenSigningKeyThumbprint", Scalar),
        kept("replyUrls", Scalars),
        computed("resourceSpecificApplicationPermissions", Opaques),
        kept(
            "samlSingleSignOnSettings",
            Object(&SAML_SINGLE_SIGN_ON_SETTINGS),
        ),
        computed("servicePrincipalNames", Scalars),
        computed("servicePrincipalType", Scalar),
        computed("signInAudience", Scalar),
        kept("tags", Scalars),
        kept("tokenEncryptionKeyId", Scalar),
        computed("verifiedPublisher", Object(&VERIFIED_PUBLISHER)),
    ],
};

pub(crate) const USER: ComplexType = ComplexType {
    name: "user",
    properties: &[
        kept("aboutMe", Scalar),
        modelled("accountEnabled", Scalar),
        kept("ageGroup", Scalar),
        computed("assignedLicenses", Opaques),
        computed("assignedPlans", Opaques),
        computed("authorizationInfo", Opaque),
        kept("birthday", Scalar),
        kept("businessPhones", Scalars),
        kept("city", Scalar),
        kept("companyName", Scalar),
        kept("consentProvidedForMinor", Scalar),
        kept("country", Scalar),
        computed("createdDateTime", Scalar),
        computed("creationType", Scalar),
        kept("customSecurityAttributes", Opaque),
        DELETED,
        kept("department", Scalar),
        modelled("displayName", Scalar),
        kept("employeeHireDate", Scalar),
        kept("employeeId", Scalar),
        kept("employeeLeaveDateTime", Scalar),
        kept("employeeOrgData", Opaque),
        kept("employeeType", Scalar),
        computed("externalUserState", Scalar),
        computed("externalUserStateChangeDateTime", Scalar),
        kept("faxNumber", Scalar),
        kept("givenName", Scalar),
        kept("hireDate", Scalar),
        ID,
        kept("identities", Opaques),
        computed("imAddresses", Scalars),
        kept("interests", Scalars),
        computed("isManagementRestricted", Scalar),
        computed("isResourceAccount", Scalar),
        kept("jobTitle", Scalar),
        computed("lastPasswordChangeDateTime", Scalar),
        computed("legalAgeGroupClassification", Scalar),
        computed("licenseAssignmentStates", Opaques),
        kept("mail", Scalar),
        kept("mailboxSettings", Opaque),
        modelled("mailNickname", Scalar),
        kept("mobilePhone", Scalar),
        kept("mySite", Scalar),
        kept("officeLocation", Scalar),
        computed("onPremisesDistinguishedName", Scalar),
        computed("onPremisesDomainName", Scalar),
        kept("onPremisesExtensionAttributes", Opaque),
        kept("onPremisesImmutableId", Scalar),
        computed("onPremisesLastSyncDateTime", Scalar),
        computed("onPremisesProvisioningErrors", Opaques),
        computed("onPremisesSamAccountName", Scalar),
        computed("onPremisesSecurityIdentifier", Scalar),
        computed("onPremisesSyncEnabled", Scalar),
        computed("onPremisesUserPrincipalName", Scalar),
        kept("otherMails", Scalars),
        kept("passwordPolicies", Scalar),
        modelled("passwordProfile", Object(&PASSWORD_PROFILE)),
        kept("pastProjects", Scalars),
        kept("postalCode", Scalar),
        kept("preferredDataLocation", Scalar),
        kept("preferredLanguage", Scalar),
        kept("preferredName", Scalar),
        computed("provisionedPlans", Opaques),
        computed("proxyAddresses", Scalars),
        kept("responsibilities", Scalars),
        kept("schools", Scalars),
        computed("securityIdentifier", Scalar),
        computed("serviceProvisioningErrors", Opaques),
        kept("showInAddressList", Scalar),
        computed("signInActivity", Opaque),
        computed("signInSessionsValidFromDateTime", Scalar),
        kept("skills", Scalars),
        kept("state", Scalar),
        kept("streetAddress", Scalar),
        kept("surname", Scalar),
        kept("usageLocation", Scalar),
        modelled("userPrincipalName", Scalar),
        kept("userType", Scalar),
    ],
};

/// A resource body as Graph reads it: annotations gone, every property declared.
pub(crate) struct ResourceBody {
    /// The properties the sandbox models, for the handler's typed body.
    pub modelled: Value,
    /// The properties kept as sent, to store with the object.
    pub kept: Map<String, Value>,
}

impl ResourceBody {
    /// The modelled properties as the handler's typed body.
    pub(crate) fn typed<T: serde::de::DeserializeOwned>(&self) -> Result<T, GraphError> {
        serde_json::from_value(self.modelled.clone()).map_err(|e| {
            GraphError::bad_request(format!(
                "The request body is not valid JSON for this operation: {e}"
            ))
        })
    }
}

/// Reads a JSON request body for a resource of type `resource`.
pub(crate) fn read_body(bytes: &[u8], resource: &ComplexType) -> Result<ResourceBody, GraphError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        GraphError::bad_request(format!(
            "The request body is not valid JSON for this operation: {e}"
        ))
    })?;
    let Value::Object(object) = checked(value, resource)? else {
        return Err(GraphError::bad_request(format!(
            "The request body must be a JSON object of type '{}'.",
            resource.name
        )));
    };
    let mut modelled = Map::new();
    let mut kept = Map::new();
    for (name, value) in object {
        match declared(resource, &name).map(|p| p.stored) {
            Some(Stored::Modelled) => {
                modelled.insert(name, value);
            }
            Some(Stored::Kept) => {
                kept.insert(name, value);
            }
            Some(Stored::Computed) | None => {}
        }
    }
    Ok(ResourceBody {
        modelled: Value::Object(modelled),
        kept,
    })
}

fn declared<'t>(resource: &'t ComplexType, name: &str) -> Option<&'t Property> {
    resource.properties.iter().find(|p| p.name == name)
}

/// An instance annotation (`@odata.type`) or a property annotation
/// (`keyCredentials@odata.type`): Graph ignores both in a request.
fn is_annotation(name: &str) -> bool {
    name.contains('@')
}

fn undeclared(name: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Property '{name}' does not exist as a declared property or extension property."
    ))
}

fn invalid(name: &str, resource: &ComplexType) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{name}' of resource '{}'.",
        resource.name
    ))
}

/// `value` as an instance of `resource`: annotations stripped, every
/// property declared, nested types checked the same way. A null stays null.
fn checked(value: Value, resource: &ComplexType) -> Result<Value, GraphError> {
    let object = match value {
        Value::Null => return Ok(Value::Null),
        Value::Object(object) => object,
        _ => return Err(invalid(resource.name, resource)),
    };
    let mut clean = Map::new();
    for (name, value) in object {
        if is_annotation(&name) {
            continue;
        }
        let property = declared(resource, &name).ok_or_else(|| undeclared(&name))?;
        let value = match (property.shape, value) {
            (Object(inner), value) => checked(value, inner)?,
            (Objects(inner), Value::Array(items)) => Value::Array(
                items
                    .into_iter()
                    .map(|item| checked(item, inner))
                    .collect::<Result<_, _>>()?,
            ),
            (Scalars | Opaques, value @ Value::Array(_)) => without_annotations(value),
            (Objects(_) | Scalars | Opaques, Value::Null) => Value::Null,
            (Objects(_) | Scalars | Opaques, _) => return Err(invalid(&name, resource)),
            (Scalar | Opaque, value) => without_annotations(value),
        };
        clean.insert(name, value);
    }
    Ok(Value::Object(clean))
}

/// `value` with every annotation removed, at every level.
fn without_annotations(value: Value) -> Value {
    match value {
        Value::Object(object) => object
            .into_iter()
            .filter(|(name, _)| !is_annotation(name))
            .map(|(name, value)| (name, without_annotations(value)))
            .collect::<Map<_, _>>()
            .into(),
        Value::Array(items) => items.into_iter().map(without_annotations).collect(),
        other => other,
    }
}

/// An object of type `resource` as Graph returns it: every declared property
/// (null or `[]` until set), then what the sandbox models, then what was kept.
pub(crate) fn render(resource: &ComplexType, modelled: Value, kept: &Map<String, Value>) -> Value {
    let mut object: Map<String, Value> = resource
        .properties
        .iter()
        .map(|p| {
            let default = match p.shape {
                Scalars | Objects(_) | Opaques => Value::Array(Vec::new()),
                Scalar | Opaque | Object(_) => Value::Null,
            };
            (p.name.to_string(), default)
        })
        .collect();
    if let Value::Object(modelled) = modelled {
        object.extend(modelled);
    }
    object.extend(kept.iter().map(|(k, v)| (k.clone(), v.clone())));
    Value::Object(object)
}

/// Refuses a `$select` naming a property `resource` does not declare, as Graph does.
pub(crate) fn check_select(
    resource: &ComplexType,
    selected: Option<&[String]>,
) -> Result<(), GraphError> {
    for name in selected.unwrap_or_default() {
        if !resource
            .properties
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
        {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!(
                    "Property '{name}' does not exist as a declared property or extension property."
                ),
            ));
        }
    }
    Ok(())
}

/// Merges a PATCH's kept properties into an object's: a property sent
/// replaces the stored one (Graph replaces complex values whole).
pub(crate) fn merge(stored: &mut Map<String, Value>, sent: Map<String, Value>) {
    stored.extend(sent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotations_go_at_every_level_and_undeclared_properties_are_refused() {
        let body = json!({
            "@odata.type": "#microsoft.graph.application",
            "displayName": "x",
            "keyCredentials@odata.type": "#Collection(microsoft.graph.keyCredential)",
            "keyCredentials": [{"@odata.type": "#microsoft.graph.keyCredential", "type": "AsymmetricX509Cert"}],
            "web": {"@odata.type": "#microsoft.graph.webApplication", "redirectUris": ["https://a"],
                    "implicitGrantSettings": {"@odata.type": "#microsoft.graph.implicitGrantSettings"}},
            "tags": ["t"],
        });
        let read = read_body(body.to_string().as_bytes(), &APPLICATION).unwrap();
        assert_eq!(
            read.modelled,
            json!({"displayName": "x", "keyCredentials": [{"type": "AsymmetricX509Cert"}]})
        );
        assert_eq!(
            Value::Object(read.kept),
            json!({"web": {"redirectUris": ["https://a"], "implicitGrantSettings": {}}, "tags": ["t"]})
        );
        for body in [
            json!({"foo": 1}),
            json!({"web": {"foo": 1}}),
            json!({"requiredResourceAccess": [{"resourceAccess": [{"foo": 1}]}]}),
        ] {
            let error = read_body(body.to_string().as_bytes(), &APPLICATION)
                .err()
                .unwrap();
            assert_eq!(error.code, "Request_BadRequest");
            assert_eq!(
                error.message,
                "Property 'foo' does not exist as a declared property or extension property."
            );
        }
    }

    #[test]
    fn read_only_properties_are_ignored_in_writes_and_render_fills_defaults() {
        let body = json!({"id": "x", "appId": "y", "notes": "n"});
        let read = read_body(body.to_string().as_bytes(), &APPLICATION).unwrap();
        assert_eq!(read.modelled, json!({}));
        let rendered = render(&APPLICATION, json!({"id": "1"}), &read.kept);
        assert_eq!(rendered["id"], "1");
        assert_eq!(rendered["notes"], "n");
        assert_eq!(rendered["identifierUris"], json!([]));
        assert_eq!(rendered["web"], Value::Null);
    }
}
