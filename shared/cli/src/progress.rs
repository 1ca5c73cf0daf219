//! Progress of a reconcile run on stderr, one line per registry and per group compared:
//! `[3/10] group credit-risk: 2 packages checked, 1 drift`. stdout keeps only the report.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use govsync_core::Registry;
use govsync_core::reconcile::{GovernanceInventory, GroupSnapshot};
use govsync_reconciler::{DriftRecord, RegistryServing, RunObserver, ServingRecord};

/// The line for a listed registry.
pub fn registry_line(index: usize, registries: usize, registry: &str, groups: usize) -> String {
    format!(
        "registry {}/{registries} {registry}: {groups} group{} to compare",
        index + 1,
        if groups == 1 { "" } else { "s" }
    )
}

/// The line for a compared group.
pub fn group_line(
    done: usize,
    total: usize,
    group: &str,
    packages: usize,
    drifts: usize,
) -> String {
    format!(
        "[{done}/{total}] group {group}: {packages} package{} checked, {drifts} drift{}",
        if packages == 1 { "" } else { "s" },
        if drifts == 1 { "" } else { "s" }
    )
}

/// The line for a registry's endpoints judged.
pub fn serving_line(registry: &str, endpoints: usize, findings: usize, unread: bool) -> String {
    format!(
        "registry {registry}: {endpoints} endpoint{} judged, {findings} finding{}{}",
        if endpoints == 1 { "" } else { "s" },
        if findings == 1 { "" } else { "s" },
        if unread {
            " (some endpoints not read)"
        } else {
            ""
        }
    )
}

/// Prints progress lines on stderr (or nothing when quiet).
#[derive(Debug, Default)]
pub struct Progress {
    quiet: bool,
    done: AtomicUsize,
    total: AtomicUsize,
    lines: Mutex<()>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            ..Self::default()
        }
    }

    fn say(&self, line: &str) {
        if self.quiet {
            return;
        }
        // One line at a time: groups finish concurrently.
        let _guard = self.lines.lock();
        eprintln!("{line}");
    }
}

impl RunObserver for Progress {
    fn inventory_read(&self, inventory: &GovernanceInventory) {
        self.say(&format!(
            "governance inventory read: {} models",
            inventory.model_count()
        ));
    }

    fn registry_listed(&self, index: usize, registries: usize, registry: &Registry, groups: usize) {
        self.done.store(0, Ordering::SeqCst);
        self.total.store(groups, Ordering::SeqCst);
        let label = format!("{}/{}", registry.account, registry.region);
        self.say(&registry_line(index, registries, &label, groups));
    }

    fn group_compared(&self, _registry: &Registry, group: &GroupSnapshot, records: &[DriftRecord]) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let total = self.total.load(Ordering::SeqCst).max(done);
        self.say(&group_line(
            done,
            total,
            &group.name,
            group.packages.len(),
            records.len(),
        ));
    }

    fn registry_done(&self, registry: &Registry, records: &[DriftRecord]) {
        if !records.is_empty() {
            self.say(&format!(
                "registry {}/{}: {} drift{} in groups that are gone",
                registry.account,
                registry.region,
                records.len(),
                if records.len() == 1 { "" } else { "s" }
            ));
        }
    }

    fn endpoints_judged(
        &self,
        registry: &Registry,
        serving: &RegistryServing,
        records: &[ServingRecord],
    ) {
        let label = format!("{}/{}", registry.account, registry.region);
        self.say(&serving_line(
            &label,
            serving.endpoints.len(),
            records.len(),
            serving.unread.is_some(),
        ));
    }

    fn deployments_judged(&self, records: &[DriftRecord]) {
        self.say(&format!(
            "deployments: {} model{} out of step",
            records.len(),
            if records.len() == 1 { "" } else { "s" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_count_groups_packages_and_drifts() {
        assert_eq!(
            group_line(3, 10, "credit-risk", 2, 1),
            "[3/10] group credit-risk: 2 packages checked, 1 drift"
        );
        assert_eq!(
            group_line(1, 1, "g", 1, 0),
            "[1/1] group g: 1 package checked, 0 drifts"
        );
        assert_eq!(
            registry_line(0, 2, "123456789012/us-east-1", 10),
            "registry 1/2 123456789012/us-east-1: 10 groups to compare"
        );
        assert_eq!(
            serving_line("123456789012/us-east-1", 1, 2, true),
            "registry 123456789012/us-east-1: 1 endpoint judged, 2 findings (some endpoints not read)"
        );
    }
}
