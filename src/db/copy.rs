//! Bulk writes with `COPY … FROM STDIN` in PostgreSQL's text format: rows are encoded here and
//! sent in one stream, which PostgreSQL loads faster than `INSERT … SELECT FROM unnest(…)`
//! with one array per column.

use std::fmt::{Display, Write as _};

use sqlx::PgConnection;

/// Rows for one `COPY`, column by column; every row must give every column of the statement.
pub struct Rows {
    buf: String,
    at_row_start: bool,
    count: usize,
}

impl Default for Rows {
    fn default() -> Rows {
        Rows::new()
    }
}

impl Rows {
    pub fn new() -> Rows {
        Rows { buf: String::new(), at_row_start: true, count: 0 }
    }

    fn sep(&mut self) {
        if !self.at_row_start {
            self.buf.push('\t');
        }
        self.at_row_start = false;
    }

    /// A text value, escaped (backslash, tab, line breaks).
    pub fn text(&mut self, v: &str) -> &mut Rows {
        self.sep();
        for c in v.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    /// A value whose `Display` form PostgreSQL reads as is: numbers (`Decimal`, integers),
    /// UUIDs, dates, booleans, and timestamps through [`timestamp`].
    pub fn value(&mut self, v: impl Display) -> &mut Rows {
        self.sep();
        let _ = write!(self.buf, "{v}");
        self
    }

    pub fn opt_text(&mut self, v: Option<&str>) -> &mut Rows {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub fn opt_value(&mut self, v: Option<impl Display>) -> &mut Rows {
        match v {
            Some(v) => self.value(v),
            None => self.null(),
        }
    }

    pub fn null(&mut self) -> &mut Rows {
        self.sep();
        self.buf.push_str("\\N");
        self
    }

    pub fn end_row(&mut self) {
        self.buf.push('\n');
        self.at_row_start = true;
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A timestamp as PostgreSQL stores it (to the microsecond, truncated as when it is bound).
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> impl Display {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00")
}

/// Runs `copy <table> (<columns>) from stdin` with `rows`; returns how many were written.
pub async fn copy_in(conn: &mut PgConnection, target: &str, rows: Rows) -> sqlx::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut copy = conn.copy_in_raw(&format!("copy {target} from stdin")).await?;
    copy.send(rows.buf.into_bytes()).await?;
    copy.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_nulls_marked() {
        let mut rows = Rows::new();
        rows.text("a\tb\\c\nd").null().value(125).opt_text(None).opt_value(Some(7)).end_row();
        rows.text("Łukasz").end_row();
        assert_eq!(rows.buf, "a\\tb\\\\c\\nd\t\\N\t125\t\\N\t7\nŁukasz\n");
        assert_eq!(rows.len(), 2);
        let mut d = Rows::default();
        d.value(1).end_row();
        assert_eq!(d.buf, "1\n", "a default is a new, empty set of rows");
    }
}
