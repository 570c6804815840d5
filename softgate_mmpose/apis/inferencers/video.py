# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The rendered video of a video or camera input, written to a partial
file that becomes the output only when complete."""
import logging
import os
import os.path as osp
from typing import Optional

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist

#: Frame rate of the output when the input states none (cameras give 0).
DEFAULT_FPS = 30


def video_output_file(vis_out_dir: str, video_name: str) -> str:
    """``vis_out_dir`` itself when it names a file, else
    ``<vis_out_dir>/<video stem>.mp4``."""
    if osp.splitext(vis_out_dir)[1]:
        return vis_out_dir
    stem = osp.splitext(osp.basename(video_name))[0]
    return osp.join(vis_out_dir, f'{stem}.mp4')


def partial_file(output_file: str) -> str:
    """Where ``output_file`` is written until complete:
    ``<name>.partial<ext>``."""
    root, ext = osp.splitext(output_file)
    return f'{root}.partial{ext}'


class VideoOutput:
    """An MPEG-4 video written to a partial file, moved into place by
    :meth:`finish` and deleted by :meth:`discard`.

    Args:
        output_file (str): The finished video.
        frame_size (tuple[int, int]): ``(width, height)`` of the frames.
        fps (float, optional): Frame rate; ``None`` or ``<= 0`` gives
            :data:`DEFAULT_FPS`.

    Raises:
        RuntimeError: OpenCV cannot open a writer for the file.
    """

    def __init__(self,
                 output_file: str,
                 frame_size: tuple,
                 fps: Optional[float] = None) -> None:
        self.output_file = output_file
        self.partial_file = partial_file(output_file)
        mkdir_or_exist(osp.dirname(osp.abspath(output_file)))
        self._writer = cv2.VideoWriter(self.partial_file,
                                       cv2.VideoWriter_fourcc(*'mp4v'),
                                       fps if fps and fps > 0 else DEFAULT_FPS,
                                       tuple(frame_size))
        if not self._writer.isOpened():
            raise RuntimeError(f'Cannot open a video writer for {output_file}')

    def write(self, rgb_frame: np.ndarray) -> None:
        """Append one RGB frame of shape (H, W, 3)."""
        self._writer.write(mmcv.rgb2bgr(rgb_frame))

    def finish(self) -> None:
        """Close the writer and move the partial file into place."""
        self._writer.release()
        os.replace(self.partial_file, self.output_file)
        print_log(
            f'the output video has been saved at {self.output_file}',
            logger='current',
            level=logging.INFO)

    def discard(self) -> None:
        """Close the writer and delete the partial file (after an error or
        an early stop)."""
        self._writer.release()
        if osp.exists(self.partial_file):
            os.remove(self.partial_file)


__all__ = ['DEFAULT_FPS', 'VideoOutput', 'partial_file', 'video_output_file']
