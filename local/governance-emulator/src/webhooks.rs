//! Outbound change notifications: Standard-Webhooks signed, delivered in order by one
//! background task, retried, and logged.

use std::sync::Weak;

use chrono::Utc;
use govsync_core::webhook::{self, WebhookSecret};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::state::{Delivery, Shared, lock_data};
use crate::store::{GrcObject, format_instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "object.created",
            Self::Updated => "object.updated",
            Self::Deleted => "object.deleted",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectSummary {
    pub id: String,
    pub type_definition_id: String,
    pub name: String,
}

/// The notification body.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeEvent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub timestamp: String,
    pub object: ObjectSummary,
    pub changed_fields: Vec<String>,
}

impl ChangeEvent {
    pub fn new(kind: ChangeKind, object: &GrcObject, changed_fields: Vec<String>) -> Self {
        Self {
            kind: kind.as_str(),
            timestamp: format_instant(&Utc::now()),
            object: ObjectSummary {
                id: object.id.to_string(),
                type_definition_id: object.type_id.clone(),
                name: object.name.clone(),
            },
            changed_fields,
        }
    }
}

/// A notification with the target captured when the change happened.
pub struct Outgoing {
    pub epoch: u64,
    pub url: String,
    pub secret: Option<WebhookSecret>,
    pub event: ChangeEvent,
}

pub(crate) fn start_delivery_task(
    shared: Weak<Shared>,
    mut inbox: mpsc::UnboundedReceiver<Outgoing>,
) {
    let (retry_delays, timeout) = match shared.upgrade() {
        Some(s) => (
            s.config.webhook_retry_delays.clone(),
            s.config.webhook_attempt_timeout,
        ),
        None => return,
    };
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "cannot build the webhook HTTP client; webhooks disabled");
                return;
            }
        };
        while let Some(outgoing) = inbox.recv().await {
            let Some(current) = shared.upgrade() else {
                break;
            };
            let is_current = lock_data(&current).epoch == outgoing.epoch;
            drop(current);
            if !is_current {
                continue;
            }
            let delivery = deliver(&client, &outgoing, &retry_delays).await;
            let Some(current) = shared.upgrade() else {
                break;
            };
            let mut data = lock_data(&current);
            if data.epoch == outgoing.epoch {
                data.record_delivery(delivery);
            }
        }
    });
}

async fn deliver(
    client: &reqwest::Client,
    outgoing: &Outgoing,
    retry_delays: &[std::time::Duration],
) -> Delivery {
    // The id stays the same across attempts so the receiver can drop duplicates.
    let webhook_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let body = match serde_json::to_vec(&outgoing.event) {
        Ok(body) => body,
        Err(error) => {
            return finished(
                outgoing,
                webhook_id,
                0,
                None,
                Some(format!("cannot encode body: {error}")),
            );
        }
    };
    let mut attempts = 0u32;
    let (last_status, last_error) = loop {
        attempts += 1;
        let timestamp = Utc::now().timestamp();
        let mut request = client
            .post(&outgoing.url)
            .header("content-type", "application/json")
            .header(webhook::HEADER_ID, &webhook_id)
            .header(webhook::HEADER_TIMESTAMP, timestamp.to_string())
            .body(body.clone());
        if let Some(secret) = &outgoing.secret {
            request = request.header(
                webhook::HEADER_SIGNATURE,
                webhook::sign(secret, &webhook_id, timestamp, &body),
            );
        }
        let (status, error) = match request.send().await {
            Ok(response) if response.status().is_success() => {
                return finished(
                    outgoing,
                    webhook_id,
                    attempts,
                    Some(response.status().as_u16()),
                    None,
                );
            }
            Ok(response) => (
                Some(response.status().as_u16()),
                format!("HTTP {}", response.status()),
            ),
            Err(error) => (None, error.to_string()),
        };
        let Some(delay) = retry_delays.get(attempts as usize - 1) else {
            break (status, error);
        };
        tracing::debug!(
            webhook_id,
            attempts,
            error,
            "webhook attempt failed; retrying"
        );
        tokio::time::sleep(*delay).await;
    };
    tracing::warn!(webhook_id, attempts, last_error, "webhook delivery failed");
    finished(
        outgoing,
        webhook_id,
        attempts,
        last_status,
        Some(last_error),
    )
}

fn finished(
    outgoing: &Outgoing,
    webhook_id: String,
    attempts: u32,
    status: Option<u16>,
    error: Option<String>,
) -> Delivery {
    Delivery {
        webhook_id,
        event_type: outgoing.event.kind,
        object_id: outgoing.event.object.id.clone(),
        url: outgoing.url.clone(),
        attempts,
        delivered: error.is_none(),
        status,
        error,
        signed: outgoing.secret.is_some(),
        completed_at: format_instant(&Utc::now()),
    }
}
