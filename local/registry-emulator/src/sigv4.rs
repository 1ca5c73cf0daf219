//! AWS Signature Version 4: reading the credential scope of incoming requests, and signing the
//! `PutEvents` calls the emulator makes (moto parses the header for the region; real AWS would check it).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::wire::hex;

/// Access key id and region from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub region: String,
}

pub fn credential_scope(authorization: &str) -> Option<CredentialScope> {
    let credential = authorization
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut parts = credential.split('/');
    let access_key_id = parts.next().filter(|s| !s.is_empty())?;
    let _date = parts.next()?;
    let region = parts.next().filter(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })?;
    Some(CredentialScope {
        access_key_id: access_key_id.to_owned(),
        region: region.to_owned(),
    })
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// What a signed awsJson1.1 POST needs.
pub struct SigningRequest<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub target: &'a str,
    pub body: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub time: DateTime<Utc>,
}

/// The `(x-amz-date, Authorization)` header values for the request.
pub fn sign(request: &SigningRequest<'_>) -> (String, String) {
    let amz_date = request.time.format("%Y%m%dT%H%M%SZ").to_string();
    let date = request.time.format("%Y%m%d").to_string();
    let signed_headers = "content-type;host;x-amz-date;x-amz-target";
    let canonical_request = format!(
        "POST\n{path}\n\ncontent-type:application/x-amz-json-1.1\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n\n{signed_headers}\n{payload}",
        path = request.path,
        host = request.host,
        target = request.target,
        payload = hex(&Sha256::digest(request.body)),
    );
    let scope = format!("{date}/{}/{}/aws4_request", request.region, request.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [
        date.as_bytes(),
        request.region.as_bytes(),
        request.service.as_bytes(),
        b"aws4_request",
    ]
    .iter()
    .fold(
        format!("AWS4{}", request.secret_access_key).into_bytes(),
        |key, part| hmac_sha256(&key, part),
    );
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        request.access_key_id
    );
    (amz_date, authorization)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn credential_scope_reads_key_and_region() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            credential_scope(header),
            Some(CredentialScope {
                access_key_id: "AKIDEXAMPLE".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(credential_scope("Bearer token"), None);
        assert_eq!(credential_scope("AWS4-HMAC-SHA256 Credential=/x"), None);
        assert_eq!(
            credential_scope("AWS4-HMAC-SHA256 Credential=AK/d/EVIL REGION/s"),
            None
        );
    }

    #[test]
    fn signing_is_deterministic_and_scoped() {
        let time = Utc
            .with_ymd_and_hms(2026, 1, 2, 9, 18, 24)
            .single()
            .unwrap();
        let request = SigningRequest {
            host: "127.0.0.1:5000",
            path: "/",
            target: "AWSEvents.PutEvents",
            body: b"{}",
            region: "us-east-1",
            service: "events",
            access_key_id: "testing",
            secret_access_key: "testing",
            time,
        };
        let (date, authorization) = sign(&request);
        assert_eq!(date, "20260102T091824Z");
        assert!(authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=testing/20260102/us-east-1/events/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
        ));
        assert_eq!(sign(&request).1, authorization);
        let signature = authorization.rsplit('=').next().unwrap_or_default();
        assert_eq!(signature.len(), 64);
        let other = SigningRequest {
            body: b"{\"a\":1}",
            ..request
        };
        assert_ne!(sign(&other).1, authorization);
        assert_eq!(
            credential_scope(&authorization).map(|s| s.region),
            Some("us-east-1".into())
        );
    }
}
