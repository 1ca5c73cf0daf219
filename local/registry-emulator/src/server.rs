//! HTTP: the awsJson1.1 endpoint (`POST /`), the admin routes under `/_emulator/`, and event delivery.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::Config;
use crate::error::{AMZ_JSON_1_1, ApiError};
use crate::events::Event;
use crate::presigned_url::{self, IssuedUrls};
use crate::publisher::Publisher;
use crate::registry::{CallContext, Operation, RamOperation, Registries};
use crate::sigv4::credential_scope;
use crate::sts::StsResolver;

/// How many published events `GET /_emulator/events` remembers.
const EVENT_LOG_CAPACITY: usize = 10_000;

pub struct AppState {
    config: Config,
    registries: Mutex<Registries>,
    /// Also serialises delivery, so events reach the bus in the order the changes happened.
    event_log: Mutex<VecDeque<Value>>,
    publisher: Option<Publisher>,
    sts: Option<StsResolver>,
    /// Links handed out by CreatePresignedDomainUrl.
    issued_urls: Mutex<IssuedUrls>,
}

impl AppState {
    pub fn new(config: Config, publisher: Option<Publisher>) -> Self {
        let sts = config
            .sts_endpoint
            .as_deref()
            .and_then(|endpoint| match StsResolver::new(endpoint) {
                Ok(resolver) => Some(resolver),
                Err(error) => {
                    tracing::error!(error = %error, "cannot build the STS client; temporary keys fall back to the default account");
                    None
                }
            });
        Self {
            sts,
            config,
            registries: Mutex::new(Registries::default()),
            event_log: Mutex::new(VecDeque::new()),
            publisher,
            issued_urls: Mutex::new(IssuedUrls::default()),
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(api))
        .route("/createresourceshare", post(create_resource_share))
        .route("/deleteresourceshare", delete(delete_resource_share))
        .route("/_emulator/health", get(health))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/events", get(list_events))
        .route(presigned_url::AUTH_PATH, get(studio_auth))
        .route("/_emulator/studio/issued", get(list_issued_urls))
        .fallback(not_found)
        .with_state(state)
}

fn context(
    config: &Config,
    headers: &HeaderMap,
    request_id: String,
    resolved: Option<&str>,
) -> CallContext {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let scope = header_text(header::AUTHORIZATION).and_then(|auth| credential_scope(&auth));
    let (access_key_id, region) = match scope {
        Some(scope) => (scope.access_key_id, scope.region),
        None => ("anonymous".to_owned(), config.default_region.clone()),
    };
    CallContext {
        caller: config.caller_resolved(&access_key_id, resolved),
        region,
        user_agent: header_text(header::USER_AGENT).unwrap_or_default(),
        request_id,
    }
}

/// The call's context, its caller asked of STS when the key is a temporary one the table does not list.
async fn resolved_context(app: &AppState, headers: &HeaderMap, request_id: String) -> CallContext {
    let resolved = match (&app.sts, access_key_of(headers)) {
        (Some(sts), Some((key, region))) if app.config.asks_sts(&key) => {
            sts.caller_arn(&key, &region).await
        }
        _ => None,
    };
    context(&app.config, headers, request_id, resolved.as_deref())
}

async fn create_resource_share(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    ram(
        &app,
        &headers,
        RamOperation::CreateResourceShare,
        &body,
        None,
    )
    .await
}

async fn delete_resource_share(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let share = query.get("resourceShareArn").map(String::as_str);
    ram(
        &app,
        &headers,
        RamOperation::DeleteResourceShare,
        &[],
        share,
    )
    .await
}

/// AWS RAM (restJson1): JSON answers, errors as the SageMaker API's (the code in `x-amzn-ErrorType`).
async fn ram(
    app: &AppState,
    headers: &HeaderMap,
    operation: RamOperation,
    body: &[u8],
    share: Option<&str>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let ctx = resolved_context(app, headers, request_id.clone()).await;
    let result = app
        .registries
        .lock()
        .await
        .ram_call(&ctx, operation, body, share);
    tracing::info!(operation = ?operation, caller = %ctx.caller.arn, ok = result.is_ok(), "ram");
    let response = match result {
        Ok(outcome) => {
            let mut answer = (StatusCode::OK, outcome.response.to_string()).into_response();
            answer.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            answer
        }
        Err(error) => error.into_response(),
    };
    with_request_id(response, &request_id)
}

/// The access key id and region of a signed request.
fn access_key_of(headers: &HeaderMap) -> Option<(String, String)> {
    let scope = credential_scope(headers.get(header::AUTHORIZATION)?.to_str().ok()?)?;
    Some((scope.access_key_id, scope.region))
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

async fn api(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // Not a registry call: it needs the Studio configuration and how the caller reached the emulator.
    if target == presigned_url::TARGET {
        return presign(&app, &headers, &body, request_id).await;
    }
    let operation = match Operation::from_target(target) {
        Ok(operation) => operation,
        Err(error) => {
            tracing::warn!(target = target, error = %error, "unsupported operation");
            return with_request_id(error.into_response(), &request_id);
        }
    };
    let ctx = resolved_context(&app, &headers, request_id.clone()).await;

    let mut registries = app.registries.lock().await;
    let (result, events) = match registries.call(&ctx, operation, &body) {
        Ok(outcome) => (Ok(outcome.response), outcome.events),
        Err(error) => {
            let events = if app.config.record_failed_calls {
                registries
                    .failed_call_event(&ctx, operation, &body, &error)
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            };
            (Err(error), events)
        }
    };
    // Take the delivery lock before releasing the registry: the next change cannot overtake these
    // events on the bus, and the caller gets its answer only after they are delivered.
    let mut log = app.event_log.lock().await;
    drop(registries);
    deliver(&app, &mut log, &events).await;
    drop(log);

    match result {
        Ok(response) => {
            tracing::info!(
                operation = operation.name(),
                region = %ctx.region,
                caller = %ctx.caller.arn,
                events = events.len(),
                "ok"
            );
            let mut answer = (StatusCode::OK, response.to_string()).into_response();
            answer
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON_1_1));
            with_request_id(answer, &request_id)
        }
        Err(error) => {
            tracing::info!(
                operation = operation.name(),
                region = %ctx.region,
                error_type = error.code(),
                retryable = error.is_retryable(),
                error = %error,
                "rejected"
            );
            with_request_id(error.into_response(), &request_id)
        }
    }
}

/// CreatePresignedDomainUrl (see `presigned_url`).
async fn presign(app: &AppState, headers: &HeaderMap, body: &[u8], request_id: String) -> Response {
    let ctx = resolved_context(app, headers, request_id.clone()).await;
    let base_url = format!("http://{}", emulator_authority(&app.config, headers));
    let result = app.issued_urls.lock().await.create(
        &app.config.studio_domains,
        &ctx,
        &base_url,
        body,
        chrono::Utc::now(),
    );
    let response = match result {
        Ok(answer) => {
            tracing::info!(operation = "CreatePresignedDomainUrl", region = %ctx.region, caller = %ctx.caller.arn, "ok");
            let mut answer = (StatusCode::OK, answer.to_string()).into_response();
            answer
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON_1_1));
            answer
        }
        Err(error) => {
            tracing::info!(operation = "CreatePresignedDomainUrl", region = %ctx.region, error_type = error.code(), error = %error, "rejected");
            error.into_response()
        }
    };
    with_request_id(response, &request_id)
}

/// `host:port` as the caller reached the emulator (its `Host` header), so the link it gets back works
/// from where it is; the bound address when the header is missing or holds anything unexpected.
fn emulator_authority(config: &Config, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .map_or_else(
            || std::net::SocketAddr::new(config.host, config.port).to_string(),
            str::to_owned,
        )
}

/// The page an issued link opens: the emulator's stand-in for SageMaker Studio, not AWS's page.
async fn studio_auth(
    State(app): State<Arc<AppState>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let page = app
        .issued_urls
        .lock()
        .await
        .auth_page(query.get("token").map(String::as_str), chrono::Utc::now());
    let status = if page.signed_in {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    let mut response = (status, page.html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn list_issued_urls(State(app): State<Arc<AppState>>) -> Response {
    let issued = app.issued_urls.lock().await.list(chrono::Utc::now());
    axum::Json(issued).into_response()
}

async fn deliver(app: &AppState, log: &mut VecDeque<Value>, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    let bus = app
        .publisher
        .as_ref()
        .map_or(app.config.event_bus.as_str(), Publisher::bus);
    let (delivery, error) = match &app.publisher {
        None => ("memory-only", None),
        Some(publisher) => match publisher.publish(events).await {
            Ok(()) => ("published", None),
            Err(error) => {
                tracing::error!(
                    error = %error,
                    retryable = error.is_retryable(),
                    events = events.len(),
                    "publishing to EventBridge failed; the API call still succeeds"
                );
                ("failed", Some(error.to_string()))
            }
        },
    };
    for event in events {
        if log.len() >= EVENT_LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(json!({
            "bus": bus,
            "delivery": delivery,
            "error": error,
            "event": event.envelope(),
        }));
    }
}

async fn health() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn reset(State(app): State<Arc<AppState>>) -> Response {
    let mut registries = app.registries.lock().await;
    let mut log = app.event_log.lock().await;
    registries.reset();
    log.clear();
    app.issued_urls.lock().await.clear();
    tracing::info!("state reset");
    axum::Json(json!({ "status": "reset" })).into_response()
}

async fn list_events(State(app): State<Arc<AppState>>) -> Response {
    let log = app.event_log.lock().await;
    axum::Json(json!({ "events": log.iter().collect::<Vec<_>>() })).into_response()
}

async fn not_found() -> Response {
    let error = ApiError::UnknownOperation(
        "Not found: the SageMaker API is served at POST / (X-Amz-Target: SageMaker.<Operation>); admin routes are under /_emulator/".into(),
    );
    let mut response = error.into_response();
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        match crate::config::parse(
            [
                "--identity".to_owned(),
                "ADMIN=arn:aws:sts::210987654321:assumed-role/ml-admin/alice".to_owned(),
            ],
            |_| None,
        ) {
            Ok(crate::config::Command::Run(config)) => config,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn context_reads_region_and_identity_from_the_signature() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=ADMIN/20260102/eu-central-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00",
            ),
        );
        headers.insert(header::USER_AGENT, HeaderValue::from_static("Boto3/1.44.8"));
        let ctx = context(&config(), &headers, "r1".into(), None);
        assert_eq!(ctx.region, "eu-central-1");
        assert_eq!(
            ctx.caller.arn,
            "arn:aws:sts::210987654321:assumed-role/ml-admin/alice"
        );
        assert_eq!(ctx.caller.account, "210987654321");
        assert_eq!(ctx.user_agent, "Boto3/1.44.8");
    }

    #[test]
    fn issued_links_name_the_host_the_caller_used() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4567"));
        assert_eq!(emulator_authority(&config(), &headers), "127.0.0.1:4567");
        headers.insert(header::HOST, HeaderValue::from_static("evil\"><script>"));
        assert_eq!(emulator_authority(&config(), &headers), "127.0.0.1:0");
        assert_eq!(
            emulator_authority(&config(), &HeaderMap::new()),
            "127.0.0.1:0"
        );
    }

    #[test]
    fn unsigned_requests_use_the_default_region() {
        let ctx = context(&config(), &HeaderMap::new(), "r1".into(), None);
        assert_eq!(ctx.region, "us-east-1");
        assert_eq!(ctx.caller.arn, "arn:aws:iam::123456789012:user/anonymous");
    }
}
