//! Docs execute: every ```cascade block in the README and the language
//! reference is a script that checks, runs and meets its own expectations; a
//! block marked ```cascade fragment only has to parse.

use cascade::source::SourceFile;
use cascade::{Engine, RenderStyle};

/// (info string, first line number, text) of every ```cascade block.
fn cascade_blocks(markdown: &str) -> Vec<(String, usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```cascade") {
                    current = Some((info.trim().to_string(), n + 2, String::new()));
                }
            }
            Some((_, _, text)) => {
                if line.starts_with("```") {
                    blocks.extend(current.take());
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    blocks
}

fn check_document(path: &str) -> usize {
    let markdown = std::fs::read_to_string(path).unwrap();
    let blocks = cascade_blocks(&markdown);
    for (info, line, text) in &blocks {
        let name = format!("{path}:{line}");
        if info.contains("fragment") {
            let (_, problems) = cascade::syntax::parse_file(&SourceFile::new(name.as_str(), text.as_str()));
            let syntax_errors: Vec<_> = problems.iter().filter(|p| p.is_error()).collect();
            assert!(syntax_errors.is_empty(), "{name}: the fragment does not parse: {syntax_errors:?}");
            continue;
        }
        let program = Engine::new().compile(text, &name).unwrap_or_else(|e| {
            panic!("{name}:\n{}", e.diagnostics().map_or(e.to_string(), |d| d.render(RenderStyle::Plain)))
        });
        let mut run = program.run().unwrap();
        run.run_to_end().unwrap_or_else(|e| panic!("{name}: {e}"));
        let failed = run.failed_expectations();
        assert!(failed.is_empty(), "{name}:\n{}", failed.render(RenderStyle::Plain));
        assert!(!run.expectations().is_empty(), "{name}: a runnable block should check itself with `expect`");
    }
    blocks.len()
}

#[test]
fn the_language_reference_runs() {
    assert!(check_document("docs/language.md") >= 5);
}

#[test]
fn the_readme_runs() {
    assert!(check_document("README.md") >= 2);
}
