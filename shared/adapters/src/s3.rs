//! [`ObjectStore`] over Amazon S3 (`HeadObject`, `ListObjectsV2`), read-only: the artifact
//! fingerprint's model data.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use govsync_core::ports::{ArtifactReadError, ObjectHead, ObjectListing, ObjectStore};

#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
}

impl S3ObjectStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl ObjectStore for S3ObjectStore {
    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectHead, ArtifactReadError> {
        let what = format!("s3://{bucket}/{key}");
        let output = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| {
                classify(
                    &what,
                    error.raw_response().map(|r| r.status().as_u16()),
                    &error,
                )
            })?;
        let etag = output
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| ArtifactReadError::Unreachable(format!("{what}: no ETag")))?;
        Ok(ObjectHead {
            etag,
            version_id: output
                .version_id()
                .filter(|version| *version != "null")
                .map(str::to_owned),
        })
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<ObjectListing, ArtifactReadError> {
        let what = format!("s3://{bucket}/{prefix}");
        let output = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(i32::try_from(max).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|error| {
                classify(
                    &what,
                    error.raw_response().map(|r| r.status().as_u16()),
                    &error,
                )
            })?;
        let objects = output
            .contents()
            .iter()
            .filter_map(|object| Some((object.key()?.to_owned(), object.e_tag()?.to_owned())))
            .collect();
        Ok(ObjectListing {
            objects,
            truncated: output.is_truncated().unwrap_or(false),
        })
    }
}

/// Sorts an S3 failure by the HTTP status of its answer (`HeadObject` has no body to read a code
/// from): 403 denied, 404 missing, 429 and 5xx transient, anything else unreachable (a bucket in
/// another region or account, a bad name); no answer at all (network, timeout) is transient.
fn classify<E: std::fmt::Debug, R: std::fmt::Debug>(
    what: &str,
    status: Option<u16>,
    error: &SdkError<E, R>,
) -> ArtifactReadError {
    match (status, error) {
        (None, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) => {
            ArtifactReadError::Transient(format!("{what}: no answer from S3"))
        }
        (Some(403), _) => ArtifactReadError::Denied(what.to_owned()),
        (Some(404), _) => ArtifactReadError::Missing(what.to_owned()),
        (Some(status @ (429 | 500..=599)), _) => {
            ArtifactReadError::Transient(format!("{what}: HTTP {status}"))
        }
        (Some(status), _) => ArtifactReadError::Unreachable(format!("{what}: HTTP {status}")),
        (None, error) => ArtifactReadError::Unreachable(format!("{what}: {error:?}")),
    }
}

#[cfg(test)]
mod tests;
