//! Monitoring results into governance (design F7): decoding the metrics events `metrics-relay` accepts,
//! the breach status of a value against its thresholds, and the governance objects a value becomes.
//!
//! # Accepted events (EventBridge envelopes, as the function receives them)
//!
//! 1. **govsync metric event**: `source: govsync.metrics`, `detail-type: Model Metric Recorded`:
//!
//!    ```json
//!    {"model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/3",
//!     "metric": "auc", "value": 0.91, "timestamp": "2026-01-02T09:00:00Z",
//!     "thresholds": {"lower": 0.8, "upper": null}, "source": "nightly-evaluation"}
//!    ```
//!
//!    `thresholds` (and either bound) is optional; `timestamp` is RFC 3339 or epoch milliseconds.
//!    Instead of `metric`/`value`, the detail may carry a SageMaker monitoring report
//!    (`"monitoring_type": "ModelQuality" | "DataQuality" | "ModelBias" | "ModelExplainability"`,
//!    `"constraint_violations": <the execution's constraint_violations.json>`): a producer that reads the
//!    report from S3 (a pipeline step, an S3-triggered function) forwards it, and each violation becomes
//!    a value ([`observations_from_violations`]): Model Monitor model quality (`metric_name`,
//!    `constraint_check_type` `LessThanThreshold`/`GreaterThanThreshold`, the value and threshold in
//!    `description`), Clarify bias drift (`metric_name`, `facet`, `facet_value`) and feature attribution
//!    drift (`feature`), data quality (`feature_name`, check type); plus `<monitoring_type> violations`
//!    (the count, upper threshold 0).
//! 2. **SageMaker Processing Job State Change** of a monitoring execution (Model Monitor and Clarify
//!    schedules run as processing jobs; the template's rule matches `Completed` jobs with a
//!    `MonitoringScheduleArn`): the event carries no metric values, only the outcome, so it becomes one
//!    value, `<schedule name> violations` = the count SageMaker states in `ExitMessage`
//!    (`CompletedWithViolations: Job completed successfully with 3 violations.`; 0 without), upper
//!    threshold 0. The model is the schedule's `govsync:model-package-arn` tag.
//!
//! # Breach status
//!
//! [`breach_status`]: `Red` outside `[lower, upper]` (or when the source reports a violation), `Amber`
//! inside but within the warning margin of a bound (a fraction of the band, or of the bound's magnitude
//! when only one bound is set), `Green` otherwise; no thresholds and no violation → no status.

use crate::idempotency::IdempotencyKey;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::json_access::{Fields, shorten};
use crate::model_package::ModelPackageArn;
use crate::ports::{Field, FieldValue, GovernanceKind, GovernanceObject, NewGovernanceObject};
use crate::registry_event::DecodeError;
use crate::sync::fields as model_fields;

/// The EventBridge `source` of govsync metric events.
pub const GOVSYNC_METRICS_SOURCE: &str = "govsync.metrics";
/// The `detail-type` of govsync metric events.
pub const METRIC_DETAIL_TYPE: &str = "Model Metric Recorded";
/// SageMaker's processing job event (monitoring executions are processing jobs).
pub const PROCESSING_JOB_DETAIL_TYPE: &str = "SageMaker Processing Job State Change";
/// The schedule tag that names the monitored model package.
pub const MODEL_PACKAGE_TAG: &str = "govsync:model-package-arn";

/// Governance field names of metrics (contracts/openpages-v2.md).
pub mod fields {
    pub const LOWER_THRESHOLD: &str = "MRG-Metric-Shared:Lower Threshold";
    pub const UPPER_THRESHOLD: &str = "MRG-Metric-Shared:Upper Threshold";
    pub const BREACH_STATUS: &str = "MRG-Metric-Shared:Breach Status";
    pub const VALUE: &str = "MRG-MetricVal:Value";
    pub const VALUE_DATE: &str = "MRG-MetricVal:Value Date";
}

/// Why an event is not a metrics event govsync accepts. Always permanent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsDecodeError {
    #[error("event source/detail-type {event_source:?}/{detail_type:?} is not a metrics event")]
    Unsupported {
        event_source: String,
        detail_type: String,
    },
    #[error(transparent)]
    Field(#[from] DecodeError),
    #[error("metric name {0:?} must be 1-128 printable characters")]
    MetricName(String),
    #[error("value of {metric} must be a finite number")]
    Value { metric: String },
    #[error("thresholds of {metric}: lower {lower} is above upper {upper}")]
    Thresholds {
        metric: String,
        lower: f64,
        upper: f64,
    },
    #[error("the detail carries neither metric/value nor constraint_violations")]
    NoMetric,
    #[error("processing job {job} is not a monitoring execution (no MonitoringScheduleArn)")]
    NotMonitoring { job: String },
}

impl MetricsDecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            MetricsDecodeError::Unsupported { .. } => "unsupported_event",
            MetricsDecodeError::Field(error) => error.code(),
            MetricsDecodeError::MetricName(_) => "bad_metric_name",
            MetricsDecodeError::Value { .. } => "bad_metric_value",
            MetricsDecodeError::Thresholds { .. } => "bad_thresholds",
            MetricsDecodeError::NoMetric => "no_metric",
            MetricsDecodeError::NotMonitoring { .. } => "not_monitoring",
        }
    }
}

/// A metric's name in governance (1–128 printable characters, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricName(String);

impl MetricName {
    pub fn parse(value: &str) -> Result<Self, MetricsDecodeError> {
        let trimmed = value.trim();
        let count = trimmed.chars().count();
        if (1..=128).contains(&count) && !trimmed.chars().any(char::is_control) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(MetricsDecodeError::MetricName(shorten(value)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower and upper bounds of a metric; either may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl Thresholds {
    pub fn is_empty(&self) -> bool {
        self.lower.is_none() && self.upper.is_none()
    }

    /// The metric's stored thresholds.
    pub fn of_metric(metric: &GovernanceObject) -> Self {
        let number = |name: &str| match metric.field(name) {
            Some(FieldValue::Number(number)) => Some(*number),
            Some(FieldValue::Text(text)) => text.trim().parse::<f64>().ok(),
            _ => None,
        };
        Self {
            lower: number(fields::LOWER_THRESHOLD),
            upper: number(fields::UPPER_THRESHOLD),
        }
    }
}

/// `MRG-Metric-Shared:Breach Status` (the default enum: Green, Amber, Red).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreachStatus {
    Green,
    Amber,
    Red,
}

impl BreachStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachStatus::Green => "Green",
            BreachStatus::Amber => "Amber",
            BreachStatus::Red => "Red",
        }
    }
}

/// The default warning margin: 5 % of the band (or of the bound's magnitude).
pub const DEFAULT_AMBER_MARGIN: f64 = 0.05;

/// The breach status of `value` against `thresholds` (see the module docs). `violated` is a source's
/// own verdict (a Model Monitor / Clarify violation): always `Red`.
pub fn breach_status(
    value: f64,
    thresholds: &Thresholds,
    violated: bool,
    amber_margin: f64,
) -> Option<BreachStatus> {
    if violated {
        return Some(BreachStatus::Red);
    }
    if thresholds.is_empty() {
        return None;
    }
    let below = thresholds.lower.is_some_and(|lower| value < lower);
    let above = thresholds.upper.is_some_and(|upper| value > upper);
    if below || above {
        return Some(BreachStatus::Red);
    }
    let margin = |bound: f64| match (thresholds.lower, thresholds.upper) {
        (Some(lower), Some(upper)) => (upper - lower).abs() * amber_margin,
        _ => bound.abs() * amber_margin,
    };
    let near_lower = thresholds
        .lower
        .is_some_and(|lower| value - lower < margin(lower));
    let near_upper = thresholds
        .upper
        .is_some_and(|upper| upper - value < margin(upper));
    Some(if near_lower || near_upper {
        BreachStatus::Amber
    } else {
        BreachStatus::Green
    })
}

/// One value of one metric of one model package.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub metric: MetricName,
    pub value: f64,
    pub thresholds: Thresholds,
    /// The source reports this value as a violation (Model Monitor / Clarify).
    pub violated: bool,
}

/// Where the model package of an event is named.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// The event names the package.
    Package(ModelPackageArn),
    /// A monitoring schedule: its `govsync:model-package-arn` tag names the package.
    Schedule {
        arn: String,
        account: String,
        region: String,
    },
}

/// A decoded metrics event: what it is about, when, from where, and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsEvent {
    pub subject: Subject,
    pub timestamp: DateTime<Utc>,
    pub source: String,
    pub observations: Vec<Observation>,
}

fn finite(value: &Value) -> Option<f64> {
    value.as_f64().filter(|number| number.is_finite())
}

fn optional_number(fields: &Fields<'_>, key: &str) -> Result<Option<f64>, DecodeError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => finite(value)
            .map(Some)
            .ok_or_else(|| DecodeError::WrongType {
                field: fields.path_of(key),
                expected: "a finite number",
            }),
    }
}

fn checked(observation: Observation) -> Result<Observation, MetricsDecodeError> {
    if let (Some(lower), Some(upper)) = (observation.thresholds.lower, observation.thresholds.upper)
        && lower > upper
    {
        return Err(MetricsDecodeError::Thresholds {
            metric: observation.metric.to_string(),
            lower,
            upper,
        });
    }
    Ok(observation)
}

/// Decodes an EventBridge envelope into a metrics event.
pub fn decode_event(envelope: &Value) -> Result<MetricsEvent, MetricsDecodeError> {
    let root = Fields::root(envelope, "event envelope")?;
    let source = root.required_string("source")?;
    let detail_type = root.required_string("detail-type")?;
    let detail = root.required_object("detail")?;
    match (source, detail_type) {
        (GOVSYNC_METRICS_SOURCE, METRIC_DETAIL_TYPE) => decode_govsync(&root, &detail),
        (crate::registry_event::EVENT_SOURCE, PROCESSING_JOB_DETAIL_TYPE) => {
            decode_processing_job(&root, &detail)
        }
        _ => Err(MetricsDecodeError::Unsupported {
            event_source: shorten(source),
            detail_type: shorten(detail_type),
        }),
    }
}

fn decode_govsync(
    root: &Fields<'_>,
    detail: &Fields<'_>,
) -> Result<MetricsEvent, MetricsDecodeError> {
    let arn = detail.required_parsed("model_package_arn", ModelPackageArn::parse)?;
    let timestamp = match detail.time("timestamp")? {
        Some(time) => time,
        None => root
            .time("time")?
            .ok_or_else(|| DecodeError::MissingField {
                field: "detail.timestamp".into(),
            })?,
    };
    let source = detail
        .string("source")?
        .map(str::to_owned)
        .unwrap_or_else(|| GOVSYNC_METRICS_SOURCE.to_owned());
    let observations = if let Some(violations) = detail.get("constraint_violations") {
        let monitoring_type = detail.string("monitoring_type")?.unwrap_or("Monitoring");
        observations_from_violations(monitoring_type, violations)?
    } else if detail.has("metric") {
        let metric = MetricName::parse(detail.required_string("metric")?)?;
        let value =
            detail
                .get("value")
                .and_then(finite)
                .ok_or_else(|| MetricsDecodeError::Value {
                    metric: metric.to_string(),
                })?;
        let thresholds = match detail.object("thresholds")? {
            Some(bounds) => Thresholds {
                lower: optional_number(&bounds, "lower")?,
                upper: optional_number(&bounds, "upper")?,
            },
            None => Thresholds::default(),
        };
        vec![checked(Observation {
            metric,
            value,
            thresholds,
            violated: false,
        })?]
    } else {
        return Err(MetricsDecodeError::NoMetric);
    };
    Ok(MetricsEvent {
        subject: Subject::Package(arn),
        timestamp,
        source,
        observations,
    })
}

fn decode_processing_job(
    root: &Fields<'_>,
    detail: &Fields<'_>,
) -> Result<MetricsEvent, MetricsDecodeError> {
    let job = detail
        .string("ProcessingJobName")?
        .unwrap_or("(unnamed)")
        .to_owned();
    let Some(schedule) = detail.string("MonitoringScheduleArn")? else {
        return Err(MetricsDecodeError::NotMonitoring { job });
    };
    // arn:aws:sagemaker:<region>:<account>:monitoring-schedule/<name>
    let parts: Vec<&str> = schedule.splitn(6, ':').collect();
    let (region, account, name) = match parts.as_slice() {
        ["arn", _, "sagemaker", region, account, resource] => (
            *region,
            *account,
            resource
                .strip_prefix("monitoring-schedule/")
                .unwrap_or(resource),
        ),
        _ => {
            return Err(DecodeError::WrongType {
                field: "detail.MonitoringScheduleArn".into(),
                expected: "a SageMaker monitoring schedule ARN",
            }
            .into());
        }
    };
    let timestamp = match detail.time("ProcessingEndTime")? {
        Some(time) => time,
        None => root
            .time("time")?
            .ok_or_else(|| DecodeError::MissingField {
                field: "detail.ProcessingEndTime".into(),
            })?,
    };
    let violations = detail
        .string("ExitMessage")?
        .and_then(violation_count)
        .unwrap_or(0);
    let metric = MetricName::parse(&format!("{name} violations"))?;
    Ok(MetricsEvent {
        subject: Subject::Schedule {
            arn: schedule.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
        },
        timestamp,
        source: format!("sagemaker-monitoring:{job}"),
        observations: vec![Observation {
            metric,
            value: f64::from(violations),
            thresholds: Thresholds {
                lower: None,
                upper: Some(0.0),
            },
            violated: false,
        }],
    })
}

/// The violation count in a monitoring job's `ExitMessage`
/// (`CompletedWithViolations: Job completed successfully with 3 violations.`).
pub fn violation_count(exit_message: &str) -> Option<u32> {
    if !exit_message.starts_with("CompletedWithViolations") {
        return None;
    }
    let words: Vec<&str> = exit_message.split_whitespace().collect();
    words.windows(2).find_map(|pair| match pair {
        [count, word] if word.starts_with("violation") => count.parse().ok(),
        _ => None,
    })
}

/// Numbers standing alone in free text, in order (`0.39`, `'0.71'`, `0.1.`): words that merely hold
/// digits (`weightedF2`) are not numbers.
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']'))
        .map(|token| token.trim_matches(|c: char| matches!(c, '\'' | '"' | ':' | '.' | '=')))
        .filter_map(|token| token.parse::<f64>().ok())
        .filter(|number| number.is_finite())
        .collect()
}

/// Values from a `constraint_violations.json` (Model Monitor and Clarify share its shape): one per
/// violation that states a value, plus `<monitoring_type> violations` = the count.
pub fn observations_from_violations(
    monitoring_type: &str,
    report: &Value,
) -> Result<Vec<Observation>, MetricsDecodeError> {
    let root = Fields::root(report, "constraint_violations")?;
    let violations = match root.get("violations") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "constraint_violations.violations".into(),
                expected: "a list",
            }
            .into());
        }
    };
    let mut out = Vec::new();
    for violation in violations {
        let fields = Fields::root(violation, "violation")?;
        let check = fields
            .string("constraint_check_type")?
            .unwrap_or("violation");
        let description = fields.string("description")?.unwrap_or("");
        let subject = fields
            .string("metric_name")?
            .map(
                |metric| match (fields.string("facet")?, fields.string("facet_value")?) {
                    (Some(facet), Some(value)) => Ok(format!("{metric} ({facet}={value})")),
                    (Some(facet), None) => Ok(format!("{metric} ({facet})")),
                    _ => Ok::<_, DecodeError>(metric.to_owned()),
                },
            )
            .transpose()?
            .or(fields
                .string("feature_name")?
                .or(fields.string("feature")?)
                .map(|feature| format!("{check} {feature}")));
        let Some(subject) = subject else { continue };
        let numbers = numbers_in(description);
        let Some(value) = numbers.first().copied() else {
            continue;
        };
        let threshold = numbers.last().copied().filter(|_| numbers.len() > 1);
        let thresholds = match (check, threshold) {
            ("LessThanThreshold", Some(bound)) => Thresholds {
                lower: Some(bound),
                upper: None,
            },
            (_, Some(bound)) => Thresholds {
                lower: None,
                upper: Some(bound),
            },
            (_, None) => Thresholds::default(),
        };
        out.push(Observation {
            metric: MetricName::parse(&subject)?,
            value,
            thresholds,
            violated: true,
        });
    }
    out.push(Observation {
        metric: MetricName::parse(&format!("{monitoring_type} violations"))?,
        value: violations.len() as f64,
        thresholds: Thresholds {
            lower: None,
            upper: Some(0.0),
        },
        violated: false,
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Governance objects

/// `Integration:External ID` of a model's metric: `<package ARN>#metric/<name>`.
pub fn metric_external_id(package: &ModelPackageArn, metric: &MetricName) -> String {
    format!("{}#metric/{}", package.as_str(), metric.as_str())
}

/// The business key of one value: (model package, metric, timestamp), hashed.
pub fn value_key(
    package: &ModelPackageArn,
    metric: &MetricName,
    timestamp: DateTime<Utc>,
) -> IdempotencyKey {
    let mut hasher = Sha256::new();
    for part in [
        package.as_str(),
        metric.as_str(),
        &timestamp.timestamp_millis().to_string(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    IdempotencyKey::for_metric_value(&crate::hex::encode(&hasher.finalize()))
}

fn threshold_fields(thresholds: &Thresholds) -> Vec<Field> {
    let mut out = Vec::new();
    if let Some(lower) = thresholds.lower {
        out.push(Field::new(
            fields::LOWER_THRESHOLD,
            FieldValue::Number(lower),
        ));
    }
    if let Some(upper) = thresholds.upper {
        out.push(Field::new(
            fields::UPPER_THRESHOLD,
            FieldValue::Number(upper),
        ));
    }
    out
}

/// The metric object created on first use, with its thresholds.
pub fn new_metric(
    package: &ModelPackageArn,
    model: &GovernanceObject,
    observation: &Observation,
    breach: Option<BreachStatus>,
) -> NewGovernanceObject {
    let mut fields = vec![Field::text(
        model_fields::EXTERNAL_ID,
        metric_external_id(package, &observation.metric),
    )];
    fields.extend(threshold_fields(&observation.thresholds));
    if let Some(breach) = breach {
        fields.push(Field::choice(fields::BREACH_STATUS, breach.as_str()));
    }
    NewGovernanceObject {
        kind: GovernanceKind::Metric,
        name: observation.metric.to_string(),
        description: Some(format!("{} of {}", observation.metric, package.as_str())),
        parent_id: Some(model.id.clone()),
        fields,
    }
}

/// The changes to an existing metric: new thresholds (when the event states them) and the latest
/// breach status; empty when it already holds them.
pub fn metric_update(
    metric: &GovernanceObject,
    observation: &Observation,
    breach: Option<BreachStatus>,
) -> Vec<Field> {
    let mut wanted = threshold_fields(&observation.thresholds);
    if let Some(breach) = breach {
        wanted.push(Field::choice(fields::BREACH_STATUS, breach.as_str()));
    }
    wanted
        .into_iter()
        .filter(|field| metric.field(&field.name) != Some(&field.value))
        .filter(|field| match (&field.value, metric.field(&field.name)) {
            (FieldValue::Enum(a), Some(current)) => current.as_text().as_deref() != Some(a),
            _ => true,
        })
        .collect()
}

/// The value object under its metric.
pub fn new_value(
    metric_id: &crate::GovernanceId,
    observation: &Observation,
    thresholds: &Thresholds,
    timestamp: DateTime<Utc>,
    breach: Option<BreachStatus>,
) -> NewGovernanceObject {
    let mut fields = vec![
        Field::new(fields::VALUE, FieldValue::Number(observation.value)),
        Field::date(fields::VALUE_DATE, timestamp),
    ];
    fields.extend(threshold_fields(thresholds));
    if let Some(breach) = breach {
        fields.push(Field::choice(fields::BREACH_STATUS, breach.as_str()));
    }
    NewGovernanceObject {
        kind: GovernanceKind::MetricValue,
        name: format!(
            "{} @ {}",
            observation.metric,
            timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)
        ),
        description: None,
        parent_id: Some(metric_id.clone()),
        fields,
    }
}

/// Whether a value row (of a query under the metric) is the value at `timestamp`.
pub fn is_value_at(row_date: Option<&FieldValue>, timestamp: DateTime<Utc>) -> bool {
    let text = row_date.and_then(FieldValue::as_text);
    text.and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .is_some_and(|date| date.to_utc().timestamp_millis() == timestamp.timestamp_millis())
}

#[cfg(test)]
mod tests;
