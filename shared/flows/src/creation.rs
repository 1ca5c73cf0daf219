//! Exactly one governance object per registry resource (issue 13, 3). Creation in OpenPages is not
//! idempotent, and two deliveries for one ARN (a duplicate, a conflicting event in the same batch, a
//! concurrent invocation, F1 and F2 racing for one model group) could each find nothing and create.
//! So the creation is claimed per External ID in the idempotency table, and the claim is completed
//! with the new id the moment the object exists: whoever comes next reuses that id.

use chrono::{DateTime, Utc};
use govsync_core::IdempotencyKey;
use govsync_core::ports::{
    Governance, GovernanceError, GovernanceId, GovernanceObject, IdempotencyStore,
    NewGovernanceObject, StoreError, StoreWrite,
};
use govsync_core::sync::fields;
use serde_json::json;

use crate::idempotency::{self, Claim};

/// The object [`create_once`] made, or the one made before it.
#[derive(Debug, Clone)]
pub enum Creation {
    Created(GovernanceObject),
    Existing(GovernanceId),
}

impl Creation {
    pub fn id(&self) -> &GovernanceId {
        match self {
            Creation::Created(object) => &object.id,
            Creation::Existing(id) => id,
        }
    }
}

/// Why [`create_once`] created nothing.
#[derive(Debug, thiserror::Error)]
pub enum CreationError {
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another invocation holds the creation: retry, and find its object then.
    #[error("another invocation is creating the object of {key}")]
    InProgress { key: String },
}

/// Creates `object` unless the object of its External ID (`kind`: `model-group`, `model`) was created
/// by another delivery; an object without an External ID is created as is. The claim lasts until the
/// invocation's `deadline`, as every other claim: a holder killed mid-creation blocks the next delivery
/// no longer than its own invocation could have run.
pub async fn create_once<G: Governance, I: IdempotencyStore>(
    governance: &G,
    idempotency: &I,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
    kind: &'static str,
    object: &NewGovernanceObject,
) -> Result<Creation, CreationError> {
    let (creation, completion) =
        create_once_deferred(governance, idempotency, now, deadline, kind, object).await?;
    if let Some(StoreWrite::CompleteClaim { key, result, now }) = completion {
        idempotency::settle_claim(idempotency, &key, Some(&result), now).await;
    }
    Ok(creation)
}

/// [`create_once`] leaving the completion of a claim it created under to the caller: the
/// [`StoreWrite::CompleteClaim`] to commit with the writes that record the new object (one
/// transaction). Until it is committed, the claim holds others off until `deadline`, and they then
/// find the object by its External ID. A failed creation releases the claim at once.
pub async fn create_once_deferred<G: Governance, I: IdempotencyStore>(
    governance: &G,
    idempotency: &I,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
    kind: &'static str,
    object: &NewGovernanceObject,
) -> Result<(Creation, Option<StoreWrite>), CreationError> {
    let Some(external_id) = object
        .fields
        .iter()
        .find(|field| field.name == fields::EXTERNAL_ID)
        .and_then(|field| field.value.as_text())
    else {
        return Ok((
            Creation::Created(governance.create_object(object).await?),
            None,
        ));
    };
    let key = IdempotencyKey::for_creation(kind, &external_id);
    match idempotency::claim(idempotency, &key, now, deadline).await? {
        Claim::Owned => {}
        Claim::Duplicate(record) => {
            let id = record
                .get("id")
                .and_then(serde_json::Value::as_str)
                .and_then(|id| GovernanceId::parse(id).ok());
            return match id {
                Some(id) => {
                    tracing::info!(%id, kind, "created by an earlier or concurrent delivery: reused");
                    Ok((Creation::Existing(id), None))
                }
                None => Err(CreationError::InProgress {
                    key: key.to_string(),
                }),
            };
        }
        Claim::InProgress => {
            return Err(CreationError::InProgress {
                key: key.to_string(),
            });
        }
    }
    match governance.create_object(object).await {
        Ok(created) => {
            tracing::info!(id = %created.id, kind, "created");
            let completion = StoreWrite::CompleteClaim {
                key,
                result: json!({"id": created.id.as_str()}),
                now,
            };
            Ok((Creation::Created(created), Some(completion)))
        }
        Err(error) => {
            idempotency::settle_claim(idempotency, &key, None, now).await;
            Err(error.into())
        }
    }
}
