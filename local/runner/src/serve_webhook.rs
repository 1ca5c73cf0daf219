//! `govsync-local-runner serve-webhook [--port N] [--stack-env FILE]`: serves the real governance-webhook
//! handler over HTTP on 127.0.0.1, the way API Gateway's HTTP API (payload format 2.0) would put it in
//! front of the Lambda function.
//!
//! Each request is translated into an `ApiGatewayV2httpRequest` as API Gateway builds it: `rawPath`,
//! `rawQueryString`, header names lowercased (repeated headers joined with `,`; cookies in `cookies`),
//! the body as text for textual content types and base64 (`isBase64Encoded`) otherwise, and a
//! `requestContext` with a fresh request id, the HTTP description and the request time (`time` in
//! API Gateway's `dd/MMM/yyyy:HH:mm:ss +0000` form and `timeEpoch`). The invocation gets a Lambda
//! context with the function's 10 s deadline. The answer's status, headers and body (base64-decoded when
//! flagged) go back as the HTTP response.
//!
//! Like the deployed API, only `POST /webhooks/governance` reaches the function; any other route is
//! answered `404 {"message":"Not Found"}` and a body over API Gateway's 10 MB payload limit
//! `413 {"message":"Request Entity Too Large"}`, without invoking it.
//!
//! The function's environment is the local stack's (`stack.env`) plus what the hub template sets for it
//! (`GOVSYNC_WEBHOOK_SECRETS_SECRET`, `GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL`, `GOVSYNC_IDEMPOTENCY_TABLE`);
//! variables already set win, so e.g. the queue can be overridden. stdout carries one ready line,
//! `govsync-local-runner ready: governance-webhook listening on http://127.0.0.1:PORT/webhooks/governance`,
//! then the function's metric lines; logs go to stderr as JSON lines.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body as LambdaBody;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::RunnerError;
use crate::local_env;

/// The subcommand's name.
pub const COMMAND: &str = "serve-webhook";
/// The route of the deployed HTTP API (`infra/template.yaml`, `GovernanceWebhookFunction` event).
pub const ROUTE_PATH: &str = "/webhooks/governance";
const ROUTE_KEY: &str = "POST /webhooks/governance";
/// API Gateway's payload limit: larger requests never reach the function.
pub const API_GATEWAY_MAX_PAYLOAD: usize = 10 * 1024 * 1024;
/// The function's timeout in the template.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);
const FUNCTION_NAME: &str = "govsync-governance-webhook";
/// The port when `--port` is not given.
pub const DEFAULT_PORT: u16 = 4580;

const USAGE: &str = "usage: govsync-local-runner serve-webhook [--port N] [--stack-env FILE]";

/// The subcommand's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// 0 = any free port (read it from the ready line).
    pub port: u16,
    pub stack_env: Option<PathBuf>,
}

/// Parses the options after `serve-webhook`.
pub fn parse_args(args: &[String]) -> Result<ServeOptions, String> {
    let mut options = ServeOptions {
        port: DEFAULT_PORT,
        stack_env: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or(format!("{name} needs a value"))
        };
        match name {
            "--port" => {
                let text = value()?;
                options.port = text
                    .parse()
                    .map_err(|_| format!("--port: {text:?} is not a port number"))?;
            }
            "--stack-env" => options.stack_env = Some(PathBuf::from(value()?)),
            other => return Err(format!("{COMMAND}: unknown option {other}")),
        }
    }
    Ok(options)
}

/// The variables to set for the governance-webhook function, given the stack's variables; `current` says
/// what the process environment already has (those are left alone).
pub fn webhook_env(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, RunnerError> {
    let lookup = |name: &str| current(name).or_else(|| stack.get(name).cloned());
    let moto_url = lookup("GOVSYNC_MOTO_URL").ok_or_else(|| RunnerError::Setting {
        name: "GOVSYNC_MOTO_URL".into(),
        problem: "not set and not in the local stack's stack.env; start the stack with `local/stack.sh up`".into(),
    })?;
    let account =
        lookup("GOVSYNC_ACCOUNT_ID").unwrap_or_else(|| local_env::DEFAULT_ACCOUNT_ID.to_owned());
    let region = lookup("AWS_REGION")
        .or_else(|| lookup("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| local_env::DEFAULT_REGION.to_owned());
    let region_for_map = region.clone();
    let mut defaults: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", moto_url.clone()),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME.to_owned()),
        (
            "GOVSYNC_WEBHOOK_SECRETS_SECRET",
            "govsync/webhook-signing-secrets".to_owned(),
        ),
        (
            "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
            format!(
                "{}/{account}/governance-events.fifo",
                moto_url.trim_end_matches('/')
            ),
        ),
        (
            "GOVSYNC_IDEMPOTENCY_TABLE",
            "govsync-idempotency".to_owned(),
        ),
        ("GOVSYNC_METRICS_NAMESPACE", "govsync".to_owned()),
        // model-link, served beside the webhook on the same API.
        ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
        (
            "GOVSYNC_MODEL_LINK_KEYS_SECRET",
            local_env::MODEL_LINK_KEYS_SECRET.to_owned(),
        ),
        (
            "GOVSYNC_REGISTRY_MAP",
            local_env::local_registry_map(
                &account,
                &region_for_map,
                &lookup("GOVSYNC_LOCAL_BUSINESS_ENTITY")
                    .unwrap_or_else(|| local_env::LOCAL_BUSINESS_ENTITY.to_owned()),
            ),
        ),
    ];
    if let Some(registry_url) = lookup("GOVSYNC_REGISTRY_URL") {
        defaults.push(("AWS_ENDPOINT_URL_SAGEMAKER", registry_url));
    }
    let mut to_set: Vec<(String, String)> = Vec::new();
    for (name, value) in stack {
        if current(name).is_none() {
            to_set.push((name.clone(), value.clone()));
        }
    }
    for (name, value) in defaults {
        if current(name).is_none() && !to_set.iter().any(|(set, _)| set == name) {
            to_set.push((name.to_owned(), value));
        }
    }
    Ok(to_set)
}

/// Whether API Gateway passes a body of this content type as text (else base64).
fn is_textual(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
        )
}

/// What the translation needs to know about one HTTP request.
#[derive(Debug, Clone)]
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    pub host: String,
    pub request_id: String,
    pub received_at: DateTime<Utc>,
}

/// The API Gateway v2 event of a request, as the HTTP API builds it for a Lambda proxy integration.
pub fn to_api_gateway_event(incoming: &IncomingRequest<'_>) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in incoming.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name.as_str() == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        // `HeaderName`s are already lowercase; repeated headers are joined with a comma.
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let content_type = headers.get("content-type").map(String::as_str);
    let (body, is_base64) = match std::str::from_utf8(incoming.body) {
        _ if incoming.body.is_empty() => (None, false),
        Ok(text) if is_textual(content_type) => (Some(text.to_owned()), false),
        _ => (Some(BASE64.encode(incoming.body)), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": incoming.path,
        "rawQueryString": incoming.query.unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": std::env::var("GOVSYNC_ACCOUNT_ID").unwrap_or_else(|_| local_env::DEFAULT_ACCOUNT_ID.to_owned()),
            "apiId": "local",
            "domainName": incoming.host,
            "domainPrefix": "local",
            "http": {
                "method": incoming.method,
                "path": incoming.path,
                "protocol": "HTTP/1.1",
                "sourceIp": incoming.source_ip,
                "userAgent": user_agent,
            },
            "requestId": incoming.request_id,
            "routeKey": ROUTE_KEY,
            "stage": "$default",
            "time": incoming.received_at.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": incoming.received_at.timestamp_millis(),
        },
        "isBase64Encoded": is_base64,
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    event
}

/// The HTTP response of the function's answer.
pub fn to_http_response(answer: ApiGatewayV2httpResponse) -> Response {
    let status = u16::try_from(answer.status_code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let bytes: Vec<u8> = match answer.body {
        None => Vec::new(),
        Some(LambdaBody::Empty) => Vec::new(),
        Some(LambdaBody::Text(text)) if answer.is_base64_encoded => {
            BASE64.decode(text.as_bytes()).unwrap_or_default()
        }
        Some(LambdaBody::Text(text)) => text.into_bytes(),
        Some(LambdaBody::Binary(bytes)) => bytes,
        Some(_) => Vec::new(),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in answer.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn gateway_answer(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

type Invoke = Arc<
    dyn Fn(
            lambda_runtime::LambdaEvent<ApiGatewayV2httpRequest>,
        )
            -> std::pin::Pin<Box<dyn Future<Output = ApiGatewayV2httpResponse> + Send + 'static>>
        + Send
        + Sync,
>;

#[derive(Clone)]
struct Gateway {
    invoke: Invoke,
    /// model-link, on `GET /models/link`.
    model_link: Option<Invoke>,
    host: String,
}

/// The model-link route of the deployed HTTP API (`ModelLinkFunction` event).
pub const MODEL_LINK_PATH: &str = "/models/link";
const MODEL_LINK_ROUTE_KEY: &str = "GET /models/link";
const MODEL_LINK_FUNCTION_NAME: &str = "govsync-model-link";

/// The HTTP front of a handler: routing, translation both ways, API Gateway's own answers.
pub fn router<F, Fut>(invoke: F, host: String) -> Router
where
    F: Fn(lambda_runtime::LambdaEvent<ApiGatewayV2httpRequest>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiGatewayV2httpResponse> + Send + 'static,
{
    let invoke: Invoke = Arc::new(move |event| Box::pin(invoke(event)));
    Router::new()
        .fallback(gateway)
        .layer(DefaultBodyLimit::disable())
        .with_state(Gateway {
            invoke,
            model_link: None,
            host,
        })
}

/// [`router`] with model-link on `GET /models/link` as well.
pub fn router_with_model_link<F, Fut, G, Gut>(invoke: F, model_link: G, host: String) -> Router
where
    F: Fn(lambda_runtime::LambdaEvent<ApiGatewayV2httpRequest>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiGatewayV2httpResponse> + Send + 'static,
    G: Fn(lambda_runtime::LambdaEvent<ApiGatewayV2httpRequest>) -> Gut + Send + Sync + 'static,
    Gut: Future<Output = ApiGatewayV2httpResponse> + Send + 'static,
{
    let invoke: Invoke = Arc::new(move |event| Box::pin(invoke(event)));
    let model_link: Invoke = Arc::new(move |event| Box::pin(model_link(event)));
    Router::new()
        .fallback(gateway)
        .layer(DefaultBodyLimit::disable())
        .with_state(Gateway {
            invoke,
            model_link: Some(model_link),
            host,
        })
}

async fn gateway(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let webhook = parts.method == axum::http::Method::POST && parts.uri.path() == ROUTE_PATH;
    let link = parts.method == axum::http::Method::GET && parts.uri.path() == MODEL_LINK_PATH;
    let (invoke, route_key, function_name) = match (&gateway.model_link, webhook, link) {
        (_, true, _) => (gateway.invoke.clone(), ROUTE_KEY, FUNCTION_NAME),
        (Some(model_link), _, true) => (
            model_link.clone(),
            MODEL_LINK_ROUTE_KEY,
            MODEL_LINK_FUNCTION_NAME,
        ),
        _ => return gateway_answer(StatusCode::NOT_FOUND, "Not Found"),
    };
    let bytes: Bytes = match axum::body::to_bytes(body, API_GATEWAY_MAX_PAYLOAD).await {
        Ok(bytes) => bytes,
        Err(_) => return gateway_answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let request_id = uuid::Uuid::new_v4().to_string();
    let received_at = Utc::now();
    let mut event = to_api_gateway_event(&IncomingRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &bytes,
        source_ip,
        host: gateway.host.clone(),
        request_id: request_id.clone(),
        received_at,
    });
    event["routeKey"] = json!(route_key);
    event["requestContext"]["routeKey"] = json!(route_key);
    let payload: ApiGatewayV2httpRequest = match serde_json::from_value(event) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::error!(%error, "cannot build the API Gateway event");
            return gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let mut context = lambda_runtime::Context::default();
    context.request_id = request_id;
    context.deadline = u64::try_from(
        received_at.timestamp_millis()
            + i64::try_from(FUNCTION_TIMEOUT.as_millis()).unwrap_or(10_000),
    )
    .unwrap_or_default();
    context.invoked_function_arn = format!(
        "arn:aws:lambda:{}:{}:function:{function_name}",
        std::env::var("AWS_REGION").unwrap_or_else(|_| local_env::DEFAULT_REGION.to_owned()),
        std::env::var("GOVSYNC_ACCOUNT_ID")
            .unwrap_or_else(|_| local_env::DEFAULT_ACCOUNT_ID.to_owned()),
    );
    let invocation = invoke(lambda_runtime::LambdaEvent::new(payload, context));
    match tokio::time::timeout(FUNCTION_TIMEOUT, invocation).await {
        Ok(answer) => to_http_response(answer),
        // API Gateway answers 503 when the integration times out.
        Err(_) => gateway_answer(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
    }
}

/// Serves `router` on `listener` until SIGINT/SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal())
    .await
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn set_environment(stack_env: Option<&Path>) -> Result<(), RunnerError> {
    let path = match stack_env {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let state_dir = std::env::var_os("GOVSYNC_STATE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".local/stack"));
            let path = state_dir.join("stack.env");
            path.exists().then_some(path)
        }
    };
    let stack = match path {
        Some(path) => local_env::read_stack_env(&path)?,
        None => BTreeMap::new(),
    };
    for (name, value) in webhook_env(&stack, |name| std::env::var(name).ok())? {
        // SAFETY: called from `main` before the async runtime or any other thread exists.
        unsafe { std::env::set_var(name, value) };
    }
    Ok(())
}

/// The subcommand: `args` are the options after `serve-webhook`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse_args(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("govsync-local-runner: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let Err(error) = set_environment(options.stack_env.as_deref()) {
        eprintln!("govsync-local-runner: {error}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("govsync-local-runner: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        match run(options.port).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("govsync-local-runner: {error}");
                ExitCode::from(1)
            }
        }
    })
}

async fn run(port: u16) -> Result<(), RunnerError> {
    let function = govsync_governance_webhook::Function::from_env()
        .await
        .map_err(|error| RunnerError::Setting {
            name: "governance-webhook configuration".into(),
            problem: error.to_string(),
        })?;
    let function = Arc::new(function);
    let model_link = govsync_model_link::Function::from_env()
        .await
        .map_err(|error| RunnerError::Setting {
            name: "model-link configuration".into(),
            problem: error.to_string(),
        })?;
    let model_link = Arc::new(model_link);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|error| RunnerError::Setting {
            name: "--port".into(),
            problem: format!("cannot listen on 127.0.0.1:{port}: {error}"),
        })?;
    let address = listener
        .local_addr()
        .map_err(|error| RunnerError::Setting {
            name: "--port".into(),
            problem: error.to_string(),
        })?;
    let router = router_with_model_link(
        move |event| {
            let function = function.clone();
            async move {
                match function.handle(event).await {
                    Ok(answer) => answer,
                    // The handler answers every problem itself; a runtime error is API Gateway's 502.
                    Err(error) => {
                        tracing::error!(%error, "governance-webhook failed");
                        let mut answer = ApiGatewayV2httpResponse::default();
                        answer.status_code = 502;
                        answer.body = Some(LambdaBody::Text(
                            json!({"message": "Internal Server Error"}).to_string(),
                        ));
                        answer
                    }
                }
            }
        },
        move |event: lambda_runtime::LambdaEvent<ApiGatewayV2httpRequest>| {
            let model_link = model_link.clone();
            async move { model_link.handle(event.payload).await }
        },
        address.to_string(),
    );
    tracing::info!(
        "model-link served on http://{address}{MODEL_LINK_PATH} (the Models' govsync links)"
    );
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "govsync-local-runner ready: governance-webhook listening on http://{address}{ROUTE_PATH}"
        )
        .and_then(|()| stdout.flush());
    }
    serve(listener, router)
        .await
        .map_err(|error| RunnerError::Setting {
            name: "serve-webhook".into(),
            problem: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_are_parsed_and_unknown_ones_refused() {
        assert_eq!(
            parse_args(&args("--port 0 --stack-env /tmp/s.env")),
            Ok(ServeOptions {
                port: 0,
                stack_env: Some(PathBuf::from("/tmp/s.env"))
            })
        );
        assert_eq!(parse_args(&[]).map(|o| o.port), Ok(DEFAULT_PORT));
        assert_eq!(parse_args(&args("--port=4711")).map(|o| o.port), Ok(4711));
        assert!(parse_args(&args("--port seventy")).is_err());
        assert!(parse_args(&args("--queue q.fifo")).is_err());
        assert!(parse_args(&args("--port")).is_err());
    }

    fn incoming<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> IncomingRequest<'a> {
        IncomingRequest {
            method: "POST",
            path: ROUTE_PATH,
            query: Some("a=1"),
            headers,
            body,
            source_ip: "127.0.0.1".into(),
            host: "127.0.0.1:4580".into(),
            request_id: "req-1".into(),
            received_at: DateTime::from_timestamp(1_764_212_400, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn a_json_request_becomes_the_event_api_gateway_would_send() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        headers.insert("cookie", HeaderValue::from_static("a=1; b=2"));
        let event = to_api_gateway_event(&incoming(&headers, br#"{"type":"x"}"#));
        assert_eq!(event["rawPath"], ROUTE_PATH);
        assert_eq!(event["rawQueryString"], "a=1");
        assert_eq!(event["headers"]["webhook-id"], "msg_1");
        assert_eq!(event["headers"]["x-multi"], "a,b");
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(event["body"], r#"{"type":"x"}"#);
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["requestContext"]["requestId"], "req-1");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(
            event["requestContext"]["time"],
            "27/Nov/2025:03:00:00 +0000"
        );
        assert_eq!(event["requestContext"]["timeEpoch"], 1_764_212_400_000_i64);
        let decoded: Result<ApiGatewayV2httpRequest, _> = serde_json::from_value(event);
        let Ok(decoded) = decoded else {
            panic!("the event decodes as aws_lambda_events would")
        };
        assert_eq!(
            decoded
                .headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok()),
            Some("msg_1")
        );
    }

    #[test]
    fn a_binary_body_is_base64_encoded_and_an_empty_one_left_out() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        let event = to_api_gateway_event(&incoming(&headers, &[0xff, 0x00, 0x01]));
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "/wAB");
        let event = to_api_gateway_event(&incoming(&HeaderMap::new(), b""));
        assert!(event.get("body").is_none());
        // Text without a content type is binary to API Gateway too.
        let event = to_api_gateway_event(&incoming(&HeaderMap::new(), b"{}"));
        assert_eq!(event["isBase64Encoded"], true);
    }

    #[test]
    fn the_answer_goes_back_with_its_status_headers_and_body() {
        let mut answer = ApiGatewayV2httpResponse::default();
        answer.status_code = 401;
        answer.headers.insert(
            "content-type",
            aws_lambda_events::http::HeaderValue::from_static("application/json"),
        );
        answer.body = Some(LambdaBody::Text(r#"{"error":"x"}"#.into()));
        let response = to_http_response(answer);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
    }

    #[test]
    fn the_function_env_points_at_moto_and_the_template_resources() {
        let stack = BTreeMap::from([
            (
                "GOVSYNC_MOTO_URL".to_owned(),
                "http://127.0.0.1:4566".to_owned(),
            ),
            ("GOVSYNC_ACCOUNT_ID".to_owned(), "123456789012".to_owned()),
        ]);
        let Ok(vars) = webhook_env(&stack, |_| None) else {
            panic!("a stack gives an environment")
        };
        let value = |name: &str| {
            vars.iter()
                .find(|(set, _)| set == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            value("GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL").as_deref(),
            Some("http://127.0.0.1:4566/123456789012/governance-events.fifo")
        );
        assert_eq!(
            value("GOVSYNC_WEBHOOK_SECRETS_SECRET").as_deref(),
            Some("govsync/webhook-signing-secrets")
        );
        let Ok(vars) = webhook_env(&stack, |name| {
            (name == "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL").then(|| "x".to_owned())
        }) else {
            panic!("a stack gives an environment")
        };
        assert!(
            !vars
                .iter()
                .any(|(name, _)| name == "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL")
        );
        assert!(webhook_env(&BTreeMap::new(), |_| None).is_err());
    }
}
