//! Atlas pages for the small thumbnail level, in the GPU's own block-compressed format.
//!
//! Every image gets a 32×32 cell in a 2048×2048 page (4096 cells a page). Cells are stored as
//! BC1 (DXT1): 4×4-pixel blocks of 8 bytes, half a byte per pixel with 1-bit alpha, so a cell
//! costs 512 bytes of GPU memory and a million images fit in 512 MiB. The page file is the
//! exact byte layout `wgpu` expects for a `Bc1RgbaUnormSrgb` texture layer (block rows of
//! `PAGE_BLOCKS × 8` bytes), so the renderer uploads it as it is. Adapters without BC support
//! get pages decoded on the CPU with [`decode_page_rgba`].
//!
//! Rejected: RGBA8 cells of 16 px (1 KiB each, too blurry) or 32 px (4 KiB each: 4 GiB at 1M);
//! BC7 (better alpha, but 1 KiB a cell and a slow encoder).

use image::RgbaImage;

/// Long side of a small-level thumbnail, and the size of its atlas cell.
pub const CELL_PX: u32 = 32;
/// Width and height of an atlas page.
pub const PAGE_PX: u32 = 2048;
/// Cells per page row.
pub const CELLS_PER_ROW: u32 = PAGE_PX / CELL_PX;
/// Cells per page.
pub const CELLS_PER_PAGE: u32 = CELLS_PER_ROW * CELLS_PER_ROW;
/// BC1 blocks per page row.
pub const PAGE_BLOCKS: usize = (PAGE_PX / 4) as usize;
/// Bytes of one BC1 block.
pub const BLOCK_BYTES: usize = 8;
/// Bytes of one encoded cell.
pub const CELL_BYTES: usize = ((CELL_PX / 4) * (CELL_PX / 4)) as usize * BLOCK_BYTES;
/// Bytes of one page.
pub const PAGE_BYTES: usize = PAGE_BLOCKS * PAGE_BLOCKS * BLOCK_BYTES;

/// Mip levels of a page: 32, 16, 8 and 4 pixels a cell. Below 4 a BC1 block would hold
/// parts of several cells (their colours quantised together), so the chain stops there.
pub const MIP_LEVELS: u32 = 4;

/// Bytes of levels 1.. of a page, stored after level 0 in the page file.
pub const MIP_BYTES: usize = PAGE_BYTES / 4 + PAGE_BYTES / 16 + PAGE_BYTES / 64;

/// Where each mip level starts in a page file, and its side in pixels.
pub fn mip_level(level: u32) -> (usize, u32) {
    let mut offset = 0;
    for l in 0..level {
        offset += PAGE_BYTES >> (2 * l);
    }
    (offset, PAGE_PX >> level)
}

/// A BC1 block whose 16 pixels are all transparent (colour0 ≤ colour1 selects the
/// 3-colour + transparent mode; index 3 everywhere).
const TRANSPARENT_BLOCK: [u8; BLOCK_BYTES] = [0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/// A page with every cell transparent.
pub fn empty_page() -> Vec<u8> {
    TRANSPARENT_BLOCK
        .iter()
        .copied()
        .cycle()
        .take(PAGE_BYTES)
        .collect()
}

/// Where image `i` lives: page, and the cell's top-left pixel.
pub fn cell_of(i: usize) -> (u32, u32, u32) {
    let page = (i / CELLS_PER_PAGE as usize) as u32;
    let c = (i % CELLS_PER_PAGE as usize) as u32;
    (
        page,
        (c % CELLS_PER_ROW) * CELL_PX,
        (c / CELLS_PER_ROW) * CELL_PX,
    )
}

/// Encodes a thumbnail of at most 32×32 into a cell (top-left aligned, the rest transparent).
pub fn encode_cell(thumb: &RgbaImage) -> Vec<u8> {
    let mut cell = vec![0u8; (CELL_PX * CELL_PX * 4) as usize];
    let (w, h) = thumb.dimensions();
    for y in 0..h.min(CELL_PX) {
        let src = &thumb.as_raw()[(y * w * 4) as usize..((y * w + w.min(CELL_PX)) * 4) as usize];
        let dst = (y * CELL_PX * 4) as usize;
        cell[dst..dst + src.len()].copy_from_slice(src);
    }
    let mut out = vec![0u8; CELL_BYTES];
    let params = texpresso::Params {
        algorithm: texpresso::Algorithm::RangeFit,
        ..Default::default()
    };
    texpresso::Format::Bc1.compress(&cell, CELL_PX as usize, CELL_PX as usize, params, &mut out);
    out
}

/// Copies an encoded cell into its place in a page buffer of [`PAGE_BYTES`].
pub fn place_cell(page: &mut [u8], cell: &[u8], x_px: u32, y_px: u32) {
    let blocks = (CELL_PX / 4) as usize;
    let row_bytes = blocks * BLOCK_BYTES;
    let (bx, by) = ((x_px / 4) as usize, (y_px / 4) as usize);
    for r in 0..blocks {
        let dst = ((by + r) * PAGE_BLOCKS + bx) * BLOCK_BYTES;
        page[dst..dst + row_bytes].copy_from_slice(&cell[r * row_bytes..(r + 1) * row_bytes]);
    }
}

/// The share of the `w × h` pixels at (`x`, `y`) of a BC1 `page` that are transparent,
/// read from the blocks' indices without decoding colours (a million cells in tens of
/// milliseconds, at upload).
pub fn transparent_share(page: &[u8], x: u32, y: u32, w: u32, h: u32) -> f32 {
    let (w, h) = (
        w.min(PAGE_PX.saturating_sub(x)),
        h.min(PAGE_PX.saturating_sub(y)),
    );
    if w == 0 || h == 0 {
        return 0.0;
    }
    let mut transparent = 0u32;
    for by in (y / 4)..(y + h).div_ceil(4) {
        for bx in (x / 4)..(x + w).div_ceil(4) {
            let at = (by as usize * PAGE_BLOCKS + bx as usize) * BLOCK_BYTES;
            let Some(block) = page.get(at..at + BLOCK_BYTES) else {
                continue;
            };
            let c0 = u16::from_le_bytes([block[0], block[1]]);
            let c1 = u16::from_le_bytes([block[2], block[3]]);
            if c0 > c1 {
                continue; // the four-colour mode has no transparency
            }
            let indices = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
            for k in 0..16u32 {
                let (px, py) = (bx * 4 + k % 4, by * 4 + k / 4);
                let inside = px >= x && px < x + w && py >= y && py < y + h;
                if inside && (indices >> (2 * k)) & 3 == 3 {
                    transparent += 1;
                }
            }
        }
    }
    transparent as f32 / (w * h) as f32
}

/// The level the map's flat dots take their colour from (8 pixels a cell).
pub const MEAN_LEVEL: u32 = 2;

/// The mean colour of the thumbnail `w × h` at (`x`, `y`) (level-0 pixels), read from
/// `level`, the BC1 bytes of mip level [`MEAN_LEVEL`] of its page: linear light,
/// premultiplied, alpha last. It is what the mip chain converges to, so a thumbnail
/// drawn as one flat dot keeps the colour it had as a 4-pixel quad; level 2 holds an
/// image in at most 2 × 2 blocks, so a million means cost a few million block decodes
/// (level 0 would cost 64 a cell).
pub fn cell_mean(level: &[u8], x: u32, y: u32, w: u32, h: u32) -> [f32; 4] {
    let shift = MEAN_LEVEL;
    let side = PAGE_PX >> shift;
    let blocks_per_row = (side / 4) as usize;
    let (x0, y0) = (x >> shift, y >> shift);
    let x1 = (x + w.max(1)).div_ceil(1 << shift).min(side);
    let y1 = (y + h.max(1)).div_ceil(1 << shift).min(side);
    let lut = super::srgb_lut();
    let mut sum = [0.0f32; 4];
    let mut count = 0u32;
    for by in (y0 / 4)..y1.div_ceil(4) {
        for bx in (x0 / 4)..x1.div_ceil(4) {
            let at = (by as usize * blocks_per_row + bx as usize) * BLOCK_BYTES;
            let Some(block) = level.get(at..at + BLOCK_BYTES) else {
                continue;
            };
            let texels = texpresso::Format::Bc1.decompress_block(block);
            for (k, t) in texels.iter().enumerate() {
                let (px, py) = (bx * 4 + k as u32 % 4, by * 4 + k as u32 / 4);
                if px < x0 || px >= x1 || py < y0 || py >= y1 {
                    continue;
                }
                let a = f32::from(t[3]) / 255.0;
                for c in 0..3 {
                    sum[c] += lut[usize::from(t[c])] * a;
                }
                sum[3] += a;
                count += 1;
            }
        }
    }
    if count == 0 {
        return [0.0; 4];
    }
    sum.map(|v| v / count as f32)
}

/// Levels 1 to [`MIP_LEVELS`] − 1 of a BC1 `page`, encoded BC1 one after the other.
///
/// Each cell (x, y, w, h: the thumbnail in the top-left of its 32-pixel cell) is first
/// padded to the whole cell by repeating its edge pixels, so a coarse level of a small or
/// narrow thumbnail keeps its colours instead of fading into the empty part of the cell;
/// cells are aligned on 32 pixels, so box filtering down to 4 pixels a cell never mixes
/// two cells. Filtering is in linear light on premultiplied colour (a transparent texel
/// adds nothing, so no dark fringes); each level is stored with straight colour and the
/// 1-bit alpha BC1 has (covered at least half), which is premultiplied colour for
/// texels that are either opaque or black and transparent.
pub fn build_mips(page: &[u8], cells: &[(u32, u32, u32, u32)]) -> Vec<u8> {
    let mut level0 = decode_page_rgba(page);
    for &(x, y, w, h) in cells {
        pad_cell(&mut level0, x, y, w, h);
    }
    let lut = super::srgb_lut();
    // Premultiplied linear RGBA of level 1, averaged straight from level 0's bytes.
    let side = (PAGE_PX / 2) as usize;
    let raw = level0.as_raw();
    let mut level: Vec<[f32; 4]> = vec![[0.0; 4]; side * side];
    for (i, out) in level.iter_mut().enumerate() {
        let (x, y) = (2 * (i % side), 2 * (i / side));
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let o = ((y + dy) * PAGE_PX as usize + x + dx) * 4;
            let a = f32::from(raw[o + 3]) / 255.0;
            for c in 0..3 {
                out[c] += lut[usize::from(raw[o + c])] * a * 0.25;
            }
            out[3] += a * 0.25;
        }
    }
    let mut side = side;
    let mut out = Vec::with_capacity(MIP_BYTES);
    for _ in 1..MIP_LEVELS {
        out.extend_from_slice(&encode_level(&level, side));
        let half = side / 2;
        level = (0..half * half)
            .map(|i| {
                let (x, y) = (2 * (i % half), 2 * (i / half));
                let mut sum = [0.0f32; 4];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let t = level[(y + dy) * side + x + dx];
                    for c in 0..4 {
                        sum[c] += t[c] * 0.25;
                    }
                }
                sum
            })
            .collect();
        side = half;
    }
    out
}

/// Fills the part of the 32-pixel cell at (`x`, `y`) outside its `w × h` thumbnail with
/// the nearest edge pixel of the thumbnail.
fn pad_cell(page: &mut RgbaImage, x: u32, y: u32, w: u32, h: u32) {
    let (w, h) = (w.clamp(1, CELL_PX), h.clamp(1, CELL_PX));
    if x + CELL_PX > PAGE_PX || y + CELL_PX > PAGE_PX {
        return;
    }
    for dy in 0..CELL_PX {
        for dx in 0..CELL_PX {
            if dx < w && dy < h {
                continue;
            }
            let src = *page.get_pixel(x + dx.min(w - 1), y + dy.min(h - 1));
            page.put_pixel(x + dx, y + dy, src);
        }
    }
}

/// One level of premultiplied linear texels, `side × side`, as BC1 (straight sRGB colour).
fn encode_level(level: &[[f32; 4]], side: usize) -> Vec<u8> {
    let mut rgba = vec![0u8; side * side * 4];
    for (t, px) in level.iter().zip(rgba.chunks_exact_mut(4)) {
        let a = t[3];
        if a > 0.0 {
            for c in 0..3 {
                px[c] = super::linear_to_srgb(t[c] / a);
            }
        }
        px[3] = (a * 255.0).round().clamp(0.0, 255.0) as u8;
    }
    let mut out = vec![0u8; (side / 4) * (side / 4) * BLOCK_BYTES];
    let params = texpresso::Params {
        algorithm: texpresso::Algorithm::RangeFit,
        ..Default::default()
    };
    texpresso::Format::Bc1.compress(&rgba, side, side, params, &mut out);
    out
}

/// Decodes a BC1 page to RGBA8 (for adapters without BC textures, tests and pictures).
pub fn decode_page_rgba(page: &[u8]) -> RgbaImage {
    let mut out = vec![0u8; (PAGE_PX * PAGE_PX * 4) as usize];
    texpresso::Format::Bc1.decompress(page, PAGE_PX as usize, PAGE_PX as usize, &mut out);
    RgbaImage::from_raw(PAGE_PX, PAGE_PX, out).unwrap_or_default()
}

/// Decodes one cell back to RGBA (32×32).
pub fn decode_cell_rgba(cell: &[u8]) -> RgbaImage {
    let mut out = vec![0u8; (CELL_PX * CELL_PX * 4) as usize];
    texpresso::Format::Bc1.decompress(cell, CELL_PX as usize, CELL_PX as usize, &mut out);
    RgbaImage::from_raw(CELL_PX, CELL_PX, out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mips_average_each_cell_without_bleeding() {
        // Cell 0: a 32×8 black-and-white stripe pattern; cell 1 (its right neighbour): red
        // 16×32; both on transparent.
        let stripes = RgbaImage::from_fn(32, 8, |x, _| {
            let v = if x % 2 == 0 { 255 } else { 0 };
            image::Rgba([v, v, v, 255])
        });
        let red = RgbaImage::from_pixel(16, 32, image::Rgba([230, 20, 20, 255]));
        let mut page = empty_page();
        place_cell(&mut page, &encode_cell(&stripes), 0, 0);
        place_cell(&mut page, &encode_cell(&red), 32, 0);
        let mips = build_mips(&page, &[(0, 0, 32, 8), (32, 0, 16, 32)]);
        assert_eq!(mips.len(), MIP_BYTES);
        for level in 1..MIP_LEVELS {
            let (offset, side) = mip_level(level);
            let bytes = &mips[offset - PAGE_BYTES..][..(PAGE_BYTES >> (2 * level))];
            let mut rgba = vec![0u8; (side * side * 4) as usize];
            texpresso::Format::Bc1.decompress(bytes, side as usize, side as usize, &mut rgba);
            let img = RgbaImage::from_raw(side, side, rgba).unwrap();
            let cell = CELL_PX >> level;
            // The stripes average to mid grey in linear light (sRGB ~188), padded down
            // the whole cell; the red cell stays red to its edge, padded right.
            let grey = img.get_pixel(cell / 2, cell - 1);
            assert!(
                grey[3] == 255 && (170..=205).contains(&grey[0]),
                "{level}: {grey:?}"
            );
            let edge = img.get_pixel(cell, 0);
            assert!(edge[0] > 200 && edge[1] < 60, "{level}: {edge:?}");
            let padded = img.get_pixel(2 * cell - 1, cell - 1);
            assert!(padded[0] > 200 && padded[1] < 60, "{level}: {padded:?}");
            // Beyond the two cells: still transparent.
            assert_eq!(img.get_pixel(2 * cell, 0)[3], 0, "{level}");
        }
    }

    #[test]
    fn cell_means_are_the_linear_average_of_the_image_alone() {
        // Cell 0: left half white, right half black (linear mean 0.5); cell 1: a red
        // 16×32 thumbnail whose padding must not count twice; cell 2: half transparent.
        let halves = RgbaImage::from_fn(32, 32, |x, _| {
            let v = if x < 16 { 255 } else { 0 };
            image::Rgba([v, v, v, 255])
        });
        let red = RgbaImage::from_pixel(16, 32, image::Rgba([255, 0, 0, 255]));
        let half_clear = RgbaImage::from_fn(32, 32, |_, y| {
            image::Rgba([0, 0, 255, if y < 16 { 255 } else { 0 }])
        });
        let mut page = empty_page();
        place_cell(&mut page, &encode_cell(&halves), 0, 0);
        place_cell(&mut page, &encode_cell(&red), 32, 0);
        place_cell(&mut page, &encode_cell(&half_clear), 64, 0);
        let cells = [(0, 0, 32, 32), (32, 0, 16, 32), (64, 0, 32, 32)];
        let mips = build_mips(&page, &cells);
        let (offset, _) = mip_level(MEAN_LEVEL);
        let level = &mips[offset - PAGE_BYTES..];
        let [r, g, b, a] = cell_mean(level, 0, 0, 32, 32);
        for c in [r, g, b] {
            assert!((c - 0.5).abs() < 0.03, "grey {c}");
        }
        assert!((a - 1.0).abs() < 1e-6);
        let [r, g, b, a] = cell_mean(level, 32, 0, 16, 32);
        assert!(r > 0.95 && g < 0.02 && b < 0.02 && (a - 1.0).abs() < 1e-6);
        // Premultiplied: half the pixels blue, half clear.
        let [r, g, b, a] = cell_mean(level, 64, 0, 32, 32);
        assert!(r < 0.02 && g < 0.02, "{r} {g}");
        assert!((b - 0.5).abs() < 0.05 && (a - 0.5).abs() < 0.05, "{b} {a}");
    }

    #[test]
    fn cell_round_trip_keeps_colour_and_transparency() {
        let thumb = RgbaImage::from_fn(32, 20, |x, _| {
            if x < 16 {
                image::Rgba([220, 30, 30, 255])
            } else {
                image::Rgba([30, 30, 220, 255])
            }
        });
        let cell = encode_cell(&thumb);
        assert_eq!(cell.len(), CELL_BYTES);
        let back = decode_cell_rgba(&cell);
        let red = back.get_pixel(4, 4);
        let blue = back.get_pixel(28, 4);
        assert!(red[0] > 200 && red[2] < 50, "{red:?}");
        assert!(blue[2] > 200 && blue[0] < 50, "{blue:?}");
        assert_eq!(
            back.get_pixel(4, 28)[3],
            0,
            "below the thumbnail is transparent"
        );

        let mut page = empty_page();
        assert_eq!(decode_page_rgba(&page).get_pixel(100, 100)[3], 0);
        let (p, x, y) = cell_of(CELLS_PER_ROW as usize + 1);
        assert_eq!((p, x, y), (0, 32, 32));
        place_cell(&mut page, &cell, x, y);
        let decoded = decode_page_rgba(&page);
        assert_eq!(decoded.get_pixel(x + 4, y + 4), red);
        assert_eq!(transparent_share(&page, x, y, 32, 20), 0.0, "opaque");
        assert_eq!(transparent_share(&page, x, y, 32, 32), 12.0 / 32.0);
        assert_eq!(transparent_share(&page, 0, 0, 32, 32), 1.0, "an empty cell");
    }
}
