"""ACAI's lines benchmark on its canonical cases: perfect walk, pixel blend, abrupt switch, a
path that turns back."""

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
  """docs/faithfulness.md#c1: undefined interpolations add 0 over all of them; all undefined is
  NaN, not 0."""
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
  """docs/faithfulness.md#c2: every reference line is its own nearest, to the exact index
  (float32 dot products tie between neighbours and return lines up to two steps away)."""
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


def test_smoothness_of_a_path_that_turns_back():
  """Item 9: forward 12 x 0.1, then back 3 x 0.25. Total change |0.45 - 0| = 0.45, largest step
  0.25: 0.25 / 0.45 - 1/15 = 22/45. Dividing by the path's length (1.95) would give 0.062, and
  the largest signed step (0.1) 0.156."""
  path = np.concatenate([np.arange(13) * 0.1, 1.2 - np.arange(1, 4) * 0.25])[None]
  assert path.shape == (1, STEPS)
  np.testing.assert_allclose(lines.smoothness(path), [22.0 / 45.0], rtol=1e-12)
  # Forward 10 x 0.1 then back 5 x 0.1: every step the same size, yet not smooth: 0.1 / 0.5 -
  # 1/15 = 2/15 (a path-length metric scores this walk a perfect 0).
  there_and_back = np.concatenate([np.arange(11) * 0.1, 1.0 - np.arange(1, 6) * 0.1])[None]
  np.testing.assert_allclose(lines.smoothness(there_and_back), [2.0 / 15.0], rtol=1e-12)


def test_turning_back_through_the_evaluator(bank):
  """The same 22/45 path as rendered lines read back through the bank: on-grid angles, forward
  12 x 160 reference steps, then back 3 x 400, exactly."""
  index = 1000 + np.concatenate([np.arange(13) * 160, 12 * 160 - np.arange(1, 4) * 400])
  images = procedural.render_lines(grid_angle(index))[None]
  scores = lines.score_interpolations(images, bank)
  np.testing.assert_allclose(scores['lines/smoothness'], 22.0 / 45.0, rtol=1e-9)


CANONICAL = (5 * np.pi / 7, 3 * np.pi / 2)  # ACAI's example pair.


def _pixel_blend(a, b):
  """The evaluator's path (weights i/15 in float32) through pixel space from line a to line b."""
  x_a, x_b = procedural.render_lines(np.array([a, b]))
  w = (np.arange(STEPS, dtype=np.float32) / (STEPS - 1)).reshape(-1, 1, 1, 1)
  return ((1 - w) * x_a + w * x_b)[None]


def test_canonical_pair_calibration(bank):
  """docs/faithfulness.md#b3: ACAI's canonical pair (5 pi/7 -> 3 pi/2) with ACAI's drawing.

  Pixel blend: Mean Distance 7.217e-3 (ACAI's line_eval gives the same, 7.22e-3). Smoothness
  0.9209, which ACAI's line_eval also gives on these float32 images; on the float64 blend its
  cdist breaks the mirror ties of steps 8-14 the other way and reads 0.940 (module docstring).
  """
  a, b = CANONICAL
  blend = lines.score_interpolations(_pixel_blend(a, b), bank)
  np.testing.assert_allclose(blend['lines/mean_distance'], 7.22e-3, rtol=0.02)
  np.testing.assert_allclose(blend['lines/smoothness'], 0.9209, atol=0.005)
  x_a, x_b = procedural.render_lines(np.array([a, b]))
  switch = np.stack([x_a if i < 8 else x_b for i in range(STEPS)])[None]
  scores = lines.score_interpolations(switch, bank)
  np.testing.assert_allclose(scores['lines/smoothness'], 1.0 - 1.0 / 15, rtol=1e-9)  # 0.9333
  assert scores['lines/mean_distance'] < 1e-6  # Real lines, off the grid by < 1/2 step.
  # The perfect path: lines evenly spaced along the shortest arc, here counterclockwise 0.79 pi.
  arc = np.angle(np.exp(1j * (b - a)))
  assert 0 < arc < np.pi
  perfect = procedural.render_lines(a + arc * np.linspace(0, 1, STEPS))[None]
  scores = lines.score_interpolations(perfect, bank)
  assert scores['lines/mean_distance'] < 1e-6 and abs(scores['lines/smoothness']) < 1e-3


def test_mirror_ties_go_to_the_first_reference_line(bank):
  """Steps 8-14 of the canonical blend are exactly as near to two reference lines mirrored about
  3 pi/2 (line 7,500): the blend is symmetric about the vertical where they differ. The first
  one wins, in float32 and float64, whatever the rounding of the two cosines."""
  images = _pixel_blend(*CANONICAL)[0]
  angles, vectors = bank
  cosine = lines._unit_rows(images.astype(np.float64)) @ vectors.T
  for dtype in (np.float32, np.float64):
    _, nearest = lines.nearest_lines(images.astype(dtype), bank)
    index = np.rint(nearest / grid_angle(1)).astype(int)
    steps = np.arange(8, 15)
    mirror = 15_000 - index[steps]
    np.testing.assert_allclose(cosine[steps, index[steps]], cosine[steps, mirror], atol=1e-15)
    assert np.all(index[steps] < mirror), (dtype, index[steps], mirror)


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
