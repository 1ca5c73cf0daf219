//! Keeps SQS FIFO's order within a message group when moto redelivers.
//!
//! Real SQS FIFO hands a group's messages back in their original order once the first one's visibility
//! timeout ends. moto 5.2.5 does not when two or more messages of one group were left in the queue
//! together: its receive loop frees the group's lock only while walking past the *later* messages, so it
//! skips the first one and returns a later one first. The runner avoids that by making the later messages
//! visible at once (ChangeMessageVisibility 0) when a batch leaves them: they are still blocked behind the
//! first, in-flight message of their group (on SQS as on moto), so nothing is delivered earlier than SQS
//! would, receive counts are not inflated, and the group comes back in order. On real SQS this changes
//! nothing observable; Lambda itself never changes visibility.

use std::collections::HashSet;

/// Of the messages a batch leaves in the queue (`(id, group)` in batch order), the positions of those
/// behind an earlier left message of the same group.
pub fn behind_earlier_in_group<'a>(
    left: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Vec<usize> {
    let mut groups_seen: HashSet<&str> = HashSet::new();
    left.into_iter()
        .enumerate()
        .filter_map(|(position, (_id, group))| {
            let group = group?;
            (!groups_seen.insert(group)).then_some(position)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_left_message_of_each_group_keeps_its_visibility() {
        let left = [
            ("b", Some("g")),
            ("x", Some("h")),
            ("c", Some("g")),
            ("d", Some("g")),
            ("y", Some("h")),
        ];
        assert_eq!(behind_earlier_in_group(left), [2, 3, 4]);
    }

    #[test]
    fn single_failures_and_standard_queue_messages_are_untouched() {
        assert!(behind_earlier_in_group([("b", Some("g")), ("x", Some("h"))]).is_empty());
        assert!(behind_earlier_in_group([("m1", None), ("m2", None)]).is_empty());
    }
}
