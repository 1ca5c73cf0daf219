//! Governance decision events onto govsync's EventBridge bus (`PutEvents`, one entry per decision).
//! An entry EventBridge refuses (`FailedEntryCount`) is an error like a failed call: the decision
//! stays in the outbox and is put again on the next delivery.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use govsync_core::decision_event::{DETAIL_TYPE, DecisionDetail, SOURCE};
use govsync_core::ports::{DecisionPublisher, PublishError};

use crate::sdk_error::classify;

/// Puts decision events on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    /// `bus`: the bus name or ARN.
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }
}

impl DecisionPublisher for EventBridgePublisher {
    async fn publish(&self, detail: &DecisionDetail) -> Result<(), PublishError> {
        let failed = |message: String| PublishError {
            decision_id: detail.decision_id.clone(),
            message,
        };
        let json = serde_json::to_string(detail).map_err(|error| failed(error.to_string()))?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .resources(&detail.package_arn)
            .detail(json)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|error| {
                let failure = classify("PutEvents", &error);
                failed(format!("{}: {}", failure.code, failure.message))
            })?;
        if output.failed_entry_count() > 0 {
            let entry = output.entries().first();
            return Err(failed(format!(
                "EventBridge refused the entry: {} {}",
                entry.and_then(|e| e.error_code()).unwrap_or("unknown"),
                entry.and_then(|e| e.error_message()).unwrap_or("")
            )));
        }
        Ok(())
    }
}
