//! Well-Known Binary for the one geometry the catalog stores: a polygon with a single ring (little-endian,
//! ISO WKB type 3), as GeoParquet's `WKB` encoding holds it.

/// WKB of the polygon whose only ring is `ring` (closed: first point == last point).
pub(crate) fn polygon(ring: &[(f64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(13 + 16 * ring.len());
    out.push(1); // little-endian
    out.extend_from_slice(&3u32.to_le_bytes()); // Polygon
    out.extend_from_slice(&1u32.to_le_bytes()); // one ring
    out.extend_from_slice(&(ring.len() as u32).to_le_bytes());
    for &(x, y) in ring {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
    out
}

/// The exterior ring of a WKB polygon (either byte order; inner rings are ignored).
pub(crate) fn parse_polygon(wkb: &[u8]) -> Result<Vec<(f64, f64)>, String> {
    let mut r = Reader {
        wkb,
        pos: 0,
        le: true,
    };
    r.le = match r.bytes(1)?[0] {
        0 => false,
        1 => true,
        b => return Err(format!("bad WKB byte order {b}")),
    };
    let kind = r.u32()?;
    if kind != 3 {
        return Err(format!("WKB geometry type {kind}, expected 3 (Polygon)"));
    }
    let rings = r.u32()?;
    if rings == 0 {
        return Ok(Vec::new());
    }
    let n = r.u32()? as usize;
    if n > wkb.len() / 16 {
        return Err(format!("WKB ring of {n} points in {} bytes", wkb.len()));
    }
    (0..n).map(|_| Ok((r.f64()?, r.f64()?))).collect()
}

struct Reader<'a> {
    wkb: &'a [u8],
    pos: usize,
    le: bool,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let b = self
            .wkb
            .get(self.pos..self.pos + n)
            .ok_or_else(|| format!("WKB truncated at byte {}", self.pos))?;
        self.pos += n;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let le = self.le;
        let b: [u8; 4] = self.bytes(4)?.try_into().expect("4 bytes");
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self) -> Result<f64, String> {
        let le = self.le;
        let b: [u8; 8] = self.bytes(8)?.try_into().expect("8 bytes");
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_round_trips_and_matches_the_spec_layout() {
        let ring = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
        let wkb = polygon(&ring);
        assert_eq!(&wkb[..13], &[1, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(wkb.len(), 13 + 4 * 16);
        assert_eq!(parse_polygon(&wkb).unwrap(), ring);
        assert!(parse_polygon(&wkb[..20]).is_err());
        assert!(parse_polygon(&[1, 1, 0, 0, 0]).is_err());
    }
}
