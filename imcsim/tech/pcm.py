"""Phase-change memory (PCM) device model: programming noise, conductance drift, 1/f read noise.

Source: S. R. Nandakumar et al., ICECS 2019; V. Joshi et al., "Accurate deep neural network
inference using computational phase-change memory", Nat. Commun. 11, 2473 (2020). The
equations are those of shared/reference/published-figures.md; the coefficients live in
arch_configs/circuits/pcm.yaml. Conductances are absolute, in uS; g = G_target / g_max is
the normalised target (g_max = 25 uS).

Programming:  G_prog = G_target + N(0, sigma_prog),
              sigma_prog = max(c0 + c1 g + c2 g^2, 0) uS  (c = 0.26348, 1.9650, -1.1731),
              clipped at 0 when `clip_negative` (a conductance cannot be negative).
Drift:        G(t) = G_prog (t / t0)^(-nu), t0 = 20 s, nu ~ |N(mu, sigma)|,
              mu    = clip(-0.0155 ln g + 0.0244, 0.049, 0.1),
              sigma = clip(-0.0125 ln g - 0.0059, 0.008, 0.045);
              the law holds from t0 on: no drift for t <= t0.
Read noise:   G_read = G(t) + |G(t)| sigma_r N(0, 1),
              sigma_r = Q sqrt(ln((t + t_read) / (2 t_read))), Q = min(0.0088 / g^0.65, 0.2),
              t_read = 250 ns (1/f noise accumulated since programming); no noise while
              t < t_read, where the logarithm is negative.
mu, sigma and Q use the normalised *target* g; g = 0 gives ln g = -inf, so mu, sigma and Q
take their clip values (0.1, 0.045, 0.2).
"""

from __future__ import annotations

import numpy as np

from imcsim.tech.device_params import ClippedLog, PcmParams


def _clipped_log(c: ClippedLog, g: np.ndarray) -> np.ndarray:
    """clip(slope ln g + intercept, min, max); at g = 0 the limit (ln g -> -inf)."""
    g = np.asarray(g, dtype=float)
    safe = np.where(g > 0, g, 1.0)
    value = c.slope * np.log(safe) + c.intercept
    at_zero = -np.inf * np.sign(c.slope) if c.slope else c.intercept
    return np.clip(np.where(g > 0, value, at_zero), c.min, c.max)


class Pcm:
    """PCM cells with the published statistical model; every draw takes the caller's rng."""

    def __init__(self, params: PcmParams):
        self.p = params

    def normalised(self, g_us) -> np.ndarray:
        return np.clip(np.asarray(g_us, dtype=float) / self.p.g_max_us, 0.0, None)

    # ---- programming
    def programming_sigma_us(self, g_target_us) -> np.ndarray:
        g = self.normalised(g_target_us)
        c = self.p.programming
        return np.maximum(c.c0 + c.c1 * g + c.c2 * g * g, 0.0)

    def program(self, g_target_us, rng: np.random.Generator) -> np.ndarray:
        g_t = np.asarray(g_target_us, dtype=float)
        g = g_t + self.programming_sigma_us(g_t) * rng.standard_normal(g_t.shape)
        return np.clip(g, 0.0, None) if self.p.programming.clip_negative else g

    # ---- drift
    def drift_mu_sigma(self, g_target_us) -> tuple[np.ndarray, np.ndarray]:
        g = self.normalised(g_target_us)
        return _clipped_log(self.p.drift.mu, g), _clipped_log(self.p.drift.sigma, g)

    def drift_exponent(self, g_target_us, rng: np.random.Generator) -> np.ndarray:
        """nu ~ |N(mu(g), sigma(g))|, one per cell."""
        mu, sigma = self.drift_mu_sigma(g_target_us)
        return np.abs(mu + sigma * rng.standard_normal(mu.shape))

    def drift(self, g_prog_us, t_s: float, rng: np.random.Generator | None = None, *,
              g_target_us=None, nu=None) -> np.ndarray:
        """G(t) from G_prog; nu drawn from the target's statistics unless given."""
        g_prog = np.asarray(g_prog_us, dtype=float)
        if nu is None:
            if rng is None:
                raise ValueError("drawing drift exponents needs a seeded rng")
            nu = self.drift_exponent(g_prog if g_target_us is None else g_target_us, rng)
        ratio = max(float(t_s), self.p.drift.t0_s) / self.p.drift.t0_s
        return g_prog * ratio ** (-np.asarray(nu, dtype=float))

    # ---- read noise
    def read_sigma_relative(self, g_target_us, t_s: float) -> np.ndarray:
        """sigma_r = Q sqrt(ln((t + t_read) / (2 t_read))), relative to |G(t)|."""
        rn = self.p.read_noise
        g = self.normalised(g_target_us)
        safe = np.where(g > 0, g, 1.0)
        at_zero = rn.q_max if rn.q_coeff > 0 else 0.0  # limit of q_coeff / g^e as g -> 0
        q = np.minimum(np.where(g > 0, rn.q_coeff / safe ** rn.q_exponent, at_zero), rn.q_max)
        log_term = max(np.log((t_s + rn.t_read_s) / (2.0 * rn.t_read_s)), 0.0)
        return q * np.sqrt(log_term)

    def read(self, g_us, t_s: float, rng: np.random.Generator, *, g_target_us=None) -> np.ndarray:
        """One read of cells whose (drifted) conductance is g_us, at time t since programming."""
        g = np.asarray(g_us, dtype=float)
        sig = self.read_sigma_relative(g if g_target_us is None else g_target_us, t_s)
        out = g + np.abs(g) * sig * rng.standard_normal(g.shape)
        return np.clip(out, 0.0, None) if self.p.programming.clip_negative else out

    def at_time(self, g_target_us, t_s: float, rng: np.random.Generator) -> np.ndarray:
        """Program, drift to t and read once: what an inference at time t sees."""
        g_prog = self.program(g_target_us, rng)
        g_t = self.drift(g_prog, t_s, rng, g_target_us=g_target_us)
        return self.read(g_t, t_s, rng, g_target_us=g_target_us)
