//! The notifier port on SES v2 (`SendEmail` with simple content).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use govsync_core::ports::{Email, Notifier, NotifyError};

use crate::sdk_error::{FailureClass, classify};

/// SES errors that mean "try again later" although SES does not call them throttling.
const RETRY_LATER_CODES: &[&str] = &["LimitExceededException", "SendingPausedException"];

#[derive(Debug, Clone)]
pub struct SesNotifier {
    client: Client,
    configuration_set: Option<String>,
}

impl SesNotifier {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            configuration_set: None,
        }
    }

    /// Sends through a configuration set (event publishing, suppression).
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }
}

fn content(data: &str) -> Result<Content, NotifyError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|error| NotifyError::Invalid(error.to_string()))
}

impl Notifier for SesNotifier {
    async fn send(&self, email: &Email) -> Result<String, NotifyError> {
        if email.to.is_empty() {
            return Err(NotifyError::Invalid("no recipients".to_owned()));
        }
        if email.from.trim().is_empty() {
            return Err(NotifyError::Invalid("no sender".to_owned()));
        }
        let mut body = Body::builder().text(content(&email.text_body)?);
        if let Some(html) = &email.html_body {
            body = body.html(content(html)?);
        }
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(body.build())
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|error| {
                let failure = classify("SendEmail", &error);
                match failure.class {
                    FailureClass::Throttled => NotifyError::Throttled {
                        message: failure.message,
                    },
                    FailureClass::Transport => NotifyError::Transport {
                        message: failure.message,
                    },
                    FailureClass::Transient | FailureClass::Conflict => NotifyError::Service {
                        code: failure.code,
                        message: failure.message,
                        retryable: true,
                    },
                    FailureClass::Permanent
                        if RETRY_LATER_CODES.contains(&failure.code.as_str()) =>
                    {
                        NotifyError::Service {
                            code: failure.code,
                            message: failure.message,
                            retryable: true,
                        }
                    }
                    FailureClass::Permanent => NotifyError::Rejected {
                        code: failure.code,
                        message: failure.message,
                    },
                }
            })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::operation::send_email::{SendEmailError, SendEmailOutput};
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::retry::RetryConfig;

    use super::*;

    fn email() -> Email {
        Email {
            from: "govsync@example.com".to_owned(),
            to: vec![
                "ds-team@example.com".to_owned(),
                "lead@example.com".to_owned(),
            ],
            subject: "Use case approved".to_owned(),
            text_body: "Group credit-risk is ready.".to_owned(),
            html_body: Some("<p>Group <b>credit-risk</b> is ready.</p>".to_owned()),
        }
    }

    #[tokio::test]
    async fn sends_simple_content_with_text_and_html_to_every_recipient() {
        let send = mock!(aws_sdk_sesv2::Client::send_email)
            .match_requests(|request| {
                let simple = request.content().and_then(|content| content.simple());
                let body = simple.and_then(|message| message.body());
                request.from_email_address() == Some("govsync@example.com")
                    && request.destination().map(|d| d.to_addresses().len()) == Some(2)
                    && simple.and_then(|m| m.subject()).map(|s| s.data())
                        == Some("Use case approved")
                    && body.and_then(|b| b.text()).map(|t| t.data())
                        == Some("Group credit-risk is ready.")
                    && body.and_then(|b| b.html()).is_some()
            })
            .then_output(|| SendEmailOutput::builder().message_id("msg-1").build());
        let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&send]);
        let id = SesNotifier::new(client).send(&email()).await.unwrap();
        assert_eq!(id, "msg-1");
    }

    #[tokio::test]
    async fn throttling_is_retryable_and_rejection_is_not() {
        let send = mock!(aws_sdk_sesv2::Client::send_email)
            .sequence()
            .error(|| {
                SendEmailError::TooManyRequestsException(
                    TooManyRequestsException::builder().message("slow").build(),
                )
            })
            .error(|| {
                SendEmailError::MessageRejected(MessageRejected::builder().message("bad").build())
            })
            .build();
        let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&send], |config| {
            config.retry_config(RetryConfig::disabled())
        });
        let notifier = SesNotifier::new(client);
        let throttled = notifier.send(&email()).await.unwrap_err();
        assert!(
            matches!(throttled, NotifyError::Throttled { .. }),
            "{throttled:?}"
        );
        assert!(throttled.is_retryable());
        let rejected = notifier.send(&email()).await.unwrap_err();
        assert!(
            matches!(rejected, NotifyError::Rejected { .. }),
            "{rejected:?}"
        );
        assert!(!rejected.is_retryable());
    }

    #[tokio::test]
    async fn email_without_recipients_is_refused_before_calling() {
        let send = mock!(aws_sdk_sesv2::Client::send_email)
            .then_output(|| SendEmailOutput::builder().build());
        let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&send]);
        let mut nobody = email();
        nobody.to.clear();
        assert!(matches!(
            SesNotifier::new(client).send(&nobody).await,
            Err(NotifyError::Invalid(_))
        ));
        assert_eq!(send.num_calls(), 0);
    }
}
