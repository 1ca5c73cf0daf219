//! The decommission handler (and the package sync flow registry-events runs, on the same fakes, for
//! echoes and races), with builders for the messages of decommission.fifo.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use govsync_adapters::fakes::{
    FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeQuarantine, FakeRegistry,
    registered_package,
};
use govsync_core::customer_metadata::keys;
use govsync_core::decommission_request::{DecommissionKind, DecommissionRequest};
use govsync_core::ports::{
    Field, FieldValue, GovernanceId, GovernanceKind, GovernanceObject, Link, LinkKind, LinkStore,
    ModelPackage, NewGovernanceObject,
};
use govsync_core::registry_event::decode_envelope;
use govsync_core::sync::decommission::{ArchiveTarget, DecommissionPolicy};
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities, fields};
use govsync_core::{MappingSpec, RegistryMap};
use govsync_decommission::{Handler, Settings, handle_with};
use govsync_flows::package_sync::RegistrySync;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const GOVSYNC_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync";
pub const PERSON: &str = "arn:aws:sts::123456789012:assumed-role/data-scientist/alice";
pub const NOTE_FIELD: &str = "MRG-Model:Decommission Note";

pub type FakeHandler =
    Handler<FakeGovernance, FakeRegistry, FakeIdempotencyStore, FakeLinkStore, FakeQuarantine>;
pub type FakeRegistryEvents =
    RegistrySync<FakeGovernance, FakeRegistry, FakeIdempotencyStore, FakeLinkStore>;

pub struct World {
    pub governance: Arc<FakeGovernance>,
    pub registry: Arc<FakeRegistry>,
    pub idempotency: Arc<FakeIdempotencyStore>,
    pub links: Arc<FakeLinkStore>,
    pub quarantine: Arc<FakeQuarantine>,
    pub handler: FakeHandler,
    pub registry_events: FakeRegistryEvents,
    pub use_case: GovernanceObject,
}

fn registries() -> RegistryMap {
    RegistryMap::parse(&format!(
        r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"Retail"}}]"#
    ))
    .unwrap()
}

fn writers() -> WriterIdentities {
    let mut writers = WriterIdentities::new();
    writers.add(GOVSYNC_CALLER).unwrap();
    writers
}

impl World {
    pub fn new() -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let registry = Arc::new(FakeRegistry::new(ACCOUNT, REGION));
        let idempotency = Arc::new(FakeIdempotencyStore::new());
        let links = Arc::new(FakeLinkStore::new());
        let quarantine = Arc::new(FakeQuarantine::new());
        let mapping = MappingSpec::builtin().unwrap();
        let policy = DecommissionPolicy::from_mapping(&mapping, Some(NOTE_FIELD.to_owned()));
        let archive = ArchiveTarget::from_mapping(&mapping, &policy.status).unwrap();
        let registries = registries();
        let registry_entry = registries.registries()[0].clone();
        let handler = Handler::new(
            Settings {
                registries: registries.clone(),
                writers: writers(),
                policy,
                archive,
            },
            Arc::clone(&governance),
            vec![(registry_entry.clone(), Arc::clone(&registry))],
            Arc::clone(&idempotency),
            Arc::clone(&links),
            Arc::clone(&quarantine),
        );
        let registry_events = RegistrySync::new(
            govsync_flows::package_sync::Settings {
                registries,
                writers: writers(),
                gate: GateMode::Enforce,
                mapping,
                console: ConsoleLinks::new("https://grc.example.com").unwrap(),
                model_links: None,
            },
            Arc::clone(&governance),
            vec![(registry_entry, Arc::clone(&registry))],
            Arc::clone(&idempotency),
            Arc::clone(&links),
        );
        let use_case = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: "Credit risk".into(),
            description: None,
            parent_id: None,
            fields: vec![Field::choice(
                fields::USE_CASE_STATUS,
                "Approved for Development",
            )],
        });
        Self {
            governance,
            registry,
            idempotency,
            links,
            quarantine,
            handler,
            registry_events,
            use_case,
        }
    }

    /// A group tagged with the use case, linked in governance through a model group.
    pub fn add_group(&self, name: &str) -> (String, GovernanceObject) {
        let arn = self.registry.add_group(
            name,
            BTreeMap::from([(keys::USE_CASE_ID.to_owned(), self.use_case.id.to_string())]),
        );
        let group = self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::ModelGroup,
            name: name.into(),
            description: None,
            parent_id: Some(self.use_case.id.clone()),
            fields: vec![Field::text(fields::EXTERNAL_ID, arn.clone())],
        });
        (arn, group)
    }

    /// A package registered in SageMaker and synced: its governance model exists and is linked.
    /// Deletes a package from the registry, as a person's `DeleteModelPackage` does before its record.
    pub async fn delete(&self, package: &ModelPackage) {
        self.registry
            .delete_package(package.arn.as_str())
            .await
            .unwrap();
    }

    pub async fn synced_package(
        &self,
        group: &GovernanceObject,
        name: &str,
        version: i32,
    ) -> (ModelPackage, GovernanceObject) {
        let package = self.register(name, version);
        let model = self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: format!("{name} version {version}"),
            description: None,
            parent_id: Some(group.id.clone()),
            fields: vec![
                Field::text(fields::EXTERNAL_ID, package.arn.clone()),
                Field::choice(fields::MODEL_STATUS, "In Production"),
            ],
        });
        self.links
            .put_link(&Link {
                kind: LinkKind::Model,
                arn: (&package.arn).into(),
                governance_id: model.id.clone(),
            })
            .await
            .unwrap();
        (package, model)
    }

    pub fn register(&self, group: &str, version: i32) -> ModelPackage {
        let mut package = registered_package(&self.registry, group, version);
        package.inference_images = vec![format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/{group}:{version}"
        )];
        package.created_by = Some(PERSON.to_owned());
        self.registry.put_package(package.clone());
        package
    }

    pub async fn run(&self, records: Vec<SqsMessage>) -> Vec<String> {
        let response = handle_with(&self.handler, lambda_event(records))
            .await
            .unwrap();
        response
            .batch_item_failures
            .into_iter()
            .map(|failure| failure.item_identifier)
            .collect()
    }

    /// Runs registry-events' flow on `records` (its own queue's messages) in order, stopping at the first
    /// failure as one FIFO group does; the ids of the failed and held messages.
    pub async fn run_registry_events(&self, records: Vec<SqsMessage>) -> Vec<String> {
        let deadline = Utc::now() + chrono::Duration::seconds(60);
        let mut failed = Vec::new();
        for record in records {
            let id = record.message_id.clone().unwrap_or_default();
            if !failed.is_empty() {
                failed.push(id);
                continue;
            }
            let event = decode_envelope(record.body.as_deref().unwrap_or_default().as_bytes())
                .expect("registry events in these tests decode");
            if let Err(error) = self.registry_events.process(&event, deadline).await {
                assert!(
                    error.is_retryable(),
                    "registry-events failed for good: {error}"
                );
                failed.push(id);
            }
        }
        failed
    }

    pub fn object(&self, id: &GovernanceId) -> GovernanceObject {
        self.governance.object(id).unwrap()
    }

    pub fn status(&self, id: &GovernanceId) -> Option<String> {
        self.object(id)
            .field(fields::MODEL_STATUS)
            .and_then(FieldValue::as_text)
    }

    pub fn objects_of(&self, type_id: &str) -> Vec<GovernanceObject> {
        self.governance
            .objects()
            .into_iter()
            .filter(|object| object.type_definition_id == type_id)
            .collect()
    }

    /// Sets a governance object's status as a person would (no call recorded).
    pub fn set_field(&self, id: &GovernanceId, name: &str, value: &str) {
        self.governance
            .edit(id, &[Field::choice(name, value)])
            .unwrap();
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

/// An SQS record of `queue` as Lambda's event source mapping delivers it.
pub fn record_in(queue: &str, group: &str, message_id: &str, body: &str) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": message_id,
        "receiptHandle": format!("rh-{message_id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "MessageGroupId": group,
            "MessageDeduplicationId": message_id,
            "SentTimestamp": "1767345504000"
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
        "awsRegion": "us-east-1"
    }))
    .unwrap()
}

/// A decommission.fifo record (the rule's static group).
pub fn record(message_id: &str, body: &str) -> SqsMessage {
    record_in("decommission.fifo", "decommission", message_id, body)
}

pub fn deleted_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 9, 18, 24).unwrap()
}

fn cloudtrail(event_name: &str, event_id: &str, params: Value, caller: &str) -> String {
    json!({
        "version": "0", "id": format!("env-{event_id}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker", "account": ACCOUNT,
        "time": deleted_at().to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": REGION, "resources": [],
        "detail": {
            "eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name,
            "eventTime": deleted_at().to_rfc3339_opts(SecondsFormat::Secs, true),
            "eventID": event_id, "awsRegion": REGION,
            "userIdentity": {"type": "AssumedRole", "arn": caller},
            "requestParameters": params, "responseElements": null,
            "recipientAccountId": ACCOUNT
        }
    })
    .to_string()
}

/// CloudTrail's record of a person deleting a package.
pub fn package_deleted(arn: impl AsRef<str>, event_id: &str) -> String {
    let arn = arn.as_ref();
    cloudtrail(
        "DeleteModelPackage",
        event_id,
        json!({"modelPackageName": arn}),
        PERSON,
    )
}

/// CloudTrail's record of a person deleting a group.
pub fn group_deleted(name: &str, event_id: &str) -> String {
    cloudtrail(
        "DeleteModelPackageGroup",
        event_id,
        json!({"modelPackageGroupName": name}),
        PERSON,
    )
}

/// A decommission request as approval-propagation sends it.
pub fn decommission_request(kind: DecommissionKind, id: &GovernanceId, reason: &str) -> String {
    DecommissionRequest::new(
        kind,
        id.clone(),
        reason,
        Utc.with_ymd_and_hms(2026, 1, 3, 10, 0, 0).unwrap(),
        "approval-propagation",
    )
    .unwrap()
    .to_json()
}

/// SageMaker's state-change event for `package` as it is now (the echo registry-events would get).
pub fn state_change(package: &ModelPackage) -> String {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)))
            .unwrap_or(Value::Null)
    };
    let mut detail = json!({
        "ModelPackageArn": package.arn,
        "ModelPackageGroupName": package.group_name,
        "ModelPackageVersion": package.version,
        "ModelPackageDescription": package.description,
        "ModelPackageStatus": package.status,
        "ModelApprovalStatus": package.approval_status.map(|a| a.as_str()),
        "CreationTime": time(package.creation_time),
        "LastModifiedTime": time(package.last_modified_time),
        "CustomerMetadataProperties": package.customer_metadata,
        "InferenceSpecification": {"Containers": package.inference_images.iter()
            .map(|image| json!({"Image": image})).collect::<Vec<_>>()},
    });
    if let Some(lifecycle) = &package.lifecycle {
        detail["ModelLifeCycle"] = json!({
            "Stage": lifecycle.stage,
            "StageStatus": lifecycle.stage_status,
        });
        if let Some(description) = &lifecycle.stage_description {
            detail["ModelLifeCycle"]["StageDescription"] = json!(description);
        }
    }
    json!({
        "version": "0", "id": format!("sc-{}", uuid::Uuid::new_v4()),
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker", "account": ACCOUNT, "time": "2026-01-03T10:00:01Z",
        "region": REGION, "resources": [package.arn], "detail": detail
    })
    .to_string()
}

/// CloudTrail's record of govsync's own UpdateModelPackage (an echo by identity).
pub fn govsync_update(arn: impl AsRef<str>, event_id: &str) -> String {
    let arn = arn.as_ref();
    cloudtrail(
        "UpdateModelPackage",
        event_id,
        json!({"modelPackageArn": arn}),
        GOVSYNC_CALLER,
    )
}
