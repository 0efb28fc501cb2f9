//! Swedish bank account numbers ("Bankernas kontonummer", Bankgirot): clearing number ranges,
//! account types 1 and 2 and their check-digit rules (formats.md §4).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// Type 1, comment 1: mod 11 over the last 3 clearing digits and 7 account digits.
    Type1Comment1,
    /// Type 1, comment 2: mod 11 over 4 clearing digits and 7 account digits.
    Type1Comment2,
    /// Type 2, comment 1: Luhn over a 10-digit account.
    Type2Comment1,
    /// Type 2, comment 2 (Handelsbanken): mod 11 over a 9-digit account.
    Type2Comment2,
    /// Type 2, comment 3 (Swedbank 8xxx, PlusGirot): Luhn over the account padded to 10.
    Type2Comment3,
}

struct Range {
    from: u16,
    to: u16,
    bank: &'static str,
    rule: Rule,
}

const fn r(from: u16, to: u16, bank: &'static str, rule: Rule) -> Range {
    Range { from, to, bank, rule }
}

use Rule::*;

/// Clearing ranges per Bankgirot's list (swantzter/kontonummer, 2024-02-22). Type 2 exceptions
/// inside Nordea's type-1 ranges come first.
const RANGES: &[Range] = &[
    r(3300, 3300, "Nordea (personkonto)", Type2Comment1),
    r(3782, 3782, "Nordea (personkonto)", Type2Comment1),
    r(1100, 1199, "Nordea", Type1Comment1),
    r(1200, 1399, "Danske Bank", Type1Comment1),
    r(1400, 2099, "Nordea", Type1Comment1),
    r(2300, 2399, "Ålandsbanken", Type1Comment2),
    r(2400, 2499, "Danske Bank", Type1Comment1),
    r(3000, 3299, "Nordea", Type1Comment1),
    r(3301, 3399, "Nordea", Type1Comment1),
    r(3400, 3409, "Länsförsäkringar Bank", Type1Comment1),
    r(3410, 3781, "Nordea", Type1Comment1),
    r(3783, 3999, "Nordea", Type1Comment1),
    r(4000, 4999, "Nordea", Type1Comment2),
    r(5000, 5999, "SEB", Type1Comment1),
    r(6000, 6999, "Handelsbanken", Type2Comment2),
    r(7000, 7999, "Swedbank", Type1Comment1),
    r(8000, 8999, "Swedbank", Type2Comment3),
    r(9020, 9029, "Länsförsäkringar Bank", Type1Comment2),
    r(9040, 9049, "Citibank", Type1Comment2),
    r(9060, 9069, "Länsförsäkringar Bank", Type1Comment1),
    r(9070, 9079, "Multitude Bank", Type1Comment1),
    r(9100, 9109, "Nordnet Bank", Type1Comment2),
    r(9120, 9124, "SEB", Type1Comment1),
    r(9130, 9149, "SEB", Type1Comment1),
    r(9150, 9169, "Skandiabanken", Type1Comment2),
    r(9170, 9179, "Ikano Bank", Type1Comment1),
    r(9180, 9189, "Danske Bank", Type2Comment1),
    r(9190, 9199, "DNB Bank", Type1Comment2),
    r(9230, 9239, "Marginalen Bank", Type1Comment1),
    r(9250, 9259, "SBAB", Type1Comment1),
    r(9260, 9269, "DNB Bank", Type1Comment2),
    r(9270, 9279, "ICA Banken", Type1Comment1),
    r(9280, 9289, "Resurs Bank", Type1Comment1),
    r(9300, 9349, "Swedbank", Type2Comment1),
    r(9390, 9399, "Landshypotek", Type1Comment2),
    r(9460, 9469, "Santander Consumer Bank", Type1Comment1),
    r(9470, 9479, "BNP Paribas", Type1Comment2),
    r(9500, 9549, "Plusgirot", Type2Comment3),
    r(9550, 9569, "Avanza Bank", Type1Comment2),
    r(9570, 9579, "Sparbanken Syd", Type2Comment1),
    r(9580, 9589, "Aion Bank", Type1Comment1),
    r(9590, 9599, "Erik Penser", Type1Comment2),
    r(9630, 9639, "Lån & Spar Bank", Type1Comment1),
    r(9640, 9649, "NOBA Bank", Type1Comment2),
    r(9660, 9669, "Svea Bank", Type1Comment2),
    r(9670, 9679, "JAK Medlemsbank", Type1Comment2),
    r(9680, 9689, "Bluestep", Type1Comment1),
    r(9700, 9709, "Ekobanken", Type1Comment2),
    r(9710, 9719, "Lunar", Type1Comment2),
    r(9750, 9759, "Northmill Bank", Type1Comment2),
    r(9780, 9789, "Klarna Bank", Type1Comment2),
    r(9880, 9889, "Riksgälden", Type1Comment2),
    r(9890, 9899, "Riksgälden", Type2Comment1),
    r(9960, 9969, "Plusgirot", Type2Comment3),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankAccount {
    /// Four-digit clearing number (Swedbank's fifth check digit dropped, as in payments).
    pub clearing: String,
    /// Account digits as used in payment files (padded per the account type).
    pub account: String,
    pub bank: &'static str,
}

impl BankAccount {
    /// Clearing + account for pain.001 `BBAN`-style `Othr/Id` and bank files.
    pub fn bban(&self) -> String {
        format!("{}{}", self.clearing, self.account)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("Clearingnumret ska ha fyra siffror (fem för vissa Swedbank-konton).")]
    ClearingFormat,
    #[error("Clearingnumret finns inte hos någon svensk bank.")]
    UnknownClearing,
    #[error("Kontonumret får bara innehålla siffror.")]
    AccountFormat,
    #[error("Kontonumret har fel antal siffror för den här banken.")]
    AccountLength,
    #[error("Kontonumret stämmer inte (kontrollsiffran är fel). Kontrollera numret.")]
    BadCheckDigit,
    #[error("Clearingnumrets kontrollsiffra stämmer inte.")]
    BadClearingCheckDigit,
}

impl AccountError {
    /// The form field the error belongs on: `clearing` or `account`.
    pub fn field(self) -> &'static str {
        match self {
            AccountError::ClearingFormat
            | AccountError::UnknownClearing
            | AccountError::BadClearingCheckDigit => "clearing",
            AccountError::AccountFormat
            | AccountError::AccountLength
            | AccountError::BadCheckDigit => "account",
        }
    }
}

fn digits_of(s: &str) -> Option<Vec<u8>> {
    let d: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | ',')).collect();
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(d.bytes().map(|b| b - b'0').collect())
}

/// Mod 11 with weights 1, 2, …, 10, 1, … counted from the rightmost digit.
fn mod11(digits: &[u8]) -> bool {
    let sum: u32 =
        digits.iter().rev().enumerate().map(|(k, &d)| d as u32 * (k as u32 % 10 + 1)).sum();
    sum.is_multiple_of(11)
}

fn pad(digits: &[u8], len: usize) -> Option<Vec<u8>> {
    if digits.len() > len {
        return None;
    }
    let mut v = vec![0; len - digits.len()];
    v.extend_from_slice(digits);
    Some(v)
}

/// Where a customer wants money paid: a bankgiro number or a bank account (both validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payout {
    Bankgiro(String),
    Account { clearing: String, account: String },
}

impl Payout {
    /// The account a form gives: `kind` is `bankgiro` (the number) or `account` (clearing and
    /// account number), each validated. `Err` names the field and says what is wrong;
    /// `unchosen` is what to say on `payout_type` when neither was chosen.
    pub fn from_form(
        kind: &str,
        bankgiro: &str,
        (clearing, account): (&str, &str),
        unchosen: &str,
    ) -> Result<Payout, (&'static str, String)> {
        match kind {
            "bankgiro" => super::ocr::validate_bankgiro(bankgiro)
                .map(Payout::Bankgiro)
                .map_err(|e| ("bankgiro", e.to_string())),
            "account" => validate(clearing, account)
                .map(|a| Payout::Account { clearing: a.clearing, account: a.account })
                .map_err(|e| (e.field(), e.to_string())),
            _ => Err(("payout_type", unchosen.to_string())),
        }
    }
}

/// Validates a clearing number and account number as a person would type them.
pub fn validate(clearing: &str, account: &str) -> Result<BankAccount, AccountError> {
    let clearing_digits = digits_of(clearing).ok_or(AccountError::ClearingFormat)?;
    let account_digits = digits_of(account).ok_or(AccountError::AccountFormat)?;
    let four: Vec<u8> = match clearing_digits.len() {
        4 => clearing_digits.clone(),
        5 if clearing_digits[0] == 8 => {
            if !super::ids::luhn_valid(&clearing_digits) {
                return Err(AccountError::BadClearingCheckDigit);
            }
            clearing_digits[..4].to_vec()
        }
        _ => return Err(AccountError::ClearingFormat),
    };
    let number = four.iter().fold(0u16, |n, d| n * 10 + *d as u16);
    let range = RANGES
        .iter()
        .find(|r| (r.from..=r.to).contains(&number))
        .ok_or(AccountError::UnknownClearing)?;
    let account = match range.rule {
        Type1Comment1 | Type1Comment2 => {
            let acc = pad(&account_digits, 7).ok_or(AccountError::AccountLength)?;
            let checked: Vec<u8> = if range.rule == Type1Comment1 {
                four[1..].iter().chain(&acc).copied().collect()
            } else {
                four.iter().chain(&acc).copied().collect()
            };
            if !mod11(&checked) {
                return Err(AccountError::BadCheckDigit);
            }
            acc
        }
        Type2Comment1 => {
            if account_digits.len() != 10 {
                return Err(AccountError::AccountLength);
            }
            if !super::ids::luhn_valid(&account_digits) {
                return Err(AccountError::BadCheckDigit);
            }
            account_digits
        }
        Type2Comment2 => {
            let acc = pad(&account_digits, 9).ok_or(AccountError::AccountLength)?;
            if account_digits.len() < 8 || !mod11(&acc) {
                return Err(if account_digits.len() < 8 {
                    AccountError::AccountLength
                } else {
                    AccountError::BadCheckDigit
                });
            }
            acc
        }
        Type2Comment3 => {
            let acc = pad(&account_digits, 10).ok_or(AccountError::AccountLength)?;
            if !super::ids::luhn_valid(&acc) {
                return Err(AccountError::BadCheckDigit);
            }
            acc
        }
    };
    let text = |d: &[u8]| d.iter().map(|d| (b'0' + d) as char).collect::<String>();
    Ok(BankAccount { clearing: text(&four), account: text(&account), bank: range.bank })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_section_4_examples() {
        for (clearing, account, bank) in [
            ("5102", "0158751", "SEB"),
            ("3032", "0050017", "Nordea"),
            ("7000", "1111116", "Swedbank"),
            ("9789", "1111113", "Klarna Bank"),
            ("6000", "301286698", "Handelsbanken"),
            ("8214-9", "9234726124", "Swedbank"),
            ("3300", "1111111116", "Nordea (personkonto)"),
            ("5841", "1009823", "SEB"),
        ] {
            let a =
                validate(clearing, account).unwrap_or_else(|e| panic!("{clearing} {account}: {e}"));
            assert_eq!(a.bank, bank);
        }
        assert_eq!(validate("8214-9", "923 472 612-4").unwrap().bban(), "82149234726124");
    }

    #[test]
    fn errors() {
        assert_eq!(validate("5102", "0158752"), Err(AccountError::BadCheckDigit));
        assert_eq!(validate("0100", "1234567"), Err(AccountError::UnknownClearing));
        assert_eq!(validate("51", "0158751"), Err(AccountError::ClearingFormat));
        assert_eq!(validate("5102", "01587511"), Err(AccountError::AccountLength));
        assert_eq!(validate("8214-8", "9234726124"), Err(AccountError::BadClearingCheckDigit));
        assert_eq!(validate("5102", "abc"), Err(AccountError::AccountFormat));
        assert_eq!(validate("3300", "111111111"), Err(AccountError::AccountLength));
    }
}
