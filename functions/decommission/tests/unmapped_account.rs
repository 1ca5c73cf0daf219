//! Security suite: a deletion from an account outside the registry map is refused. The CloudTrail
//! record is quarantined with its reason, and governance is neither read nor written, even when the
//! group and version match a package synced from a mapped account.

mod support;

use support::*;

#[tokio::test]
async fn a_delete_from_an_unmapped_account_is_quarantined_and_governance_is_untouched() {
    let world = World::new();
    let (_, group) = world.add_group("credit-risk");
    let (package, model) = world.synced_package(&group, "credit-risk", 1).await;
    let calls_before = world.governance.calls().len();

    // The same group and version, but in account 999999999999, which the registry map does not name.
    let foreign_arn = package.arn.as_str().replace("123456789012", "999999999999");
    assert_ne!(foreign_arn, package.arn.as_str());
    let foreign = package_deleted(&foreign_arn, "ct-foreign-1")
        .replace("\"123456789012\"", "\"999999999999\"");
    assert!(foreign.contains(r#""account":"999999999999""#), "{foreign}");

    let failures = world.run(vec![record("m-foreign", &foreign)]).await;

    assert!(
        failures.is_empty(),
        "a refused event is not retried: {failures:?}"
    );
    let quarantined = world.quarantine.messages();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(quarantined[0].error_code, "unknown_registry");
    assert!(
        quarantined[0].reason.contains("999999999999"),
        "the reason names the account: {}",
        quarantined[0].reason
    );
    assert_eq!(quarantined[0].source_message_id, "m-foreign");
    assert_eq!(
        world.governance.calls()[calls_before..],
        [] as [&str; 0],
        "governance is not called for a refused event"
    );
    assert_ne!(
        world.status(&model.id).as_deref(),
        Some("Decommissioned"),
        "the mapped account's model is not decommissioned"
    );
}
