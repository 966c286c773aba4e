"""Network definitions: a compact residual classifier and a U-Net-like segmenter, both trained from scratch.

Only plain operators are used (Conv, BatchNorm, ReLU, MaxPool, ConvTranspose, Concat, global average pooling,
Linear) so that the ONNX graphs stay small, run on every onnxruntime execution provider and can be checked with the
small NumPy evaluator in onnx_numpy.py. Batch normalisation is folded into the convolutions at export time.
"""

from __future__ import annotations

import torch
from torch import nn

ODIR_LABELS = ("N", "D", "G", "C", "A", "H", "M", "O")
DR_GRADES = 5
DME_GRADES = 3
SEG_CHANNELS = ("MA", "HE", "EX", "SE", "OD", "cup")

# Named size presets; measure_speed.py times them and README.md records which one is the default and why.
CLASSIFIER_WIDTHS = {"small": 16, "medium": 24, "large": 32}
SEGMENTER_WIDTHS = {"small": 12, "medium": 16, "large": 24}


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 strided) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class FundusClassifier(nn.Module):
    """Residual CNN: stem (stride 4 overall) then four stages of widths w, 2w, 4w, 8w, 16w... with stride 2 each.

    Heads share the pooled feature vector:
      multilabel  8 logits (ODIR N D G C A H M O; sigmoid)
      dr_grade    5 logits (international DR scale 0-4; softmax)
      dme_risk    3 logits (IDRiD DME risk 0-2; softmax)
      quality     1 logit  (ODIR quality remark present; sigmoid)
    """

    def __init__(self, width: int = 24, blocks: tuple[int, ...] = (1, 2, 2, 2, 1), dropout: float = 0.2) -> None:
        super().__init__()
        self.width = width
        self.blocks = tuple(blocks)
        self.stem = nn.Sequential(conv_bn_relu(3, width, 2), conv_bn_relu(width, width), nn.MaxPool2d(2))
        stages = []
        cin = width
        for i, n in enumerate(blocks):
            cout = width * (2 ** i)
            layers = [ResidualBlock(cin, cout, 1 if i == 0 else 2)]
            layers += [ResidualBlock(cout, cout, 1) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.features = cin
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.multilabel = nn.Linear(cin, len(ODIR_LABELS))
        self.dr_grade = nn.Linear(cin, DR_GRADES)
        self.dme_risk = nn.Linear(cin, DME_GRADES)
        self.quality = nn.Linear(cin, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.pool(self.stages(self.stem(x))).flatten(1)
        f = self.dropout(f)
        return {
            "multilabel": self.multilabel(f),
            "dr_grade": self.dr_grade(f),
            "dme_risk": self.dme_risk(f),
            "quality": self.quality(f),
        }


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))


class FundusSegmenter(nn.Module):
    """U-Net: encoder widths w, 2w, 4w, 8w, 16w (four 2x2 max-pool downsamplings), transposed-convolution
    upsampling, skip concatenation, and one 1x1 output convolution with a logit per channel of SEG_CHANNELS
    (independent sigmoids: lesions may overlap each other and the disc). Input sides must be multiples of 16."""

    def __init__(self, width: int = 16, levels: int = 5) -> None:
        super().__init__()
        self.width = width
        self.levels = levels
        widths = [width * (2 ** i) for i in range(levels)]
        self.encoders = nn.ModuleList()
        cin = 3
        for w in widths:
            self.encoders.append(DoubleConv(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.decoders.append(DoubleConv(2 * w, w))
            cin = w
        self.head = nn.Conv2d(cin, len(SEG_CHANNELS), 1)
        init_weights(self)
        # start lesion logits low (lesions cover well under 1% of pixels) so early training is not swamped
        with torch.no_grad():
            self.head.bias.fill_(-4.0)

    @property
    def multiple(self) -> int:
        return 2 ** (self.levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, enc in enumerate(self.encoders):
            x = enc(x)
            if i < self.levels - 1:
                skips.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def init_weights(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)
    # zero-init the last BN of each residual branch: every block starts as the identity (stable from scratch)
    for m in model.modules():
        if isinstance(m, ResidualBlock):
            nn.init.zeros_(m.bn2.weight)


def build_classifier(width: int, blocks: tuple[int, ...] | None = None) -> FundusClassifier:
    return FundusClassifier(width=width, blocks=blocks or (1, 2, 2, 2, 1))


def build_segmenter(width: int, levels: int = 5) -> FundusSegmenter:
    return FundusSegmenter(width=width, levels=levels)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class ClassifierForExport(nn.Module):
    """Probabilities instead of logits, as a tuple in a fixed order (ONNX outputs are positional)."""

    OUTPUTS = ("multilabel", "dr_grade", "dme_risk", "quality")

    def __init__(self, model: FundusClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        out = self.model(x)
        return (
            torch.sigmoid(out["multilabel"]),
            torch.softmax(out["dr_grade"], dim=1),
            torch.softmax(out["dme_risk"], dim=1),
            torch.sigmoid(out["quality"]),
        )


class SegmenterForExport(nn.Module):
    OUTPUTS = ("masks",)

    def __init__(self, model: FundusSegmenter) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return (torch.sigmoid(self.model(x)),)
