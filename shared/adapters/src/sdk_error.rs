//! Classifies AWS SDK errors once, so every adapter maps them the same way.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How an SDK failure should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureClass {
    Throttled,
    Conflict,
    /// 5xx and service-side transient faults.
    Transient,
    /// Validation, access denied, limits: retrying cannot help.
    Permanent,
    /// Timeouts and connection failures: the request may or may not have reached the service.
    Transport,
}

/// A classified SDK failure: the error code and a full message (with its source chain).
#[derive(Debug, Clone)]
pub(crate) struct SdkFailure {
    pub class: FailureClass,
    pub code: String,
    pub message: String,
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
];

const CONFLICT_CODES: &[&str] = &[
    "ConflictException",
    "ResourceInUse",
    "TransactionConflictException",
    "TransactionInProgressException",
];

const TRANSIENT_CODES: &[&str] = &[
    "InternalFailure",
    "InternalServerError",
    "InternalServerErrorException",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Classifies `error` and logs it with its full context (plain `{}` prints only "service error").
pub(crate) fn classify<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = DisplayErrorContext(error).to_string();
    let failure = match error {
        SdkError::ServiceError(context) => {
            let code = context
                .err()
                .code()
                .map(str::to_owned)
                .unwrap_or_else(|| code_from_display(context.err()));
            let status = context.raw().status().as_u16();
            SdkFailure {
                class: class_of(&code, status),
                code,
                message,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => SdkFailure {
            class: FailureClass::Transport,
            code: "Transport".to_owned(),
            message,
        },
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            let class = if status == 429 {
                FailureClass::Throttled
            } else if status >= 500 {
                FailureClass::Transient
            } else {
                FailureClass::Permanent
            };
            SdkFailure {
                class,
                code: format!("UnparseableResponse{status}"),
                message,
            }
        }
        // Construction failures and future variants: the request is malformed on our side.
        _ => SdkFailure {
            class: FailureClass::Permanent,
            code: "ConstructionFailure".to_owned(),
            message,
        },
    };
    tracing::warn!(
        operation,
        code = %failure.code,
        class = ?failure.class,
        error = %failure.message,
        "AWS call failed"
    );
    failure
}

/// Modeled errors built without metadata still name themselves first in their `Display`
/// (`ThrottlingException: …`).
fn code_from_display(error: &dyn std::error::Error) -> String {
    let text = error.to_string();
    let head = text.split(':').next().unwrap_or_default().trim();
    if !head.is_empty() && head.bytes().all(|b| b.is_ascii_alphanumeric()) {
        head.to_owned()
    } else {
        "Unknown".to_owned()
    }
}

fn class_of(code: &str, status: u16) -> FailureClass {
    if THROTTLING_CODES.contains(&code) || status == 429 {
        FailureClass::Throttled
    } else if CONFLICT_CODES.contains(&code) {
        FailureClass::Conflict
    } else if TRANSIENT_CODES.contains(&code) || status >= 500 {
        FailureClass::Transient
    } else {
        FailureClass::Permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_map_to_classes() {
        assert_eq!(
            class_of("ThrottlingException", 400),
            FailureClass::Throttled
        );
        assert_eq!(class_of("Unknown", 429), FailureClass::Throttled);
        assert_eq!(class_of("ConflictException", 400), FailureClass::Conflict);
        assert_eq!(class_of("InternalFailure", 500), FailureClass::Transient);
        assert_eq!(class_of("Whatever", 503), FailureClass::Transient);
        assert_eq!(
            class_of("ValidationException", 400),
            FailureClass::Permanent
        );
        assert_eq!(
            class_of("AccessDeniedException", 403),
            FailureClass::Permanent
        );
    }
}
