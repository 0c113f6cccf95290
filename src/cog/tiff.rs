//! The TIFF structure: header, IFD chain and tag values, parsed from whatever header bytes were fetched.
//!
//! Parsing never trusts a size read from the file: counts and offsets are checked against the file size and
//! against [`MAX_TAG_BYTES`] / [`MAX_IFDS`] / [`MAX_ENTRIES`] before anything is allocated. Where the bytes a
//! structure needs were not fetched yet, [`parse`] returns the ranges to fetch instead of guessing.

use std::collections::BTreeMap;
use std::ops::Range;

use bytes::Bytes;

/// Most IFDs (images) one file may hold.
pub(crate) const MAX_IFDS: usize = 1024;
/// Most entries one IFD may hold.
pub(crate) const MAX_ENTRIES: u64 = 4096;
/// Most bytes one tag's value may take (tile offset arrays of huge rasters stay well under this).
pub(crate) const MAX_TAG_BYTES: u64 = 64 << 20;

/// Byte order of a TIFF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    /// "II": little-endian.
    Little,
    /// "MM": big-endian.
    Big,
}

impl ByteOrder {
    /// Whether this is the byte order of the machine we run on.
    pub(crate) fn is_native(self) -> bool {
        (self == ByteOrder::Little) == cfg!(target_endian = "little")
    }

    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(a),
            ByteOrder::Big => u16::from_be_bytes(a),
        }
    }

    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            ByteOrder::Little => u32::from_le_bytes(a),
            ByteOrder::Big => u32::from_be_bytes(a),
        }
    }

    fn u64(self, b: &[u8]) -> u64 {
        let a: [u8; 8] = b[..8].try_into().expect("8 bytes");
        match self {
            ByteOrder::Little => u64::from_le_bytes(a),
            ByteOrder::Big => u64::from_be_bytes(a),
        }
    }
}

/// Byte ranges of a file fetched so far, each kept as it arrived.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    parts: Vec<(u64, Bytes)>,
}

impl Fetched {
    /// Record `bytes`, which start at `offset` in the file.
    pub(crate) fn add(&mut self, offset: u64, bytes: Bytes) {
        self.parts.push((offset, bytes));
    }

    /// The bytes `[offset, offset + len)`, if one fetched part holds them all.
    fn get(&self, offset: u64, len: u64) -> Option<Bytes> {
        let end = offset.checked_add(len)?;
        self.parts.iter().find_map(|(start, bytes)| {
            let part_end = start + bytes.len() as u64;
            (offset >= *start && end <= part_end)
                .then(|| bytes.slice((offset - start) as usize..(end - start) as usize))
        })
    }

    /// Total bytes held.
    pub(crate) fn len(&self) -> u64 {
        self.parts.iter().map(|(_, b)| b.len() as u64).sum()
    }
}

/// One tag's value: its TIFF type, count and raw bytes (in the file's byte order).
#[derive(Debug, Clone)]
pub(crate) struct TagValue {
    typ: u16,
    count: u64,
    raw: Bytes,
}

/// One Image File Directory: its tags by number.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ifd {
    /// Offset of the IFD in the file.
    pub(crate) offset: u64,
    tags: BTreeMap<u16, TagValue>,
}

/// The parsed structure of a TIFF: byte order, BigTIFF or not, and every IFD of the main chain.
#[derive(Debug, Clone)]
pub(crate) struct Tiff {
    /// Byte order of every multi-byte value in the file.
    pub(crate) order: ByteOrder,
    /// Whether the file is a BigTIFF.
    pub(crate) big: bool,
    /// The IFDs, in file order.
    pub(crate) ifds: Vec<Ifd>,
}

/// What [`parse`] found: the structure, or the byte ranges still needed to finish parsing.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Every IFD and tag value was in the fetched bytes.
    Done(Tiff),
    /// Fetch these ranges and parse again.
    Need(Vec<Range<u64>>),
}

/// Size in bytes of one value of a TIFF field type, `None` for unknown types.
fn type_size(typ: u16) -> Option<u64> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return None,
    })
}

/// Parse the TIFF structure from `fetched`, a file of `size` bytes. `Err` holds a reason for an invalid file.
pub(crate) fn parse(fetched: &Fetched, size: u64) -> Result<Parsed, String> {
    let Some(head) = fetched.get(0, 16.min(size)) else {
        return Err("the first bytes of the file were not fetched".into());
    };
    if head.len() < 8 {
        return Err(format!("file is {size} bytes, too short for a TIFF header"));
    }
    let order = match &head[..2] {
        b"II" => ByteOrder::Little,
        b"MM" => ByteOrder::Big,
        _ => return Err("not a TIFF file (no II/MM byte-order mark)".into()),
    };
    let (big, first) = match order.u16(&head[2..]) {
        42 => (false, order.u32(&head[4..]) as u64),
        43 if head.len() >= 16 => {
            if order.u16(&head[4..]) != 8 {
                return Err("BigTIFF header with an offset size other than 8".into());
            }
            (true, order.u64(&head[8..]))
        }
        v => return Err(format!("bad TIFF version number {v}")),
    };
    let (count_size, entry_size, next_size) = if big { (8, 20, 8) } else { (2, 12, 4) };
    let mut ifds = Vec::new();
    let mut needs = Vec::new();
    let mut next = first;
    while next != 0 {
        if ifds.len() >= MAX_IFDS {
            return Err(format!("more than {MAX_IFDS} IFDs (or an IFD loop)"));
        }
        if ifds.iter().any(|i: &Ifd| i.offset == next) {
            return Err(format!("IFD loop at offset {next}"));
        }
        if next.checked_add(count_size).is_none_or(|e| e > size) {
            return Err(format!(
                "IFD offset {next} is past the end of the file ({size} bytes)"
            ));
        }
        let Some(count_bytes) = fetched.get(next, count_size) else {
            needs.push(next..next + count_size);
            break;
        };
        let count = if big {
            order.u64(&count_bytes)
        } else {
            order.u16(&count_bytes) as u64
        };
        if count > MAX_ENTRIES {
            return Err(format!("IFD at {next} claims {count} entries"));
        }
        let table_len = count * entry_size + next_size;
        if next + count_size + table_len > size {
            return Err(format!("IFD at {next} runs past the end of the file"));
        }
        let Some(table) = fetched.get(next + count_size, table_len) else {
            needs.push(next..next + count_size + table_len);
            break;
        };
        let mut ifd = Ifd {
            offset: next,
            tags: BTreeMap::new(),
        };
        for e in table[..(count * entry_size) as usize].chunks_exact(entry_size as usize) {
            let tag = order.u16(e);
            let typ = order.u16(&e[2..]);
            let Some(tsize) = type_size(typ) else {
                continue;
            };
            let n = if big {
                order.u64(&e[4..])
            } else {
                order.u32(&e[4..]) as u64
            };
            let len = n
                .checked_mul(tsize)
                .filter(|l| *l <= MAX_TAG_BYTES)
                .ok_or_else(|| format!("tag {tag} at IFD {next} claims {n} values"))?;
            let inline = if big { 8 } else { 4 };
            let field = &e[if big { 12 } else { 8 }..];
            let raw = if len <= inline {
                Bytes::copy_from_slice(&field[..len as usize])
            } else {
                let off = if big {
                    order.u64(field)
                } else {
                    order.u32(field) as u64
                };
                if off.checked_add(len).is_none_or(|end| end > size) {
                    return Err(format!(
                        "tag {tag} at IFD {next}: value runs past the end of the file"
                    ));
                }
                match fetched.get(off, len) {
                    Some(b) => b,
                    None => {
                        needs.push(off..off + len);
                        continue;
                    }
                }
            };
            ifd.tags.insert(tag, TagValue { typ, count: n, raw });
        }
        let tail = &table[(count * entry_size) as usize..];
        next = if big {
            order.u64(tail)
        } else {
            order.u32(tail) as u64
        };
        ifds.push(ifd);
    }
    if !needs.is_empty() {
        return Ok(Parsed::Need(needs));
    }
    if ifds.is_empty() {
        return Err("no IFD".into());
    }
    Ok(Parsed::Done(Tiff { order, big, ifds }))
}

impl Tiff {
    /// The unsigned integer values of `tag` in `ifd` (BYTE, SHORT, LONG, LONG8, IFD types).
    pub(crate) fn uints(&self, ifd: &Ifd, tag: u16) -> Option<Vec<u64>> {
        let v = ifd.tags.get(&tag)?;
        let o = self.order;
        let vals: Vec<u64> = match v.typ {
            1 | 7 => v.raw.iter().map(|b| *b as u64).collect(),
            3 => v.raw.chunks_exact(2).map(|b| o.u16(b) as u64).collect(),
            4 | 13 => v.raw.chunks_exact(4).map(|b| o.u32(b) as u64).collect(),
            16 | 18 => v.raw.chunks_exact(8).map(|b| o.u64(b)).collect(),
            _ => return None,
        };
        (vals.len() as u64 == v.count).then_some(vals)
    }

    /// The first unsigned integer value of `tag`.
    pub(crate) fn uint(&self, ifd: &Ifd, tag: u16) -> Option<u64> {
        self.uints(ifd, tag)?.first().copied()
    }

    /// The values of a numeric `tag` as f64 (any numeric type, rationals divided out).
    pub(crate) fn floats(&self, ifd: &Ifd, tag: u16) -> Option<Vec<f64>> {
        let v = ifd.tags.get(&tag)?;
        let o = self.order;
        Some(match v.typ {
            11 => v
                .raw
                .chunks_exact(4)
                .map(|b| f32::from_bits(o.u32(b)) as f64)
                .collect(),
            12 => v
                .raw
                .chunks_exact(8)
                .map(|b| f64::from_bits(o.u64(b)))
                .collect(),
            5 => v
                .raw
                .chunks_exact(8)
                .map(|b| o.u32(b) as f64 / o.u32(&b[4..]) as f64)
                .collect(),
            10 => {
                let s = |b: &[u8]| o.u32(b) as i32 as f64;
                v.raw.chunks_exact(8).map(|b| s(b) / s(&b[4..])).collect()
            }
            6 => v.raw.iter().map(|b| *b as i8 as f64).collect(),
            8 => v
                .raw
                .chunks_exact(2)
                .map(|b| o.u16(b) as i16 as f64)
                .collect(),
            9 => v
                .raw
                .chunks_exact(4)
                .map(|b| o.u32(b) as i32 as f64)
                .collect(),
            17 => v
                .raw
                .chunks_exact(8)
                .map(|b| o.u64(b) as i64 as f64)
                .collect(),
            _ => self
                .uints(ifd, tag)?
                .into_iter()
                .map(|u| u as f64)
                .collect(),
        })
    }

    /// The text of an ASCII `tag`, up to its first NUL.
    pub(crate) fn ascii(&self, ifd: &Ifd, tag: u16) -> Option<String> {
        let v = ifd.tags.get(&tag)?;
        let text = v.raw.split(|b| *b == 0).next().unwrap_or_default();
        Some(String::from_utf8_lossy(text).into_owned())
    }

    /// The raw bytes of `tag` (e.g. JPEGTables), in file order.
    pub(crate) fn bytes(&self, ifd: &Ifd, tag: u16) -> Option<Bytes> {
        ifd.tags.get(&tag).map(|v| v.raw.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian classic TIFF with one IFD holding ImageWidth = 7 (SHORT) and a 3-value LONG array
    /// stored out of line.
    fn tiny() -> Vec<u8> {
        let mut f = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        f.extend(2u16.to_le_bytes());
        f.extend([0x00, 0x01, 3, 0, 1, 0, 0, 0, 7, 0, 0, 0]);
        f.extend([0x44, 0x01, 4, 0, 3, 0, 0, 0]);
        f.extend(38u32.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        for v in [10u32, 20, 30] {
            f.extend(v.to_le_bytes());
        }
        f
    }

    #[test]
    fn parses_inline_and_out_of_line_values() {
        let file = tiny();
        let mut fetched = Fetched::default();
        fetched.add(0, Bytes::from(file.clone()));
        let Parsed::Done(tiff) = parse(&fetched, file.len() as u64).unwrap() else {
            panic!("needs more")
        };
        assert_eq!(tiff.order, ByteOrder::Little);
        assert_eq!(tiff.uint(&tiff.ifds[0], 256), Some(7));
        assert_eq!(tiff.uints(&tiff.ifds[0], 324), Some(vec![10, 20, 30]));
    }

    #[test]
    fn asks_for_the_bytes_it_lacks() {
        let file = tiny();
        let mut fetched = Fetched::default();
        fetched.add(0, Bytes::from(file[..38].to_vec()));
        match parse(&fetched, file.len() as u64).unwrap() {
            Parsed::Need(r) => assert_eq!(r, vec![38..50]),
            Parsed::Done(_) => panic!("parsed without the array"),
        }
    }

    #[test]
    fn refuses_absurd_counts_before_allocating() {
        let mut file = tiny();
        file[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut fetched = Fetched::default();
        fetched.add(0, Bytes::from(file.clone()));
        let err = parse(&fetched, file.len() as u64).unwrap_err();
        assert!(
            err.contains("values") || err.contains("past the end"),
            "{err}"
        );
    }
}
