//! The governance port over HTTP: the OpenPages REST API v2 subset in
//! `contracts/openpages-v2.md`.

mod auth;
mod retry;
mod statement;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use govsync_core::ports::{
    ExternalIdLookup, Field, Governance, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceObject, GovernanceQuery, NewGovernanceObject, QueryCondition, QueryRow,
    TypeDefinition,
};
use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use auth::{
    ApiKeySource, GovernanceAuth, IAM_TOKEN_URL, KeySourceError, MCSP_TOKEN_URL_TEMPLATE,
};
pub use retry::RetryPolicy;

use retry::Idempotency;
use wire::{decode_object, decode_query_page, decode_type_definition};

/// The API prefix on SaaS and on-premises consoles (CP4D: [`cp4d_api_prefix`]).
pub const DEFAULT_API_PREFIX: &str = "/opgrc/api/v2";
/// Most rows one query page may ask for (IBM's client caps `limit` at 500).
pub const MAX_PAGE_SIZE: u32 = 500;
/// `max_rows` of every query request, as IBM's client sends it.
const MAX_ROWS: u32 = 500;
/// A query that pages this often is refused rather than followed forever.
const MAX_QUERY_PAGES: u32 = 10_000;

/// The API prefix of an OpenPages instance on Cloud Pak for Data: `/openpages-<instance>-opgrc/api/v2`.
pub fn cp4d_api_prefix(instance: &str) -> Result<String, GovernanceError> {
    let usable = !instance.is_empty()
        && instance
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !usable {
        return Err(GovernanceError::Config(format!(
            "{instance:?} is not an OpenPages instance name (letters, digits, '-', '_')"
        )));
    }
    Ok(format!("/openpages-{instance}-opgrc/api/v2"))
}

/// How another object relates to the one being linked: the relation, not a type id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    Parent,
    Child,
}

impl Relation {
    /// The value of an association's `type` member.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Parent => "parent",
            Relation::Child => "child",
        }
    }

    /// The query parameter naming this relation when associations are removed.
    fn removal_parameter(self) -> &'static str {
        match self {
            Relation::Parent => "parents",
            Relation::Child => "children",
        }
    }
}

/// Another object and how it relates to the one being linked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Related {
    pub id: GovernanceId,
    pub relation: Relation,
}
/// The field that carries the registry ARN on model groups and models.
pub const EXTERNAL_ID_FIELD: &str = "Integration:External ID";
/// Response text surfaced in errors is cut to this many characters.
const MAX_ERROR_BODY_CHARS: usize = 512;
/// The least time between two re-reads of the API key after refused credentials.
pub const DEFAULT_KEY_REREAD_INTERVAL: Duration = Duration::from_secs(30);

pub use govsync_core::ports::governance::TypeIds;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// Whole request, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            request: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GovernanceConfig {
    /// Console (or CP4D) URL without the API prefix, e.g. `https://tenant.example.com`.
    pub base_url: String,
    pub api_prefix: String,
    pub auth: GovernanceAuth,
    pub type_ids: TypeIds,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    /// Token life when the token endpoint states none and the token is not a JWT.
    pub default_token_life: Duration,
    /// Rows per query page, at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// Where the API key is re-read from when governance refuses it; `None`: the key given is final.
    pub key_source: Option<Arc<dyn ApiKeySource>>,
    /// The least time between two re-reads of the key.
    pub key_reread_interval: Duration,
}

impl GovernanceConfig {
    pub fn new(base_url: impl Into<String>, auth: GovernanceAuth) -> Self {
        Self {
            base_url: base_url.into(),
            api_prefix: DEFAULT_API_PREFIX.to_owned(),
            auth,
            type_ids: TypeIds::default(),
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            default_token_life: Duration::from_secs(20 * 60),
            page_size: 100,
            key_source: None,
            key_reread_interval: DEFAULT_KEY_REREAD_INTERVAL,
        }
    }

    /// The configuration with the key re-read from `source` after refused credentials.
    pub fn with_key_source(mut self, source: Arc<dyn ApiKeySource>) -> Self {
        self.key_source = Some(source);
        self
    }
}

/// The governance HTTP client. Cheap to clone; clones share the token cache.
#[derive(Debug, Clone)]
pub struct GovernanceClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    api_base: String,
    tokens: auth::TokenSource,
    type_ids: TypeIds,
    retry: RetryPolicy,
    page_size: u32,
}

impl GovernanceClient {
    pub fn new(config: GovernanceConfig) -> Result<Self, GovernanceError> {
        if config.page_size == 0 || config.page_size > MAX_PAGE_SIZE {
            return Err(GovernanceError::Config(format!(
                "page size must be between 1 and {MAX_PAGE_SIZE}, not {}",
                config.page_size
            )));
        }
        if config.retry.max_attempts == 0 {
            return Err(GovernanceError::Config(
                "retry max_attempts must be at least 1".to_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            .build()
            .map_err(|error| {
                GovernanceError::Config(format!("HTTP client: {}", error_chain(&error)))
            })?;
        let prefix = config.api_prefix.trim_matches('/');
        let base = config.base_url.trim_end_matches('/');
        let api_base = if prefix.is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{prefix}")
        };
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                api_base,
                tokens: auth::TokenSource::new(
                    config.auth,
                    config.default_token_life,
                    auth::KeyReread {
                        source: config.key_source,
                        interval: config.key_reread_interval,
                    },
                ),
                type_ids: config.type_ids,
                retry: config.retry,
                page_size: config.page_size,
            }),
        })
    }

    pub fn type_ids(&self) -> &TypeIds {
        &self.inner.type_ids
    }

    /// How many token requests this client has made (refresh observability).
    pub fn token_requests(&self) -> u64 {
        self.inner.tokens.token_requests()
    }

    /// How many times this client has re-read its API key (rotation observability).
    pub fn key_rereads(&self) -> u64 {
        self.inner.tokens.key_rereads()
    }

    /// Sends one API call with authentication and retries; returns the JSON body (`Null` when empty).
    ///
    /// Refused credentials (401/403 from the API, 400/401/403 from the token endpoint) get one token
    /// refresh, then one re-read of the API key (rate-limited), each followed by a repeat; still
    /// refused, the call ends as [`GovernanceError::Unauthorized`], which is retryable and alarmed.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Value, GovernanceError> {
        let inner = &self.inner;
        let url = format!("{}{path}", inner.api_base);
        let mut attempt: u32 = 0;
        let mut rejected_token = None;
        let mut token_refreshed = false;
        let mut key_reread = false;
        loop {
            attempt += 1;
            let key_generation = inner.tokens.key_generation();
            let credential = match inner
                .tokens
                .credential(&inner.http, &inner.retry, rejected_token.as_ref())
                .await
            {
                Ok(credential) => credential,
                Err(GovernanceError::Auth { status, body, .. })
                    if matches!(status, 400 | 401 | 403) =>
                {
                    // The token endpoint refused the key: it may have been rotated.
                    if !key_reread {
                        key_reread = true;
                        if inner.tokens.reread_key(key_generation).await {
                            attempt -= 1;
                            continue;
                        }
                    }
                    return Err(GovernanceError::Unauthorized {
                        operation: "token request",
                        status,
                        body,
                    });
                }
                Err(error) => return Err(error),
            };
            let mut request = inner
                .http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, credential.header)
                .header(ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    // A failed connect never reached the server; a timeout may have.
                    let may_repeat = error.is_connect()
                        || (idempotency == Idempotency::Idempotent && error.is_timeout());
                    if may_repeat && attempt < inner.retry.max_attempts {
                        let delay = inner.retry.backoff(attempt);
                        tracing::warn!(operation, attempt, ?delay, error = %error_chain(&error), "governance call retried");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(GovernanceError::Transport {
                        operation,
                        message: inner.tokens.redact(&error_chain(&error)),
                    });
                }
            };
            let status = response.status();
            if status.is_success() {
                let text = response
                    .text()
                    .await
                    .map_err(|error| GovernanceError::Transport {
                        operation,
                        message: error_chain(&error),
                    })?;
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                return serde_json::from_str(&text).map_err(|error| GovernanceError::Decode {
                    operation,
                    message: format!("body is not JSON ({error}): {}", inner.tokens.redact(&text)),
                });
            }
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                if inner.tokens.uses_tokens() && !token_refreshed {
                    // The token was revoked or expired early: refresh once and repeat the call.
                    tracing::info!(
                        operation,
                        status = status.as_u16(),
                        mode = inner.tokens.mode_name(),
                        "credentials refused: refreshing the token once"
                    );
                    token_refreshed = true;
                    rejected_token = credential.token;
                    attempt -= 1;
                    continue;
                }
                if !key_reread {
                    key_reread = true;
                    if inner.tokens.reread_key(credential.key_generation).await {
                        rejected_token = None;
                        attempt -= 1;
                        continue;
                    }
                }
                let text = response.text().await.unwrap_or_default();
                tracing::error!(
                    operation,
                    status = status.as_u16(),
                    mode = inner.tokens.mode_name(),
                    code = govsync_core::ports::governance::GOVERNANCE_UNAUTHORIZED,
                    "governance refuses the credentials after a token refresh and a key re-read"
                );
                return Err(GovernanceError::Unauthorized {
                    operation,
                    status: status.as_u16(),
                    body: inner.tokens.redact(&text),
                });
            }
            if attempt < inner.retry.max_attempts
                && RetryPolicy::retries_status(status, idempotency)
            {
                let delay = inner.retry.delay_for(attempt, response.headers());
                tracing::warn!(
                    operation,
                    status = status.as_u16(),
                    attempt,
                    ?delay,
                    "governance call retried"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            let text = response.text().await.unwrap_or_default();
            return Err(GovernanceError::Status {
                operation,
                status: status.as_u16(),
                body: inner.tokens.redact(&text),
            });
        }
    }

    fn object_from(
        operation: &'static str,
        value: &Value,
    ) -> Result<GovernanceObject, GovernanceError> {
        decode_object(value).map_err(|message| GovernanceError::Decode { operation, message })
    }
}

fn path_segment(id: &GovernanceId) -> Result<&str, GovernanceError> {
    let id = id.as_str();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(GovernanceError::Config(format!(
            "{id:?} is not a governance object id"
        )));
    }
    Ok(id)
}

/// The error and its sources on one line.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Truncates `text` and masks every secret in it.
pub(crate) fn sanitize_body(text: &str, secrets: &[&str]) -> String {
    let mut clean = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        clean = clean.replace(secret, "***");
    }
    let mut cut: String = clean.chars().take(MAX_ERROR_BODY_CHARS).collect();
    if clean.chars().count() > MAX_ERROR_BODY_CHARS {
        cut.push('…');
    }
    cut
}

impl Governance for GovernanceClient {
    async fn get_object(&self, id: &GovernanceId) -> Result<GovernanceObject, GovernanceError> {
        const OP: &str = "get object";
        let path = format!("/contents/{}", path_segment(id)?);
        match self
            .call(OP, Method::GET, &path, None, Idempotency::Idempotent)
            .await
        {
            Ok(value) => Self::object_from(OP, &value),
            Err(GovernanceError::Status { status: 404, .. }) => Err(GovernanceError::NotFound {
                operation: OP,
                id: id.to_string(),
            }),
            Err(error) => Err(error),
        }
    }

    async fn create_object(
        &self,
        object: &NewGovernanceObject,
    ) -> Result<GovernanceObject, GovernanceError> {
        const OP: &str = "create object";
        // A root object has an empty primary parent; types may require a title, and govsync
        // titles every object with its name (govsync choice).
        let mut body = json!({
            "name": object.name,
            "title": object.name,
            "type_definition_id": self.inner.type_ids.of(object.kind),
            "primary_parent_id": object.parent_id.as_ref().map_or("", GovernanceId::as_str),
            "fields": wire::encode_fields(&object.fields),
        });
        if let Some(description) = &object.description {
            body["description"] = json!(description);
        }
        let value = self
            .call(
                OP,
                Method::POST,
                "/contents",
                Some(&body),
                Idempotency::NotIdempotent,
            )
            .await?;
        Self::object_from(OP, &value)
    }

    async fn update_object(
        &self,
        id: &GovernanceId,
        fields: &[Field],
        description: Option<&str>,
    ) -> Result<GovernanceObject, GovernanceError> {
        const OP: &str = "update object";
        let path = format!("/contents/{}", path_segment(id)?);
        let mut body = json!({ "fields": wire::encode_fields(fields) });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        match self
            .call(OP, Method::PUT, &path, Some(&body), Idempotency::Idempotent)
            .await
        {
            Ok(value) if value.is_null() => self.get_object(id).await,
            Ok(value) => Self::object_from(OP, &value),
            Err(GovernanceError::Status { status: 404, .. }) => Err(GovernanceError::NotFound {
                operation: OP,
                id: id.to_string(),
            }),
            Err(error) => Err(error),
        }
    }

    async fn query(&self, query: &GovernanceQuery) -> Result<Vec<QueryRow>, GovernanceError> {
        const OP: &str = "query";
        let statement = statement::statement(&self.inner.type_ids, query)?;
        let page_size = self.inner.page_size;
        let mut rows = Vec::new();
        let mut offset: u64 = 0;
        for _ in 0..MAX_QUERY_PAGES {
            // The request as IBM's client shapes it (openpages_client.py `query`).
            let body = json!({
                "statement": statement,
                "offset": offset,
                "limit": page_size,
                "max_rows": MAX_ROWS,
                "case_insensitive": false,
                "honor_primary": false,
            });
            let value = self
                .call(
                    OP,
                    Method::POST,
                    "/query",
                    Some(&body),
                    Idempotency::Idempotent,
                )
                .await?;
            let page = decode_query_page(&value).map_err(|message| GovernanceError::Decode {
                operation: OP,
                message,
            })?;
            let received = page.rows.len() as u64;
            rows.extend(page.rows);
            // Follow `next` in whatever form it came; without one, a full page may not be the last.
            let next = match page.next {
                Some(next) => next,
                None if received > 0 && received >= u64::from(page_size) => offset + received,
                None => return Ok(rows),
            };
            if next <= offset {
                return Err(GovernanceError::Decode {
                    operation: OP,
                    message: format!("`next` = {next} does not advance past offset {offset}"),
                });
            }
            offset = next;
        }
        Err(GovernanceError::Decode {
            operation: OP,
            message: format!("more than {MAX_QUERY_PAGES} pages: the paging does not end"),
        })
    }

    async fn find_by_external_id(
        &self,
        kind: GovernanceKind,
        external_id: &str,
    ) -> Result<ExternalIdLookup, GovernanceError> {
        let rows = self
            .query(&GovernanceQuery {
                kind,
                columns: vec!["Name".to_owned()],
                condition: Some(QueryCondition::Equals {
                    field: EXTERNAL_ID_FIELD.to_owned(),
                    value: external_id.to_owned(),
                }),
            })
            .await?;
        let ids = rows
            .into_iter()
            .map(|row| {
                row.id.ok_or_else(|| GovernanceError::Decode {
                    operation: "find by external id",
                    message: "query row without a Resource ID".to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        match ids.as_slice() {
            [] => Ok(ExternalIdLookup::Absent),
            [id] => Ok(ExternalIdLookup::Found(self.get_object(id).await?)),
            _ => {
                tracing::warn!(
                    external_id,
                    count = ids.len(),
                    "several governance objects share one external id"
                );
                Ok(ExternalIdLookup::Ambiguous(ids))
            }
        }
    }
}

/// Calls the ports do not need (tests and operators use them).
impl GovernanceClient {
    /// `POST /contents/{id}/associations`: links `id` to each other object by relation.
    pub async fn associate(
        &self,
        id: &GovernanceId,
        related: &[Related],
    ) -> Result<(), GovernanceError> {
        const OP: &str = "associate";
        if related.is_empty() {
            return Ok(());
        }
        let path = format!("/contents/{}/associations", path_segment(id)?);
        let body = json!({
            "associations": related
                .iter()
                .map(|other| json!({"id": other.id.as_str(), "type": other.relation.as_str()}))
                .collect::<Vec<_>>(),
        });
        self.call(
            OP,
            Method::POST,
            &path,
            Some(&body),
            Idempotency::NotIdempotent,
        )
        .await
        .map(|_| ())
    }

    /// `DELETE /contents/{id}/associations?parents=…&children=…`: removes the links to each other
    /// object (comma-separated ids per relation, as IBM's client sends them).
    pub async fn dissociate(
        &self,
        id: &GovernanceId,
        related: &[Related],
    ) -> Result<(), GovernanceError> {
        const OP: &str = "dissociate";
        if related.is_empty() {
            return Ok(());
        }
        let mut parameters = Vec::new();
        for relation in [Relation::Parent, Relation::Child] {
            let ids = related
                .iter()
                .filter(|other| other.relation == relation)
                .map(|other| path_segment(&other.id))
                .collect::<Result<Vec<_>, _>>()?;
            if !ids.is_empty() {
                parameters.push(format!(
                    "{}={}",
                    relation.removal_parameter(),
                    ids.join(",")
                ));
            }
        }
        let path = format!(
            "/contents/{}/associations?{}",
            path_segment(id)?,
            parameters.join("&")
        );
        self.call(OP, Method::DELETE, &path, None, Idempotency::Idempotent)
            .await
            .map(|_| ())
    }

    pub async fn type_definition(
        &self,
        kind: GovernanceKind,
    ) -> Result<TypeDefinition, GovernanceError> {
        const OP: &str = "type definition";
        let type_id = self.inner.type_ids.of(kind);
        if type_id.is_empty()
            || !type_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(GovernanceError::Config(format!(
                "{type_id:?} is not a usable type id"
            )));
        }
        let value = self
            .call(
                OP,
                Method::GET,
                &format!("/types/{type_id}"),
                None,
                Idempotency::Idempotent,
            )
            .await?;
        decode_type_definition(type_id, &value).map_err(|message| GovernanceError::Decode {
            operation: OP,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> GovernanceClient {
        let auth = GovernanceAuth::Basic {
            username: "admin".to_owned(),
            password: govsync_core::secret::Secret::new("admin"),
        };
        GovernanceClient::new(GovernanceConfig::new("http://127.0.0.1:1/", auth)).unwrap()
    }

    #[test]
    fn error_bodies_are_truncated_and_never_show_secrets() {
        let body = format!("bad key sekret {}", "x".repeat(1000));
        let clean = sanitize_body(&body, &["sekret"]);
        assert!(!clean.contains("sekret"));
        assert!(clean.chars().count() <= MAX_ERROR_BODY_CHARS + 1);
    }

    #[test]
    fn api_base_joins_the_console_url_and_prefix() {
        assert_eq!(client().inner.api_base, "http://127.0.0.1:1/opgrc/api/v2");
        let auth = GovernanceAuth::Basic {
            username: "admin".to_owned(),
            password: govsync_core::secret::Secret::new("admin"),
        };
        let mut config = GovernanceConfig::new("https://cpd.example.com", auth);
        config.api_prefix = cp4d_api_prefix("grc1").unwrap();
        let cp4d = GovernanceClient::new(config).unwrap();
        assert_eq!(
            cp4d.inner.api_base,
            "https://cpd.example.com/openpages-grc1-opgrc/api/v2"
        );
    }

    #[test]
    fn cp4d_prefixes_come_from_plain_instance_names_only() {
        assert_eq!(
            cp4d_api_prefix("openpagesinstance-with-25").unwrap(),
            "/openpages-openpagesinstance-with-25-opgrc/api/v2"
        );
        for bad in ["", "a/b", "x y", "../x"] {
            assert!(cp4d_api_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn page_sizes_above_ibms_cap_are_refused() {
        let auth = GovernanceAuth::Basic {
            username: "admin".to_owned(),
            password: govsync_core::secret::Secret::new("admin"),
        };
        let mut config = GovernanceConfig::new("http://127.0.0.1:1", auth);
        config.page_size = MAX_PAGE_SIZE + 1;
        assert!(matches!(
            GovernanceClient::new(config),
            Err(GovernanceError::Config(_))
        ));
    }
}
