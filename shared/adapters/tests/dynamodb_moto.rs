//! The DynamoDB stores against moto: the idempotency protocol under concurrency and expiry,
//! conditional revisions, the our-write ledger, cursors.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use chrono::{DateTime, TimeDelta, Utc};
use govsync_adapters::dynamodb::{
    DEFAULT_CURSORS_TABLE, DEFAULT_IDEMPOTENCY_TABLE, DEFAULT_LINKS_TABLE, DEFAULT_RECORD_TTL,
    DynamoCursorStore, DynamoIdempotencyStore, DynamoLinkStore,
};
use govsync_core::IdempotencyKey;
use govsync_core::ports::{CommitOutcome, EchoCheck, StoreWrite, Tombstone};
use govsync_core::ports::{
    CursorStore, GovernanceId, IdempotencyBegin, IdempotencyStore, Link, LinkEnd, LinkKind,
    LinkStore, OurWrite, RevisionOutcome, WriteSide,
};
use govsync_core::ports::{EchoLedger as _, RevisionStore as _, TombstoneStore as _};
use serde_json::json;

/// Creates a table the bootstrap would have created, when it is missing (bare moto).
async fn ensure_table(client: &Client, name: &str, keys: &[(&str, KeyType)]) {
    let exists = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok();
    if exists {
        return;
    }
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, key_type) in keys {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap_or_else(|error| panic!("{error}")),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*attribute)
                    .key_type(key_type.clone())
                    .build()
                    .unwrap_or_else(|error| panic!("{error}")),
            );
    }
    // Another test may create it concurrently: a failure here is fine if the table exists now.
    if let Err(error) = request.send().await {
        let exists = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_ok();
        assert!(exists, "cannot create table {name}: {error:?}");
    }
}

async fn client() -> Client {
    let client = Client::new(&common::moto_config().await);
    ensure_table(&client, DEFAULT_IDEMPOTENCY_TABLE, &[("id", KeyType::Hash)]).await;
    ensure_table(
        &client,
        DEFAULT_LINKS_TABLE,
        &[("pk", KeyType::Hash), ("sk", KeyType::Range)],
    )
    .await;
    ensure_table(&client, DEFAULT_CURSORS_TABLE, &[("id", KeyType::Hash)]).await;
    client
}

fn later(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    now + TimeDelta::seconds(seconds)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn concurrent_duplicate_begins_let_exactly_one_win() {
    let store = Arc::new(DynamoIdempotencyStore::new(
        client().await,
        DEFAULT_IDEMPOTENCY_TABLE,
    ));
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("dup"));
    let now = Utc::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.begin(&key, now, later(now, 60)).await })
        })
        .collect();
    let mut started = 0;
    let mut in_progress = 0;
    for task in futures::future::join_all(tasks).await {
        match task.unwrap_or_else(|error| panic!("task: {error}")) {
            Ok(IdempotencyBegin::Started) => started += 1,
            Ok(IdempotencyBegin::InProgress) => in_progress += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((started, in_progress), (1, 19));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn completed_record_returns_the_stored_result() {
    let store = DynamoIdempotencyStore::new(client().await, DEFAULT_IDEMPOTENCY_TABLE);
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("done"));
    let now = Utc::now();
    assert_eq!(
        store.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::Started
    );
    let result = json!({"model_id": "4711", "actions": 2});
    store.complete(&key, &result, now).await.unwrap();
    let again = store
        .begin(&key, later(now, 5), later(now, 35))
        .await
        .unwrap();
    assert_eq!(again, IdempotencyBegin::AlreadyCompleted(result));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn stale_in_progress_record_is_taken_over() {
    let store = DynamoIdempotencyStore::new(client().await, DEFAULT_IDEMPOTENCY_TABLE);
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("stale"));
    let now = Utc::now();
    assert_eq!(
        store.begin(&key, now, later(now, 2)).await.unwrap(),
        IdempotencyBegin::Started
    );
    // Before the first invocation's deadline the key is held…
    assert_eq!(
        store
            .begin(&key, later(now, 1), later(now, 31))
            .await
            .unwrap(),
        IdempotencyBegin::InProgress
    );
    // …after it (the invocation timed out without releasing) it can be claimed.
    assert_eq!(
        store
            .begin(&key, later(now, 3), later(now, 33))
            .await
            .unwrap(),
        IdempotencyBegin::Started
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn expired_completed_record_is_reused_although_still_stored() {
    let store = DynamoIdempotencyStore::new(client().await, DEFAULT_IDEMPOTENCY_TABLE)
        .with_record_ttl(Duration::from_secs(60));
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("expired"));
    let now = Utc::now();
    store.begin(&key, now, later(now, 30)).await.unwrap();
    store.complete(&key, &json!("first"), now).await.unwrap();
    assert!(matches!(
        store
            .begin(&key, later(now, 30), later(now, 60))
            .await
            .unwrap(),
        IdempotencyBegin::AlreadyCompleted(_)
    ));
    assert_eq!(
        store
            .begin(&key, later(now, 120), later(now, 150))
            .await
            .unwrap(),
        IdempotencyBegin::Started
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn released_key_can_be_claimed_again() {
    let store = DynamoIdempotencyStore::new(client().await, DEFAULT_IDEMPOTENCY_TABLE);
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("release"));
    let now = Utc::now();
    store.begin(&key, now, later(now, 30)).await.unwrap();
    store.release(&key).await.unwrap();
    assert_eq!(
        store.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::Started
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn links_resolve_both_ways_and_revisions_only_move_forward() {
    let store = DynamoLinkStore::new(client().await, DEFAULT_LINKS_TABLE);
    let group = common::unique("group");
    let arn = govsync_core::RegistryArn::parse(&format!(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/1"
    ))
    .unwrap();
    let governance_id = gid(common::unique("gov"));
    let link = Link {
        kind: LinkKind::Model,
        arn: arn.clone(),
        governance_id: governance_id.clone(),
    };
    store.put_link(&link).await.unwrap();
    assert_eq!(
        store.link_by_arn(LinkKind::Model, &arn).await.unwrap(),
        Some(link.clone())
    );
    assert_eq!(
        store.link_by_arn(LinkKind::ModelGroup, &arn).await.unwrap(),
        None
    );
    assert_eq!(
        store.link_by_governance_id(&governance_id).await.unwrap(),
        Some(link)
    );

    let end = LinkEnd::Registry(arn);
    assert_eq!(store.applied_revision(&end).await.unwrap(), None);
    assert_eq!(
        store.advance_applied_revision(&end, 5).await.unwrap(),
        RevisionOutcome::Advanced
    );
    assert_eq!(
        store.advance_applied_revision(&end, 3).await.unwrap(),
        RevisionOutcome::Stale { applied: 5 }
    );
    assert_eq!(
        store.advance_applied_revision(&end, 5).await.unwrap(),
        RevisionOutcome::Stale { applied: 5 }
    );
    assert_eq!(
        store.advance_applied_revision(&end, 6).await.unwrap(),
        RevisionOutcome::Advanced
    );
    assert_eq!(store.applied_revision(&end).await.unwrap(), Some(6));
    // The other side's revisions are independent.
    let other = LinkEnd::Governance(governance_id);
    assert_eq!(
        store.advance_applied_revision(&other, 1).await.unwrap(),
        RevisionOutcome::Advanced
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn our_writes_match_until_consumed_or_expired() {
    let store = DynamoLinkStore::new(client().await, DEFAULT_LINKS_TABLE);
    let object = common::unique("arn:aws:sagemaker:us-east-1:123456789012:model-package/ledger");
    let now = Utc::now();
    let write = OurWrite::new(
        WriteSide::Registry,
        &object,
        "ModelApprovalStatus",
        "Approved",
    );
    let other_value = OurWrite::new(
        WriteSide::Registry,
        &object,
        "ModelApprovalStatus",
        "Rejected",
    );
    assert!(!store.consume_our_write(&write, now).await.unwrap());
    store
        .record_our_write(&write, later(now, 600))
        .await
        .unwrap();
    assert!(!store.consume_our_write(&other_value, now).await.unwrap());
    assert!(
        !store
            .consume_our_write(&write, later(now, 601))
            .await
            .unwrap(),
        "an expired entry never matches (and is removed)"
    );
    store
        .record_our_write(&write, later(now, 600))
        .await
        .unwrap();
    assert!(store.consume_our_write(&write, now).await.unwrap());
    assert!(
        !store.consume_our_write(&write, now).await.unwrap(),
        "one write excuses one change"
    );

    // A governance write is bound to the revision it produced: the same value at another revision
    // (a person setting it again) is not the echo.
    let produced = write.clone().produced(1_700_000_000_123);
    store
        .record_our_write(&produced, later(now, 600))
        .await
        .unwrap();
    assert!(!store.consume_our_write(&write, now).await.unwrap());
    assert!(
        !store
            .consume_our_write(&write.clone().produced(1_700_000_000_124), now)
            .await
            .unwrap()
    );
    assert!(store.consume_our_write(&produced, now).await.unwrap());
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn cursor_watermark_round_trips() {
    let store = DynamoCursorStore::new(client().await, DEFAULT_CURSORS_TABLE);
    let cursor = common::unique("cursor");
    assert_eq!(store.get_watermark(&cursor).await.unwrap(), None);
    let watermark = DateTime::parse_from_rfc3339("2025-03-01T10:00:00.250Z")
        .unwrap_or_else(|error| panic!("{error}"))
        .with_timezone(&Utc);
    store.put_watermark(&cursor, watermark).await.unwrap();
    assert_eq!(store.get_watermark(&cursor).await.unwrap(), Some(watermark));
}

fn gid(id: impl AsRef<str>) -> GovernanceId {
    GovernanceId::parse(id.as_ref()).unwrap_or_else(|error| panic!("{error}"))
}

/// Issue 17: the package sync's one `BatchGetItem` returns what the four single reads return.
#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn package_state_reads_the_revision_both_links_and_the_approval_in_one_call() {
    use govsync_core::ports::{ApprovedArtifacts as _, PackageState};
    let store = DynamoLinkStore::new(client().await, DEFAULT_LINKS_TABLE);
    let group = common::unique("group");
    let package = govsync_core::ModelPackageArn::parse(&format!(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/1"
    ))
    .unwrap();
    assert_eq!(
        store.package_state(&package).await.unwrap(),
        PackageState::default()
    );
    let model = Link {
        kind: LinkKind::Model,
        arn: (&package).into(),
        governance_id: gid(common::unique("model")),
    };
    let model_group = Link {
        kind: LinkKind::ModelGroup,
        arn: package.group_arn().into(),
        governance_id: gid(common::unique("group")),
    };
    // The group's use-case link shares the group's partition and must not be taken for the model group.
    store
        .put_link(&Link {
            kind: LinkKind::UseCase,
            arn: package.group_arn().into(),
            governance_id: gid(common::unique("usecase")),
        })
        .await
        .unwrap();
    store.put_link(&model).await.unwrap();
    store.put_link(&model_group).await.unwrap();
    store
        .advance_applied_revision(&LinkEnd::Registry((&package).into()), 42)
        .await
        .unwrap();
    let approved = govsync_core::ports::ApprovedArtifact {
        package_arn: package.clone(),
        model: model.governance_id.clone(),
        decision_id: "decision-1".into(),
        fingerprint: govsync_core::artifact::ArtifactFingerprint {
            containers: Vec::new(),
            registered_mismatches: vec!["none".into()],
        },
        approved_at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z")
            .unwrap()
            .to_utc(),
    };
    store.record_approved_artifact(&approved).await.unwrap();
    let state = store.package_state(&package).await.unwrap();
    assert_eq!(
        state,
        PackageState {
            applied_revision: Some(42),
            model: Some(model),
            model_group: Some(model_group),
            approved_artifact: Some(approved),
        }
    );
}

/// The links store committing claims with links in one transaction (as registry-events builds it).
async fn transactional_stores() -> (DynamoLinkStore, DynamoIdempotencyStore) {
    let client = client().await;
    let links = DynamoLinkStore::new(client.clone(), DEFAULT_LINKS_TABLE)
        .with_idempotency_table(DEFAULT_IDEMPOTENCY_TABLE, DEFAULT_RECORD_TTL);
    (
        links,
        DynamoIdempotencyStore::new(client, DEFAULT_IDEMPOTENCY_TABLE),
    )
}

fn package_arn(label: &str) -> govsync_core::ModelPackageArn {
    govsync_core::ModelPackageArn::parse(&format!(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/{}/1",
        common::unique(label)
    ))
    .unwrap()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_commit_writes_the_claim_the_links_and_the_ledger_together() {
    let (links, idempotency) = transactional_stores().await;
    let package = package_arn("commit");
    let now = Utc::now();
    let key = IdempotencyKey::for_creation("model", package.as_str());
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::Started
    );
    let link = Link {
        kind: LinkKind::Model,
        arn: (&package).into(),
        governance_id: gid(common::unique("gov")),
    };
    let write = OurWrite::new(
        WriteSide::Registry,
        package.as_str(),
        "ModelApprovalStatus",
        "Approved",
    );
    let outcome = links
        .commit(
            &idempotency,
            &[
                StoreWrite::CompleteClaim {
                    key: key.clone(),
                    result: json!({"id": link.governance_id.as_str()}),
                    now,
                },
                StoreWrite::RecordOurWrite {
                    write: write.clone(),
                    expires_at: later(now, 3600),
                },
                StoreWrite::PutLink(link.clone()),
                StoreWrite::NoTombstone(package.clone()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Committed);
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::AlreadyCompleted(json!({"id": link.governance_id.as_str()}))
    );
    assert_eq!(
        links
            .link_by_governance_id(&link.governance_id)
            .await
            .unwrap(),
        Some(link.clone())
    );
    // The ledger entry is read with the state, not consumed by the read.
    for _ in 0..2 {
        match links
            .package_state_unless_echo(&package, &write, now)
            .await
            .unwrap()
        {
            EchoCheck::Live(state) => assert_eq!(state.model, Some(link.clone())),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_tombstone_cancels_the_commit_and_nothing_of_it_is_written() {
    let (links, idempotency) = transactional_stores().await;
    let package = package_arn("tombstoned");
    let now = Utc::now();
    links
        .put_tombstone(&Tombstone {
            arn: package.clone(),
            deleted_at: now,
            note: "deleted (test)".into(),
        })
        .await
        .unwrap();
    let key = IdempotencyKey::for_creation("model", package.as_str());
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::Started
    );
    let link = Link {
        kind: LinkKind::Model,
        arn: (&package).into(),
        governance_id: gid(common::unique("gov")),
    };
    let writes = [
        StoreWrite::CompleteClaim {
            key: key.clone(),
            result: json!({"id": link.governance_id.as_str()}),
            now,
        },
        StoreWrite::PutLink(link.clone()),
        StoreWrite::NoTombstone(package.clone()),
    ];
    assert_eq!(
        links.commit(&idempotency, &writes).await.unwrap(),
        CommitOutcome::Tombstoned
    );
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::InProgress,
        "the claim is still the creator's, not completed"
    );
    assert_eq!(
        links
            .link_by_arn(LinkKind::Model, &(&package).into())
            .await
            .unwrap(),
        None
    );
    // Without the check (what the flow commits next), all of it is written.
    assert_eq!(
        links.commit(&idempotency, &writes[..2]).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(
        links
            .link_by_arn(LinkKind::Model, &(&package).into())
            .await
            .unwrap(),
        Some(link)
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_stale_revision_cancels_the_last_commit_and_leaves_the_claim_open() {
    let (links, idempotency) = transactional_stores().await;
    let package = package_arn("stale-commit");
    let end = LinkEnd::Registry((&package).into());
    let now = Utc::now();
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("event"));
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::Started
    );
    assert_eq!(
        links.advance_applied_revision(&end, 10).await.unwrap(),
        RevisionOutcome::Advanced
    );
    let last = |revision| {
        [
            StoreWrite::AdvanceRevision {
                end: end.clone(),
                revision,
            },
            StoreWrite::CompleteClaim {
                key: key.clone(),
                result: json!({"outcome": "synced"}),
                now,
            },
        ]
    };
    match links.commit(&idempotency, &last(7)).await.unwrap() {
        // The old item comes back where the service returns it (ReturnValuesOnConditionCheckFailure).
        CommitOutcome::RevisionStale { applied } => assert!(matches!(applied, None | Some(10))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::InProgress
    );
    assert_eq!(links.applied_revision(&end).await.unwrap(), Some(10));
    assert_eq!(
        links.commit(&idempotency, &last(11)).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(links.applied_revision(&end).await.unwrap(), Some(11));
    assert_eq!(
        idempotency.begin(&key, now, later(now, 30)).await.unwrap(),
        IdempotencyBegin::AlreadyCompleted(json!({"outcome": "synced"}))
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn an_echo_entry_is_consumed_with_the_claim_by_one_change_only() {
    let (links, idempotency) = transactional_stores().await;
    let package = package_arn("echo-commit");
    let now = Utc::now();
    let write = OurWrite::new(
        WriteSide::Registry,
        package.as_str(),
        "state",
        "fingerprint",
    );
    assert!(matches!(
        links
            .package_state_unless_echo(&package, &write, now)
            .await
            .unwrap(),
        EchoCheck::NotEcho(_)
    ));
    links
        .record_our_write(&write, later(now, 3600))
        .await
        .unwrap();
    assert!(matches!(
        links
            .package_state_unless_echo(&package, &write, now)
            .await
            .unwrap(),
        EchoCheck::Live(_)
    ));
    let key = IdempotencyKey::for_cloudtrail_event(&common::unique("echo"));
    let consume = |key: &IdempotencyKey| {
        [
            StoreWrite::ConsumeOurWrite {
                write: write.clone(),
                now,
            },
            StoreWrite::CompleteClaim {
                key: key.clone(),
                result: json!({"outcome": "echo"}),
                now,
            },
        ]
    };
    assert_eq!(
        links.commit(&idempotency, &consume(&key)).await.unwrap(),
        CommitOutcome::Committed
    );
    let other = IdempotencyKey::for_cloudtrail_event(&common::unique("echo-other"));
    assert_eq!(
        links.commit(&idempotency, &consume(&other)).await.unwrap(),
        CommitOutcome::EchoGone,
        "one write excuses one change"
    );
    assert_eq!(
        idempotency
            .begin(&other, now, later(now, 30))
            .await
            .unwrap(),
        IdempotencyBegin::Started,
        "the cancelled commit completed no claim"
    );
    assert!(matches!(
        links
            .package_state_unless_echo(&package, &write, now)
            .await
            .unwrap(),
        EchoCheck::NotEcho(_)
    ));
    // An expired entry is not live, even while TTL has not removed it.
    let expired = OurWrite::new(WriteSide::Registry, package.as_str(), "state", "old");
    links
        .record_our_write(&expired, later(now, -10))
        .await
        .unwrap();
    assert_eq!(
        links
            .commit(
                &idempotency,
                &[StoreWrite::ConsumeOurWrite {
                    write: expired,
                    now
                }]
            )
            .await
            .unwrap(),
        CommitOutcome::EchoGone
    );
}
