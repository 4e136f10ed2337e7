//! The user's logo, drawn over the map in a corner of every frame, screenshot and poster.

use image::RgbaImage;

use super::Gpu;

/// Where the logo goes on a `full`-sized picture: the bottom-right corner, about 7 % of the
/// shorter side high (at most 30 % of the width wide), pixels (x0, y0, x1, y1) from the top
/// left.
pub fn logo_rect(full: (u32, u32), logo: (u32, u32)) -> [f32; 4] {
    let short = full.0.min(full.1) as f32;
    let aspect = logo.0.max(1) as f32 / logo.1.max(1) as f32;
    let mut h = (0.07 * short).max(16.0);
    let mut w = h * aspect;
    let max_w = 0.3 * full.0 as f32;
    if w > max_w {
        w = max_w;
        h = w / aspect;
    }
    let margin = (0.02 * short).max(6.0);
    let (x1, y1) = (full.0 as f32 - margin, full.1 as f32 - margin);
    [x1 - w, y1 - h, x1, y1]
}

/// A logo ready to draw: the picture, and a GPU copy at the size last drawn.
pub struct Logo {
    source: RgbaImage,
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniform: wgpu::Buffer,
    sampler: wgpu::Sampler,
    uploaded: Option<((u32, u32), wgpu::BindGroup)>,
}

impl Logo {
    /// Prepares `source` for drawing into targets of `format`.
    pub fn new(gpu: &Gpu, source: RgbaImage, format: wgpu::TextureFormat) -> Self {
        let device = &gpu.device;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("overlay.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/overlay.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("logo"),
            entries: &[
                super::uniform_entry(0, wgpu::ShaderStages::VERTEX),
                super::layout_entry(
                    1,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                ),
                super::sampler_entry(2),
            ],
        });
        let pipeline = super::premultiplied_pipeline(device, "logo", &layout, &shader, format);
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logo rect"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("logo"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Self {
            source,
            pipeline,
            layout,
            uniform,
            sampler,
            uploaded: None,
        }
    }

    /// The logo's size in pixels.
    pub fn size(&self) -> (u32, u32) {
        self.source.dimensions()
    }

    /// Uploads the logo resized to `size` (Lanczos on the CPU, so a big logo drawn small
    /// does not alias), unless that size is on the GPU already.
    fn bind_group(&mut self, gpu: &Gpu, size: (u32, u32)) -> Option<&wgpu::BindGroup> {
        let current = self.uploaded.as_ref().is_some_and(|(s, _)| *s == size);
        if !current {
            let resized =
                crate::thumbs::resize(&self.source, size).unwrap_or_else(|_| self.source.clone());
            let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("logo"),
                size: wgpu::Extent3d {
                    width: resized.width(),
                    height: resized.height(),
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8UnormSrgb,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            gpu.queue.write_texture(
                texture.as_image_copy(),
                resized.as_raw(),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(resized.width() * 4),
                    rows_per_image: None,
                },
                texture.size(),
            );
            let view = texture.create_view(&Default::default());
            let group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("logo"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::Sampler(&self.sampler),
                    },
                ],
            });
            self.uploaded = Some((size, group));
        }
        self.uploaded.as_ref().map(|(_, group)| group)
    }

    /// Records drawing the logo over `target`, which is the part `tile` (x, y, w, h) of a
    /// picture of size `full`. Nothing is drawn when the logo lies outside the tile.
    pub fn draw(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        full: (u32, u32),
        tile: (u32, u32, u32, u32),
    ) {
        self.draw_in(gpu, encoder, target, full, tile, None);
    }

    /// As [`Self::draw`], with the tile drawn into the part `viewport` (x, y, w, h) of the
    /// target (the map's area of the window).
    pub fn draw_in(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        full: (u32, u32),
        tile: (u32, u32, u32, u32),
        viewport: Option<[u32; 4]>,
    ) {
        let r = logo_rect(full, self.size());
        let (tx, ty, tw, th) = (tile.0 as f32, tile.1 as f32, tile.2 as f32, tile.3 as f32);
        if r[2] <= tx || r[0] >= tx + tw || r[3] <= ty || r[1] >= ty + th {
            return;
        }
        let clip = [
            (r[0] - tx) / tw * 2.0 - 1.0,
            1.0 - (r[3] - ty) / th * 2.0,
            (r[2] - tx) / tw * 2.0 - 1.0,
            1.0 - (r[1] - ty) / th * 2.0,
        ];
        gpu.queue
            .write_buffer(&self.uniform, 0, bytemuck::cast_slice(&clip));
        let size = (
            ((r[2] - r[0]).round() as u32).max(1),
            ((r[3] - r[1]).round() as u32).max(1),
        );
        let Some(group) = self.bind_group(gpu, size).cloned() else {
            return;
        };
        let mut pass = super::colour_pass(encoder, "logo", target, wgpu::LoadOp::Load);
        if let Some(v) = viewport {
            pass.set_viewport(v[0] as f32, v[1] as f32, v[2] as f32, v[3] as f32, 0.0, 1.0);
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.draw(0..6, 0..1);
    }
}

/// Reads the logo file `path` (PNG, JPEG, …) for drawing.
pub fn read_logo(path: &std::path::Path) -> Result<RgbaImage, String> {
    image::open(path)
        .map(|i| i.to_rgba8())
        .map_err(|e| format!("the logo {} could not be read: {e}", path.display()))
}
