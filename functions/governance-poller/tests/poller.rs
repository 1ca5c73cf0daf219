//! The governance poller on in-memory fakes: watermark, overlap, deduplication ids, failures.

use std::sync::Arc;

use chrono::DateTime;
use govsync_adapters::fakes::{FakeCursorStore, FakeGovernance, FakeMessageQueue};
use govsync_adapters::governance::TypeIds;
use govsync_core::governance_event::{GovernanceEvent, GovernanceEventSource};
use govsync_core::ports::{
    CursorStore, Field, GovernanceError, GovernanceKind, GovernanceObject, NewGovernanceObject,
    QueueError,
};
use govsync_governance_poller::{
    DEFAULT_CURSOR_PREFIX, DEFAULT_OVERLAP, Poller, cursor_id, handle_with, metrics,
};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

struct World {
    governance: Arc<FakeGovernance>,
    cursors: Arc<FakeCursorStore>,
    queue: Arc<FakeMessageQueue>,
    poller: Poller<FakeGovernance, FakeCursorStore, FakeMessageQueue>,
}

impl World {
    fn new() -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let cursors = Arc::new(FakeCursorStore::new());
        let queue = Arc::new(FakeMessageQueue::new());
        let poller = Poller {
            governance: Arc::clone(&governance),
            cursors: Arc::clone(&cursors),
            queue: Arc::clone(&queue),
            type_ids: TypeIds::default(),
            overlap: DEFAULT_OVERLAP,
            cursor_prefix: DEFAULT_CURSOR_PREFIX.to_owned(),
        };
        Self {
            governance,
            cursors,
            queue,
            poller,
        }
    }

    fn add(&self, kind: GovernanceKind, name: &str) -> GovernanceObject {
        self.governance.insert(&NewGovernanceObject {
            kind,
            name: name.into(),
            description: None,
            parent_id: None,
            fields: vec![],
        })
    }

    fn events(&self) -> Vec<GovernanceEvent> {
        self.queue
            .messages()
            .iter()
            .map(|m| GovernanceEvent::from_json(&m.body).unwrap())
            .collect()
    }

    async fn invoke(&self, input: Value) -> Result<Value, lambda_runtime::Error> {
        handle_with(&self.poller, LambdaEvent::new(input, Context::default())).await
    }
}

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../events/governance-poller/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_scheduler_sample_events_run_a_poll() {
    for name in ["scheduler-event.json", "scheduler-event-with-input.json"] {
        let world = World::new();
        world.add(GovernanceKind::UseCase, "Credit risk");
        let result = world.invoke(sample(name)).await.unwrap();
        assert_eq!(result["enqueued"], 1, "{name}: {result}");
    }
}

#[tokio::test]
async fn first_run_enqueues_every_use_case_and_model_and_sets_the_watermarks() {
    let world = World::new();
    let use_case = world.add(GovernanceKind::UseCase, "Credit risk");
    let model = world.add(GovernanceKind::Model, "credit-risk v1");
    world.add(GovernanceKind::BusinessEntity, "Retail"); // not watched
    let result = world.invoke(Value::Null).await.unwrap();
    assert_eq!(result["enqueued"], 2);
    let events = world.events();
    let ids: Vec<_> = events.iter().map(|e| e.object_id.clone()).collect();
    assert_eq!(ids, [use_case.id.clone(), model.id.clone()]);
    for event in &events {
        assert_eq!(event.source, GovernanceEventSource::Poller);
        assert!(event.changed_fields.is_empty());
    }
    let modified = |object: &GovernanceObject| {
        object
            .field("Last Modification Date")
            .and_then(|v| v.as_text())
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .unwrap()
            .to_utc()
    };
    assert_eq!(events[0].occurred_at, modified(&use_case));
    let messages = world.queue.messages();
    assert_eq!(messages[0].message_group_id, use_case.id.as_str());
    assert_eq!(
        messages[0].deduplication_id,
        format!(
            "poll-{}-{}",
            use_case.id,
            modified(&use_case).timestamp_millis()
        )
    );
    assert_eq!(
        world
            .cursors
            .get_watermark(&cursor_id(DEFAULT_CURSOR_PREFIX, "ModelUseCase"))
            .await
            .unwrap(),
        Some(modified(&use_case))
    );
    assert_eq!(
        world
            .cursors
            .get_watermark(&cursor_id(DEFAULT_CURSOR_PREFIX, "Model"))
            .await
            .unwrap(),
        Some(modified(&model))
    );
}

#[tokio::test]
async fn later_runs_send_only_new_changes_and_the_overlap_collapses_by_dedup_id() {
    let world = World::new();
    let use_case = world.add(GovernanceKind::UseCase, "Credit risk");
    world.invoke(Value::Null).await.unwrap();
    assert_eq!(world.queue.messages().len(), 1);
    // Nothing changed: the overlap re-sends the last minute's change with the same dedup id.
    world.invoke(Value::Null).await.unwrap();
    assert_eq!(world.queue.messages().len(), 1);
    world.governance.edit(
        &use_case.id,
        &[Field::choice(
            "MRG-AIFacts-ModelUseCase:Status",
            "Approved for Development",
        )],
    );
    world.invoke(Value::Null).await.unwrap();
    let events = world.events();
    assert_eq!(events.len(), 2, "the edit is a new change");
    assert!(events[1].occurred_at > events[0].occurred_at);
}

#[tokio::test]
async fn a_failed_enqueue_keeps_the_watermark_and_the_next_run_sends_it() {
    let world = World::new();
    world.add(GovernanceKind::UseCase, "Credit risk");
    world.queue.fail_next(
        "send",
        QueueError::Send {
            code: "ServiceUnavailable".into(),
            message: "down".into(),
            retryable: true,
        },
    );
    assert!(world.invoke(Value::Null).await.is_err());
    assert!(world.queue.messages().is_empty());
    assert_eq!(
        world
            .cursors
            .get_watermark(&cursor_id(DEFAULT_CURSOR_PREFIX, "ModelUseCase"))
            .await
            .unwrap(),
        None
    );
    world.invoke(Value::Null).await.unwrap();
    assert_eq!(world.queue.messages().len(), 1);
}

#[tokio::test]
async fn governance_unreachable_fails_the_run_and_loses_nothing() {
    let world = World::new();
    world.add(GovernanceKind::Model, "m");
    world.governance.fail_next(
        "query",
        GovernanceError::Status {
            operation: "query",
            status: 503,
            body: String::new(),
        },
    );
    assert!(world.invoke(Value::Null).await.is_err());
    world.invoke(Value::Null).await.unwrap();
    assert_eq!(world.events().len(), 1);
}

#[tokio::test]
async fn each_run_prints_new_changes_with_their_lag_and_the_overlap_as_duplicates() {
    let world = World::new();
    world.add(GovernanceKind::UseCase, "Credit risk");
    world.add(GovernanceKind::Model, "credit-risk v1");
    let line = |run: &govsync_governance_poller::PollRun| -> Value {
        serde_json::from_str(&metrics::embedded_metrics(
            run,
            "govsync",
            chrono::Utc::now(),
        ))
        .unwrap()
    };

    let first = line(&world.poller.poll().await);
    assert_eq!(first["Function"], "governance-poller");
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Function"]])
    );
    assert_eq!(
        (
            &first["EventsProcessed"],
            &first["Duplicates"],
            &first["Quarantined"],
            &first["Failures"],
            &first["Enqueued"]
        ),
        (
            &Value::from(2),
            &Value::from(0),
            &Value::from(0),
            &Value::from(0),
            &Value::from(2)
        )
    );
    let lags = first["SyncLagMs"].as_array().unwrap();
    assert_eq!(lags.len(), 2, "{first}");
    assert!(
        lags.iter()
            .all(|lag| lag.as_f64().is_some_and(|ms| (0.0..60_000.0).contains(&ms)))
    );

    // Nothing changed: the overlap re-reads both, and they are duplicates with no lag of their own.
    let second = line(&world.poller.poll().await);
    assert_eq!(second["EventsProcessed"], 2);
    assert_eq!(second["Duplicates"], 2);
    assert!(second.get("SyncLagMs").is_none(), "{second}");

    world.queue.fail_next(
        "send",
        QueueError::Send {
            code: "ServiceUnavailable".into(),
            message: "down".into(),
            retryable: true,
        },
    );
    let failed = line(&world.poller.poll().await);
    assert_eq!(failed["Failures"], 1);
    assert_eq!(failed["EventsProcessed"], 0, "no type was polled in full");
}
