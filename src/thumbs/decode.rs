//! Robust image decoding for thumbnails.
//!
//! The format is taken from the file's first bytes, never its extension. A progressive JPEG
//! at least 8× the thumbnail is read from its DC scans alone (`dc_only`: its first few
//! percent). Other 8-bit RGB and grey JPEGs — nearly all the rest — go through
//! libjpeg-turbo with DCT scaling (`turbo`: the decoder produces 1/2, 1/4 or 1/8 of the full
//! size directly, like Pillow's draft mode), so a 100-megapixel photo costs a few megabytes
//! and a fraction of the time. What libjpeg
//! refuses or finds truncated, and CMYK or 12-bit JPEGs, go through `jpeg-decoder` (scaled
//! by 1/2, 1/4, 1/8) or `image`'s zune-jpeg, whose messages name the defect. Other formats
//! decode through `image` with hard allocation limits: a PNG whose header claims
//! 30000×30000 is refused before a byte is allocated for it. EXIF orientation is applied,
//! CMYK converted, 16-bit and palette images expanded, and a decoder that panics on hostile
//! input is caught: the file is skipped with a reason.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder as _, ImageFormat, RgbaImage, metadata::Orientation};

/// Largest image, in pixels, that non-JPEG formats may decode to (JPEG scales instead).
pub const MAX_DECODE_PIXELS: u64 = 100_000_000;
/// Largest single allocation a decoder may make.
pub const MAX_DECODE_ALLOC_BYTES: u64 = 1 << 30;

/// A decoded image, oriented, with its size before any scaling.
#[derive(Debug)]
pub struct Decoded {
    pub image: RgbaImage,
    /// Width and height of the full-size image after orientation.
    pub source_size: (u32, u32),
    /// The file's bytes show exactly this image (8-bit RGB/grey JPEG or PNG, unscaled, no
    /// EXIF rotation), so a small one can be stored as its own large thumbnail.
    pub is_plain_jpeg_or_png: Option<ImageFormat>,
}

/// Decodes an image file's bytes to RGBA, at least `min_long_side_px` on its long side when
/// the source is that big (JPEG decoding may scale down to just above it). Errors are
/// reasons for a person.
pub fn decode_bytes(bytes: &[u8], min_long_side_px: u32) -> Result<Decoded, String> {
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".into());
    }
    let format = image::guess_format(bytes)
        .map_err(|_| "not an image (unrecognised content)".to_string())?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
        ImageFormat::Jpeg => decode_jpeg(bytes, min_long_side_px),
        other => decode_other(bytes, other),
    }));
    match result {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the {format:?} decoder failed on this file (corrupt?)"
        )),
    }
}

fn decode_jpeg(bytes: &[u8], min_long_side_px: u32) -> Result<Decoded, String> {
    use jpeg_decoder::Decoder;
    let mut decoder = Decoder::new(Cursor::new(bytes));
    // Progressive JPEGs keep every coefficient of the full image: cap that too.
    decoder.set_max_decoding_buffer_size(MAX_DECODE_ALLOC_BYTES as usize);
    decoder
        .read_info()
        .map_err(|e| format!("corrupt or truncated JPEG: {e}"))?;
    let info = decoder.info().ok_or("JPEG without a frame header")?;
    let (full_w, full_h) = (u32::from(info.width), u32::from(info.height));
    if full_w == 0 || full_h == 0 {
        return Err("JPEG with zero width or height".into());
    }
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let eighth_covers = full_w.max(full_h).div_ceil(8) >= min_long_side_px;
    if info.coding_process == jpeg_decoder::CodingProcess::DctProgressive
        && eighth_covers
        && let Some(image) = super::dc_only::decode(bytes)
    {
        return Ok(oriented(image, (full_w, full_h), orientation, None));
    }
    if turbo_can_take(info)
        && let Ok(t) = super::turbo::decode(bytes, (full_w, full_h), min_long_side_px)
    {
        let plain =
            (t.unscaled && orientation == Orientation::NoTransforms).then_some(ImageFormat::Jpeg);
        return Ok(oriented(t.image, (full_w, full_h), orientation, plain));
    }
    decode_with_jpeg_decoder(decoder, bytes, min_long_side_px, orientation)
}

/// The pure-Rust path for what libjpeg does not take or refused: jpeg-decoder (scaled by
/// 1/2, 1/4, 1/8; CMYK, 12-bit) from its read header, or zune-jpeg below 2× the target.
fn decode_with_jpeg_decoder(
    mut decoder: jpeg_decoder::Decoder<Cursor<&[u8]>>,
    bytes: &[u8],
    min_long_side_px: u32,
    orientation: Orientation,
) -> Result<Decoded, String> {
    use jpeg_decoder::PixelFormat;
    let info = decoder.info().ok_or("JPEG without a frame header")?;
    let (full_w, full_h) = (u32::from(info.width), u32::from(info.height));
    // Ask for the smallest DCT scale that still covers the requested long side.
    let long = full_w.max(full_h);
    // Below 2× the target no DCT scale applies; `image`'s decoder (zune-jpeg) is faster.
    if long < 2 * min_long_side_px {
        return decode_other(bytes, ImageFormat::Jpeg);
    }
    {
        let f = f64::from(min_long_side_px) / f64::from(long);
        let w = ((f64::from(full_w) * f).ceil() as u16).max(1);
        let h = ((f64::from(full_h) * f).ceil() as u16).max(1);
        decoder
            .scale(w, h)
            .map_err(|e| format!("corrupt JPEG: {e}"))?;
    }
    let pixels = decoder
        .decode()
        .map_err(|e| format!("corrupt or truncated JPEG: {e}"))?;
    let info = decoder.info().ok_or("JPEG without a frame header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let n = (w as usize) * (h as usize);
    let mut rgba = Vec::with_capacity(n * 4);
    match info.pixel_format {
        PixelFormat::L8 => {
            for &l in pixels.iter().take(n) {
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        PixelFormat::L16 => {
            for p in pixels.chunks_exact(2).take(n) {
                // jpeg-decoder writes 16-bit samples big-endian.
                let l = p[0];
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        PixelFormat::RGB24 => {
            for p in pixels.chunks_exact(3).take(n) {
                rgba.extend_from_slice(&[p[0], p[1], p[2], 255]);
            }
        }
        PixelFormat::CMYK32 => {
            // jpeg-decoder undoes Adobe's inversion: these are plain CMYK ink amounts.
            for p in pixels.chunks_exact(4).take(n) {
                let k = 255 - u32::from(p[3]);
                let ch = |c: u8| ((255 - u32::from(c)) * k / 255) as u8;
                rgba.extend_from_slice(&[ch(p[0]), ch(p[1]), ch(p[2]), 255]);
            }
        }
    }
    if rgba.len() != n * 4 {
        return Err("truncated JPEG (fewer pixels than its header promises)".into());
    }
    let image = RgbaImage::from_raw(w, h, rgba).ok_or("JPEG buffer size mismatch")?;
    Ok(oriented(image, (full_w, full_h), orientation, None))
}

/// libjpeg-turbo takes 8-bit RGB and grey JPEGs, progressive ones only when their
/// coefficients (kept whole until the last scan; at most 2 bytes × 3 components a pixel)
/// fit the allocation limit.
fn turbo_can_take(info: jpeg_decoder::ImageInfo) -> bool {
    use jpeg_decoder::{CodingProcess, PixelFormat};
    let pixels = u64::from(info.width) * u64::from(info.height);
    matches!(info.pixel_format, PixelFormat::L8 | PixelFormat::RGB24)
        && match info.coding_process {
            CodingProcess::DctSequential => true,
            CodingProcess::DctProgressive => pixels * 6 <= MAX_DECODE_ALLOC_BYTES,
            CodingProcess::Lossless => false,
        }
}

fn decode_other(bytes: &[u8], format: ImageFormat) -> Result<Decoded, String> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC_BYTES);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("corrupt {format:?}: {e}"))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(format!("{format:?} with zero width or height"));
    }
    if u64::from(w) * u64::from(h) > MAX_DECODE_PIXELS {
        return Err(format!(
            "too large to thumbnail safely: {w}×{h} pixels (limit {} megapixels)",
            MAX_DECODE_PIXELS / 1_000_000
        ));
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder)
        .map_err(|e| format!("corrupt or truncated {format:?}: {e}"))?;
    let plain = matches!(
        image,
        DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_)
            | DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
    ) && matches!(format, ImageFormat::Jpeg | ImageFormat::Png)
        && orientation == Orientation::NoTransforms;
    Ok(oriented(
        image.into_rgba8(),
        (w, h),
        orientation,
        plain.then_some(format),
    ))
}

fn oriented(
    image: RgbaImage,
    full: (u32, u32),
    orientation: Orientation,
    is_plain_jpeg_or_png: Option<ImageFormat>,
) -> Decoded {
    let swaps = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let mut dynamic = DynamicImage::ImageRgba8(image);
    dynamic.apply_orientation(orientation);
    Decoded {
        image: dynamic.into_rgba8(),
        source_size: if swaps { (full.1, full.0) } else { full },
        is_plain_jpeg_or_png,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_and_garbage() {
        assert!(decode_bytes(&[], 64).unwrap_err().contains("empty"));
        assert!(
            decode_bytes(b"hello, this is not an image at all", 64)
                .unwrap_err()
                .contains("not an image")
        );
    }

    #[test]
    fn decodes_every_listed_format_by_content() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(
            40,
            20,
            image::Rgba([10, 120, 240, 255]),
        ));
        for format in [
            ImageFormat::Png,
            ImageFormat::Bmp,
            ImageFormat::Tiff,
            ImageFormat::WebP,
            ImageFormat::Gif,
        ] {
            let mut bytes = Vec::new();
            img.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
            let d = decode_bytes(&bytes, 256).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(d.image.dimensions(), (40, 20), "{format:?}");
            let p = d.image.get_pixel(5, 5);
            assert!(p[2] > 200 && p[0] < 40, "{format:?}: {p:?}");
        }
    }

    #[test]
    fn scales_big_jpegs_while_decoding() {
        let img = RgbaImage::from_pixel(1600, 800, image::Rgba([200, 40, 40, 255]));
        let mut jpeg = Vec::new();
        DynamicImage::ImageRgba8(img)
            .to_rgb8()
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        let d = decode_bytes(&jpeg, 256).unwrap();
        assert_eq!(d.source_size, (1600, 800));
        assert_eq!(d.image.dimensions(), (400, 200), "1/4 scale covers 256");
        let p = d.image.get_pixel(100, 100);
        assert!(p[0] > 180 && p[1] < 70, "{p:?}");
    }
}
