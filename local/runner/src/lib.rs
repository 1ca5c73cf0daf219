//! govsync's local runner: runs the functions' SQS handlers in-process against the local stack, as
//! Lambda's SQS event source mapping would (see `event_source`), and replays EventBridge events by hand.

pub mod error;
pub mod event_source;
pub mod fifo_redelivery;
pub mod governance_view;
pub mod invoke_metrics_relay;
pub mod lambda_invoke;
pub mod lambda_shape;
pub mod local_env;
pub mod replay;
pub mod serve_webhook;

pub use error::RunnerError;
pub use event_source::{
    BatchReport, InvocationOutcome, PollSettings, RunSummary, SqsEventSource, StopReason,
};
pub use lambda_shape::{FunctionIdentity, QueueIdentity};
