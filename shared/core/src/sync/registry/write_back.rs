//! The package's write-back: the `CustomerMetadataProperties` govsync maintains (links, use case name
//! and risk level) and the gate's revert, as one `UpdateModelPackage` whose resulting state is known
//! before the call, so its echo can be recognised by fingerprint in the our-write ledger.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::super::ConsoleLinks;
use super::{ObjectRef, UseCaseView};
use crate::customer_metadata::{self, CustomerMetadata, MetadataError, keys};
use crate::governance::{GovernanceId, Revision};
use crate::model_card::{self, CardDecision, CardFacts, CardWrite};
use crate::model_package::{
    ApprovalStatus, Description, Lifecycle, ModelVersion, TechnicalMetadata,
};
use crate::ports::registry::PackageUpdate;
use crate::ports::{OurWrite, WriteSide};

/// The our-write ledger field for a package's whole relevant state (approval, lifecycle, metadata).
pub const PACKAGE_STATE_FIELD: &str = "package-state";

/// A digest of a package's state as govsync writes it and reads it back from events: approval,
/// lifecycle stage and status, the whole customer metadata, and the technical metadata (description,
/// images, model data, metrics, sorted: events and `DescribeModelPackage` list them in different
/// orders).
/// An incoming snapshot with the digest of a recorded write is that write's echo; any other change
/// (by someone else, to anything govsync syncs) gives another digest.
pub fn package_state_fingerprint(
    approval: Option<ApprovalStatus>,
    lifecycle: Option<(&str, &str)>,
    metadata: &BTreeMap<String, String>,
    technical: &TechnicalMetadata,
) -> String {
    let mut hasher = Sha256::new();
    let mut part = |text: Option<&str>| match text {
        None => hasher.update([0u8]),
        Some(text) => {
            hasher.update([1u8]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
    };
    part(approval.map(ApprovalStatus::as_str));
    part(lifecycle.map(|(stage, _)| stage));
    part(lifecycle.map(|(_, status)| status));
    part(Some(&customer_metadata::stable_hash(metadata)));
    part(technical.description.as_deref());
    for list in [
        &technical.inference_images,
        &technical.model_data_urls,
        &technical.metrics_uris,
    ] {
        let mut sorted: Vec<&str> = list.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        part(Some(&sorted.len().to_string()));
        for item in sorted {
            part(Some(item));
        }
    }
    crate::hex::encode(&hasher.finalize())
}

/// The ledger entry an event's snapshot would match if govsync wrote that state.
pub fn snapshot_write(snapshot: &ModelVersion) -> OurWrite {
    let lifecycle = snapshot
        .lifecycle
        .as_ref()
        .map(|l| (l.stage.as_str(), l.stage_status.as_str()));
    OurWrite::new(
        WriteSide::Registry,
        snapshot.arn.as_str(),
        PACKAGE_STATE_FIELD,
        &package_state_fingerprint(
            snapshot.approval,
            lifecycle,
            &snapshot.customer_metadata,
            &snapshot.technical,
        ),
    )
}

/// The entries govsync keeps on a package, most needed first. A package whose own entries leave
/// little room under SageMaker's limit of 50 keeps the first ones that fit: the packed links (which
/// governance model, model group and use case, the risk level and the use case's name), the revision
/// stamp, then the model's page in governance. Everything else lives in governance (and the Model
/// Card).
pub const WRITE_BACK_ORDER: [&str; 3] = [keys::LINKS, keys::REVISION, keys::MODEL_URL];

/// The entries of the unpacked write-back of earlier versions, removed when the package is next
/// written back.
pub const UNPACKED_KEYS: [&str; 7] = [
    keys::USE_CASE_ID,
    keys::MODEL_GROUP_ID,
    keys::MODEL_ID,
    keys::USE_CASE_URL,
    keys::MODEL_GROUP_URL,
    keys::USE_CASE_NAME,
    keys::RISK_LEVEL,
];

/// How much of the write-back ([`WRITE_BACK_ORDER`]) fits beside the package's other entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBackRoom {
    /// Every entry fits.
    Full,
    /// Only the first `kept` entries fit.
    Trimmed { kept: usize, other_entries: usize },
    /// Not even the links fit: the package holds `other_entries` entries that are not govsync's.
    NoRoom { other_entries: usize },
}

impl WriteBackRoom {
    /// The room on a package holding `metadata`: its entries other than govsync's write-back (old or
    /// packed) stay, the rest of the 50 is govsync's.
    pub fn of(metadata: &BTreeMap<String, String>) -> Self {
        let other_entries = metadata
            .keys()
            .filter(|key| {
                !WRITE_BACK_ORDER.contains(&key.as_str()) && !UNPACKED_KEYS.contains(&key.as_str())
            })
            .count();
        let room = customer_metadata::MAX_ENTRIES.saturating_sub(other_entries);
        match room {
            0 => WriteBackRoom::NoRoom { other_entries },
            kept if kept < WRITE_BACK_ORDER.len() => WriteBackRoom::Trimmed {
                kept,
                other_entries,
            },
            _ => WriteBackRoom::Full,
        }
    }

    /// How many entries of [`WRITE_BACK_ORDER`] are written.
    pub fn kept(self) -> usize {
        match self {
            WriteBackRoom::Full => WRITE_BACK_ORDER.len(),
            WriteBackRoom::Trimmed { kept, .. } => kept,
            WriteBackRoom::NoRoom { .. } => 0,
        }
    }

    /// The entries left out for want of room.
    pub fn left_out(self) -> &'static [&'static str] {
        &WRITE_BACK_ORDER[self.kept()..]
    }

    fn keeps(self, key: &str) -> bool {
        WRITE_BACK_ORDER[..self.kept()].contains(&key)
    }
}

/// `govsync:links`: the three governance ids, then the use case's risk level and name, in one
/// entry: `model=1003 model-group=1002 use-case=1001 risk=High name=Fraud detection EU`. The name
/// comes last and is cut to what fits in 256 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedLinks {
    pub model: GovernanceId,
    pub model_group: GovernanceId,
    pub use_case: GovernanceId,
}

const MODEL_PREFIX: &str = "model=";
const MODEL_GROUP_PREFIX: &str = "model-group=";
const USE_CASE_PREFIX: &str = "use-case=";

impl PackedLinks {
    /// The entry's value. Ids holding a space could not be read back, so they are refused.
    pub fn encode(
        &self,
        risk_level: Option<&str>,
        use_case_name: &str,
    ) -> Result<String, MetadataError> {
        for id in [&self.model, &self.model_group, &self.use_case] {
            if id.as_str().contains(' ') {
                return Err(MetadataError::ValueCharacter {
                    key: keys::LINKS.to_owned(),
                    character: ' ',
                });
            }
        }
        let mut value = format!(
            "{MODEL_PREFIX}{} {MODEL_GROUP_PREFIX}{} {USE_CASE_PREFIX}{}",
            self.model, self.model_group, self.use_case
        );
        let mut append = |label: &str, text: &str| {
            let room = customer_metadata::MAX_VALUE_CHARS
                .saturating_sub(value.chars().count() + label.len() + 1);
            let text = customer_metadata::sanitize(text, room);
            if !text.is_empty() {
                value.push(' ');
                value.push_str(label);
                value.push_str(&text);
            }
        };
        if let Some(risk) = risk_level {
            // One word, so the name after it stays apart.
            append("risk=", &risk.replace(' ', "-"));
        }
        append("name=", use_case_name);
        customer_metadata::validate_value(keys::LINKS, &value)?;
        Ok(value)
    }

    /// Reads the ids back; `None` unless the value starts with the three of them.
    pub fn parse(value: &str) -> Option<Self> {
        let mut words = value.split(' ');
        let mut id = |prefix: &str| {
            words
                .next()
                .and_then(|word| word.strip_prefix(prefix))
                .and_then(|id| GovernanceId::parse(id).ok())
        };
        Some(Self {
            model: id(MODEL_PREFIX)?,
            model_group: id(MODEL_GROUP_PREFIX)?,
            use_case: id(USE_CASE_PREFIX)?,
        })
    }
}

/// The governance ids a package's write-back names, each `None` when absent: from `govsync:links`,
/// else from the unpacked entries of earlier versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WrittenLinks {
    pub model: Option<String>,
    pub model_group: Option<String>,
    pub use_case: Option<String>,
}

impl WrittenLinks {
    pub fn read(metadata: &BTreeMap<String, String>) -> Self {
        if let Some(packed) = metadata.get(keys::LINKS) {
            return match PackedLinks::parse(packed) {
                Some(links) => Self {
                    model: Some(links.model.to_string()),
                    model_group: Some(links.model_group.to_string()),
                    use_case: Some(links.use_case.to_string()),
                },
                None => Self::default(),
            };
        }
        let get = |key: &str| metadata.get(key).cloned();
        Self {
            model: get(keys::MODEL_ID),
            model_group: get(keys::MODEL_GROUP_ID),
            use_case: get(keys::USE_CASE_ID),
        }
    }
}

/// The write-back of links and the use case's name and risk level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksWriteBack {
    pub use_case: UseCaseView,
    pub model_group: ObjectRef,
    pub model: ObjectRef,
}

/// One `UpdateModelPackage` govsync makes on a package, built from the package's described state so
/// the result (and the ledger entry of its echo) is known before the call.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageWrite {
    pub package: ModelVersion,
    pub links: Option<LinksWriteBack>,
    /// Governance's facts for the Model Card, merged when the write is resolved (with the links).
    pub card: Option<CardFacts>,
    /// Set when the gate reverts a shadow approval: the `ApprovalDescription` to write.
    pub revert_approval: Option<Description>,
    /// The lifecycle to set: the gate's revert of one that claims deployment, or a new version's
    /// initial status (the mapping's `initial_status` row).
    pub lifecycle_to_set: Option<Lifecycle>,
    /// `govsync:rev`: the registry revision this write was decided from.
    pub revision: Revision,
}

/// A resolved [`PackageWrite`]: the call to make and the ledger entry to record first.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedWrite {
    pub update: PackageUpdate,
    pub ledger: OurWrite,
}

/// Why a write-back cannot be made within SageMaker's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteBackError {
    #[error("write-back needs the id of the {0} created earlier in the plan")]
    UnresolvedObject(&'static str),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

impl PackageWrite {
    /// The write-back entries (without `govsync:rev`) that fit in `room`.
    fn desired_entries(
        links: &LinksWriteBack,
        model_group_id: &GovernanceId,
        model_id: &GovernanceId,
        console: &ConsoleLinks,
        room: WriteBackRoom,
    ) -> Result<BTreeMap<String, String>, MetadataError> {
        let mut entries = BTreeMap::new();
        if room.keeps(keys::LINKS) {
            let packed = PackedLinks {
                model: model_id.clone(),
                model_group: model_group_id.clone(),
                use_case: links.use_case.id.clone(),
            };
            let value =
                packed.encode(links.use_case.risk_level.as_deref(), &links.use_case.name)?;
            entries.insert(keys::LINKS.to_owned(), value);
        }
        if room.keeps(keys::MODEL_URL)
            && let Some(url) = console.object_url(model_id)
        {
            entries.insert(keys::MODEL_URL.to_owned(), url.as_str().to_owned());
        }
        Ok(entries)
    }

    /// The Model Card to write with the links, or `None` when it already holds governance's facts
    /// (or cannot take them: [`CardDecision::Skip`], reported by `decide`).
    fn card_write(
        &self,
        created_group: Option<&GovernanceId>,
        created_model: Option<&GovernanceId>,
        console: &ConsoleLinks,
    ) -> Result<Option<CardWrite>, WriteBackError> {
        let (Some(facts), Some(links)) = (&self.card, &self.links) else {
            return Ok(None);
        };
        let group_id = links
            .model_group
            .resolve(created_group)
            .ok_or(WriteBackError::UnresolvedObject("model group"))?;
        let model_id = links
            .model
            .resolve(created_model)
            .ok_or(WriteBackError::UnresolvedObject("model"))?;
        let url = |id: &GovernanceId| console.object_url(id).map(|url| url.to_string());
        let facts = CardFacts {
            use_case_link: url(&links.use_case.id),
            model_group_id: Some(group_id.to_string()),
            model_id: Some(model_id.to_string()),
            model_link: url(model_id),
            ..facts.clone()
        };
        Ok(
            match model_card::merge(self.package.technical.facts.model_card.as_ref(), &facts) {
                CardDecision::Write(write) => Some(write),
                CardDecision::Unchanged | CardDecision::Skip(_) => None,
            },
        )
    }

    /// The update to send, or `None` when the package already holds everything (no call, no echo).
    /// `created_group` / `created_model` are the ids of objects the plan created.
    pub fn resolve(
        &self,
        created_group: Option<&GovernanceId>,
        created_model: Option<&GovernanceId>,
        console: &ConsoleLinks,
    ) -> Result<Option<ResolvedWrite>, WriteBackError> {
        let current = &self.package.customer_metadata;
        let room = WriteBackRoom::of(current);
        let mut to_set = BTreeMap::new();
        let mut to_remove = Vec::new();
        if let Some(links) = &self.links {
            let group_id = links
                .model_group
                .resolve(created_group)
                .ok_or(WriteBackError::UnresolvedObject("model group"))?;
            let model_id = links
                .model
                .resolve(created_model)
                .ok_or(WriteBackError::UnresolvedObject("model"))?;
            let desired = Self::desired_entries(links, group_id, model_id, console, room)?;
            to_set.extend(
                desired
                    .into_iter()
                    .filter(|(key, value)| current.get(key) != Some(value)),
            );
            to_remove.extend(
                UNPACKED_KEYS
                    .iter()
                    .filter(|key| current.contains_key(**key))
                    .map(|key| (*key).to_owned()),
            );
        }
        let card = self.card_write(created_group, created_model, console)?;
        let reverts = self.revert_approval.is_some() || self.lifecycle_to_set.is_some();
        if to_set.is_empty() && to_remove.is_empty() && !reverts && card.is_none() {
            return Ok(None);
        }
        if room.keeps(keys::REVISION) {
            to_set.insert(keys::REVISION.to_owned(), self.revision.to_string());
        }
        let to_set = CustomerMetadata::try_from(to_set)?;
        let merged = to_set.merged_into(current, &to_remove)?;
        let approval = match self.revert_approval {
            Some(_) => Some(ApprovalStatus::PendingManualApproval),
            None => self.package.approval,
        };
        let lifecycle = self
            .lifecycle_to_set
            .as_ref()
            .or(self.package.lifecycle.as_ref())
            .map(|l| (l.stage.as_str(), l.stage_status.as_str()));
        let fingerprint =
            package_state_fingerprint(approval, lifecycle, &merged, &self.package.technical);
        let arn = self.package.arn.as_str();
        let update = PackageUpdate {
            arn: self.package.arn.clone(),
            approval_status: self
                .revert_approval
                .as_ref()
                .map(|_| ApprovalStatus::PendingManualApproval),
            approval_description: self
                .revert_approval
                .as_ref()
                .map(|description| description.as_str().to_owned()),
            metadata_to_set: to_set.into_map(),
            metadata_to_remove: to_remove,
            lifecycle: self.lifecycle_to_set.clone(),
            // The card is not in the state fingerprint (its echo changes nothing govsync syncs), so
            // the token also covers its content: another card is another write.
            client_token: Some(client_token(
                arn,
                &match &card {
                    Some(card) => format!("{fingerprint}\n{}", card.content),
                    None => fingerprint.clone(),
                },
            )),
            model_card: card,
        };
        Ok(Some(ResolvedWrite {
            ledger: OurWrite::new(WriteSide::Registry, arn, PACKAGE_STATE_FIELD, &fingerprint),
            update,
        }))
    }
}

/// `ClientToken` (≤ 36 of `[a-zA-Z0-9-]`) from the package and the state the write produces: a retry
/// of the same write reuses it, a different write gets another.
fn client_token(arn: &str, fingerprint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(arn.as_bytes());
    hasher.update([0u8]);
    hasher.update(fingerprint.as_bytes());
    let hex = crate::hex::encode(&hasher.finalize());
    format!("govsync-{}", &hex[..28])
}
