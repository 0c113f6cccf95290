//! Reading a window: plan which blocks it touches, fetch their bytes in one `get_ranges` call, decode them
//! on the rayon pool, paste each into its place in the caller's buffer, and write the validity mask.

use std::ops::Range;

use bytes::Bytes;
use rayon::prelude::*;

use super::decode::{check_supported, decode_block};
use super::image::{Image, Samples};
use super::open::{Cog, Level};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::grid::Window;
use crate::pool::decode_pool;

/// Largest width or height of a window, in pixels.
pub const MAX_WINDOW_SIDE: u64 = 1 << 20;

/// Blocks whose stored bytes lie closer than this are fetched in one range.
const COALESCE_GAP: u64 = 32 << 10;

/// What a window read needs: the level, the bands, and each block with its byte range. Small and plain, so a
/// planner can hand it to a fetcher.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// The [`Cog`] the plan was made by.
    cog: u64,
    window: Window,
    bands: Vec<usize>,
    level: Level,
    /// The part of the window inside the raster, in the level's pixels.
    inside: Option<Window>,
    validity: Validity,
    blocks: Vec<BlockRef>,
}

/// What says a pixel inside the raster is valid, in GDAL's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Validity {
    /// The level's internal mask image.
    Mask(usize),
    /// Samples not equal to nodata (NaN matches NaN).
    Nodata(f64),
    /// An alpha band (0-based) that is not 0; the alpha band itself is all valid.
    Alpha(usize),
    /// Every pixel.
    All,
}

/// One block to read: which image, where in its block grid, which plane, which bytes (empty when sparse).
#[derive(Debug, Clone)]
struct BlockRef {
    image: usize,
    /// Rows of the block the window needs, from its top.
    rows: u64,
    index: usize,
    col: u64,
    row: u64,
    plane: usize,
    range: Range<u64>,
}

impl ReadPlan {
    /// The window this plan reads.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The 0-based bands read, in output order.
    pub fn bands(&self) -> &[usize] {
        &self.bands
    }

    /// Number of blocks (tiles or strips, data and mask) the window touches.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Byte ranges to fetch, coalesced: blocks closer than 32 KiB share one range.
    pub fn ranges(&self) -> Vec<Range<u64>> {
        coalesce(self.blocks.iter().map(|b| b.range.clone()), COALESCE_GAP)
    }

    /// Each block the window touches: its key (the same key in two plans is the same decoded samples), its
    /// stored byte range (empty when the block is sparse) and how many rows from its top the window needs.
    pub fn blocks(&self) -> impl ExactSizeIterator<Item = (BlockKey, Range<u64>, u64)> + '_ {
        self.blocks.iter().map(|b| {
            let key = BlockKey {
                cog: self.cog,
                image: b.image,
                index: b.index,
                row: b.row,
            };
            (key, b.range.clone(), b.rows)
        })
    }
}

/// Which decoded block: of which opened [`Cog`], which image (level or mask) and which block in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockKey {
    cog: u64,
    image: usize,
    index: usize,
    row: u64,
}

/// `ranges` sorted, empty ones dropped, and merged where they lie closer than `gap` bytes.
pub fn coalesce(ranges: impl Iterator<Item = Range<u64>>, gap: u64) -> Vec<Range<u64>> {
    let mut ranges: Vec<Range<u64>> = ranges.filter(|r| !r.is_empty()).collect();
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end + gap => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

impl Cog {
    /// Plan a boundless read of `window` (in the pixels of `overview`, `None` = full resolution) for the
    /// 0-based `bands`.
    pub fn plan(
        &self,
        window: &Window,
        bands: &[usize],
        overview: Option<usize>,
    ) -> Result<ReadPlan> {
        let bad = |reason: String| Error::BadRead {
            href: self.href.clone(),
            window: *window,
            reason,
        };
        let level = *overview
            .map_or(Some(0), |o| o.checked_add(1))
            .and_then(|l| self.levels.get(l))
            .ok_or_else(|| {
                bad(format!(
                    "overview {} asked, the file has {}",
                    overview.unwrap_or(0),
                    self.levels.len() - 1
                ))
            })?;
        if bands.is_empty() || bands.iter().any(|b| *b >= self.count()) {
            return Err(bad(format!(
                "bands {bands:?} asked, the file has {}",
                self.count()
            )));
        }
        if window.width == 0 || window.height == 0 {
            return Err(bad("empty window".into()));
        }
        let fits =
            |off: i64, len: u64| len <= MAX_WINDOW_SIDE && off.checked_add(len as i64).is_some();
        if !fits(window.col_off, window.width) || !fits(window.row_off, window.height) {
            return Err(bad(format!(
                "windows are at most {MAX_WINDOW_SIDE} px a side, within i64"
            )));
        }
        let image = &self.images[level.image];
        let validity = self.validity(level);
        let inside = window.intersect(image.width, image.height);
        let mut blocks = Vec::new();
        if let Some(inside) = inside {
            let mut planes = bands.to_vec();
            if let Validity::Alpha(a) = validity {
                planes.push(a);
            }
            let planes: Vec<usize> = if image.planar {
                dedup(&planes)
            } else {
                vec![0]
            };
            self.blocks_of(image, &inside, &planes, &mut blocks)?;
            if let Validity::Mask(mask) = validity {
                self.blocks_of(&self.images[mask], &inside, &[0], &mut blocks)?;
            }
        }
        Ok(ReadPlan {
            cog: self.id,
            window: *window,
            bands: bands.to_vec(),
            level,
            inside,
            validity,
            blocks,
        })
    }

    /// What decides validity at `level`: the internal mask, else nodata, else an alpha band (the last of 2 or
    /// 4 bands of 8 or 16 bits, marked alpha in ExtraSamples), else nothing, as GDAL decides.
    fn validity(&self, level: Level) -> Validity {
        if let Some(m) = level.mask {
            return Validity::Mask(m);
        }
        if let Some(n) = self.nodata().and_then(|n| representable(self.dtype, n)) {
            return Validity::Nodata(n);
        }
        let full = &self.images[0];
        let alpha = full
            .extra_samples
            .last()
            .is_some_and(|e| *e == 1 || *e == 2);
        let count = self.count();
        if alpha && (count == 2 || count == 4) && matches!(self.dtype, DataType::U8 | DataType::U16)
        {
            return Validity::Alpha(count - 1);
        }
        Validity::All
    }

    /// Append the blocks of `image` that `inside` touches, for each of `planes`.
    fn blocks_of(
        &self,
        image: &Image,
        inside: &Window,
        planes: &[usize],
        out: &mut Vec<BlockRef>,
    ) -> Result<()> {
        check_supported(image).map_err(|feature| Error::Unsupported {
            href: self.href.clone(),
            feature,
        })?;
        let (tw, th) = (image.tile_width, image.tile_height);
        let (c0, r0) = (inside.col_off as u64, inside.row_off as u64);
        let cols = c0 / tw..=(c0 + inside.width - 1) / tw;
        let rows = r0 / th..=(r0 + inside.height - 1) / th;
        let per_plane = image.blocks_across() * image.blocks_down();
        // No codec stores a block in more than about twice its decoded size.
        let max_stored = 2 * image.decoded_row_bytes() as u64 * image.tile_height + (1 << 20);
        for &plane in planes {
            for row in rows.clone() {
                for col in cols.clone() {
                    let index =
                        (plane as u64 * per_plane + row * image.blocks_across() + col) as usize;
                    let (offset, count) = (image.offsets[index], image.byte_counts[index]);
                    let range = if offset == 0 || count == 0 {
                        0..0
                    } else if count > max_stored
                        || offset.checked_add(count).is_none_or(|e| e > self.size)
                    {
                        return Err(Error::InvalidTiff {
                            href: self.href.clone(),
                            reason: format!(
                                "image {} block {index}: {count} bytes at {offset} in a {}-byte file",
                                image.ifd, self.size
                            ),
                        });
                    } else {
                        offset..offset + count
                    };
                    out.push(BlockRef {
                        image: image.index,
                        rows: (r0 + inside.height - row * th).min(th),
                        index,
                        col,
                        row,
                        plane,
                        range,
                    });
                }
            }
        }
        Ok(())
    }

    /// Fetch the stored bytes of every block of `plan`: one `get_ranges` call over the coalesced ranges (no
    /// request at all when every block is sparse or outside the raster).
    pub async fn fetch(&self, plan: &ReadPlan) -> Result<Vec<Bytes>> {
        let ranges: Vec<Range<u64>> = plan.blocks.iter().map(|b| b.range.clone()).collect();
        self.fetch_ranges(&ranges, COALESCE_GAP).await
    }

    /// Fetch the bytes of each of `ranges` (an empty range gives empty bytes) in one `get_ranges` call over
    /// them, merged where they lie closer than `gap` bytes.
    pub async fn fetch_ranges(&self, ranges: &[Range<u64>], gap: u64) -> Result<Vec<Bytes>> {
        let merged = coalesce(ranges.iter().cloned(), gap);
        let parts = if merged.is_empty() {
            Vec::new()
        } else {
            self.store()?
                .get_ranges(&self.path, &merged)
                .await
                .map_err(|source| Error::Store {
                    href: self.href.clone(),
                    source,
                })?
        };
        ranges
            .iter()
            .map(|r| {
                if r.is_empty() {
                    return Ok(Bytes::new());
                }
                let i = merged.partition_point(|m| m.start <= r.start) - 1;
                let start = (r.start - merged[i].start) as usize;
                let end = start + (r.end - r.start) as usize;
                let delivered = parts.get(i).filter(|p| p.len() >= end);
                delivered.map(|p| p.slice(start..end)).ok_or_else(|| Error::InvalidTiff {
                    href: self.href.clone(),
                    reason: format!(
                        "bytes {r:?} were not all delivered (did the file change since it was opened?)"
                    ),
                })
            })
            .collect()
    }

    /// Bytes of block `key` (of a plan this Cog made) decoded down to its top `rows` rows: how long a block
    /// from [`Cog::decode_block`] must be to serve a read of those rows (0 for a key of another Cog).
    pub(crate) fn decoded_bytes(&self, key: BlockKey, rows: u64) -> usize {
        self.images
            .get(key.image)
            .filter(|_| key.cog == self.id)
            .map_or(0, |im| {
                rows.min(im.block_rows(key.row)) as usize * im.decoded_row_bytes()
            })
    }

    /// Decode block `key` (of a plan this Cog made) from its stored `bytes`: at least its top `rows` rows
    /// (every row where the codec cannot stop early). What [`Cog::paste`] takes. `reuse` is a buffer whose
    /// allocation the decoder may keep (pass `Vec::new()` for none).
    pub fn decode_block(
        &self,
        key: BlockKey,
        bytes: &[u8],
        rows: u64,
        reuse: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let image = self
            .images
            .get(key.image)
            .filter(|_| key.cog == self.id)
            .ok_or_else(|| Error::InvalidTiff {
                href: self.href.clone(),
                reason: format!("block {key:?} is not one of this file's"),
            })?;
        decode_block(image, key.row, rows, bytes, reuse).map_err(|reason| Error::Decode {
            href: self.href.clone(),
            image: image.ifd,
            tile: key.index,
            reason,
        })
    }

    /// Decode the blocks `fetched` for `plan` on the decode pool and [`Cog::paste`] them into `out` and
    /// `mask`.
    pub fn decode_into(
        &self,
        plan: &ReadPlan,
        fetched: Vec<Bytes>,
        out: &mut [u8],
        mask: Option<&mut [u8]>,
    ) -> Result<()> {
        if fetched.len() != plan.blocks.len() {
            return Err(Error::BadRead {
                href: self.href.clone(),
                window: plan.window,
                reason: format!(
                    "{} fetched blocks for a plan of {}",
                    fetched.len(),
                    plan.blocks.len()
                ),
            });
        }
        let decoded: Vec<Option<Vec<u8>>> = decode_pool().install(|| {
            plan.blocks()
                .collect::<Vec<_>>()
                .into_par_iter()
                .zip(fetched)
                .map(|((key, range, rows), bytes)| {
                    (!range.is_empty())
                        .then(|| self.decode_block(key, &bytes, rows, Vec::new()))
                        .transpose()
                })
                .collect::<Result<_>>()
        })?;
        let decoded: Vec<Option<&[u8]>> = decoded.iter().map(Option::as_deref).collect();
        decode_pool().install(|| self.paste(plan, &decoded, out, mask))
    }

    /// Paste the `decoded` blocks of `plan` (one per block, in [`ReadPlan::blocks`] order; `None` for a
    /// sparse block) into `out` (bands, height, width; native-endian samples of [`Cog::dtype`]), filling
    /// what lies outside the raster with the fill value (nodata, else 0). `mask`, if given (bands, height,
    /// width), gets 1 where a pixel is valid, 0 where it is outside the raster, nodata, or masked by the
    /// file's internal mask. Runs on the calling thread's rayon pool, one task per band.
    pub fn paste(
        &self,
        plan: &ReadPlan,
        decoded: &[Option<&[u8]>],
        out: &mut [u8],
        mask: Option<&mut [u8]>,
    ) -> Result<()> {
        let window = plan.window;
        let nb = plan.bands.len();
        let bad = |reason: String| Error::BadRead {
            href: self.href.clone(),
            window,
            reason,
        };
        let plane_px = window.pixels() as usize;
        if plan.cog != self.id || decoded.len() != plan.blocks.len() {
            return Err(bad(format!(
                "{} decoded blocks for a plan of {} made by {} Cog",
                decoded.len(),
                plan.blocks.len(),
                if plan.cog == self.id {
                    "this"
                } else {
                    "another"
                }
            )));
        }
        for (b, d) in plan.blocks.iter().zip(decoded) {
            let need = b.rows as usize * self.images[b.image].decoded_row_bytes();
            if d.is_some_and(|d| d.len() < need) || (d.is_none() && !b.range.is_empty()) {
                return Err(bad(format!(
                    "block {} decoded to {} bytes, {need} needed",
                    b.index,
                    d.map_or(0, <[u8]>::len)
                )));
            }
        }
        if out.len() != plane_px * nb * self.dtype.size() {
            return Err(bad(format!(
                "output buffer of {} bytes, {} needed",
                out.len(),
                plane_px * nb * self.dtype.size()
            )));
        }
        if mask.as_ref().is_some_and(|m| m.len() != plane_px * nb) {
            return Err(bad(format!(
                "mask buffer of {} bytes, {} needed",
                mask.map_or(0, |m| m.len()),
                plane_px * nb
            )));
        }
        let paste = Paste {
            cog: self,
            plan,
            decoded,
        };
        let size = self.dtype.size();
        let alpha = match (plan.validity, &mask) {
            (Validity::Alpha(a), Some(_)) => {
                let mut plane = vec![0u8; plane_px * size];
                paste.data(&mut plane, a);
                Some((a, plane))
            }
            _ => None,
        };
        let planes = out
            .par_chunks_mut(plane_px * size)
            .zip(plan.bands.par_iter());
        match mask {
            Some(mask) => planes
                .zip(mask.par_chunks_mut(plane_px))
                .for_each(|((o, &band), m)| {
                    paste.data(o, band);
                    let is_alpha = alpha.as_ref().is_some_and(|(a, _)| *a == band);
                    let values: &[u8] = match &alpha {
                        Some((_, plane)) if !is_alpha => plane,
                        _ => o,
                    };
                    paste.mask(m, values, is_alpha);
                }),
            None => planes.for_each(|(o, &band)| paste.data(o, band)),
        }
        Ok(())
    }

    /// Read `window` of the 0-based `bands` at `overview` (`None` = full resolution) into `out`, and the
    /// validity mask into `mask` if given: [`Cog::plan`], [`Cog::fetch`], then [`Cog::decode_into`].
    ///
    /// The decode runs on the decode pool while the calling thread waits: an async caller that must not
    /// hold its executor thread calls [`Cog::fetch`], then [`Cog::decode_into`] in `spawn_blocking`.
    pub async fn read_window(
        &self,
        window: &Window,
        bands: &[usize],
        overview: Option<usize>,
        out: &mut [u8],
        mask: Option<&mut [u8]>,
    ) -> Result<()> {
        let plan = self.plan(window, bands, overview)?;
        let fetched = self.fetch(&plan).await?;
        self.decode_into(&plan, fetched, out, mask)
    }
}

/// The bands of `bands`, each once, in order of first appearance.
fn dedup(bands: &[usize]) -> Vec<usize> {
    let mut seen = Vec::with_capacity(bands.len());
    for b in bands {
        if !seen.contains(b) {
            seen.push(*b);
        }
    }
    seen
}

/// Where a block's pixels land in the window: a rectangle of `width` x `height`, from (`src_col`, `src_row`)
/// in the block to (`dst_col`, `dst_row`) in the window.
struct Placement {
    src_col: usize,
    src_row: usize,
    dst_col: usize,
    dst_row: usize,
    width: usize,
    height: usize,
}

/// Pasting decoded blocks into one band plane of the output.
struct Paste<'a> {
    cog: &'a Cog,
    plan: &'a ReadPlan,
    decoded: &'a [Option<&'a [u8]>],
}

impl Paste<'_> {
    /// The blocks of `image` with their decoded samples and placements.
    fn blocks(&self, image: usize) -> impl Iterator<Item = (&BlockRef, &[u8], Placement)> {
        let inside = self.plan.inside;
        self.plan
            .blocks
            .iter()
            .zip(self.decoded)
            .filter(move |(b, _)| b.image == image)
            .filter_map(move |(b, d)| {
                let im = &self.cog.images[b.image];
                let inside = inside?;
                let (bx, by) = (b.col * im.tile_width, b.row * im.tile_height);
                let c0 = bx.max(inside.col_off as u64);
                let r0 = by.max(inside.row_off as u64);
                let c1 = (bx + im.tile_width).min(inside.col_off as u64 + inside.width);
                let r1 = (by + im.block_rows(b.row)).min(inside.row_off as u64 + inside.height);
                let placement = Placement {
                    src_col: (c0 - bx) as usize,
                    src_row: (r0 - by) as usize,
                    dst_col: (c0 as i64 - self.plan.window.col_off) as usize,
                    dst_row: (r0 as i64 - self.plan.window.row_off) as usize,
                    width: c1.saturating_sub(c0) as usize,
                    height: r1.saturating_sub(r0) as usize,
                };
                Some((b, (*d)?, placement))
            })
    }

    /// Fill (where needed) and paste band `band` into its plane `out`.
    fn data(&self, out: &mut [u8], band: usize) {
        let cog = self.cog;
        let window = &self.plan.window;
        let image = &cog.images[self.plan.level.image];
        let size = cog.dtype.size();
        let sparse = self
            .plan
            .blocks
            .iter()
            .any(|b| b.image == image.index && b.range.is_empty());
        if sparse || self.plan.inside != Some(*window) {
            let mut fill = [0u8; 8];
            cog.dtype.write_value(
                cog.nodata()
                    .filter(|v| !v.is_nan() || cog.dtype.is_float())
                    .unwrap_or(0.0),
                &mut fill[..size],
            );
            out.chunks_exact_mut(size)
                .for_each(|s| s.copy_from_slice(&fill[..size]));
        }
        let per_pixel = image.block_samples() as usize;
        let row_len = window.width as usize * size;
        let src_row_len = image.decoded_row_bytes();
        let sample = if image.planar { 0 } else { band };
        for (b, block, p) in self.blocks(image.index) {
            if image.planar && b.plane != band {
                continue;
            }
            for y in 0..p.height {
                let dst =
                    &mut out[(p.dst_row + y) * row_len + p.dst_col * size..][..p.width * size];
                let src = &block[(p.src_row + y) * src_row_len..];
                if image.samples == Ok(Samples::Bit) {
                    for (x, d) in dst.iter_mut().enumerate() {
                        *d = bit(src, p.src_col + x);
                    }
                } else if per_pixel == 1 {
                    dst.copy_from_slice(&src[p.src_col * size..][..p.width * size]);
                } else {
                    let first = (p.src_col * per_pixel + sample) * size;
                    pick(dst, &src[first..], per_pixel * size, size);
                }
            }
        }
    }

    /// Write the validity mask plane `mask` from `values`: the pasted band plane, or the alpha plane when
    /// validity comes from alpha (`is_alpha`: this band is the alpha band itself, all valid).
    fn mask(&self, mask: &mut [u8], values: &[u8], is_alpha: bool) {
        mask.fill(0);
        let Some(inside) = self.plan.inside else {
            return;
        };
        let window = &self.plan.window;
        let w = window.width as usize;
        let (c0, r0) = (
            (inside.col_off - window.col_off) as usize,
            (inside.row_off - window.row_off) as usize,
        );
        let dtype = self.cog.dtype;
        let size = dtype.size();
        let validity = match self.plan.validity {
            Validity::Mask(m) => return self.internal_mask(mask, m),
            Validity::Alpha(_) if is_alpha => Validity::All,
            v => v,
        };
        let valid = |v: &[u8]| match validity {
            Validity::Nodata(n) => {
                let v = dtype.read_value(v);
                !(v == n || (n.is_nan() && v.is_nan()))
            }
            Validity::Alpha(_) => v.iter().any(|b| *b != 0),
            Validity::Mask(_) | Validity::All => true,
        };
        for y in r0..r0 + inside.height as usize {
            let row = &mut mask[y * w + c0..][..inside.width as usize];
            let samples = values[(y * w + c0) * size..].chunks_exact(size);
            for (m, v) in row.iter_mut().zip(samples) {
                *m = valid(v) as u8;
            }
        }
    }

    /// Write the validity mask plane `mask` from the decoded blocks of the internal mask image `m`.
    fn internal_mask(&self, mask: &mut [u8], m: usize) {
        let w = self.plan.window.width as usize;
        let image = &self.cog.images[m];
        let bits = image.samples == Ok(Samples::Bit);
        let row_len = image.decoded_row_bytes();
        for (_, block, p) in self.blocks(m) {
            for y in 0..p.height {
                let src = &block[(p.src_row + y) * row_len..];
                let dst = &mut mask[(p.dst_row + y) * w + p.dst_col..][..p.width];
                for (x, d) in dst.iter_mut().enumerate() {
                    *d = if bits {
                        bit(src, p.src_col + x)
                    } else {
                        (src[p.src_col + x] != 0) as u8
                    };
                }
            }
        }
    }
}

/// Fill `dst` with the `size`-byte samples that start every `step` bytes of `src` (one band of interleaved
/// pixels), with a copy whose length the compiler knows.
fn pick(dst: &mut [u8], src: &[u8], step: usize, size: usize) {
    fn copies<const N: usize>(dst: &mut [u8], src: &[u8], step: usize) {
        for (d, s) in dst.chunks_exact_mut(N).zip(src.chunks(step)) {
            d.copy_from_slice(&s[..N]);
        }
    }
    match size {
        1 => copies::<1>(dst, src, step),
        2 => copies::<2>(dst, src, step),
        4 => copies::<4>(dst, src, step),
        _ => copies::<8>(dst, src, step),
    }
}

/// Bit `x` (MSB first) of a packed row, as 0 or 1.
fn bit(row: &[u8], x: usize) -> u8 {
    (row[x / 8] >> (7 - x % 8)) & 1
}

/// `nodata` if `dtype` can hold it exactly (GDAL masks nothing for a nodata value the type cannot hold).
fn representable(dtype: DataType, nodata: f64) -> Option<f64> {
    if nodata.is_nan() {
        return dtype.is_float().then_some(nodata);
    }
    let mut buf = [0u8; 8];
    dtype.write_value(nodata, &mut buf[..dtype.size()]);
    let back = dtype.read_value(&buf[..dtype.size()]);
    (back == nodata).then_some(back)
}
