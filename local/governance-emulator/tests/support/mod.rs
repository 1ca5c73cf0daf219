//! Starts the emulator on 127.0.0.1:0 inside the test's runtime and talks to it with reqwest.
#![allow(dead_code)]

use std::time::Duration;

use govsync_governance_emulator::{EmulatorConfig, bind, serve};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub struct Emulator {
    pub base: String,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

pub fn test_config() -> EmulatorConfig {
    EmulatorConfig {
        webhook_retry_delays: vec![Duration::from_millis(20), Duration::from_millis(20)],
        webhook_attempt_timeout: Duration::from_secs(2),
        ..EmulatorConfig::default()
    }
}

pub async fn start() -> Emulator {
    start_with(test_config()).await
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    let (listener, address) = bind(&config).await.expect("bind 127.0.0.1:0");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, config, async {
        let _ = rx.await;
    }));
    Emulator {
        base: format!("http://{address}"),
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        _shutdown: tx,
    }
}

pub const API: &str = "/opgrc/api/v2";

impl Emulator {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{API}{path}", self.base)
    }

    /// An mcsp bearer token.
    pub async fn token(&self) -> String {
        let response = self
            .client
            .post(self.url("/api/2.0/services/instance-1/apikeys/token"))
            .json(&json!({"apikey": "local-api-key"}))
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token json");
        body["token"].as_str().expect("token field").to_owned()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.api(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("post");
        status_and_json(response).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .put(self.api(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("put");
        status_and_json(response).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.api(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        status_and_json(response).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> u16 {
        let response = self
            .client
            .delete(self.api(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("delete");
        response.status().as_u16()
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(&format!("/_emulator{path}")))
            .json(&body)
            .send()
            .await
            .expect("admin post");
        status_and_json(response).await
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(&format!("/_emulator{path}")))
            .send()
            .await
            .expect("admin get");
        assert_eq!(response.status(), 200, "GET /_emulator{path}");
        response.json().await.expect("admin json")
    }

    /// Creates an object and returns its id; panics with the body if creation fails.
    pub async fn create(
        &self,
        token: &str,
        type_id: &str,
        name: &str,
        parent: Option<&str>,
        fields: Value,
    ) -> String {
        let (status, body) = self
            .post(
                token,
                "/contents",
                json!({
                    "name": name,
                    "description": format!("{name} description"),
                    "type_definition_id": type_id,
                    "primary_parent_id": parent,
                    "fields": fields,
                }),
            )
            .await;
        assert_eq!(status, 200, "create {type_id} {name}: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Entity → use case → model group; returns their ids.
    pub async fn seed_chain(&self, token: &str) -> (String, String, String) {
        let entity = self
            .create(token, "SOXBusEntity", "Registry us-east-1", None, json!([]))
            .await;
        let use_case = self
            .create(
                token,
                "ModelUseCase",
                "Fraud detection",
                Some(&entity),
                json!([{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Proposed"}}]),
            )
            .await;
        let group = self
            .create(
                token,
                "ModelGroup",
                "fraud-detection",
                Some(&use_case),
                json!([]),
            )
            .await;
        (entity, use_case, group)
    }
}

pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// The value of field `name` in an object or query row.
pub fn field<'a>(object: &'a Value, name: &str) -> &'a Value {
    object["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .map_or(&Value::Null, |f| &f["value"])
}
