//! JPEG decoding through libjpeg-turbo, scaled in the DCT.
//!
//! A JPEG stores 8×8 blocks of frequencies; libjpeg-turbo can run a smaller inverse DCT on
//! each block and emit the image at `n/8` of its size for any `n` from 1 to 8, so a 24-MP
//! photo thumbnailed to 512 px never exists at full size: the work left is Huffman decoding
//! (SIMD-free in every decoder, but libjpeg-turbo's is ~4× jpeg-decoder's) and a tiny IDCT.
//! This is Pillow's draft mode, done with the same library, at the same steps (1/2, 1/4, 1/8:
//! see [`scale_numerator`] for why not the finer `n/8` libjpeg-turbo also offers).
//!
//! The library comes from the `mozjpeg` crate: it builds libjpeg-turbo's decoder (mozjpeg
//! changes only the encoder) from source with `cc`, with NASM SIMD when `nasm` is on the
//! PATH and plain C otherwise, so the binary needs no system library and no CMake.
//! Rejected: jpeg-decoder alone (pure Rust, scales only by 1/2, 1/4, 1/8, its Huffman decoder
//! reads ~25 MB/s — slower than Pillow on large photos); zune-jpeg (fast, but it cannot
//! scale, so a 24-MP photo is decoded whole); the `turbojpeg` crate (needs CMake or a system
//! libjpeg-turbo).
//!
//! libjpeg answers a truncated file by inventing the missing end (grey rows and a warning);
//! a watched reader notices that it was asked for bytes past the end and the file is refused
//! here, so the caller falls back to the pure-Rust decoders, which name the defect. CMYK,
//! 12-bit and lossless JPEGs are left to them too (rare; jpeg-decoder handles them).

use std::cell::Cell;
use std::io::{BufRead, Read};

use image::RgbaImage;

/// A decoded JPEG and whether it is at its full size.
pub(super) struct TurboJpeg {
    pub image: RgbaImage,
    pub unscaled: bool,
}

/// Decodes an 8-bit RGB or grey JPEG to RGBA at the smallest `n/8` scale whose long side is
/// at least `min_long_side_px` (or full size). Errors say what libjpeg disliked.
pub(super) fn decode(
    bytes: &[u8],
    full: (u32, u32),
    min_long_side_px: u32,
) -> Result<TurboJpeg, String> {
    let numerator = scale_numerator(full.0.max(full.1), min_long_side_px);
    let past_end = Cell::new(false);
    let reader = Watched {
        rest: bytes,
        past_end: &past_end,
    };
    // libjpeg's fatal errors unwind out of the C code as a `String` payload (the crate's
    // error manager resumes unwinding without the panic hook, so nothing is printed).
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_with(reader, numerator)
    }))
    .unwrap_or_else(|payload| {
        Err(payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "libjpeg failed".into()))
    })?;
    if past_end.get() {
        return Err("truncated JPEG (its data ends before the image does)".into());
    }
    Ok(TurboJpeg {
        image: result,
        unscaled: numerator == 8,
    })
}

fn decode_with(reader: Watched<'_>, numerator: u8) -> Result<RgbaImage, String> {
    let mut decompress = mozjpeg::Decompress::new_reader(reader).map_err(|e| e.to_string())?;
    decompress.scale(numerator);
    let mut started = decompress.rgba().map_err(|e| e.to_string())?;
    let (w, h) = (started.width(), started.height());
    let pixels: Vec<u8> = started.read_scanlines().map_err(|e| e.to_string())?;
    started.finish().map_err(|e| e.to_string())?;
    let (w, h) = (
        u32::try_from(w).map_err(|_| "JPEG too wide")?,
        u32::try_from(h).map_err(|_| "JPEG too tall")?,
    );
    RgbaImage::from_raw(w, h, pixels).ok_or_else(|| "JPEG buffer size mismatch".into())
}

/// Encodes an opaque RGBA image as a baseline JPEG of `quality` with libjpeg-turbo's own
/// settings (mozjpeg's slower trellis and scan optimisation off), straight from RGBA.
/// Measured against jpeg-encoder (SIMD), the previous encoder: ~2× faster on 256 px
/// thumbnails.
pub(super) fn encode_rgba(image: &RgbaImage, quality: u8) -> Result<Vec<u8>, String> {
    let encode = || -> std::io::Result<Vec<u8>> {
        let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_EXT_RGBA);
        compress.set_fastest_defaults();
        compress.set_size(image.width() as usize, image.height() as usize);
        compress.set_quality(f32::from(quality));
        let mut started = compress.start_compress(Vec::new())?;
        started.write_scanlines(image.as_raw())?;
        started.finish()
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(encode)) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(format!("encode: {e}")),
        Err(_) => Err("encode: libjpeg failed".into()),
    }
}

/// The smallest `n` of 1, 2, 4, 8 with `ceil(long · n / 8) ≥ min_long` (8 when the image is
/// no larger than that already). libjpeg-turbo can scale by any `n/8`, but only these have
/// SIMD inverse DCTs: the other sizes decode slower than 1/2 and the larger image resamples
/// as fast (measured on 912 small photos: 7 % less time a thumbnail).
fn scale_numerator(long: u32, min_long: u32) -> u8 {
    [1u8, 2, 4, 8]
        .into_iter()
        .find(|&n| (u64::from(long) * u64::from(n)).div_ceil(8) >= u64::from(min_long))
        .unwrap_or(8)
}

/// The file's bytes as a reader that remembers being asked for more than there is: libjpeg
/// asks only when its data ran out before the end-of-image marker.
struct Watched<'a> {
    rest: &'a [u8],
    past_end: &'a Cell<bool>,
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.fill_buf()?.len().min(buf.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Watched<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.rest.is_empty() {
            self.past_end.set(true);
        }
        Ok(self.rest)
    }

    fn consume(&mut self, amount: usize) {
        self.rest = &self.rest[amount.min(self.rest.len())..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageFormat};
    use std::io::Cursor;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w) as u8, 40, (y * 255 / h) as u8])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
            .unwrap();
        out
    }

    #[test]
    fn picks_the_smallest_scale_that_covers_the_target() {
        assert_eq!(scale_numerator(4000, 512), 2, "4000·2/8 = 1000 ≥ 512 > 500");
        assert_eq!(scale_numerator(4096, 512), 1);
        assert_eq!(scale_numerator(4095, 512), 1, "ceil(4095/8) = 512");
        assert_eq!(scale_numerator(4088, 512), 2, "4088/8 = 511 < 512");
        assert_eq!(
            scale_numerator(800, 512),
            8,
            "800·4/8 = 400 < 512: full size"
        );
        assert_eq!(scale_numerator(1100, 512), 4, "1100/2 = 550");
        assert_eq!(
            scale_numerator(300, 512),
            8,
            "smaller than the target: full size"
        );
    }

    #[test]
    fn decodes_scaled_with_the_colours_in_place() {
        let bytes = jpeg(1600, 800);
        let d = decode(&bytes, (1600, 800), 256).unwrap();
        assert_eq!(
            d.image.dimensions(),
            (400, 200),
            "2/8 covers 256 (1/8 = 200 does not)"
        );
        assert!(!d.unscaled);
        let left = d.image.get_pixel(5, 100);
        let right = d.image.get_pixel(395, 100);
        assert!(left[0] < 30 && right[0] > 225, "{left:?} {right:?}");
        assert_eq!(left[3], 255);
        let full = decode(&bytes, (1600, 800), 4000).unwrap();
        assert_eq!(full.image.dimensions(), (1600, 800));
        assert!(full.unscaled);
    }

    #[test]
    fn refuses_truncated_and_garbled_files_without_panicking() {
        let bytes = jpeg(640, 480);
        let err = decode(&bytes[..bytes.len() / 2], (640, 480), 128)
            .err()
            .expect("half a JPEG");
        assert!(err.contains("truncated"), "{err}");
        let mut garbled = bytes.clone();
        garbled[2..40].fill(0x17);
        assert!(decode(&garbled, (640, 480), 128).is_err());
        assert!(decode(b"\xff\xd8\xff", (1, 1), 128).is_err());
    }
}
