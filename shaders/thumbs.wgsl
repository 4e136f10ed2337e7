// One instanced quad per image, textured from the small-thumbnail atlas pages. Positions
// come from two layouts blended by `camera.blend`, so a layout switch animates every image
// for any N with one uniform per frame.

struct Camera {
    // World point at the centre of the view.
    centre: vec2<f32>,
    // Clip-space units per world unit, x and y (aspect folded in).
    scale: vec2<f32>,
    // 0: the `from` layout, 1: the `to` layout (eased on the CPU).
    blend: f32,
    // Thumbnail size (longer side, layout units) in each layout.
    cell_from: f32,
    cell_to: f32,
    _pad: f32,
};

struct Thumb {
    // Half extent for a cell of 1 (the image's aspect kept).
    half_size: vec2<f32>,
    _pad_a: vec2<f32>,
    // Texel rectangle in the page: x, y, w, h (pixels).
    rect: vec4<f32>,
    // Atlas page (array layer).
    page: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> camera: Camera;
@group(0) @binding(1) var<storage, read> thumbs: array<Thumb>;
@group(0) @binding(2) var pages: texture_2d_array<f32>;
@group(0) @binding(3) var pages_sampler: sampler;
@group(0) @binding(4) var<storage, read> from_pos: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> to_pos: array<vec2<f32>>;

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) @interpolate(flat) page: u32,
};

const PAGE_PX: f32 = 2048.0;

@vertex
fn vs_main(@builtin(vertex_index) v: u32, @builtin(instance_index) i: u32) -> VsOut {
    let t = thumbs[i];
    // Two triangles: corners (0,0) (1,0) (0,1) / (0,1) (1,0) (1,1).
    var corners = array<vec2<f32>, 6>(
        vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0),
        vec2(0.0, 1.0), vec2(1.0, 0.0), vec2(1.0, 1.0),
    );
    let c = corners[v];
    let pos = mix(from_pos[i], to_pos[i], camera.blend);
    let cell = mix(camera.cell_from, camera.cell_to, camera.blend);
    let world = pos + (c * 2.0 - 1.0) * t.half_size * cell;
    var out: VsOut;
    out.clip = vec4((world - camera.centre) * camera.scale, 0.0, 1.0);
    // Texture v grows downwards, layout y upwards.
    out.uv = (t.rect.xy + vec2(c.x, 1.0 - c.y) * t.rect.zw) / PAGE_PX;
    out.page = t.page;
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let colour = textureSample(pages, pages_sampler, in.uv, in.page);
    // Premultiplied for the blend state.
    return vec4(colour.rgb * colour.a, colour.a);
}
