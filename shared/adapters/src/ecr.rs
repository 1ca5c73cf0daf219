//! [`ImageRegistry`] over Amazon ECR (`DescribeImages`), read-only: the digest an image tag points at.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::Region;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::ImageIdentifier;
use govsync_core::artifact::EcrImage;
use govsync_core::ports::{ArtifactReadError, ImageRegistry};

#[derive(Debug, Clone)]
pub struct EcrImageRegistry {
    client: Client,
}

impl EcrImageRegistry {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client for the image's region (an image may live in another region than the registry).
    fn client_for(&self, region: &str) -> Client {
        if self.client.config().region().map(Region::as_ref) == Some(region) {
            return self.client.clone();
        }
        Client::from_conf(
            self.client
                .config()
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }
}

impl ImageRegistry for EcrImageRegistry {
    async fn image_digest(&self, image: &EcrImage, tag: &str) -> Result<String, ArtifactReadError> {
        let what = format!(
            "{}.dkr.ecr.{}/{}:{tag}",
            image.registry_account, image.region, image.repository
        );
        let output = self
            .client_for(&image.region)
            .describe_images()
            .registry_id(&image.registry_account)
            .repository_name(&image.repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .map_err(|error| classify(&what, &error))?;
        output
            .image_details()
            .iter()
            .find_map(|detail| detail.image_digest())
            .map(str::to_owned)
            .ok_or(ArtifactReadError::Missing(what))
    }
}

/// Sorts an ECR failure by its error code: a missing repository or image, denied (another
/// account's registry without a grant), throttled or failing server (transient), else unreachable.
fn classify<E, R>(what: &str, error: &SdkError<E, R>) -> ArtifactReadError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            return ArtifactReadError::Transient(format!("{what}: no answer from ECR"));
        }
        SdkError::ServiceError(_) => {}
        other => return ArtifactReadError::Unreachable(format!("{what}: {other:?}")),
    }
    let code = error.code().unwrap_or("");
    let message = error.message().unwrap_or("");
    match code {
        "RepositoryNotFoundException" | "ImageNotFoundException" => {
            ArtifactReadError::Missing(format!("{what} ({code})"))
        }
        "AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" => {
            ArtifactReadError::Denied(format!("{what} ({code})"))
        }
        "ThrottlingException" | "ServerException" | "LimitExceededException" => {
            ArtifactReadError::Transient(format!("{what}: {code}"))
        }
        _ => ArtifactReadError::Unreachable(format!("{what}: {code} {message}")),
    }
}

#[cfg(test)]
mod tests;
