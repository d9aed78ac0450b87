//! Brute-force protection for sign-in, first setup and API tokens. Failures
//! slow down further attempts (backoff) instead of locking anything for
//! everyone:
//!
//! - a login is counted per account *from one address* (a few free tries,
//!   then a wait that doubles with each failure), and per address (across
//!   every account it tries);
//! - per account from anywhere only with a much higher threshold and a short
//!   wait, so an attacker elsewhere cannot keep its owner out: the owner
//!   signs in from a new address at once, and from the attacker's address
//!   once that pair's wait is over;
//! - wrong setup tokens and invalid API tokens are counted per address.
//!
//! A refused attempt is refused before any password is checked or any store
//! lookup made, so guessing costs the attacker time and berth no CPU.
//!
//! Everything lives in memory behind one mutex, in a map of bounded size: a
//! spray of made-up usernames or addresses cannot make berth hold more than
//! [`ThrottlePolicy::max_keys`] entries. A restart forgets every count.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::AppError;

/// How many failures a key may have for free within the window, and how
/// long each failure past those makes the next attempt wait.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub free: usize,
    /// The wait after the first failure past `free`; each further failure
    /// doubles it, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Budget {
    const fn new(free: usize, first_delay_secs: u64, max_delay_secs: u64) -> Budget {
        Budget {
            free,
            first_delay: Duration::from_secs(first_delay_secs),
            max_delay: Duration::from_secs(max_delay_secs),
        }
    }

    /// The wait after `over` failures past the free ones (0 for the first).
    fn delay(&self, over: usize) -> Duration {
        let shift = u32::try_from(over.min(20)).unwrap_or(20);
        self.first_delay
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// How strict the throttle is.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// A key with no failure for this long is forgotten, its count with it;
    /// until then each failure past the free ones makes the wait longer.
    /// Longer than every `max_delay`, so a patient attacker never starts
    /// over.
    pub window: Duration,
    /// One account from one address.
    pub account_from_address: Budget,
    /// One address, whatever accounts it tries.
    pub address: Budget,
    /// One account from every address together: high and short, so that it
    /// only slows down an attack spread over many addresses.
    pub account: Budget,
    /// Wrong one-time setup tokens from one address.
    pub setup: Budget,
    /// Invalid API tokens from one address.
    pub token: Budget,
    /// The most keys tracked at once.
    pub max_keys: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window: Duration::from_secs(60 * 60),
            account_from_address: Budget::new(5, 1, 15 * 60),
            address: Budget::new(10, 1, 15 * 60),
            account: Budget::new(100, 1, 30),
            setup: Budget::new(5, 1, 15 * 60),
            token: Budget::new(10, 1, 15 * 60),
            max_keys: 10_000,
        }
    }
}

impl ThrottlePolicy {
    fn budget(&self, key: &Key) -> &Budget {
        match key {
            Key::AccountFrom(..) => &self.account_from_address,
            Key::Address(_) => &self.address,
            Key::Account(_) => &self.account,
            Key::Setup(_) => &self.setup,
            Key::Token(_) => &self.token,
        }
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

/// What a refused attempt was held back by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Failed logins for this account from this address.
    AccountFromAddress,
    /// Failed logins from this address, whatever the account.
    Address,
    /// Failed logins for this account from everywhere.
    Account,
    /// Wrong setup tokens from this address.
    Setup,
    /// Invalid API tokens from this address.
    Token,
}

/// A refused attempt: what held it back, and how long until it may retry.
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
            Scope::AccountFromAddress => {
                "too many failed logins for this account from this address"
            }
            Scope::Address => "too many failed logins from this address",
            Scope::Account => "too many failed logins for this account",
            Scope::Setup => "too many wrong setup tokens from this address",
            Scope::Token => "too many invalid API tokens from this address",
        }
    }
}

impl From<Lockout> for AppError {
    fn from(lockout: Lockout) -> Self {
        AppError::TooManyRequests {
            message: lockout.message().into(),
            retry_after_secs: lockout.retry_after_secs(),
        }
    }
}

/// What a guess that is not a login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// `POST /api/v1/setup`'s one-time token.
    Setup,
    /// An `Authorization: Bearer` API token.
    Token,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A username (see [`user_name`]) from one address, or from an unknown
    /// one.
    AccountFrom(String, Option<IpAddr>),
    Address(IpAddr),
    Account(String),
    Setup(Option<IpAddr>),
    Token(Option<IpAddr>),
}

const MAX_USERNAME_CHARS: usize = 64;

/// Failures kept past a key's free ones: enough for the longest wait, so a
/// key under a long attack stays small.
const MAX_FAILURES_KEPT: usize = 32;

/// Lowercased, and cut to the longest username berth accepts, so an
/// attacker's huge names do not become huge keys.
fn user_name(username: &str) -> String {
    username
        .chars()
        .take(MAX_USERNAME_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// One IPv6 host usually owns a whole /64, so that is what is counted.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[derive(Debug)]
struct Entry {
    /// Failures since the key was last quiet for a window, oldest first (at
    /// most [`MAX_FAILURES_KEPT`] past the free ones), each with a tag: for an address, the
    /// username tried; for an account, the address it was tried from. A
    /// successful login takes back the failures with its own tag (a user's
    /// own typos), not the others.
    failures: VecDeque<(Instant, u64)>,
    /// Attempts admitted and not settled yet. They use up the budget, so a
    /// burst of parallel requests gets no more guesses than a sequence would.
    in_flight: u32,
    /// The last failure; the entry is forgotten a window after it.
    last_seen: Instant,
}

impl Entry {
    fn new(now: Instant) -> Entry {
        Entry {
            failures: VecDeque::new(),
            in_flight: 0,
            last_seen: now,
        }
    }

    fn forgotten(&self, now: Instant, policy: &ThrottlePolicy) -> bool {
        self.in_flight == 0 && now >= self.last_seen + policy.window
    }

    /// How long a new attempt must wait now, if it must: the free failures
    /// are used up (by failures and attempts in flight), and the delay the
    /// last failure set has not passed.
    fn wait(&self, now: Instant, budget: &Budget) -> Option<Duration> {
        let failed = self.failures.len();
        if failed + (self.in_flight as usize) < budget.free {
            return None;
        }
        if self.in_flight > 0 {
            // Past the free tries, one attempt at a time. Those in flight
            // finish within moments; a retry then sees the delay they set.
            return Some(Duration::from_secs(1));
        }
        let (last, _) = self.failures.back()?;
        let over = failed.checked_sub(budget.free)?;
        let until = *last + budget.delay(over);
        (until > now).then(|| until - now)
    }

    /// Counts a failure; whether it was the one that used up the free tries.
    fn fail(&mut self, now: Instant, tag: u64, budget: &Budget) -> bool {
        self.failures.push_back((now, tag));
        if self.failures.len() > budget.free + MAX_FAILURES_KEPT {
            self.failures.pop_front();
        }
        self.last_seen = self.last_seen.max(now);
        self.failures.len() == budget.free
    }
}

/// Counts failed logins and wrong tokens, and holds back the keys that have
/// had too many of them lately.
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

/// One key an attempt counts against, and the tag its failure carries.
struct Counted {
    key: Key,
    tag: u64,
    scope: Scope,
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
    /// password check, or refuses it with the longest wait that stands in
    /// the way. With no address (no TCP peer known) the account is counted
    /// as if from one unknown address.
    pub fn admit(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_, C>, Lockout> {
        let name = user_name(username);
        let address = address.map(address_key);
        let hasher = self.entries().hasher().clone();
        let mut keys = vec![Counted {
            key: Key::AccountFrom(name.clone(), address),
            tag: 0,
            scope: Scope::AccountFromAddress,
        }];
        if let Some(ip) = address {
            keys.push(Counted {
                key: Key::Address(ip),
                tag: hasher.hash_one(&name),
                scope: Scope::Address,
            });
        }
        keys.push(Counted {
            key: Key::Account(name),
            tag: hasher.hash_one(address),
            scope: Scope::Account,
        });
        self.admit_keys(keys)
    }

    /// Lets one setup or API token be checked, or refuses it: the address
    /// has had too many wrong ones lately.
    pub fn admit_guess(
        &self,
        guess: Guess,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_, C>, Lockout> {
        let address = address.map(address_key);
        let (key, scope) = match guess {
            Guess::Setup => (Key::Setup(address), Scope::Setup),
            Guess::Token => (Key::Token(address), Scope::Token),
        };
        self.admit_keys(vec![Counted { key, tag: 0, scope }])
    }

    fn admit_keys(&self, keys: Vec<Counted>) -> Result<Attempt<'_, C>, Lockout> {
        let now = self.clock.now();
        let mut entries = self.entries();
        let mut refusal: Option<Lockout> = None;
        for counted in &keys {
            let Some(entry) = entries.get_mut(&counted.key) else {
                continue;
            };
            if entry.forgotten(now, &self.policy) {
                continue;
            }
            let budget = self.policy.budget(&counted.key);
            if let Some(wait) = entry.wait(now, budget) {
                if refusal.is_none_or(|r| wait > r.retry_after) {
                    refusal = Some(Lockout {
                        scope: counted.scope,
                        retry_after: wait,
                    });
                }
            }
        }
        if let Some(lockout) = refusal {
            return Err(lockout);
        }
        for counted in &keys {
            self.entry(&mut entries, &counted.key, now).in_flight += 1;
        }
        Ok(Attempt {
            throttle: self,
            keys,
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

    /// Drops the forgotten entries, and when that is not enough, the oldest
    /// of those that hold nothing back: a key whose free tries are used up
    /// stays, so a spray of fresh keys does not buy its attacker new tries.
    fn make_room(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        entries.retain(|_, e| !e.forgotten(now, &self.policy));
        if entries.len() < self.policy.max_keys {
            return;
        }
        let first_to_go = entries
            .iter()
            .min_by_key(|(k, e)| {
                let holding = e.failures.len() >= self.policy.budget(k).free;
                (e.in_flight > 0, holding, e.last_seen)
            })
            .map(|(k, _)| k.clone());
        if let Some(key) = first_to_go {
            entries.remove(&key);
        }
    }

    fn settle(&self, keys: &[Counted], succeeded: bool) {
        let now = self.clock.now();
        let mut entries = self.entries();
        for Counted { key, tag, .. } in keys {
            if succeeded {
                match key {
                    // The owner is in: their own count starts over.
                    Key::AccountFrom(..) => {
                        entries.remove(key);
                    }
                    // Only the owner's own typos are taken back, so a
                    // signed-in user cannot spray other accounts by signing
                    // in between guesses.
                    Key::Address(_) | Key::Account(_) => {
                        if let Some(entry) = entries.get_mut(key) {
                            entry.in_flight = entry.in_flight.saturating_sub(1);
                            entry.failures.retain(|(_, t)| t != tag);
                        }
                    }
                    // One valid token does not excuse the wrong ones.
                    Key::Setup(_) | Key::Token(_) => {
                        if let Some(entry) = entries.get_mut(key) {
                            entry.in_flight = entry.in_flight.saturating_sub(1);
                        }
                    }
                }
                continue;
            }
            let budget = *self.policy.budget(key);
            let entry = self.entry(&mut entries, key, now);
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if entry.fail(now, *tag, &budget) {
                match key {
                    Key::AccountFrom(name, ip) => tracing::warn!(
                        username = ?name,
                        address = ?ip,
                        "failed logins for this account from this address; further tries wait"
                    ),
                    Key::Address(ip) => tracing::warn!(
                        address = %ip,
                        "failed logins from this address; further tries wait"
                    ),
                    Key::Account(name) => tracing::warn!(
                        username = ?name,
                        "many failed logins for this account from many addresses; further tries wait"
                    ),
                    Key::Setup(ip) => tracing::warn!(
                        address = ?ip,
                        "wrong setup tokens from this address; further tries wait"
                    ),
                    Key::Token(ip) => tracing::warn!(
                        address = ?ip,
                        "invalid API tokens from this address; further tries wait"
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

/// An attempt let through to the password or token check. Dropping it
/// without [`Attempt::succeeded`] counts a failure: a wrong password or
/// token, an error on the way, or a client that went away before the answer.
#[must_use = "dropping an attempt counts a failure"]
pub struct Attempt<'a, C: Clock = SystemClock> {
    throttle: &'a LoginThrottle<C>,
    keys: Vec<Counted>,
    settled: bool,
}

impl<C: Clock> Attempt<'_, C> {
    /// The password or token was right. For a login, the account's count
    /// from this address starts over, and the address and the account
    /// forget the failures that were this user's own.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, true);
    }
}

impl<C: Clock> Drop for Attempt<'_, C> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(&self.keys, false);
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
    fn failures_slow_down_the_account_from_that_address_whatever_its_case() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for name in ["admin", "Admin", "ADMIN", "aDmIn"] {
            fail(&t, name, ip(1));
        }
        t.admit("admin", ip(1))
            .expect("four failures hold nothing back")
            .succeeded();
        for name in ["admin", "Admin", "ADMIN", "aDmIn", "admin"] {
            fail(&t, name, ip(1));
        }
        let lockout = refused(&t, "ADMIN", ip(1));
        assert_eq!(lockout.scope, Scope::AccountFromAddress);
        assert_eq!(lockout.retry_after, SECOND);
        assert_eq!(lockout.retry_after_secs(), 1);
        // The same account from another address, and another account from
        // this one, are not held back.
        t.admit("admin", ip(2)).expect("a new address").succeeded();
        t.admit("alice", ip(1))
            .expect("another account")
            .succeeded();

        clock.advance(SECOND);
        fail(&t, "admin", ip(1));
        assert_eq!(refused(&t, "admin", ip(1)).retry_after, 2 * SECOND);
        clock.advance(2 * SECOND);
        t.admit("admin", ip(1))
            .expect("the wait is over")
            .succeeded();
        // A success starts the count over.
        for _ in 0..4 {
            fail(&t, "admin", ip(1));
        }
        t.admit("admin", ip(1)).expect("free again").succeeded();
    }

    #[test]
    fn a_quiet_window_forgets_the_failures() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        // Failures spread out still add up while the key is not quiet for a
        // whole window.
        for _ in 0..5 {
            clock.advance(50 * MINUTE);
            fail(&t, "bob", ip(1));
        }
        assert_eq!(refused(&t, "bob", ip(1)).scope, Scope::AccountFromAddress);
        clock.advance(60 * MINUTE);
        for _ in 0..4 {
            fail(&t, "bob", ip(1));
        }
        t.admit("bob", ip(1)).expect("free tries again").succeeded();
    }

    #[test]
    fn each_failure_past_the_free_ones_doubles_the_wait_up_to_the_longest() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for _ in 0..5 {
            fail(&t, "carol", ip(1));
        }
        let mut seen = Vec::new();
        for _ in 0..12 {
            let lockout = refused(&t, "carol", ip(1));
            seen.push(lockout.retry_after.as_secs());
            clock.advance(lockout.retry_after);
            fail(&t, "carol", ip(1));
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
    }

    #[test]
    fn an_address_is_slowed_by_failures_against_many_accounts() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for n in 0..10 {
            fail(&t, &format!("user{n}"), ip(7));
        }
        let lockout = refused(&t, "someone", ip(7));
        assert_eq!(lockout.scope, Scope::Address);
        assert_eq!(lockout.retry_after, SECOND);
        // The same accounts from elsewhere are fine: each had one failure.
        t.admit("user1", ip(8))
            .expect("another address")
            .succeeded();
        t.admit("someone", None).expect("no address").succeeded();
    }

    #[test]
    fn an_attack_from_elsewhere_does_not_keep_the_owner_out() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        // One address alone: the owner signs in from another one at once.
        for _ in 0..5 {
            fail(&t, "admin", ip(66));
        }
        t.admit("admin", ip(1)).expect("a new address").succeeded();

        // Many addresses: the account's own budget is high, and its wait
        // short.
        for n in 100..119 {
            for _ in 0..5 {
                fail(&t, "admin", ip(n));
            }
        }
        let lockout = refused(&t, "admin", ip(2));
        assert_eq!(lockout.scope, Scope::Account);
        assert!(lockout.retry_after <= Duration::from_secs(30));
        clock.advance(lockout.retry_after);
        t.admit("admin", ip(2))
            .expect("in after a short wait")
            .succeeded();
        // The owner's success took back none of the attackers' failures:
        // the next one makes the account's wait longer.
        fail(&t, "admin", ip(119));
        let lockout = refused(&t, "admin", ip(3));
        assert_eq!(lockout.scope, Scope::Account);
        assert_eq!(lockout.retry_after, 2 * SECOND);
    }

    #[test]
    fn a_success_takes_back_only_its_own_failures_from_the_address() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for _ in 0..4 {
            fail(&t, "bob", ip(3));
        }
        for _ in 0..4 {
            fail(&t, "alice", ip(3));
        }
        t.admit("alice", ip(3)).expect("admitted").succeeded();
        // The address still holds bob's four failures: six more slow it
        // down, so a signed-in user cannot spray other accounts by signing
        // in between guesses.
        for name in ["carol", "dave", "erin", "frank", "gina", "hank"] {
            fail(&t, name, ip(3));
        }
        assert_eq!(refused(&t, "alice", ip(3)).scope, Scope::Address);
    }

    #[test]
    fn attempts_in_flight_use_up_the_budget() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        let burst: Vec<_> = (0..5)
            .map(|_| t.admit("gina", ip(4)).expect("admitted"))
            .collect();
        let lockout = refused(&t, "gina", ip(4));
        assert_eq!(lockout.scope, Scope::AccountFromAddress);
        assert_eq!(lockout.retry_after, SECOND);
        drop(burst);
        clock.advance(SECOND);
        // Past the free tries, one at a time.
        let one = t.admit("gina", ip(4)).expect("after the wait");
        assert_eq!(refused(&t, "gina", ip(4)).retry_after, SECOND);
        drop(one);
        assert_eq!(refused(&t, "gina", ip(4)).retry_after, 2 * SECOND);
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
        assert_eq!(refused(&t, "admin", None).scope, Scope::AccountFromAddress);

        // Once the window has passed the old entries are pruned, not evicted
        // one by one.
        clock.advance(60 * MINUTE);
        fail(&t, "late", None);
        assert_eq!(t.tracked_keys(), 2);
    }

    #[test]
    fn wrong_setup_and_api_tokens_are_counted_per_address() {
        let clock = ManualClock::new();
        let t = LoginThrottle::with_clock(ThrottlePolicy::default(), &clock);
        for _ in 0..5 {
            drop(t.admit_guess(Guess::Setup, ip(1)).expect("admitted"));
        }
        let Err(lockout) = t.admit_guess(Guess::Setup, ip(1)) else {
            panic!("a sixth wrong setup token was admitted");
        };
        assert_eq!(lockout.scope, Scope::Setup);
        assert_eq!(lockout.retry_after, SECOND);
        t.admit_guess(Guess::Setup, ip(2))
            .expect("another address")
            .succeeded();
        t.admit_guess(Guess::Token, ip(1))
            .expect("tokens are counted apart")
            .succeeded();

        for _ in 0..10 {
            drop(t.admit_guess(Guess::Token, ip(1)).expect("admitted"));
        }
        let Err(lockout) = t.admit_guess(Guess::Token, ip(1)) else {
            panic!("an eleventh invalid token was admitted");
        };
        assert_eq!(lockout.scope, Scope::Token);
        // A valid token after the wait does not excuse the wrong ones.
        clock.advance(SECOND);
        t.admit_guess(Guess::Token, ip(1))
            .expect("waited")
            .succeeded();
        drop(
            t.admit_guess(Guess::Token, ip(1))
                .expect("no wait after a success"),
        );
        let Err(lockout) = t.admit_guess(Guess::Token, ip(1)) else {
            panic!("a wrong token after the valid one was admitted");
        };
        assert_eq!(lockout.retry_after, 2 * SECOND);
        // Logins from that address are another matter.
        t.admit("admin", ip(1)).expect("a login").succeeded();
    }

    #[test]
    fn huge_usernames_make_bounded_keys() {
        let long = "x".repeat(100_000);
        assert_eq!(user_name(&long).chars().count(), MAX_USERNAME_CHARS);
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
