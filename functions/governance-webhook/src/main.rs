//! The governance-webhook Lambda: wiring only (logging → configuration → secrets and clients → runtime).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use govsync_governance_webhook::Function;
use govsync_lambda::logging;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = match Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            tracing::error!(error = %error, "governance-webhook cannot start");
            return Err(error.into());
        }
    };
    let function = &function;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move { function.handle(event).await },
    ))
    .await
}
