//! A registry-events handler on the adapters' in-memory fakes, and builders for SQS records.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, SecondsFormat, Utc};
use govsync_adapters::fakes::{
    FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeQuarantine, FakeRegistry,
    registered_package,
};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    Field, GovernanceKind, GovernanceObject, ModelPackage, NewGovernanceObject,
};
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities};
use govsync_core::{MappingSpec, RegistryMap};
use govsync_registry_events::{Handler, Settings, handle_with};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const GOVSYNC_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync";
pub const PERSON: &str = "arn:aws:sts::123456789012:assumed-role/data-scientist/alice";
pub const SQS_GROUP: &str = "registry-events";

pub type FakeHandler =
    Handler<FakeGovernance, FakeRegistry, FakeIdempotencyStore, FakeLinkStore, FakeQuarantine>;

/// The fakes behind a handler, kept so tests can seed and inspect them.
pub struct World {
    pub governance: Arc<FakeGovernance>,
    pub registry: Arc<FakeRegistry>,
    pub idempotency: Arc<FakeIdempotencyStore>,
    pub links: Arc<FakeLinkStore>,
    pub quarantine: Arc<FakeQuarantine>,
    /// The registry account's S3 and ECR, for the approved artifact's check.
    pub artifacts: Arc<govsync_adapters::fakes::FakeArtifacts>,
    pub handler: FakeHandler,
    pub use_case: GovernanceObject,
}

pub fn settings(gate: GateMode) -> Settings {
    let mut writers = WriterIdentities::new();
    writers.add(GOVSYNC_CALLER).unwrap();
    Settings {
        registries: RegistryMap::parse(&format!(
            r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"Retail"}}]"#
        ))
        .unwrap(),
        writers,
        gate,
        mapping: MappingSpec::builtin().unwrap(),
        console: ConsoleLinks::new("https://grc.example.com").unwrap(),
        model_links: None,
    }
}

impl World {
    pub fn new(gate: GateMode) -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let registry = Arc::new(FakeRegistry::new(ACCOUNT, REGION));
        let idempotency = Arc::new(FakeIdempotencyStore::new());
        // As deployed: the links store commits claims with the links (one transaction).
        let links = Arc::new(FakeLinkStore::new().with_idempotency(Arc::clone(&idempotency)));
        let quarantine = Arc::new(FakeQuarantine::new());
        let settings = settings(gate);
        let use_case = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: "Fraud detection, EU".into(),
            description: None,
            parent_id: None,
            fields: vec![
                Field::choice(
                    "MRG-AIFacts-ModelUseCase:Status",
                    "Approved for Development",
                ),
                Field::choice("MRG-AIFacts-ModelUseCase:Risk Level", "High"),
            ],
        });
        let handler = Handler::new(
            settings.clone(),
            Arc::clone(&governance),
            vec![(
                settings.registries.registries()[0].clone(),
                Arc::clone(&registry),
            )],
            Arc::clone(&idempotency),
            Arc::clone(&links),
            Arc::clone(&quarantine),
        );
        let artifacts = Arc::new(govsync_adapters::fakes::FakeArtifacts::new());
        let handler = handler.with_artifact_readers(
            govsync_flows::artifacts::ArtifactReaders::from_clients(vec![(
                settings.registries.registries()[0].clone(),
                Arc::clone(&artifacts),
                Arc::clone(&artifacts),
            )]),
        );
        Self {
            governance,
            registry,
            idempotency,
            links,
            quarantine,
            artifacts,
            handler,
            use_case,
        }
    }

    /// A group tagged with the world's use case.
    pub fn add_assigned_group(&self, name: &str) -> String {
        self.registry.add_group(
            name,
            BTreeMap::from([(keys::USE_CASE_ID.to_owned(), self.use_case.id.to_string())]),
        )
    }

    /// Seeds (or re-tags) a group with `tags`.
    pub fn add_group(&self, name: &str, tags: BTreeMap<String, String>) -> String {
        self.registry.add_group(name, tags)
    }

    /// Registers version `version` of `group` with technical metadata.
    pub fn register(&self, group: &str, version: i32) -> ModelPackage {
        let mut package = registered_package(&self.registry, group, version);
        package.description = Some(format!("{group} model v{version}"));
        package.inference_images = vec![format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/{group}:{version}"
        )];
        package.model_data_urls = vec![format!("s3://models/{group}/{version}/model.tar.gz")];
        package.created_by = Some(PERSON.to_owned());
        self.registry.put_package(package.clone());
        package
    }

    pub async fn run(&self, records: Vec<SqsMessage>) -> Vec<String> {
        let response = handle_with(&self.handler, lambda_event(records), None)
            .await
            .unwrap();
        response
            .batch_item_failures
            .into_iter()
            .map(|failure| failure.item_identifier)
            .collect()
    }

    pub fn objects_of(&self, type_id: &str) -> Vec<GovernanceObject> {
        self.governance
            .objects()
            .into_iter()
            .filter(|object| object.type_definition_id == type_id)
            .collect()
    }
}

pub fn lambda_event(records: Vec<SqsMessage>) -> LambdaEvent<SqsEvent> {
    let mut context = Context::default();
    context.deadline = u64::try_from(Utc::now().timestamp_millis() + 60_000).unwrap_or(0);
    let payload: SqsEvent = serde_json::from_value(json!({
        "Records": records.iter().map(|r| serde_json::to_value(r).unwrap()).collect::<Vec<_>>()
    }))
    .unwrap();
    LambdaEvent::new(payload, context)
}

/// An SQS record as Lambda's event source mapping delivers it.
pub fn record(message_id: &str, body: &str) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": message_id,
        "receiptHandle": format!("rh-{message_id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "MessageGroupId": SQS_GROUP,
            "MessageDeduplicationId": message_id,
            "SentTimestamp": "1767345504000"
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:registry-events.fifo",
        "awsRegion": "us-east-1"
    }))
    .unwrap()
}

fn rfc3339(time: Option<DateTime<Utc>>) -> Value {
    time.map(|t| json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// SageMaker's state-change event for `package` as it is now.
pub fn state_change(package: &ModelPackage) -> String {
    state_change_in(package, ACCOUNT)
}

pub fn state_change_in(package: &ModelPackage, account: &str) -> String {
    let mut detail = json!({
        "ModelPackageArn": package.arn,
        "ModelPackageGroupName": package.group_name,
        "ModelPackageVersion": package.version,
        "ModelPackageDescription": package.description,
        "ModelPackageStatus": package.status,
        "ModelApprovalStatus": package.approval_status.map(|a| a.as_str()),
        "CreationTime": rfc3339(package.creation_time),
        "LastModifiedTime": rfc3339(package.last_modified_time),
        "CustomerMetadataProperties": package.customer_metadata,
    });
    let containers: Vec<Value> = package
        .inference_images
        .iter()
        .zip(
            package
                .model_data_urls
                .iter()
                .map(Some)
                .chain(std::iter::repeat(None)),
        )
        .map(|(image, data)| json!({"Image": image, "ModelDataUrl": data}))
        .collect();
    detail["InferenceSpecification"] = json!({"Containers": containers});
    let mut metrics = json!({});
    for report in &package.metrics {
        if let Some((kind, name)) = report.name.split_once('.') {
            metrics[kind][name] =
                json!({"ContentType": "application/json", "S3Uri": report.s3_uri});
        }
    }
    detail["ModelMetrics"] = metrics;
    if let Some(lifecycle) = &package.lifecycle {
        detail["ModelLifeCycle"] = json!({
            "Stage": lifecycle.stage, "StageStatus": lifecycle.stage_status
        });
    }
    json!({
        "version": "0",
        "id": format!("sc-{}", package.arn),
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": rfc3339(package.last_modified_time),
        "region": REGION,
        "resources": [package.arn],
        "detail": detail
    })
    .to_string()
}

/// CloudTrail's record of an `UpdateModelPackage` by `caller`.
pub fn update_call(package_arn: impl AsRef<str>, caller: &str, event_id: &str) -> String {
    let package_arn = package_arn.as_ref();
    json!({
        "version": "0",
        "id": format!("ct-{event_id}"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": rfc3339(Some(Utc::now())),
        "region": REGION,
        "detail": {
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": "UpdateModelPackage",
            "eventID": event_id,
            "eventTime": rfc3339(Some(Utc::now())),
            "userIdentity": {"type": "AssumedRole", "arn": caller},
            "recipientAccountId": ACCOUNT,
            "requestParameters": {"modelPackageArn": package_arn, "modelApprovalStatus": "Approved"},
            "responseElements": {"modelPackageArn": package_arn}
        }
    })
    .to_string()
}
