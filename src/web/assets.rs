//! Static files, compiled into the binary so it runs from any directory. URLs carry a version
//! derived from the content, so browsers may cache them for a year.

use axum::{
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use super::error::not_found_page;

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
    ("bankid.js", "text/javascript; charset=utf-8", include_bytes!("../../static/bankid.js")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app.js")),
];

/// A short content hash of all assets (FNV-1a), computed at compile time.
pub const VERSION: &str = {
    const fn fnv(files: &[(&str, &str, &[u8])]) -> u64 {
        let mut h: u64 = 0xcbf29ce484222325;
        let mut f = 0;
        while f < files.len() {
            let bytes = files[f].2;
            let mut i = 0;
            while i < bytes.len() {
                h ^= bytes[i] as u64;
                h = h.wrapping_mul(0x100000001b3);
                i += 1;
            }
            f += 1;
        }
        h
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const BYTES: [u8; 12] = {
        let h = fnv(FILES);
        let mut out = [0u8; 12];
        let mut i = 0;
        while i < 12 {
            out[i] = HEX[((h >> (i * 4)) & 15) as usize];
            i += 1;
        }
        out
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => "0",
    }
};

pub async fn serve(Path(name): Path<String>) -> Response {
    let Some((_, mime, bytes)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return not_found_page();
    };
    let mut resp = (*bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp
}
