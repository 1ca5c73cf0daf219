//! govsync core: the pure domain. No I/O, no AWS SDK, no async runtime.
//!
//! Core decides, adapters do: a sync step is `decide(event, current_state, mapping) -> Vec<Action>`,
//! and the ports adapters implement are declared here.
//!
//! - [`aws_identity`]: account ids, regions, IAM role ARNs.
//! - [`model_package`]: group names and ARNs, package ARNs, approval, lifecycle, model versions.
//! - [`governance`]: use cases, governance statuses, links, the `govsync:rev` revision.
//! - [`governance_event`]: the `governance-events.fifo` message (webhook/poller → approval-propagation).
//! - [`customer_metadata`]: SageMaker's metadata rules and the sanitiser.
//! - [`registry_map`]: the central registries and their business entities.
//! - [`mapping`]: the versioned status mapping spec and its built-in default.
//! - [`metrics`]: monitoring results (F7): metrics events, breach status, metric objects.
//! - [`registry_event`]: decoding registry events (native and CloudTrail; envelope, SQS record, SQS event).
//! - [`relay`]: the FIFO message group a registry event is relayed under (order per object).
//! - [`idempotency`]: business idempotency keys.
//! - [`reconcile`]: F8 drift detection between a registry and the governance inventory, and repairs.
//! - [`sync`]: sync decisions (registry changes into governance: triage, decide, write-back).

pub mod artifact;
pub mod aws_identity;
pub mod batch_report;
pub mod clock;
pub mod customer_metadata;
pub mod decision_event;
pub mod decommission_request;
pub mod emf;
pub mod error;
pub mod field_mapping;
pub mod governance;
pub mod governance_event;
mod hex;
pub mod html;
pub mod idempotency;
mod json_access;
pub mod mapping;
pub mod metrics;
pub mod model_card;
pub mod model_link;
pub mod model_package;
mod newtype;
pub mod ports;
pub mod reconcile;
pub mod registry_event;
pub mod registry_map;
pub mod relay;
pub mod secret;
pub mod serving;
pub mod stable_hash;
pub mod sync;
pub mod webhook;

pub use aws_identity::{AccountId, Region, RoleArn};
pub use customer_metadata::{CustomerMetadata, MetadataError};
pub use error::{ArnError, ValidationError};
pub use governance::{
    EmailAddress, GovernanceId, GovernanceStatus, GovernanceUrl, Links, Revision, RiskLevel,
    UseCase,
};
pub use idempotency::IdempotencyKey;
pub use mapping::{
    Direction, MappingError, MappingRow, MappingSpec, RegistryTarget, ReverseMapping, StageTarget,
    UnknownGovernanceStatus,
};
pub use model_package::{
    ApprovalStatus, Description, Lifecycle, ModelGroup, ModelPackageArn, ModelPackageGroupArn,
    ModelPackageGroupName, ModelPackageStatus, ModelVersion, RegistryArn, SageMakerName,
    TechnicalMetadata,
};
pub use registry_event::{DecodeError, DecodedInput, RegistryEvent, SqsMessage};
pub use registry_map::{BusinessEntity, Registry, RegistryMap, RegistryMapError};
