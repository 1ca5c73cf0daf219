//! Wire-format helpers: awsJson1.1 timestamps, CloudTrail key casing, opaque paging tokens.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// awsJson1.1 timestamps are epoch seconds as JSON numbers; milliseconds survive as the fraction.
pub fn epoch_seconds(time: DateTime<Utc>) -> Value {
    let millis = time.timestamp_millis();
    if millis % 1000 == 0 {
        Value::from(millis / 1000)
    } else {
        serde_json::Number::from_f64(millis as f64 / 1000.0)
            .map(Value::Number)
            .unwrap_or_else(|| Value::from(millis / 1000))
    }
}

/// RFC 3339 with milliseconds, as in event details (`2021-02-24T17:00:14.123Z`).
pub fn rfc3339_millis(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339 to the second, as CloudTrail and the EventBridge envelope write it.
pub fn rfc3339_seconds(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads a request timestamp: epoch seconds (number) as SDKs send it, or an RFC 3339 string.
pub fn parse_timestamp(field: &str, value: &Value) -> Result<DateTime<Utc>, ApiError> {
    let parsed = match value {
        Value::Number(number) => number.as_f64().and_then(|seconds| {
            let millis = (seconds * 1000.0).round();
            if millis.is_finite() && millis.abs() < 1e17 {
                Utc.timestamp_millis_opt(millis as i64).single()
            } else {
                None
            }
        }),
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.with_timezone(&Utc)),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::Serialization(format!("{field} is not a valid timestamp: {value}"))
    })
}

/// CloudTrail writes request members in lowerCamelCase: `ModelPackageGroupName` → `modelPackageGroupName`,
/// `S3Uri` → `s3Uri`, `KMSKeyId` → `kmsKeyId`.
pub fn lower_camel(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let leading_upper = chars.iter().take_while(|c| c.is_uppercase()).count();
    let lower_count = match leading_upper {
        0 => 0,
        1 => 1,
        n if n == chars.len() => n,
        // An acronym run: its last capital starts the next word unless digits follow.
        n => match chars.get(n) {
            Some(next) if next.is_lowercase() => n - 1,
            _ => n,
        },
    };
    chars
        .iter()
        .enumerate()
        .map(|(index, c)| {
            if index < lower_count {
                c.to_lowercase().collect::<String>()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Members whose value is a map: their keys are user data and keep their case in CloudTrail.
const MAP_MEMBERS: &[&str] = &["CustomerMetadataProperties", "Environment"];

/// Rewrites a request into CloudTrail's `requestParameters` casing, recursively.
pub fn to_cloudtrail_casing(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let converted: Map<String, Value> = object
                .iter()
                .map(|(key, member)| {
                    let member = if MAP_MEMBERS.contains(&key.as_str()) {
                        member.clone()
                    } else {
                        to_cloudtrail_casing(member)
                    };
                    (lower_camel(key), member)
                })
                .collect();
            Value::Object(converted)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_cloudtrail_casing).collect()),
        other => other.clone(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| {
            text.get(index..index + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// Default page size of the list operations when `MaxResults` is omitted.
pub const DEFAULT_PAGE_SIZE: usize = 10;

/// One page of `items`, which must already be sorted by `cursor` in the requested direction.
///
/// The token is the (hex-encoded) cursor of the last item returned, so a page boundary stays put when
/// items before it are deleted between calls.
pub fn page<T>(
    items: Vec<T>,
    cursor: impl Fn(&T) -> String,
    descending: bool,
    next_token: Option<&str>,
    max_results: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let after = match next_token.filter(|token| !token.is_empty()) {
        None => None,
        Some(token) => Some(
            unhex(token)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| ApiError::Validation("Invalid pagination token.".into()))?,
        ),
    };
    let mut remaining: Vec<T> = items
        .into_iter()
        .filter(|item| match &after {
            None => true,
            Some(after) if descending => cursor(item) < *after,
            Some(after) => cursor(item) > *after,
        })
        .collect();
    let token = if remaining.len() > max_results {
        remaining.truncate(max_results);
        remaining.last().map(|last| hex(cursor(last).as_bytes()))
    } else {
        None
    };
    Ok((remaining, token))
}

/// `MaxResults` within `1..=limit`, AWS-style message otherwise.
pub fn max_results(value: Option<i64>, min: i64, limit: i64) -> Result<usize, ApiError> {
    match value {
        None => Ok(DEFAULT_PAGE_SIZE.max(usize::try_from(min).unwrap_or(1))),
        Some(n) if n < min => Err(ApiError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        ))),
        Some(n) if n > limit => Err(ApiError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {limit}"
        ))),
        Some(n) => Ok(usize::try_from(n).unwrap_or(DEFAULT_PAGE_SIZE)),
    }
}

/// A cursor that sorts like the number: zero-padded.
pub fn sortable_millis(time: DateTime<Utc>) -> String {
    format!("{:020}", time.timestamp_millis().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lower_camel_handles_words_acronyms_and_digits() {
        assert_eq!(
            lower_camel("ModelPackageGroupName"),
            "modelPackageGroupName"
        );
        assert_eq!(lower_camel("S3Uri"), "s3Uri");
        assert_eq!(lower_camel("KMSKeyId"), "kmsKeyId");
        assert_eq!(lower_camel("ARN"), "arn");
        assert_eq!(lower_camel("already"), "already");
        assert_eq!(lower_camel(""), "");
    }

    #[test]
    fn cloudtrail_casing_keeps_user_map_keys() {
        let request = json!({
            "ModelPackageGroupName": "g",
            "CustomerMetadataProperties": {"GovernanceId": "x"},
            "InferenceSpecification": {"Containers": [{"Image": "i", "Environment": {"MY_VAR": "1"}}]},
            "Tags": [{"Key": "k", "Value": "v"}]
        });
        assert_eq!(
            to_cloudtrail_casing(&request),
            json!({
                "modelPackageGroupName": "g",
                "customerMetadataProperties": {"GovernanceId": "x"},
                "inferenceSpecification": {"containers": [{"image": "i", "environment": {"MY_VAR": "1"}}]},
                "tags": [{"key": "k", "value": "v"}]
            })
        );
    }

    #[test]
    fn timestamps_are_epoch_seconds_with_millisecond_fraction() {
        let time = Utc
            .timestamp_millis_opt(1_700_000_000_123)
            .single()
            .unwrap();
        assert_eq!(epoch_seconds(time), json!(1_700_000_000.123));
        let whole = Utc
            .timestamp_millis_opt(1_700_000_000_000)
            .single()
            .unwrap();
        assert_eq!(epoch_seconds(whole), json!(1_700_000_000));
        assert_eq!(rfc3339_millis(time), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_seconds(time), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_timestamp("t", &json!(1_700_000_000.123)).unwrap(),
            time
        );
        assert_eq!(
            parse_timestamp("t", &json!("2023-11-14T22:13:20.123Z")).unwrap(),
            time
        );
        assert!(parse_timestamp("t", &json!(true)).is_err());
        assert!(parse_timestamp("t", &json!(1e300)).is_err());
    }

    #[test]
    fn paging_walks_every_item_once_and_survives_deletes() {
        let items: Vec<u32> = (1..=25).collect();
        let cursor = |n: &u32| format!("{n:05}");
        let (first, token) = page(items.clone(), cursor, false, None, 10).unwrap();
        assert_eq!(first, (1..=10).collect::<Vec<_>>());
        let token = token.unwrap();
        // Deleting an item of the first page does not shift the second one.
        let after_delete: Vec<u32> = items.iter().copied().filter(|n| *n != 3).collect();
        let (second, token) = page(after_delete, cursor, false, Some(&token), 10).unwrap();
        assert_eq!(second, (11..=20).collect::<Vec<_>>());
        let (third, token) = page(items, cursor, false, token.as_deref(), 10).unwrap();
        assert_eq!(third, (21..=25).collect::<Vec<_>>());
        assert_eq!(token, None);
    }

    #[test]
    fn paging_descending_and_bad_tokens() {
        let items: Vec<u32> = (1..=5).rev().collect();
        let cursor = |n: &u32| n.to_string();
        let (first, token) = page(items.clone(), cursor, true, None, 2).unwrap();
        assert_eq!(first, vec![5, 4]);
        let (second, _) = page(items.clone(), cursor, true, token.as_deref(), 2).unwrap();
        assert_eq!(second, vec![3, 2]);
        assert!(matches!(
            page(items.clone(), cursor, true, Some("zz"), 2),
            Err(ApiError::Validation(_))
        ));
        assert!(page(items, cursor, true, Some("abc"), 2).is_err());
    }

    #[test]
    fn max_results_is_bounded() {
        assert_eq!(max_results(None, 1, 100).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(max_results(Some(100), 1, 100).unwrap(), 100);
        assert!(max_results(Some(101), 1, 100).is_err());
        assert!(max_results(Some(0), 1, 100).is_err());
        assert_eq!(max_results(None, 50, 1000).unwrap(), 50);
    }
}
