//! The built `govsync` binary against the real local stack (moto, the registry emulator, the governance
//! emulator). `local/test.sh` runs these with the stack's environment; without it they fail rather
//! than skip.
//!
//! Isolation, as the reconciler's local-stack tests do it: each test's registry is a region of its own
//! (no EventBridge rule there, so its changes reach no queue and no other test, and only the test's
//! reconcile runs see them: the binary gets `GOVSYNC_REGISTRY_MAP` naming that region alone), groups
//! and use cases have unique names, decommission requests go to a queue the test creates, and the DLQ
//! test uses its own source queue and DLQ.

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Output};

use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, Tag,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use govsync_adapters::sqs::SqsQuarantine;
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    ExternalIdLookup, Field, Governance, GovernanceKind, GovernanceObject, NewGovernanceObject,
    Quarantine, QuarantinedMessage,
};
use govsync_core::sync::fields;
use govsync_testkit::stack::{Stack, var};
use serde_json::{Value, json};

/// A data scientist's key: anything but govsync's own.
const PERSON_KEY: &str = "AKIADATASCIENTIST001";
/// The hub's region (tables, queues, secrets).
const HUB_REGION: &str = "us-east-1";

/// What these tests add to the test kit's stack.
trait CliStack {
    async fn fifo_queue(&self, sqs: &aws_sdk_sqs::Client, name: &str) -> String;
    fn govsync(&self, region: &str, decommission_queue: &str, args: &[&str]) -> Output;
}

impl CliStack for Stack {
    async fn fifo_queue(&self, sqs: &aws_sdk_sqs::Client, name: &str) -> String {
        sqs.create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .expect("queue created")
            .queue_url
            .expect("queue URL")
    }

    /// Runs `govsync` with the stack's environment (inherited), the test's registry map and
    /// decommission queue, and the local defaults the CLI adds.
    fn govsync(&self, region: &str, decommission_queue: &str, args: &[&str]) -> Output {
        let vars: HashMap<&str, String> = HashMap::from([
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": self.account, "region": region, "business_entity": "CLI"}])
                    .to_string(),
            ),
            (
                "GOVSYNC_DECOMMISSION_QUEUE_URL",
                decommission_queue.to_owned(),
            ),
            ("AWS_REGION", HUB_REGION.to_owned()),
        ]);
        Command::new(env!("CARGO_BIN_EXE_govsync"))
            .args(args)
            .envs(vars)
            .env_remove("GOVSYNC_REGISTRIES_TABLE")
            .env_remove("GOVSYNC_MAPPING_FILE")
            .output()
            .expect("the govsync binary runs")
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// A use case approved in governance and its group, tagged, with one registered version.
struct Seeded {
    use_case: GovernanceObject,
    use_case_name: String,
    group: String,
    package_arn: String,
}

async fn seed(stack: &Stack, region: &str, prefix: &str) -> (Seeded, aws_sdk_sagemaker::Client) {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let governance = stack.governance();
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("CLI {run_id}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .expect("business entity");
    let use_case_name = format!("{prefix} {run_id}");
    let use_case = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: use_case_name.clone(),
            description: None,
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "Medium"),
            ],
        })
        .await
        .expect("use case");
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk_in(PERSON_KEY, region).await);
    let group = format!("{}-{run_id}", prefix.to_lowercase());
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
        .expect("group");
    let container = ModelPackageContainerDefinition::builder()
        .image(format!(
            "123456789012.dkr.ecr.{region}.amazonaws.com/xgboost:1"
        ))
        .build();
    let package_arn = person
        .create_model_package()
        .model_package_group_name(&group)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(container)
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .expect("package")
        .model_package_arn()
        .expect("package ARN")
        .to_owned();
    (
        Seeded {
            use_case,
            use_case_name,
            group,
            package_arn,
        },
        person,
    )
}

/// The drift kinds a reconcile report lists for one package.
fn drift_kinds_of(report: &Value, package_arn: &str) -> Vec<String> {
    report["drifts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|drift| drift["package_arn"] == package_arn)
        .filter_map(|drift| drift["kind"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn reconcile_dry_run_exits_with_the_drift_code_on_seeded_drift_and_0_after_reconcile() {
    const REGION: &str = "eu-south-2";
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_in("testing", HUB_REGION).await);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let queue = stack
        .fifo_queue(&sqs, &format!("cli-decommission-{run_id}.fifo"))
        .await;
    // Registered behind govsync's back: its events reached nobody.
    let (seeded, _person) = seed(&stack, REGION, "Reconcile").await;

    let dry = stack.govsync(REGION, &queue, &["reconcile", "--dry-run", "--json"]);
    assert_eq!(dry.status.code(), Some(3), "{}", stderr(&dry));
    let report = json_of(&dry);
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        drift_kinds_of(&report, &seeded.package_arn),
        vec!["package_not_in_governance"]
    );
    // Progress went to stderr, one line per group.
    let progress = stderr(&dry);
    assert!(
        progress.contains(&format!(
            "group {}: 1 package checked, 1 drift",
            seeded.group
        )),
        "{progress}"
    );

    let repair = stack.govsync(REGION, &queue, &["reconcile"]);
    assert_eq!(
        repair.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&repair),
        stderr(&repair)
    );
    assert!(stdout(&repair).contains("repaired"), "{}", stdout(&repair));

    let again = stack.govsync(REGION, &queue, &["reconcile", "--dry-run"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&again),
        stderr(&again)
    );
    assert!(stdout(&again).contains("no drift"), "{}", stdout(&again));

    // `--env-file FILE` alone (nothing inherited) is the same as a sourced stack.env: the file holds the
    // stack's variables and the function environment the stack wrote.
    let dir = std::env::temp_dir().join(format!("govsync-cli-{run_id}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let stack_env = dir.join("stack.env");
    let lines: String = [
        "GOVSYNC_MOTO_URL",
        "GOVSYNC_REGISTRY_URL",
        "GOVSYNC_GOVERNANCE_URL",
        "GOVSYNC_ACCOUNT_ID",
        "GOVSYNC_ROLE_ARN",
        "GOVSYNC_ACCESS_KEY_ID",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER",
    ]
    .iter()
    .map(|name| format!("export {name}={}\n", var(name)))
    .collect();
    std::fs::write(
        &stack_env,
        format!(
            "{lines}export AWS_ACCESS_KEY_ID=testing\nexport AWS_SECRET_ACCESS_KEY=testing\nexport AWS_REGION={HUB_REGION}\n{}",
            std::fs::read_to_string(var("GOVSYNC_ENV_FILE")).expect("the stack's govsync.env")
        ),
    )
    .expect("stack.env written");
    let from_file = Command::new(env!("CARGO_BIN_EXE_govsync"))
        .args([
            "--env-file",
            stack_env.to_str().expect("utf-8"),
            "reconcile",
            "--dry-run",
            "--quiet",
        ])
        .env_clear()
        .env(
            "GOVSYNC_REGISTRY_MAP",
            json!([{"account": stack.account, "region": REGION, "business_entity": "CLI"}])
                .to_string(),
        )
        .env("GOVSYNC_DECOMMISSION_QUEUE_URL", &queue)
        .output()
        .expect("the govsync binary runs");
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&from_file),
        stderr(&from_file)
    );
    assert!(stdout(&from_file).contains("no drift"));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn status_shows_a_synced_model_on_both_sides_and_then_its_drift() {
    const REGION: &str = "ap-southeast-4";
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_in("testing", HUB_REGION).await);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let queue = stack
        .fifo_queue(&sqs, &format!("cli-status-{run_id}.fifo"))
        .await;
    let (seeded, person) = seed(&stack, REGION, "Status").await;
    // govsync brings the version into governance; a reviewer moves its model along there, and govsync
    // carries the status to SageMaker (the reconciler's repairs, as the events would have done).
    let repair = stack.govsync(REGION, &queue, &["reconcile", "--quiet"]);
    assert_eq!(repair.status.code(), Some(0), "{}", stderr(&repair));
    let governance = stack.governance();
    let model = match governance
        .find_by_external_id(GovernanceKind::Model, &seeded.package_arn)
        .await
        .expect("model lookup")
    {
        ExternalIdLookup::Found(model) => model,
        other => panic!("no single model for the package: {other:?}"),
    };
    governance
        .update_object(
            &model.id,
            &[Field::choice(fields::MODEL_STATUS, "Under Development")],
            None,
        )
        .await
        .expect("status set in governance");
    let propagate = stack.govsync(REGION, &queue, &["reconcile", "--quiet"]);
    assert_eq!(
        propagate.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&propagate),
        stderr(&propagate)
    );

    let out = stack.govsync(REGION, &queue, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = json_of(&out);
    let registry = &status["registries"][0];
    assert_eq!(registry["registry"], format!("{}/{REGION}", stack.account));
    let group = registry["groups"]
        .as_array()
        .and_then(|groups| groups.iter().find(|g| g["group"] == seeded.group.as_str()))
        .unwrap_or_else(|| panic!("the group is listed: {status:#}"));
    assert_eq!(group["use_case_id"], seeded.use_case.id.as_str());
    assert_eq!(group["use_case"], seeded.use_case_name.as_str());
    let package = &group["packages"][0];
    assert_eq!(package["arn"], seeded.package_arn.as_str());
    assert_eq!(package["version"], 1);
    // Both sides: SageMaker's approval and lifecycle, governance's model and status.
    assert_eq!(package["approval"], "PendingManualApproval", "{package:#}");
    assert_eq!(package["stage"], "Development", "{package:#}");
    assert_eq!(package["stage_status"], "InProgress", "{package:#}");
    assert_eq!(package["governance_model_id"], model.id.as_str());
    assert_eq!(package["governance_status"], "Under Development");
    assert!(package["last_sync"].as_str().is_some(), "{package:#}");
    assert_eq!(package["drifts"], json!([]));
    assert_eq!(status["drifts"], 0);

    let table = stack.govsync(
        REGION,
        &queue,
        &["status", "--group", &seeded.group, "--quiet"],
    );
    assert_eq!(table.status.code(), Some(0));
    let text = stdout(&table);
    assert!(text.contains(&format!("group {}", seeded.group)), "{text}");
    assert!(
        text.contains("in sync") && text.contains("no drift"),
        "{text}"
    );

    // Approved in SageMaker behind governance's back: status shows the drift and exits 3, and
    // changes nothing (the approval stays).
    person
        .update_model_package()
        .model_package_arn(&seeded.package_arn)
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .expect("approved behind govsync's back");
    let drifted = stack.govsync(
        REGION,
        &queue,
        &["status", "--json", "--group", &seeded.group],
    );
    assert_eq!(drifted.status.code(), Some(3), "{}", stderr(&drifted));
    let status = json_of(&drifted);
    let package = &status["registries"][0]["groups"][0]["packages"][0];
    assert_eq!(package["approval"], "Approved");
    let kinds: Vec<&str> = package["drifts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"shadow_approval"), "{package:#}");
    let still = person
        .describe_model_package()
        .model_package_name(&seeded.package_arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        still.model_approval_status(),
        Some(&ModelApprovalStatus::Approved),
        "status repaired nothing"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn dlq_list_shows_the_quarantine_reason_and_replay_moves_the_message_back_in_its_group() {
    let stack = Stack::from_env();
    let sdk = stack.sdk_in("testing", HUB_REGION).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    // The test's own lane: a source queue whose redrive policy names its DLQ, as wiring.json does.
    let dlq = stack
        .fifo_queue(&sqs, &format!("cli-lane-{run_id}-dlq.fifo"))
        .await;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("DLQ attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("DLQ ARN");
    let source = sqs
        .create_queue()
        .queue_name(format!("cli-lane-{run_id}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}).to_string(),
        )
        .send()
        .await
        .expect("source queue")
        .queue_url
        .expect("source URL");

    // Quarantined the way the functions do it (the adapter they use).
    let body = json!({"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change", "account": "999999999999", "detail": {"run": run_id}}).to_string();
    let reason = "account 999999999999 / us-east-1 is not in the registry map";
    SqsQuarantine::new(sqs.clone(), dlq.clone())
        .quarantine(&QuarantinedMessage {
            body: body.clone(),
            message_group_id: "registry-events".to_owned(),
            deduplication_id: format!("q-{run_id}"),
            reason: reason.to_owned(),
            error_code: "unknown_registry".to_owned(),
            source_message_id: format!("src-{run_id}"),
        })
        .await
        .expect("quarantined");

    let list = stack.govsync(
        HUB_REGION,
        &source,
        &["dlq", "list", "--queue", &dlq, "--json"],
    );
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let listed = json_of(&list);
    let message = &listed["queues"][0]["messages"][0];
    assert_eq!(message["reason"], reason);
    assert_eq!(message["error_code"], "unknown_registry");
    assert_eq!(message["source_message_id"], format!("src-{run_id}"));
    assert_eq!(message["message_group_id"], "registry-events");
    assert_eq!(message["body"], body.as_str());
    let table = stack.govsync(HUB_REGION, &source, &["dlq", "list", "--queue", &dlq]);
    assert!(
        stdout(&table).contains(&format!("unknown_registry: {reason}")),
        "{}",
        stdout(&table)
    );

    // Listing removed nothing, and a dry run moves nothing.
    let dry = stack.govsync(
        HUB_REGION,
        &source,
        &["dlq", "replay", "--queue", &dlq, "--dry-run", "--json"],
    );
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(json_of(&dry)["messages"][0]["status"], "would_move");
    let source_messages = |visibility: i32| {
        let sqs = sqs.clone();
        let source = source.clone();
        async move {
            sqs.receive_message()
                .queue_url(&source)
                .max_number_of_messages(10)
                .visibility_timeout(visibility)
                .wait_time_seconds(0)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive from the source queue")
                .messages
                .unwrap_or_default()
        }
    };
    assert!(
        source_messages(0).await.is_empty(),
        "the dry run moved nothing"
    );

    // Replay: back on the source queue (found through its redrive policy), same body and group.
    let replay = stack.govsync(
        HUB_REGION,
        &source,
        &["dlq", "replay", "--queue", &dlq, "--json"],
    );
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    let report = json_of(&replay);
    assert_eq!(report["to"], format!("cli-lane-{run_id}.fifo"));
    assert_eq!(report["messages"][0]["status"], "moved");
    let back = source_messages(30).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].body(), Some(body.as_str()));
    assert_eq!(
        back[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            .map(String::as_str),
        Some("registry-events")
    );
    let empty = stack.govsync(
        HUB_REGION,
        &source,
        &["dlq", "list", "--queue", &dlq, "--json"],
    );
    assert_eq!(json_of(&empty)["queues"][0]["messages"], json!([]));
}

/// A SageMaker model, endpoint configuration and endpoint serving `package_arn`, as a deployment
/// pipeline creates them; the endpoint tagged `govsync:stage` = `stage` when given.
async fn deploy(
    person: &aws_sdk_sagemaker::Client,
    account: &str,
    name: &str,
    package_arn: &str,
    stage: Option<&str>,
) {
    use aws_sdk_sagemaker::types::{ContainerDefinition, ProductionVariant};
    person
        .create_model()
        .model_name(name)
        .execution_role_arn(format!("arn:aws:iam::{account}:role/sagemaker-execution"))
        .primary_container(
            ContainerDefinition::builder()
                .model_package_name(package_arn)
                .build(),
        )
        .send()
        .await
        .expect("model created");
    person
        .create_endpoint_config()
        .endpoint_config_name(name)
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name(name)
                .instance_type(aws_sdk_sagemaker::types::ProductionVariantInstanceType::MlM5Large)
                .initial_instance_count(1)
                .build(),
        )
        .send()
        .await
        .expect("endpoint configuration created");
    let tags: Vec<Tag> = stage
        .map(|stage| Tag::builder().key("govsync:stage").value(stage).build())
        .into_iter()
        .collect();
    person
        .create_endpoint()
        .endpoint_name(name)
        .endpoint_config_name(name)
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .expect("endpoint created");
}

/// The endpoint findings of a reconcile report (kind, package ARN) whose detail names `endpoint`.
fn serving_findings_of(report: &Value, endpoint: &str) -> Vec<(String, String)> {
    report["drifts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|drift| {
            drift["kind"]
                .as_str()
                .is_some_and(|kind| kind.starts_with("endpoint_serving_"))
                && drift["detail"]
                    .as_str()
                    .is_some_and(|detail| detail.starts_with(&format!("endpoint {endpoint} ")))
        })
        .map(|drift| {
            (
                drift["kind"].as_str().unwrap_or_default().to_owned(),
                drift["package_arn"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn reconcile_and_status_report_endpoints_serving_an_unapproved_or_decommissioned_version() {
    const REGION: &str = "me-central-1";
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_in("testing", HUB_REGION).await);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let queue = stack
        .fifo_queue(&sqs, &format!("cli-serving-{run_id}.fifo"))
        .await;
    let (seeded, person) = seed(&stack, REGION, "Serving").await;
    let unapproved = seeded.package_arn.clone();
    let container = ModelPackageContainerDefinition::builder()
        .image(format!(
            "123456789012.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
        ))
        .build();
    let retired = person
        .create_model_package()
        .model_package_group_name(&seeded.group)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(container)
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .expect("second version")
        .model_package_arn()
        .expect("package ARN")
        .to_owned();
    // govsync brings both versions into governance (status "Under Development": not approved). What
    // earlier runs on this stack left in the region is not this test's: assertions name its resources.
    let first = stack.govsync(REGION, &queue, &["reconcile", "--json"]);
    let report = json_of(&first);
    for arn in [&unapproved, &retired] {
        assert_eq!(
            drift_kinds_of(&report, arn),
            vec!["package_not_in_governance"],
            "{report:#}"
        );
    }

    // A pipeline deploys both, one endpoint tagged for production; then version 2 is archived in
    // SageMaker (govsync decommissions its Model) while its endpoint keeps serving.
    let production = format!("serving-prod-{run_id}");
    let legacy = format!("serving-legacy-{run_id}");
    deploy(
        &person,
        &stack.account,
        &production,
        &unapproved,
        Some("Production"),
    )
    .await;
    deploy(&person, &stack.account, &legacy, &retired, None).await;
    person
        .update_model_package()
        .model_package_arn(&retired)
        .model_life_cycle(
            aws_sdk_sagemaker::types::ModelLifeCycle::builder()
                .stage("Archived")
                .stage_status("Retired")
                .build(),
        )
        .send()
        .await
        .expect("archived in SageMaker");

    let repair = stack.govsync(REGION, &queue, &["reconcile", "--json"]);
    assert_eq!(
        repair.status.code(),
        Some(3),
        "findings are left: {}",
        stderr(&repair)
    );
    let report = json_of(&repair);
    assert_eq!(
        serving_findings_of(&report, &production),
        vec![("endpoint_serving_unapproved".to_owned(), unapproved.clone())],
        "{report:#}"
    );
    assert_eq!(
        serving_findings_of(&report, &legacy),
        vec![(
            "endpoint_serving_decommissioned".to_owned(),
            retired.clone()
        )],
        "{report:#}"
    );
    assert!(
        report["registries"][0]["endpoints"].as_u64() >= Some(2),
        "{report:#}"
    );

    // Where each version serves is written onto its governance Model.
    let governance = stack.governance();
    let deployments = |arn: String| {
        let governance = governance.clone();
        async move {
            let model = match governance
                .find_by_external_id(GovernanceKind::Model, &arn)
                .await
                .expect("model lookup")
            {
                ExternalIdLookup::Found(model) => model,
                other => panic!("no single model for {arn}: {other:?}"),
            };
            (
                model
                    .field(fields::MODEL_STATUS)
                    .and_then(|value| value.as_text()),
                model
                    .field("MRG-Model:Deployments")
                    .and_then(|value| value.as_text())
                    .unwrap_or_default(),
            )
        }
    };
    let (status, text) = deployments(unapproved.clone()).await;
    assert_eq!(status.as_deref(), Some("Under Development"));
    assert!(
        text.starts_with(&format!(
            "endpoint {production} (Production) in {}/{REGION} since ",
            stack.account
        )) && text.lines().count() == 1,
        "{text:?}"
    );
    let (status, text) = deployments(retired.clone()).await;
    assert_eq!(status.as_deref(), Some("Decommissioned"));
    assert!(
        text.starts_with(&format!(
            "endpoint {legacy} (no stage) in {}/{REGION} since ",
            stack.account
        )),
        "{text:?}"
    );

    // status shows both findings in its serving section, and exits with the drift code.
    let out = stack.govsync(REGION, &queue, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let status = json_of(&out);
    let serving = &status["serving"][0];
    assert_eq!(serving["registry"], format!("{}/{REGION}", stack.account));
    assert!(serving["endpoints"].as_u64() >= Some(2), "{status:#}");
    let findings: BTreeSet<(String, String, String)> = serving["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|finding| {
            finding["endpoint"] == production.as_str() || finding["endpoint"] == legacy.as_str()
        })
        .map(|finding| {
            (
                finding["endpoint"].as_str().unwrap_or_default().to_owned(),
                finding["kind"].as_str().unwrap_or_default().to_owned(),
                finding["package_arn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        BTreeSet::from([
            (
                production.clone(),
                "endpoint_serving_unapproved".to_owned(),
                unapproved.clone()
            ),
            (
                legacy.clone(),
                "endpoint_serving_decommissioned".to_owned(),
                retired.clone()
            ),
        ]),
        "{status:#}"
    );
    assert_eq!(
        serving["deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|drift| {
                drift["package_arn"] == unapproved.as_str()
                    || drift["package_arn"] == retired.as_str()
            })
            .count(),
        0,
        "the Deployments were written by the reconcile: {status:#}"
    );
    let table = stack.govsync(REGION, &queue, &["status", "--quiet"]);
    let text = stdout(&table);
    assert!(
        text.contains("serving (read-only: govsync never stops or changes an endpoint)")
            && text.contains(&production)
            && text.contains(&legacy)
            && text.contains("endpoint_serving_unapproved")
            && text.contains("endpoint_serving_decommissioned"),
        "{text}"
    );

    // Nothing else is left, and govsync changed no endpoint.
    let again = stack.govsync(REGION, &queue, &["reconcile", "--dry-run", "--json"]);
    let report = json_of(&again);
    let kinds: BTreeSet<&str> = report["drifts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|drift| drift["group"] == seeded.group.as_str())
        .filter_map(|drift| drift["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "endpoint_serving_unapproved",
            "endpoint_serving_decommissioned"
        ]),
        "{report:#}"
    );
    for endpoint in [&production, &legacy] {
        let described = person
            .describe_endpoint()
            .endpoint_name(endpoint)
            .send()
            .await
            .expect("the endpoint is still there");
        assert_eq!(described.endpoint_config_name(), Some(endpoint.as_str()));
    }

    // The production endpoint taken down: its line leaves the Model.
    person
        .delete_endpoint()
        .endpoint_name(&production)
        .send()
        .await
        .expect("endpoint deleted");
    let cleared = stack.govsync(REGION, &queue, &["reconcile", "--json"]);
    let report = json_of(&cleared);
    assert_eq!(
        drift_kinds_of(&report, &unapproved),
        vec!["deployments_out_of_step"],
        "{report:#}"
    );
    let (_, text) = deployments(unapproved.clone()).await;
    assert_eq!(text, "", "served nowhere now");
}
