//! The govsync link on a governance Model: a stable URL that opens the Model's package in SageMaker.
//!
//! A presigned Studio URL lives five minutes at most, so governance cannot hold one. It holds instead
//! `<GOVSYNC_MODEL_LINK_URL>?v=1&package=<ARN>&kid=<key id>&sig=<HMAC>`, which stays valid for the
//! Model's life; the model-link function verifies it and only then asks SageMaker for a fresh presigned
//! URL. The signature (HMAC-SHA256 with the deployment's link key) covers the version, the key id and
//! the package ARN, which is the Model's External ID: a link edited in any way, or made by another
//! deployment, does not verify. Which Model the link belongs to is read from the links table when it
//! is opened, so a link for a package no governance Model links to any more opens nothing.
//!
//! Keys (Secrets Manager, JSON): `{"current": "…", "previous": "…", "previous_accepted_until":
//! "RFC 3339"}`. `current` signs; `previous` still verifies until its time, so a rotation never breaks
//! a link before the reconciler has rewritten it with the current key. A link signed by a key that is
//! gone or past its time is refused as expired. Key ids are a digest of the key, never the key.
//!
//! Pure: no I/O, no clock — the caller passes `now`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::model_package::ModelPackageArn;
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The only link format govsync makes or accepts.
pub const LINK_VERSION: &str = "1";
/// Shortest key accepted: a 256-bit HMAC key wants at least 32 bytes of secret.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest query string looked at; a real link is under 400 characters.
pub const MAX_QUERY_BYTES: usize = 2048;

/// One link key. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey {
    key: Vec<u8>,
    id: String,
    /// `None`: accepted for as long as it is configured.
    accepted_until: Option<DateTime<Utc>>,
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKey")
            .field("id", &self.id)
            .field("accepted_until", &self.accepted_until)
            .finish_non_exhaustive()
    }
}

impl LinkKey {
    fn new(text: &str, accepted_until: Option<DateTime<Utc>>) -> Self {
        let key = text.as_bytes().to_vec();
        let mut hasher = Sha256::new();
        hasher.update(b"govsync-model-link-key-id\n");
        hasher.update(&key);
        let id = crate::hex::encode(&hasher.finalize())[..16].to_owned();
        Self {
            key,
            id,
            accepted_until,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn signature(&self, package: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(signed_text(&self.id, package).as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn verifies(&self, package: &str, signature: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(signed_text(&self.id, package).as_bytes());
        mac.verify_slice(signature).is_ok()
    }
}

fn signed_text(key_id: &str, package: &str) -> String {
    format!("govsync-model-link\nv{LINK_VERSION}\n{key_id}\n{package}")
}

/// Why the link keys secret is unusable. Never holds a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkKeysError {
    #[error(
        "the model link keys secret is not a JSON object {{\"current\", \"previous\"?, \"previous_accepted_until\"?}}"
    )]
    NotJson,
    #[error("the model link keys secret has no non-empty `current` string")]
    MissingCurrent,
    #[error("`{field}` of the model link keys secret is shorter than {MIN_KEY_BYTES} bytes")]
    TooShort { field: &'static str },
    #[error("`previous_accepted_until` of the model link keys secret is not an RFC 3339 time")]
    BadTime,
    #[error("`{field}` of the model link keys secret is not a string")]
    NotAString { field: &'static str },
}

/// The keys links are signed and verified with: `current` signs, both verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkKeys {
    current: LinkKey,
    previous: Option<LinkKey>,
}

impl LinkKeys {
    pub fn parse(secret: &Secret) -> Result<Self, LinkKeysError> {
        let value: serde_json::Value =
            serde_json::from_str(secret.expose()).map_err(|_| LinkKeysError::NotJson)?;
        let object = value.as_object().ok_or(LinkKeysError::NotJson)?;
        let text = |field: &'static str| -> Result<Option<&str>, LinkKeysError> {
            match object.get(field) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(LinkKeysError::NotAString { field }),
            }
        };
        fn key<'a>(field: &'static str, value: &'a str) -> Result<&'a str, LinkKeysError> {
            if value.len() < MIN_KEY_BYTES {
                Err(LinkKeysError::TooShort { field })
            } else {
                Ok(value)
            }
        }
        let current = key(
            "current",
            text("current")?.ok_or(LinkKeysError::MissingCurrent)?,
        )?;
        let until = text("previous_accepted_until")?
            .map(|text| {
                DateTime::parse_from_rfc3339(text)
                    .map(|time| time.with_timezone(&Utc))
                    .map_err(|_| LinkKeysError::BadTime)
            })
            .transpose()?;
        let previous = text("previous")?
            .map(|value| key("previous", value))
            .transpose()?
            .map(|value| LinkKey::new(value, until));
        Ok(Self {
            current: LinkKey::new(current, None),
            previous,
        })
    }

    /// Keys given directly (tests, tools).
    pub fn from_current(current: &str) -> Result<Self, LinkKeysError> {
        if current.len() < MIN_KEY_BYTES {
            return Err(LinkKeysError::TooShort { field: "current" });
        }
        Ok(Self {
            current: LinkKey::new(current, None),
            previous: None,
        })
    }

    pub fn current(&self) -> &LinkKey {
        &self.current
    }
}

/// Makes the link written on a governance Model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLinks {
    base_url: String,
    keys: LinkKeys,
}

/// Why a link base URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model link URL {0:?} must be an http(s) URL without a query or fragment")]
pub struct LinkUrlError(pub String);

impl ModelLinks {
    pub fn new(base_url: &str, keys: LinkKeys) -> Result<Self, LinkUrlError> {
        let base_url = base_url.trim();
        let scheme_ok = base_url.starts_with("https://") || base_url.starts_with("http://");
        if !scheme_ok || base_url.contains(['?', '#', ' ']) || base_url.len() > 512 {
            return Err(LinkUrlError(base_url.to_owned()));
        }
        Ok(Self {
            base_url: base_url.to_owned(),
            keys,
        })
    }

    /// The link for a package: the same text every time for the same key, so it never reads as a
    /// change of the Model.
    pub fn link_for(&self, package: &ModelPackageArn) -> String {
        let key = &self.keys.current;
        let signature = BASE64URL.encode(key.signature(package.as_str()));
        format!(
            "{}?v={LINK_VERSION}&package={}&kid={}&sig={signature}",
            self.base_url,
            percent_encode(package.as_str()),
            key.id,
        )
    }

    pub fn keys(&self) -> &LinkKeys {
        &self.keys
    }
}

/// Where Studio opens a package version (`LandingUri`; the relative path is the one Studio shows for
/// a registered model's version, not a documented contract).
pub fn studio_landing_uri(package: &ModelPackageArn) -> String {
    format!(
        "studio::models/registered-models/{}/versions/{}",
        package.group_name(),
        package.version()
    )
}

/// Why a link is refused. Each is a 403 for the person who opened it; the reason is logged and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("the link is malformed: {0}")]
    Malformed(&'static str),
    #[error("the link's format version is not one govsync makes")]
    UnsupportedVersion,
    #[error(
        "the link was signed with a key this deployment does not hold (another deployment's link, or one retired long ago)"
    )]
    UnknownKey,
    #[error("the link was signed with a retired key whose acceptance period has ended")]
    ExpiredKey,
    #[error("the link's signature does not match its contents (altered)")]
    BadSignature,
    #[error("the link names no valid model package ARN")]
    NotAPackage,
}

impl LinkRefusal {
    /// The metric and log reason.
    pub fn reason(&self) -> &'static str {
        match self {
            LinkRefusal::Malformed(_) => "malformed",
            LinkRefusal::UnsupportedVersion => "unsupported_version",
            LinkRefusal::UnknownKey => "unknown_key",
            LinkRefusal::ExpiredKey => "expired_key",
            LinkRefusal::BadSignature => "bad_signature",
            LinkRefusal::NotAPackage => "not_a_package",
        }
    }
}

/// Verifies a link's query string (as API Gateway passes `rawQueryString`) and returns the package it
/// opens. Every parameter must appear once; nothing else may appear.
pub fn verify(
    keys: &LinkKeys,
    query: &str,
    now: DateTime<Utc>,
) -> Result<ModelPackageArn, LinkRefusal> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(LinkRefusal::Malformed("too long"));
    }
    let mut version = None;
    let mut package = None;
    let mut key_id = None;
    let mut signature = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or(LinkRefusal::Malformed("a parameter without a value"))?;
        let value = percent_decode(value).ok_or(LinkRefusal::Malformed("bad percent-encoding"))?;
        let slot = match name {
            "v" => &mut version,
            "package" => &mut package,
            "kid" => &mut key_id,
            "sig" => &mut signature,
            _ => return Err(LinkRefusal::Malformed("an unknown parameter")),
        };
        if slot.replace(value).is_some() {
            return Err(LinkRefusal::Malformed("a repeated parameter"));
        }
    }
    let (Some(version), Some(package), Some(key_id), Some(signature)) =
        (version, package, key_id, signature)
    else {
        return Err(LinkRefusal::Malformed("a missing parameter"));
    };
    if version != LINK_VERSION {
        return Err(LinkRefusal::UnsupportedVersion);
    }
    let signature = BASE64URL
        .decode(signature.as_bytes())
        .map_err(|_| LinkRefusal::Malformed("the signature is not base64url"))?;
    let key = [Some(&keys.current), keys.previous.as_ref()]
        .into_iter()
        .flatten()
        .find(|key| key.id == key_id)
        .ok_or(LinkRefusal::UnknownKey)?;
    if !key.verifies(&package, &signature) {
        return Err(LinkRefusal::BadSignature);
    }
    if key.accepted_until.is_some_and(|until| now > until) {
        return Err(LinkRefusal::ExpiredKey);
    }
    ModelPackageArn::parse(&package).map_err(|_| LinkRefusal::NotAPackage)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` (and `+` as a space, as forms send it); `None` for a bad escape or non-UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
