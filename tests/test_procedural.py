"""Procedural sources: lines geometry, dSprites factors acting as they should, 2-D toys."""

import numpy as np
import pytest

from mixres.data import procedural


def _centroid(image: np.ndarray) -> tuple[float, float]:
  """(x, y-down) centroid in pixel units of a (S, S) or (S, S, 1) non-negative weight image."""
  w = np.asarray(image, np.float64).reshape(image.shape[0], image.shape[1])
  rows, cols = np.indices(w.shape) + 0.5
  return float(np.sum(w * cols) / w.sum()), float(np.sum(w * rows) / w.sum())


# A binary shape sampled at pixel centres can shift its centroid by up to half a pixel.
_HALF_PIXEL = 0.5


def _angle_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  return np.abs((a - b + np.pi) % (2 * np.pi) - np.pi)


# --- Lines -----------------------------------------------------------------------------------


def test_line_angle_is_recovered_from_the_image():
  angles = np.concatenate([np.random.default_rng(0).uniform(0, 2 * np.pi, 300),
                           [0.0, 1e-4, 2 * np.pi - 1e-4, np.pi / 2, np.pi, 1.5 * np.pi]])
  images = procedural.render_lines(angles)
  recovered = []
  for image in images:
    x, y = _centroid((image + 1) / 2)  # Ink weights in [0, 1].
    recovered.append(np.arctan2(16.0 - y, x - 16.0))  # y up: angles grow counterclockwise.
  assert _angle_gap(np.array(recovered), angles).max() < np.deg2rad(2.0)


def test_lines_are_anti_aliased_and_keep_their_ink_at_every_angle():
  images = procedural.render_lines(np.linspace(0, 2 * np.pi, 97, endpoint=False))
  assert images.shape == (97, 32, 32, 1) and images.dtype == np.float32
  assert images.min() == -1.0 and images.max() <= 1.0
  # At least half coverage somewhere: a line at angle 0 runs exactly between two pixel rows.
  assert np.all(images.max(axis=(1, 2, 3)) >= -0.01)
  partial = np.sum((images > -1.0) & (images < 1.0), axis=(1, 2, 3))
  assert np.all(partial >= 10)  # Every line has a soft edge, not only some angles.
  ink = np.sum((images + 1) / 2, axis=(1, 2, 3))
  assert ink.std() / ink.mean() < 0.03  # No angle draws a thicker or thinner line.


def test_lines_source_is_deterministic_with_binned_labels():
  a, b = procedural.LinesSource(200, seed=3), procedural.LinesSource(200, seed=3)
  assert len(a) == 200
  for i in (0, 57, 199, 8):  # Any order.
    x, y = a[i], b[i]
    assert x['image'].shape == (32, 32, 1) and x['image'].dtype == np.uint8
    assert x['label'].dtype == np.int32 and x['angle'].dtype == np.float32
    np.testing.assert_array_equal(x['image'], y['image'])
    assert x['angle'] == y['angle'] and 0 <= x['angle'] < 2 * np.pi
    assert x['label'] == int(np.floor(float(x['angle']) / (2 * np.pi / 10)))
    assert x['image'].min() == 0 and x['image'].max() >= 240
  assert not np.array_equal(a.angles, procedural.LinesSource(200, seed=4).angles)
  assert set(a.labels.tolist()) == set(range(10))
  np.testing.assert_array_equal(procedural.angle_bins(np.array([0.0, 6.28, 2 * np.pi]), 4),
                                [0, 3, 3])
  with pytest.raises(IndexError):
    a[200]


def test_reference_lines_match_the_source():
  source = procedural.LinesSource(64, seed=1)
  references = procedural.render_lines(np.linspace(0, 2 * np.pi, 10000, endpoint=False))
  assert references.shape == (10000, 32, 32, 1)
  np.testing.assert_array_equal(procedural.render_lines(source.angles),
                                procedural.render_lines(source.angles[::-1])[::-1])
  images = np.stack([source[i]['image'] for i in range(len(source))])
  np.testing.assert_array_equal(images, procedural.to_uint8(procedural.render_lines(source.angles)))
  # The evaluator's angle read-out: nearest reference by cosine distance.
  refs = references.reshape(10000, -1)
  refs /= np.linalg.norm(refs, axis=1, keepdims=True)
  query = images.reshape(64, -1).astype(np.float64) / 127.5 - 1.0
  query /= np.linalg.norm(query, axis=1, keepdims=True)
  nearest = np.argmax(query @ refs.T, axis=1) * (2 * np.pi / 10000)
  assert _angle_gap(nearest, source.angles).max() < np.deg2rad(0.5)


# --- dSprites --------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def sprites():
  return procedural.DspritesSource()


def _sprite(sprites, shape=1, scale=5, orientation=0, x=16, y=16) -> np.ndarray:
  index = sprites.index_of(np.array([shape, scale, orientation, x, y]))
  return sprites[int(index)]['image'][..., 0] > 0


def test_dsprites_grid_and_index_round_trip(sprites):
  assert len(sprites) == 737_280 == 3 * 6 * 40 * 32 * 32
  assert procedural.DSPRITES_SIZES == (3, 6, 40, 32, 32)
  assert len(procedural.DSPRITES_FACTORS) == 5
  values = procedural.dsprites_factor_values()
  np.testing.assert_allclose(values[0], [1, 2, 3])  # The original files' (and TFDS's) values.
  np.testing.assert_allclose(values[1], np.linspace(0.5, 1, 6))
  np.testing.assert_allclose(values[2], np.linspace(0, 2 * np.pi, 40))
  np.testing.assert_allclose(values[3], np.linspace(0, 1, 32))
  assert [len(v) for v in values] == list(procedural.DSPRITES_SIZES)
  assert sprites.index_of(np.array([1, 0, 0, 0, 0])) == 6 * 40 * 32 * 32  # Shape slowest.
  assert sprites.index_of(np.array([0, 0, 0, 0, 1])) == 1  # y fastest.
  rng = np.random.default_rng(0)
  indices = rng.integers(0, len(sprites), 500)
  factors = sprites.factors_of(indices)
  np.testing.assert_array_equal(sprites.index_of(factors), indices)
  sampled = sprites.sample_factors(np.random.default_rng(1), 1000)
  assert sampled.shape == (1000, 5) and sampled.dtype == np.int32
  assert np.all(sampled.min(0) == 0)
  assert np.all(sampled.max(0) == np.array(procedural.DSPRITES_SIZES) - 1)
  np.testing.assert_array_equal(sampled, sprites.sample_factors(np.random.default_rng(1), 1000))
  example = sprites[int(indices[0])]
  assert example['image'].shape == (64, 64, 1) and example['image'].dtype == np.uint8
  assert set(np.unique(example['image']).tolist()) <= {0, 255}
  assert example['label'].dtype == np.int32 and example['label'] == factors[0, 0]
  np.testing.assert_array_equal(example['factors'], factors[0])
  np.testing.assert_allclose(example['factor_values'],
                             [v[f] for v, f in zip(values, factors[0])], rtol=1e-6)
  assert sprites.images(indices[:3]).shape == (3, 64, 64, 1)


@pytest.mark.parametrize('shape', [0, 1, 2])
def test_dsprites_position_moves_the_centroid(sprites, shape):
  grid = np.arange(32)
  along_x = np.array([_centroid(_sprite(sprites, shape, x=i, y=7)) for i in grid])
  along_y = np.array([_centroid(_sprite(sprites, shape, x=7, y=i)) for i in grid])
  # Position is the centroid: 12 + 40 * position px (the heart sits on its area centroid);
  # x moves right along columns, y down along rows.
  expected = 12 + 40 * grid / 31
  np.testing.assert_allclose(along_x[:, 0], expected, atol=_HALF_PIXEL)
  np.testing.assert_allclose(along_y[:, 1], expected, atol=_HALF_PIXEL)
  np.testing.assert_allclose(along_x[:, 1], 12 + 40 * 7 / 31, atol=_HALF_PIXEL)
  np.testing.assert_allclose(along_y[:, 0], 12 + 40 * 7 / 31, atol=_HALF_PIXEL)
  assert np.polyfit(grid, along_x[:, 0], 1)[0] == pytest.approx(40 / 31, rel=0.01)
  assert np.polyfit(grid, along_y[:, 1], 1)[0] == pytest.approx(40 / 31, rel=0.01)


@pytest.mark.parametrize('shape', [0, 1, 2])
def test_dsprites_scale_grows_the_area_as_its_square(sprites, shape):
  # One binary sprite's area is quantised (an axis-aligned square grows by whole pixel rows), so
  # average over positions, i.e. over sub-pixel phases, to compare with the continuous area.
  positions = range(0, 32, 3)
  areas = np.array([np.mean([_sprite(sprites, shape, scale=s, x=i, y=(5 * i) % 32).sum()
                             for i in positions]) for s in range(6)])
  assert np.all(np.diff(areas) > 0)
  scales = np.linspace(0.5, 1, 6)
  np.testing.assert_allclose(areas / areas[-1], scales ** 2, rtol=0.08)


def test_dsprites_shapes_differ_at_the_same_position(sprites):
  images = [_sprite(sprites, s) for s in range(3)]
  areas = [im.sum() for im in images]
  assert len(set(areas)) == 3
  for i in range(3):
    for j in range(i + 1, 3):
      assert np.sum(images[i] != images[j]) > 20
  centroids = np.array([_centroid(im) for im in images])
  np.testing.assert_allclose(centroids, np.broadcast_to(centroids[0], (3, 2)), atol=_HALF_PIXEL)


@pytest.mark.parametrize('shape', [0, 1, 2])
def test_dsprites_rotation_keeps_area_and_centroid(sprites, shape):
  base = _sprite(sprites, shape)
  for o in (3, 5, 10, 17, 29):
    rotated = _sprite(sprites, shape, orientation=o)
    assert rotated.sum() == pytest.approx(base.sum(), rel=0.06)
    np.testing.assert_allclose(_centroid(rotated), _centroid(base), atol=_HALF_PIXEL)
    assert np.sum(rotated != base) > 10
  np.testing.assert_array_equal(_sprite(sprites, shape, orientation=39), base)  # 2 pi == 0.


def test_dsprites_orientation_turns_counterclockwise(sprites):
  def tilt(image):  # Covariance of (x, y-up) over the ink: > 0 leans up-right.
    rows, cols = np.nonzero(image)
    return np.cov(cols, -rows)

  flat, quarter = tilt(_sprite(sprites, 1)), tilt(_sprite(sprites, 1, orientation=10))
  assert flat[0, 0] > 3 * flat[1, 1]  # Long axis along x at orientation 0.
  assert quarter[1, 1] > 3 * quarter[0, 0]  # About pi/2 (10 * 2 pi / 39): long axis vertical.
  assert tilt(_sprite(sprites, 1, orientation=5))[0, 1] > 0  # About pi/4: up-right.
  heart = _sprite(sprites, 2)
  rows = np.nonzero(heart)[0]
  assert np.mean(rows) < (rows.min() + rows.max()) / 2  # Lobes (more ink) at the top.


def test_dsprites_stay_inside_the_frame():
  for shape in range(3):
    for scale in (0.5, 1.0):
      for orientation in np.linspace(0, 2 * np.pi, 40):
        for x in (0.0, 1.0):
          for y in (0.0, 1.0):
            image = procedural.render_sprite(shape, scale, orientation, x, y)
            assert image.any()
            assert not (image[[0, 1, -2, -1], :].any() or image[:, [0, 1, -2, -1]].any())
  small = procedural.DspritesSource(image_size=32)[0]['image']
  assert small.shape == (32, 32, 1) and small.max() == 255


# --- 2-D toys --------------------------------------------------------------------------------

_LABELS = {'moons': {0, 1}, 'circles': {0, 1}, 'blobs': set(range(8))}


@pytest.mark.parametrize('name', procedural.TOYS)
def test_toys_are_bounded_labelled_and_seeded(name):
  source = procedural.ToySource(name, 2000, seed=0)
  assert len(source) == 2000 and source.points.shape == (2000, 2)
  assert np.all(np.isfinite(source.points)) and np.abs(source.points).max() < 1.2
  assert np.abs(source.points).max() > 0.7  # Uses the square, not a corner of it.
  assert set(source.labels.tolist()) == _LABELS.get(name, {0})
  example = source[5]
  assert example['image'].shape == (2,) and example['image'].dtype == np.float32
  assert example['label'].dtype == np.int32
  np.testing.assert_array_equal(source.points,
                                procedural.ToySource(name, 2000, seed=0).points)
  assert not np.array_equal(source.points, procedural.ToySource(name, 2000, seed=1).points)
  noisy = procedural.ToySource(name, 2000, seed=0, noise=0.1)
  assert noisy.noise == 0.1 and not np.array_equal(noisy.points, source.points)


def test_spiral_points_lie_on_the_curve_and_uniform_points_do_not():
  curve = procedural.spiral_curve(501)
  assert procedural.distance_to_spiral(curve).max() < 1e-6
  source = procedural.ToySource('spiral', 2000, seed=0, noise=0.02)
  near = procedural.distance_to_spiral(source.points)
  assert np.median(near) < 0.03 and np.mean(near < 0.06) > 0.95
  uniform = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
  assert np.mean(procedural.distance_to_spiral(uniform) < 0.06) < 0.3


def test_unknown_toy_names_the_choices():
  with pytest.raises(ValueError) as error:
    procedural.ToySource('mnist', 10, seed=0)
  message = str(error.value)
  assert '\n' not in message and message.startswith("config.data.name='mnist' is not a 2-D toy")
  assert all(name in message for name in procedural.TOYS)
