//! The govsync link written on each governance Model (`govsync_core::model_link`): where the
//! model-link function is served, and the Secrets Manager secret holding the keys that sign it.
//! The functions that write Models name their own variables (so the deployment checks see who reads
//! what); both are set, or neither (then Models carry the plain console link).

use aws_config::SdkConfig;
use govsync_adapters::secrets::read_secret;
use govsync_core::model_link::{LinkKeys, ModelLinks};

use crate::config::ConfigError;

/// Where the links point, and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLinkSettings {
    pub url: String,
    pub keys_secret_id: String,
}

impl ModelLinkSettings {
    /// Both variables or neither; one without the other is a configuration error.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        url_var: &'static str,
        keys_var: &'static str,
    ) -> Result<Option<Self>, ConfigError> {
        let read = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        match (read(url_var), read(keys_var)) {
            (None, None) => Ok(None),
            (Some(url), Some(keys_secret_id)) => Ok(Some(Self {
                url,
                keys_secret_id,
            })),
            (Some(_), None) => Err(ConfigError::Missing {
                name: keys_var,
                meaning: "the Secrets Manager id of the model link keys (set with the link URL)",
            }),
            (None, Some(_)) => Err(ConfigError::Missing {
                name: url_var,
                meaning: "the model-link function's URL (set with the link keys)",
            }),
        }
    }

    /// Reads the keys (at cold start) and checks the URL.
    pub async fn load(&self, sdk: &SdkConfig) -> Result<ModelLinks, ConfigError> {
        let client = govsync_adapters::aws::secretsmanager_client(sdk);
        let secret = read_secret(&client, &self.keys_secret_id).await?;
        let keys = LinkKeys::parse(&secret).map_err(|error| ConfigError::Invalid {
            name: "model link keys secret",
            problem: error.to_string(),
        })?;
        ModelLinks::new(&self.url, keys).map_err(|error| ConfigError::Invalid {
            name: "model link URL",
            problem: error.to_string(),
        })
    }
}

/// The model links of the process environment, or `None` when neither variable is set.
pub async fn from_env(
    sdk: &SdkConfig,
    url_var: &'static str,
    keys_var: &'static str,
) -> Result<Option<ModelLinks>, ConfigError> {
    match ModelLinkSettings::from_lookup(|name| std::env::var(name).ok(), url_var, keys_var)? {
        Some(settings) => settings.load(sdk).await.map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_variables_or_neither() {
        let lookup = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(
            ModelLinkSettings::from_lookup(lookup(&[]), "U", "K").unwrap(),
            None
        );
        assert_eq!(
            ModelLinkSettings::from_lookup(
                lookup(&[("U", "https://x/models/link"), ("K", "s")]),
                "U",
                "K"
            )
            .unwrap(),
            Some(ModelLinkSettings {
                url: "https://x/models/link".into(),
                keys_secret_id: "s".into()
            })
        );
        assert!(ModelLinkSettings::from_lookup(lookup(&[("U", "https://x")]), "U", "K").is_err());
        assert!(ModelLinkSettings::from_lookup(lookup(&[("K", "s")]), "U", "K").is_err());
    }
}
