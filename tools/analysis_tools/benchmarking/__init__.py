# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The logic of ``tools/analysis_tools/benchmark.py``.

- :mod:`.configs`: config paths (``mmpose::...``), names, input sizes;
- :mod:`.measure`: parameter and MAC counts, timing, memory, other load;
- :mod:`.reference_conv`: the machine's single-conv MAC rate;
- :mod:`.backends`: eager PyTorch and ONNX Runtime runners;
- :mod:`.accuracy`: measured (metrics files) and reported (MMPose's
  metafiles) accuracy;
- :mod:`.run`: the interleaved measurement of configs × backends;
- :mod:`.formatters`: markdown, CSV, JSON and PNG outputs.

``tools/`` is not a package: put ``tools/analysis_tools`` on ``sys.path`` to
import this one (the entry point runs from that folder).
"""
from .configs import BenchmarkError
from .reference_conv import reference_conv_gmacs

__all__ = ['BenchmarkError', 'reference_conv_gmacs']
