//! Frames drawn into textures and read back: screenshots, posters, the headless `render`
//! command, the benchmark and the tests all come through here. Pictures larger than the
//! adapter's texture limit are drawn tile by tile with cameras that show each tile's part at
//! the same scale, each tile culled and given its own detail level, then stitched.

use std::sync::Arc;

use image::RgbaImage;

use super::index::LayoutIndex;
use super::lod::{self, LodPool};
use super::map::{DIMMED, HIDDEN};
use super::overlay::{Logo, read_logo};
use super::text::{Annotations, TextLayer, text_scale};
use super::{Camera, FrameState, Gpu, MapRenderer, MapScene, MapView, RenderError, Style};
use crate::cache::PreparedDataset;

/// The colour format of offscreen frames.
pub const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// Tiles are at most this big even when the adapter allows more (bounds the readback).
pub const MAX_TILE: u32 = 8192;

/// A colour texture and a buffer to read it back.
pub struct Target {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    readback: wgpu::Buffer,
    padded_row: u32,
    pub size: (u32, u32),
    /// Blue first: swapped to RGBA on reading.
    bgra: bool,
}

impl Target {
    pub fn new(gpu: &Gpu, size: (u32, u32), format: wgpu::TextureFormat) -> Self {
        let usage = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC;
        let texture = super::plain_texture(&gpu.device, "frame", size, format, usage);
        let view = texture.create_view(&Default::default());
        let padded_row = (size.0 * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(padded_row) * u64::from(size.1),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Self {
            texture,
            view,
            readback,
            padded_row,
            size,
            bgra: matches!(
                format,
                wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
            ),
        }
    }

    /// Records copying the frame into the readback buffer.
    pub fn copy(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &self.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row),
                    rows_per_image: None,
                },
            },
            self.texture.size(),
        );
    }

    /// Waits for the GPU and hands each row of the copied frame to `row(y, pixels)`.
    pub fn read(&self, gpu: &Gpu, mut row: impl FnMut(u32, &[u8])) -> Result<(), RenderError> {
        let slice = self.readback.slice(..);
        let (send, receive) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = send.send(r);
        });
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        receive
            .recv()
            .map_err(|e| RenderError::Readback(e.to_string()))?
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| RenderError::Readback(e.to_string()))?;
            let width = (self.size.0 * 4) as usize;
            let mut swapped = Vec::new();
            for (y, line) in mapped
                .chunks(self.padded_row as usize)
                .take(self.size.1 as usize)
                .enumerate()
            {
                if self.bgra {
                    swapped.clear();
                    swapped.extend_from_slice(&line[..width]);
                    for px in swapped.chunks_exact_mut(4) {
                        px.swap(0, 2);
                    }
                    row(y as u32, &swapped);
                } else {
                    row(y as u32, &line[..width]);
                }
            }
        }
        self.readback.unmap();
        Ok(())
    }
}

/// The side of the tiles a picture is drawn in: `max_tile` if given, at most the adapter's
/// texture limit and [`MAX_TILE`].
pub fn tile_side(gpu: &Gpu, max_tile: Option<u32>) -> u32 {
    max_tile
        .unwrap_or(MAX_TILE)
        .min(gpu.max_texture)
        .min(MAX_TILE)
}

/// The tiles, (x, y, w, h), that cover a `size` picture with tiles of at most `max` pixels.
pub fn tiles(size: (u32, u32), max: u32) -> Vec<(u32, u32, u32, u32)> {
    let max = max.max(1);
    let mut out = Vec::new();
    for y in (0..size.1).step_by(max as usize) {
        for x in (0..size.0).step_by(max as usize) {
            out.push((x, y, max.min(size.0 - x), max.min(size.1 - y)));
        }
    }
    out
}

/// What one picture shows and how big it is.
#[derive(Clone, Copy, Debug)]
pub struct Picture<'a> {
    pub frame: FrameState,
    pub size: (u32, u32),
    /// Largest tile side (the adapter's texture limit when `None`).
    pub max_tile: Option<u32>,
    /// Labels, legend and title drawn over the images.
    pub annotations: &'a Annotations,
    /// Pixels per point of that text (see [`text_scale`]).
    pub text_scale: f32,
}

impl<'a> Picture<'a> {
    /// A `size` picture of `frame`, untiled below the texture limit, text sized for it.
    pub fn new(frame: FrameState, size: (u32, u32), annotations: &'a Annotations) -> Self {
        Self {
            frame,
            size,
            max_tile: None,
            annotations,
            text_scale: text_scale(size, 1.0),
        }
    }
}

/// Draws `picture` and reads it back: tiled beyond the adapter's texture limit (or
/// `max_tile`), each tile culled and, when `lod` is given, with the detail level of the
/// images large in it; the text and the logo over the whole picture.
pub fn render_view(
    gpu: &Gpu,
    map: &mut MapRenderer,
    index: &LayoutIndex,
    mut lod: Option<&mut LodPool>,
    mut logo: Option<&mut Logo>,
    picture: &Picture,
) -> Result<RgbaImage, RenderError> {
    let (size, frame) = (picture.size, &picture.frame);
    if size.0 == 0 || size.1 == 0 {
        return Err(RenderError::Image(format!(
            "a picture of {}×{} pixels is empty",
            size.0, size.1
        )));
    }
    let bytes = u64::from(size.0) * u64::from(size.1) * 4;
    let mut out = RgbaImage::new(size.0, size.1);
    if out.len() as u64 != bytes {
        return Err(RenderError::Image(format!(
            "a picture of {}×{} pixels does not fit in memory",
            size.0, size.1
        )));
    }
    let mut text = (!picture.annotations.is_empty()).then(|| {
        TextLayer::new(
            gpu,
            map.format(),
            picture.annotations,
            frame.camera,
            size,
            picture.text_scale,
        )
    });
    let max = tile_side(gpu, picture.max_tile);
    let mut targets: Vec<Target> = Vec::new();
    let mut view = MapView::new(gpu, map.format());
    for tile in tiles(size, max) {
        let tile_size = (tile.2, tile.3);
        let camera = frame.camera.tile(size, tile);
        let settled = frame.blend >= 1.0;
        if settled {
            let tile_frame = FrameState { camera, ..*frame };
            let visible = view.cull(gpu, map, index, &tile_frame, tile_size);
            if let Some(lod) = lod.as_deref_mut() {
                let wanted = lod::wanted(&visible, index, &camera);
                lod.load_now(gpu, map, &wanted);
            }
        } else {
            view.set_visible(gpu, None);
        }
        let target = match targets.iter().position(|t| t.size == tile_size) {
            Some(k) => &targets[k],
            None => {
                targets.push(Target::new(gpu, tile_size, map.format()));
                &targets[targets.len() - 1]
            }
        };
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        let tile_frame = FrameState { camera, ..*frame };
        view.draw(gpu, map, &mut encoder, &target.view, tile_size, &tile_frame);
        if let Some(text) = text.as_mut() {
            text.draw(gpu, &mut encoder, &target.view, tile);
        }
        if let Some(logo) = logo.as_deref_mut() {
            logo.draw(gpu, &mut encoder, &target.view, size, tile);
        }
        target.copy(&mut encoder);
        gpu.queue.submit([encoder.finish()]);
        target.read(gpu, |y, row| {
            let start = (((tile.1 + y) * size.0 + tile.0) * 4) as usize;
            out.as_mut()[start..start + row.len()].copy_from_slice(row);
        })?;
    }
    Ok(out)
}

/// Writes `image` as a PNG at `path` atomically (temp file, then rename).
pub fn write_png(path: &std::path::Path, image: &RgbaImage) -> std::io::Result<()> {
    use image::ImageEncoder as _;
    crate::cache::atomic::atomic_write_with(path, |w| {
        image::codecs::png::PngEncoder::new(w)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgba8,
            )
            .map_err(std::io::Error::other)
    })
}

/// Options of a headless render.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// The view; `None` fits the whole layout.
    pub camera: Option<Camera>,
    pub style: Style,
    /// Draw the dataset's logo (`DATASET/logo.png` or `--logo`) when it has one.
    pub logo: bool,
    /// Sharpen thumbnails large in the picture from the cache's large level.
    pub detail: bool,
    /// Largest tile side (the adapter's texture limit when `None`).
    pub max_tile: Option<u32>,
    /// Per image: left out by the filters (dimmed, or hidden with `hide`).
    pub filtered_out: Option<Vec<bool>>,
    pub hide: bool,
    /// Colour by a field: per image a palette index (0: none), and the palette (sRGB).
    pub colours: Option<(Vec<u8>, Vec<[u8; 3]>)>,
    /// Labels, legend and title over the images.
    pub annotations: Annotations,
    /// Text size factor (`None`: 1, text sized for the picture, see [`text_scale`]).
    pub label_scale: Option<f32>,
}

/// Renders the transition from layout `from` to `to` at `blend` (0: `from`), headless.
pub fn render_transition(
    gpu: &Gpu,
    prepared: &Arc<PreparedDataset>,
    from: &str,
    to: &str,
    blend: f32,
    width: u32,
    height: u32,
) -> Result<RgbaImage, RenderError> {
    let size = (width, height);
    let mut scene = MapScene::open(gpu, prepared, from, FORMAT)?;
    let start = scene.index.fit(size);
    if to != from {
        let (positions, cell) = super::layout_with_cell(prepared, to)?;
        scene.transition_to(gpu, positions, cell);
    }
    // The camera moves from the first layout's first view to the second's with the images.
    let end = scene.index.fit(size);
    let frame = FrameState {
        blend,
        ..FrameState::still(start.lerp(&end, blend))
    };
    let none = Annotations::default();
    render_view(
        gpu,
        &mut scene.map,
        &scene.index,
        None,
        None,
        &Picture::new(frame, size, &none),
    )
}

/// Renders layout `layout` of `prepared` into a `width × height` picture, headless.
pub fn render_image(
    gpu: &Gpu,
    prepared: &Arc<PreparedDataset>,
    layout: &str,
    size: (u32, u32),
    options: &RenderOptions,
) -> Result<RgbaImage, RenderError> {
    let MapScene {
        mut map,
        index,
        mut lod,
        ..
    } = MapScene::open(gpu, prepared, layout, FORMAT)?;
    if let Some(out) = &options.filtered_out {
        let bit = if options.hide { HIDDEN } else { DIMMED };
        map.set_flags(bit, |i| out.get(i).copied().unwrap_or(false));
    }
    if let Some((index, palette)) = &options.colours {
        map.set_colours(gpu, Some(index), palette);
    }

    let mut logo = match (&prepared.manifest().logo, options.logo) {
        (Some(path), true) => Some(Logo::new(
            gpu,
            read_logo(std::path::Path::new(path)).map_err(RenderError::Image)?,
            FORMAT,
        )),
        _ => None,
    };
    let frame = FrameState {
        style: options.style,
        ..FrameState::still(options.camera.unwrap_or_else(|| index.fit(size)))
    };
    let picture = Picture {
        max_tile: options.max_tile,
        text_scale: text_scale(size, options.label_scale.unwrap_or(1.0)),
        ..Picture::new(frame, size, &options.annotations)
    };
    let lod = options.detail.then_some(&mut lod);
    render_view(gpu, &mut map, &index, lod, logo.as_mut(), &picture)
}
