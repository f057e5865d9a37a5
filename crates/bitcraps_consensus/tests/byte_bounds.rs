//! A single signer cannot make an engine keep more than a few MiB, and catch-up replies do not
//! amplify a lagging (or pretending) peer's requests tick after tick.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::*;
use common::*;

const ME: usize = 0;
const FLOODER: usize = 2;

fn big(label: u64, size: usize) -> Value {
    let mut bytes = vec![0u8; size];
    bytes[..8].copy_from_slice(&label.to_be_bytes());
    Value::new(bytes)
}

#[test]
fn one_signer_cannot_make_the_engine_hold_more_than_its_byte_share() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let size = 256 << 10;
    let limits = net.config().limits.clone();
    let mut accepted = 0usize;
    let mut label = 0u64;
    // Proposals with big values for every buffered future height and, at the current height,
    // two per round in every round of the window where the flooder proposes.
    for height in H.0 + 1..=H.0 + limits.max_future_heights {
        for round in 0..limits.max_rounds_ahead {
            label += 1;
            let m = net.proposal(
                FLOODER,
                Height(height),
                Round(round),
                &big(label, size),
                None,
            );
            if net.deliver(ME, m).is_ok() {
                accepted += size;
            }
        }
    }
    for round in 0..=limits.max_rounds_ahead {
        if net.proposer(H, Round(round)) != FLOODER {
            continue;
        }
        for _ in 0..2 {
            label += 1;
            let m = net.proposal(FLOODER, H, Round(round), &big(label, size), None);
            if net.deliver(ME, m).is_ok() {
                accepted += size;
            }
        }
    }
    let bound = limits.max_buffered_bytes_per_signer;
    assert!(bound <= 4 << 20, "a few MiB at most");
    assert!(
        accepted <= bound,
        "the engine took {} MiB of one signer's values",
        accepted >> 20
    );
    let held = net.engines[ME].buffered_bytes_of(&net.id(FLOODER));
    assert!(held <= bound, "{held}");
    assert!(
        held >= accepted,
        "values are counted at least at their length"
    );
    // It did take what fits: the bound is a share, not a ban.
    assert!(accepted >= bound / 2, "{accepted}");
    // The others' shares are untouched: an honest signer's message of a future height and the
    // current round's proposal still get in.
    let next = Height(H.0 + 1);
    net.deliver(ME, net.vote(1, next, Round(0), VoteKind::Prevote, None))
        .unwrap();
    let honest = net.proposer(H, Round(0));
    if honest != FLOODER {
        net.deliver(ME, net.proposal(honest, H, Round(0), &big(0, size), None))
            .unwrap();
    }
    assert!(net.engines[ME].buffered_bytes() <= 2 * bound);
}

#[test]
fn a_proposer_of_many_rounds_makes_room_by_dropping_its_old_rounds() {
    // An honest proposer of a long height is not locked out by its own old proposals: those of
    // rounds before the current one that hold no locked or valid value give way.
    let mut net = Net::with_config(4, |c| c.limits.max_buffered_bytes_per_signer = 3 << 20);
    net.start(ME, H);
    let size = 1 << 20;
    let p = FLOODER;
    let mut label = 0;
    for round in 0..40u32 {
        if net.proposer(H, Round(round)) == p {
            label += 1;
            net.deliver(
                ME,
                net.proposal(p, H, Round(round), &big(label, size), None),
            )
            .unwrap();
        }
        // Every round times out (no votes): the next one starts.
        net.fire(ME, H, Round(round), TimeoutKind::Propose);
        net.fire(ME, H, Round(round), TimeoutKind::Precommit);
    }
    assert!(label >= 10);
    assert!(net.engines[ME].buffered_bytes_of(&net.id(p)) <= 3 << 20);
}

fn status(net: &Net, signer: usize, height: Height) -> WireMessage {
    WireMessage::Status(
        Status {
            table: net.table,
            height,
            signer: net.id(signer),
        }
        .sign(&net.keys[signer]),
    )
}

fn reply_bytes(outputs: &[Output]) -> usize {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendTo { message, .. } => Some(message.encode().unwrap().len()),
            _ => None,
        })
        .sum()
}

#[test]
fn catch_up_replies_do_not_amplify_requests_tick_after_tick() {
    const SERVER: usize = 0;
    const ASKER: usize = 3;
    let mut net = Net::new(4);
    // Eight heights with 16 KiB values; the asker then pretends to lag behind all of them.
    let alive = [0, 1, 2, 3];
    for h in 1..=8u64 {
        let initial = alive
            .iter()
            .map(|&i| (i, net.start(i, Height(h))))
            .collect();
        let log = net.flood(&alive, initial, |h, r| {
            big(h.0 * 100 + u64::from(r.0), 16 << 10)
        });
        assert_eq!(decisions(&by(&log, SERVER)).len(), 1);
    }
    let limits = net.config().limits;
    // Let the tick of the last decision pass.
    net.handle(SERVER, Input::GossipTick).unwrap();
    let ticks = 12u32;
    let mut requested = 0usize;
    let mut replied = 0usize;
    let mut first_reply = 0usize;
    for tick in 0..ticks {
        // Every tick, the asker claims every height from 1 to 8 (a signed status each).
        let mut this_tick = 0;
        for h in 1..=8u64 {
            let m = status(&net, ASKER, Height(h));
            requested += m.encode().unwrap().len();
            let out = net.deliver(SERVER, m).unwrap();
            this_tick += reply_bytes(&out);
        }
        if tick == 0 {
            first_reply = this_tick;
        }
        // The per-tick budget (at least one decision goes out).
        assert!(this_tick <= limits.catch_up_bytes_per_tick.max(20 << 10));
        replied += this_tick;
        net.handle(SERVER, Input::GossipTick).unwrap();
    }
    let amplification = replied as f64 / requested as f64;
    eprintln!("requested {requested} B, replied {replied} B: x{amplification:.0}");
    assert!(first_reply > 0, "the asker is answered");
    // Every decision at most once per interval: the first answer, and the repeats the interval
    // allows over the run.
    let interval = limits.catch_up_interval_ticks;
    assert!(interval > 1, "longer than one gossip tick");
    let answers = ticks.div_ceil(interval) as usize;
    assert!(
        replied <= answers * first_reply,
        "replied {replied} B over {ticks} ticks; at most {answers} x {first_reply} B allowed"
    );
}
