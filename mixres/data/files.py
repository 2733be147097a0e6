"""Local image files, as each dataset is distributed, for users who have the data but no TFDS.

config.data.path picks the file and its name the reader (config.data.name the dataset it holds):

  IDX, optionally gzipped, as MNIST, Fashion-MNIST, KMNIST and EMNIST are distributed:
    --config.data.path=/data/train-images-idx3-ubyte.gz   (labels: the matching labels-idx1 file)
  .npz with arrays 'images' and 'labels':
    --config.data.path=/data/mydata.npz
  .npz of one unnamed array arr_0 with the labels in a second one, as KMNIST's npz files are:
    --config.data.path=/data/kmnist-train-imgs.npz        (labels: kmnist-train-labels.npz)
  SVHN's cropped digits, a MATLAB file read with scipy.io.loadmat:
    --config.data.path=/data/train_32x32.mat
  CIFAR-10's binary version, the archive (config.data.train_split: 'train' or 'test') or a batch:
    --config.data.path=/data/cifar-10-binary.tar.gz

Nothing here unpickles a file: np.load runs with allow_pickle=False, and CIFAR-10's python
version, whose batches are pickles (unpickling a download can run any code), is refused.
"""

import gzip
import os
import tarfile
import zipfile
import zlib

import numpy as np

from mixres import faults

# What config.data.path can be, for the errors that list the choices.
FORMATS = ('IDX images as MNIST is distributed, an .npz of "images" and "labels" or KMNIST\'s '
           '-imgs.npz/-labels.npz pair, SVHN\'s _32x32.mat, or CIFAR-10\'s binary version '
           'cifar-10-binary.tar.gz')

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}

# (in an images file's name, in its labels file's name): IDX, and KMNIST's npz pair.
_LABELS_NAMES = (('images-idx3', 'labels-idx1'), ('images.idx3', 'labels.idx1'),
                 ('-imgs.', '-labels.'))

CIFAR_RECORD = 1 + 3 * 32 * 32  # A label byte, then the red, green and blue 32x32 planes.
# config.data.train_split -> the batches of CIFAR-10's binary archive that make it, in order.
CIFAR_BATCHES = {'train': tuple(f'data_batch_{i}.bin' for i in range(1, 6)),
                 'test': ('test_batch.bin',)}
_CIFAR_ARCHIVES = ('.tar.gz', '.tgz', '.tar')


def read_idx(path: str, field: str = 'path') -> np.ndarray:
  """An IDX file (optionally gzipped) -> its array, e.g. (N, 28, 28) uint8 or (N,) uint8.

  `field` ('path' or 'labels_path') names the config field in the one-line errors.
  """
  opener = gzip.open if path.endswith('.gz') else open
  try:
    with opener(path, 'rb') as f:
      data = f.read()
  except (OSError, EOFError) as error:  # Not gzip, truncated, unreadable.
    raise ValueError(f'config.data.{field}={path!r}: not a readable IDX file '
                     f'({faults.first_line(error)})') from None
  if len(data) < 4 or data[0] or data[1] or data[2] not in _IDX_DTYPES:
    raise ValueError(f'config.data.{field}={path!r}: not an IDX file (bad magic number); '
                     f'expected {FORMATS}')
  ndim = data[3]
  header = 4 + 4 * ndim
  shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
  itemsize = np.dtype(_IDX_DTYPES[data[2]]).itemsize
  if len(data) < header or (len(data) - header) % itemsize:
    raise ValueError(f'config.data.{field}={path!r}: a truncated IDX file ({len(data)} bytes)')
  array = np.frombuffer(data, _IDX_DTYPES[data[2]], offset=header)
  if array.size != int(np.prod(shape)):
    raise ValueError(f'config.data.{field}={path!r}: holds {array.size} values, its header '
                     f'says {shape}')
  return array.reshape(shape)


def _read_npz(path: str, field: str = 'path') -> dict[str, np.ndarray]:
  """{'images', 'labels'} or KMNIST's one unnamed {'arr_0'} of an .npz archive; one line naming
  the field for anything else."""
  try:
    arrays = np.load(path, allow_pickle=False)
    if isinstance(arrays, np.lib.npyio.NpzFile):
      with arrays:
        names = set(arrays.files)
        if names == {'arr_0'}:
          return {'arr_0': arrays['arr_0']}
        missing = {'images', 'labels'} - names
        if missing:
          raise ValueError(f'config.data.{field}={path!r}: lacks arrays {sorted(missing)}; it has '
                           f'{sorted(names)} (expected "images" and "labels", or one array arr_0 '
                           'as in KMNIST\'s -imgs.npz and -labels.npz)')
        return {'images': arrays['images'], 'labels': arrays['labels']}
  except ValueError as error:  # E.g. a text file: numpy's "pickled data" message.
    if str(error).startswith('config.'):
      raise
    failure = error
  except (OSError, EOFError, zipfile.BadZipFile) as error:
    failure = error
  else:  # A single .npy array named .npz.
    raise ValueError(f'config.data.{field}={path!r}: a single .npy array, not an npz archive of '
                     '"images" and "labels"')
  # numpy says "pickled data" for a text file; the user needs to know it is not an archive.
  detail = '' if isinstance(failure, ValueError) else f' ({faults.first_line(failure)})'
  raise ValueError(f'config.data.{field}={path!r}: not an npz archive (np.savez of "images" and '
                   f'"labels"){detail}') from None


def labels_path_beside(images_path: str) -> str:
  """The labels file beside an images file: '...-images-idx3-ubyte.gz' -> '...-labels-idx1-...',
  'kmnist-train-imgs.npz' -> 'kmnist-train-labels.npz'."""
  directory, name = os.path.split(images_path)
  for images, labels in _LABELS_NAMES:
    if images in name:
      return os.path.join(directory, name.replace(images, labels))
  raise ValueError(f'config.data.labels_path is needed: no labels file can be derived from '
                   f'config.data.path={images_path!r} (expected a name with "images-idx3" or '
                   '"-imgs.")')


def _check_file(field: str, path: str, derived: bool = False) -> None:
  if not os.path.isfile(path):
    how = ' (derived from config.data.path; set config.data.labels_path)' if derived else ''
    raise FileNotFoundError(f'config.data.{field}={path!r}: no such file{how}')


def _refuse_labels_path(labels_path: str, path: str) -> None:
  if labels_path:
    raise ValueError(f'config.data.labels_path={labels_path!r} is not used: config.data.path='
                     f'{path!r} holds its own labels; set labels_path to \'\'')


def _labels_file(path: str, labels_path: str) -> str:
  """The labels file of an images-only file: config.data.labels_path or the one beside it."""
  labels_path, derived = labels_path or labels_path_beside(path), not labels_path
  _check_file('labels_path', labels_path, derived)
  return labels_path


def _load_npz(path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
  """An .npz of images and labels, or KMNIST's pair: images here, labels in labels_path."""
  arrays = _read_npz(path)
  if 'images' in arrays:
    _refuse_labels_path(labels_path, path)
    return arrays['images'], arrays['labels']
  if arrays['arr_0'].ndim < 3:  # E.g. path set to KMNIST's labels file.
    raise ValueError(f'config.data.path={path!r}: its one array arr_0 has shape '
                     f'{arrays["arr_0"].shape}; expected images (N, H, W), as in KMNIST\'s '
                     '-imgs.npz (the -labels.npz goes in config.data.labels_path)')
  labels_path = _labels_file(path, labels_path)  # KMNIST: the labels are in a second file.
  labels = _read_npz(labels_path, 'labels_path')
  if 'arr_0' not in labels:
    raise ValueError(f'config.data.labels_path={labels_path!r}: holds "images" and "labels"; '
                     'expected one array arr_0 of labels, as in KMNIST\'s -labels.npz')
  return arrays['arr_0'], labels['arr_0']


def _read_svhn_mat(path: str) -> tuple[np.ndarray, np.ndarray]:
  """SVHN's train_32x32.mat / test_32x32.mat: 'X' (32, 32, 3, N) uint8, 'y' (N, 1) 1..10."""
  from scipy import io  # Imported here: only .mat files need scipy.
  try:
    mat = io.loadmat(path, variable_names=('X', 'y'))
  except Exception as error:  # scipy raises many types for a file it cannot parse.
    raise ValueError(f'config.data.path={path!r}: not a MATLAB file scipy.io.loadmat reads '
                     f'({faults.first_line(error)}); expected SVHN\'s train_32x32.mat or '
                     'test_32x32.mat') from None
  expected = 'expected SVHN\'s "X" (32, 32, 3, N) uint8 and "y" (N, 1)'
  missing = [name for name in ('X', 'y') if name not in mat]
  if missing:
    raise ValueError(f'config.data.path={path!r}: lacks variables {missing} ({expected})')
  x, y = mat['X'], mat['y']
  if x.ndim != 4 or x.dtype != np.uint8 or y.size != x.shape[-1]:
    raise ValueError(f'config.data.path={path!r}: holds "X" {x.dtype} {x.shape} and "y" '
                     f'{y.shape}; {expected}')
  images = np.ascontiguousarray(x.transpose(3, 0, 1, 2))  # (H, W, C, N) -> (N, H, W, C)
  labels = y.reshape(-1).astype(np.int32)
  return images, np.where(labels == 10, 0, labels)  # SVHN labels the digit 0 as 10.


def _cifar_records(data: bytes, path: str, name: str) -> tuple[np.ndarray, np.ndarray]:
  """The images (N, 32, 32, 3) and labels (N,) of a CIFAR-10 binary batch `name`."""
  if not data or len(data) % CIFAR_RECORD:
    raise ValueError(f'config.data.path={path!r}: {name} holds {len(data)} bytes, not whole '
                     f'{CIFAR_RECORD}-byte records (a label byte and a 3x32x32 image, as in '
                     'CIFAR-10\'s binary version)')
  records = np.frombuffer(data, np.uint8).reshape(-1, CIFAR_RECORD)
  images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW -> HWC
  return np.ascontiguousarray(images), records[:, 0]


def _read_cifar_archive(path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """The batches of `split` from CIFAR-10's binary archive (cifar-10-binary.tar.gz)."""
  if split not in CIFAR_BATCHES:
    raise ValueError(f'config.data.train_split={split!r} must be one of '
                     f'{", ".join(CIFAR_BATCHES)} with the CIFAR-10 archive config.data.path='
                     f'{path!r}')
  wanted, found, names = CIFAR_BATCHES[split], {}, []
  try:
    # One pass in archive order: a gzip stream cannot seek back without reading it again.
    with tarfile.open(path) as archive:
      for member in archive:
        names.append(os.path.basename(member.name))
        if member.isfile() and names[-1] in wanted:
          found[names[-1]] = archive.extractfile(member).read()
  except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
    raise ValueError(f'config.data.path={path!r}: not a readable tar archive '
                     f'({faults.first_line(error)}); expected {FORMATS}') from None
  if 'data_batch_1' in names or 'test_batch' in names:  # cifar-10-batches-py/: pickles.
    raise ValueError(f'config.data.path={path!r}: CIFAR-10\'s python version, whose batches are '
                     'pickles, which mixres does not load (unpickling a download can run any '
                     'code); download the binary version, cifar-10-binary.tar.gz, and use that')
  missing = [name for name in wanted if name not in found]
  if missing:
    raise ValueError(f'config.data.path={path!r}: lacks {missing}; expected CIFAR-10\'s binary '
                     'version cifar-10-binary.tar.gz (cifar-10-batches-bin/data_batch_1..5.bin '
                     'and test_batch.bin)')
  parts = [_cifar_records(found[name], path, name) for name in wanted]
  return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _as_images(images: np.ndarray, path: str) -> np.ndarray:
  if images.dtype != np.uint8:
    raise ValueError(f'config.data.path: images in {path} must be uint8 in [0, 255], got '
                     f'{images.dtype}')
  if images.ndim == 3:
    images = images[..., None]  # (N, H, W) -> (N, H, W, 1)
  if images.ndim != 4:
    raise ValueError(f'config.data.path: images in {path} must be (N, H, W) or (N, H, W, C), '
                     f'got shape {images.shape}')
  return images


def load(path: str, labels_path: str = '', split: str = 'train'
         ) -> tuple[np.ndarray, np.ndarray]:
  """(images (N, H, W, C) uint8, labels (N,) int32) from a file in any of the module's formats.

  Args:
    labels_path: IDX and KMNIST .npz images only; '' derives it from `path`.
    split: which part of the CIFAR-10 archive: 'train' or 'test' (config.data.train_split).
  """
  _check_file('path', path)
  name = path.lower()
  if name.endswith('.npz'):
    images, labels = _load_npz(path, labels_path)
  elif name.endswith(('.mat', '.bin', *_CIFAR_ARCHIVES)):
    _refuse_labels_path(labels_path, path)
    if name.endswith('.mat'):
      images, labels = _read_svhn_mat(path)
    elif name.endswith('.bin'):  # One batch of the extracted archive.
      with open(path, 'rb') as f:
        images, labels = _cifar_records(f.read(), path, os.path.basename(path))
    else:
      images, labels = _read_cifar_archive(path, split)
  else:
    labels_path = _labels_file(path, labels_path)
    images, labels = read_idx(path), read_idx(labels_path, 'labels_path')
  images = _as_images(images, path)
  if labels.shape != (len(images),):
    raise ValueError(f'config.data.path: {len(images)} images but labels of shape '
                     f'{labels.shape}')
  return images, labels.astype(np.int32)
