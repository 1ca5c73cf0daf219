//! F1 for a central registry: the group's resource policy that lets the use case's development accounts
//! register versions into it (SageMaker Developer Guide, "Register a Model Version from a Different
//! Account"; the policy is put with `PutModelPackageGroupPolicy`). The accounts come from a use-case
//! field of govsync's choosing ([`fields::USE_CASE_DEVELOPMENT_ACCOUNTS`]); empty or absent, no policy
//! is written (the default).

use serde_json::json;

use super::super::fields;
use crate::aws_identity::AccountId;
use crate::model_package::ModelPackageGroupArn;
use crate::ports::GovernanceObject;

/// What a development account may do in the shared group: register versions and read and update them
/// (the data scientist's own edits); never delete, never change the policy.
pub const DEVELOPMENT_ACCOUNT_ACTIONS: [&str; 5] = [
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:UpdateModelPackage",
    "sagemaker:DescribeModelPackageGroup",
];

/// The development accounts a use case names, in order, without repeats and without the registry's own
/// account; `Err` names the first entry that is not a 12-digit account id.
pub fn development_accounts(
    use_case: &GovernanceObject,
    registry_account: &AccountId,
) -> Result<Vec<AccountId>, String> {
    let Some(text) = use_case
        .field(fields::USE_CASE_DEVELOPMENT_ACCOUNTS)
        .and_then(crate::ports::FieldValue::as_text)
    else {
        return Ok(Vec::new());
    };
    let mut accounts: Vec<AccountId> = Vec::new();
    for part in text.split([',', ';', ' ', '\n']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let account = AccountId::parse(part).map_err(|_| part.to_owned())?;
        if &account != registry_account && !accounts.contains(&account) {
            accounts.push(account);
        }
    }
    Ok(accounts)
}

/// The group's resource policy for `accounts`.
pub fn development_accounts_policy(group: &ModelPackageGroupArn, accounts: &[AccountId]) -> String {
    let partition = group.as_str().split(':').nth(1).unwrap_or("aws");
    let principals: Vec<String> = accounts
        .iter()
        .map(|account| format!("arn:{partition}:iam::{account}:root"))
        .collect();
    let versions = format!(
        "{}/*",
        group
            .as_str()
            .replacen(":model-package-group/", ":model-package/", 1)
    );
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GovsyncDevelopmentAccounts",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": DEVELOPMENT_ACCOUNT_ACTIONS,
            "Resource": [group.as_str(), versions],
        }],
    })
    .to_string()
}
