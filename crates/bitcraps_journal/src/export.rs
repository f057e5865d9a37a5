//! A hand history in JSON for other tools: the table, then every decided height with its block
//! time, operations, events, state hash and certificate signers, and the table's close (its
//! height, every final balance and the bank) if it closed. Keys, hashes, nonces and
//! signatures are hex strings.
//!
//! Exporting reads the records as they are and checks only their checksums; run
//! [`crate::verify_journal`] to know whether the history is sound.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value as Json};

use bitcraps_game::Block;

use crate::error::{hex, JournalError};
use crate::reads::{check_format, read_config, read_heights};
use crate::report::ClosingSummary;
use crate::store;

/// Format tag of the hand history.
pub const HAND_HISTORY_FORMAT: &str = "bitcraps-hand-history/v1";
/// Heights read from the journal at a time while exporting.
const BATCH: usize = 512;

/// Writes the hand history of the journal at `path` to `out` as one JSON object:
///
/// ```text
/// { "format": "bitcraps-hand-history/v1", "table": hex, "config_hash": hex,
///   "genesis_time_ms": n, "bank_stake": n, "seats": [{"seat", "peer", "stack"}], "rules": {..},
///   "heights": [{"height", "timestamp_ms", "state_hash", "round", "signers": [hex],
///                "operations": [{"author", "nonce", "op": {..}}], "events": [{..}]}],
///   "closed": null | {"height", "final_balances": [{"seat", "peer", "cashed_out"}], "bank"} }
/// ```
///
/// `closed` is the close stated by the first `TableClosed` event among the exported heights.
///
/// The file is never changed. Heights are streamed, so long sessions need little memory.
pub fn export_json(path: impl AsRef<Path>, mut out: impl Write) -> Result<(), JournalError> {
    let path = path.as_ref();
    let db = store::open_image(path)?;
    check_format(&db, path)?;
    let config = read_config(&db, path)?;
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let seats: Vec<Json> = config
        .seats
        .iter()
        .enumerate()
        .map(|(i, s)| json!({ "seat": i, "peer": hex(s.peer.as_bytes()), "stack": s.stack }))
        .collect();
    let head = json!({
        "format": HAND_HISTORY_FORMAT,
        "table": hex(config.table_id.as_bytes()),
        "config_hash": hex(&config.hash()),
        "genesis_time_ms": config.genesis_time_ms,
        "bank_stake": config.bank_stake,
        "seats": seats,
        "rules": readable(&config.rules)?,
    });
    // The header object without its closing brace, then the heights array.
    let head = serde_json::to_string(&head)?;
    let open = head.strip_suffix('}').unwrap_or(&head);
    write!(out, "{open},\"heights\":[").map_err(io)?;
    let mut from = 1;
    let mut first = true;
    let mut closed = None;
    loop {
        let batch = read_heights(&db, path, from, BATCH)?;
        let Some(last) = batch.last().map(|h| h.height) else {
            break;
        };
        for stored in &batch {
            let block = Block::from_value(&stored.value).map_err(|e| JournalError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("block at height {}: {e}", stored.height),
            })?;
            let operations = block
                .ops
                .iter()
                .map(|entry| match entry {
                    bitcraps_game::BlockEntry::Op(op) => Ok(json!({
                        "author": hex(op.author.as_bytes()),
                        "nonce": op.nonce,
                        "op": readable(&op.op)?,
                    })),
                    bitcraps_game::BlockEntry::Failed(failed) => Ok(json!({
                        "author": hex(failed.author.as_bytes()),
                        "nonce": failed.nonce,
                        "failed_without_body": {
                            "kind": format!("{:?}", failed.kind),
                            "body_bytes": failed.body.len,
                            "body_sha256": hex(&failed.body.hash),
                        },
                    })),
                })
                .collect::<Result<Vec<Json>, JournalError>>()?;
            if closed.is_none() {
                closed = ClosingSummary::from_events(stored.height, &stored.events);
            }
            let events = stored
                .events
                .iter()
                .map(readable)
                .collect::<Result<Vec<Json>, JournalError>>()?;
            let entry = json!({
                "height": stored.height,
                "timestamp_ms": block.timestamp_ms,
                "state_hash": hex(&stored.state_hash),
                "round": stored.certificate.round.0,
                "signers": stored.certificate.signers().map(|p| hex(p.as_bytes())).collect::<Vec<_>>(),
                "operations": operations,
                "events": events,
            });
            if !first {
                out.write_all(b",").map_err(io)?;
            }
            first = false;
            serde_json::to_writer(&mut out, &entry)?;
        }
        from = last.saturating_add(1);
    }
    out.write_all(b"],\"closed\":").map_err(io)?;
    serde_json::to_writer(&mut out, &closed)?;
    out.write_all(b"}\n").map_err(io)?;
    out.flush().map_err(io)
}

/// A value as JSON with byte arrays (keys, hashes, nonces, signatures) as hex strings.
fn readable(value: &impl Serialize) -> Result<Json, JournalError> {
    Ok(hexify(serde_json::to_value(value)?))
}

/// Replaces arrays of 32 or 64 byte values by their hex string.
fn hexify(value: Json) -> Json {
    match value {
        Json::Array(items) => {
            let bytes: Option<Vec<u8>> = if matches!(items.len(), 32 | 64) {
                items
                    .iter()
                    .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                    .collect()
            } else {
                None
            };
            match bytes {
                Some(bytes) => Json::String(hex(&bytes)),
                None => Json::Array(items.into_iter().map(hexify).collect()),
            }
        }
        Json::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k, hexify(v))).collect()),
        other => other,
    }
}
