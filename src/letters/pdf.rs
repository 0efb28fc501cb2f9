//! A small PDF writer for letters: A4 pages of text in the standard Helvetica faces
//! (WinAnsiEncoding covers å, ä, ö, é and the dashes), no timestamps or ids, so the same
//! input always gives the same bytes.

use std::fmt::Write;

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

pub struct Document {
    pages: Vec<String>,
    y: f32,
}

impl Default for Document {
    fn default() -> Self {
        Document::new()
    }
}

impl Document {
    pub fn new() -> Document {
        Document { pages: vec![String::new()], y: HEIGHT - MARGIN }
    }

    fn ensure_room(&mut self, needed: f32) {
        if self.y - needed < MARGIN {
            self.pages.push(String::new());
            self.y = HEIGHT - MARGIN;
        }
    }

    /// Writes `text` at the current line, wrapped to the page width.
    pub fn paragraph(&mut self, text: &str, size: f32, face: Face) {
        let max_chars = ((WIDTH - 2.0 * MARGIN) / (size * 0.5)) as usize;
        for line in wrap(text, max_chars) {
            self.line_at(MARGIN, &line, size, face);
        }
    }

    /// One line of text at `x`, advancing the cursor.
    pub fn line_at(&mut self, x: f32, text: &str, size: f32, face: Face) {
        let leading = size * 1.35;
        self.ensure_room(leading);
        self.y -= leading;
        self.put(x, self.y, text, size, face);
    }

    /// Two columns on one line: a label on the left, an amount right-aligned.
    pub fn row(&mut self, left: &str, right: &str, size: f32, face: Face) {
        let leading = size * 1.35;
        self.ensure_room(leading);
        self.y -= leading;
        let y = self.y;
        self.put(MARGIN, y, left, size, face);
        let width = text_width(right, size);
        self.put(WIDTH - MARGIN - width, y, right, size, face);
    }

    pub fn space(&mut self, points: f32) {
        self.y -= points;
    }

    fn put(&mut self, x: f32, y: f32, text: &str, size: f32, face: Face) {
        let font = if face == Face::Bold { "F2" } else { "F1" };
        let page = self.pages.last_mut().expect("a page exists");
        let _ = writeln!(page, "BT /{font} {size:.1} Tf {x:.2} {y:.2} Td ({}) Tj ET", escape(text));
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe5\xe4\xf6\n".to_vec();
        let mut offsets = vec![];
        let n_pages = self.pages.len();
        // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, then page/content pairs.
        let mut objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {n_pages} >>",
                (0..n_pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect::<Vec<_>>().join(" ")
            )
            .into_bytes(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
        ];
        for (i, content) in self.pages.iter().enumerate() {
            let content_bytes = encode(content);
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    6 + 2 * i
                )
                .into_bytes(),
            );
            let mut stream =
                format!("<< /Length {} >>\nstream\n", content_bytes.len()).into_bytes();
            stream.extend_from_slice(&content_bytes);
            stream.extend_from_slice(b"\nendstream");
            objects.push(stream);
        }
        for (i, obj) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(obj);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }
}

/// Approximate Helvetica width (average 0.5 em; digits 0.556 em) for right alignment.
fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                0.556
            } else if c == ' ' {
                0.278
            } else {
                0.5
            }
        })
        .sum::<f32>()
        * size
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")
}

/// UTF-8 content to WinAnsi (CP1252) bytes; anything outside it becomes `?`.
fn encode(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{0}'..='\u{7f}' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '–' => 0x96,
            '—' => 0x97,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '…' => 0x85,
            '€' => 0x80,
            _ => b'?',
        })
        .collect()
}

fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = vec![];
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_pdf_with_swedish_letters() {
        let make = || {
            let mut d = Document::new();
            d.paragraph("Betalningspåminnelse – åäö ÅÄÖ é (test)", 14.0, Face::Bold);
            for i in 0..80 {
                d.row(&format!("Rad {i}"), "1 234,50 kr", 10.0, Face::Regular);
            }
            d.finish()
        };
        let a = make();
        assert_eq!(a, make());
        assert!(a.starts_with(b"%PDF-1.4"));
        assert!(a.ends_with(b"%%EOF\n"));
        assert!(a.windows(3).any(|w| w == [0xe5, 0xe4, 0xf6]), "åäö in WinAnsi");
        assert!(
            String::from_utf8_lossy(&a).contains("/Count 2"),
            "a second page when the first is full"
        );
        assert!(String::from_utf8_lossy(&a).contains("\\(test\\)"));
    }
}
