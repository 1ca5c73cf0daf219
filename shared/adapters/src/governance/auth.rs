//! Governance authentication: the four modes, and a shared bearer-token cache.
//!
//! A token is refreshed at 80 % of its life, or once when the API answers 401 or 403. Its life comes
//! from `expires_in`, else `expiration`, else the JWT `exp` claim, else a configured default.
//! Concurrent callers share one refresh: the refresh runs under an async mutex and every caller
//! re-checks the cache after acquiring it.
//!
//! The API key (basic: the password) is re-read from its [`ApiKeySource`] when credentials are still
//! refused after a refresh, or when the token endpoint refuses the key: a rotated key is picked up by a
//! warm instance. Re-reads are rate-limited (one per `reread_interval`) so a revoked key cannot turn
//! every call into a secret read.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use govsync_core::ports::GovernanceError;
use govsync_core::secret::Secret;
use reqwest::header::{ACCEPT, HeaderValue};
use serde::Deserialize;
use tokio::sync::Mutex as AsyncMutex;

use super::retry::{Idempotency, RetryPolicy};
use super::sanitize_body;

/// The public MCSP token endpoint; `{instance_id}` is the service instance.
pub const MCSP_TOKEN_URL_TEMPLATE: &str =
    "https://account-iam.platform.saas.ibm.com/api/2.0/services/{instance_id}/apikeys/token";
/// The public IBM Cloud IAM token endpoint.
pub const IAM_TOKEN_URL: &str = "https://iam.cloud.ibm.com/identity/token";
const IAM_GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// How govsync authenticates to the governance API (`governance.auth.mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GovernanceAuth {
    /// watsonx.governance SaaS on AWS: `POST <token_url>` JSON `{"apikey"}` → `token`.
    Mcsp { token_url: String, api_key: Secret },
    /// IBM Cloud IAM: `POST <token_url>` form `grant_type=…&apikey=…` → `access_token`.
    Iam { token_url: String, api_key: Secret },
    /// Cloud Pak for Data: `POST <token_url>` JSON `{"username","api_key"}` → `token`.
    Cp4d {
        token_url: String,
        username: String,
        api_key: Secret,
    },
    /// On-premises basic authentication.
    Basic { username: String, password: Secret },
}

impl GovernanceAuth {
    /// MCSP with the public token endpoint of `instance_id`.
    pub fn mcsp(instance_id: &str, api_key: Secret) -> Self {
        GovernanceAuth::Mcsp {
            token_url: MCSP_TOKEN_URL_TEMPLATE.replace("{instance_id}", instance_id),
            api_key,
        }
    }

    /// IAM with the public IBM Cloud token endpoint.
    pub fn iam(api_key: Secret) -> Self {
        GovernanceAuth::Iam {
            token_url: IAM_TOKEN_URL.to_owned(),
            api_key,
        }
    }

    /// CP4D with the token endpoint under `cpd_url`.
    pub fn cp4d(cpd_url: &str, username: impl Into<String>, api_key: Secret) -> Self {
        GovernanceAuth::Cp4d {
            token_url: format!("{}/icp4d-api/v1/authorize", cpd_url.trim_end_matches('/')),
            username: username.into(),
            api_key,
        }
    }

    pub fn mode_name(&self) -> &'static str {
        match self {
            GovernanceAuth::Mcsp { .. } => "mcsp",
            GovernanceAuth::Iam { .. } => "iam",
            GovernanceAuth::Cp4d { .. } => "cp4d",
            GovernanceAuth::Basic { .. } => "basic",
        }
    }

    /// The key the mode sends (basic: the password).
    fn api_key(&self) -> &Secret {
        match self {
            GovernanceAuth::Mcsp { api_key, .. }
            | GovernanceAuth::Iam { api_key, .. }
            | GovernanceAuth::Cp4d { api_key, .. } => api_key,
            GovernanceAuth::Basic { password, .. } => password,
        }
    }

    fn api_key_mut(&mut self) -> &mut Secret {
        match self {
            GovernanceAuth::Mcsp { api_key, .. }
            | GovernanceAuth::Iam { api_key, .. }
            | GovernanceAuth::Cp4d { api_key, .. } => api_key,
            GovernanceAuth::Basic { password, .. } => password,
        }
    }
}

/// Why the API key could not be re-read (the message never holds the key).
#[derive(Debug, Clone, thiserror::Error)]
#[error("reading the governance API key: {0}")]
pub struct KeySourceError(pub String);

/// Where the governance API key (basic: the password) is kept, so a rotated key can be read again
/// without a restart. Secrets Manager in Lambda (`crate::secrets::SecretsManagerKey`).
pub trait ApiKeySource: Send + Sync + fmt::Debug {
    /// The key as the source holds it now.
    fn current_key(&self) -> BoxFuture<'_, Result<Secret, KeySourceError>>;
}

/// How the key is re-read: from where, and at most how often.
#[derive(Debug, Clone)]
pub(crate) struct KeyReread {
    pub source: Option<Arc<dyn ApiKeySource>>,
    pub interval: Duration,
}

/// Token endpoint answer; every member is optional because the modes differ.
#[derive(Debug, Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<f64>,
    expiration: Option<f64>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

/// The credential attached to a call: the header, the token it carries (to invalidate it precisely
/// after a 401/403), and the generation of the key it came from (to tell whether the key changed since).
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    pub header: HeaderValue,
    pub token: Option<Secret>,
    pub key_generation: u64,
}

#[derive(Debug)]
pub(crate) struct TokenSource {
    mode: &'static str,
    uses_tokens: bool,
    /// The mode with the key in use; the key is replaced when a re-read finds a rotated one.
    auth: SyncMutex<GovernanceAuth>,
    default_life: Duration,
    cache: SyncMutex<Option<CachedToken>>,
    refresh: AsyncMutex<()>,
    token_requests: AtomicU64,
    reread: KeyReread,
    last_reread: SyncMutex<Option<Instant>>,
    /// Bumped each time a re-read installs a different key.
    key_generation: AtomicU64,
    key_rereads: AtomicU64,
}

fn lock<T>(mutex: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TokenSource {
    pub(crate) fn new(auth: GovernanceAuth, default_life: Duration, reread: KeyReread) -> Self {
        Self {
            mode: auth.mode_name(),
            uses_tokens: !matches!(auth, GovernanceAuth::Basic { .. }),
            auth: SyncMutex::new(auth),
            default_life,
            cache: SyncMutex::new(None),
            refresh: AsyncMutex::new(()),
            token_requests: AtomicU64::new(0),
            reread,
            last_reread: SyncMutex::new(None),
            key_generation: AtomicU64::new(0),
            key_rereads: AtomicU64::new(0),
        }
    }

    pub(crate) fn mode_name(&self) -> &'static str {
        self.mode
    }

    pub(crate) fn uses_tokens(&self) -> bool {
        self.uses_tokens
    }

    pub(crate) fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub(crate) fn key_rereads(&self) -> u64 {
        self.key_rereads.load(Ordering::Relaxed)
    }

    pub(crate) fn key_generation(&self) -> u64 {
        self.key_generation.load(Ordering::SeqCst)
    }

    /// Removes credentials from a response body before it is surfaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        let key = lock(&self.auth).api_key().clone();
        let mut secrets = vec![key.expose()];
        let cached = self.cached_token();
        if let Some(token) = &cached {
            secrets.push(token.expose());
        }
        sanitize_body(text, &secrets)
    }

    /// Re-reads the key after credentials from key generation `used` were refused. `true` when a
    /// repeat is worth it: the key in use is now a different one (read here, or by a concurrent
    /// caller). Without a source, within `interval` of the last read, or when the source fails or
    /// holds the same key, `false`.
    pub(crate) async fn reread_key(&self, used: u64) -> bool {
        let Some(source) = &self.reread.source else {
            return false;
        };
        // Shares the refresh lock: one re-read at a time, and no token fetched with a key being replaced.
        let _refreshing = self.refresh.lock().await;
        if self.key_generation() != used {
            return true;
        }
        {
            let mut last = lock(&self.last_reread);
            if last.is_some_and(|at| at.elapsed() < self.reread.interval) {
                tracing::warn!(
                    mode = self.mode,
                    "governance refused the credentials; the API key was re-read recently, not again yet"
                );
                return false;
            }
            *last = Some(Instant::now());
        }
        self.key_rereads.fetch_add(1, Ordering::Relaxed);
        let key = match source.current_key().await {
            Ok(key) if !key.is_empty() => key,
            Ok(_) => {
                tracing::warn!(mode = self.mode, "the API key source holds an empty key");
                return false;
            }
            Err(error) => {
                tracing::warn!(mode = self.mode, error = %error, "the API key could not be re-read");
                return false;
            }
        };
        {
            let mut auth = lock(&self.auth);
            if auth.api_key() == &key {
                tracing::warn!(
                    mode = self.mode,
                    "governance refused the credentials and the API key source holds the same key"
                );
                return false;
            }
            *auth.api_key_mut() = key;
        }
        *lock(&self.cache) = None;
        self.key_generation.fetch_add(1, Ordering::SeqCst);
        tracing::info!(
            mode = self.mode,
            "a rotated governance API key was picked up"
        );
        true
    }

    fn cached_token(&self) -> Option<Secret> {
        lock(&self.cache)
            .as_ref()
            .map(|cached| cached.value.clone())
    }

    /// A fresh cached token that is not `rejected`.
    fn usable(&self, rejected: Option<&Secret>) -> Option<Secret> {
        lock(&self.cache)
            .as_ref()
            .filter(|cached| Instant::now() < cached.refresh_at)
            .filter(|cached| rejected != Some(&cached.value))
            .map(|cached| cached.value.clone())
    }

    /// The credential for the next call. `rejected` is a token the API just answered 401 for:
    /// it is replaced (once, by whichever caller gets the refresh lock first).
    pub(crate) async fn credential(
        &self,
        http: &reqwest::Client,
        retry: &RetryPolicy,
        rejected: Option<&Secret>,
    ) -> Result<Credential, GovernanceError> {
        let key_generation = self.key_generation();
        let basic = match &*lock(&self.auth) {
            GovernanceAuth::Basic { username, password } => {
                Some(STANDARD.encode(format!("{username}:{}", password.expose())))
            }
            _ => None,
        };
        let token = match basic {
            Some(encoded) => {
                return Ok(Credential {
                    header: sensitive_header(&format!("Basic {encoded}"))?,
                    token: None,
                    key_generation,
                });
            }
            None => match self.usable(rejected) {
                Some(token) => token,
                None => {
                    let _refreshing = self.refresh.lock().await;
                    // Another caller may have refreshed while this one waited.
                    match self.usable(rejected) {
                        Some(token) => token,
                        None => self.fetch(http, retry).await?,
                    }
                }
            },
        };
        Ok(Credential {
            header: sensitive_header(&format!("Bearer {}", token.expose()))?,
            token: Some(token),
            key_generation,
        })
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        retry: &RetryPolicy,
    ) -> Result<Secret, GovernanceError> {
        let mode = self.mode;
        // Callers hold the refresh lock, so the key cannot change during this fetch.
        let auth = lock(&self.auth).clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.token_requests.fetch_add(1, Ordering::Relaxed);
            let request = match &auth {
                GovernanceAuth::Mcsp { token_url, api_key } => http
                    .post(token_url)
                    .json(&serde_json::json!({"apikey": api_key.expose()})),
                GovernanceAuth::Iam { token_url, api_key } => http
                    .post(token_url)
                    .form(&[("grant_type", IAM_GRANT_TYPE), ("apikey", api_key.expose())]),
                GovernanceAuth::Cp4d {
                    token_url,
                    username,
                    api_key,
                } => http.post(token_url).json(&serde_json::json!({
                    "username": username,
                    "api_key": api_key.expose(),
                })),
                GovernanceAuth::Basic { .. } => {
                    return Err(GovernanceError::Config(
                        "basic authentication has no token endpoint".to_owned(),
                    ));
                }
            };
            let response = match request.header(ACCEPT, "application/json").send().await {
                Ok(response) => response,
                Err(error)
                    if attempt < retry.max_attempts
                        && (error.is_connect() || error.is_timeout()) =>
                {
                    tokio::time::sleep(retry.backoff(attempt)).await;
                    continue;
                }
                Err(error) => {
                    return Err(GovernanceError::Transport {
                        operation: "token request",
                        message: self.redact(&super::error_chain(&error)),
                    });
                }
            };
            let status = response.status();
            if !status.is_success() {
                if attempt < retry.max_attempts
                    && RetryPolicy::retries_status(status, Idempotency::Idempotent)
                {
                    let delay = retry.delay_for(attempt, response.headers());
                    tracing::warn!(
                        mode,
                        status = status.as_u16(),
                        attempt,
                        ?delay,
                        "token request retried"
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
                let body = response.text().await.unwrap_or_default();
                return Err(GovernanceError::Auth {
                    mode,
                    status: status.as_u16(),
                    body: self.redact(&body),
                });
            }
            let body = response
                .text()
                .await
                .map_err(|error| GovernanceError::Transport {
                    operation: "token request",
                    message: super::error_chain(&error),
                })?;
            let parsed: TokenResponse =
                serde_json::from_str(&body).map_err(|error| GovernanceError::Decode {
                    operation: "token request",
                    message: format!("token response is not the expected JSON: {error}"),
                })?;
            let life = token_life(&parsed, now_unix(), self.default_life);
            let value = parsed
                .token
                .or(parsed.access_token)
                .filter(|token| !token.is_empty())
                .ok_or_else(|| GovernanceError::Decode {
                    operation: "token request",
                    message: "token response has neither `token` nor `access_token`".to_owned(),
                })?;
            let value = Secret::new(value);
            let refresh_after = life.mul_f64(0.8);
            tracing::debug!(
                mode,
                life_secs = life.as_secs(),
                "governance token refreshed"
            );
            *lock(&self.cache) = Some(CachedToken {
                value: value.clone(),
                refresh_at: Instant::now() + refresh_after,
            });
            return Ok(value);
        }
    }
}

fn sensitive_header(value: &str) -> Result<HeaderValue, GovernanceError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        GovernanceError::Config("credential contains characters not allowed in a header".to_owned())
    })?;
    header.set_sensitive(true);
    Ok(header)
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The token's life: `expires_in`, else `expiration` (epoch seconds), else the JWT `exp`,
/// else `default_life`. An already-expired token has zero life (refreshed on next use).
fn token_life(response: &TokenResponse, now_unix: i64, default_life: Duration) -> Duration {
    let seconds_until = |epoch: f64| Duration::from_secs_f64((epoch - now_unix as f64).max(0.0));
    if let Some(expires_in) = response.expires_in.filter(|s| s.is_finite() && *s > 0.0) {
        return Duration::from_secs_f64(expires_in);
    }
    if let Some(expiration) = response.expiration.filter(|s| s.is_finite() && *s > 0.0) {
        return seconds_until(expiration);
    }
    let token = response
        .token
        .as_deref()
        .or(response.access_token.as_deref());
    match token.and_then(jwt_exp) {
        Some(exp) => seconds_until(exp as f64),
        None => default_life,
    }
}

/// The `exp` claim of a JWT (base64url payload), if the token is one.
fn jwt_exp(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn response(
        token: Option<String>,
        expires_in: Option<f64>,
        expiration: Option<f64>,
    ) -> TokenResponse {
        TokenResponse {
            token,
            access_token: None,
            expires_in,
            expiration,
        }
    }

    #[test]
    fn token_life_prefers_expires_in_then_expiration_then_jwt_exp_then_default() {
        let now = 1_000_000;
        let default = Duration::from_secs(600);
        let token = jwt(&serde_json::json!({"exp": now + 120}));
        assert_eq!(
            token_life(
                &response(Some(token.clone()), Some(3600.0), Some((now + 60) as f64)),
                now,
                default
            ),
            Duration::from_secs(3600)
        );
        assert_eq!(
            token_life(
                &response(Some(token.clone()), None, Some((now + 60) as f64)),
                now,
                default
            ),
            Duration::from_secs(60)
        );
        assert_eq!(
            token_life(&response(Some(token), None, None), now, default),
            Duration::from_secs(120)
        );
        assert_eq!(
            token_life(&response(Some("opaque".into()), None, None), now, default),
            default
        );
        let expired = jwt(&serde_json::json!({"exp": now - 5}));
        assert_eq!(
            token_life(&response(Some(expired), None, None), now, default),
            Duration::ZERO
        );
    }

    #[test]
    fn jwt_exp_is_read_from_the_base64url_payload() {
        assert_eq!(
            jwt_exp(&jwt(&serde_json::json!({"exp": 1_700_000_000, "sub": "x"}))),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_exp("not-a-jwt"), None);
        assert_eq!(jwt_exp("a.!!!.c"), None);
    }

    #[test]
    fn default_token_urls_follow_the_contract() {
        let GovernanceAuth::Mcsp { token_url, .. } =
            GovernanceAuth::mcsp("inst-1", Secret::new("k"))
        else {
            unreachable!("mcsp constructor builds the mcsp mode")
        };
        assert_eq!(
            token_url,
            "https://account-iam.platform.saas.ibm.com/api/2.0/services/inst-1/apikeys/token"
        );
        let GovernanceAuth::Cp4d { token_url, .. } =
            GovernanceAuth::cp4d("https://cpd.example/", "u", Secret::new("k"))
        else {
            unreachable!("cp4d constructor builds the cp4d mode")
        };
        assert_eq!(token_url, "https://cpd.example/icp4d-api/v1/authorize");
    }
}
