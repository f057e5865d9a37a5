//! What a relay or a lobby decodes from a player: `bitcraps_renet::protocol::decode` of a
//! `ClientFrame` with the relay's frame limit, then what the relay does with each kind — checks
//! the seat or lobby proof against a challenge and its terms, checks a resumed table's genesis,
//! decodes a packet's envelope (with the relay's message limit) and peeks at its lane. What
//! decodes must round-trip; nothing may panic.
#![no_main]

use bevy_bitcraps::Envelope;
use bitcraps_fuzz::{check_round_trip, fixture};
use bitcraps_game::Registry;
use bitcraps_renet::protocol::{decode, encode};
use bitcraps_renet::{ChannelBudget, ClientFrame, Lane, TableTerms};
use libfuzzer_sys::fuzz_target;

const CHALLENGE: [u8; 32] = [7; 32];
const CLIENT_ID: u64 = 42;

fuzz_target!(|data: &[u8]| {
    let budget = ChannelBudget::default();
    let limit = budget.max_frame_bytes();
    let Ok(frame) = decode::<ClientFrame>(data, limit) else {
        return;
    };
    check_round_trip("client frame", data, &frame, encode, |b| {
        decode::<ClientFrame>(b, limit)
    });
    let registry = Registry::new();
    let ours = TableTerms::new(fixture().consensus_table, &registry);
    match frame {
        ClientFrame::Hello(proof) => {
            let _ = ours.mismatch(&proof.terms).map(|r| r.to_string());
            let _ = proof.verify(&CHALLENGE, CLIENT_ID);
        }
        ClientFrame::Packet { to: _, bytes } => {
            let _ = Lane::of_envelope(&bytes);
            if bytes.len() <= budget.max_message_bytes {
                if let Ok(envelope) = Envelope::decode(&bytes, budget.max_message_bytes) {
                    let _ = envelope.encode();
                }
            }
        }
        ClientFrame::Ping { nonce: _ } => {}
        ClientFrame::Join(proof) => {
            let _ = proof
                .terms
                .mismatch(&registry.hash())
                .map(|r| r.to_string());
            let _ = proof.verify(&CHALLENGE, CLIENT_ID);
        }
        ClientFrame::Resume { genesis, proof } => {
            let _ = genesis
                .check_running(&registry.hash())
                .map_err(|e| e.to_string());
            let _ = proof.terms == genesis.terms && proof.verify(&CHALLENGE, CLIENT_ID);
            let _ = genesis.seats(&proof.peer);
            let _ = genesis.describe_seats();
        }
    }
});
