"""Local files as each dataset is distributed (mixres/data/files.py): KMNIST's npz pair, SVHN's
.mat, CIFAR-10's binary archive, each written here in its official layout; and the one-line
refusal of a wrong file, before any work and without touching it."""

import io
import pickle
import tarfile

import numpy as np
from scipy import io as scipy_io

from configs import base
from mixres import train
from mixres.data import files
from mixres.data import sources


def data_config(name, **fields):
  config = base.get_config()
  config.data.name = name
  config.data.update(fields)
  return config


def random_images(n, shape, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype(np.uint8)


def write_kmnist(directory, images, labels, prefix='kmnist-train'):
  """The official pair's layout: one unnamed array (arr_0) per file, compressed."""
  np.savez_compressed(directory / f'{prefix}-imgs.npz', images)
  np.savez_compressed(directory / f'{prefix}-labels.npz', labels)
  return directory / f'{prefix}-imgs.npz'


def write_svhn(path, images, labels):
  """The official layout: 'X' (32, 32, 3, N) uint8, 'y' (N, 1) uint8 with 10 for the digit 0."""
  scipy_io.savemat(path, {'X': images.transpose(1, 2, 3, 0), 'y': labels[:, None]})
  return path


def cifar_batch(images, labels):
  """CIFAR-10 binary records: a label byte, then the image's 3072 bytes channel-major (CHW)."""
  return b''.join(bytes([label]) + image.transpose(2, 0, 1).tobytes()
                  for image, label in zip(images, labels))


def write_tar(path, members):
  with tarfile.open(path, 'w:gz') as archive:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      archive.addfile(info, io.BytesIO(data))
  return path


def cifar_archive(path, images, labels, drop=(), cut=()):
  """cifar-10-binary.tar.gz: data_batch_1..5.bin (2 records each, in order), test_batch.bin (the
  last 3); batches named in `drop` left out, those in `cut` one byte short."""
  batches = {f'data_batch_{i + 1}.bin': slice(2 * i, 2 * i + 2) for i in range(5)}
  batches['test_batch.bin'] = slice(10, 13)
  members = {'cifar-10-batches-bin/batches.meta.txt': b'airplane\nautomobile\n'}
  for name, part in batches.items():
    if name not in drop:
      data = cifar_batch(images[part], labels[part])
      members[f'cifar-10-batches-bin/{name}'] = data[:-1] if name in cut else data
  return write_tar(path, members)


def test_kmnist_npz_pair_round_trips_and_trains(tmp_path):
  images, labels = random_images(10, (28, 28)), np.arange(10, dtype=np.uint8)
  path = write_kmnist(tmp_path, images, labels)
  loaded, loaded_labels = files.load(str(path))  # Labels: kmnist-train-labels.npz beside it.
  np.testing.assert_array_equal(loaded, images[..., None])
  np.testing.assert_array_equal(loaded_labels, labels)
  (tmp_path / 'kmnist-train-labels.npz').rename(tmp_path / 'labels.npz')
  _, named_labels = files.load(str(path), str(tmp_path / 'labels.npz'))
  np.testing.assert_array_equal(named_labels, labels)
  config = data_config('kmnist', path=str(path), labels_path=str(tmp_path / 'labels.npz'),
                       valid_size=2)
  train_source, valid_source = sources.build(config)  # 28 -> 32 as TFDS KMNIST is fitted.
  assert (len(train_source), len(valid_source)) == (8, 2)
  assert train_source[0]['image'].shape == (32, 32, 1)


def test_svhn_mat_round_trips_with_10_as_0_and_trains(tmp_path):
  images = random_images(5, (32, 32, 3))
  path = write_svhn(tmp_path / 'train_32x32.mat', images,
                    np.array([10, 1, 2, 10, 9], np.uint8))
  loaded, labels = files.load(str(path))
  np.testing.assert_array_equal(loaded, images)  # (32, 32, 3, N) -> (N, 32, 32, 3).
  np.testing.assert_array_equal(labels, [0, 1, 2, 0, 9])
  train_source, _ = sources.build(data_config('svhn_cropped', path=str(path), valid_size=1))
  assert len(train_source) == 4 and train_source[0]['image'].shape == (32, 32, 3)


def test_cifar_binary_archive_round_trips_each_split_and_trains(tmp_path):
  images, labels = random_images(13, (32, 32, 3)), np.arange(13, dtype=np.uint8) % 10
  path = str(cifar_archive(tmp_path / 'cifar-10-binary.tar.gz', images, labels))
  for split, part in (('train', slice(0, 10)), ('test', slice(10, 13))):
    loaded, loaded_labels = files.load(path, split=split)  # CHW records -> HWC, batches 1..5.
    np.testing.assert_array_equal(loaded, images[part])
    np.testing.assert_array_equal(loaded_labels, labels[part])
  (tmp_path / 'test_batch.bin').write_bytes(cifar_batch(images[10:], labels[10:]))
  loaded, loaded_labels = files.load(str(tmp_path / 'test_batch.bin'))  # An extracted batch.
  np.testing.assert_array_equal(loaded, images[10:])
  np.testing.assert_array_equal(loaded_labels, labels[10:])
  train_source, valid_source = sources.build(
      data_config('cifar10', path=path, train_split='test', valid_size=1))
  assert (len(train_source), len(valid_source)) == (2, 1)


class _Touch:
  """Unpickled, opens (creates) a file: what a pickled download could do."""

  def __init__(self, path):
    self.path = path

  def __reduce__(self):
    return open, (self.path, 'w')


def _bad_files(tmp_path):
  """name -> (config.data overrides, what the one-line error must say) for each wrong file."""
  images, labels = random_images(13, (32, 32, 3)), np.arange(13, dtype=np.uint8) % 10
  np.savez(tmp_path / 'pair-imgs.npz', images[..., 0], labels)  # arr_0 and arr_1.
  write_kmnist(tmp_path, images[..., 0], labels, prefix='lone')
  (tmp_path / 'lone-labels.npz').rename(tmp_path / 'lone-labels-only.npz')
  write_kmnist(tmp_path, images[..., 0], labels, prefix='full')
  np.savez(tmp_path / 'full-labels.npz', images=images, labels=labels)
  scipy_io.savemat(tmp_path / 'named.mat', {'images': images, 'labels': labels})
  scipy_io.savemat(tmp_path / 'float.mat', {'X': images.transpose(1, 2, 3, 0) / 255.0,
                                            'y': labels[:, None]})
  (tmp_path / 'notes.mat').write_text('not matlab\n')
  cifar_archive(tmp_path / 'short.tar.gz', images, labels, cut=('data_batch_3.bin',))
  cifar_archive(tmp_path / 'no-test.tar.gz', images, labels, drop=('test_batch.bin',))
  cifar_archive(tmp_path / 'cifar-10-binary.tar.gz', images, labels)
  write_tar(tmp_path / 'cifar-10-python.tar.gz', {
      f'cifar-10-batches-py/{name}': pickle.dumps(_Touch(str(tmp_path / 'unpickled')))
      for name in ('data_batch_1', 'test_batch')})
  (tmp_path / 'notes.tar.gz').write_text('not an archive\n')
  write_svhn(tmp_path / 'train_32x32.mat', images, labels)
  d = {p.name: str(p) for p in tmp_path.iterdir()}
  return {
      'npz of two unnamed arrays': (
          dict(name='kmnist', path=d['pair-imgs.npz']),
          "config.data.path={path!r}: lacks arrays ['images', 'labels']; it has ['arr_0', "
          "'arr_1'] (expected \"images\" and \"labels\", or one array arr_0"),
      'KMNIST labels as the images': (
          dict(name='kmnist', path=d['lone-labels-only.npz']),
          "config.data.path={path!r}: its one array arr_0 has shape (13,); expected images "
          '(N, H, W)'),
      'KMNIST images without labels': (
          dict(name='kmnist', path=d['lone-imgs.npz']),
          f"config.data.labels_path={str(tmp_path / 'lone-labels.npz')!r}: no such file "
          '(derived from config.data.path; set config.data.labels_path)'),
      'KMNIST labels file of images and labels': (
          dict(name='kmnist', path=d['full-imgs.npz']),
          f"config.data.labels_path={d['full-labels.npz']!r}: holds \"images\" and \"labels\"; "
          'expected one array arr_0 of labels'),
      '.mat without X and y': (
          dict(name='svhn_cropped', path=d['named.mat']),
          "config.data.path={path!r}: lacks variables ['X', 'y'] (expected SVHN's \"X\" "
          '(32, 32, 3, N) uint8 and "y" (N, 1))'),
      '.mat of float images': (
          dict(name='svhn_cropped', path=d['float.mat']),
          'config.data.path={path!r}: holds "X" float64 (32, 32, 3, 13) and "y" (13, 1); '
          "expected SVHN's"),
      'text named .mat': (
          dict(name='svhn_cropped', path=d['notes.mat']),
          'config.data.path={path!r}: not a MATLAB file scipy.io.loadmat reads ('),
      '.mat with a labels_path': (
          dict(name='svhn_cropped', path=d['train_32x32.mat'], labels_path=d['notes.mat']),
          "config.data.labels_path={labels_path!r} is not used: config.data.path={path!r} "
          'holds its own labels'),
      'CIFAR batch one byte short': (
          dict(name='cifar10', path=d['short.tar.gz']),
          'config.data.path={path!r}: data_batch_3.bin holds 6145 bytes, not whole 3073-byte '
          'records'),
      'CIFAR archive without the test batch': (
          dict(name='cifar10', path=d['no-test.tar.gz'], train_split='test'),
          "config.data.path={path!r}: lacks ['test_batch.bin']; expected CIFAR-10's binary "
          'version cifar-10-binary.tar.gz'),
      'CIFAR archive with a TFDS split': (
          dict(name='cifar10', path=d['cifar-10-binary.tar.gz'], train_split='train[:90%]'),
          "config.data.train_split='train[:90%]' must be one of train, test with the CIFAR-10 "
          'archive config.data.path={path!r}'),
      "CIFAR-10's python (pickle) archive": (
          dict(name='cifar10', path=d['cifar-10-python.tar.gz']),
          "config.data.path={path!r}: CIFAR-10's python version, whose batches are pickles, "
          'which mixres does not load (unpickling a download can run any code); download the '
          'binary version, cifar-10-binary.tar.gz'),
      'text named .tar.gz': (
          dict(name='cifar10', path=d['notes.tar.gz']),
          'config.data.path={path!r}: not a readable tar archive ('),
  }


def test_every_wrong_file_is_one_line_naming_it_before_work_and_left_as_it_was(tmp_path):
  bad = _bad_files(tmp_path)
  before = {p: p.read_bytes() for p in tmp_path.iterdir()}
  failures = []
  for i, (case, (fields, expected)) in enumerate(bad.items()):
    workdir = tmp_path / f'run{i}'
    try:
      train.Experiment(data_config(**fields), str(workdir))
    except (ValueError, FileNotFoundError) as error:
      message = str(error)
      expected = expected.format(path=fields['path'], labels_path=fields.get('labels_path'))
      if expected not in message or '\n' in message or workdir.exists():
        failures.append((case, message))
    else:
      failures.append((case, 'accepted'))
  assert not failures, failures
  assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before  # Nothing written or lost.
  assert not (tmp_path / 'unpickled').exists()  # Nothing was unpickled.
