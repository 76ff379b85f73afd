//! The recorded AWS executions in ../shared/conformance, run through `asl run --json` by the
//! corpus's own runner, scored per feature tag, and held to the floor in
//! tests/conformance/floor.json (which only ever goes up).

use std::path::Path;
use std::process::Command;

#[test]
fn conformance_pass_rate_stays_above_the_floor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/conformance");
    assert!(
        shared.join("run.py").exists(),
        "the conformance corpus is missing: expected {}",
        shared.display()
    );
    let report = tempfile::NamedTempFile::new().unwrap();
    let command = format!(
        "{} run {{definition}} --input-file {{input}} --json --wait-scale 0",
        env!("CARGO_BIN_EXE_asl")
    );
    let db = tempfile::tempdir().unwrap();
    let o = Command::new("python3")
        .env("ASL_DB", db.path().join("asl.db"))
        .arg(shared.join("run.py"))
        .arg(&command)
        .arg(shared.join("cases"))
        .arg("--mock-flag=--mock-config")
        .args(["--jobs", "2", "--timeout", "30", "--report"])
        .arg(report.path())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    // The runner exits non-zero when any case fails; the floor decides.
    let summary = stdout.lines().last().unwrap_or("");
    println!("{summary}");
    let scored = Command::new("python3")
        .arg(root.join("tests/conformance/score.py"))
        .arg(report.path())
        .arg("--cases")
        .arg(shared.join("cases"))
        .arg("--floor")
        .arg(root.join("tests/conformance/floor.json"))
        .output()
        .expect("python3 runs");
    println!("{}", String::from_utf8_lossy(&scored.stdout));
    eprintln!("{}", String::from_utf8_lossy(&scored.stderr));
    assert!(
        scored.status.success(),
        "conformance below the floor:\n{stdout}"
    );
}
