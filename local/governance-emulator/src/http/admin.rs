//! `/_emulator/*`: fault injection, token expiry, counters, reset, state dump, webhook target and
//! delivery log. Not part of OpenPages; used by tests.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use govsync_core::webhook::WebhookSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, json_body};
use crate::config::parse_url;
use crate::state::{AppState, Fault};

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
    let mut data = state.lock();
    data.faults.push_back(Fault {
        status: request.status,
        retry_after_secs: request.retry_after_secs,
        latency_ms: request.latency_ms,
        remaining: count,
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
