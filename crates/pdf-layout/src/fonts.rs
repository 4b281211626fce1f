//! The bundled fonts and their metrics.

use std::sync::LazyLock;

use crate::Style;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
static MONO: &[u8] = include_bytes!("../fonts/DejaVuSansMono.ttf");

pub(crate) fn bytes(style: Style) -> &'static [u8] {
    match style {
        Style::Regular => REGULAR,
        Style::Bold => BOLD,
        Style::Mono => MONO,
    }
}

/// Horizontal advances in font units, looked up once per font.
struct Metrics {
    units_per_em: f32,
    /// Advance of each character below U+0250 (Latin, enough for de/nl/en);
    /// others are measured on demand.
    latin: Vec<u16>,
    face: ttf_parser::Face<'static>,
}

impl Metrics {
    fn load(data: &'static [u8]) -> Self {
        #[allow(clippy::expect_used)]
        let face = ttf_parser::Face::parse(data, 0).expect("bundled font parses");
        let latin = (0u32..0x250)
            .map(|code| char::from_u32(code).map_or(0, |c| advance_of(&face, c)))
            .collect();
        Self {
            units_per_em: f32::from(face.units_per_em()),
            latin,
            face,
        }
    }

    fn advance(&self, c: char) -> u16 {
        self.latin
            .get(c as usize)
            .copied()
            .unwrap_or_else(|| advance_of(&self.face, c))
    }
}

fn advance_of(face: &ttf_parser::Face<'_>, c: char) -> u16 {
    face.glyph_index(c)
        .and_then(|g| face.glyph_hor_advance(g))
        .unwrap_or(0)
}

static METRICS: LazyLock<[Metrics; 3]> = LazyLock::new(|| {
    [
        Metrics::load(REGULAR),
        Metrics::load(BOLD),
        Metrics::load(MONO),
    ]
});

/// Width of `text` in points at `size` (without kerning, so never too small).
pub(crate) fn width(style: Style, size: f32, text: &str) -> f32 {
    let metrics = &METRICS[style as usize];
    let units: u32 = text.chars().map(|c| u32::from(metrics.advance(c))).sum();
    units as f32 * size / metrics.units_per_em
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_text_measures_wider_and_mono_is_uniform() {
        assert!(width(Style::Regular, 10.0, "WWW") > width(Style::Regular, 10.0, "iii"));
        assert!(width(Style::Bold, 10.0, "Gemeinde") > width(Style::Regular, 10.0, "Gemeinde"));
        let (a, b) = (
            width(Style::Mono, 10.0, "iii"),
            width(Style::Mono, 10.0, "WWW"),
        );
        assert!((a - b).abs() < f32::EPSILON);
        assert!(width(Style::Regular, 20.0, "ä") > width(Style::Regular, 10.0, "ä"));
    }
}
