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

use crate::field_mapping::{FieldMapping, FieldMappingError};
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
    pub fn matches(&self, stage: &SageMakerName) -> bool {
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
    #[error("mapping spec: {0}")]
    Fields(FieldMappingError),
    #[error(
        "mapping spec: `initial_status` {status:?} must name a row that does not approve (a new version is never approved by creation)"
    )]
    InitialStatus { status: String },
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
    /// Which registry facts reach which Model fields (the spec's `[fields]` table).
    fields: FieldMapping,
    /// The row whose status a new Model is created with (the spec's `initial_status`).
    initial: Option<usize>,
}

impl MappingSpec {
    /// The built-in default: the 16 rows of the status-mapping contract, then the breach status F7 sets.
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
        if let Some(field) = top
            .keys()
            .find(|k| !matches!(k.as_str(), "version" | "rows" | "fields" | "initial_status"))
        {
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
        let fields = match top.get("fields") {
            None => FieldMapping::default(),
            Some(table) => FieldMapping::from_value(table).map_err(MappingError::Fields)?,
        };
        let spec = Self::new(rows)?.with_fields(fields);
        match top.get("initial_status") {
            None => Ok(spec),
            Some(status) => {
                let text = status.as_str().unwrap_or_default();
                spec.with_initial_status(text)
            }
        }
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
        Ok(Self {
            rows,
            by_status,
            fields: FieldMapping::default(),
            initial: None,
        })
    }

    /// The spec with `status` as the one a new Model is created with: a row's, and not one that
    /// approves.
    pub fn with_initial_status(mut self, status: &str) -> Result<Self, MappingError> {
        let refused = || MappingError::InitialStatus {
            status: status.to_owned(),
        };
        let index = self
            .rows
            .iter()
            .position(|row| row.governance_status.as_str() == status)
            .ok_or_else(refused)?;
        if self.rows[index].target.approval == ApprovalStatus::Approved {
            return Err(refused());
        }
        self.initial = Some(index);
        Ok(self)
    }

    /// The row a new Model's status comes from, when the spec names one.
    pub fn initial_row(&self) -> Option<&MappingRow> {
        self.initial.map(|index| &self.rows[index])
    }

    /// The spec with `fields` as its field mapping.
    pub fn with_fields(mut self, fields: FieldMapping) -> Self {
        self.fields = fields;
        self
    }

    /// Which registry facts reach which governance Model fields.
    pub fn fields(&self) -> &FieldMapping {
        &self.fields
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
mod tests;
