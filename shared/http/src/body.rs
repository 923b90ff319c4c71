//! Reading a request body the way Segment clients send it: maybe gzip-compressed, JSON, within
//! the size limits. Each refusal names the problem.

use std::io::Read;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::Value;
use vitals_core::ingest::MAX_BATCH_BYTES;

use crate::error::ApiError;

/// Largest request accepted on the wire (compressed or not), before parsing.
pub const MAX_REQUEST_BYTES: usize = MAX_BATCH_BYTES + 64 * 1024;

/// Decompresses (when `Content-Encoding: gzip`), checks size and UTF-8, and parses JSON.
pub fn json_body(headers: &HeaderMap, raw: &Bytes) -> Result<Value, ApiError> {
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let bytes: std::borrow::Cow<'_, [u8]> = match encoding.as_deref() {
        None | Some("") | Some("identity") => raw.as_ref().into(),
        Some("gzip") => gunzip_limited(raw)?.into(),
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {other:?} is not supported; use gzip or none"
            )))
        }
    };
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "request body is {} bytes; the limit is {MAX_BATCH_BYTES}",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "body is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "body is empty; expected a JSON object".into(),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "body is not valid JSON: {} at line {} column {}",
            classify(&e),
            e.line(),
            e.column()
        ))
    })
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected value",
        serde_json::error::Category::Io => "read error",
    }
}

/// Gunzips at most the batch limit (+1 byte, to tell "too large"), so a small compressed body
/// cannot expand without bound.
fn gunzip_limited(raw: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let limit = (MAX_BATCH_BYTES + 1) as u64;
    flate2::read::GzDecoder::new(raw)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| ApiError::BadRequest("body is not valid gzip".into()))?;
    if out.len() > MAX_BATCH_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "decompressed body exceeds the limit of {MAX_BATCH_BYTES} bytes"
        )));
    }
    Ok(out)
}
