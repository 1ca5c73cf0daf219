//! Business idempotency keys (design §4): what makes two deliveries "the same change".
//!
//! Keys are deterministic across runs and processes, at most [`IdempotencyKey::MAX_LEN`] characters, and
//! prefixed by kind so keys of different kinds never collide.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::customer_metadata;
use crate::model_package::ModelVersion;

/// A key for the idempotency table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

/// Ids up to this length made of safe characters are kept readable; others are hashed.
const MAX_PLAIN_ID: usize = 64;

impl IdempotencyKey {
    /// No key is longer than this.
    pub const MAX_LEN: usize = 96;

    /// A package state: package ARN + `LastModifiedTime` + approval, package status, lifecycle stage and
    /// stage status, and a hash of the customer metadata. Two events describing the same state of the same
    /// package get the same key however often EventBridge repeats them.
    pub fn for_package_state(package: &ModelVersion) -> Self {
        let last_modified = package
            .last_modified_time
            .map(|t| t.timestamp_millis().to_string());
        let lifecycle = package.lifecycle.as_ref();
        let parts = [
            Some("package-state/v1"),
            Some(package.arn.as_str()),
            last_modified.as_deref(),
            package.approval.map(|a| a.as_str()),
            package.package_status.map(|s| s.as_str()),
            lifecycle.map(|l| l.stage.as_str()),
            lifecycle.map(|l| l.stage_status.as_str()),
            Some(&customer_metadata::stable_hash(&package.customer_metadata)),
        ];
        let mut hasher = Sha256::new();
        for part in parts {
            // Tag absent parts apart from empty ones, and length-prefix present ones.
            match part {
                None => hasher.update([0u8]),
                Some(text) => {
                    hasher.update([1u8]);
                    hasher.update((text.len() as u64).to_be_bytes());
                    hasher.update(text.as_bytes());
                }
            }
        }
        Self(format!(
            "state-change:{}",
            crate::hex::encode(&hasher.finalize())
        ))
    }

    /// A CloudTrail record: its `eventID`.
    pub fn for_cloudtrail_event(event_id: &str) -> Self {
        Self::with_id("cloudtrail", event_id)
    }

    /// A governance webhook delivery: its delivery id (`webhook-id`).
    pub fn for_webhook_delivery(delivery_id: &str) -> Self {
        Self::with_id("webhook", delivery_id)
    }

    /// A change of a governance object: its id + its last-modification revision. A webhook delivery and
    /// a poll of the same change get the same key, whatever their delivery ids.
    pub fn for_governance_change(
        object_id: &crate::governance::GovernanceId,
        revision: crate::governance::Revision,
    ) -> Self {
        Self::with_id(
            "governance-change",
            &format!("{}:{}", object_id.as_str(), revision.value()),
        )
    }

    /// One metric value (package, metric, timestamp), by the digest of those three.
    pub fn for_metric_value(digest_hex: &str) -> Self {
        Self::with_id("metric-value", digest_hex)
    }

    /// A decommission request: the digest of its business key (see `decommission_request`).
    pub fn for_decommission_request(business_digest: &str) -> Self {
        Self::with_id("decommission", business_digest)
    }

    /// The creation of the governance object of one registry resource (`kind`: `model-group` or
    /// `model`, and its ARN): claimed so concurrent invocations create one object, never two.
    pub fn for_creation(kind: &str, registry_arn: &str) -> Self {
        Self::with_id(&format!("create-{kind}"), registry_arn)
    }

    fn with_id(kind: &str, id: &str) -> Self {
        let plain = !id.is_empty()
            && id.len() <= MAX_PLAIN_ID
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if plain {
            Self(format!("{kind}:{id}"))
        } else {
            let digest = Sha256::digest(id.as_bytes());
            Self(format!("{kind}:sha256:{}", crate::hex::encode(&digest)))
        }
    }

    /// A key as stored (read back from the table, or named by an operator): 1 to [`Self::MAX_LEN`]
    /// characters of the set the constructors produce.
    pub fn parse(text: &str) -> Result<Self, crate::ValidationError> {
        let valid = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:#/".contains(&b));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(crate::ValidationError::IdempotencyKey {
                value: text.chars().take(Self::MAX_LEN).collect(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::DateTime;

    use super::*;
    use crate::model_package::{
        ApprovalStatus, Lifecycle, ModelPackageArn, ModelPackageStatus, SageMakerName,
        TechnicalMetadata,
    };

    fn package() -> ModelVersion {
        let arn = ModelPackageArn::parse(
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3",
        )
        .unwrap();
        ModelVersion {
            group_name: arn.group_name().clone(),
            arn,
            package_status: Some(ModelPackageStatus::Completed),
            approval: Some(ApprovalStatus::PendingManualApproval),
            approval_description: None,
            lifecycle: Some(Lifecycle {
                stage: SageMakerName::parse("Development").unwrap(),
                stage_status: SageMakerName::parse("InProgress").unwrap(),
                stage_description: None,
            }),
            customer_metadata: BTreeMap::from([("team".to_string(), "risk".to_string())]),
            technical: TechnicalMetadata::default(),
            creation_time: None,
            last_modified_time: Some(DateTime::from_timestamp_millis(1_767_345_504_000).unwrap()),
        }
    }

    #[test]
    fn the_same_state_gives_the_same_key_and_any_state_change_a_new_one() {
        let base = package();
        let base_key = IdempotencyKey::for_package_state(&base);
        assert_eq!(base_key, IdempotencyKey::for_package_state(&base.clone()));

        let mut unrelated = base.clone();
        unrelated.technical.description = Some("edited description".into());
        unrelated.approval_description = Some("why".into());
        assert_eq!(
            IdempotencyKey::for_package_state(&unrelated),
            base_key,
            "fields outside the business state do not change the key"
        );

        type Change = fn(&mut ModelVersion);
        let changes: [(&str, Change); 8] = [
            ("approval", |p| p.approval = Some(ApprovalStatus::Approved)),
            ("approval absent", |p| p.approval = None),
            ("package status", |p| {
                p.package_status = Some(ModelPackageStatus::Deleting)
            }),
            ("stage", |p| {
                if let Some(l) = p.lifecycle.as_mut() {
                    l.stage = SageMakerName::parse("Validation").unwrap();
                }
            }),
            ("stage status", |p| {
                if let Some(l) = p.lifecycle.as_mut() {
                    l.stage_status = SageMakerName::parse("Complete").unwrap();
                }
            }),
            ("metadata", |p| {
                p.customer_metadata.insert("govsync:rev".into(), "7".into());
            }),
            ("last modified", |p| {
                p.last_modified_time = DateTime::from_timestamp_millis(1_767_345_504_001);
            }),
            ("package", |p| {
                p.arn = ModelPackageArn::parse(
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/4",
                )
                .unwrap();
            }),
        ];
        for (what, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(
                IdempotencyKey::for_package_state(&changed),
                base_key,
                "{what}"
            );
        }
    }

    #[test]
    fn state_change_key_is_stable_across_runs() {
        // Pinned: a change here would make in-flight events look new after a deploy.
        assert_eq!(
            IdempotencyKey::for_package_state(&package()).as_str(),
            "state-change:481d0de3a16b877c38dc0407576e799eb43a00da0e5d4b221885bdf8e193d41d"
        );
    }

    #[test]
    fn id_keys_keep_plain_ids_readable_and_hash_the_rest() {
        let long = "x".repeat(65);
        let cases = [
            (
                IdempotencyKey::for_cloudtrail_event("78478c6d-EXAMPLE"),
                "cloudtrail:78478c6d-EXAMPLE",
            ),
            (
                IdempotencyKey::for_webhook_delivery("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
                "webhook:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            ),
        ];
        for (key, expected) in cases {
            assert_eq!(key.as_str(), expected);
        }
        for odd in [long.as_str(), "", "has space", "a/b", "ü"] {
            let key = IdempotencyKey::for_webhook_delivery(odd);
            assert!(
                key.as_str().starts_with("webhook:sha256:"),
                "{odd:?} -> {key}"
            );
            assert_eq!(key.as_str().len(), "webhook:sha256:".len() + 64);
        }
        assert_ne!(
            IdempotencyKey::for_cloudtrail_event("same-id"),
            IdempotencyKey::for_webhook_delivery("same-id")
        );
    }

    #[test]
    fn keys_never_exceed_the_bound() {
        let huge = "y".repeat(10_000);
        let mut big_package = package();
        big_package.customer_metadata = (0..50).map(|i| (format!("k{i}"), huge.clone())).collect();
        for key in [
            IdempotencyKey::for_cloudtrail_event(&huge),
            IdempotencyKey::for_webhook_delivery(&huge),
            IdempotencyKey::for_package_state(&big_package),
            IdempotencyKey::for_cloudtrail_event(&"z".repeat(64)),
        ] {
            assert!(key.as_str().len() <= IdempotencyKey::MAX_LEN, "{key}");
        }
    }
}
