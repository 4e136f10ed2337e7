// One quad per image, pulled from the vertex index (four vertices an image, six indices,
// one draw call, no instancing: software rasterisers run an instanced draw one instance
// at a time). Small
// thumbnails come from the atlas pages (resident for every image); images large on screen
// also have a slot in the level-of-detail pool and are drawn from it. Positions come from
// two layouts blended by `view.blend`, so a layout switch animates every image for any N
// with one uniform per frame. When the camera is zoomed in, `ids` lists the visible images
// only (culled on the CPU).
//
// Three ways to draw (see `map.rs`):
// - textured, opaque images front to back with a depth test (`vs_opaque`): where
//   thumbnails overlap, hidden fragments are rejected before shading; the depth is the
//   image's place in the draw order, so the picture is the painter's one;
// - textured, images with transparency and no card after, back to front (`vs_transparent`);
// - thumbnails a few pixels wide as flat quads (`vs_flat`) or single points (`vs_point`)
//   of their mean colour, when texture detail could not show anyway.

struct View {
    // World point at the centre of the target.
    centre: vec2<f32>,
    // Clip-space units per world unit, x and y (aspect folded in).
    scale: vec2<f32>,
    // Target size in pixels.
    viewport: vec2<f32>,
    // 0: the `from` layout, 1: the `to` layout (eased on the CPU).
    blend: f32,
    // Thumbnail size (longer side, layout units) in each layout.
    cell_from: f32,
    cell_to: f32,
    // The user's thumbnail size factor.
    size_scale: f32,
    // Where each layout starts in `positions` (in vec2s).
    from_base: u32,
    to_base: u32,
    // Image under the cursor (0xffffffff: none).
    hover: u32,
    // 1: draw the images listed in `ids`; 0: draw every image.
    use_ids: u32,
    // Width of the frame drawn around every thumbnail, pixels (0: none).
    border_px: f32,
    // Brightness of filtered-out images.
    dim: f32,
    // Selection colour (linear RGB) and tint strength.
    accent: vec4<f32>,
    // Card behind images with transparency (linear RGB; a = 1: on, 0: off).
    card: vec4<f32>,
    // The coarsest atlas level drawn: 0 turns mip mapping off (the benchmark compares).
    max_lod: f32,
    // Images drawn (the length of `ids` when `use_ids`, else every image).
    count: u32,
    // Every image (the depth of image i is its place among them).
    total: u32,
    _pad: u32,
    // The background (linear RGB): what an opaque image's stray transparent texels show.
    background: vec4<f32>,
};

struct Thumb {
    // Half extent for a cell of 1 (the image's aspect kept).
    half_size: vec2<f32>,
    // Size of the large level in pixels.
    large_size: vec2<f32>,
    // Texel rectangle in the atlas page: x, y, w, h (pixels).
    rect: vec4<f32>,
    // Atlas page (array layer).
    page: u32,
    // THUMB_* bits.
    flags: u32,
    // The image's mean colour (linear, premultiplied) as two pack2x16float words.
    mean: vec2<u32>,
};

// Thumb flags: the thumbnail has transparent pixels (drawn on a card).
const THUMB_TRANSPARENT: u32 = 1u;

// Per-image state bits: the level-of-detail slot + 1 (0: none) in the low 16 bits, the
// colour-by palette index (0: none) in the next 8, then flags.
const SLOT_MASK: u32 = 0xffffu;
const COLOUR_SHIFT: u32 = 16u;
const SELECTED: u32 = 0x1000000u;
const DIMMED: u32 = 0x2000000u;
const HIDDEN: u32 = 0x4000000u;

const PAGE_PX: f32 = 2048.0;
const CELL_PX: f32 = 32.0;
// Mip levels of the atlas pages (32, 16, 8, 4 pixels a cell).
const MIP_LEVELS: f32 = 4.0;
const LOD_SLOT_PX: f32 = 256.0;
const LOD_PER_ROW: u32 = 8u;
const LOD_PER_PAGE: u32 = 64u;

// Group 0: per frame and target (`frame.rs`).
@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
// Group 1: per dataset (`map.rs`).
@group(1) @binding(0) var<storage, read> thumbs: array<Thumb>;
@group(1) @binding(1) var pages: texture_2d_array<f32>;
@group(1) @binding(2) var linear_sampler: sampler;
@group(1) @binding(3) var<storage, read> positions: array<vec2<f32>>;
@group(1) @binding(4) var<storage, read> state: array<u32>;
@group(1) @binding(5) var lod_pages: texture_2d_array<f32>;
// Colour-by palette, linear RGB; entry 0 unused.
@group(1) @binding(6) var<uniform> palette: array<vec4<f32>, 256>;

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    // Atlas texel coordinates (level 0 pixels).
    @location(0) uv: vec2<f32>,
    // 0..1 across the quad, v downwards.
    @location(1) local: vec2<f32>,
    // Quad size on screen, pixels.
    @location(2) @interpolate(flat) px: vec2<f32>,
    @location(3) @interpolate(flat) page: u32,
    @location(4) @interpolate(flat) bits: u32,
    @location(5) @interpolate(flat) hovered: u32,
    @location(6) @interpolate(flat) large_size: vec2<f32>,
    @location(7) @interpolate(flat) thumb_flags: u32,
    // The atlas mip level for this image on screen, and its cell's top-left texel.
    @location(8) @interpolate(flat) lod: f32,
    @location(9) @interpolate(flat) cell_origin: vec2<f32>,
};

// The image drawn `k`-th (front to back when `reverse`).
fn image_of(k: u32, reverse: bool) -> u32 {
    var j = k;
    if (reverse) {
        j = view.count - 1u - k;
    }
    if (view.use_ids != 0u) {
        return ids[j];
    }
    return j;
}

// Whether an image with Thumb flags `flags` is drawn in the transparent pass (it has
// transparency and no card).
fn later(flags: u32) -> bool {
    return view.card.a == 0.0 && (flags & THUMB_TRANSPARENT) != 0u;
}

fn drawn_later(i: u32) -> bool {
    return later(thumbs[i].flags);
}

// Image `i`'s centre in the blended layout and its cell (layout units).
fn placed(i: u32) -> vec3<f32> {
    let pos = mix(positions[view.from_base + i], positions[view.to_base + i], view.blend);
    let cell = mix(view.cell_from, view.cell_to, view.blend) * view.size_scale;
    return vec3(pos, cell);
}

// Later images sit nearer (the painter's order as depth): 1 / (total + 1) apart.
fn depth_of(i: u32) -> f32 {
    return f32(view.total - i) / f32(view.total + 1u);
}

// Corner `v` of a quad: (0,0) (1,0) (0,1) (1,1); the index buffer makes two triangles of
// them (0 1 2, 2 1 3), so each corner is shaded once where the vertex cache holds it.
fn corner(v: u32) -> vec2<f32> {
    return vec2(f32(v & 1u), f32(v >> 1u));
}

// A vertex outside the target: its triangle draws nothing.
const NOWHERE: vec4<f32> = vec4(2.0, 2.0, 2.0, 1.0);

fn thumb_vertex(i: u32, c: vec2<f32>) -> VsOut {
    let t = thumbs[i];
    let p = placed(i);
    let half = t.half_size * p.z;
    let world = p.xy + (c * 2.0 - 1.0) * half;
    var out: VsOut;
    out.clip = vec4((world - view.centre) * view.scale, depth_of(i), 1.0);
    let local = vec2(c.x, 1.0 - c.y);
    out.uv = t.rect.xy + local * t.rect.zw;
    out.local = local;
    out.px = half * view.scale * view.viewport;
    // Texels per pixel on the longer axis: the level whose texels are about a pixel. The
    // quad is axis-aligned and drawn at one scale, so this is exact and the same for every
    // fragment (no derivatives, and the level sampling below stays legal in branches).
    let texels = max(t.rect.z / max(out.px.x, 1e-3), t.rect.w / max(out.px.y, 1e-3));
    out.lod = clamp(log2(max(texels, 1e-6)), 0.0, min(MIP_LEVELS - 1.0, view.max_lod));
    out.cell_origin = floor(t.rect.xy);
    out.page = t.page;
    out.bits = state[i];
    out.hovered = select(0u, 1u, i == view.hover);
    out.large_size = t.large_size;
    out.thumb_flags = t.flags;
    if ((state[i] & HIDDEN) != 0u) {
        // Filtered out and hidden: a degenerate quad outside the target draws nothing.
        out.clip = NOWHERE;
    }
    return out;
}

// Vertex `v` of the textured pass that draws the opaque images front to back, or the
// transparent ones (`transparent_pass`) back to front; the other kind draws nothing.
fn textured_vertex(v: u32, transparent_pass: bool) -> VsOut {
    let i = image_of(v / 4u, !transparent_pass);
    var out = thumb_vertex(i, corner(v % 4u));
    if (drawn_later(i) != transparent_pass) {
        out.clip = NOWHERE;
    }
    return out;
}

// Opaque images (cards make transparent ones opaque), front to back, depth written.
@vertex
fn vs_opaque(@builtin(vertex_index) v: u32) -> VsOut {
    return textured_vertex(v, false);
}

// Images with transparency and no card, back to front after the opaque ones, blended.
@vertex
fn vs_transparent(@builtin(vertex_index) v: u32) -> VsOut {
    return textured_vertex(v, true);
}

// A filtered-out image: mostly grey and dark. The factor is linear light, so 0.04 reads as
// about a fifth of the brightness on screen (0.16 read as 45%: saturated colours still
// stood out against the dark background).
fn dimmed(rgb: vec3<f32>) -> vec3<f32> {
    let grey = vec3(dot(rgb, vec3(0.2126, 0.7152, 0.0722)));
    return mix(grey, rgb, 0.35) * view.dim;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    // Bilinear in the level nearest `lod` (the sampler's mip filter); kept half a texel of
    // the coarser candidate inside the cell, so no level reads a neighbouring cell (cells
    // are padded with their edge pixels, see `atlas::build_mips`).
    let inset = 0.5 * exp2(ceil(in.lod));
    let uv = clamp(in.uv, in.cell_origin + inset, in.cell_origin + CELL_PX - inset);
    var colour = textureSampleLevel(pages, linear_sampler, uv / PAGE_PX, in.page, in.lod);
    let slot = in.bits & SLOT_MASK;
    if (slot != 0u) {
        let s = slot - 1u;
        let k = s % LOD_PER_PAGE;
        let origin = vec2(f32(k % LOD_PER_ROW), f32(k / LOD_PER_ROW)) * LOD_SLOT_PX;
        // Half a texel in from the edge, so filtering never reads a neighbouring slot.
        let uv = (origin + 0.5 + in.local * (in.large_size - 1.0)) / PAGE_PX;
        colour = textureSampleLevel(lod_pages, linear_sampler, uv, s / LOD_PER_PAGE, 0.0);
    }
    // Distance to the quad's edge in pixels, for frames and outlines.
    let edge = min(in.local, 1.0 - in.local) * in.px;
    let d = min(edge.x, edge.y);
    // Texels are premultiplied (transparent ones are black), so filtering blends colour
    // by coverage and leaves no dark fringe; the effects below work on straight colour.
    var alpha = colour.a;
    var rgb = colour.rgb / max(alpha, 1e-4);
    // A transparent image (an icon, line art) sits on a card that contrasts with the
    // background, so dark glyphs on alpha show on a dark map.
    if (view.card.a > 0.0 && (in.thumb_flags & THUMB_TRANSPARENT) != 0u) {
        rgb = rgb * alpha + view.card.rgb * (1.0 - alpha);
        alpha = 1.0;
    }
    // Colour by a field: a light tint here, a frame in the field's colour below.
    let colour_index = (in.bits >> COLOUR_SHIFT) & 0xffu;
    let field = palette[colour_index].rgb;
    if (colour_index != 0u) {
        rgb = mix(rgb, field, 0.2);
    }
    if ((in.bits & DIMMED) != 0u) {
        rgb = dimmed(rgb);
    }
    if ((in.bits & SELECTED) != 0u) {
        rgb = mix(rgb, view.accent.rgb, view.accent.a);
    }
    // Frames are opaque even around transparent images.
    if (view.border_px > 0.0 && d < view.border_px) {
        rgb = vec3(0.45);
        alpha = 1.0;
    }
    // The frame: a fifth of the thumbnail's side, 1.5 to 4 pixels, so a thumbnail of a
    // few pixels (a million-image overview) reads as a dot of its field's colour.
    if (colour_index != 0u && d < clamp(min(in.px.x, in.px.y) * 0.2, 1.5, 4.0)) {
        rgb = field;
        if ((in.bits & DIMMED) != 0u) {
            rgb = dimmed(rgb);
        }
        alpha = 1.0;
    }
    if ((in.bits & SELECTED) != 0u && d < 2.0) {
        rgb = view.accent.rgb;
        alpha = 1.0;
    }
    if (in.hovered != 0u && d < 2.5) {
        rgb = vec3(1.0);
        alpha = 1.0;
    }
    // An image counted as opaque (a few transparent texels at most: a photo's BC1
    // corners) writes depth, so what it leaves uncovered shows the background.
    if (!later(in.thumb_flags)) {
        rgb = rgb * alpha + view.background.rgb * (1.0 - alpha);
        alpha = 1.0;
    }
    // Premultiplied for the blend state.
    return vec4(rgb * alpha, alpha);
}

struct FlatOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) @interpolate(flat) colour: vec4<f32>,
};

// The colour a thumbnail a pixel or few wide shows: its mean, with the effects the
// textured path would draw over nearly all of it at that size (the colour-by frame, the
// selection frame, the hover outline, a card); premultiplied.
fn flat_colour(i: u32) -> vec4<f32> {
    let m = thumbs[i].mean;
    let rg = unpack2x16float(m.x);
    let ba = unpack2x16float(m.y);
    var alpha = ba.y;
    var rgb = vec3(rg, ba.x) / max(alpha, 1e-4);
    let bits = state[i];
    if (view.card.a > 0.0 && (thumbs[i].flags & THUMB_TRANSPARENT) != 0u) {
        rgb = rgb * alpha + view.card.rgb * (1.0 - alpha);
        alpha = 1.0;
    }
    let colour_index = (bits >> COLOUR_SHIFT) & 0xffu;
    if (colour_index != 0u) {
        rgb = palette[colour_index].rgb;
        alpha = 1.0;
    }
    if ((bits & DIMMED) != 0u) {
        rgb = dimmed(rgb);
    }
    if ((bits & SELECTED) != 0u) {
        rgb = view.accent.rgb;
        alpha = 1.0;
    }
    if (i == view.hover) {
        rgb = vec3(1.0);
        alpha = 1.0;
    }
    return vec4(rgb * alpha, alpha);
}

fn flat_vertex(i: u32, c: vec2<f32>) -> FlatOut {
    let p = placed(i);
    let half = thumbs[i].half_size * p.z;
    let world = p.xy + (c * 2.0 - 1.0) * half;
    var out: FlatOut;
    out.clip = vec4((world - view.centre) * view.scale, depth_of(i), 1.0);
    out.colour = flat_colour(i);
    if ((state[i] & HIDDEN) != 0u) {
        out.clip = NOWHERE;
    }
    return out;
}

// Thumbnails a few pixels wide: one flat quad each, in the painter's order.
@vertex
fn vs_flat(@builtin(vertex_index) v: u32) -> FlatOut {
    return flat_vertex(image_of(v / 4u, false), corner(v % 4u));
}

// Thumbnails a pixel wide or less: one point (one vertex, one pixel) each.
@vertex
fn vs_point(@builtin(vertex_index) v: u32) -> FlatOut {
    return flat_vertex(image_of(v, false), vec2(0.5));
}

@fragment
fn fs_flat(in: FlatOut) -> @location(0) vec4<f32> {
    return in.colour;
}
