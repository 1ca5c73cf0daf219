//! The registry-relay Lambda: wiring only (logging → configuration → clients → runtime).

use aws_lambda_events::sqs::SqsEvent;
use govsync_lambda::logging;
use govsync_registry_relay::Relay;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let relay = match Relay::from_env().await {
        Ok(relay) => relay,
        Err(error) => {
            tracing::error!(error = %error, "registry-relay cannot start");
            return Err(error.into());
        }
    };
    let relay = &relay;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        relay.handle(event).await
    }))
    .await
}
