//! OCR references (Bankgirot's "OCR-referens") and bankgiro numbers.
//!
//! Fordra's references are `case number ‖ length digit ‖ Luhn check digit` (Bankgirot's level 3,
//! so also valid for levels 1–2, and for level 4 once the lengths in use are agreed).

use super::ids::{luhn_digit, luhn_valid};

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OcrError {
    #[error("OCR-numret får bara innehålla siffror.")]
    NotDigits,
    #[error("OCR-numret ska ha 2–25 siffror.")]
    WrongLength,
    #[error("OCR-numrets kontrollsiffra stämmer inte.")]
    BadCheckDigit,
    #[error("OCR-numrets längdsiffra stämmer inte.")]
    BadLengthDigit,
}

/// Generates the OCR for `case_number`: its digits, then the length digit (total length mod 10),
/// then the Luhn digit over everything before it.
pub fn generate(case_number: u64) -> String {
    let mut buf = [0u8; 25];
    let mut n = case_number;
    let mut len = 0;
    loop {
        buf[len] = (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    buf[..len].reverse();
    let total = len + 2;
    buf[len] = (total % 10) as u8;
    buf[len + 1] = luhn_digit(&buf[..len + 1]);
    buf[..total].iter().map(|d| (b'0' + d) as char).collect()
}

/// What a valid reference carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Reference {
    pub digits: String,
    /// Whether the second-last digit is a correct length digit.
    pub has_length_digit: bool,
}

/// Validates any OCR reference: 2–25 digits and a Luhn check digit; reports the length digit.
pub fn validate(reference: &str) -> Result<Reference, OcrError> {
    let r = reference.trim();
    if !r.bytes().all(|b| b.is_ascii_digit()) || r.is_empty() {
        return Err(OcrError::NotDigits);
    }
    if !(2..=25).contains(&r.len()) {
        return Err(OcrError::WrongLength);
    }
    let digits: Vec<u8> = r.bytes().map(|b| b - b'0').collect();
    if !luhn_valid(&digits) {
        return Err(OcrError::BadCheckDigit);
    }
    let has_length_digit = digits[digits.len() - 2] as usize == digits.len() % 10;
    Ok(Reference { digits: r.to_string(), has_length_digit })
}

/// Validates a reference generated the way Fordra does (check and length digit); returns the
/// case number.
pub fn case_number_of(reference: &str) -> Result<u64, OcrError> {
    let r = validate(reference)?;
    if !r.has_length_digit || r.digits.len() < 3 {
        return Err(OcrError::BadLengthDigit);
    }
    r.digits[..r.digits.len() - 2].parse().map_err(|_| OcrError::WrongLength)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BankgiroError {
    #[error("Ett bankgironummer har 7 eller 8 siffror, till exempel 991-2346.")]
    WrongFormat,
    #[error("Bankgironumrets kontrollsiffra stämmer inte.")]
    BadCheckDigit,
}

/// Validates a bankgiro number (`NNN-NNNN` or `NNNN-NNNN`, Luhn over all digits); returns the
/// canonical written form.
pub fn validate_bankgiro(input: &str) -> Result<String, BankgiroError> {
    let s = input.trim();
    let digits: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || s.matches('-').count() > 1 {
        return Err(BankgiroError::WrongFormat);
    }
    let digits = digits.trim_start_matches('0');
    if !(7..=8).contains(&digits.len()) {
        return Err(BankgiroError::WrongFormat);
    }
    let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    if !luhn_valid(&d) {
        return Err(BankgiroError::BadCheckDigit);
    }
    let split = digits.len() - 4;
    Ok(format!("{}-{}", &digits[..split], &digits[split..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::luhn_digit;
    use proptest::prelude::*;

    fn check_only(base: &str) -> String {
        let d: Vec<u8> = base.bytes().map(|b| b - b'0').collect();
        format!("{base}{}", luhn_digit(&d))
    }

    #[test]
    fn formats_section_2_2_examples() {
        assert_eq!(check_only("12345"), "123455");
        assert_eq!(generate(12345), "1234574");
        assert_eq!(generate(4711), "471169");
        assert_eq!(generate(2023000123), "202300012327");
        // 23-digit base: beyond u64, so check the digits the same way by hand.
        let base = "12345678901234567890123";
        let mut d: Vec<u8> = base.bytes().map(|b| b - b'0').collect();
        d.push(5);
        let full = format!("{base}5{}", luhn_digit(&d));
        assert_eq!(full, "1234567890123456789012357");
        assert!(validate(&full).unwrap().has_length_digit);
        for sample in
            ["655969", "650861", "658260", "1636976", "1202951008", "03368912618", "1018966492531"]
        {
            let r = validate(sample).unwrap();
            assert!(r.has_length_digit, "{sample}");
        }
        assert_eq!(validate("89853"), Err(OcrError::BadCheckDigit));
        assert_eq!(validate("8988777"), Err(OcrError::BadCheckDigit));
        assert_eq!(validate("1"), Err(OcrError::WrongLength));
        assert_eq!(validate("12a"), Err(OcrError::NotDigits));
        assert_eq!(validate(&"1".repeat(26)), Err(OcrError::WrongLength));
        assert_eq!(case_number_of("1234574"), Ok(12345));
        assert_eq!(case_number_of("123455"), Err(OcrError::BadLengthDigit));
    }

    #[test]
    fn bankgiro_examples() {
        for ok in ["991-2346", "5050-1055", "160-9908", "378-3511", "9912346"] {
            assert!(validate_bankgiro(ok).is_ok(), "{ok}");
        }
        assert_eq!(validate_bankgiro("9912346").unwrap(), "991-2346");
        assert_eq!(validate_bankgiro("0009912346").unwrap(), "991-2346");
        assert_eq!(validate_bankgiro("970-1233"), Err(BankgiroError::BadCheckDigit));
        assert_eq!(validate_bankgiro("123-4567"), Err(BankgiroError::BadCheckDigit));
        assert_eq!(validate_bankgiro("12-345"), Err(BankgiroError::WrongFormat));
        assert_eq!(validate_bankgiro("99x-2346"), Err(BankgiroError::WrongFormat));
    }

    proptest! {
        #[test]
        fn generated_references_validate_and_detect_single_errors(n in 1u64..10_000_000_000_000, pos in 0usize..30, delta in 1u8..10) {
            let ocr = generate(n);
            prop_assert_eq!(case_number_of(&ocr), Ok(n));
            let mut digits: Vec<u8> = ocr.bytes().map(|b| b - b'0').collect();
            let i = pos % digits.len();
            digits[i] = (digits[i] + delta) % 10;
            let changed: String = digits.iter().map(|d| (b'0' + d) as char).collect();
            prop_assert!(validate(&changed).is_err(), "single-digit change {} -> {}", ocr, changed);
        }

        #[test]
        fn adjacent_swaps_are_detected(n in 1u64..10_000_000_000_000, pos in 0usize..30) {
            let ocr = generate(n);
            let mut digits: Vec<u8> = ocr.bytes().map(|b| b - b'0').collect();
            let i = pos % (digits.len() - 1);
            // Equal digits swap to the same reference; 09 <-> 90 is Luhn's one blind spot.
            if digits[i] == digits[i + 1] || matches!((digits[i], digits[i + 1]), (0, 9) | (9, 0)) {
                return Ok(());
            }
            digits.swap(i, i + 1);
            let swapped: String = digits.iter().map(|d| (b'0' + d) as char).collect();
            prop_assert!(case_number_of(&swapped) != Ok(n) && validate(&swapped).is_err(), "{} -> {}", ocr, swapped);
        }
    }
}
