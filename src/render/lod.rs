//! Level of detail: the images large on screen get a slot in a fixed pool of 256 px
//! thumbnails on the GPU, decoded from the cache's large level on the rayon pool. The pool's
//! size is fixed (1024 slots in BC1, 32 MiB), so GPU memory is bounded by the screen, not N.
//! Slots are reused least-recently-wanted first.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::Gpu;
use super::map::{LOD_PER_PAGE, LOD_SLOT_PX, MapRenderer};
use crate::cache::PreparedDataset;
use crate::thumbs::{self, atlas};

/// Thumbnails drawn at least this many pixels wide get a detail slot (the atlas holds 32).
pub const DETAIL_FROM_PX: f32 = 40.0;

/// How many decodes may be queued at once while flying.
const MAX_PENDING: usize = 48;

/// Size of image `i`'s large level once in a slot (never more than the slot).
pub fn slot_size(large_w: u16, large_h: u16) -> (u32, u32) {
    thumbs::fit_size(
        u32::from(large_w.max(1)),
        u32::from(large_h.max(1)),
        LOD_SLOT_PX,
    )
}

/// Where the detail level comes from: the encoded large thumbnail of image `i` (JPEG or
/// PNG bytes). The cache is one; the renderer knows only this.
pub trait DetailSource: Send + Sync {
    fn large_thumbnail(&self, i: usize) -> Result<Vec<u8>, String>;
}

impl DetailSource for PreparedDataset {
    fn large_thumbnail(&self, i: usize) -> Result<Vec<u8>, String> {
        if i >= self.len() {
            return Err(format!("no image {i}"));
        }
        self.large_thumb_bytes(i).map_err(|e| e.to_string())
    }
}

/// Decoded texels ready to upload into a slot.
struct SlotPixels {
    width: u32,
    height: u32,
    /// BC1 blocks or RGBA8 rows, covering the size rounded up to 4 for BC1.
    data: Vec<u8>,
}

type Decoded = (u32, Result<SlotPixels, String>);

/// Which image holds which slot, and the decodes in flight.
pub struct LodPool {
    source: Arc<dyn DetailSource>,
    bc: bool,
    owner: Vec<Option<u32>>,
    last_wanted: Vec<u64>,
    slot_of: FxHashMap<u32, u32>,
    frame: u64,
    pending: FxHashSet<u32>,
    failed: FxHashMap<u32, String>,
    send: Sender<Decoded>,
    receive: Receiver<Decoded>,
}

fn decode(source: &dyn DetailSource, i: u32, bc: bool) -> Result<SlotPixels, String> {
    let bytes = source.large_thumbnail(i as usize)?;
    let mut rgba = image::load_from_memory(&bytes)
        .map_err(|e| format!("large thumbnail of image {i}: {e}"))?
        .to_rgba8();
    let (w, h) = thumbs::fit_size(rgba.width(), rgba.height(), LOD_SLOT_PX);
    if (w, h) != rgba.dimensions() {
        rgba = thumbs::resize(&rgba, (w, h))?;
    }
    if !bc {
        // The shader reads texels as premultiplied (filtering then blends by coverage).
        thumbs::premultiply(&mut rgba);
        return Ok(SlotPixels {
            width: w,
            height: h,
            data: rgba.into_raw(),
        });
    }
    // BC1 works on 4×4 blocks: pad by repeating the last row and column.
    let (w4, h4) = (w.div_ceil(4) * 4, h.div_ceil(4) * 4);
    let mut padded = vec![0u8; (w4 * h4 * 4) as usize];
    for y in 0..h4 {
        for x in 0..w4 {
            let p = rgba.get_pixel(x.min(w - 1), y.min(h - 1)).0;
            let o = ((y * w4 + x) * 4) as usize;
            padded[o..o + 4].copy_from_slice(&p);
        }
    }
    let mut data = vec![0u8; ((w4 / 4) * (h4 / 4)) as usize * atlas::BLOCK_BYTES];
    let params = texpresso::Params {
        algorithm: texpresso::Algorithm::RangeFit,
        ..Default::default()
    };
    texpresso::Format::Bc1.compress(&padded, w4 as usize, h4 as usize, params, &mut data);
    Ok(SlotPixels {
        width: w,
        height: h,
        data,
    })
}

impl LodPool {
    /// An empty pool for `map`'s slots.
    pub fn new(source: Arc<dyn DetailSource>, gpu: &Gpu, map: &MapRenderer) -> Self {
        let slots = map.lod_slots as usize;
        let (send, receive) = channel();
        Self {
            source,
            bc: gpu.bc && map.lod_format == wgpu::TextureFormat::Bc1RgbaUnormSrgb,
            owner: vec![None; slots],
            last_wanted: vec![0; slots],
            slot_of: FxHashMap::default(),
            frame: 0,
            pending: FxHashSet::default(),
            failed: FxHashMap::default(),
            send,
            receive,
        }
    }

    /// How many slots the pool has.
    pub fn capacity(&self) -> usize {
        self.owner.len()
    }

    /// How many images have their detail level on the GPU.
    pub fn resident(&self) -> usize {
        self.slot_of.len()
    }

    /// How many decodes are in flight.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Large thumbnails that could not be decoded, with the reason (each reported once by
    /// the caller; they stay on the atlas level).
    pub fn failures(&self) -> impl Iterator<Item = (&u32, &String)> {
        self.failed.iter()
    }

    fn begin_frame(&mut self, wanted: &[u32]) -> usize {
        self.frame += 1;
        let keep = wanted.len().min(self.capacity());
        for &i in &wanted[..keep] {
            if let Some(&s) = self.slot_of.get(&i) {
                self.last_wanted[s as usize] = self.frame;
            }
        }
        keep
    }

    /// Wants `wanted` (most important first) this frame: uploads up to `max_uploads`
    /// finished decodes and queues decodes for the rest on the rayon pool. Returns how many
    /// were uploaded (the caller redraws when that is not zero).
    pub fn update(
        &mut self,
        gpu: &Gpu,
        map: &mut MapRenderer,
        wanted: &[u32],
        max_uploads: usize,
    ) -> usize {
        let keep = self.begin_frame(wanted);
        let wanted_now: FxHashSet<u32> = wanted[..keep].iter().copied().collect();
        let mut uploaded = 0;
        while uploaded < max_uploads {
            let Ok((i, result)) = self.receive.try_recv() else {
                break;
            };
            self.pending.remove(&i);
            match result {
                Ok(pixels) if wanted_now.contains(&i) => {
                    if self.place(gpu, map, i, &pixels) {
                        uploaded += 1;
                    }
                }
                Ok(_) => {} // no longer on screen
                Err(reason) => {
                    self.failed.insert(i, reason);
                }
            }
        }
        for &i in &wanted[..keep] {
            if self.pending.len() >= MAX_PENDING {
                break;
            }
            if self.slot_of.contains_key(&i)
                || self.pending.contains(&i)
                || self.failed.contains_key(&i)
            {
                continue;
            }
            self.pending.insert(i);
            let (source, send, bc) = (self.source.clone(), self.send.clone(), self.bc);
            rayon::spawn(move || {
                let _ = send.send((i, decode(source.as_ref(), i, bc)));
            });
        }
        uploaded
    }

    /// Decodes and uploads every image of `wanted` (up to the pool's size) before returning:
    /// screenshots, posters and the benchmark's settled frames.
    pub fn load_now(&mut self, gpu: &Gpu, map: &mut MapRenderer, wanted: &[u32]) {
        let keep = self.begin_frame(wanted);
        let missing: Vec<u32> = wanted[..keep]
            .iter()
            .copied()
            .filter(|i| !self.slot_of.contains_key(i) && !self.failed.contains_key(i))
            .collect();
        let decoded: Vec<Decoded> = missing
            .par_iter()
            .map(|&i| (i, decode(self.source.as_ref(), i, self.bc)))
            .collect();
        for (i, result) in decoded {
            match result {
                Ok(pixels) => {
                    self.place(gpu, map, i, &pixels);
                }
                Err(reason) => {
                    self.failed.insert(i, reason);
                }
            }
        }
    }

    /// Puts image `i` into a free slot, or the least recently wanted one not wanted this
    /// frame. False when every slot is wanted.
    fn place(&mut self, gpu: &Gpu, map: &mut MapRenderer, i: u32, pixels: &SlotPixels) -> bool {
        if self.slot_of.contains_key(&i) {
            return false;
        }
        let slot = match self.owner.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                let Some((s, _)) = self
                    .last_wanted
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| **t < self.frame)
                    .min_by_key(|(_, t)| **t)
                else {
                    return false;
                };
                s
            }
        };
        if let Some(old) = self.owner[slot].take() {
            self.slot_of.remove(&old);
            map.set_slot(old as usize, None);
        }
        let k = slot as u32 % LOD_PER_PAGE;
        let per_row = atlas::PAGE_PX / LOD_SLOT_PX;
        let (copy_w, copy_h, bytes_per_row) = if self.bc {
            let (w4, h4) = (pixels.width.div_ceil(4) * 4, pixels.height.div_ceil(4) * 4);
            (w4, h4, (w4 / 4) * atlas::BLOCK_BYTES as u32)
        } else {
            (pixels.width, pixels.height, pixels.width * 4)
        };
        gpu.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &map.lod_texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: (k % per_row) * LOD_SLOT_PX,
                    y: (k / per_row) * LOD_SLOT_PX,
                    z: slot as u32 / LOD_PER_PAGE,
                },
                aspect: wgpu::TextureAspect::All,
            },
            &pixels.data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(bytes_per_row),
                rows_per_image: None,
            },
            wgpu::Extent3d {
                width: copy_w,
                height: copy_h,
                depth_or_array_layers: 1,
            },
        );
        self.owner[slot] = Some(i);
        self.last_wanted[slot] = self.frame;
        self.slot_of.insert(i, slot as u32);
        map.set_slot(i as usize, Some(slot as u32));
        true
    }
}

/// The images of a view that should have their detail level, most central first: every
/// visible image once thumbnails are drawn at least [`DETAIL_FROM_PX`] wide.
pub fn wanted(
    visible: &super::index::Visible,
    index: &super::index::LayoutIndex,
    camera: &super::Camera,
) -> Vec<u32> {
    if visible.thumb_px < DETAIL_FROM_PX {
        return Vec::new();
    }
    let ids = &visible.ids;
    let p = index.positions();
    let c = camera.centre;
    let mut order: Vec<(f32, u32)> = ids
        .iter()
        .map(|&i| (p[i as usize].distance_squared(c), i))
        .collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    order.into_iter().map(|(_, i)| i).collect()
}
