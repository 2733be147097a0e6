"""Local image files for users who have the data but no TFDS: IDX (the MNIST format) and .npz.

  --config.data.path=/data/train-images-idx3-ubyte.gz   (labels: the matching labels-idx1 file)
  --config.data.path=/data/mydata.npz                   (arrays 'images' and 'labels')
"""

import gzip
import os
import zipfile

import numpy as np

from mixres import faults

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}


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
    raise ValueError(f'config.data.{field}={path!r}: not an IDX file (bad magic number; '
                     'expected IDX or an .npz archive)')
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


def _read_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
  """(images, labels) of an .npz archive; one line naming the field for anything else."""
  try:
    arrays = np.load(path, allow_pickle=False)
    if isinstance(arrays, np.lib.npyio.NpzFile):
      with arrays:
        missing = {'images', 'labels'} - set(arrays.files)
        if missing:
          raise ValueError(f'config.data.path={path!r}: lacks arrays {sorted(missing)}; it has '
                           f'{sorted(arrays.files)} (expected "images" and "labels")')
        return arrays['images'], arrays['labels']
  except ValueError as error:  # E.g. a text file: numpy's "pickled data" message.
    if str(error).startswith('config.'):
      raise
    failure = error
  except (OSError, EOFError, zipfile.BadZipFile) as error:
    failure = error
  else:  # A single .npy array named .npz.
    raise ValueError(f'config.data.path={path!r}: a single .npy array, not an npz archive of '
                     '"images" and "labels"')
  # numpy says "pickled data" for a text file; the user needs to know it is not an archive.
  detail = '' if isinstance(failure, ValueError) else f' ({faults.first_line(failure)})'
  raise ValueError(f'config.data.path={path!r}: not an npz archive (np.savez of "images" and '
                   f'"labels"){detail}') from None


def idx_labels_path(images_path: str) -> str:
  """The labels file beside an images file: '...-images-idx3-ubyte.gz' -> '...-labels-idx1-...'."""
  directory, name = os.path.split(images_path)
  for images, labels in (('images-idx3', 'labels-idx1'), ('images.idx3', 'labels.idx1')):
    if images in name:
      return os.path.join(directory, name.replace(images, labels))
  raise ValueError(f'config.data.labels_path is needed: no labels file can be derived from '
                   f'config.data.path={images_path!r} (expected a name with "images-idx3")')


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


def load(path: str, labels_path: str = '') -> tuple[np.ndarray, np.ndarray]:
  """(images (N, H, W, C) uint8, labels (N,) int32) from an IDX pair or an .npz file."""
  is_npz = path.endswith('.npz')
  if not is_npz:
    labels_path = labels_path or idx_labels_path(path)
  for field, p in (('path', path), ('labels_path', labels_path)):
    if p and not os.path.isfile(p):
      raise FileNotFoundError(f'config.data.{field}={p!r}: no such file')
  if is_npz:
    images, labels = _read_npz(path)
  else:
    images = read_idx(path)
    labels = read_idx(labels_path, 'labels_path')
  images = _as_images(images, path)
  if labels.shape != (len(images),):
    raise ValueError(f'config.data.path: {len(images)} images but labels of shape '
                     f'{labels.shape}')
  return images, labels.astype(np.int32)
