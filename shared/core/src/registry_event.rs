//! Decoding registry events: SageMaker's `Model Package State Change` and the CloudTrail records of the
//! seven model-registry API calls, from a bare EventBridge envelope, an SQS record or an SQS event.
//!
//! Events are hints (handlers re-describe the package), but what they say is typed here, and anything
//! that is not one of them is a [`DecodeError`] that says what was wrong. Unknown fields are ignored.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::aws_identity::{AccountId, Region, RoleArn};
use crate::error::ValidationError;
use crate::idempotency::IdempotencyKey;
use crate::json_access::{Fields, shorten};
use crate::model_package::{
    ApprovalStatus, Description, LINEAGE_KEYS, Lifecycle, ModelPackageArn, ModelPackageGroupArn,
    ModelPackageGroupName, ModelPackageStatus, ModelVersion, RegistryFacts, SageMakerName,
    TechnicalMetadata, model_card_summary,
};

mod api_call;

use api_call::decode_api_call;

/// The EventBridge `source` of every registry event.
pub const EVENT_SOURCE: &str = "aws.sagemaker";
/// The `detail-type` of SageMaker's own event.
pub const STATE_CHANGE_DETAIL_TYPE: &str = "SageMaker Model Package State Change";
/// The `detail-type` of CloudTrail records.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
/// `detail.eventSource` of SageMaker API calls.
pub const CLOUDTRAIL_EVENT_SOURCE: &str = "sagemaker.amazonaws.com";

/// Why an input is not a registry event. All are permanent: the message goes to the DLQ with
/// [`DecodeError::code`] as its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input is not JSON: {0}")]
    NotJson(String),
    #[error("{what} must be a JSON object")]
    NotAnObject { what: &'static str },
    #[error("event source is {found:?}; only {EVENT_SOURCE} events are accepted")]
    WrongSource { found: String },
    #[error("unsupported detail-type {found:?}")]
    UnsupportedDetailType { found: String },
    #[error("CloudTrail eventSource is {found:?}; expected {CLOUDTRAIL_EVENT_SOURCE}")]
    WrongEventSource { found: String },
    #[error("unsupported CloudTrail eventName {found:?}")]
    UnsupportedEventName { found: String },
    #[error("missing field {field}")]
    MissingField { field: String },
    #[error("field {field} must be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("field {field}: {source}")]
    InvalidValue {
        field: String,
        #[source]
        source: ValidationError,
    },
    #[error(
        "field {field} holds {value}, not a time (expected RFC 3339 text or epoch milliseconds)"
    )]
    BadTimestamp { field: String, value: String },
}

impl DecodeError {
    /// Never: the same bytes will fail the same way.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// A short, stable reason for DLQ message attributes and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::NotJson(_) => "not_json",
            DecodeError::NotAnObject { .. } => "not_an_object",
            DecodeError::WrongSource { .. } => "wrong_source",
            DecodeError::UnsupportedDetailType { .. } => "unsupported_detail_type",
            DecodeError::WrongEventSource { .. } => "wrong_event_source",
            DecodeError::UnsupportedEventName { .. } => "unsupported_event_name",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::WrongType { .. } => "wrong_type",
            DecodeError::InvalidValue {
                source: ValidationError::Arn(_),
                ..
            } => "bad_arn",
            DecodeError::InvalidValue { .. } => "invalid_value",
            DecodeError::BadTimestamp { .. } => "bad_timestamp",
        }
    }
}

/// Where and when an event happened, from the EventBridge envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOrigin {
    /// The envelope's `id` (EventBridge's, not a business key: one change can arrive under several ids).
    pub envelope_id: Option<String>,
    pub account: AccountId,
    pub region: Region,
    pub time: Option<DateTime<Utc>>,
}

/// The CloudTrail-recorded SageMaker calls govsync listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiCallName {
    CreateModelPackageGroup,
    DeleteModelPackageGroup,
    CreateModelPackage,
    UpdateModelPackage,
    DeleteModelPackage,
    PutModelPackageGroupPolicy,
    DeleteModelPackageGroupPolicy,
}

impl ApiCallName {
    pub const ALL: [ApiCallName; 7] = [
        ApiCallName::CreateModelPackageGroup,
        ApiCallName::DeleteModelPackageGroup,
        ApiCallName::CreateModelPackage,
        ApiCallName::UpdateModelPackage,
        ApiCallName::DeleteModelPackage,
        ApiCallName::PutModelPackageGroupPolicy,
        ApiCallName::DeleteModelPackageGroupPolicy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiCallName::CreateModelPackageGroup => "CreateModelPackageGroup",
            ApiCallName::DeleteModelPackageGroup => "DeleteModelPackageGroup",
            ApiCallName::CreateModelPackage => "CreateModelPackage",
            ApiCallName::UpdateModelPackage => "UpdateModelPackage",
            ApiCallName::DeleteModelPackage => "DeleteModelPackage",
            ApiCallName::PutModelPackageGroupPolicy => "PutModelPackageGroupPolicy",
            ApiCallName::DeleteModelPackageGroupPolicy => "DeleteModelPackageGroupPolicy",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|name| name.as_str() == value)
    }
}

impl fmt::Display for ApiCallName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What CloudTrail says about the call itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    pub name: ApiCallName,
    /// CloudTrail's unique `eventID`: the business idempotency key.
    pub event_id: String,
    pub event_time: Option<DateTime<Utc>>,
    /// `userIdentity.arn`: who made the call (govsync's own role means an echo).
    pub caller_arn: Option<String>,
    pub request_id: Option<String>,
}

impl ApiCall {
    /// Whether govsync itself (acting as `role`) made this call.
    pub fn is_made_by(&self, role: &RoleArn) -> bool {
        self.caller_arn
            .as_deref()
            .is_some_and(|caller| role.is_caller(caller))
    }
}

/// SageMaker's `Model Package State Change`: a snapshot of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageStateChange {
    pub origin: EventOrigin,
    pub package: ModelVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCreated {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub group_name: ModelPackageGroupName,
    pub group_arn: Option<ModelPackageGroupArn>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDeleted {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub group_name: ModelPackageGroupName,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCreated {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub package_arn: ModelPackageArn,
    pub group_name: ModelPackageGroupName,
    pub approval: Option<ApprovalStatus>,
    pub lifecycle: Option<Lifecycle>,
    pub customer_metadata: BTreeMap<String, String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUpdated {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub package_arn: ModelPackageArn,
    pub approval: Option<ApprovalStatus>,
    pub approval_description: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    /// Entries set by the call (merged into the package's, omitted keys stay).
    pub customer_metadata: BTreeMap<String, String>,
    pub customer_metadata_to_remove: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDeleted {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub package_arn: ModelPackageArn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPolicyPut {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub group_name: ModelPackageGroupName,
    pub resource_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPolicyDeleted {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub group_name: ModelPackageGroupName,
}

/// A call CloudTrail recorded with an `errorCode`: it changed nothing, so it is acknowledged and ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCall {
    pub origin: EventOrigin,
    pub call: ApiCall,
    pub error_code: String,
    pub error_message: Option<String>,
}

/// One decoded registry event.
// A state change carries the whole described version; events are decoded one at a time and moved
// rarely, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryEvent {
    PackageStateChange(PackageStateChange),
    GroupCreated(GroupCreated),
    GroupDeleted(GroupDeleted),
    PackageCreated(PackageCreated),
    PackageUpdated(PackageUpdated),
    PackageDeleted(PackageDeleted),
    GroupPolicyPut(GroupPolicyPut),
    GroupPolicyDeleted(GroupPolicyDeleted),
    IgnoredFailedCall(FailedCall),
}

impl RegistryEvent {
    pub fn origin(&self) -> &EventOrigin {
        match self {
            RegistryEvent::PackageStateChange(e) => &e.origin,
            RegistryEvent::GroupCreated(e) => &e.origin,
            RegistryEvent::GroupDeleted(e) => &e.origin,
            RegistryEvent::PackageCreated(e) => &e.origin,
            RegistryEvent::PackageUpdated(e) => &e.origin,
            RegistryEvent::PackageDeleted(e) => &e.origin,
            RegistryEvent::GroupPolicyPut(e) => &e.origin,
            RegistryEvent::GroupPolicyDeleted(e) => &e.origin,
            RegistryEvent::IgnoredFailedCall(e) => &e.origin,
        }
    }

    /// What the event came from: SageMaker's own snapshot or a CloudTrail-recorded call.
    fn basis(&self) -> EventBasis<'_> {
        match self {
            RegistryEvent::PackageStateChange(e) => EventBasis::StateChange(e),
            RegistryEvent::GroupCreated(e) => EventBasis::Call(&e.call),
            RegistryEvent::GroupDeleted(e) => EventBasis::Call(&e.call),
            RegistryEvent::PackageCreated(e) => EventBasis::Call(&e.call),
            RegistryEvent::PackageUpdated(e) => EventBasis::Call(&e.call),
            RegistryEvent::PackageDeleted(e) => EventBasis::Call(&e.call),
            RegistryEvent::GroupPolicyPut(e) => EventBasis::Call(&e.call),
            RegistryEvent::GroupPolicyDeleted(e) => EventBasis::Call(&e.call),
            RegistryEvent::IgnoredFailedCall(e) => EventBasis::Call(&e.call),
        }
    }

    /// The CloudTrail call, for every kind but SageMaker's own state-change event.
    pub fn api_call(&self) -> Option<&ApiCall> {
        match self.basis() {
            EventBasis::StateChange(_) => None,
            EventBasis::Call(call) => Some(call),
        }
    }

    /// The package the event is about, if it is about one.
    pub fn package_arn(&self) -> Option<&ModelPackageArn> {
        match self {
            RegistryEvent::PackageStateChange(e) => Some(&e.package.arn),
            RegistryEvent::PackageCreated(e) => Some(&e.package_arn),
            RegistryEvent::PackageUpdated(e) => Some(&e.package_arn),
            RegistryEvent::PackageDeleted(e) => Some(&e.package_arn),
            RegistryEvent::GroupCreated(_)
            | RegistryEvent::GroupDeleted(_)
            | RegistryEvent::GroupPolicyPut(_)
            | RegistryEvent::GroupPolicyDeleted(_)
            | RegistryEvent::IgnoredFailedCall(_) => None,
        }
    }

    /// The group the event concerns; for a package event, the group in the package ARN (the logical
    /// group: what orders its events).
    pub fn group_name(&self) -> Option<&ModelPackageGroupName> {
        match self {
            RegistryEvent::PackageStateChange(e) => Some(e.package.arn.group_name()),
            RegistryEvent::GroupCreated(e) => Some(&e.group_name),
            RegistryEvent::GroupDeleted(e) => Some(&e.group_name),
            RegistryEvent::PackageCreated(e) => Some(e.package_arn.group_name()),
            RegistryEvent::PackageUpdated(e) => Some(e.package_arn.group_name()),
            RegistryEvent::PackageDeleted(e) => Some(e.package_arn.group_name()),
            RegistryEvent::GroupPolicyPut(e) => Some(&e.group_name),
            RegistryEvent::GroupPolicyDeleted(e) => Some(&e.group_name),
            RegistryEvent::IgnoredFailedCall(_) => None,
        }
    }

    /// A short name of the kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match (self, self.basis()) {
            (RegistryEvent::IgnoredFailedCall(_), _) => "IgnoredFailedCall",
            (_, EventBasis::StateChange(_)) => "PackageStateChange",
            (_, EventBasis::Call(call)) => call.name.as_str(),
        }
    }

    /// The business key for the idempotency table (design §4): package ARN + LastModifiedTime + the
    /// state that matters for a state change, `eventID` for a CloudTrail call.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        match self.basis() {
            EventBasis::StateChange(e) => IdempotencyKey::for_package_state(&e.package),
            EventBasis::Call(call) => IdempotencyKey::for_cloudtrail_event(&call.event_id),
        }
    }

    /// Whether govsync itself (acting as `role`) caused this event, as far as the event can tell: only
    /// CloudTrail names the caller; state changes are matched against the our-write ledger instead.
    pub fn is_made_by(&self, role: &RoleArn) -> bool {
        self.api_call().is_some_and(|call| call.is_made_by(role))
    }
}

enum EventBasis<'a> {
    StateChange(&'a PackageStateChange),
    Call(&'a ApiCall),
}

/// One SQS message and what its body decoded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    pub message_id: Option<String>,
    pub message_group_id: Option<String>,
    pub event: Result<RegistryEvent, DecodeError>,
}

/// What [`decode_input`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedInput {
    Envelope(RegistryEvent),
    SqsRecord(SqsMessage),
    SqsEvent(Vec<SqsMessage>),
}

impl DecodedInput {
    /// Every event result, in order.
    pub fn into_results(self) -> Vec<Result<RegistryEvent, DecodeError>> {
        match self {
            DecodedInput::Envelope(event) => vec![Ok(event)],
            DecodedInput::SqsRecord(message) => vec![message.event],
            DecodedInput::SqsEvent(messages) => messages.into_iter().map(|m| m.event).collect(),
        }
    }
}

fn parse_json(input: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(input).map_err(|e| DecodeError::NotJson(e.to_string()))
}

/// Decodes a bare EventBridge envelope.
pub fn decode_envelope(input: &[u8]) -> Result<RegistryEvent, DecodeError> {
    decode_envelope_value(&parse_json(input)?)
}

/// Decodes an already parsed EventBridge envelope.
pub fn decode_envelope_value(value: &Value) -> Result<RegistryEvent, DecodeError> {
    let envelope = Fields::root(value, "event envelope")?;
    let source = envelope.required_string("source")?;
    if source != EVENT_SOURCE {
        return Err(DecodeError::WrongSource {
            found: shorten(source),
        });
    }
    let detail_type = envelope.required_string("detail-type")?;
    if detail_type != STATE_CHANGE_DETAIL_TYPE && detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return Err(DecodeError::UnsupportedDetailType {
            found: shorten(detail_type),
        });
    }
    let detail = envelope.required_object("detail")?;
    let account = match envelope.parsed("account", AccountId::parse)? {
        Some(account) => account,
        None => account_from_detail(&detail)?,
    };
    let origin = EventOrigin {
        envelope_id: envelope.string("id")?.map(str::to_owned),
        account,
        region: envelope.required_parsed("region", Region::parse)?,
        time: envelope.time("time")?,
    };
    if detail_type == STATE_CHANGE_DETAIL_TYPE {
        decode_state_change(origin, &detail)
    } else {
        decode_api_call(origin, &detail)
    }
}

/// The registry's account when the envelope has no `account` (moto's default EventBridge delivery drops
/// it): the account of the package ARN of a state change, else CloudTrail's `recipientAccountId` (the
/// account that received the call, i.e. the registry's; `userIdentity` names the caller's instead).
fn account_from_detail(detail: &Fields<'_>) -> Result<AccountId, DecodeError> {
    if let Some(arn) = detail.parsed("ModelPackageArn", ModelPackageArn::parse)? {
        return Ok(arn.account().clone());
    }
    if let Some(account) = detail.parsed("recipientAccountId", AccountId::parse)? {
        return Ok(account);
    }
    Err(DecodeError::MissingField {
        field: "account".into(),
    })
}

/// Decodes one SQS record (`{"messageId", "body": "<envelope JSON>", "attributes", …}`). The outer error
/// means the input is not an SQS record; a body that is not a registry event is in `event`.
pub fn decode_sqs_record(input: &[u8]) -> Result<SqsMessage, DecodeError> {
    decode_sqs_record_value(&parse_json(input)?)
}

pub fn decode_sqs_record_value(value: &Value) -> Result<SqsMessage, DecodeError> {
    let record = Fields::root(value, "SQS record")?;
    let message_id = record.string("messageId")?.map(str::to_owned);
    let message_group_id = match record.object("attributes")? {
        Some(attributes) => attributes.string("MessageGroupId")?.map(str::to_owned),
        None => None,
    };
    let body = record.required_string("body")?;
    Ok(SqsMessage {
        message_id,
        message_group_id,
        event: decode_envelope(body.as_bytes()),
    })
}

/// Decodes an SQS event (`{"Records": [...]}`): one result per record, in order.
pub fn decode_sqs_event(input: &[u8]) -> Result<Vec<SqsMessage>, DecodeError> {
    decode_sqs_event_value(&parse_json(input)?)
}

pub fn decode_sqs_event_value(value: &Value) -> Result<Vec<SqsMessage>, DecodeError> {
    let event = Fields::root(value, "SQS event")?;
    let Some(records) = event.get("Records") else {
        return Err(DecodeError::MissingField {
            field: "Records".into(),
        });
    };
    let Value::Array(records) = records else {
        return Err(DecodeError::WrongType {
            field: "Records".into(),
            expected: "a list",
        });
    };
    Ok(records
        .iter()
        .map(|record| {
            decode_sqs_record_value(record).unwrap_or_else(|error| SqsMessage {
                message_id: record
                    .get("messageId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                message_group_id: None,
                event: Err(error),
            })
        })
        .collect())
}

/// Decodes any of the three input forms, recognised by shape: `Records` → SQS event, `body` → SQS
/// record, otherwise an EventBridge envelope.
pub fn decode_input(input: &[u8]) -> Result<DecodedInput, DecodeError> {
    let value = parse_json(input)?;
    let Value::Object(map) = &value else {
        return Err(DecodeError::NotAnObject { what: "input" });
    };
    if map.contains_key("Records") {
        decode_sqs_event_value(&value).map(DecodedInput::SqsEvent)
    } else if map.contains_key("body") && !map.contains_key("detail-type") {
        decode_sqs_record_value(&value).map(DecodedInput::SqsRecord)
    } else {
        decode_envelope_value(&value).map(DecodedInput::Envelope)
    }
}

/// Lifecycle field names, which differ between the state-change event and CloudTrail parameters.
struct LifecycleKeys {
    stage: &'static str,
    stage_status: &'static str,
    stage_description: &'static str,
}

const PASCAL_LIFECYCLE: LifecycleKeys = LifecycleKeys {
    stage: "Stage",
    stage_status: "StageStatus",
    stage_description: "StageDescription",
};

const CAMEL_LIFECYCLE: LifecycleKeys = LifecycleKeys {
    stage: "stage",
    stage_status: "stageStatus",
    stage_description: "stageDescription",
};

fn lifecycle(
    parent: &Fields<'_>,
    key: &str,
    keys: &LifecycleKeys,
) -> Result<Option<Lifecycle>, DecodeError> {
    let Some(fields) = parent.object(key)? else {
        return Ok(None);
    };
    Ok(Some(Lifecycle {
        stage: fields.required_parsed(keys.stage, SageMakerName::parse)?,
        stage_status: fields.required_parsed(keys.stage_status, SageMakerName::parse)?,
        stage_description: fields.parsed(keys.stage_description, Description::parse)?,
    }))
}

/// The package's group: the ARN's. A group name the event states is kept only for its letter case
/// (SageMaker writes ARNs in lowercase); one naming another group is a hint that lies, and is dropped.
fn group_of(arn: &ModelPackageArn, stated: Option<ModelPackageGroupName>) -> ModelPackageGroupName {
    match stated {
        Some(name)
            if name
                .as_str()
                .eq_ignore_ascii_case(arn.group_name().as_str()) =>
        {
            name
        }
        _ => arn.group_name().clone(),
    }
}

fn decode_state_change(
    origin: EventOrigin,
    detail: &Fields<'_>,
) -> Result<RegistryEvent, DecodeError> {
    let arn = detail.required_parsed("ModelPackageArn", ModelPackageArn::parse)?;
    let group_name = group_of(
        &arn,
        detail.parsed(
            "ModelPackageGroupName",
            ModelPackageGroupName::parse_name_or_arn,
        )?,
    );
    let package = ModelVersion {
        group_name,
        package_status: detail.parsed("ModelPackageStatus", ModelPackageStatus::parse)?,
        approval: detail.parsed("ModelApprovalStatus", ApprovalStatus::parse)?,
        approval_description: detail.string("ApprovalDescription")?.map(str::to_owned),
        lifecycle: lifecycle(detail, "ModelLifeCycle", &PASCAL_LIFECYCLE)?,
        customer_metadata: detail.string_map("CustomerMetadataProperties")?,
        technical: technical_metadata(detail),
        creation_time: detail.time("CreationTime")?,
        last_modified_time: detail.time("LastModifiedTime")?,
        arn,
    };
    Ok(RegistryEvent::PackageStateChange(PackageStateChange {
        origin,
        package,
    }))
}

/// Informational fields, read best-effort: a malformed one is left out rather than failing the event.
fn technical_metadata(detail: &Fields<'_>) -> TechnicalMetadata {
    let containers = detail
        .get("InferenceSpecification")
        .and_then(|spec| spec.get("Containers"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let container_strings = |key: &str| -> Vec<String> {
        containers
            .iter()
            .filter_map(|c| c.get(key).and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    };
    let mut metrics_uris = Vec::new();
    if let Some(metrics) = detail.get("ModelMetrics") {
        collect_s3_uris(metrics, 0, &mut metrics_uris);
    }
    TechnicalMetadata {
        description: detail.lenient_string("ModelPackageDescription"),
        inference_images: container_strings("Image"),
        model_data_urls: container_strings("ModelDataUrl"),
        metrics_uris,
        generated_by: detail
            .get("MetadataProperties")
            .and_then(|m| m.get("GeneratedBy"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_by: detail.get("CreatedBy").and_then(creator),
        facts: registry_facts(detail),
    }
}

/// The creator in a `UserContext`: the Studio user profile first (Studio users share an execution
/// role), then the IAM identity, then the profile's ARN.
fn creator(context: &Value) -> Option<String> {
    let text = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    text(context.get("UserProfileName"))
        .or_else(|| text(context.get("IamIdentity").and_then(|i| i.get("Arn"))))
        .or_else(|| text(context.get("UserProfileArn")))
}

fn registry_facts(detail: &Fields<'_>) -> RegistryFacts {
    let text = |key: &str| {
        detail
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|text| !text.trim().is_empty())
    };
    let mut drift_baseline_uris = Vec::new();
    if let Some(baselines) = detail.get("DriftCheckBaselines") {
        collect_s3_uris(baselines, 0, &mut drift_baseline_uris);
    }
    let lineage = detail
        .get("MetadataProperties")
        .map(|properties| {
            LINEAGE_KEYS
                .iter()
                .filter_map(|key| {
                    let value = properties.get(*key).and_then(Value::as_str)?;
                    Some(((*key).to_owned(), value.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let card = detail.get("ModelCard");
    RegistryFacts {
        domain: text("Domain"),
        task: text("Task"),
        sample_payload_url: text("SamplePayloadUrl"),
        drift_baseline_uris,
        lineage,
        model_card_summary: model_card_summary(
            card.and_then(|c| c.get("ModelCardContent"))
                .and_then(Value::as_str),
            card.and_then(|c| c.get("ModelCardStatus"))
                .and_then(Value::as_str),
        ),
        model_card: card.map(|c| crate::model_card::PackageCard {
            content: c
                .get("ModelCardContent")
                .and_then(Value::as_str)
                .map(str::to_owned),
            status: c
                .get("ModelCardStatus")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
    }
}

/// `ModelMetrics` nests `{ContentType, S3Uri}` pairs under several report kinds; collect every URI.
fn collect_s3_uris(value: &Value, depth: usize, out: &mut Vec<String>) {
    const MAX_DEPTH: usize = 8;
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("S3Uri", Value::String(uri)) => out.push(uri.clone()),
                    _ => collect_s3_uris(child, depth + 1, out),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_s3_uris(item, depth + 1, out)),
        _ => {}
    }
}
