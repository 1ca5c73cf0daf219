//! The OpenPages v2 subset over HTTP: auth modes, CRUD, hierarchy, enum validation, query, types,
//! associations, the CP4D path form and the inventory page.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use govsync_governance_emulator::EmulatorConfig;
use govsync_governance_emulator::config::DeploymentMode;
use serde_json::{Value, json};
use support::{API, field, start, start_with, status_and_json, test_config};

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three-part token");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("json claims")
}

#[tokio::test]
async fn mcsp_token_is_a_jwt_with_exp_and_authorizes_api_calls() {
    let emulator = start().await;
    let token = emulator.token().await;
    let claims = jwt_claims(&token);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    assert_eq!(exp - iat, 3600);
    let (status, types) = emulator.get(&token, "/types").await;
    assert_eq!(status, 200);
    assert_eq!(types["types"].as_array().map(Vec::len), Some(6));

    let wrong = emulator
        .client
        .post(emulator.url("/api/2.0/services/x/apikeys/token"))
        .json(&json!({"apikey": "wrong"}))
        .send()
        .await
        .expect("send");
    let (status, body) = status_and_json(wrong).await;
    assert_eq!(status, 401);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn iam_token_has_the_ibm_cloud_shape_and_rejects_a_wrong_key() {
    let emulator = start().await;
    let form = "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=local-api-key";
    let response = emulator
        .client
        .post(emulator.url("/identity/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("send");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["refresh_token"], "not_supported");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap_or_default();
    assert_eq!(jwt_claims(token)["exp"], body["expiration"]);
    assert_eq!(emulator.get(token, "/types/Model").await.0, 200);

    for bad in [
        "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=nope",
        "grant_type=password&apikey=local-api-key",
    ] {
        let response = emulator
            .client
            .post(emulator.url("/identity/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(bad)
            .send()
            .await
            .expect("send");
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["errorMessage"].is_string());
    }
}

#[tokio::test]
async fn cp4d_authorize_issues_a_token_and_rejects_wrong_credentials() {
    let emulator = start().await;
    let ok = emulator
        .client
        .post(emulator.url("/icp4d-api/v1/authorize"))
        .json(&json!({"username": "admin", "api_key": "local-api-key"}))
        .send()
        .await
        .expect("send");
    let (status, body) = status_and_json(ok).await;
    assert_eq!(status, 200);
    assert_eq!(body["_messageCode_"], "200");
    assert_eq!(body["message"], "Success");
    let token = body["token"].as_str().unwrap_or_default();
    assert_eq!(jwt_claims(token)["sub"], "admin");
    // The default (SaaS) mode serves only its own prefix, never the CP4D form.
    let response = emulator
        .client
        .get(emulator.url("/openpages-grc1-opgrc/api/v2/types/ModelUseCase"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    let response = emulator
        .client
        .get(emulator.url("/somethingelse/api/v2/types"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);

    let bad = emulator
        .client
        .post(emulator.url("/icp4d-api/v1/authorize"))
        .json(&json!({"username": "admin", "api_key": "nope"}))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 401);
}

#[tokio::test]
async fn basic_auth_is_accepted_per_call_and_bad_credentials_are_401() {
    let emulator = start().await;
    let get = |user: &'static str, password: &'static str| {
        emulator
            .client
            .get(emulator.api("/types"))
            .basic_auth(user, Some(password))
            .send()
    };
    assert_eq!(get("admin", "admin").await.expect("send").status(), 200);
    assert_eq!(get("admin", "wrong").await.expect("send").status(), 401);
}

#[tokio::test]
async fn calls_without_valid_credentials_are_401_and_counted() {
    let emulator = start().await;
    let none = emulator
        .client
        .get(emulator.api("/types"))
        .send()
        .await
        .expect("send");
    assert_eq!(none.status(), 401);
    let (status, _) = emulator.get("not-a-token", "/contents/1001").await;
    assert_eq!(status, 401);
    let stats = emulator.admin_get("/stats").await;
    assert_eq!(stats["unauthorized"], 2);
    assert_eq!(stats["api_requests"], 2);
}

#[tokio::test]
async fn admin_expire_invalidates_every_issued_token() {
    let emulator = start().await;
    let token = emulator.token().await;
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
    let response = emulator
        .client
        .post(emulator.url("/_emulator/tokens/expire"))
        .send()
        .await
        .expect("send");
    assert!(response.status().is_success());
    assert_eq!(emulator.get(&token, "/types").await.0, 401);
    let fresh = emulator.token().await;
    assert_eq!(emulator.get(&fresh, "/types").await.0, 200);
    assert_eq!(emulator.admin_get("/stats").await["token_requests"], 2);
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let config = govsync_governance_emulator::EmulatorConfig {
        token_ttl: std::time::Duration::from_secs(1),
        ..test_config()
    };
    let emulator = start_with(config).await;
    let token = emulator.token().await;
    assert_eq!(emulator.get(&token, "/types").await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(emulator.get(&token, "/types").await.0, 401);
}

#[tokio::test]
async fn type_definitions_list_fields_and_enum_values() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (status, model) = emulator.get(&token, "/types/Model").await;
    assert_eq!(status, 200);
    let fields = model["field_definitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let status_field = fields
        .iter()
        .find(|f| f["name"] == "MRG-Model:Status")
        .cloned()
        .unwrap_or_default();
    assert_eq!(status_field["data_type"], "ENUM_TYPE");
    let values: Vec<&str> = status_field["enum_values"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(values.len(), 17);
    assert!(values.contains(&"Approved for Production") && values.contains(&"Under Review"));
    let (_, use_case) = emulator.get(&token, "/types/ModelUseCase").await;
    let names: Vec<&str> = use_case["field_definitions"]
        .as_array()
        .map(|f| f.iter().filter_map(|d| d["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"MRG-ModelUseCase:Data Science Team Email"));
    assert!(names.contains(&"MRG-AIFacts-ModelUseCase:Risk Level"));
    assert_eq!(emulator.get(&token, "/types/Nope").await.0, 404);
}

#[tokio::test]
async fn objects_round_trip_with_enum_encoding_and_system_fields() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, _, group) = emulator.seed_chain(&token).await;
    let model = emulator
        .create(
            &token,
            "Model",
            "fraud-detection v1",
            Some(&group),
            json!([
                {"name": "MRG-Model:Status", "value": {"name": "Under Development"}},
                {"name": "MRG-Model:Model Version", "value": "1"},
                {"name": "Integration:External ID", "value": "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection/1"},
            ]),
        )
        .await;
    assert!(
        model.parse::<u64>().is_ok(),
        "ids are numeric strings: {model}"
    );
    let (status, object) = emulator.get(&token, &format!("/contents/{model}")).await;
    assert_eq!(status, 200);
    assert_eq!(object["type_definition_id"], "Model");
    assert_eq!(object["primary_parent_id"], group.as_str());
    assert_eq!(object["description"], "fraud-detection v1 description");
    assert_eq!(
        field(&object, "MRG-Model:Status"),
        &json!({"name": "Under Development"})
    );
    assert_eq!(field(&object, "MRG-Model:Model Version"), "1");
    let created = field(&object, "Creation Date")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        created.ends_with('Z') && created.len() == 24,
        "ISO-8601 UTC with millis: {created}"
    );

    // Merge: only the given fields change.
    let (status, updated) = emulator
        .put(
            &token,
            &format!("/contents/{model}"),
            json!({"fields": [{"name": "MRG-Model:Status", "value": {"name": "Development Complete"}}]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        field(&updated, "MRG-Model:Status"),
        &json!({"name": "Development Complete"})
    );
    assert_eq!(field(&updated, "MRG-Model:Model Version"), "1");
    assert_eq!(updated["name"], "fraud-detection v1");
    assert!(field(&updated, "Last Modification Date").as_str() > Some(created.as_str()));

    assert_eq!(
        emulator.delete(&token, &format!("/contents/{model}")).await,
        204
    );
    assert_eq!(
        emulator.get(&token, &format!("/contents/{model}")).await.0,
        404
    );
    assert_eq!(emulator.get(&token, "/contents/999999").await.0, 404);
    assert_eq!(emulator.get(&token, "/contents/not-a-number").await.0, 404);
}

#[tokio::test]
async fn creation_is_not_idempotent() {
    let emulator = start().await;
    let token = emulator.token().await;
    let first = emulator
        .create(&token, "SOXBusEntity", "Same name", None, json!([]))
        .await;
    let second = emulator
        .create(&token, "SOXBusEntity", "Same name", None, json!([]))
        .await;
    assert_ne!(first, second);
    assert_eq!(
        emulator.admin_get("/state").await["objects"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn hierarchy_is_enforced_on_create() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (entity, use_case, group) = emulator.seed_chain(&token).await;
    let cases = [
        ("Model", Some(use_case.as_str()), "cannot be placed under"),
        ("Model", Some(entity.as_str()), "cannot be placed under"),
        (
            "ModelGroup",
            Some(entity.as_str()),
            "cannot be placed under",
        ),
        ("ModelUseCase", None, "must have a primary_parent_id"),
        ("Metric", Some(group.as_str()), "cannot be placed under"),
        ("Model", Some("987654"), "parent object 987654 not found"),
    ];
    for (type_id, parent, expected) in cases {
        let (status, body) = emulator
            .post(
                &token,
                "/contents",
                json!({"name": "x", "type_definition_id": type_id, "primary_parent_id": parent}),
            )
            .await;
        assert_eq!(status, 400, "{type_id} under {parent:?}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(expected),
            "{body}"
        );
    }
    // The full chain down to a metric value is accepted.
    let model = emulator
        .create(&token, "Model", "m", Some(&group), json!([]))
        .await;
    let metric = emulator
        .create(
            &token,
            "Metric",
            "accuracy",
            Some(&model),
            json!([{"name": "MRG-Metric-Shared:Lower Threshold", "value": 0.8}]),
        )
        .await;
    emulator
        .create(
            &token,
            "MetricValue",
            "accuracy 2024-05-01",
            Some(&metric),
            json!([
                {"name": "MRG-MetricVal:Value", "value": 0.75},
                {"name": "MRG-MetricVal:Value Date", "value": "2024-05-01T00:00:00Z"},
                {"name": "MRG-Metric-Shared:Breach Status", "value": {"name": "Red"}},
            ]),
        )
        .await;
    // A parent with children cannot be deleted.
    assert_eq!(
        emulator
            .delete(&token, &format!("/contents/{metric}"))
            .await,
        409
    );
}

#[tokio::test]
async fn unknown_enum_values_fields_and_types_are_rejected_by_name() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, use_case, group) = emulator.seed_chain(&token).await;
    let cases = [
        (
            json!({"name": "m", "type_definition_id": "Model", "primary_parent_id": group,
                   "fields": [{"name": "MRG-Model:Status", "value": {"name": "Shipped"}}]}),
            vec!["MRG-Model:Status", "Shipped"],
        ),
        (
            json!({"name": "m", "type_definition_id": "Model", "primary_parent_id": group,
                   "fields": [{"name": "MRG-Model:Colour", "value": "blue"}]}),
            vec!["unknown field", "MRG-Model:Colour"],
        ),
        (
            json!({"name": "m", "type_definition_id": "Widget", "primary_parent_id": group}),
            vec!["unknown type definition", "Widget"],
        ),
        (
            json!({"name": "m", "type_definition_id": "Model", "primary_parent_id": group,
                   "fields": [{"name": "Last Modification Date", "value": "2024-01-01"}]}),
            vec!["system field"],
        ),
        (
            json!({"type_definition_id": "Model", "primary_parent_id": group}),
            vec!["'name' is required"],
        ),
        (json!([1, 2]), vec!["must be a JSON object"]),
    ];
    for (body, expected) in cases {
        let (status, response) = emulator.post(&token, "/contents", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        let message = response["message"].as_str().unwrap_or_default();
        for part in expected {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
    }
    let (status, response) = emulator
        .put(
            &token,
            &format!("/contents/{use_case}"),
            json!({"fields": [{"name": "MRG-AIFacts-ModelUseCase:Risk Level", "value": {"name": "Extreme"}}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        response["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Extreme")
    );
    let raw = emulator
        .client
        .post(emulator.api("/contents"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status(), 400);
}

#[tokio::test]
async fn query_filters_pages_with_next_and_reports_syntax_errors() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, _, group) = emulator.seed_chain(&token).await;
    for i in 0..5 {
        emulator
            .create(
                &token,
                "Model",
                &format!("model {i}"),
                Some(&group),
                json!([{"name": "Integration:External ID", "value": format!("arn:aws:sagemaker:us-east-1:1:model-package/g/{i}")}]),
            )
            .await;
    }
    let statement = "SELECT [Resource ID],[Name] FROM [Model] ORDER BY [Resource ID] ASC";
    let (status, page1) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": statement, "offset": 0, "limit": 2}),
        )
        .await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(page1["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        page1["next"],
        json!({"href": "/opgrc/api/v2/query?offset=2&limit=2"}),
        "the next page is a link carrying its offset"
    );
    let (_, page3) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": statement, "offset": 4, "limit": 2}),
        )
        .await;
    assert_eq!(page3["rows"].as_array().map(Vec::len), Some(1));
    assert!(
        page3.get("next").is_none(),
        "no next on the last page: {page3}"
    );
    let (_, all) = emulator
        .post(&token, "/query", json!({"statement": statement}))
        .await;
    assert_eq!(all["limit"], 100);
    assert!(all.get("next").is_none());

    let by_arn = "SELECT [Resource ID],[Name] FROM [Model] WHERE [Integration:External ID] = 'arn:aws:sagemaker:us-east-1:1:model-package/g/3'";
    let (_, found) = emulator
        .post(&token, "/query", json!({"statement": by_arn}))
        .await;
    let rows = found["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&rows[0], "Name"), "model 3");

    let (status, error) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": "SELECT [Name] FROM [Model] WHERE [Name] ~ 'x'"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'~'"),
        "{error}"
    );
    let (status, _) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": statement, "limit": 0}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, over) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": statement, "limit": 501}),
        )
        .await;
    assert_eq!(status, 400, "limit is capped at 500: {over}");
    let (status, shaped) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": statement, "offset": 0, "limit": 500, "max_rows": 500,
                   "case_insensitive": false, "honor_primary": false}),
        )
        .await;
    assert_eq!(status, 200, "IBM's request shape: {shaped}");
    let (status, _) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": statement, "case_insensitive": "no"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn last_modification_watermark_finds_only_newer_changes() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, use_case, _) = emulator.seed_chain(&token).await;
    let (_, object) = emulator.get(&token, &format!("/contents/{use_case}")).await;
    let watermark = field(&object, "Last Modification Date")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Instants are not documented literals; days are.
    let finer = format!(
        "SELECT [Resource ID] FROM [ModelUseCase] WHERE [Last Modification Date] > '{watermark}'"
    );
    let (status, refused) = emulator
        .post(&token, "/query", json!({"statement": finer}))
        .await;
    assert_eq!(status, 400, "{refused}");
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let today = &watermark[..10];
    let statement = |day: &str| {
        format!(
            "SELECT [Resource ID],[Last Modification Date] FROM [ModelUseCase] \
             WHERE [Last Modification Date] >= '{day}' ORDER BY [Last Modification Date] ASC"
        )
    };
    let (_, before) = emulator
        .post(&token, "/query", json!({"statement": statement(&tomorrow)}))
        .await;
    assert_eq!(before["rows"].as_array().map(Vec::len), Some(0));
    let statement = statement(today);
    emulator
        .put(
            &token,
            &format!("/contents/{use_case}"),
            json!({"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Approved for Development"}}]}),
        )
        .await;
    let (_, after) = emulator
        .post(&token, "/query", json!({"statement": statement}))
        .await;
    let rows = after["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&rows[0], "Resource ID"), use_case.as_str());
}

#[tokio::test]
async fn associations_link_parent_and_child_within_the_hierarchy() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (entity, use_case, group) = emulator.seed_chain(&token).await;
    let other_use_case = emulator
        .create(&token, "ModelUseCase", "Second", Some(&entity), json!([]))
        .await;
    let (status, body) = emulator
        .post(
            &token,
            &format!("/contents/{group}/associations"),
            json!({"associations": [{"id": other_use_case, "type": "ModelUseCase"}]}),
        )
        .await;
    assert_eq!(status, 400, "a type id is not a relation: {body}");
    let (status, body) = emulator
        .post(
            &token,
            &format!("/contents/{group}/associations"),
            json!({"associations": [{"id": other_use_case, "type": "parent"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = emulator
        .get(&token, &format!("/contents/{group}/associations"))
        .await;
    let parents: Vec<(String, bool)> = listed["associations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["type"] == "parent")
                .map(|x| {
                    (
                        x["id"].as_str().unwrap_or_default().to_owned(),
                        x["primary"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        parents,
        vec![(use_case.clone(), true), (other_use_case.clone(), false)]
    );
    let status = emulator
        .delete(
            &token,
            &format!("/contents/{group}/associations?parents={use_case}"),
        )
        .await;
    assert_eq!(status, 400, "the primary parent stays");
    let status = emulator
        .delete(
            &token,
            &format!("/contents/{group}/associations?parents={other_use_case}"),
        )
        .await;
    assert_eq!(status, 200);
    let (_, listed) = emulator
        .get(&token, &format!("/contents/{group}/associations"))
        .await;
    assert_eq!(listed["associations"].as_array().map(Vec::len), Some(1));
    let (status, body) = emulator
        .post(
            &token,
            &format!("/contents/{group}/associations"),
            json!({"associations": [{"id": entity, "type": "parent"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot be placed under")
    );
}

#[tokio::test]
async fn inventory_page_shows_the_tree_escaped_and_as_json() {
    let emulator = start().await;
    let token = emulator.token().await;
    let entity = emulator
        .create(
            &token,
            "SOXBusEntity",
            "<b>Registry</b> & co",
            None,
            json!([]),
        )
        .await;
    let use_case = emulator
        .create(&token, "ModelUseCase", "Use case", Some(&entity), json!([]))
        .await;
    let group = emulator
        .create(&token, "ModelGroup", "group", Some(&use_case), json!([]))
        .await;
    emulator
        .create(
            &token,
            "Model",
            "model",
            Some(&group),
            json!([
                {"name": "MRG-Model:Status", "value": {"name": "In Production"}},
                {"name": "Integration:External ID", "value": "arn:x/<1>"},
            ]),
        )
        .await;
    let html = emulator
        .client
        .get(emulator.url("/"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("&lt;b&gt;Registry&lt;/b&gt; &amp; co"));
    assert!(!html.contains("<b>Registry"));
    assert!(html.contains("In Production") && html.contains("arn:x/&lt;1&gt;"));
    let (_, tree) = status_and_json(
        emulator
            .client
            .get(emulator.url("/?format=json"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    let model = &tree["business_entities"][0]["children"][0]["children"][0]["children"][0];
    assert_eq!(model["name"], "model");
    assert_eq!(model["fields"]["MRG-Model:Status"], "In Production");
    assert_eq!(API, "/opgrc/api/v2");
}

#[tokio::test]
async fn update_replaces_the_description_only_when_sent() {
    let emulator = start().await;
    let token = emulator.token().await;
    let id = emulator
        .create(&token, "SOXBusEntity", "Described entity", None, json!([]))
        .await;
    let path = format!("/contents/{id}");

    let (status, updated) = emulator
        .put(
            &token,
            &path,
            json!({"description": "a new description", "fields": []}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["description"], "a new description");
    assert_eq!(updated["name"], "Described entity");
    let (_, read) = emulator.get(&token, &path).await;
    assert_eq!(read["description"], "a new description");

    // A PUT without `description` keeps it.
    let (status, updated) = emulator.put(&token, &path, json!({"fields": []})).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["description"], "a new description");
}

#[tokio::test]
async fn types_come_wrapped_with_their_associations_and_decimal_numbers() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, types) = emulator.get(&token, "/types").await;
    let metric = types["types"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["id"] == "Metric"))
        .cloned()
        .unwrap_or_default();
    let threshold = metric["field_definitions"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|d| d["name"] == "MRG-Metric-Shared:Lower Threshold")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(threshold["data_type"], "DECIMAL_TYPE");
    let (status, associations) = emulator.get(&token, "/types/ModelGroup/associations").await;
    assert_eq!(status, 200);
    let relations: Vec<(String, String)> = associations["associations"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap_or_default().to_owned(),
                        a["relationship"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        relations,
        [
            ("ModelUseCase".to_owned(), "Parent".to_owned()),
            ("Model".to_owned(), "Child".to_owned())
        ]
    );
    assert_eq!(
        emulator.get(&token, "/types/Nope/associations").await.0,
        404
    );
}

#[tokio::test]
async fn a_root_object_is_created_as_ibms_client_does_and_read_by_its_path() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (status, root) = emulator
        .post(
            &token,
            "/contents",
            json!({"name": "Retail", "title": "Retail", "description": "d",
                   "primary_parent_id": "", "type_definition_id": "SOXBusEntity", "fields": []}),
        )
        .await;
    assert_eq!(status, 200, "{root}");
    assert_eq!(root["title"], "Retail");
    assert!(root["primary_parent_id"].is_null());
    let (status, by_path) = emulator.get(&token, "/contents/%2FRetail").await;
    assert_eq!(status, 200, "{by_path}");
    assert_eq!(by_path["id"], root["id"]);
    assert_eq!(emulator.get(&token, "/contents/%2FNowhere").await.0, 404);
}

#[tokio::test]
async fn enum_values_are_accepted_only_as_name_objects() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, use_case, _) = emulator.seed_chain(&token).await;
    let (status, refused) = emulator
        .put(
            &token,
            &format!("/contents/{use_case}"),
            json!({"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": "Approved for Development"}]}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Invalid value for enumeration field"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_query_naming_an_invented_parent_column_is_refused_as_an_invalid_field() {
    let emulator = start().await;
    let token = emulator.token().await;
    let (_, _, group) = emulator.seed_chain(&token).await;
    let (status, refused) = emulator
        .post(
            &token,
            "/query",
            json!({"statement": format!("SELECT [Resource ID] FROM [Model] WHERE [Parent Id] = '{group}'")}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Invalid Field"),
        "{refused}"
    );
}

#[tokio::test]
async fn cp4d_mode_serves_only_the_instance_prefix() {
    let emulator = start_with(EmulatorConfig {
        deployment: DeploymentMode::Cp4d {
            instance: "grc1".to_owned(),
        },
        ..test_config()
    })
    .await;
    let token = emulator.token().await;
    let get = |path: &str| {
        emulator
            .client
            .get(emulator.url(path))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        get("/openpages-grc1-opgrc/api/v2/types")
            .await
            .expect("send")
            .status(),
        200
    );
    assert_eq!(
        get("/opgrc/api/v2/types").await.expect("send").status(),
        404
    );
    assert_eq!(
        get("/openpages-other-opgrc/api/v2/types")
            .await
            .expect("send")
            .status(),
        404
    );
}
