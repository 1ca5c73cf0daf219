//! S3 objects and ECR tags in memory, for the artifact fingerprint: a test writes an object or
//! moves a tag, and denies a bucket or a repository.

use std::collections::{BTreeMap, BTreeSet};

use govsync_core::artifact::EcrImage;
use govsync_core::ports::{
    ArtifactReadError, ImageRegistry, ObjectHead, ObjectListing, ObjectStore,
};

use super::lock;

#[derive(Debug, Default)]
struct ArtifactState {
    /// (bucket, key) → (ETag, version id).
    objects: BTreeMap<(String, String), (String, Option<String>)>,
    /// (repository, tag) → digest.
    tags: BTreeMap<(String, String), String>,
    denied: BTreeSet<String>,
    versions: u64,
}

/// The S3 and ECR of one account, in memory.
#[derive(Debug, Default)]
pub struct FakeArtifacts {
    state: std::sync::Mutex<ArtifactState>,
}

impl FakeArtifacts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes (or overwrites) an object: a new ETag and, as in a versioned bucket, a new version.
    pub fn put_object(&self, uri: &str, etag: &str) {
        let location =
            govsync_core::artifact::S3Location::parse(uri).expect("a test names an s3 URI");
        let mut state = lock(&self.state);
        state.versions += 1;
        let version = format!("v{}", state.versions);
        state.objects.insert(
            (location.bucket, location.key),
            (format!("\"{etag}\""), Some(version)),
        );
    }

    /// Points a tag of a repository at a digest.
    pub fn tag_image(&self, repository: &str, tag: &str, digest: &str) {
        lock(&self.state)
            .tags
            .insert((repository.to_owned(), tag.to_owned()), digest.to_owned());
    }

    /// Denies reads of a bucket or a repository.
    pub fn deny(&self, bucket_or_repository: &str) {
        lock(&self.state)
            .denied
            .insert(bucket_or_repository.to_owned());
    }
}

impl ObjectStore for FakeArtifacts {
    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectHead, ArtifactReadError> {
        let state = lock(&self.state);
        if state.denied.contains(bucket) {
            return Err(ArtifactReadError::Denied(format!("s3://{bucket}/{key}")));
        }
        let (etag, version_id) = state
            .objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| ArtifactReadError::Missing(format!("s3://{bucket}/{key}")))?;
        Ok(ObjectHead { etag, version_id })
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<ObjectListing, ArtifactReadError> {
        let state = lock(&self.state);
        if state.denied.contains(bucket) {
            return Err(ArtifactReadError::Denied(format!("s3://{bucket}/{prefix}")));
        }
        let all: Vec<(String, String)> = state
            .objects
            .iter()
            .filter(|((b, key), _)| b == bucket && key.starts_with(prefix))
            .map(|((_, key), (etag, _))| (key.clone(), etag.clone()))
            .collect();
        Ok(ObjectListing {
            truncated: all.len() > max,
            objects: all.into_iter().take(max).collect(),
        })
    }
}

impl ImageRegistry for FakeArtifacts {
    async fn image_digest(&self, image: &EcrImage, tag: &str) -> Result<String, ArtifactReadError> {
        let state = lock(&self.state);
        if state.denied.contains(&image.repository) {
            return Err(ArtifactReadError::Denied(image.repository.clone()));
        }
        state
            .tags
            .get(&(image.repository.clone(), tag.to_owned()))
            .cloned()
            .ok_or_else(|| ArtifactReadError::Missing(format!("{}:{tag}", image.repository)))
    }
}
