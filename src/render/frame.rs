//! Per-target frame state of the map: the view uniform, the visible list (what culling
//! left) and the depth buffer, with the bind group (group 0) that hands the first two to
//! the shader. It belongs to whoever owns a target (the window, one picture, the
//! benchmark), not to a dataset: the window keeps one [`MapView`] while datasets come and
//! go, and a dataset can be drawn into several targets at once.
//!
//! [`MapView::draw_with`] picks how the frame is drawn from the thumbnails' size on screen
//! ([`DrawMode`], see [`super::map`]) and records the passes: textured (opaque images front
//! to back with the depth test, then those with transparency), flat dots, or points.
//!
//! The visible list grows by doubling and never shrinks: a list sized for the largest
//! dataset shown stays, as GPU memory in the order of 4 bytes an image.

use std::sync::Arc;

use super::index::{LayoutIndex, Visible};
use super::map::{DEPTH_FORMAT, DrawMode, FrameState, MapPipeline, MapRenderer, ViewUniform};
use super::occlusion::{Dots, uncovered};
use super::{Gpu, colour_pass_with_depth};

/// The depth buffer of one target size.
struct Depth {
    size: (u32, u32),
    view: wgpu::TextureView,
}

/// One target's frame state (see the module doc).
pub struct MapView {
    pipeline: Arc<MapPipeline>,
    uniform: wgpu::Buffer,
    ids: wgpu::Buffer,
    /// Ids the list buffer holds room for.
    capacity: usize,
    /// Six indices a quad (0 1 2, 2 1 3 of its four corners), for `quads` quads.
    quad_indices: wgpu::Buffer,
    quads: u32,
    bind_group: wgpu::BindGroup,
    /// The length of the visible list, `None`: draw every image.
    visible: Option<u32>,
    depth: Option<Depth>,
    /// How the last frame was drawn.
    mode: Option<DrawMode>,
}

impl MapView {
    /// Frame state for targets of `format`.
    pub fn new(gpu: &Gpu, format: wgpu::TextureFormat) -> Self {
        let pipeline = gpu.map_pipeline(format);
        let uniform = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("view"),
            size: size_of::<ViewUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let capacity = 1024;
        let ids = ids_buffer(gpu, capacity);
        let bind_group = bind_group(gpu, &pipeline, &uniform, &ids);
        let quads = 1024;
        Self {
            pipeline,
            uniform,
            ids,
            capacity,
            quad_indices: quad_index_buffer(gpu, quads),
            quads,
            bind_group,
            visible: None,
            depth: None,
            mode: None,
        }
    }

    /// Draws only the images in `ids` (ascending: the draw order) from the next frame on;
    /// `None` draws every image.
    pub fn set_visible(&mut self, gpu: &Gpu, ids: Option<&[u32]>) {
        self.visible = ids.map(|ids| {
            if ids.len() > self.capacity {
                self.capacity = ids.len().next_power_of_two();
                self.ids = ids_buffer(gpu, self.capacity);
                self.bind_group = bind_group(gpu, &self.pipeline, &self.uniform, &self.ids);
            }
            if !ids.is_empty() {
                gpu.queue
                    .write_buffer(&self.ids, 0, bytemuck::cast_slice(ids));
            }
            ids.len() as u32
        });
    }

    /// Culls for the frame `frame` on a `size` target: what `index` (the layout `map`
    /// shows) finds in view, and, when the frame is drawn as dots or points, only the
    /// images not covered by later ones ([`super::occlusion`]). The list is the next
    /// draw's; the returned [`Visible`] says what is in view (its `count`: all of it,
    /// whether drawn or covered).
    pub fn cull(
        &mut self,
        gpu: &Gpu,
        map: &MapRenderer,
        index: &LayoutIndex,
        frame: &FrameState,
        size: (u32, u32),
    ) -> Visible {
        let size_scale = frame.style.size_scale;
        let dots = match map.draw_mode(frame, size) {
            DrawMode::Textured => None,
            DrawMode::Flat => Some(Dots::Flat { size_scale }),
            DrawMode::Points => Some(Dots::Points { size_scale }),
        };
        let visible = match dots {
            Some(dots) => {
                let cards = frame.style.cards;
                let covers = |i| map.covers(i, cards);
                uncovered(index, &frame.camera, size, dots, covers)
            }
            None => index.visible(&frame.camera, size, size_scale),
        };
        self.set_visible(gpu, LayoutIndex::draw_list(&visible));
        visible
    }

    /// How many of `map`'s images the next draw draws.
    pub fn drawn(&self, map: &MapRenderer) -> u32 {
        self.visible
            .map_or(map.len() as u32, |n| n.min(map.len() as u32))
    }

    /// How the last frame was drawn (`None` before the first).
    pub fn mode(&self) -> Option<DrawMode> {
        self.mode
    }

    /// Records drawing `map` into the whole of `target` (`size` pixels, cleared first).
    pub fn draw(
        &mut self,
        gpu: &Gpu,
        map: &mut MapRenderer,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        size: (u32, u32),
        frame: &FrameState,
    ) {
        let load = wgpu::LoadOp::Clear(frame.style.clear_colour());
        let viewport = [0, 0, size.0, size.1];
        self.draw_with(gpu, map, encoder, (target, size), viewport, frame, load);
    }

    /// As [`Self::draw`], into the part `viewport` (x, y, width, height, pixels) of a
    /// target of the size given, with the target's load operation (`Load` draws over it).
    #[allow(clippy::too_many_arguments)]
    pub fn draw_with(
        &mut self,
        gpu: &Gpu,
        map: &mut MapRenderer,
        encoder: &mut wgpu::CommandEncoder,
        (target, target_size): (&wgpu::TextureView, (u32, u32)),
        viewport: [u32; 4],
        frame: &FrameState,
        load: wgpu::LoadOp<wgpu::Color>,
    ) {
        let size = (viewport[2].max(1), viewport[3].max(1));
        map.upload_state(gpu);
        let count = self.drawn(map);
        let uniform = super::map::view_uniform(map, frame, size, count, self.visible.is_some());
        gpu.queue
            .write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
        let mode = map.draw_mode(frame, size);
        self.mode = Some(mode);
        if count > self.quads {
            self.quads = count.next_power_of_two();
            self.quad_indices = quad_index_buffer(gpu, self.quads);
        }
        let depth = self.depth_view(gpu, target_size);
        let mut pass = colour_pass_with_depth(encoder, "map", target, load, depth);
        pass.set_viewport(
            viewport[0] as f32,
            viewport[1] as f32,
            size.0 as f32,
            size.1 as f32,
            0.0,
            1.0,
        );
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_bind_group(1, &map.bind_group, &[]);
        pass.set_index_buffer(self.quad_indices.slice(..), wgpu::IndexFormat::Uint32);
        let p = &self.pipeline;
        match mode {
            DrawMode::Textured => {
                pass.set_pipeline(&p.opaque);
                pass.draw_indexed(0..6 * count, 0, 0..1);
                if map.transparent > 0 && !frame.style.cards {
                    pass.set_pipeline(&p.transparent);
                    pass.draw_indexed(0..6 * count, 0, 0..1);
                }
            }
            DrawMode::Flat => {
                pass.set_pipeline(&p.flat);
                pass.draw_indexed(0..6 * count, 0, 0..1);
            }
            DrawMode::Points => {
                pass.set_pipeline(&p.points);
                pass.draw(0..count, 0..1);
            }
        }
    }

    /// The depth buffer for a `size` target, made when the size changes.
    fn depth_view(&mut self, gpu: &Gpu, size: (u32, u32)) -> &wgpu::TextureView {
        let size = (size.0.max(1), size.1.max(1));
        if self.depth.as_ref().is_some_and(|d| d.size != size) {
            self.depth = None;
        }
        let depth = self.depth.get_or_insert_with(|| {
            let usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
            let texture = super::plain_texture(&gpu.device, "map depth", size, DEPTH_FORMAT, usage);
            Depth {
                size,
                view: texture.create_view(&Default::default()),
            }
        });
        &depth.view
    }
}

/// Indices of `quads` quads of four corners each: 0 1 2, 2 1 3 (+ 4k).
fn quad_index_buffer(gpu: &Gpu, quads: u32) -> wgpu::Buffer {
    use wgpu::util::DeviceExt as _;
    let indices: Vec<u32> = (0..quads.max(1))
        .flat_map(|q| [0, 1, 2, 2, 1, 3].map(|c| 4 * q + c))
        .collect();
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("quad indices"),
            contents: bytemuck::cast_slice(&indices),
            usage: wgpu::BufferUsages::INDEX,
        })
}

fn ids_buffer(gpu: &Gpu, capacity: usize) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("visible"),
        size: (capacity.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn bind_group(
    gpu: &Gpu,
    pipeline: &MapPipeline,
    uniform: &wgpu::Buffer,
    ids: &wgpu::Buffer,
) -> wgpu::BindGroup {
    gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("map frame"),
        layout: &pipeline.frame_layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: uniform.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: ids.as_entire_binding(),
            },
        ],
    })
}
