//! The governance client against a tiny in-test HTTP server on 127.0.0.1: retries, token refresh,
//! shared refresh, paging, key rotation and refused credentials. Runs without the local stack.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::future::BoxFuture;
use govsync_adapters::governance::{
    ApiKeySource, GovernanceAuth, GovernanceClient, GovernanceConfig, KeySourceError, RetryPolicy,
};
use govsync_core::ports::{
    ExternalIdLookup, Field, Governance, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceQuery, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use serde_json::{Value, json};

const API_KEY: &str = "unit-test-api-key";

#[derive(Default)]
struct Fault {
    status: u16,
    remaining: u32,
    retry_after: Option<&'static str>,
}

#[derive(Default)]
struct Server {
    token_requests: AtomicU64,
    api_calls: AtomicU64,
    /// Tokens the server honours.
    valid_tokens: Mutex<Vec<String>>,
    fault: Mutex<Fault>,
    /// Rows served by `/query`, paged by `offset`/`limit`.
    rows: Mutex<Vec<Value>>,
    token_delay: Duration,
    /// Bodies received by `PUT /contents/{id}`, in order.
    put_bodies: Mutex<Vec<Value>>,
    /// The API key the token endpoint accepts after a rotation (`None`: [`API_KEY`]).
    rotated_key: Mutex<Option<String>>,
}

impl Server {
    fn expire_tokens(&self) {
        self.valid_tokens
            .lock()
            .map(|mut tokens| tokens.clear())
            .unwrap_or_default();
    }

    /// The key is rotated: only `key` gets tokens from now on, and tokens of the old key are revoked.
    fn rotate_key(&self, key: &str) {
        if let Ok(mut accepted) = self.rotated_key.lock() {
            *accepted = Some(key.to_owned());
        }
        self.expire_tokens();
    }

    fn accepted_key(&self) -> String {
        self.rotated_key
            .lock()
            .ok()
            .and_then(|key| key.clone())
            .unwrap_or_else(|| API_KEY.to_owned())
    }

    fn inject(&self, status: u16, count: u32, retry_after: Option<&'static str>) {
        if let Ok(mut fault) = self.fault.lock() {
            *fault = Fault {
                status,
                remaining: count,
                retry_after,
            };
        }
    }
}

async fn token(State(server): State<Arc<Server>>, Json(body): Json<Value>) -> Response {
    server.token_requests.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(server.token_delay).await;
    if body.get("apikey").and_then(Value::as_str) != Some(server.accepted_key().as_str()) {
        return (StatusCode::BAD_REQUEST, "invalid api key").into_response();
    }
    let token = format!("token-{}", server.token_requests.load(Ordering::SeqCst));
    server
        .valid_tokens
        .lock()
        .map(|mut tokens| tokens.push(token.clone()))
        .unwrap_or_default();
    Json(json!({"token": token, "expires_in": 3600})).into_response()
}

/// Authenticates and applies an injected fault; `Some(response)` ends the call.
fn gate(server: &Server, headers: &HeaderMap) -> Option<Response> {
    server.api_calls.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let known = server
        .valid_tokens
        .lock()
        .map(|tokens| tokens.contains(&bearer))
        .unwrap_or(false);
    if !known {
        return Some((StatusCode::UNAUTHORIZED, "token expired").into_response());
    }
    let mut fault = server.fault.lock().ok()?;
    if fault.remaining > 0 {
        fault.remaining -= 1;
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, format!("injected {status}")).into_response();
        if let Some(seconds) = fault.retry_after {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static(seconds));
        }
        return Some(response);
    }
    None
}

fn object(id: &str) -> Value {
    json!({
        "id": id, "name": format!("object {id}"), "type_definition_id": "Model",
        "primary_parent_id": "1",
        "fields": [{"name": "MRG-Model:Status", "value": {"name": "Proposed"}}],
    })
}

async fn get_content(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = gate(&server, &headers) {
        return response;
    }
    if id == "404" {
        return (StatusCode::NOT_FOUND, "no such object").into_response();
    }
    Json(object(&id)).into_response()
}

async fn create_content(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(response) = gate(&server, &headers) {
        return response;
    }
    if body.get("type_definition_id").and_then(Value::as_str) != Some("Model") {
        return (StatusCode::BAD_REQUEST, "unknown type").into_response();
    }
    Json(object("500")).into_response()
}

/// Records the body and answers with the object as updated (description and fields as sent).
async fn put_content(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(response) = gate(&server, &headers) {
        return response;
    }
    server
        .put_bodies
        .lock()
        .map(|mut bodies| bodies.push(body.clone()))
        .unwrap_or_default();
    let mut answer = object(&id);
    if let Some(description) = body.get("description") {
        answer["description"] = description.clone();
    }
    Json(answer).into_response()
}

async fn query(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(response) = gate(&server, &headers) {
        return response;
    }
    let offset = body.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(100) as usize;
    let rows = server
        .rows
        .lock()
        .map(|rows| rows.clone())
        .unwrap_or_default();
    let page: Vec<Value> = rows.iter().skip(offset).take(limit).cloned().collect();
    let mut answer = json!({"rows": page, "offset": offset, "limit": limit});
    if offset + limit < rows.len() {
        answer["next"] = json!(offset + limit);
    }
    Json(answer).into_response()
}

async fn start(server: Arc<Server>) -> String {
    let router = Router::new()
        .route("/api/2.0/services/{instance}/apikeys/token", post(token))
        .route(
            "/opgrc/api/v2/contents/{id}",
            get(get_content).put(put_content),
        )
        .route("/opgrc/api/v2/contents", post(create_content))
        .route("/opgrc/api/v2/query", post(query))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|error| panic!("cannot bind a test port: {error}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|error| panic!("no local address: {error}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

fn client(base: &str, page_size: u32) -> GovernanceClient {
    let mut config = GovernanceConfig::new(
        base,
        GovernanceAuth::Mcsp {
            token_url: format!("{base}/api/2.0/services/inst-1/apikeys/token"),
            api_key: Secret::new(API_KEY),
        },
    );
    config.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    };
    config.page_size = page_size;
    GovernanceClient::new(config).unwrap_or_else(|error| panic!("client: {error}"))
}

#[tokio::test]
async fn throttled_call_waits_retry_after_then_succeeds() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    client.get_object(&gid("7")).await.unwrap();
    server.inject(429, 2, Some("1"));
    let started = Instant::now();
    let object = client.get_object(&gid("7")).await.unwrap();
    assert_eq!(object.id.as_str(), "7");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_the_attempt_cap() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    client.get_object(&gid("7")).await.unwrap();
    server.inject(503, 3, None);
    client.get_object(&gid("7")).await.unwrap();
    server.inject(500, 10, None);
    let before = server.api_calls.load(Ordering::SeqCst);
    let error = client.get_object(&gid("7")).await.unwrap_err();
    assert_eq!(server.api_calls.load(Ordering::SeqCst) - before, 4);
    assert_eq!(error.status(), Some(500));
    assert!(error.is_retryable());
}

#[tokio::test]
async fn client_errors_are_not_retried_and_404_is_not_found() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    client.get_object(&gid("7")).await.unwrap();
    server.inject(400, 5, None);
    let before = server.api_calls.load(Ordering::SeqCst);
    let error = client.get_object(&gid("7")).await.unwrap_err();
    assert_eq!(server.api_calls.load(Ordering::SeqCst) - before, 1);
    assert!(
        matches!(error, GovernanceError::Status { status: 400, .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    server.inject(400, 0, None);
    let missing = client.get_object(&gid("404")).await.unwrap_err();
    assert!(
        matches!(missing, GovernanceError::NotFound { .. }),
        "{missing:?}"
    );
}

#[tokio::test]
async fn creation_is_not_repeated_after_a_bad_gateway() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    client.get_object(&gid("7")).await.unwrap();
    server.inject(502, 1, None);
    let before = server.api_calls.load(Ordering::SeqCst);
    let new = NewGovernanceObject {
        kind: GovernanceKind::Model,
        name: "credit-risk v1".to_owned(),
        description: None,
        parent_id: Some(gid("1")),
        fields: vec![Field::choice("MRG-Model:Status", "Proposed")],
    };
    let error = client.create_object(&new).await.unwrap_err();
    assert_eq!(server.api_calls.load(Ordering::SeqCst) - before, 1);
    assert!(
        error.is_retryable(),
        "the queue may retry after a lookup: {error:?}"
    );
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_call_repeated() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    client.get_object(&gid("7")).await.unwrap();
    assert_eq!(server.token_requests.load(Ordering::SeqCst), 1);
    server.expire_tokens();
    client.get_object(&gid("7")).await.unwrap();
    assert_eq!(server.token_requests.load(Ordering::SeqCst), 2);
    assert_eq!(client.token_requests(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let server = Arc::new(Server {
        token_delay: Duration::from_millis(200),
        ..Server::default()
    });
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    let calls = (0..12).map(|i| {
        let client = client.clone();
        tokio::spawn(async move { client.get_object(&gid(i.to_string())).await })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(server.token_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn query_follows_next_across_pages_and_lookup_classifies_matches() {
    let server = Arc::new(Server::default());
    if let Ok(mut rows) = server.rows.lock() {
        *rows = (1..=5)
            .map(|i| json!({"fields": [{"name": "Resource ID", "value": i.to_string()}]}))
            .collect();
    }
    let base = start(server.clone()).await;
    let client = client(&base, 2);
    let rows = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::Model,
            columns: vec!["Name".to_owned()],
            condition: None,
        })
        .await
        .unwrap();
    let ids: Vec<_> = rows
        .iter()
        .filter_map(|row| row.id.as_ref())
        .map(GovernanceId::as_str)
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let lookup = client
        .find_by_external_id(GovernanceKind::Model, "arn:x")
        .await
        .unwrap();
    assert!(
        matches!(lookup, ExternalIdLookup::Ambiguous(ref ids) if ids.len() == 5),
        "{lookup:?}"
    );
    if let Ok(mut rows) = server.rows.lock() {
        rows.truncate(1);
    }
    let lookup = client
        .find_by_external_id(GovernanceKind::Model, "arn:x")
        .await
        .unwrap();
    assert!(
        matches!(lookup, ExternalIdLookup::Found(ref object) if object.id.as_str() == "1"),
        "{lookup:?}"
    );
    if let Ok(mut rows) = server.rows.lock() {
        rows.clear();
    }
    let lookup = client
        .find_by_external_id(GovernanceKind::Model, "arn:x")
        .await
        .unwrap();
    assert_eq!(lookup, ExternalIdLookup::Absent);
}

#[tokio::test]
async fn wrong_api_key_is_a_retryable_unauthorized_error_without_the_key() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let mut config = GovernanceConfig::new(
        &base,
        GovernanceAuth::Mcsp {
            token_url: format!("{base}/api/2.0/services/inst-1/apikeys/token"),
            api_key: Secret::new("wrong-key-value"),
        },
    );
    config.retry.max_attempts = 1;
    let client = GovernanceClient::new(config).unwrap_or_else(|error| panic!("{error}"));
    let error = client.get_object(&gid("7")).await.unwrap_err();
    assert!(
        matches!(error, GovernanceError::Unauthorized { status: 400, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(error.code(), "governance_unauthorized");
    assert!(!format!("{error} {error:?}").contains("wrong-key-value"));
}

fn gid(id: impl AsRef<str>) -> GovernanceId {
    GovernanceId::parse(id.as_ref()).unwrap_or_else(|error| panic!("{error}"))
}

#[tokio::test]
async fn update_sends_the_description_only_when_given() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let client = client(&base, 100);
    let fields = [Field::text("Integration:Last Update", "2026-11-27")];
    let updated = client
        .update_object(&gid("77"), &fields, Some("retrained on 2026 data"))
        .await
        .unwrap_or_else(|error| panic!("update: {error}"));
    assert_eq!(
        updated.description.as_deref(),
        Some("retrained on 2026 data")
    );
    client
        .update_object(&gid("77"), &fields, None)
        .await
        .unwrap_or_else(|error| panic!("update: {error}"));
    let bodies = server
        .put_bodies
        .lock()
        .map(|bodies| bodies.clone())
        .unwrap_or_default();
    assert_eq!(
        bodies,
        vec![
            json!({
                "description": "retrained on 2026 data",
                "fields": [{"name": "Integration:Last Update", "value": "2026-11-27"}],
            }),
            json!({
                "fields": [{"name": "Integration:Last Update", "value": "2026-11-27"}],
            }),
        ]
    );
}

/// The API key as a secret store holds it; tests rotate it under a running client.
#[derive(Debug)]
struct StoredKey {
    key: Mutex<String>,
    reads: AtomicU64,
}

impl StoredKey {
    fn holding(key: &str) -> Arc<Self> {
        Arc::new(Self {
            key: Mutex::new(key.to_owned()),
            reads: AtomicU64::new(0),
        })
    }

    fn store(&self, key: &str) {
        if let Ok(mut stored) = self.key.lock() {
            *stored = key.to_owned();
        }
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

impl ApiKeySource for StoredKey {
    fn current_key(&self) -> BoxFuture<'_, Result<Secret, KeySourceError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let key = self
            .key
            .lock()
            .map(|key| key.clone())
            .map_err(|_| KeySourceError("poisoned".to_owned()));
        Box::pin(async move { key.map(Secret::new) })
    }
}

/// A client that starts with `API_KEY` and re-reads it from `source` at most once per `interval`.
fn client_reading_key_from(
    base: &str,
    source: Arc<StoredKey>,
    interval: Duration,
) -> GovernanceClient {
    let mut config = GovernanceConfig::new(
        base,
        GovernanceAuth::Mcsp {
            token_url: format!("{base}/api/2.0/services/inst-1/apikeys/token"),
            api_key: Secret::new(API_KEY),
        },
    )
    .with_key_source(source);
    config.retry.max_attempts = 1;
    config.key_reread_interval = interval;
    GovernanceClient::new(config).unwrap_or_else(|error| panic!("client: {error}"))
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_a_running_client_without_a_restart() {
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let store = StoredKey::holding(API_KEY);
    let client = client_reading_key_from(&base, store.clone(), Duration::from_secs(30));
    client.get_object(&gid("7")).await.unwrap();
    assert_eq!(
        store.reads(),
        0,
        "the key given at start is used until refused"
    );

    // Rotation: the store holds the new key, governance revokes the old one and its tokens.
    store.store("rotated-api-key");
    server.rotate_key("rotated-api-key");
    let object = client.get_object(&gid("7")).await.unwrap();
    assert_eq!(object.id.as_str(), "7");
    assert_eq!(client.key_rereads(), 1);
    assert_eq!(store.reads(), 1);
    // The first token, the refused refresh with the old key, the token of the new key.
    assert_eq!(server.token_requests.load(Ordering::SeqCst), 3);

    client.get_object(&gid("8")).await.unwrap();
    assert_eq!(store.reads(), 1, "the new key's token is reused");
}

#[tokio::test]
async fn a_permanently_refused_key_ends_as_a_retryable_alarmed_error_and_rereads_are_rate_limited()
{
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let store = StoredKey::holding(API_KEY);
    let client = client_reading_key_from(&base, store.clone(), Duration::from_millis(300));
    client.get_object(&gid("7")).await.unwrap();

    // The key is revoked and the store was never updated.
    server.rotate_key("a-key-govsync-was-never-given");
    let error = client.get_object(&gid("7")).await.unwrap_err();
    assert!(
        matches!(error, GovernanceError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable(), "held for retry, never dead-lettered");
    assert!(error.is_unauthorized());
    assert_eq!(error.code(), "governance_unauthorized");
    assert!(!format!("{error} {error:?}").contains(API_KEY));
    assert_eq!(store.reads(), 1);

    // Within the interval a refusal does not read the store again.
    let again = client.get_object(&gid("7")).await.unwrap_err();
    assert_eq!(again.code(), "governance_unauthorized");
    assert_eq!(store.reads(), 1, "rate-limited");
    tokio::time::sleep(Duration::from_millis(350)).await;
    client.get_object(&gid("7")).await.unwrap_err();
    assert_eq!(store.reads(), 2, "read again once the interval has passed");
}

#[tokio::test]
async fn an_api_that_keeps_refusing_valid_tokens_is_unauthorized_after_one_refresh_and_one_reread()
{
    let server = Arc::new(Server::default());
    let base = start(server.clone()).await;
    let store = StoredKey::holding(API_KEY);
    let client = client_reading_key_from(&base, store.clone(), Duration::from_secs(30));
    client.get_object(&gid("7")).await.unwrap();
    for status in [401, 403] {
        server.inject(status, 100, None);
        let calls_before = server.api_calls.load(Ordering::SeqCst);
        let tokens_before = server.token_requests.load(Ordering::SeqCst);
        let error = client.get_object(&gid("7")).await.unwrap_err();
        assert!(
            matches!(error, GovernanceError::Unauthorized { status: s, .. } if s == status),
            "{error:?}"
        );
        assert!(error.is_retryable());
        assert_eq!(error.code(), "governance_unauthorized");
        assert_eq!(
            server.api_calls.load(Ordering::SeqCst) - calls_before,
            2,
            "{status}: the call, and its repeat with a refreshed token"
        );
        assert_eq!(
            server.token_requests.load(Ordering::SeqCst) - tokens_before,
            1
        );
    }
    assert_eq!(
        store.reads(),
        1,
        "the same key: no repeat, and the second refusal is rate-limited"
    );
}
