//! The idempotency table, with the Powertools protocol.
//!
//! Item: `id` (S, the business key) · `status` (S, `INPROGRESS` | `COMPLETED`) · `expiration`
//! (N, epoch seconds; also the table's TTL attribute) · `in_progress_expiration` (N, epoch ms, the
//! Lambda deadline) · `data` (S, the stored result as JSON, on completed records).
//!
//! `begin` is one conditional `PutItem` that succeeds when no live record exists:
//! `attribute_not_exists(id) OR expiration < :now OR (status = INPROGRESS AND
//! in_progress_expiration < :now_ms)`. When it fails, the old item (returned with
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD`) says why. TTL deletion is lazy, so expiry is
//! always compared in code, never inferred from an item's presence.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};
use govsync_core::IdempotencyKey;
use govsync_core::ports::{IdempotencyBegin, IdempotencyStore, StoreError};

use super::{Item, n, number_attr, optional_number_attr, s, store_error, string_attr};

const STATUS_IN_PROGRESS: &str = "INPROGRESS";
const STATUS_COMPLETED: &str = "COMPLETED";

/// Default record life, as in Powertools: an hour.
pub const DEFAULT_RECORD_TTL: Duration = Duration::from_secs(3600);

const BEGIN_CONDITION: &str = "attribute_not_exists(#id) OR #expiration < :now \
     OR (#status = :in_progress AND #in_progress_expiration < :now_ms)";

#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
    record_ttl: Duration,
}

impl DynamoIdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            record_ttl: DEFAULT_RECORD_TTL,
        }
    }

    /// How long a record (in progress or completed) stays live.
    pub fn with_record_ttl(mut self, record_ttl: Duration) -> Self {
        self.record_ttl = record_ttl;
        self
    }

    fn expiration_at(&self, now: DateTime<Utc>) -> i64 {
        let ttl = i64::try_from(self.record_ttl.as_secs()).unwrap_or(i64::MAX);
        now.timestamp().saturating_add(ttl)
    }

    /// One conditional put. `Ok(None)` means the claim succeeded; `Ok(Some(item))` is the live
    /// record that blocked it (`None` inside when the service did not return it).
    async fn try_claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<Option<Option<Item>>, StoreError> {
        const OP: &str = "idempotency begin";
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(key))
            .item("status", s(STATUS_IN_PROGRESS))
            .item("expiration", n(self.expiration_at(now)))
            .item(
                "in_progress_expiration",
                n(in_progress_until.timestamp_millis()),
            )
            .condition_expression(BEGIN_CONDITION)
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expiration", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiration", "in_progress_expiration")
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":in_progress", s(STATUS_IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Some(failed.item().cloned()))
                }
                _ => Err(store_error(OP, &error)),
            },
        }
    }

    async fn read_record(&self, key: &str) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("id", s(key))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|error| store_error("idempotency read", &error))
    }
}

/// The completed record of `key` (what `complete` puts, and a links-store transaction with it).
pub(super) fn completed_item(
    key: &IdempotencyKey,
    result: &serde_json::Value,
    now: DateTime<Utc>,
    record_ttl: Duration,
) -> Item {
    let ttl = i64::try_from(record_ttl.as_secs()).unwrap_or(i64::MAX);
    Item::from([
        ("id".to_owned(), s(key.as_str())),
        ("status".to_owned(), s(STATUS_COMPLETED)),
        (
            "expiration".to_owned(),
            n(now.timestamp().saturating_add(ttl)),
        ),
        ("data".to_owned(), s(result.to_string())),
    ])
}

/// What an existing record means at `now`.
#[derive(Debug, PartialEq)]
enum RecordState {
    Live(IdempotencyBegin),
    /// Expired, or in progress past its deadline: the key may be claimed.
    Replaceable,
}

fn record_state(item: &Item, now: DateTime<Utc>) -> Result<RecordState, StoreError> {
    const OP: &str = "idempotency begin";
    let expiration = number_attr(OP, item, "expiration")?;
    if expiration < now.timestamp() {
        return Ok(RecordState::Replaceable);
    }
    match string_attr(OP, item, "status")? {
        STATUS_COMPLETED => {
            let data = match item.get("data") {
                None => serde_json::Value::Null,
                Some(_) => {
                    let text = string_attr(OP, item, "data")?;
                    serde_json::from_str(text).map_err(|error| StoreError::Decode {
                        operation: OP,
                        message: format!("stored result is not JSON: {error}"),
                    })?
                }
            };
            Ok(RecordState::Live(IdempotencyBegin::AlreadyCompleted(data)))
        }
        STATUS_IN_PROGRESS => {
            let deadline = optional_number_attr(OP, item, "in_progress_expiration")?;
            match deadline {
                Some(deadline) if deadline < now.timestamp_millis() => Ok(RecordState::Replaceable),
                _ => Ok(RecordState::Live(IdempotencyBegin::InProgress)),
            }
        }
        other => Err(StoreError::Decode {
            operation: OP,
            message: format!("unknown record status {other:?}"),
        }),
    }
}

impl IdempotencyStore for DynamoIdempotencyStore {
    async fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError> {
        // A record can change between the failed put and our read of it: try twice, then
        // report it as in progress (retryable) rather than guess.
        for _ in 0..2 {
            let blocking = match self.try_claim(key.as_str(), now, in_progress_until).await? {
                None => return Ok(IdempotencyBegin::Started),
                Some(Some(item)) => Some(item),
                // Older DynamoDB-compatible services do not return the old item.
                Some(None) => self.read_record(key.as_str()).await?,
            };
            let Some(item) = blocking else {
                continue;
            };
            match record_state(&item, now)? {
                RecordState::Live(outcome) => return Ok(outcome),
                RecordState::Replaceable => continue,
            }
        }
        Ok(IdempotencyBegin::InProgress)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(completed_item(key, result, now, self.record_ttl)))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("idempotency complete", &error))
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(key.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("idempotency release", &error))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::TimeZone;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
    }

    fn condition_failed(item: Option<Item>) -> PutItemError {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .set_item(item)
                .message("The conditional request failed")
                .build(),
        )
    }

    fn record(
        status: &str,
        expiration: i64,
        in_progress_ms: Option<i64>,
        data: Option<&str>,
    ) -> Item {
        let mut item = HashMap::from([
            ("id".to_owned(), s("key-1")),
            ("status".to_owned(), s(status)),
            ("expiration".to_owned(), n(expiration)),
        ]);
        if let Some(ms) = in_progress_ms {
            item.insert("in_progress_expiration".to_owned(), n(ms));
        }
        if let Some(data) = data {
            item.insert("data".to_owned(), s(data));
        }
        item
    }

    #[tokio::test]
    async fn begin_sends_the_powertools_conditional_put() {
        let now = at(1_700_000_000);
        let deadline = at(1_700_000_030);
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(move |request| {
                let values = request.expression_attribute_values();
                let names = request.expression_attribute_names();
                let item = request.item();
                request.table_name() == Some("govsync-idempotency")
                    && request.condition_expression() == Some(BEGIN_CONDITION)
                    && request.return_values_on_condition_check_failure()
                        == Some(&ReturnValuesOnConditionCheckFailure::AllOld)
                    && names
                        .and_then(|names| names.get("#status"))
                        .map(String::as_str)
                        == Some("status")
                    && values.and_then(|v| v.get(":now")) == Some(&n(1_700_000_000))
                    && values.and_then(|v| v.get(":now_ms")) == Some(&n(1_700_000_000_000_i64))
                    && item.and_then(|i| i.get("status")) == Some(&s("INPROGRESS"))
                    && item.and_then(|i| i.get("expiration")) == Some(&n(1_700_003_600))
                    && item.and_then(|i| i.get("in_progress_expiration"))
                        == Some(&n(1_700_000_030_000_i64))
            })
            .then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put]);
        let store = DynamoIdempotencyStore::new(client, "govsync-idempotency");
        let outcome = store
            .begin(&IdempotencyKey::parse("key-1").unwrap(), now, deadline)
            .await
            .unwrap();
        assert_eq!(outcome, IdempotencyBegin::Started);
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn completed_record_returns_its_stored_result() {
        let now = at(1_700_000_000);
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(move || {
            condition_failed(Some(record(
                "COMPLETED",
                1_700_000_500,
                None,
                Some(r#"{"model_id":"42"}"#),
            )))
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put]);
        let store = DynamoIdempotencyStore::new(client, "t");
        let outcome = store
            .begin(
                &IdempotencyKey::parse("key-1").unwrap(),
                now,
                at(1_700_000_030),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            IdempotencyBegin::AlreadyCompleted(serde_json::json!({"model_id": "42"}))
        );
    }

    #[tokio::test]
    async fn live_in_progress_record_is_reported_in_progress() {
        let now = at(1_700_000_000);
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(move || {
            condition_failed(Some(record(
                "INPROGRESS",
                1_700_003_000,
                Some(1_700_000_020_000),
                None,
            )))
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put]);
        let store = DynamoIdempotencyStore::new(client, "t");
        let outcome = store
            .begin(
                &IdempotencyKey::parse("key-1").unwrap(),
                now,
                at(1_700_000_030),
            )
            .await
            .unwrap();
        assert_eq!(outcome, IdempotencyBegin::InProgress);
    }

    #[tokio::test]
    async fn missing_old_item_is_read_back_consistently() {
        let now = at(1_700_000_000);
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| condition_failed(None));
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|request| request.consistent_read() == Some(true))
            .then_output(|| {
                GetItemOutput::builder()
                    .set_item(Some(record("COMPLETED", 1_700_000_500, None, Some("7"))))
                    .build()
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]);
        let store = DynamoIdempotencyStore::new(client, "t");
        let outcome = store
            .begin(
                &IdempotencyKey::parse("key-1").unwrap(),
                now,
                at(1_700_000_030),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            IdempotencyBegin::AlreadyCompleted(serde_json::json!(7))
        );
        assert_eq!(get.num_calls(), 1);
    }

    #[test]
    fn expired_or_stale_records_are_replaceable_even_if_still_stored() {
        let now = at(1_700_000_000);
        let expired = record("COMPLETED", 1_699_999_999, None, Some("1"));
        assert_eq!(
            record_state(&expired, now).unwrap(),
            RecordState::Replaceable
        );
        let stale = record("INPROGRESS", 1_700_003_000, Some(1_699_999_999_999), None);
        assert_eq!(record_state(&stale, now).unwrap(), RecordState::Replaceable);
        let mut unknown = record("DONE", 1_700_003_000, None, None);
        assert!(record_state(&unknown, now).is_err());
        unknown.insert("status".to_owned(), AttributeValue::N("1".into()));
        assert!(record_state(&unknown, now).is_err());
    }

    #[tokio::test]
    async fn throttling_on_begin_is_a_retryable_error() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ProvisionedThroughputExceededException(
                aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put], |config| {
            config.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        });
        let store = DynamoIdempotencyStore::new(client, "t");
        let error = store
            .begin(
                &IdempotencyKey::parse("key-1").unwrap(),
                at(1_700_000_000),
                at(1_700_000_030),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Throttled { .. }), "{error:?}");
        assert!(error.is_retryable());
    }

    #[tokio::test]
    async fn complete_stores_the_result_as_json_with_a_fresh_expiration() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|request| {
                let item = request.item();
                request.condition_expression().is_none()
                    && item.and_then(|i| i.get("status")) == Some(&s("COMPLETED"))
                    && item.and_then(|i| i.get("data")) == Some(&s(r#"{"ok":true}"#))
                    && item.and_then(|i| i.get("expiration")) == Some(&n(1_700_000_060))
            })
            .then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put]);
        let store =
            DynamoIdempotencyStore::new(client, "t").with_record_ttl(Duration::from_secs(60));
        store
            .complete(
                &IdempotencyKey::parse("key-1").unwrap(),
                &serde_json::json!({"ok": true}),
                at(1_700_000_000),
            )
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 1);
    }
}
