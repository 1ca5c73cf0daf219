//! The our-write ledger as the flows use it (design §4, "No echoes, and no false echoes").
//!
//! A registry write is recorded before the call: its entry is the fingerprint of the package state the
//! write produces (which carries `govsync:rev`), and the state-change event it causes matches it. A
//! governance write is recorded with the revision it produced, read from the reply: the change
//! notification re-reads the object, and only the object at exactly that revision is the echo. Either
//! entry is consumed by the one change it excuses.

use chrono::{DateTime, Duration, Utc};
use govsync_core::ports::{EchoLedger, GovernanceObject, OurWrite, StoreError, StoreWrite};
use govsync_core::sync::governance::object_revision;

/// How long an entry waits for its echo: far longer than any delivery delay, short enough that a
/// lost echo does not pile up entries.
pub const LEDGER_TTL_SECONDS: i64 = 3600;

fn expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::seconds(LEDGER_TTL_SECONDS)
}

/// Records registry writes about to be made (their echo may arrive before the call returns).
pub async fn record_before_registry_write<L: EchoLedger>(
    ledger: &L,
    writes: &[OurWrite],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for write in writes {
        ledger.record_our_write(write, expiry(now)).await?;
    }
    Ok(())
}

/// Records governance writes once made, bound to the revision the reply reports. A reply without a
/// `Last Modification Date` records nothing: its notification is then applied as a change, which
/// converges because it carries the value govsync just wrote.
pub async fn record_after_governance_write<L: EchoLedger>(
    ledger: &L,
    writes: &[OurWrite],
    updated: &GovernanceObject,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(revision) = object_revision(updated) else {
        tracing::warn!(
            id = %updated.id,
            "the governance reply carries no Last Modification Date: the write's notification will be applied as a change"
        );
        return Ok(());
    };
    for write in writes {
        ledger
            .record_our_write(&write.clone().produced(revision.value()), expiry(now))
            .await?;
    }
    Ok(())
}

/// [`record_before_registry_write`] as writes of a store transaction.
pub fn registry_entries(writes: &[OurWrite], now: DateTime<Utc>) -> Vec<StoreWrite> {
    writes
        .iter()
        .map(|write| StoreWrite::RecordOurWrite {
            write: write.clone(),
            expires_at: expiry(now),
        })
        .collect()
}

/// [`record_after_governance_write`] as writes of a store transaction (none without a revision).
pub fn governance_entries(
    writes: &[OurWrite],
    updated: &GovernanceObject,
    now: DateTime<Utc>,
) -> Vec<StoreWrite> {
    let Some(revision) = object_revision(updated) else {
        tracing::warn!(
            id = %updated.id,
            "the governance reply carries no Last Modification Date: the write's notification will be applied as a change"
        );
        return Vec::new();
    };
    writes
        .iter()
        .map(|write| StoreWrite::RecordOurWrite {
            write: write.clone().produced(revision.value()),
            expires_at: expiry(now),
        })
        .collect()
}
