//! The model package model card schema and a validator for the part of JSON Schema draft-07 it uses.
//!
//! `ModelCardContent` on Create/UpdateModelPackage "must follow the schema described in Model Package Model
//! Card Schema" (API reference, `ModelPackageModelCard`). The schema is vendored at
//! `schema/model-package-card-0.1.0.json` (its sources in `schema/README.md`) and read from there, so the
//! file, not this code, says what a card may hold. The validator knows only the keywords that file uses; the
//! file is audited against that list once, and a unit test keeps the two in step.

use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::{Map, Value};

mod pattern;
use pattern::Pattern;

const SCHEMA_TEXT: &str = include_str!("../schema/model-package-card-0.1.0.json");

/// Keywords the validator understands; annotations among them are ignored.
const KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "$comment",
    "$ref",
    "definitions",
    "type",
    "enum",
    "properties",
    "additionalProperties",
    "required",
    "propertyNames",
    "minLength",
    "maxLength",
    "pattern",
    "maxItems",
    "items",
];

const TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// `$ref` chains and nesting deeper than this are a schema bug (a cycle), not a card problem.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The content breaks the schema: where (a JSON path such as `$.intended_uses.risk_rating`) and how.
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
    /// The vendored schema uses something this validator does not understand: an emulator bug.
    #[error("the emulator's vendored model card schema is unusable: {0}")]
    Schema(String),
}

fn invalid(path: &str, problem: impl Into<String>) -> CardError {
    CardError::Invalid {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

fn schema_error(problem: impl Into<String>) -> CardError {
    CardError::Schema(problem.into())
}

/// The vendored schema, parsed and audited once.
fn schema() -> Result<&'static Value, CardError> {
    static SCHEMA: OnceLock<Result<Value, CardError>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let schema: Value = serde_json::from_str(SCHEMA_TEXT)
                .map_err(|error| schema_error(format!("not JSON: {error}")))?;
            audit(&schema, &schema, 0)?;
            Ok(schema)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Checks `ModelCardContent`: a JSON document that follows the model package card schema.
pub fn check_content(content: &str) -> Result<(), CardError> {
    let card: Value = serde_json::from_str(content)
        .map_err(|error| invalid("$", format!("not valid JSON ({error})")))?;
    let schema = schema()?;
    check(schema, schema, &card, "$", 0)
}

/// Walks a schema: every keyword known, every `$ref` resolvable, every pattern supported.
fn audit(root: &Value, schema: &Value, depth: usize) -> Result<(), CardError> {
    if depth > MAX_DEPTH {
        return Err(schema_error("nested too deeply (a $ref cycle?)"));
    }
    let fields = match schema {
        Value::Bool(_) => return Ok(()),
        Value::Object(fields) => fields,
        other => {
            return Err(schema_error(format!(
                "a schema must be an object, got {other}"
            )));
        }
    };
    if let Some(unknown) = fields.keys().find(|key| !KEYWORDS.contains(&key.as_str())) {
        return Err(schema_error(format!("unsupported keyword {unknown:?}")));
    }
    if let Some(reference) = fields.get("$ref") {
        audit(root, resolve(root, reference)?, depth + 1)?;
    }
    for keyword in ["definitions", "properties"] {
        if let Some(members) = fields.get(keyword) {
            let members = members
                .as_object()
                .ok_or_else(|| schema_error(format!("{keyword} must be an object")))?;
            for member in members.values() {
                audit(root, member, depth + 1)?;
            }
        }
    }
    for keyword in ["additionalProperties", "items", "propertyNames"] {
        if let Some(sub) = fields.get(keyword) {
            audit(root, sub, depth + 1)?;
        }
    }
    if let Some(kind) = fields.get("type") {
        let kinds = type_names(kind)?;
        if let Some(bad) = kinds.iter().find(|kind| !TYPES.contains(kind)) {
            return Err(schema_error(format!("unknown type {bad:?}")));
        }
    }
    for keyword in ["minLength", "maxLength", "maxItems"] {
        if let Some(limit) = fields.get(keyword) {
            limit
                .as_u64()
                .ok_or_else(|| schema_error(format!("{keyword} must be a non-negative integer")))?;
        }
    }
    if let Some(pattern) = fields.get("pattern") {
        let text = pattern
            .as_str()
            .ok_or_else(|| schema_error("pattern must be a string"))?;
        Pattern::parse(text)?;
    }
    if let Some(required) = fields.get("required")
        && !required
            .as_array()
            .is_some_and(|names| names.iter().all(Value::is_string))
    {
        return Err(schema_error("required must be a list of names"));
    }
    if let Some(values) = fields.get("enum")
        && !values.is_array()
    {
        return Err(schema_error("enum must be a list"));
    }
    Ok(())
}

/// A local reference, `#/definitions/<name>` (or any JSON pointer into the schema).
fn resolve<'s>(root: &'s Value, reference: &Value) -> Result<&'s Value, CardError> {
    reference
        .as_str()
        .and_then(|text| text.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .ok_or_else(|| schema_error(format!("cannot resolve $ref {reference}")))
}

fn type_names(kind: &Value) -> Result<Vec<&str>, CardError> {
    match kind {
        Value::String(name) => Ok(vec![name.as_str()]),
        Value::Array(names) => names
            .iter()
            .map(|name| {
                name.as_str()
                    .ok_or_else(|| schema_error("type lists must hold names"))
            })
            .collect(),
        _ => Err(schema_error("type must be a name or a list of names")),
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        // Draft-07: an integer is any number with a zero fraction (1.0 included).
        "integer" => value
            .as_f64()
            .is_some_and(|n| n.fract() == 0.0 && n.is_finite()),
        other => type_of(value) == other,
    }
}

fn article(kind: &str) -> &'static str {
    match kind {
        "object" | "array" | "integer" => "an",
        _ => "a",
    }
}

/// `$.a.b`, `$.a["odd key"]`: dotted where the key is a plain identifier.
fn child_path(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(text) if text.chars().count() > 60 => {
            format!("\"{}…\"", text.chars().take(60).collect::<String>())
        }
        other => other.to_string(),
    }
}

fn limit(fields: &Map<String, Value>, keyword: &str) -> Option<usize> {
    fields
        .get(keyword)
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Checks `value` (at `path`) against `schema`; the first violation, in document order, wins.
fn check(
    root: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    depth: usize,
) -> Result<(), CardError> {
    if depth > MAX_DEPTH {
        return Err(schema_error("nested too deeply (a $ref cycle?)"));
    }
    let fields = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return Err(invalid(path, "no value is allowed here")),
        Value::Object(fields) => fields,
        _ => return Err(schema_error("a schema must be an object")),
    };
    // Draft-07: `$ref` replaces the schema it sits in.
    if let Some(reference) = fields.get("$ref") {
        return check(root, resolve(root, reference)?, value, path, depth + 1);
    }
    if let Some(kind) = fields.get("type") {
        let kinds = type_names(kind)?;
        if !kinds.iter().any(|kind| has_type(value, kind)) {
            let wanted = kinds
                .iter()
                .map(|kind| format!("{} {kind}", article(kind)))
                .collect::<Vec<_>>()
                .join(" or ");
            let got = type_of(value);
            return Err(invalid(
                path,
                format!("expected {wanted}, got {} {got}", article(got)),
            ));
        }
    }
    if let Some(Value::Array(allowed)) = fields.get("enum")
        && !allowed.contains(value)
    {
        let listed = allowed
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(invalid(
            path,
            format!("{} is not one of: {listed}", shown(value)),
        ));
    }
    match value {
        Value::String(text) => check_string(fields, text, path),
        Value::Array(items) => check_array(root, fields, items, path, depth),
        Value::Object(members) => check_object(root, fields, members, path, depth),
        _ => Ok(()),
    }
}

fn check_string(fields: &Map<String, Value>, text: &str, path: &str) -> Result<(), CardError> {
    // JSON Schema counts characters (code points), not bytes.
    let length = text.chars().count();
    if let Some(max) = limit(fields, "maxLength")
        && length > max
    {
        return Err(invalid(
            path,
            format!("is {length} characters long; at most {max} are allowed"),
        ));
    }
    if let Some(min) = limit(fields, "minLength")
        && length < min
    {
        return Err(invalid(
            path,
            format!("is {length} characters long; at least {min} are required"),
        ));
    }
    if let Some(Value::String(pattern)) = fields.get("pattern")
        && !Pattern::parse(pattern)?.is_match(text)
    {
        return Err(invalid(
            path,
            format!(
                "{} does not match the pattern {pattern}",
                shown(&Value::String(text.to_owned()))
            ),
        ));
    }
    Ok(())
}

fn check_array(
    root: &Value,
    fields: &Map<String, Value>,
    items: &[Value],
    path: &str,
    depth: usize,
) -> Result<(), CardError> {
    if let Some(max) = limit(fields, "maxItems")
        && items.len() > max
    {
        return Err(invalid(
            path,
            format!("has {} items; at most {max} are allowed", items.len()),
        ));
    }
    if let Some(item_schema) = fields.get("items") {
        for (index, item) in items.iter().enumerate() {
            check(
                root,
                item_schema,
                item,
                &format!("{path}[{index}]"),
                depth + 1,
            )?;
        }
    }
    Ok(())
}

fn check_object(
    root: &Value,
    fields: &Map<String, Value>,
    members: &Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), CardError> {
    if let Some(Value::Array(required)) = fields.get("required")
        && let Some(missing) = required
            .iter()
            .filter_map(Value::as_str)
            .find(|name| !members.contains_key(*name))
    {
        return Err(invalid(
            path,
            format!("the required member {missing:?} is missing"),
        ));
    }
    let properties = fields.get("properties").and_then(Value::as_object);
    for (key, member) in members {
        let member_path = child_path(path, key);
        if let Some(names) = fields.get("propertyNames") {
            check(
                root,
                names,
                &Value::String(key.clone()),
                &member_path,
                depth + 1,
            )
            .map_err(|error| match error {
                CardError::Invalid { path, problem } => CardError::Invalid {
                    path,
                    problem: format!("member name: {problem}"),
                },
                other => other,
            })?;
        }
        match (
            properties.and_then(|known| known.get(key)),
            fields.get("additionalProperties"),
        ) {
            (Some(member_schema), _) => {
                check(root, member_schema, member, &member_path, depth + 1)?
            }
            (None, Some(Value::Bool(false))) => {
                let mut problem =
                    format!("{key:?} is not a member the model package card schema allows here");
                if let Some(known) = properties {
                    let _ = write!(
                        problem,
                        " (allowed: {})",
                        known.keys().cloned().collect::<Vec<_>>().join(", ")
                    );
                }
                return Err(invalid(&member_path, problem));
            }
            (None, Some(extra)) => check(root, extra, member, &member_path, depth + 1)?,
            (None, None) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
