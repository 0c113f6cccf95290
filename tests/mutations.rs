//! Bad input never panics and never allocates without bound: valid GeoTIFFs (COGs written here plus the
//! shared corpus) are mutated with seeded random and targeted damage — flipped header and tile bytes,
//! truncations, extreme 4- and 8-byte values, images of 2^31 × 2^31 px, tiles of 2^31 px, tiles claiming
//! 4 GiB — and each mutant is opened and read from memory. Every call must return `Ok` or a typed
//! [`geochips::Error`]; a read of a truncated file that succeeds must return the original pixels; and the
//! largest single allocation of the whole run must stay within the reader's documented caps.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use geochips::write::{CogOptions, Compression, write_cog};
use geochips::{Cog, DataType, Error, GeoTransform, Window};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mutated files to read, spread evenly over the seed files.
const MUTANTS: usize = 1200;

/// How many mutants this run reads: [`MUTANTS`], or `GEOCHIPS_MUTANTS` for a longer local campaign.
fn mutants() -> usize {
    std::env::var("GEOCHIPS_MUTANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MUTANTS)
}
/// Seed of the random mutations, so every run damages the files the same way.
const SEED: u64 = 0x6e0c_4150;
/// Largest output buffer the test hands to one read; bigger reads are skipped (the caller's choice).
const MAX_CALLER_BUFFER: usize = 64 << 20;
/// Largest single allocation the reader may make: one decoded tile (1 GiB) plus slack.
const MAX_SINGLE_ALLOCATION: usize = (1 << 30) + (100 << 20);
/// Width and height of the windows read.
const WINDOW_SIDE: u64 = 64;

/// The system allocator, recording the largest single request.
struct Counting;

/// Largest size passed to one `alloc`, `alloc_zeroed` or `realloc` so far.
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A valid file to mutate.
struct SeedFile {
    name: String,
    bytes: Vec<u8>,
    /// Pixels of every read of the unmutated file, by read.
    reads: HashMap<Read, Vec<u8>>,
}

/// One window read: the window and the level (`None` = full resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Read {
    window: Window,
    overview: Option<usize>,
}

/// What was done to a seed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    /// Random bytes flipped in the first 4 KiB (header and IFDs).
    HeaderFlips,
    /// Random bytes flipped anywhere.
    AnyFlips,
    /// The file cut short.
    Truncate,
    /// An aligned 4 or 8 bytes overwritten with an extreme value.
    Extreme,
    /// ImageWidth and ImageLength of the first IFD set to 2^31 - 1 or 2^31.
    HugeImage,
    /// TileWidth (or TileLength) of the first IFD set to 2^31.
    HugeTile,
    /// One TileByteCounts (or StripByteCounts) value of the first IFD set to 4 GiB.
    HugeByteCount,
    /// The value count of a random entry of the first IFD set to 0.
    ZeroCount,
}

const MUTATIONS: [Mutation; 8] = [
    Mutation::HeaderFlips,
    Mutation::AnyFlips,
    Mutation::Truncate,
    Mutation::Extreme,
    Mutation::HugeImage,
    Mutation::HugeTile,
    Mutation::HugeByteCount,
    Mutation::ZeroCount,
];

/// Counts printed at the end of the run.
#[derive(Debug, Default)]
struct Tally {
    mutants: usize,
    opened: usize,
    reads_ok: usize,
    reads_skipped: usize,
    truncated_reads_compared: usize,
    errors: BTreeMap<String, usize>,
}

impl Tally {
    /// Count `result`, by error variant if it failed.
    fn count<T>(&mut self, result: &Result<T, Error>) {
        if let Err(e) = result {
            *self.errors.entry(variant(e)).or_default() += 1;
        }
    }
}

/// The name of `e`'s variant; decode errors from a decoder that panicked (caught by the reader) apart.
fn variant(e: &Error) -> String {
    let name = format!("{e:?}");
    let name = name.split([' ', '{', '(']).next().unwrap_or_default();
    match e {
        Error::Decode { reason, .. } if reason.contains("panicked") => {
            format!("{name} (caught panic)")
        }
        _ => name.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_files_give_data_or_typed_errors() {
    let started = std::time::Instant::now();
    let dir = std::env::temp_dir().join(format!("geochips-mutations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = written_cogs(&dir);
    paths.extend(corpus_files());
    let mut seeds = Vec::new();
    for path in &paths {
        seeds.push(seed_file(path).await);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut tally = Tally::default();
    let total = mutants();
    for i in 0..total {
        let seed = &seeds[i % seeds.len()];
        let mutation = MUTATIONS[rng.random_range(0..MUTATIONS.len())];
        let mut bytes = seed.bytes.clone();
        mutate(&mut bytes, mutation, &mut rng);
        let href = format!("mutant-{i}-{mutation:?}-{}", seed.name);
        let path = StorePath::from(format!("mutant-{i}.tif"));
        store.put(&path, bytes.into()).await.unwrap();
        check_mutant(&store, path.clone(), &href, seed, mutation, &mut tally).await;
        store.delete(&path).await.unwrap();
    }

    let largest = LARGEST.load(Ordering::Relaxed);
    println!(
        "{} seed files, {} mutants, {} opened, {} reads ok, {} reads skipped (buffer over {} MiB), \
         {} truncated reads equal to the original",
        seeds.len(),
        tally.mutants,
        tally.opened,
        tally.reads_ok,
        tally.reads_skipped,
        MAX_CALLER_BUFFER >> 20,
        tally.truncated_reads_compared
    );
    println!("typed errors by variant: {:?}", tally.errors);
    println!(
        "largest single allocation: {largest} bytes ({:.1} MiB); {:.1} s",
        largest as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(tally.mutants, total);
    assert!(
        largest <= MAX_SINGLE_ALLOCATION,
        "one allocation of {largest} bytes: a size taken from the file without a limit"
    );
}

/// COGs written with geochips' writer into `dir`: uint16 × 4 bands DEFLATE + predictor with an overview and
/// nodata, uint8 × 1 band uncompressed, float32 × 2 bands DEFLATE.
fn written_cogs(dir: &Path) -> Vec<PathBuf> {
    let transform = GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0);
    let options = |compression, overviews, nodata| CogOptions {
        tile_size: 64,
        compression,
        overviews,
        nodata,
        epsg: Some(32633),
        ..CogOptions::new(transform)
    };
    let (width, height) = (300, 200);
    let cases = [
        (
            DataType::U16,
            4,
            options(Compression::Deflate, 1, Some(0.0)),
        ),
        (DataType::U8, 1, options(Compression::None, 0, None)),
        (
            DataType::F32,
            2,
            options(Compression::Deflate, 1, Some(-9999.0)),
        ),
    ];
    cases
        .iter()
        .map(|(dtype, bands, opts)| {
            let path = dir.join(format!("{}x{bands}.tif", dtype.name()));
            let data = pattern(*dtype, bands * width * height);
            write_cog(&path, &data, *dtype, *bands, width, height, opts).unwrap();
            path
        })
        .collect()
}

/// `samples` varied native-endian samples of `dtype`.
fn pattern(dtype: DataType, samples: usize) -> Vec<u8> {
    let mut out = vec![0u8; samples * dtype.size()];
    for (i, sample) in out.chunks_exact_mut(dtype.size()).enumerate() {
        dtype.write_value(((i * 7919) % 251) as f64 + 1.0, sample);
    }
    out
}

/// Every `.tif`/`.tiff` of the shared corpus (recursively).
fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    assert!(
        root.is_dir(),
        "the shared test corpus is missing at {}: it holds the real-world seed files of this test",
        root.display()
    );
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if path.is_dir() {
                dirs.push(path);
            } else if ext.eq_ignore_ascii_case("tif") || ext.eq_ignore_ascii_case("tiff") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Load `path` and record its reads; a seed file the reader cannot open or read is kept, with no reads
/// (its mutants still must not panic).
async fn seed_file(path: &Path) -> SeedFile {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let key = StorePath::from("seed.tif");
    store.put(&key, bytes.clone().into()).await.unwrap();
    let mut reads = HashMap::new();
    if let Ok(cog) = Cog::open_in(store, key, &name).await {
        for read in reads_of(&cog) {
            if let Some(Ok(pixels)) = read_pixels(&cog, read).await {
                reads.insert(read, pixels);
            }
        }
    }
    let written = path.starts_with(std::env::temp_dir());
    assert!(
        !written || !reads.is_empty(),
        "{name}: the unmutated file written by geochips must read"
    );
    SeedFile { name, bytes, reads }
}

/// The windows read from each file: the top-left corner and a window straddling the bottom-right edge at
/// full resolution, and the top-left corner of each overview.
fn reads_of(cog: &Cog) -> Vec<Read> {
    let corner = |(w, h): (u64, u64)| Window::new(0, 0, w.min(WINDOW_SIDE), h.min(WINDOW_SIDE));
    let (w, h) = (cog.width(), cog.height());
    let half = (WINDOW_SIDE / 2) as i64;
    let mut reads = vec![
        Read {
            window: corner((w, h)),
            overview: None,
        },
        Read {
            window: Window::new(w as i64 - half, h as i64 - half, WINDOW_SIDE, WINDOW_SIDE),
            overview: None,
        },
    ];
    reads.extend(
        cog.overviews()
            .into_iter()
            .enumerate()
            .map(|(o, size)| Read {
                window: corner(size),
                overview: Some(o),
            }),
    );
    reads
}

/// Read all bands of `read`; `None` where the buffer would exceed [`MAX_CALLER_BUFFER`].
async fn read_pixels(cog: &Cog, read: Read) -> Option<Result<Vec<u8>, Error>> {
    let bands: Vec<usize> = (0..cog.count()).collect();
    let len = (read.window.pixels() as usize)
        .checked_mul(bands.len() * cog.dtype().size())
        .filter(|l| *l <= MAX_CALLER_BUFFER)?;
    let mut pixels = vec![0u8; len];
    let mut mask = vec![0u8; len / cog.dtype().size()];
    let result = cog
        .read_window(
            &read.window,
            &bands,
            read.overview,
            &mut pixels,
            Some(&mut mask),
        )
        .await;
    Some(result.map(|()| pixels))
}

/// Open and read one mutant; reads of a truncated file that succeed must equal the original's.
async fn check_mutant(
    store: &Arc<dyn ObjectStore>,
    path: StorePath,
    href: &str,
    seed: &SeedFile,
    mutation: Mutation,
    tally: &mut Tally,
) {
    tally.mutants += 1;
    let opened = Cog::open_in(store.clone(), path, href).await;
    tally.count(&opened);
    let Ok(cog) = opened else { return };
    tally.opened += 1;
    // Metadata accessors must not panic either.
    let _ = (cog.crs(), cog.transform(), cog.nodata(), cog.unsupported());
    for read in reads_of(&cog) {
        let Some(result) = read_pixels(&cog, read).await else {
            tally.reads_skipped += 1;
            continue;
        };
        tally.count(&result);
        let Ok(pixels) = result else { continue };
        tally.reads_ok += 1;
        if mutation == Mutation::Truncate
            && let Some(original) = seed.reads.get(&read)
        {
            assert!(
                pixels == *original,
                "{href}: a read of {read:?} from the truncated file succeeded with other pixels"
            );
            tally.truncated_reads_compared += 1;
        }
    }
}

/// Apply `mutation` to `bytes`; a targeted mutation of a file whose first IFD the test cannot parse flips
/// header bytes instead.
fn mutate(bytes: &mut Vec<u8>, mutation: Mutation, rng: &mut StdRng) {
    let done = match mutation {
        Mutation::HeaderFlips => {
            let end = bytes.len().min(4096);
            flip(&mut bytes[..end], rng);
            true
        }
        Mutation::AnyFlips => {
            flip(bytes, rng);
            true
        }
        Mutation::Truncate => {
            let len = rng.random_range(0..bytes.len());
            bytes.truncate(len);
            true
        }
        Mutation::Extreme => {
            extreme(bytes, rng);
            true
        }
        Mutation::HugeImage => {
            let side = if rng.random() { (1 << 31) - 1 } else { 1 << 31 };
            set_first(bytes, IMAGE_WIDTH, side) && set_first(bytes, IMAGE_LENGTH, side)
        }
        Mutation::HugeTile => {
            let tag = if rng.random() {
                TILE_WIDTH
            } else {
                TILE_LENGTH
            };
            set_first(bytes, tag, 1 << 31)
        }
        Mutation::HugeByteCount => {
            set_element(bytes, TILE_BYTE_COUNTS, u32::MAX, rng)
                || set_element(bytes, STRIP_BYTE_COUNTS, u32::MAX, rng)
        }
        Mutation::ZeroCount => zero_count(bytes, rng),
    };
    if !done {
        let end = bytes.len().min(4096);
        flip(&mut bytes[..end], rng);
    }
}

/// XOR 1 to 8 random bytes of `bytes` with random non-zero values.
fn flip(bytes: &mut [u8], rng: &mut StdRng) {
    if bytes.is_empty() {
        return;
    }
    for _ in 0..rng.random_range(1..=8) {
        let i = rng.random_range(0..bytes.len());
        bytes[i] ^= rng.random_range(1..=255u8);
    }
}

/// Overwrite an aligned 4 or 8 bytes with 0, `u32::MAX`, `0x7FFF_FFFF` or `0x8000_0000` (both byte orders
/// alike, as the value's bytes are written little-endian into a file of either order).
fn extreme(bytes: &mut [u8], rng: &mut StdRng) {
    const VALUES: [u32; 4] = [0, u32::MAX, 0x7FFF_FFFF, 0x8000_0000];
    let width = if rng.random() { 4 } else { 8 };
    if bytes.len() < width {
        return;
    }
    let at = rng.random_range(0..=(bytes.len() - width) / width) * width;
    let value = VALUES[rng.random_range(0..VALUES.len())] as u64;
    let value = if width == 8 {
        value | value << 32
    } else {
        value
    };
    bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

const IMAGE_WIDTH: u16 = 256;
const IMAGE_LENGTH: u16 = 257;
const STRIP_BYTE_COUNTS: u16 = 279;
const TILE_WIDTH: u16 = 322;
const TILE_LENGTH: u16 = 323;
const TILE_BYTE_COUNTS: u16 = 325;

/// One 12-byte entry of a classic TIFF's first IFD.
struct Entry {
    /// Offset of the entry in the file.
    at: usize,
    typ: u16,
    count: u32,
}

/// A classic (not Big) TIFF's byte order: whether it is little-endian; `None` for anything else.
fn little_endian(bytes: &[u8]) -> Option<bool> {
    match bytes.get(..4)? {
        [b'I', b'I', 42, 0] => Some(true),
        [b'M', b'M', 0, 42] => Some(false),
        _ => None,
    }
}

/// Read a `u16`/`u32` at `at` in the file's byte order.
fn read_uint(bytes: &[u8], at: usize, len: usize, le: bool) -> Option<u32> {
    let raw = bytes.get(at..at + len)?;
    let mut value = 0u32;
    for i in 0..len {
        let b = if le { raw[len - 1 - i] } else { raw[i] };
        value = value << 8 | b as u32;
    }
    Some(value)
}

/// Write the low `len` bytes of `value` at `at` in the file's byte order.
fn write_uint(bytes: &mut [u8], at: usize, len: usize, value: u32, le: bool) {
    let be = value.to_be_bytes();
    let raw = &be[4 - len..];
    for i in 0..len {
        bytes[at + i] = if le { raw[len - 1 - i] } else { raw[i] };
    }
}

/// The entries of the first IFD of a classic TIFF, with their tags (empty for other files).
fn entries(bytes: &[u8]) -> Vec<(u16, Entry)> {
    let Some(le) = little_endian(bytes) else {
        return Vec::new();
    };
    let ifd = read_uint(bytes, 4, 4, le).unwrap_or(0) as usize;
    let count = read_uint(bytes, ifd, 2, le).unwrap_or(0) as usize;
    (0..count)
        .map_while(|i| {
            let at = ifd + 2 + 12 * i;
            let entry = Entry {
                at,
                typ: read_uint(bytes, at + 2, 2, le)? as u16,
                count: read_uint(bytes, at + 4, 4, le)?,
            };
            Some((read_uint(bytes, at, 2, le)? as u16, entry))
        })
        .collect()
}

/// The entry of `tag` in the first IFD of a classic TIFF.
fn find_entry(bytes: &[u8], tag: u16) -> Option<Entry> {
    entries(bytes)
        .into_iter()
        .find_map(|(t, entry)| (t == tag).then_some(entry))
}

/// Set the value count of a random entry of the first IFD to 0; false where there is none.
fn zero_count(bytes: &mut [u8], rng: &mut StdRng) -> bool {
    let (Some(le), mut entries) = (little_endian(bytes), entries(bytes)) else {
        return false;
    };
    if entries.is_empty() {
        return false;
    }
    let (_, entry) = entries.swap_remove(rng.random_range(0..entries.len()));
    write_uint(bytes, entry.at + 4, 4, 0, le);
    true
}

/// Make `tag` of the first IFD a single LONG `value`; false where the file has no such entry.
fn set_first(bytes: &mut [u8], tag: u16, value: u32) -> bool {
    let (Some(le), Some(entry)) = (little_endian(bytes), find_entry(bytes, tag)) else {
        return false;
    };
    write_uint(bytes, entry.at + 2, 2, 4, le);
    write_uint(bytes, entry.at + 4, 4, 1, le);
    write_uint(bytes, entry.at + 8, 4, value, le);
    true
}

/// Set one random value of the SHORT or LONG array `tag` of the first IFD to `value` (saturated to the
/// type); false where the file has no such entry.
fn set_element(bytes: &mut [u8], tag: u16, value: u32, rng: &mut StdRng) -> bool {
    let (Some(le), Some(entry)) = (little_endian(bytes), find_entry(bytes, tag)) else {
        return false;
    };
    let size = match entry.typ {
        3 => 2,
        4 => 4,
        _ => return false,
    };
    if entry.count == 0 {
        return false;
    }
    let values = element_range(bytes, &entry, size, le);
    let Some(values) = values.filter(|r| r.end <= bytes.len()) else {
        return false;
    };
    let i = rng.random_range(0..entry.count as usize);
    let value = if size == 2 { value.min(0xFFFF) } else { value };
    write_uint(bytes, values.start + i * size, size, value, le);
    true
}

/// Where the values of `entry` lie: inline in the entry or at the offset it holds.
fn element_range(bytes: &[u8], entry: &Entry, size: usize, le: bool) -> Option<Range<usize>> {
    let len = entry.count as usize * size;
    let start = if len <= 4 {
        entry.at + 8
    } else {
        read_uint(bytes, entry.at + 8, 4, le)? as usize
    };
    Some(start..start + len)
}
