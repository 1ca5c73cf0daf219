//! approval-propagation against the real local stack (moto's DynamoDB, SQS and SES; the registry
//! emulator; the governance emulator): a use case approval provisions its group, model group and one
//! email; a governance approval reaches the package and does not come back through registry-events;
//! repeats, SES failures and a governance outage change nothing about "exactly once".
//!
//! It lives here, beside the other tests that run more than one function, because registry-events
//! closes the loop. Each test uses the test kit's [`Lane`] (its own registry region, group prefix,
//! rules and queues), its own business entity, recipients and queues, so it runs beside any other test
//! binary on one stack. `local/test.sh` runs these with the
//! stack's environment; without it they fail, never skip.

use govsync_testkit::stack;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sagemaker::types::{InferenceSpecification, ModelPackageContainerDefinition};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::{SecondsFormat, Utc};
use govsync_adapters::aws::{dynamodb_client, sesv2_client, sqs_client};
use govsync_adapters::dynamodb::{DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::{GovernanceClient, TypeIds};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::ses::SesNotifier;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_approval_propagation::{Config, Function, Handler, Outcome, Ports, Settings};
use govsync_core::ports::{
    Email, Field, FieldValue, Governance, GovernanceKind, GovernanceObject, NewGovernanceObject,
    Notifier, NotifyError,
};
use govsync_core::sync::fields;
use govsync_core::{GovernanceId, RegistryMap};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use stack::{Feed, Lane, TEST_BUDGET, fifo_queue, sqs_event, the_one, written_back_model_id};

/// The stack's own governance API key secret (wiring.json).
const API_KEY_SECRET: &str = "govsync/governance-api-key";
const SENDER: &str = "govsync@example.com";

/// One test's governance side and approval-propagation setup, on a registry-events lane.
struct Scene {
    lane: Lane,
    entity: String,
    recipient: String,
    governance: GovernanceClient,
    decommission_queue: stack::Queue,
}

impl Scene {
    async fn open() -> Scene {
        let lane = Lane::open(Feed::Direct).await;
        let entity = format!("Retail Banking {}", lane.prefix);
        let recipient = format!("ds-{}@example.com", lane.prefix);
        let decommission_queue = fifo_queue(
            &lane.home_sqs,
            &format!("{}-decommission.fifo", lane.prefix),
            &[],
        )
        .await;
        let governance = lane.stack.governance();
        Scene {
            lane,
            entity,
            recipient,
            governance,
            decommission_queue,
        }
    }

    /// approval-propagation's configuration on this lane: its registry (region) mapped to the scene's
    /// business entity, its own DLQ and decommission queue, the local SES sender.
    fn config(&self, api_key_secret: &str) -> Config {
        let mut base = self.lane.stack.config_for(&stack::FunctionSetup {
            registry_region: self.lane.region.clone(),
            dlq_url: self.lane.quarantine_dlq.url.clone(),
            api_key_secret: api_key_secret.to_owned(),
            // The lane's tables: registry-events on the lane shares them (links, our-write ledger).
            idempotency_table: self.lane.table("govsync-idempotency"),
            links_table: self.lane.table("govsync-links"),
        });
        base.registries = RegistryMap::parse(
            &json!([{"account": self.lane.stack.account, "region": self.lane.region, "business_entity": self.entity}])
                .to_string(),
        )
        .unwrap();
        Config {
            base,
            sender: Some(SENDER.to_owned()),
            decommission_queue_url: self.decommission_queue.url.clone(),
            decision_bus: None,
        }
    }

    async fn function(&self, api_key_secret: &str) -> Function {
        Function::new(
            self.config(api_key_secret),
            &self.lane.stack.sdk(&self.lane.stack.access_key).await,
        )
        .await
        .unwrap()
    }

    /// The business entity and an approved use case named with the lane's prefix (so its group, named
    /// after it, is seen by the lane's rules).
    async fn approved_use_case(&self) -> GovernanceObject {
        let entity = self
            .governance
            .create_object(&NewGovernanceObject {
                kind: GovernanceKind::BusinessEntity,
                name: self.entity.clone(),
                description: None,
                parent_id: None,
                fields: vec![],
            })
            .await
            .unwrap();
        self.governance
            .create_object(&NewGovernanceObject {
                kind: GovernanceKind::UseCase,
                name: format!("{} credit risk", self.lane.prefix),
                description: None,
                parent_id: Some(entity.id.clone()),
                fields: vec![
                    Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                    Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
                    Field::text(fields::USE_CASE_TEAM_EMAIL, self.recipient.clone()),
                ],
            })
            .await
            .unwrap()
    }

    /// Emails moto's SES holds for this scene's recipient. moto's state dump can fail while other
    /// tests write to it at the same moment: a few attempts.
    async fn emails(&self) -> Vec<Value> {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{}/moto-api/data.json", self.lane.stack.moto_url);
        let mut attempt = 0;
        let data: Value = loop {
            attempt += 1;
            let answer = http.get(&url).send().await.unwrap();
            match answer.json::<Value>().await {
                Ok(data) => break data,
                Err(error) if attempt < 10 => {
                    eprintln!("moto data.json attempt {attempt}: {error}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("moto's data.json: {error}"),
            }
        };
        data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| {
                m["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|a| a == self.recipient.as_str()))
            })
            .collect()
    }

    /// A person sets the governance Model's status.
    async fn set_model_status(&self, model: &GovernanceId, status: &str) {
        self.governance
            .update_object(model, &[Field::choice(fields::MODEL_STATUS, status)], None)
            .await
            .unwrap();
    }

    /// Groups in the lane's registry carrying the scene's prefix.
    async fn groups(&self) -> Vec<String> {
        self.lane
            .person()
            .await
            .list_model_package_groups()
            .name_contains(&self.lane.prefix)
            .max_results(100)
            .send()
            .await
            .unwrap()
            .model_package_group_summary_list()
            .iter()
            .map(|g| g.model_package_group_name().unwrap_or_default().to_owned())
            .collect()
    }
}

/// The governance event for `object`, as an SQS batch of one (the queue's delivery).
fn event_for(object: &GovernanceId, delivery: &str) -> SqsEvent {
    let body = json!({
        "schema": "govsync.governance-event/v1",
        "source": "webhook",
        "delivery_id": delivery,
        "event_type": "object.updated",
        "object_id": object.as_str(),
        "object_type": null,
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "changed_fields": [],
    });
    serde_json::from_value(json!({"Records": [{
        "messageId": format!("m-{delivery}"),
        "receiptHandle": format!("rh-{delivery}"),
        "body": body.to_string(),
        "attributes": {"MessageGroupId": object.as_str(), "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
    }]}))
    .unwrap()
}

fn context() -> Context {
    let mut context = Context::default();
    context.deadline = u64::try_from(Utc::now().timestamp_millis() + 60_000).unwrap();
    context
}

/// Invokes the function with one batch; returns the ids reported failed.
async fn invoke(function: &Function, event: SqsEvent) -> Vec<String> {
    function
        .handle(LambdaEvent::new(event, context()))
        .await
        .unwrap()
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

fn last_modified(object: &GovernanceObject) -> Option<String> {
    object
        .field(fields::LAST_MODIFICATION_DATE)
        .and_then(FieldValue::as_text)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn approval_reaches_sagemaker_and_does_not_come_back_as_a_governance_change() {
    let started = Instant::now();
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let registry_events = registry_events(&scene.lane, API_KEY_SECRET).await;
    let use_case = scene.approved_use_case().await;

    // F1: the approval provisions the group, the model group and one email.
    assert!(
        invoke(&approval, event_for(&use_case.id, "uc-1"))
            .await
            .is_empty()
    );
    let groups = scene.groups().await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let group = groups[0].clone();
    assert_eq!(
        group,
        format!("{}-credit-risk-{}", scene.lane.prefix, use_case.id)
    );
    let group_arn = scene.lane.group_arn(&group);
    let tags = scene
        .lane
        .person()
        .await
        .list_tags()
        .resource_arn(&group_arn)
        .send()
        .await
        .unwrap();
    let tag = |key: &str| {
        tags.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(
        tag("govsync:use-case-id").as_deref(),
        Some(use_case.id.as_str())
    );
    assert_eq!(tag("govsync:business-entity"), Some(scene.entity.clone()));
    assert_eq!(tag("govsync:risk-level").as_deref(), Some("High"));
    let model_group = the_one(&scene.governance, GovernanceKind::ModelGroup, &group_arn).await;
    assert_eq!(model_group.primary_parent_id.as_ref(), Some(&use_case.id));
    let emails = scene.emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["source"], SENDER);
    assert!(emails[0]["subject"].as_str().unwrap().contains(&group));
    assert!(emails[0]["body"].as_str().unwrap().contains(&group_arn));

    // A data scientist registers a version; registry-events syncs it (F2).
    let person = scene.lane.person().await;
    let package_arn = person
        .create_model_package()
        .model_package_group_name(&group)
        .model_package_description("first version")
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image("123456789012.dkr.ecr.ap-northeast-3.amazonaws.com/xgboost:1")
                        .model_data_url(format!("s3://models/{group}/1/model.tar.gz"))
                        .build(),
                )
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .model_package_arn()
        .unwrap()
        .to_owned();
    scene
        .lane
        .deliver(&registry_events, TEST_BUDGET, || async {
            written_back_model_id(&person, &package_arn).await.is_some()
        })
        .await;
    let model = the_one(&scene.governance, GovernanceKind::Model, &package_arn).await;

    // F4: governance approves it for deployment.
    scene
        .set_model_status(&model.id, "Approved for Deployment")
        .await;
    assert!(
        invoke(&approval, event_for(&model.id, "m-1"))
            .await
            .is_empty()
    );
    let described = person
        .describe_model_package()
        .model_package_name(&package_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.model_approval_status().map(|s| s.as_str()),
        Some("Approved")
    );
    let lifecycle = described.model_life_cycle().unwrap();
    assert_eq!(
        (lifecycle.stage(), lifecycle.stage_status()),
        (Some("PreProduction"), Some("Approved"))
    );
    assert!(
        described
            .approval_description()
            .unwrap_or_default()
            .contains(model.id.as_str())
    );
    let governance_before = last_modified(&scene.governance.get_object(&model.id).await.unwrap());
    let package_before = described.last_modified_time().cloned();

    // registry-events works off every event the approval caused (state change, CloudTrail record):
    // governance is not written again, and nothing bounces back to SageMaker.
    tokio::time::sleep(Duration::from_millis(500)).await;
    scene
        .lane
        .deliver(&registry_events, TEST_BUDGET, || async { true })
        .await;
    let model_after = scene.governance.get_object(&model.id).await.unwrap();
    assert_eq!(
        last_modified(&model_after),
        governance_before,
        "governance was written again"
    );
    assert_eq!(
        model_after
            .field(fields::MODEL_STATUS)
            .and_then(FieldValue::as_text)
            .as_deref(),
        Some("Approved for Deployment")
    );
    let again = person
        .describe_model_package()
        .model_package_name(&package_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(again.last_modified_time().cloned(), package_before);
    assert!(scene.lane.quarantined().await.is_empty());
    // The governance change, delivered again, changes nothing either.
    assert!(
        invoke(&approval, event_for(&model.id, "m-2"))
            .await
            .is_empty()
    );
    assert_eq!(
        person
            .describe_model_package()
            .model_package_name(&package_arn)
            .send()
            .await
            .unwrap()
            .last_modified_time()
            .cloned(),
        package_before
    );
    assert!(started.elapsed() < TEST_BUDGET * 2);
    scene.lane.close().await;
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn the_same_approval_three_times_makes_one_group_and_one_email() {
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let use_case = scene.approved_use_case().await;
    for delivery in ["webhook-1", "webhook-retry", "poll-1"] {
        assert!(
            invoke(&approval, event_for(&use_case.id, delivery))
                .await
                .is_empty()
        );
    }
    assert_eq!(scene.groups().await.len(), 1);
    assert_eq!(scene.emails().await.len(), 1);
    let group_arn = scene.lane.group_arn(&scene.groups().await[0]);
    the_one(&scene.governance, GovernanceKind::ModelGroup, &group_arn).await;
    scene.lane.close().await;
}

/// SES through moto, failing the first `failures` sends with a throttling error (as SES answers
/// when its sending rate is exceeded).
struct FlakySes {
    inner: SesNotifier,
    failures: AtomicUsize,
}

impl Notifier for FlakySes {
    async fn send(&self, email: &Email) -> Result<String, NotifyError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(NotifyError::Throttled {
                message: "Maximum sending rate exceeded".into(),
            });
        }
        self.inner.send(email).await
    }
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn ses_failing_twice_then_succeeding_sends_exactly_one_email() {
    let scene = Scene::open().await;
    let config = scene.config(API_KEY_SECRET);
    let sdk = scene.lane.stack.sdk(&scene.lane.stack.access_key).await;
    let base = &config.base;
    let dynamodb = dynamodb_client(&sdk);
    let handler = Handler::new(
        Settings {
            registries: base.registries.clone(),
            mapping: base.mapping.clone(),
            console: base.console.clone(),
            sender: config.sender.clone(),
            type_ids: TypeIds::default(),
        },
        Ports {
            governance: Arc::new(
                govsync_lambda::clients::governance_client(base, &sdk)
                    .await
                    .unwrap(),
            ),
            registries: govsync_lambda::clients::registry_clients(base, &sdk)
                .await
                .unwrap(),
            idempotency: Arc::new(DynamoIdempotencyStore::new(
                dynamodb.clone(),
                base.idempotency_table.clone(),
            )),
            links: Arc::new(DynamoLinkStore::new(dynamodb, base.links_table.clone())),
            quarantine: Arc::new(SqsQuarantine::new(sqs_client(&sdk), base.dlq_url.clone())),
            notifier: Arc::new(FlakySes {
                inner: SesNotifier::new(sesv2_client(&sdk)),
                failures: AtomicUsize::new(2),
            }),
            decommission: Arc::new(SqsMessageQueue::new(
                sqs_client(&sdk),
                config.decommission_queue_url.clone(),
            )),
        },
    );
    let _: &Handler<_, SageMakerRegistry, _, _, _, _, _> = &handler;
    let use_case = scene.approved_use_case().await;
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let event = event_for(&use_case.id, "one-delivery");
        let report = handler
            .handle_batch(&event.records, Utc::now() + chrono::Duration::seconds(60))
            .await;
        outcomes.push(report.outcomes[0].1.clone());
    }
    assert_eq!(outcomes[0], Outcome::Failed("email"));
    assert_eq!(outcomes[1], Outcome::Failed("email"));
    assert!(
        matches!(outcomes[2], Outcome::Provisioned { .. }),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[3], Outcome::Duplicate);
    assert_eq!(scene.emails().await.len(), 1);
    assert_eq!(scene.groups().await.len(), 1);
    scene.lane.close().await;
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn governance_down_while_the_queue_holds_the_work_completes_once_it_returns() {
    let scene = Scene::open().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let admin = |path: &str| format!("{}/_emulator{path}", scene.lane.stack.governance_url);
    // A governance credential of this test's own, so its faults hit only this function's calls.
    let subject = scene.lane.governance_subject();
    let secret = scene
        .lane
        .own_governance_key(&format!("{}-api-key", scene.lane.prefix))
        .await;
    let approval = scene.function(&secret).await;
    let use_case = scene.approved_use_case().await;

    // The work waits in a FIFO queue (governance-events.fifo's shape) while governance answers 500:
    // eight faults outlast the client's four attempts per read twice, so two deliveries fail.
    let queue = fifo_queue(
        &scene.lane.home_sqs,
        &format!("{}-governance-events.fifo", scene.lane.prefix),
        &[],
    )
    .await;
    for delivery in ["a", "b"] {
        let record = &event_for(&use_case.id, delivery).records[0];
        scene
            .lane
            .home_sqs
            .send_message()
            .queue_url(&queue.url)
            .message_body(record.body.clone().unwrap())
            .message_group_id(use_case.id.as_str())
            .message_deduplication_id(delivery)
            .send()
            .await
            .unwrap();
    }
    let response = http
        .post(admin("/faults"))
        .json(&json!({"status": 500, "count": 8, "subject": subject}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // Deliver as Lambda's event source would until the queue is empty.
    let started = Instant::now();
    let mut failures = 0;
    loop {
        assert!(
            started.elapsed() < TEST_BUDGET,
            "the queue was not worked off"
        );
        let messages = scene
            .lane
            .home_sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        let failed = invoke(
            &approval,
            sqs_event(&messages, &scene.lane.stack.region, Some(&queue.arn)),
        )
        .await;
        failures += failed.len();
        for message in &messages {
            let receipt = message.receipt_handle().unwrap_or_default();
            if failed
                .iter()
                .any(|id| Some(id.as_str()) == message.message_id())
            {
                scene
                    .lane
                    .home_sqs
                    .change_message_visibility()
                    .queue_url(&queue.url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                scene
                    .lane
                    .home_sqs
                    .delete_message()
                    .queue_url(&queue.url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    assert!(failures >= 2, "the outage failed deliveries ({failures})");
    let left: Value = http
        .get(admin("/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !left["faults"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subject"] == subject.as_str()),
        "every injected fault was served: {left}"
    );
    // Nothing lost, nothing doubled.
    assert_eq!(scene.groups().await.len(), 1);
    assert_eq!(scene.emails().await.len(), 1);
    let group_arn = scene.lane.group_arn(&scene.groups().await[0]);
    the_one(&scene.governance, GovernanceKind::ModelGroup, &group_arn).await;
    assert!(scene.lane.quarantined().await.is_empty());
    let _ = scene
        .lane
        .home_sqs
        .delete_queue()
        .queue_url(&queue.url)
        .send()
        .await;
    scene.lane.close().await;
}

/// A version synced by registry-events and moved by its data scientist to Development / InProgress in
/// SageMaker: a `both` row (Under Development), so registry-events has set the governance status.
async fn a_version_under_development(
    scene: &Scene,
    approval: &Function,
    registry_events: &govsync_registry_events::Function,
) -> (aws_sdk_sagemaker::Client, String, GovernanceObject) {
    let use_case = scene.approved_use_case().await;
    assert!(
        invoke(approval, event_for(&use_case.id, "uc"))
            .await
            .is_empty()
    );
    let group = scene.groups().await[0].clone();
    let person = scene.lane.person().await;
    let package_arn = person
        .create_model_package()
        .model_package_group_name(&group)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image("123456789012.dkr.ecr.ap-northeast-3.amazonaws.com/xgboost:1")
                        .build(),
                )
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .model_package_arn()
        .unwrap()
        .to_owned();
    scene
        .lane
        .deliver(registry_events, TEST_BUDGET, || async {
            written_back_model_id(&person, &package_arn).await.is_some()
        })
        .await;
    let model = the_one(&scene.governance, GovernanceKind::Model, &package_arn).await;
    person
        .update_model_package()
        .model_package_arn(&package_arn)
        .model_life_cycle(
            aws_sdk_sagemaker::types::ModelLifeCycle::builder()
                .stage("Development")
                .stage_status("InProgress")
                .build(),
        )
        .send()
        .await
        .unwrap();
    scene
        .lane
        .deliver(registry_events, TEST_BUDGET, || async {
            model_status(&scene.governance, &model.id).await.as_deref() == Some("Under Development")
        })
        .await;
    (person, package_arn, model)
}

async fn model_status(governance: &GovernanceClient, id: &GovernanceId) -> Option<String> {
    governance
        .get_object(id)
        .await
        .unwrap()
        .field(fields::MODEL_STATUS)
        .and_then(FieldValue::as_text)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_sagemaker_driven_status_on_a_both_row_does_not_bounce_back_to_sagemaker() {
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let registry_events = registry_events(&scene.lane, API_KEY_SECRET).await;
    let (person, package_arn, model) =
        a_version_under_development(&scene, &approval, &registry_events).await;
    let before = person
        .describe_model_package()
        .model_package_name(&package_arn)
        .send()
        .await
        .unwrap();

    // That governance change reaches approval-propagation (webhook or poll): it is govsync's own write,
    // so nothing is written to SageMaker.
    assert!(
        invoke(&approval, event_for(&model.id, "status"))
            .await
            .is_empty()
    );
    let after = person
        .describe_model_package()
        .model_package_name(&package_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(after.last_modified_time(), before.last_modified_time());
    assert_eq!(after.approval_description(), before.approval_description());
    scene.lane.close().await;
}

/// Issue 13, 1, on the stack: after govsync wrote `Under Development` (a `both` row), the approver
/// approves the model for deployment, then sets `Under Development` again. The repeat is a decision:
/// SageMaker's approval is withdrawn, not kept because govsync once wrote the same status.
#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn an_approver_repeating_a_status_govsync_wrote_is_obeyed_not_taken_for_an_echo() {
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let registry_events = registry_events(&scene.lane, API_KEY_SECRET).await;
    let (person, package_arn, model) =
        a_version_under_development(&scene, &approval, &registry_events).await;
    let approval_of = || async {
        person
            .describe_model_package()
            .model_package_name(&package_arn)
            .send()
            .await
            .unwrap()
            .model_approval_status()
            .map(|status| status.as_str().to_owned())
    };
    // The echo of govsync's own write changes nothing.
    assert!(
        invoke(&approval, event_for(&model.id, "echo"))
            .await
            .is_empty()
    );
    for (step, status, expected) in [
        ("approve", "Approved for Deployment", "Approved"),
        ("repeat", "Under Development", "PendingManualApproval"),
    ] {
        scene
            .governance
            .update_object(
                &model.id,
                &[Field::choice(fields::MODEL_STATUS, status)],
                None,
            )
            .await
            .unwrap();
        assert!(
            invoke(&approval, event_for(&model.id, step))
                .await
                .is_empty()
        );
        assert_eq!(approval_of().await.as_deref(), Some(expected), "{step}");
        // registry-events sees approval-propagation's write and drops it as govsync's own.
        scene
            .lane
            .deliver(&registry_events, TEST_BUDGET, || async { true })
            .await;
        assert_eq!(
            model_status(&scene.governance, &model.id).await.as_deref(),
            Some(status),
            "{step}: no bounce back"
        );
    }
    scene.lane.close().await;
}

/// registry-events on `lane`, closing the loop: the echoes of approval-propagation's writes.
async fn registry_events(lane: &Lane, api_key_secret: &str) -> govsync_registry_events::Function {
    govsync_registry_events::Function::new(lane.config(api_key_secret), &lane.function_sdk().await)
        .await
        .unwrap()
}

/// A bus of the test's own on moto, with a rule putting govsync's decision events on an SQS queue.
struct DecisionCapture {
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    bus: String,
    rule: String,
    queue_url: String,
}

impl DecisionCapture {
    async fn open(scene: &Scene, bus: &str) -> DecisionCapture {
        let sdk = scene.lane.stack.sdk("testing").await;
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        events.create_event_bus().name(bus).send().await.unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{bus}-capture"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let rule = format!("{bus}-pipeline");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(
                json!({"source": ["govsync"], "detail-type": ["govsync Governance Decision Applied"]})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("capture")
                    .arn(queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        DecisionCapture {
            events,
            sqs,
            bus: bus.to_owned(),
            rule,
            queue_url,
        }
    }

    /// The events the rule delivered so far (taken off the queue).
    async fn received(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let messages = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for message in messages {
                out.push(serde_json::from_str(message.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    async fn close(self) {
        let _ = self
            .events
            .remove_targets()
            .rule(&self.rule)
            .event_bus_name(&self.bus)
            .ids("capture")
            .send()
            .await;
        let _ = self
            .events
            .delete_rule()
            .name(&self.rule)
            .event_bus_name(&self.bus)
            .send()
            .await;
        let _ = self.events.delete_event_bus().name(&self.bus).send().await;
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
    }
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn one_governance_approval_puts_one_schema_valid_decision_event_despite_a_lost_put_and_redeliveries()
 {
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let registry_events = registry_events(&scene.lane, API_KEY_SECRET).await;
    let (person, package_arn, model) =
        a_version_under_development(&scene, &approval, &registry_events).await;
    // approval-propagation publishing on a bus that does not exist yet: the put after the SageMaker
    // write fails, as if the process had died between the two.
    let bus = format!("{}-decisions", scene.lane.prefix);
    let publishing = Function::new(
        Config {
            decision_bus: Some(bus.clone()),
            ..scene.config(API_KEY_SECRET)
        },
        &scene.lane.stack.sdk(&scene.lane.stack.access_key).await,
    )
    .await
    .unwrap();
    scene
        .set_model_status(&model.id, "Approved for Deployment")
        .await;
    let failed = invoke(&publishing, event_for(&model.id, "decision-1")).await;
    assert_eq!(
        failed.len(),
        1,
        "the lost put leaves the message to be retried"
    );
    let described = person
        .describe_model_package()
        .model_package_name(&package_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.model_approval_status().map(|s| s.as_str()),
        Some("Approved"),
        "the SageMaker write was made"
    );

    // The bus is there now; SQS delivers the message again, a replay and a repeat follow, and
    // registry-events takes the approval's echo.
    let capture = DecisionCapture::open(&scene, &bus).await;
    for delivery in ["decision-1", "decision-1", "decision-1-replay"] {
        assert!(
            invoke(&publishing, event_for(&model.id, delivery))
                .await
                .is_empty()
        );
    }
    scene
        .lane
        .deliver(&registry_events, TEST_BUDGET, || async { true })
        .await;
    let events = capture.received().await;
    assert_eq!(events.len(), 1, "exactly one decision event: {events:#?}");
    let event = &events[0];
    assert_eq!(event["source"], "govsync");
    assert_eq!(event["detail-type"], "govsync Governance Decision Applied");
    let schema: Value = serde_json::from_str(govsync_core::decision_event::SCHEMA_V1).unwrap();
    govsync_testkit::json_schema::check(&schema, &event["detail"])
        .unwrap_or_else(|problem| panic!("{problem}: {event:#}"));
    let detail = &event["detail"];
    assert_eq!(detail["package_arn"], package_arn.as_str());
    assert_eq!(detail["approval_status"], "Approved");
    assert_eq!(detail["governance"]["model_id"], model.id.as_str());
    assert_eq!(detail["governance"]["status"], "Approved for Deployment");
    assert!(detail["use_case"]["id"].is_string(), "{detail:#}");
    capture.close().await;
    scene.lane.close().await;
}

/// Moto's S3 and ECR as the lane's registry account sees them: a versioned bucket and a repository.
struct Artifacts {
    s3: aws_sdk_s3::Client,
    ecr: aws_sdk_ecr::Client,
    bucket: String,
    repository: String,
    account: String,
    region: String,
}

impl Artifacts {
    async fn open(scene: &Scene) -> Artifacts {
        let sdk = scene.lane.stack.sdk_in("testing", &scene.lane.region).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        let ecr = aws_sdk_ecr::Client::new(&sdk);
        let bucket = format!("{}-models", scene.lane.prefix.to_ascii_lowercase());
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        scene.lane.region.as_str(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let repository = format!("{}/serve", scene.lane.prefix.to_ascii_lowercase());
        ecr.create_repository()
            .repository_name(&repository)
            .send()
            .await
            .unwrap();
        Artifacts {
            s3,
            ecr,
            bucket,
            repository,
            account: scene.lane.stack.account.clone(),
            region: scene.lane.region.clone(),
        }
    }

    async fn put_object(&self, key: &str, body: &str) -> String {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(
                body.as_bytes().to_vec(),
            ))
            .send()
            .await
            .unwrap();
        format!("s3://{}/{key}", self.bucket)
    }

    /// Pushes an image manifest (its layer named by `content`) under `tag`; returns the image URI.
    async fn tag(&self, tag: &str, content: &str) -> String {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                       "digest": format!("sha256:{}", "c".repeat(64))},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                        "digest": format!("sha256:{content}")}],
        });
        self.ecr
            .put_image()
            .repository_name(&self.repository)
            .image_manifest(manifest.to_string())
            .image_tag(tag)
            .send()
            .await
            .unwrap();
        format!(
            "{}.dkr.ecr.{}.amazonaws.com/{}:{tag}",
            self.account, self.region, self.repository
        )
    }
}

/// A version registered with these artifacts in the use case's group, synced, and approved by
/// governance through approval-propagation.
async fn an_approved_version(
    scene: &Scene,
    approval: &Function,
    registry_events: &govsync_registry_events::Function,
    group: &str,
    model_data: &str,
    image: &str,
) -> (String, GovernanceObject) {
    let person = scene.lane.person().await;
    let package_arn = person
        .create_model_package()
        .model_package_group_name(group)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image(image)
                        .model_data_url(model_data)
                        .build(),
                )
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .model_package_arn()
        .unwrap()
        .to_owned();
    scene
        .lane
        .deliver(registry_events, TEST_BUDGET, || async {
            written_back_model_id(&person, &package_arn).await.is_some()
        })
        .await;
    let model = the_one(&scene.governance, GovernanceKind::Model, &package_arn).await;
    scene
        .set_model_status(&model.id, "Approved for Deployment")
        .await;
    assert!(
        invoke(
            approval,
            event_for(&model.id, &format!("approve-{}", model.id))
        )
        .await
        .is_empty()
    );
    (package_arn, model)
}

async fn text_field(governance: &GovernanceClient, id: &GovernanceId, name: &str) -> String {
    governance
        .get_object(id)
        .await
        .unwrap()
        .field(name)
        .and_then(FieldValue::as_text)
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn artifacts_changed_after_approval_are_revoked_with_the_reason_and_an_unreadable_one_is_only_reported()
 {
    const FIELD: &str = "MRG-Model:Artifact Fingerprint";
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let registry_events = registry_events(&scene.lane, API_KEY_SECRET).await;
    let artifacts = Artifacts::open(&scene).await;
    let use_case = scene.approved_use_case().await;
    assert!(
        invoke(&approval, event_for(&use_case.id, "uc"))
            .await
            .is_empty()
    );
    let group = scene.groups().await[0].clone();
    let one = artifacts
        .put_object("one/model.tar.gz", "weights one")
        .await;
    let two = artifacts
        .put_object("two/model.tar.gz", "weights two")
        .await;
    let image_one = artifacts.tag("one", &"a".repeat(64)).await;
    let image_two = artifacts.tag("two", &"b".repeat(64)).await;
    let unreadable = format!("s3://{}-nowhere/model.tar.gz", artifacts.bucket);
    let (overwritten, model_one) = an_approved_version(
        &scene,
        &approval,
        &registry_events,
        &group,
        &one,
        &image_one,
    )
    .await;
    let (moved, model_two) = an_approved_version(
        &scene,
        &approval,
        &registry_events,
        &group,
        &two,
        &image_two,
    )
    .await;
    let (unverifiable, model_three) = an_approved_version(
        &scene,
        &approval,
        &registry_events,
        &group,
        &unreadable,
        &image_one,
    )
    .await;
    // The approvals were bound to what was read.
    let bound = text_field(&scene.governance, &model_one.id, FIELD).await;
    assert!(bound.contains(&format!("{one} = ETag ")), "{bound}");
    assert!(bound.contains(", version "), "a versioned bucket: {bound}");
    let bound = text_field(&scene.governance, &model_three.id, FIELD).await;
    assert!(bound.contains("unverifiable: not found"), "{bound}");

    // After approval: version one's object is overwritten, version two's tag moved.
    artifacts
        .put_object("one/model.tar.gz", "weights swapped")
        .await;
    artifacts.tag("two", &"d".repeat(64)).await;
    // Later, a data scientist edits each version's metadata: the events that find it.
    let person = scene.lane.person().await;
    for arn in [&overwritten, &moved, &unverifiable] {
        person
            .update_model_package()
            .model_package_arn(arn.as_str())
            .customer_metadata_properties("team", "credit-risk")
            .send()
            .await
            .unwrap();
    }
    let approval_of = |arn: String| {
        let person = person.clone();
        async move {
            let described = person
                .describe_model_package()
                .model_package_name(arn)
                .send()
                .await
                .unwrap();
            (
                described
                    .model_approval_status()
                    .map(|s| s.as_str().to_owned()),
                described
                    .approval_description()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    scene
        .lane
        .deliver(&registry_events, TEST_BUDGET, || async {
            approval_of(overwritten.clone()).await.0.as_deref() == Some("PendingManualApproval")
                && approval_of(moved.clone()).await.0.as_deref() == Some("PendingManualApproval")
        })
        .await;
    for (arn, model, what) in [
        (&overwritten, &model_one, "one/model.tar.gz is now ETag"),
        (&moved, &model_two, "serve:two is now sha256:"),
    ] {
        let (status, reason) = approval_of(arn.clone()).await;
        assert_eq!(status.as_deref(), Some("PendingManualApproval"));
        assert!(
            reason.contains("artifact changed since governance approved it"),
            "{reason}"
        );
        assert!(reason.contains(what), "{reason}");
        assert_eq!(
            model_status(&scene.governance, &model.id).await.as_deref(),
            Some("Candidate for Validation")
        );
        let note = text_field(&scene.governance, &model.id, FIELD).await;
        assert!(note.contains("govsync revoked the approval"), "{note}");
        assert!(note.contains(what), "{note}");
    }
    // Unreadable at approval and now: a finding, never a match, and nothing revoked.
    let (status, _) = approval_of(unverifiable.clone()).await;
    assert_eq!(status.as_deref(), Some("Approved"));
    assert_eq!(
        model_status(&scene.governance, &model_three.id)
            .await
            .as_deref(),
        Some("Approved for Deployment")
    );
    scene.lane.close().await;
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_shadow_approval_the_gate_reverts_publishes_no_decision_event() {
    let scene = Scene::open().await;
    let approval = scene.function(API_KEY_SECRET).await;
    let registry_events = registry_events(&scene.lane, API_KEY_SECRET).await;
    let (person, package_arn, model) =
        a_version_under_development(&scene, &approval, &registry_events).await;
    let bus = format!("{}-decisions", scene.lane.prefix);
    let capture = DecisionCapture::open(&scene, &bus).await;
    let publishing = Function::new(
        Config {
            decision_bus: Some(bus.clone()),
            ..scene.config(API_KEY_SECRET)
        },
        &scene.lane.stack.sdk(&scene.lane.stack.access_key).await,
    )
    .await
    .unwrap();
    // A person approves in SageMaker; governance has not approved.
    person
        .update_model_package()
        .model_package_arn(&package_arn)
        .model_approval_status(aws_sdk_sagemaker::types::ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap();
    let reverted = || async {
        person
            .describe_model_package()
            .model_package_name(&package_arn)
            .send()
            .await
            .unwrap()
            .model_approval_status()
            .map(|s| s.as_str().to_owned())
            == Some("PendingManualApproval".to_owned())
    };
    scene
        .lane
        .deliver(&registry_events, TEST_BUDGET, reverted)
        .await;
    // Whatever governance event follows about the Model, nothing was decided there to publish.
    assert!(
        invoke(&publishing, event_for(&model.id, "after-shadow"))
            .await
            .is_empty()
    );
    assert_eq!(
        model_status(&scene.governance, &model.id).await.as_deref(),
        Some("Under Development")
    );
    let events = capture.received().await;
    assert!(events.is_empty(), "no decision event: {events:#?}");
    capture.close().await;
    scene.lane.close().await;
}
