//! In-memory implementations of every port, for handler tests and benchmarks in the function
//! crates (feature `test-util`). They keep the semantics the real adapters rely on (metadata
//! merge, idempotency protocol, conditional revisions, ledger expiry) and record every call, so a
//! test can assert which remote calls an event caused. Each fake can add a fixed latency per call
//! and fail the next call of an operation with a given error. One file per port.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use govsync_core::clock::Clock;
use govsync_core::ports::registry::MAX_METADATA_ENTRIES;
use govsync_core::ports::{
    ApprovalStatus, CheckpointStore, CursorStore, EchoLedger, Email, ExternalIdLookup, Field,
    FieldDefinition, FieldValue, Governance, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceObject, GovernanceQuery, IdempotencyBegin, IdempotencyStore, Link, LinkEnd, LinkKind,
    LinkStore, ModelPackage, ModelRegistry, NewGovernanceObject, NewPackageGroup, Notifier,
    NotifyError, OurWrite, PackageGroupSummary, PackageSummary, PackageUpdate, Quarantine,
    QuarantineError, QuarantinedMessage, QueryCondition, QueryRow, RegistryError, RevisionOutcome,
    RevisionStore, StoreError, Tombstone, TombstoneStore, TypeDefinition,
};

use crate::governance::{EXTERNAL_ID_FIELD, Related, Relation, TypeIds};

/// The field the fake governance stamps on every create and update.
pub const LAST_MODIFICATION_DATE: &str = "Last Modification Date";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Call log, latency and injected failures shared by the fakes.
#[derive(Debug)]
struct Recorder<E> {
    calls: Mutex<Vec<&'static str>>,
    failures: Mutex<HashMap<&'static str, VecDeque<E>>>,
    /// Errors answered after the call took effect: the write was applied, its reply lost.
    lost_replies: Mutex<HashMap<&'static str, VecDeque<E>>>,
    latency: Mutex<Duration>,
}

impl<E> Default for Recorder<E> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            failures: Mutex::new(HashMap::new()),
            lost_replies: Mutex::new(HashMap::new()),
            latency: Mutex::new(Duration::ZERO),
        }
    }
}

impl<E> Recorder<E> {
    async fn enter(&self, operation: &'static str) -> Result<(), E> {
        lock(&self.calls).push(operation);
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match lock(&self.failures)
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Called by a write once its effect is applied: answers the error of a lost reply, if one is armed.
    fn leave(&self, operation: &'static str) -> Result<(), E> {
        match lock(&self.lost_replies)
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn lose_reply_next(&self, operation: &'static str, error: E) {
        lock(&self.lost_replies)
            .entry(operation)
            .or_default()
            .push_back(error);
    }

    /// A listing answered in `pages` pages: one recorded call and one latency per page.
    async fn enter_pages(&self, operation: &'static str, pages: usize) -> Result<(), E> {
        for _ in 1..pages {
            self.enter(operation).await?;
        }
        self.enter(operation).await
    }

    fn calls(&self) -> Vec<&'static str> {
        lock(&self.calls).clone()
    }

    fn fail_next(&self, operation: &'static str, error: E) {
        lock(&self.failures)
            .entry(operation)
            .or_default()
            .push_back(error);
    }

    fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    fn clear_failures(&self) -> usize {
        let failures: usize = lock(&self.failures)
            .drain()
            .map(|(_, queued)| queued.len())
            .sum();
        let lost: usize = lock(&self.lost_replies)
            .drain()
            .map(|(_, queued)| queued.len())
            .sum();
        failures + lost
    }
}

macro_rules! recorder_methods {
    ($error:ty) => {
        /// Operation names called so far, in order (e.g. `"get_object"`).
        pub fn calls(&self) -> Vec<&'static str> {
            self.recorder.calls()
        }

        /// Makes the next call of `operation` fail with `error` (queued, one per call).
        pub fn fail_next(&self, operation: &'static str, error: $error) {
            self.recorder.fail_next(operation, error);
        }

        /// Makes the next call of `operation` take effect, then answer `error`: a write applied whose
        /// reply was lost (only writes take this fault).
        pub fn lose_reply_next(&self, operation: &'static str, error: $error) {
            self.recorder.lose_reply_next(operation, error);
        }

        /// Adds a fixed delay to every call (benchmarks fake remote calls at a latency).
        pub fn set_latency(&self, latency: Duration) {
            self.recorder.set_latency(latency);
        }

        /// Drops the failures queued by `fail_next` that no call has taken yet; returns how many.
        pub fn clear_failures(&self) -> usize {
            self.recorder.clear_failures()
        }
    };
}

/// Paged listings for the fakes that list (registry listings, governance queries).
macro_rules! paging_methods {
    () => {
        /// Answers listings in pages of `size` (each page one recorded call and one latency), as the
        /// real APIs page them (SageMaker lists 100 per page). `None` (the default): one call per listing.
        pub fn set_page_size(&self, size: Option<usize>) {
            *lock(&self.page_size) = size.filter(|size| *size > 0);
        }

        fn pages_for(&self, items: usize) -> usize {
            match *lock(&self.page_size) {
                Some(size) => items.div_ceil(size).max(1),
                None => 1,
            }
        }
    };
}

mod artifacts;
mod batch;
mod clock;
mod cursors;
mod decisions;
mod governance;
mod hosting;
mod idempotency;
mod links;
mod notifier;
mod quarantine;
mod queue;
mod registry;

pub use artifacts::*;
pub use clock::*;
pub use cursors::*;
pub use decisions::*;
pub use governance::*;
pub use hosting::*;
pub use idempotency::*;
pub use links::*;
pub use notifier::*;
pub use quarantine::*;
pub use queue::*;
pub use registry::*;

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use govsync_core::IdempotencyKey;

    use super::*;

    #[tokio::test]
    async fn a_lost_reply_answers_an_error_after_the_write_took_effect() {
        let store = FakeIdempotencyStore::new();
        let key = IdempotencyKey::for_cloudtrail_event("lost-reply");
        let now = Utc::now();
        store.lose_reply_next(
            "begin",
            StoreError::Transport {
                operation: "begin",
                message: "reset".into(),
            },
        );
        assert!(
            store
                .begin(&key, now, now + TimeDelta::seconds(30))
                .await
                .is_err()
        );
        assert_eq!(
            store
                .begin(&key, now, now + TimeDelta::seconds(30))
                .await
                .unwrap(),
            IdempotencyBegin::InProgress,
            "the first call's claim was made"
        );
        let governance = FakeGovernance::new();
        governance.lose_reply_next(
            "create_object",
            GovernanceError::Status {
                operation: "create object",
                status: 504,
                body: String::new(),
            },
        );
        let created = governance
            .create_object(&NewGovernanceObject {
                kind: GovernanceKind::Model,
                name: "m".into(),
                description: None,
                parent_id: None,
                fields: vec![],
            })
            .await;
        assert!(created.is_err());
        assert_eq!(
            governance.objects().len(),
            1,
            "the object exists all the same"
        );
    }

    #[tokio::test]
    async fn fake_registry_merges_metadata_like_sagemaker() {
        let registry = FakeRegistry::new("123456789012", "us-east-1");
        let mut package = registered_package(&registry, "credit-risk", 1);
        package
            .customer_metadata
            .insert("keep".to_owned(), "1".to_owned());
        package
            .customer_metadata
            .insert("drop".to_owned(), "2".to_owned());
        registry.put_package(package.clone());
        registry
            .update_package(&PackageUpdate {
                metadata_to_set: BTreeMap::from([("new".to_owned(), "3".to_owned())]),
                metadata_to_remove: vec!["drop".to_owned()],
                ..PackageUpdate::new(package.arn.clone())
            })
            .await
            .unwrap();
        let updated = registry.describe_package(&package.arn).await.unwrap();
        let keys: Vec<_> = updated.customer_metadata.keys().cloned().collect();
        assert_eq!(keys, ["keep", "new"]);
        assert_eq!(registry.calls(), ["update_package", "describe_package"]);
        assert!(
            registry
                .describe_package(
                    &govsync_core::ModelPackageArn::parse(&registry.package_arn("credit-risk", 9))
                        .unwrap()
                )
                .await
                .unwrap_err()
                .is_not_found()
        );
    }

    #[tokio::test]
    async fn fake_idempotency_follows_the_protocol() {
        let store = FakeIdempotencyStore::new();
        let now = Utc::now();
        let deadline = now + TimeDelta::seconds(10);
        assert_eq!(
            store
                .begin(&IdempotencyKey::for_cloudtrail_event("k"), now, deadline)
                .await
                .unwrap(),
            IdempotencyBegin::Started
        );
        assert_eq!(
            store
                .begin(&IdempotencyKey::for_cloudtrail_event("k"), now, deadline)
                .await
                .unwrap(),
            IdempotencyBegin::InProgress
        );
        let after_deadline = now + TimeDelta::seconds(11);
        assert_eq!(
            store
                .begin(
                    &IdempotencyKey::for_cloudtrail_event("k"),
                    after_deadline,
                    after_deadline
                )
                .await
                .unwrap(),
            IdempotencyBegin::Started
        );
        store
            .complete(
                &IdempotencyKey::for_cloudtrail_event("k"),
                &serde_json::json!(1),
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .begin(&IdempotencyKey::for_cloudtrail_event("k"), now, deadline)
                .await
                .unwrap(),
            IdempotencyBegin::AlreadyCompleted(serde_json::json!(1))
        );
    }

    #[tokio::test]
    async fn injected_failures_are_served_once_in_order() {
        let governance = FakeGovernance::new();
        governance.fail_next(
            "get_object",
            GovernanceError::Status {
                operation: "get object",
                status: 503,
                body: String::new(),
            },
        );
        let object = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: "m".to_owned(),
            description: None,
            parent_id: None,
            fields: vec![Field::text(EXTERNAL_ID_FIELD, "arn:x")],
        });
        assert!(
            governance
                .get_object(&object.id)
                .await
                .unwrap_err()
                .is_retryable()
        );
        assert_eq!(
            governance.get_object(&object.id).await.unwrap().id,
            object.id
        );
        assert!(matches!(
            governance
                .find_by_external_id(GovernanceKind::Model, "arn:x")
                .await
                .unwrap(),
            ExternalIdLookup::Found(_)
        ));
    }
}
