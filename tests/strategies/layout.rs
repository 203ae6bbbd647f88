//! The root crate stays laid out by job: its top-level modules import each other in no circle
//! (`docs/ARCHITECTURE.md` lists them in the order they may depend on each other), and no
//! folder grows past about a dozen files.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level module a file of `src/` belongs to (`session` for `src/session/layer.rs`);
/// `None` for `lib.rs`.
fn top_module(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src()).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib").then(|| name.to_owned())
}

/// The top-level modules `text` names through `crate::` paths, grouped imports included
/// (`use crate::{a::b, c};`), its test module left out.
fn modules_named(text: &str) -> BTreeSet<String> {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut named = BTreeSet::new();
    for (index, _) in text.match_indices("crate::") {
        let rest = &text[index + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        named.extend(first_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            named.extend(first_ident(&item));
        } else {
            named.extend(first_ident(rest));
        }
    }
    named
}

fn first_ident(text: &str) -> Option<String> {
    let ident: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty()).then_some(ident)
}

#[test]
fn the_root_crates_modules_import_each_other_in_no_circle() {
    let modules: BTreeSet<String> = rust_files(&src())
        .iter()
        .filter_map(|file| top_module(file))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let Some(from) = top_module(&file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for to in modules_named(&text) {
            if to != from && modules.contains(&to) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(
        edges
            .get("backends")
            .is_some_and(|to| to.contains("session")),
        "the parser finds imports: {edges:?}"
    );
    // Depth-first search for a path back to where it started.
    fn circle(
        at: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|module| module == at) {
            return Some(path[start..].to_vec());
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(found) = circle(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for module in &modules {
        let found = circle(module, &edges, &mut Vec::new(), &mut done);
        assert!(
            found.is_none(),
            "an import circle: {found:?} (all: {edges:?})"
        );
    }
}

#[test]
fn no_folder_of_the_root_crate_holds_more_than_a_dozen_files() {
    fn check(dir: &Path) {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        let files = entries.iter().filter(|path| path.is_file()).count();
        assert!(files <= 13, "{} holds {files} files", dir.display());
        entries
            .iter()
            .filter(|path| path.is_dir())
            .for_each(|dir| check(dir));
    }
    check(&src());
}

#[test]
fn imports_are_read_grouped_or_not() {
    let text = "use crate::{a::b, c::{d, e}, f};\nuse crate::g::h;\n#[cfg(test)]\nmod tests { use crate::z; }";
    let named: Vec<String> = modules_named(text).into_iter().collect();
    assert_eq!(named, ["a", "c", "f", "g"]);
}
