//! approval-propagation on the adapters' in-memory fakes: F1 provisioning and its exactly-once email,
//! F4 status propagation, stale/echo/unknown handling, the decommission hand-off, and batch semantics.

use govsync_core::ports::ApprovedArtifacts as _;
use govsync_core::ports::DecisionOutbox as _;
use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{SecondsFormat, Utc};
use govsync_adapters::fakes::{
    FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeMessageQueue, FakeNotifier,
    FakeQuarantine, FakeRegistry, registered_package,
};
use govsync_adapters::governance::TypeIds;
use govsync_approval_propagation::{Handler, Outcome, Ports, Settings, handle_with};
use govsync_core::decommission_request::{DecommissionKind, DecommissionRequest};
use govsync_core::ports::{
    ApprovalStatus, Field, GovernanceError, GovernanceKind, GovernanceObject, LinkEnd, LinkKind,
    LinkStore, ModelLifecycle, NewGovernanceObject, NotifyError,
};
use govsync_core::ports::{EchoLedger as _, Governance as _, RevisionStore as _};
use govsync_core::sync::ConsoleLinks;
use govsync_core::sync::governance::{object_revision, status_write};
use govsync_core::{GovernanceId, MappingSpec, RegistryMap};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const ENTITY: &str = "Retail Banking";

type FakeHandler = Handler<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeQuarantine,
    FakeNotifier,
    FakeMessageQueue,
>;

struct World {
    governance: Arc<FakeGovernance>,
    registry: Arc<FakeRegistry>,
    links: Arc<FakeLinkStore>,
    quarantine: Arc<FakeQuarantine>,
    notifier: Arc<FakeNotifier>,
    decommission: Arc<FakeMessageQueue>,
    bus: Arc<govsync_adapters::fakes::FakeDecisionBus>,
    artifacts: Arc<govsync_adapters::fakes::FakeArtifacts>,
    handler: FakeHandler,
    entity: GovernanceObject,
}

impl World {
    fn new() -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let registry = Arc::new(FakeRegistry::new(ACCOUNT, REGION));
        let links = Arc::new(FakeLinkStore::new());
        let quarantine = Arc::new(FakeQuarantine::new());
        let notifier = Arc::new(FakeNotifier::new());
        let decommission = Arc::new(FakeMessageQueue::new());
        let registries = RegistryMap::parse(&format!(
            r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"{ENTITY}"}}]"#
        ))
        .unwrap();
        let entity = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: ENTITY.into(),
            description: None,
            parent_id: None,
            fields: vec![],
        });
        let handler = Handler::new(
            Settings {
                registries: registries.clone(),
                mapping: MappingSpec::builtin().unwrap(),
                console: ConsoleLinks::new("https://grc.example.com").unwrap(),
                sender: Some("govsync@example.com".into()),
                type_ids: TypeIds::default(),
            },
            Ports {
                governance: Arc::clone(&governance),
                registries: vec![(registries.registries()[0].clone(), Arc::clone(&registry))],
                idempotency: Arc::new(FakeIdempotencyStore::new()),
                links: Arc::clone(&links),
                quarantine: Arc::clone(&quarantine),
                notifier: Arc::clone(&notifier),
                decommission: Arc::clone(&decommission),
            },
        );
        let bus = Arc::new(govsync_adapters::fakes::FakeDecisionBus::new());
        let artifacts = Arc::new(govsync_adapters::fakes::FakeArtifacts::new());
        let handler = handler
            .with_decision_publisher(bus.clone())
            .with_artifact_readers(govsync_flows::artifacts::ArtifactReaders::from_clients(
                vec![(
                    registries.registries()[0].clone(),
                    Arc::clone(&artifacts),
                    Arc::clone(&artifacts),
                )],
            ));
        Self {
            bus,
            artifacts,
            governance,
            registry,
            links,
            quarantine,
            notifier,
            decommission,
            handler,
            entity,
        }
    }

    fn use_case(&self, parent: &GovernanceId, status: &str) -> GovernanceObject {
        self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: "Credit Risk (EU)".into(),
            description: None,
            parent_id: Some(parent.clone()),
            fields: vec![
                Field::choice("MRG-AIFacts-ModelUseCase:Status", status),
                Field::choice("MRG-AIFacts-ModelUseCase:Risk Level", "High"),
                Field::text(
                    "MRG-ModelUseCase:Data Science Team Email",
                    "ds-team@example.com",
                ),
                Field::text("Last Modified By", "jane@example.com"),
            ],
        })
    }

    /// A registered package linked to a governance model with `status`.
    async fn linked_model(&self, status: &str) -> (GovernanceObject, String) {
        self.registry.add_group("credit-risk-9", BTreeMap::new());
        let mut package = registered_package(&self.registry, "credit-risk-9", 1);
        package.containers = vec![govsync_core::artifact::ContainerArtifact {
            image: Some(IMAGE.into()),
            model_data: Some(govsync_core::artifact::ModelData::Object(MODEL_DATA.into())),
            ..Default::default()
        }];
        self.artifacts.put_object(MODEL_DATA, "etag-reviewed");
        self.artifacts
            .tag_image("credit-risk/serve", "1.4", DIGEST_REVIEWED);
        self.registry.put_package(package.clone());
        let model = self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: "credit-risk-9 version 1".into(),
            description: None,
            parent_id: None,
            fields: vec![
                Field::choice("MRG-Model:Status", status),
                Field::text("Integration:External ID", package.arn.to_string()),
                Field::text("Last Modified By", "jane@example.com"),
            ],
        });
        self.links
            .put_link(&govsync_core::ports::Link {
                kind: LinkKind::Model,
                arn: (&package.arn).into(),
                governance_id: model.id.clone(),
            })
            .await
            .unwrap();
        (model, package.arn.to_string())
    }

    async fn run(&self, records: Vec<SqsMessage>) -> Vec<Outcome> {
        let deadline = Utc::now() + chrono::Duration::seconds(60);
        self.handler
            .handle_batch(&records, deadline)
            .await
            .outcomes
            .into_iter()
            .map(|(_, outcome)| outcome)
            .collect()
    }
}

/// An SQS record carrying the governance event for `object` (as the webhook or the poller sends it).
fn record(object: &GovernanceId, delivery: &str) -> SqsMessage {
    let body = json!({
        "schema": "govsync.governance-event/v1",
        "source": "webhook",
        "delivery_id": delivery,
        "event_type": "object.updated",
        "object_id": object.as_str(),
        "object_type": null,
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "changed_fields": [],
    });
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("m-{delivery}"));
    message.body = Some(body.to_string());
    message
        .attributes
        .insert("MessageGroupId".into(), object.to_string());
    message
}

#[tokio::test]
async fn approved_use_case_gets_a_tagged_group_a_model_group_links_and_one_email() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    let outcomes = world.run(vec![record(&use_case.id, "d1")]).await;
    let group_arn = format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/credit-risk-eu-{}",
        use_case.id
    );
    assert_eq!(
        outcomes,
        [Outcome::Provisioned {
            group_arn: govsync_core::ModelPackageGroupArn::parse(&group_arn).unwrap(),
            findings: vec!["email_sent"]
        }]
    );
    let tags = world
        .registry
        .group_tags(&format!("credit-risk-eu-{}", use_case.id))
        .unwrap();
    assert_eq!(tags["govsync:use-case-id"], use_case.id.as_str());
    assert_eq!(tags["govsync:business-entity"], ENTITY);
    assert_eq!(tags["govsync:risk-level"], "High");
    let model_groups: Vec<_> = world
        .governance
        .objects()
        .into_iter()
        .filter(|o| o.type_definition_id == "ModelGroup")
        .collect();
    assert_eq!(model_groups.len(), 1);
    assert_eq!(model_groups[0].primary_parent_id, Some(use_case.id.clone()));
    assert_eq!(
        model_groups[0]
            .field("Integration:External ID")
            .and_then(|v| v.as_text()),
        Some(group_arn.clone())
    );
    let kinds: Vec<LinkKind> = world.links.links().iter().map(|l| l.kind).collect();
    assert!(kinds.contains(&LinkKind::UseCase) && kinds.contains(&LinkKind::ModelGroup));
    let sent = world.notifier.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ["ds-team@example.com"]);
    assert!(sent[0].subject.contains("Credit Risk (EU)"));
    assert!(sent[0].text_body.contains(&group_arn));
}

/// F1 for a central registry (issue 22): a use case naming development accounts gets its group shared
/// with them by the group's resource policy, as SageMaker's cross-account registration needs.
#[tokio::test]
async fn a_use_case_naming_development_accounts_gets_a_group_policy_sharing_the_group_with_them() {
    use govsync_core::ports::ModelRegistry as _;
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    world.governance.edit(
        &use_case.id,
        &[Field::text(
            "MRG-ModelUseCase:Development Accounts",
            "111111111111, 222222222222 111111111111",
        )],
    );
    let outcomes = world.run(vec![record(&use_case.id, "d1")]).await;
    assert!(
        matches!(outcomes[0], Outcome::Provisioned { .. }),
        "{outcomes:?}"
    );
    let group = format!("credit-risk-eu-{}", use_case.id);
    let policy = world
        .registry
        .get_group_policy(&group)
        .await
        .unwrap()
        .expect("the group carries a resource policy");
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(
        statement["Principal"]["AWS"],
        json!([
            "arn:aws:iam::111111111111:root",
            "arn:aws:iam::222222222222:root"
        ])
    );
    let actions: Vec<&str> = statement["Action"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(actions.contains(&"sagemaker:CreateModelPackage"));
    assert!(
        !actions
            .iter()
            .any(|a| a.contains("Delete") || a.contains("Policy"))
    );
    assert_eq!(
        statement["Resource"],
        json!([
            format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}"),
            format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/*"),
        ])
    );
}

#[tokio::test]
async fn a_use_case_naming_no_development_accounts_gets_no_group_policy_and_a_bad_entry_is_reported()
 {
    use govsync_core::ports::ModelRegistry as _;
    let world = World::new();
    let plain = world.use_case(&world.entity.id, "Approved for Development");
    world.run(vec![record(&plain.id, "d1")]).await;
    let group = format!("credit-risk-eu-{}", plain.id);
    assert_eq!(world.registry.get_group_policy(&group).await.unwrap(), None);

    let world = World::new();
    let typo = world.use_case(&world.entity.id, "Approved for Development");
    world.governance.edit(
        &typo.id,
        &[Field::text(
            "MRG-ModelUseCase:Development Accounts",
            "11111111111",
        )],
    );
    let outcomes = world.run(vec![record(&typo.id, "d1")]).await;
    assert!(
        matches!(&outcomes[0], Outcome::Provisioned { findings, .. } if findings.contains(&"development_accounts_invalid")),
        "{outcomes:?}"
    );
    let group = format!("credit-risk-eu-{}", typo.id);
    assert_eq!(world.registry.get_group_policy(&group).await.unwrap(), None);
}

#[tokio::test]
async fn the_same_approval_three_times_makes_one_group_and_one_email() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    // Three deliveries of one change in one batch (webhook retry, poller, replay)...
    let outcomes = world
        .run(vec![
            record(&use_case.id, "a"),
            record(&use_case.id, "b"),
            record(&use_case.id, "c"),
        ])
        .await;
    assert!(matches!(outcomes[0], Outcome::Provisioned { .. }));
    assert_eq!(outcomes[1..], [Outcome::Duplicate, Outcome::Duplicate]);
    // ...and again after an unrelated edit of the use case (a new revision, a new business key).
    world.governance.edit(
        &use_case.id,
        &[Field::text("MRG-ModelUseCase:Owner", "bob")],
    );
    let later = world.run(vec![record(&use_case.id, "d")]).await;
    assert_eq!(later, [Outcome::AlreadyProvisioned]);
    assert_eq!(world.registry.group_names().len(), 1);
    assert_eq!(world.notifier.sent().len(), 1);
    assert_eq!(
        world
            .registry
            .calls()
            .iter()
            .filter(|c| **c == "create_group")
            .count(),
        1
    );
}

#[tokio::test]
async fn email_is_sent_exactly_once_when_ses_fails_twice_then_succeeds() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    for _ in 0..2 {
        world.notifier.fail_next(
            "send",
            NotifyError::Throttled {
                message: "Maximum sending rate exceeded".into(),
            },
        );
    }
    let first = world.run(vec![record(&use_case.id, "1")]).await;
    assert_eq!(first, [Outcome::Failed("email")]);
    let second = world.run(vec![record(&use_case.id, "1")]).await;
    assert_eq!(second, [Outcome::Failed("email")]);
    let third = world.run(vec![record(&use_case.id, "1")]).await;
    assert!(matches!(third[0], Outcome::Provisioned { .. }), "{third:?}");
    // Redeliveries after success (e.g. the ack was lost) send nothing more.
    let fourth = world
        .run(vec![record(&use_case.id, "1"), record(&use_case.id, "2")])
        .await;
    assert_eq!(fourth, [Outcome::Duplicate, Outcome::Duplicate]);
    assert_eq!(world.notifier.sent().len(), 1);
    assert_eq!(
        world.notifier.calls().len(),
        3,
        "two failed attempts, one success"
    );
    assert_eq!(world.registry.group_names().len(), 1);
}

#[tokio::test]
async fn a_lost_email_receipt_write_is_retried_before_acking_and_never_resends() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    // The first attempt at recording the receipt fails after SES accepted the email.
    world.links.fail_next(
        "advance_applied_revision",
        govsync_core::ports::StoreError::Throttled {
            operation: "advance",
            message: "slow down".into(),
        },
    );
    let outcomes = world.run(vec![record(&use_case.id, "1")]).await;
    assert!(
        matches!(outcomes[0], Outcome::Provisioned { .. }),
        "{outcomes:?}"
    );
    world.governance.edit(
        &use_case.id,
        &[Field::text("MRG-ModelUseCase:Owner", "bob")],
    );
    assert_eq!(
        world.run(vec![record(&use_case.id, "2")]).await,
        [Outcome::AlreadyProvisioned]
    );
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn a_crash_after_creating_the_group_adopts_it_on_retry() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    // Governance is down right after the group was created (before the model group).
    world.governance.fail_next(
        "find_by_external_id",
        GovernanceError::Status {
            operation: "query",
            status: 503,
            body: String::new(),
        },
    );
    assert_eq!(
        world.run(vec![record(&use_case.id, "1")]).await,
        [Outcome::Failed("governance")]
    );
    assert_eq!(world.registry.group_names().len(), 1);
    let retry = world.run(vec![record(&use_case.id, "1")]).await;
    assert!(matches!(retry[0], Outcome::Provisioned { .. }), "{retry:?}");
    assert_eq!(world.registry.group_names().len(), 1);
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn a_group_name_held_by_another_use_case_is_quarantined_not_taken_over() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    world.registry.add_group(
        &format!("credit-risk-eu-{}", use_case.id),
        BTreeMap::from([("govsync:use-case-id".to_owned(), "999".to_owned())]),
    );
    let outcomes = world.run(vec![record(&use_case.id, "1")]).await;
    assert_eq!(outcomes, [Outcome::Quarantined("group_name_taken")]);
    assert!(world.notifier.sent().is_empty());
}

#[tokio::test]
async fn approved_use_case_under_an_unmapped_entity_is_reported_and_not_synced() {
    let world = World::new();
    let other = world.governance.insert(&NewGovernanceObject {
        kind: GovernanceKind::BusinessEntity,
        name: "Wholesale".into(),
        description: None,
        parent_id: None,
        fields: vec![],
    });
    let use_case = world.use_case(&other.id, "Approved for Development");
    assert_eq!(
        world.run(vec![record(&use_case.id, "1")]).await,
        [Outcome::Unmapped]
    );
    assert!(world.registry.group_names().is_empty());
    assert!(world.notifier.sent().is_empty());
    // Issue 18, 11: it keeps no idempotency record, so the same revision delivered again (after the
    // entity's registry is added) is judged again, not dropped as a duplicate.
    assert_eq!(
        world.run(vec![record(&use_case.id, "2")]).await,
        [Outcome::Unmapped]
    );
}

#[tokio::test]
async fn use_case_not_yet_approved_is_ignored() {
    let world = World::new();
    let use_case = world.use_case(&world.entity.id, "Awaiting Use Case Approval");
    assert_eq!(
        world.run(vec![record(&use_case.id, "1")]).await,
        [Outcome::Ignored("use_case_not_approved")]
    );
    assert!(world.registry.calls().is_empty());
}

#[tokio::test]
async fn approved_for_deployment_approves_the_package_with_ledger_token_and_description() {
    let world = World::new();
    let (model, arn) = world.linked_model("Approved for Deployment").await;
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Updated]
    );
    let package = world.registry.package(&arn).unwrap();
    assert_eq!(package.approval_status, Some(ApprovalStatus::Approved));
    let lifecycle = package.lifecycle.unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("PreProduction", "Approved")
    );
    let description = package.approval_description.unwrap();
    assert!(description.contains("jane@example.com"), "{description}");
    assert!(description.contains(model.id.as_str()), "{description}");
    assert!(package.customer_metadata.contains_key("govsync:rev"));
    assert_eq!(world.links.ledger_len(), 1, "the write was recorded first");
    let applied = world
        .links
        .applied_revision(&LinkEnd::Governance(model.id.clone()))
        .await
        .unwrap();
    assert!(applied.is_some());
    // The same change again: nothing more. (govsync's write of the artifact fingerprint onto the
    // Model made a newer revision, which finds the package in step.)
    assert_eq!(
        world.run(vec![record(&model.id, "2")]).await,
        [Outcome::InSync]
    );
    assert_eq!(
        world
            .registry
            .calls()
            .iter()
            .filter(|c| **c == "update_package")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_change_no_newer_than_the_applied_revision_is_dropped() {
    let world = World::new();
    let (model, arn) = world.linked_model("Approved for Production").await;
    world
        .links
        .advance_applied_revision(&LinkEnd::Governance(model.id.clone()), u64::MAX / 2)
        .await
        .unwrap();
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Stale]
    );
    assert_eq!(
        world.registry.package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
}

#[tokio::test]
async fn a_status_the_mapping_does_not_know_is_quarantined_with_the_reason() {
    let world = World::new();
    let (model, arn) = world.linked_model("Under Audit").await;
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Quarantined("unknown_governance_status")]
    );
    let quarantined = world.quarantine.messages();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].reason.contains("Under Audit"));
    assert!(world.registry.package(&arn).unwrap().lifecycle.is_none());
}

#[tokio::test]
async fn govsyncs_own_status_write_coming_back_is_dropped_once_and_applies_nothing() {
    let world = World::new();
    let (model, _) = world.linked_model("Deployed for Validation").await;
    let produced = object_revision(&model).unwrap().value();
    world
        .links
        .record_our_write(
            &status_write(&model.id, "Deployed for Validation").produced(produced),
            Utc::now() + chrono::Duration::seconds(60),
        )
        .await
        .unwrap();
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Echo]
    );
    assert!(!world.registry.calls().contains(&"update_package"));
    assert_eq!(
        world
            .links
            .applied_revision(&LinkEnd::Governance(model.id.clone()))
            .await
            .unwrap(),
        None,
        "an echo never advances the applied revision"
    );
    // The entry was consumed by the one change it excused.
    assert!(
        !world
            .links
            .consume_our_write(
                &status_write(&model.id, "Deployed for Validation").produced(produced),
                Utc::now(),
            )
            .await
            .unwrap()
    );
}

/// Issue 13, 1: govsync wrote status S (from a `both` row); the approver then moved the model on and
/// set S again. The repeat is a decision and reaches SageMaker, however recent govsync's own write of
/// the same value was.
#[tokio::test]
async fn a_person_setting_again_the_status_govsync_wrote_is_applied_not_taken_for_an_echo() {
    let world = World::new();
    let (model, arn) = world.linked_model("Development Complete").await;
    let produced = object_revision(&model).unwrap().value();
    world
        .links
        .record_our_write(
            &status_write(&model.id, "Development Complete").produced(produced),
            Utc::now() + chrono::Duration::seconds(3600),
        )
        .await
        .unwrap();

    let set_status = |status: &'static str| {
        let governance = world.governance.clone();
        let id = model.id.clone();
        async move {
            governance
                .update_object(&id, &[Field::choice("MRG-Model:Status", status)], None)
                .await
                .unwrap();
        }
    };
    set_status("Approved for Deployment").await;
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Updated]
    );
    assert_eq!(
        world.registry.package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::Approved)
    );
    set_status("Development Complete").await;
    assert_eq!(
        world.run(vec![record(&model.id, "2")]).await,
        [Outcome::Updated]
    );
    assert_eq!(
        world.registry.package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::PendingManualApproval),
        "the approver's decision reached SageMaker"
    );
}

#[tokio::test]
async fn a_status_the_package_already_holds_writes_nothing() {
    let world = World::new();
    let (model, arn) = world.linked_model("Under Development").await;
    let mut package = world.registry.package(&arn).unwrap();
    package.lifecycle = Some(ModelLifecycle::parse("Development", "InProgress", None).unwrap());
    world.registry.put_package(package);
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::InSync]
    );
    assert!(!world.registry.calls().contains(&"update_package"));
}

#[tokio::test]
async fn decommissioned_model_and_use_case_are_handed_to_the_decommission_queue() {
    let world = World::new();
    let (model, _) = world.linked_model("Decommissioned").await;
    let use_case = world.use_case(&world.entity.id, "Decommissioned");
    let outcomes = world
        .run(vec![record(&model.id, "1"), record(&use_case.id, "2")])
        .await;
    assert_eq!(
        outcomes,
        [
            Outcome::DecommissionRequested,
            Outcome::DecommissionRequested
        ]
    );
    let messages = world.decommission.messages();
    assert_eq!(messages.len(), 2);
    let requests: Vec<DecommissionRequest> = messages
        .iter()
        .map(|m| DecommissionRequest::from_json(&m.body).unwrap())
        .collect();
    assert_eq!(requests[0].kind, DecommissionKind::Model);
    assert_eq!(requests[0].governance_id, model.id);
    assert_eq!(requests[0].source, "approval-propagation");
    assert!(requests[0].reason.contains("jane@example.com"));
    assert_eq!(requests[1].kind, DecommissionKind::UseCase);
    assert_eq!(messages[0].message_group_id, requests[0].message_group_id());
    assert!(!world.registry.calls().contains(&"update_package"));
}

#[tokio::test]
async fn governance_unreachable_fails_the_message_and_a_later_delivery_completes_it() {
    let world = World::new();
    let (model, arn) = world.linked_model("Approved for Deployment").await;
    let other = world.use_case(&world.entity.id, "Approved for Development");
    for _ in 0..2 {
        world.governance.fail_next(
            "get_object",
            GovernanceError::Status {
                operation: "get object",
                status: 500,
                body: "down".into(),
            },
        );
    }
    // The model's two messages fail (the second only because the first did); the use case's first
    // read fails too.
    let outcomes = world
        .run(vec![
            record(&model.id, "1"),
            record(&model.id, "2"),
            record(&other.id, "3"),
        ])
        .await;
    assert_eq!(
        outcomes,
        [
            Outcome::Failed("governance"),
            Outcome::Failed("group_blocked"),
            Outcome::Failed("governance")
        ]
    );
    // Governance is back: the redelivered messages complete, once.
    let outcomes = world
        .run(vec![
            record(&model.id, "1"),
            record(&model.id, "2"),
            record(&other.id, "3"),
        ])
        .await;
    assert_eq!(outcomes[0], Outcome::Updated);
    // The second reads the revision govsync's artifact field write made: in step, nothing written.
    assert_eq!(outcomes[1], Outcome::InSync);
    assert!(matches!(outcomes[2], Outcome::Provisioned { .. }));
    assert_eq!(
        world.registry.package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::Approved)
    );
}

#[tokio::test]
async fn undecodable_messages_are_quarantined_and_block_nothing() {
    let world = World::new();
    let (model, _) = world.linked_model("Approved for Deployment").await;
    let mut junk = SqsMessage::default();
    junk.message_id = Some("junk".into());
    junk.body = Some(r#"{"schema":"something-else"}"#.into());
    junk.attributes
        .insert("MessageGroupId".into(), model.id.to_string());
    let outcomes = world.run(vec![junk, record(&model.id, "1")]).await;
    assert_eq!(
        outcomes,
        [Outcome::Quarantined("undecodable"), Outcome::Updated]
    );
}

#[tokio::test]
async fn the_lambda_response_reports_only_failed_messages() {
    let world = World::new();
    let (model, _) = world.linked_model("Approved for Deployment").await;
    let use_case = world.use_case(&world.entity.id, "Approved for Development");
    world.governance.fail_next(
        "get_object",
        GovernanceError::Transport {
            operation: "get object",
            message: "connection refused".into(),
        },
    );
    let mut event = SqsEvent::default();
    event.records = vec![record(&model.id, "1"), record(&use_case.id, "2")];
    let response = handle_with(
        &world.handler,
        LambdaEvent::new(event, Context::default()),
        None,
    )
    .await
    .unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(failed, ["m-1"]);
}

#[tokio::test]
async fn an_applied_approval_publishes_one_decision_event_whatever_the_redeliveries() {
    let world = World::new();
    let (model, arn) = world.linked_model("Approved for Deployment").await;
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Updated]
    );
    // Redelivered, replayed under another delivery id, and delivered again in one batch.
    world.run(vec![record(&model.id, "1")]).await;
    world
        .run(vec![
            record(&model.id, "replay-1"),
            record(&model.id, "replay-2"),
        ])
        .await;
    let published = world.bus.published();
    assert_eq!(published.len(), 1, "{published:#?}");
    assert_schema_valid(&published);
    let event = &published[0];
    assert_eq!(event.package_arn, arn);
    assert_eq!(event.approval_status, "Approved");
    let lifecycle = event.lifecycle.as_ref().unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("PreProduction", "Approved")
    );
    assert_eq!(event.governance.model_id, model.id.as_str());
    assert_eq!(event.governance.status, "Approved for Deployment");
    assert_eq!(
        event.governance.decided_by.as_deref(),
        Some("jane@example.com")
    );
    assert!(event.governance.decided_at.is_some());
    assert_eq!(
        event.governance.model_link.as_deref(),
        Some(
            format!(
                "https://grc.example.com/app/jspview/react/grc/task-view/{}",
                model.id
            )
            .as_str()
        )
    );
    assert!(
        world
            .links
            .pending_decision(&model.id)
            .await
            .unwrap()
            .is_none(),
        "the outbox is empty once published"
    );
}

#[tokio::test]
async fn a_put_that_fails_after_the_write_is_published_by_the_next_delivery_once() {
    let world = World::new();
    let (model, arn) = world.linked_model("Approved for Deployment").await;
    world.bus.fail_next(
        "publish",
        govsync_core::ports::PublishError {
            decision_id: "any".into(),
            message: "EventBridge unavailable".into(),
        },
    );
    let first = world.run(vec![record(&model.id, "1")]).await;
    assert!(
        matches!(first.as_slice(), [Outcome::Failed(_)]),
        "retried, not dead-lettered: {first:?}"
    );
    assert_eq!(
        world.registry.package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::Approved),
        "the write was made"
    );
    assert!(world.bus.published().is_empty());
    let pending = world.links.pending_decision(&model.id).await.unwrap();
    assert!(pending.is_some(), "kept in the outbox");
    // SQS delivers the message again: the decision is published, the package is left as it is.
    world.run(vec![record(&model.id, "1")]).await;
    world.run(vec![record(&model.id, "1")]).await;
    let published = world.bus.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].decision_id, pending.unwrap().decision_id);
    assert_eq!(
        world
            .registry
            .calls()
            .iter()
            .filter(|c| **c == "update_package")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_new_governance_decision_gets_another_id_and_an_echo_publishes_nothing() {
    let world = World::new();
    let (model, _) = world.linked_model("Approved for Deployment").await;
    world.run(vec![record(&model.id, "1")]).await;
    world
        .governance
        .update_object(
            &model.id,
            &[Field::choice("MRG-Model:Status", "Approved for Production")],
            None,
        )
        .await
        .unwrap();
    world.run(vec![record(&model.id, "2")]).await;
    let published = world.bus.published();
    assert_eq!(published.len(), 2, "{published:#?}");
    assert_schema_valid(&published);
    assert_ne!(published[0].decision_id, published[1].decision_id);
    assert_eq!(published[1].governance.status, "Approved for Production");
}

const MODEL_DATA: &str = "s3://credit-models/credit-risk-9/1/model.tar.gz";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/credit-risk/serve:1.4";
const DIGEST_REVIEWED: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[tokio::test]
async fn an_applied_approval_is_bound_to_the_artifact_in_the_event_the_table_and_governance() {
    let world = World::new();
    let (model, arn) = world.linked_model("Approved for Deployment").await;
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Updated]
    );
    let published = world.bus.published();
    assert_eq!(published.len(), 1);
    assert_schema_valid(&published);
    let artifact = published[0]
        .artifact
        .as_ref()
        .expect("the approval's fingerprint");
    assert!(artifact.verified, "{artifact:#?}");
    let container = &artifact.containers[0];
    assert_eq!(
        container.model_data,
        Some(govsync_core::artifact::Part::S3Object {
            uri: MODEL_DATA.into(),
            etag: "etag-reviewed".into(),
            version_id: Some("v1".into()),
        })
    );
    assert_eq!(
        container.image,
        Some(govsync_core::artifact::Part::Image {
            uri: IMAGE.into(),
            digest: DIGEST_REVIEWED.into(),
        })
    );
    let approved = world
        .links
        .approved_artifact(&govsync_core::ModelPackageArn::parse(&arn).unwrap())
        .await
        .unwrap()
        .expect("the approved artifact is recorded");
    assert_eq!(approved.decision_id, published[0].decision_id);
    let model = world.governance.get_object(&model.id).await.unwrap();
    let field = model
        .field("MRG-Model:Artifact Fingerprint")
        .and_then(|value| value.as_text())
        .expect("the fingerprint is written onto the governance Model");
    assert!(field.contains("ETag etag-reviewed, version v1"), "{field}");
    assert!(field.contains(DIGEST_REVIEWED), "{field}");
}

#[tokio::test]
async fn an_unreadable_artifact_is_approved_as_governance_decided_and_published_as_unverified() {
    let world = World::new();
    let (model, _) = world.linked_model("Approved for Deployment").await;
    world.artifacts.deny("credit-models");
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Updated]
    );
    let published = world.bus.published();
    assert_schema_valid(&published);
    let artifact = published[0].artifact.as_ref().unwrap();
    assert!(!artifact.verified);
    assert_eq!(artifact.unverifiable.len(), 1, "{artifact:#?}");
    assert!(
        artifact.unverifiable[0].contains("access denied"),
        "{artifact:#?}"
    );
}

#[tokio::test]
async fn a_decision_that_does_not_approve_carries_no_artifact() {
    let world = World::new();
    let (model, _) = world.linked_model("Rejected").await;
    assert_eq!(
        world.run(vec![record(&model.id, "1")]).await,
        [Outcome::Updated]
    );
    let published = world.bus.published();
    assert_eq!(published.len(), 1);
    assert_schema_valid(&published);
    assert_eq!(published[0].approval_status, "Rejected");
    assert!(published[0].artifact.is_none());
}

/// Every published detail holds to the public schema (`shared/core/schemas/`).
fn assert_schema_valid(published: &[govsync_core::decision_event::DecisionDetail]) {
    let schema: serde_json::Value =
        serde_json::from_str(govsync_core::decision_event::SCHEMA_V1).unwrap();
    for detail in published {
        let value = serde_json::to_value(detail).unwrap();
        govsync_testkit::json_schema::check(&schema, &value)
            .unwrap_or_else(|problem| panic!("{problem}: {value:#}"));
        assert!(
            detail.decision_id.starts_with("gd-") && detail.decision_id.len() == 35,
            "{}",
            detail.decision_id
        );
    }
}
