"""PyTorch twins of advlab's networks and its MNIST reader, shared by the reference scripts
(pytorch-reference.py, torchattacks-reference.py, onnx-fixtures.py), which import it from this
folder: one definition of the challenge CNN, so the three cannot drift apart."""
import gzip, struct
import numpy as np
import torch.nn as nn, torch.nn.functional as F


class ChallengeCNN(nn.Module):   # advlab's MNISTChallengeCNN (Sources/AdvModels/MNISTChallengeCNN.swift), same names and layouts
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 5, padding=2)
        self.fc1, self.fc2 = nn.Linear(3136, 1024), nn.Linear(1024, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def load_challenge_cnn(checkpoint):
    """The challenge CNN with the weights of an advlab classifier checkpoint (safetensors), in eval mode."""
    from safetensors.torch import load_file
    model = ChallengeCNN()
    state = load_file(checkpoint)
    model.load_state_dict({name: state[name] for name in model.state_dict()})
    return model.eval()


def read_idx(path):
    """A gzip'd IDX file: images as uint8 [N, 1, rows, cols], labels as uint8 [N]."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, 1, rows, cols)
    if magic == 2049:
        return np.frombuffer(data, np.uint8, offset=8)
    raise SystemExit(f"{path}: magic {magic} is neither 2051 (images) nor 2049 (labels)")
