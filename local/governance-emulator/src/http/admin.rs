//! `/_emulator/*`: fault injection, token expiry, counters, reset, state dump, webhook target and
//! delivery log. Not part of OpenPages; used by tests.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use govsync_core::webhook::WebhookSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, json_body};
use crate::config::parse_url;
use crate::state::{AppState, Fault, FaultScope};

/// Upper bounds that keep a mistyped fault from wedging a test run.
const MAX_FAULT_COUNT: u32 = 100_000;
const MAX_LATENCY_MS: u64 = 60_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/faults",
            post(add_fault).delete(clear_faults).get(list_faults),
        )
        .route("/tokens/expire", post(expire_tokens))
        .route("/apikeys", post(add_api_key).get(list_api_keys))
        .route("/apikeys/{apikey}", delete(revoke_api_key))
        .route("/stats", get(stats))
        .route("/reset", post(reset))
        .route("/state", get(dump_state))
        .route("/webhook", put(set_webhook).get(get_webhook))
        .route("/webhooks", get(deliveries))
        .route("/health", get(health))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    status: Option<u16>,
    count: Option<u32>,
    retry_after_secs: Option<u64>,
    latency_ms: Option<u64>,
    subject: Option<String>,
    method: Option<String>,
    path_prefix: Option<String>,
}

async fn add_fault(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: FaultRequest = json_body(&body)?;
    if request.status.is_none() && request.latency_ms.is_none() {
        return Err(ApiError::BadRequest(
            "a fault needs 'status' and/or 'latency_ms'".to_owned(),
        ));
    }
    if let Some(status) = request.status
        && !(400..=599).contains(&status)
    {
        return Err(ApiError::BadRequest(format!(
            "'status' must be 400..=599, got {status}"
        )));
    }
    let count = request.count.unwrap_or(1);
    if count == 0 || count > MAX_FAULT_COUNT {
        return Err(ApiError::BadRequest(format!(
            "'count' must be 1..={MAX_FAULT_COUNT}"
        )));
    }
    if request.latency_ms.is_some_and(|ms| ms > MAX_LATENCY_MS) {
        return Err(ApiError::BadRequest(format!(
            "'latency_ms' must be at most {MAX_LATENCY_MS}"
        )));
    }
    for (name, value) in [
        ("subject", &request.subject),
        ("method", &request.method),
        ("path_prefix", &request.path_prefix),
    ] {
        if value.as_deref().is_some_and(str::is_empty) {
            return Err(ApiError::BadRequest(format!("'{name}' must not be empty")));
        }
    }
    if request
        .path_prefix
        .as_deref()
        .is_some_and(|prefix| !prefix.starts_with('/'))
    {
        return Err(ApiError::BadRequest(
            "'path_prefix' is a path under the API prefix and starts with '/', e.g. /contents"
                .to_owned(),
        ));
    }
    let mut data = state.lock();
    data.faults.push_back(Fault {
        status: request.status,
        retry_after_secs: request.retry_after_secs,
        latency_ms: request.latency_ms,
        remaining: count,
        scope: FaultScope {
            subject: request.subject,
            method: request.method,
            path_prefix: request.path_prefix,
        },
    });
    Ok((StatusCode::CREATED, Json(json!({ "faults": data.faults }))))
}

async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "faults": state.lock().faults }))
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyRequest {
    apikey: String,
    subject: String,
}

/// Adds an API key the mcsp and iam token endpoints accept; its tokens carry `subject`, so its
/// calls can be told apart (e.g. by a fault's `subject` scope). Adding a key again replaces its subject.
async fn add_api_key(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: ApiKeyRequest = json_body(&body)?;
    if request.apikey.is_empty() || request.subject.is_empty() {
        return Err(ApiError::BadRequest(
            "'apikey' and 'subject' must not be empty".to_owned(),
        ));
    }
    if request.apikey == state.config().api_key {
        return Err(ApiError::BadRequest(
            "'apikey' is the configured API key already".to_owned(),
        ));
    }
    let mut data = state.lock();
    data.api_keys
        .insert(request.apikey, request.subject.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "subject": request.subject })),
    ))
}

/// Revokes an added API key and every token issued to its subject, as a key rotated out in the
/// governance platform stops working at once (the configured key cannot be revoked).
async fn revoke_api_key(State(state): State<AppState>, Path(apikey): Path<String>) -> StatusCode {
    let mut data = state.lock();
    match data.api_keys.remove(&apikey) {
        Some(subject) => {
            data.tokens.revoke_subject(&subject);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// The subjects of the added API keys (the keys themselves are not shown).
async fn list_api_keys(State(state): State<AppState>) -> Json<Value> {
    let mut subjects: Vec<String> = state.lock().api_keys.values().cloned().collect();
    subjects.sort();
    Json(json!({ "subjects": subjects }))
}

async fn expire_tokens(State(state): State<AppState>) -> StatusCode {
    state.lock().tokens.expire_all();
    StatusCode::NO_CONTENT
}

async fn stats(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.lock().stats))
}

async fn reset(State(state): State<AppState>) -> StatusCode {
    state.lock().reset();
    StatusCode::NO_CONTENT
}

async fn dump_state(State(state): State<AppState>) -> Json<Value> {
    let data = state.lock();
    let objects: Vec<Value> = data
        .store
        .objects()
        .map(|o| o.to_json(state.catalog().get(&o.type_id)))
        .collect();
    let associations: Vec<Value> = data
        .store
        .associations()
        .map(|(parent, child)| json!({"parent_id": parent.to_string(), "child_id": child.to_string()}))
        .collect();
    Json(json!({ "objects": objects, "associations": associations }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookRequest {
    url: Option<String>,
    secret: Option<String>,
}

fn webhook_view(state: &AppState) -> Value {
    let data = state.lock();
    json!({ "url": data.webhook.url, "signed": data.webhook.secret.is_some() })
}

/// Replaces the target: a null/absent `url` disables webhooks; a null/absent `secret` sends unsigned.
async fn set_webhook(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: WebhookRequest = json_body(&body)?;
    let url = request
        .url
        .map(|url| parse_url(url, "url"))
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let secret = request
        .secret
        .map(|s| WebhookSecret::parse(&s))
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("'secret': {e}")))?;
    {
        let mut data = state.lock();
        data.webhook.url = url;
        data.webhook.secret = secret;
    }
    Ok(Json(webhook_view(&state)))
}

async fn get_webhook(State(state): State<AppState>) -> Json<Value> {
    Json(webhook_view(&state))
}

async fn deliveries(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "deliveries": state.lock().deliveries }))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
