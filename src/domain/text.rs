//! Swedish words for numbers and names: plurals and the genitive.

/// The Swedish genitive of a name: `Demo Bygg AB` → `Demo Bygg AB:s` (after an abbreviation or a
/// digit), `Lars` → `Lars` (after s, x or z), `Nya Snickarna` → `Nya Snickarnas`.
pub fn genitive_of(name: &str) -> String {
    let name = name.trim_end();
    let last_word = name.rsplit(' ').next().unwrap_or(name);
    match name.chars().last() {
        None => String::new(),
        Some(c) if c.is_ascii_digit() => format!("{name}:s"),
        Some(_)
            if last_word.chars().count() > 1
                && last_word.chars().all(|c| c.is_uppercase() || c == '.') =>
        {
            format!("{name}:s")
        }
        Some('s' | 'x' | 'z' | 'S' | 'X' | 'Z') => name.to_string(),
        Some(_) => format!("{name}s"),
    }
}

/// `1 fordran`, `2 fordringar`: the count with the singular or the plural.
pub fn count_of(n: impl std::fmt::Display, singular: &str, plural: &str) -> String {
    let n = n.to_string();
    let word = if n == "1" { singular } else { plural };
    format!("{n} {word}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_genitive_and_plurals() {
        assert_eq!(genitive_of("Demo Bygg AB"), "Demo Bygg AB:s");
        assert_eq!(genitive_of("IKEA"), "IKEA:s");
        assert_eq!(genitive_of("Lars"), "Lars");
        assert_eq!(genitive_of("Fordra inkasso"), "Fordra inkassos");
        assert_eq!(genitive_of("Nya Snickarna"), "Nya Snickarnas");
        assert_eq!(genitive_of("Bolaget 24"), "Bolaget 24:s");
        assert_eq!(genitive_of("Åsa"), "Åsas");
        assert_eq!(count_of(1, "fordran", "fordringar"), "1 fordran");
        assert_eq!(count_of(0, "fordran", "fordringar"), "0 fordringar");
        assert_eq!(count_of(2, "fordran", "fordringar"), "2 fordringar");
    }
}
