//! `Function::handle` against the real local stack: a govsync metric event lands as a Metric and a
//! MetricValue under the model in the governance emulator (once, however often it is delivered), and an
//! event for an unknown model is quarantined, with its reason, in the function's failure queue.
//! `local/test.sh` runs these with the stack's environment; without it they fail rather than skip.

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_core::ports::{
    Field, FieldValue, Governance, GovernanceKind, GovernanceQuery, NewGovernanceObject,
    QueryCondition,
};
use govsync_core::secret::Secret;
use govsync_core::sync::fields;
use govsync_metrics_relay::{Config, Function};
use govsync_testkit::stack::var;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

const FAILURES_QUEUE: &str = "govsync-async-failures";

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_metric_event_lands_once_under_its_model_and_an_unknown_model_is_quarantined() {
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

    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let arn = format!("arn:aws:sagemaker:{region}:{account}:model-package/metrics-{suffix}/1");
    let new = |kind, name: String, parent, fields| NewGovernanceObject {
        kind,
        name,
        description: None,
        parent_id: parent,
        fields,
    };
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
            format!("metrics-{suffix}"),
            Some(use_case.id),
            vec![],
        ))
        .await
        .unwrap();
    let model = governance
        .create_object(&new(
            GovernanceKind::Model,
            format!("metrics-{suffix} version 1"),
            Some(group.id),
            vec![
                Field::text(fields::EXTERNAL_ID, arn.clone()),
                Field::choice(fields::MODEL_STATUS, "In Production"),
            ],
        ))
        .await
        .unwrap();

    let event = |package: &str| -> Value {
        json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "source": "govsync.metrics",
               "detail-type": "Model Metric Recorded", "account": account, "region": region,
               "time": "2026-01-22T06:00:05Z", "resources": [],
               "detail": {"model_package_arn": package, "metric": "AUC", "value": 0.7,
                          "timestamp": "2026-01-22T06:00:00Z", "thresholds": {"lower": 0.8}}})
    };
    let invoke = |event: Value| {
        let mut context = Context::default();
        context.request_id = uuid::Uuid::new_v4().to_string();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap();
        function.handle(LambdaEvent::new(event, context))
    };
    let answer = invoke(event(&arn)).await.unwrap();
    assert_eq!(answer["outcome"], "recorded", "{answer}");
    let again = invoke(event(&arn)).await.unwrap();
    assert_eq!(again["duplicates"], 1, "{again}");

    let children = |kind, parent: String| {
        let governance = &governance;
        async move {
            governance
                .query(&GovernanceQuery {
                    kind,
                    columns: vec!["Name".to_owned()],
                    condition: Some(QueryCondition::Equals {
                        field: "Parent Id".to_owned(),
                        value: parent,
                    }),
                })
                .await
                .unwrap()
        }
    };
    let metrics = children(GovernanceKind::Metric, model.id.to_string()).await;
    assert_eq!(metrics.len(), 1);
    let metric_id = metrics[0].id.clone().unwrap();
    let metric = governance.get_object(&metric_id).await.unwrap();
    assert_eq!(metric.name, "AUC");
    assert_eq!(
        metric
            .field("MRG-Metric-Shared:Breach Status")
            .and_then(FieldValue::as_text)
            .as_deref(),
        Some("Red")
    );
    let values = children(GovernanceKind::MetricValue, metric_id.to_string()).await;
    assert_eq!(values.len(), 1, "one value however often it is delivered");
    let status = governance
        .get_object(&model.id)
        .await
        .unwrap()
        .field(fields::MODEL_STATUS)
        .and_then(FieldValue::as_text);
    assert_eq!(status.as_deref(), Some("Under Review"));

    // An unknown model: quarantined with the reason, the invocation succeeds.
    let unknown = format!("arn:aws:sagemaker:{region}:{account}:model-package/unknown-{suffix}/1");
    let answer = invoke(event(&unknown)).await.unwrap();
    assert_eq!(answer["code"], "unknown_model", "{answer}");
    let mut found = None;
    for _ in 0..10 {
        let received = sqs
            .receive_message()
            .queue_url(&failures_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        found = received
            .messages
            .unwrap_or_default()
            .into_iter()
            .find(|message| message.body().is_some_and(|body| body.contains(&unknown)));
        if found.is_some() {
            break;
        }
    }
    let message = found.expect("the unknown model's event is in the failure queue");
    let attributes = message.message_attributes().unwrap();
    assert_eq!(
        attributes["govsync-error-code"].string_value(),
        Some("unknown_model")
    );
    assert!(
        attributes["govsync-reason"]
            .string_value()
            .unwrap()
            .contains(&unknown)
    );
}
