//! The seeded type definitions (the default govsync object model) and the parent/child rules.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub const BUSINESS_ENTITY: &str = "SOXBusEntity";
pub const USE_CASE: &str = "ModelUseCase";
pub const MODEL_GROUP: &str = "ModelGroup";
pub const MODEL: &str = "Model";
pub const METRIC: &str = "Metric";
pub const METRIC_VALUE: &str = "MetricValue";

pub const USE_CASE_STATUS: &str = "MRG-AIFacts-ModelUseCase:Status";
pub const USE_CASE_RISK_LEVEL: &str = "MRG-AIFacts-ModelUseCase:Risk Level";
pub const MODEL_STATUS: &str = "MRG-Model:Status";
pub const EXTERNAL_ID: &str = "Integration:External ID";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    String,
    Enum,
    /// OpenPages' number type (contracts/openpages-v2.md: `DECIMAL_TYPE` / `INTEGER_TYPE`).
    Decimal,
    Date,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "STRING_TYPE",
            Self::Enum => "ENUM_TYPE",
            Self::Decimal => "DECIMAL_TYPE",
            Self::Date => "DATE_TYPE",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FieldDefinition {
    pub name: String,
    pub data_type: DataType,
    pub enum_values: Vec<String>,
}

impl FieldDefinition {
    fn to_json(&self) -> Value {
        let label = self
            .name
            .split_once(':')
            .map_or(self.name.as_str(), |(_, label)| label);
        let mut field = json!({
            "name": self.name,
            "localized_label": label,
            "data_type": self.data_type.as_str(),
        });
        if self.data_type == DataType::Enum {
            field["enum_values"] = self
                .enum_values
                .iter()
                .map(|v| json!({"name": v, "localized_label": v}))
                .collect();
        }
        field
    }
}

#[derive(Debug, Clone)]
pub struct TypeDefinition {
    pub id: String,
    pub label: String,
    pub fields: Vec<FieldDefinition>,
    /// Types an object of this type may sit under.
    pub parent_types: Vec<String>,
    /// Whether an object may have no parent (root level).
    pub root_allowed: bool,
}

impl TypeDefinition {
    pub fn field(&self, name: &str) -> Option<&FieldDefinition> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Case-insensitive lookup, used by the query language.
    pub fn field_ignore_case(&self, name: &str) -> Option<&FieldDefinition> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.id,
            "localized_label": self.label,
            "field_definitions": self.fields.iter().map(FieldDefinition::to_json).collect::<Vec<_>>(),
        })
    }
}

/// The 16 governance model statuses of the status mapping plus `Under Review`.
pub const MODEL_STATUSES: [&str; 17] = [
    "Proposed",
    "Model Definition",
    "Under Development",
    "Data Acquisition",
    "Data Acquisition Complete",
    "Feature Engineering",
    "Feature Engineering Complete",
    "Development Complete",
    "Candidate for Validation",
    "Validation In Progress",
    "Approved for Deployment",
    "Deployed for Validation",
    "Approved for Production",
    "In Production",
    "Rejected",
    "Decommissioned",
    "Under Review",
];

pub const USE_CASE_STATUSES: [&str; 5] = [
    "Proposed",
    "Awaiting Use Case Approval",
    "Approved for Development",
    "Rejected",
    "Decommissioned",
];

pub const RISK_LEVELS: [&str; 4] = ["Low", "Medium", "High", "Critical"];
pub const BREACH_STATUSES: [&str; 3] = ["Green", "Amber", "Red"];

#[derive(Debug, Clone)]
pub struct Catalog {
    types: BTreeMap<String, TypeDefinition>,
}

fn text(name: &str) -> FieldDefinition {
    FieldDefinition {
        name: name.to_owned(),
        data_type: DataType::String,
        enum_values: Vec::new(),
    }
}

fn enumeration(name: &str, values: &[&str]) -> FieldDefinition {
    FieldDefinition {
        name: name.to_owned(),
        data_type: DataType::Enum,
        enum_values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn decimal(name: &str) -> FieldDefinition {
    FieldDefinition {
        name: name.to_owned(),
        data_type: DataType::Decimal,
        enum_values: Vec::new(),
    }
}

fn date(name: &str) -> FieldDefinition {
    FieldDefinition {
        name: name.to_owned(),
        data_type: DataType::Date,
        enum_values: Vec::new(),
    }
}

fn integration_fields() -> Vec<FieldDefinition> {
    vec![
        text(EXTERNAL_ID),
        text("Integration:Third Party Link"),
        date("Integration:Last Update"),
    ]
}

fn metric_shared_fields() -> Vec<FieldDefinition> {
    vec![
        decimal("MRG-Metric-Shared:Lower Threshold"),
        decimal("MRG-Metric-Shared:Upper Threshold"),
        enumeration("MRG-Metric-Shared:Breach Status", &BREACH_STATUSES),
    ]
}

impl Catalog {
    pub fn seeded() -> Self {
        let definitions = [
            TypeDefinition {
                id: BUSINESS_ENTITY.to_owned(),
                label: "Business Entity".to_owned(),
                fields: integration_fields(),
                parent_types: vec![BUSINESS_ENTITY.to_owned()],
                root_allowed: true,
            },
            TypeDefinition {
                id: USE_CASE.to_owned(),
                label: "Use Case".to_owned(),
                fields: [
                    vec![
                        enumeration(USE_CASE_STATUS, &USE_CASE_STATUSES),
                        enumeration(USE_CASE_RISK_LEVEL, &RISK_LEVELS),
                        text("MRG-ModelUseCase:Owner"),
                        text("MRG-ModelUseCase:Data Science Team Email"),
                        text("MRG-ModelUseCase:Development Accounts"),
                    ],
                    integration_fields(),
                ]
                .concat(),
                parent_types: vec![BUSINESS_ENTITY.to_owned()],
                root_allowed: false,
            },
            TypeDefinition {
                id: MODEL_GROUP.to_owned(),
                label: "Model Group".to_owned(),
                fields: integration_fields(),
                parent_types: vec![USE_CASE.to_owned()],
                root_allowed: false,
            },
            TypeDefinition {
                id: MODEL.to_owned(),
                label: "Model".to_owned(),
                fields: [
                    vec![
                        enumeration(MODEL_STATUS, &MODEL_STATUSES),
                        text("MRG-Model:Model Version"),
                        text("MRG-Model:Model Provider"),
                        // Technical metadata from the registry (govsync choice).
                        text("MRG-Model:Inference Image"),
                        text("MRG-Model:Model Data URL"),
                        text("MRG-Model:Metrics URIs"),
                        text("MRG-Model:Model Creator"),
                        // The rest of what the registry records (govsync's default field mapping).
                        text("MRG-Model:Domain"),
                        text("MRG-Model:Task"),
                        text("MRG-Model:Sample Payload URL"),
                        text("MRG-Model:Drift Baselines"),
                        text("MRG-Model:Lineage"),
                        text("MRG-Model:Model Card Summary"),
                        text("MRG-Model:Registry Metadata"),
                        // The approved artifact and where it serves (govsync choice, issue #21).
                        text("MRG-Model:Artifact Fingerprint"),
                        text("MRG-Model:Deployments"),
                        // Who retired the model and when (govsync choice, decommission F5).
                        text("MRG-Model:Decommission Note"),
                    ],
                    integration_fields(),
                ]
                .concat(),
                parent_types: vec![MODEL_GROUP.to_owned()],
                root_allowed: false,
            },
            TypeDefinition {
                id: METRIC.to_owned(),
                label: "Metric".to_owned(),
                fields: [metric_shared_fields(), integration_fields()].concat(),
                parent_types: vec![MODEL.to_owned()],
                root_allowed: false,
            },
            TypeDefinition {
                id: METRIC_VALUE.to_owned(),
                label: "Metric Value".to_owned(),
                fields: [
                    vec![
                        decimal("MRG-MetricVal:Value"),
                        date("MRG-MetricVal:Value Date"),
                    ],
                    metric_shared_fields(),
                ]
                .concat(),
                parent_types: vec![METRIC.to_owned()],
                root_allowed: false,
            },
        ];
        Self {
            types: definitions.into_iter().map(|t| (t.id.clone(), t)).collect(),
        }
    }

    pub fn get(&self, type_id: &str) -> Option<&TypeDefinition> {
        self.types.get(type_id)
    }

    /// Case-insensitive lookup, used by the query language.
    pub fn get_ignore_case(&self, type_id: &str) -> Option<&TypeDefinition> {
        self.types
            .values()
            .find(|t| t.id.eq_ignore_ascii_case(type_id))
    }

    pub fn all(&self) -> impl Iterator<Item = &TypeDefinition> {
        self.types.values()
    }

    /// `GET /types/{type}/associations`: each type this one may sit under (`Parent`) or hold
    /// (`Child`), in the shape IBM's client reads (`name`, `relationship`, `is_enabled`;
    /// IBM/ibm-openpages-mcp-server `openpages_client.py` `get_type_associations`).
    pub fn associations_json(&self, type_id: &str) -> Option<Value> {
        let definition = self.get(type_id)?;
        let entry = |other: &TypeDefinition, relationship: &str| {
            json!({
                "name": other.id,
                "localized_label": other.label,
                "relationship": relationship,
                "is_enabled": true,
            })
        };
        let parents = definition
            .parent_types
            .iter()
            .filter_map(|parent| self.get(parent))
            .map(|parent| entry(parent, "Parent"));
        let children = self
            .all()
            .filter(|child| child.parent_types.iter().any(|p| p == type_id))
            .map(|child| entry(child, "Child"));
        Some(json!({ "associations": parents.chain(children).collect::<Vec<_>>() }))
    }

    pub fn may_contain(&self, parent_type: &str, child_type: &str) -> bool {
        self.get(child_type)
            .is_some_and(|child| child.parent_types.iter().any(|p| p == parent_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_runs_entity_to_metric_value() {
        let catalog = Catalog::seeded();
        let chain = [
            BUSINESS_ENTITY,
            USE_CASE,
            MODEL_GROUP,
            MODEL,
            METRIC,
            METRIC_VALUE,
        ];
        for pair in chain.windows(2) {
            assert!(catalog.may_contain(pair[0], pair[1]), "{pair:?}");
            assert!(!catalog.may_contain(pair[1], pair[0]), "{pair:?} reversed");
        }
        assert!(!catalog.may_contain(BUSINESS_ENTITY, MODEL));
    }

    #[test]
    fn model_status_enum_holds_every_mapped_status_and_under_review() {
        let catalog = Catalog::seeded();
        let status = catalog
            .get(MODEL)
            .and_then(|t| t.field(MODEL_STATUS))
            .map(|f| f.enum_values.clone())
            .unwrap_or_default();
        assert_eq!(status.len(), 17);
        assert!(status.iter().any(|s| s == "Under Review"));
        assert!(status.iter().any(|s| s == "Deployed for Validation"));
    }
}
