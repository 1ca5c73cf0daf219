//! The governance poller against the real local stack: the governance emulator's query by
//! `[Last Modification Date]`, paged with `next` (a page size of 2 forces several pages), moto's
//! cursors table and a FIFO queue of the test's own with governance-events.fifo's shape. Isolated from
//! other tests by its own cursor prefix, queue and objects. `local/test.sh` runs it with the stack's
//! environment; without it, it fails, never skips.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use chrono::Utc;
use govsync_adapters::aws::{dynamodb_client, sqs_client};
use govsync_adapters::dynamodb::DynamoCursorStore;
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig, TypeIds};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_core::governance_event::{GovernanceEvent, GovernanceEventSource};
use govsync_core::ports::{
    CursorStore, Field, Governance, GovernanceKind, GovernanceObject, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use govsync_governance_poller::{DEFAULT_OVERLAP, Poller, cursor_id};
use govsync_testkit::stack::var;

/// Receives and deletes everything visible in the queue now.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for message in messages {
            let dedup = message
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageDeduplicationId)
                })
                .cloned()
                .unwrap_or_default();
            out.push((dedup, message.body().unwrap_or_default().to_owned()));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
}

fn ours(
    messages: &[(String, String)],
    ids: &[&GovernanceObject],
) -> Vec<(String, GovernanceEvent)> {
    messages
        .iter()
        .map(|(dedup, body)| (dedup.clone(), GovernanceEvent::from_json(body).unwrap()))
        .filter(|(_, event)| ids.iter().any(|o| o.id == event.object_id))
        .collect()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn polls_by_modification_watermark_across_pages_without_duplicates() {
    var("AWS_ENDPOINT_URL");
    let governance_url = var("GOVSYNC_GOVERNANCE_URL");
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let prefix = format!("test-poller-{suffix}");
    let sqs = sqs_client(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{prefix}-governance-events.fifo"))
        .set_attributes(Some(HashMap::from([
            (QueueAttributeName::FifoQueue, "true".to_owned()),
            (
                QueueAttributeName::ContentBasedDeduplication,
                "true".to_owned(),
            ),
        ])))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let auth = || GovernanceAuth::Mcsp {
        token_url: format!("{governance_url}/api/2.0/services/local/apikeys/token"),
        api_key: Secret::new("local-api-key"),
    };
    let mut paged = GovernanceConfig::new(governance_url.clone(), auth());
    paged.page_size = 2;
    let cursors = Arc::new(DynamoCursorStore::new(
        dynamodb_client(&sdk),
        "govsync-cursors",
    ));
    // Start the watermark just before this test's objects (the emulator holds other tests' too).
    let start = Utc::now() - chrono::Duration::seconds(2);
    for type_id in ["ModelUseCase", "Model"] {
        cursors
            .put_watermark(&cursor_id(&prefix, type_id), start)
            .await
            .unwrap();
    }
    let poller = Poller {
        governance: Arc::new(GovernanceClient::new(paged).unwrap()),
        cursors: Arc::clone(&cursors),
        queue: Arc::new(SqsMessageQueue::new(sqs.clone(), queue_url.clone())),
        type_ids: TypeIds::default(),
        overlap: DEFAULT_OVERLAP,
        cursor_prefix: prefix.clone(),
    };
    let governance =
        GovernanceClient::new(GovernanceConfig::new(governance_url.clone(), auth())).unwrap();
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("Poll entity {suffix}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    let mut use_cases = Vec::new();
    for index in 0..3 {
        use_cases.push(
            governance
                .create_object(&NewGovernanceObject {
                    kind: GovernanceKind::UseCase,
                    name: format!("Polled use case {suffix} {index}"),
                    description: None,
                    parent_id: Some(entity.id.clone()),
                    fields: vec![Field::choice("MRG-AIFacts-ModelUseCase:Status", "Proposed")],
                })
                .await
                .unwrap(),
        );
    }
    let mine: Vec<&GovernanceObject> = use_cases.iter().collect();

    let first = poller.run().await.unwrap();
    let use_case_report = first.iter().find(|r| r.type_id == "ModelUseCase").unwrap();
    assert!(use_case_report.rows >= 3, "{use_case_report:?}");
    // Again, nothing changed: the overlap re-sends the same changes with the same deduplication ids,
    // and SQS keeps one of each. (moto forgets a deduplication id once its message is deleted, unlike
    // SQS's 5-minute window, so this is checked while the first run's messages are still queued; past
    // the window, approval-propagation's idempotency key is the guarantee.)
    poller.run().await.unwrap();
    let sent = ours(&drain(&sqs, &queue_url).await, &mine);
    assert_eq!(
        sent.len(),
        3,
        "one event per use case, across pages: {sent:?}"
    );
    for (dedup, event) in &sent {
        assert_eq!(event.source, GovernanceEventSource::Poller);
        assert_eq!(
            dedup,
            &format!(
                "poll-{}-{}",
                event.object_id,
                event.occurred_at.timestamp_millis()
            )
        );
    }
    let watermark = cursors
        .get_watermark(&cursor_id(&prefix, "ModelUseCase"))
        .await
        .unwrap()
        .unwrap();
    assert!(watermark >= sent.iter().map(|(_, e)| e.occurred_at).max().unwrap());

    // One use case is approved: exactly that change is new (the overlap's re-sends of the others carry
    // deduplication ids already sent, which SQS drops within its window; moto does not, see above).
    tokio::time::sleep(Duration::from_millis(5)).await;
    governance
        .update_object(
            &use_cases[1].id,
            &[Field::choice(
                "MRG-AIFacts-ModelUseCase:Status",
                "Approved for Development",
            )],
            None,
        )
        .await
        .unwrap();
    poller.run().await.unwrap();
    let changed: Vec<(String, GovernanceEvent)> = ours(&drain(&sqs, &queue_url).await, &mine)
        .into_iter()
        .filter(|(dedup, _)| !sent.iter().any(|(seen, _)| seen == dedup))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].1.object_id, use_cases[1].id);
    assert!(changed[0].1.occurred_at > sent.iter().map(|(_, e)| e.occurred_at).max().unwrap());
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
}
