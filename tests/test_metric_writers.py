"""What a run shows: a short progress line, a parameter table, its settings in TensorBoard's
HPARAMS tab, and a profiled window of steps; everything still goes to the writers."""

import glob
import json
import os
import re
import struct

import jax
import pytest

from mixres import checkpoint
from mixres import config_checks as cc
from mixres import metric_writers
from mixres import objectives
from mixres import train

# What an AMR run logs (tiny_config's metrics.jsonl): the line used to print all of them.
AMR_SCALARS = {
    'disc/grad_norm': 0.4723, 'disc/loss': 2.0848, 'disc/param_norm': 6.3708,
    'disc/real_prob': 0.5008, 'disc/recon_prob': 0.5018, 'gen/adversarial': 1.3764,
    'gen/loss': 8.6061, 'gen/recon': 0.72297, 'generator/grad_norm': 11.827,
    'generator/param_norm': 11.79, 'probe/train_accuracy': 0.125, 'probe/train_loss': 2.4565}


def test_progress_line_shows_the_headline_numbers_only(monkeypatch):
  clock = iter([100.0, 110.0])  # 20 steps in 10 s; a fixed clock, not a timing.
  monkeypatch.setattr(metric_writers.time, 'perf_counter', lambda: next(clock))
  progress = metric_writers.ProgressReporter(num_steps=100, batch_size=64, first_step=0)
  line = progress.report(20, AMR_SCALARS)
  assert line == ('step 20/100 | 2.00 steps/s 128 img/s | ETA 0m40s | disc/loss=2.085 '
                  'gen/loss=8.606 gen/recon=0.723 probe/train_accuracy=0.125')
  # Each network's total loss first, at most 4 numbers: Deep InfoMax, and 5 losses.
  dim = {'encoder/loss': 1.0, 'encoder/local_mi': 0.5, 'prior_disc/loss': 1.4,
         'probe/train_loss': 2.3, 'probe/train_accuracy': 0.1}
  assert metric_writers.headline(dim) == ['encoder/loss', 'prior_disc/loss',
                                          'probe/train_accuracy']
  many = {f'{n}/loss': 1.0 for n in 'abcde'}
  assert metric_writers.headline({**many, 'gen/recon': 1.0}) == [
      'a/loss', 'b/loss', 'c/loss', 'd/loss']
  assert progress.report_evaluation(20, {'probe/val_accuracy': 0.25,
                                         'best/probe/val_accuracy': 0.5}) == (
                                             'eval 20/100 | probe/val_accuracy=0.25')


def test_parameter_table_of_amr_svhn_gives_the_readme_sizes():
  """configs/amr_svhn.py on 32x32x3: G 226,917 and D 150,178 parameters (the README's)."""
  from configs import amr_svhn
  objective = objectives.get_objective(amr_svhn.get_config(), (32, 32, 3))
  params = jax.eval_shape(objective.init, jax.random.PRNGKey(0)).params
  assert metric_writers.parameter_table(params, objective.groups).splitlines() == [
      'parameters:',
      '  decoder                             76,035  30 arrays',
      '  disc                               150,178  18 arrays',
      '  encoder                            150,882  32 arrays',
      '  probe                                  330  2 arrays',
      '  generator = encoder + decoder      226,917  optimiser group']


def test_profile_window_is_two_steps_or_refused_in_one_line(tiny_config):
  tiny_config.profile_steps = '3-4'
  assert cc.check_step_window(tiny_config, 'profile_steps', 6) == (3, 4)
  tiny_config.profile_steps = ''
  assert cc.check_step_window(tiny_config, 'profile_steps', 6) is None
  for bad in ('3', '0-2', '4-3', '5-7', 'a-b', '-2', ' 1-2'):
    tiny_config.profile_steps = bad
    with pytest.raises(ValueError, match=re.escape(
        f"config.profile_steps={bad!r} must be '' or 'START-END' with 1 <= START <= END <= 6, "
        "the run's last step (e.g. '11-20')")):
      cc.check_step_window(tiny_config, 'profile_steps', 6)


def test_profile_window_may_change_when_a_run_resumes(tiny_config):
  saved = json.loads(tiny_config.to_json())
  tiny_config.profile_steps = '3-4'
  assert checkpoint.config_differences(saved, tiny_config) == []


def read_events(directory):
  """Every Event in the TensorBoard event files under `directory` (the TFRecord framing:
  length, its CRC, the record, its CRC)."""
  from tensorboardX.proto import event_pb2
  events = []
  for path in sorted(glob.glob(os.path.join(directory, 'events.out.tfevents.*'))):
    with open(path, 'rb') as f:
      data = f.read()
    offset = 0
    while offset < len(data):
      (length,) = struct.unpack('<Q', data[offset:offset + 8])
      event = event_pb2.Event()
      event.ParseFromString(data[offset + 12:offset + 12 + length])
      events.append(event)
      offset += 12 + length + 4
  return events


def session_hparams(directory):
  """name -> value of the hparams plugin's session start info written under `directory`."""
  from tensorboardX.proto import plugin_hparams_pb2
  for event in read_events(directory):
    for value in event.summary.value:
      if value.tag == '_hparams_/session_start_info':
        data = plugin_hparams_pb2.HParamsPluginData()
        data.ParseFromString(value.metadata.plugin_data.content)
        return {k: getattr(v, v.WhichOneof('kind'))
                for k, v in data.session_start_info.hparams.items()}
  return None


def test_a_run_shows_progress_parameters_settings_and_a_profiled_window(
    tiny_config, tmp_path, capsys):
  tiny_config.profile_steps = '3-4'
  train.train_and_evaluate(tiny_config, str(tmp_path))
  out = capsys.readouterr().out.splitlines()
  assert out[0] == 'parameters:' and out[5].startswith('  generator = encoder + decoder ')
  steps = [line for line in out if line.startswith('step ')]
  assert [line.split()[1] for line in steps] == ['2/6', '4/6', '6/6']
  for line in steps:
    assert re.fullmatch(r'step \d/6 \| [\d.]+ steps/s \d+ img/s \| ETA \S+ \| disc/loss=\S+ '
                        r'gen/loss=\S+ gen/recon=\S+ probe/train_accuracy=\S+', line), line
  assert re.fullmatch(r'eval 6/6 \| probe/val_accuracy=\S+', out[-1])
  # Every metric still reaches the writers.
  logged = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  assert set(logged[0]) == {'step', *AMR_SCALARS}
  # The flattened config, as TensorBoard's hparams plugin reads it.
  hparams = session_hparams(tmp_path / 'tensorboard')
  assert hparams == {k: (str(v) if isinstance(v, tuple) else v)
                     for k, v in cc.flatten(tiny_config).items()}
  assert hparams['lam'] == 10.0 and hparams['data.name'] == 'digits'
  assert hparams['eval.evaluators'] == "('probe', 'interpolation')"
  # Steps 3-4 traced, in calls of their own, into WORKDIR/profile/.
  assert f'profiled steps 3-4: {tmp_path / "profile"}' in out
  assert glob.glob(str(tmp_path / 'profile' / 'plugins' / 'profile' / '*' / '*.xplane.pb'))
