//! The scripted fly-through behind `clip-plot-view bench`: drawn offscreen, frame by frame,
//! waiting for the GPU after each so a frame's time is its whole cost (CPU culling and
//! detail streaming included). Phases: the overview while panning, a flight into the
//! largest hotspot, panning zoomed in there, a layout transition to the grid, and panning
//! zoomed in on the grid (a dozen cells across: the same images on screen at any N).

use std::sync::Arc;

use glam::Vec2;
use std::time::Instant;

use super::index::LayoutIndex;
use super::lod::{self, LodPool};
use super::offscreen::Target;
use super::{
    Camera, FrameState, Gpu, MapRenderer, MapScene, MapView, RenderError, Style, ease,
    layout_with_cell,
};
use crate::cache::PreparedDataset;

/// Frame times of one phase.
#[derive(Clone, Debug)]
pub struct Phase {
    pub name: &'static str,
    pub frames: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    /// Median number of images drawn per frame.
    pub drawn: usize,
    /// How the last frame drew its thumbnails.
    pub mode: Option<super::DrawMode>,
}

/// What the benchmark measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub adapter: String,
    pub images: usize,
    pub size: (u32, u32),
    /// Opening the cache (manifest, image list, metadata, thumbnail index), seconds.
    pub open_s: f64,
    /// From opening the cache to the first frame finished on the GPU, seconds.
    pub first_frame_s: f64,
    pub phases: Vec<Phase>,
    pub gpu_bytes: u64,
    pub detail_resident: usize,
    /// Aliasing of the overview (see [`super::aliasing`]): mean difference in 8-bit levels
    /// from a 4× supersampled render, with the atlas's mip levels and with level 0 only.
    pub aliasing: (f64, f64),
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

struct Bench<'a> {
    gpu: &'a Gpu,
    map: MapRenderer,
    view: MapView,
    style: Style,
    index: LayoutIndex,
    lod: LodPool,
    target: Target,
    size: (u32, u32),
}

impl Bench<'_> {
    /// One frame as the window draws it; returns (milliseconds, images drawn).
    fn frame(&mut self, camera: Camera, blend: f32) -> Result<(f64, usize), RenderError> {
        let start = Instant::now();
        let frame = FrameState {
            blend,
            style: self.style,
            ..FrameState::still(camera)
        };
        if blend >= 1.0 {
            let visible = (self.view).cull(self.gpu, &self.map, &self.index, &frame, self.size);
            let wanted = lod::wanted(&visible, &self.index, &camera);
            self.lod.update(self.gpu, &mut self.map, &wanted, 24);
        } else {
            self.view.set_visible(self.gpu, None);
        }
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        let target = &self.target.view;
        self.view.draw(
            self.gpu,
            &mut self.map,
            &mut encoder,
            target,
            self.size,
            &frame,
        );
        self.gpu.queue.submit([encoder.finish()]);
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        Ok((
            start.elapsed().as_secs_f64() * 1000.0,
            self.view.drawn(&self.map) as usize,
        ))
    }

    fn phase(
        &mut self,
        name: &'static str,
        frames: usize,
        mut at: impl FnMut(f32) -> (Camera, f32),
    ) -> Result<Phase, RenderError> {
        let mut times = Vec::with_capacity(frames);
        let mut drawn = Vec::with_capacity(frames);
        for k in 0..frames {
            let t = k as f32 / (frames.max(2) - 1) as f32;
            let (camera, blend) = at(t);
            let (ms, n) = self.frame(camera, blend)?;
            times.push(ms);
            drawn.push(n);
        }
        times.sort_by(f64::total_cmp);
        drawn.sort_unstable();
        Ok(Phase {
            name,
            frames,
            median_ms: percentile(&times, 0.5),
            p95_ms: percentile(&times, 0.95),
            drawn: drawn.get(drawn.len() / 2).copied().unwrap_or(0),
            mode: self.view.mode(),
        })
    }
}

/// Runs the fly-through on the prepared cache at `cache`, `frames` frames per phase.
pub fn fly_through(
    gpu: &Gpu,
    cache: &std::path::Path,
    size: (u32, u32),
    frames: usize,
) -> Result<BenchReport, RenderError> {
    let opened = Instant::now();
    let prepared = Arc::new(PreparedDataset::open(cache)?);
    let open_s = opened.elapsed().as_secs_f64();
    let layout = if prepared.layout_names().iter().any(|n| n == "umap") {
        "umap"
    } else {
        "pca"
    };
    let format = super::offscreen::FORMAT;
    let MapScene {
        map,
        index,
        half,
        lod,
        ..
    } = MapScene::open(gpu, &prepared, layout, format)?;
    let cell = index.cell();
    let target = Target::new(gpu, size, format);
    let mut bench = Bench {
        gpu,
        map,
        view: MapView::new(gpu, format),
        style: Style::default(),
        index,
        lod,
        target,
        size,
    };
    // The first view, as the window opens on it.
    let overview = bench.index.fit(size);
    bench.frame(overview, 1.0)?;
    let first_frame_s = opened.elapsed().as_secs_f64();

    // Where to zoom: the representative image of the largest hotspot (an image, so the
    // zoomed view is never an empty gap), else the image nearest the middle.
    let medoid = (layout == "umap")
        .then(|| prepared.hotspots("umap").ok().flatten())
        .flatten()
        .and_then(|h| h.hotspots.first().map(|s| s.medoid));
    let positions = bench.index.positions();
    let nearest_middle = || {
        (0..positions.len()).min_by(|&a, &b| {
            let d = |i: usize| positions[i].length();
            d(a).total_cmp(&d(b))
        })
    };
    let centre = medoid
        .or_else(nearest_middle)
        .and_then(|i| positions.get(i).copied())
        .unwrap_or(Vec2::ZERO);
    let close = Camera {
        centre,
        span: cell * 12.0,
    };
    let mut phases = Vec::new();
    let pan_overview = |t: f32| {
        let mut c = overview;
        c.centre.x += 0.1 * (t * std::f32::consts::TAU).sin();
        (c, 1.0)
    };
    phases.push(bench.phase("overview, panning", frames, pan_overview)?);
    // The same, every thumbnail textured however small (what the flat dots save).
    bench.style.flat_dots = false;
    phases.push(bench.phase("overview, panning, all textured", frames, pan_overview)?);
    bench.style.flat_dots = true;
    let mut still = FrameState::still(overview);
    let with_mips =
        super::aliasing::aliasing_error(gpu, &mut bench.map, &bench.index, &still, size)?;
    // Level 0 textured everywhere: what the overview looked like before mip levels.
    still.style.mip_levels = false;
    still.style.flat_dots = false;
    let without = super::aliasing::aliasing_error(gpu, &mut bench.map, &bench.index, &still, size)?;
    let aliasing = (with_mips, without);
    phases.push(bench.phase("flight into a hotspot", frames, |t| {
        let e = ease(t);
        let span = (overview.span.ln() + (close.span.ln() - overview.span.ln()) * e).exp();
        let c = Camera {
            centre: centre * e,
            span,
        };
        (c, 1.0)
    })?);
    phases.push(bench.phase("zoomed in, panning", frames, |t| {
        let mut c = close;
        c.centre.x += close.span * 0.5 * (t * std::f32::consts::TAU).sin();
        (c, 1.0)
    })?);
    let other = ["grid", "pca"]
        .into_iter()
        .find(|n| *n != layout && prepared.layout_names().iter().any(|m| m == n));
    if let Some(other) = other {
        let (positions, other_cell) = layout_with_cell(&prepared, other)?;
        bench.map.transition_to(gpu, &positions, other_cell);
        bench.index = LayoutIndex::new(positions, other_cell, half);
        phases.push(bench.phase("layout transition, overview", frames, |t| {
            (overview, ease(t))
        })?);
        if other == "grid" {
            // One image per cell: a dozen cells across shows the same images at any N, so
            // this phase is the one to compare across N.
            let middle = Camera {
                centre: Vec2::ZERO,
                span: other_cell * 12.0,
            };
            phases.push(bench.phase("grid zoomed in, panning", frames, |t| {
                let mut c = middle;
                c.centre.x += middle.span * 0.5 * (t * std::f32::consts::TAU).sin();
                (c, 1.0)
            })?);
        }
    }
    Ok(BenchReport {
        adapter: gpu.adapter_name.clone(),
        images: prepared.len(),
        size,
        open_s,
        first_frame_s,
        phases,
        gpu_bytes: bench.map.gpu_bytes(),
        detail_resident: bench.lod.resident(),
        aliasing,
    })
}
