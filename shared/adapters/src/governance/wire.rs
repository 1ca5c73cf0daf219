//! JSON shapes of the OpenPages v2 subset: encoding requests, decoding responses leniently
//! (ids may be strings or numbers; unknown members are ignored).

use chrono::SecondsFormat;
use govsync_core::ports::{
    Field, FieldDefinition, FieldValue, GovernanceId, GovernanceObject, QueryRow, TypeDefinition,
};
use serde_json::{Map, Value, json};

/// The column every query selects so rows can be re-read.
pub(crate) const RESOURCE_ID: &str = "Resource ID";

pub(crate) fn encode_field(field: &Field) -> Value {
    match &field.value {
        FieldValue::Text(text) => json!({"name": field.name, "value": text}),
        FieldValue::Enum(choice) => json!({"name": field.name, "value": {"name": choice}}),
        FieldValue::MultiEnum(choices) => json!({
            "name": field.name,
            "values": choices.iter().map(|choice| json!({"name": choice})).collect::<Vec<_>>(),
        }),
        FieldValue::Date(date) => json!({
            "name": field.name,
            "value": date.to_rfc3339_opts(SecondsFormat::Millis, true),
        }),
        FieldValue::Number(number) => json!({"name": field.name, "value": number}),
        FieldValue::Boolean(flag) => json!({"name": field.name, "value": flag}),
        FieldValue::Null => json!({"name": field.name, "value": null}),
    }
}

pub(crate) fn encode_fields(fields: &[Field]) -> Value {
    Value::Array(fields.iter().map(encode_field).collect())
}

fn choice_name(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => map.get("name").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn decode_value(value: &Value) -> FieldValue {
    match value {
        Value::Null => FieldValue::Null,
        Value::String(text) => FieldValue::Text(text.clone()),
        Value::Number(number) => number
            .as_f64()
            .map_or_else(|| FieldValue::Text(number.to_string()), FieldValue::Number),
        Value::Bool(flag) => FieldValue::Boolean(*flag),
        Value::Array(items) => {
            FieldValue::MultiEnum(items.iter().filter_map(choice_name).collect())
        }
        Value::Object(map) => match (map.get("name"), map.get("values")) {
            (Some(Value::String(name)), _) => FieldValue::Enum(name.clone()),
            (Some(Value::Null), _) => FieldValue::Null,
            (_, Some(Value::Array(items))) => {
                FieldValue::MultiEnum(items.iter().filter_map(choice_name).collect())
            }
            // A shape this subset does not know: keep it visible rather than drop it.
            _ => FieldValue::Text(value.to_string()),
        },
    }
}

fn decode_field(value: &Value) -> Option<Field> {
    let map = value.as_object()?;
    let name = map.get("name")?.as_str()?.to_owned();
    let value = match (map.get("value"), map.get("values")) {
        (Some(value), _) => decode_value(value),
        (None, Some(Value::Array(items))) => {
            FieldValue::MultiEnum(items.iter().filter_map(choice_name).collect())
        }
        (None, _) => FieldValue::Null,
    };
    Some(Field { name, value })
}

/// `fields` is an array, or an object wrapping it as `{"field": [...]}`.
fn field_list(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        Some(Value::Object(map)) => map
            .get("field")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice),
        _ => &[],
    }
}

pub(crate) fn decode_fields(value: Option<&Value>) -> Vec<Field> {
    field_list(value).iter().filter_map(decode_field).collect()
}

pub(crate) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn parse_id(text: &str) -> Result<GovernanceId, String> {
    GovernanceId::parse(text).map_err(|error| format!("id {text:?}: {error}"))
}

pub(crate) fn decode_object(value: &Value) -> Result<GovernanceObject, String> {
    let map = value
        .as_object()
        .ok_or_else(|| "object is not a JSON object".to_owned())?;
    let id = map
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| "object has no `id`".to_owned())?;
    let primary_parent_id = map
        .get("primary_parent_id")
        .and_then(id_text)
        .map(|parent| parse_id(&parent))
        .transpose()?;
    Ok(GovernanceObject {
        id: parse_id(&id)?,
        name: text_member(map, "name").unwrap_or_default(),
        type_definition_id: text_member(map, "type_definition_id").unwrap_or_default(),
        primary_parent_id,
        description: text_member(map, "description"),
        fields: decode_fields(map.get("fields")),
    })
}

fn text_member(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// One page of `POST /query`.
#[derive(Debug)]
pub(crate) struct QueryPage {
    pub rows: Vec<QueryRow>,
    /// Where the next page starts, when the response says so.
    pub next: Option<u64>,
}

/// A row's column as the API names it: bare (`Name`) or as selected in a join (`[Model].[Name]`).
fn column_name(name: &str) -> String {
    let name = match name.rsplit_once("].[") {
        Some((_, field)) => field,
        None => name,
    };
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

pub(crate) fn decode_query_page(value: &Value) -> Result<QueryPage, String> {
    let map = value
        .as_object()
        .ok_or_else(|| "query response is not a JSON object".to_owned())?;
    let rows = match map.get("rows") {
        Some(Value::Array(rows)) => rows,
        None | Some(Value::Null) => &Vec::new(),
        Some(_) => return Err("`rows` is not an array".to_owned()),
    };
    let rows = rows
        .iter()
        .map(|row| {
            let mut fields = decode_fields(row.get("fields"));
            for field in &mut fields {
                field.name = column_name(&field.name);
            }
            let id = fields
                .iter()
                .find(|field| field.name == RESOURCE_ID)
                .and_then(|field| match &field.value {
                    FieldValue::Text(text) if !text.is_empty() => Some(text.clone()),
                    FieldValue::Number(number) => Some(format_integral(*number)),
                    _ => None,
                })
                .map(|id| parse_id(&id))
                .transpose()?;
            Ok(QueryRow { id, fields })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(QueryPage {
        rows,
        next: next_offset(map.get("next"))?,
    })
}

/// `next` as a number, a numeric string, a link (`"…?offset=N…"`) or `{"href": "…?offset=N…"}`.
fn next_offset(next: Option<&Value>) -> Result<Option<u64>, String> {
    match next {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`next` = {number} is not an offset")),
        Some(Value::String(text)) => match text.trim().parse::<u64>() {
            Ok(offset) => Ok(Some(offset)),
            Err(_) => offset_in_link(text).map(Some),
        },
        Some(Value::Object(link)) => match link.get("href") {
            Some(Value::String(href)) => offset_in_link(href).map(Some),
            _ => Err(format!(
                "`next` = {} has no `href`",
                Value::Object(link.clone())
            )),
        },
        Some(other) => Err(format!("`next` = {other} is not an offset")),
    }
}

/// The `offset` query parameter of a link.
fn offset_in_link(link: &str) -> Result<u64, String> {
    let query = link
        .split_once('?')
        .map(|(_, query)| query.split('#').next().unwrap_or_default())
        .ok_or_else(|| format!("`next` link {link:?} carries no offset"))?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("offset="))
        .ok_or_else(|| format!("`next` link {link:?} carries no offset"))?
        .parse::<u64>()
        .map_err(|_| format!("`next` link {link:?} carries no numeric offset"))
}

/// Resource ids are integers; a float-typed one prints without `.0`.
fn format_integral(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        format!("{number:.0}")
    } else {
        number.to_string()
    }
}

pub(crate) fn decode_type_definition(
    type_id: &str,
    value: &Value,
) -> Result<TypeDefinition, String> {
    let map = value
        .as_object()
        .ok_or_else(|| "type definition is not a JSON object".to_owned())?;
    let definitions = ["field_definitions", "fieldDefinitions", "fields"]
        .iter()
        .find_map(|member| map.get(*member))
        .map(|value| field_list(Some(value)))
        .unwrap_or_default();
    let fields = definitions
        .iter()
        .filter_map(|definition| {
            let definition = definition.as_object()?;
            let name = definition.get("name")?.as_str()?.to_owned();
            let data_type = ["data_type", "dataType", "type"]
                .iter()
                .find_map(|member| definition.get(*member))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let enum_values = ["enum_values", "enumValues", "values"]
                .iter()
                .find_map(|member| definition.get(*member))
                .map(|values| {
                    field_list(Some(values))
                        .iter()
                        .filter_map(choice_name)
                        .collect()
                })
                .unwrap_or_default();
            Some(FieldDefinition {
                name,
                data_type,
                enum_values,
            })
        })
        .collect();
    Ok(TypeDefinition {
        type_id: text_member(map, "id").unwrap_or_else(|| type_id.to_owned()),
        fields,
    })
}

/// Quotes a query literal: `'` is escaped by doubling it.
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn gid(id: &str) -> GovernanceId {
        GovernanceId::parse(id).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn fields_encode_as_the_api_expects() {
        let date = chrono::Utc
            .timestamp_opt(1_700_000_000, 0)
            .single()
            .unwrap_or_default();
        let encoded = encode_fields(&[
            Field::choice("MRG-Model:Status", "Under Development"),
            Field::text("Integration:External ID", "arn:aws:x"),
            Field::date("Integration:Last Update", date),
            Field::new("Tags", FieldValue::MultiEnum(vec!["a".into(), "b".into()])),
        ]);
        assert_eq!(
            encoded,
            json!([
                {"name": "MRG-Model:Status", "value": {"name": "Under Development"}},
                {"name": "Integration:External ID", "value": "arn:aws:x"},
                {"name": "Integration:Last Update", "value": "2023-11-14T22:13:20.000Z"},
                {"name": "Tags", "values": [{"name": "a"}, {"name": "b"}]},
            ])
        );
    }

    #[test]
    fn objects_decode_with_numeric_or_string_ids_and_wrapped_fields() {
        let object = decode_object(&json!({
            "id": 42,
            "name": "credit-risk v3",
            "type_definition_id": "Model",
            "primary_parent_id": "7",
            "fields": {"field": [
                {"name": "MRG-Model:Status", "value": {"name": "Proposed"}},
                {"name": "Integration:External ID", "value": "arn:x"},
                {"name": "Score", "value": 0.5},
                {"name": "Empty", "value": null},
            ]},
            "unknown": true,
        }))
        .unwrap();
        assert_eq!(object.id.as_str(), "42");
        assert_eq!(object.primary_parent_id, Some(gid("7")));
        assert_eq!(
            object.field("MRG-Model:Status"),
            Some(&FieldValue::Enum("Proposed".into()))
        );
        assert_eq!(object.field("Score"), Some(&FieldValue::Number(0.5)));
        assert_eq!(object.field("Empty"), Some(&FieldValue::Null));
        assert!(decode_object(&json!({"name": "no id"})).is_err());
    }

    #[test]
    fn query_pages_carry_row_ids_and_the_next_offset() {
        let page = decode_query_page(&json!({
            "rows": [
                {"fields": [{"name": "Resource ID", "value": "11"}, {"name": "Name", "value": "a"}]},
                {"fields": [{"name": "Resource ID", "value": 12}]},
            ],
            "offset": 0, "limit": 2, "next": 2,
        }))
        .unwrap();
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.rows[0].id, Some(gid("11")));
        assert_eq!(page.rows[1].id, Some(gid("12")));
        assert_eq!(page.next, Some(2));
        let last = decode_query_page(&json!({"rows": [], "offset": 2, "limit": 2})).unwrap();
        assert_eq!(last.next, None);
        assert!(decode_query_page(&json!({"rows": [], "next": -1})).is_err());
    }

    #[test]
    fn next_is_followed_as_a_number_a_string_or_a_link_with_an_offset() {
        let next =
            |next: Value| decode_query_page(&json!({"rows": [], "next": next})).map(|p| p.next);
        assert_eq!(next(json!(100)), Ok(Some(100)));
        assert_eq!(next(json!("100")), Ok(Some(100)));
        assert_eq!(
            next(json!({"href": "/opgrc/api/v2/query?limit=100&offset=200"})),
            Ok(Some(200))
        );
        assert_eq!(
            next(json!({"href": "https://grc.example.com/opgrc/api/v2/query?offset=300"})),
            Ok(Some(300))
        );
        assert_eq!(
            next(json!("/opgrc/api/v2/query?offset=400&limit=100")),
            Ok(Some(400))
        );
        assert!(next(json!({"href": "/opgrc/api/v2/query?limit=100"})).is_err());
        assert!(next(json!({"rel": "next"})).is_err());
        assert!(next(json!(true)).is_err());
    }

    #[test]
    fn joined_rows_are_read_by_their_bare_column_names() {
        let page = decode_query_page(&json!({"rows": [
            {"fields": [
                {"name": "[Model].[Resource ID]", "value": "77"},
                {"name": "[Model].[Integration:External ID]", "value": "arn:x"},
            ]},
        ]}))
        .unwrap();
        assert_eq!(page.rows[0].id, Some(gid("77")));
        assert_eq!(
            page.rows[0].field("Integration:External ID"),
            Some(&FieldValue::Text("arn:x".into()))
        );
    }

    #[test]
    fn type_definitions_expose_enum_values_read_at_runtime() {
        let definition = decode_type_definition(
            "Model",
            &json!({
                "id": "Model",
                "field_definitions": [
                    {"name": "MRG-Model:Status", "data_type": "ENUM_TYPE",
                     "enum_values": [{"name": "Proposed"}, {"name": "Tenant Special"}]},
                    {"name": "Description", "data_type": "STRING_TYPE"},
                ],
            }),
        )
        .unwrap();
        assert_eq!(
            definition.enum_values("MRG-Model:Status"),
            Some(&["Proposed".to_owned(), "Tenant Special".to_owned()][..])
        );
        assert_eq!(definition.enum_values("Description"), Some(&[][..]));
    }

    #[test]
    fn literals_escape_single_quotes() {
        assert_eq!(quote_literal("O'Brien"), "'O''Brien'");
    }
}
