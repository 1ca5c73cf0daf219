//! `load_sdk_config` honours `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>`.
//! One test in its own binary, because it sets process environment variables.

use govsync_adapters::aws::{RegistryTarget, dynamodb_client, load_sdk_config, sagemaker_client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers one request with `body` and returns the request's head (lower-cased).
async fn answer_once(listener: TcpListener, body: &'static str) -> String {
    let Ok((mut stream, _)) = listener.accept().await else {
        return String::new();
    };
    let mut head = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    String::from_utf8_lossy(&head).to_lowercase()
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|error| panic!("cannot bind: {error}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|error| panic!("no address: {error}"));
    (listener, format!("http://{address}"))
}

#[tokio::test]
async fn service_specific_and_global_endpoint_urls_from_the_environment_are_used() {
    let (sagemaker_listener, sagemaker_url) = bind().await;
    let (global_listener, global_url) = bind().await;
    // SAFETY: this binary runs this single test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_SAGEMAKER", &sagemaker_url);
        std::env::set_var("AWS_ENDPOINT_URL", &global_url);
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/govsync-test-config");
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/govsync-test-credentials",
        );
        std::env::set_var("AWS_MAX_ATTEMPTS", "1");
    }
    let sagemaker_server = tokio::spawn(answer_once(
        sagemaker_listener,
        r#"{"ModelPackageGroupSummaryList":[]}"#,
    ));
    let global_server = tokio::spawn(answer_once(global_listener, r#"{"TableNames":[]}"#));

    let base = load_sdk_config().await;
    let target = RegistryTarget {
        account_id: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        role_arn: None,
        external_id: None,
    };
    let sagemaker = sagemaker_client(&base, &target).await;
    let groups = sagemaker.list_model_package_groups().send().await;
    assert!(groups.is_ok(), "{groups:?}");
    let tables = dynamodb_client(&base).list_tables().send().await;
    assert!(tables.is_ok(), "{tables:?}");

    let sagemaker_head = sagemaker_server.await.unwrap_or_default();
    let global_head = global_server.await.unwrap_or_default();
    assert!(
        sagemaker_head.contains("x-amz-target: sagemaker.listmodelpackagegroups"),
        "{sagemaker_head}"
    );
    assert!(
        global_head.contains("x-amz-target: dynamodb_20120810.listtables"),
        "{global_head}"
    );
}
