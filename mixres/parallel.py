"""Device mesh and shardings: one 'data' axis; params replicated, batches split along it.

The same `jax.jit` step runs on one CPU, several GPUs and a multi-host TPU slice: each process
reads its share of every global batch and `jax.make_array_from_process_local_data` assembles the
global array, so no code path depends on the device count.
"""

import collections
from typing import Any, Iterator

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def make_mesh(num_devices: int = 0) -> Mesh:
  """A 1-D ('data',) mesh over every device, or over the first `num_devices` (single host)."""
  devices = jax.devices()
  if num_devices:
    if num_devices > len(devices) or jax.process_count() > 1:
      raise ValueError(f'config.num_devices={num_devices} must be 0 (all) or at most the '
                       f'{len(devices)} devices of this single-host run')
    devices = devices[:num_devices]
  return Mesh(np.asarray(devices), ('data',))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P('data'))


def check_batch_size(batch_size: int, mesh: Mesh, field: str = 'config.batch_size') -> None:
  if batch_size % mesh.size:
    raise ValueError(f'{field}={batch_size} must be divisible by the {mesh.size} devices of '
                     'the mesh')


def to_global(mesh: Mesh, local_batch: Any) -> Any:
  """This process's rows of a batch -> global arrays split over the mesh's 'data' axis."""
  sharding = data_sharded(mesh)
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x),
                      local_batch)


def process_rows(global_batch: Any) -> Any:
  """This process's contiguous share of a batch that every process holds whole (evaluation)."""
  def rows(x):
    per_process = x.shape[0] // jax.process_count()
    return x[jax.process_index() * per_process:(jax.process_index() + 1) * per_process]
  return jax.tree.map(rows, global_batch)


def prefetch_to_mesh(batches: Iterator[Any], mesh: Mesh, size: int = 2) -> Iterator[Any]:
  """Puts the next `size` batches on the devices while the current step runs."""
  queue = collections.deque()
  for batch in batches:
    queue.append(to_global(mesh, batch))
    if len(queue) > size:
      yield queue.popleft()
  while queue:
    yield queue.popleft()
