//! In-memory implementations of every port, for handler tests and benchmarks in the function
//! crates (feature `test-util`). They keep the semantics the real adapters rely on (metadata
//! merge, idempotency protocol, conditional revisions, ledger expiry) and record every call, so a
//! test can assert which remote calls an event caused. Each fake can add a fixed latency per call
//! and fail the next call of an operation with a given error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use govsync_core::ports::registry::MAX_METADATA_ENTRIES;
use govsync_core::ports::{
    ApprovalStatus, Association, CheckpointStore, CursorStore, Email, ExternalIdLookup, Field,
    FieldDefinition, FieldValue, Governance, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceObject, GovernanceQuery, IdempotencyBegin, IdempotencyStore, Link, LinkEnd, LinkKind,
    LinkStore, ModelPackage, ModelRegistry, NewGovernanceObject, NewPackageGroup, Notifier,
    NotifyError, OurWrite, PackageGroupSummary, PackageSummary, PackageUpdate, Quarantine,
    QuarantineError, QuarantinedMessage, QueryCondition, QueryRow, RegistryError, RevisionOutcome,
    StoreError, Tombstone, TypeDefinition,
};

use crate::governance::{EXTERNAL_ID_FIELD, TypeIds};

/// The field the fake governance stamps on every create and update.
pub const LAST_MODIFICATION_DATE: &str = "Last Modification Date";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Call log, latency and injected failures shared by the fakes.
#[derive(Debug)]
struct Recorder<E> {
    calls: Mutex<Vec<&'static str>>,
    failures: Mutex<HashMap<&'static str, VecDeque<E>>>,
    latency: Mutex<Duration>,
}

impl<E> Default for Recorder<E> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            failures: Mutex::new(HashMap::new()),
            latency: Mutex::new(Duration::ZERO),
        }
    }
}

impl<E> Recorder<E> {
    async fn enter(&self, operation: &'static str) -> Result<(), E> {
        lock(&self.calls).push(operation);
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match lock(&self.failures)
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// A listing answered in `pages` pages: one recorded call and one latency per page.
    async fn enter_pages(&self, operation: &'static str, pages: usize) -> Result<(), E> {
        for _ in 1..pages {
            self.enter(operation).await?;
        }
        self.enter(operation).await
    }

    fn calls(&self) -> Vec<&'static str> {
        lock(&self.calls).clone()
    }

    fn fail_next(&self, operation: &'static str, error: E) {
        lock(&self.failures)
            .entry(operation)
            .or_default()
            .push_back(error);
    }

    fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    fn clear_failures(&self) -> usize {
        lock(&self.failures)
            .drain()
            .map(|(_, queued)| queued.len())
            .sum()
    }
}

macro_rules! recorder_methods {
    ($error:ty) => {
        /// Operation names called so far, in order (e.g. `"get_object"`).
        pub fn calls(&self) -> Vec<&'static str> {
            self.recorder.calls()
        }

        /// Makes the next call of `operation` fail with `error` (queued, one per call).
        pub fn fail_next(&self, operation: &'static str, error: $error) {
            self.recorder.fail_next(operation, error);
        }

        /// Adds a fixed delay to every call (benchmarks fake remote calls at a latency).
        pub fn set_latency(&self, latency: Duration) {
            self.recorder.set_latency(latency);
        }

        /// Drops the failures queued by `fail_next` that no call has taken yet; returns how many.
        pub fn clear_failures(&self) -> usize {
            self.recorder.clear_failures()
        }
    };
}

/// Paged listings for the fakes that list (registry listings, governance queries).
macro_rules! paging_methods {
    () => {
        /// Answers listings in pages of `size` (each page one recorded call and one latency), as the
        /// real APIs page them (SageMaker lists 100 per page). `None` (the default): one call per listing.
        pub fn set_page_size(&self, size: Option<usize>) {
            *lock(&self.page_size) = size.filter(|size| *size > 0);
        }

        fn pages_for(&self, items: usize) -> usize {
            match *lock(&self.page_size) {
                Some(size) => items.div_ceil(size).max(1),
                None => 1,
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Governance

#[derive(Debug, Default)]
struct GovernanceState {
    next_id: u64,
    objects: BTreeMap<u64, GovernanceObject>,
    associations: Vec<(GovernanceId, Association)>,
    types: HashMap<GovernanceKind, TypeDefinition>,
}

/// An in-memory governance platform. Ids are sequential integers as text.
#[derive(Debug)]
pub struct FakeGovernance {
    type_ids: TypeIds,
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

fn stamp(fields: &mut Vec<Field>) {
    merge_fields(fields, &[Field::date(LAST_MODIFICATION_DATE, Utc::now())]);
}

/// A field's value as text for query comparison (`Name` and `Resource ID` included).
fn queryable_text(object: &GovernanceObject, field: &str) -> Option<String> {
    match field {
        "Name" => Some(object.name.clone()),
        "Resource ID" => Some(object.id.to_string()),
        "Description" => object.description.clone(),
        "Parent Id" => object.primary_parent_id.as_ref().map(ToString::to_string),
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

    pub fn with_type_ids(type_ids: TypeIds) -> Self {
        let types = default_types(&type_ids);
        Self {
            type_ids,
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
        stamp(&mut fields);
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
        stamp(&mut object.fields);
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

    pub fn associations(&self) -> Vec<(GovernanceId, Association)> {
        lock(&self.state).associations.clone()
    }

    pub fn set_type_definition(&self, kind: GovernanceKind, definition: TypeDefinition) {
        lock(&self.state).types.insert(kind, definition);
    }

    fn run_query(&self, query: &GovernanceQuery) -> Vec<QueryRow> {
        let type_id = self.type_ids.of(query.kind);
        let state = lock(&self.state);
        state
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
            })
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
        Ok(self.insert(object))
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
        self.edit(id, fields)
            .ok_or_else(|| Self::not_found("update object", id))
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

    async fn associate(
        &self,
        id: &GovernanceId,
        associations: &[Association],
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

    async fn type_definition(
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

// ---------------------------------------------------------------------------------------------
// Registry

#[derive(Debug, Clone, Default)]
struct FakeGroup {
    arn: String,
    description: Option<String>,
    tags: BTreeMap<String, String>,
    policy: Option<String>,
    creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct RegistryState {
    groups: BTreeMap<String, FakeGroup>,
    packages: BTreeMap<String, ModelPackage>,
    /// Tags of other resources (e.g. monitoring schedules), by ARN.
    resource_tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// An in-memory SageMaker Model Registry with SageMaker's update semantics (metadata merged,
/// omitted fields kept, `LastModifiedTime` advanced on every change).
#[derive(Debug)]
pub struct FakeRegistry {
    account_id: String,
    region: String,
    state: Mutex<RegistryState>,
    recorder: Recorder<RegistryError>,
    page_size: Mutex<Option<usize>>,
}

impl FakeRegistry {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            region: region.into(),
            state: Mutex::new(RegistryState::default()),
            recorder: Recorder::default(),
            page_size: Mutex::new(None),
        }
    }

    recorder_methods!(RegistryError);
    paging_methods!();

    /// Every package, by ARN (tests compare snapshots of the registry).
    pub fn packages(&self) -> Vec<ModelPackage> {
        lock(&self.state).packages.values().cloned().collect()
    }

    pub fn group_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:model-package-group/{name}",
            self.region, self.account_id
        )
    }

    pub fn package_arn(&self, group: &str, version: i32) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:model-package/{group}/{version}",
            self.region, self.account_id
        )
    }

    /// Seeds a group without recording a call; returns its ARN.
    pub fn add_group(&self, name: &str, tags: BTreeMap<String, String>) -> String {
        let arn = self.group_arn(name);
        lock(&self.state).groups.insert(
            name.to_owned(),
            FakeGroup {
                arn: arn.clone(),
                tags,
                creation_time: Some(Utc::now()),
                ..FakeGroup::default()
            },
        );
        arn
    }

    /// Seeds (or replaces) a package without recording a call.
    pub fn put_package(&self, package: ModelPackage) {
        lock(&self.state)
            .packages
            .insert(package.arn.clone(), package);
    }

    pub fn package(&self, arn: &str) -> Option<ModelPackage> {
        lock(&self.state).packages.get(arn).cloned()
    }

    pub fn group_tags(&self, name: &str) -> Option<BTreeMap<String, String>> {
        lock(&self.state)
            .groups
            .get(name)
            .map(|group| group.tags.clone())
    }

    /// Tags any other resource (a monitoring schedule, an endpoint) without recording a call.
    pub fn tag_resource(&self, arn: &str, tags: BTreeMap<String, String>) {
        lock(&self.state).resource_tags.insert(arn.to_owned(), tags);
    }

    pub fn group_names(&self) -> Vec<String> {
        lock(&self.state).groups.keys().cloned().collect()
    }

    fn rejected(operation: &'static str, message: String) -> RegistryError {
        RegistryError::Rejected {
            operation,
            code: "ValidationException".to_owned(),
            message,
        }
    }
}

impl ModelRegistry for FakeRegistry {
    async fn describe_package(&self, arn: &str) -> Result<ModelPackage, RegistryError> {
        self.recorder.enter("describe_package").await?;
        self.package(arn).ok_or_else(|| RegistryError::NotFound {
            resource: arn.to_owned(),
        })
    }

    async fn list_groups(&self) -> Result<Vec<PackageGroupSummary>, RegistryError> {
        let groups: Vec<PackageGroupSummary> = lock(&self.state)
            .groups
            .iter()
            .map(|(name, group)| PackageGroupSummary {
                name: name.clone(),
                arn: group.arn.clone(),
                description: group.description.clone(),
                status: Some("Completed".to_owned()),
                creation_time: group.creation_time,
            })
            .collect();
        self.recorder
            .enter_pages("list_groups", self.pages_for(groups.len()))
            .await?;
        Ok(groups)
    }

    async fn list_packages(&self, group_name: &str) -> Result<Vec<PackageSummary>, RegistryError> {
        let packages: Vec<PackageSummary> = lock(&self.state)
            .packages
            .values()
            .filter(|package| package.group_name.as_deref() == Some(group_name))
            .map(|package| PackageSummary {
                arn: package.arn.clone(),
                group_name: package.group_name.clone(),
                version: package.version,
                status: package.status.clone(),
                approval_status: package.approval_status,
                creation_time: package.creation_time,
            })
            .collect();
        self.recorder
            .enter_pages("list_packages", self.pages_for(packages.len()))
            .await?;
        Ok(packages)
    }

    async fn update_package(&self, update: &PackageUpdate) -> Result<(), RegistryError> {
        update.validate()?;
        self.recorder.enter("update_package").await?;
        let mut state = lock(&self.state);
        let package =
            state
                .packages
                .get_mut(&update.arn)
                .ok_or_else(|| RegistryError::NotFound {
                    resource: update.arn.clone(),
                })?;
        let mut metadata = package.customer_metadata.clone();
        metadata.extend(update.metadata_to_set.clone());
        for key in &update.metadata_to_remove {
            metadata.remove(key);
        }
        if metadata.len() > MAX_METADATA_ENTRIES {
            return Err(Self::rejected(
                "UpdateModelPackage",
                format!("{} metadata entries after merge", metadata.len()),
            ));
        }
        package.customer_metadata = metadata;
        if let Some(status) = update.approval_status {
            package.approval_status = Some(status);
        }
        if let Some(description) = &update.approval_description {
            package.approval_description = Some(description.clone());
        }
        if let Some(lifecycle) = &update.lifecycle {
            package.lifecycle = Some(lifecycle.clone());
        }
        package.last_modified_time = Some(Utc::now());
        Ok(())
    }

    async fn create_group(&self, group: &NewPackageGroup) -> Result<String, RegistryError> {
        group.validate()?;
        self.recorder.enter("create_group").await?;
        let arn = self.group_arn(&group.name);
        let mut state = lock(&self.state);
        if state.groups.contains_key(&group.name) {
            return Err(Self::rejected(
                "CreateModelPackageGroup",
                format!("Model Package Group {} already exists", group.name),
            ));
        }
        state.groups.insert(
            group.name.clone(),
            FakeGroup {
                arn: arn.clone(),
                description: group.description.clone(),
                tags: group.tags.clone(),
                policy: None,
                creation_time: Some(Utc::now()),
            },
        );
        Ok(arn)
    }

    async fn delete_package(&self, arn: &str) -> Result<(), RegistryError> {
        self.recorder.enter("delete_package").await?;
        match lock(&self.state).packages.remove(arn) {
            Some(_) => Ok(()),
            None => Err(RegistryError::NotFound {
                resource: arn.to_owned(),
            }),
        }
    }

    async fn delete_group(&self, group_name: &str) -> Result<(), RegistryError> {
        self.recorder.enter("delete_group").await?;
        let mut state = lock(&self.state);
        let has_packages = state
            .packages
            .values()
            .any(|package| package.group_name.as_deref() == Some(group_name));
        if has_packages {
            return Err(RegistryError::Conflict {
                operation: "DeleteModelPackageGroup",
                message: format!("group {group_name} still has model packages"),
            });
        }
        match state.groups.remove(group_name) {
            Some(_) => Ok(()),
            None => Err(RegistryError::NotFound {
                resource: group_name.to_owned(),
            }),
        }
    }

    async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>, RegistryError> {
        self.recorder.enter("list_tags").await?;
        let state = lock(&self.state);
        if let Some(group) = state.groups.values().find(|group| group.arn == arn) {
            return Ok(group.tags.clone().into_iter().collect());
        }
        if state.packages.contains_key(arn) {
            return Ok(Vec::new());
        }
        if let Some(tags) = state.resource_tags.get(arn) {
            return Ok(tags.clone().into_iter().collect());
        }
        Err(RegistryError::NotFound {
            resource: arn.to_owned(),
        })
    }

    async fn put_group_policy(&self, group_name: &str, policy: &str) -> Result<(), RegistryError> {
        self.recorder.enter("put_group_policy").await?;
        let mut state = lock(&self.state);
        let group = state
            .groups
            .get_mut(group_name)
            .ok_or_else(|| RegistryError::NotFound {
                resource: group_name.to_owned(),
            })?;
        group.policy = Some(policy.to_owned());
        Ok(())
    }

    async fn get_group_policy(&self, group_name: &str) -> Result<Option<String>, RegistryError> {
        self.recorder.enter("get_group_policy").await?;
        Ok(lock(&self.state)
            .groups
            .get(group_name)
            .and_then(|group| group.policy.clone()))
    }

    async fn delete_group_policy(&self, group_name: &str) -> Result<(), RegistryError> {
        self.recorder.enter("delete_group_policy").await?;
        if let Some(group) = lock(&self.state).groups.get_mut(group_name) {
            group.policy = None;
        }
        Ok(())
    }
}

/// A package as SageMaker registers it: version `version` of `group`, pending approval.
pub fn registered_package(registry: &FakeRegistry, group: &str, version: i32) -> ModelPackage {
    let now = Utc::now();
    ModelPackage {
        arn: registry.package_arn(group, version),
        group_name: Some(group.to_owned()),
        version: Some(version),
        status: Some("Completed".to_owned()),
        approval_status: Some(ApprovalStatus::PendingManualApproval),
        creation_time: Some(now),
        last_modified_time: Some(now),
        ..ModelPackage::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Stores

#[derive(Debug, Clone, PartialEq)]
enum FakeRecord {
    InProgress {
        expiration: i64,
        deadline_ms: i64,
    },
    Completed {
        expiration: i64,
        data: serde_json::Value,
    },
}

/// The idempotency protocol in memory (same rules as the DynamoDB store).
#[derive(Debug)]
pub struct FakeIdempotencyStore {
    record_ttl: Duration,
    records: Mutex<HashMap<String, FakeRecord>>,
    recorder: Recorder<StoreError>,
}

impl Default for FakeIdempotencyStore {
    fn default() -> Self {
        Self {
            record_ttl: crate::dynamodb::DEFAULT_RECORD_TTL,
            records: Mutex::new(HashMap::new()),
            recorder: Recorder::default(),
        }
    }
}

impl FakeIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(StoreError);

    fn expiration_at(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp()
            .saturating_add(i64::try_from(self.record_ttl.as_secs()).unwrap_or(i64::MAX))
    }

    /// Whether a completed record is stored for `key`.
    pub fn is_completed(&self, key: &str) -> bool {
        matches!(
            lock(&self.records).get(key),
            Some(FakeRecord::Completed { .. })
        )
    }

    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IdempotencyStore for FakeIdempotencyStore {
    async fn begin(
        &self,
        key: &str,
        now: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError> {
        self.recorder.enter("begin").await?;
        let mut records = lock(&self.records);
        let live = match records.get(key) {
            None => None,
            Some(FakeRecord::Completed { expiration, .. }) if *expiration < now.timestamp() => None,
            Some(FakeRecord::InProgress {
                expiration,
                deadline_ms,
            }) if *expiration < now.timestamp() || *deadline_ms < now.timestamp_millis() => None,
            Some(FakeRecord::Completed { data, .. }) => {
                Some(IdempotencyBegin::AlreadyCompleted(data.clone()))
            }
            Some(FakeRecord::InProgress { .. }) => Some(IdempotencyBegin::InProgress),
        };
        if let Some(outcome) = live {
            return Ok(outcome);
        }
        records.insert(
            key.to_owned(),
            FakeRecord::InProgress {
                expiration: self.expiration_at(now),
                deadline_ms: in_progress_until.timestamp_millis(),
            },
        );
        Ok(IdempotencyBegin::Started)
    }

    async fn complete(
        &self,
        key: &str,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recorder.enter("complete").await?;
        lock(&self.records).insert(
            key.to_owned(),
            FakeRecord::Completed {
                expiration: self.expiration_at(now),
                data: result.clone(),
            },
        );
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.recorder.enter("release").await?;
        lock(&self.records).remove(key);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct LinkState {
    by_arn: HashMap<(String, LinkKind), Link>,
    by_id: HashMap<GovernanceId, Link>,
    revisions: HashMap<LinkEnd, u64>,
    ledger: HashMap<OurWrite, i64>,
    tombstones: HashMap<String, Tombstone>,
}

/// Links, revisions and the our-write ledger in memory.
#[derive(Debug, Default)]
pub struct FakeLinkStore {
    state: Mutex<LinkState>,
    recorder: Recorder<StoreError>,
}

impl FakeLinkStore {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(StoreError);

    pub fn links(&self) -> Vec<Link> {
        lock(&self.state).by_id.values().cloned().collect()
    }

    pub fn ledger_len(&self) -> usize {
        lock(&self.state).ledger.len()
    }
}

impl LinkStore for FakeLinkStore {
    async fn put_link(&self, link: &Link) -> Result<(), StoreError> {
        self.recorder.enter("put_link").await?;
        let mut state = lock(&self.state);
        state
            .by_arn
            .insert((link.arn.clone(), link.kind), link.clone());
        state.by_id.insert(link.governance_id.clone(), link.clone());
        Ok(())
    }

    async fn link_by_arn(&self, kind: LinkKind, arn: &str) -> Result<Option<Link>, StoreError> {
        self.recorder.enter("link_by_arn").await?;
        Ok(lock(&self.state)
            .by_arn
            .get(&(arn.to_owned(), kind))
            .cloned())
    }

    async fn link_by_governance_id(&self, id: &GovernanceId) -> Result<Option<Link>, StoreError> {
        self.recorder.enter("link_by_governance_id").await?;
        Ok(lock(&self.state).by_id.get(id).cloned())
    }

    async fn advance_applied_revision(
        &self,
        end: &LinkEnd,
        revision: u64,
    ) -> Result<RevisionOutcome, StoreError> {
        self.recorder.enter("advance_applied_revision").await?;
        let mut state = lock(&self.state);
        match state.revisions.get(end) {
            Some(applied) if *applied >= revision => {
                Ok(RevisionOutcome::Stale { applied: *applied })
            }
            _ => {
                state.revisions.insert(end.clone(), revision);
                Ok(RevisionOutcome::Advanced)
            }
        }
    }

    async fn applied_revision(&self, end: &LinkEnd) -> Result<Option<u64>, StoreError> {
        self.recorder.enter("applied_revision").await?;
        Ok(lock(&self.state).revisions.get(end).copied())
    }

    async fn record_our_write(
        &self,
        write: &OurWrite,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recorder.enter("record_our_write").await?;
        lock(&self.state)
            .ledger
            .insert(write.clone(), expires_at.timestamp());
        Ok(())
    }

    async fn is_our_write(&self, write: &OurWrite, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.recorder.enter("is_our_write").await?;
        Ok(lock(&self.state)
            .ledger
            .get(write)
            .is_some_and(|expiration| *expiration >= now.timestamp()))
    }

    async fn consume_our_write(
        &self,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.recorder.enter("consume_our_write").await?;
        Ok(lock(&self.state)
            .ledger
            .remove(write)
            .is_some_and(|expiration| expiration >= now.timestamp()))
    }

    async fn put_tombstone(&self, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.recorder.enter("put_tombstone").await?;
        lock(&self.state)
            .tombstones
            .insert(tombstone.arn.clone(), tombstone.clone());
        Ok(())
    }

    async fn tombstone(&self, arn: &str) -> Result<Option<Tombstone>, StoreError> {
        self.recorder.enter("tombstone").await?;
        Ok(lock(&self.state).tombstones.get(arn).cloned())
    }
}

/// A dead-letter queue in memory: keeps what was quarantined, in order.
#[derive(Debug, Default)]
pub struct FakeQuarantine {
    messages: Mutex<Vec<QuarantinedMessage>>,
    recorder: Recorder<QuarantineError>,
}

impl FakeQuarantine {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(QuarantineError);

    pub fn messages(&self) -> Vec<QuarantinedMessage> {
        lock(&self.messages).clone()
    }
}

impl Quarantine for FakeQuarantine {
    async fn quarantine(&self, message: &QuarantinedMessage) -> Result<(), QuarantineError> {
        self.recorder.enter("quarantine").await?;
        lock(&self.messages).push(message.clone());
        Ok(())
    }
}

/// Poll cursors in memory.
#[derive(Debug, Default)]
pub struct FakeCursorStore {
    watermarks: Mutex<HashMap<String, DateTime<Utc>>>,
    checkpoints: Mutex<HashMap<String, String>>,
    recorder: Recorder<StoreError>,
}

impl FakeCursorStore {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(StoreError);
}

impl CursorStore for FakeCursorStore {
    async fn get_watermark(&self, cursor: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.recorder.enter("get_watermark").await?;
        Ok(lock(&self.watermarks).get(cursor).copied())
    }

    async fn put_watermark(
        &self,
        cursor: &str,
        watermark: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recorder.enter("put_watermark").await?;
        lock(&self.watermarks).insert(cursor.to_owned(), watermark);
        Ok(())
    }
}

/// Checkpoints in memory (the same fake holds the watermarks and the checkpoints, as the table does).
impl CheckpointStore for FakeCursorStore {
    async fn get_checkpoint(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.recorder.enter("get_checkpoint").await?;
        Ok(lock(&self.checkpoints).get(id).cloned())
    }

    async fn put_checkpoint(&self, id: &str, document: &str) -> Result<(), StoreError> {
        self.recorder.enter("put_checkpoint").await?;
        lock(&self.checkpoints).insert(id.to_owned(), document.to_owned());
        Ok(())
    }

    async fn delete_checkpoint(&self, id: &str) -> Result<(), StoreError> {
        self.recorder.enter("delete_checkpoint").await?;
        lock(&self.checkpoints).remove(id);
        Ok(())
    }
}

/// Collects sent emails.
#[derive(Debug, Default)]
pub struct FakeNotifier {
    sent: Mutex<Vec<Email>>,
    recorder: Recorder<NotifyError>,
}

impl FakeNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(NotifyError);

    pub fn sent(&self) -> Vec<Email> {
        lock(&self.sent).clone()
    }
}

impl Notifier for FakeNotifier {
    async fn send(&self, email: &Email) -> Result<String, NotifyError> {
        self.recorder.enter("send").await?;
        if email.to.is_empty() {
            return Err(NotifyError::Invalid("no recipients".to_owned()));
        }
        let mut sent = lock(&self.sent);
        sent.push(email.clone());
        Ok(format!("fake-message-{}", sent.len()))
    }
}

/// Collects enqueued messages, with SQS FIFO's deduplication: a second send with a deduplication id
/// already accepted is acknowledged and dropped (the fake's window never closes).
#[derive(Debug, Default)]
pub struct FakeMessageQueue {
    accepted: Mutex<Vec<govsync_core::ports::OutgoingMessage>>,
    recorder: Recorder<govsync_core::ports::QueueError>,
}

impl FakeMessageQueue {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(govsync_core::ports::QueueError);

    /// The messages the queue holds, in send order (duplicates dropped).
    pub fn messages(&self) -> Vec<govsync_core::ports::OutgoingMessage> {
        lock(&self.accepted).clone()
    }
}

impl govsync_core::ports::MessageQueue for FakeMessageQueue {
    async fn send(
        &self,
        message: &govsync_core::ports::OutgoingMessage,
    ) -> Result<(), govsync_core::ports::QueueError> {
        self.recorder.enter("send").await?;
        let mut accepted = lock(&self.accepted);
        if !accepted
            .iter()
            .any(|held| held.deduplication_id == message.deduplication_id)
        {
            accepted.push(message.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[tokio::test]
    async fn fake_registry_merges_metadata_like_sagemaker() {
        let registry = FakeRegistry::new("123456789012", "us-east-1");
        let mut package = registered_package(&registry, "credit-risk", 1);
        package
            .customer_metadata
            .insert("keep".to_owned(), "1".to_owned());
        package
            .customer_metadata
            .insert("drop".to_owned(), "2".to_owned());
        registry.put_package(package.clone());
        registry
            .update_package(&PackageUpdate {
                arn: package.arn.clone(),
                metadata_to_set: BTreeMap::from([("new".to_owned(), "3".to_owned())]),
                metadata_to_remove: vec!["drop".to_owned()],
                ..PackageUpdate::default()
            })
            .await
            .unwrap();
        let updated = registry.describe_package(&package.arn).await.unwrap();
        let keys: Vec<_> = updated.customer_metadata.keys().cloned().collect();
        assert_eq!(keys, ["keep", "new"]);
        assert_eq!(registry.calls(), ["update_package", "describe_package"]);
        assert!(
            registry
                .describe_package(&registry.package_arn("credit-risk", 9))
                .await
                .unwrap_err()
                .is_not_found()
        );
    }

    #[tokio::test]
    async fn fake_idempotency_follows_the_protocol() {
        let store = FakeIdempotencyStore::new();
        let now = Utc::now();
        let deadline = now + TimeDelta::seconds(10);
        assert_eq!(
            store.begin("k", now, deadline).await.unwrap(),
            IdempotencyBegin::Started
        );
        assert_eq!(
            store.begin("k", now, deadline).await.unwrap(),
            IdempotencyBegin::InProgress
        );
        let after_deadline = now + TimeDelta::seconds(11);
        assert_eq!(
            store
                .begin("k", after_deadline, after_deadline)
                .await
                .unwrap(),
            IdempotencyBegin::Started
        );
        store
            .complete("k", &serde_json::json!(1), now)
            .await
            .unwrap();
        assert_eq!(
            store.begin("k", now, deadline).await.unwrap(),
            IdempotencyBegin::AlreadyCompleted(serde_json::json!(1))
        );
    }

    #[tokio::test]
    async fn injected_failures_are_served_once_in_order() {
        let governance = FakeGovernance::new();
        governance.fail_next(
            "get_object",
            GovernanceError::Status {
                operation: "get object",
                status: 503,
                body: String::new(),
            },
        );
        let object = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: "m".to_owned(),
            description: None,
            parent_id: None,
            fields: vec![Field::text(EXTERNAL_ID_FIELD, "arn:x")],
        });
        assert!(
            governance
                .get_object(&object.id)
                .await
                .unwrap_err()
                .is_retryable()
        );
        assert_eq!(
            governance.get_object(&object.id).await.unwrap().id,
            object.id
        );
        assert!(matches!(
            governance
                .find_by_external_id(GovernanceKind::Model, "arn:x")
                .await
                .unwrap(),
            ExternalIdLookup::Found(_)
        ));
    }
}
