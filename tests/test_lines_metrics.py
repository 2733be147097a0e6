"""ACAI's lines benchmark on its canonical cases: perfect walk, pixel blend, abrupt switch."""

import ml_collections
import numpy as np
import pytest

from mixres.data import procedural
from mixres.evaluation import lines

STEPS = lines.NUM_STEPS


@pytest.fixture(scope='module')
def bank():
  return lines.reference_lines(32)


def grid_angle(index):
  """The angle of reference line `index`, so that its rendering is in the bank exactly."""
  return index * procedural.TWO_PI / lines.NUM_REFERENCE


def test_smoothness_hand_computed():
  even = np.linspace(0.0, 1.5, STEPS)[None]
  np.testing.assert_allclose(lines.smoothness(even), [0.0], atol=1e-12)
  switch = np.where(np.arange(STEPS) < 8, 0.2, 1.2)[None]
  np.testing.assert_allclose(lines.smoothness(switch), [1.0 - 1.0 / 15])
  # Two equal halves of the change in two steps: max step / total = 1/2.
  halves = np.array([[0.0] * 5 + [0.5] * 5 + [1.0] * 6])
  np.testing.assert_allclose(lines.smoothness(halves), [0.5 - 1.0 / 15])
  # No change at all has no direction: NaN for the interpolation (ACAI's smoothness_score).
  assert np.isnan(lines.smoothness(np.full((1, STEPS), 2.0))).all()


def test_mean_smoothness_as_acai_and_nan_when_nothing_is_defined(bank):
  """AUDIT.md C1: undefined interpolations add 0 over all of them; all undefined is NaN, not 0."""
  scores = np.array([0.5, np.nan, 0.1, np.nan])
  np.testing.assert_allclose(lines.mean_smoothness(scores), 0.6 / 4)
  assert np.isnan(lines.mean_smoothness(np.full(3, np.nan)))
  # A decoder that ignores its code draws the same line all along every path.
  x = procedural.render_lines(np.array([grid_angle(1234)]))
  constant = np.broadcast_to(x[None], (4, STEPS, 32, 32, 1))
  result = lines.score_interpolations(constant, bank)
  assert np.isnan(result['lines/smoothness']) and result['lines/undefined_fraction'] == 1.0
  np.testing.assert_allclose(result['lines/mean_distance'], 0.0, atol=1e-9)


def test_nearest_angle_is_found_in_float64(bank):
  """AUDIT.md C2: every reference line is its own nearest, to the exact index (float32 dot
  products tie between neighbours and return lines up to two steps away)."""
  angles, _ = bank
  index = np.arange(0, lines.NUM_REFERENCE, 37)
  images = procedural.render_lines(angles[index])
  _, nearest = lines.nearest_lines(images, bank)
  np.testing.assert_array_equal(nearest, angles[index])


def test_smoothness_unwraps_through_zero():
  """An even walk from 6.2 rad across 2 pi to 0.3 rad is smooth, not one big jump."""
  walk = np.mod(np.linspace(6.2, 6.2 + 0.383, STEPS), procedural.TWO_PI)[None]
  assert walk.min() < 0.1 and walk.max() > 6.1
  np.testing.assert_allclose(lines.smoothness(walk), [0.0], atol=1e-9)


def test_perfect_interpolation_scores_zero(bank):
  """Decoded lines that walk evenly along the shortest arc: both metrics (nearly) 0."""
  rng = np.random.default_rng(0)
  starts = rng.uniform(0, procedural.TWO_PI, 8)
  arcs = rng.uniform(-np.pi, np.pi, 8)
  angles = starts[:, None] + arcs[:, None] * np.linspace(0, 1, STEPS)[None]
  images = procedural.render_lines(angles.reshape(-1)).reshape(8, STEPS, 32, 32, 1)
  scores = lines.score_interpolations(images, bank)
  assert scores['lines/mean_distance'] < 1e-4  # Off-grid angles: the nearest is 3e-4 rad away.
  assert scores['lines/smoothness'] < 0.02
  # The nearest line's angle is the rendered one, to a few bank steps (neighbouring lines differ
  # by ~1e-7 in cosine, near float32 resolution).
  _, nearest = lines.nearest_lines(images.reshape(-1, 32, 32, 1), bank)
  error = np.angle(np.exp(1j * (nearest - np.mod(angles.reshape(-1), procedural.TWO_PI))))
  assert np.abs(error).max() <= 3 * procedural.TWO_PI / lines.NUM_REFERENCE


def test_abrupt_switch_and_pixel_blend(bank):
  a, b = grid_angle(1000), grid_angle(4000)  # 0.63 and 2.51 rad: well apart.
  x_a, x_b = procedural.render_lines(np.array([a, b]))
  switch = np.stack([x_a if i < 8 else x_b for i in range(STEPS)])[None]
  scores = lines.score_interpolations(switch, bank)
  np.testing.assert_allclose(scores['lines/mean_distance'], 0.0, atol=1e-6)
  np.testing.assert_allclose(scores['lines/smoothness'], 1.0 - 1.0 / 15, rtol=1e-6)

  w = np.linspace(0, 1, STEPS).reshape(-1, 1, 1, 1)
  blend = ((1 - w) * x_a + w * x_b)[None]
  blended = lines.score_interpolations(blend, bank)
  # Half-ink double lines are far from any single line, and the angle still jumps once.
  assert blended['lines/mean_distance'] > 100 * 1e-6
  assert blended['lines/smoothness'] > 0.8


class _PixelSpace:
  """An 'autoencoder' whose code is the image: the evaluator then scores pixel blending."""

  def inference_params(self, state):
    return state

  def encode(self, params, images):
    return images

  def decode(self, params, codes):
    return codes


def _config(data_name='lines', pairs=4):
  return ml_collections.ConfigDict({
      'data': {'name': data_name, 'image_size': 32},
      'eval': {'lines_pairs': pairs, 'lines_seed': 3}})


def test_evaluator_interpolates_codes_of_fresh_pairs(bank):
  evaluator = lines.LinesInterpolation(_PixelSpace(), _config(), None, None)
  scalars, images = evaluator({})
  w = np.linspace(0, 1, STEPS).reshape(1, -1, 1, 1, 1)
  expected = lines.score_interpolations(
      (1 - w) * evaluator.x_a[:, None] + w * evaluator.x_b[:, None], bank)
  assert scalars.keys() == expected.keys() and not images
  for name, value in expected.items():
    np.testing.assert_allclose(scalars[name], value, rtol=1e-5)
  # Fixed pairs: the same seed draws the same lines.
  again = lines.LinesInterpolation(_PixelSpace(), _config(), None, None)
  np.testing.assert_array_equal(again.x_a, evaluator.x_a)


def test_evaluator_needs_lines():
  with pytest.raises(ValueError, match=r'needs config.data.name=\'lines\', not \'digits\''):
    lines.LinesInterpolation(_PixelSpace(), _config('digits'), None, None)
