//! The function's configuration, read from the environment exactly as Lambda sets it
//! (infra/DEPLOYMENT.md, "What the functions receive"). Anything that matters has no default:
//! a missing or malformed variable fails the cold start with a message naming it.
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_GOVERNANCE_URL` | yes | governance console (or CP4D) root; the client appends the API prefix |
//! | `GOVSYNC_GOVERNANCE_CP4D_INSTANCE` | cp4d (unless `…_API_PREFIX`) | OpenPages instance name: prefix `/openpages-<instance>-opgrc/api/v2` |
//! | `GOVSYNC_GOVERNANCE_API_PREFIX` | no | the API prefix itself; unset = `/opgrc/api/v2` (SaaS, on-premises) or the CP4D form |
//! | `GOVSYNC_GOVERNANCE_AUTH_MODE` | yes | `mcsp`, `iam`, `cp4d` or `basic` |
//! | `GOVSYNC_GOVERNANCE_TOKEN_URL` | mcsp (unless `GOVSYNC_GOVERNANCE_INSTANCE_ID`); optional for iam/cp4d | token endpoint; empty = the mode's published default |
//! | `GOVSYNC_GOVERNANCE_INSTANCE_ID` | no | mcsp service instance, for the public token URL |
//! | `GOVSYNC_GOVERNANCE_USERNAME` | cp4d, basic | user name |
//! | `GOVSYNC_GOVERNANCE_API_KEY_SECRET` | yes | Secrets Manager id (ARN or name) of the API key (basic: the password) |
//! | `GOVSYNC_REGISTRIES_TABLE` | this or the map | DynamoDB table of the registries, one item each, read at cold start ([`process_env_with_registries`]; `govsync_adapters::registry_map`) |
//! | `GOVSYNC_REGISTRY_MAP` | without the table | `[{"account","region","business_entity","role_arn"?}]` (or `{"registries":[…]}`): small or local setups |
//! | `GOVSYNC_SPOKE_ROLE_NAME` | no | spoke role assumed for each registry (`arn:…:iam::<account>:role/govsync/<name>-<region>`); empty = the function's own credentials |
//! | `GOVSYNC_SPOKE_EXTERNAL_ID` | with a spoke role | `sts:ExternalId` of the spoke roles |
//! | `GOVSYNC_WRITER_ROLE_ARNS` | no | more identities govsync writes to registries as (comma-separated IAM role or STS assumed-role ARNs); the spoke roles are added automatically |
//! | `GOVSYNC_GATE_MODE` | yes | `enforce`, `alert` or `off` |
//! | `GOVSYNC_IDEMPOTENCY_TABLE`, `GOVSYNC_LINKS_TABLE` | yes | DynamoDB table names |
//! | `GOVSYNC_DLQ_URL` | yes | the queue's FIFO DLQ, for quarantined messages |
//! | `GOVSYNC_MAPPING_FILE` | no | a status mapping spec (TOML/JSON) replacing the built-in one |
//! | `GOVSYNC_METRICS_NAMESPACE` | no | CloudWatch embedded-metric namespace; unset = no metric lines |
//!
//! Locally (the stack of `local/stack.sh`), the function's SageMaker calls must be made with the access
//! key `GOVSYNC_ACCESS_KEY_ID` of `stack.env` (`AWS_ACCESS_KEY_ID=$GOVSYNC_ACCESS_KEY_ID`): the registry
//! emulator maps it to `GOVSYNC_ROLE_ARN`, which goes in `GOVSYNC_WRITER_ROLE_ARNS` so the CloudTrail
//! records of govsync's own writes are recognised as echoes. moto accepts any key.

use std::fmt;

use govsync_core::mapping::MappingError;
use govsync_core::registry_map::RegistryMapError;
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities};
use govsync_core::{MappingSpec, RegistryMap, RoleArn};

/// Why the function cannot start. Messages name the variable and never hold a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set: {meaning}")]
    Missing {
        name: &'static str,
        meaning: &'static str,
    },
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error("GOVSYNC_REGISTRY_MAP: {0}")]
    RegistryMap(#[from] RegistryMapError),
    #[error("reading the registries: {0}")]
    Registries(#[from] govsync_adapters::registry_map::RegistryLoadError),
    #[error("status mapping {source_name}: {error}")]
    Mapping {
        source_name: String,
        error: MappingError,
    },
    #[error("reading the status mapping file {path}: {message}")]
    MappingFile { path: String, message: String },
    #[error("reading the governance API key: {0}")]
    Secret(#[from] govsync_adapters::secrets::SecretError),
    #[error("building the governance client: {0}")]
    Governance(#[from] govsync_core::ports::GovernanceError),
}

/// How govsync authenticates to governance; the secret itself is read at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSettings {
    Mcsp {
        token_url: String,
    },
    Iam {
        token_url: Option<String>,
    },
    Cp4d {
        token_url: Option<String>,
        username: String,
    },
    Basic {
        username: String,
    },
}

impl AuthSettings {
    pub fn mode(&self) -> &'static str {
        match self {
            AuthSettings::Mcsp { .. } => "mcsp",
            AuthSettings::Iam { .. } => "iam",
            AuthSettings::Cp4d { .. } => "cp4d",
            AuthSettings::Basic { .. } => "basic",
        }
    }
}

/// The typed configuration.
#[derive(Clone)]
pub struct Config {
    pub governance_url: String,
    /// Where the API sits under `governance_url` ([`api_prefix_from_lookup`]).
    pub governance_api_prefix: String,
    pub auth: AuthSettings,
    pub api_key_secret_id: String,
    pub registries: RegistryMap,
    pub spoke_role_name: Option<String>,
    pub spoke_external_id: Option<String>,
    pub writers: WriterIdentities,
    pub gate: GateMode,
    pub idempotency_table: String,
    pub links_table: String,
    pub dlq_url: String,
    pub mapping: MappingSpec,
    /// Where the mapping came from (`built-in` or the file path), for the start-up log.
    pub mapping_source: String,
    pub console: ConsoleLinks,
    pub metrics_namespace: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("governance_url", &self.governance_url)
            .field("governance_api_prefix", &self.governance_api_prefix)
            .field("auth_mode", &self.auth.mode())
            .field("api_key_secret_id", &self.api_key_secret_id)
            .field("registries", &self.registries.len())
            .field("spoke_role_name", &self.spoke_role_name)
            .field("writers", &self.writers.len())
            .field("gate", &self.gate)
            .field("idempotency_table", &self.idempotency_table)
            .field("links_table", &self.links_table)
            .field("dlq_url", &self.dlq_url)
            .field("mapping_source", &self.mapping_source)
            .field("metrics_namespace", &self.metrics_namespace)
            .finish_non_exhaustive()
    }
}

struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A set, non-blank value.
    fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn required(&self, name: &'static str, meaning: &'static str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or(ConfigError::Missing { name, meaning })
    }
}

fn invalid(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map; `from_env` the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { lookup };
        let governance_url = env.required(
            "GOVSYNC_GOVERNANCE_URL",
            "the governance console URL (the API prefix is appended)",
        )?;
        if !(governance_url.starts_with("https://") || governance_url.starts_with("http://")) {
            return Err(invalid(
                "GOVSYNC_GOVERNANCE_URL",
                format!("{governance_url:?} is not an http(s) URL"),
            ));
        }
        let console = ConsoleLinks::new(&governance_url).map_err(|error| {
            invalid(
                "GOVSYNC_GOVERNANCE_URL",
                format!("cannot be linked from SageMaker metadata: {error}"),
            )
        })?;
        let auth = auth_settings(&env)?;
        let governance_api_prefix = api_prefix(&env, &auth)?;
        let api_key_secret_id = env.required(
            "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
            "the Secrets Manager id of the governance API key",
        )?;
        let registries = RegistryMap::parse(&env.required(
            "GOVSYNC_REGISTRY_MAP",
            "the central registries, as a JSON array of {account, region, business_entity}",
        )?)?;
        let spoke_role_name = env.optional("GOVSYNC_SPOKE_ROLE_NAME");
        let spoke_external_id = env.optional("GOVSYNC_SPOKE_EXTERNAL_ID");
        if spoke_role_name.is_some() && spoke_external_id.is_none() {
            return Err(ConfigError::Missing {
                name: "GOVSYNC_SPOKE_EXTERNAL_ID",
                meaning: "the external id the spoke roles require (GOVSYNC_SPOKE_ROLE_NAME is set)",
            });
        }
        let mut writers = WriterIdentities::new();
        if let Some(list) = env.optional("GOVSYNC_WRITER_ROLE_ARNS") {
            for arn in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                writers
                    .add(arn)
                    .map_err(|error| invalid("GOVSYNC_WRITER_ROLE_ARNS", error.to_string()))?;
            }
        }
        for registry in registries.registries() {
            if let Some(role) = registry_role(registry, spoke_role_name.as_deref())? {
                writers.add_role(role);
            }
        }
        // With no registry yet there is no registry write to recognise.
        if writers.is_empty() && !registries.is_empty() {
            return Err(ConfigError::Missing {
                name: "GOVSYNC_WRITER_ROLE_ARNS",
                meaning: "govsync's own registry identity, to recognise echoes (or set GOVSYNC_SPOKE_ROLE_NAME / role_arn in the registry map)",
            });
        }
        let gate = GateMode::parse(&env.required(
            "GOVSYNC_GATE_MODE",
            "what to do with shadow approvals: enforce, alert or off",
        )?)
        .map_err(|error| invalid("GOVSYNC_GATE_MODE", error.to_string()))?;
        let (mapping, mapping_source) = match env.optional("GOVSYNC_MAPPING_FILE") {
            None => (
                MappingSpec::builtin().map_err(|error| ConfigError::Mapping {
                    source_name: "built-in".to_owned(),
                    error,
                })?,
                "built-in".to_owned(),
            ),
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|error| ConfigError::MappingFile {
                        path: path.clone(),
                        message: error.to_string(),
                    })?;
                let spec = MappingSpec::parse(&text).map_err(|error| ConfigError::Mapping {
                    source_name: path.clone(),
                    error,
                })?;
                (spec, path)
            }
        };
        Ok(Self {
            governance_url,
            governance_api_prefix,
            auth,
            api_key_secret_id,
            registries,
            spoke_role_name,
            spoke_external_id,
            writers,
            gate,
            idempotency_table: env.required(
                "GOVSYNC_IDEMPOTENCY_TABLE",
                "the DynamoDB idempotency table",
            )?,
            links_table: env.required("GOVSYNC_LINKS_TABLE", "the DynamoDB links table")?,
            dlq_url: env.required(
                "GOVSYNC_DLQ_URL",
                "the dead-letter queue URL for quarantined messages",
            )?,
            mapping,
            mapping_source,
            console,
            metrics_namespace: env.optional("GOVSYNC_METRICS_NAMESPACE"),
        })
    }
}

/// The process environment as configuration sees it, with `GOVSYNC_REGISTRY_MAP` holding the registries
/// `govsync_adapters::registry_map` read at cold start: the `GOVSYNC_REGISTRIES_TABLE` table when set
/// (any number of registries), else the variable itself. Every function passes this to `from_lookup`.
pub async fn process_env_with_registries(
    sdk: &aws_config::SdkConfig,
) -> Result<impl Fn(&str) -> Option<String> + Clone, ConfigError> {
    let registries = govsync_adapters::registry_map::load(sdk).await?;
    let map = govsync_adapters::registry_map::to_registry_map_json(&registries);
    Ok(move |name: &str| {
        if name == govsync_adapters::registry_map::REGISTRY_MAP_VAR {
            Some(map.clone())
        } else {
            std::env::var(name).ok()
        }
    })
}

/// The role govsync assumes for a registry: its own `role_arn`, else the spoke role of its account and
/// region (`infra/spoke.yaml` names it `<name>-<region>`, so one account's spokes in several regions never
/// collide on an account-wide role name).
pub fn registry_role(
    registry: &govsync_core::Registry,
    spoke_role_name: Option<&str>,
) -> Result<Option<RoleArn>, ConfigError> {
    if let Some(role) = &registry.role_arn {
        return Ok(Some(role.clone()));
    }
    let Some(name) = spoke_role_name else {
        return Ok(None);
    };
    let region = registry.region.as_str();
    let partition = if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    };
    RoleArn::parse(&format!(
        "arn:{partition}:iam::{}:role/govsync/{name}-{region}",
        registry.account
    ))
    .map(Some)
    .map_err(|error| invalid("GOVSYNC_SPOKE_ROLE_NAME", error.to_string()))
}

/// The governance auth settings alone (`GOVSYNC_GOVERNANCE_AUTH_MODE`, `…_TOKEN_URL`, `…_INSTANCE_ID`,
/// `…_USERNAME`), for functions that read governance but need none of the rest of this configuration.
pub fn auth_settings_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<AuthSettings, ConfigError> {
    auth_settings(&Env { lookup })
}

/// The API prefix (`GOVSYNC_GOVERNANCE_API_PREFIX`, or the CP4D form from
/// `GOVSYNC_GOVERNANCE_CP4D_INSTANCE`, else `/opgrc/api/v2`). CP4D mode needs one of the two: its API
/// is never under the default prefix.
pub fn api_prefix_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
    auth: &AuthSettings,
) -> Result<String, ConfigError> {
    api_prefix(&Env { lookup }, auth)
}

fn api_prefix<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    auth: &AuthSettings,
) -> Result<String, ConfigError> {
    const PREFIX: &str = "GOVSYNC_GOVERNANCE_API_PREFIX";
    const INSTANCE: &str = "GOVSYNC_GOVERNANCE_CP4D_INSTANCE";
    match (env.optional(PREFIX), env.optional(INSTANCE)) {
        (Some(_), Some(_)) => Err(invalid(PREFIX, format!("set it or {INSTANCE}, not both"))),
        (Some(prefix), None) => {
            let usable = prefix.starts_with('/')
                && prefix.len() > 1
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
                && !prefix.contains("..");
            if usable {
                Ok(prefix)
            } else {
                Err(invalid(
                    PREFIX,
                    format!("{prefix:?} is not a URL path such as /opgrc/api/v2"),
                ))
            }
        }
        (None, Some(instance)) => govsync_adapters::governance::cp4d_api_prefix(&instance)
            .map_err(|error| invalid(INSTANCE, error.to_string())),
        (None, None) if matches!(auth, AuthSettings::Cp4d { .. }) => Err(ConfigError::Missing {
            name: INSTANCE,
            meaning: "the OpenPages instance name on Cloud Pak for Data (or set GOVSYNC_GOVERNANCE_API_PREFIX)",
        }),
        (None, None) => Ok(govsync_adapters::governance::DEFAULT_API_PREFIX.to_owned()),
    }
}

fn auth_settings<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<AuthSettings, ConfigError> {
    const MODE: &str = "GOVSYNC_GOVERNANCE_AUTH_MODE";
    let mode = env.required(MODE, "mcsp, iam, cp4d or basic")?;
    let token_url = env.optional("GOVSYNC_GOVERNANCE_TOKEN_URL");
    let username = || {
        env.required(
            "GOVSYNC_GOVERNANCE_USERNAME",
            "the governance user name (cp4d and basic modes)",
        )
    };
    match mode.as_str() {
        "mcsp" => {
            let token_url = match (token_url, env.optional("GOVSYNC_GOVERNANCE_INSTANCE_ID")) {
                (Some(url), _) => url,
                (None, Some(instance)) => govsync_adapters::governance::MCSP_TOKEN_URL_TEMPLATE
                    .replace("{instance_id}", &instance),
                (None, None) => {
                    return Err(ConfigError::Missing {
                        name: "GOVSYNC_GOVERNANCE_TOKEN_URL",
                        meaning: "the mcsp token endpoint (or set GOVSYNC_GOVERNANCE_INSTANCE_ID)",
                    });
                }
            };
            Ok(AuthSettings::Mcsp { token_url })
        }
        "iam" => Ok(AuthSettings::Iam { token_url }),
        "cp4d" => Ok(AuthSettings::Cp4d {
            token_url,
            username: username()?,
        }),
        "basic" => Ok(AuthSettings::Basic {
            username: username()?,
        }),
        other => Err(invalid(
            MODE,
            format!("{other:?} is not one of mcsp, iam, cp4d, basic"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            ("GOVSYNC_GOVERNANCE_URL", "https://grc.example.com".to_owned()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_INSTANCE_ID", "inst-1".to_owned()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:govsync/governance-api-key-AbCdEf"
                    .to_owned(),
            ),
            (
                "GOVSYNC_REGISTRY_MAP",
                r#"[{"account":"111111111111","region":"eu-west-1","business_entity":"Retail"}]"#
                    .to_owned(),
            ),
            ("GOVSYNC_SPOKE_ROLE_NAME", "govsync-registry-access".to_owned()),
            ("GOVSYNC_SPOKE_EXTERNAL_ID", "0123456789abcdef0123".to_owned()),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            ("GOVSYNC_IDEMPOTENCY_TABLE", "govsync-idempotency".to_owned()),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            (
                "GOVSYNC_DLQ_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/registry-events-dlq.fifo"
                    .to_owned(),
            ),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_deployment_environment_gives_a_complete_config() {
        let config = load(&base()).unwrap();
        assert_eq!(
            config.auth,
            AuthSettings::Mcsp {
                token_url: "https://account-iam.platform.saas.ibm.com/api/2.0/services/inst-1/apikeys/token"
                    .into()
            }
        );
        assert_eq!(config.gate, GateMode::Enforce);
        assert_eq!(config.registries.len(), 1);
        assert_eq!(config.mapping_source, "built-in");
        assert!(
            config.writers.is_writer(
                "arn:aws:sts::111111111111:assumed-role/govsync-registry-access-eu-west-1/govsync"
            ),
            "the spoke role of the registry's region is a writer"
        );
        assert_eq!(
            registry_role(&config.registries.registries()[0], Some("r"))
                .unwrap()
                .unwrap()
                .as_str(),
            "arn:aws:iam::111111111111:role/govsync/r-eu-west-1",
            "issue 18, 1: one spoke role per region of an account"
        );
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in [
            "GOVSYNC_GOVERNANCE_URL",
            "GOVSYNC_GOVERNANCE_AUTH_MODE",
            "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
            "GOVSYNC_REGISTRY_MAP",
            "GOVSYNC_GATE_MODE",
            "GOVSYNC_IDEMPOTENCY_TABLE",
            "GOVSYNC_LINKS_TABLE",
            "GOVSYNC_DLQ_URL",
        ] {
            let mut vars = base();
            vars.insert(name, "  ".into());
            let error = load(&vars).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Missing { name: missing, .. } if *missing == name),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn malformed_values_are_refused_naming_the_variable() {
        let cases = [
            ("GOVSYNC_GATE_MODE", "strict", "GOVSYNC_GATE_MODE"),
            (
                "GOVSYNC_GOVERNANCE_AUTH_MODE",
                "oauth",
                "GOVSYNC_GOVERNANCE_AUTH_MODE",
            ),
            (
                "GOVSYNC_GOVERNANCE_URL",
                "grc.example.com",
                "GOVSYNC_GOVERNANCE_URL",
            ),
            (
                "GOVSYNC_WRITER_ROLE_ARNS",
                "arn:aws:iam::123456789012:user/alice",
                "GOVSYNC_WRITER_ROLE_ARNS",
            ),
        ];
        for (name, value, expected) in cases {
            let mut vars = base();
            vars.insert(name, value.into());
            match load(&vars) {
                Err(ConfigError::Invalid { name, .. }) => assert_eq!(name, expected),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
        // Issue 18, 8: no registry yet (a first deploy): the function starts, with no writer either.
        let mut vars = base();
        vars.insert("GOVSYNC_REGISTRY_MAP", "[]".into());
        vars.remove("GOVSYNC_SPOKE_ROLE_NAME");
        vars.remove("GOVSYNC_SPOKE_EXTERNAL_ID");
        assert!(load(&vars).unwrap().registries.is_empty());
        let mut vars = base();
        vars.insert("GOVSYNC_MAPPING_FILE", "/nonexistent/mapping.toml".into());
        assert!(matches!(load(&vars), Err(ConfigError::MappingFile { .. })));
    }

    #[test]
    fn without_any_writer_identity_echoes_could_not_be_recognised() {
        let mut vars = base();
        vars.remove("GOVSYNC_SPOKE_ROLE_NAME");
        vars.remove("GOVSYNC_SPOKE_EXTERNAL_ID");
        assert!(matches!(
            load(&vars),
            Err(ConfigError::Missing {
                name: "GOVSYNC_WRITER_ROLE_ARNS",
                ..
            })
        ));
        vars.insert(
            "GOVSYNC_WRITER_ROLE_ARNS",
            "arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync".into(),
        );
        let config = load(&vars).unwrap();
        assert!(
            config
                .writers
                .is_writer("arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync")
        );
    }

    #[test]
    fn mcsp_without_a_token_url_or_instance_is_refused_and_basic_needs_a_user() {
        let mut vars = base();
        vars.remove("GOVSYNC_GOVERNANCE_INSTANCE_ID");
        assert!(matches!(
            load(&vars),
            Err(ConfigError::Missing {
                name: "GOVSYNC_GOVERNANCE_TOKEN_URL",
                ..
            })
        ));
        vars.insert("GOVSYNC_GOVERNANCE_AUTH_MODE", "basic".into());
        assert!(matches!(
            load(&vars),
            Err(ConfigError::Missing {
                name: "GOVSYNC_GOVERNANCE_USERNAME",
                ..
            })
        ));
    }

    #[test]
    fn debug_output_holds_no_secret_material() {
        let config = load(&base()).unwrap();
        let text = format!("{config:?}");
        assert!(text.contains("auth_mode"));
        assert!(!text.contains("0123456789abcdef0123"), "{text}");
    }

    #[test]
    fn the_api_prefix_is_the_default_an_explicit_path_or_the_cp4d_form_of_the_instance() {
        let prefix = |vars: &[(&str, &str)], auth: &AuthSettings| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            api_prefix_from_lookup(|name| vars.get(name).cloned(), auth)
        };
        let iam = AuthSettings::Iam { token_url: None };
        let cp4d = AuthSettings::Cp4d {
            token_url: None,
            username: "admin".into(),
        };
        assert_eq!(prefix(&[], &iam).unwrap(), "/opgrc/api/v2");
        assert_eq!(
            prefix(&[("GOVSYNC_GOVERNANCE_CP4D_INSTANCE", "grc1")], &cp4d).unwrap(),
            "/openpages-grc1-opgrc/api/v2"
        );
        assert_eq!(
            prefix(&[("GOVSYNC_GOVERNANCE_API_PREFIX", "/grc/api/v2")], &iam).unwrap(),
            "/grc/api/v2"
        );
        let missing = prefix(&[], &cp4d).unwrap_err().to_string();
        assert!(
            missing.contains("GOVSYNC_GOVERNANCE_CP4D_INSTANCE"),
            "{missing}"
        );
        for bad in [
            vec![("GOVSYNC_GOVERNANCE_CP4D_INSTANCE", "a/b")],
            vec![("GOVSYNC_GOVERNANCE_API_PREFIX", "opgrc")],
            vec![("GOVSYNC_GOVERNANCE_API_PREFIX", "/a/../b")],
            vec![
                ("GOVSYNC_GOVERNANCE_API_PREFIX", "/x"),
                ("GOVSYNC_GOVERNANCE_CP4D_INSTANCE", "grc1"),
            ],
        ] {
            assert!(prefix(&bad, &iam).is_err(), "{bad:?}");
        }
        let mut env = base();
        env.insert("GOVSYNC_GOVERNANCE_CP4D_INSTANCE", "grc1".to_owned());
        assert_eq!(
            load(&env).unwrap().governance_api_prefix,
            "/openpages-grc1-opgrc/api/v2"
        );
    }
}
