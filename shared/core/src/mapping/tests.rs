use super::*;

/// The table of contracts/status-mapping.md, row by row ("" = unchanged stage).
const CONTRACT_TABLE: [(&str, &str, &str, &str, &str); 16] = [
    (
        "Proposed",
        "Proposal",
        "Approved",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Model Definition",
        "Development",
        "Review",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Under Development",
        "Development",
        "InProgress",
        "PendingManualApproval",
        "both",
    ),
    (
        "Data Acquisition",
        "DataPrep-DataCollection",
        "InProgress",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Data Acquisition Complete",
        "DataPrep-DataCollection",
        "Complete",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Feature Engineering",
        "DataPrep-FeatureEngineering",
        "InProgress",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Feature Engineering Complete",
        "DataPrep-FeatureEngineering",
        "Complete",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Development Complete",
        "Development",
        "Complete",
        "PendingManualApproval",
        "both",
    ),
    (
        "Candidate for Validation",
        "Validation",
        "PendingApproval",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Validation In Progress",
        "Validation",
        "InProgress",
        "PendingManualApproval",
        "to_registry",
    ),
    (
        "Approved for Deployment",
        "PreProduction",
        "Approved",
        "Approved",
        "to_registry",
    ),
    (
        "Deployed for Validation",
        "PreProduction",
        "Deployed",
        "Approved",
        "both",
    ),
    (
        "Approved for Production",
        "Production",
        "Approved",
        "Approved",
        "to_registry",
    ),
    (
        "In Production",
        "Production",
        "Deployed",
        "Approved",
        "to_registry",
    ),
    ("Rejected", "", "Rejected", "Rejected", "to_registry"),
    (
        "Decommissioned",
        "Archived",
        "Retired",
        "Rejected",
        "to_registry",
    ),
];

fn name(value: &str) -> SageMakerName {
    SageMakerName::parse(value).unwrap()
}
fn status(value: &str) -> GovernanceStatus {
    GovernanceStatus::parse(value).unwrap()
}

fn row_toml(
    status: &str,
    stage: &str,
    stage_status: &str,
    approval: &str,
    direction: &str,
) -> String {
    format!(
        "[[rows]]\ngovernance_status = \"{status}\"\nstage = \"{stage}\"\nstage_status = \"{stage_status}\"\napproval = \"{approval}\"\ndirection = \"{direction}\"\n"
    )
}

#[test]
fn builtin_spec_is_the_contract_table_then_the_breach_status() {
    let spec = MappingSpec::builtin().unwrap();
    assert_eq!(spec.rows().len(), CONTRACT_TABLE.len() + 1);
    // Issue 13: the status a metric breach sets is one the mapping knows, so F4 carries it.
    let breach = &spec.rows()[CONTRACT_TABLE.len()];
    assert_eq!(breach.governance_status.as_str(), "Under Review");
    assert_eq!(breach.target.stage, StageTarget::Unchanged);
    assert_eq!(
        breach.target.approval,
        ApprovalStatus::PendingManualApproval
    );
    assert_eq!(breach.direction, Direction::ToRegistry);
    for (index, (row, expected)) in spec.rows().iter().zip(CONTRACT_TABLE).enumerate() {
        let (gov, stage, stage_status, approval, direction) = expected;
        let expected_stage = if stage.is_empty() {
            StageTarget::Unchanged
        } else {
            StageTarget::Set(name(stage))
        };
        assert_eq!(
            row,
            &MappingRow {
                number: index + 1,
                governance_status: status(gov),
                target: RegistryTarget {
                    stage: expected_stage,
                    stage_status: name(stage_status),
                    approval: ApprovalStatus::parse(approval).unwrap(),
                },
                direction: Direction::parse(direction).unwrap(),
            },
        );
    }
}

#[test]
fn json_spec_loads_like_toml() {
    let json = r#"{"version": 1, "rows": [
        {"governance_status": "Under Development", "stage": "Development", "stage_status": "InProgress",
         "approval": "PendingManualApproval", "direction": "both"}
    ]}"#;
    let toml = format!(
        "version = 1\n{}",
        row_toml(
            "Under Development",
            "Development",
            "InProgress",
            "PendingManualApproval",
            "both"
        )
    );
    assert_eq!(
        MappingSpec::parse(json).unwrap(),
        MappingSpec::parse(&toml).unwrap()
    );
}

#[test]
fn governance_status_maps_to_its_registry_target() {
    let spec = MappingSpec::builtin().unwrap();
    let cases = [
        (
            "Under Development",
            Some((
                "Development",
                "InProgress",
                ApprovalStatus::PendingManualApproval,
            )),
        ),
        (
            "In Production",
            Some(("Production", "Deployed", ApprovalStatus::Approved)),
        ),
        (
            "Decommissioned",
            Some(("Archived", "Retired", ApprovalStatus::Rejected)),
        ),
        ("Rejected", Some(("", "Rejected", ApprovalStatus::Rejected))),
        ("Retired in 2020", None),
        ("under development", None),
    ];
    for (gov, expected) in cases {
        let got = spec.registry_target(&status(gov));
        match expected {
            None => assert_eq!(
                got,
                Err(UnknownGovernanceStatus {
                    status: status(gov)
                }),
                "{gov}"
            ),
            Some((stage, stage_status, approval)) => {
                let target = &got.unwrap().target;
                let expected_stage = if stage.is_empty() {
                    StageTarget::Unchanged
                } else {
                    StageTarget::Set(name(stage))
                };
                assert_eq!(target.stage, expected_stage, "{gov}");
                assert_eq!(target.stage_status, name(stage_status), "{gov}");
                assert_eq!(target.approval, approval, "{gov}");
            }
        }
    }
}

#[test]
fn unchanged_stage_resolves_to_the_current_stage() {
    let spec = MappingSpec::builtin().unwrap();
    let rejected = &spec.registry_target(&status("Rejected")).unwrap().target;
    assert_eq!(
        rejected.resolve_stage(Some(&name("Validation"))),
        Some(name("Validation"))
    );
    assert_eq!(rejected.resolve_stage(None), None);
    let archived = &spec
        .registry_target(&status("Decommissioned"))
        .unwrap()
        .target;
    assert_eq!(
        archived.resolve_stage(Some(&name("Validation"))),
        Some(name("Archived"))
    );
}

#[test]
fn only_both_rows_drive_governance_from_the_registry() {
    let spec = MappingSpec::builtin().unwrap();
    let pending = ApprovalStatus::PendingManualApproval;
    let cases = [
        (
            "Development",
            "InProgress",
            pending,
            Some("Under Development"),
            false,
        ),
        (
            "Development",
            "Complete",
            pending,
            Some("Development Complete"),
            false,
        ),
        (
            "PreProduction",
            "Deployed",
            ApprovalStatus::Approved,
            Some("Deployed for Validation"),
            false,
        ),
        // to_registry rows: drift when govsync did not make the change.
        (
            "Production",
            "Deployed",
            ApprovalStatus::Approved,
            None,
            true,
        ),
        (
            "Validation",
            "Rejected",
            ApprovalStatus::Rejected,
            None,
            true,
        ),
        // Same stage and status but another approval: no row.
        (
            "Development",
            "InProgress",
            ApprovalStatus::Approved,
            None,
            false,
        ),
        ("Custom", "Whatever", pending, None, false),
    ];
    for (stage, stage_status, approval, expected, drift) in cases {
        let reverse = spec.from_registry(&name(stage), &name(stage_status), approval);
        assert_eq!(
            spec.governance_status_for(&name(stage), &name(stage_status), approval)
                .map(GovernanceStatus::as_str),
            expected,
            "{stage}/{stage_status}/{approval}"
        );
        assert_eq!(
            matches!(reverse, ReverseMapping::ToRegistryOnly(_)),
            drift,
            "{stage}/{stage_status}/{approval}: {reverse:?}"
        );
    }
}

#[test]
fn invalid_specs_are_refused_naming_the_row() {
    let good = row_toml(
        "Proposed",
        "Proposal",
        "Approved",
        "PendingManualApproval",
        "to_registry",
    );
    let with = |rows: &str| format!("version = 1\n{good}{rows}");
    let cases: Vec<(String, MappingError)> = vec![
        (
            with(&row_toml(
                "Bad Stage",
                "Pre Production",
                "Approved",
                "Approved",
                "to_registry",
            )),
            MappingError::Row {
                row: 2,
                status: "Bad Stage".into(),
                problem: RowProblem::InvalidName {
                    field: "stage",
                    value: "Pre Production".into(),
                },
            },
        ),
        (
            with(&row_toml(
                "Bad Status",
                "Production",
                "-Deployed",
                "Approved",
                "to_registry",
            )),
            MappingError::Row {
                row: 2,
                status: "Bad Status".into(),
                problem: RowProblem::InvalidName {
                    field: "stage_status",
                    value: "-Deployed".into(),
                },
            },
        ),
        (
            with(&row_toml(
                "Proposed",
                "Development",
                "Review",
                "PendingManualApproval",
                "to_registry",
            )),
            MappingError::Row {
                row: 2,
                status: "Proposed".into(),
                problem: RowProblem::DuplicateStatus { first_row: 1 },
            },
        ),
        (
            with(&row_toml(
                "Odd",
                "Production",
                "Deployed",
                "Aproved",
                "to_registry",
            )),
            MappingError::Row {
                row: 2,
                status: "Odd".into(),
                problem: RowProblem::UnknownApproval {
                    value: "Aproved".into(),
                },
            },
        ),
        (
            with(&row_toml(
                "Odd",
                "Production",
                "Deployed",
                "Approved",
                "from_registry",
            )),
            MappingError::Row {
                row: 2,
                status: "Odd".into(),
                problem: RowProblem::UnknownDirection {
                    value: "from_registry".into(),
                },
            },
        ),
        (
            with(
                &(row_toml(
                    "A",
                    "Development",
                    "InProgress",
                    "PendingManualApproval",
                    "both",
                ) + &row_toml(
                    "B",
                    "Development",
                    "InProgress",
                    "PendingManualApproval",
                    "both",
                )),
            ),
            MappingError::Row {
                row: 3,
                status: "B".into(),
                problem: RowProblem::Conflict {
                    other_row: 2,
                    other_status: "A".into(),
                },
            },
        ),
        (
            with(
                &(row_toml("A", "Development", "Rejected", "Rejected", "both")
                    + &row_toml("B", "unchanged", "Rejected", "Rejected", "both")),
            ),
            MappingError::Row {
                row: 3,
                status: "B".into(),
                problem: RowProblem::Conflict {
                    other_row: 2,
                    other_status: "A".into(),
                },
            },
        ),
        (
            with("[[rows]]\ngovernance_status = \"Half\"\nstage = \"Development\"\n"),
            MappingError::Row {
                row: 2,
                status: "Half".into(),
                problem: RowProblem::MissingField("stage_status"),
            },
        ),
        (
            with(
                &(row_toml("Typo", "Development", "Review", "Approved", "both")
                    + "stage_staus = \"x\"\n"),
            ),
            MappingError::Row {
                row: 2,
                status: "Typo".into(),
                problem: RowProblem::UnknownField("stage_staus".into()),
            },
        ),
        (
            with("[[rows]]\ngovernance_status = 7\n"),
            MappingError::Row {
                row: 2,
                status: "no governance status".into(),
                problem: RowProblem::NotAString("governance_status"),
            },
        ),
        (
            with(&row_toml(" ", "Development", "Review", "Approved", "both")),
            MappingError::Row {
                row: 2,
                status: " ".into(),
                problem: RowProblem::BlankStatus,
            },
        ),
        (good.clone(), MappingError::MissingVersion),
        (
            format!("version = 2\n{good}"),
            MappingError::UnsupportedVersion { found: "2".into() },
        ),
        (
            format!("version = \"1\"\n{good}"),
            MappingError::UnsupportedVersion {
                found: "\"1\"".into(),
            },
        ),
        ("version = 1\nrows = []\n".into(), MappingError::NoRows),
        ("version = 1\n".into(), MappingError::MissingRows),
        (
            format!("version = 1\nname = \"x\"\n{good}"),
            MappingError::UnknownField {
                field: "name".into(),
            },
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(MappingSpec::from_toml_str(&spec), Err(expected), "{spec}");
    }
    assert!(matches!(
        MappingSpec::from_toml_str("rows = [[["),
        Err(MappingError::Syntax { format: "TOML", .. })
    ));
    assert!(matches!(
        MappingSpec::from_json_str("[1]"),
        Err(MappingError::NotATable)
    ));
}

#[test]
fn row_errors_name_row_number_and_status_in_their_message() {
    let spec = format!(
        "version = 1\n{}",
        row_toml("Shipping", "Ship It", "Done", "Approved", "to_registry")
    );
    let message = MappingSpec::from_toml_str(&spec).unwrap_err().to_string();
    assert!(message.contains("row 1"), "{message}");
    assert!(message.contains("Shipping"), "{message}");
    assert!(message.contains("Ship It"), "{message}");
}

/// Issue 13: a new Model is created with the contract's initial status, which the built-in spec names;
/// a spec may name another row, but never one that approves or one it does not have.
#[test]
fn the_initial_status_is_the_contracts_and_never_an_approval() {
    let builtin = MappingSpec::builtin().unwrap();
    let initial = builtin.initial_row().expect("the built-in spec names one");
    assert_eq!(initial.governance_status.as_str(), "Under Development");
    assert_eq!(
        initial.target.approval,
        ApprovalStatus::PendingManualApproval
    );

    let rows = format!(
        "version = 1\n{}{}",
        row_toml(
            "Drafted",
            "Development",
            "InProgress",
            "PendingManualApproval",
            "both"
        ),
        row_toml("Live", "Production", "Deployed", "Approved", "to_registry"),
    );
    assert!(
        MappingSpec::from_toml_str(&rows)
            .unwrap()
            .initial_row()
            .is_none()
    );
    let named = |status: &str| {
        MappingSpec::from_toml_str(&format!("initial_status = \"{status}\"\n{rows}"))
    };
    assert_eq!(
        named("Drafted")
            .unwrap()
            .initial_row()
            .map(|r| r.governance_status.as_str()),
        Some("Drafted")
    );
    for refused in ["Live", "Nowhere"] {
        assert!(
            matches!(named(refused), Err(MappingError::InitialStatus { .. })),
            "{refused}"
        );
    }
}
