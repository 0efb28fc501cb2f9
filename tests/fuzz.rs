//! Fuzzing on stable Rust: a mutation fuzzer over the committed seeds in `tests/fuzz/corpus/`,
//! for everything Fordra parses from outside: BgMax and camt.054 bank files, the claims CSV
//! (parsed and every row validated as the import does), identity numbers, OCR, bankgiro and
//! bank accounts, money and dates. A target fails on a panic, on an input that takes longer
//! than [`SLOW`], on memory growing past [`MAX_RSS_MB`], or on a broken round trip (a value
//! that parses must parse again, unchanged, from how Fordra writes it).
//!
//! `cargo test --test fuzz` runs each target for `FUZZ_SECONDS` (30 by default; the README's
//! test command and `.ci/run` use that). A long run: `FUZZ_SECONDS=600 cargo test --release
//! --test fuzz`. One target: `cargo test --test fuzz -- bgmax`. A failing input is written to
//! `target/fuzz-failures/` and named in the output.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chrono::NaiveDate;
use fordra::{
    claims::{csv, input},
    domain::{
        bank_account,
        ids::IdNumber,
        money::Sek,
        ocr,
        rules::{RateTable, ReferenceRate, RuleBook, RuleSet},
    },
    parameters::Parameters,
    payments::{self, Format},
    web::forms::parse_date,
};

/// One input may take at most this long.
const SLOW: Duration = Duration::from_secs(2);
/// The process may not grow past this resident size.
const MAX_RSS_MB: u64 = 1024;
/// Inputs are kept below this size (files larger than this are the upload limit's business).
const MAX_INPUT: usize = 256 * 1024;

type Target = fn(&[u8]) -> Result<(), String>;

fn main() {
    let seconds: u64 =
        std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    // `cargo test` passes its own flags and filters; a bare word picks targets.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let targets: &[(&str, Target, &[&[u8]])] = &[
        (
            "bgmax",
            bgmax,
            &[
                b"01BGMAX",
                b"05",
                b"20",
                b"21",
                b"22",
                b"23",
                b"25",
                b"26",
                b"27",
                b"28",
                b"29",
                b"15",
                b"70",
                b"SEK",
                b"EUR",
                b"0000000000",
                b"  ",
                b"\t",
                b"\r\n",
            ],
        ),
        (
            "camt054",
            camt054,
            &[
                b"<Ntry>",
                b"</Ntry>",
                b"<Amt Ccy=\"SEK\">",
                b"<Amt Ccy=\"EUR\">",
                b"</Amt>",
                b"<Ref>",
                b"</Ref>",
                b"<IBAN>",
                b"&amp;",
                b"&#0;",
                b"<![CDATA[",
                b"]]>",
                b"<?xml",
                b"<!DOCTYPE a [<!ENTITY x \"y\">]>",
                b"&x;",
                b"CRDT",
                b"DBIT",
                b"<TxDtls>",
            ],
        ),
        (
            "csv",
            csv_import,
            &[
                b";",
                b"\"",
                b"\"\"",
                b"\r\n",
                b"\n",
                b",",
                b"\xef\xbb\xbf",
                b"\xe5\xe4\xf6",
                b"ja",
                b"nej",
                b"person",
                b"f\xc3\xb6retag",
                b"2026-02-29",
                b"-1",
                b"1 234,50",
                b"=cmd()",
            ],
        ),
        (
            "ids",
            ids,
            &[b"-", b"+", b" ", b"0", b"9", b"19", b"20", b"16", b"\xc2\xa0", b"\xef\xbc\x91"],
        ),
        (
            "money",
            money,
            &[
                b",",
                b".",
                b" ",
                b"-",
                b"kr",
                b"SEK",
                b":-",
                b"\xc2\xa0",
                b"9999999999999",
                b"-",
                b"e5",
            ],
        ),
    ];
    if std::env::var("FUZZ_WRITE_SEEDS").is_ok() {
        write_camt_seeds();
    }
    let mut failed = false;
    for (name, target, dictionary) in targets {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match run(name, *target, dictionary, Duration::from_secs(seconds)) {
            Ok(report) => println!("fuzz {name}: {report}"),
            Err(why) => {
                println!("fuzz {name}: FAILED: {why}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// xorshift64*: small, fast, reproducible from `FUZZ_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(name);
    let mut seeds = vec![];
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        // Line-based seed files give one seed per line too.
        if matches!(name, "ids" | "money") {
            seeds.extend(bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec));
        }
        seeds.push(bytes);
    }
    if seeds.is_empty() {
        seeds.push(vec![]);
    }
    seeds
}

/// One mutation of `input`: bit flips, random bytes, dictionary tokens, deletions,
/// duplications, splices with another seed, truncation.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], dictionary: &[&[u8]]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            2 => {
                let token = dictionary[rng.below(dictionary.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(16)).min(len);
                input.drain(from..to);
            }
            4 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(80)).min(len);
                let copy = input[from..to].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, copy);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + 1 + rng.below(200)).min(other.len());
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[from..to].iter().copied());
                }
            }
            6 if len > 0 => input.truncate(rng.below(len)),
            _ => {
                let at = rng.below(len + 1);
                let b = [b'0' + rng.below(10) as u8];
                input.splice(at..at, b);
            }
        }
    }
    input.truncate(MAX_INPUT);
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map(|pages| pages * 4096 / (1024 * 1024))
        .unwrap_or(0)
}

fn keep_failure(name: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let hash: u64 = input
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3));
    let path = dir.join(format!("{name}-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    path
}

fn run(
    name: &str,
    target: Target,
    dictionary: &[&[u8]],
    budget: Duration,
) -> Result<String, String> {
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_f0d2a);
    let mut rng = Rng(seed ^ name.len() as u64 ^ 0x9E37_79B9_7F4A_7C15);
    let seeds = corpus(name);
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let (runs, slowest) = (std::cell::Cell::new(0u64), std::cell::Cell::new(Duration::ZERO));
    let one = |input: &[u8]| -> Result<(), String> {
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target(input)));
        let took = t.elapsed();
        slowest.set(slowest.get().max(took));
        runs.set(runs.get() + 1);
        let failure = match outcome {
            Err(panic) => Some(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(Err(why)) => Some(why),
            Ok(Ok(())) if took > SLOW => Some(format!("took {took:?}")),
            Ok(Ok(())) => None,
        };
        match failure {
            Some(why) => {
                Err(format!("{why} (input kept in {})", keep_failure(name, input).display()))
            }
            None => Ok(()),
        }
    };
    // Every seed as it is first, then mutations until the time is up.
    for s in &seeds {
        one(s)?;
    }
    while started.elapsed() < budget {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut input, &seeds, dictionary);
        one(&input)?;
        if runs.get() % 1000 == 0 && rss_mb() > MAX_RSS_MB {
            return Err(format!("resident memory {} MB after {} inputs", rss_mb(), runs.get()));
        }
    }
    let _ = std::panic::take_hook();
    Ok(format!(
        "{} inputs in {:.0} s, no crash, slowest {:.1?}, resident {} MB",
        runs.get(),
        started.elapsed().as_secs_f64(),
        slowest.get(),
        rss_mb()
    ))
}

/// Reads a whole bank file; the parser must end (a bounded number of payments) either way.
fn bank_file(format: Format, bytes: &[u8]) -> Result<(), String> {
    let mut source = payments::open(format, bytes);
    for _ in 0..=bytes.len() + 1 {
        match source.next_payment() {
            Ok(Some(p)) => {
                if p.amount.is_negative() {
                    return Err(format!("a negative amount {} (amounts are positive)", p.amount));
                }
            }
            Ok(None) | Err(_) => return Ok(()),
        }
    }
    Err("the parser yields more payments than the file has bytes".into())
}

fn bgmax(bytes: &[u8]) -> Result<(), String> {
    bank_file(Format::BgMax, bytes)
}

fn camt054(bytes: &[u8]) -> Result<(), String> {
    bank_file(Format::Camt054, bytes)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date")
}

fn params() -> &'static Parameters {
    static P: std::sync::OnceLock<Parameters> = std::sync::OnceLock::new();
    P.get_or_init(|| Parameters {
        book: RuleBook::new(vec![RuleSet::sweden_2013()]),
        rates: RateTable::new(vec![ReferenceRate {
            valid_from: NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date"),
            valid_to: NaiveDate::from_ymd_opt(2100, 12, 31).expect("a date"),
            percent: 2.into(),
            projected: false,
        }]),
        wording: Default::default(),
    })
}

/// The import's path: decode, parse, and validate every row as the web and CLI imports do.
fn csv_import(bytes: &[u8]) -> Result<(), String> {
    if let Ok(rows) = csv::parse(bytes) {
        for row in rows {
            if let Some(claim) = row.input {
                let _ = input::validate(&claim, today(), params());
            }
        }
    }
    Ok(())
}

fn ids(bytes: &[u8]) -> Result<(), String> {
    let s = String::from_utf8_lossy(bytes);
    for id in [IdNumber::parse(&s, today()), IdNumber::parse_organisation(&s, today())]
        .into_iter()
        .flatten()
    {
        // What Fordra shows parses back to the same number.
        let again = IdNumber::parse(&id.display(), today())
            .map_err(|e| format!("{} → {}: {e}", s, id.display()))?;
        if again.as_str() != id.as_str() {
            return Err(format!("{s}: {} then {}", id.as_str(), again.as_str()));
        }
    }
    let _ = ocr::validate(&s);
    if let Ok(n) = ocr::case_number_of(&s) {
        let again = ocr::case_number_of(&ocr::generate(n));
        if again != Ok(n) {
            return Err(format!("{s}: case {n}, but its OCR {} reads {again:?}", ocr::generate(n)));
        }
    }
    if let Ok(bg) = ocr::validate_bankgiro(&s) {
        ocr::validate_bankgiro(&bg).map_err(|e| format!("{s} → {bg}: {e}"))?;
    }
    let mid = s.char_indices().nth(s.chars().count() / 2).map(|(i, _)| i).unwrap_or(0);
    let _ = bank_account::validate(&s[..mid], &s[mid..]);
    let _ = bank_account::validate(&s, &s);
    Ok(())
}

fn money(bytes: &[u8]) -> Result<(), String> {
    let s = String::from_utf8_lossy(bytes);
    if let Ok(amount) = Sek::parse(&s) {
        let again = Sek::parse(&amount.to_plain())
            .map_err(|e| format!("{s} → {}: {e}", amount.to_plain()))?;
        if again != amount {
            return Err(format!("{s}: {amount:?} then {again:?}"));
        }
    }
    if let Some(a) = payments::parse_amount(&s)
        && a.is_negative()
    {
        return Err(format!("{s}: an unsigned amount parsed negative"));
    }
    if let Some(d) = parse_date(&s)
        && parse_date(&d.to_string()) != Some(d)
    {
        return Err(format!("{s}: {d} does not parse back"));
    }
    Ok(())
}

/// `FUZZ_WRITE_SEEDS=1`: writes the camt.054 seeds (files the payment simulator makes, as a
/// bank sends them) into the corpus; they are committed.
fn write_camt_seeds() {
    use fordra::payments::simulator::{Item, camt054};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/camt054");
    let day = today();
    let items = [
        Item::new(&ocr::generate(1001), Sek::kronor(2500), "Sven Svensson"),
        Item::new(
            "Faktura 17 okänd",
            Sek::from_decimal("12.50".parse().expect("decimal")),
            "Åsa & Öberg <AB>",
        ),
    ];
    let files = [
        ("two-payments.xml", camt054(fordra::config::DEFAULT_IBAN, "SEED-1", day, &items)),
        ("empty.xml", camt054(fordra::config::DEFAULT_IBAN, "SEED-2", day, &[])),
    ];
    for (name, xml) in files {
        std::fs::write(dir.join(name), xml).expect("the corpus is writable");
    }
}
