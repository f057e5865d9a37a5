//! Writes the seed corpus of every fuzz target but `netcode_wire` (whose seeds are made by hand)
//! to `fuzz/seeds/<target>/`: valid inputs of each kind, built from an honest demo table (signed
//! messages, blocks, operations, frames, records, a saved table, a seat key file), so the fuzzer
//! starts from bytes that decode. Run once after a change of the formats
//! (`cd fuzz && cargo run --release --example seeds`); the seeds are committed.

use std::path::{Path, PathBuf};

use bevy_bitcraps::envelope::SignedStateHash;
use bevy_bitcraps::game_app::encode_op;
use bevy_bitcraps::Envelope;
use bitcraps_consensus::{
    codec, Decision, Evidence, Height, PersistentState, Round, SignedProposal, SigningGuard,
    Status, Vote, VoteKind, WireMessage, PROTOCOL_VERSION,
};
use bitcraps_fuzz::fixture;
use bitcraps_game::{BlockEntry, Operation, Registry, SignedOp};
use bitcraps_journal::record_check::RecordKind;
use bitcraps_journal::EvidenceRecord;
use bitcraps_renet::lobby::LobbyProof;
use bitcraps_renet::protocol::encode;
use bitcraps_renet::{
    ClientFrame, Genesis, LobbyStatus, LobbyTerms, Refusal, RelayFrame, SavedTable, SeatProof,
    TableTerms,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let f = fixture();
    let table = f.consensus_table;
    let keys = &f.keys;
    let registry = Registry::new();

    // Consensus messages.
    let first = &f.heights[0];
    let value = first.value.clone();
    let vote = |kind, value| {
        Vote {
            table,
            height: Height(1),
            round: Round(0),
            kind,
            value,
            signer: keys[1].peer_id(),
        }
        .sign(&keys[1])
    };
    let prevote = vote(VoteKind::Prevote, Some(value.id()));
    let other = vote(VoteKind::Prevote, None);
    let messages = [
        (
            "proposal",
            WireMessage::Proposal(SignedProposal::sign(
                &keys[0],
                table,
                Height(1),
                Round(0),
                value.clone(),
                None,
            )),
        ),
        ("prevote", WireMessage::Vote(prevote.clone())),
        (
            "precommit-nil",
            WireMessage::Vote(vote(VoteKind::Precommit, None)),
        ),
        (
            "status",
            WireMessage::Status(
                Status {
                    table,
                    height: Height(3),
                    signer: keys[2].peer_id(),
                }
                .sign(&keys[2]),
            ),
        ),
        (
            "decision",
            WireMessage::Decision(Decision {
                certificate: first.certificate.clone(),
                value: value.clone(),
            }),
        ),
    ];
    let mut envelopes = Vec::new();
    for (name, message) in &messages {
        write(&root, "wire_message", name, &message.encode()?)?;
        envelopes.push((name.to_string(), Envelope::Consensus(message.clone())));
    }
    envelopes.push((
        "state-hash".into(),
        Envelope::StateHash(SignedStateHash::sign(
            &keys[3],
            table,
            Height(1),
            first.state.hash(),
        )),
    ));

    // Operations and blocks.
    let mut ops: Vec<SignedOp> = Vec::new();
    for (i, height) in f.heights.iter().enumerate() {
        let block = height.block()?;
        let mut bytes = vec![u8::try_from(i)?];
        bytes.extend_from_slice(height.value.bytes());
        write(&root, "block", &format!("height-{}", i + 1), &bytes)?;
        for entry in block.ops {
            if let BlockEntry::Op(op) = entry {
                if !ops.iter().any(|o| o.op.kind() == op.op.kind()) {
                    ops.push(op);
                }
            }
        }
    }
    let stranger = bitcraps_consensus::Keypair::from_seed([200; 32]);
    ops.push(SignedOp::sign(
        &stranger,
        &f.op_table,
        1,
        Operation::Join { buy_in: 1_000 },
    )?);
    let evidence = Evidence::DoubleVote {
        first: prevote,
        second: other,
    };
    for (i, op) in ops.iter().enumerate() {
        let bytes = encode_op(op).ok_or("an operation that does not encode")?;
        write(&root, "game_op", &format!("op-{i}"), &bytes)?;
        envelopes.push((format!("op-{i}"), Envelope::Application(bytes)));
    }
    for (name, envelope) in &envelopes {
        write(&root, "envelope", name, &envelope.encode()?)?;
    }

    // Relay and lobby frames.
    let seats: Vec<_> = keys.iter().map(|k| k.peer_id()).collect();
    let (lobby, nonce) = ([3; 32], [4; 32]);
    let terms = TableTerms {
        table: Genesis::table_id(&lobby, &seats, &nonce, 1_800_000_000_000),
        protocol_version: PROTOCOL_VERSION,
        registry_hash: registry.hash(),
    };
    let genesis = Genesis {
        lobby,
        seats: seats.clone(),
        nonce,
        formed_ms: 1_800_000_000_000,
        terms,
    };
    let lobby_terms = LobbyTerms {
        lobby,
        protocol_version: PROTOCOL_VERSION,
        registry_hash: registry.hash(),
        players: 4,
    };
    let challenge = [7; 32];
    let packet = envelopes[1].1.encode()?;
    let client_frames = [
        (
            "hello",
            ClientFrame::Hello(SeatProof::sign(&keys[0], &challenge, terms, 42)),
        ),
        (
            "packet-all",
            ClientFrame::Packet {
                to: None,
                bytes: packet.clone(),
            },
        ),
        (
            "packet-one",
            ClientFrame::Packet {
                to: Some(seats[1]),
                bytes: envelopes[0].1.encode()?,
            },
        ),
        ("ping", ClientFrame::Ping { nonce: 5 }),
        (
            "join",
            ClientFrame::Join(LobbyProof::sign(&keys[1], &challenge, lobby_terms, 42)),
        ),
        (
            "resume",
            ClientFrame::Resume {
                genesis: genesis.clone(),
                proof: SeatProof::sign(&keys[2], &challenge, terms, 42),
            },
        ),
    ];
    for (name, frame) in &client_frames {
        write(&root, "client_frame", name, &encode(frame)?)?;
    }
    let relay_frames = [
        (
            "challenge",
            RelayFrame::Challenge {
                nonce: challenge,
                terms,
                client_id: 42,
            },
        ),
        (
            "welcome",
            RelayFrame::Welcome {
                peer: seats[0],
                online: seats.clone(),
            },
        ),
        (
            "refused",
            RelayFrame::Refused(Refusal::Malformed {
                reason: "frame: junk".into(),
            }),
        ),
        (
            "packet",
            RelayFrame::Packet {
                from: seats[1],
                bytes: packet,
            },
        ),
        ("pong", RelayFrame::Pong { nonce: 5 }),
        (
            "lobby-challenge",
            RelayFrame::LobbyChallenge {
                nonce: challenge,
                terms: lobby_terms,
                client_id: 42,
            },
        ),
        (
            "lobby",
            RelayFrame::Lobby(LobbyStatus {
                joined: seats[..2].to_vec(),
                players: 4,
            }),
        ),
        ("genesis", RelayFrame::Genesis(genesis.clone())),
        ("running", RelayFrame::Running(genesis.clone())),
    ];
    for (name, frame) in &relay_frames {
        write(&root, "relay_frame", name, &encode(frame)?)?;
    }

    // The saved table.
    let saved = SavedTable {
        relay: "127.0.0.1:40000".parse()?,
        genesis,
    };
    write(&root, "saved_table", "saved", &saved.encode()?)?;

    // Journal records: [kind, key, payload...] (the target seals the payload).
    let record = |kind: RecordKind, key: u8, payload: &[u8]| -> Result<Vec<u8>> {
        let index = RecordKind::ALL
            .iter()
            .position(|k| *k == kind)
            .ok_or("no such kind")?;
        let mut out = vec![u8::try_from(index)?, key];
        out.extend_from_slice(payload);
        Ok(out)
    };
    let decided = codec::encode(&(&first.certificate, first.state.hash(), &first.events))?;
    let records = [
        (
            "format",
            record(RecordKind::Format, 0, &1u32.to_be_bytes())?,
        ),
        (
            "config",
            record(RecordKind::Config, 0, &codec::encode(f.states[0].config())?)?,
        ),
        ("block", record(RecordKind::Block, 1, value.bytes())?),
        ("decided", record(RecordKind::Decided, 1, &decided)?),
        (
            "guard",
            record(
                RecordKind::Guard,
                0,
                &codec::encode(&PersistentState {
                    height: Height(2),
                    round: Round(1),
                    locked: Some((Round(0), value.clone())),
                    valid: Some((Round(0), value.clone())),
                    guard: SigningGuard::default(),
                })?,
            )?,
        ),
        (
            "evidence",
            record(
                RecordKind::Evidence,
                0,
                &codec::encode(&EvidenceRecord {
                    recorded_at: 1,
                    evidence,
                })?,
            )?,
        ),
        (
            "own-op",
            record(RecordKind::OwnOp, 1, &encode_op(&ops[0]).ok_or("op")?)?,
        ),
    ];
    for (name, bytes) in &records {
        write(&root, "journal_record", name, bytes)?;
    }

    // The seat key file.
    let hex: String = keys[0].seed().iter().map(|b| format!("{b:02x}")).collect();
    let header = bitcraps_journal::identity::IDENTITY_HEADER;
    write(
        &root,
        "identity_file",
        "key",
        format!("{header}\n{hex}\n").as_bytes(),
    )?;
    write(
        &root,
        "identity_file",
        "key-crlf-upper",
        format!("{header}\r\n{}\r\n", hex.to_uppercase()).as_bytes(),
    )?;
    println!("seeds written to {}", root.display());
    Ok(())
}
