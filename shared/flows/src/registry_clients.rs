//! The registry port of each registry in the map, found by (account, region): a flow acts on a package
//! through the client of the registry that owns it.

use std::collections::HashMap;
use std::sync::Arc;

use govsync_core::{AccountId, Region, Registry};

pub struct RegistryClients<R> {
    by_registry: HashMap<(AccountId, Region), Arc<R>>,
}

impl<R> RegistryClients<R> {
    /// One client per entry of the registry map.
    pub fn new(clients: Vec<(Registry, Arc<R>)>) -> Self {
        Self {
            by_registry: clients
                .into_iter()
                .map(|(registry, client)| ((registry.account, registry.region), client))
                .collect(),
        }
    }

    /// The client of the registry in `account` and `region`; `None` when the map has no such registry.
    pub fn get(&self, account: &AccountId, region: &Region) -> Option<&Arc<R>> {
        self.by_registry.get(&(account.clone(), region.clone()))
    }
}
