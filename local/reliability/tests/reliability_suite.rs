//! The reliability suite (issue 7, item 4): a seeded, randomised run of a few thousand mixed registry
//! and governance events through govsync's real handlers, with the delivery faults of design §4, then
//! a check that every object ended in the state the last event implies, no email went out twice, the
//! DLQs hold exactly the permanent failures (with their reasons) and nothing was lost.
//!
//! # What runs where
//!
//! Everything runs in this process, in memory, so the suite is part of every `cargo test` and takes
//! seconds (moto answers ~17 events/s; the same thousands of events through it would take minutes):
//!
//! - **The code under test is real**: the `Handler`s of registry-events (F2, F3, F5 archive/gone),
//!   approval-propagation (F1, F4, the F6 hand-off) and decommission (F5 CloudTrail deletions, F6
//!   archiving), called batch by batch exactly as `handle_with` calls them in Lambda.
//! - **The remote side is `govsync_adapters::fakes`**: the governance platform, the SageMaker registry,
//!   the idempotency and links tables, the DLQs, SES and the decommission queue. They keep the semantics
//!   the real adapters rely on (conditional revisions, the idempotency protocol, metadata merge, FIFO
//!   deduplication, last-modification stamps).
//! - **The delivery is simulated here** ([`SimQueue`], [`Pending`]): EventBridge and the webhook deliver
//!   at least once and in any order (each event 1–3 times, shuffled across and within objects); each
//!   SQS FIFO queue hands out batches of ≤ 10 as Lambda's event source mapping does (a message group is
//!   blocked while any of its messages is invisible; failures go back in place with their receive count
//!   raised; each queue's `maxReceiveCount` as in `local/wiring.json`, past which SQS would redrive a
//!   message to the DLQ *without* a reason: counted as lost). Every write govsync makes comes back as the event
//!   the other side would emit (state change for a package, webhook for a governance object), so echo
//!   loops would show as a run that never drains.
//!
//! # Faults, and why they are injected at the ports here
//!
//! Faults are armed on the fakes' ports (`fail_next`, `set_latency`, `clear_failures`), seeded:
//! governance 429 bursts, 500/503s and added latency; SES throttling (`NotifyError::Throttled`, armed
//! until the next send meets it); DynamoDB throttling on the idempotency and links tables
//! (`StoreError::Throttled`, what the adapters map `ProvisionedThroughputExceededException` /
//! `ThrottlingException` to); SageMaker throttling. Injecting at the port rather than on the wire is the
//! choice that fits the time bound: it runs the functions' own classification and retry path (retryable
//! → batch item failure → redelivery, idempotency claim released or left to expire) for thousands of
//! events in seconds. The wire path — the SDK seeing real throttling responses, its own retries, the
//! adapters' mapping of them — is `moto_slice.rs` beside this file: registry-events as deployed, against
//! the local stack, behind a seeded fault proxy in front of moto.
//!
//! A **function killed mid-batch** is the handler future dropped while it waits on a (briefly slowed)
//! remote call: whatever it wrote stays written, nothing is acknowledged, its idempotency claims stay
//! in progress until the invocation deadline, and the batch becomes visible again after the visibility
//! timeout, to be redelivered. Time is scaled down: claims last [`CLAIM`], the visibility timeout is
//! [`VISIBILITY`] (longer, as AWS requires the visibility timeout to be at least the function timeout),
//! and a message reported failed also comes back only after it.
//!
//! A burst lasts one batch (faults no call took are dropped after it). Faults and kills are armed
//! whatever a message's receive count, so a message can fail on govsync's last allowed receive: it must
//! then be quarantined with `retries_exhausted` and its last error (never redriven by SQS without a
//! reason). After each drain the suite plays the operator: it redrives every `retries_exhausted`
//! message from its DLQ to its queue (`govsync dlq redrive`) and drains again, so those changes must
//! still end applied, in order. Messages reported failed only because an earlier message of their
//! group failed (`group_blocked`) count receives too, as in SQS.
//!
//! # The expected state
//!
//! The generator keeps a small model of what the users did: per package its artifact URL and its
//! description (the F3 metadata changes: a retrained artifact, a new description, or both), whether it
//! was deleted, the last status set on it — in governance on most packages (`to_registry` and `both`
//! rows of the default mapping, whose registry target is written out in [`STATUSES`]), in SageMaker
//! on the others (lifecycles of the `both` rows, so A → B → A sequences flow to governance), never both
//! on one package, since the design orders changes per object and side, not across sides —, shadow approvals; per
//! use case whether it was approved (F1) or decommissioned (F6). Cross-object races the design does not
//! order (a model's status against its use case's decommissioning) are kept apart: use cases are
//! decommissioned in a second phase, after the first drained.
//!
//! The seed fixes every choice the generator and the fault plan make; what the clock decides (where a
//! kill lands, governance's millisecond modification stamps) can differ between runs of one seed, so a
//! replay reproduces the plan, not necessarily every interleaving.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, SecondsFormat, Utc};
use govsync_adapters::fakes::{
    FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeMessageQueue, FakeNotifier,
    FakeQuarantine, FakeRegistry, LAST_MODIFICATION_DATE, registered_package,
};
use govsync_adapters::governance::TypeIds;
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    ApprovalStatus, Field, FieldValue, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceObject, ModelLifecycle, ModelPackage, NewGovernanceObject, NotifyError,
    RegistryError, StoreError,
};
use govsync_core::sync::decommission::{ArchiveTarget, DecommissionPolicy};
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities, fields};
use govsync_core::{MappingSpec, RegistryMap};
use govsync_lambda::sqs_batch::{MAX_RECEIVE_COUNT as LAST_RECEIVE, RETRIES_EXHAUSTED};
use serde_json::{Value, json};

const SEED_ENV: &str = "GOVSYNC_RELIABILITY_SEED";
const DEFAULT_SEED: u64 = 0x6047_5359_4e43_0007;
const ACCOUNT: &str = "123456789012";
const UNKNOWN_ACCOUNT: &str = "999999999999";
/// The group a hostile event's detail names instead of its ARN's.
const LYING_GROUP: &str = "elsewhere";
const REGION: &str = "us-east-1";
const ENTITY: &str = "Retail Banking";
const PERSON: &str = "arn:aws:sts::123456789012:assumed-role/data-scientist/alice";
const GOVSYNC_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync";
/// Indices into [`STATUSES`] of the `both` rows a data scientist may set in SageMaker.
const REGISTRY_DRIVEN_STATUSES: [usize; 2] = [0, 1];
const BATCH_SIZE: usize = 10;
/// The invocation deadline every claim is made until (Lambda's remaining time), scaled down from
/// minutes so the run stays short.
const CLAIM: Duration = Duration::from_millis(100);
/// The queues' visibility timeout: a received message not deleted comes back this long after it was
/// received (AWS requires it to be at least the function timeout, so past every claim).
const VISIBILITY: Duration = Duration::from_millis(130);
/// User events to generate in the first phase (each then delivered 1–3 times).
const USER_EVENTS: usize = 2_200;
const ASSIGNED_USE_CASES: usize = 6;
const GROUPS_PER_USE_CASE: usize = 2;
const F1_USE_CASES: usize = 30;
const DECOMMISSIONED_USE_CASES: usize = 2;
const REGISTRY_QUEUE_GROUP: &str = "registry-events";
const DECOMMISSION_QUEUE_GROUP: &str = "decommission";

/// Governance model statuses the users set, with the registry state the default mapping gives each
/// (`shared/core/src/default_mapping.toml`): (status, stage, stage status, approval). The `both` rows
/// (`Under Development`, `Development Complete`) come back from the registry as govsync's own writes,
/// and an approver going A → B → A through them must be obeyed each time (issue 13).
const STATUSES: [(&str, &str, &str, ApprovalStatus); 7] = [
    (
        "Under Development",
        "Development",
        "InProgress",
        ApprovalStatus::PendingManualApproval,
    ),
    (
        "Development Complete",
        "Development",
        "Complete",
        ApprovalStatus::PendingManualApproval,
    ),
    (
        "Model Definition",
        "Development",
        "Review",
        ApprovalStatus::PendingManualApproval,
    ),
    (
        "Candidate for Validation",
        "Validation",
        "PendingApproval",
        ApprovalStatus::PendingManualApproval,
    ),
    (
        "Validation In Progress",
        "Validation",
        "InProgress",
        ApprovalStatus::PendingManualApproval,
    ),
    (
        "Approved for Deployment",
        "PreProduction",
        "Approved",
        ApprovalStatus::Approved,
    ),
    (
        "Approved for Production",
        "Production",
        "Approved",
        ApprovalStatus::Approved,
    ),
];

// ---------------------------------------------------------------------------------------------
// Seeded randomness (SplitMix64: small, fast, the same on every platform)

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery: EventBridge/webhook in flight, and SQS FIFO queues as Lambda's event source sees them

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum QueueKind {
    Registry,
    Governance,
    Decommission,
}

impl QueueKind {
    fn name(self) -> &'static str {
        match self {
            QueueKind::Registry => "registry-events",
            QueueKind::Governance => "approval-propagation",
            QueueKind::Decommission => "decommission",
        }
    }

    /// The queue's `maxReceiveCount` in `local/wiring.json` (its redrive policy: SQS's backstop past
    /// govsync's own last receive).
    fn redrive_max_receive_count(self) -> u32 {
        let queue = match self {
            QueueKind::Registry => "registry-events.fifo",
            QueueKind::Governance => "governance-events.fifo",
            QueueKind::Decommission => "decommission.fifo",
        };
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../wiring.json");
        let wiring: Value = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(|| panic!("{path} is readable JSON"));
        wiring["queues"]
            .as_array()
            .and_then(|queues| queues.iter().find(|q| q["name"] == queue))
            .and_then(|q| q["max_receive_count"].as_u64())
            .and_then(|count| u32::try_from(count).ok())
            .unwrap_or_else(|| panic!("{path} gives {queue} a max_receive_count"))
    }
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    group: String,
    receives: u32,
    visible_at: Instant,
}

#[derive(Debug)]
struct SimQueue {
    messages: VecDeque<Message>,
    max_receive_count: u32,
}

impl SimQueue {
    fn new(kind: QueueKind) -> Self {
        SimQueue {
            messages: VecDeque::new(),
            max_receive_count: kind.redrive_max_receive_count(),
        }
    }

    /// Up to 10 visible messages, skipping every group that has an invisible (in-flight) message, in
    /// order; messages past the redrive policy's `maxReceiveCount` are redriven instead (returned apart).
    fn receive(&mut self, now: Instant) -> (Vec<Message>, Vec<Message>) {
        let mut blocked: HashSet<String> = HashSet::new();
        let mut batch = Vec::new();
        let mut redriven = Vec::new();
        let mut index = 0;
        while index < self.messages.len() && batch.len() < BATCH_SIZE {
            let message = &mut self.messages[index];
            if blocked.contains(&message.group) {
                index += 1;
                continue;
            }
            if message.visible_at > now {
                blocked.insert(message.group.clone());
                index += 1;
                continue;
            }
            if message.receives >= self.max_receive_count {
                if let Some(message) = self.messages.remove(index) {
                    redriven.push(message);
                }
                continue;
            }
            message.receives += 1;
            batch.push(message.clone());
            index += 1;
        }
        (batch, redriven)
    }

    fn settle(&mut self, ids: &HashSet<String>) {
        self.messages.retain(|message| !ids.contains(&message.id));
    }

    fn hide(&mut self, ids: &HashSet<String>, until: Instant) {
        for message in &mut self.messages {
            if ids.contains(&message.id) {
                message.visible_at = until;
            }
        }
    }

    fn next_visible_at(&self) -> Option<Instant> {
        self.messages.iter().map(|message| message.visible_at).min()
    }
}

/// Events on their way to a queue (EventBridge targets, webhook deliveries): at least once, any order.
#[derive(Debug)]
struct Pending {
    queue: QueueKind,
    body: String,
    group: String,
}

// ---------------------------------------------------------------------------------------------
// The world: the fakes, the three handlers, the users' model of what should be

type RegistryEvents = govsync_registry_events::Handler<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeQuarantine,
>;
type ApprovalPropagation = govsync_approval_propagation::Handler<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeQuarantine,
    FakeNotifier,
    FakeMessageQueue,
>;
type Decommission = govsync_decommission::Handler<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeQuarantine,
>;
type MetricsRelay = govsync_metrics_relay::Relay<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeQuarantine,
>;

#[derive(Debug, Default, Clone)]
struct PackageModel {
    use_case: usize,
    /// Its artifact (`ModelDataUrl`), synced to the model's `MRG-Model:Model Data URL` (F3).
    model_data_url: String,
    /// Its `ModelPackageDescription`, synced to the model's description (F3).
    description: String,
    deleted: bool,
    /// Index into [`STATUSES`] of the last status set on its governance model.
    status: Option<usize>,
    /// Its model was given a status the mapping does not know: every event about it is permanent.
    poisoned_model: Option<GovernanceId>,
    /// Its status is set in SageMaker (lifecycles of `both` rows), never in governance.
    registry_driven: bool,
}

#[derive(Debug, Default)]
struct Counts {
    user_events: usize,
    echo_events: usize,
    permanent_events: usize,
    duplicates_delivered: usize,
    deliveries: usize,
    batches: usize,
    faults: BTreeMap<&'static str, usize>,
    retries: usize,
    kills: usize,
    killed_messages: usize,
    /// Messages quarantined with `retries_exhausted` and redriven by the operator.
    exhausted_redriven: usize,
    /// Lifecycle changes made in SageMaker on `both` rows (registry-driven status).
    registry_status_changes: usize,
    /// Events an attacker or a confused source could send (issue 13): each must have no wrong effect.
    hostile: BTreeMap<&'static str, usize>,
    outcomes: BTreeMap<(QueueKind, &'static str), usize>,
}

struct Sim {
    rng: Rng,
    governance: Arc<FakeGovernance>,
    registry: Arc<FakeRegistry>,
    idempotency: Arc<FakeIdempotencyStore>,
    links: Arc<FakeLinkStore>,
    notifier: Arc<FakeNotifier>,
    decommission_out: Arc<FakeMessageQueue>,
    dlq: BTreeMap<QueueKind, Arc<FakeQuarantine>>,
    registry_events: RegistryEvents,
    approval_propagation: ApprovalPropagation,
    decommission: Decommission,
    /// metrics-relay (F7), invoked per event as EventBridge does; only hostile events reach it here.
    metrics_relay: MetricsRelay,
    metrics_dlq: Arc<FakeQuarantine>,
    /// Metrics events from outside the package's registry, waiting for their invocation.
    foreign_metrics: Vec<Value>,
    /// What metrics-relay did with a foreign event other than refuse it.
    metrics_problems: Vec<String>,
    queues: BTreeMap<QueueKind, SimQueue>,
    pool: Vec<Pending>,
    redriven: Vec<(QueueKind, Message)>,
    forwarded_requests: usize,
    next_message: u64,
    // What has been seen of each side, to emit the events its changes cause.
    seen_packages: HashMap<String, DateTime<Utc>>,
    seen_objects: HashMap<GovernanceId, String>,
    // The users' model.
    assigned_use_cases: Vec<GovernanceObject>,
    groups: Vec<(String, usize)>,
    packages: BTreeMap<String, PackageModel>,
    next_version: HashMap<String, i32>,
    f1_use_cases: Vec<(GovernanceObject, String)>,
    f1_approved: Vec<bool>,
    decommissioned_use_cases: BTreeSet<usize>,
    /// Source message ids that must end in a DLQ, and those that may (any event about a poisoned model).
    must_quarantine: BTreeMap<String, QueueKind>,
    poisoned_models: HashSet<GovernanceId>,
    /// What each delivery of each message came to (the report of a redriven message).
    history: HashMap<String, Vec<String>>,
    /// The kind of fault armed for the running batch.
    armed: Option<&'static str>,
    /// Every message enqueued, for the DLQ report.
    delivered: HashMap<String, (QueueKind, String)>,
    counts: Counts,
}

fn registries() -> RegistryMap {
    RegistryMap::parse(&format!(
        r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"{ENTITY}"}}]"#
    ))
    .expect("a valid registry map")
}

fn writers() -> WriterIdentities {
    let mut writers = WriterIdentities::new();
    writers
        .add(GOVSYNC_CALLER)
        .expect("a valid writer identity");
    writers
}

fn rfc3339(time: Option<DateTime<Utc>>) -> Value {
    time.map(|t| json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// SageMaker's "Model Package State Change" event for `package` as it is now.
fn state_change(package: &ModelPackage, account: &str, event_id: &str) -> String {
    let mut detail = json!({
        "ModelPackageArn": package.arn,
        "ModelPackageGroupName": package.group_name,
        "ModelPackageVersion": package.version,
        "ModelPackageStatus": package.status,
        "ModelApprovalStatus": package.approval_status.map(|a| a.as_str()),
        "ModelPackageDescription": package.description,
        "CreationTime": rfc3339(package.creation_time),
        "LastModifiedTime": rfc3339(package.last_modified_time),
        "CustomerMetadataProperties": package.customer_metadata,
    });
    let containers: Vec<Value> = package
        .inference_images
        .iter()
        .zip(package.model_data_urls.iter())
        .map(|(image, data)| json!({"Image": image, "ModelDataUrl": data}))
        .collect();
    detail["InferenceSpecification"] = json!({"Containers": containers});
    if let Some(lifecycle) = &package.lifecycle {
        detail["ModelLifeCycle"] = json!({
            "Stage": lifecycle.stage, "StageStatus": lifecycle.stage_status
        });
    }
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": rfc3339(package.last_modified_time),
        "region": REGION,
        "resources": [package.arn],
        "detail": detail
    })
    .to_string()
}

/// CloudTrail's record of a person deleting a package (routed to decommission.fifo).
fn package_deleted(arn: &str, event_id: &str) -> String {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "version": "0", "id": format!("env-{event_id}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker", "account": ACCOUNT, "time": now, "region": REGION, "resources": [],
        "detail": {
            "eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com",
            "eventName": "DeleteModelPackage", "eventTime": now, "eventID": event_id,
            "awsRegion": REGION, "userIdentity": {"type": "AssumedRole", "arn": PERSON},
            "requestParameters": {"modelPackageName": arn}, "responseElements": null,
            "recipientAccountId": ACCOUNT
        }
    })
    .to_string()
}

/// CloudTrail's record of a group created in an account outside the registry map: it names no
/// package a mapped registry owns, so it is quarantined (`unknown_registry`).
fn group_created_elsewhere(event_id: &str) -> String {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "version": "0", "id": format!("env-{event_id}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker", "account": UNKNOWN_ACCOUNT, "time": now, "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com",
            "eventName": "CreateModelPackageGroup", "eventTime": now, "eventID": event_id,
            "awsRegion": REGION, "userIdentity": {"type": "AssumedRole", "arn": PERSON},
            "requestParameters": {"modelPackageGroupName": "elsewhere"},
            "responseElements": {"modelPackageGroupArn": format!("arn:aws:sagemaker:{REGION}:{UNKNOWN_ACCOUNT}:model-package-group/elsewhere")},
            "recipientAccountId": UNKNOWN_ACCOUNT
        }
    })
    .to_string()
}

/// The governance event the webhook function enqueues for a change of `object`.
fn governance_event(object: &GovernanceId, delivery: &str, event_type: &str) -> String {
    json!({
        "schema": "govsync.governance-event/v1",
        "source": "webhook",
        "delivery_id": delivery,
        "event_type": event_type,
        "object_id": object.as_str(),
        "object_type": null,
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "changed_fields": [],
    })
    .to_string()
}

fn sqs_record(queue: QueueKind, message: &Message) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": message.id,
        "receiptHandle": format!("rh-{}-{}", message.id, message.receives),
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": message.receives.to_string(),
            "MessageGroupId": message.group,
            "MessageDeduplicationId": message.id,
            "SentTimestamp": "1767345504000"
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}.fifo", queue.name()),
        "awsRegion": REGION
    }))
    .expect("a well-formed SQS record")
}

fn text(object: &GovernanceObject, name: &str) -> Option<String> {
    object.field(name).and_then(FieldValue::as_text)
}

fn throttled_store(operation: &'static str) -> StoreError {
    StoreError::Throttled {
        operation,
        message: "ProvisionedThroughputExceededException (injected)".into(),
    }
}

fn governance_status(status: u16) -> GovernanceError {
    GovernanceError::Status {
        operation: "injected",
        status,
        body: "injected fault".into(),
    }
}

impl Sim {
    fn new(seed: u64) -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let registry = Arc::new(FakeRegistry::new(ACCOUNT, REGION));
        let idempotency = Arc::new(FakeIdempotencyStore::new());
        // As deployed: registry-events' commits write claims and links in one transaction.
        let links = Arc::new(FakeLinkStore::new().with_idempotency(Arc::clone(&idempotency)));
        let notifier = Arc::new(FakeNotifier::new());
        let decommission_out = Arc::new(FakeMessageQueue::new());
        let dlq: BTreeMap<QueueKind, Arc<FakeQuarantine>> = [
            QueueKind::Registry,
            QueueKind::Governance,
            QueueKind::Decommission,
        ]
        .into_iter()
        .map(|kind| (kind, Arc::new(FakeQuarantine::new())))
        .collect();
        let registries = registries();
        let entry = registries.registries()[0].clone();
        let mapping = MappingSpec::builtin().expect("the built-in mapping");
        let console = ConsoleLinks::new("https://grc.example.com").expect("a console url");
        let registry_events = govsync_registry_events::Handler::new(
            govsync_registry_events::Settings {
                registries: registries.clone(),
                writers: writers(),
                gate: GateMode::Enforce,
                mapping: mapping.clone(),
                console: console.clone(),
                model_links: None,
            },
            Arc::clone(&governance),
            vec![(entry.clone(), Arc::clone(&registry))],
            Arc::clone(&idempotency),
            Arc::clone(&links),
            Arc::clone(&dlq[&QueueKind::Registry]),
        );
        let approval_propagation = govsync_approval_propagation::Handler::new(
            govsync_approval_propagation::Settings {
                registries: registries.clone(),
                mapping: mapping.clone(),
                console,
                sender: Some("govsync@example.com".into()),
                type_ids: TypeIds::default(),
            },
            govsync_approval_propagation::Ports {
                governance: Arc::clone(&governance),
                registries: vec![(entry.clone(), Arc::clone(&registry))],
                idempotency: Arc::clone(&idempotency),
                links: Arc::clone(&links),
                quarantine: Arc::clone(&dlq[&QueueKind::Governance]),
                notifier: Arc::clone(&notifier),
                decommission: Arc::clone(&decommission_out),
            },
        );
        // A Red value would move a model to the bundled breach status: a foreign one must not.
        let metrics_dlq = Arc::new(FakeQuarantine::new());
        let metrics_relay = govsync_metrics_relay::Relay::new(
            govsync_metrics_relay::Settings {
                registries: registries.clone(),
                breach_status: Some(
                    govsync_core::GovernanceStatus::parse("Under Review").expect("a status"),
                ),
                terminal_statuses: vec!["Decommissioned".into()],
                amber_margin: 0.05,
            },
            Arc::clone(&governance),
            vec![(entry.clone(), Arc::clone(&registry))],
            Arc::clone(&idempotency),
            Arc::clone(&links),
            Arc::clone(&metrics_dlq),
        );
        let policy = DecommissionPolicy::from_mapping(&mapping, None);
        let archive = ArchiveTarget::from_mapping(&mapping, &policy.status)
            .expect("an archive target in the built-in mapping");
        let decommission = govsync_decommission::Handler::new(
            govsync_decommission::Settings {
                registries,
                writers: writers(),
                policy,
                archive,
            },
            Arc::clone(&governance),
            vec![(entry, Arc::clone(&registry))],
            Arc::clone(&idempotency),
            Arc::clone(&links),
            Arc::clone(&dlq[&QueueKind::Decommission]),
        );
        Self {
            rng: Rng(seed),
            governance,
            registry,
            idempotency,
            links,
            notifier,
            decommission_out,
            dlq,
            registry_events,
            approval_propagation,
            decommission,
            metrics_relay,
            metrics_dlq,
            foreign_metrics: Vec::new(),
            metrics_problems: Vec::new(),
            queues: [
                QueueKind::Registry,
                QueueKind::Governance,
                QueueKind::Decommission,
            ]
            .into_iter()
            .map(|kind| (kind, SimQueue::new(kind)))
            .collect(),
            pool: Vec::new(),
            redriven: Vec::new(),
            forwarded_requests: 0,
            next_message: 0,
            seen_packages: HashMap::new(),
            seen_objects: HashMap::new(),
            assigned_use_cases: Vec::new(),
            groups: Vec::new(),
            packages: BTreeMap::new(),
            next_version: HashMap::new(),
            f1_use_cases: Vec::new(),
            f1_approved: Vec::new(),
            decommissioned_use_cases: BTreeSet::new(),
            must_quarantine: BTreeMap::new(),
            poisoned_models: HashSet::new(),
            delivered: HashMap::new(),
            history: HashMap::new(),
            armed: None,
            counts: Counts::default(),
        }
    }

    fn message_id(&mut self) -> String {
        self.next_message += 1;
        format!("msg-{:06}", self.next_message)
    }

    /// The inventory the users start from: a business entity, use cases already approved (their
    /// registry groups tagged by the data scientists), and use cases still to be approved (F1).
    fn seed_inventory(&mut self) {
        let entity = self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: ENTITY.into(),
            description: None,
            parent_id: None,
            fields: vec![],
        });
        for index in 0..ASSIGNED_USE_CASES {
            let use_case = self.governance.insert(&NewGovernanceObject {
                kind: GovernanceKind::UseCase,
                name: format!("Assigned use case {index:02}"),
                description: None,
                parent_id: Some(entity.id.clone()),
                fields: vec![
                    Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                    Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
                    Field::text(
                        fields::USE_CASE_TEAM_EMAIL,
                        format!("assigned-{index:02}@example.com"),
                    ),
                ],
            });
            for g in 0..GROUPS_PER_USE_CASE {
                let name = format!("rel-uc{index:02}-g{g}");
                self.registry.add_group(
                    &name,
                    BTreeMap::from([(keys::USE_CASE_ID.to_owned(), use_case.id.to_string())]),
                );
                self.groups.push((name, index));
            }
            self.assigned_use_cases.push(use_case);
        }
        for index in 0..F1_USE_CASES {
            let team = format!("team-{index:02}@example.com");
            let use_case = self.governance.insert(&NewGovernanceObject {
                kind: GovernanceKind::UseCase,
                name: format!("New use case {index:02}"),
                description: None,
                parent_id: Some(entity.id.clone()),
                fields: vec![
                    Field::choice(fields::USE_CASE_STATUS, "Proposed"),
                    Field::choice(fields::USE_CASE_RISK_LEVEL, "Medium"),
                    Field::text(fields::USE_CASE_TEAM_EMAIL, team.clone()),
                    Field::text("Last Modified By", "jane@example.com"),
                ],
            });
            self.f1_use_cases.push((use_case, team));
            self.f1_approved.push(false);
        }
        // Nothing of the seed is an event.
        self.observe_changes(false);
    }

    /// Puts `body` on its way to `queue` 1–3 times (EventBridge and the webhook deliver at least once).
    fn emit(&mut self, queue: QueueKind, body: String, group: String, may_duplicate: bool) {
        let copies = if !may_duplicate {
            1
        } else if self.rng.chance(0.1) {
            3
        } else if self.rng.chance(0.2) {
            2
        } else {
            1
        };
        self.counts.duplicates_delivered += copies - 1;
        for _ in 0..copies {
            self.pool.push(Pending {
                queue,
                body: body.clone(),
                group: group.clone(),
            });
        }
    }

    /// Emits the event every change since the last look causes: a state change for each package whose
    /// `LastModifiedTime` moved, a webhook delivery for each governance object whose
    /// `Last Modification Date` moved. With `emit` false, only records what is there.
    fn observe_changes(&mut self, emit: bool) -> usize {
        let mut emitted = 0;
        for package in self.registry.packages() {
            let Some(modified) = package.last_modified_time else {
                continue;
            };
            if self.seen_packages.get(package.arn.as_str()) == Some(&modified) {
                continue;
            }
            self.seen_packages.insert(package.arn.to_string(), modified);
            if emit {
                let event_id = format!("sc-{}", self.message_id());
                let body = state_change(&package, ACCOUNT, &event_id);
                self.emit(QueueKind::Registry, body, REGISTRY_QUEUE_GROUP.into(), true);
                emitted += 1;
                if self.rng.chance(0.06) {
                    self.emit_hostile_variant(&package);
                }
            }
        }
        for object in self.governance.objects() {
            let modified = text(&object, LAST_MODIFICATION_DATE).unwrap_or_default();
            let event_type = match self.seen_objects.get(&object.id) {
                Some(seen) if *seen == modified => continue,
                Some(_) => "object.updated",
                None => "object.created",
            };
            self.seen_objects.insert(object.id.clone(), modified);
            if emit {
                let delivery = format!("wh-{}", self.message_id());
                let body = governance_event(&object.id, &delivery, event_type);
                self.emit(QueueKind::Governance, body, object.id.to_string(), true);
                emitted += 1;
            }
        }
        emitted
    }

    /// A variant of a real state change that must change nothing wrong: the same package in another
    /// account's envelope (a hint, read from the owner), a detail naming another group (the ARN's group
    /// counts), the same group and version in an account outside the map (skipped), or a Red metric
    /// about the package sent from another account or region (refused by metrics-relay).
    fn emit_hostile_variant(&mut self, package: &ModelPackage) {
        let event_id = format!("hostile-{}", self.message_id());
        let (kind, body) = match self.rng.below(4) {
            3 => {
                let (account, region) = if self.rng.chance(0.5) {
                    (UNKNOWN_ACCOUNT, REGION)
                } else {
                    (ACCOUNT, "eu-west-1")
                };
                self.foreign_metrics.push(json!({
                    "version": "0", "id": event_id, "source": "govsync.metrics",
                    "detail-type": "Model Metric Recorded", "account": account, "region": region,
                    "time": rfc3339(Some(Utc::now())), "resources": [],
                    "detail": {"model_package_arn": package.arn.as_str(), "metric": "auc",
                               "value": 0.1, "timestamp": rfc3339(Some(Utc::now())),
                               "thresholds": {"lower": 0.8}, "source": "nightly-evaluation"}
                }));
                *self.counts.hostile.entry("foreign metrics").or_default() += 1;
                return;
            }
            0 => (
                "foreign envelope",
                state_change(package, UNKNOWN_ACCOUNT, &event_id),
            ),
            1 => {
                let mut body: Value =
                    serde_json::from_str(&state_change(package, ACCOUNT, &event_id))
                        .unwrap_or(Value::Null);
                body["detail"]["ModelPackageGroupName"] = json!(LYING_GROUP);
                ("lying group", body.to_string())
            }
            _ => {
                let mut foreign = package.clone();
                let Ok(arn) = govsync_core::ModelPackageArn::parse(
                    &package.arn.as_str().replace(ACCOUNT, UNKNOWN_ACCOUNT),
                ) else {
                    return;
                };
                foreign.arn = arn;
                (
                    "foreign package",
                    state_change(&foreign, UNKNOWN_ACCOUNT, &event_id),
                )
            }
        };
        *self.counts.hostile.entry(kind).or_default() += 1;
        self.emit(
            QueueKind::Registry,
            body,
            REGISTRY_QUEUE_GROUP.into(),
            false,
        );
    }

    fn model_of(&self, arn: &str) -> Vec<GovernanceObject> {
        self.governance
            .objects()
            .into_iter()
            .filter(|object| object.type_definition_id == "Model")
            .filter(|object| text(object, fields::EXTERNAL_ID).as_deref() == Some(arn))
            .collect()
    }

    fn live_packages(&self) -> Vec<String> {
        self.packages
            .iter()
            .filter(|(_, model)| {
                !model.deleted
                    && model.poisoned_model.is_none()
                    && !self.decommissioned_use_cases.contains(&model.use_case)
            })
            .map(|(arn, _)| arn.clone())
            .collect()
    }

    /// A user changes a package in SageMaker: `change` edits the package as described now.
    fn change_package(&mut self, arn: &str, change: impl FnOnce(&mut ModelPackage)) -> bool {
        let Some(mut package) = self.registry.package(arn) else {
            return false;
        };
        change(&mut package);
        let previous = package.last_modified_time.unwrap_or_else(Utc::now);
        let now = Utc::now();
        package.last_modified_time = Some(if now > previous {
            now
        } else {
            previous + chrono::Duration::milliseconds(1)
        });
        package.last_modified_by = Some(PERSON.to_owned());
        self.registry.put_package(package);
        true
    }

    /// One user action on either side; returns how many events it caused (0 when nothing applied).
    async fn user_action(&mut self) -> usize {
        let roll = self.rng.below(100);
        let live = self.live_packages();
        match roll {
            // A new version registered (F2).
            0..=24 => {
                let (group, use_case) = self.groups[self.rng.below(self.groups.len())].clone();
                let version = {
                    let next = self.next_version.entry(group.clone()).or_insert(1);
                    *next += 1;
                    *next - 1
                };
                let mut package = registered_package(&self.registry, &group, version);
                let description = format!("{group} model v{version}");
                package.description = Some(description.clone());
                package.inference_images = vec![format!(
                    "123.dkr.ecr.us-east-1.amazonaws.com/{group}:{version}"
                )];
                let model_data_url = format!("s3://models/{group}/{version}/model.tar.gz");
                package.model_data_urls = vec![model_data_url.clone()];
                package.created_by = Some(PERSON.to_owned());
                if self.rng.chance(0.05) {
                    // An event about the version before SageMaker has it (issue 13, 2): no tombstone,
                    // no decommission; the version syncs live once registered.
                    let event_id = format!("stray-{}", self.message_id());
                    let body = state_change(&package, ACCOUNT, &event_id);
                    *self
                        .counts
                        .hostile
                        .entry("stray ahead of registration")
                        .or_default() += 1;
                    self.emit(
                        QueueKind::Registry,
                        body,
                        REGISTRY_QUEUE_GROUP.into(),
                        false,
                    );
                }
                let registry_driven = self.rng.chance(0.25);
                self.packages.insert(
                    package.arn.to_string(),
                    PackageModel {
                        use_case,
                        model_data_url,
                        description,
                        registry_driven,
                        ..PackageModel::default()
                    },
                );
                self.registry.put_package(package);
                self.observe_changes(true)
            }
            // A metadata change in SageMaker (F3): a retrained artifact, a new description, or both.
            25..=44 if !live.is_empty() => {
                let arn = live[self.rng.below(live.len())].clone();
                let revision = self.rng.next() % 100_000;
                let (new_url, new_description) = match self.rng.below(3) {
                    0 => (true, false),
                    1 => (false, true),
                    _ => (true, true),
                };
                let url = new_url.then(|| format!("s3://models/retrained/{revision}/model.tar.gz"));
                let description =
                    new_description.then(|| format!("retrained as revision {revision}"));
                let (applied_url, applied_description) = (url.clone(), description.clone());
                if !self.change_package(&arn, |package| {
                    if let Some(url) = applied_url {
                        package.model_data_urls = vec![url];
                    }
                    if let Some(description) = applied_description {
                        package.description = Some(description);
                    }
                }) {
                    return 0;
                }
                if let Some(model) = self.packages.get_mut(&arn) {
                    if let Some(url) = url {
                        model.model_data_url = url;
                    }
                    if let Some(description) = description {
                        model.description = description;
                    }
                }
                self.observe_changes(true)
            }
            // A shadow approval in SageMaker (F3 gate): approved by hand, behind governance's back.
            45..=54 if !live.is_empty() => {
                let arn = live[self.rng.below(live.len())].clone();
                let approved = self
                    .registry
                    .package(&arn)
                    .is_some_and(|p| p.approval_status == Some(ApprovalStatus::Approved));
                if approved {
                    return 0;
                }
                self.change_package(&arn, |package| {
                    package.approval_status = Some(ApprovalStatus::Approved);
                });
                self.observe_changes(true)
            }
            // A lifecycle set in SageMaker on a `both` row: the status flows to governance, and a data
            // scientist going A -> B -> A is followed each time.
            55..=64 => {
                let driven: Vec<String> = live
                    .iter()
                    .filter(|arn| self.packages.get(*arn).is_some_and(|p| p.registry_driven))
                    .cloned()
                    .collect();
                if driven.is_empty() {
                    return 0;
                }
                let arn = driven[self.rng.below(driven.len())].clone();
                let index =
                    REGISTRY_DRIVEN_STATUSES[self.rng.below(REGISTRY_DRIVEN_STATUSES.len())];
                let (_, stage, stage_status, _) = STATUSES[index];
                let Ok(lifecycle) = ModelLifecycle::parse(stage, stage_status, None) else {
                    return 0;
                };
                if !self.change_package(&arn, |package| package.lifecycle = Some(lifecycle)) {
                    return 0;
                }
                if let Some(entry) = self.packages.get_mut(&arn) {
                    entry.status = Some(index);
                }
                self.counts.registry_status_changes += 1;
                self.observe_changes(true)
            }
            // A model status change in governance (F4), once the model exists there.
            65..=84 => {
                let driven_in_governance: Vec<String> = live
                    .iter()
                    .filter(|arn| self.packages.get(*arn).is_some_and(|p| !p.registry_driven))
                    .cloned()
                    .collect();
                if driven_in_governance.is_empty() {
                    return 0;
                }
                let arn = driven_in_governance[self.rng.below(driven_in_governance.len())].clone();
                let models = self.model_of(&arn);
                let [model] = models.as_slice() else {
                    return 0;
                };
                let poison = self.counts.permanent_events < 40 && self.rng.chance(0.01);
                let (status, index) = if poison {
                    ("Retired Elsewhere (not in the spec)", None)
                } else {
                    let index = self.rng.below(STATUSES.len());
                    (STATUSES[index].0, Some(index))
                };
                self.governance.edit(
                    &model.id,
                    &[
                        Field::choice(fields::MODEL_STATUS, status),
                        Field::text("Last Modified By", "jane@example.com"),
                    ],
                );
                if let Some(entry) = self.packages.get_mut(&arn) {
                    match index {
                        Some(index) => entry.status = Some(index),
                        None => entry.poisoned_model = Some(model.id.clone()),
                    }
                }
                if poison {
                    self.poisoned_models.insert(model.id.clone());
                    // This change's own deliveries must end in the DLQ.
                    let before = self.pool.len();
                    let emitted = self.observe_changes(true);
                    let ids: Vec<usize> = (before..self.pool.len()).collect();
                    for index in ids {
                        if self.pool[index].group == model.id.as_str() {
                            self.pool[index].body = mark_required(&self.pool[index].body);
                        }
                    }
                    self.counts.permanent_events += 1;
                    return emitted;
                }
                self.observe_changes(true)
            }
            // A use case approved in governance (F1).
            85..=89 => {
                let pending: Vec<usize> = (0..self.f1_use_cases.len())
                    .filter(|index| !self.f1_approved[*index])
                    .collect();
                let Some(&index) = pending.get(self.rng.below(pending.len().max(1))) else {
                    return 0;
                };
                let id = self.f1_use_cases[index].0.id.clone();
                self.governance.edit(
                    &id,
                    &[Field::choice(
                        fields::USE_CASE_STATUS,
                        "Approved for Development",
                    )],
                );
                self.f1_approved[index] = true;
                self.observe_changes(true)
            }
            // A package deleted in SageMaker (F5): CloudTrail to decommission.fifo.
            90..=93 if !live.is_empty() => {
                let arn = live[self.rng.below(live.len())].clone();
                let deleted = self.registry.delete_package(&arn).await.is_ok();
                if deleted {
                    if let Some(model) = self.packages.get_mut(&arn) {
                        model.deleted = true;
                    }
                    self.seen_packages.remove(&arn);
                    let event_id = format!("ct-{}", self.message_id());
                    self.emit(
                        QueueKind::Decommission,
                        package_deleted(&arn, &event_id),
                        DECOMMISSION_QUEUE_GROUP.into(),
                        true,
                    );
                    1
                } else {
                    0
                }
            }
            // Permanent failures: poison bodies and registries outside the map.
            94..=99 if self.counts.permanent_events < 40 => {
                self.counts.permanent_events += 1;
                let queue = [
                    QueueKind::Registry,
                    QueueKind::Governance,
                    QueueKind::Decommission,
                ][self.rng.below(3)];
                let token = self.message_id();
                let (body, group) = match (queue, self.rng.chance(0.5)) {
                    // A record naming no package, from an account outside the map.
                    (QueueKind::Registry, true) => (
                        group_created_elsewhere(&format!("unknown-{token}")),
                        REGISTRY_QUEUE_GROUP.to_owned(),
                    ),
                    (QueueKind::Registry, false) => (
                        format!("{{\"poison\": {token}"),
                        REGISTRY_QUEUE_GROUP.to_owned(),
                    ),
                    (QueueKind::Governance, _) => (
                        format!("poison governance event {token}"),
                        format!("poison-{token}"),
                    ),
                    (QueueKind::Decommission, _) => (
                        format!("[\"poison decommission request\", \"{token}\"]"),
                        DECOMMISSION_QUEUE_GROUP.to_owned(),
                    ),
                };
                // Permanent failures are delivered once: the DLQ is compared message for message.
                self.pool.push(Pending {
                    queue,
                    body: mark_required(&body),
                    group,
                });
                1
            }
            _ => 0,
        }
    }

    /// Moves a random part of the in-flight events onto their queues, in a random order.
    fn deliver(&mut self, probability: f64) {
        let mut delivered = Vec::new();
        let mut kept = Vec::new();
        for pending in std::mem::take(&mut self.pool) {
            if self.rng.chance(probability) {
                delivered.push(pending);
            } else {
                kept.push(pending);
            }
        }
        self.pool = kept;
        self.rng.shuffle(&mut delivered);
        for pending in delivered {
            let id = self.message_id();
            let (body, required) = unmark(&pending.body);
            if required {
                self.must_quarantine.insert(id.clone(), pending.queue);
            }
            self.counts.deliveries += 1;
            self.delivered
                .insert(id.clone(), (pending.queue, body.clone()));
            if let Some(queue) = self.queues.get_mut(&pending.queue) {
                queue.messages.push_back(Message {
                    id,
                    body,
                    group: pending.group,
                    receives: 0,
                    visible_at: Instant::now(),
                });
            }
        }
    }

    /// The decommission requests approval-propagation sent since the last look, onto decommission.fifo
    /// (an SQS send: in order, FIFO-deduplicated by the fake).
    fn forward_requests(&mut self) {
        let requests = self.decommission_out.messages();
        for request in requests.iter().skip(self.forwarded_requests) {
            let id = self.message_id();
            self.counts.deliveries += 1;
            if let Some(queue) = self.queues.get_mut(&QueueKind::Decommission) {
                queue.messages.push_back(Message {
                    id,
                    body: request.body.clone(),
                    group: request.message_group_id.clone(),
                    receives: 0,
                    visible_at: Instant::now(),
                });
            }
        }
        self.forwarded_requests = requests.len();
    }

    /// The operator's redrive (`govsync dlq redrive`): every message quarantined with
    /// `retries_exhausted` goes back to its queue, in its group, as a new message. Returns how many.
    fn redrive_exhausted(&mut self) -> usize {
        let mut redriven = 0;
        let kinds: Vec<QueueKind> = self.dlq.keys().copied().collect();
        for kind in kinds {
            let taken =
                self.dlq[&kind].take_where(|message| message.error_code == RETRIES_EXHAUSTED);
            for message in taken {
                let id = self.message_id();
                self.history
                    .entry(id.clone())
                    .or_default()
                    .push(format!("redriven from {}", message.source_message_id));
                if let Some(kind_of) = self.must_quarantine.remove(&message.source_message_id) {
                    self.must_quarantine.insert(id.clone(), kind_of);
                }
                self.delivered
                    .insert(id.clone(), (kind, message.body.clone()));
                self.counts.deliveries += 1;
                if let Some(queue) = self.queues.get_mut(&kind) {
                    queue.messages.push_back(Message {
                        id,
                        body: message.body,
                        group: message.message_group_id,
                        receives: 0,
                        visible_at: Instant::now(),
                    });
                }
                redriven += 1;
            }
        }
        self.counts.exhausted_redriven += redriven;
        redriven
    }

    /// Drops the armed faults no call took (a burst ends with its batch); returns how many. SES
    /// throttling stays armed until an email meets it (one at a time; see `ses_faults_pending`).
    fn clear_faults(&self) -> usize {
        self.governance.clear_failures()
            + self.registry.clear_failures()
            + self.idempotency.clear_failures()
            + self.links.clear_failures()
    }

    /// SES throttling armed but not yet met by a send (it waits for the next email, whichever batch).
    fn ses_faults_pending(&self) -> usize {
        let attempts = self
            .notifier
            .calls()
            .iter()
            .filter(|call| **call == "send")
            .count();
        let fired = attempts.saturating_sub(self.notifier.sent().len());
        self.counts
            .faults
            .get("ses throttling")
            .copied()
            .unwrap_or(0)
            .saturating_sub(fired)
    }

    fn fault(&mut self, kind: &'static str) {
        *self.counts.faults.entry(kind).or_default() += 1;
        self.armed = Some(kind);
    }

    /// Arms one seeded fault for the next batch (a burst of errors on one remote operation, or latency).
    fn arm_fault(&mut self, queue: QueueKind) -> Option<Duration> {
        if !self.rng.chance(0.25) {
            return None;
        }
        let governance_ops = [
            "get_object",
            "find_by_external_id",
            "create_object",
            "update_object",
        ];
        // Emails go out only from approval-propagation: aim SES faults at its batches.
        let kind = if queue == QueueKind::Governance && self.rng.chance(0.3) {
            3
        } else {
            self.rng.below(8)
        };
        match kind {
            0 => {
                for _ in 0..self.rng.range(1, 3) {
                    let op = governance_ops[self.rng.below(governance_ops.len())];
                    self.governance.fail_next(op, governance_status(429));
                    self.fault("governance 429");
                }
            }
            1 => {
                let op = governance_ops[self.rng.below(governance_ops.len())];
                let status = if self.rng.chance(0.5) { 500 } else { 503 };
                self.governance.fail_next(op, governance_status(status));
                self.fault("governance 5xx");
            }
            2 => {
                self.fault("governance latency");
                return Some(Duration::from_millis(self.rng.range(2, 6) as u64));
            }
            3 => {
                if self.ses_faults_pending() > 0 {
                    return None;
                }
                self.notifier.fail_next(
                    "send",
                    NotifyError::Throttled {
                        message: "TooManyRequestsException (injected)".into(),
                    },
                );
                self.fault("ses throttling");
            }
            4 => {
                let op = ["begin", "complete"][self.rng.below(2)];
                self.idempotency
                    .fail_next(op, throttled_store("idempotency"));
                self.fault("dynamodb throttling");
            }
            5 => {
                let ops = [
                    "link_by_arn",
                    "put_link",
                    "advance_applied_revision",
                    "record_our_write",
                    "consume_our_write",
                    "tombstone",
                    "package_state",
                    "commit",
                ];
                let op = ops[self.rng.below(ops.len())];
                self.links.fail_next(op, throttled_store("links"));
                self.fault("dynamodb throttling");
            }
            // A write applied whose reply was lost (issue 13's fault model): every port but SES, which
            // has no idempotency key (a lost SES reply can send an email twice; see the README).
            6 => {
                let kind = "reply lost after the write";
                match self.rng.below(4) {
                    0 => {
                        let op = ["create_object", "update_object"][self.rng.below(2)];
                        self.governance.lose_reply_next(op, governance_status(504));
                    }
                    1 => self.registry.lose_reply_next(
                        "update_package",
                        RegistryError::Transport {
                            operation: "injected",
                            message: "connection reset after the write (injected)".into(),
                        },
                    ),
                    2 => {
                        let op = ["begin", "complete", "release"][self.rng.below(3)];
                        self.idempotency
                            .lose_reply_next(op, throttled_store("idempotency"));
                    }
                    _ => {
                        let ops = [
                            "put_link",
                            "advance_applied_revision",
                            "record_our_write",
                            "consume_our_write",
                            "put_tombstone",
                            "commit",
                        ];
                        let op = ops[self.rng.below(ops.len())];
                        self.links.lose_reply_next(op, throttled_store("links"));
                    }
                }
                self.fault(kind);
            }
            _ => {
                let op = ["describe_package", "update_package"][self.rng.below(2)];
                self.registry.fail_next(
                    op,
                    RegistryError::Throttled {
                        operation: "injected",
                        message: "ThrottlingException (injected)".into(),
                    },
                );
                self.fault("sagemaker throttling");
            }
        }
        None
    }

    fn set_latency(&self, latency: Duration) {
        self.governance.set_latency(latency);
        self.registry.set_latency(latency);
        self.idempotency.set_latency(latency);
        self.links.set_latency(latency);
        self.notifier.set_latency(latency);
        for dlq in self.dlq.values() {
            dlq.set_latency(latency);
        }
    }

    /// One invocation of `queue`'s function on its next batch; returns whether a batch ran.
    async fn invoke(&mut self, queue: QueueKind) -> bool {
        let now = Instant::now();
        let (batch, redriven) = match self.queues.get_mut(&queue) {
            Some(sim_queue) => sim_queue.receive(now),
            None => return false,
        };
        self.redriven
            .extend(redriven.into_iter().map(|message| (queue, message)));
        if batch.is_empty() {
            return false;
        }
        self.counts.batches += 1;
        let records: Vec<SqsMessage> = batch.iter().map(|m| sqs_record(queue, m)).collect();
        let ids: HashSet<String> = batch.iter().map(|m| m.id.clone()).collect();
        let kill = self.rng.chance(0.02);
        self.armed = None;
        let latency = self.arm_fault(queue);
        if kill {
            // Remote calls take a moment, so the kill lands in the middle of one of them.
            self.set_latency(Duration::from_millis(1));
        } else if let Some(latency) = latency {
            self.governance.set_latency(latency);
        }
        let received_at = Instant::now();
        let deadline = Utc::now()
            + chrono::Duration::from_std(CLAIM).unwrap_or_else(|_| chrono::Duration::zero());
        let kill_after = Duration::from_millis(self.rng.range(1, 12) as u64);
        let result = {
            let run = self.run_batch(queue, &records, deadline);
            if kill {
                tokio::select! {
                    result = run => Some(result),
                    () = tokio::time::sleep(kill_after) => None,
                }
            } else {
                Some(run.await)
            }
        };
        self.set_latency(Duration::ZERO);
        let unfired = self.clear_faults();
        if let Some(kind) = self.armed.take()
            && let Some(count) = self.counts.faults.get_mut(kind)
        {
            *count -= unfired.min(*count);
        }
        let Some((failures, labels, details)) = result else {
            // Killed: nothing acknowledged; visible again once the visibility timeout (≥ the
            // function's timeout, so past its claims' deadline) has passed.
            self.counts.kills += 1;
            self.counts.killed_messages += ids.len();
            if let Some(sim_queue) = self.queues.get_mut(&queue) {
                sim_queue.hide(&ids, received_at + VISIBILITY);
            }
            return true;
        };
        for label in labels {
            *self.counts.outcomes.entry((queue, label)).or_default() += 1;
        }
        for (id, detail) in details {
            self.history.entry(id).or_default().push(detail);
        }
        self.counts.retries += failures.len();
        let done: HashSet<String> = ids.difference(&failures).cloned().collect();
        if let Some(sim_queue) = self.queues.get_mut(&queue) {
            sim_queue.settle(&done);
            sim_queue.hide(&failures, received_at + VISIBILITY);
        }
        true
    }

    /// The function's batch handling, as `handle_with` runs it: (failed message ids, outcome labels).
    async fn run_batch(
        &self,
        queue: QueueKind,
        records: &[SqsMessage],
        deadline: DateTime<Utc>,
    ) -> (HashSet<String>, Vec<&'static str>, Vec<(String, String)>) {
        fn details<O: std::fmt::Debug>(outcomes: &[(Option<String>, O)]) -> Vec<(String, String)> {
            outcomes
                .iter()
                .map(|(id, outcome)| (id.clone().unwrap_or_default(), format!("{outcome:?}")))
                .collect()
        }
        match queue {
            QueueKind::Registry => {
                let report = self.registry_events.handle_batch(records, deadline).await;
                (
                    report.failures().into_iter().collect(),
                    report.outcomes.iter().map(|(_, o)| o.label()).collect(),
                    details(&report.outcomes),
                )
            }
            QueueKind::Governance => {
                let report = self
                    .approval_propagation
                    .handle_batch(records, deadline)
                    .await;
                (
                    report.failures().into_iter().collect(),
                    report.outcomes.iter().map(|(_, o)| o.label()).collect(),
                    details(&report.outcomes),
                )
            }
            QueueKind::Decommission => {
                let outcomes = self
                    .decommission
                    .handle_batch(records, deadline)
                    .await
                    .outcomes;
                let failures = outcomes
                    .iter()
                    .filter(|(_, outcome)| outcome.label() == "failed")
                    .filter_map(|(id, _)| id.clone())
                    .collect();
                (
                    failures,
                    outcomes.iter().map(|(_, o)| o.label()).collect(),
                    details(&outcomes),
                )
            }
        }
    }

    /// One round of the functions: every queue's function once, then what their writes caused.
    /// EventBridge invokes metrics-relay once per event: each foreign one must be refused.
    async fn invoke_metrics_relay(&mut self) {
        for event in std::mem::take(&mut self.foreign_metrics) {
            let deadline = Utc::now() + chrono::Duration::seconds(60);
            let id = event["id"].as_str().unwrap_or_default().to_owned();
            match self.metrics_relay.handle(&event, &id, deadline).await {
                Ok(govsync_metrics_relay::Outcome::Quarantined("foreign_metrics")) => {}
                other => self.metrics_problems.push(format!(
                    "foreign metrics event {id}: {other:?}, not refused"
                )),
            }
        }
    }

    async fn round(&mut self) {
        self.invoke_metrics_relay().await;
        for queue in [
            QueueKind::Registry,
            QueueKind::Governance,
            QueueKind::Decommission,
        ] {
            // Lambda scales out on a busy queue: a few invocations a round.
            for _ in 0..3 {
                if !self.invoke(queue).await {
                    break;
                }
                self.forward_requests();
                self.counts.echo_events += self.observe_changes(true);
            }
        }
    }

    /// The operator redrives `retries_exhausted` messages until none is left, draining after each.
    async fn drain_with_redrives(&mut self, started: Instant, budget: Duration) {
        for _ in 0..50 {
            if self.redrive_exhausted() == 0 {
                return;
            }
            self.drain(started, budget).await;
        }
        panic!("messages kept exhausting their retries after 50 redrives");
    }

    fn idle(&self) -> bool {
        self.pool.is_empty() && self.queues.values().all(|queue| queue.messages.is_empty())
    }

    /// Runs the functions until every event is delivered and every queue is empty.
    async fn drain(&mut self, started: Instant, budget: Duration) {
        let mut rounds = 0usize;
        while !self.idle() {
            assert!(
                started.elapsed() < budget,
                "the run did not drain within {budget:?} (an echo loop, or a message that never \
                 settles): {} in flight, queues {:?}",
                self.pool.len(),
                self.queues
                    .iter()
                    .map(|(kind, queue)| (kind.name(), queue.messages.len()))
                    .collect::<Vec<_>>()
            );
            self.deliver(0.7);
            let before: usize = self.queues.values().map(|q| q.messages.len()).sum();
            self.round().await;
            rounds += 1;
            let after: usize = self.queues.values().map(|q| q.messages.len()).sum();
            if before == after && self.pool.is_empty() {
                // Only invisible messages left: wait for the earliest to come back.
                if let Some(at) = self
                    .queues
                    .values()
                    .filter_map(SimQueue::next_visible_at)
                    .min()
                {
                    let wait = at.saturating_duration_since(Instant::now());
                    tokio::time::sleep(wait.min(Duration::from_millis(20))).await;
                }
            }
            assert!(rounds < 200_000, "the run did not drain");
        }
    }
}

/// Marks a body as a permanent failure the DLQ must hold (stripped before it is enqueued).
const REQUIRED_MARK: &str = "\u{1}required\u{1}";

fn mark_required(body: &str) -> String {
    format!("{REQUIRED_MARK}{body}")
}

fn unmark(body: &str) -> (String, bool) {
    match body.strip_prefix(REQUIRED_MARK) {
        Some(body) => (body.to_owned(), true),
        None => (body.to_owned(), false),
    }
}

// ---------------------------------------------------------------------------------------------
// The checks

fn check_final_state(sim: &Sim) -> Vec<String> {
    let mut problems = Vec::new();
    for object in sim.governance.objects() {
        let external = text(&object, fields::EXTERNAL_ID).unwrap_or_default();
        if external.contains(UNKNOWN_ACCOUNT) || object.name.contains(LYING_GROUP) {
            problems.push(format!(
                "governance object {} made from a hostile event: {external} {}",
                object.id, object.name
            ));
        }
    }
    for (arn, expected) in &sim.packages {
        let models = sim.model_of(arn);
        let package = sim.registry.package(arn);
        if expected.deleted {
            if package.is_some() {
                problems.push(format!("{arn}: deleted but still in the registry"));
            }
            for model in &models {
                let status = text(model, fields::MODEL_STATUS);
                if status.as_deref() != Some("Decommissioned") {
                    problems.push(format!(
                        "{arn}: deleted in SageMaker but its model {} is {status:?}",
                        model.id
                    ));
                }
            }
            continue;
        }
        let Some(package) = package else {
            problems.push(format!("{arn}: lost from the registry"));
            continue;
        };
        let [model] = models.as_slice() else {
            problems.push(format!(
                "{arn}: {} governance models instead of one",
                models.len()
            ));
            continue;
        };
        let written = package
            .customer_metadata
            .get(keys::LINKS)
            .and_then(|links| govsync_core::sync::registry::PackedLinks::parse(links))
            .map(|links| links.model);
        if written.as_ref() != Some(&model.id) {
            problems.push(format!(
                "{arn}: write-back names model {written:?}, not {}",
                model.id
            ));
        }
        if sim.decommissioned_use_cases.contains(&expected.use_case) {
            let stage = package.lifecycle.as_ref().map(|l| l.stage.as_str());
            if stage != Some("Archived")
                || package.approval_status != Some(ApprovalStatus::Rejected)
            {
                problems.push(format!(
                    "{arn}: its use case was decommissioned but it is {:?} / {:?}",
                    package.lifecycle, package.approval_status
                ));
            }
            continue;
        }
        if expected.poisoned_model.is_some() {
            continue;
        }
        let held_url = text(model, fields::MODEL_DATA_URL);
        if held_url.as_deref() != Some(expected.model_data_url.as_str()) {
            problems.push(format!(
                "{arn}: governance model data URL {held_url:?}, last set in SageMaker {:?}",
                expected.model_data_url
            ));
        }
        if model.description.as_deref() != Some(expected.description.as_str()) {
            problems.push(format!(
                "{arn}: governance model description {:?}, last set in SageMaker {:?}",
                model.description, expected.description
            ));
        }
        match expected.status {
            Some(index) => {
                let (status, stage, stage_status, approval) = STATUSES[index];
                let held = text(model, fields::MODEL_STATUS);
                if held.as_deref() != Some(status) {
                    problems.push(format!(
                        "{arn}: governance status {held:?}, last set {status:?}"
                    ));
                }
                let lifecycle = package
                    .lifecycle
                    .as_ref()
                    .map(|l| (l.stage.as_str(), l.stage_status.as_str()));
                if package.approval_status != Some(approval)
                    || lifecycle != Some((stage, stage_status))
                {
                    problems.push(format!(
                        "{arn}: governance says {status:?} but the package is {:?} / {:?}",
                        package.approval_status, lifecycle
                    ));
                }
            }
            None => {
                if package.approval_status != Some(ApprovalStatus::PendingManualApproval) {
                    problems.push(format!(
                        "{arn}: no governance approval, yet the package is {:?} (shadow approval kept)",
                        package.approval_status
                    ));
                }
            }
        }
    }
    // F1: one group, one model group and one email per approved use case; nothing for the others.
    let sent = sim.notifier.sent();
    for (index, (use_case, team)) in sim.f1_use_cases.iter().enumerate() {
        let groups: Vec<String> = sim
            .registry
            .group_names()
            .into_iter()
            .filter(|name| {
                sim.registry
                    .group_tags(name)
                    .and_then(|tags| tags.get(keys::USE_CASE_ID).cloned())
                    == Some(use_case.id.to_string())
            })
            .collect();
        let model_groups = sim
            .governance
            .objects()
            .into_iter()
            .filter(|o| o.type_definition_id == "ModelGroup")
            .filter(|o| o.primary_parent_id.as_ref() == Some(&use_case.id))
            .count();
        let emails = sent.iter().filter(|email| email.to.contains(team)).count();
        let expected = usize::from(sim.f1_approved[index]);
        if groups.len() != expected || model_groups != expected || emails != expected {
            problems.push(format!(
                "use case {} (approved: {}): {} registry groups, {model_groups} model groups, {emails} emails",
                use_case.id,
                sim.f1_approved[index],
                groups.len()
            ));
        }
    }
    problems
}

/// Foreign metrics (issue 13, 4): each refused with its reason in the DLQ, no metric recorded; that no
/// model's status moved is [`check_final_state`]'s (each ends at the status its user last set).
fn check_foreign_metrics(sim: &Sim) -> Vec<String> {
    let mut problems = sim.metrics_problems.clone();
    let sent = sim
        .counts
        .hostile
        .get("foreign metrics")
        .copied()
        .unwrap_or(0);
    let refused = sim.metrics_dlq.messages();
    if refused.len() != sent
        || refused
            .iter()
            .any(|m| m.error_code != "foreign_metrics" || m.reason.trim().is_empty())
    {
        problems.push(format!(
            "{sent} foreign metrics events, {} in the DLQ: {refused:?}",
            refused.len()
        ));
    }
    for object in sim.governance.objects() {
        if matches!(object.type_definition_id.as_str(), "Metric" | "MetricValue") {
            problems.push(format!(
                "governance {} {} recorded from a foreign metrics event",
                object.type_definition_id, object.id
            ));
        }
    }
    problems
}

/// The DLQs hold every required permanent failure, each with its reason, and nothing but permanent
/// failures (required ones, or events about a model whose status the mapping does not know).
fn check_dlq(sim: &Sim, delivered: &HashMap<String, (QueueKind, String)>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut held: HashMap<String, QueueKind> = HashMap::new();
    for (kind, dlq) in &sim.dlq {
        for message in dlq.messages() {
            if message.reason.trim().is_empty() || message.error_code.trim().is_empty() {
                problems.push(format!(
                    "{}: {} quarantined without a reason",
                    kind.name(),
                    message.source_message_id
                ));
            }
            held.insert(message.source_message_id.clone(), *kind);
            if sim.must_quarantine.contains_key(&message.source_message_id) {
                continue;
            }
            let about_poisoned_model = *kind == QueueKind::Governance
                && serde_json::from_str::<Value>(&message.body)
                    .ok()
                    .and_then(|body| {
                        body["object_id"]
                            .as_str()
                            .and_then(|id| GovernanceId::parse(id).ok())
                    })
                    .is_some_and(|id| sim.poisoned_models.contains(&id));
            if !about_poisoned_model {
                problems.push(format!(
                    "{}: {} quarantined ({}: {}) but it is not a permanent failure: {}",
                    kind.name(),
                    message.source_message_id,
                    message.error_code,
                    message.reason,
                    delivered
                        .get(&message.source_message_id)
                        .map(|(_, body)| body.as_str())
                        .unwrap_or("?")
                ));
            }
        }
    }
    for (id, kind) in &sim.must_quarantine {
        if held.get(id) != Some(kind) {
            problems.push(format!(
                "{}: permanent failure {id} is not in its DLQ",
                kind.name()
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "current_thread")]
async fn thousands_of_mixed_events_with_faults_end_in_the_state_the_last_event_implies() {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_SEED);
    println!("reliability suite: seed {seed} (replay with {SEED_ENV}={seed})");
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let started = Instant::now();
    let budget = Duration::from_secs(200);
    let mut sim = Sim::new(seed);
    sim.seed_inventory();

    // Phase 1: users act on both sides while the functions run, with faults.
    while sim.counts.user_events < USER_EVENTS {
        for _ in 0..sim.rng.range(3, 12) {
            sim.counts.user_events += sim.user_action().await;
        }
        sim.deliver(0.6);
        sim.round().await;
        assert!(
            started.elapsed() < budget,
            "phase 1 overran its time budget"
        );
    }
    sim.drain(started, budget).await;
    sim.drain_with_redrives(started, budget).await;

    // Phase 2: use cases decommissioned in governance (F6), once the models under them are settled.
    for index in 0..DECOMMISSIONED_USE_CASES {
        let use_case = sim.assigned_use_cases[index].id.clone();
        sim.governance.edit(
            &use_case,
            &[Field::choice(fields::USE_CASE_STATUS, "Decommissioned")],
        );
        sim.decommissioned_use_cases.insert(index);
        sim.counts.user_events += sim.observe_changes(true);
    }
    sim.drain(started, budget).await;
    sim.drain_with_redrives(started, budget).await;

    // SES throttling never met by a send did not happen.
    let unmet = sim.ses_faults_pending();
    if let Some(count) = sim.counts.faults.get_mut("ses throttling") {
        *count -= unmet.min(*count);
    }
    let mut problems = check_final_state(&sim);
    problems.extend(check_dlq(&sim, &sim.delivered));
    problems.extend(check_foreign_metrics(&sim));
    let lost = sim.redriven.len();
    for (kind, message) in &sim.redriven {
        problems.push(format!(
            "{}: {} redriven after {} receives (lost to the DLQ without a reason): {:?} {}",
            kind.name(),
            message.id,
            message.receives,
            sim.history.get(&message.id),
            message.body
        ));
    }

    let outcome = |label: &str| -> usize {
        sim.counts
            .outcomes
            .iter()
            .filter(|((_, l), _)| *l == label)
            .map(|(_, n)| n)
            .sum()
    };
    let quarantined: usize = sim.dlq.values().map(|q| q.messages().len()).sum();
    let faults: usize = sim.counts.faults.values().sum();
    println!("reliability suite summary (seed {seed}):");
    println!(
        "  events: {} user + {} permanent failures + {} caused by govsync's writes; {} deliveries in {} batches",
        sim.counts.user_events - sim.counts.permanent_events,
        sim.counts.permanent_events,
        sim.counts.echo_events,
        sim.counts.deliveries,
        sim.counts.batches
    );
    println!(
        "  packages: {}, F1 use cases approved: {}, use cases decommissioned: {}",
        sim.packages.len(),
        sim.f1_approved.iter().filter(|a| **a).count(),
        sim.decommissioned_use_cases.len()
    );
    println!(
        "  duplicates delivered: {}; suppressed: {} duplicate, {} stale, {} echo",
        sim.counts.duplicates_delivered,
        outcome("duplicate"),
        outcome("stale"),
        outcome("echo")
    );
    println!(
        "  faults injected: {faults} ({}); kills mid-batch: {} ({} messages redelivered)",
        sim.counts
            .faults
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        sim.counts.kills,
        sim.counts.killed_messages
    );
    println!(
        "  retries exhausted (quarantined with retries_exhausted at govsync's receive {LAST_RECEIVE}, \
         redriven by the operator): {}; SageMaker-driven status changes: {}",
        sim.counts.exhausted_redriven, sim.counts.registry_status_changes
    );
    println!(
        "  hostile events: {} ({})",
        sim.counts.hostile.values().sum::<usize>(),
        sim.counts
            .hostile
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  retries (batch item failures): {}; quarantined: {quarantined} ({} required); emails sent: {}",
        sim.counts.retries,
        sim.must_quarantine.len(),
        sim.notifier.sent().len()
    );
    for ((queue, label), n) in &sim.counts.outcomes {
        println!("    {:<22} {:<20} {n}", queue.name(), label);
    }
    println!(
        "  lost: {lost}; wrong effects: {}; wall time {:.1} s",
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s) (seed {seed}):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(sim.counts.user_events >= 2_000);
    assert!(faults > 0 && sim.counts.kills > 0 && sim.counts.duplicates_delivered > 0);
    assert!(sim.counts.registry_status_changes > 0);
    assert!(sim.counts.hostile.len() == 5, "{:?}", sim.counts.hostile);
}
