//! Token endpoints of the three bearer auth modes (mcsp, iam, cp4d).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use crate::state::AppState;

const IAM_GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";
const SERVICE_SUBJECT: &str = "ServiceId-governance-emulator";

fn issue(state: &AppState, subject: &str) -> crate::auth::Issued {
    let ttl = i64::try_from(state.config().token_ttl.as_secs()).unwrap_or(i64::MAX);
    state
        .lock()
        .tokens
        .issue(subject, ttl, Utc::now().timestamp())
}

/// The subject a token for `key` carries: the configured API key's service id, or the subject of an
/// API key added through the admin API.
fn api_key_subject(state: &AppState, key: &str, service_subject: &str) -> Option<String> {
    if key == state.config().api_key {
        return Some(service_subject.to_owned());
    }
    state.lock().api_keys.get(key).cloned()
}

fn count_request(state: &AppState) {
    state.lock().stats.token_requests += 1;
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn json_object(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `POST /api/2.0/services/{instanceId}/apikeys/token` `{"apikey"}` → `{"token"}` (no `expires_in`;
/// the client reads the JWT's `exp`).
pub async fn mcsp_token(State(state): State<AppState>, body: Bytes) -> Response {
    count_request(&state);
    let Some(body) = json_object(&body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"code": 400, "message": "body must be JSON {\"apikey\": \"...\"}"}),
        );
    };
    let key = body.get("apikey").and_then(Value::as_str);
    match key.map(|key| api_key_subject(&state, key, SERVICE_SUBJECT)) {
        Some(Some(subject)) => {
            let issued = issue(&state, &subject);
            reply(StatusCode::OK, json!({ "token": issued.token }))
        }
        Some(None) => reply(
            StatusCode::UNAUTHORIZED,
            json!({"code": 401, "message": "invalid api key"}),
        ),
        None => reply(
            StatusCode::BAD_REQUEST,
            json!({"code": 400, "message": "'apikey' is required"}),
        ),
    }
}

/// Decodes `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    fn decode(part: &str) -> String {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(byte) => {
                            out.push(byte);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// `POST /identity/token` form `grant_type=…apikey&apikey=…` → IBM Cloud IAM token response.
pub async fn iam_token(State(state): State<AppState>, body: Bytes) -> Response {
    count_request(&state);
    let fields = form_fields(&body);
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if get("grant_type") != Some(IAM_GRANT_TYPE) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "BXNIM0109E", "errorMessage": format!("grant_type must be {IAM_GRANT_TYPE}")}),
        );
    }
    let iam_subject = format!("iam-{SERVICE_SUBJECT}");
    match get("apikey").map(|key| (key, api_key_subject(&state, key, &iam_subject))) {
        Some((_, Some(subject))) => {
            let issued = issue(&state, &subject);
            reply(
                StatusCode::OK,
                json!({
                    "access_token": issued.token,
                    "refresh_token": "not_supported",
                    "token_type": "Bearer",
                    "expires_in": issued.expires_at - issued.issued_at,
                    "expiration": issued.expires_at,
                    "scope": "ibm openid",
                }),
            )
        }
        Some((key, None)) if !key.is_empty() => reply(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}),
        ),
        _ => reply(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "BXNIM0103E", "errorMessage": "Property missing or empty. Property : apikey"}),
        ),
    }
}

/// `POST /icp4d-api/v1/authorize` `{"username","api_key"}` (or `"password"`) → `{"token"}`.
pub async fn cp4d_authorize(State(state): State<AppState>, body: Bytes) -> Response {
    count_request(&state);
    let Some(body) = json_object(&body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"_messageCode_": "400", "message": "body must be JSON {\"username\", \"api_key\"}"}),
        );
    };
    let config = state.config();
    let username = body.get("username").and_then(Value::as_str);
    let api_key = body.get("api_key").and_then(Value::as_str);
    let password = body.get("password").and_then(Value::as_str);
    let Some(username) = username else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"_messageCode_": "400", "message": "'username' is required"}),
        );
    };
    let valid = username == config.basic_user
        && (api_key == Some(config.api_key.as_str())
            || password == Some(config.basic_password.as_str()));
    if !valid {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"_messageCode_": "401", "message": "Invalid user credentials"}),
        );
    }
    let issued = issue(&state, username);
    reply(
        StatusCode::OK,
        json!({"_messageCode_": "200", "message": "Success", "token": issued.token}),
    )
}

#[cfg(test)]
mod tests {
    use super::form_fields;

    #[test]
    fn form_decoding_handles_escapes_and_plus() {
        let fields = form_fields(b"grant_type=urn%3Aibm%3Aparams&apikey=a+b%2Fc&bad=%zz&empty");
        assert_eq!(
            fields,
            vec![
                ("grant_type".to_owned(), "urn:ibm:params".to_owned()),
                ("apikey".to_owned(), "a b/c".to_owned()),
                ("bad".to_owned(), "%zz".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
        );
    }
}
