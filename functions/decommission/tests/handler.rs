//! The decommission handler on in-memory fakes: every path of F5 and F6 both ways, redelivery,
//! reordering, echoes, quarantine and retries.

mod support;

use govsync_core::decommission_request::DecommissionKind;
use govsync_core::ports::TombstoneStore as _;
use govsync_core::ports::quarantine::attributes;
use govsync_core::ports::{
    ApprovalStatus, FieldValue, GovernanceError, ModelLifecycle, RegistryError,
};
use govsync_core::sync::fields;
use support::*;

fn text(world: &World, id: &govsync_core::GovernanceId, name: &str) -> Option<String> {
    world.object(id).field(name).and_then(FieldValue::as_text)
}

fn unavailable() -> GovernanceError {
    GovernanceError::Status {
        operation: "update object",
        status: 503,
        body: "maintenance".into(),
    }
}

fn assert_archived(world: &World, arn: impl AsRef<str>, reason_part: &str) {
    let arn = arn.as_ref();
    let package = world.registry.package(arn).expect("never deleted");
    let lifecycle = package.lifecycle.as_ref().expect("lifecycle set");
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("Archived", "Retired"),
        "{arn}"
    );
    assert_eq!(package.approval_status, Some(ApprovalStatus::Rejected));
    let description = lifecycle
        .stage_description
        .as_ref()
        .map(|d| d.as_str())
        .unwrap_or_default();
    assert!(description.contains(reason_part), "{description}");
    assert_eq!(
        package.approval_description.as_deref(),
        Some(description),
        "the approval says why too"
    );
    assert!(package.customer_metadata.contains_key("govsync:rev"));
}

// ---------------------------------------------------------------------------------------------
// F5: registry → governance

#[tokio::test]
async fn a_package_deleted_in_sagemaker_decommissions_its_model_with_when_and_by_whom() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    world.delete(&package).await;

    let failures = world
        .run(vec![record("m1", &package_deleted(&package.arn, "ct-1"))])
        .await;
    assert!(failures.is_empty(), "{failures:?}");

    assert_eq!(world.status(&model.id).as_deref(), Some("Decommissioned"));
    assert_eq!(
        world.object(&model.id).field(fields::LAST_UPDATE),
        Some(&FieldValue::Date(deleted_at()))
    );
    let note = text(&world, &model.id, NOTE_FIELD).unwrap();
    assert!(note.contains("DeleteModelPackage"), "{note}");
    assert!(note.contains(PERSON), "{note}");
    assert!(note.contains("2026-01-02T09:18:24Z"), "{note}");
    assert!(
        !world.governance.calls().contains(&"delete_object"),
        "nothing is ever deleted in governance"
    );
}

#[tokio::test]
async fn a_package_archived_in_sagemaker_decommissions_its_model() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (mut package, model) = world.synced_package(&group, "credit-risk", 1).await;
    // A person archives the package in SageMaker; registry-events sees the state change.
    package.lifecycle =
        Some(ModelLifecycle::parse("Archived", "Archived", Some("superseded")).unwrap());
    package.last_modified_time = Some(chrono::Utc::now());
    world.registry.put_package(package.clone());

    let failures = world
        .run_registry_events(vec![record_in(
            "registry-events.fifo",
            "registry-events",
            "r1",
            &state_change(&package),
        )])
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(world.status(&model.id).as_deref(), Some("Decommissioned"));
}

/// Issue 13, 2: describe's "not found" is not a deletion. Only a delete record is; a package gone
/// without one is the reconciler's to report (missed decommission).
#[tokio::test]
async fn a_package_describe_cannot_find_is_not_taken_for_a_deletion() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    let event = state_change(&package);
    world.delete(&package).await;

    let failures = world
        .run_registry_events(vec![record_in(
            "registry-events.fifo",
            "registry-events",
            "r1",
            &event,
        )])
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(world.status(&model.id).as_deref(), Some("In Production"));
    assert!(world.links.tombstone(&package.arn).await.unwrap().is_none());
}

/// Issue 13, 2: a state change for a version that does not exist yet leaves nothing behind; when the
/// version is registered, it syncs as a live model (not created decommissioned, never archived).
#[tokio::test]
async fn an_event_ahead_of_its_package_leaves_no_tombstone_and_the_package_syncs_live() {
    let world = World::new();
    world.add_group("credit-risk");
    let package = world.register("credit-risk", 1);
    let early = state_change(&package);
    world.delete(&package).await;
    assert!(
        world
            .run_registry_events(vec![record_in(
                "registry-events.fifo",
                "registry-events",
                "r1",
                &early,
            )])
            .await
            .is_empty()
    );
    assert!(world.links.tombstone(&package.arn).await.unwrap().is_none());

    world.registry.put_package(package.clone());
    assert!(
        world
            .run_registry_events(vec![record_in(
                "registry-events.fifo",
                "registry-events",
                "r2",
                &state_change(&package),
            )])
            .await
            .is_empty()
    );
    let models = world.objects_of("Model");
    assert_eq!(models.len(), 1);
    assert_ne!(
        world.status(&models[0].id).as_deref(),
        Some("Decommissioned")
    );
    let stored = world.registry.package(&package.arn).unwrap();
    assert_ne!(stored.approval_status, Some(ApprovalStatus::Rejected));
}

/// Issue 13, 2: a delete record whose package its registry still has (a stray or replayed record, a
/// delete that did not take) decommissions nothing and leaves no tombstone.
#[tokio::test]
async fn a_delete_record_for_a_package_that_still_exists_changes_nothing() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    let unsynced = world.register("credit-risk", 2);
    let failures = world
        .run(vec![
            record("m1", &package_deleted(&package.arn, "ct-1")),
            record("m2", &package_deleted(&unsynced.arn, "ct-2")),
        ])
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(world.status(&model.id).as_deref(), Some("In Production"));
    assert!(
        world
            .links
            .tombstone(&unsynced.arn)
            .await
            .unwrap()
            .is_none()
    );
    assert!(world.quarantine.messages().is_empty());
}

#[tokio::test]
async fn a_group_deleted_in_sagemaker_decommissions_every_model_under_it() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let mut models = Vec::new();
    for version in 1..=3 {
        models.push(world.synced_package(&group, "credit-risk", version).await.1);
    }
    let (_, other_group) = world.add_group("fraud");
    let (_, other_model) = world.synced_package(&other_group, "fraud", 1).await;

    let failures = world
        .run(vec![record("m1", &group_deleted("credit-risk", "ct-g"))])
        .await;
    assert!(failures.is_empty(), "{failures:?}");

    for model in &models {
        assert_eq!(world.status(&model.id).as_deref(), Some("Decommissioned"));
        assert!(
            text(&world, &model.id, NOTE_FIELD)
                .unwrap()
                .contains("DeleteModelPackageGroup")
        );
    }
    assert_eq!(
        world.object(&group.id).field(fields::LAST_UPDATE),
        Some(&FieldValue::Date(deleted_at())),
        "the model group records the deletion"
    );
    assert_eq!(
        world.status(&other_model.id).as_deref(),
        Some("In Production"),
        "another group's models are untouched"
    );
    assert_eq!(world.objects_of("Model").len(), 4, "nothing deleted");
}

// ---------------------------------------------------------------------------------------------
// F6: governance → registry

#[tokio::test]
async fn a_model_decommissioned_in_governance_archives_its_package_and_never_deletes_it() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    let (sibling, _) = world.synced_package(&group, "credit-risk", 2).await;
    world.set_field(&model.id, fields::MODEL_STATUS, "Decommissioned");

    let body = decommission_request(DecommissionKind::Model, &model.id, "replaced by v2");
    let failures = world.run(vec![record("m1", &body)]).await;
    assert!(failures.is_empty(), "{failures:?}");

    assert_archived(&world, &package.arn, "replaced by v2");
    assert!(
        world
            .registry
            .package(&sibling.arn)
            .unwrap()
            .lifecycle
            .is_none(),
        "only the model's own package is archived"
    );
    assert!(!world.registry.calls().contains(&"delete_package"));
}

#[tokio::test]
async fn a_use_case_decommissioned_in_governance_archives_every_package_of_its_groups() {
    let world = World::new();
    let (_, group_a) = world.add_group("credit-risk");
    let (_, group_b) = world.add_group("credit-risk-eu");
    let mut arns = Vec::new();
    for version in 1..=2 {
        arns.push(
            world
                .synced_package(&group_a, "credit-risk", version)
                .await
                .0
                .arn,
        );
    }
    arns.push(
        world
            .synced_package(&group_b, "credit-risk-eu", 1)
            .await
            .0
            .arn,
    );
    // A package registered but never synced is archived too: the group's packages are listed.
    arns.push(world.register("credit-risk-eu", 2).arn);
    world.set_field(
        &world.use_case.id,
        fields::USE_CASE_STATUS,
        "Decommissioned",
    );

    let body = decommission_request(
        DecommissionKind::UseCase,
        &world.use_case.id,
        "programme closed",
    );
    let failures = world.run(vec![record("m1", &body)]).await;
    assert!(failures.is_empty(), "{failures:?}");
    for arn in &arns {
        assert_archived(&world, arn, "use case");
    }
}

#[tokio::test]
async fn the_echo_of_an_archive_is_dropped_and_governance_is_not_changed_back() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    world.set_field(
        &world.use_case.id,
        fields::USE_CASE_STATUS,
        "Decommissioned",
    );
    let body = decommission_request(DecommissionKind::UseCase, &world.use_case.id, "closed");
    assert!(world.run(vec![record("m1", &body)]).await.is_empty());
    let archived = world.registry.package(&package.arn).unwrap();

    let governance_calls = world.governance.calls().len();
    let failures = world
        .run_registry_events(vec![
            record_in(
                "registry-events.fifo",
                "registry-events",
                "e1",
                &state_change(&archived),
            ),
            record_in(
                "registry-events.fifo",
                "registry-events",
                "e2",
                &govsync_update(&package.arn, "ct-echo"),
            ),
        ])
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        world.governance.calls().len(),
        governance_calls,
        "registry-events made no governance call for govsync's own archive"
    );
    assert_eq!(
        world.status(&model.id).as_deref(),
        Some("In Production"),
        "the model's status is governance's: the archive's echo does not move it"
    );
}

#[tokio::test]
async fn a_request_for_a_reopened_model_archives_nothing() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    let body = decommission_request(DecommissionKind::Model, &model.id, "retire");
    // Decommissioned, then re-opened before the request was handled.
    world.set_field(&model.id, fields::MODEL_STATUS, "Under Review");
    assert!(world.run(vec![record("m1", &body)]).await.is_empty());
    assert!(
        world
            .registry
            .package(&package.arn)
            .unwrap()
            .lifecycle
            .is_none()
    );
    assert!(!world.registry.calls().contains(&"update_package"));
}

// ---------------------------------------------------------------------------------------------
// Redelivery, reordering, failures

#[tokio::test]
async fn a_duplicate_delete_is_applied_once() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    world.delete(&package).await;
    let body = package_deleted(&package.arn, "ct-1");
    assert!(world.run(vec![record("m1", &body)]).await.is_empty());
    let updates = || {
        world
            .governance
            .calls()
            .iter()
            .filter(|call| **call == "update_object")
            .count()
    };
    assert_eq!(updates(), 1);
    // Redelivered (same CloudTrail eventID), and a second record of the same deletion (another eventID).
    assert!(
        world
            .run(vec![
                record("m2", &body),
                record("m3", &package_deleted(&package.arn, "ct-2"))
            ])
            .await
            .is_empty()
    );
    assert_eq!(
        updates(),
        1,
        "an already decommissioned model is not written again"
    );
    assert_eq!(world.status(&model.id).as_deref(), Some("Decommissioned"));
}

#[tokio::test]
async fn a_delete_that_overtakes_the_create_decommissions_the_model_when_it_appears() {
    let world = World::new();
    world.add_group("credit-risk");
    let package = world.register("credit-risk", 1);
    let created = state_change(&package);
    world.delete(&package).await;

    // The deletion is handled first: governance has no model yet, so a tombstone is left.
    assert!(
        world
            .run(vec![record("m1", &package_deleted(&package.arn, "ct-1"))])
            .await
            .is_empty()
    );
    assert!(world.objects_of("Model").is_empty());
    assert!(world.links.tombstone(&package.arn).await.unwrap().is_some());

    // registry-events then syncs the creation it described before the delete (played here by putting
    // the package back for its describe).
    world.registry.put_package(package.clone());
    assert!(
        world
            .run_registry_events(vec![record_in(
                "registry-events.fifo",
                "registry-events",
                "r1",
                &created,
            )])
            .await
            .is_empty()
    );
    let models = world.objects_of("Model");
    assert_eq!(models.len(), 1);
    assert_eq!(
        world.status(&models[0].id).as_deref(),
        Some("Decommissioned")
    );
    assert_eq!(
        models[0].field(fields::LAST_UPDATE),
        Some(&FieldValue::Date(deleted_at())),
        "decommissioned as of the deletion"
    );
}

#[tokio::test]
async fn a_retryable_failure_returns_the_message_and_blocks_its_group_only() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package_1, model_1) = world.synced_package(&group, "credit-risk", 1).await;
    let (package_2, model_2) = world.synced_package(&group, "credit-risk", 2).await;
    let (_, other_group) = world.add_group("fraud");
    let (other, other_model) = world.synced_package(&other_group, "fraud", 1).await;
    for package in [&package_1, &package_2, &other] {
        world.delete(package).await;
    }
    world.governance.fail_next("update_object", unavailable());

    let failures = world
        .run(vec![
            record("m1", &package_deleted(&package_1.arn, "ct-1")),
            record("m2", &package_deleted(&package_2.arn, "ct-2")),
            record("m3", &package_deleted(&other.arn, "ct-3")),
        ])
        .await;
    let mut failures = failures;
    failures.sort();
    // Either group may run first; whichever got the 503, its later message is blocked with it.
    assert!(
        failures == ["m1", "m2"] || failures == ["m3"],
        "{failures:?}"
    );
    // Redelivered: everything lands once.
    let retry: Vec<_> = failures
        .iter()
        .map(|id| match id.as_str() {
            "m1" => record("m1", &package_deleted(&package_1.arn, "ct-1")),
            "m2" => record("m2", &package_deleted(&package_2.arn, "ct-2")),
            _ => record("m3", &package_deleted(&other.arn, "ct-3")),
        })
        .collect();
    assert!(world.run(retry).await.is_empty());
    for model in [&model_1, &model_2, &other_model] {
        assert_eq!(world.status(&model.id).as_deref(), Some("Decommissioned"));
    }
}

#[tokio::test]
async fn undecodable_messages_are_quarantined_and_foreign_deletions_have_no_effect() {
    let world = World::new();
    let foreign = package_deleted(
        "arn:aws:sagemaker:us-east-1:999999999999:model-package/x/1",
        "ct-9",
    )
    .replace(
        "\"account\":\"123456789012\"",
        "\"account\":\"999999999999\"",
    );
    let failures = world
        .run(vec![
            record("m1", "not json"),
            record("m2", r#"{"schema":"govsync.decommission-request/v9"}"#),
            record("m3", &foreign),
        ])
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    let quarantined = world.quarantine.messages();
    let codes: Vec<&str> = quarantined.iter().map(|m| m.error_code.as_str()).collect();
    assert_eq!(codes, ["not_json", "bad_decommission_request"]);
    // A deletion of a package no mapped registry owns is skipped with its reason: no tombstone for a
    // foreign ARN (issue 13, 2).
    let foreign_arn = govsync_core::ModelPackageArn::parse(
        "arn:aws:sagemaker:us-east-1:999999999999:model-package/x/1",
    )
    .unwrap();
    assert!(world.links.tombstone(&foreign_arn).await.unwrap().is_none());
    assert_eq!(quarantined[0].source_message_id, "m1");
    assert_eq!(attributes::REASON, "govsync-reason");
}

#[tokio::test]
async fn a_request_for_a_missing_governance_object_is_quarantined() {
    let world = World::new();
    let body = decommission_request(
        DecommissionKind::Model,
        &govsync_core::GovernanceId::parse("424242").unwrap(),
        "gone",
    );
    assert!(world.run(vec![record("m1", &body)]).await.is_empty());
    assert_eq!(
        world.quarantine.messages()[0].error_code,
        "governance_object_missing"
    );
}

#[tokio::test]
async fn a_throttled_archive_is_retried_and_then_applied_once() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    world.set_field(&model.id, fields::MODEL_STATUS, "Decommissioned");
    world.registry.fail_next(
        "update_package",
        RegistryError::Throttled {
            operation: "UpdateModelPackage",
            message: "rate".into(),
        },
    );
    let body = decommission_request(DecommissionKind::Model, &model.id, "retire");
    assert_eq!(world.run(vec![record("m1", &body)]).await, ["m1"]);
    assert!(world.run(vec![record("m1", &body)]).await.is_empty());
    assert_archived(&world, &package.arn, "retire");
    assert!(world.run(vec![record("m2", &body)]).await.is_empty());
    let updates = world
        .registry
        .calls()
        .iter()
        .filter(|call| **call == "update_package")
        .count();
    assert_eq!(
        updates, 2,
        "the throttled call, then one write; the duplicate makes none"
    );
}
