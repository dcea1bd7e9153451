//! Connection limits poem's server does not set: a per-peer connection cap, a
//! header-read timeout and an idle timeout, enforced by an acceptor wrapper and
//! a middleware that tells it when a request is in flight.
//!
//! A connection is *busy* from the moment its request reaches the application
//! until the response body has been sent (a long `start` or an event stream is
//! never cut). While it is not busy:
//! - a request must arrive whole within `header_read_timeout` of its first
//!   byte (or of the connection's opening, for a connection that sends nothing);
//! - a keep-alive connection that sends nothing for `idle_timeout` is closed.
//!
//! Closing means the next read returns end-of-file, so hyper closes the
//! connection the normal way.

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

use crate::http::TrustedProxies;

/// The limits of `[server]`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections one peer address may hold (0: no cap).
    pub per_peer: usize,
    /// Time from a request's first byte (or a silent connection's opening) to
    /// its whole header.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Peers the cap does not apply to (a reverse proxy).
    pub trusted: TrustedProxies,
    /// Whether loopback peers are exempt from the cap (always, except in tests).
    pub exempt_loopback: bool,
}

/// The open connections, shared by the acceptor and the request middleware.
#[derive(Debug)]
pub struct Connections {
    limits: ConnectionLimits,
    epoch: Instant,
    open: Mutex<Open>,
    refused: AtomicU64,
}

#[derive(Debug, Default)]
struct Open {
    per_peer: HashMap<IpAddr, usize>,
    by_address: HashMap<SocketAddr, Arc<ConnState>>,
}

/// What one connection's reader needs to know about its requests.
#[derive(Debug)]
struct ConnState {
    /// Requests reaching the application or sending their response.
    busy: AtomicUsize,
    /// When (ms since the epoch) the connection last became not busy.
    idle_since: AtomicU64,
    /// When the first byte of a request not yet in flight arrived (0: none).
    request_started: AtomicU64,
    /// Whether a request has been answered on this connection.
    served: AtomicBool,
    /// The reader waiting while the connection was busy, woken when it is not:
    /// its timer must start then.
    reader: futures_util::task::AtomicWaker,
}

impl Connections {
    /// The table for these limits.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            epoch: Instant::now(),
            open: Mutex::default(),
            refused: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        // At least 1, so that 0 can mean "unset".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn instant(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms.saturating_sub(1))
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        (self.limits.exempt_loopback && ip.is_loopback()) || self.limits.trusted.trusts(&ip)
    }

    /// The peer's address, IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a
    /// dual-stack `::` listener sees) written as IPv4.
    fn ip_of(peer: &SocketAddr) -> IpAddr {
        peer.ip().to_canonical()
    }

    /// Register a new connection from `peer`, or `None` when that peer holds
    /// its share already.
    fn admit(&self, peer: SocketAddr) -> Option<Arc<ConnState>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let ip = Self::ip_of(&peer);
        let count = open.per_peer.get(&ip).copied().unwrap_or(0);
        if self.limits.per_peer > 0 && count >= self.limits.per_peer && !self.exempt(ip) {
            return None;
        }
        let state = Arc::new(ConnState {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now_ms()),
            request_started: AtomicU64::new(0),
            served: AtomicBool::new(false),
            reader: futures_util::task::AtomicWaker::new(),
        });
        *open.per_peer.entry(ip).or_default() += 1;
        open.by_address.insert(peer, state.clone());
        Some(state)
    }

    fn release(&self, peer: SocketAddr, state: &Arc<ConnState>) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        // Only this connection's entry: a new one from the same address and
        // port may be admitted before the old one is dropped.
        if open
            .by_address
            .get(&peer)
            .is_some_and(|s| Arc::ptr_eq(s, state))
        {
            open.by_address.remove(&peer);
        }
        let ip = Self::ip_of(&peer);
        if let Some(count) = open.per_peer.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.per_peer.remove(&ip);
            }
        }
    }

    fn state(&self, peer: &SocketAddr) -> Option<Arc<ConnState>> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.by_address.get(peer).cloned()
    }

    /// Connections refused by the per-peer cap since start.
    #[cfg(test)]
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// When a connection in this state, not busy, must be closed.
    fn deadline(&self, state: &ConnState) -> Instant {
        let started = state.request_started.load(Ordering::Acquire);
        if started != 0 {
            return self.instant(started) + self.limits.header_read_timeout;
        }
        let since = self.instant(state.idle_since.load(Ordering::Acquire));
        if state.served.load(Ordering::Acquire) {
            since + self.limits.idle_timeout
        } else {
            since + self.limits.header_read_timeout
        }
    }
}

/// An acceptor that applies [`Connections`] to the connections of `inner`.
pub struct LimitedAcceptor<A> {
    inner: A,
    connections: Arc<Connections>,
}

impl<A> LimitedAcceptor<A> {
    /// Wrap `inner` (a TCP acceptor: the TLS layer goes on top).
    pub fn new(inner: A, connections: Arc<Connections>) -> Self {
        Self { inner, connections }
    }
}

/// Send small writes at once (no Nagle delay): a streamed answer's events
/// reach the client as they are written, not after the client's delayed ACK.
fn no_delay(io: &dyn std::any::Any) {
    if let Some(tcp) = io.downcast_ref::<tokio::net::TcpStream>()
        && let Err(e) = tcp.set_nodelay(true)
    {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

impl<A: Acceptor> Acceptor for LimitedAcceptor<A> {
    type Io = LimitedIo<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        loop {
            let (io, local, remote, scheme) = self.inner.accept().await?;
            no_delay(&io);
            let Some(peer) = remote.as_socket_addr().copied() else {
                return Ok((LimitedIo::untracked(io), local, remote, scheme));
            };
            match self.connections.admit(peer) {
                Some(state) => {
                    let io = LimitedIo::new(io, peer, state, self.connections.clone());
                    return Ok((io, local, remote, scheme));
                }
                None => {
                    let refused = self.connections.refused.fetch_add(1, Ordering::Relaxed);
                    // One line for the first refusal and then one per thousand,
                    // so a flood cannot flood the log.
                    if refused.is_multiple_of(1000) {
                        tracing::warn!(
                            peer = %peer.ip(),
                            cap = self.connections.limits.per_peer,
                            refused = refused + 1,
                            "connection refused: this address holds server.max_connections_per_peer open connections"
                        );
                    }
                    drop(io);
                }
            }
        }
    }
}

struct Tracked {
    peer: SocketAddr,
    state: Arc<ConnState>,
    connections: Arc<Connections>,
    timer: Pin<Box<Sleep>>,
    armed_for: Option<Instant>,
    closed: bool,
}

/// A connection's stream, closed (end-of-file) when a timeout passes.
pub struct LimitedIo<T> {
    inner: T,
    tracked: Option<Tracked>,
}

impl<T> LimitedIo<T> {
    fn new(
        inner: T,
        peer: SocketAddr,
        state: Arc<ConnState>,
        connections: Arc<Connections>,
    ) -> Self {
        Self {
            inner,
            tracked: Some(Tracked {
                peer,
                state,
                connections,
                timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
                armed_for: None,
                closed: false,
            }),
        }
    }

    fn untracked(inner: T) -> Self {
        Self {
            inner,
            tracked: None,
        }
    }
}

impl<T> Drop for LimitedIo<T> {
    fn drop(&mut self) {
        if let Some(t) = &self.tracked {
            t.connections.release(t.peer, &t.state);
        }
    }
}

impl Tracked {
    /// Whether the connection's time is up (arming the timer otherwise).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.state.reader.register(cx.waker());
        if self.state.busy.load(Ordering::Acquire) > 0 {
            return false;
        }
        let deadline = self.connections.deadline(&self.state);
        if self.armed_for != Some(deadline) {
            self.timer.as_mut().reset(deadline);
            self.armed_for = Some(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for LimitedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(t) = this.tracked.as_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        if t.closed {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let got = buf.filled().len() > before;
                if got && t.state.busy.load(Ordering::Acquire) == 0 {
                    let now = t.connections.now_ms();
                    let _ = t.state.request_started.compare_exchange(
                        0,
                        now,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if t.expired(cx) {
                    t.closed = true;
                    tracing::debug!(peer = %t.peer, "closing a connection: header-read or idle timeout");
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for LimitedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Marks a connection busy while it lives.
struct Busy {
    state: Arc<ConnState>,
    connections: Arc<Connections>,
}

impl Busy {
    fn new(state: Arc<ConnState>, connections: Arc<Connections>) -> Self {
        state.busy.fetch_add(1, Ordering::AcqRel);
        state.request_started.store(0, Ordering::Release);
        Self { state, connections }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.state.served.store(true, Ordering::Release);
        self.state
            .idle_since
            .store(self.connections.now_ms(), Ordering::Release);
        if self.state.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            // A byte read while another stream of the connection was starting
            // must not leave a header timer running.
            self.state.request_started.store(0, Ordering::Release);
            self.state.reader.wake();
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its connection busy until it is sent.
    struct BusyBody {
        #[pin]
        inner: http_body_util::combinators::BoxBody<Bytes, io::Error>,
        busy: Option<Busy>,
    }
}

impl http_body::Body for BusyBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, io::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.busy.take();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Mark the request's connection busy from now until its response is sent.
pub async fn track_requests<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    connections: Arc<Connections>,
) -> Result<Response> {
    let state = req
        .remote_addr()
        .as_socket_addr()
        .and_then(|peer| connections.state(peer));
    let Some(state) = state else {
        return Box::pin(ep.call(req))
            .await
            .map(IntoResponse::into_response);
    };
    let busy = Busy::new(state, connections);
    let resp = match Box::pin(ep.call(req)).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    let (parts, body) = resp.into_parts();
    let body = BusyBody {
        inner: body.into(),
        busy: Some(busy),
    };
    Ok(Response::from_parts(
        parts,
        poem::Body::from(http_body_util::combinators::BoxBody::new(body)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::{EndpointExt, Server, handler, listener::TcpAcceptor};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[handler]
    fn hello() -> &'static str {
        "hello"
    }

    /// A server on loopback with these limits (loopback not exempt), and its
    /// address.
    async fn serve(
        per_peer: usize,
        header: Duration,
        idle: Duration,
    ) -> (SocketAddr, Arc<Connections>) {
        let connections = Connections::new(ConnectionLimits {
            per_peer,
            header_read_timeout: header,
            idle_timeout: idle,
            trusted: TrustedProxies::default(),
            exempt_loopback: false,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = LimitedAcceptor::new(
            TcpAcceptor::from_tokio(listener).unwrap(),
            connections.clone(),
        );
        let tracked = connections.clone();
        let app = poem::Route::new()
            .at("/", hello)
            .around(move |ep, req| track_requests(ep, req, tracked.clone()));
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        (addr, connections)
    }

    /// Send one keep-alive request and read its whole answer.
    async fn ask(stream: &mut tokio::net::TcpStream) -> io::Result<String> {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await?;
        let mut buf = vec![0u8; 1024];
        let mut got = String::new();
        while !got.ends_with("hello") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        Ok(got)
    }

    /// Whether the server closes `stream` within `within`.
    async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) => panic!("unexpected bytes"),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn the_cap_refuses_a_peers_extra_connections_until_one_closes() {
        let (addr, connections) = serve(2, Duration::from_secs(30), Duration::from_secs(30)).await;
        let mut a = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut b = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut a).await.is_ok());
        assert!(ask(&mut b).await.is_ok());
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut c).await.is_err(), "a third connection is refused");
        assert!(closed_within(&mut c, Duration::from_secs(5)).await);
        assert_eq!(connections.refused(), 1);
        drop(a);
        // Once the server has seen the close, the peer may connect again.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut d = tokio::net::TcpStream::connect(addr).await.unwrap();
            if ask(&mut d).await.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "a freed place is given again");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ask(&mut b).await.is_ok(), "the open connection still works");
    }

    #[tokio::test]
    async fn loopback_is_exempt_unless_told_otherwise() {
        let connections = Connections::new(ConnectionLimits {
            per_peer: 1,
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            trusted: TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap(),
            exempt_loopback: true,
        });
        let local: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let local2: SocketAddr = "127.0.0.1:1001".parse().unwrap();
        let proxy: SocketAddr = "10.1.2.3:1000".parse().unwrap();
        let proxy2: SocketAddr = "10.1.2.3:1001".parse().unwrap();
        let other: SocketAddr = "192.0.2.1:1000".parse().unwrap();
        let other2: SocketAddr = "192.0.2.1:1001".parse().unwrap();
        assert!(connections.admit(local).is_some());
        assert!(connections.admit(local2).is_some());
        assert!(connections.admit(proxy).is_some());
        assert!(connections.admit(proxy2).is_some());
        let first = connections.admit(other).expect("first");
        assert!(connections.admit(other2).is_none());
        connections.release(other, &first);
        assert!(connections.admit(other2).is_some());
        // An IPv4 peer seen through a dual-stack listener is the same peer.
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:1002".parse().unwrap();
        assert!(
            connections.admit(mapped).is_none(),
            "::ffff:192.0.2.1 is 192.0.2.1"
        );
        let mapped_local: SocketAddr = "[::ffff:127.0.0.1]:1003".parse().unwrap();
        assert!(
            connections.admit(mapped_local).is_some(),
            "mapped loopback is loopback"
        );
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_after_the_header_timeout() {
        let (addr, _) = serve(0, Duration::from_millis(300), Duration::from_secs(30)).await;
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_trickled_header_is_cut_though_bytes_keep_coming() {
        let (addr, _) = serve(0, Duration::from_millis(500), Duration::from_secs(30)).await;
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        let mut cut = false;
        for byte in
            b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if slow.write_all(&[*byte]).await.is_err() {
                cut = true;
                break;
            }
            let mut buf = [0u8; 64];
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(100), slow.read(&mut buf)).await
            {
                cut = true;
                break;
            }
        }
        assert!(
            cut,
            "the server waited {:?} for a header",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not() {
        let (addr, _) = serve(0, Duration::from_secs(30), Duration::from_millis(400)).await;
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut idle).await.is_ok());
        assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
        // A connection used more often than the idle timeout stays open.
        let mut used = tokio::net::TcpStream::connect(addr).await.unwrap();
        for _ in 0..6 {
            assert!(ask(&mut used).await.is_ok());
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}
