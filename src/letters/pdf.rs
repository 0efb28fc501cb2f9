//! The PDF writer for letters, settlement notes and statements: A4 pages laid out here and
//! written by `krilla`, in DejaVu Sans (regular and bold) embedded as subsets, so every Latin
//! name prints as written and `pdftotext` gives it back. Text is NFC-normalised and laid out with
//! the font's own advances (no guessing); the same input always gives the same bytes.
//!
//! A document is recorded first (text runs and boxes per page) and written at `finish`, so one
//! PDF can hold a whole print batch: [`Document::start_letter`] starts each letter on a new page
//! and [`Document::finish`] reports each letter's first page and page count.

use std::{collections::HashMap, sync::LazyLock};

use krilla::{
    Document as Pdf,
    geom::{PathBuilder, Point, Rect},
    page::PageSettings,
    paint::{Fill, Stroke},
    text::{Font, GlyphId, KrillaGlyph},
};
use skrifa::{
    FontRef, MetadataProvider,
    instance::{LocationRef, Size},
};
use unicode_normalization::UnicodeNormalization;

/// A4 in points.
pub const WIDTH: f32 = 595.28;
pub const HEIGHT: f32 = 841.89;
/// Left and right margin (20 mm), and the top and bottom margins.
pub const MARGIN: f32 = 56.7;
const TOP: f32 = 42.0;
const BOTTOM: f32 = 56.7;
/// One millimetre in points.
pub const MM: f32 = 72.0 / 25.4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Face {
    Regular,
    Bold,
}

static REGULAR: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

/// Characters below this are looked up by index (Latin, its extensions and Vietnamese, general
/// punctuation); the rest in a map.
const DIRECT: usize = 0x2100;

/// A face's font and what layout needs of it: glyph and advance (in em) per character.
struct Metrics {
    font: Font,
    direct: Vec<(u16, f32)>,
    other: HashMap<char, (u16, f32)>,
    /// The advance of `.notdef`, for characters the font lacks.
    missing: f32,
}

impl Metrics {
    fn load(bytes: &'static [u8]) -> Metrics {
        let font = Font::new(bytes.into(), 0).expect("the bundled font parses");
        let f = FontRef::new(bytes).expect("the bundled font parses");
        let upem = f32::from(f.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
        let advances = f.glyph_metrics(Size::unscaled(), LocationRef::default());
        let em = |gid| advances.advance_width(gid).unwrap_or(0.0) / upem;
        let missing = em(skrifa::GlyphId::new(0));
        let mut direct = vec![(0, missing); DIRECT];
        let mut other = HashMap::new();
        for (code, gid) in f.charmap().mappings() {
            let glyph = (gid.to_u32() as u16, em(gid));
            match char::from_u32(code) {
                Some(_) if (code as usize) < DIRECT => direct[code as usize] = glyph,
                Some(c) => {
                    other.insert(c, glyph);
                }
                None => {}
            }
        }
        Metrics { font, direct, other, missing }
    }

    fn glyph(&self, c: char) -> (u16, f32) {
        match self.direct.get(c as usize) {
            Some(g) => *g,
            None => self.other.get(&c).copied().unwrap_or((0, self.missing)),
        }
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        nfc(text).chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }
}

static FACES: LazyLock<[Metrics; 2]> =
    LazyLock::new(|| [Metrics::load(REGULAR), Metrics::load(BOLD)]);

/// `text` in Unicode normalisation form C (composed): as it is, when it already is.
fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    if unicode_normalization::is_nfc(text) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.nfc().collect())
    }
}

fn metrics(face: Face) -> &'static Metrics {
    &FACES[match face {
        Face::Regular => 0,
        Face::Bold => 1,
    }]
}

/// The width of `text` at `size` in `face`, in points.
pub fn text_width(text: &str, size: f32, face: Face) -> f32 {
    metrics(face).width(text, size)
}

enum Op {
    Text { x: f32, y: f32, size: f32, face: Face, text: String },
    Frame { x: f32, y: f32, w: f32, h: f32 },
}

/// How page content is stored. Deflate (at krilla's fixed level 6) is 40 % of the time a print
/// batch takes to render, and makes its file 7 times smaller: what is downloaded or mailed is
/// deflated, print batches (written to the print house's folder) are not.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Content {
    Deflated,
    Plain,
}

/// Where each letter of a batch is: its first page (from 1) and how many pages it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub first_page: usize,
    pub pages: usize,
}

pub struct Document {
    pages: Vec<Vec<Op>>,
    /// The baseline cursor, from the top of the page.
    y: f32,
    starts: Vec<usize>,
}

impl Default for Document {
    fn default() -> Self {
        Document::new()
    }
}

impl Document {
    pub fn new() -> Document {
        Document { pages: vec![vec![]], y: TOP, starts: vec![] }
    }

    /// Starts a letter (or note) at the top of a new page; its placement comes out of `finish`.
    pub fn start_letter(&mut self) {
        if !self.pages.last().is_some_and(Vec::is_empty) {
            self.pages.push(vec![]);
        }
        self.y = TOP;
        self.starts.push(self.pages.len() - 1);
    }

    fn ensure_room(&mut self, needed: f32) {
        if self.y + needed > HEIGHT - BOTTOM {
            self.pages.push(vec![]);
            self.y = TOP;
        }
    }

    fn put(&mut self, x: f32, y: f32, text: &str, size: f32, face: Face) {
        let op = Op::Text { x, y, size, face, text: text.to_string() };
        self.pages.last_mut().expect("a page exists").push(op);
    }

    /// The cursor, from the top of the page.
    pub fn cursor(&self) -> f32 {
        self.y
    }

    /// Moves the cursor down to `y` from the top of the page (never up).
    pub fn move_to(&mut self, y: f32) {
        self.y = self.y.max(y);
    }

    /// One line of text at `x`, advancing the cursor.
    pub fn line_at(&mut self, x: f32, text: &str, size: f32, face: Face) {
        let leading = size * 1.35;
        self.ensure_room(leading);
        self.y += leading;
        self.put(x, self.y, text, size, face);
    }

    /// `text` wrapped to the width between the margins.
    pub fn paragraph(&mut self, text: &str, size: f32, face: Face) {
        for line in wrap(text, WIDTH - 2.0 * MARGIN, size, face) {
            self.line_at(MARGIN, &line, size, face);
        }
    }

    /// Like [`Document::paragraph`], kept on one page.
    pub fn paragraph_kept(&mut self, text: &str, size: f32, face: Face) {
        let lines = wrap(text, WIDTH - 2.0 * MARGIN, size, face);
        self.ensure_room(size * 1.35 * lines.len() as f32);
        for line in lines {
            self.line_at(MARGIN, &line, size, face);
        }
    }

    /// A label on the left (wrapped short of the amount column) and an amount right-aligned.
    pub fn row(&mut self, left: &str, right: &str, size: f32, face: Face) {
        let amount_column = text_width(right, size, face).max(90.0) + 12.0;
        let lines = wrap(left, WIDTH - 2.0 * MARGIN - amount_column, size, face);
        let leading = size * 1.35;
        self.ensure_room(leading * lines.len() as f32);
        for (i, line) in lines.iter().enumerate() {
            self.y += leading;
            self.put(MARGIN, self.y, line, size, face);
            if i == 0 {
                let x = WIDTH - MARGIN - text_width(right, size, face);
                self.put(x, self.y, right, size, face);
            }
        }
    }

    /// Label and value pairs in a framed box the width of the text, kept on one page.
    pub fn framed(&mut self, pairs: &[(&str, &str)], size: f32) {
        let leading = size * 1.5;
        let pad = 8.0;
        let height = leading * pairs.len() as f32 + 2.0 * pad;
        self.ensure_room(height + 6.0);
        self.y += 6.0;
        let top = self.y;
        let frame = Op::Frame { x: MARGIN, y: top, w: WIDTH - 2.0 * MARGIN, h: height };
        self.pages.last_mut().expect("a page exists").push(frame);
        self.y += pad;
        let label_width =
            pairs.iter().map(|(l, _)| text_width(l, size, Face::Regular)).fold(0.0, f32::max);
        for (label, value) in pairs {
            self.y += leading;
            self.put(MARGIN + pad, self.y - 3.0, label, size, Face::Regular);
            self.put(MARGIN + pad + label_width + 16.0, self.y - 3.0, value, size, Face::Bold);
        }
        self.y = top + height;
    }

    pub fn space(&mut self, points: f32) {
        self.y += points;
    }

    /// The PDF, and where each letter started with [`Document::start_letter`] is.
    pub fn finish_batch(self, content: Content) -> (Vec<u8>, Vec<Placement>) {
        let total = self.pages.len();
        let placements = self
            .starts
            .iter()
            .enumerate()
            .map(|(i, &first)| {
                let end = self.starts.get(i + 1).copied().unwrap_or(total);
                Placement { first_page: first + 1, pages: end - first }
            })
            .collect();
        let compress_content_streams = content == Content::Deflated;
        let mut pdf = Pdf::new_with(krilla::SerializeSettings {
            compress_content_streams,
            ..Default::default()
        });
        for ops in &self.pages {
            let settings = PageSettings::from_wh(WIDTH, HEIGHT).expect("A4 is a valid size");
            let mut page = pdf.start_page_with(settings);
            let mut surface = page.surface();
            for op in ops {
                match op {
                    Op::Text { x, y, size, face, text } => {
                        let m = metrics(*face);
                        let text = nfc(text);
                        let glyphs: Vec<KrillaGlyph> = text
                            .char_indices()
                            .map(|(i, c)| {
                                let (gid, advance) = m.glyph(c);
                                let range = i..i + c.len_utf8();
                                let id = GlyphId::new(u32::from(gid));
                                KrillaGlyph::new(id, advance, 0.0, 0.0, 0.0, range, None)
                            })
                            .collect();
                        let at = Point::from_xy(*x, *y);
                        surface.draw_glyphs(at, &glyphs, m.font.clone(), &text, *size, false);
                    }
                    Op::Frame { x, y, w, h } => {
                        let mut path = PathBuilder::new();
                        if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                            path.push_rect(rect);
                        }
                        if let Some(path) = path.finish() {
                            surface.set_fill(None::<Fill>);
                            surface.set_stroke(Some(Stroke { width: 0.8, ..Stroke::default() }));
                            surface.draw_path(&path);
                            surface.set_stroke(None);
                            surface.set_fill(Some(Fill::default()));
                        }
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        let bytes = pdf.finish().expect("a document of text and lines always serialises");
        (bytes, placements)
    }

    /// One PDF to download or attach: page content deflated.
    pub fn finish(self) -> Vec<u8> {
        self.finish_batch(Content::Deflated).0
    }
}

/// Splits `text` into lines no wider than `max` points (a single longer word stands alone).
fn wrap(text: &str, max: f32, size: f32, face: Face) -> Vec<String> {
    let m = metrics(face);
    let space = m.glyph(' ').1 * size;
    let mut lines = vec![];
    for para in text.split('\n') {
        let (mut line, mut width) = (String::new(), 0.0);
        for word in para.split_whitespace() {
            let w = m.width(word, size);
            if !line.is_empty() && width + space + w > max {
                lines.push(std::mem::take(&mut line));
                width = 0.0;
            }
            if !line.is_empty() {
                line.push(' ');
                width += space;
            }
            line.push_str(word);
            width += w;
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_pdf_with_page_breaks_and_placements() {
        let make = || {
            let mut d = Document::new();
            d.start_letter();
            d.paragraph(
                "Betalningspåminnelse – åäö ÅÄÖ é (test) Łukasz Wójcik-Nguyễn",
                14.0,
                Face::Bold,
            );
            for i in 0..80 {
                d.row(&format!("Rad {i}"), "1 234,50 kr", 10.0, Face::Regular);
            }
            d.start_letter();
            d.framed(&[("OCR-nummer", "1234567890")], 10.0);
            d.finish_batch(Content::Deflated)
        };
        let (a, placed) = make();
        assert_eq!(a, make().0, "the same input gives the same bytes");
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(
            placed,
            vec![Placement { first_page: 1, pages: 2 }, Placement { first_page: 3, pages: 1 }]
        );
    }

    #[test]
    fn widths_come_from_the_font() {
        // DejaVu Sans: digits are 0.636 em, a space 0.318 em.
        assert!((text_width("0", 10.0, Face::Regular) - 6.36).abs() < 0.01);
        assert!((text_width(" ", 10.0, Face::Regular) - 3.18).abs() < 0.01);
        assert!(text_width("W", 10.0, Face::Bold) > text_width("i", 10.0, Face::Bold));
        // Decomposed and precomposed "ễ" measure the same (NFC first).
        assert_eq!(
            text_width("e\u{302}\u{303}", 10.0, Face::Regular),
            text_width("ễ", 10.0, Face::Regular)
        );
    }

    #[test]
    fn long_text_wraps_within_the_margins() {
        let text = "ord ".repeat(200);
        for line in wrap(&text, WIDTH - 2.0 * MARGIN, 10.0, Face::Regular) {
            assert!(text_width(&line, 10.0, Face::Regular) <= WIDTH - 2.0 * MARGIN);
        }
    }
}
