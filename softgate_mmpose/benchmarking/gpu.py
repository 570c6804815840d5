# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""GPU figures of top-down pose models side by side: training throughput
with automatic mixed precision and inference latency.

Training runs each config's own estimator (``TopdownPoseEstimator`` with its
head and loss) through mmengine's ``model.train_step`` with an
``AmpOptimWrapper`` around the config's optimizer: data preprocessing on
the device, forward, the head's loss and training accuracy, backward and
the optimizer step. Its batches are synthetic images with targets encoded
by MMPose's own ``GenerateTarget`` and packed by ``PackPoseInputs``; they
live on the device, so images/s is the model's rate without the data
loader. Inference times the exportable network of
:func:`softgate_mmpose.deployment.build_model` (backbone + head, with the
deploy transform) in fp32 and fp16, in channels-last and contiguous layout,
with random weights and batch-norm statistics of random inputs (see
:func:`calibrate_batch_norm`).

Every measurement is a block of calls between two CUDA events after a
warm-up (cuDNN autotuning, allocator growth); blocks of all models run
interleaved in rounds, and the median over the rounds is reported.
"""
import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from softgate_mmpose.deployment import (build_model, flat_outputs,
                                        relative_difference)
from .configs import BenchmarkError, config_name, load_config
from .measure import summarize

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16}
MEMORY_FORMATS = {
    'channels_last': torch.channels_last,
    'contiguous': torch.contiguous_format
}
AMP_DTYPES = ('float16', 'bfloat16')


@dataclass
class GpuOptions:
    """What :func:`run_gpu_benchmark` measures.

    Args:
        device (str): ``'cuda'`` (or ``'cuda:N'``); ``'cpu'`` runs the same
            code without AMP, for a dry run.
        train_batch_sizes (Sequence[int]): Training batches measured for
            every config, besides the config's own
            ``train_dataloader.batch_size`` (``own_batch``).
        own_batch (bool): Also train each config at its own batch size.
        infer_batch_sizes (Sequence[int]): Inference batch sizes.
        dtypes (Sequence[str]): Inference precisions, keys of ``DTYPES``.
        memory_formats (Sequence[str]): Inference layouts, keys of
            ``MEMORY_FORMATS``.
        amp_dtype (str): Autocast type of training, ``'float16'`` or
            ``'bfloat16'``.
        input_size (int): Side of the square network input.
        rounds (int): Interleaved rounds; figures are their medians.
        block_ms (float): Target duration of one timed block.
        warmup (int): Untimed calls before the first block.
        cudnn_benchmark (bool): Let cuDNN pick its fastest kernels.
        seed (int): Seed of the synthetic data.
    """
    device: str = 'cuda'
    train_batch_sizes: Sequence[int] = (24, 64)
    own_batch: bool = True
    infer_batch_sizes: Sequence[int] = (1, 32)
    dtypes: Sequence[str] = ('fp32', 'fp16')
    memory_formats: Sequence[str] = ('channels_last', 'contiguous')
    amp_dtype: str = 'float16'
    input_size: int = 256
    rounds: int = 5
    block_ms: float = 200.
    warmup: int = 5
    cudnn_benchmark: bool = True
    seed: int = 0


@dataclass
class TrainFigure:
    """Training throughput of one model at one batch size."""
    model: str
    batch: int
    own_batch: bool
    images_per_s: float
    images_per_s_p25: float
    images_per_s_p75: float
    peak_memory_mib: Optional[float]
    amp: str
    final_loss: float
    rounds: List[float] = field(default_factory=list)


@dataclass
class InferFigure:
    """Inference latency of one model at one batch, precision, layout."""
    model: str
    batch: int
    dtype: str
    memory_format: str
    ms: float
    ms_p25: float
    ms_p75: float
    difference: float
    rounds: List[float] = field(default_factory=list)


@dataclass
class GpuReport:
    """Environment, options and figures of one run."""
    environment: Dict[str, object]
    options: Dict[str, object]
    models: List[str]
    train: List[TrainFigure] = field(default_factory=list)
    infer: List[InferFigure] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Subject:
    """One timed thing: ``step()`` does ``items`` images of work."""
    key: tuple
    step: Callable[[], object]
    items: int
    iters: int = 1
    seconds: List[float] = field(default_factory=list)


def check_options(options: GpuOptions) -> torch.device:
    """The device of ``options``, after checking every option.

    Raises:
        BenchmarkError: An unknown device, precision or layout, a missing
            GPU, or non-positive sizes.
    """
    try:
        device = torch.device(options.device)
    except RuntimeError as e:
        raise BenchmarkError(f'--device {options.device}: {e}') from e
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError(f'--device {options.device}: no CUDA device '
                             'is available to torch')
    if device.type not in ('cuda', 'cpu'):
        raise BenchmarkError(f'--device {options.device}: cuda or cpu')
    for name, values, known in (('--dtype', options.dtypes, DTYPES),
                                ('--memory-format', options.memory_formats,
                                 MEMORY_FORMATS)):
        unknown = [v for v in values if v not in known]
        if unknown:
            raise BenchmarkError(f'{name} {" ".join(unknown)}: choose from '
                                 f'{", ".join(known)}')
    if options.amp_dtype not in AMP_DTYPES:
        raise BenchmarkError(f'--amp-dtype {options.amp_dtype}: choose '
                             f'from {", ".join(AMP_DTYPES)}')
    sizes = [
        *options.train_batch_sizes, *options.infer_batch_sizes,
        options.input_size, options.rounds
    ]
    if any(int(v) < 1 for v in sizes) or options.block_ms <= 0:
        raise BenchmarkError('batch sizes, --input-size, --rounds and '
                             '--block-ms must be positive')
    if options.input_size % 64:
        raise BenchmarkError(f'--input-size {options.input_size}: a '
                             'multiple of 64 (the hourglasses halve it '
                             'six times)')
    return device


def environment(device: torch.device, options: GpuOptions) -> dict:
    """GPU name, torch/CUDA/cuDNN versions and the numeric settings."""
    env = dict(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(),
        device=str(device),
        cudnn_benchmark=options.cudnn_benchmark,
        cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
        matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        env.update(
            gpu=torch.cuda.get_device_name(device),
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            capability='.'.join(
                map(str, torch.cuda.get_device_capability(device))))
    else:
        from softgate_mmpose.utils.machine import cpu_name
        env.update(gpu=None, cpu=cpu_name())
    return env


def run_gpu_benchmark(configs: Sequence[str],
                      options: GpuOptions,
                      log: Callable[[str], None] = print) -> GpuReport:
    """Measure ``configs`` side by side (see the module's docstring).

    Args:
        configs (Sequence[str]): Top-down configs, paths or
            ``package::path``.
        options (GpuOptions): What to measure.
        log (callable): Progress lines.

    Returns:
        GpuReport: Environment and figures.

    Raises:
        BenchmarkError: Bad options or configs.
    """
    device = check_options(options)
    cfgs = {config: load_config(config) for config in configs}
    names = [config_name(config) for config in configs]
    if len(set(names)) != len(names):
        raise BenchmarkError(f'configs with the same name: {names}')
    report = GpuReport(
        environment=environment(device, options),
        options=asdict(options),
        models=names)
    log(f'device: {report.environment.get("gpu") or device}, torch '
        f'{torch.__version__}, CUDA {torch.version.cuda}')
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = options.cudnn_benchmark
    try:
        report.train = _run_training(configs, cfgs, options, device, log)
        report.infer = _run_inference(configs, cfgs, options, device, log)
    finally:
        torch.backends.cudnn.benchmark = previous
    return report


# training ---------------------------------------------------------------


def own_batch_size(cfg: Config) -> Optional[int]:
    """``train_dataloader.batch_size`` of a config, if it has one."""
    loader = cfg.get('train_dataloader') or {}
    size = loader.get('batch_size')
    return int(size) if size else None


def train_batch_sizes(cfg: Config, options: GpuOptions) -> List[int]:
    """The batch sizes a config is trained at: its own and the common
    ones, in increasing order."""
    sizes = set(int(b) for b in options.train_batch_sizes)
    own = own_batch_size(cfg)
    if options.own_batch and own:
        sizes.add(own)
    return sorted(sizes)


def scaled_codec(cfg: Config, input_size: int) -> dict:
    """The config's codec for a square input of ``input_size``, its heatmap
    scaled in proportion."""
    codec = copy.deepcopy(cfg.codec)
    in_w, in_h = codec['input_size']
    hm_w, hm_h = codec['heatmap_size']
    codec['input_size'] = (input_size, input_size)
    codec['heatmap_size'] = (input_size * hm_w // in_w,
                             input_size * hm_h // in_h)
    return codec


def synthetic_batch(cfg: Config, num_keypoints: int, batch: int,
                    input_size: int, device: torch.device,
                    rng: np.random.Generator) -> dict:
    """A training batch as a data loader gives it, on ``device``.

    Random images and keypoints; targets encoded by MMPose's
    ``GenerateTarget`` with the config's codec (scaled to ``input_size``)
    and packed by ``PackPoseInputs``, as the training pipeline does.
    """
    from mmpose.datasets.transforms import GenerateTarget, PackPoseInputs
    encode = GenerateTarget(encoder=scaled_codec(cfg, input_size))
    pack = PackPoseInputs()
    inputs, samples = [], []
    for _ in range(batch):
        keypoints = rng.uniform(0, input_size, (1, num_keypoints, 2))
        visible = (rng.uniform(size=(1, num_keypoints)) > 0.2)
        results = dict(
            img=rng.integers(
                0, 256, (input_size, input_size, 3), dtype=np.uint8),
            keypoints=keypoints.astype(np.float32),
            keypoints_visible=visible.astype(np.float32),
            img_shape=(input_size, input_size),
            input_size=(input_size, input_size))
        packed = pack(encode(results))
        inputs.append(packed['inputs'].to(device))
        samples.append(packed['data_samples'].to(device))
    return dict(inputs=inputs, data_samples=samples)


def num_keypoints_of(pose_model: nn.Module) -> int:
    """Keypoints of a top-down estimator (its head's output channels)."""
    head = pose_model.head
    for attr in ('out_channels', 'num_keypoints'):
        value = getattr(head, attr, None)
        if isinstance(value, int):
            return value
    raise BenchmarkError(f'{type(head).__name__}: cannot tell its number '
                         'of keypoints')


def build_optim_wrapper(pose_model: nn.Module, cfg: Config,
                        options: GpuOptions, device: torch.device):
    """The config's optimizer inside an ``AmpOptimWrapper`` (a plain
    ``OptimWrapper`` on the CPU, where mmengine has no AMP)."""
    from mmengine.optim import build_optim_wrapper as build
    wrapper = copy.deepcopy(cfg.optim_wrapper)
    if device.type == 'cuda':
        wrapper.update(type='AmpOptimWrapper', dtype=options.amp_dtype)
    else:
        wrapper.update(type='OptimWrapper')
    return build(pose_model, wrapper)


def _train_subjects(configs, cfgs, options, device, rng, log):
    subjects, meta = [], {}
    for config in configs:
        cfg, name = cfgs[config], config_name(config)
        # mmengine's BaseModel.to also moves the data preprocessor's
        # target device (a plain nn.Module.to moves only its buffers)
        pose_model = build_model(cfg, deploy=False).pose_model.to(device)
        pose_model.train()
        wrapper = build_optim_wrapper(pose_model, cfg, options, device)
        joints = num_keypoints_of(pose_model)
        own = own_batch_size(cfg)
        for batch in train_batch_sizes(cfg, options):
            # two batches in turn, so no step reuses the last one's data
            data = [
                synthetic_batch(cfg, joints, batch, options.input_size, device,
                                rng) for _ in range(2)
            ]
            state = dict(i=0, loss=float('nan'))

            def step(model=pose_model,
                     data=data,
                     wrapper=wrapper,
                     state=state):
                state['i'] += 1
                log_vars = model.train_step(data[state['i'] % 2], wrapper)
                state['loss'] = log_vars['loss'].detach()

            key = (name, batch)
            subjects.append(_Subject(key, step, batch))
            meta[key] = dict(own=batch == own, state=state)
        log(f'train: built {name}, batches '
            f'{train_batch_sizes(cfg, options)}')
    return subjects, meta


def _run_training(configs, cfgs, options, device, log) -> List[TrainFigure]:
    rng = np.random.default_rng(options.seed)
    subjects, meta = _train_subjects(configs, cfgs, options, device, rng, log)
    amp = options.amp_dtype if device.type == 'cuda' else 'off'
    peaks = {}
    for subject in subjects:
        peaks[subject.key] = _warm_up(subject, options, device)
        log(f'train warm-up {subject.key}: {subject.iters} steps a block')
    _time_rounds(subjects, options, device, log, 'train')
    figures = []
    for subject in subjects:
        rates = [subject.items * subject.iters / s for s in subject.seconds]
        stats = summarize(rates)
        loss = float(meta[subject.key]['state']['loss'])
        if not math.isfinite(loss):
            raise BenchmarkError(f'{subject.key[0]}: training loss is '
                                 f'{loss} at batch {subject.key[1]}')
        figures.append(
            TrainFigure(
                model=subject.key[0],
                batch=subject.key[1],
                own_batch=meta[subject.key]['own'],
                images_per_s=stats['median'],
                images_per_s_p25=stats['p25'],
                images_per_s_p75=stats['p75'],
                peak_memory_mib=peaks[subject.key],
                amp=amp,
                final_loss=loss,
                rounds=rates))
    del subjects, meta
    _empty_cache(device)
    return figures


# inference --------------------------------------------------------------


def calibrate_batch_norm(network: nn.Module,
                         batches: Sequence[torch.Tensor]) -> None:
    """Running statistics of every batch norm from ``batches`` (their
    cumulative average); ``network`` is left in eval mode.

    A randomly initialised network's default statistics (mean 0, variance
    1) do not fit its activations: its heatmaps come out around 1e-10,
    which fp16 flushes to zero. With statistics of its own activations
    every layer works at the scale of a trained network's, so fp16 times
    real numbers and its difference to fp32 means something.
    """
    norms = [
        m for m in network.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    network.train()
    with torch.no_grad():
        for inputs in batches:
            network(inputs)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    network.eval()


def calibrated_network(cfg: Config, options: GpuOptions, device: torch.device,
                       gen: torch.Generator) -> nn.Module:
    """The exportable network of ``cfg`` (random weights, batch-norm
    statistics from random inputs) after the deploy transform."""
    from softgate_mmpose.models import switch_to_deploy
    network = build_model(cfg, device=str(device), deploy=False)
    size = options.input_size
    calibrate_batch_norm(network, [
        torch.randn(8, 3, size, size, generator=gen).to(device)
        for _ in range(2)
    ])
    switch_to_deploy(network.pose_model)
    return network.eval()


def _infer_subjects(configs, cfgs, options, device, log):
    subjects, differences = [], {}
    size = options.input_size
    gen = torch.Generator().manual_seed(options.seed)
    for config in configs:
        name = config_name(config)
        base = calibrated_network(cfgs[config], options, device, gen)
        for batch in options.infer_batch_sizes:
            # normalised-image statistics; two inputs in turn
            inputs = [
                torch.randn(batch, 3, size, size, generator=gen).to(device)
                for _ in range(2)
            ]
            with torch.inference_mode():
                reference = [
                    o.float().cpu().numpy()
                    for o in flat_outputs(base(inputs[0]))
                ]
            for dtype in options.dtypes:
                for fmt in options.memory_formats:
                    variant = copy.deepcopy(base).to(
                        dtype=DTYPES[dtype], memory_format=MEMORY_FORMATS[fmt])
                    ins = [
                        x.to(
                            dtype=DTYPES[dtype],
                            memory_format=MEMORY_FORMATS[fmt]) for x in inputs
                    ]
                    with torch.inference_mode():
                        outs = [
                            o.float().cpu().numpy()
                            for o in flat_outputs(variant(ins[0]))
                        ]
                    key = (name, batch, dtype, fmt)
                    differences[key] = relative_difference(outs, reference)
                    state = dict(i=0)

                    def step(model=variant, ins=ins, state=state):
                        state['i'] += 1
                        with torch.inference_mode():
                            return model(ins[state['i'] % 2])

                    subjects.append(_Subject(key, step, batch))
        del base
        log(f'infer: built {name}')
    return subjects, differences


def _run_inference(configs, cfgs, options, device, log) -> List[InferFigure]:
    subjects, differences = _infer_subjects(configs, cfgs, options, device,
                                            log)
    for subject in subjects:
        _warm_up(subject, options, device)
    log(f'inference: {len(subjects)} variants warmed up')
    _time_rounds(subjects, options, device, log, 'infer')
    figures = []
    for subject in subjects:
        ms = [1e3 * s / subject.iters for s in subject.seconds]
        stats = summarize(ms)
        name, batch, dtype, fmt = subject.key
        figures.append(
            InferFigure(
                model=name,
                batch=batch,
                dtype=dtype,
                memory_format=fmt,
                ms=stats['median'],
                ms_p25=stats['p25'],
                ms_p75=stats['p75'],
                difference=differences[subject.key],
                rounds=ms))
    del subjects
    _empty_cache(device)
    return figures


# timing -----------------------------------------------------------------


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _empty_cache(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def time_block(step: Callable[[], object], iters: int,
               device: torch.device) -> float:
    """Seconds of ``iters`` calls of ``step``: between two CUDA events on a
    GPU (after a synchronisation, so no earlier work is counted), by the
    host clock on the CPU."""
    _synchronize(device)
    if device.type == 'cuda':
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            step()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    start_s = time.perf_counter()
    for _ in range(iters):
        step()
    return time.perf_counter() - start_s


def _warm_up(subject: _Subject, options: GpuOptions,
             device: torch.device) -> Optional[float]:
    """Untimed calls, then the block length; returns the peak memory of
    the warm-up in MiB on a GPU."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    for _ in range(max(options.warmup, 1)):
        subject.step()
    once = time_block(subject.step, 1, device)
    subject.iters = max(1, math.ceil(options.block_ms / 1e3 / max(once, 1e-6)))
    if device.type != 'cuda':
        return None
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def _time_rounds(subjects: Sequence[_Subject], options: GpuOptions,
                 device: torch.device, log: Callable[[str],
                                                     None], what: str) -> None:
    """Interleaved rounds: every subject once per round."""
    for r in range(options.rounds):
        for subject in subjects:
            subject.seconds.append(
                time_block(subject.step, subject.iters, device))
        log(f'{what}: round {r + 1}/{options.rounds} done')


# output -----------------------------------------------------------------


def _fmt(value: Optional[float], digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return '–'
    return f'{value:.{digits}f}'


def format_markdown(report: GpuReport) -> str:
    """The report as two markdown tables (training, inference)."""
    env = report.environment
    lines = [
        f'GPU: {env.get("gpu") or env.get("cpu")}; torch {env["torch"]}, '
        f'CUDA {env["cuda"]}, cuDNN {env["cudnn"]}; '
        f'input {report.options["input_size"]}²; median of '
        f'{report.options["rounds"]} interleaved rounds.', ''
    ]
    if report.train:
        amp = report.train[0].amp
        lines += [
            f'Training (AMP {amp}; images/s through model.train_step: '
            'loss, backward, optimizer step; * = the config\'s batch):', '',
            '| model | batch | images/s | p25–p75 | peak memory (GiB) |',
            '|---|---:|---:|---:|---:|'
        ]
        for f in report.train:
            mem = (None if f.peak_memory_mib is None else f.peak_memory_mib /
                   1024)
            lines.append(
                f'| {f.model} | {f.batch}{"*" if f.own_batch else ""} | '
                f'{_fmt(f.images_per_s)} | {_fmt(f.images_per_s_p25)}–'
                f'{_fmt(f.images_per_s_p75)} | {_fmt(mem, 2)} |')
        lines.append('')
    if report.infer:
        variants = []
        for f in report.infer:
            if (f.dtype, f.memory_format) not in variants:
                variants.append((f.dtype, f.memory_format))
        head = ' | '.join(f'{d} {m.replace("_", "-")} ms' for d, m in variants)
        lines += [
            'Inference (network only, ms per call; max difference to '
            'fp32 contiguous over its peak, random weights):', '',
            f'| model | batch | {head} | max difference |',
            '|---|---:|' + '---:|' * (len(variants) + 1)
        ]
        cells: Dict[tuple, InferFigure] = {
            (f.model, f.batch, f.dtype, f.memory_format): f
            for f in report.infer
        }
        rows = []
        for f in report.infer:
            if (f.model, f.batch) not in rows:
                rows.append((f.model, f.batch))
        for model, batch in rows:
            figs = [cells.get((model, batch, d, m)) for d, m in variants]
            times = ' | '.join(_fmt(g.ms, 2) if g else '–' for g in figs)
            worst = max(g.difference for g in figs if g)
            lines.append(f'| {model} | {batch} | {times} | {worst:.1e} |')
        lines.append('')
    return '\n'.join(lines)


__all__ = [
    'AMP_DTYPES', 'DTYPES', 'GpuOptions', 'GpuReport', 'InferFigure',
    'MEMORY_FORMATS', 'TrainFigure', 'check_options', 'environment',
    'format_markdown', 'run_gpu_benchmark', 'synthetic_batch', 'time_block'
]
