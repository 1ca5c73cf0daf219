//! Request member checks shared by the hosting calls: role ARNs, integers, production variants (instance
//! or serverless) and the members a resource keeps as sent. Sources as in the parent module.

use serde_json::{Map, Value, json};

use crate::container::{self, item_path, member_path};
use crate::error::ApiError;
use crate::validate::{self, abbreviate, constraint};

/// `ProductionVariantList`: 1–10 variants.
const MAX_VARIANTS: usize = 10;

/// `RoleArn`: 20–2048 characters, `arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`.
pub(super) fn role_arn(value: &str, field: &str) -> Result<(), ApiError> {
    let valid = (20..=2048).contains(&value.len())
        && value
            .strip_prefix("arn:aws")
            .and_then(|rest| rest.split_once(":iam::"))
            .filter(|(partition, _)| {
                partition
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-')
            })
            .and_then(|(_, rest)| rest.split_once(":role"))
            .is_some_and(|(account, path)| {
                let path = path.strip_prefix('/').unwrap_or(path);
                account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && !path.is_empty()
                    && path
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
            });
    if !valid {
        return Err(constraint(
            &abbreviate(value),
            field,
            "Member must satisfy regular expression pattern: arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        ));
    }
    Ok(())
}

/// An integer member (a JSON number without fraction), `None` when absent.
fn integer(
    object: &Map<String, Value>,
    member: &str,
    parent: &str,
) -> Result<Option<i64>, ApiError> {
    match object.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_i64().map(Some).ok_or_else(|| {
            ApiError::Serialization(format!(
                "Cannot deserialize the request: '{}' must be an integer",
                member_path(parent, member)
            ))
        }),
    }
}

/// `ProductionVariantServerlessConfig`: `MemorySizeInMB` 1024–6144 "in 1 GB increments" and
/// `MaxConcurrency` 1–200, both required; `ProvisionedConcurrency` 1–200, "less than or equal to
/// MaxConcurrency".
fn serverless_config(config: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    let memory_field = member_path(field, "MemorySizeInMB");
    let memory = validate::required(integer(config, "MemorySizeInMB", field)?, &memory_field)?;
    validate::in_range(memory, &memory_field, 1024, 6144)?;
    if memory % 1024 != 0 {
        return Err(constraint(
            &memory.to_string(),
            &memory_field,
            "Member must be one of 1024, 2048, 3072, 4096, 5120, 6144",
        ));
    }
    let concurrency_field = member_path(field, "MaxConcurrency");
    let concurrency = validate::required(
        integer(config, "MaxConcurrency", field)?,
        &concurrency_field,
    )?;
    validate::in_range(concurrency, &concurrency_field, 1, 200)?;
    if let Some(provisioned) = integer(config, "ProvisionedConcurrency", field)? {
        let provisioned_field = member_path(field, "ProvisionedConcurrency");
        validate::in_range(provisioned, &provisioned_field, 1, concurrency)?;
    }
    Ok(())
}

/// `ProductionVariantInstanceType`: every value of botocore's enum is `ml.<family>.<size>`; the emulator
/// checks that form rather than carrying the list of 277 types.
fn is_instance_type(value: &str) -> bool {
    let mut parts = value.split('.');
    let lower = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    parts.next() == Some("ml")
        && parts.next().is_some_and(lower)
        && parts.next().is_some_and(lower)
        && parts.next().is_none()
}

/// One `ProductionVariant`, returned as kept (weight defaulted). A variant is instance-based
/// (`InstanceType` with `InitialInstanceCount` ≥ 1) or serverless (`ServerlessConfig`), never both
/// (API reference, ProductionVariant `ServerlessConfig`: "instead of an instance-based endpoint
/// configuration"); that an instance-based variant needs a count, and a serverless one takes none, is
/// how SageMaker behaves (the messages are the emulator's).
fn variant(variant: &Map<String, Value>, field: &str) -> Result<Map<String, Value>, ApiError> {
    let name_field = member_path(field, "VariantName");
    let name = validate::required(
        container::string(variant, "VariantName", field)?,
        &name_field,
    )?;
    validate::entity_name(name, &name_field)?;
    let model_field = member_path(field, "ModelName");
    let model = validate::required(container::string(variant, "ModelName", field)?, &model_field)
        .map_err(|_| {
            ApiError::Validation(format!(
                "'{model_field}' is required: the emulator does not model inference components, so every production variant names a model."
            ))
        })?;
    validate::entity_name(model, &model_field)?;
    let instance_type = container::string(variant, "InstanceType", field)?;
    let count = integer(variant, "InitialInstanceCount", field)?;
    let serverless = container::object(variant, "ServerlessConfig", field)?;
    match (instance_type, serverless) {
        (Some(_), Some(_)) => {
            return Err(ApiError::Validation(format!(
                "The production variant at '{field}' cannot specify both InstanceType and ServerlessConfig."
            )));
        }
        (None, None) => {
            return Err(ApiError::Validation(format!(
                "The production variant at '{field}' must specify either InstanceType (with InitialInstanceCount) or ServerlessConfig."
            )));
        }
        (Some(instance_type), None) => {
            let type_field = member_path(field, "InstanceType");
            if !is_instance_type(instance_type) {
                return Err(constraint(
                    &abbreviate(instance_type),
                    &type_field,
                    "Member must satisfy enum value set: [ml.<family>.<size>, …] (ProductionVariantInstanceType)",
                ));
            }
            let count_field = member_path(field, "InitialInstanceCount");
            let count = count.ok_or_else(|| {
                ApiError::Validation(format!(
                    "'{count_field}' is required for an instance-based production variant."
                ))
            })?;
            validate::in_range(count, &count_field, 1, i64::from(i32::MAX))?;
        }
        (None, Some(config)) => {
            serverless_config(config, &member_path(field, "ServerlessConfig"))?;
            if count.is_some() {
                return Err(ApiError::Validation(format!(
                    "'{}' cannot be specified for a serverless production variant.",
                    member_path(field, "InitialInstanceCount")
                )));
            }
        }
    }
    let mut kept = variant.clone();
    match variant.get("InitialVariantWeight") {
        None | Some(Value::Null) => {
            kept.insert("InitialVariantWeight".into(), json!(1.0));
        }
        Some(weight) => {
            let weight_field = member_path(field, "InitialVariantWeight");
            let weight = weight.as_f64().ok_or_else(|| {
                ApiError::Serialization(format!(
                    "Cannot deserialize the request: '{weight_field}' must be a number"
                ))
            })?;
            if weight < 0.0 {
                return Err(constraint(
                    &weight.to_string(),
                    &weight_field,
                    "Member must have value greater than or equal to 0",
                ));
            }
            // A float member (`VariantWeight`): answered as one even when sent as `3`.
            kept.insert("InitialVariantWeight".into(), json!(weight));
        }
    }
    Ok(kept)
}

/// A `ProductionVariantList` member: 1–10 variants, each checked.
pub(super) fn variants(
    raw: &Map<String, Value>,
    member: &str,
    names: &mut Vec<String>,
) -> Result<Option<Vec<Map<String, Value>>>, ApiError> {
    let field = member_path("", member);
    let Some(items) = container::list(raw, member, "")? else {
        return Ok(None);
    };
    if items.is_empty() || items.len() > MAX_VARIANTS {
        return Err(constraint(
            &format!("{} variants", items.len()),
            &field,
            &format!("Member must have length between 1 and {MAX_VARIANTS}"),
        ));
    }
    let mut kept = Vec::with_capacity(items.len());
    for (index, item) in container::structures(items, &field)?
        .into_iter()
        .enumerate()
    {
        let checked = variant(item, &item_path(&field, index))?;
        let name = checked
            .get("VariantName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        // Variants are addressed by name (UpdateEndpointWeightsAndCapacities, invocation): unique.
        if names.contains(&name) {
            return Err(ApiError::Validation(format!(
                "The variant name '{name}' is used more than once in the endpoint configuration."
            )));
        }
        names.push(name);
        kept.push(checked);
    }
    Ok(Some(kept))
}

/// The request members a resource keeps and describes back as sent.
pub(super) fn kept_members(raw: &Map<String, Value>, members: &[&str]) -> Map<String, Value> {
    members
        .iter()
        .filter_map(|member| {
            raw.get(*member)
                .filter(|value| !value.is_null())
                .map(|value| ((*member).to_owned(), value.clone()))
        })
        .collect()
}
