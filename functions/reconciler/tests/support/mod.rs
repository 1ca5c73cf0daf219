//! A reconciler on the adapters' in-memory fakes, and helpers to seed and inspect both sides.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use govsync_adapters::fakes::{
    FakeCursorStore, FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeMessageQueue,
    FakeRegistry, registered_package,
};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::registry::ModelLifecycle;
use govsync_core::ports::{
    Field, GovernanceKind, GovernanceObject, ModelPackage, NewGovernanceObject,
};
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities, fields};
use govsync_core::{GovernanceId, MappingSpec, RegistryMap};
use govsync_flows::package_sync::Settings;
use govsync_reconciler::{ReconcileReport, Reconciler, RunOptions, Tuning};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const GOVSYNC_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync";

pub type FakeReconciler = Reconciler<
    FakeGovernance,
    FakeRegistry,
    FakeIdempotencyStore,
    FakeLinkStore,
    FakeCursorStore,
    FakeMessageQueue,
>;

pub fn settings(registries: &[&FakeRegistryId], gate: GateMode) -> Settings {
    let mut writers = WriterIdentities::new();
    writers.add(GOVSYNC_CALLER).unwrap();
    let map: Vec<serde_json::Value> = registries
        .iter()
        .enumerate()
        .map(|(index, id)| {
            serde_json::json!({"account": id.account, "region": id.region, "business_entity": format!("Entity {index}")})
        })
        .collect();
    Settings {
        registries: RegistryMap::parse(&serde_json::Value::Array(map).to_string()).unwrap(),
        writers,
        gate,
        mapping: MappingSpec::builtin().unwrap(),
        console: ConsoleLinks::new("https://grc.example.com").unwrap(),
        model_links: None,
    }
}

/// The registry map's entry of a fake registry (its account and region).
fn settings_registry(id: &FakeRegistryId) -> govsync_core::Registry {
    settings(&[id], GateMode::Enforce).registries.registries()[0].clone()
}

pub struct FakeRegistryId {
    pub account: String,
    pub region: String,
}

/// The fakes behind a reconciler, kept so tests can seed and inspect them.
pub struct World {
    pub governance: Arc<FakeGovernance>,
    pub registries: Vec<Arc<FakeRegistry>>,
    pub links: Arc<FakeLinkStore>,
    pub cursors: Arc<FakeCursorStore>,
    pub queue: Arc<FakeMessageQueue>,
    pub reconciler: FakeReconciler,
    pub use_case: GovernanceObject,
    /// S3 and ECR of the first registry's account (the artifact check).
    pub artifacts: Arc<govsync_adapters::fakes::FakeArtifacts>,
}

impl World {
    pub fn new(gate: GateMode) -> Self {
        Self::with(1, gate, Tuning::default())
    }

    /// `registry_count` registries (accounts 1234567890NN, us-east-1), one use case.
    pub fn with(registry_count: usize, gate: GateMode, tuning: Tuning) -> Self {
        let ids: Vec<FakeRegistryId> = (0..registry_count)
            .map(|index| FakeRegistryId {
                account: if index == 0 {
                    ACCOUNT.to_owned()
                } else {
                    format!("1234567890{:02}", index)
                },
                region: REGION.to_owned(),
            })
            .collect();
        let governance = Arc::new(FakeGovernance::new());
        let registries: Vec<Arc<FakeRegistry>> = ids
            .iter()
            .map(|id| Arc::new(FakeRegistry::new(id.account.clone(), id.region.clone())))
            .collect();
        let links = Arc::new(FakeLinkStore::new());
        let cursors = Arc::new(FakeCursorStore::new());
        let queue = Arc::new(FakeMessageQueue::new());
        let settings = settings(&ids.iter().collect::<Vec<_>>(), gate);
        let use_case = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: "Fraud detection, EU".into(),
            description: None,
            parent_id: None,
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
            ],
        });
        let clients = settings
            .registries
            .registries()
            .iter()
            .cloned()
            .zip(registries.iter().cloned())
            .collect();
        let reconciler = Reconciler::new(
            settings,
            governance.clone(),
            clients,
            Arc::new(FakeIdempotencyStore::new()),
            links.clone(),
            cursors.clone(),
            queue.clone(),
            tuning,
        );
        let artifacts = Arc::new(govsync_adapters::fakes::FakeArtifacts::new());
        let reconciler = reconciler.with_artifact_readers(
            govsync_flows::artifacts::ArtifactReaders::from_clients(vec![(
                settings_registry(&ids[0]),
                Arc::clone(&artifacts),
                Arc::clone(&artifacts),
            )]),
        );
        Self {
            artifacts,
            governance,
            registries,
            links,
            cursors,
            queue,
            reconciler,
            use_case,
        }
    }

    pub fn registry(&self) -> &FakeRegistry {
        &self.registries[0]
    }

    /// A group assigned to the use case (tag `govsync:use-case-id`), in registry `index`.
    pub fn add_assigned_group(&self, index: usize, name: &str) -> String {
        self.registries[index].add_group(
            name,
            BTreeMap::from([(keys::USE_CASE_ID.to_owned(), self.use_case.id.to_string())]),
        )
    }

    /// Registers version `version` of `group` in registry `index`, with a `both`-row lifecycle
    /// (Development / InProgress ⇔ Under Development); returns it.
    pub fn register(&self, index: usize, group: &str, version: i32) -> ModelPackage {
        let registry = &self.registries[index];
        let mut package = registered_package(registry, group, version);
        package.lifecycle = Some(lifecycle("Development", "InProgress"));
        registry.put_package(package.clone());
        package
    }

    pub async fn run(&self, dry_run: bool) -> ReconcileReport {
        self.reconciler
            .run(&RunOptions {
                dry_run,
                deadline: None,
            })
            .await
            .expect("the run completes")
    }

    pub async fn run_until(&self, deadline: DateTime<Utc>) -> ReconcileReport {
        self.reconciler
            .run(&RunOptions {
                dry_run: false,
                deadline: Some(deadline),
            })
            .await
            .expect("the run ends without error")
    }

    /// The governance model carrying `arn` as its external id.
    pub fn model_of(&self, arn: &str) -> Option<GovernanceObject> {
        self.governance.objects().into_iter().find(|object| {
            object.type_definition_id == "Model"
                && object
                    .field(fields::EXTERNAL_ID)
                    .and_then(|v| v.as_text())
                    .as_deref()
                    == Some(arn)
        })
    }

    pub fn status_of(&self, arn: &str) -> Option<String> {
        self.model_of(arn)
            .and_then(|model| model.field(fields::MODEL_STATUS).and_then(|v| v.as_text()))
    }

    /// Sets a model's status as a person in governance would (no call recorded).
    pub fn set_status(&self, id: &GovernanceId, status: &str) {
        self.governance
            .edit(id, &[Field::choice(fields::MODEL_STATUS, status)])
            .unwrap();
    }

    /// Changes a package as a person in SageMaker would (no event), moving `LastModifiedTime` on.
    pub fn change_package(&self, index: usize, arn: &str, change: impl FnOnce(&mut ModelPackage)) {
        let registry = &self.registries[index];
        let mut package = registry.package(arn).unwrap();
        change(&mut package);
        package.last_modified_time = Some(Utc::now() + chrono::Duration::seconds(1));
        registry.put_package(package);
    }

    /// Both sides as comparable text: every governance object, every package, every link, the queue.
    pub fn snapshot(&self) -> String {
        let mut links: Vec<String> = self
            .links
            .links()
            .iter()
            .map(|link| format!("{link:?}"))
            .collect();
        links.sort();
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}",
            self.governance.objects(),
            self.registries
                .iter()
                .map(|r| r.packages())
                .collect::<Vec<_>>(),
            links,
            self.queue.messages()
        )
    }
}

pub fn lifecycle(stage: &str, status: &str) -> ModelLifecycle {
    ModelLifecycle::parse(stage, status, None).unwrap()
}

/// Fast tuning for tests: small margins, frequent checkpoints.
pub fn test_tuning() -> Tuning {
    Tuning {
        concurrency: 8,
        group_concurrency: 2,
        registry_concurrency: 2,
        deadline_margin: Duration::ZERO,
        checkpoint_every: Duration::ZERO,
        throttle_retries: 5,
        throttle_backoff: Duration::from_millis(1),
        // Every package described in full every run (the fast pass's own tests set more slices).
        deep_slices: 1,
        deep_describes_per_second: 0,
    }
}
