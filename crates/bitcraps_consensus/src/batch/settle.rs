//! Settling the signature checks of a batch: which go to `verify_strict`, which into batch
//! equations, and the bisection of a failing batch.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey};

use super::{Check, MAX_BATCH, MIN_BATCH};
use crate::participants::ParticipantSet;
use crate::sigcache::SignatureCache;

/// The seven encodings, sign bit cleared, of the eight points of small order: 0 (order 4),
/// 1 (order 1), the two y-coordinates of the points of order 8, p − 1 (order 2), and the
/// non-canonical p (order 4) and p + 1 (order 1). Same list as libsodium's `has_small_order`.
pub(super) const SMALL_ORDER_ENCODINGS: [[u8; 32]; 7] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// ℓ, the order of the base point, little-endian.
pub(super) const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// True if the little-endian 256-bit `a` is below `b`.
pub(super) fn less_than(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == std::cmp::Ordering::Less
}

/// True if `R` is canonically encoded (`y < p`; the sign bit is free) and not one of the
/// small-order encodings.
pub(super) fn r_is_batch_safe(r: &[u8; 32]) -> bool {
    let mut y = *r;
    y[31] &= 0x7f;
    // p = 2^255 − 19.
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    less_than(&y, &p) && !SMALL_ORDER_ENCODINGS.contains(&y)
}

/// True if a signature may go into a batch equation without the batch being able to disagree
/// with `verify_strict` on it for an encoding reason (see the module documentation, cases 1–3).
pub(super) fn signature_is_batch_safe(signature: &Signature) -> bool {
    r_is_batch_safe(signature.r_bytes()) && less_than(signature.s_bytes(), &GROUP_ORDER)
}

/// How a signature check will be settled.
enum Route {
    /// Already known: a cache hit, or the same triple earlier in this batch.
    Known,
    /// One by one with `verify_strict`.
    Strict,
    /// In a batch equation.
    Batch,
}

/// How one signature check ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Settled {
    /// The signature is invalid (or its signer unknown).
    Invalid,
    /// `verify_strict` accepted it (now or before: the cache's strict tier).
    Strict,
    /// A batch equation accepted it (now or before: the cache's batch tier).
    Batch,
}

impl Settled {
    /// True for a valid signature.
    pub(super) fn passed(self) -> bool {
        self != Settled::Invalid
    }
}

/// Settles every check.
pub(super) fn settle(
    checks: &[Check],
    participants: &ParticipantSet,
    mut cache: Option<&mut SignatureCache>,
) -> Vec<Settled> {
    let mut ok = vec![Settled::Invalid; checks.len()];
    let entries: Vec<[u8; 32]> = checks
        .iter()
        .map(|c| SignatureCache::entry(&c.signer, &c.bytes, &c.signature))
        .collect();
    // The first check of each distinct triple; repeats copy its result.
    let mut first: HashMap<[u8; 32], usize> = HashMap::with_capacity(checks.len());
    let mut repeats = Vec::new();
    let mut strict = Vec::new();
    let mut batched = Vec::new();
    for (i, (check, entry)) in checks.iter().zip(&entries).enumerate() {
        let route = if let Some(&j) = first.get(entry) {
            repeats.push((i, j));
            Route::Known
        } else {
            first.insert(*entry, i);
            if let Some(cache) = cache.as_deref_mut() {
                if cache.contains_strict(entry) {
                    cache.hits += 1;
                    ok[i] = Settled::Strict;
                    continue;
                }
                if cache.contains_any(entry) {
                    cache.hits += 1;
                    ok[i] = Settled::Batch;
                    continue;
                }
                cache.misses += 1;
            }
            if participants.batchable(&check.signer) && signature_is_batch_safe(&check.signature) {
                Route::Batch
            } else {
                Route::Strict
            }
        };
        match route {
            Route::Known => {
                if let Some(cache) = cache.as_deref_mut() {
                    cache.hits += 1;
                }
            }
            Route::Strict => strict.push(i),
            Route::Batch => batched.push(i),
        }
    }
    let mut settler = Settler {
        checks,
        participants,
        entries: &entries,
        ok: &mut ok,
        cache,
    };
    for &i in &strict {
        settler.strict(i);
    }
    if batched.len() < MIN_BATCH {
        for &i in &batched {
            settler.strict(i);
        }
    } else {
        // Even chunks of at most MAX_BATCH.
        let chunks = batched.len().div_ceil(MAX_BATCH);
        let size = batched.len().div_ceil(chunks);
        for chunk in batched.chunks(size) {
            settler.bisect(chunk, false);
        }
    }
    for (i, j) in repeats {
        ok[i] = ok[j];
    }
    ok
}

/// Runs the checks of one batch, filling results and the cache.
struct Settler<'s, 'c> {
    checks: &'s [Check],
    participants: &'s ParticipantSet,
    entries: &'s [[u8; 32]],
    ok: &'s mut [Settled],
    cache: Option<&'c mut SignatureCache>,
}

impl Settler<'_, '_> {
    fn key(&self, i: usize) -> Option<&VerifyingKey> {
        self.checks
            .get(i)
            .and_then(|c| self.participants.key(&c.signer))
    }

    /// `verify_strict`, recorded in the strict tier on success.
    fn strict(&mut self, i: usize) {
        let (Some(check), Some(key)) = (self.checks.get(i), self.key(i)) else {
            return;
        };
        if key.verify_strict(&check.bytes, &check.signature).is_err() {
            return;
        }
        if let Some(slot) = self.ok.get_mut(i) {
            *slot = Settled::Strict;
        }
        if let (Some(cache), Some(entry)) = (self.cache.as_deref_mut(), self.entries.get(i)) {
            cache.insert_strict(*entry);
        }
    }

    /// One batch equation over `group`; on success every member is valid (batch tier).
    fn batch(&mut self, group: &[usize]) -> bool {
        let mut messages: Vec<&[u8]> = Vec::with_capacity(group.len());
        let mut signatures = Vec::with_capacity(group.len());
        let mut keys = Vec::with_capacity(group.len());
        for &i in group {
            let (Some(check), Some(key)) = (self.checks.get(i), self.key(i)) else {
                return false;
            };
            messages.push(&check.bytes);
            signatures.push(check.signature);
            keys.push(*key);
        }
        if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_err() {
            return false;
        }
        for &i in group {
            if let Some(slot) = self.ok.get_mut(i) {
                *slot = Settled::Batch;
            }
            if let (Some(cache), Some(entry)) = (self.cache.as_deref_mut(), self.entries.get(i)) {
                cache.insert_batch(*entry);
            }
        }
        true
    }

    /// Settles `group`: one batch equation, then, if it fails, its halves in turn. `failing`
    /// says the group is already known to fail as a batch (its sibling passed), which skips
    /// its own equation. Groups below [`MIN_BATCH`] are checked one by one.
    fn bisect(&mut self, group: &[usize], failing: bool) {
        if group.len() < MIN_BATCH {
            for &i in group {
                self.strict(i);
            }
            return;
        }
        if !failing && self.batch(group) {
            return;
        }
        let (left, right) = group.split_at(group.len() / 2);
        let left_passed = if left.len() < MIN_BATCH {
            for &i in left {
                self.strict(i);
            }
            left.iter()
                .all(|&i| self.ok.get(i).copied().is_some_and(Settled::passed))
        } else if self.batch(left) {
            true
        } else {
            self.bisect(left, true);
            false
        };
        // If the left half passed, the failure is in the right half.
        self.bisect(right, left_passed);
    }
}
