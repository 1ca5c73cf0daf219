//! The state-store ports on DynamoDB: idempotency records, links, cursors.

mod cursors;
mod idempotency;
mod links;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use govsync_core::ports::StoreError;

pub use cursors::DynamoCursorStore;
pub use idempotency::{DEFAULT_RECORD_TTL, DynamoIdempotencyStore};
pub use links::DynamoLinkStore;

use crate::sdk_error::{FailureClass, classify};

/// Default table names (infra/ creates them with these names).
pub const DEFAULT_IDEMPOTENCY_TABLE: &str = "govsync-idempotency";
pub const DEFAULT_LINKS_TABLE: &str = "govsync-links";
pub const DEFAULT_CURSORS_TABLE: &str = "govsync-cursors";

type Item = HashMap<String, AttributeValue>;

fn store_error<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = classify(operation, error);
    match failure.class {
        FailureClass::Throttled => StoreError::Throttled {
            operation,
            message: failure.message,
        },
        FailureClass::Transport => StoreError::Transport {
            operation,
            message: failure.message,
        },
        FailureClass::Conflict | FailureClass::Transient => StoreError::Service {
            operation,
            code: failure.code,
            message: failure.message,
            retryable: true,
        },
        FailureClass::Permanent => StoreError::Service {
            operation,
            code: failure.code,
            message: failure.message,
            retryable: false,
        },
    }
}

fn string_attr<'a>(
    operation: &'static str,
    item: &'a Item,
    name: &str,
) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(_) => Err(StoreError::Decode {
            operation,
            message: format!("attribute `{name}` is not a string"),
        }),
        None => Err(StoreError::Decode {
            operation,
            message: format!("attribute `{name}` is missing"),
        }),
    }
}

fn optional_number_attr(
    operation: &'static str,
    item: &Item,
    name: &str,
) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(value)) => {
            value
                .parse::<i64>()
                .map(Some)
                .map_err(|error| StoreError::Decode {
                    operation,
                    message: format!("attribute `{name}` = {value:?} is not an integer: {error}"),
                })
        }
        Some(_) => Err(StoreError::Decode {
            operation,
            message: format!("attribute `{name}` is not a number"),
        }),
    }
}

fn number_attr(operation: &'static str, item: &Item, name: &str) -> Result<i64, StoreError> {
    optional_number_attr(operation, item, name)?.ok_or_else(|| StoreError::Decode {
        operation,
        message: format!("attribute `{name}` is missing"),
    })
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
