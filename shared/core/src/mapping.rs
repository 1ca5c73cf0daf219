//! The status mapping spec: governance status ⇄ SageMaker (Stage, StageStatus, ModelApprovalStatus).
//!
//! Data, not code: a versioned TOML or JSON file validated at load (see `default_mapping.toml`, the
//! built-in default). Shape:
//! ```toml
//! version = 1
//! [[rows]]
//! governance_status = "Under Development"
//! stage = "Development"          # or "unchanged": keep the package's current stage
//! stage_status = "InProgress"
//! approval = "PendingManualApproval"
//! direction = "both"             # or "to_registry"
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::governance::GovernanceStatus;
use crate::model_package::{ApprovalStatus, SageMakerName};

/// The only spec version this build reads.
pub const SPEC_VERSION: i64 = 1;

/// The `stage` value that keeps a package's current stage.
pub const UNCHANGED_STAGE: &str = "unchanged";

const DEFAULT_SPEC_TOML: &str = include_str!("default_mapping.toml");

/// Which way a row may flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Governance drives SageMaker; a SageMaker change to this state not made by govsync is drift.
    ToRegistry,
    /// SageMaker may also drive governance.
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToRegistry => "to_registry",
            Direction::Both => "both",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "to_registry" => Some(Direction::ToRegistry),
            "both" => Some(Direction::Both),
            _ => None,
        }
    }
}

/// The stage a row sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StageTarget {
    /// Keep the package's current stage; set only the stage status.
    Unchanged,
    Set(SageMakerName),
}

impl StageTarget {
    fn matches(&self, stage: &SageMakerName) -> bool {
        match self {
            StageTarget::Unchanged => true,
            StageTarget::Set(target) => target == stage,
        }
    }

    fn overlaps(&self, other: &StageTarget) -> bool {
        match (self, other) {
            (StageTarget::Set(a), StageTarget::Set(b)) => a == b,
            _ => true,
        }
    }
}

/// What the registry should hold for a governance status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryTarget {
    pub stage: StageTarget,
    pub stage_status: SageMakerName,
    pub approval: ApprovalStatus,
}

impl RegistryTarget {
    /// The stage to write, given the package's current one. `None` when the row keeps the stage and the
    /// package has none yet: then only the approval can be set.
    pub fn resolve_stage(&self, current: Option<&SageMakerName>) -> Option<SageMakerName> {
        match &self.stage {
            StageTarget::Set(stage) => Some(stage.clone()),
            StageTarget::Unchanged => current.cloned(),
        }
    }
}

/// One validated row. `number` is its 1-based position in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MappingRow {
    pub number: usize,
    pub governance_status: GovernanceStatus,
    pub target: RegistryTarget,
    pub direction: Direction,
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("the row is not a table")]
    NotATable,
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{0}` must be a string")]
    NotAString(&'static str),
    #[error("governance status must not be blank")]
    BlankStatus,
    #[error(
        "{field} {value:?} does not match SageMaker's name pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}"
    )]
    InvalidName { field: &'static str, value: String },
    #[error("approval {value:?} is not one of Approved, Rejected, PendingManualApproval")]
    UnknownApproval { value: String },
    #[error("direction {value:?} is not one of to_registry, both")]
    UnknownDirection { value: String },
    #[error("the governance status is already mapped by row {first_row}")]
    DuplicateStatus { first_row: usize },
    #[error(
        "it maps the same registry state back as row {other_row} ({other_status:?}); two `both` rows cannot share a registry state"
    )]
    Conflict {
        other_row: usize,
        other_status: String,
    },
}

/// Why a spec is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping spec is not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("mapping spec must be a table with `version` and `rows`")]
    NotATable,
    #[error("mapping spec has no `version`; add `version = {SPEC_VERSION}`")]
    MissingVersion,
    #[error(
        "mapping spec version {found} is not supported; this build reads version {SPEC_VERSION}"
    )]
    UnsupportedVersion { found: String },
    #[error("mapping spec has an unknown field `{field}`")]
    UnknownField { field: String },
    #[error("mapping spec has no `rows` list")]
    MissingRows,
    #[error("mapping spec has no rows")]
    NoRows,
    #[error("mapping spec row {row} ({status}): {problem}")]
    Row {
        row: usize,
        status: String,
        problem: RowProblem,
    },
}

/// A governance status the spec does not know: reported, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("governance status {status:?} is not in the mapping spec")]
pub struct UnknownGovernanceStatus {
    pub status: GovernanceStatus,
}

/// What a registry state means for governance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReverseMapping<'a> {
    /// A `both` row: SageMaker may move governance to this row's status.
    Governs(&'a MappingRow),
    /// Only `to_registry` rows describe this state: a change to it that govsync did not make is drift.
    ToRegistryOnly(Vec<&'a MappingRow>),
    /// No row describes this state.
    Unmapped,
}

/// A validated mapping spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    rows: Vec<MappingRow>,
    by_status: BTreeMap<GovernanceStatus, usize>,
}

impl MappingSpec {
    /// The built-in default: the 16 rows of the status-mapping contract.
    pub fn builtin() -> Result<Self, MappingError> {
        Self::from_toml_str(DEFAULT_SPEC_TOML)
    }

    /// The built-in default's source text, for tenants to start their own file from.
    pub fn builtin_toml() -> &'static str {
        DEFAULT_SPEC_TOML
    }

    pub fn from_toml_str(text: &str) -> Result<Self, MappingError> {
        let document: Value = toml::from_str(text).map_err(|e| MappingError::Syntax {
            format: "TOML",
            message: e.to_string(),
        })?;
        Self::from_document(&document)
    }

    pub fn from_json_str(text: &str) -> Result<Self, MappingError> {
        let document: Value = serde_json::from_str(text).map_err(|e| MappingError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        Self::from_document(&document)
    }

    /// JSON when the text starts with `{`, TOML otherwise.
    pub fn parse(text: &str) -> Result<Self, MappingError> {
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text)
        } else {
            Self::from_toml_str(text)
        }
    }

    fn from_document(document: &Value) -> Result<Self, MappingError> {
        let Value::Object(top) = document else {
            return Err(MappingError::NotATable);
        };
        match top.get("version") {
            None => return Err(MappingError::MissingVersion),
            Some(version) if version.as_i64() == Some(SPEC_VERSION) => {}
            Some(other) => {
                return Err(MappingError::UnsupportedVersion {
                    found: other.to_string(),
                });
            }
        }
        if let Some(field) = top.keys().find(|k| *k != "version" && *k != "rows") {
            return Err(MappingError::UnknownField {
                field: field.clone(),
            });
        }
        let Some(Value::Array(raw_rows)) = top.get("rows") else {
            return Err(MappingError::MissingRows);
        };
        if raw_rows.is_empty() {
            return Err(MappingError::NoRows);
        }
        let rows = raw_rows
            .iter()
            .enumerate()
            .map(|(index, raw)| parse_row(index + 1, raw))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(rows)
    }

    /// Validates rows built in code: no duplicate status, no two `both` rows sharing a registry state.
    pub fn new(rows: Vec<MappingRow>) -> Result<Self, MappingError> {
        if rows.is_empty() {
            return Err(MappingError::NoRows);
        }
        let mut by_status = BTreeMap::new();
        for (index, row) in rows.iter().enumerate() {
            if let Some(first) = by_status.insert(row.governance_status.clone(), index) {
                return Err(row_error(
                    row,
                    RowProblem::DuplicateStatus {
                        first_row: rows[first].number,
                    },
                ));
            }
        }
        let both: Vec<&MappingRow> = rows
            .iter()
            .filter(|row| row.direction == Direction::Both)
            .collect();
        for (i, later) in both.iter().enumerate() {
            if let Some(earlier) = both[..i].iter().find(|earlier| {
                earlier.target.stage_status == later.target.stage_status
                    && earlier.target.approval == later.target.approval
                    && earlier.target.stage.overlaps(&later.target.stage)
            }) {
                return Err(row_error(
                    later,
                    RowProblem::Conflict {
                        other_row: earlier.number,
                        other_status: earlier.governance_status.to_string(),
                    },
                ));
            }
        }
        Ok(Self { rows, by_status })
    }

    pub fn rows(&self) -> &[MappingRow] {
        &self.rows
    }

    /// Governance status → what the registry should hold. Unknown status is a typed result, not a guess.
    pub fn registry_target(
        &self,
        status: &GovernanceStatus,
    ) -> Result<&MappingRow, UnknownGovernanceStatus> {
        self.by_status
            .get(status)
            .and_then(|index| self.rows.get(*index))
            .ok_or_else(|| UnknownGovernanceStatus {
                status: status.clone(),
            })
    }

    /// Registry state → what it means for governance; only `both` rows may drive governance.
    pub fn from_registry(
        &self,
        stage: &SageMakerName,
        stage_status: &SageMakerName,
        approval: ApprovalStatus,
    ) -> ReverseMapping<'_> {
        let mut matching = self.rows.iter().filter(|row| {
            row.target.stage_status == *stage_status
                && row.target.approval == approval
                && row.target.stage.matches(stage)
        });
        let mut to_registry_only = Vec::new();
        for row in matching.by_ref() {
            match row.direction {
                Direction::Both => return ReverseMapping::Governs(row),
                Direction::ToRegistry => to_registry_only.push(row),
            }
        }
        if to_registry_only.is_empty() {
            ReverseMapping::Unmapped
        } else {
            ReverseMapping::ToRegistryOnly(to_registry_only)
        }
    }

    /// The governance status a registry state drives, if a `both` row maps it.
    pub fn governance_status_for(
        &self,
        stage: &SageMakerName,
        stage_status: &SageMakerName,
        approval: ApprovalStatus,
    ) -> Option<&GovernanceStatus> {
        match self.from_registry(stage, stage_status, approval) {
            ReverseMapping::Governs(row) => Some(&row.governance_status),
            ReverseMapping::ToRegistryOnly(_) | ReverseMapping::Unmapped => None,
        }
    }
}

fn row_error(row: &MappingRow, problem: RowProblem) -> MappingError {
    MappingError::Row {
        row: row.number,
        status: row.governance_status.to_string(),
        problem,
    }
}

const ROW_FIELDS: [&str; 5] = [
    "governance_status",
    "stage",
    "stage_status",
    "approval",
    "direction",
];

fn parse_row(number: usize, raw: &Value) -> Result<MappingRow, MappingError> {
    let status_label = raw
        .get("governance_status")
        .and_then(Value::as_str)
        .unwrap_or("no governance status")
        .to_owned();
    let fail = |problem| MappingError::Row {
        row: number,
        status: status_label.clone(),
        problem,
    };
    let Value::Object(fields) = raw else {
        return Err(fail(RowProblem::NotATable));
    };
    if let Some(unknown) = fields.keys().find(|k| !ROW_FIELDS.contains(&k.as_str())) {
        return Err(fail(RowProblem::UnknownField(unknown.clone())));
    }
    let text = |field: &'static str| row_text(fields, field).map_err(&fail);

    let governance_status = GovernanceStatus::parse(text("governance_status")?)
        .map_err(|_| fail(RowProblem::BlankStatus))?;
    let stage = match text("stage")? {
        UNCHANGED_STAGE => StageTarget::Unchanged,
        name => StageTarget::Set(sagemaker_name("stage", name).map_err(&fail)?),
    };
    let stage_status = sagemaker_name("stage_status", text("stage_status")?).map_err(&fail)?;
    let approval_text = text("approval")?;
    let approval = ApprovalStatus::parse(approval_text).map_err(|_| {
        fail(RowProblem::UnknownApproval {
            value: approval_text.to_owned(),
        })
    })?;
    let direction_text = text("direction")?;
    let direction = Direction::parse(direction_text).ok_or_else(|| {
        fail(RowProblem::UnknownDirection {
            value: direction_text.to_owned(),
        })
    })?;
    Ok(MappingRow {
        number,
        governance_status,
        target: RegistryTarget {
            stage,
            stage_status,
            approval,
        },
        direction,
    })
}

fn row_text<'a>(
    fields: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, RowProblem> {
    match fields.get(field) {
        None => Err(RowProblem::MissingField(field)),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(RowProblem::NotAString(field)),
    }
}

fn sagemaker_name(field: &'static str, value: &str) -> Result<SageMakerName, RowProblem> {
    SageMakerName::parse(value).map_err(|_| RowProblem::InvalidName {
        field,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
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
    fn builtin_spec_equals_the_contract_table() {
        let spec = MappingSpec::builtin().unwrap();
        assert_eq!(spec.rows().len(), CONTRACT_TABLE.len());
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
}
