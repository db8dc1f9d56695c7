//! Architecture check: no two modules of the crate may depend on each other,
//! directly or through their children. Each cycle is printed with the
//! file:line of every import in it, so one of them can be moved or inverted.
//!
//! How: every `.rs` file under `src/` is a module; every `crate::`, `super::`
//! and `self::` path (and `entra_connect::` in `main.rs`) is an edge to the
//! longest prefix of that path that is a module; each edge is lifted to the
//! two siblings under the modules' deepest common ancestor; a cycle is a
//! strongly connected component of more than one sibling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path such as `["tui", "pages", "ready"]`; the library root is `[]`.
type Module = Vec<String>;
/// A crate-relative path as written, and the line of its last segment.
type Found = (Vec<String>, usize);
/// A token (identifier, `::` or one punctuation character) and its line.
type Token = (String, usize);
/// For one sibling edge: file and line -> the paths written there.
type Sites = BTreeMap<(String, usize), Vec<Vec<String>>>;

fn ident_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// `lib.rs` is the root, `main.rs` is `main`, `a/mod.rs` and `a.rs` are `a`.
fn module_of(file: &str) -> Module {
    let mut parts: Module = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

/// Where the comment or literal starting at `c[i]` ends, if one starts there.
fn literal_end(c: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let after = |from: usize, ch: char| {
        (from..c.len())
            .find(|&k| c[k] == ch)
            .map_or(c.len(), |k| k + 1)
    };
    match (at(i), at(i + 1)) {
        ('/', '/') => Some(after(i, '\n')),
        ('/', '*') => {
            let (mut depth, mut k) = (0, i); // block comments nest in Rust
            loop {
                match (at(k), at(k + 1)) {
                    ('/', '*') => (depth, k) = (depth + 1, k + 2),
                    ('*', '/') => (depth, k) = (depth - 1, k + 2),
                    _ => k += 1,
                }
                if depth == 0 || k >= c.len() {
                    return Some(k);
                }
            }
        }
        ('"', _) => {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            Some(k + 1)
        }
        ('\'', '\\') => Some(after(i + 3, '\'')), // '\n', '\'', '\u{41}'
        ('\'', _) if at(i + 2) == '\'' => Some(i + 3), // 'x', but not a lifetime 'a
        ('r' | 'b' | 'c', _) if i == 0 || !ident_char(c[i - 1]) => raw_string_end(c, i),
        _ => None,
    }
}

/// End of a raw string `r#"..."#`, `br"..."` or `cr"..."` starting at `c[i]`.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let r = i + usize::from(c[i] != 'r'); // past a b or c prefix
    let hashes = c.get(r + 1..)?.iter().take_while(|&&ch| ch == '#').count();
    if c.get(r) != Some(&'r') || c.get(r + 1 + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = r + 2 + hashes..c.len();
    Some(
        body.clone()
            .find(|&k| c[k..].starts_with(&close))
            .map_or(body.end, |k| k + close.len()),
    )
}

/// Identifiers, `::` and other punctuation one character at a time, each
/// with its line; comments (doc comments too) and literals are skipped.
fn tokenize(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let (mut tokens, mut i, mut line) = (Vec::new(), 0, 1);
    while i < c.len() {
        let literal = literal_end(&c, i).map(|end| end.min(c.len()));
        let end = literal.unwrap_or_else(|| match (c[i], c.get(i + 1)) {
            (ch, _) if ident_char(ch) => {
                i + c[i..].iter().take_while(|&&ch| ident_char(ch)).count()
            }
            (':', Some(':')) => i + 2,
            _ => i + 1,
        });
        if literal.is_none() && !c[i].is_whitespace() {
            tokens.push((c[i..end].iter().collect(), line));
        }
        line += c[i..end].iter().filter(|&&ch| ch == '\n').count();
        i = end;
    }
    tokens
}

/// Expands the use tree at `t[*j]` (`a::{b, c::{self, d as e}, f::*}`) into
/// full paths appended to `path`, leaving `*j` just past it.
fn use_tree(t: &[Token], j: &mut usize, mut path: Vec<String>, out: &mut Vec<Found>) {
    let text = |j: usize| t.get(j).map_or("", |t| t.0.as_str());
    let mut line = t.get(*j).map_or(0, |t| t.1);
    loop {
        match text(*j) {
            "{" => {
                *j += 1;
                while !matches!(text(*j), "}" | "") {
                    let before = *j;
                    use_tree(t, j, path.clone(), out);
                    match text(*j) {
                        "," => *j += 1,
                        _ if *j == before => break, // not a use tree: do not spin
                        _ => {}
                    }
                }
                *j += 1;
                return;
            }
            "*" => *j += 1,                        // a glob uses the module itself
            "self" if !path.is_empty() => *j += 1, // `{self, ..}` is the prefix
            "::" if path.is_empty() => *j += 1,    // `use ::std::..`
            word if word.starts_with(ident_char) => {
                (line, *j) = (t[*j].1, *j + 1);
                path.push(word.to_string());
            }
            _ => break,
        }
        if text(*j) != "::" {
            break;
        }
        *j += 1;
    }
    if text(*j) == "as" {
        *j += 2;
    }
    if !path.is_empty() {
        out.push((path, line));
    }
}

/// Every crate-relative path in a file, from `use` items and inline code.
fn crate_paths(src: &str, is_main: bool) -> Vec<Found> {
    let t = tokenize(src);
    let text = |j: usize| t.get(j).map_or("", |t| t.0.as_str());
    let starts =
        |w: &str| matches!(w, "crate" | "super" | "self") || (is_main && w == "entra_connect");
    let (mut out, mut i) = (Vec::new(), 0);
    while i < t.len() {
        if text(i) == "use" {
            i += 1;
            use_tree(&t, &mut i, Vec::new(), &mut out);
            out.retain(|(path, _)| starts(&path[0])); // not `std::..` and the like
        } else if starts(text(i)) && text(i + 1) == "::" && (i == 0 || text(i - 1) != "::") {
            let mut path = vec![text(i).to_string()];
            while text(i + 1) == "::" && text(i + 2).starts_with(ident_char) {
                path.push(text(i + 2).to_string());
                i += 2;
            }
            out.push((path, t[i].1));
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The longest prefix of `path`, seen from module `from`, that is a module;
/// `None` for a `super` above the root.
fn resolve(from: &[String], path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut module = from.to_vec();
    for (n, segment) in path.iter().enumerate() {
        match segment.as_str() {
            // main.rs is a crate of its own, and uses the library by name.
            "crate" if n == 0 => module.truncate(usize::from(from == ["main"])),
            "entra_connect" if n == 0 => module.clear(),
            "self" => {}
            "super" => drop(module.pop()?),
            name => {
                module.push(name.to_string());
                if !modules.contains(&module) {
                    module.pop();
                    break;
                }
            }
        }
    }
    Some(module)
}

/// The two siblings under the deepest common ancestor of `a` and `b`; `None`
/// when they are one module or one is an ancestor of the other (that is normal).
fn lift(a: &[String], b: &[String]) -> Option<(Module, Module)> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    (common < a.len() && common < b.len()).then(|| (a[..=common].to_vec(), b[..=common].to_vec()))
}

/// Groups of siblings that all reach each other in the lifted graph. A lifted
/// edge always joins children of one parent, so one graph keeps parents apart.
fn cycles<'m>(edges: impl Iterator<Item = &'m (Module, Module)>) -> Vec<BTreeSet<&'m Module>> {
    let mut graph: BTreeMap<&Module, BTreeSet<&Module>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().insert(b);
    }
    let reach = |start: &'m Module| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
        while let Some(node) = todo.pop() {
            for &next in graph.get(node).into_iter().flatten() {
                if seen.insert(next) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&Module, BTreeSet<&Module>> =
        graph.keys().map(|&n| (n, reach(n))).collect();
    let mut found = Vec::new();
    for (node, reached) in &reachable {
        let component: BTreeSet<&Module> = reached
            .iter()
            .copied()
            .filter(|m| reachable.get(m).is_some_and(|r| r.contains(node)))
            .collect();
        if component.len() > 1 && !found.contains(&component) {
            found.push(component);
        }
    }
    found
}

/// The paths written on one line, shortened to `a::b::{C, d}`.
fn braces(paths: &[Vec<String>]) -> String {
    let first = &paths[0];
    let n = (0..first.len())
        .take_while(|&k| paths.iter().all(|p| p.get(k) == first.get(k)))
        .count();
    if let [one] = paths {
        return one.join("::");
    }
    let rest: Vec<String> = paths.iter().map(|p| p[n..].join("::")).collect();
    let rest: Vec<&str> = rest
        .iter()
        .map(|r| if r.is_empty() { "self" } else { r.as_str() })
        .collect();
    format!("{}::{{{}}}", first[..n].join("::"), rest.join(", "))
}

/// Every cycle among `(file under src, source)` files with the imports in it;
/// empty when there is none.
fn report(files: &[(String, String)]) -> String {
    let modules: BTreeSet<Module> = files.iter().map(|(file, _)| module_of(file)).collect();
    let mut lifted: BTreeMap<(Module, Module), Sites> = BTreeMap::new();
    for (file, src) in files {
        let from = module_of(file);
        for (path, line) in crate_paths(src, from == ["main"]) {
            if let Some(to) = resolve(&from, &path, &modules)
                && let Some(pair) = lift(&from, &to)
            {
                let sites = lifted.entry(pair).or_default();
                sites
                    .entry((format!("src/{file}"), line))
                    .or_default()
                    .push(path);
            }
        }
    }
    let mut out = String::new();
    for members in cycles(lifted.keys()) {
        let names: Vec<String> = members.iter().map(|m| m.join("::")).collect();
        out += &format!("\nimport cycle: {}\n", names.join(" <-> "));
        for ((a, b), sites) in &lifted {
            if members.contains(a) && members.contains(b) {
                out += &format!("  {} -> {}\n", a.join("::"), b.join("::"));
                for ((file, line), paths) in sites {
                    out += &format!("    {file}:{line}  {}\n", braces(paths));
                }
            }
        }
    }
    out
}

/// `(path under src with / separators, source)` for every `.rs` file.
fn read_sources(dir: &Path, under: &str, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("read a directory entry").path();
        let name = format!(
            "{under}{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        if path.is_dir() {
            read_sources(&path, &format!("{name}/"), files);
        } else if name.ends_with(".rs") {
            files.push((
                name,
                std::fs::read_to_string(&path).expect("read a source file"),
            ));
        }
    }
}

/// Each crate of the workspace, checked on its own: between crates Cargo
/// already allows one direction only (the binary over the engine and the sandbox).
#[test]
fn no_import_cycles_between_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for crate_src in ["src", "crates/core/src", "crates/sandbox/src"] {
        let mut files = Vec::new();
        read_sources(&root.join(crate_src), "", &mut files);
        files.sort();
        assert!(
            files.iter().any(|(file, _)| file == "lib.rs"),
            "no {crate_src}/lib.rs"
        );
        let found = report(&files);
        assert!(
            found.is_empty(),
            "modules of {crate_src} depend on each other:\n{found}"
        );
    }
}

/// The checker's own parts.
mod checker {
    use super::*;

    fn paths(src: &str) -> Vec<String> {
        let found = crate_paths(src, false);
        found
            .iter()
            .map(|(path, line)| format!("{}:{line}", path.join("::")))
            .collect()
    }

    fn m(path: &str) -> Module {
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn use_groups_expand_to_full_paths() {
        let src = "use crate::engine::{Error, onboard::{plan, Plan as P}};
                   use super::{self, X}; use std::io; use super::a::{
                       b::*,
                   };";
        let expected = [
            "crate::engine::Error:1",
            "crate::engine::onboard::plan:1",
            "crate::engine::onboard::Plan:1",
            "super:2",
            "super::X:2",
            "super::a::b:3",
        ];
        assert_eq!(paths(src), expected);
    }

    #[test]
    fn inline_paths_count_but_comments_and_strings_do_not() {
        let src = r##"
            // crate::a::b
            /// [`crate::doc`] and //! crate::inner
            /* crate::block /* nested crate::x */ */
            let s = ("crate::string \" super::y", r#"crate::raw"#, b"crate::bytes");
            let q = ('"', '\''); fn f<'a>(x: &'a str) {}
            let v = crate::host::journal::open_run(super::super::z::w(), self::m::n);
            pub(crate) fn g() {}
        "##;
        let expected = [
            "crate::host::journal::open_run:7",
            "super::super::z::w:7",
            "self::m::n:7",
        ];
        assert_eq!(paths(src), expected);
    }

    #[test]
    fn paths_resolve_to_the_longest_module_prefix() {
        let modules: BTreeSet<Module> = ["", "engine", "engine::link", "main"].map(m).into();
        for case in [
            "engine::register uses super::link::LinkTarget => engine::link",
            "engine::register uses crate::engine::Thing => engine",
            "engine uses self::link => engine::link",
            "main uses entra_connect::engine::link::x => engine::link",
            "engine uses super::super::x => none",
        ] {
            let (from, rest) = case.split_once(" uses ").unwrap();
            let (path, expected) = rest.split_once(" => ").unwrap();
            let to = resolve(&m(from), &m(path), &modules);
            assert_eq!(
                to.map_or("none".into(), |to| to.join("::")),
                expected,
                "{case}"
            );
        }
        assert_eq!(module_of("tui/pages/mod.rs"), m("tui::pages"));
        assert_eq!(module_of("lib.rs"), m(""));
    }

    #[test]
    fn edges_lift_to_siblings_and_ancestors_are_ignored() {
        for case in [
            "tui::pages::ready -> tui::app => tui::pages -> tui::app",
            "engine::link -> engine::register => engine::link -> engine::register",
            "tui::pages -> tui::pages::ready => none",
            "tui::pages::ready -> tui => none",
        ] {
            let (edge, expected) = case.split_once(" => ").unwrap();
            let (from, to) = edge.split_once(" -> ").unwrap();
            let lifted = lift(&m(from), &m(to))
                .map(|(a, b)| format!("{} -> {}", a.join("::"), b.join("::")));
            assert_eq!(lifted.as_deref().unwrap_or("none"), expected, "{case}");
        }
    }

    #[test]
    fn a_cycle_through_a_child_module_is_reported() {
        let tree = [
            ("lib.rs", "pub mod tui;"),
            ("tui/mod.rs", "pub mod app; pub mod pages; pub mod theme;"),
            ("tui/app.rs", "use super::pages;\nuse super::theme::Style;"),
            ("tui/theme.rs", ""),
            ("tui/pages/mod.rs", "pub mod ready;\nuse super::Thing;"),
            ("tui/pages/ready.rs", "fn f() {\ncrate::tui::app::run() }"),
        ]
        .map(|(file, src)| (file.to_string(), src.to_string()));
        let found = report(&tree);
        let cycle = "import cycle: tui::app <-> tui::pages\n";
        let edge = "tui::pages -> tui::app\n    src/tui/pages/ready.rs:2  crate::tui::app::run";
        assert!(found.contains(cycle) && found.contains(edge), "{found}");
        assert!(!found.contains("theme"), "{found}");
        assert_eq!(report(&tree[..4]), "", "without pages there is no cycle");
    }
}
