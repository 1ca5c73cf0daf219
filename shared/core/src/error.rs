//! Validation errors for the domain types: each names the value that was refused.

/// Why a value cannot be a domain type (account id, region, name, ARN, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("account id must be exactly 12 digits, got {value:?}")]
    AccountId { value: String },
    #[error("region must look like `us-east-1`, got {value:?}")]
    Region { value: String },
    #[error(
        "{what} must be 1-63 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}, got {value:?}"
    )]
    SageMakerName { what: &'static str, value: String },
    #[error("{what} is {len} characters long; the limit is {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} must be one of {allowed}, got {value:?}")]
    NotInEnum {
        what: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("{what} {value:?} may only hold letters, digits, spaces and _ . : / = + - @")]
    Characters { what: &'static str, value: String },
    #[error("email address {value:?} is not valid")]
    Email { value: String },
    #[error(
        "URL {value:?} must be http(s) and hold only letters, digits and _ . : / = + - @ (no query or fragment)"
    )]
    Url { value: String },
    #[error("revision must be a non-negative integer, got {value:?}")]
    Revision { value: String },
    #[error("idempotency key {value:?} must be 1-96 characters of letters, digits and - _ . : # /")]
    IdempotencyKey { value: String },
    #[error("{what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error(transparent)]
    Arn(#[from] ArnError),
}

/// Why a string is not the ARN that was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error(
        "{value:?} is not an ARN (expected arn:<partition>:<service>:<region>:<account>:<resource>)"
    )]
    NotAnArn { value: String },
    #[error("ARN {value:?} has partition {partition:?}; expected aws or aws-<name>")]
    Partition { value: String, partition: String },
    #[error("ARN {value:?} is for service {found:?}; expected {expected}")]
    Service {
        value: String,
        found: String,
        expected: &'static str,
    },
    #[error("ARN {value:?} is not a {expected} ARN")]
    ResourceType {
        value: String,
        expected: &'static str,
    },
    #[error("ARN {value:?} has a bad account id {account:?} (expected 12 digits)")]
    Account { value: String, account: String },
    #[error("ARN {value:?} has a bad region {region:?}")]
    Region { value: String, region: String },
    #[error("ARN {value:?} has a bad model package group name {name:?}")]
    GroupName { value: String, name: String },
    #[error(
        "ARN {value:?} names an unversioned model package; only versioned packages (<group>/<version>) are governed"
    )]
    MissingVersion { value: String },
    #[error(
        "ARN {value:?} has version {version:?}; expected a positive integer without leading zeros"
    )]
    Version { value: String, version: String },
    #[error("ARN {value:?} has a bad role name or path")]
    RoleName { value: String },
}
