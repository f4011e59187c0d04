"""torch.hub entry points: the generators trained by ``gradgames reproduce``, from a checkout.

    generator = torch.hub.load("path/to/gradgames", "generator", source="local", weights="ema")

The weights are the ones the package ships (``gradgames.gan.pretrained``), hash-checked on load;
nothing is downloaded.
"""

import sys
from pathlib import Path

dependencies = ["torch"]

_SRC = str(Path(__file__).resolve().parent / "src")
if _SRC not in sys.path:  # this checkout's gradgames, installed or not
    sys.path.insert(0, _SRC)


def generator(weights: str = "ema", device: str = "cpu"):
    """The trained DCGAN generator (``weights``: "ema", its weights' moving average, or "raw")
    in eval mode: ``generator(z)`` maps noise ``(B, 100)`` to images ``(B, 1, 28, 28)``."""
    from gradgames.gan.shipped import pretrained

    return pretrained(weights, device)
