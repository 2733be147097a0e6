"""Sources and the grain pipeline: every dataset, splits, subsets, shards, resume order, files."""

import gzip
import os

import grain
import numpy as np
import pytest
import tensorflow_datasets as tfds

from configs import base
from configs import lines as lines_config
from mixres.data import files
from mixres.data import pipeline
from mixres.data import procedural
from mixres.data import sources
from mixres.data import transforms

MNIST_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'mnist')
MNIST_IMAGES = os.path.join(MNIST_DIR, 'mnist-t10k-images-idx3-ubyte.gz')


def counting_source(n):
  """Image i is filled with i % 256, label i: lets tests see which examples a batch holds."""
  images = (np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 1), np.uint8))
  return sources.ArraySource(images, np.arange(n))


def data_config(name, **fields):
  config = base.get_config()
  config.data.name = name
  for key, value in fields.items():
    config.data[key] = value
  return config


# Every dataset name, with the fields its shape and classes need. TFDS ones run under mock data.
DATASETS = {
    'digits': {}, 'lines': {}, 'dsprites_rendered': dict(image_size=64, num_classes=3),
    'spiral': dict(num_classes=0), 'moons': dict(num_classes=2), 'circles': dict(num_classes=2),
    'blobs': dict(num_classes=8), 'swiss_roll': dict(num_classes=0),
    's_curve': dict(num_classes=0), 'mnist': {}, 'kmnist': {}, 'fashion_mnist': {},
    'emnist/letters': dict(num_classes=37), 'svhn_cropped': {}, 'cifar10': {},
    'celeb_a': dict(num_classes=8, image_size=64, fit='crop_resize'),
    'dsprites': dict(num_classes=3, image_size=64),
}


def test_the_test_table_covers_every_dataset():
  assert sorted(DATASETS) == sources.DATASETS


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_every_source_yields_model_ready_batches(name):
  config = data_config(name, **DATASETS[name])
  with tfds.testing.mock_data(num_examples=40):
    train, valid = sources.build(config)
    batch = pipeline.train_batches(train, 8, seed=0, process_index=0, process_count=1)[0]
  size = config.data.image_size
  expected = (8, 2) if name in ('spiral', 'moons', 'circles', 'blobs', 'swiss_roll',
                                's_curve') else (8, size, size, 3 if name in (
                                    'svhn_cropped', 'cifar10', 'celeb_a') else 1)
  assert batch['image'].shape == expected and batch['image'].dtype == np.float32
  assert -1.0 <= batch['image'].min() and batch['image'].max() <= 1.0
  assert batch['label'].dtype == np.int32 and batch['label'].shape == (8,)
  assert len(valid) > 0 and len(train) > len(valid)
  if config.data.num_classes:
    assert batch['label'].min() >= 0 and batch['label'].max() < config.data.num_classes


def test_tfds_converters_transpose_emnist_binarise_dsprites_and_code_celeb_a_attributes():
  with tfds.testing.mock_data(num_examples=10):
    raw = tfds.data_source('emnist/letters', split='train', download=False)[3]
    ours = sources._load(data_config('emnist/letters').data)[3]
    np.testing.assert_array_equal(ours['image'][..., 0], np.asarray(raw['image'])[..., 0].T)

    sprite = sources._load(data_config('dsprites').data)[0]
    assert set(np.unique(sprite['image'])) <= {0, 255}
    assert sprite['label'] == sprite['factors'][0] and sprite['factors'].shape == (5,)

    data = data_config('celeb_a', attributes=('Male', 'Smiling')).data
    raw = tfds.data_source('celeb_a', split='train', download=False)
    ours = sources._load(data)
    for i in range(10):
      bits = [bool(raw[i]['attributes']['Male']), bool(raw[i]['attributes']['Smiling'])]
      np.testing.assert_array_equal(ours[i]['attributes'], np.float32(bits))
      assert ours[i]['label'] == bits[0] + 2 * bits[1]


def test_split_is_seeded_disjoint_and_complete():
  train, valid = sources.split_indices(100, 0.1, seed=0)
  again, _ = sources.split_indices(100, 0.1, seed=0)
  other, _ = sources.split_indices(100, 0.1, seed=1)
  assert len(valid) == 10 and len(train) == 90
  assert sorted(np.concatenate([train, valid]).tolist()) == list(range(100))
  np.testing.assert_array_equal(train, again)
  assert not np.array_equal(train, other)
  # A prefix of the validation part is a random sample, not the start of the stored order.
  _, valid = sources.split_indices(737_280, 0.1, seed=0)
  assert np.ptp(valid[:100]) > 600_000
  with pytest.raises(ValueError, match='config.data.valid_fraction=1.5'):
    sources.split_indices(100, 1.5, 0)


def test_subsets_are_deterministic_nested_prefixes_of_one_shuffle():
  config = data_config('lines', num_examples=2_000)
  full_train, valid = sources.build(config)
  labels = {}
  for size in (100, 500):
    config.data.train_subset = size
    train, subset_valid = sources.build(config)
    again, _ = sources.build(config)
    assert len(train) == size and len(subset_valid) == len(valid)  # Validation is untouched.
    angles = [train[i]['angle'] for i in range(size)]
    assert angles == [again[i]['angle'] for i in range(size)]
    labels[size] = angles
  assert labels[500][:100] == labels[100]  # "The first N of a seed-0 shuffle".
  assert set(labels[500]) <= {full_train[i]['angle'] for i in range(len(full_train))}
  config.data.subset_seed = 1
  assert [sources.build(config)[0][i]['angle'] for i in range(500)] != labels[500]


def test_fit_resizes_pads_and_crops():
  image = np.zeros((28, 28, 1), np.uint8)
  image[10:18, 10:18] = 255
  padded = transforms.fit(image, 32, 'pad')
  assert padded.shape == (32, 32, 1)
  np.testing.assert_array_equal(padded[2:30, 2:30], image)  # Centred, pixels exact.
  assert transforms.fit(image, 32, 'resize').shape == (32, 32, 1)
  face = np.zeros((218, 178, 3), np.uint8)
  face[20:198] = 200  # The central 178x178 square.
  assert transforms.fit(face, 64, 'crop_resize').min() == 200
  np.testing.assert_array_equal(transforms.fit(image, 28, 'resize'), image)


def test_random_affine_is_identity_at_zero_range_and_moves_ink_otherwise():
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (28, 28, 1)).astype(np.uint8)
  np.testing.assert_array_equal(
      transforms.random_affine(image, rng, 0.0, 0.0, (1.0, 1.0)), image)
  dot = np.zeros((28, 28, 1), np.uint8)
  dot[14, 14] = 255
  shifts = []
  for seed in range(20):
    out = transforms.random_affine(dot, np.random.default_rng(seed), 10.0, 5.0, (0.9, 1.1))
    rows, cols = np.nonzero(out[..., 0])
    weights = out[rows, cols, 0].astype(float)
    shifts.append(np.average(cols, weights=weights) - 14)
  assert max(np.abs(shifts)) <= 5.6 and np.std(shifts) > 1.0  # U[-5, 5] px translations.


def test_views_are_seeded_per_example_and_independent_of_process_count():
  images = np.random.default_rng(0).integers(0, 256, (24, 8, 8, 1)).astype(np.uint8)
  source = sources.ArraySource(images, np.arange(24))
  augment = base.get_config().data.augment
  augment.num_views = 2
  single = pipeline.train_batches(source, 8, 0, augment, process_index=0, process_count=1)
  shards = [pipeline.train_batches(source, 8, 0, augment, process_index=p, process_count=2)
            for p in range(2)]
  batch = single[1]
  assert batch['views'].shape == (8, 2, 8, 8, 1) and batch['views'].dtype == np.float32
  assert not np.array_equal(batch['views'][:, 0], batch['views'][:, 1])
  np.testing.assert_array_equal(
      np.concatenate([shard[1]['views'] for shard in shards]), batch['views'])
  resumed = pipeline.iterate(single, start=1)
  np.testing.assert_array_equal(next(resumed)['views'], batch['views'])
  for bad in ((1.2, 1.0), (1.0,)):
    augment.scale = bad
    with pytest.raises(ValueError, match=r'config.data.augment.scale=\(1.'):
      pipeline.train_batches(source, 8, 0, augment, process_index=0, process_count=1)


def _assert_batches_equal(got, expected):
  assert sorted(got) == sorted(expected)
  for key in expected:
    assert got[key].dtype == expected[key].dtype, key
    np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_reading_a_batch_at_once_equals_reading_it_example_by_example(name):
  """`pipeline.read` (sources that read many at once: arrays, subsets, fits, derived attributes,
  the lines' vectorised render) against stacking source[i], on every dataset; then the training
  stream, which reads through it, against the stream read example by example (grain's shuffle
  of the examples themselves) on two processes, and batching 'epoch' likewise."""
  fields = dict(DATASETS[name])
  if name in ('digits', 'mnist'):
    fields['derived_attributes'] = ('odd', 'large')
  config = data_config(name, **fields)
  with tfds.testing.mock_data(num_examples=40):
    train, valid = sources.build(config)
    for source in (train, valid):
      indices = [i % len(source) for i in (5, 0, 17, 5, 30)]  # A repeat, out of order.
      _assert_batches_equal(pipeline.read(source, indices),
                            pipeline.stack([source[i] for i in indices]))
    with pytest.raises(IndexError, match='out of range'):
      pipeline.read(valid, [0, len(valid)])
    seed, block = 3, 4
    by_example = grain.MapDataset.source(train).shuffle(seed=pipeline._spread(seed)).repeat()
    by_example = by_example.batch(block, batch_fn=pipeline.stack)
    shards = [pipeline.train_batches(train, 2 * block, seed, process_index=p, process_count=2)
              for p in range(2)]
    for step in (0, 1, 9):
      for p in range(2):
        _assert_batches_equal(shards[p][step], by_example[2 * step + p])
    if not sources.endless(len(train)):  # Epoch 0 in its seeded permutation (_EpochBatches).
      epochs = pipeline.train_batches(train, block, seed, process_index=0, process_count=1,
                                      batching='epoch')
      order = np.random.default_rng((pipeline._spread(seed), 0)).permutation(len(train))
      for step in (0, 1):
        rows = order[step * block:(step + 1) * block]
        _assert_batches_equal(epochs[step], pipeline.stack([train[int(i)] for i in rows]))


def test_epoch_batches_read_at_once_split_over_processes_with_a_partial_last_batch():
  """batching 'epoch' on 30 examples in batches of 8 (the last 6), two processes: each
  process's rows of every batch, extra fields included, are the examples the epoch's
  permutation puts there."""
  images = np.random.default_rng(0).integers(0, 256, (30, 4, 4, 1)).astype(np.uint8)
  source = sources.ArraySource(images, np.arange(30) % 10,
                               factors=np.arange(60, dtype=np.float32).reshape(30, 2))
  shards = [pipeline.train_batches(source, 8, 5, process_index=p, process_count=2,
                                   batching='epoch') for p in range(2)]
  order = np.random.default_rng((pipeline._spread(5), 0)).permutation(30)
  for step, (start, size) in enumerate(((0, 8), (8, 8), (16, 8), (24, 6))):
    for p in range(2):
      rows = order[start + p * size // 2:start + (p + 1) * size // 2]
      _assert_batches_equal(shards[p][step], pipeline.stack([source[int(i)] for i in rows]))


def test_lines_read_together_are_the_lines_drawn_alone():
  """LinesSource.read_batch draws a batch in one render; each line equals its own render, its
  label and reported angle as before (the single-line path now reads through read_batch)."""
  source = procedural.LinesSource(1 << 62, 7, 32)
  indices = np.array([3, 0, 10 ** 15, 3])
  batch = source.read_batch(indices)
  for row, index in enumerate(indices):
    angle = procedural.line_angle(7, int(index))
    alone = procedural.to_uint8(procedural.render_lines(np.array([angle]), 32)[0])
    np.testing.assert_array_equal(batch['image'][row], alone)
    assert batch['label'][row] == procedural.angle_bins(angle, 10)
    assert batch['angle'][row] == np.float32(angle) and batch['angle'].dtype == np.float32
  with pytest.raises(IndexError, match='out of range'):
    source.read_batch(np.array([1 << 62]))


def test_scaling_to_minus_one_one():
  np.testing.assert_allclose(pipeline.to_model_input(np.array([0, 255], np.uint8)), [-1, 1])


def test_process_shards_are_disjoint_and_cover_each_epoch():
  source = counting_source(12)
  shards = [pipeline.train_batches(source, 4, seed=0, process_index=p, process_count=2)
            for p in range(2)]
  epoch = [label for shard in shards for step in range(3) for label in shard[step]['label']]
  assert sorted(epoch) == list(range(12))
  second = [label for shard in shards for step in range(3, 6) for label in shard[step]['label']]
  assert sorted(second) == list(range(12))
  assert epoch != second  # Reshuffled every epoch.
  single = pipeline.train_batches(source, 4, seed=0, process_index=0, process_count=1)
  for step in range(6):  # Process p's rows are rows p * B/P... of the single-process batch.
    together = np.concatenate([shard[step]['label'] for shard in shards])
    np.testing.assert_array_equal(together, single[step]['label'])
  assert shards[0][0]['image'].shape == (2, 4, 4, 1)
  with pytest.raises(ValueError, match='config.batch_size=5 must be divisible'):
    pipeline.train_batches(source, 5, seed=0, process_index=0, process_count=2)


def test_resumed_iterator_sees_the_same_batches():
  batches = pipeline.train_batches(counting_source(50), 8, seed=3, process_index=0,
                                   process_count=1)
  straight = pipeline.iterate(batches)
  expected = [next(straight)['label'] for _ in range(12)]
  resumed = pipeline.iterate(batches, start=7)
  for step in range(7, 12):
    np.testing.assert_array_equal(next(resumed)['label'], expected[step])


def test_eval_batches_pad_and_mask():
  batches = list(pipeline.eval_batches(counting_source(10), 4))
  assert [b['image'].shape[0] for b in batches] == [4, 4, 4]
  np.testing.assert_array_equal(batches[-1]['mask'], [1, 1, 0, 0])
  assert sum(b['mask'].sum() for b in batches) == 10


def test_tfds_svhn_under_mock_data():
  config = base.get_config()
  with tfds.testing.mock_data(num_examples=50):
    train, valid = sources.build(config)
    assert (len(train), len(valid)) == (45, 5)  # The reference's 90/10 cut.
    example = train[0]
  assert example['image'].shape == (32, 32, 3) and example['image'].dtype == np.uint8
  assert example['label'].dtype == np.int32


def test_unprepared_tfds_dataset_says_how_to_prepare_or_use_local_files(tmp_path):
  with pytest.raises(FileNotFoundError) as error:
    sources.TfdsSource('mnist', 'train', str(tmp_path), sources._image_label)
  message = str(error.value)
  assert '\n' not in message
  for part in ("config.data.name='mnist'", 'needs tensorflow', 'tfds build mnist',
               '--config.data.data_dir=DIR', '--config.data.path=FILE'):
    assert part in message


def _write_idx(path, array):
  codes = {np.dtype(np.uint8): 0x08}
  header = bytes([0, 0, codes[array.dtype], array.ndim])
  header += b''.join(int(n).to_bytes(4, 'big') for n in array.shape)
  with gzip.open(path, 'wb') as f:
    f.write(header + array.tobytes())


def test_local_idx_and_npz_files(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8)
  labels = rng.integers(0, 10, 30).astype(np.uint8)
  _write_idx(tmp_path / 'x-images-idx3-ubyte.gz', images)
  _write_idx(tmp_path / 'x-labels-idx1-ubyte.gz', labels)
  np.savez(tmp_path / 'x.npz', images=images[..., None], labels=labels)
  for path in ('x-images-idx3-ubyte.gz', 'x.npz'):
    loaded_images, loaded_labels = files.load(str(tmp_path / path))
    np.testing.assert_array_equal(loaded_images[..., 0], images)
    np.testing.assert_array_equal(loaded_labels, labels)
  config = data_config('mnist', path=str(tmp_path / 'x.npz'), valid_fraction=0.2)
  train, valid = sources.build(config)  # Fitted 28 -> 32 like TFDS MNIST.
  assert (len(train), len(valid)) == (24, 6) and train[0]['image'].shape == (32, 32, 1)
  np.savez(tmp_path / 'bad.npz', x=images)
  with pytest.raises(ValueError, match=r"lacks arrays \['images', 'labels'\]"):
    files.load(str(tmp_path / 'bad.npz'))
  with pytest.raises(ValueError, match='not an IDX file'):
    files.read_idx(str(tmp_path / 'x.npz'))


def test_local_files_get_the_datasets_image_fixes(tmp_path):
  """EMNIST's files are transposed and dSprites' hold 0/1 pixels, from TFDS or not."""
  images = np.zeros((4, 28, 28), np.uint8)
  images[:, 5, :] = 1  # A horizontal bar of 0/1 pixels.
  np.savez(tmp_path / 'x.npz', images=images, labels=np.arange(4))
  letters = sources._load(data_config('emnist/letters', path=str(tmp_path / 'x.npz')).data)
  assert letters[0]['image'][:, 5, 0].all() and not letters[0]['image'][5, 6:, 0].any()
  sprites = sources._load(data_config('dsprites', path=str(tmp_path / 'x.npz')).data)
  assert set(np.unique(sprites[0]['image'])) == {0, 255}
  with pytest.raises(ValueError, match='config.data.num_classes=3 does not fit the labels'):
    sources._load(data_config('mnist', path=str(tmp_path / 'x.npz'), num_classes=3).data)


def test_shuffle_seeds_give_unrelated_orders():
  """grain reshuffles epoch e with seed + e; without spreading, seed 1 would replay epoch 1."""
  source = counting_source(12)
  zero = pipeline.train_batches(source, 12, 0, process_index=0, process_count=1)
  one = pipeline.train_batches(source, 12, 1, process_index=0, process_count=1)
  assert not np.array_equal(one[0]['label'], zero[1]['label'])


@pytest.mark.skipif(not os.path.exists(MNIST_IMAGES), reason='needs ../shared/data/mnist')
def test_real_mnist_test_split_from_idx_files():
  config = data_config('mnist', path=MNIST_IMAGES, valid_fraction=0.2)
  train, valid = sources.build(config)
  assert (len(train), len(valid)) == (8_000, 2_000)
  labels = np.asarray([valid[i]['label'] for i in range(len(valid))])
  assert set(labels.tolist()) == set(range(10))
  assert 150 < np.bincount(labels).min() and np.bincount(labels).max() < 260
  image = train[0]['image']
  assert image.shape == (32, 32, 1) and image.max() > 200 and image[0].max() == 0


def test_digits_are_embedded_8x8_and_fitted_to_32():
  digits = sources.digits()
  assert len(digits) == 1797 and digits[0]['image'].shape == (8, 8, 1)
  train, _ = sources.build(data_config('digits'))
  example = train[0]
  assert example['image'].shape == (32, 32, 1) and example['image'].dtype == np.uint8
  assert example['image'].max() > 200 and example['image'].min() == 0


def test_amr_code_split_is_the_authors_mnist_cut():
  """docs/faithfulness.md#a4: RandomState(0).shuffle of 60k, training the first 50k, validation
  the rest."""
  train, valid = sources.split_indices(60_000, 0.1, 0, valid_size=10_000, method='amr_code')
  order = np.arange(60_000)
  np.random.RandomState(0).shuffle(order)  # task_launcher.py:58-62, get_shuffled_indices.
  np.testing.assert_array_equal(valid, order[50_000:])
  np.testing.assert_array_equal(train, order[:50_000])  # Their order: subsets are its prefix.
  default_train, _ = sources.split_indices(60_000, 0.1, 0, valid_size=10_000)
  assert len(default_train) == 50_000 and not np.array_equal(default_train, train)
  with pytest.raises(ValueError, match="config.data.split_method='torch' is not a split"):
    sources.split_indices(100, 0.1, 0, method='torch')


def labelled_source(n):
  """n 1x1 images whose label is their index, to follow examples through the pipeline."""
  return sources.ArraySource(np.zeros((n, 1, 1, 1), np.uint8), np.arange(n))


def test_epoch_batching_reshuffles_each_epoch_and_keeps_the_partial_batch():
  """docs/faithfulness.md#a10: as the AMR code's DataLoader: ceil(20 / 8) = 3 batches an epoch,
  8, 8, 4."""
  source = labelled_source(20)
  batches = pipeline.train_batches(source, 8, seed=3, process_index=0, process_count=1,
                                   batching='epoch')
  labels = [batches[i]['label'] for i in range(9)]
  assert [len(b) for b in labels] == [8, 8, 4] * 3
  epochs = [np.concatenate(labels[e * 3:(e + 1) * 3]) for e in range(3)]
  for epoch in epochs:
    assert sorted(epoch.tolist()) == list(range(20))  # Every example once an epoch.
  assert not np.array_equal(epochs[0], epochs[1])  # Reshuffled.
  again = pipeline.train_batches(source, 8, seed=3, process_index=0, process_count=1,
                                 batching='epoch')
  np.testing.assert_array_equal(again[7]['label'], labels[7])  # Random access: resumable.
  other = pipeline.train_batches(source, 8, seed=4, process_index=0, process_count=1,
                                 batching='epoch')
  assert not np.array_equal(other[0]['label'], labels[0])
  # Two processes hold the two halves of every global batch, the partial one included.
  halves = [pipeline.train_batches(source, 8, seed=3, process_index=p, process_count=2,
                                   batching='epoch')[2]['label'] for p in (0, 1)]
  np.testing.assert_array_equal(np.concatenate(halves), labels[2])
  with pytest.raises(ValueError, match="batching='epoch' ends each epoch with a batch of 2"):
    pipeline.train_batches(source, 6, seed=0, process_index=0, process_count=3,
                           batching='epoch')  # 6, 6, 6, 2: three processes cannot share 2.


def test_epoch_clock():
  """Epochs of 20 examples in batches of 8: 'epoch' 3 batches (8, 8, 4), 'stream' 2.5."""
  epoch = pipeline.EpochClock(20, 8, 'epoch')
  stream = pipeline.EpochClock(20, 8, 'stream')
  assert epoch.last_batch_size() == 4 and stream.last_batch_size() == 8
  assert [epoch.epochs_done(s) for s in range(7)] == [0, 0, 0, 1, 1, 1, 2]
  assert [stream.epochs_done(s) for s in range(7)] == [0, 0, 0, 1, 1, 2, 2]
  # The AMR code's (iter - 1) % gen_every counts from each epoch's first batch.
  assert [epoch.schedule_step(s) for s in range(7)] == [0, 1, 2, 0, 1, 2, 0]
  assert [stream.schedule_step(s) for s in range(7)] == list(range(7))
  assert epoch.train_steps(2) == 6 and stream.train_steps(2) == 5


def test_amr_code_subsets_are_the_first_n_of_the_authors_training_order():
  """task_launcher.py:544-552: Table 2's N examples are the first N of their training part."""
  config = data_config('lines', num_examples=2_000)
  config.data.split_method = 'amr_code'
  order = np.arange(2_000)
  np.random.RandomState(0).shuffle(order)
  train, valid = sources.build(config)
  np.testing.assert_array_equal(train.indices, order[:1_800])
  np.testing.assert_array_equal(valid.indices, order[1_800:])
  config.data.train_subset = 100
  subset, _ = sources.build(config)
  np.testing.assert_array_equal(subset.indices, order[:100])


def test_lines_are_an_endless_stream_of_fresh_lines_that_resumes():
  """ACAI draws a fresh line for every training example, forever (lib/data.py:115-131); ours
  are drawn from their index, so a resumed run reads the batches it would have read."""
  config = data_config('lines')  # num_examples = 0: the stream.
  train, valid = sources.build(config)
  assert len(valid) == sources.STREAM_VALID == 5_000  # ACAI's test lines (lib/data.py:335).
  assert sources.endless(len(train)) and not sources.endless(len(valid))
  assert 'an endless stream of fresh examples / 5000 valid' in sources.describe(
      config, train, valid)
  # ACAI's run of 2^24 lines is a vanishing share of the stream: its shuffle never wraps.
  assert len(train) > 10**9 * lines_config.TOTAL_STEPS * config.batch_size
  # Validation holds the stream's first lines, training the rest: lines 5,000 onwards.
  stream = procedural.LinesSource(sources.STREAM_LENGTH, config.data.procedural_seed)
  assert valid[17]['angle'] == stream[17]['angle']
  np.testing.assert_array_equal(train[0]['image'], stream[5_000]['image'])
  batches = pipeline.train_batches(train, 16, seed=3, process_index=0, process_count=1)
  straight = pipeline.iterate(batches)
  seen = [next(straight) for _ in range(12)]
  angles = np.concatenate([b['angle'] for b in seen]).tolist()
  assert len(set(angles)) == len(angles) == 12 * 16  # No line twice.
  assert not set(angles) & {np.float32(stream.angle(i)) for i in range(len(valid))}
  resumed = pipeline.iterate(batches, start=7)
  for step in range(7, 12):
    np.testing.assert_array_equal(next(resumed)['image'], seen[step]['image'])
  other = pipeline.train_batches(train, 16, seed=4, process_index=0, process_count=1)[0]
  assert not set(other['angle'].tolist()) & set(angles)  # Another run seed, other lines.


def test_the_lines_stream_refuses_what_needs_epochs():
  config = data_config('lines')
  train, _ = sources.build(config)
  with pytest.raises(ValueError, match="batching='epoch' needs epochs"):
    pipeline.train_batches(train, 16, seed=0, process_index=0, process_count=1,
                           batching='epoch')
  clock = pipeline.EpochClock(len(train), 64)
  with pytest.raises(ValueError, match='set config.num_train_steps'):
    clock.train_steps(1.0)
  with pytest.raises(ValueError, match="use 'N steps'"):
    clock.epochs_done(10)
  config.data.train_subset = 100
  with pytest.raises(ValueError, match='config.data.train_subset=100 needs a finite'):
    sources.build(config)
  config.data.train_subset, config.data.valid_size = 0, -1
  with pytest.raises(ValueError, match='config.data.valid_size=-1 must be >= 1, or 0'):
    sources.build(config)
  config.data.valid_size, config.data.num_examples = 0, 300  # A fixed set: split 90/10.
  train, valid = sources.build(config)
  assert (len(train), len(valid)) == (270, 30)
