//! The simulated application: values are small tagged byte strings, valid at one height only.

use bitcraps_consensus::{Height, Round, Value, ValueValidity};

const VALID_MAGIC: [u8; 4] = *b"SIMV";
const INVALID_MAGIC: [u8; 4] = *b"BADV";

/// Builds the value an instance proposes at (height, round). Different instances and nonces give
/// different values, so a split decision is visible to the agreement checker.
pub fn make_value(height: Height, round: Round, instance: usize, nonce: u64, valid: bool) -> Value {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(if valid { &VALID_MAGIC } else { &INVALID_MAGIC });
    bytes.extend_from_slice(&height.0.to_be_bytes());
    bytes.extend_from_slice(&round.0.to_be_bytes());
    bytes.extend_from_slice(&(instance as u32).to_be_bytes());
    bytes.extend_from_slice(&nonce.to_be_bytes());
    bytes.resize(64, 0xAB);
    Value::new(bytes)
}

/// The application's deterministic validity: the right tag and the height it is proposed at.
pub fn is_valid_value(height: Height, value: &Value) -> bool {
    let b = value.bytes();
    b.len() == 64 && b[..4] == VALID_MAGIC && b[4..12] == height.0.to_be_bytes()
}

/// [`ValueValidity`] for the simulated application.
#[derive(Copy, Clone, Debug, Default)]
pub struct SimApp;

impl ValueValidity for SimApp {
    fn is_valid(&self, height: Height, value: &Value) -> bool {
        is_valid_value(height, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_checks_tag_and_height() {
        let v = make_value(Height(3), Round(0), 1, 7, true);
        assert!(is_valid_value(Height(3), &v));
        assert!(!is_valid_value(Height(4), &v));
        assert!(!is_valid_value(
            Height(3),
            &make_value(Height(3), Round(0), 1, 7, false)
        ));
    }
}
