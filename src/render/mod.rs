//! The map renderer: one instanced quad per image, textured from the atlas pages held in a
//! GPU texture array. No window types here: it draws into any texture view, so the same code
//! serves the window, headless screenshots and the tests (lavapipe in CI).
//!
//! Positions live in two GPU buffers, the layout shown and the one before it; the vertex
//! shader blends them with one uniform, so a layout switch animates every image at no CPU
//! cost per image. Level-of-detail streaming, culling and picking come next.

pub mod camera;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt as _;

use crate::cache::PreparedDataset;
use crate::thumbs::atlas;

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
}

/// A device and queue, from the first adapter wgpu offers (a real GPU, else a software one).
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// Whether atlas pages can stay BC1 on the GPU (else they are expanded to RGBA8).
    pub bc: bool,
    pub adapter_name: String,
}

impl Gpu {
    /// Opens a device without a window.
    pub fn headless() -> Result<Self, RenderError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let bc = adapter
            .features()
            .contains(wgpu::Features::TEXTURE_COMPRESSION_BC);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("clip-plot"),
            required_features: if bc {
                wgpu::Features::TEXTURE_COMPRESSION_BC
            } else {
                wgpu::Features::empty()
            },
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(e.to_string()))?;
        Ok(Self {
            device,
            queue,
            bc,
            adapter_name: adapter.get_info().name,
        })
    }
}

/// Per-image instance data, as the shader's `Thumb`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Thumb {
    half_size: [f32; 2],
    pad_a: [f32; 2],
    rect: [f32; 4],
    page: u32,
    pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct CameraUniform {
    centre: [f32; 2],
    scale: [f32; 2],
    blend: f32,
    cell_from: f32,
    cell_to: f32,
    pad: f32,
}

/// What the view shows: a centre in layout space and how many layout units fit across the
/// shorter side of the target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    pub centre: [f32; 2],
    pub span: f32,
}

impl Camera {
    /// The whole normalised layout ([-1, 1]²) with a small margin.
    pub fn fit_all() -> Self {
        Self {
            centre: [0.0, 0.0],
            span: 2.15,
        }
    }
    fn uniform(&self, width: u32, height: u32) -> CameraUniform {
        let short = width.min(height).max(1) as f32;
        let per_unit = 2.0 / self.span.max(1e-6);
        CameraUniform {
            centre: self.centre,
            scale: [
                per_unit * short / width.max(1) as f32,
                per_unit * short / height.max(1) as f32,
            ],
            blend: 1.0,
            cell_from: 1.0,
            cell_to: 1.0,
            pad: 0.0,
        }
    }
}

/// The colour of the background, linear RGB.
pub const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.006,
    g: 0.006,
    b: 0.008,
    a: 1.0,
};

/// Atlas pages and two layouts on the GPU, ready to draw.
pub struct MapRenderer {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    camera: wgpu::Buffer,
    from: wgpu::Buffer,
    to: wgpu::Buffer,
    cells: [f32; 2],
    count: u32,
}

/// The eased progress of a layout transition at `t` ∈ [0, 1] (smoothstep).
pub fn ease(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn position_bytes(positions: &[[f32; 2]], count: usize) -> Vec<u8> {
    let mut flat: Vec<[f32; 2]> = positions.iter().take(count).copied().collect();
    flat.resize(count.max(1), [0.0, 0.0]);
    bytemuck::cast_slice(&flat).to_vec()
}

impl MapRenderer {
    /// Uploads `prepared`'s atlas pages and `positions` (one per image); each thumbnail is
    /// drawn `cell` layout units wide on its longer side.
    pub fn new(
        gpu: &Gpu,
        prepared: &PreparedDataset,
        positions: &[[f32; 2]],
        cell: f32,
        format: wgpu::TextureFormat,
    ) -> Self {
        let device = &gpu.device;
        let layers = prepared.page_count().max(1) as u32;
        let (tex_format, bytes_per_row) = if gpu.bc {
            (
                wgpu::TextureFormat::Bc1RgbaUnormSrgb,
                (atlas::PAGE_PX / 4) * atlas::BLOCK_BYTES as u32,
            )
        } else {
            (wgpu::TextureFormat::Rgba8UnormSrgb, atlas::PAGE_PX * 4)
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atlas pages"),
            size: wgpu::Extent3d {
                width: atlas::PAGE_PX,
                height: atlas::PAGE_PX,
                depth_or_array_layers: layers,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: tex_format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        for p in 0..prepared.page_count() {
            let expanded;
            let data: &[u8] = if gpu.bc {
                prepared.page(p)
            } else {
                expanded = atlas::decode_page_rgba(prepared.page(p)).into_raw();
                &expanded
            };
            gpu.queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &texture,
                    mip_level: 0,
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
                    width: atlas::PAGE_PX,
                    height: atlas::PAGE_PX,
                    depth_or_array_layers: 1,
                },
            );
        }
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("atlas"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let thumbs: Vec<Thumb> = prepared
            .thumb_records()
            .iter()
            .map(|r| {
                let (w, h) = (f32::from(r.small_w.max(1)), f32::from(r.small_h.max(1)));
                let long = w.max(h);
                // Half a texel in from the cell's edge, so filtering never reads a neighbour.
                Thumb {
                    half_size: [0.5 * w / long, 0.5 * h / long],
                    pad_a: [0.0; 2],
                    rect: [
                        f32::from(r.cell_x) + 0.5,
                        f32::from(r.cell_y) + 0.5,
                        w - 1.0,
                        h - 1.0,
                    ],
                    page: r.page,
                    pad: [0; 3],
                }
            })
            .collect();
        let count = thumbs.len() as u32;
        let position_buffer = |label| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &position_bytes(positions, thumbs.len()),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
            })
        };
        let from = position_buffer("layout from");
        let to = position_buffer("layout to");
        let instances = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("thumbs"),
            contents: if thumbs.is_empty() {
                &[0u8; size_of::<Thumb>()]
            } else {
                bytemuck::cast_slice(&thumbs)
            },
            usage: wgpu::BufferUsages::STORAGE,
        });
        let camera = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("camera"),
            size: size_of::<CameraUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("thumbs.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/thumbs.wgsl").into()),
        });
        let storage = wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only: true },
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let entry = |binding, visibility, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility,
            ty,
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("map"),
            entries: &[
                entry(
                    0,
                    wgpu::ShaderStages::VERTEX,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
                entry(1, wgpu::ShaderStages::VERTEX, storage),
                entry(
                    2,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                ),
                entry(
                    3,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                ),
                entry(4, wgpu::ShaderStages::VERTEX, storage),
                entry(5, wgpu::ShaderStages::VERTEX, storage),
            ],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("map"),
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: camera.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: instances.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::Sampler(&sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: from.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: to.as_entire_binding(),
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("map"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("thumbs"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
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
        });
        Self {
            pipeline,
            bind_group,
            camera,
            from,
            to,
            cells: [cell, cell],
            count,
        }
    }

    /// Starts a transition to `positions` (cell size `cell`): the layout shown so far becomes
    /// the `from` side (copied on the GPU), the new one the `to` side. Draw with `blend`
    /// going from 0 to 1 (see [`ease`]).
    pub fn transition_to(&mut self, gpu: &Gpu, positions: &[[f32; 2]], cell: f32) {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.to, 0, &self.from, 0, self.to.size());
        gpu.queue.submit([encoder.finish()]);
        gpu.queue
            .write_buffer(&self.to, 0, &position_bytes(positions, self.count as usize));
        self.cells = [self.cells[1], cell];
    }

    /// Records drawing every thumbnail into `target` (cleared first) as `camera` sees it.
    pub fn draw(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        size: (u32, u32),
        camera: &Camera,
        blend: f32,
    ) {
        let mut uniform = camera.uniform(size.0, size.1);
        uniform.blend = blend.clamp(0.0, 1.0);
        [uniform.cell_from, uniform.cell_to] = self.cells;
        gpu.queue
            .write_buffer(&self.camera, 0, bytemuck::bytes_of(&uniform));
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("map"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(BACKGROUND),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..6, 0..self.count);
    }
}

/// Positions and thumbnail size of a cached layout.
pub fn layout_with_cell(
    prepared: &PreparedDataset,
    layout: &str,
) -> Result<(Vec<[f32; 2]>, f32), RenderError> {
    let positions = prepared.layout(layout)?;
    let cell = prepared
        .layout_extras(layout)
        .map(|e| e.cell)
        .filter(|c| *c > 0.0)
        .unwrap_or_else(|| 1.2 / (positions.len().max(1) as f32).sqrt());
    Ok((positions, cell))
}

/// Renders layout `layout` of `prepared` into a `width × height` RGBA image, headless.
pub fn render_image(
    gpu: &Gpu,
    prepared: &PreparedDataset,
    layout: &str,
    width: u32,
    height: u32,
) -> Result<image::RgbaImage, RenderError> {
    render_transition(gpu, prepared, layout, layout, 1.0, width, height)
}

/// Renders the transition from layout `from` to layout `to` at `blend` (0: `from`).
pub fn render_transition(
    gpu: &Gpu,
    prepared: &PreparedDataset,
    from: &str,
    to: &str,
    blend: f32,
    width: u32,
    height: u32,
) -> Result<image::RgbaImage, RenderError> {
    let (positions, cell) = layout_with_cell(prepared, from)?;
    let format = wgpu::TextureFormat::Rgba8UnormSrgb;
    let mut renderer = MapRenderer::new(gpu, prepared, &positions, cell, format);
    if to != from {
        let (positions, cell) = layout_with_cell(prepared, to)?;
        renderer.transition_to(gpu, &positions, cell);
    }
    let target = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("frame"),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = target.create_view(&Default::default());
    let padded = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
        * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: u64::from(padded) * u64::from(height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    renderer.draw(
        gpu,
        &mut encoder,
        &view,
        (width, height),
        &Camera::fit_all(),
        blend,
    );
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: None,
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    gpu.queue.submit([encoder.finish()]);
    let slice = readback.slice(..);
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
    let mapped = slice
        .get_mapped_range()
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    let mut pixels = Vec::with_capacity((width * height * 4) as usize);
    for row in mapped.chunks(padded as usize).take(height as usize) {
        pixels.extend_from_slice(&row[..(width * 4) as usize]);
    }
    drop(mapped);
    readback.unmap();
    image::RgbaImage::from_raw(width, height, pixels)
        .ok_or_else(|| RenderError::Readback("frame size mismatch".into()))
}
