//! The groups a broker runs, by id, so that incoming RPCs find their group.

use std::collections::BTreeMap;
use std::sync::RwLock;

use openraft::Raft;

use cairn_storage::{GroupId, GroupTypeConfig};

/// Running Raft groups of one type config, with an owner-defined handle each.
pub struct GroupRegistry<C: GroupTypeConfig, H> {
    groups: RwLock<BTreeMap<GroupId, (Raft<C>, H)>>,
}

impl<C: GroupTypeConfig, H: Clone> Default for GroupRegistry<C, H> {
    fn default() -> Self {
        Self {
            groups: RwLock::default(),
        }
    }
}

impl<C: GroupTypeConfig, H: Clone> GroupRegistry<C, H> {
    /// The Raft node of `group`, if it runs here.
    pub fn raft(&self, group: GroupId) -> Option<Raft<C>> {
        self.groups
            .read()
            .expect("registry lock")
            .get(&group)
            .map(|(raft, _)| raft.clone())
    }

    /// The Raft node and handle of `group`, if it runs here.
    pub fn get(&self, group: GroupId) -> Option<(Raft<C>, H)> {
        self.groups
            .read()
            .expect("registry lock")
            .get(&group)
            .cloned()
    }

    /// Registers a started group; returns the one it replaced, if any.
    pub fn insert(&self, group: GroupId, raft: Raft<C>, handle: H) -> Option<(Raft<C>, H)> {
        self.groups
            .write()
            .expect("registry lock")
            .insert(group, (raft, handle))
    }

    /// Removes `group` from routing (the caller shuts it down).
    pub fn remove(&self, group: GroupId) -> Option<(Raft<C>, H)> {
        self.groups.write().expect("registry lock").remove(&group)
    }

    /// Ids of every running group, ascending.
    pub fn ids(&self) -> Vec<GroupId> {
        self.groups
            .read()
            .expect("registry lock")
            .keys()
            .copied()
            .collect()
    }

    /// Every running group, ascending by id.
    pub fn all(&self) -> Vec<(GroupId, Raft<C>, H)> {
        let groups = self.groups.read().expect("registry lock");
        groups
            .iter()
            .map(|(id, (raft, h))| (*id, raft.clone(), h.clone()))
            .collect()
    }

    /// How many groups run.
    pub fn len(&self) -> usize {
        self.groups.read().expect("registry lock").len()
    }

    /// Whether no group runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
