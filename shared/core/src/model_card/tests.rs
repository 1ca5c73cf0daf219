use serde_json::json;

use super::*;

fn facts() -> CardFacts {
    CardFacts {
        use_case_id: "4120".into(),
        use_case_name: "Credit risk scoring".into(),
        use_case_link: Some("https://grc.example.com/app/jspview/react/grc/task-view/4120".into()),
        risk_level: Some("High".into()),
        business_entity: "Retail Banking".into(),
        owners: Some("Dana Ops".into()),
        governance_status: Some("Under Development".into()),
        model_group_id: Some("4121".into()),
        model_id: Some("4122".into()),
        model_link: Some("https://grc.example.com/app/jspview/react/grc/task-view/4122".into()),
    }
}

fn card(content: serde_json::Value, status: &str) -> PackageCard {
    PackageCard {
        content: Some(content.to_string()),
        status: Some(status.into()),
    }
}

fn written(decision: CardDecision) -> (serde_json::Value, String) {
    match decision {
        CardDecision::Write(write) => (serde_json::from_str(&write.content).unwrap(), write.status),
        other => panic!("expected a write, got {other:?}"),
    }
}

fn data_scientists_card() -> serde_json::Value {
    json!({
        "model_overview": {"model_creator": "ds-team", "model_artifact": ["s3://bucket/model.tar.gz"]},
        "intended_uses": {"purpose_of_model": "score retail credit", "risk_rating": "Medium"},
        "business_details": {"business_problem": "defaults", "line_of_business": "Cards"},
        "evaluation_details": [{"name": "holdout", "metric_groups": []}],
        "additional_information": {"ethical_considerations": "bias reviewed",
                                   "custom_details": {"training_run": "run-42"}}
    })
}

#[test]
fn a_filled_in_card_keeps_every_field_and_gains_governances() {
    let before = data_scientists_card();
    let (after, status) = written(merge(
        Some(&card(before.clone(), "PendingReview")),
        &facts(),
    ));
    assert_eq!(
        status, "PendingReview",
        "the status is the data scientists'"
    );
    // Every field they wrote is still there, unchanged.
    assert_eq!(after["model_overview"], before["model_overview"]);
    assert_eq!(after["evaluation_details"], before["evaluation_details"]);
    assert_eq!(
        after["intended_uses"]["purpose_of_model"],
        "score retail credit"
    );
    assert_eq!(
        after["intended_uses"]["risk_rating"], "Medium",
        "their rating is kept"
    );
    assert_eq!(after["business_details"]["line_of_business"], "Cards");
    assert_eq!(
        after["additional_information"]["ethical_considerations"],
        "bias reviewed"
    );
    assert_eq!(
        after["additional_information"]["custom_details"]["training_run"],
        "run-42"
    );
    // Governance's facts are added.
    let details = &after["additional_information"]["custom_details"];
    assert_eq!(details[entries::USE_CASE_NAME], "Credit risk scoring");
    assert_eq!(details[entries::RISK_LEVEL], "High");
    assert_eq!(details[entries::GOVERNANCE_STATUS], "Under Development");
    assert_eq!(details[entries::MODEL_ID], "4122");
    assert_eq!(
        after["business_details"]["business_stakeholders"], "Dana Ops",
        "empty: filled"
    );
}

#[test]
fn an_empty_package_gets_a_draft_card_with_the_schemas_risk_rating() {
    let (after, status) = written(merge(None, &facts()));
    assert_eq!(status, DRAFT);
    assert_eq!(after["intended_uses"]["risk_rating"], "High");
    assert_eq!(
        after["business_details"]["line_of_business"],
        "Retail Banking"
    );
}

#[test]
fn govsyncs_own_fields_follow_governance_and_a_merge_is_idempotent() {
    let (first, status) = written(merge(None, &facts()));
    let first_card = card(first.clone(), &status);
    assert_eq!(merge(Some(&first_card), &facts()), CardDecision::Unchanged);
    let mut changed = facts();
    changed.risk_level = Some("Low".into());
    changed.business_entity = "Wealth".into();
    let (second, _) = written(merge(Some(&first_card), &changed));
    assert_eq!(second["intended_uses"]["risk_rating"], "Low");
    assert_eq!(second["business_details"]["line_of_business"], "Wealth");
    // A data scientist then overrides the rating: governance's next change leaves it.
    let mut edited = second.clone();
    edited["intended_uses"]["risk_rating"] = json!("High");
    changed.risk_level = Some("Medium".into());
    let (third, _) = written(merge(Some(&card(edited, "Draft")), &changed));
    assert_eq!(third["intended_uses"]["risk_rating"], "High");
    assert_eq!(
        third["additional_information"]["custom_details"][entries::RISK_LEVEL],
        "Medium"
    );
}

#[test]
fn risk_levels_map_to_the_schemas_values() {
    for (level, rating) in [
        (Some("High"), "High"),
        (Some("very high"), "High"),
        (Some("Medium"), "Medium"),
        (Some(" low "), "Low"),
        (Some("Severe-ish"), "Unknown"),
        (None, "Unknown"),
    ] {
        assert_eq!(risk_rating(level), rating, "{level:?}");
    }
}

#[test]
fn archived_or_unreadable_cards_are_skipped_with_the_reason() {
    let archived = card(data_scientists_card(), ARCHIVED);
    assert_eq!(
        merge(Some(&archived), &facts()),
        CardDecision::Skip(CardSkip::Archived)
    );
    assert_eq!(
        with_governance_status(Some(&archived), "Approved for Production"),
        CardDecision::Skip(CardSkip::Archived)
    );
    let broken = PackageCard {
        content: Some("[1, 2]".into()),
        status: Some("Draft".into()),
    };
    assert_eq!(
        merge(Some(&broken), &facts()),
        CardDecision::Skip(CardSkip::Unreadable)
    );
}

#[test]
fn f4_sets_only_the_status_entry_of_a_card_govsync_wrote() {
    assert_eq!(
        with_governance_status(Some(&card(data_scientists_card(), "Draft")), "Approved"),
        CardDecision::Unchanged,
        "a card govsync never wrote waits for the full merge"
    );
    let (ours, status) = written(merge(None, &facts()));
    let (after, _) = written(with_governance_status(
        Some(&card(ours.clone(), &status)),
        "Approved for Production",
    ));
    assert_eq!(
        after["additional_information"]["custom_details"][entries::GOVERNANCE_STATUS],
        "Approved for Production"
    );
    let mut expected = ours;
    expected["additional_information"]["custom_details"][entries::GOVERNANCE_STATUS] =
        json!("Approved for Production");
    assert_eq!(after, expected, "nothing else moved");
}

#[test]
fn drift_names_the_entries_that_differ_from_governance() {
    let (ours, status) = written(merge(None, &facts()));
    let current = card(ours, &status);
    assert!(
        drifted_entries(
            Some(&current),
            &[
                (entries::USE_CASE_NAME, Some("Credit risk scoring")),
                (entries::GOVERNANCE_STATUS, Some("Under Development")),
                (entries::OWNERS, None),
            ]
        )
        .is_empty()
    );
    assert_eq!(
        drifted_entries(
            Some(&current),
            &[(entries::GOVERNANCE_STATUS, Some("Approved for Production"))]
        ),
        vec![entries::GOVERNANCE_STATUS]
    );
    assert_eq!(
        drifted_entries(Some(&card(data_scientists_card(), "Draft")), &[]),
        vec!["all"]
    );
}

#[test]
fn long_values_are_cut_to_the_schemas_limits() {
    let mut long = facts();
    long.use_case_name = "n".repeat(3000);
    long.business_entity = "e".repeat(3000);
    let (after, _) = written(merge(None, &long));
    let name = after["additional_information"]["custom_details"][entries::USE_CASE_NAME]
        .as_str()
        .unwrap();
    assert_eq!(name.chars().count(), MAX_DETAIL_CHARS);
    let entity = after["business_details"]["line_of_business"]
        .as_str()
        .unwrap();
    assert_eq!(entity.chars().count(), MAX_DETAIL_CHARS);
    let again = card(after.clone(), DRAFT);
    assert_eq!(merge(Some(&again), &long), CardDecision::Unchanged);
}
