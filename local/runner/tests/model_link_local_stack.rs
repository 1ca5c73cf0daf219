//! model-link (and registry-events' Model Card merge) on the real local stack: registry-events (with model links) syncs a version whose data
//! scientist filled in its Model Card, then the Model's govsync link is opened through the real
//! function (`CreatePresignedDomainUrl` on the registry emulator through the SDK, keys from moto's
//! Secrets Manager, the link looked up in the lane's links table). `local/test.sh` runs it with the
//! stack's environment; without it, it fails, never skips.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::Method;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelCardStatus, ModelPackageContainerDefinition,
    ModelPackageModelCard, Tag,
};
use govsync_core::customer_metadata::keys;
use govsync_core::model_link::{LinkKeys, ModelLinks};
use govsync_core::model_package::ModelPackageArn;
use govsync_core::ports::{FieldValue, Governance as _, GovernanceKind};
use govsync_core::sync::fields;
use govsync_core::{GovernanceId, RegistryMap};
use govsync_model_link::{Config, Function};
use govsync_testkit::stack::{Feed, Lane, TEST_BUDGET, approved_use_case, the_one};
use serde_json::{Value, json};

const API_KEY_SECRET: &str = "govsync/governance-api-key";
/// The stack's model link keys (local/wiring.json).
const KEYS_SECRET: &str = "govsync/model-link-keys";
/// The lane region's Studio domain and reviewer profile (local/stack.sh).
const DOMAIN: &str = "d-lane000001";
const PROFILE: &str = "governance-reviewer";
const LINK_URL: &str = "https://links.example.com/models/link";

async fn secret(lane: &Lane, id: &str) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&lane.stack.sdk("testing").await);
    client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_owned()
}

async fn put_secret(lane: &Lane, name: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(&lane.stack.sdk("testing").await);
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

fn model_link_config(lane: &Lane, keys_secret: &str) -> Config {
    Config {
        registries: RegistryMap::parse(
            &json!([{
                "account": lane.stack.account,
                "region": lane.region,
                "business_entity": "Retail Banking",
                "studio_domain_id": DOMAIN,
                "studio_user_profile": PROFILE,
                "studio_url_expires_seconds": 30,
            }])
            .to_string(),
        )
        .unwrap(),
        spoke_role_name: None,
        spoke_external_id: None,
        links_table: lane.table("govsync-links"),
        keys_secret_id: keys_secret.to_owned(),
        metrics_namespace: None,
    }
}

fn request(link: &str) -> ApiGatewayV2httpRequest {
    let mut request = ApiGatewayV2httpRequest::default();
    request.request_context.http.method = Method::GET;
    request.request_context.http.source_ip = Some("127.0.0.1".into());
    request.raw_query_string = link.split_once('?').map(|(_, query)| query.to_owned());
    request
}

fn body(response: &ApiGatewayV2httpResponse) -> String {
    match &response.body {
        Some(Body::Text(text)) => text.clone(),
        other => panic!("{other:?}"),
    }
}

fn location(response: &ApiGatewayV2httpResponse) -> String {
    response
        .headers
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The data scientist's group (assigned to `use_case`) and a version with a Model Card of their own.
async fn register_with_card(lane: &Lane, use_case: &GovernanceId) -> (String, Value) {
    let person = lane.person().await;
    let group = lane.group("linked");
    person
        .create_model_package_group()
        .model_package_group_name(&group)
        .tags(
            Tag::builder()
                .key(keys::USE_CASE_ID)
                .value(use_case.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let card = json!({
        "model_overview": {"model_creator": "risk-ds", "model_artifact": ["s3://models/linked/1/model.tar.gz"]},
        "intended_uses": {"purpose_of_model": "score retail credit", "risk_rating": "Low",
                          "explanations_for_risk_rating": "internal only"},
        "business_details": {"business_problem": "defaults"},
        "additional_information": {"ethical_considerations": "reviewed",
                                   "custom_details": {"training_run": "run-42"}}
    });
    let arn = person
        .create_model_package()
        .model_package_group_name(&group)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image("123456789012.dkr.ecr.ap-northeast-3.amazonaws.com/xgb:1")
                        .model_data_url("s3://models/linked/1/model.tar.gz")
                        .build(),
                )
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .model_card(
            ModelPackageModelCard::builder()
                .model_card_content(card.to_string())
                .model_card_status(ModelCardStatus::Pendingreview)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .model_package_arn()
        .unwrap()
        .to_owned();
    (arn, card)
}

async fn described_card(lane: &Lane, arn: &str) -> (Value, String) {
    let described = lane
        .person()
        .await
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
        .unwrap();
    let card = described.model_card().unwrap();
    (
        serde_json::from_str(card.model_card_content().unwrap()).unwrap(),
        card.model_card_status().unwrap().as_str().to_owned(),
    )
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_synced_models_link_opens_studio_and_its_card_keeps_the_data_scientists_content() {
    let lane = Lane::open(Feed::Direct).await;
    let sdk = lane.function_sdk().await;
    let keys = LinkKeys::parse(&secret(&lane, KEYS_SECRET).await.into()).unwrap();
    let links = ModelLinks::new(LINK_URL, keys).unwrap();
    let registry_events = govsync_registry_events::Function::with_model_links(
        lane.config(API_KEY_SECRET),
        Some(links.clone()),
        &sdk,
    )
    .await
    .unwrap();
    let governance = lane.stack.governance();
    let use_case = approved_use_case(&governance, &lane.prefix).await;
    let (arn, written) = register_with_card(&lane, &use_case.id).await;
    lane.deliver(&registry_events, TEST_BUDGET, || async { true })
        .await;

    // F2: the Model carries the signed link; the card keeps every field and gains governance's.
    let model = the_one(&governance, GovernanceKind::Model, &arn).await;
    let package = ModelPackageArn::parse(&arn).unwrap();
    let link = links.link_for(&package);
    assert_eq!(
        model
            .field(fields::THIRD_PARTY_LINK)
            .and_then(FieldValue::as_text)
            .as_deref(),
        Some(link.as_str())
    );
    let (card, status) = described_card(&lane, &arn).await;
    assert_eq!(
        status, "PendingReview",
        "the card's status is the data scientist's"
    );
    for (section, fields_written) in written.as_object().unwrap() {
        for (name, value) in fields_written.as_object().unwrap() {
            if name == "custom_details" {
                continue;
            }
            assert_eq!(&card[section][name], value, "{section}.{name} kept");
        }
    }
    let details = &card["additional_information"]["custom_details"];
    assert_eq!(
        details["training_run"], "run-42",
        "their custom detail kept"
    );
    assert_eq!(
        card["intended_uses"]["risk_rating"], "Low",
        "their rating kept"
    );
    assert_eq!(
        details["govsync_risk_level"], "High",
        "governance's beside it"
    );
    assert_eq!(details["govsync_use_case_id"], use_case.id.as_str());
    assert_eq!(details["govsync_model_id"], model.id.as_str());
    assert_eq!(
        card["business_details"]["line_of_business"],
        "Retail Banking"
    );
    // The card write came back as events (state change, CloudTrail): nothing of it reached governance.
    lane.deliver(&registry_events, TEST_BUDGET, || async { true })
        .await;
    assert_eq!(
        governance.get_object(&model.id).await.unwrap(),
        model,
        "govsync's card write is not a change of the Model"
    );

    // The link redirects to a fresh presigned Studio URL that lands on the version.
    let function = Function::new(model_link_config(&lane, KEYS_SECRET), &sdk)
        .await
        .unwrap();
    let response = function.handle(request(&link)).await;
    assert_eq!(response.status_code, 302, "{}", body(&response));
    let presigned = location(&response);
    let page = reqwest::get(&presigned).await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "{presigned}");
    let page = page.text().await.unwrap();
    let group = package.group_name().as_str();
    assert!(page.contains(PROFILE) && page.contains(DOMAIN), "{page}");
    assert!(
        page.contains(&format!(
            "studio::models/registered-models/{group}/versions/1"
        )),
        "{page}"
    );
    let again = function.handle(request(&link)).await;
    assert_ne!(
        location(&again),
        presigned,
        "every opening is a fresh sign-in"
    );

    // Refused: altered, another account's package, another deployment's key.
    let altered = link.replace("%2F1&", "%2F2&");
    let response = function.handle(request(&altered)).await;
    assert_eq!(response.status_code, 403, "{}", body(&response));
    assert!(body(&response).contains("altered"), "{}", body(&response));
    let foreign =
        ModelPackageArn::parse(&arn.replace(&lane.stack.account, "999999999999")).unwrap();
    let response = function.handle(request(&links.link_for(&foreign))).await;
    assert_eq!(response.status_code, 403);
    assert!(body(&response).contains("not a registry this deployment governs"));
    let theirs = ModelLinks::new(
        LINK_URL,
        LinkKeys::from_current("another-deployments-key-0123456789abcdef").unwrap(),
    )
    .unwrap();
    let response = function.handle(request(&theirs.link_for(&package))).await;
    assert_eq!(response.status_code, 403);
    lane.assert_nothing_lost().await;
    lane.close().await;
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_link_signed_by_a_key_past_its_acceptance_is_refused_as_expired() {
    let lane = Lane::open(Feed::Direct).await;
    let sdk = lane.function_sdk().await;
    let old_key = format!("old-link-key-{}-0123456789abcdef", lane.prefix);
    let new_key = format!("new-link-key-{}-0123456789abcdef", lane.prefix);
    // A rotation whose acceptance period for the old key has already ended.
    let rotated = format!("{}/model-link-keys", lane.prefix);
    put_secret(
        &lane,
        &rotated,
        &json!({"current": new_key, "previous": old_key,
                "previous_accepted_until": "2020-01-01T00:00:00Z"})
        .to_string(),
    )
    .await;
    let function = Function::new(model_link_config(&lane, &rotated), &sdk)
        .await
        .unwrap();
    let package = ModelPackageArn::parse(&format!(
        "arn:aws:sagemaker:{}:{}:model-package/{}/1",
        lane.region,
        lane.stack.account,
        lane.group("expired")
    ))
    .unwrap();
    let old = ModelLinks::new(LINK_URL, LinkKeys::from_current(&old_key).unwrap()).unwrap();
    let response = function.handle(request(&old.link_for(&package))).await;
    assert_eq!(response.status_code, 403, "{}", body(&response));
    assert!(
        body(&response).contains("acceptance period has ended"),
        "{}",
        body(&response)
    );
    // The current key's link gets past verification (and, unlinked, opens nothing).
    let current = ModelLinks::new(LINK_URL, LinkKeys::from_current(&new_key).unwrap()).unwrap();
    let response = function.handle(request(&current.link_for(&package))).await;
    assert_eq!(response.status_code, 410, "{}", body(&response));
    lane.close().await;
}
