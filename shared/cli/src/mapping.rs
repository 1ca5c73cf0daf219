//! `govsync mapping validate FILE` and `govsync mapping show [--file FILE]`: the status mapping spec
//! ([`govsync_core::MappingSpec`], validated exactly as the functions load it).

use std::path::Path;

use govsync_core::MappingSpec;
use govsync_core::field_mapping::Fact;
use govsync_core::mapping::{Direction, MappingRow, StageTarget, UNCHANGED_STAGE};
use serde_json::{Value, json};

use crate::cli::MappingCommand;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;

/// The variable the functions read a tenant's spec from.
pub const MAPPING_FILE_VAR: &str = "GOVSYNC_MAPPING_FILE";

pub fn run(command: &MappingCommand, json: bool) -> Result<Exit, CliError> {
    match command {
        MappingCommand::Validate { file } => validate(file, json),
        MappingCommand::Show { file } => {
            let from_env = std::env::var(MAPPING_FILE_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty());
            let (spec, source) = effective(file.as_deref(), from_env.as_deref())?;
            if json {
                output::print_json(&to_json(&spec, &source));
            } else {
                output::print(&render(&spec, &source));
            }
            Ok(Exit::Ok)
        }
    }
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|error| CliError::Read {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

/// Validates a spec file: exit 0 with a summary, or exit 1 naming the offending row.
fn validate(path: &Path, json: bool) -> Result<Exit, CliError> {
    let text = read(path)?;
    match MappingSpec::parse(&text) {
        Ok(spec) => {
            let both = spec
                .rows()
                .iter()
                .filter(|row| row.direction == Direction::Both)
                .count();
            if json {
                output::print_json(&json!({
                    "file": path.display().to_string(),
                    "valid": true,
                    "rows": spec.rows().len(),
                    "both_rows": both,
                }));
            } else {
                output::print(&format!(
                    "{}: valid mapping spec, {} rows ({} both ways)\n",
                    path.display(),
                    spec.rows().len(),
                    both
                ));
            }
            Ok(Exit::Ok)
        }
        Err(error) => {
            if json {
                output::print_json(&json!({
                    "file": path.display().to_string(),
                    "valid": false,
                    "error": error.to_string(),
                }));
            }
            Err(CliError::InvalidMapping {
                path: path.display().to_string(),
                error,
            })
        }
    }
}

/// The spec the functions would use: `file`, else `from_env` (GOVSYNC_MAPPING_FILE), else built-in.
pub fn effective(
    file: Option<&Path>,
    from_env: Option<&str>,
) -> Result<(MappingSpec, String), CliError> {
    let path = file
        .map(Path::to_path_buf)
        .or_else(|| from_env.map(std::path::PathBuf::from));
    match path {
        None => MappingSpec::builtin()
            .map(|spec| (spec, "built-in".to_owned()))
            .map_err(|error| CliError::InvalidMapping {
                path: "built-in".to_owned(),
                error,
            }),
        Some(path) => {
            let text = read(&path)?;
            MappingSpec::parse(&text)
                .map(|spec| (spec, path.display().to_string()))
                .map_err(|error| CliError::InvalidMapping {
                    path: path.display().to_string(),
                    error,
                })
        }
    }
}

fn stage_text(row: &MappingRow) -> String {
    match &row.target.stage {
        StageTarget::Unchanged => UNCHANGED_STAGE.to_owned(),
        StageTarget::Set(stage) => stage.as_str().to_owned(),
    }
}

pub fn to_json(spec: &MappingSpec, source: &str) -> Value {
    json!({
        "source": source,
        "version": govsync_core::mapping::SPEC_VERSION,
        "rows": spec.rows().iter().map(|row| json!({
            "row": row.number,
            "governance_status": row.governance_status.as_str(),
            "stage": stage_text(row),
            "stage_status": row.target.stage_status.as_str(),
            "approval": row.target.approval.as_str(),
            "direction": row.direction.as_str(),
        })).collect::<Vec<_>>(),
        "fields": Fact::ALL.iter().map(|fact| (fact.key().to_owned(), json!(spec.fields().field(*fact).unwrap_or("")))).chain([(
            "user_metadata_keys".to_owned(),
            json!(spec.fields().user_metadata_keys()),
        )]).collect::<serde_json::Map<_, _>>(),
    })
}

pub fn render(spec: &MappingSpec, source: &str) -> String {
    let rows: Vec<Vec<String>> = spec
        .rows()
        .iter()
        .map(|row| {
            vec![
                row.number.to_string(),
                row.governance_status.as_str().to_owned(),
                stage_text(row),
                row.target.stage_status.as_str().to_owned(),
                row.target.approval.as_str().to_owned(),
                row.direction.as_str().to_owned(),
            ]
        })
        .collect();
    let fields: Vec<Vec<String>> = Fact::ALL
        .iter()
        .map(|fact| {
            vec![
                fact.key().to_owned(),
                spec.fields()
                    .field(*fact)
                    .unwrap_or("(not sent)")
                    .to_owned(),
            ]
        })
        .collect();
    let keys = spec.fields().user_metadata_keys();
    format!(
        "status mapping ({source}, version {}):\n{}\nregistry facts → Model fields:\n{}data scientist's keys sent: {}\n",
        govsync_core::mapping::SPEC_VERSION,
        output::table(
            &[
                "#",
                "governance status",
                "stage",
                "stage status",
                "approval",
                "direction"
            ],
            &rows
        ),
        output::table(&["fact", "governance field"], &fields),
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_mapping_is_the_built_in_one_without_a_file() {
        let Ok((spec, source)) = effective(None, None) else {
            panic!("the built-in spec loads")
        };
        assert_eq!(source, "built-in");
        let text = render(&spec, &source);
        assert!(text.starts_with("status mapping (built-in, version 1):\n#"));
        assert!(text.contains("Under Development"));
        let value = to_json(&spec, &source);
        assert_eq!(
            value["rows"].as_array().map(Vec::len),
            Some(spec.rows().len())
        );
        assert_eq!(value["rows"][2]["direction"], "both");
        assert_eq!(value["fields"]["domain"], "MRG-Model:Domain");
        assert_eq!(value["fields"]["user_metadata_keys"], json!([]));
        assert!(text.contains("lineage") && text.contains("MRG-Model:Lineage"));
        assert!(text.ends_with("data scientist's keys sent: none\n"));
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        assert!(matches!(
            effective(None, Some("/nonexistent/mapping.toml")),
            Err(CliError::Read { .. })
        ));
    }
}
