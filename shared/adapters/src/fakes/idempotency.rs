//! The idempotency table in memory.

use govsync_core::IdempotencyKey;

use super::*;

#[derive(Debug, Clone, PartialEq)]
enum FakeRecord {
    InProgress {
        expiration: i64,
        deadline_ms: i64,
    },
    Completed {
        expiration: i64,
        data: serde_json::Value,
    },
}

/// The idempotency protocol in memory (same rules as the DynamoDB store).
#[derive(Debug)]
pub struct FakeIdempotencyStore {
    record_ttl: Duration,
    records: Mutex<HashMap<String, FakeRecord>>,
    recorder: Recorder<StoreError>,
}

impl Default for FakeIdempotencyStore {
    fn default() -> Self {
        Self {
            record_ttl: crate::dynamodb::DEFAULT_RECORD_TTL,
            records: Mutex::new(HashMap::new()),
            recorder: Recorder::default(),
        }
    }
}

impl FakeIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(StoreError);

    fn expiration_at(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp()
            .saturating_add(i64::try_from(self.record_ttl.as_secs()).unwrap_or(i64::MAX))
    }

    /// Whether a completed record is stored for `key`.
    pub fn is_completed(&self, key: &str) -> bool {
        matches!(
            lock(&self.records).get(key),
            Some(FakeRecord::Completed { .. })
        )
    }

    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `complete` as one write of a links-store transaction (recorded there, not here).
    pub(crate) fn complete_in_transaction(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) {
        lock(&self.records).insert(
            key.to_string(),
            FakeRecord::Completed {
                expiration: self.expiration_at(now),
                data: result.clone(),
            },
        );
    }
}

impl IdempotencyStore for FakeIdempotencyStore {
    async fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError> {
        self.recorder.enter("begin").await?;
        let mut records = lock(&self.records);
        let live = match records.get(key.as_str()) {
            None => None,
            Some(FakeRecord::Completed { expiration, .. }) if *expiration < now.timestamp() => None,
            Some(FakeRecord::InProgress {
                expiration,
                deadline_ms,
            }) if *expiration < now.timestamp() || *deadline_ms < now.timestamp_millis() => None,
            Some(FakeRecord::Completed { data, .. }) => {
                Some(IdempotencyBegin::AlreadyCompleted(data.clone()))
            }
            Some(FakeRecord::InProgress { .. }) => Some(IdempotencyBegin::InProgress),
        };
        if let Some(outcome) = live {
            return Ok(outcome);
        }
        records.insert(
            key.to_string(),
            FakeRecord::InProgress {
                expiration: self.expiration_at(now),
                deadline_ms: in_progress_until.timestamp_millis(),
            },
        );
        drop(records);
        self.recorder.leave("begin")?;
        Ok(IdempotencyBegin::Started)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recorder.enter("complete").await?;
        lock(&self.records).insert(
            key.to_string(),
            FakeRecord::Completed {
                expiration: self.expiration_at(now),
                data: result.clone(),
            },
        );
        self.recorder.leave("complete")
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.recorder.enter("release").await?;
        lock(&self.records).remove(key.as_str());
        self.recorder.leave("release")
    }
}
