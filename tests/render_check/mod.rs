//! Checks that a screenshot of the game shows a craps table: the felt covers a large share of
//! the image, both dice are where the game says they are with white pips on red, chip stacks
//! show their owners' colours, and the players' panel carries text. Every check can fail: see
//! the negative controls in `render_window.rs`.

use std::path::Path;

/// An RGB image.
#[derive(Clone, Debug)]
pub struct Rgb {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// Pixels, row-major, 3 bytes each.
    pub data: Vec<u8>,
}

impl Rgb {
    /// A `width` × `height` image of one colour.
    pub fn filled(width: usize, height: usize, color: [u8; 3]) -> Rgb {
        Rgb {
            width,
            height,
            data: color.repeat(width * height),
        }
    }

    /// Reads an 8-bit RGB or RGBA PNG.
    pub fn load(path: &Path) -> Result<Rgb, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let decoder = png::Decoder::new(std::io::BufReader::new(file));
        let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
        let size = reader.output_buffer_size().ok_or("image too large")?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
        let (width, height) = (info.width as usize, info.height as usize);
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => return Err(format!("unexpected colour type {other:?}")),
        };
        let mut data = Vec::with_capacity(width * height * 3);
        for row in buf.chunks(info.line_size).take(height) {
            for px in row.chunks(channels).take(width) {
                data.extend_from_slice(&px[..3]);
            }
        }
        Ok(Rgb {
            width,
            height,
            data,
        })
    }

    /// The pixel at (x, y).
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Paints a disc.
    pub fn paint_disc(&mut self, cx: f32, cy: f32, r: f32, color: [u8; 3]) {
        for (x, y) in disc(self, cx, cy, r) {
            let i = (y * self.width + x) * 3;
            self.data[i..i + 3].copy_from_slice(&color);
        }
    }

    /// Paints a rectangle.
    pub fn paint_rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, color: [u8; 3]) {
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                let i = (y * self.width + x) * 3;
                self.data[i..i + 3].copy_from_slice(&color);
            }
        }
    }
}

/// The pixels of a disc, clipped to the image.
fn disc(image: &Rgb, cx: f32, cy: f32, r: f32) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (x0, x1) = ((cx - r).floor().max(0.0) as usize, (cx + r).ceil() as usize);
    let (y0, y1) = ((cy - r).floor().max(0.0) as usize, (cy + r).ceil() as usize);
    for y in y0..=y1.min(image.height.saturating_sub(1)) {
        for x in x0..=x1.min(image.width.saturating_sub(1)) {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            if dx * dx + dy * dy <= r * r {
                out.push((x, y));
            }
        }
    }
    out
}

/// The pixels of a rectangle `(x0, y0, x1, y1)`, clipped to the image.
fn rect_pixels(image: &Rgb, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for y in (y0.max(0.0) as usize)..(y1 as usize).min(image.height) {
        for x in (x0.max(0.0) as usize)..(x1 as usize).min(image.width) {
            out.push((x, y));
        }
    }
    out
}

/// What the game says is on the image (the `.manifest` next to the screenshot).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    /// The dice: centre, projected radius, face up.
    pub dice: Vec<(f32, f32, f32, u8)>,
    /// The chip stacks: top centre, projected radius, owner's colour.
    pub chips: Vec<(f32, f32, f32, [u8; 3])>,
}

impl Manifest {
    /// Parses the manifest's lines.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| -> Result<f32, String> {
                words
                    .get(i)
                    .ok_or(format!("short line {line:?}"))?
                    .parse::<f32>()
                    .map_err(|e| format!("{line:?}: {e}"))
            };
            match words.first() {
                Some(&"die") => m.dice.push((num(1)?, num(2)?, num(3)?, num(4)? as u8)),
                Some(&"chips") => m.chips.push((
                    num(1)?,
                    num(2)?,
                    num(3)?,
                    [num(4)? as u8, num(5)? as u8, num(6)? as u8],
                )),
                _ => {}
            }
        }
        Ok(m)
    }
}

/// The felt's green, lit or in shadow.
pub fn is_felt(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(f32::from);
    g > 35.0 && g > r * 1.5 && g > b * 1.25
}

fn is_die_red(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(f32::from);
    r > 90.0 && r > g * 2.0 && r > b * 2.0
}

fn is_pip_white(p: [u8; 3]) -> bool {
    p.iter().all(|c| *c > 170)
}

/// Hue (degrees) and saturation of a colour.
fn hue_sat(p: [u8; 3]) -> (f32, f32) {
    let [r, g, b] = p.map(|c| f32::from(c) / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    if d < 1e-6 {
        return (0.0, 0.0);
    }
    let h = if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    (h, d / max)
}

fn hue_distance(a: f32, b: f32) -> f32 {
    let d = (a - b).abs() % 360.0;
    d.min(360.0 - d)
}

/// What the checks measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Share of the image that is felt.
    pub felt_share: f32,
    /// Share of the image's centre (where the table is) that is felt.
    pub felt_centre: f32,
    /// Per die: share of red in its box, white pip pixels.
    pub dice: Vec<(f32, usize)>,
    /// Chip stacks whose colour matches their owner.
    pub chips_matching: usize,
    /// Bright text pixels in the players' panel.
    pub panel_text: usize,
}

/// The players' panel, top-left, in the game's layout (see `bitcraps_table::ui::players`).
pub const PANEL: (usize, usize, usize, usize) = (14, 40, 390, 150);

/// Runs every check: `Ok` with the measurements, or every failure.
pub fn check(image: &Rgb, manifest: &Manifest) -> Result<Report, Vec<String>> {
    let mut failures = Vec::new();
    let mut report = Report::default();

    let felt = image
        .data
        .chunks(3)
        .filter(|p| is_felt([p[0], p[1], p[2]]))
        .count();
    report.felt_share = felt as f32 / (image.width * image.height) as f32;
    let (w, h) = (image.width as f32, image.height as f32);
    let centre = rect_pixels(image, (w * 0.30, h * 0.42, w * 0.80, h * 0.62));
    let felt_centre = centre
        .iter()
        .filter(|(x, y)| is_felt(image.get(*x, *y)))
        .count();
    report.felt_centre = felt_centre as f32 / centre.len().max(1) as f32;
    if report.felt_share < 0.15 || report.felt_centre < 0.6 {
        failures.push(format!(
            "felt covers {:.0}% of the image, {:.0}% of its centre",
            report.felt_share * 100.0,
            report.felt_centre * 100.0
        ));
    }

    if manifest.dice.len() != 2 {
        failures.push(format!("{} dice in the manifest", manifest.dice.len()));
    }
    for (i, (x, y, r, face)) in manifest.dice.iter().enumerate() {
        let pixels = disc(image, *x, *y, r * 1.3);
        let red = pixels
            .iter()
            .filter(|(px, py)| is_die_red(image.get(*px, *py)))
            .count();
        let white = pixels
            .iter()
            .filter(|(px, py)| is_pip_white(image.get(*px, *py)))
            .count();
        let share = red as f32 / pixels.len().max(1) as f32;
        report.dice.push((share, white));
        if share < 0.2 {
            failures.push(format!(
                "die {i} (showing {face}): {:.0}% red",
                share * 100.0
            ));
        }
        if white < 4 {
            failures.push(format!(
                "die {i} (showing {face}): no pips ({white} white pixels)"
            ));
        }
    }

    if manifest.chips.is_empty() {
        failures.push("no chip stacks in the manifest".into());
    }
    for (x, y, r, color) in &manifest.chips {
        let (want, _) = hue_sat(*color);
        let pixels = disc(image, *x, *y, (r * 0.8).max(2.0));
        let matching = pixels
            .iter()
            .filter(|(px, py)| {
                let (h, s) = hue_sat(image.get(*px, *py));
                s > 0.25 && hue_distance(h, want) < 30.0
            })
            .count();
        if matching * 4 >= pixels.len().max(1) {
            report.chips_matching += 1;
        }
    }
    if report.chips_matching * 2 < manifest.chips.len() {
        failures.push(format!(
            "only {} of {} chip stacks show their owner's colour",
            report.chips_matching,
            manifest.chips.len()
        ));
    }

    let (x0, y0, x1, y1) = PANEL;
    let mut dark = 0;
    for y in y0..y1.min(image.height) {
        for x in x0..x1.min(image.width) {
            let [r, g, b] = image.get(x, y).map(u32::from);
            let luma = (r * 3 + g * 6 + b) / 10;
            if luma > 150 {
                report.panel_text += 1;
            } else if luma < 40 {
                dark += 1;
            }
        }
    }
    let area = (x1 - x0) * (y1 - y0);
    if report.panel_text < 300 || dark * 2 < area {
        failures.push(format!(
            "players' panel: {} text pixels, {}% dark",
            report.panel_text,
            dark * 100 / area.max(1)
        ));
    }

    if failures.is_empty() {
        Ok(report)
    } else {
        Err(failures)
    }
}
