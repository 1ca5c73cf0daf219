use aws_sdk_ecr::operation::describe_images::{DescribeImagesError, DescribeImagesOutput};
use aws_sdk_ecr::types::ImageDetail;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use govsync_core::artifact::parse_ecr_image;

use super::*;

const IMAGE: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com/fraud/serve:1.4";
const DIGEST: &str = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";

fn client_with(rule: &aws_smithy_mocks::Rule) -> Client {
    mock_client!(aws_sdk_ecr, RuleMode::Sequential, [rule], |config| config
        .region(Region::new("us-east-1"))
        .retry_config(RetryConfig::disabled()))
}

#[tokio::test]
async fn a_tag_is_resolved_to_its_digest_in_the_images_registry() {
    let describe = mock!(Client::describe_images)
        .match_requests(|request| {
            request.registry_id() == Some("111122223333")
                && request.repository_name() == Some("fraud/serve")
                && request.image_ids().first().and_then(|id| id.image_tag()) == Some("1.4")
        })
        .then_output(|| {
            DescribeImagesOutput::builder()
                .image_details(ImageDetail::builder().image_digest(DIGEST).build())
                .build()
        });
    let image = parse_ecr_image(IMAGE).unwrap();
    let digest = EcrImageRegistry::new(client_with(&describe))
        .image_digest(&image, "1.4")
        .await
        .unwrap();
    assert_eq!(digest, DIGEST);
}

#[tokio::test]
async fn errors_are_sorted_by_their_code() {
    for (code, expected, retryable) in [
        ("ImageNotFoundException", "not found", false),
        ("RepositoryNotFoundException", "not found", false),
        ("AccessDeniedException", "access denied", false),
        ("ThrottlingException", "transient", true),
        ("InvalidParameterException", "unreachable", false),
    ] {
        let describe = mock!(Client::describe_images).then_error(move || {
            DescribeImagesError::generic(ErrorMetadata::builder().code(code).message("m").build())
        });
        let image = parse_ecr_image(IMAGE).unwrap();
        let error = EcrImageRegistry::new(client_with(&describe))
            .image_digest(&image, "1.4")
            .await
            .unwrap_err();
        assert!(error.to_string().starts_with(expected), "{code}: {error}");
        assert_eq!(error.is_retryable(), retryable, "{code}");
    }
}

#[tokio::test]
async fn an_answer_without_a_digest_is_missing() {
    let describe =
        mock!(Client::describe_images).then_output(|| DescribeImagesOutput::builder().build());
    let image = parse_ecr_image(IMAGE).unwrap();
    let error = EcrImageRegistry::new(client_with(&describe))
        .image_digest(&image, "1.4")
        .await
        .unwrap_err();
    assert!(matches!(error, ArtifactReadError::Missing(_)), "{error}");
}
