//! Claims from a CSV file as Swedish Excel writes it: UTF-8 (with or without BOM) or
//! Windows-1252, `;` or `,` separated, quoted fields per RFC 4180, Swedish column names and
//! values. Pure: bytes in, claim inputs or per-line errors out.

use std::io::{BufRead, Read};

use serde_json::Value;

use super::input::{AddressInput, ClaimInput, DebtorInput};

/// The documented columns, in template order: (column, required, what it holds).
pub const COLUMNS: &[(&str, bool, &str)] = &[
    ("fakturanummer", true, "Fakturans nummer, unikt hos er"),
    ("beskrivning", false, "Vad fakturan avser"),
    ("belopp", true, "Obetalt kapital, t.ex. 2500,00"),
    ("fakturadatum", true, "ÅÅÅÅ-MM-DD"),
    ("forfallodag", true, "ÅÅÅÅ-MM-DD"),
    ("uppkomstdag", false, "Dag då fordran uppkom, om annan än fakturadatum"),
    ("paminnelseavgift_avtalad", false, "ja eller nej (nej om tomt)"),
    ("borja_med", false, "påminnelse eller inkassokrav (påminnelse om tomt)"),
    ("galdenar_typ", true, "person eller företag"),
    ("person_orgnr", true, "Personnummer eller organisationsnummer"),
    ("namn", true, "Gäldenärens namn"),
    ("egenskap", true, "konsument eller näringsidkare"),
    ("gatuadress", true, ""),
    ("postnummer", true, "Fem siffror"),
    ("postort", true, ""),
    ("epost", false, "Breven skickas med e-post om den finns"),
    ("telefon", false, ""),
];

/// A file with a header and no rows.
pub const NO_ROWS: &str = "Filen innehåller inga fakturor, bara rubrikraden.";

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 20_000;

/// Which column a validation field (dotted, as the API names it) came from.
pub fn column_of(field: &str) -> &'static str {
    match field {
        "invoice_number" => "fakturanummer",
        "description" => "beskrivning",
        "capital" => "belopp",
        "invoice_date" => "fakturadatum",
        "due_date" => "forfallodag",
        "claim_arose_date" => "uppkomstdag",
        "reminder_fee_agreed" => "paminnelseavgift_avtalad",
        "start_with" => "borja_med",
        "debtor.kind" => "galdenar_typ",
        "debtor.id_number" => "person_orgnr",
        "debtor.name" => "namn",
        "debtor.capacity" => "egenskap",
        "debtor.address" | "debtor.address.street" => "gatuadress",
        "debtor.address.postal_code" => "postnummer",
        "debtor.address.city" => "postort",
        "debtor.email" => "epost",
        "debtor.phone" => "telefon",
        _ => "",
    }
}

/// The template users download: the header and two example rows, UTF-8 with BOM so that Excel
/// shows å, ä and ö.
pub fn template() -> String {
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    format!(
        "\u{feff}{}\r\n{}\r\n{}\r\n",
        header.join(";"),
        "F-1001;Snickeriarbete;2500,00;2026-01-10;2026-02-09;;ja;påminnelse;person;19811218-9876;Sven Svensson;konsument;Storgatan 1;111 22;Stockholm;sven@exempel.se;070-123 45 67",
        "F-1002;Konsulttjänster mars;12000,00;2026-03-31;2026-04-30;;nej;inkassokrav;företag;556036-0793;Exempelbolaget AB;näringsidkare;Box 12;411 01;Göteborg;;"
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
    pub column: &'static str,
    pub message: String,
}

/// Decodes UTF-8 (BOM dropped) or, when the bytes are not UTF-8, Windows-1252.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut text = String::new();
    Encoding::of(bytes).decode_into(bytes, &mut text);
    text
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[(b - 0x80) as usize],
        // The rest of Windows-1252 is Latin-1, which is the first 256 code points.
        _ => b as char,
    }
}

/// A column name as people write it: case, å/ä/ö, spaces and dashes do not matter.
fn normalise(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'å' | 'ä' => 'a',
            'ö' => 'o',
            ' ' | '-' | '.' | '/' => '_',
            c => c,
        })
        .collect()
}

fn yes_no(v: &str) -> Option<bool> {
    match normalise(v).as_str() {
        "" | "nej" | "n" | "no" | "0" | "false" => Some(false),
        "ja" | "j" | "yes" | "1" | "true" | "x" => Some(true),
        _ => None,
    }
}

fn code(v: &str, table: &[(&str, &str)]) -> String {
    let n = normalise(v);
    table
        .iter()
        .find(|(k, _)| *k == n)
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| v.trim().to_string())
}

/// A data row: its line, what it holds (none when it cannot be read as a claim at all) and the
/// problems found while reading its values (before claim validation).
#[derive(Debug)]
pub struct Row {
    pub line: usize,
    pub input: Option<ClaimInput>,
    pub errors: Vec<LineError>,
}

/// How the file's bytes are text: UTF-8 when all of them are, else Windows-1252 (what Excel
/// writes for "CSV (semikolonavgränsad)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1252,
}

impl Encoding {
    /// Reads the whole source once, a block at a time, in constant memory.
    pub fn detect(mut src: impl Read) -> std::io::Result<Encoding> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut carried = 0;
        loop {
            let n = src.read(&mut buf[carried..])?;
            if n == 0 {
                // A sequence cut off by the end of the file is not UTF-8.
                return Ok(if carried == 0 { Encoding::Utf8 } else { Encoding::Windows1252 });
            }
            let filled = carried + n;
            match std::str::from_utf8(&buf[..filled]) {
                Ok(_) => carried = 0,
                // A character split between two blocks: carry its first bytes over.
                Err(e) if e.error_len().is_none() => {
                    let from = e.valid_up_to();
                    buf.copy_within(from..filled, 0);
                    carried = filled - from;
                }
                Err(_) => return Ok(Encoding::Windows1252),
            }
        }
    }

    fn of(bytes: &[u8]) -> Encoding {
        if std::str::from_utf8(bytes).is_ok() { Encoding::Utf8 } else { Encoding::Windows1252 }
    }

    fn decode_into(self, bytes: &[u8], out: &mut String) {
        out.clear();
        match self {
            Encoding::Utf8 => out.push_str(&String::from_utf8_lossy(bytes)),
            Encoding::Windows1252 => out.extend(bytes.iter().map(|&b| windows_1252(b))),
        }
    }
}

/// Reads a claims file a row at a time, in memory that does not grow with the file: the header
/// when opened, then [`Reader::next_row`] until `None`. Records may hold quoted separators,
/// doubled quotes and line breaks; rows with nothing on them (Excel writes `;;;;` for an empty
/// row) are skipped.
pub struct Reader<R> {
    src: R,
    encoding: Encoding,
    sep: char,
    /// Physical lines read so far.
    line: usize,
    bytes: Vec<u8>,
    text: String,
    /// For each field of the header, its column in [`COLUMNS`].
    index: Vec<usize>,
}

fn file_error(line: usize, message: String) -> LineError {
    LineError { line, column: "", message }
}

impl<R: BufRead> Reader<R> {
    /// Reads the header: the separator (`;` or `,`, whichever the first line has more of) and
    /// the columns. A file-level problem is one error on line 1.
    pub fn open(src: R, encoding: Encoding) -> Result<Self, LineError> {
        let mut reader = Reader {
            src,
            encoding,
            sep: ';',
            line: 0,
            bytes: Vec::new(),
            text: String::new(),
            index: Vec::new(),
        };
        let Some((_, header)) = reader.next_record()? else {
            return Err(file_error(1, "Filen är tom.".into()));
        };
        for name in &header {
            let n = normalise(name);
            let n = if n == "forfallodatum" { "forfallodag".to_string() } else { n };
            match COLUMNS.iter().position(|(c, _, _)| *c == n) {
                Some(i) => reader.index.push(i),
                None => {
                    return Err(file_error(
                        1,
                        format!(
                            "Okänd kolumn ”{}”. Använd kolumnerna i mallen: {}.",
                            name.trim(),
                            COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .enumerate()
            .filter(|(i, (_, required, _))| *required && !reader.index.contains(i))
            .map(|(_, (c, _, _))| *c)
            .collect();
        if !missing.is_empty() {
            return Err(file_error(1, format!("Kolumner saknas: {}.", missing.join(", "))));
        }
        Ok(reader)
    }

    /// The next data row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row>, LineError> {
        let Some((line, fields)) = self.next_record()? else { return Ok(None) };
        Ok(Some(self.row(line, &fields)))
    }

    /// The next record that has something on it: (the line it starts on, its fields).
    fn next_record(&mut self) -> Result<Option<(usize, Vec<String>)>, LineError> {
        loop {
            let start = self.line + 1;
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut at_field_start = true;
            let mut ended = false;
            while !ended {
                self.bytes.clear();
                let n = self.src.read_until(b'\n', &mut self.bytes).map_err(|e| {
                    file_error(self.line + 1, format!("Filen kunde inte läsas: {e}."))
                })?;
                if n == 0 {
                    if quoted {
                        return Err(file_error(
                            start,
                            "Ett citattecken (\") avslutas aldrig; kontrollera raden.".into(),
                        ));
                    }
                    if fields.is_empty() && field.is_empty() {
                        return Ok(None);
                    }
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                self.line += 1;
                let mut bytes = &self.bytes[..];
                if self.line == 1 {
                    bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
                }
                self.encoding.decode_into(bytes, &mut self.text);
                if self.line == 1 {
                    let semi = self.text.matches(';').count();
                    self.sep = if semi >= self.text.matches(',').count() { ';' } else { ',' };
                }
                let mut chars = self.text.chars().peekable();
                while let Some(c) = chars.next() {
                    if quoted {
                        match c {
                            '"' if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            '"' => quoted = false,
                            _ => field.push(c),
                        }
                        continue;
                    }
                    match c {
                        '"' if at_field_start => {
                            quoted = true;
                            at_field_start = false;
                        }
                        c if c == self.sep => {
                            fields.push(std::mem::take(&mut field));
                            at_field_start = true;
                        }
                        '\r' => {}
                        '\n' => {
                            fields.push(std::mem::take(&mut field));
                            ended = true;
                        }
                        _ => {
                            field.push(c);
                            at_field_start = false;
                        }
                    }
                }
            }
            if fields.iter().any(|v| !v.trim().is_empty()) {
                return Ok(Some((start, fields)));
            }
        }
    }

    fn row(&self, line: usize, fields: &[String]) -> Row {
        let failed = |column, message| Row {
            line,
            input: None,
            errors: vec![LineError { line, column, message }],
        };
        if fields.len() != self.index.len() {
            return failed(
                "",
                format!(
                    "Raden har {} fält men rubrikraden {}. Kontrollera avgränsare och citattecken.",
                    fields.len(),
                    self.index.len()
                ),
            );
        }
        // The same rule for text as every form and API body: no NUL, no control characters,
        // line breaks only in the description, and a maximum length.
        let bad = fields.iter().enumerate().find_map(|(i, f)| {
            let column = COLUMNS[self.index[i]].0;
            crate::web::extract::check_text(column, f).err().map(|p| (column, p))
        });
        if let Some((column, problem)) = bad {
            return failed(column, problem.message());
        }
        let mut v: [&str; 17] = [""; 17];
        for (i, f) in fields.iter().enumerate() {
            v[self.index[i]] = f.trim();
        }
        let mut errors = Vec::new();
        let reminder_fee_agreed = yes_no(v[6]).unwrap_or_else(|| {
            errors.push(LineError {
                line,
                column: "paminnelseavgift_avtalad",
                message: "Skriv ja eller nej.".into(),
            });
            false
        });
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let input = ClaimInput {
            invoice_number: opt(v[0]),
            description: opt(v[1]),
            capital: opt(v[2]).map(Value::String),
            invoice_date: opt(v[3]),
            due_date: opt(v[4]),
            claim_arose_date: opt(v[5]),
            reminder_fee_agreed: Some(reminder_fee_agreed),
            start_with: Some(code(
                v[7],
                &[
                    ("paminnelse", "reminder"),
                    ("betalningspaminnelse", "reminder"),
                    ("reminder", "reminder"),
                    ("inkassokrav", "collection"),
                    ("inkasso", "collection"),
                    ("collection", "collection"),
                ],
            )),
            debtor: Some(DebtorInput {
                kind: Some(code(
                    v[8],
                    &[
                        ("person", "person"),
                        ("privatperson", "person"),
                        ("foretag", "company"),
                        ("company", "company"),
                    ],
                )),
                id_number: opt(v[9]),
                name: opt(v[10]),
                capacity: Some(code(
                    v[11],
                    &[
                        ("konsument", "consumer"),
                        ("consumer", "consumer"),
                        ("naringsidkare", "business"),
                        ("business", "business"),
                    ],
                )),
                address: Some(AddressInput {
                    street: opt(v[12]),
                    postal_code: opt(v[13]),
                    city: opt(v[14]),
                }),
                email: opt(v[15]),
                phone: opt(v[16]),
            }),
            creditor_org_nr: None,
        };
        Row { line, input: Some(input), errors }
    }
}

/// How many data rows a file has, as far as it can be read (for a progress bar; the import
/// itself reports what is wrong with it).
pub fn count_rows(bytes: &[u8]) -> usize {
    let Ok(mut reader) = Reader::open(bytes, Encoding::of(bytes)) else { return 0 };
    let mut n = 0;
    while let Ok(Some(_)) = reader.next_row() {
        n += 1;
    }
    n
}

/// Reads a whole uploaded file (at most [`MAX_ROWS`] rows). A file-level problem (no header,
/// unknown or missing columns, too many rows, an unterminated quote) is a single error on
/// line 1 (or the line it starts on).
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>, LineError> {
    let mut reader = Reader::open(bytes, Encoding::of(bytes))?;
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row()? {
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(file_error(1, NO_ROWS.into()));
    }
    if rows.len() > MAX_ROWS {
        return Err(file_error(
            1,
            format!("Filen har {} rader; högst {MAX_ROWS} per fil. Dela upp den.", rows.len()),
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_back() {
        let rows = parse(template().as_bytes()).unwrap();
        assert!(rows.iter().all(|r| r.errors.is_empty()), "{rows:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        let first = rows[0].input.as_ref().unwrap();
        assert_eq!(first.invoice_number.as_deref(), Some("F-1001"));
        assert_eq!(first.reminder_fee_agreed, Some(true));
        assert_eq!(first.start_with.as_deref(), Some("reminder"));
        let second = rows[1].input.as_ref().unwrap();
        assert_eq!(second.start_with.as_deref(), Some("collection"));
        let d = second.debtor.as_ref().unwrap();
        assert_eq!(d.kind.as_deref(), Some("company"));
        assert_eq!(d.capacity.as_deref(), Some("business"));
    }

    #[test]
    fn windows_1252_and_commas_and_quotes() {
        // "Åsa Öberg" and "Västerås" in Windows-1252, comma separated, a quoted field with a
        // comma and a doubled quote, and a line break inside quotes.
        let mut bytes = b"Fakturanummer,Belopp,Fakturadatum,F\xf6rfallodag,Galdenar_typ,Person_orgnr,Namn,Egenskap,Gatuadress,Postnummer,Postort,Beskrivning\r\n".to_vec();
        bytes.extend_from_slice(b"A-1,\"1 250,50\",2026-01-10,2026-02-09,person,198112189876,\xc5sa \xd6berg,konsument,Kyrkgatan 3,72211,V\xe4ster\xe5s,\"Tak, \"\"stora\"\"\nhuset\"\r\n");
        let rows = parse(&bytes).unwrap();
        assert!(rows[0].errors.is_empty(), "{rows:?}");
        let c = rows[0].input.as_ref().unwrap();
        assert_eq!(c.capital, Some(Value::String("1 250,50".into())));
        let d = c.debtor.as_ref().unwrap();
        assert_eq!(d.name.as_deref(), Some("Åsa Öberg"));
        assert_eq!(d.address.as_ref().unwrap().city.as_deref(), Some("Västerås"));
        assert_eq!(c.description.as_deref(), Some("Tak, \"stora\"\nhuset"));
    }

    #[test]
    fn file_level_errors_name_the_problem() {
        assert!(parse(b"").unwrap_err().message.contains("tom"));
        let e = parse(b"fakturanummer;belopp;hittepa\n1;2;3\n").unwrap_err();
        assert!(e.message.contains("hittepa"), "{e:?}");
        let e = parse(b"fakturanummer;belopp\n1;2\n").unwrap_err();
        assert!(e.message.contains("fakturadatum"), "{e:?}");
        let e = parse(template().lines().next().unwrap().as_bytes()).unwrap_err();
        assert!(e.message.contains("bara rubrikraden"), "{e:?}");
        let mut unterminated = template();
        unterminated.push_str("\"F-9;");
        assert_eq!(parse(unterminated.as_bytes()).unwrap_err().line, 4);
    }

    #[test]
    fn row_errors_carry_their_line_and_column() {
        let mut t = template();
        t.push_str(
            "F-3;x;1;2026-01-01;2026-01-31;;kanske;påminnelse;person;1;N;konsument;G;11122;O;;\r\n",
        );
        t.push_str(";;;\r\n");
        t.push_str("too;few\r\n");
        let rows = parse(t.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows.iter().filter(|r| r.input.is_some()).count(), 3);
        assert_eq!(
            rows.iter().flat_map(|r| r.errors.clone()).collect::<Vec<_>>(),
            vec![
                LineError {
                    line: 4,
                    column: "paminnelseavgift_avtalad",
                    message: "Skriv ja eller nej.".into()
                },
                LineError {
                    line: 6,
                    column: "",
                    message: "Raden har 2 fält men rubrikraden 17. Kontrollera avgränsare och citattecken.".into()
                }
            ]
        );
    }

    #[test]
    fn a_file_is_read_a_row_at_a_time_whatever_its_size_and_encoding() {
        // "Å" (two bytes in UTF-8) split across the detector's 64 KiB blocks is still UTF-8;
        // one stray Windows-1252 byte anywhere makes the whole file Windows-1252.
        let mut utf8 = template().into_bytes();
        while utf8.len() < 64 * 1024 - 1 {
            utf8.extend_from_slice(
                b"F-x;;1;2026-01-10;2026-02-09;;;;person;1;N;konsument;G;11122;O;;\r\n",
            );
        }
        utf8.truncate(64 * 1024 - 1);
        utf8.extend_from_slice("Å".as_bytes());
        assert_eq!(Encoding::detect(&utf8[..]).unwrap(), Encoding::Utf8);
        utf8.push(0xe5);
        assert_eq!(Encoding::detect(&utf8[..]).unwrap(), Encoding::Windows1252);
        assert_eq!(Encoding::detect(&b"ok\xc3"[..]).unwrap(), Encoding::Windows1252);

        // Rows come one by one with the lines they start on, quoted line breaks included.
        let mut file = template();
        file.push_str(
            "F-3;\"två\nrader\";1;2026-01-01;2026-01-31;;;;person;1;N;konsument;G;11122;O;;\r\n",
        );
        file.push_str(";;;\r\nF-4;;1;2026-01-01;2026-01-31;;;;person;1;N;konsument;G;11122;O;;");
        let mut reader = Reader::open(file.as_bytes(), Encoding::Utf8).unwrap();
        let mut seen = vec![];
        while let Some(row) = reader.next_row().unwrap() {
            let input = row.input.unwrap();
            seen.push((row.line, input.invoice_number.unwrap(), input.description));
        }
        assert_eq!(
            seen.iter().map(|(l, n, _)| (*l, n.as_str())).collect::<Vec<_>>(),
            [(2, "F-1001"), (3, "F-1002"), (4, "F-3"), (7, "F-4")]
        );
        assert_eq!(seen[2].2.as_deref(), Some("två\nrader"));
    }

    #[test]
    fn every_validation_field_maps_to_a_column() {
        for f in [
            "invoice_number",
            "capital",
            "invoice_date",
            "due_date",
            "claim_arose_date",
            "start_with",
            "debtor.kind",
            "debtor.id_number",
            "debtor.name",
            "debtor.capacity",
            "debtor.address",
            "debtor.address.street",
            "debtor.address.postal_code",
            "debtor.address.city",
            "debtor.email",
            "debtor.phone",
            "description",
        ] {
            assert!(!column_of(f).is_empty(), "{f}");
        }
    }
}
