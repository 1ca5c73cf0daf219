//! A credentials rotation must not dead-letter good messages: a registry event whose sync meets a
//! governance API that keeps answering 401 (after the client refreshed its token and re-read its key)
//! is a batch item failure, back to the queue, and counted as `GovernanceUnauthorized`; nothing goes to
//! the DLQ. The real governance HTTP client runs against a local server; the package sync flow runs
//! under the one batch driver.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::sqs::SqsMessage;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, post};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use govsync_adapters::fakes::{
    FakeIdempotencyStore, FakeLinkStore, FakeQuarantine, FakeRegistry, registered_package,
};
use govsync_adapters::governance::{ApiKeySource, GovernanceClient, KeySourceError};
use govsync_core::customer_metadata::keys;
use govsync_core::registry_event::{RegistryEvent, decode_envelope};
use govsync_core::secret::Secret;
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities};
use govsync_core::{MappingSpec, RegistryMap};
use govsync_flows::package_sync::{MessageError, Outcome, RegistrySync, Settings};
use govsync_lambda::config::AuthSettings;
use govsync_lambda::sqs_batch::{self, QueueFunction};
use serde_json::json;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const API_KEY: &str = "the-only-key-there-is";

/// Tokens for the key, and 401 for every API call: the key was revoked for the API.
async fn start_refusing_governance(api_calls: Arc<AtomicU64>) -> String {
    let router = Router::new()
        .route(
            "/api/2.0/services/{instance}/apikeys/token",
            post(|| async { axum::Json(json!({"token": "t", "expires_in": 3600})) }),
        )
        .route(
            "/opgrc/api/v2/{*rest}",
            any(move || {
                let api_calls = api_calls.clone();
                async move {
                    api_calls.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::UNAUTHORIZED, "revoked").into_response()
                }
            }),
        );
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

/// The secret as the store holds it: never rotated, so a re-read finds the same key.
#[derive(Debug, Default)]
struct UnrotatedKey {
    reads: AtomicU64,
}

impl ApiKeySource for UnrotatedKey {
    fn current_key(&self) -> BoxFuture<'_, Result<Secret, KeySourceError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Secret::new(API_KEY)) })
    }
}

/// registry-events in miniature: registry event bodies through the package sync flow.
struct RegistryEvents {
    sync: RegistrySync<GovernanceClient, FakeRegistry, FakeIdempotencyStore, FakeLinkStore>,
    quarantine: FakeQuarantine,
}

impl QueueFunction for RegistryEvents {
    type Message = RegistryEvent;
    type Error = MessageError;
    type Outcome = Outcome;
    type Quarantine = FakeQuarantine;

    fn decode(&self, record: &SqsMessage) -> Result<RegistryEvent, MessageError> {
        let body = record.body.as_deref().ok_or(MessageError::NoBody)?;
        decode_envelope(body.as_bytes()).map_err(MessageError::Decode)
    }

    fn order_key(&self, event: &RegistryEvent) -> Option<String> {
        event.group_name().map(|group| group.as_str().to_owned())
    }

    async fn process(
        &self,
        event: &RegistryEvent,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        self.sync.process(event, deadline).await
    }

    fn quarantine_port(&self) -> &FakeQuarantine {
        &self.quarantine
    }

    fn source_time(&self, event: &RegistryEvent) -> Option<DateTime<Utc>> {
        event.origin().time
    }

    fn function_name(&self) -> &'static str {
        "registry-events"
    }
}

fn state_change(arn: &str, group: &str, modified: DateTime<Utc>) -> String {
    let time = modified.to_rfc3339_opts(SecondsFormat::Millis, true);
    json!({
        "version": "0", "id": "sc-1", "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker", "account": ACCOUNT, "time": time, "region": REGION,
        "resources": [arn],
        "detail": {
            "ModelPackageArn": arn, "ModelPackageGroupName": group, "ModelPackageVersion": 1,
            "ModelPackageStatus": "Completed", "ModelApprovalStatus": "PendingManualApproval",
            "CreationTime": time, "LastModifiedTime": time,
        }
    })
    .to_string()
}

fn record(message_id: &str, body: String) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id.to_owned());
    record.body = Some(body);
    record
        .attributes
        .insert("MessageGroupId".into(), "registry-events".into());
    record
}

#[tokio::test]
async fn a_message_meeting_a_401_is_a_batch_item_failure_not_a_dead_letter() {
    let api_calls = Arc::new(AtomicU64::new(0));
    let base = start_refusing_governance(api_calls.clone()).await;
    let key_source = Arc::new(UnrotatedKey::default());
    let governance = govsync_lambda::clients::governance_client_with_key_source(
        &base,
        govsync_adapters::governance::DEFAULT_API_PREFIX,
        &AuthSettings::Mcsp {
            token_url: format!("{base}/api/2.0/services/inst-1/apikeys/token"),
        },
        Secret::new(API_KEY),
        Some(key_source.clone()),
    )
    .unwrap_or_else(|error| panic!("governance client: {error}"));

    let registry = Arc::new(FakeRegistry::new(ACCOUNT, REGION));
    registry.add_group(
        "fraud-detection",
        BTreeMap::from([(keys::USE_CASE_ID.to_owned(), "1234".to_owned())]),
    );
    let package = registered_package(&registry, "fraud-detection", 1);
    registry.put_package(package.clone());
    let mut writers = WriterIdentities::new();
    writers
        .add("arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync")
        .unwrap_or_else(|error| panic!("{error}"));
    let settings = Settings {
        registries: RegistryMap::parse(&format!(
            r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"Retail"}}]"#
        ))
        .unwrap_or_else(|error| panic!("{error}")),
        writers,
        gate: GateMode::Enforce,
        mapping: MappingSpec::builtin().unwrap_or_else(|error| panic!("{error}")),
        console: ConsoleLinks::new("https://grc.example.com")
            .unwrap_or_else(|error| panic!("{error}")),
        model_links: None,
    };
    let function = RegistryEvents {
        sync: RegistrySync::new(
            settings.clone(),
            Arc::new(governance),
            vec![(
                settings.registries.registries()[0].clone(),
                registry.clone(),
            )],
            Arc::new(FakeIdempotencyStore::new()),
            Arc::new(FakeLinkStore::new()),
        ),
        quarantine: FakeQuarantine::new(),
    };

    let modified = package.last_modified_time.unwrap_or_else(Utc::now);
    let records = [record(
        "m-1",
        state_change(package.arn.as_str(), "fraud-detection", modified),
    )];
    let deadline = Utc::now() + chrono::TimeDelta::seconds(60);
    let report = sqs_batch::run_batch(&function, &records, deadline).await;

    assert_eq!(
        report.outcomes,
        vec![(
            Some("m-1".to_owned()),
            Outcome::Failed("governance_unauthorized")
        )]
    );
    let response = sqs_batch::batch_response(&report).unwrap_or_else(|error| panic!("{error}"));
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m-1"], "back to the queue");
    assert!(
        function.quarantine.messages().is_empty(),
        "a refused key is not a reason to dead-letter"
    );
    assert_eq!(
        api_calls.load(Ordering::SeqCst),
        2,
        "the call, and its repeat after the token refresh"
    );
    assert_eq!(
        key_source.reads.load(Ordering::SeqCst),
        1,
        "the key was re-read once"
    );
}
