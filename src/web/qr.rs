//! QR codes as inline SVG: the one helper for TOTP enrolment, BankID's animated code and the
//! payment code on Mina sidor.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

/// An SVG QR code for `data` (error correction level L), at least 200 px square.
pub fn svg(data: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::L) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// [`svg`], remembered: choosing a QR code's mask is most of a page's work, and a payment code
/// (OCR, amount, date) is shown many times. At most `LIMIT` codes are kept.
pub fn svg_cached(data: &str) -> Arc<str> {
    const LIMIT: usize = 10_000;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<str>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(data).cloned()) {
        return hit;
    }
    let made: Arc<str> = svg(data).into();
    if let Ok(mut c) = cache.lock() {
        if c.len() >= LIMIT {
            c.clear();
        }
        c.insert(data.to_string(), made.clone());
    }
    made
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_svg_and_the_same_from_the_cache() {
        let a = super::svg("bankid.x.0.y");
        assert!(a.starts_with("<?xml") || a.contains("<svg"), "{a}");
        assert_eq!(&*super::svg_cached("bankid.x.0.y"), a);
        assert_eq!(&*super::svg_cached("bankid.x.0.y"), a);
    }
}
