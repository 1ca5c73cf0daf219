//! The part of AWS RAM (restJson1, `POST /createresourceshare`, `DELETE /deleteresourceshare`) that shares
//! model package groups across accounts, so a RAM-shared group can be tested beside a policy-shared one.
//!
//! Documented ("Cross-account discoverability", docs.aws.amazon.com/sagemaker/latest/dg/model-registry-ram.html):
//! a resource share names the group and the consumer principals; sharing is backed by a resource policy
//! on the group. Not documented, and the emulator's choice: which actions RAM's default permission for
//! model package groups grants (here `policy::RAM_SHARE_ACTIONS`: read the group and its versions and
//! register versions), that shares are active at once (no invitation to accept, as inside an
//! organisation), that a share's grant is kept apart from `PutModelPackageGroupPolicy`'s policy (deleting
//! one leaves the other), and that only account ids are accepted as principals. RAM's own CloudTrail
//! records (`ram.amazonaws.com`) are not published: govsync listens to none.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CallContext, Outcome, Registries, parse_input, split_sagemaker_arn};
use crate::error::ApiError;
use crate::validate;

/// The RAM operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamOperation {
    CreateResourceShare,
    DeleteResourceShare,
}

#[derive(Debug, Clone)]
pub(super) struct Share {
    name: String,
    owner: String,
    region: String,
    /// (owner account, region, group key) of each shared group.
    groups: Vec<(String, String, String)>,
    created: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    resource_arns: Option<Vec<String>>,
    principals: Option<Vec<String>>,
}

fn ram_error(code: &'static str, message: String) -> ApiError {
    ApiError::Ram { code, message }
}

impl Registries {
    /// Serves one RAM call; `share_arn` is `DeleteResourceShare`'s query parameter.
    pub fn ram_call(
        &mut self,
        ctx: &CallContext,
        operation: RamOperation,
        body: &[u8],
        share_arn: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        match operation {
            RamOperation::CreateResourceShare => {
                let raw = super::parse_body(body)?;
                self.create_share(ctx, &parse_input(&raw)?)
            }
            RamOperation::DeleteResourceShare => self.delete_share(ctx, share_arn),
        }
    }

    fn create_share(
        &mut self,
        ctx: &CallContext,
        input: &CreateInput,
    ) -> Result<Outcome, ApiError> {
        let name = input
            .name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| ram_error("InvalidParameterException", "name is required".into()))?;
        let principals = input.principals.clone().unwrap_or_default();
        if let Some(bad) = principals
            .iter()
            .find(|p| p.len() != 12 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ram_error(
                "InvalidParameterException",
                format!("The registry emulator shares with account ids only, not {bad}"),
            ));
        }
        let mut groups = Vec::new();
        for arn in input.resource_arns.clone().unwrap_or_default() {
            let (region, account, resource) =
                split_sagemaker_arn(&arn, "resourceArns").map_err(|_| {
                    ram_error(
                        "MalformedArnException",
                        format!("The ARN {arn} is malformed."),
                    )
                })?;
            let key = resource
                .strip_prefix("model-package-group/")
                .filter(|name| validate::is_entity_name(name))
                .map(str::to_ascii_lowercase);
            let owned = key.as_ref().is_some_and(|key| {
                account == ctx.caller.account
                    && region == ctx.region
                    && self
                        .registries
                        .get(&(account.to_owned(), region.to_owned()))
                        .is_some_and(|registry| registry.groups.contains_key(key))
            });
            match key {
                Some(key) if owned => groups.push((account.to_owned(), region.to_owned(), key)),
                _ => {
                    return Err(ram_error(
                        "UnknownResourceException",
                        format!(
                            "The resource {arn} does not exist in your account or cannot be shared by the registry emulator."
                        ),
                    ));
                }
            }
        }
        let share_arn = format!(
            "arn:aws:ram:{}:{}:resource-share/{}",
            ctx.region,
            ctx.caller.account,
            uuid::Uuid::new_v4()
        );
        for (account, region, key) in &groups {
            if let Some(group) = self
                .registries
                .get_mut(&(account.clone(), region.clone()))
                .and_then(|registry| registry.groups.get_mut(key))
            {
                group
                    .ram_shares
                    .insert(share_arn.clone(), principals.clone());
            }
        }
        let created = self.tick().timestamp_millis() as f64 / 1000.0;
        let share = Share {
            name,
            owner: ctx.caller.account.clone(),
            region: ctx.region.clone(),
            groups,
            created,
        };
        let response = json!({ "resourceShare": share.describe(&share_arn, "ACTIVE") });
        self.shares.insert(share_arn, share);
        Ok(Outcome::quiet(response))
    }

    fn delete_share(
        &mut self,
        ctx: &CallContext,
        share_arn: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let arn = share_arn.ok_or_else(|| {
            ram_error(
                "InvalidParameterException",
                "resourceShareArn is required".into(),
            )
        })?;
        let owned = self
            .shares
            .get(arn)
            .is_some_and(|share| share.owner == ctx.caller.account && share.region == ctx.region);
        if !owned {
            return Err(ram_error(
                "UnknownResourceException",
                format!("The resource share {arn} does not exist."),
            ));
        }
        if let Some(share) = self.shares.remove(arn) {
            for (account, region, key) in &share.groups {
                if let Some(group) = self
                    .registries
                    .get_mut(&(account.clone(), region.clone()))
                    .and_then(|registry| registry.groups.get_mut(key))
                {
                    group.ram_shares.remove(arn);
                }
            }
        }
        Ok(Outcome::quiet(json!({ "returnValue": true })))
    }
}

impl Share {
    fn describe(&self, arn: &str, status: &str) -> Value {
        json!({
            "resourceShareArn": arn,
            "name": self.name,
            "owningAccountId": self.owner,
            "allowExternalPrincipals": true,
            "status": status,
            "creationTime": self.created,
            "lastUpdatedTime": self.created,
            "featureSet": "STANDARD",
        })
    }
}
