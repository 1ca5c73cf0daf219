//! Why a command failed. Every variant ends the process with exit code 1 ([`crate::Exit::Error`]);
//! messages name what failed and never hold a secret.

use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The functions' configuration is missing or malformed.
    #[error("configuration: {0}")]
    Config(String),
    /// The env file could not be read or parsed.
    #[error("env file {path}: {problem}")]
    EnvFile { path: String, problem: String },
    /// The reconcile run failed (its checkpoint is kept).
    #[error("reconcile failed: {0}")]
    Reconcile(#[from] govsync_reconciler::ReconcileError),
    /// An SQS call failed.
    #[error("SQS {operation} on {queue}: {message}")]
    Sqs {
        operation: &'static str,
        queue: String,
        message: String,
    },
    /// A DynamoDB read failed.
    #[error("{0}")]
    Store(#[from] govsync_core::ports::StoreError),
    /// A queue cannot be used as asked (not found, no source queue, …).
    #[error("queue {queue}: {problem}")]
    Queue { queue: String, problem: String },
    /// A file or stdin could not be read.
    #[error("reading {path}: {message}")]
    Read { path: String, message: String },
    /// An input (file content, option value, secret) is not usable.
    #[error("{what}: {problem}")]
    Invalid { what: String, problem: String },
    /// `mapping validate`: the spec is refused (already printed).
    #[error("{path}: the mapping spec is not valid: {error}")]
    InvalidMapping {
        path: String,
        error: govsync_core::mapping::MappingError,
    },
}

impl CliError {
    pub fn exit(&self) -> Exit {
        Exit::Error
    }

    /// Whether running the same command again later may succeed (a remote blip).
    pub fn is_retryable(&self) -> bool {
        match self {
            CliError::Reconcile(error) => error.is_retryable(),
            CliError::Store(error) => error.is_retryable(),
            CliError::Sqs { .. } => true,
            CliError::Config(_)
            | CliError::EnvFile { .. }
            | CliError::Queue { .. }
            | CliError::Read { .. }
            | CliError::Invalid { .. }
            | CliError::InvalidMapping { .. } => false,
        }
    }

    pub(crate) fn sqs(
        operation: &'static str,
        queue: &str,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        CliError::Sqs {
            operation,
            queue: queue.to_owned(),
            message: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
        }
    }
}

impl From<govsync_reconciler::ConfigError> for CliError {
    fn from(error: govsync_reconciler::ConfigError) -> Self {
        CliError::Config(error.to_string())
    }
}
