//! approval-propagation calls benchmark (issue 17, the governance → SageMaker direction), run by hand:
//! `cargo bench -p govsync-approval-propagation --bench calls_per_change` (release build), or the same
//! in the test profile, quicker to build: `cargo test -p govsync-approval-propagation --bench
//! calls_per_change`. The counts do not depend on the profile.
//!
//! Each governance change is one SQS record (the governance event the webhook or the poller enqueues)
//! run through the function's handler on the adapters' in-memory fakes, with the built-in status
//! mapping and a decision bus configured (#21). One line per case prints the message's outcome and
//! the remote calls it caused, by name: governance, SageMaker, S3/ECR (the approved artifact's
//! fingerprint, counted by a wrapper here as the artifacts fake keeps no call log), the idempotency
//! table, the links table (links, applied revisions, the our-write ledger, the decision outbox and the
//! approved-artifact items all live in it: `shared/adapters/src/dynamodb/links.rs`), queue sends
//! (`decommission.fifo`, the DLQ), SES, and the decision event's put with its outbox calls. `tables+queue`
//! is the idempotency, links and queue calls together; every port call here is one AWS request
//! (`put_link` is one `TransactWriteItems` of two items).

use govsync_testkit::cost::{self, Usage};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::sqs::SqsMessage;
use chrono::{SecondsFormat, Utc};
use govsync_adapters::fakes::{
    FakeArtifacts, FakeDecisionBus, FakeGovernance, FakeIdempotencyStore, FakeLinkStore,
    FakeMessageQueue, FakeNotifier, FakeQuarantine, FakeRegistry, registered_package,
};
use govsync_adapters::governance::TypeIds;
use govsync_approval_propagation::{Handler, Ports, Settings};
use govsync_core::artifact::{ContainerArtifact, EcrImage, ModelData};
use govsync_core::ports::{
    ArtifactReadError, EchoLedger as _, Field, GovernanceKind, GovernanceObject, ImageRegistry,
    Link, LinkKind, LinkStore as _, ModelLifecycle, NewGovernanceObject, ObjectHead, ObjectListing,
    ObjectStore,
};
use govsync_core::sync::ConsoleLinks;
use govsync_core::sync::governance::{object_revision, status_write};
use govsync_core::{GovernanceId, MappingSpec, RegistryMap};
use serde_json::json;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const ENTITY: &str = "Retail Banking";
const GROUP: &str = "credit-risk-9";
const MODEL_DATA: &str = "s3://credit-models/credit-risk-9/1/model.tar.gz";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/credit-risk/serve:1.4";
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const STATUS: &str = "MRG-Model:Status";

/// The links-table operations of the decision outbox (#21).
const OUTBOX: [&str; 3] = ["save_decision", "pending_decision", "decision_published"];

/// The artifacts fake keeps no call log: this counts S3 and ECR reads on their way to it.
struct CountingArtifacts {
    inner: FakeArtifacts,
    calls: Mutex<Vec<&'static str>>,
}

impl CountingArtifacts {
    fn note(&self, call: &'static str) {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl ObjectStore for CountingArtifacts {
    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectHead, ArtifactReadError> {
        self.note("s3.head_object");
        self.inner.head_object(bucket, key).await
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<ObjectListing, ArtifactReadError> {
        self.note("s3.list_objects");
        self.inner.list_objects(bucket, prefix, max).await
    }
}

impl ImageRegistry for CountingArtifacts {
    async fn image_digest(&self, image: &EcrImage, tag: &str) -> Result<String, ArtifactReadError> {
        self.note("ecr.image_digest");
        self.inner.image_digest(image, tag).await
    }
}

type FakeHandler = Handler<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeQuarantine,
    FakeNotifier,
    FakeMessageQueue,
>;

struct World {
    governance: Arc<FakeGovernance>,
    registry: Arc<FakeRegistry>,
    idempotency: Arc<FakeIdempotencyStore>,
    links: Arc<FakeLinkStore>,
    quarantine: Arc<FakeQuarantine>,
    notifier: Arc<FakeNotifier>,
    decommission: Arc<FakeMessageQueue>,
    bus: Arc<FakeDecisionBus>,
    artifacts: Arc<CountingArtifacts>,
    handler: FakeHandler,
    entity: GovernanceObject,
}

/// Every call log, read at one moment.
struct Snapshot {
    governance: Vec<&'static str>,
    registry: Vec<&'static str>,
    artifacts: Vec<&'static str>,
    idempotency: Vec<&'static str>,
    links: Vec<&'static str>,
    decommission: Vec<&'static str>,
    quarantine: Vec<&'static str>,
    ses: Vec<&'static str>,
    bus: Vec<&'static str>,
}

impl World {
    fn new() -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let registry = Arc::new(FakeRegistry::new(ACCOUNT, REGION));
        let idempotency = Arc::new(FakeIdempotencyStore::new());
        let links = Arc::new(FakeLinkStore::new());
        let quarantine = Arc::new(FakeQuarantine::new());
        let notifier = Arc::new(FakeNotifier::new());
        let decommission = Arc::new(FakeMessageQueue::new());
        let bus = Arc::new(FakeDecisionBus::new());
        let artifacts = Arc::new(CountingArtifacts {
            inner: FakeArtifacts::new(),
            calls: Mutex::new(Vec::new()),
        });
        let registries = RegistryMap::parse(&format!(
            r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"{ENTITY}"}}]"#
        ))
        .expect("the bench's registry map parses");
        let registry_entry = registries.registries()[0].clone();
        let entity = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: ENTITY.into(),
            description: None,
            parent_id: None,
            fields: vec![],
        });
        let handler = Handler::new(
            Settings {
                registries,
                mapping: MappingSpec::builtin().expect("the built-in mapping loads"),
                console: ConsoleLinks::new("https://grc.example.com").expect("a console URL"),
                sender: Some("govsync@example.com".into()),
                type_ids: TypeIds::default(),
            },
            Ports {
                governance: Arc::clone(&governance),
                registries: vec![(registry_entry.clone(), Arc::clone(&registry))],
                idempotency: Arc::clone(&idempotency),
                links: Arc::clone(&links),
                quarantine: Arc::clone(&quarantine),
                notifier: Arc::clone(&notifier),
                decommission: Arc::clone(&decommission),
            },
        )
        .with_decision_publisher(bus.clone())
        .with_artifact_readers(govsync_flows::artifacts::ArtifactReaders::from_clients(
            vec![(
                registry_entry,
                Arc::clone(&artifacts),
                Arc::clone(&artifacts),
            )],
        ));
        Self {
            governance,
            registry,
            idempotency,
            links,
            quarantine,
            notifier,
            decommission,
            bus,
            artifacts,
            handler,
            entity,
        }
    }

    /// A package as registry-events leaves it after F2: pending approval, in Development/InProgress
    /// (the mapping's initial status), linked both ways to a governance Model "Under Development".
    async fn synced_model(&self) -> GovernanceObject {
        self.registry.add_group(GROUP, BTreeMap::new());
        let mut package = registered_package(&self.registry, GROUP, 1);
        package.lifecycle = ModelLifecycle::parse("Development", "InProgress", None).ok();
        package.containers = vec![ContainerArtifact {
            image: Some(IMAGE.into()),
            model_data: Some(ModelData::Object(MODEL_DATA.into())),
            ..Default::default()
        }];
        self.artifacts.inner.put_object(MODEL_DATA, "etag-reviewed");
        self.artifacts
            .inner
            .tag_image("credit-risk/serve", "1.4", DIGEST);
        self.registry.put_package(package.clone());
        let model = self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: format!("{GROUP} version 1"),
            description: None,
            parent_id: None,
            fields: vec![
                Field::choice(STATUS, "Under Development"),
                Field::text("Integration:External ID", package.arn.to_string()),
                Field::text("Last Modified By", "jane@example.com"),
            ],
        });
        self.links
            .put_link(&Link {
                kind: LinkKind::Model,
                arn: (&package.arn).into(),
                governance_id: model.id.clone(),
            })
            .await
            .expect("the fake links table takes the link");
        model
    }

    fn use_case(&self, status: &str) -> GovernanceObject {
        self.governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: "Credit Risk (EU)".into(),
            description: None,
            parent_id: Some(self.entity.id.clone()),
            fields: vec![
                Field::choice("MRG-AIFacts-ModelUseCase:Status", status),
                Field::choice("MRG-AIFacts-ModelUseCase:Risk Level", "High"),
                Field::text(
                    "MRG-ModelUseCase:Data Science Team Email",
                    "ds-team@example.com",
                ),
                Field::text("Last Modified By", "jane@example.com"),
            ],
        })
    }

    /// An approver's edit in governance (the fake records no call for it).
    fn set_status(&self, model: &GovernanceId, status: &str) -> GovernanceObject {
        self.governance
            .edit(
                model,
                &[
                    Field::choice(STATUS, status),
                    Field::text("Last Modified By", "jane@example.com"),
                ],
            )
            .expect("the model exists")
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            governance: self.governance.calls(),
            registry: self.registry.calls(),
            artifacts: self.artifacts.calls(),
            idempotency: self.idempotency.calls(),
            links: self.links.calls(),
            decommission: self.decommission.calls(),
            quarantine: self.quarantine.calls(),
            ses: self.notifier.calls(),
            bus: self.bus.calls(),
        }
    }

    /// Runs one record through the handler as the function does and prints what it called.
    async fn measure(&self, label: &str, message: SqsMessage, expected: &str) -> Usage {
        let before = self.snapshot();
        let deadline = Utc::now() + chrono::Duration::seconds(60);
        let report = self.handler.handle_batch(&[message], deadline).await;
        let after = self.snapshot();
        let outcome = report
            .outcomes
            .first()
            .map(|(_, outcome)| outcome.label())
            .unwrap_or("none");
        assert_eq!(outcome, expected, "{label}: {report:?}");
        let new = |all: &[&'static str], seen: &[&'static str]| all[seen.len()..].to_vec();
        let governance = new(&after.governance, &before.governance);
        let registry = new(&after.registry, &before.registry);
        let artifacts = new(&after.artifacts, &before.artifacts);
        let idempotency = new(&after.idempotency, &before.idempotency);
        let links = new(&after.links, &before.links);
        let decommission = new(&after.decommission, &before.decommission);
        let quarantine = new(&after.quarantine, &before.quarantine);
        let ses = new(&after.ses, &before.ses);
        let puts = new(&after.bus, &before.bus).len();
        let outbox: Vec<&'static str> = links
            .iter()
            .copied()
            .filter(|call| OUTBOX.contains(call))
            .collect();
        let queue_sends = decommission.len() + quarantine.len();
        let tables_and_queue = idempotency.len() + links.len() + queue_sends;
        let queues = decommission
            .iter()
            .map(|call| format!("decommission.{call}"))
            .chain(quarantine.iter().map(|call| format!("dlq.{call}")))
            .collect::<Vec<_>>();
        println!(
            "  {label:<44} outcome {outcome:<22} governance {} [{}]  sagemaker {} [{}]  s3/ecr {} [{}]  \
             idempotency {} [{}]  links {} [{}]  queue sends {} [{}]  ses {}  decision puts {} (outbox {} [{}])  \
             tables+queue {tables_and_queue}",
            governance.len(),
            by_name(&governance),
            registry.len(),
            by_name(&registry),
            artifacts.len(),
            by_name(&artifacts),
            idempotency.len(),
            by_name(&idempotency),
            links.len(),
            by_name(&links),
            queue_sends,
            by_name(&queues),
            ses.len(),
            puts,
            outbox.len(),
            by_name(&outbox),
        );
        // The cost model's view of this message (issue 17): the function at its template memory for
        // the calls' faked latencies one after the other, its share of the FIFO queue (receive and
        // delete: the send is the webhook's), the table units, the decommission request and the
        // decision event.
        let table_calls: Vec<&str> = idempotency.iter().chain(&links).copied().collect();
        let (read_units, write_units) = cost::table_units(&table_calls);
        let latency = governance.len() as f64 * GOVERNANCE_SECONDS
            + (registry.len() + artifacts.len()) as f64 * AWS_API_SECONDS
            + (tables_and_queue + puts) as f64 * TABLE_SECONDS;
        Usage {
            read_units,
            write_units,
            sqs_fifo_requests: 2.0 + decommission.len() as f64 * cost::queued_message_requests(1.0),
            eventbridge_events: puts as f64,
            ..Usage::lambda(FUNCTION_MEMORY_MB, latency)
        }
    }
}

/// approval-propagation's memory in both templates (MB).
const FUNCTION_MEMORY_MB: u32 = 256;
/// The latencies the reconcile benchmark fakes: governance 40 ms, SageMaker (and S3/ECR) 30 ms,
/// DynamoDB/SQS/EventBridge 5 ms a call.
const GOVERNANCE_SECONDS: f64 = 0.040;
const AWS_API_SECONDS: f64 = 0.030;
const TABLE_SECONDS: f64 = 0.005;

/// `a×2,b×1` in first-call order.
fn by_name<S: AsRef<str>>(calls: &[S]) -> String {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for call in calls {
        let call = call.as_ref();
        match counted.iter_mut().find(|(name, _)| *name == call) {
            Some((_, count)) => *count += 1,
            None => counted.push((call, 1)),
        }
    }
    counted
        .iter()
        .map(|(name, count)| format!("{name}×{count}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The SQS record of a governance event for `object`, as the webhook (`source` "webhook") or the
/// poller ("poller") enqueues it on governance-events.fifo.
fn record(object: &GovernanceId, source: &str, delivery: &str, changed: &[&str]) -> SqsMessage {
    let body = json!({
        "schema": "govsync.governance-event/v1",
        "source": source,
        "delivery_id": delivery,
        "event_type": "object.updated",
        "object_id": object.as_str(),
        "object_type": null,
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "changed_fields": changed,
    });
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("m-{delivery}"));
    message.body = Some(body.to_string());
    message
        .attributes
        .insert("MessageGroupId".into(), object.to_string());
    message
        .attributes
        .insert("MessageDeduplicationId".into(), delivery.to_owned());
    message
}

async fn calls_per_change() {
    println!("remote calls per governance change (approval-propagation, one SQS record each):");
    let world = World::new();
    let model = world.synced_model().await;
    let id = &model.id;

    // (b) first, so its repeat is a true duplicate: an approval writes the fingerprint back onto the
    // Model, which makes a newer revision (case d).
    world.set_status(id, "Candidate for Validation");
    let stage_only = record(id, "webhook", "wh-stage", &[STATUS]);
    let stage = world
        .measure(
            "(b) stage only: Candidate for Validation",
            stage_only.clone(),
            "updated",
        )
        .await;
    world
        .measure(
            "(c) duplicate: same webhook delivery again",
            stage_only,
            "duplicate",
        )
        .await;
    world
        .measure(
            "(c) duplicate: the poller's copy of it",
            record(id, "poller", "poll-stage", &[STATUS]),
            "duplicate",
        )
        .await;

    world.set_status(id, "Approved for Deployment");
    let approval = world
        .measure(
            "(a) approved: Approved for Deployment",
            record(id, "webhook", "wh-approve", &[STATUS]),
            "updated",
        )
        .await;
    let fingerprint_echo = world
        .measure(
            "(d) echo: govsync's fingerprint write",
            record(
                id,
                "webhook",
                "wh-fingerprint",
                &["MRG-Model:Artifact Fingerprint"],
            ),
            "in_sync",
        )
        .await;
    world
        .measure(
            "(c) duplicate: the poller's copy of (d)",
            record(id, "poller", "poll-fingerprint", &[]),
            "duplicate",
        )
        .await;

    // registry-events writes a `both` row's status into governance and records it in the ledger;
    // the change event that write causes comes back here.
    let written = world.set_status(id, "Deployed for Validation");
    let produced = object_revision(&written)
        .expect("the fake stamps a revision")
        .value();
    world
        .links
        .record_our_write(
            &status_write(id, "Deployed for Validation").produced(produced),
            Utc::now() + chrono::Duration::seconds(60),
        )
        .await
        .expect("the fake ledger takes the write");
    world
        .measure(
            "(d) echo: govsync's status write (ledger)",
            record(id, "webhook", "wh-echo", &[STATUS]),
            "echo",
        )
        .await;

    world.set_status(id, "Decommissioned");
    let decommission = world
        .measure(
            "(e) decommissioned",
            record(id, "webhook", "wh-decommission", &[STATUS]),
            "decommission_requested",
        )
        .await;

    // F1 for comparison: a use case approved for development (group, model group, links, email).
    let use_case = world.use_case("Approved for Development");
    world
        .measure(
            "(F1) use case Approved for Development",
            record(&use_case.id, "webhook", "wh-use-case", &[]),
            "provisioned",
        )
        .await;

    let rows = [
        (
            "an approval (with its fingerprint echo), per million".to_owned(),
            approval.plus(fingerprint_echo),
        ),
        ("a stage-only change, per million".to_owned(), stage),
        ("a decommission, per million".to_owned(), decommission),
    ]
    .map(|(label, usage)| (label, usage.times(1e6)));
    println!(
        "{}(approval-propagation's share: the function, its queue's receives and deletes, tables, requests and decision events; the webhook's share is printed by governance-webhook's calls_per_request)",
        cost::table(&cost::US_EAST_1, &rows)
    );
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            std::process::exit(1);
        }
    };
    runtime.block_on(calls_per_change());
}
