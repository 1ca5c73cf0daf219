//! The exit codes `govsync` ends with, for scripts (also in `govsync --help`).

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done; no drift (or every drift repaired); the mapping is valid; every message moved.
    Ok,
    /// 1: an error: configuration, a remote call, a file, an invalid mapping, a message not moved.
    Error,
    /// 2: a usage error (unknown command or option, missing argument).
    Usage,
    /// 3: drift: found by `status` or `reconcile --dry-run`, or left unrepaired by `reconcile`
    /// (a failed repair, one that needs a person, or a run cut off by its deadline).
    Drift,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::Drift => 3,
        }
    }
}

/// The exit codes as `govsync --help` shows them.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  done: no drift (or all repaired), mapping valid, every message moved
  1  error: configuration, a remote call, a file, an invalid mapping, a message not moved
  2  usage error
  3  drift: found by `status` / `reconcile --dry-run`, or left unrepaired by `reconcile`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_has_its_own_code_and_the_help_lists_it() {
        let all = [Exit::Ok, Exit::Error, Exit::Usage, Exit::Drift];
        let codes: std::collections::BTreeSet<u8> = all.iter().map(|exit| exit.code()).collect();
        assert_eq!(codes.len(), all.len());
        for exit in all {
            assert!(
                EXIT_CODES_HELP.contains(&format!("  {}  ", exit.code())),
                "{exit:?}"
            );
        }
    }
}
