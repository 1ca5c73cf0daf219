//! CreatePresignedDomainUrl, and the page its URL opens: the emulator's stand-in for SageMaker Studio.
//!
//! Members and limits as botocore's SageMaker model gives them (contracts/sagemaker.md): `DomainId`
//! `d-(-*[a-z0-9]){1,61}` ≤ 63 and `UserProfileName` (both required), `SpaceName`, `ExpiresInSeconds` 5–300
//! (default 300), `SessionExpirationDurationInSeconds` 1800–43200 (default 43200), `LandingUri` ≤ 1023 in
//! the forms the API reference lists. The domain and the profile must exist in the caller's account and
//! region (`REGISTRY_EMULATOR_STUDIO_DOMAINS`), else `ResourceNotFound`, the operation's modelled error.
//! Spaces are not modelled: any well-formed `SpaceName` is accepted.
//!
//! A real URL is `https://<domain-id>.studio.<region>.sagemaker.aws/auth?token=…`. The emulator hands out
//! `http://<its host:port>/_emulator/studio/auth?token=…` instead, so that following the link reaches it.
//! The link expires `ExpiresInSeconds` after it was issued (API reference: afterwards "you are directed to
//! the AWS console sign-in page"; here a 403 page says it expired). No AWS page says a link is single-use,
//! so it opens as often as asked until it expires.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::registry::{CallContext, parse_body, parse_input};
use crate::studio::StudioDomains;
use crate::validate;
use crate::wire::rfc3339_millis;

/// The `X-Amz-Target` of the operation.
pub const TARGET: &str = "SageMaker.CreatePresignedDomainUrl";
/// Where issued links point (the emulator serves it: see `server`).
pub const AUTH_PATH: &str = "/_emulator/studio/auth";

const DEFAULT_EXPIRES_IN_SECONDS: i64 = 300;
const DEFAULT_SESSION_SECONDS: i64 = 43_200;
/// How many issued links are remembered (oldest forgotten first).
const CAPACITY: usize = 10_000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    domain_id: Option<String>,
    user_profile_name: Option<String>,
    session_expiration_duration_in_seconds: Option<i64>,
    expires_in_seconds: Option<i64>,
    space_name: Option<String>,
    landing_uri: Option<String>,
}

/// One link handed out, as `GET /_emulator/studio/issued` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedUrl {
    token: String,
    url: String,
    account: String,
    region: String,
    domain_id: String,
    user_profile_name: String,
    space_name: Option<String>,
    landing_uri: Option<String>,
    session_expiration_seconds: i64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl IssuedUrl {
    fn summary(&self, now: DateTime<Utc>) -> Value {
        json!({
            "url": self.url,
            "account": self.account,
            "region": self.region,
            "domainId": self.domain_id,
            "userProfileName": self.user_profile_name,
            "spaceName": self.space_name,
            "landingUri": self.landing_uri,
            "sessionExpirationDurationInSeconds": self.session_expiration_seconds,
            "issuedAt": rfc3339_millis(self.issued_at),
            "expiresAt": rfc3339_millis(self.expires_at),
            "expired": self.expired(now),
        })
    }

    fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// What following a link gives: the page, and whether it signed the user in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPage {
    pub signed_in: bool,
    pub html: String,
}

/// The links handed out, oldest first.
#[derive(Debug, Default)]
pub struct IssuedUrls {
    urls: VecDeque<IssuedUrl>,
}

impl IssuedUrls {
    pub fn clear(&mut self) {
        self.urls.clear();
    }

    /// Serves CreatePresignedDomainUrl for a caller; `base_url` is how the caller reached the emulator
    /// (`http://host:port`).
    pub fn create(
        &mut self,
        domains: &StudioDomains,
        ctx: &CallContext,
        base_url: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let input: Input = parse_input(&parse_body(body)?)?;
        let domain_id = validate::required(input.domain_id, "domainId")?;
        validate::domain_id(&domain_id, "domainId")?;
        let profile = validate::required(input.user_profile_name, "userProfileName")?;
        validate::entity_name(&profile, "userProfileName")?;
        let session = input
            .session_expiration_duration_in_seconds
            .unwrap_or(DEFAULT_SESSION_SECONDS);
        validate::in_range(session, "sessionExpirationDurationInSeconds", 1800, 43_200)?;
        let expires_in = input
            .expires_in_seconds
            .unwrap_or(DEFAULT_EXPIRES_IN_SECONDS);
        validate::in_range(expires_in, "expiresInSeconds", 5, 300)?;
        if let Some(space) = &input.space_name {
            validate::entity_name(space, "spaceName")?;
        }
        if let Some(landing) = &input.landing_uri {
            validate::landing_uri(landing)?;
        }

        let profiles = domains
            .profiles(&ctx.caller.account, &ctx.region, &domain_id)
            .ok_or_else(|| {
                ApiError::ResourceNotFound(format!(
                    "Domain {domain_id} does not exist in account {} in {}.",
                    ctx.caller.account, ctx.region
                ))
            })?;
        if !profiles.contains(&profile) {
            return Err(ApiError::ResourceNotFound(format!(
                "User profile {profile} does not exist in domain {domain_id}."
            )));
        }

        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let url = format!("{base_url}{AUTH_PATH}?token={token}");
        if self.urls.len() >= CAPACITY {
            self.urls.pop_front();
        }
        self.urls.push_back(IssuedUrl {
            token,
            url: url.clone(),
            account: ctx.caller.account.clone(),
            region: ctx.region.clone(),
            domain_id,
            user_profile_name: profile,
            space_name: input.space_name,
            landing_uri: input.landing_uri,
            session_expiration_seconds: session,
            issued_at: now,
            expires_at: now + Duration::seconds(expires_in),
        });
        Ok(json!({ "AuthorizedUrl": url }))
    }

    /// `{"issued": [...]}`, oldest first.
    pub fn list(&self, now: DateTime<Utc>) -> Value {
        json!({ "issued": self.urls.iter().map(|url| url.summary(now)).collect::<Vec<_>>() })
    }

    /// The page a link opens: signed in while the token is known and unexpired, refused otherwise.
    pub fn auth_page(&self, token: Option<&str>, now: DateTime<Utc>) -> AuthPage {
        let issued = token.and_then(|token| self.urls.iter().find(|url| url.token == token));
        match issued {
            Some(url) if !url.expired(now) => AuthPage {
                signed_in: true,
                html: signed_in_page(url),
            },
            Some(url) => AuthPage {
                signed_in: false,
                html: refused_page(&format!(
                    "This sign-in link expired at {}.",
                    rfc3339_millis(url.expires_at)
                )),
            },
            None => AuthPage {
                signed_in: false,
                html: refused_page("This sign-in link is unknown (or the emulator was reset)."),
            },
        }
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}

const STAND_IN_NOTE: &str = "This page is the govsync registry emulator's stand-in for SageMaker Studio; it is not an AWS page.";

fn signed_in_page(url: &IssuedUrl) -> String {
    let row = |label: &str, value: &str| format!("<dt>{label}</dt><dd>{}</dd>\n", escape(value));
    let mut rows = String::new();
    rows.push_str(&row("Domain", &url.domain_id));
    rows.push_str(&row("User profile", &url.user_profile_name));
    if let Some(space) = &url.space_name {
        rows.push_str(&row("Space", space));
    }
    rows.push_str(&row("Region", &url.region));
    rows.push_str(&row("Account", &url.account));
    rows.push_str(&row(
        "Landing URI",
        url.landing_uri
            .as_deref()
            .unwrap_or("(the domain's default experience)"),
    ));
    rows.push_str(&row(
        "Session length",
        &format!("{} seconds", url.session_expiration_seconds),
    ));
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>SageMaker Studio (emulated)</title></head>\n<body>\n<h1>Signed in to SageMaker Studio (emulated)</h1>\n<p>{STAND_IN_NOTE}</p>\n<dl>\n{rows}</dl>\n</body></html>\n"
    )
}

fn refused_page(reason: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Sign-in link refused (emulated)</title></head>\n<body>\n<h1>Sign-in link refused</h1>\n<p>{}</p>\n<p>On AWS an expired link leads to the AWS console sign-in page. {STAND_IN_NOTE}</p>\n</body></html>\n",
        escape(reason)
    )
}

#[cfg(test)]
mod tests {
    use crate::events::Caller;

    use super::*;

    const BASE: &str = "http://127.0.0.1:4567";

    fn domains() -> StudioDomains {
        crate::studio::parse_domains(
            "X",
            "123456789012:us-east-1:d-local000001/alice+bob,111111111111:us-east-1:d-dev0001/carol",
        )
        .unwrap()
    }

    fn ctx_of(account: &str, region: &str) -> CallContext {
        CallContext {
            caller: Caller {
                arn: format!("arn:aws:sts::{account}:assumed-role/ml-admin/alice"),
                account: account.into(),
                access_key_id: "AKIDEXAMPLE".into(),
                studio: None,
            },
            region: region.into(),
            user_agent: "Boto3/1.44.8".into(),
            request_id: "req-1".into(),
        }
    }

    fn ctx() -> CallContext {
        ctx_of("123456789012", "us-east-1")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn create(urls: &mut IssuedUrls, body: Value) -> Result<Value, ApiError> {
        urls.create(&domains(), &ctx(), BASE, body.to_string().as_bytes(), now())
    }

    fn token_of(answer: &Value) -> String {
        answer["AuthorizedUrl"]
            .as_str()
            .and_then(|url| url.split_once("?token="))
            .map(|(_, token)| token.to_owned())
            .unwrap()
    }

    #[test]
    fn a_configured_profile_gets_a_link_that_opens_until_it_expires() {
        let mut urls = IssuedUrls::default();
        let answer = create(
            &mut urls,
            json!({
                "DomainId": "d-local000001",
                "UserProfileName": "alice",
                "ExpiresInSeconds": 30,
                "LandingUri": "studio::models/registered-models/fraud<x>/versions"
            }),
        )
        .unwrap();
        let url = answer["AuthorizedUrl"].as_str().unwrap();
        assert!(url.starts_with("http://127.0.0.1:4567/_emulator/studio/auth?token="));
        let token = token_of(&answer);
        assert_eq!(token.len(), 64);

        let page = urls.auth_page(Some(&token), now() + Duration::seconds(29));
        assert!(page.signed_in);
        assert!(page.html.contains("d-local000001") && page.html.contains("alice"));
        assert!(page.html.contains("us-east-1"));
        assert!(
            page.html
                .contains("studio::models/registered-models/fraud&lt;x&gt;/versions")
        );
        assert!(page.html.contains("stand-in"));
        // Reusable until it expires.
        assert!(
            urls.auth_page(Some(&token), now() + Duration::seconds(29))
                .signed_in
        );

        let expired = urls.auth_page(Some(&token), now() + Duration::seconds(30));
        assert!(!expired.signed_in);
        assert!(expired.html.contains("expired"));
        let unknown = urls.auth_page(Some("nope"), now());
        assert!(!unknown.signed_in && unknown.html.contains("unknown"));
        assert!(!urls.auth_page(None, now()).signed_in);
    }

    #[test]
    fn issued_links_are_listed_with_their_defaults() {
        let mut urls = IssuedUrls::default();
        create(
            &mut urls,
            json!({"DomainId": "d-local000001", "UserProfileName": "bob", "SpaceName": "team-space"}),
        )
        .unwrap();
        let listed = urls.list(now());
        let issued = &listed["issued"][0];
        assert_eq!(issued["domainId"], "d-local000001");
        assert_eq!(issued["userProfileName"], "bob");
        assert_eq!(issued["spaceName"], "team-space");
        assert_eq!(issued["landingUri"], Value::Null);
        assert_eq!(issued["sessionExpirationDurationInSeconds"], 43_200);
        assert_eq!(issued["issuedAt"], "2026-01-02T03:04:05.000Z");
        assert_eq!(issued["expiresAt"], "2026-01-02T03:09:05.000Z");
        assert_eq!(issued["expired"], false);
        urls.clear();
        assert_eq!(urls.list(now()), json!({"issued": []}));
    }

    #[test]
    fn every_member_is_validated_by_name() {
        let mut urls = IssuedUrls::default();
        let base = json!({"DomainId": "d-local000001", "UserProfileName": "alice"});
        for (member, value, field) in [
            ("DomainId", json!("local000001"), "'domainId'"),
            (
                "DomainId",
                json!(format!("d-{}", "a".repeat(62))),
                "'domainId'",
            ),
            ("UserProfileName", json!("alice_smith"), "'userProfileName'"),
            (
                "UserProfileName",
                json!("a".repeat(64)),
                "'userProfileName'",
            ),
            ("ExpiresInSeconds", json!(301), "'expiresInSeconds'"),
            ("ExpiresInSeconds", json!(4), "'expiresInSeconds'"),
            (
                "SessionExpirationDurationInSeconds",
                json!(1799),
                "'sessionExpirationDurationInSeconds'",
            ),
            (
                "SessionExpirationDurationInSeconds",
                json!(43_201),
                "'sessionExpirationDurationInSeconds'",
            ),
            ("SpaceName", json!("-space"), "'spaceName'"),
            ("LandingUri", json!("https://example.com"), "'landingUri'"),
            ("LandingUri", json!("app:VSCode:x"), "'landingUri'"),
        ] {
            let mut body = base.clone();
            body[member] = value.clone();
            let error = create(&mut urls, body).unwrap_err();
            assert!(
                matches!(&error, ApiError::Validation(m) if m.contains(field)),
                "{member}={value}: {error:?}"
            );
        }
        for missing in ["DomainId", "UserProfileName"] {
            let mut body = base.clone();
            body.as_object_mut().map(|fields| fields.remove(missing));
            assert!(matches!(
                create(&mut urls, body),
                Err(ApiError::Validation(m)) if m.contains("must not be null")
            ));
        }
        assert!(matches!(
            create(
                &mut urls,
                json!({"DomainId": "d-local000001", "UserProfileName": "alice", "ExpiresInSeconds": "300"})
            ),
            Err(ApiError::Serialization(_))
        ));
        assert_eq!(urls.list(now()), json!({"issued": []}));
    }

    #[test]
    fn unknown_domains_and_profiles_are_resource_not_found_per_account_and_region() {
        let mut urls = IssuedUrls::default();
        for (ctx, domain, profile) in [
            (ctx(), "d-unknown0001", "alice"),
            (ctx(), "d-local000001", "carol"),
            (ctx(), "d-dev0001", "carol"),
            (
                ctx_of("123456789012", "eu-west-1"),
                "d-local000001",
                "alice",
            ),
            (
                ctx_of("111111111111", "us-east-1"),
                "d-local000001",
                "alice",
            ),
        ] {
            let body = json!({"DomainId": domain, "UserProfileName": profile}).to_string();
            let error = urls
                .create(&domains(), &ctx, BASE, body.as_bytes(), now())
                .unwrap_err();
            assert!(
                matches!(error, ApiError::ResourceNotFound(_)),
                "{domain}/{profile}: {error:?}"
            );
            assert_eq!(error.code(), "ResourceNotFound");
        }
        let body = json!({"DomainId": "d-dev0001", "UserProfileName": "carol"}).to_string();
        assert!(
            urls.create(
                &domains(),
                &ctx_of("111111111111", "us-east-1"),
                BASE,
                body.as_bytes(),
                now()
            )
            .is_ok()
        );
    }
}
