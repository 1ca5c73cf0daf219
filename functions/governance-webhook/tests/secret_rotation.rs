//! A warm instance follows a rotation of the signing secrets: it re-reads them on a verification miss
//! (at most every 30 s) and after 5 minutes, and keeps what it holds when a re-read fails.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use govsync_governance_webhook::Outcome;
use support::*;

/// A secret the platform rotates to (not in the source at cold start).
const ROTATED_IN: &str = "whsec_cm90YXRlZC1pbi1zaWduaW5nLXNlY3JldA==";

fn delivery_at(key: &str, at: DateTime<Utc>) -> aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    signed(key, &unique_id(), at.timestamp(), UPDATED_BODY)
}

async fn status_at<S: govsync_governance_webhook::signing_secrets::SigningSecretSource>(
    handler: &govsync_governance_webhook::Handler<
        govsync_adapters::fakes::FakeIdempotencyStore,
        govsync_adapters::fakes::FakeMessageQueue,
        S,
    >,
    key: &str,
    at: DateTime<Utc>,
) -> u16 {
    let outcome = handler
        .handle(&delivery_at(key, at), at, at + TimeDelta::seconds(10))
        .await;
    if let Outcome::Refused(error) = &outcome {
        assert_eq!(error.code(), "invalid_signature", "{error}");
    }
    outcome.status()
}

#[tokio::test]
async fn a_warm_instance_accepts_a_rotated_in_secret_after_one_miss() {
    let source = RotatingSecrets::new(&[CURRENT]);
    let (_, queue, handler) = rotating_handler(source.clone(), &[CURRENT]);
    let t0 = Utc::now();
    assert_eq!(status_at(&handler, CURRENT, t0).await, 202);

    // The platform rotates: the new secret is current, the old one previous.
    source.rotate(&[ROTATED_IN, CURRENT]);
    assert_eq!(
        status_at(&handler, ROTATED_IN, t0 + TimeDelta::seconds(1)).await,
        202
    );
    assert_eq!(source.reads(), 1, "one re-read, on the miss");
    assert_eq!(queue.messages().len(), 2);
    // Held from now on: no further read for deliveries with either secret.
    assert_eq!(
        status_at(&handler, CURRENT, t0 + TimeDelta::seconds(2)).await,
        202
    );
    assert_eq!(
        status_at(&handler, ROTATED_IN, t0 + TimeDelta::seconds(3)).await,
        202
    );
    assert_eq!(source.reads(), 1);
}

#[tokio::test]
async fn a_flood_of_forged_signatures_rereads_the_secrets_at_most_once_per_30_seconds() {
    let source = RotatingSecrets::new(&[CURRENT]);
    let (store, queue, handler) = rotating_handler(source.clone(), &[CURRENT]);
    let t0 = Utc::now();
    for second in 0..30 {
        assert_eq!(
            status_at(&handler, STRANGER, t0 + TimeDelta::seconds(second)).await,
            401
        );
    }
    assert_eq!(source.reads(), 1);
    assert_eq!(
        status_at(&handler, STRANGER, t0 + TimeDelta::seconds(30)).await,
        401
    );
    assert_eq!(source.reads(), 2);
    assert!(store.is_empty() && queue.messages().is_empty());
}

#[tokio::test]
async fn the_secrets_are_reread_after_five_minutes_without_a_miss() {
    let source = RotatingSecrets::new(&[CURRENT]);
    let (_, _, handler) = rotating_handler(source.clone(), &[CURRENT]);
    let t0 = Utc::now();
    assert_eq!(status_at(&handler, CURRENT, t0).await, 202);

    // The rotation ended: the old secret is gone from Secrets Manager.
    source.rotate(&[ROTATED_IN]);
    assert_eq!(
        status_at(&handler, CURRENT, t0 + TimeDelta::seconds(299)).await,
        202,
        "held for 5 minutes"
    );
    assert_eq!(source.reads(), 0);
    assert_eq!(
        status_at(&handler, CURRENT, t0 + TimeDelta::seconds(300)).await,
        401,
        "retired once the secrets are re-read"
    );
    assert_eq!(source.reads(), 1);
    assert_eq!(
        status_at(&handler, ROTATED_IN, t0 + TimeDelta::seconds(301)).await,
        202
    );
}

#[tokio::test]
async fn a_failed_reread_keeps_the_secrets_held() {
    let source = RotatingSecrets::new(&[CURRENT, PREVIOUS]);
    let (_, queue, handler) = rotating_handler(source.clone(), &[CURRENT, PREVIOUS]);
    let t0 = Utc::now();
    assert_eq!(status_at(&handler, CURRENT, t0).await, 202);
    source.fail();
    assert_eq!(
        status_at(&handler, STRANGER, t0 + TimeDelta::seconds(1)).await,
        401
    );
    assert_eq!(
        status_at(&handler, PREVIOUS, t0 + TimeDelta::seconds(2)).await,
        202
    );
    // Expired and the read fails again: still verifying with what it holds.
    assert_eq!(
        status_at(&handler, CURRENT, t0 + TimeDelta::seconds(400)).await,
        202
    );
    assert_eq!(source.reads(), 2);
    assert_eq!(queue.messages().len(), 3);
}
