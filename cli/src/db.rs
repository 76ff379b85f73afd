//! Where the execution database lives, and opening it with a clear error.

use anyhow::Result;
use asl::history::Store;
use std::path::{Path, PathBuf};

/// `--db`/`ASL_DB`, else `$XDG_DATA_HOME/asl/asl.db`, else `~/.local/share/asl/asl.db`.
pub fn path(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let base = nonempty("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "cannot tell where the database goes: neither XDG_DATA_HOME nor HOME is set (give --db PATH or ASL_DB)"
            )
        })?;
    Ok(base.join("asl").join("asl.db"))
}

pub fn open(flag: Option<&Path>) -> Result<Store> {
    let p = path(flag)?;
    // Name the file, once: some of the store's messages already do.
    Store::open(&p).map_err(|e| {
        let msg = e.to_string();
        let file = p.display().to_string();
        if msg.contains(&file) {
            anyhow::anyhow!(msg)
        } else {
            anyhow::anyhow!("{file}: {msg}")
        }
    })
}
