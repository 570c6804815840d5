# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Convert LSP / LSP-extended ``joints.mat`` files to COCO-style keypoint JSON.

Both layouts are recognised from the shape of the ``joints`` variable:

- LSP (Johnson & Everingham, BMVC 2010): ``3 x 14 x N`` with rows x, y, flag;
  flag 1 = occluded. Images ``im0001.jpg`` .. ``im2000.jpg``. The first 1000
  images are ``train``, the remaining ones (the last 1000) ``test``.
- LSP-extended (CVPR 2011): ``14 x 3 x N`` with columns x, y, flag;
  flag 1 = visible. Images ``im00001.jpg`` .. ``im10000.jpg``, all ``train``.

Coordinates in the ``.mat`` files are MATLAB's 1-based pixel coordinates; the
JSON holds 0-based ones (``x - 1``, ``y - 1``) as COCO and MMPose expect.
Visibility follows COCO: 2 = visible, 1 = labelled but occluded (LSP's flag 1,
LSP-extended's flag 0), 0 = not labelled in the image (a NaN, negative or
out-of-image position, whatever the flag says). A visibility-0 joint is written
as ``0, 0, 0``, except an LSP joint outside the image, which keeps its
position: LSP annotates every joint of its people, and the standard LSP
evaluation (``LspPCKAccuracy(mode='all')``) scores those too. LSP-extended's
unlabelled joints carry no meaningful position (``0`` on one axis). The
person box is the extent of the labelled joints enlarged on every side by
``margin`` times its longer side and clipped to the image. Image sizes are
read from the images, which are fully decoded, so missing or corrupt files are
named. Joint names and skeleton come from the plugin's LSP metainfo
(``softgate_mmpose/datasets/metainfo/lsp.py``), as ``LspDataset`` reads them.

Every output is built and validated in memory before any file is written, and
each file is written atomically, so a failed conversion leaves nothing behind.

:func:`convert_lsp` writes the files (``tools/dataset_converters/lsp2coco.py``
is its command line); :func:`convert_dataset` gives the COCO dicts in memory,
:func:`select_images` a subset of one, :func:`write_coco` writes one.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from PIL import Image
from scipy.io import loadmat

from ...utils import atomic_open
from ..datasets.lsp_dataset import LSP_METAINFO_FILE

LAYOUTS = ('lsp', 'lspet')
LAYOUT_NAMES = {'lsp': 'LSP', 'lspet': 'LSP-extended'}
MERGED_NAME = 'lsp+lspet'
#: LSP's first ``LSP_TRAIN_SIZE`` images are its training set, the rest its
#: test set.
LSP_TRAIN_SIZE = 1000
IMAGE_NAME_FORMATS = {'lsp': 'im{:04d}.jpg', 'lspet': 'im{:05d}.jpg'}
# Image ids stay unique when both datasets are merged: LSP 1..N,
# LSP-extended 100001...
IMAGE_ID_OFFSETS = {'lsp': 0, 'lspet': 100000}
# Error messages name at most this many missing or corrupt images.
_MAX_LISTED = 10

LSP_METAINFO = parse_pose_metainfo(dict(from_file=LSP_METAINFO_FILE))
NUM_JOINTS: int = LSP_METAINFO['num_keypoints']
JOINT_NAMES: Tuple[str, ...] = tuple(LSP_METAINFO['keypoint_id2name'][i]
                                     for i in range(NUM_JOINTS))


def _coco_category() -> dict:
    """The COCO ``person`` category with the LSP joints and skeleton
    (1-based joint indices, as in COCO)."""
    skeleton = [[a + 1, b + 1] for a, b in LSP_METAINFO['skeleton_links']]
    return dict(
        id=1,
        name='person',
        supercategory='person',
        keypoints=list(JOINT_NAMES),
        skeleton=skeleton)


def read_joints(joints_file: str,
                dataset: str = 'auto') -> Tuple[str, np.ndarray]:
    """Read a ``joints.mat`` and recognise its layout from the shape.

    Args:
        joints_file (str): Path of the ``.mat`` file with a ``joints``
            variable.
        dataset (str): ``'auto'`` to detect the layout, or ``'lsp'`` /
            ``'lspet'`` to require it. Defaults to ``'auto'``.

    Returns:
        tuple[str, np.ndarray]: The layout (``'lsp'`` or ``'lspet'``) and the
        joints as float64 array (N, 14, 3) of x, y (1-based) and the layout's
        own flag.
    """
    if dataset not in ('auto', ) + LAYOUTS:
        raise ValueError(f'dataset must be one of auto, lsp, lspet, got '
                         f'"{dataset}"')
    if not osp.isfile(joints_file):
        raise FileNotFoundError(
            f'joints file "{joints_file}" does not exist (expected the '
            "dataset's joints.mat)")
    try:
        mat = loadmat(joints_file)
    except Exception as e:  # scipy raises several types for non-.mat files
        raise ValueError(f'cannot read joints file "{joints_file}" as a '
                         f'MATLAB .mat file: {e}') from e
    if 'joints' not in mat:
        names = sorted(k for k in mat if not k.startswith('__'))
        raise ValueError(f'joints file "{joints_file}" has no variable '
                         f'"joints" (it has: {names})')
    joints = np.asarray(mat['joints'])
    shape = tuple(joints.shape)
    # MATLAB drops a trailing singleton dimension: a single person is 2-D.
    if joints.ndim == 2:
        joints = joints[..., None]
    if joints.ndim == 3 and joints.shape[:2] == (3, NUM_JOINTS):
        layout = 'lsp'
        joints = joints.transpose(2, 1, 0)
    elif joints.ndim == 3 and joints.shape[:2] == (NUM_JOINTS, 3):
        layout = 'lspet'
        joints = joints.transpose(2, 0, 1)
    else:
        raise ValueError(
            f'joints file "{joints_file}": "joints" has shape {shape}, which '
            'is neither LSP (3x14xN) nor LSP-extended (14x3xN)')
    if not np.issubdtype(joints.dtype, np.number):
        raise ValueError(f'joints file "{joints_file}": "joints" has '
                         f'non-numeric dtype {joints.dtype}')
    if dataset != 'auto' and dataset != layout:
        raise ValueError(
            f'joints file "{joints_file}" has shape {shape}, the '
            f'{LAYOUT_NAMES[layout]} layout, but dataset "{dataset}" '
            f'({LAYOUT_NAMES[dataset]}) was requested')
    return layout, joints.astype(np.float64)


def read_image_sizes(paths: Sequence[str]) -> List[Tuple[int, int]]:
    """Decode every image and return its (width, height).

    Raises:
        FileNotFoundError: naming the missing images.
        ValueError: naming the images that cannot be decoded.
    """
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of {len(paths)} images are missing: ' +
            _listing(missing))
    sizes, corrupt = [], []
    for path in paths:
        try:
            with Image.open(path) as img:
                width, height = img.size
                # Decoding at 1/8 scale still reads the whole JPEG stream,
                # so truncated files fail here, at a fraction of the cost.
                img.draft('RGB', (max(1, width // 8), max(1, height // 8)))
                img.load()
        except Exception as e:  # PIL raises OSError, SyntaxError, ...
            corrupt.append(f'{path} ({e})')
            continue
        sizes.append((width, height))
    if corrupt:
        raise ValueError(f'{len(corrupt)} of {len(paths)} images cannot be '
                         'decoded: ' + _listing(corrupt))
    return sizes


def _listing(items: Sequence[str]) -> str:
    more = len(items) - _MAX_LISTED
    text = ', '.join(items[:_MAX_LISTED])
    return text + (f' and {more} more' if more > 0 else '')


def to_coco_keypoints(joints: np.ndarray, layout: str,
                      sizes: Sequence[Tuple[int, int]]) -> np.ndarray:
    """Convert native joints to COCO keypoints.

    Args:
        joints (np.ndarray): (N, 14, 3) x, y (1-based) and the native flag.
        layout (str): ``'lsp'`` (flag 1 = occluded) or ``'lspet'`` (flag 1 =
            visible).
        sizes (Sequence[tuple[int, int]]): (width, height) of each image.

    Returns:
        np.ndarray: (N, 14, 3) 0-based x, y and COCO visibility 2/1/0.
        Visibility-0 joints are ``0, 0, 0``, except LSP joints with a finite
        position outside the image, which keep it.
    """
    xy = joints[..., :2] - 1.0
    flag = joints[..., 2] > 0.5
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 1, 2)
    finite = np.all(np.isfinite(xy), axis=-1)
    with np.errstate(invalid='ignore'):  # NaN compares False: unlabelled
        labelled = np.all((xy >= 0) & (xy < wh), axis=-1)
    visible = ~flag if layout == 'lsp' else flag
    vis = np.where(labelled, np.where(visible, 2, 1), 0)
    # LSP annotates every joint, also outside the frame; LSP-extended's
    # unlabelled joints sit at a placeholder (0 on one axis).
    keep = finite if layout == 'lsp' else labelled
    keypoints = np.zeros(joints.shape, dtype=np.float64)
    keypoints[..., :2] = np.where(keep[..., None], xy, 0.0)
    keypoints[..., 2] = vis
    return keypoints


def person_bbox(keypoints: np.ndarray, width: int, height: int,
                margin: float) -> Optional[List[float]]:
    """COCO box ``[x, y, w, h]`` around the labelled joints.

    Args:
        keypoints (np.ndarray): (14, 3) COCO keypoints of one person.
        width (int): Image width.
        height (int): Image height.
        margin (float): Each side grows by ``margin`` times the longer side
            of the joints' extent.

    Returns:
        list[float] | None: The box, clipped to the image, or None when the
        labelled joints span no area (fewer than two distinct positions).
    """
    xy = keypoints[keypoints[:, 2] > 0, :2]
    if len(xy) == 0:
        return None
    (x1, y1), (x2, y2) = xy.min(0), xy.max(0)
    pad = margin * max(x2 - x1, y2 - y1)
    x1, y1 = max(0.0, x1 - pad), max(0.0, y1 - pad)
    x2, y2 = min(width - 1.0, x2 + pad), min(height - 1.0, y2 + pad)
    if x2 <= x1 or y2 <= y1:
        return None
    return [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]


def convert_dataset(joints_file: str,
                    images_dir: str,
                    dataset: str = 'auto',
                    data_root: Optional[str] = None,
                    margin: float = 0.1) -> Tuple[str, Dict[str, dict]]:
    """Convert one dataset into COCO dicts, one per split, in memory.

    Args:
        joints_file (str): The dataset's ``joints.mat``.
        images_dir (str): Directory of its ``im*.jpg`` images.
        dataset (str): ``'auto'``, ``'lsp'`` or ``'lspet'``.
        data_root (str, optional): Directory the ``file_name`` entries are
            relative to. Defaults to ``images_dir``.
        margin (float): Person box margin, see :func:`person_bbox`.

    Returns:
        tuple[str, dict[str, dict]]: The layout and ``{split: coco_dict}``
        (``train``/``test`` for LSP, ``train`` for LSP-extended).
    """
    layout, joints = read_joints(joints_file, dataset)
    data_root = images_dir if data_root is None else data_root
    num = len(joints)
    paths = [
        osp.join(images_dir, IMAGE_NAME_FORMATS[layout].format(i + 1))
        for i in range(num)
    ]
    if num and not osp.isdir(images_dir):
        raise FileNotFoundError(
            f'images directory "{images_dir}" does not exist (expected the '
            f'{num} images of "{joints_file}": '
            f'{osp.basename(paths[0])} ...)')
    sizes = read_image_sizes(paths)
    keypoints = to_coco_keypoints(joints, layout, sizes)

    images, annotations = [], []
    for i, (path, (width, height),
            kpts) in enumerate(zip(paths, sizes, keypoints)):
        image_id = IMAGE_ID_OFFSETS[layout] + i + 1
        images.append(
            dict(
                id=image_id,
                file_name=osp.relpath(path, data_root).replace(os.sep, '/'),
                width=width,
                height=height))
        bbox = person_bbox(kpts, width, height, margin)
        if bbox is None:  # nothing to train or evaluate on
            continue
        annotations.append(
            dict(
                id=image_id,
                image_id=image_id,
                category_id=1,
                keypoints=[round(float(v), 4) for v in kpts.reshape(-1)],
                num_keypoints=int(np.count_nonzero(kpts[:, 2])),
                bbox=[round(v, 4) for v in bbox],
                area=round(bbox[2] * bbox[3], 4),
                iscrowd=0))

    if layout == 'lsp':
        split_ranges = dict(
            train=range(0, min(LSP_TRAIN_SIZE, num)),
            test=range(LSP_TRAIN_SIZE, num))
    else:
        split_ranges = dict(train=range(num))
    splits = {}
    for split, idx in split_ranges.items():
        ids = {images[i]['id'] for i in idx}
        splits[split] = _coco_dict(
            [images[i]
             for i in idx], [a for a in annotations if a['image_id'] in ids],
            f'{LAYOUT_NAMES[layout]} {split} split of {joints_file}')
        _check_split(splits[split], f'{layout}_{split}', joints_file, num,
                     layout)
    return layout, splits


def _coco_dict(images: List[dict], annotations: List[dict],
               description: str) -> dict:
    return dict(
        info=dict(
            description=description,
            keypoint_coordinates='0-based pixels (MATLAB coordinates - 1)',
            visibility='2 visible, 1 labelled but occluded, 0 not labelled '
            'in the image (LSP: position kept when outside it)'),
        images=images,
        annotations=annotations,
        categories=[_coco_category()])


def _check_split(coco: dict, name: str, joints_file: str, num: int,
                 layout: str) -> None:
    if not coco['images']:
        rule = (f'the first {LSP_TRAIN_SIZE} images are train, the rest test'
                if layout == 'lsp' else 'all images are train')
        raise ValueError(
            f'split "{name}" is empty: "{joints_file}" holds {num} '
            f'{LAYOUT_NAMES[layout]} images and {rule}')
    if not coco['annotations']:
        raise ValueError(
            f'split "{name}" of "{joints_file}" has {len(coco["images"])} '
            'images but no person with labelled joints')


def default_data_root(images_dir: str,
                      merge_with: Optional[Tuple[str, str]] = None) -> str:
    """``images_dir``, or with ``merge_with`` the deepest directory holding
    both image directories."""
    if merge_with is None:
        return images_dir
    return osp.commonpath(
        [osp.abspath(images_dir),
         osp.abspath(merge_with[1])])


def convert_lsp(joints_file: str,
                images_dir: str,
                out_dir: str,
                dataset: str = 'auto',
                merge_with: Optional[Tuple[str, str]] = None,
                data_root: Optional[str] = None,
                margin: float = 0.1) -> Dict[str, str]:
    """Convert LSP or LSP-extended, optionally merged with the other one.

    Writes ``<dataset>_<split>.json`` into ``out_dir``: ``lsp_train.json`` and
    ``lsp_test.json`` for LSP, ``lspet_train.json`` for LSP-extended, and with
    ``merge_with`` both datasets' files plus ``lsp+lspet_train.json``, LSP's
    train split followed by LSP-extended (the common 11k training set).

    Args:
        joints_file (str): ``joints.mat`` of the dataset.
        images_dir (str): Its image directory.
        out_dir (str): Output directory, created when needed.
        dataset (str): Layout of ``joints_file``: ``'auto'`` (from the shape),
            ``'lsp'`` or ``'lspet'``. Defaults to ``'auto'``.
        merge_with (tuple[str, str], optional): ``(joints_file, images_dir)``
            of the other dataset (auto-detected; it must have the other
            layout). Defaults to None.
        data_root (str, optional): Directory every ``file_name`` is relative
            to, i.e. ``data_root`` joined with ``data_prefix['img']`` in a
            config. Defaults to ``images_dir``, or with ``merge_with`` to the
            deepest directory holding both image directories.
        margin (float): Person box margin, see :func:`person_bbox`.
            Defaults to 0.1.

    Returns:
        dict[str, str]: ``{'<dataset>_<split>': written path}``.
    """
    if margin < 0:
        raise ValueError(f'margin must be >= 0, got {margin}')
    if data_root is None:
        data_root = default_data_root(images_dir, merge_with)

    layout, splits = convert_dataset(joints_file, images_dir, dataset,
                                     data_root, margin)
    outputs = {f'{layout}_{split}': coco for split, coco in splits.items()}
    if merge_with is not None:
        other_joints, other_images = merge_with
        other_layout, other_splits = convert_dataset(other_joints,
                                                     other_images, 'auto',
                                                     data_root, margin)
        if other_layout == layout:
            raise ValueError(
                f'cannot merge "{joints_file}" with "{other_joints}": both '
                f'are {LAYOUT_NAMES[layout]}; the merge needs one LSP and '
                'one LSP-extended joints file')
        outputs.update({
            f'{other_layout}_{split}': coco
            for split, coco in other_splits.items()
        })
        lsp, lspet = outputs['lsp_train'], outputs['lspet_train']
        outputs[f'{MERGED_NAME}_train'] = _coco_dict(
            lsp['images'] + lspet['images'],
            lsp['annotations'] + lspet['annotations'],
            'LSP train split followed by LSP-extended')
    return _write_all(outputs, out_dir)


def select_images(coco: dict,
                  indices: Sequence[int],
                  description: Optional[str] = None) -> dict:
    """A COCO dict of some of ``coco``'s images and their annotations.

    Args:
        coco (dict): A COCO dict written by this converter.
        indices (Sequence[int]): Positions in ``coco['images']``, in the order
            wanted (e.g. ``range(300)`` for the first 300 images).
        description (str, optional): ``info.description`` of the subset.
            Defaults to that of ``coco`` with the number of images.

    Returns:
        dict: The subset, with the same categories and info.
    """
    num = len(coco['images'])
    bad = [i for i in indices if not -num <= i < num]
    if bad:
        raise IndexError(f'image indices {bad[:10]} out of range for '
                         f'{num} images')
    images = [coco['images'][i] for i in indices]
    ids = {im['id'] for im in images}
    if len(ids) != len(images):
        raise ValueError('image indices must not repeat')
    anns = [a for a in coco['annotations'] if a['image_id'] in ids]
    if description is None:
        description = (f'{len(images)} images of: '
                       f'{coco["info"]["description"]}')
    return _coco_dict(images, anns, description)


def write_coco(coco: dict, path: str) -> str:
    """Write a COCO dict as JSON, atomically, with the umask's file mode.

    Returns:
        str: ``path``.
    """
    text = json.dumps(coco)
    with atomic_open(path, 'w') as f:
        f.write(text)
    return path


def _write_all(outputs: Dict[str, dict], out_dir: str) -> Dict[str, str]:
    """Serialise every output first, then write each one atomically."""
    texts = {name: json.dumps(coco) for name, coco in outputs.items()}
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for name, text in texts.items():
        written[name] = osp.join(out_dir, f'{name}.json')
        with atomic_open(written[name], 'w') as f:
            f.write(text)
    return written
