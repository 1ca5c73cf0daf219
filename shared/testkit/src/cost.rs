//! The cost model of issue #17: what a deployment pays AWS for the calls a benchmark counted, at the
//! published on-demand prices of one Region. The benchmarks (`registry_events`, `calls_per_change`,
//! `reconcile`) turn their own call counts into a [`Usage`] and print [`Usage::cost`].
//!
//! Prices: us-east-1, on-demand, as the AWS pricing pages state them (Lambda, DynamoDB, SQS,
//! EventBridge, API Gateway), read on 2026-12-05; free tiers are ignored and CloudWatch Logs are not
//! counted. SageMaker control-plane calls and governance (OpenPages) calls have no per-call price: the
//! first is free, the second is the tenant's licence. Re-check the prices before budgeting with them.

use std::fmt::Write as _;

/// Per-unit prices in US dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub region: &'static str,
    pub read_on: &'static str,
    /// Lambda, Arm (the templates' default `Architecture`), per GB-second.
    pub lambda_gb_second: f64,
    /// Lambda, per request.
    pub lambda_request: f64,
    /// DynamoDB on-demand, per write request unit (an item of up to 1 KB; 2 in a transaction).
    pub dynamodb_write_unit: f64,
    /// DynamoDB on-demand, per read request unit (a strongly consistent read of up to 4 KB).
    pub dynamodb_read_unit: f64,
    /// SQS FIFO queue, per request (each 64 KB chunk of a payload).
    pub sqs_fifo_request: f64,
    /// SQS standard queue, per request.
    pub sqs_standard_request: f64,
    /// EventBridge: per event put on a bus by a caller, or delivered to another account's bus (events
    /// AWS services put on their own account's default bus are free).
    pub eventbridge_event: f64,
    /// EventBridge Scheduler, per invocation.
    pub scheduler_invocation: f64,
    /// API Gateway HTTP API, per request (the first 300 million a month).
    pub http_api_request: f64,
}

/// us-east-1 (N. Virginia).
pub const US_EAST_1: Prices = Prices {
    region: "us-east-1",
    read_on: "2026-12-05",
    lambda_gb_second: 0.000_013_333_4,
    lambda_request: 0.20 / 1e6,
    dynamodb_write_unit: 0.625 / 1e6,
    dynamodb_read_unit: 0.125 / 1e6,
    sqs_fifo_request: 0.50 / 1e6,
    sqs_standard_request: 0.40 / 1e6,
    eventbridge_event: 1.00 / 1e6,
    scheduler_invocation: 1.00 / 1e6,
    http_api_request: 1.00 / 1e6,
};

/// What a unit of work (an event, a change, a reconcile run) uses of each priced service.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub lambda_invocations: f64,
    pub lambda_gb_seconds: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub sqs_fifo_requests: f64,
    pub sqs_standard_requests: f64,
    pub eventbridge_events: f64,
    pub scheduler_invocations: f64,
    pub http_api_requests: f64,
}

/// A [`Usage`] priced, per service.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    pub lambda: f64,
    pub dynamodb: f64,
    pub sqs: f64,
    pub eventbridge: f64,
    pub api_gateway: f64,
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.lambda + self.dynamodb + self.sqs + self.eventbridge + self.api_gateway
    }
}

impl Usage {
    /// One Lambda invocation of `memory_mb` running `seconds` (billed per millisecond).
    pub fn lambda(memory_mb: u32, seconds: f64) -> Usage {
        Usage {
            lambda_invocations: 1.0,
            lambda_gb_seconds: f64::from(memory_mb) / 1024.0 * seconds.max(0.001),
            ..Usage::default()
        }
    }

    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            lambda_invocations: self.lambda_invocations + other.lambda_invocations,
            lambda_gb_seconds: self.lambda_gb_seconds + other.lambda_gb_seconds,
            read_units: self.read_units + other.read_units,
            write_units: self.write_units + other.write_units,
            sqs_fifo_requests: self.sqs_fifo_requests + other.sqs_fifo_requests,
            sqs_standard_requests: self.sqs_standard_requests + other.sqs_standard_requests,
            eventbridge_events: self.eventbridge_events + other.eventbridge_events,
            scheduler_invocations: self.scheduler_invocations + other.scheduler_invocations,
            http_api_requests: self.http_api_requests + other.http_api_requests,
        }
    }

    pub fn times(self, factor: f64) -> Usage {
        Usage {
            lambda_invocations: self.lambda_invocations * factor,
            lambda_gb_seconds: self.lambda_gb_seconds * factor,
            read_units: self.read_units * factor,
            write_units: self.write_units * factor,
            sqs_fifo_requests: self.sqs_fifo_requests * factor,
            sqs_standard_requests: self.sqs_standard_requests * factor,
            eventbridge_events: self.eventbridge_events * factor,
            scheduler_invocations: self.scheduler_invocations * factor,
            http_api_requests: self.http_api_requests * factor,
        }
    }

    pub fn cost(&self, prices: &Prices) -> Cost {
        Cost {
            lambda: self.lambda_invocations * prices.lambda_request
                + self.lambda_gb_seconds * prices.lambda_gb_second,
            dynamodb: self.read_units * prices.dynamodb_read_unit
                + self.write_units * prices.dynamodb_write_unit,
            sqs: self.sqs_fifo_requests * prices.sqs_fifo_request
                + self.sqs_standard_requests * prices.sqs_standard_request,
            eventbridge: self.eventbridge_events * prices.eventbridge_event
                + self.scheduler_invocations * prices.scheduler_invocation,
            api_gateway: self.http_api_requests * prices.http_api_request,
        }
    }
}

/// SQS requests of a message through a queue Lambda polls: the send, and its share of the poller's
/// receive and delete (one each per batch of `batch` messages).
pub fn queued_message_requests(batch: f64) -> f64 {
    1.0 + 2.0 / batch.max(1.0)
}

/// DynamoDB request units of one call of govsync's store ports, by the name the in-memory fakes record
/// it under: (read units, write units). Every item is under 1 KB (a write unit) and 4 KB (a strongly
/// consistent read unit); a transaction costs two units an item. `None`: a call this model does not
/// know, which a benchmark must refuse rather than price at nothing.
pub fn table_call_units(call: &str) -> Option<(f64, f64)> {
    let units = match call {
        // Reads: one item (or one query page of a few small items).
        "applied_revision"
        | "approved_artifact"
        | "link_by_arn"
        | "link_by_governance_id"
        | "pending_decision"
        | "tombstone"
        | "get_checkpoint"
        | "get_watermark" => (1.0, 0.0),
        // `BatchGetItem` of the applied revision, both links, the approved artifact and (registry-events)
        // the ledger entry of the change.
        "package_state" => (5.0, 0.0),
        // Conditional puts, updates and deletes of one item (a refused condition is charged too).
        "begin"
        | "complete"
        | "release"
        | "consume_our_write"
        | "record_our_write"
        | "record_approved_artifact"
        | "advance_applied_revision"
        | "save_decision"
        | "decision_published"
        | "put_tombstone"
        | "put_checkpoint"
        | "delete_checkpoint"
        | "put_watermark" => (0.0, 1.0),
        // One `TransactWriteItems` of the link and its reverse item.
        "put_link" => (0.0, 4.0),
        // A `TransactWriteItems` of several items: two units an item, counted by the caller
        // (`FakeLinkStore::transaction_items`); the call itself adds none.
        "commit" => (0.0, 0.0),
        _ => return None,
    };
    Some(units)
}

/// The read and write units of `calls` (names as the fakes record them); panics on a call
/// [`table_call_units`] does not know, so a new store call cannot slip out of the cost model.
pub fn table_units<S: AsRef<str>>(calls: &[S]) -> (f64, f64) {
    calls.iter().fold((0.0, 0.0), |(reads, writes), call| {
        let (r, w) = table_call_units(call.as_ref()).unwrap_or_else(|| {
            panic!(
                "the cost model does not know table call {:?}",
                call.as_ref()
            )
        });
        (reads + r, writes + w)
    })
}

/// The cost table: one row per `(label, usage)`, in dollars, under a header naming the prices.
pub fn table(prices: &Prices, rows: &[(String, Usage)]) -> String {
    let mut out = format!(
        "cost at on-demand prices ({}, read {}; free tiers ignored):\n",
        prices.region, prices.read_on
    );
    let _ = writeln!(
        out,
        "  {:<52} {:>10} {:>10} {:>10} {:>11} {:>11} {:>11}",
        "", "Lambda", "DynamoDB", "SQS", "EventBridge", "API Gateway", "total"
    );
    for (label, usage) in rows {
        let cost = usage.cost(prices);
        let _ = writeln!(
            out,
            "  {:<52} {:>10.2} {:>10.2} {:>10.2} {:>11.2} {:>11.2} {:>11.2}",
            label,
            cost.lambda,
            cost.dynamodb,
            cost.sqs,
            cost.eventbridge,
            cost.api_gateway,
            cost.total()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_writes_and_reads_cost_the_published_unit_prices() {
        let usage = Usage {
            write_units: 1e6,
            read_units: 1e6,
            ..Usage::default()
        };
        let cost = usage.cost(&US_EAST_1);
        assert!((cost.dynamodb - 0.75).abs() < 1e-9, "{cost:?}");
        assert_eq!(cost.lambda, 0.0);
    }

    #[test]
    fn lambda_is_memory_times_duration_plus_the_request() {
        // 1 GB for 1 s, a million times: 1e6 GB-s and a million requests.
        let cost = Usage::lambda(1024, 1.0).times(1e6).cost(&US_EAST_1);
        assert!((cost.lambda - (13.3334 + 0.20)).abs() < 1e-6, "{cost:?}");
        let usage = Usage::lambda(256, 0.5).plus(Usage::lambda(128, 0.0));
        assert_eq!(usage.lambda_invocations, 2.0);
        assert!((usage.lambda_gb_seconds - (0.125 + 0.125 * 0.001)).abs() < 1e-12);
    }

    #[test]
    fn table_calls_are_priced_by_name_and_an_unknown_one_is_refused() {
        assert_eq!(
            table_units(&["begin", "package_state", "put_link"]),
            (5.0, 5.0)
        );
        assert!(table_call_units("scan_everything").is_none());
        assert!(std::panic::catch_unwind(|| table_units(&["scan_everything"])).is_err());
    }

    #[test]
    fn a_polled_queue_message_costs_its_send_and_a_share_of_the_batch() {
        assert_eq!(queued_message_requests(1.0), 3.0);
        assert_eq!(queued_message_requests(10.0), 1.2);
        let table = table(&US_EAST_1, &[("x".to_owned(), Usage::default())]);
        assert!(
            table.contains("us-east-1") && table.contains("0.00"),
            "{table}"
        );
    }
}
