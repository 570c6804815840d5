# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The inferencer's inputs: listed and checked before anything runs or is
written."""
import mimetypes
import os
import os.path as osp
from typing import Any, Iterator, List, NamedTuple, Optional, Union

import cv2
import numpy as np

#: What MMPose's ``__call__`` takes: a path, an array or a list of them.
InputsType = Union[str, np.ndarray, List[Union[str, np.ndarray]]]


class CheckedInputs(NamedTuple):
    """Inputs ready for MMPose's ``__call__``.

    Attributes:
        inputs (str | list): Image paths or arrays, a video path or a
            ``'webcam:<id>'`` string.
        kind (str): ``'images'``, ``'video'`` or ``'webcam'``.
    """
    inputs: InputsType
    kind: str


class SizedBatches:
    """An iterable of batches that knows how many it holds, so that the
    progress bar of MMPose's ``__call__`` shows a total and an ETA.

    Args:
        batches (Iterator): The batches.
        num_batches (int, optional): Their number; ``None`` for a stream.
    """

    def __init__(self, batches: Iterator, num_batches: Optional[int]):
        self._batches = batches
        self._num_batches = num_batches

    def __iter__(self) -> Iterator:
        return self._batches

    def __length_hint__(self) -> int:
        # ``operator.length_hint`` (used by rich's ``track``); 0 = unknown.
        return self._num_batches or 0


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL (left to MMPose's file backends)."""
    return '://' in path


def media_type(path: str) -> Optional[str]:
    """``'image'``, ``'video'`` or ``None`` from the file extension."""
    mime = mimetypes.guess_type(path)[0]
    return mime.split('/')[0] if mime else None


def list_image_files(folder: str) -> List[str]:
    """Sorted image files of ``folder`` (by extension, not recursive)."""
    return sorted(
        osp.join(folder, f) for f in os.listdir(folder)
        if osp.isfile(osp.join(folder, f)) and media_type(f) == 'image')


def check_image(path: str) -> None:
    """Raise unless ``path`` is an image file OpenCV can decode."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path}')
    if not cv2.haveImageReader(path):
        raise ValueError(f'Cannot read image {path}: OpenCV finds no '
                         'decoder for its content (not an image file?).')


def check_video(path: str) -> None:
    """Raise unless OpenCV decodes a first frame of ``path``."""
    cap = cv2.VideoCapture(path)
    try:
        readable = cap.isOpened() and cap.read()[0]
    finally:
        cap.release()
    if not readable:
        raise ValueError(
            f'Cannot read video {path}: OpenCV decodes no frame from it '
            '(not a video file, a broken one, or a codec OpenCV lacks).')


def camera_id(inputs: str) -> Optional[int]:
    """The camera of ``'webcam'`` / ``'webcam:<id>'``, else ``None``."""
    if not inputs.lower().startswith('webcam'):
        return None
    parts = inputs.split(':')
    if len(parts) == 1:
        return 0
    if len(parts) == 2 and parts[1].isdigit():
        return int(parts[1])
    raise ValueError(f'Expected a camera as "webcam:<id>", got {inputs!r}')


def check_camera(inputs: str, camera: int) -> None:
    """Raise unless OpenCV opens ``camera`` (named ``inputs``)."""
    cap = cv2.VideoCapture(camera)
    opened = cap.isOpened()
    cap.release()
    if not opened:
        raise RuntimeError(f'Cannot open camera {inputs!r} (OpenCV '
                           'VideoCapture failed); check the index.')


def _check_path(path: str) -> CheckedInputs:
    """One local path: a camera name, a folder, a video or an image."""
    camera = camera_id(path)
    if camera is not None and not osp.exists(path):
        check_camera(path, camera)
        return CheckedInputs(path, 'webcam')
    if osp.isdir(path):
        images = list_image_files(path)
        if not images:
            raise ValueError(f'No image files in folder {path}')
        return CheckedInputs(images, 'images')
    if not osp.exists(path):
        raise FileNotFoundError(f'Input not found: {path}')
    kind = media_type(path)
    if kind == 'video':
        check_video(path)
        return CheckedInputs(path, 'video')
    if kind == 'image':
        check_image(path)
        return CheckedInputs(path, 'images')
    raise ValueError(f'Cannot tell whether {path} is an image or a video '
                     'from its extension.')


def check_inputs(inputs: Any) -> CheckedInputs:
    """Check the inputs before anything runs or is written.

    A folder becomes its sorted image files (not recursive; MMPose fails on
    files without a known type); a missing path, an unreadable image or
    video, a folder without images or a camera that cannot be opened raises.

    Args:
        inputs: An image path or array, a list of them, a folder, a video
            file, ``'webcam'`` / ``'webcam:<id>'`` or a camera index.

    Returns:
        CheckedInputs: The inputs for MMPose and their kind.

    Raises:
        FileNotFoundError: A missing file or folder.
        ValueError: An unreadable image or video, a folder without images.
        RuntimeError: A camera that cannot be opened.
    """
    if isinstance(inputs, os.PathLike):
        inputs = os.fspath(inputs)
    if isinstance(inputs, (int, np.integer)) and not isinstance(inputs, bool):
        inputs = f'webcam:{int(inputs)}'
    if isinstance(inputs, str) and not is_url(inputs):
        return _check_path(inputs)
    if isinstance(inputs, (list, tuple)):
        inputs = [
            os.fspath(x) if isinstance(x, os.PathLike) else x for x in inputs
        ]
        for x in inputs:
            if isinstance(x, str) and not is_url(x):
                check_image(x)
    return CheckedInputs(inputs, 'images')


__all__ = [
    'CheckedInputs', 'InputsType', 'SizedBatches', 'camera_id', 'check_camera',
    'check_image', 'check_inputs', 'check_video', 'is_url', 'list_image_files',
    'media_type'
]
