//! One request to `GET /models/link`: verify the link (core's `model_link`, nothing unverified goes
//! further), find its registry in the map (a package of an account or region this deployment does not
//! govern is refused even with a valid signature), find the governance Model that links to the package
//! (links table; a package no Model links to any more opens nothing), then answer:
//! - a registry with Studio settings: `302` to a fresh `CreatePresignedDomainUrl` URL, landing on the
//!   package version, made through the registry's role;
//! - a registry without: a page with the console link and a note saying why it is not a sign-in.
//!
//! Every answer is `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (a presigned URL is a
//! credential for its short life). Every request is logged with who opened it as API Gateway saw them
//! (source IP, user agent, and the authorizer's principal when the route has one), the Model, the
//! registry and the outcome, and counted.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderValue;
use aws_lambda_events::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use chrono::{DateTime, Utc};
use govsync_core::GovernanceId;
use govsync_core::model_link::{self, LinkKeys, LinkRefusal, studio_landing_uri};
use govsync_core::model_package::ModelPackageArn;
use govsync_core::ports::registry::PresignedUrlRequest;
use govsync_core::ports::{LinkKind, LinkStore, RegistryError, StudioSignIn};
use govsync_core::registry_map::{Registry, RegistryMap};
use govsync_core::sync::registry::console_url;

use crate::page;

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Redirected to a fresh presigned Studio URL.
    Redirected {
        package: ModelPackageArn,
        model: GovernanceId,
        registry: String,
        location: String,
    },
    /// The registry has no Studio settings: the console link, with a note.
    ConsoleLink {
        package: ModelPackageArn,
        model: GovernanceId,
        registry: String,
        url: String,
    },
    /// Refused: the link, or what it names, does not open anything.
    Refused {
        reason: &'static str,
        message: String,
    },
    /// No governance Model links to the package (any more).
    Unlinked {
        package: ModelPackageArn,
        registry: String,
    },
    /// SageMaker or the links table failed; the person can try again.
    Unavailable {
        reason: &'static str,
        message: String,
    },
}

impl Outcome {
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Redirected { .. } => 302,
            Outcome::ConsoleLink { .. } => 200,
            Outcome::Refused { .. } => 403,
            Outcome::Unlinked { .. } => 410,
            Outcome::Unavailable { .. } => 503,
        }
    }

    /// The metric and log code.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Redirected { .. } => "redirected",
            Outcome::ConsoleLink { .. } => "console_link",
            Outcome::Refused { reason, .. } | Outcome::Unavailable { reason, .. } => reason,
            Outcome::Unlinked { .. } => "no_model",
        }
    }

    pub fn registry(&self) -> Option<&str> {
        match self {
            Outcome::Redirected { registry, .. }
            | Outcome::ConsoleLink { registry, .. }
            | Outcome::Unlinked { registry, .. } => Some(registry),
            Outcome::Refused { .. } | Outcome::Unavailable { .. } => None,
        }
    }

    pub fn opened(&self) -> bool {
        matches!(
            self,
            Outcome::Redirected { .. } | Outcome::ConsoleLink { .. }
        )
    }
}

/// Who opened a link, as API Gateway saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The authorizer's principal: a JWT's `email` or `sub`, or the IAM caller's ARN.
    pub principal: Option<String>,
}

impl Requester {
    pub fn of(request: &ApiGatewayV2httpRequest) -> Self {
        let http = &request.request_context.http;
        let authorizer = request.request_context.authorizer.as_ref();
        let jwt = authorizer
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("email").or_else(|| jwt.claims.get("sub")))
            .cloned();
        let iam = authorizer
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone());
        Self {
            source_ip: http.source_ip.clone(),
            user_agent: http.user_agent.clone(),
            principal: jwt.or(iam),
        }
    }
}

/// The link keys, re-readable after a rotation (Secrets Manager in Lambda, fixed in tests).
pub trait KeySource: Send + Sync {
    fn read(&self) -> impl Future<Output = Result<LinkKeys, String>> + Send;
}

/// Keys that never change.
pub struct StaticKeys(pub LinkKeys);

impl KeySource for StaticKeys {
    async fn read(&self) -> Result<LinkKeys, String> {
        Ok(self.0.clone())
    }
}

/// How long keys read at a miss stay before another miss may read them again.
const KEY_REREAD_SECONDS: i64 = 30;

struct KeyCache {
    keys: LinkKeys,
    read_at: DateTime<Utc>,
}

/// The handler on any registry and links store (the function's on SageMaker and DynamoDB).
pub struct Handler<S, L, K> {
    registries: RegistryMap,
    sign_in: HashMap<(String, String), Arc<S>>,
    links: Arc<L>,
    key_source: K,
    keys: tokio::sync::Mutex<KeyCache>,
}

impl<S: StudioSignIn, L: LinkStore, K: KeySource> Handler<S, L, K> {
    pub fn new(
        registries: RegistryMap,
        sign_in: Vec<(Registry, Arc<S>)>,
        links: Arc<L>,
        keys: LinkKeys,
        key_source: K,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            registries,
            sign_in: sign_in
                .into_iter()
                .map(|(registry, client)| {
                    (
                        (registry.account.to_string(), registry.region.to_string()),
                        client,
                    )
                })
                .collect(),
            links,
            key_source,
            keys: tokio::sync::Mutex::new(KeyCache { keys, read_at: now }),
        }
    }

    /// Verifies with the keys held; a link signed by a key not held (or past its time) is checked
    /// once more against keys read again, so a rotation needs no restart.
    async fn verify(
        &self,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<ModelPackageArn, LinkRefusal> {
        let mut cache = self.keys.lock().await;
        match model_link::verify(&cache.keys, query, now) {
            Err(LinkRefusal::UnknownKey | LinkRefusal::ExpiredKey)
                if (now - cache.read_at).num_seconds() >= KEY_REREAD_SECONDS =>
            {
                match self.key_source.read().await {
                    Ok(keys) => {
                        cache.keys = keys;
                        cache.read_at = now;
                    }
                    Err(error) => tracing::warn!(error, "re-reading the model link keys failed"),
                }
                model_link::verify(&cache.keys, query, now)
            }
            verified => verified,
        }
    }

    /// Decides one request.
    pub async fn open(&self, request: &ApiGatewayV2httpRequest, now: DateTime<Utc>) -> Outcome {
        if request.request_context.http.method != aws_lambda_events::http::Method::GET {
            return Outcome::Refused {
                reason: "method",
                message: "only GET opens a model link".to_owned(),
            };
        }
        let query = request.raw_query_string.as_deref().unwrap_or("");
        let package = match self.verify(query, now).await {
            Ok(package) => package,
            Err(refusal) => {
                return Outcome::Refused {
                    reason: refusal.reason(),
                    message: refusal.to_string(),
                };
            }
        };
        let Some(registry) = self.registries.get(package.account(), package.region()) else {
            return Outcome::Refused {
                reason: "foreign_registry",
                message: format!(
                    "account {} in {} is not a registry this deployment governs",
                    package.account(),
                    package.region()
                ),
            };
        };
        let label = format!("{}/{}", registry.account, registry.region);
        let model = match self
            .links
            .link_by_arn(LinkKind::Model, &(&package).into())
            .await
        {
            Ok(Some(link)) => link.governance_id,
            Ok(None) => {
                return Outcome::Unlinked {
                    package,
                    registry: label,
                };
            }
            Err(error) => {
                return Outcome::Unavailable {
                    reason: "links_table",
                    message: error.to_string(),
                };
            }
        };
        let Some(studio) = &registry.studio else {
            let url = console_url(
                package.region(),
                package.group_name(),
                Some(package.version()),
            );
            return Outcome::ConsoleLink {
                package,
                model,
                registry: label,
                url,
            };
        };
        let Some(client) = self
            .sign_in
            .get(&(registry.account.to_string(), registry.region.to_string()))
        else {
            return Outcome::Unavailable {
                reason: "no_client",
                message: format!("no SageMaker client for {label}"),
            };
        };
        let sign_in = PresignedUrlRequest {
            domain_id: studio.domain_id.clone(),
            user_profile: studio.user_profile.clone(),
            space_name: studio.space_name.clone(),
            expires_in_seconds: studio.url_expires_seconds,
            session_seconds: studio.session_seconds,
            landing_uri: studio_landing_uri(&package),
        };
        match client.presigned_url(&sign_in).await {
            Ok(location) => Outcome::Redirected {
                package,
                model,
                registry: label,
                location,
            },
            Err(error @ RegistryError::NotFound { .. }) => Outcome::Unavailable {
                reason: "studio_profile_missing",
                message: error.to_string(),
            },
            Err(error) => Outcome::Unavailable {
                reason: "sagemaker",
                message: error.to_string(),
            },
        }
    }

    /// One request, answered and logged.
    pub async fn handle(
        &self,
        request: &ApiGatewayV2httpRequest,
        now: DateTime<Utc>,
    ) -> (Outcome, ApiGatewayV2httpResponse) {
        let outcome = self.open(request, now).await;
        log(&outcome, &Requester::of(request));
        let response = response(&outcome);
        (outcome, response)
    }
}

fn log(outcome: &Outcome, who: &Requester) {
    let source_ip = who.source_ip.as_deref().unwrap_or("unknown");
    let user_agent = who.user_agent.as_deref().unwrap_or("unknown");
    let principal = who.principal.as_deref().unwrap_or("none");
    match outcome {
        Outcome::Redirected {
            package,
            model,
            registry,
            ..
        }
        | Outcome::ConsoleLink {
            package,
            model,
            registry,
            ..
        } => tracing::info!(
            outcome = outcome.code(),
            package = package.as_str(),
            model = model.as_str(),
            registry,
            source_ip,
            user_agent,
            principal,
            "model link opened"
        ),
        Outcome::Unlinked { package, registry } => tracing::warn!(
            outcome = outcome.code(),
            package = package.as_str(),
            registry,
            source_ip,
            user_agent,
            principal,
            "model link for a package no governance Model links to"
        ),
        Outcome::Refused { reason, message } => tracing::warn!(
            outcome = reason,
            message,
            source_ip,
            user_agent,
            principal,
            "model link refused"
        ),
        Outcome::Unavailable { reason, message } => tracing::error!(
            outcome = reason,
            message,
            source_ip,
            user_agent,
            principal,
            "model link could not be opened"
        ),
    }
}

/// The HTTP answer: the redirect, or a page.
pub fn response(outcome: &Outcome) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(outcome.status());
    let headers = &mut response.headers;
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Outcome::Redirected { location, .. } = outcome
        && let Ok(value) = HeaderValue::from_str(location)
    {
        headers.insert(LOCATION, value);
    }
    response.body = Some(Body::Text(page::render(outcome)));
    response
}
