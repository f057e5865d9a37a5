//! Runs the game binary headless, for the `headless*` tests.

use std::process::Command;

/// Runs `bitcraps --headless ARGS`: its output, or why it failed.
pub fn play(args: &[&str]) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_bitcraps"))
        .arg("--headless")
        .args(args)
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
    Ok(stdout)
}
