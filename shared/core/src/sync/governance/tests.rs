use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::*;
use crate::model_package::{
    ApprovalStatus, Lifecycle, ModelPackageArn, ModelPackageStatus, SageMakerName,
    TechnicalMetadata,
};

const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-4711/2";
const MODIFIED: &str = "2026-01-02T09:18:24.500Z";

fn id(text: &str) -> GovernanceId {
    GovernanceId::parse(text).unwrap()
}

fn registries() -> RegistryMap {
    RegistryMap::parse(
        r#"[{"account": "123456789012", "region": "us-east-1", "business_entity": "Retail Banking"}]"#,
    )
    .unwrap()
}

fn console() -> ConsoleLinks {
    ConsoleLinks::new("https://grc.example.com").unwrap()
}

fn object(object_id: &str, name: &str, fields: Vec<Field>) -> GovernanceObject {
    let mut all = fields;
    all.push(Field::text(fields::LAST_MODIFICATION_DATE, MODIFIED));
    all.push(Field::text(fields::LAST_MODIFIED_BY, "jane@example.com"));
    GovernanceObject {
        id: id(object_id),
        name: name.into(),
        type_definition_id: "ModelUseCase".into(),
        primary_parent_id: Some(id("1000")),
        description: None,
        fields: all,
    }
}

fn use_case(status: &str) -> GovernanceObject {
    object(
        "4711",
        "Fraud <Detection> & Co",
        vec![
            Field::choice(fields::USE_CASE_STATUS, status),
            Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
            Field::text(
                fields::USE_CASE_TEAM_EMAIL,
                "ds@example.com; lead@example.com, not-an-address",
            ),
        ],
    )
}

fn decide_with(
    use_case: &GovernanceObject,
    entity: Option<&str>,
    provisioned: &Provisioned,
) -> UseCaseDecision {
    let registries = registries();
    let console = console();
    decide_use_case(&UseCaseChange {
        use_case,
        business_entity: entity,
        registries: &registries,
        provisioned,
        console: &console,
        sender: Some("govsync@example.com"),
    })
}

#[test]
fn approved_use_case_in_a_mapped_entity_provisions_group_model_group_and_email() {
    let decision = decide_with(
        &use_case("Approved for Development"),
        Some("Retail Banking"),
        &Provisioned::default(),
    );
    let UseCaseDecision::Provision(plan) = decision else {
        panic!("expected provisioning, got {decision:?}")
    };
    assert_eq!(plan.group_name.as_str(), "fraud-detection-co-4711");
    assert_eq!(
        plan.group_arn.as_str(),
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-detection-co-4711"
    );
    let group = plan.create_group.as_ref().unwrap();
    assert_eq!(group.tags["govsync:use-case-id"], "4711");
    assert_eq!(group.tags["govsync:business-entity"], "Retail Banking");
    assert_eq!(group.tags["govsync:risk-level"], "High");
    assert!(group.validate().is_ok());
    let model_group = plan.model_group.as_ref().unwrap();
    assert_eq!(model_group.kind, GovernanceKind::ModelGroup);
    assert_eq!(model_group.parent_id, Some(id("4711")));
    assert_eq!(
        crate::ports::governance::find_field(&model_group.fields, fields::EXTERNAL_ID)
            .and_then(FieldValue::as_text),
        Some(plan.group_arn.to_string())
    );
    let email = plan.email.as_ref().unwrap();
    assert_eq!(email.to, ["ds@example.com", "lead@example.com"]);
    assert_eq!(email.from, "govsync@example.com");
    for body in [&email.text_body, email.html_body.as_ref().unwrap()] {
        assert!(body.contains("fraud-detection-co-4711"), "{body}");
        assert!(body.contains(plan.group_arn.as_str()));
        assert!(body.contains("High"));
        assert!(body.contains("https://grc.example.com/app/jspview/react/grc/task-view/4711"));
        assert!(body.contains("create-model-package"));
    }
    assert!(email.text_body.contains("Fraud <Detection> & Co"));
    let html = email.html_body.as_ref().unwrap();
    assert!(html.contains("Fraud &lt;Detection&gt; &amp; Co"));
    assert!(!html.contains("<Detection>"));
    assert!(plan.findings.is_empty());
}

#[test]
fn use_case_decisions_follow_status_entity_and_provisioning_state() {
    let arn =
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-detection-co-4711";
    let done = Provisioned {
        group_arn: Some(ModelPackageGroupArn::parse(arn).unwrap()),
        model_group_linked: true,
        email_sent: true,
    };
    let email_missing = Provisioned {
        email_sent: false,
        ..done.clone()
    };
    let group_only = Provisioned {
        group_arn: Some(ModelPackageGroupArn::parse(arn).unwrap()),
        ..Provisioned::default()
    };
    type Check = fn(&UseCaseDecision) -> bool;
    let cases: [(&str, &str, Option<&str>, &Provisioned, Check); 8] = [
        (
            "mapped",
            "Approved for Development",
            Some("Retail Banking"),
            &Provisioned::default(),
            |d| matches!(d, UseCaseDecision::Provision(p) if p.create_group.is_some() && p.model_group.is_some() && p.email.is_some()),
        ),
        (
            "unmapped entity",
            "Approved for Development",
            Some("Wholesale"),
            &Provisioned::default(),
            |d| matches!(d, UseCaseDecision::Unmapped { business_entity: Some(e) } if e == "Wholesale"),
        ),
        (
            "no entity",
            "Approved for Development",
            None,
            &Provisioned::default(),
            |d| {
                matches!(
                    d,
                    UseCaseDecision::Unmapped {
                        business_entity: None
                    }
                )
            },
        ),
        (
            "already provisioned",
            "Approved for Development",
            Some("Retail Banking"),
            &done,
            |d| matches!(d, UseCaseDecision::AlreadyProvisioned { group_arn } if group_arn.as_str().ends_with("fraud-detection-co-4711")),
        ),
        (
            "email still owed",
            "Approved for Development",
            Some("Retail Banking"),
            &email_missing,
            |d| matches!(d, UseCaseDecision::Provision(p) if p.create_group.is_none() && p.model_group.is_none() && p.email.is_some()),
        ),
        (
            "group linked, model group missing",
            "Approved for Development",
            Some("Retail Banking"),
            &group_only,
            |d| matches!(d, UseCaseDecision::Provision(p) if p.create_group.is_none() && p.model_group.is_some()),
        ),
        (
            "not approved",
            "Awaiting Use Case Approval",
            Some("Retail Banking"),
            &Provisioned::default(),
            |d| matches!(d, UseCaseDecision::Ignore("use_case_not_approved")),
        ),
        (
            "decommissioned",
            "Decommissioned",
            Some("Retail Banking"),
            &done,
            |d| matches!(d, UseCaseDecision::Decommission(r) if r.kind == DecommissionKind::UseCase && r.governance_id.as_str() == "4711"),
        ),
    ];
    for (what, status, entity, provisioned, check) in cases {
        let decision = decide_with(&use_case(status), entity, provisioned);
        assert!(check(&decision), "{what}: {decision:?}");
    }
}

#[test]
fn use_case_without_team_email_or_sender_is_provisioned_and_reported() {
    let mut no_email = use_case("Approved for Development");
    no_email
        .fields
        .retain(|f| f.name != fields::USE_CASE_TEAM_EMAIL);
    let UseCaseDecision::Provision(plan) =
        decide_with(&no_email, Some("Retail Banking"), &Provisioned::default())
    else {
        panic!("provisioning expected")
    };
    assert!(plan.email.is_none());
    assert_eq!(plan.findings, ["no_team_email"]);

    let registries = registries();
    let console = console();
    let approved = use_case("Approved for Development");
    let decision = decide_use_case(&UseCaseChange {
        use_case: &approved,
        business_entity: Some("Retail Banking"),
        registries: &registries,
        provisioned: &Provisioned::default(),
        console: &console,
        sender: None,
    });
    let UseCaseDecision::Provision(plan) = decision else {
        panic!("provisioning expected")
    };
    assert!(plan.email.is_none());
    assert_eq!(plan.findings, ["no_notification_sender"]);
}

fn package(approval: ApprovalStatus, lifecycle: Option<(&str, &str)>) -> ModelVersion {
    let arn = ModelPackageArn::parse(ARN).unwrap();
    ModelVersion {
        group_name: arn.group_name().clone(),
        arn,
        package_status: Some(ModelPackageStatus::Completed),
        approval: Some(approval),
        approval_description: None,
        lifecycle: lifecycle.map(|(stage, status)| Lifecycle {
            stage: SageMakerName::parse(stage).unwrap(),
            stage_status: SageMakerName::parse(status).unwrap(),
            stage_description: None,
        }),
        customer_metadata: BTreeMap::from([("govsync:model-id".into(), "5001".into())]),
        technical: TechnicalMetadata::default(),
        creation_time: None,
        last_modified_time: None,
    }
}

fn model(status: Option<&str>) -> GovernanceObject {
    let mut fields = Vec::new();
    if let Some(status) = status {
        fields.push(Field::choice(fields::MODEL_STATUS, status));
    }
    let mut model = object("5001", "fraud-4711 version 2", fields);
    model.type_definition_id = "Model".into();
    model
}

fn revision() -> Revision {
    Revision::from_time(
        DateTime::parse_from_rfc3339(MODIFIED)
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn decide_model_with(
    status: Option<&str>,
    package: Option<&ModelVersion>,
    applied: Option<u64>,
    our_write: bool,
) -> ModelDecision {
    let mapping = MappingSpec::builtin().unwrap();
    let model = model(status);
    decide_model(&ModelChange {
        model: &model,
        revision: revision(),
        applied,
        our_write,
        package,
        mapping: &mapping,
    })
}

#[test]
fn every_mapping_row_sets_its_approval_and_lifecycle() {
    let mapping = MappingSpec::builtin().unwrap();
    let pending = package(
        ApprovalStatus::PendingManualApproval,
        Some(("Development", "InProgress")),
    );
    let mut checked = 0;
    for row in mapping.rows() {
        let status = row.governance_status.as_str();
        let decision = decide_model_with(Some(status), Some(&pending), None, false);
        if status == DECOMMISSIONED {
            assert!(
                matches!(&decision, ModelDecision::Decommission(r) if r.kind == DecommissionKind::Model),
                "{status}: {decision:?}"
            );
            continue;
        }
        if status == "Under Development" {
            // The package already holds what this row maps to.
            assert_eq!(decision, ModelDecision::InSync, "{status}");
            continue;
        }
        let ModelDecision::Update(write) = decision else {
            panic!("{status}: expected an update, got {decision:?}")
        };
        let update = &write.update;
        assert_eq!(
            update.approval_status,
            Some(row.target.approval),
            "{status}"
        );
        let lifecycle = update.lifecycle.as_ref().unwrap();
        let expected_stage = match &row.target.stage {
            crate::mapping::StageTarget::Set(stage) => stage.to_string(),
            crate::mapping::StageTarget::Unchanged => "Development".to_owned(),
        };
        assert_eq!(lifecycle.stage.as_str(), expected_stage, "{status}");
        assert_eq!(
            lifecycle.stage_status.as_str(),
            row.target.stage_status.as_str()
        );
        let description = update.approval_description.as_deref().unwrap();
        assert!(description.contains("jane@example.com"), "{description}");
        assert!(
            description.contains("2026-01-02T09:18:24Z"),
            "{description}"
        );
        assert!(description.contains("5001"), "{description}");
        assert_eq!(
            lifecycle.stage_description.as_ref().map(|d| d.as_str()),
            Some(description)
        );
        assert_eq!(
            update
                .metadata_to_set
                .get("govsync:rev")
                .map(String::as_str),
            Some("1767345504500")
        );
        assert!(update.validate().is_ok(), "{status}");
        assert_eq!(write.ledger.side, WriteSide::Registry);
        assert_eq!(write.ledger.object, ARN);
        checked += 1;
    }
    assert_eq!(checked, 15);
}

#[test]
fn approved_for_deployment_approves_the_package_in_pre_production() {
    let pending = package(ApprovalStatus::PendingManualApproval, None);
    let ModelDecision::Update(write) =
        decide_model_with(Some("Approved for Deployment"), Some(&pending), None, false)
    else {
        panic!("update expected")
    };
    assert_eq!(write.update.approval_status, Some(ApprovalStatus::Approved));
    let lifecycle = write.update.lifecycle.unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("PreProduction", "Approved")
    );
    let token = write.update.client_token.unwrap();
    assert!(crate::ports::registry::validate_client_token(&token).is_ok());
    // The token is the change's: the same change gives the same token, another status another.
    assert_eq!(
        token,
        governance_client_token(&id("5001"), revision(), "Approved for Deployment")
    );
    assert_ne!(
        token,
        governance_client_token(&id("5001"), revision(), "Approved for Production")
    );
}

#[test]
fn model_decisions_for_stale_echo_unknown_and_unlinked_changes() {
    let pending = package(ApprovalStatus::PendingManualApproval, None);
    let rev = revision().value();
    let cases: [(&str, ModelDecision); 7] = [
        (
            "stale: same revision applied",
            decide_model_with(
                Some("Approved for Deployment"),
                Some(&pending),
                Some(rev),
                false,
            ),
        ),
        (
            "stale: newer revision applied",
            decide_model_with(
                Some("Approved for Deployment"),
                Some(&pending),
                Some(rev + 1),
                false,
            ),
        ),
        (
            "echo of our own status write",
            decide_model_with(Some("Deployed for Validation"), Some(&pending), None, true),
        ),
        (
            "unknown status",
            decide_model_with(Some("Under Audit"), Some(&pending), None, false),
        ),
        (
            "no status",
            decide_model_with(None, Some(&pending), None, false),
        ),
        (
            "no linked package",
            decide_model_with(Some("Approved for Deployment"), None, None, false),
        ),
        (
            "older revision applied: goes ahead",
            decide_model_with(
                Some("Approved for Deployment"),
                Some(&pending),
                Some(rev - 1),
                false,
            ),
        ),
    ];
    let expected: [fn(&ModelDecision) -> bool; 7] = [
        |d| matches!(d, ModelDecision::Stale { .. }),
        |d| matches!(d, ModelDecision::Stale { .. }),
        |d| matches!(d, ModelDecision::Echo),
        |d| matches!(d, ModelDecision::UnknownStatus { status } if status == "Under Audit"),
        |d| matches!(d, ModelDecision::NoStatus),
        |d| matches!(d, ModelDecision::Unlinked),
        |d| matches!(d, ModelDecision::Update(_)),
    ];
    for ((what, decision), check) in cases.iter().zip(expected) {
        assert!(check(decision), "{what}: {decision:?}");
    }
}

#[test]
fn the_write_ledger_matches_the_echo_registry_events_will_see() {
    let pending = package(
        ApprovalStatus::PendingManualApproval,
        Some(("Development", "InProgress")),
    );
    let ModelDecision::Update(write) =
        decide_model_with(Some("Approved for Deployment"), Some(&pending), None, false)
    else {
        panic!("update expected")
    };
    // The package after the write, as SageMaker's state-change event would show it.
    let mut after = pending.clone();
    after.approval = write.update.approval_status;
    let lifecycle = write.update.lifecycle.clone().unwrap();
    after.lifecycle = Some(Lifecycle {
        stage: lifecycle.stage.clone(),
        stage_status: lifecycle.stage_status.clone(),
        stage_description: None,
    });
    after
        .customer_metadata
        .extend(write.update.metadata_to_set.clone());
    assert_eq!(super::super::registry::snapshot_write(&after), write.ledger);
}

#[test]
fn object_revision_reads_the_last_modification_date() {
    assert_eq!(object_revision(&model(None)), Some(revision()));
    let mut dated = model(None);
    dated.fields = vec![Field::date(
        fields::LAST_MODIFICATION_DATE,
        DateTime::from_timestamp_millis(42).unwrap(),
    )];
    assert_eq!(object_revision(&dated), Some(Revision::new(42)));
    dated.fields.clear();
    assert_eq!(object_revision(&dated), None);
}

#[test]
fn status_echo_ledger_entry_matches_registry_events_write() {
    // registry-events records exactly this before writing a `both` row's status into governance.
    let ours = status_write(&id("5001"), "Deployed for Validation");
    assert_eq!(
        ours,
        OurWrite::new(
            WriteSide::Governance,
            "5001",
            fields::MODEL_STATUS,
            "Deployed for Validation"
        )
    );
}

/// A governance decision reaches a package whose data scientist filled its metadata to SageMaker's
/// limit: `govsync:rev` is left out rather than the update refused.
#[test]
fn a_status_reaches_a_package_with_no_metadata_room_left() {
    let mut full = package(ApprovalStatus::PendingManualApproval, None);
    full.customer_metadata = (0..crate::customer_metadata::MAX_ENTRIES)
        .map(|i| (format!("team:key-{i}"), "v".to_owned()))
        .collect();
    let ModelDecision::Update(write) =
        decide_model_with(Some("Approved for Deployment"), Some(&full), None, false)
    else {
        panic!("update expected")
    };
    assert!(write.update.metadata_to_set.is_empty());
    assert!(write.update.validate().is_ok());
    assert_eq!(write.update.approval_status, Some(ApprovalStatus::Approved));

    let mut roomy = full.clone();
    roomy.customer_metadata.remove("team:key-0");
    let ModelDecision::Update(write) =
        decide_model_with(Some("Approved for Deployment"), Some(&roomy), None, false)
    else {
        panic!("update expected")
    };
    assert!(write.update.metadata_to_set.contains_key(keys::REVISION));
}

#[test]
fn development_accounts_are_read_without_repeats_or_the_registrys_own_account() {
    let own = crate::AccountId::parse("123456789012").unwrap();
    let listed = object(
        "4712",
        "Shared",
        vec![Field::text(
            fields::USE_CASE_DEVELOPMENT_ACCOUNTS,
            "111111111111, 123456789012;222222222222\n111111111111",
        )],
    );
    let accounts: Vec<String> = development_accounts(&listed, &own)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(accounts, ["111111111111", "222222222222"]);
    assert_eq!(
        development_accounts(&use_case("Approved for Development"), &own),
        Ok(vec![])
    );
    let typo = object(
        "4713",
        "Typo",
        vec![Field::text(
            fields::USE_CASE_DEVELOPMENT_ACCOUNTS,
            "11111111111x",
        )],
    );
    assert_eq!(
        development_accounts(&typo, &own),
        Err("11111111111x".to_owned())
    );
    let group = crate::ModelPackageGroupArn::parse(
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package-group/shared",
    )
    .unwrap();
    let policy: serde_json::Value = serde_json::from_str(&development_accounts_policy(
        &group,
        &[crate::AccountId::parse("111111111111").unwrap()],
    ))
    .unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        serde_json::json!(["arn:aws-us-gov:iam::111111111111:root"])
    );
    assert_eq!(
        policy["Statement"][0]["Resource"][1],
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/shared/*"
    );
}

#[test]
fn a_status_write_records_the_status_in_a_card_govsync_wrote_and_leaves_others_alone() {
    let facts = crate::model_card::CardFacts {
        use_case_id: "4000".into(),
        use_case_name: "Fraud".into(),
        business_entity: "Retail".into(),
        governance_status: Some("Under Development".into()),
        ..Default::default()
    };
    let crate::model_card::CardDecision::Write(ours) = crate::model_card::merge(None, &facts)
    else {
        panic!("a new card is written")
    };
    let mut with_ours = package(
        ApprovalStatus::PendingManualApproval,
        Some(("Development", "InProgress")),
    );
    with_ours.technical.facts.model_card = Some(crate::model_card::PackageCard {
        content: Some(ours.content),
        status: Some(ours.status),
    });
    let ModelDecision::Update(write) = decide_model_with(
        Some("Approved for Deployment"),
        Some(&with_ours),
        None,
        false,
    ) else {
        panic!("expected an update")
    };
    let card = write.update.model_card.expect("the card in the same write");
    let content: serde_json::Value = serde_json::from_str(&card.content).unwrap();
    assert_eq!(
        content["additional_information"]["custom_details"]["govsync_governance_status"],
        "Approved for Deployment"
    );
    // A card govsync never wrote to is left for the registry sync's full merge.
    let mut theirs = with_ours.clone();
    theirs.technical.facts.model_card = Some(crate::model_card::PackageCard {
        content: Some(r#"{"intended_uses":{"purpose_of_model":"fraud"}}"#.into()),
        status: Some("Draft".into()),
    });
    let ModelDecision::Update(write) =
        decide_model_with(Some("Approved for Deployment"), Some(&theirs), None, false)
    else {
        panic!("expected an update")
    };
    assert_eq!(write.update.model_card, None);
}
