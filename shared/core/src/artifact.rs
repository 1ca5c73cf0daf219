//! The artifact a model version names, and its fingerprint: the exact bytes a governance approval was
//! given for (issue #21).
//!
//! Per container of `InferenceSpecification`: the S3 object behind `ModelDataUrl` (its ETag and version
//! id), or for a `ModelDataSource` prefix a digest of the listed objects' keys and ETags (bounded); and
//! the image digest (from the URI when it carries one, else the registry's answer for the tag). What
//! cannot be read is recorded as unverifiable with its reason, and never compares as a match.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex;
use crate::ports::{ArtifactReadError, ImageRegistry, ObjectStore};

/// Objects a prefix may hold to be fingerprinted: one `ListObjectsV2` page. A larger prefix is
/// unverifiable rather than read in many calls per event.
pub const MAX_PREFIX_OBJECTS: usize = 1000;

/// An S3 location, `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{uri:?} is not an s3:// URI"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{uri:?} names no bucket"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Where a container's model data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelData {
    /// `ModelDataUrl`, or a `ModelDataSource` of `S3DataType` `S3Object`.
    Object(String),
    /// A `ModelDataSource` of `S3DataType` `S3Prefix`: every object under it.
    Prefix(String),
}

/// One container of a package, as `DescribeModelPackage` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerArtifact {
    pub image: Option<String>,
    /// `ImageDigest`, where SageMaker recorded one at registration.
    pub image_digest: Option<String>,
    pub model_data: Option<ModelData>,
    /// `ModelDataETag`, where SageMaker recorded one at registration.
    pub model_data_etag: Option<String>,
}

impl ContainerArtifact {
    /// From one element of `InferenceSpecification.Containers` (a `DescribeModelPackage` answer or a
    /// state-change event's detail). Malformed members are left out.
    pub fn from_json(container: &serde_json::Value) -> Self {
        let text = |value: Option<&serde_json::Value>| {
            value
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let source = container
            .get("ModelDataSource")
            .and_then(|source| source.get("S3DataSource"));
        let model_data = match (text(container.get("ModelDataUrl")), source) {
            (Some(url), _) => Some(ModelData::Object(url)),
            (None, Some(source)) => text(source.get("S3Uri")).map(|uri| {
                match source.get("S3DataType").and_then(serde_json::Value::as_str) {
                    Some("S3Object") => ModelData::Object(uri),
                    _ => ModelData::Prefix(uri),
                }
            }),
            (None, None) => None,
        };
        Self {
            image: text(container.get("Image")),
            image_digest: text(container.get("ImageDigest")),
            model_data,
            model_data_etag: text(container.get("ModelDataETag")),
        }
    }
}

/// An image URI split into what ECR `DescribeImages` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub registry_account: String,
    pub region: String,
    pub repository: String,
    pub reference: ImageReference,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageReference {
    Tag(String),
    Digest(String),
}

/// `{account}.dkr.ecr.{region}.amazonaws.com/{repository}[:tag|@sha256:…]`; other registries are
/// `Err` with the reason (govsync reads ECR only).
pub fn parse_ecr_image(uri: &str) -> Result<EcrImage, String> {
    let (host, path) = uri
        .split_once('/')
        .ok_or_else(|| format!("{uri:?} names no repository"))?;
    let mut labels = host.split('.');
    let (Some(account), Some("dkr"), Some("ecr"), Some(region)) =
        (labels.next(), labels.next(), labels.next(), labels.next())
    else {
        return Err(format!("{host} is not an Amazon ECR registry"));
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{host} is not an Amazon ECR registry"));
    }
    let (repository, reference) = if let Some((repository, digest)) = path.split_once('@') {
        (repository, ImageReference::Digest(digest.to_owned()))
    } else {
        // A tag follows the last `:` of the path (a repository name has no `:`).
        match path.rsplit_once(':') {
            Some((repository, tag)) => (repository, ImageReference::Tag(tag.to_owned())),
            None => (path, ImageReference::Tag("latest".to_owned())),
        }
    };
    if repository.is_empty() {
        return Err(format!("{uri:?} names no repository"));
    }
    Ok(EcrImage {
        registry_account: account.to_owned(),
        region: region.to_owned(),
        repository: repository.to_owned(),
        reference,
    })
}

/// What was read of one part of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    S3Object {
        uri: String,
        etag: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_id: Option<String>,
    },
    S3Prefix {
        uri: String,
        objects: usize,
        /// Hex SHA-256 over the sorted `key<TAB>etag` lines of the objects.
        digest: String,
    },
    Image {
        uri: String,
        digest: String,
    },
    Unverifiable {
        uri: String,
        reason: String,
    },
}

impl Part {
    pub fn uri(&self) -> &str {
        match self {
            Part::S3Object { uri, .. }
            | Part::S3Prefix { uri, .. }
            | Part::Image { uri, .. }
            | Part::Unverifiable { uri, .. } => uri,
        }
    }

    /// What identifies the bytes: compared, never the URI alone.
    fn identity(&self) -> Option<String> {
        match self {
            Part::S3Object {
                etag, version_id, ..
            } => Some(match version_id {
                Some(version) => format!("ETag {etag}, version {version}"),
                None => format!("ETag {etag}"),
            }),
            Part::S3Prefix {
                objects, digest, ..
            } => Some(format!("{objects} objects, digest {digest}")),
            Part::Image { digest, .. } => Some(digest.clone()),
            Part::Unverifiable { .. } => None,
        }
    }
}

/// One container's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerFingerprint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_data: Option<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Part>,
}

/// The fingerprint of a package's artifact, container by container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ArtifactFingerprint {
    pub containers: Vec<ContainerFingerprint>,
    /// Where what was read differs from what SageMaker recorded at registration (`ModelDataETag`,
    /// `ImageDigest`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_mismatches: Vec<String>,
}

impl ArtifactFingerprint {
    fn parts(&self) -> impl Iterator<Item = &Part> {
        self.containers
            .iter()
            .flat_map(|c| c.model_data.iter().chain(c.image.iter()))
    }

    /// Why parts could not be read.
    pub fn unverifiable(&self) -> Vec<String> {
        self.parts()
            .filter_map(|part| match part {
                Part::Unverifiable { uri, reason } => Some(format!("{uri}: {reason}")),
                _ => None,
            })
            .collect()
    }

    /// Every part read and matching what SageMaker recorded.
    pub fn is_verified(&self) -> bool {
        self.unverifiable().is_empty() && self.registered_mismatches.is_empty()
    }

    /// One line per part, for the governance Model's field.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (index, container) in self.containers.iter().enumerate() {
            for part in container.model_data.iter().chain(container.image.iter()) {
                let what = part.identity().unwrap_or_else(|| match part {
                    Part::Unverifiable { reason, .. } => format!("unverifiable: {reason}"),
                    _ => String::new(),
                });
                let _ = writeln!(out, "container {}: {} = {what}", index + 1, part.uri());
            }
        }
        for mismatch in &self.registered_mismatches {
            let _ = writeln!(out, "differs from registration: {mismatch}");
        }
        out.trim_end().to_owned()
    }
}

/// What a later read says about an approved artifact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArtifactCheck {
    /// What differs from the approved fingerprint.
    pub changed: Vec<String>,
    /// What could not be compared (unreadable now or at approval): never a match.
    pub unverifiable: Vec<String>,
}

impl ArtifactCheck {
    pub fn matches(&self) -> bool {
        self.changed.is_empty() && self.unverifiable.is_empty()
    }
}

/// Compares the artifact as read now with the fingerprint recorded at approval.
pub fn compare(approved: &ArtifactFingerprint, now: &ArtifactFingerprint) -> ArtifactCheck {
    let mut check = ArtifactCheck::default();
    if approved.containers.len() != now.containers.len() {
        check.changed.push(format!(
            "the package names {} containers; {} were approved",
            now.containers.len(),
            approved.containers.len()
        ));
        return check;
    }
    for (index, (was, is)) in approved.containers.iter().zip(&now.containers).enumerate() {
        for (label, was, is) in [
            ("model data", &was.model_data, &is.model_data),
            ("image", &was.image, &is.image),
        ] {
            compare_part(index + 1, label, was.as_ref(), is.as_ref(), &mut check);
        }
    }
    check
}

fn compare_part(
    container: usize,
    label: &str,
    was: Option<&Part>,
    is: Option<&Part>,
    check: &mut ArtifactCheck,
) {
    let (was, is) = match (was, is) {
        (None, None) => return,
        (Some(was), Some(is)) => (was, is),
        (was, is) => {
            check.changed.push(format!(
                "container {container}: {label} {} (approved: {})",
                is.map(Part::uri).unwrap_or("removed"),
                was.map(Part::uri).unwrap_or("none")
            ));
            return;
        }
    };
    if let Part::Unverifiable { uri, reason } = is {
        check
            .unverifiable
            .push(format!("container {container}: {uri}: {reason}"));
        return;
    }
    if let Part::Unverifiable { uri, reason } = was {
        check.unverifiable.push(format!(
            "container {container}: {uri} was unreadable when approved ({reason})"
        ));
        return;
    }
    if was.uri() != is.uri() {
        check.changed.push(format!(
            "container {container}: {label} is now {} (approved: {})",
            is.uri(),
            was.uri()
        ));
        return;
    }
    let same = match (was, is) {
        (
            Part::S3Object {
                etag: was_etag,
                version_id: was_version,
                ..
            },
            Part::S3Object {
                etag: is_etag,
                version_id: is_version,
                ..
            },
        ) => was_etag == is_etag && (was_version.is_none() || was_version == is_version),
        _ => was.identity() == is.identity(),
    };
    if !same {
        check.changed.push(format!(
            "container {container}: {} is now {} (approved: {})",
            is.uri(),
            is.identity().unwrap_or_default(),
            was.identity().unwrap_or_default()
        ));
    }
}

/// An S3 ETag as SageMaker and S3 spell it, without the quotes S3 puts around it.
pub fn normalize_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_owned()
}

/// Reads the fingerprint of `containers`. Only a retryable read error fails it; anything else the
/// read meets (denied, missing, unreachable) is recorded as an unverifiable part.
pub async fn fingerprint<S, I>(
    containers: &[ContainerArtifact],
    objects: &S,
    images: &I,
) -> Result<ArtifactFingerprint, ArtifactReadError>
where
    S: ObjectStore + ?Sized,
    I: ImageRegistry + ?Sized,
{
    let mut out = ArtifactFingerprint::default();
    for (index, container) in containers.iter().enumerate() {
        let model_data = match &container.model_data {
            Some(data) => Some(read_model_data(data, objects).await?),
            None => None,
        };
        let image = match &container.image {
            Some(image) => Some(read_image(image, images).await?),
            None => None,
        };
        if let (Some(Part::S3Object { etag, uri, .. }), Some(recorded)) =
            (&model_data, &container.model_data_etag)
            && normalize_etag(recorded) != *etag
        {
            out.registered_mismatches.push(format!(
                "container {}: {uri} has ETag {etag}; SageMaker recorded {}",
                index + 1,
                normalize_etag(recorded)
            ));
        }
        if let (Some(Part::Image { digest, uri }), Some(recorded)) =
            (&image, &container.image_digest)
            && recorded.trim() != digest
        {
            out.registered_mismatches.push(format!(
                "container {}: {uri} resolves to {digest}; SageMaker recorded {}",
                index + 1,
                recorded.trim()
            ));
        }
        out.containers
            .push(ContainerFingerprint { model_data, image });
    }
    Ok(out)
}

fn unreadable(uri: &str, error: ArtifactReadError) -> Result<Part, ArtifactReadError> {
    if error.is_retryable() {
        return Err(error);
    }
    Ok(Part::Unverifiable {
        uri: uri.to_owned(),
        reason: error.to_string(),
    })
}

async fn read_model_data<S: ObjectStore + ?Sized>(
    data: &ModelData,
    objects: &S,
) -> Result<Part, ArtifactReadError> {
    let (uri, prefix) = match data {
        ModelData::Object(uri) => (uri, false),
        ModelData::Prefix(uri) => (uri, true),
    };
    let location = match S3Location::parse(uri) {
        Ok(location) => location,
        Err(reason) => {
            return Ok(Part::Unverifiable {
                uri: uri.clone(),
                reason,
            });
        }
    };
    if !prefix {
        return match objects.head_object(&location.bucket, &location.key).await {
            Ok(head) => Ok(Part::S3Object {
                uri: uri.clone(),
                etag: normalize_etag(&head.etag),
                version_id: head.version_id,
            }),
            Err(error) => unreadable(uri, error),
        };
    }
    match objects
        .list_objects(&location.bucket, &location.key, MAX_PREFIX_OBJECTS)
        .await
    {
        Ok(listing) if listing.truncated => Ok(Part::Unverifiable {
            uri: uri.clone(),
            reason: format!("the prefix holds more than {MAX_PREFIX_OBJECTS} objects"),
        }),
        Ok(listing) if listing.objects.is_empty() => Ok(Part::Unverifiable {
            uri: uri.clone(),
            reason: "no object under the prefix".to_owned(),
        }),
        Ok(mut listing) => {
            listing.objects.sort();
            let mut hasher = Sha256::new();
            for (key, etag) in &listing.objects {
                hasher.update(key.as_bytes());
                hasher.update(b"\t");
                hasher.update(normalize_etag(etag).as_bytes());
                hasher.update(b"\n");
            }
            Ok(Part::S3Prefix {
                uri: uri.clone(),
                objects: listing.objects.len(),
                digest: hex::encode(&hasher.finalize()),
            })
        }
        Err(error) => unreadable(uri, error),
    }
}

async fn read_image<I: ImageRegistry + ?Sized>(
    uri: &str,
    images: &I,
) -> Result<Part, ArtifactReadError> {
    let image = match parse_ecr_image(uri) {
        Ok(image) => image,
        Err(reason) => {
            return Ok(Part::Unverifiable {
                uri: uri.to_owned(),
                reason,
            });
        }
    };
    match &image.reference {
        ImageReference::Digest(digest) => Ok(Part::Image {
            uri: uri.to_owned(),
            digest: digest.clone(),
        }),
        ImageReference::Tag(tag) => match images.image_digest(&image, tag).await {
            Ok(digest) => Ok(Part::Image {
                uri: uri.to_owned(),
                digest,
            }),
            Err(error) => unreadable(uri, error),
        },
    }
}

#[cfg(test)]
mod tests;
