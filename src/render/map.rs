//! The GPU side of the map, in the three lifetimes re_renderer keeps apart:
//!
//! - [`MapPipeline`], per device and target format: the shader's pipelines, bind group
//!   layouts and sampler;
//! - [`MapRenderer`], per dataset (bind group 1): atlas pages, per-image instance data and
//!   mean colours, two layouts' positions, per-image state (detail slot, selected, dimmed,
//!   colour), the colour-by palette, and the level-of-detail pool's pages;
//! - [`super::frame::MapView`], per target (bind group 0): the view uniform, the visible
//!   list and the depth buffer; it records the draw.
//!
//! How a frame is drawn (the choice is per frame, from the thumbnails' size on screen):
//!
//! - **textured** (thumbnails wider than [`FLAT_PX`]): opaque images front to back with a
//!   depth test, then images with transparency (no card) back to front, blended. The depth
//!   of an image is its place in the draw order, so the picture is the painter's one, but
//!   where thumbnails pile up (a dense hotspot zoomed in) the hidden fragments are
//!   rejected before shading. An image counted as opaque (at most 2% transparent texels)
//!   shows the background through its stray transparent texels instead of what lies
//!   under it.
//! - **flat** (a few pixels wide): one quad of the image's mean colour (from the atlas's
//!   8-pixel level, linear light: what the mip chain converges to), with a shader that
//!   fetches no texels. Texture detail below 3 pixels is not visible, and the overview of a
//!   large collection is where a software rasteriser spends its time.
//! - **points** (a pixel or less): one vertex per image.
//!
//! Every way pulls its vertices from the vertex index (four corners per image through a
//! shared index buffer of six indices a quad, or one point) in one draw call, without
//! instancing: lavapipe runs an instanced draw instance by instance,
//! which cost more than the vertices themselves at 100k images. Alternatives rejected:
//! instanced quads (that cost); a compute rasteriser for the dots (a second path to keep in
//! step for every state effect); sorting the visible list by depth on the CPU (the index
//! order is already the draw order).

use bytemuck::{Pod, Zeroable};
use glam::{Vec2, Vec4};
use rayon::prelude::*;
use wgpu::util::DeviceExt as _;

use super::{Camera, Gpu};
use crate::cache::PreparedDataset;
use crate::thumbs::atlas;

/// Side of a level-of-detail slot, pixels (the large thumbnail level's default size).
pub const LOD_SLOT_PX: u32 = 256;
/// Slots per level-of-detail page (8 × 8 of 256 px in 2048 px).
pub const LOD_PER_PAGE: u32 = (atlas::PAGE_PX / LOD_SLOT_PX) * (atlas::PAGE_PX / LOD_SLOT_PX);

/// Per-image state bits, as the shader reads them: the level-of-detail slot + 1 (the
/// pool has at most 1024 slots), the colour-by palette index (0: none), and flags.
pub const SLOT_MASK: u32 = 0x0000_ffff;
pub const COLOUR_SHIFT: u32 = 16;
pub const COLOUR_MASK: u32 = 0x00ff_0000;
pub const SELECTED: u32 = 0x0100_0000;
pub const DIMMED: u32 = 0x0200_0000;
/// Filtered out and hidden rather than dimmed: not drawn.
pub const HIDDEN: u32 = 0x0400_0000;
/// Entries of the colour-by palette (index 0 is "no colour").
pub const PALETTE_LEN: usize = 256;
/// `hover` value for "no image".
pub const NO_IMAGE: u32 = u32::MAX;

/// Per-image instance data, as the shader's `Thumb`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Thumb {
    half_size: Vec2,
    large_size: Vec2,
    rect: [f32; 4],
    page: u32,
    flags: u32,
    /// The mean colour, linear premultiplied RGBA as four f16 (`unpack2x16float`).
    mean: [u32; 2],
}

/// Thumb flags, as the shader's `THUMB_*`: the thumbnail has transparent pixels.
pub const THUMB_TRANSPARENT: u32 = 1;
/// Share of transparent pixels above which a thumbnail counts as transparent (a few BC1
/// artefacts in a photo's corner do not).
const TRANSPARENT_SHARE: f32 = 0.02;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct ViewUniform {
    centre: Vec2,
    scale: Vec2,
    viewport: Vec2,
    blend: f32,
    cell_from: f32,
    cell_to: f32,
    size_scale: f32,
    from_base: u32,
    to_base: u32,
    hover: u32,
    use_ids: u32,
    border_px: f32,
    dim: f32,
    accent: Vec4,
    card: Vec4,
    max_lod: f32,
    count: u32,
    total: u32,
    pad: u32,
    background: Vec4,
}

/// Thumbnails narrower than this on screen (longer side, pixels) are drawn as flat quads
/// of their mean colour.
pub const FLAT_PX: f32 = 3.0;
/// Thumbnails this wide or narrower are drawn as single points.
pub const POINT_PX: f32 = 1.0;
/// The depth buffer's format (the draw order as depth, 1 / (N + 1) apart).
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// How a frame's thumbnails are drawn (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawMode {
    Textured,
    Flat,
    Points,
}

impl DrawMode {
    /// The mode for thumbnails `thumb_px` wide (longer side) on screen.
    pub fn for_size(thumb_px: f32, style: &Style) -> Self {
        if !style.flat_dots || thumb_px >= FLAT_PX {
            Self::Textured
        } else if thumb_px > POINT_PX {
            Self::Flat
        } else {
            Self::Points
        }
    }
}

/// How thumbnails look; the settings panel edits it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// Thumbnail size factor (1: each layout's own cell size).
    pub size_scale: f32,
    /// Background colour, sRGB bytes.
    pub background: [u8; 3],
    /// Draw a thin frame around every thumbnail.
    pub borders: bool,
    /// Draw images with transparency on a card that contrasts with the background.
    pub cards: bool,
    /// Sample small thumbnails from the atlas's mip levels (off: level 0 only; the
    /// aliasing benchmark compares).
    pub mip_levels: bool,
    /// Draw thumbnails a few pixels wide as dots of their mean colour (off: always
    /// textured; the benchmark compares).
    pub flat_dots: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            size_scale: 1.0,
            background: [18, 18, 20],
            borders: false,
            cards: true,
            mip_levels: true,
            flat_dots: true,
        }
    }
}

impl Style {
    /// The card colour (sRGB): light grey on a dark background, dark grey on a light one.
    pub fn card_colour(&self) -> [u8; 3] {
        let [r, g, b] = self.background.map(srgb_to_linear);
        if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.18 {
            [214, 214, 210]
        } else {
            [60, 60, 64]
        }
    }

    /// The background as wgpu's linear colour.
    pub fn clear_colour(&self) -> wgpu::Color {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        wgpu::Color {
            r: lin(self.background[0]),
            g: lin(self.background[1]),
            b: lin(self.background[2]),
            a: 1.0,
        }
    }
}

/// What one frame shows besides the camera.
#[derive(Clone, Copy, Debug)]
pub struct FrameState {
    pub camera: Camera,
    /// Transition progress, already eased (1: the current layout).
    pub blend: f32,
    /// Image under the cursor.
    pub hover: Option<u32>,
    pub style: Style,
}

impl FrameState {
    pub fn still(camera: Camera) -> Self {
        Self {
            camera,
            blend: 1.0,
            hover: None,
            style: Style::default(),
        }
    }
}

/// What drawing the map needs per device and target format, whatever the dataset: the
/// shader's pipelines, the bind group layouts and the sampler. Built once per [`Gpu`] and
/// format ([`Gpu::map_pipeline`]) and shared by every dataset drawn on it, as re_renderer
/// keeps its pipelines apart from per-scene buffers.
pub struct MapPipeline {
    /// Group 0: the view uniform and the visible list ([`super::frame::MapView`]).
    pub(crate) frame_layout: wgpu::BindGroupLayout,
    /// Group 1: the dataset ([`MapRenderer`]).
    pub(crate) data_layout: wgpu::BindGroupLayout,
    pub(crate) opaque: wgpu::RenderPipeline,
    pub(crate) transparent: wgpu::RenderPipeline,
    pub(crate) flat: wgpu::RenderPipeline,
    pub(crate) points: wgpu::RenderPipeline,
    sampler: wgpu::Sampler,
}

/// One of the map's pipelines: entry points, primitives, depth use and blending.
struct Variant {
    label: &'static str,
    vertex: &'static str,
    fragment: &'static str,
    topology: wgpu::PrimitiveTopology,
    depth_write: bool,
    depth_compare: wgpu::CompareFunction,
    blend: Option<wgpu::BlendState>,
}

fn variant_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    shader: &wgpu::ShaderModule,
    format: wgpu::TextureFormat,
    v: &Variant,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(v.label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some(v.vertex),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState {
            topology: v.topology,
            ..Default::default()
        },
        depth_stencil: Some(wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(v.depth_write),
            depth_compare: Some(v.depth_compare),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some(v.fragment),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: v.blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

impl MapPipeline {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("thumbs.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/thumbs.wgsl").into()),
        });
        let storage_entry = |binding| {
            super::layout_entry(
                binding,
                wgpu::ShaderStages::VERTEX,
                wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: true },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
            )
        };
        let texture_entry = |binding| {
            super::layout_entry(
                binding,
                wgpu::ShaderStages::FRAGMENT,
                wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2Array,
                    multisampled: false,
                },
            )
        };
        let frame_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("map frame"),
            entries: &[
                super::uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT),
                storage_entry(1),
            ],
        });
        let data_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("map dataset"),
            entries: &[
                storage_entry(0),
                texture_entry(1),
                super::sampler_entry(2),
                storage_entry(3),
                storage_entry(4),
                texture_entry(5),
                super::uniform_entry(6, wgpu::ShaderStages::VERTEX_FRAGMENT),
            ],
        });
        // Bilinear in the nearest mip level: the shader picks the level per image (see
        // `fs_main`). Trilinear (blending two levels) fetched twice the texels for a
        // barely visible gain and made the lavapipe overview slower than before mips.
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("bilinear, nearest level"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Nearest,
            ..Default::default()
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("map"),
            bind_group_layouts: &[Some(&frame_layout), Some(&data_layout)],
            immediate_size: 0,
        });
        let blended = Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING);
        let triangles = wgpu::PrimitiveTopology::TriangleList;
        let make = |v: Variant| variant_pipeline(device, &layout, &shader, format, &v);
        Self {
            // Opaque: front to back, nearer wins, nothing to blend with.
            opaque: make(Variant {
                label: "thumbs, opaque",
                vertex: "vs_opaque",
                fragment: "fs_main",
                topology: triangles,
                depth_write: true,
                depth_compare: wgpu::CompareFunction::Less,
                blend: None,
            }),
            transparent: make(Variant {
                label: "thumbs, transparent",
                vertex: "vs_transparent",
                fragment: "fs_main",
                topology: triangles,
                depth_write: false,
                depth_compare: wgpu::CompareFunction::Less,
                blend: blended,
            }),
            // Dots: the painter's order, shading costs next to nothing.
            flat: make(Variant {
                label: "thumbs, flat",
                vertex: "vs_flat",
                fragment: "fs_flat",
                topology: triangles,
                depth_write: false,
                depth_compare: wgpu::CompareFunction::Always,
                blend: blended,
            }),
            points: make(Variant {
                label: "thumbs, points",
                vertex: "vs_point",
                fragment: "fs_flat",
                topology: wgpu::PrimitiveTopology::PointList,
                depth_write: false,
                depth_compare: wgpu::CompareFunction::Always,
                blend: blended,
            }),
            frame_layout,
            data_layout,
            sampler,
        }
    }
}

/// Atlas pages, instance data and layouts on the GPU, ready to draw (per dataset); the
/// pipeline is shared ([`MapPipeline`]) and each target's frame state is a
/// [`super::frame::MapView`].
pub struct MapRenderer {
    pub(crate) bind_group: wgpu::BindGroup,
    positions: wgpu::Buffer,
    state_buffer: wgpu::Buffer,
    palette: wgpu::Buffer,
    pub(crate) lod_texture: wgpu::Texture,
    pub(crate) lod_format: wgpu::TextureFormat,
    pub(crate) lod_slots: u32,
    /// Which half of `positions` holds the `to` layout (0 or 1).
    to_half: u32,
    pub(crate) cells: [f32; 2],
    count: u32,
    /// Images with transparency (drawn after the opaque ones when cards are off).
    pub(crate) transparent: u32,
    /// Which images have transparency (their dot lets what lies under it through).
    see_through: Vec<bool>,
    /// CPU copy of the per-image state and the range not yet uploaded.
    state: Vec<u32>,
    dirty: Option<(usize, usize)>,
    /// Counts changes to `state` (whoever caches what depends on it compares).
    state_version: u64,
    gpu_bytes: u64,
    format: wgpu::TextureFormat,
}

/// An sRGB byte as linear light (the targets are sRGB: the shader works linear).
fn srgb_to_linear(c: u8) -> f32 {
    crate::thumbs::srgb_lut()[usize::from(c)]
}

fn position_bytes(positions: &[Vec2], count: usize) -> Vec<u8> {
    let mut flat: Vec<Vec2> = positions.iter().take(count).copied().collect();
    flat.resize(count.max(1), Vec2::ZERO);
    bytemuck::cast_slice(&flat).to_vec()
}

fn array_texture(
    device: &wgpu::Device,
    label: &str,
    format: wgpu::TextureFormat,
    layers: u32,
    mip_level_count: u32,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: atlas::PAGE_PX,
            height: atlas::PAGE_PX,
            depth_or_array_layers: layers,
        },
        mip_level_count,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

/// Bytes of one 2048² page in `format` (level 0 only).
fn page_bytes(format: wgpu::TextureFormat) -> u64 {
    match format {
        wgpu::TextureFormat::Bc1RgbaUnormSrgb => atlas::PAGE_BYTES as u64,
        _ => u64::from(atlas::PAGE_PX) * u64::from(atlas::PAGE_PX) * 4,
    }
}

/// The atlas as the renderer takes it: plain slices and records, no cache types, so the
/// renderer knows nothing of where they come from (the cache maps them from disk).
pub struct Atlas<'a> {
    /// Level 0 of each page, BC1 ([`atlas::PAGE_BYTES`] each).
    pub pages: Vec<&'a [u8]>,
    /// Levels 1.. of each page, one after the other ([`atlas::MIP_BYTES`]); `None`: built
    /// at upload.
    pub mips: Vec<Option<&'a [u8]>>,
    /// Each image's cell and sizes.
    pub records: &'a [crate::cache::ThumbRecord],
}

impl<'a> Atlas<'a> {
    /// The atlas of a prepared dataset.
    pub fn of(prepared: &'a PreparedDataset) -> Self {
        let count = prepared.page_count();
        Self {
            pages: (0..count).map(|p| prepared.page(p)).collect(),
            mips: (0..count).map(|p| prepared.page_mips(p)).collect(),
            records: prepared.thumb_records(),
        }
    }
}

fn buffer_entry(binding: u32, b: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: b.as_entire_binding(),
    }
}

/// An image's mean colour as the shader's two `pack2x16float` words.
fn pack_mean(c: [f32; 4]) -> [u32; 2] {
    let h = c.map(|v| u32::from(half::f16::from_f32(v).to_bits()));
    [h[0] | (h[1] << 16), h[2] | (h[3] << 16)]
}

/// Uploads every page of `atlas` with its mip levels into `texture` (BC1 as given, else
/// decoded to RGBA8). Pages without mip levels get them built here, on the rayon pool.
/// Returns each image's mean colour for the flat dots (packed, see [`atlas::cell_mean`]).
fn upload_pages(gpu: &Gpu, data: &Atlas, texture: &wgpu::Texture) -> Vec<[u32; 2]> {
    let count = data.pages.len();
    // Per page: each image's index and rectangle (x, y, w, h).
    type Cell = (usize, (u32, u32, u32, u32));
    let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); count];
    for (i, r) in data.records.iter().enumerate() {
        if let Some(list) = cells.get_mut(r.page as usize) {
            let (w, h) = (u32::from(r.small_w), u32::from(r.small_h));
            list.push((i, (u32::from(r.cell_x), u32::from(r.cell_y), w, h)));
        }
    }
    let (mean_offset, _) = atlas::mip_level(atlas::MEAN_LEVEL);
    // Per page: the mip levels built here (when the cache had none), the images' means.
    type PageOut = (Option<Vec<u8>>, Vec<[u32; 2]>);
    let per_page: Vec<PageOut> = (0..count)
        .into_par_iter()
        .map(|p| {
            let given = data.mips.get(p).copied().flatten();
            let built = given.is_none().then(|| {
                let rects: Vec<_> = cells[p].iter().map(|(_, rect)| *rect).collect();
                atlas::build_mips(data.pages[p], &rects)
            });
            let mips = built.as_deref().or(given).unwrap_or(&[]);
            let level = mips.get(mean_offset - atlas::PAGE_BYTES..).unwrap_or(&[]);
            let means = cells[p]
                .iter()
                .map(|(_, (x, y, w, h))| pack_mean(atlas::cell_mean(level, *x, *y, *w, *h)))
                .collect();
            (built, means)
        })
        .collect();
    let mut means = vec![[0u32; 2]; data.records.len()];
    for (list, (_, page_means)) in cells.iter().zip(&per_page) {
        for ((i, _), m) in list.iter().zip(page_means) {
            means[*i] = *m;
        }
    }
    let built: Vec<Option<Vec<u8>>> = per_page.into_iter().map(|(b, _)| b).collect();
    for (p, built) in built.iter().enumerate() {
        let given = data.mips.get(p).copied().flatten();
        let mips = built.as_deref().or(given).unwrap_or(&[]);
        for level in 0..atlas::MIP_LEVELS {
            let (offset, side) = atlas::mip_level(level);
            let bc1 = if level == 0 {
                data.pages[p]
            } else {
                let len = atlas::PAGE_BYTES >> (2 * level);
                match mips.get(offset - atlas::PAGE_BYTES..offset - atlas::PAGE_BYTES + len) {
                    Some(bytes) => bytes,
                    None => continue,
                }
            };
            let expanded;
            let (data, bytes_per_row): (&[u8], u32) = if gpu.bc {
                (bc1, (side / 4) * atlas::BLOCK_BYTES as u32)
            } else {
                let mut rgba = vec![0u8; (side * side * 4) as usize];
                texpresso::Format::Bc1.decompress(bc1, side as usize, side as usize, &mut rgba);
                expanded = rgba;
                (&expanded, side * 4)
            };
            gpu.queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: level,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: p as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                data,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(bytes_per_row),
                    rows_per_image: None,
                },
                wgpu::Extent3d {
                    width: side,
                    height: side,
                    depth_or_array_layers: 1,
                },
            );
        }
    }
    means
}

impl MapRenderer {
    /// Uploads the atlas `data` and `positions` (one per image); each thumbnail is
    /// drawn `cell` layout units wide on its longer side. Draws into targets of `format`.
    pub fn new(
        gpu: &Gpu,
        data: &Atlas,
        positions: &[Vec2],
        cell: f32,
        format: wgpu::TextureFormat,
    ) -> Self {
        let device = &gpu.device;
        let layers = data.pages.len().max(1) as u32;
        let tex_format = if gpu.bc {
            wgpu::TextureFormat::Bc1RgbaUnormSrgb
        } else {
            wgpu::TextureFormat::Rgba8UnormSrgb
        };
        let texture = array_texture(device, "atlas pages", tex_format, layers, atlas::MIP_LEVELS);
        let means = upload_pages(gpu, data, &texture);
        // The level-of-detail pool: a fixed number of slots, whatever N is. BC1 where the
        // adapter has it (32 KiB a slot), else RGBA8 with half as many slots.
        let (lod_format, lod_layers) = if gpu.bc {
            (wgpu::TextureFormat::Bc1RgbaUnormSrgb, 16)
        } else {
            (wgpu::TextureFormat::Rgba8UnormSrgb, 8)
        };
        let lod_texture = array_texture(device, "detail pages", lod_format, lod_layers, 1);
        let array_view = |t: &wgpu::Texture| {
            t.create_view(&wgpu::TextureViewDescriptor {
                dimension: Some(wgpu::TextureViewDimension::D2Array),
                ..Default::default()
            })
        };
        let half = super::index::half_extents_of(data.records);
        let thumbs: Vec<Thumb> = data
            .records
            .par_iter()
            .zip(half.par_iter())
            .zip(means.par_iter())
            .map(|((r, half), mean)| {
                let (w, h) = (f32::from(r.small_w.max(1)), f32::from(r.small_h.max(1)));
                let (lw, lh) = super::lod::slot_size(r.large_w, r.large_h);
                let share = match data.pages.get(r.page as usize) {
                    Some(page) => atlas::transparent_share(
                        page,
                        u32::from(r.cell_x),
                        u32::from(r.cell_y),
                        u32::from(r.small_w),
                        u32::from(r.small_h),
                    ),
                    None => 0.0,
                };
                // Half a texel in from the cell's edge, so filtering never reads a neighbour.
                Thumb {
                    half_size: *half,
                    large_size: Vec2::new(lw as f32, lh as f32),
                    rect: [
                        f32::from(r.cell_x) + 0.5,
                        f32::from(r.cell_y) + 0.5,
                        w - 1.0,
                        h - 1.0,
                    ],
                    page: r.page,
                    flags: if share > TRANSPARENT_SHARE {
                        THUMB_TRANSPARENT
                    } else {
                        0
                    },
                    mean: *mean,
                }
            })
            .collect();
        let count = thumbs.len() as u32;
        let see_through: Vec<bool> = (thumbs.iter())
            .map(|t| t.flags & THUMB_TRANSPARENT != 0)
            .collect();
        let transparent = see_through.iter().filter(|t| **t).count() as u32;
        let n = thumbs.len().max(1);
        let mut both = position_bytes(positions, thumbs.len());
        both.extend_from_within(..);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let init = |label, contents: &[u8], usage| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
        };
        let positions = init("layouts", &both, storage);
        let one_thumb = [Thumb::zeroed()];
        let instances = init(
            "thumbs",
            bytemuck::cast_slice(if thumbs.is_empty() {
                &one_thumb
            } else {
                &thumbs
            }),
            wgpu::BufferUsages::STORAGE,
        );
        let state = vec![0u32; n];
        let state_buffer = init("state", bytemuck::cast_slice(&state), storage);
        let palette = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("palette"),
            size: (PALETTE_LEN * 16) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let shared = gpu.map_pipeline(format);
        let atlas_view = array_view(&texture);
        let lod_view = array_view(&lod_texture);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("map dataset"),
            layout: &shared.data_layout,
            entries: &[
                buffer_entry(0, &instances),
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&atlas_view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&shared.sampler),
                },
                buffer_entry(3, &positions),
                buffer_entry(4, &state_buffer),
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: wgpu::BindingResource::TextureView(&lod_view),
                },
                buffer_entry(6, &palette),
            ],
        });
        // Levels 1.. add a third.
        let gpu_bytes = page_bytes(tex_format) * u64::from(layers) * 4 / 3
            + page_bytes(lod_format) * u64::from(lod_layers)
            + instances.size()
            + positions.size()
            + state_buffer.size()
            + palette.size();
        Self {
            bind_group,
            positions,
            state_buffer,
            palette,
            lod_texture,
            lod_format,
            lod_slots: lod_layers * LOD_PER_PAGE,
            to_half: 0,
            cells: [cell, cell],
            count,
            transparent,
            see_through,
            state,
            dirty: None,
            state_version: 0,
            gpu_bytes,
            format,
        }
    }

    /// How a frame of `frame` on a `size` target draws its thumbnails, from their size
    /// on screen (during a transition the larger of the two layouts' cells decides).
    pub fn draw_mode(&self, frame: &FrameState, size: (u32, u32)) -> DrawMode {
        let cell = self.cells[0].max(self.cells[1]) * frame.style.size_scale.max(0.01);
        let thumb_px = cell * frame.camera.pixels_per_unit(size.0, size.1);
        DrawMode::for_size(thumb_px, &frame.style)
    }

    /// Whether image `i`, drawn as a dot, hides what lies under it: shown (not hidden) and
    /// opaque (no transparency, or on a card). An opaque image's mean may keep up to 2%
    /// transparency (stray texels); what lies under such a dot is treated as hidden.
    pub fn covers(&self, i: usize, cards: bool) -> bool {
        let shown = self.state.get(i).is_some_and(|s| s & HIDDEN == 0);
        shown && (cards || !self.see_through.get(i).copied().unwrap_or(true))
    }

    /// Changes whenever an image's state (flags, colour, detail slot) changes.
    pub fn state_version(&self) -> u64 {
        self.state_version
    }

    /// The colour format of the targets it draws into.
    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// How many images it draws when nothing is culled.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of GPU memory its textures and buffers hold.
    pub fn gpu_bytes(&self) -> u64 {
        self.gpu_bytes
    }

    /// Starts a transition to `positions` (cell size `cell`): the layout shown so far becomes
    /// the `from` side, the new one the `to` side. Draw with `blend` going from 0 to 1 (see
    /// [`super::ease`]).
    pub fn transition_to(&mut self, gpu: &Gpu, positions: &[Vec2], cell: f32) {
        self.to_half = 1 - self.to_half;
        self.write_half(gpu, self.to_half, positions);
        self.cells = [self.cells[1], cell];
    }

    /// Replaces the current layout's positions without a transition (a layout converging).
    pub fn set_positions(&mut self, gpu: &Gpu, positions: &[Vec2], cell: f32) {
        self.write_half(gpu, self.to_half, positions);
        self.write_half(gpu, 1 - self.to_half, positions);
        self.cells = [cell, cell];
    }

    fn write_half(&self, gpu: &Gpu, half: u32, positions: &[Vec2]) {
        let offset = u64::from(half) * self.positions.size() / 2;
        gpu.queue.write_buffer(
            &self.positions,
            offset,
            &position_bytes(positions, self.count as usize),
        );
    }

    /// Sets or clears state `bit` (SELECTED, DIMMED) of image `i`.
    pub fn set_flag(&mut self, i: usize, bit: u32, on: bool) {
        if let Some(s) = self.state.get_mut(i) {
            let new = if on { *s | bit } else { *s & !bit };
            if new != *s {
                *s = new;
                self.mark(i);
            }
        }
    }

    /// Sets state `bit` on exactly the images for which `on` is true.
    pub fn set_flags(&mut self, bit: u32, on: impl Fn(usize) -> bool) {
        for i in 0..self.count as usize {
            self.set_flag(i, bit, on(i));
        }
    }

    /// Colours image `i` with palette entry `index[i]` (0: none; `None` clears every
    /// colour); entry k is `palette[k - 1]`, sRGB bytes.
    pub fn set_colours(&mut self, gpu: &Gpu, index: Option<&[u8]>, palette: &[[u8; 3]]) {
        let mut table = vec![[0.0f32; 4]; PALETTE_LEN];
        for (entry, c) in table.iter_mut().skip(1).zip(palette) {
            let [r, g, b] = c.map(srgb_to_linear);
            *entry = [r, g, b, 1.0];
        }
        gpu.queue
            .write_buffer(&self.palette, 0, bytemuck::cast_slice(&table));
        for i in 0..self.count as usize {
            let k = index.and_then(|x| x.get(i)).copied().unwrap_or(0);
            let s = self.state[i];
            let new = (s & !COLOUR_MASK) | (u32::from(k) << COLOUR_SHIFT);
            if new != s {
                self.state[i] = new;
                self.mark(i);
            }
        }
    }

    /// Whether state `bit` is set on image `i`.
    pub fn flag(&self, i: usize, bit: u32) -> bool {
        self.state.get(i).is_some_and(|s| s & bit != 0)
    }

    /// Points image `i` at level-of-detail slot `slot` (None: the atlas thumbnail).
    pub(crate) fn set_slot(&mut self, i: usize, slot: Option<u32>) {
        if let Some(s) = self.state.get_mut(i) {
            let new = (*s & !SLOT_MASK) | slot.map_or(0, |k| k + 1);
            if new != *s {
                *s = new;
                self.mark(i);
            }
        }
    }

    fn mark(&mut self, i: usize) {
        self.state_version += 1;
        self.dirty = Some(match self.dirty {
            None => (i, i + 1),
            Some((a, b)) => (a.min(i), b.max(i + 1)),
        });
    }

    /// Uploads the per-image state changed since the last frame.
    pub(crate) fn upload_state(&mut self, gpu: &Gpu) {
        if let Some((a, b)) = self.dirty.take() {
            gpu.queue.write_buffer(
                &self.state_buffer,
                (a * 4) as u64,
                bytemuck::cast_slice(&self.state[a..b]),
            );
        }
    }

    /// Where the `from` and `to` layouts start in the position buffer (in positions).
    pub(crate) fn bases(&self) -> (u32, u32) {
        let n = self.positions.size() / 2 / 8;
        (
            (u64::from(1 - self.to_half) * n) as u32,
            (u64::from(self.to_half) * n) as u32,
        )
    }
}

/// The view uniform of one frame of `map` through `frame` on a `size` viewport, drawing
/// `count` images.
pub(crate) fn view_uniform(
    map: &MapRenderer,
    frame: &FrameState,
    size: (u32, u32),
    count: u32,
    use_ids: bool,
) -> ViewUniform {
    let (centre, scale) = frame.camera.transform(size.0, size.1);
    let (from_base, to_base) = map.bases();
    let style = &frame.style;
    let linear = |c: [u8; 3], a: f32| {
        let [r, g, b] = c.map(srgb_to_linear);
        Vec4::new(r, g, b, a)
    };
    ViewUniform {
        centre,
        scale,
        viewport: Vec2::new(size.0 as f32, size.1 as f32),
        blend: frame.blend.clamp(0.0, 1.0),
        cell_from: map.cells[0],
        cell_to: map.cells[1],
        size_scale: style.size_scale.max(0.01),
        from_base,
        to_base,
        hover: frame.hover.unwrap_or(NO_IMAGE),
        use_ids: u32::from(use_ids),
        border_px: if style.borders { 1.0 } else { 0.0 },
        dim: 0.04,
        accent: Vec4::new(0.95, 0.55, 0.05, 0.35),
        card: linear(style.card_colour(), if style.cards { 1.0 } else { 0.0 }),
        max_lod: if style.mip_levels {
            (atlas::MIP_LEVELS - 1) as f32
        } else {
            0.0
        },
        count,
        total: map.count,
        pad: 0,
        background: linear(style.background, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    fn module(source: &str) -> naga::Module {
        naga::front::wgsl::parse_str(source).expect("the shader parses")
    }

    /// The members (name, offset) and size of WGSL struct `name`.
    fn wgsl_struct(m: &naga::Module, name: &str) -> (Vec<(String, u32)>, u32) {
        let ty = m
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no struct {name}"))
            .1;
        match &ty.inner {
            naga::TypeInner::Struct { members, span } => (
                members
                    .iter()
                    .map(|mb| (mb.name.clone().unwrap_or_default(), mb.offset))
                    .collect(),
                *span,
            ),
            other => panic!("{name} is {other:?}"),
        }
    }

    /// The value of WGSL constant `name` as f64.
    fn wgsl_const(m: &naga::Module, name: &str) -> f64 {
        let c = m
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no constant {name}"))
            .1;
        match m.global_expressions[c.init] {
            naga::Expression::Literal(naga::Literal::U32(v)) => f64::from(v),
            naga::Expression::Literal(naga::Literal::F32(v)) => f64::from(v),
            ref other => panic!("{name} = {other:?}"),
        }
    }

    fn check(m: &naga::Module, name: &str, rust: &[(&str, usize)], rust_size: usize) {
        let (members, span) = wgsl_struct(m, name);
        assert_eq!(span as usize, rust_size, "size of {name}");
        for (field, offset) in rust {
            let found = members.iter().find(|(n, _)| n == field);
            let (_, wgsl) = found.unwrap_or_else(|| panic!("{name}.{field} not in the WGSL"));
            assert_eq!(*wgsl as usize, *offset, "offset of {name}.{field}");
        }
    }

    #[test]
    fn rust_structs_and_constants_match_the_shaders() {
        let m = module(include_str!("../../shaders/thumbs.wgsl"));
        check(
            &m,
            "View",
            &[
                ("centre", offset_of!(ViewUniform, centre)),
                ("scale", offset_of!(ViewUniform, scale)),
                ("viewport", offset_of!(ViewUniform, viewport)),
                ("blend", offset_of!(ViewUniform, blend)),
                ("cell_from", offset_of!(ViewUniform, cell_from)),
                ("cell_to", offset_of!(ViewUniform, cell_to)),
                ("size_scale", offset_of!(ViewUniform, size_scale)),
                ("from_base", offset_of!(ViewUniform, from_base)),
                ("to_base", offset_of!(ViewUniform, to_base)),
                ("hover", offset_of!(ViewUniform, hover)),
                ("use_ids", offset_of!(ViewUniform, use_ids)),
                ("border_px", offset_of!(ViewUniform, border_px)),
                ("dim", offset_of!(ViewUniform, dim)),
                ("accent", offset_of!(ViewUniform, accent)),
                ("card", offset_of!(ViewUniform, card)),
                ("max_lod", offset_of!(ViewUniform, max_lod)),
                ("count", offset_of!(ViewUniform, count)),
                ("total", offset_of!(ViewUniform, total)),
                ("background", offset_of!(ViewUniform, background)),
            ],
            size_of::<ViewUniform>(),
        );
        check(
            &m,
            "Thumb",
            &[
                ("half_size", offset_of!(Thumb, half_size)),
                ("large_size", offset_of!(Thumb, large_size)),
                ("rect", offset_of!(Thumb, rect)),
                ("page", offset_of!(Thumb, page)),
                ("flags", offset_of!(Thumb, flags)),
                ("mean", offset_of!(Thumb, mean)),
            ],
            size_of::<Thumb>(),
        );
        let constants: [(&str, f64); 12] = [
            ("SLOT_MASK", f64::from(SLOT_MASK)),
            ("COLOUR_SHIFT", f64::from(COLOUR_SHIFT)),
            ("SELECTED", f64::from(SELECTED)),
            ("DIMMED", f64::from(DIMMED)),
            ("HIDDEN", f64::from(HIDDEN)),
            ("THUMB_TRANSPARENT", f64::from(THUMB_TRANSPARENT)),
            ("PAGE_PX", f64::from(atlas::PAGE_PX)),
            ("CELL_PX", f64::from(atlas::CELL_PX)),
            ("MIP_LEVELS", f64::from(atlas::MIP_LEVELS)),
            ("LOD_SLOT_PX", f64::from(LOD_SLOT_PX)),
            ("LOD_PER_ROW", f64::from(atlas::PAGE_PX / LOD_SLOT_PX)),
            ("LOD_PER_PAGE", f64::from(LOD_PER_PAGE)),
        ];
        for (name, rust) in constants {
            assert_eq!(wgsl_const(&m, name), rust, "{name}");
        }
        // The colour-by palette: PALETTE_LEN vec4s.
        let palette = m
            .global_variables
            .iter()
            .find(|(_, g)| g.name.as_deref() == Some("palette"))
            .expect("the palette binding")
            .1;
        match m.types[palette.ty].inner {
            naga::TypeInner::Array {
                size: naga::ArraySize::Constant(n),
                stride,
                ..
            } => assert_eq!((n.get() as usize, stride), (PALETTE_LEN, 16)),
            ref other => panic!("palette is {other:?}"),
        }

        // The logo's rectangle: four clip-space floats.
        let overlay = module(include_str!("../../shaders/overlay.wgsl"));
        assert_eq!(
            wgsl_struct(&overlay, "Rect").1 as usize,
            size_of::<[f32; 4]>()
        );
    }
}
