//! The reconciler Lambda: wiring only (logging → configuration → clients → runtime).

use govsync_lambda::logging;
use govsync_reconciler::{Function, deadline_of};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = match Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            tracing::error!(error = %error, "reconciler cannot start");
            return Err(error.into());
        }
    };
    let function = &function;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        function
            .handle(&event.payload, deadline_of(event.context.deadline))
            .await
    }))
    .await
}
