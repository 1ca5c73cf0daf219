//! The model-link Lambda: wiring only (logging → configuration → keys and clients → runtime).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use govsync_lambda::logging;
use govsync_model_link::Function;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = match Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            tracing::error!(error = %error, "model-link cannot start");
            return Err(error.into());
        }
    };
    let function = &function;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Error>(function.handle(event.payload).await)
        },
    ))
    .await
}
