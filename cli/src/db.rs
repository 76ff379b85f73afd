//! Where the execution database lives, and opening it with a clear error.

use anyhow::Result;
use asl::history::Store;
use std::path::{Path, PathBuf};

/// `--db`/`ASL_DB`, else `$XDG_DATA_HOME/asl/asl.db`, else `~/.local/share/asl/asl.db`.
pub fn path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("asl").join("asl.db")
}

pub fn open(flag: Option<&Path>) -> Result<Store> {
    let p = path(flag);
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
