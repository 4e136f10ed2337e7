//! Progressive JPEGs at 1/8 scale from their DC scans alone.
//!
//! At 1/8 scale a JPEG's 8×8 block becomes one pixel: the block's mean, which is its DC
//! coefficient (`DC · Q₀ / 8 + 128`). A baseline JPEG interleaves every block's DC and AC
//! coefficients in one Huffman stream, so all of it must be decoded to find the next DC. A
//! progressive JPEG sends the DC coefficients of the whole image first, in a scan of a few
//! percent of the file, then the AC coefficients in later scans: here those scans are skipped
//! unread (a byte search for the next marker), and a large progressive photo thumbnails from
//! its first few hundred kilobytes of entropy-coded data. libjpeg-turbo (and so Pillow)
//! decodes every AC scan even when asked for 1/8 scale; on real progressive photos this is
//! 10–20× less work than theirs, and the picture is the same up to rounding (chroma is
//! replicated, not interpolated, which the thumbnail's resampling averages away).
//!
//! Handled: 8-bit progressive (SOF2) JPEGs of 1 (grey) or 3 components (YCbCr, or RGB by
//! Adobe's transform flag), any sampling factors, restart intervals, DC successive
//! approximation (first scans and refinement scans). Anything else — baseline, CMYK,
//! arithmetic coding, 12-bit, a scan that ends early — returns `None` and the caller
//! decodes it in full (libjpeg-turbo), so this path is only ever faster, never different in
//! what it accepts. A file must reach its end-of-image marker: a truncated one goes to the
//! full decoders, which name the damage.
//!
//! Rejected: libjpeg's buffered-image mode (stop after the DC scans) through its C API — it
//! needs `unsafe` FFI the `mozjpeg` crate does not wrap, and still allocates the whole
//! coefficient buffer; this is ~300 lines of safe Rust.

use image::RgbaImage;

/// Where the decoder stands: the frame, the tables, and each component's DC coefficients.
struct Frame {
    width: usize,
    height: usize,
    components: Vec<Component>,
    h_max: usize,
    v_max: usize,
    mcus_x: usize,
    mcus_y: usize,
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_table: usize,
    /// DC of the quantisation table, latched at the component's first scan.
    q0: Option<i32>,
    /// Blocks across and down, padded to whole MCUs (what interleaved scans code).
    blocks_x: usize,
    blocks_y: usize,
    /// Blocks that hold image (what a scan of this component alone codes).
    coded_x: usize,
    coded_y: usize,
    dc: Vec<i32>,
    /// Whether a first DC scan covered this component.
    seen: bool,
}

/// A canonical Huffman table (JPEG Annex C) with a 9-bit fast lookup.
#[derive(Clone)]
struct Huffman {
    /// `(symbol, code length)` for each 9-bit prefix whose code is at most 9 bits long.
    fast: Vec<(u8, u8)>,
    /// For lengths 1..=16: the largest code, the first code and its index in `values`.
    max_code: [i32; 17],
    first_code: [i32; 17],
    first_index: [usize; 17],
    values: Vec<u8>,
}

const FAST_BITS: u8 = 9;

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Option<Self> {
        let mut max_code = [-1i32; 17];
        let mut first_code = [0i32; 17];
        let mut first_index = [0usize; 17];
        let mut fast = vec![(0u8, 0u8); 1 << FAST_BITS];
        let (mut code, mut index) = (0i32, 0usize);
        for len in 1..=16usize {
            let n = usize::from(counts[len - 1]);
            first_code[len] = code;
            first_index[len] = index;
            for k in 0..n {
                let c = code + k as i32;
                if len <= usize::from(FAST_BITS) {
                    let shift = usize::from(FAST_BITS) - len;
                    let start = (c as usize) << shift;
                    let symbol = *values.get(index + k)?;
                    for slot in fast.get_mut(start..start + (1 << shift))? {
                        *slot = (symbol, len as u8);
                    }
                }
            }
            if n > 0 {
                max_code[len] = code + n as i32 - 1;
            }
            code = (code + n as i32) << 1;
            index += n;
            if code > (2 << len) {
                return None; // more codes than fit: not a Huffman table
            }
        }
        (index <= values.len()).then_some(Self {
            fast,
            max_code,
            first_code,
            first_index,
            values,
        })
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Option<u8> {
        let peek = bits.peek(FAST_BITS)? as usize;
        let (symbol, len) = self.fast[peek];
        if len > 0 {
            bits.consume(len);
            return Some(symbol);
        }
        let mut code = 0i32;
        for len in 1..=16usize {
            code = (code << 1) | bits.get(1)? as i32;
            if code <= self.max_code[len] {
                let at = self.first_index[len] + (code - self.first_code[len]) as usize;
                return self.values.get(at).copied();
            }
        }
        None
    }
}

/// Entropy-coded data read a bit at a time: `FF 00` is a data byte `FF`; any other marker
/// ends the data (zeros are fed past it, as libjpeg does, and `ended` says so).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buffer: u64,
    count: u8,
    ended: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            buffer: 0,
            count: 0,
            ended: false,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let mut byte = 0u8;
            if !self.ended {
                match self.data.get(self.pos) {
                    Some(0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    Some(0xFF) | None => self.ended = true,
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            }
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    fn peek(&mut self, n: u8) -> Option<u32> {
        self.fill();
        Some((self.buffer >> (64 - u32::from(n))) as u32)
    }

    fn consume(&mut self, n: u8) {
        self.buffer <<= n;
        self.count -= n;
    }

    fn get(&mut self, n: u8) -> Option<u32> {
        if n == 0 {
            return Some(0);
        }
        let v = self.peek(n)?;
        self.consume(n);
        Some(v)
    }

    /// At a restart interval's end: drop the partial byte and step over the next `RSTn`
    /// (normally right here; further on when an encoder padded with whole bytes).
    fn restart(&mut self) -> Option<()> {
        self.buffer = 0;
        self.count = 0;
        self.ended = false;
        let mut from = self.pos;
        loop {
            let at = from + memchr::memchr(0xFF, self.data.get(from..)?)?;
            match *self.data.get(at + 1)? {
                0xD0..=0xD7 => {
                    self.pos = at + 2;
                    return Some(());
                }
                0x00 | 0xFF => from = at + 1,
                _ => return None, // another marker: the interval is missing its restart
            }
        }
    }
}

/// `receive` and `extend` (JPEG F.2.2.1): the `size`-bit signed value that follows a code.
fn extend(bits: &mut Bits<'_>, size: u8) -> Option<i32> {
    if size == 0 {
        return Some(0);
    }
    if size > 16 {
        return None;
    }
    let v = bits.get(size)? as i32;
    Some(if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    })
}

/// The 1/8-scale RGBA image of a progressive JPEG from its DC scans, or `None` when the
/// file is anything this path does not take (see the module notes).
pub(super) fn decode(bytes: &[u8]) -> Option<RgbaImage> {
    let mut state = Parser::default();
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    loop {
        // Fill bytes (FF FF …) may precede a marker.
        while *bytes.get(pos)? == 0xFF && *bytes.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        pos += 2;
        if marker == 0xD9 {
            break; // end of image
        }
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]));
        let segment = bytes.get(pos + 2..pos + len.max(2))?;
        pos += len.max(2);
        match marker {
            0xC2 => state.frame = Some(frame(segment)?),
            // Baseline, extended, lossless, hierarchical or arithmetic: not ours.
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xC4 => state.huffman(segment)?,
            0xDB => state.quant(segment)?,
            0xDD => state.restart_interval = usize::from(read_u16(segment, 0)?),
            0xEE => state.adobe_transform = adobe_transform(segment),
            0xDA => pos = state.scan(segment, bytes, pos)?,
            _ => {}
        }
    }
    state.image()
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// Adobe's APP14 colour transform flag (0: the components are RGB), when present.
fn adobe_transform(segment: &[u8]) -> Option<u8> {
    (segment.get(..5)? == b"Adobe").then(|| segment.get(11).copied())?
}

fn frame(segment: &[u8]) -> Option<Frame> {
    if *segment.first()? != 8 {
        return None; // 12-bit
    }
    let height = usize::from(read_u16(segment, 1)?);
    let width = usize::from(read_u16(segment, 3)?);
    let n = usize::from(*segment.get(5)?);
    if width == 0 || height == 0 || !(n == 1 || n == 3) {
        return None;
    }
    let mut components = Vec::with_capacity(n);
    for c in 0..n {
        let at = 6 + 3 * c;
        let sampling = *segment.get(at + 1)?;
        let (h, v) = (usize::from(sampling >> 4), usize::from(sampling & 15));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return None;
        }
        components.push(Component {
            id: *segment.get(at)?,
            h,
            v,
            quant_table: usize::from(*segment.get(at + 2)? & 3),
            q0: None,
            blocks_x: 0,
            blocks_y: 0,
            coded_x: 0,
            coded_y: 0,
            dc: Vec::new(),
            seen: false,
        });
    }
    let h_max = components.iter().map(|c| c.h).max()?;
    let v_max = components.iter().map(|c| c.v).max()?;
    let mcus_x = width.div_ceil(8 * h_max);
    let mcus_y = height.div_ceil(8 * v_max);
    for c in &mut components {
        c.blocks_x = mcus_x * c.h;
        c.blocks_y = mcus_y * c.v;
        c.coded_x = (width * c.h).div_ceil(h_max).div_ceil(8);
        c.coded_y = (height * c.v).div_ceil(v_max).div_ceil(8);
        c.dc = vec![0; c.blocks_x * c.blocks_y];
    }
    Some(Frame {
        width,
        height,
        components,
        h_max,
        v_max,
        mcus_x,
        mcus_y,
    })
}

#[derive(Default)]
struct Parser {
    frame: Option<Frame>,
    dc_tables: [Option<Huffman>; 4],
    quant_dc: [Option<i32>; 4],
    restart_interval: usize,
    adobe_transform: Option<u8>,
}

impl Parser {
    fn huffman(&mut self, mut segment: &[u8]) -> Option<()> {
        while !segment.is_empty() {
            let class_and_id = *segment.first()?;
            let counts: [u8; 16] = segment.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let values = segment.get(17..17 + total)?.to_vec();
            if class_and_id >> 4 == 0 {
                self.dc_tables[usize::from(class_and_id & 3)] =
                    Some(Huffman::new(&counts, values)?);
            }
            segment = &segment[17 + total..];
        }
        Some(())
    }

    fn quant(&mut self, mut segment: &[u8]) -> Option<()> {
        while !segment.is_empty() {
            let precision_and_id = *segment.first()?;
            let wide = precision_and_id >> 4 != 0;
            let q0 = if wide {
                i32::from(read_u16(segment, 1)?)
            } else {
                i32::from(*segment.get(1)?)
            };
            self.quant_dc[usize::from(precision_and_id & 3)] = Some(q0);
            segment = segment.get(1 + if wide { 128 } else { 64 }..)?;
        }
        Some(())
    }

    /// Reads one scan's header and data (starting at `data`); returns where the next
    /// marker is. DC scans are decoded, AC scans skipped.
    fn scan(&mut self, header: &[u8], bytes: &[u8], data: usize) -> Option<usize> {
        let frame = self.frame.as_mut()?;
        let n = usize::from(*header.first()?);
        let mut members = Vec::with_capacity(n);
        for k in 0..n {
            let id = *header.get(1 + 2 * k)?;
            let table = usize::from(*header.get(2 + 2 * k)? >> 4);
            let c = frame.components.iter().position(|c| c.id == id)?;
            members.push((c, table & 3));
        }
        let at = 1 + 2 * n;
        let (ss, se, approx) = (*header.get(at)?, *header.get(at + 1)?, *header.get(at + 2)?);
        let (ah, al) = (approx >> 4, approx & 15);
        if ss != 0 {
            return skip_entropy_data(bytes, data); // AC coefficients: not needed at 1/8
        }
        if se != 0 || members.is_empty() || al > 13 {
            return None; // not a progressive DC scan
        }
        for &(c, _) in &members {
            let component = &mut frame.components[c];
            if ah == 0 {
                component.seen = true;
            }
            if component.q0.is_none() {
                component.q0 = Some(self.quant_dc[component.quant_table]?);
            }
        }
        let tables: Vec<Option<&Huffman>> = (members.iter())
            .map(|&(_, t)| self.dc_tables[t].as_ref())
            .collect();
        if ah == 0 && tables.iter().any(Option::is_none) {
            return None;
        }
        let mut bits = Bits::new(bytes, data);
        let mut decoder = DcScan {
            bits: &mut bits,
            predictors: vec![0; members.len()],
            refine: ah != 0,
            al,
        };
        let interval = self.restart_interval;
        let mut unit = Vec::with_capacity(10); // an MCU holds at most 10 blocks
        for u in 0..unit_count(frame, &members) {
            if interval > 0 && u > 0 && u % interval == 0 {
                decoder.bits.restart()?;
                decoder.predictors.fill(0);
            }
            unit_blocks(frame, &members, u, &mut unit);
            for &(member, c, block) in &unit {
                let table = tables[member];
                decoder.block(&mut frame.components[c].dc[block], member, table)?;
            }
        }
        if bits.ended && bits.pos >= bytes.len() {
            return None; // the data ran out before the scan did: truncated
        }
        skip_entropy_data(bytes, bits.pos)
    }

    fn image(&self) -> Option<RgbaImage> {
        let f = self.frame.as_ref()?;
        if f.components.iter().any(|c| !c.seen) {
            return None;
        }
        let (w, h) = (f.width.div_ceil(8), f.height.div_ceil(8));
        let rgb_components = self.adobe_transform == Some(0)
            || f.components.iter().map(|c| c.id).eq([b'R', b'G', b'B']);
        // A subsampled component's block mean covers several output pixels (replicated:
        // libjpeg, which can run a 2×2 IDCT on chroma, differs by a few levels at sharp
        // colour edges; the thumbnail's resampling averages that away).
        let sample = |c: &Component, x: usize, y: usize| -> f32 {
            let bx = (x * c.h / f.h_max).min(c.blocks_x - 1);
            let by = (y * c.v / f.v_max).min(c.blocks_y - 1);
            (c.dc[by * c.blocks_x + bx] * c.q0.unwrap_or(1)) as f32 / 8.0 + 128.0
        };
        let mut out = RgbaImage::new(u32::try_from(w).ok()?, u32::try_from(h).ok()?);
        for (x, y, pixel) in out.enumerate_pixels_mut() {
            let (x, y) = (x as usize, y as usize);
            let rgb = match f.components.as_slice() {
                [grey] => {
                    let l = sample(grey, x, y);
                    [l, l, l]
                }
                [a, b, c] if rgb_components => [sample(a, x, y), sample(b, x, y), sample(c, x, y)],
                [luma, cb, cr] => {
                    let (l, cb, cr) = (
                        sample(luma, x, y),
                        sample(cb, x, y) - 128.0,
                        sample(cr, x, y) - 128.0,
                    );
                    [
                        l + 1.402 * cr,
                        l - 0.344_136 * cb - 0.714_136 * cr,
                        l + 1.772 * cb,
                    ]
                }
                _ => return None,
            };
            let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            *pixel = image::Rgba([byte(rgb[0]), byte(rgb[1]), byte(rgb[2]), 255]);
        }
        Some(out)
    }
}

/// How many units a scan codes: one component's image blocks, or whole MCUs of every member
/// (restart intervals count these).
fn unit_count(f: &Frame, members: &[(usize, usize)]) -> usize {
    match members {
        [(c, _)] => f.components[*c].coded_x * f.components[*c].coded_y,
        _ => f.mcus_x * f.mcus_y,
    }
}

/// Unit `u`'s `(member of the scan, component, block index)` in the order the scan codes
/// them, into `out`: one block of a lone component (row by row over its image blocks), or
/// an MCU's blocks of every member.
fn unit_blocks(
    f: &Frame,
    members: &[(usize, usize)],
    u: usize,
    out: &mut Vec<(usize, usize, usize)>,
) {
    out.clear();
    if let [(c, _)] = members {
        let comp = &f.components[*c];
        let (bx, by) = (u % comp.coded_x, u / comp.coded_x);
        out.push((0, *c, by * comp.blocks_x + bx));
        return;
    }
    let (mx, my) = (u % f.mcus_x, u / f.mcus_x);
    for (member, &(c, _)) in members.iter().enumerate() {
        let comp = &f.components[c];
        for v in 0..comp.v {
            for h in 0..comp.h {
                let (bx, by) = (mx * comp.h + h, my * comp.v + v);
                out.push((member, c, by * comp.blocks_x + bx));
            }
        }
    }
}

/// One DC scan's decoding state.
struct DcScan<'b, 'a> {
    bits: &'b mut Bits<'a>,
    predictors: Vec<i32>,
    refine: bool,
    al: u8,
}

impl DcScan<'_, '_> {
    fn block(&mut self, dc: &mut i32, member: usize, table: Option<&Huffman>) -> Option<()> {
        if self.refine {
            if self.bits.get(1)? == 1 {
                *dc |= 1 << self.al;
            }
            return Some(());
        }
        let size = table?.decode(self.bits)?;
        let diff = extend(self.bits, size)?;
        self.predictors[member] += diff;
        *dc = self.predictors[member] << self.al;
        Some(())
    }
}

/// Where the marker after the entropy-coded data starting at `from` is (`FF 00` and the
/// restart markers are part of the data).
fn skip_entropy_data(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr(0xFF, bytes.get(from..)?)?;
        match *bytes.get(at + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => from = at + 1,
            _ => return Some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo-like test picture: smooth gradients and a few hard edges.
    fn picture(w: u32, h: u32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let edge = if (x / 37 + y / 23) % 5 == 0 { 90 } else { 0 };
            image::Rgb([
                ((x * 200 / w) + edge) as u8,
                (((x + y) * 120 / (w + h)) + 60) as u8,
                (255 - y * 200 / h).saturating_sub(edge) as u8,
            ])
        })
    }

    fn progressive(
        img: &image::RgbImage,
        sampling: jpeg_encoder::SamplingFactor,
        restart: u16,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_progressive(true);
        encoder.set_sampling_factor(sampling);
        encoder.set_restart_interval(restart);
        let (w, h) = img.dimensions();
        encoder
            .encode(
                img.as_raw(),
                w as u16,
                h as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        out
    }

    /// Mean absolute difference per channel between two images of one size.
    fn mean_diff(a: &RgbaImage, b: &RgbaImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = (a.as_raw().iter().zip(b.as_raw()))
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    /// A real photograph (a Smithsonian butterfly, 1999×1328), cropped to a size that is
    /// not a multiple of 8 or of an MCU.
    fn photo() -> image::RgbImage {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/butterflies/jpgs/30aeb051d-ee0d-4c5b-8a85-a8da7baef5fd.jpg"
        );
        let full = image::open(path).unwrap().to_rgb8();
        image::imageops::crop_imm(&full, 300, 200, 1003, 517).to_image()
    }

    fn diff_to_libjpeg(bytes: &[u8]) -> f64 {
        let ours = decode(bytes).expect("refused");
        let theirs = super::super::turbo::decode(bytes, (1003, 517), 64).unwrap();
        assert_eq!(ours.dimensions(), (126, 65));
        mean_diff(&ours, &theirs.image)
    }

    #[test]
    fn matches_libjpeg_at_one_eighth_for_every_sampling_and_restart_interval() {
        use jpeg_encoder::SamplingFactor as S;
        let img = photo();
        for (sampling, restart) in [(S::F_2_2, 0), (S::F_1_1, 0), (S::F_2_1, 7), (S::F_2_2, 3)] {
            let d = diff_to_libjpeg(&progressive(&img, sampling, restart));
            eprintln!("DIFF {sampling:?} {restart} {d}");
            assert!(
                d < 1.5,
                "{sampling:?}, restart {restart}: mean difference {d}"
            );
        }
        // Hard colour edges: chroma is replicated where libjpeg runs a 2×2 IDCT.
        let sharp = picture(1003, 517);
        let d = diff_to_libjpeg(&progressive(&sharp, S::F_2_2, 0));
        assert!(d < 6.0, "hard edges: {d}");
        let d = diff_to_libjpeg(&progressive(&sharp, S::F_1_1, 0));
        assert!(d < 0.5, "hard edges, no subsampling: {d}");
    }

    #[test]
    fn a_real_progressive_photo_decodes_as_libjpeg_does() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/butterflies/jpgs/9fea3150-a3d4-11ed-aeea-e36f1256f233.jpg"
        );
        let bytes = std::fs::read(path).unwrap();
        let ours = decode(&bytes).expect("a progressive JPEG from the wild");
        let theirs = super::super::turbo::decode(&bytes, (600, 400), 64).unwrap();
        assert_eq!(ours.dimensions(), (75, 50));
        let d = mean_diff(&ours, &theirs.image);
        assert!(d < 1.2, "mean difference {d}");
    }

    #[test]
    fn grey_progressive_jpegs_decode() {
        let img = image::GrayImage::from_fn(300, 200, |x, y| image::Luma([((x + y) % 256) as u8]));
        let mut bytes = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 90);
        encoder.set_progressive(true);
        encoder
            .encode(img.as_raw(), 300, 200, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let ours = decode(&bytes).unwrap();
        let theirs = super::super::turbo::decode(&bytes, (300, 200), 16).unwrap();
        assert!(mean_diff(&ours, &theirs.image) < 3.0);
    }

    #[test]
    fn leaves_baseline_truncated_and_garbled_files_to_the_full_decoders() {
        let img = picture(640, 480);
        let mut baseline = Vec::new();
        image::DynamicImage::ImageRgb8(img.clone())
            .write_to(
                &mut std::io::Cursor::new(&mut baseline),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        assert!(decode(&baseline).is_none(), "baseline");
        let bytes = progressive(&img, jpeg_encoder::SamplingFactor::F_2_2, 0);
        assert!(decode(&bytes).is_some());
        for cut in [bytes.len() / 10, bytes.len() / 2, bytes.len() - 3] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut garbled = bytes.clone();
        for b in garbled.iter_mut().skip(600).step_by(7).take(400) {
            *b = 0xFF;
        }
        let _ = decode(&garbled); // anything but a panic
        assert!(decode(b"\xff\xd8\xff\xc2\x00\x02").is_none());
    }
}
