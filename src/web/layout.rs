//! What every page's frame (`base.html`) shows: navigation, who is logged in, flash, CSRF token.

/// One link of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What `base.html` needs on every page.
#[derive(Default)]
pub struct Layout {
    pub nav: Vec<NavItem>,
    pub user_name: Option<String>,
    pub role_label: Option<&'static str>,
    /// Where the "Logga ut" form posts.
    pub logout: &'static str,
    pub flash: Option<(&'static str, String)>,
    pub csrf: String,
    pub demo: bool,
    pub fixed_today: Option<String>,
    pub totp_skipped: bool,
}

impl Layout {
    /// For pages rendered without a request context (error pages).
    pub fn bare() -> Layout {
        Layout { logout: "/logga-ut", ..Layout::default() }
    }
}
