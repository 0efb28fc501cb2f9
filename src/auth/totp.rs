//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 6 digits, 30-second steps), with
//! enrolment by QR code (the `otpauth://` URI authenticator apps read).

use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;

pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    getrandom::fill(&mut s).expect("the OS random number generator failed");
    s
}

/// The code for time step `step` (RFC 4226 HOTP with the step as counter).
pub fn code_at(secret: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", bin % 1_000_000)
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// Accepts the current step and one either side (clock drift); returns the matching step.
/// Steps at or before `last_used` are refused, so a code works once.
pub fn verify(secret: &[u8], code: &str, unix_seconds: i64, last_used: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_seconds);
    (now - 1..=now + 1)
        .filter(|s| last_used.is_none_or(|l| *s > l))
        .find(|s| constant_time_eq(code_at(secret, *s).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    let label =
        serde_urlencoded::to_string([("", format!("Fordra:{account}"))]).unwrap_or_default();
    format!(
        "otpauth://totp/{}?secret={}&issuer=Fordra&algorithm=SHA1&digits=6&period=30",
        label.trim_start_matches('='),
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B, SHA-1 secret "12345678901234567890" (8-digit codes there; the
    // last 6 digits are the 6-digit codes).
    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_test_vectors() {
        for (t, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(code_at(SECRET, step_of(t)), eight[2..], "t={t}");
        }
    }

    #[test]
    fn verify_allows_drift_and_refuses_replay() {
        let t = 1_700_000_000;
        let code = code_at(SECRET, step_of(t) - 1);
        let step = verify(SECRET, &code, t, None).unwrap();
        assert_eq!(step, step_of(t) - 1);
        assert_eq!(verify(SECRET, &code, t, Some(step)), None);
        assert_eq!(verify(SECRET, &code_at(SECRET, step_of(t) - 2), t, None), None);
        assert_eq!(verify(SECRET, "12a456", t, None), None);
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }
}
