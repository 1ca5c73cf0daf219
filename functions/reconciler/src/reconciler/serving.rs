//! What is really serving: each registry's endpoints read (bounded by the limiter), judged in core
//! ([`govsync_core::serving`]) and reported; at the end of a complete run, every Model's `Deployments`
//! field compared with the endpoints of every registry and rewritten where it is out of step. Read-only
//! towards SageMaker: govsync never stops or changes an endpoint.

use super::*;
use govsync_core::ports::hosting::EndpointSummary;
use govsync_core::reconcile::ARCHIVED_STAGE;
use govsync_core::serving::{
    PackageState, ServingPolicy, VersionFacts, judge_deployments, judge_endpoint, serving_endpoint,
};

/// Endpoint statuses that serve nothing: not read.
const NOT_SERVING: [&str; 2] = ["Failed", "Deleting"];

/// One registry's endpoints as the serving step read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryServing {
    /// The endpoints read, by name.
    pub endpoints: Vec<ServingEndpoint>,
    /// Why its endpoints, or some of them, could not be read (`None`: all were): they are not judged,
    /// and the `Deployments` lines naming this registry are kept as they are.
    pub unread: Option<String>,
}

/// What reading one endpoint came to.
enum EndpointRead {
    Serving(ServingEndpoint),
    /// Deleted while the run read it.
    Gone,
    /// A permanent refusal (access denied, …): not judged.
    Refused(String),
}

/// A registry read: its value, a reason to stop reading this endpoint, or a failure of the run.
macro_rules! read_or_settle {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(error) if error.is_not_found() => return Ok(EndpointRead::Gone),
            Err(error) if !error.is_retryable() => {
                return Ok(EndpointRead::Refused(error.to_string()));
            }
            Err(error) => return Err(ReconcileError::from(error)),
        }
    };
}

fn is_archived(package: &ModelPackage) -> bool {
    package.status == Some(ModelPackageStatus::Deleting)
        || package
            .lifecycle
            .as_ref()
            .is_some_and(|lifecycle| lifecycle.stage.as_str() == ARCHIVED_STAGE)
}

impl<G, R, I, L, C, M> Reconciler<G, R, I, L, C, M>
where
    G: Governance,
    R: ModelRegistry + Hosting,
    I: IdempotencyStore,
    L: LinksTable,
    C: CheckpointStore,
    M: MessageQueue,
{
    /// Reads registry `index`'s endpoints, judges them and records the findings (report only).
    pub(super) async fn serving_step(
        &self,
        index: usize,
        registry: &Registry,
        client: &R,
        run: &RegistryRun<'_>,
    ) -> Result<(), ReconcileError> {
        let (inventory, limiter, dry_run, observer) =
            (run.inventory, run.limiter, run.dry_run, run.observer);
        let serving = self.read_endpoints(registry, client, limiter).await?;
        let facts = self.version_facts(&serving.endpoints, limiter).await?;
        let policy = ServingPolicy {
            mapping: &self.mapping,
            decommissioned: &self.policy.status,
        };
        let findings: Vec<_> = serving
            .endpoints
            .iter()
            .flat_map(|endpoint| judge_endpoint(endpoint, inventory, &facts, policy))
            .collect();
        let drifts = findings
            .iter()
            .map(|finding| finding.drift.clone())
            .collect();
        let records = self
            .repair_all(registry, client, drifts, limiter, dry_run)
            .await;
        let serving_records: Vec<ServingRecord> = findings
            .into_iter()
            .zip(records)
            .map(|(finding, record)| ServingRecord {
                endpoint: finding.endpoint,
                endpoint_arn: finding.endpoint_arn,
                stage: finding.stage,
                record,
            })
            .collect();
        observer.endpoints_judged(registry, &serving, &serving_records);
        let mut progress = lock(run.progress);
        for record in serving_records {
            progress.record(index, record.record);
        }
        progress.serving.insert(index, serving);
        Ok(())
    }

    /// Lists the registry's endpoints and reads each (concurrently, through the limiter). A refused
    /// listing or read is reported in [`RegistryServing::unread`], not fatal; a retryable failure fails
    /// the run (the next resumes in this registry).
    pub(super) async fn read_endpoints(
        &self,
        registry: &Registry,
        client: &R,
        limiter: &Limiter,
    ) -> Result<RegistryServing, ReconcileError> {
        let label = format!("{}/{}", registry.account, registry.region);
        let listed = match limiter.call(|| client.list_endpoints()).await {
            Ok(listed) => listed,
            Err(error) if !error.is_retryable() => {
                tracing::warn!(registry = label, error = %error, "endpoints cannot be listed: not judged");
                return Ok(RegistryServing {
                    endpoints: Vec::new(),
                    unread: Some(format!("ListEndpoints: {error}")),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let reads: Vec<Result<EndpointRead, ReconcileError>> = stream::iter(listed)
            .filter(|summary| {
                let serves = summary
                    .status
                    .as_deref()
                    .is_none_or(|status| !NOT_SERVING.contains(&status));
                async move { serves }
            })
            .map(|summary| async move {
                self.read_endpoint(registry, client, &summary, limiter)
                    .await
            })
            .buffer_unordered(self.tuning.concurrency.max(1))
            .collect()
            .await;
        let mut serving = RegistryServing::default();
        let mut refused = Vec::new();
        for read in reads {
            match read? {
                EndpointRead::Serving(endpoint) => serving.endpoints.push(endpoint),
                EndpointRead::Gone => {}
                EndpointRead::Refused(reason) => refused.push(reason),
            }
        }
        serving.endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        if !refused.is_empty() {
            refused.sort();
            tracing::warn!(
                registry = label,
                refused = refused.len(),
                "endpoints that cannot be read: not judged"
            );
            serving.unread = Some(format!(
                "{} endpoint{} not read: {}",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" },
                refused.join("; ")
            ));
        }
        Ok(serving)
    }

    /// One endpoint: its description, configuration, models and tags.
    async fn read_endpoint(
        &self,
        registry: &Registry,
        client: &R,
        summary: &EndpointSummary,
        limiter: &Limiter,
    ) -> Result<EndpointRead, ReconcileError> {
        let endpoint = read_or_settle!(
            limiter
                .call(|| client.describe_endpoint(&summary.name))
                .await
        );
        let tags = read_or_settle!(limiter.call(|| client.list_tags(&endpoint.arn)).await);
        let (account, region) = (registry.account.as_str(), registry.region.as_str());
        let Some(config_name) = endpoint.config_name.clone() else {
            let nothing = govsync_core::ports::hosting::EndpointConfig {
                name: String::new(),
                variants: Vec::new(),
            };
            return Ok(EndpointRead::Serving(serving_endpoint(
                &endpoint,
                &nothing,
                &[],
                &tags,
                account,
                region,
            )));
        };
        let config = read_or_settle!(
            limiter
                .call(|| client.describe_endpoint_config(&config_name))
                .await
        );
        let names: BTreeSet<&str> = config
            .variants
            .iter()
            .filter_map(|variant| variant.model_name.as_deref())
            .collect();
        let mut models = Vec::with_capacity(names.len());
        for name in names {
            let model = match limiter.call(|| client.describe_model(name)).await {
                // A model deleted under a running endpoint: the endpoint still serves, unjudgeable.
                Err(error) if error.is_not_found() => {
                    return Ok(EndpointRead::Refused(format!(
                        "endpoint {}: its model {name} no longer exists",
                        endpoint.name
                    )));
                }
                other => read_or_settle!(other),
            };
            models.push(model);
        }
        Ok(EndpointRead::Serving(serving_endpoint(
            &endpoint, &config, &models, &tags, account, region,
        )))
    }

    /// What the registry and the approval record say of each version the endpoints serve: the
    /// package's state (through its own registry's client; a registry outside the map is not read) and
    /// the artifact recorded at approval.
    async fn version_facts(
        &self,
        endpoints: &[ServingEndpoint],
        limiter: &Limiter,
    ) -> Result<BTreeMap<String, VersionFacts>, ReconcileError> {
        let versions: BTreeSet<ModelPackageArn> = endpoints
            .iter()
            .flat_map(|endpoint| endpoint.versions())
            .cloned()
            .collect();
        let facts: Vec<Result<(String, VersionFacts), ReconcileError>> = stream::iter(versions)
            .map(|arn| async move {
                let state = self.package_state(&arn, limiter).await?;
                let approved = match limiter.call(|| self.links.approved_artifact(&arn)).await {
                    Ok(approved) => approved.map(|approved| approved.fingerprint),
                    Err(error) if !error.is_retryable() => {
                        tracing::warn!(package_arn = arn.as_str(), error = %error, "approved artifact not read: the artifact is not judged");
                        None
                    }
                    Err(error) => return Err(ReconcileError::from(error)),
                };
                Ok((arn.to_string(), VersionFacts { state, approved }))
            })
            .buffer_unordered(self.tuning.concurrency.max(1))
            .collect()
            .await;
        facts.into_iter().collect()
    }

    async fn package_state(
        &self,
        arn: &ModelPackageArn,
        limiter: &Limiter,
    ) -> Result<PackageState, ReconcileError> {
        let Some((_, client)) = self.registries.iter().find(|(registry, _)| {
            &registry.account == arn.account() && &registry.region == arn.region()
        }) else {
            return Ok(PackageState::Unknown);
        };
        match limiter.call(|| client.describe_package(arn)).await {
            Ok(package) if is_archived(&package) => Ok(PackageState::Archived),
            Ok(package) => Ok(PackageState::Live {
                stage: package.lifecycle.map(|lifecycle| lifecycle.stage),
            }),
            Err(error) if error.is_not_found() => Ok(PackageState::Gone),
            Err(error) if !error.is_retryable() => Ok(PackageState::Unknown),
            Err(error) => Err(error.into()),
        }
    }

    /// Every Model's `Deployments` field against the endpoints of every registry of the map (those
    /// this run read; the others read now), rewritten where it is out of step (planned in a dry run).
    pub(super) async fn deployments_step(
        &self,
        inventory: &GovernanceInventory,
        limiter: &Limiter,
        dry_run: bool,
        progress: &mut Progress,
        observer: &dyn RunObserver,
    ) -> Result<(), ReconcileError> {
        if self.mapping.fields().field(Fact::Deployments).is_none() {
            return Ok(());
        }
        for (index, (registry, client)) in self.registries.iter().enumerate() {
            if let std::collections::btree_map::Entry::Vacant(slot) = progress.serving.entry(index)
            {
                slot.insert(self.read_endpoints(registry, client, limiter).await?);
            }
        }
        let labels: Vec<String> = (0..self.registries.len())
            .map(|index| self.registry_label(index))
            .collect();
        let unread: Vec<String> = progress
            .serving
            .iter()
            .filter(|(_, serving)| serving.unread.is_some())
            .map(|(index, _)| self.registry_label(*index))
            .collect();
        let endpoints: Vec<ServingEndpoint> = progress
            .serving
            .values()
            .flat_map(|serving| serving.endpoints.iter().cloned())
            .collect();
        let drifts = judge_deployments(&endpoints, inventory, &labels, &unread);
        let mut records = Vec::new();
        for (index, (registry, client)) in self.registries.iter().enumerate() {
            let label = &labels[index];
            let of_registry: Vec<Drift> = drifts
                .iter()
                .filter(|drift| &drift.registry == label)
                .cloned()
                .collect();
            if !of_registry.is_empty() {
                records.extend(
                    self.repair_all(registry, client.as_ref(), of_registry, limiter, dry_run)
                        .await,
                );
            }
        }
        for record in &records {
            progress.counts.record(&record.outcome);
        }
        observer.deployments_judged(&records);
        progress.records.extend(records);
        Ok(())
    }
}
