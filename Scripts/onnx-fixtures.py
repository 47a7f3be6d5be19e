"""Reference fixtures for the ONNX importer (Tests/AdvONNXTests/Fixtures, issue 20): three small
PyTorch classifiers exported with torch.onnx.export, with their logits and input gradients on the
first 100 MNIST test images, as PyTorch computes them.

    python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch onnx safetensors numpy
    /work/torch-venv/bin/python Scripts/onnx-fixtures.py [--data DIR] [--out Tests/AdvONNXTests/Fixtures]
    /work/torch-venv/bin/python Scripts/onnx-fixtures.py --export checkpoints/classifier-robust.safetensors robust.onnx

Models (together they cover the operators PyTorch's exporter emits for common MNIST models):
  challenge-cnn.onnx  the MNIST-challenge CNN with checkpoints/classifier-natural.safetensors
  residual-bn.onnx    conv + BatchNorm residual block (the exporter folds those BatchNorms into the
                      convolutions; one after a ReLU stays), padded max pooling, a dilated and a strided
                      convolution, a transposed convolution, padded average pooling, LeakyReLU, global
                      average pooling,
                      Softmax at the output (random weights and BatchNorm statistics, seed 0)
  mlp-normalized.onnx (x - 0.1307) / 0.3081 in the graph, Linear/Tanh/Sigmoid/Dropout, LogSoftmax at
                      the output (random weights, seed 1)
Files written: images.npy [100, 1, 28, 28] in [0, 1], labels.npy [100] (float), and for each model
NAME.onnx, NAME-logits.npy [100, 10] (before any softmax) and NAME-gradients.npy [100, 1, 28, 28]:
the gradient of sum_n logits[n, label_n] with respect to the images (what an attack's pullback
computes, with a one-hot cotangent). `--export CHECKPOINT OUT` only exports a lab classifier
checkpoint (the done-when check: the robust model exported and imported back).
"""
import argparse, os
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from advlab_torch import load_challenge_cnn, read_idx

parser = argparse.ArgumentParser()
parser.add_argument("--data", default=os.environ.get("ADVLAB_DATA", "/work/shared/data/mnist"))
parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "AdvONNXTests", "Fixtures"))
parser.add_argument("--count", type=int, default=100)
parser.add_argument("--export", nargs=2, metavar=("CHECKPOINT", "OUT"))
args = parser.parse_args()
torch.set_num_threads(2)


class ResidualBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.stem_norm = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.block1, self.norm1 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.block2, self.norm2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.post_norm = nn.BatchNorm2d(8)                                  # after a ReLU: not folded into a Conv
        self.dilated = nn.Conv2d(8, 12, 3, padding=2, dilation=2)          # 14x14 -> 14x14
        self.down = nn.Conv2d(12, 12, 2, stride=2)                          # 14x14 -> 7x7
        self.up = nn.ConvTranspose2d(12, 6, 2, stride=2)                    # 7x7 -> 14x14
        self.head = nn.Linear(6, 10)

    def forward(self, x):
        h = F.relu(self.stem_norm(self.stem(x)))
        r = self.norm2(self.block2(F.relu(self.norm1(self.block1(h)))))
        h = self.post_norm(F.relu(h + r))                                   # the residual: h is read twice
        h = F.max_pool2d(h, 3, stride=2, padding=1)                         # 28 -> 14, padded windows
        h = F.leaky_relu(self.dilated(h), 0.1)
        h = F.relu(self.down(h))
        h = F.avg_pool2d(F.relu(self.up(h)), 3, stride=1, padding=1, count_include_pad=False)
        return self.head(F.adaptive_avg_pool2d(h, 1).flatten(1))


class NormalizedMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(0.1307))
        self.register_buffer("std", torch.tensor(0.3081))
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 64), nn.Linear(64, 32), nn.Linear(32, 10)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        h = ((x - self.mean) / self.std).flatten(1)
        h = self.dropout(torch.tanh(self.fc1(h)))
        return self.fc3(torch.sigmoid(self.fc2(h)) * 2.0)


class WithOutput(nn.Module):
    """The model with a softmax at its output, as many exported classifiers have (the lab drops it)."""
    def __init__(self, model, layer):
        super().__init__()
        self.model, self.layer = model, layer

    def forward(self, x):
        return self.layer(self.model(x))


def export(model, path):
    """The export line of the README's "Evaluate your own model" (TorchScript exporter, opset 17,
    any batch size)."""
    torch.onnx.export(model.eval(), torch.rand(1, 1, 28, 28), path, input_names=["images"], output_names=["logits"],
                      dynamic_axes={"images": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)


if args.export:
    export(load_challenge_cnn(args.export[0]), args.export[1])
    print(f"wrote {args.export[1]}")
    raise SystemExit

os.makedirs(args.out, exist_ok=True)
images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))[: args.count].astype(np.float32) / 255
labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))[: args.count]
images = images.reshape(-1, 1, 28, 28)
np.save(os.path.join(args.out, "images.npy"), images)
np.save(os.path.join(args.out, "labels.npy"), labels.astype(np.float32))

torch.manual_seed(0)
residual = ResidualBN()
residual.head.weight.data *= 20                                      # logits of a usable size
for norm in [residual.stem_norm, residual.norm1, residual.norm2, residual.post_norm]:   # statistics as if trained
    norm.running_mean.uniform_(-0.5, 0.5)
    norm.running_var.uniform_(0.5, 2.0)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.uniform_(-0.2, 0.2)
torch.manual_seed(1)
mlp = NormalizedMLP()
checkpoint = os.path.join(os.path.dirname(__file__), "..", "checkpoints", "classifier-natural.safetensors")
models = {
    "challenge-cnn": (load_challenge_cnn(checkpoint), None),
    "residual-bn": (residual.eval(), nn.Softmax(dim=1)),
    "mlp-normalized": (mlp.eval(), nn.LogSoftmax(dim=1)),
}
x = torch.from_numpy(images)
one_hot = F.one_hot(torch.from_numpy(labels.astype(np.int64)), 10).float()
for name, (model, output) in models.items():
    export(model if output is None else WithOutput(model, output), os.path.join(args.out, f"{name}.onnx"))
    inputs = x.clone().requires_grad_(True)
    logits = model(inputs)
    (logits * one_hot).sum().backward()
    np.save(os.path.join(args.out, f"{name}-logits.npy"), logits.detach().numpy().astype(np.float32))
    np.save(os.path.join(args.out, f"{name}-gradients.npy"), inputs.grad.numpy().astype(np.float32))
    accuracy = (logits.argmax(1).numpy() == labels).mean()
    print(f"{name}: {os.path.getsize(os.path.join(args.out, name + '.onnx'))} bytes, accuracy on {args.count}: {accuracy:.2f}, "
          f"|logits| max {logits.abs().max().item():.3f}, |gradient| max {inputs.grad.abs().max().item():.4g}")
