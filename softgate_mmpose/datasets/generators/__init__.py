"""Dataset generators of softgate-mmpose (data made on the fly, no download).

They write files in MMPose's formats for the Dataset classes of
``softgate_mmpose.datasets``; the quickstart and the tests import them.
"""
from .synthetic import generate_synthetic_dataset

__all__ = ['generate_synthetic_dataset']
