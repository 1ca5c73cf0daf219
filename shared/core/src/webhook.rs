//! Standard-Webhooks signing and verification.
//!
//! govsync signs and verifies governance webhooks the Standard Webhooks way:
//! - `webhook-id`: a unique delivery id (stays the same across retries of one delivery);
//! - `webhook-timestamp`: unix seconds of the attempt;
//! - `webhook-signature`: one or more space-separated `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`
//!   entries; a delivery is accepted if any `v1` entry matches any configured secret (rotation).
//!
//! Cost is bounded by the secrets, not by the sender: the MAC of `id.timestamp.body` is computed once
//! per configured secret and compared with each signature, and a request carries at most
//! [`MAX_SIGNATURES`] signatures in a header of at most [`MAX_SIGNATURE_HEADER_BYTES`].
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
use subtle::ConstantTimeEq as _;

type HmacSha256 = Hmac<Sha256>;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Prefix of Standard-Webhooks encoded secrets.
const SECRET_PREFIX: &str = "whsec_";
/// The only signature scheme govsync signs or accepts; other versions in the header are ignored.
const SCHEME_V1: &str = "v1";
const SHA256_LEN: usize = 32;

/// The most signatures (entries of any scheme) one `webhook-signature` header may carry. A sender signs
/// with its current key and at most a few retiring ones; more only multiplies the comparisons.
pub const MAX_SIGNATURES: usize = 5;
/// The longest `webhook-signature` header accepted, in bytes. Five entries of the longest scheme Standard
/// Webhooks defines (`v1a,` + 88 base64 characters of an Ed25519 signature) and separators take under
/// 500 bytes; 1 KiB leaves room for that and refuses padding before any of it is parsed.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 1024;

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
    #[error("`webhook-signature` is {length} bytes; the limit is {limit}")]
    SignatureHeaderTooLong { length: usize, limit: usize },
    #[error("`webhook-signature` carries {count} signatures; the limit is {limit}")]
    TooManySignatures { count: usize, limit: usize },
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
    #[cfg(test)]
    tests::count_mac();
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

/// Decoded `v1` tags from the header, after its length and entry count are checked; entries with
/// another version are ignored (but counted).
fn v1_tags(header: &str) -> Result<Vec<[u8; SHA256_LEN]>, SignatureError> {
    if header.len() > MAX_SIGNATURE_HEADER_BYTES {
        return Err(SignatureError::SignatureHeaderTooLong {
            length: header.len(),
            limit: MAX_SIGNATURE_HEADER_BYTES,
        });
    }
    let count = header.split_ascii_whitespace().count();
    if count > MAX_SIGNATURES {
        return Err(SignatureError::TooManySignatures {
            count,
            limit: MAX_SIGNATURES,
        });
    }
    let tags: Vec<[u8; SHA256_LEN]> = header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == SCHEME_V1)
        .filter_map(|(_, encoded)| BASE64.decode(encoded).ok())
        .filter_map(|tag| <[u8; SHA256_LEN]>::try_from(tag.as_slice()).ok())
        .collect();
    if tags.is_empty() {
        return Err(SignatureError::MalformedSignature);
    }
    Ok(tags)
}

/// SHA-256 of a delivery body, lowercase hex: what an accepted delivery's record keeps so a retry of the
/// same delivery can be told from a different body under a reused id.
pub fn body_sha256(body: &[u8]) -> String {
    use sha2::Digest as _;
    Sha256::digest(body)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Verifies a delivery against every configured secret (two during rotation).
///
/// Checks, in order: the three headers are present, the timestamp is unix seconds within
/// `tolerance_secs` of `now_unix` either way, the signature header is within its length and count
/// limits, and some `v1` signature matches some secret (compared in constant time). One MAC is computed
/// per secret, whatever the number of signatures. An empty `secrets` slice matches nothing.
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

    let tags = v1_tags(signature)?;
    let matched = secrets.iter().any(|secret| {
        let expected = signed_content_mac(secret, id, timestamp, body)
            .finalize()
            .into_bytes();
        // Each comparison is constant time; the loop's early exit only reveals that some tag matched.
        tags.iter()
            .any(|tag| bool::from(expected.as_slice().ct_eq(tag.as_slice())))
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

    thread_local! {
        /// MACs over signed content computed on this thread (each test runs on its own thread).
        static MACS_COMPUTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    pub(super) fn count_mac() {
        MACS_COMPUTED.with(|count| count.set(count.get() + 1));
    }

    fn macs_computed_by<T>(work: impl FnOnce() -> T) -> (T, usize) {
        MACS_COMPUTED.with(|count| count.set(0));
        let result = work();
        (result, MACS_COMPUTED.with(std::cell::Cell::get))
    }

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

    /// A well-formed `v1` signature that no secret produced (distinct per `n`).
    fn foreign_signature(n: u8) -> String {
        format!("{SCHEME_V1},{}", BASE64.encode([n; SHA256_LEN]))
    }

    fn verify_with_signature(
        secrets: &[&str],
        signature: &str,
    ) -> Result<VerifiedDelivery, SignatureError> {
        let secrets: Vec<WebhookSecret> = secrets.iter().map(|s| secret(s)).collect();
        let timestamp = NOW.to_string();
        verify(
            &secrets,
            WebhookHeaders {
                id: Some("msg_1"),
                timestamp: Some(&timestamp),
                signature: Some(signature),
            },
            BODY.as_bytes(),
            NOW,
            TOLERANCE,
        )
    }

    #[test]
    fn one_mac_is_computed_per_secret_whatever_the_number_of_signatures() {
        let five_foreign = (1..=5).map(foreign_signature).collect::<Vec<_>>().join(" ");
        let (result, macs) =
            macs_computed_by(|| verify_with_signature(&[OLD_SECRET, NEW_SECRET], &five_foreign));
        assert_eq!(result, Err(SignatureError::NoMatchingSignature));
        assert_eq!(macs, 2, "two secrets, five signatures: two MACs");

        // A match by the last signature under the second secret still costs one MAC per secret.
        let good = signed_by(NEW_SECRET, "msg_1", NOW, BODY);
        let header = format!(
            "{} {good}",
            (1..=4).map(foreign_signature).collect::<Vec<_>>().join(" ")
        );
        let (result, macs) =
            macs_computed_by(|| verify_with_signature(&[OLD_SECRET, NEW_SECRET], &header));
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(macs, 2);
    }

    #[test]
    fn more_than_five_signatures_are_refused_before_any_mac_is_computed() {
        let good = signed_by(NEW_SECRET, "msg_1", NOW, BODY);
        let five = format!(
            "{} {good}",
            (1..=4).map(foreign_signature).collect::<Vec<_>>().join(" ")
        );
        assert!(
            verify_with_signature(&[NEW_SECRET], &five).is_ok(),
            "five is the limit"
        );

        let six = format!(
            "{} {good}",
            (1..=5).map(foreign_signature).collect::<Vec<_>>().join(" ")
        );
        let (result, macs) = macs_computed_by(|| verify_with_signature(&[NEW_SECRET], &six));
        assert_eq!(
            result,
            Err(SignatureError::TooManySignatures {
                count: 6,
                limit: MAX_SIGNATURES
            })
        );
        assert_eq!(macs, 0);

        // Entries of other schemes count too: they are signatures the request asks us to consider.
        let mixed = format!("v1a,x v1a,y v2,z v0,w v9,q {good}");
        assert_eq!(
            verify_with_signature(&[NEW_SECRET], &mixed),
            Err(SignatureError::TooManySignatures {
                count: 6,
                limit: MAX_SIGNATURES
            })
        );
    }

    #[test]
    fn a_signature_header_over_1_kib_is_refused_before_it_is_parsed() {
        let good = signed_by(NEW_SECRET, "msg_1", NOW, BODY);
        // Blanks between entries are legal; leading and trailing ones are trimmed before any check, so
        // the padding sits inside.
        let tail = "v2,pad";
        let padding = " ".repeat(MAX_SIGNATURE_HEADER_BYTES - good.len() - tail.len());
        let at_limit = format!("{good}{padding}{tail}");
        assert_eq!(at_limit.len(), 1024);
        assert!(verify_with_signature(&[NEW_SECRET], &at_limit).is_ok());

        let over = format!("{good} {padding}{tail}");
        let (result, macs) = macs_computed_by(|| verify_with_signature(&[NEW_SECRET], &over));
        assert_eq!(
            result,
            Err(SignatureError::SignatureHeaderTooLong {
                length: 1025,
                limit: 1024
            })
        );
        assert_eq!(macs, 0);
    }

    #[test]
    fn body_sha256_is_the_lowercase_hex_digest() {
        assert_eq!(
            body_sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            body_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
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
