"""Device mesh and shardings: one 'data' axis; params replicated, batches split along it.

The same `jax.jit` step runs on one CPU, several GPUs and a multi-host TPU slice: each process
reads its share of every global batch and `jax.make_array_from_process_local_data` assembles the
global array, so no code path depends on the device count.
"""

import collections
import itertools
import os
from typing import Any, Iterator

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


# What each --distributed flag falls back to when not given. JAX itself reads only the first;
# the other two follow its naming so that one launcher script can set all three.
DISTRIBUTED_ENV = {'coordinator_address': 'JAX_COORDINATOR_ADDRESS',
                   'num_processes': 'JAX_NUM_PROCESSES', 'process_id': 'JAX_PROCESS_ID'}


def distributed_args(coordinator_address: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None,
                     environ: dict[str, str] | None = None) -> dict[str, Any]:
  """`jax.distributed.initialize` keyword arguments from flags, else the environment.

  All three unset: {} (a managed cluster, e.g. TPU, Slurm or Open MPI, supplies them). Raises
  ValueError, naming the flag, for a combination that cannot start outside such a cluster.
  """
  environ = os.environ if environ is None else environ
  given = {'coordinator_address': coordinator_address, 'num_processes': num_processes,
           'process_id': process_id}
  args = {}
  for name, value in given.items():
    source = f'--{name}'
    if value is None and environ.get(DISTRIBUTED_ENV[name], '').strip():
      value, source = environ[DISTRIBUTED_ENV[name]].strip(), DISTRIBUTED_ENV[name]
    if value is None:
      continue
    if name == 'coordinator_address':
      host, _, port = str(value).rpartition(':')
      if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f'{source}={value} must be HOST:PORT, the address of process 0 and a '
                         'free port on it (e.g. localhost:12345)')
    else:
      try:
        value = int(value)
      except ValueError:
        raise ValueError(f'{source}={value} must be an integer') from None
    args[name] = value
  if args and len(args) < 3:
    missing = ', '.join(f'--{n} (or {DISTRIBUTED_ENV[n]})' for n in given if n not in args)
    raise ValueError(f'--distributed outside a managed cluster needs all of --coordinator_address, '
                     f'--num_processes and --process_id; missing {missing}')
  if args and args['num_processes'] < 1:
    raise ValueError(f'--num_processes={args["num_processes"]} must be >= 1')
  if args and not 0 <= args['process_id'] < args['num_processes']:
    raise ValueError(f'--process_id={args["process_id"]} must be in [0, '
                     f'{args["num_processes"]}) (--num_processes={args["num_processes"]})')
  return args


def make_mesh(num_devices: int = 0) -> Mesh:
  """A 1-D ('data',) mesh over every device, or over the first `num_devices` (single host)."""
  devices = jax.devices()
  if num_devices:
    if num_devices > len(devices) or jax.process_count() > 1:
      raise ValueError(f'config.num_devices={num_devices} must be 0 (all) or at most the '
                       f'{len(devices)} devices of this single-host run')
    devices = devices[:num_devices]
  return Mesh(np.asarray(devices), ('data',))


# How long a process waits at a barrier for the slowest one (e.g. still loading a large dataset)
# before the run fails.
BARRIER_TIMEOUT_SECONDS = 30 * 60
_barriers = itertools.count()  # Every process passes the same barriers in the same order.


def barrier(name: str) -> None:
  """Waits until every process of a distributed run gets here (one process: returns at once).

  The coordination service's barrier, not a collective (`multihost_utils.sync_global_devices`
  is an all-reduce, bound by the collectives' deadlines; see `connect_processes`).
  """
  if jax.process_count() == 1:
    return
  from jax._src import distributed  # The coordination client; JAX has no public barrier.
  distributed.global_state.client.wait_at_barrier(f'mixres/{next(_barriers)}/{name}',
                                                  BARRIER_TIMEOUT_SECONDS * 1000)


def connect_processes(mesh: Mesh) -> None:
  """Opens the connections of the processes' collectives while they are together (one
  process: nothing to do); before any other collective of the run.

  XLA:CPU's gloo collectives connect at a run's first collective and give a late process a
  fixed 30 s to join; a compilation slowed by a busy host takes longer, and the process that
  compiled first then fails in the train step's first all-reduce. Later collectives reuse the
  connections and wait for a late process (tests/test_multihost.py lags one by 35 s; 240 s
  passed too). So the processes first meet at `barrier`, then sum one number per device over
  the mesh.
  """
  if jax.process_count() == 1:
    return
  barrier('connect')
  ones = to_global(mesh, np.ones(mesh.local_mesh.size, np.int32))
  total = int(jax.jit(lambda x: x.sum(), out_shardings=replicated(mesh))(ones))
  if total != mesh.size:
    raise RuntimeError(f'{total} of the {mesh.size} devices answered the first collective')


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P('data'))


def check_batch_size(batch_size: int, mesh: Mesh, field: str = 'config.batch_size') -> None:
  if batch_size % mesh.size:
    raise ValueError(f'{field}={batch_size} must be divisible by the {mesh.size} devices of '
                     'the mesh')


def stacked_data_sharded(mesh: Mesh) -> NamedSharding:
  """Batches stacked (steps, batch, ...) for one call of several steps: split along axis 1."""
  return NamedSharding(mesh, P(None, 'data'))


def to_global(mesh: Mesh, local_batch: Any, stacked: bool = False) -> Any:
  """This process's rows of a batch -> global arrays split over the mesh's 'data' axis (axis 1
  of `stacked` batches)."""
  sharding = stacked_data_sharded(mesh) if stacked else data_sharded(mesh)
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x),
                      local_batch)


def process_rows(global_batch: Any) -> Any:
  """This process's contiguous share of a batch that every process holds whole (evaluation)."""
  def rows(x):
    per_process = x.shape[0] // jax.process_count()
    return x[jax.process_index() * per_process:(jax.process_index() + 1) * per_process]
  return jax.tree.map(rows, global_batch)


def read_ahead(items: Iterator[Any], size: int = 2) -> Iterator[Any]:
  """Keeps `size` items of `items` produced ahead of the consumer: where producing one puts a
  batch on the devices (an asynchronous transfer), it overlaps the running step."""
  queue = collections.deque()
  for item in items:
    queue.append(item)
    if len(queue) > size:
      yield queue.popleft()
  while queue:
    yield queue.popleft()
