//! The HTTPS listener and the steps every request passes before routing: TLS accept, HTTP/1.1
//! keep-alive connections (all cut at once on a restart), reading the body (with the 3 MiB
//! limit), recording, bearer-token authentication and fault injection. Also the response body
//! type, whole, streamed, or cut short by a fault.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{oneshot, watch};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;

use super::faults::Fault;
use super::status::{self, ApiError};
use super::{Recorded, Shared, lock, routes};

/// The API server's request body limit.
pub(super) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// A response body: one buffer, chunks from a channel until it closes or a deadline passes, or
/// another body cut short by a fault.
pub(super) enum Body {
    Full(Option<Bytes>),
    Stream {
        rx: UnboundedReceiver<Bytes>,
        deadline: Option<Pin<Box<Sleep>>>,
    },
    /// `inner` until `left` more bytes have gone out; then, after a `pause` that lets hyper
    /// flush what it has (headers included), an error, which makes hyper drop the connection
    /// without the terminating chunk (`abrupt`), or a clean end.
    Cut {
        inner: Box<Body>,
        left: usize,
        abrupt: bool,
        pause: Option<Pin<Box<Sleep>>>,
    },
}

/// How long a cut body waits, with nothing more to send, before it breaks.
const CUT_PAUSE: Duration = Duration::from_millis(20);

/// The error a `Body::Cut` ends with: hyper aborts the connection on it.
#[derive(Debug)]
pub(super) struct StreamCut;

impl std::fmt::Display for StreamCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response body cut by an injected fault")
    }
}

impl std::error::Error for StreamCut {}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream { rx, deadline } => {
                if let Some(d) = deadline
                    && d.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(None);
                }
                rx.poll_recv(cx)
                    .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
            }
            Body::Cut {
                inner,
                left,
                abrupt,
                pause,
            } => {
                if *left == 0 {
                    // Pending first: hyper flushes its buffer while the body has nothing to give.
                    let pause =
                        pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(CUT_PAUSE)));
                    if pause.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    return Poll::Ready(abrupt.then_some(Err(StreamCut)));
                }
                match Pin::new(inner.as_mut()).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        let Ok(mut data) = frame.into_data() else {
                            return Poll::Ready(None);
                        };
                        if data.len() > *left {
                            data.truncate(*left);
                        }
                        *left -= data.len();
                        Poll::Ready(Some(Ok(Frame::data(data))))
                    }
                    other => other,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            // Chunked, so that a cut shows as a broken body rather than a short one.
            Body::Stream { .. } | Body::Cut { .. } => SizeHint::default(),
        }
    }
}

fn response(code: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(super) fn json(code: u16, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).expect("a JSON value serialises");
    response(
        code,
        "application/json",
        Body::Full(Some(Bytes::from(bytes))),
    )
}

pub(super) fn text(text: String) -> Response<Body> {
    response(200, "text/plain", Body::Full(Some(Bytes::from(text))))
}

/// A chunked stream (watch, log follow) that ends when `rx` closes or after `timeout`.
pub(super) fn stream(
    content_type: &'static str,
    rx: UnboundedReceiver<Bytes>,
    timeout: Option<Duration>,
) -> Response<Body> {
    let deadline = timeout.map(|t| Box::pin(tokio::time::sleep(t)));
    response(200, content_type, Body::Stream { rx, deadline })
}

pub(super) fn error(e: &ApiError) -> Response<Body> {
    let mut resp = json(e.code, &e.body);
    if let Some(secs) = e.retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// A request body as read: the bytes, or too large (the rest is read and thrown away).
pub(super) enum RequestBody {
    Bytes(Bytes),
    TooLarge,
}

/// Reads the whole body; returns it (or TooLarge) and its real length.
async fn read_body(mut body: Incoming) -> Result<(RequestBody, usize), hyper::Error> {
    let mut buf = Vec::new();
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            len += data.len();
            if len <= MAX_BODY_BYTES {
                buf.extend_from_slice(&data);
            }
        }
    }
    let body = if len > MAX_BODY_BYTES {
        RequestBody::TooLarge
    } else {
        RequestBody::Bytes(Bytes::from(buf))
    };
    Ok((body, len))
}

/// Accepts connections until dropped. Every connection ends, abruptly, when `cut` turns true
/// (or its sender goes away): that is how a restart closes open watches and log streams.
pub(super) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
    cut: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of file descriptors and the like: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = Arc::clone(&shared);
        let mut cut = cut.clone();
        tokio::spawn(async move {
            let connection = async move {
                // A client that does not trust our CA fails here; nothing to record.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req| handle(Arc::clone(&shared), req));
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            };
            // Dropping the connection future closes the socket mid-whatever, with no TLS
            // close_notify and no terminating chunk, as a process that goes away does.
            tokio::select! {
                () = connection => {}
                _ = cut.wait_for(|cut| *cut) => {}
            }
        });
    }
}

fn bearer(req: &Request<Incoming>) -> Option<String> {
    let value = req
        .headers()
        .get(hyper::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let token = bearer(&req);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let user_agent = req
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let read = read_body(body).await;
    lock(&shared.requests).push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        token: token.clone(),
        content_type: content_type.clone(),
        user_agent,
        body_len: read.as_ref().map_or(0, |(_, len)| *len),
    });
    // The client went away mid-body: nobody to answer.
    let Ok((body, _)) = read else {
        return Err(Dropped);
    };
    let authorized = token
        .as_ref()
        .is_some_and(|t| lock(&shared.state).tokens.contains(t));
    if !authorized {
        return Ok(error(&status::unauthorized()));
    }
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string);
    let fault = lock(&shared.faults).pick(parts.method.as_str(), &target);
    let after = match fault {
        Some(Fault::Status { code, retry_after }) => {
            return Ok(error(&status::fault(code, retry_after)));
        }
        Some(Fault::DropBefore) => return Err(Dropped),
        Some(Fault::Invalid { field, message }) => {
            return Ok(error(&status::policy_invalid(&field, &message)));
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::ApplyLater(d)) => {
            return apply_later(shared, parts, content_type, body, d).await;
        }
        other => other,
    };
    let resp = match routes::route(&shared, &parts, content_type.as_deref(), body) {
        Ok(resp) => resp,
        Err(e) => error(&e),
    };
    match after {
        Some(Fault::DropAfter) => Err(Dropped),
        Some(Fault::StatusAfter { code }) => Ok(error(&status::fault(code, None))),
        Some(Fault::CutStreamAfter(bytes)) => Ok(cut_body(resp, bytes, true)),
        Some(Fault::EndStreamAfter(bytes)) => Ok(cut_body(resp, bytes, false)),
        _ => Ok(resp),
    }
}

/// `Fault::ApplyLater`: the request is routed by a task spawned apart from this connection, so
/// it lands after `delay` even when the client has given up and closed the connection (which
/// drops this future); the answer goes back only if the connection is still there.
async fn apply_later(
    shared: Arc<Shared>,
    parts: hyper::http::request::Parts,
    content_type: Option<String>,
    body: RequestBody,
    delay: Duration,
) -> Result<Response<Body>, Dropped> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let resp = match routes::route(&shared, &parts, content_type.as_deref(), body) {
            Ok(resp) => resp,
            Err(e) => error(&e),
        };
        let _ = tx.send(resp);
    });
    // The task only goes away with the runtime, when the server stops.
    rx.await.map_err(|_| Dropped)
}

fn cut_body(resp: Response<Body>, bytes: usize, abrupt: bool) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Body::Cut {
            inner: Box::new(body),
            left: bytes,
            abrupt,
            pause: None,
        },
    )
}
