//! Tokens kept in memory for the run, per (authority, client, scope), and
//! reused until five minutes before they expire. Never written anywhere.

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
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache([redacted])")
    }
}

impl TokenCache {
    /// A cached token with more than five minutes left, if any.
    pub fn get(&self, key: &CacheKey) -> Option<AccessToken> {
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens
            .get(key)
            .filter(|token| token.expires_at > Instant::now() + REFRESH_MARGIN)
            .cloned()
    }

    pub fn forget(&self, key: &CacheKey) {
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.remove(key);
    }

    pub fn put(&self, key: CacheKey, token: AccessToken) {
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.insert(key, token);
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
