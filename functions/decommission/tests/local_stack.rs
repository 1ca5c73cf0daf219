//! `Function::handle` against the real local stack (moto, the registry emulator, the governance
//! emulator): a package deleted with the SageMaker API reaches decommission.fifo through the
//! `govsync-decommission` rule and decommissions its governance model (F5); a use case decommissioned in
//! governance archives its packages (F6). `local/test.sh` runs these with the stack's environment; without
//! it they fail rather than skip.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sagemaker::types::{InferenceSpecification, ModelPackageContainerDefinition, Tag};
use govsync_adapters::governance::GovernanceClient;
use govsync_core::decommission_request::{DecommissionKind, DecommissionRequest};
use govsync_core::ports::{
    Field, FieldValue, Governance, GovernanceId, GovernanceKind, GovernanceObject,
    NewGovernanceObject,
};
use govsync_core::sync::fields;
use govsync_decommission::{Config, Function};
use govsync_testkit::stack::Stack;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

/// The decommission function's configuration on the test kit's stack.
trait DecommissionConfig {
    fn decommission_config(&self) -> Config;
}

impl DecommissionConfig for Stack {
    fn decommission_config(&self) -> Config {
        let vars: HashMap<&str, String> = HashMap::from([
            ("GOVSYNC_GOVERNANCE_URL", self.governance_url.clone()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_TOKEN_URL", self.token_url()),
            ("GOVSYNC_GOVERNANCE_API_KEY_SECRET", "govsync/governance-api-key".to_owned()),
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": self.account, "region": self.region, "business_entity": "Retail Banking"}])
                    .to_string(),
            ),
            ("GOVSYNC_WRITER_ROLE_ARNS", self.role_arn.clone()),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            ("GOVSYNC_IDEMPOTENCY_TABLE", "govsync-idempotency".to_owned()),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            ("GOVSYNC_DLQ_URL", self.queue_url("decommission-dlq.fifo")),
            ("GOVSYNC_DECOMMISSION_NOTE_FIELD", "MRG-Model:Decommission Note".to_owned()),
        ]);
        Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
    }
}

/// Receives from decommission.fifo and hands each batch to the function as Lambda would, deleting what
/// succeeded, until `done` holds (panics after 60 s).
async fn deliver_until<F, Fut>(
    stack: &Stack,
    function: &Function,
    sqs: &aws_sdk_sqs::Client,
    what: &str,
    mut done: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let queue = stack.queue_url("decommission.fifo");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if done().await {
            return;
        }
        govsync_testkit::stack::relay_ingest(
            sqs,
            stack,
            "decommission-ingest",
            "decommission.fifo",
        )
        .await;
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
                    .map(|map| map.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": message.message_id(),
                    "receiptHandle": message.receipt_handle(),
                    "body": message.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": format!("arn:aws:sqs:{}:{}:decommission.fifo", stack.region, stack.account),
                    "awsRegion": stack.region,
                })
            })
            .collect();
        let event: SqsEvent = serde_json::from_value(json!({"Records": records})).unwrap();
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap();
        let response = function
            .handle(LambdaEvent::new(event, context))
            .await
            .unwrap();
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|failure| failure.item_identifier)
            .collect();
        for message in &messages {
            if !failed
                .iter()
                .any(|id| Some(id.as_str()) == message.message_id())
            {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    panic!("{what} within 60 s");
}

async fn create(
    governance: &GovernanceClient,
    kind: GovernanceKind,
    name: &str,
    parent: Option<&GovernanceId>,
    fields: Vec<Field>,
) -> GovernanceObject {
    governance
        .create_object(&NewGovernanceObject {
            kind,
            name: name.to_owned(),
            description: None,
            parent_id: parent.cloned(),
            fields,
        })
        .await
        .unwrap()
}

async fn status(governance: &GovernanceClient, id: &GovernanceId, field: &str) -> Option<String> {
    governance
        .get_object(id)
        .await
        .unwrap()
        .field(field)
        .and_then(FieldValue::as_text)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_deleted_package_is_decommissioned_and_a_decommissioned_use_case_archives_its_packages() {
    let stack = Stack::from_env();
    let function = Function::new(
        stack.decommission_config(),
        &stack.sdk(&stack.access_key).await,
    )
    .await
    .unwrap();
    let governance = stack.governance();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk("testing").await);
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk("testing").await);
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();

    let entity = create(
        &governance,
        GovernanceKind::BusinessEntity,
        &format!("Retail {suffix}"),
        None,
        vec![],
    )
    .await;
    let use_case = create(
        &governance,
        GovernanceKind::UseCase,
        &format!("Churn {suffix}"),
        Some(&entity.id),
        vec![Field::choice(
            fields::USE_CASE_STATUS,
            "Approved for Development",
        )],
    )
    .await;
    let group_name = format!("churn-{suffix}");
    let group_arn = person
        .create_model_package_group()
        .model_package_group_name(&group_name)
        .tags(
            Tag::builder()
                .key("govsync:use-case-id")
                .value(use_case.id.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap()
        .model_package_group_arn
        .unwrap();
    let model_group = create(
        &governance,
        GovernanceKind::ModelGroup,
        &group_name,
        Some(&use_case.id),
        vec![Field::text(fields::EXTERNAL_ID, group_arn.clone())],
    )
    .await;
    let mut packages = Vec::new();
    let mut models = Vec::new();
    for version in 1..=2 {
        let arn = person
            .create_model_package()
            .model_package_group_name(&group_name)
            .inference_specification(
                InferenceSpecification::builder()
                    .containers(
                        ModelPackageContainerDefinition::builder()
                            .image(format!(
                                "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:{version}"
                            ))
                            .build(),
                    )
                    .supported_content_types("text/csv")
                    .supported_response_mime_types("text/csv")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .model_package_arn
            .unwrap();
        // Synced as registry-events would have it: a Model with the package ARN as External ID.
        models.push(
            create(
                &governance,
                GovernanceKind::Model,
                &format!("{group_name} version {version}"),
                Some(&model_group.id),
                vec![
                    Field::text(fields::EXTERNAL_ID, arn.clone()),
                    Field::choice(fields::MODEL_STATUS, "Under Development"),
                ],
            )
            .await,
        );
        packages.push(arn);
    }

    // F5: version 1 deleted in SageMaker.
    person
        .delete_model_package()
        .model_package_name(&packages[0])
        .send()
        .await
        .unwrap();
    deliver_until(
        &stack,
        &function,
        &sqs,
        "version 1's model was not decommissioned",
        || async {
            status(&governance, &models[0].id, fields::MODEL_STATUS)
                .await
                .as_deref()
                == Some("Decommissioned")
        },
    )
    .await;
    let note = status(&governance, &models[0].id, "MRG-Model:Decommission Note")
        .await
        .unwrap();
    assert!(note.contains("DeleteModelPackage"), "{note}");
    assert_eq!(
        status(&governance, &models[1].id, fields::MODEL_STATUS)
            .await
            .as_deref(),
        Some("Under Development")
    );

    // F6: the use case decommissioned in governance; approval-propagation's request on the queue.
    governance
        .update_object(
            &use_case.id,
            &[Field::choice(fields::USE_CASE_STATUS, "Decommissioned")],
            None,
        )
        .await
        .unwrap();
    let request = DecommissionRequest::new(
        DecommissionKind::UseCase,
        use_case.id.clone(),
        "retired",
        chrono::Utc::now(),
        "approval-propagation",
    )
    .unwrap();
    sqs.send_message()
        .queue_url(stack.queue_url("decommission.fifo"))
        .message_body(request.to_json())
        .message_group_id(request.message_group_id())
        .message_deduplication_id(request.deduplication_id())
        .send()
        .await
        .unwrap();
    let describe = || async {
        person
            .describe_model_package()
            .model_package_name(&packages[1])
            .send()
            .await
            .unwrap()
    };
    deliver_until(
        &stack,
        &function,
        &sqs,
        "version 2 was not archived",
        || async {
            describe()
                .await
                .model_life_cycle()
                .is_some_and(|lifecycle| lifecycle.stage() == Some("Archived"))
        },
    )
    .await;
    let archived = describe().await;
    let lifecycle = archived.model_life_cycle().unwrap();
    assert_eq!(lifecycle.stage_status(), Some("Retired"));
    assert_eq!(
        archived.model_approval_status().map(|s| s.as_str()),
        Some("Rejected")
    );
    assert!(
        lifecycle
            .stage_description()
            .is_some_and(|d| d.contains("retired"))
    );
}
