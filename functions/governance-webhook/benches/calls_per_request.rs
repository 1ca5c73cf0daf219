//! governance-webhook calls benchmark (issue 17), run by hand: `cargo bench -p
//! govsync-governance-webhook --bench calls_per_request` (release build), or the same in the test
//! profile, quicker to build: `cargo test -p govsync-governance-webhook --bench calls_per_request`.
//! The counts do not depend on the profile.
//!
//! Each case is one signed API Gateway v2 request through the function's entry point
//! (`handle_with`) on the in-memory fakes of the crate's tests (`tests/support/mod.rs`). One line per
//! case prints the HTTP status, the idempotency-table calls and the queue sends
//! (`governance-events.fifo`) by name, the Secrets Manager reads of the signing secrets (the cold
//! start's read is not counted), and the table+queue total. The function makes no governance call.

#[path = "../tests/support/mod.rs"]
mod support;

use govsync_governance_webhook::handle_with;
use govsync_testkit::cost::{self, Usage};
use lambda_runtime::{Context, LambdaEvent};
use support::*;

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

/// One warm instance: the handler on fakes, its secrets already read at cold start.
struct Instance {
    source: RotatingSecrets,
    store: std::sync::Arc<govsync_adapters::fakes::FakeIdempotencyStore>,
    queue: std::sync::Arc<govsync_adapters::fakes::FakeMessageQueue>,
    handler: govsync_governance_webhook::Handler<
        govsync_adapters::fakes::FakeIdempotencyStore,
        govsync_adapters::fakes::FakeMessageQueue,
        RotatingSecrets,
    >,
}

impl Instance {
    fn new() -> Self {
        let source = RotatingSecrets::new(&[CURRENT, PREVIOUS]);
        let (store, queue, handler) = rotating_handler(source.clone(), &[CURRENT, PREVIOUS]);
        Self {
            source,
            store,
            queue,
            handler,
        }
    }

    /// Sends one request as Lambda would and prints what it called.
    async fn measure(
        &self,
        label: &str,
        request: aws_lambda_events::apigw::ApiGatewayV2httpRequest,
        expected: i64,
    ) -> Usage {
        let (store_before, queue_before, reads_before) = (
            self.store.calls().len(),
            self.queue.calls().len(),
            self.source.reads(),
        );
        let response = handle_with(
            &self.handler,
            LambdaEvent::new(request, Context::default()),
            None,
        )
        .await;
        assert_eq!(response.status_code, expected, "{label}: {response:?}");
        let table = self.store.calls()[store_before..].to_vec();
        let sends: Vec<String> = self.queue.calls()[queue_before..]
            .iter()
            .map(|call| format!("governance-events.fifo.{call}"))
            .collect();
        println!(
            "  {label:<50} HTTP {}  idempotency {} [{}]  queue sends {} [{}]  secret reads {}  tables+queue {}",
            response.status_code,
            table.len(),
            by_name(&table),
            sends.len(),
            by_name(&sends),
            self.source.reads() - reads_before,
            table.len() + sends.len(),
        );
        // The cost model (issue 17): the HTTP API request, the function at its template memory for
        // its calls' faked latencies (DynamoDB/SQS 5 ms each), the table units and the FIFO send.
        let (read_units, write_units) = cost::table_units(&table);
        Usage {
            read_units,
            write_units,
            sqs_fifo_requests: sends.len() as f64,
            http_api_requests: 1.0,
            ..Usage::lambda(256, (table.len() + sends.len()) as f64 * 0.005)
        }
    }
}

async fn calls_per_request() {
    println!(
        "remote calls per webhook request (governance-webhook; it holds no governance client: 0 governance calls):"
    );
    let instance = Instance::new();
    let id = unique_id();
    let accepted = instance
        .measure(
            "accepted: object.updated",
            signed(CURRENT, &id, now(), UPDATED_BODY),
            202,
        )
        .await;
    let retried = instance
        .measure(
            "the same delivery again (sender's retry)",
            signed(CURRENT, &id, now(), UPDATED_BODY),
            200,
        )
        .await;
    let created = UPDATED_BODY.replace("object.updated", "object.created");
    instance
        .measure(
            "accepted: object.created",
            signed(CURRENT, &unique_id(), now(), &created),
            202,
        )
        .await;
    let unhandled = UPDATED_BODY.replace("object.updated", "workflow.stage_changed");
    instance
        .measure(
            "skipped: an event type govsync does not handle",
            signed(CURRENT, &unique_id(), now(), &unhandled),
            202,
        )
        .await;
    instance
        .measure(
            "refused: unknown signing secret",
            signed(STRANGER, &unique_id(), now(), UPDATED_BODY),
            401,
        )
        .await;
    instance
        .measure(
            "refused again within 30 s (re-read rate-limited)",
            signed(STRANGER, &unique_id(), now(), UPDATED_BODY),
            401,
        )
        .await;
    // Governance signs with a secret rotated in after this instance's cold start: the miss re-reads
    // the secrets, then the delivery is accepted.
    let rotated = Instance::new();
    rotated.source.rotate(&[STRANGER, CURRENT]);
    rotated
        .measure(
            "accepted after a rotation (miss, re-read)",
            signed(STRANGER, &unique_id(), now(), UPDATED_BODY),
            202,
        )
        .await;
    print!(
        "{}",
        cost::table(
            &cost::US_EAST_1,
            &[
                (
                    "accepted webhook requests, per million".to_owned(),
                    accepted.times(1e6)
                ),
                (
                    "redelivered webhook requests, per million".to_owned(),
                    retried.times(1e6)
                ),
            ]
        )
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
    runtime.block_on(calls_per_request());
}
