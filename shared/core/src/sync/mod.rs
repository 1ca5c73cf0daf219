//! Sync decisions: what to do about a change, given the state of both sides. Pure: the functions
//! read the state they are handed and return actions for the adapters to execute.
//!
//! - [`registry`]: registry changes into governance (F2 new versions, F3 changes and the approval gate).
//! - [`decommission`]: retirement on either side (F5 deletions and archives, F6 governance decommissions).
//! - [`governance`]: governance changes into the registry (F1 use case approval, F4 model status, F6 hand-off).

pub mod decommission;
pub mod governance;
pub mod registry;

use std::collections::BTreeSet;
use std::fmt;

use crate::aws_identity::{AccountId, RoleArn, split_arn};
use crate::error::ValidationError;
use crate::governance::{GovernanceId, GovernanceUrl};

/// Governance field names govsync reads and writes (defaults of contracts/openpages-v2.md).
pub mod fields {
    pub const MODEL_STATUS: &str = "MRG-Model:Status";
    pub const MODEL_VERSION: &str = "MRG-Model:Model Version";
    pub const MODEL_PROVIDER: &str = "MRG-Model:Model Provider";
    pub const INFERENCE_IMAGE: &str = "MRG-Model:Inference Image";
    pub const MODEL_DATA_URL: &str = "MRG-Model:Model Data URL";
    pub const METRICS_URIS: &str = "MRG-Model:Metrics URIs";
    pub const MODEL_CREATOR: &str = "MRG-Model:Model Creator";
    pub const EXTERNAL_ID: &str = "Integration:External ID";
    pub const THIRD_PARTY_LINK: &str = "Integration:Third Party Link";
    pub const LAST_UPDATE: &str = "Integration:Last Update";
    pub const USE_CASE_STATUS: &str = "MRG-AIFacts-ModelUseCase:Status";
    pub const USE_CASE_RISK_LEVEL: &str = "MRG-AIFacts-ModelUseCase:Risk Level";
    /// The use case's owner(s), as governance records them.
    pub const USE_CASE_OWNER: &str = "MRG-ModelUseCase:Owner";
    /// The data-science team's email address(es) on a use case (govsync's choice of field).
    pub const USE_CASE_TEAM_EMAIL: &str = "MRG-ModelUseCase:Data Science Team Email";
    /// The development accounts (12-digit ids, comma-separated) allowed to register into the use
    /// case's group of a central registry (govsync's choice of field; empty = no group policy).
    pub const USE_CASE_DEVELOPMENT_ACCOUNTS: &str = "MRG-ModelUseCase:Development Accounts";
    /// System fields every object carries.
    pub const LAST_MODIFICATION_DATE: &str = "Last Modification Date";
    pub const LAST_MODIFIED_BY: &str = "Last Modified By";
    /// The value of [`MODEL_PROVIDER`] on every model govsync creates.
    pub const SAGEMAKER_PROVIDER: &str = "Amazon SageMaker";
}

/// Whose registry an event is about (design §4, "an event is a hint; the owning registry is the truth").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership<'a> {
    /// The named package's owner, or for an event naming no package its own origin, is governed.
    Governed(&'a crate::registry_map::Registry),
    /// The event names a package whose owner (its ARN's account and region) is not in the map:
    /// skipped with a reason, never quarantined for that alone (a record in one account about a
    /// package another account owns is normal in a central registry), and nothing is written.
    UnmappedOwner {
        account: AccountId,
        region: crate::aws_identity::Region,
    },
    /// The event names no package and comes from an account and region not in the map: quarantined.
    UnknownOrigin {
        account: AccountId,
        region: crate::aws_identity::Region,
    },
}

/// The one rule both registry triages follow: a named package's owner counts, wherever the record
/// comes from; otherwise the record's origin. What is written is then read from that owner only.
pub fn ownership<'a>(
    event: &crate::registry_event::RegistryEvent,
    registries: &'a crate::registry_map::RegistryMap,
) -> Ownership<'a> {
    match event.package_arn() {
        Some(arn) => match registries.get(arn.account(), arn.region()) {
            Some(owner) => Ownership::Governed(owner),
            None => Ownership::UnmappedOwner {
                account: arn.account().clone(),
                region: arn.region().clone(),
            },
        },
        None => {
            let origin = event.origin();
            match registries.get(&origin.account, &origin.region) {
                Some(registry) => Ownership::Governed(registry),
                // A deployment whose first registry is not added yet: the hub account's own registry
                // activity is skipped (and counted), not dead-lettered as if it came from a stranger.
                None if registries.is_empty() => Ownership::UnmappedOwner {
                    account: origin.account.clone(),
                    region: origin.region.clone(),
                },
                None => Ownership::UnknownOrigin {
                    account: origin.account.clone(),
                    region: origin.region.clone(),
                },
            }
        }
    }
}

/// What to do with a shadow approval (`Approved` in SageMaker without a governance approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateMode {
    /// Revert to `PendingManualApproval` and report.
    Enforce,
    /// Report only.
    Alert,
    /// Ignore.
    Off,
}

impl GateMode {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value {
            "enforce" => Ok(GateMode::Enforce),
            "alert" => Ok(GateMode::Alert),
            "off" => Ok(GateMode::Off),
            _ => Err(ValidationError::NotInEnum {
                what: "gate mode",
                value: value.to_owned(),
                allowed: "enforce alert off",
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GateMode::Enforce => "enforce",
            GateMode::Alert => "alert",
            GateMode::Off => "off",
        }
    }
}

impl fmt::Display for GateMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One identity govsync writes to a registry as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Writer {
    /// An IAM role: any of its sessions is govsync.
    Role(RoleArn),
    /// An STS assumed-role ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`): any session of
    /// that role in that account is govsync.
    AssumedRole {
        account: AccountId,
        role_name: String,
    },
}

/// govsync's own writer identities: a CloudTrail record whose caller is one of them is an echo.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriterIdentities(BTreeSet<Writer>);

impl WriterIdentities {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an IAM role ARN or an STS assumed-role ARN.
    pub fn add(&mut self, arn: &str) -> Result<(), ValidationError> {
        let writer = if arn.contains(":sts:") {
            let parts = split_arn(arn, "sts")?;
            let role_name = parts
                .resource
                .strip_prefix("assumed-role/")
                .and_then(|rest| rest.split('/').next())
                .filter(|name| !name.is_empty())
                .ok_or_else(|| crate::error::ArnError::RoleName {
                    value: arn.to_owned(),
                })?;
            Writer::AssumedRole {
                account: AccountId::parse(parts.account)?,
                role_name: role_name.to_owned(),
            }
        } else {
            Writer::Role(RoleArn::parse(arn)?)
        };
        self.0.insert(writer);
        Ok(())
    }

    pub fn add_role(&mut self, role: RoleArn) {
        self.0.insert(Writer::Role(role));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a CloudTrail `userIdentity.arn` is govsync.
    pub fn is_writer(&self, caller_arn: &str) -> bool {
        self.0.iter().any(|writer| match writer {
            Writer::Role(role) => role.is_caller(caller_arn),
            Writer::AssumedRole { account, role_name } => {
                let Ok(parts) = split_arn(caller_arn, "sts") else {
                    return false;
                };
                parts.account == account.as_str()
                    && parts
                        .resource
                        .strip_prefix("assumed-role/")
                        .and_then(|rest| rest.split('/').next())
                        == Some(role_name.as_str())
            }
        })
    }
}

/// Links into the governance console for objects, as written back to SageMaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLinks {
    base_url: String,
}

impl ConsoleLinks {
    /// The path of an object's view under the console URL.
    pub const OBJECT_VIEW_PATH: &'static str = "/app/jspview/react/grc/task-view/";

    /// `base_url` is the console root (`GOVSYNC_GOVERNANCE_URL`); it must be storable in customer
    /// metadata (plain http(s), no query).
    pub fn new(base_url: &str) -> Result<Self, ValidationError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        GovernanceUrl::parse(&base_url)?;
        Ok(Self { base_url })
    }

    /// `None` only when the id makes the link unstorable (an id is metadata-safe, so in practice never).
    pub fn object_url(&self, id: &GovernanceId) -> Option<GovernanceUrl> {
        GovernanceUrl::parse(&format!("{}{}{id}", self.base_url, Self::OBJECT_VIEW_PATH)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_modes_parse_exactly() {
        assert_eq!(GateMode::parse("enforce"), Ok(GateMode::Enforce));
        assert_eq!(GateMode::parse("alert"), Ok(GateMode::Alert));
        assert_eq!(GateMode::parse("off"), Ok(GateMode::Off));
        assert!(GateMode::parse("Enforce").is_err());
        assert!(GateMode::parse("").is_err());
    }

    #[test]
    fn writer_identities_match_sessions_of_their_roles_only() {
        let mut writers = WriterIdentities::new();
        writers
            .add("arn:aws:iam::111111111111:role/govsync/govsync-registry-access")
            .unwrap();
        writers
            .add("arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync")
            .unwrap();
        let cases = [
            (
                "arn:aws:sts::111111111111:assumed-role/govsync-registry-access/govsync",
                true,
            ),
            (
                "arn:aws:iam::111111111111:role/govsync/govsync-registry-access",
                true,
            ),
            (
                "arn:aws:sts::222222222222:assumed-role/govsync-registry-access/govsync",
                false,
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/govsync-sync/another-session",
                true,
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/data-scientist/alice",
                false,
            ),
            ("arn:aws:iam::123456789012:user/alice", false),
            ("not an arn", false),
        ];
        for (caller, expected) in cases {
            assert_eq!(writers.is_writer(caller), expected, "{caller}");
        }
        assert!(writers.add("arn:aws:iam::123456789012:user/alice").is_err());
        assert!(
            writers
                .add("arn:aws:sts::123456789012:federated-user/x")
                .is_err()
        );
    }

    #[test]
    fn console_links_point_at_the_object_view() {
        let links = ConsoleLinks::new("https://grc.example.com/").unwrap();
        let id = GovernanceId::parse("1042").unwrap();
        assert_eq!(
            links.object_url(&id).unwrap().as_str(),
            "https://grc.example.com/app/jspview/react/grc/task-view/1042"
        );
        assert!(ConsoleLinks::new("https://grc.example.com/?tenant=1").is_err());
    }
}
