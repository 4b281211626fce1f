//! QR codes of configurations, as PNG and SVG, for phones to scan.

use qrcode::{Color, EcLevel, QrCode};

/// Pixels per QR module in the PNG, and the quiet zone in modules.
const SCALE: usize = 6;
const QUIET: usize = 4;

fn code(text: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("cannot make a QR code: {e}"))
}

pub fn svg(text: &str) -> Result<String, String> {
    Ok(code(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

pub fn png(text: &str) -> Result<Vec<u8>, String> {
    let code = code(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let size = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; size * size];
    for (index, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (index % modules + QUIET, index / modules + QUIET);
            for dy in 0..SCALE {
                let row = (y * SCALE + dy) * size;
                for dx in 0..SCALE {
                    pixels[row + x * SCALE + dx] = 0;
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(size).map_err(|_| "QR code too large".to_owned())?;
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_both_formats() {
        let png = super::png("[Interface]\nPrivateKey = x\n").unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = super::svg("hello").unwrap();
        assert!(svg.contains("<svg"));
    }
}
