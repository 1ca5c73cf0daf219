//! The cursors table: one item per poll cursor, `id` (S) → `watermark` (S, RFC 3339) and
//! `updated_at` (S).

use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use govsync_core::ports::{CheckpointStore, CursorStore, StoreError};

use super::{s, store_error, string_attr};

#[derive(Debug, Clone)]
pub struct DynamoCursorStore {
    client: Client,
    table: String,
}

impl DynamoCursorStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl CursorStore for DynamoCursorStore {
    async fn get_watermark(&self, cursor: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        const OP: &str = "get watermark";
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(cursor))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error(OP, &error))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let text = string_attr(OP, &item, "watermark")?;
        DateTime::parse_from_rfc3339(text)
            .map(|watermark| Some(watermark.with_timezone(&Utc)))
            .map_err(|error| StoreError::Decode {
                operation: OP,
                message: format!("watermark {text:?} is not RFC 3339: {error}"),
            })
    }

    async fn put_watermark(
        &self,
        cursor: &str,
        watermark: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", s(cursor))
            .item(
                "watermark",
                s(watermark.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .item(
                "updated_at",
                s(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("put watermark", &error))
    }
}

/// Checkpoints share the table: item `id` → `checkpoint` (S, JSON) and `updated_at` (S).
impl CheckpointStore for DynamoCursorStore {
    async fn get_checkpoint(&self, id: &str) -> Result<Option<String>, StoreError> {
        const OP: &str = "get checkpoint";
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error(OP, &error))?;
        match output.item {
            None => Ok(None),
            Some(item) => string_attr(OP, &item, "checkpoint").map(|text| Some(text.to_owned())),
        }
    }

    async fn put_checkpoint(&self, id: &str, document: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", s(id))
            .item("checkpoint", s(document))
            .item(
                "updated_at",
                s(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("put checkpoint", &error))
    }

    async fn delete_checkpoint(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("delete checkpoint", &error))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::TimeZone;

    use super::*;

    #[tokio::test]
    async fn watermark_round_trips_as_rfc3339() {
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .sequence()
            .output(|| GetItemOutput::builder().build())
            .output(|| {
                GetItemOutput::builder()
                    .item("id", s("governance-models"))
                    .item("watermark", s("2025-03-01T10:00:00.250Z"))
                    .build()
            })
            .output(|| {
                GetItemOutput::builder()
                    .item("id", s("governance-models"))
                    .item("watermark", s("yesterday"))
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&get]);
        let store = DynamoCursorStore::new(client, "govsync-cursors");
        assert_eq!(
            store.get_watermark("governance-models").await.unwrap(),
            None
        );
        let expected = Utc
            .timestamp_millis_opt(1_740_823_200_250)
            .single()
            .unwrap_or_default();
        assert_eq!(
            store.get_watermark("governance-models").await.unwrap(),
            Some(expected)
        );
        assert!(matches!(
            store.get_watermark("governance-models").await,
            Err(StoreError::Decode { .. })
        ));
    }
}
