//! SageMaker hosting, the part govsync's serving report needs: models (CreateModel, DescribeModel,
//! DeleteModel), endpoint configurations (Create/Describe/DeleteEndpointConfig) and endpoints
//! (Create/Describe/DeleteEndpoint, ListEndpoints), per account and region like the registry, with tags
//! through AddTags/ListTags/DeleteTags.
//!
//! Sources: the SageMaker API reference pages of these operations and of ContainerDefinition,
//! ProductionVariant, ProductionVariantServerlessConfig, ProductionVariantSummary, DeployedImage and
//! EndpointSummary; lengths, patterns, enums and defaults as botocore's service model gives them. The
//! messages for a duplicate (`Cannot create already existing model "<arn>".`) and a missing resource
//! (`Could not find endpoint "<arn>".`) are SageMaker's as its answers quote them.
//!
//! There is no real hosting, so (README "Hosting"): an endpoint is `InService` as soon as CreateEndpoint
//! answers (SageMaker answers `Creating` and gets there minutes later), a delete removes at once (no
//! `Deleting`), and an image is "resolved" only when its digest is known from the image URI or from the
//! package container's `ImageDigest` (SageMaker asks the registry; the emulator has none to ask). Inference
//! components are not modelled: every production variant names a model.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CallContext, Operation, Outcome, Registries, api_call, parse_input};
use crate::container::{self, ModelContainerSource, item_path, member_path};
use crate::error::ApiError;
use crate::events;
use crate::validate::{self, Tag, constraint};
use crate::wire::epoch_seconds;
use input::{kept_members, role_arn};

/// The three hosting resource kinds, as ARNs name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Model,
    EndpointConfig,
    Endpoint,
}

impl Kind {
    fn arn_segment(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::EndpointConfig => "endpoint-config",
            Kind::Endpoint => "endpoint",
        }
    }

    /// How SageMaker's messages name the kind.
    fn noun(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::EndpointConfig => "endpoint configuration",
            Kind::Endpoint => "endpoint",
        }
    }
}

/// `arn:aws:sagemaker:<region>:<account>:<kind>/<name lowercased>`, as SageMaker writes them.
pub fn hosting_arn(kind: Kind, region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{region}:{account}:{}/{}",
        kind.arn_segment(),
        name.to_ascii_lowercase()
    )
}

/// The hosting kind and name of an ARN's resource part (`model/<name>`, …), if it names one.
pub(super) fn resource_of(resource: &str) -> Option<(Kind, &str)> {
    let (segment, name) = resource.split_once('/')?;
    let kind = match segment {
        "model" => Kind::Model,
        "endpoint-config" => Kind::EndpointConfig,
        "endpoint" => Kind::Endpoint,
        _ => return None,
    };
    Some((kind, name))
}

fn already_exists(arn: &str, kind: Kind) -> ApiError {
    ApiError::Validation(format!(
        "Cannot create already existing {} \"{arn}\".",
        kind.noun()
    ))
}

fn not_found(arn: &str, kind: Kind) -> ApiError {
    ApiError::Validation(format!("Could not find {} \"{arn}\".", kind.noun()))
}

/// An image a variant serves: as the model names it, and its digest form when the digest is known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServedImage {
    specified: String,
    resolved: Option<String>,
}

/// `registry/repository@sha256:…` for an image: the image itself when it names a digest, else its
/// repository (without the tag) with the digest SageMaker recorded on the package container.
fn resolved_image(image: &str, digest: Option<&str>) -> Option<String> {
    if image
        .rsplit_once('@')
        .is_some_and(|(_, digest)| container::is_image_digest(digest))
    {
        return Some(image.to_owned());
    }
    let digest = digest.filter(|d| container::is_image_digest(d))?;
    // A tag follows the last path segment's `:` (a registry host may carry a `:port`).
    let segment_start = image.rfind('/').map_or(0, |slash| slash + 1);
    let repository = match image[segment_start..].find(':') {
        Some(colon) => &image[..segment_start + colon],
        None => image,
    };
    Some(format!("{repository}@{digest}"))
}

#[derive(Debug, Clone)]
struct Model {
    name: String,
    arn: String,
    creation_time: DateTime<Utc>,
    /// The request's members DescribeModel returns as they were sent.
    kept: Map<String, Value>,
    /// What each container serves, resolved when the model was created (a model copies its package's
    /// containers then).
    images: Vec<ServedImage>,
    tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
struct EndpointConfig {
    name: String,
    arn: String,
    creation_time: DateTime<Utc>,
    /// Variants as sent, `InitialVariantWeight` defaulted to 1.0 ("If unspecified, it defaults to 1.0").
    variants: Vec<Map<String, Value>>,
    shadow_variants: Option<Vec<Map<String, Value>>>,
    kept: Map<String, Value>,
    tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
struct Endpoint {
    name: String,
    arn: String,
    config_name: String,
    creation_time: DateTime<Utc>,
    last_modified_time: DateTime<Utc>,
    status: &'static str,
    /// `ProductionVariantSummary` per variant, fixed when the endpoint was created: it keeps describing
    /// what it serves after its configuration or models are deleted, as SageMaker's does.
    variants: Vec<Value>,
    shadow_variants: Option<Vec<Value>>,
    tags: Vec<Tag>,
}

impl Endpoint {
    fn summary(&self) -> Value {
        json!({
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "CreationTime": epoch_seconds(self.creation_time),
            "LastModifiedTime": epoch_seconds(self.last_modified_time),
            "EndpointStatus": self.status,
        })
    }
}

/// One registry's hosting resources, keyed by lowercased name: ARNs are lowercase, and CreateEndpoint's
/// reference says the name "is case-insensitive".
#[derive(Debug, Clone, Default)]
pub(super) struct Hosting {
    models: BTreeMap<String, Model>,
    configs: BTreeMap<String, EndpointConfig>,
    endpoints: BTreeMap<String, Endpoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateModelInput {
    model_name: Option<String>,
    execution_role_arn: Option<String>,
    tags: Option<Vec<Tag>>,
    enable_network_isolation: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModelNameInput {
    model_name: Option<String>,
}

impl Registries {
    fn hosting(&mut self, ctx: &CallContext) -> &mut Hosting {
        &mut self.registry(&ctx.caller.account, &ctx.region).hosting
    }

    /// The tag list of a model, endpoint configuration or endpoint ARN. Hosting resources have no
    /// resource policies, so another account's are refused as IAM refuses cross-account access without
    /// one; another region's do not exist here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn hosting_tags(
        &mut self,
        ctx: &CallContext,
        arn: &str,
        region: &str,
        account: &str,
        kind: Kind,
        name: &str,
        operation: Operation,
    ) -> Result<&mut Vec<Tag>, ApiError> {
        let missing = || ApiError::ResourceNotFound(format!("Resource {arn} not found."));
        if account != ctx.caller.account {
            let action = format!("sagemaker:{}", operation.name());
            return Err(ApiError::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} on resource: {arn} because no resource-based policy allows the {action} action",
                ctx.caller.arn
            )));
        }
        if region != ctx.region {
            return Err(missing());
        }
        let key = name.to_ascii_lowercase();
        let hosting = self.hosting(ctx);
        let tags = match kind {
            Kind::Model => hosting.models.get_mut(&key).map(|m| &mut m.tags),
            Kind::EndpointConfig => hosting.configs.get_mut(&key).map(|c| &mut c.tags),
            Kind::Endpoint => hosting.endpoints.get_mut(&key).map(|e| &mut e.tags),
        };
        tags.ok_or_else(missing)
    }

    /// The images a container serves. A package container resolves through the package version (read
    /// with the caller's access: another account's version needs `sagemaker:DescribeModelPackage` from
    /// its group's policy, as for DescribeModelPackage).
    fn served_images(
        &mut self,
        ctx: &CallContext,
        source: &ModelContainerSource,
        field: &str,
    ) -> Result<Vec<ServedImage>, ApiError> {
        let (name, specification) = match source {
            ModelContainerSource::Image(image) => {
                return Ok(vec![ServedImage {
                    specified: image.clone(),
                    resolved: resolved_image(image, None),
                }]);
            }
            ModelContainerSource::Package {
                name,
                specification,
            } => (name, specification),
        };
        let (_, package) = self.find_package(
            ctx,
            name,
            &member_path(field, "ModelPackageName"),
            false,
            Operation::DescribeModelPackage,
        )?;
        let spec = match specification {
            None => package.inference_specification.clone(),
            Some(wanted) => match package.passthrough.get("AdditionalInferenceSpecifications") {
                Some(Value::Array(specs)) => specs
                    .iter()
                    .find(|spec| spec.get("Name").and_then(Value::as_str) == Some(wanted))
                    .cloned(),
                _ => None,
            },
        };
        let containers = spec
            .as_ref()
            .and_then(|spec| spec.get("Containers"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ApiError::Validation(format!(
                    "Model package {} has no inference specification{} to create a model from.",
                    package.arn,
                    specification
                        .as_deref()
                        .map(|name| format!(" named {name}"))
                        .unwrap_or_default()
                ))
            })?;
        Ok(containers
            .iter()
            .filter_map(|container| {
                let image = container.get("Image").and_then(Value::as_str)?;
                let digest = container.get("ImageDigest").and_then(Value::as_str);
                Some(ServedImage {
                    specified: image.to_owned(),
                    resolved: resolved_image(image, digest),
                })
            })
            .collect())
    }

    pub(super) fn create_model(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: CreateModelInput = parse_input(raw)?;
        let name = validate::required(input.model_name, "modelName")?;
        validate::entity_name(&name, "modelName")?;
        // Optional in the API reference and botocore (CreateModel lists only ModelName as required).
        if let Some(role) = &input.execution_role_arn {
            role_arn(role, "executionRoleArn")?;
        }
        let primary = container::object(raw, "PrimaryContainer", "")?;
        let pipeline = container::list(raw, "Containers", "")?;
        let containers: Vec<(&Map<String, Value>, String)> = match (primary, pipeline) {
            (Some(_), Some(_)) => {
                return Err(ApiError::Validation(
                    "PrimaryContainer and Containers cannot both be specified: give one container as PrimaryContainer or an inference pipeline as Containers.".into(),
                ));
            }
            (Some(primary), None) => vec![(primary, "primaryContainer".to_owned())],
            (None, Some(list)) => {
                if list.is_empty() || list.len() > container::MAX_CONTAINERS {
                    return Err(constraint(
                        &format!("{} containers", list.len()),
                        "containers",
                        "Member must have length between 1 and 15",
                    ));
                }
                container::structures(list, "containers")?
                    .into_iter()
                    .enumerate()
                    .map(|(index, c)| (c, item_path("containers", index)))
                    .collect()
            }
            (None, None) => {
                return Err(ApiError::Validation(
                    "Either PrimaryContainer or Containers must be specified.".into(),
                ));
            }
        };
        let sources = containers
            .iter()
            .map(|(c, field)| container::model_container(c, field).map(|s| (s, field.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(config) = container::object(raw, "InferenceExecutionConfig", "")? {
            let mode = validate::required(
                container::string(config, "Mode", "inferenceExecutionConfig")?,
                "inferenceExecutionConfig.mode",
            )?;
            validate::one_of(mode, "inferenceExecutionConfig.mode", &["Serial", "Direct"])?;
        }
        let tags = input.tags.unwrap_or_default();
        validate::tags(&tags)?;

        let account = ctx.caller.account.clone();
        let arn = hosting_arn(Kind::Model, &ctx.region, &account, &name);
        let key = name.to_ascii_lowercase();
        if self.hosting(ctx).models.contains_key(&key) {
            return Err(already_exists(&arn, Kind::Model));
        }
        let mut images = Vec::new();
        for (source, field) in &sources {
            images.extend(self.served_images(ctx, source, field)?);
        }
        let mut kept = kept_members(
            raw,
            &[
                "PrimaryContainer",
                "Containers",
                "ExecutionRoleArn",
                "InferenceExecutionConfig",
                "VpcConfig",
            ],
        );
        kept.insert(
            "EnableNetworkIsolation".into(),
            json!(input.enable_network_isolation.unwrap_or(false)),
        );
        let time = self.tick();
        self.hosting(ctx).models.insert(
            key,
            Model {
                name,
                arn: arn.clone(),
                creation_time: time,
                kept,
                images,
                tags,
            },
        );
        let call = api_call(ctx, Operation::CreateModel, time, raw);
        Ok(Outcome {
            response: json!({ "ModelArn": arn }),
            events: vec![events::cloudtrail(
                &call,
                Ok(Some(json!({ "modelArn": arn }))),
            )],
        })
    }

    /// A model of the caller's registry by name.
    fn model_named(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<(String, String), ApiError> {
        let input: ModelNameInput = parse_input(raw)?;
        let name = validate::required(input.model_name, "modelName")?;
        validate::entity_name(&name, "modelName")?;
        let arn = hosting_arn(Kind::Model, &ctx.region, &ctx.caller.account, &name);
        let key = name.to_ascii_lowercase();
        if !self.hosting(ctx).models.contains_key(&key) {
            return Err(not_found(&arn, Kind::Model));
        }
        Ok((key, arn))
    }

    pub(super) fn describe_model(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let (key, arn) = self.model_named(ctx, raw)?;
        let model = self
            .hosting(ctx)
            .models
            .get(&key)
            .ok_or_else(|| not_found(&arn, Kind::Model))?;
        let mut out = Map::new();
        out.insert("ModelName".into(), json!(model.name));
        out.extend(model.kept.clone());
        out.insert("CreationTime".into(), epoch_seconds(model.creation_time));
        out.insert("ModelArn".into(), json!(model.arn));
        Ok(Outcome::quiet(Value::Object(out)))
    }

    pub(super) fn delete_model(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let (key, _) = self.model_named(ctx, raw)?;
        // Endpoint configurations naming the model are left as they are, as SageMaker leaves them.
        self.hosting(ctx).models.remove(&key);
        let time = self.tick();
        let call = api_call(ctx, Operation::DeleteModel, time, raw);
        Ok(Outcome {
            response: json!({}),
            events: vec![events::cloudtrail(&call, Ok(None))],
        })
    }
}

mod endpoints;
mod input;

#[cfg(test)]
mod tests;
