//! `Function::handle` against the real local stack (moto, the registry emulator, the governance
//! emulator): a version registered with boto3-equivalent calls appears in governance under its use
//! case, is written back, and an out-of-band approval is reverted by the gate. `local/test.sh` runs
//! these with the stack's environment; without it they fail rather than skip.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, Tag,
};
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    ExternalIdLookup, Field, FieldValue, Governance, GovernanceKind, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use govsync_core::sync::fields;
use govsync_registry_events::{Config, Function};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

struct Stack {
    moto_url: String,
    governance_url: String,
    account: String,
    role_arn: String,
    access_key: String,
    region: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the local stack (local/stack.sh up; source its stack.env) or local/test.sh")
    })
}

impl Stack {
    fn from_env() -> Self {
        // The SDK reads these itself; check them so a missing stack fails clearly.
        var("AWS_ENDPOINT_URL");
        var("AWS_ENDPOINT_URL_SAGEMAKER");
        Self {
            moto_url: var("GOVSYNC_MOTO_URL"),
            governance_url: var("GOVSYNC_GOVERNANCE_URL"),
            account: var("GOVSYNC_ACCOUNT_ID"),
            role_arn: var("GOVSYNC_ROLE_ARN"),
            access_key: var("GOVSYNC_ACCESS_KEY_ID"),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        }
    }

    fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.moto_url, self.account)
    }

    fn token_url(&self) -> String {
        format!(
            "{}/api/2.0/services/local/apikeys/token",
            self.governance_url
        )
    }

    /// The function's configuration, as the runner sets it.
    fn config(&self) -> Config {
        let vars: HashMap<&str, String> = HashMap::from([
            ("GOVSYNC_GOVERNANCE_URL", self.governance_url.clone()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_TOKEN_URL", self.token_url()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "govsync/governance-api-key".to_owned(),
            ),
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": self.account, "region": self.region, "business_entity": "Retail Banking"}])
                    .to_string(),
            ),
            ("GOVSYNC_WRITER_ROLE_ARNS", self.role_arn.clone()),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            ("GOVSYNC_IDEMPOTENCY_TABLE", "govsync-idempotency".to_owned()),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            ("GOVSYNC_DLQ_URL", self.queue_url("registry-events-dlq.fifo")),
        ]);
        Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
    }

    /// SDK config with the given access key (endpoints from the stack's environment).
    async fn sdk(&self, access_key: &str) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                access_key,
                "testing",
                None,
                None,
                "local-stack",
            ))
            .load()
            .await
    }
}

/// Receives from registry-events.fifo and hands each batch to the function as Lambda would,
/// deleting what succeeded, until `done` holds or the time is up.
async fn deliver_until<F, Fut>(
    stack: &Stack,
    function: &Function,
    sqs: &aws_sdk_sqs::Client,
    mut done: F,
) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let queue = stack.queue_url("registry-events.fifo");
    let started = Instant::now();
    let mut handled = 0;
    while started.elapsed() < Duration::from_secs(60) {
        if done().await {
            return handled;
        }
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|message| {
                let attributes: HashMap<String, String> = message
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": message.message_id(),
                    "receiptHandle": message.receipt_handle(),
                    "body": message.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "awsRegion": stack.region,
                })
            })
            .collect();
        let payload: SqsEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap();
        let response = function
            .handle(LambdaEvent::new(payload, context))
            .await
            .unwrap();
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        for message in &messages {
            let id = message.message_id().unwrap_or_default().to_owned();
            if failed.contains(&id) {
                sqs.change_message_visibility()
                    .queue_url(&queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
                handled += 1;
            }
        }
    }
    panic!("the expected state did not appear within 60 s ({handled} messages handled)");
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn registered_versions_appear_in_governance_written_back_and_gated() {
    govsync_registry_events::logging::init();
    let stack = Stack::from_env();
    let function = Function::new(stack.config(), &stack.sdk(&stack.access_key).await)
        .await
        .unwrap();

    // Governance: a business entity and an approved use case.
    let governance = GovernanceClient::new(GovernanceConfig::new(
        stack.governance_url.clone(),
        GovernanceAuth::Mcsp {
            token_url: stack.token_url(),
            api_key: Secret::new("local-api-key"),
        },
    ))
    .unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("Retail Banking {suffix}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    let use_case = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: format!("Card fraud {suffix}"),
            description: Some("Detect card fraud".into()),
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
            ],
        })
        .await
        .unwrap();

    // A data scientist (another identity) creates the group and registers a version.
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk("testing").await);
    let group = format!("card-fraud-{suffix}");
    person
        .create_model_package_group()
        .model_package_group_name(&group)
        .tags(
            Tag::builder()
                .key(keys::USE_CASE_ID)
                .value(use_case.id.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let container = ModelPackageContainerDefinition::builder()
        .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
        .model_data_url(format!("s3://models/{group}/1/model.tar.gz"))
        .build();
    let created = person
        .create_model_package()
        .model_package_group_name(&group)
        .model_package_description("first version")
        .inference_specification(
            InferenceSpecification::builder()
                .containers(container)
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let package_arn = created.model_package_arn().unwrap().to_owned();

    let sqs = aws_sdk_sqs::Client::new(&stack.sdk("testing").await);
    let describe = || async {
        person
            .describe_model_package()
            .model_package_name(&package_arn)
            .send()
            .await
            .unwrap()
    };
    deliver_until(&stack, &function, &sqs, || async {
        describe()
            .await
            .customer_metadata_properties()
            .is_some_and(|m| m.contains_key(keys::MODEL_ID))
    })
    .await;

    let ExternalIdLookup::Found(model) = governance
        .find_by_external_id(GovernanceKind::Model, &package_arn)
        .await
        .unwrap()
    else {
        panic!("no governance model for {package_arn}")
    };
    let text = |name: &str| model.field(name).and_then(FieldValue::as_text);
    assert_eq!(text(fields::MODEL_VERSION).as_deref(), Some("1"));
    assert_eq!(
        text(fields::MODEL_PROVIDER).as_deref(),
        Some("Amazon SageMaker")
    );
    assert_eq!(
        text(fields::INFERENCE_IMAGE).as_deref(),
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
    );
    let model_group = governance
        .get_object(model.primary_parent_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(model_group.primary_parent_id.as_ref(), Some(&use_case.id));

    let described = describe().await;
    let metadata = described.customer_metadata_properties().unwrap();
    assert_eq!(metadata.get(keys::MODEL_ID), Some(&model.id.to_string()));
    assert_eq!(
        metadata.get(keys::MODEL_GROUP_ID),
        Some(&model_group.id.to_string())
    );
    assert_eq!(
        metadata.get(keys::USE_CASE_ID),
        Some(&use_case.id.to_string())
    );
    assert_eq!(
        metadata.get(keys::RISK_LEVEL).map(String::as_str),
        Some("High")
    );

    // Out-of-band approval in SageMaker: the gate reverts it.
    person
        .update_model_package()
        .model_package_arn(&package_arn)
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap();
    deliver_until(&stack, &function, &sqs, || async {
        describe().await.model_approval_status()
            == Some(&ModelApprovalStatus::PendingManualApproval)
    })
    .await;
    let reverted = describe().await;
    assert!(
        reverted
            .approval_description()
            .is_some_and(|d| d.contains("without a governance approval"))
    );

    // The echoes of govsync's writes change nothing: still one model for the package.
    let ExternalIdLookup::Found(_) = governance
        .find_by_external_id(GovernanceKind::Model, &package_arn)
        .await
        .unwrap()
    else {
        panic!("the model must still be there, once")
    };
}
