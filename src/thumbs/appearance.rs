//! A built-in appearance embedding, for collections that come without embeddings.
//!
//! It describes what an image looks like, not what it shows: the layout of colour (a 4×4
//! grid of mean opponent colours), the colour distribution (a hue × saturation histogram
//! with grey bins), and texture (gradient orientation histograms over 2×2 regions). Each
//! block is normalised on its own so that none dominates, then the whole vector is
//! L2-normalised for cosine similarity. Computed from the 32-pixel thumbnail, composited
//! onto mid-grey, so it costs microseconds per image.

use image::RgbaImage;

const GRID: usize = 4;
const HUES: usize = 12;
const GREYS: usize = 4;
const ORIENTS: usize = 8;
/// Length of an appearance vector.
pub const APPEARANCE_DIM: usize = GRID * GRID * 3 + HUES * 2 + GREYS + 4 * ORIENTS;

/// Appearance features of a small thumbnail.
pub fn appearance_features(thumb: &RgbaImage) -> Vec<f32> {
    let (w, h) = thumb.dimensions();
    let (w, h) = (w as usize, h as usize);
    let mut out = vec![0.0f32; APPEARANCE_DIM];
    if w == 0 || h == 0 {
        return out;
    }
    // Composite onto grey, in 0..1.
    let px: Vec<[f32; 3]> = thumb
        .pixels()
        .map(|p| {
            let a = f32::from(p[3]) / 255.0;
            let c = |v: u8| f32::from(v) / 255.0 * a + 0.5 * (1.0 - a);
            [c(p[0]), c(p[1]), c(p[2])]
        })
        .collect();
    let (grid, rest) = out.split_at_mut(GRID * GRID * 3);
    let (hist, orient) = rest.split_at_mut(HUES * 2 + GREYS);

    let mut counts = [0.0f32; GRID * GRID];
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = px[y * w + x];
            let cell = (y * GRID / h) * GRID + x * GRID / w;
            counts[cell] += 1.0;
            grid[cell * 3] += (r + g + b) / 3.0;
            grid[cell * 3 + 1] += r - g;
            grid[cell * 3 + 2] += (r + g) / 2.0 - b;

            let max = r.max(g).max(b);
            let min = r.min(g).min(b);
            let sat = if max > 0.0 { (max - min) / max } else { 0.0 };
            if sat < 0.2 {
                hist[HUES * 2 + ((max * GREYS as f32) as usize).min(GREYS - 1)] += 1.0;
            } else {
                let hue = hue_of(r, g, b, max, min);
                let bin = ((hue * HUES as f32) as usize).min(HUES - 1);
                hist[bin * 2 + usize::from(sat > 0.6)] += 1.0;
            }
        }
    }
    for (cell, n) in counts.iter().enumerate() {
        if *n > 0.0 {
            for v in &mut grid[cell * 3..cell * 3 + 3] {
                *v /= n;
            }
        }
    }
    let luma = |x: usize, y: usize| {
        let [r, g, b] = px[y * w + x];
        0.299 * r + 0.587 * g + 0.114 * b
    };
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let gx = luma(x + 1, y) - luma(x - 1, y);
            let gy = luma(x, y + 1) - luma(x, y - 1);
            let mag = (gx * gx + gy * gy).sqrt();
            if mag < 1e-3 {
                continue;
            }
            // Orientation modulo π, binned by a pseudo-angle (monotonic in the true angle,
            // no atan2): fold into the upper half plane, then p ∈ [0, 2] spans [0, π].
            let (gx, gy) = if gy < 0.0 { (-gx, -gy) } else { (gx, gy) };
            let p = if gx >= 0.0 {
                gy / (gx + gy)
            } else {
                1.0 + (-gx) / (gy - gx)
            };
            let bin = ((p * 0.5 * ORIENTS as f32) as usize).min(ORIENTS - 1);
            let region = (y * 2 / h) * 2 + x * 2 / w;
            orient[region * ORIENTS + bin] += mag;
        }
    }
    normalize(&mut out[..GRID * GRID * 3]);
    normalize(&mut out[GRID * GRID * 3..GRID * GRID * 3 + HUES * 2 + GREYS]);
    normalize(&mut out[GRID * GRID * 3 + HUES * 2 + GREYS..]);
    normalize(&mut out);
    out
}

fn hue_of(r: f32, g: f32, b: f32, max: f32, min: f32) -> f32 {
    let d = max - min;
    if d <= 0.0 {
        return 0.0;
    }
    let h = if max == r {
        ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        (b - r) / d + 2.0
    } else {
        (r - g) / d + 4.0
    };
    h / 6.0
}

fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        for x in v {
            *x /= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn similar_images_are_closer_than_different_ones() {
        let red = RgbaImage::from_pixel(32, 32, image::Rgba([220, 20, 20, 255]));
        let red2 = RgbaImage::from_fn(32, 32, |x, _| image::Rgba([200 + (x as u8), 30, 25, 255]));
        let stripes = RgbaImage::from_fn(32, 32, |x, _| {
            if x % 4 < 2 {
                image::Rgba([20, 20, 220, 255])
            } else {
                image::Rgba([240, 240, 240, 255])
            }
        });
        let (a, b, c) = (
            appearance_features(&red),
            appearance_features(&red2),
            appearance_features(&stripes),
        );
        assert_eq!(a.len(), APPEARANCE_DIM);
        assert!((cos(&a, &a) - 1.0).abs() < 1e-4);
        assert!(
            cos(&a, &b) > cos(&a, &c) + 0.2,
            "{} {}",
            cos(&a, &b),
            cos(&a, &c)
        );
    }
}
