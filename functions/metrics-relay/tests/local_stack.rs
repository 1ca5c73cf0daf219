//! `Function::handle` against the real local stack: a govsync metric event lands as a Metric and a
//! MetricValue under the model in the governance emulator (once, however often it is delivered), and an
//! event for an unknown model is quarantined, with its reason, in the function's failure queue; a Red
//! value about a governed package in an envelope from another account records nothing, moves no
//! status, and is quarantined as `foreign_metrics`.
//! `local/test.sh` runs these with the stack's environment; without it they fail rather than skip.

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_core::ports::{
    Field, FieldValue, Governance, GovernanceId, GovernanceKind, GovernanceObject, GovernanceQuery,
    NewGovernanceObject, QueryCondition, QueryRow,
};
use govsync_core::secret::Secret;
use govsync_core::sync::fields;
use govsync_metrics_relay::{Config, Function};
use govsync_testkit::stack::var;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

const FAILURES_QUEUE: &str = "govsync-async-failures";

/// The function wired to the local stack, a governance client to inspect the emulator with, and the
/// function's failure queue.
struct Local {
    function: Function,
    governance: GovernanceClient,
    sqs: aws_sdk_sqs::Client,
    failures_url: String,
    account: String,
    region: String,
}

impl Local {
    async fn start() -> Self {
        var("AWS_ENDPOINT_URL");
        let moto_url = var("GOVSYNC_MOTO_URL");
        let governance_url = var("GOVSYNC_GOVERNANCE_URL");
        let account = var("GOVSYNC_ACCOUNT_ID");
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
        let token_url = format!("{governance_url}/api/2.0/services/local/apikeys/token");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.clone()))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "local-stack",
            ))
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        // The template's failure queue is not part of local/wiring.json.
        let failures_url = sqs
            .create_queue()
            .queue_name(FAILURES_QUEUE)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap_or_else(|| format!("{moto_url}/{account}/{FAILURES_QUEUE}"));
        let vars: HashMap<&str, String> = HashMap::from([
            ("GOVSYNC_GOVERNANCE_URL", governance_url.clone()),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_TOKEN_URL", token_url.clone()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "govsync/governance-api-key".to_owned(),
            ),
            (
                "GOVSYNC_REGISTRY_MAP",
                json!([{"account": account, "region": region, "business_entity": "Retail Banking"}])
                    .to_string(),
            ),
            ("GOVSYNC_WRITER_ROLE_ARNS", var("GOVSYNC_ROLE_ARN")),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            (
                "GOVSYNC_IDEMPOTENCY_TABLE",
                "govsync-idempotency".to_owned(),
            ),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            ("GOVSYNC_DLQ_URL", failures_url.clone()),
            ("GOVSYNC_METRIC_BREACH_STATUS", "Under Review".to_owned()),
        ]);
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        let function = Function::new(config, &sdk).await.unwrap();
        let governance = GovernanceClient::new(GovernanceConfig::new(
            governance_url.clone(),
            GovernanceAuth::Mcsp {
                token_url,
                api_key: Secret::new("local-api-key"),
            },
        ))
        .unwrap();
        Self {
            function,
            governance,
            sqs,
            failures_url,
            account,
            region,
        }
    }

    /// A governed model `In Production` (entity → use case → model group → model) for a new package
    /// ARN of the stack's registry; returns the ARN and the model.
    async fn governed_model(&self, prefix: &str) -> (String, GovernanceObject) {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let arn = format!(
            "arn:aws:sagemaker:{}:{}:model-package/{prefix}-{suffix}/1",
            self.region, self.account
        );
        let new = |kind, name: String, parent, fields| NewGovernanceObject {
            kind,
            name,
            description: None,
            parent_id: parent,
            fields,
        };
        let governance = &self.governance;
        let entity = governance
            .create_object(&new(
                GovernanceKind::BusinessEntity,
                format!("Retail {suffix}"),
                None,
                vec![],
            ))
            .await
            .unwrap();
        let use_case = governance
            .create_object(&new(
                GovernanceKind::UseCase,
                format!("Churn {suffix}"),
                Some(entity.id),
                vec![],
            ))
            .await
            .unwrap();
        let group = governance
            .create_object(&new(
                GovernanceKind::ModelGroup,
                format!("{prefix}-{suffix}"),
                Some(use_case.id),
                vec![],
            ))
            .await
            .unwrap();
        let model = governance
            .create_object(&new(
                GovernanceKind::Model,
                format!("{prefix}-{suffix} version 1"),
                Some(group.id),
                vec![
                    Field::text(fields::EXTERNAL_ID, arn.clone()),
                    Field::choice(fields::MODEL_STATUS, "In Production"),
                ],
            ))
            .await
            .unwrap();
        (arn, model)
    }

    /// A Red AUC value about `package`, in an envelope from the stack's own account and region.
    fn red_auc(&self, package: &str) -> Value {
        json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "source": "govsync.metrics",
               "detail-type": "Model Metric Recorded", "account": self.account, "region": self.region,
               "time": "2026-01-22T06:00:05Z", "resources": [],
               "detail": {"model_package_arn": package, "metric": "AUC", "value": 0.7,
                          "timestamp": "2026-01-22T06:00:00Z", "thresholds": {"lower": 0.8}}})
    }

    async fn invoke(&self, event: Value) -> Value {
        let mut context = Context::default();
        context.request_id = uuid::Uuid::new_v4().to_string();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap();
        self.function
            .handle(LambdaEvent::new(event, context))
            .await
            .unwrap()
    }

    /// Children of `parent`, an object of the kind one level up (metric → model, value → metric).
    async fn children(&self, kind: GovernanceKind, parent: &GovernanceId) -> Vec<QueryRow> {
        let parent_kind = match kind {
            GovernanceKind::MetricValue => GovernanceKind::Metric,
            _ => GovernanceKind::Model,
        };
        self.governance
            .query(&GovernanceQuery {
                kind,
                columns: vec!["Name".to_owned()],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind,
                    parent_id: parent.clone(),
                }),
            })
            .await
            .unwrap()
    }

    async fn status(&self, model: &GovernanceId) -> Option<String> {
        self.governance
            .get_object(model)
            .await
            .unwrap()
            .field(fields::MODEL_STATUS)
            .and_then(FieldValue::as_text)
    }

    /// The quarantined copy whose body names `needle` (others are left to their visibility timeout).
    async fn quarantined_naming(&self, needle: &str) -> aws_sdk_sqs::types::Message {
        for _ in 0..10 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.failures_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if let Some(message) = received
                .messages
                .unwrap_or_default()
                .into_iter()
                .find(|message| message.body().is_some_and(|body| body.contains(needle)))
            {
                return message;
            }
        }
        panic!("no message naming {needle} in the failure queue");
    }
}

fn attribute<'a>(message: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get(name))
        .and_then(|attribute| attribute.string_value())
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_metric_event_lands_once_under_its_model_and_an_unknown_model_is_quarantined() {
    let local = Local::start().await;
    let (arn, model) = local.governed_model("metrics").await;

    let answer = local.invoke(local.red_auc(&arn)).await;
    assert_eq!(answer["outcome"], "recorded", "{answer}");
    let again = local.invoke(local.red_auc(&arn)).await;
    assert_eq!(again["duplicates"], 1, "{again}");

    let metrics = local.children(GovernanceKind::Metric, &model.id).await;
    assert_eq!(metrics.len(), 1);
    let metric_id = metrics[0].id.clone().unwrap();
    let metric = local.governance.get_object(&metric_id).await.unwrap();
    assert_eq!(metric.name, "AUC");
    assert_eq!(
        metric
            .field("MRG-Metric-Shared:Breach Status")
            .and_then(FieldValue::as_text)
            .as_deref(),
        Some("Red")
    );
    let values = local
        .children(GovernanceKind::MetricValue, &metric_id)
        .await;
    assert_eq!(values.len(), 1, "one value however often it is delivered");
    assert_eq!(
        local.status(&model.id).await.as_deref(),
        Some("Under Review")
    );

    // An unknown model: quarantined with the reason, the invocation succeeds.
    let unknown = format!(
        "arn:aws:sagemaker:{}:{}:model-package/unknown-{}/1",
        local.region,
        local.account,
        uuid::Uuid::new_v4().simple()
    );
    let answer = local.invoke(local.red_auc(&unknown)).await;
    assert_eq!(answer["code"], "unknown_model", "{answer}");
    let message = local.quarantined_naming(&unknown).await;
    assert_eq!(
        attribute(&message, "govsync-error-code"),
        Some("unknown_model")
    );
    assert!(
        attribute(&message, "govsync-reason")
            .unwrap()
            .contains(&unknown)
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_red_value_from_another_account_records_nothing_and_moves_no_status() {
    let local = Local::start().await;
    let (arn, model) = local.governed_model("foreign-metrics").await;
    let mut foreign = local.red_auc(&arn);
    foreign["account"] = json!("999999999999");
    foreign["region"] = json!("eu-west-1");

    let answer = local.invoke(foreign).await;
    assert_eq!(answer["code"], "foreign_metrics", "{answer}");
    assert!(
        local
            .children(GovernanceKind::Metric, &model.id)
            .await
            .is_empty(),
        "no Metric, hence no MetricValue, under the model"
    );
    assert_eq!(
        local.status(&model.id).await.as_deref(),
        Some("In Production")
    );
    let message = local.quarantined_naming(&arn).await;
    assert_eq!(
        attribute(&message, "govsync-error-code"),
        Some("foreign_metrics")
    );
    assert!(
        attribute(&message, "govsync-reason")
            .unwrap()
            .contains("999999999999")
    );

    // The same value from the package's own registry is recorded: the refusal was about the origin.
    let answer = local.invoke(local.red_auc(&arn)).await;
    assert_eq!(answer["outcome"], "recorded", "{answer}");
    assert_eq!(
        local.status(&model.id).await.as_deref(),
        Some("Under Review")
    );
}
