//! Items of a DISTRIBUTED Map's `ItemReader`, with S3 replaced by local directories: a bucket
//! is a directory (`asl run --bucket NAME=DIR`), a key a path under it. Readers stream: they
//! yield one item at a time from a buffered file, so a file of millions of lines costs the
//! memory of one line.
//!
//! - `s3:getObject` with `InputType` `JSON` (an array, at `ItemsPointer` if given), `JSONL`
//!   (one value a line), `CSV` (a header row or `CSVHeaders`, any `CSVDelimiter`; every value
//!   a string) and `MANIFEST` (an S3 inventory `manifest.json` and its CSV data files);
//! - `s3:listObjectsV2`: one item per file under `Prefix`, in key order, shaped as S3 lists
//!   objects (`Etag`, `Key`, `LastModified`, `Size`, `StorageClass`).
//!
//! Every problem is `States.ItemReaderFailed`, its cause naming the object, the local file and,
//! for bad content, the line.

use crate::failure::{names, Failure};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Buckets: names mapped to local directories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(BTreeMap<String, PathBuf>);

impl Buckets {
    /// Parses `NAME=DIR` specifications (`--bucket`).
    pub fn parse(specs: &[String]) -> Result<Buckets, String> {
        let mut b = Buckets::default();
        for s in specs {
            let Some((name, dir)) = s.split_once('=') else {
                return Err(format!("--bucket {s:?}: expected NAME=DIR"));
            };
            if name.is_empty() || dir.is_empty() {
                return Err(format!("--bucket {s:?}: expected NAME=DIR"));
            }
            let dir = PathBuf::from(dir);
            b.insert(name, std::path::absolute(&dir).unwrap_or(dir));
        }
        Ok(b)
    }

    pub fn insert(&mut self, name: &str, dir: PathBuf) {
        self.0.insert(name.to_string(), dir);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `NAME=DIR` for each bucket, as `parse` takes them.
    pub fn specs(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={}", v.display()))
            .collect()
    }

    /// The directory of a bucket.
    pub fn dir(&self, bucket: &str) -> Option<&Path> {
        self.0.get(bucket).map(|p| p.as_path())
    }
}

/// What to read, resolved from the `ItemReader` and the state's input.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub list_objects: bool,
    pub input_type: Option<crate::definition::InputType>,
    pub bucket: String,
    /// `Key` for getObject, `Prefix` for listObjectsV2.
    pub key: String,
    pub csv_headers: Option<Vec<String>>,
    pub csv_delimiter: u8,
    pub items_pointer: Option<String>,
}

/// A stream of items.
pub type Items = Box<dyn Iterator<Item = Result<Value, Failure>>>;

fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(names::ITEM_READER_FAILED, cause)
}

/// The local path of an object, or why there is none.
pub fn object_path(buckets: &Buckets, bucket: &str, key: &str) -> Result<PathBuf, String> {
    let Some(dir) = buckets.dir(bucket) else {
        return Err(format!(
            "the bucket {bucket:?} is not configured: run with --bucket {bucket}=DIR"
        ));
    };
    if key.split('/').any(|seg| seg == "..") {
        return Err(format!("the key {key:?} leaves the bucket"));
    }
    Ok(dir.join(key.trim_start_matches('/')))
}

/// Opens the items of a reader.
pub fn open(buckets: &Buckets, req: &ReadRequest) -> Result<Items, Failure> {
    use crate::definition::InputType;
    if req.list_objects {
        return list_objects(buckets, &req.bucket, &req.key);
    }
    let name = format!("s3://{}/{}", req.bucket, req.key);
    let path = object_path(buckets, &req.bucket, &req.key)
        .map_err(|e| failed(format!("Cannot read {name}: {e}")))?;
    let file = open_file(&name, &path)?;
    let source = Source {
        name: format!("{name} ({})", path.display()),
        reader: BufReader::with_capacity(64 * 1024, Box::new(file) as Box<dyn Read>),
    };
    match req.input_type {
        Some(InputType::Json) => Ok(Box::new(JsonArray::open(
            source,
            req.items_pointer.as_deref().unwrap_or(""),
        )?)),
        Some(InputType::Jsonl) => Ok(Box::new(JsonLines {
            source,
            line: 0,
            buf: String::new(),
            done: false,
        })),
        Some(InputType::Csv) => Ok(Box::new(CsvItems::open(
            source,
            req.csv_delimiter,
            req.csv_headers.clone(),
        )?)),
        Some(InputType::Manifest) => manifest(buckets, &req.bucket, source),
        None => Err(failed(format!(
            "Cannot read {name}: the ItemReader has no ReaderConfig.InputType"
        ))),
    }
}

fn open_file(name: &str, path: &Path) -> Result<File, Failure> {
    match File::open(path) {
        Ok(f) if path.is_dir() => {
            drop(f);
            Err(failed(format!(
                "Cannot read {name}: {} is a directory, not an object",
                path.display()
            )))
        }
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(failed(format!(
            "Cannot read {name}: the object does not exist (no file {})",
            path.display()
        ))),
        Err(e) => Err(failed(format!(
            "Cannot read {name} ({}): {e}",
            path.display()
        ))),
    }
}

/// A file being read, with the name errors give it.
struct Source {
    name: String,
    reader: BufReader<Box<dyn Read>>,
}

impl Source {
    fn error(&self, line: usize, detail: impl std::fmt::Display) -> Failure {
        failed(format!("{}, line {line}: {detail}", self.name))
    }

    fn io(&self, e: std::io::Error) -> Failure {
        failed(format!("Cannot read {}: {e}", self.name))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

struct JsonLines {
    source: Source,
    line: usize,
    buf: String,
    done: bool,
}

impl Iterator for JsonLines {
    type Item = Result<Value, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.source.reader.read_line(&mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line += 1;
                    let text = self.buf.trim();
                    if text.is_empty() {
                        continue;
                    }
                    return Some(serde_json::from_str(text).map_err(|e| {
                        self.done = true;
                        self.source
                            .error(self.line, format!("not a JSON value: {e}"))
                    }));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.source.io(e)));
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// A JSON array, streamed element by element

struct JsonArray {
    source: Source,
    line: usize,
    /// Whether the next element is the first (no comma before it).
    first: bool,
    done: bool,
    value: Vec<u8>,
}

impl JsonArray {
    fn open(source: Source, pointer: &str) -> Result<JsonArray, Failure> {
        let mut a = JsonArray {
            source,
            line: 1,
            first: true,
            done: false,
            value: Vec::new(),
        };
        let segments: Vec<String> = if pointer.is_empty() {
            Vec::new()
        } else {
            pointer
                .split('/')
                .skip(1)
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect()
        };
        for (depth, seg) in segments.iter().enumerate() {
            let at = if depth == 0 {
                String::from("/")
            } else {
                format!("/{}", segments[..depth].join("/"))
            };
            a.skip_ws()?;
            match a.peek()? {
                Some(b'{') => {
                    a.bump();
                    if !a.find_key(seg)? {
                        return Err(a.source.error(
                            a.line,
                            format!(
                                "ItemsPointer {pointer}: no field {seg:?} in the object at {at}"
                            ),
                        ));
                    }
                }
                Some(b'[') => {
                    a.bump();
                    let Ok(n) = seg.parse::<usize>() else {
                        return Err(a.source.error(
                            a.line,
                            format!("ItemsPointer {pointer}: {at} is an array, and {seg:?} is not an index"),
                        ));
                    };
                    if !a.find_index(n)? {
                        return Err(a.source.error(
                            a.line,
                            format!("ItemsPointer {pointer}: the array at {at} has no element {n}"),
                        ));
                    }
                }
                _ => {
                    return Err(a.source.error(
                        a.line,
                        format!(
                            "ItemsPointer {pointer}: the value at {at} is not an object or array"
                        ),
                    ))
                }
            }
        }
        a.skip_ws()?;
        match a.peek()? {
            Some(b'[') => {
                a.bump();
                Ok(a)
            }
            other => {
                let what = match other {
                    None => "nothing".to_string(),
                    Some(b'{') => "an object".to_string(),
                    Some(b'"') => "a string".to_string(),
                    Some(c) => format!("{:?}", c as char),
                };
                Err(a.source.error(
                    a.line,
                    if pointer.is_empty() {
                        format!("the file must hold a JSON array (or give ItemsPointer), but it holds {what}")
                    } else {
                        format!("the value at ItemsPointer {pointer} must be a JSON array, but it is {what}")
                    },
                ))
            }
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, Failure> {
        match self.source.reader.fill_buf() {
            Ok(b) => Ok(b.first().copied()),
            Err(e) => Err(self.source.io(e)),
        }
    }

    fn bump(&mut self) {
        self.source.reader.consume(1);
    }

    fn skip_ws(&mut self) -> Result<(), Failure> {
        loop {
            let buf = match self.source.reader.fill_buf() {
                Ok(b) => b,
                Err(e) => return Err(self.source.io(e)),
            };
            if buf.is_empty() {
                return Ok(());
            }
            let mut n = 0;
            for &c in buf {
                match c {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    _ => break,
                }
                n += 1;
            }
            let all = n == buf.len();
            self.source.reader.consume(n);
            if !all {
                return Ok(());
            }
        }
    }

    /// Reads one value's text into `self.value` (or skips it when `keep` is false).
    fn scan_value(&mut self, keep: bool) -> Result<(), Failure> {
        self.value.clear();
        self.skip_ws()?;
        let start_line = self.line;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = match self.source.reader.fill_buf() {
                Ok(b) => b,
                Err(e) => return Err(self.source.io(e)),
            };
            if buf.is_empty() {
                return Err(self
                    .source
                    .error(start_line, "the JSON ends in the middle of a value"));
            }
            let mut n = 0;
            let mut end = false;
            for &c in buf {
                if in_string {
                    if c == b'\n' {
                        self.line += 1;
                    }
                    if escaped {
                        escaped = false;
                    } else if c == b'\\' {
                        escaped = true;
                    } else if c == b'"' {
                        in_string = false;
                        if depth == 0 {
                            n += 1;
                            end = true;
                            break;
                        }
                    }
                    n += 1;
                    continue;
                }
                match c {
                    b'"' => in_string = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        if depth == 0 {
                            end = true;
                            break;
                        }
                        depth -= 1;
                        if depth == 0 {
                            n += 1;
                            end = true;
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        end = true;
                        break;
                    }
                    b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => {
                        end = true;
                        break;
                    }
                    b'\n' => self.line += 1,
                    _ => {}
                }
                n += 1;
            }
            if keep {
                self.value.extend_from_slice(&buf[..n]);
            }
            self.source.reader.consume(n);
            if end {
                return Ok(());
            }
        }
    }

    /// In an object just opened, moves to the value of `key`; false when it has none.
    fn find_key(&mut self, key: &str) -> Result<bool, Failure> {
        let mut first = true;
        loop {
            self.skip_ws()?;
            match self.peek()? {
                Some(b'}') => {
                    self.bump();
                    return Ok(false);
                }
                Some(b',') if !first => {
                    self.bump();
                    self.skip_ws()?;
                }
                _ if first => {}
                _ => return Err(self.source.error(self.line, "malformed JSON object")),
            }
            first = false;
            let line = self.line;
            self.scan_value(true)?;
            let name: String = serde_json::from_slice(&self.value)
                .map_err(|_| self.source.error(line, "malformed JSON object key"))?;
            self.skip_ws()?;
            if self.peek()? != Some(b':') {
                return Err(self
                    .source
                    .error(self.line, "malformed JSON object: no ':'"));
            }
            self.bump();
            if name == key {
                return Ok(true);
            }
            self.scan_value(false)?;
        }
    }

    /// In an array just opened, moves to element `n`; false when it is shorter.
    fn find_index(&mut self, n: usize) -> Result<bool, Failure> {
        for i in 0..=n {
            self.skip_ws()?;
            match self.peek()? {
                Some(b']') | None => return Ok(false),
                Some(b',') if i > 0 => self.bump(),
                _ if i == 0 => {}
                _ => return Err(self.source.error(self.line, "malformed JSON array")),
            }
            if i == n {
                return Ok(true);
            }
            self.scan_value(false)?;
        }
        Ok(false)
    }
}

impl Iterator for JsonArray {
    type Item = Result<Value, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = (|| {
            self.skip_ws()?;
            match self.peek()? {
                Some(b']') => {
                    self.bump();
                    return Ok(None);
                }
                Some(b',') if !self.first => {
                    self.bump();
                }
                None => return Err(self.source.error(self.line, "the JSON array is not closed")),
                _ if self.first => {}
                Some(c) => {
                    return Err(self.source.error(
                        self.line,
                        format!(
                            "malformed JSON array: {:?} where ',' or ']' should be",
                            c as char
                        ),
                    ))
                }
            }
            self.first = false;
            self.skip_ws()?;
            let line = self.line;
            self.scan_value(true)?;
            serde_json::from_slice(&self.value)
                .map(Some)
                .map_err(|e| self.source.error(line, format!("not a JSON value: {e}")))
        })();
        match r {
            Ok(Some(v)) => Some(Ok(v)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(f) => {
                self.done = true;
                Some(Err(f))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Reads CSV records, as Step Functions parses them: the delimiter separates fields, newlines
/// separate records; a field in double quotes may hold delimiters and newlines, and `""` in it
/// is one quote; a backslash escapes a backslash, a quote or the delimiter (before any other
/// character it is dropped). Blank lines are skipped.
pub struct CsvRecords<R: BufRead> {
    reader: R,
    delimiter: u8,
    /// The line the next record starts on.
    pub line: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> CsvRecords<R> {
    pub fn new(reader: R, delimiter: u8) -> Self {
        CsvRecords {
            reader,
            delimiter,
            line: 1,
            buf: Vec::new(),
        }
    }

    /// The next record and the line it starts on; `Err` is (line, what is wrong).
    #[allow(clippy::type_complexity)]
    pub fn next_record(&mut self) -> Option<Result<(usize, Vec<String>), (usize, String)>> {
        loop {
            self.buf.clear();
            let start = self.line;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err((start, e.to_string()))),
            }
            self.line += 1;
            if self.buf.iter().all(|c| matches!(c, b'\n' | b'\r')) {
                continue;
            }
            return Some(self.parse(start).map(|r| (start, r)));
        }
    }

    /// At a backslash at `i`: pushes the escaped character when it is a backslash, a quote or
    /// the delimiter, and says how many bytes were read (a lone backslash is dropped).
    fn unescape(&self, i: usize, field: &mut Vec<u8>) -> usize {
        match self.buf.get(i + 1) {
            Some(&n) if n == b'\\' || n == b'"' || n == self.delimiter => {
                field.push(n);
                2
            }
            _ => 1,
        }
    }

    fn parse(&mut self, start: usize) -> Result<Vec<String>, (usize, String)> {
        let d = self.delimiter;
        let mut fields = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut i = 0;
        // At the start of a field.
        let mut fresh = true;
        loop {
            if i >= self.buf.len() {
                break;
            }
            let c = self.buf[i];
            if fresh && c == b'"' {
                // A quoted field, possibly over several lines.
                i += 1;
                loop {
                    if i >= self.buf.len() {
                        let before = self.buf.len();
                        match self.reader.read_until(b'\n', &mut self.buf) {
                            Ok(0) => {
                                return Err((
                                    start,
                                    "malformed CSV row: a quoted field is not closed".into(),
                                ))
                            }
                            Ok(_) => self.line += 1,
                            Err(e) => return Err((start, e.to_string())),
                        }
                        debug_assert!(self.buf.len() > before);
                        continue;
                    }
                    let q = self.buf[i];
                    if q == b'"' {
                        if self.buf.get(i + 1) == Some(&b'"') {
                            field.push(b'"');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    if q == b'\\' {
                        i += self.unescape(i, &mut field);
                        continue;
                    }
                    field.push(q);
                    i += 1;
                }
                // After the closing quote: a delimiter or the end of the record.
                match self.buf.get(i) {
                    None | Some(b'\n') => {}
                    Some(b'\r') if matches!(self.buf.get(i + 1), None | Some(b'\n')) => {}
                    Some(&c) if c == d => {}
                    Some(&c) => {
                        return Err((
                            self.line - 1,
                            format!(
                                "malformed CSV row: {:?} after a closing quote (a quote inside a quoted field is written \"\")",
                                c as char
                            ),
                        ))
                    }
                }
                fresh = false;
                continue;
            }
            fresh = false;
            if c == d {
                fields.push(String::from_utf8_lossy(&field).into_owned());
                field.clear();
                fresh = true;
                i += 1;
                // A delimiter at the very end leaves an empty last field.
                if i >= self.buf.len() || self.buf[i] == b'\n' || self.buf[i..] == *b"\r\n" {
                    fields.push(String::new());
                    return Ok(fields);
                }
                continue;
            }
            if c == b'\n' || (c == b'\r' && matches!(self.buf.get(i + 1), None | Some(b'\n'))) {
                break;
            }
            // "You can preserve double quotes by repeating them", in unquoted fields too
            // (AWS's own example: `{""MyKey"":""MyValue""}`).
            if c == b'"' && self.buf.get(i + 1) == Some(&b'"') {
                field.push(b'"');
                i += 2;
                continue;
            }
            if c == b'"' {
                return Err((
                    start,
                    "malformed CSV row: a quote inside an unquoted field (quote the whole field)"
                        .into(),
                ));
            }
            if c == b'\\' {
                i += self.unescape(i, &mut field);
                continue;
            }
            field.push(c);
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&field).into_owned());
        Ok(fields)
    }
}

/// CSV rows as objects keyed by the headers; every value a string. A row with fewer fields
/// than headers gets empty strings, one with more has the extra fields dropped.
struct CsvItems {
    records: CsvRecords<BufReader<Box<dyn Read>>>,
    name: String,
    headers: Vec<String>,
    done: bool,
}

impl CsvItems {
    fn open(
        source: Source,
        delimiter: u8,
        given: Option<Vec<String>>,
    ) -> Result<CsvItems, Failure> {
        let Source { name, reader } = source;
        let mut records = CsvRecords::new(reader, delimiter);
        let headers = match given {
            Some(h) => h,
            None => match records.next_record() {
                None => Vec::new(),
                Some(Ok((_, h))) => h,
                Some(Err((line, e))) => return Err(failed(format!("{name}, line {line}: {e}"))),
            },
        };
        let mut seen = HashSet::new();
        if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
            return Err(failed(format!(
                "{name}: CSV headers cannot contain duplicates ({dup:?} appears twice)"
            )));
        }
        Ok(CsvItems {
            records,
            name,
            headers,
            done: false,
        })
    }
}

impl Iterator for CsvItems {
    type Item = Result<Value, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.records.next_record()? {
            Ok((_, fields)) => {
                let mut m = Map::with_capacity(self.headers.len());
                let mut fields = fields.into_iter();
                for h in &self.headers {
                    m.insert(h.clone(), Value::String(fields.next().unwrap_or_default()));
                }
                Some(Ok(Value::Object(m)))
            }
            Err((line, e)) => {
                self.done = true;
                Some(Err(failed(format!("{}, line {line}: {e}", self.name))))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// S3 inventory manifest

fn manifest(buckets: &Buckets, bucket: &str, mut source: Source) -> Result<Items, Failure> {
    let mut text = String::new();
    source
        .reader
        .read_to_string(&mut text)
        .map_err(|e| source.io(e))?;
    let m: Value = serde_json::from_str(&text).map_err(|e| {
        failed(format!(
            "{}, line {}: the manifest is not valid JSON: {e}",
            source.name,
            e.line()
        ))
    })?;
    let bad = |what: &str| {
        failed(format!(
            "{}: not an S3 inventory manifest: {what}",
            source.name
        ))
    };
    match m.get("fileFormat").and_then(|f| f.as_str()) {
        Some("CSV") | None => {}
        Some(other) => {
            return Err(bad(&format!(
                "fileFormat {other:?} (asl reads CSV inventories)"
            )))
        }
    }
    let schema: Vec<String> = m
        .get("fileSchema")
        .and_then(|s| s.as_str())
        .ok_or_else(|| bad("no fileSchema"))?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let files: Vec<String> = m
        .get("files")
        .and_then(|f| f.as_array())
        .ok_or_else(|| bad("no files"))?
        .iter()
        .filter_map(|f| f.get("key").and_then(|k| k.as_str()).map(String::from))
        .collect();
    // The data files are in the destination bucket (`arn:aws:s3:::NAME`) when it is
    // configured here, else beside the manifest.
    let data_bucket = m
        .get("destinationBucket")
        .and_then(|b| b.as_str())
        .map(|b| b.rsplit(':').next().unwrap_or(b).to_string())
        .filter(|b| buckets.dir(b).is_some())
        .unwrap_or_else(|| bucket.to_string());
    let buckets = buckets.clone();
    let mut files = files.into_iter();
    let mut current: Option<CsvItems> = None;
    Ok(Box::new(std::iter::from_fn(move || loop {
        if let Some(c) = current.as_mut() {
            match c.next() {
                Some(item) => return Some(item),
                None => current = None,
            }
        }
        let key = files.next()?;
        let name = format!("s3://{data_bucket}/{key}");
        let mut path = match object_path(&buckets, &data_bucket, &key) {
            Ok(p) => p,
            Err(e) => return Some(Err(failed(format!("Cannot read {name}: {e}")))),
        };
        // A data file someone unzipped beside its name (as older asl asked) is read as it is.
        let mut gzipped = key.ends_with(".gz");
        if gzipped && !path.exists() && path.with_extension("").exists() {
            path = path.with_extension("");
            gzipped = false;
        }
        let file = match open_file(&name, &path) {
            Ok(f) => f,
            Err(e) => return Some(Err(e)),
        };
        // S3 Inventory writes its CSV data files gzipped (`.csv.gz`).
        let reader: Box<dyn Read> = if gzipped {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let source = Source {
            name: format!("{name} ({})", path.display()),
            reader: BufReader::with_capacity(64 * 1024, reader),
        };
        match CsvItems::open(source, b',', Some(schema.clone())) {
            Ok(c) => current = Some(c),
            Err(e) => return Some(Err(e)),
        }
    })))
}

// ---------------------------------------------------------------------------------------------
// listObjectsV2

fn list_objects(buckets: &Buckets, bucket: &str, prefix: &str) -> Result<Items, Failure> {
    let Some(dir) = buckets.dir(bucket) else {
        return Err(failed(format!(
            "Cannot list s3://{bucket}/{prefix}: the bucket {bucket:?} is not configured: run with --bucket {bucket}=DIR"
        )));
    };
    let dir = dir.to_path_buf();
    if !dir.is_dir() {
        return Err(failed(format!(
            "Cannot list s3://{bucket}/{prefix}: the bucket's directory {} does not exist",
            dir.display()
        )));
    }
    // Keys only (the listing is sorted, as S3 lists by key); each object is read when its
    // item is produced.
    let mut keys = Vec::new();
    let mut stack = vec![(dir.clone(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| {
            failed(format!(
                "Cannot list s3://{bucket}/{prefix} ({}): {e}",
                d.display()
            ))
        })?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let key = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                // Descend only where keys can still match the prefix.
                let as_prefix = format!("{key}/");
                if as_prefix.starts_with(prefix) || prefix.starts_with(&as_prefix) {
                    stack.push((e.path(), key));
                }
            } else if key.starts_with(prefix) {
                keys.push(key);
            }
        }
    }
    keys.sort();
    let bucket = bucket.to_string();
    Ok(Box::new(keys.into_iter().map(move |key| {
        let path = dir.join(&key);
        let name = format!("s3://{bucket}/{key}");
        let mut file = open_file(&name, &path)?;
        let meta = file
            .metadata()
            .map_err(|e| failed(format!("Cannot read {name}: {e}")))?;
        let mut ctx = <md5::Md5 as md5::Digest>::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| failed(format!("Cannot read {name}: {e}")))?;
            if n == 0 {
                break;
            }
            md5::Digest::update(&mut ctx, &buf[..n]);
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(json!({
            "Etag": format!("\"{}\"", hex(&md5::Digest::finalize(ctx))),
            "Key": key,
            "LastModified": modified,
            "Size": meta.len(),
            "StorageClass": "STANDARD",
        }))
    })))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::InputType;

    fn dir_with(files: &[(&str, &str)]) -> (tempdir::Dir, Buckets) {
        let d = tempdir::Dir::new();
        for (k, body) in files {
            let p = d.0.join(k);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        let mut b = Buckets::default();
        b.insert("b", d.0.clone());
        (d, b)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "asl-items-{}-{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn req(t: InputType, key: &str) -> ReadRequest {
        ReadRequest {
            list_objects: false,
            input_type: Some(t),
            bucket: "b".into(),
            key: key.into(),
            csv_headers: None,
            csv_delimiter: b',',
            items_pointer: None,
        }
    }

    fn all(b: &Buckets, r: &ReadRequest) -> Result<Vec<Value>, Failure> {
        open(b, r)?.collect()
    }

    #[test]
    fn json_arrays_stream_at_a_pointer() {
        let (_d, b) = dir_with(&[
            ("a.json", "[1, \"two\", {\"x\": [3, \"]\"]}, null]"),
            (
                "nested.json",
                "{\"meta\": {\"n\": [1,2]}, \"data\": {\"skip\": \"[,]\", \"items\": [{\"id\": 1},\n{\"id\": 2}]}}",
            ),
            ("obj.json", "{\"a\": 1}"),
            ("idx.json", "[[0], [1, 2]]"),
        ]);
        assert_eq!(
            all(&b, &req(InputType::Json, "a.json")).unwrap(),
            vec![json!(1), json!("two"), json!({"x": [3, "]"]}), json!(null)]
        );
        let mut r = req(InputType::Json, "nested.json");
        r.items_pointer = Some("/data/items".into());
        assert_eq!(
            all(&b, &r).unwrap(),
            vec![json!({"id": 1}), json!({"id": 2})]
        );
        let mut r = req(InputType::Json, "idx.json");
        r.items_pointer = Some("/1".into());
        assert_eq!(all(&b, &r).unwrap(), vec![json!(1), json!(2)]);
        let e = all(&b, &req(InputType::Json, "obj.json")).unwrap_err();
        assert_eq!(e.error, "States.ItemReaderFailed");
        assert!(e.cause.contains("s3://b/obj.json"), "{}", e.cause);
        assert!(e.cause.contains("line 1"), "{}", e.cause);
        let mut r = req(InputType::Json, "nested.json");
        r.items_pointer = Some("/meta".into());
        let e = all(&b, &r).unwrap_err();
        assert!(e.cause.contains("must be a JSON array"), "{}", e.cause);
    }

    #[test]
    fn json_errors_name_the_line() {
        let (_d, b) = dir_with(&[("bad.json", "[\n1,\n2,\n{oops}\n]")]);
        let items: Vec<_> = open(&b, &req(InputType::Json, "bad.json"))
            .unwrap()
            .collect();
        assert_eq!(items.len(), 3);
        let e = items[2].as_ref().unwrap_err();
        assert!(e.cause.contains("line 4"), "{}", e.cause);
    }

    #[test]
    fn json_lines() {
        let (_d, b) = dir_with(&[("a.jsonl", "{\"a\":1}\n\n[2]\n\"x\"\nnot json\n")]);
        let items: Vec<_> = open(&b, &req(InputType::Jsonl, "a.jsonl"))
            .unwrap()
            .collect();
        assert_eq!(items[0].as_ref().unwrap(), &json!({"a": 1}));
        assert_eq!(items[2].as_ref().unwrap(), &json!("x"));
        let e = items[3].as_ref().unwrap_err();
        assert!(e.cause.contains("line 5"), "{}", e.cause);
    }

    #[test]
    fn csv_rules() {
        let (_d, b) = dir_with(&[
            (
                "a.csv",
                "id,name,note\r\n1,Ann,\"has, comma\"\n2,\"Bo \"\"B\"\"\",\"two\nlines\"\n3,short\n4,a,b,extra\n5,C:\\\\dir\\,x,\\q\n",
            ),
            ("bad.csv", "a,b\n1,2\n3,\"x\"y\n"),
            ("dup.csv", "a,a\n1,2\n"),
            ("semi.csv", "1;2\n3;4\n"),
            // The example of AWS's "How Step Functions parses input CSV files".
            (
                "doc.csv",
                "abc,123,\"This string contains commas, a double quotation marks (\"\"), and a newline (\n)\",{\"\"MyKey\"\":\"\"MyValue\"\"},\"[1,2,3]\"\n",
            ),
        ]);
        let items = all(&b, &req(InputType::Csv, "a.csv")).unwrap();
        assert_eq!(
            items,
            vec![
                json!({"id": "1", "name": "Ann", "note": "has, comma"}),
                json!({"id": "2", "name": "Bo \"B\"", "note": "two\nlines"}),
                json!({"id": "3", "name": "short", "note": ""}),
                json!({"id": "4", "name": "a", "note": "b"}),
                json!({"id": "5", "name": "C:\\dir,x", "note": "q"}),
            ]
        );
        let items: Vec<_> = open(&b, &req(InputType::Csv, "bad.csv")).unwrap().collect();
        let e = items[1].as_ref().unwrap_err();
        assert!(e.cause.contains("s3://b/bad.csv"), "{}", e.cause);
        assert!(e.cause.contains("line 3"), "{}", e.cause);
        let e = all(&b, &req(InputType::Csv, "dup.csv")).unwrap_err();
        assert!(e.cause.contains("duplicates"), "{}", e.cause);
        let mut r = req(InputType::Csv, "doc.csv");
        r.csv_headers = Some(["l", "n", "s", "o", "a"].map(String::from).to_vec());
        assert_eq!(
            all(&b, &r).unwrap(),
            vec![json!({"l": "abc", "n": "123",
                "s": "This string contains commas, a double quotation marks (\"), and a newline (\n)",
                "o": "{\"MyKey\":\"MyValue\"}", "a": "[1,2,3]"})]
        );
        let mut r = req(InputType::Csv, "semi.csv");
        r.csv_delimiter = b';';
        r.csv_headers = Some(vec!["x".into(), "y".into()]);
        assert_eq!(
            all(&b, &r).unwrap(),
            vec![json!({"x": "1", "y": "2"}), json!({"x": "3", "y": "4"})]
        );
    }

    #[test]
    fn missing_objects_and_buckets() {
        let (_d, b) = dir_with(&[]);
        let e = all(&b, &req(InputType::Json, "nope.json")).unwrap_err();
        assert!(e.cause.contains("s3://b/nope.json"), "{}", e.cause);
        assert!(e.cause.contains("does not exist"), "{}", e.cause);
        let mut r = req(InputType::Json, "x.json");
        r.bucket = "other".into();
        let e = all(&b, &r).unwrap_err();
        assert!(e.cause.contains("--bucket other=DIR"), "{}", e.cause);
    }

    #[test]
    fn inventory_manifests_and_listings() {
        let (_d, b) = dir_with(&[
            (
                "inv/manifest.json",
                "{\"sourceBucket\": \"src\", \"destinationBucket\": \"arn:aws:s3:::b\", \"fileFormat\": \"CSV\", \"fileSchema\": \"Bucket, Key, Size\", \"files\": [{\"key\": \"inv/data/1.csv\"}, {\"key\": \"inv/data/2.csv\"}]}",
            ),
            ("inv/data/1.csv", "\"src\",\"a.txt\",\"3\"\n"),
            ("inv/data/2.csv", "\"src\",\"b.txt\",\"4\"\n"),
            ("logs/b.txt", "bb"),
            ("logs/a.txt", "a"),
            ("other/c.txt", "c"),
        ]);
        let items = all(&b, &req(InputType::Manifest, "inv/manifest.json")).unwrap();
        assert_eq!(
            items,
            vec![
                json!({"Bucket": "src", "Key": "a.txt", "Size": "3"}),
                json!({"Bucket": "src", "Key": "b.txt", "Size": "4"}),
            ]
        );
        let r = ReadRequest {
            list_objects: true,
            input_type: None,
            bucket: "b".into(),
            key: "logs/".into(),
            csv_headers: None,
            csv_delimiter: b',',
            items_pointer: None,
        };
        let items = all(&b, &r).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["Key"], "logs/a.txt");
        assert_eq!(items[0]["Size"], 1);
        assert_eq!(items[0]["Etag"], "\"0cc175b9c0f1b6a831c399e269772661\"");
        assert_eq!(items[1]["Key"], "logs/b.txt");
        assert_eq!(items[1]["StorageClass"], "STANDARD");
    }
}
