//! Governance changes into the registry: F1 (a use case is approved: provision its model package group,
//! its governance model group, and tell its data-science team) and F4 (a model's status changes: set
//! approval and lifecycle on its package), plus the hand-off of decommissions (F6) to the
//! `decommission` function. Pure: the handler re-reads the governance object, looks up the links and the
//! package, and executes what these functions return.
//!
//! Decisions compare the wanted state with the current one, so a change already applied decides to
//! nothing; with the our-write ledger (both directions) this is why bidirectional sync cannot ping-pong.

use crate::model_card::{self, CardDecision};
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::registry::{PACKAGE_STATE_FIELD, package_state_fingerprint};
use super::{ConsoleLinks, fields};
use crate::customer_metadata::{self, keys};
use crate::decommission_request::{DecommissionKind, DecommissionRequest};
use crate::governance::{GovernanceId, GovernanceStatus, Revision};
use crate::mapping::{MappingRow, MappingSpec, RegistryTarget};
use crate::model_package::{
    ApprovalStatus, Description, ModelPackageGroupArn, ModelPackageGroupName, ModelVersion,
    SageMakerName,
};
use crate::ports::registry::{ModelLifecycle, NewPackageGroup, PackageUpdate};
use crate::ports::{
    Email, Field, FieldValue, GovernanceKind, GovernanceObject, NewGovernanceObject, OurWrite,
    WriteSide,
};
use crate::registry_map::{BusinessEntity, Registry, RegistryMap};

/// The use case status that provisions (F1).
pub const APPROVED_FOR_DEVELOPMENT: &str = "Approved for Development";
/// The status, of a model or a use case, that hands off to the `decommission` function (F6).
pub const DECOMMISSIONED: &str = "Decommissioned";
/// `source` of the decommission requests this flow sends.
pub const DECOMMISSION_SOURCE: &str = "approval-propagation";
/// The group tag that records the risk level at provisioning.
pub const RISK_LEVEL_TAG: &str = keys::RISK_LEVEL;

/// The revision of a governance object: its `Last Modification Date` in epoch milliseconds. Every
/// accepted change moves it forward, so it names one state of the object.
pub fn object_revision(object: &GovernanceObject) -> Option<Revision> {
    object_modified_at(object).map(Revision::from_time)
}

/// The object's `Last Modification Date`.
pub fn object_modified_at(object: &GovernanceObject) -> Option<DateTime<Utc>> {
    match object.field(fields::LAST_MODIFICATION_DATE)? {
        FieldValue::Date(time) => Some(*time),
        FieldValue::Text(text) => DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc()),
        _ => None,
    }
}

fn text_field(object: &GovernanceObject, name: &str) -> Option<String> {
    object
        .field(name)
        .and_then(FieldValue::as_text)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

// -------------------------------------------------------------------------------------------------
// F1: use cases

/// The state of a use case's provisioning, as the links table records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provisioned {
    /// The group linked to the use case (link kind `use_case`).
    pub group_arn: Option<ModelPackageGroupArn>,
    /// Whether the group is linked to a governance model group.
    pub model_group_linked: bool,
    /// Whether the data-science team's email went out (its receipt is recorded).
    pub email_sent: bool,
}

/// Everything [`decide_use_case`] looks at.
#[derive(Debug, Clone)]
pub struct UseCaseChange<'a> {
    /// The use case, as re-read now.
    pub use_case: &'a GovernanceObject,
    /// The name of the use case's parent business entity (`None`: no parent, or not an entity).
    pub business_entity: Option<&'a str>,
    pub registries: &'a RegistryMap,
    pub provisioned: &'a Provisioned,
    pub console: &'a ConsoleLinks,
    /// `GOVSYNC_NOTIFICATION_SENDER`; `None`: no email is sent (reported).
    pub sender: Option<&'a str>,
}

/// What to do about a use case change.
#[derive(Debug, Clone, PartialEq)]
pub enum UseCaseDecision {
    /// Not this flow's business (`reason`): acknowledged.
    Ignore(&'static str),
    /// Approved, but under no business entity of the registry map: not synced, reported.
    Unmapped { business_entity: Option<String> },
    /// Hand the decommission to the `decommission` function.
    Decommission(DecommissionRequest),
    /// Everything is provisioned and the email is out: nothing to do.
    AlreadyProvisioned { group_arn: ModelPackageGroupArn },
    /// Provision what is missing, in order.
    Provision(Box<Provisioning>),
}

/// F1's work for one approved use case. Each step is idempotent given the links table: the handler
/// skips what [`Provisioned`] says is done, and looks a resource up before creating it.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioning {
    pub use_case_id: GovernanceId,
    pub use_case_name: String,
    pub risk_level: Option<String>,
    pub registry: Registry,
    pub group_name: ModelPackageGroupName,
    /// The ARN the group has (or will have) in the mapped registry.
    pub group_arn: ModelPackageGroupArn,
    /// `None` when the group is already linked.
    pub create_group: Option<NewPackageGroup>,
    /// The governance model group to find (by External ID) or create; `None` when already linked.
    pub model_group: Option<NewGovernanceObject>,
    /// The email to send; `None` when it went out already or cannot be sent (see `findings`).
    pub email: Option<Email>,
    /// The resource policy to put on the group when it is created, letting the use case's development
    /// accounts register into it (`None`: the use case names none).
    pub group_policy: Option<String>,
    /// Reported, never fatal (e.g. no team email on the use case).
    pub findings: Vec<&'static str>,
}

/// The ARN a group of this name has in the registry.
pub fn group_arn(registry: &Registry, name: &ModelPackageGroupName) -> ModelPackageGroupArn {
    ModelPackageGroupArn::in_registry(&registry.region, &registry.account, name)
}

/// Step 1 of F1: is this use case to be provisioned, handed to decommission, or left alone?
pub fn decide_use_case(input: &UseCaseChange<'_>) -> UseCaseDecision {
    let use_case = input.use_case;
    if let Some(decision) = unless_approved(use_case) {
        return decision;
    }
    let Some(registry) = mapped_registry(input) else {
        return UseCaseDecision::Unmapped {
            business_entity: input.business_entity.map(str::to_owned),
        };
    };
    let provisioned = input.provisioned;
    if let Some(arn) = fully_provisioned(provisioned, input.sender) {
        return UseCaseDecision::AlreadyProvisioned {
            group_arn: arn.clone(),
        };
    }
    let Some(group_name) = provisioned_group_name(provisioned, use_case) else {
        // The id always yields a name (ids are never blank); kept total rather than panicking.
        return UseCaseDecision::Ignore("no_group_name");
    };
    let provisioning = provisioning(input, registry, group_name);
    if provisioning.create_group.is_none()
        && provisioning.model_group.is_none()
        && provisioning.email.is_none()
    {
        return UseCaseDecision::AlreadyProvisioned {
            group_arn: provisioning.group_arn,
        };
    }
    UseCaseDecision::Provision(Box::new(provisioning))
}

/// Whether the use case's status keeps it out of provisioning: a decommission goes to the
/// `decommission` function, any status but approved is ignored. `None`: approved, provision it.
fn unless_approved(use_case: &GovernanceObject) -> Option<UseCaseDecision> {
    match text_field(use_case, fields::USE_CASE_STATUS).as_deref() {
        Some(APPROVED_FOR_DEVELOPMENT) => None,
        Some(DECOMMISSIONED) => Some(
            match decommission_request(DecommissionKind::UseCase, use_case) {
                Some(request) => UseCaseDecision::Decommission(request),
                None => UseCaseDecision::Ignore("decommission_without_time"),
            },
        ),
        _ => Some(UseCaseDecision::Ignore("use_case_not_approved")),
    }
}

/// The registry of the use case's business entity, if the registry map has one.
fn mapped_registry<'a>(input: &UseCaseChange<'a>) -> Option<&'a Registry> {
    input
        .business_entity
        .and_then(|name| BusinessEntity::parse(name).ok())
        .and_then(|entity| input.registries.for_business_entity(&entity))
}

/// The linked group's ARN when nothing is left to do: group and model group linked, and the email
/// sent (or not sendable, with no sender configured).
fn fully_provisioned<'a>(
    provisioned: &'a Provisioned,
    sender: Option<&str>,
) -> Option<&'a ModelPackageGroupArn> {
    let arn = provisioned.group_arn.as_ref()?;
    (provisioned.model_group_linked && (provisioned.email_sent || sender.is_none())).then_some(arn)
}

/// The group's name: the linked group's, else one derived from the use case.
fn provisioned_group_name(
    provisioned: &Provisioned,
    use_case: &GovernanceObject,
) -> Option<ModelPackageGroupName> {
    match &provisioned.group_arn {
        Some(arn) => Some(arn.group_name().clone()),
        None => ModelPackageGroupName::for_use_case(&use_case.name, use_case.id.as_str()).ok(),
    }
}

/// What is still missing for an approved use case: the group, the model group, the email.
fn provisioning(
    input: &UseCaseChange<'_>,
    registry: &Registry,
    group_name: ModelPackageGroupName,
) -> Provisioning {
    let use_case = input.use_case;
    let provisioned = input.provisioned;
    let group_arn = provisioned
        .group_arn
        .clone()
        .unwrap_or_else(|| group_arn(registry, &group_name));
    let mut provisioning = Provisioning {
        use_case_id: use_case.id.clone(),
        use_case_name: use_case.name.clone(),
        risk_level: text_field(use_case, fields::USE_CASE_RISK_LEVEL),
        registry: registry.clone(),
        group_name,
        group_arn,
        create_group: None,
        model_group: None,
        email: None,
        group_policy: None,
        findings: Vec::new(),
    };
    if provisioned.group_arn.is_none() {
        provisioning.create_group = Some(new_package_group(&provisioning));
        match development_accounts(use_case, &registry.account) {
            Ok(accounts) if accounts.is_empty() => {}
            Ok(accounts) => {
                provisioning.group_policy = Some(development_accounts_policy(
                    &provisioning.group_arn,
                    &accounts,
                ));
            }
            Err(_) => provisioning.findings.push("development_accounts_invalid"),
        }
    }
    if !provisioned.model_group_linked {
        provisioning.model_group = Some(new_model_group(&provisioning));
    }
    if !provisioned.email_sent {
        match team_email(input, &provisioning) {
            Ok(email) => provisioning.email = Some(email),
            Err(finding) => provisioning.findings.push(finding),
        }
    }
    provisioning
}

/// The group to create, tagged with its use case, business entity and risk level (sanitised; empty
/// tags left out).
fn new_package_group(provisioning: &Provisioning) -> NewPackageGroup {
    let mut tags = BTreeMap::from([
        (
            keys::USE_CASE_ID.to_owned(),
            provisioning.use_case_id.to_string(),
        ),
        (
            keys::BUSINESS_ENTITY.to_owned(),
            customer_metadata::sanitize(provisioning.registry.business_entity.as_str(), 256),
        ),
    ]);
    if let Some(risk) = &provisioning.risk_level {
        tags.insert(
            RISK_LEVEL_TAG.to_owned(),
            customer_metadata::sanitize(risk, 256),
        );
    }
    tags.retain(|_, value| !value.is_empty());
    NewPackageGroup {
        name: provisioning.group_name.to_string(),
        description: Some(
            Description::truncating(&format!(
                "Models of the governance use case {} ({}), created by govsync",
                provisioning.use_case_name, provisioning.use_case_id
            ))
            .to_string(),
        ),
        tags,
    }
}

/// The governance model group under the use case, pointing at the package group.
fn new_model_group(provisioning: &Provisioning) -> NewGovernanceObject {
    let group_arn = &provisioning.group_arn;
    NewGovernanceObject {
        kind: GovernanceKind::ModelGroup,
        name: provisioning.group_name.to_string(),
        description: Some(format!("SageMaker model package group {group_arn}")),
        parent_id: Some(provisioning.use_case_id.clone()),
        fields: vec![
            Field::text(fields::EXTERNAL_ID, group_arn.clone()),
            Field::text(
                fields::THIRD_PARTY_LINK,
                super::registry::console_url(
                    &provisioning.registry.region,
                    &provisioning.group_name,
                    None,
                ),
            ),
        ],
    }
}

/// The approval email to the data-science team, or the finding that says why none can be sent.
fn team_email(
    input: &UseCaseChange<'_>,
    provisioning: &Provisioning,
) -> Result<Email, &'static str> {
    let Some(sender) = input.sender else {
        return Err("no_notification_sender");
    };
    let recipients = team_recipients(input.use_case);
    if recipients.is_empty() {
        return Err("no_team_email");
    }
    Ok(approval_email(&ApprovalEmail {
        sender,
        recipients,
        use_case_id: &provisioning.use_case_id,
        use_case_name: &provisioning.use_case_name,
        risk_level: provisioning.risk_level.as_deref(),
        group_name: &provisioning.group_name,
        group_arn: provisioning.group_arn.as_str(),
        registry: &provisioning.registry,
        console: input.console,
    }))
}

/// The data-science team's addresses: the use case's team-email field, split on `,` `;` and spaces;
/// malformed entries are left out.
pub fn team_recipients(use_case: &GovernanceObject) -> Vec<String> {
    let Some(text) = text_field(use_case, fields::USE_CASE_TEAM_EMAIL) else {
        return Vec::new();
    };
    let mut out: Vec<String> = text
        .split([',', ';', ' ', '\n'])
        .filter_map(|part| crate::governance::EmailAddress::parse(part.trim()).ok())
        .map(String::from)
        .collect();
    out.dedup();
    out
}

/// What the approval email says.
#[derive(Debug, Clone)]
pub struct ApprovalEmail<'a> {
    pub sender: &'a str,
    pub recipients: Vec<String>,
    pub use_case_id: &'a GovernanceId,
    pub use_case_name: &'a str,
    pub risk_level: Option<&'a str>,
    pub group_name: &'a ModelPackageGroupName,
    pub group_arn: &'a str,
    pub registry: &'a Registry,
    pub console: &'a ConsoleLinks,
}

/// The email to the data-science team (F1): subject, text and HTML bodies with the use case, its risk
/// level, the group's name and ARN, a link back to the use case in governance, and how to register a
/// model version into the group.
pub fn approval_email(email: &ApprovalEmail<'_>) -> Email {
    let risk = email.risk_level.unwrap_or("not set");
    let link = email
        .console
        .object_url(email.use_case_id)
        .map(String::from)
        .unwrap_or_default();
    let region = email.registry.region.as_str();
    let group = email.group_name.as_str();
    let subject = format!(
        "Use case \"{}\" approved: SageMaker model package group {group} is ready",
        email.use_case_name
    );
    let cli = format!(
        "aws sagemaker create-model-package --region {region} \\\n    --model-package-group-name {group} \\\n    --inference-specification file://inference-specification.json"
    );
    let boto3 = format!(
        "boto3.client(\"sagemaker\", region_name=\"{region}\").create_model_package(\n    ModelPackageGroupName=\"{group}\",\n    InferenceSpecification={{...}})"
    );
    let text_body = format!(
        "The governance use case \"{name}\" (id {id}) was approved for development.\n\n\
         Use case:   {name}\n\
         Risk level: {risk}\n\
         Group name: {group}\n\
         Group ARN:  {arn}\n\
         Governance: {link}\n\n\
         Register a model version into the group (it appears in governance under the use case, and its\n\
         approval follows governance; do not approve it in SageMaker yourself):\n\n\
         {cli}\n\n\
         or, with boto3:\n\n\
         {boto3}\n\n\
         -- govsync\n",
        name = email.use_case_name,
        id = email.use_case_id,
        arn = email.group_arn,
    );
    let e = crate::html::escape;
    let html_body = format!(
        "<html><body>\
         <p>The governance use case <b>{name}</b> (id {id}) was approved for development.</p>\
         <table>\
         <tr><th align=\"left\">Use case</th><td>{name}</td></tr>\
         <tr><th align=\"left\">Risk level</th><td>{risk}</td></tr>\
         <tr><th align=\"left\">Group name</th><td><code>{group}</code></td></tr>\
         <tr><th align=\"left\">Group ARN</th><td><code>{arn}</code></td></tr>\
         <tr><th align=\"left\">Governance</th><td><a href=\"{link}\">{link}</a></td></tr>\
         </table>\
         <p>Register a model version into the group (it appears in governance under the use case, and its \
         approval follows governance; do not approve it in SageMaker yourself):</p>\
         <pre>{cli}</pre><p>or, with boto3:</p><pre>{boto3}</pre>\
         <p>-- govsync</p></body></html>",
        name = e(email.use_case_name),
        id = e(email.use_case_id.as_str()),
        risk = e(risk),
        group = e(group),
        arn = e(email.group_arn),
        link = e(&link),
        cli = e(&cli),
        boto3 = e(&boto3),
    );
    Email {
        from: email.sender.to_owned(),
        to: email.recipients.clone(),
        subject,
        text_body,
        html_body: Some(html_body),
    }
}

/// The key under which the approval email's receipt is kept (one email per use case, ever).
pub fn approval_email_receipt(use_case_id: &GovernanceId) -> String {
    format!("notification#use-case-approved#{use_case_id}")
}

// -------------------------------------------------------------------------------------------------
// F4: models

/// Everything [`decide_model`] looks at.
#[derive(Debug, Clone)]
pub struct ModelChange<'a> {
    /// The model, as re-read now.
    pub model: &'a GovernanceObject,
    /// Its revision (`Last Modification Date`).
    pub revision: Revision,
    /// The last governance revision applied for this model (links table).
    pub applied: Option<u64>,
    /// Whether the our-write ledger holds govsync's own write of the current status (an echo of a
    /// SageMaker-driven change on a `both` row).
    pub our_write: bool,
    /// The linked package as described now; `None` when no package is linked.
    pub package: Option<&'a ModelVersion>,
    pub mapping: &'a MappingSpec,
}

/// What to do about a model change.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelDecision {
    /// No newer than the revision already applied.
    Stale { applied: u64 },
    /// govsync's own status write coming back.
    Echo,
    /// The model has no status.
    NoStatus,
    /// A status the mapping does not know: reported (quarantined with the reason), never guessed.
    UnknownStatus { status: String },
    /// Hand the decommission to the `decommission` function.
    Decommission(DecommissionRequest),
    /// No package is linked to the model (yet): nothing to set.
    Unlinked,
    /// The package already holds what the status maps to.
    InSync,
    /// Make this write (record `ledger` first).
    Update(Box<ModelWrite>),
}

/// One `UpdateModelPackage` for a governance status.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelWrite {
    pub status: GovernanceStatus,
    pub update: PackageUpdate,
    /// The ledger entry the write's echo (through registry-events) will match.
    pub ledger: OurWrite,
}

/// The description carried into `ApprovalDescription` and `StageDescription`: who, when, which object.
pub fn status_description(model: &GovernanceObject, status: &str) -> Description {
    let who = text_field(model, fields::LAST_MODIFIED_BY).unwrap_or_else(|| "unknown".to_owned());
    let when = object_modified_at(model)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| "unknown time".to_owned());
    Description::truncating(&format!(
        "govsync: governance status {status} set by {who} at {when} (governance model {})",
        model.id
    ))
}

/// `ClientToken` from the governance change (model id, revision, status): a retry of the same change
/// reuses it, another change gets another.
pub fn governance_client_token(model: &GovernanceId, revision: Revision, status: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [model.as_str(), &revision.to_string(), status] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let hex = crate::hex::encode(&hasher.finalize());
    format!("govsync-{}", &hex[..28])
}

fn decommission_request(
    kind: DecommissionKind,
    object: &GovernanceObject,
) -> Option<DecommissionRequest> {
    let at = object_modified_at(object)?;
    let who = text_field(object, fields::LAST_MODIFIED_BY).unwrap_or_else(|| "unknown".to_owned());
    DecommissionRequest::new(
        kind,
        object.id.clone(),
        &format!("Decommissioned in governance by {who}"),
        at,
        DECOMMISSION_SOURCE,
    )
    .ok()
}

/// F4: the write that brings the linked package in line with the model's governance status.
pub fn decide_model(input: &ModelChange<'_>) -> ModelDecision {
    if let Some(applied) = input.applied
        && input.revision.value() <= applied
    {
        return ModelDecision::Stale { applied };
    }
    let (status, row) = match mapped_status(input) {
        Ok(mapped) => mapped,
        Err(decision) => return decision,
    };
    let Some(package) = input.package else {
        return ModelDecision::Unlinked;
    };
    let target = &row.target;
    let stage = target.resolve_stage(package.lifecycle.as_ref().map(|l| &l.stage));
    let wanted_lifecycle = stage
        .as_ref()
        .map(|stage| (stage.as_str(), target.stage_status.as_str()));
    if package_holds(package, target.approval, wanted_lifecycle) {
        return ModelDecision::InSync;
    }
    ModelDecision::Update(Box::new(model_write(
        input,
        package,
        status,
        target,
        stage.as_ref(),
    )))
}

/// The model's status and the mapping row it selects, or the decision when there is nothing to map:
/// no (parsable) status, a decommission (handed off), govsync's own echo, or a status the mapping does
/// not know.
fn mapped_status<'a>(
    input: &ModelChange<'a>,
) -> Result<(GovernanceStatus, &'a MappingRow), ModelDecision> {
    let Some(status_text) = text_field(input.model, fields::MODEL_STATUS) else {
        return Err(ModelDecision::NoStatus);
    };
    if status_text == DECOMMISSIONED {
        return Err(
            match decommission_request(DecommissionKind::Model, input.model) {
                Some(request) => ModelDecision::Decommission(request),
                None => ModelDecision::NoStatus,
            },
        );
    }
    if input.our_write {
        return Err(ModelDecision::Echo);
    }
    let Ok(status) = GovernanceStatus::parse(&status_text) else {
        return Err(ModelDecision::NoStatus);
    };
    let Ok(row) = input.mapping.registry_target(&status) else {
        return Err(ModelDecision::UnknownStatus {
            status: status_text,
        });
    };
    Ok((status, row))
}

/// The package's lifecycle stage and status.
fn package_lifecycle(package: &ModelVersion) -> Option<(&str, &str)> {
    package
        .lifecycle
        .as_ref()
        .map(|l| (l.stage.as_str(), l.stage_status.as_str()))
}

/// Whether the package already holds the approval and, when one is wanted, the lifecycle.
fn package_holds(
    package: &ModelVersion,
    approval: ApprovalStatus,
    wanted_lifecycle: Option<(&str, &str)>,
) -> bool {
    let lifecycle_matches =
        wanted_lifecycle.is_none() || package_lifecycle(package) == wanted_lifecycle;
    package.approval == Some(approval) && lifecycle_matches
}

/// The `UpdateModelPackage` that sets the status's approval and lifecycle, and the ledger entry of
/// the state it leaves the package in.
fn model_write(
    input: &ModelChange<'_>,
    package: &ModelVersion,
    status: GovernanceStatus,
    target: &RegistryTarget,
    stage: Option<&SageMakerName>,
) -> ModelWrite {
    let description = status_description(input.model, status.as_str());
    let mut metadata_to_set = BTreeMap::new();
    // `govsync:rev` only where it fits: a governance decision must reach a package whose entries the
    // data scientist filled up to SageMaker's limit.
    if customer_metadata::has_room_for(&package.customer_metadata, keys::REVISION) {
        metadata_to_set.insert(keys::REVISION.to_owned(), input.revision.to_string());
    }
    let mut merged = package.customer_metadata.clone();
    merged.extend(metadata_to_set.clone());
    let wanted_lifecycle = stage.map(|stage| (stage.as_str(), target.stage_status.as_str()));
    let resulting_lifecycle = wanted_lifecycle.or(package_lifecycle(package));
    let fingerprint = package_state_fingerprint(
        Some(target.approval),
        resulting_lifecycle,
        &merged,
        &package.technical,
    );
    let arn = package.arn.as_str();
    let update = PackageUpdate {
        arn: package.arn.clone(),
        approval_status: Some(target.approval),
        approval_description: Some(description.to_string()),
        metadata_to_set,
        metadata_to_remove: Vec::new(),
        lifecycle: stage.map(|stage| ModelLifecycle {
            stage: stage.clone(),
            stage_status: target.stage_status.clone(),
            stage_description: Some(Description::truncating(description.as_ref())),
        }),
        // The card's governance status entry follows in the same call (a retry sends the same card).
        model_card: match model_card::with_governance_status(
            package.technical.facts.model_card.as_ref(),
            status.as_str(),
        ) {
            CardDecision::Write(write) => Some(write),
            CardDecision::Unchanged | CardDecision::Skip(_) => None,
        },
        client_token: Some(governance_client_token(
            &input.model.id,
            input.revision,
            status.as_str(),
        )),
    };
    ModelWrite {
        status,
        update,
        ledger: OurWrite::new(WriteSide::Registry, arn, PACKAGE_STATE_FIELD, &fingerprint),
    }
}

/// The ledger entry a governance status change matches when govsync wrote that status itself
/// (registry-events on a `both` row records it before writing).
pub fn status_write(model: &GovernanceId, status: &str) -> OurWrite {
    OurWrite::new(
        WriteSide::Governance,
        model.as_str(),
        fields::MODEL_STATUS,
        status,
    )
}

mod shared_group;
pub use shared_group::{
    DEVELOPMENT_ACCOUNT_ACTIONS, development_accounts, development_accounts_policy,
};

#[cfg(test)]
mod tests;

/// The decision event of a status write govsync is about to make (F4): what the package will hold,
/// who decided and when as governance records it, and the use case as govsync last wrote it onto the
/// package (its Model Card entries, else the packed links), so no governance read is added for it.
pub fn decision_of(
    model: &GovernanceObject,
    revision: Revision,
    package: &ModelVersion,
    write: &ModelWrite,
    console: &super::ConsoleLinks,
    artifact: Option<&crate::artifact::ArtifactFingerprint>,
) -> crate::decision_event::DecisionDetail {
    let card = package
        .technical
        .facts
        .model_card
        .as_ref()
        .and_then(|card| card.content.as_deref())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|value| value.as_object().map(crate::model_card::govsync_entries))
        .unwrap_or_default();
    let use_case = match card.get(crate::model_card::entries::USE_CASE_ID) {
        Some(id) => Some(crate::decision_event::UseCaseRef {
            id: id.clone(),
            name: card.get(crate::model_card::entries::USE_CASE_NAME).cloned(),
            risk_level: card.get(crate::model_card::entries::RISK_LEVEL).cloned(),
        }),
        None => crate::sync::registry::WrittenLinks::read(&package.customer_metadata)
            .use_case
            .map(|id| crate::decision_event::UseCaseRef {
                id,
                name: None,
                risk_level: None,
            }),
    };
    let approval = write
        .update
        .approval_status
        .or(package.approval)
        .unwrap_or(ApprovalStatus::PendingManualApproval);
    let lifecycle = write
        .update
        .lifecycle
        .as_ref()
        .or(package.lifecycle.as_ref());
    crate::decision_event::Decision {
        package: &package.arn,
        approval,
        lifecycle,
        model: &model.id,
        model_link: console.object_url(&model.id).map(|url| url.to_string()),
        status: write.status.as_str(),
        revision,
        decided_by: text_field(model, fields::LAST_MODIFIED_BY),
        decided_at: object_modified_at(model)
            .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true)),
        use_case,
        artifact,
    }
    .detail()
}
