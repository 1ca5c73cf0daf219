//! The pieces the runner's commands share with the operator CLI (`govsync`): the registry-events
//! function built as at a cold start, the runner's SQS client, the identity Lambda gives a function,
//! and one batch's report as JSON.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use crate::error::RunnerError;
use crate::event_source::{BatchReport, InvocationOutcome};
use crate::lambda_shape::FunctionIdentity;
use crate::local_env;

/// A function's handler future, boxed so handlers of different functions share one type.
pub type HandlerFuture = std::pin::Pin<
    Box<dyn Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>> + Send + 'static>,
>;

/// Builds an SQS function's handler once, as at a cold start (config, clients, secrets). The
/// function crates share the `Function::from_env` / `handle` shape but no trait, hence a macro.
#[macro_export]
macro_rules! sqs_function_handler {
    ($function_crate:ident, $name:literal) => {
        async {
            let function = $function_crate::Function::from_env()
                .await
                .map_err(|error| $crate::RunnerError::Setting {
                    name: concat!($name, " configuration").into(),
                    problem: error.to_string(),
                })?;
            let function = ::std::sync::Arc::new(function);
            Ok::<_, $crate::RunnerError>(
                move |event: ::lambda_runtime::LambdaEvent<
                    ::aws_lambda_events::event::sqs::SqsEvent,
                >|
                      -> $crate::lambda_invoke::HandlerFuture {
                    let function = function.clone();
                    Box::pin(async move { function.handle(event).await.map_err(Into::into) })
                },
            )
        }
    };
}

/// The registry-events function, built once as at a cold start.
pub async fn registry_events_handler()
-> Result<impl Fn(LambdaEvent<SqsEvent>) -> HandlerFuture, RunnerError> {
    sqs_function_handler!(govsync_registry_events, "registry-events").await
}

/// The runner's own SQS client: moto (`AWS_ENDPOINT_URL`) with the process's credentials.
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_sqs::Client::new(&config)
}

/// The region the functions run in (`AWS_REGION`, else the local stack's).
pub fn region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| local_env::DEFAULT_REGION.to_owned())
}

/// The identity Lambda gives function `name` (`govsync-<name>`) with its configured timeout.
pub fn function_identity(name: &str, timeout: Duration) -> FunctionIdentity {
    let account = std::env::var("GOVSYNC_ACCOUNT_ID")
        .unwrap_or_else(|_| local_env::DEFAULT_ACCOUNT_ID.to_owned());
    FunctionIdentity::new(&format!("govsync-{name}"), &account, &region(), timeout)
}

/// One batch's report as the JSON line the runner prints.
pub fn report_json(report: &BatchReport) -> Value {
    let outcome = match &report.outcome {
        InvocationOutcome::Completed { reported_failures } => {
            json!({"completed": {"batch_item_failures": reported_failures}})
        }
        InvocationOutcome::FunctionError(error) => json!({"function_error": error}),
        InvocationOutcome::TimedOut(after) => json!({"timed_out_after_ms": after.as_millis()}),
        InvocationOutcome::InvalidResponse(problem) => json!({"invalid_response": problem}),
    };
    json!({
        "request_id": report.request_id,
        "delivered": report.delivered,
        "deleted": report.deleted,
        "left": report.left,
        "outcome": outcome,
        "elapsed_ms": report.elapsed.as_millis(),
    })
}
