//! govsync's flows over the ports. Core decides; a flow reads what the decision needs through the
//! ports, asks core, and carries the decision out through the ports again. Every caller — the queue
//! functions, the reconciler, the operator CLI — goes through these, so a repair does exactly what an
//! event would.
//!
//! | Flow | Module | Called by |
//! |---|---|---|
//! | sync one package into governance (F2, F3; archiving seen on describe) | [`package_sync`] | registry-events, reconciler |
//! | apply a governance change to the registry (F1, F4, the F6 hand-off) | [`governance_change`] | approval-propagation |
//! | decommission in governance, archive in the registry (F5, F6) | [`decommission`] | decommission |
//!
//! [`idempotency`] is the claim/settle protocol the flows wrap their work in; [`echo`] records
//! govsync's own writes so their change events are recognised once.

pub mod artifacts;
pub mod creation;
pub mod decommission;
pub mod echo;
pub mod governance_change;
pub mod idempotency;
pub mod package_sync;
pub mod registry_clients;
