// A textured rectangle over the map (the user's logo), premultiplied alpha.

struct Rect {
    // Clip-space corners: min x, min y, max x, max y.
    clip: vec4<f32>,
};

@group(0) @binding(0) var<uniform> rect: Rect;
@group(0) @binding(1) var image: texture_2d<f32>;
@group(0) @binding(2) var image_sampler: sampler;

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) v: u32) -> VsOut {
    var corners = array<vec2<f32>, 6>(
        vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0),
        vec2(0.0, 1.0), vec2(1.0, 0.0), vec2(1.0, 1.0),
    );
    let c = corners[v];
    var out: VsOut;
    out.clip = vec4(mix(rect.clip.xy, rect.clip.zw, c), 0.0, 1.0);
    out.uv = vec2(c.x, 1.0 - c.y);
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let colour = textureSample(image, image_sampler, in.uv);
    return vec4(colour.rgb * colour.a, colour.a);
}
