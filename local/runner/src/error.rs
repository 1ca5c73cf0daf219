//! The runner's errors. The handler's own errors are not here: Lambda treats them as a failed batch,
//! and so does the runner (see `event_source::InvocationOutcome`).

/// Why the runner could not poll, settle a batch, replay an event or read governance.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// An SQS call failed (the text includes the SDK's full error context).
    #[error("SQS {operation} on {queue} failed: {message}")]
    Sqs {
        operation: &'static str,
        queue: String,
        message: String,
    },
    /// The queue answered, but not as a queue the runner can drive (e.g. no ARN).
    #[error("queue {queue}: {problem}")]
    Queue { queue: String, problem: String },
    /// A received message lacks what Lambda would always give the function.
    #[error("message from {queue} cannot become an SQS event record: {problem}")]
    Record { queue: String, problem: String },
    /// A setting (flag, environment variable, stack.env) is missing or malformed.
    #[error("{name}: {problem}")]
    Setting { name: String, problem: String },
    /// The event file given to `replay-event` is not an EventBridge event this queue takes.
    #[error("event file {path}: {problem}")]
    EventFile { path: String, problem: String },
    /// The governance API answered with an error or could not be reached.
    #[error("governance {what}: {problem}")]
    Governance { what: String, problem: String },
}

impl RunnerError {
    /// Whether trying the same call again later may succeed (the local stack still starting, a blip).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RunnerError::Sqs { .. } | RunnerError::Governance { .. }
        )
    }

    pub fn sqs(
        operation: &'static str,
        queue: &str,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        RunnerError::Sqs {
            operation,
            queue: queue.to_owned(),
            message: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
        }
    }
}
