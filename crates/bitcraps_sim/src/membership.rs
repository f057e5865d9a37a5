//! Churn: the validator set of each height as a deterministic function of the decided chain.
//!
//! The keys of a run are numbered: the genesis participants first, then the *spares* (keys that
//! are not seated at genesis; their instances observe until they join). As `bitcraps_game`
//! does with its seats, the set of height `h + 2` is the set of `h + 1` changed by what the
//! decision of `h` says, CometBFT's delay: after applying the decision of `h` a host declares
//! `h + 2`, and while it works on `h + 1` it knows the sets of `h + 1` and `h + 2`.
//!
//! In the simulator "what the decision says" is drawn from the decided value's SHA-256 with the
//! run's [`ChurnRules`]: with probability `rate` one change, one of
//! - **join**: a key that is neither seated nor unseated takes a seat (a spare, or an honest
//!   key that left earlier);
//! - **leave**: an honest member gives its seat up (it may join again later);
//! - **unseat**: an honest member is removed for good.
//!
//! Byzantine and twinned keys (the *protected* ones) never leave, and a member leaves only if
//! the set keeps at least four seats and the faulty members stay within f of it, so every
//! height's set satisfies the fault assumption the genesis set does. Every instance computes the
//! schedule from its own decisions ([`SetSchedule::on_decided`]); honest instances decide the
//! same values, so they compute the same sets.

use std::collections::HashMap;
use std::sync::Arc;

use bitcraps_consensus::{Height, ParticipantSet, PeerId, SeatError, Value};
use sha2::{Digest, Sha256};

/// The most keys a run may have (seats are a 64-bit mask).
pub const MAX_KEYS: usize = 64;

/// Why a set could not be computed or built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// More keys than [`MAX_KEYS`].
    #[error("{0} keys: the simulator seats at most {MAX_KEYS}")]
    TooManyKeys(usize),
    /// A decision handed to a schedule that does not know the set of the height after it.
    #[error("decision of {decided} before the set of {needed} is known")]
    Gap {
        /// The height decided.
        decided: Height,
        /// The height whose set is missing.
        needed: Height,
    },
    /// The consensus refused the set.
    #[error("participant set refused: {0}")]
    Seat(#[from] SeatError),
}

/// Who is seated, and who was unseated for good, as bit masks over key indices.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Seats {
    /// Seated keys.
    pub seated: u64,
    /// Keys unseated for good (never seated again).
    pub banned: u64,
}

impl Seats {
    /// The first `nodes` keys seated.
    pub fn genesis(nodes: usize) -> Seats {
        Seats {
            seated: mask_below(nodes),
            banned: 0,
        }
    }

    /// Number of seated keys.
    pub fn len(&self) -> usize {
        self.seated.count_ones() as usize
    }

    /// True if nobody is seated.
    pub fn is_empty(&self) -> bool {
        self.seated == 0
    }

    /// True if key `k` is seated.
    pub fn contains(&self, k: usize) -> bool {
        k < MAX_KEYS && self.seated & (1 << k) != 0
    }
}

fn mask_below(n: usize) -> u64 {
    if n >= MAX_KEYS {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// One change of the set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Key takes a seat.
    Join(usize),
    /// Key gives its seat up.
    Leave(usize),
    /// Key removed for good.
    Unseat(usize),
}

/// The run's churn: how often the set changes and which keys may never leave.
#[derive(Clone, Debug, PartialEq)]
pub struct ChurnRules {
    /// Probability that a decided height changes the set two heights on.
    pub rate: f64,
    /// Number of keys (genesis participants and spares).
    pub keys: usize,
    /// Byzantine and twinned keys: always seated.
    pub protected: u64,
}

impl ChurnRules {
    /// The seats after applying the decision `value` of `height` to `seats` (the set of
    /// `height + 1`): the set of `height + 2`, and the change, if any.
    pub fn next(&self, seats: Seats, height: Height, value: &Value) -> (Seats, Option<Change>) {
        if self.rate <= 0.0 {
            return (seats, None);
        }
        let mut hasher = Sha256::new();
        hasher.update(b"bitcraps-sim churn v1");
        hasher.update(height.0.to_be_bytes());
        hasher.update(value.bytes());
        let d: [u8; 32] = hasher.finalize().into();
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[i * 8..i * 8 + 8]);
            u64::from_be_bytes(b)
        };
        if ((word(0) >> 11) as f64 / (1u64 << 53) as f64) >= self.rate {
            return (seats, None);
        }
        let all = mask_below(self.keys);
        let candidates = match d[8] % 3 {
            0 => all & !seats.seated & !seats.banned,
            _ if self.may_remove_one(seats) => seats.seated & !self.protected,
            _ => 0,
        };
        let Some(k) = nth_bit(candidates, word(2)) else {
            return (seats, None);
        };
        let bit = 1u64 << k;
        match d[8] % 3 {
            0 => (
                Seats {
                    seated: seats.seated | bit,
                    ..seats
                },
                Some(Change::Join(k)),
            ),
            1 => (
                Seats {
                    seated: seats.seated & !bit,
                    ..seats
                },
                Some(Change::Leave(k)),
            ),
            _ => (
                Seats {
                    seated: seats.seated & !bit,
                    banned: seats.banned | bit,
                },
                Some(Change::Unseat(k)),
            ),
        }
    }

    /// A member may go: at least four seats remain and the protected (faulty) members stay
    /// within f of them.
    fn may_remove_one(&self, seats: Seats) -> bool {
        let after = seats.len().saturating_sub(1);
        let faulty = (seats.seated & self.protected).count_ones() as usize;
        after >= bitcraps_consensus::MIN_PARTICIPANTS && faulty <= (after - 1) / 3
    }
}

/// The `pick % count`-th set bit of `mask`.
fn nth_bit(mask: u64, pick: u64) -> Option<usize> {
    let count = u64::from(mask.count_ones());
    if count == 0 {
        return None;
    }
    let mut skip = pick % count;
    (0..MAX_KEYS).find(|k| {
        if mask & (1 << k) == 0 {
            return false;
        }
        if skip == 0 {
            return true;
        }
        skip -= 1;
        false
    })
}

/// The sets of heights `1..=known()`, computed from one instance's own decisions.
#[derive(Clone, Debug)]
pub struct SetSchedule {
    rules: Arc<ChurnRules>,
    /// Index `h - 1`: the seats of height `h`.
    seats: Vec<Seats>,
    /// Every change, with the height whose decision made it.
    changes: Vec<(Height, Change)>,
    /// Keys seated at some known height.
    ever_seated: u64,
}

impl SetSchedule {
    /// Heights 1 and 2 have the genesis set.
    pub fn new(rules: Arc<ChurnRules>, genesis: Seats) -> SetSchedule {
        SetSchedule {
            rules,
            seats: vec![genesis, genesis],
            changes: Vec::new(),
            ever_seated: genesis.seated,
        }
    }

    /// The highest height whose set is known.
    pub fn known(&self) -> Height {
        Height(self.seats.len() as u64)
    }

    /// The seats of `height`, if known.
    pub fn at(&self, height: Height) -> Option<Seats> {
        let i = usize::try_from(height.0.checked_sub(1)?).ok()?;
        self.seats.get(i).copied()
    }

    /// Applies the decision of `height`: the set of `height + 2` becomes known. A height
    /// already applied changes nothing (`Ok(None)`).
    pub fn on_decided(
        &mut self,
        height: Height,
        value: &Value,
    ) -> Result<Option<Change>, MembershipError> {
        let next = Height(height.0 + 2);
        if next <= self.known() {
            return Ok(None);
        }
        let before = Height(height.0 + 1);
        let seats = self
            .at(before)
            .filter(|_| next.0 == self.known().0 + 1)
            .ok_or(MembershipError::Gap {
                decided: height,
                needed: before,
            })?;
        let (after, change) = self.rules.next(seats, height, value);
        self.seats.push(after);
        self.ever_seated |= after.seated;
        if let Some(c) = change {
            self.changes.push((height, c));
        }
        Ok(change)
    }

    /// Applies the decision of `height` as an application that seats its players says it:
    /// `after` is the set of `height + 2` (the players seated in the decided state after
    /// `height`), `changes` what that height did. A height already applied changes nothing
    /// (`Ok(false)`); the rules' draw is not used.
    pub fn push_decided(
        &mut self,
        height: Height,
        after: Seats,
        changes: &[Change],
    ) -> Result<bool, MembershipError> {
        let next = Height(height.0 + 2);
        if next <= self.known() {
            return Ok(false);
        }
        if next.0 != self.known().0 + 1 {
            return Err(MembershipError::Gap {
                decided: height,
                needed: Height(height.0 + 1),
            });
        }
        self.seats.push(after);
        self.ever_seated |= after.seated;
        self.changes.extend(changes.iter().map(|c| (height, *c)));
        Ok(true)
    }

    /// True if key `k` is seated at some height whose set is known.
    pub fn ever_seated(&self, k: usize) -> bool {
        k < MAX_KEYS && self.ever_seated & (1 << k) != 0
    }

    /// Every change so far, with the height whose decision made it (effective two heights on).
    pub fn changes(&self) -> &[(Height, Change)] {
        &self.changes
    }
}

/// A small integer naming one distinct set within a run (the key of the verification cache).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId(pub u32);

/// Builds each distinct [`ParticipantSet`] once per run and names it with a [`SetId`].
#[derive(Debug)]
pub struct SetInterner {
    keys: Vec<PeerId>,
    sets: HashMap<u64, (SetId, Arc<ParticipantSet>)>,
}

impl SetInterner {
    /// An interner over the run's keys (index = key number).
    pub fn new(keys: Vec<PeerId>) -> Result<SetInterner, MembershipError> {
        if keys.len() > MAX_KEYS {
            return Err(MembershipError::TooManyKeys(keys.len()));
        }
        Ok(SetInterner {
            keys,
            sets: HashMap::new(),
        })
    }

    /// The set of the seated keys of `seats`.
    pub fn get(&mut self, seats: Seats) -> Result<(SetId, Arc<ParticipantSet>), MembershipError> {
        if let Some((id, set)) = self.sets.get(&seats.seated) {
            return Ok((*id, set.clone()));
        }
        let ids = self
            .keys
            .iter()
            .enumerate()
            .filter(|(k, _)| seats.contains(*k))
            .map(|(_, id)| *id);
        let set = Arc::new(ParticipantSet::new(ids)?);
        let id = SetId(self.sets.len() as u32);
        self.sets.insert(seats.seated, (id, set.clone()));
        Ok((id, set))
    }

    /// Every key of the run, seated or not (whom a host answers catch-up requests from).
    pub fn everyone(&mut self) -> Result<(SetId, Arc<ParticipantSet>), MembershipError> {
        self.get(Seats {
            seated: mask_below(self.keys.len()),
            banned: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(rate: f64, protected: u64) -> Arc<ChurnRules> {
        Arc::new(ChurnRules {
            rate,
            keys: 7,
            protected,
        })
    }

    fn value(i: u64) -> Value {
        Value::new(i.to_be_bytes().to_vec())
    }

    #[test]
    fn the_schedule_is_a_function_of_the_decided_values() {
        let mut a = SetSchedule::new(rules(0.5, 0b1), Seats::genesis(5));
        let mut b = a.clone();
        for h in 1..200 {
            a.on_decided(Height(h), &value(h)).unwrap();
            b.on_decided(Height(h), &value(h)).unwrap();
            // Applying a height twice changes nothing.
            assert_eq!(b.on_decided(Height(h), &value(h)), Ok(None));
        }
        assert_eq!(a.seats, b.seats);
        assert_eq!(a.at(Height(1)), a.at(Height(2)));
        let kinds = |f: fn(&Change) -> bool| a.changes().iter().filter(|(_, c)| f(c)).count();
        assert!(kinds(|c| matches!(c, Change::Join(_))) > 0);
        assert!(kinds(|c| matches!(c, Change::Leave(_))) > 0);
        assert!(kinds(|c| matches!(c, Change::Unseat(_))) > 0);
        for s in &a.seats {
            assert!(s.len() >= 4, "{s:?}");
            assert!(s.contains(0), "the protected key stays seated");
            assert_eq!(s.seated & s.banned, 0);
            let faulty = (s.seated & 0b1).count_ones() as usize;
            assert!(faulty <= (s.len() - 1) / 3);
        }
    }

    #[test]
    fn a_gap_is_an_error_and_no_churn_keeps_the_genesis_set() {
        let mut s = SetSchedule::new(rules(0.0, 0), Seats::genesis(4));
        assert!(matches!(
            s.on_decided(Height(3), &value(3)),
            Err(MembershipError::Gap { .. })
        ));
        for h in 1..50 {
            assert_eq!(s.on_decided(Height(h), &value(h)), Ok(None));
        }
        assert!(s.seats.iter().all(|x| *x == Seats::genesis(4)));
    }

    #[test]
    fn seats_pushed_by_the_game_follow_the_decided_heights() {
        let mut s = SetSchedule::new(rules(0.0, 0), Seats::genesis(4));
        let five = Seats {
            seated: 0b11111,
            banned: 0,
        };
        assert!(!s.ever_seated(4));
        assert_eq!(
            s.push_decided(Height(1), five, &[Change::Join(4)]),
            Ok(true)
        );
        assert_eq!(s.at(Height(3)), Some(five));
        assert!(s.ever_seated(4));
        // Twice is nothing; a gap is an error.
        assert_eq!(s.push_decided(Height(1), five, &[]), Ok(false));
        assert!(matches!(
            s.push_decided(Height(3), five, &[]),
            Err(MembershipError::Gap { .. })
        ));
        assert_eq!(s.changes(), &[(Height(1), Change::Join(4))]);
    }

    #[test]
    fn interned_sets_are_shared() {
        let keys: Vec<PeerId> = (1..=6u8)
            .map(|i| bitcraps_consensus::Keypair::from_seed([i; 32]).peer_id())
            .collect();
        let mut interner = SetInterner::new(keys).unwrap();
        let (a, sa) = interner.get(Seats::genesis(4)).unwrap();
        let (b, sb) = interner.get(Seats::genesis(4)).unwrap();
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&sa, &sb));
        let (c, all) = interner.everyone().unwrap();
        assert_ne!(a, c);
        assert_eq!(all.len(), 6);
        assert!(interner.get(Seats::genesis(3)).is_err());
    }
}
