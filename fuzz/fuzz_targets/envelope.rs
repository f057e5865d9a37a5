//! The plugin's envelopes (`bevy_bitcraps::Envelope::decode`), as a player decodes a packet from
//! the transport, with the relay's size limit: what decodes must round-trip; a state-hash
//! statement is verified, an application payload is decoded as a game operation (what the game
//! plugin does with it), a consensus message is verified; the lane a relay picks from the first
//! two bytes must match the message for canonical bytes.
#![no_main]

use bevy_bitcraps::game_app::decode_op;
use bevy_bitcraps::Envelope;
use bitcraps_consensus::WireMessage;
use bitcraps_fuzz::{check_round_trip, fixture};
use bitcraps_renet::{ChannelBudget, Lane};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limit = ChannelBudget::default().max_message_bytes;
    let Ok(envelope) = Envelope::decode(data, limit) else {
        return;
    };
    let canonical = check_round_trip("envelope", data, &envelope, Envelope::encode, |b| {
        Envelope::decode(b, limit)
    });
    let f = fixture();
    let catch_up = matches!(
        envelope,
        Envelope::Consensus(WireMessage::Decision(_) | WireMessage::Status(_))
    );
    assert_eq!(
        Lane::of_envelope(&canonical) == Lane::CatchUp,
        catch_up,
        "the lane peek disagrees with the decoded envelope"
    );
    match envelope {
        Envelope::Consensus(message) => {
            let _ = message.verify(&f.consensus_table, &f.participants);
        }
        Envelope::StateHash(statement) => {
            let _ = statement.verify(&f.consensus_table, &f.participants);
        }
        Envelope::Application(bytes) => {
            if let Some(op) = decode_op(&bytes) {
                let _ = op.verify(&f.op_table);
            }
        }
    }
});
