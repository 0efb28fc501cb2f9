//! Bar charts drawn on the server as SVG, readable without JavaScript. The SVG is hidden from
//! screen readers; each chart's page shows the same figures in a table for them.

use rust_decimal::Decimal;

/// Bars (label, value) as SVG; `unit` follows each value ("kr", "%", "min").
pub fn bars(items: &[(String, Decimal)], unit: &str) -> String {
    let (w, h, top, bottom) = (480.0_f64, 180.0_f64, 16.0_f64, 28.0_f64);
    let max = items.iter().map(|(_, a)| *a).max().unwrap_or_default().max(Decimal::ONE);
    let max: f64 = max.to_string().parse().unwrap_or(1.0);
    let slot = w / items.len().max(1) as f64;
    let mut out = String::new();
    for (i, (label, amount)) in items.iter().enumerate() {
        let value: f64 = amount.to_string().parse().unwrap_or(0.0);
        let bh = ((value.max(0.0) / max) * (h - top - bottom)).round();
        let x = i as f64 * slot + slot * 0.2;
        let y = h - bottom - bh;
        let label = askama_escape(label);
        let shown = super::filters::comma_of(*amount);
        out += &format!(
            "<g><title>{label}: {shown} {unit}</title><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{:.0}\" height=\"{bh:.0}\" fill=\"currentColor\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"11\">{label}</text>\
             <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"11\">{shown}</text></g>",
            slot * 0.6,
            x + slot * 0.3,
            h - 10.0,
            x + slot * 0.3,
            (y - 4.0).max(11.0)
        );
    }
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" aria-hidden=\"true\" focusable=\"false\" xmlns=\"http://www.w3.org/2000/svg\">{out}</svg>"
    )
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg =
            bars(&[("a<b".into(), Decimal::from(50)), ("c".into(), Decimal::from(100))], "kr");
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        // The largest bar fills the plot (180 − 16 − 28 = 136 points); half of it is 68.
        assert!(svg.contains("height=\"136\"") && svg.contains("height=\"68\""), "{svg}");
        assert!(bars(&[], "kr").starts_with("<svg"));
    }
}
