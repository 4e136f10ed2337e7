//! Camera motion for the map: drag to pan (with a little inertia when released), wheel zoom
//! toward the cursor, keyboard pan and zoom, Home to fit everything, and animated fly-to.
//! Pure arithmetic on [`Camera`] — the window feeds it events and a frame clock.

use super::{Camera, ease};
use glam::Vec2;

/// Velocity (layout units per second) below which inertia stops.
const REST: f32 = 1e-4;
/// Fraction of the pan velocity kept after one second of coasting (a flick at 2400 px/s
/// coasts about half a view).
const FRICTION_PER_SECOND: f32 = 0.001;
/// Narrowest and widest views, in layout units across the shorter side.
const MIN_SPAN: f32 = 1e-5;
const MAX_SPAN: f32 = 20.0;

/// A camera in motion.
#[derive(Clone, Debug)]
pub struct CameraController {
    pub camera: Camera,
    velocity: Vec2,
    flight: Option<Flight>,
}

#[derive(Clone, Debug)]
struct Flight {
    from: Camera,
    to: Camera,
    elapsed: f32,
    duration: f32,
}

impl Default for CameraController {
    fn default() -> Self {
        Self {
            camera: Camera::fit_all(),
            velocity: Vec2::ZERO,
            flight: None,
        }
    }
}

impl CameraController {
    /// Layout units per pixel for a viewport of `size` pixels.
    pub fn units_per_pixel(&self, size: (u32, u32)) -> f32 {
        self.camera.span / size.0.min(size.1).max(1) as f32
    }

    /// The layout point under pixel `px` (origin top left, y down).
    pub fn to_layout(&self, px: Vec2, size: (u32, u32)) -> Vec2 {
        let size = Vec2::new(size.0 as f32, size.1 as f32);
        self.camera.layout_from_pixel(size).transform_point2(px)
    }

    /// A drag by `delta` pixels over `dt` seconds: the map follows the pointer, and keeps
    /// that speed (decaying) after release.
    pub fn drag(&mut self, delta: Vec2, dt: f32, size: (u32, u32)) {
        self.flight = None;
        // Pixels are y down, layout y up; the map follows the pointer, so the centre
        // moves against it.
        let step = Vec2::new(-delta.x, delta.y) * self.units_per_pixel(size);
        self.camera.centre += step;
        if dt > 0.0 {
            self.velocity = step / dt;
        }
    }

    /// Stops coasting (the pointer was held still before release).
    pub fn stop(&mut self) {
        self.velocity = Vec2::ZERO;
    }

    /// Whether a flight or inertia is under way.
    pub fn moving(&self) -> bool {
        self.flight.is_some() || self.velocity != Vec2::ZERO
    }

    /// Zooms by `factor` (> 1 zooms in) keeping the layout point under pixel `px` fixed.
    pub fn zoom_at(&mut self, px: Vec2, factor: f32, size: (u32, u32)) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        self.flight = None;
        self.velocity = Vec2::ZERO;
        let anchor = self.to_layout(px, size);
        let span = (self.camera.span / factor).clamp(MIN_SPAN, MAX_SPAN);
        let applied = self.camera.span / span;
        self.camera.centre = anchor + (self.camera.centre - anchor) / applied;
        self.camera.span = span;
    }

    /// Keyboard pan: `direction` in screen terms (x right, y up), `dt` seconds held; moves
    /// half a view per second.
    pub fn key_pan(&mut self, direction: Vec2, dt: f32) {
        self.flight = None;
        self.velocity = Vec2::ZERO;
        self.camera.centre += direction * (0.5 * self.camera.span * dt);
    }

    /// Home: everything in view, animated.
    pub fn fit_all(&mut self, duration: f32) {
        self.fly_to(Camera::fit_all(), duration);
    }

    /// Flies to `target` over `duration` seconds, eased (a hotspot, an image).
    pub fn fly_to(&mut self, target: Camera, duration: f32) {
        self.velocity = Vec2::ZERO;
        if duration <= 0.0 {
            self.camera = target;
            self.flight = None;
            return;
        }
        self.flight = Some(Flight {
            from: self.camera,
            to: target,
            elapsed: 0.0,
            duration,
        });
    }

    /// Advances inertia or a flight by `dt` seconds; true while the camera is moving.
    pub fn update(&mut self, dt: f32) -> bool {
        if let Some(f) = &mut self.flight {
            f.elapsed += dt;
            let t = ease(f.elapsed / f.duration);
            // Zoom moves in log space, so the flight feels even at every scale.
            let span = (f.from.span.ln() + (f.to.span.ln() - f.from.span.ln()) * t).exp();
            self.camera = Camera {
                centre: f.from.centre.lerp(f.to.centre, t),
                span,
            };
            if f.elapsed >= f.duration {
                self.camera = f.to;
                self.flight = None;
            }
            return true;
        }
        if self.velocity.length() < REST * self.camera.span {
            self.velocity = Vec2::ZERO;
            return false;
        }
        self.camera.centre += self.velocity * dt;
        self.velocity *= FRICTION_PER_SECOND.powf(dt);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: (u32, u32) = (800, 600);

    fn close(a: Vec2, b: Vec2) -> bool {
        a.abs_diff_eq(b, 1e-4)
    }

    #[test]
    fn zoom_keeps_the_point_under_the_cursor() {
        let mut c = CameraController::default();
        let cursor = Vec2::new(650.0, 120.0);
        let before = c.to_layout(cursor, SIZE);
        c.zoom_at(cursor, 3.0, SIZE);
        assert!(close(c.to_layout(cursor, SIZE), before));
        c.zoom_at(cursor, 0.25, SIZE);
        assert!(close(c.to_layout(cursor, SIZE), before));
        c.zoom_at(cursor, f32::NAN, SIZE);
        assert!(c.camera.span.is_finite());
    }

    #[test]
    fn dragging_moves_the_map_with_the_pointer_then_coasts_to_rest() {
        let mut c = CameraController::default();
        let grabbed = c.to_layout(Vec2::new(400.0, 300.0), SIZE);
        c.drag(Vec2::new(40.0, -20.0), 1.0 / 60.0, SIZE);
        // The grabbed layout point is now under the moved pointer.
        assert!(close(c.to_layout(Vec2::new(440.0, 280.0), SIZE), grabbed));
        let released = c.camera.centre;
        let mut frames = 0;
        while c.update(1.0 / 60.0) {
            frames += 1;
            assert!(frames < 60 * 10, "inertia never stops");
        }
        // Coasted on in the drag's direction, a little.
        assert!(c.camera.centre[0] < released[0] && c.camera.centre[1] < released[1]);
        assert!((c.camera.centre[0] - released[0]).abs() < c.camera.span);
    }

    #[test]
    fn fly_to_arrives_eased_and_home_fits_everything() {
        let mut c = CameraController::default();
        let target = Camera {
            centre: Vec2::new(0.5, -0.25),
            span: 0.01,
        };
        c.fly_to(target, 1.0);
        c.update(0.1);
        let early = c.camera;
        // Eased: slow start (less than a tenth of the way in log-span after a tenth of the time).
        let progress = (early.span.ln() - 2.15f32.ln()) / (0.01f32.ln() - 2.15f32.ln());
        assert!(progress > 0.0 && progress < 0.1, "{progress}");
        for _ in 0..20 {
            c.update(0.05);
        }
        assert_eq!(c.camera, target);
        assert!(!c.update(0.016));
        c.fit_all(0.5);
        while c.update(0.1) {}
        assert_eq!(c.camera, Camera::fit_all());
    }

    #[test]
    fn keys_pan_half_a_view_per_second() {
        let mut c = CameraController::default();
        c.key_pan(Vec2::X, 1.0);
        assert!((c.camera.centre[0] - 0.5 * Camera::fit_all().span).abs() < 1e-6);
    }
}
