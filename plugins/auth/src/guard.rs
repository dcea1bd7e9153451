//! The guard's memory: the users, sessions and keys that credential checks
//! read, kept between requests so that an authenticated request costs no store
//! query, and forgotten as a whole by every change to them.
//!
//! Rules that keep it from ever outliving a change:
//! - it holds only what the store answered (never a verdict: every hit is
//!   checked again, signature, secret, expiry, status and token version);
//! - every write of the service that touches users, sessions or keys holds a
//!   [`Change`] across the write, which forgets everything when it starts and
//!   again when it ends, also when the write's future is dropped part-way;
//! - a read that began before a change is not kept (a generation number);
//! - it is off for a store other managers share (`ws://`, `http://`...), whose
//!   changes this manager would not see: every check then reads the store.
//!
//! Everything else that writes those tables runs in another process while
//! the server is stopped (the offline command line) or at start-up, before
//! the first request.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::{keys::KeyRow, sessions::SessionRow, users::UserRow};

/// Entries kept at most; past it the memory starts again empty.
const CAPACITY: usize = 10_000;

/// A session or key with its owner, as the store answered.
pub type Held<T> = (Arc<UserRow>, Arc<T>);

#[derive(Default)]
struct Memory {
    generation: u64,
    sessions: HashMap<String, Held<SessionRow>>,
    keys: HashMap<String, Held<KeyRow>>,
    users: HashMap<String, Arc<UserRow>>,
}

impl Memory {
    fn forget(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.sessions.clear();
        self.keys.clear();
        self.users.clear();
    }

    fn room(&mut self) {
        if self.sessions.len() + self.keys.len() >= CAPACITY {
            self.sessions.clear();
            self.keys.clear();
            self.users.clear();
        }
    }
}

/// Users, sessions and keys the credential checks have read.
pub struct Guard {
    enabled: bool,
    memory: Mutex<Memory>,
}

/// A write in progress: everything is forgotten when it starts and when it is
/// dropped (finished, failed or cancelled).
#[must_use = "hold the change across the write"]
pub struct Change<'a>(&'a Guard);

impl Drop for Change<'_> {
    fn drop(&mut self) {
        self.0.lock().forget();
    }
}

impl Guard {
    /// A guard memory; `enabled` false keeps nothing (a shared store).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            memory: Mutex::default(),
        }
    }

    /// Whether anything is kept.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The generation a store read starts in: pass it back to `keep_*`.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The session `jti` and its user, if held.
    pub fn session(&self, jti: &str) -> Option<Held<SessionRow>> {
        if !self.enabled {
            return None;
        }
        self.lock().sessions.get(jti).cloned()
    }

    /// The key `id` and its owner, if held.
    pub fn key(&self, id: &str) -> Option<Held<KeyRow>> {
        if !self.enabled {
            return None;
        }
        self.lock().keys.get(id).cloned()
    }

    /// The user `id`, if held (with one of their sessions or keys).
    pub fn user(&self, id: &str) -> Option<Arc<UserRow>> {
        if !self.enabled {
            return None;
        }
        self.lock().users.get(id).cloned()
    }

    /// Keep a session read in `generation`, unless something changed since.
    pub fn keep_session(&self, generation: u64, held: &Held<SessionRow>) {
        self.keep(generation, &held.0, |m| {
            m.sessions.insert(held.1.key(), held.clone());
        });
    }

    /// Keep a key read in `generation`, unless something changed since.
    pub fn keep_key(&self, generation: u64, held: &Held<KeyRow>) {
        self.keep(generation, &held.0, |m| {
            m.keys.insert(held.1.key(), held.clone());
        });
    }

    fn keep(&self, generation: u64, user: &Arc<UserRow>, insert: impl FnOnce(&mut Memory)) {
        if !self.enabled {
            return;
        }
        let mut memory = self.lock();
        if memory.generation != generation {
            return;
        }
        memory.room();
        memory.users.insert(user.key(), user.clone());
        insert(&mut memory);
    }

    /// Begin a write to users, sessions or keys; hold the result across it.
    pub fn change(&self) -> Change<'_> {
        self.lock().forget();
        Change(self)
    }

    /// Entries held (sessions plus keys).
    pub fn len(&self) -> usize {
        let memory = self.lock();
        memory.sessions.len() + memory.keys.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use mlx_manager_sdk::Role;
    use surrealdb::types::RecordId;

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn user(key: &str) -> Arc<UserRow> {
        Arc::new(UserRow {
            id: RecordId::new("user", key),
            email: format!("{key}@example.com"),
            password_hash: String::new(),
            is_admin: false,
            role: Role::User,
            status: crate::users::UserStatus::Approved,
            created_at: at(),
            approved_at: None,
            approved_by: None,
            token_version: 0,
        })
    }

    fn session(jti: &str, user: &str) -> Arc<SessionRow> {
        Arc::new(SessionRow {
            id: RecordId::new("session", jti),
            user_id: user.to_owned(),
            created_at: at(),
            expires_at: at(),
            last_seen_at: None,
            address: None,
            user_agent: None,
        })
    }

    #[test]
    fn a_read_is_kept_until_a_change_and_a_read_older_than_a_change_is_not() {
        let guard = Guard::new(true);
        let held = (user("u1"), session("s1", "u1"));
        let seen = guard.generation();
        guard.keep_session(seen, &held);
        assert!(guard.session("s1").is_some());
        assert!(guard.user("u1").is_some());

        // A read that started before a change finished is dropped.
        let before = guard.generation();
        drop(guard.change());
        assert!(guard.session("s1").is_none(), "a change forgets everything");
        assert!(guard.user("u1").is_none());
        guard.keep_session(before, &held);
        assert!(guard.session("s1").is_none(), "a stale read is not kept");

        // A read during a change (between its start and its end) is dropped
        // when the change ends.
        let change = guard.change();
        let during = guard.generation();
        guard.keep_session(during, &held);
        drop(change);
        assert!(guard.session("s1").is_none());
    }

    #[test]
    fn a_change_dropped_part_way_still_forgets() {
        let guard = Guard::new(true);
        let held = (user("u1"), session("s1", "u1"));
        let future = async {
            let _change = guard.change();
            std::future::pending::<()>().await;
        };
        let mut future = Box::pin(future);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        guard.keep_session(guard.generation(), &held);
        assert!(guard.session("s1").is_some());
        drop(future);
        assert!(guard.session("s1").is_none(), "the cancelled write forgot");
    }

    #[test]
    fn a_disabled_guard_keeps_nothing_and_the_memory_is_bounded() {
        let off = Guard::new(false);
        off.keep_session(off.generation(), &(user("u"), session("s", "u")));
        assert!(off.session("s").is_none() && off.is_empty());

        let guard = Guard::new(true);
        for i in 0..CAPACITY + 5 {
            let jti = format!("s{i}");
            guard.keep_session(guard.generation(), &(user("u"), session(&jti, "u")));
        }
        assert!(guard.len() <= CAPACITY, "{} held", guard.len());
    }
}
