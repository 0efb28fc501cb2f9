//! CSV as Swedish Excel opens it: UTF-8 with a byte-order mark, `;` between cells, decimal
//! comma, CRLF line ends. Settlement notes and commission statements are written with it.

use rust_decimal::Decimal;

use crate::domain::money::Sek;

/// Starts the file: Excel reads UTF-8 only after this mark.
pub const BOM: &str = "\u{feff}";

/// A text cell: quoted when it holds a separator, quote or line break, and never a formula (a
/// leading = + - @ would make Excel run one).
pub fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([';', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// An amount with öre and a decimal comma: `1234,50`, `-26,00`.
pub fn amount(d: Decimal) -> String {
    Sek::from_decimal(d).to_plain().replace('.', ",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_and_amounts() {
        assert_eq!(super::cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(super::cell("Bygg; Måleri"), "\"Bygg; Måleri\"");
        assert_eq!(super::cell("sa \"hej\"\n"), "\"sa \"\"hej\"\"\n\"");
        assert_eq!(super::amount(rust_decimal::Decimal::new(-2600, 2)), "-26,00");
    }
}
