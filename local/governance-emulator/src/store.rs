//! The in-memory object store: creation, merge updates, deletion, associations, with type,
//! field, enum and hierarchy validation.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::catalog::{Catalog, DataType, FieldDefinition, TypeDefinition};

pub const CREATION_DATE: &str = "Creation Date";
pub const LAST_MODIFICATION_DATE: &str = "Last Modification Date";
pub const CREATED_BY: &str = "Created By";
pub const LAST_MODIFIED_BY: &str = "Last Modified By";
/// First id handed out; ids keep counting across resets so stale references never alias.
const FIRST_ID: u64 = 1001;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("object {0} not found")]
    NotFound(u64),
    #[error("unknown type definition '{0}'")]
    UnknownType(String),
    #[error("unknown field '{field}' for type '{type_id}'")]
    UnknownField { type_id: String, field: String },
    #[error("field '{0}' is a system field and cannot be set")]
    ReadOnlyField(String),
    /// Enum values are written `{"name": …}` (contracts/openpages-v2.md, IBM's client).
    #[error(
        "Invalid value for enumeration field '{field}': write {{\"name\": \"<value>\"}}, not {value}"
    )]
    EnumNotAnObject { field: String, value: String },
    #[error("invalid value '{value}' for enum field '{field}'; allowed: {allowed}")]
    InvalidEnumValue {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("invalid value for field '{field}' ({data_type}): {value}")]
    InvalidValue {
        field: String,
        data_type: &'static str,
        value: String,
    },
    #[error("name must not be empty")]
    MissingName,
    #[error("a {0} must have a primary_parent_id")]
    MissingParent(String),
    #[error("parent object {0} not found")]
    ParentNotFound(u64),
    #[error("a {child_type} cannot be placed under a {parent_type}")]
    HierarchyViolation {
        parent_type: String,
        child_type: String,
    },
    #[error("object {0} still has children; delete or move them first")]
    HasChildren(u64),
    #[error("an object cannot be associated with itself")]
    SelfAssociation,
    /// The association `type` is the relation (IBM's client sends `parent`/`child`), never a type id.
    #[error("Invalid association type '{0}': expected 'parent' or 'child'")]
    InvalidAssociationType(String),
    #[error("object {child} has no secondary parent {parent} to remove")]
    NoSuchAssociation { parent: u64, child: u64 },
    #[error("the primary parent {parent} of object {child} cannot be removed as an association")]
    PrimaryAssociation { parent: u64, child: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Enum(String),
    Decimal(f64),
    Date(DateTime<Utc>),
}

pub fn format_instant(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Accepts RFC 3339 (any offset), a zone-less date-time (taken as UTC) or a bare date (midnight UTC).
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

impl FieldValue {
    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => Value::String(text.clone()),
            Self::Enum(name) => json!({ "name": name }),
            Self::Decimal(number) => json!(number),
            Self::Date(instant) => Value::String(format_instant(instant)),
        }
    }

    /// Plain text for display and string comparison.
    pub fn display(&self) -> String {
        match self {
            Self::Text(text) | Self::Enum(text) => text.clone(),
            Self::Decimal(number) => number.to_string(),
            Self::Date(instant) => format_instant(instant),
        }
    }

    /// Decodes a request value for `definition`; `None` clears the field.
    pub fn decode(definition: &FieldDefinition, raw: &Value) -> Result<Option<Self>, StoreError> {
        let invalid = || StoreError::InvalidValue {
            field: definition.name.clone(),
            data_type: definition.data_type.as_str(),
            value: raw.to_string(),
        };
        if raw.is_null() {
            return Ok(None);
        }
        let value = match definition.data_type {
            DataType::Enum => {
                let name = match raw {
                    Value::Object(map) => match map.get("name") {
                        Some(Value::String(name)) => name.as_str(),
                        Some(Value::Null) => return Ok(None),
                        _ => return Err(invalid()),
                    },
                    other => {
                        return Err(StoreError::EnumNotAnObject {
                            field: definition.name.clone(),
                            value: other.to_string(),
                        });
                    }
                };
                if !definition.enum_values.iter().any(|v| v == name) {
                    return Err(StoreError::InvalidEnumValue {
                        field: definition.name.clone(),
                        value: name.to_owned(),
                        allowed: definition.enum_values.join(", "),
                    });
                }
                Self::Enum(name.to_owned())
            }
            DataType::String => match raw {
                Value::String(text) => Self::Text(text.clone()),
                Value::Number(number) => Self::Text(number.to_string()),
                Value::Bool(flag) => Self::Text(flag.to_string()),
                _ => return Err(invalid()),
            },
            DataType::Decimal => {
                let number = match raw {
                    Value::Number(number) => number.as_f64(),
                    Value::String(text) => text.trim().parse::<f64>().ok(),
                    _ => None,
                };
                match number {
                    Some(n) if n.is_finite() => Self::Decimal(n),
                    _ => return Err(invalid()),
                }
            }
            DataType::Date => match raw {
                Value::String(text) => Self::Date(parse_instant(text).ok_or_else(invalid)?),
                _ => return Err(invalid()),
            },
        };
        Ok(Some(value))
    }
}

#[derive(Debug, Clone)]
pub struct GrcObject {
    pub id: u64,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub type_id: String,
    pub parent_id: Option<u64>,
    pub fields: BTreeMap<String, FieldValue>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub created_by: String,
    pub modified_by: String,
}

fn is_system_field(name: &str) -> bool {
    [
        CREATION_DATE,
        LAST_MODIFICATION_DATE,
        CREATED_BY,
        LAST_MODIFIED_BY,
        "Resource ID",
        "Name",
        "Title",
        "Description",
        "Location",
        "Owner",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(name))
}

impl GrcObject {
    /// The OpenPages v2 object JSON; type fields in definition order, then system fields.
    pub fn to_json(&self, definition: Option<&TypeDefinition>) -> Value {
        let mut fields: Vec<Value> = Vec::with_capacity(self.fields.len() + 4);
        let ordered: Vec<&String> = match definition {
            Some(def) => def
                .fields
                .iter()
                .map(|f| &f.name)
                .filter(|name| self.fields.contains_key(*name))
                .collect(),
            None => self.fields.keys().collect(),
        };
        for name in ordered {
            if let Some(value) = self.fields.get(name) {
                fields.push(json!({ "name": name, "value": value.to_json() }));
            }
        }
        fields.push(json!({ "name": CREATION_DATE, "value": format_instant(&self.created_at) }));
        fields.push(
            json!({ "name": LAST_MODIFICATION_DATE, "value": format_instant(&self.modified_at) }),
        );
        fields.push(json!({ "name": CREATED_BY, "value": self.created_by }));
        fields.push(json!({ "name": LAST_MODIFIED_BY, "value": self.modified_by }));
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "type_definition_id": self.type_id,
            "primary_parent_id": self.parent_id.map(|p| p.to_string()),
            "fields": fields,
        })
    }
}

/// A create request, already shaped (ids parsed) but not yet validated.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub type_id: String,
    pub parent_id: Option<u64>,
    pub fields: Vec<(String, Value)>,
}

/// A merge update: only what is present changes.
#[derive(Debug, Clone, Default)]
pub struct ObjectChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub fields: Vec<(String, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The other object is a parent of this one.
    Parent,
    /// The other object is a child of this one.
    Child,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parent => "parent",
            Self::Child => "child",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AssociationView {
    pub id: u64,
    pub direction: Direction,
    pub type_id: String,
    pub name: String,
    pub primary: bool,
}

#[derive(Debug)]
pub struct Store {
    objects: BTreeMap<u64, GrcObject>,
    /// Secondary (non-primary) links as (parent, child).
    associations: BTreeSet<(u64, u64)>,
    next_id: u64,
    last_stamp: Option<DateTime<Utc>>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            objects: BTreeMap::new(),
            associations: BTreeSet::new(),
            next_id: FIRST_ID,
            last_stamp: None,
        }
    }
}

impl Store {
    pub fn get(&self, id: u64) -> Option<&GrcObject> {
        self.objects.get(&id)
    }

    pub fn objects(&self) -> impl Iterator<Item = &GrcObject> {
        self.objects.values()
    }

    pub fn associations(&self) -> impl Iterator<Item = &(u64, u64)> {
        self.associations.iter()
    }

    pub fn children_of(&self, id: u64) -> impl Iterator<Item = &GrcObject> {
        self.objects
            .values()
            .filter(move |o| o.parent_id == Some(id))
    }

    /// The children of `id`: primary ones, and secondary ones unless `primary_only`.
    pub fn children_including_secondary(
        &self,
        id: u64,
        primary_only: bool,
    ) -> impl Iterator<Item = &GrcObject> {
        let secondary: Vec<u64> = if primary_only {
            Vec::new()
        } else {
            self.associations
                .iter()
                .filter(|(parent, _)| *parent == id)
                .map(|(_, child)| *child)
                .collect()
        };
        self.objects
            .values()
            .filter(move |o| o.parent_id == Some(id) || secondary.contains(&o.id))
    }

    /// The object's path: the names along its primary parents, `/`-separated (govsync choice; the
    /// real folder layout is tenant-specific).
    pub fn location_of(&self, id: u64) -> Option<String> {
        let mut names = Vec::new();
        let mut current = self.objects.get(&id);
        while let Some(object) = current {
            names.push(object.name.clone());
            if names.len() > self.objects.len() {
                return None;
            }
            current = object
                .parent_id
                .and_then(|parent| self.objects.get(&parent));
        }
        if names.is_empty() {
            return None;
        }
        names.reverse();
        Some(format!("/{}", names.join("/")))
    }

    /// The object at `path` ([`Self::location_of`]).
    pub fn find_by_location(&self, path: &str) -> Option<&GrcObject> {
        let wanted = format!("/{}", path.trim_matches('/'));
        self.objects
            .values()
            .find(|object| self.location_of(object.id).as_deref() == Some(wanted.as_str()))
    }

    /// Removes secondary links: `parents` of `id`, and `id`'s `children`. A primary link stays.
    pub fn dissociate(
        &mut self,
        id: u64,
        parents: &[u64],
        children: &[u64],
        principal: &str,
        now: DateTime<Utc>,
    ) -> Result<GrcObject, StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NotFound(id));
        }
        let links: Vec<(u64, u64)> = parents
            .iter()
            .map(|parent| (*parent, id))
            .chain(children.iter().map(|child| (id, *child)))
            .collect();
        for (parent, child) in &links {
            if self.objects.get(child).and_then(|c| c.parent_id) == Some(*parent) {
                return Err(StoreError::PrimaryAssociation {
                    parent: *parent,
                    child: *child,
                });
            }
            if !self.associations.contains(&(*parent, *child)) {
                return Err(StoreError::NoSuchAssociation {
                    parent: *parent,
                    child: *child,
                });
            }
        }
        for link in &links {
            self.associations.remove(link);
        }
        let stamp = self.stamp(now);
        let object = self.objects.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        object.modified_at = stamp;
        object.modified_by = principal.to_owned();
        Ok(object.clone())
    }

    /// Clears objects and links; ids keep counting.
    pub fn clear(&mut self) {
        self.objects.clear();
        self.associations.clear();
    }

    /// Modification stamps are unique and increasing (millisecond resolution), so a
    /// `[Last Modification Date] > watermark` poll never misses a change made in the same millisecond.
    fn stamp(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let millis = now.timestamp_millis();
        let mut stamp = DateTime::from_timestamp_millis(millis).unwrap_or(now);
        if let Some(last) = self.last_stamp
            && stamp <= last
        {
            stamp = last + TimeDelta::milliseconds(1);
        }
        self.last_stamp = Some(stamp);
        stamp
    }

    fn decode_fields(
        definition: &TypeDefinition,
        fields: &[(String, Value)],
    ) -> Result<Vec<(String, Option<FieldValue>)>, StoreError> {
        fields
            .iter()
            .map(|(name, raw)| {
                let field = definition.field(name).ok_or_else(|| {
                    if is_system_field(name) {
                        StoreError::ReadOnlyField(name.clone())
                    } else {
                        StoreError::UnknownField {
                            type_id: definition.id.clone(),
                            field: name.clone(),
                        }
                    }
                })?;
                Ok((field.name.clone(), FieldValue::decode(field, raw)?))
            })
            .collect()
    }

    fn check_parent(
        &self,
        catalog: &Catalog,
        definition: &TypeDefinition,
        parent_id: Option<u64>,
    ) -> Result<(), StoreError> {
        match parent_id {
            None if definition.root_allowed => Ok(()),
            None => Err(StoreError::MissingParent(definition.id.clone())),
            Some(parent_id) => {
                let parent = self
                    .objects
                    .get(&parent_id)
                    .ok_or(StoreError::ParentNotFound(parent_id))?;
                if catalog.may_contain(&parent.type_id, &definition.id) {
                    Ok(())
                } else {
                    Err(StoreError::HierarchyViolation {
                        parent_type: parent.type_id.clone(),
                        child_type: definition.id.clone(),
                    })
                }
            }
        }
    }

    /// Creates an object (never idempotent); returns it and the names of the fields set.
    pub fn create(
        &mut self,
        catalog: &Catalog,
        new: NewObject,
        principal: &str,
        now: DateTime<Utc>,
    ) -> Result<(GrcObject, Vec<String>), StoreError> {
        let definition = catalog
            .get(&new.type_id)
            .ok_or_else(|| StoreError::UnknownType(new.type_id.clone()))?;
        let name = new.name.trim();
        if name.is_empty() {
            return Err(StoreError::MissingName);
        }
        self.check_parent(catalog, definition, new.parent_id)?;
        let decoded = Self::decode_fields(definition, &new.fields)?;
        let mut fields = BTreeMap::new();
        for (field, value) in decoded {
            match value {
                Some(value) => fields.insert(field, value),
                None => fields.remove(&field),
            };
        }
        let mut changed: Vec<String> = vec!["Name".to_owned()];
        if new.description.is_some() {
            changed.push("Description".to_owned());
        }
        changed.extend(fields.keys().cloned());
        let stamp = self.stamp(now);
        let id = self.next_id;
        self.next_id += 1;
        let object = GrcObject {
            id,
            name: name.to_owned(),
            title: new.title,
            description: new.description,
            type_id: definition.id.clone(),
            parent_id: new.parent_id,
            fields,
            created_at: stamp,
            modified_at: stamp,
            created_by: principal.to_owned(),
            modified_by: principal.to_owned(),
        };
        self.objects.insert(id, object.clone());
        Ok((object, changed))
    }

    /// Merges `changes` into the object; returns it and the names of the fields whose value changed.
    pub fn update(
        &mut self,
        catalog: &Catalog,
        id: u64,
        changes: ObjectChanges,
        principal: &str,
        now: DateTime<Utc>,
    ) -> Result<(GrcObject, Vec<String>), StoreError> {
        let type_id = self
            .objects
            .get(&id)
            .map(|o| o.type_id.clone())
            .ok_or(StoreError::NotFound(id))?;
        let definition = catalog
            .get(&type_id)
            .ok_or_else(|| StoreError::UnknownType(type_id.clone()))?;
        if let Some(name) = &changes.name
            && name.trim().is_empty()
        {
            return Err(StoreError::MissingName);
        }
        let decoded = Self::decode_fields(definition, &changes.fields)?;
        let stamp = self.stamp(now);
        let object = self.objects.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        let mut changed = Vec::new();
        if let Some(name) = changes.name {
            let name = name.trim().to_owned();
            if name != object.name {
                object.name = name;
                changed.push("Name".to_owned());
            }
        }
        if let Some(description) = changes.description
            && description != object.description
        {
            object.description = description;
            changed.push("Description".to_owned());
        }
        for (field, value) in decoded {
            let before = object.fields.get(&field).cloned();
            if before == value {
                continue;
            }
            match value {
                Some(value) => object.fields.insert(field.clone(), value),
                None => object.fields.remove(&field),
            };
            if !changed.contains(&field) {
                changed.push(field);
            }
        }
        // Like the real service, every accepted update counts as a modification.
        object.modified_at = stamp;
        object.modified_by = principal.to_owned();
        Ok((object.clone(), changed))
    }

    pub fn delete(&mut self, id: u64) -> Result<GrcObject, StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NotFound(id));
        }
        if self.children_of(id).next().is_some() {
            return Err(StoreError::HasChildren(id));
        }
        self.associations.retain(|(p, c)| *p != id && *c != id);
        self.objects.remove(&id).ok_or(StoreError::NotFound(id))
    }

    /// Adds parent/child links between `id` and each other object. `kind` is the relation of the
    /// other object: `parent` or `child` (IBM's client lower-cases it; a type id is refused).
    pub fn associate(
        &mut self,
        catalog: &Catalog,
        id: u64,
        links: &[(u64, String)],
        principal: &str,
        now: DateTime<Utc>,
    ) -> Result<GrcObject, StoreError> {
        let this_type = self
            .objects
            .get(&id)
            .map(|o| o.type_id.clone())
            .ok_or(StoreError::NotFound(id))?;
        let mut planned = Vec::with_capacity(links.len());
        for (other_id, kind) in links {
            if *other_id == id {
                return Err(StoreError::SelfAssociation);
            }
            let other = self
                .objects
                .get(other_id)
                .ok_or(StoreError::NotFound(*other_id))?;
            let direction = match kind.as_str() {
                "parent" => Direction::Parent,
                "child" => Direction::Child,
                _ => return Err(StoreError::InvalidAssociationType(kind.clone())),
            };
            let (parent_id, child_id, parent_type, child_type) = match direction {
                Direction::Parent => (*other_id, id, other.type_id.clone(), this_type.clone()),
                Direction::Child => (id, *other_id, this_type.clone(), other.type_id.clone()),
            };
            if !catalog.may_contain(&parent_type, &child_type) {
                return Err(StoreError::HierarchyViolation {
                    parent_type,
                    child_type,
                });
            }
            planned.push((parent_id, child_id));
        }
        for (parent_id, child_id) in planned {
            let is_primary = self
                .objects
                .get(&child_id)
                .is_some_and(|c| c.parent_id == Some(parent_id));
            if !is_primary {
                self.associations.insert((parent_id, child_id));
            }
        }
        let stamp = self.stamp(now);
        let object = self.objects.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        object.modified_at = stamp;
        object.modified_by = principal.to_owned();
        Ok(object.clone())
    }

    /// Primary and secondary parents and children of `id`.
    pub fn associations_of(&self, id: u64) -> Result<Vec<AssociationView>, StoreError> {
        let object = self.objects.get(&id).ok_or(StoreError::NotFound(id))?;
        let view = |other: &GrcObject, direction, primary| AssociationView {
            id: other.id,
            direction,
            type_id: other.type_id.clone(),
            name: other.name.clone(),
            primary,
        };
        let mut out = Vec::new();
        if let Some(parent) = object.parent_id.and_then(|p| self.objects.get(&p)) {
            out.push(view(parent, Direction::Parent, true));
        }
        for (parent_id, _) in self.associations.iter().filter(|(_, c)| *c == id) {
            if let Some(parent) = self.objects.get(parent_id) {
                out.push(view(parent, Direction::Parent, false));
            }
        }
        for child in self.children_of(id) {
            out.push(view(child, Direction::Child, true));
        }
        for (_, child_id) in self.associations.iter().filter(|(p, _)| *p == id) {
            if let Some(child) = self.objects.get(child_id) {
                out.push(view(child, Direction::Child, false));
            }
        }
        Ok(out)
    }
}
