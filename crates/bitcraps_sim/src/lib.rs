//! Deterministic simulator (placeholder while the engine is built).
