//! The handler on in-memory fakes: every behaviour of F2/F3 and the batch rules.

mod support;

use std::time::Duration;

use govsync_core::customer_metadata::keys;
use govsync_core::ports::quarantine::attributes;
use govsync_core::ports::{
    ApprovalStatus, FieldValue, GovernanceError, LinkKind, ModelLifecycle, QuarantineError,
};
use govsync_core::sync::GateMode;
use govsync_core::sync::fields;
use govsync_registry_events::{FunctionReport, Outcome};
use support::*;

fn field_text(object: &govsync_core::ports::GovernanceObject, name: &str) -> Option<String> {
    object.field(name).and_then(FieldValue::as_text)
}

fn throttled() -> GovernanceError {
    GovernanceError::Status {
        operation: "create object",
        status: 429,
        body: "slow down".into(),
    }
}

#[tokio::test]
async fn a_registered_version_appears_under_its_use_case_and_is_written_back() {
    let world = World::new(GateMode::Enforce);
    let group_arn = world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);

    let failures = world.run(vec![record("m1", &state_change(&package))]).await;
    assert!(failures.is_empty(), "{failures:?}");

    let groups = world.objects_of("ModelGroup");
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    assert_eq!(group.primary_parent_id.as_ref(), Some(&world.use_case.id));
    assert_eq!(
        field_text(group, fields::EXTERNAL_ID).as_deref(),
        Some(group_arn.as_str())
    );

    let models = world.objects_of("Model");
    assert_eq!(models.len(), 1);
    let model = &models[0];
    assert_eq!(model.primary_parent_id.as_ref(), Some(&group.id));
    assert_eq!(
        field_text(model, fields::EXTERNAL_ID).as_deref(),
        Some(package.arn.as_str())
    );
    assert_eq!(
        field_text(model, fields::MODEL_VERSION).as_deref(),
        Some("1")
    );
    assert_eq!(
        field_text(model, fields::MODEL_PROVIDER).as_deref(),
        Some("Amazon SageMaker")
    );
    assert_eq!(
        field_text(model, fields::INFERENCE_IMAGE).as_deref(),
        Some("123.dkr.ecr.us-east-1.amazonaws.com/fraud:1")
    );
    assert_eq!(
        field_text(model, fields::MODEL_CREATOR).as_deref(),
        Some(PERSON)
    );
    assert_eq!(model.description.as_deref(), Some("fraud model v1"));

    let written = world
        .registry
        .package(&package.arn)
        .unwrap()
        .customer_metadata;
    // Packed (issue 19): the ids, the risk level and the use case's name in one entry.
    assert_eq!(
        written.get(keys::LINKS).map(String::as_str),
        Some(
            format!(
                "model={} model-group={} use-case={} risk=High name=Fraud detection EU",
                model.id, group.id, world.use_case.id
            )
            .as_str()
        )
    );
    assert!(written.contains_key(keys::REVISION));
    assert!(
        written
            .get(keys::MODEL_URL)
            .is_some_and(|url| url.ends_with(&format!("/{}", model.id)))
    );

    let links = world.links.links();
    assert!(
        links
            .iter()
            .any(|l| l.kind == LinkKind::ModelGroup && l.arn.as_str() == group_arn)
    );
    assert!(
        links
            .iter()
            .any(|l| l.kind == LinkKind::Model && l.arn == package.arn)
    );
    // Issue 13: created with the mapping's initial status, whose lifecycle the write-back carries.
    assert_eq!(
        field_text(model, fields::MODEL_STATUS).as_deref(),
        Some("Under Development")
    );
    let staged = world.registry.package(&package.arn).unwrap().lifecycle;
    assert_eq!(
        staged
            .as_ref()
            .map(|l| (l.stage.as_str(), l.stage_status.as_str())),
        Some(("Development", "InProgress"))
    );
    assert_eq!(
        world.links.ledger_len(),
        2,
        "the write-back and the created Model's status were recorded before they were made"
    );
}

#[tokio::test]
async fn the_same_event_delivered_again_is_a_duplicate_and_creates_nothing_more() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    let body = state_change(&package);
    world.run(vec![record("m1", &body)]).await;
    let calls_before = world.governance.calls().len();

    let report = world
        .handler
        .handle_batch(
            &[record("m2", &body), record("m3", &body)],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.count("duplicate"), 2, "{report:?}");
    assert_eq!(world.objects_of("Model").len(), 1);
    assert_eq!(
        world.governance.calls().len(),
        calls_before,
        "no governance call for a duplicate"
    );
}

#[tokio::test]
async fn a_second_version_in_the_same_group_reuses_the_model_group() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    let second = world.register("fraud", 2);
    let failures = world
        .run(vec![
            record("m1", &state_change(&first)),
            record("m2", &state_change(&second)),
        ])
        .await;
    assert!(failures.is_empty());
    assert_eq!(world.objects_of("ModelGroup").len(), 1);
    assert_eq!(world.objects_of("Model").len(), 2);
}

#[tokio::test]
async fn an_event_older_than_the_applied_revision_is_a_no_op() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let old = world.register("fraud", 1);
    let mut newer = old.clone();
    newer.last_modified_time = old
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(30));
    newer.model_data_urls = vec!["s3://models/fraud/1/retrained.tar.gz".into()];
    world.registry.put_package(newer.clone());
    world.run(vec![record("m1", &state_change(&newer))]).await;
    let model_before = world.objects_of("Model");

    let report = world
        .handler
        .handle_batch(
            &[record("m2", &state_change(&old))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Stale);
    assert_eq!(
        world.objects_of("Model"),
        model_before,
        "the newer state stays"
    );
    assert_eq!(
        field_text(&model_before[0], fields::MODEL_DATA_URL).as_deref(),
        Some("s3://models/fraud/1/retrained.tar.gz")
    );
}

#[tokio::test]
async fn the_echo_of_the_write_back_is_dropped_by_the_ledger() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&package))]).await;
    let after_write = world.registry.package(&package.arn).unwrap();
    let governance_calls = world.governance.calls().len();
    let registry_calls = world.registry.calls().len();

    let report = world
        .handler
        .handle_batch(
            &[record("m2", &state_change(&after_write))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Echo);
    assert_eq!(world.governance.calls().len(), governance_calls);
    assert_eq!(
        world.registry.calls().len(),
        registry_calls,
        "not even re-described"
    );
}

/// Issue 13, 1 (registry side): an echo entry excuses one change. A person who brings the package back
/// to exactly the state govsync wrote (A → B → A) is seen, not swallowed.
#[tokio::test]
async fn the_write_backs_ledger_entry_excuses_one_event_only() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&package))]).await;
    let after_write = world.registry.package(&package.arn).unwrap();
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(60);
    let report = world
        .handler
        .handle_batch(&[record("m2", &state_change(&after_write))], deadline)
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Echo);

    let mut back_again = after_write.clone();
    back_again.last_modified_time = after_write
        .last_modified_time
        .map(|time| time + chrono::Duration::seconds(5));
    let report = world
        .handler
        .handle_batch(&[record("m3", &state_change(&back_again))], deadline)
        .await;
    assert!(
        matches!(report.outcomes[0].1, Outcome::Synced { .. }),
        "{:?}",
        report.outcomes[0].1
    );
}

/// Issue 13, 3: two deliveries for one package racing in two invocations, one of them naming another
/// group in its detail, make one governance model group and one Model.
#[tokio::test]
async fn racing_deliveries_for_one_package_create_one_model_group_and_one_model() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.governance.set_latency(Duration::from_millis(20));
    let honest = state_change(&package);
    // Another state of the same package (a later LastModifiedTime: another idempotency key), whose
    // detail names another group.
    let mut later = package.clone();
    later.last_modified_time = package
        .last_modified_time
        .map(|time| time + chrono::Duration::milliseconds(1));
    let mut lying: serde_json::Value = serde_json::from_str(&state_change(&later)).unwrap();
    lying["detail"]["ModelPackageGroupName"] = serde_json::json!("other-group");
    let lying = lying.to_string();
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(60);
    let (batch_one, batch_two) = ([record("m1", &honest)], [record("m2", &lying)]);
    let (first, second) = tokio::join!(
        world.handler.handle_batch(&batch_one, deadline),
        world.handler.handle_batch(&batch_two, deadline),
    );
    // A delivery that met the other's creation in progress is retried, as SQS would.
    for (report, body) in [(first, &honest), (second, &lying)] {
        if matches!(report.outcomes[0].1, Outcome::Failed(_)) {
            let again = world
                .handler
                .handle_batch(&[record("m3", body)], deadline)
                .await;
            assert!(
                matches!(
                    again.outcomes[0].1,
                    Outcome::Synced { .. } | Outcome::Duplicate | Outcome::Stale
                ),
                "{:?}",
                again.outcomes[0].1
            );
        }
    }
    assert_eq!(world.objects_of("ModelGroup").len(), 1);
    assert_eq!(world.objects_of("Model").len(), 1);
}

#[tokio::test]
async fn govsyncs_own_cloudtrail_calls_are_dropped_by_identity() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    let report = world
        .handler
        .handle_batch(
            &[record(
                "m1",
                &update_call(&package.arn, GOVSYNC_CALLER, "ev-1"),
            )],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Echo);
    assert!(world.governance.calls().is_empty());
    assert!(world.registry.calls().is_empty());
}

#[tokio::test]
async fn a_persons_cloudtrail_update_is_synced_from_the_described_package() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    let failures = world
        .run(vec![record(
            "m1",
            &update_call(&package.arn, PERSON, "ev-2"),
        )])
        .await;
    assert!(failures.is_empty());
    assert_eq!(world.objects_of("Model").len(), 1);
}

#[tokio::test]
async fn a_package_of_an_unassigned_group_is_reported_not_dropped() {
    let world = World::new(GateMode::Enforce);
    world.registry.add_group("orphan", Default::default());
    let package = world.register("orphan", 1);
    let report = world
        .handler
        .handle_batch(
            &[record("m1", &state_change(&package))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.findings("unassigned"), 1, "{report:?}");
    assert!(report.failures().is_empty());
    assert!(world.objects_of("Model").is_empty());
    assert!(
        world.idempotency.is_completed(&{
            let event =
                govsync_core::registry_event::decode_envelope(state_change(&package).as_bytes())
                    .unwrap();
            event.idempotency_key().to_string()
        }),
        "the outcome is recorded"
    );
}

/// A version governance approved (and govsync bound to its artifact), then `change` done to the
/// artifact, then a later event about the package (a metadata edit).
async fn artifact_after_approval(
    gate: GateMode,
    change: impl FnOnce(&World),
) -> (
    World,
    govsync_core::ports::ModelPackage,
    govsync_core::batch_report::BatchReport<Outcome>,
) {
    use govsync_core::ports::{ApprovedArtifact, ApprovedArtifacts as _, Governance as _};
    let world = World::new(gate);
    world.add_assigned_group("fraud");
    let mut package = world.register("fraud", 1);
    let data = "s3://models/fraud/1/model.tar.gz";
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1";
    package.containers = vec![govsync_core::artifact::ContainerArtifact {
        image: Some(image.into()),
        model_data: Some(govsync_core::artifact::ModelData::Object(data.into())),
        ..Default::default()
    }];
    world.registry.put_package(package.clone());
    world.artifacts.put_object(data, "etag-reviewed");
    world.artifacts.tag_image("fraud", "1", DIGEST_REVIEWED);
    world.run(vec![record("m1", &state_change(&package))]).await;
    // Governance approves; approval-propagation applies it and binds it to the artifact.
    let model = world.objects_of("Model").remove(0);
    world
        .governance
        .update_object(
            &model.id,
            &[govsync_core::ports::Field::choice(
                fields::MODEL_STATUS,
                "Approved for Deployment",
            )],
            None,
        )
        .await
        .unwrap();
    let fingerprint = govsync_core::artifact::fingerprint(
        &package.containers,
        world.artifacts.as_ref(),
        world.artifacts.as_ref(),
    )
    .await
    .unwrap();
    world
        .links
        .record_approved_artifact(&ApprovedArtifact {
            package_arn: package.arn.clone(),
            model: model.id.clone(),
            decision_id: "gd-00000000000000000000000000000001".into(),
            fingerprint,
            approved_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let mut approved = world.registry.package(&package.arn).unwrap();
    approved.approval_status = Some(ApprovalStatus::Approved);
    approved.lifecycle = Some(ModelLifecycle::parse("PreProduction", "Approved", None).unwrap());
    approved.last_modified_time = approved
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(5));
    world.registry.put_package(approved.clone());
    change(&world);
    // Later: the data scientist edits a metadata entry.
    let mut edited = world.registry.package(&package.arn).unwrap();
    edited
        .customer_metadata
        .insert("team".into(), "fraud-ml".into());
    edited.last_modified_time = edited
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(5));
    world.registry.put_package(edited.clone());
    let report = world
        .handler
        .handle_batch(
            &[record("m2", &state_change(&edited))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    let now = world.registry.package(&package.arn).unwrap();
    (world, now, report)
}

const DIGEST_REVIEWED: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const DIGEST_MOVED: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn model_text(world: &World, name: &str) -> Option<String> {
    field_text(&world.objects_of("Model")[0], name)
}

#[tokio::test]
async fn an_object_overwritten_after_approval_is_found_and_the_approval_revoked_under_enforce() {
    let (world, package, report) = artifact_after_approval(GateMode::Enforce, |world| {
        world
            .artifacts
            .put_object("s3://models/fraud/1/model.tar.gz", "etag-overwritten")
    })
    .await;
    assert_eq!(report.findings("artifact_changed_since_approval"), 1);
    assert_eq!(
        package.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
    let reason = package.approval_description.unwrap_or_default();
    assert!(
        reason.contains("artifact changed since governance approved it"),
        "{reason}"
    );
    assert!(reason.contains("etag-overwritten"), "{reason}");
    let lifecycle = package.lifecycle.unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("Validation", "PendingApproval")
    );
    // Governance: back to review, and the reason on the Model.
    assert_eq!(
        model_text(&world, fields::MODEL_STATUS).as_deref(),
        Some("Candidate for Validation")
    );
    let note = model_text(&world, "MRG-Model:Artifact Fingerprint").unwrap_or_default();
    assert!(note.contains("govsync revoked the approval"), "{note}");
    assert!(note.contains("etag-overwritten"), "{note}");
}

#[tokio::test]
async fn an_image_tag_moved_to_another_digest_is_found_and_the_approval_revoked_under_enforce() {
    let (world, package, report) = artifact_after_approval(GateMode::Enforce, |world| {
        world.artifacts.tag_image("fraud", "1", DIGEST_MOVED)
    })
    .await;
    assert_eq!(report.findings("artifact_changed_since_approval"), 1);
    assert_eq!(
        package.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
    assert!(
        package
            .approval_description
            .unwrap_or_default()
            .contains(DIGEST_MOVED)
    );
    let note = model_text(&world, "MRG-Model:Artifact Fingerprint").unwrap_or_default();
    assert!(note.contains(DIGEST_MOVED), "{note}");
}

#[tokio::test]
async fn a_changed_artifact_is_only_reported_under_alert() {
    let (world, package, report) = artifact_after_approval(GateMode::Alert, |world| {
        world
            .artifacts
            .put_object("s3://models/fraud/1/model.tar.gz", "etag-overwritten")
    })
    .await;
    assert_eq!(report.findings("artifact_changed_since_approval"), 1);
    assert_eq!(package.approval_status, Some(ApprovalStatus::Approved));
    assert_eq!(
        model_text(&world, fields::MODEL_STATUS).as_deref(),
        Some("Approved for Deployment")
    );
}

#[tokio::test]
async fn an_unreadable_artifact_is_a_finding_not_a_match_and_revokes_nothing() {
    let (world, package, report) =
        artifact_after_approval(GateMode::Enforce, |world| world.artifacts.deny("models")).await;
    assert_eq!(report.findings("artifact_unverifiable"), 1);
    assert_eq!(report.findings("artifact_changed_since_approval"), 0);
    assert_eq!(package.approval_status, Some(ApprovalStatus::Approved));
    assert_eq!(
        model_text(&world, fields::MODEL_STATUS).as_deref(),
        Some("Approved for Deployment")
    );
}

#[tokio::test]
async fn an_unchanged_artifact_passes_without_a_finding() {
    let (_, package, report) = artifact_after_approval(GateMode::Enforce, |_| {}).await;
    assert_eq!(report.findings("artifact_changed_since_approval"), 0);
    assert_eq!(report.findings("artifact_unverifiable"), 0);
    assert_eq!(package.approval_status, Some(ApprovalStatus::Approved));
}

async fn shadow_approval(gate: GateMode) -> (World, ApprovalStatus, usize) {
    let world = World::new(gate);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&package))]).await;
    // A person approves in SageMaker; governance has not approved the model.
    let mut approved = world.registry.package(&package.arn).unwrap();
    approved.approval_status = Some(ApprovalStatus::Approved);
    approved.last_modified_time = approved
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(5));
    world.registry.put_package(approved.clone());
    let report = world
        .handler
        .handle_batch(
            &[record("m2", &state_change(&approved))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    let findings = report.findings("shadow_approval");
    let approval = world
        .registry
        .package(&package.arn)
        .unwrap()
        .approval_status
        .unwrap();
    (world, approval, findings)
}

#[tokio::test]
async fn shadow_approval_is_reverted_and_reported_under_enforce() {
    let (world, approval, findings) = shadow_approval(GateMode::Enforce).await;
    assert_eq!(approval, ApprovalStatus::PendingManualApproval);
    assert_eq!(findings, 1);
    let package = world
        .registry
        .package(world.registry.package_arn("fraud", 1))
        .unwrap();
    assert!(
        package
            .approval_description
            .is_some_and(|d| d.contains("without a governance approval"))
    );
}

#[tokio::test]
async fn shadow_approval_is_only_reported_under_alert() {
    let (_, approval, findings) = shadow_approval(GateMode::Alert).await;
    assert_eq!(approval, ApprovalStatus::Approved);
    assert_eq!(findings, 1);
}

#[tokio::test]
async fn shadow_approval_is_ignored_when_the_gate_is_off() {
    let (_, approval, findings) = shadow_approval(GateMode::Off).await;
    assert_eq!(approval, ApprovalStatus::Approved);
    assert_eq!(findings, 0);
}

#[tokio::test]
async fn a_lifecycle_change_on_a_two_way_row_moves_the_governance_status() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&package))]).await;
    let mut changed = world.registry.package(&package.arn).unwrap();
    changed.lifecycle = Some(ModelLifecycle::parse("Development", "Complete", None).unwrap());
    changed.last_modified_time = changed
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(5));
    world.registry.put_package(changed.clone());
    world.run(vec![record("m2", &state_change(&changed))]).await;
    let model = &world.objects_of("Model")[0];
    assert_eq!(
        field_text(model, fields::MODEL_STATUS).as_deref(),
        Some("Development Complete")
    );
    assert_eq!(
        world.links.ledger_len(),
        4,
        "the initial status, the write-back, the status change and the Model Card's new status all recorded"
    );
    let card = world
        .registry
        .package(&package.arn)
        .unwrap()
        .facts
        .model_card
        .and_then(|card| card.content)
        .unwrap();
    assert!(
        card.contains(r#""govsync_governance_status":"Development Complete""#),
        "{card}"
    );
}

/// Design §4 (central registry): a record from an account outside the map about a package a mapped
/// registry owns is a hint; the package is read from its owner and synced, nothing is dead-lettered.
#[tokio::test]
async fn a_record_from_another_account_about_a_mapped_package_syncs_it_from_its_owner() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    let body = state_change_in(&package, "999999999999");
    let failures = world.run(vec![record("m1", &body)]).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(world.quarantine.messages().is_empty());
    assert_eq!(world.objects_of("Model").len(), 1);
}

/// Issue 13, 2 and design §4: an event naming a package no mapped registry owns has no effect. It is
/// skipped with its reason (counted), never acted on, and never dead-lettered for that alone.
#[tokio::test]
async fn a_package_no_mapped_registry_owns_is_skipped_with_its_reason() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let mut package = world.register("fraud", 1);
    package.arn = govsync_core::ModelPackageArn::parse(
        &package.arn.as_str().replace("123456789012", "999999999999"),
    )
    .unwrap();
    let body = state_change_in(&package, "999999999999");
    let report = world
        .handler
        .handle_batch(
            &[record("m1", &body)],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Ignored("unmapped_owner"));
    assert!(world.quarantine.messages().is_empty());
    assert!(world.governance.calls().is_empty());
    assert!(world.registry.calls().is_empty());
    assert_eq!(attributes::ERROR_CODE, "govsync-error-code");
}

#[tokio::test]
async fn an_undecodable_body_is_quarantined_and_its_group_goes_on() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    let failures = world
        .run(vec![
            record("bad", "{not json"),
            record("m2", &state_change(&package)),
        ])
        .await;
    assert!(failures.is_empty());
    let quarantined = world.quarantine.messages();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].error_code, "not_json");
    assert_eq!(world.objects_of("Model").len(), 1);
}

#[tokio::test]
async fn when_the_dlq_send_fails_the_message_is_reported_failed_not_dropped() {
    let world = World::new(GateMode::Enforce);
    world.quarantine.fail_next(
        "quarantine",
        QuarantineError::Transport {
            message: "connection reset".into(),
        },
    );
    let failures = world.run(vec![record("bad", "[]")]).await;
    assert_eq!(failures, vec!["bad".to_owned()]);
}

#[tokio::test]
async fn a_retryable_failure_stops_its_logical_group_and_only_that_group() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    world.add_assigned_group("churn");
    let fraud1 = world.register("fraud", 1);
    let fraud2 = world.register("fraud", 2);
    let churn1 = world.register("churn", 1);
    // The first create (the fraud model group) is throttled.
    world.governance.fail_next("create_object", throttled());
    let failures = world
        .run(vec![
            record("f1", &state_change(&fraud1)),
            record("c1", &state_change(&churn1)),
            record("f2", &state_change(&fraud2)),
        ])
        .await;
    assert_eq!(failures, vec!["f1".to_owned(), "f2".to_owned()]);
    let models = world.objects_of("Model");
    assert_eq!(models.len(), 1);
    assert_eq!(
        field_text(&models[0], fields::EXTERNAL_ID).as_deref(),
        Some(churn1.arn.as_str())
    );
    // The claim was released: the retry runs and completes the group in order.
    let failures = world
        .run(vec![
            record("f1", &state_change(&fraud1)),
            record("f2", &state_change(&fraud2)),
        ])
        .await;
    assert!(failures.is_empty());
    assert_eq!(world.objects_of("Model").len(), 3);
    assert_eq!(world.objects_of("ModelGroup").len(), 2);
}

#[tokio::test]
async fn a_failure_after_the_model_was_created_does_not_create_it_twice_on_retry() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.registry.fail_next(
        "update_package",
        govsync_core::ports::RegistryError::Throttled {
            operation: "UpdateModelPackage",
            message: "rate exceeded".into(),
        },
    );
    let failures = world.run(vec![record("m1", &state_change(&package))]).await;
    assert_eq!(failures, vec!["m1".to_owned()]);
    let failures = world.run(vec![record("m1", &state_change(&package))]).await;
    assert!(failures.is_empty());
    assert_eq!(world.objects_of("Model").len(), 1);
    assert_eq!(world.objects_of("ModelGroup").len(), 1);
    assert!(
        world
            .registry
            .package(&package.arn)
            .unwrap()
            .customer_metadata
            .contains_key(keys::LINKS)
    );
}

#[tokio::test(start_paused = true)]
async fn independent_groups_run_concurrently_and_each_group_in_order() {
    let world = World::new(GateMode::Enforce);
    let groups = ["g1", "g2", "g3", "g4", "g5"];
    let mut records = Vec::new();
    for group in groups {
        world.add_assigned_group(group);
        let package = world.register(group, 1);
        records.push(record(&format!("{group}-1"), &state_change(&package)));
    }
    let latency = Duration::from_millis(20);
    world.governance.set_latency(latency);
    world.registry.set_latency(latency);

    let started = tokio::time::Instant::now();
    let failures = world.run(records).await;
    let elapsed = started.elapsed();
    assert!(failures.is_empty());
    // One message's remote calls (registry + governance) at 20 ms each, not five messages' worth.
    let one_message = latency * 10;
    assert!(
        elapsed < one_message * 2,
        "took {elapsed:?}: groups ran one after the other"
    );
    assert_eq!(world.objects_of("Model").len(), 5);
}

#[tokio::test]
async fn the_response_reports_only_failed_message_ids() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.governance.fail_next(
        "get_object",
        GovernanceError::Status {
            operation: "get object",
            status: 503,
            body: String::new(),
        },
    );
    let failures = world.run(vec![record("m1", &state_change(&package))]).await;
    assert_eq!(failures, vec!["m1".to_owned()]);
    // Permanent governance errors (a 400) quarantine instead.
    world.governance.fail_next(
        "get_object",
        GovernanceError::Status {
            operation: "get object",
            status: 400,
            body: "bad field".into(),
        },
    );
    let failures = world.run(vec![record("m2", &state_change(&package))]).await;
    assert!(failures.is_empty());
    assert_eq!(world.quarantine.messages()[0].error_code, "governance");
}

#[tokio::test]
async fn the_sample_sqs_batch_runs_through_the_handler() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud-detection-4711");
    world.register("fraud-detection-4711", 2);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/registry-events/sqs-event-batch.json"
    );
    let event: aws_lambda_events::sqs::SqsEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event.records.len(), 3);
    let failures = world.run(event.records).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(world.quarantine.messages().is_empty());
    assert_eq!(world.objects_of("Model").len(), 1);
}

#[tokio::test]
async fn a_metadata_change_right_after_the_write_back_is_synced_not_taken_for_its_echo() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&package))]).await;
    let mut retrained = world.registry.package(&package.arn).unwrap();
    retrained.model_data_urls = vec!["s3://models/fraud/1/retrained.tar.gz".into()];
    retrained.last_modified_time = retrained
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(1));
    world.registry.put_package(retrained.clone());
    let report = world
        .handler
        .handle_batch(
            &[record("m2", &state_change(&retrained))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.count("synced"), 1, "{report:?}");
    assert_eq!(
        field_text(&world.objects_of("Model")[0], fields::MODEL_DATA_URL).as_deref(),
        Some("s3://models/fraud/1/retrained.tar.gz")
    );
}

/// Issue 13, 7: two people's changes within one second, seen only through CloudTrail (whole-second
/// `eventTime`): the second is synced, not dropped as stale; staleness is judged by the package's
/// millisecond `LastModifiedTime`.
#[tokio::test]
async fn two_changes_in_one_second_seen_through_cloudtrail_are_both_synced() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let mut package = world.register("fraud", 1);
    let second = chrono::DateTime::parse_from_rfc3339("2026-01-02T09:20:00Z")
        .unwrap()
        .to_utc();
    package.last_modified_time = Some(second - chrono::Duration::seconds(5));
    world.registry.put_package(package.clone());
    world.run(vec![record("m1", &state_change(&package))]).await;

    let call_at_that_second = |event_id: &str| {
        let mut body: serde_json::Value =
            serde_json::from_str(&update_call(&package.arn, PERSON, event_id)).unwrap();
        body["detail"]["eventTime"] = serde_json::json!("2026-01-02T09:20:00Z");
        body["time"] = serde_json::json!("2026-01-02T09:20:00Z");
        body.to_string()
    };
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(60);
    for (event_id, millis, description) in [
        ("ev-1", 300, "retrained by alice"),
        ("ev-2", 800, "retrained again by bob"),
    ] {
        let mut changed = world.registry.package(&package.arn).unwrap();
        changed.description = Some(description.into());
        changed.last_modified_time = Some(second + chrono::Duration::milliseconds(millis));
        world.registry.put_package(changed);
        let report = world
            .handler
            .handle_batch(
                &[record(event_id, &call_at_that_second(event_id))],
                deadline,
            )
            .await;
        assert_eq!(report.count("synced"), 1, "{event_id}: {report:?}");
        assert_eq!(
            world.objects_of("Model")[0].description.as_deref(),
            Some(description)
        );
    }
    // The same record delivered again describes a state already applied.
    let report = world
        .handler
        .handle_batch(&[record("ev-3", &call_at_that_second("ev-3"))], deadline)
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Stale);
}

#[tokio::test]
async fn a_description_change_updates_the_models_description_once() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&package))]).await;
    assert_eq!(
        world.objects_of("Model")[0].description.as_deref(),
        Some("fraud model v1")
    );
    let mut redescribed = world.registry.package(&package.arn).unwrap();
    redescribed.description = Some("fraud model v1, retrained on 2026 data".into());
    redescribed.last_modified_time = redescribed
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(1));
    world.registry.put_package(redescribed.clone());
    let updates = |world: &World| {
        world
            .governance
            .calls()
            .iter()
            .filter(|call| **call == "update_object")
            .count()
    };
    let before = updates(&world);

    let body = state_change(&redescribed);
    let report = world
        .handler
        .handle_batch(
            &[record("m2", &body)],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.count("synced"), 1, "{report:?}");
    let model = &world.objects_of("Model")[0];
    assert_eq!(
        model.description.as_deref(),
        Some("fraud model v1, retrained on 2026 data")
    );
    assert_eq!(updates(&world), before + 1, "one update carries it");

    // The same event again changes nothing.
    let calls_before = world.governance.calls().len();
    let report = world
        .handler
        .handle_batch(
            &[record("m3", &body)],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.count("synced"), 0, "{report:?}");
    assert_eq!(world.governance.calls().len(), calls_before);
    assert_eq!(
        world.objects_of("Model")[0].description.as_deref(),
        Some("fraud model v1, retrained on 2026 data")
    );
}

/// Issue 17, 3: a new version in a known group takes the model group from its link without reading
/// it (≤ 3 governance calls), and the group's link and tag stay what decides.
#[tokio::test]
async fn a_new_version_in_a_known_group_makes_three_governance_calls() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&first))]).await;
    let second = world.register("fraud", 2);
    let before = world.governance.calls().len();
    let failures = world.run(vec![record("m2", &state_change(&second))]).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        world.governance.calls()[before..].to_vec(),
        vec!["get_object", "find_by_external_id", "create_object"],
        "the use case is read, the model group is not"
    );
    let groups = world.objects_of("ModelGroup");
    assert_eq!(groups.len(), 1);
    let models = world.objects_of("Model");
    assert_eq!(models.len(), 2);
    assert!(
        models
            .iter()
            .all(|model| model.primary_parent_id.as_ref() == Some(&groups[0].id))
    );
}

/// The cached model group link is invalidated by its object's deletion: the creation under it is
/// refused, the link is checked, the group is found again by its External ID and re-linked, and the
/// new Model is created under it, once.
#[tokio::test]
async fn a_linked_model_group_that_is_gone_is_looked_up_again_not_written_under() {
    let world = World::new(GateMode::Enforce);
    let group_arn = world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&first))]).await;
    let group = world.objects_of("ModelGroup").remove(0);
    // The link now names an object governance no longer has.
    let gone = govsync_core::ports::GovernanceId::parse("990001").unwrap();
    assert!(world.governance.object(&gone).is_none());
    futures_put_link(&world, &group_arn, &gone).await;

    let second = world.register("fraud", 2);
    let failures = world.run(vec![record("m2", &state_change(&second))]).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(world.quarantine.messages().is_empty());
    let models = world.objects_of("Model");
    assert_eq!(models.len(), 2);
    assert!(
        models
            .iter()
            .all(|model| model.primary_parent_id.as_ref() == Some(&group.id)),
        "no Model under the stale id"
    );
    assert_eq!(world.objects_of("ModelGroup").len(), 1);
    assert!(
        world
            .links
            .links()
            .iter()
            .any(|l| l.kind == LinkKind::ModelGroup && l.governance_id == group.id),
        "re-linked to the group governance has"
    );
    let written = world
        .registry
        .package(&second.arn)
        .unwrap()
        .customer_metadata;
    assert!(
        written
            .get(keys::LINKS)
            .is_some_and(|links| links.contains(&format!("model-group={}", group.id))),
        "{written:?}"
    );
    // The next version takes the repaired link on trust again.
    let third = world.register("fraud", 3);
    let before = world.governance.calls().len();
    world.run(vec![record("m3", &state_change(&third))]).await;
    assert_eq!(world.governance.calls().len() - before, 3);
}

async fn futures_put_link(world: &World, group_arn: &str, id: &govsync_core::ports::GovernanceId) {
    use govsync_core::ports::LinkStore as _;
    world
        .links
        .put_link(&govsync_core::ports::Link {
            kind: LinkKind::ModelGroup,
            arn: govsync_core::RegistryArn::parse(group_arn).unwrap(),
            governance_id: id.clone(),
        })
        .await
        .unwrap();
}

/// Nothing of the use case is cached: a group re-tagged to another use case has its next version
/// written back with the new use case (name, risk) at once, never the old one.
#[tokio::test]
async fn a_group_retagged_to_another_use_case_writes_the_new_one_back() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&first))]).await;
    let other = world
        .governance
        .insert(&govsync_core::ports::NewGovernanceObject {
            kind: govsync_core::ports::GovernanceKind::UseCase,
            name: "Credit scoring".into(),
            description: None,
            parent_id: None,
            fields: vec![govsync_core::ports::Field::choice(
                "MRG-AIFacts-ModelUseCase:Risk Level",
                "Low",
            )],
        });
    world.add_group(
        "fraud",
        std::collections::BTreeMap::from([(keys::USE_CASE_ID.to_owned(), other.id.to_string())]),
    );
    let second = world.register("fraud", 2);
    let failures = world.run(vec![record("m2", &state_change(&second))]).await;
    assert!(failures.is_empty(), "{failures:?}");
    let written = world
        .registry
        .package(&second.arn)
        .unwrap()
        .customer_metadata;
    let links = written.get(keys::LINKS).cloned().unwrap_or_default();
    assert!(
        links.contains(&format!("use-case={}", other.id))
            && links.contains("risk=Low")
            && links.contains("name=Credit scoring"),
        "{links}"
    );
    assert!(!links.contains(&format!("use-case={} ", world.use_case.id)));
}

/// Two deliveries of a new version in a known group (the model group taken from its link) racing in
/// two invocations still create one Model.
#[tokio::test]
async fn racing_deliveries_of_a_new_version_in_a_known_group_create_one_model() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&first))]).await;
    let second = world.register("fraud", 2);
    world.governance.set_latency(Duration::from_millis(20));
    let honest = state_change(&second);
    let mut later = second.clone();
    later.last_modified_time = second
        .last_modified_time
        .map(|time| time + chrono::Duration::milliseconds(1));
    let other_key = state_change(&later);
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(60);
    let (batch_one, batch_two) = ([record("a", &honest)], [record("b", &other_key)]);
    let (one, two) = tokio::join!(
        world.handler.handle_batch(&batch_one, deadline),
        world.handler.handle_batch(&batch_two, deadline),
    );
    for (report, body) in [(one, &honest), (two, &other_key)] {
        if matches!(report.outcomes[0].1, Outcome::Failed(_)) {
            let again = world
                .handler
                .handle_batch(&[record("c", body)], deadline)
                .await;
            assert!(
                matches!(
                    again.outcomes[0].1,
                    Outcome::Synced { .. } | Outcome::Duplicate | Outcome::Stale
                ),
                "{:?}",
                again.outcomes[0].1
            );
        }
    }
    assert_eq!(world.objects_of("ModelGroup").len(), 1);
    assert_eq!(world.objects_of("Model").len(), 2);
}

/// A Model created in a known group whose creation reply was lost is not created again on retry.
#[tokio::test]
async fn a_model_created_whose_reply_was_lost_is_created_once() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("m1", &state_change(&first))]).await;
    let second = world.register("fraud", 2);
    world.governance.lose_reply_next(
        "create_object",
        GovernanceError::Status {
            operation: "create object",
            status: 504,
            body: String::new(),
        },
    );
    let failures = world.run(vec![record("m2", &state_change(&second))]).await;
    assert_eq!(failures, vec!["m2".to_owned()]);
    let failures = world.run(vec![record("m2", &state_change(&second))]).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(world.objects_of("Model").len(), 2);
    assert!(
        world
            .registry
            .package(&second.arn)
            .unwrap()
            .customer_metadata
            .contains_key(keys::LINKS)
    );
}

fn store_throttled() -> govsync_core::ports::StoreError {
    govsync_core::ports::StoreError::Throttled {
        operation: "injected",
        message: "ProvisionedThroughputExceededException (injected)".into(),
    }
}

/// F5: a version whose deletion record was seen before its creation event (a tombstone) gets its
/// model decommissioned at once: the commit that records the new model finds the tombstone, records
/// it all the same and the model is decommissioned.
#[tokio::test]
async fn a_model_created_for_a_deleted_version_is_decommissioned_at_once() {
    use govsync_core::ports::TombstoneStore as _;
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let package = world.register("fraud", 1);
    world
        .links
        .put_tombstone(&govsync_core::ports::Tombstone {
            arn: package.arn.clone(),
            deleted_at: chrono::Utc::now(),
            note: "deleted by a person (test)".into(),
        })
        .await
        .unwrap();

    let failures = world.run(vec![record("m1", &state_change(&package))]).await;
    assert!(failures.is_empty(), "{failures:?}");
    let models = world.objects_of("Model");
    assert_eq!(models.len(), 1);
    assert_eq!(
        field_text(&models[0], fields::MODEL_STATUS).as_deref(),
        Some("Decommissioned")
    );
    assert!(
        world
            .links
            .links()
            .iter()
            .any(|link| link.kind == LinkKind::Model && link.governance_id == models[0].id),
        "the model's link is recorded all the same"
    );
    let report = world
        .handler
        .handle_batch(
            &[record("m2", &state_change(&package))],
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Duplicate);
}

/// The event's claim is completed in the last commit, with the applied revision: a commit that fails
/// after the model was created leaves the claim open, and the redelivery finishes the work without a
/// second model; once it succeeds the event is a duplicate.
#[tokio::test]
async fn a_failed_commit_leaves_the_claim_open_and_the_retry_creates_nothing_twice() {
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("m0", &state_change(&first))]).await;
    let second = world.register("fraud", 2);
    let body = state_change(&second);
    let deadline = || chrono::Utc::now() + chrono::Duration::seconds(60);

    // The commit recording the new model (and its claim, links, ledger) fails.
    world.links.fail_next("commit", store_throttled());
    let report = world
        .handler
        .handle_batch(&[record("m1", &body)], deadline())
        .await;
    assert!(
        matches!(report.outcomes[0].1, Outcome::Failed(_)),
        "{:?}",
        report.outcomes[0].1
    );
    assert_eq!(world.objects_of("Model").len(), 2, "the model was created");

    // The last commit is applied but its reply is lost: the event is retried, not lost.
    world.links.lose_reply_next("commit", store_throttled());
    let report = world
        .handler
        .handle_batch(&[record("m2", &body)], deadline())
        .await;
    assert!(
        matches!(report.outcomes[0].1, Outcome::Failed(_)),
        "{:?}",
        report.outcomes[0].1
    );
    let report = world
        .handler
        .handle_batch(&[record("m3", &body)], deadline())
        .await;
    assert!(
        matches!(
            report.outcomes[0].1,
            Outcome::Synced { .. } | Outcome::Stale
        ),
        "{:?}",
        report.outcomes[0].1
    );
    assert_eq!(world.objects_of("Model").len(), 2, "no second model");
    assert!(
        world
            .registry
            .package(&second.arn)
            .is_some_and(|package| package.customer_metadata.contains_key(keys::LINKS)),
        "written back"
    );
    let report = world
        .handler
        .handle_batch(&[record("m4", &body)], deadline())
        .await;
    assert_eq!(report.outcomes[0].1, Outcome::Duplicate);
}
