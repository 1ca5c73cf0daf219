//! Reading fields out of untrusted JSON, with errors that name the field's path.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::registry_event::DecodeError;

/// An object being read, and where it sits in the document (`detail.requestParameters`).
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    pub fn root(value: &'a Value, what: &'static str) -> Result<Self, DecodeError> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path: String::new(),
            }),
            _ => Err(DecodeError::NotAnObject { what }),
        }
    }

    /// An object with no fields that reports missing ones under `path`.
    pub fn empty_at(path: String) -> Fields<'static> {
        static NO_FIELDS: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        Fields {
            map: &NO_FIELDS,
            path,
        }
    }

    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A field's value; JSON `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn missing(&self, key: &str) -> DecodeError {
        DecodeError::MissingField {
            field: self.path_of(key),
        }
    }

    fn wrong_type(&self, key: &str, expected: &'static str) -> DecodeError {
        DecodeError::WrongType {
            field: self.path_of(key),
            expected,
        }
    }

    pub fn object(&self, key: &str) -> Result<Option<Fields<'a>>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields {
                map,
                path: self.path_of(key),
            })),
            Some(_) => Err(self.wrong_type(key, "an object")),
        }
    }

    pub fn required_object(&self, key: &str) -> Result<Fields<'a>, DecodeError> {
        self.object(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.wrong_type(key, "a string")),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<&'a str, DecodeError> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    /// An optional string field turned into a domain type.
    pub fn parsed<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<Option<T>, DecodeError> {
        self.string(key)?
            .map(|text| {
                parse(text).map_err(|source| DecodeError::InvalidValue {
                    field: self.path_of(key),
                    source,
                })
            })
            .transpose()
    }

    pub fn required_parsed<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<T, DecodeError> {
        self.parsed(key, parse)?.ok_or_else(|| self.missing(key))
    }

    /// A time written as RFC 3339 text or as epoch milliseconds.
    pub fn time(&self, key: &str) -> Result<Option<DateTime<Utc>>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => parse_time(value)
                .map(Some)
                .ok_or_else(|| DecodeError::BadTimestamp {
                    field: self.path_of(key),
                    value: shorten(&value.to_string()),
                }),
        }
    }

    /// An object of string values (customer metadata).
    pub fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, DecodeError> {
        let Some(fields) = self.object(key)? else {
            return Ok(BTreeMap::new());
        };
        fields
            .map
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name.clone(), text.clone())),
                _ => Err(fields.wrong_type(name, "a string")),
            })
            .collect()
    }

    /// A list of strings; absent is empty.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, DecodeError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    _ => Err(self.wrong_type(key, "a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.wrong_type(key, "a list of strings")),
        }
    }

    /// Best-effort read for informational fields: a string, or nothing.
    pub fn lenient_string(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Value::as_str).map(str::to_owned)
    }
}

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis),
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.to_utc()),
        Value::Number(number) => {
            let millis = match number.as_i64() {
                Some(millis) => millis,
                None => {
                    let float = number.as_f64()?;
                    // i64::MAX as f64 rounds up, so the bound is exclusive.
                    if !float.is_finite() || float.abs() >= i64::MAX as f64 {
                        return None;
                    }
                    float.trunc() as i64
                }
            };
            DateTime::from_timestamp_millis(millis)
        }
        _ => None,
    }
}

/// Keeps error messages bounded when the offending value is huge.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_decode_from_text_and_epoch_milliseconds() {
        let expected = DateTime::parse_from_rfc3339("2021-02-24T17:00:14Z")
            .unwrap()
            .to_utc();
        let with_millis = DateTime::parse_from_rfc3339("2021-02-24T17:00:14.250Z")
            .unwrap()
            .to_utc();
        let cases = [
            (json!("2021-02-24T17:00:14Z"), Some(expected)),
            (json!("2021-02-24T19:00:14+02:00"), Some(expected)),
            (json!("2021-02-24T17:00:14.250Z"), Some(with_millis)),
            (json!(1_614_186_014_000_i64), Some(expected)),
            (json!(1_614_186_014_250.0), Some(with_millis)),
            (json!("1614186014000"), Some(expected)),
            (json!("yesterday"), None),
            (json!("2021-02-24 17:00:14"), None),
            (json!(true), None),
            (json!([1]), None),
            (json!(u64::MAX), None),
            (json!(1e300), None),
            (json!(i64::MAX), None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_time(&input), expected, "{input}");
        }
    }
}
