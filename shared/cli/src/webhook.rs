//! `govsync webhook sign [BODY|-] (--secret-env VAR | --secret-file FILE) [--id ID] [--timestamp T]
//! [--curl URL]`: the Standard-Webhooks headers the governance-webhook function verifies
//! ([`govsync_core::webhook::sign`]), for testing a tenant's setup. The secret never appears on the
//! command line (so not in `ps`): it is read from an environment variable or a file, in any form the
//! function accepts — `whsec_<base64>`, plain text, or the function's Secrets Manager JSON
//! `{"current","previous"}` (then `current` signs).

use std::io::Read;
use std::path::Path;

use govsync_core::secret::Secret;
use govsync_core::webhook::{self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret};
use serde_json::json;

use crate::cli::{WebhookCommand, WebhookSignArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;

/// The three headers of one signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
}

impl SignedHeaders {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            HEADER_ID: self.id,
            HEADER_TIMESTAMP: self.timestamp.to_string(),
            HEADER_SIGNATURE: self.signature,
        })
    }

    pub fn lines(&self) -> String {
        format!(
            "{HEADER_ID}: {}\n{HEADER_TIMESTAMP}: {}\n{HEADER_SIGNATURE}: {}\n",
            self.id, self.timestamp, self.signature
        )
    }

    /// A curl command posting the body file (`@FILE`, or `@-` for stdin) with the headers.
    pub fn curl(&self, url: &str, body: &Path) -> String {
        let data = if body == Path::new("-") {
            "@-".to_owned()
        } else {
            format!("@{}", body.display())
        };
        format!(
            "curl -sS -X POST {} -H 'content-type: application/json' -H {} -H {} -H {} --data-binary {}\n",
            shell_quote(url),
            shell_quote(&format!("{HEADER_ID}: {}", self.id)),
            shell_quote(&format!("{HEADER_TIMESTAMP}: {}", self.timestamp)),
            shell_quote(&format!("{HEADER_SIGNATURE}: {}", self.signature)),
            shell_quote(&data),
        )
    }
}

/// Single-quoted for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The signing key from the secret's text: the function's JSON `{"current","previous"}` (`current`),
/// else `whsec_<base64>` or plain text. Errors never hold the secret.
pub fn signing_secret(text: &str) -> Result<WebhookSecret, CliError> {
    let invalid = |problem: String| CliError::Invalid {
        what: "the signing secret".to_owned(),
        problem,
    };
    if text.trim_start().starts_with('{') {
        let secrets = govsync_governance_webhook::signing_secrets::parse(&Secret::new(text.trim()))
            .map_err(|error| invalid(error.to_string()))?;
        return secrets
            .into_iter()
            .next()
            .ok_or_else(|| invalid("no `current` secret".to_owned()));
    }
    WebhookSecret::parse(text).map_err(|error| invalid(error.to_string()))
}

/// Signs `body` as the platform would for one delivery attempt.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
    SignedHeaders {
        id: id.to_owned(),
        timestamp,
        signature: webhook::sign(secret, id, timestamp, body),
    }
}

fn read_secret(args: &WebhookSignArgs) -> Result<String, CliError> {
    if let Some(name) = &args.secret_env {
        return std::env::var(name).map_err(|_| CliError::Invalid {
            what: format!("--secret-env {name}"),
            problem: "the variable is not set (or not UTF-8)".to_owned(),
        });
    }
    if let Some(path) = &args.secret_file {
        return std::fs::read_to_string(path).map_err(|error| CliError::Read {
            path: path.display().to_string(),
            message: error.to_string(),
        });
    }
    Err(CliError::Invalid {
        what: "the signing secret".to_owned(),
        problem: "give --secret-env VAR or --secret-file FILE".to_owned(),
    })
}

fn read_body(path: &Path) -> Result<Vec<u8>, CliError> {
    if path == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|error| CliError::Read {
                path: "stdin".to_owned(),
                message: error.to_string(),
            })?;
        return Ok(body);
    }
    std::fs::read(path).map_err(|error| CliError::Read {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

pub fn run(command: &WebhookCommand, json: bool) -> Result<Exit, CliError> {
    let WebhookCommand::Sign(args) = command;
    if args.curl.is_some() && args.body == Path::new("-") {
        return Err(CliError::Invalid {
            what: "--curl".to_owned(),
            problem: "needs a body file (curl cannot re-read the body from this stdin)".to_owned(),
        });
    }
    let secret = signing_secret(&read_secret(args)?)?;
    let body = read_body(&args.body)?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    if id.trim().is_empty() {
        return Err(CliError::Invalid {
            what: "--id".to_owned(),
            problem: "must not be blank".to_owned(),
        });
    }
    let timestamp = args
        .timestamp
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    let headers = sign(&secret, &id, timestamp, &body);
    if json {
        output::print_json(&headers.to_json());
    } else if let Some(url) = &args.curl {
        output::print(&headers.curl(url, &args.body));
    } else {
        output::print(&headers.lines());
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use govsync_core::webhook::{WebhookHeaders, verify};

    use super::*;

    #[test]
    fn every_secret_form_the_function_accepts_signs_verifiably() {
        let body = br#"{"event_type":"object.updated","object":{"id":"MOD-1"}}"#;
        for text in [
            "plain-shared-secret",
            "whsec_c2VjcmV0LWJ5dGVz",
            r#"{"current":"whsec_c2VjcmV0LWJ5dGVz","previous":"old"}"#,
        ] {
            let Ok(secret) = signing_secret(text) else {
                panic!("{text} is a usable secret")
            };
            let headers = sign(&secret, "msg_1", 1_700_000_000, body);
            let verified = verify(
                &[secret],
                WebhookHeaders {
                    id: Some(&headers.id),
                    timestamp: Some(&headers.timestamp.to_string()),
                    signature: Some(&headers.signature),
                },
                body,
                1_700_000_010,
                300,
            );
            assert!(verified.is_ok(), "{text}: {verified:?}");
        }
    }

    #[test]
    fn unusable_secrets_are_refused_without_showing_them() {
        for text in ["", "   ", "whsec_!!!", r#"{"previous":"x"}"#, "{not json"] {
            match signing_secret(text) {
                Err(error) => {
                    let message = error.to_string();
                    assert!(!message.contains("!!!"), "{message}");
                }
                Ok(_) => panic!("{text:?} was accepted"),
            }
        }
    }

    #[test]
    fn output_forms_carry_the_three_headers() {
        let headers = SignedHeaders {
            id: "msg_1".into(),
            timestamp: 1_700_000_000,
            signature: "v1,abc=".into(),
        };
        assert_eq!(
            headers.lines(),
            "webhook-id: msg_1\nwebhook-timestamp: 1700000000\nwebhook-signature: v1,abc=\n"
        );
        assert_eq!(headers.to_json()["webhook-timestamp"], "1700000000");
        let curl = headers.curl("http://127.0.0.1:9000/webhook", Path::new("it's.json"));
        assert!(curl.starts_with("curl -sS -X POST 'http://127.0.0.1:9000/webhook'"));
        assert!(curl.contains("-H 'webhook-signature: v1,abc='"));
        assert!(curl.contains("--data-binary '@it'\\''s.json'"));
    }
}
