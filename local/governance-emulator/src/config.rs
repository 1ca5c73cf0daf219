//! Command-line flags and environment for the emulator.

use std::net::IpAddr;
use std::time::Duration;

use govsync_core::webhook::{WebhookSecret, WebhookSecretError};

pub const PORT_ENV: &str = "GOVERNANCE_EMULATOR_PORT";

/// Where the governance console runs; it decides the one API prefix served.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeploymentMode {
    /// watsonx.governance SaaS: `/opgrc/api/v2`.
    #[default]
    Saas,
    /// An on-premises console: `/opgrc/api/v2`.
    OnPremises,
    /// Cloud Pak for Data: `/openpages-<instance>-opgrc/api/v2` (IBM's client `_get_api_path`).
    Cp4d { instance: String },
}

impl DeploymentMode {
    pub fn api_prefix(&self) -> String {
        match self {
            Self::Saas | Self::OnPremises => crate::http::API_PREFIX.to_owned(),
            Self::Cp4d { instance } => format!("/openpages-{instance}-opgrc/api/v2"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown flag `{0}` (see --help)")]
    UnknownFlag(String),
    #[error("flag `{0}` needs a value")]
    MissingValue(&'static str),
    #[error("`{flag}` is not valid: {reason}")]
    InvalidValue { flag: &'static str, reason: String },
    #[error("webhook secret is not usable: {0}")]
    WebhookSecret(#[from] WebhookSecretError),
}

/// Everything the emulator needs to start. `Debug` never prints the api key or password.
#[derive(Clone)]
pub struct EmulatorConfig {
    pub host: IpAddr,
    pub port: u16,
    pub api_key: String,
    pub basic_user: String,
    pub basic_password: String,
    pub token_ttl: Duration,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<WebhookSecret>,
    /// Waits between webhook delivery attempts; its length is the number of retries.
    pub webhook_retry_delays: Vec<Duration>,
    pub webhook_attempt_timeout: Duration,
    pub deployment: DeploymentMode,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("api_key", &"***")
            .field("basic_user", &self.basic_user)
            .field("basic_password", &"***")
            .field("token_ttl", &self.token_ttl)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &self.webhook_secret)
            .field("webhook_retry_delays", &self.webhook_retry_delays)
            .field("deployment", &self.deployment)
            .finish()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            api_key: "local-api-key".to_owned(),
            basic_user: "admin".to_owned(),
            basic_password: "admin".to_owned(),
            token_ttl: Duration::from_secs(3600),
            webhook_url: None,
            webhook_secret: None,
            webhook_retry_delays: vec![
                Duration::from_millis(200),
                Duration::from_millis(800),
                Duration::from_millis(2000),
            ],
            webhook_attempt_timeout: Duration::from_secs(5),
            deployment: DeploymentMode::default(),
        }
    }
}

pub const USAGE: &str = "\
govsync-governance-emulator: the OpenPages REST API v2 subset govsync speaks, in memory.

Flags (--flag value or --flag=value):
  --host <ip>               address to bind (default 127.0.0.1)
  --port <port>             port to bind (default $GOVERNANCE_EMULATOR_PORT, else 0 = any free port)
  --api-key <key>           accepted API key for the mcsp, iam and cp4d token endpoints (default local-api-key)
  --basic-user <user>       user for basic auth and cp4d (default admin)
  --basic-password <pw>     password for basic auth (default admin)
  --token-ttl-secs <n>      lifetime of issued tokens (default 3600)
  --webhook-url <url>       where to POST signed change notifications (optional)
  --webhook-secret <s>      signing secret: whsec_<base64> or raw text (optional)
  --deployment-mode <m>     saas (default), onprem or cp4d: the one API prefix served
  --cp4d-instance <name>    cp4d mode: the OpenPages instance (/openpages-<name>-opgrc/api/v2)
  --help                    this text
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<EmulatorConfig>),
    Help,
}

impl EmulatorConfig {
    /// Parses flags (without the program name); `env` looks up environment variables.
    pub fn from_args<I, F>(args: I, env: F) -> Result<Command, ConfigError>
    where
        I: IntoIterator<Item = String>,
        F: Fn(&str) -> Option<String>,
    {
        let mut config = Self::default();
        if let Some(port) = env(PORT_ENV).filter(|p| !p.trim().is_empty()) {
            config.port = parse_port(&port, "GOVERNANCE_EMULATOR_PORT")?;
        }
        let mut webhook_secret: Option<String> = None;
        let mut mode: Option<String> = None;
        let mut cp4d_instance: Option<String> = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            if flag == "--help" || flag == "-h" {
                return Ok(Command::Help);
            }
            let name: &'static str = match flag.as_str() {
                "--host" => "--host",
                "--port" => "--port",
                "--api-key" => "--api-key",
                "--basic-user" => "--basic-user",
                "--basic-password" => "--basic-password",
                "--token-ttl-secs" => "--token-ttl-secs",
                "--webhook-url" => "--webhook-url",
                "--webhook-secret" => "--webhook-secret",
                "--deployment-mode" => "--deployment-mode",
                "--cp4d-instance" => "--cp4d-instance",
                _ => return Err(ConfigError::UnknownFlag(arg)),
            };
            let value = match inline {
                Some(value) => value,
                None => args.next().ok_or(ConfigError::MissingValue(name))?,
            };
            match name {
                "--host" => {
                    config.host = value.parse().map_err(|_| ConfigError::InvalidValue {
                        flag: name,
                        reason: format!("`{value}` is not an IP address"),
                    })?;
                }
                "--port" => config.port = parse_port(&value, name)?,
                "--api-key" => config.api_key = non_empty(value, name)?,
                "--basic-user" => config.basic_user = non_empty(value, name)?,
                "--basic-password" => config.basic_password = non_empty(value, name)?,
                "--token-ttl-secs" => {
                    let secs: u64 = value.parse().map_err(|_| ConfigError::InvalidValue {
                        flag: name,
                        reason: format!("`{value}` is not a whole number of seconds"),
                    })?;
                    if secs == 0 {
                        return Err(ConfigError::InvalidValue {
                            flag: name,
                            reason: "must be at least 1".to_owned(),
                        });
                    }
                    config.token_ttl = Duration::from_secs(secs);
                }
                "--webhook-url" => config.webhook_url = Some(parse_url(value, name)?),
                "--deployment-mode" => mode = Some(value),
                "--cp4d-instance" => cp4d_instance = Some(value),
                _ => webhook_secret = Some(value),
            }
        }
        config.deployment = match (mode.as_deref(), cp4d_instance) {
            (None | Some("saas"), None) => DeploymentMode::Saas,
            (Some("onprem"), None) => DeploymentMode::OnPremises,
            (Some("cp4d"), Some(instance))
                if !instance.is_empty()
                    && instance
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                DeploymentMode::Cp4d { instance }
            }
            (Some("cp4d"), _) => {
                return Err(ConfigError::InvalidValue {
                    flag: "--cp4d-instance",
                    reason: "cp4d mode needs an instance name (letters, digits, '-', '_')"
                        .to_owned(),
                });
            }
            (_, Some(_)) => {
                return Err(ConfigError::InvalidValue {
                    flag: "--cp4d-instance",
                    reason: "only with --deployment-mode cp4d".to_owned(),
                });
            }
            (Some(other), None) => {
                return Err(ConfigError::InvalidValue {
                    flag: "--deployment-mode",
                    reason: format!("`{other}` is not saas, onprem or cp4d"),
                });
            }
        };
        if let Some(secret) = webhook_secret {
            config.webhook_secret = Some(WebhookSecret::parse(&secret)?);
        }
        Ok(Command::Run(Box::new(config)))
    }
}

fn parse_port(value: &str, flag: &'static str) -> Result<u16, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::InvalidValue {
        flag,
        reason: format!("`{value}` is not a port number"),
    })
}

fn non_empty(value: String, flag: &'static str) -> Result<String, ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::InvalidValue {
            flag,
            reason: "must not be empty".to_owned(),
        });
    }
    Ok(value)
}

/// Webhook targets must be http(s) URLs.
pub fn parse_url(value: String, flag: &'static str) -> Result<String, ConfigError> {
    match reqwest::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(value),
        _ => Err(ConfigError::InvalidValue {
            flag,
            reason: format!("`{value}` is not an http(s) URL"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], port_env: Option<&str>) -> Result<Command, ConfigError> {
        let env_port = port_env.map(str::to_owned);
        EmulatorConfig::from_args(args.iter().map(|s| s.to_string()), move |name| {
            (name == PORT_ENV).then(|| env_port.clone()).flatten()
        })
    }

    fn run_config(args: &[&str], port_env: Option<&str>) -> EmulatorConfig {
        match parse(args, port_env) {
            Ok(Command::Run(config)) => *config,
            other => panic!("expected a run config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = run_config(&[], None);
        assert_eq!(config.host.to_string(), "127.0.0.1");
        assert_eq!(config.port, 0);
        assert_eq!(config.api_key, "local-api-key");
        assert_eq!(config.basic_user, "admin");
        assert_eq!(config.token_ttl, Duration::from_secs(3600));
        assert!(config.webhook_url.is_none());
    }

    #[test]
    fn flags_override_env_and_both_flag_forms_work() {
        let config = run_config(
            &[
                "--port=9001",
                "--api-key",
                "k",
                "--webhook-url",
                "http://127.0.0.1:1/hook",
                "--webhook-secret",
                "whsec_aGVsbG8=",
            ],
            Some("9000"),
        );
        assert_eq!(config.port, 9001);
        assert_eq!(config.api_key, "k");
        assert_eq!(
            config.webhook_url.as_deref(),
            Some("http://127.0.0.1:1/hook")
        );
        assert!(config.webhook_secret.is_some());
        assert_eq!(run_config(&[], Some("9000")).port, 9000);
    }

    #[test]
    fn bad_flags_are_reported_not_defaulted() {
        assert!(matches!(
            parse(&["--nope"], None),
            Err(ConfigError::UnknownFlag(_))
        ));
        assert!(matches!(
            parse(&["--port"], None),
            Err(ConfigError::MissingValue("--port"))
        ));
        assert!(matches!(
            parse(&["--port", "x"], None),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&[], Some("x")),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["--webhook-url", "ftp://x"], None),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["--webhook-secret", "whsec_%%"], None),
            Err(ConfigError::WebhookSecret(_))
        ));
        assert!(matches!(parse(&["--help"], None), Ok(Command::Help)));
    }

    #[test]
    fn the_deployment_mode_decides_the_one_api_prefix() {
        assert_eq!(
            run_config(&[], None).deployment.api_prefix(),
            "/opgrc/api/v2"
        );
        assert_eq!(
            run_config(&["--deployment-mode", "onprem"], None)
                .deployment
                .api_prefix(),
            "/opgrc/api/v2"
        );
        assert_eq!(
            run_config(&["--deployment-mode=cp4d", "--cp4d-instance", "grc1"], None)
                .deployment
                .api_prefix(),
            "/openpages-grc1-opgrc/api/v2"
        );
        for bad in [
            &["--deployment-mode", "cp4d"][..],
            &["--cp4d-instance", "grc1"],
            &["--deployment-mode", "cloud"],
            &["--deployment-mode", "cp4d", "--cp4d-instance", "a/b"],
        ] {
            assert!(
                matches!(parse(bad, None), Err(ConfigError::InvalidValue { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_hides_credentials() {
        let config = run_config(&["--api-key", "sekrit", "--basic-password", "pw123"], None);
        let text = format!("{config:?}");
        assert!(!text.contains("sekrit") && !text.contains("pw123"));
    }
}
