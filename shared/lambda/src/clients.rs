//! Clients built once at cold start from the configuration: the governance client (API key from
//! Secrets Manager, read again when governance refuses it; the auth mode's token source) and one
//! SageMaker client per registry of the map, through that registry's role.

use std::sync::Arc;

use aws_config::SdkConfig;
use govsync_adapters::aws::{RegistryTarget, sagemaker_client, secretsmanager_client};
use govsync_adapters::ecr::EcrImageRegistry;
use govsync_adapters::governance::{
    ApiKeySource, GovernanceAuth, GovernanceClient, GovernanceConfig,
};
use govsync_adapters::s3::S3ObjectStore;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::secrets::{SecretsManagerKey, read_secret};
use govsync_core::Registry;
use govsync_core::secret::Secret;

use crate::config::{self, AuthSettings, Config, ConfigError};

/// The governance client of a configuration. The key is read now (a missing secret stops the cold
/// start) and re-read from the same secret when governance refuses it, so a rotation needs no restart.
pub async fn governance_client(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<GovernanceClient, ConfigError> {
    let secrets = secretsmanager_client(sdk);
    let api_key = read_secret(&secrets, &config.api_key_secret_id).await?;
    let source = SecretsManagerKey::new(secrets, config.api_key_secret_id.clone());
    governance_client_with_key_source(
        &config.governance_url,
        &config.governance_api_prefix,
        &config.auth,
        api_key,
        Some(Arc::new(source)),
    )
}

/// [`governance_client`] with the API key already read, and never re-read.
pub fn governance_client_with_key(
    governance_url: &str,
    api_prefix: &str,
    auth: &AuthSettings,
    api_key: Secret,
) -> Result<GovernanceClient, ConfigError> {
    governance_client_with_key_source(governance_url, api_prefix, auth, api_key, None)
}

/// The governance client with `api_key` read already; `key_source` is where a refused key is re-read.
pub fn governance_client_with_key_source(
    governance_url: &str,
    api_prefix: &str,
    auth: &AuthSettings,
    api_key: Secret,
    key_source: Option<Arc<dyn ApiKeySource>>,
) -> Result<GovernanceClient, ConfigError> {
    let auth = match auth {
        AuthSettings::Mcsp { token_url } => GovernanceAuth::Mcsp {
            token_url: token_url.clone(),
            api_key,
        },
        AuthSettings::Iam { token_url } => match token_url {
            Some(token_url) => GovernanceAuth::Iam {
                token_url: token_url.clone(),
                api_key,
            },
            None => GovernanceAuth::iam(api_key),
        },
        AuthSettings::Cp4d {
            token_url,
            username,
        } => match token_url {
            Some(token_url) => GovernanceAuth::Cp4d {
                token_url: token_url.clone(),
                username: username.clone(),
                api_key,
            },
            None => GovernanceAuth::cp4d(governance_url, username.clone(), api_key),
        },
        AuthSettings::Basic { username } => GovernanceAuth::Basic {
            username: username.clone(),
            password: api_key,
        },
    };
    let mut governance = GovernanceConfig::new(governance_url.to_owned(), auth);
    governance.api_prefix = api_prefix.to_owned();
    governance.key_source = key_source;
    Ok(GovernanceClient::new(governance)?)
}

/// The S3 and ECR readers of each registry's artifacts, through its role when it has one.
pub async fn artifact_clients(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<Vec<(Registry, S3ObjectStore, EcrImageRegistry)>, ConfigError> {
    let mut readers = Vec::with_capacity(config.registries.len());
    for registry in config.registries.registries() {
        let role = config::registry_role(registry, config.spoke_role_name.as_deref())?;
        let target = RegistryTarget {
            account_id: registry.account.to_string(),
            region: registry.region.to_string(),
            role_arn: role.map(|role| role.to_string()),
            external_id: config.spoke_external_id.clone(),
        };
        let (s3, ecr) = govsync_adapters::aws::artifact_clients(sdk, &target).await;
        readers.push((
            registry.clone(),
            S3ObjectStore::new(s3),
            EcrImageRegistry::new(ecr),
        ));
    }
    Ok(readers)
}

/// One SageMaker client per registry of the map, through its role when it has one.
pub async fn registry_clients(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<Vec<(Registry, Arc<SageMakerRegistry>)>, ConfigError> {
    let mut registry_clients = Vec::with_capacity(config.registries.len());
    for registry in config.registries.registries() {
        let role = config::registry_role(registry, config.spoke_role_name.as_deref())?;
        let target = RegistryTarget {
            account_id: registry.account.to_string(),
            region: registry.region.to_string(),
            role_arn: role.map(|role| role.to_string()),
            external_id: config.spoke_external_id.clone(),
        };
        let client = sagemaker_client(sdk, &target).await;
        registry_clients.push((registry.clone(), Arc::new(SageMakerRegistry::new(client))));
    }
    Ok(registry_clients)
}
