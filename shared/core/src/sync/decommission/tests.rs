use std::collections::BTreeMap;

use chrono::TimeZone;

use super::*;
use crate::decommission_request::DecommissionKind;
use crate::model_package::{ModelPackageStatus, TechnicalMetadata};
use crate::ports::{GovernanceId, GovernanceObject};
use crate::sync::registry::snapshot_write;

const ACCOUNT: &str = "123456789012";
const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/3";
const GOVSYNC: &str = "arn:aws:iam::123456789012:role/govsync/govsync-registry-access";

fn registries() -> RegistryMap {
    RegistryMap::parse(&format!(
        r#"[{{"account":"{ACCOUNT}","region":"us-east-1","business_entity":"Retail"}}]"#
    ))
    .unwrap()
}

fn writers() -> WriterIdentities {
    let mut writers = WriterIdentities::new();
    writers.add(GOVSYNC).unwrap();
    writers
}

fn cloudtrail(event_name: &str, params: serde_json::Value, caller: &str) -> String {
    serde_json::json!({
        "version": "0", "id": "e-1", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker", "account": ACCOUNT, "time": "2026-01-02T09:18:24Z",
        "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name, "eventTime": "2026-01-02T09:18:24Z",
            "eventID": format!("id-{event_name}"), "awsRegion": "us-east-1",
            "userIdentity": {"type": "AssumedRole", "arn": caller},
            "requestParameters": params, "responseElements": null,
            "recipientAccountId": ACCOUNT
        }
    })
    .to_string()
}

fn model(status: Option<&str>) -> GovernanceObject {
    let mut fields = vec![Field::text(fields::EXTERNAL_ID, ARN)];
    if let Some(status) = status {
        fields.push(Field::choice(fields::MODEL_STATUS, status));
    }
    GovernanceObject {
        id: GovernanceId::parse("1042").unwrap(),
        name: "credit-risk version 3".into(),
        type_definition_id: "Model".into(),
        primary_parent_id: None,
        description: None,
        fields,
    }
}

fn policy(note: Option<&str>) -> DecommissionPolicy {
    DecommissionPolicy::from_mapping(&MappingSpec::builtin().unwrap(), note.map(str::to_owned))
}

fn deletion() -> Deletion {
    Deletion {
        how: Deletion::DELETE_PACKAGE,
        at: Utc.with_ymd_and_hms(2026, 1, 2, 9, 18, 24).unwrap(),
        by: Some("arn:aws:sts::123456789012:assumed-role/ds/alice".into()),
    }
}

fn package(stage: Option<(&str, &str)>, approval: ApprovalStatus) -> ModelVersion {
    let arn = ModelPackageArn::parse(ARN).unwrap();
    ModelVersion {
        group_name: arn.group_name().clone(),
        arn,
        package_status: Some(ModelPackageStatus::Completed),
        approval: Some(approval),
        approval_description: None,
        lifecycle: stage.map(|(stage, status)| Lifecycle {
            stage: SageMakerName::parse(stage).unwrap(),
            stage_status: SageMakerName::parse(status).unwrap(),
            stage_description: None,
        }),
        customer_metadata: BTreeMap::from([("govsync:model-id".into(), "1042".into())]),
        technical: TechnicalMetadata {
            inference_images: vec!["img:1".into()],
            ..TechnicalMetadata::default()
        },
        creation_time: None,
        last_modified_time: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
    }
}

fn request(kind: DecommissionKind, reason: &str) -> DecommissionRequest {
    DecommissionRequest::new(
        kind,
        GovernanceId::parse("77").unwrap(),
        reason,
        Utc.with_ymd_and_hms(2026, 1, 3, 10, 0, 0).unwrap(),
        "approval-propagation",
    )
    .unwrap()
}

#[test]
fn messages_are_told_apart_by_their_schema_member() {
    let request_body = request(DecommissionKind::UseCase, "retired").to_json();
    let delete_body = cloudtrail(
        "DeleteModelPackage",
        serde_json::json!({"modelPackageName": ARN}),
        "arn:aws:sts::123456789012:assumed-role/ds/alice",
    );
    let cases: [(&str, Result<&str, &str>); 5] = [
        (&request_body, Ok("governance")),
        (&delete_body, Ok("registry")),
        (r#"{"schema":"other/v9"}"#, Err("bad_decommission_request")),
        (r#"{"source":"aws.s3"}"#, Err("wrong_source")),
        ("not json", Err("not_json")),
    ];
    for (body, expected) in cases {
        let decoded = decode_message(body);
        let got = match &decoded {
            Ok(DecommissionMessage::Governance(_)) => Ok("governance"),
            Ok(DecommissionMessage::Registry(_)) => Ok("registry"),
            Err(error) => Err(error.code()),
        };
        assert_eq!(got, expected, "{body}");
    }
}

#[test]
fn triage_names_what_was_deleted_and_by_whom() {
    let registries = registries();
    let writers = writers();
    let now = Utc::now();
    let alice = "arn:aws:sts::123456789012:assumed-role/ds/alice";
    let cases = [
        (
            cloudtrail("DeleteModelPackage", serde_json::json!({"modelPackageName": ARN}), alice),
            "package_deleted",
        ),
        (
            cloudtrail(
                "DeleteModelPackageGroup",
                serde_json::json!({"modelPackageGroupName": "Credit-Risk"}),
                alice,
            ),
            "group_deleted",
        ),
        (
            cloudtrail(
                "DeleteModelPackage",
                serde_json::json!({"modelPackageName": ARN}),
                "arn:aws:sts::123456789012:assumed-role/govsync-registry-access/govsync",
            ),
            "echo",
        ),
        (
            cloudtrail(
                "DeleteModelPackage",
                serde_json::json!({"modelPackageName": ARN.replace("123456789012", "999999999999")}),
                alice,
            )
            .replace("\"account\":\"123456789012\"", "\"account\":\"999999999999\""),
            "unmapped_owner",
        ),
        (
            // A record in another account about a package a mapped registry owns: the owner's.
            cloudtrail("DeleteModelPackage", serde_json::json!({"modelPackageName": ARN}), alice)
                .replace("\"account\":\"123456789012\"", "\"account\":\"999999999999\""),
            "package_deleted",
        ),
        (
            cloudtrail(
                "DeleteModelPackageGroup",
                serde_json::json!({"modelPackageGroupName": "Credit-Risk"}),
                alice,
            )
            .replace("\"account\":\"123456789012\"", "\"account\":\"999999999999\""),
            "unknown_registry",
        ),
        (
            cloudtrail(
                "CreateModelPackageGroup",
                serde_json::json!({"modelPackageGroupName": "g"}),
                alice,
            ),
            "not_a_deletion",
        ),
    ];
    for (body, expected) in cases {
        let event = match decode_message(&body).unwrap() {
            DecommissionMessage::Registry(event) => event,
            other => panic!("{other:?}"),
        };
        let triage = triage(&event, &registries, &writers, now).unwrap();
        let got = match &triage {
            Triage::PackageDeleted { arn, deletion, .. } => {
                assert_eq!(arn.as_str(), ARN);
                assert_eq!(deletion.by.as_deref(), Some(alice));
                assert_eq!(deletion.at.to_rfc3339(), "2026-01-02T09:18:24+00:00");
                "package_deleted"
            }
            Triage::GroupDeleted { group_arn, .. } => {
                assert_eq!(
                    group_arn.as_str(),
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/credit-risk",
                    "group ARNs are lowercase, as SageMaker writes them"
                );
                "group_deleted"
            }
            Triage::Echo { .. } => "echo",
            Triage::UnknownRegistry { .. } => "unknown_registry",
            Triage::Ignore(reason) => reason.as_str(),
        };
        assert_eq!(got, expected);
    }
}

#[test]
fn a_model_is_decommissioned_once_with_when_and_by_whom() {
    let cases = [
        (None, None, true),
        (Some("In Production"), None, true),
        (
            Some("Under Review"),
            Some("MRG-Model:Decommission Note"),
            true,
        ),
        (Some("Decommissioned"), None, false),
        (
            Some("Decommissioned"),
            Some("MRG-Model:Decommission Note"),
            false,
        ),
    ];
    for (status, note, expect_update) in cases {
        let policy = policy(note);
        let decision = decommission_model(&model(status), &deletion(), &policy);
        assert_eq!(decision.is_some(), expect_update, "{status:?}");
        let Some(decision) = decision else { continue };
        let get = |name: &str| {
            decision
                .fields
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.value.clone())
        };
        assert_eq!(
            get(fields::MODEL_STATUS),
            Some(FieldValue::Enum("Decommissioned".into()))
        );
        assert_eq!(
            get(fields::LAST_UPDATE),
            Some(FieldValue::Date(deletion().at))
        );
        match note {
            Some(field) => {
                let Some(FieldValue::Text(text)) = get(field) else {
                    panic!("note missing")
                };
                assert!(text.contains("DeleteModelPackage"), "{text}");
                assert!(text.contains("assumed-role/ds/alice"), "{text}");
                assert!(text.contains("2026-01-02T09:18:24Z"), "{text}");
            }
            None => assert_eq!(decision.fields.len(), 2),
        }
        assert_eq!(
            decision.ledger,
            OurWrite::new(
                WriteSide::Governance,
                "1042",
                fields::MODEL_STATUS,
                "Decommissioned"
            )
        );
    }
}

#[test]
fn the_decommissioned_status_comes_from_the_mapping_row_that_archives() {
    let spec = MappingSpec::parse(
        r#"version = 1
[[rows]]
governance_status = "Retired Model"
stage = "Archived"
stage_status = "Retired"
approval = "Rejected"
direction = "to_registry"
"#,
    );
    if let Ok(spec) = spec {
        assert_eq!(
            DecommissionPolicy::from_mapping(&spec, None)
                .status
                .as_str(),
            "Retired Model"
        );
    }
    assert_eq!(policy(None).status.as_str(), "Decommissioned");
}

#[test]
fn only_the_archived_stage_means_decommissioned() {
    let policy = policy(None);
    let lifecycle = |stage: &str| Lifecycle {
        stage: SageMakerName::parse(stage).unwrap(),
        stage_status: SageMakerName::parse("Retired").unwrap(),
        stage_description: None,
    };
    let cases = [
        (Some(lifecycle("Archived")), Some("Decommissioned")),
        (Some(lifecycle("Production")), None),
        (Some(lifecycle("archived")), None),
        (None, None),
    ];
    for (lifecycle, expected) in cases {
        assert_eq!(
            archived_governance_status(&policy, lifecycle.as_ref())
                .as_ref()
                .map(GovernanceStatus::as_str),
            expected,
            "{lifecycle:?}"
        );
    }
}

#[test]
fn a_model_group_records_the_deletion_time_once() {
    let mut group = model(None);
    group.fields = vec![];
    let fields = mark_model_group(&group, &deletion()).unwrap();
    group.fields = fields;
    assert_eq!(mark_model_group(&group, &deletion()), None);
}

#[test]
fn a_tombstone_decommissions_a_late_model_with_the_deletion_time() {
    let arn = ModelPackageArn::parse(ARN).unwrap();
    let stone = tombstone(&arn, &deletion());
    assert_eq!(stone.arn.as_str(), ARN);
    let policy = policy(Some("MRG-Model:Decommission Note"));
    let decision = tombstoned_model(&model(Some("Under Development")), &stone, &policy).unwrap();
    assert!(
        decision
            .fields
            .contains(&Field::date(fields::LAST_UPDATE, deletion().at))
    );
    assert!(decision.fields.contains(&Field::text(
        "MRG-Model:Decommission Note",
        stone.note.clone()
    )));
    assert_eq!(
        tombstoned_model(&model(Some("Decommissioned")), &stone, &policy),
        None
    );
}

#[test]
fn archiving_sets_stage_status_and_approval_from_the_mapping_and_never_twice() {
    let spec = MappingSpec::builtin().unwrap();
    let target = ArchiveTarget::from_mapping(&spec, &policy(None).status).unwrap();
    assert_eq!(
        (
            target.stage.as_str(),
            target.stage_status.as_str(),
            target.approval
        ),
        ("Archived", "Retired", ApprovalStatus::Rejected)
    );
    let reason = archive_reason(&request(DecommissionKind::Model, "replaced by v4"));
    let revision = Revision::new(1_767_434_400_000);
    let cases = [
        (package(None, ApprovalStatus::PendingManualApproval), true),
        (
            package(Some(("Production", "Deployed")), ApprovalStatus::Approved),
            true,
        ),
        (
            package(Some(("Archived", "Retired")), ApprovalStatus::Approved),
            true,
        ),
        (
            package(Some(("Archived", "Retired")), ApprovalStatus::Rejected),
            false,
        ),
        // Filled to SageMaker's limit by the data scientist: archived all the same, without `govsync:rev`.
        (
            {
                let mut full = package(None, ApprovalStatus::Approved);
                full.customer_metadata = (0..crate::customer_metadata::MAX_ENTRIES)
                    .map(|i| (format!("team:key-{i}"), "v".to_owned()))
                    .collect();
                full
            },
            true,
        ),
    ];
    for (package, expected) in cases {
        let write = archive_write(&package, &target, &reason, revision).unwrap();
        assert_eq!(write.is_some(), expected, "{:?}", package.lifecycle);
        let Some(write) = write else { continue };
        let update = &write.update;
        update.validate().unwrap();
        assert_eq!(update.approval_status, Some(ApprovalStatus::Rejected));
        let lifecycle = update.lifecycle.as_ref().unwrap();
        assert_eq!(
            (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
            ("Archived", "Retired")
        );
        assert_eq!(
            lifecycle.stage_description.as_ref().map(|d| d.as_str()),
            Some(reason.as_str())
        );
        assert!(reason.contains("model 77 decommissioned"), "{reason}");
        assert!(reason.contains("replaced by v4"), "{reason}");
        let room = package.customer_metadata.len() < crate::customer_metadata::MAX_ENTRIES;
        assert_eq!(
            update
                .metadata_to_set
                .get("govsync:rev")
                .map(String::as_str),
            room.then_some("1767434400000")
        );

        // The echo: the package as SageMaker then describes it matches the ledger entry.
        let mut echoed = package.clone();
        echoed.approval = update.approval_status;
        echoed.lifecycle = Some(Lifecycle {
            stage: lifecycle.stage.clone(),
            stage_status: lifecycle.stage_status.clone(),
            stage_description: None,
        });
        echoed
            .customer_metadata
            .extend(update.metadata_to_set.clone());
        assert_eq!(snapshot_write(&echoed), write.ledger);
    }
}

#[test]
fn archive_reasons_fit_sagemaker_descriptions() {
    let long = request(DecommissionKind::UseCase, &"x".repeat(1000));
    let reason = archive_reason(&long);
    assert!(reason.chars().count() <= 1024);
    assert!(
        reason.starts_with(
            "govsync: governance use case 77 decommissioned at 2026-01-03T10:00:00Z: "
        )
    );
    assert!(archive_reason(&request(DecommissionKind::Model, "  ")).ends_with("10:00:00Z"));
}

#[test]
fn use_case_group_arns_are_deduplicated_and_invalid_ones_skipped() {
    let group = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/credit-risk";
    let arns = unique_group_arns([group.to_owned(), "not an arn".to_owned(), group.to_owned()]);
    assert_eq!(arns.len(), 1);
    assert_eq!(arns[0].as_str(), group);
}
