//! A JSON Schema check for the tests: the keywords govsync's published schemas use (`type`, with
//! unions; `required`; `properties`; `additionalProperties: false`; `enum`; `minLength`,
//! `maxLength`; `minimum`; `items`; `$defs` with local `$ref`s `#/$defs/<name>`; `pattern` as an anchored literal-or-class check is NOT interpreted: patterns are
//! left to the Python `jsonschema` check in `local/tests/`). Any other keyword fails the check, so a
//! schema never silently gains a rule this does not test.

use serde_json::Value;

/// `Ok` when `value` holds to `schema`, else the first violation with its JSON path.
pub fn check(schema: &Value, value: &Value) -> Result<(), String> {
    check_at(schema, schema, value, "$")
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check_at(root: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(rules) = schema.as_object() else {
        return Err(format!("{path}: the schema is not an object"));
    };
    for (keyword, rule) in rules {
        match keyword.as_str() {
            "$schema" | "$id" | "title" | "description" | "pattern" | "format" | "$defs" => {}
            "$ref" => {
                let target = rule
                    .as_str()
                    .and_then(|reference| reference.strip_prefix("#/$defs/"))
                    .and_then(|name| root.get("$defs")?.get(name))
                    .ok_or_else(|| format!("{path}: unresolved $ref {rule}"))?;
                check_at(root, target, value, path)?;
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (index, item) in items.iter().enumerate() {
                        check_at(root, rule, item, &format!("{path}[{index}]"))?;
                    }
                }
            }
            "minimum" => {
                if let (Some(number), Some(limit)) = (value.as_f64(), rule.as_f64())
                    && number < limit
                {
                    return Err(format!("{path}: {number} is below the minimum {limit}"));
                }
            }
            "type" => {
                let names: Vec<&str> = match rule {
                    Value::String(name) => vec![name.as_str()],
                    Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{path}: bad type rule")),
                };
                if !names.iter().any(|name| type_matches(name, value)) {
                    return Err(format!("{path}: {value} is not of type {names:?}"));
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for name in rule
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !object.contains_key(name) {
                            return Err(format!("{path}: {name} is required"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(object), Some(properties)) = (value.as_object(), rule.as_object()) {
                    for (name, member) in object {
                        if let Some(member_schema) = properties.get(name) {
                            check_at(root, member_schema, member, &format!("{path}.{name}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if rule == &Value::Bool(false)
                    && let Some(object) = value.as_object()
                {
                    let known = rules.get("properties").and_then(Value::as_object);
                    if let Some(extra) = object
                        .keys()
                        .find(|name| !known.is_some_and(|known| known.contains_key(*name)))
                    {
                        return Err(format!("{path}: {extra} is not allowed"));
                    }
                }
            }
            "enum" => {
                if !rule
                    .as_array()
                    .is_some_and(|allowed| allowed.contains(value))
                {
                    return Err(format!("{path}: {value} is not one of {rule}"));
                }
            }
            "minLength" | "maxLength" => {
                if let (Some(text), Some(limit)) = (value.as_str(), rule.as_u64()) {
                    let length = text.chars().count() as u64;
                    let ok = if keyword == "minLength" {
                        length >= limit
                    } else {
                        length <= limit
                    };
                    if !ok {
                        return Err(format!("{path}: length {length} breaks {keyword} {limit}"));
                    }
                }
            }
            other => return Err(format!("{path}: keyword {other} is not checked here")),
        }
    }
    Ok(())
}
