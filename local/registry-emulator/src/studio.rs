//! Who SageMaker records as a package's `CreatedBy` / `LastModifiedBy` (a `UserContext`).
//!
//! DescribeModelPackage's `UserContext` holds `UserProfileArn`, `UserProfileName` and `DomainId` when
//! the call came from a SageMaker Studio user profile, and `IamIdentity` (`Arn`, `PrincipalId`,
//! `SourceIdentity`) for model package groups and packages whoever called. A caller outside Studio
//! gets `IamIdentity` alone. Studio users share their domain's execution role, so only the profile
//! tells them apart; the emulator takes the profile of an access key from configuration
//! (`REGISTRY_EMULATOR_STUDIO_USERS=AKID=DOMAIN_ID/PROFILE_NAME,…`), as a domain whose
//! `ExecutionRoleIdentityConfig` is `USER_PROFILE_NAME` also sets the session's source identity.

use std::collections::HashMap;

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
