//! Fault injection and the admin API.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::start;

#[tokio::test]
async fn queued_faults_are_served_in_order_to_api_calls_only() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (status, _) = emulator
        .admin_post(
            "/faults",
            json!({"status": 429, "count": 2, "retry_after_secs": 3}),
        )
        .await;
    assert_eq!(status, 201);
    emulator
        .admin_post("/faults", json!({"status": 500, "count": 1}))
        .await;

    // Token endpoints are not faulted.
    let _ = emulator.token().await;

    for _ in 0..2 {
        let response = emulator
            .client
            .get(emulator.api("/types"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 429);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("3")
        );
    }
    assert_eq!(emulator.get(&token, "/types").await.0, 500);
    assert_eq!(emulator.get(&token, "/types").await.0, 200);

    let stats = emulator.admin_get("/stats").await;
    assert_eq!(
        stats,
        json!({"token_requests": 2, "api_requests": 4, "faults_served": 3, "unauthorized": 0})
    );
}

#[tokio::test]
async fn faults_apply_before_auth_so_a_throttled_call_needs_no_token() {
    let emulator = start().await;
    emulator.admin_post("/faults", json!({"status": 503})).await;
    let response = emulator
        .client
        .get(emulator.api("/types"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 503);
    let response = emulator
        .client
        .get(emulator.api("/types"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn latency_faults_delay_then_answer_normally() {
    let emulator = start().await;
    let token = emulator.token().await;
    emulator
        .admin_post("/faults", json!({"latency_ms": 200, "count": 1}))
        .await;
    let started = Instant::now();
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn deleting_faults_clears_the_queue_and_bad_faults_are_rejected() {
    let emulator = start().await;
    let token = emulator.token().await;
    emulator
        .admin_post("/faults", json!({"status": 500, "count": 5}))
        .await;
    let response = emulator
        .client
        .delete(emulator.url("/_emulator/faults"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 204);
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
    for bad in [
        json!({"count": 2}),
        json!({"status": 200}),
        json!({"status": 500, "count": 0}),
        json!({"status": 500, "colour": "red"}),
        json!({"latency_ms": 600000}),
    ] {
        let (status, _) = emulator.admin_post("/faults", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn reset_clears_objects_tokens_faults_and_stats_but_keeps_types() {
    let emulator = start().await;
    let token = emulator.token().await;
    emulator
        .create(&token, "SOXBusEntity", "entity", None, json!([]))
        .await;
    emulator
        .admin_post("/faults", json!({"status": 500, "count": 3}))
        .await;
    let (status, _) = emulator.admin_post("/reset", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(emulator.admin_get("/state").await["objects"], json!([]));
    assert_eq!(
        emulator.admin_get("/stats").await,
        json!({"token_requests": 0, "api_requests": 0, "faults_served": 0, "unauthorized": 0})
    );
    assert_eq!(
        emulator.get(&token, "/types").await.0,
        401,
        "tokens were cleared"
    );
    let fresh = emulator.token().await;
    let (status, types) = emulator.get(&fresh, "/types").await;
    assert_eq!(status, 200, "faults were cleared");
    assert_eq!(types["types"].as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn health_answers_ok() {
    let emulator = start().await;
    assert_eq!(emulator.admin_get("/health").await["status"], "ok");
}
