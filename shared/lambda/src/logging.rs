//! Tracing set-up under Lambda's advanced logging controls: JSON lines when Lambda asks for them
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`), else pretty. The level follows the same precedence as
//! `lambda_runtime`'s own subscriber: `AWS_LAMBDA_LOG_LEVEL` (the template's `ApplicationLogLevel`)
//! first, then `RUST_LOG` directives, then `info`. Hand-written rather than the runtime's
//! `init_default_subscriber` so the JSON lines carry the current span (message id, package ARN,
//! decision) without the span list, and Lambda's `FATAL` maps to a level tracing knows.

use tracing_subscriber::EnvFilter;

/// The filter directives the environment asks for (`lookup` reads a variable).
pub fn filter_directives(lookup: impl Fn(&str) -> Option<String>) -> String {
    let set = |name: &str| {
        lookup(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    if let Some(level) = set("AWS_LAMBDA_LOG_LEVEL") {
        return match level.to_ascii_lowercase().as_str() {
            "fatal" => "error".to_owned(),
            known @ ("trace" | "debug" | "info" | "warn" | "error") => known.to_owned(),
            // An unknown level must not silence the function: the default applies.
            _ => "info".to_owned(),
        };
    }
    set("RUST_LOG")
        .filter(|directives| EnvFilter::try_new(directives).is_ok())
        .unwrap_or_else(|| "info".to_owned())
}

pub fn init() {
    let lookup = |name: &str| std::env::var(name).ok();
    let filter = EnvFilter::new(filter_directives(lookup));
    let json =
        lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // try_init: a second initialisation (tests, embedding) keeps the first subscriber.
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .try_init()
    } else {
        builder.pretty().try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(vars: &[(&str, &str)]) -> String {
        filter_directives(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn lambdas_application_log_level_wins_over_rust_log() {
        assert_eq!(
            directives(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "warn")]),
            "debug"
        );
        assert_eq!(
            directives(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("RUST_LOG", "trace")]),
            "error"
        );
    }

    #[test]
    fn rust_log_applies_when_lambda_sets_no_level_and_info_is_the_default() {
        assert_eq!(
            directives(&[("RUST_LOG", "warn,govsync=debug")]),
            "warn,govsync=debug"
        );
        assert_eq!(directives(&[]), "info");
        assert_eq!(directives(&[("RUST_LOG", "  ")]), "info");
    }

    #[test]
    fn lambdas_fatal_is_error_and_an_unknown_level_keeps_the_default() {
        assert_eq!(directives(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]), "error");
        assert_eq!(directives(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]), "info");
    }
}
