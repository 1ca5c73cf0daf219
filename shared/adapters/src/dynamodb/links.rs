//! The links table: registry ARN ⇄ governance id, applied revisions, and the our-write ledger.
//!
//! Key layout (`pk` S, `sk` S), one table for three item families:
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | link, by ARN | `arn#<ARN>` | `link#<kind>` | `kind`, `arn`, `governance_id`, `updated_at` |
//! | link, by governance id | `gov#<id>` | `link` | `kind`, `arn`, `governance_id`, `updated_at` |
//! | applied revision of one side | `arn#<ARN>` or `gov#<id>` | `rev` | `applied_rev` (N), `updated_at` |
//! | our-write ledger entry | `ledger#<side>#<object>` | `<field>#<sha256 of value>[#<revision produced>]` | `expiration` (N, epoch s, TTL) |
//! | tombstone of a deleted registry resource (F5) | `arn#<ARN>` | `tombstone` | `deleted_at` (S), `note` (S) |
//!
//! The kind is part of the ARN link's sort key because one package-group ARN is linked to both a
//! use case and a model group. A governance id is unique across kinds. Revisions are kept per side
//! because each side has its own clock: a registry change is compared with the last registry
//! revision applied, a governance change with the last governance revision applied.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, SecondsFormat, Utc};
use govsync_core::ports::{
    CommitOutcome, EchoCheck, EchoLedger, GovernanceId, Link, LinkEnd, LinkKind, LinkStore,
    OurWrite, RevisionOutcome, RevisionStore, StoreError, StoreWrite, Tombstone, TombstoneStore,
};
use govsync_core::sync::governance::approval_email_receipt;
use govsync_core::{ModelPackageArn, RegistryArn};

use super::{Item, n, number_attr, optional_number_attr, s, store_error, string_attr};

const LINK_SK: &str = "link";
const REVISION_SK: &str = "rev";
const TOMBSTONE_SK: &str = "tombstone";
/// The decision outbox item of a Model: `pk` its governance end, this `sk`.
const DECISION_SK: &str = "decision";
/// The approved artifact of a package: `pk` its registry end, this `sk`.
const APPROVED_ARTIFACT_SK: &str = "approved-artifact";
const ADVANCE_CONDITION: &str = "attribute_not_exists(#rev) OR #rev < :rev";

fn end_pk(end: &LinkEnd) -> String {
    match end {
        LinkEnd::Registry(arn) => format!("arn#{arn}"),
        LinkEnd::Governance(id) => format!("gov#{id}"),
        // Kept under the key it has always had, so deployed receipts stay valid.
        LinkEnd::ApprovalEmailSent(id) => format!("arn#{}", approval_email_receipt(id)),
    }
}

fn arn_link_sk(kind: LinkKind) -> String {
    format!("link#{}", kind.as_str())
}

fn ledger_pk(write: &OurWrite) -> String {
    format!("ledger#{}#{}", write.side.as_str(), write.object)
}

fn ledger_sk(write: &OurWrite) -> String {
    match write.revision {
        Some(revision) => format!("{}#{}#{revision}", write.field, write.value_hash),
        None => format!("{}#{}", write.field, write.value_hash),
    }
}

fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Clone)]
pub struct DynamoLinkStore {
    client: Client,
    table: String,
    /// The idempotency table and its record life, for transactions that complete a claim with the
    /// links they record; `None`: `commit` makes the separate calls.
    idempotency: Option<(String, std::time::Duration)>,
}

impl DynamoLinkStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            idempotency: None,
        }
    }

    /// The same store writing `commit`s as one `TransactWriteItems` over this table and the
    /// idempotency table `table` (same account and Region, as a transaction requires), whose
    /// records live `record_ttl` (as the idempotency store's). The idempotency store passed to
    /// `commit` is then not called: its table must be this one.
    pub fn with_idempotency_table(
        mut self,
        table: impl Into<String>,
        record_ttl: std::time::Duration,
    ) -> Self {
        self.idempotency = Some((table.into(), record_ttl));
        self
    }

    async fn get(
        &self,
        operation: &'static str,
        pk: String,
        sk: String,
    ) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|error| store_error(operation, &error))
    }

    /// Strongly consistent `BatchGetItem` of `keys` (pk, sk) in this table: the items found, in any
    /// order. Keys the service leaves unprocessed (throttling, size) are asked again a few times
    /// ("BatchGetItem" in the DynamoDB API reference: retry `UnprocessedKeys`), then reported as
    /// throttling.
    async fn batch_get(
        &self,
        operation: &'static str,
        keys: &[(String, String)],
    ) -> Result<Vec<Item>, StoreError> {
        let mut pending: Vec<Item> = keys
            .iter()
            .map(|(pk, sk)| Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]))
            .collect();
        let mut found = Vec::new();
        for _ in 0..3 {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|error| StoreError::Decode {
                    operation,
                    message: error.to_string(),
                })?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|error| store_error(operation, &error))?;
            if let Some(mut responses) = output.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .map(|left| left.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(found);
            }
        }
        Err(StoreError::Throttled {
            operation,
            message: format!("{} keys left unprocessed", pending.len()),
        })
    }

    fn link_put(
        &self,
        link: &Link,
        pk: String,
        sk: String,
        now: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("kind", s(link.kind.as_str()))
            .item("arn", s(link.arn.as_str()))
            .item("governance_id", s(link.governance_id.as_str()))
            .item("updated_at", s(now))
            .build()
            .map_err(|error| StoreError::Decode {
                operation: "put link",
                message: error.to_string(),
            })?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl DynamoLinkStore {
    /// When govsync last synced a registry resource or governance object: the latest `updated_at` of
    /// its links and its applied revision (what `govsync status` shows as the last sync). `None` when
    /// the table holds nothing for it.
    pub async fn last_synced_at(&self, end: &LinkEnd) -> Result<Option<DateTime<Utc>>, StoreError> {
        const OP: &str = "last synced at";
        let sort_keys = match end {
            LinkEnd::Registry(_) => vec![
                REVISION_SK.to_owned(),
                arn_link_sk(LinkKind::Model),
                arn_link_sk(LinkKind::ModelGroup),
                arn_link_sk(LinkKind::UseCase),
            ],
            LinkEnd::Governance(_) | LinkEnd::ApprovalEmailSent(_) => {
                vec![REVISION_SK.to_owned(), LINK_SK.to_owned()]
            }
        };
        let mut latest: Option<DateTime<Utc>> = None;
        for sk in sort_keys {
            let Some(item) = self.get(OP, end_pk(end), sk).await? else {
                continue;
            };
            let Some(text) = item.get("updated_at").and_then(|value| value.as_s().ok()) else {
                continue;
            };
            let at = DateTime::parse_from_rfc3339(text)
                .map_err(|error| StoreError::Decode {
                    operation: OP,
                    message: format!("updated_at {text:?}: {error}"),
                })?
                .to_utc();
            latest = latest.max(Some(at));
        }
        Ok(latest)
    }
}

fn decode_link(operation: &'static str, item: &Item) -> Result<Link, StoreError> {
    let kind_name = string_attr(operation, item, "kind")?;
    let kind = LinkKind::parse(kind_name).ok_or_else(|| StoreError::Decode {
        operation,
        message: format!("unknown link kind {kind_name:?}"),
    })?;
    Ok(Link {
        kind,
        arn: RegistryArn::parse(string_attr(operation, item, "arn")?).map_err(|error| {
            StoreError::Decode {
                operation,
                message: format!("arn: {error}"),
            }
        })?,
        governance_id: GovernanceId::parse(string_attr(operation, item, "governance_id")?)
            .map_err(|error| StoreError::Decode {
                operation,
                message: format!("governance_id: {error}"),
            })?,
    })
}

fn revision_from(operation: &'static str, item: &Item) -> Result<u64, StoreError> {
    let revision = number_attr(operation, item, "applied_rev")?;
    u64::try_from(revision).map_err(|_| StoreError::Decode {
        operation,
        message: format!("negative applied_rev {revision}"),
    })
}

fn ledger_entry_live(
    operation: &'static str,
    item: &Item,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // TTL deletion is lazy: an expired entry may still be stored.
    Ok(optional_number_attr(operation, item, "expiration")?
        .is_some_and(|expiration| expiration >= now.timestamp()))
}

impl LinkStore for DynamoLinkStore {
    async fn put_link(&self, link: &Link) -> Result<(), StoreError> {
        let now = timestamp(Utc::now());
        let by_arn = self.link_put(
            link,
            format!("arn#{}", link.arn),
            arn_link_sk(link.kind),
            &now,
        )?;
        let by_id = self.link_put(
            link,
            format!("gov#{}", link.governance_id),
            LINK_SK.to_owned(),
            &now,
        )?;
        self.client
            .transact_write_items()
            .transact_items(by_arn)
            .transact_items(by_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("put link", &error))
    }

    async fn link_by_arn(
        &self,
        kind: LinkKind,
        arn: &RegistryArn,
    ) -> Result<Option<Link>, StoreError> {
        const OP: &str = "link by ARN";
        self.get(OP, format!("arn#{arn}"), arn_link_sk(kind))
            .await?
            .map(|item| decode_link(OP, &item))
            .transpose()
    }

    async fn link_by_governance_id(&self, id: &GovernanceId) -> Result<Option<Link>, StoreError> {
        const OP: &str = "link by governance id";
        self.get(OP, format!("gov#{id}"), LINK_SK.to_owned())
            .await?
            .map(|item| decode_link(OP, &item))
            .transpose()
    }
}

impl RevisionStore for DynamoLinkStore {
    async fn advance_applied_revision(
        &self,
        end: &LinkEnd,
        revision: u64,
    ) -> Result<RevisionOutcome, StoreError> {
        const OP: &str = "advance applied revision";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(end_pk(end)))
            .key("sk", s(REVISION_SK))
            .update_expression("SET #rev = :rev, #updated_at = :now")
            .condition_expression(ADVANCE_CONDITION)
            .expression_attribute_names("#rev", "applied_rev")
            .expression_attribute_names("#updated_at", "updated_at")
            .expression_attribute_values(":rev", n(revision))
            .expression_attribute_values(":now", s(timestamp(Utc::now())))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(RevisionOutcome::Advanced),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let applied = match failed.item() {
                        Some(item) => revision_from(OP, item)?,
                        // Services that do not return the old item: read it.
                        None => self.applied_revision(end).await?.unwrap_or(revision),
                    };
                    tracing::info!(%end, revision, applied, "stale revision dropped");
                    Ok(RevisionOutcome::Stale { applied })
                }
                _ => Err(store_error(OP, &error)),
            },
        }
    }

    async fn applied_revision(&self, end: &LinkEnd) -> Result<Option<u64>, StoreError> {
        const OP: &str = "applied revision";
        self.get(OP, end_pk(end), REVISION_SK.to_owned())
            .await?
            .map(|item| revision_from(OP, &item))
            .transpose()
    }

    /// One strongly consistent `BatchGetItem` of the four items (what the single reads return).
    async fn package_state(
        &self,
        package: &ModelPackageArn,
    ) -> Result<govsync_core::ports::PackageState, StoreError> {
        Ok(self.read_package_state(package, None).await?.0)
    }

    /// One `TransactWriteItems` when the idempotency table is known; else the separate calls.
    async fn commit<I: govsync_core::ports::IdempotencyStore>(
        &self,
        idempotency: &I,
        writes: &[StoreWrite],
    ) -> Result<CommitOutcome, StoreError> {
        match &self.idempotency {
            Some((table, ttl)) => self.transact(table, *ttl, writes).await,
            None => govsync_core::ports::commit_separately(self, idempotency, writes).await,
        }
    }
}

impl DynamoLinkStore {
    /// The package state and, when `echo` is given, whether its ledger entry is live: one
    /// strongly consistent `BatchGetItem`.
    async fn read_package_state(
        &self,
        package: &ModelPackageArn,
        echo: Option<(&OurWrite, DateTime<Utc>)>,
    ) -> Result<(govsync_core::ports::PackageState, bool), StoreError> {
        const OP: &str = "package state";
        let package_pk = end_pk(&LinkEnd::Registry(package.into()));
        let group_pk = format!("arn#{}", package.group_arn().as_str());
        let mut wanted = vec![
            (package_pk.clone(), REVISION_SK.to_owned()),
            (package_pk.clone(), arn_link_sk(LinkKind::Model)),
            (group_pk.clone(), arn_link_sk(LinkKind::ModelGroup)),
            (package_pk.clone(), APPROVED_ARTIFACT_SK.to_owned()),
        ];
        if let Some((write, _)) = echo {
            wanted.push((ledger_pk(write), ledger_sk(write)));
        }
        let items = self.batch_get(OP, &wanted).await?;
        let find = |pk: &str, sk: &str| {
            items.iter().find(|item| {
                item.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(pk)
                    && item
                        .get("sk")
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                        == Some(sk)
            })
        };
        let live = match echo {
            Some((write, now)) => match find(&ledger_pk(write), &ledger_sk(write)) {
                Some(item) => ledger_entry_live(OP, item, now)?,
                None => false,
            },
            None => false,
        };
        let state = govsync_core::ports::PackageState {
            applied_revision: find(&package_pk, REVISION_SK)
                .map(|item| revision_from(OP, item))
                .transpose()?,
            model: find(&package_pk, &arn_link_sk(LinkKind::Model))
                .map(|item| decode_link(OP, item))
                .transpose()?,
            model_group: find(&group_pk, &arn_link_sk(LinkKind::ModelGroup))
                .map(|item| decode_link(OP, item))
                .transpose()?,
            approved_artifact: find(&package_pk, APPROVED_ARTIFACT_SK)
                .map(|item| decode_approved_artifact(OP, package, item))
                .transpose()?,
        };
        Ok((state, live))
    }

    /// `writes` as one `TransactWriteItems` (all or nothing; at most 100 items, each item once).
    /// A cancellation whose reasons name a failed condition is that write's typed outcome
    /// ("TransactWriteItems", DynamoDB API reference: `CancellationReasons` are in request order,
    /// `None` for the items that did not cause it).
    async fn transact(
        &self,
        idempotency_table: &str,
        record_ttl: std::time::Duration,
        writes: &[StoreWrite],
    ) -> Result<CommitOutcome, StoreError> {
        const OP: &str = "commit";
        let now = timestamp(Utc::now());
        let built = |error: aws_sdk_dynamodb::error::BuildError| StoreError::Decode {
            operation: OP,
            message: error.to_string(),
        };
        let mut items = Vec::new();
        // The write each transaction item came from (a link is two items).
        let mut origin = Vec::new();
        for (index, write) in writes.iter().enumerate() {
            match write {
                StoreWrite::CompleteClaim { key, result, now } => {
                    let put = Put::builder()
                        .table_name(idempotency_table)
                        .set_item(Some(super::idempotency::completed_item(
                            key, result, *now, record_ttl,
                        )))
                        .build()
                        .map_err(built)?;
                    items.push(TransactWriteItem::builder().put(put).build());
                    origin.push(index);
                }
                StoreWrite::RecordOurWrite { write, expires_at } => {
                    let put = Put::builder()
                        .table_name(&self.table)
                        .item("pk", s(ledger_pk(write)))
                        .item("sk", s(ledger_sk(write)))
                        .item("expiration", n(expires_at.timestamp()))
                        .build()
                        .map_err(built)?;
                    items.push(TransactWriteItem::builder().put(put).build());
                    origin.push(index);
                }
                StoreWrite::PutLink(link) => {
                    items.push(self.link_put(
                        link,
                        format!("arn#{}", link.arn),
                        arn_link_sk(link.kind),
                        &now,
                    )?);
                    items.push(self.link_put(
                        link,
                        format!("gov#{}", link.governance_id),
                        LINK_SK.to_owned(),
                        &now,
                    )?);
                    origin.extend([index, index]);
                }
                StoreWrite::AdvanceRevision { end, revision } => {
                    let update = Update::builder()
                        .table_name(&self.table)
                        .key("pk", s(end_pk(end)))
                        .key("sk", s(REVISION_SK))
                        .update_expression("SET #rev = :rev, #updated_at = :now")
                        .condition_expression(ADVANCE_CONDITION)
                        .expression_attribute_names("#rev", "applied_rev")
                        .expression_attribute_names("#updated_at", "updated_at")
                        .expression_attribute_values(":rev", n(revision))
                        .expression_attribute_values(":now", s(&now))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()
                        .map_err(built)?;
                    items.push(TransactWriteItem::builder().update(update).build());
                    origin.push(index);
                }
                StoreWrite::NoTombstone(arn) => {
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .key("pk", s(format!("arn#{arn}")))
                        .key("sk", s(TOMBSTONE_SK))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(built)?;
                    items.push(TransactWriteItem::builder().condition_check(check).build());
                    origin.push(index);
                }
                StoreWrite::ConsumeOurWrite { write, now } => {
                    // TTL deletion is lazy: an expired entry still stored is not live.
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .key("pk", s(ledger_pk(write)))
                        .key("sk", s(ledger_sk(write)))
                        .condition_expression("attribute_exists(pk) AND #expiration >= :now")
                        .expression_attribute_names("#expiration", "expiration")
                        .expression_attribute_values(":now", n(now.timestamp()))
                        .build()
                        .map_err(built)?;
                    items.push(TransactWriteItem::builder().delete(delete).build());
                    origin.push(index);
                }
            }
        }
        if items.is_empty() {
            return Ok(CommitOutcome::Committed);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(CommitOutcome::Committed),
            Err(error) => error,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        else {
            return Err(store_error(OP, &error));
        };
        let reasons = cancelled.cancellation_reasons();
        for (position, reason) in reasons.iter().enumerate() {
            if reason.code() != Some("ConditionalCheckFailed") {
                continue;
            }
            match origin.get(position).and_then(|index| writes.get(*index)) {
                Some(StoreWrite::NoTombstone(_)) => return Ok(CommitOutcome::Tombstoned),
                Some(StoreWrite::ConsumeOurWrite { .. }) => return Ok(CommitOutcome::EchoGone),
                Some(StoreWrite::AdvanceRevision { .. }) => {
                    let applied = reason
                        .item()
                        .map(|item| revision_from(OP, item))
                        .transpose()?;
                    return Ok(CommitOutcome::RevisionStale { applied });
                }
                _ => {}
            }
        }
        // Cancelled for another reason (a conflicting transaction, throttling): retry it whole.
        let codes = reasons
            .iter()
            .map(|reason| reason.code().unwrap_or("None"))
            .collect::<Vec<_>>()
            .join(",");
        let message = format!("transaction cancelled [{codes}]");
        if reasons
            .iter()
            .any(|reason| reason.code() == Some("ThrottlingError"))
        {
            return Err(StoreError::Throttled {
                operation: OP,
                message,
            });
        }
        Err(StoreError::Service {
            operation: OP,
            code: "TransactionCanceledException".to_owned(),
            message,
            retryable: true,
        })
    }
}

impl EchoLedger for DynamoLinkStore {
    async fn record_our_write(
        &self,
        write: &OurWrite,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(ledger_pk(write)))
            .item("sk", s(ledger_sk(write)))
            .item("expiration", n(expires_at.timestamp()))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("record our write", &error))
    }

    /// With the idempotency table known: the entry is read with the package state (one
    /// `BatchGetItem`) and consumed only on an echo, with the claim (`commit`).
    async fn package_state_unless_echo(
        &self,
        package: &ModelPackageArn,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> Result<EchoCheck, StoreError> {
        if self.idempotency.is_none() {
            if self.consume_our_write(write, now).await? {
                return Ok(EchoCheck::Consumed);
            }
            return Ok(EchoCheck::NotEcho(self.package_state(package).await?));
        }
        let (state, live) = self.read_package_state(package, Some((write, now))).await?;
        Ok(if live {
            EchoCheck::Live(state)
        } else {
            EchoCheck::NotEcho(state)
        })
    }

    async fn consume_our_write(
        &self,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const OP: &str = "consume our write";
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(ledger_pk(write)))
            .key("sk", s(ledger_sk(write)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|error| store_error(OP, &error))?;
        match output.attributes() {
            Some(item) => ledger_entry_live(OP, item, now),
            None => Ok(false),
        }
    }
}

impl TombstoneStore for DynamoLinkStore {
    async fn put_tombstone(&self, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("arn#{}", tombstone.arn)))
            .item("sk", s(TOMBSTONE_SK))
            .item("arn", s(tombstone.arn.as_str()))
            .item("deleted_at", s(timestamp(tombstone.deleted_at)))
            .item("note", s(&tombstone.note))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("put tombstone", &error))
    }

    async fn tombstone(&self, arn: &ModelPackageArn) -> Result<Option<Tombstone>, StoreError> {
        const OP: &str = "tombstone";
        let Some(item) = self
            .get(OP, format!("arn#{arn}"), TOMBSTONE_SK.to_owned())
            .await?
        else {
            return Ok(None);
        };
        let deleted_at = string_attr(OP, &item, "deleted_at")?;
        let deleted_at = DateTime::parse_from_rfc3339(deleted_at)
            .map_err(|error| StoreError::Decode {
                operation: OP,
                message: format!("deleted_at {deleted_at:?}: {error}"),
            })?
            .to_utc();
        Ok(Some(Tombstone {
            arn: arn.clone(),
            deleted_at,
            note: string_attr(OP, &item, "note")?.to_owned(),
        }))
    }
}

impl govsync_core::ports::DecisionOutbox for DynamoLinkStore {
    async fn save_decision(
        &self,
        decision: &govsync_core::ports::PendingDecision,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(
                "pk",
                s(end_pk(&LinkEnd::Governance(decision.model.clone()))),
            )
            .item("sk", s(DECISION_SK))
            .item("decision_id", s(&decision.decision_id))
            .item("detail", s(&decision.detail_json))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("save decision", &error))
    }

    async fn pending_decision(
        &self,
        model: &GovernanceId,
    ) -> Result<Option<govsync_core::ports::PendingDecision>, StoreError> {
        const OP: &str = "pending decision";
        let Some(item) = self
            .get(
                OP,
                end_pk(&LinkEnd::Governance(model.clone())),
                DECISION_SK.to_owned(),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(govsync_core::ports::PendingDecision {
            model: model.clone(),
            decision_id: string_attr(OP, &item, "decision_id")?.to_owned(),
            detail_json: string_attr(OP, &item, "detail")?.to_owned(),
        }))
    }

    async fn decision_published(
        &self,
        model: &GovernanceId,
        decision_id: &str,
    ) -> Result<(), StoreError> {
        const OP: &str = "decision published";
        let outcome = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(end_pk(&LinkEnd::Governance(model.clone()))))
            .key("sk", s(DECISION_SK))
            .condition_expression("decision_id = :id")
            .expression_attribute_values(":id", s(decision_id))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            // A newer decision replaced it, or it was removed already: nothing of this one is left.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(store_error(OP, &error)),
        }
    }
}

impl govsync_core::ports::ApprovedArtifacts for DynamoLinkStore {
    async fn record_approved_artifact(
        &self,
        approved: &govsync_core::ports::ApprovedArtifact,
    ) -> Result<(), StoreError> {
        let fingerprint =
            serde_json::to_string(&approved.fingerprint).map_err(|error| StoreError::Decode {
                operation: "record approved artifact",
                message: error.to_string(),
            })?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item(
                "pk",
                s(end_pk(&LinkEnd::Registry((&approved.package_arn).into()))),
            )
            .item("sk", s(APPROVED_ARTIFACT_SK))
            .item("model_id", s(approved.model.as_str()))
            .item("decision_id", s(&approved.decision_id))
            .item("fingerprint", s(fingerprint))
            .item(
                "approved_at",
                s(approved
                    .approved_at
                    .to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|error| store_error("record approved artifact", &error))
    }

    async fn approved_artifact(
        &self,
        package: &ModelPackageArn,
    ) -> Result<Option<govsync_core::ports::ApprovedArtifact>, StoreError> {
        const OP: &str = "approved artifact";
        let Some(item) = self
            .get(
                OP,
                end_pk(&LinkEnd::Registry(package.into())),
                APPROVED_ARTIFACT_SK.to_owned(),
            )
            .await?
        else {
            return Ok(None);
        };
        decode_approved_artifact(OP, package, &item).map(Some)
    }
}

fn decode_approved_artifact(
    operation: &'static str,
    package: &ModelPackageArn,
    item: &Item,
) -> Result<govsync_core::ports::ApprovedArtifact, StoreError> {
    let decode = |message: String| StoreError::Decode { operation, message };
    let fingerprint = serde_json::from_str(string_attr(operation, item, "fingerprint")?)
        .map_err(|error| decode(format!("fingerprint: {error}")))?;
    let approved_at = DateTime::parse_from_rfc3339(string_attr(operation, item, "approved_at")?)
        .map_err(|error| decode(format!("approved_at: {error}")))?
        .with_timezone(&Utc);
    Ok(govsync_core::ports::ApprovedArtifact {
        package_arn: package.clone(),
        model: GovernanceId::parse(string_attr(operation, item, "model_id")?)
            .map_err(|error| decode(format!("model_id: {error}")))?,
        decision_id: string_attr(operation, item, "decision_id")?.to_owned(),
        fingerprint,
        approved_at,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::TimeZone;
    use govsync_core::ports::WriteSide;

    use super::*;

    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit/1";

    const GROUP_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/credit";

    fn arn() -> RegistryArn {
        RegistryArn::parse(ARN).unwrap_or_else(|error| panic!("{error}"))
    }

    fn group_arn() -> RegistryArn {
        RegistryArn::parse(GROUP_ARN).unwrap_or_else(|error| panic!("{error}"))
    }

    fn gid(id: &str) -> GovernanceId {
        GovernanceId::parse(id).unwrap_or_else(|error| panic!("{error}"))
    }

    #[tokio::test]
    async fn put_link_writes_both_directions_in_one_transaction() {
        let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .match_requests(|request| {
                let keys: Vec<(String, String)> = request
                    .transact_items()
                    .iter()
                    .filter_map(|item| item.put())
                    .filter_map(|put| {
                        let pk = put.item().get("pk")?.as_s().ok()?.clone();
                        let sk = put.item().get("sk")?.as_s().ok()?.clone();
                        Some((pk, sk))
                    })
                    .collect();
                keys == vec![
                    (format!("arn#{ARN}"), "link#model".to_owned()),
                    ("gov#4711".to_owned(), "link".to_owned()),
                ]
            })
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&transact]);
        let store = DynamoLinkStore::new(client, "govsync-links");
        store
            .put_link(&Link {
                kind: LinkKind::Model,
                arn: arn(),
                governance_id: gid("4711"),
            })
            .await
            .unwrap();
        assert_eq!(transact.num_calls(), 1);
    }

    #[tokio::test]
    async fn link_is_found_by_arn_and_kind() {
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|request| {
                request.key().and_then(|key| key.get("sk")) == Some(&s("link#use_case"))
            })
            .then_output(|| {
                GetItemOutput::builder()
                    .set_item(Some(HashMap::from([
                        ("kind".to_owned(), s("use_case")),
                        ("arn".to_owned(), s(GROUP_ARN)),
                        ("governance_id".to_owned(), s("12")),
                    ])))
                    .build()
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&get]);
        let store = DynamoLinkStore::new(client, "t");
        let link = store
            .link_by_arn(LinkKind::UseCase, &group_arn())
            .await
            .unwrap();
        assert_eq!(
            link,
            Some(Link {
                kind: LinkKind::UseCase,
                arn: group_arn(),
                governance_id: gid("12"),
            })
        );
    }

    #[tokio::test]
    async fn newer_revision_advances_with_a_conditional_update() {
        let update = mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(|request| {
                request.condition_expression() == Some(ADVANCE_CONDITION)
                    && request.key().and_then(|key| key.get("pk")) == Some(&s(format!("arn#{ARN}")))
                    && request
                        .expression_attribute_values()
                        .and_then(|values| values.get(":rev"))
                        == Some(&n(17))
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&update]);
        let store = DynamoLinkStore::new(client, "t");
        let outcome = store
            .advance_applied_revision(&LinkEnd::Registry(arn()), 17)
            .await
            .unwrap();
        assert_eq!(outcome, RevisionOutcome::Advanced);
    }

    #[tokio::test]
    async fn stale_revision_is_an_outcome_carrying_the_applied_one() {
        let update = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .item("applied_rev", n(20))
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&update]);
        let store = DynamoLinkStore::new(client, "t");
        let outcome = store
            .advance_applied_revision(&LinkEnd::Governance(gid("9")), 17)
            .await
            .unwrap();
        assert_eq!(outcome, RevisionOutcome::Stale { applied: 20 });
    }

    #[tokio::test]
    async fn expired_ledger_entry_does_not_match_even_if_still_stored() {
        let now = Utc
            .timestamp_opt(1_700_000_000, 0)
            .single()
            .unwrap_or_default();
        let write = OurWrite::new(WriteSide::Registry, ARN, "ModelApprovalStatus", "Approved");
        let expected_sk = format!("ModelApprovalStatus#{}", write.value_hash);
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
            .match_requests(move |request| {
                request.key().and_then(|key| key.get("sk")) == Some(&s(expected_sk.clone()))
                    && request.return_values() == Some(&ReturnValue::AllOld)
            })
            .sequence()
            .output(|| {
                DeleteItemOutput::builder()
                    .attributes("expiration", n(1_699_999_999))
                    .build()
            })
            .output(|| {
                DeleteItemOutput::builder()
                    .attributes("expiration", n(1_700_000_100))
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&delete]);
        let store = DynamoLinkStore::new(client, "t");
        assert!(!store.consume_our_write(&write, now).await.unwrap());
        assert!(store.consume_our_write(&write, now).await.unwrap());
    }

    #[tokio::test]
    async fn validation_error_from_the_table_is_permanent() {
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item).then_error(|| {
            DeleteItemError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("One or more parameter values were invalid")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&delete]);
        let store = DynamoLinkStore::new(client, "t");
        let write = OurWrite::new(WriteSide::Governance, "9", "MRG-Model:Status", "Approved");
        let error = store
            .consume_our_write(&write, Utc::now())
            .await
            .unwrap_err();
        assert!(!error.is_retryable(), "{error:?}");
    }
}
