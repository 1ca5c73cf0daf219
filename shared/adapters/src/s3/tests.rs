use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;

use super::*;

fn status(code: u16) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(code).unwrap(), SdkBody::empty())
}

#[tokio::test]
async fn head_reads_the_etag_and_the_version() {
    let head = mock!(Client::head_object)
        .match_requests(|request| {
            request.bucket() == Some("models") && request.key() == Some("fraud/model.tar.gz")
        })
        .then_output(|| {
            HeadObjectOutput::builder()
                .e_tag("\"9b2cf535f27731c974343645a3985328\"")
                .version_id("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
                .build()
        });
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&head]);
    let head = S3ObjectStore::new(client)
        .head_object("models", "fraud/model.tar.gz")
        .await
        .unwrap();
    assert_eq!(head.etag, "\"9b2cf535f27731c974343645a3985328\"");
    assert_eq!(
        head.version_id.as_deref(),
        Some("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
    );
}

#[tokio::test]
async fn an_unversioned_bucket_reports_no_version() {
    // S3 answers `x-amz-version-id: null` for an object written before versioning was enabled.
    let head = mock!(Client::head_object).then_output(|| {
        HeadObjectOutput::builder()
            .e_tag("\"e1\"")
            .version_id("null")
            .build()
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&head]);
    let head = S3ObjectStore::new(client)
        .head_object("b", "k")
        .await
        .unwrap();
    assert_eq!(head.version_id, None);
}

#[tokio::test]
async fn a_head_without_a_body_is_sorted_by_its_status() {
    for (code, expected) in [
        (403, "access denied"),
        (404, "not found"),
        (301, "unreachable"),
        (503, "transient"),
    ] {
        let head = mock!(Client::head_object).then_http_response(move || status(code));
        let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&head], |config| config
            .retry_config(RetryConfig::disabled()));
        let error = S3ObjectStore::new(client)
            .head_object("models", "fraud/model.tar.gz")
            .await
            .unwrap_err();
        assert!(error.to_string().starts_with(expected), "{code}: {error}");
        assert_eq!(error.is_retryable(), code == 503, "{code}");
    }
}

#[tokio::test]
async fn a_listing_gives_keys_etags_and_whether_it_was_cut() {
    let list = mock!(Client::list_objects_v2)
        .match_requests(|request| {
            request.prefix() == Some("fraud/weights/") && request.max_keys() == Some(1000)
        })
        .then_output(|| {
            ListObjectsV2Output::builder()
                .contents(
                    Object::builder()
                        .key("fraud/weights/a.bin")
                        .e_tag("\"e1\"")
                        .build(),
                )
                .contents(
                    Object::builder()
                        .key("fraud/weights/b.bin")
                        .e_tag("\"e2\"")
                        .build(),
                )
                .is_truncated(true)
                .build()
        });
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&list]);
    let listing = S3ObjectStore::new(client)
        .list_objects("models", "fraud/weights/", 1000)
        .await
        .unwrap();
    assert_eq!(
        listing.objects,
        vec![
            ("fraud/weights/a.bin".to_owned(), "\"e1\"".to_owned()),
            ("fraud/weights/b.bin".to_owned(), "\"e2\"".to_owned()),
        ]
    );
    assert!(listing.truncated);
}
