//! The reconciler against the real local stack (moto, the registry emulator, the governance emulator):
//! drift of every repairable kind seeded with SDK calls (a data scientist's SageMaker client, the
//! governance API), reported exactly by a dry run that changes nothing, repaired, and gone on the next
//! run. `local/test.sh` runs it with the stack's environment; without it, it fails rather than skips.
//!
//! Isolation: the test's registry is its own region ([`REGION`]: no EventBridge rule there, so its
//! changes reach no queue and no other test; the reconciler is the only thing that sees them), its group
//! and use case have unique names, and decommission requests go to a queue the test creates.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, Tag,
};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::Utc;
use govsync_adapters::governance::GovernanceClient;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_core::customer_metadata::keys;
use govsync_core::decommission_request::DecommissionRequest;
use govsync_core::governance::Revision;
use govsync_core::ports::{
    ExternalIdLookup, Field, FieldValue, Governance, GovernanceKind, GovernanceObject,
    ModelRegistry, NewGovernanceObject,
};
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::decommission::{ArchiveTarget, archive_reason, archive_write};
use govsync_core::sync::fields;
use govsync_core::sync::registry::described_version;
use govsync_core::{GovernanceId, GovernanceStatus, MappingSpec};
use govsync_reconciler::{Config, Function, ReconcileReport, RepairOutcome, RunOptions};
use govsync_testkit::stack::Stack;
use serde_json::json;

/// The test's registry region: the shared wiring and the other tests' lanes have no rules there.
const REGION: &str = "sa-east-1";
/// A data scientist's key: anything but govsync's own.
const PERSON_KEY: &str = "AKIADATASCIENTIST001";

/// The reconciler's configuration on the test kit's stack.
trait ReconcilerConfig {
    fn reconciler_config(&self, decommission_queue_url: &str) -> Config;
    fn reconciler_config_in(&self, region: &str, decommission_queue_url: &str) -> Config;
}

impl ReconcilerConfig for Stack {
    /// As Lambda would set it, for the test's registry and queue.
    fn reconciler_config(&self, decommission_queue_url: &str) -> Config {
        self.reconciler_config_in(REGION, decommission_queue_url)
    }

    fn reconciler_config_in(&self, region: &str, decommission_queue_url: &str) -> Config {
        let vars: HashMap<&str, String> = HashMap::from([
            ("GOVSYNC_GOVERNANCE_URL", self.governance_url.clone()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_TOKEN_URL", self.token_url()),
            ("GOVSYNC_GOVERNANCE_API_KEY_SECRET", "govsync/governance-api-key".to_owned()),
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": self.account, "region": region, "business_entity": "Reconciled"}])
                    .to_string(),
            ),
            ("GOVSYNC_WRITER_ROLE_ARNS", self.role_arn.clone()),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            ("GOVSYNC_IDEMPOTENCY_TABLE", "govsync-idempotency".to_owned()),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            ("GOVSYNC_CURSORS_TABLE", "govsync-cursors".to_owned()),
            ("GOVSYNC_DECOMMISSION_QUEUE_URL", decommission_queue_url.to_owned()),
        ]);
        Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
    }
}

async fn run(function: &Function, dry_run: bool) -> ReconcileReport {
    let report = function
        .reconcile(&RunOptions {
            dry_run,
            deadline: None,
        })
        .await
        .unwrap();
    assert!(report.complete, "{}", report.table());
    report
}

fn found(report: &ReconcileReport) -> BTreeSet<(DriftKind, String, &'static str)> {
    report
        .drifts
        .iter()
        .map(|record| {
            (
                record.drift.kind,
                record
                    .drift
                    .package_arn
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                record.drift.repair.action(),
            )
        })
        .collect()
}

async fn model_of(governance: &GovernanceClient, arn: &str) -> GovernanceObject {
    match governance
        .find_by_external_id(GovernanceKind::Model, arn)
        .await
        .unwrap()
    {
        ExternalIdLookup::Found(model) => model,
        other => panic!("no single model for {arn}: {other:?}"),
    }
}

fn status(model: &GovernanceObject) -> Option<String> {
    model
        .field(fields::MODEL_STATUS)
        .and_then(FieldValue::as_text)
}

/// Both sides of the test's group, as comparable text.
async fn snapshot(
    registry: &SageMakerRegistry,
    governance: &GovernanceClient,
    group: &str,
    arns: &[String],
) -> String {
    let mut packages = Vec::new();
    for summary in registry
        .list_packages(&govsync_core::ModelPackageGroupName::parse(group).unwrap())
        .await
        .unwrap()
    {
        packages.push(format!(
            "{:?}",
            registry.describe_package(&summary.arn).await.unwrap()
        ));
    }
    let mut models = Vec::new();
    for arn in arns {
        models.push(format!(
            "{:?}",
            governance
                .find_by_external_id(GovernanceKind::Model, arn)
                .await
                .unwrap()
        ));
    }
    format!("{packages:#?}\n{models:#?}")
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn seeded_drift_is_reported_by_a_dry_run_repaired_and_gone_on_the_next_run() {
    let stack = Stack::from_env();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let group = format!("recon-{run_id}");
    let governance = stack.governance();
    let person_sdk = stack.sdk_in(PERSON_KEY, REGION).await;
    let person = aws_sdk_sagemaker::Client::new(&person_sdk);
    let person_registry = SageMakerRegistry::new(person.clone());
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_in("testing", "us-east-1").await);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("reconcile-{run_id}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    // Governance: a business entity and an approved use case.
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("Reconciled {run_id}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    let use_case = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: format!("Churn {run_id}"),
            description: None,
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "Medium"),
            ],
        })
        .await
        .unwrap();

    // SageMaker: the use case's group and five versions, registered by a data scientist.
    person
        .create_model_package_group()
        .model_package_group_name(&group)
        .tags(
            Tag::builder()
                .key(keys::USE_CASE_ID)
                .value(use_case.id.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let register = || async {
        let container = ModelPackageContainerDefinition::builder()
            .image("123456789012.dkr.ecr.sa-east-1.amazonaws.com/xgboost:1")
            .build();
        person
            .create_model_package()
            .model_package_group_name(&group)
            .inference_specification(
                InferenceSpecification::builder()
                    .containers(container)
                    .supported_content_types("text/csv")
                    .supported_response_mime_types("text/csv")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .model_package_arn()
            .unwrap()
            .to_owned()
    };
    let mut arns = Vec::new();
    for _ in 0..6 {
        arns.push(register().await);
    }

    // The hub's SDK configuration (secrets, tables, queues in us-east-1); the registry client gets the
    // registry's region from the map.
    let function = Function::new(
        stack.reconciler_config(&queue_url),
        &stack.sdk_in(&stack.access_key, "us-east-1").await,
    )
    .await
    .unwrap();

    // The events of the registration reached nobody: the reconciler brings the versions in.
    let baseline = run(&function, false).await;
    let mine: BTreeSet<_> = found(&baseline)
        .into_iter()
        .filter(|(_, arn, _)| arns.contains(arn))
        .collect();
    assert_eq!(
        mine,
        arns.iter()
            .map(|arn| (
                DriftKind::PackageNotInGovernance,
                arn.clone(),
                "sync_package"
            ))
            .collect(),
        "{}",
        baseline.table()
    );
    let settled = run(&function, false).await;
    assert!(
        settled.drifts.is_empty(),
        "the baseline settled: {}",
        settled.table()
    );

    // Drift, made behind govsync's back.
    person
        .delete_model_package()
        .model_package_name(&arns[0])
        .send()
        .await
        .unwrap();
    let model2 = model_of(&governance, &arns[1]).await;
    governance
        .update_object(
            &model2.id,
            &[Field::choice(
                fields::MODEL_STATUS,
                "Approved for Production",
            )],
            None,
        )
        .await
        .unwrap();
    person
        .update_model_package()
        .model_package_arn(&arns[2])
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap();
    let model4 = model_of(&governance, &arns[3]).await;
    governance
        .update_object(
            &model4.id,
            &[Field::choice(fields::MODEL_STATUS, "Decommissioned")],
            None,
        )
        .await
        .unwrap();
    person
        .update_model_package()
        .model_package_arn(&arns[4])
        .customer_metadata_properties(
            keys::LINKS,
            "model=999999 model-group=999998 use-case=999997",
        )
        .send()
        .await
        .unwrap();
    // The data scientist rewrites version 6's Model Card, dropping what govsync wrote there.
    person
        .update_model_package()
        .model_package_arn(&arns[5])
        .model_card(
            aws_sdk_sagemaker::types::ModelPackageModelCard::builder()
                .model_card_content(
                    json!({"intended_uses": {"purpose_of_model": "churn"}}).to_string(),
                )
                .model_card_status(aws_sdk_sagemaker::types::ModelCardStatus::Draft)
                .build(),
        )
        .send()
        .await
        .unwrap();
    arns.push(register().await);
    let expected = BTreeSet::from([
        (
            DriftKind::ModelPackageGone,
            arns[0].clone(),
            "decommission_model",
        ),
        (
            DriftKind::StatusOutOfStep,
            arns[1].clone(),
            "propagate_status",
        ),
        (DriftKind::ShadowApproval, arns[2].clone(), "sync_package"),
        (
            DriftKind::StatusOutOfStep,
            arns[3].clone(),
            "archive_package",
        ),
        (DriftKind::DanglingLink, arns[4].clone(), "sync_package"),
        (
            DriftKind::ModelCardOutOfStep,
            arns[5].clone(),
            "sync_package",
        ),
        (
            DriftKind::PackageNotInGovernance,
            arns[6].clone(),
            "sync_package",
        ),
    ]);

    // A dry run reports it all and changes nothing.
    let before = snapshot(&person_registry, &governance, &group, &arns).await;
    let dry = run(&function, true).await;
    assert_eq!(found(&dry), expected, "{}", dry.table());
    assert!(
        dry.drifts
            .iter()
            .all(|r| r.outcome == RepairOutcome::Planned)
    );
    assert_eq!(
        snapshot(&person_registry, &governance, &group, &arns).await,
        before
    );

    // The repair run.
    let repaired = run(&function, false).await;
    assert_eq!(found(&repaired), expected, "{}", repaired.table());
    for record in &repaired.drifts {
        let wanted = if record.drift.repair.action() == "archive_package" {
            RepairOutcome::Enqueued
        } else {
            RepairOutcome::Repaired
        };
        assert_eq!(record.outcome, wanted, "{}", repaired.table());
    }
    let model1 = model_of(&governance, &arns[0]).await;
    assert_eq!(status(&model1).as_deref(), Some("Decommissioned"));
    let v2 = person_registry
        .describe_package(&govsync_core::ModelPackageArn::parse(&arns[1]).unwrap())
        .await
        .unwrap();
    assert_eq!(
        v2.approval_status,
        Some(govsync_core::ApprovalStatus::Approved)
    );
    let lifecycle = v2.lifecycle.unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("Production", "Approved")
    );
    let v3 = person_registry
        .describe_package(&govsync_core::ModelPackageArn::parse(&arns[2]).unwrap())
        .await
        .unwrap();
    assert_eq!(
        v3.approval_status,
        Some(govsync_core::ApprovalStatus::PendingManualApproval)
    );
    let v5 = person_registry
        .describe_package(&govsync_core::ModelPackageArn::parse(&arns[4]).unwrap())
        .await
        .unwrap();
    let model5 = model_of(&governance, &arns[4]).await;
    assert_eq!(
        v5.customer_metadata
            .get(keys::LINKS)
            .and_then(|links| govsync_core::sync::registry::PackedLinks::parse(links))
            .map(|links| links.model),
        Some(model5.id.clone())
    );
    let card = v6_card(&person_registry, &arns[5]).await;
    assert_eq!(
        card["intended_uses"]["purpose_of_model"], "churn",
        "theirs kept"
    );
    assert_eq!(
        card["additional_information"]["custom_details"]["govsync_use_case_id"],
        use_case.id.as_str(),
        "governance's back"
    );
    model_of(&governance, &arns[6]).await;

    // The governance decommission went to the decommission queue; archive as the decommission
    // function does (F6, through core), with govsync's identity.
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let request = DecommissionRequest::from_json(messages[0].body().unwrap()).unwrap();
    assert_eq!(request.governance_id, model4.id);
    assert_eq!(request.source, "reconciler");
    let govsync_registry = SageMakerRegistry::new(aws_sdk_sagemaker::Client::new(
        &stack.sdk_in(&stack.access_key, REGION).await,
    ));
    let package = govsync_registry
        .describe_package(&govsync_core::ModelPackageArn::parse(&arns[3]).unwrap())
        .await
        .unwrap();
    let target = ArchiveTarget::from_mapping(
        &MappingSpec::builtin().unwrap(),
        &GovernanceStatus::parse("Decommissioned").unwrap(),
    )
    .unwrap();
    let write = archive_write(
        &described_version(&package).unwrap(),
        &target,
        &archive_reason(&request),
        Revision::from_time(Utc::now()),
    )
    .unwrap()
    .unwrap();
    govsync_registry
        .update_package(&write.update)
        .await
        .unwrap();

    let after = run(&function, false).await;
    assert!(after.drifts.is_empty(), "{}", after.table());

    sqs.delete_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();
}

/// A package's Model Card content, as JSON.
async fn v6_card(registry: &SageMakerRegistry, arn: &str) -> serde_json::Value {
    let package = registry
        .describe_package(&govsync_core::ModelPackageArn::parse(arn).unwrap())
        .await
        .unwrap();
    let content = package
        .facts
        .model_card
        .and_then(|card| card.content)
        .unwrap_or_default();
    serde_json::from_str(&content).unwrap()
}

/// A business entity `entity` and a use case approved for development under it.
async fn approved_use_case(
    governance: &GovernanceClient,
    entity: &str,
    use_case: &str,
) -> GovernanceObject {
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: entity.to_owned(),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: use_case.to_owned(),
            description: None,
            parent_id: Some(entity.id.clone()),
            fields: vec![Field::choice(
                fields::USE_CASE_STATUS,
                "Approved for Development",
            )],
        })
        .await
        .unwrap()
}

/// A data scientist's group assigned to `use_case` with `versions` registered versions; their ARNs.
async fn group_with_versions(
    person: &aws_sdk_sagemaker::Client,
    group: &str,
    use_case: &GovernanceId,
    versions: usize,
) -> Vec<String> {
    person
        .create_model_package_group()
        .model_package_group_name(group)
        .tags(
            Tag::builder()
                .key(keys::USE_CASE_ID)
                .value(use_case.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut arns = Vec::new();
    for _ in 0..versions {
        let created = person
            .create_model_package()
            .model_package_group_name(group)
            .send()
            .await
            .unwrap();
        arns.push(created.model_package_arn().unwrap().to_owned());
    }
    arns
}

/// The checkpoint's region: its own registry, so its runs never meet the other test's.
const CHECKPOINT_REGION: &str = "af-south-1";

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_run_past_its_deadline_leaves_a_checkpoint_in_dynamodb_and_the_next_run_resumes() {
    let stack = Stack::from_env();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let governance = stack.governance();
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk_in(PERSON_KEY, CHECKPOINT_REGION).await);
    let use_case = approved_use_case(
        &governance,
        &format!("Checkpointed {run_id}"),
        &format!("Resume {run_id}"),
    )
    .await;
    let mut arns = Vec::new();
    for group in ["a", "b"] {
        arns.extend(
            group_with_versions(
                &person,
                &format!("resume-{group}-{run_id}"),
                &use_case.id,
                1,
            )
            .await,
        );
    }
    let function = Function::new(
        stack.reconciler_config_in(CHECKPOINT_REGION, "http://127.0.0.1:1/unused"),
        &stack.sdk_in(&stack.access_key, "us-east-1").await,
    )
    .await
    .unwrap();

    let cut_off = function
        .reconcile(&RunOptions {
            dry_run: false,
            deadline: Some(Utc::now()),
        })
        .await
        .unwrap();
    assert!(!cut_off.complete, "{}", cut_off.table());
    let stopped = cut_off.stopped_at.clone().unwrap();
    assert!(model_absent(&governance, &arns[0]).await);

    let resumed = run(&function, false).await;
    assert_eq!(
        resumed.resumed_from.as_ref(),
        Some(&stopped),
        "{}",
        resumed.table()
    );
    for arn in &arns {
        model_of(&governance, arn).await;
    }
    let next = run(&function, false).await;
    assert!(
        next.resumed_from.is_none(),
        "the complete run removed the checkpoint"
    );
    assert!(next.drifts.is_empty(), "{}", next.table());
}

async fn model_absent(governance: &GovernanceClient, arn: &str) -> bool {
    matches!(
        governance
            .find_by_external_id(GovernanceKind::Model, arn)
            .await
            .unwrap(),
        ExternalIdLookup::Absent
    )
}

/// The link rotation's region: its own registry, so its runs never meet the other tests'.
const LINK_REGION: &str = "eu-south-1";

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn after_a_link_key_rotation_the_reconciler_rewrites_every_models_link() {
    let stack = Stack::from_env();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let governance = stack.governance();
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk_in(PERSON_KEY, LINK_REGION).await);
    let secrets = aws_sdk_secretsmanager::Client::new(&stack.sdk_in("testing", "us-east-1").await);
    let old_key = format!("old-link-key-{run_id}-0123456789abcdef0123");
    let new_key = format!("new-link-key-{run_id}-0123456789abcdef0123");
    let (before_id, after_id) = (
        format!("{run_id}/links-before"),
        format!("{run_id}/links-after"),
    );
    for (name, value) in [
        (&before_id, json!({"current": old_key})),
        (
            &after_id,
            json!({"current": new_key, "previous": old_key, "previous_accepted_until": "2099-01-01T00:00:00Z"}),
        ),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }
    let use_case = approved_use_case(
        &governance,
        &format!("Linked {run_id}"),
        &format!("Rotate {run_id}"),
    )
    .await;
    let arns = group_with_versions(&person, &format!("rotate-{run_id}"), &use_case.id, 2).await;
    let reconciler = |keys_secret: String| {
        let stack = &stack;
        async move {
            let mut config = stack.reconciler_config_in(LINK_REGION, "http://127.0.0.1:1/unused");
            config.model_links = Some(govsync_lambda::model_links::ModelLinkSettings {
                url: "https://links.example.com/models/link".to_owned(),
                keys_secret_id: keys_secret,
            });
            Function::new(config, &stack.sdk_in(&stack.access_key, "us-east-1").await)
                .await
                .unwrap()
        }
    };
    let link_of = |model: &GovernanceObject| {
        model
            .field(fields::THIRD_PARTY_LINK)
            .and_then(FieldValue::as_text)
            .unwrap_or_default()
    };

    // Synced with the old key; a second run finds nothing.
    let before = reconciler(before_id.clone()).await;
    run(&before, false).await;
    assert!(run(&before, false).await.drifts.is_empty());
    for arn in &arns {
        let link = link_of(&model_of(&governance, arn).await);
        assert!(link.contains("kid="), "{link}");
    }
    let old_links: Vec<String> = {
        let mut out = Vec::new();
        for arn in &arns {
            out.push(link_of(&model_of(&governance, arn).await));
        }
        out
    };

    // The key is rotated: every Model's link is reported, rewritten, and then in step.
    let after = reconciler(after_id.clone()).await;
    let dry = run(&after, true).await;
    assert_eq!(
        found(&dry),
        arns.iter()
            .map(|arn| (DriftKind::ModelLinkStale, arn.clone(), "sync_package"))
            .collect(),
        "{}",
        dry.table()
    );
    let repaired = run(&after, false).await;
    assert!(
        repaired
            .drifts
            .iter()
            .all(|r| r.outcome == RepairOutcome::Repaired),
        "{}",
        repaired.table()
    );
    for (arn, old) in arns.iter().zip(&old_links) {
        let link = link_of(&model_of(&governance, arn).await);
        assert_ne!(&link, old, "rewritten with the current key");
    }
    assert!(run(&after, false).await.drifts.is_empty());
    for id in [before_id, after_id] {
        let _ = secrets
            .delete_secret()
            .secret_id(id)
            .force_delete_without_recovery(true)
            .send()
            .await;
    }
}

/// Issue 17's fast pass through the real adapter against the registry emulator: in-step versions come
/// from `BatchDescribeModelPackage` summaries, only what a summary shows is described, and a shadow
/// approval made with the SageMaker API is found and reverted by the fast pass.
#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn the_fast_pass_reads_batch_summaries_and_finds_an_approval_behind_governances_back() {
    const FAST_REGION: &str = "il-central-1";
    let stack = Stack::from_env();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let group = format!("fast-{run_id}");
    let governance = stack.governance();
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk_in(PERSON_KEY, FAST_REGION).await);
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_in("testing", "us-east-1").await);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("reconcile-fast-{run_id}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("Fast {run_id}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    let use_case = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: format!("Fraud {run_id}"),
            description: None,
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "Medium"),
            ],
        })
        .await
        .unwrap();
    person
        .create_model_package_group()
        .model_package_group_name(&group)
        .tags(
            Tag::builder()
                .key(keys::USE_CASE_ID)
                .value(use_case.id.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut arns = Vec::new();
    for _ in 0..12 {
        let container = ModelPackageContainerDefinition::builder()
            .image("123456789012.dkr.ecr.il-central-1.amazonaws.com/xgboost:1")
            .build();
        arns.push(
            person
                .create_model_package()
                .model_package_group_name(&group)
                .inference_specification(
                    InferenceSpecification::builder()
                        .containers(container)
                        .supported_content_types("text/csv")
                        .supported_response_mime_types("text/csv")
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .model_package_arn()
                .unwrap()
                .to_owned(),
        );
    }
    let mut config = stack.reconciler_config_in(FAST_REGION, &queue_url);
    config.tuning.deep_slices = 4;
    let function = Function::new(config, &stack.sdk_in(&stack.access_key, "us-east-1").await)
        .await
        .unwrap();

    // The region is this test's alone, but a stack it ran on before keeps that run's versions: counts
    // are over the region, drifts are filtered to this run's versions.
    let mine = |report: &ReconcileReport| -> Vec<String> {
        report
            .drifts
            .iter()
            .filter(|record| {
                record
                    .drift
                    .package_arn
                    .as_ref()
                    .is_some_and(|arn| arns.contains(&arn.to_string()))
            })
            .map(|record| record.drift.kind.as_str().to_owned())
            .collect()
    };
    let first = run(&function, false).await;
    assert!(first.counts.described_fast >= 12, "{}", first.table());
    assert_eq!(mine(&first).len(), 12, "{}", first.table());
    // A full cycle of slices: every version read once a run, deep-checked once a cycle.
    let mut deep_checked = 0;
    let mut packages = 0;
    for _ in 0..4 {
        let settled = run(&function, false).await;
        assert!(mine(&settled).is_empty(), "{}", settled.table());
        assert_eq!(
            settled.counts.summarized
                + settled.counts.described_deep
                + settled.counts.described_fast,
            settled.counts.packages,
            "{}",
            settled.table()
        );
        packages = settled.counts.packages;
        deep_checked += settled.counts.described_deep;
    }
    assert!(packages >= 12);
    assert_eq!(
        deep_checked, packages,
        "each version deep-checked once a cycle"
    );

    person
        .update_model_package()
        .model_package_arn(&arns[7])
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap();
    let report = run(&function, false).await;
    let shadow: Vec<_> = report
        .drifts
        .iter()
        .filter(|record| record.drift.kind == DriftKind::ShadowApproval)
        .collect();
    assert_eq!(shadow.len(), 1, "{}", report.table());
    assert_eq!(shadow[0].pass, govsync_core::reconcile::Pass::Fast);
    assert_eq!(shadow[0].outcome, RepairOutcome::Repaired);
    assert!(report.counts.described_fast >= 1, "{}", report.table());
    let reverted = person
        .describe_model_package()
        .model_package_name(&arns[7])
        .send()
        .await
        .unwrap();
    assert_ne!(
        reverted.model_approval_status(),
        Some(&ModelApprovalStatus::Approved),
        "the gate reverted it"
    );
}
