//! model-link: the stable govsync link on a governance Model, opened (`GET /models/link` on the
//! HTTP API). See [`handler`] for what a request does, `govsync_core::model_link` for the link.
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_REGISTRIES_TABLE` / `GOVSYNC_REGISTRY_MAP` | one | the registries, with their Studio settings |
//! | `GOVSYNC_SPOKE_ROLE_NAME`, `GOVSYNC_SPOKE_EXTERNAL_ID` | no | the registry role, as the other functions assume it |
//! | `GOVSYNC_LINKS_TABLE` | yes | which Model links to a package |
//! | `GOVSYNC_MODEL_LINK_KEYS_SECRET` | yes | the Secrets Manager id of the keys links are signed with |
//! | `GOVSYNC_METRICS_NAMESPACE` | no | CloudWatch embedded-metric namespace |

pub mod handler;
pub mod metrics;
mod page;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::Utc;
use govsync_adapters::aws::{
    RegistryTarget, dynamodb_client, sagemaker_client, secretsmanager_client,
};
use govsync_adapters::dynamodb::DynamoLinkStore;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::secrets::read_secret;
use govsync_core::RegistryMap;
use govsync_core::model_link::LinkKeys;
use govsync_lambda::config::ConfigError;

pub use handler::{Handler, KeySource, Outcome, Requester, StaticKeys};

/// The configuration, read at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub registries: RegistryMap,
    pub spoke_role_name: Option<String>,
    pub spoke_external_id: Option<String>,
    pub links_table: String,
    pub keys_secret_id: String,
    pub metrics_namespace: Option<String>,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str, meaning: &'static str| {
            read(name).ok_or(ConfigError::Missing { name, meaning })
        };
        let registries = RegistryMap::parse(&required(
            "GOVSYNC_REGISTRY_MAP",
            "the registries (or GOVSYNC_REGISTRIES_TABLE)",
        )?)?;
        let spoke_role_name = read("GOVSYNC_SPOKE_ROLE_NAME");
        let spoke_external_id = read("GOVSYNC_SPOKE_EXTERNAL_ID");
        if spoke_role_name.is_some() && spoke_external_id.is_none() {
            return Err(ConfigError::Missing {
                name: "GOVSYNC_SPOKE_EXTERNAL_ID",
                meaning: "the spoke roles' sts:ExternalId",
            });
        }
        Ok(Self {
            registries,
            spoke_role_name,
            spoke_external_id,
            links_table: required("GOVSYNC_LINKS_TABLE", "the DynamoDB links table")?,
            keys_secret_id: required(
                "GOVSYNC_MODEL_LINK_KEYS_SECRET",
                "the Secrets Manager id of the model link keys",
            )?,
            metrics_namespace: read("GOVSYNC_METRICS_NAMESPACE"),
        })
    }
}

/// The link keys from Secrets Manager.
pub struct SecretsManagerKeys {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl KeySource for SecretsManagerKeys {
    async fn read(&self) -> Result<LinkKeys, String> {
        let secret = read_secret(&self.client, &self.secret_id)
            .await
            .map_err(|error| error.to_string())?;
        LinkKeys::parse(&secret).map_err(|error| error.to_string())
    }
}

/// The handler on the real adapters.
pub type LiveHandler = Handler<SageMakerRegistry, DynamoLinkStore, SecretsManagerKeys>;

/// The deployed function.
pub struct Function {
    handler: LiveHandler,
    metrics_namespace: Option<String>,
}

impl Function {
    pub async fn from_env() -> Result<Function, ConfigError> {
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        let lookup = govsync_lambda::config::process_env_with_registries(&sdk).await?;
        Self::new(Config::from_lookup(lookup)?, &sdk).await
    }

    pub async fn new(config: Config, sdk: &SdkConfig) -> Result<Function, ConfigError> {
        let keys_source = SecretsManagerKeys {
            client: secretsmanager_client(sdk),
            secret_id: config.keys_secret_id.clone(),
        };
        let keys = keys_source
            .read()
            .await
            .map_err(|problem| ConfigError::Invalid {
                name: "GOVSYNC_MODEL_LINK_KEYS_SECRET",
                problem,
            })?;
        let mut sign_in = Vec::new();
        for registry in config.registries.registries() {
            let role =
                govsync_lambda::config::registry_role(registry, config.spoke_role_name.as_deref())?;
            let target = RegistryTarget {
                account_id: registry.account.to_string(),
                region: registry.region.to_string(),
                role_arn: role.map(|role| role.to_string()),
                external_id: config.spoke_external_id.clone(),
            };
            let client = sagemaker_client(sdk, &target).await;
            sign_in.push((registry.clone(), Arc::new(SageMakerRegistry::new(client))));
        }
        let links = DynamoLinkStore::new(dynamodb_client(sdk), config.links_table.clone());
        tracing::info!(
            registries = config.registries.len(),
            with_studio = config
                .registries
                .registries()
                .iter()
                .filter(|registry| registry.studio.is_some())
                .count(),
            "model-link ready"
        );
        Ok(Function {
            handler: Handler::new(
                config.registries,
                sign_in,
                Arc::new(links),
                keys,
                keys_source,
                Utc::now(),
            ),
            metrics_namespace: config.metrics_namespace,
        })
    }

    /// One request, as API Gateway's HTTP API (payload 2.0) delivers it.
    pub async fn handle(&self, request: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let now = Utc::now();
        let (outcome, response) = self.handler.handle(&request, now).await;
        if let Some(namespace) = &self.metrics_namespace {
            for line in metrics::lines(namespace, &outcome, now) {
                println!("{line}");
            }
        }
        response
    }
}
