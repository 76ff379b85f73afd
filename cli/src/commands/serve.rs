//! `asl serve`: the Step Functions API on 127.0.0.1 (see `serve.rs`).

use crate::args::ServeArgs;
use crate::launch::Options;
use crate::serve::{serve, ServeConfig};
use asl::history::store::Store;

pub fn run(a: ServeArgs, store: Store) -> anyhow::Result<i32> {
    if !(0.0..=1000.0).contains(&a.wait_scale) {
        anyhow::bail!(
            "--wait-scale {}: give a number from 0 to 1000",
            a.wait_scale
        );
    }
    let path = |p: Option<std::path::PathBuf>| {
        p.map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string())
    };
    let options = Options {
        subs: Vec::new(),
        mock_config: path(a.mock_config),
        test_case: None,
        resources: path(a.resources),
        wait_scale: a.wait_scale,
    };
    // Both files are read now, so that a mistake in them is told at once.
    options.resources()?;
    options.mock_config_file()?;
    serve(
        store,
        ServeConfig {
            host: a.host,
            port: a.port,
            quiet: a.quiet,
            options,
        },
    )
}
