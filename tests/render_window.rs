//! The real render test: the game binary opens its window (under Xvfb with Mesa's software
//! Vulkan in CI), plays a few rolls, saves a screenshot, and the PNG is checked for the table,
//! the dice, the chips and the interface. `.ci/run` runs it with
//! `xvfb-run -a cargo test --release --test render_window -- --ignored`.
//!
//! The negative controls run everywhere (no display needed): the checks fail on images that do
//! not show the table.

mod render_check;

use std::path::PathBuf;
use std::process::Command;

use render_check::{check, is_felt, Manifest, Rgb};

/// Rolls played before the screenshot.
const ROLLS: &str = "2";

#[test]
#[ignore = "opens a window: needs a display and Vulkan (run under xvfb-run, see .ci/run)"]
fn the_window_shows_the_table_the_dice_and_the_chips() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run this test under xvfb-run -a (see .ci/run)"
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("render");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    let png = dir.join("table.png");
    let _ = std::fs::remove_file(&png);
    let output = Command::new(env!("CARGO_BIN_EXE_bitcraps"))
        .args(["--screenshot"])
        .arg(&png)
        .args(["--after-rolls", ROLLS, "--timeout", "600"])
        .output()
        .expect("run the game");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the game failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    println!("{}", stdout.trim());
    let image = Rgb::load(&png).expect("the screenshot");
    let manifest = std::fs::read_to_string(png.with_extension("manifest")).expect("manifest");
    let manifest = Manifest::parse(&manifest).expect("manifest lines");
    println!(
        "screenshot: {} ({}x{})",
        png.display(),
        image.width,
        image.height
    );
    match check(&image, &manifest) {
        Ok(report) => println!("checks passed: {report:?}"),
        Err(failures) => panic!("the screenshot does not show the table: {failures:#?}"),
    }

    // Negative control on the real image: hide the dice under felt, and the dice check fails.
    let mut no_dice = image.clone();
    for (x, y, r, _) in &manifest.dice {
        no_dice.paint_disc(*x, *y, r * 1.4, [13, 92, 41]);
    }
    let failures = check(&no_dice, &manifest).expect_err("dice painted over must fail");
    assert!(
        failures.iter().all(|f| f.starts_with("die")),
        "{failures:?}"
    );
}

fn fake_manifest() -> Manifest {
    Manifest {
        dice: vec![(600.0, 400.0, 14.0, 3), (640.0, 400.0, 14.0, 4)],
        chips: vec![(300.0, 600.0, 8.0, [38, 115, 242])],
    }
}

/// A synthetic screenshot of a table: felt, two red dice with pips, a blue chip stack, a dark
/// panel with text.
fn synthetic_table() -> Rgb {
    let mut image = Rgb::filled(1280, 800, [13, 92, 41]);
    for (x, y, r, _) in fake_manifest().dice {
        image.paint_disc(x, y, r, [200, 10, 15]);
        image.paint_disc(x - 4.0, y - 4.0, 2.0, [245, 245, 245]);
        image.paint_disc(x + 4.0, y + 4.0, 2.0, [245, 245, 245]);
    }
    image.paint_disc(300.0, 600.0, 8.0, [38, 115, 242]);
    image.paint_rect(0, 0, 420, 200, [10, 12, 16]);
    for line in 0..4 {
        image.paint_rect(30, 50 + line * 22, 330, 58 + line * 22, [235, 235, 240]);
    }
    image
}

#[test]
fn the_checks_pass_on_a_synthetic_table() {
    let image = synthetic_table();
    let report = check(&image, &fake_manifest()).expect("a synthetic table passes");
    assert!(report.felt_share > 0.5);
    assert!(is_felt([13, 92, 41]) && !is_felt([10, 12, 16]));
}

#[test]
fn the_checks_fail_without_the_table() {
    // Negative controls: a black window, a felt without dice, chips or text, and a table whose
    // chips have the wrong colours all fail, each for its own reason.
    let black = Rgb::filled(1280, 800, [0, 0, 0]);
    let failures = check(&black, &fake_manifest()).expect_err("black fails");
    assert!(failures.iter().any(|f| f.contains("felt")), "{failures:?}");
    assert!(
        failures.iter().any(|f| f.starts_with("die")),
        "{failures:?}"
    );

    let felt = Rgb::filled(1280, 800, [13, 92, 41]);
    let failures = check(&felt, &fake_manifest()).expect_err("bare felt fails");
    assert!(
        !failures.iter().any(|f| f.contains("felt covers")),
        "{failures:?}"
    );
    assert!(failures.iter().any(|f| f.contains("pips")), "{failures:?}");
    assert!(
        failures.iter().any(|f| f.contains("chip stacks")),
        "{failures:?}"
    );
    assert!(failures.iter().any(|f| f.contains("panel")), "{failures:?}");

    let mut wrong_chips = synthetic_table();
    wrong_chips.paint_disc(300.0, 600.0, 8.0, [240, 150, 25]);
    let failures = check(&wrong_chips, &fake_manifest()).expect_err("orange chips for blue");
    assert_eq!(failures.len(), 1, "{failures:?}");

    // Felt only around the edges: the table is not where it should be.
    let mut hollow = synthetic_table();
    hollow.paint_rect(384, 336, 1024, 496, [90, 50, 20]);
    let failures = check(&hollow, &fake_manifest()).expect_err("no felt in the centre");
    assert!(
        failures.iter().any(|f| f.contains("of its centre")),
        "{failures:?}"
    );

    assert!(
        check(&synthetic_table(), &Manifest::default()).is_err(),
        "nothing promised"
    );
}
