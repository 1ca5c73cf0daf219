//! Security suite: a deletion of a package no mapped registry owns has no effect (design §4: skipped
//! with a reason, never acted on). Governance is neither read nor written, no tombstone is left for the
//! foreign ARN, even when the group and version match a package synced from a mapped account.

mod support;

use govsync_core::ports::TombstoneStore as _;
use support::*;

#[tokio::test]
async fn a_delete_of_a_package_no_mapped_registry_owns_has_no_effect() {
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
    assert!(
        world.quarantine.messages().is_empty(),
        "skipped with its reason, not dead-lettered"
    );
    let foreign_arn = govsync_core::ModelPackageArn::parse(&foreign_arn).unwrap();
    assert!(world.links.tombstone(&foreign_arn).await.unwrap().is_none());
    assert_eq!(
        world.governance.calls()[calls_before..],
        [] as [&str; 0],
        "governance is not called for a foreign package"
    );
    assert_ne!(
        world.status(&model.id).as_deref(),
        Some("Decommissioned"),
        "the mapped account's model is not decommissioned"
    );
}
