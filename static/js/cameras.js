// Cameras: orbit (the scene's own camera), free fly (WASD/QE, mouse look, touch) and the
// Tron flight mode (throttle, pitch, roll; a chase camera follows the lagged pose).
// Each camera answers view() -> {eye, target, up, fov} and update(dt, input).

import { add, cross, deg, lerp, normalize, quatAxisAngle, quatMul, quatNormalize, quatRotate,
         quatSlerp, scale, sub, length, dot } from "./math.js";

export class OrbitCamera {
  constructor(cam) { this.reset(cam); }
  reset(cam) {
    this.target = [...cam.target]; this.azimuth = cam.azimuth; this.elevation = cam.elevation;
    this.distance = cam.distance; this.fov = cam.fov;
  }
  eye() {
    const az = deg(this.azimuth), el = deg(this.elevation);
    return add(this.target, scale([Math.cos(el) * Math.sin(az), Math.sin(el), Math.cos(el) * Math.cos(az)], this.distance));
  }
  view() { return { eye: this.eye(), target: this.target, up: [0, 1, 0], fov: this.fov }; }
  drag(dx, dy, pan) {
    if (pan) {
      const v = this.view(), f = normalize(sub(v.target, v.eye));
      const r = normalize(cross(f, [0, 1, 0])), u = cross(r, f);
      const k = this.distance * 0.0015;
      this.target = add(this.target, add(scale(r, -dx * k), scale(u, dy * k)));
    } else {
      this.azimuth -= dx * 0.3;
      this.elevation = Math.max(-89, Math.min(89, this.elevation + dy * 0.3));
    }
  }
  zoom(delta) { this.distance = Math.max(0.5, Math.min(500, this.distance * Math.exp(delta * 0.001))); }
  update() {}
}

export class FlyCamera {
  constructor(from) { this.reset(from); }
  reset(from) {
    const v = from.view();
    this.position = [...v.eye]; this.fov = v.fov;
    const f = normalize(sub(v.target, v.eye));
    this.yaw = Math.atan2(f[0], f[2]); this.pitch = Math.asin(Math.max(-1, Math.min(1, f[1])));
    this.speed = Math.max(2, length(sub(v.target, v.eye)) * 0.4);
  }
  forward() { return [Math.cos(this.pitch) * Math.sin(this.yaw), Math.sin(this.pitch), Math.cos(this.pitch) * Math.cos(this.yaw)]; }
  view() { return { eye: this.position, target: add(this.position, this.forward()), up: [0, 1, 0], fov: this.fov }; }
  drag(dx, dy) {
    this.yaw -= dx * 0.004;
    this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch - dy * 0.004));
  }
  zoom(delta) { this.position = add(this.position, scale(this.forward(), -delta * 0.01)); }
  update(dt, keys) {
    dt = Math.min(dt, 0.1);   // a stalled frame must not teleport the camera
    const f = this.forward(), r = normalize(cross(f, [0, 1, 0]));
    let move = [0, 0, 0];
    if (keys.has("KeyW") || keys.has("touch-forward")) move = add(move, f);
    if (keys.has("KeyS")) move = sub(move, f);
    if (keys.has("KeyD")) move = add(move, r);
    if (keys.has("KeyA")) move = sub(move, r);
    if (keys.has("KeyE")) move = add(move, [0, 1, 0]);
    if (keys.has("KeyQ")) move = sub(move, [0, 1, 0]);
    if (length(move) > 0) this.position = add(this.position, scale(normalize(move), this.speed * dt));
  }
}

/** Tron light-cycle flight: W/S throttle, arrows pitch and roll (A/D roll too); banking turns. */
export class FlightCamera {
  constructor(from) { this.reset(from); }
  reset(from) {
    const v = from.view();
    const f = normalize(sub(v.target, v.eye));
    const yaw = Math.atan2(f[0], f[2]);
    // Start level, a little above the floor, heading where the previous camera looked.
    this.position = [v.eye[0] * 0.6, Math.max(1.5, v.eye[1] * 0.3), v.eye[2] * 0.6];
    this.orientation = quatAxisAngle([0, 1, 0], yaw);
    this.throttle = 0.35; this.maxSpeed = 12; this.fov = v.fov + 15;
    this.lagPosition = [...this.position]; this.lagOrientation = [...this.orientation];
  }
  axes(q) { return { f: quatRotate(q, [0, 0, 1]), u: quatRotate(q, [0, 1, 0]), r: quatRotate(q, [1, 0, 0]) }; }
  /** The chase camera: behind and above the lagged pose, looking ahead of it. */
  view() {
    const { f, u } = this.axes(this.lagOrientation);
    const eye = add(sub(this.lagPosition, scale(f, 4.5)), scale(u, 1.4));
    return { eye, target: add(this.lagPosition, scale(f, 3)), up: u, fov: this.fov };
  }
  pose() { return { position: this.position, ...this.axes(this.orientation) }; }
  drag(dx, dy) { this.turn(-dx * 0.004, dy * 0.004, 0); }
  zoom(delta) { this.throttle = Math.max(0, Math.min(1, this.throttle - delta * 0.0005)); }
  turn(yaw, pitch, roll) {
    let q = this.orientation;
    if (yaw) q = quatMul(quatAxisAngle([0, 1, 0], yaw), q);   // about the world's up: turns stay level
    if (pitch) q = quatMul(q, quatAxisAngle([1, 0, 0], pitch));
    if (roll) q = quatMul(q, quatAxisAngle([0, 0, 1], roll));
    this.orientation = quatNormalize(q);
  }
  update(dt, keys) {
    dt = Math.min(dt, 0.1);
    if (keys.has("KeyW")) this.throttle = Math.min(1, this.throttle + 0.6 * dt);
    if (keys.has("KeyS")) this.throttle = Math.max(0, this.throttle - 0.6 * dt);
    const pitch = (keys.has("ArrowUp") ? -1 : 0) + (keys.has("ArrowDown") ? 1 : 0);
    const roll = (keys.has("ArrowRight") || keys.has("KeyD") ? 1 : 0) - (keys.has("ArrowLeft") || keys.has("KeyA") ? 1 : 0);
    // Bank angle: how far the craft's right wing points up or down; banking yaws it round.
    const { f, r } = this.axes(this.orientation);
    const bank = Math.asin(Math.max(-1, Math.min(1, dot(r, [0, 1, 0]))));
    // Without roll input the craft levels its wings again (an arcade flight model).
    const level = roll ? 0 : -1.5 * bank;
    this.turn(-1.6 * Math.sin(bank) * dt, 1.2 * pitch * dt, (1.8 * roll + level) * dt);
    const speed = this.throttle * this.maxSpeed;
    this.position = add(this.position, scale(f, speed * dt));
    if (this.position[1] < 0.3) this.position[1] = 0.3;   // skim, never sink below the grid
    const k = 1 - Math.exp(-dt * 3.0);                   // lag of the chase camera
    this.lagPosition = lerp(this.lagPosition, this.position, k);
    this.lagOrientation = quatSlerp(this.lagOrientation, this.orientation, k);
  }
}

/** Mouse, wheel, keyboard and touch input routed to whichever camera is active. */
export class Controls {
  constructor(element, getCamera) {
    this.keys = new Set(); this.getCamera = getCamera; this.changed = true;
    let last = null, button = 0, pinch = null;
    element.addEventListener("contextmenu", (e) => e.preventDefault());
    element.addEventListener("pointerdown", (e) => {
      if (e.pointerType === "touch") return;
      last = [e.clientX, e.clientY]; button = e.button; element.setPointerCapture(e.pointerId);
    });
    element.addEventListener("pointermove", (e) => {
      if (!last || e.pointerType === "touch") return;
      this.getCamera().drag(e.clientX - last[0], e.clientY - last[1], button === 2 || e.shiftKey);
      last = [e.clientX, e.clientY]; this.changed = true;
    });
    element.addEventListener("pointerup", () => { last = null; });
    element.addEventListener("wheel", (e) => { e.preventDefault(); this.getCamera().zoom(e.deltaY); this.changed = true; }, { passive: false });
    element.addEventListener("touchstart", (e) => {
      const t = e.touches;
      last = [t[0].clientX, t[0].clientY];
      pinch = t.length === 2 ? Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY) : null;
      if (t.length === 3) this.keys.add("touch-forward");
    }, { passive: true });
    element.addEventListener("touchmove", (e) => {
      e.preventDefault();
      const t = e.touches;
      if (t.length === 2 && pinch) {
        const d = Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY);
        this.getCamera().zoom((pinch - d) * 4); pinch = d;
      } else if (last) {
        this.getCamera().drag(t[0].clientX - last[0], t[0].clientY - last[1], false);
      }
      last = [t[0].clientX, t[0].clientY]; this.changed = true;
    }, { passive: false });
    element.addEventListener("touchend", (e) => { if (e.touches.length < 3) this.keys.delete("touch-forward"); last = null; });
    window.addEventListener("keydown", (e) => {
      if (e.target.closest && e.target.closest("input, textarea, select")) return;
      this.keys.add(e.code);
    });
    window.addEventListener("keyup", (e) => this.keys.delete(e.code));
    window.addEventListener("blur", () => this.keys.clear());
  }
}
