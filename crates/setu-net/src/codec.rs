//! The request_response codec: one frame per stream, read up to
//! [`MAX_FRAME_BYTES`](crate::message::MAX_FRAME_BYTES), passed on as
//! opaque bytes. Decoding happens in the driver, so a malformed frame is
//! charged to the peer that sent it.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use crate::message::MAX_FRAME_BYTES;

/// Frames as bytes, with a size cap: [`MAX_FRAME_BYTES`] for sync
/// ([`Codec::default`]), `setu_blob::wire::MAX_FRAME_BYTES` for attachments
/// ([`Codec::blob`]).
#[derive(Debug, Clone)]
pub struct Codec {
    max: usize,
}

impl Default for Codec {
    fn default() -> Codec {
        Codec {
            max: MAX_FRAME_BYTES,
        }
    }
}

impl Codec {
    /// The codec of `/setu/N/blob/1`.
    pub fn blob() -> Codec {
        Codec {
            max: setu_blob::wire::MAX_FRAME_BYTES,
        }
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(max as u64 + 1).read_to_end(&mut buf).await?;
    if buf.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame larger than {max} bytes"),
        ));
    }
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, b: Vec<u8>) -> io::Result<()> {
    io.write_all(&b).await?;
    io.close().await
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, req).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, res).await
    }
}
