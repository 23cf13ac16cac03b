"""A light-cycle-style flight model and a chase camera: pure Python, no renderer.

The craft is steered like the flyers in Tron: throttle changes speed (with drag), pitch tilts
the nose, roll banks the craft and banking turns it (bank-to-turn), and a chase camera follows
the craft's *lagged* pose, so turns swing the view out gently instead of snapping it.
Angles in degrees; heading uses the Scene camera convention (azimuth 0 looks along +z).

Example::

    >>> craft, chase = FlightModel(), ChaseCamera()
    >>> for _ in range(60):
    ...     state = craft.step(1 / 60, throttle=1.0, pitch=0.0, roll=0.3)
    ...     eye, target = chase.update(state, 1 / 60)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def heading_vector(heading: float, pitch: float) -> np.ndarray:
    """Unit forward vector for a heading (azimuth, degrees) and pitch (degrees, + = nose up)."""
    h, p = math.radians(heading), math.radians(pitch)
    return np.array([math.cos(p) * math.sin(h), math.sin(p), math.cos(p) * math.cos(h)])


@dataclass
class FlightState:
    """Where the craft is and how it is oriented."""

    position: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0, 8.0]))
    heading: float = 180.0  # facing -z, towards the scene's centre from the default start
    pitch: float = 0.0
    roll: float = 0.0
    speed: float = 0.0

    @property
    def forward(self) -> np.ndarray:
        return heading_vector(self.heading, self.pitch)


@dataclass
class FlightModel:
    """Integrates the controls (each in [-1, 1]) into the craft's pose, one time step at a time."""

    max_speed: float = 8.0  # world units per second
    acceleration: float = 6.0  # at full throttle
    drag: float = 0.4  # fraction of speed lost per second without throttle
    pitch_rate: float = 60.0  # degrees per second at full stick
    max_pitch: float = 60.0
    roll_rate: float = 180.0  # how fast the bank follows the stick
    max_roll: float = 60.0
    turn_rate: float = 90.0  # heading change per second at 90 degrees of bank
    floor: float = 0.2  # the craft never goes below this height
    state: FlightState = field(default_factory=FlightState)

    def step(self, dt: float, throttle: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> FlightState:
        """Advance by ``dt`` seconds and return the new state."""
        s = self.state
        throttle, pitch, roll = (max(-1.0, min(1.0, float(v))) for v in (throttle, pitch, roll))
        s.speed += (throttle * self.acceleration - self.drag * s.speed) * dt
        s.speed = max(0.0, min(self.max_speed, s.speed))
        s.pitch = max(-self.max_pitch, min(self.max_pitch, s.pitch + pitch * self.pitch_rate * dt))
        # The bank eases towards the stick's target and back to level when the stick is released.
        target_roll = roll * self.max_roll
        delta = max(-self.roll_rate * dt, min(self.roll_rate * dt, target_roll - s.roll))
        s.roll += delta
        # Bank to turn: rolling right (positive) turns right, i.e. the heading decreases.
        s.heading = (s.heading - self.turn_rate * math.sin(math.radians(s.roll)) * dt) % 360.0
        s.position = s.position + s.forward * s.speed * dt
        if s.position[1] < self.floor:
            s.position[1] = self.floor
            s.pitch = max(s.pitch, 0.0)
        return s


@dataclass
class ChaseCamera:
    """A camera behind and above the craft that follows its pose with a time lag.

    ``lag`` is the time constant (seconds) of the exponential follow: after ``lag`` seconds the
    camera has closed 63% of the gap to where it wants to be.
    """

    back: float = 3.0
    up: float = 1.0
    lag: float = 0.35
    eye: np.ndarray | None = None
    target: np.ndarray | None = None

    def desired(self, state: FlightState) -> tuple[np.ndarray, np.ndarray]:
        """Where the camera would be with no lag: behind the craft along its level heading."""
        level = heading_vector(state.heading, 0.0)
        eye = state.position - self.back * level + np.array([0.0, self.up, 0.0])
        return eye, state.position + 2.0 * state.forward

    def update(self, state: FlightState, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Move towards the desired pose; returns (eye, target)."""
        eye, target = self.desired(state)
        if self.eye is None:
            self.eye, self.target = eye, target
        else:
            a = 1.0 - math.exp(-dt / self.lag) if self.lag > 0 else 1.0
            self.eye = self.eye + a * (eye - self.eye)
            self.target = self.target + a * (target - self.target)
        return self.eye.copy(), self.target.copy()
