//! The governance platform in memory (OpenPages v2 semantics the adapter relies on).

use std::sync::Arc;

use super::*;

#[derive(Debug, Default)]
struct GovernanceState {
    next_id: u64,
    objects: BTreeMap<u64, GovernanceObject>,
    associations: Vec<(GovernanceId, Related)>,
    types: HashMap<GovernanceKind, TypeDefinition>,
}

/// An in-memory governance platform. Ids are sequential integers as text.
#[derive(Debug)]
pub struct FakeGovernance {
    type_ids: TypeIds,
    clock: Arc<SteppingClock>,
    state: Mutex<GovernanceState>,
    recorder: Recorder<GovernanceError>,
    page_size: Mutex<Option<usize>>,
}

impl Default for FakeGovernance {
    fn default() -> Self {
        Self::new()
    }
}

fn enum_definition(name: &str, values: &[&str]) -> FieldDefinition {
    FieldDefinition {
        name: name.to_owned(),
        data_type: Some("ENUM_TYPE".to_owned()),
        enum_values: values.iter().map(|value| (*value).to_owned()).collect(),
    }
}

/// Default enum values from the contracts (tenants customise them; tests may replace them).
fn default_types(type_ids: &TypeIds) -> HashMap<GovernanceKind, TypeDefinition> {
    let model_statuses = [
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
    ];
    let use_case_statuses = [
        "Proposed",
        "Awaiting Use Case Approval",
        "Approved for Development",
        "Rejected",
        "Decommissioned",
    ];
    HashMap::from([
        (
            GovernanceKind::Model,
            TypeDefinition {
                type_id: type_ids.model.clone(),
                fields: vec![enum_definition("MRG-Model:Status", &model_statuses)],
            },
        ),
        (
            GovernanceKind::UseCase,
            TypeDefinition {
                type_id: type_ids.use_case.clone(),
                fields: vec![
                    enum_definition("MRG-AIFacts-ModelUseCase:Status", &use_case_statuses),
                    enum_definition(
                        "MRG-AIFacts-ModelUseCase:Risk Level",
                        &["Low", "Medium", "High", "Critical"],
                    ),
                ],
            },
        ),
    ])
}

fn merge_fields(target: &mut Vec<Field>, changes: &[Field]) {
    for change in changes {
        match target.iter_mut().find(|field| field.name == change.name) {
            Some(field) => field.value = change.value.clone(),
            None => target.push(change.clone()),
        }
    }
}

fn stamp(fields: &mut Vec<Field>, now: DateTime<Utc>) {
    merge_fields(fields, &[Field::date(LAST_MODIFICATION_DATE, now)]);
}

/// A field's value as text for query comparison (`Name` and `Resource ID` included).
fn queryable_text(object: &GovernanceObject, field: &str) -> Option<String> {
    match field {
        "Name" => Some(object.name.clone()),
        "Resource ID" => Some(object.id.to_string()),
        "Description" => object.description.clone(),
        _ => object.field(field).and_then(FieldValue::as_text),
    }
}

fn greater_than(left: &str, right: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(left),
        DateTime::parse_from_rfc3339(right),
    ) {
        (Ok(left), Ok(right)) => left > right,
        _ => left > right,
    }
}

impl FakeGovernance {
    pub fn new() -> Self {
        Self::with_type_ids(TypeIds::default())
    }

    /// The clock the fake stamps `Last Modification Date` with.
    pub fn clock(&self) -> &SteppingClock {
        &self.clock
    }

    pub fn with_type_ids(type_ids: TypeIds) -> Self {
        let types = default_types(&type_ids);
        Self {
            type_ids,
            clock: shared_clock(),
            state: Mutex::new(GovernanceState {
                types,
                ..GovernanceState::default()
            }),
            recorder: Recorder::default(),
            page_size: Mutex::new(None),
        }
    }

    recorder_methods!(GovernanceError);
    paging_methods!();

    /// Seeds an object without recording a call.
    pub fn insert(&self, object: &NewGovernanceObject) -> GovernanceObject {
        let mut state = lock(&self.state);
        state.next_id += 1;
        let id = state.next_id;
        let mut fields = object.fields.clone();
        stamp(&mut fields, self.clock.now());
        let created = GovernanceObject {
            id: GovernanceId::parse(&id.to_string())
                .expect("a decimal number is a valid governance id"),
            name: object.name.clone(),
            type_definition_id: self.type_ids.of(object.kind).to_owned(),
            primary_parent_id: object.parent_id.clone(),
            description: object.description.clone(),
            fields,
        };
        state.objects.insert(id, created.clone());
        created
    }

    /// Changes fields without recording a call (an edit made by a person in governance).
    pub fn edit(&self, id: &GovernanceId, fields: &[Field]) -> Option<GovernanceObject> {
        let mut state = lock(&self.state);
        let object = id
            .as_str()
            .parse::<u64>()
            .ok()
            .and_then(|key| state.objects.get_mut(&key))?;
        merge_fields(&mut object.fields, fields);
        stamp(&mut object.fields, self.clock.now());
        Some(object.clone())
    }

    /// Replaces the top-level description without recording a call (an edit made by a person).
    pub fn edit_description(
        &self,
        id: &GovernanceId,
        description: &str,
    ) -> Option<GovernanceObject> {
        let mut state = lock(&self.state);
        let object = id
            .as_str()
            .parse::<u64>()
            .ok()
            .and_then(|key| state.objects.get_mut(&key))?;
        object.description = Some(description.to_owned());
        Some(object.clone())
    }

    pub fn object(&self, id: &GovernanceId) -> Option<GovernanceObject> {
        let key = id.as_str().parse::<u64>().ok()?;
        lock(&self.state).objects.get(&key).cloned()
    }

    pub fn objects(&self) -> Vec<GovernanceObject> {
        lock(&self.state).objects.values().cloned().collect()
    }

    pub fn associations(&self) -> Vec<(GovernanceId, Related)> {
        lock(&self.state).associations.clone()
    }

    pub fn set_type_definition(&self, kind: GovernanceKind, definition: TypeDefinition) {
        lock(&self.state).types.insert(kind, definition);
    }

    fn run_query(&self, query: &GovernanceQuery) -> Vec<QueryRow> {
        let type_id = self.type_ids.of(query.kind);
        let state = lock(&self.state);
        let is_child_of = |object: &GovernanceObject, parent_kind, parent_id: &GovernanceId| {
            let parent_type = self.type_ids.of(parent_kind);
            let parent_matches = state
                .objects
                .values()
                .any(|parent| &parent.id == parent_id && parent.type_definition_id == parent_type);
            let linked = state.associations.iter().any(|(from, other)| {
                (from == parent_id && other.id == object.id && other.relation == Relation::Child)
                    || (from == &object.id
                        && &other.id == parent_id
                        && other.relation == Relation::Parent)
            });
            parent_matches && (object.primary_parent_id.as_ref() == Some(parent_id) || linked)
        };
        let modified = |object: &GovernanceObject| match object.field(LAST_MODIFICATION_DATE) {
            Some(FieldValue::Date(date)) => Some(*date),
            _ => None,
        };
        let mut objects: Vec<&GovernanceObject> = state
            .objects
            .values()
            .filter(|object| object.type_definition_id == type_id)
            .filter(|object| match &query.condition {
                None => true,
                Some(QueryCondition::Equals { field, value }) => {
                    queryable_text(object, field).as_deref() == Some(value.as_str())
                }
                Some(QueryCondition::GreaterThan { field, value }) => {
                    queryable_text(object, field).is_some_and(|text| greater_than(&text, value))
                }
                Some(QueryCondition::ChildOf {
                    parent_kind,
                    parent_id,
                }) => is_child_of(object, *parent_kind, parent_id),
                Some(QueryCondition::ModifiedSince { day }) => {
                    modified(object).is_some_and(|date| date.date_naive() >= *day)
                }
            })
            .collect();
        if let Some(QueryCondition::ModifiedSince { .. }) = &query.condition {
            // Oldest change first, as the adapter's ORDER BY asks.
            objects.sort_by_key(|object| modified(object));
        }
        objects
            .into_iter()
            .map(|object| QueryRow {
                id: Some(object.id.clone()),
                fields: std::iter::once("Resource ID")
                    .chain(query.columns.iter().map(String::as_str))
                    .filter_map(|column| {
                        queryable_text(object, column)
                            .map(|text| Field::text(column, text))
                            .or_else(|| {
                                object
                                    .field(column)
                                    .map(|value| Field::new(column, value.clone()))
                            })
                    })
                    .collect(),
            })
            .collect()
    }

    fn not_found(operation: &'static str, id: &GovernanceId) -> GovernanceError {
        GovernanceError::NotFound {
            operation,
            id: id.to_string(),
        }
    }
}

impl Governance for FakeGovernance {
    async fn get_object(&self, id: &GovernanceId) -> Result<GovernanceObject, GovernanceError> {
        self.recorder.enter("get_object").await?;
        self.object(id)
            .ok_or_else(|| Self::not_found("get object", id))
    }

    async fn create_object(
        &self,
        object: &NewGovernanceObject,
    ) -> Result<GovernanceObject, GovernanceError> {
        self.recorder.enter("create_object").await?;
        if let Some(parent) = &object.parent_id
            && self.object(parent).is_none()
        {
            return Err(GovernanceError::Status {
                operation: "create object",
                status: 400,
                body: format!("parent {parent} does not exist"),
            });
        }
        let created = self.insert(object);
        self.recorder.leave("create_object")?;
        Ok(created)
    }

    async fn update_object(
        &self,
        id: &GovernanceId,
        fields: &[Field],
        description: Option<&str>,
    ) -> Result<GovernanceObject, GovernanceError> {
        self.recorder.enter("update_object").await?;
        if let Some(description) = description {
            self.edit_description(id, description)
                .ok_or_else(|| Self::not_found("update object", id))?;
        }
        let updated = self
            .edit(id, fields)
            .ok_or_else(|| Self::not_found("update object", id))?;
        self.recorder.leave("update_object")?;
        Ok(updated)
    }

    async fn query(&self, query: &GovernanceQuery) -> Result<Vec<QueryRow>, GovernanceError> {
        let rows = self.run_query(query);
        self.recorder
            .enter_pages("query", self.pages_for(rows.len()))
            .await?;
        Ok(rows)
    }

    async fn find_by_external_id(
        &self,
        kind: GovernanceKind,
        external_id: &str,
    ) -> Result<ExternalIdLookup, GovernanceError> {
        self.recorder.enter("find_by_external_id").await?;
        let rows = self.run_query(&GovernanceQuery {
            kind,
            columns: Vec::new(),
            condition: Some(QueryCondition::Equals {
                field: EXTERNAL_ID_FIELD.to_owned(),
                value: external_id.to_owned(),
            }),
        });
        let ids: Vec<GovernanceId> = rows.into_iter().filter_map(|row| row.id).collect();
        Ok(match ids.as_slice() {
            [] => ExternalIdLookup::Absent,
            [id] => match self.object(id) {
                Some(object) => ExternalIdLookup::Found(object),
                None => ExternalIdLookup::Absent,
            },
            _ => ExternalIdLookup::Ambiguous(ids),
        })
    }
}

/// Calls the ports do not need (tests and operators use them).
impl FakeGovernance {
    pub async fn associate(
        &self,
        id: &GovernanceId,
        associations: &[Related],
    ) -> Result<(), GovernanceError> {
        self.recorder.enter("associate").await?;
        if self.object(id).is_none() {
            return Err(Self::not_found("associate", id));
        }
        let mut state = lock(&self.state);
        state.associations.extend(
            associations
                .iter()
                .map(|association| (id.clone(), association.clone())),
        );
        Ok(())
    }

    pub async fn type_definition(
        &self,
        kind: GovernanceKind,
    ) -> Result<TypeDefinition, GovernanceError> {
        self.recorder.enter("type_definition").await?;
        let type_id = self.type_ids.of(kind).to_owned();
        Ok(lock(&self.state)
            .types
            .get(&kind)
            .cloned()
            .unwrap_or(TypeDefinition {
                type_id,
                fields: Vec::new(),
            }))
    }
}
