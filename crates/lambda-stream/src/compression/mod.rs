//! Compression of large values, as the Node library writes and reads it.
//!
//! `aws-lambda-stream` 1.0 publishes (EventBridge, Kinesis, Firehose) with a `JSON.stringify`
//! replacer: every value below the top level, array items included, whose `object-sizeof`
//! estimate is over `compressionThreshold` (and whose name is not in `compressionIgnore`)
//! becomes the string `"COMPRESSED" + base64(gzip(JSON))`. Its readers parse with a reviver
//! that puts the value back. Node's flavors set the threshold to 10 KB
//! (`COMPRESSION_THRESHOLD`), so any large menu or order a Node service publishes arrives this
//! way.
//!
//! - **Reading** ([`decompress`]): every source's envelope JSON goes through it before a step
//!   (or a filter, `entity()`, a fault's `uow.event`) sees it; a claim check's stored event
//!   too. Compressed values inside compressed values are undone as well. A value that starts
//!   with the marker but is not base64, gzip or JSON is a [`DecompressError`] naming the value
//!   (the record becomes a fault), and the decompressed text of one record is capped at
//!   [`MAX_DECOMPRESSED_BYTES`], so a gzip bomb is a fault rather than an out-of-memory kill.
//!   Records without the marker cost one SIMD search for `"COMPRESSED`.
//! - **Writing** ([`Compression`]): the `publish` step compresses like Node when a pipeline or
//!   the environment asks (`compressionThreshold`, `compressionIgnore`; see
//!   [`Compression::from_lookup`]). It is off by default: a compressed value is opaque to the
//!   hub's rules (content filters on the entity), to the event lake's readers and to any
//!   consumer that is not the Node library or this one, while claim checks already carry
//!   events over a channel's limit. Turn it on (`COMPRESSION_THRESHOLD=10240`, Node's value) to
//!   make what a service publishes the same size as Node's.
//!
//! The size estimate is `object-sizeof` 2.6's under Node: a string counts
//! `12 + 4 * ceil(length / 4)` (length in UTF-16 units), a number 8, a boolean 4, `null` 0,
//! and an object or array the UTF-8 bytes of its JSON (taken here from its text without the
//! whitespace between tokens, which is what `JSON.stringify` writes for JSON written the way
//! serde_json writes it). Strings that already carry the marker are left alone, so a value is
//! never compressed twice.

use std::fmt;
use std::io::{Read, Write};

use serde_json::value::RawValue;

use crate::json::tree::{self, Path, RewriteError, Visit};

/// The marker that starts a compressed value.
pub const COMPRESSION_PREFIX: &str = "COMPRESSED";

/// The most decompressed text one record may expand to (16 MiB: 64 times EventBridge's
/// 256 KB entry, and more than JSON compresses in practice); beyond it the record is a fault.
pub const MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// How many compressed values may sit inside one another.
const MAX_NESTING: usize = 8;

/// What the marker looks like as JSON text: a string that starts with it.
const QUOTED_PREFIX: &[u8] = b"\"COMPRESSED";

/// The search for the marker, built once: building it for every record cost as much as the
/// search itself on a 500-byte event (callgrind).
static MARKER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(QUOTED_PREFIX));

/// True when `text` (JSON) may hold a compressed value: one SIMD search.
pub fn may_hold_compressed(text: &str) -> bool {
    MARKER.find(text.as_bytes()).is_some()
}

/// A value that carries the marker but cannot be decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecompressError {
    path: String,
    reason: String,
}

impl DecompressError {
    /// Where the value is (`restaurant.menu[3]`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the value at `{}` starts with {COMPRESSION_PREFIX} but {}",
            self.path, self.reason
        )
    }
}

impl std::error::Error for DecompressError {}

/// `json` with every compressed value put back (nested ones too), or `None` when it holds
/// none. At most [`MAX_DECOMPRESSED_BYTES`] of decompressed text.
pub fn decompress(json: &str) -> Result<Option<String>, DecompressError> {
    decompress_within(json, MAX_DECOMPRESSED_BYTES)
}

/// [`decompress`] with another cap on the decompressed text.
pub fn decompress_within(json: &str, max_bytes: usize) -> Result<Option<String>, DecompressError> {
    if !may_hold_compressed(json) {
        return Ok(None);
    }
    let mut budget = max_bytes;
    decompress_nested(json, &mut budget, 0, "")
}

fn decompress_nested(
    json: &str,
    budget: &mut usize,
    nesting: usize,
    outer: &str,
) -> Result<Option<String>, DecompressError> {
    let at = |path: &Path| {
        if outer.is_empty() {
            path.to_string()
        } else if path.depth() == 0 {
            outer.to_string()
        } else {
            format!("{outer} > {path}")
        }
    };
    let result = tree::rewrite(json, &mut |path, value| {
        if !may_hold_compressed(value.get()) {
            return Ok(Visit::Keep);
        }
        let Some(text) = tree::as_str(value) else {
            return Ok(Visit::Descend);
        };
        let Some(encoded) = text.strip_prefix(COMPRESSION_PREFIX) else {
            return Ok(Visit::Keep);
        };
        let fail = |reason: String| DecompressError {
            path: at(path),
            reason,
        };
        if nesting >= MAX_NESTING {
            return Err(fail(format!(
                "it is compressed more than {MAX_NESTING} times over"
            )));
        }
        let plain = inflate(encoded, budget).map_err(fail)?;
        if let Err(e) = serde_json::from_str::<&RawValue>(&plain) {
            return Err(fail(format!("its content is not JSON: {e}")));
        }
        let here = at(path);
        Ok(Visit::Replace(
            match decompress_nested(&plain, budget, nesting + 1, &here)? {
                Some(inner) => inner,
                None => plain,
            },
        ))
    });
    match result {
        Ok(out) => Ok(out),
        Err(RewriteError::Visitor(error)) => Err(error),
        // The caller parses the text anyway and reports what is wrong with it.
        Err(RewriteError::Syntax(_)) => Ok(None),
    }
}

/// base64, then gzip, then UTF-8, taking what is inflated from `budget`.
fn inflate(encoded: &str, budget: &mut usize) -> Result<String, String> {
    let bytes = base64_simd::STANDARD
        .decode_to_vec(encoded)
        .or_else(|_| base64_simd::forgiving_decode_to_vec(encoded.as_bytes()))
        .map_err(|e| format!("is not base64: {e}"))?;
    // Node's gunzip reads concatenated members too.
    let decoder = flate2::read::MultiGzDecoder::new(bytes.as_slice());
    let mut out = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("is not gzip: {e}"))?;
    if out.len() > *budget {
        return Err(format!(
            "expands to more than {MAX_DECOMPRESSED_BYTES} bytes in all (a gzip bomb?)"
        ));
    }
    *budget -= out.len();
    String::from_utf8(out).map_err(|_| "does not decompress to UTF-8 text".to_string())
}

/// Compression on publish: Node's `compressionThreshold` and `compressionIgnore`.
///
/// ```
/// use lambda_stream::compression::{Compression, decompress};
///
/// let menu: Vec<_> = (0..400).map(|i| serde_json::json!({"id": i, "name": "Margherita pizza"})).collect();
/// let event = serde_json::json!({"id": "1", "type": "menu-updated", "timestamp": 1, "menu": menu}).to_string();
/// let sent = Compression::threshold(10 * 1024).compress(&event)?.expect("the menu is over 10 KB");
/// assert!(sent.contains(r#""menu":"COMPRESSEDH4sI"#));
/// assert_eq!(decompress(&sent)?.as_deref(), Some(event.as_str()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    threshold: usize,
    ignore: Vec<String>,
}

impl Compression {
    /// The threshold Node's flavors use (`compressionThreshold`, 10 KB of estimate).
    pub const NODE_THRESHOLD: usize = 10 * 1024;

    /// Values whose estimated size is over `bytes` are compressed (`compressionThreshold`).
    pub fn threshold(bytes: usize) -> Self {
        Self {
            threshold: bytes,
            ignore: Vec::new(),
        }
    }

    /// Values of these names are never compressed (`compressionIgnore`), whatever their size
    /// (what is inside them still may be).
    #[must_use]
    pub fn ignore<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore.extend(names.into_iter().map(Into::into));
        self
    }

    /// The threshold.
    pub fn threshold_bytes(&self) -> usize {
        self.threshold
    }

    /// The names never compressed.
    pub fn ignored(&self) -> &[String] {
        &self.ignore
    }

    /// From `COMPRESSION_THRESHOLD` (bytes of estimate, Node's variable) and
    /// `COMPRESSION_IGNORE` (comma-separated names); `None` when the threshold is not set,
    /// and an error naming the variable when it is not a number.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let Some(threshold) = lookup("COMPRESSION_THRESHOLD").filter(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        let threshold = threshold.trim().parse::<usize>().map_err(|_| {
            format!("COMPRESSION_THRESHOLD is not a number of bytes: `{threshold}`")
        })?;
        let ignore = lookup("COMPRESSION_IGNORE").unwrap_or_default();
        Ok(Some(
            Self::threshold(threshold).ignore(
                ignore
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            ),
        ))
    }

    /// `json` (an event) with its large values compressed, or `None` when none is over the
    /// threshold.
    pub fn compress(&self, json: &str) -> Result<Option<String>, serde_json::Error> {
        // Nothing inside a value can be estimated larger than its text plus a string's 13
        // bytes of overhead: a small event is left as it is without being read.
        if json.len().saturating_add(13) <= self.threshold {
            return Ok(None);
        }
        let result = tree::rewrite::<std::io::Error>(json, &mut |path, value| {
            let Some(name) = path.name() else {
                return Ok(Visit::Descend); // the event itself is never compressed
            };
            if value.get().len().saturating_add(13) <= self.threshold {
                return Ok(Visit::Keep);
            }
            let ignored = name.is_empty() || self.ignore.iter().any(|n| *n == name);
            if ignored || estimated_size(value) <= self.threshold {
                return Ok(Visit::Descend);
            }
            if tree::as_str(value).is_some_and(|s| s.starts_with(COMPRESSION_PREFIX)) {
                return Ok(Visit::Keep);
            }
            Ok(Visit::Replace(tree::string_literal(&format!(
                "{COMPRESSION_PREFIX}{}",
                gzip_base64(&tree::minified(value.get()))?
            ))))
        });
        match result {
            Ok(out) => Ok(out),
            Err(RewriteError::Syntax(e)) => Err(e),
            Err(RewriteError::Visitor(e)) => Err(serde_json::Error::io(e)),
        }
    }
}

fn gzip_base64(text: &str) -> Result<String, std::io::Error> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes())?;
    let zipped = encoder.finish()?;
    Ok(base64_simd::STANDARD.encode_to_string(zipped))
}

/// Node's `object-sizeof` estimate of a JSON value (see the [module docs](self)).
pub fn estimated_size(value: &RawValue) -> usize {
    match tree::first_byte(value) {
        b'"' => {
            let units = tree::as_str(value).map_or(0, |s| s.encode_utf16().count());
            12 + 4 * units.div_ceil(4)
        }
        b'{' | b'[' => tree::minified_len(value.get()),
        b't' | b'f' => 4,
        b'n' => 0,
        _ => 8,
    }
}

#[cfg(test)]
mod tests;
