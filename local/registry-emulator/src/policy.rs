//! A model package group's resource policy, evaluated for a call from another account.
//!
//! What SageMaker documents: the group's owner attaches a resource policy with
//! `PutModelPackageGroupPolicy` (API reference: `ResourcePolicy` 1–20 480 characters) or shares the group
//! through AWS RAM, which is backed by such a policy ("Set up discoverability",
//! docs.aws.amazon.com/sagemaker/latest/dg/model-registry-ram-discover.html); another account then
//! registers or reads versions by the group's ARN ("Register a Model Version from a Different Account",
//! model-registry-version.html). Cross-account access follows IAM's rules ("Cross-account policy
//! evaluation logic", IAM User Guide): the resource policy must allow the principal and action, and an
//! explicit `Deny` wins. The caller's own identity policies are not modelled (every identity is taken to
//! allow itself everything), so the group's policy alone decides.
//!
//! Where the documentation is silent, the emulator chooses (and says so):
//! - which resource a package-level action is evaluated against: a statement naming the group's ARN or a
//!   `model-package/<group>/…` pattern both count;
//! - `Condition`, `NotAction`, `NotPrincipal` and `NotResource` are not evaluated: an `Allow` carrying one
//!   grants nothing, a `Deny` carrying one denies (the cautious reading of each).

use serde_json::Value;

/// One access request against a group's policy.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller's ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`, `…:user/…`, `…:root`).
    pub caller_arn: &'a str,
    pub caller_account: &'a str,
    /// `sagemaker:<Operation>`.
    pub action: &'a str,
    /// The resources the action touches; a statement matching any of them applies.
    pub resources: &'a [&'a str],
}

/// Whether `policy` (JSON text) lets `request` through: some `Allow` statement applies and no `Deny`
/// does. A policy that is not JSON allows nothing.
pub fn allows(policy: &str, request: &Request<'_>) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return false,
    };
    let mut allowed = false;
    for statement in statements {
        let unmodelled = ["Condition", "NotAction", "NotPrincipal", "NotResource"]
            .iter()
            .any(|key| statement.get(*key).is_some());
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => {
                let principal = statement
                    .get("Principal")
                    .is_none_or(|p| principal_matches(p, request))
                    || statement.get("NotPrincipal").is_some();
                let action = statement
                    .get("Action")
                    .is_none_or(|a| action_matches(a, request.action));
                let resource = statement
                    .get("Resource")
                    .is_none_or(|r| resource_matches(r, request.resources));
                if principal && action && resource {
                    return false;
                }
            }
            Some("Allow") if !unmodelled => {
                allowed |= statement
                    .get("Principal")
                    .is_some_and(|p| principal_matches(p, request))
                    && statement
                        .get("Action")
                        .is_some_and(|a| action_matches(a, request.action))
                    && statement
                        .get("Resource")
                        .is_some_and(|r| resource_matches(r, request.resources));
            }
            _ => {}
        }
    }
    allowed
}

/// A policy element that is one string or a list of strings.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn principal_matches(principal: &Value, request: &Request<'_>) -> bool {
    let names = match principal {
        Value::String(star) if star == "*" => return true,
        Value::Object(by_kind) => by_kind.get("AWS").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .any(|name| principal_names_caller(name, request))
}

/// IAM's forms: `*`, an account id, `arn:…:iam::<account>:root`, a role ARN (matching any session of
/// it; an assumed-role ARN drops the role's path), or the caller's exact ARN.
fn principal_names_caller(name: &str, request: &Request<'_>) -> bool {
    if name == "*" || name == request.caller_arn || name == request.caller_account {
        return true;
    }
    let parts: Vec<&str> = name.splitn(6, ':').collect();
    let ["arn", _, "iam", "", account, resource] = parts.as_slice() else {
        return false;
    };
    if *account != request.caller_account {
        return false;
    }
    if *resource == "root" {
        return true;
    }
    let Some(role_path) = resource.strip_prefix("role/") else {
        return false;
    };
    let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
    let caller_resource = request.caller_arn.splitn(6, ':').nth(5).unwrap_or_default();
    caller_resource
        .strip_prefix("assumed-role/")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|assumed| assumed == role_name)
}

fn action_matches(actions: &Value, action: &str) -> bool {
    strings(actions)
        .into_iter()
        .any(|pattern| wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase()))
}

fn resource_matches(resources: &Value, candidates: &[&str]) -> bool {
    strings(resources).into_iter().any(|pattern| {
        candidates
            .iter()
            .any(|candidate| wildcard_match(pattern, candidate))
    })
}

/// IAM's `*` (any run of characters) and `?` (one character).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// The resource policy AWS RAM attaches when a share names a group. The grant is the emulator's reading of
/// RAM's default managed permission for model package groups (the documentation lists no actions):
/// read the group and its versions, and register versions into it.
pub fn ram_share_policy(group_arn: &str, package_pattern: &str, principals: &[String]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RamSharedModelPackageGroup",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": RAM_SHARE_ACTIONS,
            "Resource": [group_arn, package_pattern],
        }],
    })
    .to_string()
}

/// What a RAM share grants its principals (see [`ram_share_policy`]).
pub const RAM_SHARE_ACTIONS: &[&str] = &[
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:BatchDescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
];

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/credit";
    const PACKAGE: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit/3";

    fn request<'a>(caller_arn: &'a str, action: &'a str, resources: &'a [&'a str]) -> Request<'a> {
        Request {
            caller_arn,
            caller_account: caller_arn.split(':').nth(4).unwrap_or_default(),
            action,
            resources,
        }
    }

    fn policy(principal: Value, actions: Value, resources: Value) -> String {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resources,
        }]})
        .to_string()
    }

    #[test]
    fn the_documented_policy_shape_lets_the_named_account_register_and_read() {
        let text = policy(
            serde_json::json!({"AWS": "arn:aws:iam::111111111111:root"}),
            serde_json::json!([
                "sagemaker:CreateModelPackage",
                "sagemaker:DescribeModelPackage"
            ]),
            serde_json::json!([
                GROUP,
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit/*"
            ]),
        );
        let dev = "arn:aws:sts::111111111111:assumed-role/ds/alice";
        assert!(allows(
            &text,
            &request(dev, "sagemaker:CreateModelPackage", &[PACKAGE, GROUP])
        ));
        assert!(allows(
            &text,
            &request(dev, "sagemaker:DescribeModelPackage", &[PACKAGE])
        ));
        assert!(!allows(
            &text,
            &request(dev, "sagemaker:UpdateModelPackage", &[PACKAGE])
        ));
        let third = "arn:aws:sts::333333333333:assumed-role/ds/mallory";
        assert!(!allows(
            &text,
            &request(third, "sagemaker:CreateModelPackage", &[PACKAGE, GROUP])
        ));
    }

    #[test]
    fn principals_are_matched_in_each_iam_form() {
        let caller = "arn:aws:sts::111111111111:assumed-role/data-science/alice";
        for (principal, expected) in [
            (serde_json::json!("*"), true),
            (serde_json::json!({"AWS": "111111111111"}), true),
            (
                serde_json::json!({"AWS": ["222222222222", "arn:aws:iam::111111111111:root"]}),
                true,
            ),
            (
                serde_json::json!({"AWS": "arn:aws:iam::111111111111:role/team/data-science"}),
                true,
            ),
            (
                serde_json::json!({"AWS": "arn:aws:iam::111111111111:role/other"}),
                false,
            ),
            (
                serde_json::json!({"AWS": "arn:aws:iam::222222222222:root"}),
                false,
            ),
            (
                serde_json::json!({"Service": "sagemaker.amazonaws.com"}),
                false,
            ),
        ] {
            let text = policy(
                principal.clone(),
                serde_json::json!("sagemaker:*"),
                serde_json::json!("*"),
            );
            assert_eq!(
                allows(
                    &text,
                    &request(caller, "sagemaker:DescribeModelPackage", &[PACKAGE])
                ),
                expected,
                "{principal}"
            );
        }
    }

    #[test]
    fn an_explicit_deny_wins_and_conditions_grant_nothing() {
        let caller = "arn:aws:sts::111111111111:assumed-role/ds/alice";
        let deny = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": "111111111111"}, "Action": "sagemaker:Create*", "Resource": "*"},
        ]})
        .to_string();
        assert!(!allows(
            &deny,
            &request(caller, "sagemaker:CreateModelPackage", &[GROUP])
        ));
        assert!(allows(
            &deny,
            &request(caller, "sagemaker:ListModelPackages", &[GROUP])
        ));
        let conditional = serde_json::json!({"Statement": {
            "Effect": "Allow", "Principal": "*", "Action": "sagemaker:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}},
        }})
        .to_string();
        assert!(!allows(
            &conditional,
            &request(caller, "sagemaker:ListModelPackages", &[GROUP])
        ));
        assert!(!allows(
            "not json",
            &request(caller, "sagemaker:ListModelPackages", &[GROUP])
        ));
        assert!(!allows(
            "{}",
            &request(caller, "sagemaker:ListModelPackages", &[GROUP])
        ));
    }

    #[test]
    fn wildcards_follow_iam() {
        assert!(wildcard_match(
            "sagemaker:*modelpackage",
            "sagemaker:describemodelpackage"
        ));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(!wildcard_match("arn:*:model-package/credit/*", GROUP));
        assert!(wildcard_match("arn:*:model-package/credit/*", PACKAGE));
    }

    #[test]
    fn a_ram_share_policy_grants_its_principals_the_shared_actions() {
        let text = ram_share_policy(
            GROUP,
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit/*",
            &["111111111111".to_owned()],
        );
        let dev = "arn:aws:sts::111111111111:assumed-role/ds/alice";
        assert!(allows(
            &text,
            &request(dev, "sagemaker:CreateModelPackage", &[PACKAGE, GROUP])
        ));
        assert!(!allows(
            &text,
            &request(dev, "sagemaker:DeleteModelPackage", &[PACKAGE])
        ));
    }
}
