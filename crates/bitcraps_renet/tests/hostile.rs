//! Hostile input over real UDP: garbage datagrams, impostors, wrong tables and registries,
//! malformed, oversized, other-table and flooding messages from a seated client. Offenders are
//! refused or disconnected with a logged reason naming them; the honest players keep playing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, UdpSocket};

use bevy_bitcraps::bitcraps_consensus::{
    Height, Keypair, PeerId, Round, TableId, Vote, VoteKind, WireMessage,
};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::{BitCrapsConfig, Envelope, SignedStateHash};
use bitcraps_renet::testing::{player_app, NetTable, RawClient};
use bitcraps_renet::{
    ChannelBudget, ClientError, ClientFrame, Lane, LinkState, NetClientConfig, Offence, Refusal,
    RelayFrame, SeatProof, TableTerms,
};
use common::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const HONEST: [usize; 4] = [0, 1, 2, 3];

fn offences(t: &NetTable) -> Vec<Offence> {
    t.relay_state().offences().cloned().collect()
}

/// Pumps `raw` along with the table until `until` holds for the frames it received.
fn pump_until(
    t: &mut NetTable,
    raw: &mut RawClient,
    mut until: impl FnMut(&[RelayFrame]) -> bool,
) -> Vec<RelayFrame> {
    let mut frames = Vec::new();
    let ok = t.run_until(3_000, WALL, |_| {
        frames.extend(raw.pump());
        until(&frames)
    });
    assert!(ok, "raw client: {frames:?}");
    frames
}

fn challenge(frames: &[RelayFrame]) -> Option<[u8; 32]> {
    frames.iter().find_map(|f| match f {
        RelayFrame::Challenge { nonce, .. } => Some(*nonce),
        _ => None,
    })
}

fn refusal(frames: &[RelayFrame]) -> Option<Refusal> {
    frames.iter().find_map(|f| match f {
        RelayFrame::Refused(r) => Some(r.clone()),
        _ => None,
    })
}

fn terms(t: &NetTable) -> TableTerms {
    TableTerms::new(t.table, &Registry::new())
}

/// A raw client that proved `key`'s seat.
fn seated_raw(t: &mut NetTable, key: &Keypair) -> RawClient {
    let mut raw = RawClient::connect(t.relay_addr, &ChannelBudget::default()).unwrap();
    let frames = pump_until(t, &mut raw, |f| challenge(f).is_some());
    let nonce = challenge(&frames).unwrap();
    let proof = SeatProof::sign(key, &nonce, terms(t), raw.client_id());
    raw.send(&ClientFrame::Hello(proof));
    pump_until(t, &mut raw, |f| {
        f.iter().any(|f| matches!(f, RelayFrame::Welcome { .. }))
    });
    raw
}

fn honest_still_seated(t: &NetTable) {
    assert!(t.all_seated(&HONEST), "an honest player lost its seat");
    let stats = t.relay_state().stats();
    assert!(stats.seated >= 4, "{stats:?}");
    for o in offences(t) {
        let honest: Vec<PeerId> = HONEST.iter().map(|i| t.keys[*i].peer_id()).collect();
        assert!(
            o.seat.is_none_or(|s| !honest.contains(&s)),
            "an honest seat was closed: {o}"
        );
    }
}

#[test]
fn garbage_datagrams_at_the_relay_break_nothing() {
    let mut t = bot_table(71, |r| r);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let sprayer = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(71);
    let mut sent = 0u32;
    let target = t.min_height(&HONEST) + 15;
    let ok = t.run_until(20_000, WALL, |t| {
        for _ in 0..20 {
            let len = (rng.next_u32() % 1_600) as usize;
            let mut bytes = vec![0u8; len];
            rng.fill_bytes(&mut bytes);
            if let Some(first) = bytes.first_mut() {
                // netcode packet types 0..=6 reach deeper into its parser.
                *first %= 8;
            }
            let _ = sprayer.send_to(&bytes, t.relay_addr);
            sent += 1;
        }
        t.min_height(&HONEST) >= target && sent >= 2_000
    });
    assert!(ok, "the table kept playing under {sent} garbage datagrams");
    honest_still_seated(&t);
    same_hashes(&t, &HONEST, 15).unwrap();
    assert_eq!(
        t.relay_state().stats().connected,
        4,
        "garbage opened no connection"
    );
}

#[test]
fn a_client_claiming_another_seat_is_refused() {
    let mut t = table_with_free_seat(72);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let victim = t.keys[2].peer_id();
    let victim_client = t.relay_state().client_of(&victim);
    let impostor = Keypair::from_seed([0xEE; 32]);

    // Seat 2's key claimed with the impostor's signature.
    let mut raw = RawClient::connect(t.relay_addr, &ChannelBudget::default()).unwrap();
    let nonce = challenge(&pump_until(&mut t, &mut raw, |f| challenge(f).is_some())).unwrap();
    let mut proof = SeatProof::sign(&impostor, &nonce, terms(&t), raw.client_id());
    proof.peer = victim;
    raw.send(&ClientFrame::Hello(proof));
    let frames = pump_until(&mut t, &mut raw, |f| refusal(f).is_some());
    assert_eq!(refusal(&frames), Some(Refusal::BadProof { peer: victim }));
    assert!(t.run_until(600, WALL, |_| {
        raw.pump();
        !raw.is_connected()
    }));
    let offence = offences(&t).pop().unwrap();
    assert_eq!(offence.client, raw.client_id());
    assert_eq!(offence.refusal, Refusal::BadProof { peer: victim });
    assert!(offence.to_string().contains(&raw.client_id().to_string()));
    assert_eq!(
        t.relay_state().client_of(&victim),
        victim_client,
        "seat 2 kept"
    );

    // A proof made for another connection, replayed.
    let mut replay = RawClient::connect(t.relay_addr, &ChannelBudget::default()).unwrap();
    let nonce = challenge(&pump_until(&mut t, &mut replay, |f| challenge(f).is_some())).unwrap();
    let free = t.keys[4].clone();
    let proof = SeatProof::sign(&free, &nonce, terms(&t), replay.client_id() ^ 1);
    replay.send(&ClientFrame::Hello(proof));
    let frames = pump_until(&mut t, &mut replay, |f| refusal(f).is_some());
    assert_eq!(
        refusal(&frames),
        Some(Refusal::BadProof {
            peer: free.peer_id()
        })
    );

    // A key that is not seated at all comes in as a guest (a newcomer may ask to sit down),
    // but the players give it no vote: the table plays on without counting it.
    let stranger = seated_raw(&mut t, &impostor);
    assert!(
        t.relay_state()
            .guests()
            .any(|(p, c)| p == impostor.peer_id() && c == stranger.client_id()),
        "the stranger is a guest"
    );

    // Negative control: the real key of the free seat is welcomed.
    let raw = seated_raw(&mut t, &free);
    assert_eq!(
        t.relay_state().client_of(&free.peer_id()),
        Some(raw.client_id())
    );
    assert!(progresses(&mut t, &HONEST, 5, 10_000, |_| {}));
    honest_still_seated(&t);
}

fn wrong_terms_player(t: &NetTable, terms: TableTerms) -> bevy::prelude::App {
    let peers = t.keys.iter().map(Keypair::peer_id);
    let config = BitCrapsConfig::new(t.table, t.keys[4].clone(), peers)
        .unwrap()
        .with_fast_timings();
    let net = NetClientConfig {
        terms: Some(terms),
        ..NetClientConfig::new(t.relay_addr)
    };
    player_app(config, net, &mut |_| {})
}

#[test]
fn a_wrong_table_or_registry_is_refused_with_a_clear_message_on_both_sides() {
    let mut t = table_with_free_seat(73);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let ours = terms(&t);
    let mut other_table = ours;
    other_table.table = TableId::from_name("another table");
    let mut other_registry = ours;
    other_registry.registry_hash = [0xAB; 32];
    for theirs in [other_table, other_registry] {
        t.apps.push(wrong_terms_player(&t, theirs));
        let i = t.apps.len() - 1;
        assert!(t.run_until(3_000, WALL, |t| matches!(
            t.client(i).state(),
            LinkState::Refused(_)
        )));
        let expected = ours.mismatch(&theirs).unwrap();
        // The player's side: the relay's reason, and its own reading of the challenge.
        match t.client(i).state() {
            LinkState::Refused(ClientError::Refused { refusal, .. }) => {
                assert_eq!(*refusal, expected)
            }
            other => panic!("unexpected state {other:?}"),
        }
        let message = t.client(i).describe();
        assert!(
            message.contains("wrong table") || message.contains("registry mismatch"),
            "{message}"
        );
        // The relay's side.
        let offence = offences(&t).pop().unwrap();
        assert_eq!(offence.refusal, expected);
        assert_eq!(Some(offence.client), t.client(i).client_id());
        // It does not try again.
        let connections = t.client(i).connections();
        t.run_until(120, WALL, |_| false);
        assert_eq!(t.client(i).connections(), connections);
        t.apps.pop();
    }
    assert!(progresses(&mut t, &HONEST, 5, 10_000, |_| {}));
    honest_still_seated(&t);
}

fn other_table_vote(key: &Keypair) -> Vec<u8> {
    let vote = Vote {
        table: TableId::from_name("elsewhere"),
        height: Height(1),
        round: Round(0),
        kind: VoteKind::Prevote,
        value: None,
        signer: key.peer_id(),
    }
    .sign(key);
    Envelope::Consensus(WireMessage::Vote(vote))
        .encode()
        .unwrap()
}

#[test]
fn a_seated_client_sending_bad_data_is_disconnected_and_named() {
    let mut t = table_with_free_seat(74);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let key = t.keys[4].clone();
    let seat = key.peer_id();
    let foreign_hash = SignedStateHash::sign(&t.keys[0], t.table, Height(0), [1; 32]);
    type Attack = (
        &'static str,
        Box<dyn Fn(&mut RawClient)>,
        fn(&Refusal) -> bool,
    );
    let attacks: Vec<Attack> = vec![
        (
            "bytes that are not a frame",
            Box::new(|raw| raw.send_raw(Lane::Consensus, vec![0xFF; 64])),
            |r| matches!(r, Refusal::Malformed { .. }),
        ),
        (
            "an envelope that does not decode",
            Box::new(|raw| {
                raw.send(&ClientFrame::Packet {
                    to: None,
                    bytes: vec![0, 9, 9, 9],
                })
            }),
            |r| matches!(r, Refusal::Malformed { .. }),
        ),
        (
            "an oversized message",
            Box::new(|raw| {
                raw.send(&ClientFrame::Packet {
                    to: None,
                    bytes: vec![2; 300 * 1024],
                })
            }),
            |r| matches!(r, Refusal::Oversized { .. }),
        ),
        (
            "a vote for another table",
            {
                let key = key.clone();
                Box::new(move |raw| {
                    raw.send(&ClientFrame::Packet {
                        to: None,
                        bytes: other_table_vote(&key),
                    })
                })
            },
            |r| matches!(r, Refusal::OtherTable { .. }),
        ),
        (
            "another seat's state hash",
            Box::new(move |raw| {
                raw.send(&ClientFrame::Packet {
                    to: None,
                    bytes: Envelope::StateHash(foreign_hash.clone()).encode().unwrap(),
                })
            }),
            |r| matches!(r, Refusal::NotYourAnnouncement { .. }),
        ),
        (
            "a message to itself",
            {
                let me = key.peer_id();
                Box::new(move |raw| {
                    raw.send(&ClientFrame::Packet {
                        to: Some(me),
                        bytes: Envelope::Application(vec![1]).encode().unwrap(),
                    })
                })
            },
            |r| matches!(r, Refusal::BadRecipient { .. }),
        ),
        (
            "a flood",
            Box::new(|raw| {
                for nonce in 0..6_000 {
                    raw.send(&ClientFrame::Ping { nonce });
                }
            }),
            |r| matches!(r, Refusal::RateLimited { .. }),
        ),
    ];
    for (what, attack, expected) in attacks {
        let mut raw = seated_raw(&mut t, &key);
        attack(&mut raw);
        let frames = pump_until(&mut t, &mut raw, |f| refusal(f).is_some());
        let got = refusal(&frames).unwrap();
        assert!(expected(&got), "{what}: refused with {got:?}");
        assert!(
            t.run_until(600, WALL, |_| {
                raw.pump();
                !raw.is_connected()
            }),
            "{what}: disconnected"
        );
        let offence = offences(&t).pop().unwrap();
        assert_eq!(offence.client, raw.client_id(), "{what}");
        assert_eq!(offence.seat, Some(seat), "{what}");
        assert!(offence.to_string().contains(&seat.to_string()), "{offence}");
        assert!(
            progresses(&mut t, &HONEST, 2, 10_000, |_| {}),
            "{what}: the others keep playing"
        );
        honest_still_seated(&t);
    }
    // Before the handshake, data is refused too (no seat to name).
    let mut raw = RawClient::connect(t.relay_addr, &ChannelBudget::default()).unwrap();
    pump_until(&mut t, &mut raw, |f| challenge(f).is_some());
    raw.send(&ClientFrame::Packet {
        to: None,
        bytes: Envelope::Application(vec![1]).encode().unwrap(),
    });
    let frames = pump_until(&mut t, &mut raw, |f| refusal(f).is_some());
    assert!(matches!(
        refusal(&frames),
        Some(Refusal::UnexpectedFrame { .. })
    ));
    assert_eq!(offences(&t).pop().unwrap().seat, None);
    same_hashes(&t, &HONEST, 5).unwrap();
    for i in HONEST {
        assert!(seen(&t, i).desync.is_empty());
    }
}

#[test]
fn the_seated_check_fails_when_a_seat_is_closed() {
    // Negative control of `honest_still_seated`: an honest seat replaced by a second connection
    // proving its key is no longer seated on its own connection.
    let mut t = table_with_free_seat(75);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let key = t.keys[1].clone();
    let _raw = seated_raw(&mut t, &key);
    assert!(t.run_until(600, WALL, |t| !t.all_seated(&HONEST)));
    assert!(matches!(
        t.client(1).state(),
        LinkState::Refused(ClientError::Refused {
            refusal: Refusal::Replaced,
            ..
        })
    ));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| honest_still_seated(&t)));
    assert!(result.is_err(), "the check has teeth");
}

/// Proves `key` on a new connection; the frames up to the relay's answer (welcome or refusal).
fn hello(t: &mut NetTable, key: &Keypair) -> (RawClient, Vec<RelayFrame>) {
    let mut raw = RawClient::connect(t.relay_addr, &ChannelBudget::default()).unwrap();
    let nonce = challenge(&pump_until(t, &mut raw, |f| challenge(f).is_some())).unwrap();
    let proof = SeatProof::sign(key, &nonce, terms(t), raw.client_id());
    raw.send(&ClientFrame::Hello(proof));
    let frames = pump_until(t, &mut raw, |f| {
        f.iter()
            .any(|f| matches!(f, RelayFrame::Welcome { .. } | RelayFrame::Refused(_)))
    });
    (raw, frames)
}

fn welcomed(frames: &[RelayFrame]) -> bool {
    frames
        .iter()
        .any(|f| matches!(f, RelayFrame::Welcome { .. }))
}

#[test]
fn newcomers_are_bounded_in_number_and_per_address() {
    let stranger = |i: u8| Keypair::from_seed([0xA0 + i; 32]);
    // At most one guest from one address.
    let mut t = NetTable::new(
        4,
        74,
        |mut r| {
            r.limits.max_guests_per_ip = 1;
            r
        },
        |_, c| c,
        &mut bots,
    )
    .unwrap();
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let (first, frames) = hello(&mut t, &stranger(1));
    assert!(welcomed(&frames), "{frames:?}");
    let (_, frames) = hello(&mut t, &stranger(2));
    assert!(
        matches!(
            refusal(&frames),
            Some(Refusal::TooManyGuestsFrom { limit: 1, ref ip }) if ip == "127.0.0.1"
        ),
        "{frames:?}"
    );
    // The same newcomer reconnecting replaces its own connection: not a second guest.
    let (_, frames) = hello(&mut t, &stranger(1));
    assert!(welcomed(&frames), "{frames:?}");
    drop(first);
    // A genesis seat never counts as a guest: seat 0 reconnecting is welcomed.
    let seat = t.keys[0].clone();
    let (_, frames) = hello(&mut t, &seat);
    assert!(welcomed(&frames), "{frames:?}");

    // At most one guest in all.
    let mut t = NetTable::new(
        4,
        75,
        |mut r| {
            r.limits.max_guests = 1;
            r
        },
        |_, c| c,
        &mut bots,
    )
    .unwrap();
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let (_guest, frames) = hello(&mut t, &stranger(3));
    assert!(welcomed(&frames), "{frames:?}");
    let (_, frames) = hello(&mut t, &stranger(4));
    assert_eq!(
        refusal(&frames),
        Some(Refusal::TooManyGuests { limit: 1 }),
        "{frames:?}"
    );
    assert!(progresses(&mut t, &HONEST, 5, 10_000, |_| {}));
    honest_still_seated(&t);
    assert_eq!(t.relay_state().guests().count(), 1);
}

#[test]
fn a_message_to_a_key_with_no_connection_is_dropped_not_punished() {
    let mut t = table_with_free_seat(76);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&HONEST)));
    let key = t.keys[4].clone();
    let mut raw = seated_raw(&mut t, &key);
    raw.send(&ClientFrame::Packet {
        to: Some(PeerId([9; 32])),
        bytes: Envelope::Application(vec![1]).encode().unwrap(),
    });
    assert!(t.run_until(3_000, WALL, |t| {
        raw.pump();
        t.relay_state().stats().unroutable >= 1
    }));
    assert!(raw.is_connected(), "the sender is not punished");
    assert!(offences(&t).is_empty(), "{:?}", offences(&t));
}
