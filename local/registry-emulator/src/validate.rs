//! SageMaker's input constraints, with AWS-style `ValidationException` messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_POLICY: usize = 20_480;
pub const MAX_TAGS: usize = 50;
pub const MAX_METADATA_ENTRIES: usize = 50;
pub const MAX_METADATA_KEY: usize = 128;
pub const MAX_METADATA_VALUE: usize = 256;
pub const MAX_MODEL_CARD_CONTENT: usize = 100_000;
pub const APPROVAL_STATUSES: &[&str] = &["Approved", "Rejected", "PendingManualApproval"];
pub const MODEL_CARD_STATUSES: &[&str] = &["Draft", "PendingReview", "Approved", "Archived"];

pub(crate) fn constraint(value: &str, field: &str, rule: &str) -> ApiError {
    ApiError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}"
    ))
}

pub fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::Validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

pub fn max_len(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(constraint(
            &abbreviate(value),
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

pub(crate) fn abbreviate(value: &str) -> String {
    if value.chars().count() > 80 {
        format!("{}…", value.chars().take(80).collect::<String>())
    } else {
        value.to_owned()
    }
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`: alphanumerics, inner hyphens, 1–63 characters.
pub fn is_entity_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

pub fn entity_name(value: &str, field: &str) -> Result<(), ApiError> {
    max_len(value, field, 63)?;
    if !is_entity_name(value) {
        return Err(constraint(
            value,
            field,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ));
    }
    Ok(())
}

/// A Studio domain id, `d-(-*[a-z0-9]){1,61}` (botocore's SageMaker model, shape `DomainId`).
pub fn is_domain_id(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("d-") else {
        return false;
    };
    let alphanumerics = rest
        .bytes()
        .filter(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .count();
    rest.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && rest
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && (1..=61).contains(&alphanumerics)
}

pub fn domain_id(value: &str, field: &str) -> Result<(), ApiError> {
    max_len(value, field, 63)?;
    if !is_domain_id(value) {
        return Err(constraint(
            value,
            field,
            "Member must satisfy regular expression pattern: d-(-*[a-z0-9]){1,61}",
        ));
    }
    Ok(())
}

/// An integer member within `min..=max`, worded as SageMaker words range errors.
pub fn in_range(value: i64, field: &str, min: i64, max: i64) -> Result<(), ApiError> {
    let rule = if value < min {
        format!("Member must have value greater than or equal to {min}")
    } else if value > max {
        format!("Member must have value less than or equal to {max}")
    } else {
        return Ok(());
    };
    Err(constraint(&value.to_string(), field, &rule))
}

/// The apps a `LandingUri` of the form `app:<App>:<path>` may name (API reference,
/// CreatePresignedDomainUrl, `LandingUri`).
pub const LANDING_APPS: &[&str] = &[
    "JupyterServer",
    "JupyterLab",
    "RStudioServerPro",
    "CodeEditor",
    "Canvas",
];

/// `LandingUri` ≤ 1023 (botocore) in one of the documented forms, `studio::<relative/path>` or
/// `app:<App>:<relative/path>`. The path itself is not specified further; it only may not hold control
/// characters.
pub fn landing_uri(value: &str) -> Result<(), ApiError> {
    max_len(value, "landingUri", 1023)?;
    let path = value.strip_prefix("studio::").or_else(|| {
        let (app, path) = value.strip_prefix("app:")?.split_once(':')?;
        LANDING_APPS.contains(&app).then_some(path)
    });
    match path {
        Some(path) if !path.chars().any(char::is_control) => Ok(()),
        _ => Err(constraint(
            &abbreviate(value),
            "landingUri",
            &format!(
                "Member must be studio::<relative path> or app:<{}>:<relative path>",
                LANDING_APPS.join("|")
            ),
        )),
    }
}

pub fn one_of(value: &str, field: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if !allowed.contains(&value) {
        return Err(constraint(
            value,
            field,
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// `[a-zA-Z0-9-]{1,36}`.
pub fn client_token(value: &str) -> Result<(), ApiError> {
    let valid = !value.is_empty()
        && value.len() <= 36
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(constraint(
            value,
            "clientToken",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+ and have length between 1 and 36",
        ));
    }
    Ok(())
}

/// Letters, digits, spaces and `_ . : / = + - @` (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`), as tags and
/// customer metadata allow.
pub fn is_tag_character(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// Checks a complete `CustomerMetadataProperties` map (after any merge); errors name the offending key.
pub fn customer_metadata(map: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if map.len() > MAX_METADATA_ENTRIES {
        return Err(ApiError::Validation(format!(
            "1 validation error detected: Value at 'customerMetadataProperties' failed to satisfy constraint: Map must have at most {MAX_METADATA_ENTRIES} entries, got {}",
            map.len()
        )));
    }
    for (key, value) in map {
        let key_len = key.chars().count();
        if key_len == 0 || key_len > MAX_METADATA_KEY {
            return Err(ApiError::Validation(format!(
                "1 validation error detected: Key '{}' at 'customerMetadataProperties' failed to satisfy constraint: Map keys must have length between 1 and {MAX_METADATA_KEY}, got {key_len}",
                abbreviate(key)
            )));
        }
        if let Some(bad) = key.chars().find(|c| !is_tag_character(*c)) {
            return Err(ApiError::Validation(format!(
                "1 validation error detected: Key '{key}' at 'customerMetadataProperties' failed to satisfy constraint: Map keys must satisfy regular expression pattern: ([\\p{{L}}\\p{{Z}}\\p{{N}}_.:\\/=+\\-@]*) (character {bad:?} is not allowed)"
            )));
        }
        let value_len = value.chars().count();
        if value_len == 0 || value_len > MAX_METADATA_VALUE {
            return Err(ApiError::Validation(format!(
                "1 validation error detected: Value at 'customerMetadataProperties.{key}' failed to satisfy constraint: Member must have length between 1 and {MAX_METADATA_VALUE}, got {value_len}"
            )));
        }
        if let Some(bad) = value.chars().find(|c| !is_tag_character(*c)) {
            return Err(ApiError::Validation(format!(
                "1 validation error detected: Value at 'customerMetadataProperties.{key}' failed to satisfy constraint: Member must satisfy regular expression pattern: ([\\p{{L}}\\p{{Z}}\\p{{N}}_.:\\/=+\\-@]*) (character {bad:?} is not allowed)"
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Tags as sent: `Key` 1–128, `Value` 0–256, tag characters, no `aws:` prefix, no duplicate keys.
pub fn tags(tags: &[Tag]) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(constraint(
            &format!("{} tags", tags.len()),
            "tags",
            &format!("Member must have length less than or equal to {MAX_TAGS}"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        let key_len = tag.key.chars().count();
        if key_len == 0 || key_len > 128 || !tag.key.chars().all(is_tag_character) {
            return Err(constraint(
                &tag.key,
                "tags.member.key",
                "Member must have length between 1 and 128 and satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)",
            ));
        }
        if tag.value.chars().count() > 256 || !tag.value.chars().all(is_tag_character) {
            return Err(constraint(
                &tag.value,
                "tags.member.value",
                "Member must have length less than or equal to 256 and satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)",
            ));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::Validation(format!(
                "Tag key '{}' uses the reserved prefix aws:",
                tag.key
            )));
        }
        if !seen.insert(tag.key.as_str()) {
            return Err(ApiError::Validation(format!(
                "Duplicate tag key '{}' in the request",
                tag.key
            )));
        }
    }
    Ok(())
}

/// Merges tags by key (a new value replaces the old one) and enforces the per-resource limit.
pub fn merge_tags(existing: &[Tag], added: &[Tag]) -> Result<Vec<Tag>, ApiError> {
    let mut merged = existing.to_vec();
    for tag in added {
        match merged.iter_mut().find(|old| old.key == tag.key) {
            Some(old) => old.value.clone_from(&tag.value),
            None => merged.push(tag.clone()),
        }
    }
    if merged.len() > MAX_TAGS {
        return Err(ApiError::Validation(format!(
            "A resource can have at most {MAX_TAGS} tags; this request would leave {}",
            merged.len()
        )));
    }
    Ok(merged)
}

/// `ModelLifeCycle {Stage, StageStatus, StageDescription}` as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelLifeCycleInput {
    pub stage: Option<String>,
    pub stage_status: Option<String>,
    pub stage_description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelLifeCycle {
    pub stage: String,
    pub stage_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_description: Option<String>,
}

pub fn model_life_cycle(input: ModelLifeCycleInput) -> Result<ModelLifeCycle, ApiError> {
    let stage = required(input.stage, "modelLifeCycle.stage")?;
    let stage_status = required(input.stage_status, "modelLifeCycle.stageStatus")?;
    entity_name(&stage, "modelLifeCycle.stage")?;
    entity_name(&stage_status, "modelLifeCycle.stageStatus")?;
    if let Some(description) = &input.stage_description {
        max_len(
            description,
            "modelLifeCycle.stageDescription",
            MAX_DESCRIPTION,
        )?;
    }
    Ok(ModelLifeCycle {
        stage,
        stage_status,
        stage_description: input.stage_description,
    })
}

/// `ModelCard {ModelCardContent, ModelCardStatus}`; both optional, each merged when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelCard {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_card_content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_card_status: Option<String>,
}

/// `ModelCardContent` ≤ 100 000 characters (API reference, `ModelPackageModelCard`) and a JSON object that
/// follows the model package card schema ([`crate::card_schema`]); `ModelCardStatus` one of the four.
pub fn model_card(card: &ModelCard) -> Result<(), ApiError> {
    if let Some(content) = &card.model_card_content {
        max_len(
            content,
            "modelCard.modelCardContent",
            MAX_MODEL_CARD_CONTENT,
        )?;
        crate::card_schema::check_content(content).map_err(|error| {
            ApiError::Validation(format!(
                "ModelCardContent does not follow the model package model card schema (version 0.1.0): {error}"
            ))
        })?;
    }
    if let Some(status) = &card.model_card_status {
        one_of(status, "modelCard.modelCardStatus", MODEL_CARD_STATUSES)?;
    }
    Ok(())
}

/// A resource policy: 1–20 480 characters of JSON object.
pub fn resource_policy(policy: &str) -> Result<(), ApiError> {
    if policy.is_empty() {
        return Err(constraint(
            policy,
            "resourcePolicy",
            "Member must have length greater than or equal to 1",
        ));
    }
    max_len(policy, "resourcePolicy", MAX_POLICY)?;
    match serde_json::from_str::<serde_json::Value>(policy) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(ApiError::Validation(
            "The resource policy is not a valid JSON policy document.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn entity_names_follow_the_sagemaker_pattern() {
        assert!(is_entity_name("fraud-detector"));
        assert!(is_entity_name("a"));
        assert!(is_entity_name("a--b"));
        assert!(is_entity_name(&"a".repeat(63)));
        assert!(!is_entity_name(&"a".repeat(64)));
        assert!(!is_entity_name("-a"));
        assert!(!is_entity_name("a-"));
        assert!(!is_entity_name("a_b"));
        assert!(!is_entity_name(""));
        assert!(!is_entity_name("é"));
    }

    #[test]
    fn domain_ids_follow_the_botocore_pattern() {
        assert!(is_domain_id("d-abc123"));
        assert!(is_domain_id("d-local000001"));
        assert!(is_domain_id("d--a-b"));
        assert!(!is_domain_id("d-"));
        assert!(!is_domain_id("d-abc-"));
        assert!(!is_domain_id("d-ABC"));
        assert!(!is_domain_id("x-abc"));
        assert!(!is_domain_id(&format!("d-{}", "a".repeat(62))));
        assert!(domain_id(&format!("d-{}", "a".repeat(61)), "domainId").is_ok());
    }

    #[test]
    fn ranges_and_landing_uris_name_the_member() {
        assert!(in_range(5, "expiresInSeconds", 5, 300).is_ok());
        assert!(
            matches!(in_range(301, "expiresInSeconds", 5, 300), Err(ApiError::Validation(m)) if m.contains("'expiresInSeconds'") && m.contains("less than or equal to 300"))
        );
        assert!(
            matches!(in_range(4, "expiresInSeconds", 5, 300), Err(ApiError::Validation(m)) if m.contains("greater than or equal to 5"))
        );
        for good in [
            "studio::models/registered-models/fraud/versions",
            "studio::",
            "app:JupyterServer:lab/tree/work",
            "app:Canvas:",
            "app:CodeEditor:some/path?x=1",
        ] {
            assert!(landing_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "studio:models",
            "app:VSCode:path",
            "app:JupyterLab",
            "https://example.com/",
            "studio::a\nb",
        ] {
            assert!(
                matches!(landing_uri(bad), Err(ApiError::Validation(m)) if m.contains("'landingUri'")),
                "{bad}"
            );
        }
        assert!(landing_uri(&format!("studio::{}", "a".repeat(1016))).is_err());
    }

    #[test]
    fn customer_metadata_accepts_ids_and_urls() {
        let ok = metadata(&[
            ("govsync:model-id", "MOD-123"),
            (
                "govsync:url",
                "https://opgrc.example.com/app/jspview/react/grc/task-view/123",
            ),
            ("Use case name", "Fraud détection @ retail + web = ok"),
        ]);
        assert_eq!(customer_metadata(&ok), Ok(()));
    }

    #[test]
    fn customer_metadata_errors_name_the_key() {
        let long_key = "k".repeat(129);
        let error = customer_metadata(&metadata(&[(long_key.as_str(), "v")])).unwrap_err();
        assert!(
            matches!(&error, ApiError::Validation(m) if m.contains("kkkk") && m.contains("128"))
        );

        let long_value = "v".repeat(257);
        let error = customer_metadata(&metadata(&[("big", long_value.as_str())])).unwrap_err();
        assert!(
            matches!(&error, ApiError::Validation(m) if m.contains("customerMetadataProperties.big"))
        );

        let error = customer_metadata(&metadata(&[("json", "{\"a\":1}")])).unwrap_err();
        assert!(
            matches!(&error, ApiError::Validation(m) if m.contains("customerMetadataProperties.json"))
        );

        let error = customer_metadata(&metadata(&[("bad?key", "v")])).unwrap_err();
        assert!(matches!(&error, ApiError::Validation(m) if m.contains("bad?key")));

        assert!(customer_metadata(&metadata(&[("empty", "")])).is_err());
        assert!(customer_metadata(&metadata(&[("", "v")])).is_err());
    }

    #[test]
    fn customer_metadata_allows_fifty_entries_not_fifty_one() {
        let fifty: BTreeMap<String, String> =
            (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(customer_metadata(&fifty), Ok(()));
        let mut fifty_one = fifty;
        fifty_one.insert("k50".into(), "v".into());
        assert!(customer_metadata(&fifty_one).is_err());
    }

    #[test]
    fn client_tokens_are_short_and_plain() {
        assert!(client_token("a-1").is_ok());
        assert!(client_token(&"a".repeat(36)).is_ok());
        assert!(client_token(&"a".repeat(37)).is_err());
        assert!(client_token("").is_err());
        assert!(client_token("a_b").is_err());
    }

    #[test]
    fn tags_reject_reserved_prefix_duplicates_and_overflow() {
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(tags(&[tag("govsync:use-case-id", "UC-1"), tag("team", "")]).is_ok());
        assert!(tags(&[tag("aws:x", "1")]).is_err());
        assert!(tags(&[tag("a", "1"), tag("a", "2")]).is_err());
        assert!(tags(&[tag("a", "{")]).is_err());
        let merged = merge_tags(&[tag("a", "1")], &[tag("a", "2"), tag("b", "3")]).unwrap();
        assert_eq!(merged, vec![tag("a", "2"), tag("b", "3")]);
        let many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(merge_tags(&many, &[tag("k0", "w")]).is_ok());
        assert!(merge_tags(&many, &[tag("extra", "w")]).is_err());
    }

    #[test]
    fn model_life_cycle_needs_stage_and_status() {
        let input = |stage: Option<&str>, status: Option<&str>, description: Option<String>| {
            ModelLifeCycleInput {
                stage: stage.map(str::to_owned),
                stage_status: status.map(str::to_owned),
                stage_description: description,
            }
        };
        assert!(model_life_cycle(input(Some("Production"), Some("Approved"), None)).is_ok());
        assert!(model_life_cycle(input(None, Some("Approved"), None)).is_err());
        assert!(model_life_cycle(input(Some("Prod stage"), Some("Approved"), None)).is_err());
        assert!(model_life_cycle(input(Some("P"), Some("A"), Some("d".repeat(1025)))).is_err());
    }

    #[test]
    fn resource_policy_must_be_a_json_object_within_limits() {
        assert!(resource_policy(r#"{"Version":"2012-10-17","Statement":[]}"#).is_ok());
        assert!(resource_policy("not json").is_err());
        assert!(resource_policy("[]").is_err());
        assert!(resource_policy("").is_err());
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_POLICY));
        assert!(resource_policy(&big).is_err());
    }
}
