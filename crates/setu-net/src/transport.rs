//! TCP with noise and yamux, with a meter on the raw socket: every byte a
//! node sends or receives, framing and handshakes included, is counted, so
//! benchmarks report true wire costs. A second meter, on each yamux
//! substream, counts its payload by the protocol the substream was opened
//! for, so an operator (and a benchmark) can tell which protocol the bytes
//! went to.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerBox, StreamMuxerEvent, SubstreamBox};
use libp2p::core::transport::{Boxed, Transport};
use libp2p::core::upgrade::Version;
use libp2p::{PeerId, identity, noise, tcp, yamux};

/// Most protocol names the per-protocol meter keeps; the bytes of any
/// further name are counted under [`OTHER_PROTOCOL`].
pub const MAX_METERED_PROTOCOLS: usize = 32;
/// Longest protocol name the meter keeps (multistream-select allows more).
pub const MAX_PROTOCOL_NAME: usize = 64;
/// How many of a substream's first bytes are searched for its protocol.
const SNIFF_BYTES: usize = 256;
/// Where bytes go whose protocol is not one of the first
/// [`MAX_METERED_PROTOCOLS`] names, is of no family a node speaks
/// ([`METERED_FAMILIES`]), or could not be read.
pub const OTHER_PROTOCOL: &str = "other";
/// The protocol name prefixes the meter names: Setu's own and the libp2p
/// protocols a node runs. A peer proposes any name it likes, so a name of
/// another family is counted as [`OTHER_PROTOCOL`] and cannot take one of
/// the [`MAX_METERED_PROTOCOLS`] slots.
pub const METERED_FAMILIES: [&str; 4] = ["/setu/", "/meshsub/", "/ipfs/", "/libp2p/"];

/// Bytes through every connection of a node.
#[derive(Debug, Default)]
pub struct Meter {
    /// Bytes received.
    pub bytes_in: AtomicU64,
    /// Bytes sent.
    pub bytes_out: AtomicU64,
    /// Substream payload bytes (both directions) by protocol name.
    by_protocol: Mutex<BTreeMap<String, u64>>,
}

impl Meter {
    /// (received, sent) so far.
    pub fn read(&self) -> (u64, u64) {
        (
            self.bytes_in.load(Ordering::Relaxed),
            self.bytes_out.load(Ordering::Relaxed),
        )
    }

    /// Substream payload bytes, both directions, by protocol, so far. The
    /// rest of the socket bytes of [`Meter::read`] are noise and yamux
    /// framing, handshakes included.
    pub fn by_protocol(&self) -> BTreeMap<String, u64> {
        match self.by_protocol.lock() {
            Ok(m) => m.clone(),
            Err(_) => BTreeMap::new(),
        }
    }

    fn add(&self, protocol: &str, n: u64) {
        if n == 0 {
            return;
        }
        let Ok(mut m) = self.by_protocol.lock() else {
            return;
        };
        if let Some(v) = m.get_mut(protocol) {
            *v += n;
        } else if m.len() < MAX_METERED_PROTOCOLS {
            m.insert(protocol.to_string(), n);
        } else {
            *m.entry(OTHER_PROTOCOL.to_string()).or_default() += n;
        }
    }
}

/// The protocol a substream proposes, from its first bytes as the dialer
/// writes them: multistream-select's header message, then the protocol's
/// name, each a varint length and text ending in a newline. `None` until
/// both messages are there.
fn proposed_protocol(head: &[u8]) -> Option<&str> {
    let mut rest = head;
    let mut messages = 0;
    loop {
        let (len, used) = varint(rest)?;
        let msg = rest.get(used..used + len)?;
        rest = &rest[used + len..];
        messages += 1;
        if messages == 2 {
            let name = std::str::from_utf8(msg.strip_suffix(b"\n")?).ok()?;
            return Some(name);
        }
    }
}

/// A LEB128 unsigned varint of at most two bytes (multistream-select's
/// messages are short): the value and the bytes it took.
fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let second = *b.get(1)?;
    if second >= 0x80 {
        return None;
    }
    Some(((first & 0x7f) as usize | (second as usize) << 7, 2))
}

/// A muxer whose substreams count their payload by protocol.
struct Tagging {
    inner: StreamMuxerBox,
    meter: Arc<Meter>,
}

impl StreamMuxer for Tagging {
    type Substream = Tagged;
    type Error = io::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let meter = self.meter.clone();
        Pin::new(&mut self.inner)
            .poll_inbound(cx)
            .map_ok(|s| Tagged::new(s, meter, false))
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let meter = self.meter.clone();
        Pin::new(&mut self.inner)
            .poll_outbound(cx)
            .map_ok(|s| Tagged::new(s, meter, true))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// A substream that counts its bytes under the protocol its dialer
/// proposed: read from what it writes if this side opened it, from what it
/// reads otherwise. Bytes before the name is known are held and counted
/// under it once it is.
struct Tagged {
    inner: SubstreamBox,
    meter: Arc<Meter>,
    outbound: bool,
    head: Vec<u8>,
    protocol: Option<String>,
    held: u64,
}

impl Tagged {
    fn new(inner: SubstreamBox, meter: Arc<Meter>, outbound: bool) -> Tagged {
        Tagged {
            inner,
            meter,
            outbound,
            head: Vec::new(),
            protocol: None,
            held: 0,
        }
    }

    /// Counts `n` bytes; `bytes` are the dialer's, to look for the name in.
    fn count(&mut self, n: usize, dialers: Option<&[u8]>) {
        if let Some(p) = &self.protocol {
            self.meter.add(p, n as u64);
            return;
        }
        self.held += n as u64;
        if let Some(b) = dialers {
            let room = SNIFF_BYTES.saturating_sub(self.head.len());
            self.head.extend_from_slice(&b[..b.len().min(room)]);
        }
        let name = match proposed_protocol(&self.head) {
            Some(p)
                if p.len() <= MAX_PROTOCOL_NAME
                    && METERED_FAMILIES.iter().any(|f| p.starts_with(f)) =>
            {
                p.to_string()
            }
            Some(_) => OTHER_PROTOCOL.to_string(),
            None if self.head.len() >= SNIFF_BYTES => OTHER_PROTOCOL.to_string(),
            None => return,
        };
        self.meter.add(&name, std::mem::take(&mut self.held));
        self.head = Vec::new();
        self.protocol = Some(name);
    }
}

impl Drop for Tagged {
    fn drop(&mut self) {
        if self.protocol.is_none() {
            self.meter.add(OTHER_PROTOCOL, self.held);
        }
    }
}

impl AsyncRead for Tagged {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            let dialers = (!self.outbound).then_some(&buf[..*n]);
            self.count(*n, dialers);
        }
        r
    }
}

impl AsyncWrite for Tagged {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            let dialers = self.outbound.then_some(&buf[..*n]);
            self.count(*n, dialers);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// A socket that counts its bytes.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.meter.bytes_in.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.meter.bytes_out.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// TCP (no delay), metered, then noise and yamux.
pub fn tcp(
    key: &identity::Keypair,
    meter: Arc<Meter>,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, Box<dyn std::error::Error + Send + Sync>> {
    let tagged = meter.clone();
    Ok(
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .map(move |s, _| Counted {
                inner: s,
                meter: meter.clone(),
            })
            .upgrade(Version::V1Lazy)
            .authenticate(noise::Config::new(key)?)
            .multiplex(yamux::Config::default())
            .map(move |(p, m), _| {
                let tagging = Tagging {
                    inner: StreamMuxerBox::new(m),
                    meter: tagged.clone(),
                };
                (p, StreamMuxerBox::new(tagging))
            })
            .boxed(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// multistream-select's opening, as a dialer writes it.
    fn opening(name: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for m in ["/multistream/1.0.0", name] {
            let m = format!("{m}\n");
            let len = m.len();
            if len < 0x80 {
                b.push(len as u8);
            } else {
                b.push((len as u8 & 0x7f) | 0x80);
                b.push((len >> 7) as u8);
            }
            b.extend_from_slice(m.as_bytes());
        }
        b
    }

    #[test]
    fn the_proposed_protocol_is_read_once_both_messages_are_in() {
        let b = opening("/meshsub/1.3.0");
        assert_eq!(proposed_protocol(&b), Some("/meshsub/1.3.0"));
        // Data after the name does not matter; a cut opening is not yet one.
        let mut more = b.clone();
        more.extend_from_slice(b"payload");
        assert_eq!(proposed_protocol(&more), Some("/meshsub/1.3.0"));
        assert_eq!(proposed_protocol(&b[..b.len() - 1]), None);
        assert_eq!(proposed_protocol(&b[..3]), None);
        // A long name takes a two-byte varint.
        let long = format!("/{}", "x".repeat(200));
        assert_eq!(proposed_protocol(&opening(&long)), Some(long.as_str()));
        // A message without its newline is no name.
        assert_eq!(proposed_protocol(&[1, b'a', 1, b'b']), None);
    }

    #[test]
    fn a_substream_counts_every_byte_under_its_dialers_protocol() {
        use futures::executor::block_on;
        use futures::io::{AsyncReadExt, AsyncWriteExt, Cursor};
        let m = Arc::new(Meter::default());
        // This side dials: the name is in what it writes, sent in pieces.
        let mut out = Tagged::new(SubstreamBox::new(Cursor::new(Vec::new())), m.clone(), true);
        let mut sent = opening("/setu/n/sync/2");
        sent.extend_from_slice(&[7; 1000]);
        for piece in sent.chunks(5) {
            block_on(out.write_all(piece)).expect("write");
        }
        // The other side dials: the name is in what this side reads. A name
        // of no family a node speaks is counted, but not named.
        let mut read = opening("/evil/1");
        read.extend_from_slice(&[1; 300]);
        let mut inb = Tagged::new(
            SubstreamBox::new(Cursor::new(read.clone())),
            m.clone(),
            false,
        );
        let mut got = Vec::new();
        block_on(inb.read_to_end(&mut got)).expect("read");
        assert_eq!(got, read);
        drop((out, inb));
        let by = m.by_protocol();
        assert_eq!(by.get("/setu/n/sync/2"), Some(&(sent.len() as u64)));
        assert_eq!(by.get(OTHER_PROTOCOL), Some(&(read.len() as u64)));
        assert_eq!(by.len(), 2, "{by:?}");
    }

    #[test]
    fn the_meter_keeps_a_bounded_number_of_names() {
        let m = Meter::default();
        for i in 0..MAX_METERED_PROTOCOLS + 5 {
            m.add(&format!("/p/{i}"), 10);
        }
        m.add("/p/0", 5);
        let by = m.by_protocol();
        assert_eq!(by.len(), MAX_METERED_PROTOCOLS + 1);
        assert_eq!(by.get("/p/0"), Some(&15));
        assert_eq!(by.get(OTHER_PROTOCOL), Some(&50));
    }
}
