//! SVG to PNG with resvg (pure Rust: no system libraries at run time).
//!
//! Text needs a font, and a fresh machine may have none. The binary carries
//! DejaVu Sans (`assets/fonts/DejaVuSans.ttf`, Bitstream Vera licence, which
//! allows redistribution; see `assets/fonts/LICENSE-DejaVu.txt`) and uses it for
//! every text, so the same chart gives the same PNG on every machine whatever
//! fonts it has installed.

use resvg::{tiny_skia, usvg};

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The family name inside [`FONT`].
const FAMILY: &str = "DejaVu Sans";

/// Options that resolve every font family to the bundled DejaVu Sans.
fn options() -> usvg::Options<'static> {
    let mut options = usvg::Options { font_family: FAMILY.to_string(), ..usvg::Options::default() };
    let fonts = options.fontdb_mut();
    fonts.load_font_data(FONT.to_vec());
    fonts.set_sans_serif_family(FAMILY);
    fonts.set_serif_family(FAMILY);
    fonts.set_monospace_family(FAMILY);
    options
}

/// Renders `svg` at `scale` times its size (2 gives a sharp picture on a
/// high-density screen) and encodes it as PNG.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    let tree =
        usvg::Tree::from_str(svg, &options()).map_err(|e| format!("the SVG could not be read: {e}"))?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or("the picture is too large to rasterise")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the picture is too large to rasterise")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| format!("encoding the PNG failed: {e}"))
}
