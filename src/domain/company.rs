//! The legal form of a creditor's business (bolagsform). A sole trader (enskild firma) has no
//! organisation number of its own: it uses the owner's personnummer (rules-sweden.md G3).

use serde::{Deserialize, Serialize};

use super::ids::{IdKind, IdNumber};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyForm {
    Aktiebolag,
    EnskildFirma,
    Handelsbolag,
    EkonomiskForening,
    IdeellForening,
    Annan,
}

impl CompanyForm {
    pub const ALL: [CompanyForm; 6] = [
        CompanyForm::Aktiebolag,
        CompanyForm::EnskildFirma,
        CompanyForm::Handelsbolag,
        CompanyForm::EkonomiskForening,
        CompanyForm::IdeellForening,
        CompanyForm::Annan,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompanyForm::Aktiebolag => "aktiebolag",
            CompanyForm::EnskildFirma => "enskild_firma",
            CompanyForm::Handelsbolag => "handelsbolag",
            CompanyForm::EkonomiskForening => "ekonomisk_forening",
            CompanyForm::IdeellForening => "ideell_forening",
            CompanyForm::Annan => "annan",
        }
    }

    pub fn parse(s: &str) -> Option<CompanyForm> {
        CompanyForm::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CompanyForm::Aktiebolag => "Aktiebolag",
            CompanyForm::EnskildFirma => "Enskild firma",
            CompanyForm::Handelsbolag => "Handelsbolag eller kommanditbolag",
            CompanyForm::EkonomiskForening => "Ekonomisk förening",
            CompanyForm::IdeellForening => "Ideell förening eller stiftelse",
            CompanyForm::Annan => "Annan företagsform",
        }
    }

    /// The usual form for a number: a personnummer is a sole trader's; an organisation number's
    /// first digit names its group (G3).
    pub fn default_for(id: &IdNumber) -> CompanyForm {
        if id.kind() != IdKind::Organisation {
            return CompanyForm::EnskildFirma;
        }
        match id.as_str().as_bytes().get(2) {
            Some(b'5') => CompanyForm::Aktiebolag,
            Some(b'7') => CompanyForm::EkonomiskForening,
            Some(b'8') => CompanyForm::IdeellForening,
            Some(b'9') => CompanyForm::Handelsbolag,
            _ => CompanyForm::Annan,
        }
    }

    /// Why `form` cannot go with `id`, if it cannot: only a sole trader uses a personnummer,
    /// and a sole trader has no organisation number of its own.
    pub fn mismatch(self, id: &IdNumber) -> Option<&'static str> {
        match (id.kind(), self) {
            (IdKind::Organisation, CompanyForm::EnskildFirma) => Some(
                "En enskild firma har ägarens personnummer som organisationsnummer. Ange personnumret, eller välj rätt företagsform.",
            ),
            (IdKind::Person | IdKind::Coordination, f) if f != CompanyForm::EnskildFirma => Some(
                "Ett personnummer är organisationsnummer bara för en enskild firma. Ange företagets organisationsnummer, eller välj enskild firma.",
            ),
            _ => None,
        }
    }
}

/// A creditor's status (`pending`, `approved`, `rejected`) in words.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "approved" => "Godkänd",
        "pending" => "Väntar på kundbedömning",
        _ => "Avslagen",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sole_traders_use_the_owners_personnummer() {
        let today = "2026-11-22".parse().unwrap();
        let person = IdNumber::parse("811218-9876", today).unwrap();
        let ab = IdNumber::parse("556036-0793", today).unwrap();
        let city = IdNumber::parse("212000-0142", today).unwrap();
        assert_eq!(CompanyForm::default_for(&person), CompanyForm::EnskildFirma);
        assert_eq!(CompanyForm::default_for(&ab), CompanyForm::Aktiebolag);
        assert_eq!(CompanyForm::default_for(&city), CompanyForm::Annan);
        assert!(CompanyForm::EnskildFirma.mismatch(&person).is_none());
        assert!(CompanyForm::Aktiebolag.mismatch(&person).is_some());
        assert!(CompanyForm::EnskildFirma.mismatch(&ab).is_some());
        for f in CompanyForm::ALL {
            assert_eq!(CompanyForm::parse(f.as_str()), Some(f));
        }
    }
}
