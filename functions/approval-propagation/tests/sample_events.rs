//! Every file in events/approval-propagation/ decodes as an SQS event of governance events, and the
//! handler takes it (the objects do not exist in an empty governance: each message is acknowledged
//! as `object_missing`, none quarantined).

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use chrono::Utc;
use govsync_adapters::fakes::{
    FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeMessageQueue, FakeNotifier,
    FakeQuarantine, FakeRegistry,
};
use govsync_adapters::governance::TypeIds;
use govsync_approval_propagation::{Handler, Outcome, Ports, Settings};
use govsync_core::governance_event::GovernanceEvent;
use govsync_core::sync::ConsoleLinks;
use govsync_core::{MappingSpec, RegistryMap};

fn sample_files() -> Vec<std::path::PathBuf> {
    let dir = format!(
        "{}/../../events/approval-propagation",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_sample_decodes_and_is_handled_without_quarantine() {
    let files = sample_files();
    assert!(files.len() >= 3, "{files:?}");
    let registries = RegistryMap::parse(
        r#"[{"account":"123456789012","region":"us-east-1","business_entity":"Retail Banking"}]"#,
    )
    .unwrap();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let event: SqsEvent = serde_json::from_str(&text).unwrap();
        assert!(!event.records.is_empty(), "{file:?}");
        for record in &event.records {
            let decoded = GovernanceEvent::from_json(record.body.as_deref().unwrap())
                .unwrap_or_else(|e| panic!("{file:?}: {e}"));
            assert_eq!(
                record.attributes.get("MessageGroupId").map(String::as_str),
                Some(decoded.message_group_id().as_str()),
                "{file:?}: the group is the object id"
            );
        }
        let quarantine = Arc::new(FakeQuarantine::new());
        let handler = Handler::new(
            Settings {
                registries: registries.clone(),
                mapping: MappingSpec::builtin().unwrap(),
                console: ConsoleLinks::new("https://grc.example.com").unwrap(),
                sender: None,
                type_ids: TypeIds::default(),
            },
            Ports {
                governance: Arc::new(FakeGovernance::new()),
                registries: vec![(
                    registries.registries()[0].clone(),
                    Arc::new(FakeRegistry::new("123456789012", "us-east-1")),
                )],
                idempotency: Arc::new(FakeIdempotencyStore::new()),
                links: Arc::new(FakeLinkStore::new()),
                quarantine: Arc::clone(&quarantine),
                notifier: Arc::new(FakeNotifier::new()),
                decommission: Arc::new(FakeMessageQueue::new()),
            },
        );
        let report = handler
            .handle_batch(&event.records, Utc::now() + chrono::Duration::seconds(30))
            .await;
        for (_, outcome) in &report.outcomes {
            assert_eq!(outcome, &Outcome::Ignored("object_missing"), "{file:?}");
        }
        assert!(quarantine.messages().is_empty());
    }
}
