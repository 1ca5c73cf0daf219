//! `GET /`: the inventory as a tree (business entities → use cases → model groups → models), as
//! HTML without scripts, or as JSON with `?format=json`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalog::{
    BUSINESS_ENTITY, Catalog, DataType, EXTERNAL_ID, MODEL, MODEL_GROUP, USE_CASE,
};
use crate::state::AppState;
use crate::store::GrcObject;

const SHOWN_TYPES: [&str; 4] = [BUSINESS_ENTITY, USE_CASE, MODEL_GROUP, MODEL];

#[derive(Deserialize)]
pub struct PageQuery {
    format: Option<String>,
}

struct Node<'a> {
    object: &'a GrcObject,
    children: Vec<Node<'a>>,
}

fn tree<'a>(
    by_parent: &HashMap<Option<u64>, Vec<&'a GrcObject>>,
    parent: Option<u64>,
) -> Vec<Node<'a>> {
    by_parent
        .get(&parent)
        .map(|children| {
            children
                .iter()
                .map(|object| Node {
                    object,
                    children: tree(by_parent, Some(object.id)),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Status enums and the external id: what a person checks at a glance.
fn shown_fields(catalog: &Catalog, object: &GrcObject) -> Vec<(String, String)> {
    let Some(definition) = catalog.get(&object.type_id) else {
        return Vec::new();
    };
    definition
        .fields
        .iter()
        .filter(|f| f.data_type == DataType::Enum || f.name == EXTERNAL_ID)
        .filter_map(|f| {
            object
                .fields
                .get(&f.name)
                .map(|v| (f.name.clone(), v.display()))
        })
        .collect()
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn render_html(catalog: &Catalog, nodes: &[Node<'_>], out: &mut String) {
    if nodes.is_empty() {
        return;
    }
    out.push_str("<ul>\n");
    for node in nodes {
        let o = node.object;
        let label = catalog
            .get(&o.type_id)
            .map_or(o.type_id.as_str(), |t| t.label.as_str());
        out.push_str(&format!(
            "<li><span class=\"type\">{}</span> <strong>{}</strong> <span class=\"id\">#{}</span>",
            escape_html(label),
            escape_html(&o.name),
            o.id
        ));
        let fields = shown_fields(catalog, o);
        if !fields.is_empty() {
            out.push_str("<dl>");
            for (name, value) in fields {
                out.push_str(&format!(
                    "<dt>{}</dt><dd>{}</dd>",
                    escape_html(&name),
                    escape_html(&value)
                ));
            }
            out.push_str("</dl>");
        }
        render_html(catalog, &node.children, out);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

fn render_json(catalog: &Catalog, nodes: &[Node<'_>]) -> Vec<Value> {
    nodes
        .iter()
        .map(|node| {
            let fields: serde_json::Map<String, Value> = shown_fields(catalog, node.object)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            json!({
                "id": node.object.id.to_string(),
                "name": node.object.name,
                "type_definition_id": node.object.type_id,
                "fields": fields,
                "children": render_json(catalog, &node.children),
            })
        })
        .collect()
}

pub async fn page(State(state): State<AppState>, Query(query): Query<PageQuery>) -> Response {
    let data = state.lock();
    let catalog = state.catalog();
    let mut by_parent: HashMap<Option<u64>, Vec<&GrcObject>> = HashMap::new();
    for object in data
        .store
        .objects()
        .filter(|o| SHOWN_TYPES.contains(&o.type_id.as_str()))
    {
        by_parent.entry(object.parent_id).or_default().push(object);
    }
    let roots = tree(&by_parent, None);
    if query.format.as_deref() == Some("json") {
        return Json(json!({ "business_entities": render_json(catalog, &roots) })).into_response();
    }
    let mut body = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>governance emulator</title>\n\
         <style>body{font-family:sans-serif}dl{margin:0 0 0 1em;display:grid;grid-template-columns:max-content auto;gap:0 1em}\
         dt{color:#555}.type{color:#777;font-size:90%}.id{color:#999}</style></head>\n\
         <body><h1>Governance inventory</h1>\n",
    );
    if roots.is_empty() {
        body.push_str("<p>No business entities yet.</p>\n");
    }
    render_html(catalog, &roots, &mut body);
    body.push_str("</body></html>\n");
    Html(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn html_escaping_covers_markup_characters() {
        assert_eq!(
            escape_html(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }
}
