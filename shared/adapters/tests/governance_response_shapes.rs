//! Every documented response shape against the adapter's decoders, through a stub OpenPages on
//! 127.0.0.1: both paging forms (`next` as a number and as `{"href": "…?offset=N…"}`), pages
//! without `next` that come back full, and the request bodies as IBM's client shapes them.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::routing::{delete, post};
use axum::{Json, Router};
use govsync_adapters::governance::{
    GovernanceAuth, GovernanceClient, GovernanceConfig, Related, Relation,
};
use govsync_core::ports::{
    Governance, GovernanceId, GovernanceKind, GovernanceQuery, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use serde_json::{Value, json};

#[derive(Clone, Copy)]
enum Paging {
    Numeric,
    Link,
    /// No `next` at all: a full page is all the client knows.
    Absent,
}

struct Stub {
    paging: Paging,
    rows: usize,
    requests: Mutex<Vec<(String, Value)>>,
}

type Shared = Arc<Stub>;

async fn query(State(stub): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    stub.requests
        .lock()
        .map(|mut r| r.push(("query".to_owned(), body.clone())))
        .unwrap_or_default();
    let offset = body["offset"].as_u64().unwrap_or(0) as usize;
    let limit = body["limit"].as_u64().unwrap_or(100) as usize;
    let rows: Vec<Value> = (offset..stub.rows.min(offset + limit))
        .map(|i| json!({"fields": [{"name": "Resource ID", "value": (1000 + i).to_string()}]}))
        .collect();
    let mut answer = json!({"rows": rows});
    let next = offset + limit;
    if next < stub.rows {
        match stub.paging {
            Paging::Numeric => answer["next"] = json!(next),
            Paging::Link => {
                answer["next"] =
                    json!({"href": format!("/opgrc/api/v2/query?limit={limit}&offset={next}")})
            }
            Paging::Absent => {}
        }
    }
    Json(answer)
}

async fn create(State(stub): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    stub.requests
        .lock()
        .map(|mut r| r.push(("create".to_owned(), body.clone())))
        .unwrap_or_default();
    Json(
        json!({"id": 7, "name": body["name"], "type_definition_id": body["type_definition_id"],
                "fields": {"field": []}}),
    )
}

async fn associate(
    State(stub): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    stub.requests
        .lock()
        .map(|mut r| r.push((format!("associate {id}"), body.clone())))
        .unwrap_or_default();
    Json(json!({"associations": []}))
}

async fn dissociate(
    State(stub): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Json<Value> {
    stub.requests
        .lock()
        .map(|mut r| r.push((format!("dissociate {id}"), json!(query))))
        .unwrap_or_default();
    Json(json!({"associations": []}))
}

async fn start(paging: Paging, rows: usize) -> (GovernanceClient, Shared) {
    let stub = Arc::new(Stub {
        paging,
        rows,
        requests: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/opgrc/api/v2/query", post(query))
        .route("/opgrc/api/v2/contents", post(create))
        .route(
            "/opgrc/api/v2/contents/{id}/associations",
            delete(dissociate).post(associate),
        )
        .with_state(Arc::clone(&stub));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|error| panic!("bind: {error}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|error| panic!("address: {error}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = GovernanceConfig::new(
        format!("http://{address}"),
        GovernanceAuth::Basic {
            username: "admin".to_owned(),
            password: Secret::new("admin"),
        },
    );
    config.page_size = 10;
    let client = GovernanceClient::new(config).unwrap_or_else(|error| panic!("{error}"));
    (client, stub)
}

fn all_models() -> GovernanceQuery {
    GovernanceQuery {
        kind: GovernanceKind::Model,
        columns: vec![],
        condition: None,
    }
}

fn requests(stub: &Stub, what: &str) -> Vec<Value> {
    stub.requests
        .lock()
        .map(|r| {
            r.iter()
                .filter(|(w, _)| w == what)
                .map(|(_, b)| b.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_paging_form_reads_every_row() {
    for (paging, name) in [
        (Paging::Numeric, "a numeric next"),
        (Paging::Link, "a next link"),
        (Paging::Absent, "full pages without next"),
    ] {
        let (client, stub) = start(paging, 25).await;
        let rows = client
            .query(&all_models())
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(rows.len(), 25, "{name}");
        let offsets: Vec<u64> = requests(&stub, "query")
            .iter()
            .filter_map(|body| body["offset"].as_u64())
            .collect();
        assert_eq!(offsets, [0, 10, 20], "{name}");
    }
}

#[tokio::test]
async fn a_full_last_page_without_next_ends_at_the_empty_page_after_it() {
    let (client, stub) = start(Paging::Absent, 20).await;
    assert_eq!(
        client.query(&all_models()).await.map(|r| r.len()).ok(),
        Some(20)
    );
    assert_eq!(requests(&stub, "query").len(), 3);
}

#[tokio::test]
async fn query_requests_are_shaped_as_ibms_client_shapes_them() {
    let (client, stub) = start(Paging::Numeric, 1).await;
    client.query(&all_models()).await.unwrap_or_default();
    let body = &requests(&stub, "query")[0];
    for member in [
        "statement",
        "offset",
        "limit",
        "max_rows",
        "case_insensitive",
        "honor_primary",
    ] {
        assert!(body.get(member).is_some(), "{member} missing: {body}");
    }
    assert_eq!(body["max_rows"], 500);
    assert_eq!(body["case_insensitive"], false);
    assert_eq!(body["honor_primary"], false);
    assert!(body["limit"].as_u64().is_some_and(|limit| limit <= 500));
}

#[tokio::test]
async fn roots_are_created_with_an_empty_parent_and_a_title() {
    let (client, stub) = start(Paging::Numeric, 0).await;
    client
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: "Retail".to_owned(),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let body = &requests(&stub, "create")[0];
    assert_eq!(body["primary_parent_id"], "");
    assert_eq!(body["title"], "Retail");
}

#[tokio::test]
async fn associations_name_the_relation_and_removal_lists_ids_per_relation() {
    let (client, stub) = start(Paging::Numeric, 0).await;
    let id = |text: &str| GovernanceId::parse(text).unwrap_or_else(|error| panic!("{error}"));
    let related = [
        Related {
            id: id("11"),
            relation: Relation::Parent,
        },
        Related {
            id: id("12"),
            relation: Relation::Parent,
        },
        Related {
            id: id("21"),
            relation: Relation::Child,
        },
    ];
    client.associate(&id("5"), &related).await.unwrap();
    assert_eq!(
        requests(&stub, "associate 5")[0],
        json!({"associations": [
            {"id": "11", "type": "parent"},
            {"id": "12", "type": "parent"},
            {"id": "21", "type": "child"},
        ]})
    );
    client.dissociate(&id("5"), &related).await.unwrap();
    assert_eq!(
        requests(&stub, "dissociate 5")[0],
        json!("parents=11,12&children=21")
    );
}
