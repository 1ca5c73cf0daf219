//! The OpenPages query dialect IBM's own client sends, and nothing more.
//!
//! Sources: IBM/ibm-openpages-mcp-server `src/app/mcp/mcp_server.py` (the query tool's grammar
//! notes: operators, `[Type].[Field]`, joins, numeric Resource IDs, `'YYYY-MM-DD'` dates, error
//! texts), `docs/QUERY_GRAMMAR_RESOURCE.md` (`DATE 'YYYY-MM-DD'`, `ORDER BY … ASC|DESC`, `COUNT(*)`)
//! and `src/app/core/openpages_client.py` (`… IS NOT NULL LIMIT 1`). Supported:
//! `SELECT [f],… | COUNT(*) FROM [T] [JOIN [C] ON PARENT([T])] [WHERE …] [ORDER BY …] [LIMIT n]`,
//! with `=`, `<>`, `>`, `>=`, `<`, `<=`, `LIKE`, `IN (…)`, `IS [NOT] NULL`, `AND`, `OR` and
//! parentheses. Anything else is refused with a 400 naming the construct.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::catalog::{Catalog, DataType, FieldDefinition, TypeDefinition};
use crate::store::{
    CREATED_BY, CREATION_DATE, GrcObject, LAST_MODIFICATION_DATE, LAST_MODIFIED_BY, Store,
    format_instant,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError(message.into()))
}

/// A construct of the OpenPages language (or of SQL) this emulator does not serve.
fn unsupported<T>(construct: &str) -> Result<T, QueryError> {
    err(format!(
        "unsupported construct: {construct} (the emulator serves the query subset of \
         contracts/openpages-v2.md)"
    ))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Bracketed(String),
    Text(String),
    Number(String),
    Word(String),
    Comma,
    Dot,
    Open,
    Close,
    Star,
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
            Self::Open => "(".to_owned(),
            Self::Close => ")".to_owned(),
            Self::Star => "*".to_owned(),
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
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '*' => {
                tokens.push(Token::Star);
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
            ';' => return unsupported("';' (one statement per request)"),
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

impl FieldRef {
    fn describe(&self) -> String {
        match &self.qualifier {
            Some(qualifier) => format!("[{qualifier}].[{}]", self.name),
            None => format!("[{}]", self.name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
}

impl Operator {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "=" => Self::Equals,
            "<>" => Self::NotEquals,
            ">" => Self::GreaterThan,
            ">=" => Self::GreaterOrEqual,
            "<" => Self::LessThan,
            "<=" => Self::LessOrEqual,
            _ => return None,
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Equals => ordering == Ordering::Equal,
            Self::NotEquals => ordering != Ordering::Equal,
            Self::GreaterThan => ordering == Ordering::Greater,
            Self::GreaterOrEqual => ordering != Ordering::Less,
            Self::LessThan => ordering == Ordering::Less,
            Self::LessOrEqual => ordering != Ordering::Greater,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Text(String),
    Number(String),
    /// `DATE 'YYYY-MM-DD'` (QUERY_GRAMMAR_RESOURCE.md).
    Date(String),
}

impl Literal {
    fn text(&self) -> &str {
        match self {
            Self::Text(t) | Self::Number(t) | Self::Date(t) => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Compare {
        field: FieldRef,
        operator: Operator,
        literal: Literal,
    },
    Like {
        field: FieldRef,
        pattern: String,
    },
    In {
        field: FieldRef,
        values: Vec<Literal>,
    },
    IsNull {
        field: FieldRef,
        negated: bool,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Count,
    Fields(Vec<FieldRef>),
}

/// `JOIN [child] ON PARENT([parent_argument])`: objects of `child` under each FROM object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub child: String,
    pub parent_argument: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub field: FieldRef,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub selection: Selection,
    pub from: String,
    pub join: Option<Join>,
    pub filter: Option<Expr>,
    pub order: Vec<OrderKey>,
    /// Parsed and ignored: "the OpenPages REST API ignores the SQL LIMIT clause" and pages by the
    /// request's `limit` (IBM docs/QUERY_LIMIT_FIX.md).
    pub limit: Option<u64>,
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

/// Words that end a clause; anything else where a clause may end is an unsupported construct.
const UNSUPPORTED_WORDS: [(&str, &str); 14] = [
    ("GROUP", "GROUP BY"),
    ("HAVING", "HAVING"),
    ("UNION", "UNION"),
    ("OUTER", "OUTER JOIN"),
    ("LEFT", "OUTER JOIN"),
    ("RIGHT", "OUTER JOIN"),
    ("INNER", "INNER JOIN (write JOIN … ON PARENT(…))"),
    ("AS", "AS aliases"),
    ("DISTINCT", "DISTINCT"),
    ("TOP", "TOP"),
    (
        "OFFSET",
        "OFFSET in the statement (page with the request's offset)",
    ),
    ("NOT", "NOT"),
    ("CONTAINS", "CONTAINS"),
    ("SELECT", "subqueries"),
];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(keyword))
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

    /// Refuses a known-but-unsupported word at the current position.
    fn refuse_unsupported_word(&self) -> Result<(), QueryError> {
        if let Some(Token::Word(word)) = self.peek()
            && let Some((_, construct)) = UNSUPPORTED_WORDS
                .iter()
                .find(|(w, _)| w.eq_ignore_ascii_case(word))
        {
            return unsupported(construct);
        }
        Ok(())
    }

    fn expect_keyword(&mut self, keyword: &str, context: &str) -> Result<(), QueryError> {
        self.refuse_unsupported_word()?;
        if self.peek_keyword(keyword) {
            self.position += 1;
            return Ok(());
        }
        err(format!(
            "expected {keyword} {context}, found {}",
            Self::found(self.peek())
        ))
    }

    fn expect(&mut self, token: &Token, context: &str) -> Result<(), QueryError> {
        if self.peek() == Some(token) {
            self.position += 1;
            return Ok(());
        }
        err(format!(
            "expected '{}' {context}, found {}",
            token.describe(),
            Self::found(self.peek())
        ))
    }

    fn bracketed(&mut self, context: &str) -> Result<String, QueryError> {
        match self.next() {
            Some(Token::Bracketed(name)) => Ok(name),
            other => err(format!(
                "expected a [name] {context}, found {}",
                Self::found(other.as_ref())
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

    fn literal(&mut self, after: &str) -> Result<Literal, QueryError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Number(number)) => Ok(Literal::Number(number)),
            Some(token) if token.is_keyword("DATE") => match self.next() {
                Some(Token::Text(text)) => Ok(Literal::Date(text)),
                other => err(format!(
                    "expected 'YYYY-MM-DD' after DATE, found {}",
                    Self::found(other.as_ref())
                )),
            },
            Some(token) if token.is_keyword("TRUE") || token.is_keyword("FALSE") => {
                unsupported("boolean literals")
            }
            Some(token) if token.is_keyword("NULL") => {
                unsupported("comparison with NULL (write IS NULL)")
            }
            Some(Token::Open) if self.peek_keyword("SELECT") => unsupported("subqueries"),
            other => err(format!(
                "expected a literal after {after}, found {}",
                Self::found(other.as_ref())
            )),
        }
    }

    fn predicate(&mut self) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Token::Open) {
            self.position += 1;
            let inner = self.expression()?;
            self.expect(&Token::Close, "to close '('")?;
            return Ok(inner);
        }
        self.refuse_unsupported_word()?;
        let field = self.field_ref("in the WHERE clause")?;
        let after = field.describe();
        match self.next() {
            Some(Token::Operator(op)) => match Operator::parse(&op) {
                Some(operator) => Ok(Expr::Compare {
                    literal: self.literal(&format!("{after} {op}"))?,
                    field,
                    operator,
                }),
                None => unsupported(&format!("operator '{op}'")),
            },
            Some(token) if token.is_keyword("LIKE") => match self.next() {
                Some(Token::Text(pattern)) => Ok(Expr::Like { field, pattern }),
                other => err(format!(
                    "expected a quoted pattern after {after} LIKE, found {}",
                    Self::found(other.as_ref())
                )),
            },
            Some(token) if token.is_keyword("IN") => {
                self.expect(&Token::Open, &format!("after {after} IN"))?;
                let mut values = vec![self.literal(&format!("{after} IN ("))?];
                while self.peek() == Some(&Token::Comma) {
                    self.position += 1;
                    values.push(self.literal("','")?);
                }
                self.expect(&Token::Close, "to close IN (…)")?;
                Ok(Expr::In { field, values })
            }
            Some(token) if token.is_keyword("IS") => {
                let negated = self.peek_keyword("NOT");
                if negated {
                    self.position += 1;
                }
                self.expect_keyword("NULL", &format!("after {after} IS"))?;
                Ok(Expr::IsNull { field, negated })
            }
            Some(token) if token.is_keyword("NOT") => {
                if self.peek_keyword("IN") {
                    unsupported("NOT IN")
                } else {
                    unsupported("NOT")
                }
            }
            Some(token) if token.is_keyword("CONTAINS") => unsupported("CONTAINS"),
            Some(token) if token.is_keyword("BETWEEN") => unsupported("BETWEEN"),
            other => err(format!(
                "expected an operator after {after}, found {}",
                Self::found(other.as_ref())
            )),
        }
    }

    fn conjunction(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.predicate()?;
        while self.peek_keyword("AND") {
            self.position += 1;
            left = Expr::And(Box::new(left), Box::new(self.predicate()?));
        }
        Ok(left)
    }

    fn expression(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.conjunction()?;
        while self.peek_keyword("OR") {
            self.position += 1;
            left = Expr::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn selection(&mut self) -> Result<Selection, QueryError> {
        self.refuse_unsupported_word()?;
        if self.peek_keyword("COUNT") {
            self.position += 1;
            self.expect(&Token::Open, "after COUNT")?;
            self.expect(&Token::Star, "in COUNT(*)")?;
            self.expect(&Token::Close, "to close COUNT(*")?;
            if self.peek() == Some(&Token::Comma) {
                return unsupported("COUNT(*) with other columns (GROUP BY)");
            }
            return Ok(Selection::Count);
        }
        if self.peek() == Some(&Token::Star) {
            return unsupported("SELECT * (name the fields)");
        }
        let mut fields = vec![self.field_ref("after SELECT")?];
        while self.peek() == Some(&Token::Comma) {
            self.position += 1;
            if self.peek_keyword("COUNT") {
                return unsupported("COUNT(*) with other columns (GROUP BY)");
            }
            fields.push(self.field_ref("after ','")?);
        }
        Ok(Selection::Fields(fields))
    }

    fn join(&mut self) -> Result<Option<Join>, QueryError> {
        if !self.peek_keyword("JOIN") {
            return Ok(None);
        }
        self.position += 1;
        let child = self.bracketed("after JOIN")?;
        self.expect_keyword("ON", "after JOIN [type]")?;
        match self.next() {
            Some(token) if token.is_keyword("PARENT") => {}
            Some(token) if token.is_keyword("CHILD") => return unsupported("JOIN … ON CHILD(…)"),
            Some(token) if token.is_keyword("ANCESTOR") => {
                return unsupported("JOIN … ON ANCESTOR(…)");
            }
            other => {
                return err(format!(
                    "expected PARENT(…) after ON, found {}",
                    Self::found(other.as_ref())
                ));
            }
        }
        self.expect(&Token::Open, "after PARENT")?;
        let parent_argument = self.bracketed("in PARENT(…)")?;
        self.expect(&Token::Close, "to close PARENT(…")?;
        if self.peek_keyword("JOIN") {
            return unsupported("more than one JOIN");
        }
        Ok(Some(Join {
            child,
            parent_argument,
        }))
    }

    fn order(&mut self) -> Result<Vec<OrderKey>, QueryError> {
        if !self.peek_keyword("ORDER") {
            return Ok(Vec::new());
        }
        self.position += 1;
        self.expect_keyword("BY", "after ORDER")?;
        let mut keys = Vec::new();
        loop {
            if self.peek_keyword("COUNT") {
                return unsupported("ORDER BY COUNT(*)");
            }
            let field = self.field_ref("in ORDER BY")?;
            let descending = if self.peek_keyword("DESC") {
                self.position += 1;
                true
            } else {
                if self.peek_keyword("ASC") {
                    self.position += 1;
                }
                false
            };
            keys.push(OrderKey { field, descending });
            if self.peek() != Some(&Token::Comma) {
                return Ok(keys);
            }
            self.position += 1;
        }
    }
}

/// Parses a statement of the supported dialect.
pub fn parse(statement: &str) -> Result<Query, QueryError> {
    if statement.trim().is_empty() {
        return err("statement is empty");
    }
    let mut parser = Parser {
        tokens: tokenize(statement)?,
        position: 0,
    };
    if !parser.peek_keyword("SELECT") {
        return err(format!(
            "statement must start with SELECT, found {}",
            Parser::found(parser.peek())
        ));
    }
    parser.position += 1;
    let selection = parser.selection()?;
    parser.expect_keyword("FROM", "after the field list")?;
    let from = parser.bracketed("after FROM")?;
    if parser.peek() == Some(&Token::Comma) {
        return unsupported("several types in FROM (write JOIN … ON PARENT(…))");
    }
    parser.refuse_unsupported_word()?;
    let join = parser.join()?;
    let mut filter = None;
    if parser.peek_keyword("WHERE") {
        parser.position += 1;
        filter = Some(parser.expression()?);
    }
    parser.refuse_unsupported_word()?;
    let order = parser.order()?;
    let mut limit = None;
    if parser.peek_keyword("LIMIT") {
        parser.position += 1;
        match parser.next() {
            Some(Token::Number(n)) => {
                limit = Some(
                    n.parse()
                        .map_err(|_| QueryError(format!("LIMIT {n} is not a row count")))?,
                );
            }
            other => {
                return err(format!(
                    "expected a row count after LIMIT, found {}",
                    Parser::found(other.as_ref())
                ));
            }
        }
    }
    parser.refuse_unsupported_word()?;
    match parser.peek() {
        None => Ok(Query {
            selection,
            from,
            join,
            filter,
            order,
            limit,
        }),
        Some(t) => err(format!("unexpected '{}' after the statement", t.describe())),
    }
}

/// A resolved column: OpenPages' documented system fields (IBM mcp_server.py, "System Field
/// Filters"; contracts/openpages-v2.md) or a field of the type. There is no `[Parent Id]`.
#[derive(Debug, Clone)]
enum Column {
    ResourceId,
    Name,
    Title,
    Description,
    CreationDate,
    LastModificationDate,
    CreatedBy,
    LastModifiedBy,
    Location,
    Owner,
    Field(FieldDefinition),
}

const SYSTEM_COLUMNS: [&str; 10] = [
    "Resource ID",
    "Name",
    "Title",
    "Description",
    CREATION_DATE,
    LAST_MODIFICATION_DATE,
    CREATED_BY,
    LAST_MODIFIED_BY,
    "Location",
    "Owner",
];

/// A cell's typed value: how it compares and sorts.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Id(u64),
    Text(String),
    Number(f64),
    Instant(DateTime<Utc>),
}

impl Cell {
    fn compare(&self, other: &Cell, case_insensitive: bool) -> Option<Ordering> {
        match (self, other) {
            (Cell::Id(a), Cell::Id(b)) => Some(a.cmp(b)),
            (Cell::Number(a), Cell::Number(b)) => a.partial_cmp(b),
            (Cell::Instant(a), Cell::Instant(b)) => Some(a.cmp(b)),
            (Cell::Text(a), Cell::Text(b)) if case_insensitive => {
                Some(a.to_lowercase().cmp(&b.to_lowercase()))
            }
            (Cell::Text(a), Cell::Text(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Sort order: empty cells first.
    fn sort(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Null, Cell::Null) => Ordering::Equal,
            (Cell::Null, _) => Ordering::Less,
            (_, Cell::Null) => Ordering::Greater,
            _ => self.compare(other, false).unwrap_or(Ordering::Equal),
        }
    }
}

impl Column {
    fn canonical_name(&self) -> &str {
        match self {
            Self::ResourceId => "Resource ID",
            Self::Name => "Name",
            Self::Title => "Title",
            Self::Description => "Description",
            Self::CreationDate => CREATION_DATE,
            Self::LastModificationDate => LAST_MODIFICATION_DATE,
            Self::CreatedBy => CREATED_BY,
            Self::LastModifiedBy => LAST_MODIFIED_BY,
            Self::Location => "Location",
            Self::Owner => "Owner",
            Self::Field(definition) => &definition.name,
        }
    }

    fn is_date(&self) -> bool {
        match self {
            Self::CreationDate | Self::LastModificationDate => true,
            Self::Field(definition) => definition.data_type == DataType::Date,
            _ => false,
        }
    }

    fn cell(&self, object: &GrcObject, store: &Store) -> Cell {
        use crate::store::FieldValue;
        let text = |value: Option<&String>| value.map_or(Cell::Null, |v| Cell::Text(v.clone()));
        match self {
            Self::ResourceId => Cell::Id(object.id),
            Self::Name => Cell::Text(object.name.clone()),
            Self::Title => text(object.title.as_ref()),
            Self::Description => text(object.description.as_ref()),
            Self::CreationDate => Cell::Instant(object.created_at),
            Self::LastModificationDate => Cell::Instant(object.modified_at),
            Self::CreatedBy => Cell::Text(object.created_by.clone()),
            Self::LastModifiedBy => Cell::Text(object.modified_by.clone()),
            Self::Location => Cell::Text(store.location_of(object.id).unwrap_or_default()),
            Self::Owner => Cell::Text(object.created_by.clone()),
            Self::Field(definition) => match object.fields.get(&definition.name) {
                None => Cell::Null,
                Some(FieldValue::Text(t) | FieldValue::Enum(t)) => Cell::Text(t.clone()),
                Some(FieldValue::Decimal(n)) => Cell::Number(*n),
                Some(FieldValue::Date(d)) => Cell::Instant(*d),
            },
        }
    }

    fn json(&self, object: &GrcObject, store: &Store) -> Value {
        match self {
            Self::ResourceId => Value::String(object.id.to_string()),
            Self::Field(definition) => object
                .fields
                .get(&definition.name)
                .map_or(Value::Null, |v| v.to_json()),
            other => match other.cell(object, store) {
                Cell::Null => Value::Null,
                Cell::Text(text) => Value::String(text),
                Cell::Instant(instant) => Value::String(format_instant(&instant)),
                Cell::Number(n) => json!(n),
                Cell::Id(id) => Value::String(id.to_string()),
            },
        }
    }
}

/// Which object of a joined row a column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    From,
    Joined,
}

#[derive(Debug, Clone)]
struct Bound {
    side: Side,
    column: Column,
}

/// A literal checked against its column's type.
#[derive(Debug, Clone)]
enum Typed {
    Cell(Cell),
    /// A day: date columns compare by their UTC calendar day.
    Day(NaiveDate),
}

enum Compiled {
    Compare(Bound, Operator, Typed),
    Like(Bound, String),
    In(Bound, Vec<Typed>),
    IsNull(Bound, bool),
    And(Box<Compiled>, Box<Compiled>),
    Or(Box<Compiled>, Box<Compiled>),
}

/// Request options that change matching (IBM's client sends both as `false`).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions {
    pub case_insensitive: bool,
    /// Only primary parents count in `JOIN … ON PARENT(…)`.
    pub honor_primary: bool,
}

struct Scope<'a> {
    from: &'a TypeDefinition,
    joined: Option<&'a TypeDefinition>,
}

impl Scope<'_> {
    fn resolve(&self, field: &FieldRef) -> Result<Bound, QueryError> {
        let (side, definition) = match (&field.qualifier, self.joined) {
            (None, None) => (Side::From, self.from),
            (None, Some(_)) => {
                return err(format!(
                    "field {} is ambiguous in a JOIN: qualify it as [Type].[Field]",
                    field.describe()
                ));
            }
            (Some(q), _) if q.eq_ignore_ascii_case(&self.from.id) => (Side::From, self.from),
            (Some(q), Some(joined)) if q.eq_ignore_ascii_case(&joined.id) => (Side::Joined, joined),
            (Some(q), _) => {
                return err(format!(
                    "qualifier [{q}] names no type of the FROM or JOIN clause"
                ));
            }
        };
        let name = field.name.as_str();
        let system = [
            Column::ResourceId,
            Column::Name,
            Column::Title,
            Column::Description,
            Column::CreationDate,
            Column::LastModificationDate,
            Column::CreatedBy,
            Column::LastModifiedBy,
            Column::Location,
            Column::Owner,
        ];
        if let Some(column) = system
            .into_iter()
            .find(|c| c.canonical_name().eq_ignore_ascii_case(name))
        {
            return Ok(Bound { side, column });
        }
        debug_assert_eq!(SYSTEM_COLUMNS.len(), 10);
        match definition.field_ignore_case(name) {
            Some(def) => Ok(Bound {
                side,
                column: Column::Field(def.clone()),
            }),
            // IBM mcp_server.py, "COMMON ERRORS": a field the type does not have.
            None => err(format!(
                "Invalid Field: [{name}] is not a field of [{}]",
                definition.id
            )),
        }
    }

    fn typed(&self, bound: &Bound, literal: &Literal) -> Result<Typed, QueryError> {
        let name = bound.column.canonical_name();
        let text = literal.text();
        if bound.column.is_date() {
            // Dates are written 'YYYY-MM-DD' or DATE 'YYYY-MM-DD' (mcp_server.py, QUERY_GRAMMAR_RESOURCE.md).
            return match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(day) if text.len() == 10 && !matches!(literal, Literal::Number(_)) => {
                    Ok(Typed::Day(day))
                }
                _ => err(format!(
                    "'{text}' is not a date literal for [{name}]: write 'YYYY-MM-DD' or DATE 'YYYY-MM-DD'"
                )),
            };
        }
        if matches!(literal, Literal::Date(_)) {
            return err(format!("[{name}] is not a date field"));
        }
        Ok(Typed::Cell(match &bound.column {
            Column::ResourceId => match text.trim().parse::<u64>() {
                Ok(id) => Cell::Id(id),
                Err(_) => return err(format!("[{name}] compares with a numeric id, got '{text}'")),
            },
            Column::Field(def) if def.data_type == DataType::Decimal => {
                match text.trim().parse::<f64>().ok().filter(|n| n.is_finite()) {
                    Some(n) => Cell::Number(n),
                    None => return err(format!("'{text}' is not a number for [{name}]")),
                }
            }
            _ => Cell::Text(text.to_owned()),
        }))
    }

    fn compile(&self, expr: &Expr) -> Result<Compiled, QueryError> {
        Ok(match expr {
            Expr::Compare {
                field,
                operator,
                literal,
            } => {
                let bound = self.resolve(field)?;
                let typed = self.typed(&bound, literal)?;
                Compiled::Compare(bound, *operator, typed)
            }
            Expr::Like { field, pattern } => {
                let bound = self.resolve(field)?;
                if matches!(
                    bound.column,
                    Column::ResourceId | Column::CreationDate | Column::LastModificationDate
                ) || bound.column.is_date()
                {
                    return err(format!(
                        "LIKE applies to text fields, not [{}]",
                        bound.column.canonical_name()
                    ));
                }
                Compiled::Like(bound, pattern.clone())
            }
            Expr::In { field, values } => {
                let bound = self.resolve(field)?;
                let typed = values
                    .iter()
                    .map(|v| self.typed(&bound, v))
                    .collect::<Result<Vec<_>, _>>()?;
                Compiled::In(bound, typed)
            }
            Expr::IsNull { field, negated } => Compiled::IsNull(self.resolve(field)?, *negated),
            Expr::And(a, b) => {
                Compiled::And(Box::new(self.compile(a)?), Box::new(self.compile(b)?))
            }
            Expr::Or(a, b) => Compiled::Or(Box::new(self.compile(a)?), Box::new(self.compile(b)?)),
        })
    }
}

/// `%` any run, `_` one character.
fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| {
        if case_insensitive {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    };
    let text: Vec<char> = fold(text).chars().collect();
    let pattern: Vec<char> = fold(pattern).chars().collect();
    fn matches(text: &[char], pattern: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('%', rest)) => (0..=text.len()).any(|skip| matches(&text[skip..], rest)),
            Some(('_', rest)) => !text.is_empty() && matches(&text[1..], rest),
            Some((c, rest)) => text.first() == Some(c) && matches(&text[1..], rest),
        }
    }
    matches(&text, &pattern)
}

type RowObjects<'a> = (&'a GrcObject, Option<&'a GrcObject>);

struct Evaluator<'a> {
    store: &'a Store,
    options: QueryOptions,
}

impl Evaluator<'_> {
    fn cell(&self, bound: &Bound, row: RowObjects<'_>) -> Cell {
        let object = match bound.side {
            Side::From => Some(row.0),
            Side::Joined => row.1,
        };
        object.map_or(Cell::Null, |o| bound.column.cell(o, self.store))
    }

    fn equals(&self, cell: &Cell, value: &Typed) -> bool {
        self.compare(cell, value) == Some(Ordering::Equal)
    }

    fn compare(&self, cell: &Cell, value: &Typed) -> Option<Ordering> {
        match (cell, value) {
            (Cell::Instant(instant), Typed::Day(day)) => Some(instant.date_naive().cmp(day)),
            (cell, Typed::Cell(literal)) => cell.compare(literal, self.options.case_insensitive),
            _ => None,
        }
    }

    fn matches(&self, predicate: &Compiled, row: RowObjects<'_>) -> bool {
        match predicate {
            Compiled::Compare(bound, operator, value) => self
                .compare(&self.cell(bound, row), value)
                .is_some_and(|ordering| operator.holds(ordering)),
            Compiled::Like(bound, pattern) => match self.cell(bound, row) {
                Cell::Text(text) => like(&text, pattern, self.options.case_insensitive),
                _ => false,
            },
            Compiled::In(bound, values) => {
                let cell = self.cell(bound, row);
                values.iter().any(|value| self.equals(&cell, value))
            }
            Compiled::IsNull(bound, negated) => {
                let empty = matches!(self.cell(bound, row), Cell::Null)
                    || matches!(self.cell(bound, row), Cell::Text(ref t) if t.is_empty());
                empty != *negated
            }
            Compiled::And(a, b) => self.matches(a, row) && self.matches(b, row),
            Compiled::Or(a, b) => self.matches(a, row) || self.matches(b, row),
        }
    }
}

/// One result row: the selected fields in SELECT order, by their unqualified names.
pub type Row = Vec<(String, Value)>;

/// Runs a parsed query against the store. Without ORDER BY, rows come in id order.
pub fn execute(
    query: &Query,
    catalog: &Catalog,
    store: &Store,
    options: QueryOptions,
) -> Result<Vec<Row>, QueryError> {
    let Some(from) = catalog.get_ignore_case(&query.from) else {
        return err(format!("unknown type [{}] in FROM", query.from));
    };
    let joined = match &query.join {
        None => None,
        Some(join) => {
            // The argument of PARENT() must be the FROM type (IBM mcp_server.py, "COMMON ERRORS").
            if !join.parent_argument.eq_ignore_ascii_case(&from.id) {
                return err(format!(
                    "Query failed to be transformed: PARENT([{}]) must name the FROM type [{}]",
                    join.parent_argument, from.id
                ));
            }
            let Some(child) = catalog.get_ignore_case(&join.child) else {
                return err(format!("unknown type [{}] in JOIN", join.child));
            };
            // Children of FROM must be a child type of it (GET /types/{type}/associations).
            if !catalog.may_contain(&from.id, &child.id) {
                return err(format!(
                    "Query failed to be transformed: [{}] is not a child type of [{}]",
                    child.id, from.id
                ));
            }
            if query.selection == Selection::Count {
                // "Aggregates with JOIN" are refused (IBM mcp_server.py, RESTRICTIONS).
                return err("Aggregate functions cannot be used in a query with a JOIN");
            }
            Some(child)
        }
    };
    let scope = Scope { from, joined };
    let columns = match &query.selection {
        Selection::Count => Vec::new(),
        Selection::Fields(fields) => fields
            .iter()
            .map(|f| scope.resolve(f))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let filter = query
        .filter
        .as_ref()
        .map(|expr| scope.compile(expr))
        .transpose()?;
    let order = query
        .order
        .iter()
        .map(|key| Ok((scope.resolve(&key.field)?, key.descending)))
        .collect::<Result<Vec<_>, QueryError>>()?;
    let evaluator = Evaluator { store, options };
    let mut rows: Vec<RowObjects<'_>> = Vec::new();
    for object in store.objects().filter(|o| o.type_id == from.id) {
        match joined {
            None => rows.push((object, None)),
            Some(child_type) => {
                for child in store.children_including_secondary(object.id, options.honor_primary) {
                    if child.type_id == child_type.id {
                        rows.push((object, Some(child)));
                    }
                }
            }
        }
    }
    rows.retain(|row| {
        filter
            .as_ref()
            .is_none_or(|predicate| evaluator.matches(predicate, *row))
    });
    if query.selection == Selection::Count {
        return Ok(vec![vec![("COUNT(*)".to_owned(), json!(rows.len()))]]);
    }
    rows.sort_by(|a, b| {
        order
            .iter()
            .map(|(bound, descending)| {
                let ordering = evaluator.cell(bound, *a).sort(&evaluator.cell(bound, *b));
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|ordering| *ordering != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    Ok(rows
        .into_iter()
        .map(|row| {
            columns
                .iter()
                .map(|bound| {
                    let object = match bound.side {
                        Side::From => Some(row.0),
                        Side::Joined => row.1,
                    };
                    let value = object.map_or(Value::Null, |o| bound.column.json(o, store));
                    (bound.column.canonical_name().to_owned(), value)
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::catalog::{BUSINESS_ENTITY, MODEL, MODEL_GROUP, MODEL_STATUS, USE_CASE};
    use crate::store::NewObject;

    /// An entity, a use case, two model groups, three models under the first group (one also
    /// linked under the second), modified one day apart from 2023-11-14.
    fn seeded() -> (Catalog, Store, Vec<u64>, Vec<u64>) {
        let catalog = Catalog::seeded();
        let mut store = Store::default();
        let day = |n: i64| {
            Utc.timestamp_opt(1_700_000_000 + n * 86_400, 0)
                .single()
                .unwrap_or_default()
        };
        let create = |store: &mut Store, type_id: &str, name: &str, parent, fields, n| {
            let new = NewObject {
                name: name.into(),
                title: None,
                description: None,
                type_id: type_id.into(),
                parent_id: parent,
                fields,
            };
            store
                .create(&catalog, new, "tester", day(n))
                .map(|(o, _)| o.id)
                .unwrap_or_else(|error| panic!("{error}"))
        };
        let entity = create(&mut store, BUSINESS_ENTITY, "Registry", None, vec![], 0);
        let use_case = create(&mut store, USE_CASE, "Fraud", Some(entity), vec![], 0);
        let groups = vec![
            create(
                &mut store,
                MODEL_GROUP,
                "fraud-a",
                Some(use_case),
                vec![],
                0,
            ),
            create(
                &mut store,
                MODEL_GROUP,
                "fraud-b",
                Some(use_case),
                vec![],
                0,
            ),
        ];
        let mut models = Vec::new();
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
            models.push(create(
                &mut store,
                MODEL,
                &format!("model {i}"),
                Some(groups[0]),
                fields,
                i as i64 + 1,
            ));
        }
        let linked = store.associate(
            &catalog,
            groups[1],
            &[(models[2], "child".to_owned())],
            "tester",
            day(9),
        );
        assert!(linked.is_ok(), "{linked:?}");
        (catalog, store, groups, models)
    }

    fn run_with(statement: &str, options: QueryOptions) -> Result<Vec<Row>, QueryError> {
        let (catalog, store, _, _) = seeded();
        parse(statement).and_then(|q| execute(&q, &catalog, &store, options))
    }

    fn run(statement: &str) -> Result<Vec<Row>, QueryError> {
        run_with(statement, QueryOptions::default())
    }

    fn names(rows: Result<Vec<Row>, QueryError>) -> Vec<String> {
        rows.unwrap_or_else(|error| panic!("{error}"))
            .into_iter()
            .map(|row| row[0].1.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn every_query_ibms_client_builds_parses_and_runs() {
        // The statements of IBM's client and tools (openpages_client.py, generic_object_tools.py,
        // mcp_server.py), on the seeded types.
        let statements = [
            "SELECT [Name] FROM [Model] WHERE [Name] IS NOT NULL LIMIT 1",
            "SELECT [Name] FROM [Model] WHERE [Name] LIKE 'model%'",
            "SELECT [Name] FROM [Model] WHERE [MRG-Model:Status] IN ('Rejected', 'In Production')",
            "SELECT [Name] FROM [Model] WHERE [Last Modification Date] >= '2023-11-15'",
            "SELECT [Name] FROM [Model] WHERE [Creation Date] <= DATE '2023-11-16'",
            "SELECT [Name] FROM [Model] WHERE [Name] <> 'x' ORDER BY [Last Modification Date] DESC",
            "SELECT COUNT(*) FROM [Model] WHERE [MRG-Model:Status] = 'Rejected'",
            "SELECT [Model].[Name] FROM [ModelGroup] JOIN [Model] ON PARENT([ModelGroup]) WHERE [ModelGroup].[Name] = 'fraud-a'",
            "SELECT [Name] FROM [Model] WHERE ([Name] = 'model 0' OR [Name] = 'model 1') AND [Description] IS NULL",
            "SELECT [Name] FROM [Model] WHERE [Resource ID] > 1 AND [Name] < 'z' AND [Name] <= 'z'",
        ];
        for statement in statements {
            assert!(run(statement).is_ok(), "{statement}: {:?}", run(statement));
        }
    }

    #[test]
    fn comparisons_filter_as_openpages_documents() {
        assert_eq!(
            names(run("SELECT [Name] FROM [Model] WHERE [Name] LIKE '%1'")),
            ["model 1"]
        );
        assert_eq!(
            names(run(
                "SELECT [Name] FROM [Model] WHERE [MRG-Model:Status] IN ('Rejected','In Production')"
            )),
            ["model 1", "model 2"]
        );
        assert_eq!(
            names(run(
                "SELECT [Name] FROM [Model] WHERE [Last Modification Date] >= '2023-11-16'"
            )),
            ["model 1", "model 2"]
        );
        assert_eq!(
            names(run(
                "SELECT [Name] FROM [Model] WHERE [Name] = 'model 0' OR [Name] = 'model 2'"
            )),
            ["model 0", "model 2"]
        );
        assert_eq!(
            names(run(
                "SELECT [Name] FROM [Model] ORDER BY [Last Modification Date] DESC"
            )),
            ["model 2", "model 1", "model 0"]
        );
        assert_eq!(
            run("SELECT COUNT(*) FROM [Model] WHERE [MRG-Model:Status] <> 'Rejected'"),
            Ok(vec![vec![("COUNT(*)".to_owned(), json!(2))]])
        );
        assert_eq!(
            names(run_with(
                "SELECT [Name] FROM [Model] WHERE [Name] = 'MODEL 1'",
                QueryOptions {
                    case_insensitive: true,
                    honor_primary: false
                }
            )),
            ["model 1"]
        );
        assert!(names(run("SELECT [Name] FROM [Model] WHERE [Name] = 'MODEL 1'")).is_empty());
    }

    #[test]
    fn children_are_found_by_joining_on_the_parent_with_a_numeric_resource_id() {
        let (catalog, store, groups, models) = seeded();
        let statement = format!(
            "SELECT [Model].[Resource ID],[Model].[Name] FROM [ModelGroup] JOIN [Model] \
             ON PARENT([ModelGroup]) WHERE [ModelGroup].[Resource ID] = {} \
             ORDER BY [Model].[Resource ID] ASC",
            groups[1]
        );
        let query = parse(&statement).unwrap_or_else(|error| panic!("{error}"));
        let rows = execute(&query, &catalog, &store, QueryOptions::default());
        assert_eq!(
            rows,
            Ok(vec![vec![
                ("Resource ID".to_owned(), json!(models[2].to_string())),
                ("Name".to_owned(), json!("model 2")),
            ]]),
            "a secondary child counts unless honor_primary"
        );
        let primary_only = execute(
            &query,
            &catalog,
            &store,
            QueryOptions {
                case_insensitive: false,
                honor_primary: true,
            },
        );
        assert_eq!(primary_only, Ok(vec![]));
    }

    #[test]
    fn an_invented_parent_column_is_an_invalid_field() {
        let error = run("SELECT [Name] FROM [Model] WHERE [Parent Id] = 1003");
        assert!(
            matches!(&error, Err(QueryError(m)) if m.contains("Invalid Field") && m.contains("[Parent Id]")),
            "{error:?}"
        );
    }

    #[test]
    fn each_unsupported_construct_is_named() {
        let cases = [
            ("SELECT [Name] FROM [Model] WHERE NOT [Name] = 'a'", "NOT"),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] NOT IN ('a')",
                "NOT IN",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] CONTAINS 'a'",
                "CONTAINS",
            ),
            (
                "SELECT [Name], COUNT(*) FROM [Model] GROUP BY [Name]",
                "GROUP BY",
            ),
            ("SELECT [Name] FROM [Model] GROUP BY [Name]", "GROUP BY"),
            (
                "SELECT [Name] FROM [Model] UNION SELECT [Name] FROM [Model]",
                "UNION",
            ),
            ("SELECT [Name] FROM [Model] AS [m]", "AS aliases"),
            ("SELECT DISTINCT [Name] FROM [Model]", "DISTINCT"),
            ("SELECT * FROM [Model]", "SELECT *"),
            (
                "SELECT [Name] FROM [Model] OUTER JOIN [Metric] ON PARENT([Model])",
                "OUTER JOIN",
            ),
            (
                "SELECT [Metric].[Name] FROM [Model] JOIN [Metric] ON CHILD([Model])",
                "CHILD",
            ),
            (
                "SELECT [Metric].[Name] FROM [Model] JOIN [Metric] ON ANCESTOR([Model])",
                "ANCESTOR",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] != 'a'",
                "operator '!='",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] BETWEEN 'a' AND 'b'",
                "BETWEEN",
            ),
            ("SELECT [Name] FROM [Model];", "';'"),
            (
                "SELECT [Name] FROM [Model], [Metric]",
                "several types in FROM",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = TRUE",
                "boolean literals",
            ),
            ("SELECT [Name] FROM [Model] WHERE [Name] = NULL", "IS NULL"),
        ];
        for (statement, construct) in cases {
            match parse(statement) {
                Ok(query) => panic!("{statement:?} parsed as {query:?}"),
                Err(QueryError(message)) => assert!(
                    message.contains("unsupported construct") && message.contains(construct),
                    "{statement:?}: {message:?} does not name {construct:?}"
                ),
            }
        }
    }

    #[test]
    fn each_semantic_error_names_the_problem() {
        let cases = [
            ("SELECT [Name] FROM [Nope]", "unknown type [Nope]"),
            ("SELECT [Bogus] FROM [Model]", "Invalid Field"),
            (
                "SELECT [Name] FROM [Model] WHERE [Resource ID] = 'abc'",
                "numeric id",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Last Modification Date] > '2024-01-01T00:00:00.000Z'",
                "not a date literal",
            ),
            (
                "SELECT [Model].[Name] FROM [ModelGroup] JOIN [Model] ON PARENT([Model])",
                "Query failed to be transformed",
            ),
            (
                "SELECT [Metric].[Name] FROM [ModelGroup] JOIN [Metric] ON PARENT([ModelGroup])",
                "not a child type",
            ),
            (
                "SELECT COUNT(*) FROM [ModelGroup] JOIN [Model] ON PARENT([ModelGroup])",
                "Aggregate functions",
            ),
            (
                "SELECT [Name] FROM [ModelGroup] JOIN [Model] ON PARENT([ModelGroup])",
                "ambiguous",
            ),
            ("SELECT [ModelGroup].[Name] FROM [Model]", "names no type"),
            (
                "SELECT [Name] FROM [Model] WHERE [Last Modification Date] LIKE '2024%'",
                "LIKE applies to text",
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

    #[test]
    fn each_syntax_error_is_named() {
        let cases = [
            ("", "statement is empty"),
            ("UPDATE [Model]", "must start with SELECT"),
            ("SELECT FROM [Model]", "expected a [field] after SELECT"),
            (
                "SELECT [Name] [Model]",
                "expected FROM after the field list",
            ),
            ("SELECT [Name FROM [Model]", "unterminated '['"),
            ("SELECT [] FROM [Model]", "empty field or type name"),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] = 'abc",
                "unterminated string literal",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] =",
                "expected a literal",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] IN 'a'",
                "expected '('",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE [Name] IS 'a'",
                "expected NULL",
            ),
            (
                "SELECT [Name] FROM [Model] WHERE ([Name] = 'a'",
                "to close '('",
            ),
            ("SELECT [Name] FROM [Model] LIMIT x", "row count"),
        ];
        for (statement, expected) in cases {
            match parse(statement) {
                Ok(query) => panic!("{statement:?} parsed as {query:?}"),
                Err(QueryError(message)) => assert!(
                    message.contains(expected),
                    "{statement:?}: {message:?} does not contain {expected:?}"
                ),
            }
        }
    }
}
