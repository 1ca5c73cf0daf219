//! Issued bearer tokens (JWT-shaped so clients can read `exp`) and basic-auth checks.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

#[derive(Debug, Clone)]
struct IssuedToken {
    subject: String,
    expires_at: i64,
}

/// The set of tokens the emulator currently honours.
#[derive(Debug, Default)]
pub struct TokenBook {
    tokens: HashMap<String, IssuedToken>,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl TokenBook {
    /// Issues `base64url(header).base64url({sub, iat, exp, jti}).base64url(random)`.
    pub fn issue(&mut self, subject: &str, ttl_secs: i64, now_unix: i64) -> Issued {
        let expires_at = now_unix.saturating_add(ttl_secs);
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let payload = json!({
            "iss": "govsync-governance-emulator",
            "sub": subject,
            "iat": now_unix,
            "exp": expires_at,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let signature = [
            uuid::Uuid::new_v4().into_bytes(),
            uuid::Uuid::new_v4().into_bytes(),
        ]
        .concat();
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(signature),
        );
        // Drop long-expired entries so the book does not grow without bound.
        self.tokens.retain(|_, t| t.expires_at > now_unix);
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                subject: subject.to_owned(),
                expires_at,
            },
        );
        Issued {
            token,
            issued_at: now_unix,
            expires_at,
        }
    }

    /// The subject of a token that was issued and has not expired.
    pub fn subject(&self, token: &str, now_unix: i64) -> Option<&str> {
        self.tokens
            .get(token)
            .filter(|t| t.expires_at > now_unix)
            .map(|t| t.subject.as_str())
    }

    pub fn expire_all(&mut self) {
        self.tokens.clear();
    }

    /// Withdraws every token issued to `subject`.
    pub fn revoke_subject(&mut self, subject: &str) {
        self.tokens.retain(|_, token| token.subject != subject);
    }
}

/// The user of a valid `Basic` credential.
pub fn basic_user(header_value: &str, user: &str, password: &str) -> Option<String> {
    let (scheme, encoded) = header_value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (given_user, given_password) = text.split_once(':')?;
    (given_user == user && given_password == password).then(|| given_user.to_owned())
}

/// The token of a `Bearer` credential.
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_carry_a_readable_exp_and_expire() {
        let mut book = TokenBook::default();
        let issued = book.issue("svc", 60, 1000);
        let payload = issued.token.split('.').nth(1).unwrap_or_default();
        let decoded = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
        let claims: serde_json::Value = serde_json::from_slice(&decoded).unwrap_or_default();
        assert_eq!(claims["exp"], 1060);
        assert_eq!(claims["sub"], "svc");
        assert_eq!(book.subject(&issued.token, 1059), Some("svc"));
        assert_eq!(book.subject(&issued.token, 1060), None);
        book.expire_all();
        assert_eq!(book.subject(&issued.token, 1001), None);
    }

    #[test]
    fn basic_and_bearer_headers_are_parsed_strictly() {
        let good = format!("Basic {}", STANDARD.encode("admin:admin"));
        assert_eq!(
            basic_user(&good, "admin", "admin").as_deref(),
            Some("admin")
        );
        assert_eq!(basic_user(&good, "admin", "other"), None);
        assert_eq!(basic_user("Basic !!!", "admin", "admin"), None);
        assert_eq!(basic_user("Bearer abc", "admin", "admin"), None);
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
    }
}
