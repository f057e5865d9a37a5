//! A player's side of the lobby ([`crate::lobby`]): connect, prove the identity key, wait for
//! the other players, and receive (and check) the table's genesis. Blocking: it runs before the
//! player's App exists, since the table it will play is not known yet.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bevy_bitcraps::bitcraps_consensus::{Keypair, PROTOCOL_VERSION};
use bevy_bitcraps::wall_clock_ms;
use bevy_renet::netcode::NetcodeClientTransport;
use bevy_renet::RenetClient;

use crate::client::open_connection;
use crate::error::{netcode_reason, relay_answered, Refusal, SetupError};
use crate::lobby::{Genesis, GenesisError, LobbyProof, LobbyStatus, LobbyTerms};
use crate::protocol::{self, ChannelBudget, ClientFrame, Lane, RelayFrame};

/// How a player joins a lobby.
#[derive(Clone, Debug)]
pub struct LobbyJoin {
    /// The relay's address.
    pub relay: SocketAddr,
    /// The player's identity key (its seat if it is seated).
    pub key: Keypair,
    /// The registry hash of the player's build.
    pub registry_hash: [u8; 32],
    /// Channel budget (the relay's must be the same).
    pub budget: ChannelBudget,
    /// Give up if the relay does not answer within this time.
    pub connect_timeout: Duration,
    /// Give up if the table is not formed within this time (`None`: wait as long as it takes).
    pub wait_timeout: Option<Duration>,
}

impl LobbyJoin {
    /// Joins the lobby at `relay` with `key`, for a build with `registry_hash`.
    pub fn new(relay: SocketAddr, key: Keypair, registry_hash: [u8; 32]) -> LobbyJoin {
        LobbyJoin {
            relay,
            key,
            registry_hash,
            budget: ChannelBudget::default(),
            connect_timeout: Duration::from_secs(10),
            wait_timeout: None,
        }
    }
}

/// Why a player could not get a seat from a lobby.
#[derive(Debug, thiserror::Error)]
pub enum LobbyError {
    /// The connection could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Nothing answered at the address.
    #[error(
        "no BitCraps relay answered at {relay} within {seconds} s ({reason}): check the address \
         and that the host is running"
    )]
    Unreachable {
        /// The address.
        relay: SocketAddr,
        /// The time waited.
        seconds: u64,
        /// What netcode said.
        reason: String,
    },
    /// The relay refused the player.
    #[error("the relay at {relay} refused to seat you: {refusal}")]
    Refused {
        /// The address.
        relay: SocketAddr,
        /// Why.
        refusal: Refusal,
    },
    /// The relay's genesis is not a table this player can play.
    #[error("the relay at {relay} sent a bad genesis: {error}")]
    Genesis {
        /// The address.
        relay: SocketAddr,
        /// What is wrong.
        error: GenesisError,
    },
    /// The relay sent something a lobby does not send.
    #[error("the relay at {relay} does not follow the lobby protocol: {what}")]
    Protocol {
        /// The address.
        relay: SocketAddr,
        /// What arrived.
        what: String,
    },
    /// A relay answered at the address but did not let the player connect.
    #[error(
        "the relay at {relay} answered but did not let you in: {reason}; try again in a moment"
    )]
    NotConnected {
        /// The address.
        relay: SocketAddr,
        /// What netcode said, in words.
        reason: String,
    },
    /// The connection was lost before the table formed.
    #[error("connection to the relay at {relay} lost in the lobby: {reason}")]
    Lost {
        /// The address.
        relay: SocketAddr,
        /// What netcode or renet said.
        reason: String,
    },
    /// The table did not form in time.
    #[error("the table at {relay} did not fill within {seconds} s")]
    Timeout {
        /// The address.
        relay: SocketAddr,
        /// The time waited.
        seconds: u64,
    },
}

/// One pass of the network: receive, then the frames that arrived.
fn pump(
    client: &mut RenetClient,
    transport: &mut NetcodeClientTransport,
    elapsed: Duration,
    limit: usize,
) -> Vec<Result<RelayFrame, String>> {
    client.update(elapsed);
    // An error here only reports a closed connection, which the caller checks.
    let _ = transport.update(elapsed, client);
    let mut frames = Vec::new();
    for lane in Lane::ALL {
        while let Some(bytes) = client.receive_message(lane.channel()) {
            frames.push(protocol::decode(&bytes, limit).map_err(|e| e.to_string()));
        }
    }
    frames
}

fn send(client: &mut RenetClient, frame: &ClientFrame) {
    match protocol::encode(frame) {
        Ok(bytes) => client.send_message(Lane::Consensus.channel(), bytes),
        Err(e) => log::error!("cannot encode a lobby frame: {e}"),
    }
}

/// What a lobby join found at the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LobbyOutcome {
    /// The lobby formed a table with this player seated ([`Genesis::check`]).
    Formed(Genesis),
    /// The relay's table already plays ([`Genesis::check_running`]): the player is a newcomer
    /// who may ask the table to sit down (or, if its key holds a genesis seat, a player that
    /// lost its saved table and catches up).
    Running(Genesis),
}

impl LobbyOutcome {
    /// The table's genesis.
    pub fn genesis(&self) -> &Genesis {
        match self {
            LobbyOutcome::Formed(g) | LobbyOutcome::Running(g) => g,
        }
    }
}

/// Joins the lobby, calls `on_status` at every change of who is in, and returns the table's
/// genesis once it is formed and checked ([`LobbyOutcome::Formed`]), or the genesis of the
/// table that already plays there ([`LobbyOutcome::Running`]). The lobby connection is closed
/// on return; the player then joins the seated relay at the same address with
/// [`crate::join_plugin`].
pub fn join_lobby(
    join: &LobbyJoin,
    mut on_status: impl FnMut(&LobbyStatus),
) -> Result<LobbyOutcome, LobbyError> {
    let relay = join.relay;
    let (mut client, mut transport) = open_connection(relay, &join.budget)?;
    let client_id = transport.client_id();
    let limit = join.budget.max_frame_bytes();
    let started = Instant::now();
    let mut last = Instant::now();
    let mut connected = false;
    let mut terms: Option<LobbyTerms> = None;
    let result = loop {
        let elapsed = last.elapsed();
        last = Instant::now();
        let frames = pump(&mut client, &mut transport, elapsed, limit);
        connected |= client.is_connected();
        let mut outcome = None;
        for frame in frames {
            let frame = match frame {
                Ok(frame) => frame,
                Err(reason) => {
                    log::warn!("the relay at {relay} sent a malformed frame: {reason}");
                    continue;
                }
            };
            match frame {
                RelayFrame::LobbyChallenge {
                    nonce, terms: t, ..
                } => {
                    let ours = LobbyTerms {
                        protocol_version: PROTOCOL_VERSION,
                        registry_hash: join.registry_hash,
                        ..t
                    };
                    terms = Some(t);
                    let proof = LobbyProof::sign(&join.key, &nonce, ours, client_id);
                    send(&mut client, &ClientFrame::Join(proof));
                }
                RelayFrame::Challenge { nonce, .. } => {
                    // A seated relay: the lobby has already formed its table. Ask anyway: the
                    // relay answers with the running table's genesis (or that it is full).
                    let none = LobbyTerms {
                        lobby: [0; 32],
                        protocol_version: PROTOCOL_VERSION,
                        registry_hash: join.registry_hash,
                        players: 0,
                    };
                    let proof = LobbyProof::sign(&join.key, &nonce, none, client_id);
                    send(&mut client, &ClientFrame::Join(proof));
                }
                RelayFrame::Lobby(status) => on_status(&status),
                RelayFrame::Refused(refusal) => {
                    outcome = Some(Err(LobbyError::Refused { relay, refusal }));
                    break;
                }
                RelayFrame::Genesis(genesis) => {
                    let Some(terms) = terms else {
                        let what = "a genesis before the challenge".to_string();
                        outcome = Some(Err(LobbyError::Protocol { relay, what }));
                        break;
                    };
                    outcome = Some(
                        genesis
                            .check(&join.key.peer_id(), &terms, wall_clock_ms())
                            .map(|()| LobbyOutcome::Formed(genesis))
                            .map_err(|error| LobbyError::Genesis { relay, error }),
                    );
                    break;
                }
                RelayFrame::Running(genesis) => {
                    outcome = Some(
                        genesis
                            .check_running(&join.registry_hash)
                            .and_then(|()| genesis.check_formed_by(wall_clock_ms()))
                            .map(|()| LobbyOutcome::Running(genesis))
                            .map_err(|error| LobbyError::Genesis { relay, error }),
                    );
                    break;
                }
                RelayFrame::Welcome { .. }
                | RelayFrame::Packet { .. }
                | RelayFrame::Pong { .. } => {
                    let what = "table traffic in the lobby".to_string();
                    outcome = Some(Err(LobbyError::Protocol { relay, what }));
                    break;
                }
            }
        }
        if let Some(outcome) = outcome {
            break outcome;
        }
        if client.is_disconnected() || transport.disconnect_reason().is_some() {
            let netcode = transport.disconnect_reason();
            let reason = match (netcode, client.disconnect_reason()) {
                (Some(netcode), _) => netcode_reason(netcode).to_string(),
                (None, Some(renet)) => renet.to_string(),
                (None, None) => "disconnected".to_string(),
            };
            break Err(if connected {
                LobbyError::Lost { relay, reason }
            } else if netcode.is_some_and(relay_answered) {
                // Something answered: never say that nothing did.
                LobbyError::NotConnected { relay, reason }
            } else {
                LobbyError::Unreachable {
                    relay,
                    seconds: started.elapsed().as_secs(),
                    reason,
                }
            });
        }
        if !connected && started.elapsed() > join.connect_timeout {
            break Err(LobbyError::Unreachable {
                relay,
                seconds: join.connect_timeout.as_secs(),
                reason: "no answer".into(),
            });
        }
        if let Some(limit) = join.wait_timeout.filter(|t| started.elapsed() > *t) {
            break Err(LobbyError::Timeout {
                relay,
                seconds: limit.as_secs(),
            });
        }
        // Errors only report a closed connection, checked above on the next pass.
        let _ = transport.send_packets(&mut client);
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = transport.send_packets(&mut client);
    transport.disconnect();
    result
}
