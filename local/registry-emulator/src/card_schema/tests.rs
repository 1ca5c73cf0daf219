use serde_json::json;

use super::*;

/// A data scientist's card touching every section.
fn full_card() -> Value {
    json!({
        "model_overview": {
            "model_creator": "Risk analytics, fraud team",
            "model_artifact": ["s3://models-bucket/fraud/1.4/model.tar.gz"]
        },
        "intended_uses": {
            "purpose_of_model": "Score card transactions for fraud",
            "intended_uses": "Real-time scoring behind the payments API",
            "factors_affecting_model_efficiency": "Seasonal spending patterns",
            "risk_rating": "High",
            "explanations_for_risk_rating": "Declines affect customers directly"
        },
        "business_details": {
            "business_problem": "Card fraud losses",
            "business_stakeholders": "Payments, Risk",
            "line_of_business": "Retail banking"
        },
        "training_details": {
            "objective_function": {
                "function": {"function": "Minimize", "facet": "LOSS", "condition": "on holdout"},
                "notes": "log loss"
            },
            "training_observations": "Converged after 40 rounds",
            "training_job_details": {
                "training_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/fraud-14",
                "training_datasets": ["s3://data/fraud/train/"],
                "training_environment": {"container_image": ["683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"]},
                "training_metrics": [{"name": "train:logloss", "value": 0.12, "notes": "final"}],
                "user_provided_training_metrics": [{"name": "recall", "value": 1}],
                "hyper_parameters": [{"name": "max_depth", "value": "6"}],
                "user_provided_hyper_parameters": [{"name": "eta", "value": "0.2"}]
            }
        },
        "evaluation_details": [{
            "name": "holdout-2024-q4",
            "evaluation_observation": "AUC stable across segments",
            "evaluation_job_arn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/eval-14",
            "datasets": ["s3://data/fraud/holdout/"],
            "metadata": {"segment": "all", "_run": "7"},
            "metric_groups": [{
                "name": "quality",
                "metric_data": [
                    {"name": "auc", "type": "number", "value": 0.94},
                    {"name": "roc", "type": "linear_graph", "value": [[0, 0], [1, 1]], "x_axis_name": "fpr", "y_axis_name": "tpr"}
                ]
            }]
        }],
        "additional_information": {
            "ethical_considerations": "No protected attributes used",
            "caveats_and_recommendations": "Retrain quarterly",
            "custom_details": {"govsync_use_case": "UC-12", "ticket": "RISK-1"}
        }
    })
}

fn check_card(card: &Value) -> Result<(), CardError> {
    check_content(&card.to_string())
}

fn problem_at(card: &Value) -> (String, String) {
    match check_card(card) {
        Err(CardError::Invalid { path, problem }) => (path, problem),
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn the_vendored_schema_uses_only_supported_keywords() {
    assert!(schema().is_ok(), "{:?}", schema().err());
}

#[test]
fn a_full_valid_card_and_an_empty_one_pass() {
    assert_eq!(check_card(&full_card()), Ok(()));
    assert_eq!(check_content("{}"), Ok(()));
}

#[test]
fn an_unknown_top_level_section_is_refused_by_path() {
    let mut card = full_card();
    card["deployment_notes"] = json!({"where": "prod"});
    let (path, problem) = problem_at(&card);
    assert_eq!(path, "$.deployment_notes");
    assert!(problem.contains("business_details"), "{problem}");
}

#[test]
fn model_package_details_belongs_to_the_stand_alone_card_only() {
    let card = json!({"model_package_details": {"model_package_group_name": "fraud"}});
    let (path, problem) = problem_at(&card);
    assert_eq!(path, "$.model_package_details");
    assert!(problem.contains("not a member"), "{problem}");
    // The stand-alone card's model_overview members are not the package's either.
    let (path, _) = problem_at(&json!({"model_overview": {"model_name": "fraud"}}));
    assert_eq!(path, "$.model_overview.model_name");
}

#[test]
fn risk_rating_is_an_enum() {
    let mut card = full_card();
    card["intended_uses"]["risk_rating"] = json!("Critical");
    let (path, problem) = problem_at(&card);
    assert_eq!(path, "$.intended_uses.risk_rating");
    assert_eq!(
        problem,
        "\"Critical\" is not one of: High, Medium, Low, Unknown"
    );
}

#[test]
fn over_long_strings_and_lists_are_refused() {
    let mut card = full_card();
    card["business_details"]["business_problem"] = json!("x".repeat(2049));
    let (path, problem) = problem_at(&card);
    assert_eq!(path, "$.business_details.business_problem");
    assert!(
        problem.contains("2049") && problem.contains("2048"),
        "{problem}"
    );
    // Characters, not bytes: 2048 two-byte characters fit.
    card["business_details"]["business_problem"] = json!("é".repeat(2048));
    assert_eq!(check_card(&card), Ok(()));

    let mut card = full_card();
    card["model_overview"]["model_artifact"] = json!(vec!["s3://b/k"; 16]);
    assert_eq!(problem_at(&card).0, "$.model_overview.model_artifact");
}

#[test]
fn custom_details_keys_follow_the_identifier_pattern() {
    let mut card = full_card();
    card["additional_information"]["custom_details"] = json!({"use-case id": "UC-12"});
    let (path, problem) = problem_at(&card);
    assert_eq!(
        path,
        "$.additional_information.custom_details[\"use-case id\"]"
    );
    assert!(problem.starts_with("member name:"), "{problem}");
    card["additional_information"]["custom_details"] = json!({"9lives": "x"});
    assert!(check_card(&card).is_err());
    card["additional_information"]["custom_details"] = json!({"ok": 1});
    assert_eq!(
        problem_at(&card),
        (
            "$.additional_information.custom_details.ok".to_owned(),
            "expected a string, got a number".to_owned()
        )
    );
}

#[test]
fn content_must_be_a_json_object() {
    let (path, problem) = match check_content("{not json") {
        Err(CardError::Invalid { path, problem }) => (path, problem),
        other => panic!("{other:?}"),
    };
    assert_eq!(path, "$");
    assert!(problem.starts_with("not valid JSON"), "{problem}");
    assert_eq!(
        check_content("[1, 2]"),
        Err(CardError::Invalid {
            path: "$".into(),
            problem: "expected an object, got an array".into()
        })
    );
}

#[test]
fn required_members_and_item_schemas_apply_inside_lists() {
    let mut card = full_card();
    card["evaluation_details"][0]
        .as_object_mut()
        .map(|detail| detail.remove("name"));
    let (path, problem) = problem_at(&card);
    assert_eq!(path, "$.evaluation_details[0]");
    assert!(problem.contains("\"name\""), "{problem}");

    let mut card = full_card();
    card["training_details"]["training_job_details"]["training_metrics"][0]["value"] =
        json!("high");
    assert_eq!(
        problem_at(&card).0,
        "$.training_details.training_job_details.training_metrics[0].value"
    );
}

#[test]
fn unknown_keywords_and_broken_refs_are_schema_errors() {
    let schema = json!({"type": "object", "minProperties": 1});
    assert!(matches!(
        audit(&schema, &schema, 0),
        Err(CardError::Schema(_))
    ));
    let schema = json!({"$ref": "#/definitions/missing"});
    assert!(matches!(
        audit(&schema, &schema, 0),
        Err(CardError::Schema(_))
    ));
    let cyclic =
        json!({"definitions": {"a": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"});
    assert!(matches!(
        audit(&cyclic, &cyclic, 0),
        Err(CardError::Schema(_))
    ));
}
