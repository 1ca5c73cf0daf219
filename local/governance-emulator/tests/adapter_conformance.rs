//! Conformance: every request govsync's governance adapter can send, against the strict emulator,
//! in each deployment mode's prefix. A request the emulator refuses (an invented column, a type id
//! as a relation, an undocumented literal, a wrong prefix) fails here, without the local stack.

mod support;

use chrono::Utc;
use govsync_adapters::governance::{
    GovernanceAuth, GovernanceClient, GovernanceConfig, Related, Relation, cp4d_api_prefix,
};
use govsync_core::metrics::fields as metrics;
use govsync_core::ports::{
    ExternalIdLookup, Field, FieldValue, Governance, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceObject, GovernanceQuery, NewGovernanceObject, QueryCondition,
};
use govsync_core::secret::Secret;
use govsync_governance_emulator::EmulatorConfig;
use govsync_governance_emulator::config::DeploymentMode;
use support::{Emulator, start, start_with, test_config};

fn client_at(emulator: &Emulator, api_prefix: &str, page_size: u32) -> GovernanceClient {
    let auth = GovernanceAuth::Basic {
        username: "admin".to_owned(),
        password: Secret::new("admin"),
    };
    let mut config = GovernanceConfig::new(emulator.base.clone(), auth);
    config.api_prefix = api_prefix.to_owned();
    config.page_size = page_size;
    GovernanceClient::new(config).unwrap_or_else(|error| panic!("client: {error}"))
}

fn new_object(
    kind: GovernanceKind,
    name: &str,
    parent: Option<&GovernanceObject>,
    fields: Vec<Field>,
) -> NewGovernanceObject {
    NewGovernanceObject {
        kind,
        name: name.to_owned(),
        description: Some(format!("{name}, created by the conformance suite")),
        parent_id: parent.map(|p| p.id.clone()),
        fields,
    }
}

async fn create(client: &GovernanceClient, object: NewGovernanceObject) -> GovernanceObject {
    client
        .create_object(&object)
        .await
        .unwrap_or_else(|error| panic!("create {}: {error}", object.name))
}

fn ids(rows: &[govsync_core::ports::QueryRow]) -> Vec<GovernanceId> {
    rows.iter().filter_map(|row| row.id.clone()).collect()
}

/// The hierarchy govsync builds: entity (root) → use case → two groups → models.
struct Tree {
    use_case: GovernanceObject,
    groups: [GovernanceObject; 2],
    models: Vec<GovernanceObject>,
}

async fn build(client: &GovernanceClient, models: usize) -> Tree {
    let entity = create(
        client,
        new_object(GovernanceKind::BusinessEntity, "Retail", None, vec![]),
    )
    .await;
    let use_case = create(
        client,
        new_object(
            GovernanceKind::UseCase,
            "Credit risk",
            Some(&entity),
            vec![Field::choice("MRG-AIFacts-ModelUseCase:Status", "Proposed")],
        ),
    )
    .await;
    let mut groups = Vec::new();
    for name in ["credit-a", "credit-b"] {
        groups.push(
            create(
                client,
                new_object(
                    GovernanceKind::ModelGroup,
                    name,
                    Some(&use_case),
                    vec![Field::text(
                        "Integration:External ID",
                        format!("arn:group/{name}"),
                    )],
                ),
            )
            .await,
        );
    }
    let mut created = Vec::new();
    for version in 0..models {
        created.push(
            create(
                client,
                new_object(
                    GovernanceKind::Model,
                    &format!("credit-a v{version}"),
                    Some(&groups[0]),
                    vec![
                        Field::choice("MRG-Model:Status", "Under Development"),
                        Field::text("Integration:External ID", format!("arn:model/{version}")),
                        Field::date("Integration:Last Update", Utc::now()),
                    ],
                ),
            )
            .await,
        );
    }
    let [first, second]: [GovernanceObject; 2] =
        groups.try_into().unwrap_or_else(|_| panic!("two groups"));
    Tree {
        use_case,
        groups: [first, second],
        models: created,
    }
}

#[tokio::test]
async fn every_request_the_adapter_sends_is_accepted_by_the_strict_emulator() {
    let emulator = start().await;
    let client = client_at(
        &emulator,
        govsync_adapters::governance::DEFAULT_API_PREFIX,
        2,
    );
    let tree = build(&client, 5).await;

    // Read, update (an enum as {"name"}), and the external-id lookup.
    let model = &tree.models[3];
    let read = client.get_object(&model.id).await.unwrap();
    assert_eq!(read.name, "credit-a v3");
    let updated = client
        .update_object(
            &model.id,
            &[Field::choice("MRG-Model:Status", "In Production")],
            Some("now in production"),
        )
        .await
        .unwrap();
    assert_eq!(
        updated.field("MRG-Model:Status"),
        Some(&FieldValue::Enum("In Production".to_owned()))
    );
    match client
        .find_by_external_id(GovernanceKind::Model, "arn:model/3")
        .await
        .unwrap()
    {
        ExternalIdLookup::Found(found) => assert_eq!(found.id, model.id),
        other => panic!("{other:?}"),
    }

    // Children by join, across several pages of two (the emulator's `next` is a link).
    let children = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::Model,
            columns: vec![
                "Integration:External ID".to_owned(),
                "MRG-Model:Status".to_owned(),
            ],
            condition: Some(QueryCondition::ChildOf {
                parent_kind: GovernanceKind::ModelGroup,
                parent_id: tree.groups[0].id.clone(),
            }),
        })
        .await
        .unwrap();
    let expected: Vec<GovernanceId> = tree.models.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids(&children), expected);
    let groups = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::ModelGroup,
            columns: vec!["Integration:External ID".to_owned()],
            condition: Some(QueryCondition::ChildOf {
                parent_kind: GovernanceKind::UseCase,
                parent_id: tree.use_case.id.clone(),
            }),
        })
        .await
        .unwrap();
    assert_eq!(groups.len(), 2);

    // Changes since a day, oldest first; every model; a greater-than comparison.
    let changed = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::Model,
            columns: vec!["Last Modification Date".to_owned()],
            condition: Some(QueryCondition::ModifiedSince {
                day: Utc::now().date_naive(),
            }),
        })
        .await
        .unwrap();
    assert_eq!(changed.len(), 5);
    assert_eq!(
        changed.last().and_then(|row| row.id.clone()),
        Some(model.id.clone()),
        "the updated model changed last"
    );
    let all = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::Model,
            columns: vec!["Name".to_owned()],
            condition: None,
        })
        .await
        .unwrap();
    assert_eq!(ids(&all), expected);
    let later = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::Model,
            columns: vec![],
            condition: Some(QueryCondition::GreaterThan {
                field: "Name".to_owned(),
                value: "credit-a v2".to_owned(),
            }),
        })
        .await
        .unwrap();
    assert_eq!(later.len(), 2);

    // Link by relation, find the secondary child by join, unlink.
    client
        .associate(
            &tree.groups[1].id,
            &[Related {
                id: tree.models[0].id.clone(),
                relation: Relation::Child,
            }],
        )
        .await
        .unwrap();
    let under_second = |client: GovernanceClient, group: GovernanceId| async move {
        client
            .query(&GovernanceQuery {
                kind: GovernanceKind::Model,
                columns: vec![],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind: GovernanceKind::ModelGroup,
                    parent_id: group,
                }),
            })
            .await
            .unwrap()
    };
    let linked = under_second(client.clone(), tree.groups[1].id.clone()).await;
    assert_eq!(ids(&linked), [tree.models[0].id.clone()]);
    client
        .dissociate(
            &tree.models[0].id,
            &[Related {
                id: tree.groups[1].id.clone(),
                relation: Relation::Parent,
            }],
        )
        .await
        .unwrap();
    assert!(
        under_second(client.clone(), tree.groups[1].id.clone())
            .await
            .is_empty()
    );

    // Metrics as metrics-relay writes them: numbers as DECIMAL_TYPE, the breach status as an enum,
    // a dated value under its metric, found again by joining on the metric.
    let metric = create(
        &client,
        new_object(
            GovernanceKind::Metric,
            "accuracy",
            Some(model),
            vec![
                Field::text("Integration:External ID", "arn:model/3#accuracy"),
                Field::new(metrics::LOWER_THRESHOLD, FieldValue::Number(0.8)),
                Field::new(metrics::UPPER_THRESHOLD, FieldValue::Number(1.0)),
                Field::choice(metrics::BREACH_STATUS, "Green"),
            ],
        ),
    )
    .await;
    let moved = client
        .update_object(
            &metric.id,
            &[
                Field::new(metrics::LOWER_THRESHOLD, FieldValue::Number(0.85)),
                Field::choice(metrics::BREACH_STATUS, "Amber"),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        moved.field(metrics::LOWER_THRESHOLD),
        Some(&FieldValue::Number(0.85))
    );
    let value = create(
        &client,
        NewGovernanceObject {
            description: None,
            ..new_object(
                GovernanceKind::MetricValue,
                "accuracy @ now",
                Some(&metric),
                vec![
                    Field::new(metrics::VALUE, FieldValue::Number(0.83)),
                    Field::date(metrics::VALUE_DATE, Utc::now()),
                    Field::choice(metrics::BREACH_STATUS, "Amber"),
                ],
            )
        },
    )
    .await;
    let values = client
        .query(&GovernanceQuery {
            kind: GovernanceKind::MetricValue,
            columns: vec![metrics::VALUE_DATE.to_owned()],
            condition: Some(QueryCondition::ChildOf {
                parent_kind: GovernanceKind::Metric,
                parent_id: metric.id.clone(),
            }),
        })
        .await
        .unwrap();
    assert_eq!(ids(&values), std::slice::from_ref(&value.id));
    assert!(matches!(
        values[0].field(metrics::VALUE_DATE),
        Some(FieldValue::Text(_))
    ));

    // Type metadata: enum values read at runtime.
    let definition = client.type_definition(GovernanceKind::Model).await.unwrap();
    assert!(
        definition
            .enum_values("MRG-Model:Status")
            .is_some_and(|values| values.iter().any(|v| v == "In Production"))
    );
}

#[tokio::test]
async fn on_cloud_pak_for_data_the_adapter_reaches_the_instance_prefix_and_only_there() {
    let emulator = start_with(EmulatorConfig {
        deployment: DeploymentMode::Cp4d {
            instance: "grc1".to_owned(),
        },
        ..test_config()
    })
    .await;
    let prefix = cp4d_api_prefix("grc1").unwrap();
    let cp4d = client_at(&emulator, &prefix, 100);
    let tree = build(&cp4d, 1).await;
    assert_eq!(
        cp4d.get_object(&tree.models[0].id).await.unwrap().name,
        "credit-a v0"
    );
    let default_prefix = client_at(
        &emulator,
        govsync_adapters::governance::DEFAULT_API_PREFIX,
        100,
    );
    assert!(matches!(
        default_prefix.get_object(&tree.models[0].id).await,
        Err(GovernanceError::NotFound { .. })
    ));
}
