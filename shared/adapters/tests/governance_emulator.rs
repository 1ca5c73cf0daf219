//! The governance client against the governance emulator: CRUD, paging, lookup, every auth mode,
//! injected faults, token expiry and shared refresh.
//!
//! Faults, token expiry and the stats counters are global to the emulator, so these tests take
//! one lock and run one at a time.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use govsync_adapters::governance::{
    EXTERNAL_ID_FIELD, GovernanceAuth, GovernanceClient, GovernanceConfig, RetryPolicy,
};
use govsync_core::ports::{
    ExternalIdLookup, Field, FieldValue, Governance, GovernanceId, GovernanceKind,
    GovernanceObject, GovernanceQuery, NewGovernanceObject, QueryCondition,
};
use govsync_core::secret::Secret;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static EMULATOR: Mutex<()> = Mutex::const_new(());

const API_KEY: &str = "local-api-key";
const USER: &str = "admin";
const PASSWORD: &str = "admin";

fn emulator_url() -> String {
    common::required_env("GOVSYNC_GOVERNANCE_URL")
}

fn config_for(auth: GovernanceAuth) -> GovernanceConfig {
    let mut config = GovernanceConfig::new(emulator_url(), auth);
    config.retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        max_retry_after: Duration::from_secs(5),
    };
    config
}

fn mcsp_client() -> GovernanceClient {
    let base = emulator_url();
    client(GovernanceAuth::Mcsp {
        token_url: format!("{base}/api/2.0/services/local-instance/apikeys/token"),
        api_key: Secret::new(API_KEY),
    })
}

fn client(auth: GovernanceAuth) -> GovernanceClient {
    GovernanceClient::new(config_for(auth)).unwrap_or_else(|error| panic!("client: {error}"))
}

async fn admin(method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let url = format!("{}/_emulator{path}", emulator_url());
    let mut request = reqwest::Client::new().request(method, &url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("{url}: {error}"));
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn token_requests() -> u64 {
    admin(reqwest::Method::GET, "/stats", None).await["token_requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("stats without token_requests"))
}

async fn inject(fault: Value) {
    admin(reqwest::Method::POST, "/faults", Some(fault)).await;
}

/// A fresh business entity → use case → model group chain; returns the model group.
async fn model_group(client: &GovernanceClient, group_arn: &str) -> GovernanceObject {
    let entity = client
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: common::unique("registry"),
            description: Some("central registry 123456789012/us-east-1".to_owned()),
            parent_id: None,
            fields: Vec::new(),
        })
        .await
        .unwrap();
    let use_case = client
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: common::unique("credit-risk"),
            description: None,
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(
                    "MRG-AIFacts-ModelUseCase:Status",
                    "Approved for Development",
                ),
                Field::choice("MRG-AIFacts-ModelUseCase:Risk Level", "High"),
            ],
        })
        .await
        .unwrap();
    client
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::ModelGroup,
            name: common::unique("credit-risk-group"),
            description: None,
            parent_id: Some(use_case.id),
            fields: vec![Field::text(EXTERNAL_ID_FIELD, group_arn)],
        })
        .await
        .unwrap()
}

fn new_model(group: &GovernanceObject, package_arn: &str) -> NewGovernanceObject {
    NewGovernanceObject {
        kind: GovernanceKind::Model,
        name: common::unique("credit-risk v1"),
        description: Some("registered in SageMaker".to_owned()),
        parent_id: Some(group.id.clone()),
        fields: vec![
            Field::choice("MRG-Model:Status", "Proposed"),
            Field::text("MRG-Model:Model Version", "1"),
            Field::text(EXTERNAL_ID_FIELD, package_arn),
            Field::date("Integration:Last Update", Utc::now()),
        ],
    }
}

fn package_arn(group: &str, version: u32) -> String {
    format!("arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}")
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn create_read_update_and_find_by_external_id() {
    let _serial = EMULATOR.lock().await;
    let client = mcsp_client();
    let group_name = common::unique("crud");
    let group = model_group(
        &client,
        &format!("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{group_name}"),
    )
    .await;
    let arn = package_arn(&group_name, 1);
    let model = client
        .create_object(&new_model(&group, &arn))
        .await
        .unwrap();
    assert_eq!(model.primary_parent_id, Some(group.id.clone()));

    let read = client.get_object(&model.id).await.unwrap();
    assert_eq!(
        read.field("MRG-Model:Status"),
        Some(&FieldValue::Enum("Proposed".to_owned()))
    );
    assert_eq!(
        read.field(EXTERNAL_ID_FIELD),
        Some(&FieldValue::Text(arn.clone()))
    );

    let updated = client
        .update_object(
            &model.id,
            &[Field::choice("MRG-Model:Status", "Under Development")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        updated.field("MRG-Model:Status"),
        Some(&FieldValue::Enum("Under Development".to_owned()))
    );
    assert_eq!(
        updated.field("MRG-Model:Model Version"),
        Some(&FieldValue::Text("1".to_owned())),
        "fields not sent keep their values"
    );

    match client
        .find_by_external_id(GovernanceKind::Model, &arn)
        .await
        .unwrap()
    {
        ExternalIdLookup::Found(found) => assert_eq!(found.id, model.id),
        other => panic!("expected the model, got {other:?}"),
    }
    let absent = client
        .find_by_external_id(GovernanceKind::Model, &package_arn(&group_name, 99))
        .await
        .unwrap();
    assert_eq!(absent, ExternalIdLookup::Absent);

    let missing = client.get_object(&gid("999999999")).await.unwrap_err();
    assert!(
        matches!(
            missing,
            govsync_core::ports::GovernanceError::NotFound { .. }
        ),
        "{missing:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn enum_values_come_from_the_type_metadata() {
    let _serial = EMULATOR.lock().await;
    let definition = mcsp_client()
        .type_definition(GovernanceKind::Model)
        .await
        .unwrap();
    let statuses = definition
        .enum_values("MRG-Model:Status")
        .unwrap_or_else(|| panic!("Model has no status field: {definition:?}"));
    assert!(
        statuses.iter().any(|status| status == "Decommissioned"),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|status| status == "In Production"),
        "{statuses:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn query_pages_are_followed_and_duplicate_external_ids_are_ambiguous() {
    let _serial = EMULATOR.lock().await;
    let mut config = config_for(GovernanceAuth::Basic {
        username: USER.to_owned(),
        password: Secret::new(PASSWORD),
    });
    config.page_size = 2;
    let client = GovernanceClient::new(config).unwrap_or_else(|error| panic!("{error}"));
    let group_name = common::unique("paging");
    let group = model_group(
        &client,
        &format!("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{group_name}"),
    )
    .await;
    let shared_arn = package_arn(&group_name, 1);
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(
            client
                .create_object(&new_model(&group, &shared_arn))
                .await
                .unwrap()
                .id,
        );
    }
    let rows = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::Model,
            columns: vec!["Name".to_owned(), "MRG-Model:Status".to_owned()],
            condition: Some(QueryCondition::Equals {
                field: EXTERNAL_ID_FIELD.to_owned(),
                value: shared_arn.clone(),
            }),
        })
        .await
        .unwrap();
    let mut ids: Vec<GovernanceId> = rows.into_iter().filter_map(|row| row.id).collect();
    ids.sort();
    created.sort();
    assert_eq!(ids, created, "5 rows over 3 pages of 2");
    match client
        .find_by_external_id(GovernanceKind::Model, &shared_arn)
        .await
        .unwrap()
    {
        ExternalIdLookup::Ambiguous(ids) => assert_eq!(ids.len(), 5),
        other => panic!("expected ambiguity, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn every_auth_mode_reaches_the_api() {
    let _serial = EMULATOR.lock().await;
    let base = emulator_url();
    let modes = [
        GovernanceAuth::Mcsp {
            token_url: format!("{base}/api/2.0/services/local-instance/apikeys/token"),
            api_key: Secret::new(API_KEY),
        },
        GovernanceAuth::Iam {
            token_url: format!("{base}/identity/token"),
            api_key: Secret::new(API_KEY),
        },
        GovernanceAuth::cp4d(&base, USER, Secret::new(API_KEY)),
        GovernanceAuth::Basic {
            username: USER.to_owned(),
            password: Secret::new(PASSWORD),
        },
    ];
    for auth in modes {
        let mode = auth.mode_name();
        let definition = client(auth).type_definition(GovernanceKind::UseCase).await;
        assert!(definition.is_ok(), "{mode}: {definition:?}");
    }
    let wrong = client(GovernanceAuth::Iam {
        token_url: format!("{base}/identity/token"),
        api_key: Secret::new("not-the-key"),
    })
    .type_definition(GovernanceKind::UseCase)
    .await
    .unwrap_err();
    // A refused key needs an operator, not a dead letter: retryable, with its own code for the alarm.
    assert!(
        matches!(
            wrong,
            govsync_core::ports::GovernanceError::Unauthorized { .. }
        ),
        "{wrong:?}"
    );
    assert!(wrong.is_retryable());
    assert_eq!(wrong.code(), "governance_unauthorized");
    assert!(!format!("{wrong:?}").contains("not-the-key"));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn injected_429_burst_is_waited_out() {
    let _serial = EMULATOR.lock().await;
    let client = mcsp_client();
    client.type_definition(GovernanceKind::Model).await.unwrap();
    inject(json!({"status": 429, "count": 3, "retry_after_secs": 1})).await;
    let started = Instant::now();
    client.type_definition(GovernanceKind::Model).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1),
        "Retry-After not honoured: {elapsed:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn server_errors_500_and_503_are_retried() {
    let _serial = EMULATOR.lock().await;
    let client = mcsp_client();
    client.type_definition(GovernanceKind::Model).await.unwrap();
    inject(json!({"status": 500, "count": 1})).await;
    inject(json!({"status": 503, "count": 2})).await;
    client.type_definition(GovernanceKind::Model).await.unwrap();
    inject(json!({"status": 404, "count": 1})).await;
    let error = client
        .type_definition(GovernanceKind::Model)
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(404),
        "other 4xx are not retried: {error:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn expired_token_is_refreshed_once() {
    let _serial = EMULATOR.lock().await;
    let client = mcsp_client();
    client.type_definition(GovernanceKind::Model).await.unwrap();
    admin(reqwest::Method::POST, "/tokens/expire", None).await;
    let before = token_requests().await;
    client.type_definition(GovernanceKind::Model).await.unwrap();
    assert_eq!(token_requests().await - before, 1);
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn concurrent_callers_share_one_refresh() {
    let _serial = EMULATOR.lock().await;
    let client = mcsp_client();
    let before = token_requests().await;
    let calls = (0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.type_definition(GovernanceKind::Model).await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap_or_else(|error| panic!("task: {error}"))
            .unwrap();
    }
    assert_eq!(
        token_requests().await - before,
        1,
        "one token for ten concurrent first calls"
    );
    admin(reqwest::Method::POST, "/tokens/expire", None).await;
    let before = token_requests().await;
    let calls = (0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.type_definition(GovernanceKind::Model).await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap_or_else(|error| panic!("task: {error}"))
            .unwrap();
    }
    assert_eq!(
        token_requests().await - before,
        1,
        "one refresh for ten concurrent 401s"
    );
}

fn gid(id: impl AsRef<str>) -> GovernanceId {
    GovernanceId::parse(id.as_ref()).unwrap_or_else(|error| panic!("{error}"))
}
