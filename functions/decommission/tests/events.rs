//! Every sample in events/decommission decodes as the function reads it.

use aws_lambda_events::sqs::SqsEvent;
use govsync_core::decommission_request::{DecommissionKind, DecommissionRequest};
use govsync_core::registry_event::RegistryEvent;
use govsync_core::sync::decommission::{DecommissionMessage, decode_message};

fn sqs_bodies(text: &str) -> Vec<DecommissionMessage> {
    let event: SqsEvent = serde_json::from_str(text).unwrap();
    event
        .records
        .iter()
        .map(|record| decode_message(record.body.as_deref().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_cloudtrail_deletion_batch_decodes_to_a_package_and_a_group_deletion() {
    let messages = sqs_bodies(include_str!(
        "../../../events/decommission/sqs-batch-cloudtrail-deletions.json"
    ));
    assert!(matches!(
        &messages[0],
        DecommissionMessage::Registry(RegistryEvent::PackageDeleted(deleted))
            if deleted.package_arn.as_str().ends_with("model-package/fraud-detection-4711/2")
    ));
    assert!(matches!(
        &messages[1],
        DecommissionMessage::Registry(RegistryEvent::GroupDeleted(_))
    ));
}

#[test]
fn the_governance_request_batch_decodes_to_a_model_and_a_use_case_request() {
    let messages = sqs_bodies(include_str!(
        "../../../events/decommission/sqs-batch-governance-decommission-requests.json"
    ));
    let kinds: Vec<DecommissionKind> = messages
        .iter()
        .map(|message| match message {
            DecommissionMessage::Governance(request) => request.kind,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, [DecommissionKind::Model, DecommissionKind::UseCase]);
}

#[test]
fn the_bare_use_case_request_decodes() {
    let request = DecommissionRequest::from_json(include_str!(
        "../../../events/decommission/decommission-request-use-case.json"
    ))
    .unwrap();
    assert_eq!(request.kind, DecommissionKind::UseCase);
    assert_eq!(request.governance_id.as_str(), "4711");
    assert_eq!(request.message_group_id(), "decommission-use_case-4711");
}
