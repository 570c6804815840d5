# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Person boxes of the MPII sample image with two people (052475643.jpg,
854 x 480), one per person, as x1, y1, x2, y2 in pixels."""
import numpy as np

BOX_LEFT = [230., 90., 430., 460.]
BOX_RIGHT = [450., 100., 610., 460.]
#: Both boxes as an (2, 4) array.
BOXES = np.array([BOX_LEFT, BOX_RIGHT])
