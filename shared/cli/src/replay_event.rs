//! `govsync replay-event FILE`: the local runner's replay ([`govsync_local_runner::replay::replay_event`]):
//! the event goes on the registry queue as its EventBridge rule would put it, registry-events runs on
//! it, and the result — processed or quarantined (with the DLQ's reason), and the governance objects for
//! its package and group — is printed. For the local stack (it reads governance as the emulator's user).

use std::time::Duration;

use govsync_local_runner::replay::{ReplayOutcome, ReplayRequest, replay_event};

use crate::cli::ReplayEventArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;

pub async fn run(args: &ReplayEventArgs, json: bool) -> Result<Exit, CliError> {
    if !json {
        eprintln!(
            "replaying {} on {} (waiting up to {} s)",
            args.file.display(),
            args.queue,
            args.timeout
        );
    }
    let report = replay_event(&ReplayRequest {
        file: args.file.clone(),
        queue: args.queue.clone(),
        function_timeout: Duration::from_secs(args.function_timeout),
        wait: Duration::from_secs(args.timeout),
    })
    .await?;
    if json {
        output::print_json(&report.json);
    } else {
        output::print(&render(&report.json));
    }
    Ok(exit_of(report.outcome))
}

pub fn exit_of(outcome: ReplayOutcome) -> Exit {
    match outcome {
        ReplayOutcome::Processed => Exit::Ok,
        ReplayOutcome::Quarantined | ReplayOutcome::NotProcessedInTime => Exit::NotProcessed,
    }
}

/// The readable result: outcome, message, note, then what governance holds.
pub fn render(report: &serde_json::Value) -> String {
    let text = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let governance = report
        .get("governance")
        .map(|g| serde_json::to_string_pretty(g).unwrap_or_default())
        .unwrap_or_default();
    format!(
        "outcome: {}\nmessage: {} (group {})\npackage: {}\nnote: {}\ngovernance:\n{}\n",
        text("/outcome"),
        text("/message_id"),
        text("/message_group_id"),
        text("/event/package_arn"),
        text("/note"),
        governance
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_processed_event_exits_0() {
        assert_eq!(exit_of(ReplayOutcome::Processed), Exit::Ok);
        assert_eq!(exit_of(ReplayOutcome::Quarantined), Exit::NotProcessed);
        assert_eq!(
            exit_of(ReplayOutcome::NotProcessedInTime),
            Exit::NotProcessed
        );
    }

    #[test]
    fn the_readable_result_names_outcome_message_and_note() {
        let text = render(&serde_json::json!({
            "outcome": "quarantined",
            "message_id": "m-1",
            "message_group_id": "registry-events",
            "event": {"package_arn": null},
            "note": "the message was quarantined in the DLQ: …",
            "governance": {"model": null},
        }));
        assert!(text.starts_with(
            "outcome: quarantined\nmessage: m-1 (group registry-events)\npackage: -\n"
        ));
        assert!(text.contains("note: the message was quarantined"));
        assert!(text.contains("\"model\": null"));
    }
}
