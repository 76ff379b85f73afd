//! Every workflow shipped in workflows/ is valid; those with a sample input beside them
//! (`NAME.input.json`) run to success with it. The pizza and load-testing workflows need the
//! pizza API: tests/pizza.rs runs them against it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workflows() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".asl.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_shipped_workflow_validates_and_runs() {
    let db = tempfile::tempdir().unwrap();
    std::env::set_var("ASL_DB", db.path().join("asl.db"));
    let all = workflows();
    assert!(!all.is_empty(), "no workflows found");
    for wf in all {
        let o = Command::new(env!("CARGO_BIN_EXE_asl"))
            .arg("validate")
            .arg(&wf)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            wf.display(),
            String::from_utf8_lossy(&o.stdout)
        );
        let input = PathBuf::from(wf.to_string_lossy().replace(".asl.json", ".input.json"));
        if !input.exists() {
            continue;
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_asl"));
        cmd.arg("run")
            .arg(&wf)
            .args(["--json", "--wait-scale", "0"])
            .arg("--input-file")
            .arg(&input);
        let o = cmd.output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: {}",
                wf.display(),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        assert_eq!(v["status"], "SUCCEEDED", "{}: {v}", wf.display());
    }
}
