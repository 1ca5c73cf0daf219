//! The OpenPages REST API v2 subset: types, contents, associations, query.

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ApiError, Principal, api_prefix, json_body};
use crate::query::{self, QueryOptions};
use crate::state::AppState;
use crate::store::{NewObject, ObjectChanges, Store, StoreError};
use crate::webhooks::ChangeKind;

const DEFAULT_LIMIT: u64 = 100;
/// IBM's query tool caps `limit` at 500 (mcp_server.py `execute_openpages_query` schema).
const MAX_LIMIT: u64 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/types", get(list_types))
        .route("/types/{type_id}", get(get_type))
        .route("/types/{type_id}/associations", get(get_type_associations))
        .route("/contents", post(create_object))
        .route(
            "/contents/{id}",
            get(get_object).put(update_object).delete(delete_object),
        )
        .route(
            "/contents/{id}/associations",
            get(list_associations)
                .post(add_associations)
                .delete(remove_associations),
        )
        .route("/query", post(run_query))
}

/// Extra path parameters (the CP4D instance) are ignored by these structs.
#[derive(Deserialize)]
struct TypePath {
    type_id: String,
}

#[derive(Deserialize)]
struct ContentPath {
    id: String,
}

/// `{id}` is a Resource ID or a URL-encoded object path (contracts/openpages-v2.md, Read).
fn object_id(store: &Store, text: &str) -> Result<u64, ApiError> {
    if let Ok(id) = text.trim().parse() {
        return Ok(id);
    }
    store
        .find_by_location(text)
        .map(|object| object.id)
        .ok_or_else(|| ApiError::NotFound(format!("object {text} not found")))
}

/// Ids arrive as numeric strings or numbers.
fn id_value(value: &Value, what: &str) -> Result<u64, ApiError> {
    let parsed = match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    };
    parsed.ok_or_else(|| ApiError::BadRequest(format!("{what} must be an object id, got {value}")))
}

fn optional_string(
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<String>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
        Some(other) => Err(ApiError::BadRequest(format!(
            "'{key}' must be a string, got {other}"
        ))),
    }
}

fn fields_of(body: &Map<String, Value>) -> Result<Vec<(String, Value)>, ApiError> {
    let Some(raw) = body.get("fields") else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = raw else {
        return Err(ApiError::BadRequest(
            "'fields' must be an array of {\"name\",\"value\"}".to_owned(),
        ));
    };
    items
        .iter()
        .map(|item| {
            let name = item.get("name").and_then(Value::as_str).ok_or_else(|| {
                ApiError::BadRequest(format!("every field needs a string 'name', got {item}"))
            })?;
            Ok((
                name.to_owned(),
                item.get("value").cloned().unwrap_or(Value::Null),
            ))
        })
        .collect()
}

fn object_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match json_body::<Value>(body)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::BadRequest(format!(
            "body must be a JSON object, got {other}"
        ))),
    }
}

/// `{"types": […]}` (contracts/openpages-v2.md; IBM's client reads `types`).
async fn list_types(State(state): State<AppState>) -> Json<Value> {
    let types: Vec<Value> = state.catalog().all().map(|t| t.to_json()).collect();
    Json(json!({ "types": types }))
}

async fn get_type_associations(
    State(state): State<AppState>,
    Path(path): Path<TypePath>,
) -> Result<Json<Value>, ApiError> {
    state
        .catalog()
        .associations_json(&path.type_id)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("type definition '{}' not found", path.type_id)))
}

async fn get_type(
    State(state): State<AppState>,
    Path(path): Path<TypePath>,
) -> Result<Json<Value>, ApiError> {
    state
        .catalog()
        .get(&path.type_id)
        .map(|t| Json(t.to_json()))
        .ok_or_else(|| ApiError::NotFound(format!("type definition '{}' not found", path.type_id)))
}

async fn get_object(
    State(state): State<AppState>,
    Path(path): Path<ContentPath>,
) -> Result<Json<Value>, ApiError> {
    let data = state.lock();
    let id = object_id(&data.store, &path.id)?;
    let object = data.store.get(id).ok_or(StoreError::NotFound(id))?;
    Ok(Json(object.to_json(state.catalog().get(&object.type_id))))
}

async fn create_object(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = object_body(&body)?;
    let name = match body.get("name") {
        Some(Value::String(name)) => name.clone(),
        _ => {
            return Err(ApiError::BadRequest(
                "'name' is required and must be a string".to_owned(),
            ));
        }
    };
    let type_id = match body.get("type_definition_id") {
        Some(Value::String(type_id)) => type_id.clone(),
        _ => {
            return Err(ApiError::BadRequest(
                "'type_definition_id' is required and must be a string".to_owned(),
            ));
        }
    };
    // IBM's client creates a root object with `"primary_parent_id": ""`.
    let parent_id = match body.get("primary_parent_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(value) => Some(id_value(value, "primary_parent_id")?),
    };
    let new = NewObject {
        name,
        title: optional_string(&body, "title")?.flatten(),
        description: optional_string(&body, "description")?.flatten(),
        type_id,
        parent_id,
        fields: fields_of(&body)?,
    };
    let mut data = state.lock();
    let (object, changed) = data
        .store
        .create(state.catalog(), new, &principal.0, Utc::now())?;
    state.notify(&data, ChangeKind::Created, &object, changed);
    let json = object.to_json(state.catalog().get(&object.type_id));
    Ok((StatusCode::OK, Json(json)).into_response())
}

async fn update_object(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(path): Path<ContentPath>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = object_id(&state.lock().store, &path.id)?;
    let body = object_body(&body)?;
    let name = match optional_string(&body, "name")? {
        None => None,
        Some(Some(name)) => Some(name),
        Some(None) => return Err(ApiError::BadRequest("'name' cannot be null".to_owned())),
    };
    let changes = ObjectChanges {
        name,
        description: optional_string(&body, "description")?,
        fields: fields_of(&body)?,
    };
    let mut data = state.lock();
    let (object, changed) =
        data.store
            .update(state.catalog(), id, changes, &principal.0, Utc::now())?;
    state.notify(&data, ChangeKind::Updated, &object, changed);
    Ok(Json(object.to_json(state.catalog().get(&object.type_id))))
}

async fn delete_object(
    State(state): State<AppState>,
    Path(path): Path<ContentPath>,
) -> Result<StatusCode, ApiError> {
    let mut data = state.lock();
    let id = object_id(&data.store, &path.id)?;
    let object = data.store.delete(id)?;
    state.notify(&data, ChangeKind::Deleted, &object, Vec::new());
    Ok(StatusCode::NO_CONTENT)
}

fn associations_json(store: &Store, id: u64) -> Result<Vec<Value>, ApiError> {
    Ok(store
        .associations_of(id)?
        .into_iter()
        .map(|a| {
            json!({
                "id": a.id.to_string(),
                "type": a.direction.as_str(),
                "type_definition_id": a.type_id,
                "name": a.name,
                "primary": a.primary,
            })
        })
        .collect())
}

async fn list_associations(
    State(state): State<AppState>,
    Path(path): Path<ContentPath>,
) -> Result<Json<Value>, ApiError> {
    let data = state.lock();
    let id = object_id(&data.store, &path.id)?;
    let associations = associations_json(&data.store, id)?;
    Ok(Json(json!({ "associations": associations })))
}

async fn add_associations(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(path): Path<ContentPath>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = object_id(&state.lock().store, &path.id)?;
    let body = object_body(&body)?;
    let Some(Value::Array(items)) = body.get("associations") else {
        return Err(ApiError::BadRequest(
            "'associations' must be an array of {\"id\",\"type\"}".to_owned(),
        ));
    };
    if items.is_empty() {
        return Err(ApiError::BadRequest(
            "'associations' must not be empty".to_owned(),
        ));
    }
    let links = items
        .iter()
        .map(|item| {
            let other = id_value(item.get("id").unwrap_or(&Value::Null), "association id")?;
            let kind = item.get("type").and_then(Value::as_str).ok_or_else(|| {
                ApiError::BadRequest(format!("association {item} needs a string 'type'"))
            })?;
            Ok((other, kind.to_owned()))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let mut data = state.lock();
    let object = data
        .store
        .associate(state.catalog(), id, &links, &principal.0, Utc::now())?;
    state.notify(
        &data,
        ChangeKind::Updated,
        &object,
        vec!["associations".to_owned()],
    );
    let associations = associations_json(&data.store, id)?;
    Ok(Json(json!({ "associations": associations })))
}

/// `parents` and `children`: comma-separated ids (IBM's client `remove_associations`).
#[derive(Deserialize)]
struct Removal {
    parents: Option<String>,
    children: Option<String>,
}

fn id_list(text: Option<&str>, what: &str) -> Result<Vec<u64>, ApiError> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|_| ApiError::BadRequest(format!("'{what}' holds {id:?}, not an id")))
        })
        .collect()
}

async fn remove_associations(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(path): Path<ContentPath>,
    Query(removal): Query<Removal>,
) -> Result<Json<Value>, ApiError> {
    let parents = id_list(removal.parents.as_deref(), "parents")?;
    let children = id_list(removal.children.as_deref(), "children")?;
    if parents.is_empty() && children.is_empty() {
        return Err(ApiError::BadRequest(
            "name the associations to remove with 'parents' and/or 'children'".to_owned(),
        ));
    }
    let mut data = state.lock();
    let id = object_id(&data.store, &path.id)?;
    let object = data
        .store
        .dissociate(id, &parents, &children, &principal.0, Utc::now())?;
    state.notify(
        &data,
        ChangeKind::Updated,
        &object,
        vec!["associations".to_owned()],
    );
    let associations = associations_json(&data.store, id)?;
    Ok(Json(json!({ "associations": associations })))
}

fn flag(body: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(other) => Err(ApiError::BadRequest(format!(
            "'{key}' must be true or false, got {other}"
        ))),
    }
}

fn paging_value(body: &Map<String, Value>, key: &str, default: u64) -> Result<u64, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| ApiError::BadRequest(format!("'{key}' must be a non-negative integer"))),
        Some(Value::String(text)) => text
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("'{key}' must be a non-negative integer"))),
        Some(other) => Err(ApiError::BadRequest(format!(
            "'{key}' must be a non-negative integer, got {other}"
        ))),
    }
}

async fn run_query(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = object_body(&body)?;
    let Some(Value::String(statement)) = body.get("statement") else {
        return Err(ApiError::BadRequest(
            "'statement' is required and must be a string".to_owned(),
        ));
    };
    let offset = paging_value(&body, "offset", 0)?;
    let limit = paging_value(&body, "limit", DEFAULT_LIMIT)?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "'limit' must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    // Sent by IBM's client (`max_rows` 500); its effect is not published, so only its type is checked.
    paging_value(&body, "max_rows", 0)?;
    let options = QueryOptions {
        case_insensitive: flag(&body, "case_insensitive")?,
        honor_primary: flag(&body, "honor_primary")?,
    };
    let parsed = query::parse(statement)?;
    let rows = {
        let data = state.lock();
        query::execute(&parsed, state.catalog(), &data.store, options)?
    };
    let total = rows.len() as u64;
    let page: Vec<Value> = rows
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|row| {
            let fields: Vec<Value> = row
                .into_iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            json!({ "fields": fields })
        })
        .collect();
    let mut response = json!({ "rows": page, "offset": offset, "limit": limit });
    let next = offset.saturating_add(limit);
    if next < total {
        // The next page as a link carrying its offset (contracts/openpages-v2.md, Query).
        response["next"] = json!({
            "href": format!("{}/query?offset={next}&limit={limit}", api_prefix(state.config())),
        });
    }
    Ok(Json(response))
}
