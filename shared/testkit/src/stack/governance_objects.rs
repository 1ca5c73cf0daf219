//! Governance objects the local-stack tests start from or look for.

use super::*;

/// A business entity and an approved, high-risk use case in governance; returns the use case.
pub async fn approved_use_case(governance: &GovernanceClient, name: &str) -> GovernanceObject {
    approved_use_case_under(
        governance,
        &format!("Retail Banking {name}"),
        &format!("Use case {name}"),
    )
    .await
}

/// The business entity `entity` and an approved, high-risk use case `use_case` under it; returns the
/// use case.
pub async fn approved_use_case_under(
    governance: &GovernanceClient,
    entity: &str,
    use_case: &str,
) -> GovernanceObject {
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: entity.to_owned(),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: use_case.to_owned(),
            description: Some("Detect card fraud".into()),
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
            ],
        })
        .await
        .unwrap()
}

/// The one governance object carrying `external_id`; panics when there is none or several.
pub async fn the_one(
    governance: &GovernanceClient,
    kind: GovernanceKind,
    external_id: &str,
) -> GovernanceObject {
    match governance
        .find_by_external_id(kind, external_id)
        .await
        .unwrap()
    {
        ExternalIdLookup::Found(object) => object,
        ExternalIdLookup::Absent => panic!("no governance {kind:?} for {external_id}"),
        ExternalIdLookup::Ambiguous(ids) => {
            panic!("several governance {kind:?} objects for {external_id}: {ids:?}")
        }
    }
}

/// The governance model id written back onto a package, if any.
pub async fn written_back_model_id(
    person: &aws_sdk_sagemaker::Client,
    package_arn: &str,
) -> Option<String> {
    person
        .describe_model_package()
        .model_package_name(package_arn)
        .send()
        .await
        .unwrap()
        .customer_metadata_properties()
        .and_then(|m| m.get(keys::LINKS))
        .and_then(|links| govsync_core::sync::registry::PackedLinks::parse(links))
        .map(|links| links.model.to_string())
}

/// Who real EventBridge says sent a registry event, as a spoke forwards it: a CloudTrail record's
/// recipient account, a state change's package owner.
pub fn source_account(envelope: &Value) -> Option<String> {
    if envelope["detail-type"] == "AWS API Call via CloudTrail" {
        return envelope["detail"]["recipientAccountId"]
            .as_str()
            .map(str::to_owned);
    }
    envelope["resources"][0]
        .as_str()
        .and_then(|arn| arn.split(':').nth(4))
        .map(str::to_owned)
}
