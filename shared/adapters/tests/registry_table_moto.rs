//! The registries table against moto: every page of a table larger than one page is read, the same
//! rows as the inline map give the same registries, and a bad item is refused by name.

mod common;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use govsync_adapters::registry_map::{
    RegistriesTable, RegistryLoadError, RegistrySource, to_registry_map_json,
};
use govsync_core::{BusinessEntity, RegistryMap};

/// A fresh table with the `govsync-registries` key schema (account, region).
async fn create_registries_table(client: &Client) -> String {
    let name = common::unique("govsync-registries");
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, key_type) in [("account", KeyType::Hash), ("region", KeyType::Range)] {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap_or_else(|error| panic!("{error}")),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attribute)
                    .key_type(key_type)
                    .build()
                    .unwrap_or_else(|error| panic!("{error}")),
            );
    }
    request
        .send()
        .await
        .unwrap_or_else(|error| panic!("create {name}: {error:?}"));
    name
}

async fn put(client: &Client, table: &str, account: &str, region: &str, entity: &str) {
    client
        .put_item()
        .table_name(table)
        .item("account", AttributeValue::S(account.into()))
        .item("region", AttributeValue::S(region.into()))
        .item("business_entity", AttributeValue::S(entity.into()))
        .send()
        .await
        .unwrap_or_else(|error| panic!("put {account}/{region}: {error:?}"));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_table_of_many_pages_gives_every_registry() {
    let client = Client::new(&common::moto_config().await);
    let table = create_registries_table(&client).await;
    // 60 registries: well past what a 4 KB Lambda environment could hold as JSON.
    for n in 0..60u32 {
        let region = if n % 2 == 0 { "us-east-1" } else { "eu-west-1" };
        put(
            &client,
            &table,
            &format!("{:012}", 100_000_000_000u64 + u64::from(n)),
            region,
            &format!("Business entity {n}"),
        )
        .await;
    }
    let map = RegistriesTable::new(client.clone(), &table)
        .with_page_limit(7)
        .load()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(map.len(), 60);
    let entity = BusinessEntity::parse("Business entity 59").unwrap();
    let registry = map.for_business_entity(&entity).unwrap();
    assert_eq!(registry.account.as_str(), "100000000059");
    assert_eq!(registry.region.as_str(), "eu-west-1");
    // The inline form of the same rows is the same map (what the functions' configuration reads).
    assert_eq!(
        RegistryMap::parse(&to_registry_map_json(&map)).unwrap(),
        map
    );
    // Through the environment-driven source, the table wins.
    let source = RegistrySource::from_lookup(|name| match name {
        "GOVSYNC_REGISTRIES_TABLE" => Some(table.clone()),
        "GOVSYNC_REGISTRY_MAP" => Some("not even json".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(source.load(&client).await.unwrap().len(), 60);
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_bad_item_is_refused_by_name_and_a_missing_table_is_permanent() {
    let client = Client::new(&common::moto_config().await);
    let table = create_registries_table(&client).await;
    put(
        &client,
        &table,
        "111111111111",
        "us-east-1",
        "Retail Banking",
    )
    .await;
    put(
        &client,
        &table,
        "222222222222",
        "us-east-1",
        "Retail Banking",
    )
    .await;
    match RegistriesTable::new(client.clone(), &table).load().await {
        Err(RegistryLoadError::InvalidItem { item, problem, .. }) => {
            assert!(item.ends_with("/us-east-1"), "{item}");
            assert!(problem.contains("Retail Banking"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
    let error = RegistriesTable::new(client, common::unique("no-such-table"))
        .load()
        .await
        .unwrap_err();
    assert!(matches!(error, RegistryLoadError::Scan { .. }), "{error}");
    assert!(!error.is_retryable(), "{error}");
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn the_bootstrapped_table_holds_the_local_stacks_registry() {
    // local/bootstrap.py puts local/wiring.json's "registries" into govsync-registries.
    let client = Client::new(&common::moto_config().await);
    let source = RegistrySource::from_lookup(|name| {
        (name == "GOVSYNC_REGISTRIES_TABLE").then(|| "govsync-registries".to_owned())
    })
    .unwrap();
    let map = source
        .load(&client)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let entity = BusinessEntity::parse("Retail Banking").unwrap();
    let registry = map.for_business_entity(&entity).unwrap();
    assert_eq!(registry.account.as_str(), "123456789012");
    assert_eq!(registry.region.as_str(), "us-east-1");
}
