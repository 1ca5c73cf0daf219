//! The EventBridge events real SageMaker and CloudTrail publish for registry changes.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::wire::{epoch_seconds, rfc3339_seconds, to_cloudtrail_casing};

pub const SOURCE: &str = "aws.sagemaker";
pub const STATE_CHANGE: &str = "SageMaker Model Package State Change";
pub const CLOUDTRAIL: &str = "AWS API Call via CloudTrail";

/// Who made an API call, as CloudTrail reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub account: String,
    pub access_key_id: String,
    /// The Studio user profile behind the call, when it came from SageMaker Studio.
    pub studio: Option<crate::studio::StudioUser>,
}

impl Caller {
    /// CloudTrail's `userIdentity`, its type derived from the ARN's shape.
    pub fn user_identity(&self) -> Value {
        let resource = self.arn.splitn(6, ':').nth(5).unwrap_or_default();
        let (identity_type, principal_id) =
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                let session = rest.split_once('/').map(|(_, s)| s).unwrap_or(rest);
                ("AssumedRole", format!("{}:{session}", self.access_key_id))
            } else if resource.starts_with("user/") {
                ("IAMUser", self.access_key_id.clone())
            } else if resource == "root" {
                ("Root", self.account.clone())
            } else {
                ("AssumedRole", self.access_key_id.clone())
            };
        json!({
            "type": identity_type,
            "principalId": principal_id,
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": self.access_key_id,
        })
    }
}

/// An event as put on the bus. `id` is the emulator's own; EventBridge assigns its own on delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub detail_type: &'static str,
    pub account: String,
    pub region: String,
    pub time: DateTime<Utc>,
    pub resources: Vec<String>,
    pub detail: Value,
}

impl Event {
    /// The envelope a rule target receives.
    pub fn envelope(&self) -> Value {
        json!({
            "version": "0",
            "id": self.id,
            "detail-type": self.detail_type,
            "source": SOURCE,
            "account": self.account,
            "time": rfc3339_seconds(self.time),
            "region": self.region,
            "resources": self.resources,
            "detail": self.detail,
        })
    }

    /// One `PutEvents` entry (awsJson1.1: `Time` in epoch seconds, `Detail` as JSON text).
    pub fn put_events_entry(&self, bus: &str) -> Value {
        json!({
            "Time": epoch_seconds(self.time),
            "Source": SOURCE,
            "Resources": self.resources,
            "DetailType": self.detail_type,
            "Detail": self.detail.to_string(),
            "EventBusName": bus,
        })
    }
}

/// `SageMaker Model Package State Change` for a package snapshot (detail as built by the registry).
pub fn state_change(
    account: &str,
    region: &str,
    time: DateTime<Utc>,
    package_arn: &str,
    detail: Value,
) -> Event {
    Event {
        id: uuid::Uuid::new_v4().to_string(),
        detail_type: STATE_CHANGE,
        account: account.to_owned(),
        region: region.to_owned(),
        time,
        resources: vec![package_arn.to_owned()],
        detail,
    }
}

/// What CloudTrail needs to know about one API call.
#[derive(Debug, Clone)]
pub struct ApiCall<'a> {
    pub event_name: &'a str,
    pub caller: &'a Caller,
    pub region: &'a str,
    pub recipient_account: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
    pub time: DateTime<Utc>,
    pub request: &'a Map<String, Value>,
}

/// `AWS API Call via CloudTrail`; `outcome` is the response elements, or the error code and message of
/// a failed call.
pub fn cloudtrail(call: &ApiCall<'_>, outcome: Result<Option<Value>, (&str, String)>) -> Event {
    let mut detail = json!({
        "eventVersion": "1.11",
        "userIdentity": call.caller.user_identity(),
        "eventTime": rfc3339_seconds(call.time),
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": call.event_name,
        "awsRegion": call.region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": call.user_agent,
        "requestParameters": to_cloudtrail_casing(&Value::Object(call.request.clone())),
        "responseElements": Value::Null,
        "requestID": call.request_id,
        "eventID": uuid::Uuid::new_v4().to_string(),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": call.recipient_account,
        "eventCategory": "Management",
    });
    if let Value::Object(fields) = &mut detail {
        match outcome {
            Ok(response) => {
                if let Some(response) = response {
                    fields.insert("responseElements".into(), response);
                }
            }
            Err((code, message)) => {
                fields.insert("errorCode".into(), Value::from(code));
                fields.insert("errorMessage".into(), Value::from(message));
            }
        }
    }
    Event {
        id: uuid::Uuid::new_v4().to_string(),
        detail_type: CLOUDTRAIL,
        account: call.recipient_account.to_owned(),
        region: call.region.to_owned(),
        time: call.time,
        resources: Vec::new(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn caller(arn: &str) -> Caller {
        Caller {
            arn: arn.into(),
            account: "123456789012".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            studio: None,
        }
    }

    #[test]
    fn user_identity_type_follows_the_arn() {
        let role = caller("arn:aws:sts::123456789012:assumed-role/ml-admin/alice").user_identity();
        assert_eq!(role["type"], "AssumedRole");
        assert_eq!(role["principalId"], "AKIDEXAMPLE:alice");
        let user = caller("arn:aws:iam::123456789012:user/bob").user_identity();
        assert_eq!(user["type"], "IAMUser");
        assert_eq!(user["principalId"], "AKIDEXAMPLE");
        assert_eq!(user["accountId"], "123456789012");
        let root = caller("arn:aws:iam::123456789012:root").user_identity();
        assert_eq!(root["type"], "Root");
    }

    #[test]
    fn cloudtrail_event_matches_the_fixture_shape() {
        let time = Utc
            .with_ymd_and_hms(2026, 1, 2, 9, 18, 24)
            .single()
            .unwrap();
        let request: Map<String, Value> =
            serde_json::from_value(json!({"ModelPackageGroupName": "fraud-detector"})).unwrap();
        let who = caller("arn:aws:sts::123456789012:assumed-role/ml-admin/alice");
        let call = ApiCall {
            event_name: "DeleteModelPackageGroup",
            caller: &who,
            region: "us-east-1",
            recipient_account: "123456789012",
            user_agent: "aws-cli/2.x",
            request_id: "req-1",
            time,
            request: &request,
        };
        let event = cloudtrail(&call, Ok(None));
        let envelope = event.envelope();
        assert_eq!(envelope["detail-type"], CLOUDTRAIL);
        assert_eq!(envelope["source"], SOURCE);
        assert_eq!(envelope["version"], "0");
        assert_eq!(envelope["time"], "2026-01-02T09:18:24Z");
        assert_eq!(envelope["resources"], json!([]));
        let detail = &envelope["detail"];
        assert_eq!(detail["eventName"], "DeleteModelPackageGroup");
        assert_eq!(detail["eventSource"], "sagemaker.amazonaws.com");
        assert_eq!(detail["eventTime"], "2026-01-02T09:18:24Z");
        assert_eq!(
            detail["requestParameters"],
            json!({"modelPackageGroupName": "fraud-detector"})
        );
        assert_eq!(detail["responseElements"], Value::Null);
        assert_eq!(detail["readOnly"], false);
        assert_eq!(detail["managementEvent"], true);
        assert_eq!(detail["eventType"], "AwsApiCall");
        assert_eq!(detail["eventCategory"], "Management");
        assert_eq!(detail["recipientAccountId"], "123456789012");
        assert_eq!(detail["sourceIPAddress"], "127.0.0.1");
        assert_eq!(detail["userAgent"], "aws-cli/2.x");
        assert_eq!(detail["requestID"], "req-1");
        assert!(detail.get("errorCode").is_none());
        assert_eq!(detail["eventID"].as_str().map(str::len), Some(36));

        let failed = cloudtrail(&call, Err(("ConflictException", "not empty".into())));
        assert_eq!(failed.detail["errorCode"], "ConflictException");
        assert_eq!(failed.detail["errorMessage"], "not empty");
        assert_ne!(failed.detail["eventID"], event.detail["eventID"]);
    }

    #[test]
    fn put_events_entry_sends_detail_as_text_and_time_as_epoch() {
        let time = Utc
            .timestamp_millis_opt(1_700_000_000_500)
            .single()
            .unwrap();
        let event = state_change(
            "123456789012",
            "us-east-1",
            time,
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
            json!({"ModelPackageVersion": 1}),
        );
        let entry = event.put_events_entry("default");
        assert_eq!(entry["Time"], json!(1_700_000_000.5));
        assert_eq!(entry["Detail"], json!("{\"ModelPackageVersion\":1}"));
        assert_eq!(entry["DetailType"], STATE_CHANGE);
        assert_eq!(entry["EventBusName"], "default");
        assert_eq!(
            entry["Resources"],
            json!(["arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"])
        );
    }
}
