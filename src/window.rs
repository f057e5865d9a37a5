//! The windowed game: the local player's App renders the table; the bots' Apps are headless and
//! stepped by it every frame, on the same clock.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy::window::WindowResolution;
use bevy_bitcraps::testing::FRAME;
use bitcraps::table::{PlayerNames, TablePlugin};

use crate::error::GameError;
use crate::local_table::TableSpec;
use crate::screenshot::{ScreenshotOutcome, ScreenshotPlugin};

/// Most bot frames stepped per rendered frame (a slow renderer slows the bots' clock rather
/// than letting them spin).
const MAX_BOT_STEPS: u32 = 8;

/// The bots' Apps, each a full consensus participant, stepped by the window's App.
struct BotTables {
    apps: Vec<App>,
}

/// Steps every bot App by the window App's frame time, in slices of at most one bot frame, the
/// bots interleaved so that each slice's messages reach the others in the next.
fn step_bots(mut bots: NonSendMut<BotTables>, time: Res<Time>) {
    let delta = time.delta();
    let slices = (delta.as_secs_f64() / FRAME.as_secs_f64()).ceil();
    let slices = (slices as u32).clamp(1, MAX_BOT_STEPS);
    let slice = delta / slices;
    for app in &mut bots.apps {
        app.insert_resource(TimeUpdateStrategy::ManualDuration(slice));
    }
    for _ in 0..slices {
        for app in &mut bots.apps {
            app.update();
        }
    }
}

/// What the window run is asked to do beyond playing.
#[derive(Clone, Debug, Default)]
pub struct WindowOptions {
    /// Save a screenshot after this many rolls, then exit.
    pub screenshot: Option<(std::path::PathBuf, u64)>,
    /// Give up a screenshot run after this long.
    pub timeout: Duration,
    /// `-v` given this many times (see [`crate::logging`]).
    pub verbose: u8,
}

/// Fails early, with a clear message, where no window can open (network play checks this
/// before it joins a lobby, so that a player without a display does not take a seat it
/// cannot play).
pub fn probe() -> Result<(), GameError> {
    if cfg!(target_os = "linux") && std::env::var_os("DISPLAY").is_none() {
        return Err(GameError::NoDisplay {
            reason: "DISPLAY is not set".into(),
            hint: headless_hint(std::env::args()),
        });
    }
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = bevy::tasks::block_on(instance.enumerate_adapters(backends));
    if adapters.is_empty() {
        return Err(GameError::NoAdapter {
            reason: "no Vulkan adapter found".into(),
            hint: headless_hint(std::env::args()),
        });
    }
    Ok(())
}

/// The error behind a panic of the windowing or rendering setup.
fn window_error(panic: Box<dyn std::any::Any + Send>) -> GameError {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
        .unwrap_or_default();
    if message.contains("GPU") || message.contains("adapter") {
        GameError::NoAdapter {
            reason: message,
            hint: headless_hint(std::env::args()),
        }
    } else {
        GameError::NoDisplay {
            reason: format!("the window could not open: {message}"),
            hint: headless_hint(std::env::args()),
        }
    }
}

/// The command the player ran (`args`, program first), without a window: the same table or
/// network game (`--host`, `--join` and their options kept), with a bot in the player's seat.
fn headless_hint(args: impl IntoIterator<Item = String>) -> String {
    let mut out = vec!["bitcraps".to_string()];
    let mut args = args.into_iter().skip(1);
    let mut rolls = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--autoplay" | "--headless" => {}
            "--screenshot" | "--after-rolls" => {
                args.next();
            }
            _ if arg.starts_with("--screenshot=") || arg.starts_with("--after-rolls=") => {}
            _ => {
                rolls |= arg == "--rolls" || arg.starts_with("--rolls=");
                out.push(arg);
            }
        }
    }
    out.push("--headless".into());
    if !rolls {
        out.extend(["--rolls".into(), "100".into()]);
    }
    out.join(" ")
}

/// Opens the window and plays until it is closed (or the screenshot is saved).
pub fn run(spec: &TableSpec, options: WindowOptions) -> Result<(), GameError> {
    let participants = spec.participants();
    let mut bots = Vec::with_capacity(spec.bots);
    for i in 1..spec.players() {
        bots.push(spec.headless_app(&participants, i, None)?);
    }
    let mut app = open(&options)?;
    spec.seat(&mut app, &participants, 0)?;
    app.insert_non_send(BotTables { apps: bots })
        .add_systems(PreUpdate, step_bots);
    play(app, participants.names.clone(), options)
}

/// The window's App (default plugins, one window), before any player is seated in it; a
/// missing display or adapter is an error.
pub fn open(options: &WindowOptions) -> Result<App, GameError> {
    probe()?;
    let (width, height) = if options.screenshot.is_some() {
        (1280, 800)
    } else {
        (1600, 900)
    };
    // Opening the window panics where there is no X server: quietly, it becomes a clear error.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = catch_unwind(AssertUnwindSafe(|| {
        let mut app = App::new();
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: Some(Window {
                        title: "BitCraps - peer-to-peer craps agreed by consensus".into(),
                        resolution: WindowResolution::new(width, height),
                        ..default()
                    }),
                    ..default()
                })
                .set(crate::logging::log_plugin(options.verbose)),
        );
        app
    }));
    std::panic::set_hook(default_hook);
    opened.map_err(window_error)
}

/// Renders the table of the player seated in `app` (from [`open`]) until the window is closed
/// or the screenshot is saved.
pub fn play(mut app: App, names: PlayerNames, options: WindowOptions) -> Result<(), GameError> {
    app.add_plugins(TablePlugin).insert_resource(names);
    let outcome = Arc::new(Mutex::new(ScreenshotOutcome::Pending));
    if let Some((path, after_rolls)) = options.screenshot.clone() {
        app.add_plugins(ScreenshotPlugin {
            path,
            after_rolls,
            timeout: options.timeout,
            outcome: outcome.clone(),
        });
    }
    let exit = catch_unwind(AssertUnwindSafe(|| app.run())).map_err(window_error)?;
    if options.screenshot.is_some() {
        let outcome = outcome
            .lock()
            .map(|o| o.clone())
            .unwrap_or(ScreenshotOutcome::Pending);
        return match outcome {
            ScreenshotOutcome::Saved(path, stats) => {
                println!("screenshot saved to {} after {stats}", path.display());
                Ok(())
            }
            ScreenshotOutcome::Failed(why) => Err(GameError::Screenshot(why)),
            ScreenshotOutcome::Pending => Err(GameError::Screenshot(
                "the window closed before it was taken".into(),
            )),
        };
    }
    match exit {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(GameError::Stopped(format!("exit code {code}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::headless_hint;

    fn hint(args: &[&str]) -> String {
        headless_hint(args.iter().map(ToString::to_string))
    }

    #[test]
    fn the_no_window_hint_keeps_the_network_game() {
        assert_eq!(hint(&["/x/bitcraps"]), "bitcraps --headless --rolls 100");
        assert_eq!(
            hint(&[
                "bitcraps",
                "--join",
                "10.0.0.2:5000",
                "--data-dir",
                "/tmp/p"
            ]),
            "bitcraps --join 10.0.0.2:5000 --data-dir /tmp/p --headless --rolls 100"
        );
        assert_eq!(
            hint(&[
                "bitcraps",
                "--host",
                "--rolls",
                "5",
                "--screenshot",
                "a.png"
            ]),
            "bitcraps --host --rolls 5 --headless"
        );
    }
}
