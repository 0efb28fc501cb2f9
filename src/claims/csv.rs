//! Claims from a CSV file as Swedish Excel writes it: UTF-8 (with or without BOM) or
//! Windows-1252, `;` or `,` separated, quoted fields per RFC 4180, Swedish column names and
//! values. Pure: bytes in, claim inputs or per-line errors out.

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

#[derive(Debug)]
pub struct Parsed {
    /// (line, input) for every data row.
    pub rows: Vec<(usize, ClaimInput)>,
    /// Errors found while reading values (before claim validation).
    pub errors: Vec<LineError>,
}

/// Decodes UTF-8 (BOM dropped) or, when the bytes are not UTF-8, Windows-1252.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
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

/// Splits text into records of fields; quoted fields may hold the separator, quotes ("") and
/// line breaks. Returns (line where the record starts, fields).
fn records(text: &str, sep: char) -> Result<Vec<(usize, Vec<String>)>, usize> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            c if c == sep => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(start);
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push((start, fields));
    }
    // Lines with nothing on them (Excel writes `;;;;` for an empty row) are not records.
    out.retain(|(_, f)| f.iter().any(|v| !v.trim().is_empty()));
    Ok(out)
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

/// Reads a whole file. A file-level problem (no header, unknown or missing columns, too many
/// rows, an unterminated quote) is a single error on line 1 (or the line it starts on).
pub fn parse(bytes: &[u8]) -> Result<Parsed, LineError> {
    let file_error = |line: usize, message: String| LineError { line, column: "", message };
    let text = decode(bytes);
    let first = text.lines().next().unwrap_or("");
    let sep = if first.matches(';').count() >= first.matches(',').count() { ';' } else { ',' };
    let records = records(&text, sep).map_err(|line| {
        file_error(line, "Ett citattecken (\") avslutas aldrig; kontrollera raden.".into())
    })?;
    let Some(((_, header), data)) = records.split_first() else {
        return Err(file_error(1, "Filen är tom.".into()));
    };
    let mut index = Vec::with_capacity(header.len());
    for name in header {
        let n = normalise(name);
        let n = if n == "forfallodatum" { "forfallodag".to_string() } else { n };
        match COLUMNS.iter().position(|(c, _, _)| *c == n) {
            Some(i) => index.push(i),
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
        .filter(|(i, (_, required, _))| *required && !index.contains(i))
        .map(|(_, (c, _, _))| *c)
        .collect();
    if !missing.is_empty() {
        return Err(file_error(1, format!("Kolumner saknas: {}.", missing.join(", "))));
    }
    if data.is_empty() {
        return Err(file_error(1, "Filen innehåller inga fakturor, bara rubrikraden.".into()));
    }
    if data.len() > MAX_ROWS {
        return Err(file_error(
            1,
            format!("Filen har {} rader; högst {MAX_ROWS} per fil. Dela upp den.", data.len()),
        ));
    }
    let mut rows = Vec::with_capacity(data.len());
    let mut errors = Vec::new();
    for (line, fields) in data {
        if fields.len() != header.len() {
            errors.push(LineError {
                line: *line,
                column: "",
                message: format!(
                    "Raden har {} fält men rubrikraden {}. Kontrollera avgränsare och citattecken.",
                    fields.len(),
                    header.len()
                ),
            });
            continue;
        }
        // The same rule for text as every form and API body: no NUL, no control characters,
        // line breaks only in the description, and a maximum length.
        let bad = fields.iter().enumerate().find_map(|(i, f)| {
            let column = COLUMNS[index[i]].0;
            crate::web::extract::check_text(column, f).err().map(|p| (column, p))
        });
        if let Some((column, problem)) = bad {
            errors.push(LineError { line: *line, column, message: problem.message() });
            continue;
        }
        let mut v: [&str; 17] = [""; 17];
        for (i, f) in fields.iter().enumerate() {
            v[index[i]] = f.trim();
        }
        let reminder_fee_agreed = match yes_no(v[6]) {
            Some(b) => b,
            None => {
                errors.push(LineError {
                    line: *line,
                    column: "paminnelseavgift_avtalad",
                    message: "Skriv ja eller nej.".into(),
                });
                false
            }
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        rows.push((
            *line,
            ClaimInput {
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
            },
        ));
    }
    Ok(Parsed { rows, errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_back() {
        let p = parse(template().as_bytes()).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.rows.len(), 2);
        let (line, first) = &p.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(first.invoice_number.as_deref(), Some("F-1001"));
        assert_eq!(first.reminder_fee_agreed, Some(true));
        assert_eq!(first.start_with.as_deref(), Some("reminder"));
        let second = &p.rows[1].1;
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
        let p = parse(&bytes).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let c = &p.rows[0].1;
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
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.rows.len(), 3);
        assert_eq!(
            p.errors,
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
