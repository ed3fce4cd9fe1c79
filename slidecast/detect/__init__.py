"""Detectors: one module per detection idea, PySceneDetect style.

- base.py: the common interface (`Detector.process(frame)` / `finish()`) and `AnalysisFrame`.
- cells.py: which grid cells changed between two frames (noise-adaptive, masked, pointer-proof).
- letterbox.py: black bars around the content, found once.
- live_regions.py: cells that keep changing while the slide does not (webcam picture-in-picture).
- packets.py: slide changes betrayed by packet sizes, without decoding.
- builds.py: is a new screen state the old one plus added content?
- transitions.py: the settle state machine that turns frames into stable screen states.
"""

from .base import AnalysisFrame, Detector
from .cells import ChangeMeter
from .transitions import ScreenState, TransitionDetector

__all__ = ["AnalysisFrame", "Detector", "ChangeMeter", "ScreenState", "TransitionDetector"]
