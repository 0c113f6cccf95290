//! The lossless byte codecs of TIFF: DEFLATE, LZW, ZSTD and PackBits. Each fills exactly the output bytes
//! it is asked for (the rows a read needs) or says why it could not, into a buffer the caller may recycle
//! (`out`: cleared, then grown only if too small).

use std::cell::RefCell;

/// The longest item of a DEFLATE stream: a stored block of 65,535 bytes.
const LONGEST_ITEM: usize = 65_535;

/// Inflate the first `keep` of the `len` bytes a zlib stream (TIFF DEFLATE) holds, with libdeflate. DEFLATE is
/// a row-major stream, so a read that needs only the top rows of a block need not inflate the rest:
/// libdeflate, given less room than the stream fills, stops with `InsufficientSpace` at the first item (a
/// literal, a match of at most 258 bytes or a stored block) that does not fit, and everything before it is
/// written. So room for `keep` bytes and the longest item gives at least `keep` bytes of the stream's prefix,
/// at libdeflate's speed (zlib-rs, which can stop anywhere, inflates these tiles at under 0.6 of it).
/// `inflate_stops_with_every_prefix_intact` holds the libdeflate build to this.
pub(crate) fn inflate(
    data: &[u8],
    len: usize,
    keep: usize,
    out: Vec<u8>,
) -> Result<Vec<u8>, String> {
    thread_local! {
        static INFLATER: RefCell<libdeflater::Decompressor> = RefCell::new(libdeflater::Decompressor::new());
    }
    let room = keep.saturating_add(LONGEST_ITEM).min(len);
    let mut out = sized(out, room);
    let n = match INFLATER.with(|d| d.borrow_mut().zlib_decompress(data, &mut out)) {
        Ok(n) => n,
        Err(libdeflater::DecompressionError::InsufficientSpace) if room < len => keep,
        // A stream longer than the block (some writers pad): take what fits, as libtiff does.
        Err(libdeflater::DecompressionError::InsufficientSpace) => flate_prefix(data, &mut out)?,
        Err(e) => return Err(format!("DEFLATE: {e}")),
    };
    out.truncate(keep);
    full(out, n, "DEFLATE")
}

/// Inflate the first `out.len()` bytes of a zlib stream, with a streaming inflater.
fn flate_prefix(data: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let mut z = flate2::Decompress::new(true);
    z.decompress(data, out, flate2::FlushDecompress::Finish)
        .map_err(|e| format!("DEFLATE: {e}"))?;
    Ok(z.total_out() as usize)
}

/// Decode TIFF LZW (MSB-first with early change; the old LSB-first flavour where libtiff detects it).
pub(crate) fn lzw(data: &[u8], len: usize, out: Vec<u8>) -> Result<Vec<u8>, String> {
    use weezl::{BitOrder, decode::Decoder};
    // libtiff's test for the pre-5.0 "compat" encoding: a first code of 256 written LSB-first.
    let mut decoder = if data.len() >= 2 && data[0] == 0 && data[1] & 1 == 1 {
        Decoder::new(BitOrder::Lsb, 8)
    } else {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    };
    let mut out = sized(out, len);
    let mut written = 0;
    let mut input = data;
    while written < len {
        let r = decoder.decode_bytes(input, &mut out[written..]);
        written += r.consumed_out;
        input = &input[r.consumed_in..];
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            // End of stream, no progress, or a bad code after the data we need: stop and check the length.
            _ => break,
        }
    }
    full(out, written, "LZW")
}

/// Decode a ZSTD frame of exactly `len` bytes.
pub(crate) fn zstd(data: &[u8], len: usize, out: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut out = sized(out, len);
    let n = zstd::bulk::decompress_to_buffer(data, &mut out).map_err(|e| format!("ZSTD: {e}"))?;
    full(out, n, "ZSTD")
}

/// Decode PackBits run-length data into exactly `len` bytes.
pub(crate) fn packbits(data: &[u8], len: usize, mut out: Vec<u8>) -> Result<Vec<u8>, String> {
    out.clear();
    out.reserve(len);
    let mut i = 0;
    while out.len() < len && i < data.len() {
        let n = data[i] as i8;
        i += 1;
        if n >= 0 {
            let run = (n as usize + 1).min(data.len() - i);
            out.extend_from_slice(&data[i..i + run]);
            i += run;
        } else if n != -128 {
            let Some(&b) = data.get(i) else { break };
            out.resize(out.len() + (1 - n as isize) as usize, b);
            i += 1;
        }
    }
    out.truncate(len);
    let n = out.len();
    out.resize(len, 0);
    full(out, n, "PackBits")
}

/// `out` made `n` bytes long, its allocation and old contents kept (zeros where it grows; grown to exactly
/// `n`, not doubled, as recycled buffers would otherwise ratchet up): a buffer for a codec to overwrite,
/// which then reports how much it wrote, so stale bytes are never taken for data.
fn sized(mut out: Vec<u8>, n: usize) -> Vec<u8> {
    out.reserve_exact(n.saturating_sub(out.len()));
    out.resize(n, 0);
    out
}

/// `out` if the codec produced all of it, else an error naming the shortfall.
fn full(out: Vec<u8>, written: usize, codec: &str) -> Result<Vec<u8>, String> {
    if written < out.len() {
        return Err(format!(
            "{codec} data ends after {written} of {} bytes",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recycled buffer with stale contents: the codecs must overwrite it.
    fn dirty() -> Vec<u8> {
        vec![0xA5; 3_000]
    }

    #[test]
    fn packbits_decodes_literals_and_runs() {
        // The example from the TIFF 6.0 specification.
        let data = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7,
            0xAA,
        ];
        let expected = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        assert_eq!(packbits(&data, expected.len(), dirty()).unwrap(), expected);
        assert!(
            packbits(&data, expected.len() + 1, dirty())
                .unwrap_err()
                .contains("ends after 24")
        );
    }

    #[test]
    fn inflate_and_zstd_round_trip_and_report_short_streams() {
        let raw: Vec<u8> = (0..10_000u32).map(|i| (i / 7) as u8).collect();
        let z = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
        let mut packed = vec![0u8; 20_000];
        let n = { z }.zlib_compress(&raw, &mut packed).unwrap();
        assert_eq!(
            inflate(&packed[..n], raw.len(), raw.len(), dirty()).unwrap(),
            raw
        );
        // Stopping early and inflating the whole stream then cutting give the same prefix.
        assert_eq!(
            inflate(&packed[..n], raw.len(), 2_000, dirty()).unwrap(),
            raw[..2_000]
        );
        assert_eq!(
            inflate(&packed[..n], raw.len(), 9_000, dirty()).unwrap(),
            raw[..9_000]
        );
        // A stream longer than the block: the block's bytes are kept.
        assert_eq!(
            inflate(&packed[..n], 5_000, 5_000, dirty()).unwrap(),
            raw[..5_000]
        );
        assert!(inflate(&packed[..n], 20_000, 20_000, dirty()).is_err());
        assert!(inflate(&packed[..n / 2], raw.len(), 9_000, dirty()).is_err());
        let zs = ::zstd::bulk::compress(&raw, 3).unwrap();
        assert_eq!(zstd(&zs, raw.len(), dirty()).unwrap(), raw);
    }

    #[test]
    fn inflate_stops_with_every_prefix_intact() {
        // Noise (stored blocks) between compressible runs (Huffman blocks), as a tile of noisy bands is.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let raw: Vec<u8> = (0..400_000u32)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if (i / 50_000) % 2 == 0 {
                    state as u8
                } else {
                    (i / 3) as u8
                }
            })
            .collect();
        for level in [1, 6, 12] {
            let lvl = libdeflater::CompressionLvl::new(level).unwrap();
            let mut packed = vec![0u8; 500_000];
            let n = libdeflater::Compressor::new(lvl)
                .zlib_compress(&raw, &mut packed)
                .unwrap();
            for keep in (1..raw.len()).step_by(4_999).chain([raw.len()]) {
                let got = inflate(&packed[..n], raw.len(), keep, dirty()).unwrap();
                assert!(got == raw[..keep], "level {level}, first {keep} bytes");
            }
        }
    }

    #[test]
    fn lzw_decodes_a_tiff_stream() {
        let raw: Vec<u8> = (0..5_000u32).map(|i| (i % 251) as u8).collect();
        let packed = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&raw)
            .unwrap();
        assert_eq!(lzw(&packed, raw.len(), dirty()).unwrap(), raw);
        assert!(lzw(&packed[..packed.len() / 2], raw.len(), dirty()).is_err());
    }
}
