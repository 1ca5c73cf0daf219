//! The reliability suite's end-to-end slice: registry-events as deployed (`Function` on the real
//! adapters and SDK clients) against the local stack, with DynamoDB throttling injected on the wire.
//!
//! What runs where: a data scientist registers versions and changes their metadata through the
//! SageMaker API of the registry emulator, which publishes the real state-change and CloudTrail events
//! onto moto's EventBridge; the lane's rules (registry-events' `support/stack.rs`, shared here) put them
//! on the lane's own FIFO queue, and the lane delivers its batches to the function as Lambda would
//! (failures made visible again, redrive DLQ as `local/wiring.json` declares it). The function's AWS
//! calls go through a small seeded fault proxy on 127.0.0.1, which forwards every call to moto (or
//! SageMaker's to the registry emulator) and answers a burst of DynamoDB calls with the wire error
//! `ProvisionedThroughputExceededException` instead. moto cannot throttle, and a proxy is the only
//! place where the SDK itself sees real throttling responses: its own retries run first, and a burst
//! longer than its attempts reaches govsync's path (the adapter maps it to `StoreError::Throttled`, the
//! message is a batch item failure, the idempotency claim is released, the queue redelivers). Poison
//! bodies and an unknown account are sent too. The thousands-of-events run with every fault kind is
//! `reliability_suite.rs` (in memory); this slice proves the same guarantees on the wire, for a few
//! hundred messages.

#[allow(dead_code, unused_imports)]
use govsync_testkit::stack;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use aws_config::BehaviorVersion;
use aws_sdk_sagemaker::types::{InferenceSpecification, ModelPackageContainerDefinition, Tag};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::GovernanceKind;
use govsync_core::ports::quarantine::attributes;
use govsync_registry_events::Function;
use serde_json::json;
use stack::{FunctionSetup, LOAD_BUDGET, Lane, approved_use_case, the_one, written_back_model_id};

const SEED_ENV: &str = "GOVSYNC_RELIABILITY_SEED";
const DEFAULT_SEED: u64 = 7;
const GROUPS: usize = 5;
const VERSIONS: usize = 12;
/// Chance that a DynamoDB call starts a burst of throttling answers.
const BURST_CHANCE: u64 = 4; // percent
/// Consecutive throttled answers in a burst: the SDK's standard retry makes 3 attempts, so a burst of
/// 3 or more reaches the function's own retry path.
const BURST_LENGTHS: [usize; 3] = [1, 2, 4];

/// The proxy's state: where calls go, the seeded fault plan, what it did.
struct Proxy {
    moto: String,
    registry: String,
    http: reqwest::Client,
    rng: AtomicU64,
    burst_left: AtomicUsize,
    forwarded: AtomicUsize,
    throttled: AtomicUsize,
    bursts: AtomicUsize,
    enabled: AtomicBool,
}

impl Proxy {
    fn next(&self) -> u64 {
        // SplitMix64, one step per decision.
        let mut z = self
            .rng
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Whether this DynamoDB call is answered with throttling.
    fn throttle(&self) -> bool {
        if !self.enabled.load(Ordering::SeqCst) {
            return false;
        }
        let left = self.burst_left.load(Ordering::SeqCst);
        if left > 0 {
            self.burst_left.store(left - 1, Ordering::SeqCst);
            return true;
        }
        if self.next() % 100 < BURST_CHANCE {
            let length = BURST_LENGTHS[(self.next() % BURST_LENGTHS.len() as u64) as usize];
            self.burst_left.store(length - 1, Ordering::SeqCst);
            self.bursts.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        false
    }
}

/// The service a SigV4-signed call is for (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
fn service_of(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let credential = authorization
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    credential.split('/').nth(3).map(str::to_owned)
}

async fn proxy_call(
    proxy: Arc<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let service = service_of(&headers).unwrap_or_default();
    if service == "dynamodb" && proxy.throttle() {
        proxy.throttled.fetch_add(1, Ordering::SeqCst);
        let body = json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded (injected by the reliability proxy)"
        });
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.0")],
            body.to_string(),
        )
            .into_response();
    }
    let base = if service == "sagemaker" {
        &proxy.registry
    } else {
        &proxy.moto
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = proxy.http.request(method, format!("{base}{path}"));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    proxy.forwarded.fetch_add(1, Ordering::SeqCst);
    match request.body(body).send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut out = HeaderMap::new();
            for (name, value) in answer.headers() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    out.insert(name.clone(), value.clone());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            (status, out, bytes).into_response()
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// Starts the proxy on an ephemeral 127.0.0.1 port; returns its URL.
async fn start_proxy(proxy: Arc<Proxy>) -> String {
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let proxy = Arc::clone(&proxy);
            async move { proxy_call(proxy, method, uri, headers, body).await }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("an ephemeral port on 127.0.0.1");
    let address = listener.local_addr().expect("the proxy's address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

fn inference(group: &str, tag: &str) -> InferenceSpecification {
    InferenceSpecification::builder()
        .containers(
            ModelPackageContainerDefinition::builder()
                .image(format!(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/{group}:{tag}"
                ))
                .model_data_url(format!("s3://models/{group}/{tag}/model.tar.gz"))
                .build(),
        )
        .supported_content_types("text/csv")
        .supported_response_mime_types("text/csv")
        .build()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn registry_events_on_the_wire_with_dynamodb_throttling_loses_nothing_and_quarantines_only_poison()
 {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_SEED);
    println!("moto slice: seed {seed} (replay with {SEED_ENV}={seed})");
    let started = Instant::now();
    let lane = Lane::open(stack::Feed::Direct).await;
    let proxy = Arc::new(Proxy {
        moto: lane.stack.moto_url.trim_end_matches('/').to_owned(),
        registry: stack::var("GOVSYNC_REGISTRY_URL")
            .trim_end_matches('/')
            .to_owned(),
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client"),
        rng: AtomicU64::new(seed),
        burst_left: AtomicUsize::new(0),
        forwarded: AtomicUsize::new(0),
        throttled: AtomicUsize::new(0),
        bursts: AtomicUsize::new(0),
        enabled: AtomicBool::new(false),
    });
    let proxy_url = start_proxy(Arc::clone(&proxy)).await;

    // The function as deployed, every AWS call through the proxy.
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(lane.stack.region.clone()))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            lane.stack.access_key.clone(),
            "testing",
            None,
            None,
            "local-stack",
        ))
        .endpoint_url(&proxy_url)
        .load()
        .await;
    let config = lane.stack.config_for(&FunctionSetup {
        registry_region: lane.region.clone(),
        dlq_url: lane.quarantine_dlq.url.clone(),
        api_key_secret: "govsync/governance-api-key".to_owned(),
        idempotency_table: lane.table("govsync-idempotency"),
        links_table: lane.table("govsync-links"),
    });
    let function = Function::new(config, &sdk)
        .await
        .expect("the function builds on the stack");
    proxy.enabled.store(true, Ordering::SeqCst);

    let governance = lane.stack.governance();
    let person = lane.person().await;
    let mut groups = Vec::new();
    for index in 0..GROUPS {
        let use_case = approved_use_case(&governance, &format!("{}-{index}", lane.prefix)).await;
        let group = lane.group(&format!("g{index}"));
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
            .expect("the group is created");
        groups.push((group, use_case));
    }

    // Permanent failures, sent among the real events: they must end in the DLQ, with their reason.
    // A record naming no package, from an account outside the map: `unknown_registry`.
    let unknown_account = json!({
        "version": "0", "id": format!("{}-unknown", lane.prefix),
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker",
        "account": "999999999999", "time": "2026-01-02T09:18:24Z", "region": lane.region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com",
            "eventName": "CreateModelPackageGroup", "eventTime": "2026-01-02T09:18:24Z",
            "eventID": format!("{}-unknown", lane.prefix), "awsRegion": lane.region,
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::999999999999:assumed-role/ds/eve"},
            "requestParameters": {"modelPackageGroupName": groups[0].0},
            "responseElements": {"modelPackageGroupArn": format!("arn:aws:sagemaker:{}:999999999999:model-package-group/{}", lane.region, groups[0].0)},
            "recipientAccountId": "999999999999"
        }
    })
    .to_string();
    let mut poison_ids = BTreeSet::new();
    for (index, body) in [
        "{\"not\": \"an event\"".to_owned(),
        "poison".to_owned(),
        unknown_account,
    ]
    .iter()
    .enumerate()
    {
        poison_ids.insert(lane.send(body, &format!("poison-{index}")).await);
    }

    // Data scientists register versions and retrain some, while the function works the queue.
    let registered = AtomicBool::new(false);
    let registration = async {
        let packages = futures::future::join_all(groups.iter().map(|(group, _)| {
            let person = &person;
            async move {
                let mut arns = Vec::new();
                for version in 1..=VERSIONS {
                    let arn = person
                        .create_model_package()
                        .model_package_group_name(group)
                        .model_package_description(format!("version {version}"))
                        .inference_specification(inference(group, &version.to_string()))
                        .send()
                        .await
                        .expect("the version is registered")
                        .model_package_arn()
                        .unwrap_or_default()
                        .to_owned();
                    if version % 2 == 0 {
                        person
                            .update_model_package()
                            .model_package_arn(&arn)
                            .customer_metadata_properties(
                                "team-note",
                                format!("retrained {version}"),
                            )
                            .send()
                            .await
                            .expect("the metadata changes");
                    }
                    arns.push(arn);
                }
                arns
            }
        }))
        .await;
        registered.store(true, Ordering::SeqCst);
        packages
    };
    let (packages, delivery) = tokio::join!(
        registration,
        lane.deliver(&function, LOAD_BUDGET, || async {
            registered.load(Ordering::SeqCst)
        })
    );
    proxy.enabled.store(false, Ordering::SeqCst);

    // Every version has exactly one governance model under its group's model group, written back.
    let mut problems = Vec::new();
    for ((group, use_case), arns) in groups.iter().zip(&packages) {
        let model_group = the_one(
            &governance,
            GovernanceKind::ModelGroup,
            &lane.group_arn(group),
        )
        .await;
        if model_group.primary_parent_id.as_ref() != Some(&use_case.id) {
            problems.push(format!("{group}: model group not under its use case"));
        }
        for arn in arns {
            let model = the_one(&governance, GovernanceKind::Model, arn).await;
            if model.primary_parent_id.as_ref() != Some(&model_group.id) {
                problems.push(format!("{arn}: not under its group's model group"));
            }
            if written_back_model_id(&person, arn).await != Some(model.id.to_string()) {
                problems.push(format!("{arn}: governance model id not written back"));
            }
        }
    }
    // The DLQ holds the poison messages, each with its reason; nothing was redriven. On a loaded
    // machine a healthy message can meet throttling on every receive the redrive policy allows: it is
    // dead-lettered by govsync with `retries_exhausted` and its last error (never by SQS without a
    // reason), and its version is still synced through its other events (checked above). Backoff that
    // keeps it from happening is issue 14's.
    let quarantined = lane.quarantined().await;
    let exhausted = quarantined
        .iter()
        .filter(|m| {
            m.attributes.get(attributes::ERROR_CODE).map(String::as_str)
                == Some("retries_exhausted")
        })
        .count();
    let held: BTreeSet<String> = quarantined
        .iter()
        .filter(|m| {
            m.attributes.get(attributes::ERROR_CODE).map(String::as_str)
                != Some("retries_exhausted")
        })
        .filter_map(|m| m.attributes.get(attributes::SOURCE_MESSAGE_ID).cloned())
        .collect();
    for message in &quarantined {
        if message
            .attributes
            .get(attributes::REASON)
            .is_none_or(|reason| reason.trim().is_empty())
        {
            problems.push(format!("quarantined without a reason: {message:?}"));
        }
    }
    if held != poison_ids {
        problems.push(format!(
            "the DLQ holds {held:?}, the permanent failures were {poison_ids:?}"
        ));
    }
    let redriven = lane.redriven().await;
    let lost = redriven.len();
    if lost > 0 {
        problems.push(format!(
            "redriven to the DLQ without a reason: {redriven:?}"
        ));
    }
    println!(
        "moto slice summary (seed {seed}): versions {}, messages handled {} in {} batches, \
         retries (batch item failures) {}, max receive count {}, DynamoDB calls throttled {} in {} bursts \
         ({} calls forwarded), quarantined {} ({exhausted} retries exhausted), lost {lost}, wall time {:.1} s",
        packages.iter().map(Vec::len).sum::<usize>(),
        delivery.deleted,
        delivery.batches,
        delivery.reported_failures,
        delivery.max_receive_count,
        proxy.throttled.load(Ordering::SeqCst),
        proxy.bursts.load(Ordering::SeqCst),
        proxy.forwarded.load(Ordering::SeqCst),
        quarantined.len(),
        started.elapsed().as_secs_f64()
    );
    lane.close().await;
    assert!(
        problems.is_empty(),
        "{} problem(s) (seed {seed}):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        proxy.throttled.load(Ordering::SeqCst) > 0,
        "the proxy throttled nothing: the slice tested no fault"
    );
}
