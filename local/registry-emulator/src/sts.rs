//! Who is behind a temporary access key: asked of STS (`GetCallerIdentity`), as a service would learn it
//! from IAM. Locally STS is moto, which issues `ASIA…` keys on `AssumeRole` into any account and
//! answers `GetCallerIdentity` with the assumed role's ARN for them. moto does not verify signatures, so
//! the request carries the key in its `Authorization` header with a placeholder signature.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Mutex;

pub struct StsResolver {
    client: reqwest::Client,
    endpoint: String,
    /// A key's caller never changes: each key is asked once.
    known: Mutex<HashMap<String, String>>,
}

impl StsResolver {
    pub fn new(endpoint: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            endpoint: endpoint.to_owned(),
            known: Mutex::new(HashMap::new()),
        })
    }

    /// The caller ARN behind `access_key_id`, or `None` when STS cannot say (the emulator then falls back
    /// to its default account, and logs why).
    pub async fn caller_arn(&self, access_key_id: &str, region: &str) -> Option<String> {
        if let Some(arn) = self.known.lock().await.get(access_key_id) {
            return Some(arn.clone());
        }
        let date = Utc::now().format("%Y%m%d").to_string();
        let answer = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={access_key_id}/{date}/{region}/sts/aws4_request, SignedHeaders=host, Signature=0"
                ),
            )
            .body("Action=GetCallerIdentity&Version=2011-06-15")
            .send()
            .await;
        let text = match answer {
            Ok(response) if response.status().is_success() => response.text().await.ok()?,
            Ok(response) => {
                tracing::warn!(status = %response.status(), "STS GetCallerIdentity refused");
                return None;
            }
            Err(error) => {
                tracing::warn!(error = %error, "STS unreachable");
                return None;
            }
        };
        let arn = element(&text, "Arn")?;
        self.known
            .lock()
            .await
            .insert(access_key_id.to_owned(), arn.clone());
        Some(arn)
    }
}

/// The text of the first `<name>…</name>` of an XML answer.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_owned()).filter(|arn| arn.starts_with("arn:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arn_is_read_from_the_xml_answer() {
        let answer = "<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>AROA:s</UserId>\
            <Account>111111111111</Account>\
            <Arn>arn:aws:sts::111111111111:assumed-role/data-science/ana</Arn>\
            </GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert_eq!(
            element(answer, "Arn").as_deref(),
            Some("arn:aws:sts::111111111111:assumed-role/data-science/ana")
        );
        assert_eq!(element("<Arn>nope</Arn>", "Arn"), None);
        assert_eq!(element("<Arn>unterminated", "Arn"), None);
    }
}
