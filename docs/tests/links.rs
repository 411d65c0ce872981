//! Every relative link in the repository's markdown points at a file or folder that exists
//! (rustdoc checks the Rust names; it does not follow links to other files).

use std::path::{Path, PathBuf};

/// The markdown files a reader follows links from: the READMEs and the guides.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    for folder in [
        "docs",
        "templates",
        "crates",
        "functions",
        "subsystem",
        "tests",
        "scripts",
    ] {
        collect(&root.join(folder), &mut files, 0);
    }
    files
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            // Generated or vendored trees hold links that are not ours.
            if depth < 3 && !matches!(name.as_ref(), "target" | "node_modules" | "scaffold") {
                collect(&path, files, depth + 1);
            }
        } else if name.ends_with(".md") {
            files.push(path);
        }
    }
}

/// The targets of `[text](target)` links in `text`, without titles or fragments.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            let target = target.split('#').next().unwrap_or("");
            let external = target.contains("://") || target.starts_with("mailto:");
            if !target.is_empty() && !external {
                links.push(target.to_string());
            }
            rest = &after[end..];
        }
    }
    links
}

#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = markdown_files(&root);
    assert!(
        files.len() > 10,
        "found only {} markdown files under {}",
        files.len(),
        root.display()
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let dir = file.parent().unwrap_or(&root);
        for link in relative_links(&text) {
            checked += 1;
            if !dir.join(&link).exists() {
                broken.push(format!(
                    "{}: {link}",
                    file.strip_prefix(&root).unwrap_or(file).display()
                ));
            }
        }
    }
    assert!(
        checked > 30,
        "only {checked} links found: is the parser reading the files?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn links_are_read_from_prose_and_not_from_code() {
    let text =
        "see [a](a.md#x) and [b](https://example.com)\n```\n[c](c.md)\n```\n[d](d/ \"title\")";
    assert_eq!(relative_links(text), ["a.md", "d/"]);
}
