//! The code's shape, checked: dependencies between the top-level modules of `src/` point one
//! way (no cycle), `web/` knows no feature, and no `routes.rs` runs SQL.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without `//` comments (doc comments name modules without depending on them).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // Not inside a string literal such as "http://…": an even number of quotes before it.
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segments after each `crate::`, including inside `crate::{a, b::c}` groups.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    _ => {}
                }
                if item_start && depth == 1 && !c.is_whitespace() {
                    item_start = false;
                    let name = ident(&group[j..]);
                    if !name.is_empty() {
                        refs.insert(name);
                    }
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                refs.insert(name);
            }
        }
    }
    refs
}

/// Top-level module → the top-level modules it refers to.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "main" || top == "lib" {
            continue;
        }
        let refs = crate_refs(&code(&std::fs::read_to_string(&file).unwrap()));
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(refs.into_iter().filter(|r| *r != top));
    }
    graph
}

/// A cycle through `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut vec![], &mut done))
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let graph = module_graph();
    assert!(graph.len() > 10, "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn web_is_plumbing_and_knows_no_feature() {
    let graph = module_graph();
    let allowed: BTreeSet<&str> = ["clock", "config", "crypto", "domain"].into();
    let web: Vec<&String> = graph["web"].iter().filter(|m| !allowed.contains(m.as_str())).collect();
    assert!(web.is_empty(), "web/ imports {web:?}");
}

#[test]
fn the_checker_sees_groups_and_cycles() {
    let refs = crate_refs("use crate::{a::b, c, d::{e, f}};\nlet x = crate::g::h();");
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["a", "c", "d", "g"].map(String::from));
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(find_cycle(&g).is_some());
    g.insert("b".to_string(), BTreeSet::new());
    assert!(find_cycle(&g).is_none());
}

fn runs_sql(code: &str) -> bool {
    ["sqlx::query", "query_as(", "query_scalar(", ".begin()", "Connection::begin", "QueryBuilder"]
        .iter()
        .any(|p| code.contains(p))
}

#[test]
fn no_routes_file_runs_sql() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut routes: Vec<String> = vec![];
    for file in &files {
        // A routes file: by name, or any file that mounts handlers (`fn router()`).
        let text = code(&std::fs::read_to_string(file).unwrap());
        if !file.ends_with("routes.rs") && !text.contains("fn router()") {
            continue;
        }
        let rel = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        assert!(!runs_sql(&text), "{rel} runs SQL: move it to the feature's service or repo");
        routes.push(rel);
    }
    for expected in ["auth/routes.rs", "payouts/routes.rs", "claims/web.rs", "payments/web.rs"] {
        assert!(routes.contains(&expected.to_string()), "{routes:?}");
    }
    assert!(runs_sql("let x = sqlx::query(\"select 1\");") && !runs_sql("render(&page)"));
}
