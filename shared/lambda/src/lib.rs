//! govsync's Lambda runtime pieces, shared by every function crate:
//!
//! - [`config`]: the configuration every function reads from the environment (governance, registries,
//!   tables, gate, mapping), failing fast with the variable's name;
//! - [`backoff`]: how long a message that failed waits before its next receive;
//! - [`clients`]: the governance client and the per-registry SageMaker clients, built once;
//! - [`logging`]: tracing under Lambda's log-level and log-format controls;
//! - [`sqs_batch`]: the one SQS FIFO batch driver; a queue function implements
//!   [`sqs_batch::QueueFunction`] (decode, order key, process one message) and the driver keeps order,
//!   settles, quarantines and answers Lambda;
//! - [`RuntimeError`]: what reaches the Lambda runtime, as a `Diagnostic` with a stable error type.

pub mod backoff;
pub mod clients;
pub mod config;
pub mod logging;
pub mod model_links;
pub mod sqs_batch;

use std::future::Future;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;

pub use clients::{
    governance_client, governance_client_with_key, governance_client_with_key_source,
    registry_clients,
};
pub use config::{AuthSettings, Config, ConfigError};

/// A deployed SQS-triggered function: one batch in, the partial batch response out. The local runner and
/// the integration tests drive every queue function through this.
pub trait SqsFunction: Send + Sync {
    fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> impl Future<Output = Result<SqsBatchResponse, RuntimeError>> + Send;
}

/// An invocation's error as the Lambda runtime reports it: the `errorType` is a stable code.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0} failed message(s) have no message id; the whole batch is retried")]
    UnidentifiedFailures(usize),
    #[error("{message}")]
    Function { code: &'static str, message: String },
}

impl RuntimeError {
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::UnidentifiedFailures(_) => "govsync.unidentified_failures",
            RuntimeError::Function { code, .. } => code,
        }
    }
}

impl From<RuntimeError> for lambda_runtime::Diagnostic {
    fn from(error: RuntimeError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.code().to_owned(),
            error_message: error.to_string(),
        }
    }
}
