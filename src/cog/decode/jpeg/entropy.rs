//! The entropy layer of baseline JPEG: Huffman tables and the bit reader of a scan.

/// Zigzag position -> natural (row-major) position of the 64 coefficients of a block.
pub(super) const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Bits of a code resolved by one look-up in [`Huffman::fast`].
const FAST_BITS: u32 = 9;

/// A Huffman table: a direct look-up for short codes, canonical-code limits for the longer ones.
#[derive(Clone)]
pub(super) struct Huffman {
    /// For each `FAST_BITS`-bit prefix: (code length, symbol), length 0 when the code is longer.
    fast: Vec<(u8, u8)>,
    /// Largest code of each length 1..=16 (index = length), -1 when there is none.
    max_code: [i32; 17],
    /// Per length: index into `symbols` of its first code minus that code's value.
    offset: [i32; 17],
    /// The symbols in code order.
    symbols: Vec<u8>,
}

impl Huffman {
    /// Build a table from the 16 code-length counts and the symbols of a DHT segment.
    pub(super) fn new(counts: &[u8], symbols: &[u8]) -> Huffman {
        let mut fast = vec![(0u8, 0u8); 1 << FAST_BITS];
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            let count = usize::from(counts[len - 1]);
            offset[len] = k as i32 - code;
            for _ in 0..count {
                let shift = FAST_BITS.saturating_sub(len as u32);
                let first = (code as usize) << shift;
                if len as u32 <= FAST_BITS && first + (1 << shift) <= fast.len() {
                    for entry in &mut fast[first..first + (1 << shift)] {
                        *entry = (len as u8, symbols[k]);
                    }
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                max_code[len] = code - 1;
            }
            code <<= 1;
        }
        Huffman {
            fast,
            max_code,
            offset,
            symbols: symbols.to_vec(),
        }
    }

    /// Read one symbol; a code that is not in the table reads as 0, as libjpeg does.
    pub(super) fn decode(&self, bits: &mut Bits) -> u8 {
        let (len, symbol) = self.fast[bits.peek(FAST_BITS) as usize];
        if len > 0 {
            bits.skip(u32::from(len));
            return symbol;
        }
        let word = bits.peek(16) as i32;
        for len in FAST_BITS as usize + 1..=16 {
            let code = word >> (16 - len);
            if code <= self.max_code[len] {
                bits.skip(len as u32);
                let index = (code + self.offset[len]) as usize;
                return self.symbols.get(index).copied().unwrap_or(0);
            }
        }
        bits.skip(16);
        0
    }
}

/// The entropy-coded bit stream of a scan: byte stuffing removed, zeros once a marker is reached.
pub(super) struct Bits<'a> {
    /// The whole stream.
    data: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Buffered bits, the next one in the most significant place.
    acc: u64,
    /// How many bits of `acc` are buffered.
    count: u32,
}

impl<'a> Bits<'a> {
    /// The bit stream of the scan data starting at byte `pos` of `data`.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
        }
    }

    /// Byte position of the next unread byte: where the markers after the scan begin.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// Buffer at least 57 bits, padding with zeros at a marker or the end of the data.
    fn fill(&mut self) {
        while self.count <= 56 {
            let mut byte = 0;
            if let Some(&b) = self.data.get(self.pos) {
                if b != 0xFF {
                    byte = b;
                    self.pos += 1;
                } else if self.data.get(self.pos + 1) == Some(&0) {
                    byte = 0xFF;
                    self.pos += 2;
                }
            }
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (at most 16) bits, not consumed.
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    /// Consume `n` bits already peeked at.
    fn skip(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    /// A coefficient of `n` bits (JPEG's "receive and extend"); 0 bits read as 0.
    pub(super) fn value(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n) as i32;
        self.skip(n);
        if v < 1 << (n - 1) {
            v - (1 << n) + 1
        } else {
            v
        }
    }

    /// Drop the buffered bits and step over the restart marker that should come next.
    pub(super) fn restart(&mut self) {
        self.acc = 0;
        self.count = 0;
        while self.pos + 1 < self.data.len() {
            let marker =
                self.data[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.pos + 1]);
            self.pos += if marker { 2 } else { 1 };
            if marker {
                return;
            }
        }
    }
}
