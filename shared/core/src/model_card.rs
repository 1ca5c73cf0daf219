//! Governance's facts in the package's Model Card (`ModelCard.ModelCardContent`, the model package card
//! schema 0.1.0; `local/registry-emulator/schema/` holds a copy with its source).
//!
//! What govsync writes, merged into whatever the data scientists wrote:
//! - `additional_information.custom_details.govsync_*`: the use case (id, name, link), its risk level
//!   as governance spells it, the business entity, the owners, the governance status, the model group
//!   and Model (id, link). These entries are govsync's own and always follow governance.
//! - `intended_uses.risk_rating` (the schema's High | Medium | Low | Unknown),
//!   `business_details.line_of_business` (the business entity) and
//!   `business_details.business_stakeholders` (the owners), only where the field is empty or still
//!   holds what govsync wrote there before (its `govsync_*` entry says what that was). A value a data
//!   scientist wrote is kept; governance's stays beside it in `custom_details`.
//!
//! Nothing else is touched: no field, section or entry of theirs is changed or dropped, and the card's
//! status is theirs (a new card starts as `Draft`). A card whose status is `Archived` refuses content
//! changes (SageMaker), and a card whose content is not a JSON object cannot be merged without losing
//! it: both are skipped with the reason.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The status of a card SageMaker refuses content changes for.
pub const ARCHIVED: &str = "Archived";
/// The status govsync gives a card it creates.
pub const DRAFT: &str = "Draft";
/// Prefix of govsync's `custom_details` entries.
pub const ENTRY_PREFIX: &str = "govsync_";
/// The schema's longest `custom_details` value.
pub const MAX_DETAIL_CHARS: usize = 1024;
/// `ModelCardContent`'s length limit.
pub const MAX_CONTENT_CHARS: usize = 100_000;

/// govsync's `custom_details` entries.
pub mod entries {
    pub const USE_CASE_ID: &str = "govsync_use_case_id";
    pub const USE_CASE_NAME: &str = "govsync_use_case_name";
    pub const USE_CASE_LINK: &str = "govsync_use_case_link";
    pub const RISK_LEVEL: &str = "govsync_risk_level";
    pub const BUSINESS_ENTITY: &str = "govsync_business_entity";
    pub const OWNERS: &str = "govsync_owners";
    pub const GOVERNANCE_STATUS: &str = "govsync_governance_status";
    pub const MODEL_GROUP_ID: &str = "govsync_model_group_id";
    pub const MODEL_ID: &str = "govsync_model_id";
    pub const MODEL_LINK: &str = "govsync_model_link";
}

/// A package's card as `DescribeModelPackage` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageCard {
    pub content: Option<String>,
    pub status: Option<String>,
}

impl PackageCard {
    pub fn is_archived(&self) -> bool {
        self.status.as_deref() == Some(ARCHIVED)
    }
}

/// The card to send (`ModelCard {ModelCardContent, ModelCardStatus}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardWrite {
    pub content: String,
    pub status: String,
}

/// Why govsync leaves a card as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardSkip {
    /// `Archived`: SageMaker refuses content changes.
    Archived,
    /// The content is not a JSON object; merging would lose it.
    Unreadable,
    /// The merged content would pass SageMaker's 100,000-character limit.
    TooLong,
}

impl CardSkip {
    pub fn reason(self) -> &'static str {
        match self {
            CardSkip::Archived => "model_card_archived",
            CardSkip::Unreadable => "model_card_unreadable",
            CardSkip::TooLong => "model_card_too_long",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardDecision {
    Unchanged,
    Write(CardWrite),
    Skip(CardSkip),
}

/// What governance knows, for the card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFacts {
    pub use_case_id: String,
    pub use_case_name: String,
    pub use_case_link: Option<String>,
    pub risk_level: Option<String>,
    pub business_entity: String,
    pub owners: Option<String>,
    pub governance_status: Option<String>,
    pub model_group_id: Option<String>,
    pub model_id: Option<String>,
    pub model_link: Option<String>,
}

impl CardFacts {
    fn entries(&self) -> Vec<(&'static str, Option<&str>)> {
        vec![
            (entries::USE_CASE_ID, Some(self.use_case_id.as_str())),
            (entries::USE_CASE_NAME, Some(self.use_case_name.as_str())),
            (entries::USE_CASE_LINK, self.use_case_link.as_deref()),
            (entries::RISK_LEVEL, self.risk_level.as_deref()),
            (
                entries::BUSINESS_ENTITY,
                Some(self.business_entity.as_str()),
            ),
            (entries::OWNERS, self.owners.as_deref()),
            (
                entries::GOVERNANCE_STATUS,
                self.governance_status.as_deref(),
            ),
            (entries::MODEL_GROUP_ID, self.model_group_id.as_deref()),
            (entries::MODEL_ID, self.model_id.as_deref()),
            (entries::MODEL_LINK, self.model_link.as_deref()),
        ]
    }
}

/// Governance's risk level as the schema's `risk_rating`: High, Medium, Low, or Unknown for anything
/// else (including none).
pub fn risk_rating(level: Option<&str>) -> &'static str {
    let level = level.map(|text| text.trim().to_ascii_lowercase());
    match level.as_deref() {
        Some("high" | "very high" | "critical") => "High",
        Some("medium" | "moderate") => "Medium",
        Some("low" | "very low" | "minimal") => "Low",
        _ => "Unknown",
    }
}

/// The card's content as a JSON object (`{}` for none or blank), or `None` when it is not one.
fn content_object(card: Option<&PackageCard>) -> Option<Map<String, Value>> {
    let text = card.and_then(|card| card.content.as_deref()).unwrap_or("");
    if text.trim().is_empty() {
        return Some(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

fn section<'a>(content: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let slot = content
        .entry(name.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

fn text_at<'a>(content: &'a Map<String, Value>, section: &str, field: &str) -> Option<&'a str> {
    content
        .get(section)?
        .get(field)?
        .as_str()
        .filter(|text| !text.trim().is_empty())
}

/// govsync's entries in the card (`custom_details.govsync_*`).
pub fn govsync_entries(content: &Map<String, Value>) -> BTreeMap<String, String> {
    content
        .get("additional_information")
        .and_then(|info| info.get("custom_details"))
        .and_then(Value::as_object)
        .map(|details| {
            details
                .iter()
                .filter(|(key, _)| key.starts_with(ENTRY_PREFIX))
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Sets a schema field govsync fills, unless a data scientist wrote a value of their own there.
/// `previous` is what govsync's entry says it wrote before; `wanted` what governance says now.
fn fill(
    content: &mut Map<String, Value>,
    (section_name, field): (&str, &str),
    previous: Option<&str>,
    wanted: Option<&str>,
) {
    let current = text_at(content, section_name, field).map(str::to_owned);
    let ours = match (&current, previous) {
        (None, _) => true,
        (Some(current), Some(previous)) => current == previous,
        (Some(_), None) => false,
    };
    if !ours {
        return;
    }
    match wanted {
        Some(wanted) => {
            section(content, section_name).insert(field.to_owned(), Value::from(wanted));
        }
        None if current.is_some() => {
            section(content, section_name).remove(field);
        }
        None => {}
    }
}

fn finish(
    card: Option<&PackageCard>,
    before: &Map<String, Value>,
    after: Map<String, Value>,
) -> CardDecision {
    if &after == before && card.is_some() {
        return CardDecision::Unchanged;
    }
    let content = Value::Object(after).to_string();
    if content.chars().count() > MAX_CONTENT_CHARS {
        return CardDecision::Skip(CardSkip::TooLong);
    }
    let status = card
        .and_then(|card| card.status.clone())
        .filter(|status| !status.trim().is_empty())
        .unwrap_or_else(|| DRAFT.to_owned());
    CardDecision::Write(CardWrite { content, status })
}

fn readable(card: Option<&PackageCard>) -> Result<Map<String, Value>, CardSkip> {
    if card.is_some_and(PackageCard::is_archived) {
        return Err(CardSkip::Archived);
    }
    content_object(card).ok_or(CardSkip::Unreadable)
}

fn set_entries(content: &mut Map<String, Value>, wanted: &[(&'static str, Option<&str>)]) {
    let info = section(content, "additional_information");
    let details = info
        .entry("custom_details".to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !details.is_object() {
        *details = Value::Object(Map::new());
    }
    let details = details.as_object_mut().expect("made an object above");
    for (key, value) in wanted {
        match value.map(str::trim).filter(|value| !value.is_empty()) {
            Some(value) => {
                details.insert(
                    (*key).to_owned(),
                    Value::from(truncated(value, MAX_DETAIL_CHARS)),
                );
            }
            None => {
                details.remove(*key);
            }
        }
    }
}

/// F2/F3 and the reconciler's repair: the card with every governance fact merged in.
pub fn merge(card: Option<&PackageCard>, facts: &CardFacts) -> CardDecision {
    let before = match readable(card) {
        Ok(content) => content,
        Err(skip) => return CardDecision::Skip(skip),
    };
    let previous = govsync_entries(&before);
    let mut after = before.clone();
    let previous_rating = previous
        .get(entries::RISK_LEVEL)
        .map(|level| risk_rating(Some(level)));
    // A risk rating govsync wrote while governance had no level is "Unknown" with no entry behind it.
    let previous_rating = previous_rating.or_else(|| {
        previous
            .contains_key(entries::USE_CASE_ID)
            .then_some("Unknown")
    });
    fill(
        &mut after,
        ("intended_uses", "risk_rating"),
        previous_rating,
        Some(risk_rating(facts.risk_level.as_deref())),
    );
    let entity = truncated(&facts.business_entity, MAX_DETAIL_CHARS);
    fill(
        &mut after,
        ("business_details", "line_of_business"),
        previous.get(entries::BUSINESS_ENTITY).map(String::as_str),
        Some(entity.as_str()).filter(|text| !text.trim().is_empty()),
    );
    // Cut as its entry is, so the entry keeps saying what govsync wrote.
    let owners = facts
        .owners
        .as_deref()
        .map(|owners| truncated(owners, MAX_DETAIL_CHARS));
    fill(
        &mut after,
        ("business_details", "business_stakeholders"),
        previous.get(entries::OWNERS).map(String::as_str),
        owners.as_deref().filter(|text| !text.trim().is_empty()),
    );
    set_entries(&mut after, &facts.entries());
    finish(card, &before, after)
}

/// F4: only the governance status entry, after govsync applied that status to the package. A card
/// govsync never wrote to is left for F2's full merge.
pub fn with_governance_status(card: Option<&PackageCard>, status: &str) -> CardDecision {
    let before = match readable(card) {
        Ok(content) => content,
        Err(skip) => return CardDecision::Skip(skip),
    };
    if !govsync_entries(&before).contains_key(entries::USE_CASE_ID) {
        return CardDecision::Unchanged;
    }
    let mut after = before.clone();
    set_entries(&mut after, &[(entries::GOVERNANCE_STATUS, Some(status))]);
    finish(card, &before, after)
}

/// The reconciler's check: which of `expected` (entry, governance's value) the card does not hold.
/// `None` values are not checked (the reconciler does not know them). A card without govsync's
/// entries at all is reported as such.
pub fn drifted_entries(
    card: Option<&PackageCard>,
    expected: &[(&'static str, Option<&str>)],
) -> Vec<&'static str> {
    let Some(content) = content_object(card) else {
        return vec!["content"];
    };
    let held = govsync_entries(&content);
    if held.is_empty() {
        return vec!["all"];
    }
    expected
        .iter()
        .filter_map(|(key, wanted)| {
            let wanted = truncated(wanted.as_ref()?.trim(), MAX_DETAIL_CHARS);
            (held.get(*key).map(String::as_str) != Some(wanted.as_str())).then_some(*key)
        })
        .collect()
}

#[cfg(test)]
mod tests;
