//! Snapshots and deltas: the state an agent last had acknowledged, and the
//! difference to what it observes now.

use std::collections::BTreeMap;

use rampart_model::agent::{Entity, EntityRef, HostFacts};

/// Everything one collection observed: the host and its entities by kind and key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub host: Option<HostFacts>,
    pub entities: BTreeMap<EntityRef, Entity>,
}

impl State {
    /// A state from a host and entities (a later entity with the same key wins).
    #[must_use]
    pub fn new(host: HostFacts, entities: impl IntoIterator<Item = Entity>) -> Self {
        State {
            host: Some(host),
            entities: entities.into_iter().map(|e| (e.entity_ref(), e)).collect(),
        }
    }
}

/// What a report carries besides its header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    /// The host facts, when they changed (always in a snapshot).
    pub host: Option<HostFacts>,
    pub upsert: Vec<Entity>,
    pub remove: Vec<EntityRef>,
}

impl Delta {
    /// Nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.upsert.is_empty() && self.remove.is_empty()
    }
}

/// The full snapshot of a state.
#[must_use]
pub fn snapshot(state: &State) -> Delta {
    Delta {
        host: state.host.clone(),
        upsert: state.entities.values().cloned().collect(),
        remove: Vec::new(),
    }
}

/// What changed from `base` to `new`: entities added or different, entities
/// gone, the host when different. Both maps are sorted, so one merge pass.
#[must_use]
pub fn diff(base: &State, new: &State) -> Delta {
    let mut d = Delta {
        host: if base.host == new.host {
            None
        } else {
            new.host.clone()
        },
        ..Delta::default()
    };
    let mut old = base.entities.iter().peekable();
    let mut cur = new.entities.iter().peekable();
    loop {
        match (old.peek(), cur.peek()) {
            (None, None) => break,
            (Some((k, _)), None) => {
                d.remove.push((*k).clone());
                old.next();
            }
            (None, Some((_, e))) => {
                d.upsert.push((*e).clone());
                cur.next();
            }
            (Some((ko, eo)), Some((kn, en))) => match ko.cmp(kn) {
                std::cmp::Ordering::Less => {
                    d.remove.push((*ko).clone());
                    old.next();
                }
                std::cmp::Ordering::Greater => {
                    d.upsert.push((*en).clone());
                    cur.next();
                }
                std::cmp::Ordering::Equal => {
                    if eo != en {
                        d.upsert.push((*en).clone());
                    }
                    old.next();
                    cur.next();
                }
            },
        }
    }
    d
}

/// Applies a delta to a state, as the console does.
#[must_use]
pub fn apply(base: &State, delta: &Delta) -> State {
    let mut s = base.clone();
    if let Some(h) = &delta.host {
        s.host = Some(h.clone());
    }
    for r in &delta.remove {
        s.entities.remove(r);
    }
    for e in &delta.upsert {
        s.entities.insert(e.entity_ref(), e.clone());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rampart_model::agent::{OsInfo, Pod, Process};

    fn host(name: &str) -> HostFacts {
        HostFacts {
            machine_id: "m".into(),
            hostname: name.into(),
            os: OsInfo::default(),
            kernel: "6".into(),
            arch: "x86_64".into(),
            cpus: 2,
            memory_bytes: 1,
            boot_time: 0,
            interfaces: vec![],
            cloud: None,
        }
    }

    fn entity(kind: u8, key: u8, version: u8) -> Entity {
        if kind.is_multiple_of(2) {
            Entity::Process(Process {
                key: format!("{key}:1"),
                pid: u32::from(key),
                ppid: u32::from(version),
                name: "p".into(),
                exe: None,
                cmdline: vec![],
                uid: 0,
                user: None,
                start_time: 0,
                container_id: None,
            })
        } else {
            Entity::Pod(Pod {
                key: format!("pod-{key}"),
                name: Some(format!("v{version}")),
                namespace: None,
                labels: BTreeMap::new(),
            })
        }
    }

    fn state(h: &str, items: &[(u8, u8, u8)]) -> State {
        State::new(
            host(h),
            items.iter().map(|(k, key, v)| entity(*k, *key, *v)),
        )
    }

    #[test]
    fn unchanged_state_is_an_empty_delta() {
        let s = state("a", &[(0, 1, 1), (1, 2, 1)]);
        assert!(diff(&s, &s).is_empty());
        let snap = snapshot(&s);
        assert_eq!(snap.upsert.len(), 2);
        assert_eq!(apply(&State::default(), &snap), s);
    }

    #[test]
    fn changes_removals_and_host() {
        let a = state("a", &[(0, 1, 1), (1, 2, 1), (0, 3, 1)]);
        let b = state("b", &[(0, 1, 2), (1, 2, 1), (1, 4, 1)]);
        let d = diff(&a, &b);
        assert_eq!(d.host.as_ref().map(|h| h.hostname.as_str()), Some("b"));
        assert_eq!(d.upsert.len(), 2);
        assert_eq!(d.remove, vec![entity(0, 3, 1).entity_ref()]);
    }

    proptest! {
        #[test]
        fn applying_the_delta_to_the_base_yields_the_new_state(
            a in proptest::collection::vec((0u8..2, 0u8..20, 0u8..3), 0..30),
            b in proptest::collection::vec((0u8..2, 0u8..20, 0u8..3), 0..30),
            ha in "[ab]", hb in "[ab]",
        ) {
            let (sa, sb) = (state(&ha, &a), state(&hb, &b));
            let d = diff(&sa, &sb);
            prop_assert_eq!(&apply(&sa, &d), &sb);
            // Minimal: nothing upserted that was already equal, nothing removed that exists.
            for e in &d.upsert {
                prop_assert_ne!(sa.entities.get(&e.entity_ref()), Some(e));
            }
            for r in &d.remove {
                prop_assert!(!sb.entities.contains_key(r));
            }
        }
    }
}
