//! The model-link handler on fakes: what opens, what is refused, and why.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::http::Method;
use chrono::{DateTime, TimeZone as _, Utc};
use govsync_adapters::fakes::{FakeLinkStore, FakeRegistry};
use govsync_core::model_link::{LinkKeys, ModelLinks};
use govsync_core::model_package::ModelPackageArn;
use govsync_core::ports::{Link, LinkKind, LinkStore as _};
use govsync_core::secret::Secret;
use govsync_core::{GovernanceId, RegistryMap};
use govsync_model_link::{Handler, KeySource, Outcome};

const STUDIO_ACCOUNT: &str = "111111111111";
const CONSOLE_ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";
const KEY: &str = "model-link-key-0123456789abcdef0123456789abcdef";
const NEW_KEY: &str = "rotated-link-key-0123456789abcdef0123456789abc";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap()
}

fn package(account: &str) -> ModelPackageArn {
    ModelPackageArn::parse(&format!(
        "arn:aws:sagemaker:{REGION}:{account}:model-package/credit-risk/3"
    ))
    .unwrap()
}

fn registries() -> RegistryMap {
    RegistryMap::parse(&format!(
        r#"[{{"account":"{STUDIO_ACCOUNT}","region":"{REGION}","business_entity":"Retail",
             "studio_domain_id":"d-abc123","studio_user_profile":"reviewer","studio_url_expires_seconds":30}},
            {{"account":"{CONSOLE_ACCOUNT}","region":"{REGION}","business_entity":"Wealth"}}]"#
    ))
    .unwrap()
}

/// Keys read again after a rotation: whatever the test puts here.
struct SwappableKeys(std::sync::Mutex<LinkKeys>);

impl KeySource for &'static SwappableKeys {
    async fn read(&self) -> Result<LinkKeys, String> {
        Ok(self.0.lock().unwrap().clone())
    }
}

struct Setup {
    handler: Handler<FakeRegistry, FakeLinkStore, &'static SwappableKeys>,
    registry: Arc<FakeRegistry>,
    keys: &'static SwappableKeys,
}

async fn setup() -> Setup {
    let registry = Arc::new(FakeRegistry::new(STUDIO_ACCOUNT, REGION));
    registry.add_studio_profile("d-abc123", "reviewer");
    let console_registry = Arc::new(FakeRegistry::new(CONSOLE_ACCOUNT, REGION));
    let links = Arc::new(FakeLinkStore::new());
    for account in [STUDIO_ACCOUNT, CONSOLE_ACCOUNT] {
        links
            .put_link(&Link {
                kind: LinkKind::Model,
                arn: (&package(account)).into(),
                governance_id: GovernanceId::parse("4122").unwrap(),
            })
            .await
            .unwrap();
    }
    let map = registries();
    let keys: &'static SwappableKeys = Box::leak(Box::new(SwappableKeys(std::sync::Mutex::new(
        LinkKeys::from_current(KEY).unwrap(),
    ))));
    let handler = Handler::new(
        map.clone(),
        vec![
            (map.registries()[0].clone(), Arc::clone(&registry)),
            (map.registries()[1].clone(), console_registry),
        ],
        links,
        LinkKeys::from_current(KEY).unwrap(),
        keys,
        now(),
    );
    Setup {
        handler,
        registry,
        keys,
    }
}

fn link(key: &str, package: &ModelPackageArn) -> String {
    ModelLinks::new(
        "https://api.example.com/models/link",
        LinkKeys::from_current(key).unwrap(),
    )
    .unwrap()
    .link_for(package)
}

fn request(link: &str) -> ApiGatewayV2httpRequest {
    let mut request = ApiGatewayV2httpRequest::default();
    request.request_context.http.method = Method::GET;
    request.request_context.http.source_ip = Some("198.51.100.7".into());
    request.raw_query_string = link.split_once('?').map(|(_, query)| query.to_owned());
    request
}

fn header<'a>(
    response: &'a aws_lambda_events::apigw::ApiGatewayV2httpResponse,
    name: &str,
) -> &'a str {
    response.headers.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn a_valid_link_redirects_to_a_fresh_presigned_url_landing_on_the_version() {
    let setup = setup().await;
    let (outcome, response) = setup
        .handler
        .handle(&request(&link(KEY, &package(STUDIO_ACCOUNT))), now())
        .await;
    assert_eq!(response.status_code, 302, "{outcome:?}");
    assert!(header(&response, "location").starts_with("https://d-abc123.studio.eu-west-1"));
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(header(&response, "referrer-policy"), "no-referrer");
    let sign_ins = setup.registry.sign_ins();
    assert_eq!(sign_ins.len(), 1);
    assert_eq!(sign_ins[0].user_profile, "reviewer");
    assert_eq!(sign_ins[0].expires_in_seconds, 30);
    assert_eq!(
        sign_ins[0].landing_uri,
        "studio::models/registered-models/credit-risk/versions/3"
    );
    // Each opening is a new sign-in: the link itself is never a credential.
    let (_, again) = setup
        .handler
        .handle(&request(&link(KEY, &package(STUDIO_ACCOUNT))), now())
        .await;
    assert_ne!(header(&again, "location"), header(&response, "location"));
}

#[tokio::test]
async fn altered_foreign_and_unknown_key_links_are_refused_without_a_sign_in() {
    let setup = setup().await;
    let good = link(KEY, &package(STUDIO_ACCOUNT));
    let cases = [
        (
            good.replace("versions", "x").replace("%2F3", "%2F4"),
            "bad_signature",
        ),
        (
            good.replace(STUDIO_ACCOUNT, CONSOLE_ACCOUNT),
            "bad_signature",
        ),
        (link(KEY, &package("333333333333")), "foreign_registry"),
        (link(NEW_KEY, &package(STUDIO_ACCOUNT)), "unknown_key"),
        (format!("{good}&extra=1"), "malformed"),
        (
            "https://api.example.com/models/link".to_owned(),
            "malformed",
        ),
    ];
    for (link, reason) in cases {
        let (outcome, response) = setup.handler.handle(&request(&link), now()).await;
        assert_eq!(response.status_code, 403, "{link}: {outcome:?}");
        assert_eq!(outcome.code(), reason, "{link}");
        let body = match response.body {
            Some(aws_lambda_events::encodings::Body::Text(text)) => text,
            other => panic!("{other:?}"),
        };
        assert!(body.contains("cannot be opened"), "{body}");
    }
    assert!(setup.registry.sign_ins().is_empty());
}

#[tokio::test]
async fn a_link_of_a_retired_key_opens_until_its_time_and_a_rotation_needs_no_restart() {
    let setup = setup().await;
    let old_link = link(KEY, &package(STUDIO_ACCOUNT));
    let new_link = link(NEW_KEY, &package(STUDIO_ACCOUNT));
    // The secret is rotated: the new key signs, the old one is accepted until the end of the year.
    *setup.keys.0.lock().unwrap() = LinkKeys::parse(&Secret::new(format!(
        r#"{{"current":"{NEW_KEY}","previous":"{KEY}","previous_accepted_until":"2026-12-31T00:00:00Z"}}"#
    )))
    .unwrap();
    let later = now() + chrono::Duration::minutes(5);
    let (outcome, _) = setup.handler.handle(&request(&new_link), later).await;
    assert_eq!(outcome.code(), "redirected", "re-read on an unknown key");
    let (outcome, _) = setup.handler.handle(&request(&old_link), later).await;
    assert_eq!(
        outcome.code(),
        "redirected",
        "the retired key still verifies"
    );
    let next_year = Utc.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap();
    let (outcome, response) = setup.handler.handle(&request(&old_link), next_year).await;
    assert_eq!((outcome.code(), response.status_code), ("expired_key", 403));
}

#[tokio::test]
async fn a_registry_without_studio_gets_the_console_link_with_a_note() {
    let setup = setup().await;
    let (outcome, response) = setup
        .handler
        .handle(&request(&link(KEY, &package(CONSOLE_ACCOUNT))), now())
        .await;
    assert_eq!(response.status_code, 200);
    assert!(matches!(outcome, Outcome::ConsoleLink { .. }));
    let Some(aws_lambda_events::encodings::Body::Text(body)) = response.body else {
        panic!()
    };
    assert!(body.contains("console.aws.amazon.com/sagemaker"), "{body}");
    assert!(body.contains("no SageMaker Studio domain"), "{body}");
}

#[tokio::test]
async fn a_package_no_model_links_to_opens_nothing() {
    let setup = setup().await;
    let unlinked = ModelPackageArn::parse(&format!(
        "arn:aws:sagemaker:{REGION}:{STUDIO_ACCOUNT}:model-package/credit-risk/9"
    ))
    .unwrap();
    let (outcome, response) = setup
        .handler
        .handle(&request(&link(KEY, &unlinked)), now())
        .await;
    assert_eq!((response.status_code, outcome.code()), (410, "no_model"));
    assert!(setup.registry.sign_ins().is_empty());
}

#[tokio::test]
async fn only_get_opens_a_link() {
    let setup = setup().await;
    let mut post = request(&link(KEY, &package(STUDIO_ACCOUNT)));
    post.request_context.http.method = Method::POST;
    let (outcome, response) = setup.handler.handle(&post, now()).await;
    assert_eq!((response.status_code, outcome.code()), (403, "method"));
}
