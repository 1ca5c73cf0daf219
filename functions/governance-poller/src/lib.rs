//! governance-poller: for governance tenants without webhooks, polls the OpenPages query API by
//! last-modification watermark and feeds `governance-events.fifo` with the same
//! [`GovernanceEvent`] message the webhook sends (`source: poller`). Scheduled by EventBridge Scheduler;
//! the schedule's input is ignored (any JSON object).
//!
//! Per run and per watched type (use cases, models):
//! 1. read the watermark from the cursors table (`governance-poller/<type id>`; none yet = from the
//!    beginning, so nothing that happened before the first run is missed);
//! 2. ask for the type's changes oldest first (`… WHERE [Last Modification Date] >= '<day of
//!    watermark − overlap>' ORDER BY [Last Modification Date]`: OpenPages documents day literals), the
//!    adapter following every page; rows older than watermark − overlap are dropped here;
//! 3. enqueue one event per row: `MessageGroupId` = the object id (its changes stay in order),
//!    delivery id and `MessageDeduplicationId` = `poll-<object id>-<modification millis>`;
//! 4. only when every row is enqueued, move the watermark to the newest modification of the rows as
//!    they came, and only if they came oldest first ([`watermark_after`]).
//!
//! The next run reads again from the watermark itself (`>=`), so changes that share the newest
//! instant and were cut off by a truncated page are read then. A result that is not in order may be
//! any subset, so it never moves the watermark: nothing newer than the old watermark is skipped.
//!
//! Duplicates are expected and harmless: the overlap re-reads the last minute (an object committed
//! late with an older timestamp is not missed), a failed run is redone from the old watermark, and the
//! webhook may report the same change. SQS deduplication collapses identical ids within 5 minutes; the
//! real guarantee is approval-propagation's idempotency key, object id + the object's revision
//! (`Last Modification Date`), which the webhook's and the poller's messages for one change share.
//!
//! With `GOVSYNC_METRICS_NAMESPACE` set, each run prints one CloudWatch embedded-metric line
//! ([`metrics`]), also when it fails.

pub mod config;
pub mod metrics;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use govsync_adapters::governance::TypeIds;
use govsync_core::emf;
use govsync_core::governance_event::{
    DeliveryId, GovernanceEvent, GovernanceEventSource, GovernanceEventType,
};
use govsync_core::ports::{
    CursorStore, FieldValue, Governance, GovernanceError, GovernanceKind, GovernanceQuery,
    MessageQueue, QueryCondition, QueryRow, QueueError, StoreError,
};
use govsync_core::sync::fields;
use serde_json::{Value, json};

pub use config::{Config, ConfigError};

/// Re-read this much before the watermark on every run (late commits with older timestamps).
pub const DEFAULT_OVERLAP: Duration = Duration::seconds(60);
/// The governance types watched: use cases (F1) and models (F4).
pub const WATCHED: [GovernanceKind; 2] = [GovernanceKind::UseCase, GovernanceKind::Model];

/// Why a run failed. Every failure leaves the watermark where it was: the next run redoes the work.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl PollError {
    pub fn is_retryable(&self) -> bool {
        match self {
            PollError::Governance(error) => error.is_retryable(),
            PollError::Store(error) => error.is_retryable(),
            PollError::Queue(error) => error.is_retryable(),
        }
    }
}

/// One type's part of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindReport {
    pub type_id: String,
    /// The watermark read (`None`: the first run).
    pub from: Option<DateTime<Utc>>,
    /// Rows returned, rows enqueued (rows without a usable id or date are skipped and logged).
    pub rows: usize,
    pub enqueued: usize,
    /// Rows skipped: no usable id or `Last Modification Date`.
    pub skipped: usize,
    /// Rows modified at or before the watermark read: re-read by the overlap, so already enqueued by an
    /// earlier run unless committed late (enqueued again all the same; deduplicated downstream).
    pub reread: usize,
    /// Milliseconds from each newer change's `Last Modification Date` to its enqueueing.
    pub sync_lags_ms: Vec<u64>,
    /// The watermark written (unchanged when nothing newer was seen).
    pub watermark: Option<DateTime<Utc>>,
}

/// The cursors' prefix in the cursors table.
pub const DEFAULT_CURSOR_PREFIX: &str = "governance-poller";

/// The cursor of one watched type.
pub fn cursor_id(prefix: &str, type_id: &str) -> String {
    format!("{prefix}/{type_id}")
}

/// The event for one query row: `None` when the row has no id or no readable modification date.
pub fn event_for_row(row: &QueryRow, type_id: &str) -> Option<GovernanceEvent> {
    let id = row.id.clone()?;
    let modified = match row.field(fields::LAST_MODIFICATION_DATE)? {
        FieldValue::Date(time) => *time,
        FieldValue::Text(text) => DateTime::parse_from_rfc3339(text).ok()?.to_utc(),
        _ => return None,
    };
    let plain_id = id.as_str().len() <= 64
        && id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let id_part = if plain_id {
        id.as_str().to_owned()
    } else {
        // Ids SQS would refuse in a deduplication id: a stable digest instead.
        format!("{:016x}", govsync_core::stable_hash::fnv1a64(id.as_str()))
    };
    let delivery = format!("poll-{id_part}-{}", modified.timestamp_millis());
    Some(GovernanceEvent {
        source: GovernanceEventSource::Poller,
        delivery_id: DeliveryId::parse(&delivery).ok()?,
        event_type: GovernanceEventType::Updated,
        object_id: id,
        object_type: Some(type_id.to_owned()),
        occurred_at: modified,
        changed_fields: Vec::new(),
    })
}

/// Where the watermark may move after reading `modified`, the rows' modification instants in the
/// order the query returned them: the newest one when they came oldest first (a cut-off page then
/// only hides rows at or after it, which the next run reads from the watermark on); `None` when the
/// order is broken, since the rows may then be any subset and an unseen older change must not be
/// passed.
pub fn watermark_after(modified: &[DateTime<Utc>]) -> Option<DateTime<Utc>> {
    let in_order = modified.windows(2).all(|pair| pair[0] <= pair[1]);
    if in_order {
        modified.last().copied()
    } else {
        None
    }
}

/// A run as it went: the types polled in full, in order, and the failure that stopped it, if any.
#[derive(Debug)]
pub struct PollRun {
    pub kinds: Vec<KindReport>,
    pub failure: Option<PollError>,
}

/// The poller over its ports.
pub struct Poller<G, C, Q> {
    pub governance: Arc<G>,
    pub cursors: Arc<C>,
    pub queue: Arc<Q>,
    pub type_ids: TypeIds,
    pub overlap: Duration,
    /// Cursor ids are `<prefix>/<type id>` ([`DEFAULT_CURSOR_PREFIX`] when deployed).
    pub cursor_prefix: String,
}

impl<G, C, Q> Poller<G, C, Q>
where
    G: Governance,
    C: CursorStore,
    Q: MessageQueue,
{
    /// One run over every watched type; stops at the first failure (earlier types keep their progress).
    pub async fn run(&self) -> Result<Vec<KindReport>, PollError> {
        let run = self.poll().await;
        match run.failure {
            Some(error) => Err(error),
            None => Ok(run.kinds),
        }
    }

    /// [`Self::run`], keeping what the types polled before a failure came to (for the metrics).
    pub async fn poll(&self) -> PollRun {
        let mut kinds = Vec::with_capacity(WATCHED.len());
        for kind in WATCHED {
            match self.poll_kind(kind).await {
                Ok(report) => kinds.push(report),
                Err(error) => {
                    return PollRun {
                        kinds,
                        failure: Some(error),
                    };
                }
            }
        }
        PollRun {
            kinds,
            failure: None,
        }
    }

    async fn poll_kind(&self, kind: GovernanceKind) -> Result<KindReport, PollError> {
        let type_id = self.type_ids.of(kind).to_owned();
        let cursor = cursor_id(&self.cursor_prefix, &type_id);
        let from = self.cursors.get_watermark(&cursor).await?;
        let since = from
            .map(|watermark| watermark - self.overlap)
            .unwrap_or(DateTime::UNIX_EPOCH);
        let rows = self
            .governance
            .query(&GovernanceQuery {
                kind,
                columns: vec![fields::LAST_MODIFICATION_DATE.to_owned()],
                condition: Some(QueryCondition::ModifiedSince {
                    day: since.date_naive(),
                }),
            })
            .await?;
        let mut events_in_query_order = Vec::with_capacity(rows.len());
        let mut skipped = 0;
        for row in &rows {
            match event_for_row(row, &type_id) {
                Some(event) => events_in_query_order.push(event),
                None => {
                    skipped += 1;
                    tracing::warn!(type_id, row = ?row.id, "query row without a usable id or Last Modification Date: skipped");
                }
            }
        }
        let modified: Vec<DateTime<Utc>> = events_in_query_order
            .iter()
            .map(|event| event.occurred_at)
            .collect();
        let safe = watermark_after(&modified);
        if safe.is_none() && !modified.is_empty() {
            tracing::warn!(
                type_id,
                "governance returned changes out of order: the watermark stays where it was"
            );
        }
        // Rows of the day before the window were handled by earlier runs.
        let mut events: Vec<GovernanceEvent> = events_in_query_order
            .into_iter()
            .filter(|event| event.occurred_at >= since)
            .collect();
        // Oldest change first, so one object's changes enter its message group in order.
        events.sort_by_key(|event| event.occurred_at);
        let mut enqueued = 0;
        let mut reread = 0;
        let mut sync_lags_ms = Vec::new();
        for event in &events {
            self.queue.send(&event.to_outgoing_message()).await?;
            enqueued += 1;
            if from.is_some_and(|watermark| event.occurred_at <= watermark) {
                reread += 1;
            } else {
                sync_lags_ms.push(emf::sync_lag_ms(event.occurred_at, Utc::now()));
            }
        }
        let newest = from.max(safe);
        if newest > from
            && let Some(watermark) = newest
        {
            self.cursors.put_watermark(&cursor, watermark).await?;
        }
        tracing::info!(
            type_id,
            from = ?from,
            rows = rows.len(),
            enqueued,
            watermark = ?newest,
            "governance polled"
        );
        Ok(KindReport {
            type_id,
            from,
            rows: rows.len(),
            enqueued,
            skipped,
            reread,
            sync_lags_ms,
            watermark: newest,
        })
    }
}

/// The run's result as the function returns it.
pub fn report_json(reports: &[KindReport]) -> Value {
    let kinds: BTreeMap<&str, Value> = reports
        .iter()
        .map(|report| {
            (
                report.type_id.as_str(),
                json!({
                    "from": report.from.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                    "rows": report.rows,
                    "enqueued": report.enqueued,
                    "watermark": report.watermark.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                }),
            )
        })
        .collect();
    json!({
        "enqueued": reports.iter().map(|r| r.enqueued).sum::<usize>(),
        "types": kinds,
    })
}

/// The poller on the real adapters.
pub type LivePoller = Poller<
    govsync_adapters::governance::GovernanceClient,
    govsync_adapters::dynamodb::DynamoCursorStore,
    govsync_adapters::queue::SqsMessageQueue,
>;

/// The deployed function: configuration read and clients built once, at cold start.
pub struct Function {
    poller: LivePoller,
    metrics_namespace: Option<String>,
}

impl Function {
    pub async fn from_env() -> Result<Function, ConfigError> {
        let config = Config::from_env()?;
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        Self::new(config, &sdk).await
    }

    pub async fn new(config: Config, sdk: &aws_config::SdkConfig) -> Result<Function, ConfigError> {
        use govsync_adapters::aws::{dynamodb_client, secretsmanager_client, sqs_client};
        let secrets = secretsmanager_client(sdk);
        let api_key =
            govsync_adapters::secrets::read_secret(&secrets, &config.api_key_secret_id).await?;
        // Re-read from the same secret when governance refuses the key: a rotation needs no restart.
        let key_source = govsync_adapters::secrets::SecretsManagerKey::new(
            secrets,
            config.api_key_secret_id.clone(),
        );
        let governance = govsync_lambda::clients::governance_client_with_key_source(
            &config.governance_url,
            &config.api_prefix,
            &config.auth,
            api_key,
            Some(Arc::new(key_source)),
        )?;
        tracing::info!(auth_mode = config.auth.mode(), "governance-poller ready");
        Ok(Function {
            poller: Poller {
                governance: Arc::new(governance),
                cursors: Arc::new(govsync_adapters::dynamodb::DynamoCursorStore::new(
                    dynamodb_client(sdk),
                    config.cursors_table.clone(),
                )),
                queue: Arc::new(govsync_adapters::queue::SqsMessageQueue::new(
                    sqs_client(sdk),
                    config.queue_url.clone(),
                )),
                type_ids: TypeIds::default(),
                overlap: DEFAULT_OVERLAP,
                cursor_prefix: DEFAULT_CURSOR_PREFIX.to_owned(),
            },
            metrics_namespace: config.metrics_namespace.clone(),
        })
    }

    pub fn poller(&self) -> &LivePoller {
        &self.poller
    }

    /// One scheduled run; the input (any JSON) is ignored. A failure is the invocation's error, so
    /// the run counts as failed (the schedule's next run redoes it from the unchanged watermark).
    pub async fn handle(
        &self,
        event: lambda_runtime::LambdaEvent<Value>,
    ) -> Result<Value, lambda_runtime::Error> {
        handle_with_metrics(&self.poller, event, self.metrics_namespace.as_deref()).await
    }
}

/// [`Function::handle`] for any poller (tests pass one on fakes), without metric lines.
pub async fn handle_with<G, C, Q>(
    poller: &Poller<G, C, Q>,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error>
where
    G: Governance,
    C: CursorStore,
    Q: MessageQueue,
{
    handle_with_metrics(poller, event, None).await
}

/// [`handle_with`], printing one embedded-metric line per run when `metrics_namespace` is set.
pub async fn handle_with_metrics<G, C, Q>(
    poller: &Poller<G, C, Q>,
    event: lambda_runtime::LambdaEvent<Value>,
    metrics_namespace: Option<&str>,
) -> Result<Value, lambda_runtime::Error>
where
    G: Governance,
    C: CursorStore,
    Q: MessageQueue,
{
    if !event.payload.is_object() && !event.payload.is_null() {
        tracing::warn!(input = %event.payload, "schedule input is not a JSON object; ignored");
    }
    let run = poller.poll().await;
    if let Some(namespace) = metrics_namespace {
        println!("{}", metrics::embedded_metrics(&run, namespace, Utc::now()));
    }
    match run.failure {
        None => Ok(report_json(&run.kinds)),
        Some(error) => {
            tracing::error!(error = %error, retryable = error.is_retryable(), "poll failed; the watermark stays");
            Err(error.into())
        }
    }
}
