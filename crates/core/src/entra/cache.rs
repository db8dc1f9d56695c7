//! Tokens kept in memory for the run, per (authority, client, scope), and
//! reused until five minutes before they expire; and a user's refresh token
//! per (authority, client and user), which renews the sign-in for other
//! scopes without a prompt: a wizard session signs its administrator in
//! once. Never written anywhere; dropped with the cache.

use super::Secret;
use super::oauth::AccessToken;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub authority: String,
    pub client_id: String,
    pub scope: String,
}

#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<CacheKey, AccessToken>>,
    /// By (authority, client id: for a user, the client and the user).
    refresh_tokens: Mutex<HashMap<(String, String), Secret>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache([redacted])")
    }
}

/// The map behind `mutex`; a panic elsewhere while it was held leaves it
/// usable (it holds only tokens, each whole).
fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TokenCache {
    /// A cached token with more than five minutes left, if any.
    pub fn get(&self, key: &CacheKey) -> Option<AccessToken> {
        let tokens = locked(&self.tokens);
        tokens
            .get(key)
            .filter(|token| token.expires_at > Instant::now() + REFRESH_MARGIN)
            .cloned()
    }

    pub fn forget(&self, key: &CacheKey) {
        let mut tokens = locked(&self.tokens);
        tokens.remove(key);
    }

    /// Keeps `token` for `key`, and its refresh token (if one came) for
    /// `key`'s authority and client.
    pub fn put(&self, key: CacheKey, mut token: AccessToken) {
        if let Some(refresh) = token.refresh.take() {
            let mut refresh_tokens = locked(&self.refresh_tokens);
            refresh_tokens.insert((key.authority.clone(), key.client_id.clone()), refresh);
        }
        let mut tokens = locked(&self.tokens);
        tokens.insert(key, token);
    }

    /// The refresh token of `key`'s authority and client, if one was kept.
    pub fn refresh_token(&self, key: &CacheKey) -> Option<Secret> {
        let refresh_tokens = locked(&self.refresh_tokens);
        refresh_tokens
            .get(&(key.authority.clone(), key.client_id.clone()))
            .cloned()
    }

    /// Drops the refresh token of `key`'s authority and client (refused:
    /// revoked, expired, or not enough for what is asked now).
    pub fn forget_refresh_token(&self, key: &CacheKey) {
        let mut refresh_tokens = locked(&self.refresh_tokens);
        refresh_tokens.remove(&(key.authority.clone(), key.client_id.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entra::Secret;

    fn key() -> CacheKey {
        CacheKey {
            authority: "https://login.example/t".into(),
            client_id: "c".into(),
            scope: "s/.default".into(),
        }
    }

    fn token(lifetime: Duration) -> AccessToken {
        AccessToken {
            secret: Secret::new("tok"),
            expires_at: Instant::now() + lifetime,
            lifetime,
            refresh: None,
        }
    }

    #[test]
    fn reuses_a_token_until_five_minutes_before_expiry() {
        let cache = TokenCache::default();
        assert!(cache.get(&key()).is_none());
        cache.put(key(), token(Duration::from_secs(3600)));
        assert_eq!(
            cache.get(&key()).map(|t| t.secret.expose().to_string()),
            Some("tok".into())
        );
        cache.put(key(), token(Duration::from_secs(299)));
        assert!(cache.get(&key()).is_none());
        let other = CacheKey {
            scope: "other/.default".into(),
            ..key()
        };
        assert!(cache.get(&other).is_none());
    }
}
