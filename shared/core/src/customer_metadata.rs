//! SageMaker `CustomerMetadataProperties` rules, checked before govsync writes (the SDK does not check),
//! and a sanitiser that fits arbitrary text into them.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// At most this many entries on one package.
pub const MAX_ENTRIES: usize = 50;
/// Keys are 1–128 characters.
pub const MAX_KEY_CHARS: usize = 128;
/// Values are 1–256 characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// The keys govsync writes on a package (and on groups, as tags).
pub mod keys {
    /// What every key govsync writes starts with.
    pub const PREFIX: &str = "govsync:";
    /// A package's packed links: the governance model, model group and use case ids, the risk level
    /// and the use case's name, in one entry (see `sync::registry::PackedLinks`).
    pub const LINKS: &str = "govsync:links";
    pub const USE_CASE_ID: &str = "govsync:use-case-id";
    pub const MODEL_GROUP_ID: &str = "govsync:model-group-id";
    pub const MODEL_ID: &str = "govsync:model-id";
    pub const USE_CASE_URL: &str = "govsync:use-case-url";
    pub const MODEL_GROUP_URL: &str = "govsync:model-group-url";
    pub const MODEL_URL: &str = "govsync:model-url";
    pub const USE_CASE_NAME: &str = "govsync:use-case-name";
    pub const RISK_LEVEL: &str = "govsync:risk-level";
    pub const BUSINESS_ENTITY: &str = "govsync:business-entity";
    /// The revision stamp on every govsync write (echo detection and ordering).
    pub const REVISION: &str = "govsync:rev";
}

/// Why a metadata map would be refused by SageMaker. Each names the offending key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("customer metadata has {count} entries; SageMaker allows at most {MAX_ENTRIES}")]
    TooManyEntries { count: usize },
    #[error("customer metadata key {key:?} is {len} characters; keys must be 1-{MAX_KEY_CHARS}")]
    KeyLength { key: String, len: usize },
    #[error(
        "customer metadata value of key {key:?} is {len} characters; values must be 1-{MAX_VALUE_CHARS}"
    )]
    ValueLength { key: String, len: usize },
    #[error(
        "customer metadata key {key:?} holds {character:?}; only letters, digits, spaces and _ . : / = + - @ are allowed"
    )]
    KeyCharacter { key: String, character: char },
    #[error(
        "customer metadata value of key {key:?} holds {character:?}; only letters, digits, spaces and _ . : / = + - @ are allowed"
    )]
    ValueCharacter { key: String, character: char },
    #[error("customer metadata value of key {key:?} is empty once sanitised")]
    EmptyAfterSanitising { key: String },
}

/// SageMaker's set `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, approximated from the safe side: Unicode letters and
/// digits (minus combining-mark blocks, which are not letters), the ASCII space, and `_ . : / = + - @`.
pub fn is_allowed_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c);
    }
    let combining_mark = matches!(
        c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
    );
    (c.is_alphabetic() || c.is_numeric()) && !combining_mark
}

/// Checks one key.
pub fn validate_key(key: &str) -> Result<(), MetadataError> {
    let len = key.chars().count();
    if !(1..=MAX_KEY_CHARS).contains(&len) {
        return Err(MetadataError::KeyLength {
            key: key.to_owned(),
            len,
        });
    }
    match key.chars().find(|c| !is_allowed_char(*c)) {
        Some(character) => Err(MetadataError::KeyCharacter {
            key: key.to_owned(),
            character,
        }),
        None => Ok(()),
    }
}

/// Checks one value; the error names the key it belongs to.
pub fn validate_value(key: &str, value: &str) -> Result<(), MetadataError> {
    let len = value.chars().count();
    if !(1..=MAX_VALUE_CHARS).contains(&len) {
        return Err(MetadataError::ValueLength {
            key: key.to_owned(),
            len,
        });
    }
    match value.chars().find(|c| !is_allowed_char(*c)) {
        Some(character) => Err(MetadataError::ValueCharacter {
            key: key.to_owned(),
            character,
        }),
        None => Ok(()),
    }
}

/// Checks a whole map: entry count, then every key and value.
pub fn validate(map: &BTreeMap<String, String>) -> Result<(), MetadataError> {
    if map.len() > MAX_ENTRIES {
        return Err(MetadataError::TooManyEntries { count: map.len() });
    }
    for (key, value) in map {
        validate_key(key)?;
        validate_value(key, value)?;
    }
    Ok(())
}

/// Maps arbitrary text into the allowed set: every run of other characters (and whitespace) becomes one
/// space, ends are trimmed, and the result is cut to `max_chars` characters. May return an empty string.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c != ' ' && is_allowed_char(c) {
            let needed = if pending_space && len > 0 { 2 } else { 1 };
            if len + needed > max_chars {
                break;
            }
            if needed == 2 {
                out.push(' ');
            }
            out.push(c);
            len += needed;
            pending_space = false;
        } else {
            pending_space = true;
        }
    }
    out
}

/// A stable hex SHA-256 of a metadata map (sorted keys, length-prefixed), for idempotency keys.
pub fn stable_hash(map: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in map {
        hasher.update((key.len() as u64).to_be_bytes());
        hasher.update(key.as_bytes());
        hasher.update((value.len() as u64).to_be_bytes());
        hasher.update(value.as_bytes());
    }
    crate::hex::encode(&hasher.finalize())
}

/// A metadata map that SageMaker will accept, built entry by entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerMetadata(BTreeMap<String, String>);

impl CustomerMetadata {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an entry after checking it and the entry count.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        validate_key(key)?;
        validate_value(key, value)?;
        if !self.0.contains_key(key) && self.0.len() >= MAX_ENTRIES {
            return Err(MetadataError::TooManyEntries {
                count: self.0.len() + 1,
            });
        }
        self.0.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Adds free text (a use case name, a risk level) after [`sanitize`]; text that sanitises to nothing is
    /// refused rather than written empty.
    pub fn insert_sanitized(&mut self, key: &str, text: &str) -> Result<(), MetadataError> {
        let value = sanitize(text, MAX_VALUE_CHARS);
        if value.is_empty() {
            return Err(MetadataError::EmptyAfterSanitising {
                key: key.to_owned(),
            });
        }
        self.insert(key, &value)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// What the package will hold after `UpdateModelPackage` merges this map into `existing` (omitted keys
    /// stay, `to_remove` keys go), refused if the result breaks the entry limit.
    pub fn merged_into(
        &self,
        existing: &BTreeMap<String, String>,
        to_remove: &[String],
    ) -> Result<BTreeMap<String, String>, MetadataError> {
        let mut merged = existing.clone();
        for key in to_remove {
            merged.remove(key);
        }
        merged.extend(self.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        if merged.len() > MAX_ENTRIES {
            return Err(MetadataError::TooManyEntries {
                count: merged.len(),
            });
        }
        Ok(merged)
    }
}

impl TryFrom<BTreeMap<String, String>> for CustomerMetadata {
    type Error = MetadataError;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        validate(&map)?;
        Ok(Self(map))
    }
}

/// Whether `key` can be set on a package holding `entries` without passing SageMaker's limit.
pub fn has_room_for(entries: &BTreeMap<String, String>, key: &str) -> bool {
    entries.contains_key(key) || entries.len() < MAX_ENTRIES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_outside_the_rules_are_refused_naming_the_key() {
        let long_key = "k".repeat(129);
        let long_value = "v".repeat(257);
        let cases: Vec<(&str, &str, Result<(), MetadataError>)> = vec![
            ("govsync:model-id", "1234", Ok(())),
            ("owner", "alice@example.com", Ok(())),
            ("url", "https://grc.example.com/app/view/1234", Ok(())),
            ("note", "Détection de fraude", Ok(())),
            ("note", "a_b.c:d/e=f+g-h@i j", Ok(())),
            (
                "",
                "x",
                Err(MetadataError::KeyLength {
                    key: String::new(),
                    len: 0,
                }),
            ),
            (
                &long_key,
                "x",
                Err(MetadataError::KeyLength {
                    key: long_key.clone(),
                    len: 129,
                }),
            ),
            (
                "empty",
                "",
                Err(MetadataError::ValueLength {
                    key: "empty".into(),
                    len: 0,
                }),
            ),
            (
                "long",
                &long_value,
                Err(MetadataError::ValueLength {
                    key: "long".into(),
                    len: 257,
                }),
            ),
            (
                "json",
                "{\"a\":1}",
                Err(MetadataError::ValueCharacter {
                    key: "json".into(),
                    character: '{',
                }),
            ),
            (
                "query",
                "https://x/y?z=1",
                Err(MetadataError::ValueCharacter {
                    key: "query".into(),
                    character: '?',
                }),
            ),
            (
                "list",
                "a,b",
                Err(MetadataError::ValueCharacter {
                    key: "list".into(),
                    character: ',',
                }),
            ),
            (
                "tab",
                "a\tb",
                Err(MetadataError::ValueCharacter {
                    key: "tab".into(),
                    character: '\t',
                }),
            ),
            (
                "bad#key",
                "x",
                Err(MetadataError::KeyCharacter {
                    key: "bad#key".into(),
                    character: '#',
                }),
            ),
            (
                "combining",
                "e\u{0301}",
                Err(MetadataError::ValueCharacter {
                    key: "combining".into(),
                    character: '\u{0301}',
                }),
            ),
        ];
        for (key, value, expected) in cases {
            let got = validate_key(key).and_then(|()| validate_value(key, value));
            assert_eq!(got, expected, "{key:?} = {value:?}");
        }
    }

    #[test]
    fn more_than_fifty_entries_are_refused() {
        let fifty: BTreeMap<String, String> =
            (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(validate(&fifty).is_ok());
        let mut fifty_one = fifty.clone();
        fifty_one.insert("k50".into(), "v".into());
        assert_eq!(
            validate(&fifty_one),
            Err(MetadataError::TooManyEntries { count: 51 })
        );

        let mut built = CustomerMetadata::try_from(fifty).unwrap();
        assert_eq!(built.insert("k0", "replaced"), Ok(()));
        assert_eq!(
            built.insert("k50", "v"),
            Err(MetadataError::TooManyEntries { count: 51 })
        );
    }

    #[test]
    fn sanitiser_maps_text_into_the_allowed_set() {
        let cases = [
            ("Fraud Detection", 256, "Fraud Detection"),
            ("Fraud & Abuse, v2 (EU)", 256, "Fraud Abuse v2 EU"),
            ("  {\"json\": true}  ", 256, "json : true"),
            ("line\nbreak\ttab", 256, "line break tab"),
            ("Crédit Scoring", 256, "Crédit Scoring"),
            ("abcdef ghij", 7, "abcdef"),
            ("abcdef ghij", 8, "abcdef g"),
            ("abc def", 5, "abc d"),
            ("???", 256, ""),
            ("a@b.c/d:e=f+g-h_i", 256, "a@b.c/d:e=f+g-h_i"),
        ];
        for (input, max, expected) in cases {
            assert_eq!(sanitize(input, max), expected, "{input:?} max {max}");
        }
    }

    #[test]
    fn insert_sanitized_refuses_text_with_nothing_left() {
        let mut metadata = CustomerMetadata::new();
        assert_eq!(
            metadata.insert_sanitized(keys::USE_CASE_NAME, "{?}"),
            Err(MetadataError::EmptyAfterSanitising {
                key: keys::USE_CASE_NAME.into()
            })
        );
        metadata
            .insert_sanitized(keys::USE_CASE_NAME, &format!("Churn {}", "x".repeat(400)))
            .unwrap();
        assert_eq!(
            metadata.get(keys::USE_CASE_NAME).unwrap().chars().count(),
            256
        );
    }

    #[test]
    fn merge_keeps_omitted_keys_removes_listed_ones_and_checks_the_total() {
        let existing = map(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let mut update = CustomerMetadata::new();
        update.insert("b", "20").unwrap();
        update.insert("d", "4").unwrap();
        let merged = update.merged_into(&existing, &["c".to_string()]).unwrap();
        assert_eq!(merged, map(&[("a", "1"), ("b", "20"), ("d", "4")]));

        let crowded: BTreeMap<String, String> =
            (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(
            update.merged_into(&crowded, &[]),
            Err(MetadataError::TooManyEntries { count: 52 })
        );
    }

    proptest::proptest! {
        #[test]
        fn sanitised_text_is_always_valid_or_empty(text in ".{0,400}", max in 1usize..=MAX_VALUE_CHARS) {
            let out = sanitize(&text, max);
            proptest::prop_assert!(out.chars().count() <= max);
            proptest::prop_assert!(!out.starts_with(' ') && !out.ends_with(' '));
            if !out.is_empty() {
                proptest::prop_assert_eq!(validate_value("k", &out), Ok(()));
            }
        }
    }

    #[test]
    fn stable_hash_depends_on_content_not_on_insertion_order() {
        let one = map(&[("a", "1"), ("b", "2")]);
        let mut two = BTreeMap::new();
        two.insert("b".to_string(), "2".to_string());
        two.insert("a".to_string(), "1".to_string());
        assert_eq!(stable_hash(&one), stable_hash(&two));
        assert_ne!(stable_hash(&one), stable_hash(&map(&[("a", "12")])));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_ne!(
            stable_hash(&map(&[("ab", "c")])),
            stable_hash(&map(&[("a", "bc")]))
        );
        assert_eq!(stable_hash(&one).len(), 64);
    }
}
