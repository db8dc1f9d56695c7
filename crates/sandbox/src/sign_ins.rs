//! Sign-ins in progress, as the directory holds them (not saved: they end
//! with the sandbox that started them): browser sign-ins waiting at the
//! sign-in page, the authorization codes issued, and second-factor steps
//! waiting for an answer. `login.rs` and `authorize.rs` move them along.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a second-factor step waits for its answer.
const MFA_LIFETIME: Duration = Duration::from_secs(300);

/// Sign-ins in progress; they end with the sandbox that started them.
#[derive(Default)]
pub(crate) struct SignIns {
    /// Browser sign-ins waiting at the sign-in page, by their flow id.
    pub requests: HashMap<String, AuthorizationRequest>,
    /// Authorization codes issued, by value (kept a while after they
    /// expire or are redeemed, so that a late or second use is named as such).
    pub codes: HashMap<String, AuthorizationCode>,
    /// Second-factor steps waiting for an answer, by their token.
    challenges: HashMap<String, MfaChallenge>,
}

/// A password accepted, waiting for the user's second factor.
struct MfaChallenge {
    user_id: String,
    /// The sign-in it belongs to (a device code's user code, a browser
    /// sign-in's flow id): the answer counts for that one only.
    flow: String,
    expires_at: Instant,
}

impl SignIns {
    /// Starts the second-factor step of `user_id`'s sign-in to `flow`: the
    /// token the step's form carries.
    pub(crate) fn challenge(&mut self, user_id: &str, flow: &str, instant: Instant) -> String {
        self.challenges.retain(|_, c| c.expires_at > instant);
        let token = random_token();
        self.challenges.insert(
            token.clone(),
            MfaChallenge {
                user_id: user_id.to_string(),
                flow: flow.to_string(),
                expires_at: instant + MFA_LIFETIME,
            },
        );
        token
    }

    /// The user whose step `token` is, for `flow`, unless it has expired;
    /// the step is over either way.
    pub(crate) fn answer(&mut self, token: &str, flow: &str, instant: Instant) -> Option<String> {
        self.challenges
            .remove(token)
            .filter(|c| c.flow == flow && instant < c.expires_at)
            .map(|c| c.user_id)
    }
}

/// A hard-to-guess value for a flow id, a second-factor step or a code.
pub(crate) fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// An authorization request whose client and redirect URI are known.
pub(crate) struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 challenge (a public client must send one).
    pub code_challenge: Option<String>,
    pub login_hint: Option<String>,
    pub expires_at: Instant,
}

/// A code issued to a client for a user, from one authorization request.
pub(crate) struct AuthorizationCode {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub expires_at: Instant,
    pub redeemed: bool,
}
