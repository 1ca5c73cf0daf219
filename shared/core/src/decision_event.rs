//! The governance decision event: what a deployment pipeline listens to instead of SageMaker's own
//! state-change event. After govsync has applied a governance decision to a package (F4: approval,
//! rejection, lifecycle stage), it puts ONE event on its own EventBridge bus: source
//! [`SOURCE`], detail-type [`DETAIL_TYPE`], detail [`DecisionDetail`] (JSON Schema
//! `shared/core/schemas/governance-decision.v1.schema.json`, a public contract).
//!
//! Only decisions governance made and govsync applied are published: never a change made in SageMaker
//! (a shadow approval the gate reverts publishes nothing), never an echo. The decision id is derived
//! from the decision itself (the Model, its revision and status), so every redelivery and replay of
//! the change names the same decision, and a consumer that keeps the ids it saw acts once.
//!
//! Pure: the flow decides when to publish (an outbox record written before the SageMaker write makes a
//! crash between the write and the put publish on the next delivery).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifact::{ArtifactFingerprint, ContainerFingerprint};
use crate::governance::{GovernanceId, Revision};
use crate::model_package::{ApprovalStatus, Lifecycle, ModelPackageArn};

/// The event's `source`.
pub const SOURCE: &str = "govsync";
/// The event's `detail-type`.
pub const DETAIL_TYPE: &str = "govsync Governance Decision Applied";
/// `detail.schema_version`: the schema's major version is in its file name.
pub const SCHEMA_VERSION: &str = "1.0";
/// The public JSON Schema of `detail` (`shared/core/schemas/`), for consumers' and tests' checks.
pub const SCHEMA_V1: &str = include_str!("../schemas/governance-decision.v1.schema.json");

/// The decision id: the same for every delivery of one governance decision, another for the next.
pub fn decision_id(model: &GovernanceId, revision: Revision, status: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [model.as_str(), &revision.to_string(), status] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("gd-{}", &crate::hex::encode(&hasher.finalize())[..32])
}

/// Which registry the package is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRef {
    pub account: String,
    pub region: String,
}

/// The lifecycle govsync set (`ModelLifeCycle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRef {
    pub stage: String,
    pub stage_status: String,
}

/// The decision as governance records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceRef {
    pub model_id: String,
    pub model_link: Option<String>,
    pub status: String,
    /// `Last Modified By` of the Model when the status was set.
    pub decided_by: Option<String>,
    /// `Last Modification Date` of the Model, RFC 3339.
    pub decided_at: Option<String>,
}

/// The use case, as govsync last wrote it onto the package (no governance read is made for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseCaseRef {
    pub id: String,
    pub name: Option<String>,
    pub risk_level: Option<String>,
}

/// `detail` of the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionDetail {
    pub schema_version: String,
    pub decision_id: String,
    pub package_arn: String,
    pub registry: RegistryRef,
    pub approval_status: String,
    pub lifecycle: Option<LifecycleRef>,
    pub governance: GovernanceRef,
    pub use_case: Option<UseCaseRef>,
    /// The artifact the approval is bound to; `None` for other decisions or unread registries.
    pub artifact: Option<ArtifactRef>,
}

/// The artifact fingerprint govsync recorded when it applied an approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Every part read, and each matching what SageMaker recorded at registration.
    pub verified: bool,
    pub containers: Vec<ContainerFingerprint>,
    pub unverifiable: Vec<String>,
    pub registered_mismatches: Vec<String>,
}

impl ArtifactRef {
    pub fn of(fingerprint: &ArtifactFingerprint) -> Self {
        Self {
            verified: fingerprint.is_verified(),
            containers: fingerprint.containers.clone(),
            unverifiable: fingerprint.unverifiable(),
            registered_mismatches: fingerprint.registered_mismatches.clone(),
        }
    }
}

/// What the detail is built from.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub package: &'a ModelPackageArn,
    pub approval: ApprovalStatus,
    pub lifecycle: Option<&'a Lifecycle>,
    pub model: &'a GovernanceId,
    pub model_link: Option<String>,
    pub status: &'a str,
    pub revision: Revision,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub use_case: Option<UseCaseRef>,
    pub artifact: Option<&'a ArtifactFingerprint>,
}

impl Decision<'_> {
    pub fn detail(&self) -> DecisionDetail {
        DecisionDetail {
            schema_version: SCHEMA_VERSION.to_owned(),
            decision_id: decision_id(self.model, self.revision, self.status),
            package_arn: self.package.to_string(),
            registry: RegistryRef {
                account: self.package.account().to_string(),
                region: self.package.region().to_string(),
            },
            approval_status: self.approval.as_str().to_owned(),
            lifecycle: self.lifecycle.map(|lifecycle| LifecycleRef {
                stage: lifecycle.stage.to_string(),
                stage_status: lifecycle.stage_status.to_string(),
            }),
            governance: GovernanceRef {
                model_id: self.model.to_string(),
                model_link: self.model_link.clone(),
                status: self.status.to_owned(),
                decided_by: self.decided_by.clone(),
                decided_at: self.decided_at.clone(),
            },
            use_case: self.use_case.clone(),
            artifact: self.artifact.map(ArtifactRef::of),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> GovernanceId {
        GovernanceId::parse("5001").unwrap()
    }

    #[test]
    fn one_decision_has_one_id_and_the_next_another() {
        let a = decision_id(&model(), Revision::new(10), "Approved for Deployment");
        assert_eq!(
            a,
            decision_id(&model(), Revision::new(10), "Approved for Deployment")
        );
        assert_ne!(
            a,
            decision_id(&model(), Revision::new(11), "Approved for Deployment")
        );
        assert_ne!(
            a,
            decision_id(&model(), Revision::new(10), "Approved for Production")
        );
        assert!(a.starts_with("gd-") && a.len() == 35);
    }

    #[test]
    fn the_decision_event_sample_decodes() {
        let event: serde_json::Value = serde_json::from_str(include_str!(
            "../../../events/decision-event/approved-for-production.json"
        ))
        .unwrap();
        assert_eq!(event["source"], SOURCE);
        assert_eq!(event["detail-type"], DETAIL_TYPE);
        let detail: DecisionDetail = serde_json::from_value(event["detail"].clone()).unwrap();
        assert_eq!(detail.schema_version, SCHEMA_VERSION);
        assert_eq!(
            serde_json::to_value(&detail).unwrap(),
            event["detail"],
            "every member of the sample is one govsync writes"
        );
    }
}
