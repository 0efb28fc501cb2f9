//! The Kronofogden readiness check of product.md §5: a claim ready for an ansökan om
//! betalningsföreläggande has no dispute, its last deadline has passed, the debtor's identity
//! number is valid, and there is an address that has not come back as undeliverable.

use chrono::NaiveDate;

use super::ids::IdNumber;

/// What the check reads about a claim.
pub struct Facts<'a> {
    pub disputed: bool,
    pub paused: bool,
    pub deceased: bool,
    /// The final notice's payment deadline, if one was sent.
    pub last_deadline: Option<NaiveDate>,
    pub today: NaiveDate,
    pub id_number: &'a str,
    pub address: (&'a str, &'a str, &'a str),
    pub returned_mail: bool,
}

/// Why the claim cannot be handed to Kronofogden; empty when it can.
pub fn problems(f: &Facts) -> Vec<&'static str> {
    let mut out = vec![];
    if f.disputed {
        out.push("Fordran är bestridd.");
    }
    if f.paused {
        out.push("Borgenären har pausat ärendet.");
    }
    if f.deceased {
        out.push("Gäldenären är avliden; kravet riktas mot dödsboet.");
    }
    match f.last_deadline {
        Some(d) if d < f.today => {}
        Some(_) => out.push("Betalningsfristen i slutkravet har inte gått ut."),
        None => out.push("Inget slutkrav har skickats."),
    }
    if IdNumber::parse(f.id_number, f.today).is_err() {
        out.push("Gäldenärens person- eller organisationsnummer saknas eller är ogiltigt.");
    }
    let (street, postal, city) = f.address;
    if street.trim().is_empty() || postal.trim().is_empty() || city.trim().is_empty() {
        out.push("Gäldenärens adress saknas.");
    }
    if f.returned_mail {
        out.push("Post till gäldenären har kommit i retur; adressen måste kontrolleras.");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Facts<'static> {
        Facts {
            disputed: false,
            paused: false,
            deceased: false,
            last_deadline: NaiveDate::from_ymd_opt(2026, 3, 25),
            today: NaiveDate::from_ymd_opt(2026, 3, 26).unwrap(),
            id_number: "198112189876",
            address: ("Storgatan 1", "111 22", "Stockholm"),
            returned_mail: false,
        }
    }

    #[test]
    fn a_claim_is_ready_only_when_every_condition_holds() {
        assert!(problems(&ready()).is_empty());
        assert_eq!(problems(&Facts { disputed: true, ..ready() }), ["Fordran är bestridd."]);
        let on_deadline = Facts { today: NaiveDate::from_ymd_opt(2026, 3, 25).unwrap(), ..ready() };
        assert_eq!(problems(&on_deadline).len(), 1, "the deadline day itself is not past");
        assert_eq!(
            problems(&Facts { last_deadline: None, ..ready() }),
            ["Inget slutkrav har skickats."]
        );
        // Skatteverket's test number with a wrong check digit.
        assert_eq!(problems(&Facts { id_number: "198112189875", ..ready() }).len(), 1);
        assert_eq!(problems(&Facts { address: ("", "111 22", "Stockholm"), ..ready() }).len(), 1);
        assert_eq!(
            problems(&Facts { returned_mail: true, ..ready() }),
            ["Post till gäldenären har kommit i retur; adressen måste kontrolleras."]
        );
    }
}
