use super::*;

#[test]
fn group_names_follow_the_sagemaker_pattern() {
    let sixty_three = "a".repeat(63);
    let sixty_four = "a".repeat(64);
    let cases = [
        ("fraud-detector", true),
        ("a", true),
        ("A1-b2--c3", true),
        (sixty_three.as_str(), true),
        (sixty_four.as_str(), false),
        ("", false),
        ("-fraud", false),
        ("fraud-", false),
        ("fraud_detector", false),
        ("fraud detector", false),
        ("fräud", false),
    ];
    for (input, valid) in cases {
        assert_eq!(
            ModelPackageGroupName::parse(input).is_ok(),
            valid,
            "{input:?}"
        );
    }
}

#[test]
fn package_arns_parse_into_their_parts() {
    let arn = ModelPackageArn::parse(
        "arn:aws:sagemaker:us-east-2:123456789012:model-package/versionedmp-p-idy6c3e1fiqj/2",
    )
    .unwrap();
    assert_eq!(arn.region().as_str(), "us-east-2");
    assert_eq!(arn.account().as_str(), "123456789012");
    assert_eq!(arn.group_name().as_str(), "versionedmp-p-idy6c3e1fiqj");
    assert_eq!(arn.version(), 2);
    assert_eq!(
        arn.group_arn().as_str(),
        "arn:aws:sagemaker:us-east-2:123456789012:model-package-group/versionedmp-p-idy6c3e1fiqj"
    );
    assert_eq!(
        arn.to_string(),
        "arn:aws:sagemaker:us-east-2:123456789012:model-package/versionedmp-p-idy6c3e1fiqj/2"
    );
}

#[test]
fn group_arn_of_a_package_keeps_the_partition() {
    let arn = ModelPackageArn::parse(
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/g/117",
    )
    .unwrap();
    assert_eq!(
        arn.group_arn().as_str(),
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package-group/g"
    );
}

#[test]
fn bad_package_arns_are_refused_with_the_reason() {
    type Check = fn(&ArnError) -> bool;
    let cases: [(&str, Check); 10] = [
        ("model-package/g/1", |e| {
            matches!(e, ArnError::NotAnArn { .. })
        }),
        ("arn:aws:sagemaker:us-east-1:123456789012", |e| {
            matches!(e, ArnError::NotAnArn { .. })
        }),
        (
            "arn:gcp:sagemaker:us-east-1:123456789012:model-package/g/1",
            |e| matches!(e, ArnError::Partition { .. }),
        ),
        ("arn:aws:s3:us-east-1:123456789012:model-package/g/1", |e| {
            matches!(e, ArnError::Service { .. })
        }),
        (
            "arn:aws:sagemaker:useast1:123456789012:model-package/g/1",
            |e| matches!(e, ArnError::Region { .. }),
        ),
        ("arn:aws:sagemaker:us-east-1:1234:model-package/g/1", |e| {
            matches!(e, ArnError::Account { .. })
        }),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g",
            |e| matches!(e, ArnError::ResourceType { .. }),
        ),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned",
            |e| matches!(e, ArnError::MissingVersion { .. }),
        ),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/01",
            |e| matches!(e, ArnError::Version { .. }),
        ),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/bad_name/1",
            |e| matches!(e, ArnError::GroupName { .. }),
        ),
    ];
    for (input, expected) in cases {
        match ModelPackageArn::parse(input) {
            Err(ValidationError::Arn(err)) => assert!(expected(&err), "{input}: {err:?}"),
            other => panic!("{input}: expected an ARN error, got {other:?}"),
        }
    }
}

proptest::proptest! {
    #[test]
    fn package_arns_round_trip_through_text(
        partition in "aws(-[a-z]{2,6})?",
        region in "[a-z]{2}-[a-z]{4,9}-[1-9]",
        account in "[0-9]{12}",
        group in "[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?",
        version in 1u32..,
    ) {
        let text = format!("arn:{partition}:sagemaker:{region}:{account}:model-package/{group}/{version}");
        let arn = ModelPackageArn::parse(&text).unwrap();
        proptest::prop_assert_eq!(arn.to_string(), text);
        proptest::prop_assert_eq!(arn.version(), version);
        proptest::prop_assert_eq!(arn.group_name().as_str(), group.as_str());
        let group_arn = ModelPackageGroupArn::parse(arn.group_arn().as_str()).unwrap();
        proptest::prop_assert_eq!(group_arn, arn.group_arn());
    }
}

#[test]
fn version_zero_and_overflow_are_refused() {
    for version in ["0", "4294967296", "-1", "1.0", ""] {
        let input = format!("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/{version}");
        assert!(ModelPackageArn::parse(&input).is_err(), "{input}");
    }
}

#[test]
fn group_arns_parse_and_name_or_arn_is_accepted_where_sagemaker_accepts_both() {
    let arn = ModelPackageGroupArn::parse(
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn",
    )
    .unwrap();
    assert_eq!(arn.group_name().as_str(), "churn");
    assert_eq!(arn.region().as_str(), "eu-west-1");
    let cases = [
        ("churn", Some("churn")),
        (
            "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn",
            Some("churn"),
        ),
        (
            "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/1",
            None,
        ),
        ("churn model", None),
    ];
    for (input, expected) in cases {
        let got = ModelPackageGroupName::parse_name_or_arn(input).ok();
        assert_eq!(got.as_ref().map(|n| n.as_str()), expected, "{input}");
    }
}

#[test]
fn approval_status_parse_is_exhaustive_and_exact() {
    let cases = [
        ("Approved", Some(ApprovalStatus::Approved)),
        ("Rejected", Some(ApprovalStatus::Rejected)),
        (
            "PendingManualApproval",
            Some(ApprovalStatus::PendingManualApproval),
        ),
        ("approved", None),
        ("Pending", None),
        ("", None),
    ];
    for (input, expected) in cases {
        assert_eq!(ApprovalStatus::parse(input).ok(), expected, "{input:?}");
    }
    for status in ApprovalStatus::ALL {
        assert_eq!(ApprovalStatus::parse(status.as_str()), Ok(*status));
    }
}

#[test]
fn package_status_parse_is_exhaustive() {
    for status in ModelPackageStatus::ALL {
        assert_eq!(ModelPackageStatus::parse(status.as_str()), Ok(*status));
    }
    assert!(ModelPackageStatus::parse("Done").is_err());
}

#[test]
fn descriptions_are_limited_to_1024_characters() {
    assert!(Description::parse(&"é".repeat(1024)).is_ok());
    assert_eq!(
        Description::parse(&"x".repeat(1025)),
        Err(ValidationError::TooLong {
            what: "description",
            len: 1025,
            max: 1024
        })
    );
    let cut = Description::truncating(&"y".repeat(5000));
    assert_eq!(cut.as_str().chars().count(), 1024);
    assert!(cut.as_str().ends_with("..."));
    assert_eq!(Description::truncating("short").as_str(), "short");
}

#[test]
fn group_names_derived_from_use_cases_are_valid_and_distinct_per_id() {
    let long_name =
        "A very long use case name that keeps going and going beyond any sensible limit";
    let cases = [
        ("Fraud Detection", "1234", "fraud-detection-1234"),
        ("  Crédit / Scoring (EU) ", "77", "cr-dit-scoring-eu-77"),
        ("***", "9", "use-case-9"),
        (
            long_name,
            "5001",
            "a-very-long-use-case-name-that-keeps-going-and-going-beyon-5001",
        ),
    ];
    for (name, id, expected) in cases {
        let derived = ModelPackageGroupName::for_use_case(name, id).unwrap();
        assert_eq!(derived.as_str(), expected, "{name:?}");
        assert!(derived.as_str().len() <= 63);
    }
    assert!(ModelPackageGroupName::for_use_case("x", "---").is_err());
}

#[test]
fn registry_arn_names_a_package_or_a_group_and_nothing_else() {
    let package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit/3";
    let group = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/credit";
    let parsed = RegistryArn::parse(package).unwrap();
    assert_eq!(parsed, ModelPackageArn::parse(package).unwrap());
    assert_eq!(parsed.as_str(), package);
    let parsed = RegistryArn::parse(group).unwrap();
    assert_eq!(parsed, ModelPackageGroupArn::parse(group).unwrap());
    assert_eq!(parsed.account().as_str(), "123456789012");
    for wrong in [
        "arn:aws:sagemaker:us-east-1:123456789012:model/credit",
        "arn:aws:s3:::bucket",
        "notification#use-case-approved#4711",
        "",
    ] {
        assert!(RegistryArn::parse(wrong).is_err(), "{wrong}");
    }
}

#[test]
fn a_group_arn_built_for_a_registry_parses_back_to_itself() {
    let name = ModelPackageGroupName::parse("credit-risk").unwrap();
    for (region, partition) in [
        ("us-east-1", "aws"),
        ("us-gov-west-1", "aws-us-gov"),
        ("cn-north-1", "aws-cn"),
    ] {
        let region = Region::parse(region).unwrap();
        let account = AccountId::parse("123456789012").unwrap();
        let arn = ModelPackageGroupArn::in_registry(&region, &account, &name);
        assert!(arn.as_str().starts_with(&format!("arn:{partition}:")));
        assert_eq!(ModelPackageGroupArn::parse(arn.as_str()).unwrap(), arn);
    }
}

#[test]
fn a_model_card_summary_is_its_status_and_first_filled_description() {
    let card = r#"{"intended_uses": {"purpose_of_model": "  ", "intended_uses": "score retail credit"},
                   "business_details": {"business_problem": "defaults"}}"#;
    assert_eq!(
        model_card_summary(Some(card), Some("Draft")).as_deref(),
        Some("Draft: score retail credit")
    );
    assert_eq!(
        model_card_summary(Some("not json"), Some("Approved")).as_deref(),
        None,
        "a status alone says nothing"
    );
    assert_eq!(model_card_summary(None, None), None);
    let long = format!(
        r#"{{"model_overview": {{"model_description": "{}"}}}}"#,
        "x".repeat(5000)
    );
    assert_eq!(
        model_card_summary(Some(&long), None).map(|s| s.chars().count()),
        Some(MAX_CARD_SUMMARY_CHARS)
    );
}
