//! AWS account ids, regions and IAM role ARNs, validated where they enter.

use crate::error::{ArnError, ValidationError};
use crate::newtype::validated_string;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub(crate) String);

impl AccountId {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if is_account_id(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::AccountId {
                value: value.to_owned(),
            })
        }
    }
}
validated_string!(AccountId);

pub(crate) fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS region code such as `us-east-1`, `us-gov-west-1` or `ap-southeast-5`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(pub(crate) String);

impl Region {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if is_region(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::Region {
                value: value.to_owned(),
            })
        }
    }
}
validated_string!(Region);

/// Lowercase hyphen-separated parts: a letters-only prefix, at least one more part, a numeric suffix.
pub(crate) fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    value.len() <= 32
        && parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// The colon-separated parts of an ARN, borrowed from the original text.
pub(crate) struct ArnParts<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits an ARN and checks the parts every ARN shares (prefix, partition, service).
pub(crate) fn split_arn<'a>(
    value: &'a str,
    expected_service: &'static str,
) -> Result<ArnParts<'a>, ArnError> {
    let not_an_arn = || ArnError::NotAnArn {
        value: value.to_owned(),
    };
    let mut parts = value.splitn(6, ':');
    if parts.next() != Some("arn") {
        return Err(not_an_arn());
    }
    let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(not_an_arn());
    };
    let partition_ok = partition == "aws"
        || partition.strip_prefix("aws-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        });
    if !partition_ok {
        return Err(ArnError::Partition {
            value: value.to_owned(),
            partition: partition.to_owned(),
        });
    }
    if service != expected_service {
        return Err(ArnError::Service {
            value: value.to_owned(),
            found: service.to_owned(),
            expected: expected_service,
        });
    }
    Ok(ArnParts {
        partition,
        region,
        account,
        resource,
    })
}

/// An IAM role ARN (`arn:aws:iam::<account>:role/<path/><name>`), e.g. the role govsync assumes in a
/// registry account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleArn(String);

impl RoleArn {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let parts = split_arn(value, "iam")?;
        let role_ok = parts.region.is_empty()
            && value.len() <= 2048
            && parts.resource.strip_prefix("role/").is_some_and(|path| {
                !path.is_empty()
                    && !path.ends_with('/')
                    && path
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
            });
        if !role_ok {
            return Err(ArnError::RoleName {
                value: value.to_owned(),
            }
            .into());
        }
        if !is_account_id(parts.account) {
            return Err(ArnError::Account {
                value: value.to_owned(),
                account: parts.account.to_owned(),
            }
            .into());
        }
        Ok(Self(value.to_owned()))
    }

    fn parts(&self) -> (&str, &str) {
        // Validated at construction: arn:<partition>:iam::<account>:role/<path/><name>.
        let mut parts = self.0.splitn(6, ':').skip(4);
        let account = parts.next().unwrap_or_default();
        let resource = parts.next().unwrap_or_default();
        (account, resource)
    }

    pub fn account(&self) -> &str {
        self.parts().0
    }

    /// The role's name, without its path.
    pub fn role_name(&self) -> &str {
        self.parts().1.rsplit('/').next().unwrap_or_default()
    }

    /// Whether a CloudTrail caller ARN is a session of this role
    /// (`arn:aws:sts::<account>:assumed-role/<role-name>/<session>`) or the role itself.
    pub fn is_caller(&self, caller_arn: &str) -> bool {
        if caller_arn == self.0 {
            return true;
        }
        let Ok(parts) = split_arn(caller_arn, "sts") else {
            return false;
        };
        let Some(rest) = parts.resource.strip_prefix("assumed-role/") else {
            return false;
        };
        let role_name = rest.split('/').next().unwrap_or_default();
        parts.account == self.account() && role_name == self.role_name()
    }
}
validated_string!(RoleArn);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_must_be_twelve_digits() {
        let cases = [
            ("123456789012", true),
            ("000000000000", true),
            ("12345678901", false),
            ("1234567890123", false),
            ("12345678901a", false),
            ("", false),
            (" 23456789012", false),
            ("١٢٣٤٥٦٧٨٩٠١٢", false),
        ];
        for (input, valid) in cases {
            assert_eq!(AccountId::parse(input).is_ok(), valid, "{input:?}");
        }
    }

    #[test]
    fn regions_follow_the_aws_shape() {
        let cases = [
            ("us-east-1", true),
            ("us-gov-west-1", true),
            ("ap-southeast-5", true),
            ("cn-north-1", true),
            ("us-isob-east-1", true),
            ("us-east", false),
            ("US-EAST-1", false),
            ("us--east-1", false),
            ("us-east-1a", false),
            ("1us-east-1", false),
            ("", false),
        ];
        for (input, valid) in cases {
            assert_eq!(Region::parse(input).is_ok(), valid, "{input:?}");
        }
    }

    #[test]
    fn role_arns_are_validated_and_expose_account_and_name() {
        let role =
            RoleArn::parse("arn:aws:iam::123456789012:role/service/govsync-registry").unwrap();
        assert_eq!(role.account(), "123456789012");
        assert_eq!(role.role_name(), "govsync-registry");

        let refused = [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::12345678901:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:sts::123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
            "arn:other:iam::123456789012:role/x",
            "role/x",
        ];
        for input in refused {
            assert!(RoleArn::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn caller_matches_only_sessions_of_the_same_role_in_the_same_account() {
        let role =
            RoleArn::parse("arn:aws:iam::123456789012:role/govsync/govsync-registry").unwrap();
        let cases = [
            (
                "arn:aws:sts::123456789012:assumed-role/govsync-registry/sync-1",
                true,
            ),
            (
                "arn:aws:iam::123456789012:role/govsync/govsync-registry",
                true,
            ),
            (
                "arn:aws:sts::210987654321:assumed-role/govsync-registry/sync-1",
                false,
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/ml-admin/alice",
                false,
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/govsync-registry-2/x",
                false,
            ),
            ("arn:aws:iam::123456789012:user/alice", false),
            ("not an arn", false),
        ];
        for (caller, expected) in cases {
            assert_eq!(role.is_caller(caller), expected, "{caller}");
        }
    }
}
