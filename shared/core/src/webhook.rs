//! Standard-Webhooks signing and verification.
//!
//! govsync signs and verifies governance webhooks the Standard Webhooks way:
//! - `webhook-id`: a unique delivery id (stays the same across retries of one delivery);
//! - `webhook-timestamp`: unix seconds of the attempt;
//! - `webhook-signature`: one or more space-separated `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`
//!   entries; a delivery is accepted if any `v1` entry matches any configured secret (rotation).
//!
//! Secrets: a string `whsec_<base64>` is the base64-decoded key bytes (the Standard Webhooks form);
//! any other string is used as its raw UTF-8 bytes (for tenants that configure a plain shared secret).
//!
//! Pure: no I/O, no clock — the caller passes `now_unix`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Prefix of Standard-Webhooks encoded secrets.
const SECRET_PREFIX: &str = "whsec_";
/// The only signature scheme govsync signs or accepts; other versions in the header are ignored.
const SCHEME_V1: &str = "v1";
const SHA256_LEN: usize = 32;

/// A webhook signing key. `Debug` is redacted so a key never reaches a log line.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
    /// Keyed once at parse time; cloned per message.
    keyed_mac: HmacSha256,
}

impl PartialEq for WebhookSecret {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for WebhookSecret {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    #[error("webhook secret is empty")]
    Empty,
    #[error("webhook secret starts with `whsec_` but the rest is not valid base64")]
    InvalidBase64,
    #[error("webhook secret cannot key HMAC-SHA256")]
    UnusableKey,
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` as decoded bytes; any other non-empty string as its UTF-8 bytes.
    pub fn parse(value: &str) -> Result<Self, WebhookSecretError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(WebhookSecretError::Empty);
        }
        match value.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => {
                let bytes = BASE64
                    .decode(encoded)
                    .map_err(|_| WebhookSecretError::InvalidBase64)?;
                Self::from_bytes(bytes)
            }
            None => Self::from_bytes(value.as_bytes().to_vec()),
        }
    }

    pub fn from_bytes(key: Vec<u8>) -> Result<Self, WebhookSecretError> {
        if key.is_empty() {
            return Err(WebhookSecretError::Empty);
        }
        let keyed_mac =
            HmacSha256::new_from_slice(&key).map_err(|_| WebhookSecretError::UnusableKey)?;
        Ok(Self { key, keyed_mac })
    }
}

impl FromStr for WebhookSecret {
    type Err = WebhookSecretError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The three Standard-Webhooks headers as received (absent headers are `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// What a verified delivery proves: its id (for replay rejection) and signed timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDelivery {
    pub id: String,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    #[error("`webhook-timestamp` is not unix seconds")]
    MalformedTimestamp,
    #[error("`webhook-signature` holds no well-formed `v1,<base64>` signature")]
    MalformedSignature,
    #[error("webhook timestamp is older than the tolerance")]
    StaleTimestamp,
    #[error("webhook timestamp is further in the future than the tolerance")]
    FutureTimestamp,
    #[error("no signature matches any configured secret")]
    NoMatchingSignature,
}

impl SignatureError {
    /// A rejected signature never becomes valid by retrying the same request.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

fn signed_content_mac(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = secret.keyed_mac.clone();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` header value for one delivery attempt: `v1,<base64>`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = signed_content_mac(secret, id, timestamp, body)
        .finalize()
        .into_bytes();
    format!("{SCHEME_V1},{}", BASE64.encode(tag))
}

fn present<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, SignatureError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(SignatureError::MissingHeader(name)),
    }
}

fn parse_timestamp(value: &str) -> Result<i64, SignatureError> {
    // Digits only: rejects signs, spaces and floats that `i64::from_str` or a lax parser might accept.
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    value
        .parse::<i64>()
        .map_err(|_| SignatureError::MalformedTimestamp)
}

/// Decoded `v1` tags from the header; entries with another version are ignored.
fn v1_tags(header: &str) -> Vec<Vec<u8>> {
    header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == SCHEME_V1)
        .filter_map(|(_, encoded)| BASE64.decode(encoded).ok())
        .filter(|tag| tag.len() == SHA256_LEN)
        .collect()
}

/// Verifies a delivery against every configured secret (two during rotation).
///
/// Checks, in order: the three headers are present, the timestamp is unix seconds within
/// `tolerance_secs` of `now_unix` either way, and some `v1` signature matches some secret
/// (compared in constant time). An empty `secrets` slice matches nothing.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: WebhookHeaders<'_>,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<VerifiedDelivery, SignatureError> {
    let id = present(headers.id, HEADER_ID)?;
    let timestamp_text = present(headers.timestamp, HEADER_TIMESTAMP)?;
    let signature = present(headers.signature, HEADER_SIGNATURE)?;

    let timestamp = parse_timestamp(timestamp_text)?;
    let tolerance = tolerance_secs.max(0);
    if now_unix.saturating_sub(timestamp) > tolerance {
        return Err(SignatureError::StaleTimestamp);
    }
    if timestamp.saturating_sub(now_unix) > tolerance {
        return Err(SignatureError::FutureTimestamp);
    }

    let tags = v1_tags(signature);
    if tags.is_empty() {
        return Err(SignatureError::MalformedSignature);
    }
    let matched = secrets.iter().any(|secret| {
        tags.iter().any(|tag| {
            // `verify_slice` compares in constant time.
            signed_content_mac(secret, id, timestamp, body)
                .verify_slice(tag)
                .is_ok()
        })
    });
    if !matched {
        return Err(SignatureError::NoMatchingSignature);
    }
    Ok(VerifiedDelivery {
        id: id.to_owned(),
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REFERENCE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const REFERENCE_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const REFERENCE_TIMESTAMP: i64 = 1_614_265_330;
    const REFERENCE_BODY: &str = r#"{"test": 2432232314}"#;
    const REFERENCE_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const TOLERANCE: i64 = 300;

    fn secret(value: &str) -> WebhookSecret {
        match WebhookSecret::parse(value) {
            Ok(s) => s,
            Err(e) => panic!("test secret {value:?} must parse: {e}"),
        }
    }

    #[test]
    fn sign_matches_the_standard_webhooks_reference_vector() {
        let signature = sign(
            &secret(REFERENCE_SECRET),
            REFERENCE_ID,
            REFERENCE_TIMESTAMP,
            REFERENCE_BODY.as_bytes(),
        );
        assert_eq!(signature, REFERENCE_SIGNATURE);
    }

    #[test]
    fn verify_accepts_the_standard_webhooks_reference_vector() {
        let verified = verify(
            &[secret(REFERENCE_SECRET)],
            WebhookHeaders {
                id: Some(REFERENCE_ID),
                timestamp: Some("1614265330"),
                signature: Some(REFERENCE_SIGNATURE),
            },
            REFERENCE_BODY.as_bytes(),
            REFERENCE_TIMESTAMP + 10,
            TOLERANCE,
        );
        assert_eq!(
            verified,
            Ok(VerifiedDelivery {
                id: REFERENCE_ID.to_owned(),
                timestamp: REFERENCE_TIMESTAMP
            })
        );
    }

    #[test]
    fn secret_parsing_decodes_whsec_and_keeps_other_strings_raw() {
        assert_eq!(secret("whsec_aGVsbG8=").key, b"hello".to_vec());
        assert_eq!(
            secret("plain-shared-secret").key,
            b"plain-shared-secret".to_vec()
        );
        assert_eq!(WebhookSecret::parse(""), Err(WebhookSecretError::Empty));
        assert_eq!(
            WebhookSecret::parse("whsec_"),
            Err(WebhookSecretError::Empty)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!"),
            Err(WebhookSecretError::InvalidBase64)
        );
        assert_eq!(format!("{:?}", secret("hunter2")), "WebhookSecret(***)");
    }

    #[test]
    fn raw_and_whsec_forms_of_the_same_bytes_sign_identically() {
        let raw = secret("hello");
        let encoded = secret("whsec_aGVsbG8=");
        assert_eq!(sign(&raw, "a", 1, b"x"), sign(&encoded, "a", 1, b"x"));
    }

    struct Case {
        name: &'static str,
        secrets: Vec<&'static str>,
        id: Option<&'static str>,
        timestamp: Option<String>,
        signature: Option<String>,
        body: &'static str,
        now: i64,
        expected: Result<(), SignatureError>,
    }

    const NOW: i64 = 1_700_000_000;
    const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0";
    const NEW_SECRET: &str = "new-plain-secret";
    const BODY: &str = r#"{"type":"object.updated","object":{"id":"42"}}"#;

    fn signed_by(secret_text: &str, id: &str, ts: i64, body: &str) -> String {
        sign(&secret(secret_text), id, ts, body.as_bytes())
    }

    fn cases() -> Vec<Case> {
        let good = signed_by(NEW_SECRET, "msg_1", NOW, BODY);
        let old = signed_by(OLD_SECRET, "msg_1", NOW, BODY);
        let base = |name| Case {
            name,
            secrets: vec![OLD_SECRET, NEW_SECRET],
            id: Some("msg_1"),
            timestamp: Some(NOW.to_string()),
            signature: Some(good.clone()),
            body: BODY,
            now: NOW,
            expected: Ok(()),
        };
        vec![
            base("valid signature with the new secret"),
            Case {
                signature: Some(old.clone()),
                ..base("valid signature with the old secret during rotation")
            },
            Case {
                secrets: vec![NEW_SECRET],
                signature: Some(old.clone()),
                ..base("old secret rejected once rotated out")
            }
            .expect(SignatureError::NoMatchingSignature),
            Case {
                signature: Some(format!(
                    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {good}"
                )),
                ..base("any matching signature among several is accepted")
            },
            Case {
                signature: Some(format!("v2,abc {good}")),
                ..base("other signature versions are ignored")
            },
            Case {
                body: r#"{"type":"object.updated","object":{"id":"43"}}"#,
                ..base("tampered body")
            }
            .expect(SignatureError::NoMatchingSignature),
            Case {
                id: Some("msg_2"),
                ..base("wrong id")
            }
            .expect(SignatureError::NoMatchingSignature),
            Case {
                timestamp: Some((NOW + 1).to_string()),
                ..base("timestamp differs from the signed one")
            }
            .expect(SignatureError::NoMatchingSignature),
            Case {
                now: NOW + TOLERANCE + 1,
                ..base("stale timestamp")
            }
            .expect(SignatureError::StaleTimestamp),
            Case {
                now: NOW + TOLERANCE,
                ..base("timestamp exactly at the tolerance is accepted")
            },
            Case {
                now: NOW - TOLERANCE - 1,
                ..base("future timestamp")
            }
            .expect(SignatureError::FutureTimestamp),
            Case {
                id: None,
                ..base("missing id")
            }
            .expect(SignatureError::MissingHeader(HEADER_ID)),
            Case {
                id: Some("  "),
                ..base("blank id counts as missing")
            }
            .expect(SignatureError::MissingHeader(HEADER_ID)),
            Case {
                timestamp: None,
                ..base("missing timestamp")
            }
            .expect(SignatureError::MissingHeader(HEADER_TIMESTAMP)),
            Case {
                signature: None,
                ..base("missing signature")
            }
            .expect(SignatureError::MissingHeader(HEADER_SIGNATURE)),
            Case {
                timestamp: Some("17e8".to_owned()),
                ..base("non-numeric timestamp")
            }
            .expect(SignatureError::MalformedTimestamp),
            Case {
                timestamp: Some("-1700000000".to_owned()),
                ..base("negative timestamp")
            }
            .expect(SignatureError::MalformedTimestamp),
            Case {
                timestamp: Some("99999999999999999999999".to_owned()),
                ..base("overflowing timestamp")
            }
            .expect(SignatureError::MalformedTimestamp),
            Case {
                signature: Some("garbage".to_owned()),
                ..base("signature without a version")
            }
            .expect(SignatureError::MalformedSignature),
            Case {
                signature: Some("v1,%%%not-base64%%%".to_owned()),
                ..base("signature that is not base64")
            }
            .expect(SignatureError::MalformedSignature),
            Case {
                signature: Some("v1,aGVsbG8=".to_owned()),
                ..base("signature of the wrong length")
            }
            .expect(SignatureError::MalformedSignature),
            Case {
                secrets: vec![],
                ..base("no configured secrets match nothing")
            }
            .expect(SignatureError::NoMatchingSignature),
        ]
    }

    impl Case {
        fn expect(self, error: SignatureError) -> Self {
            Self {
                expected: Err(error),
                ..self
            }
        }
    }

    #[test]
    fn verify_table() {
        for case in cases() {
            let secrets: Vec<WebhookSecret> = case.secrets.iter().map(|s| secret(s)).collect();
            let result = verify(
                &secrets,
                WebhookHeaders {
                    id: case.id,
                    timestamp: case.timestamp.as_deref(),
                    signature: case.signature.as_deref(),
                },
                case.body.as_bytes(),
                case.now,
                TOLERANCE,
            )
            .map(|_| ());
            assert_eq!(result, case.expected, "case: {}", case.name);
        }
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let s = secret(NEW_SECRET);
        let sig = sign(&s, "id", i64::MAX, b"");
        let result = verify(
            std::slice::from_ref(&s),
            WebhookHeaders {
                id: Some("id"),
                timestamp: Some("9223372036854775807"),
                signature: Some(&sig),
            },
            b"",
            i64::MIN,
            i64::MAX,
        );
        assert_eq!(result.map(|d| d.timestamp), Ok(i64::MAX));
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(
            id in proptest::option::of(".*"),
            timestamp in proptest::option::of(".*"),
            signature in proptest::option::of(".*"),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            now in any::<i64>(),
            tolerance in any::<i64>(),
        ) {
            let secrets = [secret(NEW_SECRET), secret(OLD_SECRET)];
            let headers = WebhookHeaders {
                id: id.as_deref(),
                timestamp: timestamp.as_deref(),
                signature: signature.as_deref(),
            };
            let _ = verify(&secrets, headers, &body, now, tolerance);
        }

        #[test]
        fn arbitrary_secret_strings_never_panic(value in ".*") {
            let _ = WebhookSecret::parse(&value);
        }

        #[test]
        fn signed_deliveries_always_verify(
            id in "[a-zA-Z0-9_]{1,40}",
            ts in 0i64..4_000_000_000,
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let s = secret(NEW_SECRET);
            let sig = sign(&s, &id, ts, &body);
            let ts_text = ts.to_string();
            let headers = WebhookHeaders { id: Some(&id), timestamp: Some(&ts_text), signature: Some(&sig) };
            prop_assert!(verify(std::slice::from_ref(&s), headers, &body, ts, 0).is_ok());
        }
    }
}
