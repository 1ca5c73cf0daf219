//! `govsync-local-runner serve-webhook` end to end: the runner binary serves the real governance-webhook
//! handler over HTTP; a governance emulator (embedded here, so its webhook target is this test's alone)
//! is pointed at it with `PUT /_emulator/webhook`; objects are created and changed through the OpenPages
//! API; each signed notification is answered 202 and lands on the queue in its object's group.
//!
//! Needs the local stack's moto (`local/test.sh` runs it with the stack's environment; without it the
//! test fails rather than skips). The function enqueues on a private FIFO queue created for the test
//! (`GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL` overrides the runner's default, `governance-events.fifo`), so
//! concurrent tests that consume `governance-events.fifo` neither see nor take these messages.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use govsync_core::governance_event::GovernanceEvent;
use govsync_governance_emulator::{EmulatorConfig, bind, serve};
use serde_json::{Value, json};

/// The local stack's current signing secret (`local/wiring.json`).
const CURRENT: &str = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA==";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the local stack (local/stack.sh up; source its stack.env) or local/test.sh")
    })
}

/// The runner process; killed (by its own pid) when the test ends.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_runner(queue_url: &str) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govsync-local-runner"))
        .args(["serve-webhook", "--port", "0"])
        // No stack.env file: the stack's variables come from this process's environment.
        .env(
            "GOVSYNC_STATE_DIR",
            std::env::temp_dir().join(format!("no-stack-{}", uuid::Uuid::new_v4().simple())),
        )
        .env("GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL", queue_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the runner binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut served = Served {
        child,
        url: String::new(),
    };
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(url) = line
                    .strip_prefix("govsync-local-runner ready: governance-webhook listening on ")
                {
                    served.url = url.trim().to_owned();
                    return served;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = served.child.try_wait() {
                    panic!("serve-webhook exited before it was ready: {status}");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("serve-webhook closed stdout before it was ready")
            }
        }
    }
    panic!("serve-webhook printed no ready line within 30 s");
}

async fn sqs() -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        ))
        .endpoint_url(var("GOVSYNC_MOTO_URL"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "local-stack",
        ))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

/// A private FIFO queue shaped like governance-events.fifo (local/wiring.json).
async fn private_queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name(format!(
            "governance-events-test-{}.fifo",
            uuid::Uuid::new_v4().simple()
        ))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .expect("moto creates the queue")
        .queue_url
        .expect("a queue url")
}

struct Emulator {
    base: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Emulator {
    async fn start() -> Self {
        let config = EmulatorConfig::default();
        let (listener, address) = bind(&config).await.expect("bind 127.0.0.1:0");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, config, async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{address}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            _stop: tx,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("admin", Some("admin"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn emulator_webhooks_through_serve_webhook_land_on_the_queue_in_object_order() {
    var("GOVSYNC_MOTO_URL");
    let sqs = sqs().await;
    let queue = private_queue(&sqs).await;
    let served = start_runner(&queue);
    let emulator = Emulator::start().await;

    // Point the emulator's webhooks at serve-webhook, signed with the stack's current secret.
    emulator
        .call(
            reqwest::Method::PUT,
            "/_emulator/webhook",
            Some(json!({"url": served.url, "secret": CURRENT})),
        )
        .await;

    // Create a business entity and a use case, then approve the use case.
    let entity = emulator
        .call(
            reqwest::Method::POST,
            "/opgrc/api/v2/contents",
            Some(json!({"name": "Webhook test entity", "type_definition_id": "SOXBusEntity"})),
        )
        .await;
    let use_case = emulator
        .call(
            reqwest::Method::POST,
            "/opgrc/api/v2/contents",
            Some(json!({
                "name": "Webhook test use case",
                "type_definition_id": "ModelUseCase",
                "primary_parent_id": entity["id"],
                "fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Proposed"}}],
            })),
        )
        .await;
    let use_case_id = use_case["id"].as_str().unwrap().to_owned();
    emulator
        .call(
            reqwest::Method::PUT,
            &format!("/opgrc/api/v2/contents/{use_case_id}"),
            Some(json!({"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Approved for Development"}}]})),
        )
        .await;

    // The emulator's delivery log: three deliveries, each answered 202 on the first attempt.
    let started = Instant::now();
    let deliveries = loop {
        let log = emulator
            .call(reqwest::Method::GET, "/_emulator/webhooks", None)
            .await;
        let deliveries = log["deliveries"].as_array().cloned().unwrap_or_default();
        if deliveries.len() >= 3 {
            break deliveries;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "deliveries so far: {deliveries:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for delivery in &deliveries {
        assert_eq!(delivery["status"], 202, "{delivery}");
        assert_eq!(delivery["delivered"], true, "{delivery}");
        assert_eq!(delivery["attempts"], 1, "{delivery}");
        assert_eq!(delivery["signed"], true, "{delivery}");
    }

    // The queue holds the three changes; the use case's two are in its group, in order.
    let mut events: Vec<(String, GovernanceEvent)> = Vec::new();
    let started = Instant::now();
    while events.len() < 3 && started.elapsed() < Duration::from_secs(20) {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        for message in received.messages.unwrap_or_default() {
            let group = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned()
                .unwrap_or_default();
            let event = GovernanceEvent::from_json(message.body().unwrap_or_default())
                .expect("the queue body is a governance event");
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
            events.push((group, event));
        }
    }
    let _ = sqs.delete_queue().queue_url(&queue).send().await;

    assert_eq!(events.len(), 3, "{events:?}");
    for (group, event) in &events {
        assert_eq!(group, event.object_id.as_str(), "group = object id");
        let logged = deliveries
            .iter()
            .find(|d| d["webhook_id"] == event.delivery_id.as_str())
            .unwrap_or_else(|| panic!("{} is in the emulator's log", event.delivery_id));
        assert_eq!(logged["object_id"], event.object_id.as_str());
        assert_eq!(logged["event_type"], event.event_type.as_str());
    }
    let use_case_events: Vec<&GovernanceEvent> = events
        .iter()
        .filter(|(group, _)| *group == use_case_id)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(use_case_events.len(), 2);
    assert_eq!(use_case_events[0].event_type.as_str(), "object.created");
    assert_eq!(use_case_events[1].event_type.as_str(), "object.updated");
    assert_eq!(
        use_case_events[1].object_type.as_deref(),
        Some("ModelUseCase")
    );
    assert_eq!(
        use_case_events[1].changed_fields,
        vec!["MRG-AIFacts-ModelUseCase:Status".to_owned()]
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn serve_webhook_answers_as_api_gateway_and_the_function_would() {
    var("GOVSYNC_MOTO_URL");
    let sqs = sqs().await;
    let queue = private_queue(&sqs).await;
    let served = start_runner(&queue);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let root = served
        .url
        .strip_suffix("/webhooks/governance")
        .unwrap()
        .to_owned();

    // Routes other than POST /webhooks/governance never reach the function.
    let response = http.get(&served.url).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Not Found"})
    );
    let response = http
        .post(format!("{root}/other"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // The function's own answers come back as they are.
    let response = http
        .post(&served.url)
        .header("content-type", "application/json")
        .header("Webhook-Id", "msg_unsigned")
        .header("Webhook-Timestamp", chrono_now().to_string())
        .body(r#"{"type":"object.updated","object":{"id":"1"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "missing_signature_header");
    assert_eq!(body["message"], "missing header `webhook-signature`");

    // A signed binary-typed body goes through base64 (isBase64Encoded) and still verifies.
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let ts = chrono_now();
    let body = r#"{"type":"object.updated","object":{"id":"77"}}"#;
    let secret = govsync_core::webhook::WebhookSecret::parse(CURRENT).unwrap();
    let response = http
        .post(&served.url)
        .header("content-type", "application/octet-stream")
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string())
        .header(
            "webhook-signature",
            govsync_core::webhook::sign(&secret, &id, ts, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "accepted", "delivery_id": id})
    );

    let response = http
        .post(&served.url)
        .header("content-type", "application/json")
        .body("x".repeat(300 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );
    let _ = sqs.delete_queue().queue_url(&queue).send().await;
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
