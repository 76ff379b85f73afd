//! The JSONata language's own test suite (../shared/jsonata-suite, the 1,620 cases AWS's
//! JSONata 2.0.6 has) through `asl jsonata`, held to the floor in tests/jsonata/floor.json.

use std::path::Path;
use std::process::Command;

#[test]
fn jsonata_suite_pass_rate_stays_above_the_floor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let suite = root.join("../shared/jsonata-suite");
    assert!(
        suite.join("run_suite.py").exists(),
        "the JSONata suite is missing: {}",
        suite.display()
    );
    let command = format!(
        "{} jsonata --expr-file {{expr}} --data-file {{data}} --bindings-file {{bindings}}",
        env!("CARGO_BIN_EXE_asl")
    );
    let o = Command::new("python3")
        .arg(suite.join("run_suite.py"))
        .arg(&command)
        .args(["--aws", "--jobs", "2"])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.contains("passed"))
        .unwrap_or("");
    println!("{last}");
    let mut words = last.split_whitespace();
    let passed: u64 = words
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a summary line");
    let failed: u64 = last
        .split(", ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a summary line");
    let rate = 100.0 * passed as f64 / (passed + failed) as f64;
    let floor: f64 = std::fs::read_to_string(root.join("tests/jsonata/floor.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    println!(
        "JSONata suite (--aws): {passed}/{} = {rate:.2}% (floor {floor}%)",
        passed + failed
    );
    assert!(
        rate + 1e-9 >= floor,
        "the JSONata suite fell below its floor:\n{stdout}"
    );
}
