//! The watermark never passes a change the poller has not seen, whatever page governance answers:
//! rows out of order (ORDER BY ignored, page cut short) or a page cut inside a group of changes
//! that share one instant.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use govsync_adapters::fakes::{FakeCursorStore, FakeMessageQueue};
use govsync_adapters::governance::TypeIds;
use govsync_core::governance_event::GovernanceEvent;
use govsync_core::ports::{
    CursorStore, ExternalIdLookup, Field, Governance, GovernanceError, GovernanceId,
    GovernanceKind, GovernanceObject, GovernanceQuery, NewGovernanceObject, QueryCondition,
    QueryRow,
};
use govsync_governance_poller::{DEFAULT_CURSOR_PREFIX, Poller, cursor_id, watermark_after};

/// Governance that answers each query with the rows of `pages` in turn (then with every change,
/// in the order given), keeping only rows newer than a `GreaterThan` watermark if one is asked.
#[derive(Default)]
struct ScriptedGovernance {
    /// (object id, modified) of every change in governance, in the order the server returns them.
    changes: Mutex<Vec<(String, DateTime<Utc>)>>,
    /// Answers for the next queries: the rows shown, by object id.
    pages: Mutex<Vec<Vec<String>>>,
}

fn row(id: &str, modified: DateTime<Utc>) -> QueryRow {
    QueryRow {
        id: GovernanceId::parse(id).ok(),
        fields: vec![Field::date("Last Modification Date", modified)],
    }
}

fn unsupported(operation: &'static str) -> GovernanceError {
    GovernanceError::Config(format!("{operation} is not scripted"))
}

impl Governance for ScriptedGovernance {
    async fn get_object(&self, _: &GovernanceId) -> Result<GovernanceObject, GovernanceError> {
        Err(unsupported("get_object"))
    }

    async fn create_object(
        &self,
        _: &NewGovernanceObject,
    ) -> Result<GovernanceObject, GovernanceError> {
        Err(unsupported("create_object"))
    }

    async fn update_object(
        &self,
        _: &GovernanceId,
        _: &[Field],
        _: Option<&str>,
    ) -> Result<GovernanceObject, GovernanceError> {
        Err(unsupported("update_object"))
    }

    async fn query(&self, query: &GovernanceQuery) -> Result<Vec<QueryRow>, GovernanceError> {
        if query.kind != GovernanceKind::Model {
            return Ok(Vec::new());
        }
        let changes = self.changes.lock().map(|c| c.clone()).unwrap_or_default();
        let shown: Option<Vec<String>> = self
            .pages
            .lock()
            .ok()
            .and_then(|mut pages| (!pages.is_empty()).then(|| pages.remove(0)));
        let after = match &query.condition {
            Some(QueryCondition::GreaterThan { value, .. }) => {
                DateTime::parse_from_rfc3339(value).ok().map(|t| t.to_utc())
            }
            _ => None,
        };
        Ok(changes
            .iter()
            .filter(|(id, _)| shown.as_ref().is_none_or(|shown| shown.contains(id)))
            .filter(|(_, modified)| after.is_none_or(|after| *modified > after))
            .map(|(id, modified)| row(id, *modified))
            .collect())
    }

    async fn find_by_external_id(
        &self,
        _: GovernanceKind,
        _: &str,
    ) -> Result<ExternalIdLookup, GovernanceError> {
        Err(unsupported("find_by_external_id"))
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 10, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(minutes)
}

struct World {
    governance: Arc<ScriptedGovernance>,
    cursors: Arc<FakeCursorStore>,
    queue: Arc<FakeMessageQueue>,
    poller: Poller<ScriptedGovernance, FakeCursorStore, FakeMessageQueue>,
}

impl World {
    fn new(overlap: Duration) -> Self {
        let governance = Arc::new(ScriptedGovernance::default());
        let cursors = Arc::new(FakeCursorStore::new());
        let queue = Arc::new(FakeMessageQueue::new());
        let poller = Poller {
            governance: Arc::clone(&governance),
            cursors: Arc::clone(&cursors),
            queue: Arc::clone(&queue),
            type_ids: TypeIds::default(),
            overlap,
            cursor_prefix: DEFAULT_CURSOR_PREFIX.to_owned(),
        };
        Self {
            governance,
            cursors,
            queue,
            poller,
        }
    }

    fn changes(&self, changes: &[(&str, DateTime<Utc>)]) {
        if let Ok(mut all) = self.governance.changes.lock() {
            *all = changes
                .iter()
                .map(|(id, t)| ((*id).to_owned(), *t))
                .collect();
        }
    }

    fn next_page_shows(&self, ids: &[&str]) {
        if let Ok(mut pages) = self.governance.pages.lock() {
            pages.push(ids.iter().map(|id| (*id).to_owned()).collect());
        }
    }

    fn enqueued_ids(&self) -> Vec<String> {
        self.queue
            .messages()
            .iter()
            .filter_map(|m| GovernanceEvent::from_json(&m.body).ok())
            .map(|event| event.object_id.to_string())
            .collect()
    }

    async fn watermark(&self) -> Option<DateTime<Utc>> {
        self.cursors
            .get_watermark(&cursor_id(DEFAULT_CURSOR_PREFIX, "Model"))
            .await
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn an_unordered_truncated_page_never_moves_the_watermark_past_an_unseen_change() {
    let world = World::new(Duration::seconds(60));
    // Governance ignored ORDER BY and cut the page short: 14 (at +40 min) is not shown.
    world.changes(&[
        ("11", at(50)),
        ("12", at(0)),
        ("13", at(20)),
        ("14", at(40)),
    ]);
    world.next_page_shows(&["11", "12", "13"]);
    world.poller.run().await.unwrap();
    assert_eq!(world.enqueued_ids(), ["12", "13", "11"]);
    assert!(
        world.watermark().await.is_none_or(|mark| mark < at(40)),
        "the watermark passed the unseen change: {:?}",
        world.watermark().await
    );
    // The next run gets every change: the one the first page hid is enqueued.
    world.poller.run().await.unwrap();
    assert!(
        world.enqueued_ids().contains(&"14".to_owned()),
        "{:?}",
        world.enqueued_ids()
    );
}

#[tokio::test]
async fn a_page_cut_inside_changes_of_one_instant_is_read_again_from_the_watermark() {
    // No overlap at all: only the watermark rule protects the cut.
    let world = World::new(Duration::zero());
    world.changes(&[("21", at(0)), ("22", at(10)), ("23", at(10))]);
    world.next_page_shows(&["21", "22"]);
    world.poller.run().await.unwrap();
    world.poller.run().await.unwrap();
    assert!(
        world.enqueued_ids().contains(&"23".to_owned()),
        "{:?}",
        world.enqueued_ids()
    );
}

#[test]
fn the_watermark_follows_only_rows_that_came_oldest_first() {
    assert_eq!(watermark_after(&[]), None);
    assert_eq!(watermark_after(&[at(0), at(5), at(5), at(9)]), Some(at(9)));
    assert_eq!(watermark_after(&[at(0), at(9), at(5)]), None);
}
