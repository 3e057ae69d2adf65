//! QR codes of an otpauth URI: PNG (black on white, opaque, 4-module quiet zone), SVG, and
//! terminal text in Unicode half blocks with explicit black-on-white colours, so the code
//! scans on dark and light terminal themes alike.

use anyhow::{Context, Result};
use image::{ImageFormat, Luma};
use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// Pixels per module by default: about 400 px for a typical otpauth URI, which a phone
/// held to a screen reads easily.
pub const DEFAULT_MODULE_PX: u32 = 8;

fn code(uri: &str) -> Result<QrCode> {
    QrCode::with_error_correction_level(uri, EcLevel::M)
        .context("the URI does not fit in a QR code")
}

/// PNG bytes, `module_px` pixels per module.
pub fn png(uri: &str, module_px: u32) -> Result<Vec<u8>> {
    let image = code(uri)?
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .dark_color(Luma([0]))
        .light_color(Luma([255]))
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .context("could not encode the PNG")?;
    Ok(out.into_inner())
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

/// Terminal text: two modules per character cell, black on white whatever the theme.
pub fn terminal(uri: &str) -> Result<String> {
    let text = code(uri)?
        .render::<unicode::Dense1x2>()
        .quiet_zone(true)
        .dark_color(unicode::Dense1x2::Dark)
        .light_color(unicode::Dense1x2::Light)
        .build();
    // Foreground black (dark modules), background white (light modules), reset per line.
    Ok(text
        .lines()
        .map(|l| format!("\x1b[38;5;16;48;5;231m{l}\x1b[0m\n"))
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
        let t = terminal(URI).unwrap();
        assert!(
            t.lines()
                .all(|l| l.starts_with("\x1b[38;5;16;48;5;231m") && l.ends_with("\x1b[0m"))
        );
        assert!(t.contains('▀') || t.contains('▄') || t.contains('█'));
    }
}
