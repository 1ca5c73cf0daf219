//! The SQS FIFO `MessageGroupId` a registry event is relayed under (design §4, order per object).
//!
//! EventBridge rule targets can only set a fixed group, so registry events land in an ingest queue and
//! the relay re-sends each one to its FIFO queue under the group of the object it concerns:
//! - a package deletion (decommission) is ordered per package: `package:<package ARN>`;
//! - every other registry event per model package group: `group:<group name, lower case>` (a package
//!   event's group is the one in its ARN, so state changes and CloudTrail calls of a group share it);
//! - a body that names no object, or cannot be decoded, is its own group (`message:<id>`): the consumer
//!   quarantines it with its reason and it never blocks another message.
//!
//! An id SQS would refuse (over 128 characters, or outside printable ASCII) is replaced by a prefix and
//! the SHA-256 hex of the whole id, so the same object always maps to the same group.

use sha2::{Digest, Sha256};

use crate::registry_event::{RegistryEvent, decode_envelope};

/// SQS FIFO ids: 1–128 printable ASCII characters.
const MAX_GROUP_ID_CHARS: usize = 128;

/// The group of an EventBridge event body (as a rule target puts it on the ingest queue).
pub fn relay_group(body: &str, message_id: &str) -> String {
    match decode_envelope(body.as_bytes()) {
        Ok(event) => event_group(&event).unwrap_or_else(|| own_group(message_id)),
        Err(_) => own_group(message_id),
    }
}

/// The group of a decoded registry event; `None` when it names no object.
pub fn event_group(event: &RegistryEvent) -> Option<String> {
    match event {
        RegistryEvent::PackageDeleted(deleted) => Some(fifo_safe(&format!(
            "package:{}",
            deleted.package_arn.as_str()
        ))),
        other => other
            .group_name()
            .map(|group| fifo_safe(&format!("group:{}", group.as_str().to_ascii_lowercase()))),
    }
}

fn own_group(message_id: &str) -> String {
    fifo_safe(&format!("message:{message_id}"))
}

fn fifo_safe(id: &str) -> String {
    let plain = id.len() <= MAX_GROUP_ID_CHARS && id.bytes().all(|b| b.is_ascii_graphic());
    if plain {
        id.to_owned()
    } else {
        let prefix = id.split(':').next().unwrap_or("id");
        format!(
            "{prefix}#{}",
            crate::hex::encode(&Sha256::digest(id.as_bytes()))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_change(group: &str, version: u32) -> String {
        serde_json::json!({
            "version": "0",
            "id": format!("e-{group}-{version}"),
            "detail-type": "SageMaker Model Package State Change",
            "source": "aws.sagemaker",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [format!("arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}")],
            "detail": {
                "ModelPackageGroupName": group,
                "ModelPackageVersion": version,
                "ModelPackageArn": format!("arn:aws:sagemaker:us-east-1:123456789012:model-package/{}/{version}", group.to_ascii_lowercase()),
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": "PendingManualApproval",
                "CreationTime": 1767225600000_i64,
                "LastModifiedTime": 1767225600000_i64
            }
        })
        .to_string()
    }

    fn cloudtrail(name: &str, parameters: serde_json::Value) -> String {
        serde_json::json!({
            "version": "0",
            "id": "ct-1",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sagemaker",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "eventVersion": "1.08",
                "eventSource": "sagemaker.amazonaws.com",
                "eventName": name,
                "eventTime": "2026-01-01T00:00:00Z",
                "awsRegion": "us-east-1",
                "eventID": "11111111-2222-3333-4444-555555555555",
                "recipientAccountId": "123456789012",
                "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/ds/alice", "accountId": "123456789012"},
                "requestParameters": parameters,
                "responseElements": null
            }
        })
        .to_string()
    }

    #[test]
    fn registry_events_of_one_group_share_a_group_and_other_groups_do_not() {
        let a1 = relay_group(&state_change("Churn", 1), "m1");
        let a2 = relay_group(&state_change("churn", 2), "m2");
        let b1 = relay_group(&state_change("Fraud", 1), "m3");
        assert_eq!(a1, "group:churn");
        assert_eq!(a1, a2, "group names are case-insensitive in SageMaker");
        assert_ne!(a1, b1);
    }

    #[test]
    fn a_cloudtrail_call_on_a_package_joins_its_group() {
        let update = cloudtrail(
            "UpdateModelPackage",
            serde_json::json!({
                "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3",
                "modelApprovalStatus": "Approved"
            }),
        );
        assert_eq!(relay_group(&update, "m1"), "group:churn");
    }

    #[test]
    fn a_package_deletion_is_ordered_per_package() {
        let deleted = cloudtrail(
            "DeleteModelPackage",
            serde_json::json!({
                "modelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
            }),
        );
        assert_eq!(
            relay_group(&deleted, "m1"),
            "package:arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
        );
    }

    #[test]
    fn an_undecodable_body_is_its_own_group() {
        assert_eq!(relay_group("not json", "m-7"), "message:m-7");
        assert_ne!(relay_group("{}", "m-8"), relay_group("{}", "m-9"));
    }

    #[test]
    fn ids_sqs_would_refuse_are_hashed_stably() {
        let long = format!("package:{}", "x".repeat(200));
        let safe = fifo_safe(&long);
        assert!(safe.len() <= MAX_GROUP_ID_CHARS && safe.starts_with("package#"));
        assert_eq!(safe, fifo_safe(&long));
        assert!(
            fifo_safe("message:a b")
                .bytes()
                .all(|b| b.is_ascii_graphic())
        );
    }
}
