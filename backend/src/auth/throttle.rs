//! Brute-force protection for sign-in. Failed logins are counted per username
//! (case-insensitively) and per client address; a key with too many recent
//! failures is locked for a while, and a locked key is refused before any
//! password is checked, so guessing costs the attacker time and berth no CPU.
//!
//! Everything lives in memory behind one mutex, in a map of bounded size: a
//! spray of made-up usernames or addresses cannot make berth hold more than
//! [`ThrottlePolicy::max_keys`] entries. A restart forgets every count.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How strict the throttle is.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures within `window` that lock a username or an address.
    pub max_failures: usize,
    pub window: Duration,
    /// The first lock of a key; each further lock doubles it, up to `max_lock`.
    pub first_lock: Duration,
    pub max_lock: Duration,
    /// The most keys tracked at once.
    pub max_keys: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            first_lock: Duration::from_secs(60),
            max_lock: Duration::from_secs(15 * 60),
            max_keys: 10_000,
        }
    }
}

impl ThrottlePolicy {
    /// How long a key's lock lasts after `earlier` locks.
    fn lock_for(&self, earlier: u32) -> Duration {
        self.first_lock
            .checked_mul(1u32 << earlier.min(16))
            .unwrap_or(self.max_lock)
            .min(self.max_lock)
    }
}

/// Where the time comes from; tests bring their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// What a refused login was locked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Address,
}

/// A refused login: which lock, and how long until it lifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub scope: Scope,
    pub retry_after: Duration,
}

impl Lockout {
    /// Whole seconds to wait, rounded up and at least 1 (for `Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    pub fn message(&self) -> &'static str {
        match self.scope {
            Scope::Account => "too many failed logins for this account",
            Scope::Address => "too many failed logins from this address",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// Lowercased, and cut to the longest username berth accepts, so an
    /// attacker's huge names do not become huge keys.
    User(String),
    Address(IpAddr),
}

const MAX_USERNAME_CHARS: usize = 64;

fn user_key(username: &str) -> Key {
    Key::User(
        username
            .chars()
            .take(MAX_USERNAME_CHARS)
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// One IPv6 host usually owns a whole /64, so that is what is counted.
fn address_key(ip: IpAddr) -> Key {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    };
    Key::Address(ip)
}

#[derive(Debug)]
struct Entry {
    /// Recent failures, oldest first, each with a tag of the username it was
    /// for: a user's successful login takes back their own typos from the
    /// address's count, but not failures against other accounts.
    failures: VecDeque<(Instant, u64)>,
    /// Attempts admitted whose password is still being checked. They use up
    /// the budget, so a burst of parallel requests gets no more guesses than
    /// a sequence would.
    in_flight: u32,
    locked_until: Option<Instant>,
    /// Locks so far; they set the next lock's length.
    lockouts: u32,
    /// The last failure or the end of the last lock; the entry is forgotten
    /// a window after it.
    last_seen: Instant,
}

impl Entry {
    fn new(now: Instant) -> Entry {
        Entry {
            failures: VecDeque::new(),
            in_flight: 0,
            locked_until: None,
            lockouts: 0,
            last_seen: now,
        }
    }

    fn forgotten(&self, now: Instant, policy: &ThrottlePolicy) -> bool {
        self.in_flight == 0 && now >= self.last_seen + policy.window
    }

    fn drop_old_failures(&mut self, now: Instant, policy: &ThrottlePolicy) {
        while self
            .failures
            .front()
            .is_some_and(|(at, _)| *at + policy.window <= now)
        {
            self.failures.pop_front();
        }
    }

    /// Why this key refuses a new attempt now, if it does: a lock, or a
    /// budget taken up by recent failures and attempts still in flight.
    fn wait(&mut self, now: Instant, policy: &ThrottlePolicy) -> Option<Duration> {
        if let Some(until) = self.locked_until.filter(|until| *until > now) {
            return Some(until - now);
        }
        self.drop_old_failures(now, policy);
        let used = self.failures.len() + self.in_flight as usize;
        // The attempts in flight finish within moments; a retry then sees
        // either a lock or room.
        (used >= policy.max_failures).then_some(Duration::from_secs(1))
    }

    /// Counts a failure; returns the lock it started, if it started one.
    fn fail(&mut self, now: Instant, tag: u64, policy: &ThrottlePolicy) -> Option<Duration> {
        self.drop_old_failures(now, policy);
        self.failures.push_back((now, tag));
        self.last_seen = self.last_seen.max(now);
        if self.failures.len() < policy.max_failures {
            return None;
        }
        let lock = policy.lock_for(self.lockouts);
        self.lockouts = self.lockouts.saturating_add(1);
        self.failures.clear();
        self.locked_until = Some(now + lock);
        self.last_seen = now + lock;
        Some(lock)
    }
}

/// Counts failed logins and refuses locked usernames and addresses.
pub struct LoginThrottle<C: Clock = SystemClock> {
    policy: ThrottlePolicy,
    clock: C,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(ThrottlePolicy::default())
    }
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        LoginThrottle::with_clock(policy, SystemClock)
    }
}

impl<C: Clock> LoginThrottle<C> {
    pub fn with_clock(policy: ThrottlePolicy, clock: C) -> Self {
        LoginThrottle {
            policy,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // The map stays consistent between statements, so a panic elsewhere
        // while it was held leaves nothing half-done to fear.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets one login attempt for `username` from `address` go on to the
    /// password check, or refuses it with the lock that stands in the way.
    /// With no address (no TCP peer known) only the username is counted.
    pub fn admit(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_, C>, Lockout> {
        let now = self.clock.now();
        let user = user_key(username);
        let address = address.map(address_key);
        let mut entries = self.entries();

        let mut refusal: Option<Lockout> = None;
        let keys = [
            (Some(&user), Scope::Account),
            (address.as_ref(), Scope::Address),
        ];
        for (key, scope) in keys {
            let Some(entry) = key.and_then(|k| entries.get_mut(k)) else {
                continue;
            };
            if entry.forgotten(now, &self.policy) {
                continue;
            }
            if let Some(wait) = entry.wait(now, &self.policy) {
                if refusal.is_none_or(|r| wait > r.retry_after) {
                    refusal = Some(Lockout {
                        scope,
                        retry_after: wait,
                    });
                }
            }
        }
        if let Some(lockout) = refusal {
            return Err(lockout);
        }

        let tag = entries.hasher().hash_one(&user);
        for key in std::iter::once(&user).chain(address.as_ref()) {
            self.entry(&mut entries, key, now).in_flight += 1;
        }
        Ok(Attempt {
            throttle: self,
            user,
            address,
            tag,
            settled: false,
        })
    }

    /// The entry for `key`, made (room permitting) or renewed as needed.
    fn entry<'m>(
        &self,
        entries: &'m mut HashMap<Key, Entry>,
        key: &Key,
        now: Instant,
    ) -> &'m mut Entry {
        if !entries.contains_key(key) && entries.len() >= self.policy.max_keys {
            self.make_room(entries, now);
        }
        let entry = entries
            .entry(key.clone())
            .or_insert_with(|| Entry::new(now));
        if entry.forgotten(now, &self.policy) {
            *entry = Entry::new(now);
        }
        entry
    }

    /// Drops the forgotten entries, and when that is not enough, the one
    /// that would be forgotten first: a key under attack keeps being seen,
    /// so pushing it out takes as many fresh keys as the map holds.
    fn make_room(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        entries.retain(|_, e| !e.forgotten(now, &self.policy));
        if entries.len() < self.policy.max_keys {
            return;
        }
        let first_to_go = entries
            .iter()
            .min_by_key(|(_, e)| (e.in_flight > 0, e.last_seen))
            .map(|(k, _)| k.clone());
        if let Some(key) = first_to_go {
            entries.remove(&key);
        }
    }

    fn settle(&self, attempt: &Attempt<'_, C>, succeeded: bool) {
        let now = self.clock.now();
        let mut entries = self.entries();
        if succeeded {
            entries.remove(&attempt.user);
            if let Some(entry) = attempt.address.as_ref().and_then(|k| entries.get_mut(k)) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
                entry.failures.retain(|(_, tag)| *tag != attempt.tag);
            }
            return;
        }
        for key in std::iter::once(&attempt.user).chain(attempt.address.as_ref()) {
            let entry = self.entry(&mut entries, key, now);
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if let Some(lock) = entry.fail(now, attempt.tag, &self.policy) {
                match key {
                    Key::User(name) => tracing::warn!(
                        username = ?name,
                        seconds = lock.as_secs(),
                        "too many failed logins; the account is locked"
                    ),
                    Key::Address(ip) => tracing::warn!(
                        address = %ip,
                        seconds = lock.as_secs(),
                        "too many failed logins; the address is locked"
                    ),
                }
            }
        }
    }

    #[cfg(test)]
    fn tracked_keys(&self) -> usize {
        self.entries().len()
    }
}

/// A login attempt let through to the password check. Dropping it without
/// [`Attempt::succeeded`] counts a failure: a wrong password, an error on
/// the way, or a client that went away before the answer.
#[must_use = "dropping an attempt counts a failed login"]
pub struct Attempt<'a, C: Clock = SystemClock> {
    throttle: &'a LoginThrottle<C>,
    user: Key,
    address: Option<Key>,
    tag: u64,
    settled: bool,
}

impl<C: Clock> Attempt<'_, C> {
    /// The password was right: the username's count starts over, and the
    /// address forgets the failures it had for this username.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self, true);
    }
}

impl<C: Clock> Drop for Attempt<'_, C> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(self, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    /// A clock that moves only when told to.
    struct ManualClock(Mutex<Instant>);

    impl ManualClock {
        fn new() -> Self {
            ManualClock(Mutex::new(Instant::now()))
        }

        fn advance(&self, by: Duration) {
            let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            *now += by;
        }
    }

    impl Clock for &ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    const SECOND: Duration = Duration::from_secs(1);
    const MINUTE: Duration = Duration::from_secs(60);

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    fn fail<C: Clock>(t: &LoginThrottle<C>, user: &str, address: Option<IpAddr>) {
        drop(t.admit(user, address).expect("admitted"));
    }

    fn refused<C: Clock>(t: &LoginThrottle<C>, user: &str, address: Option<IpAddr>) -> Lockout {
        match t.admit(user, address) {
            Ok(_) => panic!("{user} was admitted"),
            Err(lockout) => lockout,
        }
    }

    #[test]
    fn five_failures_lock_the_username_whatever_its_case() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for name in ["admin", "Admin", "ADMIN", "aDmIn"] {
            fail(&t, name, None);
        }
        t.admit("admin", None)
            .expect("four failures lock nothing")
            .succeeded();
        for name in ["admin", "Admin", "ADMIN", "aDmIn", "admin"] {
            fail(&t, name, None);
        }
        let lockout = refused(&t, "ADMIN", None);
        assert_eq!(lockout.scope, Scope::Account);
        assert_eq!(lockout.retry_after, MINUTE);
        assert_eq!(lockout.retry_after_secs(), 60);
        // Someone else is not affected.
        t.admit("alice", None).expect("another account").succeeded();

        clock.advance(59 * SECOND);
        assert_eq!(refused(&t, "admin", None).retry_after, SECOND);
        clock.advance(SECOND);
        t.admit("admin", None)
            .expect("the lock has lifted")
            .succeeded();
    }

    #[test]
    fn only_failures_within_the_window_count() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        fail(&t, "bob", None);
        clock.advance(10 * MINUTE);
        for _ in 0..3 {
            fail(&t, "bob", None);
        }
        // The first failure leaves the window: four in the last 15 minutes.
        clock.advance(5 * MINUTE);
        fail(&t, "bob", None);
        // That was the fifth failure, but the fourth within the window; the
        // next one is the fifth within it and locks.
        fail(&t, "bob", None);
        assert_eq!(refused(&t, "bob", None).scope, Scope::Account);
    }

    #[test]
    fn repeated_locks_double_up_to_the_longest() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        let mut seen = Vec::new();
        for _ in 0..6 {
            for _ in 0..5 {
                fail(&t, "carol", ip(1));
            }
            let lockout = refused(&t, "carol", ip(1));
            seen.push(lockout.retry_after.as_secs());
            clock.advance(lockout.retry_after);
        }
        assert_eq!(seen, [60, 120, 240, 480, 900, 900]);
    }

    #[test]
    fn a_quiet_window_after_a_lock_forgets_the_escalation() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for _ in 0..5 {
            fail(&t, "dave", None);
        }
        clock.advance(MINUTE);
        for _ in 0..5 {
            fail(&t, "dave", None);
        }
        assert_eq!(refused(&t, "dave", None).retry_after, 2 * MINUTE);
        clock.advance(2 * MINUTE + 15 * MINUTE);
        for _ in 0..5 {
            fail(&t, "dave", None);
        }
        assert_eq!(refused(&t, "dave", None).retry_after, MINUTE);
    }

    #[test]
    fn an_address_is_locked_by_failures_against_many_accounts() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for name in ["a", "b", "c", "d", "e"] {
            fail(&t, name, ip(7));
        }
        let lockout = refused(&t, "f", ip(7));
        assert_eq!(lockout.scope, Scope::Address);
        assert_eq!(lockout.retry_after, MINUTE);
        // The same accounts from elsewhere are fine: each had one failure.
        t.admit("a", ip(8)).expect("another address").succeeded();
        t.admit("f", None).expect("no address").succeeded();
    }

    #[test]
    fn when_both_are_locked_the_longer_wait_is_reported() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for _ in 0..5 {
            fail(&t, "erin", ip(1));
        }
        clock.advance(MINUTE);
        for _ in 0..5 {
            fail(&t, "erin", ip(2));
        }
        // erin: second lock, 2 minutes. 192.0.2.2: first lock, 1 minute.
        let lockout = refused(&t, "erin", ip(2));
        assert_eq!(lockout.scope, Scope::Account);
        assert_eq!(lockout.retry_after, 2 * MINUTE);
        assert_eq!(refused(&t, "frank", ip(2)).scope, Scope::Address);
    }

    #[test]
    fn a_success_takes_back_only_its_own_failures_from_the_address() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        fail(&t, "bob", ip(3));
        fail(&t, "bob", ip(3));
        fail(&t, "alice", ip(3));
        fail(&t, "alice", ip(3));
        t.admit("alice", ip(3)).expect("admitted").succeeded();
        // The address still holds bob's two failures: three more lock it,
        // so a signed-in user cannot spray other accounts by signing in
        // between guesses.
        fail(&t, "carol", ip(3));
        fail(&t, "dave", ip(3));
        fail(&t, "erin", ip(3));
        assert_eq!(refused(&t, "alice", ip(3)).scope, Scope::Address);
    }

    #[test]
    fn attempts_in_flight_use_up_the_budget() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        let burst: Vec<_> = (0..5)
            .map(|_| t.admit("gina", ip(4)).expect("admitted"))
            .collect();
        assert_eq!(refused(&t, "gina", ip(5)).retry_after, SECOND);
        assert_eq!(refused(&t, "other", ip(4)).scope, Scope::Address);
        drop(burst);
        assert_eq!(refused(&t, "gina", ip(5)).retry_after, MINUTE);
    }

    #[test]
    fn the_map_stays_bounded_and_keeps_the_key_under_attack() {
        let clock = ManualClock::new();
        let policy = ThrottlePolicy {
            max_keys: 8,
            ..ThrottlePolicy::default()
        };
        let t = LoginThrottle::with_clock(policy, &clock);
        for _ in 0..5 {
            fail(&t, "admin", None);
        }
        for n in 0..100 {
            fail(&t, &format!("spray{n}"), None);
            assert!(t.tracked_keys() <= 8);
        }
        assert_eq!(refused(&t, "admin", None).scope, Scope::Account);

        // Once the window has passed the old entries are pruned, not evicted
        // one by one.
        clock.advance(MINUTE + 15 * MINUTE);
        fail(&t, "late", None);
        assert_eq!(t.tracked_keys(), 1);
    }

    #[test]
    fn huge_usernames_make_bounded_keys() {
        let long = "x".repeat(100_000);
        let Key::User(key) = user_key(&long) else {
            panic!("a user key");
        };
        assert_eq!(key.chars().count(), MAX_USERNAME_CHARS);
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::10".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::10".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(address_key(mapped), address_key(ip(1).expect("ip")));
    }

    #[test]
    fn retry_after_rounds_up() {
        let l = |ms| Lockout {
            scope: Scope::Account,
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(l(0).retry_after_secs(), 1);
        assert_eq!(l(1).retry_after_secs(), 1);
        assert_eq!(l(58_001).retry_after_secs(), 59);
        assert_eq!(l(60_000).retry_after_secs(), 60);
    }
}
