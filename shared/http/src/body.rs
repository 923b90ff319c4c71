//! Reading a request body the way Segment clients send it: maybe gzip-compressed, JSON, within
//! the size limits. Each refusal names the problem.

use std::borrow::Cow;
use std::io::Read;

use axum::http::HeaderMap;
use bytes::Bytes;
use vitals_core::ingest::{RequestError, MAX_BATCH_BYTES};

use crate::error::ApiError;

/// Largest request accepted on the wire (compressed or not), before parsing.
pub const MAX_REQUEST_BYTES: usize = MAX_BATCH_BYTES + 64 * 1024;

/// Decompresses (when `Content-Encoding: gzip`), checks size, UTF-8 and emptiness; the JSON
/// itself is parsed by the core's request parsers, which name the problem.
pub fn body_text<'a>(headers: &HeaderMap, raw: &'a Bytes) -> Result<Cow<'a, str>, ApiError> {
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .map(|v| v.to_str().map(|v| v.trim().to_ascii_lowercase()))
        .transpose()
        .map_err(|_| {
            ApiError::UnsupportedMediaType("Content-Encoding is not readable text".into())
        })?;
    match encoding.as_deref() {
        None | Some("") | Some("identity") => checked_text(Cow::Borrowed(raw.as_ref())),
        Some("gzip") | Some("x-gzip") => checked_text(Cow::Owned(gunzip_limited(raw)?)),
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {:?} is not supported; use gzip or none",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

/// Size, UTF-8 and emptiness checks of an (already decompressed) body.
pub fn checked_text(bytes: Cow<'_, [u8]>) -> Result<Cow<'_, str>, ApiError> {
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "request body is {} bytes; the limit is {MAX_BATCH_BYTES}",
            bytes.len()
        )));
    }
    let text = match bytes {
        Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).map_err(utf8_error)?),
        Cow::Owned(b) => Cow::Owned(String::from_utf8(b).map_err(|e| utf8_error(e.utf8_error()))?),
    };
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "body is empty; expected a JSON object".into(),
        ));
    }
    Ok(text)
}

fn utf8_error(e: std::str::Utf8Error) -> ApiError {
    ApiError::BadRequest(format!(
        "body is not valid UTF-8 (at byte {})",
        e.valid_up_to()
    ))
}

/// Maps the core's whole-request refusals to HTTP.
pub fn request_error(e: RequestError) -> ApiError {
    match e {
        RequestError::Invalid(m) => ApiError::BadRequest(m),
        RequestError::TooLarge(m) => ApiError::PayloadTooLarge(m),
    }
}

/// Gunzips at most the batch limit (+1 byte, to tell "too large"), so a small compressed body
/// cannot expand without bound.
pub fn gunzip_limited(raw: &[u8]) -> Result<Vec<u8>, ApiError> {
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
