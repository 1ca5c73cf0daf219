//! The in-memory Model Registry: one registry per (account, region), the operations with SageMaker's
//! semantics, and the events each change publishes. Pure and synchronous; the server wraps it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::container;
use crate::error::ApiError;
use crate::events::{self, ApiCall, Caller, Event};
use crate::policy;
use crate::validate::{self, ModelCard, ModelLifeCycle, ModelLifeCycleInput, Tag};
use crate::wire::{self, epoch_seconds, rfc3339_millis, sortable_millis};

/// The SageMaker operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateModelPackageGroup,
    DescribeModelPackageGroup,
    ListModelPackageGroups,
    DeleteModelPackageGroup,
    CreateModelPackage,
    DescribeModelPackage,
    BatchDescribeModelPackage,
    ListModelPackages,
    UpdateModelPackage,
    DeleteModelPackage,
    PutModelPackageGroupPolicy,
    GetModelPackageGroupPolicy,
    DeleteModelPackageGroupPolicy,
    AddTags,
    ListTags,
    DeleteTags,
    CreateModel,
    DescribeModel,
    DeleteModel,
    CreateEndpointConfig,
    DescribeEndpointConfig,
    DeleteEndpointConfig,
    CreateEndpoint,
    DescribeEndpoint,
    DeleteEndpoint,
    ListEndpoints,
}

impl Operation {
    const ALL: [Operation; 26] = [
        Operation::CreateModelPackageGroup,
        Operation::DescribeModelPackageGroup,
        Operation::ListModelPackageGroups,
        Operation::DeleteModelPackageGroup,
        Operation::CreateModelPackage,
        Operation::DescribeModelPackage,
        Operation::BatchDescribeModelPackage,
        Operation::ListModelPackages,
        Operation::UpdateModelPackage,
        Operation::DeleteModelPackage,
        Operation::PutModelPackageGroupPolicy,
        Operation::GetModelPackageGroupPolicy,
        Operation::DeleteModelPackageGroupPolicy,
        Operation::AddTags,
        Operation::ListTags,
        Operation::DeleteTags,
        Operation::CreateModel,
        Operation::DescribeModel,
        Operation::DeleteModel,
        Operation::CreateEndpointConfig,
        Operation::DescribeEndpointConfig,
        Operation::DeleteEndpointConfig,
        Operation::CreateEndpoint,
        Operation::DescribeEndpoint,
        Operation::DeleteEndpoint,
        Operation::ListEndpoints,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateModelPackageGroup => "CreateModelPackageGroup",
            Operation::DescribeModelPackageGroup => "DescribeModelPackageGroup",
            Operation::ListModelPackageGroups => "ListModelPackageGroups",
            Operation::DeleteModelPackageGroup => "DeleteModelPackageGroup",
            Operation::CreateModelPackage => "CreateModelPackage",
            Operation::DescribeModelPackage => "DescribeModelPackage",
            Operation::BatchDescribeModelPackage => "BatchDescribeModelPackage",
            Operation::ListModelPackages => "ListModelPackages",
            Operation::UpdateModelPackage => "UpdateModelPackage",
            Operation::DeleteModelPackage => "DeleteModelPackage",
            Operation::PutModelPackageGroupPolicy => "PutModelPackageGroupPolicy",
            Operation::GetModelPackageGroupPolicy => "GetModelPackageGroupPolicy",
            Operation::DeleteModelPackageGroupPolicy => "DeleteModelPackageGroupPolicy",
            Operation::AddTags => "AddTags",
            Operation::ListTags => "ListTags",
            Operation::DeleteTags => "DeleteTags",
            Operation::CreateModel => "CreateModel",
            Operation::DescribeModel => "DescribeModel",
            Operation::DeleteModel => "DeleteModel",
            Operation::CreateEndpointConfig => "CreateEndpointConfig",
            Operation::DescribeEndpointConfig => "DescribeEndpointConfig",
            Operation::DeleteEndpointConfig => "DeleteEndpointConfig",
            Operation::CreateEndpoint => "CreateEndpoint",
            Operation::DescribeEndpoint => "DescribeEndpoint",
            Operation::DeleteEndpoint => "DeleteEndpoint",
            Operation::ListEndpoints => "ListEndpoints",
        }
    }

    /// From the `X-Amz-Target` header (`SageMaker.<Operation>`).
    pub fn from_target(target: &str) -> Result<Self, ApiError> {
        let name = target.strip_prefix("SageMaker.").ok_or_else(|| {
            ApiError::UnknownOperation(format!(
                "X-Amz-Target {target:?} is not a SageMaker operation"
            ))
        })?;
        Self::ALL
            .into_iter()
            .find(|operation| operation.name() == name)
            .ok_or_else(|| {
                ApiError::UnknownOperation(format!(
                    "Operation {name} is not supported by the registry emulator"
                ))
            })
    }

    /// The mutating calls CloudTrail reports to EventBridge (govsync listens to the registry's; the
    /// hosting ones are recorded as CloudTrail records every management write).
    pub fn recorded_by_cloudtrail(self) -> bool {
        matches!(
            self,
            Operation::CreateModelPackageGroup
                | Operation::DeleteModelPackageGroup
                | Operation::CreateModelPackage
                | Operation::UpdateModelPackage
                | Operation::DeleteModelPackage
                | Operation::PutModelPackageGroupPolicy
                | Operation::DeleteModelPackageGroupPolicy
                | Operation::CreateModel
                | Operation::DeleteModel
                | Operation::CreateEndpointConfig
                | Operation::DeleteEndpointConfig
                | Operation::CreateEndpoint
                | Operation::DeleteEndpoint
        )
    }
}

/// Everything about a request that is not its body.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub caller: Caller,
    pub region: String,
    pub user_agent: String,
    pub request_id: String,
}

/// A successful call: the response body and the events to publish, in order.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub response: Value,
    pub events: Vec<Event>,
}

impl Outcome {
    fn quiet(response: Value) -> Self {
        Self {
            response,
            events: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    arn: String,
    description: Option<String>,
    creation_time: DateTime<Utc>,
    created_by: Value,
    tags: Vec<Tag>,
    policy: Option<String>,
    /// AWS RAM shares naming the group: share ARN → the principals it shares with.
    ram_shares: BTreeMap<String, Vec<String>>,
    last_version: u32,
    managed_configuration: Option<Value>,
}

impl Group {
    fn describe(&self) -> Value {
        let mut out = self.summary();
        if let Value::Object(fields) = &mut out {
            fields.insert("CreatedBy".into(), self.created_by.clone());
        }
        out
    }

    fn summary(&self) -> Value {
        let mut out = Map::new();
        out.insert("ModelPackageGroupName".into(), json!(self.name));
        out.insert("ModelPackageGroupArn".into(), json!(self.arn));
        if let Some(description) = &self.description {
            out.insert("ModelPackageGroupDescription".into(), json!(description));
        }
        out.insert("CreationTime".into(), epoch_seconds(self.creation_time));
        out.insert("ModelPackageGroupStatus".into(), json!("Completed"));
        if let Some(managed) = &self.managed_configuration {
            out.insert("ManagedConfiguration".into(), managed.clone());
        }
        Value::Object(out)
    }
}

/// Create-time members kept and described back as they were sent.
const PASSTHROUGH_MEMBERS: &[&str] = &[
    "ModelPackageRegistrationType",
    "ValidationSpecification",
    "SourceAlgorithmSpecification",
    "CertifyForMarketplace",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "DriftCheckBaselines",
    "AdditionalInferenceSpecifications",
    "SkipModelValidation",
    "SourceUri",
    "SecurityConfig",
    "ManagedStorageType",
];

#[derive(Debug, Clone)]
struct Package {
    group_name: String,
    version: u32,
    arn: String,
    description: Option<String>,
    creation_time: DateTime<Utc>,
    last_modified_time: DateTime<Utc>,
    created_by: Value,
    last_modified_by: Value,
    approval_status: String,
    approval_description: Option<String>,
    inference_specification: Option<Value>,
    model_metrics: Option<Value>,
    metadata_properties: Option<Value>,
    customer_metadata: BTreeMap<String, String>,
    life_cycle: Option<ModelLifeCycle>,
    model_card: Option<ModelCard>,
    tags: Vec<Tag>,
    passthrough: Map<String, Value>,
    update_tokens: HashSet<String>,
}

impl Package {
    /// The DescribeModelPackage members shared by the API answer and the state-change detail.
    fn snapshot(
        &self,
        status: &str,
        last_modified: DateTime<Utc>,
        time: fn(DateTime<Utc>) -> Value,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("ModelPackageGroupName".into(), json!(self.group_name));
        out.insert("ModelPackageVersion".into(), json!(self.version));
        out.insert("ModelPackageArn".into(), json!(self.arn));
        if let Some(description) = &self.description {
            out.insert("ModelPackageDescription".into(), json!(description));
        }
        out.insert("CreationTime".into(), time(self.creation_time));
        if let Some(spec) = &self.inference_specification {
            out.insert("InferenceSpecification".into(), spec.clone());
        }
        out.insert("ModelPackageStatus".into(), json!(status));
        out.insert(
            "ModelPackageStatusDetails".into(),
            json!({"ValidationStatuses": [], "ImageScanStatuses": []}),
        );
        out.insert("ModelApprovalStatus".into(), json!(self.approval_status));
        if let Some(description) = &self.approval_description {
            out.insert("ApprovalDescription".into(), json!(description));
        }
        if let Some(metadata) = &self.metadata_properties {
            out.insert("MetadataProperties".into(), metadata.clone());
        }
        if let Some(metrics) = &self.model_metrics {
            out.insert("ModelMetrics".into(), metrics.clone());
        }
        out.insert("LastModifiedTime".into(), time(last_modified));
        if !self.customer_metadata.is_empty() {
            out.insert(
                "CustomerMetadataProperties".into(),
                json!(self.customer_metadata),
            );
        }
        if let Some(life_cycle) = &self.life_cycle {
            out.insert("ModelLifeCycle".into(), json!(life_cycle));
        }
        if let Some(card) = &self.model_card {
            out.insert("ModelCard".into(), json!(card));
        }
        for (key, value) in &self.passthrough {
            out.insert(key.clone(), value.clone());
        }
        out.entry("CertifyForMarketplace").or_insert(json!(false));
        out
    }

    fn describe(&self) -> Value {
        let mut out = self.snapshot("Completed", self.last_modified_time, epoch_seconds);
        out.insert("ModelPackageName".into(), json!(self.group_name));
        out.insert("CreatedBy".into(), self.created_by.clone());
        out.insert("LastModifiedBy".into(), self.last_modified_by.clone());
        Value::Object(out)
    }

    fn event_detail(&self, status: &str, last_modified: DateTime<Utc>) -> Value {
        Value::Object(self.snapshot(status, last_modified, |t| json!(rfc3339_millis(t))))
    }

    fn summary(&self) -> Value {
        let mut out = Map::new();
        out.insert("ModelPackageName".into(), json!(self.group_name));
        out.insert("ModelPackageGroupName".into(), json!(self.group_name));
        out.insert("ModelPackageVersion".into(), json!(self.version));
        out.insert("ModelPackageArn".into(), json!(self.arn));
        if let Some(description) = &self.description {
            out.insert("ModelPackageDescription".into(), json!(description));
        }
        out.insert("CreationTime".into(), epoch_seconds(self.creation_time));
        out.insert("ModelPackageStatus".into(), json!("Completed"));
        out.insert("ModelApprovalStatus".into(), json!(self.approval_status));
        if let Some(life_cycle) = &self.life_cycle {
            out.insert("ModelLifeCycle".into(), json!(life_cycle));
        }
        if let Some(kind) = self.passthrough.get("ModelPackageRegistrationType") {
            out.insert("ModelPackageRegistrationType".into(), kind.clone());
        }
        Value::Object(out)
    }
}

#[derive(Debug, Clone, Default)]
struct Registry {
    /// Keyed by the lowercased name: ARNs are lowercase, so names differing only in case collide.
    groups: BTreeMap<String, Group>,
    packages: BTreeMap<(String, u32), Package>,
    create_tokens: HashMap<String, String>,
    /// Models, endpoint configurations and endpoints (`hosting`).
    hosting: hosting::Hosting,
}

/// A group named by name or ARN, resolved to the registry holding it.
struct GroupRef {
    account: String,
    key: String,
}

/// A versioned package named by ARN or `group/version`.
struct PackageRef {
    account: String,
    group_key: String,
    version: u32,
}

pub fn group_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{region}:{account}:model-package-group/{}",
        name.to_ascii_lowercase()
    )
}

pub fn package_arn(region: &str, account: &str, group: &str, version: u32) -> String {
    format!(
        "arn:aws:sagemaker:{region}:{account}:model-package/{}/{version}",
        group.to_ascii_lowercase()
    )
}

fn group_missing(name: &str) -> ApiError {
    ApiError::Validation(format!("Model package group {name} does not exist."))
}

fn package_missing(name: &str) -> ApiError {
    ApiError::Validation(format!("Model package {name} does not exist."))
}

/// The parts of a SageMaker ARN: `(region, account, resource)`.
fn split_sagemaker_arn<'a>(
    value: &'a str,
    field: &str,
) -> Result<(&'a str, &'a str, &'a str), ApiError> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "sagemaker", region, account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok((region, account, resource))
        }
        _ => Err(ApiError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must be a SageMaker ARN"
        ))),
    }
}

fn parse_version(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|v| *v >= 1)
}

fn caller_context(ctx: &CallContext) -> Value {
    crate::studio::user_context(&ctx.caller, &ctx.region)
}

pub(crate) fn parse_input<T: DeserializeOwned>(raw: &Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(raw.clone())).map_err(|error| {
        ApiError::Serialization(format!("Cannot deserialize the request: {error}"))
    })
}

/// The request body as a JSON object (an empty body counts as `{}`).
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::Serialization(
            "The request body must be a JSON object".into(),
        )),
        Err(error) => Err(ApiError::Serialization(format!(
            "The request body is not valid JSON: {error}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateModelPackageGroupInput {
    model_package_group_name: Option<String>,
    model_package_group_description: Option<String>,
    tags: Option<Vec<Tag>>,
    managed_configuration: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupNameInput {
    model_package_group_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListModelPackageGroupsInput {
    creation_time_after: Option<Value>,
    creation_time_before: Option<Value>,
    max_results: Option<i64>,
    name_contains: Option<String>,
    next_token: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    cross_account_filter_option: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateModelPackageInput {
    model_package_name: Option<String>,
    model_package_group_name: Option<String>,
    model_package_description: Option<String>,
    inference_specification: Option<Map<String, Value>>,
    model_metrics: Option<Map<String, Value>>,
    metadata_properties: Option<Map<String, Value>>,
    model_approval_status: Option<String>,
    customer_metadata_properties: Option<BTreeMap<String, String>>,
    model_life_cycle: Option<ModelLifeCycleInput>,
    model_card: Option<ModelCard>,
    tags: Option<Vec<Tag>>,
    client_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageNameInput {
    model_package_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListModelPackagesInput {
    creation_time_after: Option<Value>,
    creation_time_before: Option<Value>,
    max_results: Option<i64>,
    name_contains: Option<String>,
    model_approval_status: Option<String>,
    model_package_group_name: Option<String>,
    model_package_type: Option<String>,
    next_token: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateModelPackageInput {
    model_package_arn: Option<String>,
    model_approval_status: Option<String>,
    model_package_registration_type: Option<String>,
    approval_description: Option<String>,
    customer_metadata_properties: Option<BTreeMap<String, String>>,
    customer_metadata_properties_to_remove: Option<Vec<String>>,
    additional_inference_specifications_to_add: Option<Vec<Value>>,
    inference_specification: Option<Map<String, Value>>,
    source_uri: Option<String>,
    model_card: Option<ModelCard>,
    model_life_cycle: Option<ModelLifeCycleInput>,
    client_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutPolicyInput {
    model_package_group_name: Option<String>,
    resource_policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddTagsInput {
    resource_arn: Option<String>,
    tags: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsInput {
    resource_arn: Option<String>,
    max_results: Option<i64>,
    #[allow(dead_code)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteTagsInput {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

fn sort_order(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("Ascending") => Ok(false),
        Some("Descending") => Ok(true),
        Some(other) => Err(ApiError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]"
        ))),
    }
}

fn sort_by_name(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("CreationTime") => Ok(false),
        Some("Name") => Ok(true),
        Some(other) => Err(ApiError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime]"
        ))),
    }
}

fn time_window(
    after: Option<&Value>,
    before: Option<&Value>,
) -> Result<impl Fn(DateTime<Utc>) -> bool, ApiError> {
    let after = after
        .map(|v| wire::parse_timestamp("CreationTimeAfter", v))
        .transpose()?;
    let before = before
        .map(|v| wire::parse_timestamp("CreationTimeBefore", v))
        .transpose()?;
    Ok(move |time: DateTime<Utc>| {
        after.is_none_or(|after| time > after) && before.is_none_or(|before| time < before)
    })
}

/// All registries, and the clock that stamps changes.
#[derive(Debug, Default)]
pub struct Registries {
    registries: HashMap<(String, String), Registry>,
    last_change: Option<DateTime<Utc>>,
    /// AWS RAM resource shares by ARN (see `ram`).
    shares: BTreeMap<String, ram::Share>,
}

impl Registries {
    pub fn reset(&mut self) {
        self.registries.clear();
        self.shares.clear();
    }

    /// Change times: milliseconds (what the wire carries), strictly increasing, so every change gets
    /// a `LastModifiedTime` later than the one before.
    fn tick(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let now = now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now);
        let time = match self.last_change {
            Some(last) if now <= last => last + Duration::milliseconds(1),
            _ => now,
        };
        self.last_change = Some(time);
        time
    }

    fn registry(&mut self, account: &str, region: &str) -> &mut Registry {
        self.registries
            .entry((account.to_owned(), region.to_owned()))
            .or_default()
    }

    /// Serves one API call. On success the registry has changed (if the call changes anything) and
    /// the outcome lists the events to publish.
    pub fn call(
        &mut self,
        ctx: &CallContext,
        operation: Operation,
        body: &[u8],
    ) -> Result<Outcome, ApiError> {
        let raw = parse_body(body)?;
        match operation {
            Operation::CreateModelPackageGroup => self.create_group(ctx, &raw),
            Operation::DescribeModelPackageGroup => self.describe_group(ctx, &raw),
            Operation::ListModelPackageGroups => self.list_groups(ctx, &raw),
            Operation::DeleteModelPackageGroup => self.delete_group(ctx, &raw),
            Operation::CreateModelPackage => self.create_package(ctx, &raw),
            Operation::DescribeModelPackage => self.describe_package(ctx, &raw),
            Operation::BatchDescribeModelPackage => self.batch_describe_packages(ctx, &raw),
            Operation::ListModelPackages => self.list_packages(ctx, &raw),
            Operation::UpdateModelPackage => self.update_package(ctx, &raw),
            Operation::DeleteModelPackage => self.delete_package(ctx, &raw),
            Operation::PutModelPackageGroupPolicy => self.put_policy(ctx, &raw),
            Operation::GetModelPackageGroupPolicy => self.get_policy(ctx, &raw),
            Operation::DeleteModelPackageGroupPolicy => self.delete_policy(ctx, &raw),
            Operation::AddTags => self.add_tags(ctx, &raw),
            Operation::ListTags => self.list_tags(ctx, &raw),
            Operation::DeleteTags => self.delete_tags(ctx, &raw),
            Operation::CreateModel => self.create_model(ctx, &raw),
            Operation::DescribeModel => self.describe_model(ctx, &raw),
            Operation::DeleteModel => self.delete_model(ctx, &raw),
            Operation::CreateEndpointConfig => self.create_endpoint_config(ctx, &raw),
            Operation::DescribeEndpointConfig => self.describe_endpoint_config(ctx, &raw),
            Operation::DeleteEndpointConfig => self.delete_endpoint_config(ctx, &raw),
            Operation::CreateEndpoint => self.create_endpoint(ctx, &raw),
            Operation::DescribeEndpoint => self.describe_endpoint(ctx, &raw),
            Operation::DeleteEndpoint => self.delete_endpoint(ctx, &raw),
            Operation::ListEndpoints => self.list_endpoints(ctx, &raw),
        }
    }

    /// CloudTrail's record of a failed mutating call (it carries `errorCode`; consumers skip it).
    pub fn failed_call_event(
        &mut self,
        ctx: &CallContext,
        operation: Operation,
        body: &[u8],
        error: &ApiError,
    ) -> Option<Event> {
        if !operation.recorded_by_cloudtrail() {
            return None;
        }
        let request = parse_body(body).unwrap_or_default();
        let time = self.tick();
        let call = api_call(ctx, operation, time, &request);
        Some(events::cloudtrail(
            &call,
            Err((error.code(), error.to_string())),
        ))
    }

    /// A call into another account's registry is IAM cross-account access: it goes through only where the
    /// group's resource policy allows the caller and the action (see `policy`). Within the caller's own
    /// account identity policies decide, and the emulator models none (everything is allowed). A group
    /// of another account that does not exist is refused the same way: IAM decides before SageMaker
    /// looks the resource up, so a caller cannot probe another account's names.
    fn authorize(
        &self,
        ctx: &CallContext,
        owner: &str,
        group_key: &str,
        operation: Operation,
        package_arn: Option<&str>,
    ) -> Result<(), ApiError> {
        if owner == ctx.caller.account {
            return Ok(());
        }
        let group = self
            .registries
            .get(&(owner.to_owned(), ctx.region.clone()))
            .and_then(|registry| registry.groups.get(group_key));
        let group_arn = group.map_or_else(
            || group_arn(&ctx.region, owner, group_key),
            |group| group.arn.clone(),
        );
        let action = format!("sagemaker:{}", operation.name());
        let mut resources: Vec<&str> = package_arn.into_iter().collect();
        resources.push(&group_arn);
        let request = policy::Request {
            caller_arn: &ctx.caller.arn,
            caller_account: &ctx.caller.account,
            action: &action,
            resources: &resources,
        };
        let allowed = group.is_some_and(|group| {
            let by_policy = group
                .policy
                .as_deref()
                .is_some_and(|text| policy::allows(text, &request));
            // A RAM share is backed by a resource policy of its own ("Set up discoverability").
            let by_share = group.ram_shares.values().any(|principals| {
                let pattern = format!(
                    "arn:aws:sagemaker:{}:{owner}:model-package/{}/*",
                    ctx.region,
                    group.name.to_ascii_lowercase()
                );
                policy::allows(
                    &policy::ram_share_policy(&group.arn, &pattern, principals),
                    &request,
                )
            });
            by_policy || by_share
        });
        if allowed {
            return Ok(());
        }
        Err(ApiError::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {} because no resource-based policy allows the {action} action",
            ctx.caller.arn, resources[0]
        )))
    }

    fn resolve_group(
        &self,
        ctx: &CallContext,
        value: &str,
        field: &str,
    ) -> Result<GroupRef, ApiError> {
        if value.starts_with("arn:") {
            let (region, account, resource) = split_sagemaker_arn(value, field)?;
            let name = resource
                .strip_prefix("model-package-group/")
                .filter(|name| validate::is_entity_name(name))
                .ok_or_else(|| {
                    ApiError::Validation(format!(
                        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must be a model package group ARN"
                    ))
                })?;
            if region != ctx.region {
                return Err(group_missing(value));
            }
            return Ok(GroupRef {
                account: account.to_owned(),
                key: name.to_ascii_lowercase(),
            });
        }
        validate::entity_name(value, field)?;
        Ok(GroupRef {
            account: ctx.caller.account.clone(),
            key: value.to_ascii_lowercase(),
        })
    }

    fn resolve_package(
        &self,
        ctx: &CallContext,
        value: &str,
        field: &str,
        arn_only: bool,
    ) -> Result<PackageRef, ApiError> {
        let (account, path) = if value.starts_with("arn:") {
            let (region, account, resource) = split_sagemaker_arn(value, field)?;
            let path = resource.strip_prefix("model-package/").ok_or_else(|| {
                ApiError::Validation(format!(
                    "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must be a model package ARN"
                ))
            })?;
            if region != ctx.region {
                return Err(package_missing(value));
            }
            (account.to_owned(), path)
        } else if arn_only {
            return Err(ApiError::Validation(format!(
                "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]{{9,16}}:[0-9]{{12}}:model-package/[\\S]{{1,2048}}"
            )));
        } else {
            (ctx.caller.account.clone(), value)
        };
        // `group/version` names a version; a bare name would be an unversioned package, which the
        // emulator never holds.
        match path.split_once('/') {
            Some((group, version)) if validate::is_entity_name(group) => {
                match parse_version(version) {
                    Some(version) => Ok(PackageRef {
                        account,
                        group_key: group.to_ascii_lowercase(),
                        version,
                    }),
                    None => Err(package_missing(value)),
                }
            }
            None if validate::is_entity_name(path) => Err(package_missing(value)),
            _ => Err(ApiError::Validation(format!(
                "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{{12}}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){{0,62}})(?<!-)(\\/[0-9]{{1,9}})?"
            ))),
        }
    }

    fn create_group(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: CreateModelPackageGroupInput = parse_input(raw)?;
        let name = validate::required(input.model_package_group_name, "modelPackageGroupName")?;
        validate::entity_name(&name, "modelPackageGroupName")?;
        if let Some(description) = &input.model_package_group_description {
            validate::max_len(
                description,
                "modelPackageGroupDescription",
                validate::MAX_DESCRIPTION,
            )?;
        }
        let tags = input.tags.unwrap_or_default();
        validate::tags(&tags)?;
        let time = self.tick();
        let account = ctx.caller.account.clone();
        let arn = group_arn(&ctx.region, &account, &name);
        let registry = self.registry(&account, &ctx.region);
        let key = name.to_ascii_lowercase();
        if registry.groups.contains_key(&key) {
            return Err(ApiError::Validation(format!(
                "Model Package Group already exists: {arn}"
            )));
        }
        registry.groups.insert(
            key,
            Group {
                name,
                arn: arn.clone(),
                description: input.model_package_group_description,
                creation_time: time,
                created_by: caller_context(ctx),
                tags,
                policy: None,
                ram_shares: BTreeMap::new(),
                last_version: 0,
                managed_configuration: input.managed_configuration.map(Value::Object),
            },
        );
        let call = api_call(ctx, Operation::CreateModelPackageGroup, time, raw);
        Ok(Outcome {
            response: json!({ "ModelPackageGroupArn": arn }),
            events: vec![events::cloudtrail(
                &call,
                Ok(Some(json!({ "modelPackageGroupArn": arn }))),
            )],
        })
    }

    fn find_group(
        &mut self,
        ctx: &CallContext,
        name: &str,
        field: &str,
        operation: Operation,
    ) -> Result<&mut Group, ApiError> {
        let group = self.resolve_group(ctx, name, field)?;
        self.authorize(ctx, &group.account, &group.key, operation, None)?;
        self.registry(&group.account, &ctx.region)
            .groups
            .get_mut(&group.key)
            .ok_or_else(|| group_missing(name))
    }

    fn describe_group(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: GroupNameInput = parse_input(raw)?;
        let name = validate::required(input.model_package_group_name, "modelPackageGroupName")?;
        let group = self.find_group(
            ctx,
            &name,
            "modelPackageGroupName",
            Operation::DescribeModelPackageGroup,
        )?;
        Ok(Outcome::quiet(group.describe()))
    }

    fn list_groups(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: ListModelPackageGroupsInput = parse_input(raw)?;
        let max = wire::max_results(input.max_results, 1, 100)?;
        let descending = sort_order(input.sort_order.as_deref())?;
        let by_name = sort_by_name(input.sort_by.as_deref())?;
        if let Some(option) = &input.cross_account_filter_option {
            validate::one_of(
                option,
                "crossAccountFilterOption",
                &["SameAccount", "CrossAccount"],
            )?;
        }
        let in_window = time_window(
            input.creation_time_after.as_ref(),
            input.creation_time_before.as_ref(),
        )?;
        let needle = input.name_contains.unwrap_or_default().to_ascii_lowercase();
        let cursor = move |(key, group): &(String, Group)| {
            if by_name {
                format!("{key} {}", sortable_millis(group.creation_time))
            } else {
                format!("{} {key}", sortable_millis(group.creation_time))
            }
        };
        let registry = self.registry(&ctx.caller.account, &ctx.region);
        let mut groups: Vec<(String, Group)> = registry
            .groups
            .iter()
            .filter(|(key, group)| key.contains(&needle) && in_window(group.creation_time))
            .map(|(key, group)| (key.clone(), group.clone()))
            .collect();
        groups.sort_by_key(&cursor);
        if descending {
            groups.reverse();
        }
        let (page, token) =
            wire::page(groups, cursor, descending, input.next_token.as_deref(), max)?;
        let mut response = json!({
            "ModelPackageGroupSummaryList": page.iter().map(|(_, group)| group.summary()).collect::<Vec<_>>(),
        });
        if let (Some(token), Value::Object(fields)) = (token, &mut response) {
            fields.insert("NextToken".into(), json!(token));
        }
        Ok(Outcome::quiet(response))
    }

    fn delete_group(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: GroupNameInput = parse_input(raw)?;
        let name = validate::required(input.model_package_group_name, "modelPackageGroupName")?;
        let group = self.resolve_group(ctx, &name, "modelPackageGroupName")?;
        self.authorize(
            ctx,
            &group.account,
            &group.key,
            Operation::DeleteModelPackageGroup,
            None,
        )?;
        let time = self.tick();
        let registry = self.registry(&group.account, &ctx.region);
        if !registry.groups.contains_key(&group.key) {
            return Err(group_missing(&name));
        }
        let remaining = registry
            .packages
            .keys()
            .filter(|(key, _)| *key == group.key)
            .count();
        if remaining > 0 {
            return Err(ApiError::Conflict(format!(
                "Model package group {name} still has {remaining} model package(s); delete them before deleting the group."
            )));
        }
        registry.groups.remove(&group.key);
        let call = api_call(ctx, Operation::DeleteModelPackageGroup, time, raw);
        Ok(Outcome {
            response: json!({}),
            events: vec![events::cloudtrail(&call, Ok(None))],
        })
    }

    fn create_package(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: CreateModelPackageInput = parse_input(raw)?;
        let group_name = match (input.model_package_group_name, &input.model_package_name) {
            (Some(_), Some(_)) => {
                return Err(ApiError::Validation(
                    "ModelPackageName and ModelPackageGroupName cannot both be specified.".into(),
                ));
            }
            (Some(group), None) => group,
            (None, Some(_)) => {
                return Err(ApiError::Validation(
                    "Unversioned model packages are not supported by the registry emulator: pass ModelPackageGroupName to create a versioned package.".into(),
                ));
            }
            (None, None) => validate::required(None, "modelPackageGroupName")?,
        };
        if let Some(description) = &input.model_package_description {
            validate::max_len(
                description,
                "modelPackageDescription",
                validate::MAX_DESCRIPTION,
            )?;
        }
        let approval_status = input
            .model_approval_status
            .unwrap_or_else(|| "PendingManualApproval".to_owned());
        validate::one_of(
            &approval_status,
            "modelApprovalStatus",
            validate::APPROVAL_STATUSES,
        )?;
        if let Some(token) = &input.client_token {
            validate::client_token(token)?;
        }
        let customer_metadata = match input.customer_metadata_properties {
            Some(map) if map.is_empty() => {
                return Err(ApiError::Validation(
                    "1 validation error detected: Value '{}' at 'customerMetadataProperties' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
                ));
            }
            Some(map) => map,
            None => BTreeMap::new(),
        };
        validate::customer_metadata(&customer_metadata)?;
        let life_cycle = input
            .model_life_cycle
            .map(validate::model_life_cycle)
            .transpose()?;
        if let Some(card) = &input.model_card {
            validate::model_card(card)?;
        }
        if let Some(spec) = &input.inference_specification {
            container::inference_specification(spec, "inferenceSpecification")?;
        }
        if let Some(specs) = container::list(raw, "AdditionalInferenceSpecifications", "")? {
            container::additional_inference_specifications(
                specs,
                "additionalInferenceSpecifications",
            )?;
        }
        let tags = input.tags.unwrap_or_default();
        validate::tags(&tags)?;
        let passthrough: Map<String, Value> = PASSTHROUGH_MEMBERS
            .iter()
            .filter_map(|member| {
                raw.get(*member)
                    .map(|value| ((*member).to_owned(), value.clone()))
            })
            .collect();

        let group_ref = self.resolve_group(ctx, &group_name, "modelPackageGroupName")?;
        // The version this call would create, so a policy naming `model-package/<group>/*` applies.
        let next_arn = self
            .registries
            .get(&(group_ref.account.clone(), ctx.region.clone()))
            .and_then(|registry| registry.groups.get(&group_ref.key))
            .map(|group| {
                package_arn(
                    &ctx.region,
                    &group_ref.account,
                    &group.name,
                    group.last_version.saturating_add(1),
                )
            });
        self.authorize(
            ctx,
            &group_ref.account,
            &group_ref.key,
            Operation::CreateModelPackage,
            next_arn.as_deref(),
        )?;
        let time = self.tick();
        let region = ctx.region.clone();
        let registry = self.registry(&group_ref.account, &region);
        if let Some(arn) = input
            .client_token
            .as_ref()
            .and_then(|t| registry.create_tokens.get(t))
        {
            return Ok(Outcome::quiet(json!({ "ModelPackageArn": arn })));
        }
        let group = registry
            .groups
            .get_mut(&group_ref.key)
            .ok_or_else(|| group_missing(&group_name))?;
        let version = group.last_version.saturating_add(1);
        group.last_version = version;
        let arn = package_arn(&region, &group_ref.account, &group.name, version);
        let package = Package {
            group_name: group.name.clone(),
            version,
            arn: arn.clone(),
            description: input.model_package_description,
            creation_time: time,
            last_modified_time: time,
            created_by: caller_context(ctx),
            last_modified_by: caller_context(ctx),
            approval_status,
            approval_description: None,
            inference_specification: input.inference_specification.map(Value::Object),
            model_metrics: input.model_metrics.map(Value::Object),
            metadata_properties: input.metadata_properties.map(Value::Object),
            customer_metadata,
            life_cycle,
            model_card: input.model_card,
            tags,
            passthrough,
            update_tokens: HashSet::new(),
        };
        let detail = package.event_detail("Completed", time);
        registry.packages.insert((group_ref.key, version), package);
        if let Some(token) = input.client_token {
            registry.create_tokens.insert(token, arn.clone());
        }
        // A registration from another account: CloudTrail records the call in the caller's account
        // (`recipientAccountId`); which account gets the state change no AWS page states, and the
        // emulator publishes it for the owner, whose resource the version is (contracts/sagemaker.md).
        let call = api_call(ctx, Operation::CreateModelPackage, time, raw);
        Ok(Outcome {
            response: json!({ "ModelPackageArn": arn }),
            events: vec![
                events::state_change(&group_ref.account, &region, time, &arn, detail),
                events::cloudtrail(&call, Ok(Some(json!({ "modelPackageArn": arn })))),
            ],
        })
    }

    fn find_package(
        &mut self,
        ctx: &CallContext,
        name: &str,
        field: &str,
        arn_only: bool,
        operation: Operation,
    ) -> Result<(PackageRef, &mut Package), ApiError> {
        let package = self.resolve_package(ctx, name, field, arn_only)?;
        if package.account != ctx.caller.account {
            let arn = self
                .registries
                .get(&(package.account.clone(), ctx.region.clone()))
                .and_then(|registry| registry.groups.get(&package.group_key))
                .map(|group| {
                    package_arn(&ctx.region, &package.account, &group.name, package.version)
                });
            self.authorize(
                ctx,
                &package.account,
                &package.group_key,
                operation,
                arn.as_deref(),
            )?;
        }
        let found = self
            .registry(&package.account, &ctx.region)
            .packages
            .get_mut(&(package.group_key.clone(), package.version))
            .ok_or_else(|| package_missing(name))?;
        Ok((package, found))
    }

    fn describe_package(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: PackageNameInput = parse_input(raw)?;
        let name = validate::required(input.model_package_name, "modelPackageName")?;
        let (_, package) = self.find_package(
            ctx,
            &name,
            "modelPackageName",
            false,
            Operation::DescribeModelPackage,
        )?;
        Ok(Outcome::quiet(package.describe()))
    }

    fn list_packages(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: ListModelPackagesInput = parse_input(raw)?;
        let max = wire::max_results(input.max_results, 1, 100)?;
        let descending = sort_order(input.sort_order.as_deref())?;
        let by_name = sort_by_name(input.sort_by.as_deref())?;
        if let Some(status) = &input.model_approval_status {
            validate::one_of(status, "modelApprovalStatus", validate::APPROVAL_STATUSES)?;
        }
        if let Some(kind) = &input.model_package_type {
            validate::one_of(
                kind,
                "modelPackageType",
                &["Versioned", "Unversioned", "Both"],
            )?;
        }
        let in_window = time_window(
            input.creation_time_after.as_ref(),
            input.creation_time_before.as_ref(),
        )?;
        // Without a group, SageMaker lists unversioned packages unless asked otherwise; the emulator
        // holds only versioned ones.
        let (account, group_key) = match &input.model_package_group_name {
            Some(group) => {
                let group = self.resolve_group(ctx, group, "modelPackageGroupName")?;
                self.authorize(
                    ctx,
                    &group.account,
                    &group.key,
                    Operation::ListModelPackages,
                    None,
                )?;
                (group.account, Some(group.key))
            }
            None => (ctx.caller.account.clone(), None),
        };
        let include_versioned = group_key.is_some()
            || matches!(
                input.model_package_type.as_deref(),
                Some("Versioned" | "Both")
            );
        let needle = input.name_contains.unwrap_or_default().to_ascii_lowercase();
        let cursor = move |package: &Package| {
            let key = package.group_name.to_ascii_lowercase();
            let created = sortable_millis(package.creation_time);
            if by_name {
                format!("{key} {:010} {created}", package.version)
            } else {
                format!("{created} {key} {:010}", package.version)
            }
        };
        let registry = self.registry(&account, &ctx.region);
        let mut packages: Vec<Package> = registry
            .packages
            .iter()
            .filter(|((key, _), package)| {
                include_versioned
                    && group_key.as_ref().is_none_or(|wanted| wanted == key)
                    && key.contains(&needle)
                    && input
                        .model_approval_status
                        .as_ref()
                        .is_none_or(|status| *status == package.approval_status)
                    && in_window(package.creation_time)
            })
            .map(|(_, package)| package.clone())
            .collect();
        packages.sort_by_key(&cursor);
        if descending {
            packages.reverse();
        }
        let (page, token) = wire::page(
            packages,
            cursor,
            descending,
            input.next_token.as_deref(),
            max,
        )?;
        let mut response = json!({
            "ModelPackageSummaryList": page.iter().map(Package::summary).collect::<Vec<_>>(),
        });
        if let (Some(token), Value::Object(fields)) = (token, &mut response) {
            fields.insert("NextToken".into(), json!(token));
        }
        Ok(Outcome::quiet(response))
    }

    fn update_package(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: UpdateModelPackageInput = parse_input(raw)?;
        let arn = validate::required(input.model_package_arn, "modelPackageArn")?;
        if let Some(token) = &input.client_token {
            validate::client_token(token)?;
        }
        if let Some(status) = &input.model_approval_status {
            validate::one_of(status, "modelApprovalStatus", validate::APPROVAL_STATUSES)?;
        }
        if let Some(kind) = &input.model_package_registration_type {
            validate::one_of(
                kind,
                "modelPackageRegistrationType",
                &["Logged", "Registered"],
            )?;
        }
        if let Some(description) = &input.approval_description {
            validate::max_len(
                description,
                "approvalDescription",
                validate::MAX_DESCRIPTION,
            )?;
        }
        if let Some(uri) = &input.source_uri {
            validate::max_len(uri, "sourceUri", 1024)?;
        }
        if input
            .customer_metadata_properties
            .as_ref()
            .is_some_and(BTreeMap::is_empty)
        {
            return Err(ApiError::Validation(
                "1 validation error detected: Value '{}' at 'customerMetadataProperties' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
            ));
        }
        if let Some(added) = &input.customer_metadata_properties {
            validate::customer_metadata(added)?;
        }
        let to_remove = input
            .customer_metadata_properties_to_remove
            .unwrap_or_default();
        if let Some(both) = input
            .customer_metadata_properties
            .as_ref()
            .and_then(|added| to_remove.iter().find(|key| added.contains_key(*key)))
        {
            return Err(ApiError::Validation(format!(
                "Key '{both}' cannot be in both CustomerMetadataProperties and CustomerMetadataPropertiesToRemove."
            )));
        }
        let life_cycle = input
            .model_life_cycle
            .map(validate::model_life_cycle)
            .transpose()?;
        if let Some(card) = &input.model_card {
            validate::model_card(card)?;
        }
        if let Some(spec) = &input.inference_specification {
            container::inference_specification(spec, "inferenceSpecification")?;
        }
        let added_specs = input
            .additional_inference_specifications_to_add
            .unwrap_or_default();
        container::additional_inference_specifications(
            &added_specs,
            "additionalInferenceSpecificationsToAdd",
        )?;

        let time = self.tick();
        let (_, package) = self.find_package(
            ctx,
            &arn,
            "modelPackageArn",
            true,
            Operation::UpdateModelPackage,
        )?;
        if let Some(token) = &input.client_token
            && package.update_tokens.contains(token)
        {
            return Ok(Outcome::quiet(json!({ "ModelPackageArn": package.arn })));
        }
        // "Archived: ... No more updates can be made to the model card content" (API reference,
        // ModelPackageModelCard, which gives the message; contracts/sagemaker.md). Sending content at all
        // counts as an update, even unchanged; status-only updates still go through.
        let archived = package
            .model_card
            .as_ref()
            .and_then(|card| card.model_card_status.as_deref())
            == Some("Archived");
        if archived
            && input
                .model_card
                .as_ref()
                .is_some_and(|card| card.model_card_content.is_some())
        {
            return Err(ApiError::Validation(
                "Model Card is in Archived state. The content of an archived model card cannot be modified."
                    .into(),
            ));
        }
        let mut merged = package.customer_metadata.clone();
        merged.extend(input.customer_metadata_properties.unwrap_or_default());
        for key in &to_remove {
            merged.remove(key);
        }
        validate::customer_metadata(&merged)?;
        let mut specs = match package.passthrough.get("AdditionalInferenceSpecifications") {
            Some(Value::Array(existing)) => existing.clone(),
            _ => Vec::new(),
        };
        specs.extend(added_specs.iter().cloned());
        if specs.len() > 15 {
            return Err(ApiError::Validation(
                "A model package can have at most 15 additional inference specifications.".into(),
            ));
        }

        package.customer_metadata = merged;
        if let Some(status) = input.model_approval_status {
            package.approval_status = status;
        }
        if let Some(description) = input.approval_description {
            package.approval_description = Some(description);
        }
        if let Some(life_cycle) = life_cycle {
            package.life_cycle = Some(life_cycle);
        }
        if let Some(card) = input.model_card {
            let current = package.model_card.get_or_insert_with(ModelCard::default);
            if card.model_card_content.is_some() {
                current.model_card_content = card.model_card_content;
            }
            if card.model_card_status.is_some() {
                current.model_card_status = card.model_card_status;
            }
        }
        if let Some(spec) = input.inference_specification {
            package.inference_specification = Some(Value::Object(spec));
        }
        if !added_specs.is_empty() {
            package.passthrough.insert(
                "AdditionalInferenceSpecifications".into(),
                Value::Array(specs),
            );
        }
        if let Some(uri) = input.source_uri {
            package.passthrough.insert("SourceUri".into(), json!(uri));
        }
        if let Some(kind) = input.model_package_registration_type {
            package
                .passthrough
                .insert("ModelPackageRegistrationType".into(), json!(kind));
        }
        package.last_modified_time = time;
        package.last_modified_by = caller_context(ctx);
        if let Some(token) = input.client_token {
            package.update_tokens.insert(token);
        }
        let package_arn = package.arn.clone();
        let detail = package.event_detail("Completed", time);
        let account = account_of(&package_arn, &ctx.caller.account);
        let call = api_call(ctx, Operation::UpdateModelPackage, time, raw);
        Ok(Outcome {
            response: json!({ "ModelPackageArn": package_arn }),
            events: vec![
                events::state_change(&account, &ctx.region, time, &package_arn, detail),
                events::cloudtrail(&call, Ok(Some(json!({ "modelPackageArn": package_arn })))),
            ],
        })
    }

    fn delete_package(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: PackageNameInput = parse_input(raw)?;
        let name = validate::required(input.model_package_name, "modelPackageName")?;
        let time = self.tick();
        let (package_ref, package) = self.find_package(
            ctx,
            &name,
            "modelPackageName",
            false,
            Operation::DeleteModelPackage,
        )?;
        let detail = package.event_detail("Deleting", time);
        let arn = package.arn.clone();
        self.registry(&package_ref.account, &ctx.region)
            .packages
            .remove(&(package_ref.group_key, package_ref.version));
        let call = api_call(ctx, Operation::DeleteModelPackage, time, raw);
        Ok(Outcome {
            response: json!({}),
            events: vec![
                events::state_change(&package_ref.account, &ctx.region, time, &arn, detail),
                events::cloudtrail(&call, Ok(None)),
            ],
        })
    }

    fn put_policy(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: PutPolicyInput = parse_input(raw)?;
        let name = validate::required(input.model_package_group_name, "modelPackageGroupName")?;
        validate::entity_name(&name, "modelPackageGroupName")?;
        let policy = validate::required(input.resource_policy, "resourcePolicy")?;
        validate::resource_policy(&policy)?;
        let time = self.tick();
        let group = self.find_group(
            ctx,
            &name,
            "modelPackageGroupName",
            Operation::PutModelPackageGroupPolicy,
        )?;
        group.policy = Some(policy);
        let arn = group.arn.clone();
        let call = api_call(ctx, Operation::PutModelPackageGroupPolicy, time, raw);
        Ok(Outcome {
            response: json!({ "ModelPackageGroupArn": arn }),
            events: vec![events::cloudtrail(
                &call,
                Ok(Some(json!({ "modelPackageGroupArn": arn }))),
            )],
        })
    }

    fn get_policy(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: GroupNameInput = parse_input(raw)?;
        let name = validate::required(input.model_package_group_name, "modelPackageGroupName")?;
        validate::entity_name(&name, "modelPackageGroupName")?;
        let group = self.find_group(
            ctx,
            &name,
            "modelPackageGroupName",
            Operation::GetModelPackageGroupPolicy,
        )?;
        let policy = group.policy.clone().ok_or_else(|| no_policy(&name))?;
        Ok(Outcome::quiet(json!({ "ResourcePolicy": policy })))
    }

    fn delete_policy(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: GroupNameInput = parse_input(raw)?;
        let name = validate::required(input.model_package_group_name, "modelPackageGroupName")?;
        validate::entity_name(&name, "modelPackageGroupName")?;
        let time = self.tick();
        let group = self.find_group(
            ctx,
            &name,
            "modelPackageGroupName",
            Operation::DeleteModelPackageGroupPolicy,
        )?;
        if group.policy.take().is_none() {
            return Err(no_policy(&name));
        }
        let call = api_call(ctx, Operation::DeleteModelPackageGroupPolicy, time, raw);
        Ok(Outcome {
            response: json!({}),
            events: vec![events::cloudtrail(&call, Ok(None))],
        })
    }

    /// The tag list of a group or package ARN.
    fn tags_of(
        &mut self,
        ctx: &CallContext,
        arn: &str,
        operation: Operation,
    ) -> Result<&mut Vec<Tag>, ApiError> {
        let not_found = || ApiError::ResourceNotFound(format!("Resource {arn} not found."));
        let (region, account, resource) = split_sagemaker_arn(arn, "resourceArn")?;
        if let Some((kind, name)) = hosting::resource_of(resource) {
            let (region, account) = (region.to_owned(), account.to_owned());
            return self.hosting_tags(ctx, arn, &region, &account, kind, name, operation);
        }
        if resource.starts_with("model-package-group/") {
            let group = self
                .resolve_group(ctx, arn, "resourceArn")
                .map_err(|_| not_found())?;
            self.authorize(ctx, &group.account, &group.key, operation, None)?;
            self.registry(&group.account, &ctx.region)
                .groups
                .get_mut(&group.key)
                .map(|group| &mut group.tags)
                .ok_or_else(not_found)
        } else if resource.starts_with("model-package/") {
            let package = self
                .resolve_package(ctx, arn, "resourceArn", true)
                .map_err(|_| not_found())?;
            self.authorize(
                ctx,
                &package.account,
                &package.group_key,
                operation,
                Some(arn),
            )?;
            self.registry(&package.account, &ctx.region)
                .packages
                .get_mut(&(package.group_key, package.version))
                .map(|package| &mut package.tags)
                .ok_or_else(not_found)
        } else {
            Err(not_found())
        }
    }

    fn add_tags(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: AddTagsInput = parse_input(raw)?;
        let arn = validate::required(input.resource_arn, "resourceArn")?;
        let added = validate::required(input.tags, "tags")?;
        validate::tags(&added)?;
        let tags = self.tags_of(ctx, &arn, Operation::AddTags)?;
        *tags = validate::merge_tags(tags, &added)?;
        Ok(Outcome::quiet(json!({ "Tags": added })))
    }

    fn list_tags(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: ListTagsInput = parse_input(raw)?;
        let arn = validate::required(input.resource_arn, "resourceArn")?;
        // A resource holds at most 50 tags and a page at least 50: everything fits on one page.
        wire::max_results(input.max_results, 50, i64::from(i32::MAX))?;
        let tags = self.tags_of(ctx, &arn, Operation::ListTags)?;
        Ok(Outcome::quiet(json!({ "Tags": tags })))
    }

    fn delete_tags(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: DeleteTagsInput = parse_input(raw)?;
        let arn = validate::required(input.resource_arn, "resourceArn")?;
        let keys = validate::required(input.tag_keys, "tagKeys")?;
        if keys.is_empty() || keys.len() > validate::MAX_TAGS {
            return Err(ApiError::Validation(
                "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and 50".into(),
            ));
        }
        let tags = self.tags_of(ctx, &arn, Operation::DeleteTags)?;
        tags.retain(|tag| !keys.contains(&tag.key));
        Ok(Outcome::quiet(json!({})))
    }
}

fn no_policy(name: &str) -> ApiError {
    ApiError::Validation(format!(
        "Cannot find resource policy for model package group {name}."
    ))
}

fn account_of(arn: &str, fallback: &str) -> String {
    arn.split(':')
        .nth(4)
        .filter(|account| !account.is_empty())
        .unwrap_or(fallback)
        .to_owned()
}

fn api_call<'a>(
    ctx: &'a CallContext,
    operation: Operation,
    time: DateTime<Utc>,
    request: &'a Map<String, Value>,
) -> ApiCall<'a> {
    ApiCall {
        event_name: operation.name(),
        caller: &ctx.caller,
        region: &ctx.region,
        recipient_account: &ctx.caller.account,
        user_agent: &ctx.user_agent,
        request_id: &ctx.request_id,
        time,
        request,
    }
}

mod batch;
mod hosting;
mod ram;
pub use ram::RamOperation;

#[cfg(test)]
mod package_container_tests;
#[cfg(test)]
mod tests;
