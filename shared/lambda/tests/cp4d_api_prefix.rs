//! On Cloud Pak for Data a function configured with the OpenPages instance name reaches the API under
//! `/openpages-<instance>-opgrc/api/v2` (and only there), with its token from the CP4D authorize call.
//! The stub answers nothing under `/opgrc/api/v2`, as a CP4D route would not.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use govsync_core::ports::{Governance, GovernanceId};
use govsync_core::secret::Secret;
use govsync_lambda::clients::governance_client_with_key;
use govsync_lambda::config::Config;
use serde_json::json;

async fn start_cp4d() -> String {
    let router = Router::new()
        .route(
            "/icp4d-api/v1/authorize",
            post(|| async { axum::Json(json!({"_messageCode_": "200", "token": "t"})) }),
        )
        .route(
            "/openpages-grc1-opgrc/api/v2/contents/{id}",
            get(|Path(id): Path<String>| async move {
                axum::Json(json!({
                    "id": id, "name": "credit-risk v1", "type_definition_id": "Model",
                    "primary_parent_id": "1003", "fields": [],
                }))
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route").into_response() });
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

fn cp4d_config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = [
        ("GOVSYNC_GOVERNANCE_URL", url),
        ("GOVSYNC_GOVERNANCE_AUTH_MODE", "cp4d"),
        ("GOVSYNC_GOVERNANCE_USERNAME", "admin"),
        (
            "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:govsync/key-AbCdEf",
        ),
        (
            "GOVSYNC_REGISTRY_MAP",
            r#"[{"account":"111111111111","region":"eu-west-1","business_entity":"Retail"}]"#,
        ),
        ("GOVSYNC_SPOKE_ROLE_NAME", "govsync-registry-access"),
        ("GOVSYNC_SPOKE_EXTERNAL_ID", "0123456789abcdef0123"),
        ("GOVSYNC_GATE_MODE", "enforce"),
        ("GOVSYNC_IDEMPOTENCY_TABLE", "govsync-idempotency"),
        ("GOVSYNC_LINKS_TABLE", "govsync-links"),
        (
            "GOVSYNC_DLQ_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/registry-events-dlq.fifo",
        ),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    vars.dedup();
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .unwrap_or_else(|error| panic!("config: {error}"))
}

#[tokio::test]
async fn a_cp4d_function_reaches_the_instance_prefix_named_in_its_configuration() {
    let url = start_cp4d().await;
    let config = cp4d_config(&url, &[("GOVSYNC_GOVERNANCE_CP4D_INSTANCE", "grc1")]);
    let client = governance_client_with_key(
        &config.governance_url,
        &config.governance_api_prefix,
        &config.auth,
        Secret::new("key"),
    )
    .unwrap_or_else(|error| panic!("client: {error}"));
    let id = GovernanceId::parse("1042").unwrap_or_else(|error| panic!("{error}"));
    let object = client
        .get_object(&id)
        .await
        .unwrap_or_else(|error| panic!("the CP4D prefix was not used: {error}"));
    assert_eq!(object.name, "credit-risk v1");
}

#[tokio::test]
async fn a_cp4d_function_configured_with_the_default_prefix_finds_nothing_there() {
    let url = start_cp4d().await;
    let config = cp4d_config(&url, &[("GOVSYNC_GOVERNANCE_API_PREFIX", "/opgrc/api/v2")]);
    let client = governance_client_with_key(
        &config.governance_url,
        &config.governance_api_prefix,
        &config.auth,
        Secret::new("key"),
    )
    .unwrap_or_else(|error| panic!("client: {error}"));
    let id = GovernanceId::parse("1042").unwrap_or_else(|error| panic!("{error}"));
    assert!(client.get_object(&id).await.is_err());
}
