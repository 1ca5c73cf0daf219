//! Who SageMaker records as a package's `CreatedBy` / `LastModifiedBy` (a `UserContext`).
//!
//! DescribeModelPackage's `UserContext` holds `UserProfileArn`, `UserProfileName` and `DomainId` when
//! the call came from a SageMaker Studio user profile, and `IamIdentity` (`Arn`, `PrincipalId`,
//! `SourceIdentity`) for model package groups and packages whoever called. A caller outside Studio
//! gets `IamIdentity` alone. Studio users share their domain's execution role, so only the profile
//! tells them apart; the emulator takes the profile of an access key from configuration
//! (`REGISTRY_EMULATOR_STUDIO_USERS=AKID=DOMAIN_ID/PROFILE_NAME,…`), as a domain whose
//! `ExecutionRoleIdentityConfig` is `USER_PROFILE_NAME` also sets the session's source identity.
//!
//! Also the Studio domains and user profiles that exist, per account and region
//! (`REGISTRY_EMULATOR_STUDIO_DOMAINS`), which CreatePresignedDomainUrl ([`crate::presigned_url`]) checks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use crate::error::ConfigError;
use crate::events::Caller;

/// A Studio user profile in a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudioUser {
    pub domain_id: String,
    pub profile_name: String,
}

/// `AKID=DOMAIN_ID/PROFILE_NAME` pairs, comma-separated.
pub fn parse_users(name: &str, list: &str) -> Result<HashMap<String, StudioUser>, ConfigError> {
    let mut users = HashMap::new();
    for pair in list.split(',').filter(|pair| !pair.trim().is_empty()) {
        let parsed = pair.split_once('=').and_then(|(key, user)| {
            let (domain_id, profile_name) = user.trim().split_once('/')?;
            let usable = |text: &str| {
                !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            (usable(key.trim()) && usable(domain_id) && usable(profile_name)).then(|| {
                (
                    key.trim().to_owned(),
                    StudioUser {
                        domain_id: domain_id.to_owned(),
                        profile_name: profile_name.to_owned(),
                    },
                )
            })
        });
        let Some((key, user)) = parsed else {
            return Err(ConfigError::InvalidValue {
                name: name.to_owned(),
                value: pair.to_owned(),
                reason: "expected ACCESS_KEY_ID=DOMAIN_ID/USER_PROFILE_NAME",
            });
        };
        users.insert(key, user);
    }
    Ok(users)
}

/// Studio domains by (account, region, domain id), each with its user profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudioDomains {
    domains: BTreeMap<(String, String, String), BTreeSet<String>>,
}

impl StudioDomains {
    /// The user profiles of a domain in an account and region; `None` when there is no such domain.
    pub fn profiles(
        &self,
        account: &str,
        region: &str,
        domain_id: &str,
    ) -> Option<&BTreeSet<String>> {
        self.domains
            .get(&(account.to_owned(), region.to_owned(), domain_id.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

/// `ACCOUNT:REGION:DOMAIN_ID/PROFILE+PROFILE` entries, comma-separated. Every part is checked as AWS
/// would name it (12-digit account, region, `d-…` domain id, profile names), and a domain may be listed
/// once only, so a typo cannot silently split or drop profiles.
pub fn parse_domains(name: &str, list: &str) -> Result<StudioDomains, ConfigError> {
    let refuse = |entry: &str, reason: &'static str| ConfigError::InvalidValue {
        name: name.to_owned(),
        value: entry.to_owned(),
        reason,
    };
    let mut domains = BTreeMap::new();
    for entry in list.split(',').filter(|entry| !entry.trim().is_empty()) {
        let parsed = (|| {
            let mut parts = entry.trim().splitn(3, ':');
            let (account, region, rest) = (parts.next()?, parts.next()?, parts.next()?);
            let (domain_id, profiles) = rest.split_once('/')?;
            let profiles: BTreeSet<String> = profiles
                .split('+')
                .map(|profile| crate::validate::is_entity_name(profile).then(|| profile.to_owned()))
                .collect::<Option<_>>()?;
            (crate::config::is_account_id(account)
                && crate::config::is_region(region)
                && crate::validate::is_domain_id(domain_id))
            .then(|| {
                (
                    (account.to_owned(), region.to_owned(), domain_id.to_owned()),
                    profiles,
                )
            })
        })();
        let Some((key, profiles)) = parsed else {
            return Err(refuse(
                entry,
                "expected ACCOUNT_ID:REGION:DOMAIN_ID/PROFILE+PROFILE (12-digit account, a region such as us-east-1, a d-… domain id, profile names of letters, digits and inner hyphens)",
            ));
        };
        if domains.insert(key, profiles).is_some() {
            return Err(refuse(
                entry,
                "this domain is listed twice; list all of its profiles in one entry",
            ));
        }
    }
    Ok(StudioDomains { domains })
}

/// The `UserContext` SageMaker records for a call by `caller` in `region`.
pub fn user_context(caller: &Caller, region: &str) -> Value {
    let principal_id = caller.user_identity()["principalId"].clone();
    let mut identity = json!({"Arn": caller.arn, "PrincipalId": principal_id});
    let mut context = Map::new();
    if let Some(user) = &caller.studio {
        identity["SourceIdentity"] = json!(user.profile_name);
        context.insert(
            "UserProfileArn".into(),
            json!(format!(
                "arn:aws:sagemaker:{region}:{}:user-profile/{}/{}",
                caller.account, user.domain_id, user.profile_name
            )),
        );
        context.insert("UserProfileName".into(), json!(user.profile_name));
        context.insert("DomainId".into(), json!(user.domain_id));
    }
    context.insert("IamIdentity".into(), identity);
    Value::Object(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(studio: Option<StudioUser>) -> Caller {
        Caller {
            arn: "arn:aws:sts::123456789012:assumed-role/StudioExecutionRole/SageMaker".into(),
            account: "123456789012".into(),
            access_key_id: "ASIASTUDIO".into(),
            studio,
        }
    }

    #[test]
    fn a_studio_caller_is_recorded_by_profile_and_a_plain_caller_by_iam_identity_alone() {
        let alice = StudioUser {
            domain_id: "d-abc123".into(),
            profile_name: "alice".into(),
        };
        let studio = user_context(&caller(Some(alice)), "eu-west-1");
        assert_eq!(studio["UserProfileName"], "alice");
        assert_eq!(studio["DomainId"], "d-abc123");
        assert_eq!(
            studio["UserProfileArn"],
            "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-abc123/alice"
        );
        assert_eq!(
            studio["IamIdentity"]["Arn"],
            "arn:aws:sts::123456789012:assumed-role/StudioExecutionRole/SageMaker"
        );
        assert_eq!(studio["IamIdentity"]["SourceIdentity"], "alice");
        assert_eq!(studio["IamIdentity"]["PrincipalId"], "ASIASTUDIO:SageMaker");
        let plain = user_context(&caller(None), "eu-west-1");
        assert_eq!(
            plain
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["IamIdentity".to_owned()])
        );
        assert!(plain["IamIdentity"].get("SourceIdentity").is_none());
    }

    #[test]
    fn studio_domains_are_read_per_account_and_region_and_bad_entries_are_refused() {
        let domains = parse_domains(
            "X",
            "123456789012:us-east-1:d-local000001/alice+bob, 111111111111:eu-west-1:d-dev1/carol",
        )
        .unwrap();
        let profiles = domains
            .profiles("123456789012", "us-east-1", "d-local000001")
            .unwrap();
        assert_eq!(
            profiles.iter().map(String::as_str).collect::<Vec<_>>(),
            ["alice", "bob"]
        );
        assert!(
            domains
                .profiles("123456789012", "eu-west-1", "d-local000001")
                .is_none()
        );
        assert!(
            domains
                .profiles("111111111111", "eu-west-1", "d-dev1")
                .is_some()
        );
        assert!(parse_domains("X", "").unwrap().is_empty());
        for bad in [
            "123456789012:us-east-1:d-x",
            "123456789012:us-east-1:d-x/",
            "123456789012:us-east-1:d-x/alice+",
            "123456789012:us-east-1:x-1/alice",
            "1234:us-east-1:d-x/alice",
            "123456789012:useast1:d-x/alice",
            "123456789012:us-east-1:d-x/al_ice",
            "us-east-1:d-x/alice",
            "123456789012:us-east-1:d-x/alice,123456789012:us-east-1:d-x/bob",
        ] {
            assert!(parse_domains("X", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn studio_users_are_read_from_pairs_and_bad_pairs_are_refused() {
        let users = parse_users("X", "AK1=d-1/alice, AK2=d-1/bob").unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users["AK2"].profile_name, "bob");
        for bad in [
            "AK1",
            "AK1=alice",
            "AK1=d-1/",
            "=d-1/alice",
            "AK1=d 1/alice",
        ] {
            assert!(parse_users("X", bad).is_err(), "{bad}");
        }
    }
}
