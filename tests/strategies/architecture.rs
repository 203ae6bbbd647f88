//! `docs/ARCHITECTURE.md` stays true: every file its "how to add a strategy" list names exists.

use std::path::Path;

#[test]
fn every_file_the_how_to_add_a_strategy_list_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let steps = guide
        .split("## How to add a strategy")
        .nth(1)
        .expect("a section on adding a strategy");
    let files: Vec<&str> = steps
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| code.contains('/') && code.ends_with(".rs"))
        .collect();
    assert!(files.len() >= 4, "the list names its files: {files:?}");
    for file in files {
        assert!(
            root.join(file).is_file(),
            "docs/ARCHITECTURE.md names {file}, which is gone"
        );
    }
}
