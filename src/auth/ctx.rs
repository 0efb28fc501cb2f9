//! The per-request context: who is asking (session), from where, and what the layout shows.

use axum::{extract::FromRequestParts, http::request::Parts};

use super::{
    Role, User,
    session::{self, Session, Stage},
};
use crate::{
    state::AppState,
    web::{NavItem, cookies, prelude::*},
};

pub struct Ctx {
    pub session: Option<Session>,
    /// A debtor logged in on Mina sidor with BankID.
    pub debtor: Option<super::session::DebtorSession>,
    pub flash: Option<(FlashKind, String)>,
    pub ip: String,
    /// Path and query of this request, for `next=` after login.
    pub path: String,
    demo: bool,
    fixed_today: Option<String>,
    totp_skipped: bool,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, AppError> {
        let session = match cookies::get(&parts.headers, cookies::SESSION) {
            Some(token) => session::load(&state.db, token, state.clock.now()).await?,
            None => None,
        };
        let debtor = match cookies::get(&parts.headers, cookies::DEBTOR) {
            Some(token) => super::session::load_debtor(&state.db, token, state.clock.now()).await?,
            None => None,
        };
        let flash = cookies::get(&parts.headers, cookies::FLASH).and_then(cookies::parse_flash);
        let ip = crate::web::client_ip::text();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let totp_skipped = session.as_ref().is_some_and(|s| {
            s.user.role.is_staff() && !s.user.totp_enabled && !state.config.require_totp
        });
        Ok(Ctx {
            session,
            debtor,
            flash,
            ip,
            path,
            demo: state.config.demo,
            fixed_today: state.config.today.map(|d| d.to_string()),
            totp_skipped,
        })
    }
}

impl Ctx {
    /// The logged-in user (all login steps done).
    pub fn user(&self) -> Option<&User> {
        self.session.as_ref().filter(|s| s.stage == Stage::Full).map(|s| &s.user)
    }

    /// The user, if logged in with one of `roles`; otherwise login or 403.
    pub fn require(&self, roles: &[Role]) -> Result<&User, AppError> {
        let user = self.user().ok_or_else(|| AppError::LoginRequired(self.path.clone()))?;
        if roles.contains(&user.role) { Ok(user) } else { Err(AppError::Forbidden) }
    }

    /// A logged-in creditor user and the creditor it acts for.
    /// `user` acting from this request's address, at the clock's now and today.
    pub fn acting(&self, user: &User, clock: &crate::clock::Clock) -> super::Acting<'_> {
        super::Acting { user_id: user.id, ip: &self.ip, now: clock.now(), today: clock.today() }
    }

    pub fn require_creditor(&self) -> Result<(&User, uuid::Uuid), AppError> {
        let user = self.require(&[Role::Creditor])?;
        Ok((user, user.creditor_id.ok_or(AppError::Forbidden)?))
    }

    /// The debtor logged in on Mina sidor; otherwise to the BankID login.
    /// A creditor or partner user on a page of their own portal (`/borgenar/…` or `/partner/…`):
    /// a page both portals have answers only its own audience, so a partner has no creditor page.
    pub fn require_portal_user(&self) -> Result<&User, AppError> {
        let user = self.require(&[Role::Creditor, Role::Partner])?;
        let portal =
            if self.path.starts_with("/borgenar/") { Role::Creditor } else { Role::Partner };
        if user.role != portal {
            return Err(AppError::NotFound);
        }
        Ok(user)
    }

    /// A creditor user who is the company's owner (see [`super::User::creditor_owner`]).
    pub fn require_creditor_owner(&self) -> Result<(&User, uuid::Uuid), AppError> {
        let (user, creditor_id) = self.require_creditor()?;
        if !user.creditor_owner {
            return Err(AppError::Forbidden);
        }
        Ok((user, creditor_id))
    }

    pub fn require_debtor(&self) -> Result<&super::session::DebtorSession, AppError> {
        self.debtor.as_ref().ok_or_else(|| AppError::DebtorLoginRequired(self.path.clone()))
    }

    pub fn layout(&self) -> Layout {
        let user = self.user();
        if user.is_none()
            && let Some(d) = &self.debtor
        {
            return Layout {
                nav: debtor_nav(&self.path),
                user_name: Some(d.name()),
                role_label: Some("Mina sidor"),
                logout: "/mina-sidor/logga-ut",
                flash: self.flash.as_ref().map(|(k, m)| (k.as_str(), m.clone())),
                csrf: d.csrf_token.clone(),
                demo: self.demo,
                fixed_today: self.fixed_today.clone(),
                totp_skipped: false,
            };
        }
        Layout {
            logout: "/logga-ut",
            nav: user.map(|u| nav_for(u.role, &self.path)).unwrap_or_default(),
            user_name: user.map(|u| u.display_name.clone()),
            role_label: user.map(|u| u.role.label()),
            flash: self.flash.as_ref().map(|(k, m)| (k.as_str(), m.clone())),
            csrf: self.session.as_ref().map(|s| s.csrf_token.clone()).unwrap_or_default(),
            demo: self.demo,
            fixed_today: self.fixed_today.clone(),
            totp_skipped: self.totp_skipped,
        }
    }
}

fn nav_for(role: Role, path: &str) -> Vec<NavItem> {
    let items: &[(&str, &str)] = match role {
        Role::Creditor => &[
            ("/borgenar", "Översikt"),
            ("/borgenar/krav", "Fordringar"),
            ("/borgenar/avrakningar", "Avräkningar"),
            ("/borgenar/amorteringsplaner", "Amorteringsplaner"),
            ("/borgenar/anvandare", "Användare"),
            ("/borgenar/api-nycklar", "API"),
            ("/borgenar/webhooks", "Webhooks"),
            ("/borgenar/kontakt", "Kontakta oss"),
        ],
        Role::Partner => &[
            ("/partner", "Översikt"),
            ("/partner/kunder", "Kunder"),
            ("/partner/provision", "Provision"),
            ("/partner/inkassoskolan", "Inkassoskolan"),
            ("/partner/avtal", "Avtal"),
            ("/partner/api-nycklar", "API"),
            ("/partner/webhooks", "Webhooks"),
            ("/partner/hjalp", "Hjälp"),
        ],
        Role::Support => &[
            ("/admin", "Back office"),
            ("/admin/arenden", "Ärenden"),
            ("/admin/krav", "Krav"),
            ("/admin/borgenarer", "Borgenärer"),
            ("/admin/partner", "Partner"),
            ("/admin/betalningar", "Betalningar"),
            ("/admin/referensranta", "Referensränta"),
        ],
        Role::Admin => &[
            ("/admin", "Back office"),
            ("/admin/borgenarer", "Borgenärer"),
            ("/admin/partner", "Partner"),
            ("/admin/arenden", "Ärenden"),
            ("/admin/krav", "Krav"),
            ("/admin/betalningar", "Betalningar"),
            ("/admin/avrakningar", "Avräkningar"),
            ("/admin/kronofogden", "Kronofogden"),
            ("/admin/referensranta", "Referensränta"),
            ("/admin/regler", "Regler"),
            ("/admin/texter", "Texter"),
            ("/admin/e-post", "Utgående e-post"),
            ("/admin/personal", "Personal"),
            ("/admin/logg", "Logg"),
        ],
    };
    let items_here = items;
    let items = items.iter().chain(&[("/konto", "Mitt konto")]);
    items
        .map(|(href, label)| NavItem {
            href,
            label,
            // The longest matching item is current: /borgenar/krav/x is Fordringar, not Översikt.
            active: path == *href
                || (path.starts_with(&format!("{href}/"))
                    && !items_here
                        .iter()
                        .any(|(other, _)| other.len() > href.len() && path.starts_with(*other))),
        })
        .collect()
}

fn debtor_nav(path: &str) -> Vec<NavItem> {
    const ITEMS: &[(&str, &str)] = &[
        ("/mina-sidor", "Mina ärenden"),
        ("/mina-sidor/kontakt", "Kontaktuppgifter"),
        ("/mina-sidor/meddelanden", "Meddelanden"),
        ("/mina-sidor/mina-uppgifter", "Mina uppgifter"),
    ];
    ITEMS
        .iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            active: path == *href
                || (*href == "/mina-sidor" && path.starts_with("/mina-sidor/arenden"))
                || (*href != "/mina-sidor" && path.starts_with(&format!("{href}/"))),
        })
        .collect()
}
