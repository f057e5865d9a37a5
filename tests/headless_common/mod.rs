//! Runs the game binary headless, for the `headless*` tests.

use std::process::Command;

/// Runs `bitcraps --headless ARGS`: its output, or why it failed.
#[allow(dead_code)] // Not every test file uses both.
pub fn play(args: &[&str]) -> Result<String, String> {
    play_logged(args).map(|(out, _)| out)
}

/// Runs `bitcraps --headless ARGS` without `RUST_LOG`: its standard output and error, or why
/// it failed.
pub fn play_logged(args: &[&str]) -> Result<(String, String), String> {
    let output = Command::new(env!("CARGO_BIN_EXE_bitcraps"))
        .arg("--headless")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .map_err(|e| format!("cannot run the game: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        return Err(format!(
            "{args:?} failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok((stdout, String::from_utf8_lossy(&output.stderr).to_string()))
}
