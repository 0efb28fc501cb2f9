//! The wording of the lifecycle letters as versioned text: each version of a letter kind has
//! three blocks (the opening, what happens next, how to object), with placeholders filled in
//! when a letter is written. Staff publish a version from a date; a letter keeps the text it
//! was written with in its snapshot.

use chrono::NaiveDate;

/// The placeholders a block may use, and what each stands for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("{borgenär}", "borgenärens namn"),
    ("{fordra}", "Fordras namn"),
    ("{sista_dag}", "sista betalningsdag"),
    ("{epost}", "Fordras e-postadress"),
    ("{telefon}", "Fordras telefonnummer"),
    ("{adress}", "Fordras postadress"),
    ("{ärendenummer}", "ärendenumret"),
];

/// One version of one letter kind's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub kind: String,
    pub version: String,
    pub from: NaiveDate,
    /// Opening, what happens next, how to object.
    pub blocks: [String; 3],
}

/// What the placeholders stand for in one letter.
pub struct Values<'a> {
    pub creditor: &'a str,
    pub sender: &'a str,
    pub deadline: NaiveDate,
    pub email: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    pub case_number: i64,
}

impl Version {
    /// The three blocks with the placeholders filled.
    pub fn fill(&self, v: &Values) -> [String; 3] {
        let values = [
            v.creditor.to_string(),
            v.sender.to_string(),
            v.deadline.to_string(),
            v.email.to_string(),
            v.phone.to_string(),
            v.address.to_string(),
            v.case_number.to_string(),
        ];
        self.blocks.clone().map(|mut b| {
            for ((p, _), value) in PLACEHOLDERS.iter().zip(&values) {
                b = b.replace(p, value);
            }
            b
        })
    }
}

/// Every version of the letters' wording.
#[derive(Clone, Debug, Default)]
pub struct Wording {
    versions: Vec<Version>,
}

impl Wording {
    pub fn new(mut versions: Vec<Version>) -> Wording {
        versions.sort_by(|a, b| (a.from, &a.version).cmp(&(b.from, &b.version)));
        Wording { versions }
    }

    /// The version of `kind` in force on `date`: the newest from on or before it.
    pub fn in_force(&self, kind: &str, date: NaiveDate) -> Option<&Version> {
        self.versions.iter().rev().find(|v| v.kind == kind && v.from <= date)
    }
}

/// A published text split into its three blocks (separated by blank lines), or why it cannot be
/// used: the wrong number of blocks, or a placeholder that does not exist.
pub fn parse_blocks(body: &str) -> Result<[String; 3], String> {
    let body = body.replace("\r\n", "\n");
    let blocks: Vec<String> = body
        .split("\n\n")
        .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|b| !b.is_empty())
        .collect();
    let Ok(blocks) = <[String; 3]>::try_from(blocks) else {
        return Err("Texten ska ha tre stycken, åtskilda av en tom rad: inledning, vad som händer sedan, hur man invänder.".into());
    };
    for b in &blocks {
        let mut rest = b.as_str();
        while let Some(i) = rest.find('{') {
            let end = rest[i..].find('}').map(|j| i + j + 1).unwrap_or(rest.len());
            let token = &rest[i..end];
            if !PLACEHOLDERS.iter().any(|(p, _)| *p == token) {
                return Err(format!("Okänd platshållare {token}. Tillåtna: {}.", names()));
            }
            rest = &rest[end..];
        }
    }
    Ok(blocks)
}

fn names() -> String {
    PLACEHOLDERS.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_are_parsed_checked_and_filled() {
        let blocks = parse_blocks(
            "Hej {borgenär}\nrad två.\n\nBetala senast {sista_dag}.\r\n\r\nSkriv till {epost}.",
        )
        .unwrap();
        assert_eq!(blocks[0], "Hej {borgenär} rad två.");
        assert!(parse_blocks("Bara ett stycke.").unwrap_err().contains("tre stycken"));
        assert!(
            parse_blocks("a\n\nb {okänd}\n\nc").unwrap_err().contains("Okänd platshållare {okänd}")
        );
        let v = Version {
            kind: "letter_reminder".into(),
            version: "1".into(),
            from: d("2026-01-01"),
            blocks,
        };
        let filled = v.fill(&Values {
            creditor: "Bygg AB",
            sender: "Fordra",
            deadline: d("2026-03-01"),
            email: "a@b.se",
            phone: "08",
            address: "Box 1",
            case_number: 7,
        });
        assert_eq!(
            filled,
            ["Hej Bygg AB rad två.", "Betala senast 2026-03-01.", "Skriv till a@b.se."]
        );
    }

    #[test]
    fn the_version_in_force_is_the_newest_started() {
        let v = |version: &str, from: &str| Version {
            kind: "letter_reminder".into(),
            version: version.into(),
            from: d(from),
            blocks: Default::default(),
        };
        let w = Wording::new(vec![v("2", "2027-01-01"), v("1", "2026-01-01")]);
        assert_eq!(w.in_force("letter_reminder", d("2026-12-31")).unwrap().version, "1");
        assert_eq!(w.in_force("letter_reminder", d("2027-01-01")).unwrap().version, "2");
        assert!(w.in_force("letter_reminder", d("2025-01-01")).is_none());
        assert!(w.in_force("letter_collection", d("2027-01-01")).is_none());
    }
}
