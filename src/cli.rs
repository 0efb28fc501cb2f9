//! The `fordra` command line.

use std::{io::Read, net::SocketAddr, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::{
    auth::password,
    calculator,
    clock::Clock,
    config::Config,
    db::{self, Database},
    domain::{company::CompanyForm, ids::IdNumber},
    engine,
    mail::Mailer,
    parameters, payments, startup,
    state::AppState,
};

#[derive(Parser)]
#[command(name = "fordra", version, about = "Fordra – Swedish debt collection")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and the background lifecycle task (the default).
    Serve {
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Run the lifecycle engine once for a business date, then deliver pending letters.
    Tick {
        /// Business date (default: today in Europe/Stockholm, or FORDRA_TODAY).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// Register an existing customer as a creditor (pending unless --approved). A sole
    /// trader's org.nr is the owner's personnummer; its company form then defaults to enskild firma.
    CreateCreditor {
        #[arg(long)]
        org_nr: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        approved: bool,
        /// aktiebolag, enskild_firma, handelsbolag, ekonomisk_forening, ideell_forening or annan
        /// (default: from the number).
        #[arg(long)]
        company_form: Option<String>,
        /// Make it this partner's customer from the business date (the partner's number).
        #[arg(long)]
        partner: Option<String>,
    },
    /// Create a partner (pending unless --approved, which also records the agreement as accepted
    /// on the business date); prints its partner number alone on the last line.
    CreatePartner {
        #[arg(long)]
        org_nr: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        approved: bool,
    },
    /// Print a partner's commission statement for a quarter, issuing it first when the quarter
    /// has ended and none exists yet.
    PartnerStatement {
        /// The partner's number.
        #[arg(long)]
        partner: String,
        /// E.g. 2026Q1.
        #[arg(long)]
        quarter: String,
        /// json (default) or csv.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Create an API key (every scope) for a creditor or a partner; the key is printed once,
    /// alone on the last line.
    CreateApiKey {
        /// The creditor's org.nr.
        #[arg(long, conflicts_with = "partner", required_unless_present = "partner")]
        creditor: Option<String>,
        /// The partner's number: the key acts for the partner's customers.
        #[arg(long)]
        partner: Option<String>,
    },
    /// Late interest for the days FROM..TO inclusive, per rate period, then the total.
    Interest {
        #[arg(long)]
        capital: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Import a claims CSV for a creditor: the web import's format and rules, all rows or none,
    /// any number of rows. Prints `imported N claims`, or names every bad line and exits non-zero.
    ImportClaims {
        #[arg(long)]
        creditor: String,
        file: std::path::PathBuf,
    },
    /// Import a bank file (camt.054 or BgMax, detected from the content): all of it or nothing.
    ImportBankFile { file: std::path::PathBuf },
    /// Enter or correct the Riksbank reference rate of a half-year (audited). Allocations of
    /// payments from then on are recomputed; letters held for the rate go out at the next tick.
    SetReferenceRate {
        /// The half-year's first day: YYYY-01-01 or YYYY-07-01.
        #[arg(long)]
        from: String,
        /// The rate in percent, e.g. 2.00.
        #[arg(long, allow_hyphen_values = true)]
        rate: String,
        /// The day the Riksbank decided it (optional).
        #[arg(long)]
        decided: Option<String>,
        #[arg(long, default_value = "Riksbanken, angiven med fordra set-reference-rate")]
        source: String,
    },
    /// Verify the ledger: every entry balances, the total is zero, and every claim's books
    /// equal its statement. Exits non-zero and says where if not.
    CheckLedger,
    /// Print the ansökan om betalningsföreläggande data of every claim ready for Kronofogden,
    /// each with its OCR, and mark them handed off on the business date. Claims already handed
    /// off are left out unless --again; claims failing the readiness check are named on stderr.
    ExportEnforcement {
        /// Business date (default: today in Europe/Stockholm, or FORDRA_TODAY).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// json (default) or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// Export claims already handed off again.
        #[arg(long)]
        again: bool,
    },
    /// Seal what is pending in the audit log, then walk its hash chain. Exits non-zero, naming
    /// the first row that does not match, if a sealed row was edited, deleted or reordered.
    VerifyAudit,
    /// Create an admin account; the password is read from standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter =
        std::env::var("FORDRA_LOG").unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_env()?;
    // The business date of every command: FORDRA_TODAY when set, as for the server.
    let clock = Clock::with_today(config.today);
    match cli.command.unwrap_or(Command::Serve { addr: "127.0.0.1:3000".parse()? }) {
        Command::Serve { addr } => startup::run_server(config, addr).await,
        Command::Migrate => {
            with_database(&config, |_| async move {
                println!("migrations applied");
                Ok(())
            })
            .await
        }
        Command::Tick { today } => {
            let today = today.unwrap_or_else(|| clock.today());
            let mailer = Mailer::from_config(&config)?;
            let cfg = config.clone();
            with_database(&config, |db| async move {
                let state = AppState::new(db, cfg, mailer);
                let r = engine::tick(&state, today).await?;
                let mut notes = vec![];
                if r.gated {
                    notes.push(
                        "escalations held: the previous bank day has no bank file yet".to_string(),
                    );
                }
                if r.held_for_rate > 0 {
                    notes.push(format!(
                        "{} letters held: no reference rate published for the half-year from {}",
                        r.held_for_rate,
                        r.missing_rate.map(|d| d.to_string()).unwrap_or_default()
                    ));
                }
                println!(
                    "tick {today}: {} steps, {} letters dispatched, {} blocked, {} settlements, {} notices{}",
                    r.steps,
                    r.dispatched,
                    r.blocked,
                    r.settlements,
                    r.notices,
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", notes.join("; "))
                    }
                );
                Ok(())
            })
            .await
        }
        Command::CreatePartner { org_nr, name, approved } => {
            let today = clock.today();
            let org =
                IdNumber::parse(&org_nr, today).map_err(|e| anyhow::anyhow!("--org-nr: {e}"))?;
            let name = name.trim().to_string();
            if name.is_empty() {
                bail!("--name: Ange företagets namn.");
            }
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let created = crate::partners::service::create(
                    &mut conn,
                    &org,
                    &name,
                    approved,
                    clock.now(),
                    today,
                )
                .await?;
                let Some(number) = created else {
                    bail!("a partner with org.nr {} already exists", org.display())
                };
                let status = if approved { "approved" } else { "pending" };
                println!("partner {name} ({}) created, {status}; partner number:", org.display());
                println!("{number}");
                Ok(())
            })
            .await
        }
        Command::CreateCreditor { org_nr, name, approved, company_form, partner } => {
            let today = clock.today();
            let org =
                IdNumber::parse(&org_nr, today).map_err(|e| anyhow::anyhow!("--org-nr: {e}"))?;
            let form = match company_form.as_deref() {
                None => CompanyForm::default_for(&org),
                Some(f) => CompanyForm::parse(f)
                    .ok_or_else(|| anyhow::anyhow!("--company-form: okänd företagsform {f:?}"))?,
            };
            if let Some(msg) = form.mismatch(&org) {
                bail!("--org-nr: {msg}");
            }
            let name = name.trim().to_string();
            if name.is_empty() {
                bail!("--name: Ange företagets namn.");
            }
            with_database(&config, |db| async move {
                let status = if approved { "approved" } else { "pending" };
                let mut tx = db.begin().await?;
                let creditor_id = Uuid::new_v4();
                let inserted = sqlx::query!("insert into creditor (creditor_id, org_nr, name, status, approved_at, company_form)
                     values ($1, $2, $3, $4, case when $4 = 'approved' then now() end, $5) on conflict (org_nr) do nothing", creditor_id, org.as_str(), &name, status, form.as_str())
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    bail!("a creditor with org.nr {} already exists", org.display());
                }
                let mut of_partner = String::new();
                if let Some(number) = partner {
                    let params = parameters::load(&mut tx).await?;
                    let via = crate::domain::partner::Via::Created;
                    let Some(partner_id) = crate::partners::service::find(&mut tx, &number).await?
                    else {
                        bail!("--partner: Partnernumret finns inte.");
                    };
                    crate::partners::service::add_customer(
                        &mut tx,
                        partner_id,
                        creditor_id,
                        via,
                        &params,
                        today,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("--partner: {e}"))?;
                    of_partner = format!("; customer of partner {} from {today}", number.trim());
                }
                tx.commit().await?;
                println!(
                    "creditor {} ({}, {}) created, {status}{of_partner}",
                    name,
                    org.display(),
                    form.label().to_lowercase()
                );
                Ok(())
            })
            .await
        }
        Command::CreateApiKey { creditor, partner } => {
            use crate::auth::api_key::Owner;
            let today = clock.today();
            let org = creditor
                .map(|c| IdNumber::parse(&c, today).map_err(|e| anyhow::anyhow!("--creditor: {e}")))
                .transpose()?;
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let owner = match (org, partner) {
                    (Some(org), _) => {
                        let id: Option<Uuid> = sqlx::query_scalar(
                            "select creditor_id from creditor where org_nr = $1",
                        )
                        .bind(org.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                        let Some(id) = id else {
                            bail!("no creditor with org.nr {}", org.display())
                        };
                        Owner::Creditor(id)
                    }
                    (None, Some(number)) => {
                        match crate::partners::service::find(&mut conn, &number).await? {
                            Some(id) => Owner::Partner(id),
                            None => bail!("--partner: Partnernumret finns inte."),
                        }
                    }
                    (None, None) => bail!("give --creditor ORGNR or --partner NUMBER"),
                };
                let key = crate::auth::api_key::create(&mut conn, owner, clock.now()).await?;
                println!("{key}");
                Ok(())
            })
            .await
        }
        Command::Interest { capital, from, to } => {
            let request = calculator::validate(&capital, &from, &to).map_err(|errors| {
                let lines: Vec<String> =
                    errors.iter().map(|(f, m)| format!("--{f}: {m}")).collect();
                anyhow::anyhow!("{}", lines.join("\n"))
            })?;
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let params = parameters::load(&mut conn).await?;
                let interest = calculator::compute(&params, &request)?;
                print!("{}", calculator::report(&interest));
                Ok(())
            })
            .await
        }
        Command::ImportClaims { creditor, file } => {
            let today = clock.today();
            let org = IdNumber::parse(&creditor, today)
                .map_err(|e| anyhow::anyhow!("--creditor: {e}"))?;
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let creditor_id = crate::creditors::service::approved_id(&mut conn, &org).await?;
                let Some(creditor_id) = creditor_id else {
                    bail!("no approved creditor with org.nr {}", org.display())
                };
                let params = parameters::load(&mut conn).await?;
                let imported = crate::claims::service::import_file(
                    &mut conn,
                    creditor_id,
                    &file,
                    &params,
                    clock.now(),
                    today,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e:#}", file.display()))?;
                match imported {
                    crate::claims::service::Imported::Done { claims, total } => {
                        println!("imported {claims} claims ({total} in capital)");
                        Ok(())
                    }
                    crate::claims::service::Imported::Refused(errors) => {
                        for e in &errors {
                            let column = if e.column.is_empty() {
                                String::new()
                            } else {
                                format!(", kolumn {}", e.column)
                            };
                            eprintln!("{}: rad {}{column}: {}", file.display(), e.line, e.message);
                        }
                        let lines = errors
                            .iter()
                            .map(|e| e.line)
                            .collect::<std::collections::BTreeSet<_>>();
                        bail!(
                            "{}: {} bad line(s); nothing was imported",
                            file.display(),
                            lines.len()
                        )
                    }
                }
            })
            .await
        }
        Command::ImportBankFile { file } => {
            let today = clock.today();
            let name =
                file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let identity = config.identity.clone();
            with_database(&config, |db| async move {
                let r = payments::import::import_file(
                    &db,
                    &file,
                    &name,
                    &identity,
                    None,
                    clock.now(),
                    today,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                println!(
                    "{name}: {} {} payments, {} in total; {} matched by OCR, {} unmatched; {} claims paid in full, {} overpaid",
                    r.count,
                    r.format.label(),
                    r.total,
                    r.matched,
                    r.unmatched,
                    r.paid_claims,
                    r.overpaid_claims
                );
                Ok(())
            })
            .await
        }
        Command::SetReferenceRate { from, rate, decided, source } => {
            let today = clock.today();
            let from_day = crate::web::forms::parse_date(&from)
                .ok_or_else(|| anyhow::anyhow!("--from: {}", crate::web::forms::DATE_FORMAT))?;
            let decided = match decided {
                None => None,
                Some(d) => Some(crate::web::forms::parse_date(&d).ok_or_else(|| {
                    anyhow::anyhow!("--decided: {}", crate::web::forms::DATE_FORMAT)
                })?),
            };
            with_database(&config, |db| async move {
                let mut tx = db.begin().await?;
                let params = parameters::load(&mut tx).await?;
                let entry = crate::domain::rules::validate_rate_entry(
                    &params.rates,
                    from_day,
                    &rate,
                    today,
                )
                .map_err(|errors| {
                    let lines: Vec<String> =
                        errors.iter().map(|(f, m)| format!("--{f}: {m}")).collect();
                    anyhow::anyhow!("{}", lines.join("\n"))
                })?;
                let change = crate::backoffice::service::set_reference_rate(
                    &mut tx,
                    &entry,
                    decided,
                    source.trim(),
                    None,
                    None,
                    clock.now(),
                    today,
                )
                .await?;
                tx.commit().await?;
                println!(
                    "reference rate {} from {} to {}{}; {} claims with payments recomputed",
                    entry.percent,
                    entry.valid_from,
                    entry.valid_to,
                    change.previous.map(|p| format!(" (was {p})")).unwrap_or_default(),
                    change.claims_recomputed
                );
                Ok(())
            })
            .await
        }
        Command::PartnerStatement { partner, quarter, format } => {
            let today = clock.today();
            let q = crate::domain::partner::Quarter::parse(&quarter)
                .ok_or_else(|| anyhow::anyhow!("--quarter: skriv kvartalet som 2026Q1"))?;
            if !matches!(format.as_str(), "json" | "csv") {
                bail!("--format: json eller csv");
            }
            let public_url = config.public_url.clone();
            with_database(&config, |db| async move {
                use crate::partners::statement::{self, Period};
                let mut conn = db.acquire().await?;
                let Some(partner_id) = crate::partners::service::find(&mut conn, &partner).await?
                else {
                    bail!("--partner: Partnernumret finns inte.")
                };
                if statement::issue(
                    &mut conn,
                    partner_id,
                    Period::Quarter(q),
                    (clock.now(), today),
                    &public_url,
                )
                    .await?
                    .is_none()
                {
                    bail!("--quarter: {q} har inte tagit slut ({today}); underlaget ställs ut efter kvartalet");
                }
                let s = statement::load(&mut conn, partner_id, &q.to_string())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("the statement was not found"))?;
                if format == "csv" {
                    use std::io::Write;
                    std::io::stdout().write_all(&statement::csv(&s))?;
                } else {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                }
                Ok(())
            })
            .await
        }
        Command::ExportEnforcement { today, format, again } => {
            if !matches!(format.as_str(), "json" | "csv") {
                bail!("--format: json or csv");
            }
            let today = today.unwrap_or_else(|| clock.today());
            let now = clock.now();
            let identity = config.identity.clone();
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let params = parameters::load(&mut conn).await?;
                let done = crate::enforcement::export(
                    &mut conn,
                    &params,
                    (today, now),
                    (None, again),
                    &identity,
                    None,
                )
                .await?;
                for (rec, problems) in &done.refused {
                    eprintln!("OCR {}: {}", rec.ocr, problems.join(" "));
                }
                if format == "csv" {
                    print!("{}", crate::enforcement::to_csv(&done.applications));
                } else {
                    let doc = serde_json::json!({"applications": done.applications});
                    println!("{}", serde_json::to_string_pretty(&doc)?);
                }
                Ok(())
            })
            .await
        }
        Command::VerifyAudit => {
            let now = clock.now();
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let sealed = crate::audit::seal(&mut conn, now).await?;
                match crate::audit::verify(&mut conn).await? {
                    crate::audit::Verdict::Intact { rows } => {
                        println!("audit log ok: {rows} rows chained ({sealed} sealed now)");
                        Ok(())
                    }
                    crate::audit::Verdict::Broken { seal_seq, audit_event_id, reason } => {
                        let row = audit_event_id.map(|id| format!(", audit_event_id {id}"));
                        bail!(
                            "audit log broken at seal_seq {seal_seq}{}: {reason}",
                            row.unwrap_or_default()
                        )
                    }
                }
            })
            .await
        }
        Command::CheckLedger => {
            let today = clock.today();
            with_database(&config, |db| async move {
                let mut conn = db.acquire().await?;
                let params = parameters::load(&mut conn).await?;
                let (problems, summary) =
                    payments::ledger::check(&mut conn, &params, today).await?;
                if problems.is_empty() {
                    println!(
                        "ledger ok: {} entries, {} lines balance and sum to zero; {} claims agree with their statements",
                        summary.entries, summary.lines, summary.claims
                    );
                    Ok(())
                } else {
                    for p in &problems {
                        eprintln!("{}", p.0);
                    }
                    bail!("the ledger has {} problem(s)", problems.len())
                }
            })
            .await
        }
        Command::CreateAdmin { email, password_stdin: _ } => {
            let mut pw = String::new();
            std::io::stdin()
                .read_to_string(&mut pw)
                .context("cannot read the password from stdin")?;
            let pw = pw.trim_end_matches(['\n', '\r']).to_string();
            if let Some(msg) = password::check_new(&pw, &pw) {
                bail!("{msg}");
            }
            if !crate::mail::looks_like_email(&email) {
                bail!("ogiltig e-postadress: {email}");
            }
            let hash = password::hash(pw).await?;
            with_database(&config, |db| async move {
                let inserted = sqlx::query!(
                    "insert into app_user (user_id, email, password_hash, role, display_name)
                     values ($1, $2, $3, 'admin', $2) on conflict do nothing",
                    Uuid::new_v4(),
                    email.trim(),
                    hash
                )
                .execute(&db)
                .await?;
                if inserted.rows_affected() == 0 {
                    bail!("a user with e-mail {email} already exists");
                }
                println!("admin {email} created; TOTP enrolment is asked for at first login");
                Ok(())
            })
            .await
        }
    }
}

/// Runs `f` against the configured, migrated database, then closes it (stopping a private cluster this
/// process had to start).
async fn with_database<F, Fut>(config: &Config, f: F) -> Result<()>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let database = Database::open(config).await?;
    let result = match db::migrate(&database.pool).await {
        Ok(()) => f(database.pool.clone()).await,
        Err(e) => Err(e),
    };
    database.close().await?;
    result
}
