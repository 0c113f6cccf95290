//! A uniform grid of buckets over rectangles, per CRS: which rectangles may contain a point.

use crate::Bounds;

/// One rectangle in a bucket, stored inline so that a query touches one contiguous run of memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) rect: Bounds,
    /// Containment tolerance for this rectangle.
    pub(crate) tol: f64,
    /// Index of the rectangle in the list the index was built from.
    pub(crate) id: u32,
    /// A flag carried for the caller.
    pub(crate) flag: bool,
}

/// Rectangles in groups (one group per CRS), bucketed on one uniform grid per group.
#[derive(Debug, Clone)]
pub(crate) struct BucketIndex {
    grids: Vec<Grid>,
}

#[derive(Debug, Clone)]
struct Grid {
    x0: f64,
    y0: f64,
    inv_cw: f64,
    inv_ch: f64,
    nx: usize,
    ny: usize,
    /// Bucket `k`'s rectangles are `entries[starts[k]..starts[k + 1]]`.
    starts: Vec<u32>,
    entries: Vec<Entry>,
}

const MAX_SIDE: usize = 2048;

impl BucketIndex {
    /// The index of `rects`, where rectangle `i` belongs to group `groups[i]` (groups numbered `0..n_groups`).
    /// Rectangle `i` carries the tolerance `tols[i]` and the flag `flags[i]`.
    pub(crate) fn new(
        rects: &[Bounds],
        tols: &[f64],
        flags: &[bool],
        groups: &[u32],
        n_groups: usize,
    ) -> BucketIndex {
        let grids = (0..n_groups as u32)
            .map(|g| {
                let members: Vec<usize> = (0..rects.len()).filter(|&i| groups[i] == g).collect();
                Grid::new(rects, &members, &|i| Entry {
                    rect: rects[i],
                    tol: tols[i],
                    id: i as u32,
                    flag: flags[i],
                })
            })
            .collect();
        BucketIndex { grids }
    }

    /// The rectangles of `group` that may contain the point `(x, y)` (a superset; test them), in increasing id.
    #[inline]
    pub(crate) fn candidates(&self, group: u32, x: f64, y: f64) -> &[Entry] {
        let g = &self.grids[group as usize];
        let cx = ((x - g.x0) * g.inv_cw).floor();
        let cy = ((y - g.y0) * g.inv_ch).floor();
        if !(cx >= 0.0 && cy >= 0.0 && (cx as usize) < g.nx && (cy as usize) < g.ny) {
            return &[];
        }
        let k = cy as usize * g.nx + cx as usize;
        &g.entries[g.starts[k] as usize..g.starts[k + 1] as usize]
    }
}

impl BucketIndex {
    /// Ids of the rectangles of `group` that meet the closed rectangle `r`, sorted, into `out`.
    pub(crate) fn overlapping(&self, group: u32, r: &Bounds, out: &mut Vec<u32>) {
        out.clear();
        let g = &self.grids[group as usize];
        let cell = |v: f64, o: f64, inv: f64, n: usize| {
            (((v - o) * inv).floor().max(0.0) as usize).min(n - 1)
        };
        let (x0, x1) = (
            cell(r.minx, g.x0, g.inv_cw, g.nx),
            cell(r.maxx, g.x0, g.inv_cw, g.nx),
        );
        let (y0, y1) = (
            cell(r.miny, g.y0, g.inv_ch, g.ny),
            cell(r.maxy, g.y0, g.inv_ch, g.ny),
        );
        for y in y0..=y1 {
            for x in x0..=x1 {
                let k = y * g.nx + x;
                for e in &g.entries[g.starts[k] as usize..g.starts[k + 1] as usize] {
                    let q = &e.rect;
                    if q.minx <= r.maxx && r.minx <= q.maxx && q.miny <= r.maxy && r.miny <= q.maxy
                    {
                        out.push(e.id);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

impl Grid {
    fn new(rects: &[Bounds], members: &[usize], entry: &dyn Fn(usize) -> Entry) -> Grid {
        if members.is_empty() {
            return Grid {
                x0: 0.0,
                y0: 0.0,
                inv_cw: 1.0,
                inv_ch: 1.0,
                nx: 1,
                ny: 1,
                starts: vec![0, 0],
                entries: vec![],
            };
        }
        let mut b = rects[members[0]];
        for &i in members {
            let r = rects[i];
            b = Bounds::new(
                b.minx.min(r.minx),
                b.miny.min(r.miny),
                b.maxx.max(r.maxx),
                b.maxy.max(r.maxy),
            );
        }
        // Buckets the size of a median rectangle: each rectangle lands in about four buckets.
        let median = |f: fn(&Bounds) -> f64| {
            let mut v: Vec<f64> = members.iter().map(|&i| f(&rects[i])).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let side = |extent: f64, cell: f64| ((extent / cell).ceil() as usize).clamp(1, MAX_SIDE);
        let nx = side(
            b.width(),
            median(Bounds::width)
                .max(b.width() * 1e-9)
                .max(f64::MIN_POSITIVE),
        );
        let ny = side(
            b.height(),
            median(Bounds::height)
                .max(b.height() * 1e-9)
                .max(f64::MIN_POSITIVE),
        );
        // Slightly larger than the union so that its far edges fall inside the last bucket.
        let cw = b.width().max(f64::MIN_POSITIVE) * (1.0 + 1e-9) / nx as f64;
        let ch = b.height().max(f64::MIN_POSITIVE) * (1.0 + 1e-9) / ny as f64;
        let cell =
            |v: f64, o: f64, c: f64, n: usize| (((v - o) / c).floor().max(0.0) as usize).min(n - 1);
        let span = |r: &Bounds| {
            (
                cell(r.minx, b.minx, cw, nx),
                cell(r.maxx, b.minx, cw, nx),
                cell(r.miny, b.miny, ch, ny),
                cell(r.maxy, b.miny, ch, ny),
            )
        };
        let mut counts = vec![0u32; nx * ny + 1];
        for &i in members {
            let (x0, x1, y0, y1) = span(&rects[i]);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    counts[y * nx + x + 1] += 1;
                }
            }
        }
        for k in 1..counts.len() {
            counts[k] += counts[k - 1];
        }
        let starts = counts.clone();
        let mut fill = counts;
        let mut entries = vec![entry(0); *starts.last().unwrap() as usize];
        for &i in members {
            let (x0, x1, y0, y1) = span(&rects[i]);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let k = y * nx + x;
                    entries[fill[k] as usize] = entry(i);
                    fill[k] += 1;
                }
            }
        }
        Grid {
            x0: b.minx,
            y0: b.miny,
            inv_cw: 1.0 / cw,
            inv_ch: 1.0 / ch,
            nx,
            ny,
            starts,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rectangle_containing_a_point_is_a_candidate() {
        let rects: Vec<Bounds> = (0..50)
            .map(|i| {
                let x = (i % 10) as f64 * 7.0;
                let y = (i / 10) as f64 * 9.0;
                Bounds::new(x, y, x + 10.0 + (i % 3) as f64, y + 12.0)
            })
            .collect();
        let groups: Vec<u32> = (0..50).map(|i| (i % 2) as u32).collect();
        let idx = BucketIndex::new(&rects, &[0.0; 50], &[true; 50], &groups, 2);
        for px in 0..80 {
            for py in 0..60 {
                let (x, y) = (px as f64 + 0.5, py as f64 + 0.25);
                for g in 0..2u32 {
                    let c = idx.candidates(g, x, y);
                    assert!(c.windows(2).all(|w| w[0].id < w[1].id), "sorted by id");
                    for (i, r) in rects.iter().enumerate() {
                        let inside = r.minx <= x && x <= r.maxx && r.miny <= y && y <= r.maxy;
                        if inside && groups[i] == g {
                            assert!(
                                c.iter().any(|e| e.id == i as u32 && e.rect == *r),
                                "rect {i} at ({x}, {y})"
                            );
                        }
                    }
                }
            }
        }
    }
}
