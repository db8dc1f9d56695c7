//! Conditional Access in the sandbox: the tenant-wide policies
//! `sandbox serve --conditional-access POLICY` turns on, and the answers
//! Entra gives when one of them stops a sign-in.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity/conditional-access/concept-authentication-flows and
//!   policy-block-authentication-flows (a policy may block the device code flow)
//! - entra/identity-platform/reference-error-codes (AADSTS53003, AADSTS50076)

use super::SandboxConfig;
use super::directory::{DIRECTORY_SYNCHRONIZATION_ACCOUNTS, Directory, User};
use super::errors::OAuthError;

/// A Conditional Access policy for every user and every application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionalAccess {
    /// An authentication flows policy that blocks the device code flow: a
    /// device code, even once approved, is answered with AADSTS53003.
    BlockDeviceCode,
    /// Multifactor authentication for every user: the password grant gets
    /// AADSTS50076, and the sign-in pages ask for the second factor.
    RequireMfa,
}

impl ConditionalAccess {
    /// Every policy, by the name `--conditional-access` takes.
    pub const ALL: [ConditionalAccess; 2] = [
        ConditionalAccess::BlockDeviceCode,
        ConditionalAccess::RequireMfa,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConditionalAccess::BlockDeviceCode => "block-device-code",
            ConditionalAccess::RequireMfa => "require-mfa",
        }
    }
}

impl std::fmt::Display for ConditionalAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no Conditional Access policy is called {0:?}: choose block-device-code or require-mfa")]
pub struct UnknownPolicy(String);

impl std::str::FromStr for ConditionalAccess {
    type Err = UnknownPolicy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ConditionalAccess::ALL
            .into_iter()
            .find(|policy| policy.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownPolicy(text.to_string()))
    }
}

impl SandboxConfig {
    fn enforces(&self, policy: ConditionalAccess) -> bool {
        self.conditional_access.contains(&policy)
    }

    /// Whether `user` must pass a second factor to sign in: per-user MFA,
    /// or a policy that requires it of every user but the directory
    /// synchronization accounts (Connect cannot do MFA, and the baselines,
    /// Maester's Test-MtCaExclusionForDirectorySyncAccount among them, check
    /// that such policies exclude them).
    pub(crate) fn needs_mfa(&self, directory: &Directory, user: &User) -> bool {
        let sync_account = directory
            .user_roles(&user.id)
            .any(|role| role.template_id == DIRECTORY_SYNCHRONIZATION_ACCOUNTS);
        user.mfa_required || (self.enforces(ConditionalAccess::RequireMfa) && !sync_account)
    }

    /// AADSTS53003 when a policy blocks the device code flow.
    pub(crate) fn admit_device_code(&self) -> Result<(), OAuthError> {
        match self.enforces(ConditionalAccess::BlockDeviceCode) {
            // What Entra answers a sign-in a policy blocks outright: nothing
            // the user can do in this flow ("message_only").
            true => Err(OAuthError::bad_request(
                "interaction_required",
                53003,
                "Access has been blocked by Conditional Access policies: an authentication flows policy of this tenant blocks the device code flow, so no token is issued. Sign in another way or ask your administrator.",
            )
            .with_suberror("message_only")),
            false => Ok(()),
        }
    }
}

/// AADSTS50076: the password grant cannot pass the second factor the user
/// must use for `resource_app_id`.
pub(crate) fn mfa_required(resource_app_id: &str) -> OAuthError {
    OAuthError::bad_request(
        "invalid_grant",
        50076,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource_app_id}'."
        ),
    )
    .with_suberror("basic_action")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_by_name_and_unknown_ones_are_refused() {
        for policy in ConditionalAccess::ALL {
            assert_eq!(
                policy.name().parse::<ConditionalAccess>().ok(),
                Some(policy)
            );
        }
        assert_eq!(
            "Require-MFA".parse::<ConditionalAccess>().ok(),
            Some(ConditionalAccess::RequireMfa)
        );
        assert!("block-everything".parse::<ConditionalAccess>().is_err());
    }
}
