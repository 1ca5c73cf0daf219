//! The environment the commands read: the functions' own variables, completed from an env file
//! (`--env-file FILE`, else `GOVSYNC_ENV_FILE`). Variables already set win, so a file sets defaults and a
//! caller overrides one of them by exporting it. Against a deployment, set the variables the functions
//! have (`infra/template.yaml`) or keep them in such a file; on the local stack, `local/stack.sh up`
//! writes the reconciler's environment to `.local/stack/govsync.env` and points `GOVSYNC_ENV_FILE` at
//! it from `stack.env`.

use std::path::{Path, PathBuf};

use crate::cli::Cli;
use crate::error::CliError;

/// The variable naming the default env file.
pub const ENV_FILE_VAR: &str = "GOVSYNC_ENV_FILE";

/// The env file that applies: `--env-file`, else `GOVSYNC_ENV_FILE` when set and non-blank.
pub fn env_file_of(cli: &Cli, lookup: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    cli.env_file.clone().or_else(|| {
        lookup(ENV_FILE_VAR)
            .filter(|path| !path.trim().is_empty())
            .map(PathBuf::from)
    })
}

/// Sets the env file's variables that are not set yet. Call before any thread exists.
pub fn prepare(cli: &Cli) -> Result<(), CliError> {
    let Some(path) = env_file_of(cli, |name| std::env::var(name).ok()) else {
        return Ok(());
    };
    for (name, value) in read_env_file(&path)? {
        if std::env::var_os(&name).is_none() {
            // SAFETY: called from main before the async runtime or any other thread exists.
            unsafe { std::env::set_var(name, value) };
        }
    }
    Ok(())
}

pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|error| CliError::EnvFile {
        path: path.display().to_string(),
        problem: error.to_string(),
    })?;
    parse_env_file(&text).map_err(|problem| CliError::EnvFile {
        path: path.display().to_string(),
        problem,
    })
}

/// `NAME=value` lines; `export ` before the name, blank lines and `#` comments are allowed; a value may
/// be single-quoted (with `'\''` for a quote, as shells write it), double-quoted, or bare.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut variables = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected NAME=value", number + 1))?;
        let valid_name = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(format!(
                "line {}: {name:?} is not a variable name",
                number + 1
            ));
        }
        let value =
            unquote(value).ok_or_else(|| format!("line {}: unbalanced quotes", number + 1))?;
        variables.push((name.to_owned(), value));
    }
    Ok(variables)
}

fn unquote(value: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    other => out.push(other),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => out.push(chars.next()?),
                    other => out.push(other),
                }
            },
            '\\' => out.push(chars.next()?),
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_quoted_and_bare_values_are_read_as_a_shell_would() {
        let text =
            "# the local stack\nexport A=plain\nB='it'\\''s [1]'\n\nexport C=\"x \\\"y\\\"\"\nD=\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            [
                ("A".to_owned(), "plain".to_owned()),
                ("B".to_owned(), "it's [1]".to_owned()),
                ("C".to_owned(), "x \"y\"".to_owned()),
                ("D".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        assert_eq!(
            parse_env_file("A=1\nnot a line\n").unwrap_err(),
            "line 2: expected NAME=value"
        );
        assert!(
            parse_env_file("1A=x")
                .unwrap_err()
                .contains("not a variable name")
        );
        assert!(
            parse_env_file("A='open")
                .unwrap_err()
                .contains("unbalanced")
        );
    }

    #[test]
    fn the_option_wins_over_the_variable() {
        use clap::Parser;
        let with_option = Cli::parse_from(["govsync", "--env-file", "a.env", "status"]);
        let without = Cli::parse_from(["govsync", "status"]);
        let lookup = |name: &str| (name == ENV_FILE_VAR).then(|| "b.env".to_owned());
        assert_eq!(
            env_file_of(&with_option, lookup),
            Some(PathBuf::from("a.env"))
        );
        assert_eq!(env_file_of(&without, lookup), Some(PathBuf::from("b.env")));
        assert_eq!(env_file_of(&without, |_| None), None);
    }
}
