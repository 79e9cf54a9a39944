//! The invariants of `ARCHITECTURE.md`, checked on the sources: each folder names only what it
//! may, outside its tests.

use std::path::{Path, PathBuf};

/// An invariant as `ARCHITECTURE.md` states it, the folders it speaks of (under `src/`, all of
/// `src/` when empty, never `except`), and what their code must not contain.
struct Invariant {
    says: &'static str,
    folders: &'static [&'static str],
    except: &'static [&'static str],
    never: &'static [&'static str],
}

const INVARIANTS: &[Invariant] = &[
    Invariant {
        says: "domain/ does no IO and names no other part of hunyu.",
        folders: &["domain"],
        except: &[],
        never: &[
            "crate::node",
            "crate::service",
            "crate::exchange",
            "crate::http",
            "crate::store",
            "crate::seal",
            "crate::config",
            "crate::metrics",
            "crate::contract",
            "std::fs",
            "std::net",
            "std::process",
            "std::thread",
            "tokio",
            "diesel",
            "reqwest",
            "actix",
            "rustls",
        ],
    },
    Invariant {
        says: "seal/ knows no storage, network or HTTP.",
        folders: &["seal"],
        except: &[],
        never: &[
            "crate::store",
            "crate::node",
            "crate::service",
            "crate::exchange",
            "crate::http",
            "diesel",
            "reqwest",
            "actix",
            "tokio",
        ],
    },
    Invariant {
        says: "store/ names nothing of the core, the services, the exchange or HTTP.",
        folders: &["store"],
        except: &[],
        never: &["crate::node", "crate::service", "crate::exchange", "crate::http", "reqwest", "actix"],
    },
    Invariant {
        says: "node/ names nothing of exchange/, service/ or http/.",
        folders: &["node"],
        except: &[],
        never: &["crate::exchange", "crate::service", "crate::http", "reqwest", "actix"],
    },
    Invariant {
        says: "exchange/ never calls service/ or http/.",
        folders: &["exchange"],
        except: &[],
        never: &["crate::service", "crate::http", "actix"],
    },
    Invariant {
        says: "service/ knows nothing of HTTP.",
        folders: &["service"],
        except: &[],
        never: &["crate::http", "actix", "utoipa"],
    },
    Invariant {
        says: "Only http/ names utoipa: the API's shapes and its document live there.",
        folders: &[],
        except: &["http"],
        never: &["utoipa"],
    },
    Invariant {
        says: "No message body is built with json! or read by string index: serde maps the typed bodies of domain/message.rs to the wire.",
        folders: &["domain", "seal", "store", "node", "service", "exchange", "http"],
        except: &[],
        never: &["json!", "[\"body\"]"],
    },
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, or `dir` itself when it is a file.
fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
    if dir.is_file() {
        into.push(dir.to_owned());
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            sources(&path, into);
        }
    }
}

/// The code of a file outside its tests: without its `#[cfg(test)] mod tests { … }` (always last),
/// and nothing of a file that is itself a test-only module.
fn production_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let parent = path.parent().unwrap();
    let declared_in = [parent.join("mod.rs"), parent.join("lib.rs")];
    let test_only = declared_in.iter().filter_map(|p| std::fs::read_to_string(p).ok()).any(|declaring| {
        declaring.lines().collect::<Vec<_>>().windows(2).any(|pair| {
            pair[0].trim() == "#[cfg(test)]"
                && pair[1].trim().trim_start_matches("pub(crate) ") == format!("mod {stem};")
        })
    });
    if test_only {
        return String::new();
    }
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Where `invariant` is broken: file and line of each forbidden name.
fn breaches(invariant: &Invariant) -> Vec<String> {
    let root = src();
    let mut files = Vec::new();
    if invariant.folders.is_empty() {
        sources(&root, &mut files);
    }
    for folder in invariant.folders {
        sources(&root.join(folder), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        if invariant.except.iter().any(|e| relative.starts_with(e)) {
            continue;
        }
        for (number, line) in production_code(&file).lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for name in invariant.never {
                if code.contains(name) {
                    found.push(format!("src/{relative}:{}: {name}", number + 1));
                }
            }
        }
    }
    found
}

#[test]
fn the_code_keeps_the_invariants_of_architecture_md() {
    let written = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap();
    let mut broken = Vec::new();
    for invariant in INVARIANTS {
        assert!(
            written.contains(&format!("- {}", invariant.says)),
            "ARCHITECTURE.md no longer says: {}",
            invariant.says
        );
        let found = breaches(invariant);
        if !found.is_empty() {
            broken.push(format!("\"{}\" is broken at:\n{}", invariant.says, found.join("\n")));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// An invariant about a folder or module that does not exist would hold for nothing.
#[test]
fn every_invariant_speaks_of_parts_that_exist() {
    let exists = |name: &str| src().join(name).exists() || src().join(format!("{name}.rs")).is_file();
    for invariant in INVARIANTS {
        for part in invariant.folders.iter().chain(invariant.except) {
            assert!(exists(part), "{part} of \"{}\" does not exist", invariant.says);
        }
        for module in invariant.never.iter().filter_map(|name| name.strip_prefix("crate::")) {
            assert!(exists(module), "crate::{module} of \"{}\" does not exist", invariant.says);
        }
    }
}
