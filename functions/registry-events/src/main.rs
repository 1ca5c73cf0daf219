//! The registry-events Lambda: wiring only (logging → configuration → clients → runtime).

use aws_lambda_events::sqs::SqsEvent;
use govsync_lambda::logging;
use govsync_registry_events::Function;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = match Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            tracing::error!(error = %error, "registry-events cannot start");
            return Err(error.into());
        }
    };
    let function = &function;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        function.handle(event).await
    }))
    .await
}
