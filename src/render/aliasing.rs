//! How much a picture aliases: its difference from a supersampled render of the same view,
//! box-filtered down to its size in linear light (the ideal the mip levels approximate). `bench` reports
//! it for the overview with and without mip levels; the tests check a high-frequency
//! fixture with it.
//!
//! The figure is the mean absolute difference in 8-bit sRGB levels over the drawn pixels
//! (those where the reference differs from the background), so the empty background of a
//! sparse layout does not dilute it.

use image::RgbaImage;

use super::index::LayoutIndex;
use super::offscreen::{Picture, render_view};
use super::text::Annotations;
use super::{FrameState, Gpu, MapRenderer, RenderError};

/// Supersampling factor of the reference.
pub const FACTOR: u32 = 4;

/// `image` scaled down by `factor` with a box filter, averaged in linear light as the GPU
/// filters sRGB textures (alpha averaged as it is).
pub fn box_filter(image: &RgbaImage, factor: u32) -> RgbaImage {
    let (lut, to_srgb) = (crate::thumbs::srgb_lut(), crate::thumbs::linear_to_srgb);
    let (w, h) = (image.width() / factor, image.height() / factor);
    let n = (factor * factor) as f32;
    RgbaImage::from_fn(w, h, |x, y| {
        let mut sum = [0f32; 4];
        for dy in 0..factor {
            for dx in 0..factor {
                let p = image.get_pixel(x * factor + dx, y * factor + dy);
                for c in 0..3 {
                    sum[c] += lut[usize::from(p[c])];
                }
                sum[3] += f32::from(p[3]) / 255.0;
            }
        }
        image::Rgba([
            to_srgb(sum[0] / n),
            to_srgb(sum[1] / n),
            to_srgb(sum[2] / n),
            (sum[3] / n * 255.0).round() as u8,
        ])
    })
}

/// Mean absolute RGB difference of `picture` from `reference` over the pixels where the
/// reference is not the `background` (more than 8 levels off in a channel).
pub fn drawn_difference(picture: &RgbaImage, reference: &RgbaImage, background: [u8; 3]) -> f64 {
    let (mut sum, mut count) = (0u64, 0u64);
    for (p, r) in picture.pixels().zip(reference.pixels()) {
        let drawn = (0..3).any(|c| r[c].abs_diff(background[c]) > 8);
        if drawn {
            sum += (0..3).map(|c| u64::from(p[c].abs_diff(r[c]))).sum::<u64>();
            count += 3;
        }
    }
    if count == 0 {
        0.0
    } else {
        sum as f64 / count as f64
    }
}

/// The aliasing of `frame` drawn at `size` with `map` as it is set up: its difference
/// from a [`FACTOR`]× supersampled, box-filtered render of the same view.
pub fn aliasing_error(
    gpu: &Gpu,
    map: &mut MapRenderer,
    index: &LayoutIndex,
    frame: &FrameState,
    size: (u32, u32),
) -> Result<f64, RenderError> {
    let none = Annotations::default();
    let picture = render_view(
        gpu,
        map,
        index,
        None,
        None,
        &Picture::new(*frame, size, &none),
    )?;
    // The reference samples level 0 only: at FACTOR× the thumbnails' texels are about a
    // pixel or larger in most of the overview, and the box filter does the rest.
    let mut reference_frame = *frame;
    reference_frame.style.mip_levels = false;
    let big = (size.0 * FACTOR, size.1 * FACTOR);
    let reference = render_view(
        gpu,
        map,
        index,
        None,
        None,
        &Picture::new(reference_frame, big, &none),
    );
    let reference = box_filter(&reference?, FACTOR);
    Ok(drawn_difference(
        &picture,
        &reference,
        frame.style.background,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_filter_and_difference() {
        let img = RgbaImage::from_fn(4, 4, |x, _| {
            let v = if x % 2 == 0 { 255 } else { 0 };
            image::Rgba([v, v, v, 255])
        });
        let small = box_filter(&img, 2);
        assert_eq!(small.dimensions(), (2, 2));
        // Half the light of white, in linear light: sRGB 188.
        assert_eq!(small.get_pixel(1, 1).0, [188, 188, 188, 255]);
        let bg = RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 255]));
        // Only drawn pixels count: all four are drawn here, each 188 off.
        assert_eq!(drawn_difference(&bg, &small, [0, 0, 0]), 188.0);
        assert_eq!(
            drawn_difference(&small, &bg, [0, 0, 0]),
            0.0,
            "nothing drawn"
        );
    }
}
