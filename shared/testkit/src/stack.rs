//! The real local stack (moto, the registry emulator, the governance emulator) for the `local_stack*`
//! tests: the stack's environment, the functions' shared configuration, and delivering a queue's
//! messages to a function ([`SqsFunction`]) as Lambda's SQS event source would.
//!
//! [`Lane`] gives a test its own path through the stack, so tests of any binary can run at the same
//! time: its packages live in their own registry region ([`LANE_REGION`], where the shared wiring has
//! no rules), under a unique group-name prefix; EventBridge rules mirroring `local/wiring.json`'s
//! registry-events rules, narrowed to that prefix, feed its own FIFO queue (with a redrive DLQ, as
//! wiring.json declares it), and the function quarantines into its own FIFO DLQ. Nothing in the shared
//! `registry-events.fifo` is read or deleted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    ExternalIdLookup, Field, Governance, GovernanceKind, GovernanceObject, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use govsync_core::sync::fields;
use govsync_lambda::SqsFunction;
use govsync_lambda::config::Config;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

/// The registry region of every lane: no shared rule exists there, so its events reach only the
/// lanes' own rules (each narrowed to its own group prefix).
pub const LANE_REGION: &str = "ap-northeast-3";
/// The message group EventBridge gives registry-events (wiring.json).
pub const MESSAGE_GROUP: &str = "registry-events";
/// The API key the governance emulator is started with (and the stack's secret holds).
pub const GOVERNANCE_API_KEY: &str = "local-api-key";
/// What a test may take at most; every test finishes well within it.
pub const TEST_BUDGET: Duration = Duration::from_secs(60);
/// The cap for a load test (hundreds of messages). Alone it takes about half a minute; moto serves
/// every lane's SQS, EventBridge and DynamoDB calls on one Python process, so when whole test runs
/// share one stack it can take longer without anything being wrong.
pub const LOAD_BUDGET: Duration = Duration::from_secs(150);

pub struct Stack {
    pub moto_url: String,
    pub governance_url: String,
    pub account: String,
    pub role_arn: String,
    pub access_key: String,
    pub region: String,
}

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the local stack (local/stack.sh up; source its stack.env) or local/test.sh")
    })
}

impl Stack {
    pub fn from_env() -> Self {
        // The SDK reads these itself; check them so a missing stack fails clearly.
        var("AWS_ENDPOINT_URL");
        var("AWS_ENDPOINT_URL_SAGEMAKER");
        Self {
            moto_url: var("GOVSYNC_MOTO_URL"),
            governance_url: var("GOVSYNC_GOVERNANCE_URL"),
            account: var("GOVSYNC_ACCOUNT_ID"),
            role_arn: var("GOVSYNC_ROLE_ARN"),
            access_key: var("GOVSYNC_ACCESS_KEY_ID"),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        }
    }

    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.moto_url, self.account)
    }

    pub fn token_url(&self) -> String {
        format!(
            "{}/api/2.0/services/local/apikeys/token",
            self.governance_url
        )
    }

    /// The function's configuration, as the runner sets it.
    pub fn config(&self) -> Config {
        self.config_for(&FunctionSetup {
            registry_region: self.region.clone(),
            dlq_url: self.queue_url("registry-events-dlq.fifo"),
            api_key_secret: "govsync/governance-api-key".to_owned(),
            idempotency_table: "govsync-idempotency".to_owned(),
            links_table: "govsync-links".to_owned(),
        })
    }

    /// The function's configuration for one registry region, DLQ, governance API key secret and
    /// tables.
    pub fn config_for(&self, setup: &FunctionSetup) -> Config {
        let vars: HashMap<&str, String> = self.function_env(setup).into_iter().collect();
        Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
    }

    /// The environment variables behind [`Stack::config_for`], for a function run as its own process.
    pub fn function_env(&self, setup: &FunctionSetup) -> Vec<(&'static str, String)> {
        vec![
            ("GOVSYNC_GOVERNANCE_URL", self.governance_url.clone()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_TOKEN_URL", self.token_url()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                setup.api_key_secret.clone(),
            ),
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": self.account, "region": setup.registry_region, "business_entity": "Retail Banking"}])
                    .to_string(),
            ),
            ("GOVSYNC_WRITER_ROLE_ARNS", self.role_arn.clone()),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            ("GOVSYNC_IDEMPOTENCY_TABLE", setup.idempotency_table.clone()),
            ("GOVSYNC_LINKS_TABLE", setup.links_table.clone()),
            ("GOVSYNC_DLQ_URL", setup.dlq_url.clone()),
        ]
    }

    /// SDK config with the given access key (endpoints from the stack's environment).
    pub async fn sdk(&self, access_key: &str) -> aws_config::SdkConfig {
        self.sdk_in(access_key, &self.region).await
    }

    /// SDK config with the given access key in `region`.
    pub async fn sdk_in(&self, access_key: &str, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                access_key,
                "testing",
                None,
                None,
                "local-stack",
            ))
            .load()
            .await
    }

    /// A governance client with the stack's API key (not scoped by any test's faults).
    pub fn governance(&self) -> GovernanceClient {
        GovernanceClient::new(GovernanceConfig::new(
            self.governance_url.clone(),
            GovernanceAuth::Mcsp {
                token_url: self.token_url(),
                api_key: Secret::new(GOVERNANCE_API_KEY),
            },
        ))
        .unwrap()
    }
}

/// What differs between the shared wiring and a lane's function.
pub struct FunctionSetup {
    pub registry_region: String,
    pub dlq_url: String,
    pub api_key_secret: String,
    pub idempotency_table: String,
    pub links_table: String,
}

mod delivery;
mod governance_objects;
mod lane;

pub use delivery::{
    Delivery, Queue, Received, deliver_until, drain, fifo_queue, invoke, relay_ingest, sqs_event,
};
pub use governance_objects::{
    approved_use_case, approved_use_case_under, source_account, the_one, written_back_model_id,
};
pub use lane::{Feed, Lane};
