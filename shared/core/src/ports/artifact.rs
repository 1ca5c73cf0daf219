//! The reads that fingerprint a package's artifact: S3 objects and ECR image tags, in the account
//! that owns the registry (through the same role as its SageMaker calls).

use std::future::Future;

use crate::artifact::EcrImage;

/// `HeadObject`'s answer, reduced to what identifies the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub etag: String,
    /// Only in a bucket with versioning.
    pub version_id: Option<String>,
}

/// One `ListObjectsV2` page: (key, ETag) of each object, and whether more were left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectListing {
    pub objects: Vec<(String, String)>,
    pub truncated: bool,
}

/// Why an artifact could not be read. Only `Transient` is retried; the rest make the part unverifiable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactReadError {
    #[error("access denied: {0}")]
    Denied(String),
    #[error("not found: {0}")]
    Missing(String),
    /// A registry or bucket govsync cannot reach (another account's, a non-ECR registry, a bad name).
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("transient: {0}")]
    Transient(String),
}

impl ArtifactReadError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ArtifactReadError::Transient(_))
    }
}

/// S3, read-only.
pub trait ObjectStore: Send + Sync {
    fn head_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<ObjectHead, ArtifactReadError>> + Send;

    /// The first `max` objects under `prefix`.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> impl Future<Output = Result<ObjectListing, ArtifactReadError>> + Send;
}

/// Amazon ECR, read-only: the digest a tag points at now (`DescribeImages`).
pub trait ImageRegistry: Send + Sync {
    fn image_digest(
        &self,
        image: &EcrImage,
        tag: &str,
    ) -> impl Future<Output = Result<String, ArtifactReadError>> + Send;
}

impl<T: ObjectStore + ?Sized> ObjectStore for std::sync::Arc<T> {
    fn head_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<ObjectHead, ArtifactReadError>> + Send {
        self.as_ref().head_object(bucket, key)
    }

    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> impl Future<Output = Result<ObjectListing, ArtifactReadError>> + Send {
        self.as_ref().list_objects(bucket, prefix, max)
    }
}

impl<T: ImageRegistry + ?Sized> ImageRegistry for std::sync::Arc<T> {
    fn image_digest(
        &self,
        image: &EcrImage,
        tag: &str,
    ) -> impl Future<Output = Result<String, ArtifactReadError>> + Send {
        self.as_ref().image_digest(image, tag)
    }
}
