//! HTTP surface: token endpoints, the OpenPages v2 API (with fault injection and auth in front),
//! the admin API and the inventory page.

mod admin;
mod api;
mod inventory_page;
mod tokens;

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;

use crate::auth;
use crate::config::EmulatorConfig;
use crate::query::QueryError;
use crate::state::{ApiCall, AppState};
use crate::store::StoreError;

/// The API prefix of SaaS and on-premises consoles, the default deployment mode.
pub const API_PREFIX: &str = "/opgrc/api/v2";

/// The one prefix the emulator serves: its deployment mode's (contracts/openpages-v2.md, Base URL).
pub fn api_prefix(config: &EmulatorConfig) -> String {
    config.deployment.api_prefix()
}

/// Errors answered to API clients as `{"code": <status>, "message": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({ "code": status.as_u16(), "message": self.to_string() });
        (status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::NotFound(error.to_string()),
            StoreError::HasChildren(_) => Self::Conflict(error.to_string()),
            _ => Self::BadRequest(error.to_string()),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        Self::BadRequest(error.0)
    }
}

/// Parses a JSON body ourselves so every malformed body gets the same 400 shape.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// Who made an API call; stamped into `Created By` / `Last Modified By`.
#[derive(Debug, Clone)]
pub struct Principal(pub String);

/// Builds the whole application router. Must be called inside a tokio runtime.
pub fn router(state: AppState) -> Router {
    let api = api::routes().route_layer(middleware::from_fn_with_state(state.clone(), api_gate));
    let prefix = api_prefix(state.config());
    Router::new()
        .route("/", get(inventory_page::page))
        .route(
            "/api/2.0/services/{instance_id}/apikeys/token",
            post(tokens::mcsp_token),
        )
        .route("/identity/token", post(tokens::iam_token))
        .route("/icp4d-api/v1/authorize", post(tokens::cp4d_authorize))
        .nest(&prefix, api)
        .nest("/_emulator", admin::routes())
        .with_state(state)
}

/// Counts the call, serves a queued fault that applies to it if any, then checks the bearer token
/// or basic credentials. Unscoped faults apply to every call, authenticated or not; scoped ones
/// (`subject`, `method`, `path_prefix`) only to the calls they name.
async fn api_gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let (fault, principal) = {
        let credential = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut data = state.lock();
        let config = state.config();
        let principal = match auth::bearer_token(credential) {
            Some(token) => data
                .tokens
                .subject(token, Utc::now().timestamp())
                .map(str::to_owned),
            None => auth::basic_user(credential, &config.basic_user, &config.basic_password),
        };
        data.stats.api_requests += 1;
        // Nested routers see the path under the API prefix.
        let fault = data.take_fault_for(&ApiCall {
            subject: principal.as_deref(),
            method: request.method().as_str(),
            path: request.uri().path(),
        });
        if fault.is_some() {
            data.stats.faults_served += 1;
        } else if principal.is_none() {
            data.stats.unauthorized += 1;
        }
        (fault, principal)
    };
    if let Some(fault) = fault {
        if let Some(latency) = fault.latency_ms {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if let Some(code) = fault.status {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({ "code": code, "message": "injected fault" });
            let mut response = (status, axum::Json(body)).into_response();
            if code == 429 {
                let secs = fault.retry_after_secs.unwrap_or(1);
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            return response;
        }
        if principal.is_none() {
            state.lock().stats.unauthorized += 1;
        }
    }

    match principal {
        Some(principal) => {
            request.extensions_mut().insert(Principal(principal));
            next.run(request).await
        }
        None => {
            let mut response =
                ApiError::Unauthorized("missing, invalid or expired credentials".to_owned())
                    .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}
