//! Scoped faults and added API keys: a fault can be limited to one caller (the subject of an API key
//! added through the admin API), one method and one path prefix, so tests running at the same time
//! against one emulator fault only their own calls.

mod support;

use serde_json::{Value, json};
use support::{Emulator, start};

async fn token_for(emulator: &Emulator, apikey: &str) -> (u16, Value) {
    let response = emulator
        .client
        .post(emulator.url("/api/2.0/services/instance-1/apikeys/token"))
        .json(&json!({ "apikey": apikey }))
        .send()
        .await
        .expect("token request");
    support::status_and_json(response).await
}

async fn tenant_token(emulator: &Emulator, apikey: &str, subject: &str) -> String {
    let (status, body) = emulator
        .admin_post("/apikeys", json!({"apikey": apikey, "subject": subject}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = token_for(emulator, apikey).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn an_added_api_key_gets_tokens_whose_subject_stamps_its_writes() {
    let emulator = start().await;
    assert_eq!(token_for(&emulator, "tenant-a-key").await.0, 401);
    let token = tenant_token(&emulator, "tenant-a-key", "tenant-a").await;

    let (status, created) = emulator
        .post(
            &token,
            "/contents",
            json!({"name": "Retail", "type_definition_id": "SOXBusEntity"}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(support::field(&created, "Created By"), "tenant-a");

    // The IAM token endpoint accepts it too.
    let response = emulator
        .client
        .post(emulator.url("/identity/token"))
        .form(&[
            ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
            ("apikey", "tenant-a-key"),
        ])
        .send()
        .await
        .expect("iam token");
    assert_eq!(response.status(), 200);

    assert_eq!(
        emulator.admin_get("/apikeys").await,
        json!({"subjects": ["tenant-a"]})
    );
    // A reset keeps added keys (configuration, like the webhook target).
    assert_eq!(
        emulator.admin_post("/reset", json!({})).await.0,
        204,
        "reset"
    );
    assert_eq!(token_for(&emulator, "tenant-a-key").await.0, 200);
}

#[tokio::test]
async fn bad_api_key_requests_are_refused() {
    let emulator = start().await;
    for bad in [
        json!({"apikey": "", "subject": "x"}),
        json!({"apikey": "k", "subject": ""}),
        json!({"apikey": "local-api-key", "subject": "x"}),
        json!({"apikey": "k"}),
        json!({"apikey": "k", "subject": "x", "role": "admin"}),
    ] {
        let (status, body) = emulator.admin_post("/apikeys", bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {body}");
    }
}

#[tokio::test]
async fn a_subject_scoped_fault_hits_only_that_subjects_calls() {
    let emulator = start().await;
    let shared = emulator.token().await;
    let tenant = tenant_token(&emulator, "tenant-a-key", "tenant-a").await;
    let (status, queued) = emulator
        .admin_post(
            "/faults",
            json!({"status": 429, "count": 2, "retry_after_secs": 0, "subject": "tenant-a"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        queued,
        json!({"faults": [{"status": 429, "retry_after_secs": 0, "latency_ms": null, "remaining": 2, "subject": "tenant-a"}]})
    );

    // Others' calls, and calls without credentials, pass by the scoped fault.
    assert_eq!(emulator.get(&shared, "/types").await.0, 200);
    let anonymous = emulator
        .client
        .get(emulator.api("/types"))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), 401);

    let first = emulator
        .client
        .get(emulator.api("/types"))
        .bearer_auth(&tenant)
        .send()
        .await
        .expect("send");
    assert_eq!(first.status(), 429);
    assert_eq!(
        first
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
    assert_eq!(emulator.get(&tenant, "/types").await.0, 429);
    assert_eq!(emulator.get(&tenant, "/types").await.0, 200);

    let stats = emulator.admin_get("/stats").await;
    assert_eq!(stats["faults_served"], 2);
    assert_eq!(stats["unauthorized"], 1);
}

#[tokio::test]
async fn method_and_path_scopes_pick_the_calls_and_unscoped_faults_still_hit_everyone() {
    let emulator = start().await;
    let tenant = tenant_token(&emulator, "tenant-a-key", "tenant-a").await;
    let other = emulator.token().await;
    emulator
        .admin_post(
            "/faults",
            json!({"status": 500, "count": 1, "subject": "tenant-a", "method": "post", "path_prefix": "/contents"}),
        )
        .await;

    // A query (POST /query) and a read (GET /types) of the tenant are not faulted.
    let (status, _) = emulator
        .post(
            &tenant,
            "/query",
            json!({"statement": "SELECT [Name] FROM [SOXBusEntity]"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(emulator.get(&tenant, "/types").await.0, 200);
    // Another caller's create is not faulted; the tenant's is, once.
    let entity = json!({"name": "Retail", "type_definition_id": "SOXBusEntity"});
    assert_eq!(
        emulator.post(&other, "/contents", entity.clone()).await.0,
        200
    );
    assert_eq!(
        emulator.post(&tenant, "/contents", entity.clone()).await.0,
        500
    );
    assert_eq!(
        emulator.post(&tenant, "/contents", entity.clone()).await.0,
        200
    );

    // An unscoped fault applies to the tenant as to anyone.
    emulator
        .admin_post("/faults", json!({"status": 503, "count": 1}))
        .await;
    assert_eq!(emulator.get(&tenant, "/types").await.0, 503);
    assert_eq!(emulator.get(&tenant, "/types").await.0, 200);
}

#[tokio::test]
async fn bad_scopes_are_refused() {
    let emulator = start().await;
    for bad in [
        json!({"status": 500, "subject": ""}),
        json!({"status": 500, "method": ""}),
        json!({"status": 500, "path_prefix": "contents"}),
        json!({"status": 500, "user": "tenant-a"}),
    ] {
        let (status, body) = emulator.admin_post("/faults", bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {body}");
    }
    assert_eq!(emulator.admin_get("/faults").await, json!({"faults": []}));
}

#[tokio::test]
async fn a_revoked_api_key_and_its_tokens_stop_working_and_a_new_key_of_its_subject_works() {
    let emulator = start().await;
    let token = tenant_token(&emulator, "old-key", "tenant-r").await;
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
    let revoke = |key: &str| {
        emulator
            .client
            .delete(emulator.url(&format!("/_emulator/apikeys/{key}")))
            .send()
    };
    assert_eq!(revoke("old-key").await.expect("revoke").status(), 204);
    assert_eq!(revoke("old-key").await.expect("revoke").status(), 404);
    assert_eq!(token_for(&emulator, "old-key").await.0, 401);
    assert_eq!(emulator.get(&token, "/types").await.0, 401);
    let token = tenant_token(&emulator, "new-key", "tenant-r").await;
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
}
