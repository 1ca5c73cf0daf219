//! A central model registry shared with development accounts, on the real local stack (issue 22).
//!
//! Four accounts: the central registry (governed, its spoke forwards its events), development account A
//! (also a governed registry, with its own spoke and role), development account B (not governed: no spoke,
//! nothing of it reaches govsync) and a third account C that no policy names. The central group is shared
//! with A and B by `PutModelPackageGroupPolicy`, a second group by an AWS RAM share. Data scientists in A,
//! B and C are roles assumed through the local STS, so the registry emulator tells their accounts apart
//! and enforces the groups' policies as SageMaker does.
//!
//! What reaches the hub is what the spokes forward: the events of the central account and of A (B and C
//! have no spoke). moto keeps no source account on delivery, so each forwarded envelope is given the
//! account real EventBridge keeps: the CloudTrail record's `recipientAccountId`, the package owner's for a
//! state change. `local/test.sh` runs this with the stack's environment; without it, it fails.

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::Tag;
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{ExternalIdLookup, FieldValue, Governance, GovernanceKind};
use govsync_core::sync::fields;
use govsync_core::{RegistryMap, RoleArn};
use govsync_testkit::stack::{
    Feed, Lane, Received, TEST_BUDGET, approved_use_case, source_account, the_one,
};
use serde_json::{Value, json};

const API_KEY_SECRET: &str = "govsync/governance-api-key";
const DEV_A: &str = "111111111111";
const DEV_B: &str = "222222222222";
const THIRD: &str = "333333333333";
/// The spoke role govsync assumes in account A (infra/spoke.yaml's name).
const SPOKE_ROLE_A: &str = "arn:aws:iam::111111111111:role/govsync/govsync-registry-access";

fn sharing_policy(group_arn: &str, accounts: &[&str]) -> String {
    let principals: Vec<String> = accounts
        .iter()
        .map(|account| format!("arn:aws:iam::{account}:root"))
        .collect();
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DevelopmentAccountsRegister",
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage",
                   "sagemaker:ListModelPackages", "sagemaker:UpdateModelPackage",
                   "sagemaker:DescribeModelPackageGroup"],
        "Resource": [group_arn, group_arn.replace(":model-package-group/", ":model-package/") + "/*"],
    }]})
    .to_string()
}

/// Shares `group_arn` with `accounts` through the emulator's AWS RAM (restJson1, as the RAM SDKs call it).
async fn ram_share(lane: &Lane, group_arn: &str, accounts: &[&str]) {
    let sdk = lane.stack.sdk_in("testing", &lane.region).await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SAGEMAKER").expect("the stack's registry URL");
    let body =
        json!({"name": "central-registry", "resourceArns": [group_arn], "principals": accounts});
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/createresourceshare", endpoint.trim_end_matches('/')))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/ram/aws4_request, SignedHeaders=host, Signature=0",
                sdk.region().map(|r| r.to_string()).unwrap_or_default()
            ),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

fn text(object: &govsync_core::ports::GovernanceObject, name: &str) -> Option<String> {
    object.field(name).and_then(FieldValue::as_text)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn registrations_from_development_accounts_sync_once_each_and_a_third_account_is_refused() {
    let lane = Lane::open(Feed::Capture).await;
    let governance = lane.stack.governance();
    let use_case = approved_use_case(&governance, &lane.prefix).await;

    // registry-events governs the central registry and A (through A's spoke role).
    let mut config = lane.config(API_KEY_SECRET);
    config.registries = RegistryMap::parse(
        &json!([
            {"account": lane.stack.account, "region": lane.region, "business_entity": "Retail Banking"},
            {"account": DEV_A, "region": lane.region, "business_entity": "Development A", "role_arn": SPOKE_ROLE_A},
        ])
        .to_string(),
    )
    .unwrap();
    config
        .writers
        .add_role(RoleArn::parse(SPOKE_ROLE_A).unwrap());
    let function = govsync_registry_events::Function::new(config, &lane.function_sdk().await)
        .await
        .unwrap();

    // The central account's platform team: two groups for the use case, one shared by policy, one by RAM.
    let owner = lane.person().await;
    let by_policy = lane.group("central");
    let by_ram = lane.group("central-ram");
    for group in [&by_policy, &by_ram] {
        owner
            .create_model_package_group()
            .model_package_group_name(group)
            .tags(
                Tag::builder()
                    .key(keys::USE_CASE_ID)
                    .value(use_case.id.as_str())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let policy_group_arn = lane.group_arn(&by_policy);
    let ram_group_arn = lane.group_arn(&by_ram);
    owner
        .put_model_package_group_policy()
        .model_package_group_name(&by_policy)
        .resource_policy(sharing_policy(&policy_group_arn, &[DEV_A, DEV_B]))
        .send()
        .await
        .unwrap();
    ram_share(&lane, &ram_group_arn, &[DEV_A, DEV_B]).await;

    // Data scientists register by the group's ARN from A and B; C is refused.
    let ana = lane.person_in(DEV_A, &lane.region, "ana").await;
    let ben = lane.person_in(DEV_B, &lane.region, "ben").await;
    let cy = lane.person_in(THIRD, &lane.region, "cy").await;
    let mut registered = Vec::new();
    for (person, who, group_arn) in [
        (&ana, DEV_A, &policy_group_arn),
        (&ben, DEV_B, &policy_group_arn),
        (&ana, DEV_A, &ram_group_arn),
        (&ben, DEV_B, &ram_group_arn),
    ] {
        let arn = person
            .create_model_package()
            .model_package_group_name(group_arn)
            .model_package_description(format!("registered from {who}"))
            .send()
            .await
            .unwrap()
            .model_package_arn()
            .unwrap()
            .to_owned();
        assert!(
            arn.contains(&format!(":{}:model-package/", lane.stack.account)),
            "the version is the central account's: {arn}"
        );
        registered.push((arn, who));
    }
    for group_arn in [&policy_group_arn, &ram_group_arn] {
        let refused = cy
            .create_model_package()
            .model_package_group_name(group_arn)
            .send()
            .await
            .expect_err("a third account is not in the group's policy");
        assert_eq!(refused.code(), Some("AccessDeniedException"), "{refused:?}");
    }

    // What the spokes forward: the central account's events and A's; B and C have no spoke.
    let arns: Vec<&str> = registered.iter().map(|(arn, _)| arn.as_str()).collect();
    let about_ours = |e: &Value| {
        arns.contains(&e["resources"][0].as_str().unwrap_or_default())
            || arns.contains(
                &e["detail"]["responseElements"]["modelPackageArn"]
                    .as_str()
                    .unwrap_or_default(),
            )
    };
    // Each registration: the owner's state change and the caller's CloudTrail record.
    let captured: Vec<Received> = lane.captured(about_ours, 2 * registered.len()).await;
    let mut forwarded = 0;
    let mut from_a = 0;
    for message in captured.iter().filter(|m| about_ours(&m.envelope())) {
        let mut envelope = message.envelope();
        let Some(account) = source_account(&envelope) else {
            continue;
        };
        assert_ne!(
            account, THIRD,
            "a refused call changed nothing and published nothing"
        );
        if account != lane.stack.account && account != DEV_A {
            continue;
        }
        from_a += usize::from(account == DEV_A);
        envelope["account"] = json!(account);
        lane.send(&envelope.to_string(), &message.message_id).await;
        forwarded += 1;
    }
    assert_eq!(
        from_a, 2,
        "A's two CloudTrail records reach the hub through A's spoke"
    );
    assert_eq!(forwarded, registered.len() + 2);

    let delivery = lane
        .deliver(&function, TEST_BUDGET, || async { true })
        .await;
    assert_eq!(delivery.reported_failures, 0, "{delivery:?}");

    // Each version synced once, under the use case, with its creator from the development account.
    for (arn, who) in &registered {
        let model = the_one(&governance, GovernanceKind::Model, arn).await;
        let creator = text(&model, fields::MODEL_CREATOR).unwrap_or_default();
        assert_eq!(
            creator.split(':').nth(4),
            Some(*who),
            "{arn}: creator {creator} is the development identity"
        );
        assert!(creator.contains("assumed-role/data-science/"), "{creator}");
    }
    for group_arn in [&policy_group_arn, &ram_group_arn] {
        let model_group = the_one(&governance, GovernanceKind::ModelGroup, group_arn).await;
        assert_eq!(model_group.primary_parent_id.as_ref(), Some(&use_case.id));
    }

    // No dead letter and no quarantine for a legitimate cross-account registration.
    lane.assert_nothing_lost().await;

    // A hostile record in A's envelope naming a package of an account govsync does not govern has no
    // effect and is not quarantined either.
    let foreign = format!(
        "arn:aws:sagemaker:{}:444444444444:model-package/{}/1",
        lane.region, by_policy
    );
    let hostile = json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker",
        "account": DEV_A, "time": "2026-12-01T00:00:00Z", "region": lane.region, "resources": [],
        "detail": {
            "eventVersion": "1.11", "eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModelPackage",
            "awsRegion": lane.region, "eventID": uuid::Uuid::new_v4().to_string(),
            "eventTime": "2026-12-01T00:00:00Z", "recipientAccountId": DEV_A,
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{DEV_A}:assumed-role/data-science/ana"), "accountId": DEV_A},
            "requestParameters": {"modelPackageGroupName": foreign.replace(":model-package/", ":model-package-group/").trim_end_matches("/1")},
            "responseElements": {"modelPackageArn": foreign},
        },
    });
    lane.send(&hostile.to_string(), "hostile-foreign-package")
        .await;
    let delivery = lane
        .deliver(&function, TEST_BUDGET, || async { true })
        .await;
    assert_eq!(
        (delivery.deleted, delivery.reported_failures),
        (1, 0),
        "{delivery:?}"
    );
    assert!(lane.quarantined().await.is_empty());
    assert!(matches!(
        governance
            .find_by_external_id(GovernanceKind::Model, &foreign)
            .await
            .unwrap(),
        ExternalIdLookup::Absent
    ));
    lane.close().await;
}
