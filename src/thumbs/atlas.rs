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
