//! The metrics-relay Lambda: wiring only (logging → configuration → clients → runtime).

use govsync_lambda::logging;
use govsync_metrics_relay::Function;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = match Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            tracing::error!(error = %error, "metrics-relay cannot start");
            return Err(error.into());
        }
    };
    let function = &function;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move { function.handle(event).await },
    ))
    .await
}
