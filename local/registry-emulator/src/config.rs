//! Command-line flags and their environment fallbacks.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::error::ConfigError;
use crate::events::Caller;

pub const USAGE: &str = "\
govsync-registry-emulator: the SageMaker Model Registry API (awsJson1.1) on 127.0.0.1, publishing the
EventBridge events real SageMaker and CloudTrail would.

Flags (environment fallback in brackets):
  --host IP                  address to bind (default 127.0.0.1) [REGISTRY_EMULATOR_HOST]
  --port PORT                port to bind, 0 = any free port (default 0) [REGISTRY_EMULATOR_PORT]
  --account-id ID            account of callers without a mapped identity (default 123456789012)
                             [REGISTRY_EMULATOR_ACCOUNT_ID]
  --default-region REGION    region of unsigned requests (default us-east-1) [REGISTRY_EMULATOR_DEFAULT_REGION]
  --event-bus NAME           EventBridge bus for PutEvents (default default) [REGISTRY_EMULATOR_EVENT_BUS]
  --events-endpoint URL      EventBridge endpoint (moto); without it events are only kept in memory
                             [REGISTRY_EMULATOR_EVENTS_ENDPOINT]
  --identity AKID=ARN        caller ARN for an access key id, repeatable
                             [REGISTRY_EMULATOR_IDENTITIES=AKID=ARN,AKID=ARN]
  --sts-endpoint URL         STS endpoint (moto) that tells the caller behind temporary (ASIA…) keys
                             not listed by --identity [REGISTRY_EMULATOR_STS_ENDPOINT]
  (environment only)         the Studio user profile behind an access key's calls
                             [REGISTRY_EMULATOR_STUDIO_USERS=AKID=DOMAIN_ID/PROFILE,…]
  (environment only)         the Studio domains and user profiles CreatePresignedDomainUrl knows
                             [REGISTRY_EMULATOR_STUDIO_DOMAINS=ACCOUNT:REGION:DOMAIN_ID/PROFILE+PROFILE,…]
  --record-failed-calls      also publish CloudTrail events (with errorCode) for failed mutating calls
                             [REGISTRY_EMULATOR_RECORD_FAILED_CALLS=1]
  --help                     print this text
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub account_id: String,
    pub default_region: String,
    pub event_bus: String,
    pub events_endpoint: Option<String>,
    /// Access key id → caller ARN.
    pub identities: HashMap<String, String>,
    /// Where temporary keys' callers are looked up (`GetCallerIdentity`).
    pub sts_endpoint: Option<String>,
    /// Access key id → Studio user profile ([`crate::studio`]).
    pub studio_users: HashMap<String, crate::studio::StudioUser>,
    /// Studio domains and their user profiles, per account and region ([`crate::studio`]).
    pub studio_domains: crate::studio::StudioDomains,
    pub record_failed_calls: bool,
}

// Parsed once at start.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Config),
    Help,
}

impl Config {
    /// The caller behind an access key: a mapped ARN (whose account becomes the caller's account) or
    /// `arn:aws:iam::<account>:user/<akid>`.
    pub fn caller(&self, access_key_id: &str) -> Caller {
        self.caller_resolved(access_key_id, None)
    }

    /// Whether the caller behind `access_key_id` is to be asked of STS: a temporary key (`ASIA…`, the
    /// prefix AWS gives STS-issued keys) the identity table does not list, when an STS endpoint is set.
    pub fn asks_sts(&self, access_key_id: &str) -> bool {
        self.sts_endpoint.is_some()
            && access_key_id.starts_with("ASIA")
            && !self.identities.contains_key(access_key_id)
    }

    /// [`Config::caller`], with the ARN STS reported for the key when there is one.
    pub fn caller_resolved(&self, access_key_id: &str, resolved: Option<&str>) -> Caller {
        match resolved.or(self.identities.get(access_key_id).map(String::as_str)) {
            Some(arn) => {
                let account = arn
                    .split(':')
                    .nth(4)
                    .filter(|account| is_account_id(account))
                    .unwrap_or(&self.account_id);
                Caller {
                    arn: arn.to_owned(),
                    account: account.to_owned(),
                    access_key_id: access_key_id.to_owned(),
                    studio: self.studio_users.get(access_key_id).cloned(),
                }
            }
            None => Caller {
                arn: format!("arn:aws:iam::{}:user/{access_key_id}", self.account_id),
                account: self.account_id.clone(),
                access_key_id: access_key_id.to_owned(),
                studio: self.studio_users.get(access_key_id).cloned(),
            },
        }
    }
}

pub(crate) fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn invalid(name: &str, value: &str, reason: &'static str) -> ConfigError {
    ConfigError::InvalidValue {
        name: name.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

fn parse_identity(name: &str, pair: &str) -> Result<(String, String), ConfigError> {
    match pair.split_once('=') {
        Some((key, arn)) if !key.trim().is_empty() && arn.trim().starts_with("arn:") => {
            Ok((key.trim().to_owned(), arn.trim().to_owned()))
        }
        _ => Err(invalid(name, pair, "expected ACCESS_KEY_ID=arn:…")),
    }
}

/// Parses the flags (without the program name); unset flags fall back to `env`.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, ConfigError> {
    let mut flags: HashMap<&'static str, String> = HashMap::new();
    let mut identities: Vec<(String, String)> = Vec::new();
    let mut record_failed_calls = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let name: &'static str = match flag.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--record-failed-calls" => {
                record_failed_calls = Some(true);
                continue;
            }
            "--host" => "host",
            "--port" => "port",
            "--account-id" => "account-id",
            "--default-region" => "default-region",
            "--event-bus" => "event-bus",
            "--events-endpoint" => "events-endpoint",
            "--identity" => "identity",
            "--sts-endpoint" => "sts-endpoint",
            _ => return Err(ConfigError::UnknownFlag(arg)),
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| ConfigError::MissingValue(flag.clone()))?,
        };
        if name == "identity" {
            identities.push(parse_identity("--identity", &value)?);
        } else {
            flags.insert(name, value);
        }
    }
    let setting = |name: &str, env_name: &str| -> Option<String> {
        flags
            .get(name)
            .cloned()
            .or_else(|| env(env_name).filter(|v| !v.trim().is_empty()))
    };

    let host_text = setting("host", "REGISTRY_EMULATOR_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let host: IpAddr = host_text
        .parse()
        .map_err(|_| invalid("--host", &host_text, "expected an IP address"))?;
    let port_text = setting("port", "REGISTRY_EMULATOR_PORT").unwrap_or_else(|| "0".into());
    let port: u16 = port_text
        .trim()
        .parse()
        .map_err(|_| invalid("--port", &port_text, "expected a port number 0-65535"))?;
    let account_id = setting("account-id", "REGISTRY_EMULATOR_ACCOUNT_ID")
        .unwrap_or_else(|| "123456789012".into());
    if !is_account_id(&account_id) {
        return Err(invalid("--account-id", &account_id, "expected 12 digits"));
    }
    let default_region = setting("default-region", "REGISTRY_EMULATOR_DEFAULT_REGION")
        .unwrap_or_else(|| "us-east-1".into());
    if !is_region(&default_region) {
        return Err(invalid(
            "--default-region",
            &default_region,
            "expected a region such as us-east-1",
        ));
    }
    let event_bus =
        setting("event-bus", "REGISTRY_EMULATOR_EVENT_BUS").unwrap_or_else(|| "default".into());
    let events_endpoint = setting("events-endpoint", "REGISTRY_EMULATOR_EVENTS_ENDPOINT");
    if let Some(endpoint) = &events_endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        return Err(invalid(
            "--events-endpoint",
            endpoint,
            "expected an http(s):// URL",
        ));
    }
    let sts_endpoint = setting("sts-endpoint", "REGISTRY_EMULATOR_STS_ENDPOINT");
    if let Some(endpoint) = &sts_endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        return Err(invalid(
            "--sts-endpoint",
            endpoint,
            "expected an http(s):// URL",
        ));
    }
    if identities.is_empty()
        && let Some(list) = env("REGISTRY_EMULATOR_IDENTITIES")
    {
        for pair in list.split(',').filter(|pair| !pair.trim().is_empty()) {
            identities.push(parse_identity("REGISTRY_EMULATOR_IDENTITIES", pair)?);
        }
    }
    let record_failed_calls = record_failed_calls.unwrap_or_else(|| {
        env("REGISTRY_EMULATOR_RECORD_FAILED_CALLS")
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
    });
    Ok(Command::Run(Config {
        host,
        port,
        account_id,
        default_region,
        event_bus,
        events_endpoint,
        identities: identities.into_iter().collect(),
        sts_endpoint,
        studio_users: crate::studio::parse_users(
            "REGISTRY_EMULATOR_STUDIO_USERS",
            &env("REGISTRY_EMULATOR_STUDIO_USERS").unwrap_or_default(),
        )?,
        studio_domains: crate::studio::parse_domains(
            "REGISTRY_EMULATOR_STUDIO_DOMAINS",
            &env("REGISTRY_EMULATOR_STUDIO_DOMAINS").unwrap_or_default(),
        )?,
        record_failed_calls,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn run(list: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse(args(list), |name| env.get(name).cloned())? {
            Command::Run(config) => Ok(config),
            Command::Help => Err(ConfigError::UnknownFlag("help".into())),
        }
    }

    #[test]
    fn defaults_bind_loopback_without_events() {
        let config = run(&[], &[]).unwrap();
        assert_eq!(config.host.to_string(), "127.0.0.1");
        assert_eq!(config.port, 0);
        assert_eq!(config.account_id, "123456789012");
        assert_eq!(config.default_region, "us-east-1");
        assert_eq!(config.event_bus, "default");
        assert_eq!(config.events_endpoint, None);
        assert!(!config.record_failed_calls);
        assert!(config.studio_domains.is_empty());
    }

    #[test]
    fn flags_override_environment() {
        let config = run(
            &[
                "--port",
                "4599",
                "--events-endpoint=http://127.0.0.1:5000",
                "--identity",
                "AKID1=arn:aws:iam::111111111111:user/a",
            ],
            &[
                ("REGISTRY_EMULATOR_PORT", "1234"),
                ("REGISTRY_EMULATOR_ACCOUNT_ID", "210987654321"),
                (
                    "REGISTRY_EMULATOR_IDENTITIES",
                    "AKID2=arn:aws:iam::222222222222:user/b",
                ),
            ],
        )
        .unwrap();
        assert_eq!(config.port, 4599);
        assert_eq!(config.account_id, "210987654321");
        assert_eq!(
            config.events_endpoint.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(config.identities.len(), 1);
        assert!(config.identities.contains_key("AKID1"));
    }

    #[test]
    fn identities_come_from_the_environment_list() {
        let config = run(
            &[],
            &[(
                "REGISTRY_EMULATOR_IDENTITIES",
                "GOVSYNC=arn:aws:sts::123456789012:assumed-role/govsync/sync, HUMAN=arn:aws:iam::210987654321:user/alice",
            )],
        )
        .unwrap();
        let govsync = config.caller("GOVSYNC");
        assert_eq!(
            govsync.arn,
            "arn:aws:sts::123456789012:assumed-role/govsync/sync"
        );
        assert_eq!(govsync.account, "123456789012");
        let human = config.caller("HUMAN");
        assert_eq!(human.account, "210987654321");
        assert!(!config.asks_sts("ASIAEXAMPLE"));
        let unknown = config.caller("testing");
        assert_eq!(unknown.arn, "arn:aws:iam::123456789012:user/testing");
        assert_eq!(unknown.account, "123456789012");
    }

    #[test]
    fn temporary_keys_are_asked_of_sts_when_an_endpoint_is_set() {
        let config = run(
            &["--sts-endpoint", "http://127.0.0.1:5000"],
            &[(
                "REGISTRY_EMULATOR_IDENTITIES",
                "ASIALISTED=arn:aws:iam::111111111111:user/a",
            )],
        )
        .unwrap();
        assert!(config.asks_sts("ASIAFROMMOTO"));
        assert!(!config.asks_sts("ASIALISTED"));
        assert!(!config.asks_sts("AKIALONGTERM"));
        let caller = config.caller_resolved(
            "ASIAFROMMOTO",
            Some("arn:aws:sts::111111111111:assumed-role/govsync-registry-access/govsync"),
        );
        assert_eq!(caller.account, "111111111111");
        assert!(matches!(
            run(&["--sts-endpoint", "ftp://x"], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
    }

    #[test]
    fn bad_values_are_reported_with_the_flag() {
        assert!(matches!(
            run(&["--port", "x"], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            run(&["--account-id", "12"], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            run(&["--identity", "nope"], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            run(&["--events-endpoint", "ftp://x"], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            run(&["--port"], &[]),
            Err(ConfigError::MissingValue(_))
        ));
        assert!(matches!(
            run(&["--bogus"], &[]),
            Err(ConfigError::UnknownFlag(_))
        ));
        assert!(matches!(
            run(&["--host", "localhost"], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            run(&[], &[("REGISTRY_EMULATOR_STUDIO_DOMAINS", "d-x/alice")]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert_eq!(parse(args(&["--help"]), |_| None), Ok(Command::Help));
    }
}
