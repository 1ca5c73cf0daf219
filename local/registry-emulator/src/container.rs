//! Container definitions: the artifact members of a model package's containers
//! (`ModelPackageContainerDefinition`, in CreateModelPackage's and UpdateModelPackage's
//! `InferenceSpecification`) and a model's containers (`ContainerDefinition`, CreateModel).
//!
//! Sources: the SageMaker API reference pages InferenceSpecification, ModelPackageContainerDefinition,
//! ContainerDefinition, ModelDataSource and S3ModelDataSource; lengths, patterns and enums as botocore's
//! service model (sagemaker 2017-07-24) gives them. Only what is checked here is refused; other members
//! pass through as sent. A member of the wrong JSON type is a `SerializationException`, as for every
//! other operation of the emulator.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::validate::{self, abbreviate, constraint};
use crate::wire::lower_camel;

/// `Url` / `S3ModelUri`: at most 1024 characters.
const MAX_URL: usize = 1024;
/// `ContainerImage`: at most 255 characters.
const MAX_IMAGE: usize = 255;
/// `ContainerDefinitionList` / `ModelPackageContainerDefinitionList`: at most 15 containers.
pub const MAX_CONTAINERS: usize = 15;
/// `EnvironmentMap`: at most 100 entries, keys and values up to 1024 each, 32 KB in all (API
/// reference, ContainerDefinition `Environment`).
const MAX_ENVIRONMENT_ENTRIES: usize = 100;
const MAX_ENVIRONMENT_BYTES: usize = 32 * 1024;

/// `parent.member` in SageMaker's spelling of member paths (lowerCamel).
pub fn member_path(parent: &str, member: &str) -> String {
    if parent.is_empty() {
        lower_camel(member)
    } else {
        format!("{parent}.{}", lower_camel(member))
    }
}

/// The `index`th (0-based) item of a list member, as SageMaker numbers them (`containers.1.member`).
pub fn item_path(list: &str, index: usize) -> String {
    format!("{list}.{}.member", index + 1)
}

fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::Serialization(format!(
        "Cannot deserialize the request: '{field}' must be {expected}"
    ))
}

pub fn string<'a>(
    object: &'a Map<String, Value>,
    member: &str,
    parent: &str,
) -> Result<Option<&'a str>, ApiError> {
    match object.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(wrong_type(&member_path(parent, member), "a string")),
    }
}

pub fn object<'a>(
    object: &'a Map<String, Value>,
    member: &str,
    parent: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match object.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(wrong_type(&member_path(parent, member), "a structure")),
    }
}

pub fn list<'a>(
    object: &'a Map<String, Value>,
    member: &str,
    parent: &str,
) -> Result<Option<&'a Vec<Value>>, ApiError> {
    match object.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(wrong_type(&member_path(parent, member), "a list")),
    }
}

fn boolean(
    object: &Map<String, Value>,
    member: &str,
    parent: &str,
) -> Result<Option<bool>, ApiError> {
    match object.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(wrong_type(&member_path(parent, member), "a boolean")),
    }
}

/// The items of a list of structures.
pub fn structures<'a>(
    items: &'a [Value],
    field: &str,
) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.as_object()
                .ok_or_else(|| wrong_type(&item_path(field, index), "a structure"))
        })
        .collect()
}

/// `(https|s3)://([^/]+)/?(.*)` (botocore `Url` and `S3ModelUri`) within 1024 characters. The pattern
/// admits `https://` (an S3 object URL) besides `s3://`; `.` matches no line terminator.
pub fn is_model_url(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("s3://")
        .or_else(|| value.strip_prefix("https://"))
    else {
        return false;
    };
    !rest.is_empty()
        && !rest.starts_with('/')
        && !rest
            .chars()
            .any(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
}

pub fn model_url(value: &str, field: &str) -> Result<(), ApiError> {
    validate::max_len(value, field, MAX_URL)?;
    if !is_model_url(value) {
        return Err(constraint(
            &abbreviate(value),
            field,
            "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$",
        ));
    }
    Ok(())
}

/// `ContainerImage`: `[\S]+` within 255 characters (Java's `\s`: space, tab, LF, VT, FF, CR).
pub fn image(value: &str, field: &str) -> Result<(), ApiError> {
    validate::max_len(value, field, MAX_IMAGE)?;
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r');
    if value.is_empty() || value.chars().any(blank) {
        return Err(constraint(
            &abbreviate(value),
            field,
            "Member must satisfy regular expression pattern: [\\S]+",
        ));
    }
    Ok(())
}

/// `ImageDigest`: `[Ss][Hh][Aa]256:[0-9a-fA-F]{64}` (botocore; at most 72 characters).
pub fn is_image_digest(value: &str) -> bool {
    match value.split_once(':') {
        Some((algorithm, hex)) => {
            algorithm.eq_ignore_ascii_case("sha256")
                && hex.len() == 64
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

pub fn image_digest(value: &str, field: &str) -> Result<(), ApiError> {
    if !is_image_digest(value) {
        return Err(constraint(
            &abbreviate(value),
            field,
            "Member must satisfy regular expression pattern: ^[Ss][Hh][Aa]256:[0-9a-fA-F]{64}$",
        ));
    }
    Ok(())
}

/// `ModelDataSource {S3DataSource: S3ModelDataSource}`.
///
/// S3ModelDataSource: `S3Uri`, `S3DataType` (S3Prefix | S3Object) and `CompressionType` (None | Gzip)
/// are required. "A valid key name prefix identified by S3Uri always ends with a forward slash (/)"
/// (`S3DataType`); `CompressionType` documents Gzip only with S3Object (None with either), so Gzip
/// with S3Prefix is refused: the emulator's reading of that list, the message is its own.
pub fn model_data_source(source: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    let Some(s3) = object(source, "S3DataSource", field)? else {
        return Ok(());
    };
    let field = member_path(field, "S3DataSource");
    let uri_field = member_path(&field, "S3Uri");
    let uri = validate::required(string(s3, "S3Uri", &field)?, &uri_field)?;
    model_url(uri, &uri_field)?;
    let kind_field = member_path(&field, "S3DataType");
    let kind = validate::required(string(s3, "S3DataType", &field)?, &kind_field)?;
    validate::one_of(kind, &kind_field, &["S3Prefix", "S3Object"])?;
    let compression_field = member_path(&field, "CompressionType");
    let compression =
        validate::required(string(s3, "CompressionType", &field)?, &compression_field)?;
    validate::one_of(compression, &compression_field, &["None", "Gzip"])?;
    if kind == "S3Prefix" && !uri.ends_with('/') {
        return Err(ApiError::Validation(format!(
            "S3Uri '{}' at '{uri_field}' must end with a forward slash (/) when S3DataType is S3Prefix.",
            abbreviate(uri)
        )));
    }
    if kind == "S3Prefix" && compression == "Gzip" {
        return Err(ApiError::Validation(format!(
            "CompressionType Gzip at '{compression_field}' requires S3DataType S3Object; an S3Prefix holds uncompressed model data (CompressionType None)."
        )));
    }
    if let Some(manifest) = string(s3, "ManifestS3Uri", &field)? {
        model_url(manifest, &member_path(&field, "ManifestS3Uri"))?;
    }
    string(s3, "ETag", &field)?;
    string(s3, "ManifestEtag", &field)?;
    if let Some(access) = object(s3, "ModelAccessConfig", &field)? {
        let access_field = member_path(&field, "ModelAccessConfig");
        validate::required(
            boolean(access, "AcceptEula", &access_field)?,
            &member_path(&access_field, "AcceptEula"),
        )?;
    }
    Ok(())
}

/// The members naming a container's image and model data, checked alike in both container shapes.
struct Artifact<'a> {
    image: Option<&'a str>,
    has_model_data: bool,
}

fn artifact<'a>(container: &'a Map<String, Value>, field: &str) -> Result<Artifact<'a>, ApiError> {
    let image_value = string(container, "Image", field)?;
    if let Some(value) = image_value {
        image(value, &member_path(field, "Image"))?;
    }
    let url = string(container, "ModelDataUrl", field)?;
    if let Some(url) = url {
        model_url(url, &member_path(field, "ModelDataUrl"))?;
    }
    let source = object(container, "ModelDataSource", field)?;
    if let Some(source) = source {
        model_data_source(source, &member_path(field, "ModelDataSource"))?;
    }
    // The two name the container's one model artifact: `ModelDataUrl` a single .tar.gz, `ModelDataSource`
    // its S3 location (the developer guide's "Deploying uncompressed models" gives `ModelDataSource`
    // instead of `ModelDataUrl`). No AWS page words the refusal: the message is the emulator's.
    if url.is_some() && source.is_some() {
        return Err(ApiError::Validation(format!(
            "'{}' and '{}' cannot both be specified: give the model data either as a URL or as a data source.",
            member_path(field, "ModelDataUrl"),
            member_path(field, "ModelDataSource")
        )));
    }
    if let Some(hostname) = string(container, "ContainerHostname", field)? {
        validate::entity_name(hostname, &member_path(field, "ContainerHostname"))?;
    }
    Ok(Artifact {
        image: image_value,
        has_model_data: url.is_some() || source.is_some(),
    })
}

/// One `ModelPackageContainerDefinition`: `Image` (optional in the current model), `ImageDigest`,
/// `ModelDataUrl` / `ModelDataSource` (not both), `ModelDataETag` (a plain string) and `ContainerHostname`.
pub fn package_container(container: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    artifact(container, field)?;
    if let Some(digest) = string(container, "ImageDigest", field)? {
        image_digest(digest, &member_path(field, "ImageDigest"))?;
    }
    string(container, "ModelDataETag", field)?;
    Ok(())
}

/// A list of `ModelPackageContainerDefinition`: 1–15 containers, each checked.
pub fn package_containers(containers: &[Value], field: &str) -> Result<(), ApiError> {
    if containers.is_empty() || containers.len() > MAX_CONTAINERS {
        return Err(constraint(
            &format!("{} containers", containers.len()),
            field,
            &format!("Member must have length between 1 and {MAX_CONTAINERS}"),
        ));
    }
    for (index, container) in structures(containers, field)?.into_iter().enumerate() {
        package_container(container, &item_path(field, index))?;
    }
    Ok(())
}

/// `InferenceSpecification`: `Containers` is required (botocore lists it alone as required).
pub fn inference_specification(spec: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    let containers_field = member_path(field, "Containers");
    let containers = validate::required(list(spec, "Containers", field)?, &containers_field)?;
    package_containers(containers, &containers_field)
}

/// `AdditionalInferenceSpecifications` (create) / `…ToAdd` (update): each carries `Containers` like
/// the main specification.
pub fn additional_inference_specifications(specs: &[Value], field: &str) -> Result<(), ApiError> {
    for (index, spec) in structures(specs, field)?.into_iter().enumerate() {
        let item = item_path(field, index);
        let containers_field = member_path(&item, "Containers");
        let containers = validate::required(list(spec, "Containers", &item)?, &containers_field)?;
        package_containers(containers, &containers_field)?;
    }
    Ok(())
}

/// `VersionedArnOrName` (botocore): 1–176 characters,
/// `(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\/[0-9]{1,9})?`.
pub fn is_versioned_arn_or_name(value: &str) -> bool {
    if value.is_empty() || value.chars().count() > 176 {
        return false;
    }
    let path = if value.starts_with("arn:") {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let ["arn", partition, "sagemaker", region, account, resource] = parts.as_slice() else {
            return false;
        };
        let lower_or = |text: &str, extra: fn(u8) -> bool| {
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || extra(b))
        };
        let resource_ok = resource
            .split_once('/')
            .filter(|(kind, _)| lower_or(kind, |_| false));
        match (partition.strip_prefix("aws"), resource_ok) {
            (Some(rest), Some((_, path)))
                if lower_or(rest, |_| false)
                    && lower_or(region, |b| b.is_ascii_digit())
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit()) =>
            {
                path
            }
            _ => return false,
        }
    } else {
        value
    };
    let (name, version) = match path.split_once('/') {
        Some((name, version)) => (name, Some(version)),
        None => (path, None),
    };
    validate::is_entity_name(name)
        && version
            .is_none_or(|v| (1..=9).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
}

/// `EnvironmentMap`: ≤ 100 entries, keys `[a-zA-Z_][a-zA-Z0-9_]*` and values up to 1024 characters,
/// 32 KB of keys and values in all.
fn environment(map: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    if map.len() > MAX_ENVIRONMENT_ENTRIES {
        return Err(constraint(
            &format!("{} entries", map.len()),
            field,
            &format!("Map must have at most {MAX_ENVIRONMENT_ENTRIES} entries"),
        ));
    }
    let mut bytes = 0;
    for (key, value) in map {
        let key_ok = key.len() <= 1024
            && key
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok {
            return Err(constraint(
                &abbreviate(key),
                field,
                "Map keys must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]* and have length less than or equal to 1024",
            ));
        }
        let Value::String(text) = value else {
            return Err(wrong_type(&format!("{field}.{key}"), "a string"));
        };
        validate::max_len(text, &format!("{field}.{key}"), 1024)?;
        bytes += key.len() + text.len();
    }
    if bytes > MAX_ENVIRONMENT_BYTES {
        return Err(ApiError::Validation(format!(
            "The environment variables at '{field}' total {bytes} bytes; keys and values may total at most 32 KB."
        )));
    }
    Ok(())
}

/// What a CreateModel container deploys: a model package version, or an image of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelContainerSource {
    Package {
        name: String,
        /// `InferenceSpecificationName`: one of the package's additional inference specifications.
        specification: Option<String>,
    },
    Image(String),
}

/// One CreateModel `ContainerDefinition`. A container names a model package (`ModelPackageName`, whose
/// version supplies the image and the model data) or its own `Image` (with optional `ModelDataUrl` or
/// `ModelDataSource`, not both); one that names a package and also an image or model data of its own
/// is refused (the emulator's rule, not worded by AWS: the package is the reviewed artifact).
pub fn model_container(
    container: &Map<String, Value>,
    field: &str,
) -> Result<ModelContainerSource, ApiError> {
    let artifact = artifact(container, field)?;
    let package = string(container, "ModelPackageName", field)?;
    let package_field = member_path(field, "ModelPackageName");
    if let Some(package) = package
        && !is_versioned_arn_or_name(package)
    {
        return Err(constraint(
            &abbreviate(package),
            &package_field,
            "Member must satisfy regular expression pattern: (arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\\/[0-9]{1,9})? and have length between 1 and 176",
        ));
    }
    let specification = string(container, "InferenceSpecificationName", field)?;
    if let Some(name) = specification {
        validate::entity_name(name, &member_path(field, "InferenceSpecificationName"))?;
    }
    if let Some(environment_map) = object(container, "Environment", field)? {
        environment(environment_map, &member_path(field, "Environment"))?;
    }
    if let Some(mode) = string(container, "Mode", field)? {
        validate::one_of(
            mode,
            &member_path(field, "Mode"),
            &["SingleModel", "MultiModel"],
        )?;
    }
    match (package, artifact.image) {
        (Some(package), None) if !artifact.has_model_data => Ok(ModelContainerSource::Package {
            name: package.to_owned(),
            specification: specification.map(str::to_owned),
        }),
        (Some(_), _) => Err(ApiError::Validation(format!(
            "'{package_field}' cannot be combined with Image, ModelDataUrl or ModelDataSource in the same container: the model package supplies them."
        ))),
        (None, Some(image)) => {
            if specification.is_some() {
                return Err(ApiError::Validation(format!(
                    "'{}' needs '{package_field}'.",
                    member_path(field, "InferenceSpecificationName")
                )));
            }
            Ok(ModelContainerSource::Image(image.to_owned()))
        }
        (None, None) => Err(ApiError::Validation(format!(
            "The container at '{field}' must specify either Image or ModelPackageName."
        ))),
    }
}

#[cfg(test)]
mod tests;
