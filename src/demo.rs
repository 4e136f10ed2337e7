//! `demo`: a generated collection for newcomers and for benchmarks at any scale.
//!
//! Each image is a shape (6 kinds) with a hue, a texture (4 kinds), a size and a rotation,
//! on a pale background. The embedding encodes those factors (one-hot shape and texture, hue
//! on a circle, size) through a fixed random 64×F mixing matrix plus noise, L2-normalised and
//! stored as float16 — so a good layout visibly sorts shapes, textures and colours, and a
//! broken one does not. `metadata.csv` gives category (shape), tags (texture|colour), year,
//! lat/lng and a description, so every metadata layout has something to show.
//!
//! Files already present are kept, so an interrupted `demo --n 1000000` resumes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rayon::prelude::*;

use crate::cache::atomic_write_with;
use crate::dataset::npy::encode_npy_f16;
use crate::layout::Rng;
use crate::prepare::Progress;

/// Dimension of the demo embeddings.
pub const DEMO_DIM: usize = 64;
const SHAPES: [&str; 6] = ["circle", "square", "triangle", "flower", "ring", "cross"];
const TEXTURES: [&str; 4] = ["solid", "striped", "dotted", "checked"];
const COLOURS: [&str; 8] = [
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta",
];
const CITIES: [(f32, f32); 5] = [
    (48.86, 2.35),
    (40.71, -74.0),
    (35.68, 139.69),
    (-33.87, 151.21),
    (-1.29, 36.82),
];
/// Images per sub-folder, so no folder holds a million files.
const FOLDER_IMAGES: usize = 1000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub n: usize,
    pub out: PathBuf,
    pub seed: u64,
    pub image_px: u32,
}

/// The generating factors of one image.
#[derive(Clone, Debug)]
pub struct DemoItem {
    pub shape: usize,
    pub texture: usize,
    pub hue: f32,
    pub size: f32,
    pub angle: f32,
    pub year: u32,
    pub lat: f32,
    pub lng: f32,
}

impl DemoItem {
    /// The `i`-th item for `seed`: independent of `n`, so demos of any size agree.
    pub fn new(seed: u64, i: usize) -> Self {
        let mut rng = Rng::new(seed.wrapping_mul(0x1000_0001).wrapping_add(i as u64));
        let shape = rng.below(SHAPES.len());
        let texture = rng.below(TEXTURES.len());
        let city = CITIES[rng.below(CITIES.len())];
        Self {
            shape,
            texture,
            hue: rng.uniform(),
            size: 0.55 + 0.4 * rng.uniform(),
            angle: rng.uniform() * std::f32::consts::TAU,
            year: 1950 + (shape as u32) * 10 + rng.below(10) as u32,
            lat: city.0 + rng.normal() * 2.0,
            lng: city.1 + rng.normal() * 2.0,
        }
    }

    pub fn colour_name(&self) -> &'static str {
        COLOURS[((self.hue * COLOURS.len() as f32) as usize).min(COLOURS.len() - 1)]
    }

    /// Path relative to the images folder.
    pub fn file_name(&self, i: usize) -> String {
        format!(
            "{:04}/{i:07}_{}_{}.jpg",
            i / FOLDER_IMAGES,
            self.colour_name(),
            SHAPES[self.shape]
        )
    }

    /// Draws the image, 2×2 supersampled.
    pub fn render(&self, px: u32) -> RgbImage {
        let fill = hsv(self.hue, 0.75, 0.9);
        let dark = hsv(self.hue, 0.9, 0.45);
        let bg = hsv((self.hue + 0.5) % 1.0, 0.08, 0.96);
        let (s, c) = self.angle.sin_cos();
        RgbImage::from_fn(px, px, |x, y| {
            let mut acc = [0.0f32; 3];
            for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let u0 = ((x as f32 + ox) / px as f32) * 2.0 - 1.0;
                let v0 = ((y as f32 + oy) / px as f32) * 2.0 - 1.0;
                let (u, v) = ((c * u0 - s * v0) / self.size, (s * u0 + c * v0) / self.size);
                let colour = if inside(self.shape, u, v) {
                    if textured(self.texture, u, v) {
                        dark
                    } else {
                        fill
                    }
                } else {
                    bg
                };
                for k in 0..3 {
                    acc[k] += colour[k] / 4.0;
                }
            }
            Rgb([acc[0] as u8, acc[1] as u8, acc[2] as u8])
        })
    }

    /// The embedding: factors mixed by a fixed random matrix, plus noise, unit length.
    pub fn embedding(&self, mixing: &[f32], seed: u64, i: usize) -> Vec<f32> {
        let mut f = vec![0.0f32; FACTORS];
        f[self.shape] = 1.2;
        f[SHAPES.len() + self.texture] = 0.8;
        let h = self.hue * std::f32::consts::TAU;
        f[10] = h.cos();
        f[11] = h.sin();
        f[12] = self.size - 0.75;
        let mut rng = Rng::new(seed ^ 0x5eed ^ (i as u64).wrapping_mul(0x9e37_79b9));
        let mut e: Vec<f32> = (0..DEMO_DIM)
            .map(|r| {
                let m = &mixing[r * FACTORS..(r + 1) * FACTORS];
                m.iter().zip(&f).map(|(a, b)| a * b).sum::<f32>() + 0.12 * rng.normal()
            })
            .collect();
        let n = e.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
        e.iter_mut().for_each(|v| *v /= n);
        e
    }
}

const FACTORS: usize = 13;

/// The fixed mixing matrix (DEMO_DIM × FACTORS) for `seed`.
pub fn mixing_matrix(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed ^ 0xabcdef);
    (0..DEMO_DIM * FACTORS)
        .map(|_| rng.normal() / (FACTORS as f32).sqrt())
        .collect()
}

fn inside(shape: usize, u: f32, v: f32) -> bool {
    let r = (u * u + v * v).sqrt();
    match shape {
        0 => r < 0.95,
        1 => u.abs().max(v.abs()) < 0.75,
        2 => {
            // Triangle with vertices (0,-0.9), (0.85,0.6), (-0.85,0.6).
            let edge =
                |ax: f32, ay: f32, bx: f32, by: f32| (bx - ax) * (v - ay) - (by - ay) * (u - ax);
            let e1 = edge(0.0, -0.9, 0.85, 0.6);
            let e2 = edge(0.85, 0.6, -0.85, 0.6);
            let e3 = edge(-0.85, 0.6, 0.0, -0.9);
            (e1 >= 0.0 && e2 >= 0.0 && e3 >= 0.0) || (e1 <= 0.0 && e2 <= 0.0 && e3 <= 0.0)
        }
        3 => r < 0.5 + 0.42 * (5.0 * v.atan2(u)).cos(),
        4 => (0.55..0.95).contains(&r),
        _ => (u.abs() < 0.28 && v.abs() < 0.92) || (v.abs() < 0.28 && u.abs() < 0.92),
    }
}

fn textured(texture: usize, u: f32, v: f32) -> bool {
    match texture {
        0 => false,
        1 => (u * 5.0).rem_euclid(1.0) < 0.45,
        2 => {
            let (fu, fv) = (
                (u * 3.5).rem_euclid(1.0) - 0.5,
                (v * 3.5).rem_euclid(1.0) - 0.5,
            );
            fu * fu + fv * fv < 0.08
        }
        _ => ((u * 3.0).floor() as i32 + (v * 3.0).floor() as i32).rem_euclid(2) == 0,
    }
}

fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h6 = (h.rem_euclid(1.0)) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h6 % 2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

/// Writes the demo dataset into `opts.out` (images/, embeddings.npy, filenames.txt,
/// metadata.csv). Existing images are kept.
pub fn make_demo(opts: &DemoOptions, progress: &dyn Progress) -> std::io::Result<PathBuf> {
    let images = opts.out.join("images");
    std::fs::create_dir_all(&images)?;
    let mixing = mixing_matrix(opts.seed);
    progress.begin("demo images", opts.n as u64);
    let rows: Vec<(String, Vec<f32>, DemoItem)> = (0..opts.n)
        .into_par_iter()
        .map(|i| -> std::io::Result<_> {
            let item = DemoItem::new(opts.seed, i);
            let name = item.file_name(i);
            let path = images.join(&name);
            if !path.metadata().is_ok_and(|m| m.len() > 0) {
                write_jpeg(&path, &item.render(opts.image_px))?;
            }
            progress.advance(1);
            let e = item.embedding(&mixing, opts.seed, i);
            Ok((name, e, item))
        })
        .collect::<std::io::Result<_>>()?;
    progress.end();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.1.iter().copied()).collect();
    atomic_write_with(&opts.out.join("embeddings.npy"), |w| {
        w.write_all(&encode_npy_f16(opts.n, DEMO_DIM, &flat))
    })?;
    atomic_write_with(&opts.out.join("filenames.txt"), |w| {
        for (name, _, _) in &rows {
            writeln!(w, "{name}")?;
        }
        Ok(())
    })?;
    atomic_write_with(&opts.out.join("metadata.csv"), |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record([
            "filename",
            "category",
            "tags",
            "description",
            "year",
            "lat",
            "lng",
            "label",
        ])?;
        for (name, _, item) in &rows {
            let colour = item.colour_name();
            let texture = TEXTURES[item.texture];
            let shape = SHAPES[item.shape];
            csv.write_record([
                name.as_str(),
                shape,
                &format!("{texture}|{colour}"),
                &format!("A {colour} {texture} {shape}."),
                &item.year.to_string(),
                &format!("{:.4}", item.lat),
                &format!("{:.4}", item.lng),
                &format!("{colour} {shape}"),
            ])?;
        }
        csv.flush()
    })?;
    Ok(opts.out.clone())
}

fn write_jpeg(path: &Path, image: &RgbImage) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(image)
        .map_err(std::io::Error::other)?;
    crate::cache::atomic_write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_encode_the_factors() {
        let mixing = mixing_matrix(1);
        let items: Vec<DemoItem> = (0..400).map(|i| DemoItem::new(1, i)).collect();
        let emb: Vec<Vec<f32>> = items
            .iter()
            .enumerate()
            .map(|(i, it)| it.embedding(&mixing, 1, i))
            .collect();
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let (mut same, mut diff, mut ns, mut nd) = (0.0, 0.0, 0, 0);
        for i in 0..items.len() {
            for j in i + 1..items.len() {
                let c = cos(&emb[i], &emb[j]);
                if items[i].shape == items[j].shape && items[i].texture == items[j].texture {
                    same += c;
                    ns += 1;
                } else if items[i].shape != items[j].shape {
                    diff += c;
                    nd += 1;
                }
            }
        }
        assert!(same / ns as f32 > diff / nd as f32 + 0.3);
        let img = items[0].render(64);
        assert_eq!(img.dimensions(), (64, 64));
    }
}
