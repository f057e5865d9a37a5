//! What the BitCraps fuzz targets share: a demo table (keys, ids, participants and a few decided
//! heights to apply blocks to) built once per process, and the round-trip check every decoder
//! must pass.
//!
//! Each target in `fuzz_targets/` feeds the bytes libFuzzer makes to one decoder of input that
//! comes from outside (the network or the disk) and fails on a panic, and also when a property
//! of the decoder does not hold ([`check_round_trip`]): whatever decodes must encode again, no
//! longer than it came (the codec accepts non-minimal varints, so not byte for byte), and decode
//! to the same value, and that canonical encoding must be stable.

use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use bitcraps_consensus::{Keypair, ParticipantSet, TableId};
use bitcraps_game::TableState;
use bitcraps_journal::demo::{DemoHeight, DemoTable};

/// The fixed world the targets check decoded messages against.
#[derive(Debug)]
pub struct Fixture {
    /// The demo table's seat keys (`bitcraps_game::driver::test_keys(4)`).
    pub keys: Vec<Keypair>,
    /// The id the table's consensus signs proposals, votes and certificates under.
    pub consensus_table: TableId,
    /// The id the table's operations are signed under.
    pub op_table: TableId,
    /// The seats as consensus participants.
    pub participants: ParticipantSet,
    /// The genesis state, then the state after each height of [`Fixture::heights`].
    pub states: Vec<TableState>,
    /// Decided heights of an honest game (two rolls with bets).
    pub heights: Vec<DemoHeight>,
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

#[allow(clippy::expect_used)]
fn build_fixture() -> Fixture {
    let mut demo = DemoTable::new(4).expect("the demo table starts");
    let keys = demo.keys().to_vec();
    let config = demo.config().clone();
    let participants =
        ParticipantSet::new(keys.iter().map(Keypair::peer_id)).expect("four distinct seats");
    let mut states = vec![demo.state().clone()];
    let mut heights = Vec::new();
    for bets in [true, true] {
        for height in demo.play_roll(bets).expect("an honest roll finishes") {
            states.push(height.state.clone());
            heights.push(height);
        }
    }
    Fixture {
        keys,
        consensus_table: config.consensus_table_id(),
        op_table: config.table_id,
        participants,
        states,
        heights,
    }
}

/// The registry of the demo table's state (no custom operations), shared.
pub fn registry_of(state: &TableState) -> Arc<bitcraps_game::Registry> {
    Arc::clone(state.registry())
}

/// Checks that `value`, decoded from `input`, encodes again (never longer than `input`), that
/// the encoding decodes to `value`, and that it is stable (encoding that again gives the same
/// bytes). Returns the canonical encoding. Panics, which libFuzzer reports as a crash, if any
/// of that fails.
pub fn check_round_trip<T, E, D>(
    what: &str,
    input: &[u8],
    value: &T,
    encode: impl Fn(&T) -> Result<Vec<u8>, E>,
    decode: impl Fn(&[u8]) -> Result<T, D>,
) -> Vec<u8>
where
    T: PartialEq + Debug,
    E: Debug,
    D: Debug,
{
    let canonical = match encode(value) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "{what}: decoded from {} bytes but does not encode: {e:?}",
            input.len()
        ),
    };
    assert!(
        canonical.len() <= input.len(),
        "{what}: re-encodes in {} bytes, longer than the {} it was decoded from",
        canonical.len(),
        input.len()
    );
    let again = match decode(&canonical) {
        Ok(again) => again,
        Err(e) => panic!("{what}: its own encoding does not decode: {e:?}"),
    };
    assert_eq!(&again, value, "{what}: decode(encode(x)) != x");
    match encode(&again) {
        Ok(bytes) => assert_eq!(bytes, canonical, "{what}: the encoding is not stable"),
        Err(e) => panic!("{what}: does not encode a second time: {e:?}"),
    }
    canonical
}
