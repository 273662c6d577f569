"""Where the speech tests find the Free Spoken Digit Dataset, their skip marker, and the
label scrambler of the label-blindness tests."""
import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
FSDD = DATA / "fsdd" / "recordings"
needs_data = pytest.mark.skipif(not FSDD.is_dir(), reason=f"FSDD recordings not found at "
                                f"{FSDD} (set GLASSNET_DATA to the shared data folder)")


def scramble_held_out_labels(monkeypatch) -> None:
    """Replace the digit strings of every held-out utterance set (validation, test: not the
    fresh training stream) by garbage, so an adaptation that gives the same result never read
    them."""
    from glassnet.apps.speech_ctc import UtteranceSet
    draw = UtteranceSet.draw

    def scrambled(self, epoch=0):
        signals, labels, voices = draw(self, epoch)
        if not self.fresh:
            labels = [[9] * 7 for _ in labels]
        return signals, labels, voices
    monkeypatch.setattr(UtteranceSet, "draw", scrambled)
