//! The OpenPages query-language subset govsync uses:
//! `SELECT [f1],[f2],… FROM [Type] WHERE [f] = 'x' AND [g] > 'y' …` (WHERE optional).
//! Only `=` and `>`; literals are single-quoted strings (`''` escapes a quote) or plain numbers.
//! Field references may be qualified with the type: `[Model].[Name]`.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::catalog::{Catalog, DataType, FieldDefinition};
use crate::store::{
    CREATED_BY, CREATION_DATE, GrcObject, LAST_MODIFICATION_DATE, LAST_MODIFIED_BY, Store,
    format_instant, parse_instant,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError(message.into()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Bracketed(String),
    Text(String),
    Number(String),
    Word(String),
    Comma,
    Dot,
    Operator(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Bracketed(name) => format!("[{name}]"),
            Self::Text(text) => format!("'{text}'"),
            Self::Number(n) | Self::Word(n) | Self::Operator(n) => n.clone(),
            Self::Comma => ",".to_owned(),
            Self::Dot => ".".to_owned(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

fn tokenize(statement: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = statement.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '[' => {
                let start = i;
                let mut name = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        // A name never holds '[', so one here means the previous ']' is missing.
                        None | Some('[') => {
                            return err(format!("unterminated '[' at position {start}"));
                        }
                        Some(']') => break,
                        Some(ch) => name.push(*ch),
                    }
                    i += 1;
                }
                i += 1;
                if name.trim().is_empty() {
                    return err(format!("empty field or type name '[]' at position {start}"));
                }
                tokens.push(Token::Bracketed(name.trim().to_owned()));
            }
            '\'' => {
                let start = i;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return err(format!(
                                "unterminated string literal starting at position {start}"
                            ));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => break,
                        Some(ch) => {
                            text.push(*ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                tokens.push(Token::Text(text));
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            '=' | '>' | '<' | '!' => {
                let mut op = c.to_string();
                if let Some(next @ ('=' | '>')) = chars.get(i + 1) {
                    op.push(*next);
                }
                i += op.chars().count();
                tokens.push(Token::Operator(op));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let mut number = c.to_string();
                i += 1;
                while let Some(ch) = chars.get(i).filter(|ch| ch.is_ascii_digit() || **ch == '.') {
                    number.push(*ch);
                    i += 1;
                }
                tokens.push(Token::Number(number));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::new();
                while let Some(ch) = chars
                    .get(i)
                    .filter(|ch| ch.is_ascii_alphanumeric() || **ch == '_')
                {
                    word.push(*ch);
                    i += 1;
                }
                tokens.push(Token::Word(word));
            }
            other => return err(format!("unexpected character '{other}' at position {i}")),
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    pub qualifier: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    GreaterThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Text(String),
    Number(String),
}

impl Literal {
    fn text(&self) -> &str {
        match self {
            Self::Text(t) | Self::Number(t) => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: FieldRef,
    pub operator: Operator,
    pub literal: Literal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub select: Vec<FieldRef>,
    pub from: String,
    pub conditions: Vec<Condition>,
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn found(token: Option<&Token>) -> String {
        token.map_or_else(
            || "end of statement".to_owned(),
            |t| format!("'{}'", t.describe()),
        )
    }

    fn expect_keyword(&mut self, keyword: &str, context: &str) -> Result<(), QueryError> {
        match self.peek() {
            Some(token) if token.is_keyword(keyword) => {
                self.position += 1;
                Ok(())
            }
            other => err(format!(
                "expected {keyword} {context}, found {}",
                Self::found(other)
            )),
        }
    }

    fn field_ref(&mut self, context: &str) -> Result<FieldRef, QueryError> {
        let first = match self.next() {
            Some(Token::Bracketed(name)) => name,
            other => {
                return err(format!(
                    "expected a [field] {context}, found {}",
                    Self::found(other.as_ref())
                ));
            }
        };
        if self.peek() != Some(&Token::Dot) {
            return Ok(FieldRef {
                qualifier: None,
                name: first,
            });
        }
        self.position += 1;
        match self.next() {
            Some(Token::Bracketed(name)) => Ok(FieldRef {
                qualifier: Some(first),
                name,
            }),
            other => err(format!(
                "expected a [field] after '[{first}].', found {}",
                Self::found(other.as_ref())
            )),
        }
    }

    fn condition(&mut self) -> Result<Condition, QueryError> {
        let field = self.field_ref("in the WHERE clause")?;
        let operator = match self.next() {
            Some(Token::Operator(op)) if op == "=" => Operator::Equals,
            Some(Token::Operator(op)) if op == ">" => Operator::GreaterThan,
            Some(Token::Operator(op)) => {
                return err(format!(
                    "unsupported operator '{op}' after [{}]; only = and > are supported",
                    field.name
                ));
            }
            other => {
                return err(format!(
                    "expected = or > after [{}], found {}",
                    field.name,
                    Self::found(other.as_ref())
                ));
            }
        };
        let literal = match self.next() {
            Some(Token::Text(text)) => Literal::Text(text),
            Some(Token::Number(number)) => Literal::Number(number),
            other => {
                return err(format!(
                    "expected a quoted literal after [{}] {}, found {}",
                    field.name,
                    if operator == Operator::Equals {
                        "="
                    } else {
                        ">"
                    },
                    Self::found(other.as_ref())
                ));
            }
        };
        Ok(Condition {
            field,
            operator,
            literal,
        })
    }
}

/// Parses a statement of the supported subset.
pub fn parse(statement: &str) -> Result<Query, QueryError> {
    if statement.trim().is_empty() {
        return err("statement is empty");
    }
    let mut parser = Parser {
        tokens: tokenize(statement)?,
        position: 0,
    };
    if !parser.peek().is_some_and(|t| t.is_keyword("SELECT")) {
        return err(format!(
            "statement must start with SELECT, found {}",
            Parser::found(parser.peek())
        ));
    }
    parser.position += 1;
    let mut select = vec![parser.field_ref("after SELECT")?];
    while parser.peek() == Some(&Token::Comma) {
        parser.position += 1;
        select.push(parser.field_ref("after ','")?);
    }
    parser.expect_keyword("FROM", "after the field list")?;
    let from = match parser.next() {
        Some(Token::Bracketed(name)) => name,
        other => {
            return err(format!(
                "expected a [Type] after FROM, found {}",
                Parser::found(other.as_ref())
            ));
        }
    };
    let mut conditions = Vec::new();
    if parser.peek().is_some_and(|t| t.is_keyword("WHERE")) {
        parser.position += 1;
        conditions.push(parser.condition()?);
        loop {
            match parser.peek() {
                Some(t) if t.is_keyword("AND") => {
                    parser.position += 1;
                    conditions.push(parser.condition()?);
                }
                Some(t) if t.is_keyword("OR") => return err("OR is not supported; use AND"),
                _ => break,
            }
        }
    }
    match parser.peek() {
        None => Ok(Query {
            select,
            from,
            conditions,
        }),
        Some(t) if t.is_keyword("ORDER") => err("ORDER BY is not supported"),
        Some(t) => err(format!("unexpected '{}' after the statement", t.describe())),
    }
}

/// A resolved column of the FROM type.
#[derive(Debug, Clone)]
enum Column {
    ResourceId,
    ParentId,
    Name,
    Description,
    CreationDate,
    LastModificationDate,
    CreatedBy,
    LastModifiedBy,
    Field(FieldDefinition),
}

impl Column {
    fn canonical_name(&self) -> &str {
        match self {
            Self::ResourceId => "Resource ID",
            Self::ParentId => "Parent Id",
            Self::Name => "Name",
            Self::Description => "Description",
            Self::CreationDate => CREATION_DATE,
            Self::LastModificationDate => LAST_MODIFICATION_DATE,
            Self::CreatedBy => CREATED_BY,
            Self::LastModifiedBy => LAST_MODIFIED_BY,
            Self::Field(definition) => &definition.name,
        }
    }

    fn value(&self, object: &GrcObject) -> Value {
        match self {
            Self::ResourceId => Value::String(object.id.to_string()),
            Self::ParentId => object
                .parent_id
                .map_or(Value::Null, |p| Value::String(p.to_string())),
            Self::Name => Value::String(object.name.clone()),
            Self::Description => object
                .description
                .clone()
                .map_or(Value::Null, Value::String),
            Self::CreationDate => Value::String(format_instant(&object.created_at)),
            Self::LastModificationDate => Value::String(format_instant(&object.modified_at)),
            Self::CreatedBy => Value::String(object.created_by.clone()),
            Self::LastModifiedBy => Value::String(object.modified_by.clone()),
            Self::Field(definition) => object
                .fields
                .get(&definition.name)
                .map_or(Value::Null, |v| v.to_json()),
        }
    }
}

enum Predicate {
    Id {
        column: Column,
        operator: Operator,
        id: u64,
    },
    Instant {
        column: Column,
        operator: Operator,
        instant: DateTime<Utc>,
    },
    Number {
        column: Column,
        operator: Operator,
        number: f64,
    },
    Text {
        column: Column,
        operator: Operator,
        text: String,
    },
}

fn compare(ordering: Option<Ordering>, operator: Operator) -> bool {
    match operator {
        Operator::Equals => ordering == Some(Ordering::Equal),
        Operator::GreaterThan => ordering == Some(Ordering::Greater),
    }
}

impl Predicate {
    fn build(column: Column, operator: Operator, literal: &Literal) -> Result<Self, QueryError> {
        let text = literal.text();
        let name = column.canonical_name().to_owned();
        Ok(match &column {
            Column::ResourceId | Column::ParentId => {
                let Ok(id) = text.trim().parse::<u64>() else {
                    return err(format!("[{name}] compares with an object id, got '{text}'"));
                };
                Self::Id {
                    column,
                    operator,
                    id,
                }
            }
            Column::CreationDate | Column::LastModificationDate => {
                let Some(instant) = parse_instant(text) else {
                    return err(format!("'{text}' is not an ISO-8601 date for [{name}]"));
                };
                Self::Instant {
                    column,
                    operator,
                    instant,
                }
            }
            Column::Field(definition) if definition.data_type == DataType::Date => {
                let Some(instant) = parse_instant(text) else {
                    return err(format!("'{text}' is not an ISO-8601 date for [{name}]"));
                };
                Self::Instant {
                    column,
                    operator,
                    instant,
                }
            }
            Column::Field(definition) if definition.data_type == DataType::Float => {
                let Some(number) = text.trim().parse::<f64>().ok().filter(|n| n.is_finite()) else {
                    return err(format!("'{text}' is not a number for [{name}]"));
                };
                Self::Number {
                    column,
                    operator,
                    number,
                }
            }
            _ => Self::Text {
                column,
                operator,
                text: text.to_owned(),
            },
        })
    }

    fn matches(&self, object: &GrcObject) -> bool {
        use crate::store::FieldValue;
        match self {
            Self::Id {
                column,
                operator,
                id,
            } => {
                let value = match column {
                    Column::ResourceId => Some(object.id),
                    _ => object.parent_id,
                };
                compare(value.map(|v| v.cmp(id)), *operator)
            }
            Self::Instant {
                column,
                operator,
                instant,
            } => {
                let value = match column {
                    Column::CreationDate => Some(object.created_at),
                    Column::LastModificationDate => Some(object.modified_at),
                    Column::Field(def) => match object.fields.get(&def.name) {
                        Some(FieldValue::Date(d)) => Some(*d),
                        _ => None,
                    },
                    _ => None,
                };
                compare(value.map(|v| v.cmp(instant)), *operator)
            }
            Self::Number {
                column,
                operator,
                number,
            } => {
                let value = match column {
                    Column::Field(def) => match object.fields.get(&def.name) {
                        Some(FieldValue::Float(n)) => Some(*n),
                        _ => None,
                    },
                    _ => None,
                };
                compare(value.and_then(|v| v.partial_cmp(number)), *operator)
            }
            Self::Text {
                column,
                operator,
                text,
            } => {
                let value: Option<String> = match column {
                    Column::Name => Some(object.name.clone()),
                    Column::Description => object.description.clone(),
                    Column::CreatedBy => Some(object.created_by.clone()),
                    Column::LastModifiedBy => Some(object.modified_by.clone()),
                    Column::Field(def) => object.fields.get(&def.name).map(|v| v.display()),
                    _ => None,
                };
                compare(value.map(|v| v.as_str().cmp(text.as_str())), *operator)
            }
        }
    }
}

/// One result row: the selected fields in SELECT order.
pub type Row = Vec<(String, Value)>;

/// Runs a parsed query against the store; rows come in id order.
pub fn execute(query: &Query, catalog: &Catalog, store: &Store) -> Result<Vec<Row>, QueryError> {
    let Some(definition) = catalog.get_ignore_case(&query.from) else {
        return err(format!("unknown type [{}] in FROM", query.from));
    };
    let resolve = |field: &FieldRef| -> Result<Column, QueryError> {
        if let Some(qualifier) = &field.qualifier
            && !qualifier.eq_ignore_ascii_case(&definition.id)
        {
            return err(format!(
                "qualifier [{qualifier}] does not match FROM [{}]",
                definition.id
            ));
        }
        let name = field.name.as_str();
        let system = [
            ("Resource ID", Column::ResourceId),
            ("Parent Id", Column::ParentId),
            ("Name", Column::Name),
            ("Description", Column::Description),
            (CREATION_DATE, Column::CreationDate),
            (LAST_MODIFICATION_DATE, Column::LastModificationDate),
            (CREATED_BY, Column::CreatedBy),
            (LAST_MODIFIED_BY, Column::LastModifiedBy),
        ];
        if let Some((_, column)) = system
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Ok(column);
        }
        match definition.field_ignore_case(name) {
            Some(def) => Ok(Column::Field(def.clone())),
            None => err(format!(
                "unknown field [{name}] for type [{}]",
                definition.id
            )),
        }
    };
    let columns = query
        .select
        .iter()
        .map(resolve)
        .collect::<Result<Vec<_>, _>>()?;
    let predicates = query
        .conditions
        .iter()
        .map(|c| Predicate::build(resolve(&c.field)?, c.operator, &c.literal))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(store
        .objects()
        .filter(|o| o.type_id == definition.id)
        .filter(|o| predicates.iter().all(|p| p.matches(o)))
        .map(|o| {
            columns
                .iter()
                .map(|c| (c.canonical_name().to_owned(), c.value(o)))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> FieldRef {
        FieldRef {
            qualifier: None,
            name: name.to_owned(),
        }
    }

    #[test]
    fn valid_statements_parse() {
        let cases: Vec<(&str, Query)> = vec![
            (
                "SELECT [Resource ID] FROM [Model]",
                Query {
                    select: vec![field("Resource ID")],
                    from: "Model".into(),
                    conditions: vec![],
                },
            ),
            (
                "select [Resource ID],[Name] , [MRG-Model:Status] from [Model] where [Integration:External ID] = 'arn:aws:sagemaker:us-east-1:1:model-package/g/1'",
                Query {
                    select: vec![
                        field("Resource ID"),
                        field("Name"),
                        field("MRG-Model:Status"),
                    ],
                    from: "Model".into(),
                    conditions: vec![Condition {
                        field: field("Integration:External ID"),
                        operator: Operator::Equals,
                        literal: Literal::Text(
                            "arn:aws:sagemaker:us-east-1:1:model-package/g/1".into(),
                        ),
                    }],
                },
            ),
            (
                "SELECT [Name] FROM [ModelUseCase] WHERE [Last Modification Date] > '2024-01-01T00:00:00.000Z' AND [Parent Id] = '1001'",
                Query {
                    select: vec![field("Name")],
                    from: "ModelUseCase".into(),
                    conditions: vec![
                        Condition {
                            field: field("Last Modification Date"),
                            operator: Operator::GreaterThan,
                            literal: Literal::Text("2024-01-01T00:00:00.000Z".into()),
                        },
                        Condition {
                            field: field("Parent Id"),
                            operator: Operator::Equals,
                            literal: Literal::Text("1001".into()),
                        },
                    ],
                },
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = 'O''Brien''s model'",
                Query {
                    select: vec![field("Name")],
                    from: "Model".into(),
                    conditions: vec![Condition {
                        field: field("Name"),
                        operator: Operator::Equals,
                        literal: Literal::Text("O'Brien's model".into()),
                    }],
                },
            ),
            (
                "SELECT [Model].[Name] FROM [Model] WHERE [Model].[Resource ID] > 1001",
                Query {
                    select: vec![FieldRef {
                        qualifier: Some("Model".into()),
                        name: "Name".into(),
                    }],
                    from: "Model".into(),
                    conditions: vec![Condition {
                        field: FieldRef {
                            qualifier: Some("Model".into()),
                            name: "Resource ID".into(),
                        },
                        operator: Operator::GreaterThan,
                        literal: Literal::Number("1001".into()),
                    }],
                },
            ),
        ];
        for (statement, expected) in cases {
            assert_eq!(parse(statement), Ok(expected), "statement: {statement}");
        }
    }

    #[test]
    fn each_syntax_error_is_named() {
        let cases = [
            ("", "statement is empty"),
            ("   ", "statement is empty"),
            ("UPDATE [Model]", "must start with SELECT"),
            ("SELECT FROM [Model]", "expected a [field] after SELECT"),
            (
                "SELECT [Name], FROM [Model]",
                "expected a [field] after ','",
            ),
            (
                "SELECT [Name] [Model]",
                "expected FROM after the field list",
            ),
            ("SELECT [Name] FROM Model", "expected a [Type] after FROM"),
            (
                "SELECT [Name] FROM",
                "expected a [Type] after FROM, found end of statement",
            ),
            ("SELECT [Name FROM [Model]", "unterminated '['"),
            ("SELECT [Name] FROM [Model", "unterminated '['"),
            ("SELECT [] FROM [Model]", "empty field or type name"),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = 'abc",
                "unterminated string literal",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] < 'a'",
                "unsupported operator '<'",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] <> 'a'",
                "unsupported operator '<>'",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] >= 'a'",
                "unsupported operator '>='",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] LIKE 'a'",
                "expected = or > after [Name]",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] =",
                "expected a quoted literal",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = abc",
                "expected a quoted literal",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE",
                "expected a [field] in the WHERE clause",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = 'a' OR [Name] = 'b'",
                "OR is not supported",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = 'a' AND",
                "expected a [field] in the WHERE clause",
            ),
            (
                "SELECT [Name] FROM [Model] ORDER BY [Name]",
                "ORDER BY is not supported",
            ),
            ("SELECT [Name] FROM [Model] LIMIT 5", "unexpected 'LIMIT'"),
            ("SELECT [Name] FROM [Model];", "unexpected character ';'"),
            (
                "SELECT [Model]. FROM [Model]",
                "expected a [field] after '[Model].'",
            ),
        ];
        for (statement, expected) in cases {
            match parse(statement) {
                Ok(query) => panic!("{statement:?} parsed as {query:?}"),
                Err(QueryError(message)) => assert!(
                    message.contains(expected),
                    "{statement:?}: message {message:?} does not contain {expected:?}"
                ),
            }
        }
    }

    mod execution {
        use super::*;
        use crate::catalog::{BUSINESS_ENTITY, MODEL, MODEL_GROUP, MODEL_STATUS, USE_CASE};
        use crate::store::NewObject;
        use chrono::TimeZone;
        use serde_json::json;

        fn seeded() -> (Catalog, Store, Vec<u64>) {
            let catalog = Catalog::seeded();
            let mut store = Store::default();
            let at = |secs| {
                Utc.timestamp_opt(1_700_000_000 + secs, 0)
                    .single()
                    .unwrap_or_default()
            };
            let create = |store: &mut Store, type_id: &str, name: &str, parent, fields, secs| {
                let new = NewObject {
                    name: name.into(),
                    description: None,
                    type_id: type_id.into(),
                    parent_id: parent,
                    fields,
                };
                store
                    .create(&catalog, new, "tester", at(secs))
                    .map(|(o, _)| o.id)
            };
            let mut ids = Vec::new();
            let entity = create(&mut store, BUSINESS_ENTITY, "Registry", None, vec![], 0);
            let use_case =
                entity.and_then(|e| create(&mut store, USE_CASE, "Fraud", Some(e), vec![], 1));
            let group = use_case
                .and_then(|u| create(&mut store, MODEL_GROUP, "fraud-group", Some(u), vec![], 2));
            for (i, status) in ["Under Development", "In Production", "Rejected"]
                .iter()
                .enumerate()
            {
                let fields = vec![
                    (MODEL_STATUS.to_owned(), json!({"name": status})),
                    (
                        "Integration:External ID".to_owned(),
                        json!(format!("arn:model/{i}")),
                    ),
                ];
                if let Ok(g) = group.clone()
                    && let Ok(id) = create(
                        &mut store,
                        MODEL,
                        &format!("model {i}"),
                        Some(g),
                        fields,
                        10 + i as i64,
                    )
                {
                    ids.push(id);
                }
            }
            (catalog, store, ids)
        }

        fn run(statement: &str) -> Result<Vec<Row>, QueryError> {
            let (catalog, store, _) = seeded();
            parse(statement).and_then(|q| execute(&q, &catalog, &store))
        }

        #[test]
        fn filters_by_external_id_and_returns_selected_fields() {
            let (_, _, ids) = seeded();
            let rows = run(
                "SELECT [Resource ID],[MRG-Model:Status] FROM [Model] WHERE [Integration:External ID] = 'arn:model/1'",
            );
            let expected = vec![vec![
                ("Resource ID".to_owned(), json!(ids[1].to_string())),
                (MODEL_STATUS.to_owned(), json!({"name": "In Production"})),
            ]];
            assert_eq!(rows, Ok(expected));
        }

        #[test]
        fn last_modification_date_compares_as_instants_across_offsets() {
            // 1_700_000_010 = 2023-11-14T22:13:30Z; the same instant written with a +01:00 offset.
            let rows = run(
                "SELECT [Name] FROM [Model] WHERE [Last Modification Date] > '2023-11-14T23:13:30+01:00'",
            );
            let names: Vec<Value> = rows
                .unwrap_or_default()
                .into_iter()
                .map(|r| r[0].1.clone())
                .collect();
            assert_eq!(names, vec![json!("model 1"), json!("model 2")]);
        }

        #[test]
        fn enum_values_and_resource_ids_compare() {
            let (_, _, ids) = seeded();
            let rows = run("SELECT [Name] FROM [Model] WHERE [MRG-Model:Status] = 'Rejected'")
                .unwrap_or_default();
            assert_eq!(rows.len(), 1);
            let rows = run(&format!(
                "SELECT [Name] FROM [Model] WHERE [Resource ID] > '{}'",
                ids[0]
            ))
            .unwrap_or_default();
            assert_eq!(rows.len(), 2);
        }

        #[test]
        fn semantic_errors_name_the_problem() {
            let cases = [
                ("SELECT [Name] FROM [Nope]", "unknown type [Nope]"),
                ("SELECT [Bogus] FROM [Model]", "unknown field [Bogus]"),
                (
                    "SELECT [Name] FROM [Model] WHERE [Resource ID] = 'abc'",
                    "compares with an object id",
                ),
                (
                    "SELECT [Name] FROM [Model] WHERE [Last Modification Date] > 'yesterday'",
                    "not an ISO-8601 date",
                ),
                (
                    "SELECT [ModelGroup].[Name] FROM [Model]",
                    "does not match FROM",
                ),
            ];
            for (statement, expected) in cases {
                match run(statement) {
                    Ok(rows) => panic!("{statement:?} ran and gave {rows:?}"),
                    Err(QueryError(message)) => {
                        assert!(message.contains(expected), "{statement}: {message}")
                    }
                }
            }
        }
    }
}
