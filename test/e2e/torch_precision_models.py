"""PyTorch's side of test_precision_auto.py, run by Debian's /usr/bin/python3
(python3-torch 1.13) like torch_reference.py:

  /usr/bin/python3 -S torch_precision_models.py OUT_DIR

writes OUT_DIR/hazard.onnx, a model written the way people write such code
whose values leave fp16's range both ways: a hand-written L2 normalization
of large activations (h * h passes 65504), and a branch scaled down by
1e-5 and back up (values below fp16's normal range, and a constant 1e5 that
fp16 cannot hold); OUT_DIR/outlier.onnx, whose middle layer reads one
"massive activation" channel 1e5 times the others through a weight row 1e5
times smaller (large language models have such channels), which leaves the
other channels among e4m3's subnormals under a per-tensor fp8 scale; and
OUT_DIR/{bert,llama}.onnx, torch_reference.py's encoder and decoder exported
for inference.
"""

import os
import sys

sys.path.append("/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from torch_reference import build  # noqa: E402


class Hazard(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 128, bias=False)
        self.fc3 = nn.Linear(128, 16)

    def forward(self, x):
        h = torch.relu(self.fc1(x)) * 300.0
        u = h / torch.sqrt((h * h).sum(-1, keepdim=True))
        small = self.fc2(u) * 1e-5
        return self.fc3(small * 1e5 + u)


class Outlier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 16)
        gain = torch.ones(128)
        gain[0] = 1e5
        self.register_buffer("gain", gain)
        with torch.no_grad():
            self.fc2.weight[:, 0] /= 1e5

    def forward(self, x):
        h = torch.relu(self.fc1(x)) * self.gain
        return self.fc3(torch.relu(self.fc2(h)))


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    torch.onnx.export(Hazard().eval(), (torch.randn(8, 64),), f"{out}/hazard.onnx",
                      input_names=["x"], output_names=["y"], opset_version=17)
    torch.manual_seed(0)
    torch.onnx.export(Outlier().eval(), (torch.randn(8, 64),), f"{out}/outlier.onnx",
                      input_names=["x"], output_names=["y"], opset_version=17)
    for name in ("bert", "llama"):
        model, input_names, inputs, _, _, _ = build(name, torch.Generator().manual_seed(1))
        torch.onnx.export(model.eval(), tuple(inputs), f"{out}/{name}.onnx",
                          input_names=input_names, output_names=["y"], opset_version=17)


if __name__ == "__main__":
    main()
