//! The felt's printed layout, drawn once by bevy_ui into a texture (a camera rendering UI nodes
//! into an image), which the felt's material then shows: real text, no image files.

use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy::render::render_resource::TextureFormat;

use crate::layout::{spots, Spot};
use crate::palette;

/// Width of the felt texture, pixels (its height is half: the felt is twice as wide as deep).
pub const FELT_TEXTURE_WIDTH: u32 = 2048;
/// Height of the felt texture, pixels.
pub const FELT_TEXTURE_HEIGHT: u32 = FELT_TEXTURE_WIDTH / 2;
/// Frames the layout camera renders before it is switched off (the layout never changes).
const LAYOUT_FRAMES: u32 = 30;

/// The felt's texture (the printed layout).
#[derive(Resource, Clone, Debug)]
pub struct FeltTexture(pub Handle<Image>);

/// The camera that draws the layout into [`FeltTexture`].
#[derive(Component, Debug)]
pub struct LayoutCamera {
    frames: u32,
}

/// Draws the felt's layout into a texture.
#[derive(Clone, Copy, Debug, Default)]
pub struct FeltPlugin;

impl Plugin for FeltPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(PreStartup, draw_layout)
            .add_systems(Last, retire_layout_camera);
    }
}

fn draw_layout(mut commands: Commands, mut images: ResMut<Assets<Image>>) {
    let image = Image::new_target_texture(
        FELT_TEXTURE_WIDTH,
        FELT_TEXTURE_HEIGHT,
        TextureFormat::Rgba8UnormSrgb,
        None,
    );
    let handle = images.add(image);
    commands.insert_resource(FeltTexture(handle.clone()));
    let camera = commands
        .spawn((
            Camera2d,
            Camera {
                order: -1,
                clear_color: ClearColorConfig::Custom(palette::FELT),
                ..default()
            },
            RenderTarget::Image(handle.into()),
            LayoutCamera { frames: 0 },
        ))
        .id();
    commands
        .spawn((
            Node {
                width: percent(100),
                height: percent(100),
                ..default()
            },
            BackgroundColor(palette::FELT),
            UiTargetCamera(camera),
        ))
        .with_children(|felt| {
            for spot in spots() {
                felt.spawn(spot_node(&spot)).with_children(|node| {
                    node.spawn((
                        Text::new(spot.label),
                        TextFont::from_font_size(label_size(&spot)),
                        TextColor(palette::FELT_INK),
                        TextLayout::justify(Justify::Center),
                    ));
                    if !spot.detail.is_empty() {
                        node.spawn((
                            Text::new(spot.detail),
                            TextFont::from_font_size(detail_size(&spot)),
                            TextColor(palette::FELT_GOLD),
                            TextLayout::justify(Justify::Center),
                        ));
                    }
                });
            }
        });
}

/// A spot's box: an outlined rectangle at its place, its texts centred.
fn spot_node(spot: &Spot) -> impl Bundle {
    let r = spot.rect;
    (
        Node {
            position_type: PositionType::Absolute,
            left: percent(r.min.x * 100.0),
            top: percent(r.min.y * 100.0),
            width: percent(r.width() * 100.0),
            height: percent(r.height() * 100.0),
            border: UiRect::all(px(5)),
            border_radius: BorderRadius::all(px(14)),
            flex_direction: FlexDirection::Column,
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            row_gap: px(4),
            ..default()
        },
        BorderColor::all(palette::FELT_INK),
    )
}

/// Big labels for big boxes.
fn label_size(spot: &Spot) -> f32 {
    let h = spot.rect.height() * FELT_TEXTURE_HEIGHT as f32;
    let w = spot.rect.width() * FELT_TEXTURE_WIDTH as f32;
    let by_width = w / (spot.label.len().max(3) as f32 * 0.62);
    (h * 0.42).min(by_width).clamp(18.0, 120.0)
}

fn detail_size(spot: &Spot) -> f32 {
    let w = spot.rect.width() * FELT_TEXTURE_WIDTH as f32;
    let by_width = w / (spot.detail.len().max(6) as f32 * 0.62);
    (label_size(spot) * 0.5).min(by_width).clamp(14.0, 48.0)
}

/// Switches the layout camera off once the layout is drawn.
fn retire_layout_camera(mut cameras: Query<(&mut Camera, &mut LayoutCamera)>) {
    for (mut camera, mut layout) in &mut cameras {
        if camera.is_active {
            layout.frames += 1;
            if layout.frames > LAYOUT_FRAMES {
                camera.is_active = false;
            }
        }
    }
}
