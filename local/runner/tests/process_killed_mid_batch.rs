//! A function process killed mid-batch (SIGKILL, no chance to clean up) loses nothing and duplicates
//! nothing: registry-events runs as its own process (this runner, exactly as `local/stack.sh` runs it)
//! on a test lane of the local stack; the governance emulator slows this test's calls so the kill lands
//! while a batch is half done (some versions already created in governance, links or write-backs maybe
//! not). A new process then takes the redelivered batch: every version has exactly one governance
//! model, written back onto its package; no message is quarantined or redriven.
//!
//! The lane's rules feed its capture queue (in the lane's registry region); the test moves those events
//! onto a work queue in the function's own region (as the deployed spoke forwarding does), whose
//! visibility timeout is just above the function timeout, as AWS requires (the deployed queue keeps the
//! same ratio at minutes), so the redelivery comes in seconds.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::types::{InferenceSpecification, ModelPackageContainerDefinition, Tag};
use aws_sdk_sqs::types::QueueAttributeName;
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{ExternalIdLookup, Governance, GovernanceKind};
use govsync_testkit::stack::{
    Feed, Lane, Queue, TEST_BUDGET, approved_use_case, drain, fifo_queue, the_one,
    written_back_model_id,
};
use serde_json::json;

const VERSIONS: usize = 6;
const FUNCTION_TIMEOUT_SECONDS: u64 = 6;
const VISIBILITY_TIMEOUT_SECONDS: u64 = 8;
/// Latency on each of this test's governance calls while the first process runs.
const SLOW_CALL_MS: u64 = 300;

/// The runner process; killed when dropped, so a failing test leaves nothing running.
struct RunnerProcess(Child);

/// Where a runner process of this lane logs (its tail is shown when the test fails).
fn log_path(lane: &Lane) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}-runner.log", lane.prefix))
}

fn log_tail(lane: &Lane) -> String {
    let text = std::fs::read_to_string(log_path(lane)).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    text.get(start..).unwrap_or_default().to_owned()
}

impl RunnerProcess {
    fn start(lane: &Lane, work: &Queue, api_key_secret: &str) -> RunnerProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(lane))
            .expect("the runner's log file");
        let child = Command::new(env!("CARGO_BIN_EXE_govsync-local-runner"))
            .args([
                "run",
                "registry-events",
                "--queue",
                &work.url,
                "--function-timeout",
                &FUNCTION_TIMEOUT_SECONDS.to_string(),
                "--poll-wait",
                "1",
            ])
            .envs(lane.function_env(api_key_secret))
            // govsync's own identity, as the function's role would give it.
            .env("AWS_ACCESS_KEY_ID", &lane.stack.access_key)
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", &lane.stack.region)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the runner binary starts");
        RunnerProcess(child)
    }

    /// SIGKILL: the process gets no chance to finish, report or release anything.
    fn kill(mut self) {
        self.0.kill().expect("SIGKILL the runner");
        self.0.wait().expect("reap the runner");
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn register(person: &aws_sdk_sagemaker::Client, group: &str, version: usize) -> String {
    person
        .create_model_package()
        .model_package_group_name(group)
        .model_package_description(format!("version {version}"))
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image(format!(
                            "123456789012.dkr.ecr.ap-northeast-3.amazonaws.com/xgboost:{version}"
                        ))
                        .model_data_url(format!("s3://models/{group}/{version}/model.tar.gz"))
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
        .to_owned()
}

/// How many of `arns` have a governance model (any number of them).
async fn with_a_model(governance: &impl Governance, arns: &[String]) -> usize {
    let mut found = 0;
    for arn in arns {
        if !matches!(
            governance
                .find_by_external_id(GovernanceKind::Model, arn)
                .await
                .unwrap(),
            ExternalIdLookup::Absent
        ) {
            found += 1;
        }
    }
    found
}

async fn queue_count(lane: &Lane, work: &Queue, attribute: QueueAttributeName) -> u64 {
    lane.home_sqs
        .get_queue_attributes()
        .queue_url(&work.url)
        .attribute_names(attribute.clone())
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|attributes| attributes.get(&attribute))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_function_process_killed_mid_batch_loses_nothing_and_creates_nothing_twice() {
    let lane = Lane::open(Feed::Capture).await;
    let redrive = fifo_queue(
        &lane.home_sqs,
        &format!("{}-abort-redrive.fifo", lane.prefix),
        &[],
    )
    .await;
    let work = fifo_queue(
        &lane.home_sqs,
        &format!("{}-abort-work.fifo", lane.prefix),
        &[
            (
                QueueAttributeName::VisibilityTimeout,
                VISIBILITY_TIMEOUT_SECONDS.to_string(),
            ),
            (
                QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": redrive.arn, "maxReceiveCount": "5"}).to_string(),
            ),
        ],
    )
    .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let admin = |path: &str| format!("{}/_emulator{path}", lane.stack.governance_url);
    // A governance credential of this test's own, so its latency slows only this function's calls.
    let subject = lane.governance_subject();
    let secret = lane
        .own_governance_key(&format!("{}-api-key", lane.prefix))
        .await;

    let governance = lane.stack.governance();
    let use_case = approved_use_case(&governance, &lane.prefix).await;
    let person = lane.person().await;
    let group = lane.group("abort");
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
    let mut arns = Vec::new();
    for version in 1..=VERSIONS {
        arns.push(register(&person, &group, version).await);
    }
    // Every registration's events are queued before the function starts, so its first batch holds
    // them.
    let started = Instant::now();
    let events = lane
        .captured(
            |envelope| envelope["detail-type"] == "SageMaker Model Package State Change",
            VERSIONS,
        )
        .await;
    for (index, event) in events.iter().enumerate() {
        lane.home_sqs
            .send_message()
            .queue_url(&work.url)
            .message_body(&event.body)
            .message_group_id(&group)
            .message_deduplication_id(format!("abort-{index}"))
            .send()
            .await
            .unwrap();
    }
    let response = http
        .post(admin("/faults"))
        .json(&json!({"latency_ms": SLOW_CALL_MS, "count": 30, "subject": subject}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // The first process dies the moment governance holds the first model: mid-batch.
    let first = RunnerProcess::start(&lane, &work, &secret);
    let killed_at = loop {
        let created = with_a_model(&governance, &arns).await;
        if created > 0 {
            first.kill();
            break created;
        }
        assert!(
            started.elapsed() < TEST_BUDGET,
            "the first process created nothing; its log:\n{}",
            log_tail(&lane)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        killed_at < VERSIONS,
        "the kill landed after the whole batch ({killed_at} of {VERSIONS} done): not mid-batch"
    );

    // A new process takes the batch once its visibility timeout ends.
    let second = RunnerProcess::start(&lane, &work, &secret);
    loop {
        let synced = with_a_model(&governance, &arns).await == VERSIONS;
        let queued = queue_count(
            &lane,
            &work,
            QueueAttributeName::ApproximateNumberOfMessages,
        )
        .await
            + queue_count(
                &lane,
                &work,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            )
            .await;
        if synced && queued == 0 {
            break;
        }
        assert!(
            started.elapsed() < TEST_BUDGET,
            "after the kill, {} of {VERSIONS} versions reached governance and {queued} messages are left; the log:\n{}",
            with_a_model(&governance, &arns).await,
            log_tail(&lane)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(second);

    let model_group = the_one(
        &governance,
        GovernanceKind::ModelGroup,
        &lane.group_arn(&group),
    )
    .await;
    for arn in &arns {
        let model = the_one(&governance, GovernanceKind::Model, arn).await;
        assert_eq!(
            model.primary_parent_id.as_ref(),
            Some(&model_group.id),
            "{arn}"
        );
        assert_eq!(
            written_back_model_id(&person, arn).await.as_deref(),
            Some(model.id.as_str()),
            "{arn}: the write-back names its one model"
        );
    }
    let quarantined = lane.quarantined().await;
    assert!(quarantined.is_empty(), "quarantined: {quarantined:?}");
    let redriven = drain(&lane.home_sqs, &redrive.url).await;
    assert!(redriven.is_empty(), "redriven: {redriven:?}");
    for queue in [&work, &redrive] {
        let _ = lane
            .home_sqs
            .delete_queue()
            .queue_url(&queue.url)
            .send()
            .await;
    }
    println!(
        "killed with {killed_at} of {VERSIONS} versions in governance; all {VERSIONS} synced once after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(log_path(&lane));
    lane.close().await;
}
