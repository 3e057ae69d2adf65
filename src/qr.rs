//! QR codes of an otpauth URI: PNG (black on white, opaque, 4-module quiet zone), SVG, and
//! terminal text in Unicode half blocks with explicit black-on-white colours, so the code
//! scans on dark and light terminal themes alike.

use anyhow::{Context, Result};
use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// Pixels per module by default: about 400 px for a typical otpauth URI, which a phone
/// held to a screen reads easily.
pub const DEFAULT_MODULE_PX: u32 = 8;

fn code(uri: &str) -> Result<QrCode> {
    QrCode::with_error_correction_level(uri, EcLevel::M)
        .context("the URI does not fit in a QR code")
}

/// PNG bytes, `module_px` pixels per module: a 1-bit greyscale image (black on white, no
/// transparency) drawn straight from the modules, which is small and quick to encode.
pub fn png(uri: &str, module_px: u32) -> Result<Vec<u8>> {
    const QUIET: usize = 4;
    let code = code(uri)?;
    let modules = code.width();
    let colors = code.to_colors();
    let px = usize::try_from(module_px).context("module size")?;
    let side = (modules + 2 * QUIET) * px;
    let row_bytes = side.div_ceil(8);
    let mut data = vec![0xFF_u8; row_bytes * side];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] != qrcode::Color::Dark {
                continue;
            }
            for dy in 0..px {
                let row = &mut data[((y + QUIET) * px + dy) * row_bytes..][..row_bytes];
                for dx in 0..px {
                    let col = (x + QUIET) * px + dx;
                    row[col / 8] &= !(0x80 >> (col % 8));
                }
            }
        }
    }
    let side = u32::try_from(side).context("QR image too large")?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().context("could not encode the PNG")?;
        writer
            .write_image_data(&data)
            .context("could not encode the PNG")?;
    }
    Ok(out)
}

/// An SVG document, `module_px` units per module.
pub fn svg(uri: &str, module_px: u32) -> Result<String> {
    Ok(code(uri)?
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// Terminal text: two modules per character cell; with `colour`, black on white whatever the
/// terminal's theme (explicit colours, so that a dark theme does not invert the code).
pub fn terminal(uri: &str, colour: bool) -> Result<String> {
    let text = code(uri)?
        .render::<unicode::Dense1x2>()
        .quiet_zone(true)
        .dark_color(unicode::Dense1x2::Dark)
        .light_color(unicode::Dense1x2::Light)
        .build();
    // Foreground black (dark modules), background white (light modules), reset per line.
    Ok(text
        .lines()
        .map(|l| {
            if colour {
                format!("\x1b[38;5;16;48;5;231m{l}\x1b[0m\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/ACME:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME";

    #[test]
    fn png_decodes_back_to_the_uri() {
        let bytes = png(URI, 4).unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_luma8();
        // Quiet zone: the first 4 modules (16 px) of every edge are white.
        assert!(
            (0..16).all(|i| img.get_pixel(i, i)[0] == 255
                && img.get_pixel(img.width() - 1 - i, i)[0] == 255)
        );
        assert!(img.pixels().all(|p| p[0] == 0 || p[0] == 255));
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, URI);
    }

    #[test]
    fn svg_is_black_on_white() {
        let s = svg(URI, 4).unwrap();
        assert!(s.starts_with("<?xml"));
        assert!(s.contains("#000000") && s.contains("#ffffff"));
    }

    #[test]
    fn terminal_rendering_has_explicit_colours() {
        let t = terminal(URI, true).unwrap();
        assert!(
            t.lines()
                .all(|l| l.starts_with("\x1b[38;5;16;48;5;231m") && l.ends_with("\x1b[0m"))
        );
        assert!(t.contains('▀') || t.contains('▄') || t.contains('█'));
        let plain = terminal(URI, false).unwrap();
        assert!(!plain.contains('\x1b'), "no escapes off a terminal");
    }
}
