//! `bitcraps`: the BitCraps desktop binary.
//!
//! Until the 3D table lands, `cargo run --release` plays a local table in the terminal: the
//! local player and `--bots` bot players, each a full consensus participant with its own key,
//! agree on `--heights` values over an in-memory network, and every decision is printed with
//! its commit certificate.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;

use bitcraps::consensus::{
    Engine, EngineConfig, Height, Input, Keypair, Output, ParticipantSet, TableId, Value,
    WireMessage,
};
use clap::Parser;

/// Trustless peer-to-peer craps, agreed by Byzantine-fault-tolerant consensus.
#[derive(Parser, Debug)]
#[command(name = "bitcraps", version, about)]
struct Cli {
    /// Bot players besides you (a table needs at least 4 participants).
    #[arg(long, default_value_t = 3)]
    bots: usize,
    /// Heights (table changes) to agree on before exiting.
    #[arg(long, default_value_t = 10)]
    heights: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let n = cli.bots + 1;
    let keys: Vec<Keypair> = (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            Keypair::from_seed(seed)
        })
        .collect();
    let participants = match ParticipantSet::new(keys.iter().map(Keypair::peer_id)) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("error: {e} (use --bots 3 or more)");
            return ExitCode::from(2);
        }
    };
    let table = TableId::from_name("local table");
    let mut engines: Vec<Engine> = keys
        .iter()
        .map(|k| Engine::new(EngineConfig::new(table), k.clone(), participants.clone()))
        .collect();
    let valid = |h: Height, v: &Value| v.bytes().starts_with(&h.0.to_be_bytes());
    println!(
        "BitCraps local table: you + {} bots, f = {} Byzantine players tolerated, quorum {}",
        cli.bots,
        participants.max_faulty(),
        participants.quorum()
    );
    let mut queue: VecDeque<(usize, Input)> =
        (0..n).map(|i| (i, Input::StartHeight(Height(1)))).collect();
    let mut decided = 0u64;
    while let Some((to, input)) = queue.pop_front() {
        let outputs = match engines[to].handle(input, &valid) {
            Ok(outputs) => outputs,
            Err(e) => {
                eprintln!("node {to} refused an input: {e}");
                continue;
            }
        };
        for output in outputs {
            match output {
                Output::Broadcast(message) => {
                    deliver(&engines, to, &message, &mut queue);
                }
                Output::RequestValue { height, round } => {
                    let mut bytes = height.0.to_be_bytes().to_vec();
                    bytes.extend_from_slice(format!("batch proposed by player {to}").as_bytes());
                    queue.push_back((
                        to,
                        Input::ValueReady {
                            height,
                            round,
                            value: Value::new(bytes),
                        },
                    ));
                }
                Output::Decided {
                    height,
                    round,
                    value,
                    certificate,
                } => {
                    if to == 0 {
                        decided = height.0;
                        println!(
                            "{height} decided in {round}: {:?} ({} precommits, certificate {})",
                            String::from_utf8_lossy(&value.bytes()[8..]),
                            certificate.precommits.len(),
                            if certificate.verify(&table, &participants).is_ok() {
                                "verifies"
                            } else {
                                "DOES NOT VERIFY"
                            }
                        );
                    }
                    if height.0 < cli.heights {
                        queue.push_back((to, Input::StartHeight(height.next())));
                    }
                }
                // No clock in this quick demo: the network is perfect, so no timeout is needed.
                _ => {}
            }
        }
    }
    if decided >= cli.heights {
        ExitCode::SUCCESS
    } else {
        eprintln!("stopped at height {decided} of {}", cli.heights);
        ExitCode::FAILURE
    }
}

fn deliver(
    engines: &[Engine],
    from: usize,
    message: &WireMessage,
    queue: &mut VecDeque<(usize, Input)>,
) {
    for (to, engine) in engines.iter().enumerate() {
        if to == from {
            continue;
        }
        match engine.verify(message.clone()) {
            Ok(verified) => queue.push_back((to, Input::Message(verified))),
            Err(e) => eprintln!("node {to} rejected a message from node {from}: {e}"),
        }
    }
}
