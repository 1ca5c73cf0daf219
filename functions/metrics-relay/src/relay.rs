//! The event handler, generic over the ports so tests run it on in-memory fakes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use govsync_core::metrics::{
    self, BreachStatus, MODEL_PACKAGE_TAG, MetricsEvent, Observation, Subject, Thresholds,
};
use govsync_core::ports::{
    ExternalIdLookup, Field, FieldValue, Governance, GovernanceError, GovernanceKind,
    GovernanceObject, GovernanceQuery, IdempotencyStore, LinkKind, LinksTable, ModelRegistry,
    Quarantine, QueryCondition,
};
use govsync_core::sync::fields;
use govsync_core::{
    AccountId, GovernanceStatus, ModelPackageArn, Region, Registry, RegistryArn, RegistryMap,
};
use govsync_flows::idempotency::{self, Claim};
use govsync_lambda::sqs_batch;
use serde_json::{Value, json};

use crate::error::RelayError;

/// What the relay decides with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub registries: RegistryMap,
    /// The model status a `Red` value moves the model to (e.g. `Under Review`); `None` = never.
    pub breach_status: Option<GovernanceStatus>,
    /// Statuses a breach never moves a model out of (e.g. `Decommissioned`).
    pub terminal_statuses: Vec<String>,
    pub amber_margin: f64,
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Values recorded (`recorded`), already recorded (`duplicates`), and whether the model's status moved.
    Recorded {
        recorded: usize,
        duplicates: usize,
        red: usize,
        status_moved: bool,
        /// The values' time (the event's `timestamp`): where the sync lag starts.
        event_time: DateTime<Utc>,
    },
    /// Permanently failed: in the dead-letter queue with `code`.
    Quarantined(&'static str),
}

impl Outcome {
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Recorded {
                recorded,
                duplicates,
                red,
                status_moved,
                ..
            } => json!({"outcome": "recorded", "recorded": recorded, "duplicates": duplicates,
                        "red": red, "status_moved": status_moved}),
            Outcome::Quarantined(code) => json!({"outcome": "quarantined", "code": code}),
        }
    }
}

/// The metrics relay over its ports.
pub struct Relay<G, R, I, L, Q> {
    settings: Settings,
    governance: Arc<G>,
    registries: HashMap<(AccountId, Region), Arc<R>>,
    idempotency: Arc<I>,
    links: Arc<L>,
    quarantine: Arc<Q>,
}

impl<G, R, I, L, Q> Relay<G, R, I, L, Q>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
    Q: Quarantine,
{
    pub fn new(
        settings: Settings,
        governance: Arc<G>,
        registry_clients: Vec<(Registry, Arc<R>)>,
        idempotency: Arc<I>,
        links: Arc<L>,
        quarantine: Arc<Q>,
    ) -> Self {
        let registries = registry_clients
            .into_iter()
            .map(|(registry, client)| ((registry.account, registry.region), client))
            .collect();
        Self {
            settings,
            governance,
            registries,
            idempotency,
            links,
            quarantine,
        }
    }

    /// One EventBridge event: recorded, or quarantined with its reason; retryable failures are errors.
    pub async fn handle(
        &self,
        event: &Value,
        request_id: &str,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, RelayError> {
        match self.relay(event, deadline).await {
            Ok(outcome) => Ok(outcome),
            Err(error) if error.is_retryable() => {
                tracing::warn!(error = %error, code = error.code(), "retryable failure: returned for EventBridge's retry");
                Err(error)
            }
            Err(error) => {
                let message = sqs_batch::quarantined(
                    Some(&event.to_string()),
                    Some(request_id),
                    Some("metrics-relay"),
                    error.to_string(),
                    error.code(),
                );
                self.quarantine.quarantine(&message).await?;
                tracing::error!(error = %error, code = error.code(), "permanent failure: quarantined in the DLQ");
                Ok(Outcome::Quarantined(error.code()))
            }
        }
    }

    async fn relay(&self, event: &Value, deadline: DateTime<Utc>) -> Result<Outcome, RelayError> {
        let decoded = metrics::decode_event(event)?;
        let origin = EnvelopeOrigin::of(event);
        let package = self.package_of(&decoded, &origin).await?;
        origin.must_own(package.as_str(), package.account(), package.region())?;
        if !self
            .registries
            .contains_key(&(package.account().clone(), package.region().clone()))
        {
            return Err(RelayError::UnknownRegistry {
                account: package.account().to_string(),
                region: package.region().to_string(),
            });
        }
        let Some(model) = self
            .find(LinkKind::Model, GovernanceKind::Model, &(&package).into())
            .await?
        else {
            return Err(RelayError::UnknownModel {
                arn: package.as_str().to_owned(),
            });
        };
        let (mut recorded, mut duplicates, mut red) = (0, 0, 0);
        for observation in &decoded.observations {
            let key = metrics::value_key(&package, &observation.metric, decoded.timestamp);
            match idempotency::claim(self.idempotency.as_ref(), &key, Utc::now(), deadline).await? {
                Claim::Duplicate(_) => {
                    duplicates += 1;
                    continue;
                }
                Claim::InProgress => {
                    return Err(RelayError::InProgress {
                        key: key.to_string(),
                    });
                }
                Claim::Owned => {}
            }
            let result = self
                .record(&package, &model, observation, decoded.timestamp)
                .await;
            let stored = result
                .as_ref()
                .ok()
                .map(|breach| json!({"breach": breach.map(BreachStatus::as_str)}));
            idempotency::settle_claim(self.idempotency.as_ref(), &key, stored.as_ref(), Utc::now())
                .await;
            if result? == Some(BreachStatus::Red) {
                red += 1;
            }
            recorded += 1;
        }
        let status_moved = red > 0 && self.move_status(&model).await?;
        tracing::info!(
            package = package.as_str(),
            model = %model.id,
            source = decoded.source,
            recorded,
            duplicates,
            red,
            status_moved,
            "metrics recorded"
        );
        Ok(Outcome::Recorded {
            recorded,
            duplicates,
            red,
            status_moved,
            event_time: decoded.timestamp,
        })
    }

    /// The model package the event is about (for a monitoring execution, its schedule's tag).
    /// A schedule is read only from the registry that sent the event: a foreign one is refused before
    /// any call.
    async fn package_of(
        &self,
        event: &MetricsEvent,
        origin: &EnvelopeOrigin,
    ) -> Result<ModelPackageArn, RelayError> {
        match &event.subject {
            Subject::Package(arn) => Ok(arn.clone()),
            Subject::Schedule {
                arn,
                account,
                region,
            } => {
                let account = AccountId::parse(account)?;
                let region = Region::parse(region)?;
                origin.must_own(arn, &account, &region)?;
                let client = self
                    .registries
                    .get(&(account.clone(), region.clone()))
                    .ok_or_else(|| RelayError::UnknownRegistry {
                        account: account.to_string(),
                        region: region.to_string(),
                    })?;
                let unlinked = || RelayError::UnlinkedSchedule {
                    schedule: arn.clone(),
                    tag: MODEL_PACKAGE_TAG,
                };
                let tags = match client.list_tags(arn).await {
                    Ok(tags) => tags,
                    Err(error) if error.is_not_found() => return Err(unlinked()),
                    Err(error) => return Err(error.into()),
                };
                tags.iter()
                    .find(|(key, _)| key == MODEL_PACKAGE_TAG)
                    .and_then(|(_, value)| ModelPackageArn::parse(value).ok())
                    .ok_or_else(unlinked)
            }
        }
    }

    /// Records one value under its metric (created with its thresholds on first use); returns the breach.
    async fn record(
        &self,
        package: &ModelPackageArn,
        model: &GovernanceObject,
        observation: &Observation,
        timestamp: DateTime<Utc>,
    ) -> Result<Option<BreachStatus>, RelayError> {
        let external_id = metrics::metric_external_id(package, &observation.metric);
        let metric = match self
            .governance
            .find_by_external_id(GovernanceKind::Metric, &external_id)
            .await?
        {
            ExternalIdLookup::Absent => None,
            ExternalIdLookup::Found(metric) => Some(metric),
            ExternalIdLookup::Ambiguous(ids) => {
                return Err(RelayError::AmbiguousExternalId {
                    kind: GovernanceKind::Metric,
                    external_id,
                    ids: ids
                        .iter()
                        .map(|id| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        };
        let thresholds = match (&metric, observation.thresholds.is_empty()) {
            (Some(metric), true) => Thresholds::of_metric(metric),
            _ => observation.thresholds,
        };
        let breach = metrics::breach_status(
            observation.value,
            &thresholds,
            observation.violated,
            self.settings.amber_margin,
        );
        let metric_id = match metric {
            None => {
                let created = self
                    .governance
                    .create_object(&metrics::new_metric(package, model, observation, breach))
                    .await?;
                tracing::info!(id = %created.id, metric = %observation.metric, "metric created");
                created.id
            }
            Some(metric) => {
                let changes = metrics::metric_update(&metric, observation, breach);
                if !changes.is_empty() {
                    self.governance
                        .update_object(&metric.id, &changes, None)
                        .await?;
                }
                metric.id
            }
        };
        // A crash after the create and before the idempotency record completes must not add a
        // second value: look for the value at this timestamp first.
        let rows = self
            .governance
            .query(&GovernanceQuery {
                kind: GovernanceKind::MetricValue,
                columns: vec![metrics::fields::VALUE_DATE.to_owned()],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind: GovernanceKind::Metric,
                    parent_id: metric_id.clone(),
                }),
            })
            .await?;
        if rows
            .iter()
            .any(|row| metrics::is_value_at(row.field(metrics::fields::VALUE_DATE), timestamp))
        {
            return Ok(breach);
        }
        self.governance
            .create_object(&metrics::new_value(
                &metric_id,
                observation,
                &thresholds,
                timestamp,
                breach,
            ))
            .await?;
        Ok(breach)
    }

    /// A `Red` value moves the model to the configured status (then F4 carries it to SageMaker).
    async fn move_status(&self, model: &GovernanceObject) -> Result<bool, RelayError> {
        let Some(target) = &self.settings.breach_status else {
            return Ok(false);
        };
        let current = self
            .governance
            .get_object(&model.id)
            .await?
            .field(fields::MODEL_STATUS)
            .and_then(FieldValue::as_text);
        let held = current.as_deref() == Some(target.as_str());
        let terminal = current
            .as_deref()
            .is_some_and(|status| self.settings.terminal_statuses.iter().any(|t| t == status));
        if held || terminal {
            return Ok(false);
        }
        // Not in the our-write ledger on purpose: this change must flow to SageMaker through F4.
        self.governance
            .update_object(
                &model.id,
                &[
                    Field::choice(fields::MODEL_STATUS, target.as_str()),
                    Field::date(fields::LAST_UPDATE, Utc::now()),
                ],
                None,
            )
            .await?;
        tracing::warn!(model = %model.id, status = target.as_str(), "a breached metric moved the model's status");
        Ok(true)
    }

    async fn find(
        &self,
        link_kind: LinkKind,
        kind: GovernanceKind,
        arn: &RegistryArn,
    ) -> Result<Option<GovernanceObject>, RelayError> {
        if let Some(link) = self.links.link_by_arn(link_kind, arn).await? {
            match self.governance.get_object(&link.governance_id).await {
                Ok(object) => return Ok(Some(object)),
                Err(GovernanceError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        match self
            .governance
            .find_by_external_id(kind, arn.as_str())
            .await?
        {
            ExternalIdLookup::Absent => Ok(None),
            ExternalIdLookup::Found(object) => Ok(Some(object)),
            ExternalIdLookup::Ambiguous(ids) => Err(RelayError::AmbiguousExternalId {
                kind,
                external_id: arn.to_string(),
                ids: ids
                    .iter()
                    .map(|id| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// The account and region EventBridge stamped on the envelope: where the event really came from
/// (the detail is whatever the sender wrote).
struct EnvelopeOrigin {
    account: Option<AccountId>,
    region: Option<Region>,
}

impl EnvelopeOrigin {
    fn of(event: &Value) -> Self {
        let text = |key: &str| event.get(key).and_then(Value::as_str);
        Self {
            account: text("account").and_then(|value| AccountId::parse(value).ok()),
            region: text("region").and_then(|value| Region::parse(value).ok()),
        }
    }

    /// `Ok` only when the envelope comes from the account and region that own `subject`.
    fn must_own(
        &self,
        subject: &str,
        owner_account: &AccountId,
        owner_region: &Region,
    ) -> Result<(), RelayError> {
        if self.account.as_ref() == Some(owner_account)
            && self.region.as_ref() == Some(owner_region)
        {
            return Ok(());
        }
        let or_none = |value: Option<&str>| value.unwrap_or("(none)").to_owned();
        Err(RelayError::ForeignMetrics {
            envelope_account: or_none(self.account.as_ref().map(AccountId::as_str)),
            envelope_region: or_none(self.region.as_ref().map(Region::as_str)),
            subject: subject.to_owned(),
            owner_account: owner_account.to_string(),
            owner_region: owner_region.to_string(),
        })
    }
}
