//! The one place that knows about bincode: size-limited encoding and decoding of wire types.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{DecodeError, EncodeError};

/// Largest encoded message accepted by default (1 MiB).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_MESSAGE_BYTES>()
}

/// Encodes a value with the project's canonical bincode 2 configuration, refusing encodings
/// longer than [`MAX_MESSAGE_BYTES`].
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let bytes =
        bincode::serde::encode_to_vec(value, config()).map_err(|e| EncodeError(e.to_string()))?;
    // bincode enforces the configured limit only when decoding. Without this check a node could
    // send (e.g. propose) a message that every peer's `decode` refuses as too large: whatever
    // encodes must decode.
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(EncodeError(format!(
            "{} bytes exceed the limit of {MAX_MESSAGE_BYTES} bytes",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Decodes exactly one value from `bytes`, refusing more than `limit` bytes (and never more than
/// [`MAX_MESSAGE_BYTES`]), malformed input and trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, DecodeError> {
    let limit = limit.min(MAX_MESSAGE_BYTES);
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_trailing_bytes() {
        let bytes = encode(&(1u32, vec![1u8, 2, 3])).expect("encodes");
        let back: (u32, Vec<u8>) = decode(&bytes, 1024).expect("decodes");
        assert_eq!(back, (1, vec![1, 2, 3]));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode::<(u32, Vec<u8>)>(&longer, 1024),
            Err(DecodeError::TrailingBytes(1))
        );
    }

    #[test]
    fn oversized_and_lying_lengths_are_refused() {
        assert!(matches!(
            decode::<Vec<u8>>(&[0u8; 2048], 1024),
            Err(DecodeError::TooLarge { .. })
        ));
        // A length prefix claiming 2^40 elements must not allocate.
        let lying = [253u8, 0, 0, 0, 0, 0, 1, 0, 0];
        assert!(matches!(
            decode::<Vec<u64>>(&lying, 1024),
            Err(DecodeError::Malformed(_))
        ));
    }
}
