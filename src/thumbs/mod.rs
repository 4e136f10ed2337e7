//! Thumbnails: robust decoding, two levels per image, and the small level's atlas pages.
//!
//! The small level (≤32 px, BC1 in atlas pages, see [`atlas`]) is resident on the GPU for
//! every image. The large level (≤256 px long side) is kept per image as JPEG, or PNG when
//! the image has transparency, and streamed into a fixed pool of GPU slots by the renderer
//! for the images that are big on screen. Large thumbnails are not packed into raw atlas
//! pages on disk: at a million images that would be 256 GB of RGBA; compressed they are
//! ~10 KB each and decode in well under a millisecond.

pub mod appearance;
pub mod atlas;
mod dc_only;
pub mod decode;
mod turbo;

use std::path::Path;

use fast_image_resize as fr;
use image::RgbaImage;

pub use appearance::{APPEARANCE_DIM, appearance_features};

/// Default long side of the large level, in pixels.
pub const LARGE_PX: u32 = 256;

/// How a large thumbnail's bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum LargeFormat {
    Jpeg = 1,
    Png = 2,
}

/// Both thumbnail levels of one image, plus its appearance features.
pub struct Thumb {
    /// The small level, at most [`atlas::CELL_PX`] on its long side.
    pub small: RgbaImage,
    /// The small level as a BC1 atlas cell ([`atlas::encode_cell`]).
    pub small_cell: Vec<u8>,
    pub large_format: LargeFormat,
    pub large_size: (u32, u32),
    pub large_bytes: Vec<u8>,
    /// Full-size dimensions of the source (after EXIF orientation).
    pub source_size: (u32, u32),
    pub appearance: Vec<f32>,
}

/// Size that fits `(w, h)` into a `long`-pixel square, keeping the aspect ratio, never larger.
pub fn fit_size(w: u32, h: u32, long: u32) -> (u32, u32) {
    if w.max(h) <= long {
        return (w.max(1), h.max(1));
    }
    if w >= h {
        (
            long,
            ((u64::from(h) * u64::from(long) + u64::from(w) / 2) / u64::from(w)).max(1) as u32,
        )
    } else {
        (
            ((u64::from(w) * u64::from(long) + u64::from(h) / 2) / u64::from(h)).max(1) as u32,
            long,
        )
    }
}

/// sRGB byte → linear light, and back (for premultiplying and filtering in linear light,
/// as the GPU filters sRGB textures): the atlas's mip levels, the detail slots, the
/// aliasing measure.
pub fn srgb_lut() -> &'static [f32; 256] {
    static LUT: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    LUT.get_or_init(|| {
        std::array::from_fn(|i| {
            let c = i as f32 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
    })
}

/// Linear light (0–1) → sRGB byte.
pub fn linear_to_srgb(l: f32) -> u8 {
    let c = if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * l.max(0.0).powf(1.0 / 2.4) - 0.055
    };
    (c * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Multiplies each pixel's colour by its alpha in linear light (the sRGB texture's own
/// space), so texture filtering blends colour by coverage: no dark fringe where an opaque
/// texel meets a transparent one, and transparent texels are black.
pub fn premultiply(image: &mut RgbaImage) {
    let lut = srgb_lut();
    for p in image.pixels_mut() {
        let a = p[3];
        if a == 255 {
            continue;
        }
        let f = f32::from(a) / 255.0;
        for c in 0..3 {
            p[c] = linear_to_srgb(lut[usize::from(p[c])] * f);
        }
    }
}

/// Resizes with a Catmull-Rom (bicubic) filter, as Pillow's `thumbnail` does, alpha-aware (no dark fringes around transparent parts).
pub fn resize(image: &RgbaImage, size: (u32, u32)) -> Result<RgbaImage, String> {
    if image.dimensions() == size {
        return Ok(image.clone());
    }
    let src = fr::images::ImageRef::new(
        image.width(),
        image.height(),
        image.as_raw(),
        fr::PixelType::U8x4,
    )
    .map_err(|e| format!("resize: {e}"))?;
    let mut dst = fr::images::Image::new(size.0, size.1, fr::PixelType::U8x4);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| format!("resize: {e}"))?;
    RgbaImage::from_raw(size.0, size.1, dst.into_vec()).ok_or_else(|| "resize: bad buffer".into())
}

/// Decodes `path` and makes both levels.
pub fn make_thumb(path: &Path, large_px: u32) -> Result<Thumb, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    thumb_from_bytes(bytes, large_px)
}

/// Decodes an image's encoded `bytes` (a file's, or a tar member's) and makes both levels.
pub fn thumb_from_bytes(bytes: Vec<u8>, large_px: u32) -> Result<Thumb, String> {
    let decoded = decode::decode_bytes(&bytes, large_px)?;
    let (w, h) = decoded.image.dimensions();
    // A small, plain JPEG or well-compressed PNG is its own large thumbnail: no re-encode.
    let fits = (w, h) == decoded.source_size && w.max(h) <= large_px;
    let original = match decoded.is_plain_jpeg_or_png {
        Some(image::ImageFormat::Jpeg) if fits => Some((bytes.as_slice(), LargeFormat::Jpeg)),
        Some(image::ImageFormat::Png)
            if fits && bytes.len() as u64 <= 2 * u64::from(w) * u64::from(h) =>
        {
            Some((bytes.as_slice(), LargeFormat::Png))
        }
        _ => None,
    };
    thumb_from_image(&decoded.image, decoded.source_size, large_px, original)
}

/// Makes both levels from a decoded image. `original` (the encoded source) is stored as the
/// large level as it is when the image needs no resizing.
pub fn thumb_from_image(
    image: &RgbaImage,
    source_size: (u32, u32),
    large_px: u32,
    original: Option<(&[u8], LargeFormat)>,
) -> Result<Thumb, String> {
    let (w, h) = image.dimensions();
    let large = resize(image, fit_size(w, h, large_px))?;
    let small = resize(
        &large,
        fit_size(large.width(), large.height(), atlas::CELL_PX),
    )?;
    if let Some((bytes, format)) = original.filter(|_| large.dimensions() == (w, h)) {
        return Ok(Thumb {
            appearance: appearance_features(&small),
            small_cell: atlas::encode_cell(&small),
            small,
            large_format: format,
            large_size: (w, h),
            large_bytes: bytes.to_vec(),
            source_size,
        });
    }
    let has_alpha = large.pixels().any(|p| p[3] < 255);
    let mut large_bytes = Vec::new();
    let large_format = if has_alpha {
        let encoder = image::codecs::png::PngEncoder::new_with_quality(
            &mut large_bytes,
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::Adaptive,
        );
        image::ImageEncoder::write_image(
            encoder,
            large.as_raw(),
            large.width(),
            large.height(),
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| format!("encode: {e}"))?;
        LargeFormat::Png
    } else {
        large_bytes = turbo::encode_rgba(&large, 85)?;
        LargeFormat::Jpeg
    };
    Ok(Thumb {
        appearance: appearance_features(&small),
        small_cell: atlas::encode_cell(&small),
        small,
        large_format,
        large_size: large.dimensions(),
        large_bytes,
        source_size,
    })
}

/// Decodes a stored large thumbnail.
pub fn decode_large(bytes: &[u8]) -> Result<RgbaImage, String> {
    image::load_from_memory(bytes)
        .map(|i| i.into_rgba8())
        .map_err(|e| format!("corrupt cached thumbnail: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplying_is_in_linear_light() {
        let mut img = RgbaImage::from_raw(
            3,
            1,
            vec![200, 100, 50, 255, 255, 255, 255, 0, 255, 255, 255, 128],
        )
        .unwrap();
        premultiply(&mut img);
        assert_eq!(
            img.get_pixel(0, 0).0,
            [200, 100, 50, 255],
            "opaque: unchanged"
        );
        assert_eq!(img.get_pixel(1, 0).0, [0, 0, 0, 0], "transparent: black");
        // Half coverage of white is half the light: sRGB 188, not 128.
        assert_eq!(img.get_pixel(2, 0).0, [188, 188, 188, 128]);
    }

    #[test]
    fn fit_size_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_size(1000, 500, 256), (256, 128));
        assert_eq!(fit_size(500, 1000, 32), (16, 32));
        assert_eq!(fit_size(20, 10, 32), (20, 10));
        assert_eq!(fit_size(10000, 1, 32), (32, 1));
    }

    #[test]
    fn both_levels_and_formats() {
        let opaque = RgbaImage::from_pixel(600, 300, image::Rgba([10, 200, 10, 255]));
        let t = thumb_from_image(&opaque, (600, 300), LARGE_PX, None).unwrap();
        assert_eq!(t.small.dimensions(), (32, 16));
        assert_eq!(t.large_size, (256, 128));
        assert_eq!(t.large_format, LargeFormat::Jpeg);
        let back = decode_large(&t.large_bytes).unwrap();
        assert_eq!(back.dimensions(), (256, 128));

        let mut cutout = opaque.clone();
        cutout.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        let t = thumb_from_image(&cutout, (600, 300), LARGE_PX, None).unwrap();
        assert_eq!(t.large_format, LargeFormat::Png);
    }
}
