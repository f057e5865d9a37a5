//! What a player (its relay client and its lobby client) decodes from a relay:
//! `bitcraps_renet::protocol::decode` of a `RelayFrame` with the frame limit, then what the
//! player does with each kind — answers a challenge (compares terms), checks a genesis for its
//! lobby and for a running table and builds its configuration from it, decodes a packet's
//! envelope, shows a refusal or the lobby. What decodes must round-trip; nothing may panic.
#![no_main]

use bevy_bitcraps::Envelope;
use bitcraps_fuzz::{check_round_trip, fixture};
use bitcraps_game::Registry;
use bitcraps_renet::protocol::{decode, encode};
use bitcraps_renet::{ChannelBudget, LobbyTerms, RelayFrame, TableTerms};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let budget = ChannelBudget::default();
    let limit = budget.max_frame_bytes();
    let Ok(frame) = decode::<RelayFrame>(data, limit) else {
        return;
    };
    check_round_trip("relay frame", data, &frame, encode, |b| {
        decode::<RelayFrame>(b, limit)
    });
    let f = fixture();
    let me = &f.keys[0];
    let registry = Registry::new();
    let ours = TableTerms::new(f.consensus_table, &registry);
    let check_genesis = |genesis: &bitcraps_renet::Genesis, terms: Option<&LobbyTerms>| {
        let checked = match terms {
            // On a clock at the table's formation (the time checks pass, the rest is read),
            // and on one far from it (the formation-time refusal and its words).
            Some(terms) => {
                let far = genesis.check(&me.peer_id(), terms, genesis.formed_ms ^ (1 << 40));
                let _ = far.map_err(|e| e.to_string());
                genesis.check(&me.peer_id(), terms, genesis.formed_ms)
            }
            None => genesis
                .check_running(&registry.hash())
                .and_then(|()| genesis.check_formed_by(genesis.formed_ms)),
        };
        let _ = checked.as_ref().map_err(|e| e.to_string());
        let _ = genesis.describe_seats();
        if checked.is_ok() {
            let _ = genesis
                .newcomer_config(me.clone())
                .map_err(|e| e.to_string());
        }
    };
    match frame {
        RelayFrame::Challenge { terms, .. } => {
            let _ = ours.mismatch(&terms).map(|r| r.to_string());
        }
        RelayFrame::Welcome { peer: _, online } => {
            let _ = online.contains(&me.peer_id());
        }
        RelayFrame::Refused(refusal) => {
            let _ = refusal.to_string();
        }
        RelayFrame::Packet { from: _, bytes } => {
            if let Ok(envelope) = Envelope::decode(&bytes, budget.max_message_bytes) {
                let _ = envelope.encode();
            }
        }
        RelayFrame::Pong { nonce: _ } => {}
        RelayFrame::LobbyChallenge { terms, .. } => {
            let _ = terms.mismatch(&registry.hash()).map(|r| r.to_string());
        }
        RelayFrame::Lobby(status) => {
            let _ = (status.joined.len(), status.players);
        }
        RelayFrame::Genesis(genesis) => {
            let terms = LobbyTerms {
                lobby: genesis.lobby,
                protocol_version: ours.protocol_version,
                registry_hash: registry.hash(),
                players: u16::try_from(genesis.seats.len()).unwrap_or(u16::MAX),
            };
            check_genesis(&genesis, Some(&terms));
        }
        RelayFrame::Running(genesis) => check_genesis(&genesis, None),
    }
});
