use chrono::TimeZone as _;

use super::*;

const PACKAGE: &str = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk/3";
const KEY: &str = "model-link-key-0123456789abcdef0123456789abcdef";
const OLD_KEY: &str = "retired-link-key-0123456789abcdef0123456789abcd";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap()
}

fn links(keys: LinkKeys) -> ModelLinks {
    ModelLinks::new("https://api.example.com/models/link", keys).unwrap()
}

fn query_of(link: &str) -> &str {
    link.split_once('?').unwrap().1
}

fn package() -> ModelPackageArn {
    ModelPackageArn::parse(PACKAGE).unwrap()
}

#[test]
fn a_link_is_stable_and_verifies_to_its_package() {
    let links = links(LinkKeys::from_current(KEY).unwrap());
    let link = links.link_for(&package());
    assert_eq!(link, links.link_for(&package()), "same key, same link");
    assert!(
        link.starts_with("https://api.example.com/models/link?v=1&package=arn%3Aaws%3Asagemaker")
    );
    assert_eq!(verify(links.keys(), query_of(&link), now()), Ok(package()));
}

#[test]
fn any_edit_of_the_link_is_refused() {
    let links = links(LinkKeys::from_current(KEY).unwrap());
    let query = query_of(&links.link_for(&package())).to_owned();
    let other = query.replace("credit-risk%2F3", "credit-risk%2F4");
    assert_eq!(
        verify(links.keys(), &other, now()),
        Err(LinkRefusal::BadSignature)
    );
    let account = query.replace("111111111111", "222222222222");
    assert_eq!(
        verify(links.keys(), &account, now()),
        Err(LinkRefusal::BadSignature)
    );
    let version = query.replace("v=1", "v=2");
    assert_eq!(
        verify(links.keys(), &version, now()),
        Err(LinkRefusal::UnsupportedVersion)
    );
    let repeated = format!("{query}&package=x");
    assert_eq!(
        verify(links.keys(), &repeated, now()),
        Err(LinkRefusal::Malformed("a repeated parameter"))
    );
    let extra = format!("{query}&landing=evil");
    assert_eq!(
        verify(links.keys(), &extra, now()),
        Err(LinkRefusal::Malformed("an unknown parameter"))
    );
    let missing = query.split("&sig=").next().unwrap().to_owned();
    assert_eq!(
        verify(links.keys(), &missing, now()),
        Err(LinkRefusal::Malformed("a missing parameter"))
    );
    assert!(matches!(
        verify(links.keys(), "v=1&package=%ZZ&kid=a&sig=b", now()),
        Err(LinkRefusal::Malformed(_))
    ));
}

#[test]
fn another_deployments_link_is_refused_as_an_unknown_key() {
    let ours = links(LinkKeys::from_current(KEY).unwrap());
    let theirs = links(LinkKeys::from_current(OLD_KEY).unwrap());
    let link = theirs.link_for(&package());
    assert_eq!(
        verify(ours.keys(), query_of(&link), now()),
        Err(LinkRefusal::UnknownKey)
    );
}

#[test]
fn a_retired_key_verifies_until_its_time_then_the_link_has_expired() {
    let old = links(LinkKeys::from_current(OLD_KEY).unwrap());
    let link = old.link_for(&package());
    let secret = Secret::new(format!(
        r#"{{"current":"{KEY}","previous":"{OLD_KEY}","previous_accepted_until":"2026-12-31T00:00:00Z"}}"#
    ));
    let rotated = LinkKeys::parse(&secret).unwrap();
    assert_eq!(verify(&rotated, query_of(&link), now()), Ok(package()));
    let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(
        verify(&rotated, query_of(&link), later),
        Err(LinkRefusal::ExpiredKey)
    );
    let current = links(rotated.clone()).link_for(&package());
    assert_ne!(current, link, "the current key makes another link");
    assert_eq!(verify(&rotated, query_of(&current), later), Ok(package()));
}

#[test]
fn key_secrets_are_checked_without_showing_the_key() {
    let parse = |text: &str| LinkKeys::parse(&Secret::new(text));
    assert_eq!(parse("not json"), Err(LinkKeysError::NotJson));
    assert_eq!(parse("{}"), Err(LinkKeysError::MissingCurrent));
    assert_eq!(
        parse(r#"{"current":"short"}"#),
        Err(LinkKeysError::TooShort { field: "current" })
    );
    assert_eq!(
        parse(&format!(
            r#"{{"current":"{KEY}","previous":"{OLD_KEY}","previous_accepted_until":"soon"}}"#
        )),
        Err(LinkKeysError::BadTime)
    );
    let keys = parse(&format!(r#"{{"current":"{KEY}"}}"#)).unwrap();
    assert!(!format!("{keys:?}").contains(KEY));
    assert_eq!(keys.current().id().len(), 16);
}

#[test]
fn base_urls_with_a_query_are_refused() {
    let keys = LinkKeys::from_current(KEY).unwrap();
    assert!(ModelLinks::new("https://x.example.com/models/link?a=b", keys.clone()).is_err());
    assert!(ModelLinks::new("ftp://x.example.com/models/link", keys).is_err());
}

#[test]
fn percent_encoding_round_trips() {
    for text in [PACKAGE, "a b+c/d?e=f&g", "ünïcode"] {
        assert_eq!(percent_decode(&percent_encode(text)).as_deref(), Some(text));
    }
    assert_eq!(percent_decode("%E2%28"), None);
    assert_eq!(percent_decode("%4"), None);
}
