//! Reading the files a command is given, with errors that say which file and what.

use anyhow::{anyhow, Context, Result};
use asl::definition::{self, Diagnostic};
use asl::Definition;
use std::path::Path;

pub fn read(path: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A byte-order mark (some Windows editors write one) is not part of the JSON.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// `KEY=VALUE` pairs of `--sub`.
pub fn parse_subs(subs: &[String]) -> Result<Vec<(String, String)>> {
    subs.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(anyhow!("--sub {s:?}: expected KEY=VALUE")),
        })
        .collect()
}

/// Why a definition file could not be loaded.
pub enum LoadError {
    Read(anyhow::Error),
    Json(String),
    Invalid(Vec<Diagnostic>),
}

pub fn definition(path: &Path, subs: &[(String, String)]) -> Result<Definition, LoadError> {
    let text = read(path).map_err(LoadError::Read)?;
    let text = definition::substitute(&text, subs);
    match Definition::from_json(&text) {
        Ok(d) => Ok(d),
        Err(definition::Error::Json(e)) => Err(LoadError::Json(format!("not valid JSON: {e}"))),
        Err(definition::Error::Invalid(d)) => Err(LoadError::Invalid(d)),
    }
}

/// Loads a definition with its text (after substitutions), or fails with every problem,
/// one per line, prefixed with the file.
pub fn definition_with_text(
    path: &Path,
    subs: &[(String, String)],
) -> Result<(Definition, String)> {
    let raw = read(path)?;
    let text = definition::substitute(&raw, subs);
    warn_unsubstituted(path, &text);
    match Definition::from_json(&text) {
        Ok(d) => Ok((d, text)),
        Err(definition::Error::Json(e))
            if !subs.is_empty() && serde_json::from_str::<serde_json::Value>(&raw).is_ok() =>
        {
            Err(anyhow!(
                "{}: not valid JSON once the --sub values are put in (a value goes in as it is \
                 written: a quote or backslash in it must be escaped as in JSON): {e}",
                path.display()
            ))
        }
        Err(e) => Err(definition_error(path, e)),
    }
}

/// Says once a name which `${NAME}` placeholders no `--sub` filled (they stay as written).
fn warn_unsubstituted(path: &Path, text: &str) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, _) in text.match_indices("${") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find('}') else { continue };
        let name = &rest[..end];
        let is_name = name
            .chars()
            .enumerate()
            .all(|(j, c)| c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit()));
        if !name.is_empty() && is_name && !seen.contains(&name) {
            seen.push(name);
            eprintln!(
                "asl: warning: {}: ${{{name}}} is left as it is: no --sub {name}=VALUE fills it",
                path.display()
            );
        }
    }
}

/// The message for a definition that did not load.
pub fn definition_error(path: &Path, e: definition::Error) -> anyhow::Error {
    match e {
        definition::Error::Json(e) => anyhow!("{}: not valid JSON: {e}", path.display()),
        definition::Error::Invalid(diags) => {
            let lines: Vec<String> = diags
                .iter()
                .map(|d| format!("{}: {d}", path.display()))
                .collect();
            anyhow!(
                "{} is not a valid definition:\n{}",
                path.display(),
                lines.join("\n")
            )
        }
    }
}

/// The state machine name a file stands for: its name without `.asl.json` or `.json`.
pub fn machine_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "StateMachine".into());
    for ext in [".asl.json", ".json"] {
        if let Some(stem) = file.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    file
}
