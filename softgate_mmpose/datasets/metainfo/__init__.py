"""MMPose dataset metainfo files of softgate-mmpose.

The ``*.py`` files here are MMPose ``dataset_info`` configs read with
``mmengine.Config.fromfile`` (see ``LspDataset.METAINFO``). This directory is a
package only so that they ship with an installed (non-editable) package.
"""
