//! The query statements the adapter sends, in the dialect IBM's own client writes
//! (IBM/ibm-openpages-mcp-server `src/app/mcp/mcp_server.py`, `docs/QUERY_GRAMMAR_RESOURCE.md`).

use govsync_core::ports::{GovernanceError, GovernanceQuery, QueryCondition, TypeIds};

use super::wire::{RESOURCE_ID, quote_literal};

/// The system field the change queries order and filter by.
pub(crate) const LAST_MODIFICATION_DATE: &str = "Last Modification Date";

/// `[name]`, refusing names that would break out of the brackets.
pub(crate) fn bracket(name: &str) -> Result<String, GovernanceError> {
    if name.is_empty() || name.contains(['[', ']']) {
        return Err(GovernanceError::Config(format!(
            "{name:?} is not a usable field or type name"
        )));
    }
    Ok(format!("[{name}]"))
}

/// The statement of `query`. Every statement is ordered, so offset paging walks one stable
/// sequence (govsync choice): change queries by `[Last Modification Date]`, the rest by
/// `[Resource ID]`.
pub(crate) fn statement(
    type_ids: &TypeIds,
    query: &GovernanceQuery,
) -> Result<String, GovernanceError> {
    let from = bracket(type_ids.of(query.kind))?;
    let mut columns = vec![RESOURCE_ID];
    columns.extend(
        query
            .columns
            .iter()
            .map(String::as_str)
            .filter(|column| *column != RESOURCE_ID),
    );
    let list = |qualifier: &str| -> Result<String, GovernanceError> {
        Ok(columns
            .iter()
            .map(|column| bracket(column).map(|c| format!("{qualifier}{c}")))
            .collect::<Result<Vec<_>, _>>()?
            .join(","))
    };
    let resource_id = bracket(RESOURCE_ID)?;
    Ok(match &query.condition {
        None => format!(
            "SELECT {} FROM {from} ORDER BY {resource_id} ASC",
            list("")?
        ),
        Some(QueryCondition::Equals { field, value }) => format!(
            "SELECT {} FROM {from} WHERE {} = {} ORDER BY {resource_id} ASC",
            list("")?,
            bracket(field)?,
            quote_literal(value)
        ),
        Some(QueryCondition::GreaterThan { field, value }) => format!(
            "SELECT {} FROM {from} WHERE {} > {} ORDER BY {resource_id} ASC",
            list("")?,
            bracket(field)?,
            quote_literal(value)
        ),
        Some(QueryCondition::ChildOf {
            parent_kind,
            parent_id,
        }) => {
            // Direct children: FROM the parent type, JOIN the child type ON PARENT(parent type),
            // every field qualified, the parent's Resource ID numeric and unquoted (mcp_server.py).
            let parent = bracket(type_ids.of(*parent_kind))?;
            let id = parent_id.as_str();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(GovernanceError::Config(format!(
                    "{id:?} is not a numeric Resource ID; a child lookup needs one"
                )));
            }
            format!(
                "SELECT {} FROM {parent} JOIN {from} ON PARENT({parent}) \
                 WHERE {parent}.{resource_id} = {id} ORDER BY {from}.{resource_id} ASC",
                list(&format!("{from}."))?
            )
        }
        Some(QueryCondition::ModifiedSince { day }) => {
            // Day literals are the documented form ('YYYY-MM-DD'); callers filter finer.
            let modified = bracket(LAST_MODIFICATION_DATE)?;
            format!(
                "SELECT {} FROM {from} WHERE {modified} >= '{}' \
                 ORDER BY {modified} ASC, {resource_id} ASC",
                list("")?,
                day.format("%Y-%m-%d")
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use govsync_core::ports::{GovernanceId, GovernanceKind};

    use super::*;

    fn ids() -> TypeIds {
        TypeIds::default()
    }

    fn gid(id: &str) -> GovernanceId {
        GovernanceId::parse(id).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn lookups_select_the_resource_id_escape_literals_and_order_by_id() {
        let statement = statement(
            &ids(),
            &GovernanceQuery {
                kind: GovernanceKind::Model,
                columns: vec!["Name".to_owned(), "MRG-Model:Status".to_owned()],
                condition: Some(QueryCondition::Equals {
                    field: "Integration:External ID".to_owned(),
                    value: "arn:aws:x/it's".to_owned(),
                }),
            },
        )
        .unwrap();
        assert_eq!(
            statement,
            "SELECT [Resource ID],[Name],[MRG-Model:Status] FROM [Model] \
             WHERE [Integration:External ID] = 'arn:aws:x/it''s' ORDER BY [Resource ID] ASC"
        );
    }

    #[test]
    fn child_lookups_join_on_parent_and_never_name_a_parent_id_column() {
        let statement = statement(
            &ids(),
            &GovernanceQuery {
                kind: GovernanceKind::Model,
                columns: vec!["Integration:External ID".to_owned()],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind: GovernanceKind::ModelGroup,
                    parent_id: gid("1042"),
                }),
            },
        )
        .unwrap();
        assert_eq!(
            statement,
            "SELECT [Model].[Resource ID],[Model].[Integration:External ID] FROM [ModelGroup] \
             JOIN [Model] ON PARENT([ModelGroup]) WHERE [ModelGroup].[Resource ID] = 1042 \
             ORDER BY [Model].[Resource ID] ASC"
        );
        assert!(!statement.contains("Parent Id"));
        let not_numeric = super::statement(
            &ids(),
            &GovernanceQuery {
                kind: GovernanceKind::Model,
                columns: vec![],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind: GovernanceKind::ModelGroup,
                    parent_id: gid("abc"),
                }),
            },
        );
        assert!(matches!(not_numeric, Err(GovernanceError::Config(_))));
    }

    #[test]
    fn change_queries_use_a_day_literal_and_come_oldest_first() {
        let statement = statement(
            &ids(),
            &GovernanceQuery {
                kind: GovernanceKind::UseCase,
                columns: vec![LAST_MODIFICATION_DATE.to_owned()],
                condition: Some(QueryCondition::ModifiedSince {
                    day: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap_or_default(),
                }),
            },
        )
        .unwrap();
        assert_eq!(
            statement,
            "SELECT [Resource ID],[Last Modification Date] FROM [ModelUseCase] \
             WHERE [Last Modification Date] >= '2026-03-09' \
             ORDER BY [Last Modification Date] ASC, [Resource ID] ASC"
        );
    }

    #[test]
    fn bracket_injection_in_field_names_is_refused() {
        let result = statement(
            &ids(),
            &GovernanceQuery {
                kind: GovernanceKind::Model,
                columns: vec!["Name] FROM [Other".to_owned()],
                condition: None,
            },
        );
        assert!(matches!(result, Err(GovernanceError::Config(_))));
    }
}
