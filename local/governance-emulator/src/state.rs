//! Shared emulator state: objects, tokens, queued faults, counters, webhook target and delivery log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use govsync_core::webhook::WebhookSecret;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::auth::TokenBook;
use crate::catalog::Catalog;
use crate::config::EmulatorConfig;
use crate::store::{GrcObject, Store};
use crate::webhooks::{ChangeEvent, ChangeKind, Outgoing};

/// Oldest deliveries are dropped past this, so a long-running emulator stays small.
const DELIVERY_LOG_CAPACITY: usize = 10_000;

/// One queued fault; served to the next `remaining` API requests it applies to (see [`FaultScope`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub status: Option<u16>,
    pub retry_after_secs: Option<u64>,
    pub latency_ms: Option<u64>,
    pub remaining: u32,
    #[serde(flatten)]
    pub scope: FaultScope,
}

/// Which API calls a fault applies to. Every given member must match; an empty scope applies to
/// every call (and is served before authentication). Scoped faults let concurrent tests fault only
/// their own calls: a `subject` fault applies only to calls authenticated as that subject (see the
/// admin API's extra API keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultScope {
    /// The authenticated principal (token subject or basic user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The HTTP method, e.g. `POST` (compared case-insensitively).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A prefix of the path under the API prefix, e.g. `/contents` or `/query`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
}

/// An API call as fault scopes see it.
#[derive(Debug, Clone, Copy)]
pub struct ApiCall<'a> {
    /// The principal of a valid credential, if any.
    pub subject: Option<&'a str>,
    pub method: &'a str,
    /// The path under the API prefix.
    pub path: &'a str,
}

impl FaultScope {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none() && self.method.is_none() && self.path_prefix.is_none()
    }

    pub fn applies_to(&self, call: &ApiCall<'_>) -> bool {
        self.subject
            .as_deref()
            .is_none_or(|subject| call.subject == Some(subject))
            && self
                .method
                .as_deref()
                .is_none_or(|method| method.eq_ignore_ascii_case(call.method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| call.path.starts_with(prefix))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub token_requests: u64,
    pub api_requests: u64,
    pub faults_served: u64,
    pub unauthorized: u64,
}

#[derive(Debug, Clone, Default)]
pub struct WebhookTarget {
    pub url: Option<String>,
    pub secret: Option<WebhookSecret>,
}

/// The outcome of one webhook delivery (after its retries).
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub webhook_id: String,
    pub event_type: &'static str,
    pub object_id: String,
    pub url: String,
    pub attempts: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered: bool,
    pub signed: bool,
    pub completed_at: String,
}

#[derive(Debug, Default)]
pub struct Data {
    pub store: Store,
    pub tokens: TokenBook,
    pub faults: VecDeque<Fault>,
    pub stats: Stats,
    pub webhook: WebhookTarget,
    pub deliveries: VecDeque<Delivery>,
    /// Bumped by reset; deliveries queued before a reset are dropped.
    pub epoch: u64,
    /// API keys added at runtime (`POST /_emulator/apikeys`) → the subject their tokens carry.
    /// Configuration, like the webhook target: a reset keeps them.
    pub api_keys: HashMap<String, String>,
}

impl Data {
    /// Takes one unit of the first queued unscoped fault, if any.
    pub fn take_fault(&mut self) -> Option<Fault> {
        self.faults.iter().position(|f| f.scope.is_empty())?;
        self.take_fault_for(&ApiCall {
            subject: None,
            method: "",
            path: "",
        })
    }

    /// Takes one unit of the first queued fault that applies to `call`, if any.
    pub fn take_fault_for(&mut self, call: &ApiCall<'_>) -> Option<Fault> {
        let index = self.faults.iter().position(|f| f.scope.applies_to(call))?;
        let fault = self.faults.get_mut(index)?;
        let served = fault.clone();
        fault.remaining = fault.remaining.saturating_sub(1);
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(served)
    }

    pub fn record_delivery(&mut self, delivery: Delivery) {
        if self.deliveries.len() >= DELIVERY_LOG_CAPACITY {
            self.deliveries.pop_front();
        }
        self.deliveries.push_back(delivery);
    }

    pub fn reset(&mut self) {
        self.store.clear();
        self.tokens.expire_all();
        self.faults.clear();
        self.stats = Stats::default();
        self.deliveries.clear();
        self.epoch += 1;
    }
}

pub struct Shared {
    pub config: EmulatorConfig,
    pub catalog: Catalog,
    data: Mutex<Data>,
    outbox: mpsc::UnboundedSender<Outgoing>,
}

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Shared>);

impl AppState {
    /// Builds the state and starts the webhook delivery task (needs a running tokio runtime).
    pub fn new(config: EmulatorConfig) -> Self {
        let (outbox, inbox) = mpsc::unbounded_channel();
        let data = Data {
            webhook: WebhookTarget {
                url: config.webhook_url.clone(),
                secret: config.webhook_secret.clone(),
            },
            ..Data::default()
        };
        let shared = Arc::new(Shared {
            catalog: Catalog::seeded(),
            config,
            data: Mutex::new(data),
            outbox,
        });
        crate::webhooks::start_delivery_task(Arc::downgrade(&shared), inbox);
        Self(shared)
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.0.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// Locks the data; a poisoned lock is recovered because every mutation leaves it consistent.
    pub fn lock(&self) -> MutexGuard<'_, Data> {
        lock_data(&self.0)
    }

    /// Queues a change notification while the caller still holds the lock, so deliveries keep
    /// the order of the changes.
    pub fn notify(
        &self,
        data: &Data,
        kind: ChangeKind,
        object: &GrcObject,
        changed_fields: Vec<String>,
    ) {
        let Some(url) = data.webhook.url.clone() else {
            return;
        };
        let outgoing = Outgoing {
            epoch: data.epoch,
            url,
            secret: data.webhook.secret.clone(),
            event: ChangeEvent::new(kind, object, changed_fields),
        };
        if self.0.outbox.send(outgoing).is_err() {
            tracing::warn!("webhook delivery task has stopped; notification dropped");
        }
    }
}

pub(crate) fn lock_data(shared: &Shared) -> MutexGuard<'_, Data> {
    shared
        .data
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_served_in_order_and_counted_down() {
        let mut data = Data::default();
        data.faults.push_back(Fault {
            status: Some(429),
            retry_after_secs: Some(1),
            latency_ms: None,
            remaining: 2,
            scope: FaultScope::default(),
        });
        data.faults.push_back(Fault {
            status: Some(500),
            retry_after_secs: None,
            latency_ms: None,
            remaining: 1,
            scope: FaultScope::default(),
        });
        let served: Vec<Option<u16>> = std::iter::from_fn(|| data.take_fault())
            .map(|f| f.status)
            .collect();
        assert_eq!(served, vec![Some(429), Some(429), Some(500)]);
        assert!(data.faults.is_empty());
    }

    #[test]
    fn a_scoped_fault_is_served_only_to_the_calls_it_names_and_others_pass_it_by() {
        let mut data = Data::default();
        data.faults.push_back(Fault {
            status: Some(429),
            retry_after_secs: None,
            latency_ms: None,
            remaining: 2,
            scope: FaultScope {
                subject: Some("tenant-a".into()),
                method: Some("post".into()),
                path_prefix: Some("/contents".into()),
            },
        });
        data.faults.push_back(Fault {
            status: Some(500),
            retry_after_secs: None,
            latency_ms: None,
            remaining: 1,
            scope: FaultScope::default(),
        });
        let call = |subject, method, path| ApiCall {
            subject,
            method,
            path,
        };
        // Another subject, another method or another path skip the scoped fault and take the
        // unscoped one behind it.
        let other = data.take_fault_for(&call(Some("tenant-b"), "POST", "/contents"));
        assert_eq!(other.map(|f| f.status), Some(Some(500)));
        assert_eq!(
            data.take_fault_for(&call(Some("tenant-a"), "GET", "/contents/1")),
            None
        );
        assert_eq!(
            data.take_fault_for(&call(Some("tenant-a"), "POST", "/query")),
            None
        );
        assert_eq!(data.take_fault_for(&call(None, "POST", "/contents")), None);
        assert_eq!(
            data.take_fault(),
            None,
            "take_fault serves unscoped faults only"
        );
        for _ in 0..2 {
            let served = data.take_fault_for(&call(Some("tenant-a"), "POST", "/contents"));
            assert_eq!(served.map(|f| f.status), Some(Some(429)));
        }
        assert!(data.faults.is_empty());
    }
}
