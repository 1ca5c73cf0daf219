//! Many registries, end to end on the local stack (issue 18, 11): three registries in two accounts and
//! two regions, each the central registry of its own business entity, reached the way a deployment
//! reaches them — through STS `AssumeRole` into the spoke role `govsync-registry-access-<region>` with
//! the external id — and read from a registries table at cold start.
//!
//! - F1: a use case under each entity provisions its group in that entity's registry only; one whose
//!   entity has no registry yet provisions nothing and fails nothing.
//! - A registry put in the table while the functions run is picked up as documented: by the next
//!   execution environment (a fresh cold start reads the table); until then its events are skipped,
//!   never dead-lettered.
//! - F2: each registry's versions sync under its own entity's use case; an event arriving in another
//!   registry's envelope touches nothing of another entity.
//! - `govsync status` and `govsync reconcile` report per registry, each with its business entity.
//!
//! The registries live in regions no other test uses, so the status lists only this test's groups.
//! Each region has a capture lane; what it captures is forwarded to registry-events as the spokes
//! would (the envelope's account set to the source account). `local/test.sh` runs it with the stack's
//! environment; without it, it fails.

use std::process::{Command, Output};

use aws_lambda_events::sqs::SqsEvent;
use chrono::{SecondsFormat, Utc};
use govsync_adapters::registry_map::RegistrySource;
use govsync_core::RegistryMap;
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{Governance, GovernanceId, GovernanceKind, GovernanceObject};
use govsync_lambda::config::Config;
use govsync_testkit::stack::{
    Feed, Lane, Received, TEST_BUDGET, approved_use_case_under, fifo_queue, source_account, the_one,
};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

/// The second account (the first is the stack's own).
const SECOND_ACCOUNT: &str = "111111111111";
const REGION_X: &str = "eu-south-2";
const REGION_Y: &str = "ap-southeast-3";
const SPOKE_ROLE_NAME: &str = "govsync-registry-access";
const EXTERNAL_ID: &str = "many-registries-external-id";
const API_KEY_SECRET: &str = "govsync/governance-api-key";
const HUB_REGION: &str = "us-east-1";

/// One registry of the test: where it is, whose it is, and a data scientist working in it.
struct Registry {
    account: String,
    region: &'static str,
    entity: String,
    use_case: GovernanceObject,
    /// The lane whose prefix its group carries (the lane of its region).
    prefix: String,
}

/// What DEPLOYMENT.md's "Add a registry" puts in the table.
async fn add_registry(dynamodb: &aws_sdk_dynamodb::Client, table: &str, registry: &Registry) {
    use aws_sdk_dynamodb::types::AttributeValue;
    dynamodb
        .put_item()
        .table_name(table)
        .item("account", AttributeValue::S(registry.account.clone()))
        .item("region", AttributeValue::S(registry.region.to_owned()))
        .item(
            "business_entity",
            AttributeValue::S(registry.entity.clone()),
        )
        .condition_expression("attribute_not_exists(account)")
        .send()
        .await
        .unwrap();
}

/// A cold start's configuration: the registries the table holds now, each reached through its spoke
/// role with the external id, the lane's tables and DLQ.
async fn cold_start_config(lane: &Lane, table: &str) -> Config {
    let registries: RegistryMap = RegistrySource::Table(table.to_owned())
        .load(&lane.dynamodb)
        .await
        .unwrap();
    let mut config = lane.config(API_KEY_SECRET);
    config.registries = registries;
    config.spoke_role_name = Some(SPOKE_ROLE_NAME.to_owned());
    config.spoke_external_id = Some(EXTERNAL_ID.to_owned());
    for registry in config.registries.registries() {
        if let Some(role) =
            govsync_lambda::config::registry_role(registry, Some(SPOKE_ROLE_NAME)).unwrap()
        {
            config.writers.add_role(role);
        }
    }
    config
}

async fn approval_propagation(
    lane: &Lane,
    table: &str,
    decommission_queue: &str,
) -> govsync_approval_propagation::Function {
    let config = govsync_approval_propagation::Config {
        base: cold_start_config(lane, table).await,
        sender: None,
        decommission_queue_url: decommission_queue.to_owned(),
        decision_bus: None,
    };
    govsync_approval_propagation::Function::new(config, &lane.function_sdk().await)
        .await
        .unwrap()
}

async fn registry_events(lane: &Lane, table: &str) -> govsync_registry_events::Function {
    govsync_registry_events::Function::new(
        cold_start_config(lane, table).await,
        &lane.function_sdk().await,
    )
    .await
    .unwrap()
}

/// The governance event of `object` (an approval), as an SQS batch of one.
fn governance_event(object: &GovernanceId, delivery: &str) -> SqsEvent {
    let body = json!({
        "schema": "govsync.governance-event/v1", "source": "webhook", "delivery_id": delivery,
        "event_type": "object.updated", "object_id": object.as_str(), "object_type": null,
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true), "changed_fields": [],
    });
    serde_json::from_value(json!({"Records": [{
        "messageId": format!("m-{delivery}"), "receiptHandle": format!("rh-{delivery}"),
        "body": body.to_string(),
        "attributes": {"MessageGroupId": object.as_str(), "ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": HUB_REGION,
    }]}))
    .unwrap()
}

async fn approve(
    function: &govsync_approval_propagation::Function,
    use_case: &GovernanceId,
    delivery: &str,
) {
    let mut context = Context::default();
    context.deadline = u64::try_from(Utc::now().timestamp_millis() + 60_000).unwrap();
    let failed = function
        .handle(LambdaEvent::new(
            governance_event(use_case, delivery),
            context,
        ))
        .await
        .unwrap()
        .batch_item_failures;
    assert!(failed.is_empty(), "{delivery}: {failed:?}");
}

/// The groups carrying `prefix` in a registry.
async fn groups(person: &aws_sdk_sagemaker::Client, prefix: &str) -> Vec<String> {
    person
        .list_model_package_groups()
        .name_contains(prefix)
        .send()
        .await
        .unwrap()
        .model_package_group_summary_list()
        .iter()
        .map(|g| g.model_package_group_arn().unwrap_or_default().to_owned())
        .collect()
}

/// Forwards what a region's lane captured about `arns` to the hub's work queue, as the spokes do.
async fn forward(from: &Lane, hub: &Lane, arns: &[String], per_package: usize) {
    let about = |e: &Value| {
        arns.iter().any(|arn| {
            e["resources"][0].as_str() == Some(arn.as_str())
                || e["detail"]["responseElements"]["modelPackageArn"].as_str() == Some(arn.as_str())
        })
    };
    let captured: Vec<Received> = from.captured(about, per_package * arns.len()).await;
    for message in captured.iter().filter(|m| about(&m.envelope())) {
        let mut envelope = message.envelope();
        if let Some(account) = source_account(&envelope) {
            envelope["account"] = json!(account);
        }
        hub.send(&envelope.to_string(), &message.message_id).await;
    }
}

fn govsync(lane: &Lane, table: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govsync"))
        .args(args)
        .env("AWS_REGION", HUB_REGION)
        .env("GOVSYNC_REGISTRIES_TABLE", table)
        .env_remove("GOVSYNC_REGISTRY_MAP")
        .env_remove("GOVSYNC_MAPPING_FILE")
        .env("GOVSYNC_SPOKE_ROLE_NAME", SPOKE_ROLE_NAME)
        .env("GOVSYNC_SPOKE_EXTERNAL_ID", EXTERNAL_ID)
        .env(
            "GOVSYNC_IDEMPOTENCY_TABLE",
            lane.table("govsync-idempotency"),
        )
        .env("GOVSYNC_LINKS_TABLE", lane.table("govsync-links"))
        .env(
            "GOVSYNC_DECOMMISSION_QUEUE_URL",
            lane.stack.queue_url("decommission.fifo"),
        )
        .output()
        .expect("the govsync binary runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn three_registries_in_two_accounts_and_two_regions_each_serve_only_their_business_entity() {
    let mut hub = Lane::open_in(Feed::Capture, REGION_X).await;
    let in_y = Lane::open_in(Feed::Capture, REGION_Y).await;
    let governance = hub.stack.governance();
    let table = hub.own_table("govsync-registries").await;
    let decommission = fifo_queue(
        &hub.home_sqs,
        &format!("{}-decommission.fifo", hub.prefix),
        &[],
    )
    .await;

    let mut registries = Vec::new();
    for (account, region, name, lane) in [
        (hub.stack.account.clone(), REGION_X, "retail", &hub),
        (SECOND_ACCOUNT.to_owned(), REGION_X, "insurance", &hub),
        (SECOND_ACCOUNT.to_owned(), REGION_Y, "wealth", &in_y),
    ] {
        let entity = format!("{name} {}", hub.prefix);
        let use_case =
            approved_use_case_under(&governance, &entity, &format!("{} {name}", lane.prefix)).await;
        registries.push(Registry {
            account,
            region,
            entity,
            use_case,
            prefix: lane.prefix.clone(),
        });
    }
    let people = [
        hub.person_in(&registries[0].account, REGION_X, "rita")
            .await,
        hub.person_in(&registries[1].account, REGION_X, "ines")
            .await,
        hub.person_in(&registries[2].account, REGION_Y, "walt")
            .await,
    ];

    // Deployed with two registries; the third entity has none yet.
    add_registry(&hub.dynamodb, &table, &registries[0]).await;
    add_registry(&hub.dynamodb, &table, &registries[1]).await;
    let first_approvals = approval_propagation(&hub, &table, &decommission.url).await;
    let first_registry_events = registry_events(&hub, &table).await;
    for (index, registry) in registries.iter().enumerate() {
        approve(
            &first_approvals,
            &registry.use_case.id,
            &format!("first-{index}"),
        )
        .await;
    }
    let provisioned: Vec<Vec<String>> = {
        let mut all = Vec::new();
        for (person, registry) in people.iter().zip(&registries) {
            all.push(groups(person, &registry.prefix).await);
        }
        all
    };
    for (index, registry) in registries[..2].iter().enumerate() {
        assert_eq!(
            provisioned[index].len(),
            1,
            "{}: {:?}",
            registry.entity,
            provisioned
        );
        assert!(
            provisioned[index][0].contains(&format!(":{}:model-package-group/", registry.account))
                && provisioned[index][0].ends_with(registry.use_case.id.as_str()),
            "{}: {}",
            registry.entity,
            provisioned[index][0]
        );
    }
    // The two registries of REGION_X hold only their own entity's group each.
    assert_ne!(provisioned[0], provisioned[1]);
    assert!(
        provisioned[2].is_empty(),
        "no registry yet for {}",
        registries[2].entity
    );

    // The third registry is added at run time; the next cold start (DEPLOYMENT.md) reads it.
    add_registry(&hub.dynamodb, &table, &registries[2]).await;
    let approvals = approval_propagation(&hub, &table, &decommission.url).await;
    approve(&approvals, &registries[2].use_case.id, "after-add").await;
    let wealth_groups = groups(&people[2], &registries[2].prefix).await;
    assert_eq!(wealth_groups.len(), 1, "{wealth_groups:?}");
    assert!(
        wealth_groups[0].contains(&format!(":{REGION_Y}:{SECOND_ACCOUNT}:")),
        "{wealth_groups:?}"
    );
    let group_arns = [
        provisioned[0][0].clone(),
        provisioned[1][0].clone(),
        wealth_groups[0].clone(),
    ];

    // Each data scientist registers a version in their own registry's group.
    let mut packages = Vec::new();
    for (person, group_arn) in people.iter().zip(&group_arns) {
        let arn = person
            .create_model_package()
            .model_package_group_name(group_arn.rsplit('/').next().unwrap())
            .model_package_description("a version")
            .send()
            .await
            .unwrap()
            .model_package_arn()
            .unwrap()
            .to_owned();
        packages.push(arn);
    }

    // The environment started before the third registry skips its events: counted, not dead-lettered.
    forward(&in_y, &hub, &packages[2..], 2).await;
    let delivery = hub
        .deliver(&first_registry_events, TEST_BUDGET, || async { true })
        .await;
    assert_eq!(delivery.reported_failures, 0, "{delivery:?}");
    assert!(
        hub.quarantined().await.is_empty(),
        "skipped, not quarantined"
    );
    assert!(matches!(
        governance
            .find_by_external_id(GovernanceKind::Model, &packages[2])
            .await
            .unwrap(),
        govsync_core::ports::ExternalIdLookup::Absent
    ));

    // A fresh environment syncs every registry's versions; the Y events come again from the spoke.
    let function = registry_events(&hub, &table).await;
    forward(&hub, &hub, &packages[..2], 2).await;
    for arn in &packages[2..] {
        let state_change = json!({
            "version": "0", "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
            "account": SECOND_ACCOUNT, "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "region": REGION_Y, "resources": [arn],
            "detail": {"ModelPackageArn": arn, "ModelPackageGroupName": wealth_groups[0].rsplit('/').next().unwrap()},
        });
        hub.send(&state_change.to_string(), &format!("again-{arn}"))
            .await;
    }
    // And a record of the second account's REGION_X registry arriving in the first account's envelope.
    let misrouted = json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
        "account": hub.stack.account, "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "region": REGION_X, "resources": [packages[1]],
        "detail": {"ModelPackageArn": packages[1], "ModelPackageGroupName": provisioned[0][0].rsplit('/').next().unwrap()},
    });
    hub.send(&misrouted.to_string(), "misrouted").await;
    let delivery = hub.deliver(&function, TEST_BUDGET, || async { true }).await;
    assert_eq!(delivery.reported_failures, 0, "{delivery:?}");
    assert!(hub.quarantined().await.is_empty());

    for ((arn, registry), group_arn) in packages.iter().zip(&registries).zip(&group_arns) {
        let model = the_one(&governance, GovernanceKind::Model, arn).await;
        let model_group = the_one(&governance, GovernanceKind::ModelGroup, group_arn).await;
        assert_eq!(
            model.primary_parent_id.as_ref(),
            Some(&model_group.id),
            "{arn}"
        );
        assert_eq!(
            model_group.primary_parent_id.as_ref(),
            Some(&registry.use_case.id),
            "{arn} is under {}'s use case",
            registry.entity
        );
        let links = people[registries
            .iter()
            .position(|r| r.entity == registry.entity)
            .unwrap()]
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
        .unwrap()
        .customer_metadata_properties()
        .and_then(|m| m.get(keys::LINKS).cloned())
        .unwrap_or_default();
        assert!(
            links.contains(&format!("model={}", model.id)),
            "{arn}: {links}"
        );
    }
    // govsync status and reconcile: per registry, each with its business entity.
    let status = govsync(&hub, &table, &["status", "--json", "--quiet"]);
    // 0, or 3 when an earlier run on this stack left drift behind (this run's packages show none).
    assert!(
        matches!(status.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report = json_of(&status);
    let listed: Vec<(String, String)> = report["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["registry"].as_str().unwrap().to_owned(),
                r["business_entity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (registry, arn) in registries.iter().zip(&packages) {
        let label = format!("{}/{}", registry.account, registry.region);
        assert!(
            listed.contains(&(label.clone(), registry.entity.clone())),
            "{listed:?}"
        );
        let shown = report["registries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["registry"] == label.as_str())
            .unwrap();
        let packages_shown: Vec<&str> = shown["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| {
                g["group"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&registry.prefix)
            })
            .flat_map(|g| g["packages"].as_array().unwrap().iter())
            .inspect(|p| {
                assert!(p["governance_model_id"].is_string(), "{label}: {p}");
                assert_eq!(p["drifts"], json!([]), "{label}: {p}");
            })
            .map(|p| p["arn"].as_str().unwrap())
            .collect();
        assert_eq!(
            packages_shown,
            [arn.as_str()],
            "{label} shows its own version only"
        );
    }
    let clean = json_of(&govsync(
        &hub,
        &table,
        &["reconcile", "--dry-run", "--json", "--quiet"],
    ));
    for arn in &packages {
        assert!(
            !clean["drifts"].to_string().contains(arn.as_str()),
            "{arn} is in step: {clean}"
        );
    }
    // A shadow approval in the third registry: the reconciler names that registry, and only it.
    people[2]
        .update_model_package()
        .model_package_arn(&packages[2])
        .model_approval_status(aws_sdk_sagemaker::types::ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap();
    let reconcile = govsync(
        &hub,
        &table,
        &["reconcile", "--dry-run", "--json", "--quiet"],
    );
    let report = json_of(&reconcile);
    let per_registry: Vec<(String, String)> = report["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["registry"].as_str().unwrap().to_owned(),
                r["business_entity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = registries
        .iter()
        .map(|r| (format!("{}/{}", r.account, r.region), r.entity.clone()))
        .collect();
    // In the table's order, which is not the order the items were put.
    let sorted = |mut list: Vec<(String, String)>| {
        list.sort();
        list
    };
    assert_eq!(sorted(per_registry), sorted(expected), "{report}");
    let drift_about = |arn: &str| {
        report["drifts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|drift| drift.to_string().contains(arn))
    };
    assert!(drift_about(&packages[2]), "{report}");
    assert!(
        !drift_about(&packages[0]) && !drift_about(&packages[1]),
        "{report}"
    );
    let third = format!("{}/{}", registries[2].account, registries[2].region);
    for registry in report["registries"].as_array().unwrap() {
        let drifts = registry["drifts"].as_u64().unwrap();
        if registry["registry"] == third.as_str() {
            assert!(drifts >= 1, "counted under its registry: {report}");
        }
    }
    assert_eq!(reconcile.status.code(), Some(3), "drift found: {report}");
    // Leave the test's regions empty for the next run on this stack.
    for ((person, arn), group_arn) in people.iter().zip(&packages).zip(&group_arns) {
        let _ = person
            .delete_model_package()
            .model_package_name(arn)
            .send()
            .await;
        let _ = person
            .delete_model_package_group()
            .model_package_group_name(group_arn.rsplit('/').next().unwrap())
            .send()
            .await;
    }
    in_y.close().await;
    hub.close().await;
}
