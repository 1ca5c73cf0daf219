//! Endpoint configurations and endpoints: Create/Describe/DeleteEndpointConfig, Create/Describe/
//! DeleteEndpoint and ListEndpoints (sources and simplifications in the parent module).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::input::{kept_members, role_arn, variants};
use super::{Endpoint, EndpointConfig, Kind, ServedImage, already_exists, hosting_arn, not_found};
use crate::error::ApiError;
use crate::events;
use crate::registry::{
    CallContext, Operation, Outcome, Registries, api_call, parse_input, sort_order, wire,
};
use crate::validate::{self, Tag, abbreviate, constraint};
use crate::wire::{epoch_seconds, sortable_millis};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateEndpointConfigInput {
    endpoint_config_name: Option<String>,
    kms_key_id: Option<String>,
    execution_role_arn: Option<String>,
    tags: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointConfigNameInput {
    endpoint_config_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateEndpointInput {
    endpoint_name: Option<String>,
    endpoint_config_name: Option<String>,
    tags: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointNameInput {
    endpoint_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListEndpointsInput {
    sort_by: Option<String>,
    sort_order: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    name_contains: Option<String>,
    creation_time_before: Option<Value>,
    creation_time_after: Option<Value>,
    last_modified_time_before: Option<Value>,
    last_modified_time_after: Option<Value>,
    status_equals: Option<String>,
}

/// `EndpointStatus` (botocore enum).
const ENDPOINT_STATUSES: &[&str] = &[
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
];

/// A variant's `ProductionVariantSummary` (each image's `ResolutionTime` is stamped by [`restamp`]).
fn summary_of(variant: &Map<String, Value>, images: &[ServedImage]) -> Value {
    let weight = variant
        .get("InitialVariantWeight")
        .cloned()
        .unwrap_or(json!(1.0));
    let deployed: Vec<Value> = images
        .iter()
        .map(|image| {
            let mut out = Map::new();
            out.insert("SpecifiedImage".into(), json!(image.specified));
            if let Some(resolved) = &image.resolved {
                out.insert("ResolvedImage".into(), json!(resolved));
            }
            Value::Object(out)
        })
        .collect();
    let mut out = Map::new();
    out.insert(
        "VariantName".into(),
        variant.get("VariantName").cloned().unwrap_or(Value::Null),
    );
    out.insert("DeployedImages".into(), Value::Array(deployed));
    out.insert("CurrentWeight".into(), weight.clone());
    out.insert("DesiredWeight".into(), weight);
    match variant.get("ServerlessConfig") {
        Some(config) if !config.is_null() => {
            out.insert("CurrentServerlessConfig".into(), config.clone());
            out.insert("DesiredServerlessConfig".into(), config.clone());
        }
        _ => {
            let count = variant
                .get("InitialInstanceCount")
                .cloned()
                .unwrap_or(Value::Null);
            out.insert("CurrentInstanceCount".into(), count.clone());
            out.insert("DesiredInstanceCount".into(), count);
        }
    }
    Value::Object(out)
}

impl Registries {
    pub(in crate::registry) fn create_endpoint_config(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: CreateEndpointConfigInput = parse_input(raw)?;
        let name = validate::required(input.endpoint_config_name, "endpointConfigName")?;
        validate::entity_name(&name, "endpointConfigName")?;
        let mut names = Vec::new();
        let production = validate::required(
            variants(raw, "ProductionVariants", &mut names)?,
            "productionVariants",
        )?;
        let shadow = variants(raw, "ShadowProductionVariants", &mut names)?;
        // "If you use this field, you can only specify one variant for ProductionVariants and one
        // variant for ShadowProductionVariants."
        if let Some(shadow) = &shadow
            && (production.len() != 1 || shadow.len() != 1)
        {
            return Err(ApiError::Validation(
                "With ShadowProductionVariants, ProductionVariants and ShadowProductionVariants may hold only one variant each.".into(),
            ));
        }
        if let Some(key) = &input.kms_key_id {
            validate::max_len(key, "kmsKeyId", 2048)?;
            if !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b))
            {
                return Err(constraint(
                    &abbreviate(key),
                    "kmsKeyId",
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9:/_-]*",
                ));
            }
        }
        if let Some(role) = &input.execution_role_arn {
            role_arn(role, "executionRoleArn")?;
        }
        let tags = input.tags.unwrap_or_default();
        validate::tags(&tags)?;

        let account = ctx.caller.account.clone();
        let arn = hosting_arn(Kind::EndpointConfig, &ctx.region, &account, &name);
        let key = name.to_ascii_lowercase();
        let region = ctx.region.clone();
        let hosting = self.hosting(ctx);
        if hosting.configs.contains_key(&key) {
            return Err(already_exists(&arn, Kind::EndpointConfig));
        }
        for variant in production.iter().chain(shadow.iter().flatten()) {
            let model = variant
                .get("ModelName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !hosting.models.contains_key(&model.to_ascii_lowercase()) {
                return Err(not_found(
                    &hosting_arn(Kind::Model, &region, &account, model),
                    Kind::Model,
                ));
            }
        }
        let kept = kept_members(
            raw,
            &[
                "DataCaptureConfig",
                "KmsKeyId",
                "AsyncInferenceConfig",
                "ExplainerConfig",
                "ExecutionRoleArn",
                "VpcConfig",
                "EnableNetworkIsolation",
            ],
        );
        let time = self.tick();
        self.hosting(ctx).configs.insert(
            key,
            EndpointConfig {
                name,
                arn: arn.clone(),
                creation_time: time,
                variants: production,
                shadow_variants: shadow,
                kept,
                tags,
            },
        );
        let call = api_call(ctx, Operation::CreateEndpointConfig, time, raw);
        Ok(Outcome {
            response: json!({ "EndpointConfigArn": arn }),
            events: vec![events::cloudtrail(
                &call,
                Ok(Some(json!({ "endpointConfigArn": arn }))),
            )],
        })
    }

    fn config_named(
        &mut self,
        ctx: &CallContext,
        name: Option<String>,
        field: &str,
    ) -> Result<(String, String), ApiError> {
        let name = validate::required(name, field)?;
        validate::entity_name(&name, field)?;
        let arn = hosting_arn(
            Kind::EndpointConfig,
            &ctx.region,
            &ctx.caller.account,
            &name,
        );
        let key = name.to_ascii_lowercase();
        if !self.hosting(ctx).configs.contains_key(&key) {
            return Err(not_found(&arn, Kind::EndpointConfig));
        }
        Ok((key, arn))
    }

    pub(in crate::registry) fn describe_endpoint_config(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: EndpointConfigNameInput = parse_input(raw)?;
        let (key, arn) =
            self.config_named(ctx, input.endpoint_config_name, "endpointConfigName")?;
        let config = self
            .hosting(ctx)
            .configs
            .get(&key)
            .ok_or_else(|| not_found(&arn, Kind::EndpointConfig))?;
        let mut out = Map::new();
        out.insert("EndpointConfigName".into(), json!(config.name));
        out.insert("EndpointConfigArn".into(), json!(config.arn));
        out.insert("ProductionVariants".into(), json!(config.variants));
        if let Some(shadow) = &config.shadow_variants {
            out.insert("ShadowProductionVariants".into(), json!(shadow));
        }
        out.extend(config.kept.clone());
        out.insert("CreationTime".into(), epoch_seconds(config.creation_time));
        Ok(Outcome::quiet(Value::Object(out)))
    }

    pub(in crate::registry) fn delete_endpoint_config(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: EndpointConfigNameInput = parse_input(raw)?;
        let (key, _) = self.config_named(ctx, input.endpoint_config_name, "endpointConfigName")?;
        // An endpoint created from it keeps serving and describing (API reference, DeleteEndpointConfig:
        // deleting an endpoint's configuration loses only visibility into it).
        self.hosting(ctx).configs.remove(&key);
        let time = self.tick();
        let call = api_call(ctx, Operation::DeleteEndpointConfig, time, raw);
        Ok(Outcome {
            response: json!({}),
            events: vec![events::cloudtrail(&call, Ok(None))],
        })
    }

    pub(in crate::registry) fn create_endpoint(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: CreateEndpointInput = parse_input(raw)?;
        let name = validate::required(input.endpoint_name, "endpointName")?;
        validate::entity_name(&name, "endpointName")?;
        let config_name = validate::required(input.endpoint_config_name, "endpointConfigName")?;
        validate::entity_name(&config_name, "endpointConfigName")?;
        let tags = input.tags.unwrap_or_default();
        validate::tags(&tags)?;

        let account = ctx.caller.account.clone();
        let region = ctx.region.clone();
        let arn = hosting_arn(Kind::Endpoint, &region, &account, &name);
        let key = name.to_ascii_lowercase();
        let hosting = self.hosting(ctx);
        if hosting.endpoints.contains_key(&key) {
            return Err(already_exists(&arn, Kind::Endpoint));
        }
        let config = hosting
            .configs
            .get(&config_name.to_ascii_lowercase())
            .ok_or_else(|| {
                not_found(
                    &hosting_arn(Kind::EndpointConfig, &region, &account, &config_name),
                    Kind::EndpointConfig,
                )
            })?;
        // A model deleted since the configuration was made cannot be deployed. SageMaker reports it
        // when the deployment fails; with no deployment to wait for, the emulator refuses at once.
        let summaries = |variants: &[Map<String, Value>]| {
            variants
                .iter()
                .map(|variant| {
                    let model = variant
                        .get("ModelName")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    hosting
                        .models
                        .get(&model.to_ascii_lowercase())
                        .map(|found| summary_of(variant, &found.images))
                        .ok_or_else(|| {
                            not_found(
                                &hosting_arn(Kind::Model, &region, &account, model),
                                Kind::Model,
                            )
                        })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        };
        let variants = summaries(&config.variants)?;
        let shadow_variants = config
            .shadow_variants
            .as_deref()
            .map(summaries)
            .transpose()?;
        let config_name = config.name.clone();
        let time = self.tick();
        let variants = restamp(variants, time);
        let shadow_variants = shadow_variants.map(|v| restamp(v, time));
        self.hosting(ctx).endpoints.insert(
            key,
            Endpoint {
                name,
                arn: arn.clone(),
                config_name,
                creation_time: time,
                last_modified_time: time,
                status: "InService",
                variants,
                shadow_variants,
                tags,
            },
        );
        let call = api_call(ctx, Operation::CreateEndpoint, time, raw);
        Ok(Outcome {
            response: json!({ "EndpointArn": arn }),
            events: vec![events::cloudtrail(
                &call,
                Ok(Some(json!({ "endpointArn": arn }))),
            )],
        })
    }

    fn endpoint_named(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<(String, String), ApiError> {
        let input: EndpointNameInput = parse_input(raw)?;
        let name = validate::required(input.endpoint_name, "endpointName")?;
        validate::entity_name(&name, "endpointName")?;
        let arn = hosting_arn(Kind::Endpoint, &ctx.region, &ctx.caller.account, &name);
        let key = name.to_ascii_lowercase();
        if !self.hosting(ctx).endpoints.contains_key(&key) {
            return Err(not_found(&arn, Kind::Endpoint));
        }
        Ok((key, arn))
    }

    pub(in crate::registry) fn describe_endpoint(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let (key, arn) = self.endpoint_named(ctx, raw)?;
        let endpoint = self
            .hosting(ctx)
            .endpoints
            .get(&key)
            .ok_or_else(|| not_found(&arn, Kind::Endpoint))?;
        let mut out = Map::new();
        out.insert("EndpointName".into(), json!(endpoint.name));
        out.insert("EndpointArn".into(), json!(endpoint.arn));
        out.insert("EndpointConfigName".into(), json!(endpoint.config_name));
        out.insert("ProductionVariants".into(), json!(endpoint.variants));
        if let Some(shadow) = &endpoint.shadow_variants {
            out.insert("ShadowProductionVariants".into(), json!(shadow));
        }
        out.insert("EndpointStatus".into(), json!(endpoint.status));
        out.insert("CreationTime".into(), epoch_seconds(endpoint.creation_time));
        out.insert(
            "LastModifiedTime".into(),
            epoch_seconds(endpoint.last_modified_time),
        );
        Ok(Outcome::quiet(Value::Object(out)))
    }

    pub(in crate::registry) fn delete_endpoint(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let (key, _) = self.endpoint_named(ctx, raw)?;
        self.hosting(ctx).endpoints.remove(&key);
        let time = self.tick();
        let call = api_call(ctx, Operation::DeleteEndpoint, time, raw);
        Ok(Outcome {
            response: json!({}),
            events: vec![events::cloudtrail(&call, Ok(None))],
        })
    }

    /// ListEndpoints: `MaxResults` 1–100 (default 10), `SortBy` Name | CreationTime (default) | Status,
    /// `SortOrder` default Descending, `NameContains` `[a-zA-Z0-9-]+` ≤ 63, `StatusEquals`, and the time
    /// filters ("CreationTimeAfter … greater than or equal to", the others strict).
    pub(in crate::registry) fn list_endpoints(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: ListEndpointsInput = parse_input(raw)?;
        let max = wire::max_results(input.max_results, 1, 100)?;
        let descending = match input.sort_order.as_deref() {
            None => true,
            other => sort_order(other)?,
        };
        let sort_by = input.sort_by.as_deref().unwrap_or("CreationTime");
        validate::one_of(sort_by, "sortBy", &["Name", "CreationTime", "Status"])?;
        if let Some(status) = &input.status_equals {
            validate::one_of(status, "statusEquals", ENDPOINT_STATUSES)?;
        }
        let needle = match &input.name_contains {
            None => String::new(),
            Some(text) => {
                validate::max_len(text, "nameContains", 63)?;
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(constraint(
                        text,
                        "nameContains",
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+",
                    ));
                }
                text.to_ascii_lowercase()
            }
        };
        let time = |field: &str, value: &Option<Value>| {
            value
                .as_ref()
                .map(|v| wire::parse_timestamp(field, v))
                .transpose()
        };
        let created_after = time("CreationTimeAfter", &input.creation_time_after)?;
        let created_before = time("CreationTimeBefore", &input.creation_time_before)?;
        let modified_after = time("LastModifiedTimeAfter", &input.last_modified_time_after)?;
        let modified_before = time("LastModifiedTimeBefore", &input.last_modified_time_before)?;
        let sort_key = sort_by.to_owned();
        let cursor = move |(key, endpoint): &(String, Endpoint)| {
            let created = sortable_millis(endpoint.creation_time);
            match sort_key.as_str() {
                "Name" => format!("{key} {created}"),
                "Status" => format!("{} {created} {key}", endpoint.status),
                _ => format!("{created} {key}"),
            }
        };
        let mut endpoints: Vec<(String, Endpoint)> = self
            .hosting(ctx)
            .endpoints
            .iter()
            .filter(|(key, endpoint)| {
                key.contains(&needle)
                    && input
                        .status_equals
                        .as_deref()
                        .is_none_or(|status| status == endpoint.status)
                    && created_after.is_none_or(|t| endpoint.creation_time >= t)
                    && created_before.is_none_or(|t| endpoint.creation_time < t)
                    && modified_after.is_none_or(|t| endpoint.last_modified_time > t)
                    && modified_before.is_none_or(|t| endpoint.last_modified_time < t)
            })
            .map(|(key, endpoint)| (key.clone(), endpoint.clone()))
            .collect();
        endpoints.sort_by_key(&cursor);
        if descending {
            endpoints.reverse();
        }
        let (page, token) = wire::page(
            endpoints,
            cursor,
            descending,
            input.next_token.as_deref(),
            max,
        )?;
        let mut out = Map::new();
        out.insert(
            "Endpoints".into(),
            Value::Array(page.iter().map(|(_, e)| e.summary()).collect()),
        );
        if let Some(token) = token {
            out.insert("NextToken".into(), json!(token));
        }
        Ok(Outcome::quiet(Value::Object(out)))
    }
}

/// Stamps each deployed image's `ResolutionTime` with the endpoint's creation time (when the emulator
/// "resolved" the image).
fn restamp(variants: Vec<Value>, time: DateTime<Utc>) -> Vec<Value> {
    variants
        .into_iter()
        .map(|mut variant| {
            if let Some(Value::Array(images)) = variant.get_mut("DeployedImages") {
                for image in images.iter_mut() {
                    if let Value::Object(fields) = image {
                        fields.insert("ResolutionTime".into(), epoch_seconds(time));
                    }
                }
            }
            variant
        })
        .collect()
}
