//! The map renderer: one instanced quad per image, textured from the atlas pages held in a
//! GPU texture array, with a fixed pool of sharper slots for the images large on screen.
//! No window types here: it draws into any texture view, so the same code serves the window,
//! headless screenshots and posters, the frame-time benchmark and the tests (lavapipe in CI).
//! No cache types in the drawing either: [`MapRenderer`] takes the atlas as plain slices
//! ([`map::Atlas`]) and the detail pool reads through [`lod::DetailSource`]; only
//! [`MapScene::open`] knows that they come from a prepared cache.
//!
//! - [`map`]: the pipelines (per device and format) and a dataset's GPU state (layout
//!   transitions blend two position buffers in the vertex shader; per-image selection,
//!   dimming and detail slot; hover outline).
//! - [`frame`]: a target's frame state (view uniform, visible list, depth) and the draw.
//! - [`index`]: the CPU side of culling, picking and lasso over a spatial hash of the layout.
//! - [`occlusion`]: which dots a frame leaves out (covered in every pixel by later ones).
//! - [`lod`]: which images get a detail slot, decoded on the rayon pool.
//! - [`overlay`]: the user's logo.
//! - [`offscreen`]: frames read back to images, tiled beyond the texture limit.
//! - [`bench`]: the scripted fly-through behind `clip-plot-view bench`.

use glam::{Affine2, Vec2};

pub mod aliasing;
pub mod bench;
pub mod camera;
pub mod frame;
pub mod index;
pub mod legend;
pub mod lod;
pub mod map;
pub mod occlusion;
pub mod offscreen;
pub mod overlay;
pub mod text;

pub use frame::MapView;
pub use map::{DrawMode, FrameState, MapRenderer, Style};
pub use offscreen::{Picture, RenderOptions, render_image, render_transition, render_view};
pub use text::Annotations;

/// Everything that can stop a render.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no GPU adapter (install mesa-vulkan-drivers for a software one): {0}")]
    NoAdapter(String),
    #[error("the GPU device could not be created: {0}")]
    Device(String),
    #[error("reading the frame back failed: {0}")]
    Readback(String),
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    #[error("{0}")]
    Image(String),
}

/// A device and queue, from the first adapter wgpu offers (a real GPU, else a software one).
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// Whether atlas pages can stay BC1 on the GPU (else they are expanded to RGBA8).
    pub bc: bool,
    pub adapter_name: String,
    /// The largest texture side the device allows (posters beyond it are tiled).
    pub max_texture: u32,
    /// The map's pipelines, one per target format, built on first use.
    pipelines: std::sync::Mutex<Vec<(wgpu::TextureFormat, std::sync::Arc<map::MapPipeline>)>>,
}

impl Gpu {
    /// Opens a device without a window. Vulkan, Metal and DX12 are asked first and OpenGL
    /// only when none of them has an adapter: probing GL through EGL connects to Wayland,
    /// which prints "XDG_RUNTIME_DIR is invalid" on every machine without a desktop
    /// session (CI, SSH, a render farm) although nothing is wrong. `WGPU_BACKEND` still
    /// picks the backends when set.
    pub fn headless() -> Result<Self, RenderError> {
        let from_env = wgpu::Backends::from_env();
        let tries = match from_env {
            Some(b) => vec![b],
            None => vec![wgpu::Backends::PRIMARY, wgpu::Backends::GL],
        };
        let mut last = String::from("no backend tried");
        for backends in tries {
            match Self::headless_on(backends) {
                Ok(gpu) => return Ok(gpu),
                Err(e) => last = e.to_string(),
            }
        }
        Err(RenderError::NoAdapter(last))
    }

    fn headless_on(backends: wgpu::Backends) -> Result<Self, RenderError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
        });
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let (descriptor, bc) = Self::device_descriptor(&adapter);
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
            .map_err(|e| RenderError::Device(e.to_string()))?;
        Ok(Self::from_parts(&adapter, device, queue, bc))
    }

    /// Wraps a device opened elsewhere (the window's).
    pub fn from_parts(
        adapter: &wgpu::Adapter,
        device: wgpu::Device,
        queue: wgpu::Queue,
        bc: bool,
    ) -> Self {
        let max_texture = device.limits().max_texture_dimension_2d;
        Self {
            device,
            queue,
            bc,
            adapter_name: adapter.get_info().name,
            max_texture,
            pipelines: Default::default(),
        }
    }

    /// The map's pipeline for targets of `format` (built once per device and format).
    pub fn map_pipeline(&self, format: wgpu::TextureFormat) -> std::sync::Arc<map::MapPipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, p)) = cache.iter().find(|(f, _)| *f == format) {
            return p.clone();
        }
        let p = std::sync::Arc::new(map::MapPipeline::new(&self.device, format));
        cache.push((format, p.clone()));
        p
    }

    /// The features and limits clip-plot asks of `adapter`: BC compression where it has it,
    /// and its own texture size limit (posters use it).
    pub fn device_descriptor(adapter: &wgpu::Adapter) -> (wgpu::DeviceDescriptor<'static>, bool) {
        let bc = adapter
            .features()
            .contains(wgpu::Features::TEXTURE_COMPRESSION_BC);
        let mut limits = wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits());
        limits.max_storage_buffer_binding_size = adapter.limits().max_storage_buffer_binding_size;
        limits.max_buffer_size = adapter.limits().max_buffer_size;
        (
            wgpu::DeviceDescriptor {
                label: Some("clip-plot"),
                required_features: if bc {
                    wgpu::Features::TEXTURE_COMPRESSION_BC
                } else {
                    wgpu::Features::empty()
                },
                required_limits: limits,
                ..Default::default()
            },
            bc,
        )
    }
}

/// What the view shows: a centre in layout space and how many layout units fit across the
/// shorter side of the target. Layout space has y up; pixels have their origin at the top
/// left and y down. [`Camera::pixel_from_layout`] is the one place that relation is
/// written: picking, labels and tiles all go through it (or its inverse).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    pub centre: Vec2,
    pub span: f32,
}

impl Camera {
    /// The whole normalised layout ([-1, 1]²) with a small margin.
    pub fn fit_all() -> Self {
        Self {
            centre: Vec2::ZERO,
            span: 2.15,
        }
    }

    /// The camera that shows `bounds` (min corner, max corner) whole on a `size` target,
    /// with the same small margin as [`Self::fit_all`].
    pub fn fit(bounds: (Vec2, Vec2), size: (u32, u32)) -> Self {
        let (lo, hi) = bounds;
        let extent = (hi - lo).max(Vec2::ZERO);
        let target = target_size(size);
        // Layout units across the shorter side so that the box fits both ways.
        let span = (extent * target.min_element() / target).max_element() * 1.075;
        if !(span.is_finite() && span > 0.0) {
            return Self::fit_all();
        }
        Self {
            centre: lo.midpoint(hi),
            span,
        }
    }

    /// The camera centred on `bounds` (min corner, max corner) with `margin` × its longer
    /// side across, at least `min_span`; `None` for an empty box (min > max).
    pub fn around(bounds: (Vec2, Vec2), margin: f32, min_span: f32) -> Option<Self> {
        let (lo, hi) = bounds;
        if lo.x > hi.x {
            return None;
        }
        Some(Self {
            centre: lo.midpoint(hi),
            span: ((hi - lo).max_element() * margin).max(min_span),
        })
    }

    /// The camera `t` of the way from `self` to `other` (the span geometrically, so a zoom
    /// looks even).
    pub fn lerp(&self, other: &Camera, t: f32) -> Camera {
        if t <= 0.0 {
            return *self;
        }
        if t >= 1.0 {
            return *other;
        }
        Camera {
            centre: self.centre.lerp(other.centre, t),
            span: self.span * (other.span / self.span.max(1e-12)).powf(t),
        }
    }

    /// Pixels per layout unit on a `width × height` target.
    pub fn pixels_per_unit(&self, width: u32, height: u32) -> f32 {
        width.min(height).max(1) as f32 / self.span.max(1e-9)
    }

    /// Layout space to the pixels of a target `size` wide and high (in pixels, or in any
    /// unit: egui's points for labels): origin top left, y down.
    pub fn pixel_from_layout(&self, size: Vec2) -> Affine2 {
        let size = size.max(Vec2::ONE);
        let per_unit = size.min_element() / self.span.max(1e-9);
        Affine2::from_translation(0.5 * size)
            * Affine2::from_scale(Vec2::new(per_unit, -per_unit))
            * Affine2::from_translation(-self.centre)
    }

    /// The inverse of [`Self::pixel_from_layout`]: the layout point under a pixel.
    pub fn layout_from_pixel(&self, size: Vec2) -> Affine2 {
        self.pixel_from_layout(size).inverse()
    }

    /// The centre and the clip-space units per layout unit (x, y) on a `width × height`
    /// target: clip = (layout − centre) × scale, what the vertex shader computes.
    pub fn transform(&self, width: u32, height: u32) -> (Vec2, Vec2) {
        let target = target_size((width, height));
        let per_unit = 2.0 / self.span.max(1e-9);
        (self.centre, per_unit * target.min_element() / target)
    }

    /// The layout-space box a `width × height` target shows: (min corner, max corner).
    pub fn visible_box(&self, width: u32, height: u32) -> (Vec2, Vec2) {
        let half =
            0.5 * Vec2::new(width as f32, height as f32) / self.pixels_per_unit(width, height);
        (self.centre - half, self.centre + half)
    }

    /// The camera that shows the part `tile` (x, y, width, height, pixels from the top left)
    /// of what this camera shows on a `full` target, at the same scale.
    pub fn tile(&self, full: (u32, u32), tile: (u32, u32, u32, u32)) -> Self {
        let ppu = self.pixels_per_unit(full.0, full.1);
        let middle =
            Vec2::new(tile.0 as f32, tile.1 as f32) + 0.5 * Vec2::new(tile.2 as f32, tile.3 as f32);
        let to_layout = self.layout_from_pixel(Vec2::new(full.0 as f32, full.1 as f32));
        Self {
            centre: to_layout.transform_point2(middle),
            span: tile.2.min(tile.3).max(1) as f32 / ppu,
        }
    }
}

/// A target's size in pixels as a vector, each side at least 1.
fn target_size(size: (u32, u32)) -> Vec2 {
    Vec2::new(size.0.max(1) as f32, size.1.max(1) as f32)
}

/// The eased progress of a layout transition at `t` ∈ [0, 1] (smoothstep).
pub fn ease(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A render pass into `view` with one colour attachment, loaded as `load` and stored.
pub fn colour_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
    view: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
) -> wgpu::RenderPass<'e> {
    pass_with(encoder, label, view, load, None)
}

/// As [`colour_pass`], with a depth attachment cleared to 1 (the far end) and discarded
/// after the pass.
pub fn colour_pass_with_depth<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
    view: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
    depth: &wgpu::TextureView,
) -> wgpu::RenderPass<'e> {
    pass_with(encoder, label, view, load, Some(depth))
}

fn pass_with<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
    view: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
    depth: Option<&wgpu::TextureView>,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: depth.map(|view| wgpu::RenderPassDepthStencilAttachment {
            view,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                store: wgpu::StoreOp::Discard,
            }),
            stencil_ops: None,
        }),
        ..Default::default()
    })
}

/// A single-level 2-D texture of `size` pixels (targets and depth buffers).
pub(crate) fn plain_texture(
    device: &wgpu::Device,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: size.0,
            height: size.1,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

pub(crate) fn layout_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    ty: wgpu::BindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty,
        count: None,
    }
}

pub(crate) fn uniform_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
) -> wgpu::BindGroupLayoutEntry {
    layout_entry(
        binding,
        visibility,
        wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
    )
}

pub(crate) fn sampler_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    layout_entry(
        binding,
        wgpu::ShaderStages::FRAGMENT,
        wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
    )
}

/// A pipeline drawing six vertices per instance with premultiplied-alpha blending.
pub(crate) fn premultiplied_pipeline(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    shader: &wgpu::ShaderModule,
    format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// The thumbnail size of a layout at `positions`: its own (`extras.cell`: the grid and
/// metadata layouts), else from how densely its images lie ([`crate::layout::density`]).
pub fn cell_of(extras: Option<&crate::layout::meta::LabelledLayout>, positions: &[Vec2]) -> f32 {
    extras
        .map(|e| e.cell)
        .filter(|c| *c > 0.0)
        .unwrap_or_else(|| crate::layout::density::thumb_cell(positions))
}

/// Positions and thumbnail size of a cached layout.
pub fn layout_with_cell(
    prepared: &crate::cache::PreparedDataset,
    layout: &str,
) -> Result<(Vec<Vec2>, f32), crate::cache::CacheError> {
    let positions = prepared.layout(layout)?;
    let cell = cell_of(prepared.layout_extras(layout).as_ref(), &positions);
    Ok((positions, cell))
}

/// An open dataset's layout ready to draw: the renderer (atlas pages, instances,
/// positions), the CPU index that culls and picks, every image's extent and the pool that
/// sharpens what is large on screen. The window's session, headless pictures and the
/// benchmark all start from [`MapScene::open`].
pub struct MapScene {
    pub map: MapRenderer,
    pub index: index::LayoutIndex,
    /// Each image's half extent for a cell of 1 (shared with every later index).
    pub half: std::sync::Arc<[Vec2]>,
    pub lod: lod::LodPool,
    /// The layout's own labels, cell and outlines, when it has any.
    pub extras: Option<crate::layout::meta::LabelledLayout>,
}

impl MapScene {
    /// Puts layout `layout` of `prepared` on the GPU, drawing into targets of `format`.
    pub fn open(
        gpu: &Gpu,
        prepared: &std::sync::Arc<crate::cache::PreparedDataset>,
        layout: &str,
        format: wgpu::TextureFormat,
    ) -> Result<Self, RenderError> {
        let positions = prepared.layout(layout)?;
        let extras = prepared.layout_extras(layout);
        let cell = cell_of(extras.as_ref(), &positions);
        let map = MapRenderer::new(gpu, &map::Atlas::of(prepared), &positions, cell, format);
        let half = index::half_extents(prepared);
        let index = index::LayoutIndex::new(positions, cell, half.clone());
        let lod = lod::LodPool::new(prepared.clone(), gpu, &map);
        Ok(Self {
            map,
            index,
            half,
            lod,
            extras,
        })
    }

    /// Animates to `positions` (thumbnails `cell` wide): the renderer blends from what it
    /// showed, the index answers for the new layout at once.
    pub fn transition_to(&mut self, gpu: &Gpu, positions: Vec<Vec2>, cell: f32) {
        self.map.transition_to(gpu, &positions, cell);
        self.index = index::LayoutIndex::new(positions, cell, self.half.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_and_layout_map_both_ways_as_the_shader_draws() {
        let camera = Camera {
            centre: Vec2::new(0.3, -0.2),
            span: 0.5,
        };
        let (w, h) = (800u32, 400u32);
        let size = Vec2::new(w as f32, h as f32);
        let to_pixel = camera.pixel_from_layout(size);
        // The centre is in the middle; half a span up is the top edge of the shorter side.
        assert!(
            to_pixel
                .transform_point2(camera.centre)
                .abs_diff_eq(size / 2.0, 1e-4)
        );
        let top = camera.centre + Vec2::new(0.0, 0.25);
        assert!(
            to_pixel
                .transform_point2(top)
                .abs_diff_eq(Vec2::new(400.0, 0.0), 1e-3)
        );
        // The inverse gives the layout point back.
        let p = Vec2::new(0.41, -0.33);
        let back = camera
            .layout_from_pixel(size)
            .transform_point2(to_pixel.transform_point2(p));
        assert!(back.abs_diff_eq(p, 1e-5));
        // The shader's clip position, (p − centre) × scale, is the same pixel.
        let (centre, scale) = camera.transform(w, h);
        let clip = (p - centre) * scale;
        let pixel = Vec2::new((clip.x + 1.0) / 2.0, (1.0 - clip.y) / 2.0) * size;
        assert!(pixel.abs_diff_eq(to_pixel.transform_point2(p), 1e-3));
        // The visible box's corners are the target's corners.
        let (lo, hi) = camera.visible_box(w, h);
        assert!(
            to_pixel
                .transform_point2(Vec2::new(lo.x, hi.y))
                .abs_diff_eq(Vec2::ZERO, 1e-3)
        );
        assert!(
            to_pixel
                .transform_point2(Vec2::new(hi.x, lo.y))
                .abs_diff_eq(size, 1e-3)
        );
    }

    #[test]
    fn a_tile_shows_its_part_at_the_same_scale() {
        let camera = Camera::fit_all();
        let full = (1000, 600);
        // The right half: centred a quarter of the width right of the middle.
        let tile = camera.tile(full, (500, 0, 500, 600));
        let ppu = camera.pixels_per_unit(full.0, full.1);
        assert!((tile.centre.x - 250.0 / ppu).abs() < 1e-5);
        assert!(tile.centre.y.abs() < 1e-6);
        assert!((tile.pixels_per_unit(500, 600) - ppu).abs() < 1e-3);
        // Fitting a box shows all of it; an empty box falls back to the whole square.
        let fit = Camera::fit((Vec2::new(-1.0, -0.5), Vec2::new(3.0, 0.5)), full);
        let (lo, hi) = fit.visible_box(full.0, full.1);
        assert!(lo.x <= -1.0 && hi.x >= 3.0 && lo.y <= -0.5 && hi.y >= 0.5);
        assert_eq!(Camera::fit((Vec2::ONE, Vec2::ONE), full), Camera::fit_all());
    }
}
