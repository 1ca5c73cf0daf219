//! The real local stack (moto, the registry emulator, the governance emulator) for the `local_stack*`
//! tests: the stack's environment, the functions' shared configuration, and delivering a queue's
//! messages to a function ([`SqsFunction`]) as Lambda's SQS event source would.
//!
//! [`Lane`] gives a test its own path through the stack, so tests of any binary can run at the same
//! time: its packages live in their own registry region ([`LANE_REGION`], where the shared wiring has
//! no rules), under a unique group-name prefix; EventBridge rules mirroring `local/wiring.json`'s
//! registry-events rules, narrowed to that prefix, feed its own FIFO queue (with a redrive DLQ, as
//! wiring.json declares it), and the function quarantines into its own FIFO DLQ. Nothing in the shared
//! `registry-events.fifo` is read or deleted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    ExternalIdLookup, Field, Governance, GovernanceKind, GovernanceObject, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use govsync_core::sync::fields;
use govsync_lambda::SqsFunction;
use govsync_lambda::config::Config;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

/// The registry region of every lane: no shared rule exists there, so its events reach only the
/// lanes' own rules (each narrowed to its own group prefix).
pub const LANE_REGION: &str = "ap-northeast-3";
/// The message group EventBridge gives registry-events (wiring.json).
pub const MESSAGE_GROUP: &str = "registry-events";
/// The API key the governance emulator is started with (and the stack's secret holds).
pub const GOVERNANCE_API_KEY: &str = "local-api-key";
/// What a test may take at most; every test finishes well within it.
pub const TEST_BUDGET: Duration = Duration::from_secs(60);
/// The cap for a load test (hundreds of messages). Alone it takes about half a minute; moto serves
/// every lane's SQS, EventBridge and DynamoDB calls on one Python process, so when whole test runs
/// share one stack it can take longer without anything being wrong.
pub const LOAD_BUDGET: Duration = Duration::from_secs(150);

pub struct Stack {
    pub moto_url: String,
    pub governance_url: String,
    pub account: String,
    pub role_arn: String,
    pub access_key: String,
    pub region: String,
}

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the local stack (local/stack.sh up; source its stack.env) or local/test.sh")
    })
}

impl Stack {
    pub fn from_env() -> Self {
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

    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.moto_url, self.account)
    }

    pub fn token_url(&self) -> String {
        format!(
            "{}/api/2.0/services/local/apikeys/token",
            self.governance_url
        )
    }

    /// The function's configuration, as the runner sets it.
    pub fn config(&self) -> Config {
        self.config_for(&FunctionSetup {
            registry_region: self.region.clone(),
            dlq_url: self.queue_url("registry-events-dlq.fifo"),
            api_key_secret: "govsync/governance-api-key".to_owned(),
            idempotency_table: "govsync-idempotency".to_owned(),
            links_table: "govsync-links".to_owned(),
        })
    }

    /// The function's configuration for one registry region, DLQ and governance API key secret.
    /// The function's configuration for one registry region, DLQ, governance API key secret and
    /// tables.
    pub fn config_for(&self, setup: &FunctionSetup) -> Config {
        let vars: HashMap<&str, String> = HashMap::from([
            ("GOVSYNC_GOVERNANCE_URL", self.governance_url.clone()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_TOKEN_URL", self.token_url()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                setup.api_key_secret.clone(),
            ),
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": self.account, "region": setup.registry_region, "business_entity": "Retail Banking"}])
                    .to_string(),
            ),
            ("GOVSYNC_WRITER_ROLE_ARNS", self.role_arn.clone()),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            ("GOVSYNC_IDEMPOTENCY_TABLE", setup.idempotency_table.clone()),
            ("GOVSYNC_LINKS_TABLE", setup.links_table.clone()),
            ("GOVSYNC_DLQ_URL", setup.dlq_url.clone()),
        ]);
        Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
    }

    /// SDK config with the given access key (endpoints from the stack's environment).
    pub async fn sdk(&self, access_key: &str) -> aws_config::SdkConfig {
        self.sdk_in(access_key, &self.region).await
    }

    /// SDK config with the given access key in `region`.
    pub async fn sdk_in(&self, access_key: &str, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
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

    /// A governance client with the stack's API key (not scoped by any test's faults).
    pub fn governance(&self) -> GovernanceClient {
        GovernanceClient::new(GovernanceConfig::new(
            self.governance_url.clone(),
            GovernanceAuth::Mcsp {
                token_url: self.token_url(),
                api_key: Secret::new(GOVERNANCE_API_KEY),
            },
        ))
        .unwrap()
    }
}

/// What differs between the shared wiring and a lane's function.
pub struct FunctionSetup {
    pub registry_region: String,
    pub dlq_url: String,
    pub api_key_secret: String,
    pub idempotency_table: String,
    pub links_table: String,
}

/// Receives from registry-events.fifo and hands each batch to the function as Lambda would,
/// deleting what succeeded, until `done` holds or the time is up.
pub async fn deliver_until<F, Fut>(
    stack: &Stack,
    function: &impl SqsFunction,
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
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        let payload = sqs_event(&messages, &stack.region, None);
        let failed = invoke(function, payload).await;
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

/// The Lambda SQS event for received messages (system attributes kept, as the event source does).
pub fn sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
    region: &str,
    queue_arn: Option<&str>,
) -> SqsEvent {
    let records: Vec<Value> = messages
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
            let mut record = json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": region,
            });
            if let Some(arn) = queue_arn {
                record["eventSourceARN"] = json!(arn);
            }
            record
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Invokes the function with one batch (60 s deadline); returns the ids it reported as failed.
pub async fn invoke(function: &impl SqsFunction, payload: SqsEvent) -> Vec<String> {
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap();
    let response = function
        .handle(LambdaEvent::new(payload, context))
        .await
        .unwrap();
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

/// One FIFO queue in moto.
#[derive(Debug, Clone)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

/// A message read from a queue (received and deleted).
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    pub attributes: HashMap<String, String>,
}

impl Received {
    pub fn envelope(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// What a delivery run did.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub batches: usize,
    /// Messages handled and deleted.
    pub deleted: usize,
    /// Batch item failures the function reported (each returned to the queue).
    pub reported_failures: usize,
    /// The highest `ApproximateReceiveCount` seen: above 1 means redeliveries happened.
    pub max_receive_count: u32,
    pub elapsed: Duration,
    /// Of `elapsed`, the time spent inside `Function::handle`.
    pub in_function: Duration,
}

/// Where a lane's EventBridge rules deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// The rules target the work queue: the function gets the events as EventBridge delivers them.
    Direct,
    /// The rules target a capture queue; the test picks events from it and sends them to the work
    /// queue itself (repeats, reordering, poison among them).
    Capture,
}

/// One test's private path through the stack (see the module documentation).
pub struct Lane {
    pub stack: Stack,
    /// Unique, lowercase; every group of the lane starts with it.
    pub prefix: String,
    pub region: String,
    /// SQS in the lane's region (work, capture, redrive DLQ).
    pub sqs: aws_sdk_sqs::Client,
    /// SQS in the function's region (its quarantine DLQ).
    pub home_sqs: aws_sdk_sqs::Client,
    pub work: Queue,
    pub redrive_dlq: Queue,
    pub capture: Option<Queue>,
    /// The function's DLQ (`GOVSYNC_DLQ_URL`), in the function's region.
    pub quarantine_dlq: Queue,
    pub dynamodb: aws_sdk_dynamodb::Client,
    rules: Vec<String>,
    own_tables: Vec<String>,
    http: reqwest::Client,
}

fn wiring() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../local/wiring.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

impl Lane {
    /// Makes the lane's queues and rules.
    pub async fn open(feed: Feed) -> Lane {
        govsync_lambda::logging::init();
        let stack = Stack::from_env();
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let prefix = format!("re{suffix}");
        let region = LANE_REGION.to_owned();
        let sqs = aws_sdk_sqs::Client::new(&stack.sdk_in("testing", &region).await);
        let home_sqs = aws_sdk_sqs::Client::new(&stack.sdk("testing").await);
        let wiring = wiring();
        let queue = wiring["queues"]
            .as_array()
            .and_then(|queues| queues.iter().find(|q| q["name"] == "registry-events.fifo"))
            .cloned()
            .expect("wiring.json declares registry-events.fifo");
        let redrive_dlq = fifo_queue(&sqs, &format!("{prefix}-redrive-dlq.fifo"), &[]).await;
        let redrive = json!({
            "deadLetterTargetArn": redrive_dlq.arn,
            "maxReceiveCount": queue["max_receive_count"].as_u64().unwrap().to_string(),
        });
        let work = fifo_queue(
            &sqs,
            &format!("{prefix}-work.fifo"),
            &[
                (
                    QueueAttributeName::ContentBasedDeduplication,
                    queue["content_based_deduplication"].to_string(),
                ),
                (
                    QueueAttributeName::VisibilityTimeout,
                    queue["visibility_timeout_seconds"].to_string(),
                ),
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
            ],
        )
        .await;
        let capture = match feed {
            Feed::Direct => None,
            Feed::Capture => Some(fifo_queue(&sqs, &format!("{prefix}-capture.fifo"), &[]).await),
        };
        let quarantine_dlq = fifo_queue(&home_sqs, &format!("{prefix}-dlq.fifo"), &[]).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk("testing").await);
        let mut tables = Vec::new();
        for table in wiring["tables"].as_array().unwrap() {
            let name = table["name"].as_str().unwrap();
            if ["govsync-idempotency", "govsync-links"].contains(&name) {
                let own = format!("{prefix}-{name}");
                create_table(&dynamodb, &own, table).await;
                tables.push(own);
            }
        }
        assert_eq!(
            tables.len(),
            2,
            "wiring.json declares the idempotency and links tables"
        );
        let mut lane = Lane {
            stack,
            prefix,
            region,
            sqs,
            home_sqs,
            work,
            redrive_dlq,
            capture,
            quarantine_dlq,
            dynamodb,
            rules: Vec::new(),
            own_tables: tables,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        let target = lane.capture.clone().unwrap_or_else(|| lane.work.clone());
        let rules: Vec<Value> = wiring["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|rule| rule["target_queue"] == "registry-events.fifo")
            .cloned()
            .collect();
        assert!(!rules.is_empty(), "wiring.json has registry-events rules");
        for rule in rules {
            let name = format!("{}-{}", lane.prefix, rule["name"].as_str().unwrap());
            let pattern = lane.narrowed(&rule["event_pattern"]);
            lane.events(
                "PutRule",
                json!({"Name": name, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
            )
            .await;
            lane.events(
                "PutTargets",
                json!({"Rule": name, "Targets": [{
                    "Id": "lane",
                    "Arn": target.arn,
                    "SqsParameters": {"MessageGroupId": rule["message_group_id"]},
                }]}),
            )
            .await;
            lane.rules.push(name);
        }
        lane
    }

    /// A wiring pattern narrowed to this lane's groups (state changes name the group; CloudTrail
    /// records name it, or a package ARN under it, in their request parameters).
    fn narrowed(&self, pattern: &Value) -> Value {
        let mut pattern = pattern.clone();
        let prefix = json!([{ "prefix": self.prefix }]);
        let arn_prefix = json!([{ "prefix": format!(
            "arn:aws:sagemaker:{}:{}:model-package/{}",
            self.region, self.stack.account, self.prefix
        ) }]);
        let detail = pattern
            .as_object_mut()
            .unwrap()
            .entry("detail")
            .or_insert_with(|| json!({}));
        detail["$or"] = json!([
            {"ModelPackageGroupName": prefix},
            {"requestParameters": {"modelPackageGroupName": prefix}},
            {"requestParameters": {"modelPackageArn": arn_prefix}},
        ]);
        pattern
    }

    /// One signed EventBridge call to moto in the lane's region.
    async fn events(&self, operation: &str, body: Value) -> Value {
        let endpoint = reqwest::Url::parse(&self.stack.moto_url).unwrap();
        let host = format!(
            "{}:{}",
            endpoint.host_str().unwrap(),
            endpoint.port_or_known_default().unwrap()
        );
        let body = body.to_string();
        let target = format!("AWSEvents.{operation}");
        let identity =
            aws_credential_types::Credentials::new("testing", "testing", None, None, "testkit")
                .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("events")
            .time(std::time::SystemTime::now())
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            endpoint.as_str(),
            headers.into_iter(),
            aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .unwrap()
            .into_parts();
        let mut request = self
            .http
            .post(endpoint.clone())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", &target);
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "EventBridge {operation}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A function's configuration on this lane: its registry region, its DLQ, and a governance API key
    /// secret.
    pub fn config(&self, api_key_secret: &str) -> Config {
        self.stack.config_for(&FunctionSetup {
            registry_region: self.region.clone(),
            dlq_url: self.quarantine_dlq.url.clone(),
            api_key_secret: api_key_secret.to_owned(),
            idempotency_table: self.table("govsync-idempotency"),
            links_table: self.table("govsync-links"),
        })
    }

    /// The SDK configuration a function on this lane runs with (govsync's identity).
    pub async fn function_sdk(&self) -> aws_config::SdkConfig {
        self.stack.sdk(&self.stack.access_key).await
    }

    /// A data scientist's SageMaker client in the lane's region (not govsync's identity).
    pub async fn person(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&self.stack.sdk_in("testing", &self.region).await)
    }

    /// The lane's own copy of a wiring.json table (moto's TransactWriteItems copies the whole
    /// table, so a small table per lane keeps the links writes fast however full the shared one is).
    pub fn table(&self, wiring_name: &str) -> String {
        format!("{}-{wiring_name}", self.prefix)
    }

    /// A group name of this lane.
    pub fn group(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    pub fn group_arn(&self, group: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:model-package-group/{}",
            self.region,
            self.stack.account,
            group.to_ascii_lowercase()
        )
    }

    /// Sends one message to the work queue, as EventBridge would (message group `registry-events`).
    /// Returns its SQS message id.
    pub async fn send(&self, body: &str, deduplication_id: &str) -> String {
        self.sqs
            .send_message()
            .queue_url(&self.work.url)
            .message_body(body)
            .message_group_id(MESSAGE_GROUP)
            .message_deduplication_id(deduplication_id)
            .send()
            .await
            .unwrap()
            .message_id()
            .unwrap()
            .to_owned()
    }

    /// Reads the capture queue until `count` messages matching `wanted` arrived (others read are kept
    /// in the returned list too, in arrival order).
    pub async fn captured(&self, wanted: impl Fn(&Value) -> bool, count: usize) -> Vec<Received> {
        let capture = self.capture.as_ref().expect("a Feed::Capture lane");
        let started = Instant::now();
        let mut all = Vec::new();
        loop {
            all.extend(drain(&self.sqs, &capture.url).await);
            let found = all.iter().filter(|m| wanted(&m.envelope())).count();
            if found >= count {
                return all;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "only {found} of {count} expected events reached the capture queue"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Delivers the work queue to `function` as Lambda's event source would (batches of up to 10 in
    /// queue order; what the function reports failed returns to the queue at once, everything else
    /// is deleted; the queue's redrive policy applies) until the queue has nothing visible and `done`
    /// holds. Panics past `budget`.
    pub async fn deliver<F, Fut>(
        &self,
        function: &impl SqsFunction,
        budget: Duration,
        mut done: F,
    ) -> Delivery
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        let mut delivery = Delivery::default();
        while started.elapsed() < budget {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.work.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .visibility_timeout(30)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                if done().await {
                    delivery.elapsed = started.elapsed();
                    return delivery;
                }
                continue;
            }
            delivery.batches += 1;
            for message in &messages {
                let count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                delivery.max_receive_count = delivery.max_receive_count.max(count);
            }
            let payload = sqs_event(&messages, &self.region, Some(&self.work.arn));
            let invoked = Instant::now();
            let failed = invoke(function, payload).await;
            delivery.in_function += invoked.elapsed();
            delivery.reported_failures += failed.len();
            let mut deletes = Vec::new();
            for message in &messages {
                let receipt = message.receipt_handle().unwrap_or_default();
                if failed
                    .iter()
                    .any(|id| Some(id.as_str()) == message.message_id())
                {
                    self.sqs
                        .change_message_visibility()
                        .queue_url(&self.work.url)
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .send()
                        .await
                        .unwrap();
                } else {
                    deletes.push(
                        aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                            .id(deletes.len().to_string())
                            .receipt_handle(receipt)
                            .build()
                            .unwrap(),
                    );
                }
            }
            if !deletes.is_empty() {
                let count = deletes.len();
                let answer = self
                    .sqs
                    .delete_message_batch()
                    .queue_url(&self.work.url)
                    .set_entries(Some(deletes))
                    .send()
                    .await
                    .unwrap();
                assert!(answer.failed().is_empty(), "{:?}", answer.failed());
                delivery.deleted += count;
            }
        }
        panic!("the lane's queue was not worked off within {budget:?}: {delivery:?}");
    }

    /// Everything in the function's DLQ (read and deleted), with message attributes.
    pub async fn quarantined(&self) -> Vec<Received> {
        drain(&self.home_sqs, &self.quarantine_dlq.url).await
    }

    /// Everything the work queue's redrive policy moved to its DLQ.
    pub async fn redriven(&self) -> Vec<Received> {
        drain(&self.sqs, &self.redrive_dlq.url).await
    }

    /// Removes the lane's rules and queues.
    pub async fn close(self) {
        for rule in &self.rules {
            self.events("RemoveTargets", json!({"Rule": rule, "Ids": ["lane"]}))
                .await;
            self.events("DeleteRule", json!({ "Name": rule })).await;
        }
        let mut queues = vec![&self.work, &self.redrive_dlq];
        queues.extend(self.capture.as_ref());
        for queue in queues {
            let _ = self.sqs.delete_queue().queue_url(&queue.url).send().await;
        }
        let _ = self
            .home_sqs
            .delete_queue()
            .queue_url(&self.quarantine_dlq.url)
            .send()
            .await;
        for table in &self.own_tables {
            let _ = self.dynamodb.delete_table().table_name(table).send().await;
        }
    }
}

/// A FIFO queue with `extra` attributes (content-based deduplication on unless given).
pub async fn fifo_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    extra: &[(QueueAttributeName, String)],
) -> Queue {
    let mut attributes = HashMap::from([
        (QueueAttributeName::FifoQueue, "true".to_owned()),
        (
            QueueAttributeName::ContentBasedDeduplication,
            "true".to_owned(),
        ),
    ]);
    for (name, value) in extra {
        attributes.insert(name.clone(), value.clone());
    }
    let url = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap();
    Queue { url, arn }
}

/// A table as wiring.json declares it (string keys, on-demand, TTL attribute).
async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, name: &str, wiring: &Value) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let mut request = dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (key, key_type) in [
        ("partition_key", KeyType::Hash),
        ("sort_key", KeyType::Range),
    ] {
        if let Some(attribute) = wiring[key].as_str() {
            request = request
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attribute)
                        .key_type(key_type)
                        .build()
                        .unwrap(),
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attribute)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                );
        }
    }
    request.send().await.unwrap();
    if let Some(ttl) = wiring["ttl_attribute"].as_str() {
        dynamodb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(ttl)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// Receives and deletes everything visible in a queue now, in order.
pub async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for message in messages {
            let mut attributes: HashMap<String, String> = message
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(custom) = message.message_attributes() {
                for (name, value) in custom {
                    if let Some(text) = value.string_value() {
                        attributes.insert(name.clone(), text.to_owned());
                    }
                }
            }
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
            out.push(Received {
                message_id: message.message_id().unwrap_or_default().to_owned(),
                body: message.body().unwrap_or_default().to_owned(),
                attributes,
            });
        }
    }
}

/// A business entity and an approved, high-risk use case in governance; returns the use case.
pub async fn approved_use_case(governance: &GovernanceClient, name: &str) -> GovernanceObject {
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("Retail Banking {name}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: format!("Use case {name}"),
            description: Some("Detect card fraud".into()),
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
            ],
        })
        .await
        .unwrap()
}

/// The one governance object carrying `external_id`; panics when there is none or several.
pub async fn the_one(
    governance: &GovernanceClient,
    kind: GovernanceKind,
    external_id: &str,
) -> GovernanceObject {
    match governance
        .find_by_external_id(kind, external_id)
        .await
        .unwrap()
    {
        ExternalIdLookup::Found(object) => object,
        ExternalIdLookup::Absent => panic!("no governance {kind:?} for {external_id}"),
        ExternalIdLookup::Ambiguous(ids) => {
            panic!("several governance {kind:?} objects for {external_id}: {ids:?}")
        }
    }
}

/// The governance model id written back onto a package, if any.
pub async fn written_back_model_id(
    person: &aws_sdk_sagemaker::Client,
    package_arn: &str,
) -> Option<String> {
    person
        .describe_model_package()
        .model_package_name(package_arn)
        .send()
        .await
        .unwrap()
        .customer_metadata_properties()
        .and_then(|m| m.get(keys::MODEL_ID).cloned())
}
