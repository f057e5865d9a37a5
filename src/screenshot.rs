//! `--screenshot PATH --after-rolls N`: play N rolls, let the dice and chips settle, save a PNG
//! of the window and, next to it, `PATH.manifest`: where the dice and chip stacks are on the
//! image (so that a test can check the pixels there), then exit.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::PrimaryWindow;
use bitcraps::table::chips::ChipStack;
use bitcraps::table::dice_motion::DIE_SIZE;
use bitcraps::table::scene::TableCamera;
use bitcraps::table::{DiceShow, Die};

/// Seconds to wait after the dice rest (the chips fly for a couple of seconds).
const SETTLE_SECONDS: f32 = 3.0;

/// How a screenshot run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScreenshotOutcome {
    /// Not taken (yet).
    Pending,
    /// Saved there, after so many frames in so many seconds.
    Saved(PathBuf, String),
    /// Failed.
    Failed(String),
}

/// Takes the screenshot and exits.
pub struct ScreenshotPlugin {
    /// Where to save the PNG.
    pub path: PathBuf,
    /// Rolls to play first.
    pub after_rolls: u64,
    /// Give up after this long.
    pub timeout: Duration,
    /// The outcome, read by `main` after the window closes.
    pub outcome: Arc<Mutex<ScreenshotOutcome>>,
}

#[derive(Resource, Clone)]
struct Plan {
    path: PathBuf,
    after_rolls: u64,
    timeout: Duration,
    outcome: Arc<Mutex<ScreenshotOutcome>>,
    settled: f32,
    requested: bool,
    frames_after: u32,
    frames: u64,
}

impl Plan {
    fn set(&self, outcome: ScreenshotOutcome) {
        if let Ok(mut o) = self.outcome.lock() {
            *o = outcome;
        }
    }

    fn get(&self) -> ScreenshotOutcome {
        self.outcome
            .lock()
            .map(|o| o.clone())
            .unwrap_or(ScreenshotOutcome::Pending)
    }
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Plan {
            path: self.path.clone(),
            after_rolls: self.after_rolls,
            timeout: self.timeout,
            outcome: self.outcome.clone(),
            settled: 0.0,
            requested: false,
            frames_after: 0,
            frames: 0,
        })
        .add_systems(Last, take_screenshot);
    }
}

#[allow(clippy::too_many_arguments)]
fn take_screenshot(
    mut commands: Commands,
    mut plan: ResMut<Plan>,
    show: Res<DiceShow>,
    time: Res<Time<Real>>,
    cameras: Query<(&Camera, &GlobalTransform), With<TableCamera>>,
    dice: Query<&GlobalTransform, With<Die>>,
    stacks: Query<(&ChipStack, &GlobalTransform, &Children)>,
    windows: Query<&Window, With<PrimaryWindow>>,
    mut exit: MessageWriter<AppExit>,
) {
    plan.frames += 1;
    if plan.requested {
        match plan.get() {
            ScreenshotOutcome::Pending => {}
            ScreenshotOutcome::Saved(..) => {
                plan.frames_after += 1;
                if plan.frames_after > 2 {
                    exit.write(AppExit::Success);
                }
                return;
            }
            ScreenshotOutcome::Failed(_) => {
                exit.write(AppExit::error());
                return;
            }
        }
    }
    if time.elapsed() > plan.timeout {
        plan.set(ScreenshotOutcome::Failed(format!(
            "{} of {} rolls after {} s",
            show.rolls_seen,
            plan.after_rolls,
            plan.timeout.as_secs()
        )));
        exit.write(AppExit::error());
        return;
    }
    if plan.requested || show.rolls_seen < plan.after_rolls || show.in_flight() {
        plan.settled = 0.0;
        return;
    }
    plan.settled += time.delta_secs();
    if plan.settled < SETTLE_SECONDS {
        return;
    }
    let scale = windows.single().map_or(1.0, Window::scale_factor);
    let manifest = manifest(
        &show,
        &cameras,
        &dice,
        &stacks,
        scale,
        windows.single().ok(),
    );
    let manifest_path = plan.path.with_extension("manifest");
    if let Err(e) = std::fs::write(&manifest_path, manifest) {
        plan.set(ScreenshotOutcome::Failed(format!(
            "cannot write {}: {e}",
            manifest_path.display()
        )));
        exit.write(AppExit::error());
        return;
    }
    plan.requested = true;
    let stats = format!(
        "{} rolls, {} frames in {:.0} s ({:.1} frames per second)",
        show.rolls_seen,
        plan.frames,
        time.elapsed_secs(),
        plan.frames as f32 / time.elapsed_secs().max(0.001)
    );
    let saver = plan.clone();
    commands.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>| {
            let result = captured
                .image
                .clone()
                .try_into_dynamic()
                .map_err(|e| format!("unreadable capture: {e}"))
                .and_then(|image| {
                    image
                        .to_rgb8()
                        .save(&saver.path)
                        .map_err(|e| format!("cannot save {}: {e}", saver.path.display()))
                });
            saver.set(match result {
                Ok(()) => ScreenshotOutcome::Saved(saver.path.clone(), stats.clone()),
                Err(e) => ScreenshotOutcome::Failed(e),
            });
        },
    );
}

/// Where the dice and chips are on the image, in physical pixels: one line per object.
///
/// ```text
/// size <width> <height>
/// die <x> <y> <radius> <face>
/// chips <x> <y> <radius> <r> <g> <b>
/// ```
fn manifest(
    show: &DiceShow,
    cameras: &Query<(&Camera, &GlobalTransform), With<TableCamera>>,
    dice: &Query<&GlobalTransform, With<Die>>,
    stacks: &Query<(&ChipStack, &GlobalTransform, &Children)>,
    scale: f32,
    window: Option<&Window>,
) -> String {
    let mut out = String::new();
    if let Some(w) = window {
        let _ = writeln!(out, "size {} {}", w.physical_width(), w.physical_height());
    }
    let Ok((camera, at)) = cameras.single() else {
        return out;
    };
    let project = |p: Vec3| camera.world_to_viewport(at, p).ok().map(|v| v * scale);
    let radius = |p: Vec3, r: f32| {
        let right = at.right().as_vec3() * r;
        match (project(p), project(p + right)) {
            (Some(a), Some(b)) => a.distance(b),
            _ => 0.0,
        }
    };
    let faces = show
        .roll
        .map_or([0, 0], |r| [r.first.face(), r.second.face()]);
    for (i, die) in dice.iter().enumerate() {
        let p = die.translation();
        if let Some(v) = project(p) {
            let face = faces.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "die {:.1} {:.1} {:.1} {face}",
                v.x,
                v.y,
                radius(p, DIE_SIZE / 2.0)
            );
        }
    }
    for (stack, at_stack, children) in stacks.iter() {
        // The top chip's centre.
        let top = at_stack.translation()
            + Vec3::Y * bitcraps::table::chips::CHIP_HEIGHT * children.len() as f32;
        if let Some(v) = project(top) {
            let color = bitcraps::table::palette::seat_color(stack.seat).to_srgba();
            let _ = writeln!(
                out,
                "chips {:.1} {:.1} {:.1} {:.0} {:.0} {:.0}",
                v.x,
                v.y,
                radius(top, bitcraps::table::chips::CHIP_RADIUS),
                color.red * 255.0,
                color.green * 255.0,
                color.blue * 255.0
            );
        }
    }
    out
}
