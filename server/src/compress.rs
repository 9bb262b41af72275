//! Compressing the pages and JSON answers the server renders, in one shot.
//!
//! A page is a few kilobytes. `tower_http`'s streaming brotli encoder sets up
//! a 4 MiB window and its hash tables for each response whatever its size, and
//! under load that setup was a quarter of the landing page's CPU time (a
//! profile of the bench's landing load): 0.5 ms to compress a 5 KB page. Here
//! a rendered page is gathered (it is small, and the streaming encoder held
//! it back until it ended anyway) and compressed with a window fitted to it:
//! the same bytes for a third of the time.
//!
//! A rendered page then goes as gzip whenever the client takes gzip, brotli
//! only when it takes nothing else: on the pages themselves (3–10 KB)
//! brotli at quality 4, the most it can afford on every request, comes out
//! 4–8 % smaller than gzip and takes 2.3 times zlib's CPU (the card: 3,166
//! bytes in 137 µs against 3,311 in 60 µs). On the card at the till that CPU
//! was a fifth of the server's time; 145 bytes are under 1 ms on slow 4G.
//! The gzip is libdeflate's, which compresses a whole buffer in one call:
//! the card in 42 µs and 3,234 bytes, at the same level 6.
//! The bundle, which is most of a first visit, stays brotli, precompressed
//! at the highest quality once.
//!
//! A body under 512 bytes goes as it is, and is marked so that the streaming
//! `CompressionLayer` outside this one leaves it too. Anything else — the
//! bundle, which is precompressed; CSV exports; a body that turns out larger
//! than [`GATHER_LIMIT`] — passes through untouched and is compressed,
//! streaming, by that layer.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::stream::{self, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};

/// A body larger than this is handed on, streaming, as it came.
pub const GATHER_LIMIT: usize = 256 * 1024;

/// Below this a body goes as it is: it fits in one packet either way.
const WORTH_COMPRESSING: usize = 512;

/// What the server renders itself and sends in one piece.
const RENDERED: [&str; 3] = ["text/html", "application/json", "application/problem+json"];

/// Set on a response this layer has settled (compressed, or left as it is
/// because it is too small): the streaming `CompressionLayer` outside leaves
/// it alone, see [`not_settled`].
#[derive(Debug, Clone, Copy)]
struct Settled;

/// `CompressionLayer`'s predicate, beside its default one: a response this
/// layer settled is not compressed again on the way out.
pub fn not_settled(
    _: http::StatusCode,
    _: http::Version,
    _: &HeaderMap,
    extensions: &http::Extensions,
) -> bool {
    extensions.get::<Settled>().is_none()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        })
    }
}

/// The coding to answer a rendered page with: gzip when the client takes
/// it, else brotli, else none (the module's note says why gzip first). A
/// coding listed with `q=0` is refused, as RFC 9110 says.
pub fn negotiate(headers: &HeaderMap) -> Option<Coding> {
    let mut brotli = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            if name.eq_ignore_ascii_case("br") {
                brotli = true;
            } else if name.eq_ignore_ascii_case("gzip") {
                gzip = true;
            }
        }
    }
    if gzip {
        Some(Coding::Gzip)
    } else if brotli {
        Some(Coding::Brotli)
    } else {
        None
    }
}

/// `data` compressed as `coding` says.
pub fn encode(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match coding {
        Coding::Brotli => {
            // Quality 4, the level `tower_http` and nginx use on the fly, with
            // the window fitted to the page: the hash tables and ring buffer
            // are sized by it, so a 5 KB page no longer sets up 4 MiB.
            let params = brotli::enc::BrotliEncoderParams {
                quality: 4,
                lgwin: window_bits(data.len()),
                size_hint: data.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(data.len() / 2);
            brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
            Ok(out)
        }
        Coding::Gzip => {
            // One call over the whole page, at level 6 (the module's note
            // gives the figures): the page is whole here, so no stream.
            let mut compressor =
                libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
            let mut out = vec![0; compressor.gzip_compress_bound(data.len())];
            let len = compressor
                .gzip_compress(data, &mut out)
                .map_err(std::io::Error::other)?;
            out.truncate(len);
            Ok(out)
        }
    }
}

/// The brotli window for `len` bytes: the smallest that holds them, between
/// 64 KiB (smaller windows cost more time here, not less) and brotli's 16 MiB.
fn window_bits(len: usize) -> i32 {
    let bits = usize::BITS - len.saturating_sub(1).leading_zeros();
    bits.clamp(16, 24) as i32
}

fn is_rendered(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| RENDERED.iter().any(|r| t.starts_with(r)))
}

/// The middleware: a rendered response the client can take compressed is
/// gathered and compressed in one shot; everything else passes.
pub async fn rendered_responses(req: Request, next: Next) -> Response {
    let coding = negotiate(req.headers());
    let response = next.run(req).await;
    let Some(coding) = coding else {
        return response;
    };
    let headers = response.headers();
    if !is_rendered(headers)
        || headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut body = body.into_data_stream();
    let mut gathered: Vec<Bytes> = Vec::new();
    let mut size = 0;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                size += chunk.len();
                gathered.push(chunk);
                if size > GATHER_LIMIT {
                    // Too large to hold: on as it came, streaming.
                    let head = stream::iter(gathered.into_iter().map(Ok::<_, axum::Error>));
                    return Response::from_parts(parts, Body::from_stream(head.chain(body)));
                }
            }
            Err(e) => {
                // What was rendered before the failure goes out, and then the
                // failure, as it would have without this layer.
                let head = gathered.into_iter().map(Ok::<_, axum::Error>);
                let failed = stream::iter(head.chain(std::iter::once(Err(e))));
                return Response::from_parts(parts, Body::from_stream(failed));
            }
        }
    }
    let whole: Bytes = match gathered.len() {
        1 => gathered.pop().unwrap_or_default(),
        _ => gathered.concat().into(),
    };
    if whole.len() < WORTH_COMPRESSING {
        parts.extensions.insert(Settled);
        return Response::from_parts(parts, Body::from(whole));
    }
    let compressed = match encode(coding, &whole) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "compression failed; sending the response as it is");
            return Response::from_parts(parts, Body::from(whole));
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, coding.header());
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Response::from_parts(parts, Body::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accepting(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn gzip_is_preferred_and_a_refused_coding_is_not_used() {
        assert_eq!(
            negotiate(&accepting("gzip, deflate, br, zstd")),
            Some(Coding::Gzip)
        );
        assert_eq!(negotiate(&accepting("br")), Some(Coding::Brotli));
        assert_eq!(
            negotiate(&accepting("gzip;q=0, br;q=0.5")),
            Some(Coding::Brotli)
        );
        assert_eq!(
            negotiate(&accepting("br;q=0, gzip;q=0.5")),
            Some(Coding::Gzip)
        );
        assert_eq!(negotiate(&accepting("br;q=0.0, gzip;q=0")), None);
        assert_eq!(negotiate(&accepting("identity")), None);
        assert_eq!(negotiate(&HeaderMap::new()), None);
    }

    #[test]
    fn what_is_compressed_decompresses_to_itself() {
        let page = "<p>山野小馆 会员权益</p>".repeat(400);
        let br = encode(Coding::Brotli, page.as_bytes()).unwrap();
        let mut back = String::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, page);
        assert!(br.len() * 10 < page.len(), "a repetitive page shrinks");

        let gz = encode(Coding::Gzip, page.as_bytes()).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, page);
    }

    #[test]
    fn the_window_fits_the_page() {
        assert_eq!(window_bits(0), 16);
        assert_eq!(window_bits(5_000), 16);
        assert_eq!(window_bits(65_536), 16);
        assert_eq!(window_bits(65_537), 17);
        assert_eq!(window_bits(GATHER_LIMIT), 18);
        assert_eq!(window_bits(usize::MAX), 24);
    }
}
