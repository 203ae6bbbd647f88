//! The release site's hashed assets held in memory. tower-http's `ServeDir` opens, stats and
//! reads a file (and looks for its `.br` and `.gz` copies) through tokio's blocking pool on
//! every request: 12,000 files a second here, against 44,000 answers of a JSON route. A file
//! whose name carries its content hash never changes under that name, so it is read once at
//! start and answered from memory. Only the plain cases are answered here (a `GET`, with or
//! without `If-Modified-Since`); ranges, other conditional requests, `HEAD` and files written
//! after start go on to `ServeDir`, which answers them as before.

use axum::{
    body::{Body, Bytes},
    extract::Request,
    response::Response,
};
use http::{
    header::{
        ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_TYPE, IF_MATCH,
        IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE,
        VARY,
    },
    HeaderValue, Method, StatusCode,
};
use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// The directory under the site root whose file names carry content hashes.
const HASHED_DIR: &str = "pkg";

/// One file and its precompressed copies.
struct Asset {
    content_type: HeaderValue,
    /// Whole seconds, as HTTP dates carry them.
    modified: SystemTime,
    last_modified: HeaderValue,
    identity: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
}

/// The hashed assets by request path (`/pkg/…`).
#[derive(Default)]
pub struct AssetTable {
    assets: HashMap<String, Asset>,
}

impl AssetTable {
    /// Reads every file under `site_root/pkg` with its `.br` and `.gz` copies. A file that
    /// cannot be read is left to `ServeDir`.
    pub fn load(site_root: &Path) -> Self {
        let mut assets = HashMap::new();
        let Ok(entries) = std::fs::read_dir(site_root.join(HASHED_DIR)) else {
            return Self { assets };
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            if name.ends_with(".br") || name.ends_with(".gz") || !path.is_file() {
                continue;
            }
            let (Ok(identity), Ok(metadata)) = (std::fs::read(&path), entry.metadata()) else {
                continue;
            };
            let Ok(modified) = metadata.modified() else {
                continue;
            };
            let modified = whole_seconds(modified);
            let copy = |suffix: &str| {
                std::fs::read(format!("{}.{suffix}", path.display()))
                    .ok()
                    .map(Bytes::from)
            };
            let content_type = mime_guess::from_path(&path).first_or_octet_stream();
            let (Ok(content_type), Ok(last_modified)) = (
                HeaderValue::from_str(content_type.as_ref()),
                HeaderValue::from_str(&httpdate::fmt_http_date(modified)),
            ) else {
                continue;
            };
            assets.insert(
                format!("/{HASHED_DIR}/{name}"),
                Asset {
                    content_type,
                    modified,
                    last_modified,
                    identity: identity.into(),
                    br: copy("br"),
                    gzip: copy("gz"),
                },
            );
        }
        Self { assets }
    }

    /// How many files are held.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// The answer to `request` from memory, or `None` for `ServeDir` to give.
    pub fn answer(&self, request: &Request) -> Option<Response> {
        if request.method() != Method::GET {
            return None;
        }
        let headers = request.headers();
        let conditional = [
            RANGE,
            IF_RANGE,
            IF_MATCH,
            IF_NONE_MATCH,
            IF_UNMODIFIED_SINCE,
        ];
        if conditional.iter().any(|name| headers.contains_key(name)) {
            return None;
        }
        let asset = self.assets.get(request.uri().path())?;
        let mut response = Response::builder()
            .header(LAST_MODIFIED, asset.last_modified.clone())
            .header(ACCEPT_RANGES, "bytes");
        if asset.br.is_some() || asset.gzip.is_some() {
            response = response.header(VARY, "accept-encoding");
        }
        if let Some(since) = headers.get(IF_MODIFIED_SINCE) {
            let since = httpdate::parse_http_date(since.to_str().ok()?).ok()?;
            if asset.modified <= since {
                return response
                    .status(StatusCode::NOT_MODIFIED)
                    .body(Body::empty())
                    .ok();
            }
        }
        let accepted = headers
            .get(ACCEPT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let (encoding, body) = match (&asset.br, &asset.gzip) {
            (Some(br), _) if weight(accepted, "br") > 0.0 => (Some("br"), br.clone()),
            (_, Some(gzip)) if weight(accepted, "gzip") > 0.0 => (Some("gzip"), gzip.clone()),
            _ => (None, asset.identity.clone()),
        };
        if let Some(encoding) = encoding {
            response = response.header(CONTENT_ENCODING, encoding);
        }
        response
            .header(CONTENT_TYPE, asset.content_type.clone())
            .body(Body::from(body))
            .ok()
    }
}

/// The weight `Accept-Encoding` gives `coding` (0 when it is not named or refused).
fn weight(accepted: &str, coding: &str) -> f32 {
    accepted
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            if !name.eq_ignore_ascii_case(coding) {
                return None;
            }
            let q = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some(q)
        })
        .next()
        .unwrap_or(0.0)
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::weight;

    #[test]
    fn accept_encoding_weights() {
        assert_eq!(weight("br, gzip", "br"), 1.0);
        assert_eq!(weight("gzip;q=0.5, br;q=0", "br"), 0.0);
        assert_eq!(weight("gzip;q=0.5, br;q=0", "gzip"), 0.5);
        assert_eq!(weight("identity", "gzip"), 0.0);
        assert_eq!(weight("", "br"), 0.0);
    }
}
