//! govsync's reliability suite (dev only, no library code): see `tests/reliability_suite.rs`.
//!
//! `cargo test --workspace --test reliability_suite -- --nocapture` runs it and prints its summary;
//! `GOVSYNC_RELIABILITY_SEED=<u64>` replays one run exactly.
