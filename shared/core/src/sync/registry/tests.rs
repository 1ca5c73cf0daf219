use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::decide::technical_fields;
use super::*;
use crate::aws_identity::Region;
use crate::field_mapping::FieldMapping;
use crate::governance::Revision;
use crate::mapping::MappingSpec;
use crate::model_card::{PackageCard, entries};
use crate::model_package::{
    ApprovalStatus, Lifecycle, ModelPackageArn, ModelPackageGroupName, ModelPackageStatus,
    RegistryFacts, SageMakerName,
};
use crate::ports::{Field, FieldValue, GovernanceObject};
use crate::registry_event::{RegistryEvent, decode_envelope};
use crate::registry_map::RegistryMap;
use crate::sync::{ConsoleLinks, GateMode, WriterIdentities, fields};

const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-4711/2";
const GROUP_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-4711";

fn time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

fn id(text: &str) -> GovernanceId {
    GovernanceId::parse(text).unwrap()
}

fn registries() -> RegistryMap {
    RegistryMap::parse(
        r#"[{"account": "123456789012", "region": "us-east-1", "business_entity": "Retail"}]"#,
    )
    .unwrap()
}

fn writers() -> WriterIdentities {
    let mut writers = WriterIdentities::new();
    writers
        .add("arn:aws:iam::123456789012:role/govsync/govsync-registry-access")
        .unwrap();
    writers
}

fn package() -> ModelVersion {
    let arn = ModelPackageArn::parse(ARN).unwrap();
    ModelVersion {
        group_name: arn.group_name().clone(),
        arn,
        package_status: Some(ModelPackageStatus::Completed),
        approval: Some(ApprovalStatus::PendingManualApproval),
        approval_description: None,
        lifecycle: None,
        customer_metadata: BTreeMap::new(),
        technical: TechnicalMetadata {
            description: Some("XGBoost fraud model".into()),
            inference_images: vec!["123.dkr.ecr.us-east-1.amazonaws.com/xgb:1".into()],
            model_data_urls: vec!["s3://models/fraud/2/model.tar.gz".into()],
            metrics_uris: vec!["s3://models/fraud/2/metrics.json".into()],
            generated_by: None,
            created_by: Some("arn:aws:iam::123456789012:user/alice".into()),
            facts: Default::default(),
        },
        creation_time: Some(time(1_767_345_000_000)),
        last_modified_time: Some(time(1_767_345_504_000)),
    }
}

fn lifecycle(stage: &str, status: &str) -> Option<Lifecycle> {
    Some(Lifecycle {
        stage: SageMakerName::parse(stage).unwrap(),
        stage_status: SageMakerName::parse(status).unwrap(),
        stage_description: None,
    })
}

fn use_case() -> Assignment {
    Assignment::UseCase(UseCaseView {
        id: id("1001"),
        name: "Fraud {detection}, EU".into(),
        risk_level: Some("High".into()),
        owner: Some("Dana Ops".into()),
    })
}

fn console() -> ConsoleLinks {
    ConsoleLinks::new("https://grc.example.com").unwrap()
}

fn object(object_id: &str, fields: Vec<Field>) -> GovernanceObject {
    GovernanceObject {
        id: id(object_id),
        name: "x".into(),
        type_definition_id: "Model".into(),
        primary_parent_id: None,
        description: None,
        fields,
    }
}

/// The model as govsync would have created it for `package`, with `status`.
fn synced_model(package: &ModelVersion, status: Option<&str>) -> GovernanceObject {
    let mut fields = technical_fields(package, &FieldMapping::default(), None);
    if let Some(status) = status {
        fields.push(Field::choice(fields::MODEL_STATUS, status));
    }
    let mut model = object("1003", fields);
    model.description = package.technical.description.clone();
    model
}

/// The package's metadata after govsync's write-back for group 1002 and model 1003.
fn written_back(package: &ModelVersion) -> BTreeMap<String, String> {
    let write = PackageWrite {
        package: package.clone(),
        links: Some(LinksWriteBack {
            use_case: match use_case() {
                Assignment::UseCase(view) => view,
                Assignment::Unassigned { .. } => unreachable!(),
            },
            model_group: ObjectRef::Existing(id("1002")),
            model: ObjectRef::Existing(id("1003")),
        }),
        card: None,
        revert_approval: None,
        lifecycle_to_set: None,
        revision: Revision::new(1),
    };
    let resolved = write.resolve(None, None, &console()).unwrap().unwrap();
    let mut metadata = package.customer_metadata.clone();
    metadata.extend(resolved.update.metadata_to_set);
    metadata
}

struct Case {
    name: &'static str,
    package: ModelVersion,
    assignment: Assignment,
    group: Option<(GovernanceObject, bool)>,
    model: Option<(GovernanceObject, bool)>,
    gate: GateMode,
}

/// Decides a case whose package already holds the Model Card govsync would write, so the table's
/// rows are about everything else (the card's own decisions are tested apart).
fn run(case: &Case) -> Plan {
    run_checked(case, None)
}

fn run_checked(case: &Case, artifact: Option<&crate::artifact::ArtifactCheck>) -> Plan {
    let first = decide_checked(case, &case.package, artifact);
    let card = first.actions.iter().find_map(|action| match action {
        Action::UpdatePackage(write) => write
            .resolve(Some(&id("1002")), Some(&id("1003")), &console())
            .ok()
            .flatten()
            .and_then(|resolved| resolved.update.model_card),
        _ => None,
    });
    let Some(card) = card else {
        return first;
    };
    let mut package = case.package.clone();
    package.technical.facts.model_card = Some(PackageCard {
        content: Some(card.content),
        status: Some(card.status),
    });
    decide_checked(case, &package, artifact)
}

fn decide_raw(case: &Case, package: &ModelVersion) -> Plan {
    decide_checked(case, package, None)
}

fn decide_checked(
    case: &Case,
    package: &ModelVersion,
    artifact: Option<&crate::artifact::ArtifactCheck>,
) -> Plan {
    let mapping = MappingSpec::builtin().unwrap();
    let registries = registries();
    let console = console();
    decide(&PackageSync {
        package,
        registry: &registries.registries()[0],
        assignment: &case.assignment,
        model_group: case.group.as_ref().map(|(object, linked)| Found {
            object,
            linked: *linked,
        }),
        model: case.model.as_ref().map(|(object, linked)| Found {
            object,
            linked: *linked,
        }),
        mapping: &mapping,
        gate: case.gate,
        console: &console,
        model_links: None,
        artifact,
        now: time(1_767_400_000_000),
    })
}

/// A compact description of a plan's actions, for table assertions.
fn shape(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|action| match action {
            Action::CreateModelGroup(object) => {
                format!(
                    "create group under {:?}",
                    object.parent_id.as_ref().map(|p| p.as_str())
                )
            }
            Action::LinkModelGroup { id, .. } => format!("link group {id:?}"),
            Action::CreateModel { parent, .. } => format!("create model under {parent:?}"),
            Action::UpdateModel {
                fields,
                description,
                ledger,
                ..
            } => {
                let mut text = format!(
                    "update model {:?} ledger {}",
                    fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
                    ledger.len()
                );
                if let Some(description) = description {
                    text.push_str(&format!(" description {description:?}"));
                }
                text
            }
            Action::LinkModel { id, .. } => format!("link model {id:?}"),
            Action::UpdatePackage(write) => {
                let mut text = format!(
                    "update package links={} revert={}",
                    write.links.is_some(),
                    write.revert_approval.is_some()
                );
                if let Some(lifecycle) = &write.lifecycle_to_set {
                    text.push_str(&format!(
                        " lifecycle {}/{}",
                        lifecycle.stage, lifecycle.stage_status
                    ));
                }
                text
            }
        })
        .collect()
}

/// How `shape` prints an existing object's reference.
fn existing(text: &str) -> String {
    format!("Existing(GovernanceId({text:?}))")
}

fn codes(plan: &Plan) -> Vec<&'static str> {
    plan.findings.iter().map(Finding::code).collect()
}

#[test]
fn decide_table() {
    let group = || (object("1002", vec![]), true);
    let in_sync = {
        let mut package = package();
        package.customer_metadata = written_back(&package);
        package
    };
    let approved = |mut package: ModelVersion| {
        package.approval = Some(ApprovalStatus::Approved);
        package
    };
    let rejected = |mut package: ModelVersion| {
        package.approval = Some(ApprovalStatus::Rejected);
        package
    };
    let with_lifecycle = |mut package: ModelVersion, stage: &str, status: &str| {
        package.lifecycle = lifecycle(stage, status);
        package
    };
    let more_metrics = {
        let mut package = in_sync.clone();
        package
            .technical
            .metrics_uris
            .push("s3://models/fraud/2/bias.json".into());
        package
    };
    let described = |text: Option<&str>| {
        let mut package = in_sync.clone();
        package.technical.description = text.map(str::to_owned);
        package
    };
    let cases: Vec<(Case, Vec<String>, Vec<&str>)> = vec![
        (
            Case {
                name: "new version, new group: both created under the use case, then written back",
                package: package(),
                assignment: use_case(),
                group: None,
                model: None,
                gate: GateMode::Enforce,
            },
            vec![
                "create group under Some(\"1001\")".into(),
                "link group Created".into(),
                "create model under Created".into(),
                "link model Created".into(),
                "update package links=true revert=false lifecycle Development/InProgress".into(),
            ],
            vec![],
        ),
        (
            Case {
                name: "new version in a known group",
                package: package(),
                assignment: use_case(),
                group: Some(group()),
                model: None,
                gate: GateMode::Enforce,
            },
            vec![
                format!("create model under {}", existing("1002")),
                "link model Created".into(),
                "update package links=true revert=false lifecycle Development/InProgress".into(),
            ],
            vec![],
        ),
        (
            Case {
                name: "duplicate: everything already in sync decides to nothing",
                package: in_sync.clone(),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, None), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "found by external id but not linked: links recorded, nothing rewritten",
                package: in_sync.clone(),
                assignment: use_case(),
                group: Some((object("1002", vec![]), false)),
                model: Some((synced_model(&in_sync, None), false)),
                gate: GateMode::Enforce,
            },
            vec![
                format!("link group {}", existing("1002")),
                format!("link model {}", existing("1003")),
            ],
            vec![],
        ),
        (
            Case {
                name: "metrics changed: only that field (and Last Update) is sent",
                package: more_metrics.clone(),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, None), true)),
                gate: GateMode::Enforce,
            },
            vec![format!(
                "update model {:?} ledger 0",
                [fields::METRICS_URIS, fields::LAST_UPDATE]
            )],
            vec![],
        ),
        (
            Case {
                name: "description changed: the model's description (and Last Update) is sent",
                package: described(Some("XGBoost fraud model, retrained on 2026 data")),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, None), true)),
                gate: GateMode::Enforce,
            },
            vec![format!(
                "update model {:?} ledger 0 description {:?}",
                [fields::LAST_UPDATE],
                "XGBoost fraud model, retrained on 2026 data"
            )],
            vec![],
        ),
        (
            Case {
                name: "description and metrics changed: one update carries both",
                package: {
                    let mut package = more_metrics.clone();
                    package.technical.description = Some("with bias metrics".into());
                    package
                },
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, None), true)),
                gate: GateMode::Enforce,
            },
            vec![format!(
                "update model {:?} ledger 0 description {:?}",
                [fields::METRICS_URIS, fields::LAST_UPDATE],
                "with bias metrics"
            )],
            vec![],
        ),
        (
            Case {
                name: "package without a description: governance's description is not blanked",
                package: described(None),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, None), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "blank package description: governance's description is not blanked",
                package: described(Some("  ")),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, None), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "model without a description gets the package's",
                package: in_sync.clone(),
                assignment: use_case(),
                group: Some(group()),
                model: Some((
                    {
                        let mut model = synced_model(&in_sync, None);
                        model.description = None;
                        model
                    },
                    true,
                )),
                gate: GateMode::Enforce,
            },
            vec![format!(
                "update model {:?} ledger 0 description {:?}",
                [fields::LAST_UPDATE],
                "XGBoost fraud model"
            )],
            vec![],
        ),
        (
            Case {
                name: "lifecycle on a `both` row moves the governance status, ledger first",
                package: with_lifecycle(in_sync.clone(), "Development", "Complete"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Enforce,
            },
            vec![format!(
                "update model {:?} ledger 1",
                [fields::MODEL_STATUS, fields::LAST_UPDATE]
            )],
            vec![],
        ),
        (
            Case {
                name: "a `both`-row lifecycle older than governance's last change drives nothing",
                package: with_lifecycle(in_sync.clone(), "Development", "Complete"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((
                    {
                        let mut model = synced_model(&in_sync, Some("Validation In Progress"));
                        // The approver decided after the package last changed.
                        model.fields.push(Field::date(
                            crate::sync::fields::LAST_MODIFICATION_DATE,
                            in_sync.last_modified_time.unwrap() + chrono::Duration::seconds(5),
                        ));
                        model
                    },
                    true,
                )),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "lifecycle on a `to_registry` row set out of band is drift, not synced",
                package: with_lifecycle(in_sync.clone(), "Validation", "InProgress"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec!["drift"],
        ),
        (
            Case {
                name: "a `to_registry` state governance already holds is not drift",
                package: with_lifecycle(in_sync.clone(), "Validation", "InProgress"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Validation In Progress")), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "unassigned group: reported, nothing created",
                package: package(),
                assignment: Assignment::Unassigned {
                    reason: "the group has no govsync:use-case-id tag".into(),
                },
                group: None,
                model: None,
                gate: GateMode::Enforce,
            },
            vec![],
            vec!["unassigned"],
        ),
        (
            Case {
                name: "shadow approval, enforce: reverted and reported",
                package: approved(in_sync.clone()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Enforce,
            },
            vec!["update package links=true revert=true".into()],
            vec!["shadow_approval"],
        ),
        (
            Case {
                name: "shadow approval on a `both`-row lifecycle, enforce: the lifecycle drives governance as reverted",
                package: approved(with_lifecycle(in_sync.clone(), "Development", "Complete")),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Enforce,
            },
            vec![
                format!(
                    "update model {:?} ledger 1",
                    [fields::MODEL_STATUS, fields::LAST_UPDATE]
                ),
                "update package links=true revert=true".into(),
            ],
            vec!["shadow_approval"],
        ),
        (
            Case {
                name: "shadow approval on a `both`-row lifecycle, alert: the gate holds governance",
                package: approved(with_lifecycle(in_sync.clone(), "Development", "Complete")),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Alert,
            },
            vec![],
            vec!["shadow_approval", "unmapped_registry_state"],
        ),
        (
            Case {
                name: "shadow approval, alert: reported only",
                package: approved(in_sync.clone()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Alert,
            },
            vec![],
            vec!["shadow_approval"],
        ),
        (
            Case {
                name: "shadow approval, off: ignored",
                package: approved(in_sync.clone()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Off,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "approval governance granted is no shadow approval",
                package: approved(in_sync.clone()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((
                    synced_model(&in_sync, Some("Approved for Deployment")),
                    true,
                )),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "a new version registered as Approved is a shadow approval",
                package: approved(package()),
                assignment: use_case(),
                group: Some(group()),
                model: None,
                gate: GateMode::Enforce,
            },
            vec![
                format!("create model under {}", existing("1002")),
                "link model Created".into(),
                "update package links=true revert=true lifecycle Development/InProgress".into(),
            ],
            vec!["shadow_approval"],
        ),
        (
            Case {
                name: "an approved `both` state cannot carry governance past the gate",
                package: with_lifecycle(approved(in_sync.clone()), "PreProduction", "Deployed"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Enforce,
            },
            vec!["update package links=true revert=true lifecycle Development/InProgress".into()],
            vec!["shadow_approval", "shadow_deployment"],
        ),
        (
            Case {
                name: "registered Approved and Deployed: both reverted, the lifecycle to where a version in development stands",
                package: with_lifecycle(approved(package()), "PreProduction", "Deployed"),
                assignment: use_case(),
                group: Some(group()),
                model: None,
                gate: GateMode::Enforce,
            },
            vec![
                format!("create model under {}", existing("1002")),
                "link model Created".into(),
                "update package links=true revert=true lifecycle Development/InProgress".into(),
            ],
            vec!["shadow_approval", "shadow_deployment"],
        ),
        (
            Case {
                name: "a deployment claim left after an approval revert is still reverted, to governance's row",
                package: with_lifecycle(in_sync.clone(), "PreProduction", "Deployed"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Development Complete")), true)),
                gate: GateMode::Enforce,
            },
            vec!["update package links=true revert=false lifecycle Development/Complete".into()],
            vec!["shadow_deployment"],
        ),
        (
            Case {
                name: "with alert, a deployment claim is reported and moves nothing",
                package: with_lifecycle(in_sync.clone(), "Production", "Deployed"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Alert,
            },
            vec![],
            vec!["shadow_deployment"],
        ),
        (
            Case {
                name: "with the gate off, an approved `both` deployment drives governance",
                package: with_lifecycle(approved(in_sync.clone()), "PreProduction", "Deployed"),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Off,
            },
            vec![
                "update model [\"MRG-Model:Status\", \"Integration:Last Update\"] ledger 1".into(),
            ],
            vec![],
        ),
        (
            Case {
                name: "a rejection in SageMaker on the default (to_registry) row is drift, reported",
                package: rejected(in_sync.clone()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Under Development")), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec!["rejected_in_registry"],
        ),
        (
            Case {
                name: "a rejection in SageMaker of a version without a lifecycle is reported too",
                package: rejected(package()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&package(), None), true)),
                gate: GateMode::Enforce,
            },
            vec!["update package links=true revert=false".into()],
            vec!["rejected_in_registry"],
        ),
        (
            Case {
                name: "a rejection governance already holds is no finding",
                package: rejected(in_sync.clone()),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Rejected")), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec![],
        ),
        (
            Case {
                name: "shadow approval in an unassigned group is still enforced",
                package: approved(package()),
                assignment: Assignment::Unassigned {
                    reason: "no tag".into(),
                },
                group: None,
                model: None,
                gate: GateMode::Enforce,
            },
            vec!["update package links=false revert=true".into()],
            vec!["shadow_approval", "unassigned"],
        ),
        (
            Case {
                name: "a governance status the mapping does not know is reported, not guessed",
                package: in_sync.clone(),
                assignment: use_case(),
                group: Some(group()),
                model: Some((synced_model(&in_sync, Some("Sunsetting")), true)),
                gate: GateMode::Enforce,
            },
            vec![],
            vec!["unknown_governance_status"],
        ),
    ];
    for (case, actions, findings) in cases {
        let plan = run(&case);
        assert_eq!(shape(&plan), actions, "{}", case.name);
        assert_eq!(codes(&plan), findings, "{}", case.name);
    }
}

#[test]
fn a_new_model_carries_the_technical_metadata() {
    let plan = run(&Case {
        name: "new",
        package: with_both_row_lifecycle(),
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: None,
        gate: GateMode::Enforce,
    });
    let Some(Action::CreateModel { object, .. }) = plan.actions.first() else {
        panic!("{plan:?}")
    };
    let value = |name: &str| {
        crate::ports::governance::find_field(&object.fields, name).and_then(FieldValue::as_text)
    };
    assert_eq!(object.name, "fraud-4711 version 2");
    assert_eq!(object.description.as_deref(), Some("XGBoost fraud model"));
    assert_eq!(value(fields::EXTERNAL_ID).as_deref(), Some(ARN));
    assert_eq!(value(fields::MODEL_VERSION).as_deref(), Some("2"));
    assert_eq!(
        value(fields::MODEL_PROVIDER).as_deref(),
        Some("Amazon SageMaker")
    );
    assert_eq!(
        value(fields::INFERENCE_IMAGE).as_deref(),
        Some("123.dkr.ecr.us-east-1.amazonaws.com/xgb:1")
    );
    assert_eq!(
        value(fields::MODEL_DATA_URL).as_deref(),
        Some("s3://models/fraud/2/model.tar.gz")
    );
    assert_eq!(
        value(fields::METRICS_URIS).as_deref(),
        Some("s3://models/fraud/2/metrics.json")
    );
    assert_eq!(
        value(fields::MODEL_CREATOR).as_deref(),
        Some("arn:aws:iam::123456789012:user/alice")
    );
    assert_eq!(
        value(fields::MODEL_STATUS).as_deref(),
        Some("Under Development")
    );
    assert!(
        value(fields::THIRD_PARTY_LINK).is_some_and(|link| link.contains("fraud-4711/versions/2"))
    );
    assert!(value(fields::LAST_UPDATE).is_some());
}

/// A version as the SageMaker SDK registers it with everything filled in.
fn fully_described() -> ModelVersion {
    let mut package = with_both_row_lifecycle();
    package.technical.facts = RegistryFacts {
        domain: Some("MACHINE_LEARNING".into()),
        task: Some("CLASSIFICATION".into()),
        sample_payload_url: Some("s3://models/fraud/2/payload.tar.gz".into()),
        drift_baseline_uris: vec![
            "s3://models/fraud/2/baseline-stats.json".into(),
            "s3://models/fraud/2/baseline-constraints.json".into(),
        ],
        lineage: vec![
            (
                "GeneratedBy".into(),
                "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e".into(),
            ),
            ("Repository".into(), "https://git.example/fraud".into()),
        ],
        model_card_summary: Some("Draft: score card fraud".into()),
        model_card: None,
    };
    package.customer_metadata = [("team", "risk"), ("dataset-version", "7"), ("notes", "x")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    package
}

fn created_fields(plan: &Plan) -> Vec<Field> {
    match plan.actions.first() {
        Some(Action::CreateModel { object, .. }) => object.fields.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_the_registry_records_reaches_the_mapped_model_fields() {
    let case = Case {
        name: "full",
        package: fully_described(),
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: None,
        gate: GateMode::Enforce,
    };
    let fields = created_fields(&run(&case));
    let value = |name: &str| {
        crate::ports::governance::find_field(&fields, name).and_then(FieldValue::as_text)
    };
    assert_eq!(
        value("MRG-Model:Domain").as_deref(),
        Some("MACHINE_LEARNING")
    );
    assert_eq!(value("MRG-Model:Task").as_deref(), Some("CLASSIFICATION"));
    assert_eq!(
        value("MRG-Model:Sample Payload URL").as_deref(),
        Some("s3://models/fraud/2/payload.tar.gz")
    );
    assert_eq!(
        value("MRG-Model:Drift Baselines").as_deref(),
        Some(
            "s3://models/fraud/2/baseline-stats.json\ns3://models/fraud/2/baseline-constraints.json"
        )
    );
    assert_eq!(
        value("MRG-Model:Lineage").as_deref(),
        Some(
            "GeneratedBy=arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e\nRepository=https://git.example/fraud"
        )
    );
    assert_eq!(
        value("MRG-Model:Model Card Summary").as_deref(),
        Some("Draft: score card fraud")
    );
    // The data scientist's own keys reach governance only when the tenant selects them.
    assert_eq!(value("MRG-Model:Registry Metadata"), None);

    // A tenant's mapping: its own field for the domain, no lineage, two of the scientist's keys.
    let tenant = MappingSpec::builtin().unwrap().with_fields(
        FieldMapping::from_value(&json!({
            "domain": "Tenant:Business Domain",
            "lineage": "",
            "user_metadata_keys": ["team", "dataset-*"],
        }))
        .unwrap(),
    );
    let registries = registries();
    let console = console();
    let group = object("1002", vec![]);
    let plan = decide(&PackageSync {
        package: &case.package,
        registry: &registries.registries()[0],
        assignment: &case.assignment,
        model_group: Some(Found {
            object: &group,
            linked: true,
        }),
        model: None,
        mapping: &tenant,
        gate: case.gate,
        console: &console,
        model_links: None,
        artifact: None,
        now: time(1_767_400_000_000),
    });
    let fields = created_fields(&plan);
    let value = |name: &str| {
        crate::ports::governance::find_field(&fields, name).and_then(FieldValue::as_text)
    };
    assert_eq!(
        value("Tenant:Business Domain").as_deref(),
        Some("MACHINE_LEARNING")
    );
    assert_eq!(value("MRG-Model:Domain"), None);
    assert_eq!(value("MRG-Model:Lineage"), None);
    assert_eq!(
        value("MRG-Model:Registry Metadata").as_deref(),
        Some("dataset-version=7\nteam=risk")
    );
}

#[test]
fn a_changed_model_card_or_task_updates_only_that_field() {
    let package = fully_described();
    let model = synced_model(&package, Some("Under Development"));
    let mut changed = package.clone();
    changed.technical.facts.model_card_summary = Some("Approved: score card fraud".into());
    let plan = run(&Case {
        name: "card",
        package: changed,
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: Some((model, true)),
        gate: GateMode::Enforce,
    });
    let updated: Vec<&str> = plan
        .actions
        .iter()
        .find_map(|action| match action {
            Action::UpdateModel { fields, .. } => {
                Some(fields.iter().map(|f| f.name.as_str()).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(
        updated,
        ["MRG-Model:Model Card Summary", fields::LAST_UPDATE],
        "{plan:?}"
    );
}

fn with_both_row_lifecycle() -> ModelVersion {
    let mut package = package();
    package.lifecycle = lifecycle("Development", "InProgress");
    package
}

#[test]
fn write_back_holds_ids_links_and_sanitised_names_within_limits() {
    let plan = run(&Case {
        name: "new",
        package: package(),
        assignment: use_case(),
        group: None,
        model: None,
        gate: GateMode::Enforce,
    });
    let Some(Action::UpdatePackage(write)) = plan.actions.last() else {
        panic!("{plan:?}")
    };
    assert_eq!(
        write.resolve(None, None, &console()),
        Err(WriteBackError::UnresolvedObject("model group"))
    );
    let resolved = write
        .resolve(Some(&id("1002")), Some(&id("1003")), &console())
        .unwrap()
        .unwrap();
    let set = &resolved.update.metadata_to_set;
    let expect = BTreeMap::from([
        (
            keys::LINKS.to_owned(),
            "model=1003 model-group=1002 use-case=1001 risk=High name=Fraud detection EU"
                .to_owned(),
        ),
        (
            keys::MODEL_URL.to_owned(),
            "https://grc.example.com/app/jspview/react/grc/task-view/1003".to_owned(),
        ),
        (keys::REVISION.to_owned(), "1767345504000".to_owned()),
    ]);
    assert_eq!(set, &expect, "three packed entries, nothing else");
    assert!(resolved.update.validate().is_ok());
    assert_eq!(resolved.update.approval_status, None);
    let token = resolved.update.client_token.clone().unwrap();
    assert!(token.len() <= 36 && token.starts_with("govsync-"));
    // A retry resolves to the same call.
    assert_eq!(
        write
            .resolve(Some(&id("1002")), Some(&id("1003")), &console())
            .unwrap()
            .unwrap(),
        resolved
    );

    // The ledger entry is what the write's echo will carry.
    let mut echoed = package();
    echoed.customer_metadata.extend(set.clone());
    // The new version's initial status (the mapping's `initial_status`) went in the same call.
    assert_eq!(
        resolved
            .update
            .lifecycle
            .as_ref()
            .map(|l| (l.stage.as_str(), l.stage_status.as_str())),
        Some(("Development", "InProgress"))
    );
    echoed.lifecycle = resolved.update.lifecycle.clone();
    echoed.last_modified_time = Some(time(1_767_345_600_000));
    assert_eq!(snapshot_write(&echoed), resolved.ledger);
    // The same lists in another order are the same state.
    echoed.technical.metrics_uris.reverse();
    assert_eq!(snapshot_write(&echoed), resolved.ledger);
    // A later change by someone else does not match it.
    let mut retrained = echoed.clone();
    retrained.technical.model_data_urls = vec!["s3://models/fraud/2/retrained.tar.gz".into()];
    assert_ne!(snapshot_write(&retrained), resolved.ledger);
    // So does a later description change (F3 syncs it; it must not pass for the echo).
    let mut redescribed = echoed.clone();
    redescribed.technical.description = Some("XGBoost fraud model, retrained".into());
    assert_ne!(snapshot_write(&redescribed), resolved.ledger);
    echoed.approval = Some(ApprovalStatus::Rejected);
    assert_ne!(snapshot_write(&echoed), resolved.ledger);
}

/// A write-back of the links to group 1002 and model 1003 onto `package`.
fn links_write(package: ModelVersion) -> PackageWrite {
    PackageWrite {
        package,
        links: Some(LinksWriteBack {
            use_case: UseCaseView {
                id: id("1001"),
                name: "Fraud".into(),
                risk_level: Some("Very High".into()),
                owner: None,
            },
            model_group: ObjectRef::Existing(id("1002")),
            model: ObjectRef::Existing(id("1003")),
        }),
        card: None,
        revert_approval: None,
        lifecycle_to_set: None,
        revision: Revision::new(7),
    }
}

fn own_keys(count: usize) -> BTreeMap<String, String> {
    (0..count).map(|i| (format!("k{i}"), "v".into())).collect()
}

#[test]
fn a_package_with_45_own_keys_gets_its_links_packed_within_the_limit() {
    let mut crowded = package();
    crowded.customer_metadata = own_keys(45);
    let resolved = links_write(crowded.clone())
        .resolve(None, None, &console())
        .unwrap()
        .unwrap();
    assert!(resolved.update.validate().is_ok());
    let set = &resolved.update.metadata_to_set;
    assert_eq!(
        set.keys().map(String::as_str).collect::<Vec<_>>(),
        [keys::LINKS, keys::MODEL_URL, keys::REVISION]
    );
    let links = PackedLinks::parse(&set[keys::LINKS]).unwrap();
    assert_eq!(
        (
            links.model.as_str(),
            links.model_group.as_str(),
            links.use_case.as_str()
        ),
        ("1003", "1002", "1001")
    );
    assert!(set[keys::LINKS].ends_with("risk=Very-High name=Fraud"));
    let mut after = crowded.customer_metadata.clone();
    after.extend(set.clone());
    assert_eq!(after.len(), 48);
    assert_eq!(
        WrittenLinks::read(&after),
        WrittenLinks {
            model: Some("1003".into()),
            model_group: Some("1002".into()),
            use_case: Some("1001".into()),
        }
    );
}

#[test]
fn a_package_with_little_room_keeps_the_links_first_then_the_revision_then_the_url() {
    let cases: [(usize, &[&str]); 4] = [
        (47, &[keys::LINKS, keys::MODEL_URL, keys::REVISION]),
        (48, &[keys::LINKS, keys::REVISION]),
        (49, &[keys::LINKS]),
        (50, &[]),
    ];
    for (own, kept) in cases {
        let mut crowded = package();
        crowded.customer_metadata = own_keys(own);
        let resolved = links_write(crowded)
            .resolve(None, None, &console())
            .unwrap();
        let set: Vec<&str> = resolved
            .as_ref()
            .map(|r| {
                r.update
                    .metadata_to_set
                    .keys()
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default();
        let mut expected = kept.to_vec();
        expected.sort_unstable();
        assert_eq!(set, expected, "{own} own keys");
        if let Some(resolved) = resolved {
            assert!(resolved.update.validate().is_ok(), "{own} own keys");
        }
    }
}

#[test]
fn the_unpacked_entries_of_earlier_versions_are_removed_when_the_links_are_packed() {
    let mut old = package();
    old.customer_metadata = own_keys(41);
    for key in UNPACKED_KEYS {
        old.customer_metadata.insert(key.to_owned(), "1".into());
    }
    assert_eq!(old.customer_metadata.len(), 48);
    let resolved = links_write(old)
        .resolve(None, None, &console())
        .unwrap()
        .unwrap();
    let mut removed = resolved.update.metadata_to_remove.clone();
    removed.sort_unstable();
    let mut unpacked = UNPACKED_KEYS.map(str::to_owned).to_vec();
    unpacked.sort_unstable();
    assert_eq!(removed, unpacked);
    // All three packed entries fit once the old ones go.
    assert_eq!(resolved.update.metadata_to_set.len(), 3);
}

#[test]
fn a_package_with_no_room_for_the_links_is_reported_not_written() {
    let mut full = package();
    full.customer_metadata = own_keys(50);
    let plan = run(&Case {
        name: "no room",
        package: full.clone(),
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: Some((synced_model(&full, None), true)),
        gate: GateMode::Enforce,
    });
    assert!(
        plan.findings
            .contains(&Finding::WriteBackNoRoom { other_entries: 50 }),
        "{plan:?}"
    );
    assert!(
        !plan
            .actions
            .iter()
            .any(|action| matches!(action, Action::UpdatePackage(_))),
        "{plan:?}"
    );
}

#[test]
fn enforce_revert_sets_pending_approval_with_the_reason() {
    let mut approved = package();
    approved.approval = Some(ApprovalStatus::Approved);
    let plan = run(&Case {
        name: "enforce",
        package: approved,
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: Some((synced_model(&package(), Some("Under Development")), true)),
        gate: GateMode::Enforce,
    });
    let Some(Action::UpdatePackage(write)) = plan.actions.last() else {
        panic!("{plan:?}")
    };
    let resolved = write.resolve(None, None, &console()).unwrap().unwrap();
    assert_eq!(
        resolved.update.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
    let description = resolved.update.approval_description.unwrap();
    assert!(
        description.contains("without a governance approval"),
        "{description}"
    );
    assert!(description.contains("Under Development"), "{description}");
}

fn envelope(detail_type: &str, detail: serde_json::Value) -> RegistryEvent {
    let value = json!({
        "version": "0", "id": "e1", "source": "aws.sagemaker", "detail-type": detail_type,
        "account": "123456789012", "region": "us-east-1", "time": "2026-01-02T09:20:00Z",
        "detail": detail
    });
    decode_envelope(value.to_string().as_bytes()).unwrap()
}

fn call(name: &str, caller: &str, extra: serde_json::Value) -> RegistryEvent {
    let mut detail = json!({
        "eventSource": "sagemaker.amazonaws.com", "eventName": name, "eventID": "ev-1",
        "eventTime": "2026-01-02T09:20:00Z", "userIdentity": {"arn": caller},
        "requestParameters": {"modelPackageArn": ARN, "modelPackageName": ARN, "modelPackageGroupName": "fraud-4711"},
        "responseElements": {"modelPackageArn": ARN, "modelPackageGroupArn": GROUP_ARN}
    });
    if let (Some(detail), Some(extra)) = (detail.as_object_mut(), extra.as_object()) {
        detail.extend(extra.clone());
    }
    envelope("AWS API Call via CloudTrail", detail)
}

#[test]
fn triage_table() {
    let registries = registries();
    let writers = writers();
    let alice = "arn:aws:sts::123456789012:assumed-role/data-scientist/alice";
    let govsync = "arn:aws:sts::123456789012:assumed-role/govsync-registry-access/govsync";
    let state_change = envelope(
        "SageMaker Model Package State Change",
        json!({"ModelPackageArn": ARN, "LastModifiedTime": "2026-01-02T09:18:24.500Z"}),
    );
    let mut elsewhere = state_change.clone();
    if let RegistryEvent::PackageStateChange(change) = &mut elsewhere {
        change.origin.region = Region::parse("eu-west-1").unwrap();
    }
    let foreign = envelope(
        "SageMaker Model Package State Change",
        json!({
            "ModelPackageArn": ARN.replace("123456789012", "999999999999"),
            "LastModifiedTime": "2026-01-02T09:18:24.500Z",
        }),
    );
    let mut group_policy_elsewhere = call(
        "PutModelPackageGroupPolicy",
        alice,
        json!({"requestParameters": {"modelPackageGroupName": "fraud-4711", "resourcePolicy": "{}"}}),
    );
    if let RegistryEvent::GroupPolicyPut(put) = &mut group_policy_elsewhere {
        put.origin.region = Region::parse("eu-west-1").unwrap();
    }
    let cases: Vec<(&str, RegistryEvent, &str)> = vec![
        (
            "state change",
            state_change,
            "package rev 1767345504500 snapshot",
        ),
        (
            "a record from elsewhere about a package a mapped registry owns (central registry)",
            elsewhere,
            "package rev 1767345504500 snapshot",
        ),
        (
            "a package no mapped registry owns",
            foreign,
            "ignore unmapped_owner",
        ),
        (
            "no package, from an unmapped origin",
            group_policy_elsewhere.clone(),
            "unknown 123456789012 eu-west-1",
        ),
        (
            "create by a person (whole-second time: judged once described)",
            call("CreateModelPackage", alice, json!({})),
            "package rev ",
        ),
        (
            "update by a person",
            call("UpdateModelPackage", alice, json!({})),
            "package rev ",
        ),
        (
            "update by govsync",
            call("UpdateModelPackage", govsync, json!({})),
            "echo",
        ),
        (
            "failed call",
            call(
                "UpdateModelPackage",
                alice,
                json!({"errorCode": "ValidationException"}),
            ),
            "ignore failed_call",
        ),
        (
            "deletion",
            call("DeleteModelPackage", alice, json!({})),
            "ignore deletion",
        ),
        (
            "group created",
            call("CreateModelPackageGroup", alice, json!({})),
            "ignore group_created",
        ),
        (
            "group policy",
            call(
                "PutModelPackageGroupPolicy",
                alice,
                json!({"requestParameters": {"modelPackageGroupName": "fraud-4711", "resourcePolicy": "{}"}}),
            ),
            "ignore group_policy",
        ),
    ];
    for (name, event, expected) in cases {
        let got = match triage(&event, &registries, &writers) {
            Triage::UnknownRegistry { account, region } => format!("unknown {account} {region}"),
            Triage::Echo { .. } => "echo".into(),
            Triage::Ignore(reason) => format!("ignore {}", reason.as_str()),
            Triage::Package {
                arn,
                revision,
                snapshot,
                registry,
            } => {
                assert_eq!(arn.as_str(), ARN);
                assert_eq!(registry.business_entity.as_str(), "Retail");
                format!(
                    "package rev {}{}",
                    revision.map(|r| r.to_string()).unwrap_or_default(),
                    if snapshot.is_some() { " snapshot" } else { "" }
                )
            }
        };
        assert_eq!(got, expected, "{name}");
    }
    // Issue 18, 8: before the first registry is added, nothing is from a stranger: skipped, counted.
    let none = crate::RegistryMap::parse("[]").unwrap();
    assert!(matches!(
        triage(&group_policy_elsewhere, &none, &writers),
        Triage::Ignore(IgnoreReason::UnmappedOwner { .. })
    ));
}

#[test]
fn stale_events_are_those_no_newer_than_the_applied_revision() {
    let cases = [
        (Some(10), Some(9), false),
        (Some(10), Some(10), true),
        (Some(10), Some(11), true),
        (Some(10), None, false),
        (None, Some(10), false),
    ];
    for (event, applied, stale) in cases {
        assert_eq!(
            is_stale(event.map(Revision::new), applied),
            stale,
            "{event:?} vs {applied:?}"
        );
    }
}

#[test]
fn use_case_tag_names_the_use_case_or_says_why_not() {
    let tag = |value: &str| vec![(keys::USE_CASE_ID.to_owned(), value.to_owned())];
    assert_eq!(use_case_tag(&tag("1001")), Ok(id("1001")));
    assert!(
        use_case_tag(&[])
            .unwrap_err()
            .contains("no govsync:use-case-id tag")
    );
    assert!(use_case_tag(&tag("a,b")).unwrap_err().contains("invalid"));
}

#[test]
fn described_packages_become_model_versions() {
    let described = ModelPackage {
        group_name: Some(ModelPackageGroupName::parse("Fraud-4711").unwrap()),
        version: Some(2),
        status: Some(ModelPackageStatus::Completed),
        approval_status: Some(ApprovalStatus::Approved),
        lifecycle: Some(
            crate::ports::ModelLifecycle::parse("Development", "InProgress", None).unwrap(),
        ),
        metrics: vec![crate::ports::MetricsReport {
            name: "ModelQuality.Statistics".into(),
            s3_uri: "s3://m/stats.json".into(),
        }],
        ..ModelPackage::new(ModelPackageArn::parse(ARN).unwrap())
    };
    let version = described_version(&described).unwrap();
    assert_eq!(version.group_name.as_str(), "Fraud-4711");
    assert_eq!(version.technical.metrics_uris, vec!["s3://m/stats.json"]);
    assert_eq!(version.lifecycle.unwrap().stage.as_str(), "Development");
    // What SageMaker would not accept cannot reach the port: the ARN, status and lifecycle are typed.
    assert!(crate::ports::ModelLifecycle::parse("not a stage!", "InProgress", None).is_err());
    assert!(
        ModelPackageArn::parse(
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned"
        )
        .is_err()
    );
}

/// Issue 13: a version registered with no lifecycle, pending approval, gets the mapping's initial
/// status in governance and that row's lifecycle in the write-back (one call); a version whose
/// lifecycle already says something keeps it and sets no initial status.
#[test]
fn a_new_version_without_a_lifecycle_starts_at_the_mappings_initial_status_on_both_sides() {
    let case = |package: ModelVersion| Case {
        name: "new",
        package,
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: None,
        gate: GateMode::Enforce,
    };
    let plan = run(&case(package()));
    let status = |plan: &Plan| {
        crate::ports::governance::find_field(&created_fields(plan), fields::MODEL_STATUS)
            .and_then(FieldValue::as_text)
    };
    assert_eq!(status(&plan).as_deref(), Some("Under Development"));
    let Some(Action::UpdatePackage(write)) = plan.actions.last() else {
        panic!("{plan:?}")
    };
    let initial = write
        .lifecycle_to_set
        .as_ref()
        .expect("the initial lifecycle");
    assert_eq!(
        (initial.stage.as_str(), initial.stage_status.as_str()),
        ("Development", "InProgress")
    );

    let mut staged = package();
    staged.lifecycle = lifecycle("Validation", "PendingApproval");
    let plan = run(&case(staged));
    assert_ne!(status(&plan).as_deref(), Some("Under Development"));
    assert!(plan.actions.iter().all(|action| !matches!(
        action,
        Action::UpdatePackage(write) if write.lifecycle_to_set.is_some()
    )));

    let mut rejected = package();
    rejected.approval = Some(ApprovalStatus::Rejected);
    assert_eq!(status(&run(&case(rejected))), None);
}

fn in_sync_case(package: ModelVersion) -> Case {
    let model = synced_model(&package, Some("Under Development"));
    Case {
        name: "card",
        package,
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: Some((model, true)),
        gate: GateMode::Enforce,
    }
}

fn card_of(plan: &Plan) -> Option<crate::model_card::CardWrite> {
    plan.actions.iter().find_map(|action| match action {
        Action::UpdatePackage(write) => write
            .resolve(None, None, &console())
            .unwrap()
            .and_then(|resolved| resolved.update.model_card),
        _ => None,
    })
}

#[test]
fn a_synced_package_without_a_card_gets_governances_facts_in_one_write_then_nothing() {
    let mut package = package();
    package.customer_metadata = written_back(&package);
    let case = in_sync_case(package.clone());
    let plan = decide_raw(&case, &package);
    let card = card_of(&plan).expect("the card is written");
    assert_eq!(card.status, "Draft");
    let content: serde_json::Value = serde_json::from_str(&card.content).unwrap();
    assert_eq!(content["intended_uses"]["risk_rating"], "High");
    assert_eq!(content["business_details"]["line_of_business"], "Retail");
    assert_eq!(
        content["business_details"]["business_stakeholders"],
        "Dana Ops"
    );
    let details = &content["additional_information"]["custom_details"];
    assert_eq!(details[entries::USE_CASE_ID], "1001");
    assert_eq!(details[entries::GOVERNANCE_STATUS], "Under Development");
    assert_eq!(details[entries::MODEL_ID], "1003");
    assert_eq!(
        details[entries::MODEL_LINK],
        "https://grc.example.com/app/jspview/react/grc/task-view/1003"
    );
    // Once the package holds that card, nothing is left to write.
    package.technical.facts.model_card = Some(PackageCard {
        content: Some(card.content),
        status: Some(card.status),
    });
    assert_eq!(decide_raw(&case, &package).actions, vec![]);
}

#[test]
fn an_archived_card_is_reported_and_left_as_it_is() {
    let mut package = package();
    package.customer_metadata = written_back(&package);
    package.technical.facts.model_card = Some(PackageCard {
        content: Some(r#"{"intended_uses":{"purpose_of_model":"fraud"}}"#.into()),
        status: Some("Archived".into()),
    });
    let case = in_sync_case(package.clone());
    let plan = decide_raw(&case, &package);
    assert!(plan.findings.contains(&Finding::ModelCardSkipped {
        reason: "model_card_archived"
    }));
    assert_eq!(card_of(&plan), None);
    assert_eq!(plan.actions, vec![], "nothing else to write either");
}

#[test]
fn a_model_link_signer_puts_the_signed_link_on_the_model() {
    let package = package();
    let keys = crate::model_link::LinkKeys::from_current(
        "model-link-key-0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let links =
        crate::model_link::ModelLinks::new("https://api.example.com/models/link", keys).unwrap();
    let fields = technical_fields(&package, &FieldMapping::default(), Some(&links));
    let link = fields
        .iter()
        .find(|field| field.name == fields::THIRD_PARTY_LINK)
        .and_then(|field| field.value.as_text())
        .unwrap();
    assert_eq!(link, links.link_for(&package.arn));
    assert!(link.starts_with("https://api.example.com/models/link?v=1&package="));
}

/// An approved version whose artifact changed after governance approved it (issue #21).
fn artifact_case(gate: GateMode) -> (Case, ModelVersion) {
    let mut package = package();
    package.customer_metadata = written_back(&package);
    package.approval = Some(ApprovalStatus::Approved);
    package.lifecycle = lifecycle("PreProduction", "Approved");
    let model = synced_model(&package, Some("Approved for Deployment"));
    let case = Case {
        name: "artifact changed since approval",
        package: package.clone(),
        assignment: use_case(),
        group: Some((object("1002", vec![]), true)),
        model: Some((model, true)),
        gate,
    };
    (case, package)
}

fn changed() -> crate::artifact::ArtifactCheck {
    crate::artifact::ArtifactCheck {
        changed: vec![
            "container 1: s3://models/fraud/2/model.tar.gz is now ETag e2 (approved: ETag e1)"
                .into(),
        ],
        unverifiable: vec![],
    }
}

#[test]
fn a_changed_artifact_under_enforce_revokes_the_approval_and_sends_the_model_back_to_review() {
    let (case, _) = artifact_case(GateMode::Enforce);
    let check = changed();
    let plan = run_checked(&case, Some(&check));
    assert_eq!(codes(&plan), vec!["artifact_changed_since_approval"]);
    assert_eq!(
        shape(&plan),
        vec![
            format!(
                "update model [\"MRG-Model:Artifact Fingerprint\", \"{}\", \"{}\"] ledger 1",
                fields::MODEL_STATUS,
                fields::LAST_UPDATE
            ),
            // The card's governance status changes with the Model's, so the write-back goes too.
            "update package links=true revert=true lifecycle Validation/PendingApproval".to_owned(),
        ],
        "{plan:#?}"
    );
    let field = |name: &str| {
        plan.actions.iter().find_map(|action| match action {
            Action::UpdateModel { fields, .. } => fields
                .iter()
                .find(|field| field.name == name)
                .and_then(|field| field.value.as_text()),
            _ => None,
        })
    };
    assert_eq!(
        field(fields::MODEL_STATUS).as_deref(),
        Some(ARTIFACT_REVIEW_STATUS)
    );
    let note = field("MRG-Model:Artifact Fingerprint").unwrap();
    assert!(note.contains("govsync revoked the approval"), "{note}");
    assert!(note.contains("ETag e2"), "{note}");
    let revert = plan.actions.iter().find_map(|action| match action {
        Action::UpdatePackage(write) => write.revert_approval.clone(),
        _ => None,
    });
    let reason = revert.unwrap().to_string();
    assert!(
        reason.contains("artifact changed since governance approved it"),
        "{reason}"
    );
    assert!(reason.contains("ETag e2"), "{reason}");
}

#[test]
fn a_changed_artifact_under_alert_is_reported_only_and_off_ignores_it() {
    let (case, _) = artifact_case(GateMode::Alert);
    let plan = run_checked(&case, Some(&changed()));
    assert_eq!(codes(&plan), vec!["artifact_changed_since_approval"]);
    assert!(shape(&plan).is_empty(), "{:?}", shape(&plan));
    let (case, _) = artifact_case(GateMode::Off);
    let plan = run_checked(&case, Some(&changed()));
    assert!(codes(&plan).is_empty());
    assert!(shape(&plan).is_empty());
}

#[test]
fn an_unverifiable_artifact_is_a_finding_and_a_matching_one_is_none() {
    let (case, _) = artifact_case(GateMode::Enforce);
    let unverifiable = crate::artifact::ArtifactCheck {
        changed: vec![],
        unverifiable: vec!["container 1: s3://models/fraud/2/model.tar.gz: access denied".into()],
    };
    let plan = run_checked(&case, Some(&unverifiable));
    assert_eq!(codes(&plan), vec!["artifact_unverifiable"]);
    assert!(shape(&plan).is_empty());
    let plan = run_checked(&case, Some(&crate::artifact::ArtifactCheck::default()));
    assert!(codes(&plan).is_empty());
    assert!(shape(&plan).is_empty());
}
