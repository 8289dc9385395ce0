//! The bytes of units and results: little-endian numbers, length-prefixed strings and byte runs.
//! Numbers travel as their bits, so a result decoded on rank 0 is the value computed elsewhere.
//! Messages are made and read by the same binary, so a short or malformed message is a bug:
//! reading past the end panics.

#[derive(Debug, Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn with_capacity(bytes: usize) -> Writer {
        Writer(Vec::with_capacity(bytes))
    }

    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    /// `None` as a zero byte, a value as a one byte and its bits.
    pub fn opt_f64(&mut self, v: Option<f64>) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                self.f64(x);
            }
        }
    }

    pub fn f64s(&mut self, v: &[f64]) {
        self.u64(v.len() as u64);
        self.0.reserve(8 * v.len());
        for &x in v {
            self.0.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    }

    pub fn string(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// `N` numbers' bits, without a length (read by [`Reader::f64_arrays`]).
    pub fn f64_array<const N: usize>(&mut self, v: &[f64; N]) {
        for &x in v {
            self.0.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    }

    /// Raw bytes, unprefixed: the rest of a message.
    pub fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    /// The message; never empty (MPI messages carry at least a byte).
    pub fn finish(mut self) -> Vec<u8> {
        if self.0.is_empty() {
            self.0.push(0);
        }
        self.0
    }
}

#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        s
    }

    pub fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("8 bytes"))
    }

    pub fn f64(&mut self) -> f64 {
        f64::from_bits(self.u64())
    }

    pub fn opt_f64(&mut self) -> Option<f64> {
        match self.u8() {
            0 => None,
            _ => Some(self.f64()),
        }
    }

    pub fn f64s(&mut self) -> Vec<f64> {
        let n = self.u64() as usize;
        self.take(8 * n)
            .chunks_exact(8)
            .map(|b| f64::from_bits(u64::from_le_bytes(b.try_into().expect("8 bytes"))))
            .collect()
    }

    /// `n` runs of `N` numbers, each written by [`Writer::f64s`]-like bits without a length.
    pub fn f64_arrays<const N: usize>(&mut self, n: usize) -> Vec<[f64; N]> {
        self.take(8 * N * n)
            .chunks_exact(8 * N)
            .map(|run| {
                let mut a = [0.0; N];
                for (x, b) in a.iter_mut().zip(run.chunks_exact(8)) {
                    *x = f64::from_bits(u64::from_le_bytes(b.try_into().expect("8 bytes")));
                }
                a
            })
            .collect()
    }

    pub fn string(&mut self) -> String {
        let n = self.u64() as usize;
        String::from_utf8_lossy(self.take(n)).into_owned()
    }

    /// What is left of the message.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.at..];
        self.at = self.bytes.len();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_bit_for_bit() {
        let mut w = Writer::default();
        w.u8(7);
        w.u32(u32::MAX);
        w.u64(1 << 40);
        w.f64(-0.0);
        w.f64(f64::NAN);
        w.opt_f64(None);
        w.opt_f64(Some(0.1 + 0.2));
        w.f64s(&[1.5, f64::INFINITY]);
        w.f64_array(&[0.25, -3.0]);
        w.f64_array(&[7.0, 8.0]);
        w.string("rank 1 (on node-7)");
        w.bytes(b"tail");
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), 7);
        assert_eq!(r.u32(), u32::MAX);
        assert_eq!(r.u64(), 1 << 40);
        assert_eq!(r.f64().to_bits(), (-0.0f64).to_bits());
        assert!(r.f64().is_nan());
        assert_eq!(r.opt_f64(), None);
        assert_eq!(
            r.opt_f64().map(f64::to_bits),
            Some((0.1f64 + 0.2).to_bits())
        );
        assert_eq!(r.f64s(), vec![1.5, f64::INFINITY]);
        assert_eq!(r.f64_arrays::<2>(2), vec![[0.25, -3.0], [7.0, 8.0]]);
        assert_eq!(r.string(), "rank 1 (on node-7)");
        assert_eq!(r.rest(), b"tail");
        assert_eq!(Writer::default().finish(), vec![0]);
    }
}
