"""Where the speech tests find the Free Spoken Digit Dataset, and their skip marker."""
import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
FSDD = DATA / "fsdd" / "recordings"
needs_data = pytest.mark.skipif(not FSDD.is_dir(), reason=f"FSDD recordings not found at "
                                f"{FSDD} (set GLASSNET_DATA to the shared data folder)")
