//! Puts events on EventBridge (moto locally) with `AWSEvents.PutEvents`.

use std::time::Duration;

use chrono::Utc;
use reqwest::Url;
use serde_json::{Value, json};

use crate::error::{AMZ_JSON_1_1, PublishError};
use crate::events::Event;
use crate::sigv4::{SigningRequest, sign};

/// moto does not check signatures; these are its conventional test credentials.
const ACCESS_KEY_ID: &str = "testing";
const SECRET_ACCESS_KEY: &str = "testing";
const TARGET: &str = "AWSEvents.PutEvents";
/// PutEvents takes at most 10 entries per call.
const MAX_ENTRIES: usize = 10;

pub struct Publisher {
    client: reqwest::Client,
    endpoint: Url,
    bus: String,
}

impl Publisher {
    pub fn new(endpoint: &str, bus: &str) -> Result<Self, PublishError> {
        let endpoint = Url::parse(endpoint)
            .map_err(|error| PublishError::Endpoint(format!("{endpoint}: {error}")))?;
        if endpoint.host_str().is_none() || !matches!(endpoint.scheme(), "http" | "https") {
            return Err(PublishError::Endpoint(endpoint.to_string()));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            client,
            endpoint,
            bus: bus.to_owned(),
        })
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// Publishes events in order, each batch signed for the region its events belong to.
    pub async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        let mut start = 0;
        while start < events.len() {
            let region = &events[start].region;
            let end = events[start..]
                .iter()
                .take(MAX_ENTRIES)
                .take_while(|event| &event.region == region)
                .count()
                + start;
            self.put_events(region, &events[start..end]).await?;
            start = end;
        }
        Ok(())
    }

    async fn put_events(&self, region: &str, events: &[Event]) -> Result<(), PublishError> {
        let entries: Vec<Value> = events
            .iter()
            .map(|event| event.put_events_entry(&self.bus))
            .collect();
        let body = json!({ "Entries": entries }).to_string();
        let host = match (self.endpoint.host_str(), self.endpoint.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(PublishError::Endpoint(self.endpoint.to_string())),
        };
        let (amz_date, authorization) = sign(&SigningRequest {
            host: &host,
            path: self.endpoint.path(),
            target: TARGET,
            body: body.as_bytes(),
            region,
            service: "events",
            access_key_id: ACCESS_KEY_ID,
            secret_access_key: SECRET_ACCESS_KEY,
            time: Utc::now(),
        });
        let response = self
            .client
            .post(self.endpoint.clone())
            .header("content-type", AMZ_JSON_1_1)
            .header("x-amz-target", TARGET)
            .header("x-amz-date", amz_date)
            .header("authorization", authorization)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(PublishError::Status {
                status: status.as_u16(),
                body: text,
            });
        }
        let failed = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|answer| answer.get("FailedEntryCount").and_then(Value::as_u64))
            .unwrap_or(0);
        if failed > 0 {
            return Err(PublishError::FailedEntries { failed, body: text });
        }
        Ok(())
    }
}
