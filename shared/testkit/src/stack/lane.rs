//! A test's own path through the stack: its rules, queues and tables.

use super::*;

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

/// Whether `rule` feeds registry-events.fifo (through the ingest queue the registry-relay empties).
fn relays_to_registry_events(wiring: &Value, rule: &Value) -> bool {
    wiring["ingest_queues"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|queue| {
            queue["name"] == rule["target_queue"] && queue["relay_to"] == "registry-events.fifo"
        })
}

fn wiring() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../local/wiring.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

impl Lane {
    /// Makes the lane's queues and rules.
    pub async fn open(feed: Feed) -> Lane {
        Self::open_in(feed, LANE_REGION).await
    }

    /// A lane whose registry is `region` (one no shared rule reads; a test that lists whole registries
    /// uses a region of its own).
    pub async fn open_in(feed: Feed, region: &str) -> Lane {
        govsync_lambda::logging::init();
        let stack = Stack::from_env();
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let prefix = format!("re{suffix}");
        let region = region.to_owned();
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
            .filter(|rule| relays_to_registry_events(&wiring, rule))
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
                    // A lane feeds its consumer directly, in one group (the relay's grouping is
                    // tested on its own); its queue has no relay in front.
                    "SqsParameters": {"MessageGroupId": MESSAGE_GROUP},
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
        // A registration from another account names the group by its ARN.
        let group_arn_prefix = json!([{ "prefix": format!(
            "arn:aws:sagemaker:{}:{}:model-package-group/{}",
            self.region, self.stack.account, self.prefix
        ) }]);
        detail["$or"] = json!([
            {"ModelPackageGroupName": prefix},
            {"requestParameters": {"modelPackageGroupName": prefix}},
            {"requestParameters": {"modelPackageGroupName": group_arn_prefix}},
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

    /// The environment of a function on this lane run as its own process (see [`Lane::config`]).
    pub fn function_env(&self, api_key_secret: &str) -> Vec<(&'static str, String)> {
        self.stack.function_env(&self.setup(api_key_secret))
    }

    /// A function's configuration on this lane: its registry region, its DLQ, and a governance API key
    /// secret.
    pub fn config(&self, api_key_secret: &str) -> Config {
        self.stack.config_for(&self.setup(api_key_secret))
    }

    fn setup(&self, api_key_secret: &str) -> FunctionSetup {
        FunctionSetup {
            registry_region: self.region.clone(),
            dlq_url: self.quarantine_dlq.url.clone(),
            api_key_secret: api_key_secret.to_owned(),
            idempotency_table: self.table("govsync-idempotency"),
            links_table: self.table("govsync-links"),
        }
    }

    /// The governance subject of the lane's own credentials: emulator faults scoped to it hit only the
    /// calls of the lane's function.
    pub fn governance_subject(&self) -> String {
        format!("govsync-{}", self.prefix)
    }

    /// Adds `api_key` to the governance emulator under the lane's subject.
    pub async fn add_governance_key(&self, api_key: &str) {
        let response = self
            .http
            .post(format!("{}/_emulator/apikeys", self.stack.governance_url))
            .json(&json!({"apikey": api_key, "subject": self.governance_subject()}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            201,
            "the emulator accepts an added API key"
        );
    }

    /// A governance credential of the lane's own: `api_key` under the lane's subject, stored in a
    /// secret of the lane; returns the secret's name (a function's governance API key secret).
    pub async fn own_governance_key(&self, api_key: &str) -> String {
        self.add_governance_key(api_key).await;
        let secret = format!("govsync/governance-api-key-{}", self.prefix);
        aws_sdk_secretsmanager::Client::new(&self.stack.sdk("testing").await)
            .create_secret()
            .name(&secret)
            .secret_string(api_key)
            .send()
            .await
            .unwrap();
        secret
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

    /// Creates the lane's own copy of another wiring.json table (removed on close); returns its name.
    pub async fn own_table(&mut self, wiring_name: &str) -> String {
        let wiring = wiring();
        let declared = wiring["tables"]
            .as_array()
            .and_then(|tables| tables.iter().find(|t| t["name"] == wiring_name))
            .unwrap_or_else(|| panic!("wiring.json declares no table {wiring_name}"))
            .clone();
        let own = self.table(wiring_name);
        create_table(&self.dynamodb, &own, &declared).await;
        self.own_tables.push(own.clone());
        own
    }

    /// A data scientist's SageMaker client in `account` and `region`: the stack's own key for the
    /// stack's account, the role `data-science` assumed through the local STS for another (so the
    /// registry emulator tells the accounts apart).
    pub async fn person_in(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> aws_sdk_sagemaker::Client {
        let sdk = self.stack.sdk_in("testing", region).await;
        if account == self.stack.account {
            return aws_sdk_sagemaker::Client::new(&sdk);
        }
        let region = aws_config::Region::new(region.to_owned());
        let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
            "arn:aws:iam::{account}:role/data-science"
        ))
        .session_name(name)
        .region(region.clone())
        .configure(&sdk)
        .build()
        .await;
        aws_sdk_sagemaker::Client::from_conf(
            aws_sdk_sagemaker::config::Builder::from(&sdk)
                .region(region)
                .credentials_provider(provider)
                .build(),
        )
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

    /// Panics unless the function's DLQ and the redrive DLQ are both empty: every message was handled.
    pub async fn assert_nothing_lost(&self) {
        let quarantined = self.quarantined().await;
        assert!(
            quarantined.is_empty(),
            "quarantined: {:?}",
            quarantined
                .iter()
                .map(|m| &m.attributes)
                .collect::<Vec<_>>()
        );
        let redriven = self.redriven().await;
        assert!(redriven.is_empty(), "redriven to the DLQ: {redriven:?}");
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
