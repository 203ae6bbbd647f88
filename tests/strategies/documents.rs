//! The documents stay true to the repository: every path the README and `docs/` name exists,
//! and the "how to add a strategy" list in `docs/ARCHITECTURE.md` names real files.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The folders a repository path can start with.
const TOP_LEVEL: [&str; 12] = [
    "src/",
    "app/",
    "server/",
    "tests/",
    "docs/",
    "scripts/",
    "end2end/",
    "benches/",
    "examples/",
    "style/",
    "public/",
    ".ci/",
];

/// Every repository path `text` names: in backticks or as a link target, starting with one
/// of the top-level folders (`src/backends/jwt.rs`, `(docs/cluster.png)`).
fn paths_named(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let backticked = text.split('`').skip(1).step_by(2);
    let linked = text
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next());
    for candidate in backticked.chain(linked) {
        let candidate = candidate.trim();
        if TOP_LEVEL.iter().any(|top| candidate.starts_with(top))
            && !candidate.contains(char::is_whitespace)
            && !candidate.contains(['{', '*', '<'])
        {
            found.push(candidate.trim_end_matches([',', '.', ':']).to_owned());
        }
    }
    found
}

fn documents() -> Vec<PathBuf> {
    let mut documents = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "md") {
            documents.push(path);
        }
    }
    documents
}

#[test]
fn every_path_the_readme_and_the_docs_name_exists() {
    let mut checked = 0;
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        for path in paths_named(&text) {
            assert!(
                root().join(&path).exists(),
                "{} names {path}, which does not exist",
                document.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked > 40,
        "only {checked} paths found: is the parser broken?"
    );
}

#[test]
fn the_readme_stays_short() {
    let lines = std::fs::read_to_string(root().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines; depth goes to docs/"
    );
}

#[test]
fn every_file_the_how_to_add_a_strategy_list_names_exists() {
    let guide = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let steps = guide
        .split("## How to add a strategy")
        .nth(1)
        .expect("a section on adding a strategy");
    let files: Vec<String> = paths_named(steps)
        .into_iter()
        .filter(|path| path.ends_with(".rs"))
        .collect();
    assert!(files.len() >= 4, "the list names its files: {files:?}");
    for file in files {
        assert!(
            root().join(&file).is_file(),
            "docs/ARCHITECTURE.md names {file}, which is gone"
        );
    }
}

#[test]
fn the_path_finder_finds_paths_and_nothing_else() {
    let text = "see `src/lib.rs`, ![x](docs/cluster.png) and `/strategies/{id}`, `cargo test`, \
                `src/{a,b}.rs`";
    assert_eq!(paths_named(text), ["src/lib.rs", "docs/cluster.png"]);
}
